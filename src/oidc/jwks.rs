//! The issuer's public keys: JWK Set parsing (RFC 7517, RFC 7518 §6) and the per-provider key
//! cache.
//!
//! Parsing keeps only what can verify an allowed algorithm: RSA keys of 2048 to 8192 bits and EC
//! keys on P-256 or P-384. Any other key (symmetric `oct`, OKP, small RSA, bad coordinates) is
//! kept as [`KeyMaterial::Unusable`] with the reason, so a token naming it gets a precise error
//! rather than "unknown key". The set is bounded: [`MAX_JWKS_BYTES`] of JSON and [`MAX_KEYS`] keys.
//!
//! [`KeyCache`] holds the last good key set per provider in memory. Invariants:
//! * A set is fetched when there is none, when it is older than the configured maximum age, or
//!   when a token names a `kid` it lacks; never more than once per provider per minimum refetch
//!   interval, whatever the cause, failures included. A flood of tokens with made-up `kid`s
//!   therefore costs the IdP at most one discovery + JWKS fetch per interval.
//! * Concurrent requests share one fetch (a per-provider async lock; the state is re-read after
//!   waiting for it).
//! * A failed fetch keeps the last good set (and records why); only a provider that never had
//!   one reports the fetch error.
//! * The entry is tied to the provider's IssuerUrl and Fingerprints: when an administrator
//!   changes either, the old keys are dropped and the next token fetches afresh.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::OidcError;
use super::discovery::ProviderMetadata;
use crate::clock::Clock;

/// Largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 128 * 1024;
/// Most keys accepted in one JWKS.
pub const MAX_KEYS: usize = 100;
/// Smallest RSA modulus accepted (bits).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (bits; ring's limit).
pub const MAX_RSA_BITS: usize = 8192;

/// An elliptic curve of an allowed algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (ES256).
    P256,
    /// NIST P-384 (ES384).
    P384,
}

/// The usable part of a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// RSA: big-endian modulus (no leading zeros) and exponent.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Exponent.
        e: Vec<u8>,
    },
    /// EC: the uncompressed point `04 || x || y`.
    Ec {
        /// Curve.
        curve: Curve,
        /// SEC1 uncompressed point.
        point: Vec<u8>,
    },
    /// A key no allowed algorithm can use, and why.
    Unusable(String),
}

/// One key of the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// `kid`.
    pub kid: Option<String>,
    /// `alg`, when the key is restricted to one algorithm.
    pub alg: Option<String>,
    /// `use` (`sig`, `enc`).
    pub key_use: Option<String>,
    /// `kty` as published.
    pub kty: String,
    /// The key.
    pub material: KeyMaterial,
}

impl Jwk {
    /// The kid for messages.
    pub fn kid_text(&self) -> String {
        self.kid
            .as_deref()
            .map_or_else(|| "(without kid)".to_string(), |k| format!("{k:?}"))
    }
}

/// A parsed JWK Set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    /// Keys in document order.
    pub keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// base64url, tolerating trailing `=` (some issuers pad).
fn b64(field: &str, v: Option<&str>) -> Result<Vec<u8>, String> {
    let v = v.ok_or_else(|| format!("member {field} is missing"))?;
    URL_SAFE_NO_PAD
        .decode(v.trim_end_matches('='))
        .map_err(|_| format!("member {field} is not base64url"))
}

fn strip_zeros(v: &[u8]) -> Vec<u8> {
    let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v.get(first..).unwrap_or_default().to_vec()
}

fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

fn material(k: &RawKey) -> Result<KeyMaterial, String> {
    match k.kty.as_deref() {
        Some("RSA") => {
            let n = strip_zeros(&b64("n", k.n.as_deref())?);
            let e = strip_zeros(&b64("e", k.e.as_deref())?);
            let bits = bit_len(&n);
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(format!(
                    "an RSA key of {bits} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} are accepted"
                ));
            }
            if e.is_empty() || e.len() > 4 {
                return Err("the RSA exponent is out of range".into());
            }
            Ok(KeyMaterial::Rsa { n, e })
        }
        Some("EC") => {
            let (curve, len) = match k.crv.as_deref() {
                Some("P-256") => (Curve::P256, 32),
                Some("P-384") => (Curve::P384, 48),
                other => {
                    return Err(format!(
                        "an EC key on curve {other:?}; P-256 and P-384 are accepted"
                    ));
                }
            };
            let x = b64("x", k.x.as_deref())?;
            let y = b64("y", k.y.as_deref())?;
            if x.len() != len || y.len() != len {
                return Err(format!("EC coordinates must be {len} bytes each"));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Ok(KeyMaterial::Ec { curve, point })
        }
        Some("oct") => Err("a symmetric (oct) key; shared secrets are never accepted".into()),
        Some(other) => Err(format!("key type {other:?}; RSA and EC are accepted")),
        None => Err("the key has no kty".into()),
    }
}

impl JwkSet {
    /// Parses a JWKS document (`{"keys":[...]}`). A malformed document is refused whole; a
    /// malformed key inside a good document becomes [`KeyMaterial::Unusable`].
    pub fn parse(body: &[u8]) -> Result<JwkSet, OidcError> {
        if body.len() > MAX_JWKS_BYTES {
            return Err(OidcError::Discovery(format!(
                "the JWKS is larger than {MAX_JWKS_BYTES} bytes"
            )));
        }
        let raw: RawSet = serde_json::from_slice(body)
            .map_err(|e| OidcError::Discovery(format!("the JWKS is not a JWK Set: {e}")))?;
        if raw.keys.len() > MAX_KEYS {
            return Err(OidcError::Discovery(format!(
                "the JWKS holds {} keys; at most {MAX_KEYS} are accepted",
                raw.keys.len()
            )));
        }
        let mut keys = Vec::with_capacity(raw.keys.len());
        for value in raw.keys {
            let k: RawKey = serde_json::from_value(value)
                .map_err(|e| OidcError::Discovery(format!("a JWKS key is malformed: {e}")))?;
            let material = material(&k).unwrap_or_else(KeyMaterial::Unusable);
            keys.push(Jwk {
                kid: k.kid,
                alg: k.alg,
                key_use: k.key_use,
                kty: k.kty.unwrap_or_default(),
                material,
            });
        }
        Ok(JwkSet { keys })
    }

    /// Whether a key has this kid.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The kids, for messages.
    pub fn kids_text(&self) -> String {
        if self.keys.is_empty() {
            return "none".into();
        }
        self.keys
            .iter()
            .map(Jwk::kid_text)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where a provider's keys come from: what an administrator registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeySource {
    /// `IssuerUrl`.
    pub issuer_url: String,
    /// `Fingerprints` (lowercase hex).
    pub fingerprints: Vec<String>,
}

/// What one fetch produced: the discovery document, the key set, and how the channel was
/// authenticated (for `OIDCTokenInfo.VerificationInfo`).
#[derive(Debug, Clone)]
pub struct IssuerKeys {
    /// The discovery document (authorization and token endpoints for browser sign-in).
    pub metadata: ProviderMetadata,
    /// The keys.
    pub keys: JwkSet,
    /// e.g. `TLS certificate pinned by fingerprint 9a2f...`.
    pub channel: String,
}

/// A boxed future, for the object-safe fetcher.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Loads an issuer's keys (over HTTPS in the server: [`super::discovery::HttpsFetcher`]).
pub trait FetchKeys: Send + Sync {
    /// Discovery, then the JWKS it names.
    fn fetch<'a>(&'a self, source: &'a KeySource) -> BoxFuture<'a, Result<IssuerKeys, OidcError>>;

    /// Sends one request to an endpoint of the issuer (the browser sign-in's token endpoint),
    /// over the same pinned channel as discovery. Sources without endpoints refuse.
    fn send<'a>(
        &'a self,
        source: &'a KeySource,
        request: http::Request<Vec<u8>>,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, OidcError>> {
        let _ = (source, request);
        Box::pin(async {
            Err(OidcError::Discovery(
                "this key source cannot reach the issuer's endpoints".into(),
            ))
        })
    }
}

/// Cache timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// A set older than this is fetched again on use (the old one kept if that fails).
    pub max_age_ms: i64,
    /// At most one fetch per provider per this interval.
    pub min_refetch_ms: i64,
}

#[derive(Default)]
struct State {
    source: Option<KeySource>,
    keys: Option<Arc<IssuerKeys>>,
    fetched_at_ms: i64,
    attempted_at_ms: Option<i64>,
    last_error: Option<OidcError>,
    used_at_ms: i64,
}

impl State {
    /// Forgets everything learnt for another source.
    fn align(&mut self, source: &KeySource) {
        if self.source.as_ref() != Some(source) {
            *self = State {
                source: Some(source.clone()),
                ..State::default()
            };
        }
    }
}

#[derive(Default)]
struct Entry {
    fetching: tokio::sync::Mutex<()>,
    state: RwLock<State>,
}

/// What the state says to do for one token.
enum Plan {
    Use(Arc<IssuerKeys>),
    Fail(OidcError),
    Fetch,
}

/// The per-provider key cache; cheap to share (`Arc`).
pub struct KeyCache {
    fetcher: Arc<dyn FetchKeys>,
    policy: CachePolicy,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    /// The fetcher (also reaches the issuer's other endpoints).
    pub fn fetcher(&self) -> &dyn FetchKeys {
        self.fetcher.as_ref()
    }

    /// A cache loading keys through `fetcher`.
    pub fn new(fetcher: Arc<dyn FetchKeys>, policy: CachePolicy) -> KeyCache {
        KeyCache {
            fetcher,
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, provider: &str) -> Arc<Entry> {
        let mut map = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(provider.to_string()).or_default().clone()
    }

    /// The cached set, if it is fresh and has the kid.
    fn hit(&self, state: &State, kid: Option<&str>, now: i64) -> Option<Arc<IssuerKeys>> {
        let k = state.keys.as_ref()?;
        let fresh = now.saturating_sub(state.fetched_at_ms) < self.policy.max_age_ms;
        (fresh && kid.is_none_or(|kid| k.keys.has_kid(kid))).then(|| k.clone())
    }

    fn plan(&self, state: &State, kid: Option<&str>, now: i64) -> Plan {
        if let Some(k) = self.hit(state, kid, now) {
            return Plan::Use(k);
        }
        let may_fetch = state
            .attempted_at_ms
            .is_none_or(|t| now.saturating_sub(t) >= self.policy.min_refetch_ms);
        match &state.keys {
            _ if may_fetch => Plan::Fetch,
            // Stale, or the kid is unknown, and no fetch is allowed now: the last good set
            // (verification then names the unknown kid).
            Some(k) => Plan::Use(k.clone()),
            None => Plan::Fail(state.last_error.clone().unwrap_or_else(|| {
                OidcError::Discovery("the issuer's keys are being loaded; retry shortly".into())
            })),
        }
    }

    /// The keys to check a token with `kid` from the provider `provider` (a stable id such as
    /// its ARN) registered with `source`. May fetch (see the module invariants).
    pub async fn keys(
        &self,
        provider: &str,
        source: &KeySource,
        kid: Option<&str>,
        clock: &dyn Clock,
    ) -> Result<Arc<IssuerKeys>, OidcError> {
        let entry = self.entry(provider);
        let now = clock.now_ms();
        {
            // Fast path: a fresh set holding the kid. Anything else is decided under the fetch
            // lock, so a request arriving during a fetch waits for its result.
            let mut state = entry
                .state
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.align(source);
            state.used_at_ms = now;
            if let Some(k) = self.hit(&state, kid, now) {
                return Ok(k);
            }
        }
        let _one_fetch = entry.fetching.lock().await;
        let now = clock.now_ms();
        {
            // Another request may have fetched (or failed) while this one waited.
            let mut state = entry
                .state
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.align(source);
            match self.plan(&state, kid, now) {
                Plan::Use(k) => return Ok(k),
                Plan::Fail(e) => return Err(e),
                Plan::Fetch => state.attempted_at_ms = Some(now),
            }
        }
        let fetched = self.fetcher.fetch(source).await;
        let mut state = entry
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.source.as_ref() != Some(source) {
            // The provider changed while fetching: this result belongs to the old registration.
            return fetched.map(Arc::new);
        }
        match fetched {
            Ok(keys) => {
                tracing::info!(
                    provider,
                    keys = keys.keys.keys.len(),
                    "OIDC issuer keys loaded"
                );
                let keys = Arc::new(keys);
                state.keys = Some(keys.clone());
                state.fetched_at_ms = now;
                state.last_error = None;
                Ok(keys)
            }
            Err(e) => {
                state.last_error = Some(e.clone());
                match &state.keys {
                    Some(k) => {
                        tracing::warn!(provider, error = %e,
                            "OIDC issuer keys could not be refreshed; the last good set is kept");
                        Ok(k.clone())
                    }
                    None => Err(e),
                }
            }
        }
    }

    /// Drops entries unused for `idle_ms` (deleted providers, idle ones); the next token
    /// fetches again.
    pub fn forget_idle(&self, now_ms: i64, idle_ms: i64) {
        let mut map = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, e| match e.state.read() {
            Ok(s) => now_ms.saturating_sub(s.used_at_ms) < idle_ms,
            Err(_) => false,
        });
    }

    /// Providers with an entry (tests, metrics).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether no provider has an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
