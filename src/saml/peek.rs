//! Unverified reads of a SAML Response, for ROUTING ONLY: which provider ARNs its Role attribute
//! names (role-based SSO has no provider in the URL) and which Audience it is meant for
//! (user-based SSO shares one ACS across accounts). Nothing read here is trusted: the caller
//! then runs [`super::validate_response`] against the provider or account found, and uses only
//! the verified assertion. A forged value can at most select a provider whose keys then refuse
//! the signature.

use super::response::NS_ASSERTION;
use crate::xmldsig::{Document, Element, ParseLimits};

/// At most this many distinct values are returned (bounds the verification work per request).
pub const MAX_CANDIDATES: usize = 8;

fn parse(xml: &[u8]) -> Option<Document> {
    let limits = ParseLimits {
        max_depth: 64,
        max_nodes: 20_000,
        ..ParseLimits::default()
    };
    Document::parse_with_limits(xml, &limits).ok()
}

fn walk<'a>(e: Element<'a>, visit: &mut dyn FnMut(Element<'a>)) {
    visit(e);
    for c in e.child_elements() {
        walk(c, visit);
    }
}

fn push_unique(out: &mut Vec<String>, v: String) {
    if out.len() < MAX_CANDIDATES && !out.contains(&v) {
        out.push(v);
    }
}

/// The distinct SAML provider ARNs named in `attribute` values of the form
/// `<role ARN>,<provider ARN>` (either order), in document order.
pub fn provider_arns(xml: &[u8], attribute: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(doc) = parse(xml) else {
        return out;
    };
    walk(doc.root_element(), &mut |e| {
        if e.has_name(NS_ASSERTION, "Attribute") && e.attribute("Name") == Some(attribute) {
            for v in e
                .child_elements()
                .filter(|c| c.has_name(NS_ASSERTION, "AttributeValue"))
            {
                let text = v.text();
                for part in text.split(',').map(str::trim) {
                    if part.starts_with("acs:ram::") && part.contains(":saml-provider/") {
                        push_unique(&mut out, part.to_string());
                    }
                }
            }
        }
    });
    out
}

/// The distinct Audience values, in document order.
pub fn audiences(xml: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(doc) = parse(xml) else {
        return out;
    };
    walk(doc.root_element(), &mut |e| {
        if e.has_name(NS_ASSERTION, "Audience") {
            push_unique(&mut out, e.text().trim().to_string());
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">
<saml:Assertion><saml:Conditions><saml:AudienceRestriction><saml:Audience> https://sp/1234567890123456/saml/SSO </saml:Audience><saml:Audience>https://sp/1234567890123456/saml/SSO</saml:Audience></saml:AudienceRestriction></saml:Conditions>
<saml:AttributeStatement><saml:Attribute Name="R">
<saml:AttributeValue>acs:ram::1111111111111111:role/a,acs:ram::1111111111111111:saml-provider/p</saml:AttributeValue>
<saml:AttributeValue>acs:ram::2222222222222222:saml-provider/q, acs:ram::2222222222222222:role/b</saml:AttributeValue>
<saml:AttributeValue>acs:ram::1111111111111111:role/c,acs:ram::1111111111111111:saml-provider/p</saml:AttributeValue>
</saml:Attribute><saml:Attribute Name="Other"><saml:AttributeValue>acs:ram::3333333333333333:saml-provider/x</saml:AttributeValue></saml:Attribute>
</saml:AttributeStatement></saml:Assertion></samlp:Response>"#;

    #[test]
    fn provider_arns_are_distinct_in_order_and_only_from_the_named_attribute() {
        assert_eq!(
            provider_arns(DOC.as_bytes(), "R"),
            [
                "acs:ram::1111111111111111:saml-provider/p",
                "acs:ram::2222222222222222:saml-provider/q"
            ]
        );
        assert!(provider_arns(DOC.as_bytes(), "Missing").is_empty());
        assert!(provider_arns(b"not xml", "R").is_empty());
    }

    #[test]
    fn audiences_are_trimmed_and_distinct() {
        assert_eq!(
            audiences(DOC.as_bytes()),
            ["https://sp/1234567890123456/saml/SSO"]
        );
        assert!(audiences(b"<!DOCTYPE x []><x/>").is_empty());
    }
}
