//! Arbitrary bytes -> oidc::token::parse + verify against a fixed key set (the public JWKs
//! embedded below), at a fixed time. Must never panic; an accepted token must satisfy the
//! expectations it was checked against.
#![no_main]

use std::sync::OnceLock;

use rambridge::oidc::jwks::JwkSet;

/// Fixed public keys (P-256 kid "fuzz", RSA-2048 kid "rsa") generated once for this target; their
/// private halves were discarded, so only refusals are reachable, which is what is fuzzed.
const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"fuzz","alg":"ES256","use":"sig","x":"L37phQG_kMbZd3R_LNh6D2BO2ysncEwyrXpHSc8bb64","y":"miDrUcecf2mXdwxd6L6MIR1_Ap2fvoy0gOEhfvyW6ac"},{"kty":"RSA","kid":"rsa","n":"sSU_dkPw2mN1wo5qoaPw9jm7UNnrEW4wQBBvYKhZrya2QY8hkS2mFaaSvw7_yEZYMXwC6IkCvr8IC2Dw6gqWXjV3yOStd0d4jn7yZu5OohOJkVKO2pP1KwRqiXav0EjkqA80p3bNcuf5cDqJYa54K5FKBz72XGTKEbCDQduM1bub6K74CKFSEAY_NGd5ja9vsnU3HrCq_UIJaTwl4gvDjbcrmLNzw8LTXP-nJLpVEIps55EWDXZGU1DEbnmZ3sGv_GRfndxea-dQeUQw3tYrtYWGtWqmU7zYGj3VfObhxshn1Nwy6oANi5BipDmUD1oGE0xPzbgyx4rxJkQwhkhkzQ","e":"AQAB"}]}"#;

fn keys() -> &'static JwkSet {
    static KEYS: OnceLock<JwkSet> = OnceLock::new();
    KEYS.get_or_init(|| JwkSet::parse(JWKS.as_bytes()).expect("the embedded JWKS parses"))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = rambridge::fuzzing::oidc_token(data, keys()) {
        panic!("{e}");
    }
});
