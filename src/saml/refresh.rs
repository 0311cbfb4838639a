//! SAML metadata URL refresh (rambridge extension): signing-certificate rollover without
//! downtime. A provider may carry an https `MetadataUrl` (see [`super::providers`]); the periodic
//! upkeep ([`crate::AppState::maintain`]) calls [`refresh_due`], which re-fetches every provider
//! whose last attempt is older than the configured interval.
//!
//! Invariants:
//! * Only `https://` is fetched, redirects included (at most [`MAX_REDIRECTS`], each to https),
//!   with rustls and the built-in Mozilla roots plus the operator's extra roots: the fetched
//!   document becomes a trust anchor, so the channel must be authenticated.
//! * A fetch is bounded: [`CONNECT_TIMEOUT`], [`TOTAL_TIMEOUT`] for the whole exchange, and
//!   [`MAX_METADATA_BYTES`] of body (checked while reading, not after).
//! * The document goes through the same strict [`parse_idp_metadata`] as an upload (validUntil
//!   against the [`Clock`]) and must keep the stored entityID: whoever controls the URL may
//!   rotate the IdP's keys, never swap the IdP's identity (the administrator's upload fixed it).
//! * Any failure keeps the last good document, entityID and certificates and records why; the
//!   next attempt comes after the same interval.
//! * Unless `danger_saml_metadata_allow_private_addresses` is set, URLs may only reach public
//!   addresses (checked on the resolved addresses and on IP-literal hosts, redirects included),
//!   so an account administrator cannot make the server probe its internal network. Proxies are
//!   not used for the same reason (the proxy would resolve the name).
//! * Several replicas may run this at once: each due provider is claimed in the store first
//!   ([`Store::claim_metadata_refresh`]), so one fetch happens per interval.
//!
//! Spec: saml-metadata-2.0-os §2.3 (validUntil), §4.1 (publication by well-known location).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Url, redirect};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use tokio::task::JoinSet;

use super::metadata::{MAX_METADATA_BYTES, MetadataError, parse_idp_metadata};
use crate::clock::Clock;
use crate::store::{SamlProvider, Store, StoreError};

/// Longest wait for a TCP+TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a whole fetch (connect, redirects, headers and body).
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Most redirects followed (each must stay on https).
pub const MAX_REDIRECTS: usize = 3;
/// Providers fetched (concurrently) by one [`refresh_due`] run of the upkeep.
pub const BATCH: usize = 32;
/// Longest error text recorded for a provider.
pub const MAX_ERROR_CHARS: usize = 1000;

/// Why the metadata client could not be built (a startup error).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The extra roots are not PEM certificates usable as trust anchors.
    #[error("extra root certificates: {0}")]
    Roots(String),
    /// The TLS or HTTP client configuration was refused.
    #[error("building the HTTPS client: {0}")]
    Build(String),
}

/// Why one refresh failed. The `Display` text is what `GetSAMLProvider` shows as
/// `MetadataRefreshError`, so it says what to fix and never carries the response body.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The stored URL is not one that is fetched.
    #[error("the metadata URL is refused: {0}")]
    Url(String),
    /// An IP-literal host (or redirect target) that is not a public address.
    #[error(
        "the metadata URL points at the non-public address {0}; only public addresses are fetched"
    )]
    NonPublicAddress(IpAddr),
    /// Connection, TLS, redirect, timeout or read failure.
    #[error("the metadata could not be fetched: {0}")]
    Fetch(String),
    /// A non-2xx answer (3xx included: redirects beyond the policy are not followed).
    #[error("the metadata URL answered HTTP {0}")]
    Status(u16),
    /// The body exceeds [`MAX_METADATA_BYTES`].
    #[error("the metadata document is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The document was refused by the metadata parser.
    #[error("the fetched metadata was refused: {0}")]
    Metadata(MetadataError),
    /// The document names another IdP.
    #[error(
        "the fetched metadata is for entityID {found}, not {expected:?}; a refresh may rotate \
         keys but never change the IdP (upload the new metadata with UpdateSAMLProvider)"
    )]
    EntityChanged {
        /// The stored entityID.
        expected: String,
        /// What the document holds instead.
        found: String,
    },
}

/// The HTTPS client used for metadata URLs; cheap to clone.
#[derive(Clone, Debug)]
pub struct MetadataClient {
    http: reqwest::Client,
    allow_private_addresses: bool,
}

impl MetadataClient {
    /// A client trusting the built-in Mozilla roots, public addresses only.
    pub fn new() -> Result<MetadataClient, ClientError> {
        MetadataClient::with_options(None, false)
    }

    /// A client also trusting the PEM certificates in `pem` (a private CA), public addresses
    /// only.
    pub fn with_extra_roots(pem: &[u8]) -> Result<MetadataClient, ClientError> {
        MetadataClient::with_options(Some(pem), false)
    }

    /// The general constructor: extra PEM roots (when given, at least one certificate) and
    /// whether non-public addresses may be reached (`danger_` configuration; tests).
    pub fn with_options(
        extra_roots_pem: Option<&[u8]>,
        allow_private_addresses: bool,
    ) -> Result<MetadataClient, ClientError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(pem) = extra_roots_pem {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| ClientError::Roots(e.to_string()))?;
            if certs.is_empty() {
                return Err(ClientError::Roots(
                    "no PEM certificate (-----BEGIN CERTIFICATE-----) found".into(),
                ));
            }
            for (i, cert) in certs.into_iter().enumerate() {
                roots
                    .add(cert)
                    .map_err(|e| ClientError::Roots(format!("certificate #{}: {e}", i + 1)))?;
            }
        }
        // The ring provider explicitly: reqwest is built without a default one (Cargo.toml).
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Build(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            // One fetch per provider per interval: a kept-alive connection would only go stale.
            .pool_max_idle_per_host(0)
            .redirect(redirect_policy(allow_private_addresses))
            .user_agent(concat!("rambridge/", env!("CARGO_PKG_VERSION")));
        if !allow_private_addresses {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Build(error_chain(&e)))?;
        Ok(MetadataClient {
            http,
            allow_private_addresses,
        })
    }

    /// Fetches `url`: the body, at most [`MAX_METADATA_BYTES`], of a 2xx answer.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, RefreshError> {
        let parsed = Url::parse(url).map_err(|e| RefreshError::Url(e.to_string()))?;
        if parsed.scheme() != "https" {
            return Err(RefreshError::Url("only https:// URLs are fetched".into()));
        }
        if !self.allow_private_addresses {
            check_literal_host(&parsed)?;
        }
        let mut response = self
            .http
            .get(parsed)
            .header(
                reqwest::header::ACCEPT,
                "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
            )
            .send()
            .await
            .map_err(fetch_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(RefreshError::Status(status.as_u16()));
        }
        let too_large = RefreshError::TooLarge {
            limit: MAX_METADATA_BYTES,
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_METADATA_BYTES as u64)
        {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
            if body.len().saturating_add(chunk.len()) > MAX_METADATA_BYTES {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// What one [`refresh_due`] run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshSummary {
    /// Fetches made (providers claimed).
    pub attempted: usize,
    /// Of those, refreshes stored.
    pub refreshed: usize,
    /// Of those, failures recorded (the last good metadata kept).
    pub failed: usize,
}

/// Re-fetches up to `limit` providers whose last attempt is at least `interval` old,
/// concurrently, and records each outcome. Store errors while listing or claiming abort the run;
/// a failed write of one outcome is logged and the rest go on.
pub async fn refresh_due(
    store: &Store,
    clock: &dyn Clock,
    client: &MetadataClient,
    interval: Duration,
    limit: usize,
) -> Result<RefreshSummary, StoreError> {
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    let now_ms = clock.now_ms();
    let due = store
        .list_saml_providers_due_for_refresh(now_ms, interval_ms, limit)
        .await?;
    let mut fetches = JoinSet::new();
    for p in due {
        let Some(url) = p.metadata_url.clone() else {
            continue;
        };
        if !store
            .claim_metadata_refresh(&p.account_id, &p.name, &url, now_ms, interval_ms)
            .await?
        {
            continue; // another replica took it, or the URL just changed
        }
        let client = client.clone();
        fetches.spawn(async move {
            let fetched = client.fetch(&url).await;
            (p, url, fetched)
        });
    }
    let mut summary = RefreshSummary::default();
    while let Some(joined) = fetches.join_next().await {
        // A fetch task that panicked leaves its claim: the provider is retried next interval.
        let Ok((p, url, fetched)) = joined else {
            continue;
        };
        summary.attempted += 1;
        let checked = fetched.and_then(|body| accept(&p, &body, clock.now()));
        let now_ms = clock.now_ms();
        let written = match &checked {
            Ok((b64, certs)) => {
                store
                    .record_metadata_refresh(
                        &p.account_id,
                        &p.name,
                        &url,
                        Ok((b64, &p.entity_id, certs)),
                        now_ms,
                    )
                    .await
            }
            Err(e) => {
                let text = truncate(&e.to_string(), MAX_ERROR_CHARS);
                store
                    .record_metadata_refresh(&p.account_id, &p.name, &url, Err(&text), now_ms)
                    .await
            }
        };
        match (&checked, written) {
            (Ok((_, certs)), Ok(true)) => {
                summary.refreshed += 1;
                tracing::info!(account = %p.account_id, provider = %p.name, certificates = certs.len(),
                    "SAML metadata refreshed");
            }
            (Err(e), Ok(true)) => {
                summary.failed += 1;
                tracing::warn!(account = %p.account_id, provider = %p.name, error = %e,
                    "SAML metadata refresh failed; the last good metadata is kept");
            }
            (_, Ok(false)) => {
                summary.failed += 1;
                tracing::info!(account = %p.account_id, provider = %p.name,
                    "SAML provider changed during its metadata refresh; outcome dropped");
            }
            (_, Err(e)) => {
                summary.failed += 1;
                tracing::warn!(account = %p.account_id, provider = %p.name, error = %e,
                    "recording a SAML metadata refresh failed");
            }
        }
    }
    Ok(summary)
}

/// Parses a fetched document for `p`: the base64 document and its signing certificates, when it
/// is valid metadata for the same entityID.
fn accept(
    p: &SamlProvider,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(String, Vec<String>), RefreshError> {
    // Selecting by the stored entityID also finds it inside an EntitiesDescriptor.
    let m = parse_idp_metadata(body, Some(&p.entity_id), now).map_err(|e| match e {
        MetadataError::EntityNotFound { available, .. } => RefreshError::EntityChanged {
            expected: p.entity_id.clone(),
            found: match available.as_slice() {
                [] => "(none)".into(),
                ids => ids
                    .iter()
                    .map(|id| format!("{id:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        },
        other => RefreshError::Metadata(other),
    })?;
    if m.entity_id != p.entity_id {
        return Err(RefreshError::EntityChanged {
            expected: p.entity_id.clone(),
            found: format!("{:?}", m.entity_id),
        });
    }
    let certs = m
        .signing_certificates
        .iter()
        .map(|c| B64.encode(c))
        .collect();
    Ok((B64.encode(body), certs))
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}...", s.get(..at).unwrap_or(s)),
        None => s.to_string(),
    }
}

/// The error and its causes (TLS verification, resolver refusals), without the URL.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn fetch_error(e: reqwest::Error) -> RefreshError {
    let e = e.without_url();
    if e.is_timeout() {
        return RefreshError::Fetch(format!(
            "timed out (connect {} s, whole fetch {} s)",
            CONNECT_TIMEOUT.as_secs(),
            TOTAL_TIMEOUT.as_secs()
        ));
    }
    RefreshError::Fetch(error_chain(&e))
}

/// Redirects: at most [`MAX_REDIRECTS`], https only, public IP literals only (names are checked
/// by the resolver).
pub(crate) fn redirect_policy(allow_private_addresses: bool) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        if attempt.url().scheme() != "https" {
            return attempt.error("redirect to a non-https URL refused");
        }
        if !allow_private_addresses && let Err(e) = check_literal_host(attempt.url()) {
            return attempt.error(e.to_string());
        }
        attempt.follow()
    })
}

/// Refuses an IP-literal host that is not public (names go through [`PublicOnlyResolver`]).
pub(crate) fn check_literal_host(url: &Url) -> Result<(), RefreshError> {
    let host = url.host_str().unwrap_or_default();
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(());
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(RefreshError::NonPublicAddress(ip))
    }
}

/// Resolves names with the system resolver and refuses any name with a non-public address
/// among its answers (a name mixing public and private answers is refused whole).
#[derive(Debug)]
pub(crate) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(format!(
                    "{host} resolves to the non-public address {}; only public addresses are fetched",
                    bad.ip()
                )
                .into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether `ip` is a globally routable unicast address (not loopback, private, shared,
/// link-local, documentation, benchmarking, reserved, multicast, unspecified or unique-local;
/// IPv4-mapped IPv6 addresses are judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking (RFC 2544)
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: reaches IPv4 behind it
        || s[..6] == [0; 6]) // IPv4-compatible and other ::/96 forms
}

#[cfg(test)]
mod tests;
