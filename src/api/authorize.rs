//! Authorization of every signed call (DESIGN.md "How a request flows", step 3): the account
//! root may do anything in its own account; a RAM user gets what its own and its groups'
//! policies allow, decided by the policy engine with the request context (`acs:SourceIp`,
//! `acs:CurrentTime`, `acs:SecureTransport`, `acs:MFAPresent`, `acs:AccessId`).

use super::client_info::ClientInfo;
use super::dispatch::{ActionSpec, Permission, resource_arn};
use super::error::{ApiError, from_ram, no_permission};
use super::params::Params;
use crate::AppState;
use crate::policy::{Context, Outcome};
use crate::principal::{Caller, Principal};
use crate::ram::authz;

/// The condition context of a request.
pub fn request_context(state: &AppState, caller: &Caller, client: &ClientInfo) -> Context {
    let mut ctx = Context::new()
        .with_current_time(state.clock.now())
        .with(
            "acs:SecureTransport",
            if client.secure { "true" } else { "false" },
        )
        .with("acs:MFAPresent", "false")
        .with("acs:AccessId", caller.access_key_id.as_str());
    if let Some(ip) = client.ip {
        ctx = ctx.with("acs:SourceIp", ip.to_string());
    }
    ctx
}

/// Allows the call or answers `NoPermission` naming the action.
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    spec: &ActionSpec,
    params: &Params,
    client: &ClientInfo,
    request_id: &str,
) -> Result<(), ApiError> {
    let Permission::Policy(resource) = spec.permission else {
        return Ok(());
    };
    match &caller.principal {
        // Every action operates inside the caller's own account (handlers scope to it).
        Principal::Root { .. } => Ok(()),
        Principal::User {
            account_id,
            user_id,
            user_name,
        } => {
            let action = spec.policy_action();
            let arn = resource_arn(resource, account_id, params, Some(user_name));
            let context = request_context(state, caller, client);
            let decision =
                authz::decide_for_user(&state.store, account_id, user_id, &action, &arn, &context)
                    .await
                    .map_err(|e| from_ram(request_id, e))?;
            if decision.is_allowed() {
                return Ok(());
            }
            tracing::debug!(request_id, %action, resource = %arn, outcome = ?decision.outcome, "denied");
            Err(no_permission(
                &action,
                "SubUser",
                account_id,
                user_name,
                decision.outcome == Outcome::ExplicitDeny,
            ))
        }
    }
}
