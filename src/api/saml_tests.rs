//! AssumeRoleWithSAML in process: the shared fixture, fresh assertions from the test IdP, and
//! the role-mapping, trust, replay and InResponseTo failures, each with its own code; every
//! attempt audited.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Duration;
use serde_json::Value;

use super::test_support::{Harness, code, join_all};
use crate::client::{self, Credentials};
use crate::config::Settings;
use crate::saml::test_idp::ResponseBuilder;
use crate::saml::{ROLE_SESSION_NAME_ATTRIBUTE, SESSION_DURATION_ATTRIBUTE};
use crate::store::{Account, SamlProvider};
use crate::xmldsig::SigningKey;

const ISSUER: &str = "https://idp.example.test/saml/idp";
const AUDIENCE: &str = "urn:alibaba:cloudcomputing";
const ACS: &str = "http://127.0.0.1:8080/saml-role/sso";

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

struct Sso {
    h: Harness,
    account: String,
    provider: String,
    role: String,
}

async fn provider_in(h: &Harness, account: &str, name: &str) -> String {
    let now = h.state.clock.now_ms();
    h.state
        .store
        .create_saml_provider(&SamlProvider {
            account_id: account.into(),
            name: name.into(),
            description: String::new(),
            metadata_b64: String::new(),
            entity_id: ISSUER.into(),
            certificates: vec![B64.encode(shared("idp-test-cert.der"))],
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

fn saml_trust(provider: &str, recipient: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"Federated":["{provider}"]}},"Condition":{{"StringEquals":{{"saml:recipient":"{recipient}"}}}}}}]}}"#
    )
}

async fn sso() -> Sso {
    let h = Harness::with(Settings {
        saml_role_entity_id: Some(AUDIENCE.into()),
        ..Settings::default()
    })
    .await;
    let account = h.account.account_id.clone();
    let provider = provider_in(&h, &account, "test-idp").await;
    h.ram_ok(
        "CreateRole",
        &[
            ("RoleName", "sso-admin"),
            ("AssumeRolePolicyDocument", &saml_trust(&provider, ACS)),
            ("MaxSessionDuration", "7200"),
        ],
    )
    .await;
    let role = format!("acs:ram::{account}:role/sso-admin");
    Sso {
        h,
        account,
        provider,
        role,
    }
}

impl Sso {
    fn builder(&self) -> ResponseBuilder {
        ResponseBuilder::new(
            ISSUER,
            ACS,
            AUDIENCE,
            crate::clock::Clock::now(self.h.clock.as_ref()),
        )
        .role(&self.role, &self.provider)
    }

    /// An unsigned (anonymous) AssumeRoleWithSAML call, as the Tea SDK sends it.
    async fn assume(
        &self,
        role: &str,
        provider: &str,
        xml: &[u8],
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut p = BTreeMap::new();
        p.insert("Action".to_string(), "AssumeRoleWithSAML".to_string());
        p.insert("Version".to_string(), "2015-04-01".to_string());
        p.insert("Format".to_string(), "json".to_string());
        p.insert("SAMLProviderArn".to_string(), provider.to_string());
        p.insert("RoleArn".to_string(), role.to_string());
        p.insert("SAMLAssertion".to_string(), B64.encode(xml));
        for (k, v) in extra {
            p.insert((*k).to_string(), (*v).to_string());
        }
        self.h.get(&client::encode_query(&p)).await
    }

    async fn ok(&self, b: &ResponseBuilder) -> Value {
        let (status, body) = self
            .assume(
                &self.role,
                &self.provider,
                &b.sign_assertion(&key()).unwrap(),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn err(
        &self,
        b: &ResponseBuilder,
        role: &str,
        provider: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let (status, body) = self
            .assume(role, provider, &b.sign_assertion(&key()).unwrap(), extra)
            .await;
        (status, code(&body).to_string())
    }
}

#[tokio::test]
async fn fresh_assertion_becomes_working_credentials_and_is_audited() {
    let s = sso().await;
    let body = s.ok(&s.builder()).await;
    assert_eq!(body["SAMLAssertionInfo"]["Issuer"], ISSUER);
    assert_eq!(body["SAMLAssertionInfo"]["SubjectType"], "persistent");
    assert_eq!(body["SAMLAssertionInfo"]["Subject"], "alice@example.test");
    assert_eq!(body["SAMLAssertionInfo"]["Recipient"], ACS);
    assert_eq!(
        body["AssumedRoleUser"]["Arn"],
        format!("{}/alice@example.test", s.role)
    );
    assert_eq!(body["Credentials"]["Expiration"], "2026-11-22T13:00:00Z");
    let c = &body["Credentials"];
    let creds = Credentials {
        access_key_id: c["AccessKeyId"].as_str().unwrap().into(),
        access_key_secret: c["AccessKeySecret"].as_str().unwrap().into(),
        security_token: Some(c["SecurityToken"].as_str().unwrap().into()),
    };
    let (status, who) =
        s.h.call(&creds, "2015-04-01", "GetCallerIdentity", &[])
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        who["Arn"],
        format!(
            "acs:ram::{}:assumed-role/sso-admin/alice@example.test",
            s.account
        )
    );
    let audit = s.h.state.store.list_audit(&s.account, 10).await.unwrap();
    assert_eq!(
        (
            audit[0].outcome.as_str(),
            audit[0].subject.as_str(),
            audit[0].event.as_str()
        ),
        ("Success", "alice@example.test", "AssumeRoleWithSAML")
    );
}

#[tokio::test]
async fn replay_is_refused_and_audited() {
    let s = sso().await;
    let xml = s.builder().sign_assertion(&key()).unwrap();
    assert_eq!(
        s.assume(&s.role, &s.provider, &xml, &[]).await.0,
        StatusCode::OK
    );
    let (status, body) = s.assume(&s.role, &s.provider, &xml, &[]).await;
    assert_eq!(
        (status, code(&body)),
        (
            StatusCode::UNAUTHORIZED,
            "AuthenticationFail.SAMLAssertion.Replayed"
        )
    );
    let audit = s.h.state.store.list_audit(&s.account, 10).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert!(
        audit
            .iter()
            .any(|e| e.outcome == "Failure"
                && e.reason == "AuthenticationFail.SAMLAssertion.Replayed")
    );
}

#[tokio::test]
async fn concurrent_submissions_of_one_assertion_succeed_exactly_once() {
    // Sent together, they meet in one group-commit batch: still exactly one is accepted.
    let s = sso().await;
    let xml = s.builder().sign_assertion(&key()).unwrap();
    let results = join_all(
        (0..8)
            .map(|_| s.assume(&s.role, &s.provider, &xml, &[]))
            .collect(),
    )
    .await;
    let ok = results
        .iter()
        .filter(|(st, _)| *st == StatusCode::OK)
        .count();
    let replayed = results
        .iter()
        .filter(|(_, b)| code(b) == "AuthenticationFail.SAMLAssertion.Replayed")
        .count();
    assert_eq!((ok, replayed), (1, 7), "{results:?}");
    // Every attempt is audited.
    let audit = s.h.state.store.list_audit(&s.account, 100).await.unwrap();
    assert_eq!(audit.len(), 8);
    assert_eq!(audit.iter().filter(|e| e.outcome == "Success").count(), 1);
}

#[tokio::test]
async fn the_shared_fixture_validates_end_to_end() {
    // The fixture names account 1234567890123456 and provider rambridge-test-idp.
    let s = sso().await;
    let (role, provider) = fixture_setup(&s).await;
    let b64 = String::from_utf8(shared("response-assertion-signed.b64")).unwrap();
    let xml = crate::saml::response::decode(&b64).unwrap();
    let (status, body) = s.assume(&role, &provider, &xml, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["AssumedRoleUser"]["Arn"],
        format!("{role}/alice.chen@example.test")
    );
}

#[tokio::test]
async fn role_mapping_failures_each_have_their_code() {
    let s = sso().await;
    // The Role attribute names another role.
    let other_role = format!("acs:ram::{}:role/other", s.account);
    assert_eq!(
        s.err(&s.builder(), &other_role, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Invalid.Role"
    );
    // Provider mismatch: the attribute pairs the role with another provider.
    let b = ResponseBuilder::new(
        ISSUER,
        ACS,
        AUDIENCE,
        crate::clock::Clock::now(s.h.clock.as_ref()),
    )
    .role(
        &s.role,
        &format!("acs:ram::{}:saml-provider/elsewhere", s.account),
    );
    assert_eq!(
        s.err(&b, &s.role, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Invalid.Role"
    );
    // A role from another account, named with this provider.
    let foreign = "acs:ram::9999999999999999:role/sso-admin";
    let b = s.builder().role(foreign, &s.provider);
    assert_eq!(
        s.err(&b, foreign, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Invalid.Role"
    );
    // Bad RoleSessionName, missing RoleSessionName.
    let b = s
        .builder()
        .attribute(ROLE_SESSION_NAME_ATTRIBUTE, &["has space"]);
    assert_eq!(
        s.err(&b, &s.role, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Invalid.RoleSessionName"
    );
    let b = s.builder().attribute(ROLE_SESSION_NAME_ATTRIBUTE, &[]);
    assert_eq!(
        s.err(&b, &s.role, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Invalid.RoleSessionName"
    );
    // SessionDuration over the role's maximum; a valid one is honoured.
    let b = s.builder().attribute(SESSION_DURATION_ATTRIBUTE, &["7201"]);
    assert_eq!(
        s.err(&b, &s.role, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Invalid.SessionDuration"
    );
    let body = s
        .ok(&s.builder().attribute(SESSION_DURATION_ATTRIBUTE, &["7200"]))
        .await;
    assert_eq!(body["Credentials"]["Expiration"], "2026-11-22T14:00:00Z");
    // DurationSeconds out of range.
    let (_, c) = s
        .err(
            &s.builder(),
            &s.role,
            &s.provider,
            &[("DurationSeconds", "899")],
        )
        .await;
    assert_eq!(c, "InvalidParameter.DurationSeconds");
}

#[tokio::test]
async fn trust_in_response_to_and_provider_lifecycle() {
    let s = sso().await;
    // Unknown InResponseTo.
    let mut b = s.builder();
    b.in_response_to = Some("_never_issued".into());
    assert_eq!(
        s.err(&b, &s.role, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Invalid.InResponseTo"
    );
    // A request we issued is accepted once.
    s.h.state
        .store
        .create_authn_request("_issued_1", &s.account, s.h.state.clock.now_ms() + 60_000)
        .await
        .unwrap();
    let mut b = s.builder();
    b.in_response_to = Some("_issued_1".into());
    s.ok(&b).await;
    let mut b = s.builder();
    b.in_response_to = Some("_issued_1".into());
    assert_eq!(
        s.err(&b, &s.role, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Invalid.InResponseTo"
    );
    // Trust that names another recipient: the condition fails.
    s.h.ram_ok(
        "UpdateRole",
        &[
            ("RoleName", "sso-admin"),
            (
                "NewAssumeRolePolicyDocument",
                &saml_trust(&s.provider, "https://signin.aliyun.com/saml-role/sso"),
            ),
        ],
    )
    .await;
    assert_eq!(
        s.err(&s.builder(), &s.role, &s.provider, &[]).await,
        (
            StatusCode::UNAUTHORIZED,
            "AuthenticationFail.NoPermission".into()
        )
    );
    s.h.ram_ok(
        "UpdateRole",
        &[
            ("RoleName", "sso-admin"),
            ("NewAssumeRolePolicyDocument", &saml_trust(&s.provider, ACS)),
        ],
    )
    .await;
    s.ok(&s.builder()).await;
    // Expired and wrong audience come from the validator with their own codes.
    let mut b = s.builder();
    b.not_on_or_after = crate::clock::Clock::now(s.h.clock.as_ref()) - Duration::minutes(10);
    assert_eq!(
        s.err(&b, &s.role, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Expired"
    );
    let mut b = s.builder();
    b.audience = "https://other".into();
    assert_eq!(
        s.err(&b, &s.role, &s.provider, &[]).await.1,
        "AuthenticationFail.SAMLAssertion.Invalid.Audience"
    );
    // The provider is deleted: roles that trust it now refuse it.
    s.h.state
        .store
        .delete_saml_provider(&s.account, "test-idp")
        .await
        .unwrap();
    assert_eq!(
        s.err(&s.builder(), &s.role, &s.provider, &[]).await,
        (StatusCode::NOT_FOUND, "EntityNotExist.SAMLProvider".into())
    );
    // Malformed parameters.
    let (_, c) = s
        .err(&s.builder(), &s.role, "acs:ram::1:saml-provider/x", &[])
        .await;
    assert_eq!(c, "InvalidParameter.SAMLProviderArn");
    let (status, body) = s.assume(&s.role, &s.provider, b"", &[]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "MissingParameter.SAMLAssertion")
    );
}

/// The fixture account, provider and role of the shared SAML fixtures.
async fn fixture_setup(s: &Sso) -> (String, String) {
    let acct = "1234567890123456";
    s.h.state
        .store
        .create_account(
            &Account {
                id: acct.into(),
                alias: "fixture-corp".into(),
                created_at: 0,
            },
            &crate::store::AccessKeyRecord {
                id: "LTAIfixturefixturefix01".into(),
                account_id: acct.into(),
                user_id: None,
                status: crate::store::KeyStatus::Active,
                secret_sealed: vec![0; 40],
                created_at: 0,
            },
        )
        .await
        .unwrap();
    let provider = provider_in(&s.h, acct, "rambridge-test-idp").await;
    s.h.state
        .store
        .create_role(&crate::store::Role {
            id: "3000000000000000009".into(),
            account_id: acct.into(),
            name: "rambridge-readonly".into(),
            description: String::new(),
            trust_policy: saml_trust(&provider, ACS),
            max_session_duration: 3600,
            created_at: 0,
            updated_at: 0,
            sessions_valid_after: 0,
        })
        .await
        .unwrap();
    (format!("acs:ram::{acct}:role/rambridge-readonly"), provider)
}

#[tokio::test]
async fn sha1_only_for_providers_configured_to_allow_it() {
    let xml = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/xmldsig/response-rsa-sha1.xml"),
    )
    .unwrap();
    // Refused by default.
    let s = sso().await;
    let (role, provider) = fixture_setup(&s).await;
    let (status, body) = s.assume(&role, &provider, &xml, &[]).await;
    assert_eq!(
        (status, code(&body)),
        (
            StatusCode::UNAUTHORIZED,
            "AuthenticationFail.SAMLAssertion.Invalid.Signature"
        ),
        "{body}"
    );
    // Accepted when that provider is listed.
    let h = Harness::with(Settings {
        saml_role_entity_id: Some(AUDIENCE.into()),
        danger_saml_sha1_providers: Some(
            "acs:ram::1234567890123456:saml-provider/rambridge-test-idp".into(),
        ),
        ..Settings::default()
    })
    .await;
    let s2 = Sso {
        account: h.account.account_id.clone(),
        provider: String::new(),
        role: String::new(),
        h,
    };
    let (role, provider) = fixture_setup(&s2).await;
    let (status, body) = s2.assume(&role, &provider, &xml, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
