//! Request authentication (spec §2.1): which signature style, timestamp window, AccessKey lookup,
//! signature check, then the nonce. Order matters: the nonce is recorded only after the signature
//! verified, so nobody can burn another client's nonces, and a rejected request writes nothing.

use axum::http::{HeaderMap, StatusCode};

use super::error::{ApiError, codes, from_crypto, from_store, from_sts};
use super::params::Params;
use super::signature::{self, V1Check};
use crate::AppState;
use crate::clock::parse_iso8601;
use crate::crypto::sha256_hex;
use crate::principal::{Caller, Principal};
use crate::ram;
use crate::store::{KeyStatus, NonceOutcome};
use crate::sts;

/// The parts of an HTTP request authentication reads.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    /// HTTP method (`GET` or `POST`).
    pub method: &'a str,
    /// Request path (always `/` for RPC).
    pub path: &'a str,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Raw body.
    pub body: &'a [u8],
}

/// Signature material extracted from a request, before any lookup.
struct Claimed<'a> {
    access_key_id: String,
    timestamp: &'a str,
    nonce: &'a str,
    security_token: Option<&'a str>,
    style: Style<'a>,
}

enum Style<'a> {
    V1 { signature: &'a str },
    V3 { auth: signature::V3Authorization },
}

/// Authenticates a signed request and returns the caller.
pub async fn authenticate(
    state: &AppState,
    meta: &RequestMeta<'_>,
    params: &Params,
    request_id: &str,
) -> Result<Caller, ApiError> {
    let auth_header = header(meta.headers, "authorization");
    let claimed = match auth_header {
        Some(h) => claim_v3(meta, parse_v3(h)?)?,
        None => claim_v1(params)?,
    };
    check_timestamp(state, claimed.timestamp)?;

    let (principal, secret) = resolve(
        state,
        &claimed.access_key_id,
        claimed.security_token,
        request_id,
    )
    .await?;

    match &claimed.style {
        Style::V1 { signature } => {
            let pairs = params.all.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            if let V1Check::Mismatch { string_to_sign } =
                signature::v1_verify(meta.method, pairs, &secret, signature)
            {
                return Err(signature_mismatch(&string_to_sign));
            }
        }
        Style::V3 { auth } => {
            let payload_hash = sha256_hex(meta.body);
            let canonical = signature::v3_canonical_request(
                meta.method,
                meta.path,
                &params.query,
                meta.headers,
                &auth.signed_headers,
                &payload_hash,
            )
            .map_err(|name| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    codes::INCOMPLETE_SIGNATURE,
                    format!("The signed header {name:?} is missing or not visible ASCII."),
                )
            })?;
            let string_to_sign = signature::v3_string_to_sign(&canonical);
            if !signature::v3_verify(&secret, &string_to_sign, &auth.signature) {
                return Err(signature_mismatch(&string_to_sign));
            }
        }
    }

    let now = state.clock.now_ms();
    let ttl_ms = i64::from(state.config.signature_window_seconds) * 2 * 1000;
    match state
        .store
        .record_nonce(&claimed.access_key_id, claimed.nonce, now, now + ttl_ms)
        .await
        .map_err(|e| from_store(request_id, e))?
    {
        NonceOutcome::Fresh => {}
        NonceOutcome::Replayed => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::NONCE_USED,
                "Specified signature nonce was used already.",
            ));
        }
    }

    Ok(Caller {
        principal,
        access_key_id: claimed.access_key_id,
    })
}

/// Resolves an AccessKeyId (and SecurityToken for temporary credentials) to its principal and
/// signing secret: long-term keys from the store (must be Active), temporary ones from their
/// sealed token (must match the id, be unexpired, and not revoked by their role). Used by
/// request authentication and by the `AuthorizeRequest` decision endpoint.
pub async fn resolve(
    state: &AppState,
    access_key_id: &str,
    security_token: Option<&str>,
    request_id: &str,
) -> Result<(Principal, String), ApiError> {
    if access_key_id.starts_with("STS.") {
        let Some(token) = security_token else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::MISSING_SECURITY_TOKEN,
                "SecurityToken is mandatory for temporary credentials.",
            ));
        };
        let (claims, secret) =
            sts::token::open(&state.keys, token, access_key_id, state.clock.now_ms())
                .map_err(|e| from_sts(request_id, e.into()))?;
        sts::check_revocation(&state.store.cached(state.clock.now_ms()), &claims)
            .await
            .map_err(|e| from_sts(request_id, e))?;
        let principal = Principal::RoleSession {
            account_id: claims.account_id,
            role_id: claims.role_id,
            role_name: claims.role_name,
            session_name: claims.session_name,
            session_policy: claims.session_policy,
            chained: claims.chained,
        };
        return Ok((principal, secret));
    }
    if security_token.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "A security token was sent with a long-term AccessKeyId.",
        ));
    }
    let cached = state.store.cached(state.clock.now_ms());
    let key = cached
        .find_access_key(access_key_id)
        .await
        .map_err(|e| from_store(request_id, e))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                codes::ACCESS_KEY_NOT_FOUND,
                "Specified access key is not found.",
            )
        })?;
    if key.status == KeyStatus::Inactive {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::ACCESS_KEY_INACTIVE,
            "Specified access key is disabled.",
        ));
    }
    let secret = ram::open_secret(&state.keys, &key).map_err(|e| match e {
        ram::RamError::Crypto(c) => from_crypto(request_id, c),
        other => ApiError::internal(request_id, &other),
    })?;
    let principal = match key.user_id {
        None => Principal::Root {
            account_id: key.account_id,
        },
        Some(user_id) => {
            // Keys reference their user (foreign key), so the user exists while the key does.
            let user = cached
                .find_user_by_id(&user_id)
                .await
                .map_err(|e| from_store(request_id, e))?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        codes::ACCESS_KEY_NOT_FOUND,
                        "Specified access key is not found.",
                    )
                })?;
            Principal::User {
                account_id: key.account_id,
                user_id,
                user_name: user.name,
            }
        }
    };
    Ok((principal, secret))
}

/// Alibaba's SignatureDoesNotMatch message; the legacy SDK splits it on ':' and compares the
/// second piece with its own string to sign (spec §3.1), so the form must be kept.
fn signature_mismatch(string_to_sign: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        codes::SIGNATURE_DOES_NOT_MATCH,
        format!(
            "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
        ),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        codes::INCOMPLETE_SIGNATURE,
        message,
    )
}

fn parse_v3(value: &str) -> Result<signature::V3Authorization, ApiError> {
    if !value.starts_with("ACS3-") {
        return Err(incomplete("Unsupported Authorization scheme."));
    }
    if !value.starts_with("ACS3-HMAC-SHA256 ") {
        return Err(incomplete(
            "Only the ACS3-HMAC-SHA256 signature algorithm is supported.",
        ));
    }
    signature::parse_v3_authorization(value)
        .ok_or_else(|| incomplete("The Authorization header is malformed."))
}

fn claim_v3<'a>(
    meta: &RequestMeta<'a>,
    auth: signature::V3Authorization,
) -> Result<Claimed<'a>, ApiError> {
    let headers = meta.headers;
    // Every common header present must be signed (spec §2.3 rule).
    let signed = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    if !signed("host") {
        return Err(incomplete("The host header must be signed."));
    }
    for name in headers.keys() {
        let n = name.as_str();
        if n.starts_with("x-acs-") && !n.starts_with("x-acs-retry-") && !signed(n) {
            return Err(incomplete(format!("The header {n:?} must be signed.")));
        }
    }
    if let Some(claimed_hash) = header(headers, "x-acs-content-sha256")
        && !claimed_hash.eq_ignore_ascii_case(&sha256_hex(meta.body))
    {
        return Err(incomplete(
            "x-acs-content-sha256 does not match the request body.",
        ));
    }
    let timestamp =
        header(headers, "x-acs-date").ok_or_else(|| ApiError::missing_parameter("x-acs-date"))?;
    let nonce = header(headers, "x-acs-signature-nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::missing_parameter("x-acs-signature-nonce"))?;
    let security_token = header(headers, "x-acs-security-token");
    if let Some(id) = header(headers, "x-acs-accesskey-id")
        && id != auth.access_key_id
    {
        return Err(incomplete(
            "x-acs-accesskey-id differs from the Credential.",
        ));
    }
    Ok(Claimed {
        access_key_id: auth.access_key_id.clone(),
        timestamp,
        nonce,
        security_token,
        style: Style::V3 { auth },
    })
}

fn claim_v1(params: &Params) -> Result<Claimed<'_>, ApiError> {
    let Some(signature) = params.get("Signature") else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "The request is not signed: AccessKeyId and Signature are required.",
        ));
    };
    match params.get("SignatureMethod") {
        Some("HMAC-SHA1") => {}
        None => return Err(ApiError::missing_parameter("SignatureMethod")),
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::INVALID_SIGNATURE_METHOD,
                format!("Specified signature method {other:?} is not supported; use HMAC-SHA1."),
            ));
        }
    }
    match params.get("SignatureVersion") {
        Some("1.0") => {}
        None => return Err(ApiError::missing_parameter("SignatureVersion")),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "SignatureVersion",
                "Specified signature version is not supported; use 1.0.",
            ));
        }
    }
    if params.get("SignatureType").is_some_and(|t| !t.is_empty()) {
        return Err(incomplete("Bearer-token signatures are not supported."));
    }
    Ok(Claimed {
        access_key_id: params.required("AccessKeyId")?.to_string(),
        timestamp: params.required("Timestamp")?,
        nonce: params.required("SignatureNonce")?,
        security_token: params.get("SecurityToken").filter(|t| !t.is_empty()),
        style: Style::V1 { signature },
    })
}

fn check_timestamp(state: &AppState, timestamp: &str) -> Result<(), ApiError> {
    let Some(t) = parse_iso8601(timestamp) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::TIMESTAMP_FORMAT,
            format!(
                "Specified time stamp {timestamp:?} is not in the format yyyy-MM-ddTHH:mm:ssZ."
            ),
        ));
    };
    let skew = (state.clock.now() - t).num_seconds().abs();
    if skew > i64::from(state.config.signature_window_seconds) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::TIMESTAMP_EXPIRED,
            format!(
                "Specified time stamp or date header is expired: {timestamp} is more than {} seconds from the server time.",
                state.config.signature_window_seconds
            ),
        ));
    }
    Ok(())
}
