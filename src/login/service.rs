//! Talking to rambridge from the CLI: the pre-flight check and ECP start (`/cli-login/*`),
//! `AssumeRoleWithSAML` (anonymous, form-encoded, as the SDKs' v1 style), and the loopback
//! code redemption. Every refusal becomes one [`LoginError`] line with what to do; a SAML time
//! failure is checked against the server's `Date` header to tell a skewed local clock apart.

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{ACCEPT, CONTENT_TYPE, DATE};
use serde::Deserialize;

use super::{IssuedCredentials, LoginError};
use crate::clock::{Clock as _, SystemClock, format_iso8601};
use crate::saml::ecp::{PAOS_CONTENT_TYPE, PAOS_HEADER};
use crate::saml::offered::OfferedRole;

/// Largest answer read from rambridge or the IdP.
const MAX_BODY: usize = 1024 * 1024;
/// Beyond this difference with the server's clock, a time failure is blamed on this machine.
const SKEW_TOLERANCE_SECONDS: i64 = 60;

/// An HTTPS-capable client: rustls with the ring provider, the Mozilla roots plus `extra_roots`
/// (PEM, `--ca-file`), no proxy, no redirects (every call here is to an exact endpoint).
pub fn http_client(extra_roots: Option<&[u8]>) -> Result<reqwest::Client, LoginError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_roots {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| {
                LoginError::usage(format!(
                    "--ca-file: {e}; give a PEM file of CA certificates"
                ))
            })?;
        if certs.is_empty() {
            return Err(LoginError::usage(
                "--ca-file holds no PEM certificate; give a PEM file of CA certificates",
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| LoginError::usage(format!("--ca-file: {e}")))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LoginError::usage(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("rambridge-login/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LoginError::usage(format!("HTTP client setup failed: {e}")))
}

/// The error chain of a transport error, on one line.
pub fn transport_detail(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Reads a body up to [`MAX_BODY`].
pub async fn read_body(resp: reqwest::Response, url: &str) -> Result<Vec<u8>, LoginError> {
    let status = resp.status().as_u16();
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(LoginError::Protocol {
            url: url.to_string(),
            status,
            detail: "the answer is too large".into(),
        });
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| LoginError::EndpointUnreachable {
            url: url.to_string(),
            detail: transport_detail(&e),
        })?;
    if bytes.len() > MAX_BODY {
        return Err(LoginError::Protocol {
            url: url.to_string(),
            status,
            detail: "the answer is too large".into(),
        });
    }
    Ok(bytes.to_vec())
}

/// Where a CLI sign-in goes, as rambridge confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Target {
    /// Account id.
    #[serde(rename = "AccountId")]
    pub account_id: String,
    /// Account alias.
    #[serde(rename = "AccountAlias")]
    pub account_alias: String,
    /// SAML provider name.
    #[serde(rename = "SAMLProvider")]
    pub provider: String,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

#[derive(Deserialize)]
struct AssumeRoleAnswer {
    #[serde(rename = "Credentials")]
    credentials: WireCredentials,
}

#[derive(Deserialize)]
struct WireCredentials {
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "AccessKeySecret")]
    access_key_secret: String,
    #[serde(rename = "SecurityToken")]
    security_token: String,
    #[serde(rename = "Expiration")]
    expiration: String,
}

/// rambridge at one base URL.
#[derive(Debug, Clone)]
pub struct Service {
    base: String,
    http: reqwest::Client,
}

impl Service {
    /// `endpoint` is the base URL (`http(s)://host[:port][/prefix]`).
    pub fn new(endpoint: &str, http: reqwest::Client) -> Result<Service, LoginError> {
        let base = normalize_endpoint(endpoint)?;
        Ok(Service { base, http })
    }

    /// The normalised base URL (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /cli-login/check`: the account exists and has SSO (a SAML provider) set up.
    pub async fn check(&self, account: &str, provider: Option<&str>) -> Result<Target, LoginError> {
        let url = self.url_with("/cli-login/check", account, provider);
        let resp = self.send(self.http.get(&url), &url).await?;
        let status = resp.status().as_u16();
        let body = read_body(resp, &url).await?;
        if status != 200 {
            return Err(self.account_error(&url, status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| LoginError::Protocol {
            url,
            status,
            detail: e.to_string(),
        })
    }

    /// `GET /cli-login/ecp`: the SP's PAOS request for an ECP sign-in at `account`.
    pub async fn ecp_request(
        &self,
        account: &str,
        provider: Option<&str>,
    ) -> Result<Vec<u8>, LoginError> {
        let url = self.url_with("/cli-login/ecp", account, provider);
        let req = self
            .http
            .get(&url)
            .header(ACCEPT, format!("text/html; {PAOS_CONTENT_TYPE}"))
            .header("PAOS", PAOS_HEADER);
        let resp = self.send(req, &url).await?;
        let status = resp.status().as_u16();
        let body = read_body(resp, &url).await?;
        if status != 200 {
            return Err(self.account_error(&url, status, &body));
        }
        Ok(body)
    }

    /// `AssumeRoleWithSAML` with the whole Response.
    pub async fn assume_role_with_saml(
        &self,
        role: &OfferedRole,
        response_xml: &[u8],
        duration: Option<u32>,
    ) -> Result<IssuedCredentials, LoginError> {
        let url = format!("{}/", self.base);
        let now = SystemClock.now();
        let assertion = base64::engine::general_purpose::STANDARD.encode(response_xml);
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", "AssumeRoleWithSAML")
            .append_pair("Version", "2015-04-01")
            .append_pair("Format", "JSON")
            .append_pair("Timestamp", &format_iso8601(now))
            .append_pair("SignatureNonce", &crate::client::new_nonce())
            .append_pair("SAMLProviderArn", &role.provider_arn)
            .append_pair("RoleArn", &role.role_arn)
            .append_pair("SAMLAssertion", &assertion);
        if let Some(d) = duration {
            form.append_pair("DurationSeconds", &d.to_string());
        }
        let req = self
            .http
            .post(&url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.finish());
        let resp = self.send(req, &url).await?;
        let status = resp.status().as_u16();
        let server_date = resp
            .headers()
            .get(DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
            .map(|d| d.with_timezone(&chrono::Utc));
        let body = read_body(resp, &url).await?;
        if status != 200 {
            let (code, message) = envelope(&body);
            let Some(code) = code else {
                return Err(LoginError::Protocol {
                    url,
                    status,
                    detail: excerpt(&body),
                });
            };
            if matches!(
                code.as_str(),
                "AuthenticationFail.SAMLAssertion.Expired"
                    | "AuthenticationFail.SAMLAssertion.NotYetValid"
            ) {
                let local = SystemClock.now();
                let detail = match server_date {
                    Some(server)
                        if (local - server).num_seconds().abs() > SKEW_TOLERANCE_SECONDS =>
                    {
                        format!(
                            "this machine's clock is {}s {} rambridge's, and rambridge says: {message}",
                            (local - server).num_seconds().abs(),
                            if local > server { "ahead of" } else { "behind" }
                        )
                    }
                    _ => format!(
                        "the IdP's clock and rambridge's disagree (rambridge says: {message})"
                    ),
                };
                return Err(LoginError::ClockSkew { detail });
            }
            let hint = assume_hint(&code);
            return Err(LoginError::Refused {
                code,
                message,
                hint: hint.to_string(),
            });
        }
        let answer: AssumeRoleAnswer =
            serde_json::from_slice(&body).map_err(|e| LoginError::Protocol {
                url,
                status,
                detail: e.to_string(),
            })?;
        let c = answer.credentials;
        Ok(IssuedCredentials {
            access_key_id: c.access_key_id,
            access_key_secret: c.access_key_secret,
            security_token: c.security_token,
            expiration: c.expiration,
            role_arn: role.role_arn.clone(),
        })
    }

    /// `POST /cli-login/token`: redeems the browser mode's code.
    pub async fn redeem(
        &self,
        code: &str,
        verifier: &str,
        port: u16,
    ) -> Result<IssuedCredentials, LoginError> {
        let url = format!("{}/cli-login/token", self.base);
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", code)
            .append_pair("code_verifier", verifier)
            .append_pair("port", &port.to_string())
            .finish();
        let req = self
            .http
            .post(&url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let resp = self.send(req, &url).await?;
        let status = resp.status().as_u16();
        let body = read_body(resp, &url).await?;
        if status != 200 {
            let (code, message) = envelope(&body);
            return Err(match code {
                Some(code) => LoginError::Refused {
                    code,
                    message,
                    hint: "run rambridge login again".into(),
                },
                None => LoginError::Protocol {
                    url,
                    status,
                    detail: excerpt(&body),
                },
            });
        }
        serde_json::from_slice(&body).map_err(|e| LoginError::Protocol {
            url,
            status,
            detail: e.to_string(),
        })
    }

    /// The browser start URL for a loopback login.
    pub fn start_url(
        &self,
        port: u16,
        challenge: &str,
        account: &str,
        provider: Option<&str>,
        role: Option<&str>,
    ) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("port", &port.to_string())
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("account", account);
        if let Some(p) = provider {
            q.append_pair("provider", p);
        }
        if let Some(r) = role {
            q.append_pair("role", r);
        }
        format!("{}/cli-login/start?{}", self.base, q.finish())
    }

    fn url_with(&self, path: &str, account: &str, provider: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("account", account);
        if let Some(p) = provider {
            q.append_pair("provider", p);
        }
        format!("{}{path}?{}", self.base, q.finish())
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, LoginError> {
        req.send()
            .await
            .map_err(|e| LoginError::EndpointUnreachable {
                url: url.to_string(),
                detail: transport_detail(&e),
            })
    }

    /// A `/cli-login/*` refusal (account, provider, parameters).
    fn account_error(&self, url: &str, status: u16, body: &[u8]) -> LoginError {
        let (code, message) = envelope(body);
        let hint = match code.as_deref() {
            Some("EntityNotExist.Account") => "check --account (the account alias) and --endpoint",
            Some("SSONotConfigured") => {
                "ask the account's administrator to register the IdP as a SAML provider \
                 (IMS CreateSAMLProvider) for role-based SSO"
            }
            Some("EntityNotExist.SAMLProvider") => {
                "pick one of the account's providers with --provider"
            }
            Some("InvalidParameter.SAMLProvider") => "name one of them with --provider",
            Some(_) => "check the command's flags",
            None => {
                return LoginError::Protocol {
                    url: url.to_string(),
                    status,
                    detail: excerpt(body),
                };
            }
        };
        LoginError::Account {
            message,
            hint: hint.into(),
        }
    }
}

fn assume_hint(code: &str) -> &'static str {
    match code {
        "AuthenticationFail.SAMLAssertion.Replayed" => {
            "this SAML response was already used; sign in again for a fresh one"
        }
        "AuthenticationFail.SAMLAssertion.Invalid.InResponseTo" => {
            "the sign-in took too long or its request was already used; run rambridge login again"
        }
        "AuthenticationFail.SAMLAssertion.Invalid.Role" => {
            "the IdP does not offer this role to you; pick another with --role (--list-roles)"
        }
        "EntityNotExist.SAMLProvider" => {
            "SSO is not configured for this account: the SAML provider named by the IdP does not \
             exist; ask the account's administrator"
        }
        "EntityNotExist.Role" => {
            "the role named by the IdP does not exist; ask the account's administrator"
        }
        "AuthenticationFail.NoPermission" | "NoPermission" => {
            "the role's trust policy does not allow this SAML provider; ask the account's administrator"
        }
        "AuthenticationFail.IDPMetadata.Invalid" => {
            "the SAML provider's metadata in rambridge is unusable; ask the account's administrator"
        }
        c if c.starts_with("Throttling") => "too many logins right now; wait a moment and retry",
        c if c.starts_with("InvalidParameter.DurationSeconds") => {
            "choose a --duration between 900 seconds and the role's maximum session duration"
        }
        c if c.starts_with("AuthenticationFail.SAMLAssertion") => {
            "the IdP's response does not fit this rambridge (see the message); ask the IdP or \
             rambridge administrator"
        }
        _ => "ask the account's administrator if this persists",
    }
}

fn envelope(body: &[u8]) -> (Option<String>, String) {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => (e.code, e.message.unwrap_or_default()),
        Err(_) => (None, String::new()),
    }
}

/// The start of a body, for messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        out.push_str("...");
    }
    if out.is_empty() {
        "(empty body)".into()
    } else {
        out
    }
}

/// Checks and normalises `--endpoint`.
pub fn normalize_endpoint(endpoint: &str) -> Result<String, LoginError> {
    let trimmed = endpoint.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed).map_err(|e| {
        LoginError::usage(format!(
            "--endpoint {endpoint:?} is not a URL ({e}); give rambridge's base URL, e.g. https://sso.example.com"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(LoginError::usage(format!(
            "--endpoint {endpoint:?} must be an http(s) URL, e.g. https://sso.example.com"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(LoginError::usage(format!(
            "--endpoint {endpoint:?} must not have a query or fragment"
        )));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked_and_normalised() {
        assert_eq!(
            normalize_endpoint("https://sso.example.com/").unwrap(),
            "https://sso.example.com"
        );
        assert_eq!(
            normalize_endpoint(" http://127.0.0.1:8080/rb// ").unwrap(),
            "http://127.0.0.1:8080/rb"
        );
        for bad in ["sso.example.com", "ftp://x", "https://x/?a=1", ""] {
            assert!(normalize_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn excerpts_are_short_single_lines() {
        assert_eq!(excerpt(b""), "(empty body)");
        assert_eq!(excerpt(b"a\n  b"), "a b");
        assert_eq!(excerpt(&[b'x'; 300]).len(), 203);
    }
}
