//! SAML 2.0 identity-provider metadata import (what `CreateSAMLProvider` /
//! `UpdateSAMLProvider` receive as `SAMLMetadataDocument`).
//!
//! The administrator's upload *is* the trust decision: the signing certificates
//! found here become the trust anchors for SAML responses from this IdP. The
//! document is therefore read strictly but nothing inside it is "verified":
//!
//! * Parsing goes through the hardened [`crate::xmldsig::Document`] only (no DTDs,
//!   no external entities, bounded size and depth), after a size check of
//!   [`MAX_METADATA_BYTES`].
//! * Elements are matched by namespace URI and local name, never by prefix.
//! * Signing keys are the `ds:X509Certificate`s of the `md:IDPSSODescriptor`'s
//!   `md:KeyDescriptor`s whose `use` is `signing` or absent (SAML metadata 2.4.1.1),
//!   deduplicated by DER bytes, in document order (several = key rollover). Each must
//!   be an X.509 certificate, but certificates are metadata-pinned keys: their validity
//!   dates, issuer and key strength are not judged here (the verifier decides which
//!   keys it can use).
//! * `validUntil` (SAML metadata 2.3.1) is enforced on the chosen `EntityDescriptor`,
//!   every enclosing `EntitiesDescriptor` and the `IDPSSODescriptor`.
//! * Everything else is ignored: enveloped metadata `ds:Signature`s, `Extensions`,
//!   `Organization`, `ContactPerson`, WS-Federation `RoleDescriptor`s (`xsi:type`
//!   extensions, as in AD FS / Entra ID `FederationMetadata.xml`), SP and
//!   attribute-authority roles, encryption keys.
//!
//! Spec: Metadata for the OASIS SAML V2.0 (saml-metadata-2.0-os), sections 2.3
//! (EntityDescriptor, EntitiesDescriptor), 2.4.1 (RoleDescriptor, KeyDescriptor)
//! and 2.4.3 (IDPSSODescriptor).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384, OID_NIST_EC_P521, OID_SIG_ED25519};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::xmldsig::{Document, Element, Node};

/// SAML 2.0 metadata namespace (`md:`).
pub const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML Signature namespace (`ds:`).
pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The `protocolSupportEnumeration` token an IdP descriptor must carry.
pub const SAML2_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// HTTP-Redirect binding URI.
pub const BINDING_HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// HTTP-POST binding URI.
pub const BINDING_HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// Largest accepted metadata document (the biggest real AD FS file seen is ~70 KB).
pub const MAX_METADATA_BYTES: usize = 512 * 1024;
/// Most distinct signing certificates one IdP may publish.
pub const MAX_SIGNING_CERTIFICATES: usize = 10;
/// Longest entity id (SAML core 8.3.6: at most 1024 characters).
pub const MAX_ENTITY_ID_CHARS: usize = 1024;
/// How many entity ids an error message lists at most.
const MAX_LISTED_IDS: usize = 5;

/// What rambridge keeps of an IdP's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpMetadata {
    /// The IdP's `entityID` (the `Issuer` of its responses).
    pub entity_id: String,
    /// DER certificates from `KeyDescriptor use="signing"` or without `use`,
    /// deduplicated, in document order.
    pub signing_certificates: Vec<Vec<u8>>,
    /// `IDPSSODescriptor/SingleSignOnService`, in document order.
    pub sso_services: Vec<SsoService>,
    /// `IDPSSODescriptor/NameIDFormat` values, deduplicated, in document order.
    pub name_id_formats: Vec<String>,
    /// The earliest `validUntil` that applies (entity, enclosing collections, IdP role).
    pub valid_until: Option<DateTime<Utc>>,
    /// `IDPSSODescriptor/@WantAuthnRequestsSigned` (absent = false).
    pub want_authn_requests_signed: bool,
}

/// One `SingleSignOnService` endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoService {
    /// Binding URI, e.g. [`BINDING_HTTP_REDIRECT`].
    pub binding: String,
    /// Endpoint URL.
    pub location: String,
}

impl IdpMetadata {
    /// HTTP-Redirect binding SSO endpoint, if any (used for SP-initiated sign-in).
    pub fn redirect_sso_url(&self) -> Option<&str> {
        self.sso_url(BINDING_HTTP_REDIRECT)
    }

    /// HTTP-POST binding endpoint, if any.
    pub fn post_sso_url(&self) -> Option<&str> {
        self.sso_url(BINDING_HTTP_POST)
    }

    fn sso_url(&self, binding: &str) -> Option<&str> {
        self.sso_services
            .iter()
            .find(|s| s.binding == binding)
            .map(|s| s.location.as_str())
    }

    /// Display facts of each signing certificate, in the order of
    /// [`IdpMetadata::signing_certificates`] (an error only if a certificate was
    /// replaced after parsing).
    pub fn signing_certificate_info(&self) -> Result<Vec<CertificateInfo>, MetadataError> {
        self.signing_certificates
            .iter()
            .enumerate()
            .map(|(i, der)| inspect_certificate(i + 1, der))
            .collect()
    }
}

/// What an administrator is shown about a signing certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Public key type, e.g. `RSA-2048`, `EC P-256`, `Ed25519`.
    pub key_type: String,
    /// The certificate's `notAfter` (informational: metadata-pinned keys do not expire).
    pub not_after: DateTime<Utc>,
    /// Subject distinguished name.
    pub subject: String,
    /// Lowercase hex SHA-256 of the DER certificate.
    pub sha256_fingerprint: String,
}

/// Display facts of one DER certificate (for certificates stored earlier);
/// errors report it as certificate #1.
pub fn describe_certificate(der: &[u8]) -> Result<CertificateInfo, MetadataError> {
    inspect_certificate(1, der)
}

/// Why a metadata document was refused. Messages name the problem and what to do.
///
/// Certificate indexes count the `ds:X509Certificate` elements of the IdP's signing
/// `KeyDescriptor`s from 1, in document order.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetadataError {
    /// The upload exceeds [`MAX_METADATA_BYTES`].
    #[error(
        "the metadata document is {size} bytes, more than the limit of {limit} bytes; upload the IdP's own metadata, not a federation-wide aggregate"
    )]
    TooLarge {
        /// Size of the upload.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not well-formed XML, or XML this service refuses (DTDs, entities, non-UTF-8).
    #[error("the metadata is not acceptable XML: {0}")]
    Malformed(String),
    /// Well-formed XML (or an HTML page) that is not SAML 2.0 metadata.
    #[error(
        "this is not SAML metadata: the root element is {root}; expected EntityDescriptor or EntitiesDescriptor in namespace {MD_NS}"
    )]
    NotMetadata {
        /// The root element as `{namespace}local`, or a description of what was found.
        root: String,
    },
    /// An `EntityDescriptor` without a usable `entityID`.
    #[error(
        "an EntityDescriptor has a missing or empty entityID attribute; the IdP's metadata must name its entity id"
    )]
    MissingEntityId,
    /// An `entityID` longer than [`MAX_ENTITY_ID_CHARS`].
    #[error("entityID is {length} characters long, more than the SAML limit of {limit}")]
    EntityIdTooLong {
        /// Its length in characters.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// The chosen entity has no `IDPSSODescriptor`.
    #[error("entity {entity_id:?} is not a SAML identity provider: it has no IDPSSODescriptor{}", not_idp_hint(.roles))]
    NotAnIdp {
        /// Its entity id.
        entity_id: String,
        /// Local names of the role descriptors it does have.
        roles: Vec<String>,
    },
    /// An `EntitiesDescriptor` none of whose entities is an IdP.
    #[error(
        "the EntitiesDescriptor lists {entities} entities but none is an identity provider (none has an IDPSSODescriptor); upload the IdP's metadata"
    )]
    NoIdpInCollection {
        /// How many entities it holds.
        entities: usize,
    },
    /// An `EntitiesDescriptor` with several IdPs and no entity id selected.
    #[error(
        "the metadata describes {count} identity providers; say which one to use by its entity id: {}",
        id_list(.available, *.count)
    )]
    EntityIdRequired {
        /// How many IdPs the document holds.
        count: usize,
        /// The first (up to 5) of their entity ids.
        available: Vec<String>,
    },
    /// The requested entity id is not in the document.
    #[error(
        "entity {requested:?} is not in this metadata; it describes {idp_count} identity provider(s): {}",
        id_list(.available, *.idp_count)
    )]
    EntityNotFound {
        /// The requested entity id.
        requested: String,
        /// The first (up to 5) identity-provider entity ids present.
        available: Vec<String>,
        /// How many identity providers the document holds.
        idp_count: usize,
    },
    /// The requested entity id occurs more than once.
    #[error("entity {entity_id:?} is described {count} times in this metadata; it must be unique")]
    DuplicateEntityId {
        /// The entity id.
        entity_id: String,
        /// How often it occurs.
        count: usize,
    },
    /// The IdP descriptor does not announce SAML 2.0.
    #[error(
        "the IDPSSODescriptor of {entity_id:?} does not support SAML 2.0: its protocolSupportEnumeration is {protocols:?} and lacks {SAML2_PROTOCOL}; configure the IdP for SAML 2.0"
    )]
    UnsupportedProtocol {
        /// The entity id.
        entity_id: String,
        /// The `protocolSupportEnumeration` found.
        protocols: String,
    },
    /// More than one SAML 2.0 `IDPSSODescriptor` in the entity.
    #[error(
        "entity {entity_id:?} has {count} SAML 2.0 IDPSSODescriptors; exactly one is supported"
    )]
    MultipleIdpDescriptors {
        /// The entity id.
        entity_id: String,
        /// How many there are.
        count: usize,
    },
    /// A `validUntil` in the past.
    #[error(
        "the metadata expired on {} (validUntil of {element}); download current metadata from the IdP",
        .valid_until.to_rfc3339_opts(SecondsFormat::Secs, true)
    )]
    Expired {
        /// Local name of the element carrying the `validUntil`.
        element: String,
        /// The expiry instant.
        valid_until: DateTime<Utc>,
    },
    /// An attribute value of the wrong type.
    #[error("{element}/@{attribute} is {value:?}, which is not {expected}")]
    InvalidAttribute {
        /// Local name of the element.
        element: String,
        /// Attribute name.
        attribute: String,
        /// The value found.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// The IdP publishes no signing certificate.
    #[error(
        "identity provider {entity_id:?} publishes no signing certificate: its IDPSSODescriptor needs a KeyDescriptor (use=\"signing\" or without use) holding a ds:X509Certificate"
    )]
    NoSigningCertificate {
        /// The entity id.
        entity_id: String,
    },
    /// More than [`MAX_SIGNING_CERTIFICATES`] distinct signing certificates.
    #[error(
        "the identity provider publishes {count} distinct signing certificates, more than the limit of {limit}; remove retired certificates from the metadata"
    )]
    TooManySigningCertificates {
        /// Distinct certificates found.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// An `X509Certificate` whose content is not plain base64.
    #[error("signing certificate #{index} is not valid base64 (ds:X509Certificate): {detail}")]
    InvalidCertificateEncoding {
        /// 1-based index.
        index: usize,
        /// What is wrong.
        detail: String,
    },
    /// Base64 that does not decode to an X.509 certificate.
    #[error("signing certificate #{index} is not an X.509 certificate: {detail}")]
    NotACertificate {
        /// 1-based index.
        index: usize,
        /// The DER parser's complaint.
        detail: String,
    },
    /// A `SingleSignOnService` that cannot be used.
    #[error("SingleSignOnService #{index} of the IDPSSODescriptor is unusable: {detail}")]
    InvalidSsoService {
        /// 1-based index among the IdP's `SingleSignOnService` elements.
        index: usize,
        /// What is wrong.
        detail: String,
    },
}

fn not_idp_hint(roles: &[String]) -> String {
    if roles.iter().any(|r| r == "SPSSODescriptor") {
        " (it has an SPSSODescriptor: this is service-provider metadata, perhaps rambridge's own; upload the metadata of your identity provider instead)".to_owned()
    } else if roles.is_empty() {
        "; upload the metadata of your identity provider".to_owned()
    } else {
        format!(
            " (it only has {}); upload the metadata of your identity provider",
            roles.join(", ")
        )
    }
}

fn id_list(ids: &[String], total: usize) -> String {
    if ids.is_empty() {
        return "(none)".to_owned();
    }
    let mut out = ids
        .iter()
        .map(|id| format!("{id:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if total > ids.len() {
        out.push_str(&format!(" and {} more", total - ids.len()));
    }
    out
}

/// Parses IdP metadata. `entity_id` selects one EntityDescriptor inside an
/// EntitiesDescriptor (required when it holds more than one IdP; for a lone
/// EntityDescriptor it must match when given); `now` checks validUntil (on the
/// chosen EntityDescriptor, any enclosing EntitiesDescriptor and the IDPSSODescriptor).
pub fn parse_idp_metadata(
    xml: &[u8],
    entity_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<IdpMetadata, MetadataError> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err(MetadataError::TooLarge {
            size: xml.len(),
            limit: MAX_METADATA_BYTES,
        });
    }
    let doc = Document::parse(xml).map_err(|e| {
        if looks_like_html(xml) {
            MetadataError::NotMetadata {
                root: "an HTML page (<html>), not XML metadata; use the IdP's metadata URL, not its sign-in page".to_owned(),
            }
        } else {
            MetadataError::Malformed(e.to_string())
        }
    })?;
    let entity = select_entity(doc.root_element(), entity_id)?;
    read_entity(entity, now)
}

/// True for inputs starting (after a BOM and whitespace) with `<!DOCTYPE html` or `<html`.
fn looks_like_html(xml: &[u8]) -> bool {
    let body = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let head: Vec<u8> = body
        .get(start..)
        .unwrap_or(&[])
        .iter()
        .take(14)
        .map(u8::to_ascii_lowercase)
        .collect();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

fn is_md(e: &Element<'_>, local: &str) -> bool {
    e.has_name(MD_NS, local)
}

fn expanded_name(e: &Element<'_>) -> String {
    match e.namespace_uri() {
        Some(ns) => format!("{{{ns}}}{}", e.local_name()),
        None => format!("{} (in no namespace)", e.local_name()),
    }
}

/// Child elements of `e`. Unlike [`Element::child_elements`], the iterator does not
/// borrow `e` itself, so it can be returned from closures and functions.
fn elements<'a>(e: Element<'a>) -> impl Iterator<Item = Element<'a>> + use<'a> {
    e.children().filter_map(|n| match n {
        Node::Element(c) => Some(c),
        _ => None,
    })
}

fn md_children<'a>(
    e: Element<'a>,
    local: &'static str,
) -> impl Iterator<Item = Element<'a>> + use<'a> {
    elements(e).filter(move |c| is_md(c, local))
}

fn entity_id_of(entity: Element<'_>) -> Result<String, MetadataError> {
    let id = entity.attribute("entityID").map(str::trim).unwrap_or("");
    if id.is_empty() {
        return Err(MetadataError::MissingEntityId);
    }
    let length = id.chars().count();
    if length > MAX_ENTITY_ID_CHARS {
        return Err(MetadataError::EntityIdTooLong {
            length,
            limit: MAX_ENTITY_ID_CHARS,
        });
    }
    Ok(id.to_owned())
}

fn is_idp(entity: Element<'_>) -> bool {
    md_children(entity, "IDPSSODescriptor").next().is_some()
}

/// Picks the EntityDescriptor to import.
fn select_entity<'a>(
    root: Element<'a>,
    requested: Option<&str>,
) -> Result<Element<'a>, MetadataError> {
    let entities = if is_md(&root, "EntityDescriptor") {
        vec![root]
    } else if is_md(&root, "EntitiesDescriptor") {
        collect_entities(root)
    } else {
        return Err(MetadataError::NotMetadata {
            root: expanded_name(&root),
        });
    };
    let mut listed = Vec::with_capacity(entities.len());
    for e in entities {
        listed.push((e, entity_id_of(e)?, is_idp(e)));
    }
    let idp_ids: Vec<&String> = listed.iter().filter(|l| l.2).map(|l| &l.1).collect();
    let first_ids = || -> Vec<String> {
        idp_ids
            .iter()
            .take(MAX_LISTED_IDS)
            .map(|s| (*s).clone())
            .collect()
    };
    if let Some(requested) = requested {
        let mut matches = listed.iter().filter(|l| l.1 == requested);
        return match (matches.next(), matches.count()) {
            (Some(found), 0) => Ok(found.0),
            (Some(_), more) => Err(MetadataError::DuplicateEntityId {
                entity_id: requested.to_owned(),
                count: more + 1,
            }),
            (None, _) => Err(MetadataError::EntityNotFound {
                requested: requested.to_owned(),
                available: first_ids(),
                idp_count: idp_ids.len(),
            }),
        };
    }
    match (idp_ids.len(), listed.as_slice()) {
        // A lone entity: read it, so a non-IdP gets the detailed NotAnIdp error.
        (_, [only]) => Ok(only.0),
        (0, _) => Err(MetadataError::NoIdpInCollection {
            entities: listed.len(),
        }),
        (1, _) => {
            listed
                .iter()
                .find(|l| l.2)
                .map(|l| l.0)
                .ok_or(MetadataError::NoIdpInCollection {
                    entities: listed.len(),
                })
        }
        (count, _) => Err(MetadataError::EntityIdRequired {
            count,
            available: first_ids(),
        }),
    }
}

/// All EntityDescriptors of an EntitiesDescriptor (nested collections included), in
/// document order.
fn collect_entities(root: Element<'_>) -> Vec<Element<'_>> {
    let mut out = Vec::new();
    let mut stack = vec![elements(root)];
    while let Some(children) = stack.last_mut() {
        match children.next() {
            None => {
                stack.pop();
            }
            Some(c) if is_md(&c, "EntityDescriptor") => out.push(c),
            Some(c) if is_md(&c, "EntitiesDescriptor") => stack.push(elements(c)),
            Some(_) => {}
        }
    }
    out
}

fn read_entity(entity: Element<'_>, now: DateTime<Utc>) -> Result<IdpMetadata, MetadataError> {
    let entity_id = entity_id_of(entity)?;

    // validUntil: the entity and every enclosing EntitiesDescriptor.
    let mut valid_until = None;
    let mut scope = Some(entity);
    while let Some(e) = scope {
        valid_until = earliest(valid_until, check_valid_until(e, now)?);
        scope = e.parent().filter(|p| is_md(p, "EntitiesDescriptor"));
    }

    let idps: Vec<Element<'_>> = md_children(entity, "IDPSSODescriptor").collect();
    let Some(&first_idp) = idps.first() else {
        let roles = elements(entity)
            .filter(|c| c.namespace_uri() == Some(MD_NS))
            .map(|c| c.local_name())
            .filter(|n| n.ends_with("Descriptor"))
            .map(str::to_owned)
            .collect();
        return Err(MetadataError::NotAnIdp { entity_id, roles });
    };
    let saml2: Vec<Element<'_>> = idps
        .iter()
        .copied()
        .filter(|idp| {
            idp.attribute("protocolSupportEnumeration")
                .is_some_and(|p| p.split_ascii_whitespace().any(|t| t == SAML2_PROTOCOL))
        })
        .collect();
    let idp = match saml2.as_slice() {
        [one] => *one,
        [] => {
            return Err(MetadataError::UnsupportedProtocol {
                entity_id,
                protocols: first_idp
                    .attribute("protocolSupportEnumeration")
                    .unwrap_or("")
                    .to_owned(),
            });
        }
        many => {
            return Err(MetadataError::MultipleIdpDescriptors {
                entity_id,
                count: many.len(),
            });
        }
    };
    valid_until = earliest(valid_until, check_valid_until(idp, now)?);

    let want_authn_requests_signed = match idp.attribute("WantAuthnRequestsSigned") {
        None => false,
        Some(v) => match v.trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(MetadataError::InvalidAttribute {
                    element: "IDPSSODescriptor".to_owned(),
                    attribute: "WantAuthnRequestsSigned".to_owned(),
                    value: v.to_owned(),
                    expected: "a boolean (true, false, 1 or 0)".to_owned(),
                });
            }
        },
    };

    let signing_certificates = signing_certificates(idp)?;
    if signing_certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate { entity_id });
    }

    let mut name_id_formats: Vec<String> = Vec::new();
    for f in md_children(idp, "NameIDFormat") {
        let text = f.text();
        let value = text.trim();
        if !value.is_empty() && !name_id_formats.iter().any(|v| v == value) {
            name_id_formats.push(value.to_owned());
        }
    }

    Ok(IdpMetadata {
        entity_id,
        signing_certificates,
        sso_services: sso_services(idp)?,
        name_id_formats,
        valid_until,
        want_authn_requests_signed,
    })
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Parses `validUntil` (xs:dateTime; without a zone it is taken as UTC, as SAML
/// requires UTC) and refuses it when it is not after `now`.
fn check_valid_until(
    e: Element<'_>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, MetadataError> {
    let Some(raw) = e.attribute("validUntil") else {
        return Ok(None);
    };
    let value = raw.trim();
    let parsed = DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        });
    let Some(valid_until) = parsed else {
        return Err(MetadataError::InvalidAttribute {
            element: e.local_name().to_owned(),
            attribute: "validUntil".to_owned(),
            value: raw.to_owned(),
            expected: "an xs:dateTime such as 2030-01-01T00:00:00Z".to_owned(),
        });
    };
    if valid_until <= now {
        return Err(MetadataError::Expired {
            element: e.local_name().to_owned(),
            valid_until,
        });
    }
    Ok(Some(valid_until))
}

/// The DER certificates of the signing KeyDescriptors, checked and deduplicated.
fn signing_certificates(idp: Element<'_>) -> Result<Vec<Vec<u8>>, MetadataError> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut index = 0usize;
    for kd in md_children(idp, "KeyDescriptor") {
        if kd.attribute("use").is_some_and(|u| u.trim() != "signing") {
            continue;
        }
        for x509 in elements(kd)
            .filter(|c| c.has_name(DS_NS, "KeyInfo"))
            .flat_map(elements)
            .filter(|c| c.has_name(DS_NS, "X509Data"))
            .flat_map(elements)
            .filter(|c| c.has_name(DS_NS, "X509Certificate"))
        {
            index += 1;
            let der = decode_certificate(index, x509)?;
            inspect_certificate(index, &der)?;
            if !out.contains(&der) {
                out.push(der);
            }
        }
    }
    if out.len() > MAX_SIGNING_CERTIFICATES {
        return Err(MetadataError::TooManySigningCertificates {
            count: out.len(),
            limit: MAX_SIGNING_CERTIFICATES,
        });
    }
    Ok(out)
}

fn decode_certificate(index: usize, x509: Element<'_>) -> Result<Vec<u8>, MetadataError> {
    let invalid = |detail: String| MetadataError::InvalidCertificateEncoding { index, detail };
    let text = x509.text_strict().map_err(|e| invalid(e.to_string()))?;
    let compact: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .collect();
    if compact.is_empty() {
        return Err(invalid("the element is empty".to_owned()));
    }
    STANDARD
        .decode(&compact)
        .map_err(|e| invalid(e.to_string()))
}

/// Checks that `der` is exactly one X.509 certificate and reads its display facts.
fn inspect_certificate(index: usize, der: &[u8]) -> Result<CertificateInfo, MetadataError> {
    let invalid = |detail: String| MetadataError::NotACertificate { index, detail };
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| invalid(e.to_string()))?;
    if !rest.is_empty() {
        return Err(invalid(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        )));
    }
    let not_after = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .ok_or_else(|| invalid("notAfter is out of range".to_owned()))?;
    Ok(CertificateInfo {
        key_type: key_type(&cert),
        not_after,
        subject: cert.subject().to_string(),
        sha256_fingerprint: hex::encode(ring::digest::digest(&ring::digest::SHA256, der)),
    })
}

fn key_type(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let algorithm = &spki.algorithm.algorithm;
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let first = rsa
                .modulus
                .iter()
                .position(|&b| b != 0)
                .unwrap_or(rsa.modulus.len());
            let n = rsa.modulus.get(first..).unwrap_or(&[]);
            let bits = match n.first() {
                Some(&top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
                None => 0,
            };
            format!("RSA-{bits}")
        }
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            match curve {
                Some(c) if c == OID_EC_P256 => "EC P-256".to_owned(),
                Some(c) if c == OID_NIST_EC_P384 => "EC P-384".to_owned(),
                Some(c) if c == OID_NIST_EC_P521 => "EC P-521".to_owned(),
                Some(c) => format!("EC (curve {c})"),
                None => "EC (unnamed curve)".to_owned(),
            }
        }
        Ok(PublicKey::DSA(_)) => "DSA".to_owned(),
        Ok(PublicKey::GostR3410(_) | PublicKey::GostR3410_2012(_)) => "GOST R 34.10".to_owned(),
        Ok(PublicKey::Unknown(_)) | Err(_) if *algorithm == OID_SIG_ED25519 => "Ed25519".to_owned(),
        Ok(PublicKey::Unknown(_)) | Err(_) => format!("unknown key algorithm {algorithm}"),
    }
}

fn sso_services(idp: Element<'_>) -> Result<Vec<SsoService>, MetadataError> {
    let mut out = Vec::new();
    for (i, sso) in md_children(idp, "SingleSignOnService").enumerate() {
        let invalid = |detail: String| MetadataError::InvalidSsoService {
            index: i + 1,
            detail,
        };
        let binding = sso.attribute("Binding").map(str::trim).unwrap_or("");
        if binding.is_empty() {
            return Err(invalid("it has no Binding attribute".to_owned()));
        }
        let location = sso.attribute("Location").map(str::trim).unwrap_or("");
        if location.is_empty() {
            return Err(invalid(format!(
                "the {binding} endpoint has no Location attribute"
            )));
        }
        // The endpoints rambridge sends browsers to must be web URLs.
        if (binding == BINDING_HTTP_REDIRECT || binding == BINDING_HTTP_POST)
            && !is_http_url(location)
        {
            return Err(invalid(format!(
                "Location {location:?} of the {binding} endpoint is not an http(s) URL"
            )));
        }
        out.push(SsoService {
            binding: binding.to_owned(),
            location: location.to_owned(),
        });
    }
    Ok(out)
}

fn is_http_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        s.get(8..)
    } else if lower.starts_with("http://") {
        s.get(7..)
    } else {
        None
    };
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && !r.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

#[cfg(test)]
mod tests;
