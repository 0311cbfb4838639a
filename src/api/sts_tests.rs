//! STS in process: AssumeRole with session policies (the mobile-app scenario), cross-account
//! delegation and its revocation, role chaining, tokens that must fail, issuance throttling, and
//! the AuthorizeRequest decision endpoint.

use axum::http::StatusCode;
use base64::Engine as _;
use chrono::Duration;
use serde_json::Value;

use super::test_support::{Harness, code};
use crate::client::Credentials;
use crate::config::Settings;
use crate::crypto::hmac_sha1;

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

async fn app_role(h: &Harness) -> String {
    let acct = h.account.account_id.clone();
    h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", "mobile-app"),
            ("AssumeRolePolicyDocument", &trust_account(&acct)),
            ("MaxSessionDuration", "7200"),
        ],
    )
    .await;
    h.ram_ok("CreatePolicy", &[("PolicyName", "oss-all"), ("PolicyDocument", r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}"#)]).await;
    h.ram_ok(
        "AttachPolicyToRole",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "oss-all"),
            ("RoleName", "mobile-app"),
        ],
    )
    .await;
    format!("acs:ram::{acct}:role/mobile-app")
}

/// A resource server's own RAM user allowed to call AuthorizeRequest.
async fn resource_server(h: &Harness) -> Credentials {
    let creds = h.user_with_key("oss-gateway").await;
    h.ram_ok("CreatePolicy", &[("PolicyName", "gateway"), ("PolicyDocument", r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AuthorizeRequest","Resource":"*"}]}"#)]).await;
    h.ram_ok(
        "AttachPolicyToUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "gateway"),
            ("UserName", "oss-gateway"),
        ],
    )
    .await;
    creds
}

/// The mobile app signs its object-store request; the object store asks rambridge.
async fn decide(
    h: &Harness,
    gateway: &Credentials,
    client: &Credentials,
    action: &str,
    resource: &str,
) -> Value {
    let string_to_sign = format!("PUT\n\n\n{}\n/{resource}", h.now());
    let sig = base64::engine::general_purpose::STANDARD.encode(hmac_sha1(
        format!("{}&", client.access_key_secret).as_bytes(),
        string_to_sign.as_bytes(),
    ));
    let token = client.security_token.clone().unwrap_or_default();
    let (status, body) = h
        .call(
            gateway,
            STS,
            "AuthorizeRequest",
            &[
                ("ClientAccessKeyId", &client.access_key_id),
                ("ClientSecurityToken", &token),
                ("ClientStringToSign", &string_to_sign),
                ("ClientSignature", &sig),
                ("ClientSignatureMethod", "HMAC-SHA1"),
                ("RequestAction", action),
                ("RequestResource", resource),
                ("RequestSourceIp", "198.51.100.4"),
                ("RequestSecureTransport", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn mobile_app_session_policy_and_decisions() {
    let h = Harness::new().await;
    let role = app_role(&h).await;
    let gateway = resource_server(&h).await;
    let session_policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:PutObject","oss:GetObject"],"Resource":"acs:oss:*:*:app-bucket/user-42/*"}]}"#;
    let (status, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[
                ("RoleArn", &role),
                ("RoleSessionName", "user-42"),
                ("DurationSeconds", "1800"),
                ("Policy", session_policy),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["Credentials"]["Expiration"], "2026-11-22T12:30:00Z",
        "30 minutes after the fixed clock"
    );
    assert!(
        body["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("STS.")
    );
    assert_eq!(body["AssumedRoleUser"]["Arn"], format!("{role}/user-42"));
    assert!(
        body["AssumedRoleUser"]["AssumedRoleId"]
            .as_str()
            .unwrap()
            .ends_with(":user-42")
    );
    let app = creds_of(&body);

    let d = decide(
        &h,
        &gateway,
        &app,
        "oss:PutObject",
        "acs:oss:*:*:app-bucket/user-42/photo.jpg",
    )
    .await;
    assert_eq!(d["Decision"], "Allow", "{d}");
    assert_eq!(
        d["Principal"]["Arn"],
        format!(
            "acs:ram::{}:assumed-role/mobile-app/user-42",
            h.account.account_id
        )
    );
    let d = decide(
        &h,
        &gateway,
        &app,
        "oss:PutObject",
        "acs:oss:*:*:app-bucket/user-43/photo.jpg",
    )
    .await;
    assert_eq!(
        (d["Decision"].as_str(), d["Reason"].as_str()),
        (Some("Deny"), Some("ImplicitDeny"))
    );
    // The role allows oss:*, the session policy does not allow DeleteObject: denied.
    let d = decide(
        &h,
        &gateway,
        &app,
        "oss:DeleteObject",
        "acs:oss:*:*:app-bucket/user-42/photo.jpg",
    )
    .await;
    assert_eq!(d["Decision"], "Deny");
    // A wrong client signature is a Deny, whatever the policies say.
    let mut forged = app.clone();
    forged.access_key_secret = "not-the-secret".into();
    let d = decide(
        &h,
        &gateway,
        &forged,
        "oss:PutObject",
        "acs:oss:*:*:app-bucket/user-42/photo.jpg",
    )
    .await;
    assert_eq!(
        (d["Decision"].as_str(), d["Reason"].as_str()),
        (Some("Deny"), Some("SignatureDoesNotMatch"))
    );
    // The app's temporary credentials cannot call the decision endpoint themselves.
    let (_, body) = h
        .call(
            &app,
            STS,
            "AuthorizeRequest",
            &[
                ("ClientAccessKeyId", "x"),
                ("ClientStringToSign", "x"),
                ("ClientSignature", "x"),
                ("RequestAction", "oss:GetObject"),
                ("RequestResource", "*"),
            ],
        )
        .await;
    assert_eq!(code(&body), "NoPermission");

    for (d, why) in [("899", "below 900"), ("7201", "above the role maximum")] {
        let (_, body) = h
            .call(
                &h.creds(),
                STS,
                "AssumeRole",
                &[
                    ("RoleArn", &role),
                    ("RoleSessionName", "user-42"),
                    ("DurationSeconds", d),
                ],
            )
            .await;
        assert_eq!(code(&body), "InvalidParameter.DurationSeconds", "{why}");
    }
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[
                ("RoleArn", &role),
                ("RoleSessionName", "user-42"),
                ("Policy", &"x".repeat(2049)),
            ],
        )
        .await;
    assert_eq!(code(&body), "InvalidParameter.PolicySize");
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[
                ("RoleArn", &role),
                ("RoleSessionName", "user-42"),
                ("Policy", r#"{"Version":"2"}"#),
            ],
        )
        .await;
    assert_eq!(code(&body), "InvalidParameter.PolicyGrammar");
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[("RoleArn", "acs:ram::1:role/x"), ("RoleSessionName", "s1")],
        )
        .await;
    assert_eq!(code(&body), "InvalidParameter.RoleArn");
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[
                (
                    "RoleArn",
                    &format!("acs:ram::{}:role/nope", h.account.account_id),
                ),
                ("RoleSessionName", "s1"),
            ],
        )
        .await;
    assert_eq!(code(&body), "EntityNotExist.Role");
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[("RoleArn", &role), ("RoleSessionName", "x")],
        )
        .await;
    assert_eq!(code(&body), "InvalidParameter.RoleSessionName");
}

#[tokio::test]
async fn cross_account_delegation_and_revocation() {
    let h = Harness::new().await;
    let a = h.account.account_id.clone();
    // Account B and its operator.
    let b =
        crate::ram::create_account(&h.state.store, &h.state.keys, h.clock.as_ref(), "partner-b")
            .await
            .unwrap();
    let b_root = Credentials {
        access_key_id: b.access_key_id.clone(),
        access_key_secret: b.access_key_secret.clone(),
        security_token: None,
    };
    let (_, k) = h
        .call(&b_root, RAM, "CreateUser", &[("UserName", "operator")])
        .await;
    assert_eq!(k["User"]["UserName"], "operator");
    let (_, k) = h
        .call(&b_root, RAM, "CreateAccessKey", &[("UserName", "operator")])
        .await;
    let operator = Credentials {
        access_key_id: k["AccessKey"]["AccessKeyId"].as_str().unwrap().into(),
        access_key_secret: k["AccessKey"]["AccessKeySecret"].as_str().unwrap().into(),
        security_token: None,
    };
    // A's role trusts B.
    h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", "partner-ops"),
            ("AssumeRolePolicyDocument", &trust_account(&b.account_id)),
        ],
    )
    .await;
    h.ram_ok(
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
            ("RoleName", "partner-ops"),
        ],
    )
    .await;
    let role = format!("acs:ram::{a}:role/partner-ops");

    // Trusted, but B's operator lacks sts:AssumeRole in its own account.
    let (status, body) = h
        .call(
            &operator,
            STS,
            "AssumeRole",
            &[("RoleArn", &role), ("RoleSessionName", "op")],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "NoPermission"),
        "{body}"
    );
    let (s, _) = h
        .call(
            &b_root,
            RAM,
            "AttachPolicyToUser",
            &[
                ("PolicyType", "System"),
                ("PolicyName", "AliyunSTSAssumeRoleAccess"),
                ("UserName", "operator"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (status, body) = h
        .call(
            &operator,
            STS,
            "AssumeRole",
            &[("RoleArn", &role), ("RoleSessionName", "op")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = creds_of(&body);
    let (_, id) = h.call(&session, STS, "GetCallerIdentity", &[]).await;
    assert_eq!(id["IdentityType"], "AssumedRoleUser");
    assert_eq!(id["AccountId"], a.as_str());
    assert_eq!(
        id["Arn"],
        format!("acs:ram::{a}:assumed-role/partner-ops/op")
    );
    // The session works inside A, with the role's permissions.
    assert_eq!(
        h.call(&session, RAM, "ListRoles", &[]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        code(
            &h.call(&session, RAM, "CreateUser", &[("UserName", "x")])
                .await
                .1
        ),
        "NoPermission"
    );
    // v3 signing with the token in headers works too.
    let (status, body, _) = h.send(h.v3_request(&session, "v3-session", b"")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A stops trusting B: new sessions fail, the live one still works...
    h.ram_ok(
        "UpdateRole",
        &[
            ("RoleName", "partner-ops"),
            ("NewAssumeRolePolicyDocument", &trust_account(&a)),
        ],
    )
    .await;
    let (status, body) = h
        .call(
            &operator,
            STS,
            "AssumeRole",
            &[("RoleArn", &role), ("RoleSessionName", "op")],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "NoPermission")
    );
    assert_eq!(
        h.call(&session, STS, "GetCallerIdentity", &[]).await.0,
        StatusCode::OK
    );
    // ...until A voids live sessions: then it fails on its next call.
    h.clock.advance(Duration::seconds(1));
    h.ram_ok("RevokeRoleSessions", &[("RoleName", "partner-ops")])
        .await;
    let (status, body) = h.call(&session, STS, "GetCallerIdentity", &[]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "InvalidSecurityToken.Revoked"),
        "{body}"
    );
    assert!(body["Message"].as_str().unwrap().contains("revoked"));
    // A's own root can still get fresh sessions.
    h.clock.advance(Duration::seconds(1));
    let (status, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[("RoleArn", &role), ("RoleSessionName", "a-admin")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fresh = creds_of(&body);
    assert_eq!(
        h.call(&fresh, STS, "GetCallerIdentity", &[]).await.0,
        StatusCode::OK
    );
    // Deleting the role ends every session.
    h.ram_ok(
        "DetachPolicyFromRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
            ("RoleName", "partner-ops"),
        ],
    )
    .await;
    h.ram_ok("DeleteRole", &[("RoleName", "partner-ops")]).await;
    assert_eq!(
        code(&h.call(&fresh, STS, "GetCallerIdentity", &[]).await.1),
        "InvalidSecurityToken.Revoked"
    );
}

#[tokio::test]
async fn role_permission_changes_reach_live_sessions() {
    let h = Harness::new().await;
    let role = app_role(&h).await;
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[("RoleArn", &role), ("RoleSessionName", "s1")],
        )
        .await;
    let session = creds_of(&body);
    assert_eq!(
        code(&h.call(&session, RAM, "ListUsers", &[]).await.1),
        "NoPermission"
    );
    h.ram_ok(
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
            ("RoleName", "mobile-app"),
        ],
    )
    .await;
    assert_eq!(
        h.call(&session, RAM, "ListUsers", &[]).await.0,
        StatusCode::OK
    );
    h.ram_ok(
        "DetachPolicyFromRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
            ("RoleName", "mobile-app"),
        ],
    )
    .await;
    assert_eq!(
        code(&h.call(&session, RAM, "ListUsers", &[]).await.1),
        "NoPermission"
    );
}

#[tokio::test]
async fn role_chaining_is_capped() {
    let h = Harness::new().await;
    let acct = h.account.account_id.clone();
    let first = app_role(&h).await;
    h.ram_ok(
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunSTSAssumeRoleAccess"),
            ("RoleName", "mobile-app"),
        ],
    )
    .await;
    let trust_role = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{acct}:role/mobile-app"]}}}}]}}"#
    );
    h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", "second"),
            ("AssumeRolePolicyDocument", &trust_role),
            ("MaxSessionDuration", "43200"),
        ],
    )
    .await;
    let second = format!("acs:ram::{acct}:role/second");
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[("RoleArn", &first), ("RoleSessionName", "hop1")],
        )
        .await;
    let hop1 = creds_of(&body);
    let (_, body) = h
        .call(
            &hop1,
            STS,
            "AssumeRole",
            &[
                ("RoleArn", &second),
                ("RoleSessionName", "hop2"),
                ("DurationSeconds", "3601"),
            ],
        )
        .await;
    assert_eq!(code(&body), "InvalidParameter.DurationSeconds");
    assert!(body["Message"].as_str().unwrap().contains("chaining"));
    let (status, body) = h
        .call(
            &hop1,
            STS,
            "AssumeRole",
            &[
                ("RoleArn", &second),
                ("RoleSessionName", "hop2"),
                ("DurationSeconds", "3600"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The root cannot chain-assume "second": its trust names only the first role.
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[("RoleArn", &second), ("RoleSessionName", "x1")],
        )
        .await;
    assert_eq!(code(&body), "NoPermission");
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let h = Harness::new().await;
    let role = app_role(&h).await;
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[
                ("RoleArn", &role),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "900"),
            ],
        )
        .await;
    let good = creds_of(&body);
    assert_eq!(
        h.call(&good, STS, "GetCallerIdentity", &[]).await.0,
        StatusCode::OK
    );

    // One byte changed.
    let mut tampered = good.clone();
    let mut t = tampered.security_token.take().unwrap().into_bytes();
    let i = t.len() / 2;
    t[i] = if t[i] == b'A' { b'B' } else { b'A' };
    tampered.security_token = Some(String::from_utf8(t).unwrap());
    assert_eq!(
        code(&h.call(&tampered, STS, "GetCallerIdentity", &[]).await.1),
        "InvalidSecurityToken.Malformed"
    );
    // Sealed under a key this server does not hold.
    let other =
        crate::crypto::Keyring::new(crate::crypto::MasterKey::from_bytes(&[42u8; 32]).unwrap());
    let r = h
        .state
        .store
        .find_role(&h.account.account_id, "mobile-app")
        .await
        .unwrap()
        .unwrap();
    let foreign = crate::sts::mint(
        &other,
        h.clock.as_ref(),
        &r,
        crate::sts::SessionSpec {
            session_name: "evil".into(),
            duration_s: 900,
            session_policy: None,
            chained: false,
            source: String::new(),
            source_identity: None,
        },
    )
    .unwrap();
    let foreign_creds = Credentials {
        access_key_id: foreign.claims.access_key_id,
        access_key_secret: foreign.secret,
        security_token: Some(foreign.token),
    };
    let (_, body) = h.call(&foreign_creds, STS, "GetCallerIdentity", &[]).await;
    assert_eq!(code(&body), "InvalidSecurityToken.Malformed");
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("unknown master key")
    );
    // Another session's token with this AccessKeyId.
    let (_, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[("RoleArn", &role), ("RoleSessionName", "s2")],
        )
        .await;
    let mut swapped = good.clone();
    swapped.security_token = creds_of(&body).security_token;
    assert_eq!(
        code(&h.call(&swapped, STS, "GetCallerIdentity", &[]).await.1),
        "InvalidSecurityToken.MismatchWithAccessKey"
    );
    // Expired.
    h.clock.advance(Duration::seconds(901));
    assert_eq!(
        code(&h.call(&good, STS, "GetCallerIdentity", &[]).await.1),
        "InvalidSecurityToken.Expired"
    );
}

#[tokio::test]
async fn issuance_is_throttled_per_account() {
    let h = Harness::with(Settings {
        sts_issue_rate_per_second: Some(1),
        sts_issue_burst: Some(1),
        ..Settings::default()
    })
    .await;
    let role = app_role(&h).await;
    assert_eq!(
        h.call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[("RoleArn", &role), ("RoleSessionName", "s1")]
        )
        .await
        .0,
        StatusCode::OK
    );
    let (status, body) = h
        .call(
            &h.creds(),
            STS,
            "AssumeRole",
            &[("RoleArn", &role), ("RoleSessionName", "s2")],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "Throttling.User")
    );
    // Other calls of the same account are not throttled by the issuance limit.
    assert_eq!(
        h.call(&h.creds(), STS, "GetCallerIdentity", &[]).await.0,
        StatusCode::OK
    );
}
