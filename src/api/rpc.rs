//! The RPC request pipeline (spec §1-§3), from raw HTTP request to JSON response.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::auth::{self, RequestMeta};
use super::authorize::authorize;
use super::client_info::client_info;
use super::dispatch::{self, ActionContext, ActionSpec, Product};
use super::error::{ApiError, codes};
use super::long_uri;
use super::params::Params;
use crate::AppState;

const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// What one request produced, for the response and the metrics.
struct Outcome {
    action: Option<&'static ActionSpec>,
    product: Option<Product>,
    result: Result<Map<String, Value>, ApiError>,
}

/// Handles one RPC request end to end. Never fails: every error becomes an envelope.
pub async fn handle(state: &AppState, req: Request) -> Response {
    let started = Instant::now();
    let request_id = crate::crypto::new_request_id(state.clock.now_ms());
    let (parts, body) = req.into_parts();
    let outcome = process(state, &parts, body, &request_id).await;

    let action_label = outcome.action.map_or("unknown", |a| a.name);
    let outcome_label = match &outcome.result {
        Ok(_) => "Success",
        Err(e) => e.code.as_ref(),
    };
    state
        .metrics
        .observe(action_label, outcome_label, started.elapsed().as_secs_f64());

    match outcome.result {
        Ok(mut body) => {
            body.insert("RequestId".into(), Value::String(request_id.clone()));
            json_response(StatusCode::OK, &Value::Object(body), &request_id)
        }
        Err(err) => {
            tracing::debug!(request_id, code = %err.code, status = %err.status, "request failed");
            error_response(&err, outcome.product, &request_id)
        }
    }
}

async fn process(state: &AppState, parts: &Parts, body: Body, request_id: &str) -> Outcome {
    let mut outcome = Outcome {
        action: None,
        product: None,
        result: Ok(Map::new()),
    };
    outcome.result = run(
        state,
        parts,
        body,
        request_id,
        &mut outcome.action,
        &mut outcome.product,
    )
    .await;
    outcome
}

async fn run(
    state: &AppState,
    parts: &Parts,
    body: Body,
    request_id: &str,
    action_out: &mut Option<&'static ActionSpec>,
    product_out: &mut Option<Product>,
) -> Result<Map<String, Value>, ApiError> {
    if parts.method != Method::GET && parts.method != Method::POST {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            codes::UNSUPPORTED_HTTP_METHOD,
            "Only GET and POST are supported.",
        ));
    }
    let limit = state.config.max_request_bytes;
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(limit))?;
    // The query may have been moved into the body by the long-request-line adapter.
    let (query, body) = long_uri::effective_query(parts, &body).map_err(|e| match e {
        long_uri::QueryError::Rejected(reason) => ApiError {
            code: std::borrow::Cow::Borrowed(reason.code()),
            ..ApiError::new(reason.status(), "", reason.message())
        },
        other => ApiError::malformed_request(other.to_string()),
    })?;
    let form = form_body(&parts.headers, body)?;
    let params = Params::parse(query, form)?;

    let action_name = agreed(&params, &parts.headers, "Action", "x-acs-action")?;
    let version = agreed(&params, &parts.headers, "Version", "x-acs-version")?;
    let product = Product::from_version(version).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_VERSION,
            format!("Specified API version {version:?} is not supported."),
        )
    })?;
    *product_out = Some(product);
    let action = dispatch::lookup(product, action_name).ok_or_else(ApiError::unknown_action)?;
    *action_out = Some(action);

    let client = client_info(parts, &state.config.trusted_proxies);
    let caller = if action.is_anonymous() {
        None
    } else {
        let meta = RequestMeta {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            headers: &parts.headers,
            body,
        };
        let caller = auth::authenticate(state, &meta, &params, request_id).await?;
        state.check_rate(&caller.access_key_id)?;
        authorize(state, &caller, action, &params, &client, request_id).await?;
        Some(caller)
    };

    let ctx = ActionContext {
        state,
        caller: caller.as_ref(),
        params: &params,
        request_id,
        client: &client,
    };
    dispatch::execute(action, &ctx).await
}

/// The form body, when there is one. RPC parameters arrive in the query; a body must be
/// `application/x-www-form-urlencoded` (spec §1.2).
fn form_body<'b>(headers: &HeaderMap, body: &'b [u8]) -> Result<Option<&'b [u8]>, ApiError> {
    if body.is_empty() {
        return Ok(None);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        Ok(Some(body))
    } else {
        Err(ApiError::malformed_request(format!(
            "Unsupported Content-Type {content_type:?}: send parameters in the query string or as application/x-www-form-urlencoded."
        )))
    }
}

/// A value that may come from a parameter or a header (v3 requests carry Action and Version in
/// headers only); when both are present they must agree.
fn agreed<'a>(
    params: &'a Params,
    headers: &'a HeaderMap,
    param: &str,
    header_name: &str,
) -> Result<&'a str, ApiError> {
    let from_header = headers.get(header_name).and_then(|v| v.to_str().ok());
    match (params.get(param), from_header) {
        (Some(p), Some(h)) if p != h => Err(ApiError::invalid_parameter(
            param,
            format!("The {param} parameter and the {header_name} header differ."),
        )),
        (Some(p), _) if !p.is_empty() => Ok(p),
        (_, Some(h)) if !h.is_empty() => Ok(h),
        _ => Err(ApiError::missing_parameter(param)),
    }
}

fn json_response(status: StatusCode, body: &Value, request_id: &str) -> Response {
    let mut resp = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", v);
    }
    resp
}

/// Renders the Alibaba error envelope (spec §3.1).
pub fn error_response(err: &ApiError, product: Option<Product>, request_id: &str) -> Response {
    let mut body = Map::new();
    body.insert("RequestId".into(), Value::String(request_id.to_string()));
    body.insert(
        "HostId".into(),
        Value::String(product.map_or("rambridge", Product::host_id).to_string()),
    );
    body.insert("Code".into(), Value::String(err.code.to_string()));
    body.insert("Message".into(), Value::String(err.message.clone()));
    if let Some(detail) = &err.access_denied_detail {
        body.insert("AccessDeniedDetail".into(), (**detail).clone());
    }
    let mut resp = json_response(err.status, &Value::Object(body), request_id);
    if err.status == StatusCode::PAYLOAD_TOO_LARGE {
        // The unread rest of the body makes the connection unusable: tell the client.
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(secs) = err.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert("x-acs-retry-after", v);
    }
    resp
}
