//! IMS action handlers (IMS 2019-08-15, spec §5): SAML providers.

use serde_json::{Map, Value, json};

use super::dispatch::ActionContext;
use super::error::{ApiError, from_ram};
use crate::clock::format_iso8601;
use crate::ram::{RamError, Scope, validate};
use crate::saml::providers::{self, provider_arn};
use crate::store::SamlProvider;

type Reply = Result<Map<String, Value>, ApiError>;

fn scope<'a>(ctx: &'a ActionContext<'a>) -> Result<Scope<'a>, ApiError> {
    let caller = ctx
        .caller
        .ok_or_else(|| ApiError::internal(ctx.request_id, &"IMS action without caller"))?;
    Ok(Scope {
        store: &ctx.state.store,
        keys: &ctx.state.keys,
        clock: ctx.state.clock.as_ref(),
        account_id: caller.principal.account_id(),
    })
}

fn ram<'a>(ctx: &'a ActionContext<'_>) -> impl Fn(RamError) -> ApiError + 'a {
    move |e| from_ram(ctx.request_id, e)
}

fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(format_iso8601)
        .unwrap_or_default()
}

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
