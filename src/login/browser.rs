//! Browser mode (the default): a loopback redirect with PKCE, as RFC 8252 describes for native
//! apps. The CLI listens on `127.0.0.1` at a random port, opens the system browser (or prints
//! the URL with `--no-browser`) at rambridge's `/cli-login/start` with the port and the S256
//! challenge of a fresh verifier; after the sign-in and the role choice, rambridge redirects
//! the browser to `http://127.0.0.1:<port>/callback?code=...`; the CLI redeems the code with
//! the verifier (`POST /cli-login/token`). The credentials travel only in that POST's answer.

use std::convert::Infallible;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::service::Service;
use super::{IssuedCredentials, LoginError};

/// A PKCE pair (RFC 7636): the verifier stays in the CLI; the challenge goes in the URL.
#[derive(Debug, Clone)]
pub struct Pkce {
    /// 43 characters of base64url (32 random bytes).
    pub verifier: String,
    /// base64url(SHA-256(verifier)).
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair.
    pub fn new() -> Result<Pkce, LoginError> {
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| LoginError::usage("the system random source failed"))?;
        let verifier = B64URL.encode(bytes);
        let challenge = super::server::code_challenge(&verifier);
        Ok(Pkce {
            verifier,
            challenge,
        })
    }
}

/// What the browser brought back to the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Callback {
    Code(String),
    Failed(String),
}

/// Browser-mode options.
#[derive(Debug, Clone)]
pub struct BrowserLogin<'a> {
    /// Account alias or id.
    pub account: &'a str,
    /// SAML provider (optional with one).
    pub provider: Option<&'a str>,
    /// Requested role (optional).
    pub role: Option<&'a str>,
    /// Print the URL instead of opening a browser.
    pub no_browser: bool,
    /// How long to wait for the sign-in.
    pub timeout: Duration,
}

/// Runs the browser sign-in and redeems the code.
pub async fn sign_in(
    service: &Service,
    opts: &BrowserLogin<'_>,
) -> Result<IssuedCredentials, LoginError> {
    // Fail before opening anything when the account has no SSO.
    let target = service.check(opts.account, opts.provider).await?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
        LoginError::usage(format!(
            "cannot listen on 127.0.0.1 for the browser's redirect: {e}; use --ecp or --saml-assertion-file"
        ))
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| LoginError::usage(format!("loopback listener: {e}")))?
        .port();
    let pkce = Pkce::new()?;
    let url = service.start_url(
        port,
        &pkce.challenge,
        &target.account_alias,
        Some(&target.provider),
        opts.role,
    );
    if opts.no_browser {
        eprintln!(
            "Open this URL in a browser on this computer to sign in to {} (waiting up to {}s):\n{url}",
            target.account_alias,
            opts.timeout.as_secs()
        );
    } else if webbrowser::open(&url).is_err() {
        eprintln!("Could not open a browser. Open this URL on this computer to sign in:\n{url}");
    } else {
        eprintln!(
            "Signing in to {} in your browser (waiting up to {}s). If no browser opened, visit:\n{url}",
            target.account_alias,
            opts.timeout.as_secs()
        );
    }
    let callback = tokio::time::timeout(opts.timeout, wait_for_callback(listener))
        .await
        .map_err(|_| LoginError::Timeout(opts.timeout.as_secs()))??;
    match callback {
        Callback::Code(code) => service.redeem(&code, &pkce.verifier, port).await,
        Callback::Failed(reason) => Err(LoginError::BrowserSignIn(reason)),
    }
}

/// Serves the loopback listener until the first `/callback` with a code or an error.
async fn wait_for_callback(listener: TcpListener) -> Result<Callback, LoginError> {
    let (tx, mut rx) = mpsc::channel::<Callback>(1);
    loop {
        tokio::select! {
            got = rx.recv() => {
                if let Some(cb) = got {
                    return Ok(cb);
                }
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let tx = tx.clone();
                        async move { Ok::<_, Infallible>(handle(&req, &tx)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response<String> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    resp
}

fn handle(req: &Request<Incoming>, tx: &mpsc::Sender<Callback>) -> Response<String> {
    if req.method() != hyper::Method::GET || req.uri().path() != "/callback" {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This is rambridge login's listener.",
        );
    }
    let query = req.uri().query().unwrap_or("");
    let mut code = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    let callback = match (code, error) {
        (Some(c), None) if !c.is_empty() && c.len() <= 128 => Callback::Code(c),
        (_, Some(e)) => {
            let reason: String = description
                .unwrap_or(e)
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect();
            Callback::Failed(reason)
        }
        _ => {
            return page(
                StatusCode::BAD_REQUEST,
                "Not a sign-in result",
                "This address only takes rambridge's sign-in redirect.",
            );
        }
    };
    let failed = matches!(callback, Callback::Failed(_));
    // Only the first result counts; later ones find the channel full or closed.
    if tx.try_send(callback).is_err() {
        return page(
            StatusCode::CONFLICT,
            "Already done",
            "This sign-in already finished. You can close this tab.",
        );
    }
    if failed {
        page(
            StatusCode::OK,
            "Sign-in failed",
            "The sign-in did not complete; see your terminal. You can close this tab.",
        )
    } else {
        page(
            StatusCode::OK,
            "Signed in",
            "rambridge login has your sign-in; return to your terminal. You can close this tab.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_pairs_are_fresh_and_s256() {
        let a = Pkce::new().unwrap();
        let b = Pkce::new().unwrap();
        assert_ne!(a.verifier, b.verifier);
        assert_eq!(a.verifier.len(), 43);
        assert_eq!(a.challenge.len(), 43);
        // RFC 7636 appendix B's example.
        assert_eq!(
            super::super::server::code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[tokio::test]
    async fn the_listener_takes_the_first_result_only() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let waiting = tokio::spawn(wait_for_callback(listener));
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let r = http.get(format!("{base}/other")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404);
        let r = http.get(format!("{base}/callback")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let r = http
            .get(format!("{base}/callback?code=abc_DEF-1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.text().await.unwrap().contains("Signed in"));
        assert_eq!(
            waiting.await.unwrap().unwrap(),
            Callback::Code("abc_DEF-1".into())
        );
    }

    #[tokio::test]
    async fn an_error_redirect_ends_the_wait_with_its_reason() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let waiting = tokio::spawn(wait_for_callback(listener));
        let _ = rustls::crypto::ring::default_provider().install_default();
        let r = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{port}/callback?error=access_denied&error_description=no%20role%0Afor%20you"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(
            waiting.await.unwrap().unwrap(),
            Callback::Failed("no rolefor you".into())
        );
    }
}
