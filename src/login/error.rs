//! Errors of `rambridge login`: [`LoginError`] on the CLI side, each rendered as one line that
//! says what went wrong and what to do; [`ServerError`] on the server side of the loopback
//! code exchange and the ECP start, mapped once to HTTP in `web::cli_login`.

use thiserror::Error;

use crate::crypto::CryptoError;
use crate::saml::SamlError;
use crate::saml::ecp::EcpError;
use crate::store::StoreError;

/// Why `rambridge login` failed. `Display` is one line: what happened; what to do.
#[derive(Debug, Error)]
pub enum LoginError {
    /// Flags that do not fit together, or a missing one.
    #[error("{0}")]
    Usage(String),
    /// rambridge did not answer.
    #[error("cannot reach rambridge at {url}: {detail}; check --endpoint and your network")]
    EndpointUnreachable {
        /// URL tried.
        url: String,
        /// Transport error.
        detail: String,
    },
    /// rambridge answered something that is not its API.
    #[error(
        "unexpected answer from {url} (HTTP {status}): {detail}; check that --endpoint is the \
         rambridge base URL"
    )]
    Protocol {
        /// URL called.
        url: String,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
    /// rambridge refused with an error envelope (code and message from the server).
    #[error("rambridge refused the login ({code}): {message}; {hint}")]
    Refused {
        /// Error code.
        code: String,
        /// Server message.
        message: String,
        /// What to do.
        hint: String,
    },
    /// The account is unknown or has no SSO set up (from rambridge's pre-flight answer).
    #[error("{message}; {hint}")]
    Account {
        /// What rambridge said.
        message: String,
        /// What to do.
        hint: String,
    },
    /// The IdP did not answer.
    #[error("cannot reach the IdP at {url}: {detail}; check --idp-url and your network")]
    IdpUnreachable {
        /// URL tried.
        url: String,
        /// Transport error.
        detail: String,
    },
    /// The IdP refused the credentials.
    #[error(
        "the IdP refused the username or password for {username:?} (HTTP {status}); check \
         --username and the password (prompted, or RAMBRIDGE_LOGIN_PASSWORD)"
    )]
    IdpAuthentication {
        /// User name sent.
        username: String,
        /// HTTP status.
        status: u16,
    },
    /// The IdP answered with another HTTP error.
    #[error(
        "the IdP at {url} answered HTTP {status}: {detail}; check that --idp-url is the IdP's \
         SAML ECP (SOAP) endpoint"
    )]
    IdpHttp {
        /// URL called.
        url: String,
        /// HTTP status.
        status: u16,
        /// Body excerpt.
        detail: String,
    },
    /// The ECP exchange could not be used.
    #[error("the SAML ECP exchange failed: {0}; check that --idp-url is the IdP's ECP endpoint")]
    Ecp(#[from] EcpError),
    /// The SAML response could not be read or reports a failed sign-in.
    #[error("the SAML response is unusable: {0}; sign in again or ask your IdP administrator")]
    Saml(#[from] SamlError),
    /// The assertion offers no role.
    #[error(
        "the SAML response offers no role (no Role attribute of <role ARN>,<provider ARN>); ask \
         your IdP administrator to map your roles"
    )]
    NoRoles,
    /// The role asked for is not among those offered.
    #[error(
        "role {wanted:?} is not offered to you (offered: {offered}); pick one of these with --role"
    )]
    RoleNotOffered {
        /// `--role` / `--provider` as given.
        wanted: String,
        /// The offered roles.
        offered: String,
    },
    /// Several roles and no way to ask.
    #[error(
        "several roles are offered (no terminal to choose from): {offered}; pick one with --role"
    )]
    ChooseRole {
        /// The offered roles.
        offered: String,
    },
    /// The IdP's, rambridge's and this machine's clocks disagree too much.
    #[error(
        "the clocks disagree: {detail}; fix the time on this machine, the IdP or rambridge (NTP)"
    )]
    ClockSkew {
        /// What was observed.
        detail: String,
    },
    /// The browser sign-in did not come back in time.
    #[error(
        "the browser sign-in did not finish within {0} seconds; run rambridge login again \
         (--timeout to wait longer)"
    )]
    Timeout(u64),
    /// The browser sign-in reported a failure.
    #[error("the browser sign-in failed: {0}; run rambridge login again")]
    BrowserSignIn(String),
    /// The user cancelled the role choice.
    #[error("no role chosen; run rambridge login again, or pass --role")]
    Cancelled,
    /// A local file could not be read or written.
    #[error("{what} {path}: {detail}; {hint}")]
    File {
        /// What the file is.
        what: &'static str,
        /// Its path.
        path: String,
        /// The I/O error.
        detail: String,
        /// What to do.
        hint: &'static str,
    },
}

impl LoginError {
    /// A usage error.
    pub fn usage(message: impl Into<String>) -> LoginError {
        LoginError::Usage(message.into())
    }

    /// The message on one line (server and I/O texts may contain line breaks).
    pub fn one_line(&self) -> String {
        self.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Why the server side of `rambridge login` refused a request.
#[derive(Debug, Error)]
pub enum ServerError {
    /// A query or form parameter is missing or malformed.
    #[error("{name}: {message}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No account with this alias or id.
    #[error("account {0:?} does not exist")]
    UnknownAccount(String),
    /// The account has no SAML provider.
    #[error("SSO is not configured for account {0:?} (it has no SAML provider)")]
    SsoNotConfigured(String),
    /// The named provider does not exist in the account.
    #[error("account {account:?} has no SAML provider {provider:?} (it has: {available})")]
    UnknownProvider {
        /// Account alias.
        account: String,
        /// Provider asked for.
        provider: String,
        /// The account's providers.
        available: String,
    },
    /// Several providers and none named.
    #[error("account {account:?} has several SAML providers ({available}); name one")]
    SeveralProviders {
        /// Account alias.
        account: String,
        /// The account's providers.
        available: String,
    },
    /// No pending CLI login with this id (unknown, expired, or already completed).
    #[error("no pending CLI login with this id (unknown, expired or already completed)")]
    PendingNotFound,
    /// The credentials are not for the account the CLI login was started for.
    #[error("the CLI login was started for account {expected}, but the sign-in is for {got}")]
    AccountMismatch {
        /// The pending login's account.
        expected: String,
        /// The credentials' account.
        got: String,
    },
    /// The credentials are not for the role the CLI asked for.
    #[error("the CLI asked for role {requested:?}, but the sign-in chose {got}")]
    RoleMismatch {
        /// `--role` as given.
        requested: String,
        /// The chosen role ARN.
        got: String,
    },
    /// The code is unknown or was already redeemed.
    #[error("the code is unknown or was already used")]
    InvalidCode,
    /// The code's short life is over.
    #[error("the code expired")]
    CodeExpired,
    /// The code_verifier does not hash to the code_challenge.
    #[error("the code_verifier does not match the code_challenge")]
    WrongVerifier,
    /// The redeeming listener is not the one the code was issued to.
    #[error("the code was issued to another loopback port")]
    WrongPort,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing or opening the credentials failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The sealed credentials did not (de)serialise.
    #[error("credentials encoding: {0}")]
    Encoding(String),
}
