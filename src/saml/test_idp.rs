//! A minimal SAML IdP response builder for tests, benchmarks and the load generator: builds a
//! Response in the shape commercial IdPs send (compact, Assertion signed after its Issuer) and
//! signs it with `xmldsig::sign_element`. The server never uses this module.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::response::{BEARER, NS_ASSERTION, NS_PROTOCOL, STATUS_SUCCESS};
use super::{ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE};
use crate::xmldsig::{SignOptions, SigningKey, XmlDsigError, sign_element};

/// Everything a test response says; every field may be changed before building.
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    /// Response ID.
    pub response_id: String,
    /// Assertion ID.
    pub assertion_id: String,
    /// Issuer (Response and Assertion).
    pub issuer: String,
    /// Response Destination (`None` omits it).
    pub destination: Option<String>,
    /// SubjectConfirmationData Recipient.
    pub recipient: String,
    /// Audience.
    pub audience: String,
    /// NameID text (inserted verbatim, so tests can put markup in it).
    pub name_id_xml: String,
    /// NameID Format.
    pub name_id_format: String,
    /// IssueInstant.
    pub issue_instant: DateTime<Utc>,
    /// Conditions NotBefore.
    pub not_before: DateTime<Utc>,
    /// Conditions NotOnOrAfter.
    pub not_on_or_after: DateTime<Utc>,
    /// SubjectConfirmationData NotOnOrAfter.
    pub confirmation_not_on_or_after: DateTime<Utc>,
    /// InResponseTo on the confirmation and the Response.
    pub in_response_to: Option<String>,
    /// Status code value.
    pub status: String,
    /// Confirmation method.
    pub method: String,
    /// Attributes: name and values (values are escaped).
    pub attributes: Vec<(String, Vec<String>)>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Escapes text and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl ResponseBuilder {
    /// A valid role-SSO response from `issuer` to `acs` for `audience` at `now`, with fresh ids.
    pub fn new(issuer: &str, acs: &str, audience: &str, now: DateTime<Utc>) -> ResponseBuilder {
        ResponseBuilder {
            response_id: format!("_r{}", uuid::Uuid::new_v4().simple()),
            assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
            issuer: issuer.into(),
            destination: Some(acs.into()),
            recipient: acs.into(),
            audience: audience.into(),
            name_id_xml: "alice@example.test".into(),
            name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into(),
            issue_instant: now,
            not_before: now - Duration::minutes(1),
            not_on_or_after: now + Duration::minutes(5),
            confirmation_not_on_or_after: now + Duration::minutes(5),
            in_response_to: None,
            status: STATUS_SUCCESS.into(),
            method: BEARER.into(),
            attributes: vec![(
                ROLE_SESSION_NAME_ATTRIBUTE.into(),
                vec!["alice@example.test".into()],
            )],
        }
    }

    /// Adds a Role attribute value `<role>,<provider>`.
    pub fn role(mut self, role_arn: &str, provider_arn: &str) -> ResponseBuilder {
        let value = format!("{role_arn},{provider_arn}");
        match self
            .attributes
            .iter_mut()
            .find(|(n, _)| n == ROLE_ATTRIBUTE)
        {
            Some((_, v)) => v.push(value),
            None => self.attributes.push((ROLE_ATTRIBUTE.into(), vec![value])),
        }
        self
    }

    /// Replaces (or removes, with an empty list) an attribute.
    pub fn attribute(mut self, name: &str, values: &[&str]) -> ResponseBuilder {
        self.attributes.retain(|(n, _)| n != name);
        if !values.is_empty() {
            self.attributes
                .push((name.into(), values.iter().map(|v| v.to_string()).collect()));
        }
        self
    }

    /// The Assertion element alone (unsigned).
    pub fn assertion_xml(&self) -> String {
        let irt = self
            .in_response_to
            .as_ref()
            .map(|i| format!(" InResponseTo=\"{}\"", escape(i)))
            .unwrap_or_default();
        let attrs: String = self
            .attributes
            .iter()
            .map(|(n, vs)| {
                let values: String = vs
                    .iter()
                    .map(|v| {
                        format!(
                            "<saml:AttributeValue xsi:type=\"xs:string\">{}</saml:AttributeValue>",
                            escape(v)
                        )
                    })
                    .collect();
                format!(
                    "<saml:Attribute Name=\"{}\">{values}</saml:Attribute>",
                    escape(n)
                )
            })
            .collect();
        format!(
            "<saml:Assertion xmlns:saml=\"{NS_ASSERTION}\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"{aid}\" Version=\"2.0\" IssueInstant=\"{ii}\">\
             <saml:Issuer>{iss}</saml:Issuer>\
             <saml:Subject><saml:NameID Format=\"{nf}\">{nid}</saml:NameID>\
             <saml:SubjectConfirmation Method=\"{method}\"><saml:SubjectConfirmationData NotOnOrAfter=\"{scd}\" Recipient=\"{rcp}\"{irt}/></saml:SubjectConfirmation></saml:Subject>\
             <saml:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{na}\"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>\
             <saml:AuthnStatement AuthnInstant=\"{ii}\"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>\
             <saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>",
            aid = escape(&self.assertion_id),
            ii = time(self.issue_instant),
            iss = escape(&self.issuer),
            nf = escape(&self.name_id_format),
            nid = self.name_id_xml,
            method = escape(&self.method),
            scd = time(self.confirmation_not_on_or_after),
            rcp = escape(&self.recipient),
            nb = time(self.not_before),
            na = time(self.not_on_or_after),
            aud = escape(&self.audience),
        )
    }

    /// The whole Response with `assertion` (already signed or not) inside.
    pub fn response_xml_with(&self, assertion: &str) -> String {
        let dest = self
            .destination
            .as_ref()
            .map(|d| format!(" Destination=\"{}\"", escape(d)))
            .unwrap_or_default();
        let irt = self
            .in_response_to
            .as_ref()
            .map(|i| format!(" InResponseTo=\"{}\"", escape(i)))
            .unwrap_or_default();
        format!(
            "<samlp:Response xmlns:samlp=\"{NS_PROTOCOL}\" xmlns:saml=\"{NS_ASSERTION}\" ID=\"{rid}\" Version=\"2.0\" \
             IssueInstant=\"{ii}\"{dest}{irt}><saml:Issuer>{iss}</saml:Issuer>\
             <samlp:Status><samlp:StatusCode Value=\"{st}\"/></samlp:Status>{assertion}</samlp:Response>",
            rid = escape(&self.response_id),
            ii = time(self.issue_instant),
            iss = escape(&self.issuer),
            st = escape(&self.status),
        )
    }

    /// The Response with its Assertion signed (the common IdP shape).
    pub fn sign_assertion(&self, key: &SigningKey) -> Result<Vec<u8>, XmlDsigError> {
        let unsigned = self.response_xml_with(&self.assertion_xml());
        sign_element(unsigned.as_bytes(), &self.assertion_id, key, &sign_opts())
    }

    /// The Response signed as a whole (Assertion unsigned inside).
    pub fn sign_response(&self, key: &SigningKey) -> Result<Vec<u8>, XmlDsigError> {
        let unsigned = self.response_xml_with(&self.assertion_xml());
        sign_element(unsigned.as_bytes(), &self.response_id, key, &sign_opts())
    }

    /// Both signed: the Assertion first, then the Response around it.
    pub fn sign_both(&self, key: &SigningKey) -> Result<Vec<u8>, XmlDsigError> {
        let inner = self.sign_assertion(key)?;
        sign_element(&inner, &self.response_id, key, &sign_opts())
    }
}

fn sign_opts() -> SignOptions {
    SignOptions {
        id_attribute: "ID",
        inclusive_prefixes: vec!["xs".into()],
    }
}
