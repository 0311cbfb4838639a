//! STS errors, each with the facts an admin needs to act on it.

use thiserror::Error;

use crate::crypto::CryptoError;
use crate::policy::PolicyError;
use crate::store::StoreError;

/// Why a SecurityToken is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token this service issued, tampered, or sealed under a key it does not hold.
    #[error("the security token is malformed: {0}")]
    Malformed(String),
    /// Past its expiration.
    #[error("the security token expired at {0}")]
    Expired(String),
    /// Issued for another AccessKeyId.
    #[error("the security token does not belong to AccessKeyId {0}")]
    Mismatch(String),
    /// Voided: the role was deleted, or its sessions were revoked after this one was issued.
    #[error("the security token was revoked: {0}")]
    Revoked(String),
}

/// Errors from STS operations.
#[derive(Debug, Error)]
pub enum StsError {
    /// `RoleArn` is not `acs:ram::<16 digits>:role/<name>`.
    #[error("RoleArn {0:?} is not of the form acs:ram::<account id>:role/<role name>")]
    InvalidRoleArn(String),
    /// `RoleSessionName` breaks the rules.
    #[error("RoleSessionName must be 2 to 64 characters of letters, digits and . @ _ -")]
    InvalidSessionName,
    /// `DurationSeconds` is out of range.
    #[error("DurationSeconds must be from {min} to {max} seconds{why}")]
    InvalidDuration {
        /// Minimum.
        min: i64,
        /// Maximum for this role and caller.
        max: i64,
        /// Extra explanation (role chaining).
        why: &'static str,
    },
    /// The session policy is longer than allowed.
    #[error("the session policy is longer than {0} characters")]
    PolicySize(usize),
    /// The session policy does not parse.
    #[error("the session policy is not valid: {0}")]
    PolicyGrammar(PolicyError),
    /// `ExternalId` breaks the rules.
    #[error("ExternalId must be 2 to 1224 characters of letters, digits and + = , . @ : / - _")]
    InvalidExternalId,
    /// No such role.
    #[error("the role {0} does not exist")]
    RoleNotFound(String),
    /// The role's trust policy does not allow this caller.
    #[error(
        "you are not allowed to assume the role {role}: its trust policy does not allow {caller}"
    )]
    NotTrusted {
        /// Role ARN.
        role: String,
        /// Caller ARN.
        caller: String,
    },
    /// A token problem.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}
