//! In-process tests of the browser routes over the real router: role SSO (one role, chooser,
//! CSRF, single use, provider isolation, replay), user SSO (IdP- and SP-initiated, NameID
//! mapping, InResponseTo), password sign-in and its refusal under SSO, sign-out, and the IMS
//! settings and audit actions.

use std::io::Read as _;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tower::ServiceExt as _;

use crate::api::test_support::{Harness, code};
use crate::saml::test_idp::ResponseBuilder;
use crate::store::{SamlProvider, UserSsoSettingsRow};
use crate::xmldsig::SigningKey;

const ISSUER: &str = "https://idp.example.test/saml/idp";
const PUBLIC: &str = "http://127.0.0.1:8080";

fn shared(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/saml")
            .join(name),
    )
    .unwrap()
}

fn key() -> SigningKey {
    SigningKey::from_pkcs8_pem(
        std::str::from_utf8(&shared("idp-test-key.pem")).unwrap(),
        shared("idp-test-cert.der"),
    )
    .unwrap()
}

fn other_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(
        include_str!("../../certs/sp-test-key.pem"),
        crate::saml::encryption::pem_block(
            include_str!("../../certs/sp-test-cert.pem"),
            "CERTIFICATE",
        )
        .unwrap(),
    )
    .unwrap()
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// `name=value` of a Set-Cookie with a value.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")) && !c.starts_with(&format!("{name}=;")))
            .map(|c| c.split(';').next().unwrap().to_string())
    }

    /// The value of `<input ... name="name" value="...">`.
    fn input(&self, name: &str) -> String {
        let at = self
            .body
            .find(&format!("name=\"{name}\" value=\""))
            .unwrap();
        let rest = &self.body[at..];
        let start = rest.find("value=\"").unwrap() + 7;
        let end = rest[start..].find('"').unwrap();
        rest[start..start + end].to_string()
    }

    fn reference(&self) -> String {
        let at = self.body.find("id=\"reference\">").unwrap() + 15;
        let end = self.body[at..].find('<').unwrap();
        self.body[at..at + end].to_string()
    }
}

async fn send(h: &Harness, req: Request<Body>) -> Page {
    let resp = crate::router(h.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(h: &Harness, path: &str, cookies: &[&str]) -> Page {
    let mut r = Request::get(path);
    if !cookies.is_empty() {
        r = r.header(header::COOKIE, cookies.join("; "));
    }
    send(h, r.body(Body::empty()).unwrap()).await
}

async fn post(
    h: &Harness,
    path: &str,
    form: &[(&str, &str)],
    cookies: &[&str],
    origin: Option<&str>,
) -> Page {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut r =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if !cookies.is_empty() {
        r = r.header(header::COOKIE, cookies.join("; "));
    }
    if let Some(o) = origin {
        r = r.header(header::ORIGIN, o);
    }
    send(h, r.body(Body::from(body)).unwrap()).await
}

async fn provider(
    h: &Harness,
    account: &str,
    name: &str,
    entity_id: &str,
    cert_der: &[u8],
) -> String {
    let now = h.state.clock.now_ms();
    h.state
        .store
        .create_saml_provider(&SamlProvider {
            account_id: account.into(),
            name: name.into(),
            description: String::new(),
            metadata_b64: B64.encode(shared("idp-metadata.xml")),
            entity_id: entity_id.into(),
            certificates: vec![B64.encode(cert_der)],
            authn_sign_algo: "rsa-sha256".into(),
            created_at: now,
            updated_at: now,
            metadata_url: None,
            metadata_refreshed_at: None,
            metadata_refresh_error: None,
        })
        .await
        .unwrap();
    format!("acs:ram::{account}:saml-provider/{name}")
}

async fn role(h: &Harness, name: &str, provider: &str) -> String {
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"Federated":["{provider}"]}},"Condition":{{"StringEquals":{{"saml:recipient":"{PUBLIC}/saml-role/sso"}}}}}}]}}"#
    );
    h.ram_ok(
        "CreateRole",
        &[("RoleName", name), ("AssumeRolePolicyDocument", &trust)],
    )
    .await;
    format!("acs:ram::{}:role/{name}", h.account.account_id)
}

fn role_response(h: &Harness) -> ResponseBuilder {
    ResponseBuilder::new(
        ISSUER,
        &format!("{PUBLIC}/saml-role/sso"),
        &format!("{PUBLIC}/saml-role"),
        crate::clock::Clock::now(h.clock.as_ref()),
    )
}

async fn acs(h: &Harness, path: &str, signed: &[u8], relay: Option<&str>) -> Page {
    let b64 = B64.encode(signed);
    let mut form = vec![("SAMLResponse", b64.as_str())];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    post(h, path, &form, &[], None).await
}

#[tokio::test]
async fn one_role_goes_straight_to_a_console_session_with_working_credentials() {
    let h = Harness::new().await;
    let acct = h.account.account_id.clone();
    let p = provider(&h, &acct, "idp", ISSUER, &shared("idp-test-cert.der")).await;
    let r = role(&h, "ops", &p).await;
    let signed = role_response(&h)
        .role(&r, &p)
        .sign_assertion(&key())
        .unwrap();
    let page = acs(&h, "/saml-role/sso", &signed, Some("/console?from=idp")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/console?from=idp");
    let set = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("rambridge_session="))
        .unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
    assert!(!set.contains("Secure"), "http public URL: no Secure flag");
    let cookie = page.cookie("rambridge_session").unwrap();
    let console = get(&h, "/console", &[&cookie]).await;
    assert_eq!(console.status, StatusCode::OK);
    assert!(console.body.contains(&r), "{}", console.body);
    assert!(console.headers[header::CACHE_CONTROL] == "no-store");
    assert!(
        console.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    // The stored row holds only the cookie's hash and the sealed credentials.
    let value = cookie.split_once('=').unwrap().1;
    let row = h
        .state
        .store
        .find_web_session(&crate::web::session::hash(value), h.state.clock.now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.kind, "role");
    let sealed = row.credentials_sealed.clone().unwrap();
    let secret = crate::web::session::credentials(&h.state, &row).unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(&secret.access_key_secret));
    assert!(console.body.contains(&secret.access_key_secret));
    // The credentials work.
    let creds = crate::client::Credentials {
        access_key_id: secret.access_key_id,
        access_key_secret: secret.access_key_secret,
        security_token: Some(secret.security_token),
    };
    let (status, who) = h.call(&creds, "2015-04-01", "GetCallerIdentity", &[]).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(
        who["Arn"],
        format!("acs:ram::{acct}:assumed-role/ops/alice@example.test")
    );
    // The same response again is a replay.
    let again = acs(&h, "/saml-role/sso", &signed, None).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.body.contains("already used"));
    let audit = h.state.store.list_audit(&acct, 10).await.unwrap();
    let ev = audit.iter().find(|e| e.id == again.reference()).unwrap();
    assert_eq!(ev.reason, "AuthenticationFail.SAMLAssertion.Replayed");
}

#[tokio::test]
async fn several_roles_use_the_chooser_with_csrf_and_single_use() {
    let h = Harness::new().await;
    let acct = h.account.account_id.clone();
    let p = provider(&h, &acct, "idp", ISSUER, &shared("idp-test-cert.der")).await;
    let a = role(&h, "admin", &p).await;
    let b = role(&h, "readonly", &p).await;
    let signed = role_response(&h)
        .role(&a, &p)
        .role(&b, &p)
        .sign_assertion(&key())
        .unwrap();
    let page = acs(&h, "/saml-role/sso", &signed, Some("https://evil.example/")).await;
    assert_eq!(page.location(), "/saml-role/choose");
    let choice = page.cookie("rambridge_role_choice").unwrap();
    let chooser = get(&h, "/saml-role/choose", &[&choice]).await;
    assert_eq!(chooser.status, StatusCode::OK);
    assert!(chooser.body.contains(&a) && chooser.body.contains(&b));
    let csrf = chooser.input("csrf");
    // No token, a wrong one, or a foreign Origin: refused, and the choice stays.
    for (token, origin) in [
        ("", Some(PUBLIC)),
        ("wrong", Some(PUBLIC)),
        (csrf.as_str(), Some("http://evil.example")),
    ] {
        let r = post(
            &h,
            "/saml-role/choose",
            &[("csrf", token), ("choice", "1")],
            &[&choice],
            origin,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{token:?} {origin:?}");
    }
    // The browser can only pick an index, never name a role.
    for bad in ["2", "-1", &a] {
        let r = post(
            &h,
            "/saml-role/choose",
            &[("csrf", &csrf), ("choice", bad)],
            &[&choice],
            Some(PUBLIC),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let done = post(
        &h,
        "/saml-role/choose",
        &[("csrf", &csrf), ("choice", "1")],
        &[&choice],
        Some(PUBLIC),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // The unsafe RelayState was ignored (and audited).
    assert_eq!(done.location(), "/console");
    let session = done.cookie("rambridge_session").unwrap();
    let console = get(&h, "/console", &[&session]).await;
    assert!(console.body.contains(&b) && !console.body.contains(&a));
    let again = post(
        &h,
        "/saml-role/choose",
        &[("csrf", &csrf), ("choice", "0")],
        &[&choice],
        Some(PUBLIC),
    )
    .await;
    assert!(again.body.contains("role choice expired"));
    let audit = h.state.store.list_audit(&acct, 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.event == "RelayStateIgnored" && e.subject == "https://evil.example/")
    );
}

#[tokio::test]
async fn roles_of_a_provider_that_did_not_sign_are_not_offered() {
    let h = Harness::new().await;
    let acct = h.account.account_id.clone();
    let good = provider(&h, &acct, "idp", ISSUER, &shared("idp-test-cert.der")).await;
    // Same entity ID, other key: the response is not signed by it.
    let other_cert = other_key().certificate_der().to_vec();
    let other = provider(&h, &acct, "other", ISSUER, &other_cert).await;
    let a = role(&h, "admin", &good).await;
    let b = role(&h, "victim", &other).await;
    let signed = role_response(&h)
        .role(&b, &other)
        .role(&a, &good)
        .sign_assertion(&key())
        .unwrap();
    let page = acs(&h, "/saml-role/sso", &signed, None).await;
    assert_eq!(page.location(), "/console", "one usable role: no chooser");
    let console = get(
        &h,
        "/console",
        &[&page.cookie("rambridge_session").unwrap()],
    )
    .await;
    assert!(console.body.contains(&a) && !console.body.contains(&b));
    // Signed by the other key only: refused with a signature error, no session.
    let forged = role_response(&h)
        .role(&a, &good)
        .sign_assertion(&other_key())
        .unwrap();
    let page = acs(&h, "/saml-role/sso", &forged, None).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("failed its signature check"));
    assert!(page.cookie("rambridge_session").is_none());
    // No Role attribute at all, or no SAMLResponse: readable pages.
    let page = acs(
        &h,
        "/saml-role/sso",
        &role_response(&h).sign_assertion(&key()).unwrap(),
        None,
    )
    .await;
    assert!(page.body.contains("No role can be used"), "{}", page.body);
    let page = post(&h, "/saml-role/sso", &[], &[], None).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Reference"));
}

async fn enable_user_sso(h: &Harness, aux: &str) {
    h.state
        .store
        .put_user_sso_settings(&UserSsoSettingsRow {
            account_id: h.account.account_id.clone(),
            sso_enabled: true,
            metadata_b64: B64.encode(shared("idp-metadata.xml")),
            idp_entity_id: ISSUER.into(),
            certificates: vec![B64.encode(shared("idp-test-cert.der"))],
            auxiliary_domain: aux.into(),
            sso_login_with_domain: true,
            authn_sign_algo: "rsa-sha256".into(),
            updated_at: 0,
        })
        .await
        .unwrap();
}

fn user_response(h: &Harness, name_id: &str) -> ResponseBuilder {
    let mut b = ResponseBuilder::new(
        ISSUER,
        &format!("{PUBLIC}/saml/sso"),
        &format!("{PUBLIC}/{}/saml/SSO", h.account.account_id),
        crate::clock::Clock::now(h.clock.as_ref()),
    );
    b.name_id_xml = name_id.into();
    b
}

#[tokio::test]
async fn user_sso_maps_name_ids_to_enabled_users_of_the_account_only() {
    let h = Harness::new().await;
    for u in ["alice", "dave"] {
        h.ram_ok("CreateUser", &[("UserName", u)]).await;
    }
    h.ram_ok(
        "CreateLoginProfile",
        &[("UserName", "alice"), ("Password", "Str0ng-Passw0rd!")],
    )
    .await;
    // SSO off: refused.
    let signed = user_response(&h, "alice@acme.onaliyun.com")
        .sign_assertion(&key())
        .unwrap();
    let page = acs(&h, "/saml/sso", &signed, None).await;
    assert!(page.body.contains("not enabled"), "{}", page.body);
    enable_user_sso(&h, "corp.example").await;
    for (name_id, expect) in [
        ("dave@acme.onaliyun.com", "This user cannot sign in"),
        ("zed@acme.onaliyun.com", "No such user"),
        ("alice@other.onaliyun.com", "not accepted by this account"),
        ("alice", "not accepted by this account"),
    ] {
        let signed = user_response(&h, name_id).sign_assertion(&key()).unwrap();
        let page = acs(&h, "/saml/sso", &signed, None).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{name_id}");
        assert!(page.body.contains(expect), "{name_id}: {}", page.body);
        assert!(page.cookie("rambridge_session").is_none());
    }
    // Another account's audience: refused by validation, even though it routes.
    let mut wrong = user_response(&h, "alice@acme.onaliyun.com");
    wrong.audience = format!("{PUBLIC}/9999999999999999/saml/SSO");
    let page = acs(
        &h,
        "/saml/sso",
        &wrong.sign_assertion(&key()).unwrap(),
        None,
    )
    .await;
    assert!(page.body.contains("Unknown account"), "{}", page.body);
    // The default and the auxiliary domain both work.
    for name_id in ["alice@acme.onaliyun.com", "alice@corp.example"] {
        let signed = user_response(&h, name_id).sign_assertion(&key()).unwrap();
        let page = acs(&h, "/saml/sso", &signed, None).await;
        assert_eq!(page.location(), "/console", "{name_id}: {}", page.body);
        let console = get(
            &h,
            "/console",
            &[&page.cookie("rambridge_session").unwrap()],
        )
        .await;
        assert!(
            console.body.contains("alice@acme.onaliyun.com"),
            "{}",
            console.body
        );
        assert!(!console.body.contains("AccessKeySecret"));
    }
}

#[tokio::test]
async fn sp_initiated_user_sso_checks_in_response_to() {
    let h = Harness::new().await;
    h.ram_ok("CreateUser", &[("UserName", "alice")]).await;
    h.ram_ok(
        "CreateLoginProfile",
        &[("UserName", "alice"), ("Password", "Str0ng-Passw0rd!")],
    )
    .await;
    enable_user_sso(&h, "").await;
    let start = get(&h, "/login/acme?RelayState=%2Fconsole%3Fx%3D1", &[]).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let loc = start.location().to_string();
    assert!(
        loc.starts_with("https://idp.example.test/saml/sso?SAMLRequest="),
        "{loc}"
    );
    assert!(loc.contains("&RelayState=%2Fconsole%3Fx%3D1"));
    let req_b64 = loc
        .split("SAMLRequest=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let raw = B64
        .decode(
            percent_encoding::percent_decode_str(req_b64)
                .decode_utf8()
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(raw.as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains(&format!(
        "<saml:Issuer>{PUBLIC}/{}/saml/SSO</saml:Issuer>",
        h.account.account_id
    )));
    let id = xml
        .split("ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // An unknown InResponseTo is refused.
    let mut forged = user_response(&h, "alice@acme.onaliyun.com");
    forged.in_response_to = Some("_rbnotours".into());
    let page = acs(
        &h,
        "/saml/sso",
        &forged.sign_assertion(&key()).unwrap(),
        None,
    )
    .await;
    assert!(
        page.body.contains("does not match a request"),
        "{}",
        page.body
    );
    let mut answer = user_response(&h, "alice@acme.onaliyun.com");
    answer.in_response_to = Some(id.clone());
    let page = acs(
        &h,
        "/saml/sso",
        &answer.sign_assertion(&key()).unwrap(),
        Some("/console?x=1"),
    )
    .await;
    assert_eq!(page.location(), "/console?x=1", "{}", page.body);
    // The request id is single use.
    let mut again = user_response(&h, "alice@acme.onaliyun.com");
    again.in_response_to = Some(id);
    let page = acs(
        &h,
        "/saml/sso",
        &again.sign_assertion(&key()).unwrap(),
        None,
    )
    .await;
    assert!(page.body.contains("does not match a request"));
    // Unknown alias: a page, not a redirect.
    let page = get(&h, "/login/nobody", &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Unknown account"));
}

#[tokio::test]
async fn password_sign_in_with_csrf_and_refused_under_sso_then_sign_out() {
    let h = Harness::new().await;
    h.ram_ok("CreateUser", &[("UserName", "pat")]).await;
    h.ram_ok(
        "CreateLoginProfile",
        &[("UserName", "pat"), ("Password", "Str0ng-Passw0rd!")],
    )
    .await;
    let form = get(&h, "/login/acme", &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.input("csrf");
    let cookie = form.cookie("rambridge_login_csrf").unwrap();
    let fields = |pw: &'static str, token: &str| {
        vec![
            ("csrf", token.to_string()),
            ("user_name", "pat".to_string()),
            ("password", pw.to_string()),
        ]
    };
    let send_form = |fields: Vec<(&'static str, String)>, cookies: Vec<String>| {
        let h = &h;
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let c: Vec<&str> = cookies.iter().map(String::as_str).collect();
            post(h, "/login/acme", &f, &c, Some(PUBLIC)).await
        }
    };
    let r = send_form(fields("Str0ng-Passw0rd!", &csrf), vec![]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF cookie");
    let r = send_form(fields("wrong", &csrf), vec![cookie.clone()]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("user name or password is wrong"));
    let r = send_form(fields("Str0ng-Passw0rd!", &csrf), vec![cookie.clone()]).await;
    assert_eq!(r.location(), "/console", "{}", r.body);
    let session = r.cookie("rambridge_session").unwrap();
    let console = get(&h, "/console", &[&session]).await;
    assert!(console.body.contains("pat@acme.onaliyun.com"));
    let token = console.input("csrf");
    let out = post(
        &h,
        "/logout",
        &[("csrf", "nope")],
        &[&session],
        Some(PUBLIC),
    )
    .await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    let out = post(
        &h,
        "/logout",
        &[("csrf", &token)],
        &[&session],
        Some(PUBLIC),
    )
    .await;
    assert!(out.body.contains("Signed out"));
    assert_eq!(get(&h, "/console", &[&session]).await.location(), "/login");
    // With SSO enabled, the password form is refused.
    enable_user_sso(&h, "").await;
    let r = send_form(fields("Str0ng-Passw0rd!", &csrf), vec![cookie]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Password sign-in is turned off"));
}

#[tokio::test]
async fn ims_user_sso_settings_and_sign_in_events() {
    let h = Harness::new().await;
    let root = h.creds();
    let (_, body) = h.call(&root, "2019-08-15", "GetUserSsoSettings", &[]).await;
    assert_eq!(body["UserSsoSettings"]["SsoEnabled"], false);
    assert_eq!(body["UserSsoSettings"]["SsoLoginWithDomain"], true);
    let (status, body) = h
        .call(
            &root,
            "2019-08-15",
            "SetUserSsoSettings",
            &[("SsoEnabled", "True")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "InvalidParameter.MetadataDocument.Required");
    let (_, body) = h
        .call(
            &root,
            "2019-08-15",
            "SetUserSsoSettings",
            &[("AuxiliaryDomain", "Not A Domain")],
        )
        .await;
    assert_eq!(code(&body), "InvalidParameter.AuxiliaryDomain.Format");
    let md = B64.encode(shared("idp-metadata.xml"));
    let (status, body) = h
        .call(
            &root,
            "2019-08-15",
            "SetUserSsoSettings",
            &[
                ("SsoEnabled", "True"),
                ("MetadataDocument", &md),
                ("SsoLoginWithDomain", "False"),
                ("AuxiliaryDomain", "corp.example"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = h.call(&root, "2019-08-15", "GetSamlSsoSettings", &[]).await;
    assert_eq!(body["SamlSsoSettings"]["SsoEnabled"], true);
    assert_eq!(body["SamlSsoSettings"]["SsoLoginWithDomain"], false);
    assert_eq!(body["SamlSsoSettings"]["AuxiliaryDomain"], "corp.example");
    let (_, body) = h
        .call(
            &root,
            "2019-08-15",
            "SetSamlSsoSettings",
            &[("SsoEnabled", "false"), ("UseTenantSpecificSp", "true")],
        )
        .await;
    assert_eq!(body["SamlSsoSettings"]["SsoEnabled"], false);
    assert_eq!(body["SamlSsoSettings"]["MetadataDocument"], md);
    let (_, body) = h.call(&root, "2019-08-15", "GetDefaultDomain", &[]).await;
    assert_eq!(body["DefaultDomainName"], "acme.onaliyun.com");
    // A RAM user without permission is refused; ListSignInEvents pages newest first.
    let user = h.user_with_key("bob").await;
    let (status, _) = h.call(&user, "2019-08-15", "ListSignInEvents", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for i in 0..3 {
        let page = get(&h, &format!("/login/nobody{}", "x".repeat(i)), &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        h.clock.advance(chrono::Duration::seconds(1));
    }
    let signed = user_response(&h, "bob@acme.onaliyun.com")
        .sign_assertion(&key())
        .unwrap();
    for _ in 0..3 {
        acs(&h, "/saml/sso", &signed, None).await;
        h.clock.advance(chrono::Duration::seconds(1));
    }
    let (_, first) = h
        .call(
            &root,
            "2019-08-15",
            "ListSignInEvents",
            &[("MaxItems", "2")],
        )
        .await;
    assert_eq!(first["IsTruncated"], true, "{first}");
    let events = first["SignInEvents"]["SignInEvent"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events[0]["EventTime"].as_str() >= events[1]["EventTime"].as_str());
    let marker = first["Marker"].as_str().unwrap();
    let (_, second) = h
        .call(
            &root,
            "2019-08-15",
            "ListSignInEvents",
            &[("MaxItems", "2"), ("Marker", marker)],
        )
        .await;
    let more = second["SignInEvents"]["SignInEvent"].as_array().unwrap();
    assert_eq!(more.len(), 1, "{second}");
    assert_eq!(second["IsTruncated"], false);
    assert_eq!(more[0]["Reason"], "UserSso.NotEnabled");
    let (_, bad) = h
        .call(&root, "2019-08-15", "ListSignInEvents", &[("Marker", "!!")])
        .await;
    assert_eq!(code(&bad), "InvalidParameter.Marker.Format");
}

#[tokio::test]
async fn expired_sessions_and_choices_are_purged() {
    let h = Harness::new().await;
    h.ram_ok("CreateUser", &[("UserName", "alice")]).await;
    h.ram_ok(
        "CreateLoginProfile",
        &[("UserName", "alice"), ("Password", "Str0ng-Passw0rd!")],
    )
    .await;
    enable_user_sso(&h, "").await;
    let signed = user_response(&h, "alice@acme.onaliyun.com")
        .sign_assertion(&key())
        .unwrap();
    let page = acs(&h, "/saml/sso", &signed, None).await;
    let session = page.cookie("rambridge_session").unwrap();
    assert_eq!(
        get(&h, "/console", &[&session]).await.status,
        StatusCode::OK
    );
    h.clock.advance(chrono::Duration::seconds(28_801));
    assert_eq!(get(&h, "/console", &[&session]).await.location(), "/login");
    h.state.maintain().await;
    let n = h
        .state
        .store
        .purge_expired_web(h.state.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(n, 0, "maintain() already removed it");
}

/// `rambridge login` browser mode through the real role ACS: `/cli-login/start` sets the
/// pending-login cookie and sends the browser to the SP-initiated sign-in with
/// `RelayState=/cli-login/continue`; the sign-in follows it; `/cli-login/continue` hands the
/// role session's credentials to the CLI as a one-time code on its loopback port.
#[tokio::test]
async fn cli_login_continues_from_the_role_sign_in_to_the_loopback_code() {
    use base64::Engine as _;
    let h = Harness::new().await;
    let acct = h.account.account_id.clone();
    let alias = h.account.account_alias.clone();
    let p = provider(&h, &acct, "idp", ISSUER, &shared("idp-test-cert.der")).await;
    let r = role(&h, "ops", &p).await;
    let verifier = "v".repeat(43);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ));
    let start = |role: &'static str| {
        format!(
            "/cli-login/start?port=43210&code_challenge={challenge}&code_challenge_method=S256&account={alias}&provider=idp&role={role}"
        )
    };
    // Without a pending login, /cli-login/continue is just the console.
    let plain = get(&h, "/cli-login/continue", &[]).await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER);
    assert_eq!(plain.location(), "/console");

    let started = get(&h, &start("ops"), &[]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    assert!(
        started.location().ends_with(&format!(
            "/saml-role/login/{alias}?provider=idp&RelayState=%2Fcli-login%2Fcontinue"
        )),
        "{}",
        started.location()
    );
    let pending = started.cookie("rambridge_cli_login").unwrap();
    // The IdP's POST carries no CLI cookie; the sign-in follows the RelayState to continue.
    let signed = role_response(&h)
        .role(&r, &p)
        .sign_assertion(&key())
        .unwrap();
    let page = acs(&h, "/saml-role/sso", &signed, Some("/cli-login/continue")).await;
    assert_eq!(page.location(), "/cli-login/continue", "{}", page.body);
    let session = page.cookie("rambridge_session").unwrap();
    let done = get(&h, "/cli-login/continue", &[&pending, &session]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let loopback = done.location().to_string();
    let code = loopback
        .strip_prefix("http://127.0.0.1:43210/callback?code=")
        .unwrap_or_else(|| panic!("{loopback}"));
    let creds = crate::login::server::redeem(
        &h.state.store,
        &h.state.keys,
        h.state.clock.as_ref(),
        code,
        &verifier,
        "43210",
    )
    .await
    .unwrap();
    assert_eq!(creds.role_arn, r);
    assert!(!loopback.contains(&creds.access_key_secret));
    // The pending login completed once: a second visit has nothing to complete.
    let again = get(&h, "/cli-login/continue", &[&pending, &session]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);

    // The CLI asked for another role: the pending login is abandoned with the reason.
    let started = get(&h, &start("other"), &[]).await;
    let pending = started.cookie("rambridge_cli_login").unwrap();
    let refused = get(&h, "/cli-login/continue", &[&pending, &session]).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(
        refused
            .location()
            .starts_with("http://127.0.0.1:43210/callback?error=access_denied"),
        "{}",
        refused.location()
    );
}

mod oidc;
