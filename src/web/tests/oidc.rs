//! Browser sign-in through OIDC over the real router, with an in-process issuer (static keys and
//! a scripted token endpoint): the authorization request (PKCE S256, state, nonce, scopes), the
//! code exchange, and the refusals: wrong, foreign and replayed state, nonce mismatch, another
//! issuer's or another key's token, users outside the account, untrusted roles.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};

use super::*;
use crate::oidc::OidcVerifier;
use crate::oidc::jwks::CachePolicy;
use crate::oidc::test_issuer::{StaticKeys, TestKey, claims};
use crate::oidc::token::Algorithm;

const OIDC_ISSUER: &str = "https://login.example.test/corp";
const CLIENT: &str = "rambridge-web";
const FP: &str = "902EF2DEEB3C5B13EA4C3D5193629309E231AE55";

struct Op {
    h: Harness,
    key: TestKey,
    source: Arc<StaticKeys>,
    provider_arn: String,
}

/// A started sign-in: the query of the authorization redirect and the state cookie.
struct Started {
    query: std::collections::HashMap<String, String>,
    cookie: String,
}

impl Started {
    fn param(&self, name: &str) -> &str {
        self.query.get(name).map(String::as_str).unwrap_or("")
    }
}

async fn op(mode: &str) -> Op {
    let mut h = Harness::new().await;
    let key = TestKey::generate(Algorithm::Rs256, "op-key").unwrap();
    let source = Arc::new(StaticKeys::new(&[&key]).unwrap());
    h.state.oidc = Arc::new(OidcVerifier::new(
        source.clone(),
        CachePolicy {
            max_age_ms: 3_600_000,
            min_refetch_ms: 60_000,
        },
        Duration::seconds(120),
    ));
    h.ram_ok("CreateUser", &[("UserName", "alice")]).await;
    h.ram_ok("CreateUser", &[("UserName", "dave")]).await;
    h.ram_ok(
        "CreateLoginProfile",
        &[("UserName", "alice"), ("Password", "Str0ng-Passw0rd!")],
    )
    .await;
    ims_ok(
        &h,
        "CreateOIDCProvider",
        &[
            ("OIDCProviderName", "corp"),
            ("IssuerUrl", OIDC_ISSUER),
            ("Fingerprints", FP),
            ("ClientIds", CLIENT),
        ],
    )
    .await;
    ims_ok(
        &h,
        "SetOIDCSsoSettings",
        &[
            ("Enabled", "true"),
            ("OIDCProviderName", "corp"),
            ("ClientId", CLIENT),
            ("ClientSecret", "s3cret-value"),
            ("Scopes", "email profile"),
            ("Mode", mode),
            ("UserClaim", "email"),
            ("RoleClaim", "roles"),
        ],
    )
    .await;
    let provider_arn = format!("acs:ram::{}:oidc-provider/corp", h.account.account_id);
    Op {
        h,
        key,
        source,
        provider_arn,
    }
}

async fn ims_ok(h: &Harness, action: &str, params: &[(&str, &str)]) -> Value {
    let (status, body) = h.call(&h.creds(), "2019-08-15", action, params).await;
    assert_eq!(status, StatusCode::OK, "{action}: {body}");
    body
}

impl Op {
    async fn start(&self) -> Started {
        self.start_at("/oidc/login/acme").await
    }

    async fn start_at(&self, path: &str) -> Started {
        let page = get(&self.h, path, &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let url = reqwest::Url::parse(page.location()).unwrap();
        assert_eq!(
            format!("{}{}", url.origin().ascii_serialization(), url.path()),
            format!("{OIDC_ISSUER}/auth")
        );
        Started {
            query: url.query_pairs().into_owned().collect(),
            cookie: page.cookie("rambridge_oidc_state").unwrap(),
        }
    }

    fn id_token(&self, extra: Value) -> String {
        let mut c = claims(
            OIDC_ISSUER,
            CLIENT,
            "user-42",
            self.h.state.clock.now_ms() / 1000,
        );
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        self.key.sign(&c).unwrap()
    }

    fn answer(&self, id_token: &str) {
        self.source.set_token_answer(
            200,
            &json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                    "id_token": id_token})
            .to_string(),
        );
    }

    async fn callback(&self, state: &str, cookie: Option<&str>) -> Page {
        let path = format!("/oidc/callback?code=code-1&state={state}");
        let cookies: Vec<&str> = cookie.into_iter().collect();
        get(&self.h, &path, &cookies).await
    }

    async fn reasons(&self) -> Vec<String> {
        self.reasons_of(&self.h.account.account_id).await
    }

    /// Reasons audited under `account` ('' for failures before the account is known).
    async fn reasons_of(&self, account: &str) -> Vec<String> {
        self.h
            .state
            .store
            .list_audit(account, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.reason)
            .collect()
    }
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

#[tokio::test]
async fn user_sign_in_with_pkce_state_and_nonce() {
    let o = op("user").await;
    let s = o.start().await;
    assert_eq!(s.param("response_type"), "code");
    assert_eq!(s.param("client_id"), CLIENT);
    assert_eq!(s.param("redirect_uri"), format!("{PUBLIC}/oidc/callback"));
    assert_eq!(s.param("scope"), "openid email profile");
    assert_eq!(s.param("code_challenge_method"), "S256");
    assert!(s.param("state").len() >= 16 && s.param("nonce").len() >= 16);
    assert!(s.cookie.ends_with(s.param("state")));

    o.answer(&o.id_token(json!({"nonce": s.param("nonce"), "email": "alice@acme.onaliyun.com"})));
    let page = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/console");
    let session = page.cookie("rambridge_session").unwrap();
    let console = get(&o.h, "/console", &[&session]).await;
    assert!(
        console.body.contains("alice@acme.onaliyun.com"),
        "{}",
        console.body
    );

    // The exchange carried the code and the verifier matching the challenge; the client
    // authenticated with its secret (HTTP Basic, so not in the form).
    let requests = o.source.token_requests();
    assert_eq!(requests.len(), 1);
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(requests[0].as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "code-1");
    assert_eq!(s256(&form["code_verifier"]), s.param("code_challenge"));
    assert!(!requests[0].contains("s3cret-value"));

    // Single use: the same callback again is refused.
    let again = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("not started here"), "{}", again.body);
    assert!(again.cookie("rambridge_session").is_none());
    assert!(o.reasons().await.contains(&"Success".to_string()));
    // The replay names no account: audited without one.
    assert!(
        o.reasons_of("")
            .await
            .contains(&"OidcSso.State.Invalid".to_string())
    );
}

#[tokio::test]
async fn relay_state_is_kept_server_side_and_checked() {
    let o = op("user").await;
    let s = o
        .start_at("/oidc/login/acme?RelayState=//evil.example/")
        .await;
    assert!(
        !s.query.values().any(|v| v.contains("evil")),
        "the RelayState is not sent to the issuer"
    );
    o.answer(&o.id_token(json!({"nonce": s.param("nonce"), "email": "alice@acme.onaliyun.com"})));
    let page = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert_eq!(page.location(), "/console", "{}", page.body);
    assert!(
        page.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("rambridge_oidc_state=;")),
        "the state cookie is cleared"
    );
    assert!(
        o.reasons()
            .await
            .contains(&"RelayState.NotAllowed".to_string())
    );
}

#[tokio::test]
async fn wrong_missing_and_foreign_states_are_refused() {
    let o = op("user").await;
    let s = o.start().await;
    o.answer(&o.id_token(json!({"nonce": s.param("nonce"), "email": "alice@acme.onaliyun.com"})));
    // Unknown state.
    let page = o.callback("not-a-state", Some(&s.cookie)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // No state at all.
    let page = get(&o.h, "/oidc/callback?code=code-1", &[&s.cookie]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.cookie("rambridge_session").is_none());
    // The right state from a browser that did not start it (no or another cookie): refused,
    // and the state is spent, so the attacker's link cannot be finished later either.
    let page = o
        .callback(s.param("state"), Some("rambridge_oidc_state=other"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    let page = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        o.source.token_requests().is_empty(),
        "no code was exchanged"
    );
    // An expired state.
    let s = o.start().await;
    o.h.clock.advance(Duration::minutes(11));
    let page = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // Unknown, spent and expired states name no account; the foreign browser's attempt does.
    let unscoped = o.reasons_of("").await;
    assert!(unscoped.contains(&"OidcSso.State.Missing".to_string()));
    let invalid = |r: &Vec<String>| r.iter().filter(|r| *r == "OidcSso.State.Invalid").count();
    assert_eq!(invalid(&unscoped), 3);
    assert_eq!(invalid(&o.reasons().await), 1);
}

/// Builds the ID token the token endpoint answers for a started sign-in.
type TokenFor<'a> = Box<dyn Fn(&Started) -> String + 'a>;

#[tokio::test]
async fn tokens_failing_the_checks_are_refused_with_their_codes() {
    let o = op("user").await;
    let other_key = TestKey::generate(Algorithm::Rs256, "op-key").unwrap();
    let cases: Vec<(&str, TokenFor, &str)> = vec![
        (
            "nonce mismatch",
            Box::new(|_s: &Started| {
                o.id_token(json!({"nonce": "another", "email": "alice@acme.onaliyun.com"}))
            }),
            "AuthenticationFail.OIDCToken.Invalid.Nonce",
        ),
        (
            "no nonce",
            Box::new(|_s: &Started| o.id_token(json!({"email": "alice@acme.onaliyun.com"}))),
            "AuthenticationFail.OIDCToken.Invalid.Nonce",
        ),
        (
            "another issuer",
            Box::new(|s: &Started| {
                o.id_token(
                    json!({"iss": "https://evil.example.test", "nonce": s.param("nonce"),
                                  "email": "alice@acme.onaliyun.com"}),
                )
            }),
            "AuthenticationFail.OIDCToken.IssuerNotMatch",
        ),
        (
            "another audience",
            Box::new(|s: &Started| {
                o.id_token(json!({"aud": "other-client", "nonce": s.param("nonce"),
                                  "email": "alice@acme.onaliyun.com"}))
            }),
            "AuthenticationFail.OIDCToken.AudienceNotMatch",
        ),
        (
            "another key under the same kid",
            Box::new(|s: &Started| {
                let mut c = claims(
                    OIDC_ISSUER,
                    CLIENT,
                    "user-42",
                    o.h.state.clock.now_ms() / 1000,
                );
                c["nonce"] = json!(s.param("nonce"));
                c["email"] = json!("alice@acme.onaliyun.com");
                other_key.sign(&c).unwrap()
            }),
            "AuthenticationFail.OIDCToken.InvalidSignature",
        ),
        (
            "alg none",
            Box::new(|s: &Started| {
                let mut c = claims(
                    OIDC_ISSUER,
                    CLIENT,
                    "user-42",
                    o.h.state.clock.now_ms() / 1000,
                );
                c["nonce"] = json!(s.param("nonce"));
                c["email"] = json!("alice@acme.onaliyun.com");
                crate::oidc::test_issuer::unsigned(&c)
            }),
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
        ),
        (
            "HS256 keyed with the public key",
            Box::new(|s: &Started| {
                let mut c = claims(
                    OIDC_ISSUER,
                    CLIENT,
                    "user-42",
                    o.h.state.clock.now_ms() / 1000,
                );
                c["nonce"] = json!(s.param("nonce"));
                c["email"] = json!("alice@acme.onaliyun.com");
                crate::oidc::test_issuer::hmac_sha256(
                    &o.key.public_key_der().unwrap(),
                    "op-key",
                    &c,
                )
            }),
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
        ),
        (
            // openidconnect cannot type this answer; the raw token still reaches our checks.
            "an algorithm nobody knows",
            Box::new(|s: &Started| {
                let mut c = claims(
                    OIDC_ISSUER,
                    CLIENT,
                    "user-42",
                    o.h.state.clock.now_ms() / 1000,
                );
                c["nonce"] = json!(s.param("nonce"));
                o.key
                    .sign_with_header(&json!({"alg": "XY512", "kid": "op-key"}), &c)
                    .unwrap()
            }),
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
        ),
    ];
    for (name, token, want) in &cases {
        let s = o.start().await;
        o.answer(&token(&s));
        let page = o.callback(s.param("state"), Some(&s.cookie)).await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            page.body
        );
        assert!(page.cookie("rambridge_session").is_none(), "{name}");
        let reference = page.reference();
        let events =
            o.h.state
                .store
                .list_audit(&o.h.account.account_id, 100)
                .await
                .unwrap();
        let event = events.iter().find(|e| e.id == reference).unwrap();
        assert_eq!(event.reason, *want, "{name}");
        assert_eq!(event.provider, o.provider_arn, "{name}");
    }
    // The token endpoint refusing the code.
    let s = o.start().await;
    o.source.set_token_answer(
        400,
        &json!({"error": "invalid_grant", "error_description": "code expired"}).to_string(),
    );
    let page = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert!(page.body.contains("invalid_grant"), "{}", page.body);
    // The issuer reporting an error instead of a code.
    let s = o.start().await;
    let page = get(
        &o.h,
        &format!(
            "/oidc/callback?error=access_denied&error_description=no&state={}",
            s.param("state")
        ),
        &[&s.cookie],
    )
    .await;
    assert!(page.body.contains("did not sign you in"), "{}", page.body);
    let reasons = o.reasons().await;
    assert!(reasons.contains(&"OidcSso.CodeExchange".to_string()));
    assert!(reasons.contains(&"OidcSso.ProviderError".to_string()));
    assert!(!reasons.contains(&"Success".to_string()));
}

#[tokio::test]
async fn user_claims_map_to_enabled_users_of_the_account_only() {
    let o = op("user").await;
    for (email, expect) in [
        ("dave@acme.onaliyun.com", "This user cannot sign in"),
        ("zed@acme.onaliyun.com", "No such user"),
        ("alice@other.onaliyun.com", "not accepted by this account"),
        ("alice", "not accepted by this account"),
    ] {
        let s = o.start().await;
        o.answer(&o.id_token(json!({"nonce": s.param("nonce"), "email": email})));
        let page = o.callback(s.param("state"), Some(&s.cookie)).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{email}");
        assert!(page.body.contains(expect), "{email}: {}", page.body);
        assert!(page.cookie("rambridge_session").is_none());
    }
    // No user claim at all.
    let s = o.start().await;
    o.answer(&o.id_token(json!({"nonce": s.param("nonce")})));
    let page = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert!(
        page.body.contains("did not send your user name"),
        "{}",
        page.body
    );
    // Sign-in disabled: the start page says so.
    ims_ok(&o.h, "SetOIDCSsoSettings", &[("Enabled", "false")]).await;
    let page = get(&o.h, "/oidc/login/acme", &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("not enabled"), "{}", page.body);
}

async fn role(o: &Op, name: &str, trusted_sub: &str) -> String {
    let trust = json!({"Version": "1", "Statement": [{"Effect": "Allow",
        "Action": "sts:AssumeRole", "Principal": {"Federated": [o.provider_arn]},
        "Condition": {"StringEquals": {"oidc:iss": OIDC_ISSUER, "oidc:aud": CLIENT,
                                       "oidc:sub": trusted_sub}}}]});
    o.h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", name),
            ("AssumeRolePolicyDocument", &trust.to_string()),
        ],
    )
    .await;
    format!("acs:ram::{}:role/{name}", o.h.account.account_id)
}

#[tokio::test]
async fn role_sign_in_offers_trusted_roles_in_the_chooser() {
    let o = op("role").await;
    let dev = role(&o, "dev", "user-42").await;
    let ops = role(&o, "ops", "user-42").await;
    let other = role(&o, "other", "someone-else").await;
    let foreign = "acs:ram::9999999999999999:role/dev".to_string();
    let s = o.start().await;
    o.answer(&o.id_token(json!({
        "nonce": s.param("nonce"),
        "email": "alice@acme.onaliyun.com",
        "roles": [dev, format!("{ops},{}", o.provider_arn), other, foreign,
                  format!("{dev},acs:ram::1:oidc-provider/elsewhere")],
    })));
    let page = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/saml-role/choose");
    let choice = page.cookie("rambridge_role_choice").unwrap();
    let chooser = get(&o.h, "/saml-role/choose", &[&choice]).await;
    assert!(chooser.body.contains(&dev) && chooser.body.contains(&ops));
    assert!(!chooser.body.contains(&other), "untrusted role offered");
    let csrf = chooser.input("csrf");
    let done = post(
        &o.h,
        "/saml-role/choose",
        &[("csrf", &csrf), ("choice", "1")],
        &[&choice],
        Some(PUBLIC),
    )
    .await;
    assert_eq!(done.location(), "/console", "{}", done.body);
    let session = done.cookie("rambridge_session").unwrap();
    let console = get(&o.h, "/console", &[&session]).await;
    assert!(console.body.contains(&ops), "{}", console.body);
    assert!(console.body.contains("alice@acme.onaliyun.com"));
}

#[tokio::test]
async fn role_sign_in_refuses_untrusted_and_missing_roles() {
    let o = op("role").await;
    let other = role(&o, "other", "someone-else").await;
    let s = o.start().await;
    o.answer(&o.id_token(json!({"nonce": s.param("nonce"), "roles": other})));
    let page = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("does not trust"), "{}", page.body);
    let s = o.start().await;
    o.answer(&o.id_token(json!({"nonce": s.param("nonce")})));
    let page = o.callback(s.param("state"), Some(&s.cookie)).await;
    assert!(page.body.contains("No role can be used"), "{}", page.body);
    let reasons = o.reasons().await;
    assert!(reasons.contains(&"AuthenticationFail.NoPermission".to_string()));
    assert!(reasons.contains(&"OidcSso.NoRole".to_string()));
}

#[tokio::test]
async fn settings_actions_validate_and_never_return_the_secret() {
    let o = op("user").await;
    let got = ims_ok(&o.h, "GetOIDCSsoSettings", &[]).await;
    let s = &got["OIDCSsoSettings"];
    assert_eq!(s["Enabled"], json!(true));
    assert_eq!(s["ClientSecretSet"], json!(true));
    assert_eq!(s["Scopes"], json!("openid email profile"));
    assert!(!got.to_string().contains("s3cret-value"));
    let stored =
        o.h.state
            .store
            .find_oidc_sso_settings(&o.h.account.account_id)
            .await
            .unwrap()
            .unwrap();
    let sealed = stored.client_secret_sealed.unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("s3cret-value"));
    for (params, want) in [
        (
            vec![("ClientId", "unregistered")],
            "InvalidParameter.ClientId.Format",
        ),
        (vec![("Mode", "admin")], "InvalidParameter.Mode.Format"),
        (
            vec![("UserClaim", "a b")],
            "InvalidParameter.UserClaim.Format",
        ),
        (vec![("Scopes", "a\"b")], "InvalidParameter.Scopes.Format"),
        (
            vec![("ClientSecret", "a\u{7}b")],
            "InvalidParameter.ClientSecret.Format",
        ),
        (
            vec![("OIDCProviderName", "nope")],
            "EntityNotExist.OIDCProvider",
        ),
        (
            vec![("Enabled", "maybe")],
            "InvalidParameter.Enabled.Format",
        ),
    ] {
        let (status, body) =
            o.h.call(&o.h.creds(), "2019-08-15", "SetOIDCSsoSettings", &params)
                .await;
        assert!(status.is_client_error(), "{params:?}: {body}");
        assert_eq!(code(&body), want, "{params:?}: {body}");
    }
    // Nothing changed by the refused calls.
    let again = ims_ok(&o.h, "GetOIDCSsoSettings", &[]).await;
    assert_eq!(again["OIDCSsoSettings"], got["OIDCSsoSettings"]);
    // The password page of the account links to the OIDC sign-in.
    let page = get(&o.h, "/login/acme", &[]).await;
    assert!(page.body.contains("/oidc/login/acme"), "{}", page.body);
    // A fresh account: enabling without a provider is refused, and no link is offered.
    let fresh = Harness::new().await;
    let (_, body) = fresh
        .call(
            &fresh.creds(),
            "2019-08-15",
            "SetOIDCSsoSettings",
            &[("Enabled", "true")],
        )
        .await;
    assert_eq!(code(&body), "InvalidParameter.OIDCProviderName.Required");
    let page = get(&fresh, "/login/acme", &[]).await;
    assert!(!page.body.contains("/oidc/login/"), "{}", page.body);
}
