//! RAM action handlers (RAM 2015-05-01, spec §6): parameters in, one domain call, the Alibaba
//! response shape out. Permission checks happen before these run (see `dispatch`).

use serde_json::{Map, Value, json};

use super::dispatch::ActionContext;
use super::error::ApiError;
use super::handler::{Reply, date, ram, scope};
use crate::principal::Principal;
use crate::ram::identities::{self, NewUser, PasswordPolicy, UserChanges};
use crate::ram::policies::{self, PolicyInfo, PolicyType, Target};
use crate::ram::{RamError, roles, validate};
use crate::store::{AccessKeyRecord, Group, LoginProfile, Page, PolicyVersion, Role, User};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn opt<'a>(ctx: &'a ActionContext<'_>, name: &str) -> Option<&'a str> {
    ctx.params.get(name)
}

fn req<'a>(ctx: &'a ActionContext<'_>, name: &str) -> Result<&'a str, ApiError> {
    ctx.params.required(name)
}

fn boolean(ctx: &ActionContext<'_>, name: &'static str, default: bool) -> Result<bool, ApiError> {
    validate::boolean(name, opt(ctx, name), default).map_err(ram(ctx))
}

/// The account's default domain (`<alias>.<default_domain_suffix>`) for user principal names.
async fn default_domain(ctx: &ActionContext<'_>, account_id: &str) -> Result<String, ApiError> {
    let account = ctx
        .state
        .store
        .find_account(account_id)
        .await
        .map_err(|e| super::error::from_store(ctx.request_id, e))?
        .ok_or_else(|| ApiError::internal(ctx.request_id, &"caller's account not found"))?;
    Ok(format!(
        "{}.{}",
        account.alias, ctx.state.config.default_domain_suffix
    ))
}

fn user_json(u: &User, domain: &str) -> Value {
    let mut v = json!({
        "UserId": u.id,
        "UserName": u.name,
        "UserPrincipalName": format!("{}@{domain}", u.name),
        "DisplayName": u.display_name,
        "MobilePhone": u.mobile_phone,
        "Email": u.email,
        "Comments": u.comments,
        "CreateDate": date(u.created_at),
        "UpdateDate": date(u.updated_at),
    });
    if let (Some(at), Value::Object(m)) = (u.last_login_at, &mut v) {
        m.insert("LastLoginDate".into(), Value::String(date(at)));
    }
    v
}

fn group_json(g: &Group) -> Value {
    json!({
        "GroupId": g.id,
        "GroupName": g.name,
        "Comments": g.comments,
        "CreateDate": date(g.created_at),
        "UpdateDate": date(g.updated_at),
    })
}

fn key_json(k: &AccessKeyRecord) -> Value {
    json!({
        "AccessKeyId": k.id,
        "Status": k.status.as_str(),
        "CreateDate": date(k.created_at),
    })
}

fn profile_json(user: &str, p: &LoginProfile) -> Value {
    json!({
        "UserName": user,
        "PasswordResetRequired": p.password_reset_required,
        "MFABindRequired": p.mfa_bind_required,
        "CreateDate": date(p.created_at),
    })
}

fn role_json(r: &Role) -> Value {
    json!({
        "RoleId": r.id,
        "RoleName": r.name,
        "Arn": roles::role_arn(&r.account_id, &r.name),
        "Description": r.description,
        "AssumeRolePolicyDocument": r.trust_policy,
        "MaxSessionDuration": r.max_session_duration,
        "CreateDate": date(r.created_at),
        "UpdateDate": date(r.updated_at),
    })
}

fn policy_json(p: &PolicyInfo) -> Value {
    json!({
        "PolicyName": p.name,
        "PolicyType": p.policy_type.as_str(),
        "Description": p.description,
        "DefaultVersion": p.default_version,
        "CreateDate": date(p.created_at),
        "UpdateDate": date(p.updated_at),
    })
}

fn version_json(v: &PolicyVersion, is_default: bool) -> Value {
    json!({
        "VersionId": v.version_id,
        "IsDefaultVersion": is_default,
        "PolicyDocument": v.document,
        "CreateDate": date(v.created_at),
    })
}

/// `{"<outer>":{"<inner>":[...]},"IsTruncated":..,"Marker":..}` (spec §6: always the wrapper).
fn paged<T>(
    outer: &str,
    inner: &str,
    page: &Page<T>,
    f: impl Fn(&T) -> Value,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        outer.into(),
        json!({ inner: page.items.iter().map(f).collect::<Vec<_>>() }),
    );
    m.insert("IsTruncated".into(), Value::Bool(page.next_after.is_some()));
    if let Some(after) = &page.next_after {
        m.insert("Marker".into(), Value::String(validate::marker(after)));
    }
    m
}

fn wrapped(outer: &str, inner: &str, items: Vec<Value>) -> Map<String, Value> {
    obj(json!({ outer: { inner: items } }))
}

/// The user an action names, or the calling RAM user itself when `UserName` is omitted.
fn target_user<'a>(ctx: &'a ActionContext<'_>) -> Result<&'a str, ApiError> {
    match (
        opt(ctx, "UserName").filter(|v| !v.is_empty()),
        ctx.caller.map(|c| &c.principal),
    ) {
        (Some(n), _) => Ok(n),
        (None, Some(Principal::User { user_name, .. })) => Ok(user_name),
        _ => Err(ApiError::missing_parameter("UserName")),
    }
}

// ---- users -------------------------------------------------------------------------------------

/// `CreateUser` (`ram:CreateUser`).
pub async fn create_user(ctx: &ActionContext<'_>) -> Reply {
    let input = NewUser {
        name: req(ctx, "UserName")?.to_string(),
        display_name: opt(ctx, "DisplayName").map(str::to_string),
        mobile_phone: opt(ctx, "MobilePhone").map(str::to_string),
        email: opt(ctx, "Email").map(str::to_string),
        comments: opt(ctx, "Comments").map(str::to_string),
    };
    let u = identities::create_user(&scope(ctx)?, input)
        .await
        .map_err(ram(ctx))?;
    let domain = default_domain(ctx, &u.account_id).await?;
    Ok(obj(json!({ "User": user_json(&u, &domain) })))
}

/// `GetUser` (`ram:GetUser`).
pub async fn get_user(ctx: &ActionContext<'_>) -> Reply {
    let u = identities::get_user(&scope(ctx)?, req(ctx, "UserName")?)
        .await
        .map_err(ram(ctx))?;
    let domain = default_domain(ctx, &u.account_id).await?;
    Ok(obj(json!({ "User": user_json(&u, &domain) })))
}

/// `UpdateUser` (`ram:UpdateUser`).
pub async fn update_user(ctx: &ActionContext<'_>) -> Reply {
    let changes = UserChanges {
        name: opt(ctx, "NewUserName").map(str::to_string),
        display_name: opt(ctx, "NewDisplayName").map(str::to_string),
        mobile_phone: opt(ctx, "NewMobilePhone").map(str::to_string),
        email: opt(ctx, "NewEmail").map(str::to_string),
        comments: opt(ctx, "NewComments").map(str::to_string),
    };
    let u = identities::update_user(&scope(ctx)?, req(ctx, "UserName")?, changes)
        .await
        .map_err(ram(ctx))?;
    let domain = default_domain(ctx, &u.account_id).await?;
    Ok(obj(json!({ "User": user_json(&u, &domain) })))
}

/// `DeleteUser` (`ram:DeleteUser`).
pub async fn delete_user(ctx: &ActionContext<'_>) -> Reply {
    identities::delete_user(&scope(ctx)?, req(ctx, "UserName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `ListUsers` (`ram:ListUsers`).
pub async fn list_users(ctx: &ActionContext<'_>) -> Reply {
    let page = identities::list_users(&scope(ctx)?, opt(ctx, "MaxItems"), opt(ctx, "Marker"))
        .await
        .map_err(ram(ctx))?;
    let domain = match page.items.first() {
        Some(u) => default_domain(ctx, &u.account_id).await?,
        None => String::new(),
    };
    Ok(paged("Users", "User", &page, |u| user_json(u, &domain)))
}

// ---- AccessKeys ----------------------------------------------------------------------------------

/// `CreateAccessKey` (`ram:CreateAccessKey`); the secret appears only in this response.
pub async fn create_access_key(ctx: &ActionContext<'_>) -> Reply {
    let (k, secret) = identities::create_access_key(&scope(ctx)?, target_user(ctx)?)
        .await
        .map_err(ram(ctx))?;
    let mut v = key_json(&k);
    if let Value::Object(m) = &mut v {
        m.insert("AccessKeySecret".into(), Value::String(secret));
    }
    Ok(obj(json!({ "AccessKey": v })))
}

/// `ListAccessKeys` (`ram:ListAccessKeys`).
pub async fn list_access_keys(ctx: &ActionContext<'_>) -> Reply {
    let keys = identities::list_access_keys(&scope(ctx)?, target_user(ctx)?)
        .await
        .map_err(ram(ctx))?;
    Ok(wrapped(
        "AccessKeys",
        "AccessKey",
        keys.iter().map(key_json).collect(),
    ))
}

/// `UpdateAccessKey` (`ram:UpdateAccessKey`).
pub async fn update_access_key(ctx: &ActionContext<'_>) -> Reply {
    identities::update_access_key(
        &scope(ctx)?,
        target_user(ctx)?,
        req(ctx, "UserAccessKeyId")?,
        req(ctx, "Status")?,
    )
    .await
    .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `DeleteAccessKey` (`ram:DeleteAccessKey`).
pub async fn delete_access_key(ctx: &ActionContext<'_>) -> Reply {
    identities::delete_access_key(
        &scope(ctx)?,
        target_user(ctx)?,
        req(ctx, "UserAccessKeyId")?,
    )
    .await
    .map_err(ram(ctx))?;
    Ok(Map::new())
}

// ---- groups ----------------------------------------------------------------------------------------

/// `CreateGroup` (`ram:CreateGroup`).
pub async fn create_group(ctx: &ActionContext<'_>) -> Reply {
    let g = identities::create_group(&scope(ctx)?, req(ctx, "GroupName")?, opt(ctx, "Comments"))
        .await
        .map_err(ram(ctx))?;
    Ok(obj(json!({ "Group": group_json(&g) })))
}

/// `GetGroup` (`ram:GetGroup`).
pub async fn get_group(ctx: &ActionContext<'_>) -> Reply {
    let g = identities::get_group(&scope(ctx)?, req(ctx, "GroupName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(obj(json!({ "Group": group_json(&g) })))
}

/// `UpdateGroup` (`ram:UpdateGroup`).
pub async fn update_group(ctx: &ActionContext<'_>) -> Reply {
    let g = identities::update_group(
        &scope(ctx)?,
        req(ctx, "GroupName")?,
        opt(ctx, "NewGroupName"),
        opt(ctx, "NewComments"),
    )
    .await
    .map_err(ram(ctx))?;
    Ok(obj(json!({ "Group": group_json(&g) })))
}

/// `DeleteGroup` (`ram:DeleteGroup`).
pub async fn delete_group(ctx: &ActionContext<'_>) -> Reply {
    identities::delete_group(&scope(ctx)?, req(ctx, "GroupName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `ListGroups` (`ram:ListGroups`).
pub async fn list_groups(ctx: &ActionContext<'_>) -> Reply {
    let page = identities::list_groups(&scope(ctx)?, opt(ctx, "MaxItems"), opt(ctx, "Marker"))
        .await
        .map_err(ram(ctx))?;
    Ok(paged("Groups", "Group", &page, group_json))
}

/// `AddUserToGroup` (`ram:AddUserToGroup`).
pub async fn add_user_to_group(ctx: &ActionContext<'_>) -> Reply {
    identities::add_user_to_group(&scope(ctx)?, req(ctx, "GroupName")?, req(ctx, "UserName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `RemoveUserFromGroup` (`ram:RemoveUserFromGroup`).
pub async fn remove_user_from_group(ctx: &ActionContext<'_>) -> Reply {
    identities::remove_user_from_group(&scope(ctx)?, req(ctx, "GroupName")?, req(ctx, "UserName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `ListGroupsForUser` (`ram:ListGroupsForUser`).
pub async fn list_groups_for_user(ctx: &ActionContext<'_>) -> Reply {
    let groups = identities::list_groups_for_user(&scope(ctx)?, req(ctx, "UserName")?)
        .await
        .map_err(ram(ctx))?;
    let items = groups
        .iter()
        .map(|(g, at)| {
            json!({"GroupName": g.name, "GroupId": g.id, "Comments": g.comments, "JoinDate": date(*at)})
        })
        .collect();
    Ok(wrapped("Groups", "Group", items))
}

/// `ListUsersForGroup` (`ram:ListUsersForGroup`).
pub async fn list_users_for_group(ctx: &ActionContext<'_>) -> Reply {
    let page = identities::list_users_for_group(
        &scope(ctx)?,
        req(ctx, "GroupName")?,
        opt(ctx, "MaxItems"),
        opt(ctx, "Marker"),
    )
    .await
    .map_err(ram(ctx))?;
    Ok(paged(
        "Users",
        "User",
        &page,
        |(u, at)| json!({"UserName": u.name, "UserId": u.id, "DisplayName": u.display_name, "JoinDate": date(*at)}),
    ))
}

// ---- login profiles and password policy --------------------------------------------------------------

/// `CreateLoginProfile` (`ram:CreateLoginProfile`).
pub async fn create_login_profile(ctx: &ActionContext<'_>) -> Reply {
    let user = req(ctx, "UserName")?;
    let p = identities::create_login_profile(
        &scope(ctx)?,
        user,
        req(ctx, "Password")?,
        boolean(ctx, "PasswordResetRequired", false)?,
        boolean(ctx, "MFABindRequired", false)?,
    )
    .await
    .map_err(ram(ctx))?;
    Ok(obj(json!({ "LoginProfile": profile_json(user, &p) })))
}

/// `GetLoginProfile` (`ram:GetLoginProfile`).
pub async fn get_login_profile(ctx: &ActionContext<'_>) -> Reply {
    let user = req(ctx, "UserName")?;
    let p = identities::get_login_profile(&scope(ctx)?, user)
        .await
        .map_err(ram(ctx))?;
    Ok(obj(json!({ "LoginProfile": profile_json(user, &p) })))
}

/// `UpdateLoginProfile` (`ram:UpdateLoginProfile`).
pub async fn update_login_profile(ctx: &ActionContext<'_>) -> Reply {
    let flag = |name: &'static str| -> Result<Option<bool>, ApiError> {
        match opt(ctx, name) {
            None | Some("") => Ok(None),
            v => validate::boolean(name, v, false)
                .map(Some)
                .map_err(ram(ctx)),
        }
    };
    identities::update_login_profile(
        &scope(ctx)?,
        req(ctx, "UserName")?,
        opt(ctx, "Password").filter(|p| !p.is_empty()),
        flag("PasswordResetRequired")?,
        flag("MFABindRequired")?,
    )
    .await
    .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `DeleteLoginProfile` (`ram:DeleteLoginProfile`).
pub async fn delete_login_profile(ctx: &ActionContext<'_>) -> Reply {
    identities::delete_login_profile(&scope(ctx)?, req(ctx, "UserName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `GetPasswordPolicy` (`ram:GetPasswordPolicy`).
pub async fn get_password_policy(ctx: &ActionContext<'_>) -> Reply {
    let p = identities::password_policy(&scope(ctx)?)
        .await
        .map_err(ram(ctx))?;
    Ok(obj(json!({ "PasswordPolicy": p })))
}

/// `SetPasswordPolicy` (`ram:SetPasswordPolicy`): omitted fields keep their current values.
pub async fn set_password_policy(ctx: &ActionContext<'_>) -> Reply {
    let s = scope(ctx)?;
    let mut p: PasswordPolicy = identities::password_policy(&s).await.map_err(ram(ctx))?;
    let num = |name: &'static str, cur: u32| -> Result<u32, ApiError> {
        match opt(ctx, name) {
            None | Some("") => Ok(cur),
            Some(v) => v.parse().map_err(|_| {
                ram(ctx)(RamError::Invalid {
                    field: name,
                    kind: "Format",
                    message: format!("{name} must be a non-negative integer."),
                })
            }),
        }
    };
    p.minimum_password_length = num("MinimumPasswordLength", p.minimum_password_length)?;
    p.require_lowercase_characters = boolean(
        ctx,
        "RequireLowercaseCharacters",
        p.require_lowercase_characters,
    )?;
    p.require_uppercase_characters = boolean(
        ctx,
        "RequireUppercaseCharacters",
        p.require_uppercase_characters,
    )?;
    p.require_numbers = boolean(ctx, "RequireNumbers", p.require_numbers)?;
    p.require_symbols = boolean(ctx, "RequireSymbols", p.require_symbols)?;
    p.hard_expiry = boolean(ctx, "HardExpiry", p.hard_expiry)?;
    p.max_password_age = num("MaxPasswordAge", p.max_password_age)?;
    p.password_reuse_prevention = num("PasswordReusePrevention", p.password_reuse_prevention)?;
    p.max_login_attemps = num("MaxLoginAttemps", p.max_login_attemps)?;
    identities::set_password_policy(&s, &p)
        .await
        .map_err(ram(ctx))?;
    Ok(obj(json!({ "PasswordPolicy": p })))
}

// ---- virtual MFA ---------------------------------------------------------------------------------------

/// `CreateVirtualMFADevice` (`ram:CreateVirtualMFADevice`); seed and QR only here.
pub async fn create_virtual_mfa_device(ctx: &ActionContext<'_>) -> Reply {
    let d = identities::create_virtual_mfa_device(&scope(ctx)?, req(ctx, "VirtualMFADeviceName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(obj(json!({ "VirtualMFADevice": {
        "SerialNumber": d.serial_number,
        "Base32StringSeed": d.base32_seed,
        "QRCodePNG": d.qr_png_base64,
    }})))
}

/// `BindMFADevice` (`ram:BindMFADevice`).
pub async fn bind_mfa_device(ctx: &ActionContext<'_>) -> Reply {
    identities::bind_mfa_device(
        &scope(ctx)?,
        req(ctx, "SerialNumber")?,
        req(ctx, "UserName")?,
        req(ctx, "AuthenticationCode1")?,
        req(ctx, "AuthenticationCode2")?,
    )
    .await
    .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `UnbindMFADevice` (`ram:UnbindMFADevice`).
pub async fn unbind_mfa_device(ctx: &ActionContext<'_>) -> Reply {
    let serial = identities::unbind_mfa_device(&scope(ctx)?, req(ctx, "UserName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(obj(json!({ "MFADevice": { "SerialNumber": serial } })))
}

/// `GetUserMFAInfo` (`ram:GetUserMFAInfo`).
pub async fn get_user_mfa_info(ctx: &ActionContext<'_>) -> Reply {
    let d = identities::user_mfa_device(&scope(ctx)?, req(ctx, "UserName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(obj(
        json!({ "MFADevice": { "SerialNumber": d.serial_number, "Type": "VMFA" } }),
    ))
}

/// `ListVirtualMFADevices` (`ram:ListVirtualMFADevices`).
pub async fn list_virtual_mfa_devices(ctx: &ActionContext<'_>) -> Reply {
    let devices = identities::list_virtual_mfa_devices(&scope(ctx)?)
        .await
        .map_err(ram(ctx))?;
    let items = devices
        .iter()
        .map(|(d, u)| {
            let mut v = json!({ "SerialNumber": d.serial_number });
            if let (Value::Object(m), Some(u), Some(at)) = (&mut v, u, d.activated_at) {
                m.insert("ActivateDate".into(), Value::String(date(at)));
                m.insert(
                    "User".into(),
                    json!({"UserId": u.id, "UserName": u.name, "DisplayName": u.display_name}),
                );
            }
            v
        })
        .collect();
    Ok(wrapped("VirtualMFADevices", "VirtualMFADevice", items))
}

/// `DeleteVirtualMFADevice` (`ram:DeleteVirtualMFADevice`).
pub async fn delete_virtual_mfa_device(ctx: &ActionContext<'_>) -> Reply {
    identities::delete_virtual_mfa_device(&scope(ctx)?, req(ctx, "SerialNumber")?)
        .await
        .map_err(ram(ctx))?;
    Ok(Map::new())
}

// ---- roles ------------------------------------------------------------------------------------------------

/// `CreateRole` (`ram:CreateRole`).
pub async fn create_role(ctx: &ActionContext<'_>) -> Reply {
    let r = roles::create_role(
        &scope(ctx)?,
        req(ctx, "RoleName")?,
        req(ctx, "AssumeRolePolicyDocument")?,
        opt(ctx, "Description"),
        opt(ctx, "MaxSessionDuration"),
    )
    .await
    .map_err(ram(ctx))?;
    Ok(obj(json!({ "Role": role_json(&r) })))
}

/// `GetRole` (`ram:GetRole`).
pub async fn get_role(ctx: &ActionContext<'_>) -> Reply {
    let r = roles::get_role(&scope(ctx)?, req(ctx, "RoleName")?)
        .await
        .map_err(ram(ctx))?;
    let mut v = role_json(&r);
    if let Value::Object(m) = &mut v {
        m.insert("IsServiceLinkedRole".into(), Value::Bool(false));
    }
    Ok(obj(json!({ "Role": v })))
}

/// `UpdateRole` (`ram:UpdateRole`).
pub async fn update_role(ctx: &ActionContext<'_>) -> Reply {
    let r = roles::update_role(
        &scope(ctx)?,
        req(ctx, "RoleName")?,
        opt(ctx, "NewAssumeRolePolicyDocument"),
        opt(ctx, "NewMaxSessionDuration"),
        opt(ctx, "NewDescription"),
    )
    .await
    .map_err(ram(ctx))?;
    Ok(obj(json!({ "Role": role_json(&r) })))
}

/// `DeleteRole` (`ram:DeleteRole`).
pub async fn delete_role(ctx: &ActionContext<'_>) -> Reply {
    roles::delete_role(&scope(ctx)?, req(ctx, "RoleName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `RevokeRoleSessions` (`ram:RevokeRoleSessions`, rambridge extension; docs/sts.md): voids the
/// role's live sessions issued before now.
pub async fn revoke_role_sessions(ctx: &ActionContext<'_>) -> Reply {
    let r = roles::revoke_sessions(&scope(ctx)?, req(ctx, "RoleName")?)
        .await
        .map_err(ram(ctx))?;
    Ok(obj(json!({
        "Role": role_json(&r),
        "SessionsValidAfter": date(r.sessions_valid_after),
    })))
}

/// `ListRoles` (`ram:ListRoles`).
pub async fn list_roles(ctx: &ActionContext<'_>) -> Reply {
    let page = roles::list_roles(&scope(ctx)?, opt(ctx, "MaxItems"), opt(ctx, "Marker"))
        .await
        .map_err(ram(ctx))?;
    Ok(paged("Roles", "Role", &page, role_json))
}

// ---- policies ------------------------------------------------------------------------------------------------

fn policy_type(ctx: &ActionContext<'_>) -> Result<Option<PolicyType>, ApiError> {
    PolicyType::parse(opt(ctx, "PolicyType")).map_err(ram(ctx))
}

/// `CreatePolicy` (`ram:CreatePolicy`).
pub async fn create_policy(ctx: &ActionContext<'_>) -> Reply {
    let s = scope(ctx)?;
    let name = req(ctx, "PolicyName")?;
    policies::create_policy(
        &s,
        name,
        req(ctx, "PolicyDocument")?,
        opt(ctx, "Description"),
    )
    .await
    .map_err(ram(ctx))?;
    let info = policies::get_policy(&s, name, Some(PolicyType::Custom))
        .await
        .map_err(ram(ctx))?;
    Ok(obj(json!({ "Policy": policy_json(&info) })))
}

/// `GetPolicy` (`ram:GetPolicy`).
pub async fn get_policy(ctx: &ActionContext<'_>) -> Reply {
    let s = scope(ctx)?;
    let info = policies::get_policy(&s, req(ctx, "PolicyName")?, policy_type(ctx)?)
        .await
        .map_err(ram(ctx))?;
    let count = s
        .store
        .count_attachments_of_policy(s.account_id, info.policy_type.as_str(), &info.name)
        .await
        .map_err(|e| super::error::from_store(ctx.request_id, e))?;
    let mut p = policy_json(&info);
    if let Value::Object(m) = &mut p {
        m.insert(
            "PolicyDocument".into(),
            Value::String(info.document.clone()),
        );
        m.insert("AttachmentCount".into(), json!(count));
    }
    Ok(obj(json!({
        "Policy": p,
        "DefaultPolicyVersion": {
            "VersionId": info.default_version,
            "IsDefaultVersion": true,
            "PolicyDocument": info.document,
            "CreateDate": date(info.version_created_at),
        }
    })))
}

/// `UpdatePolicyDescription` (`ram:UpdatePolicyDescription`).
pub async fn update_policy_description(ctx: &ActionContext<'_>) -> Reply {
    let info = policies::update_policy_description(
        &scope(ctx)?,
        req(ctx, "PolicyName")?,
        opt(ctx, "NewDescription").unwrap_or(""),
    )
    .await
    .map_err(ram(ctx))?;
    Ok(obj(json!({ "Policy": policy_json(&info) })))
}

/// `DeletePolicy` (`ram:DeletePolicy`).
pub async fn delete_policy(ctx: &ActionContext<'_>) -> Reply {
    policies::delete_policy(
        &scope(ctx)?,
        req(ctx, "PolicyName")?,
        boolean(ctx, "CascadingDelete", false)?,
    )
    .await
    .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `ListPolicies` (`ram:ListPolicies`).
pub async fn list_policies(ctx: &ActionContext<'_>) -> Reply {
    let all = policies::list_policies(&scope(ctx)?, policy_type(ctx)?)
        .await
        .map_err(ram(ctx))?;
    let items = all
        .iter()
        .map(|(p, n)| {
            let mut v = policy_json(p);
            if let Value::Object(m) = &mut v {
                m.insert("AttachmentCount".into(), json!(n));
            }
            v
        })
        .collect();
    let mut m = wrapped("Policies", "Policy", items);
    m.insert("IsTruncated".into(), Value::Bool(false));
    Ok(m)
}

/// `CreatePolicyVersion` (`ram:CreatePolicyVersion`).
pub async fn create_policy_version(ctx: &ActionContext<'_>) -> Reply {
    let set_default = boolean(ctx, "SetAsDefault", false)?;
    let v = policies::create_policy_version(
        &scope(ctx)?,
        req(ctx, "PolicyName")?,
        req(ctx, "PolicyDocument")?,
        set_default,
        opt(ctx, "RotateStrategy"),
    )
    .await
    .map_err(ram(ctx))?;
    Ok(obj(
        json!({ "PolicyVersion": version_json(&v, set_default) }),
    ))
}

/// `GetPolicyVersion` (`ram:GetPolicyVersion`).
pub async fn get_policy_version(ctx: &ActionContext<'_>) -> Reply {
    let (v, d) = policies::get_policy_version(
        &scope(ctx)?,
        req(ctx, "PolicyName")?,
        policy_type(ctx)?,
        req(ctx, "VersionId")?,
    )
    .await
    .map_err(ram(ctx))?;
    Ok(obj(json!({ "PolicyVersion": version_json(&v, d) })))
}

/// `ListPolicyVersions` (`ram:ListPolicyVersions`).
pub async fn list_policy_versions(ctx: &ActionContext<'_>) -> Reply {
    let versions =
        policies::list_policy_versions(&scope(ctx)?, req(ctx, "PolicyName")?, policy_type(ctx)?)
            .await
            .map_err(ram(ctx))?;
    Ok(wrapped(
        "PolicyVersions",
        "PolicyVersion",
        versions.iter().map(|(v, d)| version_json(v, *d)).collect(),
    ))
}

/// `DeletePolicyVersion` (`ram:DeletePolicyVersion`).
pub async fn delete_policy_version(ctx: &ActionContext<'_>) -> Reply {
    policies::delete_policy_version(
        &scope(ctx)?,
        req(ctx, "PolicyName")?,
        req(ctx, "VersionId")?,
    )
    .await
    .map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `SetDefaultPolicyVersion` (`ram:SetDefaultPolicyVersion`).
pub async fn set_default_policy_version(ctx: &ActionContext<'_>) -> Reply {
    policies::set_default_policy_version(
        &scope(ctx)?,
        req(ctx, "PolicyName")?,
        req(ctx, "VersionId")?,
    )
    .await
    .map_err(ram(ctx))?;
    Ok(Map::new())
}

fn target<'a>(ctx: &'a ActionContext<'_>, kind: &str) -> Result<Target<'a>, ApiError> {
    Ok(match kind {
        "User" => Target::User(req(ctx, "UserName")?),
        "Group" => Target::Group(req(ctx, "GroupName")?),
        _ => Target::Role(req(ctx, "RoleName")?),
    })
}

async fn attach_to(ctx: &ActionContext<'_>, kind: &str, attach: bool) -> Reply {
    let s = scope(ctx)?;
    let name = req(ctx, "PolicyName")?;
    let t = target(ctx, kind)?;
    let r = if attach {
        policies::attach(&s, name, policy_type(ctx)?, t).await
    } else {
        policies::detach(&s, name, policy_type(ctx)?, t).await
    };
    r.map_err(ram(ctx))?;
    Ok(Map::new())
}

/// `AttachPolicyToUser` (`ram:AttachPolicyToUser`).
pub async fn attach_policy_to_user(ctx: &ActionContext<'_>) -> Reply {
    attach_to(ctx, "User", true).await
}
/// `AttachPolicyToGroup` (`ram:AttachPolicyToGroup`).
pub async fn attach_policy_to_group(ctx: &ActionContext<'_>) -> Reply {
    attach_to(ctx, "Group", true).await
}
/// `AttachPolicyToRole` (`ram:AttachPolicyToRole`).
pub async fn attach_policy_to_role(ctx: &ActionContext<'_>) -> Reply {
    attach_to(ctx, "Role", true).await
}
/// `DetachPolicyFromUser` (`ram:DetachPolicyFromUser`).
pub async fn detach_policy_from_user(ctx: &ActionContext<'_>) -> Reply {
    attach_to(ctx, "User", false).await
}
/// `DetachPolicyFromGroup` (`ram:DetachPolicyFromGroup`).
pub async fn detach_policy_from_group(ctx: &ActionContext<'_>) -> Reply {
    attach_to(ctx, "Group", false).await
}
/// `DetachPolicyFromRole` (`ram:DetachPolicyFromRole`).
pub async fn detach_policy_from_role(ctx: &ActionContext<'_>) -> Reply {
    attach_to(ctx, "Role", false).await
}

async fn list_policies_for(ctx: &ActionContext<'_>, kind: &str) -> Reply {
    let list = policies::list_for(&scope(ctx)?, target(ctx, kind)?)
        .await
        .map_err(ram(ctx))?;
    let items = list
        .iter()
        .map(|(p, at)| {
            json!({
                "PolicyName": p.name,
                "PolicyType": p.policy_type.as_str(),
                "Description": p.description,
                "DefaultVersion": p.default_version,
                "AttachDate": date(*at),
            })
        })
        .collect();
    Ok(wrapped("Policies", "Policy", items))
}

/// `ListPoliciesForUser` (`ram:ListPoliciesForUser`).
pub async fn list_policies_for_user(ctx: &ActionContext<'_>) -> Reply {
    list_policies_for(ctx, "User").await
}
/// `ListPoliciesForGroup` (`ram:ListPoliciesForGroup`).
pub async fn list_policies_for_group(ctx: &ActionContext<'_>) -> Reply {
    list_policies_for(ctx, "Group").await
}
/// `ListPoliciesForRole` (`ram:ListPoliciesForRole`).
pub async fn list_policies_for_role(ctx: &ActionContext<'_>) -> Reply {
    list_policies_for(ctx, "Role").await
}

/// `ListEntitiesForPolicy` (`ram:ListEntitiesForPolicy`).
pub async fn list_entities_for_policy(ctx: &ActionContext<'_>) -> Reply {
    let s = scope(ctx)?;
    let attachments = policies::entities_for(&s, req(ctx, "PolicyName")?, policy_type(ctx)?)
        .await
        .map_err(ram(ctx))?;
    let (mut users, mut groups, mut roles_out) = (Vec::new(), Vec::new(), Vec::new());
    let store_err = |e| super::error::from_store(ctx.request_id, e);
    for a in attachments {
        let at = date(a.attached_at);
        match a.principal_type.as_str() {
            "User" => {
                if let Some(u) = s
                    .store
                    .find_user_by_id(&a.principal_id)
                    .await
                    .map_err(store_err)?
                {
                    users.push(json!({"UserId": u.id, "UserName": u.name, "DisplayName": u.display_name, "AttachDate": at}));
                }
            }
            "Group" => {
                if let Some(g) = s
                    .store
                    .find_group_by_id(&a.principal_id)
                    .await
                    .map_err(store_err)?
                {
                    groups.push(
                        json!({"GroupName": g.name, "Comments": g.comments, "AttachDate": at}),
                    );
                }
            }
            _ => {
                if let Some(r) = s
                    .store
                    .find_role_by_id(&a.principal_id)
                    .await
                    .map_err(store_err)?
                {
                    roles_out.push(json!({"RoleId": r.id, "RoleName": r.name, "Arn": roles::role_arn(&r.account_id, &r.name), "Description": r.description, "AttachDate": at}));
                }
            }
        }
    }
    Ok(obj(json!({
        "Users": { "User": users },
        "Groups": { "Group": groups },
        "Roles": { "Role": roles_out },
    })))
}
