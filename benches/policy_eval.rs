//! Policy-engine benchmarks: decisions per second for one RAM user with 1, 10
//! and 50 attached policies, by rambridge's engine and by `cedar-policy` on
//! equivalent policies; plus parsing one document and the wildcard matcher.
//!
//! Run: `cargo bench --bench policy_eval`. After the criterion groups, a plain
//! `Instant` loop of a fixed number of iterations times both engines again on
//! the same prebuilt inputs and prints one `ratio rambridge/cedar` line per size
//! (criterion keeps its measurements to itself, so they cannot be read back).
//!
//! Worst case by construction: the request is allowed by the LAST policy only,
//! so every statement / policy is looked at.

// A benchmark is test code: a failed setup or equivalence check should stop it
// loudly. The repo's clippy.toml allows unwrap/expect/panic only in #[test]s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use cedar_policy as cedar;
use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput};
use rambridge::policy::{
    self, Context, DocumentKind, MAX_CUSTOM_POLICY_CHARS, Outcome, Pattern, PolicyDocument,
    PrincipalRef, Request,
};

const SIZES: [usize; 3] = [1, 10, 50];
const USER_ARN: &str = "acs:ram::1234567890123456:user/alice";
const NOW_RFC3339: &str = "2026-01-01T00:00:00Z";

/// Cedar has no action wildcards, so rambridge's `ecs:Describe*` becomes this
/// explicit list (rambridge matches the wildcard case-insensitively; Cedar
/// compares action ids exactly).
const ECS_DESCRIBE_ACTIONS: [&str; 4] = [
    "ecs:DescribeInstances",
    "ecs:DescribeDisks",
    "ecs:DescribeImages",
    "ecs:DescribeSecurityGroups",
];

/// Whether policy `i` (0-based) carries the extra Deny statement: the 5th,
/// 10th, ... policy.
fn has_deny(i: usize) -> bool {
    i % 5 == 4
}

fn ram_policy_text(i: usize) -> String {
    let allow = format!(
        r#"{{"Effect":"Allow","Action":["ecs:Describe*","oss:GetObject"],"Resource":"acs:oss:*:*:bucket-{i}/*","Condition":{{"IpAddress":{{"acs:SourceIp":"10.{}.0.0/16"}},"Bool":{{"acs:SecureTransport":"true"}}}}}}"#,
        i % 250
    );
    let deny = if has_deny(i) {
        r#",{"Effect":"Deny","Action":"oss:DeleteObject","Resource":"*"}"#
    } else {
        ""
    };
    format!(r#"{{"Version":"1","Statement":[{allow}{deny}]}}"#)
}

/// The same policy in Cedar. The resource entity carries its full ARN in
/// `arn`, and the `like` pattern is rambridge's Resource pattern verbatim
/// (`*` is a wildcard in both), so both engines do the same match.
fn cedar_policy_text(i: usize) -> String {
    let actions = ECS_DESCRIBE_ACTIONS
        .iter()
        .chain(["oss:GetObject"].iter())
        .map(|a| format!(r#"Action::"{a}""#))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        r#"permit(principal == User::"alice", action in [{actions}], resource)
when {{ resource.arn like "acs:oss:*:*:bucket-{i}/*" && context.source_ip.isInRange(ip("10.{}.0.0/16")) && context.secure_transport }};
"#,
        i % 250
    );
    if has_deny(i) {
        text.push_str(
            r#"forbid(principal == User::"alice", action == Action::"oss:DeleteObject", resource);
"#,
        );
    }
    text
}

fn resource_arn(n: usize) -> String {
    format!("acs:oss:*:*:bucket-{}/photos/1.jpg", n - 1)
}

fn good_ip(n: usize) -> String {
    format!("10.{}.1.2", (n - 1) % 250)
}

const BAD_IP: &str = "192.168.1.2";

/// rambridge inputs for `n` policies: parsed documents and a context.
struct RamSetup {
    docs: Vec<PolicyDocument>,
    resource: String,
    context: Context,
}

impl RamSetup {
    fn new(n: usize, ip: &str) -> Self {
        let docs = (0..n)
            .map(|i| {
                policy::parse(
                    &ram_policy_text(i),
                    DocumentKind::Permission,
                    MAX_CUSTOM_POLICY_CHARS,
                )
                .unwrap()
            })
            .collect();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let context = Context::new()
            .with("acs:SourceIp", ip)
            .with("acs:SecureTransport", "true")
            .with_current_time(now);
        RamSetup {
            docs,
            resource: resource_arn(n),
            context,
        }
    }

    fn decide(&self, refs: &[&PolicyDocument], action: &str) -> policy::Decision {
        let principals = [PrincipalRef::Ram(USER_ARN)];
        let request = Request {
            action,
            resource: &self.resource,
            context: &self.context,
            principals: &principals,
        };
        policy::evaluate(refs, &request)
    }
}

/// Cedar inputs for `n` policies: policy set, entities and request, all
/// built before timing.
struct CedarSetup {
    authorizer: cedar::Authorizer,
    policies: cedar::PolicySet,
    entities: cedar::Entities,
}

impl CedarSetup {
    fn new(n: usize) -> Self {
        let text: String = (0..n).map(cedar_policy_text).collect();
        let policies = cedar::PolicySet::from_str(&text).unwrap();
        let resource = cedar::Entity::new(
            resource_uid(n),
            HashMap::from([(
                "arn".to_owned(),
                cedar::RestrictedExpression::new_string(resource_arn(n)),
            )]),
            HashSet::new(),
        )
        .unwrap();
        let alice = cedar::Entity::new_no_attrs(user_uid(), HashSet::new());
        let entities = cedar::Entities::from_entities([alice, resource], None).unwrap();
        CedarSetup {
            authorizer: cedar::Authorizer::new(),
            policies,
            entities,
        }
    }

    fn request(n: usize, action: &str, ip: &str) -> cedar::Request {
        let context = cedar::Context::from_pairs([
            (
                "source_ip".to_owned(),
                cedar::RestrictedExpression::new_ip(ip),
            ),
            (
                "secure_transport".to_owned(),
                cedar::RestrictedExpression::new_bool(true),
            ),
            (
                "current_time".to_owned(),
                cedar::RestrictedExpression::new_datetime(NOW_RFC3339),
            ),
        ])
        .unwrap();
        let action = cedar::EntityUid::from_str(&format!(r#"Action::"{action}""#)).unwrap();
        cedar::Request::new(user_uid(), action, resource_uid(n), context, None).unwrap()
    }

    fn decide(&self, request: &cedar::Request) -> cedar::Response {
        self.authorizer
            .is_authorized(request, &self.policies, &self.entities)
    }
}

fn user_uid() -> cedar::EntityUid {
    cedar::EntityUid::from_str(r#"User::"alice""#).unwrap()
}

fn resource_uid(n: usize) -> cedar::EntityUid {
    cedar::EntityUid::from_str(&format!(r#"Resource::"{}""#, resource_arn(n))).unwrap()
}

/// Asserts that both engines reach the same, intended decisions for `n`
/// policies, so the benchmark times real and equivalent work.
fn check_equivalence(n: usize) {
    let ram = RamSetup::new(n, &good_ip(n));
    let refs: Vec<&PolicyDocument> = ram.docs.iter().collect();
    let ced = CedarSetup::new(n);

    // Allowed, by the last policy only.
    let d = ram.decide(&refs, "oss:GetObject");
    assert_eq!(d.outcome, Outcome::Allow, "rambridge, {n} policies");
    assert_eq!(d.deciding.map(|s| s.policy), Some(n - 1));
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let r = ced.decide(&CedarSetup::request(n, "oss:GetObject", &good_ip(n)));
    assert_eq!(r.decision(), cedar::Decision::Allow, "cedar, {n} policies");
    assert_eq!(r.diagnostics().errors().count(), 0);
    let reasons: Vec<String> = r.diagnostics().reason().map(ToString::to_string).collect();
    assert_eq!(reasons.len(), 1, "cedar reasons {reasons:?}");

    // Wrong source IP: denied by both.
    let ram_bad = RamSetup::new(n, BAD_IP);
    let bad_refs: Vec<&PolicyDocument> = ram_bad.docs.iter().collect();
    let d = ram_bad.decide(&bad_refs, "oss:GetObject");
    assert_eq!(d.outcome, Outcome::ImplicitDeny, "rambridge, {n}, bad ip");
    let r = ced.decide(&CedarSetup::request(n, "oss:GetObject", BAD_IP));
    assert_eq!(r.decision(), cedar::Decision::Deny, "cedar, {n}, bad ip");

    // A Describe action is allowed through the explicit list / wildcard.
    let d = ram.decide(&refs, "ecs:DescribeInstances");
    assert_eq!(d.outcome, Outcome::Allow);
    let r = ced.decide(&CedarSetup::request(
        n,
        "ecs:DescribeInstances",
        &good_ip(n),
    ));
    assert_eq!(r.decision(), cedar::Decision::Allow);

    // Where a Deny statement exists, DeleteObject is explicitly denied.
    if n >= 5 {
        let d = ram.decide(&refs, "oss:DeleteObject");
        assert_eq!(d.outcome, Outcome::ExplicitDeny);
        let r = ced.decide(&CedarSetup::request(n, "oss:DeleteObject", &good_ip(n)));
        assert_eq!(r.decision(), cedar::Decision::Deny);
    }
}

fn bench_decisions(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        check_equivalence(n);
        let ram = RamSetup::new(n, &good_ip(n));
        let refs: Vec<&PolicyDocument> = ram.docs.iter().collect();
        let principals = [PrincipalRef::Ram(USER_ARN)];
        let request = Request {
            action: "oss:GetObject",
            resource: &ram.resource,
            context: &ram.context,
            principals: &principals,
        };
        group.bench_with_input(BenchmarkId::new("rambridge", n), &n, |b, _| {
            b.iter(|| policy::evaluate(black_box(&refs), black_box(&request)))
        });

        let ced = CedarSetup::new(n);
        let creq = CedarSetup::request(n, "oss:GetObject", &good_ip(n));
        group.bench_with_input(BenchmarkId::new("cedar", n), &n, |b, _| {
            b.iter(|| ced.decide(black_box(&creq)))
        });
    }
    group.finish();
}

fn bench_parse(c: &mut Criterion) {
    // Policy 4 carries both statements (Allow with conditions, and Deny).
    let text = ram_policy_text(4);
    c.bench_function("parse/one_document", |b| {
        b.iter(|| {
            policy::parse(
                black_box(&text),
                DocumentKind::Permission,
                MAX_CUSTOM_POLICY_CHARS,
            )
        })
    });
}

fn bench_matcher(c: &mut Criterion) {
    let resource = "acs:oss:cn-hangzhou:1234567890123456:bucket-49/photos/a1.jpg";
    assert_eq!(resource.chars().count(), 60);
    let pattern = Pattern::new("acs:oss:*:*:bucket-49/photos/*", false);
    assert!(pattern.matches(resource));
    c.bench_function("matcher/compiled_60_chars", |b| {
        b.iter(|| black_box(&pattern).matches(black_box(resource)))
    });
    c.bench_function("matcher/wildcard_match_60_chars", |b| {
        b.iter(|| {
            policy::wildcard_match(
                black_box("acs:oss:*:*:bucket-49/photos/*"),
                black_box(resource),
            )
        })
    });
}

/// Mean nanoseconds per call of `f` over `iters` calls, after a warm-up.
fn mean_ns(iters: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iters / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iters)
}

/// The ratio lines: a fixed-iteration `Instant` loop per engine and size.
fn print_ratios() {
    for n in SIZES {
        let ram = RamSetup::new(n, &good_ip(n));
        let refs: Vec<&PolicyDocument> = ram.docs.iter().collect();
        let principals = [PrincipalRef::Ram(USER_ARN)];
        let request = Request {
            action: "oss:GetObject",
            resource: &ram.resource,
            context: &ram.context,
            principals: &principals,
        };
        let ced = CedarSetup::new(n);
        let creq = CedarSetup::request(n, "oss:GetObject", &good_ip(n));
        let iters = u32::try_from(200_000 / n).unwrap();
        let ram_ns = mean_ns(iters, || {
            black_box(policy::evaluate(black_box(&refs), black_box(&request)));
        });
        let cedar_ns = mean_ns(iters, || {
            black_box(ced.decide(black_box(&creq)));
        });
        let (factor, word) = if ram_ns <= cedar_ns {
            (cedar_ns / ram_ns, "faster")
        } else {
            (ram_ns / cedar_ns, "slower")
        };
        println!(
            "ratio rambridge/cedar ({n} policies): {factor:.2}x {word} \
             (rambridge {ram_ns:.0} ns, cedar {cedar_ns:.0} ns per decision, {iters} iterations)"
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_decisions(&mut c);
    bench_parse(&mut c);
    bench_matcher(&mut c);
    c.final_summary();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then criterion only runs each benchmark once: skip the timing loop.
    if std::env::args().any(|a| a == "--bench") {
        print_ratios();
    }
}
