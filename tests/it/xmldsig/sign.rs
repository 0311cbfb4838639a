//! `sign_element`: round trips, placement, byte-equality with xmlsec1's
//! signature, refusals, and (feature `xmlsec1-interop`) xmlsec1 verification.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rambridge::xmldsig::{
    Document, SignOptions, SigningKey, VerifyOptions, XmlDsigError, sign_element, verify_element,
};

use super::common::*;

fn saml_opts() -> SignOptions {
    SignOptions {
        inclusive_prefixes: vec!["xs".into()],
        ..SignOptions::default()
    }
}

#[test]
fn resigning_the_fixture_reproduces_xmlsec1_signature_bytes() {
    let signed = sign_assertion(&unsigned_main(), &idp_signer());
    let doc = Document::parse(signed.as_bytes()).unwrap();
    let assertion = by_id(&doc, ASSERTION_ID);
    let v = verify_element(&doc, assertion, &idp_keys(), &VerifyOptions::SAML).unwrap();
    assert_eq!(v.id(), ASSERTION_ID);
    // RSA PKCS#1 v1.5 is deterministic and our SignedInfo canonicalizes to
    // the same bytes as xmlsec1's, so the signature value is identical.
    let sv = signature_of(doc.element(assertion).unwrap())
        .child_elements()
        .find(|e| e.local_name() == "SignatureValue")
        .unwrap()
        .text()
        .into_owned();
    let want = std::fs::read(saml_fixtures_dir().join(format!(
        "c14n/response-assertion-signed.{ASSERTION_ID}.sigvalue.bin"
    )))
    .unwrap();
    assert_eq!(STANDARD.decode(sv).unwrap(), want);
}

#[test]
fn signature_is_placed_after_issuer_or_first() {
    let signed = sign_assertion(&unsigned_main(), &idp_signer());
    let doc = Document::parse(signed.as_bytes()).unwrap();
    let a = doc.element(by_id(&doc, ASSERTION_ID)).unwrap();
    let names: Vec<&str> = a.child_elements().take(3).map(|e| e.local_name()).collect();
    assert_eq!(names, ["Issuer", "Signature", "Subject"]);
    // Everything outside the inserted Signature is byte-identical.
    let start = signed.find("<ds:Signature").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    assert_eq!(
        format!("{}{}", &signed[..start], &signed[end..]),
        unsigned_main()
    );

    // No Issuer: first child. Self-closing element: expanded.
    let key = idp_signer();
    for (xml, id) in [
        ("<r xmlns=\"urn:x\"><e ID=\"a1\"><x/>text</e></r>", "a1"),
        ("<r><e ID=\"a2\" k=\"v\" /></r>", "a2"),
        ("<e ID=\"a3\"/>", "a3"),
    ] {
        let out = sign_element(xml.as_bytes(), id, &key, &SignOptions::default()).unwrap();
        let doc = Document::parse(&out).unwrap();
        let e = by_attr(&doc, "ID", id);
        assert!(
            e.child_elements().next().unwrap().has_name(DS, "Signature"),
            "{}",
            show(&out)
        );
        verify_element(&doc, e.node_id(), &idp_keys(), &VerifyOptions::SAML).unwrap();
    }
}

#[test]
fn response_and_assertion_both_signed_by_us() {
    let key = idp_signer();
    let signed = sign_assertion(&unsigned_main(), &key);
    let both = sign_element(
        signed.as_bytes(),
        RESPONSE_ID,
        &key,
        &SignOptions::default(),
    )
    .unwrap();
    let doc = Document::parse(&both).unwrap();
    for id in [RESPONSE_ID, ASSERTION_ID] {
        verify_element(&doc, by_id(&doc, id), &idp_keys(), &VerifyOptions::SAML).unwrap();
    }
}

#[test]
fn sign_refusals() {
    let key = idp_signer();
    let fixture = saml("response-assertion-signed.xml");
    assert_err(
        sign_element(&fixture, ASSERTION_ID, &key, &saml_opts()),
        |e| matches!(e, XmlDsigError::AlreadySigned { .. }),
        "already signed",
    );
    assert_err(
        sign_element(&fixture, "_nope", &key, &saml_opts()),
        |e| matches!(e, XmlDsigError::ElementNotFound { .. }),
        "not found",
    );
    assert_err(
        sign_element(
            b"<r><a ID=\"x\"/><b ID=\"x\"/></r>",
            "x",
            &key,
            &saml_opts(),
        ),
        |e| matches!(e, XmlDsigError::DuplicateId { .. }),
        "duplicate",
    );
    let bad = SignOptions {
        inclusive_prefixes: vec!["x\"y".into()],
        ..SignOptions::default()
    };
    assert_err(
        sign_element(unsigned_main().as_bytes(), ASSERTION_ID, &key, &bad),
        |e| matches!(e, XmlDsigError::InvalidSignOption { .. }),
        "bad prefix",
    );
}

#[test]
fn signing_key_refusals_never_echo_key_material() {
    let pem = saml_str("idp-test-key.pem");
    assert_err(
        SigningKey::from_pkcs8_pem(&pem, attacker_cert()),
        |e| matches!(e, XmlDsigError::SigningCertificateMismatch),
        "cert mismatch",
    );
    let pkcs1 = pem.replace("PRIVATE KEY", "RSA PRIVATE KEY");
    assert_err(
        SigningKey::from_pkcs8_pem(&pkcs1, idp_cert()),
        |e| matches!(e, XmlDsigError::InvalidSigningKey { .. }),
        "pkcs1",
    );
    // A corrupted key: the message must not contain any of the key's base64.
    let body_line = pem.lines().nth(3).unwrap().to_owned();
    let corrupted = pem.replacen(&body_line, &body_line.chars().rev().collect::<String>(), 1);
    match SigningKey::from_pkcs8_pem(&corrupted, idp_cert()) {
        Err(e @ XmlDsigError::InvalidSigningKey { .. }) => {
            let msg = format!("{e} {e:?}");
            for line in pem.lines().filter(|l| !l.starts_with("-----")) {
                assert!(
                    !msg.contains(&line[..16]),
                    "error leaks key material: {msg}"
                );
            }
        }
        other => panic!("corrupted key: {other:?}"),
    }
    assert_err(
        SigningKey::from_pkcs8_pem(&local_str("ec-p256-key.pem"), local("ec-p256-cert.der")),
        |e| matches!(e, XmlDsigError::InvalidSigningKey { .. }),
        "ec key",
    );
    let debug = format!("{:?}", idp_signer());
    assert!(debug.contains("redacted") && !debug.contains("MII"));
}

/// Debian's `xmlsec1 --verify` accepts what `sign_element` produces. Behind
/// the `xmlsec1-interop` feature; FAILS (never skips) if xmlsec1 is missing.
#[cfg(feature = "xmlsec1-interop")]
#[test]
fn xmlsec1_verifies_our_signatures() {
    use std::process::Command;

    let probe = Command::new("xmlsec1").arg("--version").output();
    assert!(
        matches!(&probe, Ok(o) if o.status.success()),
        "feature xmlsec1-interop needs the `xmlsec1` CLI (Debian: apt-get install -y xmlsec1): {probe:?}"
    );
    let key = idp_signer();
    let assertion_signed = sign_assertion(&unsigned_main(), &key);
    let both = String::from_utf8(
        sign_element(
            assertion_signed.as_bytes(),
            RESPONSE_ID,
            &key,
            &SignOptions::default(),
        )
        .unwrap(),
    )
    .unwrap();
    let authn_request = "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_req1\" Version=\"2.0\" IssueInstant=\"2026-11-01T00:00:00Z\" AssertionConsumerServiceURL=\"http://127.0.0.1:8080/saml-role/sso\"><saml:Issuer>urn:rambridge:sp</saml:Issuer><samlp:NameIDPolicy AllowCreate=\"true\"/></samlp:AuthnRequest>";
    let request = String::from_utf8(
        sign_element(
            authn_request.as_bytes(),
            "_req1",
            &key,
            &SignOptions::default(),
        )
        .unwrap(),
    )
    .unwrap();

    let dir = std::env::temp_dir().join(format!("rambridge-xmlsec1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = saml_fixtures_dir().join("idp-test-cert.pem");
    let assertion_node = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";
    let response_node = "urn:oasis:names:tc:SAML:2.0:protocol:Response";
    let cases: [(&str, &str, Vec<&str>); 4] = [
        (
            "assertion.xml",
            &assertion_signed,
            vec!["--id-attr:ID", assertion_node],
        ),
        (
            "both-response.xml",
            &both,
            vec![
                "--id-attr:ID",
                response_node,
                "--id-attr:ID",
                assertion_node,
            ],
        ),
        (
            "both-assertion.xml",
            &both,
            vec![
                "--id-attr:ID",
                response_node,
                "--id-attr:ID",
                assertion_node,
                "--node-xpath",
                "//*[local-name()='Assertion']/*[local-name()='Signature']",
            ],
        ),
        (
            "authn-request.xml",
            &request,
            vec![
                "--id-attr:ID",
                "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest",
            ],
        ),
    ];
    for (name, xml, extra) in cases {
        let path = dir.join(name);
        std::fs::write(&path, xml).unwrap();
        let out = Command::new("xmlsec1")
            .arg("--verify")
            .arg("--pubkey-cert-pem")
            .arg(&cert)
            .args(["--enabled-key-data", "rsa"])
            .args(&extra)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "xmlsec1 refused {name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // And the negative control: a tampered copy must fail in xmlsec1 too.
        if name == "assertion.xml" {
            std::fs::write(
                &path,
                xml.replacen("rambridge-readonly", "rambridge-admin", 1),
            )
            .unwrap();
            let out = Command::new("xmlsec1")
                .arg("--verify")
                .arg("--pubkey-cert-pem")
                .arg(&cert)
                .args(["--enabled-key-data", "rsa"])
                .args(&extra)
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                !out.status.success(),
                "xmlsec1 accepted a tampered document"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
