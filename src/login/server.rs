//! The server half of `rambridge login` (handlers in `web::cli_login`):
//!
//! - [`sso_target`]: which account and SAML provider a CLI sign-in goes through (the CLI's
//!   pre-flight check, so "SSO is not configured" is reported before any browser opens).
//! - [`ecp_request`]: the PAOS AuthnRequest of ECP mode, recorded so `AssumeRoleWithSAML`
//!   accepts the answer's `InResponseTo` once, for this account only.
//! - The browser mode's loopback code exchange (RFC 8252 loopback redirect with RFC 7636
//!   PKCE S256): [`start`] records a pending login bound to the CLI's port and code challenge;
//!   [`complete`] (called by the browser sign-in once a role is chosen) seals the credentials
//!   and issues a one-time code, returning the loopback redirect; [`redeem`] hands the
//!   credentials over exactly once, to the holder of the code verifier, on the same port,
//!   within [`CODE_TTL_MS`]. The credentials never travel in a URL.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::digest;

use super::IssuedCredentials;
use super::error::ServerError;
use crate::SamlSp;
use crate::clock::Clock;
use crate::crypto::{Keyring, Purpose, sha256_hex};
use crate::saml::ecp::{AuthnRequestSpec, paos_request};
use crate::store::{Account, PendingCliLogin, Store};

/// How long a started CLI login waits for its browser sign-in.
pub const PENDING_TTL_MS: i64 = 10 * 60 * 1000;
/// How long a code lives between the browser redirect and its redemption.
pub const CODE_TTL_MS: i64 = 60 * 1000;
/// How long an ECP AuthnRequest may be answered.
pub const ECP_REQUEST_TTL_MS: i64 = 5 * 60 * 1000;
/// Most SAML providers considered per account.
const MAX_PROVIDERS: usize = 100;
/// Sealing context prefix of the credentials at rest (bound to the pending id).
const SEAL_CONTEXT: &str = "rambridge/cli-login/credentials/v1:";

/// The account and SAML provider a CLI sign-in goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoTarget {
    /// The account.
    pub account: Account,
    /// Provider name.
    pub provider: String,
}

impl SsoTarget {
    /// The provider's ARN.
    pub fn provider_arn(&self) -> String {
        format!(
            "acs:ram::{}:saml-provider/{}",
            self.account.id, self.provider
        )
    }
}

/// Resolves `account` (alias, or 16-digit id) and `provider` (name or ARN; optional when the
/// account has exactly one SAML provider).
pub async fn sso_target(
    store: &Store,
    account: &str,
    provider: Option<&str>,
) -> Result<SsoTarget, ServerError> {
    let found = if account.len() == 16 && account.bytes().all(|b| b.is_ascii_digit()) {
        store.find_account(account).await?
    } else {
        store.find_account_by_alias(account).await?
    };
    let account_row = found.ok_or_else(|| ServerError::UnknownAccount(account.to_string()))?;
    let providers: Vec<String> = store
        .list_saml_providers(&account_row.id, None, MAX_PROVIDERS)
        .await?
        .items
        .into_iter()
        .map(|p| p.name)
        .collect();
    let available = providers.join(", ");
    let wanted = provider
        .filter(|p| !p.is_empty())
        .map(|p| p.rsplit_once(":saml-provider/").map_or(p, |(_, n)| n));
    let chosen = match (wanted, providers.as_slice()) {
        (_, []) => return Err(ServerError::SsoNotConfigured(account_row.alias)),
        (Some(w), list) => list
            .iter()
            .find(|p| p.as_str() == w)
            .cloned()
            .ok_or_else(|| ServerError::UnknownProvider {
                account: account_row.alias.clone(),
                provider: w.to_string(),
                available,
            })?,
        (None, [one]) => one.clone(),
        (None, _) => {
            return Err(ServerError::SeveralProviders {
                account: account_row.alias,
                available,
            });
        }
    };
    Ok(SsoTarget {
        account: account_row,
        provider: chosen,
    })
}

/// ECP mode: a fresh AuthnRequest for `target`'s account, recorded for `InResponseTo`, as the
/// SP's PAOS request envelope.
pub async fn ecp_request(
    store: &Store,
    clock: &dyn Clock,
    sp: &SamlSp,
    target: &SsoTarget,
) -> Result<String, ServerError> {
    let id = format!("_ecp{}", random_token_hex(16)?);
    store
        .create_authn_request(&id, &target.account.id, clock.now_ms() + ECP_REQUEST_TTL_MS)
        .await?;
    Ok(paos_request(&AuthnRequestSpec {
        id: &id,
        issue_instant: clock.now(),
        sp_entity_id: &sp.role_entity_id,
        acs_url: &sp.role_acs_url,
    }))
}

/// `GET /cli-login/start` parameters.
#[derive(Debug, Clone, Default)]
pub struct StartRequest<'a> {
    /// The CLI's loopback port.
    pub port: &'a str,
    /// PKCE code challenge (base64url SHA-256 of the verifier, 43 characters).
    pub code_challenge: &'a str,
    /// Must be `S256` (absent means S256; `plain` is refused).
    pub code_challenge_method: Option<&'a str>,
    /// Account alias or id.
    pub account: &'a str,
    /// SAML provider name or ARN (optional with one provider).
    pub provider: Option<&'a str>,
    /// Requested role name or ARN (optional).
    pub role: Option<&'a str>,
}

/// A started CLI login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The pending id (to carry in the browser's cookie).
    pub pending_id: String,
    /// Where the browser signs in: the SP-initiated role sign-in at the account's IdP.
    pub sign_in_path: String,
}

fn invalid(name: &'static str, message: impl Into<String>) -> ServerError {
    ServerError::InvalidParameter {
        name,
        message: message.into(),
    }
}

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Records a pending CLI login. The sign-in then happens in the browser at
/// [`Started::sign_in_path`].
pub async fn start(
    store: &Store,
    clock: &dyn Clock,
    req: &StartRequest<'_>,
) -> Result<Started, ServerError> {
    let port: u16 = req
        .port
        .parse()
        .ok()
        .filter(|p| *p >= 1024)
        .ok_or_else(|| invalid("port", "must be the CLI's loopback port, 1024 to 65535"))?;
    match req.code_challenge_method {
        None | Some("S256") => {}
        Some(other) => {
            return Err(invalid(
                "code_challenge_method",
                format!("{other:?} is not supported; only S256"),
            ));
        }
    }
    if req.code_challenge.len() != 43 || !is_base64url(req.code_challenge) {
        return Err(invalid(
            "code_challenge",
            "must be the base64url SHA-256 of the code verifier (43 characters)",
        ));
    }
    let role = req.role.unwrap_or("");
    if role.len() > 256 {
        return Err(invalid("role", "is longer than 256 characters"));
    }
    let target = sso_target(store, req.account, req.provider).await?;
    let now = clock.now_ms();
    let pending = PendingCliLogin {
        id: random_token()?,
        account_id: target.account.id.clone(),
        provider: target.provider.clone(),
        role: role.to_string(),
        port,
        code_challenge: req.code_challenge.to_string(),
        created_at: now,
        expires_at: now + PENDING_TTL_MS,
    };
    store.create_cli_login(&pending).await?;
    let provider: String = form_urlencoded::byte_serialize(target.provider.as_bytes()).collect();
    // Aliases are lowercase letters, digits and '-'; anything else would be encoded.
    const PATH_SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-');
    let alias: String =
        percent_encoding::utf8_percent_encode(&target.account.alias, PATH_SEGMENT).collect();
    Ok(Started {
        pending_id: pending.id,
        sign_in_path: format!(
            "/saml-role/login/{alias}?provider={provider}&RelayState=%2Fcli-login%2Fcontinue"
        ),
    })
}

/// The pending CLI login `pending_id`, if it is still waiting for its sign-in.
pub async fn pending(
    store: &Store,
    clock: &dyn Clock,
    pending_id: &str,
) -> Result<Option<PendingCliLogin>, ServerError> {
    Ok(store
        .find_pending_cli_login(pending_id, clock.now_ms())
        .await?)
}

/// Completes the pending CLI login with the role credentials the browser sign-in obtained;
/// returns the loopback URL to redirect the browser to (`http://127.0.0.1:<port>/callback?code=`).
pub async fn complete(
    store: &Store,
    keys: &Keyring,
    clock: &dyn Clock,
    pending_id: &str,
    credentials: &IssuedCredentials,
) -> Result<String, ServerError> {
    let now = clock.now_ms();
    let pending = store
        .find_pending_cli_login(pending_id, now)
        .await?
        .ok_or(ServerError::PendingNotFound)?;
    let account = credentials.account_id();
    if account != pending.account_id {
        return Err(ServerError::AccountMismatch {
            expected: pending.account_id,
            got: account.to_string(),
        });
    }
    if !pending.role.is_empty()
        && pending.role != credentials.role_arn
        && Some(pending.role.as_str()) != credentials.role_arn.split_once(":role/").map(|r| r.1)
    {
        return Err(ServerError::RoleMismatch {
            requested: pending.role,
            got: credentials.role_arn.clone(),
        });
    }
    let code = random_token()?;
    let plain =
        serde_json::to_vec(credentials).map_err(|e| ServerError::Encoding(e.to_string()))?;
    let sealed = keys.seal(Purpose::AtRest, &seal_context(&pending.id), &plain)?;
    if !store
        .complete_cli_login(
            &pending.id,
            &sha256_hex(code.as_bytes()),
            &sealed,
            now,
            now + CODE_TTL_MS,
        )
        .await?
    {
        return Err(ServerError::PendingNotFound);
    }
    Ok(format!(
        "http://127.0.0.1:{}/callback?code={code}",
        pending.port
    ))
}

/// Ends a pending CLI login without credentials (the sign-in failed or was cancelled); returns
/// the loopback URL that tells the waiting CLI why.
pub async fn abandon(
    store: &Store,
    clock: &dyn Clock,
    pending_id: &str,
    reason: &str,
) -> Result<String, ServerError> {
    let pending = store
        .find_pending_cli_login(pending_id, clock.now_ms())
        .await?
        .ok_or(ServerError::PendingNotFound)?;
    store.delete_pending_cli_login(&pending.id).await?;
    let reason: String = form_urlencoded::byte_serialize(reason.as_bytes()).collect();
    Ok(format!(
        "http://127.0.0.1:{}/callback?error=access_denied&error_description={reason}",
        pending.port
    ))
}

/// Redeems a code: the first attempt spends it, whatever its outcome; then the code must be
/// unexpired, the port the one it was issued to and the verifier the challenge's preimage.
pub async fn redeem(
    store: &Store,
    keys: &Keyring,
    clock: &dyn Clock,
    code: &str,
    code_verifier: &str,
    port: &str,
) -> Result<IssuedCredentials, ServerError> {
    if code.is_empty() || code.len() > 128 || !is_base64url(code) {
        return Err(ServerError::InvalidCode);
    }
    // RFC 7636 §4.1: 43-128 characters of [A-Za-z0-9-._~].
    let verifier_ok = (43..=128).contains(&code_verifier.len())
        && code_verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !verifier_ok {
        return Err(invalid(
            "code_verifier",
            "must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
        ));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| invalid("port", "must be the CLI's loopback port"))?;
    let taken = store
        .take_cli_login_code(&sha256_hex(code.as_bytes()))
        .await?
        .ok_or(ServerError::InvalidCode)?;
    if clock.now_ms() >= taken.expires_at {
        return Err(ServerError::CodeExpired);
    }
    if taken.port != port {
        return Err(ServerError::WrongPort);
    }
    let challenge = B64URL.encode(digest::digest(&digest::SHA256, code_verifier.as_bytes()));
    if !same(challenge.as_bytes(), taken.code_challenge.as_bytes()) {
        return Err(ServerError::WrongVerifier);
    }
    let plain = keys.open(
        Purpose::AtRest,
        &seal_context(&taken.id),
        &taken.credentials_sealed,
    )?;
    serde_json::from_slice(&plain).map_err(|e| ServerError::Encoding(e.to_string()))
}

/// Equality without an early exit (the challenge is public, but the habit costs nothing).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn code_challenge(verifier: &str) -> String {
    B64URL.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

fn seal_context(pending_id: &str) -> Vec<u8> {
    format!("{SEAL_CONTEXT}{pending_id}").into_bytes()
}

/// 32 random bytes, base64url (43 characters): pending ids and codes.
pub fn random_token() -> Result<String, crate::crypto::CryptoError> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| crate::crypto::CryptoError::Random)?;
    Ok(B64URL.encode(bytes))
}

fn random_token_hex(len: usize) -> Result<String, crate::crypto::CryptoError> {
    let mut bytes = vec![0u8; len];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| crate::crypto::CryptoError::Random)?;
    Ok(hex::encode(bytes))
}
