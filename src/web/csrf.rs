//! CSRF defences: a per-session token in every form, compared in constant time on POST, and an
//! Origin (or Referer) check against the public URL as defence in depth. Forms shown before a
//! session exists (password sign-in) use the same token in a short-lived HttpOnly cookie
//! (double submit), so a cross-site page can neither read nor forge it.

use axum::http::{HeaderMap, header};

use crate::crypto;

/// A fresh token (about 190 bits).
pub fn token() -> String {
    crypto::random_alnum(32)
}

/// Whether the submitted token equals the expected one (compared as SHA-256 digests, so the
/// comparison time says nothing about the token).
pub fn matches(expected: &str, submitted: Option<&str>) -> bool {
    match submitted {
        Some(s) if !expected.is_empty() => {
            crypto::sha256_hex(expected.as_bytes()) == crypto::sha256_hex(s.as_bytes())
        }
        _ => false,
    }
}

/// The origin (`scheme://host[:port]`) of the public URL.
pub fn origin_of(public_url: &str) -> String {
    crate::config::parse_origin(&format!("{}/", public_url.trim_end_matches('/')))
        .unwrap_or_else(|| public_url.trim_end_matches('/').to_ascii_lowercase())
}

/// Whether a state-changing request comes from our own pages: its Origin, when sent, must be
/// ours; otherwise its Referer, when sent, must be under the public URL. Requests that carry
/// neither are left to the token check.
pub fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let ours = origin_of(public_url);
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // Browsers send "null" for opaque origins: never ours.
        return origin.eq_ignore_ascii_case(&ours);
    }
    if let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) {
        return crate::config::parse_origin(referer)
            .or_else(|| {
                reqwest::Url::parse(referer)
                    .ok()
                    .map(|u| u.origin().ascii_serialization())
            })
            .is_some_and(|o| o == ours);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_match_only_themselves() {
        let t = token();
        assert_eq!(t.len(), 32);
        assert!(matches(&t, Some(&t)));
        assert!(!matches(&t, Some("x")));
        assert!(!matches(&t, None));
        assert!(!matches("", Some("")));
        assert_ne!(token(), t);
    }

    #[test]
    fn origin_checks() {
        let public = "http://127.0.0.1:8080";
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, public));
        h.insert(
            header::REFERER,
            HeaderValue::from_static("http://127.0.0.1:8080/login/acme"),
        );
        assert!(same_origin(&h, public));
        h.insert(
            header::REFERER,
            HeaderValue::from_static("http://evil.example/login"),
        );
        assert!(!same_origin(&h, public));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h, public));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, public));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8081"),
        );
        assert!(!same_origin(&h, public));
    }
}
