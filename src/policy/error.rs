//! The one error type of the policy parser.
//!
//! Every variant that concerns a place inside the document carries a `path`
//! such as `Statement[1].Condition.IpAddress["acs:SourceIp"][0]` (statement
//! indexes are 0-based; the document itself is called `document`), so an API
//! caller can be told exactly what to fix.

/// Why a policy document was rejected by [`crate::policy::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The document has more characters (Unicode scalar values) than allowed.
    #[error("policy document is {chars} characters long; the maximum is {max}")]
    TooLong {
        /// Length of the rejected document, in characters.
        chars: usize,
        /// The limit the caller asked for.
        max: usize,
    },

    /// The text is not well-formed JSON (message includes line and column).
    #[error("policy document is not valid JSON: {message}")]
    Syntax {
        /// The JSON parser's description of the problem.
        message: String,
    },

    /// The same key appears twice in one JSON object.
    #[error("{path}: duplicate key {key:?}")]
    DuplicateKey {
        /// Path of the object holding the duplicated key.
        path: String,
        /// The duplicated key as written.
        key: String,
    },

    /// A key that the policy grammar does not know.
    #[error("{path}: unknown key {key:?}")]
    UnknownKey {
        /// Path of the object holding the key.
        path: String,
        /// The key as written.
        key: String,
    },

    /// A construct that exists in related policy languages but that
    /// rambridge deliberately rejects (`NotResource`, `NotPrincipal`,
    /// `IfExists`, `ForAnyValue:`/`ForAllValues:`).
    #[error("{path}: {what} is not supported")]
    Unsupported {
        /// Where the construct appears.
        path: String,
        /// What it is.
        what: String,
    },

    /// A required key is absent.
    #[error("{path}: required key {key:?} is missing")]
    MissingKey {
        /// Path of the object that lacks the key.
        path: String,
        /// The missing key.
        key: String,
    },

    /// A JSON value of the wrong type.
    #[error("{path}: expected {expected}, found {found}")]
    WrongType {
        /// Where the value is.
        path: String,
        /// What the grammar wants there.
        expected: &'static str,
        /// The JSON type that was found.
        found: &'static str,
    },

    /// A value of the right JSON type whose content is not acceptable.
    #[error("{path}: {message}")]
    Invalid {
        /// Where the value is.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}
