//! Lexing inside a start tag: the attribute list and qualified names.
//!
//! quick-xml finds where a start tag ends (quotes respected) and where its name ends; the
//! attribute list after the name is split here instead of through quick-xml's attribute
//! iterator. The tree builder needs only each attribute's name and raw value: doing that in
//! one tight loop (the closing quote found with a byte search) costs a fraction of the
//! general-purpose iterator, which was the largest single part of building the tree.
//!
//! The accepted syntax is XML 1.0's (productions 40-41): every attribute is preceded by
//! white space, `Eq` may be surrounded by white space, and the value is quoted with `"` or
//! `'`. Anything else in the tag is refused. Names are returned unchecked; the caller
//! validates them with [`qname_prefix_len`] or [`super::dom::is_ncname`].

use super::dom::{is_ncname, is_xml_space};

/// One `name="value"` pair as written: the name not yet validated, the value raw (references
/// not expanded, white space not normalised).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawAttr<'t> {
    pub(crate) key: &'t str,
    pub(crate) value: &'t str,
}

/// The attributes of a start tag, in document order. Yields one error and then stops at the
/// first malformed attribute.
#[derive(Clone, Debug)]
pub(crate) struct RawAttrs<'t> {
    rest: &'t str,
}

impl<'t> RawAttrs<'t> {
    /// `after_name` is the content of the start tag after the element name (without `<`, the
    /// name, `/` of an empty-element tag and `>`).
    pub(crate) fn new(after_name: &'t str) -> Self {
        RawAttrs { rest: after_name }
    }

    fn fail(&mut self, why: &'static str) -> Option<Result<RawAttr<'t>, &'static str>> {
        self.rest = "";
        Some(Err(why))
    }
}

/// `s` without its leading XML white space (byte-wise: white space is ASCII).
fn skip_space(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| is_xml_space(b)).count();
    s.get(n..).unwrap_or("")
}

impl<'t> Iterator for RawAttrs<'t> {
    type Item = Result<RawAttr<'t>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest;
        let body = skip_space(s);
        if body.is_empty() {
            self.rest = "";
            return None;
        }
        if body.len() == s.len() {
            return self.fail("attributes must be separated by white space");
        }
        let key_len = body
            .bytes()
            .position(|b| b == b'=' || is_xml_space(b))
            .unwrap_or(body.len());
        if key_len == 0 {
            return self.fail("'=' without an attribute name");
        }
        let (key, after_key) = body.split_at(key_len);
        let Some(after_eq) = skip_space(after_key).strip_prefix('=') else {
            return self.fail("attribute name without '=' and a value");
        };
        let quoted = skip_space(after_eq);
        let quote = match quoted.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return self.fail("attribute value without quotes"),
        };
        let inner = quoted.get(1..).unwrap_or("");
        let Some(close) = memchr::memchr(quote, inner.as_bytes()) else {
            return self.fail("attribute value without its closing quote");
        };
        // `close` is the index of an ASCII byte, hence a character boundary.
        let (Some(value), Some(rest)) = (inner.get(..close), inner.get(close + 1..)) else {
            return self.fail("attribute value without its closing quote");
        };
        self.rest = rest;
        Some(Ok(RawAttr { key, value }))
    }
}

/// Byte classes of a QName, as bit flags so that one OR over the name collects them all.
const START: u8 = 1;
const INNER: u8 = 2;
const COLON: u8 = 4;
const NON_ASCII: u8 = 8;
const INVALID: u8 = 16;

/// The class of every byte: letters and `_` may start an NCName, digits, `-` and `.` only
/// follow; bytes of non-ASCII characters are left to the character-wise check.
const QNAME_BYTES: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b >= 0x80 {
            NON_ASCII
        } else if b.is_ascii_alphabetic() || b == b'_' {
            START
        } else if b.is_ascii_digit() || b == b'-' || b == b'.' {
            INNER
        } else if b == b':' {
            COLON
        } else {
            INVALID
        };
        c += 1;
    }
    t
};

fn class(b: u8) -> u8 {
    QNAME_BYTES[b as usize]
}

/// Validates a QName (`NCName` or `NCName:NCName`) and returns its prefix length (0 when
/// unprefixed). An ASCII name, the usual case, costs one branch-free pass that ORs the byte
/// classes together, then a look at the first byte and at the byte after the colon; a name
/// with any other byte takes the character-wise path.
pub(crate) fn qname_prefix_len(q: &str) -> Option<u32> {
    let bytes = q.as_bytes();
    let seen = bytes.iter().fold(0u8, |acc, &b| acc | class(b));
    if seen & INVALID != 0 {
        return None;
    }
    if seen & NON_ASCII != 0 {
        return qname_prefix_len_unicode(q);
    }
    if class(*bytes.first()?) != START {
        return None;
    }
    if seen & COLON == 0 {
        return Some(0);
    }
    let colon = bytes.iter().position(|&b| b == b':')?;
    let local = bytes.get(colon + 1..)?;
    if class(*local.first()?) != START || local.contains(&b':') {
        return None;
    }
    u32::try_from(colon).ok()
}

/// [`qname_prefix_len`] for names with non-ASCII characters.
fn qname_prefix_len_unicode(q: &str) -> Option<u32> {
    match q.split_once(':') {
        None => is_ncname(q).then_some(0),
        Some((p, l)) => (is_ncname(p) && is_ncname(l))
            .then(|| u32::try_from(p.len()).ok())
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(s: &str) -> Result<Vec<(&str, &str)>, &'static str> {
        RawAttrs::new(s)
            .map(|a| a.map(|a| (a.key, a.value)))
            .collect()
    }

    #[test]
    fn splits_attributes_as_written() {
        assert_eq!(attrs(""), Ok(vec![]));
        assert_eq!(attrs("  \t\r\n"), Ok(vec![]));
        assert_eq!(
            attrs(" a=\"1\" b='2'\n\tp:c = \"x'y\"  d\r\n=\r\n'q\"&amp;<' "),
            Ok(vec![
                ("a", "1"),
                ("b", "2"),
                ("p:c", "x'y"),
                ("d", "q\"&amp;<")
            ])
        );
        assert_eq!(attrs(" e=\"\" é='ü'"), Ok(vec![("e", ""), ("é", "ü")]));
    }

    #[test]
    fn refuses_malformed_attribute_lists() {
        for bad in [
            "a=\"1\"",         // no white space after the element name
            " a=\"1\"b=\"2\"", // none between two attributes
            " a",
            " a ",
            " a b=\"1\"",
            " =\"1\"",
            " a=",
            " a=1",
            " a=\"1",
            " a='1\"",
            " a=\"1\" b",
        ] {
            assert!(attrs(bad).is_err(), "{bad:?} was accepted");
        }
        // One error, then the iterator stops.
        let mut it = RawAttrs::new(" a b=\"1\"");
        assert!(matches!(it.next(), Some(Err(_))));
        assert!(it.next().is_none());
    }

    #[test]
    fn qnames_are_checked_in_one_pass() {
        assert_eq!(qname_prefix_len("a"), Some(0));
        assert_eq!(qname_prefix_len("saml:Assertion"), Some(4));
        assert_eq!(qname_prefix_len("_x-1.b:y_2"), Some(6));
        assert_eq!(qname_prefix_len("é:ü"), Some(2));
        assert_eq!(qname_prefix_len("a:é"), Some(1));
        for bad in [
            "", ":", "a:", ":a", "a:b:c", "1a", "a:1b", "-a", "a:.b", "a b", "a=b", "a::b", "é:",
            ":é", "a:b:é",
        ] {
            assert_eq!(qname_prefix_len(bad), None, "{bad:?}");
        }
        // Same answers as checking both parts as NCNames, over every short ASCII string.
        let alphabet = ["a", "Z", "_", "1", "-", ".", ":", " ", "é"];
        for x in alphabet {
            for y in alphabet {
                for z in alphabet {
                    let q = format!("{x}{y}{z}");
                    let want = match q.split_once(':') {
                        None => is_ncname(&q).then_some(0),
                        Some((p, l)) => (is_ncname(p) && is_ncname(l)).then_some(p.len() as u32),
                    };
                    assert_eq!(qname_prefix_len(&q), want, "{q:?}");
                }
            }
        }
    }
}
