//! RAM domain errors.

use thiserror::Error;

use crate::crypto::CryptoError;
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
    /// Storage failure.
    #[error(transparent)]
    Store(StoreError),
    /// Sealing failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl From<StoreError> for RamError {
    fn from(e: StoreError) -> Self {
        RamError::Store(e)
    }
}
