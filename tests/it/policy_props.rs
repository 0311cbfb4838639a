//! Property tests for the wildcard matcher and the evaluator.

use proptest::prelude::*;
use rambridge::policy::{
    Context, DocumentKind, MAX_CUSTOM_POLICY_CHARS, Outcome, Pattern, PolicyDocument, Request,
    evaluate, parse, wildcard_match,
};

// ------------------------------------------------------------------ matcher

/// Reference matcher: textbook dynamic programming over chars.
/// `dp[i][j]` = the first `i` pattern chars match the first `j` text chars.
fn reference_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        for j in 0..=t.len() {
            dp[i][j] = match p[i - 1] {
                '*' => dp[i - 1][j] || (j > 0 && dp[i][j - 1]),
                '?' => j > 0 && dp[i - 1][j - 1],
                c => j > 0 && dp[i - 1][j - 1] && t[j - 1] == c,
            };
        }
    }
    dp[p.len()][t.len()]
}

proptest! {
    #[test]
    fn matcher_agrees_with_reference(pattern in "[ab*?é]{0,12}", text in "[abé]{0,16}") {
        prop_assert_eq!(wildcard_match(&pattern, &text), reference_match(&pattern, &text));
    }

    #[test]
    fn case_insensitive_matcher_agrees_with_reference(pattern in "[aAbB*?]{0,10}", text in "[aAbB]{0,12}") {
        prop_assert_eq!(
            Pattern::new(&pattern, true).matches(&text),
            reference_match(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
        );
    }

    #[test]
    fn star_matches_everything(text in any::<String>(), stars in 1usize..4) {
        prop_assert!(wildcard_match(&"*".repeat(stars), &text));
    }

    #[test]
    fn literal_pattern_matches_only_itself(pattern in "[a-zA-Z0-9:/._é-]{0,12}", text in "[a-zA-Z0-9:/._é-]{0,12}") {
        prop_assert!(wildcard_match(&pattern, &pattern));
        prop_assert_eq!(wildcard_match(&pattern, &text), pattern == text);
        prop_assert_eq!(Pattern::new(&pattern, true).matches(&text), pattern.eq_ignore_ascii_case(&text));
    }

    #[test]
    fn literal_pattern_matches_only_itself_mutated(pattern in "[a-z]{1,12}", index in any::<prop::sample::Index>()) {
        // A one-character change is never matched.
        let mut chars: Vec<char> = pattern.chars().collect();
        let i = index.index(chars.len());
        chars[i] = if chars[i] == 'x' { 'y' } else { 'x' };
        let other: String = chars.into_iter().collect();
        prop_assert!(!wildcard_match(&pattern, &other));
    }
}

// --------------------------------------------------------------- evaluation

const ACTIONS: &[&str] = &[
    "*",
    "oss:*",
    "oss:Get*",
    "oss:GetObject",
    "OSS:PUTOBJECT",
    "ecs:*",
    "ecs:Describe?nstances",
    "ram:*User*",
];
const RESOURCES: &[&str] = &[
    "*",
    "acs:oss:*:*:bucket/*",
    "acs:oss:*:*:bucket/key",
    "acs:ecs:*:*:instance/*",
];
const CONDITIONS: &[&str] = &[
    r#"{"StringEquals":{"a:tag":"prod"}}"#,
    r#"{"StringNotLike":{"a:tag":"d*"}}"#,
    r#"{"NumericLessThan":{"a:n":"5"}}"#,
    r#"{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}"#,
    r#"{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"},"Bool":{"a:secure":"true"}}"#,
];

#[derive(Debug, Clone)]
struct Stmt {
    deny: bool,
    not_action: bool,
    action: usize,
    resource: usize,
    condition: Option<usize>,
}

impl Stmt {
    fn json(&self) -> String {
        let effect = if self.deny { "Deny" } else { "Allow" };
        let action_key = if self.not_action {
            "NotAction"
        } else {
            "Action"
        };
        let condition = self
            .condition
            .map(|c| format!(r#","Condition":{}"#, CONDITIONS[c]))
            .unwrap_or_default();
        format!(
            r#"{{"Effect":"{effect}","{action_key}":"{}","Resource":"{}"{condition}}}"#,
            ACTIONS[self.action], RESOURCES[self.resource]
        )
    }
}

fn stmt(deny: impl Strategy<Value = bool>) -> impl Strategy<Value = Stmt> {
    (
        deny,
        prop::bool::weighted(0.15),
        0..ACTIONS.len(),
        0..RESOURCES.len(),
        prop::option::of(0..CONDITIONS.len()),
    )
        .prop_map(|(deny, not_action, action, resource, condition)| Stmt {
            deny,
            not_action,
            action,
            resource,
            condition,
        })
}

fn doc(statements: &[Stmt]) -> PolicyDocument {
    let body: Vec<String> = statements.iter().map(Stmt::json).collect();
    let text = format!(r#"{{"Version":"1","Statement":[{}]}}"#, body.join(","));
    parse(&text, DocumentKind::Permission, MAX_CUSTOM_POLICY_CHARS).unwrap()
}

fn policies() -> impl Strategy<Value = Vec<Vec<Stmt>>> {
    prop::collection::vec(prop::collection::vec(stmt(any::<bool>()), 1..4), 0..5)
}

#[derive(Debug, Clone)]
struct Req {
    action: &'static str,
    resource: &'static str,
    context: Context,
}

fn request() -> impl Strategy<Value = Req> {
    let actions = prop::sample::select(vec![
        "oss:GetObject",
        "oss:putobject",
        "ecs:DescribeInstances",
        "ram:ListUsers",
        "sts:AssumeRole",
    ]);
    let resources = prop::sample::select(vec![
        "acs:oss:*:1:bucket/key",
        "acs:oss:*:1:bucket/other",
        "acs:ecs:*:1:instance/i-1",
        "acs:ram::1:user/bob",
    ]);
    let opt = |values: Vec<&'static str>| prop::option::of(prop::sample::select(values));
    (
        actions,
        resources,
        opt(vec!["prod", "dev", "staging"]),
        opt(vec!["3", "7", "abc"]),
        opt(vec!["10.1.1.1", "192.168.0.1", "2001:db8::1", "not-an-ip"]),
        opt(vec!["true", "false", "maybe"]),
    )
        .prop_map(|(action, resource, tag, n, ip, secure)| {
            let mut context = Context::new();
            for (key, value) in [
                ("a:tag", tag),
                ("a:n", n),
                ("acs:SourceIp", ip),
                ("a:secure", secure),
            ] {
                if let Some(v) = value {
                    context.insert(key, v);
                }
            }
            Req {
                action,
                resource,
                context,
            }
        })
}

fn outcome(docs: &[PolicyDocument], req: &Req) -> Outcome {
    let refs: Vec<&PolicyDocument> = docs.iter().collect();
    evaluate(
        &refs,
        &Request {
            action: req.action,
            resource: req.resource,
            context: &req.context,
            principals: &[],
        },
    )
    .outcome
}

fn docs_of(policies: &[Vec<Stmt>]) -> Vec<PolicyDocument> {
    policies.iter().map(|p| doc(p)).collect()
}

proptest! {
    #[test]
    fn adding_a_deny_never_turns_deny_into_allow(
        policies in policies(),
        extra in stmt(Just(true)),
        into_existing in any::<prop::sample::Index>(),
        as_new_policy in any::<bool>(),
        req in request(),
    ) {
        let before = outcome(&docs_of(&policies), &req);
        let mut grown = policies.clone();
        if as_new_policy || grown.is_empty() {
            grown.push(vec![extra]);
        } else {
            let i = into_existing.index(grown.len());
            grown[i].push(extra);
        }
        let after = outcome(&docs_of(&grown), &req);
        if before != Outcome::Allow {
            prop_assert_ne!(after, Outcome::Allow);
        }
        if before == Outcome::ExplicitDeny {
            prop_assert_eq!(after, Outcome::ExplicitDeny);
        }
    }

    #[test]
    fn adding_an_allow_never_turns_allow_into_deny(
        policies in policies(),
        extra in stmt(Just(false)),
        into_existing in any::<prop::sample::Index>(),
        as_new_policy in any::<bool>(),
        req in request(),
    ) {
        let before = outcome(&docs_of(&policies), &req);
        let mut grown = policies.clone();
        if as_new_policy || grown.is_empty() {
            grown.push(vec![extra]);
        } else {
            let i = into_existing.index(grown.len());
            grown[i].push(extra);
        }
        let after = outcome(&docs_of(&grown), &req);
        if before == Outcome::Allow {
            prop_assert_eq!(after, Outcome::Allow);
        }
        // An Allow can never create or remove an explicit deny.
        prop_assert_eq!(before == Outcome::ExplicitDeny, after == Outcome::ExplicitDeny);
    }

    #[test]
    fn policy_order_does_not_change_the_decision(
        (policies, shuffled) in policies().prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle())),
        req in request(),
    ) {
        prop_assert_eq!(outcome(&docs_of(&policies), &req), outcome(&docs_of(&shuffled), &req));
    }
}
