//! Browser-facing endpoints (DESIGN.md `web/`, docs/browser-sso.md): SP metadata, role-based
//! SSO with the role chooser ([`role_sso`]), user-based SSO and the sign-in pages
//! ([`user_sso`]), the console ([`console`]), on server-side sessions ([`session`]) with CSRF
//! tokens ([`csrf`]); sign-in through OIDC ([`oidc_sso`]); failures are pages with an audit
//! reference ([`error`]); the server side of `rambridge login` ([`cli_login`]).

pub mod authn_request;
pub mod cli_login;
pub mod console;
pub mod csrf;
pub mod error;
pub mod oidc_sso;
pub mod pages;
pub mod relay;
pub mod role_sso;
pub mod session;
pub mod user_sso;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::AppState;
use crate::saml::sp::sp_metadata;
use error::{AuditCtx, audit};

const XML: &str = "application/samlmetadata+xml";

/// Browser routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/saml-role/sp-metadata.xml", get(role_sp_metadata))
        .route("/saml/sp-metadata.xml", get(user_sp_metadata))
        .route(
            "/{account_id}/saml/SpMetadata.xml",
            get(user_sp_metadata_by_path),
        )
        .route("/saml-role/sso", axum::routing::post(role_sso::acs))
        .route(
            "/saml-role/choose",
            get(role_sso::chooser).post(role_sso::choose),
        )
        .route("/saml-role/login/{alias}", get(role_sso::sp_initiated))
        .route("/saml/sso", axum::routing::post(user_sso::acs))
        .route("/login", get(user_sso::login))
        .route(
            "/login/{alias}",
            get(user_sso::account_login).post(user_sso::password_login),
        )
        .route("/oidc/login/{alias}", get(oidc_sso::start))
        .route("/oidc/callback", get(oidc_sso::callback))
        .route("/console", get(console::console))
        .route("/logout", axum::routing::post(console::logout))
        .merge(cli_login::routes())
        .with_state(state)
}

/// The HTTP-POST binding form of both ACS endpoints.
#[derive(Debug, Deserialize)]
pub struct AcsForm {
    /// Base64 SAML Response.
    #[serde(rename = "SAMLResponse")]
    pub saml_response: Option<String>,
    /// Where to go afterwards.
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
}

impl AcsForm {
    /// The form both ACS endpoints take; one that cannot be read is a missing response.
    pub fn accept(
        form: Result<axum::Form<AcsForm>, axum::extract::rejection::FormRejection>,
    ) -> Result<AcsForm, error::WebError> {
        form.map(|axum::Form(f)| f)
            .map_err(|_| error::WebError::MissingField("SAMLResponse"))
    }

    /// The decoded SAML Response bytes; both ACS endpoints start here.
    pub fn response_xml(&self) -> Result<Vec<u8>, error::WebError> {
        let b64 = self
            .saml_response
            .as_deref()
            .filter(|v| !v.is_empty())
            .ok_or(error::WebError::MissingField("SAMLResponse"))?;
        crate::saml::response::decode(b64)
            .map_err(|e| error::WebError::from(crate::sts::federation::FederationError::from(e)))
    }
}

/// The client address as audit and sessions record it (trusted proxies honoured).
pub fn client_ip(state: &AppState, parts: &Parts) -> String {
    crate::api::client_info::client_info(parts, &state.config.trusted_proxies)
        .ip
        .map(|i| i.to_string())
        .unwrap_or_default()
}

/// `303 See Other` to `location`, with extra `Set-Cookie` values.
pub fn see_other(location: &str, cookies: &[HeaderValue]) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            h.insert(header::LOCATION, v);
        }
        Err(_) => {
            h.insert(header::LOCATION, HeaderValue::from_static("/console"));
        }
    }
    for c in cookies {
        h.append(header::SET_COOKIE, c.clone());
    }
    pages::harden(r)
}

/// After a successful sign-in: the session cookie, the RelayState target when it is safe
/// ([`relay::safe_target`]; an unsafe one is audited and ignored) or the console, and the
/// cookies named in `clear` removed.
pub async fn redirect_after_sign_in(
    state: &AppState,
    ctx: &AuditCtx,
    relay_state: Option<&str>,
    session_cookie: &str,
    lifetime_s: i64,
    clear: &[&str],
) -> Response {
    let secure = session::secure(state);
    let target = match relay_state.filter(|r| !r.is_empty()) {
        None => "/console".to_string(),
        Some(r) => match relay::safe_target(r, &state.config.web_relay_state_allowed_origins) {
            Some(t) => t,
            None => {
                let refused = AuditCtx {
                    event: "RelayStateIgnored",
                    subject: r.chars().take(256).collect(),
                    ..ctx.clone()
                };
                audit(state, &refused, "RelayState.NotAllowed").await;
                "/console".to_string()
            }
        },
    };
    let mut cookies = vec![session::set_cookie(
        session::SESSION_COOKIE,
        session_cookie,
        lifetime_s,
        secure,
    )];
    cookies.extend(clear.iter().map(|c| session::clear_cookie(c, secure)));
    see_other(&target, &cookies)
}

/// `GET /saml-role/sp-metadata.xml`: role-based SSO SP metadata.
async fn role_sp_metadata(State(state): State<AppState>) -> Response {
    let xml = sp_metadata(
        &state.saml.role_entity_id,
        &state.saml.role_acs_url,
        &["urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"],
        state
            .saml
            .key
            .as_ref()
            .map(|k| k.certificate_der.as_slice()),
    );
    ([(header::CONTENT_TYPE, XML)], xml).into_response()
}

#[derive(Deserialize)]
struct AccountQuery {
    #[serde(rename = "AccountId")]
    account_id: Option<String>,
}

/// `GET /<accountId>/saml/SpMetadata.xml` (spec §8.2): the same document.
async fn user_sp_metadata_by_path(
    State(state): State<AppState>,
    Path(account_id): Path<String>,
) -> Response {
    user_sp_metadata(
        State(state),
        Query(AccountQuery {
            account_id: Some(account_id),
        }),
    )
    .await
}

/// `GET /saml/sp-metadata.xml?AccountId=<id>`: user-based SSO SP metadata of an account.
async fn user_sp_metadata(
    State(state): State<AppState>,
    Query(q): Query<AccountQuery>,
) -> Response {
    let Some(id) = q.account_id.filter(|i| !i.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "AccountId is required, e.g. ?AccountId=1234567890123456\n",
        )
            .into_response();
    };
    match state.store.find_account(&id).await {
        Ok(Some(account)) => {
            let xml = sp_metadata(
                &state.saml.user_entity_id(&account.id),
                &state.saml.user_acs_url,
                &[
                    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                ],
                state
                    .saml
                    .key
                    .as_ref()
                    .map(|k| k.certificate_der.as_slice()),
            );
            ([(header::CONTENT_TYPE, XML)], xml).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "No such account.\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "account lookup failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable.\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests;
