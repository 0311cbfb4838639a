//! In-process tests of the RPC pipeline: `router(state)` driven with `oneshot`, a temporary
//! SQLite store and a fixed clock. The real binary and the official SDKs are exercised in
//! `tests/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Duration;
use tower::ServiceExt as _;

use super::test_support::{Harness, code};
use crate::client;
use crate::config::Settings;
use crate::ram;
use crate::router;
use crate::store::KeyStatus;

#[tokio::test]
async fn root_get_caller_identity_v1() {
    let h = Harness::new().await;
    let (status, body) = h
        .get(&h.v1_query(&h.creds(), "GetCallerIdentity", "2015-04-01", "n1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = &h.account.account_id;
    assert_eq!(body["AccountId"], id.as_str());
    assert_eq!(body["Arn"], format!("acs:ram::{id}:root"));
    assert_eq!(body["IdentityType"], "Account");
    assert_eq!(body["UserId"], id.as_str());
    let rid = body["RequestId"].as_str().unwrap();
    assert_eq!(rid.len(), 36);
    assert_eq!(rid, rid.to_uppercase());
}

#[tokio::test]
async fn root_get_caller_identity_v1_form_body() {
    let h = Harness::new().await;
    let mut p = BTreeMap::new();
    p.insert("Action".to_string(), "GetCallerIdentity".to_string());
    p.insert("Version".to_string(), "2015-04-01".to_string());
    client::sign_v1("POST", &mut p, &h.creds(), &h.now(), "form-1");
    let req = Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(client::encode_query(&p)))
        .unwrap();
    let (status, body, headers) = h.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], "application/json;charset=utf-8");
}

#[tokio::test]
async fn root_get_caller_identity_v3() {
    let h = Harness::new().await;
    let (status, body, _) = h.send(h.v3_request(&h.creds(), "v3-1", b"")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["IdentityType"], "Account");
}

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match() {
    let h = Harness::new().await;
    let mut bad = h.creds();
    bad.access_key_secret.push('x');
    let (status, body) = h
        .get(&h.v1_query(&bad, "GetCallerIdentity", "2015-04-01", "n1"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "SignatureDoesNotMatch")
    );
    let msg = body["Message"].as_str().unwrap();
    // The legacy SDK splits on ':' and compares the tail with its own string to sign.
    let (_, sts) = msg.split_once("server string to sign is:").unwrap();
    assert!(sts.starts_with("GET&%2F&AccessKeyId%3D"), "{sts}");
    assert_eq!(body["HostId"], "sts.aliyuncs.com");

    let (status, body, _) = h.send(h.v3_request(&bad, "v3-bad", b"")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "SignatureDoesNotMatch")
    );
}

#[tokio::test]
async fn a_failed_request_does_not_burn_the_nonce() {
    let h = Harness::new().await;
    let mut bad = h.creds();
    bad.access_key_secret.push('x');
    let (_, body) = h
        .get(&h.v1_query(&bad, "GetCallerIdentity", "2015-04-01", "shared"))
        .await;
    assert_eq!(code(&body), "SignatureDoesNotMatch");
    let (status, body) = h
        .get(&h.v1_query(&h.creds(), "GetCallerIdentity", "2015-04-01", "shared"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn reused_nonce_is_rejected_v1_and_v3() {
    let h = Harness::new().await;
    let q = h.v1_query(&h.creds(), "GetCallerIdentity", "2015-04-01", "once");
    assert_eq!(h.get(&q).await.0, StatusCode::OK);
    let (status, body) = h.get(&q).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "SignatureNonceUsed")
    );

    assert_eq!(
        h.send(h.v3_request(&h.creds(), "once-v3", b"")).await.0,
        StatusCode::OK
    );
    let (status, body, _) = h.send(h.v3_request(&h.creds(), "once-v3", b"")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "SignatureNonceUsed")
    );
}

#[tokio::test]
async fn stale_and_malformed_timestamps() {
    let h = Harness::new().await;
    let q = h.v1_query(&h.creds(), "GetCallerIdentity", "2015-04-01", "t1");
    h.clock.advance(Duration::seconds(901));
    let (status, body) = h.get(&q).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "InvalidTimeStamp.Expired")
    );
    h.clock.advance(Duration::seconds(-1802));
    assert_eq!(code(&h.get(&q).await.1), "InvalidTimeStamp.Expired");
    h.clock.advance(Duration::seconds(901));
    // Within the window again: accepted.
    assert_eq!(h.get(&q).await.0, StatusCode::OK);

    let mut p = BTreeMap::new();
    p.insert("Action".to_string(), "GetCallerIdentity".to_string());
    p.insert("Version".to_string(), "2015-04-01".to_string());
    client::sign_v1("GET", &mut p, &h.creds(), "2026-11-22 12:00:00", "t2");
    let (status, body) = h.get(&client::encode_query(&p)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "InvalidTimeStamp.Format")
    );
}

#[tokio::test]
async fn unknown_and_disabled_keys() {
    let h = Harness::new().await;
    let mut unknown = h.creds();
    unknown.access_key_id = "LTAIunknownunknownunkn".into();
    let (status, body) = h
        .get(&h.v1_query(&unknown, "GetCallerIdentity", "2015-04-01", "k1"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "InvalidAccessKeyId.NotFound")
    );

    h.state
        .store
        .update_access_key_status(&h.account.access_key_id, KeyStatus::Inactive, 0)
        .await
        .unwrap();
    let (status, body) = h
        .get(&h.v1_query(&h.creds(), "GetCallerIdentity", "2015-04-01", "k2"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "InvalidAccessKeyId.Inactive")
    );
}

#[tokio::test]
async fn temporary_key_without_token() {
    let h = Harness::new().await;
    let mut sts = h.creds();
    sts.access_key_id = "STS.NTFAKEFAKEFAKEFAKEFAKE1".into();
    let (status, body) = h
        .get(&h.v1_query(&sts, "GetCallerIdentity", "2015-04-01", "s1"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "MissingSecurityToken")
    );
    sts.security_token = Some("CAISforged".into());
    let (_, body) = h
        .get(&h.v1_query(&sts, "GetCallerIdentity", "2015-04-01", "s2"))
        .await;
    assert_eq!(code(&body), "InvalidSecurityToken.Malformed");
}

#[tokio::test]
async fn unknown_action_version_and_missing_action() {
    let h = Harness::new().await;
    let (status, body) = h
        .get(&h.v1_query(&h.creds(), "NoSuchThing", "2015-04-01", "a1"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "InvalidAction.NotFound")
    );
    assert_eq!(
        body["Message"],
        "Specified api is not found, please check your url and method."
    );
    let (status, body) = h
        .get(&h.v1_query(&h.creds(), "GetCallerIdentity", "2099-01-01", "a2"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "InvalidVersion")
    );
    assert_eq!(body["HostId"], "rambridge");
    let (status, body) = h.get("Version=2015-04-01").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "MissingParameter.Action")
    );
    let (status, body) = h.get("Action=GetCallerIdentity&Version=2015-04-01").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "MissingParameter")
    );
}

#[tokio::test]
async fn action_in_header_and_query_must_agree() {
    let h = Harness::new().await;
    let q = h.v1_query(&h.creds(), "GetCallerIdentity", "2015-04-01", "h1");
    let req = Request::get(format!("/?{q}"))
        .header("x-acs-action", "AssumeRole")
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = h.send(req).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "InvalidParameter.Action")
    );
}

#[tokio::test]
async fn malformed_requests() {
    let h = Harness::new().await;
    for q in [
        "Action=%zz",
        "Action=GetCallerIdentity&Action=GetCallerIdentity",
        "A=%FF",
    ] {
        let (status, body) = h.get(q).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "InvalidParameter"),
            "{q}"
        );
    }
    let req = Request::post("/?Action=GetCallerIdentity&Version=2015-04-01")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, body, _) = h.send(req).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "InvalidParameter")
    );
    let req = Request::put("/").body(Body::empty()).unwrap();
    let (status, body, _) = h.send(req).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "UnsupportedHTTPMethod")
    );
}

#[tokio::test]
async fn oversize_body_is_refused() {
    let h = Harness::with(Settings {
        max_request_bytes: Some(2048),
        ..Settings::default()
    })
    .await;
    let req = Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(vec![b'a'; 4096]))
        .unwrap();
    let (status, body, _) = h.send(req).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLarge")
    );
}

#[tokio::test]
async fn v3_rules() {
    let h = Harness::new().await;
    // An x-acs-* header the client did not sign.
    let mut req = h.v3_request(&h.creds(), "r1", b"");
    req.headers_mut()
        .insert("x-acs-extra", "1".parse().unwrap());
    let (status, body, _) = h.send(req).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "IncompleteSignature")
    );
    // A body that differs from the signed hash.
    let req = h.v3_request(&h.creds(), "r2", b"A=1");
    let (parts, _) = req.into_parts();
    let req = Request::from_parts(parts, Body::from("A=2"));
    let (_, body, _) = h.send(req).await;
    assert_eq!(code(&body), "IncompleteSignature");
    // Unsupported algorithm.
    let req = Request::post("/")
        .header(
            "authorization",
            "ACS3-HMAC-SM3 Credential=x,SignedHeaders=host,Signature=00",
        )
        .header("x-acs-action", "GetCallerIdentity")
        .header("x-acs-version", "2015-04-01")
        .body(Body::empty())
        .unwrap();
    let (_, body, _) = h.send(req).await;
    assert_eq!(code(&body), "IncompleteSignature");
    // A signed form body is accepted.
    let (status, body, _) = h.send(h.v3_request(&h.creds(), "r3", b"Extra=1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn throttling_per_access_key() {
    let h = Harness::with(Settings {
        rate_limit_per_second: Some(1),
        rate_limit_burst: Some(1),
        ..Settings::default()
    })
    .await;
    assert_eq!(
        h.get(&h.v1_query(&h.creds(), "GetCallerIdentity", "2015-04-01", "r1"))
            .await
            .0,
        StatusCode::OK
    );
    let q = h.v1_query(&h.creds(), "GetCallerIdentity", "2015-04-01", "r2");
    let req = Request::get(format!("/?{q}")).body(Body::empty()).unwrap();
    let (status, body, headers) = h.send(req).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "Throttling.User")
    );
    let retry: u64 = headers["x-acs-retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
}

#[tokio::test]
async fn ops_endpoints_and_metrics() {
    let h = Harness::new().await;
    let _ = h
        .get(&h.v1_query(&h.creds(), "GetCallerIdentity", "2015-04-01", "m1"))
        .await;
    let _ = h.get("Action=Nope&Version=2015-04-01").await;
    for path in ["/healthz", "/readyz"] {
        let resp = router(h.state.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    let resp = router(h.state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains(
            "rambridge_requests_total{action=\"GetCallerIdentity\",outcome=\"Success\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "rambridge_requests_total{action=\"unknown\",outcome=\"InvalidAction.NotFound\"} 1"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn stored_secrets_are_sealed() {
    let h = Harness::new().await;
    let key = h
        .state
        .store
        .find_access_key(&h.account.access_key_id)
        .await
        .unwrap()
        .unwrap();
    let secret = h.account.access_key_secret.as_bytes();
    assert!(!key.secret_sealed.windows(secret.len()).any(|w| w == secret));
    assert_eq!(
        ram::open_secret(&h.state.keys, &key).unwrap(),
        h.account.access_key_secret
    );
}
