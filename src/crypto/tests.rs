use super::*;

fn keyring() -> Keyring {
    Keyring::new(MasterKey::from_bytes(&[7u8; 32]).unwrap())
}

#[test]
fn seal_open_round_trip() {
    let k = keyring();
    let sealed = k.seal(Purpose::AtRest, b"ak:LTAI1", b"secret").unwrap();
    assert_eq!(sealed.len(), 6 + SEAL_OVERHEAD);
    assert!(!sealed.windows(6).any(|w| w == b"secret"));
    assert_eq!(
        k.open(Purpose::AtRest, b"ak:LTAI1", &sealed).unwrap(),
        b"secret"
    );
}

#[test]
fn sealing_is_randomized() {
    let k = keyring();
    let a = k.seal(Purpose::AtRest, b"", b"x").unwrap();
    let b = k.seal(Purpose::AtRest, b"", b"x").unwrap();
    assert_ne!(a, b);
}

#[test]
fn every_byte_flip_is_detected() {
    let k = keyring();
    let sealed = k.seal(Purpose::SessionToken, b"ctx", b"payload").unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        assert!(
            k.open(Purpose::SessionToken, b"ctx", &bad).is_err(),
            "byte {i}"
        );
    }
}

#[test]
fn wrong_context_or_purpose_fails() {
    let k = keyring();
    let sealed = k.seal(Purpose::AtRest, b"ak:A", b"s").unwrap();
    assert_eq!(
        k.open(Purpose::AtRest, b"ak:B", &sealed),
        Err(CryptoError::Unseal)
    );
    assert_eq!(
        k.open(Purpose::SessionToken, b"ak:A", &sealed),
        Err(CryptoError::Unseal)
    );
}

#[test]
fn unknown_key_id_is_named() {
    let old = keyring();
    let sealed = old.seal(Purpose::AtRest, b"", b"s").unwrap();
    let other = Keyring::new(MasterKey::from_bytes(&[9u8; 32]).unwrap());
    match other.open(Purpose::AtRest, b"", &sealed) {
        Err(CryptoError::UnknownKeyId { key_id }) => {
            assert_eq!(key_id, old.primary().id_hex())
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn rotation_opens_values_of_previous_key() {
    let old = keyring();
    let sealed = old.seal(Purpose::AtRest, b"c", b"s").unwrap();
    let rotated = Keyring::new(MasterKey::from_bytes(&[9u8; 32]).unwrap())
        .with_previous(MasterKey::from_bytes(&[7u8; 32]).unwrap());
    assert_eq!(rotated.open(Purpose::AtRest, b"c", &sealed).unwrap(), b"s");
    let resealed = rotated.seal(Purpose::AtRest, b"c", b"s").unwrap();
    assert_eq!(&resealed[1..9], &rotated.primary().id);
}

#[test]
fn truncated_values_fail() {
    let k = keyring();
    for len in 0..SEAL_OVERHEAD {
        assert!(k.open(Purpose::AtRest, b"", &vec![1u8; len]).is_err());
    }
}

#[test]
fn master_key_parsing() {
    assert!(MasterKey::from_base64("AAAA").is_err());
    assert!(MasterKey::from_base64("not base64!").is_err());
    let (k, text) = MasterKey::generate().unwrap();
    let again = MasterKey::from_base64(&format!("  {text}\n")).unwrap();
    assert_eq!(k.id_hex(), again.id_hex());
    assert!(!format!("{k:?}").contains(&text));
}

#[test]
fn identifier_shapes() {
    let id = new_access_key_id();
    assert_eq!(id.len(), 24);
    assert!(id.starts_with("LTAI"));
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(new_access_key_secret().len(), 30);
    let digits = random_digits(16);
    assert_eq!(digits.len(), 16);
    assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    assert_ne!(digits.as_bytes()[0], b'0');
}

/// Every character of the alphabet equally likely: 124,000 draws, 2,000 expected each (standard
/// deviation ~44). A plain `byte % 62` would give the first eight characters 5/256 instead of
/// 4/256 (~2,420 each), far outside the bounds.
#[test]
fn random_alnum_is_uniform_over_the_alphabet() {
    let mut counts = std::collections::HashMap::new();
    for _ in 0..1_000 {
        let s = random_alnum(124);
        assert_eq!(s.len(), 124);
        for c in s.chars() {
            *counts.entry(c).or_insert(0u32) += 1;
        }
    }
    assert_eq!(counts.len(), 62, "{counts:?}");
    for (c, n) in &counts {
        assert!(c.is_ascii_alphanumeric());
        assert!((1_730..=2_270).contains(n), "{c}: {n}");
    }
    assert_eq!(random_alnum(0), "");
}

#[test]
fn request_ids_are_uppercase_uuids_ordered_by_time() {
    let a = new_request_id(1_700_000_000_000);
    let b = new_request_id(1_700_000_000_001);
    let c = new_request_id(1_700_000_086_400);
    for id in [&a, &b, &c] {
        let parsed = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(id.len(), 36);
        assert_eq!(id, &id.to_uppercase());
    }
    assert!(a < b && b < c, "{a} {b} {c}");
    let (secs, _) = uuid::Uuid::parse_str(&c)
        .unwrap()
        .get_timestamp()
        .unwrap()
        .to_unix();
    assert_eq!(secs, 1_700_000_086);
    // Same millisecond: different ids (74 random bits).
    assert_ne!(new_request_id(5), new_request_id(5));
}

#[test]
fn hmac_known_answers() {
    // RFC 2202 test case 2 and RFC 4231 test case 2.
    assert_eq!(
        hex::encode(hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    );
    assert_eq!(
        hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn password_hashing() {
    let phc = hash_password("Correct-Horse-9").unwrap();
    assert!(phc.starts_with("$argon2id$"));
    assert!(!phc.contains("Correct-Horse-9"));
    assert!(verify_password("Correct-Horse-9", &phc));
    assert!(!verify_password("correct-horse-9", &phc));
    assert!(!verify_password("x", "not a phc string"));
    assert_ne!(phc, hash_password("Correct-Horse-9").unwrap());
}

#[test]
fn sts_secrets_are_derived_per_key_and_id() {
    let a = MasterKey::from_bytes(&[1u8; 32]).unwrap();
    let b = MasterKey::from_bytes(&[2u8; 32]).unwrap();
    let s1 = a.sts_secret("STS.one");
    assert_eq!(s1.len(), 32);
    assert_eq!(s1, a.sts_secret("STS.one"));
    assert_ne!(s1, a.sts_secret("STS.two"));
    assert_ne!(s1, b.sts_secret("STS.one"));
}

#[test]
fn open_with_key_names_the_sealing_key() {
    let old = MasterKey::from_bytes(&[7u8; 32]).unwrap();
    let sealed = Keyring::new(MasterKey::from_bytes(&[7u8; 32]).unwrap())
        .seal(Purpose::SessionToken, b"", b"x")
        .unwrap();
    let ring = Keyring::new(MasterKey::from_bytes(&[9u8; 32]).unwrap()).with_previous(old);
    let (_, key) = ring
        .open_with_key(Purpose::SessionToken, b"", &sealed)
        .unwrap();
    assert_eq!(
        key.id_hex(),
        MasterKey::from_bytes(&[7u8; 32]).unwrap().id_hex()
    );
}
