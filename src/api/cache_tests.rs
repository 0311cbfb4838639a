//! The hot-path caches keep every check on (docs/performance.md): what this server changes
//! applies to its very next request, what another replica sharing the database changes applies
//! within `store::CACHE_TTL_MS`, and concurrent requests reusing one nonce still get exactly one
//! success through the group-commit writer.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::Value;

use super::test_support::{Harness, code, join_all};
use crate::client::{self, Credentials};
use crate::store::CACHE_TTL_MS;

const STS: &str = "2015-04-01";
const RAM: &str = "2015-05-01";

fn trust_account(account: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{account}:root"]}}}}]}}"#
    )
}

fn creds_of(body: &Value) -> Credentials {
    let c = &body["Credentials"];
    Credentials {
        access_key_id: c["AccessKeyId"].as_str().unwrap().into(),
        access_key_secret: c["AccessKeySecret"].as_str().unwrap().into(),
        security_token: Some(c["SecurityToken"].as_str().unwrap().into()),
    }
}

async fn role_session(h: &Harness) -> Credentials {
    let acct = h.account.account_id.clone();
    h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", "app"),
            ("AssumeRolePolicyDocument", &trust_account(&acct)),
        ],
    )
    .await;
    let (status, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[
                ("RoleArn", &format!("acs:ram::{acct}:role/app")),
                ("RoleSessionName", "s1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    creds_of(&body)
}

async fn whoami(h: &Harness, c: &Credentials) -> (StatusCode, String) {
    let (status, body) = h.call(c, STS, "GetCallerIdentity", &[]).await;
    (status, code(&body).to_string())
}

#[tokio::test]
async fn a_revocation_applies_here_at_once_and_on_another_replica_within_the_ttl() {
    let a = Harness::new().await;
    let b = a.replica().await;
    let session = role_session(&a).await;
    // Both replicas accept the session, and have the role cached now.
    assert_eq!(whoami(&a, &session).await.0, StatusCode::OK);
    assert_eq!(whoami(&b, &session).await.0, StatusCode::OK);

    // Sessions issued before the revocation instant are void.
    a.clock.advance(Duration::seconds(1));
    b.clock.advance(Duration::seconds(1));
    a.ram_ok("RevokeRoleSessions", &[("RoleName", "app")]).await;
    let revoked = (
        StatusCode::BAD_REQUEST,
        "InvalidSecurityToken.Revoked".to_string(),
    );
    // The replica that revoked refuses on the next request.
    assert_eq!(whoami(&a, &session).await, revoked);
    // The other one learns from the database once its cached role is CACHE_TTL_MS old
    // (it was read one second ago: already expired), and from then on refuses too.
    assert_eq!(whoami(&b, &session).await, revoked);

    // A fresh read inside the TTL window is served from the cache: the bound is the TTL.
    let c = role_session_named(&a, "app2").await;
    assert_eq!(whoami(&b, &c).await.0, StatusCode::OK);
    a.clock.advance(Duration::milliseconds(10));
    a.ram_ok("RevokeRoleSessions", &[("RoleName", "app2")])
        .await;
    b.clock.advance(Duration::milliseconds(CACHE_TTL_MS - 1));
    assert_eq!(
        whoami(&b, &c).await.0,
        StatusCode::OK,
        "within the TTL the other replica may still accept"
    );
    b.clock.advance(Duration::milliseconds(1));
    assert_eq!(whoami(&b, &c).await, revoked);
}

async fn role_session_named(h: &Harness, name: &str) -> Credentials {
    let acct = h.account.account_id.clone();
    h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", name),
            ("AssumeRolePolicyDocument", &trust_account(&acct)),
        ],
    )
    .await;
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[
                ("RoleArn", &format!("acs:ram::{acct}:role/{name}")),
                ("RoleSessionName", "s2"),
            ],
        )
        .await;
    creds_of(&body)
}

#[tokio::test]
async fn a_disabled_key_and_a_detached_policy_apply_to_the_next_request() {
    let h = Harness::new().await;
    let alice = h.user_with_key("alice").await;
    h.ram_ok(
        "AttachPolicyToUser",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "ReadOnlyAccess"),
            ("UserName", "alice"),
        ],
    )
    .await;
    let get_user = |c: &Credentials| {
        let c = c.clone();
        let h = &h;
        async move {
            let (s, b) = h.call(&c, RAM, "GetUser", &[("UserName", "alice")]).await;
            (s, code(&b).to_string())
        }
    };
    // Allowed, and the key, user and attached policies are now cached.
    assert_eq!(get_user(&alice).await.0, StatusCode::OK);
    assert_eq!(get_user(&alice).await.0, StatusCode::OK);

    // Detach: the very next call is refused (same clock instant: no TTL involved).
    h.ram_ok(
        "DetachPolicyFromUser",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "ReadOnlyAccess"),
            ("UserName", "alice"),
        ],
    )
    .await;
    assert_eq!(get_user(&alice).await.1, "NoPermission");

    // Disable the key: the very next call is refused.
    h.ram_ok(
        "UpdateAccessKey",
        &[
            ("UserName", "alice"),
            ("UserAccessKeyId", &alice.access_key_id),
            ("Status", "Inactive"),
        ],
    )
    .await;
    assert_eq!(
        get_user(&alice).await.1,
        "InvalidAccessKeyId.Inactive",
        "a disabled key must not be served from the cache"
    );
}

#[tokio::test]
async fn concurrent_requests_reusing_one_nonce_succeed_exactly_once() {
    let h = Harness::new().await;
    let creds = h.creds();
    let query = h.v1_query(&creds, "GetCallerIdentity", STS, &client::new_nonce());
    // All sent together, so that they reach the group-commit writer in one batch.
    let results = join_all((0..16).map(|_| async { h.get(&query).await }).collect()).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let replayed = results
        .iter()
        .filter(|(_, b)| code(b) == "SignatureNonceUsed")
        .count();
    assert_eq!((ok, replayed), (1, 15), "{results:?}");
    // Distinct nonces in one batch are all fresh.
    let queries: Vec<String> = (0..16)
        .map(|_| h.v1_query(&creds, "GetCallerIdentity", STS, &client::new_nonce()))
        .collect();
    let results = join_all(queries.iter().map(|q| h.get(q)).collect()).await;
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::OK),
        "{results:?}"
    );
}
