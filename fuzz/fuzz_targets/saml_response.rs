//! Arbitrary bytes -> saml::response::validate_response (test IdP key, fixed
//! time 2026-11-22T12:00:00Z) and, when UTF-8, saml::response::decode then
//! validate_response on the decoded bytes. Must never panic; an accepted
//! response must name an assertion whose signature verifies on its own.
#![no_main]

#[path = "keys.rs"]
mod keys;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(msg) = rambridge::fuzzing::saml_response(data, keys::idp_keys()) {
        panic!("{msg}");
    }
});
