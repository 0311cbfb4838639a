//! The HTTP API: the Alibaba Cloud RPC endpoint at `/` (spec §1) and the operational endpoints
//! `/healthz`, `/readyz` and `/metrics`.
//!
//! A request flows: [`rpc::handle`] reads the body (bounded), decodes parameters
//! ([`params`]), resolves `(Version, Action)` ([`dispatch`]), authenticates ([`auth`], with
//! [`signature`]), rate-limits per AccessKey, authorizes, and runs the action in its domain
//! module. Every failure is an [`error::ApiError`] rendered as the Alibaba error envelope.

pub mod auth;
pub mod authorize;
pub mod client_info;
pub mod dispatch;
pub mod error;
mod handler;
mod ims;
pub mod long_uri;
mod oidc;
mod ops;
pub mod params;
mod ram;
pub mod rpc;
pub mod signature;
mod sts;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{any, get};

use crate::AppState;

/// All API routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", any(rpc_endpoint))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .with_state(state)
}

/// `GET|POST /`: every RAM (2015-05-01), IMS (2019-08-15) and STS (2015-04-01) action.
async fn rpc_endpoint(State(state): State<AppState>, req: Request) -> Response {
    rpc::handle(&state, req).await
}

#[cfg(test)]
mod cache_tests;
#[cfg(test)]
mod ims_tests;
#[cfg(test)]
mod oidc_tests;
#[cfg(test)]
mod ram_tests;
#[cfg(test)]
mod saml_tests;
#[cfg(test)]
mod sts_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
