//! STS: temporary credentials (spec §4). [`assume_role`] checks the request, the role's trust
//! policy and the chaining cap, then mints a role session: an `STS.` AccessKeyId, a derived
//! secret and a sealed SecurityToken ([`token`]). Requests signed with those credentials are
//! authenticated from the token alone; each use also checks the role still exists and has not
//! revoked sessions issued before the token (`Role::sessions_valid_after`), and is authorized
//! by the role's current policies intersected with the session policy.

mod error;
pub mod federation;
pub mod oidc;
pub mod token;

use crate::clock::Clock;
use crate::crypto::{self, Keyring};
use crate::policy::{
    self, Context, DocumentKind, MAX_SESSION_POLICY_CHARS, MAX_TRUST_POLICY_CHARS, PrincipalRef,
    Request,
};
use crate::principal::Principal;
use crate::store::{Cached, Role, Store};

pub use error::{StsError, TokenError};
pub use token::SessionClaims;

/// Shortest session (spec §4.1).
pub const MIN_DURATION: i64 = 900;
/// Cap for sessions issued to role sessions (role chaining, spec §4.1 rule).
pub const CHAINED_MAX_DURATION: i64 = 3600;

/// A parsed role ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    /// Account id.
    pub account_id: String,
    /// Role name.
    pub role_name: String,
}

impl RoleArn {
    /// Parses `acs:ram::<16 digits>:role/<name>`.
    pub fn parse(arn: &str) -> Result<RoleArn, StsError> {
        let bad = || StsError::InvalidRoleArn(arn.to_string());
        let rest = arn.strip_prefix("acs:ram::").ok_or_else(bad)?;
        let (account, name) = rest.split_once(":role/").ok_or_else(bad)?;
        let ok_account = account.len() == 16 && account.bytes().all(|b| b.is_ascii_digit());
        let ok_name = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !(ok_account && ok_name) {
            return Err(bad());
        }
        Ok(RoleArn {
            account_id: account.to_string(),
            role_name: name.to_string(),
        })
    }
}

/// Checks a RoleSessionName: 2-64 of `[A-Za-z0-9.@_-]`.
pub fn check_session_name(name: &str) -> Result<(), StsError> {
    let ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StsError::InvalidSessionName)
    }
}

/// Parses and bounds `DurationSeconds` for a role (default 3600, or the cap when lower).
pub fn duration(value: Option<&str>, role: &Role, chained: bool) -> Result<i64, StsError> {
    let max = if chained {
        role.max_session_duration.min(CHAINED_MAX_DURATION)
    } else {
        role.max_session_duration
    };
    let why = if chained {
        " (role chaining limits sessions to 3600 seconds)"
    } else {
        ""
    };
    match value.filter(|v| !v.is_empty()) {
        None => Ok(3600.min(max)),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (MIN_DURATION..=max).contains(&n) => Ok(n),
            _ => Err(StsError::InvalidDuration {
                min: MIN_DURATION,
                max,
                why,
            }),
        },
    }
}

/// Validates a session policy (1-2048 characters, a valid permission policy).
pub fn check_session_policy(text: Option<&str>) -> Result<Option<String>, StsError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) if t.chars().count() > MAX_SESSION_POLICY_CHARS => {
            Err(StsError::PolicySize(MAX_SESSION_POLICY_CHARS))
        }
        Some(t) => policy::parse(t, DocumentKind::Permission, MAX_SESSION_POLICY_CHARS)
            .map(|_| Some(t.to_string()))
            .map_err(StsError::PolicyGrammar),
    }
}

/// Checks an `ExternalId`: 2-1224 of `[\w+=,.@:/-]`.
pub fn check_external_id(id: &str) -> Result<(), StsError> {
    let ok = (2..=1224).contains(&id.len())
        && id.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'+' | b'=' | b',' | b'.' | b'@' | b':' | b'/' | b'-'
                )
        });
    if ok {
        Ok(())
    } else {
        Err(StsError::InvalidExternalId)
    }
}

/// The RAM principal strings a caller presents to a trust policy: its account root always
/// (trusting an account trusts what that account's own policies allow), plus its own ARN.
pub fn trust_principals(caller: &Principal) -> Vec<String> {
    let account = caller.account_id();
    let mut out = vec![format!("acs:ram::{account}:root")];
    match caller {
        Principal::Root { .. } => {}
        Principal::User { user_name, .. } => {
            out.push(format!("acs:ram::{account}:user/{user_name}"))
        }
        Principal::RoleSession { role_name, .. } => {
            out.push(format!("acs:ram::{account}:role/{role_name}"))
        }
    }
    out
}

/// What AssumeRole asks for.
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleInput<'a> {
    /// `RoleArn`.
    pub role_arn: &'a str,
    /// `RoleSessionName`.
    pub session_name: &'a str,
    /// `DurationSeconds`.
    pub duration: Option<&'a str>,
    /// `Policy`.
    pub policy: Option<&'a str>,
    /// `ExternalId`.
    pub external_id: Option<&'a str>,
    /// `SourceIdentity`.
    pub source_identity: Option<&'a str>,
}

/// Freshly minted credentials.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The session.
    pub claims: SessionClaims,
    /// SecurityToken.
    pub token: String,
    /// AccessKeySecret.
    pub secret: String,
    /// The role.
    pub role: Role,
}

/// The session to mint, after every check.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// RoleSessionName.
    pub session_name: String,
    /// Lifetime in seconds.
    pub duration_s: i64,
    /// Validated session policy.
    pub session_policy: Option<String>,
    /// Issued to a role session.
    pub chained: bool,
    /// Who asked (ARN).
    pub source: String,
    /// `SourceIdentity`.
    pub source_identity: Option<String>,
}

/// Mints a role session for `role` (checks done by the caller).
pub fn mint(
    keys: &Keyring,
    clock: &dyn Clock,
    role: &Role,
    spec: SessionSpec,
) -> Result<Minted, StsError> {
    let SessionSpec {
        session_name,
        duration_s,
        session_policy,
        chained,
        source,
        source_identity,
    } = spec;
    let now = clock.now_ms();
    let claims = SessionClaims {
        access_key_id: format!("STS.{}", crypto::random_alnum(24)),
        account_id: role.account_id.clone(),
        role_id: role.id.clone(),
        role_name: role.name.clone(),
        session_name,
        issued_at_ms: now,
        expires_at_ms: now + duration_s * 1000,
        session_policy,
        chained,
        source,
        source_identity,
    };
    let token = token::seal(keys, &claims)?;
    let secret = keys.primary().sts_secret(&claims.access_key_id);
    Ok(Minted {
        claims,
        token,
        secret,
        role: role.clone(),
    })
}

/// `AssumeRole`: the caller's own permission to call `sts:AssumeRole` on the role is checked by
/// the API layer before this runs; here the role, its trust policy and the limits.
pub async fn assume_role(
    store: &Store,
    keys: &Keyring,
    clock: &dyn Clock,
    caller: &Principal,
    context: &Context,
    input: &AssumeRoleInput<'_>,
) -> Result<Minted, StsError> {
    let arn = RoleArn::parse(input.role_arn)?;
    check_session_name(input.session_name)?;
    let session_policy = check_session_policy(input.policy)?;
    if let Some(id) = input.external_id.filter(|i| !i.is_empty()) {
        check_external_id(id)?;
    }
    let role = store
        .find_role(&arn.account_id, &arn.role_name)
        .await?
        .ok_or_else(|| StsError::RoleNotFound(input.role_arn.to_string()))?;
    let chained = matches!(caller, Principal::RoleSession { .. });
    let duration_s = duration(input.duration, &role, chained)?;

    // Trust: the role's trust policy must allow this caller (DESIGN: cross-account works only
    // this way). A stored trust policy always parsed when written; if it no longer does,
    // nobody is trusted.
    let trust = policy::parse(
        &role.trust_policy,
        DocumentKind::Trust,
        MAX_TRUST_POLICY_CHARS,
    );
    let principals = trust_principals(caller);
    let refs: Vec<PrincipalRef<'_>> = principals.iter().map(|p| PrincipalRef::Ram(p)).collect();
    let mut ctx = context.clone();
    if let Some(id) = input.external_id.filter(|i| !i.is_empty()) {
        ctx = ctx.with("sts:ExternalId", id);
    }
    let role_arn = format!("acs:ram::{}:role/{}", role.account_id, role.name);
    let trusted = match &trust {
        Ok(doc) => policy::evaluate(
            &[doc],
            &Request {
                action: "sts:AssumeRole",
                resource: &role_arn,
                context: &ctx,
                principals: &refs,
            },
        )
        .is_allowed(),
        Err(e) => {
            tracing::error!(role = %role_arn, error = %e, "stored trust policy does not parse");
            false
        }
    };
    if !trusted {
        return Err(StsError::NotTrusted {
            role: role_arn,
            caller: caller.arn(),
        });
    }
    mint(
        keys,
        clock,
        &role,
        SessionSpec {
            session_name: input.session_name.to_string(),
            duration_s,
            session_policy,
            chained,
            source: caller.arn(),
            source_identity: input
                .source_identity
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        },
    )
}

/// Checks that a live session is still honoured: its role exists (same id) and has not revoked
/// sessions issued at or before this one. The role comes from the store's cached view: a
/// revocation made by another replica applies here within `store::CACHE_TTL_MS`.
pub async fn check_revocation(
    store: &Cached<'_>,
    claims: &SessionClaims,
) -> Result<Role, StsError> {
    let role = store
        .find_role_by_id(&claims.role_id)
        .await?
        .ok_or_else(|| {
            TokenError::Revoked(format!("the role {} no longer exists", claims.role_name))
        })?;
    if claims.issued_at_ms < role.sessions_valid_after {
        return Err(TokenError::Revoked(format!(
            "sessions of role {} issued before {} were revoked",
            role.name,
            chrono::DateTime::from_timestamp_millis(role.sessions_valid_after)
                .map(crate::clock::format_iso8601)
                .unwrap_or_default()
        ))
        .into());
    }
    Ok(role)
}

#[cfg(test)]
mod tests;
