//! OIDC action handlers: the IMS OIDC-provider actions (IMS 2019-08-15, spec §5.2) and STS
//! `AssumeRoleWithOIDC` (spec §4). Thin mapping between parameters, the `oidc` / `sts::oidc`
//! domain and the response shapes.

use serde_json::{Map, Value, json};

use super::dispatch::ActionContext;
use super::error::{ApiError, from_oidc_federation};
use super::handler::{Reply, date, ram, scope};
use super::sts::{audit, credentials_body};
use crate::clock::format_iso8601;
use crate::oidc::Verified;
use crate::oidc::providers::{self, NewProvider, ProviderArn, ProviderList, provider_arn};
use crate::oidc::sso;
use crate::oidc::token::MAX_TOKEN_CHARS;
use crate::ram::validate;
use crate::store::OidcProvider;
use crate::sts::oidc::{OidcInput, assume_role_with_oidc as assume};

/// The `OIDCProvider` object (spec §5.2; `GmtCreate`/`GmtModified` are epoch-ms strings).
fn provider_json(p: &OidcProvider) -> Value {
    json!({
        "Arn": provider_arn(&p.account_id, &p.name),
        "OIDCProviderName": p.name,
        "IssuerUrl": p.issuer_url,
        "ClientIds": p.client_ids.join(","),
        "Fingerprints": p.fingerprints.join(","),
        "IssuanceLimitTime": p.issuance_limit_hours,
        "Description": p.description,
        "CreateDate": date(p.created_at),
        "UpdateDate": date(p.updated_at),
        "GmtCreate": p.created_at.to_string(),
        "GmtModified": p.updated_at.to_string(),
    })
}

fn one(p: &OidcProvider) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("OIDCProvider".into(), provider_json(p));
    m
}

/// `CreateOIDCProvider` (`ram:CreateOIDCProvider`).
pub async fn create_oidc_provider(ctx: &ActionContext<'_>) -> Reply {
    let p = ctx.params;
    let input = NewProvider {
        name: p.required("OIDCProviderName")?,
        issuer_url: p.required("IssuerUrl")?,
        fingerprints: p.get("Fingerprints"),
        client_ids: p.get("ClientIds"),
        issuance_limit_time: p.get("IssuanceLimitTime"),
        description: p.get("Description"),
    };
    let required = !ctx.state.config.oidc_use_system_roots;
    let created = providers::create(&scope(ctx)?, &input, required)
        .await
        .map_err(ram(ctx))?;
    Ok(one(&created))
}

/// `GetOIDCProvider` (`ram:GetOIDCProvider`).
pub async fn get_oidc_provider(ctx: &ActionContext<'_>) -> Reply {
    let got = providers::get(&scope(ctx)?, ctx.params.required("OIDCProviderName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(one(&got))
}

/// `UpdateOIDCProvider` (`ram:UpdateOIDCProvider`): `ClientIds` replaces the list.
pub async fn update_oidc_provider(ctx: &ActionContext<'_>) -> Reply {
    let p = ctx.params;
    let updated = providers::update(
        &scope(ctx)?,
        p.required("OIDCProviderName")?,
        p.get("ClientIds"),
        p.get("IssuanceLimitTime"),
        p.get("NewDescription"),
    )
    .await
    .map_err(ram(ctx))?;
    Ok(one(&updated))
}

/// `DeleteOIDCProvider` (`ram:DeleteOIDCProvider`).
pub async fn delete_oidc_provider(ctx: &ActionContext<'_>) -> Reply {
    providers::delete(&scope(ctx)?, ctx.params.required("OIDCProviderName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `ListOIDCProviders` (`ram:ListOIDCProviders`).
pub async fn list_oidc_providers(ctx: &ActionContext<'_>) -> Reply {
    let page = providers::list(
        &scope(ctx)?,
        ctx.params.get("MaxItems"),
        ctx.params.get("Marker"),
    )
    .await
    .map_err(ram(ctx))?;
    let mut m = Map::new();
    m.insert(
        "OIDCProviders".into(),
        json!({ "OIDCProvider": page.items.iter().map(provider_json).collect::<Vec<_>>() }),
    );
    m.insert("IsTruncated".into(), Value::Bool(page.next_after.is_some()));
    if let Some(after) = &page.next_after {
        m.insert("Marker".into(), Value::String(validate::marker(after)));
    }
    Ok(m)
}

/// `AddClientIdToOIDCProvider` (`ram:AddClientIdToOIDCProvider`).
pub async fn add_client_id(ctx: &ActionContext<'_>) -> Reply {
    edit_list(ctx, ProviderList::ClientIds, true).await
}

/// `RemoveClientIdFromOIDCProvider` (`ram:RemoveClientIdFromOIDCProvider`).
pub async fn remove_client_id(ctx: &ActionContext<'_>) -> Reply {
    edit_list(ctx, ProviderList::ClientIds, false).await
}

/// `AddFingerprintToOIDCProvider` (`ram:AddFingerprintToOIDCProvider`).
pub async fn add_fingerprint(ctx: &ActionContext<'_>) -> Reply {
    edit_list(ctx, ProviderList::Fingerprints, true).await
}

/// `RemoveFingerprintFromOIDCProvider` (`ram:RemoveFingerprintFromOIDCProvider`).
pub async fn remove_fingerprint(ctx: &ActionContext<'_>) -> Reply {
    edit_list(ctx, ProviderList::Fingerprints, false).await
}

/// The four list edits: `OIDCProviderName` plus the list's own parameter; the provider after.
async fn edit_list(ctx: &ActionContext<'_>, list: ProviderList, add: bool) -> Reply {
    let p = ctx.params;
    let scope = scope(ctx)?;
    let name = p.required("OIDCProviderName")?;
    let value = p.required(list.param())?;
    let updated = if add {
        providers::add_to_list(&scope, name, list, value).await
    } else {
        providers::remove_from_list(&scope, name, list, value).await
    }
    .map_err(ram(ctx))?;
    Ok(one(&updated))
}

/// `AssumeRoleWithOIDC` (STS 2015-04-01, anonymous; spec §4.1, §8.3): an ID token from a
/// registered OIDC provider becomes role credentials. Every attempt, accepted or not, is
/// audited with the provider, the verified subject, the reason and the source IP.
pub async fn assume_role_with_oidc(ctx: &ActionContext<'_>) -> Reply {
    let p = ctx.params;
    let input = OidcInput {
        provider_arn: p.required("OIDCProviderArn")?,
        role_arn: p.required("RoleArn")?,
        token: p.required("OIDCToken")?,
        session_name: p.required("RoleSessionName")?,
        duration: p.get("DurationSeconds"),
        policy: p.get("Policy"),
    };
    if !(4..=MAX_TOKEN_CHARS).contains(&input.token.trim().len()) {
        return Err(ApiError::invalid_parameter(
            "OIDCToken",
            format!("OIDCToken must be 4 to {MAX_TOKEN_CHARS} characters (a compact JWT)."),
        ));
    }
    let state = ctx.state;
    let account = ProviderArn::parse(input.provider_arn).map(|a| a.account_id);
    if let Some(account) = &account {
        state.check_issue_rate(account)?;
    }
    let mut subject = String::new();
    let result = assume(
        &state.store,
        &state.keys,
        state.clock.as_ref(),
        &state.oidc,
        &input,
        &mut subject,
    )
    .await
    .map_err(|e| from_oidc_federation(ctx.request_id, e));
    let reason = match &result {
        Ok(_) => "Success".to_string(),
        Err(e) => e.code.to_string(),
    };
    if let Some(account) = account {
        let event = "AssumeRoleWithOIDC";
        audit(ctx, &account, event, input.provider_arn, &subject, &reason).await;
    }
    let session = result?;
    let mut body = credentials_body(&session.minted);
    body.insert("OIDCTokenInfo".into(), token_info(&session.verified));
    Ok(body)
}

/// `OIDCTokenInfo` (spec §4.2): `ClientIds` is the token's `aud`, comma-separated.
fn token_info(v: &Verified) -> Value {
    let t = &v.token;
    json!({
        "Subject": t.subject,
        "Issuer": t.issuer,
        "ClientIds": t.audiences.join(","),
        "ExpirationTime": format_iso8601(t.expires_at),
        "IssuanceTime": format_iso8601(t.issued_at),
        "VerificationInfo": v.verification_info(),
    })
}

// ---- browser sign-in through OIDC (rambridge extension, docs/api.md) -------------------------

/// The `OIDCSsoSettings` object; the client secret is never returned, only whether one is set.
fn oidc_sso_json(s: &crate::store::OidcSsoSettingsRow) -> Value {
    json!({
        "Enabled": s.enabled,
        "OIDCProviderName": s.provider_name,
        "ClientId": s.client_id,
        "ClientSecretSet": s.client_secret_sealed.is_some(),
        "Scopes": s.scopes,
        "Mode": s.mode,
        "UserClaim": s.user_claim,
        "RoleClaim": s.role_claim,
        "LoginWithDomain": s.login_with_domain,
    })
}

/// `SetOIDCSsoSettings` (`ram:SetOIDCSsoSettings`).
pub async fn set_oidc_sso_settings(ctx: &ActionContext<'_>) -> Reply {
    let p = ctx.params;
    let changes = sso::OidcSsoChanges {
        enabled: p.get("Enabled"),
        provider_name: p.get("OIDCProviderName"),
        client_id: p.get("ClientId"),
        client_secret: p.get("ClientSecret"),
        scopes: p.get("Scopes"),
        mode: p.get("Mode"),
        user_claim: p.get("UserClaim"),
        role_claim: p.get("RoleClaim"),
        login_with_domain: p.get("LoginWithDomain"),
    };
    let saved = sso::set(&scope(ctx)?, &changes).await.map_err(ram(ctx))?;
    let mut m = Map::new();
    m.insert("OIDCSsoSettings".into(), oidc_sso_json(&saved));
    Ok(m)
}

/// `GetOIDCSsoSettings` (`ram:GetOIDCSsoSettings`).
pub async fn get_oidc_sso_settings(ctx: &ActionContext<'_>) -> Reply {
    let got = sso::get(&scope(ctx)?).await.map_err(ram(ctx))?;
    let mut m = Map::new();
    m.insert("OIDCSsoSettings".into(), oidc_sso_json(&got));
    Ok(m)
}
