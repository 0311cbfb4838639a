//! The one wire error type, [`ApiError`], and every conversion into it: the table of HTTP status,
//! Alibaba `Code` and safe `Message` (spec §3). Internal failures are logged with the request id
//! and answered with a generic `InternalError`; their text never reaches the client.

use std::borrow::Cow;

use axum::http::StatusCode;

use crate::crypto::CryptoError;
use crate::ram::RamError;
use crate::store::StoreError;
use crate::sts::{StsError, TokenError};

/// An RPC error as sent on the wire (`{RequestId, HostId, Code, Message, Recommend}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Alibaba error code, dotted hierarchy (e.g. `InvalidParameter.RoleArn`).
    pub code: Cow<'static, str>,
    /// Human-readable, safe to show.
    pub message: String,
    /// Seconds after which a throttled client may retry (`x-acs-retry-after`).
    pub retry_after: Option<u64>,
    /// `AccessDeniedDetail` object for `NoPermission`.
    pub access_denied_detail: Option<Box<serde_json::Value>>,
}

impl ApiError {
    /// A new error with a static code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: Cow::Borrowed(code),
            message: message.into(),
            retry_after: None,
            access_denied_detail: None,
        }
    }

    /// `400 MissingParameter.<Name>` (STS style, spec §3.2/§3.3).
    pub fn missing_parameter(name: &str) -> ApiError {
        ApiError {
            code: Cow::Owned(format!("MissingParameter.{name}")),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "MissingParameter",
                format!(
                    "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
                ),
            )
        }
    }

    /// `400 InvalidParameter.<Name>` with a message saying what is wrong.
    pub fn invalid_parameter(name: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code: Cow::Owned(format!("InvalidParameter.{name}")),
            ..ApiError::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
        }
    }

    /// `400 InvalidParameter` for request-level problems (encoding, duplicates).
    pub fn malformed_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, message)
    }

    /// `413` for a request larger than the configured limit.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::REQUEST_TOO_LARGE,
            format!("The request body exceeds the limit of {limit} bytes."),
        )
    }

    /// `404 InvalidAction.NotFound` (spec §3.2, with Alibaba's message).
    pub fn unknown_action() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            codes::INVALID_ACTION,
            "Specified api is not found, please check your url and method.",
        )
    }

    /// `500 InternalError`; the cause is logged under the request id, never sent.
    pub fn internal(request_id: &str, cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(request_id, %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL_ERROR,
            format!(
                "The request processing has failed due to some unknown error. Reference: {request_id}"
            ),
        )
    }

    /// `429 Throttling.User` with `x-acs-retry-after`.
    pub fn throttled(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                codes::THROTTLING_USER,
                "Request was denied due to user flow control.",
            )
        }
    }
}

/// Error codes used by the gateway (spec §3.2). Each constant is the exact wire string.
pub mod codes {
    /// Malformed request or parameter.
    pub const INVALID_PARAMETER: &str = "InvalidParameter";
    /// Body over the size limit (rambridge rule; Alibaba's code for this is undocumented).
    pub const REQUEST_TOO_LARGE: &str = "RequestTooLarge";
    /// Unknown (Version, Action).
    pub const INVALID_ACTION: &str = "InvalidAction.NotFound";
    /// Unknown Version.
    pub const INVALID_VERSION: &str = "InvalidVersion";
    /// Malformed or unsupported authentication.
    pub const INCOMPLETE_SIGNATURE: &str = "IncompleteSignature";
    /// Signature mismatch; the message carries the server's string to sign.
    pub const SIGNATURE_DOES_NOT_MATCH: &str = "SignatureDoesNotMatch";
    /// Timestamp outside the window.
    pub const TIMESTAMP_EXPIRED: &str = "InvalidTimeStamp.Expired";
    /// Timestamp not `yyyy-MM-ddTHH:mm:ssZ`.
    pub const TIMESTAMP_FORMAT: &str = "InvalidTimeStamp.Format";
    /// Nonce replayed.
    pub const NONCE_USED: &str = "SignatureNonceUsed";
    /// SignatureMethod other than HMAC-SHA1.
    pub const INVALID_SIGNATURE_METHOD: &str = "InvalidSignatureMethod";
    /// HTTP method other than GET/POST.
    pub const UNSUPPORTED_HTTP_METHOD: &str = "UnsupportedHTTPMethod";
    /// Unknown AccessKeyId.
    pub const ACCESS_KEY_NOT_FOUND: &str = "InvalidAccessKeyId.NotFound";
    /// Disabled AccessKey.
    pub const ACCESS_KEY_INACTIVE: &str = "InvalidAccessKeyId.Inactive";
    /// `STS.` key without a token.
    pub const MISSING_SECURITY_TOKEN: &str = "MissingSecurityToken";
    /// Unparsable STS token.
    pub const SECURITY_TOKEN_MALFORMED: &str = "InvalidSecurityToken.Malformed";
    /// Rate limited.
    pub const THROTTLING_USER: &str = "Throttling.User";
    /// Policy evaluation denied.
    pub const NO_PERMISSION: &str = "NoPermission";
    /// A policy document that does not parse or validate.
    pub const MALFORMED_POLICY: &str = "MalformedPolicyDocument";
    /// A bug or backend failure.
    pub const INTERNAL_ERROR: &str = "InternalError";
}

/// Maps a store failure: conflicts are client errors, the rest internal.
pub fn from_store(request_id: &str, err: StoreError) -> ApiError {
    ApiError::internal(request_id, &err)
}

/// Crypto failures on the request path are internal (a sealed secret that no longer opens means
/// the wrong master key is configured).
pub fn from_crypto(request_id: &str, err: CryptoError) -> ApiError {
    ApiError::internal(request_id, &err)
}

/// Maps RAM domain errors (spec §3.4 families).
pub fn from_ram(request_id: &str, err: RamError) -> ApiError {
    let dynamic = |status: StatusCode, code: String, message: String| ApiError {
        code: Cow::Owned(code),
        ..ApiError::new(status, "", message)
    };
    match err {
        RamError::InvalidAccountAlias(msg) => ApiError::invalid_parameter("AccountAlias", msg),
        RamError::AccountAliasTaken(alias) => ApiError::new(
            StatusCode::CONFLICT,
            "EntityAlreadyExists.AccountAlias",
            format!("The account alias {alias:?} is already taken."),
        ),
        RamError::Invalid {
            field,
            kind,
            message,
        } => dynamic(
            StatusCode::BAD_REQUEST,
            format!("InvalidParameter.{field}.{kind}"),
            message,
        ),
        RamError::NotFound { entity, message } => dynamic(
            StatusCode::NOT_FOUND,
            format!("EntityNotExist.{entity}"),
            message,
        ),
        RamError::AlreadyExists { entity, message } => dynamic(
            StatusCode::CONFLICT,
            format!("EntityAlreadyExists.{entity}"),
            message,
        ),
        RamError::DeleteConflict { what, message } => dynamic(
            StatusCode::CONFLICT,
            format!("DeleteConflict.{what}"),
            message,
        ),
        RamError::LimitExceeded { what, message } => dynamic(
            StatusCode::CONFLICT,
            format!("LimitExceeded.{what}"),
            message,
        ),
        RamError::MalformedPolicy(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::MALFORMED_POLICY,
            format!("The policy document is malformed: {e}"),
        ),
        RamError::PasswordTooWeak(msg) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.Password.TooWeak",
            msg,
        ),
        RamError::AuthenticationCode => ApiError::new(
            StatusCode::FORBIDDEN,
            "CheckAuthenticationCodeFail",
            "The authentication codes are not valid for this MFA device.",
        ),
        RamError::Store(e) => from_store(request_id, e),
        RamError::Crypto(e) => from_crypto(request_id, e),
    }
}

/// Maps STS errors (spec §3.3; token codes §2.4).
pub fn from_sts(request_id: &str, err: StsError) -> ApiError {
    let msg = err.to_string();
    match err {
        StsError::InvalidRoleArn(_) => ApiError::invalid_parameter("RoleArn", msg),
        StsError::InvalidSessionName => ApiError::invalid_parameter("RoleSessionName", msg),
        StsError::InvalidDuration { .. } => ApiError::invalid_parameter("DurationSeconds", msg),
        StsError::PolicySize(_) => ApiError::invalid_parameter("PolicySize", msg),
        StsError::PolicyGrammar(_) => ApiError::invalid_parameter("PolicyGrammar", msg),
        StsError::InvalidExternalId => ApiError::invalid_parameter("ExternalId", msg),
        StsError::RoleNotFound(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "EntityNotExist.Role", msg)
        }
        StsError::NotTrusted { .. } => {
            ApiError::new(StatusCode::FORBIDDEN, codes::NO_PERMISSION, msg)
        }
        StsError::Token(t) => {
            let code = match t {
                TokenError::Malformed(_) => codes::SECURITY_TOKEN_MALFORMED,
                TokenError::Expired(_) => "InvalidSecurityToken.Expired",
                TokenError::Mismatch(_) => "InvalidSecurityToken.MismatchWithAccessKey",
                TokenError::Revoked(_) => "InvalidSecurityToken.Revoked",
            };
            ApiError::new(StatusCode::BAD_REQUEST, code, msg)
        }
        StsError::Store(e) => from_store(request_id, e),
        StsError::Crypto(e) => from_crypto(request_id, e),
    }
}

/// Maps federation errors: assertion checks to their `AuthenticationFail.SAMLAssertion.*`
/// sub-codes (401), the rest as STS errors.
pub fn from_federation(request_id: &str, err: crate::sts::federation::FederationError) -> ApiError {
    use crate::sts::federation::FederationError as F;
    let msg = err.to_string();
    match err {
        F::Sts(StsError::NotTrusted { .. }) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFail.NoPermission",
            msg,
        ),
        F::Sts(e) => from_sts(request_id, e),
        F::Saml(e) => ApiError::new(StatusCode::UNAUTHORIZED, e.code(), msg),
        F::InvalidProviderArn(_) => ApiError::invalid_parameter("SAMLProviderArn", msg),
        F::ProviderNotFound(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "EntityNotExist.SAMLProvider", msg)
        }
        F::ProviderMetadata(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFail.IDPMetadata.Invalid",
            msg,
        ),
    }
}

/// Maps OIDC federation errors (spec §3.3): token and key checks to their
/// `AuthenticationFail.OIDCToken.*` codes (401); a missing provider and a refusing trust policy
/// to `AuthenticationFail.NoPermission` (401), as Alibaba answers both; the rest as STS errors.
pub fn from_oidc_federation(
    request_id: &str,
    err: crate::sts::oidc::OidcFederationError,
) -> ApiError {
    use crate::sts::oidc::OidcFederationError as F;
    let msg = err.to_string();
    match err {
        F::Sts(StsError::NotTrusted { .. }) | F::ProviderNotFound(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFail.NoPermission",
            msg,
        ),
        F::Sts(e) => from_sts(request_id, e),
        F::Token(e) => ApiError::new(StatusCode::UNAUTHORIZED, e.code(), msg),
        F::InvalidProviderArn(_) => ApiError::invalid_parameter("OIDCProviderArn", msg),
        F::AccountMismatch { .. } => ApiError::invalid_parameter("RoleArn", msg),
    }
}

/// `403 NoPermission` naming the action, with Alibaba's `AccessDeniedDetail`.
pub fn no_permission(
    action: &str,
    principal_type: &str,
    account_id: &str,
    principal_name: &str,
    explicit: bool,
) -> ApiError {
    ApiError {
        access_denied_detail: Some(Box::new(serde_json::json!({
            "AuthAction": action,
            "AuthPrincipalType": principal_type,
            "AuthPrincipalOwnerId": account_id,
            "AuthPrincipalDisplayName": principal_name,
            "PolicyType": "AccountLevelIdentityBasedPolicy",
            "NoPermissionType": if explicit { "ExplicitDeny" } else { "ImplicitDeny" },
        }))),
        ..ApiError::new(
            StatusCode::FORBIDDEN,
            codes::NO_PERMISSION,
            format!(
                "You are not authorized to do this action ({action}). You should be authorized by RAM."
            ),
        )
    }
}

#[cfg(test)]
mod tests;
