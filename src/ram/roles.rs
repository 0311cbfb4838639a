//! RAM roles: trust policy (who may assume), maximum session duration, and the revocation mark
//! STS checks (`sessions_valid_after`).

use super::{RamError, Scope, validate};
use crate::crypto;
use crate::policy::{self, DocumentKind, MAX_TRUST_POLICY_CHARS};
use crate::store::{Page, Role};

/// Bounds of `MaxSessionDuration` (spec §6.2).
pub const SESSION_DURATION_RANGE: std::ops::RangeInclusive<i64> = 3600..=43200;

/// The role's ARN.
pub fn role_arn(account_id: &str, name: &str) -> String {
    format!("acs:ram::{account_id}:role/{name}")
}

fn check_trust(field: &'static str, doc: &str) -> Result<(), RamError> {
    if doc.is_empty() {
        return Err(RamError::Invalid {
            field,
            kind: "Length",
            message: format!("{field} must not be empty."),
        });
    }
    policy::parse(doc, DocumentKind::Trust, MAX_TRUST_POLICY_CHARS)
        .map(|_| ())
        .map_err(RamError::MalformedPolicy)
}

fn check_duration(field: &'static str, v: &str) -> Result<i64, RamError> {
    match v.parse::<i64>() {
        Ok(n) if SESSION_DURATION_RANGE.contains(&n) => Ok(n),
        _ => Err(RamError::Invalid {
            field,
            kind: "Range",
            message: format!("{field} must be an integer from 3600 to 43200 seconds."),
        }),
    }
}

/// `CreateRole`.
pub async fn create_role(
    s: &Scope<'_>,
    name: &str,
    trust_policy: &str,
    description: Option<&str>,
    max_session_duration: Option<&str>,
) -> Result<Role, RamError> {
    validate::role_name(name)?;
    check_trust("AssumeRolePolicyDocument", trust_policy)?;
    if let Some(d) = description {
        validate::text("Description", d, 1024)?;
    }
    let max = match max_session_duration {
        Some(v) if !v.is_empty() => check_duration("MaxSessionDuration", v)?,
        _ => 3600,
    };
    let now = s.clock.now_ms();
    let role = Role {
        id: crypto::random_digits(19),
        account_id: s.account_id.to_string(),
        name: name.to_string(),
        description: description.unwrap_or_default().to_string(),
        trust_policy: trust_policy.to_string(),
        max_session_duration: max,
        created_at: now,
        updated_at: now,
        sessions_valid_after: 0,
    };
    s.store
        .create_role(&role)
        .await
        .map_err(RamError::on_conflict("Role", name))?;
    Ok(role)
}

/// The role named `name`, or `EntityNotExist.Role`.
pub async fn get_role(s: &Scope<'_>, name: &str) -> Result<Role, RamError> {
    validate::role_name(name)?;
    s.store
        .find_role(s.account_id, name)
        .await?
        .ok_or_else(|| RamError::not_found("Role", name))
}

/// `UpdateRole`. A new trust policy applies to the next AssumeRole at once.
pub async fn update_role(
    s: &Scope<'_>,
    name: &str,
    new_trust_policy: Option<&str>,
    new_max_session_duration: Option<&str>,
    new_description: Option<&str>,
) -> Result<Role, RamError> {
    let mut role = get_role(s, name).await?;
    if let Some(doc) = new_trust_policy {
        check_trust("NewAssumeRolePolicyDocument", doc)?;
        role.trust_policy = doc.to_string();
    }
    if let Some(v) = new_max_session_duration.filter(|v| !v.is_empty()) {
        role.max_session_duration = check_duration("NewMaxSessionDuration", v)?;
    }
    if let Some(d) = new_description {
        validate::text("NewDescription", d, 1024)?;
        role.description = d.to_string();
    }
    role.updated_at = s.clock.now_ms();
    s.store.update_role(&role).await?;
    Ok(role)
}

/// `DeleteRole`: refused while policies are attached.
pub async fn delete_role(s: &Scope<'_>, name: &str) -> Result<(), RamError> {
    let role = get_role(s, name).await?;
    s.store.delete_role(&role.id).await?;
    Ok(())
}

/// `ListRoles`.
pub async fn list_roles(
    s: &Scope<'_>,
    max_items: Option<&str>,
    marker: Option<&str>,
) -> Result<Page<Role>, RamError> {
    let (limit, after) = validate::paging(max_items, marker)?;
    Ok(s.store
        .list_roles(s.account_id, after.as_deref(), limit)
        .await?)
}

/// `RevokeRoleSessions` (rambridge extension): voids every live session of the role issued up
/// to now; they fail on their next call with `InvalidSecurityToken.Revoked`. New sessions can
/// be issued at once (trust permitting).
pub async fn revoke_sessions(s: &Scope<'_>, name: &str) -> Result<Role, RamError> {
    let mut role = get_role(s, name).await?;
    let now = s.clock.now_ms();
    role.sessions_valid_after = now + 1;
    role.updated_at = now;
    s.store.update_role(&role).await?;
    Ok(role)
}
