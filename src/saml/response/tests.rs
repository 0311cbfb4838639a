//! The shared signed fixtures validate with the test IdP's certificate; time and expectation
//! changes make them fail with the specific error.

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::saml::{ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE};

fn fixture(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/saml");
    std::fs::read(dir.join(name)).unwrap()
}

fn keys() -> TrustedKeys {
    TrustedKeys::from_der_certificates([fixture("idp-test-cert.der")]).unwrap()
}

fn exp() -> Expectations<'static> {
    Expectations {
        issuer: "https://idp.example.test/saml/idp",
        audience: "urn:alibaba:cloudcomputing",
        recipient: "http://127.0.0.1:8080/saml-role/sso",
        now: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        skew: Duration::minutes(2),
        allow_sha1: false,
        decryption_key: None,
    }
}

#[test]
fn the_three_fixtures_validate() {
    for name in [
        "response-assertion-signed.xml",
        "response-both-signed.xml",
        "response-large-assertion-signed.xml",
    ] {
        let a = validate_response(&fixture(name), &keys(), &exp()).unwrap();
        assert_eq!(
            a.assertion_id, "_rb2d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a",
            "{name}"
        );
        assert_eq!(a.issuer, "https://idp.example.test/saml/idp");
        assert_eq!(a.subject_type(), "persistent");
        assert_eq!(a.attribute(ROLE_ATTRIBUTE).len(), 3);
        assert_eq!(
            a.attribute(ROLE_SESSION_NAME_ATTRIBUTE),
            ["alice.chen@example.test"]
        );
        assert_eq!(
            a.not_on_or_after,
            Utc.with_ymd_and_hms(2036, 1, 1, 0, 0, 0).unwrap()
        );
    }
}

#[test]
fn base64_form_decodes_to_the_same_document() {
    let b64 = String::from_utf8(fixture("response-assertion-signed.b64")).unwrap();
    assert_eq!(
        decode(&b64).unwrap(),
        fixture("response-assertion-signed.xml")
    );
    assert!(matches!(decode("%%%"), Err(SamlError::Malformed(_))));
    // Wrapped base64 (line breaks, spaces, tabs) decodes the same; other bytes do not.
    let wrapped: String = b64
        .trim()
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n \t");
    assert_eq!(
        decode(&wrapped).unwrap(),
        fixture("response-assertion-signed.xml")
    );
    assert!(decode(&format!("{}é", b64.trim())).is_err());
}

#[test]
fn expectations_are_enforced() {
    let xml = fixture("response-assertion-signed.xml");
    let mut e = exp();
    e.audience = "https://rambridge.example/saml-role";
    assert!(matches!(
        validate_response(&xml, &keys(), &e),
        Err(SamlError::Audience { .. })
    ));
    let mut e = exp();
    e.recipient = "https://rambridge.example/saml-role/sso";
    assert!(matches!(
        validate_response(&xml, &keys(), &e),
        Err(SamlError::Destination { .. })
    ));
    let mut e = exp();
    e.issuer = "https://other-idp.example";
    assert!(matches!(
        validate_response(&xml, &keys(), &e),
        Err(SamlError::Issuer { .. })
    ));
    let mut e = exp();
    e.now = Utc.with_ymd_and_hms(2036, 1, 1, 0, 2, 0).unwrap();
    assert!(matches!(
        validate_response(&xml, &keys(), &e),
        Err(SamlError::Expired(_))
    ));
    let mut e = exp();
    e.now = Utc.with_ymd_and_hms(2026, 10, 31, 23, 57, 0).unwrap();
    assert!(matches!(
        validate_response(&xml, &keys(), &e),
        Err(SamlError::NotYetValid(_))
    ));
    // Within the skew both ends are accepted.
    let mut e = exp();
    e.now = Utc.with_ymd_and_hms(2026, 10, 31, 23, 59, 0).unwrap();
    assert!(validate_response(&xml, &keys(), &e).is_ok());
}

#[test]
fn every_error_has_a_stable_code_in_the_alibaba_family() {
    let errors = [
        SamlError::Malformed(String::new()),
        SamlError::Unsigned,
        SamlError::Expired(String::new()),
        SamlError::Replayed(String::new()),
        SamlError::Attribute {
            name: "Role",
            message: String::new(),
        },
    ];
    for e in errors {
        assert!(
            e.code().starts_with("AuthenticationFail.SAMLAssertion."),
            "{e:?}"
        );
    }
}
