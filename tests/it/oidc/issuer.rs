//! A small OpenID issuer for tests: HTTPS on 127.0.0.1:0 with a certificate made here (self-signed,
//! or issued by a CA made here and presented with it), serving
//! `/.well-known/openid-configuration` and `/jwks` from values the test changes, counting
//! requests per path, and able to fail on demand.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rambridge::oidc::test_issuer::{self, TestKey};
use rambridge::oidc::tls::sha1_fingerprint;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// How the issuer's TLS chain is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chain {
    /// One self-signed certificate (its own fingerprint is registered).
    SelfSigned,
    /// A leaf issued by a CA made here; both are presented (the CA's fingerprint is registered).
    Ca,
}

#[derive(Default)]
struct State {
    jwks: Value,
    discovery: Option<Value>,
    fail_status: Option<u16>,
    hits: HashMap<String, usize>,
}

pub struct TestIssuer {
    pub addr: SocketAddr,
    /// SHA-1 fingerprint (hex) of the certificate to register (the CA for [`Chain::Ca`]).
    pub fingerprint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

fn tls_chain(chain: Chain) -> (Vec<CertificateDer<'static>>, KeyPair, String) {
    let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    match chain {
        Chain::SelfSigned => {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .self_signed(&key)
                .unwrap();
            let fp = sha1_fingerprint(cert.der());
            (vec![cert.der().clone()], key, fp)
        }
        Chain::Ca => {
            let ca_key = KeyPair::generate().unwrap();
            let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            ca_params
                .distinguished_name
                .push(DnType::CommonName, "rambridge TEST-ONLY issuer CA");
            let ca = ca_params.self_signed(&ca_key).unwrap();
            let fp = sha1_fingerprint(ca.der());
            let issuer = Issuer::new(ca_params, ca_key);
            let key = KeyPair::generate().unwrap();
            let leaf = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &issuer)
                .unwrap();
            (vec![leaf.der().clone(), ca.der().clone()], key, fp)
        }
    }
}

impl TestIssuer {
    pub async fn start(chain: Chain, keys: &[&TestKey]) -> TestIssuer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (certs, key, fingerprint) = tls_chain(chain);
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            certs,
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            jwks: test_issuer::jwks(keys).unwrap(),
            ..State::default()
        }));
        let issuer_url = format!("https://{addr}");
        let s = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, s, issuer_url) = (acceptor.clone(), s.clone(), issuer_url.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                        let path = req.uri().path().to_string();
                        let (status, body) = {
                            let mut st = s.lock().unwrap();
                            *st.hits.entry(path.clone()).or_default() += 1;
                            match (st.fail_status, path.as_str()) {
                                (Some(code), _) => (code, json!({"error": "down"})),
                                (None, "/.well-known/openid-configuration") => (
                                    200,
                                    st.discovery.clone().unwrap_or_else(|| {
                                        json!({"issuer": issuer_url,
                                               "jwks_uri": format!("{issuer_url}/jwks"),
                                               "authorization_endpoint": format!("{issuer_url}/auth"),
                                               "token_endpoint": format!("{issuer_url}/token")})
                                    }),
                                ),
                                (None, "/jwks") => (200, st.jwks.clone()),
                                _ => (404, json!({"error": "not found"})),
                            }
                        };
                        let resp = axum::http::Response::builder()
                            .status(status)
                            .header("content-type", "application/json")
                            .body(axum::body::Body::from(body.to_string()))
                            .unwrap();
                        async move { Ok::<_, std::convert::Infallible>(resp) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        TestIssuer {
            addr,
            fingerprint,
            state,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Publishes these keys from now on.
    pub fn publish(&self, keys: &[&TestKey]) {
        self.state.lock().unwrap().jwks = test_issuer::jwks(keys).unwrap();
    }

    /// Serves this discovery document instead of the default one.
    pub fn discovery(&self, doc: Value) {
        self.state.lock().unwrap().discovery = Some(doc);
    }

    /// Answers every request with `status` (None: serve normally).
    pub fn fail(&self, status: Option<u16>) {
        self.state.lock().unwrap().fail_status = status;
    }

    /// Requests to `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
