//! RAM users and what hangs off them: AccessKeys (at most two, secret shown once and sealed),
//! groups and memberships, login profiles (argon2id) under the account password policy, and
//! virtual MFA devices (sealed TOTP seeds, two consecutive codes to bind).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::{RamError, Scope, secret_context, validate};
use crate::crypto::{self, Purpose, totp};
use crate::store::{AccessKeyRecord, Group, KeyStatus, LoginProfile, MfaDevice, Page, User};

/// Alibaba's limits (spec §6.4, §6.5).
pub const MAX_ACCESS_KEYS_PER_USER: i64 = 2;
/// Groups one user may join.
pub const MAX_GROUPS_PER_USER: i64 = 5;

/// Fields of a new user.
#[derive(Debug, Default, Clone)]
pub struct NewUser {
    /// `UserName`.
    pub name: String,
    /// `DisplayName` (defaults to the user name).
    pub display_name: Option<String>,
    /// `MobilePhone`.
    pub mobile_phone: Option<String>,
    /// `Email`.
    pub email: Option<String>,
    /// `Comments`.
    pub comments: Option<String>,
}

/// Changes to a user; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    /// `NewUserName`.
    pub name: Option<String>,
    /// `NewDisplayName`.
    pub display_name: Option<String>,
    /// `NewMobilePhone`.
    pub mobile_phone: Option<String>,
    /// `NewEmail`.
    pub email: Option<String>,
    /// `NewComments`.
    pub comments: Option<String>,
}

fn check_contact(
    prefix: &str,
    display: Option<&str>,
    mobile: Option<&str>,
    email: Option<&str>,
    comments: Option<&str>,
) -> Result<(), RamError> {
    let new = prefix == "New";
    if let Some(d) = display {
        validate::display_name(if new { "NewDisplayName" } else { "DisplayName" }, d)?;
    }
    if let Some(m) = mobile {
        validate::mobile_phone(if new { "NewMobilePhone" } else { "MobilePhone" }, m)?;
    }
    if let Some(e) = email {
        validate::email(if new { "NewEmail" } else { "Email" }, e)?;
    }
    if let Some(c) = comments {
        validate::text(if new { "NewComments" } else { "Comments" }, c, 128)?;
    }
    Ok(())
}

/// `CreateUser`.
pub async fn create_user(s: &Scope<'_>, input: NewUser) -> Result<User, RamError> {
    validate::user_name("UserName", &input.name)?;
    check_contact(
        "",
        input.display_name.as_deref(),
        input.mobile_phone.as_deref(),
        input.email.as_deref(),
        input.comments.as_deref(),
    )?;
    let now = s.clock.now_ms();
    let user = User {
        id: crypto::random_digits(16),
        account_id: s.account_id.to_string(),
        display_name: input.display_name.unwrap_or_else(|| input.name.clone()),
        name: input.name,
        mobile_phone: input.mobile_phone.unwrap_or_default(),
        email: input.email.unwrap_or_default(),
        comments: input.comments.unwrap_or_default(),
        created_at: now,
        updated_at: now,
        last_login_at: None,
    };
    s.store
        .create_user(&user)
        .await
        .map_err(RamError::on_conflict("User", &user.name))?;
    Ok(user)
}

/// The user named `name` in the scope's account, or `EntityNotExist.User`.
pub async fn get_user(s: &Scope<'_>, name: &str) -> Result<User, RamError> {
    validate::user_name("UserName", name)?;
    s.store
        .find_user(s.account_id, name)
        .await?
        .ok_or_else(|| RamError::not_found("User", name))
}

/// `UpdateUser`.
pub async fn update_user(s: &Scope<'_>, name: &str, c: UserChanges) -> Result<User, RamError> {
    let mut user = get_user(s, name).await?;
    if let Some(n) = &c.name {
        validate::user_name("NewUserName", n)?;
    }
    check_contact(
        "New",
        c.display_name.as_deref(),
        c.mobile_phone.as_deref(),
        c.email.as_deref(),
        c.comments.as_deref(),
    )?;
    let new_name = c.name.unwrap_or_else(|| user.name.clone());
    user.name = new_name.clone();
    user.display_name = c.display_name.unwrap_or(user.display_name);
    user.mobile_phone = c.mobile_phone.unwrap_or(user.mobile_phone);
    user.email = c.email.unwrap_or(user.email);
    user.comments = c.comments.unwrap_or(user.comments);
    user.updated_at = s.clock.now_ms();
    if !s
        .store
        .update_user(&user)
        .await
        .map_err(RamError::on_conflict("User", &new_name))?
    {
        return Err(RamError::not_found("User", name));
    }
    Ok(user)
}

/// `DeleteUser`: refused with `DeleteConflict.User.*` while anything depends on the user.
pub async fn delete_user(s: &Scope<'_>, name: &str) -> Result<(), RamError> {
    let user = get_user(s, name).await?;
    s.store.delete_user(&user.id).await?;
    Ok(())
}

/// `ListUsers`.
pub async fn list_users(
    s: &Scope<'_>,
    max_items: Option<&str>,
    marker: Option<&str>,
) -> Result<Page<User>, RamError> {
    let (limit, after) = validate::paging(max_items, marker)?;
    Ok(s.store
        .list_users(s.account_id, after.as_deref(), limit)
        .await?)
}

/// The account's user principal name for a user: `<name>@<alias>.<default domain suffix>`.
pub fn principal_name(user: &str, alias: &str, domain_suffix: &str) -> String {
    format!("{user}@{alias}.{domain_suffix}")
}

// ---- AccessKeys ------------------------------------------------------------------------------

/// `CreateAccessKey` for a user: returns the record and the secret (shown only here).
pub async fn create_access_key(
    s: &Scope<'_>,
    user_name: &str,
) -> Result<(AccessKeyRecord, String), RamError> {
    let user = get_user(s, user_name).await?;
    let id = crypto::new_access_key_id();
    let secret = crypto::new_access_key_secret();
    let sealed = s
        .keys
        .seal(Purpose::AtRest, &secret_context(&id), secret.as_bytes())?;
    let key = AccessKeyRecord {
        id,
        account_id: s.account_id.to_string(),
        user_id: Some(user.id),
        status: KeyStatus::Active,
        secret_sealed: sealed,
        created_at: s.clock.now_ms(),
    };
    s.store
        .create_user_access_key(&key, MAX_ACCESS_KEYS_PER_USER)
        .await?;
    Ok((key, secret))
}

/// `ListAccessKeys`.
pub async fn list_access_keys(
    s: &Scope<'_>,
    user_name: &str,
) -> Result<Vec<AccessKeyRecord>, RamError> {
    let user = get_user(s, user_name).await?;
    Ok(s.store.list_user_access_keys(&user.id).await?)
}

/// `UpdateAccessKey`: `Active` or `Inactive`; takes effect on the very next request.
pub async fn update_access_key(
    s: &Scope<'_>,
    user_name: &str,
    key_id: &str,
    status: &str,
) -> Result<(), RamError> {
    let status = match status {
        "Active" => KeyStatus::Active,
        "Inactive" => KeyStatus::Inactive,
        _ => {
            return Err(RamError::Invalid {
                field: "Status",
                kind: "Format",
                message: "Status must be Active or Inactive.".into(),
            });
        }
    };
    let user = get_user(s, user_name).await?;
    if !s
        .store
        .update_user_access_key(&user.id, key_id, status, s.clock.now_ms())
        .await?
    {
        return Err(RamError::not_found("User.AccessKey", key_id));
    }
    Ok(())
}

/// `DeleteAccessKey`.
pub async fn delete_access_key(
    s: &Scope<'_>,
    user_name: &str,
    key_id: &str,
) -> Result<(), RamError> {
    let user = get_user(s, user_name).await?;
    if !s.store.delete_user_access_key(&user.id, key_id).await? {
        return Err(RamError::not_found("User.AccessKey", key_id));
    }
    Ok(())
}

// ---- groups ----------------------------------------------------------------------------------

/// `CreateGroup`.
pub async fn create_group(
    s: &Scope<'_>,
    name: &str,
    comments: Option<&str>,
) -> Result<Group, RamError> {
    validate::group_name("GroupName", name)?;
    if let Some(c) = comments {
        validate::text("Comments", c, 128)?;
    }
    let now = s.clock.now_ms();
    let group = Group {
        id: crypto::random_digits(16),
        account_id: s.account_id.to_string(),
        name: name.to_string(),
        comments: comments.unwrap_or_default().to_string(),
        created_at: now,
        updated_at: now,
    };
    s.store
        .create_group(&group)
        .await
        .map_err(RamError::on_conflict("Group", name))?;
    Ok(group)
}

/// The group named `name`, or `EntityNotExist.Group`.
pub async fn get_group(s: &Scope<'_>, name: &str) -> Result<Group, RamError> {
    validate::group_name("GroupName", name)?;
    s.store
        .find_group(s.account_id, name)
        .await?
        .ok_or_else(|| RamError::not_found("Group", name))
}

/// `UpdateGroup`.
pub async fn update_group(
    s: &Scope<'_>,
    name: &str,
    new_name: Option<&str>,
    new_comments: Option<&str>,
) -> Result<Group, RamError> {
    let mut group = get_group(s, name).await?;
    if let Some(n) = new_name {
        validate::group_name("NewGroupName", n)?;
        group.name = n.to_string();
    }
    if let Some(c) = new_comments {
        validate::text("NewComments", c, 128)?;
        group.comments = c.to_string();
    }
    group.updated_at = s.clock.now_ms();
    let target = group.name.clone();
    s.store
        .update_group(&group)
        .await
        .map_err(RamError::on_conflict("Group", &target))?;
    Ok(group)
}

/// `DeleteGroup`: refused while it has members or policies.
pub async fn delete_group(s: &Scope<'_>, name: &str) -> Result<(), RamError> {
    let group = get_group(s, name).await?;
    s.store.delete_group(&group.id).await?;
    Ok(())
}

/// `ListGroups`.
pub async fn list_groups(
    s: &Scope<'_>,
    max_items: Option<&str>,
    marker: Option<&str>,
) -> Result<Page<Group>, RamError> {
    let (limit, after) = validate::paging(max_items, marker)?;
    Ok(s.store
        .list_groups(s.account_id, after.as_deref(), limit)
        .await?)
}

/// `AddUserToGroup`.
pub async fn add_user_to_group(
    s: &Scope<'_>,
    group_name: &str,
    user_name: &str,
) -> Result<(), RamError> {
    let group = get_group(s, group_name).await?;
    let user = get_user(s, user_name).await?;
    s.store
        .add_group_member(&group.id, &user.id, s.clock.now_ms(), MAX_GROUPS_PER_USER)
        .await
        .map_err(RamError::on_conflict(
            "User.Group",
            &format!("{user_name} in {group_name}"),
        ))
}

/// `RemoveUserFromGroup`.
pub async fn remove_user_from_group(
    s: &Scope<'_>,
    group_name: &str,
    user_name: &str,
) -> Result<(), RamError> {
    let group = get_group(s, group_name).await?;
    let user = get_user(s, user_name).await?;
    if !s.store.remove_group_member(&group.id, &user.id).await? {
        return Err(RamError::not_found(
            "User.Group",
            &format!("{user_name} in {group_name}"),
        ));
    }
    Ok(())
}

/// `ListGroupsForUser`: groups with join times.
pub async fn list_groups_for_user(
    s: &Scope<'_>,
    user_name: &str,
) -> Result<Vec<(Group, i64)>, RamError> {
    let user = get_user(s, user_name).await?;
    Ok(s.store.list_groups_for_user(&user.id).await?)
}

/// `ListUsersForGroup`: members with join times.
pub async fn list_users_for_group(
    s: &Scope<'_>,
    group_name: &str,
    max_items: Option<&str>,
    marker: Option<&str>,
) -> Result<Page<(User, i64)>, RamError> {
    let group = get_group(s, group_name).await?;
    let (limit, after) = validate::paging(max_items, marker)?;
    Ok(s.store
        .list_users_for_group(&group.id, after.as_deref(), limit)
        .await?)
}

// ---- password policy and login profiles ------------------------------------------------------

/// The account password policy (`GetPasswordPolicy`/`SetPasswordPolicy`, spec §6.5; note the
/// SDK's spelling `MaxLoginAttemps`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PasswordPolicy {
    /// 8-32.
    pub minimum_password_length: u32,
    /// At least one a-z.
    pub require_lowercase_characters: bool,
    /// At least one A-Z.
    pub require_uppercase_characters: bool,
    /// At least one digit.
    pub require_numbers: bool,
    /// At least one symbol.
    pub require_symbols: bool,
    /// Expired passwords block sign-in.
    pub hard_expiry: bool,
    /// Days; 0 means never.
    pub max_password_age: u32,
    /// Previous passwords that may not be reused.
    pub password_reuse_prevention: u32,
    /// Failed sign-ins before a lock (SDK spelling).
    pub max_login_attemps: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            minimum_password_length: 8,
            require_lowercase_characters: true,
            require_uppercase_characters: true,
            require_numbers: true,
            require_symbols: false,
            hard_expiry: false,
            max_password_age: 0,
            password_reuse_prevention: 0,
            max_login_attemps: 5,
        }
    }
}

impl PasswordPolicy {
    /// Checks a password; the message lists what is missing.
    pub fn check(&self, password: &str) -> Result<(), RamError> {
        let mut missing = Vec::new();
        if password.chars().count() < self.minimum_password_length as usize {
            missing.push(format!(
                "at least {} characters",
                self.minimum_password_length
            ));
        }
        if password.chars().count() > 128 {
            missing.push("at most 128 characters".into());
        }
        if self.require_lowercase_characters && !password.chars().any(|c| c.is_ascii_lowercase()) {
            missing.push("a lowercase letter".into());
        }
        if self.require_uppercase_characters && !password.chars().any(|c| c.is_ascii_uppercase()) {
            missing.push("an uppercase letter".into());
        }
        if self.require_numbers && !password.chars().any(|c| c.is_ascii_digit()) {
            missing.push("a digit".into());
        }
        if self.require_symbols && !password.chars().any(|c| c.is_ascii_punctuation()) {
            missing.push("a symbol".into());
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(RamError::PasswordTooWeak(format!(
                "The password does not meet the account password policy: it needs {}.",
                missing.join(", ")
            )))
        }
    }
}

/// `GetPasswordPolicy`.
pub async fn password_policy(s: &Scope<'_>) -> Result<PasswordPolicy, RamError> {
    Ok(match s.store.find_password_policy(s.account_id).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => PasswordPolicy::default(),
    })
}

/// `SetPasswordPolicy`: stores the policy after range checks.
pub async fn set_password_policy(s: &Scope<'_>, policy: &PasswordPolicy) -> Result<(), RamError> {
    if !(8..=32).contains(&policy.minimum_password_length) {
        return Err(RamError::Invalid {
            field: "MinimumPasswordLength",
            kind: "Range",
            message: "MinimumPasswordLength must be from 8 to 32.".into(),
        });
    }
    let json = serde_json::to_string(policy).map_err(|e| RamError::Invalid {
        field: "PasswordPolicy",
        kind: "Format",
        message: e.to_string(),
    })?;
    s.store.save_password_policy(s.account_id, &json).await?;
    Ok(())
}

/// `CreateLoginProfile`.
pub async fn create_login_profile(
    s: &Scope<'_>,
    user_name: &str,
    password: &str,
    reset_required: bool,
    mfa_bind_required: bool,
) -> Result<LoginProfile, RamError> {
    let user = get_user(s, user_name).await?;
    password_policy(s).await?.check(password)?;
    let now = s.clock.now_ms();
    let profile = LoginProfile {
        user_id: user.id,
        password_hash: crypto::hash_password(password)?,
        password_reset_required: reset_required,
        mfa_bind_required,
        created_at: now,
        updated_at: now,
    };
    s.store
        .create_login_profile(&profile)
        .await
        .map_err(RamError::on_conflict("User.LoginProfile", user_name))?;
    Ok(profile)
}

/// `GetLoginProfile`.
pub async fn get_login_profile(s: &Scope<'_>, user_name: &str) -> Result<LoginProfile, RamError> {
    let user = get_user(s, user_name).await?;
    s.store
        .find_login_profile(&user.id)
        .await?
        .ok_or_else(|| RamError::not_found("User.LoginProfile", user_name))
}

/// `UpdateLoginProfile`: any of password and flags.
pub async fn update_login_profile(
    s: &Scope<'_>,
    user_name: &str,
    password: Option<&str>,
    reset_required: Option<bool>,
    mfa_bind_required: Option<bool>,
) -> Result<(), RamError> {
    let mut profile = get_login_profile(s, user_name).await?;
    if let Some(p) = password {
        password_policy(s).await?.check(p)?;
        profile.password_hash = crypto::hash_password(p)?;
    }
    profile.password_reset_required = reset_required.unwrap_or(profile.password_reset_required);
    profile.mfa_bind_required = mfa_bind_required.unwrap_or(profile.mfa_bind_required);
    profile.updated_at = s.clock.now_ms();
    s.store.update_login_profile(&profile).await?;
    Ok(())
}

/// `DeleteLoginProfile`.
pub async fn delete_login_profile(s: &Scope<'_>, user_name: &str) -> Result<(), RamError> {
    let user = get_user(s, user_name).await?;
    if !s.store.delete_login_profile(&user.id).await? {
        return Err(RamError::not_found("User.LoginProfile", user_name));
    }
    Ok(())
}

// ---- virtual MFA -----------------------------------------------------------------------------

/// A new device as `CreateVirtualMFADevice` returns it (seed and QR shown only here).
#[derive(Debug, Clone)]
pub struct NewMfaDevice {
    /// `acs:ram::<account>:mfa/<name>`.
    pub serial_number: String,
    /// Base32 TOTP seed.
    pub base32_seed: String,
    /// Base64 PNG of the `otpauth://` QR code.
    pub qr_png_base64: String,
}

pub(crate) fn mfa_context(serial: &str) -> Vec<u8> {
    format!("mfa-seed:{serial}").into_bytes()
}

/// `CreateVirtualMFADevice`.
pub async fn create_virtual_mfa_device(
    s: &Scope<'_>,
    name: &str,
) -> Result<NewMfaDevice, RamError> {
    validate::mfa_name(name)?;
    let serial = format!("acs:ram::{}:mfa/{name}", s.account_id);
    let seed = totp::generate_seed().map_err(|_| crypto::CryptoError::Random)?;
    let device = MfaDevice {
        serial_number: serial.clone(),
        account_id: s.account_id.to_string(),
        name: name.to_string(),
        seed_sealed: s.keys.seal(Purpose::AtRest, &mfa_context(&serial), &seed)?,
        user_id: None,
        activated_at: None,
        last_step: None,
        created_at: s.clock.now_ms(),
    };
    s.store
        .create_mfa_device(&device)
        .await
        .map_err(RamError::on_conflict("VirtualMFADevice", name))?;
    let uri = totp::otpauth_uri("rambridge", &format!("{name}@{}", s.account_id), &seed);
    let png = totp::qr_png(&uri).map_err(|_| crypto::CryptoError::Random)?;
    Ok(NewMfaDevice {
        serial_number: serial,
        base32_seed: totp::base32_encode(&seed),
        qr_png_base64: B64.encode(png),
    })
}

async fn device(s: &Scope<'_>, serial: &str) -> Result<MfaDevice, RamError> {
    match s.store.find_mfa_device(serial).await? {
        Some(d) if d.account_id == s.account_id => Ok(d),
        _ => Err(RamError::not_found("VirtualMFADevice", serial)),
    }
}

/// `BindMFADevice`: two consecutive current codes; the device and the user must both be free.
pub async fn bind_mfa_device(
    s: &Scope<'_>,
    serial: &str,
    user_name: &str,
    code1: &str,
    code2: &str,
) -> Result<(), RamError> {
    for (field, code) in [
        ("AuthenticationCode1", code1),
        ("AuthenticationCode2", code2),
    ] {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RamError::Invalid {
                field,
                kind: "Format",
                message: format!("{field} must be 6 digits."),
            });
        }
    }
    let user = get_user(s, user_name).await?;
    let dev = device(s, serial).await?;
    if dev.user_id.is_some() {
        return Err(RamError::exists("VirtualMFADevice.User", serial));
    }
    if s.store.find_mfa_device_of_user(&user.id).await?.is_some() {
        return Err(RamError::exists("User.MFADevice", user_name));
    }
    let seed = s
        .keys
        .open(Purpose::AtRest, &mfa_context(serial), &dev.seed_sealed)?;
    let now_s = u64::try_from(s.clock.now().timestamp()).unwrap_or(0);
    let step = totp::verify_consecutive(&seed, code1, code2, now_s)
        .map_err(|_| RamError::AuthenticationCode)?;
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if !s
        .store
        .bind_mfa_device(serial, &user.id, s.clock.now_ms(), step)
        .await
        .map_err(RamError::on_conflict("User.MFADevice", user_name))?
    {
        return Err(RamError::exists("VirtualMFADevice.User", serial));
    }
    Ok(())
}

/// `UnbindMFADevice`: returns the serial number that was bound.
pub async fn unbind_mfa_device(s: &Scope<'_>, user_name: &str) -> Result<String, RamError> {
    let user = get_user(s, user_name).await?;
    s.store
        .unbind_mfa_device(&user.id)
        .await?
        .ok_or_else(|| RamError::not_found("User.MFADevice", user_name))
}

/// `GetUserMFAInfo`.
pub async fn user_mfa_device(s: &Scope<'_>, user_name: &str) -> Result<MfaDevice, RamError> {
    let user = get_user(s, user_name).await?;
    s.store
        .find_mfa_device_of_user(&user.id)
        .await?
        .ok_or_else(|| RamError::not_found("User.MFADevice", user_name))
}

/// `ListVirtualMFADevices`: each device with its bound user.
pub async fn list_virtual_mfa_devices(
    s: &Scope<'_>,
) -> Result<Vec<(MfaDevice, Option<User>)>, RamError> {
    let mut out = Vec::new();
    for d in s.store.list_mfa_devices(s.account_id).await? {
        let user = match &d.user_id {
            Some(id) => s.store.find_user_by_id(id).await?,
            None => None,
        };
        out.push((d, user));
    }
    Ok(out)
}

/// `DeleteVirtualMFADevice`: refused while bound.
pub async fn delete_virtual_mfa_device(s: &Scope<'_>, serial: &str) -> Result<(), RamError> {
    device(s, serial).await?;
    s.store.delete_mfa_device(serial).await?;
    Ok(())
}
