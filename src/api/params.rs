//! Parsing of RPC parameters from the query string and a form body (spec §1.2): strict
//! percent-decoding (`+` is a space, `%XX` must be two hex digits, the result must be UTF-8), and
//! no parameter may appear twice across query and body (parameter pollution would let the
//! signature cover one value while the action reads another).

use std::collections::BTreeMap;

use super::error::ApiError;

/// Decoded request parameters.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Query-string pairs in arrival order (v3 canonicalizes these).
    pub query: Vec<(String, String)>,
    /// Query and body merged; names are unique.
    pub all: BTreeMap<String, String>,
}

impl Params {
    /// Parses the raw query and an optional `application/x-www-form-urlencoded` body.
    pub fn parse(raw_query: Option<&str>, form_body: Option<&[u8]>) -> Result<Params, ApiError> {
        let query = parse_pairs(raw_query.unwrap_or("").as_bytes())?;
        let body = match form_body {
            Some(b) => parse_pairs(b)?,
            None => Vec::new(),
        };
        let mut all = BTreeMap::new();
        for (k, v) in query.iter().cloned().chain(body) {
            if all.insert(k.clone(), v).is_some() {
                return Err(ApiError::malformed_request(format!(
                    "The parameter {k:?} is given more than once."
                )));
            }
        }
        Ok(Params { query, all })
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all.get(name).map(String::as_str)
    }

    /// The value of `name`, or `MissingParameter.<name>` when absent or empty.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::missing_parameter(name)),
        }
    }
}

/// Splits `input` at `&` and each piece at its first `=`. The separators are found with
/// `memchr`: a query carrying a SAML response is 15 KB or more, and a byte-by-byte split was
/// 5% of an AssumeRoleWithSAML request's instructions (callgrind, docs/performance.md).
fn parse_pairs(input: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (piece, tail) = match memchr::memchr(b'&', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b""[..]),
        };
        rest = tail;
        if piece.is_empty() {
            continue;
        }
        let (name, value) = match memchr::memchr(b'=', piece) {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &b""[..]),
        };
        let name = decode_component(name)?;
        if name.is_empty() {
            return Err(ApiError::malformed_request(
                "A parameter has an empty name.",
            ));
        }
        out.push((name, decode_component(value)?));
    }
    Ok(out)
}

/// Decodes one form-encoded component strictly. Runs without `%` or `+` are copied whole.
pub fn decode_component(raw: &[u8]) -> Result<String, ApiError> {
    let malformed =
        || ApiError::malformed_request("Malformed percent-encoding in the request parameters.");
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = memchr::memchr2(b'%', b'+', rest) {
        let (run, tail) = rest.split_at(i);
        bytes.extend_from_slice(run);
        match tail {
            [b'+', after @ ..] => {
                bytes.push(b' ');
                rest = after;
            }
            [b'%', hi, lo, after @ ..] => {
                let (Some(h), Some(l)) = (hex_value(*hi), hex_value(*lo)) else {
                    return Err(malformed());
                };
                bytes.push(h << 4 | l);
                rest = after;
            }
            _ => return Err(malformed()),
        }
    }
    bytes.extend_from_slice(rest);
    String::from_utf8(bytes)
        .map_err(|_| ApiError::malformed_request("Request parameters must be UTF-8."))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let p = Params::parse(Some("Comments=sso+user+~%2A&A=%C3%A9&Empty="), None).unwrap();
        assert_eq!(p.get("Comments"), Some("sso user ~*"));
        assert_eq!(p.get("A"), Some("é"));
        assert_eq!(p.get("Empty"), Some(""));
        assert!(p.required("Empty").is_err());
    }

    #[test]
    fn merges_body_and_rejects_duplicates() {
        let p = Params::parse(Some("A=1"), Some(b"B=2")).unwrap();
        assert_eq!((p.get("A"), p.get("B")), (Some("1"), Some("2")));
        assert_eq!(p.query.len(), 1);
        let e = Params::parse(Some("A=1"), Some(b"A=2")).unwrap_err();
        assert_eq!(e.code, "InvalidParameter");
        assert!(Params::parse(Some("A=1&A=1"), None).is_err());
    }

    #[test]
    fn rejects_bad_encoding() {
        for q in [
            "A=%zz", "A=%4", "A=%", "A=%FF", "=x", "A=%+1", "A=x%g0", "A=%%41",
        ] {
            assert!(Params::parse(Some(q), None).is_err(), "{q}");
        }
    }

    /// The plain definition `parse_pairs` must agree with: split at every `&`, skip empty
    /// pieces, split each at its first `=`.
    fn reference_pairs(input: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
        let mut out = Vec::new();
        for piece in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match piece.iter().position(|b| *b == b'=') {
                Some(i) => (&piece[..i], &piece[i + 1..]),
                None => (piece, &b""[..]),
            };
            let name = decode_component(name)?;
            if name.is_empty() {
                return Err(ApiError::malformed_request("empty name"));
            }
            out.push((name, decode_component(value)?));
        }
        Ok(out)
    }

    proptest::proptest! {
        #[test]
        fn pairs_split_like_the_definition(
            input in proptest::collection::vec(
                proptest::sample::select(b"ab=&&%4+1".to_vec()), 0..40)
        ) {
            let got = parse_pairs(&input).map_err(|e| e.code);
            let want = reference_pairs(&input).map_err(|e| e.code);
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn pairs_at_the_edges() {
        let p = |s: &str| parse_pairs(s.as_bytes()).unwrap();
        assert_eq!(p(""), vec![]);
        assert_eq!(p("&&"), vec![]);
        assert_eq!(p("a"), vec![("a".into(), "".into())]);
        assert_eq!(p("a=b=c&"), vec![("a".into(), "b=c".into())]);
        assert_eq!(
            p("&a=1&&b&c="),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "".into())
            ]
        );
        assert!(parse_pairs(b"a=1&=2").is_err());
    }

    #[test]
    fn decodes_every_byte_and_long_runs() {
        // Every byte value through %XX (both hex cases), between plain runs and '+'.
        for b in 0u8..=255 {
            for enc in [format!("%{b:02X}"), format!("%{b:02x}")] {
                let raw = format!("ab+{enc}cd");
                match decode_component(raw.as_bytes()) {
                    Ok(s) if b < 0x80 => {
                        assert_eq!(s.as_bytes(), [b'a', b'b', b' ', b, b'c', b'd'])
                    }
                    Ok(s) => panic!("lone byte {b:#x} decoded to {s:?}"),
                    Err(_) => assert!(b >= 0x80, "{raw} refused"),
                }
            }
        }
        let long = "x".repeat(20_000) + "%C3%A9" + &"y".repeat(20_000);
        let d = decode_component(long.as_bytes()).unwrap();
        assert_eq!(d.len(), 40_002);
        assert!(d.contains('é'));
    }
}
