//! Shared harness for in-process API tests: `router(state)` over a temporary SQLite store, a
//! fixed clock, and one account whose root key signs requests.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{TimeZone, Utc};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::client::{self, Credentials};
use crate::clock::{FixedClock, format_iso8601};
use crate::config::{Config, Settings};
use crate::crypto::{Keyring, MasterKey};
use crate::ram::{self, CreatedAccount};
use crate::store::Store;
use crate::{AppState, router};

/// The error code of a response body.
pub fn code(body: &Value) -> &str {
    body["Code"].as_str().unwrap_or("")
}

pub struct Harness {
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    pub account: CreatedAccount,
    _dir: Arc<tempfile::TempDir>,
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with(Settings::default()).await
    }

    pub async fn with(settings: Settings) -> Harness {
        // Logs go to the test's captured output (shown when it fails).
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("rambridge=debug")
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        let keys = Keyring::new(MasterKey::from_bytes(&[3u8; 32]).unwrap());
        let clock = Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        ));
        let account = ram::create_account(&store, &keys, clock.as_ref(), "acme")
            .await
            .unwrap();
        let config = Config::from_settings(Settings {
            database_url: Some(url),
            ..settings
        })
        .unwrap();
        let state = AppState::new(
            config,
            store,
            keys,
            clock.clone(),
            "http://127.0.0.1:8080".into(),
        );
        Harness {
            state,
            clock,
            account,
            _dir: Arc::new(dir),
        }
    }

    /// A second server on the same database (another replica): its own store handle (and so
    /// its own caches) and its own clock, starting at this one's time; same keys and account.
    pub async fn replica(&self) -> Harness {
        let url = self.state.config.database_url.clone();
        let store = Store::connect(&url).await.unwrap();
        let clock = Arc::new(FixedClock::new(crate::clock::Clock::now(
            self.clock.as_ref(),
        )));
        let keys = Keyring::new(MasterKey::from_bytes(&[3u8; 32]).unwrap());
        let state = AppState::new(
            (*self.state.config).clone(),
            store,
            keys,
            clock.clone(),
            "http://127.0.0.1:8080".into(),
        );
        Harness {
            state,
            clock,
            account: self.account.clone(),
            _dir: self._dir.clone(),
        }
    }

    pub fn creds(&self) -> Credentials {
        Credentials {
            access_key_id: self.account.access_key_id.clone(),
            access_key_secret: self.account.access_key_secret.clone(),
            security_token: None,
        }
    }

    pub fn now(&self) -> String {
        format_iso8601(crate::clock::Clock::now(self.clock.as_ref()))
    }

    /// A v1-signed GET with the given action/version and overrides applied after signing.
    pub fn v1_query(
        &self,
        creds: &Credentials,
        action: &str,
        version: &str,
        nonce: &str,
    ) -> String {
        let mut p = BTreeMap::new();
        p.insert("Action".to_string(), action.to_string());
        p.insert("Version".to_string(), version.to_string());
        client::sign_v1("GET", &mut p, creds, &self.now(), nonce);
        client::encode_query(&p)
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let resp = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body, headers)
    }

    pub async fn get(&self, query: &str) -> (StatusCode, Value) {
        let req = Request::get(format!("/?{query}"))
            .body(Body::empty())
            .unwrap();
        let (s, b, _) = self.send(req).await;
        (s, b)
    }

    pub fn v3_request(&self, creds: &Credentials, nonce: &str, body: &[u8]) -> Request<Body> {
        let query = BTreeMap::new();
        let headers = client::sign_v3(
            &client::V3Request {
                method: "POST",
                host: "127.0.0.1:8080",
                action: "GetCallerIdentity",
                version: "2015-04-01",
                query: &query,
                body,
                date: &self.now(),
                nonce,
            },
            creds,
        );
        let mut req = Request::post("/");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.body(Body::from(body.to_vec())).unwrap()
    }
}

impl Harness {
    /// A v1-signed call of `action` with business parameters, as `creds`.
    pub async fn call(
        &self,
        creds: &Credentials,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut p = BTreeMap::new();
        p.insert("Action".to_string(), action.to_string());
        p.insert("Version".to_string(), version.to_string());
        for (k, v) in params {
            p.insert((*k).to_string(), (*v).to_string());
        }
        // The http crate caps URIs at 64 KiB; in process, long parameter sets go in a form body
        // (the TCP-level adapter that handles long request lines is tested against the binary).
        let long = p.values().map(String::len).sum::<usize>() > 60_000;
        let method = if long { "POST" } else { "GET" };
        client::sign_v1(method, &mut p, creds, &self.now(), &client::new_nonce());
        if long {
            let req = Request::post("/")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(client::encode_query(&p)))
                .unwrap();
            let (s, b, _) = self.send(req).await;
            return (s, b);
        }
        self.get(&client::encode_query(&p)).await
    }

    /// A RAM call as the account root; panics unless it succeeds.
    pub async fn ram_ok(&self, action: &str, params: &[(&str, &str)]) -> Value {
        let (status, body) = self.call(&self.creds(), "2015-05-01", action, params).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
        body
    }

    /// A RAM call as the account root that must fail with `code`.
    pub async fn ram_err(&self, action: &str, params: &[(&str, &str)], code_: &str) -> Value {
        let (status, body) = self.call(&self.creds(), "2015-05-01", action, params).await;
        assert_eq!(code(&body), code_, "{action}: {status} {body}");
        body
    }

    /// Creates a user with an AccessKey; returns its credentials.
    pub async fn user_with_key(&self, name: &str) -> Credentials {
        self.ram_ok("CreateUser", &[("UserName", name)]).await;
        let k = self.ram_ok("CreateAccessKey", &[("UserName", name)]).await;
        Credentials {
            access_key_id: k["AccessKey"]["AccessKeyId"].as_str().unwrap().to_string(),
            access_key_secret: k["AccessKey"]["AccessKeySecret"]
                .as_str()
                .unwrap()
                .to_string(),
            security_token: None,
        }
    }
}

/// Polls every future to completion concurrently on the current task.
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
