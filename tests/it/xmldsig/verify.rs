//! Positive verification: the shared fixtures, the xmlsec1-signed variants and
//! the proof type's view.

use rambridge::xmldsig::{
    C14nAlgorithm, DigestAlgorithm, Document, SignatureAlgorithm, TrustedKeys, VerifiedNode,
    VerifyOptions, XmlDsigError, verify_element,
};

use super::common::*;

#[test]
fn all_four_fixture_signatures_verify() {
    let keys = idp_keys();
    let cases = [
        (
            "response-assertion-signed.xml",
            ASSERTION_PATH,
            ASSERTION_ID,
            "saml:Assertion",
        ),
        (
            "response-both-signed.xml",
            &[][..],
            RESPONSE_ID,
            "samlp:Response",
        ),
        (
            "response-both-signed.xml",
            ASSERTION_PATH_BOTH,
            ASSERTION_ID,
            "saml:Assertion",
        ),
        (
            "response-large-assertion-signed.xml",
            ASSERTION_PATH,
            ASSERTION_ID,
            "saml:Assertion",
        ),
    ];
    for (file, path, id, name) in cases {
        let (got_id, got_name) = verify_at(&saml_str(file), path, &keys, &VerifyOptions::SAML)
            .unwrap_or_else(|e| panic!("{file} {name}: {e}"));
        assert_eq!(got_id, id, "{file}");
        assert_eq!(got_name, name, "{file}");
    }
}

#[test]
fn proof_reports_algorithms_and_certificate() {
    let xml = saml("response-assertion-signed.xml");
    let doc = Document::parse(&xml).unwrap();
    let assertion = by_id(&doc, ASSERTION_ID);
    // Rollover: two trusted certificates, the IdP's second.
    let keys = TrustedKeys::from_der_certificates([attacker_cert(), idp_cert()]).unwrap();
    let v = verify_element(&doc, assertion, &keys, &VerifyOptions::default()).unwrap();
    assert_eq!(v.certificate_index(), 1);
    assert_eq!(v.certificate_sha256(), keys.certificate_sha256(1).unwrap());
    assert_eq!(v.signature_algorithm(), SignatureAlgorithm::RsaSha256);
    assert_eq!(v.digest_algorithm(), DigestAlgorithm::Sha256);
    assert_eq!(v.canonicalization(), C14nAlgorithm::Exclusive);
    assert_eq!(v.reference_canonicalization(), C14nAlgorithm::Exclusive);
}

#[test]
fn rollover_without_keyinfo_tries_each_trusted_key() {
    let xml = saml_str("response-assertion-signed.xml");
    let start = xml.find("<ds:KeyInfo>").unwrap();
    let end = xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
    let xml = format!("{}{}", &xml[..start], &xml[end..]);
    let keys = TrustedKeys::from_der_certificates([attacker_cert(), idp_cert()]).unwrap();
    let doc = Document::parse(xml.as_bytes()).unwrap();
    let v = verify_element(&doc, by_id(&doc, ASSERTION_ID), &keys, &VerifyOptions::SAML).unwrap();
    assert_eq!(v.certificate_index(), 1);
}

#[test]
fn verified_view_hides_signature_and_reads_content() {
    let xml = saml("response-assertion-signed.xml");
    let doc = Document::parse(&xml).unwrap();
    let v = verify_element(
        &doc,
        by_id(&doc, ASSERTION_ID),
        &idp_keys(),
        &VerifyOptions::SAML,
    )
    .unwrap();
    let root = v.element();
    assert!(root.has_name("urn:oasis:names:tc:SAML:2.0:assertion", "Assertion"));
    assert_eq!(root.attribute("ID"), Some(ASSERTION_ID));
    let names: Vec<&str> = root.child_elements().map(|e| e.local_name()).collect();
    assert_eq!(
        names,
        [
            "Issuer",
            "Subject",
            "Conditions",
            "AuthnStatement",
            "AttributeStatement"
        ],
        "the enveloped Signature must not be visible"
    );
    assert!(
        root.children()
            .all(|c| !matches!(c, VerifiedNode::Element(e) if e.local_name() == "Signature"))
    );
    let name_id = root
        .child_elements()
        .find(|e| e.local_name() == "Subject")
        .unwrap()
        .child_elements()
        .next()
        .unwrap();
    assert_eq!(
        name_id.text_strict().unwrap(),
        "p7Qk2vN8sYx4LmR0aT3wHc9eJd6UoBfZ"
    );
    let roles: Vec<String> = root
        .child_elements()
        .find(|e| e.local_name() == "AttributeStatement")
        .unwrap()
        .child_elements()
        .find(|a| a.attribute("Name") == Some("https://www.aliyun.com/SAML-Role/Attributes/Role"))
        .unwrap()
        .child_elements()
        .map(|v| v.text().into_owned())
        .collect();
    assert_eq!(roles.len(), 3);
    assert!(roles[1].starts_with("acs:ram::1234567890123456:role/rambridge-readonly,"));
}

#[test]
fn xmlsec1_signed_variants_verify() {
    // (file, trusted cert, allow_sha1, expected algorithms)
    let p256 = local("ec-p256-cert.der");
    let p384 = local("ec-p384-cert.der");
    let cases: [(
        &str,
        Vec<u8>,
        SignatureAlgorithm,
        DigestAlgorithm,
        C14nAlgorithm,
    ); 4] = [
        (
            "response-rsa-sha1.xml",
            idp_cert(),
            SignatureAlgorithm::RsaSha1,
            DigestAlgorithm::Sha1,
            C14nAlgorithm::Exclusive,
        ),
        (
            "response-rsa-sha512-inclusive.xml",
            idp_cert(),
            SignatureAlgorithm::RsaSha512,
            DigestAlgorithm::Sha512,
            C14nAlgorithm::Inclusive,
        ),
        (
            "response-ecdsa-p256.xml",
            p256,
            SignatureAlgorithm::EcdsaSha256,
            DigestAlgorithm::Sha256,
            C14nAlgorithm::Exclusive,
        ),
        (
            "response-ecdsa-p384.xml",
            p384,
            SignatureAlgorithm::EcdsaSha384,
            DigestAlgorithm::Sha384,
            C14nAlgorithm::Exclusive,
        ),
    ];
    let legacy = VerifyOptions {
        allow_sha1: true,
        ..VerifyOptions::SAML
    };
    for (file, cert, sig_alg, dig_alg, c14n) in cases {
        let keys = TrustedKeys::from_der_certificates([cert]).unwrap();
        let xml = local(file);
        let doc = Document::parse(&xml).unwrap();
        let v = verify_element(&doc, by_id(&doc, ASSERTION_ID), &keys, &legacy)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(v.signature_algorithm(), sig_alg, "{file}");
        assert_eq!(v.digest_algorithm(), dig_alg, "{file}");
        assert_eq!(v.canonicalization(), c14n, "{file}");
    }
}

#[test]
fn sha1_refused_by_default_accepted_when_allowed() {
    let xml = local_str("response-rsa-sha1.xml");
    assert_err(
        verify_at(&xml, ASSERTION_PATH, &idp_keys(), &VerifyOptions::SAML),
        |e| matches!(e, XmlDsigError::Sha1NotAllowed { algorithm } if algorithm.ends_with("#rsa-sha1")),
        "sha1 by default",
    );
    let legacy = VerifyOptions {
        allow_sha1: true,
        ..VerifyOptions::SAML
    };
    assert_eq!(
        verify_at(&xml, ASSERTION_PATH, &idp_keys(), &legacy)
            .unwrap()
            .0,
        ASSERTION_ID
    );

    // rsa-sha256 signature over a sha1 digest: the digest method alone is refused too.
    let xml = saml_str("response-assertion-signed.xml").replace(
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2000/09/xmldsig#sha1",
    );
    assert_err(
        verify_at(
            &resign(&xml),
            ASSERTION_PATH,
            &idp_keys(),
            &VerifyOptions::SAML,
        ),
        |e| matches!(e, XmlDsigError::Sha1NotAllowed { algorithm } if algorithm.ends_with("#sha1")),
        "sha1 digest",
    );
}

/// Generated c14n documents: the bare-name (`#target`) variants were signed by
/// xmlsec1 and must verify here; the `#xpointer(id(...))` ones must be refused.
#[test]
fn xmlsec1_signed_c14n_documents() {
    let keys = idp_keys();
    let mut ok = 0;
    for case in ["nsxml", "escaping", "exclusive"] {
        for variant in ["inc", "inc-wc", "exc", "exc-wc", "exc-pl", "exc-wc-pl"] {
            let xml = local(&format!("c14n-{case}-{variant}.signed.xml"));
            let doc = Document::parse(&xml).unwrap();
            let target = by_attr(&doc, "ID", "target").node_id();
            let r = verify_element(&doc, target, &keys, &VerifyOptions::SAML);
            if variant.contains("wc") {
                assert!(
                    matches!(r, Err(XmlDsigError::ReferenceUriMismatch { ref got, .. }) if got.as_deref() == Some("#xpointer(id('target'))")),
                    "{case}-{variant}: {r:?}"
                );
            } else {
                r.unwrap_or_else(|e| panic!("{case}-{variant}: {e}"));
                ok += 1;
            }
        }
    }
    assert_eq!(ok, 9);
}

#[test]
fn ecdsa_resigned_with_ring_verifies_and_mismatched_key_type_is_refused() {
    let p256 = local("ec-p256-cert.der");
    let xml = saml_str("response-assertion-signed.xml").replace(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    );
    // KeyInfo names the IdP's RSA cert; drop it so the trusted EC key is tried.
    let start = xml.find("<ds:KeyInfo>").unwrap();
    let end = xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
    let xml = format!("{}{}", &xml[..start], &xml[end..]);
    let signer = RawSigner::ec("ec-p256", &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING);
    let xml = resign_nth(&xml, 0, &signer);
    let keys = TrustedKeys::from_der_certificates([p256.clone()]).unwrap();
    assert_eq!(
        verify_at(&xml, ASSERTION_PATH, &keys, &VerifyOptions::SAML)
            .unwrap()
            .0,
        ASSERTION_ID
    );

    // The same signature with only the RSA IdP key trusted: no usable key.
    assert_err(
        verify_at(&xml, ASSERTION_PATH, &idp_keys(), &VerifyOptions::SAML),
        |e| matches!(e, XmlDsigError::NoUsableKey { .. }),
        "ecdsa with rsa key",
    );
    // A P-384 key cannot check ecdsa-sha256 here.
    let p384 = TrustedKeys::from_der_certificates([local("ec-p384-cert.der")]).unwrap();
    assert_err(
        verify_at(&xml, ASSERTION_PATH, &p384, &VerifyOptions::SAML),
        |e| matches!(e, XmlDsigError::NoUsableKey { .. }),
        "ecdsa-sha256 with p384 key",
    );
}

#[test]
fn signature_with_another_prefix_verifies() {
    // Namespace URI matters, the prefix does not.
    let xml = saml_str("response-assertion-signed.xml")
        .replace("<ds:", "<sig:")
        .replace("</ds:", "</sig:")
        .replace("xmlns:ds=", "xmlns:sig=");
    let xml = resign(&xml);
    assert_eq!(verify_assertion(&xml).unwrap().0, ASSERTION_ID);
}
