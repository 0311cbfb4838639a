//! ECP envelopes: the SP's PAOS request round-trips, the IdP's answer gives back the exact
//! signed Response (still valid after extraction, also when it leans on the envelope's
//! namespace declarations), and faults, wrong addressees and odd shapes are refused.

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::saml::response::{Expectations, validate_response};
use crate::xmldsig::TrustedKeys;

const ACS: &str = "http://127.0.0.1:8080/saml-role/sso";

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
        recipient: ACS,
        now: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        skew: Duration::minutes(2),
        allow_sha1: false,
        decryption_key: None,
    }
}

/// The IdP's SOAP answer around `response` (its XML declaration removed), as pysaml2 builds
/// it: envelope-level prefixes, the ecp:Response header, the Response inserted as text.
fn idp_answer(response: &[u8], consumer: &str, envelope_decls: &str) -> Vec<u8> {
    let body = strip_xml_declaration(response);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ns0:Envelope xmlns:ns0=\"{NS_SOAP}\" \
         xmlns:ns1=\"{NS_ECP}\"{envelope_decls}><ns0:Header><ns1:Response \
         ns0:actor=\"http://schemas.xmlsoap.org/soap/actor/next\" ns0:mustUnderstand=\"1\" \
         AssertionConsumerServiceURL=\"{consumer}\"/></ns0:Header><ns0:Body>"
    )
    .into_bytes();
    out.extend_from_slice(body);
    out.extend_from_slice(b"</ns0:Body></ns0:Envelope>");
    out
}

#[test]
fn paos_request_round_trips() {
    let spec = AuthnRequestSpec {
        id: "_req1",
        issue_instant: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        sp_entity_id: "http://sp.test/saml-role",
        acs_url: "http://sp.test/saml-role/sso?a=1&b=\"2\"",
    };
    let envelope = paos_request(&spec);
    let got = parse_paos_request(envelope.as_bytes()).unwrap();
    assert_eq!(got.request_id, "_req1");
    assert_eq!(got.response_consumer_url, spec.acs_url);

    let doc = Document::parse(&got.authn_request).unwrap();
    let root = doc.root_element();
    assert!(root.has_name(NS_PROTOCOL, "AuthnRequest"));
    assert_eq!(root.attribute("ID"), Some("_req1"));
    assert_eq!(root.attribute("ProtocolBinding"), Some(BINDING_PAOS));
    assert_eq!(
        root.attribute("AssertionConsumerServiceURL"),
        Some(spec.acs_url)
    );
    assert_eq!(root.attribute("IssueInstant"), Some("2026-11-22T12:00:00Z"));
    let issuer = root.child_elements().next().unwrap();
    assert!(issuer.has_name(NS_ASSERTION, "Issuer"));
    assert_eq!(issuer.text(), "http://sp.test/saml-role");

    // What the client sends the IdP: the same AuthnRequest in a plain SOAP envelope.
    let to_idp = idp_request(&got.authn_request);
    let doc = Document::parse(&to_idp).unwrap();
    let body = soap_part(doc.root_element(), "Body").unwrap();
    let inner = body.child_elements().next().unwrap();
    assert!(inner.has_name(NS_PROTOCOL, "AuthnRequest"));
    assert!(
        to_idp
            .windows(got.authn_request.len())
            .any(|w| w == got.authn_request.as_slice())
    );
}

#[test]
fn extracted_responses_keep_their_signatures() {
    for name in ["response-assertion-signed.xml", "response-both-signed.xml"] {
        let xml = fixture(name);
        let answer = idp_answer(&xml, ACS, "");
        let got = parse_idp_response(&answer, ACS).unwrap();
        assert_eq!(got.assertion_consumer_url, ACS);
        assert!(
            got.response == strip_xml_declaration(&xml).trim_ascii_end(),
            "{name}: the extracted bytes differ from the signed document"
        );
        validate_response(&got.response, &keys(), &exp()).unwrap();
    }
}

#[test]
fn inherited_namespace_declarations_are_copied_onto_the_response() {
    // The Response's own saml and samlp declarations moved to the envelope: the extracted
    // element must carry them again, and the (assertion) signature must still verify.
    let xml = String::from_utf8(fixture("response-assertion-signed.xml")).unwrap();
    let stripped = xml.replacen(
        " xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"",
        "",
        1,
    );
    assert_ne!(
        stripped, xml,
        "the fixture's Response declares both prefixes"
    );
    assert!(Document::parse(stripped.as_bytes()).is_err());
    let answer = idp_answer(
        stripped.as_bytes(),
        ACS,
        " xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" xmlns:unused=\"urn:unused\"",
    );
    let got = parse_idp_response(&answer, ACS).unwrap();
    let text = String::from_utf8(got.response.clone()).unwrap();
    assert!(text.starts_with("<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID="), "{}", &text[..200]);
    assert!(
        !text.contains("urn:unused"),
        "unused declarations are not copied"
    );
    assert!(
        !text.contains(NS_SOAP),
        "the envelope's own namespace is not copied"
    );
    validate_response(&got.response, &keys(), &exp()).unwrap();
}

#[test]
fn a_soap_fault_is_reported_with_its_reason() {
    let fault = format!(
        "<S:Envelope xmlns:S=\"{NS_SOAP}\"><S:Body><S:Fault><faultcode>S:Client</faultcode>\
         <faultstring>Unknown user or wrong password</faultstring></S:Fault></S:Body></S:Envelope>"
    );
    assert_eq!(
        parse_idp_response(fault.as_bytes(), ACS),
        Err(EcpError::Fault("Unknown user or wrong password".into()))
    );
}

#[test]
fn a_response_for_another_consumer_is_refused() {
    let answer = idp_answer(
        &fixture("response-assertion-signed.xml"),
        "https://evil.test/acs",
        "",
    );
    assert_eq!(
        parse_idp_response(&answer, ACS),
        Err(EcpError::ConsumerMismatch {
            idp: "https://evil.test/acs".into(),
            sp: ACS.into()
        })
    );
}

#[test]
fn odd_shapes_are_refused() {
    let response = fixture("response-assertion-signed.xml");
    let body = std::str::from_utf8(strip_xml_declaration(&response)).unwrap();
    let header = format!(
        "<S:Header><ecp:Response xmlns:ecp=\"{NS_ECP}\" AssertionConsumerServiceURL=\"{ACS}\"/></S:Header>"
    );
    let cases = [
        // Not SOAP.
        body.to_string(),
        // SOAP 1.2 namespace.
        format!(
            "<S:Envelope xmlns:S=\"http://www.w3.org/2003/05/soap-envelope\">{header}<S:Body>{body}</S:Body></S:Envelope>"
        ),
        // Two elements in the Body (a wrapping attempt).
        format!(
            "<S:Envelope xmlns:S=\"{NS_SOAP}\">{header}<S:Body>{body}{body}</S:Body></S:Envelope>"
        ),
        // No ecp:Response header.
        format!("<S:Envelope xmlns:S=\"{NS_SOAP}\"><S:Body>{body}</S:Body></S:Envelope>"),
        // Not a Response in the Body.
        format!("<S:Envelope xmlns:S=\"{NS_SOAP}\">{header}<S:Body><x/></S:Body></S:Envelope>"),
        // Empty Body.
        format!("<S:Envelope xmlns:S=\"{NS_SOAP}\">{header}<S:Body/></S:Envelope>"),
        // A DOCTYPE (entity expansion) is refused by the strict parser.
        format!(
            "<!DOCTYPE x [<!ENTITY a \"b\">]><S:Envelope xmlns:S=\"{NS_SOAP}\">{header}<S:Body>{body}</S:Body></S:Envelope>"
        ),
    ];
    for (i, case) in cases.iter().enumerate() {
        match parse_idp_response(case.as_bytes(), ACS) {
            Err(EcpError::Malformed { .. }) => {}
            other => panic!("case {i}: {other:?}"),
        }
    }
    let too_big = vec![b' '; MAX_MESSAGE_BYTES + 1];
    assert!(matches!(
        parse_idp_response(&too_big, ACS),
        Err(EcpError::Malformed { .. })
    ));
    // A PAOS request without its header or with something else in the body.
    for case in [
        format!(
            "<S:Envelope xmlns:S=\"{NS_SOAP}\"><S:Body><samlp:AuthnRequest xmlns:samlp=\"{NS_PROTOCOL}\" ID=\"a\"/></S:Body></S:Envelope>"
        ),
        format!(
            "<S:Envelope xmlns:S=\"{NS_SOAP}\"><S:Header><paos:Request xmlns:paos=\"{NS_PAOS}\" responseConsumerURL=\"{ACS}\"/></S:Header><S:Body><x/></S:Body></S:Envelope>"
        ),
        format!(
            "<S:Envelope xmlns:S=\"{NS_SOAP}\"><S:Header><paos:Request xmlns:paos=\"{NS_PAOS}\" responseConsumerURL=\"{ACS}\"/></S:Header><S:Body><samlp:AuthnRequest xmlns:samlp=\"{NS_PROTOCOL}\"/></S:Body></S:Envelope>"
        ),
    ] {
        assert!(
            matches!(
                parse_paos_request(case.as_bytes()),
                Err(EcpError::Malformed { .. })
            ),
            "{case}"
        );
    }
}
