//! Enveloped RSA-SHA256 signing of one element (SP AuthnRequest signing,
//! tests and benchmarks).
//!
//! Produces the shape most IdPs and SPs emit and expect: exclusive c14n for
//! SignedInfo, transforms enveloped-signature + exclusive c14n (optionally
//! with an InclusiveNamespaces PrefixList), SHA-256 digest, RSA PKCS#1 v1.5
//! SHA-256 signature, and the signing certificate in KeyInfo/X509Data. The
//! Signature goes right after the element's `saml:Issuer` child if it has one
//! (where the SAML schemas require it), otherwise first. The rest of the input
//! is kept byte for byte: the signature is spliced in, nothing is
//! re-serialized. The output is re-parsed and verified before it is returned.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::c14n::{C14nAlgorithm, C14nParams, canonicalize, escape_attr};
use super::dom::{Document, Element, Kind, NodeId, is_ncname};
use super::error::XmlDsigError;
use super::verify::{
    DSIG_NS, ENVELOPED_SIGNATURE_URI, TrustedKeys, VerifyOptions, check_unique_ids, verify_element,
};

/// SAML 2.0 assertion namespace (home of `Issuer`).
const SAML_ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// An RSA private key (2048 to 4096 bits, ring's limits) plus its certificate.
pub struct SigningKey {
    key_pair: RsaKeyPair,
    cert_der: Vec<u8>,
    trusted: TrustedKeys,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("private_key", &"<redacted>")
            .field("certificate_bytes", &self.cert_der.len())
            .finish()
    }
}

impl SigningKey {
    /// From an unencrypted PKCS#8 DER private key and the matching DER certificate.
    pub fn from_pkcs8_der(pkcs8: &[u8], certificate_der: Vec<u8>) -> Result<Self, XmlDsigError> {
        let key_pair =
            RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| XmlDsigError::InvalidSigningKey {
                reason: format!("not an RSA PKCS#8 key usable by ring ({e})"),
            })?;
        let (_, cert) = X509Certificate::from_der(&certificate_der).map_err(|e| {
            XmlDsigError::InvalidCertificate {
                index: 0,
                detail: e.to_string(),
            }
        })?;
        if cert.public_key().subject_public_key.data.as_ref() != key_pair.public_key().as_ref() {
            return Err(XmlDsigError::SigningCertificateMismatch);
        }
        let trusted = TrustedKeys::from_der_certificates([certificate_der.clone()])?;
        Ok(SigningKey {
            key_pair,
            cert_der: certificate_der,
            trusted,
        })
    }

    /// From a PEM `PRIVATE KEY` (unencrypted PKCS#8) and the matching DER certificate.
    pub fn from_pkcs8_pem(pem: &str, certificate_der: Vec<u8>) -> Result<Self, XmlDsigError> {
        const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
        const END: &str = "-----END PRIVATE KEY-----";
        let reject = |reason: &str| XmlDsigError::InvalidSigningKey {
            reason: reason.into(),
        };
        if pem.contains("BEGIN RSA PRIVATE KEY") {
            return Err(reject(
                "PKCS#1 'RSA PRIVATE KEY' PEM; convert with `openssl pkcs8 -topk8 -nocrypt`",
            ));
        }
        if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            return Err(reject("encrypted PKCS#8 keys are not supported"));
        }
        let body = pem
            .split_once(BEGIN)
            .and_then(|(_, rest)| rest.split_once(END))
            .map(|(body, _)| body)
            .ok_or_else(|| reject("no '-----BEGIN PRIVATE KEY-----' block"))?;
        let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| reject("PEM body is not valid base64"))?;
        Self::from_pkcs8_der(&der, certificate_der)
    }

    /// The DER certificate placed in KeyInfo.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate as a one-element trusted key set (for round trips).
    pub fn trusted_keys(&self) -> &TrustedKeys {
        &self.trusted
    }
}

/// Signing options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOptions {
    /// Unqualified ID attribute of the element to sign (`"ID"` for SAML).
    pub id_attribute: &'static str,
    /// InclusiveNamespaces PrefixList for the exclusive c14n transform (e.g.
    /// `["xs"]` when `xsi:type="xs:string"` values are present). Empty: none.
    pub inclusive_prefixes: Vec<String>,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            id_attribute: "ID",
            inclusive_prefixes: Vec::new(),
        }
    }
}

fn find_by_id<'a>(
    doc: &'a Document,
    attr: &'static str,
    id: &str,
) -> Result<Element<'a>, XmlDsigError> {
    (0..doc.nodes.len() as u32)
        .filter_map(|i| doc.element(NodeId(i)))
        .find(|e| e.attribute(attr) == Some(id))
        .ok_or_else(|| XmlDsigError::ElementNotFound {
            attribute: attr,
            id: id.to_owned(),
        })
}

/// Signs the element whose `opts.id_attribute` equals `element_id` and
/// returns the whole document with the enveloped signature inserted.
pub fn sign_element(
    doc_bytes: &[u8],
    element_id: &str,
    key: &SigningKey,
    opts: &SignOptions,
) -> Result<Vec<u8>, XmlDsigError> {
    if element_id.is_empty() {
        return Err(XmlDsigError::InvalidSignOption {
            detail: "empty element ID".into(),
        });
    }
    if let Some(bad) = opts
        .inclusive_prefixes
        .iter()
        .find(|p| p.as_str() != "#default" && !is_ncname(p))
    {
        return Err(XmlDsigError::InvalidSignOption {
            detail: format!("PrefixList entry {bad:?} is neither an NCName nor #default"),
        });
    }
    let doc = Document::parse(doc_bytes)?;
    check_unique_ids(&doc, opts.id_attribute)?;
    let el = find_by_id(&doc, opts.id_attribute, element_id)?;
    if el
        .child_elements()
        .any(|c| c.has_name(DSIG_NS, "Signature"))
    {
        return Err(XmlDsigError::AlreadySigned {
            id: element_id.to_owned(),
        });
    }

    // Digest of the element as it is now: once the Signature is inserted
    // without surrounding whitespace, the enveloped transform yields these
    // same bytes.
    let prefixes: Vec<&str> = opts.inclusive_prefixes.iter().map(String::as_str).collect();
    let canonical = canonicalize(
        &doc,
        el.node_id(),
        &C14nParams {
            algorithm: C14nAlgorithm::Exclusive,
            inclusive_prefixes: &prefixes,
            exclude: None,
        },
    )?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &canonical);

    let mut uri = Vec::new();
    escape_attr(&mut uri, &format!("#{element_id}"));
    let uri = String::from_utf8(uri).map_err(|_| XmlDsigError::SigningFailed {
        detail: "non-UTF-8 reference URI".into(),
    })?;
    let exc = C14nAlgorithm::EXCLUSIVE_URI;
    let inclusive_ns = if prefixes.is_empty() {
        String::new()
    } else {
        format!(
            "<ec:InclusiveNamespaces xmlns:ec=\"{exc}\" PrefixList=\"{}\"/>",
            prefixes.join(" ")
        )
    };
    let signed_info = format!(
        "<ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{exc}\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <ds:Reference URI=\"{uri}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"{ENVELOPED_SIGNATURE_URI}\"/>\
         <ds:Transform Algorithm=\"{exc}\">{inclusive_ns}</ds:Transform></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue>{}</ds:DigestValue></ds:Reference></ds:SignedInfo>",
        STANDARD.encode(digest.as_ref())
    );

    // Canonical SignedInfo. Exclusive c14n renders only the prefixes
    // SignedInfo uses, all declared on ds:Signature or below, so the
    // standalone fragment canonicalizes exactly as it will in place.
    let fragment = format!("<ds:Signature xmlns:ds=\"{DSIG_NS}\">{signed_info}</ds:Signature>");
    let frag_doc = Document::parse(fragment.as_bytes())?;
    let si = frag_doc
        .root_element()
        .child_elements()
        .next()
        .ok_or_else(|| XmlDsigError::SigningFailed {
            detail: "SignedInfo fragment is empty".into(),
        })?;
    let si_c14n = canonicalize(
        &frag_doc,
        si.node_id(),
        &C14nParams::new(C14nAlgorithm::Exclusive),
    )?;

    let mut sig = vec![0u8; key.key_pair.public().modulus_len()];
    key.key_pair
        .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), &si_c14n, &mut sig)
        .map_err(|_| XmlDsigError::SigningFailed {
            detail: "RSA signing operation failed".into(),
        })?;

    let signature = format!(
        "<ds:Signature xmlns:ds=\"{DSIG_NS}\">{signed_info}<ds:SignatureValue>{}</ds:SignatureValue>\
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
         </ds:Signature>",
        STANDARD.encode(&sig),
        STANDARD.encode(&key.cert_der)
    );

    let out = splice(&doc, el, doc_bytes, &signature)?;

    // Never hand out a signature our own verifier would refuse.
    let check = Document::parse(&out)?;
    let el = find_by_id(&check, opts.id_attribute, element_id)?;
    let verify_opts = VerifyOptions {
        allow_sha1: false,
        id_attribute: opts.id_attribute,
    };
    verify_element(&check, el.node_id(), &key.trusted, &verify_opts).map_err(|e| {
        XmlDsigError::SigningFailed {
            detail: format!("the produced signature does not verify: {e}"),
        }
    })?;
    Ok(out)
}

fn splice(
    doc: &Document,
    el: Element<'_>,
    input: &[u8],
    signature: &str,
) -> Result<Vec<u8>, XmlDsigError> {
    let internal = || XmlDsigError::SigningFailed {
        detail: "element source position unavailable".into(),
    };
    let data = match doc.node(el.node_id().0).map(|n| &n.kind) {
        Some(Kind::Element(d)) => d,
        _ => return Err(internal()),
    };
    let mut out = Vec::with_capacity(input.len() + signature.len() + 16);
    if data.self_closing {
        // `<x .../>` becomes `<x ...>SIGNATURE</x>`.
        let tag_end = data.src_start_tag_end as usize;
        let before = input
            .get(..tag_end.saturating_sub(2))
            .ok_or_else(internal)?;
        out.extend_from_slice(before.trim_ascii_end());
        out.push(b'>');
        out.extend_from_slice(signature.as_bytes());
        out.extend_from_slice(b"</");
        out.extend_from_slice(el.qualified_name().as_bytes());
        out.push(b'>');
        out.extend_from_slice(input.get(tag_end..).ok_or_else(internal)?);
        return Ok(out);
    }
    let issuer = el
        .child_elements()
        .next()
        .filter(|c| c.has_name(SAML_ASSERTION_NS, "Issuer"));
    let at = match issuer {
        Some(i) => match doc.node(i.node_id().0).map(|n| &n.kind) {
            Some(Kind::Element(d)) => d.src_end,
            _ => return Err(internal()),
        },
        None => data.src_start_tag_end,
    } as usize;
    out.extend_from_slice(input.get(..at).ok_or_else(internal)?);
    out.extend_from_slice(signature.as_bytes());
    out.extend_from_slice(input.get(at..).ok_or_else(internal)?);
    Ok(out)
}
