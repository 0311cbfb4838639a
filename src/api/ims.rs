//! IMS action handlers (IMS 2019-08-15, spec §5): SAML providers, user-based SSO settings
//! (with the legacy `SetSamlSsoSettings`/`GetSamlSsoSettings` names as aliases), the default
//! domain, and the sign-in audit (`ListSignInEvents`, a rambridge extension).

use serde_json::{Map, Value, json};

use super::dispatch::ActionContext;
use super::error::ApiError;
use super::handler::{Reply, date, ram, scope};
use crate::ram::validate;
use crate::saml::providers::{self, provider_arn};
use crate::saml::user_sso::{self, SsoChanges};
use crate::store::{SamlProvider, UserSsoSettingsRow};

fn provider_json(p: &SamlProvider, with_document: bool) -> Value {
    let mut v = json!({
        "Arn": provider_arn(&p.account_id, &p.name),
        "SAMLProviderName": p.name,
        "Description": p.description,
        "AuthnSignAlgo": p.authn_sign_algo,
        "CreateDate": date(p.created_at),
        "UpdateDate": date(p.updated_at),
    });
    if let (true, Value::Object(m)) = (with_document, &mut v) {
        m.insert(
            "EncodedSAMLMetadataDocument".into(),
            Value::String(p.metadata_b64.clone()),
        );
        // rambridge extension (metadata URL refresh): present only when set.
        let refresh = [
            ("MetadataUrl", p.metadata_url.clone()),
            ("MetadataRefreshedAt", p.metadata_refreshed_at.map(date)),
            ("MetadataRefreshError", p.metadata_refresh_error.clone()),
        ];
        for (key, value) in refresh {
            if let Some(value) = value {
                m.insert(key.into(), Value::String(value));
            }
        }
    }
    v
}

fn one(p: &SamlProvider, with_document: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("SAMLProvider".into(), provider_json(p, with_document));
    m
}

/// `CreateSAMLProvider` (`ram:CreateSAMLProvider`); `MetadataUrl` is a rambridge extension.
pub async fn create_saml_provider(ctx: &ActionContext<'_>) -> Reply {
    let p = ctx.params;
    let created = providers::create(
        &scope(ctx)?,
        p.required("SAMLProviderName")?,
        p.required("EncodedSAMLMetadataDocument")?,
        p.get("Description"),
        p.get("AuthnSignAlgo"),
        p.get("MetadataUrl"),
    )
    .await
    .map_err(ram(ctx))?;
    Ok(one(&created, false))
}

/// `UpdateSAMLProvider` (`ram:UpdateSAMLProvider`); `NewMetadataUrl` (empty clears) is a
/// rambridge extension.
pub async fn update_saml_provider(ctx: &ActionContext<'_>) -> Reply {
    let p = ctx.params;
    let updated = providers::update(
        &scope(ctx)?,
        p.required("SAMLProviderName")?,
        p.get("NewEncodedSAMLMetadataDocument"),
        p.get("NewDescription"),
        p.get("AuthnSignAlgo"),
        p.get("NewMetadataUrl"),
    )
    .await
    .map_err(ram(ctx))?;
    Ok(one(&updated, false))
}

/// `GetSAMLProvider` (`ram:GetSAMLProvider`).
pub async fn get_saml_provider(ctx: &ActionContext<'_>) -> Reply {
    let got = providers::get(&scope(ctx)?, ctx.params.required("SAMLProviderName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(one(&got, true))
}

/// `DeleteSAMLProvider` (`ram:DeleteSAMLProvider`).
pub async fn delete_saml_provider(ctx: &ActionContext<'_>) -> Reply {
    providers::delete(&scope(ctx)?, ctx.params.required("SAMLProviderName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `ListSAMLProviders` (`ram:ListSAMLProviders`).
pub async fn list_saml_providers(ctx: &ActionContext<'_>) -> Reply {
    let page = providers::list(
        &scope(ctx)?,
        ctx.params.get("MaxItems"),
        ctx.params.get("Marker"),
    )
    .await
    .map_err(ram(ctx))?;
    let mut m = Map::new();
    m.insert(
        "SAMLProviders".into(),
        json!({ "SAMLProvider": page.items.iter().map(|p| provider_json(p, false)).collect::<Vec<_>>() }),
    );
    m.insert("IsTruncated".into(), Value::Bool(page.next_after.is_some()));
    if let Some(after) = &page.next_after {
        m.insert("Marker".into(), Value::String(validate::marker(after)));
    }
    Ok(m)
}

// ---- user-based SSO settings (spec §5.3) -----------------------------------------------------

fn sso_json(s: &UserSsoSettingsRow) -> Value {
    json!({
        "SsoEnabled": s.sso_enabled,
        "MetadataDocument": s.metadata_b64,
        "AuxiliaryDomain": s.auxiliary_domain,
        "SsoLoginWithDomain": s.sso_login_with_domain,
        "AuthnSignAlgo": s.authn_sign_algo,
    })
}

fn sso_changes<'a>(ctx: &'a ActionContext<'a>) -> SsoChanges<'a> {
    let p = ctx.params;
    SsoChanges {
        sso_enabled: p.get("SsoEnabled"),
        metadata_document: p.get("MetadataDocument"),
        auxiliary_domain: p.get("AuxiliaryDomain"),
        sso_login_with_domain: p.get("SsoLoginWithDomain"),
        authn_sign_algo: p.get("AuthnSignAlgo"),
    }
}

/// `SetUserSsoSettings` (`ram:SetUserSsoSettings`).
pub async fn set_user_sso_settings(ctx: &ActionContext<'_>) -> Reply {
    let saved = user_sso::set(&scope(ctx)?, &sso_changes(ctx))
        .await
        .map_err(ram(ctx))?;
    let mut m = Map::new();
    m.insert("UserSsoSettings".into(), sso_json(&saved));
    Ok(m)
}

/// `GetUserSsoSettings` (`ram:GetUserSsoSettings`).
pub async fn get_user_sso_settings(ctx: &ActionContext<'_>) -> Reply {
    let got = user_sso::get(&scope(ctx)?).await.map_err(ram(ctx))?;
    let mut m = Map::new();
    m.insert("UserSsoSettings".into(), sso_json(&got));
    Ok(m)
}

/// Legacy `SetSamlSsoSettings` (IMS 2017-04-30 name), an alias of `SetUserSsoSettings`
/// (`UseTenantSpecificSp` is accepted and has no effect: the SP is always per account).
pub async fn set_saml_sso_settings(ctx: &ActionContext<'_>) -> Reply {
    let saved = user_sso::set(&scope(ctx)?, &sso_changes(ctx))
        .await
        .map_err(ram(ctx))?;
    let mut m = Map::new();
    m.insert("SamlSsoSettings".into(), sso_json(&saved));
    Ok(m)
}

/// Legacy `GetSamlSsoSettings`, an alias of `GetUserSsoSettings`.
pub async fn get_saml_sso_settings(ctx: &ActionContext<'_>) -> Reply {
    let got = user_sso::get(&scope(ctx)?).await.map_err(ram(ctx))?;
    let mut m = Map::new();
    m.insert("SamlSsoSettings".into(), sso_json(&got));
    Ok(m)
}

/// `GetDefaultDomain` (`ram:GetDefaultDomain`): `<alias>.<default_domain_suffix>`.
pub async fn get_default_domain(ctx: &ActionContext<'_>) -> Reply {
    let s = scope(ctx)?;
    let account = ctx
        .state
        .store
        .find_account(s.account_id)
        .await
        .map_err(|e| ApiError::internal(ctx.request_id, &e))?
        .ok_or_else(|| ApiError::internal(ctx.request_id, &"caller account missing"))?;
    let mut m = Map::new();
    m.insert(
        "DefaultDomainName".into(),
        Value::String(user_sso::default_domain(
            &account.alias,
            &ctx.state.config.default_domain_suffix,
        )),
    );
    Ok(m)
}

/// `ListSignInEvents` (rambridge extension, `ram:ListSignInEvents`): the account's sign-in audit,
/// newest first; `Marker`/`MaxItems` (1-100) page like every list.
pub async fn list_sign_in_events(ctx: &ActionContext<'_>) -> Reply {
    let s = scope(ctx)?;
    let (limit, after) =
        validate::paging_up_to(ctx.params.get("MaxItems"), ctx.params.get("Marker"), 100)
            .map_err(ram(ctx))?;
    let before = match &after {
        None => None,
        Some(m) => {
            let parsed = m
                .split_once(':')
                .and_then(|(at, id)| at.parse::<i64>().ok().map(|at| (at, id)));
            match parsed {
                Some(p) => Some(p),
                None => {
                    return Err(ApiError::invalid_parameter(
                        "Marker",
                        "Marker is not one this service issued.",
                    ));
                }
            }
        }
    };
    let page = ctx
        .state
        .store
        .list_audit_page(s.account_id, before, limit)
        .await
        .map_err(|e| ApiError::internal(ctx.request_id, &e))?;
    let events: Vec<Value> = page
        .items
        .iter()
        .map(|e| {
            json!({
                "EventId": e.id,
                "EventTime": date(e.at),
                "EventName": e.event,
                "Provider": e.provider,
                "Subject": e.subject,
                "Outcome": e.outcome,
                "Reason": e.reason,
                "SourceIp": e.source_ip,
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("SignInEvents".into(), json!({ "SignInEvent": events }));
    m.insert("IsTruncated".into(), Value::Bool(page.next_after.is_some()));
    if let Some(after) = &page.next_after {
        m.insert("Marker".into(), Value::String(validate::marker(after)));
    }
    Ok(m)
}
