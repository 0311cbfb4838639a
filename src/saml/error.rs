//! SAML errors. Every failed check is its own variant with the facts an admin needs ("Audience
//! 'x' does not match 'y'"), and its own stable sub-code under Alibaba's
//! `AuthenticationFail.SAMLAssertion.*` family (see [`SamlError::code`]).

use thiserror::Error;

use crate::xmldsig::XmlDsigError;

/// Why a SAML response was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SamlError {
    /// Not base64, too large, or not well-formed XML (or refused by the strict parser).
    #[error("the SAML response is malformed: {0}")]
    Malformed(String),
    /// The root is not a SAML 2.0 `samlp:Response`.
    #[error("the document is not a SAML 2.0 Response (root element {0})")]
    NotAResponse(String),
    /// Status is not Success.
    #[error("the IdP reported status {0}, not Success")]
    Status(String),
    /// Not exactly one Assertion, where the Response holds it.
    #[error("the Response must carry exactly one Assertion as its direct child ({0})")]
    AssertionCount(String),
    /// EncryptedAssertion without a configured SP key.
    #[error("the assertion is encrypted, but no SP decryption key is configured")]
    Encrypted,
    /// The EncryptedAssertion could not be decrypted (one message for every cause: no oracle).
    #[error("the EncryptedAssertion could not be decrypted with the SP key")]
    Decryption,
    /// An encryption algorithm rambridge does not accept.
    #[error("unsupported encryption: {0}")]
    UnsupportedEncryption(String),
    /// Neither the Response nor the Assertion is signed.
    #[error("neither the Response nor the Assertion is signed")]
    Unsigned,
    /// A signature did not verify (the xmldsig reason says why).
    #[error("signature verification failed: {0}")]
    Signature(XmlDsigError),
    /// Issuer differs from the provider's entityID.
    #[error("Issuer {got:?} does not match the provider's entityID {expected:?}")]
    Issuer {
        /// In the message.
        got: String,
        /// Provider's.
        expected: String,
    },
    /// Response Destination differs from our ACS URL.
    #[error("Destination {got:?} does not match {expected:?}")]
    Destination {
        /// In the message.
        got: String,
        /// Ours.
        expected: String,
    },
    /// SubjectConfirmationData Recipient differs from our ACS URL.
    #[error("Recipient {got:?} does not match {expected:?}")]
    Recipient {
        /// In the assertion.
        got: String,
        /// Ours.
        expected: String,
    },
    /// No Audience equal to our entity ID.
    #[error("Audience {got:?} does not match {expected:?}")]
    Audience {
        /// In the assertion.
        got: String,
        /// Ours.
        expected: String,
    },
    /// Subject is missing or not exactly one NameID / one bearer SubjectConfirmation.
    #[error("the Subject is not valid: {0}")]
    Subject(String),
    /// Conditions missing or malformed.
    #[error("the Conditions are not valid: {0}")]
    Conditions(String),
    /// NotOnOrAfter passed.
    #[error("the assertion expired at {0}")]
    Expired(String),
    /// NotBefore in the future.
    #[error("the assertion is not valid before {0}")]
    NotYetValid(String),
    /// InResponseTo names no request we issued.
    #[error("InResponseTo {0:?} does not match a request this service issued")]
    InResponseTo(String),
    /// The assertion ID was accepted before.
    #[error("the assertion {0:?} was already used")]
    Replayed(String),
    /// A required attribute is missing or malformed (Role, RoleSessionName, SessionDuration).
    #[error("attribute {name}: {message}")]
    Attribute {
        /// Attribute name.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl SamlError {
    /// The stable wire code (Alibaba family, one sub-code per check).
    pub fn code(&self) -> &'static str {
        match self {
            SamlError::Malformed(_) => "AuthenticationFail.SAMLAssertion.Invalid.Malformed",
            SamlError::NotAResponse(_) => "AuthenticationFail.SAMLAssertion.Invalid.NotAResponse",
            SamlError::Status(_) => "AuthenticationFail.SAMLAssertion.Invalid.Status",
            SamlError::AssertionCount(_) => {
                "AuthenticationFail.SAMLAssertion.Invalid.AssertionCount"
            }
            SamlError::Encrypted => "AuthenticationFail.SAMLAssertion.Invalid.Encrypted",
            SamlError::Decryption => "AuthenticationFail.SAMLAssertion.Invalid.Decryption",
            SamlError::UnsupportedEncryption(_) => {
                "AuthenticationFail.SAMLAssertion.Invalid.UnsupportedEncryption"
            }
            SamlError::Unsigned => "AuthenticationFail.SAMLAssertion.Invalid.Unsigned",
            SamlError::Signature(_) => "AuthenticationFail.SAMLAssertion.Invalid.Signature",
            SamlError::Issuer { .. } => "AuthenticationFail.SAMLAssertion.Invalid.Issuer",
            SamlError::Destination { .. } => "AuthenticationFail.SAMLAssertion.Invalid.Destination",
            SamlError::Recipient { .. } => "AuthenticationFail.SAMLAssertion.Invalid.Recipient",
            SamlError::Audience { .. } => "AuthenticationFail.SAMLAssertion.Invalid.Audience",
            SamlError::Subject(_) => "AuthenticationFail.SAMLAssertion.Invalid.Subject",
            SamlError::Conditions(_) => "AuthenticationFail.SAMLAssertion.Invalid.Conditions",
            SamlError::Expired(_) => "AuthenticationFail.SAMLAssertion.Expired",
            SamlError::NotYetValid(_) => "AuthenticationFail.SAMLAssertion.NotYetValid",
            SamlError::InResponseTo(_) => "AuthenticationFail.SAMLAssertion.Invalid.InResponseTo",
            SamlError::Replayed(_) => "AuthenticationFail.SAMLAssertion.Replayed",
            SamlError::Attribute { name, .. } => match *name {
                "Role" => "AuthenticationFail.SAMLAssertion.Invalid.Role",
                "RoleSessionName" => "AuthenticationFail.SAMLAssertion.Invalid.RoleSessionName",
                _ => "AuthenticationFail.SAMLAssertion.Invalid.SessionDuration",
            },
        }
    }
}
