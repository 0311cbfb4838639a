//! STS action handlers (spec §4): thin mapping between parameters, the `sts` domain and the
//! response shapes.

use serde_json::{Map, Value, json};

use super::dispatch::ActionContext;
use super::error::ApiError;
use crate::principal::Principal;

/// `GetCallerIdentity` (STS 2015-04-01): who signed this request. Any authenticated caller may
/// call it; no permission is required (as at Alibaba).
pub async fn get_caller_identity(ctx: &ActionContext<'_>) -> Result<Map<String, Value>, ApiError> {
    let caller = ctx
        .caller
        .ok_or_else(|| ApiError::internal(ctx.request_id, &"GetCallerIdentity without caller"))?;
    let body = match &caller.principal {
        Principal::Root { account_id } => json!({
            "AccountId": account_id,
            "Arn": caller.principal.arn(),
            "IdentityType": "Account",
            "PrincipalId": account_id,
            "UserId": account_id,
        }),
        Principal::User {
            account_id,
            user_id,
            ..
        } => json!({
            "AccountId": account_id,
            "Arn": caller.principal.arn(),
            "IdentityType": "RAMUser",
            "PrincipalId": user_id,
            "UserId": user_id,
        }),
    };
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::internal(ctx.request_id, &"non-object body")),
    }
}
