//! User-based SSO (spec §5.3, §8.2): an account's `UserSsoSettings` (IdP metadata, auxiliary
//! domain, whether NameIDs carry a domain) and the mapping of a verified NameID to one of the
//! account's RAM users, and nothing else.
//!
//! NameID rules: with `SsoLoginWithDomain` (the default) the NameID is a user principal name
//! `<user>@<domain>` where the domain is the account's default domain `<alias>.<suffix>` or its
//! auxiliary domain (case-insensitive); without it, the bare `<user>`. The user must exist in
//! this account and have console access (a login profile): a user without one is disabled for
//! sign-in, by SSO as by password.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::providers::{certificates, check_algo, parse_encoded};
use crate::ram::{RamError, Scope, validate};
use crate::store::{Account, Store, StoreError, User, UserSsoSettingsRow};

/// Why a verified NameID maps to no user.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum NameIdError {
    /// The domain part is neither the default nor the auxiliary domain.
    #[error("the NameID {name_id:?} is not under the account's domain {expected}")]
    Domain {
        /// The NameID.
        name_id: String,
        /// The accepted domain(s).
        expected: String,
    },
    /// A bare user name was expected (`SsoLoginWithDomain=false`), or the NameID has no name.
    #[error("the NameID {0:?} is not of the form the account's SSO settings require")]
    Form(String),
    /// No RAM user of that name in the account.
    #[error("no RAM user {0:?} exists in this account")]
    UnknownUser(String),
    /// The user exists but may not sign in (no console access).
    #[error("the RAM user {0:?} is disabled for console sign-in")]
    Disabled(String),
}

/// The default domain of an account: `<alias>.<suffix>`.
pub fn default_domain(alias: &str, suffix: &str) -> String {
    format!("{alias}.{suffix}")
}

/// The user name a NameID stands for under `settings` (no store access).
pub fn user_name_for(
    name_id: &str,
    account: &Account,
    suffix: &str,
    settings: &UserSsoSettingsRow,
) -> Result<String, NameIdError> {
    user_name_under(
        name_id,
        account,
        suffix,
        settings.sso_login_with_domain,
        &settings.auxiliary_domain,
    )
}

/// The user name a principal name stands for: `<user>@<default or auxiliary domain>` when
/// `with_domain`, else the bare `<user>` (also the rule of the OIDC sign-in's user claim).
pub fn user_name_under(
    name_id: &str,
    account: &Account,
    suffix: &str,
    with_domain: bool,
    auxiliary_domain: &str,
) -> Result<String, NameIdError> {
    let name = if with_domain {
        let (user, domain) = name_id
            .rsplit_once('@')
            .ok_or_else(|| NameIdError::Form(name_id.into()))?;
        let default = default_domain(&account.alias, suffix);
        let aux = auxiliary_domain;
        let ok = domain.eq_ignore_ascii_case(&default)
            || (!aux.is_empty() && domain.eq_ignore_ascii_case(aux));
        if !ok {
            let expected = if aux.is_empty() {
                default
            } else {
                format!("{default} or {aux}")
            };
            return Err(NameIdError::Domain {
                name_id: name_id.into(),
                expected,
            });
        }
        user
    } else {
        if name_id.contains('@') {
            return Err(NameIdError::Form(name_id.into()));
        }
        name_id
    };
    validate::user_name("NameID", name).map_err(|_| NameIdError::Form(name_id.into()))?;
    Ok(name.to_string())
}

/// The enabled RAM user a verified NameID maps to.
pub async fn map_name_id(
    store: &Store,
    name_id: &str,
    account: &Account,
    suffix: &str,
    settings: &UserSsoSettingsRow,
) -> Result<Result<User, NameIdError>, StoreError> {
    map_principal(
        store,
        name_id,
        account,
        suffix,
        settings.sso_login_with_domain,
        &settings.auxiliary_domain,
    )
    .await
}

/// The enabled RAM user of `account` a verified principal name maps to ([`user_name_under`]).
pub async fn map_principal(
    store: &Store,
    name_id: &str,
    account: &Account,
    suffix: &str,
    with_domain: bool,
    auxiliary_domain: &str,
) -> Result<Result<User, NameIdError>, StoreError> {
    let name = match user_name_under(name_id, account, suffix, with_domain, auxiliary_domain) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    let Some(user) = store.find_user(&account.id, &name).await? else {
        return Ok(Err(NameIdError::UnknownUser(name)));
    };
    if store.find_login_profile(&user.id).await?.is_none() {
        return Ok(Err(NameIdError::Disabled(name)));
    }
    Ok(Ok(user))
}

/// The settings of an account, or the defaults (SSO off, domain in NameIDs, rsa-sha256).
pub async fn get(s: &Scope<'_>) -> Result<UserSsoSettingsRow, RamError> {
    Ok(s.store
        .find_user_sso_settings(s.account_id)
        .await?
        .unwrap_or_else(|| UserSsoSettingsRow {
            account_id: s.account_id.to_string(),
            sso_enabled: false,
            metadata_b64: String::new(),
            idp_entity_id: String::new(),
            certificates: Vec::new(),
            auxiliary_domain: String::new(),
            sso_login_with_domain: true,
            authn_sign_algo: "rsa-sha256".into(),
            updated_at: 0,
        }))
}

/// What `SetUserSsoSettings` may change; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct SsoChanges<'a> {
    /// `SsoEnabled`.
    pub sso_enabled: Option<&'a str>,
    /// `MetadataDocument` (base64 IdP metadata).
    pub metadata_document: Option<&'a str>,
    /// `AuxiliaryDomain` (empty clears).
    pub auxiliary_domain: Option<&'a str>,
    /// `SsoLoginWithDomain`.
    pub sso_login_with_domain: Option<&'a str>,
    /// `AuthnSignAlgo`.
    pub authn_sign_algo: Option<&'a str>,
}

fn check_domain(field: &'static str, d: &str) -> Result<(), RamError> {
    let ok = d.len() <= 128
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(RamError::Invalid {
            field,
            kind: "Format",
            message: format!(
                "{field} {d:?} is not a domain name (lowercase labels of letters, digits and '-', at most 128 characters)."
            ),
        })
    }
}

/// `SetUserSsoSettings`: validates everything first, then writes once. Enabling SSO needs an
/// IdP metadata document (given now or before).
pub async fn set(s: &Scope<'_>, c: &SsoChanges<'_>) -> Result<UserSsoSettingsRow, RamError> {
    let mut next = get(s).await?;
    next.sso_enabled = validate::boolean("SsoEnabled", c.sso_enabled, next.sso_enabled)?;
    next.sso_login_with_domain = validate::boolean(
        "SsoLoginWithDomain",
        c.sso_login_with_domain,
        next.sso_login_with_domain,
    )?;
    next.authn_sign_algo = check_algo(c.authn_sign_algo, &next.authn_sign_algo)?;
    if let Some(d) = c.auxiliary_domain {
        if !d.is_empty() {
            check_domain("AuxiliaryDomain", d)?;
        }
        next.auxiliary_domain = d.to_string();
    }
    if let Some(doc) = c.metadata_document.filter(|d| !d.is_empty()) {
        let m = parse_encoded(s, "MetadataDocument", doc)?;
        next.metadata_b64 = doc.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        next.idp_entity_id = m.entity_id.clone();
        next.certificates = certificates(&m);
    }
    if next.sso_enabled && next.metadata_b64.is_empty() {
        return Err(RamError::Invalid {
            field: "MetadataDocument",
            kind: "Required",
            message: "Enabling user SSO needs the IdP's MetadataDocument.".into(),
        });
    }
    next.updated_at = s.clock.now_ms();
    s.store.put_user_sso_settings(&next).await?;
    Ok(next)
}

/// The IdP's SingleSignOnService URL for the HTTP-Redirect binding, from stored metadata.
pub fn idp_redirect_url(metadata_b64: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let xml = B64.decode(metadata_b64.as_bytes()).ok()?;
    let m = super::metadata::parse_idp_metadata(&xml, None, now).ok()?;
    m.redirect_sso_url().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(with_domain: bool, aux: &str) -> UserSsoSettingsRow {
        UserSsoSettingsRow {
            account_id: "1".into(),
            sso_enabled: true,
            metadata_b64: "x".into(),
            idp_entity_id: "idp".into(),
            certificates: vec![],
            auxiliary_domain: aux.into(),
            sso_login_with_domain: with_domain,
            authn_sign_algo: "rsa-sha256".into(),
            updated_at: 0,
        }
    }

    fn acme() -> Account {
        Account {
            id: "1".into(),
            alias: "acme".into(),
            created_at: 0,
        }
    }

    #[test]
    fn name_id_maps_under_default_and_auxiliary_domains_only() {
        let s = settings(true, "corp.example");
        let map = |n: &str| user_name_for(n, &acme(), "onaliyun.com", &s);
        assert_eq!(map("alice@acme.onaliyun.com").unwrap(), "alice");
        assert_eq!(map("alice@ACME.onaliyun.com").unwrap(), "alice");
        assert_eq!(map("bob@corp.example").unwrap(), "bob");
        assert!(matches!(
            map("alice@other.onaliyun.com"),
            Err(NameIdError::Domain { .. })
        ));
        assert!(matches!(
            map("alice@evil.corp.example"),
            Err(NameIdError::Domain { .. })
        ));
        assert!(matches!(map("alice"), Err(NameIdError::Form(_))));
        assert!(matches!(
            map("@acme.onaliyun.com"),
            Err(NameIdError::Form(_))
        ));
        assert!(matches!(
            map("a b@acme.onaliyun.com"),
            Err(NameIdError::Form(_))
        ));
        // Without an auxiliary domain only the default one is accepted.
        let s = settings(true, "");
        assert!(matches!(
            user_name_for("bob@corp.example", &acme(), "onaliyun.com", &s),
            Err(NameIdError::Domain { .. })
        ));
    }

    #[test]
    fn bare_names_when_login_without_domain() {
        let s = settings(false, "corp.example");
        let map = |n: &str| user_name_for(n, &acme(), "onaliyun.com", &s);
        assert_eq!(map("alice").unwrap(), "alice");
        assert!(matches!(
            map("alice@acme.onaliyun.com"),
            Err(NameIdError::Form(_))
        ));
        assert!(matches!(map(""), Err(NameIdError::Form(_))));
    }

    #[test]
    fn domain_validation() {
        assert!(check_domain("AuxiliaryDomain", "corp.example").is_ok());
        for bad in [
            "corp",
            "Corp.example",
            "-a.example",
            "a..example",
            "a_b.example",
        ] {
            assert!(check_domain("AuxiliaryDomain", bad).is_err(), "{bad}");
        }
    }
}
