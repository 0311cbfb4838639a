//! RAM entities in the store: users, groups and memberships, user AccessKeys, login profiles,
//! password policies, virtual MFA devices, roles, custom policies with versions, and policy
//! attachments. Names are unique per account (constraints); memberships, keys, profiles and
//! devices reference users by id with foreign keys, so a user with dependents cannot be deleted
//! by any interleaving. Deletes that must refuse while something still uses the entity report
//! [`StoreError::InUse`] naming the dependent (`User.AccessKey`, `Group.User`, ...), checked in the
//! deleting transaction.

use super::error::on_unique;
use super::{AccessKeyRecord, KeyStatus, Store, StoreError};

/// A RAM user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// 16-digit id.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// `UserName`, unique in the account.
    pub name: String,
    /// `DisplayName`.
    pub display_name: String,
    /// `MobilePhone`.
    pub mobile_phone: String,
    /// `Email`.
    pub email: String,
    /// `Comments`.
    pub comments: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Epoch ms of the last sign-in, if any.
    pub last_login_at: Option<i64>,
}

type UserRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
);

fn user_from(r: UserRow) -> User {
    User {
        id: r.0,
        account_id: r.1,
        name: r.2,
        display_name: r.3,
        mobile_phone: r.4,
        email: r.5,
        comments: r.6,
        created_at: r.7,
        updated_at: r.8,
        last_login_at: r.9,
    }
}

const USER_COLUMNS: &str = "id, account_id, name, display_name, mobile_phone, email, comments, \
                            created_at, updated_at, last_login_at";

/// A RAM group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Id.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// `GroupName`.
    pub name: String,
    /// `Comments`.
    pub comments: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

type GroupRow = (String, String, String, String, i64, i64);

/// A user row followed by the membership's join time.
type MemberRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
);

fn group_from(r: GroupRow) -> Group {
    Group {
        id: r.0,
        account_id: r.1,
        name: r.2,
        comments: r.3,
        created_at: r.4,
        updated_at: r.5,
    }
}

/// A login profile (console password).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginProfile {
    /// Owner.
    pub user_id: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// `PasswordResetRequired`.
    pub password_reset_required: bool,
    /// `MFABindRequired`.
    pub mfa_bind_required: bool,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

/// A virtual MFA device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaDevice {
    /// `acs:ram::<account>:mfa/<name>`.
    pub serial_number: String,
    /// Owning account.
    pub account_id: String,
    /// `VirtualMFADeviceName`.
    pub name: String,
    /// Sealed TOTP seed.
    pub seed_sealed: Vec<u8>,
    /// Bound user, if any.
    pub user_id: Option<String>,
    /// Epoch ms of binding.
    pub activated_at: Option<i64>,
    /// Last accepted TOTP step (replay guard).
    pub last_step: Option<i64>,
    /// Epoch ms.
    pub created_at: i64,
}

type MfaRow = (
    String,
    String,
    String,
    Vec<u8>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
);

fn mfa_from(r: MfaRow) -> MfaDevice {
    MfaDevice {
        serial_number: r.0,
        account_id: r.1,
        name: r.2,
        seed_sealed: r.3,
        user_id: r.4,
        activated_at: r.5,
        last_step: r.6,
        created_at: r.7,
    }
}

const MFA_COLUMNS: &str =
    "serial_number, account_id, name, seed_sealed, user_id, activated_at, last_step, created_at";

/// A RAM role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// Numeric id.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// `RoleName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `AssumeRolePolicyDocument` (validated JSON text).
    pub trust_policy: String,
    /// `MaxSessionDuration` seconds.
    pub max_session_duration: i64,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// STS sessions issued before this epoch ms are void.
    pub sessions_valid_after: i64,
}

type RoleRow = (String, String, String, String, String, i64, i64, i64, i64);

fn role_from(r: RoleRow) -> Role {
    Role {
        id: r.0,
        account_id: r.1,
        name: r.2,
        description: r.3,
        trust_policy: r.4,
        max_session_duration: r.5,
        created_at: r.6,
        updated_at: r.7,
        sessions_valid_after: r.8,
    }
}

const ROLE_COLUMNS: &str = "id, account_id, name, description, trust_policy, \
                            max_session_duration, created_at, updated_at, sessions_valid_after";

/// A custom policy (its versions are separate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Owning account.
    pub account_id: String,
    /// `PolicyName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `DefaultVersion` (`v<N>`).
    pub default_version: String,
    /// Next version number to hand out.
    pub next_version: i64,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

type PolicyRow = (String, String, String, String, i64, i64, i64);

fn policy_from(r: PolicyRow) -> Policy {
    Policy {
        account_id: r.0,
        name: r.1,
        description: r.2,
        default_version: r.3,
        next_version: r.4,
        created_at: r.5,
        updated_at: r.6,
    }
}

const POLICY_COLUMNS: &str =
    "account_id, name, description, default_version, next_version, created_at, updated_at";

/// One version of a custom policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersion {
    /// `v<N>`.
    pub version_id: String,
    /// Document text.
    pub document: String,
    /// Epoch ms.
    pub created_at: i64,
}

/// A version to add to a custom policy.
#[derive(Clone, Copy, Debug)]
pub struct NewPolicyVersion<'a> {
    /// Document text (validated by the caller).
    pub document: &'a str,
    /// Make it the default version.
    pub set_default: bool,
    /// At the limit, delete the oldest non-default version instead of failing.
    pub rotate: bool,
    /// Versions a policy may hold.
    pub max_versions: i64,
    /// Creation time, epoch ms.
    pub now_ms: i64,
}

/// Which kind of principal a policy is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalType {
    /// RAM user.
    User,
    /// RAM group.
    Group,
    /// RAM role.
    Role,
}

impl PrincipalType {
    /// Database and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::User => "User",
            PrincipalType::Group => "Group",
            PrincipalType::Role => "Role",
        }
    }
}

/// An attachment of a policy to a principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Owning account.
    pub account_id: String,
    /// `System` or `Custom`.
    pub policy_type: String,
    /// Policy name.
    pub policy_name: String,
    /// Principal kind.
    pub principal_type: String,
    /// Principal id.
    pub principal_id: String,
    /// Epoch ms.
    pub attached_at: i64,
}

/// A policy that applies to a principal, with the custom policy's default document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectivePolicy {
    /// `System` or `Custom`.
    pub policy_type: String,
    /// Policy name.
    pub policy_name: String,
    /// Default version document (custom policies only).
    pub document: Option<String>,
}

/// A page of results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// Items.
    pub items: Vec<T>,
    /// Name to continue after, when more remain.
    pub next_after: Option<String>,
}

pub(super) fn page<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
    if items.len() > limit {
        items.truncate(limit);
        let next_after = items.last().map(key);
        Page { items, next_after }
    } else {
        Page {
            items,
            next_after: None,
        }
    }
}

pub(super) fn limit_plus_one(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(1000).saturating_add(1)
}

/// Counts rows of `sql` (a `SELECT COUNT(*)` with one `$1` bind) inside a transaction.
macro_rules! count_in {
    ($tx:expr, $sql:expr, $($bind:expr),+) => {{
        let (n,): (i64,) = sqlx::query_as($sql)$(.bind($bind))+.fetch_one(&mut *$tx).await?;
        n
    }};
}

impl Store {
    // ---- users ---------------------------------------------------------------------------

    /// Inserts a user; a taken name is [`StoreError::Conflict`].
    pub async fn create_user(&self, u: &User) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO users (id, account_id, name, display_name, mobile_phone, email, \
                 comments, created_at, updated_at, last_login_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&u.id).bind(&u.account_id).bind(&u.name).bind(&u.display_name)
            .bind(&u.mobile_phone).bind(&u.email).bind(&u.comments)
            .bind(u.created_at).bind(u.updated_at).bind(u.last_login_at)
            .execute(pool)
            .await
            .map_err(|e| on_unique(e, "user"))?;
        });
        Ok(())
    }

    /// The user with this name in the account.
    pub async fn find_user(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 AND name = $2");
        let row: Option<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(name).fetch_optional(pool).await?
        });
        Ok(row.map(user_from))
    }

    /// The user with this id.
    pub async fn find_user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(user_from))
    }

    /// Replaces a user's mutable fields (matched by id); a rename onto a taken name conflicts.
    pub async fn update_user(&self, u: &User) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE users SET name = $1, display_name = $2, mobile_phone = $3, email = $4, \
                 comments = $5, updated_at = $6 WHERE id = $7",
            )
            .bind(&u.name).bind(&u.display_name).bind(&u.mobile_phone).bind(&u.email)
            .bind(&u.comments).bind(u.updated_at).bind(&u.id)
            .execute(pool)
            .await
            .map_err(|e| on_unique(e, "user"))?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Deletes a user that nothing depends on; otherwise [`StoreError::InUse`] naming the first
    /// dependent (groups, AccessKeys, login profile, MFA device, policies).
    pub async fn delete_user(&self, user_id: &str) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (what, sql) in [
                ("User.Group", "SELECT COUNT(*) FROM group_members WHERE user_id = $1"),
                ("User.AccessKey", "SELECT COUNT(*) FROM access_keys WHERE user_id = $1"),
                ("User.LoginProfile", "SELECT COUNT(*) FROM login_profiles WHERE user_id = $1"),
                ("User.MFADevice", "SELECT COUNT(*) FROM mfa_devices WHERE user_id = $1"),
                ("User.Policy", "SELECT COUNT(*) FROM policy_attachments WHERE principal_type = 'User' AND principal_id = $1"),
            ] {
                if count_in!(tx, sql, user_id) > 0 {
                    return Err(StoreError::InUse { what });
                }
            }
            let n = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| on_foreign_key(e, "User.Group"))?
                .rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// Users of the account ordered by name, after `after`, at most `limit`.
    pub async fn list_users(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 AND name > $2 \
             ORDER BY name LIMIT $3"
        );
        let rows: Vec<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(after.unwrap_or("")).bind(limit_plus_one(limit))
                .fetch_all(pool).await?
        });
        Ok(page(
            rows.into_iter().map(user_from).collect(),
            limit,
            |u| u.name.clone(),
        ))
    }

    /// Records a sign-in time.
    pub async fn touch_user_login(&self, user_id: &str, at_ms: i64) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
                .bind(at_ms).bind(user_id).execute(pool).await?;
        });
        Ok(())
    }

    // ---- user AccessKeys -----------------------------------------------------------------

    /// Adds an AccessKey to a user unless the user already has `max` keys (then
    /// [`StoreError::LimitExceeded`]).
    pub async fn create_user_access_key(
        &self,
        key: &AccessKeyRecord,
        max: i64,
    ) -> Result<(), StoreError> {
        let _changed = self.changed();
        let user_id = key.user_id.clone().unwrap_or_default();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if count_in!(tx, "SELECT COUNT(*) FROM access_keys WHERE user_id = $1", &user_id) >= max {
                return Err(StoreError::LimitExceeded { what: "User.AccessKey" });
            }
            sqlx::query(
                "INSERT INTO access_keys \
                 (id, account_id, user_id, status, secret_sealed, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&key.id).bind(&key.account_id).bind(&key.user_id).bind(key.status.as_str())
            .bind(&key.secret_sealed).bind(key.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| on_unique(e, "access key id"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// A user's AccessKeys, oldest first.
    pub async fn list_user_access_keys(
        &self,
        user_id: &str,
    ) -> Result<Vec<AccessKeyRecord>, StoreError> {
        let rows: Vec<super::AccessKeyRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, account_id, user_id, status, secret_sealed, created_at \
                 FROM access_keys WHERE user_id = $1 ORDER BY created_at, id",
            )
            .bind(user_id).fetch_all(pool).await?
        });
        rows.into_iter().map(super::access_key_from_row).collect()
    }

    /// Deletes one of a user's AccessKeys; false when the user has no such key.
    pub async fn delete_user_access_key(
        &self,
        user_id: &str,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM access_keys WHERE id = $1 AND user_id = $2")
                .bind(key_id).bind(user_id).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Sets the status of one of a user's AccessKeys; false when the user has no such key.
    pub async fn update_user_access_key(
        &self,
        user_id: &str,
        key_id: &str,
        status: KeyStatus,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query("UPDATE access_keys SET status = $1, updated_at = $2 WHERE id = $3 AND user_id = $4")
                .bind(status.as_str()).bind(now_ms).bind(key_id).bind(user_id)
                .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    // ---- groups --------------------------------------------------------------------------

    /// Inserts a group; a taken name conflicts.
    pub async fn create_group(&self, g: &Group) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO ram_groups (id, account_id, name, comments, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&g.id).bind(&g.account_id).bind(&g.name).bind(&g.comments)
            .bind(g.created_at).bind(g.updated_at)
            .execute(pool).await.map_err(|e| on_unique(e, "group"))?;
        });
        Ok(())
    }

    /// The group with this name in the account.
    pub async fn find_group(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<Group>, StoreError> {
        let row: Option<GroupRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, account_id, name, comments, created_at, updated_at \
                 FROM ram_groups WHERE account_id = $1 AND name = $2",
            )
            .bind(account_id).bind(name).fetch_optional(pool).await?
        });
        Ok(row.map(group_from))
    }

    /// The group with this id.
    pub async fn find_group_by_id(&self, id: &str) -> Result<Option<Group>, StoreError> {
        let row: Option<GroupRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, account_id, name, comments, created_at, updated_at FROM ram_groups WHERE id = $1",
            )
            .bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(group_from))
    }

    /// Replaces a group's name and comments (matched by id).
    pub async fn update_group(&self, g: &Group) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query("UPDATE ram_groups SET name = $1, comments = $2, updated_at = $3 WHERE id = $4")
                .bind(&g.name).bind(&g.comments).bind(g.updated_at).bind(&g.id)
                .execute(pool).await.map_err(|e| on_unique(e, "group"))?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Deletes a group with no members and no policies.
    pub async fn delete_group(&self, group_id: &str) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (what, sql) in [
                ("Group.User", "SELECT COUNT(*) FROM group_members WHERE group_id = $1"),
                ("Group.Policy", "SELECT COUNT(*) FROM policy_attachments WHERE principal_type = 'Group' AND principal_id = $1"),
            ] {
                if count_in!(tx, sql, group_id) > 0 {
                    return Err(StoreError::InUse { what });
                }
            }
            let n = sqlx::query("DELETE FROM ram_groups WHERE id = $1")
                .bind(group_id).execute(&mut *tx).await
                .map_err(|e| on_foreign_key(e, "Group.User"))?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// Groups of the account by name, paged.
    pub async fn list_groups(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Group>, StoreError> {
        let rows: Vec<GroupRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, account_id, name, comments, created_at, updated_at FROM ram_groups \
                 WHERE account_id = $1 AND name > $2 ORDER BY name LIMIT $3",
            )
            .bind(account_id).bind(after.unwrap_or("")).bind(limit_plus_one(limit))
            .fetch_all(pool).await?
        });
        Ok(page(
            rows.into_iter().map(group_from).collect(),
            limit,
            |g| g.name.clone(),
        ))
    }

    /// Adds a member; already a member conflicts; a user in `max_groups` groups is
    /// [`StoreError::LimitExceeded`].
    pub async fn add_group_member(
        &self,
        group_id: &str,
        user_id: &str,
        now_ms: i64,
        max_groups: i64,
    ) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if count_in!(tx, "SELECT COUNT(*) FROM group_members WHERE user_id = $1", user_id) >= max_groups {
                return Err(StoreError::LimitExceeded { what: "User.Group" });
            }
            sqlx::query("INSERT INTO group_members (group_id, user_id, joined_at) VALUES ($1, $2, $3)")
                .bind(group_id).bind(user_id).bind(now_ms)
                .execute(&mut *tx).await.map_err(|e| on_unique(e, "group member"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes a member; false when not a member.
    pub async fn remove_group_member(
        &self,
        group_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(group_id).bind(user_id).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// The groups a user belongs to, with join times.
    pub async fn list_groups_for_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(Group, i64)>, StoreError> {
        let rows: Vec<(String, String, String, String, i64, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT g.id, g.account_id, g.name, g.comments, g.created_at, g.updated_at, m.joined_at \
                 FROM group_members m JOIN ram_groups g ON g.id = m.group_id \
                 WHERE m.user_id = $1 ORDER BY g.name",
            )
            .bind(user_id).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| (group_from((r.0, r.1, r.2, r.3, r.4, r.5)), r.6))
            .collect())
    }

    /// A group's members by user name, with join times, paged.
    pub async fn list_users_for_group(
        &self,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<(User, i64)>, StoreError> {
        let sql = format!(
            "SELECT {}, m.joined_at FROM group_members m JOIN users u ON u.id = m.user_id \
             WHERE m.group_id = $1 AND u.name > $2 ORDER BY u.name LIMIT $3",
            USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows: Vec<MemberRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(group_id).bind(after.unwrap_or("")).bind(limit_plus_one(limit))
                .fetch_all(pool).await?
        });
        let items = rows
            .into_iter()
            .map(|r| {
                (
                    user_from((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9)),
                    r.10,
                )
            })
            .collect();
        Ok(page(items, limit, |(u, _)| u.name.clone()))
    }

    // ---- login profiles and password policy ----------------------------------------------

    /// Creates a login profile; one per user.
    pub async fn create_login_profile(&self, p: &LoginProfile) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO login_profiles (user_id, password_hash, password_reset_required, \
                 mfa_bind_required, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&p.user_id).bind(&p.password_hash).bind(p.password_reset_required)
            .bind(p.mfa_bind_required).bind(p.created_at).bind(p.updated_at)
            .execute(pool).await.map_err(|e| on_unique(e, "login profile"))?;
        });
        Ok(())
    }

    /// A user's login profile.
    pub async fn find_login_profile(
        &self,
        user_id: &str,
    ) -> Result<Option<LoginProfile>, StoreError> {
        let row: Option<(String, String, bool, bool, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT user_id, password_hash, password_reset_required, mfa_bind_required, \
                 created_at, updated_at FROM login_profiles WHERE user_id = $1",
            )
            .bind(user_id).fetch_optional(pool).await?
        });
        Ok(row.map(|r| LoginProfile {
            user_id: r.0,
            password_hash: r.1,
            password_reset_required: r.2,
            mfa_bind_required: r.3,
            created_at: r.4,
            updated_at: r.5,
        }))
    }

    /// Replaces a login profile's fields.
    pub async fn update_login_profile(&self, p: &LoginProfile) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE login_profiles SET password_hash = $1, password_reset_required = $2, \
                 mfa_bind_required = $3, updated_at = $4 WHERE user_id = $5",
            )
            .bind(&p.password_hash).bind(p.password_reset_required).bind(p.mfa_bind_required)
            .bind(p.updated_at).bind(&p.user_id)
            .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Deletes a login profile.
    pub async fn delete_login_profile(&self, user_id: &str) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM login_profiles WHERE user_id = $1")
                .bind(user_id).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// The account's password policy as JSON text, if set.
    pub async fn find_password_policy(
        &self,
        account_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT policy_json FROM password_policies WHERE account_id = $1")
                .bind(account_id).fetch_optional(pool).await?
        });
        Ok(row.map(|r| r.0))
    }

    /// Stores the account's password policy.
    pub async fn save_password_policy(
        &self,
        account_id: &str,
        json: &str,
    ) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO password_policies (account_id, policy_json) VALUES ($1, $2) \
                 ON CONFLICT (account_id) DO UPDATE SET policy_json = excluded.policy_json",
            )
            .bind(account_id).bind(json).execute(pool).await?;
        });
        Ok(())
    }

    // ---- virtual MFA devices -------------------------------------------------------------

    /// Creates an unbound device; a taken name conflicts.
    pub async fn create_mfa_device(&self, d: &MfaDevice) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO mfa_devices (serial_number, account_id, name, seed_sealed, user_id, \
                 activated_at, last_step, created_at) VALUES ($1, $2, $3, $4, NULL, NULL, NULL, $5)",
            )
            .bind(&d.serial_number).bind(&d.account_id).bind(&d.name).bind(&d.seed_sealed)
            .bind(d.created_at)
            .execute(pool).await.map_err(|e| on_unique(e, "virtual MFA device"))?;
        });
        Ok(())
    }

    /// A device by serial number.
    pub async fn find_mfa_device(&self, serial: &str) -> Result<Option<MfaDevice>, StoreError> {
        let sql = format!("SELECT {MFA_COLUMNS} FROM mfa_devices WHERE serial_number = $1");
        let row: Option<MfaRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(serial).fetch_optional(pool).await?
        });
        Ok(row.map(mfa_from))
    }

    /// The device bound to a user.
    pub async fn find_mfa_device_of_user(
        &self,
        user_id: &str,
    ) -> Result<Option<MfaDevice>, StoreError> {
        let sql = format!("SELECT {MFA_COLUMNS} FROM mfa_devices WHERE user_id = $1");
        let row: Option<MfaRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(user_id).fetch_optional(pool).await?
        });
        Ok(row.map(mfa_from))
    }

    /// Every device of the account, by name.
    pub async fn list_mfa_devices(&self, account_id: &str) -> Result<Vec<MfaDevice>, StoreError> {
        let sql =
            format!("SELECT {MFA_COLUMNS} FROM mfa_devices WHERE account_id = $1 ORDER BY name");
        let rows: Vec<MfaRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(mfa_from).collect())
    }

    /// Binds an unbound device to a user with no device; the user already having one is a
    /// conflict; false when the device is bound already.
    pub async fn bind_mfa_device(
        &self,
        serial: &str,
        user_id: &str,
        now_ms: i64,
        step: i64,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE mfa_devices SET user_id = $1, activated_at = $2, last_step = $3 \
                 WHERE serial_number = $4 AND user_id IS NULL",
            )
            .bind(user_id).bind(now_ms).bind(step).bind(serial)
            .execute(pool).await.map_err(|e| on_unique(e, "user MFA device"))?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Unbinds the user's device; returns its serial number.
    pub async fn unbind_mfa_device(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        let _changed = self.changed();
        let serial = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(String,)> = sqlx::query_as("SELECT serial_number FROM mfa_devices WHERE user_id = $1")
                .bind(user_id).fetch_optional(&mut *tx).await?;
            if let Some((serial,)) = &row {
                sqlx::query("UPDATE mfa_devices SET user_id = NULL, activated_at = NULL, last_step = NULL WHERE serial_number = $1")
                    .bind(serial).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            row.map(|r| r.0)
        });
        Ok(serial)
    }

    /// Records a TOTP step as used if it is newer than the last one; false means replay.
    pub async fn advance_mfa_step(&self, serial: &str, step: i64) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE mfa_devices SET last_step = $1 WHERE serial_number = $2 \
                 AND (last_step IS NULL OR last_step < $1)",
            )
            .bind(step).bind(serial).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Deletes an unbound device; a bound one is `InUse(VirtualMFADevice.User)`.
    pub async fn delete_mfa_device(&self, serial: &str) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let bound = count_in!(tx, "SELECT COUNT(*) FROM mfa_devices WHERE serial_number = $1 AND user_id IS NOT NULL", serial);
            if bound > 0 {
                return Err(StoreError::InUse { what: "VirtualMFADevice.User" });
            }
            let n = sqlx::query("DELETE FROM mfa_devices WHERE serial_number = $1")
                .bind(serial).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    // ---- roles ---------------------------------------------------------------------------

    /// Inserts a role; a taken name conflicts.
    pub async fn create_role(&self, r: &Role) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO roles (id, account_id, name, description, trust_policy, \
                 max_session_duration, created_at, updated_at, sessions_valid_after) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&r.id).bind(&r.account_id).bind(&r.name).bind(&r.description)
            .bind(&r.trust_policy).bind(r.max_session_duration).bind(r.created_at)
            .bind(r.updated_at).bind(r.sessions_valid_after)
            .execute(pool).await.map_err(|e| on_unique(e, "role"))?;
        });
        Ok(())
    }

    /// The role with this name in the account.
    pub async fn find_role(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<Role>, StoreError> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles WHERE account_id = $1 AND name = $2");
        let row: Option<RoleRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(name).fetch_optional(pool).await?
        });
        Ok(row.map(role_from))
    }

    /// The role with this id.
    pub async fn find_role_by_id(&self, id: &str) -> Result<Option<Role>, StoreError> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles WHERE id = $1");
        let row: Option<RoleRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(role_from))
    }

    /// Replaces a role's mutable fields (matched by id).
    pub async fn update_role(&self, r: &Role) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE roles SET description = $1, trust_policy = $2, max_session_duration = $3, \
                 updated_at = $4, sessions_valid_after = $5 WHERE id = $6",
            )
            .bind(&r.description).bind(&r.trust_policy).bind(r.max_session_duration)
            .bind(r.updated_at).bind(r.sessions_valid_after).bind(&r.id)
            .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Deletes a role with no attached policies.
    pub async fn delete_role(&self, role_id: &str) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if count_in!(tx, "SELECT COUNT(*) FROM policy_attachments WHERE principal_type = 'Role' AND principal_id = $1", role_id) > 0 {
                return Err(StoreError::InUse { what: "Role.Policy" });
            }
            let n = sqlx::query("DELETE FROM roles WHERE id = $1")
                .bind(role_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// Roles of the account by name, paged.
    pub async fn list_roles(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Role>, StoreError> {
        let sql = format!(
            "SELECT {ROLE_COLUMNS} FROM roles WHERE account_id = $1 AND name > $2 ORDER BY name LIMIT $3"
        );
        let rows: Vec<RoleRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(after.unwrap_or("")).bind(limit_plus_one(limit))
                .fetch_all(pool).await?
        });
        Ok(page(
            rows.into_iter().map(role_from).collect(),
            limit,
            |r| r.name.clone(),
        ))
    }

    // ---- custom policies and versions ----------------------------------------------------

    /// Creates a custom policy with its first version `v1` as default.
    pub async fn create_policy(&self, p: &Policy, document: &str) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO policies (account_id, name, description, default_version, next_version, \
                 created_at, updated_at) VALUES ($1, $2, $3, 'v1', 2, $4, $5)",
            )
            .bind(&p.account_id).bind(&p.name).bind(&p.description).bind(p.created_at).bind(p.updated_at)
            .execute(&mut *tx).await.map_err(|e| on_unique(e, "policy"))?;
            sqlx::query(
                "INSERT INTO policy_versions (account_id, policy_name, version_id, document, created_at) \
                 VALUES ($1, $2, 'v1', $3, $4)",
            )
            .bind(&p.account_id).bind(&p.name).bind(document).bind(p.created_at)
            .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// A custom policy.
    pub async fn find_policy(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<Policy>, StoreError> {
        let sql =
            format!("SELECT {POLICY_COLUMNS} FROM policies WHERE account_id = $1 AND name = $2");
        let row: Option<PolicyRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(name).fetch_optional(pool).await?
        });
        Ok(row.map(policy_from))
    }

    /// Updates a custom policy's description.
    pub async fn update_policy_description(
        &self,
        account_id: &str,
        name: &str,
        description: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query("UPDATE policies SET description = $1, updated_at = $2 WHERE account_id = $3 AND name = $4")
                .bind(description).bind(now_ms).bind(account_id).bind(name)
                .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Custom policies of the account by name.
    pub async fn list_policies(&self, account_id: &str) -> Result<Vec<Policy>, StoreError> {
        let sql =
            format!("SELECT {POLICY_COLUMNS} FROM policies WHERE account_id = $1 ORDER BY name");
        let rows: Vec<PolicyRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(policy_from).collect())
    }

    /// Deletes a custom policy that is attached nowhere. Non-default versions block the delete
    /// (`Policy.Version`) unless `cascade`.
    pub async fn delete_policy(
        &self,
        account_id: &str,
        name: &str,
        cascade: bool,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (what, kind) in [("Policy.User", "User"), ("Policy.Group", "Group"), ("Policy.Role", "Role")] {
                let n = count_in!(
                    tx,
                    "SELECT COUNT(*) FROM policy_attachments WHERE account_id = $1 AND policy_type = 'Custom' \
                     AND policy_name = $2 AND principal_type = $3",
                    account_id, name, kind
                );
                if n > 0 {
                    return Err(StoreError::InUse { what });
                }
            }
            let versions = count_in!(
                tx,
                "SELECT COUNT(*) FROM policy_versions WHERE account_id = $1 AND policy_name = $2",
                account_id, name
            );
            if versions > 1 && !cascade {
                return Err(StoreError::InUse { what: "Policy.Version" });
            }
            sqlx::query("DELETE FROM policy_versions WHERE account_id = $1 AND policy_name = $2")
                .bind(account_id).bind(name).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM policies WHERE account_id = $1 AND name = $2")
                .bind(account_id).bind(name).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// Adds a version (`v<next>`), optionally as default, keeping at most `max_versions`: with
    /// `rotate`, the oldest non-default version makes room; otherwise the limit is
    /// [`StoreError::LimitExceeded`]. Returns the new version id.
    pub async fn create_policy_version(
        &self,
        account_id: &str,
        name: &str,
        v: &NewPolicyVersion<'_>,
    ) -> Result<Option<String>, StoreError> {
        let _changed = self.changed();
        let NewPolicyVersion {
            document,
            set_default,
            rotate,
            max_versions,
            now_ms,
        } = *v;
        let version = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(String, i64)> = sqlx::query_as(
                "SELECT default_version, next_version FROM policies WHERE account_id = $1 AND name = $2",
            )
            .bind(account_id).bind(name).fetch_optional(&mut *tx).await?;
            let Some((default_version, next)) = row else {
                return Ok(None);
            };
            let count = count_in!(
                tx,
                "SELECT COUNT(*) FROM policy_versions WHERE account_id = $1 AND policy_name = $2",
                account_id, name
            );
            if count >= max_versions {
                if !rotate {
                    return Err(StoreError::LimitExceeded { what: "Policy.Version" });
                }
                let oldest: Option<(String,)> = sqlx::query_as(
                    "SELECT version_id FROM policy_versions WHERE account_id = $1 AND policy_name = $2 \
                     AND version_id <> $3 ORDER BY created_at, version_id LIMIT 1",
                )
                .bind(account_id).bind(name).bind(&default_version).fetch_optional(&mut *tx).await?;
                if let Some((oldest,)) = oldest {
                    sqlx::query("DELETE FROM policy_versions WHERE account_id = $1 AND policy_name = $2 AND version_id = $3")
                        .bind(account_id).bind(name).bind(&oldest).execute(&mut *tx).await?;
                }
            }
            let version_id = format!("v{next}");
            sqlx::query(
                "INSERT INTO policy_versions (account_id, policy_name, version_id, document, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(account_id).bind(name).bind(&version_id).bind(document).bind(now_ms)
            .execute(&mut *tx).await?;
            let new_default = if set_default { version_id.clone() } else { default_version };
            sqlx::query(
                "UPDATE policies SET next_version = $1, default_version = $2, updated_at = $3 \
                 WHERE account_id = $4 AND name = $5",
            )
            .bind(next + 1).bind(&new_default).bind(now_ms).bind(account_id).bind(name)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Some(version_id)
        });
        Ok(version)
    }

    /// One version of a custom policy.
    pub async fn find_policy_version(
        &self,
        account_id: &str,
        name: &str,
        version_id: &str,
    ) -> Result<Option<PolicyVersion>, StoreError> {
        let row: Option<(String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT version_id, document, created_at FROM policy_versions \
                 WHERE account_id = $1 AND policy_name = $2 AND version_id = $3",
            )
            .bind(account_id).bind(name).bind(version_id).fetch_optional(pool).await?
        });
        Ok(row.map(|r| PolicyVersion {
            version_id: r.0,
            document: r.1,
            created_at: r.2,
        }))
    }

    /// Every version of a custom policy, oldest first.
    pub async fn list_policy_versions(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Vec<PolicyVersion>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT version_id, document, created_at FROM policy_versions \
                 WHERE account_id = $1 AND policy_name = $2 ORDER BY created_at, version_id",
            )
            .bind(account_id).bind(name).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| PolicyVersion {
                version_id: r.0,
                document: r.1,
                created_at: r.2,
            })
            .collect())
    }

    /// Deletes a non-default version; the default one is `InUse(Policy.Version.Default)`.
    pub async fn delete_policy_version(
        &self,
        account_id: &str,
        name: &str,
        version_id: &str,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let is_default = count_in!(
                tx,
                "SELECT COUNT(*) FROM policies WHERE account_id = $1 AND name = $2 AND default_version = $3",
                account_id, name, version_id
            );
            if is_default > 0 {
                return Err(StoreError::InUse { what: "Policy.Version.Default" });
            }
            let n = sqlx::query("DELETE FROM policy_versions WHERE account_id = $1 AND policy_name = $2 AND version_id = $3")
                .bind(account_id).bind(name).bind(version_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// Makes an existing version the default; false when no such version.
    pub async fn set_default_policy_version(
        &self,
        account_id: &str,
        name: &str,
        version_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE policies SET default_version = $1, updated_at = $2 WHERE account_id = $3 AND name = $4 \
                 AND EXISTS (SELECT 1 FROM policy_versions v WHERE v.account_id = $3 AND v.policy_name = $4 AND v.version_id = $1)",
            )
            .bind(version_id).bind(now_ms).bind(account_id).bind(name)
            .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    // ---- attachments ---------------------------------------------------------------------

    /// Attaches a policy; already attached is a conflict; a principal holding `max` policies of
    /// this type is [`StoreError::LimitExceeded`].
    pub async fn attach_policy(&self, a: &Attachment, max: i64) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = count_in!(
                tx,
                "SELECT COUNT(*) FROM policy_attachments WHERE principal_type = $1 AND principal_id = $2 AND policy_type = $3",
                &a.principal_type, &a.principal_id, &a.policy_type
            );
            if n >= max {
                return Err(StoreError::LimitExceeded { what: "Policy" });
            }
            sqlx::query(
                "INSERT INTO policy_attachments (account_id, policy_type, policy_name, principal_type, \
                 principal_id, attached_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&a.account_id).bind(&a.policy_type).bind(&a.policy_name)
            .bind(&a.principal_type).bind(&a.principal_id).bind(a.attached_at)
            .execute(&mut *tx).await.map_err(|e| on_unique(e, "policy attachment"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Detaches a policy; false when not attached.
    pub async fn detach_policy(
        &self,
        policy_type: &str,
        policy_name: &str,
        principal_type: PrincipalType,
        principal_id: &str,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM policy_attachments WHERE policy_type = $1 AND policy_name = $2 \
                 AND principal_type = $3 AND principal_id = $4",
            )
            .bind(policy_type).bind(policy_name).bind(principal_type.as_str()).bind(principal_id)
            .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Policies attached directly to a principal.
    pub async fn list_attachments_for(
        &self,
        principal_type: PrincipalType,
        principal_id: &str,
    ) -> Result<Vec<Attachment>, StoreError> {
        let rows: Vec<AttachmentRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT account_id, policy_type, policy_name, principal_type, principal_id, attached_at \
                 FROM policy_attachments WHERE principal_type = $1 AND principal_id = $2 \
                 ORDER BY attached_at, policy_type, policy_name",
            )
            .bind(principal_type.as_str()).bind(principal_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(attachment_from).collect())
    }

    /// Every attachment of one policy in an account.
    pub async fn list_attachments_of_policy(
        &self,
        account_id: &str,
        policy_type: &str,
        policy_name: &str,
    ) -> Result<Vec<Attachment>, StoreError> {
        let rows: Vec<AttachmentRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT account_id, policy_type, policy_name, principal_type, principal_id, attached_at \
                 FROM policy_attachments WHERE account_id = $1 AND policy_type = $2 AND policy_name = $3 \
                 ORDER BY attached_at, principal_type, principal_id",
            )
            .bind(account_id).bind(policy_type).bind(policy_name).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(attachment_from).collect())
    }

    /// How many principals a policy is attached to.
    pub async fn count_attachments_of_policy(
        &self,
        account_id: &str,
        policy_type: &str,
        policy_name: &str,
    ) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM policy_attachments WHERE account_id = $1 AND policy_type = $2 AND policy_name = $3",
            )
            .bind(account_id).bind(policy_type).bind(policy_name).fetch_one(pool).await?
        });
        Ok(n)
    }

    /// The policies that apply to a user (its own and its groups'), with custom policies'
    /// default documents, in one query.
    pub async fn effective_policies_for_user(
        &self,
        account_id: &str,
        user_id: &str,
    ) -> Result<Vec<EffectivePolicy>, StoreError> {
        self.effective_policies(
            account_id,
            "(a.principal_type = 'User' AND a.principal_id = $2) OR (a.principal_type = 'Group' \
             AND a.principal_id IN (SELECT group_id FROM group_members WHERE user_id = $2))",
            user_id,
        )
        .await
    }

    /// The policies attached to a role, with custom policies' default documents.
    pub async fn effective_policies_for_role(
        &self,
        account_id: &str,
        role_id: &str,
    ) -> Result<Vec<EffectivePolicy>, StoreError> {
        self.effective_policies(
            account_id,
            "a.principal_type = 'Role' AND a.principal_id = $2",
            role_id,
        )
        .await
    }

    async fn effective_policies(
        &self,
        account_id: &str,
        principal_filter: &str,
        principal_id: &str,
    ) -> Result<Vec<EffectivePolicy>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT a.policy_type, a.policy_name, v.document FROM policy_attachments a \
             LEFT JOIN policies p ON a.policy_type = 'Custom' AND p.account_id = a.account_id AND p.name = a.policy_name \
             LEFT JOIN policy_versions v ON v.account_id = p.account_id AND v.policy_name = p.name \
                  AND v.version_id = p.default_version \
             WHERE a.account_id = $1 AND ({principal_filter}) ORDER BY a.policy_type, a.policy_name"
        );
        let rows: Vec<(String, String, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(principal_id).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| EffectivePolicy {
                policy_type: r.0,
                policy_name: r.1,
                document: r.2,
            })
            .collect())
    }
}

type AttachmentRow = (String, String, String, String, String, i64);

fn attachment_from(r: AttachmentRow) -> Attachment {
    Attachment {
        account_id: r.0,
        policy_type: r.1,
        policy_name: r.2,
        principal_type: r.3,
        principal_id: r.4,
        attached_at: r.5,
    }
}

/// A foreign-key violation on delete means a dependent appeared between the checks and the
/// delete; report it like the checks would.
fn on_foreign_key(err: sqlx::Error, what: &'static str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::InUse { what },
        _ => StoreError::Backend(err),
    }
}
