//! Wildcard matcher for actions, resources and `StringLike` values.
//!
//! `*` matches any run of characters (including none), `?` matches exactly
//! one Unicode scalar value; every other character matches itself. There is
//! no escape syntax. Patterns are compiled once (at parse time) into a small
//! token list; matching is the greedy two-pointer algorithm that, on a
//! mismatch, backtracks only to the most recent `*`. That bounds the work by
//! O(pattern × text) in the worst case, uses no recursion and no allocation.

/// One element of a compiled wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
    /// A literal character.
    Lit(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Compiled {
    /// The pattern consists only of `*`: matches everything.
    All,
    /// No wildcard at all: plain comparison.
    Exact,
    /// General case.
    Glob(Box<[Token]>),
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    ignore_ascii_case: bool,
    compiled: Compiled,
}

impl Pattern {
    /// Compiles `pattern`. With `ignore_ascii_case`, ASCII letters compare
    /// case-insensitively (used for actions); otherwise matching is exact
    /// (resources, `StringLike`).
    pub fn new(pattern: &str, ignore_ascii_case: bool) -> Self {
        let compiled = if !pattern.is_empty() && pattern.chars().all(|c| c == '*') {
            Compiled::All
        } else if !pattern.contains(['*', '?']) {
            Compiled::Exact
        } else {
            let mut tokens: Vec<Token> = Vec::with_capacity(pattern.len());
            for c in pattern.chars() {
                let token = match c {
                    '*' => Token::Star,
                    '?' => Token::One,
                    other => Token::Lit(other),
                };
                // Consecutive stars are equivalent to one.
                if token == Token::Star && tokens.last() == Some(&Token::Star) {
                    continue;
                }
                tokens.push(token);
            }
            Compiled::Glob(tokens.into_boxed_slice())
        };
        Pattern {
            source: pattern.to_owned(),
            ignore_ascii_case,
            compiled,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches the whole of `text`.
    pub fn matches(&self, text: &str) -> bool {
        match &self.compiled {
            Compiled::All => true,
            Compiled::Exact if self.ignore_ascii_case => self.source.eq_ignore_ascii_case(text),
            Compiled::Exact => self.source == text,
            Compiled::Glob(tokens) => glob(tokens, text, self.ignore_ascii_case),
        }
    }
}

/// Matches `text` against `pattern` (both as written) case-sensitively.
/// Convenience wrapper that compiles on every call; hot paths keep a
/// [`Pattern`] instead.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    Pattern::new(pattern, false).matches(text)
}

fn chars_equal(a: char, b: char, ignore_ascii_case: bool) -> bool {
    if ignore_ascii_case {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Greedy two-pointer match with backtracking to the last star.
fn glob(tokens: &[Token], text: &str, ignore_ascii_case: bool) -> bool {
    // `p` indexes `tokens`; `t` is a byte offset into `text`, always on a
    // char boundary.
    let mut p = 0usize;
    let mut t = 0usize;
    // After a `*` at tokens[p - 1]: (token index after the star, byte offset
    // where the text following the star's run starts).
    let mut resume: Option<(usize, usize)> = None;
    loop {
        let rest = text.get(t..).unwrap_or("");
        let Some(c) = rest.chars().next() else {
            // Text exhausted: the remaining pattern must be only stars.
            return tokens
                .get(p..)
                .is_none_or(|tail| tail.iter().all(|tok| *tok == Token::Star));
        };
        match tokens.get(p) {
            Some(Token::Star) => {
                p += 1;
                resume = Some((p, t));
                continue;
            }
            Some(Token::One) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            Some(Token::Lit(l)) if chars_equal(*l, c, ignore_ascii_case) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        // Mismatch (or pattern exhausted with text left): let the last star
        // swallow one more character and retry from just after it.
        let Some((star_p, star_t)) = resume else {
            return false;
        };
        let Some(skipped) = text.get(star_t..).and_then(|s| s.chars().next()) else {
            return false;
        };
        let next_t = star_t + skipped.len_utf8();
        resume = Some((star_p, next_t));
        p = star_p;
        t = next_t;
    }
}
