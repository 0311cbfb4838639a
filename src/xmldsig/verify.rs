//! Enveloped-signature verification of one element against trusted keys.
//!
//! See the module documentation in `mod.rs` for the rules. The order of the
//! checks is fixed and cheap checks come first: ID and ID uniqueness, the
//! shape of the one direct-child `ds:Signature`, algorithms and transforms,
//! the Reference URI, key selection, then the signature over the
//! canonicalized SignedInfo, and last the digest of the referenced element.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
// aws-lc-rs: keys are parsed once per trusted certificate (`ParsedPublicKey`), and SHA-256
// uses the CPU's SHA extensions where present (docs/performance.md).
use aws_lc_rs::digest as lc_digest;
use aws_lc_rs::signature::{self, ParsedPublicKey};
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::c14n::{C14nAlgorithm, C14nParams, canonicalize_into};
use super::dom::{Document, Element, Node, NodeId, is_ncname};
use super::error::XmlDsigError;

/// The XML-DSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The enveloped-signature transform.
pub const ENVELOPED_SIGNATURE_URI: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// Namespace of `InclusiveNamespaces` (same string as the exc-c14n algorithm).
pub const EXC_C14N_NS: &str = C14nAlgorithm::EXCLUSIVE_URI;
/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// Signature algorithms (`SignatureMethod/@Algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// `rsa-sha1`: only with [`VerifyOptions::allow_sha1`].
    RsaSha1,
    /// `rsa-sha256` (RSASSA-PKCS1-v1_5).
    RsaSha256,
    /// `rsa-sha384`.
    RsaSha384,
    /// `rsa-sha512`.
    RsaSha512,
    /// `ecdsa-sha256` with a P-256 key; raw `r || s` signature value.
    EcdsaSha256,
    /// `ecdsa-sha384` with a P-384 key; raw `r || s` signature value.
    EcdsaSha384,
}

impl SignatureAlgorithm {
    /// Parses an algorithm URI (exact match).
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri {
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => Self::RsaSha1,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Self::RsaSha256,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => Self::RsaSha384,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Self::RsaSha512,
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => Self::EcdsaSha256,
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => Self::EcdsaSha384,
            _ => return None,
        })
    }

    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Self::RsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            Self::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            Self::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            Self::EcdsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        }
    }

    /// Whether a key of this kind can verify this algorithm.
    fn fits(self, key: &KeyKind) -> bool {
        matches!(
            (self, key),
            (
                Self::RsaSha1 | Self::RsaSha256 | Self::RsaSha384 | Self::RsaSha512,
                KeyKind::Rsa
            ) | (Self::EcdsaSha256, KeyKind::EcP256)
                | (Self::EcdsaSha384, KeyKind::EcP384)
        )
    }

    fn lc_algorithm(self) -> Option<&'static dyn signature::VerificationAlgorithm> {
        Some(match self {
            Self::RsaSha1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Self::RsaSha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::RsaSha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::RsaSha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Self::EcdsaSha256 => &signature::ECDSA_P256_SHA256_FIXED,
            Self::EcdsaSha384 => &signature::ECDSA_P384_SHA384_FIXED,
        })
    }
}

/// Digest algorithms (`DigestMethod/@Algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// Only with [`VerifyOptions::allow_sha1`].
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// Parses an algorithm URI (exact match).
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri {
            "http://www.w3.org/2000/09/xmldsig#sha1" => Self::Sha1,
            "http://www.w3.org/2001/04/xmlenc#sha256" => Self::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => Self::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => Self::Sha512,
            _ => return None,
        })
    }

    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            Self::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Self::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            Self::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    fn lc(self) -> &'static lc_digest::Algorithm {
        match self {
            Self::Sha1 => &lc_digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &lc_digest::SHA256,
            Self::Sha384 => &lc_digest::SHA384,
            Self::Sha512 => &lc_digest::SHA512,
        }
    }
}

// ================================================================ trusted keys

#[derive(Clone, Debug)]
enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
}

/// One trusted certificate: its DER (KeyInfo selects by byte equality), fingerprint, key type,
/// and the key parsed once for each signature algorithm it can verify.
#[derive(Clone)]
struct TrustedKey {
    der: Vec<u8>,
    /// `der` in standard base64 without line breaks: a KeyInfo certificate whose text (white
    /// space removed) equals it selects this key without being decoded.
    b64: String,
    sha256: [u8; 32],
    kind: KeyKind,
    parsed: Vec<(SignatureAlgorithm, ParsedPublicKey)>,
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedKey")
            .field("sha256", &hex(&self.sha256))
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The IdP's signing keys, taken from certificates in its stored metadata.
///
/// Several certificates may be trusted at once (key rollover). Only the
/// public key of each certificate is used; validity dates, issuer and
/// extensions are deliberately ignored, because SAML metadata is the trust
/// anchor. RSA keys must have 2048 to 8192 bits; ECDSA keys must be on
/// P-256 or P-384.
#[derive(Clone, Debug)]
pub struct TrustedKeys {
    keys: Vec<TrustedKey>,
}

impl TrustedKeys {
    /// Builds the key set from DER X.509 certificates; fails on the first
    /// unusable certificate (so a misconfiguration is loud, not silent).
    pub fn from_der_certificates<I: IntoIterator<Item = Vec<u8>>>(
        certs: I,
    ) -> Result<Self, XmlDsigError> {
        let mut keys = Vec::new();
        for (index, der) in certs.into_iter().enumerate() {
            let (kind, parsed) = parse_key(index, &der)?;
            keys.push(TrustedKey {
                sha256: sha256(&der),
                b64: STANDARD.encode(&der),
                der,
                kind,
                parsed,
            });
        }
        if keys.is_empty() {
            return Err(XmlDsigError::NoTrustedKeys);
        }
        Ok(TrustedKeys { keys })
    }

    /// Number of trusted certificates.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: construction refuses an empty set.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// DER of the trusted certificate at `index`.
    pub fn certificate_der(&self, index: usize) -> Option<&[u8]> {
        self.keys.get(index).map(|k| k.der.as_slice())
    }

    /// SHA-256 fingerprint of the trusted certificate at `index`.
    pub fn certificate_sha256(&self, index: usize) -> Option<[u8; 32]> {
        self.keys.get(index).map(|k| k.sha256)
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(lc_digest::digest(&lc_digest::SHA256, data).as_ref());
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or(&[])
}

type ParsedKeys = Vec<(SignatureAlgorithm, ParsedPublicKey)>;

/// Parses `key` once for each algorithm in `algs` (all of which must accept it).
fn parse_for(
    index: usize,
    key: &[u8],
    algs: &[SignatureAlgorithm],
) -> Result<ParsedKeys, XmlDsigError> {
    algs.iter()
        .map(|&alg| {
            let lc = alg
                .lc_algorithm()
                .ok_or_else(|| XmlDsigError::UnsupportedKey {
                    index,
                    detail: format!("no verifier for {}", alg.uri()),
                })?;
            ParsedPublicKey::new(lc, key)
                .map(|k| (alg, k))
                .map_err(|e| XmlDsigError::UnsupportedKey {
                    index,
                    detail: format!("the key does not parse for {}: {e}", alg.uri()),
                })
        })
        .collect()
}

const RSA_ALGORITHMS: [SignatureAlgorithm; 4] = [
    SignatureAlgorithm::RsaSha1,
    SignatureAlgorithm::RsaSha256,
    SignatureAlgorithm::RsaSha384,
    SignatureAlgorithm::RsaSha512,
];

fn parse_key(index: usize, der: &[u8]) -> Result<(KeyKind, ParsedKeys), XmlDsigError> {
    let invalid = |detail: String| XmlDsigError::InvalidCertificate { index, detail };
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| invalid(e.to_string()))?;
    if !rest.is_empty() {
        return Err(invalid(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        )));
    }
    let spki = cert.public_key();
    let unsupported = |detail: String| XmlDsigError::UnsupportedKey { index, detail };
    match spki.parsed().map_err(|e| invalid(e.to_string()))? {
        PublicKey::RSA(rsa) => {
            let n = strip_leading_zeros(rsa.modulus);
            let e = strip_leading_zeros(rsa.exponent);
            let bits = match n.first() {
                Some(&top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
                None => 0,
            };
            if bits < MIN_RSA_BITS {
                return Err(XmlDsigError::WeakRsaKey {
                    index,
                    bits,
                    minimum: MIN_RSA_BITS,
                });
            }
            if bits > MAX_RSA_BITS {
                return Err(unsupported(format!(
                    "RSA key of {bits} bits (maximum {MAX_RSA_BITS})"
                )));
            }
            // The public exponent rules ring applied: odd, at least 3, at most 33 bits.
            let e_bits = match e.first() {
                Some(&top) => (e.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
                None => 0,
            };
            if e.last().is_none_or(|l| l % 2 == 0) || !(2..=33).contains(&e_bits) {
                return Err(unsupported(
                    "RSA public exponent (must be odd, at least 3, at most 33 bits)".into(),
                ));
            }
            // The SubjectPublicKeyInfo as the certificate carries it.
            Ok((KeyKind::Rsa, parse_for(index, spki.raw, &RSA_ALGORITHMS)?))
        }
        PublicKey::EC(_) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            let point = spki.subject_public_key.data.to_vec();
            match curve {
                Some(oid)
                    if oid == OID_EC_P256 && point.len() == 65 && point.first() == Some(&4) =>
                {
                    Ok((
                        KeyKind::EcP256,
                        parse_for(index, &point, &[SignatureAlgorithm::EcdsaSha256])?,
                    ))
                }
                Some(oid)
                    if oid == OID_NIST_EC_P384
                        && point.len() == 97
                        && point.first() == Some(&4) =>
                {
                    Ok((
                        KeyKind::EcP384,
                        parse_for(index, &point, &[SignatureAlgorithm::EcdsaSha384])?,
                    ))
                }
                Some(oid) => Err(unsupported(format!(
                    "EC key on curve {oid} or compressed point (only uncompressed P-256 / P-384)"
                ))),
                None => Err(unsupported("EC key without named-curve parameters".into())),
            }
        }
        PublicKey::DSA(_) => Err(unsupported("DSA key".into())),
        PublicKey::GostR3410(_) | PublicKey::GostR3410_2012(_) => {
            Err(unsupported("GOST key".into()))
        }
        PublicKey::Unknown(_) => Err(unsupported(format!(
            "key algorithm {}",
            spki.algorithm.algorithm
        ))),
    }
}

fn verify_with(key: &TrustedKey, alg: SignatureAlgorithm, msg: &[u8], sig: &[u8]) -> Option<bool> {
    let (_, parsed) = key.parsed.iter().find(|(a, _)| *a == alg)?;
    Some(parsed.verify_sig(msg, sig).is_ok())
}

// ===================================================================== options

/// What the verifier accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Accept `rsa-sha1` and the `sha1` digest (legacy IdPs). Default false.
    pub allow_sha1: bool,
    /// Name of the unqualified ID attribute of the signed element (`"ID"` for SAML).
    pub id_attribute: &'static str,
}

impl VerifyOptions {
    /// SAML 2.0: ID attribute `ID`, SHA-1 refused.
    pub const SAML: VerifyOptions = VerifyOptions {
        allow_sha1: false,
        id_attribute: "ID",
    };
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self::SAML
    }
}

// ================================================================ proof type

/// Proof that one element verified. It can only be obtained from
/// [`verify_element`] and only gives read access to the verified element's
/// subtree: there is no way from it to the element's parent or siblings.
/// The enveloped `ds:Signature` is hidden from the view, because apart from
/// SignedInfo its content is not covered by the signature.
#[derive(Clone, Debug)]
pub struct VerifiedXml<'a> {
    root: Element<'a>,
    hidden: NodeId,
    id: &'a str,
    cert_index: usize,
    cert_sha256: [u8; 32],
    signature_algorithm: SignatureAlgorithm,
    digest_algorithm: DigestAlgorithm,
    canonicalization: C14nAlgorithm,
    reference_canonicalization: C14nAlgorithm,
}

impl<'a> VerifiedXml<'a> {
    /// The verified element.
    pub fn element(&self) -> VerifiedElement<'a> {
        VerifiedElement {
            inner: self.root,
            hidden: self.hidden,
        }
    }

    /// The verified element's ID attribute value (what the Reference URI named).
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// Index (in the order given to [`TrustedKeys::from_der_certificates`]) of the certificate that verified.
    pub fn certificate_index(&self) -> usize {
        self.cert_index
    }

    /// SHA-256 fingerprint of the DER certificate that verified.
    pub fn certificate_sha256(&self) -> [u8; 32] {
        self.cert_sha256
    }

    /// `SignatureMethod` used.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }

    /// `DigestMethod` used.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest_algorithm
    }

    /// `CanonicalizationMethod` of SignedInfo.
    pub fn canonicalization(&self) -> C14nAlgorithm {
        self.canonicalization
    }

    /// Canonicalization applied to the referenced element (comments are
    /// always dropped for a same-document `#id` reference).
    pub fn reference_canonicalization(&self) -> C14nAlgorithm {
        self.reference_canonicalization
    }
}

/// Read-only view of an element inside a verified subtree. Offers no parent
/// access and never yields the enveloped signature.
#[derive(Clone, Copy, Debug)]
pub struct VerifiedElement<'a> {
    inner: Element<'a>,
    hidden: NodeId,
}

/// A child inside a verified subtree.
#[derive(Clone, Copy, Debug)]
pub enum VerifiedNode<'a> {
    /// A child element (itself restricted to the verified subtree).
    Element(VerifiedElement<'a>),
    /// A run of character data.
    Text(&'a str),
    /// A comment's content.
    Comment(&'a str),
    /// A processing instruction.
    ProcessingInstruction {
        /// Its target.
        target: &'a str,
        /// Its data.
        data: &'a str,
    },
}

impl<'a> VerifiedElement<'a> {
    /// The qualified name as written.
    pub fn qualified_name(&self) -> &'a str {
        self.inner.qualified_name()
    }
    /// The local name.
    pub fn local_name(&self) -> &'a str {
        self.inner.local_name()
    }
    /// The prefix as written, if any.
    pub fn prefix(&self) -> Option<&'a str> {
        self.inner.prefix()
    }
    /// The namespace URI, if any.
    pub fn namespace_uri(&self) -> Option<&'a str> {
        self.inner.namespace_uri()
    }
    /// Namespace URI (`""` = none) and local name test.
    pub fn has_name(&self, namespace_uri: &str, local_name: &str) -> bool {
        self.inner.has_name(namespace_uri, local_name)
    }
    /// Unqualified attribute value.
    pub fn attribute(&self, local_name: &str) -> Option<&'a str> {
        self.inner.attribute(local_name)
    }
    /// Namespaced attribute value (`""` = no namespace).
    pub fn attribute_ns(&self, namespace_uri: &str, local_name: &str) -> Option<&'a str> {
        self.inner.attribute_ns(namespace_uri, local_name)
    }
    /// All attributes in document order.
    pub fn attributes(&self) -> impl Iterator<Item = super::dom::Attribute<'a>> + 'a {
        self.inner.attributes()
    }
    /// Children in document order (the enveloped signature left out).
    pub fn children(&self) -> impl Iterator<Item = VerifiedNode<'a>> + 'a {
        let hidden = self.hidden;
        self.inner.children().filter_map(move |c| match c {
            Node::Element(e) if e.node_id() == hidden => None,
            Node::Element(e) => Some(VerifiedNode::Element(VerifiedElement { inner: e, hidden })),
            Node::Text(t) => Some(VerifiedNode::Text(t)),
            Node::Comment(t) => Some(VerifiedNode::Comment(t)),
            Node::ProcessingInstruction { target, data } => {
                Some(VerifiedNode::ProcessingInstruction { target, data })
            }
        })
    }
    /// Child elements in document order (the enveloped signature left out).
    pub fn child_elements(&self) -> impl Iterator<Item = VerifiedElement<'a>> + 'a {
        self.children().filter_map(|c| match c {
            VerifiedNode::Element(e) => Some(e),
            _ => None,
        })
    }
    /// Concatenation of all direct text children (see [`Element::text`]).
    pub fn text(&self) -> Cow<'a, str> {
        self.inner.text()
    }
    /// Text, refusing comments, PIs and child elements (see [`Element::text_strict`]).
    pub fn text_strict(&self) -> Result<&'a str, XmlDsigError> {
        self.inner.text_strict()
    }
}

// ============================================================== verification

struct SignatureParts<'a> {
    signed_info: Element<'a>,
    c14n: C14nAlgorithm,
    c14n_prefixes: Vec<&'a str>,
    signature_algorithm: SignatureAlgorithm,
    reference_uri: Option<&'a str>,
    ref_c14n: C14nAlgorithm,
    ref_prefixes: Vec<&'a str>,
    digest_algorithm: DigestAlgorithm,
    digest_value: Vec<u8>,
    signature_value: Vec<u8>,
    /// KeyInfo certificates as base64 text (as written, possibly wrapped).
    key_info_certs: Vec<&'a str>,
}

/// Verifies the enveloped signature of `element`.
///
/// On success the returned proof gives access to exactly the content the
/// signature covers. Every failure is an error; nothing is "partially valid".
pub fn verify_element<'a>(
    doc: &'a Document,
    element: NodeId,
    keys: &TrustedKeys,
    opts: &VerifyOptions,
) -> Result<VerifiedXml<'a>, XmlDsigError> {
    let el = doc.element(element).ok_or(XmlDsigError::NotAnElement)?;

    // 1. The element's own ID, unique in the whole document.
    let id = el
        .attribute(opts.id_attribute)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| XmlDsigError::MissingIdAttribute {
            element: el.qualified_name().to_owned(),
            attribute: opts.id_attribute,
        })?;
    check_unique_ids(doc, opts.id_attribute)?;

    // 2. Exactly one direct-child ds:Signature.
    let mut sigs = el
        .child_elements()
        .filter(|c| c.has_name(DSIG_NS, "Signature"));
    let sig = sigs.next().ok_or_else(|| XmlDsigError::MissingSignature {
        element: el.qualified_name().to_owned(),
    })?;
    let extra = sigs.count();
    if extra > 0 {
        return Err(XmlDsigError::MultipleSignatures {
            element: el.qualified_name().to_owned(),
            count: extra + 1,
        });
    }

    // 3. Structure, algorithms, transforms.
    let parts = parse_signature(sig, opts)?;

    // 4. The Reference must name this very element.
    let expected = format!("#{id}");
    if parts.reference_uri != Some(expected.as_str()) {
        return Err(XmlDsigError::ReferenceUriMismatch {
            expected,
            got: parts.reference_uri.map(str::to_owned),
        });
    }

    // 5. Key selection: KeyInfo may only select among trusted certificates.
    let mut candidates: Vec<usize> = Vec::with_capacity(keys.keys.len());
    if parts.key_info_certs.is_empty() {
        candidates.extend(0..keys.keys.len());
    } else {
        for text in &parts.key_info_certs {
            let idx = match keys.keys.iter().position(|k| same_base64(text, &k.b64)) {
                Some(i) => i,
                // Not the canonical encoding of a trusted certificate: decode and compare bytes.
                None => {
                    let cert = decode_base64(text, "X509Certificate")?;
                    keys.keys
                        .iter()
                        .position(|k| k.der == cert)
                        .ok_or_else(|| XmlDsigError::UntrustedKeyInfoCertificate {
                            sha256_fingerprint: hex(&sha256(&cert)),
                        })?
                }
            };
            if !candidates.contains(&idx) {
                candidates.push(idx);
            }
        }
    }
    candidates.retain(|&i| {
        keys.keys
            .get(i)
            .is_some_and(|k| parts.signature_algorithm.fits(&k.kind))
    });
    if candidates.is_empty() {
        return Err(XmlDsigError::NoUsableKey {
            algorithm: parts.signature_algorithm.uri().to_owned(),
            detail: if parts.key_info_certs.is_empty() {
                "no trusted certificate has a key of that type".to_owned()
            } else {
                "the certificate selected by KeyInfo has a key of another type".to_owned()
            },
        });
    }

    // 6. Signature over the canonicalized SignedInfo.
    let mut buf = Vec::with_capacity(doc.arena.len() + doc.arena.len() / 4);
    canonicalize_into(
        doc,
        parts.signed_info.node_id(),
        &C14nParams {
            algorithm: parts.c14n,
            inclusive_prefixes: &parts.c14n_prefixes,
            exclude: None,
        },
        &mut buf,
    )?;
    let mut verified_by = None;
    for &i in &candidates {
        let Some(key) = keys.keys.get(i) else {
            continue;
        };
        if verify_with(key, parts.signature_algorithm, &buf, &parts.signature_value) == Some(true) {
            verified_by = Some(i);
            break;
        }
    }
    let Some(cert_index) = verified_by else {
        return Err(XmlDsigError::SignatureInvalid {
            algorithm: parts.signature_algorithm.uri().to_owned(),
            keys_tried: candidates.len(),
        });
    };

    // 7. Digest of the element without its Signature. A bare-name "#id"
    //    reference drops comments even under a #WithComments transform.
    let ref_c14n = parts.ref_c14n.without_comments();
    buf.clear();
    canonicalize_into(
        doc,
        element,
        &C14nParams {
            algorithm: ref_c14n,
            inclusive_prefixes: &parts.ref_prefixes,
            exclude: Some(sig.node_id()),
        },
        &mut buf,
    )?;
    let digest = lc_digest::digest(parts.digest_algorithm.lc(), &buf);
    if !constant_time_eq(digest.as_ref(), &parts.digest_value) {
        return Err(XmlDsigError::DigestMismatch {
            reference: expected,
            algorithm: parts.digest_algorithm.name(),
        });
    }

    Ok(VerifiedXml {
        root: el,
        hidden: sig.node_id(),
        id,
        cert_index,
        cert_sha256: keys.keys.get(cert_index).map_or([0; 32], |k| k.sha256),
        signature_algorithm: parts.signature_algorithm,
        digest_algorithm: parts.digest_algorithm,
        canonicalization: parts.c14n,
        reference_canonicalization: ref_c14n,
    })
}

pub(crate) fn check_unique_ids(doc: &Document, id_attribute: &str) -> Result<(), XmlDsigError> {
    let mut ids = doc.id_like_values(id_attribute);
    ids.sort_unstable();
    let mut i = 0;
    while i < ids.len() {
        let v = ids.get(i).copied().unwrap_or("");
        let run = ids.iter().skip(i).take_while(|w| **w == v).count();
        if run > 1 {
            return Err(XmlDsigError::DuplicateId {
                id: v.chars().take(128).collect(),
                count: run,
            });
        }
        i += run.max(1);
    }
    Ok(())
}

/// Equal-length comparison whose timing does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let acc = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(acc) == 0
}

fn describe(e: &Element<'_>) -> String {
    match e.namespace_uri() {
        Some(ns) => format!("<{}> in namespace {ns:?}", e.qualified_name()),
        None => format!("<{}> in no namespace", e.qualified_name()),
    }
}

fn is_ds(e: &Element<'_>, local: &str) -> bool {
    e.has_name(DSIG_NS, local)
}

/// Child elements of a signature structure element; whitespace text is
/// skipped, anything else (text, comment, PI) is refused.
fn structural_children<'a>(
    el: Element<'a>,
    parent: &'static str,
) -> Result<Vec<Element<'a>>, XmlDsigError> {
    let mut out = Vec::with_capacity(4);
    for c in el.children() {
        let got = match c {
            Node::Element(e) => {
                out.push(e);
                continue;
            }
            Node::Text(t) if t.bytes().all(super::dom::is_xml_space) => continue,
            Node::Text(_) => "non-whitespace text",
            Node::Comment(_) => "a comment",
            Node::ProcessingInstruction { .. } => "a processing instruction",
        };
        return Err(XmlDsigError::UnexpectedSignatureContent {
            parent,
            expected: "only child elements",
            got: got.to_owned(),
        });
    }
    Ok(out)
}

fn expect_ds<'a>(
    e: Option<Element<'a>>,
    parent: &'static str,
    local: &'static str,
    expected: &'static str,
) -> Result<Element<'a>, XmlDsigError> {
    match e {
        Some(e) if is_ds(&e, local) => Ok(e),
        Some(e) => Err(XmlDsigError::UnexpectedSignatureContent {
            parent,
            expected,
            got: describe(&e),
        }),
        None => Err(XmlDsigError::UnexpectedSignatureContent {
            parent,
            expected,
            got: "nothing".to_owned(),
        }),
    }
}

fn algorithm_attr<'a>(e: &Element<'a>, element: &'static str) -> Result<&'a str, XmlDsigError> {
    e.attribute("Algorithm")
        .ok_or(XmlDsigError::MissingSignatureAttribute {
            element,
            attribute: "Algorithm",
        })
}

fn no_children(e: Element<'_>, parent: &'static str) -> Result<(), XmlDsigError> {
    if let Some(c) = structural_children(e, parent)?.first() {
        return Err(XmlDsigError::UnexpectedSignatureContent {
            parent,
            expected: "no child elements",
            got: describe(c),
        });
    }
    Ok(())
}

/// Parameters of a c14n method/transform: an optional single
/// `ec:InclusiveNamespaces PrefixList` child for the exclusive algorithms.
fn parse_prefix_list<'a>(
    e: Element<'a>,
    parent: &'static str,
    alg: C14nAlgorithm,
) -> Result<Vec<&'a str>, XmlDsigError> {
    let kids = structural_children(e, parent)?;
    let mut it = kids.into_iter();
    let Some(first) = it.next() else {
        return Ok(Vec::new());
    };
    let expected = "nothing or one ec:InclusiveNamespaces (exclusive c14n only)";
    if !alg.is_exclusive() || !first.has_name(EXC_C14N_NS, "InclusiveNamespaces") {
        return Err(XmlDsigError::UnexpectedSignatureContent {
            parent,
            expected,
            got: describe(&first),
        });
    }
    if let Some(extra) = it.next() {
        return Err(XmlDsigError::UnexpectedSignatureContent {
            parent,
            expected,
            got: describe(&extra),
        });
    }
    no_children(first, "InclusiveNamespaces")?;
    let list = first
        .attribute("PrefixList")
        .ok_or(XmlDsigError::MissingSignatureAttribute {
            element: "InclusiveNamespaces",
            attribute: "PrefixList",
        })?;
    let prefixes: Vec<&str> = list.split_ascii_whitespace().collect();
    if let Some(bad) = prefixes.iter().find(|p| **p != "#default" && !is_ncname(p)) {
        return Err(XmlDsigError::UnexpectedSignatureContent {
            parent: "InclusiveNamespaces",
            expected: "a PrefixList of NCNames and #default",
            got: format!("{bad:?}"),
        });
    }
    Ok(prefixes)
}

/// Whether base64 `text`, with the white space it may be wrapped with removed, is exactly
/// `compact` (compared in place, without decoding or copying).
fn same_base64(text: &str, compact: &str) -> bool {
    let mut want = compact.bytes();
    for b in text.bytes() {
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        }
        if want.next() != Some(b) {
            return false;
        }
    }
    want.next().is_none()
}

fn decode_base64(text: &str, element: &'static str) -> Result<Vec<u8>, XmlDsigError> {
    let mut compact = Vec::with_capacity(text.len());
    compact.extend(
        text.bytes()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')),
    );
    STANDARD
        .decode(&compact)
        .map_err(|_| XmlDsigError::InvalidBase64 { element })
}

fn parse_signature<'a>(
    sig: Element<'a>,
    opts: &VerifyOptions,
) -> Result<SignatureParts<'a>, XmlDsigError> {
    let kids = structural_children(sig, "Signature")?;
    let mut it = kids.into_iter();
    let signed_info = expect_ds(it.next(), "Signature", "SignedInfo", "ds:SignedInfo")?;
    let sig_value_el = expect_ds(
        it.next(),
        "Signature",
        "SignatureValue",
        "ds:SignatureValue",
    )?;
    let key_info = match it.next() {
        None => None,
        Some(e) if is_ds(&e, "KeyInfo") => Some(e),
        Some(e) => {
            return Err(XmlDsigError::UnexpectedSignatureContent {
                parent: "Signature",
                expected: "ds:KeyInfo or nothing after ds:SignatureValue",
                got: describe(&e),
            });
        }
    };
    if let Some(e) = it.next() {
        return Err(XmlDsigError::UnexpectedSignatureContent {
            parent: "Signature",
            expected: "nothing after ds:KeyInfo (ds:Object is not accepted)",
            got: describe(&e),
        });
    }

    // ---- SignedInfo
    let si_kids = structural_children(signed_info, "SignedInfo")?;
    let mut si = si_kids.into_iter();
    let cm = expect_ds(
        si.next(),
        "SignedInfo",
        "CanonicalizationMethod",
        "ds:CanonicalizationMethod",
    )?;
    let cm_uri = algorithm_attr(&cm, "CanonicalizationMethod")?;
    let c14n = C14nAlgorithm::from_uri(cm_uri).ok_or_else(|| {
        XmlDsigError::UnsupportedCanonicalization {
            algorithm: cm_uri.to_owned(),
        }
    })?;
    let c14n_prefixes = parse_prefix_list(cm, "CanonicalizationMethod", c14n)?;

    let sm = expect_ds(
        si.next(),
        "SignedInfo",
        "SignatureMethod",
        "ds:SignatureMethod",
    )?;
    let sm_uri = algorithm_attr(&sm, "SignatureMethod")?;
    let signature_algorithm = SignatureAlgorithm::from_uri(sm_uri).ok_or_else(|| {
        XmlDsigError::UnsupportedSignatureAlgorithm {
            algorithm: sm_uri.to_owned(),
        }
    })?;
    if signature_algorithm == SignatureAlgorithm::RsaSha1 && !opts.allow_sha1 {
        return Err(XmlDsigError::Sha1NotAllowed {
            algorithm: sm_uri.to_owned(),
        });
    }
    no_children(sm, "SignatureMethod")?;

    let refs: Vec<Element<'a>> = si.collect();
    if let Some(bad) = refs.iter().find(|r| !is_ds(r, "Reference")) {
        return Err(XmlDsigError::UnexpectedSignatureContent {
            parent: "SignedInfo",
            expected: "ds:Reference",
            got: describe(bad),
        });
    }
    let reference = match refs.as_slice() {
        [r] => *r,
        _ => return Err(XmlDsigError::ReferenceCount { count: refs.len() }),
    };

    // ---- Reference
    let reference_uri = reference.attribute("URI");
    let r_kids = structural_children(reference, "Reference")?;
    let mut rit = r_kids.into_iter().peekable();
    let transforms = match rit.peek() {
        Some(e) if is_ds(e, "Transforms") => rit.next(),
        _ => None,
    };
    let dm = expect_ds(rit.next(), "Reference", "DigestMethod", "ds:DigestMethod")?;
    let dv = expect_ds(rit.next(), "Reference", "DigestValue", "ds:DigestValue")?;
    if let Some(e) = rit.next() {
        return Err(XmlDsigError::UnexpectedSignatureContent {
            parent: "Reference",
            expected: "nothing after ds:DigestValue",
            got: describe(&e),
        });
    }

    let mut enveloped = false;
    let mut ref_c14n: Option<(C14nAlgorithm, Vec<&'a str>)> = None;
    if let Some(transforms) = transforms {
        for t in structural_children(transforms, "Transforms")? {
            if !is_ds(&t, "Transform") {
                return Err(XmlDsigError::UnexpectedSignatureContent {
                    parent: "Transforms",
                    expected: "ds:Transform",
                    got: describe(&t),
                });
            }
            let uri = algorithm_attr(&t, "Transform")?;
            if uri == ENVELOPED_SIGNATURE_URI {
                if enveloped {
                    return Err(XmlDsigError::TransformChain {
                        detail: "enveloped-signature appears twice".into(),
                    });
                }
                if ref_c14n.is_some() {
                    return Err(XmlDsigError::TransformChain {
                        detail:
                            "enveloped-signature must come before the canonicalization transform"
                                .into(),
                    });
                }
                no_children(t, "Transform")?;
                enveloped = true;
            } else if let Some(alg) = C14nAlgorithm::from_uri(uri) {
                if ref_c14n.is_some() {
                    return Err(XmlDsigError::TransformChain {
                        detail: "more than one canonicalization transform".into(),
                    });
                }
                ref_c14n = Some((alg, parse_prefix_list(t, "Transform", alg)?));
            } else {
                return Err(XmlDsigError::UnsupportedTransform {
                    algorithm: uri.to_owned(),
                });
            }
        }
    }
    if !enveloped {
        return Err(XmlDsigError::MissingEnvelopedTransform);
    }
    // Without an explicit c14n transform the node-set is serialized with
    // inclusive Canonical XML 1.0 (XML-DSig 1.1, section 4.4.3.2).
    let (ref_c14n, ref_prefixes) = ref_c14n.unwrap_or((C14nAlgorithm::Inclusive, Vec::new()));

    let dm_uri = algorithm_attr(&dm, "DigestMethod")?;
    let digest_algorithm = DigestAlgorithm::from_uri(dm_uri).ok_or_else(|| {
        XmlDsigError::UnsupportedDigestAlgorithm {
            algorithm: dm_uri.to_owned(),
        }
    })?;
    if digest_algorithm == DigestAlgorithm::Sha1 && !opts.allow_sha1 {
        return Err(XmlDsigError::Sha1NotAllowed {
            algorithm: dm_uri.to_owned(),
        });
    }
    no_children(dm, "DigestMethod")?;
    let digest_value = decode_base64(dv.text_strict()?, "DigestValue")?;
    let signature_value = decode_base64(sig_value_el.text_strict()?, "SignatureValue")?;

    // ---- KeyInfo: only X509Data/X509Certificate is looked at; it selects, never trusts.
    let mut key_info_certs = Vec::new();
    if let Some(ki) = key_info {
        for child in structural_children(ki, "KeyInfo")? {
            if !is_ds(&child, "X509Data") {
                continue;
            }
            for x in structural_children(child, "X509Data")? {
                if is_ds(&x, "X509Certificate") {
                    key_info_certs.push(x.text_strict()?);
                }
            }
        }
    }

    Ok(SignatureParts {
        signed_info,
        c14n,
        c14n_prefixes,
        signature_algorithm,
        reference_uri,
        ref_c14n,
        ref_prefixes,
        digest_algorithm,
        digest_value,
        signature_value,
        key_info_certs,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::same_base64;

    #[test]
    fn base64_text_compares_across_wrapping_only() {
        assert!(same_base64("QUJD\n  REVG\r\n", "QUJDREVG"));
        assert!(same_base64("QUJDREVG", "QUJDREVG"));
        assert!(!same_base64("QUJDREVH", "QUJDREVG"));
        assert!(!same_base64("QUJDREVG QQ==", "QUJDREVG"), "longer");
        assert!(!same_base64("QUJD", "QUJDREVG"), "shorter");
        assert!(!same_base64("", "QQ=="));
        assert!(same_base64(" \t", ""));
    }
}
