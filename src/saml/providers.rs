//! SAML providers per account (IMS `*SAMLProvider`, spec §5.1): the uploaded metadata is parsed
//! and validated when written (entityID and signing certificates are kept; several certificates
//! are allowed for rollover), and the document is kept as uploaded for `GetSAMLProvider`.
//!
//! rambridge extension: `MetadataUrl` (create) / `NewMetadataUrl` (update; empty clears it) names
//! an https URL that [`super::refresh`] re-fetches on a schedule, so an IdP's signing-certificate
//! rollover needs no administrator. The uploaded document stays required on create: it is the
//! first copy, and it fixes the entityID that every refreshed copy must keep.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::metadata::{IdpMetadata, parse_idp_metadata};
use crate::ram::{RamError, Scope, validate};
use crate::store::{Page, SamlProvider, StoreError};

/// Providers one account may register (Alibaba's limit).
pub const MAX_PROVIDERS_PER_ACCOUNT: i64 = 100;

/// The provider's ARN.
pub fn provider_arn(account_id: &str, name: &str) -> String {
    format!("acs:ram::{account_id}:saml-provider/{name}")
}

/// `SAMLProviderName`: 1-128 of `[A-Za-z0-9._-]`, not starting or ending with `.`, `_` or `-`.
pub fn check_name(name: &str) -> Result<(), RamError> {
    validate::name(
        "SAMLProviderName",
        name,
        1,
        128,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'),
        "letters, digits, '.', '_' and '-'",
    )?;
    if name.starts_with(['.', '_', '-']) || name.ends_with(['.', '_', '-']) {
        return Err(RamError::Invalid {
            field: "SAMLProviderName",
            kind: "Format",
            message: "SAMLProviderName must not start or end with '.', '_' or '-'.".into(),
        });
    }
    Ok(())
}

pub(crate) fn check_algo(v: Option<&str>, current: &str) -> Result<String, RamError> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(current.to_string()),
        Some(a @ ("rsa-sha256" | "rsa-sha1")) => Ok(a.to_string()),
        Some(_) => Err(RamError::Invalid {
            field: "AuthnSignAlgo",
            kind: "Format",
            message: "AuthnSignAlgo must be rsa-sha256 or rsa-sha1.".into(),
        }),
    }
}

/// Longest accepted metadata URL.
pub const MAX_METADATA_URL_CHARS: usize = 1024;

/// `MetadataUrl` / `NewMetadataUrl`: an absolute `https://` URL with a host, at most
/// [`MAX_METADATA_URL_CHARS`], without userinfo (no credentials in a stored URL) or fragment.
/// Plain http is refused: whoever can tamper with the fetch could swap the trust anchors.
pub fn check_metadata_url(field: &'static str, url: &str) -> Result<(), RamError> {
    let invalid = |kind: &'static str, message: String| RamError::Invalid {
        field,
        kind,
        message,
    };
    if url.chars().count() > MAX_METADATA_URL_CHARS {
        return Err(invalid(
            "Length",
            format!("{field} must be at most {MAX_METADATA_URL_CHARS} characters."),
        ));
    }
    let scheme_ok = url
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"));
    if !scheme_ok {
        return Err(invalid(
            "Scheme",
            format!("{field} must be an https:// URL: metadata is never fetched over plain HTTP."),
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "Format",
            format!("{field} must not contain spaces or control characters."),
        ));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| invalid("Format", format!("{field} is not a valid URL: {e}.")))?;
    if parsed.scheme() != "https" || parsed.host().is_none() {
        return Err(invalid(
            "Format",
            format!("{field} must be an absolute https:// URL with a host name."),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "Userinfo",
            format!("{field} must not contain a user name or password."),
        ));
    }
    if parsed.fragment().is_some() {
        return Err(invalid(
            "Fragment",
            format!("{field} must not contain a #fragment."),
        ));
    }
    Ok(())
}

/// Decodes and validates an `EncodedSAMLMetadataDocument`.
pub fn parse_encoded(
    s: &Scope<'_>,
    field: &'static str,
    b64: &str,
) -> Result<IdpMetadata, RamError> {
    let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let xml = B64
        .decode(compact.as_bytes())
        .map_err(|_| RamError::Invalid {
            field,
            kind: "Format",
            message: format!("{field} is not valid base64."),
        })?;
    parse_idp_metadata(&xml, None, s.clock.now()).map_err(|e| RamError::Invalid {
        field,
        kind: "Invalid",
        message: format!("The metadata document was refused: {e}"),
    })
}

pub(crate) fn certificates(m: &IdpMetadata) -> Vec<String> {
    m.signing_certificates
        .iter()
        .map(|c| B64.encode(c))
        .collect()
}

/// `CreateSAMLProvider`, with the optional `MetadataUrl` (empty = none).
pub async fn create(
    s: &Scope<'_>,
    name: &str,
    metadata_b64: &str,
    description: Option<&str>,
    authn_sign_algo: Option<&str>,
    metadata_url: Option<&str>,
) -> Result<SamlProvider, RamError> {
    check_name(name)?;
    if let Some(d) = description {
        validate::text("Description", d, 256)?;
    }
    let algo = check_algo(authn_sign_algo, "rsa-sha256")?;
    let metadata_url = metadata_url.filter(|u| !u.is_empty());
    if let Some(u) = metadata_url {
        check_metadata_url("MetadataUrl", u)?;
    }
    let m = parse_encoded(s, "EncodedSAMLMetadataDocument", metadata_b64)?;
    if s.store.count_saml_providers(s.account_id).await? >= MAX_PROVIDERS_PER_ACCOUNT {
        return Err(RamError::LimitExceeded {
            what: "SAMLProvider",
            message: format!(
                "An account may hold at most {MAX_PROVIDERS_PER_ACCOUNT} SAML providers."
            ),
        });
    }
    let now = s.clock.now_ms();
    let p = SamlProvider {
        account_id: s.account_id.to_string(),
        name: name.to_string(),
        description: description.unwrap_or_default().to_string(),
        metadata_b64: metadata_b64
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
        entity_id: m.entity_id.clone(),
        certificates: certificates(&m),
        authn_sign_algo: algo,
        created_at: now,
        updated_at: now,
        metadata_url: metadata_url.map(str::to_string),
        metadata_refreshed_at: None,
        metadata_refresh_error: None,
    };
    s.store
        .create_saml_provider(&p)
        .await
        .map_err(RamError::on_conflict("SAMLProvider", name))?;
    Ok(p)
}

/// The provider named `name`, or `EntityNotExist.SAMLProvider`.
pub async fn get(s: &Scope<'_>, name: &str) -> Result<SamlProvider, RamError> {
    check_name(name)?;
    s.store
        .find_saml_provider(s.account_id, name)
        .await?
        .ok_or_else(|| RamError::not_found("SAMLProvider", name))
}

/// `UpdateSAMLProvider`: new metadata (certificate rollover), description, signing algorithm
/// and/or metadata URL (`new_metadata_url`: `None` keeps it, `Some("")` clears it).
pub async fn update(
    s: &Scope<'_>,
    name: &str,
    new_metadata_b64: Option<&str>,
    new_description: Option<&str>,
    authn_sign_algo: Option<&str>,
    new_metadata_url: Option<&str>,
) -> Result<SamlProvider, RamError> {
    let mut p = get(s, name).await?;
    let new_metadata_b64 = new_metadata_b64.filter(|m| !m.is_empty());
    if new_metadata_b64.is_none()
        && new_description.is_none()
        && authn_sign_algo.is_none()
        && new_metadata_url.is_none()
    {
        return Err(RamError::Invalid {
            field: "NewEncodedSAMLMetadataDocument",
            kind: "Missing",
            message: "Give NewEncodedSAMLMetadataDocument, NewDescription, AuthnSignAlgo or \
                      NewMetadataUrl."
                .into(),
        });
    }
    // Every check comes before the first write.
    if let Some(u) = new_metadata_url.filter(|u| !u.is_empty()) {
        check_metadata_url("NewMetadataUrl", u)?;
    }
    if let Some(b64) = new_metadata_b64 {
        let m = parse_encoded(s, "NewEncodedSAMLMetadataDocument", b64)?;
        p.metadata_b64 = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        p.entity_id = m.entity_id.clone();
        p.certificates = certificates(&m);
    }
    if let Some(d) = new_description {
        validate::text("NewDescription", d, 256)?;
        p.description = d.to_string();
    }
    p.authn_sign_algo = check_algo(authn_sign_algo, &p.authn_sign_algo)?;
    p.updated_at = s.clock.now_ms();
    s.store.update_saml_provider(&p).await?;
    if let Some(u) = new_metadata_url {
        let url = Some(u).filter(|u| !u.is_empty());
        if !s
            .store
            .set_saml_provider_metadata_url(s.account_id, name, url, p.updated_at)
            .await?
        {
            return Err(RamError::not_found("SAMLProvider", name));
        }
        p.metadata_url = url.map(str::to_string);
        p.metadata_refreshed_at = None;
        p.metadata_refresh_error = None;
    }
    Ok(p)
}

/// `DeleteSAMLProvider`: allowed while roles trust it (as at Alibaba); they then refuse it.
pub async fn delete(s: &Scope<'_>, name: &str) -> Result<(), RamError> {
    check_name(name)?;
    if !s.store.delete_saml_provider(s.account_id, name).await? {
        return Err(RamError::not_found("SAMLProvider", name));
    }
    Ok(())
}

/// `ListSAMLProviders`.
pub async fn list(
    s: &Scope<'_>,
    max_items: Option<&str>,
    marker: Option<&str>,
) -> Result<Page<SamlProvider>, RamError> {
    let (limit, after) = validate::paging_up_to(max_items, marker, 100)?;
    s.store
        .list_saml_providers(s.account_id, after.as_deref(), limit)
        .await
        .map_err(|e: StoreError| e.into())
}
