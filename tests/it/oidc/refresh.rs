//! The JWKS refresh policy against the real binary: unknown kids cannot make rambridge hammer
//! the issuer; rotated keys are picked up; an outage keeps the last good keys; removed keys
//! stop working after the next refresh.

use std::time::Duration;

use rambridge::oidc::test_issuer::TestKey;
use rambridge::oidc::token::Algorithm;

use super::issuer::Chain;
use super::setup::{Fixture, code};

#[tokio::test]
async fn a_flood_of_unknown_kids_costs_the_issuer_nothing() {
    let flags = [
        "--danger-oidc-allow-private-addresses",
        "true",
        "--oidc-jwks-min-refetch-seconds",
        "3600",
    ];
    let f = Fixture::with(Chain::SelfSigned, &flags, None).await;
    let (status, _) = f.assume(&f.token()).await;
    assert_eq!(status, 200);
    assert_eq!(f.issuer.hits("/jwks"), 1);
    for i in 0..40 {
        let bogus = TestKey::generate(Algorithm::Es256, &format!("bogus-{i}")).unwrap();
        let (_, body) = f.assume(&bogus.sign(&f.claims()).unwrap()).await;
        assert_eq!(
            code(&body),
            "AuthenticationFail.OIDCToken.InvalidSignature.UnknownKey"
        );
    }
    assert_eq!(f.issuer.hits("/jwks"), 1, "no refetch within the interval");
    assert_eq!(f.issuer.hits("/.well-known/openid-configuration"), 1);
}

#[tokio::test]
async fn rotation_outage_and_removal() {
    let f = Fixture::new().await; // refetch spacing 1 s
    let (status, _) = f.assume(&f.token()).await;
    assert_eq!(status, 200);

    // Rotation: the issuer publishes key-2 next to key-1; a key-2 token refreshes the JWKS.
    let k2 = TestKey::generate(Algorithm::Es256, "key-2").unwrap();
    f.issuer.publish(&[&f.key, &k2]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = f.assume(&k2.sign(&f.claims()).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(f.issuer.hits("/jwks"), 2);

    // Outage: the refresh triggered by an unknown kid fails; the last good keys stay in use.
    f.issuer.fail(Some(503));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let k3 = TestKey::generate(Algorithm::Rs256, "key-3").unwrap();
    let (_, body) = f.assume(&k3.sign(&f.claims()).unwrap()).await;
    assert_eq!(
        code(&body),
        "AuthenticationFail.OIDCToken.InvalidSignature.UnknownKey"
    );
    assert_eq!(
        f.issuer.hits("/.well-known/openid-configuration"),
        3,
        "the refresh was tried"
    );
    for key in [&f.key, &k2] {
        let (status, body) = f.assume(&key.sign(&f.claims()).unwrap()).await;
        assert_eq!(status, 200, "{body}");
    }

    // Recovery with key-1 withdrawn: after the next refresh key-1 tokens are refused.
    f.issuer.fail(None);
    f.issuer.publish(&[&k2]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, body) = f.assume(&k3.sign(&f.claims()).unwrap()).await;
    assert_eq!(
        code(&body),
        "AuthenticationFail.OIDCToken.InvalidSignature.UnknownKey"
    );
    assert_eq!(f.issuer.hits("/jwks"), 3);
    let (_, body) = f.assume(&f.token()).await;
    assert_eq!(
        code(&body),
        "AuthenticationFail.OIDCToken.InvalidSignature.UnknownKey"
    );
    let (status, _) = f.assume(&k2.sign(&f.claims()).unwrap()).await;
    assert_eq!(status, 200);
}
