//! SP-initiated sign-in: a SAML AuthnRequest sent through the HTTP-Redirect binding (SAML
//! bindings §3.4.4): DEFLATE (raw), base64, URL-encode; with an SP key configured, signed with
//! RSA-SHA256 over the exact query octets `SAMLRequest=..&RelayState=..&SigAlg=..`
//! (§3.4.4.1). The request id is stored (single use, 10 minutes) so the response's
//! InResponseTo can be checked.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::clock::format_iso8601;
use crate::saml::encryption::SpKey;

/// How long an issued AuthnRequest may be answered, milliseconds.
pub const REQUEST_TTL_MS: i64 = 10 * 60 * 1000;

/// `SigAlg` of RSA-SHA256.
pub const SIG_ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// Everything but RFC 3986 unreserved characters is percent-encoded.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A fresh request id (an NCName: letter first).
pub fn new_id() -> String {
    format!("_rb{}", crate::crypto::random_alnum(32))
}

/// The AuthnRequest XML.
pub fn build(
    id: &str,
    issuer: &str,
    acs_url: &str,
    destination: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" \
         IssueInstant=\"{at}\" Destination=\"{dest}\" AssertionConsumerServiceURL=\"{acs}\" \
         ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\">\
         <saml:Issuer>{issuer}</saml:Issuer><samlp:NameIDPolicy AllowCreate=\"true\"/>\
         </samlp:AuthnRequest>",
        id = xml_escape(id),
        at = format_iso8601(now),
        dest = xml_escape(destination),
        acs = xml_escape(acs_url),
        issuer = xml_escape(issuer),
    )
}

/// Why a redirect URL could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    /// Compression failed.
    #[error("compressing the AuthnRequest failed: {0}")]
    Deflate(#[from] std::io::Error),
    /// The SP key cannot sign.
    #[error("signing the AuthnRequest failed: {0}")]
    Sign(String),
}

/// The IdP URL carrying `xml` (and `relay_state`) through the HTTP-Redirect binding, signed
/// when `key` is given.
pub fn redirect_url(
    idp_url: &str,
    xml: &str,
    relay_state: Option<&str>,
    key: Option<&SpKey>,
) -> Result<String, RedirectError> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(xml.as_bytes())?;
    let deflated = z.finish()?;
    let mut query = format!("SAMLRequest={}", enc(&B64.encode(deflated)));
    if let Some(r) = relay_state.filter(|r| !r.is_empty()) {
        query.push_str("&RelayState=");
        query.push_str(&enc(r));
    }
    if let Some(key) = key {
        query.push_str("&SigAlg=");
        query.push_str(&enc(SIG_ALG_RSA_SHA256));
        let signature = sign_rsa_sha256(&key.pkcs8_der, query.as_bytes())?;
        query.push_str("&Signature=");
        query.push_str(&enc(&B64.encode(signature)));
    }
    let sep = if idp_url.contains('?') { '&' } else { '?' };
    Ok(format!("{idp_url}{sep}{query}"))
}

fn sign_rsa_sha256(pkcs8: &[u8], message: &[u8]) -> Result<Vec<u8>, RedirectError> {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| RedirectError::Sign(e.to_string()))?;
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        message,
        &mut sig,
    )
    .map_err(|e| RedirectError::Sign(e.to_string()))?;
    Ok(sig)
}

/// Issues an AuthnRequest for `account_id` (remembered for InResponseTo) and returns the IdP
/// URL to send the browser to.
pub async fn start(
    state: &crate::AppState,
    account_id: &str,
    issuer: &str,
    acs_url: &str,
    idp_url: &str,
    relay_state: Option<&str>,
) -> Result<String, super::error::WebError> {
    let id = new_id();
    let now = state.clock.now();
    state
        .store
        .create_authn_request(&id, account_id, state.clock.now_ms() + REQUEST_TTL_MS)
        .await?;
    let xml = build(&id, issuer, acs_url, idp_url, now);
    redirect_url(idp_url, &xml, relay_state, state.saml.key.as_deref())
        .map_err(|e| super::error::WebError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use std::io::Read as _;

    fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
        url.split_once('?')?
            .1
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
    }

    fn decode(v: &str) -> String {
        percent_encoding::percent_decode_str(v)
            .decode_utf8()
            .unwrap()
            .into_owned()
    }

    #[test]
    fn unsigned_redirect_round_trips() {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .unwrap();
        let xml = build(
            "_rb1",
            "https://sp/x\"y",
            "https://sp/acs",
            "https://idp/sso",
            now,
        );
        assert!(xml.contains("Issuer>https://sp/x&quot;y<"));
        assert!(xml.contains("IssueInstant=\"2026-11-22T12:00:00Z\""));
        let url = redirect_url(
            "https://idp/sso?tenant=a",
            &xml,
            Some("/console?a=b&c"),
            None,
        )
        .unwrap();
        assert!(url.starts_with("https://idp/sso?tenant=a&SAMLRequest="));
        assert_eq!(
            decode(query_param(&url, "RelayState").unwrap()),
            "/console?a=b&c"
        );
        assert!(query_param(&url, "Signature").is_none());
        let raw = B64
            .decode(decode(query_param(&url, "SAMLRequest").unwrap()))
            .unwrap();
        let mut out = String::new();
        flate2::read::DeflateDecoder::new(raw.as_slice())
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, xml);
    }

    #[test]
    fn signed_redirect_verifies_over_the_exact_query_octets() {
        use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
        let key = SpKey::from_pem(
            include_str!("../../certs/sp-test-key.pem"),
            include_str!("../../certs/sp-test-cert.pem"),
        )
        .unwrap();
        let url = redirect_url("https://idp/sso", "<x/>", Some("rs"), Some(&key)).unwrap();
        let query = url.split_once('?').unwrap().1;
        let (signed, sig) = query.split_once("&Signature=").unwrap();
        assert!(signed.ends_with(&format!("&SigAlg={}", enc(SIG_ALG_RSA_SHA256))));
        let sig = B64.decode(decode(sig)).unwrap();
        let cert = x509_parser::parse_x509_certificate(&key.certificate_der)
            .unwrap()
            .1;
        let spki = cert.public_key().subject_public_key.data.to_vec();
        let pk = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki);
        pk.verify(signed.as_bytes(), &sig).unwrap();
        // One changed octet breaks it.
        let tampered = signed.replace("RelayState=rs", "RelayState=rt");
        assert!(pk.verify(tampered.as_bytes(), &sig).is_err());
    }
}
