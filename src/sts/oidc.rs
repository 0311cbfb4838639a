//! `AssumeRoleWithOIDC` (spec §4.1, §8.3): an ID token (or Kubernetes service-account token)
//! from a provider registered in the role's own account, verified against the issuer's keys
//! ([`crate::oidc`]), the role's trust policy allowing the provider as a Federated principal
//! with `oidc:iss`, `oidc:aud` and `oidc:sub` as condition keys, then a role session.
//!
//! Order: parameters, then the provider, then the token, and only then the role: an anonymous
//! caller learns nothing about roles without a valid token. OIDC tokens are bearer tokens meant
//! to be presented repeatedly until they expire (Kubernetes projects one token for many
//! exchanges), so there is no replay cache, unlike SAML assertions.

use super::{Minted, SessionSpec, StsError, check_session_name, check_session_policy, mint};
use crate::clock::Clock;
use crate::crypto::Keyring;
use crate::oidc::providers::ProviderArn;
use crate::oidc::{OidcError, OidcVerifier, Verified, VerifiedIdToken};
use crate::policy::{self, Context, DocumentKind, MAX_TRUST_POLICY_CHARS, PrincipalRef, Request};
use crate::store::{Role, Store};

/// `AssumeRoleWithOIDC` input.
#[derive(Debug, Clone)]
pub struct OidcInput<'a> {
    /// `OIDCProviderArn`.
    pub provider_arn: &'a str,
    /// `RoleArn`.
    pub role_arn: &'a str,
    /// `OIDCToken` (compact JWS).
    pub token: &'a str,
    /// `RoleSessionName`.
    pub session_name: &'a str,
    /// `DurationSeconds`.
    pub duration: Option<&'a str>,
    /// `Policy`.
    pub policy: Option<&'a str>,
}

/// Errors of the OIDC federation path.
#[derive(Debug, thiserror::Error)]
pub enum OidcFederationError {
    /// Parameter, role, trust or store problems.
    #[error(transparent)]
    Sts(#[from] StsError),
    /// The token (or the issuer's keys) was refused.
    #[error(transparent)]
    Token(#[from] OidcError),
    /// `OIDCProviderArn` malformed.
    #[error("OIDCProviderArn {0:?} is not of the form acs:ram::<account id>:oidc-provider/<name>")]
    InvalidProviderArn(String),
    /// No such provider (Alibaba answers this with `AuthenticationFail.NoPermission`).
    #[error("No such OIDC Provider registered: {0}")]
    ProviderNotFound(String),
    /// The role is in another account than the provider.
    #[error(
        "the role {role} and the OIDC provider {provider} belong to different accounts; a role \
         trusts providers of its own account"
    )]
    AccountMismatch {
        /// RoleArn.
        role: String,
        /// OIDCProviderArn.
        provider: String,
    },
}

/// The result: credentials and the token they came from.
pub struct OidcSession {
    /// Credentials.
    pub minted: Minted,
    /// The verified token and its keys.
    pub verified: Verified,
}

/// Runs every check and mints the session. `subject` receives the token's `sub` once the token
/// verified (for the audit log, also when a later check fails).
pub async fn assume_role_with_oidc(
    store: &Store,
    keys: &Keyring,
    clock: &dyn Clock,
    verifier: &OidcVerifier,
    input: &OidcInput<'_>,
    subject: &mut String,
) -> Result<OidcSession, OidcFederationError> {
    let parn = ProviderArn::parse(input.provider_arn)
        .ok_or_else(|| OidcFederationError::InvalidProviderArn(input.provider_arn.into()))?;
    let rarn = super::RoleArn::parse(input.role_arn)?;
    check_session_name(input.session_name)?;
    let session_policy = check_session_policy(input.policy)?;
    if rarn.account_id != parn.account_id {
        return Err(OidcFederationError::AccountMismatch {
            role: input.role_arn.into(),
            provider: input.provider_arn.into(),
        });
    }
    let provider = store
        .find_oidc_provider(&parn.account_id, &parn.name)
        .await
        .map_err(StsError::from)?
        .ok_or_else(|| OidcFederationError::ProviderNotFound(input.provider_arn.into()))?;

    let verified = verifier.verify(&provider, input.token, None, clock).await?;
    let token = &verified.token;
    subject.clone_from(&token.subject);

    let role = store
        .find_role(&rarn.account_id, &rarn.role_name)
        .await
        .map_err(StsError::from)?
        .ok_or_else(|| StsError::RoleNotFound(input.role_arn.into()))?;
    let duration_s = super::duration(input.duration, &role, false)?;

    let role_arn = format!("acs:ram::{}:role/{}", role.account_id, role.name);
    let trusted = trusts_token(&role, input.provider_arn, token, clock);
    if !trusted {
        return Err(StsError::NotTrusted {
            role: role_arn,
            caller: input.provider_arn.into(),
        }
        .into());
    }

    let minted = mint(
        keys,
        clock,
        &role,
        SessionSpec {
            session_name: input.session_name.to_string(),
            duration_s,
            session_policy,
            chained: false,
            source: input.provider_arn.to_string(),
            source_identity: None,
        },
    )?;
    Ok(OidcSession { minted, verified })
}

/// Whether `role`'s trust policy allows `provider_arn` as Federated principal for this verified
/// token, with `oidc:iss`, `oidc:aud` (the audiences that are registered ClientIds) and
/// `oidc:sub` as condition keys. `AssumeRoleWithOIDC` and the browser sign-in through OIDC
/// (`web::oidc_sso`) both decide through this function.
pub fn trusts_token(
    role: &Role,
    provider_arn: &str,
    token: &VerifiedIdToken,
    clock: &dyn Clock,
) -> bool {
    let role_arn = format!("acs:ram::{}:role/{}", role.account_id, role.name);
    match policy::parse(
        &role.trust_policy,
        DocumentKind::Trust,
        MAX_TRUST_POLICY_CHARS,
    ) {
        Ok(doc) => {
            let ctx = Context::new()
                .with_current_time(clock.now())
                .with("oidc:iss", token.issuer.as_str())
                .with_many("oidc:aud", token.client_ids.iter().map(String::as_str))
                .with("oidc:sub", token.subject.as_str());
            let principals = [PrincipalRef::Federated(provider_arn)];
            policy::evaluate(
                &[&doc],
                &Request {
                    action: "sts:AssumeRole",
                    resource: &role_arn,
                    context: &ctx,
                    principals: &principals,
                },
            )
            .is_allowed()
        }
        Err(e) => {
            tracing::error!(role = %role_arn, error = %e, "stored trust policy does not parse");
            false
        }
    }
}
