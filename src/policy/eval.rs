//! Policy evaluation: pure, no I/O, no clock.
//!
//! The decision over a set of documents is: any matching Deny statement →
//! [`Outcome::ExplicitDeny`]; otherwise any matching Allow statement →
//! [`Outcome::Allow`]; otherwise [`Outcome::ImplicitDeny`]. Every statement
//! of every document is looked at, so the outcome does not depend on the
//! order of the documents; `deciding` names the first deciding statement in
//! the order given.
//!
//! A condition clause that cannot be evaluated (a context value that does
//! not parse for its operator) fails closed: it never lets an Allow statement
//! match, and it counts as holding for a Deny statement (whose other clauses
//! must still hold). Every such error is reported in [`Decision::errors`].

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::document::{DocumentKind, Effect, PolicyDocument, Principals, Statement};

/// Request context: condition key (case-insensitive) → values.
///
/// The current time is not read from a clock: callers put it in the context
/// under `acs:CurrentTime` (see [`Context::with_current_time`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: BTreeMap<String, Vec<String>>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Adds one value for `key` (appending if the key already has values).
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// Adds several values for `key` (appending if the key already has
    /// values). An empty iterator leaves the key absent.
    pub fn with_many<I, S>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for value in values {
            self.insert(key, value);
        }
        self
    }

    /// Sets `acs:CurrentTime` (replacing any previous value) in RFC 3339.
    pub fn with_current_time(mut self, now: DateTime<Utc>) -> Self {
        self.values.insert(
            "acs:currenttime".to_owned(),
            vec![now.to_rfc3339_opts(SecondsFormat::Secs, true)],
        );
        self
    }

    /// Adds one value for `key` in place.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.values
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push(value.into());
    }

    /// The values of `key` (case-insensitive), if any.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    /// Lookup with an already lowercased key (no allocation).
    fn get_normalized(&self, key: &str) -> Option<&[String]> {
        self.values.get(key).map(Vec::as_slice)
    }

    /// Whether the context holds no key.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A principal the caller of a trust evaluation is, or acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalRef<'a> {
    /// `acs:ram::<account>:root`, `...:user/<name>`, `...:role/<name>`
    /// (a bare 16-digit account id is taken as `acs:ram::<id>:root`).
    Ram(&'a str),
    /// A service such as `ecs.aliyuncs.com`.
    Service(&'a str),
    /// `acs:ram::<account>:saml-provider/<name>` or `...:oidc-provider/<name>`.
    Federated(&'a str),
}

/// What is being authorized.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// e.g. `oss:GetObject` (matched case-insensitively).
    pub action: &'a str,
    /// e.g. `acs:oss:*:123:bucket/key` (matched case-sensitively).
    pub resource: &'a str,
    /// Condition values.
    pub context: &'a Context,
    /// Who is asking; used only by trust documents.
    pub principals: &'a [PrincipalRef<'a>],
}

/// The result of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Some statement allows and none denies.
    Allow,
    /// Some statement denies.
    ExplicitDeny,
    /// Nothing allows.
    ImplicitDeny,
}

/// Identifies a statement: index of the document in the slice passed to
/// the evaluator (the session policy is `policies.len()`), and of the
/// statement in it (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatementId {
    /// Document index.
    pub policy: usize,
    /// Statement index within the document.
    pub statement: usize,
}

impl fmt::Display for StatementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy {} Statement[{}]", self.policy, self.statement)
    }
}

/// A condition that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    /// The statement whose condition failed.
    pub statement: StatementId,
    /// Path of the condition clause, e.g.
    /// `Statement[0].Condition.NumericLessThan["acs:x"]`.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "policy {}: {}: {}",
            self.statement.policy, self.path, self.message
        )
    }
}

/// The decision, the statement that made it, and any condition errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allow, explicit or implicit deny.
    pub outcome: Outcome,
    /// The denying statement for `ExplicitDeny`, an allowing statement for
    /// `Allow`, `None` for `ImplicitDeny`.
    pub deciding: Option<StatementId>,
    /// Conditions that could not be evaluated (and were failed closed).
    pub errors: Vec<EvalError>,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

fn ram_principal_eq(policy_value: &str, requested: &str) -> bool {
    if policy_value == requested {
        return true;
    }
    // A caller may pass a bare account id; policies store the root ARN.
    requested.len() == 16
        && requested.bytes().all(|b| b.is_ascii_digit())
        && policy_value
            .strip_prefix("acs:ram::")
            .and_then(|rest| rest.strip_suffix(":root"))
            == Some(requested)
}

fn principal_matches(principals: &Principals, requested: &[PrincipalRef<'_>]) -> bool {
    requested.iter().any(|r| match *r {
        PrincipalRef::Ram(s) => principals
            .ram
            .iter()
            .any(|v| v == "*" || ram_principal_eq(v, s)),
        PrincipalRef::Service(s) => principals.service.iter().any(|v| v == "*" || v == s),
        PrincipalRef::Federated(s) => principals.federated.iter().any(|v| v == "*" || v == s),
    })
}

/// Whether the statement's Principal/Action/Resource cover the request.
fn in_scope(statement: &Statement, kind: DocumentKind, request: &Request<'_>) -> bool {
    if kind == DocumentKind::Trust {
        match &statement.principals {
            Some(p) if principal_matches(p, request.principals) => {}
            _ => return false,
        }
    }
    statement.actions.matches(request.action)
        && statement
            .resources
            .as_ref()
            .is_none_or(|rs| rs.iter().any(|r| r.matches(request.resource)))
}

/// Condition verdict of one statement: whether every clause that could be evaluated holds, and
/// whether any clause could not be evaluated (errors pushed).
struct Verdict {
    evaluable_hold: bool,
    failed: bool,
}

fn conditions_hold(
    statement: &Statement,
    id: StatementId,
    context: &Context,
    errors: &mut Vec<EvalError>,
) -> Verdict {
    let mut verdict = Verdict {
        evaluable_hold: true,
        failed: false,
    };
    for clause in &statement.conditions {
        match clause.evaluate(context.get_normalized(&clause.key)) {
            Ok(holds) => verdict.evaluable_hold &= holds,
            Err(message) => {
                verdict.failed = true;
                errors.push(EvalError {
                    statement: id,
                    path: clause.path.clone(),
                    message,
                });
            }
        }
    }
    verdict
}

fn evaluate_indexed<'p>(
    documents: impl IntoIterator<Item = (usize, &'p PolicyDocument)>,
    request: &Request<'_>,
) -> Decision {
    let mut deny: Option<StatementId> = None;
    let mut allow: Option<StatementId> = None;
    let mut errors = Vec::new();
    for (policy, document) in documents {
        for (statement, st) in document.statements().iter().enumerate() {
            if !in_scope(st, document.kind(), request) {
                continue;
            }
            let id = StatementId { policy, statement };
            let verdict = conditions_hold(st, id, request.context, &mut errors);
            // Fail closed, clause by clause: an erroring clause never helps an Allow match, and
            // counts as holding for a Deny (the worst case); a clause that plainly does not hold
            // still keeps a Deny from matching.
            let matched = match st.effect {
                Effect::Allow => verdict.evaluable_hold && !verdict.failed,
                Effect::Deny => verdict.evaluable_hold,
            };
            if matched {
                let slot = match st.effect {
                    Effect::Allow => &mut allow,
                    Effect::Deny => &mut deny,
                };
                slot.get_or_insert(id);
            }
        }
    }
    let (outcome, deciding) = match (deny, allow) {
        (Some(d), _) => (Outcome::ExplicitDeny, Some(d)),
        (None, Some(a)) => (Outcome::Allow, Some(a)),
        (None, None) => (Outcome::ImplicitDeny, None),
    };
    Decision {
        outcome,
        deciding,
        errors,
    }
}

/// Evaluates `request` against `policies` (permission and/or trust
/// documents, each by its own grammar).
pub fn evaluate(policies: &[&PolicyDocument], request: &Request<'_>) -> Decision {
    evaluate_indexed(policies.iter().copied().enumerate(), request)
}

/// effective = identity policies ∩ session policy: allowed only if both
/// allow; any explicit deny wins. With no session policy this is
/// [`evaluate`]. The session policy's statements are reported with policy
/// index `policies.len()`; for `Allow`, `deciding` names the identity
/// statement.
pub fn evaluate_with_session(
    policies: &[&PolicyDocument],
    session: Option<&PolicyDocument>,
    request: &Request<'_>,
) -> Decision {
    let identity = evaluate(policies, request);
    let Some(session) = session else {
        return identity;
    };
    let scoped = evaluate_indexed([(policies.len(), session)], request);
    let (outcome, deciding) = match (identity.outcome, scoped.outcome) {
        (Outcome::ExplicitDeny, _) => (Outcome::ExplicitDeny, identity.deciding),
        (_, Outcome::ExplicitDeny) => (Outcome::ExplicitDeny, scoped.deciding),
        (Outcome::Allow, Outcome::Allow) => (Outcome::Allow, identity.deciding),
        _ => (Outcome::ImplicitDeny, None),
    };
    let mut errors = identity.errors;
    errors.extend(scoped.errors);
    Decision {
        outcome,
        deciding,
        errors,
    }
}
