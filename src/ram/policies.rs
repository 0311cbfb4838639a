//! Policies: the built-in System set, custom policies with up to five versions, and their
//! attachment to users, groups and roles. Documents are parsed and validated when written
//! (`MalformedPolicyDocument` says where), so stored documents always parse.

use std::sync::LazyLock;

use super::{RamError, Scope, validate};
use crate::policy::{self, DocumentKind, MAX_CUSTOM_POLICY_CHARS, PolicyDocument};
use crate::store::{Attachment, NewPolicyVersion, Policy, PolicyVersion, PrincipalType};

/// Versions a custom policy may keep (spec §6.3).
pub const MAX_POLICY_VERSIONS: i64 = 5;

/// A built-in policy.
#[derive(Debug)]
pub struct SystemPolicy {
    /// `PolicyName`.
    pub name: &'static str,
    /// `Description`.
    pub description: &'static str,
    /// Document text.
    pub document: &'static str,
    /// Parsed document.
    pub parsed: PolicyDocument,
}

const SYSTEM_SOURCES: &[(&str, &str, &str)] = &[
    (
        "AdministratorAccess",
        "Full access to all resources.",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "ReadOnlyAccess",
        "Read-only access to all resources.",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["*:Get*","*:List*","*:Describe*","*:Query*","*:BatchGet*"],"Resource":"*"}]}"#,
    ),
    (
        "AliyunRAMFullAccess",
        "Full access to RAM: users, groups, roles, policies and authorizations.",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*"}]}"#,
    ),
    (
        "AliyunRAMReadOnlyAccess",
        "Read-only access to RAM.",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["ram:Get*","ram:List*"],"Resource":"*"}]}"#,
    ),
    (
        "AliyunSTSAssumeRoleAccess",
        "Permission to assume roles through STS.",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
    ),
];

static SYSTEM: LazyLock<Vec<SystemPolicy>> = LazyLock::new(|| {
    SYSTEM_SOURCES
        .iter()
        .filter_map(|(name, description, document)| {
            match policy::parse(document, DocumentKind::Permission, MAX_CUSTOM_POLICY_CHARS) {
                Ok(parsed) => Some(SystemPolicy {
                    name,
                    description,
                    document,
                    parsed,
                }),
                Err(e) => {
                    tracing::error!(policy = name, error = %e, "built-in policy does not parse");
                    None
                }
            }
        })
        .collect()
});

/// Every built-in policy.
pub fn system_policies() -> &'static [SystemPolicy] {
    &SYSTEM
}

/// One built-in policy by name.
pub fn system_policy(name: &str) -> Option<&'static SystemPolicy> {
    SYSTEM.iter().find(|p| p.name == name)
}

/// `System` or `Custom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    /// Built in.
    System,
    /// Account-defined.
    Custom,
}

impl PolicyType {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::System => "System",
            PolicyType::Custom => "Custom",
        }
    }

    /// Parses an optional `PolicyType` parameter.
    pub fn parse(v: Option<&str>) -> Result<Option<PolicyType>, RamError> {
        match v {
            None | Some("") => Ok(None),
            Some("System") => Ok(Some(PolicyType::System)),
            Some("Custom") => Ok(Some(PolicyType::Custom)),
            Some(_) => Err(RamError::Invalid {
                field: "PolicyType",
                kind: "Format",
                message: "PolicyType must be System or Custom.".into(),
            }),
        }
    }
}

/// A policy of either type, as Get/List report it.
#[derive(Debug, Clone)]
pub struct PolicyInfo {
    /// Type.
    pub policy_type: PolicyType,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Default version id.
    pub default_version: String,
    /// Default version document.
    pub document: String,
    /// Epoch ms (0 for System).
    pub created_at: i64,
    /// Epoch ms (0 for System).
    pub updated_at: i64,
    /// Default version creation, epoch ms.
    pub version_created_at: i64,
}

fn parse_custom(doc: &str) -> Result<PolicyDocument, RamError> {
    if doc.is_empty() {
        return Err(RamError::Invalid {
            field: "PolicyDocument",
            kind: "Length",
            message: "PolicyDocument must not be empty.".into(),
        });
    }
    policy::parse(doc, DocumentKind::Permission, MAX_CUSTOM_POLICY_CHARS)
        .map_err(RamError::MalformedPolicy)
}

/// `CreatePolicy`.
pub async fn create_policy(
    s: &Scope<'_>,
    name: &str,
    document: &str,
    description: Option<&str>,
) -> Result<Policy, RamError> {
    validate::policy_name(name)?;
    if system_policy(name).is_some() {
        return Err(RamError::exists("Policy", name));
    }
    parse_custom(document)?;
    if let Some(d) = description {
        validate::text("Description", d, 1024)?;
    }
    let now = s.clock.now_ms();
    let p = Policy {
        account_id: s.account_id.to_string(),
        name: name.to_string(),
        description: description.unwrap_or_default().to_string(),
        default_version: "v1".into(),
        next_version: 2,
        created_at: now,
        updated_at: now,
    };
    s.store
        .create_policy(&p, document)
        .await
        .map_err(RamError::on_conflict("Policy", name))?;
    Ok(p)
}

async fn custom(s: &Scope<'_>, name: &str) -> Result<Policy, RamError> {
    validate::policy_name(name)?;
    s.store
        .find_policy(s.account_id, name)
        .await?
        .ok_or_else(|| RamError::not_found("Policy", name))
}

/// Resolves a policy by name and optional type (Custom first when the type is not given).
pub async fn get_policy(
    s: &Scope<'_>,
    name: &str,
    kind: Option<PolicyType>,
) -> Result<PolicyInfo, RamError> {
    if kind != Some(PolicyType::System) {
        if let Some(p) = s.store.find_policy(s.account_id, name).await? {
            let v = s
                .store
                .find_policy_version(s.account_id, name, &p.default_version)
                .await?
                .ok_or_else(|| RamError::not_found("Policy.Version", &p.default_version))?;
            return Ok(PolicyInfo {
                policy_type: PolicyType::Custom,
                name: p.name,
                description: p.description,
                default_version: p.default_version,
                document: v.document,
                created_at: p.created_at,
                updated_at: p.updated_at,
                version_created_at: v.created_at,
            });
        }
        if kind == Some(PolicyType::Custom) {
            return Err(RamError::not_found("Policy", name));
        }
    }
    let sp = system_policy(name).ok_or_else(|| RamError::not_found("Policy", name))?;
    Ok(PolicyInfo {
        policy_type: PolicyType::System,
        name: sp.name.to_string(),
        description: sp.description.to_string(),
        default_version: "v1".into(),
        document: sp.document.to_string(),
        created_at: 0,
        updated_at: 0,
        version_created_at: 0,
    })
}

/// `UpdatePolicyDescription`.
pub async fn update_policy_description(
    s: &Scope<'_>,
    name: &str,
    description: &str,
) -> Result<PolicyInfo, RamError> {
    validate::text("NewDescription", description, 1024)?;
    custom(s, name).await?;
    s.store
        .update_policy_description(s.account_id, name, description, s.clock.now_ms())
        .await?;
    get_policy(s, name, Some(PolicyType::Custom)).await
}

/// `DeletePolicy`: refused while attached; extra versions need `cascade`.
pub async fn delete_policy(s: &Scope<'_>, name: &str, cascade: bool) -> Result<(), RamError> {
    custom(s, name).await?;
    s.store.delete_policy(s.account_id, name, cascade).await?;
    Ok(())
}

/// `ListPolicies`: System then Custom, each with its attachment count.
pub async fn list_policies(
    s: &Scope<'_>,
    kind: Option<PolicyType>,
) -> Result<Vec<(PolicyInfo, i64)>, RamError> {
    let mut out = Vec::new();
    if kind != Some(PolicyType::Custom) {
        for sp in system_policies() {
            let n = s
                .store
                .count_attachments_of_policy(s.account_id, "System", sp.name)
                .await?;
            out.push((get_policy(s, sp.name, Some(PolicyType::System)).await?, n));
        }
    }
    if kind != Some(PolicyType::System) {
        for p in s.store.list_policies(s.account_id).await? {
            let n = s
                .store
                .count_attachments_of_policy(s.account_id, "Custom", &p.name)
                .await?;
            out.push((get_policy(s, &p.name, Some(PolicyType::Custom)).await?, n));
        }
    }
    Ok(out)
}

/// `CreatePolicyVersion`.
pub async fn create_policy_version(
    s: &Scope<'_>,
    name: &str,
    document: &str,
    set_default: bool,
    rotate_strategy: Option<&str>,
) -> Result<PolicyVersion, RamError> {
    custom(s, name).await?;
    parse_custom(document)?;
    let rotate = match rotate_strategy {
        None | Some("") | Some("None") => false,
        Some("DeleteOldestNonDefaultVersionWhenLimitExceeded") => true,
        Some(_) => {
            return Err(RamError::Invalid {
                field: "RotateStrategy",
                kind: "Format",
                message:
                    "RotateStrategy must be None or DeleteOldestNonDefaultVersionWhenLimitExceeded."
                        .into(),
            });
        }
    };
    let now = s.clock.now_ms();
    let id = s
        .store
        .create_policy_version(
            s.account_id,
            name,
            &NewPolicyVersion {
                document,
                set_default,
                rotate,
                max_versions: MAX_POLICY_VERSIONS,
                now_ms: now,
            },
        )
        .await?
        .ok_or_else(|| RamError::not_found("Policy", name))?;
    Ok(PolicyVersion {
        version_id: id,
        document: document.to_string(),
        created_at: now,
    })
}

/// `GetPolicyVersion`.
pub async fn get_policy_version(
    s: &Scope<'_>,
    name: &str,
    kind: Option<PolicyType>,
    version_id: &str,
) -> Result<(PolicyVersion, bool), RamError> {
    let info = get_policy(s, name, kind).await?;
    if info.policy_type == PolicyType::System {
        if version_id != "v1" {
            return Err(RamError::not_found("Policy.Version", version_id));
        }
        return Ok((
            PolicyVersion {
                version_id: "v1".into(),
                document: info.document,
                created_at: 0,
            },
            true,
        ));
    }
    let v = s
        .store
        .find_policy_version(s.account_id, name, version_id)
        .await?
        .ok_or_else(|| RamError::not_found("Policy.Version", version_id))?;
    let is_default = v.version_id == info.default_version;
    Ok((v, is_default))
}

/// `ListPolicyVersions`: each version with whether it is the default.
pub async fn list_policy_versions(
    s: &Scope<'_>,
    name: &str,
    kind: Option<PolicyType>,
) -> Result<Vec<(PolicyVersion, bool)>, RamError> {
    let info = get_policy(s, name, kind).await?;
    if info.policy_type == PolicyType::System {
        return Ok(vec![(
            PolicyVersion {
                version_id: "v1".into(),
                document: info.document,
                created_at: 0,
            },
            true,
        )]);
    }
    Ok(s.store
        .list_policy_versions(s.account_id, name)
        .await?
        .into_iter()
        .map(|v| {
            let d = v.version_id == info.default_version;
            (v, d)
        })
        .collect())
}

/// `DeletePolicyVersion`: the default version cannot be deleted.
pub async fn delete_policy_version(
    s: &Scope<'_>,
    name: &str,
    version_id: &str,
) -> Result<(), RamError> {
    custom(s, name).await?;
    if !s
        .store
        .delete_policy_version(s.account_id, name, version_id)
        .await?
    {
        return Err(RamError::not_found("Policy.Version", version_id));
    }
    Ok(())
}

/// `SetDefaultPolicyVersion`: takes effect on the next authorization.
pub async fn set_default_policy_version(
    s: &Scope<'_>,
    name: &str,
    version_id: &str,
) -> Result<(), RamError> {
    custom(s, name).await?;
    if !s
        .store
        .set_default_policy_version(s.account_id, name, version_id, s.clock.now_ms())
        .await?
    {
        return Err(RamError::not_found("Policy.Version", version_id));
    }
    Ok(())
}

/// Who a policy is attached to, resolved by name.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A user name.
    User(&'a str),
    /// A group name.
    Group(&'a str),
    /// A role name.
    Role(&'a str),
}

async fn resolve(
    s: &Scope<'_>,
    t: Target<'_>,
) -> Result<(PrincipalType, String, &'static str), RamError> {
    Ok(match t {
        Target::User(n) => (
            PrincipalType::User,
            super::identities::get_user(s, n).await?.id,
            "User.Policy",
        ),
        Target::Group(n) => (
            PrincipalType::Group,
            super::identities::get_group(s, n).await?.id,
            "Group.Policy",
        ),
        Target::Role(n) => (
            PrincipalType::Role,
            super::roles::get_role(s, n).await?.id,
            "Role.Policy",
        ),
    })
}

/// `AttachPolicyTo{User,Group,Role}`. Limits: 20 System policies per principal, 10 Custom per
/// user and 5 per group or role (spec §6.5).
pub async fn attach(
    s: &Scope<'_>,
    name: &str,
    kind: Option<PolicyType>,
    target: Target<'_>,
) -> Result<(), RamError> {
    let info = get_policy(s, name, kind).await?;
    let (ptype, pid, entity) = resolve(s, target).await?;
    let max = match (info.policy_type, ptype) {
        (PolicyType::System, _) => 20,
        (PolicyType::Custom, PrincipalType::User) => 10,
        (PolicyType::Custom, _) => 5,
    };
    let a = Attachment {
        account_id: s.account_id.to_string(),
        policy_type: info.policy_type.as_str().to_string(),
        policy_name: info.name.clone(),
        principal_type: ptype.as_str().to_string(),
        principal_id: pid,
        attached_at: s.clock.now_ms(),
    };
    s.store.attach_policy(&a, max).await.map_err(|e| match e {
        crate::store::StoreError::Conflict { .. } => RamError::exists(entity, name),
        crate::store::StoreError::LimitExceeded { .. } => RamError::LimitExceeded {
            what: entity,
            message: format!(
                "The principal already holds {max} {} policies.",
                info.policy_type.as_str()
            ),
        },
        other => other.into(),
    })
}

/// `DetachPolicyFrom{User,Group,Role}`: takes effect on the principal's next request.
pub async fn detach(
    s: &Scope<'_>,
    name: &str,
    kind: Option<PolicyType>,
    target: Target<'_>,
) -> Result<(), RamError> {
    let info = get_policy(s, name, kind).await?;
    let (ptype, pid, entity) = resolve(s, target).await?;
    if !s
        .store
        .detach_policy(info.policy_type.as_str(), &info.name, ptype, &pid)
        .await?
    {
        return Err(RamError::not_found(entity, name));
    }
    Ok(())
}

/// `ListPoliciesFor{User,Group,Role}`: each policy with its attach time.
pub async fn list_for(
    s: &Scope<'_>,
    target: Target<'_>,
) -> Result<Vec<(PolicyInfo, i64)>, RamError> {
    let (ptype, pid, _) = resolve(s, target).await?;
    let mut out = Vec::new();
    for a in s.store.list_attachments_for(ptype, &pid).await? {
        let kind = PolicyType::parse(Some(&a.policy_type))?;
        if let Ok(info) = get_policy(s, &a.policy_name, kind).await {
            out.push((info, a.attached_at));
        }
    }
    Ok(out)
}

/// `ListEntitiesForPolicy`: the attachments of one policy.
pub async fn entities_for(
    s: &Scope<'_>,
    name: &str,
    kind: Option<PolicyType>,
) -> Result<Vec<Attachment>, RamError> {
    let info = get_policy(s, name, kind).await?;
    Ok(s.store
        .list_attachments_of_policy(s.account_id, info.policy_type.as_str(), &info.name)
        .await?)
}
