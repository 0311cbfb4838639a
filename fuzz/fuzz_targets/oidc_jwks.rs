//! Arbitrary bytes -> oidc::jwks::JwkSet::parse. Must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rambridge::fuzzing::oidc_jwks(data);
});
