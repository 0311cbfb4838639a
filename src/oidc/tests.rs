//! Unit tests: every allowed algorithm round-trips; every refused token fails with its own code;
//! JWKS parsing keeps unusable keys out; the key cache's refresh policy (rate limit, single
//! flight, last good set, source change) against a counting fake fetcher.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::discovery::{ProviderMetadata, discovery_url, parse_metadata};
use super::jwks::{
    BoxFuture, CachePolicy, FetchKeys, IssuerKeys, JwkSet, KeyCache, KeyMaterial, KeySource,
    MAX_JWKS_BYTES,
};
use super::test_issuer::{self, TestKey};
use super::token::{self, ALLOWED, Algorithm, Expectations};
use super::{OidcError, OidcVerifier};
use crate::clock::{Clock as _, FixedClock};
use crate::store::OidcProvider;

const ISS: &str = "https://issuer.example.test";
const AUD: &str = "sts.aliyuncs.com";

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn client_ids() -> Vec<String> {
    vec![AUD.to_string(), "other-client".to_string()]
}

fn expect(ids: &[String]) -> Expectations<'_> {
    Expectations {
        issuer: ISS,
        client_ids: ids,
        now: now(),
        skew: Duration::seconds(120),
        max_age: Some(Duration::hours(12)),
        nonce: None,
    }
}

fn base_claims() -> Value {
    test_issuer::claims(ISS, AUD, "system:serviceaccount:ns:app", now().timestamp())
}

fn set_of(keys: &[&TestKey]) -> JwkSet {
    let jwks = test_issuer::jwks(keys).unwrap();
    JwkSet::parse(jwks.to_string().as_bytes()).unwrap()
}

fn rs256() -> TestKey {
    TestKey::generate(Algorithm::Rs256, "k1").unwrap()
}

/// Parses and verifies; the error code on failure.
fn check(
    token: &str,
    keys: &JwkSet,
    exp: &Expectations<'_>,
) -> Result<token::VerifiedIdToken, OidcError> {
    let t = token::parse(token)?;
    token::verify(&t, keys, exp)
}

fn code_of(token: &str, keys: &JwkSet, exp: &Expectations<'_>) -> &'static str {
    match check(token, keys, exp) {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    }
}

#[test]
fn every_allowed_algorithm_round_trips() {
    let ids = client_ids();
    for alg in ALLOWED {
        let key = TestKey::generate(alg, &format!("kid-{}", alg.name())).unwrap();
        let keys = set_of(&[&key]);
        let token = key.sign(&base_claims()).unwrap();
        let v = check(&token, &keys, &expect(&ids)).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(v.algorithm, alg);
        assert_eq!(v.issuer, ISS);
        assert_eq!(v.subject, "system:serviceaccount:ns:app");
        assert_eq!(v.audiences, vec![AUD.to_string()]);
        assert_eq!(v.client_ids, vec![AUD.to_string()]);
        assert_eq!(v.key_id.as_deref(), Some(key.kid.as_str()));
        assert_eq!(v.issued_at, now());
        assert_eq!(v.expires_at, now() + Duration::hours(1));
        assert_eq!(v.claim_str("sub"), Some("system:serviceaccount:ns:app"));
    }
}

#[test]
fn refused_algorithms_are_named_before_any_key_is_used() {
    let key = rs256();
    let keys = set_of(&[&key]);
    let ids = client_ids();
    let claims = base_claims();
    // alg none, with and without a signature.
    let none = test_issuer::unsigned(&claims);
    assert_eq!(
        code_of(&none, &keys, &expect(&ids)),
        "AuthenticationFail.OIDCToken.Invalid.Algorithm"
    );
    let err = check(&none, &keys, &expect(&ids)).unwrap_err().to_string();
    assert!(err.contains("unsigned tokens are never accepted"), "{err}");
    // HS256 signed with the public key (DER and the JWK text): algorithm confusion.
    let der = key.public_key_der().unwrap();
    for secret in [der.clone(), key.jwk().unwrap().to_string().into_bytes()] {
        let forged = test_issuer::hmac_sha256(&secret, "k1", &claims);
        assert_eq!(
            code_of(&forged, &keys, &expect(&ids)),
            "AuthenticationFail.OIDCToken.Invalid.Algorithm"
        );
    }
    // Other names, case variants and made-up ones.
    for alg in [
        "HS512", "hs256", "NONE", "RS1", "ES512", "EdDSA", "rs256", "PS256 ",
    ] {
        let token = key
            .sign_with_header(&json!({"alg": alg, "kid": "k1"}), &claims)
            .unwrap();
        assert_eq!(
            code_of(&token, &keys, &expect(&ids)),
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
            "{alg}"
        );
    }
    // crit: an extension we do not understand.
    let token = key
        .sign_with_header(
            &json!({"alg": "RS256", "kid": "k1", "crit": ["b64"], "b64": false}),
            &claims,
        )
        .unwrap();
    assert_eq!(
        code_of(&token, &keys, &expect(&ids)),
        "AuthenticationFail.OIDCToken.Invalid.Algorithm"
    );
}

#[test]
fn malformed_tokens() {
    let key = rs256();
    let keys = set_of(&[&key]);
    let ids = client_ids();
    let good = key.sign(&base_claims()).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        String::new(),
        "   ".into(),
        "abc".into(),
        "a.b".into(),
        format!("{good}.x"),
        format!(
            "{}.{}.{}.{}.{}",
            parts[0], parts[1], parts[2], parts[0], parts[1]
        ),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("*{}.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", B64URL.encode("not json"), parts[1], parts[2]),
        format!("{}.{}.{}", B64URL.encode("[1,2]"), parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            B64URL.encode(r#"{"alg":5}"#),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            B64URL.encode(r#"{"kid":"k1"}"#),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            B64URL.encode(r#"{"alg":"RS256","kid":7}"#),
            parts[1],
            parts[2]
        ),
        "a".repeat(token::MAX_TOKEN_CHARS + 1),
    ];
    for t in &cases {
        assert_eq!(
            code_of(t, &keys, &expect(&ids)),
            "AuthenticationFail.OIDCToken.Invalid",
            "{:.80}",
            t
        );
    }
    // A signed payload that is not a JSON object is malformed too (after the signature).
    let header = B64URL.encode(json!({"alg": "RS256", "kid": "k1"}).to_string());
    let input = format!("{header}.{}", B64URL.encode("[\"x\"]"));
    let sig = key.sign_bytes(input.as_bytes()).unwrap();
    let t = format!("{input}.{}", B64URL.encode(sig));
    assert_eq!(
        code_of(&t, &keys, &expect(&ids)),
        "AuthenticationFail.OIDCToken.Invalid"
    );
    // Surrounding whitespace (a token file ending in a newline) is fine.
    assert!(check(&format!("{good}\n"), &keys, &expect(&ids)).is_ok());
}

#[test]
fn key_selection() {
    let key = rs256();
    let other = TestKey::generate(Algorithm::Rs256, "k2").unwrap();
    let ids = client_ids();
    let claims = base_claims();
    // Unknown kid.
    let stranger = TestKey::generate(Algorithm::Rs256, "k9").unwrap();
    let t = stranger.sign(&claims).unwrap();
    let e = check(&t, &set_of(&[&key, &other]), &expect(&ids)).unwrap_err();
    assert_eq!(
        e.code(),
        "AuthenticationFail.OIDCToken.InvalidSignature.UnknownKey"
    );
    assert!(
        e.to_string().contains("\"k9\"") && e.to_string().contains("\"k1\", \"k2\""),
        "{e}"
    );
    // No kid: every fitting key is tried.
    let no_kid = key
        .sign_with_header(&json!({"alg": "RS256"}), &claims)
        .unwrap();
    assert!(check(&no_kid, &set_of(&[&other, &key]), &expect(&ids)).is_ok());
    assert_eq!(
        code_of(&no_kid, &JwkSet::default(), &expect(&ids)),
        "AuthenticationFail.OIDCToken.InvalidSignature.UnknownKey"
    );
    // The same kid, signed by another key: a signature failure.
    let impostor = TestKey::generate(Algorithm::Rs256, "k1").unwrap();
    let t = impostor.sign(&claims).unwrap();
    assert_eq!(
        code_of(&t, &set_of(&[&key]), &expect(&ids)),
        "AuthenticationFail.OIDCToken.InvalidSignature"
    );
}

fn jwks_with(mut jwk: Value, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> JwkSet {
    if let Value::Object(m) = &mut jwk {
        change(m);
    }
    JwkSet::parse(json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap()
}

#[test]
fn the_key_must_fit_the_algorithm() {
    let ids = client_ids();
    let claims = base_claims();
    let rsa = rs256();
    let ec = TestKey::generate(Algorithm::Es256, "k1").unwrap();
    let ec384 = TestKey::generate(Algorithm::Es384, "k1").unwrap();
    let mismatch = "AuthenticationFail.OIDCToken.InvalidSignature.KeyMismatch";
    // ES256 header against an RSA key, RS256 against an EC key, ES384 against P-256.
    let t = ec.sign(&claims).unwrap();
    assert_eq!(code_of(&t, &set_of(&[&rsa]), &expect(&ids)), mismatch);
    let t = rsa.sign(&claims).unwrap();
    assert_eq!(code_of(&t, &set_of(&[&ec]), &expect(&ids)), mismatch);
    let t = ec384.sign(&claims).unwrap();
    assert_eq!(code_of(&t, &set_of(&[&ec]), &expect(&ids)), mismatch);
    // The key names another alg (PS256 key, RS256 token) or is for encryption.
    let t = rsa.sign(&claims).unwrap();
    let keys = jwks_with(rsa.jwk().unwrap(), |m| {
        m.insert("alg".into(), json!("PS256"));
    });
    let e = check(&t, &keys, &expect(&ids)).unwrap_err();
    assert_eq!(e.code(), mismatch);
    assert!(e.to_string().contains("\"PS256\""), "{e}");
    let keys = jwks_with(rsa.jwk().unwrap(), |m| {
        m.insert("use".into(), json!("enc"));
    });
    assert_eq!(code_of(&t, &keys, &expect(&ids)), mismatch);
    // Without alg and use in the JWK the kty decides.
    let keys = jwks_with(rsa.jwk().unwrap(), |m| {
        m.remove("alg");
        m.remove("use");
    });
    assert!(check(&t, &keys, &expect(&ids)).is_ok());
    // A symmetric key under the token's kid: never used.
    let keys = jwks_with(
        json!({"kty": "oct", "kid": "k1", "k": B64URL.encode(b"secret")}),
        |_| {},
    );
    let e = check(&t, &keys, &expect(&ids)).unwrap_err();
    assert_eq!(e.code(), mismatch);
    assert!(e.to_string().contains("symmetric"), "{e}");
    // A 1024-bit RSA key: unusable.
    let keys = jwks_with(
        json!({"kty": "RSA", "kid": "k1", "n": B64URL.encode([0xC5u8; 128]), "e": "AQAB"}),
        |_| {},
    );
    let e = check(&t, &keys, &expect(&ids)).unwrap_err();
    assert_eq!(e.code(), mismatch);
    assert!(e.to_string().contains("1024 bits"), "{e}");
}

#[test]
fn signatures_cover_header_and_payload() {
    let key = rs256();
    let keys = set_of(&[&key]);
    let ids = client_ids();
    let good = key.sign(&base_claims()).unwrap();
    let mut tampered_claims = base_claims();
    tampered_claims["sub"] = json!("system:serviceaccount:kube-system:admin");
    let tampered = test_issuer::with_payload(&good, &tampered_claims);
    assert_eq!(
        code_of(&tampered, &keys, &expect(&ids)),
        "AuthenticationFail.OIDCToken.InvalidSignature"
    );
    // The same claims re-encoded with other whitespace: other bytes, so refused.
    let (h, rest) = good.split_once('.').unwrap();
    let (_, s) = rest.split_once('.').unwrap();
    let spaced = format!(
        "{h}.{}.{s}",
        B64URL.encode(serde_json::to_string_pretty(&base_claims()).unwrap())
    );
    assert_eq!(
        code_of(&spaced, &keys, &expect(&ids)),
        "AuthenticationFail.OIDCToken.InvalidSignature"
    );
    // The header swapped to PS256 (same key type): refused by the key's alg, and without an
    // alg in the JWK by the signature (the signing input changed).
    let ps_header = B64URL.encode(json!({"alg": "PS256", "kid": "k1", "typ": "JWT"}).to_string());
    let swapped = format!("{ps_header}.{rest}");
    assert_eq!(
        code_of(&swapped, &keys, &expect(&ids)),
        "AuthenticationFail.OIDCToken.InvalidSignature.KeyMismatch"
    );
    let any_alg = jwks_with(key.jwk().unwrap(), |m| {
        m.remove("alg");
    });
    assert_eq!(
        code_of(&swapped, &any_alg, &expect(&ids)),
        "AuthenticationFail.OIDCToken.InvalidSignature"
    );
    // An empty signature.
    let (input, _) = good.rsplit_once('.').unwrap();
    assert_eq!(
        code_of(&format!("{input}."), &keys, &expect(&ids)),
        "AuthenticationFail.OIDCToken.InvalidSignature"
    );
    // ES256 with a DER (ASN.1) signature instead of the JOSE r||s form.
    let ec = TestKey::generate(Algorithm::Es256, "e1").unwrap();
    let t = ec.sign(&base_claims()).unwrap();
    let (input, sig) = t.rsplit_once('.').unwrap();
    let raw = B64URL.decode(sig).unwrap();
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend_from_slice(&raw[..32]);
    der.extend_from_slice(&[0x02, 0x20]);
    der.extend_from_slice(&raw[32..]);
    let t = format!("{input}.{}", B64URL.encode(der));
    assert_eq!(
        code_of(&t, &set_of(&[&ec]), &expect(&ids)),
        "AuthenticationFail.OIDCToken.InvalidSignature"
    );
}

#[test]
fn claims_are_checked_after_the_signature() {
    let key = rs256();
    let keys = set_of(&[&key]);
    let ids = client_ids();
    let t0 = now().timestamp();
    let cases: Vec<(&str, Value)> = vec![
        (
            "AuthenticationFail.OIDCToken.IssuerNotMatch",
            json!({"iss": "https://evil.example.test"}),
        ),
        (
            "AuthenticationFail.OIDCToken.IssuerNotMatch",
            json!({"iss": format!("{ISS}/")}),
        ),
        (
            "AuthenticationFail.OIDCToken.AudienceNotMatch",
            json!({"aud": "someone-else"}),
        ),
        (
            "AuthenticationFail.OIDCToken.AudienceNotMatch",
            json!({"aud": []}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"aud": 5}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"aud": [AUD, 5]}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"iss": null}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"sub": null}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"sub": ""}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"exp": null}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"exp": "tomorrow"}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"iat": null}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"iat": -5}),
        ),
        (
            "AuthenticationFail.OIDCToken.Invalid.Claim",
            json!({"nbf": "soon"}),
        ),
        (
            "AuthenticationFail.OIDCToken.Expired",
            json!({"exp": t0 - 121}),
        ),
        (
            "AuthenticationFail.OIDCToken.NotYetValid",
            json!({"nbf": t0 + 121}),
        ),
        (
            "AuthenticationFail.OIDCToken.IssuedTimeInvalid.Future",
            json!({"iat": t0 + 121}),
        ),
        (
            "AuthenticationFail.OIDCToken.IssuedTimeInvalid",
            json!({"iat": t0 - 12 * 3600 - 121, "exp": t0 + 60}),
        ),
        ("accepted", json!({"exp": t0 - 119})),
        ("accepted", json!({"nbf": t0 + 119, "iat": t0 + 119})),
        (
            "accepted",
            json!({"iat": t0 - 12 * 3600 - 119, "exp": t0 + 60}),
        ),
        (
            "accepted",
            json!({"exp": (t0 + 60) as f64 + 0.5, "iat": t0 as f64 - 0.25}),
        ),
        ("accepted", json!({"aud": ["x", "other-client"]})),
    ];
    for (want, change) in cases {
        let mut c = base_claims();
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        let t = key.sign(&c).unwrap();
        assert_eq!(code_of(&t, &keys, &expect(&ids)), want, "{change}");
    }
    // Which audiences matched is reported.
    let mut c = base_claims();
    c["aud"] = json!(["x", "other-client", AUD]);
    let v = check(&key.sign(&c).unwrap(), &keys, &expect(&ids)).unwrap();
    assert_eq!(
        v.client_ids,
        vec!["other-client".to_string(), AUD.to_string()]
    );
    // No IssuanceLimitTime: old tokens pass while unexpired.
    let mut c = base_claims();
    c["iat"] = json!(t0 - 100 * 3600);
    let mut e = expect(&ids);
    e.max_age = None;
    assert!(check(&key.sign(&c).unwrap(), &keys, &e).is_ok());
}

#[test]
fn duplicate_registered_claims_are_refused() {
    let key = rs256();
    let header = B64URL.encode(json!({"alg": "RS256", "kid": "k1"}).to_string());
    let t0 = now().timestamp();
    let payload = format!(
        r#"{{"iss":"https://evil.example.test","iss":"{ISS}","aud":"{AUD}","sub":"a","iat":{t0},"exp":{}}}"#,
        t0 + 60
    );
    let input = format!("{header}.{}", B64URL.encode(payload));
    let sig = key.sign_bytes(input.as_bytes()).unwrap();
    let t = format!("{input}.{}", B64URL.encode(sig));
    let ids = client_ids();
    let e = check(&t, &set_of(&[&key]), &expect(&ids)).unwrap_err();
    assert_eq!(e.code(), "AuthenticationFail.OIDCToken.Invalid");
    assert!(e.to_string().contains("duplicate"), "{e}");
}

#[test]
fn nonce_when_expected() {
    let key = rs256();
    let keys = set_of(&[&key]);
    let ids = client_ids();
    let mut c = base_claims();
    c["nonce"] = json!("n-123");
    let t = key.sign(&c).unwrap();
    let mut e = expect(&ids);
    e.nonce = Some("n-123");
    assert_eq!(
        check(&t, &keys, &e).unwrap().nonce.as_deref(),
        Some("n-123")
    );
    e.nonce = Some("n-456");
    assert_eq!(
        code_of(&t, &keys, &e),
        "AuthenticationFail.OIDCToken.Invalid.Nonce"
    );
    let t = key.sign(&base_claims()).unwrap();
    assert_eq!(
        code_of(&t, &keys, &e),
        "AuthenticationFail.OIDCToken.Invalid.Nonce"
    );
}

#[test]
fn error_codes_are_distinct() {
    let s = || String::new();
    let all = [
        OidcError::Malformed(s()),
        OidcError::Algorithm(s()),
        OidcError::Claim {
            claim: "sub",
            message: s(),
        },
        OidcError::UnknownKey {
            kid: s(),
            available: s(),
        },
        OidcError::KeyMismatch(s()),
        OidcError::Signature(s()),
        OidcError::Issuer {
            got: s(),
            expected: s(),
        },
        OidcError::Audience {
            got: vec![],
            expected: vec![],
        },
        OidcError::Expired {
            exp: s(),
            now: s(),
            skew_seconds: 0,
        },
        OidcError::NotYetValid {
            nbf: s(),
            now: s(),
            skew_seconds: 0,
        },
        OidcError::IssuedInFuture {
            iat: s(),
            now: s(),
            skew_seconds: 0,
        },
        OidcError::TooOld {
            iat: s(),
            now: s(),
            limit_hours: 1,
        },
        OidcError::Nonce,
        OidcError::Tls(s()),
        OidcError::Discovery(s()),
    ];
    let mut codes: Vec<&str> = all.iter().map(OidcError::code).collect();
    assert!(
        codes
            .iter()
            .all(|c| c.starts_with("AuthenticationFail.OIDCToken."))
    );
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
}

#[test]
fn jwks_parsing() {
    let rsa = rs256();
    let ec = TestKey::generate(Algorithm::Es384, "e").unwrap();
    let mut doc = test_issuer::jwks(&[&rsa, &ec]).unwrap();
    doc["keys"].as_array_mut().unwrap().extend([
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
        json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"}),
        json!({"kty": "EC", "crv": "P-256", "kid": "short", "x": "AAAA", "y": "AAAA"}),
        json!({"kty": "RSA", "kid": "no-n", "e": "AQAB"}),
        json!({"kid": "no-kty"}),
        json!({"kty": "RSA", "kid": "bad-b64", "n": "!!", "e": "AQAB"}),
    ]);
    let set = JwkSet::parse(doc.to_string().as_bytes()).unwrap();
    assert_eq!(set.keys.len(), 8);
    assert!(matches!(set.keys[0].material, KeyMaterial::Rsa { .. }));
    assert!(matches!(set.keys[1].material, KeyMaterial::Ec { .. }));
    for k in &set.keys[2..] {
        assert!(matches!(k.material, KeyMaterial::Unusable(_)), "{k:?}");
    }
    // Padded members (some issuers pad) are accepted.
    let mut jwk = rsa.jwk().unwrap();
    jwk["e"] = json!("AQAB==");
    assert!(matches!(
        JwkSet::parse(json!({"keys": [jwk]}).to_string().as_bytes())
            .unwrap()
            .keys[0]
            .material,
        KeyMaterial::Rsa { .. }
    ));
    // Whole-document refusals.
    for bad in [
        b"not json".to_vec(),
        b"{}".to_vec(),
        b"{\"keys\": {}}".to_vec(),
        json!({"keys": vec![json!({"kty": "RSA"}); 101]})
            .to_string()
            .into_bytes(),
        vec![b' '; MAX_JWKS_BYTES + 1],
    ] {
        let e = JwkSet::parse(&bad).unwrap_err();
        assert_eq!(
            e.code(),
            "AuthenticationFail.OIDCToken.HttpsUrlInvalid.Discovery"
        );
    }
}

#[test]
fn discovery_documents() {
    assert_eq!(
        discovery_url("https://a.test"),
        "https://a.test/.well-known/openid-configuration"
    );
    assert_eq!(
        discovery_url("https://a.test/realms/x/"),
        "https://a.test/realms/x/.well-known/openid-configuration"
    );
    let doc = json!({"issuer": ISS, "jwks_uri": "https://issuer.example.test/jwks",
                     "authorization_endpoint": "https://issuer.example.test/auth"});
    let m = parse_metadata(doc.to_string().as_bytes(), ISS).unwrap();
    assert_eq!(
        m.authorization_endpoint.as_deref(),
        Some("https://issuer.example.test/auth")
    );
    assert_eq!(m.token_endpoint, None);
    let e = parse_metadata(doc.to_string().as_bytes(), "https://other.test").unwrap_err();
    assert!(e.to_string().contains("register the issuer exactly"), "{e}");
    let plain = json!({"issuer": ISS, "jwks_uri": "http://issuer.example.test/jwks"});
    assert!(
        parse_metadata(plain.to_string().as_bytes(), ISS)
            .unwrap_err()
            .to_string()
            .contains("not https")
    );
    assert!(parse_metadata(b"{\"issuer\": 1}", ISS).is_err());
}

/// A fetcher serving a settable key set (or failure), counting calls, optionally slow.
struct FakeFetcher {
    calls: AtomicUsize,
    answer: std::sync::Mutex<Result<JwkSet, OidcError>>,
    delay_ms: u64,
}

impl FakeFetcher {
    fn new(keys: JwkSet) -> Arc<FakeFetcher> {
        Arc::new(FakeFetcher {
            calls: AtomicUsize::new(0),
            answer: std::sync::Mutex::new(Ok(keys)),
            delay_ms: 0,
        })
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn set(&self, answer: Result<JwkSet, OidcError>) {
        *self.answer.lock().unwrap() = answer;
    }
}

impl FetchKeys for FakeFetcher {
    fn fetch<'a>(&'a self, source: &'a KeySource) -> BoxFuture<'a, Result<IssuerKeys, OidcError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.delay_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(self.delay_ms)).await;
            }
            let keys = self.answer.lock().unwrap().clone()?;
            Ok(IssuerKeys {
                metadata: ProviderMetadata {
                    issuer: source.issuer_url.clone(),
                    jwks_uri: format!("{}/jwks", source.issuer_url),
                    authorization_endpoint: None,
                    token_endpoint: None,
                },
                keys,
                channel: "fake".into(),
            })
        })
    }
}

const POLICY: CachePolicy = CachePolicy {
    max_age_ms: 3_600_000,
    min_refetch_ms: 60_000,
};

fn source() -> KeySource {
    KeySource {
        issuer_url: ISS.into(),
        fingerprints: vec!["ab".repeat(20)],
    }
}

#[tokio::test]
async fn cache_refetches_on_unknown_kid_at_most_once_per_interval() {
    let k1 = rs256();
    let k2 = TestKey::generate(Algorithm::Rs256, "k2").unwrap();
    let fetcher = FakeFetcher::new(set_of(&[&k1]));
    let cache = KeyCache::new(fetcher.clone(), POLICY);
    let clock = FixedClock::new(now());
    let src = source();

    assert!(
        cache
            .keys("p", &src, Some("k1"), &clock)
            .await
            .unwrap()
            .keys
            .has_kid("k1")
    );
    assert!(cache.keys("p", &src, Some("k1"), &clock).await.is_ok());
    assert!(cache.keys("p", &src, None, &clock).await.is_ok());
    assert_eq!(fetcher.calls(), 1, "known kids come from the cache");

    // The issuer rotates to k2. A token naming k2 right after the first fetch finds the last
    // fetch too recent: the old set is used (and verification will name the unknown kid).
    fetcher.set(Ok(set_of(&[&k1, &k2])));
    let got = cache.keys("p", &src, Some("k2"), &clock).await.unwrap();
    assert!(!got.keys.has_kid("k2"), "no refetch within the interval");
    assert_eq!(fetcher.calls(), 1);
    clock.advance(Duration::seconds(60));
    let got = cache.keys("p", &src, Some("k2"), &clock).await.unwrap();
    assert!(got.keys.has_kid("k2"));
    assert_eq!(fetcher.calls(), 2);

    // A flood of made-up kids: one fetch per interval.
    for i in 0..50 {
        let got = cache
            .keys("p", &src, Some(&format!("bogus-{i}")), &clock)
            .await
            .unwrap();
        assert!(got.keys.has_kid("k1"));
        clock.advance(Duration::seconds(1));
    }
    assert_eq!(fetcher.calls(), 2, "50 s after the last fetch: none yet");
    for i in 0..20 {
        cache
            .keys("p", &src, Some(&format!("more-{i}")), &clock)
            .await
            .unwrap();
        clock.advance(Duration::seconds(1));
    }
    assert_eq!(fetcher.calls(), 3, "one more after 60 s");
}

#[tokio::test]
async fn cache_keeps_the_last_good_set_when_a_fetch_fails() {
    let k1 = rs256();
    let fetcher = FakeFetcher::new(set_of(&[&k1]));
    let cache = KeyCache::new(fetcher.clone(), POLICY);
    let clock = FixedClock::new(now());
    let src = source();
    cache.keys("p", &src, Some("k1"), &clock).await.unwrap();

    fetcher.set(Err(OidcError::Discovery("HTTP 503".into())));
    clock.advance(Duration::hours(2)); // stale: a refresh is attempted
    let got = cache.keys("p", &src, Some("k1"), &clock).await.unwrap();
    assert!(got.keys.has_kid("k1"), "the last good set is kept");
    assert_eq!(fetcher.calls(), 2);
    // Still stale, but the failed attempt counts against the interval.
    cache.keys("p", &src, Some("k1"), &clock).await.unwrap();
    assert_eq!(fetcher.calls(), 2);
    clock.advance(Duration::seconds(61));
    fetcher.set(Ok(set_of(&[&k1])));
    cache.keys("p", &src, Some("k1"), &clock).await.unwrap();
    assert_eq!(fetcher.calls(), 3);
    cache.keys("p", &src, Some("k1"), &clock).await.unwrap();
    assert_eq!(fetcher.calls(), 3, "fresh again");
}

#[tokio::test]
async fn cache_without_keys_reports_the_failure_without_hammering() {
    let fetcher = FakeFetcher::new(JwkSet::default());
    fetcher.set(Err(OidcError::Tls("fingerprint".into())));
    let cache = KeyCache::new(fetcher.clone(), POLICY);
    let clock = FixedClock::new(now());
    for _ in 0..10 {
        let e = cache
            .keys("p", &source(), Some("k1"), &clock)
            .await
            .unwrap_err();
        assert_eq!(e, OidcError::Tls("fingerprint".into()));
    }
    assert_eq!(fetcher.calls(), 1);
    clock.advance(Duration::seconds(60));
    assert!(
        cache
            .keys("p", &source(), Some("k1"), &clock)
            .await
            .is_err()
    );
    assert_eq!(fetcher.calls(), 2);
}

#[tokio::test]
async fn cache_forgets_keys_when_the_registration_changes() {
    let k1 = rs256();
    let fetcher = FakeFetcher::new(set_of(&[&k1]));
    let cache = KeyCache::new(fetcher.clone(), POLICY);
    let clock = FixedClock::new(now());
    cache
        .keys("p", &source(), Some("k1"), &clock)
        .await
        .unwrap();
    let mut changed = source();
    changed.fingerprints.push("cd".repeat(20));
    cache.keys("p", &changed, Some("k1"), &clock).await.unwrap();
    assert_eq!(
        fetcher.calls(),
        2,
        "new fingerprints: fetched again at once"
    );
    // Another provider id is another entry.
    cache.keys("q", &changed, Some("k1"), &clock).await.unwrap();
    assert_eq!(fetcher.calls(), 3);
    assert_eq!(cache.len(), 2);
    clock.advance(Duration::hours(25));
    cache.forget_idle(clock.now_ms(), 24 * 3600 * 1000);
    assert!(cache.is_empty());
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_fetch() {
    let k1 = rs256();
    let fetcher = Arc::new(FakeFetcher {
        calls: AtomicUsize::new(0),
        answer: std::sync::Mutex::new(Ok(set_of(&[&k1]))),
        delay_ms: 50,
    });
    let cache = Arc::new(KeyCache::new(fetcher.clone(), POLICY));
    let clock = Arc::new(FixedClock::new(now()));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (cache, clock) = (cache.clone(), clock.clone());
        tasks.push(tokio::spawn(async move {
            cache
                .keys("p", &source(), Some(&format!("x{i}")), clock.as_ref())
                .await
                .map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn verifier_uses_the_provider_registration() {
    let key = rs256();
    let fetcher = FakeFetcher::new(set_of(&[&key]));
    let verifier = OidcVerifier::new(fetcher.clone(), POLICY, Duration::seconds(120));
    let clock = FixedClock::new(now());
    let provider = OidcProvider {
        account_id: "1234567890123456".into(),
        name: "k8s".into(),
        description: String::new(),
        issuer_url: ISS.into(),
        client_ids: vec![AUD.into()],
        fingerprints: vec!["ab".repeat(20)],
        issuance_limit_hours: 1,
        created_at: 0,
        updated_at: 0,
    };
    let mut claims = base_claims();
    claims["exp"] = json!(now().timestamp() + 3 * 3600);
    let t = key.sign(&claims).unwrap();
    let v = verifier.verify(&provider, &t, None, &clock).await.unwrap();
    assert_eq!(v.token.subject, "system:serviceaccount:ns:app");
    let issuer = verifier.issuer(&provider, &clock).await.unwrap();
    assert_eq!(issuer.metadata.jwks_uri, "https://issuer.example.test/jwks");
    assert_eq!(fetcher.calls(), 1, "the same cache entry");
    let info = v.verification_info();
    assert!(
        info.starts_with(
            "Success: RS256 signature verified with key k1 from https://issuer.example.test/jwks"
        ),
        "{info}"
    );
    // IssuanceLimitTime of the provider (1 h) applies.
    clock.advance(Duration::minutes(63));
    let e = verifier
        .verify(&provider, &t, None, &clock)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "AuthenticationFail.OIDCToken.IssuedTimeInvalid");
    assert_eq!(fetcher.calls(), 2, "the hour-old key set was fetched again");
    // Another issuer's token, under a kid we do not know: refused without a fetch.
    clock.advance(Duration::minutes(5));
    let foreign = TestKey::generate(Algorithm::Es256, "foreign").unwrap();
    let claims = test_issuer::claims(
        "https://other.example.test",
        AUD,
        "x",
        clock.now().timestamp(),
    );
    let e = verifier
        .verify(&provider, &foreign.sign(&claims).unwrap(), None, &clock)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "AuthenticationFail.OIDCToken.IssuerNotMatch");
    assert_eq!(fetcher.calls(), 2);
}

#[test]
fn fixture_shapes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oidc");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let keys = JwkSet::parse(read("jwks-rsa-ec.json").as_bytes()).unwrap();
    assert!(
        keys.keys
            .iter()
            .all(|k| !matches!(k.material, KeyMaterial::Unusable(_)))
    );
    let mixed = JwkSet::parse(read("jwks-mixed.json").as_bytes()).unwrap();
    let unusable = mixed
        .keys
        .iter()
        .filter(|k| matches!(k.material, KeyMaterial::Unusable(_)));
    assert_eq!(unusable.count(), 3);
    // The fixture tokens were signed at 2026-11-22T12:00:00Z by the fixture keys.
    let ids = vec![AUD.to_string()];
    for (file, want) in [
        ("token-rs256.txt", "accepted"),
        ("token-es256.txt", "accepted"),
        (
            "token-none.txt",
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
        ),
        (
            "token-hs256-public-key.txt",
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
        ),
        (
            "token-crit.txt",
            "AuthenticationFail.OIDCToken.Invalid.Algorithm",
        ),
    ] {
        assert_eq!(code_of(&read(file), &keys, &expect(&ids)), want, "{file}");
    }
    // The RSA-signed token against the mixed set (same RSA key, plus unusable ones).
    assert_eq!(
        code_of(&read("token-rs256.txt"), &mixed, &expect(&ids)),
        "accepted"
    );
}

mod props {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    /// One RS256 and one ES256 token with their key set, made once.
    fn fixture() -> &'static (Vec<String>, JwkSet) {
        static F: OnceLock<(Vec<String>, JwkSet)> = OnceLock::new();
        F.get_or_init(|| {
            let rsa = rs256();
            let ec = TestKey::generate(Algorithm::Es256, "e1").unwrap();
            let tokens = vec![
                rsa.sign(&base_claims()).unwrap(),
                ec.sign(&base_claims()).unwrap(),
            ];
            (tokens, set_of(&[&rsa, &ec]))
        })
    }

    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Any one-character change anywhere in a valid token (header, payload, signature or
        /// separators) is refused.
        #[test]
        fn any_one_character_change_is_refused(
            which in 0usize..2,
            pos in 0usize..4096,
            c in proptest::sample::select(CHARS),
        ) {
            let (tokens, keys) = fixture();
            let ids = client_ids();
            let token = &tokens[which];
            let pos = pos % token.len();
            prop_assume!(token.as_bytes()[pos] != c);
            let mut bytes = token.clone().into_bytes();
            bytes[pos] = c;
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert_ne!(code_of(&mutated, keys, &expect(&ids)), "accepted");
        }

        /// Arbitrary text never panics the parser or the verifier.
        #[test]
        fn arbitrary_text_is_refused_quietly(s in "\\PC{0,200}", dots in 0usize..4) {
            let (_, keys) = fixture();
            let ids = client_ids();
            let text = format!("{s}{}", ".".repeat(dots));
            prop_assert_ne!(code_of(&text, keys, &expect(&ids)), "accepted");
        }
    }
}
