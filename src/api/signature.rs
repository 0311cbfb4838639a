//! Request signatures exactly as the official SDKs compute them (spec §2): v1 `HMAC-SHA1`
//! (RPC query signing) and v3 `ACS3-HMAC-SHA256` (header signing). Pure functions: no I/O, no
//! clock. Verification compares in constant time. Unit tests pin the spec's worked examples.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::crypto::{hmac_sha1, hmac_sha1_verify, hmac_sha256, hmac_sha256_verify, sha256_hex};

/// RFC 3986 percent-encoding as Alibaba uses it: unreserved `A-Z a-z 0-9 - _ . ~` stay, every
/// other byte of the UTF-8 form becomes `%XX` (uppercase hex).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    percent_encode_into(&mut out, s, "%");
    out
}

const HEX_UPPER: [u8; 16] = *b"0123456789ABCDEF";

/// Which bytes RFC 3986 leaves unreserved.
const UNRESERVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~');
        b += 1;
    }
    t
};

fn unreserved(b: u8) -> bool {
    UNRESERVED.get(usize::from(b)).copied().unwrap_or(false)
}

/// Appends `s` percent-encoded, writing `escape` (`%`, or `%25` for a second encoding pass)
/// before the two hex digits of each encoded byte. Runs of unreserved bytes are copied whole.
fn percent_encode_into(out: &mut String, s: &str, escape: &str) {
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if unreserved(b) {
            continue;
        }
        out.push_str(s.get(run..i).unwrap_or(""));
        out.push_str(escape);
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        run = i + 1;
    }
    out.push_str(s.get(run..).unwrap_or(""));
}

/// `percent_encode(s)` borrowed when nothing needs encoding (names usually do not).
fn encoded(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().all(unreserved) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(percent_encode(s))
    }
}

/// The parameters of a v1 canonical query, sorted as spec §2.2 sorts them: by encoded name,
/// then by encoded value; `Signature` left out.
fn v1_sorted<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(std::borrow::Cow<'a, str>, &'a str)> {
    let mut pairs: Vec<(std::borrow::Cow<'a, str>, &'a str)> = params
        .into_iter()
        .filter(|(k, _)| *k != "Signature")
        .map(|(k, v)| (encoded(k), v))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| encoded(a.1).cmp(&encoded(b.1))));
    pairs
}

/// v1 canonicalized query: every parameter but `Signature`, names and values encoded, sorted by
/// encoded name, joined with `&` (spec §2.2 steps 1-3).
pub fn v1_canonical_query<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    canonical_of(&v1_sorted(params))
}

fn canonical_of(sorted: &[(std::borrow::Cow<'_, str>, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        percent_encode_into(&mut out, v, "%");
    }
    out
}

/// `v1_string_to_sign(method, &canonical_of(sorted))` in one pass: the canonical query is
/// encoded a second time as it is written (`%XX` becomes `%25XX`, `=` `%3D`, `&` `%26`).
fn string_to_sign_of(method: &str, sorted: &[(std::borrow::Cow<'_, str>, &str)]) -> String {
    let mut out = String::with_capacity(
        16 + sorted
            .iter()
            .map(|(k, v)| 2 * k.len() + 3 * v.len() + 6)
            .sum::<usize>(),
    );
    percent_encode_into(&mut out, method, "%");
    out.push_str("&%2F&");
    for (i, (k, v)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push_str("%26");
        }
        percent_encode_into(&mut out, k, "%");
        out.push_str("%3D");
        percent_encode_into(&mut out, v, "%25");
    }
    out
}

/// v1 string to sign: `METHOD&%2F&percentEncode(canonicalQuery)` (spec §2.2 step 4).
pub fn v1_string_to_sign(method: &str, canonical_query: &str) -> String {
    format!("{method}&%2F&{}", percent_encode(canonical_query))
}

/// v1 signature: base64 of HMAC-SHA1 keyed with `secret + "&"`.
pub fn v1_sign(secret: &str, string_to_sign: &str) -> String {
    let key = format!("{secret}&");
    B64.encode(hmac_sha1(key.as_bytes(), string_to_sign.as_bytes()))
}

/// Outcome of checking a v1 signature.
#[derive(Debug, PartialEq, Eq)]
pub enum V1Check {
    /// The signature matches.
    Valid,
    /// It does not; carries the server's (standard) string to sign for the error message.
    Mismatch {
        /// What the server signed.
        string_to_sign: String,
    },
}

/// Verifies a v1 signature over `params` (which include `Signature` itself; it is skipped).
/// Compatibility rule (spec §2.2): when the standard form fails and the canonical query holds an
/// encoded space, retry once with `%20` written as `+` (alibabacloud-credentials 1.0.12).
pub fn v1_verify<'a>(
    method: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    secret: &str,
    signature_b64: &str,
) -> V1Check {
    let provided = B64.decode(signature_b64.as_bytes()).unwrap_or_default();
    let sorted = v1_sorted(params);
    let string_to_sign = string_to_sign_of(method, &sorted);
    let key = format!("{secret}&");
    let matches = |sts: &str| hmac_sha1_verify(key.as_bytes(), sts.as_bytes(), &provided);
    if matches(&string_to_sign) {
        return V1Check::Valid;
    }
    // An encoded space of the canonical query reads `%2520` in the string to sign.
    if string_to_sign.contains("%2520") {
        let variant = v1_string_to_sign(method, &canonical_of(&sorted).replace("%20", "+"));
        if matches(&variant) {
            return V1Check::Valid;
        }
    }
    V1Check::Mismatch { string_to_sign }
}

/// The parsed `Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Authorization {
    /// AccessKeyId from `Credential`.
    pub access_key_id: String,
    /// Signed header names, lower case, in the order given.
    pub signed_headers: Vec<String>,
    /// Lowercase hex signature.
    pub signature: String,
}

/// The v3 algorithm name.
pub const V3_ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Parses a v3 `Authorization` header value. `None` when it is not well formed.
pub fn parse_v3_authorization(value: &str) -> Option<V3Authorization> {
    let rest = value.strip_prefix(V3_ALGORITHM)?.strip_prefix(' ')?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let slot = match k {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(v.to_string()).is_some() {
            return None;
        }
    }
    let signed_headers: Vec<String> = signed?.split(';').map(str::to_ascii_lowercase).collect();
    let access_key_id = credential?;
    let signature = signature?;
    if access_key_id.is_empty()
        || signature.is_empty()
        || signed_headers.iter().any(String::is_empty)
    {
        return None;
    }
    Some(V3Authorization {
        access_key_id,
        signed_headers,
        signature,
    })
}

/// Builds the v3 canonical request (spec §2.3). `query` holds decoded pairs; headers named in
/// `signed_headers` must be present (a missing one yields `Err(name)`).
pub fn v3_canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    signed_headers: &[String],
    payload_sha256_hex: &str,
) -> Result<String, String> {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    let canonical_query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut out = String::with_capacity(512);
    out.push_str(method);
    out.push('\n');
    out.push_str(path);
    out.push('\n');
    out.push_str(&canonical_query);
    out.push('\n');
    for name in signed_headers {
        let mut values: Vec<&str> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| v.to_str().map(str::trim))
            .collect::<Result<_, _>>()
            .map_err(|_| name.clone())?;
        if values.is_empty() {
            return Err(name.clone());
        }
        values.sort_unstable();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_sha256_hex);
    Ok(out)
}

/// v3 string to sign: algorithm, newline, hex SHA-256 of the canonical request.
pub fn v3_string_to_sign(canonical_request: &str) -> String {
    format!(
        "{V3_ALGORITHM}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// v3 signature: lowercase hex HMAC-SHA256 keyed with the secret (no `&`).
pub fn v3_sign(secret: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
}

/// Constant-time check of a v3 signature.
pub fn v3_verify(secret: &str, string_to_sign: &str, signature_hex: &str) -> bool {
    let provided = hex::decode(signature_hex.to_ascii_lowercase()).unwrap_or_default();
    hmac_sha256_verify(secret.as_bytes(), string_to_sign.as_bytes(), &provided)
}

#[cfg(test)]
mod tests;
