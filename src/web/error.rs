//! Sign-in failures as readable pages: one [`WebError`] per failure class, each with a title and
//! a message for a person, a stable reason code, and a reference id that is the id of the audit
//! event written for the failure (so an administrator finds it with `ListSignInEvents` or
//! `rambridge audit`). Never a stack trace, never a blank 500.

use axum::http::StatusCode;
use axum::response::Response;

use super::oidc_sso::OidcSsoError;
use super::pages::{ErrorPage, render};
use crate::AppState;
use crate::oidc::OidcError;
use crate::saml::SamlError;
use crate::saml::user_sso::NameIdError;
use crate::store::{AuditEvent, StoreError};
use crate::sts::StsError;
use crate::sts::federation::FederationError;

/// Why a browser sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The SAML response or its role mapping was refused.
    #[error(transparent)]
    Federation(#[from] FederationError),
    /// The verified NameID maps to no enabled user.
    #[error(transparent)]
    NameId(#[from] NameIdError),
    /// The browser sign-in through OIDC failed (state, code exchange, ID token, mapping).
    #[error(transparent)]
    Oidc(#[from] super::oidc_sso::OidcSsoError),
    /// A form field is missing or malformed.
    #[error("the request is missing {0}")]
    MissingField(&'static str),
    /// No account has this alias (or id).
    #[error("no account {0:?} exists")]
    UnknownAccount(String),
    /// The response is for no account's user SSO endpoint.
    #[error("the response's Audience {0:?} is not a user SSO entity ID of this service")]
    UnknownAudience(String),
    /// User SSO is off for the account.
    #[error("user-based SSO is not enabled for this account")]
    SsoNotEnabled,
    /// Password sign-in while the account enforces user SSO.
    #[error("password sign-in is turned off while user-based SSO is enabled for the account")]
    PasswordDisabled,
    /// The provider has no usable sign-in URL.
    #[error("{0}")]
    NoIdpUrl(String),
    /// The form did not come from our page, or its token expired.
    #[error("the form's security token is missing, wrong or expired")]
    Csrf,
    /// The pending role choice is gone (expired, used, or never made).
    #[error("the role choice expired or was already used")]
    ChoiceExpired,
    /// The posted choice is not one of the stored ones.
    #[error("the chosen role is not one of those offered")]
    BadChoice,
    /// Too many credentials issued for the account right now.
    #[error("too many sign-ins for this account right now")]
    Throttled,
    /// No session.
    #[error("you are not signed in")]
    NotSignedIn,
    /// Storage failure (details logged, not shown).
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    /// Anything else unexpected (details logged, not shown).
    #[error("internal error: {0}")]
    Internal(String),
}

fn saml_title(e: &SamlError) -> (&'static str, &'static str) {
    match e {
        SamlError::Expired(_) | SamlError::NotYetValid(_) => (
            "This sign-in has expired",
            "The identity provider's answer is outside its validity period. Sign in again from your identity provider; if it keeps happening, the clocks of the two services may differ.",
        ),
        SamlError::Audience { .. }
        | SamlError::Recipient { .. }
        | SamlError::Destination { .. } => (
            "This sign-in was meant for another service",
            "The identity provider addressed its answer to a different service provider. Your administrator needs to check the SP entity ID and ACS URL configured at the identity provider.",
        ),
        SamlError::Signature(_) | SamlError::Unsigned => (
            "The sign-in response failed its signature check",
            "The identity provider's answer was not signed by a key this account trusts, or it was altered on the way. No session was created.",
        ),
        SamlError::Replayed(_) => (
            "This sign-in response was already used",
            "Each answer from the identity provider can be used once. Start a new sign-in.",
        ),
        SamlError::InResponseTo(_) => (
            "This sign-in does not match a request from this site",
            "The answer names a sign-in request this service did not send, or one that was already used or expired. Start a new sign-in.",
        ),
        SamlError::Issuer { .. } => (
            "Unknown identity provider",
            "The answer comes from an identity provider this account is not configured to trust.",
        ),
        SamlError::Attribute { .. } => (
            "No role can be used",
            "The identity provider did not send a usable role for this service. Your administrator needs to check the role attributes configured at the identity provider.",
        ),
        _ => (
            "The sign-in response is not valid",
            "The identity provider's answer could not be accepted. Your administrator can find the reason in the audit log under the reference below.",
        ),
    }
}

fn oidc_title(e: &OidcSsoError) -> (&'static str, &'static str) {
    match e {
        OidcSsoError::NotEnabled => (
            "Sign-in through OpenID Connect is not enabled",
            "The account's administrator has not turned on sign-in through an OpenID Connect provider.",
        ),
        OidcSsoError::MissingState | OidcSsoError::StateInvalid => (
            "This sign-in was not started here, or it expired",
            "Each sign-in can be completed once, in the browser that started it, within a few minutes. Start a new sign-in.",
        ),
        OidcSsoError::Provider { .. } => (
            "Your identity provider did not sign you in",
            "The identity provider answered with an error (for example, consent was denied). Start a new sign-in.",
        ),
        OidcSsoError::ProviderGone(_) | OidcSsoError::NoEndpoint(_) => (
            "The identity provider is not set up correctly",
            "The account's OpenID Connect provider is missing or incomplete. Your administrator needs to check the OIDC sign-in settings.",
        ),
        OidcSsoError::Exchange(_) | OidcSsoError::NoIdToken => (
            "The identity provider did not confirm the sign-in",
            "Exchanging the sign-in code with the identity provider failed. Start a new sign-in; if it keeps happening, your administrator can find the reason in the audit log.",
        ),
        OidcSsoError::MissingClaim(_) => (
            "Your identity provider did not send your user name",
            "The ID token lacks the claim this account maps to RAM users. Your administrator needs to check the claim configured at the identity provider and in rambridge.",
        ),
        OidcSsoError::NoRole(_) => (
            "No role can be used",
            "The identity provider did not send a role of this account. Your administrator needs to check the role claim.",
        ),
        OidcSsoError::Token(OidcError::Expired { .. } | OidcError::NotYetValid { .. }) => (
            "This sign-in has expired",
            "The identity provider's ID token is outside its validity period. Sign in again; if it keeps happening, the clocks of the two services may differ.",
        ),
        OidcSsoError::Token(OidcError::Nonce) => (
            "This sign-in does not match a request from this site",
            "The ID token was not issued for the sign-in this browser started. Start a new sign-in.",
        ),
        OidcSsoError::Token(OidcError::Issuer { .. }) => (
            "Unknown identity provider",
            "The ID token comes from an issuer this account is not configured to trust.",
        ),
        OidcSsoError::Token(_) => (
            "The ID token failed its checks",
            "The identity provider's ID token could not be accepted. Your administrator can find the reason in the audit log under the reference below.",
        ),
    }
}

impl WebError {
    /// The stable reason code written to the audit log.
    pub fn code(&self) -> String {
        match self {
            WebError::Federation(FederationError::Saml(e)) => e.code().to_string(),
            WebError::Federation(FederationError::Sts(StsError::NotTrusted { .. })) => {
                "AuthenticationFail.NoPermission".into()
            }
            WebError::Federation(FederationError::Sts(StsError::RoleNotFound(_))) => {
                "EntityNotExist.Role".into()
            }
            WebError::Federation(FederationError::Sts(_)) => "InvalidParameter".into(),
            WebError::Federation(FederationError::InvalidProviderArn(_)) => {
                "InvalidParameter.SAMLProviderArn".into()
            }
            WebError::Federation(FederationError::ProviderNotFound(_)) => {
                "EntityNotExist.SAMLProvider".into()
            }
            WebError::Federation(FederationError::ProviderMetadata(_)) => {
                "AuthenticationFail.IDPMetadata.Invalid".into()
            }
            WebError::NameId(NameIdError::UnknownUser(_)) => "EntityNotExist.User".into(),
            WebError::NameId(NameIdError::Disabled(_)) => "User.Disabled".into(),
            WebError::NameId(_) => "AuthenticationFail.SAMLAssertion.Invalid.NameID".into(),
            WebError::Oidc(e) => e.code().into(),
            WebError::MissingField(_) => "MissingParameter".into(),
            WebError::UnknownAccount(_) => "EntityNotExist.Account".into(),
            WebError::UnknownAudience(_) => {
                "AuthenticationFail.SAMLAssertion.Invalid.Audience".into()
            }
            WebError::SsoNotEnabled => "UserSso.NotEnabled".into(),
            WebError::PasswordDisabled => "PasswordSignIn.Disabled".into(),
            WebError::NoIdpUrl(_) => "AuthenticationFail.IDPMetadata.NoSsoUrl".into(),
            WebError::Csrf => "Csrf.Invalid".into(),
            WebError::ChoiceExpired => "RoleChoice.Expired".into(),
            WebError::BadChoice => "RoleChoice.Invalid".into(),
            WebError::Throttled => "Throttling".into(),
            WebError::NotSignedIn => "NotSignedIn".into(),
            WebError::Store(_) => "ServiceUnavailable".into(),
            WebError::Internal(_) => "InternalError".into(),
        }
    }

    /// HTTP status of the page.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Throttled => StatusCode::TOO_MANY_REQUESTS,
            WebError::UnknownAccount(_) | WebError::NotSignedIn => StatusCode::NOT_FOUND,
            WebError::MissingField(_) | WebError::BadChoice => StatusCode::BAD_REQUEST,
            WebError::Oidc(OidcSsoError::MissingState | OidcSsoError::StateInvalid) => {
                StatusCode::BAD_REQUEST
            }
            WebError::Oidc(OidcSsoError::NotEnabled) => StatusCode::NOT_FOUND,
            WebError::PasswordDisabled => StatusCode::FORBIDDEN,
            WebError::Csrf => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// Heading and explanation for a person.
    pub fn title_and_message(&self) -> (&'static str, &'static str) {
        match self {
            WebError::Federation(FederationError::Saml(e)) => saml_title(e),
            WebError::Federation(FederationError::Sts(StsError::NotTrusted { .. })) => (
                "This role does not trust your identity provider",
                "The role's trust policy does not allow sign-in through this identity provider. Your administrator needs to update the role's trust policy.",
            ),
            WebError::Federation(FederationError::Sts(StsError::RoleNotFound(_))) => (
                "The role does not exist",
                "The identity provider named a role that does not exist in the account.",
            ),
            WebError::Federation(FederationError::ProviderNotFound(_))
            | WebError::Federation(FederationError::InvalidProviderArn(_)) => (
                "Unknown identity provider",
                "The identity provider named in the answer is not registered in the account.",
            ),
            WebError::Federation(_) => (
                "The sign-in response is not valid",
                "The identity provider's answer could not be accepted.",
            ),
            WebError::NameId(NameIdError::UnknownUser(_)) => (
                "No such user",
                "Your identity provider signed you in, but no RAM user of that name exists in this account.",
            ),
            WebError::NameId(NameIdError::Disabled(_)) => (
                "This user cannot sign in",
                "The RAM user exists but its console sign-in is disabled. Ask your administrator to enable it.",
            ),
            WebError::NameId(_) => (
                "Your user name is not accepted by this account",
                "The identity provider sent a user name that is not under this account's domain.",
            ),
            WebError::Oidc(e) => oidc_title(e),
            WebError::MissingField(_) => (
                "Incomplete request",
                "A required field was missing. Start the sign-in again.",
            ),
            WebError::UnknownAccount(_) => (
                "Unknown account",
                "No account has this alias. Check the alias and try again.",
            ),
            WebError::UnknownAudience(_) => (
                "This sign-in was meant for another service",
                "The answer is not addressed to a user sign-in endpoint of this service.",
            ),
            WebError::SsoNotEnabled => (
                "Single sign-on is not enabled for this account",
                "The account's administrator has not turned on user-based SSO.",
            ),
            WebError::PasswordDisabled => (
                "Password sign-in is turned off",
                "This account signs in through its identity provider (single sign-on). Use the SSO sign-in instead of a password.",
            ),
            WebError::NoIdpUrl(_) => (
                "The identity provider cannot be reached from here",
                "The identity provider's metadata lists no HTTP-Redirect sign-in URL. Start the sign-in from your identity provider's portal instead.",
            ),
            WebError::Csrf => (
                "The form expired",
                "The form was not sent from this site or its security token expired. Reload the page and try again.",
            ),
            WebError::ChoiceExpired => (
                "The role choice expired",
                "Role choices are kept for a few minutes and can be used once. Sign in again.",
            ),
            WebError::BadChoice => (
                "That role was not offered",
                "Pick one of the roles shown on the chooser.",
            ),
            WebError::Throttled => (
                "Too many sign-ins right now",
                "Please wait a moment and try again.",
            ),
            WebError::NotSignedIn => ("You are not signed in", "Sign in to see the console."),
            WebError::Store(_) | WebError::Internal(_) => (
                "Temporarily unavailable",
                "Something went wrong on our side. Please try again; if it persists, give your administrator the reference below.",
            ),
        }
    }

    /// Technical detail safe to show (assertion checks, names); empty for internal failures.
    pub fn detail(&self) -> String {
        match self {
            WebError::Store(_) | WebError::Internal(_) => String::new(),
            other => other.to_string(),
        }
    }
}

/// Who and what a sign-in audit event is about.
#[derive(Debug, Clone, Default)]
pub struct AuditCtx {
    /// Account (empty when unknown).
    pub account_id: String,
    /// `RoleSSO`, `UserSSO`, `PasswordSignIn`, `SignOut`, ...
    pub event: &'static str,
    /// Provider ARN, IdP entity ID or `password`.
    pub provider: String,
    /// NameID / user name, when known.
    pub subject: String,
    /// Client address.
    pub source_ip: String,
}

/// Writes a sign-in audit event; returns its id. A failed write is logged, never hides the
/// outcome.
pub async fn audit(state: &AppState, ctx: &AuditCtx, reason: &str) -> String {
    let at = state.clock.now_ms();
    let id = crate::crypto::new_request_id(at);
    let e = AuditEvent {
        id: id.clone(),
        account_id: ctx.account_id.clone(),
        at,
        event: ctx.event.to_string(),
        provider: ctx.provider.clone(),
        subject: ctx.subject.clone(),
        outcome: if reason == "Success" {
            "Success"
        } else {
            "Failure"
        }
        .to_string(),
        reason: reason.to_string(),
        source_ip: ctx.source_ip.clone(),
    };
    if let Err(err) = state.store.record_audit(&e).await {
        tracing::error!(reference = %id, error = %err, "sign-in audit write failed");
    }
    id
}

/// The response of a sign-in step: its own on success, else the audited error page.
pub async fn respond(
    state: &AppState,
    ctx: &AuditCtx,
    result: Result<Response, WebError>,
) -> Response {
    match result {
        Ok(r) => r,
        Err(e) => fail(state, ctx, &e).await,
    }
}

/// Audits a failure and renders its page.
pub async fn fail(state: &AppState, ctx: &AuditCtx, err: &WebError) -> Response {
    let code = err.code();
    let reference = audit(state, ctx, &code).await;
    match err {
        WebError::Store(_) | WebError::Internal(_) => {
            tracing::error!(reference = %reference, error = %err, "browser sign-in failed");
        }
        _ => {
            tracing::info!(reference = %reference, code = %code, error = %err, "browser sign-in refused")
        }
    }
    let (title, message) = err.title_and_message();
    render(
        err.status(),
        &ErrorPage {
            title,
            message,
            detail: &err.detail(),
            reference: &reference,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_classes_read_differently() {
        let cases = [
            WebError::from(FederationError::Saml(SamlError::Expired("t".into()))),
            WebError::from(FederationError::Saml(SamlError::Audience {
                got: "a".into(),
                expected: "b".into(),
            })),
            WebError::from(FederationError::Saml(SamlError::Unsigned)),
            WebError::from(FederationError::Saml(SamlError::Replayed("id".into()))),
            WebError::from(FederationError::ProviderNotFound("p".into())),
            WebError::from(NameIdError::UnknownUser("u".into())),
            WebError::from(NameIdError::Disabled("u".into())),
            WebError::SsoNotEnabled,
        ];
        let titles: Vec<&str> = cases.iter().map(|c| c.title_and_message().0).collect();
        for (i, t) in titles.iter().enumerate() {
            assert!(!titles[..i].contains(t), "{t} twice");
        }
        let codes: Vec<String> = cases.iter().map(WebError::code).collect();
        for (i, c) in codes.iter().enumerate() {
            assert!(!codes[..i].contains(c), "{c} twice");
        }
    }

    #[test]
    fn internal_failures_show_no_detail() {
        let e = WebError::Internal("secret path /etc/x".into());
        assert!(e.detail().is_empty());
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
