//! `AssumeRoleWithSAML` (spec §4.1, §8.1): a validated assertion from a provider registered in
//! the role's own account, a Role attribute naming this role and this provider, the role's trust
//! policy allowing the provider as a Federated principal (with `saml:recipient` and the
//! assertion's other keys as conditions), replay refused through the store, then a role session.

use std::sync::{Arc, LazyLock};

use chrono::Duration;

use super::{
    MIN_DURATION, Minted, SessionSpec, StsError, check_session_name, check_session_policy, mint,
};
use crate::cache::BoundedMap;
use crate::clock::Clock;
use crate::crypto::Keyring;
use crate::policy::{self, Context, DocumentKind, MAX_TRUST_POLICY_CHARS, PrincipalRef, Request};
use crate::saml::{
    Expectations, ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE, SESSION_DURATION_ATTRIBUTE,
    SamlError, VerifiedAssertion, response,
};
use crate::store::{Role, Store};
use crate::xmldsig::TrustedKeys;

/// A parsed SAML provider ARN `acs:ram::<account>:saml-provider/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderArn {
    /// Account id.
    pub account_id: String,
    /// Provider name.
    pub name: String,
}

impl ProviderArn {
    /// Parses the ARN; `None` when it is not one.
    pub fn parse(arn: &str) -> Option<ProviderArn> {
        let rest = arn.strip_prefix("acs:ram::")?;
        let (account, name) = rest.split_once(":saml-provider/")?;
        let ok = account.len() == 16
            && account.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty()
            && name.len() <= 128;
        ok.then(|| ProviderArn {
            account_id: account.into(),
            name: name.into(),
        })
    }
}

/// What the role-based SSO endpoints must see in an assertion.
#[derive(Debug, Clone)]
pub struct SpSettings<'a> {
    /// SP entity ID (Audience).
    pub entity_id: &'a str,
    /// ACS URL (Destination, Recipient).
    pub acs_url: &'a str,
    /// Clock skew.
    pub skew: Duration,
    /// The SP key for EncryptedAssertions, when configured.
    pub decryption_key: Option<&'a crate::saml::encryption::SpKey>,
    /// Provider ARNs allowed to sign with SHA-1.
    pub sha1_providers: &'a [String],
}

/// `AssumeRoleWithSAML` input.
#[derive(Debug, Clone)]
pub struct SamlInput<'a> {
    /// `SAMLProviderArn`.
    pub provider_arn: &'a str,
    /// `RoleArn`.
    pub role_arn: &'a str,
    /// `SAMLAssertion` (base64 Response).
    pub assertion_b64: &'a str,
    /// `DurationSeconds`.
    pub duration: Option<&'a str>,
    /// `Policy`.
    pub policy: Option<&'a str>,
}

/// Errors of the federation path: STS errors or SAML validation errors.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// Parameter, role, trust or store problems.
    #[error(transparent)]
    Sts(#[from] StsError),
    /// The assertion was refused.
    #[error(transparent)]
    Saml(#[from] SamlError),
    /// `SAMLProviderArn` malformed.
    #[error("SAMLProviderArn {0:?} is not of the form acs:ram::<account id>:saml-provider/<name>")]
    InvalidProviderArn(String),
    /// No such provider.
    #[error("the SAML provider {0} does not exist")]
    ProviderNotFound(String),
    /// The provider's stored metadata is unusable.
    #[error("the SAML provider's metadata is unusable: {0}")]
    ProviderMetadata(String),
}

/// The result: credentials and the assertion they came from.
pub struct SamlSession {
    /// Credentials.
    pub minted: Minted,
    /// The assertion.
    pub assertion: VerifiedAssertion,
}

/// Runs every check and mints the session. `subject` receives the NameID as soon as it is known
/// (for the audit log, also on failure). The browser ACS (`web::role_sso`) runs the same steps
/// through the same functions: [`verify_with_provider`], [`role_pairs`], [`session_name`],
/// [`trusted_role`], [`assertion_duration`] and [`consume_assertion`].
pub async fn assume_role_with_saml(
    store: &Store,
    keys: &Keyring,
    clock: &dyn Clock,
    sp: &SpSettings<'_>,
    input: &SamlInput<'_>,
    subject: &mut String,
) -> Result<SamlSession, FederationError> {
    let parn = ProviderArn::parse(input.provider_arn)
        .ok_or_else(|| FederationError::InvalidProviderArn(input.provider_arn.into()))?;
    let rarn = super::RoleArn::parse(input.role_arn)?;
    let session_policy = check_session_policy(input.policy)?;
    let xml = response::decode(input.assertion_b64)?;
    let assertion = verify_with_provider(store, clock, sp, &parn, &xml).await?;
    subject.clone_from(&assertion.name_id);

    // The Role attribute must name this role and this provider; both live in one account.
    let wanted = (input.role_arn.to_string(), input.provider_arn.to_string());
    if !role_pairs(&assertion).contains(&wanted) {
        return Err(SamlError::Attribute {
            name: "Role",
            message: format!(
                "no value names {} with {}",
                input.role_arn, input.provider_arn
            ),
        }
        .into());
    }
    if rarn.account_id != parn.account_id {
        return Err(SamlError::Attribute {
            name: "Role",
            message: "the role and the SAML provider belong to different accounts".into(),
        }
        .into());
    }
    let session_name = session_name(&assertion)?;
    let role = trusted_role(
        store,
        clock,
        sp,
        &assertion,
        input.role_arn,
        input.provider_arn,
    )
    .await?;
    let duration_s = match input.duration.filter(|d| !d.is_empty()) {
        Some(d) => super::duration(Some(d), &role, false)?,
        None => assertion_duration(&assertion, &role)?,
    };
    consume_assertion(store, clock, sp, &assertion, &[&parn.account_id]).await?;

    let minted = mint(
        keys,
        clock,
        &role,
        SessionSpec {
            session_name,
            duration_s,
            session_policy,
            chained: false,
            source: input.provider_arn.to_string(),
            source_identity: None,
        },
    )?;
    Ok(SamlSession { minted, assertion })
}

/// Validates a decoded SAML Response against the stored provider `parn`: its metadata's
/// signing certificates and entityID, our Audience and ACS, the clock.
pub async fn verify_with_provider(
    store: &Store,
    clock: &dyn Clock,
    sp: &SpSettings<'_>,
    parn: &ProviderArn,
    xml: &[u8],
) -> Result<VerifiedAssertion, FederationError> {
    let arn = crate::saml::providers::provider_arn(&parn.account_id, &parn.name);
    // Provider and role come from the cached view: another replica's change applies here
    // within store::CACHE_TTL_MS.
    let provider = store
        .cached(clock.now_ms())
        .find_saml_provider(&parn.account_id, &parn.name)
        .await
        .map_err(StsError::from)?
        .ok_or_else(|| FederationError::ProviderNotFound(arn.clone()))?;
    let trusted = trusted_keys(&provider.certificates)?;
    let exp = Expectations {
        issuer: &provider.entity_id,
        audience: sp.entity_id,
        recipient: sp.acs_url,
        now: clock.now(),
        skew: sp.skew,
        allow_sha1: sp.sha1_providers.contains(&arn),
        decryption_key: sp.decryption_key,
    };
    Ok(response::validate_response(xml, &trusted, &exp)?)
}

/// Keys parsed from certificates, by their base64 DER text (bounded; content-keyed, so never
/// stale: new certificates are new text).
static TRUSTED_KEYS: LazyLock<BoundedMap<Vec<String>, Arc<TrustedKeys>>> =
    LazyLock::new(|| BoundedMap::new(256));

/// Trust anchors from stored base64 DER certificates, parsed once per certificate set.
pub fn trusted_keys(certificates: &[String]) -> Result<Arc<TrustedKeys>, FederationError> {
    if let Some(k) = TRUSTED_KEYS.get(certificates) {
        return Ok(k);
    }
    let certs: Vec<Vec<u8>> = certificates
        .iter()
        .map(|c| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(c)
        })
        .collect::<Result<_, _>>()
        .map_err(|e| FederationError::ProviderMetadata(e.to_string()))?;
    let trusted = Arc::new(
        TrustedKeys::from_der_certificates(certs)
            .map_err(|e| FederationError::ProviderMetadata(e.to_string()))?,
    );
    TRUSTED_KEYS.insert(certificates.to_vec(), trusted.clone());
    Ok(trusted)
}

/// The `(RoleArn, SAMLProviderArn)` pairs of the Role attribute, in document order, without
/// duplicates; each value is `<role ARN>,<provider ARN>` in either order. Malformed values are
/// skipped.
pub fn role_pairs(assertion: &VerifiedAssertion) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for v in assertion.attribute(ROLE_ATTRIBUTE) {
        let mut parts = v.split(',').map(str::trim);
        let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let pair = if a.contains(":saml-provider/") {
            (b.to_string(), a.to_string())
        } else {
            (a.to_string(), b.to_string())
        };
        if pair.0.contains(":role/") && pair.1.contains(":saml-provider/") && !out.contains(&pair) {
            out.push(pair);
        }
    }
    out
}

/// The RoleSessionName attribute: exactly one value, 2-64 characters of the STS alphabet.
pub fn session_name(assertion: &VerifiedAssertion) -> Result<String, SamlError> {
    let name = match assertion.attribute(ROLE_SESSION_NAME_ATTRIBUTE) {
        [one] => one.clone(),
        other => {
            return Err(SamlError::Attribute {
                name: "RoleSessionName",
                message: format!("exactly one value is required, found {}", other.len()),
            });
        }
    };
    check_session_name(&name).map_err(|_| SamlError::Attribute {
        name: "RoleSessionName",
        message: format!("{name:?} is not 2-64 characters of letters, digits and . @ _ -"),
    })?;
    Ok(name)
}

/// The session lifetime an assertion asks for: its SessionDuration attribute (900 to the
/// role's maximum), or one hour capped at the role's maximum.
pub fn assertion_duration(assertion: &VerifiedAssertion, role: &Role) -> Result<i64, SamlError> {
    match assertion.attribute(SESSION_DURATION_ATTRIBUTE) {
        [] => Ok(3600.min(role.max_session_duration)),
        [v] => match v.parse::<i64>() {
            Ok(n) if (MIN_DURATION..=role.max_session_duration).contains(&n) => Ok(n),
            _ => Err(SamlError::Attribute {
                name: "SessionDuration",
                message: format!(
                    "{v:?} is not from {MIN_DURATION} to the role's maximum {}",
                    role.max_session_duration
                ),
            }),
        },
        _ => Err(SamlError::Attribute {
            name: "SessionDuration",
            message: "at most one value is allowed".into(),
        }),
    }
}

/// The role named by `role_arn`, if it exists in the provider's account and its trust policy
/// allows the provider as a Federated principal (conditions on the assertion's keys).
pub async fn trusted_role(
    store: &Store,
    clock: &dyn Clock,
    sp: &SpSettings<'_>,
    assertion: &VerifiedAssertion,
    role_arn: &str,
    provider_arn: &str,
) -> Result<Role, FederationError> {
    let rarn = super::RoleArn::parse(role_arn)?;
    let parn = ProviderArn::parse(provider_arn)
        .ok_or_else(|| FederationError::InvalidProviderArn(provider_arn.into()))?;
    if rarn.account_id != parn.account_id {
        return Err(SamlError::Attribute {
            name: "Role",
            message: "the role and the SAML provider belong to different accounts".into(),
        }
        .into());
    }
    let role = store
        .cached(clock.now_ms())
        .find_role(&rarn.account_id, &rarn.role_name)
        .await
        .map_err(StsError::from)?
        .ok_or_else(|| StsError::RoleNotFound(role_arn.into()))?;
    let role_arn = format!("acs:ram::{}:role/{}", role.account_id, role.name);
    let trusted_by_role = match policy::parse_shared(
        &role.trust_policy,
        DocumentKind::Trust,
        MAX_TRUST_POLICY_CHARS,
    ) {
        Ok(doc) => {
            let ctx = Context::new()
                .with_current_time(clock.now())
                .with("saml:recipient", assertion.recipient.as_str())
                .with("saml:sub", assertion.name_id.as_str())
                .with("saml:iss", assertion.issuer.as_str())
                .with("saml:aud", sp.entity_id);
            let principals = [PrincipalRef::Federated(provider_arn)];
            policy::evaluate(
                &[&*doc],
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
    };
    if !trusted_by_role {
        return Err(StsError::NotTrusted {
            role: role_arn,
            caller: provider_arn.into(),
        }
        .into());
    }
    Ok(role)
}

/// Single use: InResponseTo must name a request we issued for one of `accounts` (IdP-initiated
/// has none), and the assertion is recorded in the replay cache until it expires, across replicas.
/// Call last, so refused assertions do not burn their id.
pub async fn consume_assertion(
    store: &Store,
    clock: &dyn Clock,
    sp: &SpSettings<'_>,
    assertion: &VerifiedAssertion,
    accounts: &[&str],
) -> Result<(), FederationError> {
    if let Some(irt) = &assertion.in_response_to {
        let issued = store
            .consume_authn_request(irt, clock.now_ms())
            .await
            .map_err(StsError::from)?;
        if !issued.is_some_and(|a| accounts.contains(&a.as_str())) {
            return Err(SamlError::InResponseTo(irt.clone()).into());
        }
    }
    let replay_key = format!("{} {}", assertion.issuer, assertion.assertion_id);
    let expires = assertion.not_on_or_after.timestamp_millis() + sp.skew.num_milliseconds();
    if !store
        .record_assertion(&replay_key, clock.now_ms(), expires)
        .await
        .map_err(StsError::from)?
    {
        return Err(SamlError::Replayed(assertion.assertion_id.clone()).into());
    }
    Ok(())
}
