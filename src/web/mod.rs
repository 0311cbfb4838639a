//! Browser-facing endpoints (DESIGN.md `web/`). For now: SP metadata for exchange with IdPs,
//! at Alibaba's paths under the public URL, and the server side of `rambridge login`
//! ([`cli_login`]).

pub mod cli_login;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::AppState;
use crate::saml::sp::sp_metadata;

const XML: &str = "application/samlmetadata+xml";

/// Browser routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/saml-role/sp-metadata.xml", get(role_sp_metadata))
        .route("/saml/sp-metadata.xml", get(user_sp_metadata))
        .merge(cli_login::routes())
        .with_state(state)
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
