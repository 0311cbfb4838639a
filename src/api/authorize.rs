//! Authorization of every signed call (DESIGN.md "How a request flows", step 3): the account
//! root may do anything in its own account; a RAM user gets what its own and its groups'
//! policies allow; a role session what its role's policies AND its session policy allow. The
//! request context carries `acs:SourceIp`, `acs:CurrentTime`, `acs:SecureTransport`,
//! `acs:MFAPresent` and `acs:AccessId`.

use super::client_info::ClientInfo;
use super::dispatch::{ActionSpec, Permission, resource_arn};
use super::error::{ApiError, from_ram, no_permission};
use super::params::Params;
use crate::AppState;
use crate::policy::{Context, Decision, Outcome};
use crate::principal::{Caller, Principal};
use crate::ram::{RamError, authz};

/// The condition context of a request.
pub fn request_context(
    state: &AppState,
    access_key_id: &str,
    ip: Option<std::net::IpAddr>,
    secure: bool,
) -> Context {
    let mut ctx = Context::new()
        .with_current_time(state.clock.now())
        .with("acs:SecureTransport", if secure { "true" } else { "false" })
        .with("acs:MFAPresent", "false")
        .with("acs:AccessId", access_key_id);
    if let Some(ip) = ip {
        ctx = ctx.with("acs:SourceIp", ip.to_string());
    }
    ctx
}

/// The policy decision for `principal` doing `action` on `resource`; `None` for the account
/// root, which needs no policy inside its own account.
pub async fn decide(
    state: &AppState,
    principal: &Principal,
    action: &str,
    resource: &str,
    context: &Context,
) -> Result<Option<Decision>, RamError> {
    match principal {
        Principal::Root { .. } => Ok(None),
        Principal::User {
            account_id,
            user_id,
            ..
        } => authz::decide_for_user(
            &state.store.cached(state.clock.now_ms()),
            account_id,
            user_id,
            action,
            resource,
            context,
        )
        .await
        .map(Some),
        Principal::RoleSession {
            account_id,
            role_id,
            session_policy,
            ..
        } => authz::decide_for_role(
            &state.store.cached(state.clock.now_ms()),
            account_id,
            role_id,
            session_policy.as_deref(),
            action,
            resource,
            context,
        )
        .await
        .map(Some),
    }
}

fn principal_type(p: &Principal) -> &'static str {
    match p {
        Principal::Root { .. } => "Account",
        Principal::User { .. } => "SubUser",
        Principal::RoleSession { .. } => "AssumedRoleUser",
    }
}

fn display_name(p: &Principal) -> String {
    match p {
        Principal::Root { account_id } => account_id.clone(),
        Principal::User { user_name, .. } => user_name.clone(),
        Principal::RoleSession {
            role_name,
            session_name,
            ..
        } => format!("{role_name}:{session_name}"),
    }
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
    let principal = &caller.principal;
    // The account root needs no policy inside its own account: skip building the context.
    if matches!(principal, Principal::Root { .. }) {
        return Ok(());
    }
    let user_name = match principal {
        Principal::User { user_name, .. } => Some(user_name.as_str()),
        _ => None,
    };
    let action = spec.policy_action();
    let arn = resource_arn(resource, principal.account_id(), params, user_name);
    let context = request_context(state, &caller.access_key_id, client.ip, client.secure);
    let decision = decide(state, principal, &action, &arn, &context)
        .await
        .map_err(|e| from_ram(request_id, e))?;
    match decision {
        None => Ok(()),
        Some(d) if d.is_allowed() => Ok(()),
        Some(d) => {
            tracing::debug!(request_id, %action, resource = %arn, outcome = ?d.outcome, "denied");
            Err(no_permission(
                &action,
                principal_type(principal),
                principal.account_id(),
                &display_name(principal),
                d.outcome == Outcome::ExplicitDeny,
            ))
        }
    }
}
