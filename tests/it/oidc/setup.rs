//! The shared fixture: a test issuer, a `rambridge serve` allowed to reach 127.0.0.1, an account
//! with an OIDC provider for the issuer (its fingerprint registered through IMS) and a role
//! `reader` trusting that provider for client `sts.aliyuncs.com`.

use std::collections::BTreeMap;

use rambridge::client::{self, Credentials};
use rambridge::oidc::test_issuer::{self, TestKey};
use rambridge::oidc::token::Algorithm;
use serde_json::{Value, json};

use super::issuer::{Chain, TestIssuer};
use crate::common::{self, JsonOrNull as _, Server};

pub const CLIENT: &str = "sts.aliyuncs.com";
pub const SUB: &str = "system:serviceaccount:prod:reader";
pub const IMS: &str = "2019-08-15";

pub fn now() -> i64 {
    #[allow(clippy::disallowed_methods)]
    chrono::Utc::now().timestamp()
}

pub struct Fixture {
    pub issuer: TestIssuer,
    pub key: TestKey,
    pub server: Server,
    pub root: Credentials,
    pub account_id: String,
    pub provider_arn: String,
    pub role_arn: String,
    _dir: tempfile::TempDir,
}

/// Server flags: private addresses allowed (the issuer is on 127.0.0.1), refetch spacing 1 s.
pub const FLAGS: &[&str] = &[
    "--danger-oidc-allow-private-addresses",
    "true",
    "--oidc-jwks-min-refetch-seconds",
    "1",
];

impl Fixture {
    pub async fn new() -> Fixture {
        Fixture::with(Chain::SelfSigned, FLAGS, None).await
    }

    /// `fingerprint`: what to register instead of the issuer's own.
    pub async fn with(chain: Chain, flags: &[&str], fingerprint: Option<&str>) -> Fixture {
        let key = TestKey::generate(Algorithm::Rs256, "key-1").unwrap();
        let issuer = TestIssuer::start(chain, &[&key]).await;
        let dir = tempfile::tempdir().unwrap();
        let account = common::create_account(dir.path(), "oidc-it", &[]);
        let server = Server::start(dir.path(), flags, &[]);
        let root = common::creds_of(&account);
        let account_id = account["AccountId"].as_str().unwrap().to_string();
        let fp = fingerprint.map_or_else(|| issuer.fingerprint.clone(), str::to_string);
        let (status, body) = common::call_v1(
            &server,
            &root,
            IMS,
            "CreateOIDCProvider",
            &[
                ("OIDCProviderName", "k8s"),
                ("IssuerUrl", &issuer.url()),
                ("Fingerprints", &fp),
                ("ClientIds", CLIENT),
                ("IssuanceLimitTime", "1"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let provider_arn = body["OIDCProvider"]["Arn"].as_str().unwrap().to_string();
        let trust = json!({"Version": "1", "Statement": [{"Effect": "Allow",
            "Action": "sts:AssumeRole", "Principal": {"Federated": [provider_arn]},
            "Condition": {"StringEquals": {"oidc:iss": issuer.url(), "oidc:aud": CLIENT}}}]});
        let (status, body) = common::call_v1(
            &server,
            &root,
            "2015-05-01",
            "CreateRole",
            &[
                ("RoleName", "reader"),
                ("AssumeRolePolicyDocument", &trust.to_string()),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        Fixture {
            role_arn: format!("acs:ram::{account_id}:role/reader"),
            issuer,
            key,
            server,
            root,
            account_id,
            provider_arn,
            _dir: dir,
        }
    }

    /// Valid claims for the fixture's issuer, issued now.
    pub fn claims(&self) -> Value {
        test_issuer::claims(&self.issuer.url(), CLIENT, SUB, now())
    }

    /// A valid token signed by the fixture's key.
    pub fn token(&self) -> String {
        self.key.sign(&self.claims()).unwrap()
    }

    /// Anonymous AssumeRoleWithOIDC with `token` for the fixture's provider and role.
    pub async fn assume(&self, token: &str) -> (u16, Value) {
        self.assume_as(&self.provider_arn, &self.role_arn, token)
            .await
    }

    pub async fn assume_as(&self, provider_arn: &str, role_arn: &str, token: &str) -> (u16, Value) {
        let mut p = BTreeMap::new();
        for (k, v) in [
            ("Action", "AssumeRoleWithOIDC"),
            ("Version", "2015-04-01"),
            ("OIDCProviderArn", provider_arn),
            ("RoleArn", role_arn),
            ("OIDCToken", token),
            ("RoleSessionName", "it-session"),
        ] {
            p.insert(k.to_string(), v.to_string());
        }
        let url = format!("{}/?{}", self.server.base, client::encode_query(&p));
        let resp = common::http_client().post(url).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json_or_null().await)
    }

    /// A signed IMS call as the account root.
    pub async fn ims(&self, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
        common::call_v1(&self.server, &self.root, IMS, action, params).await
    }
}

/// The error code of a response.
pub fn code(body: &Value) -> &str {
    body["Code"].as_str().unwrap_or("")
}
