//! Entry points for the cargo-fuzz targets in `fuzz/` (see `fuzz/README.md`): XML-DSig and SAML,
//! and the OIDC token and JWKS parsers.
//!
//! Not an API: hidden from the docs and free to change. Each function takes
//! arbitrary bytes, must never panic, and returns a small summary so the
//! targets can check the one property worth asserting on fuzzed input: a
//! Response that [`validate_response`] accepts carries an assertion whose
//! signature verifies on its own with the same keys ([`saml_response`]).
//!
//! Time is fixed ([`now`]) so runs are reproducible; keys are passed in by the
//! target (it embeds the test IdP's certificate), so the library holds no
//! fixture paths.

use chrono::{DateTime, Duration, Utc};

use crate::saml::metadata::{IdpMetadata, parse_idp_metadata};
use crate::saml::response::{Expectations, decode, validate_response};
use crate::xmldsig::fuzzing::fuzz_parse_and_verify;
use crate::xmldsig::{Document, NodeId, TrustedKeys, VerifyOptions, verify_element};

/// 2026-11-22T12:00:00Z as Unix seconds: inside the test IdP certificate's
/// validity and the fixtures' assertion windows.
pub const NOW_UNIX: i64 = 1_795_348_800;

/// The fixed "now" of every target (2026-11-22T12:00:00Z).
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW_UNIX, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// What the `saml_response` target expects (the fixtures' IdP and SP).
pub fn expectations() -> Expectations<'static> {
    Expectations {
        issuer: "https://idp.example.test/saml/idp",
        audience: "urn:alibaba:cloudcomputing",
        recipient: "http://127.0.0.1:8080/saml-role/sso",
        now: now(),
        skew: Duration::minutes(2),
        allow_sha1: false,
        decryption_key: None,
    }
}

/// `xmldsig_verify`: parses `data`; if it is a document, runs
/// [`verify_element`] (SAML options) on the root and on every element that
/// carries an `ID` attribute, then [`fuzz_parse_and_verify`] (all four c14n
/// algorithms, SHA-1 refused and allowed). Returns how many verifications
/// succeeded (always 0 unless the input holds a genuine signature).
pub fn xmldsig_verify(data: &[u8], keys: &TrustedKeys) -> usize {
    let Ok(doc) = Document::parse(data) else {
        return 0;
    };
    let root = doc.root_element().node_id();
    let mut ok = usize::from(verify_element(&doc, root, keys, &VerifyOptions::SAML).is_ok());
    for i in 0..doc.node_count() {
        let Ok(i) = u32::try_from(i) else { break };
        let id = NodeId(i);
        if id == root {
            continue;
        }
        let Some(e) = doc.element(id) else { continue };
        if e.attribute("ID").is_some() {
            ok += usize::from(verify_element(&doc, id, keys, &VerifyOptions::SAML).is_ok());
        }
    }
    ok + fuzz_parse_and_verify(data, keys)
}

/// What [`saml_metadata`] saw: whether each of the two parses succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataOutcome {
    /// `parse_idp_metadata(data, None, now())` returned Ok.
    pub any_entity: bool,
    /// `parse_idp_metadata(data, Some("x"), now())` returned Ok.
    pub entity_x: bool,
}

/// `saml_metadata`: [`parse_idp_metadata`] with no entity ID and with `"x"`;
/// on success, also what the admin UI and provider setup do with the result
/// (certificate facts, SSO URLs, building [`TrustedKeys`]). Errors are
/// rendered with `Display` to exercise the messages.
pub fn saml_metadata(data: &[u8]) -> MetadataOutcome {
    let use_result = |r: Result<IdpMetadata, crate::saml::metadata::MetadataError>| -> bool {
        match r {
            Ok(md) => {
                let _ = md.signing_certificate_info();
                let _ = md.redirect_sso_url();
                let _ = md.post_sso_url();
                if !md.signing_certificates.is_empty() {
                    let _ = TrustedKeys::from_der_certificates(md.signing_certificates.clone());
                }
                true
            }
            Err(e) => {
                let _ = e.to_string();
                false
            }
        }
    };
    MetadataOutcome {
        any_entity: use_result(parse_idp_metadata(data, None, now())),
        entity_x: use_result(parse_idp_metadata(data, Some("x"), now())),
    }
}

/// `saml_response`: [`validate_response`] on `data` (as XML) and, when `data`
/// is UTF-8, [`decode`] on it as the base64 `SAMLResponse` field and
/// [`validate_response`] on what it decodes to (the HTTP-POST path).
///
/// Returns how many validations succeeded, or `Err` with a description when a
/// validation succeeded although the assertion it names does not verify on
/// its own with `keys` (the only property asserted on fuzzed input).
pub fn saml_response(data: &[u8], keys: &TrustedKeys) -> Result<usize, String> {
    let mut ok = check_response(data, keys)?;
    if let Ok(s) = std::str::from_utf8(data) {
        match decode(s) {
            Ok(xml) => ok += check_response(&xml, keys)?,
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    Ok(ok)
}

fn check_response(xml: &[u8], keys: &TrustedKeys) -> Result<usize, String> {
    let exp = expectations();
    let a = match validate_response(xml, keys, &exp) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.to_string();
            return Ok(0);
        }
    };
    let _ = a.subject_type();
    // Accepted: the assertion it reports must be one element of this document
    // whose signature verifies by itself with a key from `keys`.
    let doc = Document::parse(xml)
        .map_err(|e| format!("validate_response accepted a document that does not parse: {e}"))?;
    let mut found = 0usize;
    let mut verified = false;
    for i in 0..doc.node_count() {
        let Ok(i) = u32::try_from(i) else { break };
        let Some(e) = doc.element(NodeId(i)) else {
            continue;
        };
        if e.attribute("ID") == Some(a.assertion_id.as_str()) {
            found += 1;
            if let Ok(v) = verify_element(&doc, e.node_id(), keys, &VerifyOptions::SAML) {
                verified = v.certificate_sha256() == a.certificate_sha256;
            }
        }
    }
    if found == 1 && verified {
        Ok(1)
    } else {
        Err(format!(
            "validate_response accepted assertion {:?} but {found} element(s) carry that ID \
             and its signature verified with the reported certificate: {verified}",
            a.assertion_id
        ))
    }
}

/// The issuer the `oidc_token` target expects.
pub const OIDC_ISSUER: &str = "https://issuer.example.test";
/// The client the `oidc_token` target expects in `aud`.
pub const OIDC_CLIENT: &str = "sts.aliyuncs.com";

/// `oidc_token`: when `data` is UTF-8, [`crate::oidc::token::parse`] and, if the header is
/// acceptable, [`crate::oidc::token::verify`] with `keys` (issuer [`OIDC_ISSUER`], client
/// [`OIDC_CLIENT`], 12 h IssuanceLimitTime, at [`now`]); also
/// [`UnverifiedToken::unverified_issuer`](crate::oidc::token::UnverifiedToken::unverified_issuer).
///
/// Returns whether the token was accepted, or `Err` when an accepted token breaks what
/// acceptance promises (its `iss` and an `aud` value are the expected ones, a key of `keys`
/// has the reported kid) — the property asserted on fuzzed input.
pub fn oidc_token(data: &[u8], keys: &crate::oidc::jwks::JwkSet) -> Result<bool, String> {
    use crate::oidc::token;
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(false);
    };
    let parsed = match token::parse(text) {
        Ok(t) => t,
        Err(e) => {
            let _ = (e.to_string(), e.code());
            return Ok(false);
        }
    };
    let _ = parsed.unverified_issuer();
    let client_ids = [OIDC_CLIENT.to_string()];
    let exp = token::Expectations {
        issuer: OIDC_ISSUER,
        client_ids: &client_ids,
        now: now(),
        skew: Duration::minutes(2),
        max_age: Some(Duration::hours(12)),
        nonce: None,
    };
    match token::verify(&parsed, keys, &exp) {
        Err(e) => {
            let _ = (e.to_string(), e.code());
            Ok(false)
        }
        Ok(v) => {
            let kid_known = keys.keys.iter().any(|k| k.kid == v.key_id);
            if v.issuer == OIDC_ISSUER && v.client_ids == [OIDC_CLIENT] && kid_known {
                Ok(true)
            } else {
                Err(format!("accepted a token breaking the expectations: {v:?}"))
            }
        }
    }
}

/// `oidc_jwks`: [`crate::oidc::jwks::JwkSet::parse`] on `data`; on success the kids text.
/// Returns how many usable keys the set holds.
pub fn oidc_jwks(data: &[u8]) -> usize {
    use crate::oidc::jwks::{JwkSet, KeyMaterial};
    match JwkSet::parse(data) {
        Ok(set) => {
            let _ = set.kids_text();
            set.keys
                .iter()
                .filter(|k| !matches!(k.material, KeyMaterial::Unusable(_)))
                .count()
        }
        Err(e) => {
            let _ = e.to_string();
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oidc_entry_points() {
        use crate::oidc::test_issuer::{self, TestKey};
        use crate::oidc::token::Algorithm;
        let key = TestKey::generate(Algorithm::Es256, "k").unwrap();
        let jwks = test_issuer::jwks(&[&key]).unwrap().to_string();
        assert_eq!(oidc_jwks(jwks.as_bytes()), 1);
        assert_eq!(oidc_jwks(b"{"), 0);
        let keys = crate::oidc::jwks::JwkSet::parse(jwks.as_bytes()).unwrap();
        let claims = test_issuer::claims(OIDC_ISSUER, OIDC_CLIENT, "s", NOW_UNIX);
        let token = key.sign(&claims).unwrap();
        assert_eq!(oidc_token(token.as_bytes(), &keys), Ok(true));
        assert_eq!(oidc_token(b"x.y.z", &keys), Ok(false));
        assert_eq!(oidc_token(&[0xff, 0xfe], &keys), Ok(false));
    }

    #[test]
    fn now_is_the_fixture_time() {
        assert_eq!(now().to_rfc3339(), "2026-11-22T12:00:00+00:00");
    }

    #[test]
    fn garbage_is_refused_quietly() {
        assert_eq!(
            saml_metadata(b"<x/>"),
            MetadataOutcome {
                any_entity: false,
                entity_x: false
            }
        );
    }
}
