use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::clock::FixedClock;
use crate::crypto::MasterKey;

fn role(max: i64) -> Role {
    Role {
        id: "3000000000000000001".into(),
        account_id: "1000000000000001".into(),
        name: "app".into(),
        description: String::new(),
        trust_policy: String::new(),
        max_session_duration: max,
        created_at: 0,
        updated_at: 0,
        sessions_valid_after: 0,
    }
}

fn spec() -> SessionSpec {
    SessionSpec {
        session_name: "s1".into(),
        duration_s: 1800,
        session_policy: None,
        chained: false,
        source: "acs:ram::1000000000000001:root".into(),
        source_identity: None,
    }
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ))
}

#[test]
fn role_arns() {
    let a = RoleArn::parse("acs:ram::1234567890123456:role/adminrole").unwrap();
    assert_eq!(
        (a.account_id.as_str(), a.role_name.as_str()),
        ("1234567890123456", "adminrole")
    );
    for bad in [
        "",
        "acs:ram::123:role/x",
        "acs:ram::1234567890123456:user/x",
        "acs:ram::1234567890123456:role/",
        "acs:ram::1234567890123456:role/a_b",
        "acs:ecs::1234567890123456:role/x",
    ] {
        assert!(
            matches!(RoleArn::parse(bad), Err(StsError::InvalidRoleArn(_))),
            "{bad}"
        );
    }
}

#[test]
fn session_names_durations_policies_external_ids() {
    assert!(check_session_name("alice.chen@example.test").is_ok());
    for bad in ["a", &"a".repeat(65), "a b", "a/b"] {
        assert!(check_session_name(bad).is_err(), "{bad}");
    }
    let r = role(7200);
    assert_eq!(duration(None, &r, false).unwrap(), 3600);
    assert_eq!(duration(Some("7200"), &r, false).unwrap(), 7200);
    assert!(duration(Some("899"), &r, false).is_err());
    assert!(duration(Some("7201"), &r, false).is_err());
    assert!(duration(Some("x"), &r, false).is_err());
    // Role chaining caps at 3600 whatever the role allows.
    assert!(matches!(
        duration(Some("3601"), &r, true),
        Err(StsError::InvalidDuration { max: 3600, .. })
    ));
    assert_eq!(duration(Some("3600"), &r, true).unwrap(), 3600);

    assert_eq!(check_session_policy(None).unwrap(), None);
    assert!(matches!(
        check_session_policy(Some(&"x".repeat(2049))),
        Err(StsError::PolicySize(2048))
    ));
    assert!(matches!(
        check_session_policy(Some("{}")),
        Err(StsError::PolicyGrammar(_))
    ));
    assert!(check_external_id("abcd-1234").is_ok());
    assert!(check_external_id("a").is_err());
    assert!(check_external_id("a b").is_err());
}

#[test]
fn token_round_trip() {
    let keys = Keyring::new(MasterKey::from_bytes(&[5u8; 32]).unwrap());
    let c = clock();
    let m = mint(&keys, c.as_ref(), &role(3600), spec()).unwrap();
    assert!(m.claims.access_key_id.starts_with("STS."));
    assert_eq!(m.claims.expiration(), "2026-11-22T12:30:00Z");
    let (claims, secret) =
        token::open(&keys, &m.token, &m.claims.access_key_id, c.now_ms()).unwrap();
    assert_eq!(claims, m.claims);
    assert_eq!(secret, m.secret);
    // The secret is not in the token.
    assert!(!m.token.contains(&m.secret));
}

#[test]
fn tokens_fail_closed() {
    let keys = Keyring::new(MasterKey::from_bytes(&[5u8; 32]).unwrap());
    let c = clock();
    let m = mint(&keys, c.as_ref(), &role(3600), spec()).unwrap();
    let ak = &m.claims.access_key_id;
    // Every single-character change of the body is refused.
    let body_start = "RBS1.".len();
    for i in (body_start..m.token.len()).step_by(7) {
        let mut t = m.token.clone().into_bytes();
        t[i] = if t[i] == b'A' { b'B' } else { b'A' };
        let t = String::from_utf8(t).unwrap();
        assert!(
            matches!(
                token::open(&keys, &t, ak, c.now_ms()),
                Err(TokenError::Malformed(_))
            ),
            "byte {i}"
        );
    }
    assert!(matches!(
        token::open(&keys, "CAISxyz", ak, c.now_ms()),
        Err(TokenError::Malformed(_))
    ));
    assert!(matches!(
        token::open(&keys, &m.token, "STS.other", c.now_ms()),
        Err(TokenError::Mismatch(_))
    ));
    c.advance(Duration::seconds(1800));
    assert!(matches!(
        token::open(&keys, &m.token, ak, c.now_ms()),
        Err(TokenError::Expired(_))
    ));
    let stranger = Keyring::new(MasterKey::from_bytes(&[6u8; 32]).unwrap());
    match token::open(&stranger, &m.token, ak, c.now_ms() - 1_000_000) {
        Err(TokenError::Malformed(msg)) => assert!(msg.contains("unknown master key"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tokens_survive_key_rotation_with_the_same_secret() {
    let old = Keyring::new(MasterKey::from_bytes(&[5u8; 32]).unwrap());
    let c = clock();
    let m = mint(&old, c.as_ref(), &role(3600), spec()).unwrap();
    let rotated = Keyring::new(MasterKey::from_bytes(&[8u8; 32]).unwrap())
        .with_previous(MasterKey::from_bytes(&[5u8; 32]).unwrap());
    let (_, secret) = token::open(&rotated, &m.token, &m.claims.access_key_id, c.now_ms()).unwrap();
    assert_eq!(secret, m.secret);
}

#[test]
fn trust_principal_strings() {
    let user = Principal::User {
        account_id: "1000000000000002".into(),
        user_id: "u".into(),
        user_name: "bob".into(),
    };
    assert_eq!(
        trust_principals(&user),
        [
            "acs:ram::1000000000000002:root",
            "acs:ram::1000000000000002:user/bob"
        ]
    );
}
