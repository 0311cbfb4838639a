//! Who is calling: the authenticated identity every API decision is made for (DESIGN.md "How a
//! request flows", step 2).

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The account root, signing with the account's root AccessKey.
    Root {
        /// 16-digit account id.
        account_id: String,
    },
    /// A role session, signing with temporary credentials (STS).
    RoleSession {
        /// The role's account.
        account_id: String,
        /// Role id.
        role_id: String,
        /// Role name.
        role_name: String,
        /// RoleSessionName.
        session_name: String,
        /// Session policy narrowing the role's permissions.
        session_policy: Option<String>,
        /// Issued to a role session.
        chained: bool,
    },
    /// A RAM user, signing with one of its AccessKeys.
    User {
        /// Owning account.
        account_id: String,
        /// User id.
        user_id: String,
        /// `UserName`.
        user_name: String,
    },
}

impl Principal {
    /// The account the principal belongs to.
    pub fn account_id(&self) -> &str {
        match self {
            Principal::Root { account_id }
            | Principal::User { account_id, .. }
            | Principal::RoleSession { account_id, .. } => account_id,
        }
    }

    /// The principal's ARN (spec §7).
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { account_id } => format!("acs:ram::{account_id}:root"),
            Principal::User {
                account_id,
                user_name,
                ..
            } => format!("acs:ram::{account_id}:user/{user_name}"),
            Principal::RoleSession {
                account_id,
                role_name,
                session_name,
                ..
            } => format!("acs:ram::{account_id}:assumed-role/{role_name}/{session_name}"),
        }
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Identity.
    pub principal: Principal,
    /// The AccessKeyId that signed the request.
    pub access_key_id: String,
}
