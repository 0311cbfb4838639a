//! Adversarial documents, each refused with its specific error.
//!
//! Attack documents are derived from the shared fixtures by string edits.
//! Where an attack needs a valid signature, it gets one (re-signed with the
//! test IdP key via `sign_element` or `resign`), so that the defect under test
//! is the only reason for the refusal.

use std::time::{Duration, Instant};

use rambridge::xmldsig::{Document, TrustedKeys, VerifyOptions, XmlDsigError, verify_element};

use super::common::*;

fn main_fixture() -> String {
    saml_str("response-assertion-signed.xml")
}

fn without_key_info(xml: &str) -> String {
    let start = xml.find("<ds:KeyInfo>").unwrap();
    let end = xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
    format!("{}{}", &xml[..start], &xml[end..])
}

/// The `<saml:Assertion ...>...</saml:Assertion>` substring.
fn assertion_of(xml: &str) -> &str {
    let start = xml.find("<saml:Assertion ").unwrap();
    let end = xml.rfind("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    &xml[start..end]
}

#[test]
fn baseline_fixture_verifies() {
    assert_eq!(verify_assertion(&main_fixture()).unwrap().0, ASSERTION_ID);
}

#[test]
fn changed_attribute_value_is_digest_mismatch() {
    let xml = main_fixture().replacen("role/rambridge-readonly", "role/rambridge-admin", 1);
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::DigestMismatch { reference, .. } if reference == &format!("#{ASSERTION_ID}")),
        "changed attribute value",
    );
    // An XML attribute (not SAML attribute) value too.
    let xml = main_fixture().replacen(
        "NotOnOrAfter=\"2036-01-01T00:00:00Z\"",
        "NotOnOrAfter=\"2099-01-01T00:00:00Z\"",
        1,
    );
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::DigestMismatch { .. }),
        "changed XML attribute",
    );
}

#[test]
fn changed_signature_value_is_signature_invalid() {
    let xml = main_fixture().replacen("<ds:SignatureValue>WhUx", "<ds:SignatureValue>XhUx", 1);
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::SignatureInvalid { keys_tried: 1, .. }),
        "changed SignatureValue",
    );
}

#[test]
fn different_trusted_key_refuses_idp_signature() {
    let attacker_only = TrustedKeys::from_der_certificates([attacker_cert()]).unwrap();
    // KeyInfo names the IdP certificate, which is not trusted here.
    assert_err(
        verify_at(
            &main_fixture(),
            ASSERTION_PATH,
            &attacker_only,
            &VerifyOptions::SAML,
        ),
        |e| matches!(e, XmlDsigError::UntrustedKeyInfoCertificate { .. }),
        "other trusted key, with KeyInfo",
    );
    // Without KeyInfo the (wrong) trusted key is tried and fails.
    assert_err(
        verify_at(
            &without_key_info(&main_fixture()),
            ASSERTION_PATH,
            &attacker_only,
            &VerifyOptions::SAML,
        ),
        |e| matches!(e, XmlDsigError::SignatureInvalid { keys_tried: 1, .. }),
        "other trusted key, no KeyInfo",
    );
}

#[test]
fn attacker_key_with_own_certificate_in_keyinfo() {
    let forged = unsigned_main().replacen("role/rambridge-readonly", "role/rambridge-admin", 1);
    let signed = sign_assertion(&forged, &attacker_signer());
    // Self-consistent: it verifies against the attacker's own certificate...
    let attacker_only = TrustedKeys::from_der_certificates([attacker_cert()]).unwrap();
    assert!(
        verify_at(
            &signed,
            ASSERTION_PATH,
            &attacker_only,
            &VerifyOptions::SAML
        )
        .is_ok()
    );
    // ...but KeyInfo never adds trust.
    let fp = {
        let d = ring::digest::digest(&ring::digest::SHA256, &attacker_cert());
        d.as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_err(
        verify_assertion(&signed),
        |e| matches!(e, XmlDsigError::UntrustedKeyInfoCertificate { sha256_fingerprint } if *sha256_fingerprint == fp),
        "attacker cert in KeyInfo",
    );
    // Claiming the IdP's certificate in KeyInfo selects the IdP key, which
    // does not verify the attacker's signature.
    let idp_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(idp_cert())
    };
    let att_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(attacker_cert())
    };
    let claimed = signed.replace(&att_b64, &idp_b64);
    assert_err(
        verify_assertion(&claimed),
        |e| matches!(e, XmlDsigError::SignatureInvalid { .. }),
        "attacker signature, IdP cert claimed",
    );
}

#[test]
fn stripped_signature_is_missing_signature() {
    assert_err(
        verify_assertion(&unsigned_main()),
        |e| matches!(e, XmlDsigError::MissingSignature { element } if element == "saml:Assertion"),
        "stripped",
    );
}

#[test]
fn signature_not_a_direct_child_is_missing_signature() {
    // Move the (valid) Signature one level down, into Subject.
    let xml = main_fixture();
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &xml[start..end];
    let moved = format!("{}{}", &xml[..start], &xml[end..]).replacen(
        "<saml:Subject>",
        &format!("<saml:Subject>{sig}"),
        1,
    );
    assert_err(
        verify_assertion(&moved),
        |e| matches!(e, XmlDsigError::MissingSignature { .. }),
        "nested signature",
    );
}

/// XSW: original signed Assertion moved into samlp:Extensions, forged
/// Assertion (same ID, copy of the original Signature) in its place.
#[test]
fn xsw_original_in_extensions_forged_in_place() {
    let xml = main_fixture();
    let original = assertion_of(&xml).to_owned();
    let forged = original.replacen("role/rambridge-readonly", "role/rambridge-admin", 1);
    let attack = xml.replacen(&original, &forged, 1).replacen(
        "</saml:Issuer>",
        &format!("</saml:Issuer><samlp:Extensions>{original}</samlp:Extensions>"),
        1,
    );
    // Response children: Issuer, Extensions, Status, Assertion(forged).
    assert_err(
        verify_at(&attack, &[3], &idp_keys(), &VerifyOptions::SAML),
        |e| matches!(e, XmlDsigError::DuplicateId { id, count: 2 } if id == ASSERTION_ID),
        "XSW same ID",
    );

    // Forged copy renamed to a fresh ID: its Reference still names the original.
    let forged_new_id = forged.replacen(&format!("ID=\"{ASSERTION_ID}\""), "ID=\"_forged\"", 1);
    let attack = xml.replacen(&original, &forged_new_id, 1).replacen(
        "</saml:Issuer>",
        &format!("</saml:Issuer><samlp:Extensions>{original}</samlp:Extensions>"),
        1,
    );
    assert_err(
        verify_at(&attack, &[3], &idp_keys(), &VerifyOptions::SAML),
        |e| matches!(e, XmlDsigError::ReferenceUriMismatch { expected, got } if expected == "#_forged" && got.as_deref() == Some(&*format!("#{ASSERTION_ID}"))),
        "XSW new ID",
    );
    // The original still verifies where it now sits, and the proof shows the
    // ORIGINAL content, never the forged one.
    let doc = Document::parse(attack.as_bytes()).unwrap();
    let ext = doc.root_element().child_elements().nth(1).unwrap();
    let orig = ext.child_elements().next().unwrap();
    let v = verify_element(&doc, orig.node_id(), &idp_keys(), &VerifyOptions::SAML).unwrap();
    let role2 = v
        .element()
        .child_elements()
        .find(|e| e.local_name() == "AttributeStatement")
        .unwrap()
        .child_elements()
        .next()
        .unwrap()
        .child_elements()
        .nth(1)
        .unwrap()
        .text()
        .into_owned();
    assert!(role2.contains("rambridge-readonly"), "{role2}");
}

/// XSW: original Assertion wrapped in ds:Object inside the forged Assertion's
/// Signature.
#[test]
fn xsw_original_in_signature_object() {
    let xml = main_fixture();
    let original = assertion_of(&xml).to_owned();
    let forged = original
        .replacen("role/rambridge-readonly", "role/rambridge-admin", 1)
        .replacen(
            "</ds:KeyInfo>",
            &format!("</ds:KeyInfo><ds:Object>{original}</ds:Object>"),
            1,
        );
    let attack = xml.replacen(&original, &forged, 1);
    assert_err(
        verify_assertion(&attack),
        |e| matches!(e, XmlDsigError::DuplicateId { .. }),
        "XSW object same ID",
    );
    let forged = forged.replacen(&format!("ID=\"{ASSERTION_ID}\""), "ID=\"_forged\"", 1);
    let attack = xml.replacen(&original, &forged, 1);
    assert_err(
        verify_assertion(&attack),
        |e| matches!(e, XmlDsigError::UnexpectedSignatureContent { parent: "Signature", got, .. } if got.contains("ds:Object")),
        "XSW object new ID",
    );
}

/// XSW: forged unsigned Assertion that wraps the original signed one.
#[test]
fn xsw_forged_wrapper_around_original() {
    let xml = main_fixture();
    let original = assertion_of(&xml).to_owned();
    let wrapper = format!(
        "<saml:Assertion ID=\"_wrapper\" Version=\"2.0\" IssueInstant=\"2026-11-01T00:00:00Z\"><saml:Issuer>https://idp.example.test/saml/idp</saml:Issuer>{original}</saml:Assertion>"
    );
    let attack = xml.replacen(&original, &wrapper, 1);
    assert_err(
        verify_assertion(&attack),
        |e| matches!(e, XmlDsigError::MissingSignature { .. }),
        "wrapper",
    );
}

#[test]
fn duplicate_ids_anywhere_are_refused() {
    for attr in ["ID", "Id", "id"] {
        let xml = main_fixture().replacen(
            "<samlp:Status>",
            &format!("<samlp:Status {attr}=\"{ASSERTION_ID}\">"),
            1,
        );
        assert_err(
            verify_assertion(&xml),
            |e| matches!(e, XmlDsigError::DuplicateId { id, count: 2 } if id == ASSERTION_ID),
            attr,
        );
    }
    // Duplicates of other IDs are refused as well.
    let xml = main_fixture().replacen(
        "<samlp:Status>",
        "<samlp:Status ID=\"_rb7f3c2a9e41d54b0c8e6a1f2d3b4c5d6e\">",
        1,
    );
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::DuplicateId { .. }),
        "other duplicate",
    );
}

#[test]
fn empty_reference_uri_is_refused() {
    let xml = resign(&main_fixture().replacen(&format!("URI=\"#{ASSERTION_ID}\""), "URI=\"\"", 1));
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::ReferenceUriMismatch { got, .. } if got.as_deref() == Some("")),
        "empty URI",
    );
    let xml = resign(&main_fixture().replacen(&format!(" URI=\"#{ASSERTION_ID}\""), "", 1));
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::ReferenceUriMismatch { got: None, .. }),
        "absent URI",
    );
}

#[test]
fn reference_to_another_element_is_refused() {
    let xml = resign(&main_fixture().replacen(
        &format!("URI=\"#{ASSERTION_ID}\""),
        &format!("URI=\"#{RESPONSE_ID}\""),
        1,
    ));
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::ReferenceUriMismatch { expected, got } if *expected == format!("#{ASSERTION_ID}") && got.as_deref() == Some(&*format!("#{RESPONSE_ID}"))),
        "URI to Response",
    );
    // XPointer form of the right ID is not accepted either.
    let xml = resign(&main_fixture().replacen(
        &format!("URI=\"#{ASSERTION_ID}\""),
        &format!("URI=\"#xpointer(id('{ASSERTION_ID}'))\""),
        1,
    ));
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::ReferenceUriMismatch { .. }),
        "xpointer",
    );
}

#[test]
fn two_references_are_refused() {
    let xml = main_fixture();
    let start = xml.find("<ds:Reference ").unwrap();
    let end = xml.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let reference = xml[start..end].to_owned();
    let xml = resign(&xml.replacen(&reference, &format!("{reference}{reference}"), 1));
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::ReferenceCount { count: 2 }),
        "two references",
    );
}

fn with_extra_transform(transform: &str) -> String {
    let xml = main_fixture().replacen(
        "</ds:Transforms>",
        &format!("{transform}</ds:Transforms>"),
        1,
    );
    resign(&xml)
}

#[test]
fn xslt_xpath_and_other_transforms_are_unsupported() {
    let cases = [
        (
            "http://www.w3.org/TR/1999/REC-xslt-19991116",
            "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"><xsl:stylesheet xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" version=\"1.0\"><xsl:template match=\"/\"><xsl:copy-of select=\"/\"/></xsl:template></xsl:stylesheet></ds:Transform>",
        ),
        (
            "http://www.w3.org/TR/1999/REC-xpath-19991116",
            "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>",
        ),
        (
            "http://www.w3.org/2002/06/xmldsig-filter2",
            "<ds:Transform Algorithm=\"http://www.w3.org/2002/06/xmldsig-filter2\"><dsig-xpath:XPath xmlns:dsig-xpath=\"http://www.w3.org/2002/06/xmldsig-filter2\" Filter=\"intersect\">//*</dsig-xpath:XPath></ds:Transform>",
        ),
        (
            "http://www.w3.org/2000/09/xmldsig#base64",
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#base64\"/>",
        ),
        (
            "http://www.w3.org/2006/12/xml-c14n11",
            "<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
        ),
    ];
    for (uri, transform) in cases {
        assert_err(
            verify_assertion(&with_extra_transform(transform)),
            |e| matches!(e, XmlDsigError::UnsupportedTransform { algorithm } if algorithm == uri),
            uri,
        );
    }
}

#[test]
fn transform_chain_rules() {
    // A second c14n transform.
    let xml = with_extra_transform(
        "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
    );
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::TransformChain { .. }),
        "two c14n",
    );
    // No enveloped-signature transform.
    let xml = resign(&main_fixture().replacen(
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
        "",
        1,
    ));
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::MissingEnvelopedTransform),
        "no enveloped",
    );
}

#[test]
fn unsupported_algorithms_are_refused() {
    let xml = resign(&main_fixture().replacen(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        1,
    ));
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::UnsupportedSignatureAlgorithm { .. }),
        "hmac",
    );
    let xml = resign(&main_fixture().replacen(
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2001/04/xmldsig-more#md5",
        1,
    ));
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::UnsupportedDigestAlgorithm { .. }),
        "md5",
    );
    let xml = main_fixture().replacen(
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
        1,
    );
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::UnsupportedCanonicalization { .. }),
        "c14n 1.1",
    );
}

#[test]
fn doctype_internal_entity_is_refused() {
    let xml = main_fixture().replacen(
        "?>\n",
        "?>\n<!DOCTYPE samlp:Response [<!ENTITY role \"acs:ram::1234567890123456:role/rambridge-admin\">]>\n",
        1,
    );
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::DoctypeForbidden { .. }),
        "internal entity",
    );
}

#[test]
fn doctype_external_entity_is_refused() {
    for doctype in [
        "<!DOCTYPE samlp:Response SYSTEM \"http://attacker.example/evil.dtd\">",
        "<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
        "<!DOCTYPE samlp:Response PUBLIC \"-//X//Y\" \"http://attacker.example/x.dtd\">",
    ] {
        let xml = main_fixture()
            .replacen("?>\n", &format!("?>\n{doctype}\n"), 1)
            .replacen(
                "<saml:Audience>urn:alibaba:cloudcomputing",
                "<saml:Audience>&xxe;",
                1,
            );
        assert_err(
            verify_assertion(&xml),
            |e| matches!(e, XmlDsigError::DoctypeForbidden { .. }),
            doctype,
        );
    }
    // The reference alone, without a DOCTYPE, is an undefined entity.
    let xml = main_fixture().replacen(
        "<saml:Audience>urn:alibaba:cloudcomputing",
        "<saml:Audience>&xxe;",
        1,
    );
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::UndefinedEntity { name, .. } if name == "xxe"),
        "undefined entity",
    );
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let mut dtd = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>");
    let xml = format!("<?xml version=\"1.0\"?>\n{dtd}\n<lolz>&lol9;</lolz>");
    let t = Instant::now();
    assert_err(
        Document::parse(xml.as_bytes()),
        |e| matches!(e, XmlDsigError::DoctypeForbidden { offset: 22 }),
        "billion laughs",
    );
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn comment_inside_digest_or_signature_value_is_refused() {
    let xml = main_fixture().replacen("<ds:DigestValue>UYDU", "<ds:DigestValue>UY<!-- x -->DU", 1);
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::NotPlainText { element, found: "comment" } if element == "ds:DigestValue"),
        "comment in DigestValue",
    );
    let xml = main_fixture().replacen(
        "<ds:SignatureValue>WhUx",
        "<ds:SignatureValue>WhUx<!---->",
        1,
    );
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::NotPlainText { element, found: "comment" } if element == "ds:SignatureValue"),
        "comment in SignatureValue",
    );
    let xml = main_fixture().replacen(
        "<ds:X509Certificate>MIID",
        "<ds:X509Certificate>MI<?pi?>ID",
        1,
    );
    assert_err(
        verify_assertion(&xml),
        |e| {
            matches!(
                e,
                XmlDsigError::NotPlainText {
                    found: "processing instruction",
                    ..
                }
            )
        },
        "PI in X509Certificate",
    );
}

#[test]
fn whitespace_in_base64_is_fine_but_garbage_is_not() {
    // (DigestValue is inside SignedInfo, so the edit needs a fresh signature.)
    let xml = resign(&main_fixture().replacen(
        "<ds:DigestValue>UYDU",
        "<ds:DigestValue>\n  UY\r\n\tDU",
        1,
    ));
    assert_eq!(verify_assertion(&xml).unwrap().0, ASSERTION_ID);
    let xml = main_fixture().replacen("<ds:DigestValue>UYDU", "<ds:DigestValue>UY*DU", 1);
    assert_err(
        verify_assertion(&xml),
        |e| {
            matches!(
                e,
                XmlDsigError::InvalidBase64 {
                    element: "DigestValue"
                }
            )
        },
        "garbage base64",
    );
}

/// The 2018 comment-truncation class: the IdP signs the attacker's own
/// account `alice.chen@example.test.evil`; the attacker inserts a comment.
/// exc-c14n drops comments, so the signature still verifies, but the value
/// read is the whole text, never the part before the comment.
#[test]
fn comment_in_signed_text_verifies_but_text_is_whole() {
    let legit =
        unsigned_main().replace("alice.chen@example.test<", "alice.chen@example.test.evil<");
    let signed = sign_assertion(&legit, &idp_signer());
    let attack = signed.replacen(
        "alice.chen@example.test.evil<",
        "alice.chen@example.test<!---->.evil<",
        1,
    );
    let doc = Document::parse(attack.as_bytes()).unwrap();
    let v = verify_element(
        &doc,
        by_id(&doc, ASSERTION_ID),
        &idp_keys(),
        &VerifyOptions::SAML,
    )
    .unwrap();
    let value = v
        .element()
        .child_elements()
        .find(|e| e.local_name() == "AttributeStatement")
        .unwrap()
        .child_elements()
        .find(|a| {
            a.attribute("Name")
                == Some("https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName")
        })
        .unwrap()
        .child_elements()
        .next()
        .unwrap();
    assert_eq!(value.text(), "alice.chen@example.test.evil");
    assert!(matches!(
        value.text_strict(),
        Err(XmlDsigError::NotPlainText {
            found: "comment",
            ..
        })
    ));

    // Same in NameID of the unmodified fixture.
    let attack = main_fixture().replacen("p7Qk2vN8sYx4", "p7Qk2vN8<!--x-->sYx4", 1);
    let doc = Document::parse(attack.as_bytes()).unwrap();
    let v = verify_element(
        &doc,
        by_id(&doc, ASSERTION_ID),
        &idp_keys(),
        &VerifyOptions::SAML,
    )
    .unwrap();
    let name_id = v
        .element()
        .child_elements()
        .nth(1)
        .unwrap()
        .child_elements()
        .next()
        .unwrap();
    assert_eq!(name_id.local_name(), "NameID");
    assert_eq!(name_id.text(), "p7Qk2vN8sYx4LmR0aT3wHc9eJd6UoBfZ");
    assert!(name_id.text_strict().is_err());
}

#[test]
fn ds_prefix_rebound_to_another_namespace() {
    // The Signature element itself in a foreign namespace: no ds:Signature.
    let xml = main_fixture().replacen(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
        "<ds:Signature xmlns:ds=\"http://attacker.example/xmldsig#\">",
        1,
    );
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::MissingSignature { .. }),
        "rebound on Signature",
    );
    // ds rebound inside SignedInfo: the "Reference" is not a ds:Reference.
    let xml = resign(&main_fixture().replacen(
        "<ds:Reference URI=",
        "<ds:Reference xmlns:ds=\"http://attacker.example/xmldsig#\" URI=",
        1,
    ));
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::UnexpectedSignatureContent { parent: "SignedInfo", got, .. } if got.contains("attacker.example")),
        "rebound on Reference",
    );
}

#[test]
fn two_signatures_and_missing_id_are_refused() {
    let xml = main_fixture();
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = xml[start..end].to_owned();
    let twice = xml.replacen(&sig, &format!("{sig}{sig}"), 1);
    assert_err(
        verify_assertion(&twice),
        |e| matches!(e, XmlDsigError::MultipleSignatures { count: 2, .. }),
        "two signatures",
    );
    let no_id = xml.replacen(&format!(" ID=\"{ASSERTION_ID}\""), "", 1);
    assert_err(
        verify_assertion(&no_id),
        |e| {
            matches!(
                e,
                XmlDsigError::MissingIdAttribute {
                    attribute: "ID",
                    ..
                }
            )
        },
        "no ID",
    );
}

#[test]
fn weak_and_unusable_keys_are_refused_at_configuration() {
    assert_err(
        TrustedKeys::from_der_certificates([local("rsa1024-cert.der")]),
        |e| {
            matches!(
                e,
                XmlDsigError::WeakRsaKey {
                    index: 0,
                    bits: 1024,
                    minimum: 2048
                }
            )
        },
        "rsa1024",
    );
    assert_err(
        TrustedKeys::from_der_certificates([idp_cert(), local("rsa1024-cert.der")]),
        |e| matches!(e, XmlDsigError::WeakRsaKey { index: 1, .. }),
        "rsa1024 second",
    );
    assert_err(
        TrustedKeys::from_der_certificates(Vec::<Vec<u8>>::new()),
        |e| matches!(e, XmlDsigError::NoTrustedKeys),
        "none",
    );
    assert_err(
        TrustedKeys::from_der_certificates([b"not a certificate".to_vec()]),
        |e| matches!(e, XmlDsigError::InvalidCertificate { index: 0, .. }),
        "garbage",
    );
    let mut trailing = idp_cert();
    trailing.push(0);
    assert_err(
        TrustedKeys::from_der_certificates([trailing]),
        |e| matches!(e, XmlDsigError::InvalidCertificate { .. }),
        "trailing bytes",
    );
}

#[test]
fn signature_object_and_content_outside_root_are_refused() {
    let xml = main_fixture().replacen("</ds:KeyInfo>", "</ds:KeyInfo><ds:Object>x</ds:Object>", 1);
    assert_err(
        verify_assertion(&xml),
        |e| {
            matches!(
                e,
                XmlDsigError::UnexpectedSignatureContent {
                    parent: "Signature",
                    ..
                }
            )
        },
        "object",
    );
    let xml = format!("{}<saml:Assertion/>", main_fixture());
    assert_err(
        verify_assertion(&xml),
        |e| matches!(e, XmlDsigError::MultipleRoots { .. }),
        "second root",
    );
}
