//! Arbitrary bytes -> saml::metadata::parse_idp_metadata (no entity ID, and
//! entity ID "x") at a fixed time. Must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rambridge::fuzzing::saml_metadata(data);
});
