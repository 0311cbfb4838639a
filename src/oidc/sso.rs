//! Browser sign-in through OIDC (docs/oidc.md, "Browser sign-in"): an account's settings
//! (`SetOIDCSsoSettings` / `GetOIDCSsoSettings`, rambridge's own IMS-style actions) and the
//! reading of a verified ID token's claims. The flow itself lives in `web::oidc_sso`.
//!
//! Rules:
//! * The provider is one of the account's OIDC providers and the client id one of its
//!   ClientIds, so the ID token passes exactly the checks of `AssumeRoleWithOIDC`.
//! * The client secret is sealed with the keyring (at rest, bound to the account) and never
//!   returned; `GetOIDCSsoSettings` only says whether one is set.
//! * User mode: the user claim maps to a RAM user of this account only, by the rules of SAML
//!   user SSO (`saml::user_sso`). Role mode: the role claim's values are `<roleArn>` or
//!   `<roleArn>,<oidcProviderArn>`; a value naming another provider is ignored.

use serde_json::Value;

use super::VerifiedIdToken;
use super::providers;
use crate::crypto::{CryptoError, Keyring, Purpose};
use crate::ram::{RamError, Scope, validate};
use crate::store::OidcSsoSettingsRow;

/// Sign-in mode: the user claim names a RAM user.
pub const MODE_USER: &str = "user";
/// Sign-in mode: the role claim names roles (role chooser).
pub const MODE_ROLE: &str = "role";
/// Longest `Scopes` value.
pub const MAX_SCOPES_CHARS: usize = 512;
/// Longest client secret.
pub const MAX_SECRET_CHARS: usize = 512;

/// What `SetOIDCSsoSettings` may change; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct OidcSsoChanges<'a> {
    /// `Enabled`.
    pub enabled: Option<&'a str>,
    /// `OIDCProviderName`.
    pub provider_name: Option<&'a str>,
    /// `ClientId`.
    pub client_id: Option<&'a str>,
    /// `ClientSecret` (empty clears: public client).
    pub client_secret: Option<&'a str>,
    /// `Scopes` (space-separated).
    pub scopes: Option<&'a str>,
    /// `Mode` (`user` or `role`).
    pub mode: Option<&'a str>,
    /// `UserClaim`.
    pub user_claim: Option<&'a str>,
    /// `RoleClaim`.
    pub role_claim: Option<&'a str>,
    /// `LoginWithDomain`.
    pub login_with_domain: Option<&'a str>,
}

fn invalid(field: &'static str, message: String) -> RamError {
    RamError::Invalid {
        field,
        kind: "Format",
        message,
    }
}

fn seal_context(account_id: &str) -> Vec<u8> {
    format!("oidc-sso-client-secret/{account_id}").into_bytes()
}

/// The settings of an account, or the defaults (off, user mode, `email` / `roles` claims).
pub async fn get(s: &Scope<'_>) -> Result<OidcSsoSettingsRow, RamError> {
    Ok(s.store
        .find_oidc_sso_settings(s.account_id)
        .await?
        .unwrap_or_else(|| OidcSsoSettingsRow {
            account_id: s.account_id.to_string(),
            enabled: false,
            provider_name: String::new(),
            client_id: String::new(),
            client_secret_sealed: None,
            scopes: "openid".into(),
            mode: MODE_USER.into(),
            user_claim: "email".into(),
            role_claim: "roles".into(),
            login_with_domain: true,
            updated_at: 0,
        }))
}

fn check_claim(field: &'static str, claim: &str) -> Result<(), RamError> {
    let ok = (1..=64).contains(&claim.len())
        && claim
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{field} {claim:?} is not a claim name (1-64 letters, digits and _ - . : /)."),
        ))
    }
}

/// Normalizes `Scopes`: space-separated scope tokens (RFC 6749 §3.3), `openid` first.
fn normalize_scopes(scopes: &str) -> Result<String, RamError> {
    if scopes.len() > MAX_SCOPES_CHARS {
        return Err(invalid(
            "Scopes",
            format!("Scopes is longer than {MAX_SCOPES_CHARS} characters."),
        ));
    }
    let mut out = vec!["openid".to_string()];
    for s in scopes.split_ascii_whitespace() {
        let ok = s
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
        if !ok {
            return Err(invalid(
                "Scopes",
                format!("the scope {s:?} has characters a scope cannot have (RFC 6749 3.3)."),
            ));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out.join(" "))
}

/// `SetOIDCSsoSettings`: validates everything first, then writes once. Enabling needs a
/// provider of the account and one of its ClientIds.
pub async fn set(s: &Scope<'_>, c: &OidcSsoChanges<'_>) -> Result<OidcSsoSettingsRow, RamError> {
    let mut next = get(s).await?;
    next.enabled = validate::boolean("Enabled", c.enabled, next.enabled)?;
    next.login_with_domain = validate::boolean(
        "LoginWithDomain",
        c.login_with_domain,
        next.login_with_domain,
    )?;
    if let Some(name) = c.provider_name {
        next.provider_name = name.to_string();
    }
    if let Some(id) = c.client_id {
        next.client_id = id.to_string();
    }
    if let Some(mode) = c.mode {
        if mode != MODE_USER && mode != MODE_ROLE {
            return Err(invalid(
                "Mode",
                format!("Mode {mode:?} is neither \"user\" nor \"role\"."),
            ));
        }
        next.mode = mode.to_string();
    }
    if let Some(claim) = c.user_claim {
        check_claim("UserClaim", claim)?;
        next.user_claim = claim.to_string();
    }
    if let Some(claim) = c.role_claim {
        check_claim("RoleClaim", claim)?;
        next.role_claim = claim.to_string();
    }
    if let Some(scopes) = c.scopes {
        next.scopes = normalize_scopes(scopes)?;
    }
    if !next.provider_name.is_empty() {
        let provider = providers::get(s, &next.provider_name).await?;
        if !next.client_id.is_empty() && !provider.client_ids.contains(&next.client_id) {
            return Err(invalid(
                "ClientId",
                format!(
                    "ClientId {:?} is not one of the ClientIds of the OIDC provider {:?} ({}); \
                     add it with AddClientIdToOIDCProvider first.",
                    next.client_id,
                    next.provider_name,
                    provider.client_ids.join(", ")
                ),
            ));
        }
    }
    if next.enabled && (next.provider_name.is_empty() || next.client_id.is_empty()) {
        return Err(RamError::Invalid {
            field: "OIDCProviderName",
            kind: "Required",
            message: "Enabling OIDC sign-in needs OIDCProviderName and ClientId.".into(),
        });
    }
    if let Some(secret) = c.client_secret {
        if secret.len() > MAX_SECRET_CHARS || secret.chars().any(char::is_control) {
            return Err(invalid(
                "ClientSecret",
                format!("ClientSecret must be at most {MAX_SECRET_CHARS} printable characters."),
            ));
        }
        next.client_secret_sealed = if secret.is_empty() {
            None
        } else {
            Some(s.keys.seal(
                Purpose::AtRest,
                &seal_context(s.account_id),
                secret.as_bytes(),
            )?)
        };
    }
    next.updated_at = s.clock.now_ms();
    s.store.put_oidc_sso_settings(&next).await?;
    Ok(next)
}

/// The client secret, unsealed (`None`: public client).
pub fn client_secret(
    keys: &Keyring,
    settings: &OidcSsoSettingsRow,
) -> Result<Option<String>, CryptoError> {
    settings
        .client_secret_sealed
        .as_ref()
        .map(|sealed| {
            let plain = keys.open(Purpose::AtRest, &seal_context(&settings.account_id), sealed)?;
            Ok(String::from_utf8_lossy(&plain).into_owned())
        })
        .transpose()
}

/// A string claim of a verified token.
pub fn string_claim<'t>(token: &'t VerifiedIdToken, claim: &str) -> Option<&'t str> {
    token
        .claims
        .get(claim)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// The role ARNs the role claim names for `provider_arn`: each value (a string or an array of
/// strings) is `<roleArn>` or `<roleArn>,<providerArn>`; values for other providers, and
/// duplicates, are dropped.
pub fn role_arns(token: &VerifiedIdToken, claim: &str, provider_arn: &str) -> Vec<String> {
    let values: Vec<&str> = match token.claims.get(claim) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let mut parts = v.split(',').map(str::trim);
        let role = parts.next().unwrap_or_default();
        let provider = parts.next();
        if role.is_empty() || parts.next().is_some() {
            continue;
        }
        if provider.is_some_and(|p| p != provider_arn) {
            continue;
        }
        if !out.iter().any(|o| o == role) {
            out.push(role.to_string());
        }
    }
    out
}

/// A RoleSessionName for a sign-in: the user claim when it is a valid one, else `sub`, else
/// the `sub` reduced to the allowed characters (2-64 of `[A-Za-z0-9.@_-]`).
pub fn session_name(token: &VerifiedIdToken, user_claim: &str) -> String {
    let valid = |n: &str| crate::sts::check_session_name(n).is_ok();
    if let Some(n) = string_claim(token, user_claim).filter(|n| valid(n)) {
        return n.to_string();
    }
    if valid(&token.subject) {
        return token.subject.clone();
    }
    let mut n: String = token
        .subject
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '_' | '-'))
        .take(64)
        .collect();
    while n.len() < 2 {
        n.push('_');
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_normalized_with_openid_first() {
        assert_eq!(normalize_scopes("").unwrap(), "openid");
        assert_eq!(
            normalize_scopes("email  profile openid email").unwrap(),
            "openid email profile"
        );
        assert!(normalize_scopes("a\"b").is_err());
        assert!(normalize_scopes(&"a ".repeat(300)).is_err());
    }

    #[test]
    fn claim_names_are_checked() {
        for good in ["email", "upn", "preferred_username", "https://x/roles"] {
            assert!(check_claim("UserClaim", good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "ä", &"x".repeat(65)] {
            assert!(check_claim("UserClaim", bad).is_err(), "{bad}");
        }
    }
}
