//! EncryptedAssertion: decrypted with the SP key (RSA-OAEP; AES-GCM and AES-CBC), the
//! decrypted Assertion must itself be signed, and every failure is refused with its code.

use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rambridge::saml::encryption::{SpKey, pem_block};
use rambridge::saml::test_idp::{ContentEncryption, KeyTransport, ResponseBuilder};
use rambridge::saml::{Expectations, SamlError, validate_response};
use rambridge::xmldsig::{SigningKey, TrustedKeys};

const ISSUER: &str = "https://idp.example.test/saml/idp";
const ACS: &str = "http://127.0.0.1:8080/saml-role/sso";
const AUDIENCE: &str = "urn:alibaba:cloudcomputing";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared(name: &str) -> Vec<u8> {
    std::fs::read(root().join("../shared/fixtures/saml").join(name)).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn idp_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(
        std::str::from_utf8(&shared("idp-test-key.pem")).unwrap(),
        shared("idp-test-cert.der"),
    )
    .unwrap()
}

fn sp() -> (SpKey, Vec<u8>) {
    let key = std::fs::read_to_string(root().join("certs/sp-test-key.pem")).unwrap();
    let cert = std::fs::read_to_string(root().join("certs/sp-test-cert.pem")).unwrap();
    (
        SpKey::from_pem(&key, &cert).unwrap(),
        pem_block(&cert, "CERTIFICATE").unwrap(),
    )
}

fn trusted() -> TrustedKeys {
    TrustedKeys::from_der_certificates([shared("idp-test-cert.der")]).unwrap()
}

fn check(xml: &[u8], key: Option<&SpKey>) -> Result<rambridge::saml::VerifiedAssertion, SamlError> {
    let exp = Expectations {
        issuer: ISSUER,
        audience: AUDIENCE,
        recipient: ACS,
        now: now(),
        skew: Duration::minutes(2),
        allow_sha1: false,
        decryption_key: key,
    };
    validate_response(xml, &trusted(), &exp)
}

fn builder() -> ResponseBuilder {
    ResponseBuilder::new(ISSUER, ACS, AUDIENCE, now())
}

#[test]
fn every_supported_combination_decrypts() {
    let (key, cert) = sp();
    for content in [
        ContentEncryption::Aes256Gcm,
        ContentEncryption::Aes128Cbc,
        ContentEncryption::Aes256Cbc,
    ] {
        for transport in [KeyTransport::OaepMgf1p, KeyTransport::OaepSha256] {
            let b = builder();
            let xml = b
                .sign_and_encrypt(&idp_key(), &cert, content, transport, true)
                .unwrap();
            let a = check(&xml, Some(&key))
                .unwrap_or_else(|e| panic!("{content:?}/{transport:?}: {e}"));
            assert_eq!(a.assertion_id, b.assertion_id);
            assert_eq!(a.name_id, "alice@example.test");
        }
    }
}

#[test]
fn encrypted_without_a_configured_key_is_refused() {
    let (_, cert) = sp();
    let xml = builder()
        .sign_and_encrypt(
            &idp_key(),
            &cert,
            ContentEncryption::Aes256Gcm,
            KeyTransport::OaepMgf1p,
            true,
        )
        .unwrap();
    assert!(matches!(check(&xml, None), Err(SamlError::Encrypted)));
}

#[test]
fn another_sp_key_cannot_decrypt() {
    let (_, cert) = sp();
    let xml = builder()
        .sign_and_encrypt(
            &idp_key(),
            &cert,
            ContentEncryption::Aes256Cbc,
            KeyTransport::OaepMgf1p,
            true,
        )
        .unwrap();
    // The attacker test key doubles as "another SP".
    let dir = root().join("tests/fixtures/xmldsig");
    let other_key = std::fs::read_to_string(dir.join("attacker-key.pem")).unwrap();
    let other_cert = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            std::fs::read(dir.join("attacker-cert.der")).unwrap()
        )
    );
    let other = SpKey::from_pem(&other_key, &other_cert).unwrap();
    assert!(matches!(
        check(&xml, Some(&other)),
        Err(SamlError::Decryption)
    ));
}

#[test]
fn tampered_ciphertext_is_one_generic_error() {
    let (key, cert) = sp();
    for content in [ContentEncryption::Aes256Gcm, ContentEncryption::Aes256Cbc] {
        let xml = String::from_utf8(
            builder()
                .sign_and_encrypt(&idp_key(), &cert, content, KeyTransport::OaepMgf1p, true)
                .unwrap(),
        )
        .unwrap();
        // Flip a character in the content CipherValue (the last one in the document).
        let i = xml.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len() + 30;
        let mut bytes = xml.into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let r = check(&bytes, Some(&key));
        // GCM fails authentication; CBC yields garbage that is not a signed Assertion. Both are
        // refused without telling which step failed (no padding or format oracle).
        assert!(
            matches!(r, Err(SamlError::Decryption) | Err(SamlError::Signature(_))),
            "{content:?}: {r:?}"
        );
    }
}

#[test]
fn the_decrypted_assertion_must_be_signed() {
    let (key, cert) = sp();
    let xml = builder()
        .sign_and_encrypt(
            &idp_key(),
            &cert,
            ContentEncryption::Aes256Gcm,
            KeyTransport::OaepMgf1p,
            false,
        )
        .unwrap();
    assert!(matches!(check(&xml, Some(&key)), Err(SamlError::Unsigned)));
}

#[test]
fn rsa_pkcs1_v15_key_transport_is_refused() {
    let (key, cert) = sp();
    let xml = builder()
        .sign_and_encrypt(
            &idp_key(),
            &cert,
            ContentEncryption::Aes256Gcm,
            KeyTransport::Rsa15,
            true,
        )
        .unwrap();
    assert!(matches!(
        check(&xml, Some(&key)),
        Err(SamlError::UnsupportedEncryption(_))
    ));
}

#[test]
fn encrypted_beside_plain_or_twice_is_refused() {
    let (key, cert) = sp();
    let b = builder();
    let xml = String::from_utf8(
        b.sign_and_encrypt(
            &idp_key(),
            &cert,
            ContentEncryption::Aes256Gcm,
            KeyTransport::OaepMgf1p,
            true,
        )
        .unwrap(),
    )
    .unwrap();
    let start = xml.find("<saml:EncryptedAssertion>").unwrap();
    let end = xml.find("</saml:EncryptedAssertion>").unwrap() + "</saml:EncryptedAssertion>".len();
    let enc = &xml[start..end];
    let twice = xml.replacen(enc, &format!("{enc}{enc}"), 1);
    assert!(matches!(
        check(twice.as_bytes(), Some(&key)),
        Err(SamlError::AssertionCount(_))
    ));
    let with_plain = xml.replacen(enc, &format!("{enc}{}", builder().assertion_xml()), 1);
    assert!(matches!(
        check(with_plain.as_bytes(), Some(&key)),
        Err(SamlError::AssertionCount(_))
    ));
}
