//! ID token (compact JWS) verification: [`parse`] reads the header only, [`verify`] checks the
//! signature with the issuer's key and only then reads the claims, returning a
//! [`VerifiedIdToken`] that nothing else can construct.
//!
//! Rules (RFC 7515, RFC 7518, RFC 7519, OIDC Core §3.1.3.7; spec §8.3):
//! * Allowed algorithms: RS256/384/512, PS256/384/512, ES256, ES384 ([`Algorithm`]). `none`
//!   and HMAC are refused by name before any key is looked at: an HMAC "signature" made with
//!   the issuer's public key as secret must never be checked as one.
//! * The key comes from the provider's JWKS only; `jku`, `jwk`, `x5u` and `x5c` header members
//!   are ignored. A header with `crit` is refused (no extension is understood).
//! * The key must fit the algorithm: RSA for RS/PS, EC P-256 for ES256, P-384 for ES384; a key
//!   that names an `alg` must name this one; a key with `use` other than `sig` is not used.
//! * Claims are parsed only from the verified payload (the one exception refuses, never
//!   accepts: [`UnverifiedToken::unverified_issuer`] lets a token of another issuer fail with
//!   `IssuerNotMatch` before any key lookup or fetch). Registered claims appear once
//!   (duplicates are refused); `iss`, `sub`, `aud`, `exp` and `iat` are required.
//! * Times use the [`Clock`](crate::clock::Clock) passed in through [`Expectations::now`], with
//!   the configured skew: `exp`, `nbf`, `iat` (not in the future) and the provider's
//!   IssuanceLimitTime (`iat` not older than it).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::OidcError;
use super::jwks::{Curve, Jwk, JwkSet, KeyMaterial};
use crate::clock::format_iso8601;

/// Longest token accepted (spec §4.1: OIDCToken 4-20000 characters).
pub const MAX_TOKEN_CHARS: usize = 20_000;

/// An allowed JWS algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
}

/// Every allowed algorithm, for messages and tests.
pub const ALLOWED: [Algorithm; 8] = [
    Algorithm::Rs256,
    Algorithm::Rs384,
    Algorithm::Rs512,
    Algorithm::Ps256,
    Algorithm::Ps384,
    Algorithm::Ps512,
    Algorithm::Es256,
    Algorithm::Es384,
];

impl Algorithm {
    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
        }
    }

    /// Parses a header `alg`, refusing `none`, HMAC and everything not allowed.
    pub fn parse(alg: &str) -> Result<Algorithm, OidcError> {
        if let Some(a) = ALLOWED.iter().find(|a| a.name() == alg) {
            return Ok(*a);
        }
        let allowed = ALLOWED.map(Algorithm::name).join(", ");
        Err(OidcError::Algorithm(if alg.eq_ignore_ascii_case("none") {
            format!("alg {alg:?}: unsigned tokens are never accepted")
        } else if alg.len() >= 2 && alg.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS")) {
            format!(
                "alg {alg:?}: HMAC tokens are never accepted (a shared-secret signature proves \
                     nothing about the issuer); allowed: {allowed}"
            )
        } else {
            format!("alg {alg:?} is not supported; allowed: {allowed}")
        }))
    }

    /// Whether `material` is the right kind of key for this algorithm.
    fn fits(self, material: &KeyMaterial) -> Result<(), String> {
        match (self, material) {
            (_, KeyMaterial::Unusable(why)) => Err(format!("the key is unusable: {why}")),
            (
                Algorithm::Rs256
                | Algorithm::Rs384
                | Algorithm::Rs512
                | Algorithm::Ps256
                | Algorithm::Ps384
                | Algorithm::Ps512,
                KeyMaterial::Rsa { .. },
            ) => Ok(()),
            (Algorithm::Es256, KeyMaterial::Ec { curve, .. }) if *curve == Curve::P256 => Ok(()),
            (Algorithm::Es384, KeyMaterial::Ec { curve, .. }) if *curve == Curve::P384 => Ok(()),
            (alg, KeyMaterial::Ec { curve, .. }) => Err(format!(
                "{} needs {}, the key is an EC key on {curve:?}",
                alg.name(),
                alg.key_kind()
            )),
            (alg, KeyMaterial::Rsa { .. }) => Err(format!(
                "{} needs {}, the key is an RSA key",
                alg.name(),
                alg.key_kind()
            )),
        }
    }

    fn key_kind(self) -> &'static str {
        match self {
            Algorithm::Es256 => "an EC P-256 key",
            Algorithm::Es384 => "an EC P-384 key",
            _ => "an RSA key",
        }
    }

    fn check(self, material: &KeyMaterial, message: &[u8], signature: &[u8]) -> bool {
        use ring::signature as sig;
        match material {
            KeyMaterial::Rsa { n, e } => {
                let params: &sig::RsaParameters = match self {
                    Algorithm::Rs256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::Rs384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::Rs512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::Ps256 => &sig::RSA_PSS_2048_8192_SHA256,
                    Algorithm::Ps384 => &sig::RSA_PSS_2048_8192_SHA384,
                    Algorithm::Ps512 => &sig::RSA_PSS_2048_8192_SHA512,
                    Algorithm::Es256 | Algorithm::Es384 => return false,
                };
                sig::RsaPublicKeyComponents { n, e }
                    .verify(params, message, signature)
                    .is_ok()
            }
            KeyMaterial::Ec { point, .. } => {
                let alg: &'static dyn sig::VerificationAlgorithm = match self {
                    Algorithm::Es256 => &sig::ECDSA_P256_SHA256_FIXED,
                    Algorithm::Es384 => &sig::ECDSA_P384_SHA384_FIXED,
                    _ => return false,
                };
                sig::UnparsedPublicKey::new(alg, point)
                    .verify(message, signature)
                    .is_ok()
            }
            KeyMaterial::Unusable(_) => false,
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: Option<Value>,
    kid: Option<Value>,
    crit: Option<Value>,
}

/// A token whose header has been read and whose signature has not been checked yet.
#[derive(Debug, Clone)]
pub struct UnverifiedToken {
    algorithm: Algorithm,
    kid: Option<String>,
    signing_input: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl UnverifiedToken {
    /// The header `kid`, which selects the key (and may trigger a JWKS refresh).
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The header `alg`.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The payload's `iss` **before** any check, for refusing early only: a token naming
    /// another issuer is refused before keys are looked up (so it never triggers a JWKS
    /// fetch). Nothing accepted is ever read from here. `None` when the payload is not a JSON
    /// object with a string `iss` (verification then reports it).
    pub fn unverified_issuer(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Iss {
            iss: Option<Value>,
        }
        match serde_json::from_slice::<Iss>(&self.payload).ok()?.iss? {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

fn part(name: &str, s: &str) -> Result<Vec<u8>, OidcError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| OidcError::Malformed(format!("the {name} is not base64url without padding")))
}

/// Reads a compact JWS: three base64url parts, a JSON header with an allowed `alg`. The
/// payload is decoded but not interpreted (that waits for the signature).
pub fn parse(token: &str) -> Result<UnverifiedToken, OidcError> {
    let token = token.trim_matches(|c: char| c.is_ascii_whitespace());
    if token.is_empty() {
        return Err(OidcError::Malformed("the token is empty".into()));
    }
    if token.len() > MAX_TOKEN_CHARS {
        return Err(OidcError::Malformed(format!(
            "the token is longer than {MAX_TOKEN_CHARS} characters"
        )));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
        return Err(OidcError::Malformed(if parts.len() == 5 {
            "the token is encrypted (JWE, five parts); a signed ID token (JWS, three parts) is \
             expected"
                .into()
        } else {
            format!(
                "the token has {} part(s); a compact JWS has three separated by '.'",
                parts.len()
            )
        }));
    };
    let header_bytes = part("header", header_b64)?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|e| OidcError::Malformed(format!("the header is not a JSON object: {e}")))?;
    if header.crit.is_some() {
        return Err(OidcError::Algorithm(
            "the header marks extensions as critical (crit); none is supported".into(),
        ));
    }
    let algorithm = match header.alg {
        Some(Value::String(a)) => Algorithm::parse(&a)?,
        Some(_) => {
            return Err(OidcError::Malformed(
                "the header alg is not a string".into(),
            ));
        }
        None => return Err(OidcError::Malformed("the header has no alg".into())),
    };
    let kid = match header.kid {
        None => None,
        Some(Value::String(k)) => Some(k),
        Some(_) => {
            return Err(OidcError::Malformed(
                "the header kid is not a string".into(),
            ));
        }
    };
    Ok(UnverifiedToken {
        algorithm,
        kid,
        signing_input: format!("{header_b64}.{payload_b64}"),
        payload: part("payload", payload_b64)?,
        signature: part("signature", signature_b64)?,
    })
}

/// What the token must satisfy.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// The provider's IssuerUrl (`iss` must equal it).
    pub issuer: &'a str,
    /// The provider's ClientIds (`aud` must contain one).
    pub client_ids: &'a [String],
    /// Current time, from the service clock.
    pub now: DateTime<Utc>,
    /// Allowed clock difference.
    pub skew: Duration,
    /// IssuanceLimitTime: `iat` may be at most this old.
    pub max_age: Option<Duration>,
    /// The nonce of the sign-in request (browser flow); `None` skips the check.
    pub nonce: Option<&'a str>,
}

/// A token whose signature, issuer, audience and times were checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedIdToken {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud`, all values.
    pub audiences: Vec<String>,
    /// The `aud` values that are registered ClientIds (at least one).
    pub client_ids: Vec<String>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `nbf`, when present.
    pub not_before: Option<DateTime<Utc>>,
    /// `nonce`, when present.
    pub nonce: Option<String>,
    /// The algorithm that verified.
    pub algorithm: Algorithm,
    /// The kid of the key that verified.
    pub key_id: Option<String>,
    /// Every claim of the payload (role or user-name claims for browser sign-in).
    pub claims: Map<String, Value>,
    proof: Proof,
}

/// Private: only this module can construct a [`VerifiedIdToken`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Proof;

impl VerifiedIdToken {
    /// A string claim, if present and a string.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// Finds the key for `token` and checks the signature. Returns the key used.
fn check_signature<'k>(token: &UnverifiedToken, keys: &'k JwkSet) -> Result<&'k Jwk, OidcError> {
    let alg = token.algorithm;
    let named: Vec<&Jwk> = match &token.kid {
        Some(kid) => keys
            .keys
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid))
            .collect(),
        None => keys.keys.iter().collect(),
    };
    if named.is_empty() {
        return Err(OidcError::UnknownKey {
            kid: token
                .kid
                .as_deref()
                .map_or_else(|| "(the token has no kid)".into(), |k| format!("{k:?}")),
            available: keys.kids_text(),
        });
    }
    let mut refusals = Vec::new();
    let mut usable = Vec::new();
    for k in named {
        let fits = match (&k.key_use, &k.alg) {
            (Some(u), _) if u != "sig" => Err(format!("the key's use is {u:?}, not \"sig\"")),
            (_, Some(a)) if a != alg.name() => Err(format!(
                "the key is for alg {a:?}, the token says {}",
                alg.name()
            )),
            _ => alg.fits(&k.material),
        };
        match fits {
            Ok(()) => usable.push(k),
            Err(why) => refusals.push(format!("key {}: {why}", k.kid_text())),
        }
    }
    if usable.is_empty() {
        return Err(OidcError::KeyMismatch(refusals.join("; ")));
    }
    let message = token.signing_input.as_bytes();
    usable
        .iter()
        .find(|k| alg.check(&k.material, message, &token.signature))
        .copied()
        .ok_or_else(|| {
            OidcError::Signature(
                usable
                    .iter()
                    .map(|k| k.kid_text())
                    .collect::<Vec<_>>()
                    .join(", ")
                    + &format!(" ({})", alg.name()),
            )
        })
}

#[derive(Deserialize)]
struct Registered {
    iss: Option<Value>,
    sub: Option<Value>,
    aud: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    nonce: Option<Value>,
}

fn claim_err(claim: &'static str, message: impl Into<String>) -> OidcError {
    OidcError::Claim {
        claim,
        message: message.into(),
    }
}

fn string(claim: &'static str, v: Option<Value>) -> Result<String, OidcError> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(claim_err(claim, "it is empty")),
        Some(_) => Err(claim_err(claim, "it is not a string")),
        None => Err(claim_err(claim, "it is missing")),
    }
}

fn time(claim: &'static str, v: Option<Value>) -> Result<Option<DateTime<Utc>>, OidcError> {
    let Some(v) = v else { return Ok(None) };
    let secs = match &v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        }),
        _ => None,
    }
    .ok_or_else(|| claim_err(claim, "it is not a NumericDate (seconds since 1970)"))?;
    DateTime::from_timestamp(secs, 0)
        .filter(|t| secs >= 0 && t.timestamp() < 253_402_300_800)
        .map(Some)
        .ok_or_else(|| claim_err(claim, format!("{secs} is out of range")))
}

fn required_time(claim: &'static str, v: Option<Value>) -> Result<DateTime<Utc>, OidcError> {
    time(claim, v)?.ok_or_else(|| claim_err(claim, "it is missing"))
}

/// Checks the signature with `keys`, then the claims against `exp`.
pub fn verify(
    token: &UnverifiedToken,
    keys: &JwkSet,
    exp: &Expectations<'_>,
) -> Result<VerifiedIdToken, OidcError> {
    let key = check_signature(token, keys)?;

    // Only the verified payload is read from here on.
    let claims: Map<String, Value> = serde_json::from_slice(&token.payload)
        .map_err(|e| OidcError::Malformed(format!("the payload is not a JSON object: {e}")))?;
    let r: Registered = serde_json::from_slice(&token.payload)
        .map_err(|e| OidcError::Malformed(format!("the payload's claims are ambiguous: {e}")))?;

    let issuer = string("iss", r.iss)?;
    if issuer != exp.issuer {
        return Err(OidcError::Issuer {
            got: issuer,
            expected: exp.issuer.to_string(),
        });
    }
    let audiences: Vec<String> = match r.aud {
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(claim_err("aud", "an array member is not a string")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(claim_err("aud", "it is neither a string nor an array")),
        None => return Err(claim_err("aud", "it is missing")),
    };
    let client_ids: Vec<String> = audiences
        .iter()
        .filter(|a| exp.client_ids.contains(a))
        .cloned()
        .collect();
    if client_ids.is_empty() {
        return Err(OidcError::Audience {
            got: audiences,
            expected: exp.client_ids.to_vec(),
        });
    }
    let subject = string("sub", r.sub)?;
    let expires_at = required_time("exp", r.exp)?;
    let issued_at = required_time("iat", r.iat)?;
    let not_before = time("nbf", r.nbf)?;
    let now = exp.now;
    let skew_seconds = exp.skew.num_seconds();
    if now >= expires_at + exp.skew {
        return Err(OidcError::Expired {
            exp: format_iso8601(expires_at),
            now: format_iso8601(now),
            skew_seconds,
        });
    }
    if let Some(nbf) = not_before
        && nbf > now + exp.skew
    {
        return Err(OidcError::NotYetValid {
            nbf: format_iso8601(nbf),
            now: format_iso8601(now),
            skew_seconds,
        });
    }
    if issued_at > now + exp.skew {
        return Err(OidcError::IssuedInFuture {
            iat: format_iso8601(issued_at),
            now: format_iso8601(now),
            skew_seconds,
        });
    }
    if let Some(max_age) = exp.max_age
        && now - issued_at > max_age + exp.skew
    {
        return Err(OidcError::TooOld {
            iat: format_iso8601(issued_at),
            now: format_iso8601(now),
            limit_hours: max_age.num_hours(),
        });
    }
    let nonce = match r.nonce {
        None => None,
        Some(Value::String(n)) => Some(n),
        Some(_) => return Err(claim_err("nonce", "it is not a string")),
    };
    if let Some(expected) = exp.nonce
        && nonce.as_deref() != Some(expected)
    {
        return Err(OidcError::Nonce);
    }
    Ok(VerifiedIdToken {
        issuer,
        subject,
        audiences,
        client_ids,
        expires_at,
        issued_at,
        not_before,
        nonce,
        algorithm: token.algorithm,
        key_id: key.kid.clone(),
        claims,
        proof: Proof,
    })
}
