//! SAML 2.0 federation: IdP metadata import, Response/Assertion validation, SP metadata, and the
//! role mapping of Alibaba's role-based SSO (spec §8.1).
//!
//! Flow (DESIGN.md): `xmldsig::verify_element` with trust anchors only from the provider's
//! stored metadata → the verified view → [`response::validate_response`] reads only from it →
//! the caller checks replay and InResponseTo in the store → role mapping and trust policy →
//! `sts` mints credentials, or `web` opens a console session.

pub mod ecp;
pub mod encryption;
pub mod error;
pub mod metadata;
pub mod offered;
pub mod peek;
pub mod providers;
pub mod refresh;
pub mod response;
pub mod sp;
pub mod test_idp;
pub mod user_sso;

pub use error::SamlError;
pub use response::{Expectations, VerifiedAssertion, validate_response};

/// Role attribute of Alibaba role-based SSO: values `<RoleArn>,<SAMLProviderArn>`.
pub const ROLE_ATTRIBUTE: &str = "https://www.aliyun.com/SAML-Role/Attributes/Role";
/// Session name attribute (exactly one value).
pub const ROLE_SESSION_NAME_ATTRIBUTE: &str =
    "https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName";
/// Session duration attribute (at most one value, seconds).
pub const SESSION_DURATION_ATTRIBUTE: &str =
    "https://www.aliyun.com/SAML-Role/Attributes/SessionDuration";
