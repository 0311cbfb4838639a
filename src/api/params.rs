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

fn parse_pairs(input: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for piece in input.split(|b| *b == b'&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = match piece.iter().position(|b| *b == b'=') {
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

/// Decodes one form-encoded component strictly.
pub fn decode_component(raw: &[u8]) -> Result<String, ApiError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|c| (*c as char).to_digit(16));
                let lo = raw.get(i + 2).and_then(|c| (*c as char).to_digit(16));
                match (hi, lo) {
                    (Some(h), Some(l)) => bytes.push((h * 16 + l) as u8),
                    _ => {
                        return Err(ApiError::malformed_request(
                            "Malformed percent-encoding in the request parameters.",
                        ));
                    }
                }
                i += 2;
            }
            _ => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::malformed_request("Request parameters must be UTF-8."))
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
        for q in ["A=%zz", "A=%4", "A=%", "A=%FF", "=x"] {
            assert!(Params::parse(Some(q), None).is_err(), "{q}");
        }
    }
}
