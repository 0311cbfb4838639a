//! ECP mode (`--ecp`): a headless sign-in with the SAML ECP profile (see `saml::ecp`). The
//! AuthnRequest comes from rambridge (`GET /cli-login/ecp`), not from the CLI: rambridge records
//! its ID, so `AssumeRoleWithSAML` accepts the IdP's answer (`InResponseTo`) once, and only for
//! the account the sign-in started at. The CLI posts it to the IdP's ECP endpoint with HTTP
//! Basic authentication and takes the signed Response out of the SOAP answer.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::LoginError;
use super::service::{Service, excerpt, read_body, transport_detail};
use crate::saml::ecp::{idp_request, parse_idp_response, parse_paos_request};

/// What the IdP needs.
#[derive(Debug, Clone)]
pub struct IdpLogin<'a> {
    /// The IdP's ECP (SOAP) endpoint.
    pub idp_url: &'a str,
    /// User name.
    pub username: &'a str,
    /// Password.
    pub password: &'a str,
}

/// Runs the ECP exchange; returns the IdP's signed `samlp:Response` (XML).
pub async fn sign_in(
    service: &Service,
    http: &reqwest::Client,
    account: &str,
    provider: Option<&str>,
    idp: &IdpLogin<'_>,
) -> Result<Vec<u8>, LoginError> {
    let paos = service.ecp_request(account, provider).await?;
    let sp = parse_paos_request(&paos)?;
    let envelope = idp_request(&sp.authn_request);
    let resp = http
        .post(idp.idp_url)
        .header(CONTENT_TYPE, "text/xml; charset=utf-8")
        .header(ACCEPT, "text/xml, application/soap+xml")
        .header("SOAPAction", "\"\"")
        .basic_auth(idp.username, Some(idp.password))
        .body(envelope)
        .send()
        .await
        .map_err(|e| LoginError::IdpUnreachable {
            url: idp.idp_url.to_string(),
            detail: transport_detail(&e),
        })?;
    let status = resp.status();
    let body = read_body(resp, idp.idp_url).await.map_err(|e| match e {
        LoginError::EndpointUnreachable { url, detail } => {
            LoginError::IdpUnreachable { url, detail }
        }
        other => other,
    })?;
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(LoginError::IdpAuthentication {
            username: idp.username.to_string(),
            status: status.as_u16(),
        });
    }
    // A SOAP Fault comes with HTTP 500 (SOAP 1.1 §6.2): read it for its reason.
    if !status.is_success() && status != StatusCode::INTERNAL_SERVER_ERROR {
        return Err(LoginError::IdpHttp {
            url: idp.idp_url.to_string(),
            status: status.as_u16(),
            detail: excerpt(&body),
        });
    }
    match parse_idp_response(&body, &sp.response_consumer_url) {
        Ok(r) => Ok(r.response),
        Err(e) if !status.is_success() => Err(LoginError::IdpHttp {
            url: idp.idp_url.to_string(),
            status: status.as_u16(),
            detail: match e {
                crate::saml::ecp::EcpError::Fault(reason) => reason,
                _ => excerpt(&body),
            },
        }),
        Err(e) => Err(e.into()),
    }
}
