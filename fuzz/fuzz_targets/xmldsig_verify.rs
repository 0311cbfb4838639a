//! Arbitrary bytes -> xmldsig::Document::parse -> verify_element on the root
//! and on every element with an `ID` attribute, plus
//! xmldsig::fuzzing::fuzz_parse_and_verify. Must never panic.
#![no_main]

#[path = "keys.rs"]
mod keys;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rambridge::fuzzing::xmldsig_verify(data, keys::idp_keys());
});
