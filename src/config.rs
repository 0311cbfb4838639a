//! Configuration: one typed [`Config`], layered as flags > environment (`RAMBRIDGE_*`) > TOML
//! file (`--config`) > defaults, and validated once at start. Options that weaken security are
//! prefixed `danger_`. Secrets (`master_key`) are redacted from `Debug`.
//!
//! Every field of [`Settings`] is a flag, an environment variable and a file key at once; its
//! doc comment is the `--help` text. `docs/configuration.md` is the reference, and a test parses
//! `config.example.toml` so the sample cannot go stale.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use thiserror::Error;

/// Errors found while loading or validating configuration.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for [`Settings`].
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// File path.
        path: PathBuf,
        /// Parser message (line, column, key).
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("invalid setting `{key}`: {message}")]
    Invalid {
        /// Setting name as in the file.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// A secret string whose `Debug` output is redacted.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// One layer of settings. Flags and environment fill it through clap; the file through serde;
/// [`Settings::or`] stacks layers; [`Config::from_settings`] applies defaults and validates.
#[derive(clap::Args, Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "RAMBRIDGE_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Database URL: `sqlite://PATH` (created if missing, WAL mode) or `postgres://...`
    /// [default: sqlite://rambridge.db in the working directory].
    #[arg(long, env = "RAMBRIDGE_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Public base URL browsers and IdPs reach this server at, e.g. `https://sso.example.com`
    /// [default: http://<listen address>].
    #[arg(long, env = "RAMBRIDGE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Master key, base64 of 32 bytes. Seals AccessKey secrets and STS tokens. Prefer
    /// `master_key_file`. When neither is set and the database is a SQLite file, a key is
    /// generated next to it on first start.
    #[arg(long, env = "RAMBRIDGE_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<Secret>,

    /// File holding the master key (base64 of 32 bytes).
    #[arg(long, env = "RAMBRIDGE_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,

    /// Log filter in `tracing` syntax, e.g. `info` or `rambridge=debug` [default: info].
    #[arg(long, env = "RAMBRIDGE_LOG")]
    pub log: Option<String>,

    /// Largest accepted request (request line, headers and body together are bounded by this
    /// for the body, and by the HTTP server's own limits for the head) [default: 1048576].
    #[arg(long, env = "RAMBRIDGE_MAX_REQUEST_BYTES")]
    pub max_request_bytes: Option<usize>,

    /// Signed API requests each AccessKey may make per second, sustained [default: 1000].
    #[arg(long, env = "RAMBRIDGE_RATE_LIMIT_PER_SECOND")]
    pub rate_limit_per_second: Option<u32>,

    /// Burst size on top of `rate_limit_per_second` [default: 2000].
    #[arg(long, env = "RAMBRIDGE_RATE_LIMIT_BURST")]
    pub rate_limit_burst: Option<u32>,

    /// STS credentials each account may issue per second, sustained [default: 1000].
    #[arg(long, env = "RAMBRIDGE_STS_ISSUE_RATE_PER_SECOND")]
    pub sts_issue_rate_per_second: Option<u32>,

    /// Burst on top of `sts_issue_rate_per_second` [default: 2000].
    #[arg(long, env = "RAMBRIDGE_STS_ISSUE_BURST")]
    pub sts_issue_burst: Option<u32>,

    /// Accepted clock difference for request timestamps, seconds [default: 900, Alibaba's].
    #[arg(long, env = "RAMBRIDGE_SIGNATURE_WINDOW_SECONDS")]
    pub signature_window_seconds: Option<u32>,

    /// Reverse proxies whose `X-Forwarded-For`/`X-Forwarded-Proto` are believed, as a
    /// comma-separated list of addresses or CIDRs (e.g. `127.0.0.1/32,10.0.0.0/8`) [default: none].
    #[arg(long, env = "RAMBRIDGE_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,

    /// Domain suffix of user principal names: `<user>@<alias>.<suffix>` [default: onaliyun.com].
    #[arg(long, env = "RAMBRIDGE_DEFAULT_DOMAIN_SUFFIX")]
    pub default_domain_suffix: Option<String>,

    /// SP entity ID (and Audience) of role-based SAML SSO [default: <public_url>/saml-role].
    /// Set `urn:alibaba:cloudcomputing` to reuse IdP app templates made for Alibaba Cloud
    /// (then only their ACS URL needs changing).
    #[arg(long, env = "RAMBRIDGE_SAML_ROLE_ENTITY_ID")]
    pub saml_role_entity_id: Option<String>,

    /// Accepted clock difference for SAML NotBefore/NotOnOrAfter, seconds [default: 120].
    #[arg(long, env = "RAMBRIDGE_SAML_CLOCK_SKEW_SECONDS")]
    pub saml_clock_skew_seconds: Option<u32>,

    /// SP private key (PKCS#8 PEM, RSA-2048+): decrypts EncryptedAssertions. Set together
    /// with `saml_sp_cert_file`; both are then published in SP metadata.
    #[arg(long, env = "RAMBRIDGE_SAML_SP_KEY_FILE")]
    pub saml_sp_key_file: Option<PathBuf>,

    /// SP certificate (PEM) for `saml_sp_key_file`.
    #[arg(long, env = "RAMBRIDGE_SAML_SP_CERT_FILE")]
    pub saml_sp_cert_file: Option<PathBuf>,

    /// SAML provider ARNs whose signatures may use SHA-1 (RSA-SHA1, SHA-1 digests), as a
    /// comma-separated list. SHA-1 is refused for every other provider [default: none].
    #[arg(long, env = "RAMBRIDGE_DANGER_SAML_SHA1_PROVIDERS")]
    pub danger_saml_sha1_providers: Option<String>,

    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM [default: 30].
    #[arg(long, env = "RAMBRIDGE_SHUTDOWN_GRACE_SECONDS")]
    pub shutdown_grace_seconds: Option<u64>,

    /// How often a SAML provider's `MetadataUrl` is re-fetched, seconds (60 to 604800); a failed
    /// fetch keeps the last good metadata and is retried after the same time [default: 3600].
    #[arg(long, env = "RAMBRIDGE_SAML_METADATA_REFRESH_SECONDS")]
    pub saml_metadata_refresh_seconds: Option<u64>,

    /// PEM file of extra root certificates trusted when fetching SAML metadata URLs (a private
    /// CA), on top of the built-in Mozilla roots [default: none].
    #[arg(long, env = "RAMBRIDGE_SAML_METADATA_EXTRA_ROOTS_FILE")]
    pub saml_metadata_extra_roots_file: Option<PathBuf>,

    /// Lets SAML metadata URLs reach loopback, private, link-local and other non-public
    /// addresses. Off, any account administrator could make the server probe its internal
    /// network; turn on only when every IdP is internal [default: false].
    #[arg(long, env = "RAMBRIDGE_DANGER_SAML_METADATA_ALLOW_PRIVATE_ADDRESSES")]
    pub danger_saml_metadata_allow_private_addresses: Option<bool>,

    /// Lifetime of a browser console session, seconds (300 to 86400); a role session also
    /// ends when its temporary credentials expire [default: 28800].
    #[arg(long, env = "RAMBRIDGE_WEB_SESSION_SECONDS")]
    pub web_session_seconds: Option<u64>,

    /// Origins (`https://host[:port]`, comma-separated) a sign-in RelayState may send the browser
    /// to, besides rambridge's own paths; anything else is ignored [default: none].
    #[arg(long, env = "RAMBRIDGE_WEB_RELAY_STATE_ALLOWED_ORIGINS")]
    pub web_relay_state_allowed_origins: Option<String>,
    /// Accepted clock difference for OIDC token `exp`, `nbf` and `iat`, seconds (at most 600)
    /// [default: 120].
    #[arg(long, env = "RAMBRIDGE_OIDC_CLOCK_SKEW_SECONDS")]
    pub oidc_clock_skew_seconds: Option<u32>,

    /// Also trust OIDC issuers whose HTTPS certificate is valid under the built-in Mozilla roots
    /// (and let providers omit Fingerprints). Off, an issuer is trusted only through a
    /// certificate pinned by a registered fingerprint, as at Alibaba [default: false].
    #[arg(long, env = "RAMBRIDGE_OIDC_USE_SYSTEM_ROOTS")]
    pub oidc_use_system_roots: Option<bool>,

    /// How long an issuer's JWKS is used before it is fetched again, seconds (60 to 86400); a
    /// failed fetch keeps the last good keys [default: 3600].
    #[arg(long, env = "RAMBRIDGE_OIDC_JWKS_CACHE_SECONDS")]
    pub oidc_jwks_cache_seconds: Option<u64>,

    /// Fewest seconds between two fetches of one issuer's keys, whatever triggers them (a token
    /// with an unknown `kid`, an expired cache, a failed fetch), 1 to 3600 [default: 60].
    #[arg(long, env = "RAMBRIDGE_OIDC_JWKS_MIN_REFETCH_SECONDS")]
    pub oidc_jwks_min_refetch_seconds: Option<u64>,

    /// Lets OIDC issuer URLs (discovery and JWKS) reach loopback, private, link-local and other
    /// non-public addresses. Off, any account administrator could make the server probe its
    /// internal network; turn on only when every issuer is internal [default: false].
    #[arg(long, env = "RAMBRIDGE_DANGER_OIDC_ALLOW_PRIVATE_ADDRESSES")]
    pub danger_oidc_allow_private_addresses: Option<bool>,
}

impl Settings {
    /// `self` where set, otherwise `lower`.
    pub fn or(self, lower: Settings) -> Settings {
        Settings {
            listen: self.listen.or(lower.listen),
            database_url: self.database_url.or(lower.database_url),
            public_url: self.public_url.or(lower.public_url),
            master_key: self.master_key.or(lower.master_key),
            master_key_file: self.master_key_file.or(lower.master_key_file),
            log: self.log.or(lower.log),
            max_request_bytes: self.max_request_bytes.or(lower.max_request_bytes),
            rate_limit_per_second: self.rate_limit_per_second.or(lower.rate_limit_per_second),
            rate_limit_burst: self.rate_limit_burst.or(lower.rate_limit_burst),
            sts_issue_rate_per_second: self
                .sts_issue_rate_per_second
                .or(lower.sts_issue_rate_per_second),
            sts_issue_burst: self.sts_issue_burst.or(lower.sts_issue_burst),
            signature_window_seconds: self
                .signature_window_seconds
                .or(lower.signature_window_seconds),
            trusted_proxies: self.trusted_proxies.or(lower.trusted_proxies),
            default_domain_suffix: self.default_domain_suffix.or(lower.default_domain_suffix),
            saml_role_entity_id: self.saml_role_entity_id.or(lower.saml_role_entity_id),
            saml_clock_skew_seconds: self
                .saml_clock_skew_seconds
                .or(lower.saml_clock_skew_seconds),
            saml_sp_key_file: self.saml_sp_key_file.or(lower.saml_sp_key_file),
            saml_sp_cert_file: self.saml_sp_cert_file.or(lower.saml_sp_cert_file),
            shutdown_grace_seconds: self.shutdown_grace_seconds.or(lower.shutdown_grace_seconds),
            danger_saml_sha1_providers: self
                .danger_saml_sha1_providers
                .or(lower.danger_saml_sha1_providers),
            saml_metadata_refresh_seconds: self
                .saml_metadata_refresh_seconds
                .or(lower.saml_metadata_refresh_seconds),
            saml_metadata_extra_roots_file: self
                .saml_metadata_extra_roots_file
                .or(lower.saml_metadata_extra_roots_file),
            danger_saml_metadata_allow_private_addresses: self
                .danger_saml_metadata_allow_private_addresses
                .or(lower.danger_saml_metadata_allow_private_addresses),
            web_session_seconds: self.web_session_seconds.or(lower.web_session_seconds),
            web_relay_state_allowed_origins: self
                .web_relay_state_allowed_origins
                .or(lower.web_relay_state_allowed_origins),
            oidc_clock_skew_seconds: self
                .oidc_clock_skew_seconds
                .or(lower.oidc_clock_skew_seconds),
            oidc_use_system_roots: self.oidc_use_system_roots.or(lower.oidc_use_system_roots),
            oidc_jwks_cache_seconds: self
                .oidc_jwks_cache_seconds
                .or(lower.oidc_jwks_cache_seconds),
            oidc_jwks_min_refetch_seconds: self
                .oidc_jwks_min_refetch_seconds
                .or(lower.oidc_jwks_min_refetch_seconds),
            danger_oidc_allow_private_addresses: self
                .danger_oidc_allow_private_addresses
                .or(lower.danger_oidc_allow_private_addresses),
        }
    }

    /// Reads a TOML settings file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Settings::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses TOML text; unknown keys are errors.
    pub fn from_toml(text: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// Where the master key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterKeySource {
    /// Given inline (base64).
    Inline(Secret),
    /// Read from this file; with `generate_if_missing`, created (mode 0600) when absent.
    File {
        /// Key file path.
        path: PathBuf,
        /// Whether a missing file is generated (only for the default path beside SQLite).
        generate_if_missing: bool,
    },
    /// No persistent place: an in-memory database gets an ephemeral key.
    Ephemeral,
}

/// Validated configuration with defaults applied.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Database URL.
    pub database_url: String,
    /// Public base URL without a trailing slash, if configured (else derived after bind).
    pub public_url: Option<String>,
    /// Master key source.
    pub master_key: MasterKeySource,
    /// Log filter.
    pub log: String,
    /// Body size limit in bytes.
    pub max_request_bytes: usize,
    /// Sustained signed requests per second per AccessKey.
    pub rate_limit_per_second: u32,
    /// Burst on top of the sustained rate.
    pub rate_limit_burst: u32,
    /// STS credentials per second per account.
    pub sts_issue_rate_per_second: u32,
    /// Burst on top of that.
    pub sts_issue_burst: u32,
    /// Timestamp window in seconds.
    pub signature_window_seconds: u32,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Domain suffix of user principal names.
    pub default_domain_suffix: String,
    /// Role-SSO SP entity ID, if configured (else derived from the public URL).
    pub saml_role_entity_id: Option<String>,
    /// SAML clock skew in seconds.
    pub saml_clock_skew_seconds: u32,
    /// SP key and certificate files, if configured.
    pub saml_sp_key: Option<(PathBuf, PathBuf)>,
    /// Shutdown grace period in seconds.
    pub shutdown_grace_seconds: u64,
    /// Seconds between refreshes of a SAML provider's metadata URL.
    pub saml_metadata_refresh_seconds: u64,
    /// Extra trusted roots (PEM file) for metadata URL fetches; read at start.
    pub saml_metadata_extra_roots_file: Option<PathBuf>,
    /// Whether metadata URL fetches may reach non-public addresses.
    pub danger_saml_metadata_allow_private_addresses: bool,
    /// SAML provider ARNs allowed to sign with SHA-1.
    pub danger_saml_sha1_providers: Vec<String>,
    /// Browser console session lifetime, seconds.
    pub web_session_seconds: u64,
    /// Origins (`scheme://host[:port]`, lowercase) RelayState may redirect to.
    pub web_relay_state_allowed_origins: Vec<String>,
    /// OIDC clock skew in seconds.
    pub oidc_clock_skew_seconds: u32,
    /// Whether OIDC issuers may also be trusted through the Mozilla roots.
    pub oidc_use_system_roots: bool,
    /// Seconds an issuer's JWKS is used before it is fetched again.
    pub oidc_jwks_cache_seconds: u64,
    /// Fewest seconds between two fetches of one issuer's keys.
    pub oidc_jwks_min_refetch_seconds: u64,
    /// Whether OIDC issuer fetches may reach non-public addresses.
    pub danger_oidc_allow_private_addresses: bool,
}

/// Default SQLite database in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://rambridge.db";

impl Config {
    /// Applies defaults to merged settings and validates them.
    pub fn from_settings(s: Settings) -> Result<Config, ConfigError> {
        let listen = s
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let database_url = s
            .database_url
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            return Err(ConfigError::Invalid {
                key: "database_url",
                message: "must start with sqlite:// or postgres://".into(),
            });
        }
        let public_url = match s.public_url {
            Some(u) => Some(validate_public_url(&u)?),
            None => None,
        };
        let master_key = match (s.master_key, s.master_key_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: "master_key",
                    message: "set master_key or master_key_file, not both".into(),
                });
            }
            (Some(k), None) => MasterKeySource::Inline(k),
            (None, Some(path)) => MasterKeySource::File {
                path,
                generate_if_missing: false,
            },
            (None, None) => default_key_source(&database_url)?,
        };
        let max_request_bytes = s.max_request_bytes.unwrap_or(1024 * 1024);
        if max_request_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "max_request_bytes",
                message: "must be at least 1024".into(),
            });
        }
        let rate_limit_per_second = s.rate_limit_per_second.unwrap_or(1000);
        let rate_limit_burst = s.rate_limit_burst.unwrap_or(2000);
        if rate_limit_per_second == 0 || rate_limit_burst == 0 {
            return Err(ConfigError::Invalid {
                key: "rate_limit_per_second",
                message: "rate and burst must be positive".into(),
            });
        }
        let sts_issue_rate_per_second = s.sts_issue_rate_per_second.unwrap_or(1000);
        let sts_issue_burst = s.sts_issue_burst.unwrap_or(2000);
        if sts_issue_rate_per_second == 0 || sts_issue_burst == 0 {
            return Err(ConfigError::Invalid {
                key: "sts_issue_rate_per_second",
                message: "rate and burst must be positive".into(),
            });
        }
        let signature_window_seconds = s.signature_window_seconds.unwrap_or(900);
        if !(60..=3600).contains(&signature_window_seconds) {
            return Err(ConfigError::Invalid {
                key: "signature_window_seconds",
                message: "must be between 60 and 3600".into(),
            });
        }
        let trusted_proxies = parse_networks(s.trusted_proxies.as_deref().unwrap_or(""))?;
        let default_domain_suffix = s
            .default_domain_suffix
            .unwrap_or_else(|| "onaliyun.com".into());
        if default_domain_suffix.is_empty()
            || !default_domain_suffix
                .split('.')
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(ConfigError::Invalid {
                key: "default_domain_suffix",
                message: format!("{default_domain_suffix:?} is not a domain name"),
            });
        }
        let saml_clock_skew_seconds = s.saml_clock_skew_seconds.unwrap_or(120);
        if saml_clock_skew_seconds > 600 {
            return Err(ConfigError::Invalid {
                key: "saml_clock_skew_seconds",
                message: "must be at most 600".into(),
            });
        }
        let saml_metadata_refresh_seconds = s.saml_metadata_refresh_seconds.unwrap_or(3600);
        if !(60..=604_800).contains(&saml_metadata_refresh_seconds) {
            return Err(ConfigError::Invalid {
                key: "saml_metadata_refresh_seconds",
                message: "must be between 60 and 604800 (7 days)".into(),
            });
        }
        if s.saml_metadata_extra_roots_file
            .as_deref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return Err(ConfigError::Invalid {
                key: "saml_metadata_extra_roots_file",
                message: "must not be empty".into(),
            });
        }
        if s.saml_role_entity_id.as_deref().is_some_and(str::is_empty) {
            return Err(ConfigError::Invalid {
                key: "saml_role_entity_id",
                message: "must not be empty".into(),
            });
        }
        let saml_sp_key = match (s.saml_sp_key_file, s.saml_sp_cert_file) {
            (Some(k), Some(c)) => Some((k, c)),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid {
                    key: "saml_sp_key_file",
                    message: "set saml_sp_key_file and saml_sp_cert_file together".into(),
                });
            }
        };
        let danger_saml_sha1_providers: Vec<String> = s
            .danger_saml_sha1_providers
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = danger_saml_sha1_providers
            .iter()
            .find(|p| !p.starts_with("acs:ram::") || !p.contains(":saml-provider/"))
        {
            return Err(ConfigError::Invalid {
                key: "danger_saml_sha1_providers",
                message: format!("{bad:?} is not a SAML provider ARN"),
            });
        }
        let web_session_seconds = s.web_session_seconds.unwrap_or(28_800);
        if !(300..=86_400).contains(&web_session_seconds) {
            return Err(ConfigError::Invalid {
                key: "web_session_seconds",
                message: "must be between 300 and 86400 (24 hours)".into(),
            });
        }
        let web_relay_state_allowed_origins = s
            .web_relay_state_allowed_origins
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| {
                parse_origin(o).ok_or_else(|| ConfigError::Invalid {
                    key: "web_relay_state_allowed_origins",
                    message: format!(
                        "{o:?} is not an origin like https://portal.example.com[:port] (no path)"
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let oidc_clock_skew_seconds = s.oidc_clock_skew_seconds.unwrap_or(120);
        if oidc_clock_skew_seconds > 600 {
            return Err(ConfigError::Invalid {
                key: "oidc_clock_skew_seconds",
                message: "must be at most 600".into(),
            });
        }
        let oidc_jwks_cache_seconds = s.oidc_jwks_cache_seconds.unwrap_or(3600);
        if !(60..=86_400).contains(&oidc_jwks_cache_seconds) {
            return Err(ConfigError::Invalid {
                key: "oidc_jwks_cache_seconds",
                message: "must be between 60 and 86400 (one day)".into(),
            });
        }
        let oidc_jwks_min_refetch_seconds = s.oidc_jwks_min_refetch_seconds.unwrap_or(60);
        if !(1..=3600).contains(&oidc_jwks_min_refetch_seconds) {
            return Err(ConfigError::Invalid {
                key: "oidc_jwks_min_refetch_seconds",
                message: "must be between 1 and 3600".into(),
            });
        }
        Ok(Config {
            web_session_seconds,
            web_relay_state_allowed_origins,
            oidc_clock_skew_seconds,
            oidc_use_system_roots: s.oidc_use_system_roots.unwrap_or(false),
            oidc_jwks_cache_seconds,
            oidc_jwks_min_refetch_seconds,
            danger_oidc_allow_private_addresses: s
                .danger_oidc_allow_private_addresses
                .unwrap_or(false),
            danger_saml_sha1_providers,
            saml_sp_key,
            saml_role_entity_id: s.saml_role_entity_id,
            saml_clock_skew_seconds,
            listen,
            trusted_proxies,
            default_domain_suffix,
            database_url,
            public_url,
            master_key,
            log: s.log.unwrap_or_else(|| "info".into()),
            max_request_bytes,
            rate_limit_per_second,
            rate_limit_burst,
            sts_issue_rate_per_second,
            sts_issue_burst,
            signature_window_seconds,
            shutdown_grace_seconds: s.shutdown_grace_seconds.unwrap_or(30),
            saml_metadata_refresh_seconds,
            saml_metadata_extra_roots_file: s.saml_metadata_extra_roots_file,
            danger_saml_metadata_allow_private_addresses: s
                .danger_saml_metadata_allow_private_addresses
                .unwrap_or(false),
        })
    }

    /// Loads configuration: `cli` (flags and environment, as clap parsed them) over the file
    /// named by `config_file` over defaults.
    pub fn load(cli: Settings, config_file: Option<&Path>) -> Result<Config, ConfigError> {
        let file = match config_file {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        Config::from_settings(cli.or(file))
    }

    /// The public URL, or one derived from the bound address.
    pub fn public_url_or(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }
}

/// The origin (`scheme://host[:port]`, lowercase) of an absolute http(s) URL that has no path
/// beyond `/`, no query, no fragment and no user info; `None` otherwise.
pub fn parse_origin(text: &str) -> Option<String> {
    let url = reqwest::Url::parse(text).ok()?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    ok.then(|| url.origin().ascii_serialization())
}

fn parse_networks(list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Invalid {
                    key: "trusted_proxies",
                    message: format!("{s:?} is not an IP address or CIDR"),
                })
        })
        .collect()
}

fn validate_public_url(u: &str) -> Result<String, ConfigError> {
    let trimmed = u.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => {
            Ok(trimmed.to_string())
        }
        _ => Err(ConfigError::Invalid {
            key: "public_url",
            message: format!("{u:?} is not an http(s) URL without query or fragment"),
        }),
    }
}

/// The file path of a `sqlite://` URL, if it names a file.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

fn default_key_source(database_url: &str) -> Result<MasterKeySource, ConfigError> {
    if database_url.starts_with("postgres") {
        return Err(ConfigError::Invalid {
            key: "master_key",
            message: "with PostgreSQL, set master_key or master_key_file: every replica must \
                      share one key"
                .into(),
        });
    }
    match sqlite_path(database_url) {
        Some(db) => {
            let mut key = db.clone().into_os_string();
            key.push(".master-key");
            Ok(MasterKeySource::File {
                path: PathBuf::from(key),
                generate_if_missing: true,
            })
        }
        None => Ok(MasterKeySource::Ephemeral),
    }
}

#[cfg(test)]
mod tests;
