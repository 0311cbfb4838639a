//! Browser sign-in through OIDC (docs/oidc.md "Browser sign-in", docs/browser-sso.md): the
//! authorization code flow with PKCE (S256), `state` and `nonce`, built with the `openidconnect`
//! crate; every request to the issuer goes through the provider's pinned channel
//! (`OidcVerifier::send`), and the ID token is checked by `OidcVerifier::verify` with the nonce,
//! the same checks as `AssumeRoleWithOIDC` (openidconnect's own verifier is not used).
//!
//! * `GET /oidc/login/<alias>`: a random `state` (also put in a short-lived cookie, binding the
//!   sign-in to this browser), a `nonce` and a PKCE verifier, stored server-side for
//!   [`STATE_TTL_MS`] (only the state's SHA-256 is the key), then a redirect to the issuer.
//! * `GET /oidc/callback`: the stored sign-in is taken (single use, before any other check),
//!   the cookie must carry the same state, the code is exchanged with the verifier, the ID
//!   token verified, and then the user claim maps to a RAM user of the account (user mode) or
//!   the role claim offers the roles whose trust policy allows the token (role mode: the
//!   chooser of role-based SSO).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, JsonWebKeySet, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenUrl,
};
use serde::Deserialize;

use super::error::{AuditCtx, WebError, respond};
use super::role_sso::{RoleChoice, offer_roles};
use super::session::{self, STATE_COOKIE};
use super::user_sso::finish_user_sign_in;
use super::{client_ip, csrf, see_other};
use crate::AppState;
use crate::oidc::providers::provider_arn;
use crate::oidc::sso::{self, MODE_ROLE};
use crate::oidc::{OidcError, OidcVerifier, Verified};
use crate::saml::user_sso::map_principal;
use crate::store::{OidcLoginStateRow, OidcProvider, OidcSsoSettingsRow};
use crate::sts::federation::FederationError;
use crate::sts::oidc::trusts_token;
use crate::sts::{RoleArn, StsError};

/// How long a started sign-in waits for its callback, milliseconds.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// Why a browser sign-in through OIDC failed (before or besides the token checks).
#[derive(Debug, thiserror::Error)]
pub enum OidcSsoError {
    /// The account has no enabled OIDC sign-in.
    #[error("sign-in through OIDC is not enabled for this account")]
    NotEnabled,
    /// The callback carries no `state`.
    #[error("the callback carries no state parameter")]
    MissingState,
    /// The state is unknown, expired, already used, or not this browser's.
    #[error(
        "the state matches no sign-in started from this browser (unknown, expired after {} \
         minutes, or already used)",
        STATE_TTL_MS / 60_000
    )]
    StateInvalid,
    /// The issuer answered the authorization request with an error.
    #[error("the identity provider answered {error}: {description}")]
    Provider {
        /// `error`.
        error: String,
        /// `error_description`.
        description: String,
    },
    /// The settings name a provider that no longer exists.
    #[error("the OIDC provider {0} of the account's sign-in settings does not exist")]
    ProviderGone(String),
    /// The discovery document lacks an endpoint the flow needs.
    #[error("the issuer's discovery document has no usable {0}")]
    NoEndpoint(&'static str),
    /// The code exchange failed.
    #[error("the token endpoint refused the code: {0}")]
    Exchange(String),
    /// The token response carries no ID token.
    #[error("the token endpoint's answer has no id_token (is the openid scope granted?)")]
    NoIdToken,
    /// The verified token lacks the configured user claim.
    #[error("the ID token has no string claim {0:?} (the account's UserClaim)")]
    MissingClaim(String),
    /// The verified token's role claim names no role for this provider.
    #[error("the ID token's claim {0:?} (the account's RoleClaim) names no role of this account")]
    NoRole(String),
    /// The ID token or the issuer's keys were refused.
    #[error(transparent)]
    Token(#[from] OidcError),
}

impl OidcSsoError {
    /// The stable reason code written to the audit log.
    pub fn code(&self) -> &'static str {
        match self {
            OidcSsoError::NotEnabled => "OidcSso.NotEnabled",
            OidcSsoError::MissingState => "OidcSso.State.Missing",
            OidcSsoError::StateInvalid => "OidcSso.State.Invalid",
            OidcSsoError::Provider { .. } => "OidcSso.ProviderError",
            OidcSsoError::ProviderGone(_) => "EntityNotExist.OIDCProvider",
            OidcSsoError::NoEndpoint(_) => "OidcSso.Discovery.NoEndpoint",
            OidcSsoError::Exchange(_) => "OidcSso.CodeExchange",
            OidcSsoError::NoIdToken => "OidcSso.NoIdToken",
            OidcSsoError::MissingClaim(_) => "OidcSso.Claim.Missing",
            OidcSsoError::NoRole(_) => "OidcSso.NoRole",
            OidcSsoError::Token(e) => e.code(),
        }
    }
}

/// Query of `GET /oidc/login/<alias>`.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// Query of `GET /oidc/callback` (RFC 6749 §4.1.2).
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}/oidc/callback", state.public_url)
}

/// The openidconnect client of the account's settings (no endpoints set yet).
fn base_client(
    state: &AppState,
    settings: &OidcSsoSettingsRow,
    provider: &OidcProvider,
) -> Result<CoreClient, WebError> {
    let issuer = IssuerUrl::new(provider.issuer_url.clone())
        .map_err(|e| OidcSsoError::Token(OidcError::Discovery(e.to_string())))?;
    let redirect =
        RedirectUrl::new(redirect_uri(state)).map_err(|e| WebError::Internal(e.to_string()))?;
    let mut client = CoreClient::new(
        ClientId::new(settings.client_id.clone()),
        issuer,
        JsonWebKeySet::new(Vec::new()),
    )
    .set_redirect_uri(redirect);
    if let Some(secret) = sso::client_secret(&state.keys, settings)
        .map_err(|e| WebError::Internal(format!("client secret: {e}")))?
    {
        client = client.set_client_secret(ClientSecret::new(secret));
    }
    Ok(client)
}

/// The account's enabled settings and their provider.
async fn configured(
    state: &AppState,
    account_id: &str,
) -> Result<(OidcSsoSettingsRow, OidcProvider), WebError> {
    let settings = state
        .store
        .find_oidc_sso_settings(account_id)
        .await?
        .filter(|s| s.enabled)
        .ok_or(OidcSsoError::NotEnabled)?;
    let provider = state
        .store
        .find_oidc_provider(account_id, &settings.provider_name)
        .await?
        .ok_or_else(|| {
            OidcSsoError::ProviderGone(provider_arn(account_id, &settings.provider_name))
        })?;
    Ok((settings, provider))
}

/// `GET /oidc/login/<alias>[?RelayState=..]`: starts the authorization code flow.
pub async fn start(
    State(state): State<AppState>,
    Path(alias): Path<String>,
    parts: Parts,
    Query(q): Query<StartQuery>,
) -> Response {
    let mut ctx = AuditCtx {
        event: "OidcSSOStart",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = begin(&state, &alias, q.relay_state, &mut ctx).await;
    respond(&state, &ctx, result).await
}

async fn begin(
    state: &AppState,
    alias: &str,
    relay_state: Option<String>,
    ctx: &mut AuditCtx,
) -> Result<Response, WebError> {
    let account = state
        .store
        .find_account_by_alias(alias)
        .await?
        .ok_or_else(|| WebError::UnknownAccount(alias.to_string()))?;
    ctx.account_id.clone_from(&account.id);
    let (settings, provider) = configured(state, &account.id).await?;
    ctx.provider = provider_arn(&account.id, &provider.name);
    let issuer = state
        .oidc
        .issuer(&provider, state.clock.as_ref())
        .await
        .map_err(OidcSsoError::from)?;
    let auth = issuer
        .metadata
        .authorization_endpoint
        .clone()
        .and_then(|u| AuthUrl::new(u).ok())
        .filter(|u| u.url().scheme() == "https")
        .ok_or(OidcSsoError::NoEndpoint("authorization_endpoint"))?;
    let client = base_client(state, &settings, &provider)?.set_auth_uri(auth);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in settings
        .scopes
        .split_ascii_whitespace()
        .filter(|s| *s != "openid")
    {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    let (url, csrf_state, nonce) = request.url();
    let now = state.clock.now_ms();
    state
        .store
        .create_oidc_login_state(&OidcLoginStateRow {
            state_hash: session::hash(csrf_state.secret()),
            account_id: account.id.clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            relay_state: relay_state.unwrap_or_default(),
            created_at: now,
            expires_at: now + STATE_TTL_MS,
            source_ip: ctx.source_ip.clone(),
        })
        .await?;
    Ok(see_other(
        url.as_str(),
        &[session::set_cookie(
            STATE_COOKIE,
            csrf_state.secret(),
            STATE_TTL_MS / 1000,
            session::secure(state),
        )],
    ))
}

/// `GET /oidc/callback`: finishes the sign-in.
pub async fn callback(
    State(state): State<AppState>,
    parts: Parts,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let mut ctx = AuditCtx {
        event: "OidcSSO",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = finish(&state, &parts, q, &mut ctx).await;
    respond(&state, &ctx, result).await
}

async fn finish(
    state: &AppState,
    parts: &Parts,
    q: CallbackQuery,
    ctx: &mut AuditCtx,
) -> Result<Response, WebError> {
    let value = q
        .state
        .filter(|s| !s.is_empty())
        .ok_or(OidcSsoError::MissingState)?;
    // Single use: the stored sign-in is consumed before anything else can fail.
    let pending = state
        .store
        .take_oidc_login_state(&session::hash(&value), state.clock.now_ms())
        .await?
        .ok_or(OidcSsoError::StateInvalid)?;
    ctx.account_id.clone_from(&pending.account_id);
    // Bound to the browser that started it (no login CSRF with someone else's callback URL).
    let cookie = session::cookie(&parts.headers, STATE_COOKIE).unwrap_or("");
    if !csrf::matches(cookie, Some(&value)) {
        return Err(OidcSsoError::StateInvalid.into());
    }
    if let Some(error) = q.error.filter(|e| !e.is_empty()) {
        return Err(OidcSsoError::Provider {
            error: error.chars().take(128).collect(),
            description: q
                .error_description
                .unwrap_or_default()
                .chars()
                .take(512)
                .collect(),
        }
        .into());
    }
    let code = q
        .code
        .filter(|c| !c.is_empty())
        .ok_or(WebError::MissingField("code"))?;
    let (settings, provider) = configured(state, &pending.account_id).await?;
    let parn = provider_arn(&provider.account_id, &provider.name);
    ctx.provider.clone_from(&parn);
    let id_token = exchange(state, &settings, &provider, code, &pending).await?;
    let verified = state
        .oidc
        .verify(
            &provider,
            &id_token,
            Some(&pending.nonce),
            state.clock.as_ref(),
        )
        .await
        .map_err(OidcSsoError::from)?;
    ctx.subject.clone_from(&verified.token.subject);
    let relay = Some(pending.relay_state).filter(|r| !r.is_empty());
    if settings.mode == MODE_ROLE {
        role_sign_in(state, ctx, &settings, &parn, &verified, relay).await
    } else {
        user_sign_in(state, ctx, &settings, &verified, relay).await
    }
}

/// The code exchange (with the PKCE verifier and the client's credentials) over the
/// provider's pinned channel; the raw ID token.
async fn exchange(
    state: &AppState,
    settings: &OidcSsoSettingsRow,
    provider: &OidcProvider,
    code: String,
    pending: &OidcLoginStateRow,
) -> Result<String, WebError> {
    let issuer = state
        .oidc
        .issuer(provider, state.clock.as_ref())
        .await
        .map_err(OidcSsoError::from)?;
    let token_url = issuer
        .metadata
        .token_endpoint
        .clone()
        .and_then(|u| TokenUrl::new(u).ok())
        .filter(|u| u.url().scheme() == "https")
        .ok_or(OidcSsoError::NoEndpoint("token_endpoint"))?;
    let client = base_client(state, settings, provider)?.set_token_uri(token_url);
    let verifier: Arc<OidcVerifier> = state.oidc.clone();
    let target = provider.clone();
    let http = move |request: openidconnect::HttpRequest| {
        let verifier = verifier.clone();
        let target = target.clone();
        async move { verifier.send(&target, request).await }
    };
    let answer = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&http)
        .await;
    let raw = match answer {
        Ok(response) => response
            .extra_fields()
            .id_token()
            .map(ToString::to_string)
            .ok_or(OidcSsoError::NoIdToken)?,
        // openidconnect could not type the answer (an ID token with an algorithm it does not
        // know, say): the raw id_token still goes to our verifier, which names the problem.
        Err(RequestTokenError::Parse(e, body)) => {
            serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("id_token")
                        .and_then(|t| t.as_str())
                        .map(str::to_string)
                })
                .ok_or_else(|| {
                    OidcSsoError::Exchange(format!("the answer is not a token response: {e}"))
                })?
        }
        Err(RequestTokenError::ServerResponse(e)) => {
            return Err(OidcSsoError::Exchange(format!(
                "{}{}",
                e.error().as_ref(),
                e.error_description()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ))
            .into());
        }
        Err(RequestTokenError::Request(e)) => return Err(OidcSsoError::Token(e).into()),
        Err(RequestTokenError::Other(e)) => return Err(OidcSsoError::Exchange(e).into()),
    };
    Ok(raw)
}

/// User mode: the user claim names an enabled RAM user of the account.
async fn user_sign_in(
    state: &AppState,
    ctx: &mut AuditCtx,
    settings: &OidcSsoSettingsRow,
    verified: &Verified,
    relay: Option<String>,
) -> Result<Response, WebError> {
    let name = sso::string_claim(&verified.token, &settings.user_claim)
        .ok_or_else(|| OidcSsoError::MissingClaim(settings.user_claim.clone()))?;
    ctx.subject = name.to_string();
    let account = state
        .store
        .find_account(&settings.account_id)
        .await?
        .ok_or_else(|| WebError::UnknownAccount(settings.account_id.clone()))?;
    let auxiliary = state
        .store
        .find_user_sso_settings(&account.id)
        .await?
        .map(|s| s.auxiliary_domain)
        .unwrap_or_default();
    let user = map_principal(
        &state.store,
        name,
        &account,
        &state.config.default_domain_suffix,
        settings.login_with_domain,
        &auxiliary,
    )
    .await??;
    finish_user_sign_in(state, ctx, &account, &user, relay.as_deref()).await
}

/// Role mode: the role claim's roles of this account whose trust policy allows the token.
async fn role_sign_in(
    state: &AppState,
    ctx: &AuditCtx,
    settings: &OidcSsoSettingsRow,
    parn: &str,
    verified: &Verified,
    relay: Option<String>,
) -> Result<Response, WebError> {
    let token = &verified.token;
    let arns = sso::role_arns(token, &settings.role_claim, parn);
    let session_name = sso::session_name(token, &settings.user_claim);
    let mut choices = Vec::new();
    let mut refused: Option<StsError> = None;
    for arn in arns {
        let Ok(rarn) = RoleArn::parse(&arn) else {
            refused.get_or_insert(StsError::RoleNotFound(arn));
            continue;
        };
        if rarn.account_id != settings.account_id {
            refused.get_or_insert(StsError::NotTrusted {
                role: arn,
                caller: parn.to_string(),
            });
            continue;
        }
        let Some(role) = state
            .store
            .find_role(&rarn.account_id, &rarn.role_name)
            .await?
        else {
            refused.get_or_insert(StsError::RoleNotFound(arn));
            continue;
        };
        if !trusts_token(&role, parn, token, state.clock.as_ref()) {
            tracing::info!(role = %arn, "role in OIDC claim does not trust the token");
            refused.get_or_insert(StsError::NotTrusted {
                role: arn,
                caller: parn.to_string(),
            });
            continue;
        }
        let duration_s = crate::sts::duration(None, &role, false)
            .map_err(|e| WebError::Federation(FederationError::Sts(e)))?;
        choices.push(RoleChoice {
            role_arn: crate::ram::roles::role_arn(&role.account_id, &role.name),
            provider_arn: parn.to_string(),
            account_id: role.account_id.clone(),
            role_name: role.name.clone(),
            session_name: session_name.clone(),
            duration_s,
            subject: token.subject.clone(),
        });
    }
    if choices.is_empty() {
        return Err(match refused {
            Some(e) => WebError::Federation(FederationError::Sts(e)),
            None => OidcSsoError::NoRole(settings.role_claim.clone()).into(),
        });
    }
    offer_roles(state, ctx, &token.subject, relay, choices).await
}
