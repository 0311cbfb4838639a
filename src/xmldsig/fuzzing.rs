//! Entry point for a cargo-fuzz target.
//!
//! ```text
//! // fuzz/fuzz_targets/xmldsig.rs
//! #![no_main]
//! use std::sync::OnceLock;
//! use rambridge::xmldsig::{TrustedKeys, fuzzing::fuzz_parse_and_verify};
//! static KEYS: OnceLock<TrustedKeys> = OnceLock::new();
//! libfuzzer_sys::fuzz_target!(|data: &[u8]| {
//!     let keys = KEYS.get_or_init(|| {
//!         let der = std::fs::read("../shared/fixtures/saml/idp-test-cert.der").unwrap();
//!         TrustedKeys::from_der_certificates([der]).unwrap()
//!     });
//!     fuzz_parse_and_verify(data, keys);
//! });
//! ```
//! Seed the corpus with the fixture responses so mutations reach the verifier.

use super::c14n::{C14nAlgorithm, C14nParams, canonicalize_into};
use super::dom::{Document, NodeId};
use super::verify::{TrustedKeys, VerifyOptions, verify_element};

/// Parses `data`; if it is a document, canonicalizes the root with every
/// algorithm and tries to verify (SHA-1 refused and allowed) each of the
/// first 64 elements that carry an `ID` attribute. Returns how many
/// verifications succeeded. Must never panic, whatever the input.
pub fn fuzz_parse_and_verify(data: &[u8], keys: &TrustedKeys) -> usize {
    let Ok(doc) = Document::parse(data) else {
        return 0;
    };
    let mut buf = Vec::new();
    let root = doc.root_element().node_id();
    for alg in [
        C14nAlgorithm::Inclusive,
        C14nAlgorithm::InclusiveWithComments,
        C14nAlgorithm::Exclusive,
        C14nAlgorithm::ExclusiveWithComments,
    ] {
        buf.clear();
        let params = C14nParams {
            algorithm: alg,
            inclusive_prefixes: &["#default", "xs"],
            exclude: None,
        };
        let _ = canonicalize_into(&doc, root, &params, &mut buf);
    }
    let legacy = VerifyOptions {
        allow_sha1: true,
        ..VerifyOptions::SAML
    };
    (0..doc.node_count() as u32)
        .filter_map(|i| doc.element(NodeId(i)))
        .filter(|e| e.attribute("ID").is_some())
        .take(64)
        .map(|e| {
            usize::from(verify_element(&doc, e.node_id(), keys, &VerifyOptions::SAML).is_ok())
                + usize::from(verify_element(&doc, e.node_id(), keys, &legacy).is_ok())
        })
        .sum()
}
