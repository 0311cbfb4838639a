//! Hot paths, in process (criterion): STS SecurityToken seal and open, request signature checks
//! (v1 HMAC-SHA1 and v3 ACS3-HMAC-SHA256), XML-DSig verification alone, and full SAML response
//! validation of the shared fixtures, next to the crypto floor measured in the same run: one
//! RSA-2048 verification of SignedInfo + SHA-256 of the canonical assertion + one quick-xml pass.
//!
//! `cargo bench --bench hot_paths`; add `-- --quick` for a short run. `RAMBRIDGE_BENCH_CLOCK=cpu`
//! measures thread CPU time instead of wall-clock time (for a machine busy with other work).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench aborts on setup errors

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::{Duration, TimeZone, Utc};
use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};
use rambridge::api::signature::{self, V1Check};
use rambridge::clock::FixedClock;
use rambridge::crypto::{Keyring, MasterKey, sha256_hex};
use rambridge::saml::{Expectations, validate_response};
use rambridge::store::Role;
use rambridge::sts::{self, SessionSpec, token};
use rambridge::xmldsig::{Document, TrustedKeys, VerifyOptions, verify_element};

fn shared(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/saml")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn sts_tokens<M: Measurement>(c: &mut Criterion<M>) {
    let keys = Keyring::new(MasterKey::from_bytes(&[7u8; 32]).unwrap());
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ));
    let role = Role {
        id: "3000000000000000001".into(),
        account_id: "1234567890123456".into(),
        name: "mobile-app".into(),
        description: String::new(),
        trust_policy: String::new(),
        max_session_duration: 3600,
        created_at: 0,
        updated_at: 0,
        sessions_valid_after: 0,
    };
    let policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:PutObject","oss:GetObject"],"Resource":"acs:oss:*:*:app-bucket/user-42/*"}]}"#;
    let spec = || SessionSpec {
        session_name: "user-42".into(),
        duration_s: 1800,
        session_policy: Some(policy.into()),
        chained: false,
        source: "acs:ram::1234567890123456:root".into(),
        source_identity: None,
    };
    let mut g = c.benchmark_group("sts_token");
    g.bench_function("mint (seal + derive secret)", |b| {
        b.iter(|| sts::mint(&keys, clock.as_ref(), &role, black_box(spec())).unwrap())
    });
    let m = sts::mint(&keys, clock.as_ref(), &role, spec()).unwrap();
    let now = clock.as_ref().now_ms();
    g.bench_function("open (verify + derive secret)", |b| {
        b.iter(|| token::open(&keys, black_box(&m.token), &m.claims.access_key_id, now).unwrap())
    });
    g.finish();
}

use rambridge::clock::Clock as _;

fn request_signatures<M: Measurement>(c: &mut Criterion<M>) {
    let params: Vec<(String, String)> = [
        ("AccessKeyId", "LTAI5tFAKEFAKEFAKEFAKE01"),
        ("Action", "GetCallerIdentity"),
        ("Format", "json"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "0123456789abcdef0123456789abcdef"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2025-01-01T00:00:00Z"),
        ("Version", "2015-04-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let secret = "FakeSecretFakeSecretFakeSecret01";
    let canonical =
        signature::v1_canonical_query(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let sig = signature::v1_sign(secret, &signature::v1_string_to_sign("POST", &canonical));
    let mut g = c.benchmark_group("request_signature");
    g.bench_function("v1 HMAC-SHA1 verify", |b| {
        b.iter(|| {
            let r = signature::v1_verify(
                "POST",
                params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                secret,
                black_box(&sig),
            );
            assert_eq!(r, V1Check::Valid);
        })
    });
    let mut headers = HeaderMap::new();
    for (k, v) in [
        ("host", "127.0.0.1:8080"),
        ("x-acs-action", "GetCallerIdentity"),
        (
            "x-acs-content-sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        ("x-acs-date", "2025-01-01T00:00:00Z"),
        ("x-acs-signature-nonce", "0123456789abcdef0123456789abcdef"),
        ("x-acs-version", "2015-04-01"),
    ] {
        headers.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    let signed: Vec<String> = headers
        .keys()
        .map(|k| k.as_str().to_string())
        .collect::<Vec<_>>();
    let mut signed = signed;
    signed.sort();
    let cr = signature::v3_canonical_request("POST", "/", &[], &headers, &signed, &sha256_hex(b""))
        .unwrap();
    let v3sig = signature::v3_sign(secret, &signature::v3_string_to_sign(&cr));
    g.bench_function("v3 ACS3-HMAC-SHA256 verify", |b| {
        b.iter(|| {
            let cr = signature::v3_canonical_request(
                "POST",
                "/",
                &[],
                &headers,
                &signed,
                &sha256_hex(b""),
            )
            .unwrap();
            assert!(signature::v3_verify(
                secret,
                &signature::v3_string_to_sign(&cr),
                black_box(&v3sig)
            ));
        })
    });
    g.finish();
}

fn saml<M: Measurement>(c: &mut Criterion<M>) {
    let keys = TrustedKeys::from_der_certificates([shared("idp-test-cert.der")]).unwrap();
    let exp = Expectations {
        issuer: "https://idp.example.test/saml/idp",
        audience: "urn:alibaba:cloudcomputing",
        recipient: "http://127.0.0.1:8080/saml-role/sso",
        now: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        skew: Duration::minutes(2),
        allow_sha1: false,
        decryption_key: None,
    };
    let mut g = c.benchmark_group("saml");

    // The floor: what any correct validator must at least do for the 8 KB fixture: one
    // RSA-2048 verification of SignedInfo, SHA-256 of the canonical assertion and of
    // SignedInfo, one quick-xml pass over the document. Measured with aws-lc-rs (key parsed
    // once, as rambridge keeps it) and with ring (key parsed per call); the faster is the floor
    // the ratios use.
    let signed_info = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../shared/fixtures/saml/c14n/response-assertion-signed._rb2d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a.signedinfo.c14n.xml",
    ))
    .unwrap();
    let reference = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../shared/fixtures/saml/c14n/response-assertion-signed._rb2d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a.ref.c14n.xml",
    ))
    .unwrap();
    let sigvalue = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../shared/fixtures/saml/c14n/response-assertion-signed._rb2d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a.sigvalue.bin",
    ))
    .unwrap();
    let pubkey = shared("idp-test-pubkey-pkcs1.der");
    let main = shared("response-assertion-signed.xml");
    let xml_pass = |doc: &[u8]| {
        let mut r = quick_xml::Reader::from_reader(doc);
        let mut n = 0usize;
        loop {
            match r.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                _ => n += 1,
            }
        }
        n
    };
    g.throughput(Throughput::Bytes(main.len() as u64));
    g.bench_function(
        "floor: RSA-2048 verify + 2x SHA-256 + quick-xml pass (8 KB, aws-lc-rs)",
        |b| {
            use aws_lc_rs::{digest, signature};
            let key =
                signature::ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &pubkey)
                    .unwrap();
            b.iter(|| {
                key.verify_sig(black_box(&signed_info), &sigvalue).unwrap();
                black_box(digest::digest(&digest::SHA256, &reference));
                black_box(digest::digest(&digest::SHA256, &signed_info));
                black_box(xml_pass(&main))
            })
        },
    );
    g.bench_function(
        "floor: RSA-2048 verify + 2x SHA-256 + quick-xml pass (8 KB, ring)",
        |b| {
            let key = ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                &pubkey,
            );
            b.iter(|| {
                key.verify(black_box(&signed_info), &sigvalue).unwrap();
                black_box(ring::digest::digest(&ring::digest::SHA256, &reference));
                black_box(ring::digest::digest(&ring::digest::SHA256, &signed_info));
                black_box(xml_pass(&main))
            })
        },
    );
    g.bench_function("xmldsig verify only (8 KB, parse + verify)", |b| {
        b.iter(|| {
            let doc = Document::parse(black_box(&main)).unwrap();
            let root = doc.root_element();
            let assertion = root
                .child_elements()
                .find(|e| e.local_name() == "Assertion")
                .unwrap();
            verify_element(&doc, assertion.node_id(), &keys, &VerifyOptions::SAML).unwrap();
        })
    });
    for (name, file) in [
        (
            "full validation, assertion signed (8 KB)",
            "response-assertion-signed.xml",
        ),
        (
            "full validation, both signed (10 KB)",
            "response-both-signed.xml",
        ),
        (
            "full validation, large assertion (30 KB)",
            "response-large-assertion-signed.xml",
        ),
    ] {
        let xml = shared(file);
        g.throughput(Throughput::Bytes(xml.len() as u64));
        // Full validation as AssumeRoleWithSAML does it, plus the replay check against an
        // in-memory set of used assertions (refused if present; removed again so that every
        // iteration sees a fresh assertion).
        let mut used: HashSet<String> = HashSet::with_capacity(1024);
        g.bench_function(name, |b| {
            b.iter(|| {
                let a = validate_response(black_box(&xml), &keys, &exp).unwrap();
                let key = format!("{} {}", a.issuer, a.assertion_id);
                assert!(used.insert(key.clone()), "replayed");
                used.remove(&key);
                a
            })
        });
    }
    g.finish();
}

#[path = "cpu_clock.rs"]
mod cpu_clock;

fn run<M: Measurement>(c: &mut Criterion<M>) {
    sts_tokens(c);
    request_signatures(c);
    saml(c);
}

/// Wall-clock time by default; thread CPU time with `RAMBRIDGE_BENCH_CLOCK=cpu`.
fn main() {
    if std::env::var("RAMBRIDGE_BENCH_CLOCK").as_deref() == Ok("cpu") {
        let mut c = Criterion::default()
            .with_measurement(cpu_clock::ThreadCpu)
            .configure_from_args();
        run(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default().configure_from_args();
        run(&mut c);
        c.final_summary();
    }
}
