//! The policy engine: parsing, validation and evaluation of RAM policy
//! documents (permission, STS session and role trust policies).
//!
//! # What this module owns
//! - [`parse`]: text → [`PolicyDocument`], strictly validated against the
//!   Alibaba Cloud RAM policy grammar (version `"1"`), with rambridge rules
//!   where Alibaba is silent. Patterns, condition values and principals are
//!   compiled/normalized here so evaluation does no parsing.
//! - [`parse_shared`]: [`parse`] remembered by text (bounded), for the request hot path.
//! - [`evaluate`] / [`evaluate_with_session`]: pure decision functions. No
//!   I/O and no clock; the current time reaches `Date*` operators through the
//!   request [`Context`] (`acs:CurrentTime`).
//!
//! # Invariants
//! - A [`PolicyDocument`] only exists for text that passed every check:
//!   length (in chars) ≤ the caller's limit, valid JSON, no duplicate object
//!   key anywhere (serde_json would silently keep the last one, a
//!   parser-differential risk), no unknown key, `Version` exactly `"1"`, a
//!   non-empty `Statement`, exactly one of `Action`/`NotAction`, `Resource`
//!   required in permission policies, `Principal` required in (and only
//!   allowed in) trust policies, no `NotResource`/`NotPrincipal`, no
//!   condition modifiers (`IfExists`, `ForAnyValue:`, `ForAllValues:`), and
//!   type-checked condition values.
//! - Every [`PolicyError`] (except length and JSON syntax) names the place,
//!   e.g. `Statement[1].Condition.IpAddress["acs:SourceIp"][0]`; statement
//!   indexes are 0-based.
//! - Decisions: explicit Deny beats Allow beats implicit deny; the outcome
//!   is independent of the order of the documents; condition evaluation
//!   errors fail closed (an Allow does not match, a Deny does) and are
//!   reported in [`Decision::errors`].
//! - Matching: actions case-insensitive (ASCII), resources and `StringLike`
//!   case-sensitive; `*` = any run (incl. empty), `?` = exactly one Unicode
//!   scalar; the matcher is iterative and O(pattern × text).
//! - Condition keys are case-insensitive. Multi-value semantics: operators
//!   in a block AND, keys under an operator AND, policy values for one key
//!   OR, multi-valued context keys match if ANY value matches; negated
//!   operators are exactly NOT(positive), so an absent key makes a positive
//!   operator false and a negated one true.
//!
//! # Spec references
//! - Alibaba Cloud RAM, "Policy elements" and "Policy structure and syntax"
//!   (Version, Statement, Effect, Action/NotAction, Resource, Condition,
//!   Principal), "Policy evaluation" (deny precedence), "Condition
//!   operators", and "Edit the trust policy of a RAM role" (RAM / Service /
//!   Federated principals, `saml:recipient`, `oidc:iss`/`oidc:aud`/`oidc:sub`).
//! - STS AssumeRole `Policy` parameter: the session policy further limits
//!   the role's permissions ([`evaluate_with_session`]).
//! - Dates: RFC 3339. CIDR notation: RFC 4632 (IPv4), RFC 4291 (IPv6).

mod cache;
mod condition;
mod document;
mod error;
mod eval;
mod matcher;

pub use cache::{cached_documents, parse_shared};
pub use condition::Operator;
pub use document::{DocumentKind, Effect, PolicyDocument, parse};
pub use error::PolicyError;
pub use eval::{
    Context, Decision, EvalError, Outcome, PrincipalRef, Request, StatementId, evaluate,
    evaluate_with_session,
};
pub use matcher::{Pattern, wildcard_match};

/// Length limit (in characters) for custom permission policies.
pub const MAX_CUSTOM_POLICY_CHARS: usize = 6144;
/// Length limit (in characters) for STS session policies.
pub const MAX_SESSION_POLICY_CHARS: usize = 2048;
/// Length limit (in characters) for role trust policies.
pub const MAX_TRUST_POLICY_CHARS: usize = 4096;

#[cfg(test)]
mod tests;
