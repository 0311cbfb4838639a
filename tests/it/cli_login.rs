//! The server side of `rambridge login` in process (`router(state)` over a temporary SQLite
//! store and a fixed clock): the pre-flight and ECP endpoints, and the browser mode's loopback
//! code exchange driven through `web::cli_login::complete` the way the browser sign-in calls
//! it: single use, expiry, wrong verifier, wrong port, replay, role and account binding, and
//! credentials sealed at rest.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, TimeZone, Utc};
use rambridge::clock::FixedClock;
use rambridge::config::{Config, Settings};
use rambridge::crypto::{Keyring, MasterKey};
use rambridge::login::server::code_challenge;
use rambridge::login::{IssuedCredentials, ServerError};
use rambridge::saml::ecp::{PAOS_CONTENT_TYPE, parse_paos_request};
use rambridge::store::{Role, SamlProvider, Store};
use rambridge::sts::{Minted, SessionSpec, mint};
use rambridge::web::cli_login;
use rambridge::{AppState, router};
use serde_json::Value;
use tower::ServiceExt as _;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PORT: u16 = 50_123;

struct Env {
    state: AppState,
    clock: Arc<FixedClock>,
    account: String,
    other_account: String,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn role(account: &str, id: &str, name: &str) -> Role {
    Role {
        id: id.into(),
        account_id: account.into(),
        name: name.into(),
        description: String::new(),
        trust_policy: "{}".into(),
        max_session_duration: 3600,
        created_at: 0,
        updated_at: 0,
        sessions_valid_after: 0,
    }
}

fn provider(account: &str, name: &str) -> SamlProvider {
    SamlProvider {
        account_id: account.into(),
        name: name.into(),
        description: String::new(),
        metadata_b64: String::new(),
        entity_id: "https://idp.example.test/saml/idp".into(),
        certificates: vec![],
        authn_sign_algo: "rsa-sha256".into(),
        created_at: 0,
        updated_at: 0,
        metadata_url: None,
        metadata_refreshed_at: None,
        metadata_refresh_error: None,
    }
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let url = format!("sqlite://{}", db.display());
    let store = Store::connect(&url).await.unwrap();
    let keys = Keyring::new(MasterKey::from_bytes(&[7u8; 32]).unwrap());
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ));
    let acme = rambridge::ram::create_account(&store, &keys, clock.as_ref(), "acme")
        .await
        .unwrap();
    let other = rambridge::ram::create_account(&store, &keys, clock.as_ref(), "other")
        .await
        .unwrap();
    rambridge::ram::create_account(&store, &keys, clock.as_ref(), "nosso")
        .await
        .unwrap();
    let two = rambridge::ram::create_account(&store, &keys, clock.as_ref(), "two-idps")
        .await
        .unwrap();
    store
        .create_saml_provider(&provider(&acme.account_id, "okta"))
        .await
        .unwrap();
    store
        .create_saml_provider(&provider(&other.account_id, "okta"))
        .await
        .unwrap();
    for name in ["adfs", "okta"] {
        store
            .create_saml_provider(&provider(&two.account_id, name))
            .await
            .unwrap();
    }
    store
        .create_role(&role(&acme.account_id, "100000000000001", "admin"))
        .await
        .unwrap();
    store
        .create_role(&role(&acme.account_id, "100000000000002", "dev"))
        .await
        .unwrap();
    store
        .create_role(&role(&other.account_id, "100000000000003", "admin"))
        .await
        .unwrap();
    let config = Config::from_settings(Settings {
        database_url: Some(url),
        ..Settings::default()
    })
    .unwrap();
    let state = AppState::new(
        config,
        store,
        keys,
        clock.clone(),
        "http://127.0.0.1:8080".into(),
    );
    Env {
        state,
        clock,
        account: acme.account_id,
        other_account: other.account_id,
        db,
        _dir: dir,
    }
}

impl Env {
    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let resp = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    /// How many CLI login rows exist (purging them all to count).
    async fn rows(&self) -> u64 {
        self.state
            .store
            .purge_expired_cli_logins(i64::MAX)
            .await
            .unwrap()
    }

    async fn get(&self, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// Starts a CLI login; returns the pending id from the cookie.
    async fn start(&self, extra: &str) -> String {
        let challenge = code_challenge(VERIFIER);
        let (status, headers, body) = self
            .get(&format!(
                "/cli-login/start?port={PORT}&code_challenge={challenge}&code_challenge_method=S256&account=acme{extra}"
            ))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let cookie = headers[header::SET_COOKIE].to_str().unwrap();
        let mut request_headers = axum::http::HeaderMap::new();
        request_headers.insert(
            header::COOKIE,
            format!("theme=dark; {}", cookie.split(';').next().unwrap())
                .parse()
                .unwrap(),
        );
        cli_login::pending_id(&request_headers).expect("the cookie carries the pending id")
    }

    fn mint(&self, account: &str, id: &str, name: &str) -> Minted {
        mint(
            &self.state.keys,
            self.state.clock.as_ref(),
            &role(account, id, name),
            SessionSpec {
                session_name: "alice".into(),
                duration_s: 3600,
                session_policy: None,
                chained: false,
                source: format!("acs:ram::{account}:saml-provider/okta"),
                source_identity: None,
            },
        )
        .unwrap()
    }

    fn admin(&self) -> Minted {
        self.mint(&self.account, "100000000000001", "admin")
    }

    async fn redeem(&self, code: &str, verifier: &str, port: u16) -> (StatusCode, Value) {
        let body = format!("code={code}&code_verifier={verifier}&port={port}");
        let (status, headers, text) = self
            .send(
                Request::post("/cli-login/token")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn code_of(url: &str) -> String {
    let prefix = format!("http://127.0.0.1:{PORT}/callback?code=");
    url.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{url}"))
        .to_string()
}

#[tokio::test]
async fn start_redirects_to_the_role_sign_in_with_a_cookie() {
    let e = env().await;
    let challenge = code_challenge(VERIFIER);
    let (status, headers, _) = e
        .get(&format!(
            "/cli-login/start?port={PORT}&code_challenge={challenge}&account=acme&role=admin"
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "http://127.0.0.1:8080/saml-role/login/acme?provider=okta&RelayState=%2Fcli-login%2Fcontinue"
    );
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("rambridge_cli_login="), "{cookie}");
    for attr in ["; Path=/", "; Max-Age=600", "; HttpOnly", "; SameSite=Lax"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "http deployment: {cookie}");
    let id = cookie
        .trim_start_matches("rambridge_cli_login=")
        .split(';')
        .next()
        .unwrap();
    assert_eq!(id.len(), 43);
    assert_eq!(
        cli_login::requested_role(&e.state, id).await.unwrap(),
        Some("admin".into())
    );
    // The account's other provider is chosen by name.
    let (status, headers, _) = e
        .get(&format!(
            "/cli-login/start?port={PORT}&code_challenge={challenge}&account=two-idps&provider=adfs"
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "http://127.0.0.1:8080/saml-role/login/two-idps?provider=adfs&RelayState=%2Fcli-login%2Fcontinue"
    );
}

#[tokio::test]
async fn start_refuses_bad_input_with_a_readable_page_and_records_nothing() {
    let e = env().await;
    let challenge = code_challenge(VERIFIER);
    let cases = [
        (
            format!("code_challenge={challenge}&account=acme"),
            400,
            "port: is required",
        ),
        (
            format!("port=80&code_challenge={challenge}&account=acme"),
            400,
            "port: must be",
        ),
        (
            format!("port=http&code_challenge={challenge}&account=acme"),
            400,
            "port: must be",
        ),
        (
            format!("port={PORT}&code_challenge=short&account=acme"),
            400,
            "code_challenge: must be",
        ),
        (
            format!(
                "port={PORT}&code_challenge={challenge}&code_challenge_method=plain&account=acme"
            ),
            400,
            "only S256",
        ),
        (
            format!("port={PORT}&code_challenge={challenge}"),
            400,
            "account: is required",
        ),
        (
            format!("port={PORT}&code_challenge={challenge}&account=nobody"),
            404,
            "account &quot;nobody&quot; does not exist",
        ),
        (
            format!("port={PORT}&code_challenge={challenge}&account=nosso"),
            404,
            "SSO is not configured for account &quot;nosso&quot;",
        ),
        (
            format!("port={PORT}&code_challenge={challenge}&account=acme&provider=adfs"),
            404,
            "has no SAML provider &quot;adfs&quot; (it has: okta)",
        ),
        (
            format!("port={PORT}&code_challenge={challenge}&account=two-idps"),
            400,
            "several SAML providers (adfs, okta)",
        ),
    ];
    for (query, status, text) in cases {
        let (got, headers, body) = e.get(&format!("/cli-login/start?{query}")).await;
        assert_eq!(got.as_u16(), status, "{query}: {body}");
        assert!(body.contains(text), "{query}: {body}");
        assert!(
            body.contains("<h1>This CLI sign-in cannot start</h1>"),
            "{body}"
        );
        assert!(headers.get(header::SET_COOKIE).is_none(), "{query}");
    }
    // Nothing was recorded: the purge finds no row at all.
    assert_eq!(e.rows().await, 0);
}

#[tokio::test]
async fn the_code_buys_the_credentials_exactly_once() {
    let e = env().await;
    let id = e.start("").await;
    let minted = e.admin();
    let url = cli_login::complete(&e.state, &id, &minted).await.unwrap();
    let code = code_of(&url);
    assert_eq!(code.len(), 43);
    // A second completion of the same login is refused (single completion).
    assert!(matches!(
        cli_login::complete(&e.state, &id, &minted).await,
        Err(ServerError::PendingNotFound)
    ));
    let (status, body) = e.redeem(&code, VERIFIER, PORT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got: IssuedCredentials = serde_json::from_value(body).unwrap();
    assert_eq!(got, IssuedCredentials::from(&minted));
    assert_eq!(got.role_arn, format!("acs:ram::{}:role/admin", e.account));
    // Replay.
    let (status, body) = e.redeem(&code, VERIFIER, PORT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["Code"], "InvalidCode.NotFound");
    assert!(body["RequestId"].as_str().unwrap().len() == 36);
}

#[tokio::test]
async fn a_wrong_verifier_or_port_fails_and_spends_the_code() {
    let e = env().await;
    for (verifier, port, code_name) in [
        (
            "wrongwrongwrongwrongwrongwrongwrongwrongwrong",
            PORT,
            "InvalidCode.VerifierMismatch",
        ),
        (VERIFIER, PORT + 1, "InvalidCode.PortMismatch"),
    ] {
        let id = e.start("").await;
        let code = code_of(
            &cli_login::complete(&e.state, &id, &e.admin())
                .await
                .unwrap(),
        );
        let (status, body) = e.redeem(&code, verifier, port).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["Code"], code_name, "{body}");
        // The right verifier and port no longer help: the first attempt spent the code.
        let (status, body) = e.redeem(&code, VERIFIER, PORT).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["Code"], "InvalidCode.NotFound");
    }
    // Malformed requests are refused before touching any code.
    let id = e.start("").await;
    let code = code_of(
        &cli_login::complete(&e.state, &id, &e.admin())
            .await
            .unwrap(),
    );
    let (status, body) = e.redeem(&code, "short", PORT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["Code"], "InvalidParameter.code_verifier");
    let (status, body) = e.redeem("bad code!", VERIFIER, PORT).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidCode.NotFound"))
    );
    let (status, _, text) = e
        .send(
            Request::post("/cli-login/token")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!("{{\"code\":\"{code}\"}}")))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("InvalidParameter.Content-Type"), "{text}");
    // Still redeemable after those refusals.
    let (status, _) = e.redeem(&code, VERIFIER, PORT).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn codes_live_sixty_seconds_and_pending_logins_ten_minutes() {
    let e = env().await;
    let id = e.start("").await;
    let code = code_of(
        &cli_login::complete(&e.state, &id, &e.admin())
            .await
            .unwrap(),
    );
    e.clock.advance(Duration::seconds(59));
    let (status, _) = e.redeem(&code, VERIFIER, PORT).await;
    assert_eq!(status, StatusCode::OK, "still valid at 59 s");

    let id = e.start("").await;
    let code = code_of(
        &cli_login::complete(&e.state, &id, &e.admin())
            .await
            .unwrap(),
    );
    e.clock.advance(Duration::seconds(60));
    let (status, body) = e.redeem(&code, VERIFIER, PORT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["Code"], "InvalidCode.Expired");
    let (_, body) = e.redeem(&code, VERIFIER, PORT).await;
    assert_eq!(
        body["Code"], "InvalidCode.NotFound",
        "spent by the late attempt"
    );

    // A sign-in that takes longer than ten minutes cannot complete.
    let id = e.start("").await;
    e.clock.advance(Duration::minutes(10));
    assert!(matches!(
        cli_login::complete(&e.state, &id, &e.admin()).await,
        Err(ServerError::PendingNotFound)
    ));
    // Expired rows are purged by the upkeep.
    e.state.maintain().await;
    assert_eq!(e.rows().await, 0);
}

#[tokio::test]
async fn completion_is_bound_to_the_requested_role_and_account() {
    let e = env().await;
    let id = e.start("&role=dev").await;
    match cli_login::complete(&e.state, &id, &e.admin()).await {
        Err(ServerError::RoleMismatch { requested, got }) => {
            assert_eq!(requested, "dev");
            assert_eq!(got, format!("acs:ram::{}:role/admin", e.account));
        }
        other => panic!("{other:?}"),
    }
    let dev = e.mint(&e.account, "100000000000002", "dev");
    cli_login::complete(&e.state, &id, &dev).await.unwrap();

    let arn = format!("acs:ram::{}:role/admin", e.account);
    let id = e.start(&format!("&role={arn}")).await;
    cli_login::complete(&e.state, &id, &e.admin())
        .await
        .unwrap();

    let id = e.start("").await;
    let foreign = e.mint(&e.other_account, "100000000000003", "admin");
    assert!(matches!(
        cli_login::complete(&e.state, &id, &foreign).await,
        Err(ServerError::AccountMismatch { .. })
    ));
    assert!(matches!(
        cli_login::complete(&e.state, "no-such-login", &e.admin()).await,
        Err(ServerError::PendingNotFound)
    ));
}

#[tokio::test]
async fn abandoning_tells_the_cli_why_and_ends_the_login() {
    let e = env().await;
    let id = e.start("").await;
    let url = cli_login::abandon(&e.state, &id, "no role for you & me")
        .await
        .unwrap();
    assert_eq!(
        url,
        format!(
            "http://127.0.0.1:{PORT}/callback?error=access_denied&error_description=no+role+for+you+%26+me"
        )
    );
    assert!(matches!(
        cli_login::complete(&e.state, &id, &e.admin()).await,
        Err(ServerError::PendingNotFound)
    ));
    assert_eq!(
        cli_login::requested_role(&e.state, &id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn credentials_are_sealed_at_rest() {
    let e = env().await;
    let id = e.start("").await;
    let minted = e.admin();
    cli_login::complete(&e.state, &id, &minted).await.unwrap();
    e.state.store.close().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(e.db.parent().unwrap()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for secret in [&minted.secret, &minted.token, &minted.claims.access_key_id] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} found in the database files"
        );
    }
}

#[tokio::test]
async fn check_and_ecp_endpoints() {
    let e = env().await;
    let (status, _, body) = e.get("/cli-login/check?account=acme").await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["AccountId"], e.account.as_str());
    assert_eq!(v["AccountAlias"], "acme");
    assert_eq!(v["SAMLProvider"], "okta");
    assert_eq!(
        v["SAMLProviderArn"],
        format!("acs:ram::{}:saml-provider/okta", e.account)
    );
    // By account id and provider ARN too.
    let (status, _, _) = e
        .get(&format!(
            "/cli-login/check?account={0}&provider=acs:ram::{0}:saml-provider/okta",
            e.account
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    for (query, code) in [
        ("account=nosso", "SSONotConfigured"),
        ("account=nobody", "EntityNotExist.Account"),
        ("account=two-idps", "InvalidParameter.SAMLProvider"),
        ("account=acme&provider=x", "EntityNotExist.SAMLProvider"),
        ("", "InvalidParameter.account"),
    ] {
        let (_, _, body) = e.get(&format!("/cli-login/check?{query}")).await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["Code"], code, "{query}");
        let (_, _, body) = e.get(&format!("/cli-login/ecp?{query}")).await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["Code"], code, "ecp {query}");
    }

    let (status, headers, body) = e.get("/cli-login/ecp?account=acme").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], PAOS_CONTENT_TYPE);
    let sp = parse_paos_request(body.as_bytes()).unwrap();
    assert_eq!(
        sp.response_consumer_url,
        "http://127.0.0.1:8080/saml-role/sso"
    );
    let xml = String::from_utf8(sp.authn_request.clone()).unwrap();
    assert!(
        xml.contains("<saml:Issuer>http://127.0.0.1:8080/saml-role</saml:Issuer>"),
        "{xml}"
    );
    assert!(
        xml.contains("IssueInstant=\"2026-11-22T12:00:00Z\""),
        "{xml}"
    );
    // The request is recorded for this account, once, for five minutes.
    let store = &e.state.store;
    let now = e.state.clock.now_ms();
    assert_eq!(
        store
            .consume_authn_request(&sp.request_id, now + 299_000)
            .await
            .unwrap(),
        Some(e.account.clone())
    );
    assert_eq!(
        store
            .consume_authn_request(&sp.request_id, now)
            .await
            .unwrap(),
        None
    );
    // Each call issues a new request.
    let (_, _, again) = e.get("/cli-login/ecp?account=acme").await;
    assert_ne!(
        parse_paos_request(again.as_bytes()).unwrap().request_id,
        sp.request_id
    );
}
