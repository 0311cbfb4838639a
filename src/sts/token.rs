//! The SecurityToken: an AEAD-sealed claims blob (DESIGN.md "Stateless temporary
//! credentials"). It carries everything a replica needs to authenticate a request without a
//! database read: the temporary AccessKeyId, account, role, session name, session policy and
//! expiry. The temporary secret is not in it: it is derived from the AccessKeyId with the master
//! key that sealed the token, so tokens and secrets rotate with the keyring.
//!
//! Wire form: `RBS1.` + base64url(sealed), where sealed is `crypto::Keyring::seal` output
//! (version, key id, nonce, ciphertext, tag) over compact JSON claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::TokenError;
use crate::clock::format_iso8601;
use crate::crypto::{CryptoError, Keyring, Purpose};

const PREFIX: &str = "RBS1.";
const CONTEXT: &[u8] = b"rambridge/sts-token/v1";

/// What a role session is, as sealed into its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Temporary AccessKeyId (`STS.`...).
    #[serde(rename = "k")]
    pub access_key_id: String,
    /// The role's account.
    #[serde(rename = "a")]
    pub account_id: String,
    /// Role id (a role deleted and re-created under the same name is another role).
    #[serde(rename = "r")]
    pub role_id: String,
    /// Role name.
    #[serde(rename = "n")]
    pub role_name: String,
    /// RoleSessionName.
    #[serde(rename = "s")]
    pub session_name: String,
    /// Issue time, epoch ms.
    #[serde(rename = "i")]
    pub issued_at_ms: i64,
    /// Expiry, epoch ms.
    #[serde(rename = "e")]
    pub expires_at_ms: i64,
    /// Session policy text (validated when issued).
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub session_policy: Option<String>,
    /// Issued to a role session (role chaining).
    #[serde(rename = "c", default)]
    pub chained: bool,
    /// Who asked for it: the caller's ARN or the federation provider's.
    #[serde(rename = "f", default)]
    pub source: String,
    /// `SourceIdentity` given at AssumeRole.
    #[serde(rename = "si", default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

impl SessionClaims {
    /// `Expiration` as the wire wants it.
    pub fn expiration(&self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.expires_at_ms)
            .map(format_iso8601)
            .unwrap_or_default()
    }
}

/// Seals claims into a token string.
pub fn seal(keys: &Keyring, claims: &SessionClaims) -> Result<String, CryptoError> {
    let json = serde_json::to_vec(claims).map_err(|_| CryptoError::Unseal)?;
    let sealed = keys.seal(Purpose::SessionToken, CONTEXT, &json)?;
    Ok(format!("{PREFIX}{}", B64.encode(sealed)))
}

/// Opens a token presented with `access_key_id` at `now_ms`; returns its claims and secret.
pub fn open(
    keys: &Keyring,
    token: &str,
    access_key_id: &str,
    now_ms: i64,
) -> Result<(SessionClaims, String), TokenError> {
    let body = token
        .strip_prefix(PREFIX)
        .ok_or_else(|| TokenError::Malformed("not a token issued by this service".into()))?;
    let sealed = B64
        .decode(body)
        .map_err(|_| TokenError::Malformed("not valid base64url".into()))?;
    let (json, key) = keys
        .open_with_key(Purpose::SessionToken, CONTEXT, &sealed)
        .map_err(|e| match e {
            CryptoError::UnknownKeyId { key_id } => {
                TokenError::Malformed(format!("sealed under an unknown master key (id {key_id})"))
            }
            _ => TokenError::Malformed("it does not authenticate (altered or forged)".into()),
        })?;
    let claims: SessionClaims = serde_json::from_slice(&json)
        .map_err(|_| TokenError::Malformed("unreadable claims".into()))?;
    if claims.access_key_id != access_key_id {
        return Err(TokenError::Mismatch(access_key_id.to_string()));
    }
    if now_ms >= claims.expires_at_ms {
        return Err(TokenError::Expired(claims.expiration()));
    }
    let secret = key.sts_secret(&claims.access_key_id);
    Ok((claims, secret))
}
