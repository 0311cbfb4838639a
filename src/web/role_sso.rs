//! Role-based SSO in the browser (spec §8.1): `POST /saml-role/sso` (HTTP-POST binding) checks
//! the response exactly as `AssumeRoleWithSAML` does, through the same functions of
//! `sts::federation`; one usable role opens a console session at once, several show the role
//! chooser (grouped by account). The pending choice is server-side state: the browser only
//! posts back an index into the stored list. `GET /saml-role/login/<alias>?provider=<name>`
//! starts an SP-initiated sign-in.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::error::{AuditCtx, WebError, audit, fail, respond};
use super::pages::{ChoiceGroup, ChoiceView, ChooserPage, render};
use super::session::{self, CHOICE_COOKIE, KIND_ROLE, NewSession, RoleCredentials, STATE_COOKIE};
use super::{AcsForm, authn_request, client_ip, csrf, redirect_after_sign_in, see_other};
use crate::AppState;
use crate::saml::{ROLE_ATTRIBUTE, SamlError, peek, user_sso};
use crate::store::RoleChoiceRow;
use crate::sts::federation::{
    FederationError, ProviderArn, SpSettings, assertion_duration, consume_assertion, role_pairs,
    session_name, trusted_role, verify_with_provider,
};
use crate::sts::{SessionSpec, StsError, mint};

/// How long a pending role choice is kept, milliseconds.
pub const CHOICE_TTL_MS: i64 = 5 * 60 * 1000;

/// One role a verified assertion may sign in as (trust already checked).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleChoice {
    /// Role ARN.
    pub role_arn: String,
    /// Provider ARN the assertion was verified against.
    pub provider_arn: String,
    /// The role's account.
    pub account_id: String,
    /// Role name.
    pub role_name: String,
    /// RoleSessionName.
    pub session_name: String,
    /// Session lifetime, seconds.
    pub duration_s: i64,
    /// NameID.
    pub subject: String,
}

/// The stored state of a chooser.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    subject: String,
    relay_state: Option<String>,
    choices: Vec<RoleChoice>,
}

fn sp(state: &AppState) -> SpSettings<'_> {
    SpSettings {
        entity_id: &state.saml.role_entity_id,
        acs_url: &state.saml.role_acs_url,
        skew: chrono::Duration::seconds(i64::from(state.config.saml_clock_skew_seconds)),
        decryption_key: state.saml.key.as_deref(),
        sha1_providers: &state.config.danger_saml_sha1_providers,
    }
}

/// `POST /saml-role/sso`.
pub async fn acs(
    State(state): State<AppState>,
    parts: Parts,
    form: Result<Form<AcsForm>, FormRejection>,
) -> Response {
    let mut ctx = AuditCtx {
        event: "RoleSSO",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = match AcsForm::accept(form) {
        Ok(f) => role_acs(&state, &f, &mut ctx).await,
        Err(e) => Err(e),
    };
    respond(&state, &ctx, result).await
}

async fn role_acs(
    state: &AppState,
    form: &AcsForm,
    ctx: &mut AuditCtx,
) -> Result<Response, WebError> {
    let xml = form.response_xml()?;
    let sp = sp(state);

    // Routing only: the providers the (unverified) Role attribute names. Each one's own keys
    // must verify the response before any of its roles counts.
    let mut verified: Vec<String> = Vec::new();
    let mut accepted = None;
    let mut first_error: Option<FederationError> = None;
    for arn in peek::provider_arns(&xml, ROLE_ATTRIBUTE) {
        let Some(parn) = ProviderArn::parse(&arn) else {
            continue;
        };
        if ctx.account_id.is_empty() {
            ctx.account_id.clone_from(&parn.account_id);
            ctx.provider.clone_from(&arn);
        }
        match verify_with_provider(&state.store, state.clock.as_ref(), &sp, &parn, &xml).await {
            Ok(a) => {
                if accepted.is_none() {
                    ctx.account_id.clone_from(&parn.account_id);
                    ctx.provider.clone_from(&arn);
                    accepted = Some(a);
                }
                verified.push(arn);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let assertion = match (accepted, first_error) {
        (Some(a), _) => a,
        (None, Some(e)) => return Err(e.into()),
        (None, None) => {
            return Err(FederationError::from(SamlError::Attribute {
                name: "Role",
                message: "no value names a role and a SAML provider".into(),
            })
            .into());
        }
    };
    ctx.subject.clone_from(&assertion.name_id);
    let name = session_name(&assertion).map_err(FederationError::from)?;

    let mut choices = Vec::new();
    let mut refused: Option<FederationError> = None;
    for (role_arn, provider_arn) in role_pairs(&assertion) {
        if !verified.contains(&provider_arn) {
            continue;
        }
        let sp = &sp;
        match trusted_role(
            &state.store,
            state.clock.as_ref(),
            sp,
            &assertion,
            &role_arn,
            &provider_arn,
        )
        .await
        {
            Ok(role) => {
                let duration_s =
                    assertion_duration(&assertion, &role).map_err(FederationError::from)?;
                choices.push(RoleChoice {
                    role_arn: crate::ram::roles::role_arn(&role.account_id, &role.name),
                    provider_arn,
                    account_id: role.account_id.clone(),
                    role_name: role.name.clone(),
                    session_name: name.clone(),
                    duration_s,
                    subject: assertion.name_id.clone(),
                });
            }
            Err(e) => {
                tracing::info!(role = %role_arn, error = %e, "role in assertion not usable");
                refused.get_or_insert(e);
            }
        }
    }
    if choices.is_empty() {
        return Err(refused
            .unwrap_or_else(|| {
                FederationError::from(SamlError::Attribute {
                    name: "Role",
                    message: "no value pairs a role with a provider that signed the response"
                        .into(),
                })
            })
            .into());
    }
    let account_ids: Vec<String> = verified
        .iter()
        .filter_map(|a| ProviderArn::parse(a))
        .map(|p| p.account_id)
        .collect();
    let accounts: Vec<&str> = account_ids.iter().map(String::as_str).collect();
    consume_assertion(
        &state.store,
        state.clock.as_ref(),
        &sp,
        &assertion,
        &accounts,
    )
    .await?;

    let relay = form.relay_state.clone().filter(|r| !r.is_empty());
    offer_roles(state, ctx, &assertion.name_id, relay, choices).await
}

/// The usable roles of a verified sign-in (SAML or OIDC): one opens the console at once,
/// several are stored server-side and shown by the chooser.
pub async fn offer_roles(
    state: &AppState,
    ctx: &AuditCtx,
    subject: &str,
    relay: Option<String>,
    choices: Vec<RoleChoice>,
) -> Result<Response, WebError> {
    if let [one] = choices.as_slice() {
        return finish_role_sign_in(state, &ctx.source_ip, one, relay.as_deref()).await;
    }
    let (value, id_hash) = session::new_secret();
    let now = state.clock.now_ms();
    let pending = Pending {
        subject: subject.to_string(),
        relay_state: relay,
        choices,
    };
    state
        .store
        .create_role_choice(&RoleChoiceRow {
            id_hash,
            choices: serde_json::to_string(&pending)
                .map_err(|e| WebError::Internal(e.to_string()))?,
            csrf_token: csrf::token(),
            created_at: now,
            expires_at: now + CHOICE_TTL_MS,
            source_ip: ctx.source_ip.clone(),
        })
        .await?;
    Ok(see_other(
        "/saml-role/choose",
        &[session::set_cookie(
            CHOICE_COOKIE,
            &value,
            CHOICE_TTL_MS / 1000,
            session::secure(state),
        )],
    ))
}

/// The end of every successful role sign-in: mints the role session's credentials, opens the
/// console session (bounded by the credentials' lifetime) and redirects to the RelayState
/// target or the console. One function, so a pending CLI login can divert it later.
pub async fn finish_role_sign_in(
    state: &AppState,
    source_ip: &str,
    choice: &RoleChoice,
    relay_state: Option<&str>,
) -> Result<Response, WebError> {
    state
        .check_issue_rate(&choice.account_id)
        .map_err(|_| WebError::Throttled)?;
    let role = state
        .store
        .find_role(&choice.account_id, &choice.role_name)
        .await?
        .ok_or_else(|| {
            WebError::Federation(FederationError::Sts(StsError::RoleNotFound(
                choice.role_arn.clone(),
            )))
        })?;
    let minted = mint(
        &state.keys,
        state.clock.as_ref(),
        &role,
        SessionSpec {
            session_name: choice.session_name.clone(),
            duration_s: choice.duration_s,
            session_policy: None,
            chained: false,
            source: choice.provider_arn.clone(),
            source_identity: None,
        },
    )
    .map_err(|e| WebError::Federation(FederationError::Sts(e)))?;
    let creds = RoleCredentials {
        access_key_id: minted.claims.access_key_id.clone(),
        access_key_secret: minted.secret.clone(),
        security_token: minted.token.clone(),
        expires_at_ms: minted.claims.expires_at_ms,
    };
    let lifetime_s = i64::try_from(state.config.web_session_seconds)
        .unwrap_or(i64::MAX)
        .min(choice.duration_s);
    let cookie = session::create(
        state,
        &NewSession {
            account_id: &choice.account_id,
            kind: KIND_ROLE,
            principal: &choice.role_arn,
            display_name: &choice.session_name,
            credentials: Some(&creds),
            lifetime_s,
            source_ip,
        },
    )
    .await
    .map_err(|e| WebError::Internal(e.to_string()))?;
    let ctx = AuditCtx {
        account_id: choice.account_id.clone(),
        event: "RoleSSO",
        provider: choice.provider_arn.clone(),
        subject: format!("{} as {}", choice.subject, choice.role_arn),
        source_ip: source_ip.to_string(),
    };
    audit(state, &ctx, "Success").await;
    Ok(redirect_after_sign_in(
        state,
        &ctx,
        relay_state,
        &cookie,
        lifetime_s,
        &[CHOICE_COOKIE, STATE_COOKIE],
    )
    .await)
}

async fn pending_of(state: &AppState, parts: &Parts) -> Result<(RoleChoiceRow, Pending), WebError> {
    let value = session::cookie(&parts.headers, CHOICE_COOKIE).ok_or(WebError::ChoiceExpired)?;
    let row = state
        .store
        .find_role_choice(&session::hash(value), state.clock.now_ms())
        .await?
        .ok_or(WebError::ChoiceExpired)?;
    let pending: Pending =
        serde_json::from_str(&row.choices).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((row, pending))
}

/// `GET /saml-role/choose`: the role chooser.
pub async fn chooser(State(state): State<AppState>, parts: Parts) -> Response {
    let ctx = AuditCtx {
        event: "RoleSSO",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    match pending_of(&state, &parts).await {
        Ok((row, pending)) => {
            let mut groups: Vec<ChoiceGroup> = Vec::new();
            for (index, c) in pending.choices.iter().enumerate() {
                let view = ChoiceView {
                    index,
                    role_name: c.role_name.clone(),
                    role_arn: c.role_arn.clone(),
                };
                match groups.iter_mut().find(|g| g.account_id == c.account_id) {
                    Some(g) => g.roles.push(view),
                    None => groups.push(ChoiceGroup {
                        account_id: c.account_id.clone(),
                        roles: vec![view],
                    }),
                }
            }
            render(
                axum::http::StatusCode::OK,
                &ChooserPage {
                    subject: &pending.subject,
                    csrf: &row.csrf_token,
                    groups,
                },
            )
        }
        Err(e) => fail(&state, &ctx, &e).await,
    }
}

/// The chooser form.
#[derive(Debug, Deserialize)]
pub struct ChoiceForm {
    csrf: Option<String>,
    choice: Option<String>,
}

/// `POST /saml-role/choose`: the picked role (an index into the stored list).
pub async fn choose(
    State(state): State<AppState>,
    parts: Parts,
    form: Result<Form<ChoiceForm>, FormRejection>,
) -> Response {
    let mut ctx = AuditCtx {
        event: "RoleSSO",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = async {
        let Form(f) = form.map_err(|_| WebError::MissingField("choice"))?;
        let (row, pending) = pending_of(&state, &parts).await?;
        if let Some(first) = pending.choices.first() {
            ctx.account_id.clone_from(&first.account_id);
            ctx.provider.clone_from(&first.provider_arn);
        }
        ctx.subject.clone_from(&pending.subject);
        if !csrf::matches(&row.csrf_token, f.csrf.as_deref())
            || !csrf::same_origin(&parts.headers, &state.public_url)
        {
            return Err(WebError::Csrf);
        }
        let index: usize = f
            .choice
            .as_deref()
            .and_then(|c| c.parse().ok())
            .ok_or(WebError::BadChoice)?;
        let choice = pending.choices.get(index).ok_or(WebError::BadChoice)?;
        // Single use: a second submit of the same chooser finds nothing.
        state
            .store
            .take_role_choice(&row.id_hash, state.clock.now_ms())
            .await?
            .ok_or(WebError::ChoiceExpired)?;
        finish_role_sign_in(
            &state,
            &ctx.source_ip,
            choice,
            pending.relay_state.as_deref(),
        )
        .await
    }
    .await;
    respond(&state, &ctx, result).await
}

/// Query of the SP-initiated role sign-in.
#[derive(Debug, Deserialize)]
pub struct RoleLoginQuery {
    provider: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `GET /saml-role/login/<alias>?provider=<SAMLProviderName>[&RelayState=..]`: sends the
/// browser to the provider's IdP with an AuthnRequest (HTTP-Redirect, signed with the SP key
/// when configured).
pub async fn sp_initiated(
    State(state): State<AppState>,
    Path(alias): Path<String>,
    parts: Parts,
    Query(q): Query<RoleLoginQuery>,
) -> Response {
    let mut ctx = AuditCtx {
        event: "RoleSSOStart",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = async {
        let name = q
            .provider
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or(WebError::MissingField("provider"))?;
        let account = state
            .store
            .find_account_by_alias(&alias)
            .await?
            .ok_or_else(|| WebError::UnknownAccount(alias.clone()))?;
        ctx.account_id.clone_from(&account.id);
        let arn = crate::saml::providers::provider_arn(&account.id, name);
        ctx.provider.clone_from(&arn);
        let provider = state
            .store
            .find_saml_provider(&account.id, name)
            .await?
            .ok_or_else(|| FederationError::ProviderNotFound(arn.clone()))?;
        let idp_url = user_sso::idp_redirect_url(&provider.metadata_b64, state.clock.now())
            .ok_or_else(|| {
                WebError::NoIdpUrl(format!(
                    "the metadata of {arn} has no HTTP-Redirect SingleSignOnService"
                ))
            })?;
        let location = authn_request::start(
            &state,
            &account.id,
            &state.saml.role_entity_id,
            &state.saml.role_acs_url,
            &idp_url,
            q.relay_state.as_deref(),
        )
        .await?;
        Ok::<_, WebError>(see_other(&location, &[]))
    }
    .await;
    respond(&state, &ctx, result).await
}
