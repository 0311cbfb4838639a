//! Cross-check with an independent implementation: Debian's `xmlsec1 --verify` and rambridge
//! must both accept the shared signed fixtures and responses from the test IdP builder, and both
//! refuse a tampered copy. Runs with `--features xmlsec1-interop` (scripts/test enables it and
//! installs xmlsec1); FAILS when xmlsec1 is missing.
#![cfg(feature = "xmlsec1-interop")]

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, TimeZone, Utc};
use rambridge::saml::test_idp::ResponseBuilder;
use rambridge::saml::{Expectations, validate_response};
use rambridge::xmldsig::{SigningKey, TrustedKeys};

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/saml")
}

fn xmlsec1_accepts(file: &Path) -> bool {
    let out = Command::new("xmlsec1")
        .args(["--verify", "--pubkey-cert-pem"])
        .arg(shared().join("idp-test-cert.pem"))
        .args([
            "--enabled-key-data",
            "rsa",
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        ])
        .arg(file)
        .output()
        .expect("xmlsec1 is required for this test: apt-get install -y xmlsec1");
    out.status.success()
}

fn rambridge_accepts(xml: &[u8]) -> bool {
    let keys =
        TrustedKeys::from_der_certificates([
            std::fs::read(shared().join("idp-test-cert.der")).unwrap()
        ])
        .unwrap();
    let exp = Expectations {
        issuer: "https://idp.example.test/saml/idp",
        audience: "urn:alibaba:cloudcomputing",
        recipient: "http://127.0.0.1:8080/saml-role/sso",
        now: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        skew: Duration::minutes(2),
        allow_sha1: false,
        decryption_key: None,
    };
    validate_response(xml, &keys, &exp).is_ok()
}

#[test]
fn both_implementations_agree() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = {
        let pem = std::fs::read_to_string(shared().join("idp-test-key.pem")).unwrap();
        let key = SigningKey::from_pkcs8_pem(
            &pem,
            std::fs::read(shared().join("idp-test-cert.der")).unwrap(),
        )
        .unwrap();
        let b = ResponseBuilder::new(
            "https://idp.example.test/saml/idp",
            "http://127.0.0.1:8080/saml-role/sso",
            "urn:alibaba:cloudcomputing",
            Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        );
        b.sign_assertion(&key).unwrap()
    };
    let fresh_path = dir.path().join("fresh.xml");
    std::fs::write(&fresh_path, &fresh).unwrap();
    for path in [
        shared().join("response-assertion-signed.xml"),
        shared().join("response-large-assertion-signed.xml"),
        fresh_path,
    ] {
        let xml = std::fs::read(&path).unwrap();
        assert!(xmlsec1_accepts(&path), "xmlsec1 refused {}", path.display());
        assert!(
            rambridge_accepts(&xml),
            "rambridge refused {}",
            path.display()
        );
        // A one-character change: both refuse.
        let tampered = String::from_utf8(xml)
            .unwrap()
            .replacen("alice", "alicf", 1);
        let tpath = dir.path().join("tampered.xml");
        std::fs::write(&tpath, &tampered).unwrap();
        assert!(
            !xmlsec1_accepts(&tpath),
            "xmlsec1 accepted a tampered {}",
            path.display()
        );
        assert!(
            !rambridge_accepts(tampered.as_bytes()),
            "rambridge accepted a tampered {}",
            path.display()
        );
    }
}
