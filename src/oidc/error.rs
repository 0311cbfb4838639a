//! OIDC errors. Every failed check is its own variant carrying the facts an administrator needs
//! ("aud [\"x\"] contains none of the ClientIds [\"a\"]"), and its own stable wire code under
//! Alibaba's `AuthenticationFail.OIDCToken.*` family (spec §3.3; see [`OidcError::code`]). Where
//! Alibaba has a code for the check it is used as is; finer distinctions add a sub-code, as the
//! SAML codes do, so a client matching the Alibaba prefix still matches.

use thiserror::Error;

/// Why an OIDC token, or the keys to check it with, was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OidcError {
    /// Not a compact JWS: empty, too long, not three parts, bad base64url, not a JSON object.
    #[error("the OIDC token is malformed: {0}")]
    Malformed(String),
    /// `alg` is `none`, HMAC, unknown, or the header marks extensions as critical.
    #[error("the OIDC token's algorithm is refused: {0}")]
    Algorithm(String),
    /// A required claim is missing or has the wrong type.
    #[error("the OIDC token's claim {claim} is not valid: {message}")]
    Claim {
        /// Claim name.
        claim: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No key of the issuer's JWKS has the token's `kid` (also after a refresh of the JWKS).
    #[error(
        "the issuer's JWKS has no key {kid} (keys: {available}); the token was not signed by \
         this issuer, or the issuer rotated keys and publishes the new key under another kid"
    )]
    UnknownKey {
        /// The token's `kid`, quoted, or "without kid".
        kid: String,
        /// The kids in the JWKS.
        available: String,
    },
    /// The key named by the token cannot check it (type, curve, `alg` or `use` differ, or the
    /// key itself is unusable).
    #[error("the issuer's key cannot verify this token: {0}")]
    KeyMismatch(String),
    /// The signature does not verify.
    #[error("the OIDC token's signature does not verify with the issuer's key {0}")]
    Signature(String),
    /// `iss` differs from the provider's IssuerUrl.
    #[error("the token's iss {got:?} does not match the provider's IssuerUrl {expected:?}")]
    Issuer {
        /// In the token.
        got: String,
        /// The provider's.
        expected: String,
    },
    /// No `aud` value is one of the provider's ClientIds.
    #[error(
        "the token's aud {got:?} contains none of the provider's ClientIds {expected:?}; register \
         the client with AddClientIdToOIDCProvider or request the token for a registered client"
    )]
    Audience {
        /// In the token.
        got: Vec<String>,
        /// The provider's.
        expected: Vec<String>,
    },
    /// `exp` has passed (beyond the allowed clock skew).
    #[error("the OIDC token expired at {exp} (now {now}, clock skew allowed {skew_seconds} s)")]
    Expired {
        /// `exp`, ISO 8601.
        exp: String,
        /// Server time, ISO 8601.
        now: String,
        /// Allowed skew.
        skew_seconds: i64,
    },
    /// `nbf` is in the future (beyond the allowed clock skew).
    #[error(
        "the OIDC token is not valid before {nbf} (now {now}, clock skew allowed {skew_seconds} s)"
    )]
    NotYetValid {
        /// `nbf`, ISO 8601.
        nbf: String,
        /// Server time, ISO 8601.
        now: String,
        /// Allowed skew.
        skew_seconds: i64,
    },
    /// `iat` is in the future (beyond the allowed clock skew).
    #[error(
        "the OIDC token claims to be issued at {iat}, in the future (now {now}, clock skew \
         allowed {skew_seconds} s); check the issuer's clock"
    )]
    IssuedInFuture {
        /// `iat`, ISO 8601.
        iat: String,
        /// Server time, ISO 8601.
        now: String,
        /// Allowed skew.
        skew_seconds: i64,
    },
    /// `iat` is older than the provider's IssuanceLimitTime.
    #[error(
        "the OIDC token was issued at {iat}, more than the provider's IssuanceLimitTime of \
         {limit_hours} h ago (now {now}); get a fresh token"
    )]
    TooOld {
        /// `iat`, ISO 8601.
        iat: String,
        /// Server time, ISO 8601.
        now: String,
        /// IssuanceLimitTime.
        limit_hours: i64,
    },
    /// The `nonce` differs from the one the sign-in sent (browser sign-in).
    #[error("the ID token's nonce does not match the sign-in request")]
    Nonce,
    /// The issuer's TLS certificate chain is not pinned by a registered fingerprint (or, with
    /// system roots enabled, not valid under them either).
    #[error("the issuer's HTTPS certificate was refused: {0}")]
    Tls(String),
    /// The discovery document or JWKS could not be fetched or was refused.
    #[error("the issuer's keys could not be loaded: {0}")]
    Discovery(String),
}

impl OidcError {
    /// The stable wire code (Alibaba family, one code per check).
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::Malformed(_) => "AuthenticationFail.OIDCToken.Invalid",
            OidcError::Algorithm(_) => "AuthenticationFail.OIDCToken.Invalid.Algorithm",
            OidcError::Claim { .. } => "AuthenticationFail.OIDCToken.Invalid.Claim",
            OidcError::UnknownKey { .. } => {
                "AuthenticationFail.OIDCToken.InvalidSignature.UnknownKey"
            }
            OidcError::KeyMismatch(_) => {
                "AuthenticationFail.OIDCToken.InvalidSignature.KeyMismatch"
            }
            OidcError::Signature(_) => "AuthenticationFail.OIDCToken.InvalidSignature",
            OidcError::Issuer { .. } => "AuthenticationFail.OIDCToken.IssuerNotMatch",
            OidcError::Audience { .. } => "AuthenticationFail.OIDCToken.AudienceNotMatch",
            OidcError::Expired { .. } => "AuthenticationFail.OIDCToken.Expired",
            OidcError::NotYetValid { .. } => "AuthenticationFail.OIDCToken.NotYetValid",
            OidcError::IssuedInFuture { .. } => {
                "AuthenticationFail.OIDCToken.IssuedTimeInvalid.Future"
            }
            OidcError::TooOld { .. } => "AuthenticationFail.OIDCToken.IssuedTimeInvalid",
            OidcError::Nonce => "AuthenticationFail.OIDCToken.Invalid.Nonce",
            OidcError::Tls(_) => "AuthenticationFail.OIDCToken.HttpsUrlInvalid",
            OidcError::Discovery(_) => "AuthenticationFail.OIDCToken.HttpsUrlInvalid.Discovery",
        }
    }
}
