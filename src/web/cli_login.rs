//! The server side of `rambridge login` (docs/login.md); the logic lives in
//! [`crate::login::server`], these are the routes and the glue for the browser sign-in.
//!
//! Routes ([`routes`], merged into the web router):
//! - `GET /cli-login/check?account=&provider=`: the CLI's pre-flight: the account exists and
//!   has a SAML provider (JSON `{AccountId, AccountAlias, SAMLProvider, SAMLProviderArn}`).
//! - `GET /cli-login/ecp?account=&provider=`: ECP mode's PAOS AuthnRequest
//!   (`application/vnd.paos+xml`).
//! - `GET /cli-login/start?port=&code_challenge=&code_challenge_method=S256&account=&provider=&role=`:
//!   browser mode: records the pending login, sets the `rambridge_cli_login` cookie (its id) and
//!   redirects to the SP-initiated role sign-in
//!   `<public_url>/saml-role/login/<alias>?provider=<name>&RelayState=/cli-login/continue`.
//! - `GET /cli-login/continue`: the RelayState of that sign-in. Once the browser holds a role
//!   console session (one role, or the one picked in the chooser), hands that session's
//!   temporary credentials to the pending CLI login named by the cookie ([`complete`]) and
//!   redirects to the CLI's loopback listener with the one-time code.
//! - `POST /cli-login/token` (form `code`, `code_verifier`, `port`): redeems the one-time code
//!   for the credentials JSON, once.
//!
//! How the browser sign-in reaches the CLI: `start` sends the browser to the SP-initiated role
//! sign-in with `RelayState=/cli-login/continue`; the role ACS (or the chooser) ends every
//! successful sign-in in `web::role_sso::finish_role_sign_in`, which opens the console session
//! and follows that same-site RelayState. The pending-login cookie is `SameSite=Lax`: the IdP's
//! cross-site POST to the ACS does not carry it, but the top-level GET to `/cli-login/continue`
//! does, so the CLI login completes only in the browser that started it. On failure the CLI is
//! told why ([`abandon`]).
//!
//! Errors: JSON Alibaba-style envelopes for the CLI's calls, readable pages for the browser.

use std::borrow::Cow;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::rpc::error_response;
use crate::login::server::{self, StartRequest};
use crate::login::{IssuedCredentials, ServerError};
use crate::saml::ecp::PAOS_CONTENT_TYPE;
use crate::sts::Minted;
use crate::web::session::{self, KIND_ROLE};

/// Name of the cookie carrying the pending CLI login's id through the browser sign-in.
pub const COOKIE: &str = "rambridge_cli_login";

/// The `rambridge login` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cli-login/check", get(check))
        .route("/cli-login/ecp", get(ecp))
        .route("/cli-login/start", get(start))
        .route("/cli-login/continue", get(resume))
        .route("/cli-login/token", post(token))
}

/// Completes the pending CLI login `pending_id` with the credentials of the role sign-in;
/// returns the loopback URL to redirect the browser to.
pub async fn complete(
    state: &AppState,
    pending_id: &str,
    minted: &Minted,
) -> Result<String, ServerError> {
    server::complete(
        &state.store,
        &state.keys,
        state.clock.as_ref(),
        pending_id,
        &IssuedCredentials::from(minted),
    )
    .await
}

/// Ends the pending CLI login without credentials; returns the loopback URL that tells the
/// waiting CLI `reason`.
pub async fn abandon(
    state: &AppState,
    pending_id: &str,
    reason: &str,
) -> Result<String, ServerError> {
    server::abandon(&state.store, state.clock.as_ref(), pending_id, reason).await
}

/// The role the CLI asked for (name or ARN), if the pending login exists and named one.
pub async fn requested_role(
    state: &AppState,
    pending_id: &str,
) -> Result<Option<String>, ServerError> {
    Ok(
        server::pending(&state.store, state.clock.as_ref(), pending_id)
            .await?
            .map(|p| p.role)
            .filter(|r| !r.is_empty()),
    )
}

/// The pending CLI login id from the request's cookie, if any.
pub fn pending_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 64)
}

/// A `Set-Cookie` value that removes the pending-login cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("rambridge_cli_login=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
}

fn set_cookie(state: &AppState, id: &str) -> Option<HeaderValue> {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        server::PENDING_TTL_MS / 1000
    ))
    .ok()
}

/// The wire code and status of each refusal (one table).
fn classify(e: &ServerError) -> (StatusCode, Cow<'static, str>) {
    let c = |s: &'static str| Cow::Borrowed(s);
    match e {
        ServerError::InvalidParameter { name, .. } => (
            StatusCode::BAD_REQUEST,
            Cow::Owned(format!("InvalidParameter.{name}")),
        ),
        ServerError::UnknownAccount(_) => (StatusCode::NOT_FOUND, c("EntityNotExist.Account")),
        ServerError::SsoNotConfigured(_) => (StatusCode::NOT_FOUND, c("SSONotConfigured")),
        ServerError::UnknownProvider { .. } => {
            (StatusCode::NOT_FOUND, c("EntityNotExist.SAMLProvider"))
        }
        ServerError::SeveralProviders { .. } => {
            (StatusCode::BAD_REQUEST, c("InvalidParameter.SAMLProvider"))
        }
        ServerError::PendingNotFound => (StatusCode::NOT_FOUND, c("EntityNotExist.CliLogin")),
        ServerError::AccountMismatch { .. } | ServerError::RoleMismatch { .. } => {
            (StatusCode::FORBIDDEN, c("CliLogin.Mismatch"))
        }
        ServerError::InvalidCode => (StatusCode::BAD_REQUEST, c("InvalidCode.NotFound")),
        ServerError::CodeExpired => (StatusCode::BAD_REQUEST, c("InvalidCode.Expired")),
        ServerError::WrongVerifier => (StatusCode::BAD_REQUEST, c("InvalidCode.VerifierMismatch")),
        ServerError::WrongPort => (StatusCode::BAD_REQUEST, c("InvalidCode.PortMismatch")),
        ServerError::Store(_) | ServerError::Crypto(_) | ServerError::Encoding(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, c("InternalError"))
        }
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

fn safe_message(e: &ServerError, status: StatusCode, request_id: &str) -> String {
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(request_id, error = %e, "CLI login failed");
        "The request could not be processed; try again later.".into()
    } else {
        e.to_string()
    }
}

/// A refusal as the Alibaba-style JSON envelope (the CLI's calls).
fn json_error(e: &ServerError) -> Response {
    let (status, code) = classify(e);
    let id = request_id();
    let err = ApiError {
        code,
        ..ApiError::new(status, "", safe_message(e, status, &id))
    };
    let mut resp = error_response(&err, None, &id);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A refusal as a readable page (the browser's request).
fn page_error(e: &ServerError) -> Response {
    let (status, code) = classify(e);
    let id = request_id();
    let message = safe_message(e, status, &id);
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>rambridge login</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>This CLI sign-in cannot start</h1>\
         <p>{}.</p><p>Return to your terminal and run <code>rambridge login</code> again with the \
         right options.</p><p style=\"color:#666\">{} &middot; reference {}</p></body></html>",
        escape_html(&message),
        escape_html(&code),
        escape_html(&id)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct TargetQuery {
    account: Option<String>,
    provider: Option<String>,
}

fn required<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, ServerError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or(ServerError::InvalidParameter {
            name,
            message: "is required".into(),
        })
}

/// `GET /cli-login/check`: anonymous; says whether the account can sign in with SSO.
async fn check(State(state): State<AppState>, Query(q): Query<TargetQuery>) -> Response {
    let target = match required(&q.account, "account") {
        Ok(a) => server::sso_target(&state.store, a, q.provider.as_deref()).await,
        Err(e) => Err(e),
    };
    match target {
        Ok(t) => axum::Json(json!({
            "AccountId": t.account.id,
            "AccountAlias": t.account.alias,
            "SAMLProvider": t.provider,
            "SAMLProviderArn": t.provider_arn(),
        }))
        .into_response(),
        Err(e) => json_error(&e),
    }
}

/// `GET /cli-login/ecp`: anonymous; the PAOS AuthnRequest of an ECP sign-in.
async fn ecp(State(state): State<AppState>, Query(q): Query<TargetQuery>) -> Response {
    let result = async {
        let account = required(&q.account, "account")?;
        let target = server::sso_target(&state.store, account, q.provider.as_deref()).await?;
        server::ecp_request(&state.store, state.clock.as_ref(), &state.saml, &target).await
    }
    .await;
    match result {
        Ok(envelope) => (
            [
                (header::CONTENT_TYPE, PAOS_CONTENT_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            envelope,
        )
            .into_response(),
        Err(e) => json_error(&e),
    }
}

#[derive(Deserialize)]
struct StartQuery {
    port: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    account: Option<String>,
    provider: Option<String>,
    role: Option<String>,
}

/// `GET /cli-login/start`: anonymous, opened by the CLI in the user's browser.
async fn start(State(state): State<AppState>, Query(q): Query<StartQuery>) -> Response {
    let result = async {
        let req = StartRequest {
            port: required(&q.port, "port")?,
            code_challenge: required(&q.code_challenge, "code_challenge")?,
            code_challenge_method: q.code_challenge_method.as_deref(),
            account: required(&q.account, "account")?,
            provider: q.provider.as_deref(),
            role: q.role.as_deref().filter(|r| !r.is_empty()),
        };
        server::start(&state.store, state.clock.as_ref(), &req).await
    }
    .await;
    match result {
        Ok(started) => {
            let mut resp = Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(
                    header::LOCATION,
                    format!("{}{}", state.public_url, started.sign_in_path),
                )
                .header(header::CACHE_CONTROL, "no-store")
                .body(axum::body::Body::empty())
                .unwrap_or_default();
            if let Some(cookie) = set_cookie(&state, &started.pending_id) {
                resp.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            resp
        }
        Err(e) => page_error(&e),
    }
}

/// `GET /cli-login/continue`: the end of a role sign-in started by `rambridge login`.
async fn resume(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(pending) = pending_id(&headers) else {
        // Not a CLI sign-in (or its cookie expired): the console.
        return see_other("/console", None);
    };
    let session = match session::current(&state, &headers).await {
        Ok(s) => s.filter(|s| s.kind == KIND_ROLE),
        Err(e) => return page_error(&ServerError::Store(e)),
    };
    let Some(creds) = session
        .as_ref()
        .and_then(|s| session::credentials(&state, s).map(|c| (s, c)))
    else {
        let reason = "the browser sign-in did not end in a role session";
        return match abandon(&state, &pending, reason).await {
            Ok(url) => see_other(&url, Some(clear_cookie())),
            Err(e) => page_error(&e),
        };
    };
    let (s, c) = creds;
    let issued = IssuedCredentials {
        access_key_id: c.access_key_id,
        access_key_secret: c.access_key_secret,
        security_token: c.security_token,
        expiration: chrono::DateTime::from_timestamp_millis(c.expires_at_ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default(),
        role_arn: s.principal.clone(),
    };
    match server::complete(
        &state.store,
        &state.keys,
        state.clock.as_ref(),
        &pending,
        &issued,
    )
    .await
    {
        Ok(url) => see_other(&url, Some(clear_cookie())),
        Err(e @ (ServerError::AccountMismatch { .. } | ServerError::RoleMismatch { .. })) => {
            match abandon(&state, &pending, &e.to_string()).await {
                Ok(url) => see_other(&url, Some(clear_cookie())),
                Err(_) => page_error(&e),
            }
        }
        Err(e) => page_error(&e),
    }
}

fn see_other(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut resp = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::CACHE_CONTROL, "no-store")
        .body(axum::body::Body::empty())
        .unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    if let Some(c) = cookie {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

/// `POST /cli-login/token`: anonymous; the code, its verifier and the listener's port buy the
/// credentials once.
async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form_ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_ok {
        return json_error(&ServerError::InvalidParameter {
            name: "Content-Type",
            message: "send application/x-www-form-urlencoded".into(),
        });
    }
    let field = |name: &str| {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    match server::redeem(
        &state.store,
        &state.keys,
        state.clock.as_ref(),
        &field("code"),
        &field("code_verifier"),
        &field("port"),
    )
    .await
    {
        Ok(credentials) => {
            let mut resp = axum::Json(credentials).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => json_error(&e),
    }
}
