//! Parsed documents shared by their text: [`parse_shared`] parses a given (kind, limit, text)
//! once and hands out the same [`PolicyDocument`] afterwards. A document depends on its text
//! alone, so an entry never goes stale; a changed policy is new text and parses anew. The map
//! is bounded ([`CAPACITY`] documents); parse errors are not kept.

use std::sync::{Arc, LazyLock};

use super::{DocumentKind, PolicyDocument, PolicyError, parse};
use crate::cache::BoundedMap;

/// Most documents kept (each at most a few times its text, texts at most 6144 characters).
pub const CAPACITY: usize = 512;

static PARSED: LazyLock<BoundedMap<String, Arc<PolicyDocument>>> =
    LazyLock::new(|| BoundedMap::new(CAPACITY));

fn key(text: &str, kind: DocumentKind, max_chars: usize) -> String {
    let tag = match kind {
        DocumentKind::Permission => 'P',
        DocumentKind::Trust => 'T',
    };
    let mut k = String::with_capacity(text.len() + 24);
    k.push(tag);
    k.push_str(&max_chars.to_string());
    k.push('\u{1f}');
    k.push_str(text);
    k
}

/// [`parse`], remembered: the same text (for the same kind and limit) is parsed once.
pub fn parse_shared(
    text: &str,
    kind: DocumentKind,
    max_chars: usize,
) -> Result<Arc<PolicyDocument>, PolicyError> {
    let k = key(text, kind, max_chars);
    if let Some(doc) = PARSED.get(k.as_str()) {
        return Ok(doc);
    }
    let doc = Arc::new(parse(text, kind, max_chars)?);
    PARSED.insert(k, doc.clone());
    Ok(doc)
}

/// Documents currently kept.
pub fn cached_documents() -> usize {
    PARSED.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser","Resource":"*"}]}"#;

    #[test]
    fn the_same_text_is_parsed_once_and_shared() {
        let a = parse_shared(DOC, DocumentKind::Permission, 6144).unwrap();
        let b = parse_shared(DOC, DocumentKind::Permission, 6144).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn kind_and_limit_are_part_of_the_key() {
        // As a trust policy the same text is invalid (no Principal): the cached permission
        // document must not be handed out for it.
        parse_shared(DOC, DocumentKind::Permission, 6144).unwrap();
        assert!(parse_shared(DOC, DocumentKind::Trust, 6144).is_err());
        // A limit below the text's length refuses it even though a parse is cached.
        assert!(parse_shared(DOC, DocumentKind::Permission, 10).is_err());
    }

    #[test]
    fn errors_are_returned_every_time_and_not_kept() {
        let bad = r#"{"Version":"2","Statement":[]}"#;
        for _ in 0..3 {
            assert!(parse_shared(bad, DocumentKind::Permission, 6144).is_err());
        }
        assert!(
            PARSED
                .get(key(bad, DocumentKind::Permission, 6144).as_str())
                .is_none()
        );
    }

    #[test]
    fn the_cache_stays_bounded() {
        for i in 0..(CAPACITY * 3) {
            let text = format!(
                r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ram:GetUser","Resource":"acs:ram::1:user/u{i}"}}]}}"#
            );
            parse_shared(&text, DocumentKind::Permission, 6144).unwrap();
            assert!(cached_documents() <= CAPACITY);
        }
    }
}
