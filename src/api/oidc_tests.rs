//! OIDC in process: the IMS OIDC-provider actions (shapes, every parameter rule, limits, list
//! edits, permissions) and AssumeRoleWithOIDC with keys from a static source (the HTTPS issuer,
//! pinning and the real binary are covered by tests/it/oidc): success and the credentials it
//! yields, trust conditions on `oidc:*`, every request error with its code, and the audit log.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};

use super::test_support::{Harness, code};
use crate::client::Credentials;
use crate::config::Settings;
use crate::oidc::OidcVerifier;
use crate::oidc::jwks::CachePolicy;
use crate::oidc::test_issuer::{self, StaticKeys, TestKey};
use crate::oidc::token::Algorithm;

const IMS: &str = "2019-08-15";
const STS: &str = "2015-04-01";
const ISSUER: &str = "https://oidc.example.test/cluster-1";
const CLIENT: &str = "sts.aliyuncs.com";
const FP: &str = "902EF2DEEB3C5B13EA4C3D5193629309E231AE55";
const SUB: &str = "system:serviceaccount:prod:reader";

async fn ims(h: &Harness, action: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    h.call(&h.creds(), IMS, action, params).await
}

async fn ims_ok(h: &Harness, action: &str, params: &[(&str, &str)]) -> Value {
    let (status, body) = ims(h, action, params).await;
    assert_eq!(status, StatusCode::OK, "{action}: {body}");
    body
}

async fn ims_err(h: &Harness, action: &str, params: &[(&str, &str)], want: &str) -> Value {
    let (status, body) = ims(h, action, params).await;
    assert_eq!(code(&body), want, "{action} {params:?}: {status} {body}");
    assert!(status.is_client_error(), "{status}");
    body
}

async fn create(h: &Harness, name: &str, issuer: &str) -> Value {
    ims_ok(
        h,
        "CreateOIDCProvider",
        &[
            ("OIDCProviderName", name),
            ("IssuerUrl", issuer),
            ("Fingerprints", FP),
            ("ClientIds", CLIENT),
        ],
    )
    .await
}

#[tokio::test]
async fn provider_lifecycle_and_shapes() {
    let h = Harness::new().await;
    let acct = h.account.account_id.clone();
    let body = ims_ok(
        &h,
        "CreateOIDCProvider",
        &[
            ("OIDCProviderName", "ack-cluster-1"),
            ("IssuerUrl", ISSUER),
            ("Fingerprints", &format!("{FP}, {}", "1".repeat(64))),
            ("ClientIds", "sts.aliyuncs.com,app-1 ,app-1"),
            ("Description", "RRSA of cluster 1"),
        ],
    )
    .await;
    let p = &body["OIDCProvider"];
    assert_eq!(
        p["Arn"],
        format!("acs:ram::{acct}:oidc-provider/ack-cluster-1")
    );
    assert_eq!(p["OIDCProviderName"], "ack-cluster-1");
    assert_eq!(p["IssuerUrl"], ISSUER);
    assert_eq!(
        p["Fingerprints"],
        format!("{},{}", FP.to_ascii_lowercase(), "1".repeat(64))
    );
    assert_eq!(p["ClientIds"], "sts.aliyuncs.com,app-1");
    assert_eq!(p["IssuanceLimitTime"], 12);
    assert_eq!(p["Description"], "RRSA of cluster 1");
    assert_eq!(p["CreateDate"], "2026-11-22T12:00:00Z");
    assert_eq!(p["GmtCreate"], h.state.clock.now_ms().to_string());
    assert_eq!(p["GmtModified"], p["GmtCreate"]);
    assert_eq!(
        ims_ok(
            &h,
            "GetOIDCProvider",
            &[("OIDCProviderName", "ack-cluster-1")]
        )
        .await["OIDCProvider"],
        *p
    );

    h.clock.advance(Duration::minutes(5));
    let u = ims_ok(
        &h,
        "UpdateOIDCProvider",
        &[
            ("OIDCProviderName", "ack-cluster-1"),
            ("ClientIds", "app-2"),
            ("IssuanceLimitTime", "168"),
            ("NewDescription", ""),
        ],
    )
    .await;
    let p = &u["OIDCProvider"];
    assert_eq!(p["ClientIds"], "app-2");
    assert_eq!(p["IssuanceLimitTime"], 168);
    assert_eq!(p["Description"], "");
    assert_eq!(p["UpdateDate"], "2026-11-22T12:05:00Z");
    assert_eq!(p["CreateDate"], "2026-11-22T12:00:00Z");

    let name = ("OIDCProviderName", "ack-cluster-1");
    let p = ims_ok(
        &h,
        "AddClientIdToOIDCProvider",
        &[name, ("ClientId", "app-3")],
    )
    .await;
    assert_eq!(p["OIDCProvider"]["ClientIds"], "app-2,app-3");
    let p = ims_ok(
        &h,
        "RemoveClientIdFromOIDCProvider",
        &[name, ("ClientId", "app-2")],
    )
    .await;
    assert_eq!(p["OIDCProvider"]["ClientIds"], "app-3");
    let new_fp = "AB".repeat(20);
    let p = ims_ok(
        &h,
        "AddFingerprintToOIDCProvider",
        &[name, ("Fingerprint", &new_fp)],
    )
    .await;
    assert!(
        p["OIDCProvider"]["Fingerprints"]
            .as_str()
            .unwrap()
            .ends_with(&"ab".repeat(20))
    );
    let p = ims_ok(
        &h,
        "RemoveFingerprintFromOIDCProvider",
        &[name, ("Fingerprint", FP)],
    )
    .await;
    assert_eq!(
        p["OIDCProvider"]["Fingerprints"],
        format!("{},{}", "1".repeat(64), "ab".repeat(20))
    );

    // Listing pages by name.
    create(&h, "b-provider", "https://b.example.test").await;
    create(&h, "c-provider", "https://c.example.test").await;
    let page = ims_ok(&h, "ListOIDCProviders", &[("MaxItems", "2")]).await;
    let names: Vec<&str> = page["OIDCProviders"]["OIDCProvider"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["OIDCProviderName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ack-cluster-1", "b-provider"]);
    assert_eq!(page["IsTruncated"], true);
    let marker = page["Marker"].as_str().unwrap();
    let rest = ims_ok(
        &h,
        "ListOIDCProviders",
        &[("MaxItems", "2"), ("Marker", marker)],
    )
    .await;
    assert_eq!(
        rest["OIDCProviders"]["OIDCProvider"][0]["OIDCProviderName"],
        "c-provider"
    );
    assert_eq!(rest["IsTruncated"], false);

    ims_ok(&h, "DeleteOIDCProvider", &[name]).await;
    ims_err(
        &h,
        "GetOIDCProvider",
        &[name],
        "EntityNotExist.OIDCProvider",
    )
    .await;
    ims_err(
        &h,
        "DeleteOIDCProvider",
        &[name],
        "EntityNotExist.OIDCProvider",
    )
    .await;
    let all = ims_ok(&h, "ListOIDCProviders", &[]).await;
    assert_eq!(
        all["OIDCProviders"]["OIDCProvider"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn create_refuses_bad_parameters_and_writes_nothing() {
    let h = Harness::new().await;
    let ok = |k: &'static str, v: &str| -> Vec<(&'static str, String)> {
        let mut p: Vec<(&'static str, String)> = vec![
            ("OIDCProviderName", "p1".into()),
            ("IssuerUrl", ISSUER.into()),
            ("Fingerprints", FP.into()),
            ("ClientIds", CLIENT.into()),
        ];
        p.retain(|(name, _)| *name != k);
        if v != "<absent>" {
            p.push((k, v.to_string()));
        }
        p
    };
    let long_url = format!("https://a.test/{}", "p".repeat(250));
    let many_fps = (0..6)
        .map(|i| format!("{i:040x}"))
        .collect::<Vec<_>>()
        .join(",");
    let many_ids = (0..51)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<(&'static str, String, &str)> = vec![
        (
            "OIDCProviderName",
            "bad name".into(),
            "InvalidParameter.OIDCProviderName.InvalidChars",
        ),
        (
            "OIDCProviderName",
            "-lead".into(),
            "InvalidParameter.OIDCProviderName.Format",
        ),
        (
            "OIDCProviderName",
            "a".repeat(129),
            "InvalidParameter.OIDCProviderName.Length",
        ),
        (
            "OIDCProviderName",
            "<absent>".into(),
            "MissingParameter.OIDCProviderName",
        ),
        (
            "IssuerUrl",
            "http://oidc.example.test".into(),
            "InvalidParameter.IssuerUrl.Scheme",
        ),
        (
            "IssuerUrl",
            "https://oidc.example.test/?a=1".into(),
            "InvalidParameter.IssuerUrl.Format",
        ),
        (
            "IssuerUrl",
            "https://user@oidc.example.test".into(),
            "InvalidParameter.IssuerUrl.Format",
        ),
        (
            "IssuerUrl",
            "https://oidc.example.test/#x".into(),
            "InvalidParameter.IssuerUrl.Format",
        ),
        (
            "IssuerUrl",
            "https://".into(),
            "InvalidParameter.IssuerUrl.Format",
        ),
        (
            "IssuerUrl",
            "https://a b.test".into(),
            "InvalidParameter.IssuerUrl.Format",
        ),
        ("IssuerUrl", long_url, "InvalidParameter.IssuerUrl.Length"),
        ("IssuerUrl", "<absent>".into(), "MissingParameter.IssuerUrl"),
        (
            "Fingerprints",
            "12:34:56".into(),
            "InvalidParameter.Fingerprints.Format",
        ),
        (
            "Fingerprints",
            "g".repeat(40),
            "InvalidParameter.Fingerprints.Format",
        ),
        (
            "Fingerprints",
            many_fps,
            "LimitExceeded.OIDCProvider.Fingerprint",
        ),
        (
            "Fingerprints",
            "<absent>".into(),
            "InvalidParameter.Fingerprints.Missing",
        ),
        ("ClientIds", many_ids, "LimitExceeded.OIDCProvider.ClientId"),
        (
            "ClientIds",
            "ok,bad id".into(),
            "InvalidParameter.ClientIds.InvalidChars",
        ),
        (
            "ClientIds",
            "-x".into(),
            "InvalidParameter.ClientIds.Format",
        ),
        (
            "ClientIds",
            "c".repeat(129),
            "InvalidParameter.ClientIds.Length",
        ),
        (
            "ClientIds",
            " , ".into(),
            "InvalidParameter.ClientIds.Missing",
        ),
        (
            "IssuanceLimitTime",
            "0".into(),
            "InvalidParameter.IssuanceLimitTime.Range",
        ),
        (
            "IssuanceLimitTime",
            "169".into(),
            "InvalidParameter.IssuanceLimitTime.Range",
        ),
        (
            "IssuanceLimitTime",
            "12h".into(),
            "InvalidParameter.IssuanceLimitTime.Range",
        ),
        (
            "Description",
            "d".repeat(257),
            "InvalidParameter.Description.Length",
        ),
    ];
    for (k, v, want) in cases {
        let params = ok(k, &v);
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ims_err(&h, "CreateOIDCProvider", &refs, want).await;
    }
    let listed = ims_ok(&h, "ListOIDCProviders", &[]).await;
    assert_eq!(listed["OIDCProviders"]["OIDCProvider"], json!([]));

    // Uniqueness of the name and of the IssuerUrl within the account.
    create(&h, "p1", ISSUER).await;
    let body = ims_err(
        &h,
        "CreateOIDCProvider",
        &[
            ("OIDCProviderName", "p1"),
            ("IssuerUrl", "https://x.test"),
            ("Fingerprints", FP),
            ("ClientIds", CLIENT),
        ],
        "EntityAlreadyExists.OIDCProvider",
    )
    .await;
    assert!(body["Message"].as_str().unwrap().contains("\"p1\""));
    ims_err(
        &h,
        "CreateOIDCProvider",
        &[
            ("OIDCProviderName", "p2"),
            ("IssuerUrl", ISSUER),
            ("Fingerprints", FP),
            ("ClientIds", CLIENT),
        ],
        "EntityAlreadyExists.OIDCProvider.IssuerUrl",
    )
    .await;
    let got = ims_ok(&h, "GetOIDCProvider", &[("OIDCProviderName", "p1")]).await;
    assert_eq!(got["OIDCProvider"]["IssuerUrl"], ISSUER);
}

#[tokio::test]
async fn list_edits_and_their_errors() {
    let h = Harness::new().await;
    create(&h, "p", ISSUER).await;
    let name = ("OIDCProviderName", "p");
    let missing = ("OIDCProviderName", "nope");
    ims_err(
        &h,
        "AddClientIdToOIDCProvider",
        &[name, ("ClientId", CLIENT)],
        "EntityAlreadyExists.OIDCProvider.ClientId",
    )
    .await;
    ims_err(
        &h,
        "RemoveClientIdFromOIDCProvider",
        &[name, ("ClientId", "x")],
        "EntityNotExist.OIDCProvider.ClientId",
    )
    .await;
    ims_err(
        &h,
        "AddClientIdToOIDCProvider",
        &[name, ("ClientId", "a b")],
        "InvalidParameter.ClientId.InvalidChars",
    )
    .await;
    ims_err(
        &h,
        "AddClientIdToOIDCProvider",
        &[name],
        "MissingParameter.ClientId",
    )
    .await;
    ims_err(
        &h,
        "AddClientIdToOIDCProvider",
        &[missing, ("ClientId", "x")],
        "EntityNotExist.OIDCProvider",
    )
    .await;
    for i in 1..50 {
        ims_ok(
            &h,
            "AddClientIdToOIDCProvider",
            &[name, ("ClientId", &format!("c{i}"))],
        )
        .await;
    }
    ims_err(
        &h,
        "AddClientIdToOIDCProvider",
        &[name, ("ClientId", "c50")],
        "LimitExceeded.OIDCProvider.ClientId",
    )
    .await;

    let lower = FP.to_ascii_lowercase();
    ims_err(
        &h,
        "AddFingerprintToOIDCProvider",
        &[name, ("Fingerprint", &lower)],
        "EntityAlreadyExists.OIDCProvider.Fingerprint",
    )
    .await;
    ims_err(
        &h,
        "AddFingerprintToOIDCProvider",
        &[name, ("Fingerprint", "xyz")],
        "InvalidParameter.Fingerprint.Format",
    )
    .await;
    ims_err(
        &h,
        "RemoveFingerprintFromOIDCProvider",
        &[name, ("Fingerprint", &"0".repeat(40))],
        "EntityNotExist.OIDCProvider.Fingerprint",
    )
    .await;
    for i in 1..5 {
        ims_ok(
            &h,
            "AddFingerprintToOIDCProvider",
            &[name, ("Fingerprint", &format!("{i:040x}"))],
        )
        .await;
    }
    ims_err(
        &h,
        "AddFingerprintToOIDCProvider",
        &[name, ("Fingerprint", &format!("{:040x}", 9))],
        "LimitExceeded.OIDCProvider.Fingerprint",
    )
    .await;
    // Removing every fingerprint is allowed (tokens then fail at the TLS check).
    for f in [lower.clone()]
        .into_iter()
        .chain((1..5).map(|i| format!("{i:040x}")))
    {
        ims_ok(
            &h,
            "RemoveFingerprintFromOIDCProvider",
            &[name, ("Fingerprint", &f)],
        )
        .await;
    }
    let p = ims_ok(&h, "GetOIDCProvider", &[name]).await;
    assert_eq!(p["OIDCProvider"]["Fingerprints"], "");
    assert_eq!(
        p["OIDCProvider"]["ClientIds"]
            .as_str()
            .unwrap()
            .split(',')
            .count(),
        50
    );

    ims_err(
        &h,
        "UpdateOIDCProvider",
        &[name],
        "InvalidParameter.ClientIds.Missing",
    )
    .await;
    ims_err(
        &h,
        "UpdateOIDCProvider",
        &[name, ("IssuanceLimitTime", "0")],
        "InvalidParameter.IssuanceLimitTime.Range",
    )
    .await;
    ims_err(
        &h,
        "UpdateOIDCProvider",
        &[missing, ("NewDescription", "x")],
        "EntityNotExist.OIDCProvider",
    )
    .await;
    let after = ims_ok(&h, "GetOIDCProvider", &[name]).await;
    assert_eq!(
        after["OIDCProvider"], p["OIDCProvider"],
        "refused updates changed nothing"
    );
}

#[tokio::test]
async fn provider_count_is_limited() {
    let h = Harness::new().await;
    for i in 0..100 {
        create(&h, &format!("p{i}"), &format!("https://i{i}.example.test")).await;
    }
    ims_err(
        &h,
        "CreateOIDCProvider",
        &[
            ("OIDCProviderName", "p100"),
            ("IssuerUrl", "https://i100.example.test"),
            ("Fingerprints", FP),
            ("ClientIds", CLIENT),
        ],
        "LimitExceeded.OIDCProvider",
    )
    .await;
}

#[tokio::test]
async fn system_roots_make_fingerprints_optional() {
    let h = Harness::with(Settings {
        oidc_use_system_roots: Some(true),
        ..Settings::default()
    })
    .await;
    let body = ims_ok(
        &h,
        "CreateOIDCProvider",
        &[
            ("OIDCProviderName", "google"),
            ("IssuerUrl", "https://accounts.google.com"),
            ("ClientIds", "123.apps.googleusercontent.com"),
        ],
    )
    .await;
    assert_eq!(body["OIDCProvider"]["Fingerprints"], "");
}

#[tokio::test]
async fn ims_actions_are_authorized_on_the_provider_arn() {
    let h = Harness::new().await;
    let acct = h.account.account_id.clone();
    create(&h, "k8s", ISSUER).await;
    create(&h, "other", "https://other.example.test").await;
    let alice = h.user_with_key("alice").await;
    let get = |n: &'static str| [("OIDCProviderName", n)];
    let (_, body) = h.call(&alice, IMS, "GetOIDCProvider", &get("k8s")).await;
    assert_eq!(code(&body), "NoPermission");
    let policy = json!({"Version": "1", "Statement": [{"Effect": "Allow",
        "Action": ["ram:GetOIDCProvider", "ram:AddClientIdToOIDCProvider"],
        "Resource": format!("acs:ram::{acct}:oidc-provider/k8s")}]});
    h.ram_ok(
        "CreatePolicy",
        &[
            ("PolicyName", "oidc-k8s"),
            ("PolicyDocument", &policy.to_string()),
        ],
    )
    .await;
    h.ram_ok(
        "AttachPolicyToUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "oidc-k8s"),
            ("UserName", "alice"),
        ],
    )
    .await;
    let (status, _) = h.call(&alice, IMS, "GetOIDCProvider", &get("k8s")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = h
        .call(
            &alice,
            IMS,
            "AddClientIdToOIDCProvider",
            &[("OIDCProviderName", "k8s"), ("ClientId", "x")],
        )
        .await;
    assert_eq!(body["OIDCProvider"]["ClientIds"], "sts.aliyuncs.com,x");
    let (_, body) = h.call(&alice, IMS, "GetOIDCProvider", &get("other")).await;
    assert_eq!(code(&body), "NoPermission");
    let (_, body) = h.call(&alice, IMS, "DeleteOIDCProvider", &get("k8s")).await;
    assert_eq!(code(&body), "NoPermission");
    let (_, body) = h.call(&alice, IMS, "ListOIDCProviders", &[]).await;
    assert_eq!(code(&body), "NoPermission");
}

/// A harness whose OIDC keys come from `key` for every issuer, with a provider `k8s` for
/// [`ISSUER`] and a role `reader` trusting it with `trust_condition`.
struct Oidc {
    h: Harness,
    key: TestKey,
    provider_arn: String,
    role_arn: String,
    source: Arc<StaticKeys>,
}

async fn oidc_with(trust_condition: Value) -> Oidc {
    let mut h = Harness::new().await;
    let key = TestKey::generate(Algorithm::Rs256, "key-1").unwrap();
    let source = Arc::new(StaticKeys::new(&[&key]).unwrap());
    h.state.oidc = Arc::new(OidcVerifier::new(
        source.clone(),
        CachePolicy {
            max_age_ms: 3_600_000,
            min_refetch_ms: 60_000,
        },
        Duration::seconds(120),
    ));
    let acct = h.account.account_id.clone();
    create(&h, "k8s", ISSUER).await;
    let provider_arn = format!("acs:ram::{acct}:oidc-provider/k8s");
    let trust = json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Federated": [provider_arn]}, "Condition": trust_condition}]});
    h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", "reader"),
            ("AssumeRolePolicyDocument", &trust.to_string()),
            ("MaxSessionDuration", "7200"),
        ],
    )
    .await;
    Oidc {
        role_arn: format!("acs:ram::{acct}:role/reader"),
        h,
        key,
        provider_arn,
        source,
    }
}

fn standard_trust() -> Value {
    json!({"StringEquals": {"oidc:iss": ISSUER, "oidc:aud": CLIENT},
           "StringLike": {"oidc:sub": "system:serviceaccount:prod:*"}})
}

impl Oidc {
    fn claims(&self) -> Value {
        test_issuer::claims(ISSUER, CLIENT, SUB, self.h.state.clock.now_ms() / 1000)
    }

    fn token(&self) -> String {
        self.key.sign(&self.claims()).unwrap()
    }

    async fn assume(&self, extra: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut params: Vec<(&str, &str)> = vec![
            ("OIDCProviderArn", &self.provider_arn),
            ("RoleArn", &self.role_arn),
            ("RoleSessionName", "pod-1"),
        ];
        let token = self.token();
        if !extra.iter().any(|(k, _)| *k == "OIDCToken") {
            params.push(("OIDCToken", &token));
        }
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            if *v != "<absent>" {
                params.push((k, v));
            }
        }
        // Anonymous: no signature at all.
        let mut q = std::collections::BTreeMap::new();
        q.insert("Action".to_string(), "AssumeRoleWithOIDC".to_string());
        q.insert("Version".to_string(), STS.to_string());
        for (k, v) in params {
            q.insert(k.to_string(), v.to_string());
        }
        self.h.get(&crate::client::encode_query(&q)).await
    }

    async fn audit(&self) -> Vec<crate::store::AuditEvent> {
        self.h
            .state
            .store
            .list_audit(&self.h.account.account_id, 100)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn assume_role_with_oidc_mints_working_credentials() {
    let o = oidc_with(standard_trust()).await;
    let (status, body) = o.assume(&[("DurationSeconds", "7200")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let acct = &o.h.account.account_id;
    let c = &body["Credentials"];
    assert!(c["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    assert_eq!(c["Expiration"], "2026-11-22T14:00:00Z");
    assert_eq!(
        body["AssumedRoleUser"]["Arn"],
        format!("acs:ram::{acct}:role/reader/pod-1")
    );
    let info = &body["OIDCTokenInfo"];
    assert_eq!(info["Subject"], SUB);
    assert_eq!(info["Issuer"], ISSUER);
    assert_eq!(info["ClientIds"], CLIENT);
    assert_eq!(info["IssuanceTime"], "2026-11-22T12:00:00Z");
    assert_eq!(info["ExpirationTime"], "2026-11-22T13:00:00Z");
    let vi = info["VerificationInfo"].as_str().unwrap();
    assert!(
        vi.starts_with("Success: RS256 signature verified with key key-1"),
        "{vi}"
    );

    let session = Credentials {
        access_key_id: c["AccessKeyId"].as_str().unwrap().into(),
        access_key_secret: c["AccessKeySecret"].as_str().unwrap().into(),
        security_token: Some(c["SecurityToken"].as_str().unwrap().into()),
    };
    let (status, who) = o.h.call(&session, STS, "GetCallerIdentity", &[]).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(who["IdentityType"], "AssumedRoleUser");
    assert_eq!(
        who["Arn"],
        format!("acs:ram::{acct}:assumed-role/reader/pod-1")
    );

    let audit = o.audit().await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].event, "AssumeRoleWithOIDC");
    assert_eq!(audit[0].provider, o.provider_arn);
    assert_eq!(audit[0].subject, SUB);
    assert_eq!(audit[0].outcome, "Success");

    // The token may be presented again (bearer tokens are reused until they expire), and the
    // keys come from the cache.
    let (status, _) = o.assume(&[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(o.source.fetches(), 1);
}

#[tokio::test]
async fn trust_policy_conditions_on_oidc_claims() {
    let o = oidc_with(standard_trust()).await;
    // sub outside the allowed namespace: trusted provider, refused by the condition.
    let mut claims = o.claims();
    claims["sub"] = json!("system:serviceaccount:dev:reader");
    let token = o.key.sign(&claims).unwrap();
    let (status, body) = o.assume(&[("OIDCToken", &token)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "AuthenticationFail.NoPermission");
    // A second registered client: a valid audience, but not the one the role trusts.
    o.h.call(
        &o.h.creds(),
        IMS,
        "AddClientIdToOIDCProvider",
        &[("OIDCProviderName", "k8s"), ("ClientId", "web-app")],
    )
    .await;
    let mut claims = o.claims();
    claims["aud"] = json!(["web-app", "unregistered"]);
    let token = o.key.sign(&claims).unwrap();
    let (_, body) = o.assume(&[("OIDCToken", &token)]).await;
    assert_eq!(code(&body), "AuthenticationFail.NoPermission");
    claims["aud"] = json!(["web-app", CLIENT]);
    let token = o.key.sign(&claims).unwrap();
    let (status, body) = o.assume(&[("OIDCToken", &token)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["OIDCTokenInfo"]["ClientIds"],
        format!("web-app,{CLIENT}")
    );

    let audit = o.audit().await;
    let failures: Vec<_> = audit.iter().filter(|e| e.outcome == "Failure").collect();
    assert_eq!(failures.len(), 2);
    assert!(
        failures
            .iter()
            .all(|e| e.reason == "AuthenticationFail.NoPermission")
    );
    assert!(
        failures
            .iter()
            .any(|e| e.subject == "system:serviceaccount:dev:reader")
    );
}

#[tokio::test]
async fn a_role_trusting_another_provider_refuses() {
    let o = oidc_with(json!({"StringEquals": {"oidc:iss": ISSUER}})).await;
    let acct = o.h.account.account_id.clone();
    create(&o.h, "other", "https://other.example.test").await;
    let trust = json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Federated": [format!("acs:ram::{acct}:oidc-provider/other")]}}]});
    o.h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", "other-role"),
            ("AssumeRolePolicyDocument", &trust.to_string()),
        ],
    )
    .await;
    let (_, body) = o
        .assume(&[("RoleArn", &format!("acs:ram::{acct}:role/other-role"))])
        .await;
    assert_eq!(code(&body), "AuthenticationFail.NoPermission");
    // `reader`, which trusts this provider, accepts the same token.
    let (status, _) = o.assume(&[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn request_errors_have_their_own_codes() {
    let o = oidc_with(standard_trust()).await;
    let acct = o.h.account.account_id.clone();
    let other_account_role = "acs:ram::9999999999999999:role/reader";
    let long = "a".repeat(20_001);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("OIDCProviderArn", "<absent>")],
            "MissingParameter.OIDCProviderArn",
        ),
        (vec![("RoleArn", "<absent>")], "MissingParameter.RoleArn"),
        (
            vec![("OIDCToken", "<absent>")],
            "MissingParameter.OIDCToken",
        ),
        (
            vec![("RoleSessionName", "<absent>")],
            "MissingParameter.RoleSessionName",
        ),
        (
            vec![("OIDCProviderArn", "acs:ram::1:oidc-provider/k8s")],
            "InvalidParameter.OIDCProviderArn",
        ),
        (vec![("RoleArn", "role/reader")], "InvalidParameter.RoleArn"),
        (
            vec![("RoleArn", other_account_role)],
            "InvalidParameter.RoleArn",
        ),
        (
            vec![("RoleSessionName", "a b")],
            "InvalidParameter.RoleSessionName",
        ),
        (
            vec![("DurationSeconds", "899")],
            "InvalidParameter.DurationSeconds",
        ),
        (
            vec![("DurationSeconds", "7201")],
            "InvalidParameter.DurationSeconds",
        ),
        (vec![("Policy", "{")], "InvalidParameter.PolicyGrammar"),
        (vec![("OIDCToken", "abc")], "InvalidParameter.OIDCToken"),
        (vec![("OIDCToken", &long)], "InvalidParameter.OIDCToken"),
        (
            vec![("OIDCToken", "abcd.efgh")],
            "AuthenticationFail.OIDCToken.Invalid",
        ),
    ];
    for (extra, want) in cases {
        let (status, body) = o.assume(&extra).await;
        assert_eq!(code(&body), want, "{extra:?}: {status} {body}");
    }
    // An unknown provider: Alibaba's answer.
    let (status, body) = o
        .assume(&[(
            "OIDCProviderArn",
            &format!("acs:ram::{acct}:oidc-provider/gone"),
        )])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "AuthenticationFail.NoPermission");
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("No such OIDC Provider registered")
    );
    // A valid token for a role that does not exist: only now is the role looked up.
    let (_, body) = o
        .assume(&[("RoleArn", &format!("acs:ram::{acct}:role/nobody"))])
        .await;
    assert_eq!(code(&body), "EntityNotExist.Role");
    // A session policy narrows the session.
    let policy = json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]});
    let (status, _) = o.assume(&[("Policy", &policy.to_string())]).await;
    assert_eq!(status, StatusCode::OK);
    // Deleting the provider refuses its tokens.
    o.h.call(
        &o.h.creds(),
        IMS,
        "DeleteOIDCProvider",
        &[("OIDCProviderName", "k8s")],
    )
    .await;
    let (_, body) = o.assume(&[]).await;
    assert_eq!(code(&body), "AuthenticationFail.NoPermission");
}

#[tokio::test]
async fn refused_tokens_are_audited_with_their_code() {
    let o = oidc_with(standard_trust()).await;
    let mut claims = o.claims();
    claims["aud"] = json!("someone-else");
    let token = o.key.sign(&claims).unwrap();
    let (status, body) = o.assume(&[("OIDCToken", &token)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "AuthenticationFail.OIDCToken.AudienceNotMatch");
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("AddClientIdToOIDCProvider")
    );
    let none = test_issuer::unsigned(&o.claims());
    let (_, body) = o.assume(&[("OIDCToken", &none)]).await;
    assert_eq!(
        code(&body),
        "AuthenticationFail.OIDCToken.Invalid.Algorithm"
    );
    let audit = o.audit().await;
    let reasons: Vec<&str> = audit.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(audit.len(), 2);
    assert!(reasons.contains(&"AuthenticationFail.OIDCToken.AudienceNotMatch"));
    assert!(reasons.contains(&"AuthenticationFail.OIDCToken.Invalid.Algorithm"));
    // The subject of a token that did not verify is not recorded: it is attacker-chosen.
    assert!(
        audit
            .iter()
            .all(|e| e.subject.is_empty() && e.outcome == "Failure")
    );
}
