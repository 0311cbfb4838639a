//! RAM domain errors. Each variant carries the Alibaba code suffix it maps to, so
//! `api::error` can render `EntityNotExist.User`, `DeleteConflict.User.AccessKey`, ... from one
//! table.

use thiserror::Error;

use crate::crypto::CryptoError;
use crate::policy::PolicyError;
use crate::store::StoreError;

/// Errors from the RAM domain.
#[derive(Debug, Error)]
pub enum RamError {
    /// The account alias breaks the naming rules (message says which).
    #[error("invalid account alias: {0}")]
    InvalidAccountAlias(String),
    /// Another account already uses the alias.
    #[error("account alias {0:?} is already taken")]
    AccountAliasTaken(String),
    /// A parameter value is invalid: `InvalidParameter.<field>.<kind>`.
    #[error("{message}")]
    Invalid {
        /// Parameter name (`UserName`, ...).
        field: &'static str,
        /// `InvalidChars`, `Length`, `Format`, ...
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The entity does not exist: `EntityNotExist.<entity>`.
    #[error("{message}")]
    NotFound {
        /// `User`, `User.AccessKey`, `Group`, ...
        entity: &'static str,
        /// Which one.
        message: String,
    },
    /// The entity exists already: `EntityAlreadyExists.<entity>`.
    #[error("{message}")]
    AlreadyExists {
        /// `User`, `Group`, ...
        entity: &'static str,
        /// Which one.
        message: String,
    },
    /// Still in use: `DeleteConflict.<what>`.
    #[error("{message}")]
    DeleteConflict {
        /// `User.AccessKey`, ...
        what: &'static str,
        /// What blocks it.
        message: String,
    },
    /// A limit is reached: `LimitExceeded.<what>`.
    #[error("{message}")]
    LimitExceeded {
        /// `User.AccessKey`, ...
        what: &'static str,
        /// Which limit.
        message: String,
    },
    /// A policy document does not parse or validate.
    #[error("{0}")]
    MalformedPolicy(PolicyError),
    /// A password breaks the account's password policy.
    #[error("{0}")]
    PasswordTooWeak(String),
    /// The MFA codes are wrong.
    #[error("the authentication codes are not valid for this device")]
    AuthenticationCode,
    /// Storage failure.
    #[error(transparent)]
    Store(StoreError),
    /// Sealing failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl From<StoreError> for RamError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InUse { what } => RamError::DeleteConflict {
                what,
                message: format!("The entity is still in use ({what})."),
            },
            StoreError::LimitExceeded { what } => RamError::LimitExceeded {
                what,
                message: format!("The limit is exceeded ({what})."),
            },
            other => RamError::Store(other),
        }
    }
}

impl RamError {
    /// `EntityNotExist.<entity>` with a message naming it.
    pub fn not_found(entity: &'static str, name: &str) -> RamError {
        RamError::NotFound {
            entity,
            message: format!("The {} {name:?} does not exist.", human(entity)),
        }
    }

    /// `EntityAlreadyExists.<entity>`.
    pub fn exists(entity: &'static str, name: &str) -> RamError {
        RamError::AlreadyExists {
            entity,
            message: format!("The {} {name:?} already exists.", human(entity)),
        }
    }

    /// Maps a store conflict (unique violation) to `EntityAlreadyExists.<entity>`.
    pub fn on_conflict(entity: &'static str, name: &str) -> impl FnOnce(StoreError) -> RamError {
        move |e| match e {
            StoreError::Conflict { .. } => RamError::exists(entity, name),
            other => other.into(),
        }
    }
}

fn human(entity: &str) -> String {
    match entity {
        "User.AccessKey" => "access key".into(),
        "User.LoginProfile" => "login profile of user".into(),
        "User.MFADevice" => "MFA device of user".into(),
        "User.Group" => "group membership".into(),
        "User.Policy" | "Group.Policy" | "Role.Policy" => "policy attachment".into(),
        "Policy.Version" => "policy version".into(),
        "VirtualMFADevice" => "virtual MFA device".into(),
        other => other.to_ascii_lowercase(),
    }
}
