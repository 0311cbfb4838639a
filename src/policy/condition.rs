//! Condition operators: compile-time type checking of policy values and
//! evaluation against request context values.
//!
//! Semantics (for one `"<Operator>": {"<key>": values}` entry, a *clause*):
//! - a positive operator is true when ANY context value of the key matches
//!   ANY policy value; a key absent from the context makes it false;
//! - each negated operator (`StringNot*`, `NumericNotEquals`,
//!   `DateNotEquals`, `NotIpAddress`) is exactly NOT(positive counterpart),
//!   so an absent key makes it true;
//! - a context value that does not parse for the operator's type is an
//!   evaluation error (the caller decides how to fail closed).

use std::cmp::Ordering;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use ipnet::IpNet;

use super::document::{Json, invalid, quote, wrong_type};
use super::error::PolicyError;
use super::matcher::Pattern;

/// The supported condition operators (names exactly as in policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// Exact, case-sensitive string equality.
    StringEquals,
    /// NOT `StringEquals`.
    StringNotEquals,
    /// String equality ignoring (Unicode) case.
    StringEqualsIgnoreCase,
    /// NOT `StringEqualsIgnoreCase`.
    StringNotEqualsIgnoreCase,
    /// Case-sensitive wildcard match (`*`, `?`).
    StringLike,
    /// NOT `StringLike`.
    StringNotLike,
    /// Numeric (f64) equality.
    NumericEquals,
    /// NOT `NumericEquals`.
    NumericNotEquals,
    /// Context value < policy value.
    NumericLessThan,
    /// Context value <= policy value.
    NumericLessThanEquals,
    /// Context value > policy value.
    NumericGreaterThan,
    /// Context value >= policy value.
    NumericGreaterThanEquals,
    /// Same instant.
    DateEquals,
    /// NOT `DateEquals`.
    DateNotEquals,
    /// Context date before policy date.
    DateLessThan,
    /// Context date not after policy date.
    DateLessThanEquals,
    /// Context date after policy date.
    DateGreaterThan,
    /// Context date not before policy date.
    DateGreaterThanEquals,
    /// Boolean equality (`true`/`false`).
    Bool,
    /// Context address inside one of the policy addresses/CIDR blocks.
    IpAddress,
    /// NOT `IpAddress`.
    NotIpAddress,
}

impl Operator {
    /// Every operator, in documentation order.
    pub const ALL: [Operator; 21] = [
        Operator::StringEquals,
        Operator::StringNotEquals,
        Operator::StringEqualsIgnoreCase,
        Operator::StringNotEqualsIgnoreCase,
        Operator::StringLike,
        Operator::StringNotLike,
        Operator::NumericEquals,
        Operator::NumericNotEquals,
        Operator::NumericLessThan,
        Operator::NumericLessThanEquals,
        Operator::NumericGreaterThan,
        Operator::NumericGreaterThanEquals,
        Operator::DateEquals,
        Operator::DateNotEquals,
        Operator::DateLessThan,
        Operator::DateLessThanEquals,
        Operator::DateGreaterThan,
        Operator::DateGreaterThanEquals,
        Operator::Bool,
        Operator::IpAddress,
        Operator::NotIpAddress,
    ];

    /// The operator's name as written in policies.
    pub fn name(self) -> &'static str {
        match self {
            Operator::StringEquals => "StringEquals",
            Operator::StringNotEquals => "StringNotEquals",
            Operator::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Operator::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            Operator::StringLike => "StringLike",
            Operator::StringNotLike => "StringNotLike",
            Operator::NumericEquals => "NumericEquals",
            Operator::NumericNotEquals => "NumericNotEquals",
            Operator::NumericLessThan => "NumericLessThan",
            Operator::NumericLessThanEquals => "NumericLessThanEquals",
            Operator::NumericGreaterThan => "NumericGreaterThan",
            Operator::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Operator::DateEquals => "DateEquals",
            Operator::DateNotEquals => "DateNotEquals",
            Operator::DateLessThan => "DateLessThan",
            Operator::DateLessThanEquals => "DateLessThanEquals",
            Operator::DateGreaterThan => "DateGreaterThan",
            Operator::DateGreaterThanEquals => "DateGreaterThanEquals",
            Operator::Bool => "Bool",
            Operator::IpAddress => "IpAddress",
            Operator::NotIpAddress => "NotIpAddress",
        }
    }

    /// Looks an operator up by its exact (case-sensitive) name.
    pub fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether this operator is the negation of a positive one.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals
                | Operator::StringNotEqualsIgnoreCase
                | Operator::StringNotLike
                | Operator::NumericNotEquals
                | Operator::DateNotEquals
                | Operator::NotIpAddress
        )
    }
}

/// Comparison of a context value (left) against a policy value (right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds(self, ord: Option<Ordering>) -> bool {
        match (self, ord) {
            (_, None) => false,
            (Cmp::Eq, Some(o)) => o == Ordering::Equal,
            (Cmp::Lt, Some(o)) => o == Ordering::Less,
            (Cmp::Le, Some(o)) => o != Ordering::Greater,
            (Cmp::Gt, Some(o)) => o == Ordering::Greater,
            (Cmp::Ge, Some(o)) => o != Ordering::Less,
        }
    }
}

/// The positive test of a clause, with typed policy values.
#[derive(Debug, Clone)]
enum Test {
    Equals(Vec<String>),
    /// Policy values stored lowercased.
    EqualsIgnoreCase(Vec<String>),
    Like(Vec<Pattern>),
    Numeric(Cmp, Vec<f64>),
    Date(Cmp, Vec<DateTime<Utc>>),
    Bool(Vec<bool>),
    Ip(Vec<IpNet>),
}

/// One compiled `operator → key → values` entry.
#[derive(Debug, Clone)]
pub(crate) struct Clause {
    pub(crate) operator: Operator,
    /// Lowercased condition key.
    pub(crate) key: String,
    /// Path in the document, for evaluation error messages.
    pub(crate) path: String,
    test: Test,
}

/// Parses a number: a finite f64 written the way Rust's `f64::from_str`
/// accepts it (no surrounding spaces, no `inf`/`NaN`).
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Parses a date: RFC 3339 / ISO 8601 with a zone (`2024-01-31T08:00:00Z`,
/// `...+08:00`, `...+0800`, fractional seconds allowed), or a bare
/// `YYYY-MM-DD` meaning midnight UTC.
pub(crate) fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(dt) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(dt.with_timezone(&Utc));
    }
    let b = s.as_bytes();
    let date_only = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if date_only {
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc());
    }
    None
}

/// Parses `true`/`false` (ASCII case-insensitive).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses a policy-side IP value: one address (as a host network) or a CIDR
/// block (host bits are cleared).
pub(crate) fn parse_net(s: &str) -> Option<IpNet> {
    if let Ok(addr) = s.parse::<IpAddr>() {
        return Some(IpNet::from(addr));
    }
    s.parse::<IpNet>().ok().map(|n| n.trunc())
}

/// Parses a context-side address; IPv4-mapped IPv6 becomes IPv4.
pub(crate) fn parse_addr(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok().map(|a| a.to_canonical())
}

fn string_value<'a>(path: &str, v: &'a Json) -> Result<&'a str, PolicyError> {
    match v {
        Json::String(s) => Ok(s),
        other => Err(wrong_type(path, "a string", other)),
    }
}

fn typed<T>(
    items: &[(String, &Json)],
    mut convert: impl FnMut(&str, &Json) -> Result<T, PolicyError>,
) -> Result<Vec<T>, PolicyError> {
    items.iter().map(|(path, v)| convert(path, v)).collect()
}

/// Compiles one clause; `items` are the policy values with their paths.
pub(crate) fn compile(
    operator: Operator,
    key: String,
    path: String,
    items: &[(String, &Json)],
) -> Result<Clause, PolicyError> {
    use Operator as O;
    let numeric = |cmp: Cmp| -> Result<Test, PolicyError> {
        typed(items, |p, v| match v {
            Json::Number(n) if n.is_finite() => Ok(*n),
            Json::String(s) => {
                parse_number(s).ok_or_else(|| invalid(p, format!("{} is not a number", quote(s))))
            }
            other => Err(wrong_type(p, "a number or a numeric string", other)),
        })
        .map(|values| Test::Numeric(cmp, values))
    };
    let date = |cmp: Cmp| -> Result<Test, PolicyError> {
        typed(items, |p, v| {
            let s = string_value(p, v)?;
            parse_date(s).ok_or_else(|| {
                invalid(
                    p,
                    format!("{} is not a date (expected RFC 3339 such as 2024-01-31T08:00:00Z, or YYYY-MM-DD)", quote(s)),
                )
            })
        })
        .map(|values| Test::Date(cmp, values))
    };
    let test = match operator {
        O::StringEquals | O::StringNotEquals => {
            Test::Equals(typed(items, |p, v| string_value(p, v).map(str::to_owned))?)
        }
        O::StringEqualsIgnoreCase | O::StringNotEqualsIgnoreCase => {
            Test::EqualsIgnoreCase(typed(items, |p, v| {
                string_value(p, v).map(|s| s.chars().flat_map(char::to_lowercase).collect())
            })?)
        }
        O::StringLike | O::StringNotLike => Test::Like(typed(items, |p, v| {
            string_value(p, v).map(|s| Pattern::new(s, false))
        })?),
        O::NumericEquals | O::NumericNotEquals => numeric(Cmp::Eq)?,
        O::NumericLessThan => numeric(Cmp::Lt)?,
        O::NumericLessThanEquals => numeric(Cmp::Le)?,
        O::NumericGreaterThan => numeric(Cmp::Gt)?,
        O::NumericGreaterThanEquals => numeric(Cmp::Ge)?,
        O::DateEquals | O::DateNotEquals => date(Cmp::Eq)?,
        O::DateLessThan => date(Cmp::Lt)?,
        O::DateLessThanEquals => date(Cmp::Le)?,
        O::DateGreaterThan => date(Cmp::Gt)?,
        O::DateGreaterThanEquals => date(Cmp::Ge)?,
        O::Bool => Test::Bool(typed(items, |p, v| match v {
            Json::Bool(b) => Ok(*b),
            Json::String(s) => parse_bool(s).ok_or_else(|| {
                invalid(
                    p,
                    format!(
                        "{} is not a boolean (expected \"true\" or \"false\")",
                        quote(s)
                    ),
                )
            }),
            other => Err(wrong_type(p, "a boolean or \"true\"/\"false\"", other)),
        })?),
        O::IpAddress | O::NotIpAddress => Test::Ip(typed(items, |p, v| {
            let s = string_value(p, v)?;
            parse_net(s)
                .ok_or_else(|| invalid(p, format!("{} is not an IP address or CIDR", quote(s))))
        })?),
    };
    Ok(Clause {
        operator,
        key,
        path,
        test,
    })
}

/// Parses each context value with `parse` (an unparseable value is an
/// error, whatever the others say) and reports whether any satisfies `test`.
fn any_parsed<T>(
    values: &[String],
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
    test: impl Fn(&T) -> bool,
) -> Result<bool, String> {
    let mut hit = false;
    for v in values {
        let parsed = parse(v).ok_or_else(|| format!("context value {} is not {what}", quote(v)))?;
        hit = hit || test(&parsed);
    }
    Ok(hit)
}

fn lower_eq(lowered: &str, other: &str) -> bool {
    lowered
        .chars()
        .flat_map(char::to_lowercase)
        .eq(other.chars().flat_map(char::to_lowercase))
}

impl Clause {
    /// Evaluates the clause against the context values of its key (`None`
    /// or empty when the key is absent). `Err` carries a message describing
    /// a context value that does not parse for the operator's type.
    pub(crate) fn evaluate(&self, context_values: Option<&[String]>) -> Result<bool, String> {
        let values = context_values.unwrap_or(&[]);
        let positive = if values.is_empty() {
            false
        } else {
            match &self.test {
                Test::Equals(policy) => values.iter().any(|c| policy.iter().any(|p| p == c)),
                Test::EqualsIgnoreCase(policy) => {
                    values.iter().any(|c| policy.iter().any(|p| lower_eq(p, c)))
                }
                Test::Like(policy) => values.iter().any(|c| policy.iter().any(|p| p.matches(c))),
                Test::Numeric(cmp, policy) => any_parsed(values, "a number", parse_number, |c| {
                    policy.iter().any(|p| cmp.holds(c.partial_cmp(p)))
                })?,
                Test::Date(cmp, policy) => any_parsed(values, "a date", parse_date, |c| {
                    policy.iter().any(|p| cmp.holds(Some(c.cmp(p))))
                })?,
                Test::Bool(policy) => {
                    any_parsed(values, "a boolean", parse_bool, |c| policy.contains(c))?
                }
                Test::Ip(policy) => any_parsed(values, "an IP address", parse_addr, |c| {
                    policy.iter().any(|net| net.contains(c))
                })?,
            }
        };
        Ok(positive != self.operator.is_negated())
    }
}
