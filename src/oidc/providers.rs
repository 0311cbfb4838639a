//! OIDC providers per account (IMS `*OIDCProvider`, spec §5.2): parameter rules, limits and
//! the list edits. Everything is checked before the first write; list edits are
//! compare-and-swap updates in the store, retried a few times when they race.
//!
//! Rules (Alibaba's, from the IMS API reference and the SDK model docs):
//! * `OIDCProviderName`: 1-128 of `[A-Za-z0-9._-]`, not starting or ending with `.`, `_`, `-`.
//! * `IssuerUrl`: an absolute `https://` URL with a host, at most 255 characters, without query,
//!   user information (`@`) or fragment; unique per account.
//! * `Fingerprints`: comma list of at most 5; each the hex SHA-1 (40 digits, Alibaba's form) or
//!   SHA-256 (64 digits) of a certificate in the issuer's chain; stored lowercase.
//! * `ClientIds`: comma list of at most 50; each 1-128 of `[A-Za-z0-9._:/-]`, starting with a
//!   letter or digit.
//! * `IssuanceLimitTime`: hours, 1-168, default 12.
//! * `Description`: at most 256 characters.

use crate::ram::{RamError, Scope, validate};
use crate::store::{OidcProvider, Page, StoreError};

/// Providers one account may register.
pub const MAX_PROVIDERS_PER_ACCOUNT: i64 = 100;
/// Most ClientIds per provider.
pub const MAX_CLIENT_IDS: usize = 50;
/// Most Fingerprints per provider.
pub const MAX_FINGERPRINTS: usize = 5;
/// Longest IssuerUrl.
pub const MAX_ISSUER_URL_CHARS: usize = 255;
/// Default IssuanceLimitTime (hours).
pub const DEFAULT_ISSUANCE_LIMIT_HOURS: i64 = 12;
/// Longest IssuanceLimitTime (hours).
pub const MAX_ISSUANCE_LIMIT_HOURS: i64 = 168;

/// The provider's ARN.
pub fn provider_arn(account_id: &str, name: &str) -> String {
    format!("acs:ram::{account_id}:oidc-provider/{name}")
}

/// A parsed OIDC provider ARN `acs:ram::<account>:oidc-provider/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderArn {
    /// Account id.
    pub account_id: String,
    /// Provider name.
    pub name: String,
}

impl ProviderArn {
    /// Parses the ARN; `None` when it is not one.
    pub fn parse(arn: &str) -> Option<ProviderArn> {
        let rest = arn.strip_prefix("acs:ram::")?;
        let (account, name) = rest.split_once(":oidc-provider/")?;
        let ok = account.len() == 16
            && account.bytes().all(|b| b.is_ascii_digit())
            && check_name(name).is_ok();
        ok.then(|| ProviderArn {
            account_id: account.into(),
            name: name.into(),
        })
    }
}

fn invalid(field: &'static str, kind: &'static str, message: String) -> RamError {
    RamError::Invalid {
        field,
        kind,
        message,
    }
}

/// `OIDCProviderName`.
pub fn check_name(name: &str) -> Result<(), RamError> {
    validate::name(
        "OIDCProviderName",
        name,
        1,
        128,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'),
        "letters, digits, '.', '_' and '-'",
    )?;
    if name.starts_with(['.', '_', '-']) || name.ends_with(['.', '_', '-']) {
        return Err(invalid(
            "OIDCProviderName",
            "Format",
            "OIDCProviderName must not start or end with '.', '_' or '-'.".into(),
        ));
    }
    Ok(())
}

/// `IssuerUrl`.
pub fn check_issuer_url(url: &str) -> Result<(), RamError> {
    let field = "IssuerUrl";
    if url.chars().count() > MAX_ISSUER_URL_CHARS {
        return Err(invalid(
            field,
            "Length",
            format!("IssuerUrl must be at most {MAX_ISSUER_URL_CHARS} characters."),
        ));
    }
    let https = url
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"));
    if !https {
        return Err(invalid(
            field,
            "Scheme",
            "IssuerUrl must be an https:// URL: keys are never fetched over plain HTTP.".into(),
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            field,
            "Format",
            "IssuerUrl must not contain spaces or control characters.".into(),
        ));
    }
    for (c, what) in [
        ('?', "a query (?)"),
        ('@', "user information (@)"),
        ('#', "a fragment (#)"),
    ] {
        if url.contains(c) {
            return Err(invalid(
                field,
                "Format",
                format!("IssuerUrl must not contain {what}."),
            ));
        }
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        invalid(
            field,
            "Format",
            format!("IssuerUrl is not a valid URL: {e}."),
        )
    })?;
    if parsed.scheme() != "https" || parsed.host().is_none() {
        return Err(invalid(
            field,
            "Format",
            "IssuerUrl must be an absolute https:// URL with a host name.".into(),
        ));
    }
    Ok(())
}

/// One fingerprint, normalized to lowercase hex.
pub fn check_fingerprint(field: &'static str, f: &str) -> Result<String, RamError> {
    let ok = matches!(f.len(), 40 | 64) && f.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(invalid(
            field,
            "Format",
            format!(
                "{f:?} is not a certificate fingerprint: give the SHA-1 (40 hex digits) or SHA-256 \
                 (64 hex digits) of the issuer's CA certificate, e.g. from \
                 `openssl x509 -noout -fingerprint -sha1`, without colons."
            ),
        ));
    }
    Ok(f.to_ascii_lowercase())
}

/// One client id.
pub fn check_client_id(field: &'static str, id: &str) -> Result<(), RamError> {
    validate::name(
        field,
        id,
        1,
        128,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/'),
        "letters, digits, '.', '-', '_', ':' and '/'",
    )?;
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid(
            field,
            "Format",
            format!("{field} must start with a letter or a digit."),
        ));
    }
    Ok(())
}

/// Splits a comma list, trimming items and dropping empty ones and repeats.
fn split(list: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn client_ids(field: &'static str, list: &str) -> Result<Vec<String>, RamError> {
    let ids = split(list);
    if ids.len() > MAX_CLIENT_IDS {
        return Err(RamError::LimitExceeded {
            what: "OIDCProvider.ClientId",
            message: format!("A provider may hold at most {MAX_CLIENT_IDS} ClientIds."),
        });
    }
    ids.into_iter()
        .map(|id| check_client_id(field, id).map(|()| id.to_string()))
        .collect()
}

fn fingerprints(field: &'static str, list: &str) -> Result<Vec<String>, RamError> {
    let mut out: Vec<String> = Vec::new();
    for f in split(list) {
        let f = check_fingerprint(field, f)?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.len() > MAX_FINGERPRINTS {
        return Err(RamError::LimitExceeded {
            what: "OIDCProvider.Fingerprint",
            message: format!("A provider may hold at most {MAX_FINGERPRINTS} Fingerprints."),
        });
    }
    Ok(out)
}

fn issuance_limit(v: Option<&str>, current: i64) -> Result<i64, RamError> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(current),
        Some(v) => match v.parse::<i64>() {
            Ok(h) if (1..=MAX_ISSUANCE_LIMIT_HOURS).contains(&h) => Ok(h),
            _ => Err(invalid(
                "IssuanceLimitTime",
                "Range",
                format!(
                    "IssuanceLimitTime must be a number of hours from 1 to {MAX_ISSUANCE_LIMIT_HOURS}."
                ),
            )),
        },
    }
}

/// `CreateOIDCProvider` parameters.
#[derive(Debug, Clone, Default)]
pub struct NewProvider<'a> {
    /// `OIDCProviderName`.
    pub name: &'a str,
    /// `IssuerUrl`.
    pub issuer_url: &'a str,
    /// `Fingerprints` (comma list).
    pub fingerprints: Option<&'a str>,
    /// `ClientIds` (comma list).
    pub client_ids: Option<&'a str>,
    /// `IssuanceLimitTime` (hours).
    pub issuance_limit_time: Option<&'a str>,
    /// `Description`.
    pub description: Option<&'a str>,
}

/// `CreateOIDCProvider`. `fingerprints_required` is false only when issuers may also be
/// trusted through the system roots (`oidc_use_system_roots`).
pub async fn create(
    s: &Scope<'_>,
    input: &NewProvider<'_>,
    fingerprints_required: bool,
) -> Result<OidcProvider, RamError> {
    check_name(input.name)?;
    check_issuer_url(input.issuer_url)?;
    let description = input.description.unwrap_or_default();
    validate::text("Description", description, 256)?;
    let client_ids = client_ids("ClientIds", input.client_ids.unwrap_or_default())?;
    if client_ids.is_empty() {
        return Err(invalid(
            "ClientIds",
            "Missing",
            "Give at least one ClientId: the audience (aud) the issuer puts in its tokens for \
             rambridge."
                .into(),
        ));
    }
    let fingerprints = fingerprints("Fingerprints", input.fingerprints.unwrap_or_default())?;
    if fingerprints.is_empty() && fingerprints_required {
        return Err(invalid(
            "Fingerprints",
            "Missing",
            "Give the SHA-1 fingerprint of the issuer's HTTPS CA certificate: its keys are \
             fetched only from an endpoint pinned by it."
                .into(),
        ));
    }
    let limit = issuance_limit(input.issuance_limit_time, DEFAULT_ISSUANCE_LIMIT_HOURS)?;
    if s.store.count_oidc_providers(s.account_id).await? >= MAX_PROVIDERS_PER_ACCOUNT {
        return Err(RamError::LimitExceeded {
            what: "OIDCProvider",
            message: format!(
                "An account may hold at most {MAX_PROVIDERS_PER_ACCOUNT} OIDC providers."
            ),
        });
    }
    let now = s.clock.now_ms();
    let p = OidcProvider {
        account_id: s.account_id.to_string(),
        name: input.name.to_string(),
        description: description.to_string(),
        issuer_url: input.issuer_url.to_string(),
        client_ids,
        fingerprints,
        issuance_limit_hours: limit,
        created_at: now,
        updated_at: now,
    };
    match s.store.create_oidc_provider(&p).await {
        Ok(()) => Ok(p),
        // The constraints decided; this read only tells which one for the message.
        Err(StoreError::Conflict { .. }) => {
            if s.store
                .find_oidc_provider(s.account_id, input.name)
                .await?
                .is_some()
            {
                Err(RamError::AlreadyExists {
                    entity: "OIDCProvider",
                    message: format!("The OIDC provider {:?} already exists.", input.name),
                })
            } else {
                Err(RamError::AlreadyExists {
                    entity: "OIDCProvider.IssuerUrl",
                    message: format!(
                        "Another OIDC provider of this account already has IssuerUrl {:?}.",
                        input.issuer_url
                    ),
                })
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The provider named `name`, or `EntityNotExist.OIDCProvider`.
pub async fn get(s: &Scope<'_>, name: &str) -> Result<OidcProvider, RamError> {
    check_name(name)?;
    s.store
        .find_oidc_provider(s.account_id, name)
        .await?
        .ok_or_else(|| RamError::NotFound {
            entity: "OIDCProvider",
            message: format!("The OIDC provider {name:?} does not exist."),
        })
}

/// Applies `change` to the provider and stores it, retrying when a concurrent edit won.
async fn edit(
    s: &Scope<'_>,
    name: &str,
    change: impl Fn(&mut OidcProvider) -> Result<(), RamError>,
) -> Result<OidcProvider, RamError> {
    for _ in 0..5 {
        let read = get(s, name).await?;
        let mut new = read.clone();
        change(&mut new)?;
        new.updated_at = s.clock.now_ms();
        if s.store.update_oidc_provider(&read, &new).await? {
            return Ok(new);
        }
    }
    Err(RamError::Store(StoreError::Conflict {
        what: "OIDC provider (too many concurrent changes)",
    }))
}

/// `UpdateOIDCProvider`: `ClientIds` replaces the list; `IssuanceLimitTime`; `NewDescription`.
pub async fn update(
    s: &Scope<'_>,
    name: &str,
    new_client_ids: Option<&str>,
    issuance_limit_time: Option<&str>,
    new_description: Option<&str>,
) -> Result<OidcProvider, RamError> {
    check_name(name)?;
    let new_client_ids = new_client_ids.filter(|c| !c.is_empty());
    let issuance_limit_time = issuance_limit_time.filter(|c| !c.is_empty());
    if new_client_ids.is_none() && issuance_limit_time.is_none() && new_description.is_none() {
        return Err(invalid(
            "ClientIds",
            "Missing",
            "Give ClientIds, IssuanceLimitTime or NewDescription.".into(),
        ));
    }
    let ids = new_client_ids
        .map(|c| client_ids("ClientIds", c))
        .transpose()?;
    if let Some(d) = new_description {
        validate::text("NewDescription", d, 256)?;
    }
    let limit = issuance_limit_time
        .map(|v| issuance_limit(Some(v), DEFAULT_ISSUANCE_LIMIT_HOURS))
        .transpose()?;
    edit(s, name, |p| {
        if let Some(ids) = &ids {
            p.client_ids.clone_from(ids);
        }
        if let Some(limit) = limit {
            p.issuance_limit_hours = limit;
        }
        if let Some(d) = new_description {
            p.description = d.to_string();
        }
        Ok(())
    })
    .await
}

/// One of a provider's two lists edited an entry at a time
/// (`Add/Remove ClientId To/From OIDCProvider`, `Add/Remove Fingerprint To/From OIDCProvider`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderList {
    /// The audiences (`ClientId`).
    ClientIds,
    /// The TLS certificate fingerprints (`Fingerprint`).
    Fingerprints,
}

impl ProviderList {
    /// The request parameter that carries the entry.
    pub fn param(self) -> &'static str {
        match self {
            ProviderList::ClientIds => "ClientId",
            ProviderList::Fingerprints => "Fingerprint",
        }
    }

    fn entity(self) -> &'static str {
        match self {
            ProviderList::ClientIds => "OIDCProvider.ClientId",
            ProviderList::Fingerprints => "OIDCProvider.Fingerprint",
        }
    }

    /// The entry as stored, once valid.
    fn check(self, value: &str) -> Result<String, RamError> {
        match self {
            ProviderList::ClientIds => {
                check_client_id("ClientId", value)?;
                Ok(value.to_string())
            }
            ProviderList::Fingerprints => check_fingerprint("Fingerprint", value),
        }
    }

    fn entries(self, p: &mut OidcProvider) -> &mut Vec<String> {
        match self {
            ProviderList::ClientIds => &mut p.client_ids,
            ProviderList::Fingerprints => &mut p.fingerprints,
        }
    }

    fn full(self) -> RamError {
        let message = match self {
            ProviderList::ClientIds => {
                format!("A provider may hold at most {MAX_CLIENT_IDS} ClientIds.")
            }
            ProviderList::Fingerprints => format!(
                "A provider may hold at most {MAX_FINGERPRINTS} Fingerprints; remove an old one \
                 first."
            ),
        };
        RamError::LimitExceeded {
            what: self.entity(),
            message,
        }
    }

    fn max(self) -> usize {
        match self {
            ProviderList::ClientIds => MAX_CLIENT_IDS,
            ProviderList::Fingerprints => MAX_FINGERPRINTS,
        }
    }
}

/// Adds `value` to the provider's `list`: refused when already there or the list is full.
pub async fn add_to_list(
    s: &Scope<'_>,
    name: &str,
    list: ProviderList,
    value: &str,
) -> Result<OidcProvider, RamError> {
    check_name(name)?;
    let value = list.check(value)?;
    edit(s, name, |p| {
        let entries = list.entries(p);
        if entries.contains(&value) {
            return Err(RamError::AlreadyExists {
                entity: list.entity(),
                message: format!("The OIDC provider already has {} {value:?}.", list.param()),
            });
        }
        if entries.len() >= list.max() {
            return Err(list.full());
        }
        entries.push(value.clone());
        Ok(())
    })
    .await
}

/// Removes `value` from the provider's `list`: refused when it is not there.
pub async fn remove_from_list(
    s: &Scope<'_>,
    name: &str,
    list: ProviderList,
    value: &str,
) -> Result<OidcProvider, RamError> {
    check_name(name)?;
    let value = list.check(value)?;
    edit(s, name, |p| {
        let entries = list.entries(p);
        let before = entries.len();
        entries.retain(|e| *e != value);
        if entries.len() == before {
            return Err(RamError::NotFound {
                entity: list.entity(),
                message: format!("The OIDC provider has no {} {value:?}.", list.param()),
            });
        }
        Ok(())
    })
    .await
}

/// `DeleteOIDCProvider`: allowed while roles trust it (as at Alibaba); they then refuse it.
pub async fn delete(s: &Scope<'_>, name: &str) -> Result<(), RamError> {
    check_name(name)?;
    if !s.store.delete_oidc_provider(s.account_id, name).await? {
        return Err(RamError::NotFound {
            entity: "OIDCProvider",
            message: format!("The OIDC provider {name:?} does not exist."),
        });
    }
    Ok(())
}

/// `ListOIDCProviders` (`MaxItems` 1-100).
pub async fn list(
    s: &Scope<'_>,
    max_items: Option<&str>,
    marker: Option<&str>,
) -> Result<Page<OidcProvider>, RamError> {
    let (limit, after) = validate::paging_up_to(max_items, marker, 100)?;
    Ok(s.store
        .list_oidc_providers(s.account_id, after.as_deref(), limit)
        .await?)
}
