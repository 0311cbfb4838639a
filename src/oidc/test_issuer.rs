//! Signing keys and tokens for tests (unit, integration, benchmarks): fresh RSA and EC keys, their
//! JWKs, well-formed ID tokens, and the malformed and forged tokens of the attack suite. The
//! server never uses this module.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Value, json};
use x509_parser::prelude::FromDer as _;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::token::Algorithm;

enum Inner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A signing key with its kid and algorithm.
pub struct TestKey {
    /// `kid`.
    pub kid: String,
    /// Algorithm it signs with.
    pub alg: Algorithm,
    inner: Inner,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Why a test key could not be made or used.
#[derive(Debug, thiserror::Error)]
#[error("test key: {0}")]
pub struct TestKeyError(String);

fn b64(bytes: &[u8]) -> String {
    B64URL.encode(bytes)
}

fn strip(v: &[u8]) -> &[u8] {
    let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v.get(first..).unwrap_or_default()
}

impl TestKey {
    /// A fresh key for `alg` (RSA-2048 for RS/PS, P-256/P-384 for ES).
    pub fn generate(alg: Algorithm, kid: &str) -> Result<TestKey, TestKeyError> {
        let e = |what: &str| TestKeyError(what.to_string());
        let inner = match alg {
            Algorithm::Es256 => Inner::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| e("EC P-256 generation"))?,
            ),
            Algorithm::Es384 => Inner::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING)
                    .map_err(|_| e("EC P-384 generation"))?,
            ),
            _ => {
                Inner::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| e("RSA generation"))?)
            }
        };
        Ok(TestKey {
            kid: kid.to_string(),
            alg,
            inner,
        })
    }

    /// The DER SubjectPublicKeyInfo of the public key.
    pub fn public_key_der(&self) -> Result<Vec<u8>, TestKeyError> {
        let der = match &self.inner {
            Inner::Rsa(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Inner::Ec(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        der.map_err(|_| TestKeyError("public key encoding".into()))
    }

    /// The public JWK (with `kid`, `alg` and `use`).
    pub fn jwk(&self) -> Result<Value, TestKeyError> {
        let mut jwk = match &self.inner {
            Inner::Rsa(_) => {
                let der = self.public_key_der()?;
                let (_, spki) = SubjectPublicKeyInfo::from_der(&der)
                    .map_err(|e| TestKeyError(format!("SPKI: {e}")))?;
                let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
                    return Err(TestKeyError("not an RSA key".into()));
                };
                json!({"kty": "RSA", "n": b64(strip(rsa.modulus)), "e": b64(strip(rsa.exponent))})
            }
            Inner::Ec(k) => {
                let point = k.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let (x, y) = point.get(1..).unwrap_or_default().split_at(len);
                let crv = if len == 32 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y)})
            }
        };
        if let Value::Object(m) = &mut jwk {
            m.insert("kid".into(), json!(self.kid));
            m.insert("alg".into(), json!(self.alg.name()));
            m.insert("use".into(), json!("sig"));
        }
        Ok(jwk)
    }

    /// Signs `signing_input` with this key's algorithm.
    pub fn sign_bytes(&self, signing_input: &[u8]) -> Result<Vec<u8>, TestKeyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.inner {
            Inner::Rsa(k) => {
                let padding: &'static dyn signature::RsaEncoding = match self.alg {
                    Algorithm::Rs256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::Rs384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::Rs512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::Ps256 => &signature::RSA_PSS_SHA256,
                    Algorithm::Ps384 => &signature::RSA_PSS_SHA384,
                    _ => &signature::RSA_PSS_SHA512,
                };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(padding, &rng, signing_input, &mut sig)
                    .map_err(|_| TestKeyError("RSA signing".into()))?;
                Ok(sig)
            }
            Inner::Ec(k) => k
                .sign(&rng, signing_input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| TestKeyError("ECDSA signing".into())),
        }
    }

    /// A compact JWS of `claims` with `header` as given (nothing added).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, TestKeyError> {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self.sign_bytes(input.as_bytes())?;
        Ok(format!("{input}.{}", b64(&sig)))
    }

    /// A compact JWS of `claims` with header `{alg, kid, typ: JWT}`.
    pub fn sign(&self, claims: &Value) -> Result<String, TestKeyError> {
        self.sign_with_header(
            &json!({"alg": self.alg.name(), "kid": self.kid, "typ": "JWT"}),
            claims,
        )
    }
}

/// A JWK Set of the keys' public halves.
pub fn jwks(keys: &[&TestKey]) -> Result<Value, TestKeyError> {
    let keys = keys
        .iter()
        .map(|k| k.jwk())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "keys": keys }))
}

/// ID token claims from `issuer` for `audience` about `subject`, issued at `now` (epoch
/// seconds), valid for an hour.
pub fn claims(issuer: &str, audience: &str, subject: &str, now: i64) -> Value {
    json!({
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": now,
        "exp": now + 3600,
    })
}

/// An unsigned token (`alg: none`, empty signature).
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// An HS256 token whose HMAC key is `secret` (the algorithm-confusion attack uses the issuer's
/// public key bytes here).
pub fn hmac_sha256(secret: &[u8], kid: &str, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "HS256", "kid": kid, "typ": "JWT"})
            .to_string()
            .as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// `token` with its payload replaced by `claims` and the original signature kept.
pub fn with_payload(token: &str, claims: &Value) -> String {
    let mut parts = token.splitn(3, '.');
    let header = parts.next().unwrap_or_default();
    let _ = parts.next();
    let signature = parts.next().unwrap_or_default();
    format!(
        "{header}.{}.{signature}",
        b64(claims.to_string().as_bytes())
    )
}

/// A key source serving a settable JWK Set for any issuer, counting fetches (in-process tests
/// that need no HTTPS issuer).
#[derive(Debug, Default)]
pub struct StaticKeys {
    keys: std::sync::Mutex<super::jwks::JwkSet>,
    fetches: std::sync::atomic::AtomicUsize,
    token_answer: std::sync::Mutex<Option<(u16, String)>>,
    token_requests: std::sync::Mutex<Vec<String>>,
}

impl StaticKeys {
    /// A source serving `keys`.
    pub fn new(keys: &[&TestKey]) -> Result<StaticKeys, TestKeyError> {
        let source = StaticKeys::default();
        source.set(keys)?;
        Ok(source)
    }

    /// Serves `keys` from now on.
    pub fn set(&self, keys: &[&TestKey]) -> Result<(), TestKeyError> {
        let doc = jwks(keys)?.to_string();
        let set =
            super::jwks::JwkSet::parse(doc.as_bytes()).map_err(|e| TestKeyError(e.to_string()))?;
        if let Ok(mut k) = self.keys.lock() {
            *k = set;
        }
        Ok(())
    }

    /// What the token endpoint (`<issuer>/token`) answers from now on: status and JSON body.
    pub fn set_token_answer(&self, status: u16, body: &str) {
        if let Ok(mut a) = self.token_answer.lock() {
            *a = Some((status, body.to_string()));
        }
    }

    /// The form bodies the token endpoint received, oldest first.
    pub fn token_requests(&self) -> Vec<String> {
        self.token_requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Fetches so far.
    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl super::jwks::FetchKeys for StaticKeys {
    fn fetch<'a>(
        &'a self,
        source: &'a super::KeySource,
    ) -> super::jwks::BoxFuture<'a, Result<super::IssuerKeys, super::OidcError>> {
        Box::pin(async move {
            self.fetches
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let keys = self
                .keys
                .lock()
                .map(|k| k.clone())
                .map_err(|_| super::OidcError::Discovery("poisoned".into()))?;
            Ok(super::IssuerKeys {
                metadata: super::discovery::ProviderMetadata {
                    issuer: source.issuer_url.clone(),
                    jwks_uri: format!("{}/jwks", source.issuer_url.trim_end_matches('/')),
                    authorization_endpoint: Some(format!(
                        "{}/auth",
                        source.issuer_url.trim_end_matches('/')
                    )),
                    token_endpoint: Some(format!(
                        "{}/token",
                        source.issuer_url.trim_end_matches('/')
                    )),
                },
                keys,
                channel: "static test keys".into(),
            })
        })
    }

    fn send<'a>(
        &'a self,
        source: &'a super::KeySource,
        request: http::Request<Vec<u8>>,
    ) -> super::jwks::BoxFuture<'a, Result<http::Response<Vec<u8>>, super::OidcError>> {
        Box::pin(async move {
            let fail = |m: String| super::OidcError::Discovery(m);
            let expected = format!("{}/token", source.issuer_url.trim_end_matches('/'));
            if request.uri().to_string() != expected {
                return Err(fail(format!("no endpoint {}", request.uri())));
            }
            if let Ok(mut r) = self.token_requests.lock() {
                r.push(String::from_utf8_lossy(request.body()).into_owned());
            }
            let (status, body) = self
                .token_answer
                .lock()
                .ok()
                .and_then(|a| a.clone())
                .ok_or_else(|| fail("the test token endpoint has no answer set".into()))?;
            http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(body.into_bytes())
                .map_err(|e| fail(e.to_string()))
        })
    }
}
