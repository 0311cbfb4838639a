//! Console sessions: a random 256-bit value in an HttpOnly, SameSite=Lax cookie (Secure when the
//! public URL is https); the database keeps only its SHA-256, with the account, the principal,
//! the CSRF token, the expiry and, for role sessions, the temporary credentials sealed with the
//! master key. Stored in the database so every replica sees the same sessions.

use axum::http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::crypto::{self, Purpose};
use crate::store::{StoreError, WebSession};

/// Console session cookie.
pub const SESSION_COOKIE: &str = "rambridge_session";
/// Pending role choice cookie.
pub const CHOICE_COOKIE: &str = "rambridge_role_choice";
/// Pre-session CSRF cookie of the password form.
pub const LOGIN_CSRF_COOKIE: &str = "rambridge_login_csrf";
/// Cookie binding a started OIDC sign-in to the browser (its `state` value).
pub const STATE_COOKIE: &str = "rambridge_oidc_state";

/// `user` sessions: a RAM user signed in (SSO or password).
pub const KIND_USER: &str = "user";
/// `role` sessions: a role chosen through role-based SSO.
pub const KIND_ROLE: &str = "role";

/// A fresh cookie value (43 characters of [A-Za-z0-9], about 256 bits) and its stored hash.
pub fn new_secret() -> (String, String) {
    let value = crypto::random_alnum(43);
    let hash = hash(&value);
    (value, hash)
}

/// The stored form of a cookie value.
pub fn hash(value: &str) -> String {
    crypto::sha256_hex(value.as_bytes())
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Whether cookies must be `Secure` (the public URL is https).
pub fn secure(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Max-Age, Secure when asked.
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let text = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub fn clear_cookie(name: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", 0, secure)
}

/// The temporary credentials of a role session (sealed at rest).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleCredentials {
    /// AccessKeyId (`STS.`...).
    pub access_key_id: String,
    /// AccessKeySecret.
    pub access_key_secret: String,
    /// SecurityToken.
    pub security_token: String,
    /// Expiry, epoch ms.
    pub expires_at_ms: i64,
}

fn seal_context(id_hash: &str) -> Vec<u8> {
    format!("web-session:{id_hash}").into_bytes()
}

/// What a new session holds.
pub struct NewSession<'a> {
    /// Account.
    pub account_id: &'a str,
    /// [`KIND_USER`] or [`KIND_ROLE`].
    pub kind: &'static str,
    /// User id or role ARN.
    pub principal: &'a str,
    /// User principal name or role session name.
    pub display_name: &'a str,
    /// Role sessions: the credentials.
    pub credentials: Option<&'a RoleCredentials>,
    /// Lifetime, seconds.
    pub lifetime_s: i64,
    /// Client address.
    pub source_ip: &'a str,
}

/// Errors opening a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing or encoding failure.
    #[error("sealing the session credentials failed: {0}")]
    Seal(String),
}

/// Stores a new session; returns the cookie value (shown to the browser only).
pub async fn create(state: &AppState, s: &NewSession<'_>) -> Result<String, SessionError> {
    let (value, id_hash) = new_secret();
    let sealed = match s.credentials {
        Some(c) => {
            let json = serde_json::to_vec(c).map_err(|e| SessionError::Seal(e.to_string()))?;
            Some(
                state
                    .keys
                    .seal(Purpose::AtRest, &seal_context(&id_hash), &json)
                    .map_err(|e| SessionError::Seal(e.to_string()))?,
            )
        }
        None => None,
    };
    let now = state.clock.now_ms();
    state
        .store
        .create_web_session(&WebSession {
            id_hash,
            account_id: s.account_id.to_string(),
            kind: s.kind.to_string(),
            principal: s.principal.to_string(),
            display_name: s.display_name.to_string(),
            credentials_sealed: sealed,
            csrf_token: super::csrf::token(),
            created_at: now,
            expires_at: now + s.lifetime_s * 1000,
            source_ip: s.source_ip.to_string(),
        })
        .await?;
    Ok(value)
}

/// The live session of a request, if its cookie names one.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<WebSession>, StoreError> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    state
        .store
        .find_web_session(&hash(value), state.clock.now_ms())
        .await
}

/// The role credentials of a session, when it has them and they open.
pub fn credentials(state: &AppState, s: &WebSession) -> Option<RoleCredentials> {
    let sealed = s.credentials_sealed.as_ref()?;
    let plain = state
        .keys
        .open(Purpose::AtRest, &seal_context(&s.id_hash), sealed)
        .map_err(|e| tracing::error!(error = %e, "role session credentials do not open"))
        .ok()?;
    serde_json::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_parsed_and_built() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; rambridge_session=abc ; b="),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&h, "missing"), None);
        assert_eq!(
            set_cookie("n", "v", 60, true),
            "n=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert_eq!(
            clear_cookie("n", false),
            "n=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }

    #[test]
    fn secrets_are_long_random_and_only_hashed() {
        let (a, ha) = new_secret();
        let (b, _) = new_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(ha, hash(&a));
        assert_eq!(ha.len(), 64);
        assert!(!ha.contains(&a));
    }
}
