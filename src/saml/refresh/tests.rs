//! Metadata URL refresh against a real HTTPS server on 127.0.0.1 (rustls, a CA and a server
//! certificate made by rcgen at test time), serving metadata the test changes between runs:
//! rollover (old+new, then new only), every failure keeping the last good copy, scheduling,
//! redirects, the non-public address guard, the IMS surface, and AssumeRoleWithSAML accepting
//! the new key after a refresh.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use tokio::net::TcpListener;

use super::{MetadataClient, RefreshSummary, is_public, refresh_due};
use crate::api::test_support::{Harness, code};
use crate::clock::Clock as _;
use crate::config::Settings;
use crate::saml::metadata::MAX_METADATA_BYTES;
use crate::saml::test_idp::ResponseBuilder;
use crate::store::SamlProvider;
use crate::xmldsig::SigningKey;

const IMS: &str = "2019-08-15";
const ISSUER: &str = "https://idp.example.test/saml/idp";
const AUDIENCE: &str = "urn:alibaba:cloudcomputing";
const ACS: &str = "http://127.0.0.1:8080/saml-role/sso";
const HOUR: Duration = Duration::from_secs(3600);

fn file(path: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The shared test IdP's current key and certificate ("old").
fn old_cert() -> Vec<u8> {
    file("../shared/fixtures/saml/idp-test-cert.der")
}

fn old_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(
        &String::from_utf8(file("../shared/fixtures/saml/idp-test-key.pem")).unwrap(),
        old_cert(),
    )
    .unwrap()
}

/// The IdP's next key ("new"): the xmldsig fixtures' throw-away RSA key.
fn new_cert() -> Vec<u8> {
    file("tests/fixtures/xmldsig/attacker-cert.der")
}

fn new_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(
        &String::from_utf8(file("tests/fixtures/xmldsig/attacker-key.pem")).unwrap(),
        new_cert(),
    )
    .unwrap()
}

/// IdP metadata for `entity_id` with these signing certificates.
fn metadata(entity_id: &str, certs: &[&[u8]], valid_until: Option<&str>) -> Vec<u8> {
    let keys: String = certs
        .iter()
        .map(|c| {
            format!(
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}\
                 </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                B64.encode(c)
            )
        })
        .collect();
    let until = valid_until
        .map(|t| format!(" validUntil=\"{t}\""))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\"?>\n<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{entity_id}\"{until}>\
         <md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{keys}\
         <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
         Location=\"https://idp.example.test/saml/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>"
    )
    .into_bytes()
}

/// What the test IdP answers on every path.
#[derive(Clone)]
struct Answer {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
    /// Sent with `Transfer-Encoding: chunked` (no Content-Length).
    chunked: bool,
}

/// An HTTPS server on 127.0.0.1:0 with a certificate for 127.0.0.1 and localhost issued by a
/// CA made here; the CA is what clients must be told to trust.
struct TestIdp {
    addr: SocketAddr,
    ca_pem: String,
    answer: Arc<Mutex<Answer>>,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TestIdp {
    async fn start() -> TestIdp {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(
            DnType::CommonName,
            format!("rambridge TEST-ONLY CA {}", uuid::Uuid::new_v4()),
        );
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = Arc::new(Mutex::new(Answer {
            status: 404,
            location: None,
            body: Vec::new(),
            chunked: false,
        }));
        let hits = Arc::new(AtomicUsize::new(0));
        let (a, h) = (answer.clone(), hits.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, a, h) = (acceptor.clone(), a.clone(), h.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |_req| {
                        h.fetch_add(1, Ordering::SeqCst);
                        let ans = a.lock().unwrap().clone();
                        let mut resp = axum::http::Response::builder().status(ans.status);
                        if let Some(l) = ans.location {
                            resp = resp.header("location", l);
                        }
                        if ans.chunked {
                            resp = resp.header("transfer-encoding", "chunked");
                        }
                        let resp = resp.body(axum::body::Body::from(ans.body)).unwrap();
                        async move { Ok::<_, std::convert::Infallible>(resp) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        TestIdp {
            addr,
            ca_pem: ca_cert.pem(),
            answer,
            hits,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    fn serve(&self, status: u16, body: Vec<u8>) {
        *self.answer.lock().unwrap() = Answer {
            status,
            location: None,
            body,
            chunked: false,
        };
    }

    fn redirect(&self, to: &str) {
        *self.answer.lock().unwrap() = Answer {
            status: 302,
            location: Some(to.to_string()),
            body: Vec::new(),
            chunked: false,
        };
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// A client trusting this server's CA (and allowed to reach 127.0.0.1).
    fn client(&self) -> MetadataClient {
        MetadataClient::with_options(Some(self.ca_pem.as_bytes()), true).unwrap()
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn ims(h: &Harness, action: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    h.call(&h.creds(), IMS, action, params).await
}

/// Creates provider `name` through IMS with metadata holding `certs` and `url`.
async fn create(h: &Harness, name: &str, certs: &[&[u8]], url: &str) {
    let doc = B64.encode(metadata(ISSUER, certs, None));
    let (status, body) = ims(
        h,
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", name),
            ("EncodedSAMLMetadataDocument", &doc),
            ("MetadataUrl", url),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn stored(h: &Harness, name: &str) -> SamlProvider {
    h.state
        .store
        .find_saml_provider(&h.account.account_id, name)
        .await
        .unwrap()
        .unwrap()
}

async fn refresh(h: &Harness, client: &MetadataClient) -> RefreshSummary {
    refresh_due(&h.state.store, h.clock.as_ref(), client, HOUR, 32)
        .await
        .unwrap()
}

fn b64s(certs: &[&[u8]]) -> Vec<String> {
    certs.iter().map(|c| B64.encode(c)).collect()
}

#[tokio::test]
async fn rollover_picks_up_new_certificates() {
    let h = Harness::new().await;
    let idp = TestIdp::start().await;
    let client = idp.client();
    let (old, new) = (old_cert(), new_cert());
    create(&h, "idp", &[&old], &idp.url("/metadata")).await;
    let created = stored(&h, "idp").await;
    assert_eq!(
        created.metadata_url.as_deref(),
        Some(&*idp.url("/metadata"))
    );
    assert_eq!(created.metadata_refreshed_at, None);

    // Rollover starts: the IdP publishes old + new.
    let both = metadata(ISSUER, &[&old, &new], None);
    idp.serve(200, both.clone());
    let s = refresh(&h, &client).await;
    assert_eq!((s.attempted, s.refreshed, s.failed), (1, 1, 0));
    let p = stored(&h, "idp").await;
    assert_eq!(p.certificates, b64s(&[&old, &new]));
    assert_eq!(p.metadata_b64, B64.encode(&both));
    assert_eq!(p.entity_id, ISSUER);
    assert_eq!(p.metadata_refreshed_at, Some(h.clock.now_ms()));
    assert_eq!(p.metadata_refresh_error, None);
    assert_eq!(p.updated_at, h.clock.now_ms());

    // Rollover ends: new only.
    h.clock.advance(chrono::Duration::hours(1));
    idp.serve(200, metadata(ISSUER, &[&new], None));
    let s = refresh(&h, &client).await;
    assert_eq!(s.refreshed, 1);
    let p = stored(&h, "idp").await;
    assert_eq!(p.certificates, b64s(&[&new]));
    assert_eq!(idp.hits(), 2);

    // Unchanged document: refreshed, but updated_at stays.
    let before = p.updated_at;
    h.clock.advance(chrono::Duration::hours(1));
    assert_eq!(refresh(&h, &client).await.refreshed, 1);
    let p = stored(&h, "idp").await;
    assert_eq!(p.updated_at, before);
    assert_eq!(p.metadata_refreshed_at, Some(h.clock.now_ms()));
}

#[tokio::test]
async fn failures_keep_the_last_good_copy_and_record_why() {
    let h = Harness::new().await;
    let idp = TestIdp::start().await;
    let client = idp.client();
    let old = old_cert();
    create(&h, "idp", &[&old], &idp.url("/metadata")).await;
    let good = stored(&h, "idp").await;

    let oversize = {
        let mut m = metadata(ISSUER, &[&old], None);
        m.resize(MAX_METADATA_BYTES + 1, b' ');
        m
    };
    type Setup = Box<dyn Fn(&TestIdp)>;
    let cases: Vec<(&str, Setup, &str)> = vec![
        (
            "500",
            Box::new(|i| i.serve(500, b"oops".to_vec())),
            "HTTP 500",
        ),
        ("404", Box::new(|i| i.serve(404, Vec::new())), "HTTP 404"),
        (
            "garbage",
            Box::new(|i| i.serve(200, b"\x00\x01 definitely not xml".to_vec())),
            "refused",
        ),
        (
            "html",
            Box::new(|i| i.serve(200, b"<html><body>sign in</body></html>".to_vec())),
            "not SAML metadata",
        ),
        (
            "expired",
            Box::new(move |i| {
                i.serve(
                    200,
                    metadata(ISSUER, &[&old_cert()], Some("2026-01-01T00:00:00Z")),
                )
            }),
            "validUntil",
        ),
        (
            "entity swap",
            Box::new(|i| {
                i.serve(
                    200,
                    metadata("https://evil.example/idp", &[&new_cert()], None),
                )
            }),
            "never change the IdP",
        ),
        (
            "oversize",
            Box::new(move |i| i.serve(200, oversize.clone())),
            "larger than 524288 bytes",
        ),
        (
            "redirect to http",
            Box::new(|i| i.redirect("http://127.0.0.1:9/metadata")),
            "non-https",
        ),
    ];
    for (what, set, expect) in cases {
        h.clock.advance(chrono::Duration::hours(1));
        set(&idp);
        let s = refresh(&h, &client).await;
        assert_eq!((s.attempted, s.failed), (1, 1), "{what}");
        let p = stored(&h, "idp").await;
        let error = p.metadata_refresh_error.clone().unwrap_or_default();
        assert!(error.contains(expect), "{what}: {error}");
        assert_eq!(p.metadata_refreshed_at, Some(h.clock.now_ms()), "{what}");
        assert_eq!(p.metadata_b64, good.metadata_b64, "{what}");
        assert_eq!(p.certificates, good.certificates, "{what}");
        assert_eq!(p.entity_id, good.entity_id, "{what}");
        assert_eq!(p.updated_at, good.updated_at, "{what}");
    }

    // GetSAMLProvider reports the failure.
    let (_, got) = ims(&h, "GetSAMLProvider", &[("SAMLProviderName", "idp")]).await;
    let sp = &got["SAMLProvider"];
    assert_eq!(sp["MetadataUrl"], idp.url("/metadata"));
    assert!(
        sp["MetadataRefreshError"]
            .as_str()
            .unwrap()
            .contains("non-https")
    );
    assert_eq!(sp["MetadataRefreshedAt"], h.now());

    // The server goes away: connection refused, still the same copy.
    idp.serve(200, metadata(ISSUER, &[&new_cert()], None));
    drop(idp);
    tokio::time::sleep(Duration::from_millis(50)).await;
    h.clock.advance(chrono::Duration::hours(1));
    let s = refresh(&h, &client).await;
    assert_eq!(s.failed, 1);
    let p = stored(&h, "idp").await;
    let error = p.metadata_refresh_error.unwrap();
    assert!(
        error.contains("could not be fetched") && error.contains("Connect"),
        "{error}"
    );
    assert_eq!(p.certificates, good.certificates);

    // And a success clears the error.
    let idp = TestIdp::start().await;
    let client = idp.client();
    idp.serve(200, metadata(ISSUER, &[&old_cert()], None));
    ims_ok(
        &h,
        "UpdateSAMLProvider",
        &[
            ("SAMLProviderName", "idp"),
            ("NewMetadataUrl", &idp.url("/md")),
        ],
    )
    .await;
    assert_eq!(refresh(&h, &client).await.refreshed, 1);
    assert_eq!(stored(&h, "idp").await.metadata_refresh_error, None);
}

async fn ims_ok(h: &Harness, action: &str, params: &[(&str, &str)]) -> Value {
    let (status, body) = ims(h, action, params).await;
    assert_eq!(status, StatusCode::OK, "{action}: {body}");
    body
}

#[tokio::test]
async fn only_due_providers_are_fetched() {
    let h = Harness::new().await;
    let idp = TestIdp::start().await;
    let client = idp.client();
    let old = old_cert();
    idp.serve(200, metadata(ISSUER, &[&old], None));
    create(&h, "a", &[&old], &idp.url("/a")).await;
    // A provider without a URL is never fetched.
    let doc = B64.encode(metadata(ISSUER, &[&old], None));
    ims_ok(
        &h,
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "plain"),
            ("EncodedSAMLMetadataDocument", &doc),
        ],
    )
    .await;

    assert_eq!(refresh(&h, &client).await.attempted, 1);
    assert_eq!(idp.hits(), 1);
    // Not due: one second short of the interval.
    h.clock.advance(chrono::Duration::seconds(3599));
    assert_eq!(refresh(&h, &client).await, RefreshSummary::default());
    assert_eq!(idp.hits(), 1);
    // A second provider, new: due at once, alone.
    create(&h, "b", &[&old], &idp.url("/b")).await;
    assert_eq!(refresh(&h, &client).await.attempted, 1);
    assert_eq!(idp.hits(), 2);
    // Due again.
    h.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(refresh(&h, &client).await.attempted, 1);
    assert_eq!(idp.hits(), 3);
    // The limit bounds one run; the rest follow in the next.
    h.clock.advance(chrono::Duration::hours(2));
    let s = refresh_due(&h.state.store, h.clock.as_ref(), &client, HOUR, 1)
        .await
        .unwrap();
    assert_eq!(s.attempted, 1);
    assert_eq!(refresh(&h, &client).await.attempted, 1);
    assert_eq!(refresh(&h, &client).await.attempted, 0);
    // A failure is retried after the interval too, not at every run.
    h.clock.advance(chrono::Duration::hours(2));
    idp.serve(503, Vec::new());
    assert_eq!(refresh(&h, &client).await.failed, 2);
    h.clock.advance(chrono::Duration::minutes(10));
    assert_eq!(refresh(&h, &client).await.attempted, 0);
    // Changing the URL makes the provider due at once; clearing it stops the fetches.
    ims_ok(
        &h,
        "UpdateSAMLProvider",
        &[
            ("SAMLProviderName", "a"),
            ("NewMetadataUrl", &idp.url("/a2")),
        ],
    )
    .await;
    ims_ok(
        &h,
        "UpdateSAMLProvider",
        &[("SAMLProviderName", "b"), ("NewMetadataUrl", "")],
    )
    .await;
    let b = stored(&h, "b").await;
    assert_eq!(
        (
            b.metadata_url,
            b.metadata_refreshed_at,
            b.metadata_refresh_error
        ),
        (None, None, None)
    );
    idp.serve(200, metadata(ISSUER, &[&old], None));
    let hits = idp.hits();
    assert_eq!(refresh(&h, &client).await.refreshed, 1);
    assert_eq!(idp.hits(), hits + 1);
    h.clock.advance(chrono::Duration::days(2));
    assert_eq!(refresh(&h, &client).await.attempted, 1); // "a" only
}

#[tokio::test]
async fn body_limit_holds_with_and_without_content_length() {
    let idp = TestIdp::start().await;
    let client = idp.client();
    for chunked in [false, true] {
        for (size, fits) in [(MAX_METADATA_BYTES, true), (MAX_METADATA_BYTES + 1, false)] {
            *idp.answer.lock().unwrap() = Answer {
                status: 200,
                location: None,
                body: vec![b'x'; size],
                chunked,
            };
            match client.fetch(&idp.url("/m")).await {
                Ok(body) => assert!(fits && body.len() == size, "{chunked} {size}"),
                Err(e) => assert!(
                    !fits && e.to_string().contains("larger than"),
                    "{chunked} {size}: {e}"
                ),
            }
        }
    }
    // Only https is fetched, whatever the stored URL says.
    let e = client
        .fetch(&format!("http://{}/m", idp.addr))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("only https"), "{e}");
}

#[tokio::test]
async fn maintain_refreshes_with_the_configured_interval() {
    let h = Harness::with(Settings {
        saml_metadata_refresh_seconds: Some(600),
        ..Settings::default()
    })
    .await;
    let idp = TestIdp::start().await;
    let old = old_cert();
    let new = new_cert();
    create(&h, "idp", &[&old], &idp.url("/metadata")).await;
    idp.serve(200, metadata(ISSUER, &[&new], None));
    // Without a client, maintain fetches nothing.
    h.state.maintain().await;
    assert_eq!(idp.hits(), 0);
    let state = h.state.clone().with_metadata_client(idp.client());
    state.maintain().await;
    assert_eq!(idp.hits(), 1);
    assert_eq!(stored(&h, "idp").await.certificates, b64s(&[&new]));
    h.clock.advance(chrono::Duration::seconds(599));
    state.maintain().await;
    assert_eq!(idp.hits(), 1);
    h.clock.advance(chrono::Duration::seconds(1));
    state.maintain().await;
    assert_eq!(idp.hits(), 2);
}

#[tokio::test]
async fn https_redirects_are_followed_up_to_three() {
    let h = Harness::new().await;
    let idp = TestIdp::start().await;
    // A second server the first one redirects to.
    let target = TestIdp::start().await;
    let old = old_cert();
    let new = new_cert();
    target.serve(200, metadata(ISSUER, &[&old, &new], None));
    create(&h, "idp", &[&old], &idp.url("/metadata")).await;
    idp.redirect(&target.url("/moved"));
    // The client must trust both CAs.
    let pem = format!("{}{}", idp.ca_pem, target.ca_pem);
    let client = MetadataClient::with_options(Some(pem.as_bytes()), true).unwrap();
    assert_eq!(refresh(&h, &client).await.refreshed, 1);
    assert_eq!(stored(&h, "idp").await.certificates, b64s(&[&old, &new]));
    // A loop is cut after three redirects.
    h.clock.advance(chrono::Duration::hours(1));
    target.redirect(&idp.url("/metadata"));
    assert_eq!(refresh(&h, &client).await.failed, 1);
    let error = stored(&h, "idp").await.metadata_refresh_error.unwrap();
    assert!(error.contains("more than 3 redirects"), "{error}");
    // A server certificate from an untrusted CA is refused.
    h.clock.advance(chrono::Duration::hours(1));
    target.serve(200, metadata(ISSUER, &[&new], None));
    assert_eq!(refresh(&h, &target.client()).await.failed, 1);
    let error = stored(&h, "idp").await.metadata_refresh_error.unwrap();
    assert!(
        error.contains("invalid peer certificate: UnknownIssuer"),
        "{error}"
    );
    assert_eq!(stored(&h, "idp").await.certificates, b64s(&[&old, &new]));
}

#[tokio::test]
async fn non_public_addresses_are_refused_unless_allowed() {
    let h = Harness::new().await;
    let idp = TestIdp::start().await;
    let old = old_cert();
    idp.serve(200, metadata(ISSUER, &[&old], None));
    let guarded = MetadataClient::with_extra_roots(idp.ca_pem.as_bytes()).unwrap();
    create(&h, "literal", &[&old], &idp.url("/metadata")).await;
    let by_name = format!("https://localhost:{}/metadata", idp.addr.port());
    create(&h, "name", &[&old], &by_name).await;
    let s = refresh(&h, &guarded).await;
    assert_eq!((s.attempted, s.failed), (2, 2));
    let literal = stored(&h, "literal").await.metadata_refresh_error.unwrap();
    assert!(
        literal.contains("non-public address 127.0.0.1"),
        "{literal}"
    );
    let name = stored(&h, "name").await.metadata_refresh_error.unwrap();
    assert!(name.contains("non-public address"), "{name}");
    assert_eq!(idp.hits(), 0);
    // The danger_ setting lets the same fetches through (by name too: the certificate has
    // localhost).
    h.clock.advance(chrono::Duration::hours(1));
    assert_eq!(refresh(&h, &idp.client()).await.refreshed, 2);

    for (ip, public) in [
        ("127.0.0.1", false),
        ("10.1.2.3", false),
        ("172.16.0.1", false),
        ("192.168.1.1", false),
        ("169.254.169.254", false),
        ("100.64.0.1", false),
        ("0.0.0.0", false),
        ("255.255.255.255", false),
        ("224.0.0.1", false),
        ("::1", false),
        ("::", false),
        ("fd00::1", false),
        ("fe80::1", false),
        ("::ffff:127.0.0.1", false),
        ("::ffff:10.0.0.1", false),
        ("64:ff9b::a00:1", false),
        ("8.8.8.8", true),
        ("1.1.1.1", true),
        ("2606:4700:4700::1111", true),
        ("::ffff:8.8.8.8", true),
    ] {
        assert_eq!(is_public(ip.parse().unwrap()), public, "{ip}");
    }
}

#[tokio::test]
async fn ims_checks_and_reports_the_metadata_url() {
    let h = Harness::new().await;
    let doc = B64.encode(metadata(ISSUER, &[&old_cert()], None));
    let long = format!("https://idp.example/{}", "a".repeat(1010));
    for (url, code_) in [
        (
            "http://idp.example/metadata",
            "InvalidParameter.MetadataUrl.Scheme",
        ),
        ("ftp://idp.example/m", "InvalidParameter.MetadataUrl.Scheme"),
        (
            "idp.example/metadata",
            "InvalidParameter.MetadataUrl.Scheme",
        ),
        (
            "https://user:pw@idp.example/m",
            "InvalidParameter.MetadataUrl.Userinfo",
        ),
        (
            "https://idp.example/m#frag",
            "InvalidParameter.MetadataUrl.Fragment",
        ),
        (
            "https://idp example/m",
            "InvalidParameter.MetadataUrl.Format",
        ),
        ("https://", "InvalidParameter.MetadataUrl.Format"),
        (long.as_str(), "InvalidParameter.MetadataUrl.Length"),
    ] {
        let (status, body) = ims(
            &h,
            "CreateSAMLProvider",
            &[
                ("SAMLProviderName", "p"),
                ("EncodedSAMLMetadataDocument", &doc),
                ("MetadataUrl", url),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert_eq!(code(&body), code_, "{url}: {body}");
    }
    // Nothing was created.
    assert!(
        h.state
            .store
            .find_saml_provider(&h.account.account_id, "p")
            .await
            .unwrap()
            .is_none()
    );
    // The document stays required on create, URL or not.
    let (_, body) = ims(
        &h,
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "p"),
            ("MetadataUrl", "https://idp.example/metadata"),
        ],
    )
    .await;
    assert_eq!(code(&body), "MissingParameter.EncodedSAMLMetadataDocument");

    // Without a URL: GetSAMLProvider has no refresh fields.
    ims_ok(
        &h,
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "p"),
            ("EncodedSAMLMetadataDocument", &doc),
        ],
    )
    .await;
    let got = ims_ok(&h, "GetSAMLProvider", &[("SAMLProviderName", "p")]).await;
    for key in ["MetadataUrl", "MetadataRefreshedAt", "MetadataRefreshError"] {
        assert!(got["SAMLProvider"].get(key).is_none(), "{key}: {got}");
    }
    // Update: plain http refused and nothing changes, even the other fields of the call.
    let (_, body) = ims(
        &h,
        "UpdateSAMLProvider",
        &[
            ("SAMLProviderName", "p"),
            ("NewDescription", "changed"),
            ("NewMetadataUrl", "http://idp.example/metadata"),
        ],
    )
    .await;
    assert_eq!(code(&body), "InvalidParameter.NewMetadataUrl.Scheme");
    let p = stored(&h, "p").await;
    assert_eq!((p.description.as_str(), p.metadata_url), ("", None));
    // Set, reported, cleared.
    ims_ok(
        &h,
        "UpdateSAMLProvider",
        &[
            ("SAMLProviderName", "p"),
            (
                "NewMetadataUrl",
                "https://idp.example/federationmetadata.xml",
            ),
        ],
    )
    .await;
    let got = ims_ok(&h, "GetSAMLProvider", &[("SAMLProviderName", "p")]).await;
    assert_eq!(
        got["SAMLProvider"]["MetadataUrl"],
        "https://idp.example/federationmetadata.xml"
    );
    assert!(got["SAMLProvider"].get("MetadataRefreshedAt").is_none());
    ims_ok(
        &h,
        "UpdateSAMLProvider",
        &[("SAMLProviderName", "p"), ("NewMetadataUrl", "")],
    )
    .await;
    assert_eq!(stored(&h, "p").await.metadata_url, None);
    // Alone, an empty NewMetadataUrl is still a change request (idempotent).
    ims_ok(
        &h,
        "UpdateSAMLProvider",
        &[("SAMLProviderName", "p"), ("NewMetadataUrl", "")],
    )
    .await;
}

/// The role-SSO fixture: a role trusting provider `idp`, and an unsigned AssumeRoleWithSAML.
struct Sso {
    h: Harness,
    provider: String,
    role: String,
}

impl Sso {
    async fn new() -> Sso {
        let h = Harness::with(Settings {
            saml_role_entity_id: Some(AUDIENCE.into()),
            ..Settings::default()
        })
        .await;
        let account = h.account.account_id.clone();
        let provider = format!("acs:ram::{account}:saml-provider/idp");
        let trust = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"Federated":["{provider}"]}},"Condition":{{"StringEquals":{{"saml:recipient":"{ACS}"}}}}}}]}}"#
        );
        h.ram_ok(
            "CreateRole",
            &[("RoleName", "sso"), ("AssumeRolePolicyDocument", &trust)],
        )
        .await;
        let role = format!("acs:ram::{account}:role/sso");
        Sso { h, provider, role }
    }

    /// AssumeRoleWithSAML with a fresh assertion signed by `key`.
    async fn assume(&self, key: &SigningKey) -> (StatusCode, Value) {
        let xml = ResponseBuilder::new(ISSUER, ACS, AUDIENCE, self.h.clock.now())
            .role(&self.role, &self.provider)
            .sign_assertion(key)
            .unwrap();
        let mut p = BTreeMap::new();
        for (k, v) in [
            ("Action", "AssumeRoleWithSAML"),
            ("Version", "2015-04-01"),
            ("Format", "json"),
            ("SAMLProviderArn", self.provider.as_str()),
            ("RoleArn", self.role.as_str()),
        ] {
            p.insert(k.to_string(), v.to_string());
        }
        p.insert("SAMLAssertion".to_string(), B64.encode(xml));
        self.h.get(&crate::client::encode_query(&p)).await
    }
}

#[tokio::test]
async fn assertion_signed_with_the_new_key_validates_after_refresh() {
    let sso = Sso::new().await;
    let h = &sso.h;
    let idp = TestIdp::start().await;
    let client = idp.client();
    let (old, new) = (old_cert(), new_cert());
    create(h, "idp", &[&old], &idp.url("/metadata")).await;

    let (status, body) = sso.assume(&old_key()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = sso.assume(&new_key()).await;
    assert_ne!(
        status,
        StatusCode::OK,
        "new key trusted before the refresh: {body}"
    );
    let refused_code = code(&body).to_string();

    // Rollover window: both keys work.
    idp.serve(200, metadata(ISSUER, &[&old, &new], None));
    assert_eq!(refresh(h, &client).await.refreshed, 1);
    for key in [old_key(), new_key()] {
        let (status, body) = sso.assume(&key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["Credentials"]["AccessKeyId"].is_string(), "{body}");
    }

    // The old key is retired.
    h.clock.advance(chrono::Duration::hours(1));
    idp.serve(200, metadata(ISSUER, &[&new], None));
    assert_eq!(refresh(h, &client).await.refreshed, 1);
    let (status, body) = sso.assume(&new_key()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = sso.assume(&old_key()).await;
    assert_ne!(status, StatusCode::OK, "{body}");
    assert_eq!(code(&body), refused_code, "{body}");

    // A failed refresh (an entityID swap to the old key) keeps trusting the new key only.
    h.clock.advance(chrono::Duration::hours(1));
    idp.serve(200, metadata("https://evil.example/idp", &[&old], None));
    assert_eq!(refresh(h, &client).await.failed, 1);
    let (status, body) = sso.assume(&new_key()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = sso.assume(&old_key()).await;
    assert_ne!(status, StatusCode::OK);
}

#[test]
fn extra_roots_must_be_pem_certificates() {
    assert!(MetadataClient::new().is_ok());
    let err = MetadataClient::with_extra_roots(b"not a pem file").unwrap_err();
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    let err = MetadataClient::with_extra_roots(
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("extra root certificates"), "{err}");
}
