//! The roles a SAML Response offers, read by `rambridge login` to choose which one to ask for
//! (spec §8.1: Role attribute values `<RoleArn>,<SAMLProviderArn>`).
//!
//! Nothing here is verified, on purpose: the CLI only carries the Response to
//! `AssumeRoleWithSAML`, where the server checks the signature and refuses any role the
//! verified assertion does not name. A forged value here can at worst make the CLI ask for a
//! role the server then refuses. Parsing still goes through the strict tree (no DTDs, bounded).

use super::ROLE_ATTRIBUTE;
use super::error::SamlError;
use super::response::{MAX_RESPONSE_BYTES, NS_ASSERTION, NS_PROTOCOL, STATUS_SUCCESS};
use crate::xmldsig::{Document, Element, ParseLimits};

/// One Role attribute value: a role and the provider that vouches for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OfferedRole {
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    /// `acs:ram::<account>:saml-provider/<name>`.
    pub provider_arn: String,
}

impl OfferedRole {
    /// The role's account id (from its ARN).
    pub fn account_id(&self) -> &str {
        role_account_id(&self.role_arn)
    }

    /// The role's name (from its ARN).
    pub fn role_name(&self) -> &str {
        role_name(&self.role_arn)
    }

    /// The provider's name (from its ARN).
    pub fn provider_name(&self) -> &str {
        self.provider_arn
            .split_once(":saml-provider/")
            .map_or(self.provider_arn.as_str(), |(_, n)| n)
    }
}

/// The account id of a role ARN `acs:ram::<account>:role/<name>` (empty when not one).
pub fn role_account_id(role_arn: &str) -> &str {
    role_arn
        .strip_prefix("acs:ram::")
        .and_then(|r| r.split_once(':'))
        .map_or("", |(a, _)| a)
}

/// The name of a role ARN (the whole text when not one).
pub fn role_name(role_arn: &str) -> &str {
    role_arn.split_once(":role/").map_or(role_arn, |(_, n)| n)
}

/// What the Response says about roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offered {
    /// The Role attribute's values, in document order, duplicates removed. Values that are
    /// not a role/provider ARN pair are skipped (the server would refuse them too).
    Roles(Vec<OfferedRole>),
    /// The assertion is encrypted for the SP: only the server can read it.
    Encrypted,
}

/// Reads a Response given as XML or as base64 (the `SAMLResponse` form value).
pub fn decode_any(input: &[u8]) -> Result<Vec<u8>, SamlError> {
    let text = input.trim_ascii();
    if text.first() == Some(&b'<') {
        if text.len() > MAX_RESPONSE_BYTES {
            return Err(SamlError::Malformed("the response is too large".into()));
        }
        return Ok(text.to_vec());
    }
    let s = std::str::from_utf8(text)
        .map_err(|_| SamlError::Malformed("neither XML nor base64".into()))?;
    super::response::decode(s)
}

/// The roles offered by a Response (XML bytes). Refuses documents that are not a SAML
/// Response and Responses whose status is not Success.
pub fn offered_roles(xml: &[u8]) -> Result<Offered, SamlError> {
    let limits = ParseLimits {
        max_depth: 64,
        max_nodes: 20_000,
        ..ParseLimits::default()
    };
    let doc = Document::parse_with_limits(xml, &limits)
        .map_err(|e| SamlError::Malformed(e.to_string()))?;
    let root = doc.root_element();
    if !root.has_name(NS_PROTOCOL, "Response") {
        return Err(SamlError::NotAResponse(root.qualified_name().to_string()));
    }
    let status = child(root, NS_PROTOCOL, "Status")
        .and_then(|s| child(s, NS_PROTOCOL, "StatusCode"))
        .and_then(|c| c.attribute("Value"))
        .unwrap_or("(none)");
    if status != STATUS_SUCCESS {
        let message = child(root, NS_PROTOCOL, "Status")
            .and_then(|s| child(s, NS_PROTOCOL, "StatusMessage"))
            .map(|m| format!("{status} ({})", m.text().trim()))
            .unwrap_or_else(|| status.to_string());
        return Err(SamlError::Status(message));
    }
    let assertions: Vec<Element<'_>> = root
        .child_elements()
        .filter(|e| e.has_name(NS_ASSERTION, "Assertion"))
        .collect();
    let assertion = match assertions.as_slice() {
        [one] => *one,
        [] if child(root, NS_ASSERTION, "EncryptedAssertion").is_some() => {
            return Ok(Offered::Encrypted);
        }
        other => {
            return Err(SamlError::AssertionCount(format!(
                "found {} Assertion elements",
                other.len()
            )));
        }
    };
    let mut roles: Vec<OfferedRole> = Vec::new();
    for statement in assertion
        .child_elements()
        .filter(|e| e.has_name(NS_ASSERTION, "AttributeStatement"))
    {
        for attribute in statement
            .child_elements()
            .filter(|e| e.has_name(NS_ASSERTION, "Attribute"))
            .filter(|e| e.attribute("Name") == Some(ROLE_ATTRIBUTE))
        {
            for value in attribute
                .child_elements()
                .filter(|e| e.has_name(NS_ASSERTION, "AttributeValue"))
            {
                if let Some(role) = pair(value.text().trim())
                    && !roles.contains(&role)
                {
                    roles.push(role);
                }
            }
        }
    }
    Ok(Offered::Roles(roles))
}

fn child<'a>(e: Element<'a>, ns: &str, name: &str) -> Option<Element<'a>> {
    e.child_elements().find(|c| c.has_name(ns, name))
}

/// `<role>,<provider>` in either order (as the server accepts them).
fn pair(value: &str) -> Option<OfferedRole> {
    let mut parts = value.split(',').map(str::trim);
    let (a, b) = match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), None) => (a, b),
        _ => return None,
    };
    let is_role = |s: &str| s.starts_with("acs:ram::") && s.contains(":role/");
    let is_provider = |s: &str| s.starts_with("acs:ram::") && s.contains(":saml-provider/");
    let (role, provider) = if is_role(a) && is_provider(b) {
        (a, b)
    } else if is_role(b) && is_provider(a) {
        (b, a)
    } else {
        return None;
    };
    Some(OfferedRole {
        role_arn: role.to_string(),
        provider_arn: provider.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::test_idp::ResponseBuilder;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/saml");
        std::fs::read(dir.join(name)).unwrap()
    }

    fn builder() -> ResponseBuilder {
        ResponseBuilder::new(
            "https://idp.test",
            "https://sp.test/acs",
            "sp",
            chrono::DateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn the_fixture_offers_its_three_roles() {
        let Offered::Roles(roles) =
            offered_roles(&fixture("response-assertion-signed.xml")).unwrap()
        else {
            panic!("not encrypted");
        };
        assert_eq!(roles.len(), 3);
        for r in &roles {
            assert_eq!(r.account_id(), "1234567890123456");
            assert!(r.role_arn.contains(":role/"), "{r:?}");
            assert!(r.provider_arn.contains(":saml-provider/"), "{r:?}");
        }
        // Base64 and XML read the same.
        let b64 = fixture("response-assertion-signed.b64");
        assert_eq!(
            offered_roles(&decode_any(&b64).unwrap()).unwrap(),
            offered_roles(&decode_any(&fixture("response-assertion-signed.xml")).unwrap()).unwrap()
        );
    }

    #[test]
    fn pairs_in_either_order_deduplicated_and_junk_skipped() {
        let role = "acs:ram::1111222233334444:role/dev";
        let provider = "acs:ram::1111222233334444:saml-provider/okta";
        let b = builder().attribute(
            ROLE_ATTRIBUTE,
            &[
                &format!("{role},{provider}"),
                &format!(" {provider} , {role} "),
                "not-an-arn,acs:ram::1:saml-provider/x",
                &format!("{role},{provider},extra"),
                "acs:ram::1111222233334444:role/ops,acs:ram::1111222233334444:saml-provider/okta",
            ],
        );
        let xml = b.response_xml_with(&b.assertion_xml());
        let Offered::Roles(roles) = offered_roles(xml.as_bytes()).unwrap() else {
            panic!("not encrypted");
        };
        let names: Vec<(&str, &str)> = roles
            .iter()
            .map(|r| (r.role_name(), r.provider_name()))
            .collect();
        assert_eq!(names, [("dev", "okta"), ("ops", "okta")]);
    }

    #[test]
    fn failures_and_encryption() {
        let mut b = builder();
        b.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into();
        let xml = b.response_xml_with(&b.assertion_xml());
        assert!(matches!(
            offered_roles(xml.as_bytes()),
            Err(SamlError::Status(s)) if s.contains("Requester")
        ));
        let b = builder();
        let two = format!("{}{}", b.assertion_xml(), b.assertion_xml());
        assert!(matches!(
            offered_roles(b.response_xml_with(&two).as_bytes()),
            Err(SamlError::AssertionCount(_))
        ));
        let enc = b.response_xml_with("<saml:EncryptedAssertion/>");
        assert_eq!(offered_roles(enc.as_bytes()).unwrap(), Offered::Encrypted);
        assert!(matches!(
            offered_roles(b"<x/>"),
            Err(SamlError::NotAResponse(_))
        ));
        assert!(matches!(
            offered_roles(b"<!DOCTYPE x><x/>"),
            Err(SamlError::Malformed(_))
        ));
        assert!(matches!(decode_any(b"%%%"), Err(SamlError::Malformed(_))));
        assert!(matches!(
            decode_any(&[0xff, 0xfe]),
            Err(SamlError::Malformed(_))
        ));
    }
}
