//! Issuer discovery (OpenID Connect Discovery 1.0 §4) and the JWKS fetch, over HTTPS with the
//! provider's pinned TLS certificates ([`super::tls`]).
//!
//! Invariants:
//! * Only `https://` is fetched (redirects included, at most
//!   [`MAX_REDIRECTS`](crate::saml::refresh::MAX_REDIRECTS)), each request bounded by
//!   [`CONNECT_TIMEOUT`], [`TOTAL_TIMEOUT`] and a body limit checked while reading.
//! * Every connection (discovery document, `jwks_uri`, later the token endpoint) goes through
//!   the provider's [`PinnedVerifier`]: the keys are only as trustworthy as the channel.
//! * The discovery document's `issuer` must equal the registered IssuerUrl exactly (Discovery
//!   §4.3), and `jwks_uri` must be https.
//! * Unless `danger_oidc_allow_private_addresses` is set, only public addresses are reached
//!   (literal hosts and resolved names, redirects included; no proxy), so an account
//!   administrator cannot make the server probe its internal network through an IssuerUrl.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::OidcError;
use super::jwks::{BoxFuture, FetchKeys, IssuerKeys, JwkSet, KeySource, MAX_JWKS_BYTES};
use super::tls::{Fingerprint, PinnedVerifier, Refusal};
use crate::saml::refresh::{
    PublicOnlyResolver, RefreshError, check_literal_host, error_chain, redirect_policy,
};

/// Longest wait for a TCP+TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for one whole request (these run inside an STS call).
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest discovery document accepted.
pub const MAX_DISCOVERY_BYTES: usize = 128 * 1024;
/// Largest token endpoint answer accepted.
pub const MAX_ENDPOINT_BYTES: usize = 256 * 1024;

/// The discovery document members rambridge uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderMetadata {
    /// `issuer` (equals the registered IssuerUrl).
    pub issuer: String,
    /// `jwks_uri`.
    pub jwks_uri: String,
    /// `authorization_endpoint` (browser sign-in).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint` (browser sign-in).
    #[serde(default)]
    pub token_endpoint: Option<String>,
}

/// `<issuer>/.well-known/openid-configuration` (Discovery §4: one `/` between them).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Parses and checks a discovery document for `issuer`.
pub fn parse_metadata(body: &[u8], issuer: &str) -> Result<ProviderMetadata, OidcError> {
    let m: ProviderMetadata = serde_json::from_slice(body)
        .map_err(|e| OidcError::Discovery(format!("the discovery document is not valid: {e}")))?;
    if m.issuer != issuer {
        return Err(OidcError::Discovery(format!(
            "the discovery document names issuer {:?}, but the provider's IssuerUrl is {issuer:?}; \
             register the issuer exactly as the IdP publishes it",
            m.issuer
        )));
    }
    let jwks = Url::parse(&m.jwks_uri).map_err(|e| {
        OidcError::Discovery(format!("jwks_uri {:?} is not a URL: {e}", m.jwks_uri))
    })?;
    if jwks.scheme() != "https" {
        return Err(OidcError::Discovery(format!(
            "jwks_uri {:?} is not https",
            m.jwks_uri
        )));
    }
    Ok(m)
}

/// Fetches issuers' keys over HTTPS; cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpsFetcher {
    use_system_roots: bool,
    allow_private_addresses: bool,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

/// An HTTPS client bound to one provider's pins, and where its verifier reports refusals.
#[derive(Debug, Clone)]
pub struct PinnedClient {
    http: reqwest::Client,
    refusal: Refusal,
    allow_private_addresses: bool,
    channel: String,
}

impl HttpsFetcher {
    /// A fetcher; `use_system_roots` also accepts chains valid under the Mozilla roots,
    /// `allow_private_addresses` lifts the public-address restriction (`danger_`).
    pub fn new(use_system_roots: bool, allow_private_addresses: bool) -> HttpsFetcher {
        HttpsFetcher {
            use_system_roots,
            allow_private_addresses,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        }
    }

    /// The HTTPS client for one provider (its fingerprints, the configured roots).
    pub fn client(&self, source: &KeySource) -> Result<PinnedClient, OidcError> {
        let pins = source
            .fingerprints
            .iter()
            .map(|f| {
                Fingerprint::parse(f).ok_or_else(|| {
                    OidcError::Tls(format!("the stored fingerprint {f:?} is not hex"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let refusal: Refusal = Arc::new(Mutex::new(None));
        let build = |e: String| OidcError::Discovery(format!("building the HTTPS client: {e}"));
        let verifier = PinnedVerifier::new(
            pins,
            self.use_system_roots,
            self.provider.clone(),
            refusal.clone(),
        )
        .map_err(|e| build(e.to_string()))?;
        let mut tls = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| build(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .pool_max_idle_per_host(0)
            .redirect(redirect_policy(self.allow_private_addresses))
            .user_agent(concat!("rambridge/", env!("CARGO_PKG_VERSION")));
        if !self.allow_private_addresses {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let http = builder.build().map_err(|e| build(error_chain(&e)))?;
        let channel = match (source.fingerprints.is_empty(), self.use_system_roots) {
            (false, true) => {
                "TLS certificate pinned by a registered fingerprint or valid under \
                              the system roots"
            }
            (false, false) => "TLS certificate pinned by a registered fingerprint",
            (true, _) => "TLS certificate valid under the system roots",
        };
        Ok(PinnedClient {
            http,
            refusal,
            allow_private_addresses: self.allow_private_addresses,
            channel: channel.into(),
        })
    }
}

impl PinnedClient {
    /// GETs `url` and returns the body of a 2xx answer, at most `limit` bytes.
    pub async fn get(&self, what: &str, url: &str, limit: usize) -> Result<Vec<u8>, OidcError> {
        let fail = |why: String| OidcError::Discovery(format!("{what} {url}: {why}"));
        let parsed = Url::parse(url).map_err(|e| fail(format!("not a URL ({e})")))?;
        if parsed.scheme() != "https" {
            return Err(fail("only https:// is fetched".into()));
        }
        if !self.allow_private_addresses
            && let Err(RefreshError::NonPublicAddress(ip)) = check_literal_host(&parsed)
        {
            return Err(fail(self.private_hint(format!(
                "{ip} is not a public address; only public addresses are fetched"
            ))));
        }
        let mut response = self
            .http
            .get(parsed)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport(&fail, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(fail(format!("HTTP {}", status.as_u16())));
        }
        let too_large = || fail(format!("the answer is larger than {limit} bytes"));
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport(&fail, e))?
        {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn private_hint(&self, why: String) -> String {
        format!("{why} (set danger_oidc_allow_private_addresses only if every issuer is internal)")
    }

    /// A transport failure: the verifier's refusal when it refused, else the error chain.
    fn transport(&self, fail: &dyn Fn(String) -> OidcError, e: reqwest::Error) -> OidcError {
        if let Some(why) = self.refusal.lock().ok().and_then(|mut s| s.take()) {
            return OidcError::Tls(why);
        }
        let e = e.without_url();
        if e.is_timeout() {
            return fail(format!(
                "timed out (connect {} s, whole request {} s)",
                CONNECT_TIMEOUT.as_secs(),
                TOTAL_TIMEOUT.as_secs()
            ));
        }
        let text = error_chain(&e);
        if text.contains("non-public address") {
            return fail(self.private_hint(text));
        }
        fail(text)
    }

    /// Sends `request` (the token endpoint's POST) and returns the answer whatever its status
    /// (OAuth errors come as 400 with a JSON body), at most [`MAX_ENDPOINT_BYTES`].
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, OidcError> {
        let url = request.uri().to_string();
        let fail = |why: String| OidcError::Discovery(format!("token endpoint {url}: {why}"));
        let parsed = Url::parse(&url).map_err(|e| fail(format!("not a URL ({e})")))?;
        if parsed.scheme() != "https" {
            return Err(fail("only https:// is used".into()));
        }
        if !self.allow_private_addresses
            && let Err(RefreshError::NonPublicAddress(ip)) = check_literal_host(&parsed)
        {
            return Err(fail(self.private_hint(format!(
                "{ip} is not a public address; only public addresses are reached"
            ))));
        }
        let (parts, body) = request.into_parts();
        let mut response = self
            .http
            .request(parts.method, parsed)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport(&fail, e))?;
        let mut answer = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport(&fail, e))?
        {
            if body.len().saturating_add(chunk.len()) > MAX_ENDPOINT_BYTES {
                return Err(fail(format!(
                    "the answer is larger than {MAX_ENDPOINT_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        answer.body(body).map_err(|e| fail(e.to_string()))
    }

    /// Discovery, then the JWKS.
    pub async fn issuer_keys(&self, issuer: &str) -> Result<IssuerKeys, OidcError> {
        let url = discovery_url(issuer);
        let body = self
            .get("discovery document", &url, MAX_DISCOVERY_BYTES)
            .await?;
        let metadata = parse_metadata(&body, issuer)?;
        let body = self.get("JWKS", &metadata.jwks_uri, MAX_JWKS_BYTES).await?;
        let keys = JwkSet::parse(&body)?;
        Ok(IssuerKeys {
            metadata,
            keys,
            channel: self.channel.clone(),
        })
    }
}

impl FetchKeys for HttpsFetcher {
    fn fetch<'a>(&'a self, source: &'a KeySource) -> BoxFuture<'a, Result<IssuerKeys, OidcError>> {
        Box::pin(async move { self.client(source)?.issuer_keys(&source.issuer_url).await })
    }

    fn send<'a>(
        &'a self,
        source: &'a KeySource,
        request: http::Request<Vec<u8>>,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, OidcError>> {
        Box::pin(async move { self.client(source)?.send(request).await })
    }
}
