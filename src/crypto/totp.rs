//! Virtual MFA primitives: the seeds, codes and enrolment artefacts behind
//! RAM's `CreateVirtualMFADevice`, `BindMFADevice` and MFA login.
//!
//! This module owns:
//! - seed generation (160-bit, from the operating system's CSPRNG via `ring`);
//! - RFC 4648 base32 encoding/decoding of seeds (the form users type into an
//!   authenticator app);
//! - HOTP ([RFC 4226]) and TOTP ([RFC 6238]) code computation with HMAC-SHA-1,
//!   6 digits, a 30-second step and `T0 = 0`;
//! - verification of one code, or of two consecutive codes as `BindMFADevice`
//!   requires (`AuthenticationCode1` then `AuthenticationCode2`);
//! - the `otpauth://` Key URI and its QR code as a PNG image.
//!
//! Invariants:
//! - Nothing here reads the wall clock: every time-dependent function takes
//!   `unix_seconds` from the caller, so tests and replays are deterministic.
//! - Accepted clock skew is exactly ±1 step ([`STEP_SECONDS`]) around the
//!   step that contains `unix_seconds`.
//! - Verification returns the step index of the (last) accepted code. The
//!   caller must persist it and refuse any later code whose step is not
//!   strictly greater, otherwise a code could be replayed within its window.
//! - Submitted codes are compared in constant time (see [`verify`]); every
//!   candidate step in the window is computed and compared, with no early exit.
//! - Error values never contain seed material or submitted codes.
//!
//! [RFC 4226]: https://www.rfc-editor.org/rfc/rfc4226
//! [RFC 6238]: https://www.rfc-editor.org/rfc/rfc6238

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Length in bytes of a generated seed (160 bits, as RFC 4226 recommends).
pub const SEED_LEN: usize = 20;

/// Number of decimal digits in a code.
pub const DIGITS: u32 = 6;

/// Length of one TOTP time step, in seconds (RFC 6238 `X`).
pub const STEP_SECONDS: u64 = 30;

/// Number of steps of clock skew tolerated on either side of "now".
const SKEW_STEPS: u64 = 1;

/// `10^DIGITS`, the modulus applied to the dynamically truncated HMAC.
const MODULUS: u32 = 10u32.pow(DIGITS);

/// `DIGITS` as a length, for fixed-size code buffers.
const CODE_LEN: usize = DIGITS as usize;

/// RFC 4648 base32 alphabet.
const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Side of one QR module in pixels.
const QR_MODULE_PIXELS: usize = 4;

/// Width of the quiet zone around the QR symbol, in modules.
const QR_QUIET_ZONE_MODULES: usize = 4;

/// Errors from the MFA primitives.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TotpError {
    /// Input is malformed (not 6 ASCII digits, bad base32, ...).
    #[error("malformed input: {0}")]
    Format(String),
    /// The code(s) are well formed but do not match the seed in the window.
    #[error("authentication code mismatch")]
    Mismatch,
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Random,
    /// Encoding the QR code or PNG image failed.
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// Generates a fresh 160-bit seed with the operating system's CSPRNG
/// (`ring::rand::SystemRandom`).
pub fn generate_seed() -> Result<[u8; SEED_LEN], TotpError> {
    let mut seed = [0u8; SEED_LEN];
    SystemRandom::new()
        .fill(&mut seed)
        .map_err(|_| TotpError::Random)?;
    Ok(seed)
}

/// Encodes `bytes` as RFC 4648 base32: uppercase alphabet, no `=` padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(
                BASE32_ALPHABET[usize::from((buffer >> bits) & 0x1f)],
            ));
        }
        // Keep only the bits not yet emitted so the buffer never overflows.
        buffer &= (1u16 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[usize::from((buffer << (5 - bits)) & 0x1f)],
        ));
    }
    out
}

/// Decodes RFC 4648 base32.
///
/// Accepts upper and lower case, ignores ASCII spaces and `=` padding
/// anywhere, and rejects every other character. Also rejects lengths that no
/// encoder can produce (1, 3 or 6 symbols modulo 8), which indicate a
/// truncated secret. The error names the offending position, never the text.
pub fn base32_decode(text: &str) -> Result<Vec<u8>, TotpError> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    let mut symbols: usize = 0;
    for (position, ch) in text.chars().enumerate() {
        let value = match ch {
            ' ' | '=' => continue,
            'A'..='Z' => u16::from(ch as u8 - b'A'),
            'a'..='z' => u16::from(ch as u8 - b'a'),
            '2'..='7' => u16::from(ch as u8 - b'2') + 26,
            _ => {
                return Err(TotpError::Format(format!(
                    "invalid base32 character at position {position}"
                )));
            }
        };
        symbols += 1;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // Truncation to the low 8 bits is the point of this cast.
            out.push((buffer >> bits) as u8);
            buffer &= (1u16 << bits) - 1;
        }
    }
    if matches!(symbols % 8, 1 | 3 | 6) {
        return Err(TotpError::Format(
            "invalid base32 length (truncated input)".to_owned(),
        ));
    }
    Ok(out)
}

/// Computes the RFC 4226 HOTP value of `seed` at `counter`: HMAC-SHA-1,
/// dynamic truncation, reduced to [`DIGITS`] decimal digits.
pub fn hotp(seed: &[u8], counter: u64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    // A SHA-1 tag is 20 bytes, so `offset + 3 <= 18` is always in range.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    binary % MODULUS
}

/// Returns the TOTP code of `seed` at `unix_seconds`, zero-padded to
/// [`DIGITS`] characters.
pub fn code_at(seed: &[u8], unix_seconds: u64) -> String {
    format!(
        "{:0width$}",
        hotp(seed, unix_seconds / STEP_SECONDS),
        width = CODE_LEN
    )
}

/// Checks two consecutive codes (Alibaba BindMFADevice: AuthenticationCode1
/// then AuthenticationCode2).
///
/// Accept when code1 is the code of step t and code2 the code of step t+1,
/// for t within ±1 step of now (clock skew). Returns the step index of code2
/// so the caller can refuse re-use of that step later.
///
/// Both codes must be exactly 6 ASCII digits ([`TotpError::Format`]). Two
/// identical codes are always refused ([`TotpError::Mismatch`]), even in the
/// one-in-a-million case where a device really shows the same code twice: the
/// user just waits for the next step. If several `t` match (a chance
/// collision), the largest step is returned, which is the safer value for
/// replay protection.
pub fn verify_consecutive(
    seed: &[u8],
    code1: &str,
    code2: &str,
    unix_seconds: u64,
) -> Result<u64, TotpError> {
    let first = parse_code(code1)?;
    let second = parse_code(code2)?;
    if ct_eq(&first, &second) {
        return Err(TotpError::Mismatch);
    }
    let mut accepted = None;
    for step in window(unix_seconds) {
        let Some(next) = step.checked_add(1) else {
            continue;
        };
        // Evaluate both comparisons unconditionally (no short-circuit).
        let matched =
            ct_eq(&first, &code_bytes(seed, step)) & ct_eq(&second, &code_bytes(seed, next));
        if matched {
            accepted = Some(next);
        }
    }
    accepted.ok_or(TotpError::Mismatch)
}

/// Checks one code within ±1 step; returns its step. Codes must be exactly 6
/// ASCII digits (else TotpError::Format).
///
/// Constant time: the submitted code and each candidate are fixed-length
/// 6-byte arrays compared by OR-folding the XOR of every byte pair (no early
/// exit, result passed through `std::hint::black_box` to discourage the
/// optimiser from reintroducing one), and every step in the window is
/// compared regardless of earlier matches. `ring::constant_time` is not used
/// because it is deprecated. If several steps match (a chance collision), the
/// largest is returned.
pub fn verify(seed: &[u8], code: &str, unix_seconds: u64) -> Result<u64, TotpError> {
    let submitted = parse_code(code)?;
    let mut accepted = None;
    for step in window(unix_seconds) {
        if ct_eq(&submitted, &code_bytes(seed, step)) {
            accepted = Some(step);
        }
    }
    accepted.ok_or(TotpError::Mismatch)
}

/// Builds the Key URI an authenticator app scans:
/// `otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30`.
///
/// Issuer and account name are percent-encoded (UTF-8, every byte outside
/// RFC 3986 "unreserved" becomes `%XX`, so a space is `%20`, `@` is `%40` and
/// a `:` inside either part is `%3A`); the separating colon stays literal.
/// The secret is the unpadded base32 of `seed`.
pub fn otpauth_uri(issuer: &str, account_name: &str, seed: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account_name),
        secret = base32_encode(seed),
    )
}

/// PNG image (bytes) of the QR code for `text`: black modules on white, a
/// 4-module quiet zone, each module N pixels (N = 4), 1-bit grayscale PNG via
/// the `png` crate.
///
/// The error-correction level is the `qrcode` crate's default (M). Text too
/// long for any QR version yields [`TotpError::Encode`].
pub fn qr_png(text: &str) -> Result<Vec<u8>, TotpError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| TotpError::Encode(format!("QR code: {e}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QR_QUIET_ZONE_MODULES) * QR_MODULE_PIXELS;
    let side_u32 =
        u32::try_from(side).map_err(|_| TotpError::Encode("QR image too large".to_owned()))?;

    // 1-bit grayscale: bit 1 is white, bit 0 is black; rows are padded to a byte.
    let row_bytes = side.div_ceil(8);
    let mut pixels = vec![0u8; row_bytes * side];
    for y in 0..side {
        let module_y = (y / QR_MODULE_PIXELS).checked_sub(QR_QUIET_ZONE_MODULES);
        for x in 0..side {
            let module_x = (x / QR_MODULE_PIXELS).checked_sub(QR_QUIET_ZONE_MODULES);
            let dark = match (module_x, module_y) {
                (Some(mx), Some(my)) if mx < modules && my < modules => {
                    colors.get(my * modules + mx) == Some(&qrcode::Color::Dark)
                }
                _ => false,
            };
            if !dark {
                pixels[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }

    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, side_u32, side_u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder
            .write_header()
            .map_err(|e| TotpError::Encode(format!("PNG header: {e}")))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| TotpError::Encode(format!("PNG data: {e}")))?;
        writer
            .finish()
            .map_err(|e| TotpError::Encode(format!("PNG finish: {e}")))?;
    }
    Ok(png_bytes)
}

/// Steps `now - 1 ..= now + 1` (clamped at 0 and `u64::MAX`).
fn window(unix_seconds: u64) -> std::ops::RangeInclusive<u64> {
    let now = unix_seconds / STEP_SECONDS;
    now.saturating_sub(SKEW_STEPS)..=now.saturating_add(SKEW_STEPS)
}

/// The code of `seed` at `step` as fixed-length ASCII digits.
fn code_bytes(seed: &[u8], step: u64) -> [u8; CODE_LEN] {
    let mut value = hotp(seed, step);
    let mut out = [b'0'; CODE_LEN];
    for slot in out.iter_mut().rev() {
        // `value % 10 < 10`, so the cast cannot truncate.
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out
}

/// Parses a submitted code: exactly [`DIGITS`] ASCII digits.
fn parse_code(code: &str) -> Result<[u8; CODE_LEN], TotpError> {
    let bytes = code.as_bytes();
    if bytes.len() != CODE_LEN || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(TotpError::Format(format!(
            "authentication code must be exactly {DIGITS} ASCII digits"
        )));
    }
    let mut out = [0u8; CODE_LEN];
    out.copy_from_slice(bytes);
    Ok(out)
}

/// Constant-time equality of two fixed-length codes (XOR/OR fold, no early exit).
fn ct_eq(a: &[u8; CODE_LEN], b: &[u8; CODE_LEN]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SEED: &[u8] = b"12345678901234567890";

    /// SplitMix64: a tiny deterministic PRNG for property-style loops.
    struct SplitMix64(u64);

    impl SplitMix64 {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    #[test]
    fn hotp_rfc4226_appendix_d() {
        let expected = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SEED, counter as u64), *want, "counter {counter}");
        }
    }

    #[test]
    fn totp_rfc6238_appendix_b_sha1() {
        // 8-digit values from RFC 6238 Appendix B (SHA1 rows); we use the last 6.
        let vectors: [(u64, &str); 6] = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, eight) in vectors {
            assert_eq!(code_at(RFC_SEED, time), eight[2..], "T = {time}");
        }
    }

    #[test]
    fn code_at_is_zero_padded() {
        // 1111111109 -> 081804 has a leading zero; 1234567890 -> 005924 two.
        assert_eq!(code_at(RFC_SEED, 1_111_111_109), "081804");
        assert_eq!(code_at(RFC_SEED, 1_234_567_890), "005924");
        assert_eq!(code_at(RFC_SEED, 1_234_567_890).len(), 6);
    }

    #[test]
    fn base32_rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn base32_decode_accepts_padding_lowercase_and_spaces() {
        assert_eq!(base32_decode("MZXW6YQ=").unwrap(), b"foob");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw 6ytb oi").unwrap(), b"foobar");
        assert_eq!(base32_decode("MY======").unwrap(), b"f");
    }

    #[test]
    fn base32_decode_rejects_invalid_characters() {
        for bad in [
            "1", "8", "!", "MZXW1", "MZXW8", "MZ!W6", "MZ-W6", "MZXW6\n", "MZÜW6",
        ] {
            assert!(
                matches!(base32_decode(bad), Err(TotpError::Format(_))),
                "accepted {bad:?}"
            );
        }
    }

    #[test]
    fn base32_decode_rejects_impossible_lengths() {
        for bad in ["M", "MZX", "MZXW6Y"] {
            assert!(
                matches!(base32_decode(bad), Err(TotpError::Format(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn base32_error_does_not_echo_input() {
        let err = base32_decode("JBSWY3DP!").unwrap_err();
        assert!(!err.to_string().contains("JBSWY3DP"));
    }

    #[test]
    fn base32_round_trip_random_bytes() {
        let mut rng = SplitMix64(0x005E_ED0F_7075);
        for len in 0..=64usize {
            for _ in 0..16 {
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let encoded = base32_encode(&bytes);
                assert_eq!(encoded.len(), (len * 8).div_ceil(5));
                assert!(!encoded.contains('='));
                assert_eq!(base32_decode(&encoded).unwrap(), bytes);
                assert_eq!(base32_decode(&encoded.to_lowercase()).unwrap(), bytes);
            }
        }
    }

    #[test]
    fn generate_seed_is_160_bits_and_varies() {
        let a = generate_seed().unwrap();
        let b = generate_seed().unwrap();
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert_eq!(base32_encode(&a).len(), 32);
    }

    fn code_of_step(step: u64) -> String {
        code_at(RFC_SEED, step * STEP_SECONDS)
    }

    const NOW: u64 = 1_700_000_015; // mid-step

    #[test]
    fn verify_consecutive_accepts_within_skew() {
        let n = NOW / STEP_SECONDS;
        for t in [n - 1, n, n + 1] {
            let (c1, c2) = (code_of_step(t), code_of_step(t + 1));
            assert_ne!(c1, c2);
            assert_eq!(
                verify_consecutive(RFC_SEED, &c1, &c2, NOW),
                Ok(t + 1),
                "t = {t}"
            );
        }
    }

    #[test]
    fn verify_consecutive_rejects_mismatches() {
        let n = NOW / STEP_SECONDS;
        let mismatch = |c1: String, c2: String| {
            assert_eq!(
                verify_consecutive(RFC_SEED, &c1, &c2, NOW),
                Err(TotpError::Mismatch),
                "{c1} {c2}"
            );
        };
        // Reversed order.
        mismatch(code_of_step(n + 1), code_of_step(n));
        mismatch(code_of_step(n), code_of_step(n - 1));
        // Equal codes.
        mismatch(code_of_step(n), code_of_step(n));
        mismatch(code_of_step(n + 1), code_of_step(n + 1));
        // (t, t+2).
        mismatch(code_of_step(n), code_of_step(n + 2));
        mismatch(code_of_step(n - 1), code_of_step(n + 1));
        // Pairs starting two steps away.
        mismatch(code_of_step(n + 2), code_of_step(n + 3));
        mismatch(code_of_step(n - 2), code_of_step(n - 1));
        // Right codes, wrong seed.
        let other = b"another seed of twenty";
        mismatch(code_at(other, NOW), code_at(other, NOW + STEP_SECONDS));
    }

    #[test]
    fn verify_consecutive_rejects_bad_format() {
        let good = code_of_step(NOW / STEP_SECONDS);
        for bad in [
            "",
            "12345",
            "1234567",
            "12a456",
            " 12345",
            "12345 ",
            "+12345",
            "١٢٣٤٥٦",
        ] {
            assert!(
                matches!(
                    verify_consecutive(RFC_SEED, bad, &good, NOW),
                    Err(TotpError::Format(_))
                ),
                "code1 {bad:?}"
            );
            assert!(
                matches!(
                    verify_consecutive(RFC_SEED, &good, bad, NOW),
                    Err(TotpError::Format(_))
                ),
                "code2 {bad:?}"
            );
        }
    }

    #[test]
    fn verify_accepts_plus_minus_one_step() {
        let n = NOW / STEP_SECONDS;
        for step in [n - 1, n, n + 1] {
            assert_eq!(verify(RFC_SEED, &code_of_step(step), NOW), Ok(step));
        }
        for step in [n - 2, n + 2] {
            assert_eq!(
                verify(RFC_SEED, &code_of_step(step), NOW),
                Err(TotpError::Mismatch)
            );
        }
        assert!(matches!(
            verify(RFC_SEED, "abcdef", NOW),
            Err(TotpError::Format(_))
        ));
        assert!(matches!(
            verify(RFC_SEED, "00000", NOW),
            Err(TotpError::Format(_))
        ));
    }

    #[test]
    fn verify_step_boundaries_and_epoch() {
        // Last second of step n: window is still n-1..=n+1.
        let n = NOW / STEP_SECONDS;
        let last = (n + 1) * STEP_SECONDS - 1;
        assert_eq!(verify(RFC_SEED, &code_of_step(n + 1), last), Ok(n + 1));
        // At the epoch there is no step -1; must not underflow.
        assert_eq!(verify(RFC_SEED, &code_of_step(0), 0), Ok(0));
        assert_eq!(verify(RFC_SEED, &code_of_step(1), 0), Ok(1));
        assert_eq!(
            verify_consecutive(RFC_SEED, &code_of_step(0), &code_of_step(1), 0),
            Ok(1)
        );
        // Far future: must not overflow.
        assert!(verify(RFC_SEED, "000000", u64::MAX).is_err());
    }

    #[test]
    fn otpauth_uri_encodes_label_and_issuer() {
        let seed = b"12345678901234567890";
        let uri = otpauth_uri("Acme Cloud", "alice smith@example.com", seed);
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Cloud:alice%20smith%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Cloud\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert!(uri.contains(&format!("secret={}&", base32_encode(seed))));
        // Colons, ampersands and non-ASCII inside the parts are escaped.
        let uri = otpauth_uri("A:B&C", "é?#", seed);
        assert!(uri.starts_with("otpauth://totp/A%3AB%26C:%C3%A9%3F%23?secret="));
        assert!(uri.contains("&issuer=A%3AB%26C&"));
    }

    #[test]
    fn qr_png_decodes_with_expected_geometry() {
        let text = otpauth_uri("Acme", "alice@example.com", RFC_SEED);
        let bytes = qr_png(&text).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

        let modules = qrcode::QrCode::new(text.as_bytes()).unwrap().width();
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0u8; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let side = ((modules + 8) * 4) as u32;
        assert_eq!((info.width, info.height), (side, side));
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::One);

        let white = |x: usize, y: usize| buf[y * info.line_size + x / 8] & (0x80 >> (x % 8)) != 0;
        assert!(white(0, 0), "quiet zone must be white");
        assert!(white(15, 15), "quiet zone must be white");
        assert!(!white(16, 16), "finder pattern must be black");
        // Finder pattern: module row 1 is dark, light x5, dark.
        assert!(!white(16, 20) && white(20, 20) && !white(16 + 6 * 4, 20));
        let last = side as usize - 1;
        assert!(white(last, last) && white(last, 0) && white(0, last));
    }

    #[test]
    fn qr_png_rejects_oversized_text() {
        let huge = "x".repeat(10_000);
        assert!(matches!(qr_png(&huge), Err(TotpError::Encode(_))));
    }
}
