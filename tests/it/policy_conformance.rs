//! Runs `tests/fixtures/policy/conformance.json`: every case is parsed and
//! evaluated, and all mismatches are reported together, by case name.

use rambridge::policy::{
    Context, DocumentKind, MAX_CUSTOM_POLICY_CHARS, MAX_SESSION_POLICY_CHARS,
    MAX_TRUST_POLICY_CHARS, Outcome, PolicyDocument, PolicyError, PrincipalRef, Request,
    StatementId, evaluate_with_session, parse,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// Policy objects, or strings used verbatim as the document text.
    policies: Vec<serde_json::Value>,
    #[serde(default)]
    session_policy: Option<serde_json::Value>,
    #[serde(default)]
    request: Option<RequestSpec>,
    /// `"trust"` parses the policies as trust policies.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    expect: Option<Outcome>,
    #[serde(default)]
    expect_statement: Option<[usize; 2]>,
    /// Substring of the expected parse error message.
    #[serde(default)]
    expect_error: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSpec {
    action: String,
    resource: String,
    #[serde(default)]
    context: BTreeMap<String, Vec<String>>,
    /// `RAM:<arn>`, `Service:<name>` or `Federated:<arn>`.
    #[serde(default)]
    principals: Vec<String>,
}

fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}

fn principal(spec: &str) -> Result<PrincipalRef<'_>, String> {
    match spec.split_once(':') {
        Some(("RAM", v)) => Ok(PrincipalRef::Ram(v)),
        Some(("Service", v)) => Ok(PrincipalRef::Service(v)),
        Some(("Federated", v)) => Ok(PrincipalRef::Federated(v)),
        _ => Err(format!("bad principal spec {spec:?}")),
    }
}

fn parse_all(case: &Case) -> Result<(Vec<PolicyDocument>, Option<PolicyDocument>), PolicyError> {
    let (kind, max) = match case.kind.as_deref() {
        Some("trust") => (DocumentKind::Trust, MAX_TRUST_POLICY_CHARS),
        _ => (DocumentKind::Permission, MAX_CUSTOM_POLICY_CHARS),
    };
    let docs = case
        .policies
        .iter()
        .map(|p| parse(&text_of(p), kind, max))
        .collect::<Result<Vec<_>, _>>()?;
    let session = case
        .session_policy
        .as_ref()
        .map(|p| {
            parse(
                &text_of(p),
                DocumentKind::Permission,
                MAX_SESSION_POLICY_CHARS,
            )
        })
        .transpose()?;
    Ok((docs, session))
}

/// Runs one case; `Err` describes the mismatch.
fn run(case: &Case) -> Result<(), String> {
    if let Some(kind) = case.kind.as_deref().filter(|k| *k != "trust") {
        return Err(format!("unknown kind {kind:?}"));
    }
    let parsed = parse_all(case);
    match (&case.expect_error, &case.expect) {
        (Some(needle), None) => {
            return match parsed {
                Err(e) if e.to_string().contains(needle.as_str()) => Ok(()),
                Err(e) => Err(format!(
                    "expected error containing {needle:?}, got {:?}",
                    e.to_string()
                )),
                Ok(_) => Err(format!(
                    "expected error containing {needle:?}, but everything parsed"
                )),
            };
        }
        (None, Some(_)) => {}
        _ => return Err("exactly one of expect / expect_error is required".into()),
    }
    let expect = case.expect.ok_or("missing expect")?;
    let (docs, session) = parsed.map_err(|e| format!("unexpected parse error: {e}"))?;
    let spec = case.request.as_ref().ok_or("missing request")?;
    let mut context = Context::new();
    for (key, values) in &spec.context {
        for v in values {
            context.insert(key, v.as_str());
        }
    }
    let principals = spec
        .principals
        .iter()
        .map(|p| principal(p))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&PolicyDocument> = docs.iter().collect();
    let request = Request {
        action: &spec.action,
        resource: &spec.resource,
        context: &context,
        principals: &principals,
    };
    let decision = evaluate_with_session(&refs, session.as_ref(), &request);
    if decision.outcome != expect {
        return Err(format!("expected {expect:?}, got {decision:?}"));
    }
    if (decision.outcome == Outcome::ImplicitDeny) != decision.deciding.is_none() {
        return Err(format!(
            "deciding statement inconsistent with outcome: {decision:?}"
        ));
    }
    if let Some([policy, statement]) = case.expect_statement {
        let want = StatementId { policy, statement };
        if decision.deciding != Some(want) {
            return Err(format!(
                "expected deciding statement {want}, got {:?}",
                decision.deciding
            ));
        }
    }
    Ok(())
}

#[test]
fn policy_conformance_fixture() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/policy/conformance.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let fixture: Fixture = serde_json::from_str(&text).unwrap();
    assert!(
        fixture.cases.len() >= 100,
        "only {} cases",
        fixture.cases.len()
    );
    let mut names = HashSet::new();
    let mut failures = Vec::new();
    for case in &fixture.cases {
        assert!(
            names.insert(case.name.as_str()),
            "duplicate case name {:?}",
            case.name
        );
        if let Err(why) = run(case) {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n{}",
        failures.len(),
        fixture.cases.len(),
        failures.join("\n")
    );
}
