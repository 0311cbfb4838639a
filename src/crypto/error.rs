//! Crypto errors. Messages never carry key material or plaintext.

use thiserror::Error;

/// Errors from sealing, opening and key handling.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CryptoError {
    /// A master key was not 32 bytes of base64.
    #[error("master key must be 32 bytes encoded as base64 ({0})")]
    InvalidMasterKey(String),
    /// A sealed value was sealed under a key this keyring does not hold.
    #[error("sealed with unknown key id {key_id}")]
    UnknownKeyId {
        /// Hex of the key id found in the sealed value.
        key_id: String,
    },
    /// The sealed value is truncated, of an unknown version, or fails authentication
    /// (tampered, wrong context, or wrong key).
    #[error("sealed value is malformed or fails authentication")]
    Unseal,
    /// The system random source failed.
    #[error("random number generator failed")]
    Random,
}
