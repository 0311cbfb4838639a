//! The attack matrix against the real binary, each refusal with its own code, plus the trust
//! anchors: TLS pinning (mismatch, CA chain), a second issuer with a valid JWKS, the discovery
//! document's issuer, and the private-address guard.

use rambridge::client::Credentials;
use rambridge::oidc::test_issuer::{self, TestKey};
use rambridge::oidc::token::Algorithm;
use serde_json::json;

use super::issuer::{Chain, TestIssuer};
use super::setup::{CLIENT, FLAGS, Fixture, SUB, code, now};
use crate::common;

#[tokio::test]
async fn a_valid_token_becomes_working_credentials() {
    let f = Fixture::new().await;
    let (status, body) = f.assume(&f.token()).await;
    assert_eq!(status, 200, "{body}");
    let info = &body["OIDCTokenInfo"];
    assert_eq!(info["Issuer"], f.issuer.url());
    assert_eq!(info["Subject"], SUB);
    assert_eq!(info["ClientIds"], CLIENT);
    let vi = info["VerificationInfo"].as_str().unwrap();
    assert!(
        vi.contains("key-1") && vi.contains("pinned by a registered fingerprint"),
        "{vi}"
    );
    let c = &body["Credentials"];
    let session = Credentials {
        access_key_id: c["AccessKeyId"].as_str().unwrap().into(),
        access_key_secret: c["AccessKeySecret"].as_str().unwrap().into(),
        security_token: Some(c["SecurityToken"].as_str().unwrap().into()),
    };
    let (status, who) =
        common::call_v1(&f.server, &session, "2015-04-01", "GetCallerIdentity", &[]).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(
        who["Arn"],
        format!("acs:ram::{}:assumed-role/reader/it-session", f.account_id)
    );
    assert_eq!(f.issuer.hits("/.well-known/openid-configuration"), 1);
    assert_eq!(f.issuer.hits("/jwks"), 1);
}

#[tokio::test]
async fn attack_tokens_are_refused_each_with_its_code() {
    let f = Fixture::new().await;
    let t0 = now();
    let with = |change: serde_json::Value| {
        let mut c = f.claims();
        for (k, v) in change.as_object().unwrap() {
            c[k] = v.clone();
        }
        f.key.sign(&c).unwrap()
    };
    let public_der = f.key.public_key_der().unwrap();
    let public_jwk = f.key.jwk().unwrap().to_string();
    let stranger = TestKey::generate(Algorithm::Rs256, "key-9").unwrap();
    let ec_same_kid = TestKey::generate(Algorithm::Es256, "key-1").unwrap();
    let mut tampered_claims = f.claims();
    tampered_claims["sub"] = json!("system:serviceaccount:kube-system:cluster-admin");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            test_issuer::unsigned(&f.claims()),
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
        ),
        (
            "HS256 keyed with the public key (DER)",
            test_issuer::hmac_sha256(&public_der, "key-1", &f.claims()),
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
        ),
        (
            "HS256 keyed with the public JWK",
            test_issuer::hmac_sha256(public_jwk.as_bytes(), "key-1", &f.claims()),
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
        ),
        (
            "wrong iss",
            with(json!({"iss": "https://evil.example.test"})),
            "AuthenticationFail.OIDCToken.IssuerNotMatch",
        ),
        (
            "wrong aud",
            with(json!({"aud": "another-client"})),
            "AuthenticationFail.OIDCToken.AudienceNotMatch",
        ),
        (
            "expired",
            with(json!({"iat": t0 - 1800, "exp": t0 - 600})),
            "AuthenticationFail.OIDCToken.Expired",
        ),
        (
            "not yet valid",
            with(json!({"nbf": t0 + 1800})),
            "AuthenticationFail.OIDCToken.NotYetValid",
        ),
        (
            "issued in the future",
            with(json!({"iat": t0 + 1800})),
            "AuthenticationFail.OIDCToken.IssuedTimeInvalid.Future",
        ),
        (
            "older than IssuanceLimitTime (1 h)",
            with(json!({"iat": t0 - 7200, "exp": t0 + 3600})),
            "AuthenticationFail.OIDCToken.IssuedTimeInvalid",
        ),
        (
            "unknown kid",
            stranger.sign(&f.claims()).unwrap(),
            "AuthenticationFail.OIDCToken.InvalidSignature.UnknownKey",
        ),
        (
            "tampered payload",
            test_issuer::with_payload(&f.token(), &tampered_claims),
            "AuthenticationFail.OIDCToken.InvalidSignature",
        ),
        (
            "ES256 under the RSA key's kid",
            ec_same_kid.sign(&f.claims()).unwrap(),
            "AuthenticationFail.OIDCToken.InvalidSignature.KeyMismatch",
        ),
        (
            "missing sub",
            with(json!({"sub": 42})),
            "AuthenticationFail.OIDCToken.Invalid.Claim",
        ),
        (
            "not a JWT",
            "not.a-jwt".to_string(),
            "AuthenticationFail.OIDCToken.Invalid",
        ),
    ];
    for (name, token, want) in cases {
        let (status, body) = f.assume(&token).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(code(&body), want, "{name}: {body}");
        assert!(!body["Message"].as_str().unwrap_or("").is_empty(), "{name}");
    }
    // Refusals changed nothing: the genuine token still works.
    let (status, body) = f.assume(&f.token()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_second_issuer_with_a_valid_jwks_is_not_trusted() {
    let f = Fixture::new().await;
    let other_key = TestKey::generate(Algorithm::Rs256, "other-1").unwrap();
    let other = TestIssuer::start(Chain::SelfSigned, &[&other_key]).await;
    let own = test_issuer::claims(&other.url(), CLIENT, SUB, now());
    // Its own, genuine token: the issuer is not the provider's.
    let (_, body) = f.assume(&other_key.sign(&own).unwrap()).await;
    assert_eq!(code(&body), "AuthenticationFail.OIDCToken.IssuerNotMatch");
    // Claiming the trusted issuer: its key is not in the trusted JWKS, under its own kid or
    // under the trusted key's kid.
    let forged = other_key.sign(&f.claims()).unwrap();
    let (_, body) = f.assume(&forged).await;
    assert_eq!(
        code(&body),
        "AuthenticationFail.OIDCToken.InvalidSignature.UnknownKey"
    );
    let same_kid = TestKey::generate(Algorithm::Rs256, "key-1").unwrap();
    let (_, body) = f.assume(&same_kid.sign(&f.claims()).unwrap()).await;
    assert_eq!(code(&body), "AuthenticationFail.OIDCToken.InvalidSignature");
    // Keys are only ever fetched from the registered issuer, never from the token's iss.
    assert_eq!(other.hits("/jwks"), 0);
    assert_eq!(other.hits("/.well-known/openid-configuration"), 0);

    // Registered as a second provider of the account, its tokens verify but the role trusts
    // only the first provider.
    let (status, body) = f
        .ims(
            "CreateOIDCProvider",
            &[
                ("OIDCProviderName", "other"),
                ("IssuerUrl", &other.url()),
                ("Fingerprints", &other.fingerprint),
                ("ClientIds", CLIENT),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let other_arn = body["OIDCProvider"]["Arn"].as_str().unwrap().to_string();
    let (status, body) = f
        .assume_as(&other_arn, &f.role_arn, &other_key.sign(&own).unwrap())
        .await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "AuthenticationFail.NoPermission");
    assert_eq!(other.hits("/jwks"), 1);
}

#[tokio::test]
async fn a_tls_fingerprint_that_does_not_match_is_refused() {
    let wrong = "00".repeat(20);
    let f = Fixture::with(Chain::SelfSigned, FLAGS, Some(&wrong)).await;
    let (status, body) = f.assume(&f.token()).await;
    assert_eq!(status, 401);
    assert_eq!(
        code(&body),
        "AuthenticationFail.OIDCToken.HttpsUrlInvalid",
        "{body}"
    );
    let msg = body["Message"].as_str().unwrap();
    assert!(
        msg.contains(&f.issuer.fingerprint) && msg.contains("AddFingerprintToOIDCProvider"),
        "{msg}"
    );
    // The handshake failed: no request reached the issuer.
    assert_eq!(f.issuer.hits("/.well-known/openid-configuration"), 0);

    // Registering the right fingerprint takes effect at once (the cache follows the
    // registration), and the wrong one can go.
    let (status, _) = f
        .ims(
            "AddFingerprintToOIDCProvider",
            &[
                ("OIDCProviderName", "k8s"),
                ("Fingerprint", &f.issuer.fingerprint),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = f.assume(&f.token()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = f
        .ims(
            "RemoveFingerprintFromOIDCProvider",
            &[("OIDCProviderName", "k8s"), ("Fingerprint", &wrong)],
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = f.assume(&f.token()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_ca_issued_certificate_is_pinned_by_the_ca() {
    let f = Fixture::with(Chain::Ca, FLAGS, None).await;
    let (status, body) = f.assume(&f.token()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_discovery_document_must_name_the_registered_issuer() {
    let f = Fixture::new().await;
    f.issuer
        .discovery(json!({"issuer": "https://evil.example.test",
                              "jwks_uri": format!("{}/jwks", f.issuer.url())}));
    let (status, body) = f.assume(&f.token()).await;
    assert_eq!(status, 401);
    assert_eq!(
        code(&body),
        "AuthenticationFail.OIDCToken.HttpsUrlInvalid.Discovery"
    );
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("https://evil.example.test")
    );
    assert_eq!(f.issuer.hits("/jwks"), 0);
}

#[tokio::test]
async fn private_addresses_need_the_danger_setting() {
    let f = Fixture::with(Chain::SelfSigned, &[], None).await;
    let (status, body) = f.assume(&f.token()).await;
    assert_eq!(status, 401);
    assert_eq!(
        code(&body),
        "AuthenticationFail.OIDCToken.HttpsUrlInvalid.Discovery"
    );
    let msg = body["Message"].as_str().unwrap();
    assert!(msg.contains("danger_oidc_allow_private_addresses"), "{msg}");
    assert_eq!(f.issuer.hits("/.well-known/openid-configuration"), 0);
}
