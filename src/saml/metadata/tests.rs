//! Unit tests: real-world IdP metadata files and every rejection rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use chrono::TimeZone as _;

use super::*;

// ------------------------------------------------------------------ helpers

/// The repository's `shared/` directory: `$CARGO_MANIFEST_DIR/../shared` when the crate
/// sits next to it (`/work/main`), else `/work/shared`.
fn shared_dir() -> PathBuf {
    let sibling = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if sibling.is_dir() {
        sibling
    } else {
        PathBuf::from("/work/shared")
    }
}

fn shared_fixture(rel: &str) -> Vec<u8> {
    let path = shared_dir().join("fixtures").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn local_fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/saml-metadata")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The `now` used for the real-world files.
fn now() -> DateTime<Utc> {
    at("2026-11-22T00:00:00Z")
}

fn parse_real(name: &str) -> IdpMetadata {
    let xml = shared_fixture(&format!("idp-metadata/{name}"));
    parse_idp_metadata(&xml, None, now()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Base64 of the shared test IdP's certificate.
fn test_cert_b64() -> String {
    STANDARD.encode(shared_fixture("saml/idp-test-cert.der"))
}

/// The base64 bodies of the 11 distinct EC certificates in `rollover-certs.pem`.
fn rollover_certs_b64() -> Vec<String> {
    let pem = local_fixture("rollover-certs.pem");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in pem.lines() {
        match (line.trim(), current.as_mut()) {
            ("-----BEGIN CERTIFICATE-----", None) => current = Some(String::new()),
            ("-----END CERTIFICATE-----", Some(_)) => out.extend(current.take()),
            (body, Some(c)) => c.push_str(body),
            _ => {}
        }
    }
    assert_eq!(out.len(), 11);
    out
}

fn key_descriptor(use_attr: Option<&str>, b64: &str) -> String {
    let use_attr = use_attr
        .map(|u| format!(" use=\"{u}\""))
        .unwrap_or_default();
    format!(
        "<md:KeyDescriptor{use_attr}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64}\
         </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    )
}

const SSO: &str = "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp.example.test/sso\"/>";

/// An `md:IDPSSODescriptor` holding `inner`.
fn idp_role(inner: &str) -> String {
    format!(
        "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{inner}</md:IDPSSODescriptor>"
    )
}

/// An `md:EntityDescriptor` (declaring md and ds) with `attrs` and `inner`.
fn entity(attrs: &str, inner: &str) -> String {
    format!(
        "<md:EntityDescriptor xmlns:md=\"{MD_NS}\" xmlns:ds=\"{DS_NS}\" {attrs}>{inner}</md:EntityDescriptor>"
    )
}

/// A minimal valid IdP entity with the shared test certificate.
fn idp_entity(entity_id: &str) -> String {
    entity(
        &format!("entityID=\"{entity_id}\""),
        &idp_role(&format!(
            "{}{SSO}",
            key_descriptor(Some("signing"), &test_cert_b64())
        )),
    )
}

fn parse_str(xml: &str) -> Result<IdpMetadata, MetadataError> {
    parse_idp_metadata(xml.as_bytes(), None, now())
}

// ------------------------------------------------------------------ real-world files

#[test]
fn adfs_federation_metadata() {
    let m = parse_real("adfs-federation-metadata.xml");
    assert_eq!(m.entity_id, "https://sts.ucar.edu/adfs/services/trust");
    // The IDPSSODescriptor also has an encryption key, and the WS-Fed roles and the
    // SPSSODescriptor have keys of their own: only the IdP's signing key counts.
    assert_eq!(m.signing_certificates.len(), 1);
    assert_eq!(m.redirect_sso_url(), Some("https://sts.ucar.edu/adfs/ls/"));
    assert_eq!(m.post_sso_url(), Some("https://sts.ucar.edu/adfs/ls/"));
    assert_eq!(m.name_id_formats.len(), 3);
    assert_eq!(m.valid_until, None);
    assert!(!m.want_authn_requests_signed);
}

#[test]
fn entra_id_federation_metadata_with_bom() {
    let xml = shared_fixture("idp-metadata/entra-id-federation-metadata.xml");
    assert!(xml.starts_with(b"\xEF\xBB\xBF"));
    let m = parse_real("entra-id-federation-metadata.xml");
    assert_eq!(
        m.entity_id,
        "https://sts.windows.net/8b966979-910b-487c-a604-69229b1ac75c/"
    );
    assert_eq!(m.signing_certificates.len(), 3);
    assert_eq!(
        m.redirect_sso_url(),
        Some("https://login.microsoftonline.com/8b966979-910b-487c-a604-69229b1ac75c/saml2")
    );
    assert!(m.name_id_formats.is_empty());
}

#[test]
fn google_workspace_two_keys_and_valid_until() {
    let m = parse_real("google-workspace-idp-metadata.xml");
    assert_eq!(
        m.entity_id,
        "https://accounts.google.com/o/saml2?idpid=C023zw3x8"
    );
    assert_eq!(m.signing_certificates.len(), 2);
    assert_ne!(m.signing_certificates[0], m.signing_certificates[1]);
    assert_eq!(
        m.redirect_sso_url(),
        Some("https://accounts.google.com/o/saml2/idp?idpid=C023zw3x8")
    );
    assert_eq!(m.valid_until, Some(at("2026-12-16T17:18:02Z")));
    assert_eq!(
        m.name_id_formats,
        ["urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"]
    );
    assert!(!m.want_authn_requests_signed);
}

#[test]
fn google_workspace_expired_names_the_date() {
    let xml = shared_fixture("idp-metadata/google-workspace-idp-metadata.xml");
    let err = parse_idp_metadata(&xml, None, at("2026-12-17T00:00:00Z")).unwrap_err();
    assert_eq!(
        err,
        MetadataError::Expired {
            element: "EntityDescriptor".into(),
            valid_until: at("2026-12-16T17:18:02Z"),
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("2026-12-16T17:18:02Z"), "{msg}");
    // The instant itself is already too late; one millisecond before is fine.
    assert!(matches!(
        parse_idp_metadata(&xml, None, at("2026-12-16T17:18:02Z")),
        Err(MetadataError::Expired { .. })
    ));
    assert!(parse_idp_metadata(&xml, None, at("2026-12-16T17:18:01.999Z")).is_ok());
}

#[test]
fn okta_metadata() {
    let m = parse_real("okta-idp-metadata.xml");
    assert_eq!(m.entity_id, "http://www.okta.com/k2lvtem0VAJDMINKEYJW");
    assert_eq!(m.signing_certificates.len(), 1);
    let url = "https://pivotal.oktapreview.com/app/pivotal_pivotalcfdevelopment_1/k2lvtem0VAJDMINKEYJW/sso/saml";
    assert_eq!(m.post_sso_url(), Some(url));
    assert_eq!(m.redirect_sso_url(), Some(url));
    assert_eq!(m.sso_services[0].binding, BINDING_HTTP_POST);
    assert!(m.want_authn_requests_signed);
    assert_eq!(m.name_id_formats.len(), 2);
    // A weak key is still imported (the verifier judges key strength); shown as such.
    let info = m.signing_certificate_info().unwrap();
    assert_eq!(info[0].key_type, "RSA-1024");
    assert_eq!(info[0].not_after, at("2044-01-23T18:13:37Z"));
}

#[test]
fn onelogin_metadata() {
    let m = parse_real("onelogin-idp-metadata.xml");
    assert_eq!(m.entity_id, "https://app.onelogin.com/saml/metadata/383123");
    assert_eq!(m.signing_certificates.len(), 1);
    assert_eq!(
        m.redirect_sso_url(),
        Some("https://app.onelogin.com/trust/saml2/http-post/sso/383123")
    );
    assert_eq!(m.sso_services.len(), 3);
    assert_eq!(
        m.sso_services[2].binding,
        "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
    );
}

#[test]
fn shibboleth_metadata_key_without_use() {
    let m = parse_real("shibboleth-testshib-idp-metadata.xml");
    assert_eq!(m.entity_id, "https://idp.testshib.org/idp/shibboleth");
    assert_eq!(m.signing_certificates.len(), 1);
    assert_eq!(
        m.post_sso_url(),
        Some("https://idp.testshib.org/idp/profile/SAML2/POST/SSO")
    );
    assert_eq!(
        m.redirect_sso_url(),
        Some("https://idp.testshib.org/idp/profile/SAML2/Redirect/SSO")
    );
    assert_eq!(m.sso_services.len(), 4);
}

#[test]
fn shared_test_idp_metadata_yields_the_test_cert() {
    let xml = shared_fixture("saml/idp-metadata.xml");
    let m = parse_idp_metadata(&xml, Some("https://idp.example.test/saml/idp"), now()).unwrap();
    assert_eq!(m.entity_id, "https://idp.example.test/saml/idp");
    assert_eq!(
        m.signing_certificates,
        vec![shared_fixture("saml/idp-test-cert.der")]
    );
    assert_eq!(
        m.redirect_sso_url(),
        Some("https://idp.example.test/saml/sso")
    );
    assert_eq!(m.post_sso_url(), Some("https://idp.example.test/saml/sso"));
    assert_eq!(
        m.name_id_formats,
        ["urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"]
    );
    let info = m.signing_certificate_info().unwrap();
    assert_eq!(info[0].key_type, "RSA-2048");
    assert_eq!(
        info[0].sha256_fingerprint,
        "65512e8fb526e201572bec44c933095ef6a3410e7fcab19ee4dbd2e33107943d"
    );
    assert_eq!(info[0].not_after, at("2036-11-19T22:33:24Z"));
    assert!(info[0].subject.contains("TEST-ONLY"), "{}", info[0].subject);
}

// ------------------------------------------------------------------ accepted shapes

#[test]
fn namespaces_are_matched_by_uri_not_prefix() {
    // Default namespace for md, an unusual prefix for ds.
    let xml = format!(
        "<EntityDescriptor xmlns=\"{MD_NS}\" xmlns:sig=\"{DS_NS}\" entityID=\"urn:idp\">\
         <IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:1.1:protocol  urn:oasis:names:tc:SAML:2.0:protocol\">\
         <KeyDescriptor><sig:KeyInfo><sig:X509Data><sig:X509Certificate>{}</sig:X509Certificate></sig:X509Data></sig:KeyInfo></KeyDescriptor>\
         </IDPSSODescriptor></EntityDescriptor>",
        test_cert_b64()
    );
    let m = parse_str(&xml).unwrap();
    assert_eq!(m.signing_certificates.len(), 1);
    assert!(m.sso_services.is_empty());
    assert_eq!(m.redirect_sso_url(), None);

    // The md prefix bound to another namespace is not metadata.
    let wrong = idp_entity("urn:idp").replace(MD_NS, "urn:oasis:names:tc:SAML:1.0:metadata");
    let err = parse_str(&wrong).unwrap_err();
    assert_eq!(
        err,
        MetadataError::NotMetadata {
            root: "{urn:oasis:names:tc:SAML:1.0:metadata}EntityDescriptor".into()
        }
    );
    // ds elements in another namespace are not certificates.
    let wrong_ds = idp_entity("urn:idp").replace(DS_NS, "urn:not-dsig");
    assert_eq!(
        parse_str(&wrong_ds).unwrap_err(),
        MetadataError::NoSigningCertificate {
            entity_id: "urn:idp".into()
        }
    );
}

#[test]
fn rollover_keys_are_kept_in_order_and_deduplicated() {
    let certs = rollover_certs_b64();
    // Same certificate twice with different line wrapping counts once.
    let wrapped: String = certs[1]
        .as_bytes()
        .chunks(64)
        .map(|c| format!("\n    {}", std::str::from_utf8(c).unwrap()))
        .collect();
    let inner = format!(
        "{}{}{}{}{}{SSO}",
        key_descriptor(Some("signing"), &certs[0]),
        key_descriptor(Some("encryption"), &certs[5]),
        key_descriptor(None, &certs[1]),
        key_descriptor(Some("signing"), &wrapped),
        key_descriptor(Some("signing"), &certs[0]),
    );
    let m = parse_str(&entity("entityID=\"urn:idp\"", &idp_role(&inner))).unwrap();
    let der = |b64: &str| STANDARD.decode(b64).unwrap();
    assert_eq!(m.signing_certificates, vec![der(&certs[0]), der(&certs[1])]);
    let info = m.signing_certificate_info().unwrap();
    assert_eq!(info[0].key_type, "EC P-256");
    assert!(info[1].subject.contains("rollover test key 2"));
}

#[test]
fn ten_signing_certificates_are_accepted_eleven_are_not() {
    let certs = rollover_certs_b64();
    let keys = |n: usize| -> String {
        certs
            .iter()
            .take(n)
            .map(|c| key_descriptor(Some("signing"), c))
            .collect()
    };
    let ten = entity("entityID=\"urn:idp\"", &idp_role(&keys(10)));
    assert_eq!(parse_str(&ten).unwrap().signing_certificates.len(), 10);
    let eleven = entity("entityID=\"urn:idp\"", &idp_role(&keys(11)));
    assert_eq!(
        parse_str(&eleven).unwrap_err(),
        MetadataError::TooManySigningCertificates {
            count: 11,
            limit: MAX_SIGNING_CERTIFICATES
        }
    );
}

#[test]
fn ignored_parts_do_not_matter() {
    let inner = format!(
        "<ds:Signature><ds:SignedInfo/><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>\
         <md:Extensions><x:Anything xmlns:x=\"urn:x\"/></md:Extensions>\
         <md:RoleDescriptor xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:fed=\"http://docs.oasis-open.org/wsfed/federation/200706\" \
           xsi:type=\"fed:SecurityTokenServiceType\" protocolSupportEnumeration=\"http://docs.oasis-open.org/wsfed/federation/200706\">{}</md:RoleDescriptor>\
         {}\
         <md:Organization><md:OrganizationName xml:lang=\"en\">Example</md:OrganizationName></md:Organization>\
         <md:ContactPerson contactType=\"technical\"><md:EmailAddress>mailto:ops@example.test</md:EmailAddress></md:ContactPerson>",
        key_descriptor(Some("signing"), &rollover_certs_b64()[3]),
        idp_role(&format!(
            "<md:Extensions/>{}<md:NameIDFormat> urn:x </md:NameIDFormat><md:NameIDFormat>urn:x</md:NameIDFormat>{SSO}",
            key_descriptor(None, &test_cert_b64())
        )),
    );
    let m = parse_str(&entity("ID=\"_m\" entityID=\" urn:idp \"", &inner)).unwrap();
    assert_eq!(m.entity_id, "urn:idp");
    assert_eq!(
        m.signing_certificates,
        vec![shared_fixture("saml/idp-test-cert.der")]
    );
    assert_eq!(m.name_id_formats, ["urn:x"]);
}

#[test]
fn want_authn_requests_signed_values() {
    let with = |v: &str| {
        entity(
            "entityID=\"urn:idp\"",
            &format!(
                "<md:IDPSSODescriptor WantAuthnRequestsSigned=\"{v}\" protocolSupportEnumeration=\"{SAML2_PROTOCOL}\">{}</md:IDPSSODescriptor>",
                key_descriptor(None, &test_cert_b64())
            ),
        )
    };
    assert!(parse_str(&with("true")).unwrap().want_authn_requests_signed);
    assert!(parse_str(&with("1")).unwrap().want_authn_requests_signed);
    assert!(
        !parse_str(&with("false"))
            .unwrap()
            .want_authn_requests_signed
    );
    assert!(matches!(
        parse_str(&with("yes")),
        Err(MetadataError::InvalidAttribute { ref attribute, .. }) if attribute == "WantAuthnRequestsSigned"
    ));
}

// ------------------------------------------------------------------ rejections

#[test]
fn rejects_garbage_bytes() {
    let err = parse_idp_metadata(b"\x00\x01\x02garbage\xFF", None, now()).unwrap_err();
    assert!(matches!(err, MetadataError::Malformed(_)), "{err:?}");
    let err = parse_idp_metadata(b"not xml at all", None, now()).unwrap_err();
    assert!(matches!(err, MetadataError::Malformed(_)), "{err:?}");
    let err = parse_idp_metadata(b"", None, now()).unwrap_err();
    assert!(matches!(err, MetadataError::Malformed(_)), "{err:?}");
    let err = parse_str(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\">",
    )
    .unwrap_err();
    assert!(err.to_string().contains("not closed"), "{err}");
}

#[test]
fn rejects_html_pages() {
    let xhtml = "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>Sign in</title></head><body/></html>";
    let err = parse_str(xhtml).unwrap_err();
    assert_eq!(
        err,
        MetadataError::NotMetadata {
            root: "{http://www.w3.org/1999/xhtml}html".into()
        }
    );
    assert!(err.to_string().starts_with(
        "this is not SAML metadata: the root element is {http://www.w3.org/1999/xhtml}html"
    ));
    let html5 = "\n<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>Sign in</title></head></html>";
    let err = parse_str(html5).unwrap_err();
    assert!(matches!(err, MetadataError::NotMetadata { .. }), "{err:?}");
    assert!(err.to_string().contains("HTML page"), "{err}");
}

#[test]
fn rejects_doctype_with_entities() {
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE md:EntityDescriptor [<!ENTITY id \"urn:idp\"><!ENTITY lol \"&id;&id;&id;\">]>\n{}",
        idp_entity("&lol;")
    );
    let err = parse_str(&xml).unwrap_err();
    assert!(matches!(err, MetadataError::Malformed(_)), "{err:?}");
    assert!(err.to_string().contains("DOCTYPE"), "{err}");
}

#[test]
fn rejects_sp_metadata() {
    let sp = entity(
        "entityID=\"https://rambridge.example.test/saml/sp\"",
        "<md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://rambridge.example.test/saml/acs\" index=\"0\"/>\
         </md:SPSSODescriptor>",
    );
    let err = parse_str(&sp).unwrap_err();
    assert_eq!(
        err,
        MetadataError::NotAnIdp {
            entity_id: "https://rambridge.example.test/saml/sp".into(),
            roles: vec!["SPSSODescriptor".into()],
        }
    );
    assert!(
        err.to_string().contains("service-provider metadata"),
        "{err}"
    );
}

#[test]
fn rejects_metadata_without_signing_key() {
    let no_key = entity("entityID=\"urn:idp\"", &idp_role(SSO));
    let expected = MetadataError::NoSigningCertificate {
        entity_id: "urn:idp".into(),
    };
    assert_eq!(parse_str(&no_key).unwrap_err(), expected);
    // An encryption key is not a signing key.
    let enc_only = entity(
        "entityID=\"urn:idp\"",
        &idp_role(&format!(
            "{}{SSO}",
            key_descriptor(Some("encryption"), &test_cert_b64())
        )),
    );
    assert_eq!(parse_str(&enc_only).unwrap_err(), expected);
    // A KeyName alone is no certificate.
    let key_name = entity(
        "entityID=\"urn:idp\"",
        &idp_role(
            "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:KeyName>k1</ds:KeyName></ds:KeyInfo></md:KeyDescriptor>",
        ),
    );
    assert_eq!(parse_str(&key_name).unwrap_err(), expected);
}

#[test]
fn rejects_certificate_that_is_not_base64() {
    let xml = entity(
        "entityID=\"urn:idp\"",
        &idp_role(&key_descriptor(Some("signing"), "MIIC*not base64*")),
    );
    let err = parse_str(&xml).unwrap_err();
    assert!(
        matches!(
            err,
            MetadataError::InvalidCertificateEncoding { index: 1, .. }
        ),
        "{err:?}"
    );
    // A comment inside the certificate text is refused, not skipped.
    let b64 = test_cert_b64();
    let (a, b) = b64.split_at(40);
    let xml = entity(
        "entityID=\"urn:idp\"",
        &idp_role(&key_descriptor(None, &format!("{a}<!-- x -->{b}"))),
    );
    assert!(matches!(
        parse_str(&xml),
        Err(MetadataError::InvalidCertificateEncoding { index: 1, .. })
    ));
    let empty = entity(
        "entityID=\"urn:idp\"",
        &idp_role(&key_descriptor(None, " ")),
    );
    assert!(matches!(
        parse_str(&empty),
        Err(MetadataError::InvalidCertificateEncoding { index: 1, .. })
    ));
}

#[test]
fn rejects_base64_that_is_not_a_certificate() {
    let inner = format!(
        "{}{}",
        key_descriptor(Some("signing"), &test_cert_b64()),
        key_descriptor(
            Some("signing"),
            &STANDARD.encode(b"just some bytes, not DER")
        )
    );
    let err = parse_str(&entity("entityID=\"urn:idp\"", &idp_role(&inner))).unwrap_err();
    assert!(
        matches!(err, MetadataError::NotACertificate { index: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("signing certificate #2 is not an X.509 certificate")
    );
    // A certificate followed by extra bytes is not one certificate.
    let mut der = shared_fixture("saml/idp-test-cert.der");
    der.extend_from_slice(b"\x00\x00");
    let xml = entity(
        "entityID=\"urn:idp\"",
        &idp_role(&key_descriptor(None, &STANDARD.encode(der))),
    );
    assert!(matches!(
        parse_str(&xml),
        Err(MetadataError::NotACertificate { index: 1, .. })
    ));
}

#[test]
fn entities_descriptor_selection() {
    let a = idp_entity("https://idp-a.example.test");
    let b = idp_entity("https://idp-b.example.test")
        .replace(&test_cert_b64(), &rollover_certs_b64()[0]);
    let xml = format!("<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\">{a}{b}</md:EntitiesDescriptor>");

    assert_eq!(
        parse_str(&xml).unwrap_err(),
        MetadataError::EntityIdRequired {
            count: 2,
            available: vec![
                "https://idp-a.example.test".into(),
                "https://idp-b.example.test".into()
            ],
        }
    );

    let err =
        parse_idp_metadata(xml.as_bytes(), Some("https://idp-c.example.test"), now()).unwrap_err();
    assert_eq!(
        err,
        MetadataError::EntityNotFound {
            requested: "https://idp-c.example.test".into(),
            available: vec![
                "https://idp-a.example.test".into(),
                "https://idp-b.example.test".into()
            ],
            idp_count: 2,
        }
    );
    assert!(
        err.to_string().contains("\"https://idp-b.example.test\""),
        "{err}"
    );

    let m = parse_idp_metadata(xml.as_bytes(), Some("https://idp-b.example.test"), now()).unwrap();
    assert_eq!(m.entity_id, "https://idp-b.example.test");
    assert_eq!(
        m.signing_certificates,
        vec![STANDARD.decode(&rollover_certs_b64()[0]).unwrap()]
    );
}

#[test]
fn entities_descriptor_lists_at_most_five_ids_and_picks_a_lone_idp() {
    let idps: String = (1..=7)
        .map(|i| idp_entity(&format!("urn:idp:{i}")))
        .collect();
    let xml = format!("<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\">{idps}</md:EntitiesDescriptor>");
    let err = parse_str(&xml).unwrap_err();
    let MetadataError::EntityIdRequired { count, available } = &err else {
        panic!("{err:?}");
    };
    assert_eq!((*count, available.len()), (7, 5));
    assert!(
        err.to_string().ends_with("\"urn:idp:5\" and 2 more"),
        "{err}"
    );

    // One IdP next to an SP, nested one level deeper: chosen without a selection.
    let sp = entity(
        "entityID=\"urn:sp\"",
        "<md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>",
    );
    let xml = format!(
        "<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\">{sp}<md:EntitiesDescriptor>{}</md:EntitiesDescriptor></md:EntitiesDescriptor>",
        idp_entity("urn:idp")
    );
    assert_eq!(parse_str(&xml).unwrap().entity_id, "urn:idp");
    // Selecting the SP explains that it is no IdP.
    assert!(matches!(
        parse_idp_metadata(xml.as_bytes(), Some("urn:sp"), now()),
        Err(MetadataError::NotAnIdp { .. })
    ));
    // Only SPs: nothing to import.
    let xml =
        format!("<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\">{sp}{sp}</md:EntitiesDescriptor>");
    assert_eq!(
        parse_str(&xml).unwrap_err(),
        MetadataError::NoIdpInCollection { entities: 2 }
    );
    // The same entity twice cannot be selected.
    let twice = format!(
        "<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\">{0}{0}</md:EntitiesDescriptor>",
        idp_entity("urn:idp")
    );
    assert_eq!(
        parse_idp_metadata(twice.as_bytes(), Some("urn:idp"), now()).unwrap_err(),
        MetadataError::DuplicateEntityId {
            entity_id: "urn:idp".into(),
            count: 2
        }
    );
}

#[test]
fn single_entity_must_match_a_requested_id() {
    let xml = idp_entity("urn:idp");
    assert!(parse_idp_metadata(xml.as_bytes(), Some("urn:idp"), now()).is_ok());
    assert_eq!(
        parse_idp_metadata(xml.as_bytes(), Some("urn:other"), now()).unwrap_err(),
        MetadataError::EntityNotFound {
            requested: "urn:other".into(),
            available: vec!["urn:idp".into()],
            idp_count: 1,
        }
    );
}

#[test]
fn valid_until_of_enclosing_collection_and_role_is_enforced() {
    let xml = format!(
        "<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\" validUntil=\"2026-01-01T00:00:00Z\">{}</md:EntitiesDescriptor>",
        idp_entity("urn:idp")
    );
    assert_eq!(
        parse_str(&xml).unwrap_err(),
        MetadataError::Expired {
            element: "EntitiesDescriptor".into(),
            valid_until: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    );
    // The earliest applicable validUntil is reported; a zone-less value is UTC.
    let xml = format!(
        "<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\" validUntil=\"2027-01-01T00:00:00+08:00\">{}</md:EntitiesDescriptor>",
        idp_entity("urn:idp").replace(
            "<md:IDPSSODescriptor ",
            "<md:IDPSSODescriptor validUntil=\"2026-12-01T00:00:00\" "
        )
    );
    assert_eq!(
        parse_str(&xml).unwrap().valid_until,
        Some(at("2026-12-01T00:00:00Z"))
    );
    let bad = idp_entity("urn:idp").replace("entityID=", "validUntil=\"next year\" entityID=");
    assert!(matches!(
        parse_str(&bad),
        Err(MetadataError::InvalidAttribute { ref attribute, .. }) if attribute == "validUntil"
    ));
}

#[test]
fn rejects_idp_without_saml2_protocol() {
    let xml = idp_entity("urn:idp").replace(SAML2_PROTOCOL, "urn:oasis:names:tc:SAML:1.1:protocol");
    let err = parse_str(&xml).unwrap_err();
    assert_eq!(
        err,
        MetadataError::UnsupportedProtocol {
            entity_id: "urn:idp".into(),
            protocols: "urn:oasis:names:tc:SAML:1.1:protocol".into(),
        }
    );
    assert!(err.to_string().contains(SAML2_PROTOCOL));
}

#[test]
fn rejects_oversize_input() {
    let padding = format!("<!--{}-->", "x".repeat(MAX_METADATA_BYTES));
    let xml = format!("{}{padding}", idp_entity("urn:idp"));
    assert_eq!(
        parse_str(&xml).unwrap_err(),
        MetadataError::TooLarge {
            size: xml.len(),
            limit: MAX_METADATA_BYTES
        }
    );
}

#[test]
fn rejects_missing_or_empty_entity_id() {
    let inner = idp_role(&key_descriptor(None, &test_cert_b64()));
    assert_eq!(
        parse_str(&entity("", &inner)).unwrap_err(),
        MetadataError::MissingEntityId
    );
    assert_eq!(
        parse_str(&entity("entityID=\"  \"", &inner)).unwrap_err(),
        MetadataError::MissingEntityId
    );
    // Also inside a collection, and a namespaced entityID is not the attribute.
    let xml = format!(
        "<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\">{}{}</md:EntitiesDescriptor>",
        idp_entity("urn:idp"),
        entity("md:entityID=\"urn:x\"", &inner)
    );
    assert_eq!(parse_str(&xml).unwrap_err(), MetadataError::MissingEntityId);
    let long = format!("urn:{}", "a".repeat(MAX_ENTITY_ID_CHARS));
    assert!(matches!(
        parse_str(&idp_entity(&long)),
        Err(MetadataError::EntityIdTooLong { .. })
    ));
}

#[test]
fn rejects_unusable_sso_endpoints() {
    let with_sso = |sso: &str| {
        entity(
            "entityID=\"urn:idp\"",
            &idp_role(&format!("{}{sso}", key_descriptor(None, &test_cert_b64()))),
        )
    };
    for sso in [
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"javascript:alert(1)\"/>",
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https:///x\"/>",
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"/>",
        "<md:SingleSignOnService Location=\"https://idp.example.test/sso\"/>",
    ] {
        assert!(
            matches!(
                parse_str(&with_sso(sso)),
                Err(MetadataError::InvalidSsoService { index: 1, .. })
            ),
            "{sso}"
        );
    }
    let ok = with_sso(
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"HTTP://idp.example.test:8080/sso\"/>",
    );
    assert_eq!(
        parse_str(&ok).unwrap().post_sso_url(),
        Some("HTTP://idp.example.test:8080/sso")
    );
}

#[test]
fn error_messages_are_actionable() {
    let e = MetadataError::EntityIdRequired {
        count: 2,
        available: vec!["urn:a".into(), "urn:b".into()],
    };
    assert_eq!(
        e.to_string(),
        "the metadata describes 2 identity providers; say which one to use by its entity id: \"urn:a\", \"urn:b\""
    );
    let e = MetadataError::NotAnIdp {
        entity_id: "urn:aa".into(),
        roles: vec!["AttributeAuthorityDescriptor".into()],
    };
    assert!(
        e.to_string()
            .contains("it only has AttributeAuthorityDescriptor")
    );
    assert!(
        describe_certificate(b"nope")
            .unwrap_err()
            .to_string()
            .starts_with("signing certificate #1 is not an X.509 certificate")
    );
}
