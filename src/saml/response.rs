//! SAML 2.0 Response validation for the service provider side (SAML core §2-§3, profiles §4.1.4
//! Web Browser SSO / bearer). Pure: no I/O, time is an input; the caller checks replay and
//! InResponseTo against the store.
//!
//! "See what is signed": the signature is verified first (`xmldsig::verify_element`, keys only
//! from the provider's metadata), and every assertion fact is read from the verified view, never
//! from the surrounding document. Only fail-safe facts come from an unsigned Response envelope
//! (Status must be Success; Destination and Issuer, when present, must match).
//!
//! Refused: anything but exactly one Assertion that is the Response's direct child (signature
//! wrapping needs a second candidate), EncryptedAssertion without an SP key, unsigned content,
//! comments or child elements inside NameID, Issuer, Audience and attribute values (comment
//! truncation), missing or extra bearer confirmations.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};

use super::error::SamlError;
use crate::xmldsig::{
    Document, Element, ParseLimits, TrustedKeys, VerifiedElement, VerifyOptions, verify_element,
};

/// SAML 2.0 protocol namespace.
pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 assertion namespace.
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// XML-DSig namespace.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Status Success.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Bearer confirmation method.
pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// Largest accepted decoded Response.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// What the response must say.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// The provider's entityID (Issuer).
    pub issuer: &'a str,
    /// Our SP entity ID (Audience).
    pub audience: &'a str,
    /// Our ACS URL (Destination, Recipient).
    pub recipient: &'a str,
    /// Current time.
    pub now: DateTime<Utc>,
    /// Allowed clock difference.
    pub skew: Duration,
    /// Accept SHA-1 signatures (only when the provider is configured to).
    pub allow_sha1: bool,
    /// The SP key that decrypts EncryptedAssertions, when configured.
    pub decryption_key: Option<&'a super::encryption::SpKey>,
}

/// A validated assertion. Only [`validate_response`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// Assertion `ID` (the replay key, with the issuer).
    pub assertion_id: String,
    /// Issuer (= provider entityID).
    pub issuer: String,
    /// NameID text.
    pub name_id: String,
    /// NameID Format, if given.
    pub name_id_format: Option<String>,
    /// SubjectConfirmationData Recipient.
    pub recipient: String,
    /// InResponseTo of the bearer confirmation (or of the Response), if any.
    pub in_response_to: Option<String>,
    /// Latest instant the assertion may be used (min of the confirmation's and the
    /// conditions' NotOnOrAfter): the replay cache keeps the ID until then.
    pub not_on_or_after: DateTime<Utc>,
    /// Attributes by Name, values in document order.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// SHA-256 of the certificate that verified the signature.
    pub certificate_sha256: [u8; 32],
    proof: Proof,
}

/// Private: only this module can construct a [`VerifiedAssertion`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Proof;

impl VerifiedAssertion {
    /// Values of one attribute (empty when absent).
    pub fn attribute(&self, name: &str) -> &[String] {
        self.attributes.get(name).map_or(&[], Vec::as_slice)
    }

    /// `SubjectType` as STS reports it: the NameID Format without the SAML 2.0 prefix.
    pub fn subject_type(&self) -> String {
        let f = self.name_id_format.as_deref().unwrap_or("unspecified");
        f.strip_prefix("urn:oasis:names:tc:SAML:2.0:nameid-format:")
            .or_else(|| f.strip_prefix("urn:oasis:names:tc:SAML:1.1:nameid-format:"))
            .unwrap_or(f)
            .to_string()
    }
}

/// Decodes the base64 `SAMLResponse` / `SAMLAssertion` (whitespace allowed).
pub fn decode(b64: &str) -> Result<Vec<u8>, SamlError> {
    let too_large = || SamlError::Malformed("the response is too large".into());
    let limit = MAX_RESPONSE_BYTES * 4 / 3 + 4;
    let engine = &base64::engine::general_purpose::STANDARD;
    // Most senders do not wrap the base64: decode it as it is, and only when that fails drop
    // the white space first (byte by byte: base64 is ASCII, anything else fails anyway).
    if b64.len() <= limit
        && let Ok(bytes) = engine.decode(b64.as_bytes())
    {
        return Ok(bytes);
    }
    let compact: Vec<u8> = b64.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.len() > limit {
        return Err(too_large());
    }
    engine
        .decode(&compact)
        .map_err(|_| SamlError::Malformed("not valid base64".into()))
}

fn parse_time(what: &str, v: &str) -> Result<DateTime<Utc>, SamlError> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| SamlError::Malformed(format!("{what} {v:?} is not an xs:dateTime")))
}

fn strict_text(e: &VerifiedElement<'_>, what: &str) -> Result<String, SamlError> {
    e.text_strict().map(|t| t.trim().to_string()).map_err(|_| {
        SamlError::Malformed(format!(
            "{what} must be plain text (no comments or elements)"
        ))
    })
}

fn children<'a>(
    e: &VerifiedElement<'a>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = VerifiedElement<'a>> + 'a {
    e.child_elements().filter(move |c| c.has_name(ns, name))
}

fn exactly_one<'a>(
    e: &VerifiedElement<'a>,
    ns: &'a str,
    name: &'a str,
    err: impl Fn(String) -> SamlError,
) -> Result<VerifiedElement<'a>, SamlError> {
    let mut it = children(e, ns, name);
    match (it.next(), it.next()) {
        (Some(x), None) => Ok(x),
        (None, _) => Err(err(format!("{name} is missing"))),
        (Some(_), Some(_)) => Err(err(format!("more than one {name}"))),
    }
}

fn count_named(doc: &Document, ns: &str, name: &str) -> usize {
    doc.count_elements(ns, name)
}

/// Validates a SAML Response (XML bytes) against the provider's keys and our expectations.
pub fn validate_response(
    xml: &[u8],
    keys: &TrustedKeys,
    exp: &Expectations<'_>,
) -> Result<VerifiedAssertion, SamlError> {
    if xml.len() > MAX_RESPONSE_BYTES {
        return Err(SamlError::Malformed("the response is too large".into()));
    }
    let limits = ParseLimits {
        max_depth: 64,
        max_nodes: 20_000,
        ..ParseLimits::default()
    };
    let doc = Document::parse_with_limits(xml, &limits)
        .map_err(|e| SamlError::Malformed(e.to_string()))?;
    let root = doc.root_element();
    if !root.has_name(NS_PROTOCOL, "Response") {
        return Err(SamlError::NotAResponse(format!(
            "{{{}}}{}",
            root.namespace_uri().unwrap_or(""),
            root.local_name()
        )));
    }
    if root.attribute("Version") != Some("2.0") {
        return Err(SamlError::Malformed("Response Version must be 2.0".into()));
    }

    // Exactly one assertion in the whole document, and it is the Response's direct child
    // (plain, or encrypted).
    let encrypted_total = count_named(&doc, NS_ASSERTION, "EncryptedAssertion");
    if encrypted_total > 0 {
        return validate_encrypted(&doc, keys, exp, encrypted_total);
    }
    let total = count_named(&doc, NS_ASSERTION, "Assertion");
    let direct: Vec<Element<'_>> = root
        .child_elements()
        .filter(|c| c.has_name(NS_ASSERTION, "Assertion"))
        .collect();
    let assertion = match (total, direct.as_slice()) {
        (1, [a]) => *a,
        (n, d) => {
            return Err(SamlError::AssertionCount(format!(
                "found {n} in the document, {} directly under the Response",
                d.len()
            )));
        }
    };
    envelope_checks(&root, exp)?;

    // Signatures: the Response's, the Assertion's, or both (then both must verify).
    let opts = VerifyOptions {
        allow_sha1: exp.allow_sha1,
        id_attribute: "ID",
    };
    let has_sig = |e: &Element<'_>| e.child_elements().any(|c| c.has_name(NS_DSIG, "Signature"));
    let response_signed = has_sig(&root);
    let assertion_signed = has_sig(&assertion);
    if !response_signed && !assertion_signed {
        return Err(SamlError::Unsigned);
    }
    let response_view = if response_signed {
        Some(verify_element(&doc, root.node_id(), keys, &opts).map_err(SamlError::Signature)?)
    } else {
        None
    };
    let (a, cert) = if assertion_signed {
        let v =
            verify_element(&doc, assertion.node_id(), keys, &opts).map_err(SamlError::Signature)?;
        (v.element(), v.certificate_sha256())
    } else {
        let v = response_view.as_ref().ok_or(SamlError::Unsigned)?;
        let a = v
            .element()
            .child_elements()
            .find(|c| c.has_name(NS_ASSERTION, "Assertion"))
            .ok_or_else(|| SamlError::AssertionCount("not inside the signed Response".into()))?;
        (a, v.certificate_sha256())
    };
    let in_response_to_envelope = response_view
        .as_ref()
        .and_then(|v| v.element().attribute("InResponseTo"))
        .map(str::to_string);

    read_assertion(&a, cert, exp, in_response_to_envelope)
}

/// Fail-safe envelope checks (these can only make an unsigned envelope fail): Status Success,
/// and Destination and Issuer, when present, match.
fn envelope_checks(root: &Element<'_>, exp: &Expectations<'_>) -> Result<(), SamlError> {
    let status = root
        .child_elements()
        .find(|c| c.has_name(NS_PROTOCOL, "Status"))
        .and_then(|s| {
            s.child_elements()
                .find(|c| c.has_name(NS_PROTOCOL, "StatusCode"))
        })
        .and_then(|c| c.attribute("Value"))
        .unwrap_or("(none)");
    if status != STATUS_SUCCESS {
        return Err(SamlError::Status(status.to_string()));
    }
    if let Some(dest) = root.attribute("Destination")
        && dest != exp.recipient
    {
        return Err(SamlError::Destination {
            got: dest.to_string(),
            expected: exp.recipient.to_string(),
        });
    }
    if let Some(issuer) = root
        .child_elements()
        .find(|c| c.has_name(NS_ASSERTION, "Issuer"))
    {
        let got = issuer
            .text_strict()
            .map_err(|_| SamlError::Malformed("Issuer must be plain text".into()))?
            .trim();
        if got != exp.issuer {
            return Err(SamlError::Issuer {
                got: got.to_string(),
                expected: exp.issuer.to_string(),
            });
        }
    }

    Ok(())
}

/// An EncryptedAssertion: the single assertion, decrypted with the SP key, must itself be
/// signed; a Response signature, if present, must verify too (it covers the ciphertext).
fn validate_encrypted(
    doc: &Document,
    keys: &TrustedKeys,
    exp: &Expectations<'_>,
    encrypted_total: usize,
) -> Result<VerifiedAssertion, SamlError> {
    let root = doc.root_element();
    let direct: Vec<Element<'_>> = root
        .child_elements()
        .filter(|c| c.has_name(NS_ASSERTION, "EncryptedAssertion"))
        .collect();
    let plain = count_named(doc, NS_ASSERTION, "Assertion");
    let [encrypted] = direct.as_slice() else {
        return Err(SamlError::AssertionCount(format!(
            "found {encrypted_total} EncryptedAssertion, {} directly under the Response",
            direct.len()
        )));
    };
    if plain > 0 || encrypted_total != 1 {
        return Err(SamlError::AssertionCount(format!(
            "found {plain} Assertion and {encrypted_total} EncryptedAssertion"
        )));
    }
    let key = exp.decryption_key.ok_or(SamlError::Encrypted)?;
    envelope_checks(&root, exp)?;
    let opts = VerifyOptions {
        allow_sha1: exp.allow_sha1,
        id_attribute: "ID",
    };
    let in_response_to_envelope = if root
        .child_elements()
        .any(|c| c.has_name(NS_DSIG, "Signature"))
    {
        let v = verify_element(doc, root.node_id(), keys, &opts).map_err(SamlError::Signature)?;
        v.element().attribute("InResponseTo").map(str::to_string)
    } else {
        None
    };
    let bytes = super::encryption::decrypt_assertion(key, encrypted)?;
    let limits = ParseLimits {
        max_depth: 64,
        max_nodes: 20_000,
        ..ParseLimits::default()
    };
    // The plaintext usually declares its namespaces; when it relies on the Response's, parse it
    // inside a wrapper declaring those (exclusive c14n ignores unused declarations).
    let adoc = match Document::parse_with_limits(&bytes, &limits) {
        Ok(d) => d,
        Err(_) => {
            let mut decls = String::new();
            let mut e = Some(*encrypted);
            while let Some(el) = e {
                for (prefix, uri) in el.namespace_declarations() {
                    let attr = prefix.map_or("xmlns".to_string(), |p| format!("xmlns:{p}"));
                    if !decls.contains(&format!("{attr}=")) {
                        decls.push_str(&format!(" {attr}=\"{}\"", super::test_idp::escape(uri)));
                    }
                }
                e = el.parent();
            }
            let mut wrapped = format!("<rambridge-decrypted{decls}>").into_bytes();
            wrapped.extend_from_slice(&bytes);
            wrapped.extend_from_slice(b"</rambridge-decrypted>");
            Document::parse_with_limits(&wrapped, &limits).map_err(|_| SamlError::Decryption)?
        }
    };
    let aroot = adoc.root_element();
    let assertion = if aroot.has_name(NS_ASSERTION, "Assertion") {
        aroot
    } else {
        let mut kids = aroot.child_elements();
        match (kids.next(), kids.next()) {
            (Some(a), None) if a.has_name(NS_ASSERTION, "Assertion") => a,
            _ => return Err(SamlError::Decryption),
        }
    };
    if !assertion
        .child_elements()
        .any(|c| c.has_name(NS_DSIG, "Signature"))
    {
        return Err(SamlError::Unsigned);
    }
    let v =
        verify_element(&adoc, assertion.node_id(), keys, &opts).map_err(SamlError::Signature)?;
    read_assertion(
        &v.element(),
        v.certificate_sha256(),
        exp,
        in_response_to_envelope,
    )
}

/// Reads and checks a verified Assertion.
fn read_assertion(
    a: &VerifiedElement<'_>,
    cert: [u8; 32],
    exp: &Expectations<'_>,
    in_response_to_envelope: Option<String>,
) -> Result<VerifiedAssertion, SamlError> {
    let assertion_id = a
        .attribute("ID")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| SamlError::Malformed("Assertion has no ID".into()))?
        .to_string();
    if a.attribute("Version") != Some("2.0") {
        return Err(SamlError::Malformed("Assertion Version must be 2.0".into()));
    }
    let issuer_el = exactly_one(a, NS_ASSERTION, "Issuer", SamlError::Malformed)?;
    let issuer = strict_text(&issuer_el, "Issuer")?;
    if issuer != exp.issuer {
        return Err(SamlError::Issuer {
            got: issuer,
            expected: exp.issuer.to_string(),
        });
    }

    // Subject: one NameID, one bearer confirmation addressed to us.
    let subject = exactly_one(a, NS_ASSERTION, "Subject", SamlError::Subject)?;
    let name_id_el = exactly_one(&subject, NS_ASSERTION, "NameID", SamlError::Subject)?;
    let name_id = strict_text(&name_id_el, "NameID")?;
    if name_id.is_empty() {
        return Err(SamlError::Subject("NameID is empty".into()));
    }
    let name_id_format = name_id_el.attribute("Format").map(str::to_string);
    let confirmation = exactly_one(
        &subject,
        NS_ASSERTION,
        "SubjectConfirmation",
        SamlError::Subject,
    )?;
    if confirmation.attribute("Method") != Some(BEARER) {
        return Err(SamlError::Subject(
            "the SubjectConfirmation Method must be bearer".into(),
        ));
    }
    let data = exactly_one(
        &confirmation,
        NS_ASSERTION,
        "SubjectConfirmationData",
        SamlError::Subject,
    )?;
    let recipient = data
        .attribute("Recipient")
        .ok_or_else(|| SamlError::Subject("SubjectConfirmationData has no Recipient".into()))?;
    if recipient != exp.recipient {
        return Err(SamlError::Recipient {
            got: recipient.to_string(),
            expected: exp.recipient.to_string(),
        });
    }
    let scd_not_on_or_after = parse_time(
        "SubjectConfirmationData NotOnOrAfter",
        data.attribute("NotOnOrAfter").ok_or_else(|| {
            SamlError::Subject("SubjectConfirmationData has no NotOnOrAfter".into())
        })?,
    )?;
    if exp.now - exp.skew >= scd_not_on_or_after {
        return Err(SamlError::Expired(scd_not_on_or_after.to_rfc3339()));
    }
    if let Some(nb) = data.attribute("NotBefore") {
        let nb = parse_time("SubjectConfirmationData NotBefore", nb)?;
        if exp.now + exp.skew < nb {
            return Err(SamlError::NotYetValid(nb.to_rfc3339()));
        }
    }
    let in_response_to = data
        .attribute("InResponseTo")
        .map(str::to_string)
        .or(in_response_to_envelope);

    // Conditions: time window and audience.
    let conditions = exactly_one(a, NS_ASSERTION, "Conditions", SamlError::Conditions)?;
    let mut not_on_or_after = scd_not_on_or_after;
    if let Some(nb) = conditions.attribute("NotBefore") {
        let nb = parse_time("Conditions NotBefore", nb)?;
        if exp.now + exp.skew < nb {
            return Err(SamlError::NotYetValid(nb.to_rfc3339()));
        }
    }
    if let Some(na) = conditions.attribute("NotOnOrAfter") {
        let na = parse_time("Conditions NotOnOrAfter", na)?;
        if exp.now - exp.skew >= na {
            return Err(SamlError::Expired(na.to_rfc3339()));
        }
        not_on_or_after = not_on_or_after.min(na);
    }
    let restrictions: Vec<VerifiedElement<'_>> =
        children(&conditions, NS_ASSERTION, "AudienceRestriction").collect();
    if restrictions.is_empty() {
        return Err(SamlError::Conditions("no AudienceRestriction".into()));
    }
    for r in &restrictions {
        let audiences: Vec<String> = children(r, NS_ASSERTION, "Audience")
            .map(|au| strict_text(&au, "Audience"))
            .collect::<Result<_, _>>()?;
        if !audiences.iter().any(|au| au == exp.audience) {
            return Err(SamlError::Audience {
                got: audiences.join(", "),
                expected: exp.audience.to_string(),
            });
        }
    }

    // Attributes.
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in children(a, NS_ASSERTION, "AttributeStatement") {
        for attr in children(&statement, NS_ASSERTION, "Attribute") {
            let Some(name) = attr.attribute("Name") else {
                return Err(SamlError::Malformed("an Attribute has no Name".into()));
            };
            let values = attributes.entry(name.to_string()).or_default();
            for v in children(&attr, NS_ASSERTION, "AttributeValue") {
                values.push(strict_text(&v, "AttributeValue")?);
            }
        }
    }

    Ok(VerifiedAssertion {
        assertion_id,
        issuer,
        name_id,
        name_id_format,
        recipient: recipient.to_string(),
        in_response_to,
        not_on_or_after,
        attributes,
        certificate_sha256: cert,
        proof: Proof,
    })
}

#[cfg(test)]
mod tests;
