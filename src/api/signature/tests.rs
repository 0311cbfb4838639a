//! The spec's worked examples (§2.5), each recomputed by the SDK helper and an independent
//! implementation when the spec was written; these tests pin rambridge to them.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;

fn pairs<'a>(v: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    v.iter().copied()
}

#[test]
fn example_a_published_ram_example() {
    let params = [
        ("AccessKeyId", "testid"),
        ("Action", "CreateUser"),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2015-08-18T03:15:45Z"),
        ("UserName", "test"),
        ("Version", "2015-05-01"),
    ];
    let sts = v1_string_to_sign("GET", &v1_canonical_query(pairs(&params)));
    assert_eq!(v1_sign("testsecret", &sts), "kRA2cnpJVacIhDMzXnoNZG9tDCI=");
    assert_eq!(
        v1_verify(
            "GET",
            pairs(&params),
            "testsecret",
            "kRA2cnpJVacIhDMzXnoNZG9tDCI="
        ),
        V1Check::Valid
    );
    assert!(matches!(
        v1_verify(
            "POST",
            pairs(&params),
            "testsecret",
            "kRA2cnpJVacIhDMzXnoNZG9tDCI="
        ),
        V1Check::Mismatch { .. }
    ));
}

#[test]
fn example_b_v1_with_sts_token() {
    let params = [
        ("AccessKeyId", "STS.NTFAKEFAKEFAKEFAKEFAKE1"),
        ("Action", "GetCallerIdentity"),
        ("Format", "json"),
        ("SecurityToken", "CAISfakeSecurityTokenFAKE"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "0123456789abcdef0123456789abcdef"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2025-01-01T00:00:00Z"),
        ("Version", "2015-04-01"),
        ("Signature", "ignored-by-canonicalization"),
    ];
    let sts = v1_string_to_sign("POST", &v1_canonical_query(pairs(&params)));
    assert_eq!(
        sts,
        "POST&%2F&AccessKeyId%3DSTS.NTFAKEFAKEFAKEFAKEFAKE1%26Action%3DGetCallerIdentity%26Format%3Djson%26SecurityToken%3DCAISfakeSecurityTokenFAKE%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D0123456789abcdef0123456789abcdef%26SignatureVersion%3D1.0%26Timestamp%3D2025-01-01T00%253A00%253A00Z%26Version%3D2015-04-01"
    );
    assert_eq!(
        v1_sign("FakeStsSecretFakeStsSecretFake01", &sts),
        "QPX7n2zVHzfWJxMV1zCdkO1tlvk="
    );
}

#[test]
fn example_c_encoding_edge_cases() {
    let params = [
        ("AccessKeyId", "LTAI5tFAKEFAKEFAKEFAKE01"),
        ("Action", "CreateUser"),
        ("Comments", "a b*c~d:e/f é"),
        ("Format", "json"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "n1"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2025-01-01T00:00:00Z"),
        ("UserName", "alice"),
        ("Version", "2015-05-01"),
    ];
    let sts = v1_string_to_sign("POST", &v1_canonical_query(pairs(&params)));
    assert!(
        sts.contains("a%2520b%252Ac~d%253Ae%252Ff%2520%25C3%25A9"),
        "{sts}"
    );
    assert_eq!(
        v1_sign("FakeSecretFakeSecretFakeSecret01", &sts),
        "7mxSQegtXsDrQT4j01z49nrtfHA="
    );
}

#[test]
fn plus_variant_is_accepted_only_as_the_documented_fallback() {
    // Sign the way alibabacloud-credentials 1.0.12 does: spaces as '+'.
    let params = [("Action", "AssumeRole"), ("Policy", "{\"a\": 1}")];
    let canonical = v1_canonical_query(pairs(&params)).replace("%20", "+");
    let sig = v1_sign("s", &v1_string_to_sign("GET", &canonical));
    assert_eq!(v1_verify("GET", pairs(&params), "s", &sig), V1Check::Valid);
    // The variant never rescues a signature made with another secret.
    assert!(matches!(
        v1_verify("GET", pairs(&params), "t", &sig),
        V1Check::Mismatch { .. }
    ));
}

#[test]
fn garbage_signatures_do_not_verify() {
    let params = [("Action", "X")];
    for sig in ["", "!!!", "AAAA", "kRA2cnpJVacIhDMzXnoNZG9tDCI="] {
        assert!(matches!(
            v1_verify("GET", pairs(&params), "s", sig),
            V1Check::Mismatch { .. }
        ));
    }
}

fn example_d_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("accept", "application/json"),
        ("host", "127.0.0.1:8080"),
        (
            "user-agent",
            "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        ),
        ("x-acs-action", "AssumeRole"),
        (
            "x-acs-content-sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        ("x-acs-date", "2025-01-01T00:00:00Z"),
        ("x-acs-signature-nonce", "0123456789abcdef0123456789abcdef"),
        ("x-acs-version", "2015-04-01"),
    ] {
        h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    h
}

#[test]
fn example_d_v3_assume_role() {
    let auth = parse_v3_authorization(
        "ACS3-HMAC-SHA256 Credential=LTAI5tFAKEFAKEFAKEFAKE01,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=14dd0026e7573567c65bf6048170d04d08b5250e974117f7301402845f56676b",
    )
    .unwrap();
    assert_eq!(auth.access_key_id, "LTAI5tFAKEFAKEFAKEFAKE01");
    let query = vec![
        (
            "RoleArn".to_string(),
            "acs:ram::1234567890123456:role/admin".to_string(),
        ),
        ("RoleSessionName".to_string(), "alice".to_string()),
        ("DurationSeconds".to_string(), "3600".to_string()),
    ];
    let cr = v3_canonical_request(
        "POST",
        "/",
        &query,
        &example_d_headers(),
        &auth.signed_headers,
        &sha256_hex(b""),
    )
    .unwrap();
    let sts = v3_string_to_sign(&cr);
    assert_eq!(
        sts,
        "ACS3-HMAC-SHA256\n296ea701522a2f086ccfb645e409654bd9bbf8c4c9c196bc1ee9a6842497e701"
    );
    assert_eq!(
        v3_sign("FakeSecretFakeSecretFakeSecret01", &sts),
        auth.signature
    );
    assert!(v3_verify(
        "FakeSecretFakeSecretFakeSecret01",
        &sts,
        &auth.signature
    ));
    assert!(!v3_verify(
        "FakeSecretFakeSecretFakeSecret02",
        &sts,
        &auth.signature
    ));
}

#[test]
fn v3_missing_signed_header_is_named() {
    let signed = vec!["host".to_string(), "x-acs-missing".to_string()];
    let err =
        v3_canonical_request("POST", "/", &[], &example_d_headers(), &signed, "").unwrap_err();
    assert_eq!(err, "x-acs-missing");
}

#[test]
fn v3_authorization_parsing_is_strict() {
    for bad in [
        "",
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=ab,Extra=1",
        "ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=host,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;;x,Signature=ab",
        "ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=ab",
    ] {
        assert!(parse_v3_authorization(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn percent_encoding_rules() {
    assert_eq!(percent_encode("A-z_0.9~"), "A-z_0.9~");
    assert_eq!(percent_encode(" *+/:é"), "%20%2A%2B%2F%3A%C3%A9");
}

#[test]
fn one_pass_string_to_sign_equals_the_two_step_definition() {
    // The verifier builds the string to sign in one pass; it must equal
    // percentEncode(canonical query) for any parameters, including ones that need encoding in
    // names and values, characters that are special to the second pass (% = &), non-ASCII,
    // and repeated names (ordered by value).
    let cases: &[&[(&str, &str)]] = &[
        &[("Action", "GetCallerIdentity"), ("Version", "2015-04-01")],
        &[
            ("b", "x y"),
            ("a", "1+1=2&3"),
            ("c", "100%"),
            ("d", "*~._-/:"),
        ],
        &[
            ("Tag.1.Key", "é🙂"),
            ("Tag.1.Value", ""),
            ("Signature", "skip"),
        ],
        &[("k", "b"), ("k", "a"), ("k", "%20"), ("na me", "v")],
        &[],
    ];
    for params in cases {
        for method in ["GET", "POST"] {
            let two_step = v1_string_to_sign(method, &v1_canonical_query(pairs(params)));
            let one_pass = string_to_sign_of(method, &v1_sorted(pairs(params)));
            assert_eq!(one_pass, two_step, "{params:?}");
            let sig = v1_sign("secret", &two_step);
            assert_eq!(
                v1_verify(method, pairs(params), "secret", &sig),
                V1Check::Valid
            );
        }
    }
}
