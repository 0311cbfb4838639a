//! The adversarial corpus: each case builds a hostile Response (from the test IdP builder or by
//! editing a validly signed one, re-signing with the test key where the attack needs a valid
//! signature) and asserts rejection with its specific error. Covers the XML signature wrapping
//! family (the eight XSW variants of "On Breaking SAML", 2012), unsigned and stripped
//! signatures, attacker keys, comment truncation, duplicate IDs, references pointing elsewhere,
//! transforms, DTDs, prefix re-binding, and every condition check.

use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rambridge::saml::test_idp::ResponseBuilder;
use rambridge::saml::{Expectations, SamlError, validate_response};
use rambridge::xmldsig::{SigningKey, TrustedKeys, XmlDsigError};

const ISSUER: &str = "https://idp.example.test/saml/idp";
const ACS: &str = "http://127.0.0.1:8080/saml-role/sso";
const AUDIENCE: &str = "urn:alibaba:cloudcomputing";

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/saml")
        .join(name)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn key() -> SigningKey {
    let pem = std::fs::read_to_string(shared("idp-test-key.pem")).unwrap();
    SigningKey::from_pkcs8_pem(&pem, std::fs::read(shared("idp-test-cert.der")).unwrap()).unwrap()
}

fn attacker_key() -> SigningKey {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xmldsig");
    let pem = std::fs::read_to_string(dir.join("attacker-key.pem")).unwrap();
    SigningKey::from_pkcs8_pem(&pem, std::fs::read(dir.join("attacker-cert.der")).unwrap()).unwrap()
}

fn trusted() -> TrustedKeys {
    TrustedKeys::from_der_certificates([std::fs::read(shared("idp-test-cert.der")).unwrap()])
        .unwrap()
}

fn exp() -> Expectations<'static> {
    Expectations {
        issuer: ISSUER,
        audience: AUDIENCE,
        recipient: ACS,
        now: now(),
        skew: Duration::minutes(2),
        allow_sha1: false,
        decryption_key: None,
    }
}

fn builder() -> ResponseBuilder {
    ResponseBuilder::new(ISSUER, ACS, AUDIENCE, now())
}

fn check(xml: &[u8]) -> Result<rambridge::saml::VerifiedAssertion, SamlError> {
    validate_response(xml, &trusted(), &exp())
}

fn s(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap()
}

/// A validly signed response and its parts, for editing.
struct Signed {
    b: ResponseBuilder,
    xml: String,
}

fn signed() -> Signed {
    let b = builder();
    let xml = s(b.sign_assertion(&key()).unwrap());
    assert!(check(xml.as_bytes()).is_ok(), "baseline must validate");
    Signed { b, xml }
}

/// The signed Assertion element's text inside `xml`.
fn assertion_of(xml: &str) -> &str {
    let start = xml.find("<saml:Assertion").unwrap();
    let end = xml.rfind("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    &xml[start..end]
}

/// An evil assertion: same shape, another identity, unsigned.
fn evil_assertion(id: &str) -> String {
    let mut b = builder();
    b.assertion_id = id.into();
    b.name_id_xml = "admin@example.test".into();
    b.assertion_xml()
}

macro_rules! rejects {
    ($xml:expr, $pat:pat) => {{
        let r = check($xml.as_ref());
        assert!(matches!(r, Err($pat)), "got {r:?}");
    }};
}

// ---- the baseline and simple forgeries ---------------------------------------------------------

#[test]
fn baseline_shapes_validate() {
    let b = builder();
    assert!(check(&b.sign_assertion(&key()).unwrap()).is_ok());
    assert!(check(&b.sign_response(&key()).unwrap()).is_ok());
    assert!(check(&b.sign_both(&key()).unwrap()).is_ok());
}

#[test]
fn a01_unsigned_response() {
    let b = builder();
    rejects!(b.response_xml_with(&b.assertion_xml()), SamlError::Unsigned);
}

#[test]
fn a02_signature_stripped() {
    let sig = signed();
    let start = sig.xml.find("<ds:Signature").unwrap();
    let end = sig.xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let stripped = format!("{}{}", &sig.xml[..start], &sig.xml[end..]);
    rejects!(stripped, SamlError::Unsigned);
}

#[test]
fn a03_changed_name_id_after_signing() {
    let sig = signed();
    rejects!(
        sig.xml.replace(
            "alice@example.test</saml:NameID>",
            "admin@example.test</saml:NameID>"
        ),
        SamlError::Signature(XmlDsigError::DigestMismatch { .. })
    );
}

#[test]
fn a04_changed_role_attribute_after_signing() {
    let b = builder().role(
        "acs:ram::1234567890123456:role/readonly",
        "acs:ram::1234567890123456:saml-provider/idp",
    );
    let xml = s(b.sign_assertion(&key()).unwrap()).replace("role/readonly", "role/admin");
    rejects!(
        xml,
        SamlError::Signature(XmlDsigError::DigestMismatch { .. })
    );
}

#[test]
fn a05_changed_signature_value() {
    let sig = signed();
    let i = sig.xml.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
    let mut bytes = sig.xml.into_bytes();
    bytes[i + 3] = if bytes[i + 3] == b'A' { b'B' } else { b'A' };
    rejects!(bytes, SamlError::Signature(_));
}

#[test]
fn a06_attacker_key_with_its_cert_in_key_info() {
    let b = builder();
    rejects!(
        b.sign_assertion(&attacker_key()).unwrap(),
        SamlError::Signature(XmlDsigError::UntrustedKeyInfoCertificate { .. })
    );
}

#[test]
fn a07_attacker_key_without_key_info() {
    let b = builder();
    let xml = s(b.sign_assertion(&attacker_key()).unwrap());
    let start = xml.find("<ds:KeyInfo>").unwrap();
    let end = xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
    rejects!(
        format!("{}{}", &xml[..start], &xml[end..]),
        SamlError::Signature(_)
    );
}

#[test]
fn a08_signed_response_with_swapped_unsigned_assertion() {
    // Response signed, then its assertion content edited: the Response digest breaks.
    let b = builder();
    let xml = s(b.sign_response(&key()).unwrap()).replace(
        "alice@example.test</saml:NameID>",
        "admin@example.test</saml:NameID>",
    );
    rejects!(
        xml,
        SamlError::Signature(XmlDsigError::DigestMismatch { .. })
    );
}

// ---- signature wrapping (XSW1-XSW8) ----------------------------------------------------------------

#[test]
fn xsw1_signed_response_copied_into_its_own_signature() {
    // Evil Response at the top; the original signed Response moved into the Signature.
    let b = builder();
    let orig = s(b.sign_response(&key()).unwrap());
    let sig_end = orig.find("</ds:Signature>").unwrap();
    let inner_resp = orig.replacen(&format!("ID=\"{}\"", b.response_id), "ID=\"_orig\"", 1);
    let evil = format!(
        "{}<ds:Object>{}</ds:Object>{}",
        &orig[..sig_end],
        inner_resp.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        &orig[sig_end..]
    )
    .replace(
        "alice@example.test</saml:NameID>",
        "admin@example.test</saml:NameID>",
    );
    rejects!(evil, SamlError::AssertionCount(_) | SamlError::Signature(_));
}

#[test]
fn xsw2_detached_style_original_before_evil_response_content() {
    let b = builder();
    let orig = s(b.sign_response(&key()).unwrap());
    // Evil response wraps the original signed one as its first child.
    let evil = format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_evil\" Version=\"2.0\" IssueInstant=\"2026-11-22T12:00:00Z\" Destination=\"{ACS}\"><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>{}{}</samlp:Response>",
        orig.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        evil_assertion("_evil_a"),
    );
    rejects!(evil, SamlError::AssertionCount(_));
}

#[test]
fn xsw3_evil_assertion_before_the_signed_one() {
    let sig = signed();
    let a = assertion_of(&sig.xml);
    let evil = sig
        .xml
        .replacen(a, &format!("{}{a}", evil_assertion("_evil")), 1);
    rejects!(evil, SamlError::AssertionCount(_));
}

#[test]
fn xsw4_evil_assertion_wrapping_the_signed_one() {
    let sig = signed();
    let a = assertion_of(&sig.xml);
    let ev = evil_assertion("_evil");
    let wrapped = ev.replacen("</saml:Assertion>", &format!("{a}</saml:Assertion>"), 1);
    rejects!(
        sig.xml.replacen(a, &wrapped, 1),
        SamlError::AssertionCount(_)
    );
}

#[test]
fn xsw5_signature_moved_onto_evil_assertion_original_elsewhere() {
    let sig = signed();
    let a = assertion_of(&sig.xml).to_string();
    let sig_start = a.find("<ds:Signature").unwrap();
    let sig_end = a.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = &a[sig_start..sig_end];
    // Evil assertion carries the copied signature (still referencing the original ID).
    let ev = evil_assertion(&sig.b.assertion_id.replace("_a", "_e")).replacen(
        "</saml:Issuer>",
        &format!("</saml:Issuer>{signature}"),
        1,
    );
    let original_without_sig = format!("{}{}", &a[..sig_start], &a[sig_end..]);
    let evil = sig.xml.replacen(
        &a,
        &format!("{ev}<samlp:Extensions>{original_without_sig}</samlp:Extensions>"),
        1,
    );
    rejects!(evil, SamlError::AssertionCount(_));
}

#[test]
fn xsw6_original_inside_evil_signature() {
    let sig = signed();
    let a = assertion_of(&sig.xml).to_string();
    let sig_start = a.find("<ds:Signature").unwrap();
    let sig_end = a.find("</ds:Signature>").unwrap();
    let signature_with_original = format!(
        "{}<ds:Object>{a}</ds:Object></ds:Signature>",
        &a[sig_start..sig_end]
    );
    let ev = evil_assertion(&sig.b.assertion_id).replacen(
        "</saml:Issuer>",
        &format!("</saml:Issuer>{signature_with_original}"),
        1,
    );
    rejects!(sig.xml.replacen(&a, &ev, 1), SamlError::AssertionCount(_));
}

#[test]
fn xsw7_original_in_extensions_evil_as_direct_child() {
    let sig = signed();
    let a = assertion_of(&sig.xml).to_string();
    let evil = sig.xml.replacen(
        &a,
        &format!(
            "<samlp:Extensions>{a}</samlp:Extensions>{}",
            evil_assertion("_evil")
        ),
        1,
    );
    rejects!(evil, SamlError::AssertionCount(_));
}

#[test]
fn xsw8_original_in_evil_signature_object_same_id() {
    let sig = signed();
    let a = assertion_of(&sig.xml).to_string();
    let sig_start = a.find("<ds:Signature").unwrap();
    let sig_end = a.find("</ds:Signature>").unwrap();
    let original_without_sig = format!(
        "{}{}",
        &a[..sig_start],
        &a[sig_end + "</ds:Signature>".len()..]
    );
    let moved_sig = format!(
        "{}<ds:Object>{original_without_sig}</ds:Object></ds:Signature>",
        &a[sig_start..sig_end]
    );
    let ev = evil_assertion(&sig.b.assertion_id).replacen(
        "</saml:Issuer>",
        &format!("</saml:Issuer>{moved_sig}"),
        1,
    );
    rejects!(sig.xml.replacen(&a, &ev, 1), SamlError::AssertionCount(_));
}

#[test]
fn a09_unsigned_assertion_beside_a_signed_one() {
    let sig = signed();
    let a = assertion_of(&sig.xml);
    rejects!(
        sig.xml
            .replacen(a, &format!("{a}{}", evil_assertion("_second")), 1),
        SamlError::AssertionCount(_)
    );
}

#[test]
fn a10_signed_response_with_unsigned_assertion_replaced() {
    // A signed Response whose Assertion was replaced by an unsigned one: digest mismatch.
    let b = builder();
    let xml = s(b.sign_response(&key()).unwrap());
    let a = assertion_of(&xml).to_string();
    let mut evil_b = builder();
    evil_b.assertion_id = b.assertion_id.clone();
    evil_b.name_id_xml = "admin@example.test".into();
    rejects!(
        xml.replacen(&a, &evil_b.assertion_xml(), 1),
        SamlError::Signature(XmlDsigError::DigestMismatch { .. })
    );
}

#[test]
fn a11_encrypted_assertion_without_sp_key() {
    let b = builder();
    let xml = b.response_xml_with("<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"/></saml:EncryptedAssertion>");
    rejects!(xml, SamlError::Encrypted);
}

// ---- comment truncation, duplicate IDs, references, transforms, DTDs -----------------------------

#[test]
fn a12_name_id_comment_truncation() {
    // The IdP signed "admin@example.test.evil.com" with a comment inside: a parser that reads
    // the first text node would see "admin@example.test".
    let mut b = builder();
    b.name_id_xml = "admin@example.test<!---->.evil.com".into();
    rejects!(b.sign_assertion(&key()).unwrap(), SamlError::Malformed(_));
}

#[test]
fn a13_comment_inside_attribute_value() {
    let b = builder();
    let xml = s(b.sign_assertion(&key()).unwrap());
    // Comments are outside exc-c14n's output, so the digest still matches: the strict reader
    // must refuse the value itself.
    let xml = xml.replacen(
        "alice@example.test</saml:AttributeValue>",
        "alice@example.test<!--x--></saml:AttributeValue>",
        1,
    );
    rejects!(xml, SamlError::Malformed(_));
}

#[test]
fn a14_comment_inside_digest_value() {
    let sig = signed();
    let xml = sig
        .xml
        .replacen("<ds:DigestValue>", "<ds:DigestValue><!--c-->", 1);
    rejects!(xml, SamlError::Signature(_));
}

#[test]
fn a15_comment_inside_signature_value() {
    let sig = signed();
    let xml = sig
        .xml
        .replacen("<ds:SignatureValue>", "<ds:SignatureValue><!--c-->", 1);
    rejects!(xml, SamlError::Signature(_));
}

#[test]
fn a16_duplicate_ids() {
    let sig = signed();
    let xml = sig.xml.replacen(
        &format!("ID=\"{}\"", sig.b.response_id),
        &format!("ID=\"{}\"", sig.b.assertion_id),
        1,
    );
    rejects!(xml, SamlError::Signature(XmlDsigError::DuplicateId { .. }));
}

#[test]
fn a17_reference_uri_empty() {
    let sig = signed();
    let xml = sig
        .xml
        .replacen(&format!("URI=\"#{}\"", sig.b.assertion_id), "URI=\"\"", 1);
    rejects!(xml, SamlError::Signature(_));
}

#[test]
fn a18_reference_uri_pointing_elsewhere() {
    let sig = signed();
    let xml = sig.xml.replacen(
        &format!("URI=\"#{}\"", sig.b.assertion_id),
        &format!("URI=\"#{}\"", sig.b.response_id),
        1,
    );
    rejects!(xml, SamlError::Signature(_));
}

#[test]
fn a19_xslt_transform() {
    let sig = signed();
    let xml = sig.xml.replacen(
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"><xsl:stylesheet xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\"/></ds:Transform>",
        1,
    );
    rejects!(
        xml,
        SamlError::Signature(XmlDsigError::UnsupportedTransform { .. })
    );
}

#[test]
fn a20_xpath_transform() {
    let sig = signed();
    let xml = sig.xml.replacen(
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>1</ds:XPath></ds:Transform>",
        1,
    );
    rejects!(
        xml,
        SamlError::Signature(XmlDsigError::UnsupportedTransform { .. })
    );
}

#[test]
fn a21_entity_expansion_doctype() {
    let sig = signed();
    let xml = format!(
        "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>{}",
        sig.xml
            .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
    );
    rejects!(xml, SamlError::Malformed(_));
}

#[test]
fn a22_external_entity_doctype() {
    let sig = signed();
    let xml = format!(
        "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        sig.xml
            .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
    )
    .replacen("alice@example.test</saml:NameID>", "&x;</saml:NameID>", 1);
    rejects!(xml, SamlError::Malformed(_));
}

#[test]
fn a23_ds_prefix_rebound() {
    // ds: bound to another namespace: the signature element is no longer a signature.
    let sig = signed();
    let xml = sig.xml.replacen(
        "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"",
        "xmlns:ds=\"http://evil.example/dsig#\"",
        1,
    );
    rejects!(xml, SamlError::Unsigned | SamlError::Signature(_));
}

#[test]
fn a24_saml_prefix_rebound_on_assertion() {
    let sig = signed();
    let xml = sig.xml.replacen(
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"",
        "<saml:Assertion xmlns:saml=\"urn:evil\"",
        1,
    );
    rejects!(xml, SamlError::AssertionCount(_));
}

#[test]
fn a25_sha1_signature_refused_by_default() {
    let sig = signed();
    let xml = sig.xml.replacen(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        1,
    );
    rejects!(xml, SamlError::Signature(_));
}

#[test]
fn a26_not_a_response() {
    let b = builder();
    let a = s(b.sign_assertion(&key()).unwrap());
    rejects!(assertion_of(&a), SamlError::NotAResponse(_));
    rejects!(b"<html><body>hi</body></html>", SamlError::NotAResponse(_));
    rejects!(b"not xml at all", SamlError::Malformed(_));
}

// ---- conditions and subject ------------------------------------------------------------------------

fn signed_with(f: impl FnOnce(&mut ResponseBuilder)) -> Vec<u8> {
    let mut b = builder();
    f(&mut b);
    b.sign_assertion(&key()).unwrap()
}

#[test]
fn a27_expired() {
    rejects!(
        signed_with(|b| {
            b.not_on_or_after = now() - Duration::minutes(3);
        }),
        SamlError::Expired(_)
    );
}

#[test]
fn a28_confirmation_expired() {
    rejects!(
        signed_with(|b| {
            b.confirmation_not_on_or_after = now() - Duration::minutes(3);
        }),
        SamlError::Expired(_)
    );
}

#[test]
fn a29_not_yet_valid() {
    rejects!(
        signed_with(|b| {
            b.not_before = now() + Duration::minutes(3);
        }),
        SamlError::NotYetValid(_)
    );
}

#[test]
fn a30_skew_is_honoured() {
    assert!(
        check(&signed_with(|b| {
            b.not_before = now() + Duration::seconds(100);
        }))
        .is_ok()
    );
    assert!(
        check(&signed_with(|b| {
            b.not_on_or_after = now() - Duration::seconds(100);
        }))
        .is_ok()
    );
}

#[test]
fn a31_wrong_audience() {
    let r = check(&signed_with(|b| {
        b.audience = "https://other-sp.example".into()
    }));
    match r {
        Err(SamlError::Audience { got, expected }) => {
            assert_eq!(
                (got.as_str(), expected.as_str()),
                ("https://other-sp.example", AUDIENCE)
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a32_wrong_recipient() {
    rejects!(
        signed_with(|b| b.recipient = "https://evil.example/acs".into()),
        SamlError::Recipient { .. }
    );
}

#[test]
fn a33_wrong_destination() {
    rejects!(
        signed_with(|b| b.destination = Some("https://evil.example/acs".into())),
        SamlError::Destination { .. }
    );
}

#[test]
fn a34_wrong_issuer() {
    rejects!(
        signed_with(|b| b.issuer = "https://evil-idp.example".into()),
        SamlError::Issuer { .. }
    );
}

#[test]
fn a35_status_not_success() {
    rejects!(
        signed_with(|b| b.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into()),
        SamlError::Status(_)
    );
}

#[test]
fn a36_not_bearer() {
    rejects!(
        signed_with(|b| b.method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key".into()),
        SamlError::Subject(_)
    );
}

#[test]
fn a37_two_name_ids() {
    let mut b = builder();
    b.name_id_xml = "a@example.test</saml:NameID><saml:NameID>b@example.test".into();
    rejects!(b.sign_assertion(&key()).unwrap(), SamlError::Subject(_));
}

#[test]
fn a38_element_inside_name_id() {
    let mut b = builder();
    b.name_id_xml = "alice<x:y xmlns:x=\"urn:x\"/>@example.test".into();
    rejects!(b.sign_assertion(&key()).unwrap(), SamlError::Malformed(_));
}

#[test]
fn a39_missing_audience_restriction() {
    let b = builder();
    let assertion = b.assertion_xml().replace(
        &format!("<saml:AudienceRestriction><saml:Audience>{AUDIENCE}</saml:Audience></saml:AudienceRestriction>"),
        "",
    );
    let xml = b.response_xml_with(&assertion);
    let signed = rambridge::xmldsig::sign_element(
        xml.as_bytes(),
        &b.assertion_id,
        &key(),
        &rambridge::xmldsig::SignOptions {
            id_attribute: "ID",
            inclusive_prefixes: vec!["xs".into()],
        },
    )
    .unwrap();
    rejects!(signed, SamlError::Conditions(_));
}

#[test]
fn a40_second_audience_restriction_not_naming_us() {
    let b = builder();
    let assertion = b.assertion_xml().replace(
        "</saml:AudienceRestriction>",
        "</saml:AudienceRestriction><saml:AudienceRestriction><saml:Audience>https://other.example</saml:Audience></saml:AudienceRestriction>",
    );
    let xml = b.response_xml_with(&assertion);
    let signed = rambridge::xmldsig::sign_element(
        xml.as_bytes(),
        &b.assertion_id,
        &key(),
        &rambridge::xmldsig::SignOptions {
            id_attribute: "ID",
            inclusive_prefixes: vec!["xs".into()],
        },
    )
    .unwrap();
    rejects!(signed, SamlError::Audience { .. });
}

#[test]
fn a41_response_signed_by_attacker_around_valid_assertion() {
    // The assertion is validly signed; the attacker signs the Response with its own key to make
    // the envelope look signed: both signatures must verify, so this fails.
    let b = builder();
    let inner = b.sign_assertion(&key()).unwrap();
    let xml = rambridge::xmldsig::sign_element(
        &inner,
        &b.response_id,
        &attacker_key(),
        &rambridge::xmldsig::SignOptions {
            id_attribute: "ID",
            inclusive_prefixes: vec![],
        },
    )
    .unwrap();
    rejects!(xml, SamlError::Signature(_));
}

#[test]
fn a42_oversized_and_deep_documents() {
    let big = format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">{}</samlp:Response>",
        "x".repeat(300 * 1024)
    );
    rejects!(big, SamlError::Malformed(_));
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    rejects!(deep, SamlError::Malformed(_));
}
