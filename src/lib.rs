//! rambridge: a self-hostable Resource Access Management service (RAM + STS + IMS in the mould of
//! Alibaba Cloud) with SSO federation, speaking the Alibaba Cloud RPC wire format so the official
//! SDKs work unchanged.
//!
//! Module map (see `docs/architecture.md`):
//! - [`config`]: one typed configuration, layered flags > env > file > defaults.
//! - [`api`]: the RPC endpoint (signatures, dispatch, error envelope) and ops endpoints.
//! - [`ram`]: accounts and identities (domain logic).
//! - [`crypto`]: master key, sealing, random ids, HMAC.
//! - [`login`]: `rambridge login` (the CLI) and its server half (loopback code exchange, ECP).
//! - [`store`]: the only module with SQL (SQLite and PostgreSQL).
//! - [`clock`]: the one source of "now".
//! - [`metrics`]: Prometheus registry.
//! - [`oidc`]: OIDC providers, issuer discovery and JWKS over pinned HTTPS, ID token checks.
//! - [`cache`]: bounded in-process caches for the hot paths.
#![warn(missing_docs)]

mod allocator;
pub mod api;
pub mod cache;
pub mod client;
pub mod clock;
pub mod config;
pub mod crypto;
#[doc(hidden)]
pub mod fuzzing;
pub mod login;
pub mod metrics;
pub mod oidc;
pub mod policy;
pub mod principal;
pub mod ram;
pub mod saml;
pub mod store;
pub mod sts;
pub mod web;
pub mod xmldsig;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::net::TcpListener;

use crate::api::error::ApiError;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::crypto::Keyring;
use crate::metrics::Metrics;
use crate::saml::refresh::MetadataClient;
use crate::store::Store;

/// rambridge's SAML service-provider identity (spec §8.1; paths as Alibaba's).
#[derive(Debug, Clone)]
pub struct SamlSp {
    /// Role-based SSO entity ID (= Audience).
    pub role_entity_id: String,
    /// Role-based SSO ACS (`/saml-role/sso`).
    pub role_acs_url: String,
    /// User-based SSO ACS (`/saml/sso`).
    pub user_acs_url: String,
    /// Public base URL.
    pub public_url: String,
    /// The SP key pair (decrypts EncryptedAssertions; published in SP metadata), if configured.
    pub key: Option<Arc<saml::encryption::SpKey>>,
}

impl SamlSp {
    /// Derives the SP settings.
    pub fn new(config: &Config, public_url: &str) -> SamlSp {
        SamlSp::with_key(config, public_url, None)
    }

    /// SP settings with a key pair.
    pub fn with_key(
        config: &Config,
        public_url: &str,
        key: Option<Arc<saml::encryption::SpKey>>,
    ) -> SamlSp {
        SamlSp {
            role_entity_id: config
                .saml_role_entity_id
                .clone()
                .unwrap_or_else(|| format!("{public_url}/saml-role")),
            role_acs_url: format!("{public_url}/saml-role/sso"),
            user_acs_url: format!("{public_url}/saml/sso"),
            public_url: public_url.to_string(),
            key,
        }
    }

    /// User-based SSO entity ID of an account (Alibaba's `https://signin.aliyun.com/<id>/saml/SSO`
    /// form under our origin).
    pub fn user_entity_id(&self, account_id: &str) -> String {
        format!("{}/{account_id}/saml/SSO", self.public_url)
    }
}

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Database.
    pub store: Store,
    /// Master keys.
    pub keys: Arc<Keyring>,
    /// Time source.
    pub clock: SharedClock,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Public base URL (no trailing slash).
    pub public_url: Arc<str>,
    /// SAML SP settings derived from the configuration and the public URL.
    pub saml: Arc<SamlSp>,
    /// HTTPS client for SAML metadata URL refresh; `None` (the default of [`AppState::new`])
    /// means [`AppState::maintain`] fetches nothing. `serve` sets it from the configuration.
    pub metadata_client: Option<MetadataClient>,
    /// OIDC issuer keys (per-provider JWKS cache) and token checks.
    pub oidc: Arc<oidc::OidcVerifier>,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    issue_limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

impl AppState {
    /// Builds the state from its parts.
    pub fn new(
        config: Config,
        store: Store,
        keys: Keyring,
        clock: SharedClock,
        public_url: String,
    ) -> AppState {
        let saml = Arc::new(SamlSp::new(&config, &public_url));
        AppState::with_saml(config, store, keys, clock, public_url, saml)
    }

    /// Like [`AppState::new`], with explicit SAML SP settings (for example with a key pair).
    pub fn with_saml(
        config: Config,
        store: Store,
        keys: Keyring,
        clock: SharedClock,
        public_url: String,
        saml: Arc<SamlSp>,
    ) -> AppState {
        let rate = NonZeroU32::new(config.rate_limit_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.rate_limit_burst).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst));
        let issue_rate =
            NonZeroU32::new(config.sts_issue_rate_per_second).unwrap_or(NonZeroU32::MIN);
        let issue_burst = NonZeroU32::new(config.sts_issue_burst).unwrap_or(NonZeroU32::MIN);
        let issue_limiter =
            RateLimiter::keyed(Quota::per_second(issue_rate).allow_burst(issue_burst));
        AppState {
            saml,
            oidc: Arc::new(oidc::OidcVerifier::from_config(&config)),
            config: Arc::new(config),
            store,
            keys: Arc::new(keys),
            clock,
            metrics: Arc::new(Metrics::new()),
            public_url: public_url.into(),
            metadata_client: None,
            limiter: Arc::new(limiter),
            issue_limiter: Arc::new(issue_limiter),
        }
    }

    /// Per-AccessKey rate limit; `Throttling.User` with a retry hint when exceeded.
    pub fn check_rate(&self, access_key_id: &str) -> Result<(), ApiError> {
        self.limiter
            .check_key(&access_key_id.to_string())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::throttled(wait.as_secs() + 1)
            })
    }

    /// Per-account rate limit on STS credential issuance (the role's account), so one tenant
    /// or one runaway script cannot starve the rest.
    pub fn check_issue_rate(&self, account_id: &str) -> Result<(), ApiError> {
        self.issue_limiter
            .check_key(&account_id.to_string())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::throttled(wait.as_secs() + 1)
            })
    }

    /// Enables SAML metadata URL refresh in [`AppState::maintain`] through `client`.
    pub fn with_metadata_client(mut self, client: MetadataClient) -> AppState {
        self.metadata_client = Some(client);
        self
    }

    /// Periodic upkeep: expired nonces, replay entries and CLI logins, idle rate-limiter
    /// entries, and SAML metadata URLs due for refresh (when a metadata client is set).
    pub async fn maintain(&self) {
        match self.store.purge_expired_nonces(self.clock.now_ms()).await {
            Ok(n) if n > 0 => tracing::debug!(purged = n, "expired nonces removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "nonce purge failed"),
        }
        if let Err(e) = self
            .store
            .purge_expired_federation(self.clock.now_ms())
            .await
        {
            tracing::warn!(error = %e, "replay cache purge failed");
        }
        if let Err(e) = self.store.purge_expired_web(self.clock.now_ms()).await {
            tracing::warn!(error = %e, "console session purge failed");
        }
        if let Err(e) = self
            .store
            .purge_expired_cli_logins(self.clock.now_ms())
            .await
        {
            tracing::warn!(error = %e, "CLI login purge failed");
        }
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.issue_limiter.retain_recent();
        self.issue_limiter.shrink_to_fit();
        // Keys of providers unused for a day are dropped (deleted providers included).
        self.oidc
            .cache()
            .forget_idle(self.clock.now_ms(), 24 * 3600 * 1000);
        if let Some(client) = &self.metadata_client {
            let interval = Duration::from_secs(self.config.saml_metadata_refresh_seconds);
            match saml::refresh::refresh_due(
                &self.store,
                self.clock.as_ref(),
                client,
                interval,
                saml::refresh::BATCH,
            )
            .await
            {
                Ok(s) if s.attempted > 0 => tracing::debug!(
                    attempted = s.attempted,
                    refreshed = s.refreshed,
                    failed = s.failed,
                    "SAML metadata URLs refreshed"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "SAML metadata refresh failed"),
            }
        }
    }
}

/// The full HTTP application.
pub fn router(state: AppState) -> axum::Router {
    api::router(state.clone()).merge(web::router(state))
}

/// Opens the store and keys named by `config`.
pub async fn open(config: &Config) -> anyhow::Result<(Store, Keyring)> {
    let keys = crypto::load_keyring(&config.master_key).context("loading the master key")?;
    let store = Store::connect(&config.database_url)
        .await
        .with_context(|| format!("opening {}", store::redact_url(&config.database_url)))?;
    Ok((store, keys))
}

/// Runs the server until SIGINT/SIGTERM, then lets in-flight requests finish (bounded by the
/// configured grace period). Prints `listening on <addr>` on stdout once bound.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let metadata_client = metadata_client(&config)?;
    let (store, keys) = open(&config).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let bound = listener.local_addr()?;
    let public_url = config.public_url_or(bound);
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let sp_key = match &config.saml_sp_key {
        Some((key, cert)) => {
            let read = |p: &std::path::Path| {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
            };
            let k = saml::encryption::SpKey::from_pem(&read(key)?, &read(cert)?)
                .map_err(|e| anyhow::anyhow!("SAML SP key: {e}"))?;
            Some(Arc::new(k))
        }
        None => None,
    };
    let saml_sp = Arc::new(SamlSp::with_key(&config, &public_url, sp_key));
    let state = AppState::with_saml(
        config,
        store.clone(),
        keys,
        Arc::new(SystemClock),
        public_url,
        saml_sp,
    )
    .with_metadata_client(metadata_client);

    let upkeep = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                state.maintain().await;
            }
        })
    };

    tracing::info!(%bound, public_url = %state.public_url, backend = ?store.kind(), "rambridge started");
    println!("listening on {bound}");

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // The long-request-line adapter lets SDKs send whole metadata documents in the query string
    // (see api::long_uri); it also inserts ConnectInfo for every request.
    let server = tokio::spawn(api::long_uri::serve(listener, router(state), async {
        let _ = stop_rx.await;
    }));

    shutdown_signal().await;
    tracing::info!(
        grace_seconds = grace.as_secs(),
        "shutting down; finishing in-flight requests"
    );
    let _ = stop_tx.send(());
    match tokio::time::timeout(grace, server).await {
        Ok(joined) => joined.context("server task")?,
        Err(_) => tracing::warn!("grace period over; dropping remaining connections"),
    }
    upkeep.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The SAML metadata URL client, with the configured extra roots (a bad file stops the start).
fn metadata_client(config: &Config) -> anyhow::Result<MetadataClient> {
    let extra_roots = match &config.saml_metadata_extra_roots_file {
        Some(path) => Some(std::fs::read(path).with_context(|| {
            format!("reading saml_metadata_extra_roots_file {}", path.display())
        })?),
        None => None,
    };
    MetadataClient::with_options(
        extra_roots.as_deref(),
        config.danger_saml_metadata_allow_private_addresses,
    )
    .context("building the SAML metadata client")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
