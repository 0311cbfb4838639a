//! Client-side request signing for rambridge's own tools (the `login` CLI, the load generator)
//! and tests: builds v1 (`HMAC-SHA1` query) and v3 (`ACS3-HMAC-SHA256` header) requests the
//! same way the official SDKs do (spec §2), using the same canonicalization code the server
//! verifies with. Interoperability with the real SDKs is tested separately (tests/sdk).

use std::collections::BTreeMap;

use crate::api::signature::{
    V3_ALGORITHM, percent_encode, v1_canonical_query, v1_sign, v1_string_to_sign, v3_string_to_sign,
};
use crate::crypto::{hmac_sha256, sha256_hex};

/// AccessKey credentials (long-term, or temporary with a SecurityToken).
#[derive(Clone, Debug)]
pub struct Credentials {
    /// AccessKeyId.
    pub access_key_id: String,
    /// AccessKey secret.
    pub access_key_secret: String,
    /// STS token for temporary credentials.
    pub security_token: Option<String>,
}

/// Encodes parameters as a query string with RFC 3986 encoding.
pub fn encode_query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Adds the v1 common parameters and the `Signature` to `params` (business parameters plus
/// `Action` and `Version`), for a request sent with `method`.
pub fn sign_v1(
    method: &str,
    params: &mut BTreeMap<String, String>,
    creds: &Credentials,
    timestamp: &str,
    nonce: &str,
) {
    params.insert("Format".into(), "JSON".into());
    params.insert("AccessKeyId".into(), creds.access_key_id.clone());
    params.insert("SignatureMethod".into(), "HMAC-SHA1".into());
    params.insert("SignatureVersion".into(), "1.0".into());
    params.insert("SignatureNonce".into(), nonce.into());
    params.insert("Timestamp".into(), timestamp.into());
    if let Some(token) = &creds.security_token {
        params.insert("SecurityToken".into(), token.clone());
    }
    let canonical = v1_canonical_query(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let signature = v1_sign(
        &creds.access_key_secret,
        &v1_string_to_sign(method, &canonical),
    );
    params.insert("Signature".into(), signature);
}

/// A v3 request to sign: everything but the Authorization header.
#[derive(Clone, Debug)]
pub struct V3Request<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Host header value.
    pub host: &'a str,
    /// Action name.
    pub action: &'a str,
    /// API version.
    pub version: &'a str,
    /// Query parameters (business parameters).
    pub query: &'a BTreeMap<String, String>,
    /// Raw body.
    pub body: &'a [u8],
    /// `x-acs-date`.
    pub date: &'a str,
    /// `x-acs-signature-nonce`.
    pub nonce: &'a str,
}

/// Returns the headers (lower-case names) of a signed v3 request, `authorization` included.
/// Signs `host`, every `x-acs-*` header and `content-type` when there is a body (as the Go SDK).
pub fn sign_v3(req: &V3Request<'_>, creds: &Credentials) -> Vec<(String, String)> {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    headers.insert("host".into(), req.host.into());
    headers.insert("x-acs-action".into(), req.action.into());
    headers.insert("x-acs-version".into(), req.version.into());
    headers.insert("x-acs-date".into(), req.date.into());
    headers.insert("x-acs-signature-nonce".into(), req.nonce.into());
    headers.insert("x-acs-content-sha256".into(), sha256_hex(req.body));
    if !req.body.is_empty() {
        headers.insert(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        );
    }
    if let Some(token) = &creds.security_token {
        headers.insert("x-acs-security-token".into(), token.clone());
        headers.insert("x-acs-accesskey-id".into(), creds.access_key_id.clone());
    }
    let signed: Vec<&str> = headers.keys().map(String::as_str).collect();
    let mut canonical = format!("{}\n/\n{}\n", req.method, encode_query(req.query));
    for (k, v) in &headers {
        canonical.push_str(&format!("{k}:{}\n", v.trim()));
    }
    canonical.push('\n');
    canonical.push_str(&signed.join(";"));
    canonical.push('\n');
    canonical.push_str(&sha256_hex(req.body));
    let string_to_sign = v3_string_to_sign(&canonical);
    let signature = hex::encode(hmac_sha256(
        creds.access_key_secret.as_bytes(),
        string_to_sign.as_bytes(),
    ));
    let authorization = format!(
        "{V3_ALGORITHM} Credential={},SignedHeaders={},Signature={signature}",
        creds.access_key_id,
        signed.join(";")
    );
    let mut out: Vec<(String, String)> = headers.into_iter().collect();
    out.push(("authorization".into(), authorization));
    out
}

/// A fresh random nonce (32 hex characters, like the Tea SDK's).
pub fn new_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
