//! Shared helpers for the xmldsig integration tests.

use std::path::PathBuf;

use rambridge::xmldsig::{Document, Element, NodeId};

pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const ASSERTION_ID: &str = "_rb2d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a";
pub const RESPONSE_ID: &str = "_rb7f3c2a9e41d54b0c8e6a1f2d3b4c5d6e";

/// The ONE place that knows where the shared SAML fixtures live: beside the
/// crate root in the main repo (`<root>/../shared/fixtures/saml`), two levels
/// up in a scratch crate, or at the absolute workplace path.
pub fn saml_fixtures_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        manifest.join("../shared/fixtures/saml"),
        manifest.join("../../shared/fixtures/saml"),
        PathBuf::from("/work/shared/fixtures/saml"),
    ];
    for c in &candidates {
        if c.join("idp-test-cert.der").is_file() {
            return c.clone();
        }
    }
    panic!("shared SAML fixtures not found; looked in {candidates:?}");
}

pub fn saml(name: &str) -> Vec<u8> {
    let p = saml_fixtures_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

pub fn saml_str(name: &str) -> String {
    String::from_utf8(saml(name)).unwrap()
}

/// This crate's own fixtures (tests/fixtures/xmldsig).
pub fn local_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xmldsig")
}

pub fn local(name: &str) -> Vec<u8> {
    let p = local_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

pub fn local_str(name: &str) -> String {
    String::from_utf8(local(name)).unwrap()
}

/// All elements in document order.
pub fn all_elements(doc: &Document) -> Vec<Element<'_>> {
    let mut out = Vec::new();
    let mut stack = vec![doc.root_element()];
    while let Some(e) = stack.pop() {
        out.push(e);
        let kids: Vec<_> = e.child_elements().collect();
        stack.extend(kids.into_iter().rev());
    }
    out
}

/// The unique element with `attr` = `value` (panics if absent).
pub fn by_attr<'a>(doc: &'a Document, attr: &str, value: &str) -> Element<'a> {
    all_elements(doc)
        .into_iter()
        .find(|e| e.attribute(attr) == Some(value))
        .unwrap_or_else(|| panic!("no element with {attr}={value:?}"))
}

pub fn by_id(doc: &Document, id: &str) -> NodeId {
    by_attr(doc, "ID", id).node_id()
}

/// The element's direct-child ds:Signature.
pub fn signature_of<'a>(e: Element<'a>) -> Element<'a> {
    e.child_elements()
        .find(|c| c.has_name(DS, "Signature"))
        .expect("no ds:Signature child")
}

pub fn signed_info_of<'a>(e: Element<'a>) -> Element<'a> {
    signature_of(e)
        .child_elements()
        .find(|c| c.has_name(DS, "SignedInfo"))
        .expect("no ds:SignedInfo")
}

pub fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ------------------------------------------------------------------ keys

use rambridge::xmldsig::{
    C14nAlgorithm, C14nParams, SignOptions, SigningKey, TrustedKeys, VerifiedXml, VerifyOptions,
    XmlDsigError, canonicalize, sign_element, verify_element,
};

pub fn idp_cert() -> Vec<u8> {
    saml("idp-test-cert.der")
}

pub fn idp_keys() -> TrustedKeys {
    TrustedKeys::from_der_certificates([idp_cert()]).unwrap()
}

pub fn attacker_cert() -> Vec<u8> {
    local("attacker-cert.der")
}

pub fn idp_signer() -> SigningKey {
    SigningKey::from_pkcs8_pem(&saml_str("idp-test-key.pem"), idp_cert()).unwrap()
}

pub fn attacker_signer() -> SigningKey {
    SigningKey::from_pkcs8_pem(&local_str("attacker-key.pem"), attacker_cert()).unwrap()
}

pub fn pem_to_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// A raw signing key for re-signing hand-edited SignedInfo elements.
pub enum RawSigner {
    Rsa(ring::signature::RsaKeyPair),
    Ecdsa(ring::signature::EcdsaKeyPair),
}

impl RawSigner {
    pub fn idp() -> Self {
        RawSigner::Rsa(
            ring::signature::RsaKeyPair::from_pkcs8(&pem_to_der(&saml_str("idp-test-key.pem")))
                .unwrap(),
        )
    }

    pub fn ec(stem: &str, alg: &'static ring::signature::EcdsaSigningAlgorithm) -> Self {
        let der = pem_to_der(&local_str(&format!("{stem}-key.pem")));
        let rng = ring::rand::SystemRandom::new();
        RawSigner::Ecdsa(ring::signature::EcdsaKeyPair::from_pkcs8(alg, &der, &rng).unwrap())
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = ring::rand::SystemRandom::new();
        match self {
            RawSigner::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&ring::signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .unwrap();
                sig
            }
            RawSigner::Ecdsa(k) => k.sign(&rng, msg).unwrap().as_ref().to_vec(),
        }
    }
}

/// Recomputes the SignatureValue of the `nth` ds:Signature (document order)
/// over its current SignedInfo, canonicalized with the document's own
/// CanonicalizationMethod and PrefixList (the digest is left as it is). Used
/// to give hand-edited SignedInfo elements a *valid* signature, so that a
/// test's only defect is the one it is about.
pub fn resign_nth(xml: &str, nth: usize, signer: &RawSigner) -> String {
    use base64::Engine;
    let doc = Document::parse(xml.as_bytes()).unwrap();
    let sig = all_elements(&doc)
        .into_iter()
        .filter(|e| e.local_name() == "Signature" && e.namespace_uri() == Some(DS))
        .nth(nth)
        .expect("no such signature");
    let si = sig.child_elements().next().unwrap();
    let cm = si.child_elements().next().unwrap();
    let alg = C14nAlgorithm::from_uri(cm.attribute("Algorithm").unwrap()).unwrap();
    let list = cm
        .child_elements()
        .next()
        .and_then(|inc| inc.attribute("PrefixList"))
        .unwrap_or("");
    let prefixes: Vec<&str> = list.split_ascii_whitespace().collect();
    let bytes = canonicalize(
        &doc,
        si.node_id(),
        &C14nParams {
            algorithm: alg,
            inclusive_prefixes: &prefixes,
            exclude: None,
        },
    )
    .unwrap();
    let new = base64::engine::general_purpose::STANDARD.encode(signer.sign(&bytes));
    let sv = sig
        .child_elements()
        .find(|e| e.local_name() == "SignatureValue")
        .unwrap();
    let old = sv.text().into_owned();
    assert!(xml.contains(&old));
    xml.replacen(&old, &new, 1)
}

pub fn resign(xml: &str) -> String {
    resign_nth(xml, 0, &RawSigner::idp())
}

/// Parses `xml` and verifies the element reached by `path` of child-element
/// indexes from the root (path-based so duplicate IDs cannot confuse the
/// test about which element is meant).
pub fn verify_at(
    xml: &str,
    path: &[usize],
    keys: &TrustedKeys,
    opts: &VerifyOptions,
) -> Result<(String, String), XmlDsigError> {
    let doc = Document::parse(xml.as_bytes())?;
    let mut el = doc.root_element();
    for &i in path {
        el = el.child_elements().nth(i).expect("path out of range");
    }
    let v: VerifiedXml<'_> = verify_element(&doc, el.node_id(), keys, opts)?;
    Ok((v.id().to_owned(), v.element().qualified_name().to_owned()))
}

/// Path of the Assertion in the fixture Responses (Issuer, Status, Assertion).
pub const ASSERTION_PATH: &[usize] = &[2];
/// Same for the both-signed fixture (Issuer, Signature, Status, Assertion).
pub const ASSERTION_PATH_BOTH: &[usize] = &[3];

pub fn verify_assertion(xml: &str) -> Result<(String, String), XmlDsigError> {
    verify_at(xml, ASSERTION_PATH, &idp_keys(), &VerifyOptions::SAML)
}

/// The main fixture with the Assertion's Signature removed.
pub fn unsigned_main() -> String {
    let xml = saml_str("response-assertion-signed.xml");
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    format!("{}{}", &xml[..start], &xml[end..])
}

/// Signs the Assertion of `xml` (which must be unsigned) the way the IdP does.
pub fn sign_assertion(xml: &str, key: &SigningKey) -> String {
    let opts = SignOptions {
        inclusive_prefixes: vec!["xs".into()],
        ..SignOptions::default()
    };
    String::from_utf8(sign_element(xml.as_bytes(), ASSERTION_ID, key, &opts).unwrap()).unwrap()
}

pub fn assert_err<T: std::fmt::Debug>(
    r: Result<T, XmlDsigError>,
    matches: impl Fn(&XmlDsigError) -> bool,
    what: &str,
) {
    match r {
        Err(e) if matches(&e) => {
            // Every error must render an actionable message.
            assert!(!e.to_string().is_empty());
        }
        other => panic!("{what}: unexpected result {other:?}"),
    }
}
