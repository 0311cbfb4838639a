//! SAML 2.0 ECP (Enhanced Client or Proxy profile, SAML profiles §4.2, with the PAOS and SOAP
//! bindings) as `rambridge login --ecp` uses it:
//!
//! 1. rambridge (the SP) answers the CLI with a PAOS request: a SOAP envelope whose header
//!    carries `paos:Request` (the `responseConsumerURL`) and `ecp:Request`, and whose body is a
//!    `samlp:AuthnRequest` ([`paos_request`]; the server records its ID so the Response's
//!    `InResponseTo` is checked by `AssumeRoleWithSAML`).
//! 2. The CLI takes the AuthnRequest out ([`parse_paos_request`]) and posts it to the IdP in a
//!    SOAP envelope of its own ([`idp_request`]), authenticating with HTTP Basic.
//! 3. The IdP answers with a SOAP envelope: `ecp:Response` (the `AssertionConsumerServiceURL`)
//!    in the header and the `samlp:Response` in the body. The CLI checks that URL against the
//!    SP's `responseConsumerURL` (profiles §4.2.4.5) and takes the Response out
//!    ([`parse_idp_response`]) for `AssumeRoleWithSAML`, which verifies it.
//!
//! The messages are taken out of their envelopes as the exact bytes received, so signatures
//! stay intact; namespace declarations the element inherited from the envelope and uses are
//! copied onto it, so it stands alone. Nothing read here is trusted: the server validates.

use chrono::{DateTime, SecondsFormat, Utc};

use super::response::{NS_ASSERTION, NS_PROTOCOL};
use crate::xmldsig::dom::Kind;
use crate::xmldsig::{Document, Element, ParseLimits};

/// Content type of a PAOS message (ECP profile §4.2.3.1).
pub const PAOS_CONTENT_TYPE: &str = "application/vnd.paos+xml";
/// The `PAOS` HTTP header an ECP client sends to say it speaks PAOS and the ECP service.
pub const PAOS_HEADER: &str =
    "ver=\"urn:liberty:paos:2003-08\";\"urn:oasis:names:tc:SAML:2.0:profiles:SSO:ecp\"";
/// PAOS binding URI (the AuthnRequest's `ProtocolBinding`).
pub const BINDING_PAOS: &str = "urn:oasis:names:tc:SAML:2.0:bindings:PAOS";
/// SOAP 1.1 envelope namespace.
pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// PAOS namespace.
pub const NS_PAOS: &str = "urn:liberty:paos:2003-08";
/// ECP profile namespace.
pub const NS_ECP: &str = "urn:oasis:names:tc:SAML:2.0:profiles:SSO:ecp";
/// Largest SOAP message read.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;
const SOAP_ACTOR_NEXT: &str = "http://schemas.xmlsoap.org/soap/actor/next";

/// Why an ECP message could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcpError {
    /// Not well-formed, too large, or not the expected SOAP shape.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The IdP answered with a SOAP Fault.
    #[error("the IdP returned a SOAP fault: {0}")]
    Fault(String),
    /// The IdP's `AssertionConsumerServiceURL` is not the SP's `responseConsumerURL`.
    #[error(
        "the IdP addressed its response to {idp:?}, but rambridge expects it at {sp:?} \
         (ECP profile §4.2.4.5)"
    )]
    ConsumerMismatch {
        /// `ecp:Response/@AssertionConsumerServiceURL`.
        idp: String,
        /// `paos:Request/@responseConsumerURL`.
        sp: String,
    },
}

fn malformed(what: &'static str, detail: impl Into<String>) -> EcpError {
    EcpError::Malformed {
        what,
        detail: detail.into(),
    }
}

/// What the SP puts into its AuthnRequest.
#[derive(Debug, Clone)]
pub struct AuthnRequestSpec<'a> {
    /// Request ID (an NCName; `InResponseTo` of the answer).
    pub id: &'a str,
    /// IssueInstant.
    pub issue_instant: DateTime<Utc>,
    /// SP entity ID (Issuer).
    pub sp_entity_id: &'a str,
    /// ACS URL: where the Response is addressed (Destination, Recipient).
    pub acs_url: &'a str,
}

/// Escapes text and attribute values.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The SP's PAOS request: SOAP envelope with `paos:Request` and `ecp:Request` headers and an
/// unsigned `samlp:AuthnRequest` asking for a PAOS response at the ACS URL.
pub fn paos_request(spec: &AuthnRequestSpec<'_>) -> String {
    let id = escape(spec.id);
    let sp = escape(spec.sp_entity_id);
    let acs = escape(spec.acs_url);
    let instant = spec
        .issue_instant
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    format!(
        "<S:Envelope xmlns:S=\"{NS_SOAP}\"><S:Header>\
         <paos:Request xmlns:paos=\"{NS_PAOS}\" S:actor=\"{SOAP_ACTOR_NEXT}\" S:mustUnderstand=\"1\" \
         responseConsumerURL=\"{acs}\" service=\"{NS_ECP}\" messageID=\"{id}\"/>\
         <ecp:Request xmlns:ecp=\"{NS_ECP}\" S:actor=\"{SOAP_ACTOR_NEXT}\" S:mustUnderstand=\"1\" \
         ProviderName=\"rambridge\" IsPassive=\"0\"><saml:Issuer xmlns:saml=\"{NS_ASSERTION}\">{sp}</saml:Issuer>\
         </ecp:Request></S:Header><S:Body>\
         <samlp:AuthnRequest xmlns:samlp=\"{NS_PROTOCOL}\" xmlns:saml=\"{NS_ASSERTION}\" ID=\"{id}\" \
         Version=\"2.0\" IssueInstant=\"{instant}\" AssertionConsumerServiceURL=\"{acs}\" \
         ProtocolBinding=\"{BINDING_PAOS}\"><saml:Issuer>{sp}</saml:Issuer></samlp:AuthnRequest>\
         </S:Body></S:Envelope>"
    )
}

/// The AuthnRequest an ECP client took out of the SP's PAOS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpRequest {
    /// The `samlp:AuthnRequest` element as a standalone document.
    pub authn_request: Vec<u8>,
    /// Its ID.
    pub request_id: String,
    /// `paos:Request/@responseConsumerURL`.
    pub response_consumer_url: String,
}

/// The Response an ECP client took out of the IdP's SOAP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpResponse {
    /// The `samlp:Response` element as a standalone document (bytes as signed).
    pub response: Vec<u8>,
    /// `ecp:Response/@AssertionConsumerServiceURL`.
    pub assertion_consumer_url: String,
}

fn limits() -> ParseLimits {
    ParseLimits {
        max_depth: 64,
        ..ParseLimits::default()
    }
}

/// Parses a SOAP 1.1 envelope; returns the document after checking its root.
fn envelope(input: &[u8], what: &'static str) -> Result<Document, EcpError> {
    if input.len() > MAX_MESSAGE_BYTES {
        return Err(malformed(
            what,
            format!("larger than {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    let doc = Document::parse_with_limits(input, &limits())
        .map_err(|e| malformed(what, e.to_string()))?;
    let root = doc.root_element();
    if !root.has_name(NS_SOAP, "Envelope") {
        return Err(malformed(
            what,
            format!(
                "the root element is <{}>, not a SOAP 1.1 Envelope",
                root.qualified_name()
            ),
        ));
    }
    Ok(doc)
}

fn soap_part<'a>(root: Element<'a>, name: &str) -> Option<Element<'a>> {
    root.child_elements().find(|e| e.has_name(NS_SOAP, name))
}

/// The single element inside the SOAP Body.
fn body_child<'a>(root: Element<'a>, what: &'static str) -> Result<Element<'a>, EcpError> {
    let body = soap_part(root, "Body").ok_or_else(|| malformed(what, "no SOAP Body"))?;
    let mut children = body.child_elements();
    match (children.next(), children.next()) {
        (Some(e), None) => Ok(e),
        (None, _) => Err(malformed(what, "the SOAP Body is empty")),
        (Some(_), Some(_)) => Err(malformed(what, "the SOAP Body holds more than one element")),
    }
}

/// A header block with this name, if any.
fn header_block<'a>(root: Element<'a>, ns: &str, name: &str) -> Option<Element<'a>> {
    soap_part(root, "Header")?
        .child_elements()
        .find(|e| e.has_name(ns, name))
}

/// ECP client: takes the AuthnRequest and the `responseConsumerURL` out of the SP's PAOS
/// request.
pub fn parse_paos_request(input: &[u8]) -> Result<SpRequest, EcpError> {
    const WHAT: &str = "PAOS request from rambridge";
    let doc = envelope(input, WHAT)?;
    let root = doc.root_element();
    let paos = header_block(root, NS_PAOS, "Request")
        .ok_or_else(|| malformed(WHAT, "no paos:Request header block"))?;
    let consumer = paos
        .attribute("responseConsumerURL")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| malformed(WHAT, "paos:Request has no responseConsumerURL"))?;
    let request = body_child(root, WHAT)?;
    if !request.has_name(NS_PROTOCOL, "AuthnRequest") {
        return Err(malformed(
            WHAT,
            format!(
                "the SOAP Body holds <{}>, not a samlp:AuthnRequest",
                request.qualified_name()
            ),
        ));
    }
    let request_id = request
        .attribute("ID")
        .filter(|i| !i.is_empty())
        .ok_or_else(|| malformed(WHAT, "the AuthnRequest has no ID"))?;
    Ok(SpRequest {
        authn_request: standalone(&doc, request, input, WHAT)?,
        request_id: request_id.to_string(),
        response_consumer_url: consumer.to_string(),
    })
}

/// ECP client: the SOAP envelope carrying `authn_request` (a standalone AuthnRequest document)
/// to the IdP.
pub fn idp_request(authn_request: &[u8]) -> Vec<u8> {
    let body = strip_xml_declaration(authn_request);
    let mut out = Vec::with_capacity(body.len() + 160);
    out.extend_from_slice(format!("<S:Envelope xmlns:S=\"{NS_SOAP}\"><S:Body>").as_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(b"</S:Body></S:Envelope>");
    out
}

fn strip_xml_declaration(doc: &[u8]) -> &[u8] {
    let trimmed = doc.trim_ascii_start();
    if trimmed.starts_with(b"<?xml")
        && let Some(end) = trimmed.windows(2).position(|w| w == b"?>")
    {
        return trimmed
            .get(end + 2..)
            .unwrap_or_default()
            .trim_ascii_start();
    }
    trimmed
}

/// ECP client: takes the `samlp:Response` out of the IdP's SOAP answer and checks that the
/// IdP addressed it to `expected_consumer` (the SP's `responseConsumerURL`). A SOAP Fault
/// becomes [`EcpError::Fault`] with its `faultstring`.
pub fn parse_idp_response(input: &[u8], expected_consumer: &str) -> Result<IdpResponse, EcpError> {
    const WHAT: &str = "SOAP response from the IdP";
    let doc = envelope(input, WHAT)?;
    let root = doc.root_element();
    let child = body_child(root, WHAT)?;
    if child.has_name(NS_SOAP, "Fault") {
        let text = |name: &str| {
            child
                .child_elements()
                .find(|e| e.local_name() == name)
                .map(|e| e.text().trim().to_string())
                .filter(|t| !t.is_empty())
        };
        let reason = match (text("faultstring"), text("faultcode")) {
            (Some(s), _) => s,
            (None, Some(c)) => c,
            (None, None) => "no faultstring".into(),
        };
        return Err(EcpError::Fault(reason));
    }
    if !child.has_name(NS_PROTOCOL, "Response") {
        return Err(malformed(
            WHAT,
            format!(
                "the SOAP Body holds <{}>, not a samlp:Response",
                child.qualified_name()
            ),
        ));
    }
    let ecp = header_block(root, NS_ECP, "Response")
        .ok_or_else(|| malformed(WHAT, "no ecp:Response header block"))?;
    let consumer = ecp
        .attribute("AssertionConsumerServiceURL")
        .unwrap_or_default();
    if consumer != expected_consumer {
        return Err(EcpError::ConsumerMismatch {
            idp: consumer.to_string(),
            sp: expected_consumer.to_string(),
        });
    }
    Ok(IdpResponse {
        response: standalone(&doc, child, input, WHAT)?,
        assertion_consumer_url: consumer.to_string(),
    })
}

/// The exact source bytes of `el`, with the namespace declarations it inherits from outside
/// and uses (in element or attribute names, or as the prefix of an attribute value such as
/// `xsi:type="xs:string"`) added to its start tag. Nothing else changes, so the element's
/// signatures (exclusive c14n) still verify.
fn standalone(
    doc: &Document,
    el: Element<'_>,
    input: &[u8],
    what: &'static str,
) -> Result<Vec<u8>, EcpError> {
    let (tag_end, end) = match doc.node(el.node_id().0).map(|n| &n.kind) {
        Some(Kind::Element(d)) => (d.src_start_tag_end as usize, d.src_end as usize),
        _ => return Err(malformed(what, "element position unavailable")),
    };
    // A start tag holds no '<' besides its first character ('<' cannot appear unescaped in
    // attribute values), so the last '<' before the tag's end opens it.
    let head = input
        .get(..tag_end)
        .ok_or_else(|| malformed(what, "element position out of range"))?;
    let start = head
        .iter()
        .rposition(|&b| b == b'<')
        .ok_or_else(|| malformed(what, "element start not found"))?;
    let source = input
        .get(start..end)
        .ok_or_else(|| malformed(what, "element position out of range"))?;
    let name_end = 1 + el.qualified_name().len();
    if source.get(1..name_end) != Some(el.qualified_name().as_bytes()) {
        return Err(malformed(what, "element start does not match its name"));
    }

    let mut used: Vec<Option<&str>> = Vec::new();
    collect_prefixes(el, &mut used);
    let declared_here: Vec<Option<&str>> = el.namespace_declarations().map(|(p, _)| p).collect();
    let mut extra = String::new();
    for prefix in used {
        if declared_here.contains(&prefix) || prefix == Some("xml") {
            continue;
        }
        if let Some(uri) = inherited(el, prefix).filter(|u| !u.is_empty()) {
            match prefix {
                Some(p) => extra.push_str(&format!(" xmlns:{p}=\"{}\"", escape(uri))),
                None => extra.push_str(&format!(" xmlns=\"{}\"", escape(uri))),
            }
        }
    }
    let mut out = Vec::with_capacity(source.len() + extra.len());
    out.extend_from_slice(source.get(..name_end).unwrap_or_default());
    out.extend_from_slice(extra.as_bytes());
    out.extend_from_slice(source.get(name_end..).unwrap_or_default());
    // The result must stand alone.
    Document::parse_with_limits(&out, &limits()).map_err(|e| {
        malformed(
            what,
            format!("the extracted element is not a standalone document: {e}"),
        )
    })?;
    Ok(out)
}

/// Prefixes (`None` = default namespace) used by `el` and its descendants.
fn collect_prefixes<'a>(el: Element<'a>, out: &mut Vec<Option<&'a str>>) {
    let mut add = |p: Option<&'a str>| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    match el.prefix() {
        Some(p) => add(Some(p)),
        None if el.namespace_uri().is_some() => add(None),
        None => {}
    }
    for a in el.attributes() {
        if let Some(p) = a.prefix {
            add(Some(p));
        }
        if let Some((p, rest)) = a.value.split_once(':')
            && !p.is_empty()
            && !rest.starts_with("//")
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            add(Some(p));
        }
    }
    for c in el.child_elements() {
        collect_prefixes(c, out);
    }
}

/// The namespace `prefix` is bound to on `el`'s ancestors (nearest declaration wins).
fn inherited<'a>(el: Element<'a>, prefix: Option<&str>) -> Option<&'a str> {
    let mut at = el.parent();
    while let Some(p) = at {
        if let Some((_, uri)) = p.namespace_declarations().find(|(q, _)| *q == prefix) {
            return Some(uri);
        }
        at = p.parent();
    }
    None
}

#[cfg(test)]
mod tests;
