//! OpenID Connect federation: OIDC providers per account, issuer discovery and JWKS over pinned
//! HTTPS, and ID token verification (spec §4.1 `AssumeRoleWithOIDC`, §5.2, §8.3).
//!
//! Flow (DESIGN.md): [`token::parse`] reads only the header (an allowed `alg`, the `kid`) →
//! [`jwks::KeyCache`] gives the provider's keys, fetched by [`discovery`] from the registered
//! IssuerUrl over a channel pinned by the registered Fingerprints ([`tls`]) → [`token::verify`]
//! checks the signature and only then the claims (`iss`, `aud`, `exp`, `nbf`, `iat`,
//! IssuanceLimitTime, `nonce`) → a [`VerifiedIdToken`], the only thing `sts` (and the browser
//! sign-in) accepts.
//!
//! Keys never come from the token (`jku`, `jwk`, `x5u`, `x5c` are ignored) and never from its
//! `iss`: only from the provider the caller named, as its administrator registered it.
//! [`OidcVerifier`] bundles the cache and the configured clock skew for the API and web layers.

pub mod discovery;
pub mod error;
pub mod jwks;
pub mod providers;
pub mod sso;
pub mod test_issuer;
pub mod tls;
pub mod token;

use std::sync::Arc;

use chrono::Duration;

pub use error::OidcError;
pub use jwks::{IssuerKeys, KeyCache, KeySource};
pub use token::VerifiedIdToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::OidcProvider;

/// The keys and settings every OIDC check uses; shared through `AppState`.
#[derive(Debug)]
pub struct OidcVerifier {
    cache: KeyCache,
    skew: Duration,
}

/// A verified token with the key set that verified it.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The token.
    pub token: VerifiedIdToken,
    /// Where the keys came from (discovery document, channel).
    pub keys: Arc<IssuerKeys>,
}

impl Verified {
    /// `OIDCTokenInfo.VerificationInfo`: how the token was checked.
    pub fn verification_info(&self) -> String {
        format!(
            "Success: {} signature verified with key {} from {} ({})",
            self.token.algorithm.name(),
            self.token.key_id.as_deref().unwrap_or("(without kid)"),
            self.keys.metadata.jwks_uri,
            self.keys.channel
        )
    }
}

impl OidcVerifier {
    /// A verifier loading keys through `fetcher`.
    pub fn new(
        fetcher: Arc<dyn jwks::FetchKeys>,
        policy: jwks::CachePolicy,
        skew: Duration,
    ) -> OidcVerifier {
        OidcVerifier {
            cache: KeyCache::new(fetcher, policy),
            skew,
        }
    }

    /// The verifier the configuration describes (HTTPS fetches, pinning, cache timing, skew).
    pub fn from_config(config: &Config) -> OidcVerifier {
        let fetcher = discovery::HttpsFetcher::new(
            config.oidc_use_system_roots,
            config.danger_oidc_allow_private_addresses,
        );
        let seconds = |s: u64| i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000);
        OidcVerifier::new(
            Arc::new(fetcher),
            jwks::CachePolicy {
                max_age_ms: seconds(config.oidc_jwks_cache_seconds),
                min_refetch_ms: seconds(config.oidc_jwks_min_refetch_seconds),
            },
            Duration::seconds(i64::from(config.oidc_clock_skew_seconds)),
        )
    }

    /// The key cache (upkeep, tests).
    pub fn cache(&self) -> &KeyCache {
        &self.cache
    }

    /// The provider's discovery document and keys, cached like the keys (browser sign-in reads
    /// the authorization and token endpoints from it before any token exists).
    pub async fn issuer(
        &self,
        provider: &OidcProvider,
        clock: &dyn Clock,
    ) -> Result<Arc<IssuerKeys>, OidcError> {
        let (arn, source) = Self::source(provider);
        self.cache.keys(&arn, &source, None, clock).await
    }

    fn source(provider: &OidcProvider) -> (String, KeySource) {
        let source = KeySource {
            issuer_url: provider.issuer_url.clone(),
            fingerprints: provider.fingerprints.clone(),
        };
        (
            providers::provider_arn(&provider.account_id, &provider.name),
            source,
        )
    }

    /// Sends `request` to one of `provider`'s endpoints over its pinned channel (the browser
    /// sign-in's code exchange).
    pub async fn send(
        &self,
        provider: &OidcProvider,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, OidcError> {
        let (_, source) = Self::source(provider);
        self.cache.fetcher().send(&source, request).await
    }

    /// Verifies `token` as issued by `provider` for one of its ClientIds; `nonce` is the
    /// browser sign-in's (`None` for STS).
    pub async fn verify(
        &self,
        provider: &OidcProvider,
        token: &str,
        nonce: Option<&str>,
        clock: &dyn Clock,
    ) -> Result<Verified, OidcError> {
        let unverified = token::parse(token)?;
        // Another issuer's token is refused before any key lookup: it must not cause a fetch.
        if let Some(iss) = unverified.unverified_issuer()
            && iss != provider.issuer_url
        {
            return Err(OidcError::Issuer {
                got: iss,
                expected: provider.issuer_url.clone(),
            });
        }
        let (arn, source) = Self::source(provider);
        let keys = self
            .cache
            .keys(&arn, &source, unverified.kid(), clock)
            .await?;
        let expectations = token::Expectations {
            issuer: &provider.issuer_url,
            client_ids: &provider.client_ids,
            now: clock.now(),
            skew: self.skew,
            max_age: Some(Duration::hours(provider.issuance_limit_hours)),
            nonce,
        };
        let token = token::verify(&unverified, &keys.keys, &expectations)?;
        Ok(Verified { token, keys })
    }
}

#[cfg(test)]
mod tests;
