//! Parsing and validation of policy documents.
//!
//! The text is first read into an order-preserving JSON tree that keeps
//! every object member (so duplicate keys can be detected instead of being
//! silently resolved the way `serde_json::Value` does), then the whole tree
//! is checked for duplicate keys, and finally the grammar is validated and
//! compiled into [`PolicyDocument`].

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::condition::{self, Clause, Operator};
use super::error::PolicyError;
use super::matcher::Pattern;

/// Which grammar a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// Identity or session policy: `Resource` required, `Principal` forbidden.
    Permission,
    /// Role trust policy: `Principal` required, `Resource` optional.
    Trust,
}

/// Statement effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants the request when the statement matches.
    Allow,
    /// Denies the request when the statement matches; beats any Allow.
    Deny,
}

/// A parsed, validated and compiled policy document.
#[derive(Debug, Clone)]
pub struct PolicyDocument {
    kind: DocumentKind,
    source: String,
    statements: Vec<Statement>,
}

impl PolicyDocument {
    /// The grammar the document was parsed with.
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// The original text, exactly as passed to [`parse`].
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of statements (a single-object `Statement` counts as one).
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// Effect of each statement, in document order.
    pub fn effects(&self) -> impl Iterator<Item = Effect> + '_ {
        self.statements.iter().map(|s| s.effect)
    }

    pub(crate) fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

/// One compiled statement.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) effect: Effect,
    pub(crate) actions: Actions,
    /// `None` only in trust policies without `Resource` (= any resource).
    pub(crate) resources: Option<Vec<Pattern>>,
    /// `Some` exactly in trust policies.
    pub(crate) principals: Option<Principals>,
    pub(crate) conditions: Vec<Clause>,
}

/// `Action` or `NotAction`.
#[derive(Debug, Clone)]
pub(crate) struct Actions {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<Pattern>,
}

impl Actions {
    pub(crate) fn matches(&self, action: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(action)) != self.negated
    }
}

/// `Principal` of a trust statement; values are normalized (a bare RAM
/// account id becomes `acs:ram::<id>:root`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Principals {
    pub(crate) ram: Vec<String>,
    pub(crate) service: Vec<String>,
    pub(crate) federated: Vec<String>,
}

// ---------------------------------------------------------------------------
// Order-preserving JSON tree
// ---------------------------------------------------------------------------

/// JSON value that keeps every object member in order, duplicates included.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Number(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Json>()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

// ---------------------------------------------------------------------------
// Paths and small helpers
// ---------------------------------------------------------------------------

/// Renders a path for messages; the root is called `document`.
pub(crate) fn shown(path: &str) -> String {
    if path.is_empty() {
        "document".to_owned()
    } else {
        path.to_owned()
    }
}

/// JSON-style quoting of a string for paths and messages.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `parent.key`, or `parent["key"]` when the key is not a plain word.
pub(crate) fn field_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'));
    if !plain {
        format!("{parent}[{}]", quote(key))
    } else if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent["key"]`, always bracketed (used for condition keys).
pub(crate) fn quoted_path(parent: &str, key: &str) -> String {
    format!("{parent}[{}]", quote(key))
}

pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

pub(crate) fn invalid(path: &str, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        path: shown(path),
        message: message.into(),
    }
}

pub(crate) fn wrong_type(path: &str, expected: &'static str, found: &Json) -> PolicyError {
    PolicyError::WrongType {
        path: shown(path),
        expected,
        found: found.type_name(),
    }
}

fn unknown_key(path: &str, key: &str) -> PolicyError {
    PolicyError::UnknownKey {
        path: shown(path),
        key: key.to_owned(),
    }
}

fn missing_key(path: &str, key: &str) -> PolicyError {
    PolicyError::MissingKey {
        path: shown(path),
        key: key.to_owned(),
    }
}

pub(crate) fn as_object<'a>(
    value: &'a Json,
    path: &str,
) -> Result<&'a [(String, Json)], PolicyError> {
    match value {
        Json::Object(members) => Ok(members),
        other => Err(wrong_type(path, "an object", other)),
    }
}

/// A string, or a non-empty array of strings; every string non-empty.
/// Returns each string with its path.
fn string_list<'a>(value: &'a Json, path: &str) -> Result<Vec<(String, &'a str)>, PolicyError> {
    const EXPECTED: &str = "a string or an array of strings";
    let one = |v: &'a Json, p: String| -> Result<(String, &'a str), PolicyError> {
        match v {
            Json::String(s) if s.is_empty() => Err(invalid(&p, "must not be an empty string")),
            Json::String(s) => Ok((p, s.as_str())),
            other => Err(wrong_type(&p, "a string", other)),
        }
    };
    match value {
        Json::String(_) => Ok(vec![one(value, path.to_owned())?]),
        Json::Array(items) if items.is_empty() => Err(invalid(path, "must not be an empty array")),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| one(v, index_path(path, i)))
            .collect(),
        other => Err(wrong_type(path, EXPECTED, other)),
    }
}

/// Rejects any object, at any depth, that repeats a key.
fn check_duplicates(value: &Json, path: &str) -> Result<(), PolicyError> {
    match value {
        Json::Object(members) => {
            let mut seen: std::collections::HashSet<&str> =
                std::collections::HashSet::with_capacity(members.len());
            for (key, _) in members {
                if !seen.insert(key.as_str()) {
                    return Err(PolicyError::DuplicateKey {
                        path: shown(path),
                        key: key.clone(),
                    });
                }
            }
            for (key, child) in members {
                check_duplicates(child, &field_path(path, key))?;
            }
            Ok(())
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_duplicates(child, &index_path(path, i))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Grammar
// ---------------------------------------------------------------------------

/// Parses and validates a policy document of the given kind.
///
/// `max_chars` counts Unicode scalar values of the raw text (callers pass
/// 6144 for custom policies, 2048 for STS session policies and 4096 for
/// trust policies).
pub fn parse(
    text: &str,
    kind: DocumentKind,
    max_chars: usize,
) -> Result<PolicyDocument, PolicyError> {
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(PolicyError::TooLong {
            chars,
            max: max_chars,
        });
    }
    let json: Json = serde_json::from_str(text).map_err(|e| PolicyError::Syntax {
        message: e.to_string(),
    })?;
    check_duplicates(&json, "")?;

    let mut version = None;
    let mut statement = None;
    for (key, value) in as_object(&json, "")? {
        match key.as_str() {
            "Version" => version = Some(value),
            "Statement" => statement = Some(value),
            other => return Err(unknown_key("", other)),
        }
    }
    match version {
        None => return Err(missing_key("", "Version")),
        Some(Json::String(v)) if v == "1" => {}
        Some(Json::String(v)) => {
            return Err(invalid(
                "Version",
                format!(
                    "unsupported version {}; the only version is \"1\"",
                    quote(v)
                ),
            ));
        }
        Some(other) => return Err(wrong_type("Version", "the string \"1\"", other)),
    }
    let statements = match statement {
        None => return Err(missing_key("", "Statement")),
        Some(Json::Array(items)) if items.is_empty() => {
            return Err(invalid("Statement", "must not be an empty array"));
        }
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_statement(item, &index_path("Statement", i), kind))
            .collect::<Result<Vec<_>, _>>()?,
        Some(single @ Json::Object(_)) => vec![parse_statement(single, "Statement", kind)?],
        Some(other) => {
            return Err(wrong_type(
                "Statement",
                "an array of statements or a statement object",
                other,
            ));
        }
    };
    Ok(PolicyDocument {
        kind,
        source: text.to_owned(),
        statements,
    })
}

fn parse_statement(value: &Json, path: &str, kind: DocumentKind) -> Result<Statement, PolicyError> {
    let mut effect = None;
    let mut action = None;
    let mut not_action = None;
    let mut resource = None;
    let mut condition = None;
    let mut principal = None;
    for (key, v) in as_object(value, path)? {
        match key.as_str() {
            "Effect" => effect = Some(v),
            "Action" => action = Some(v),
            "NotAction" => not_action = Some(v),
            "Resource" => resource = Some(v),
            "Condition" => condition = Some(v),
            "Principal" => principal = Some(v),
            "NotResource" | "NotPrincipal" => {
                return Err(PolicyError::Unsupported {
                    path: shown(path),
                    what: format!("key {}", quote(key)),
                });
            }
            other => return Err(unknown_key(path, other)),
        }
    }

    let effect = match effect {
        None => return Err(missing_key(path, "Effect")),
        Some(Json::String(s)) if s == "Allow" => Effect::Allow,
        Some(Json::String(s)) if s == "Deny" => Effect::Deny,
        Some(Json::String(s)) => {
            return Err(invalid(
                &field_path(path, "Effect"),
                format!(
                    "{} is not a valid effect (expected \"Allow\" or \"Deny\")",
                    quote(s)
                ),
            ));
        }
        Some(other) => return Err(wrong_type(&field_path(path, "Effect"), "a string", other)),
    };

    let actions = match (action, not_action) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                path,
                "has both \"Action\" and \"NotAction\"; exactly one is allowed",
            ));
        }
        (None, None) => return Err(missing_key(path, "Action")),
        (Some(v), None) => parse_actions(v, &field_path(path, "Action"), false)?,
        (None, Some(v)) => parse_actions(v, &field_path(path, "NotAction"), true)?,
    };

    let resources = match resource {
        Some(v) => Some(parse_resources(v, &field_path(path, "Resource"))?),
        None if kind == DocumentKind::Trust => None,
        None => return Err(missing_key(path, "Resource")),
    };

    let principals = match (kind, principal) {
        (DocumentKind::Trust, Some(v)) => {
            Some(parse_principals(v, &field_path(path, "Principal"))?)
        }
        (DocumentKind::Trust, None) => return Err(missing_key(path, "Principal")),
        (DocumentKind::Permission, Some(_)) => {
            return Err(invalid(
                &field_path(path, "Principal"),
                "\"Principal\" is only allowed in trust policies",
            ));
        }
        (DocumentKind::Permission, None) => None,
    };

    let conditions = match condition {
        Some(v) => parse_condition(v, &field_path(path, "Condition"))?,
        None => Vec::new(),
    };

    Ok(Statement {
        effect,
        actions,
        resources,
        principals,
        conditions,
    })
}

/// `*` or `<service>:<name>`; service `[A-Za-z0-9-]+` with `*`/`?` wildcards (Alibaba's own
/// ReadOnlyAccess grants `*:Get*`), name ASCII alphanumerics plus `_ - . * ?`.
fn valid_action(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let Some((service, name)) = s.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '*' | '?'))
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '*' | '?'))
}

fn parse_actions(value: &Json, path: &str, negated: bool) -> Result<Actions, PolicyError> {
    let patterns = string_list(value, path)?
        .into_iter()
        .map(|(p, s)| {
            if valid_action(s) {
                Ok(Pattern::new(s, true))
            } else {
                Err(invalid(
                    &p,
                    format!(
                        "{} is not a valid action (expected \"*\" or \"<service>:<action>\")",
                        quote(s)
                    ),
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Actions { negated, patterns })
}

fn parse_resources(value: &Json, path: &str) -> Result<Vec<Pattern>, PolicyError> {
    string_list(value, path)?
        .into_iter()
        .map(|(p, s)| {
            if s != "*" && !s.starts_with("acs:") {
                Err(invalid(
                    &p,
                    format!("{} is not a valid resource (expected \"*\" or an ARN starting with \"acs:\")", quote(s)),
                ))
            } else if s.chars().any(char::is_control) {
                Err(invalid(&p, format!("{} contains a control character", quote(s))))
            } else {
                Ok(Pattern::new(s, false))
            }
        })
        .collect()
}

fn is_account_id(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// Normalizes a RAM principal value, or `None` if it is malformed.
fn normalize_ram(s: &str) -> Option<String> {
    if s == "*" {
        return Some(s.to_owned());
    }
    if is_account_id(s) {
        return Some(format!("acs:ram::{s}:root"));
    }
    let rest = s.strip_prefix("acs:ram::")?;
    let (account, entity) = rest.split_once(':')?;
    if !is_account_id(account) {
        return None;
    }
    let ok = entity == "root"
        || entity.strip_prefix("user/").is_some_and(is_name)
        || entity.strip_prefix("role/").is_some_and(is_name);
    ok.then(|| s.to_owned())
}

fn valid_federated(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let Some((account, entity)) = s.strip_prefix("acs:ram::").and_then(|r| r.split_once(':'))
    else {
        return false;
    };
    is_account_id(account)
        && (entity.strip_prefix("saml-provider/").is_some_and(is_name)
            || entity.strip_prefix("oidc-provider/").is_some_and(is_name))
}

/// DNS-like: at least two dot-separated labels of `[A-Za-z0-9-]`, no label
/// starting or ending with `-`.
fn valid_service(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn parse_principals(value: &Json, path: &str) -> Result<Principals, PolicyError> {
    let members = as_object(value, path)?;
    if members.is_empty() {
        return Err(invalid(
            path,
            "must name at least one of \"RAM\", \"Service\", \"Federated\"",
        ));
    }
    let mut out = Principals::default();
    for (key, v) in members {
        let key_path = field_path(path, key);
        match key.as_str() {
            "RAM" => {
                for (p, s) in string_list(v, &key_path)? {
                    let normalized = normalize_ram(s).ok_or_else(|| {
                        invalid(
                            &p,
                            format!(
                                "{} is not a RAM principal (expected a 16-digit account id or acs:ram::<account-id>:root, :user/<name> or :role/<name>)",
                                quote(s)
                            ),
                        )
                    })?;
                    out.ram.push(normalized);
                }
            }
            "Service" => {
                for (p, s) in string_list(v, &key_path)? {
                    if !valid_service(s) {
                        return Err(invalid(
                            &p,
                            format!(
                                "{} is not a service principal (expected a name like ecs.aliyuncs.com)",
                                quote(s)
                            ),
                        ));
                    }
                    out.service.push(s.to_owned());
                }
            }
            "Federated" => {
                for (p, s) in string_list(v, &key_path)? {
                    if !valid_federated(s) {
                        return Err(invalid(
                            &p,
                            format!(
                                "{} is not a federated principal (expected acs:ram::<account-id>:saml-provider/<name> or :oidc-provider/<name>)",
                                quote(s)
                            ),
                        ));
                    }
                    out.federated.push(s.to_owned());
                }
            }
            other => return Err(unknown_key(path, other)),
        }
    }
    Ok(out)
}

/// `<prefix>:<name>`: prefix `[A-Za-z0-9-]+`, name printable ASCII without
/// spaces.
fn valid_condition_key(s: &str) -> bool {
    let Some((prefix, name)) = s.split_once(':') else {
        return false;
    };
    !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '*' | '?'))
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_graphic())
}

fn parse_condition(value: &Json, path: &str) -> Result<Vec<Clause>, PolicyError> {
    let operators = as_object(value, path)?;
    if operators.is_empty() {
        return Err(invalid(path, "must not be an empty object"));
    }
    let mut clauses = Vec::new();
    for (op_name, block) in operators {
        let op_path = field_path(path, op_name);
        let operator = Operator::from_name(op_name).ok_or_else(|| {
            if op_name.ends_with("IfExists")
                || op_name.starts_with("ForAnyValue:")
                || op_name.starts_with("ForAllValues:")
            {
                PolicyError::Unsupported {
                    path: shown(&op_path),
                    what: format!("condition operator modifier in {}", quote(op_name)),
                }
            } else {
                invalid(
                    &op_path,
                    format!("unknown condition operator {}", quote(op_name)),
                )
            }
        })?;
        let keys = as_object(block, &op_path)?;
        if keys.is_empty() {
            return Err(invalid(&op_path, "must not be an empty object"));
        }
        let mut seen: Vec<String> = Vec::with_capacity(keys.len());
        for (key, values) in keys {
            let key_path = quoted_path(&op_path, key);
            if !valid_condition_key(key) {
                return Err(invalid(
                    &key_path,
                    format!(
                        "{} is not a valid condition key (expected \"<prefix>:<name>\")",
                        quote(key)
                    ),
                ));
            }
            let normalized = key.to_ascii_lowercase();
            if seen.contains(&normalized) {
                // Keys are case-insensitive, so "acs:SourceIp" and
                // "acs:sourceip" are the same key written twice.
                return Err(PolicyError::DuplicateKey {
                    path: shown(&op_path),
                    key: key.clone(),
                });
            }
            seen.push(normalized.clone());
            let items: Vec<(String, &Json)> = match values {
                Json::Array(items) if items.is_empty() => {
                    return Err(invalid(&key_path, "must not be an empty array"));
                }
                Json::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (index_path(&key_path, i), v))
                    .collect(),
                single => vec![(key_path.clone(), single)],
            };
            clauses.push(condition::compile(operator, normalized, key_path, &items)?);
        }
    }
    Ok(clauses)
}
