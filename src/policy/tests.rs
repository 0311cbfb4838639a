#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const KEY: &str = "test:Key";

fn permission(text: &str) -> PolicyDocument {
    match parse(text, DocumentKind::Permission, MAX_CUSTOM_POLICY_CHARS) {
        Ok(doc) => doc,
        Err(e) => panic!("policy should parse: {e}\n{text}"),
    }
}

fn trust(text: &str) -> PolicyDocument {
    match parse(text, DocumentKind::Trust, MAX_TRUST_POLICY_CHARS) {
        Ok(doc) => doc,
        Err(e) => panic!("trust policy should parse: {e}\n{text}"),
    }
}

fn parse_err(text: &str) -> PolicyError {
    match parse(text, DocumentKind::Permission, MAX_CUSTOM_POLICY_CHARS) {
        Ok(_) => panic!("policy should be rejected:\n{text}"),
        Err(e) => e,
    }
}

fn trust_err(text: &str) -> PolicyError {
    match parse(text, DocumentKind::Trust, MAX_TRUST_POLICY_CHARS) {
        Ok(_) => panic!("trust policy should be rejected:\n{text}"),
        Err(e) => e,
    }
}

/// A one-statement policy with the given effect and condition block.
fn conditional(effect: &str, condition: &str) -> PolicyDocument {
    permission(&format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"{effect}","Action":"svc:Do","Resource":"*","Condition":{condition}}}]}}"#
    ))
}

fn run(doc: &PolicyDocument, context: &Context) -> Decision {
    evaluate(
        &[doc],
        &Request {
            action: "svc:Do",
            resource: "acs:svc:*:123:thing",
            context,
            principals: &[],
        },
    )
}

/// Checks one operator: `positive` context value makes it hold, `negative`
/// makes it fail, and an absent key gives `absent`. Also checks that an
/// absent key never produces an evaluation error.
fn check_operator(op: &str, values: &str, positive: &[&str], negative: &[&str], absent: bool) {
    let doc = conditional("Allow", &format!(r#"{{"{op}":{{"{KEY}":{values}}}}}"#));
    let pos = run(
        &doc,
        &Context::new().with_many(KEY, positive.iter().copied()),
    );
    assert_eq!(
        pos.outcome,
        Outcome::Allow,
        "{op} {values} should hold for {positive:?}: {pos:?}"
    );
    assert!(pos.errors.is_empty());
    let neg = run(
        &doc,
        &Context::new().with_many(KEY, negative.iter().copied()),
    );
    assert_eq!(
        neg.outcome,
        Outcome::ImplicitDeny,
        "{op} {values} should fail for {negative:?}"
    );
    assert!(neg.errors.is_empty());
    let abs = run(&doc, &Context::new().with("other:key", "x"));
    assert_eq!(abs.is_allowed(), absent, "{op} with absent key");
    assert!(abs.errors.is_empty());
}

/// For typed operators: an unparseable context value is an error; an Allow
/// does not match, a Deny does.
fn check_fails_closed(op: &str, values: &str, bad: &str) {
    let condition = format!(r#"{{"{op}":{{"{KEY}":{values}}}}}"#);
    let ctx = Context::new().with(KEY, bad);
    let allow = run(&conditional("Allow", &condition), &ctx);
    assert_eq!(allow.outcome, Outcome::ImplicitDeny, "{op}");
    assert_eq!(allow.errors.len(), 1, "{op}");
    assert!(allow.errors[0].message.contains(bad), "{}", allow.errors[0]);
    assert!(allow.errors[0].path.contains(op), "{}", allow.errors[0]);
    let deny = run(&conditional("Deny", &condition), &ctx);
    assert_eq!(deny.outcome, Outcome::ExplicitDeny, "{op}");
    assert_eq!(
        deny.deciding,
        Some(StatementId {
            policy: 0,
            statement: 0
        })
    );
    assert_eq!(deny.errors.len(), 1);
}

// ---------------------------------------------------------------- operators

#[test]
fn op_string_equals() {
    check_operator("StringEquals", r#"["a","b"]"#, &["b"], &["B"], false);
}

#[test]
fn op_string_not_equals() {
    check_operator("StringNotEquals", r#"["a","b"]"#, &["c"], &["a"], true);
}

#[test]
fn op_string_equals_ignore_case() {
    check_operator(
        "StringEqualsIgnoreCase",
        r#""HeLLo""#,
        &["hello"],
        &["hell"],
        false,
    );
    check_operator(
        "StringEqualsIgnoreCase",
        r#""ÄRGER""#,
        &["ärger"],
        &["arger"],
        false,
    );
}

#[test]
fn op_string_not_equals_ignore_case() {
    check_operator(
        "StringNotEqualsIgnoreCase",
        r#""HeLLo""#,
        &["world"],
        &["HELLO"],
        true,
    );
}

#[test]
fn op_string_like() {
    check_operator(
        "StringLike",
        r#"["img/*.png","doc?"]"#,
        &["img/a/b.png"],
        &["IMG/a.png"],
        false,
    );
    check_operator("StringLike", r#""doc?""#, &["doc1"], &["doc12"], false);
}

#[test]
fn op_string_not_like() {
    check_operator("StringNotLike", r#""tmp/*""#, &["home/x"], &["tmp/x"], true);
}

#[test]
fn op_numeric_equals() {
    check_operator("NumericEquals", r#"["10", 20]"#, &["10.0"], &["11"], false);
}

#[test]
fn op_numeric_not_equals() {
    check_operator("NumericNotEquals", "10", &["11"], &["1e1"], true);
}

#[test]
fn op_numeric_less_than() {
    check_operator("NumericLessThan", "10", &["9.5"], &["10"], false);
}

#[test]
fn op_numeric_less_than_equals() {
    check_operator("NumericLessThanEquals", "10", &["10"], &["10.01"], false);
}

#[test]
fn op_numeric_greater_than() {
    check_operator("NumericGreaterThan", r#""-1""#, &["0"], &["-1"], false);
}

#[test]
fn op_numeric_greater_than_equals() {
    check_operator(
        "NumericGreaterThanEquals",
        "3600",
        &["3600"],
        &["3599"],
        false,
    );
}

#[test]
fn op_date_equals() {
    check_operator(
        "DateEquals",
        r#""2024-01-01T08:00:00+08:00""#,
        &["2024-01-01T00:00:00Z"],
        &["2024-01-01T00:00:01Z"],
        false,
    );
    check_operator(
        "DateEquals",
        r#""2024-01-01""#,
        &["2024-01-01T00:00:00Z"],
        &["2024-01-02"],
        false,
    );
}

#[test]
fn op_date_not_equals() {
    check_operator(
        "DateNotEquals",
        r#""2024-01-01""#,
        &["2024-01-02"],
        &["2024-01-01T00:00:00.000Z"],
        true,
    );
}

#[test]
fn op_date_less_than() {
    check_operator(
        "DateLessThan",
        r#""2024-06-01T00:00:00Z""#,
        &["2024-05-31T23:59:59Z"],
        &["2024-06-01T00:00:00Z"],
        false,
    );
}

#[test]
fn op_date_less_than_equals() {
    check_operator(
        "DateLessThanEquals",
        r#""2024-06-01T00:00:00Z""#,
        &["2024-06-01T08:00:00+08:00"],
        &["2024-06-01T00:00:01Z"],
        false,
    );
}

#[test]
fn op_date_greater_than() {
    check_operator(
        "DateGreaterThan",
        r#""2024-06-01""#,
        &["2024-06-01T00:00:01Z"],
        &["2024-06-01"],
        false,
    );
}

#[test]
fn op_date_greater_than_equals() {
    check_operator(
        "DateGreaterThanEquals",
        r#""2024-06-01T00:00:00+0800""#,
        &["2024-05-31T16:00:00Z"],
        &["2024-05-31T15:59:59Z"],
        false,
    );
}

#[test]
fn op_bool() {
    check_operator("Bool", "true", &["true"], &["false"], false);
    check_operator("Bool", r#""false""#, &["FALSE"], &["true"], false);
}

#[test]
fn op_ip_address() {
    check_operator(
        "IpAddress",
        r#"["10.0.0.0/8","2001:db8::/32","192.168.1.7"]"#,
        &["10.255.0.1"],
        &["11.0.0.1"],
        false,
    );
    check_operator(
        "IpAddress",
        r#""2001:db8::/32""#,
        &["2001:db8:1::5"],
        &["2001:db9::1"],
        false,
    );
    check_operator(
        "IpAddress",
        r#""192.168.1.7""#,
        &["192.168.1.7"],
        &["192.168.1.8"],
        false,
    );
    // IPv4-mapped IPv6 context addresses are treated as IPv4.
    check_operator(
        "IpAddress",
        r#""10.0.0.0/8""#,
        &["::ffff:10.1.2.3"],
        &["::ffff:11.1.2.3"],
        false,
    );
}

#[test]
fn op_not_ip_address() {
    check_operator(
        "NotIpAddress",
        r#""10.0.0.0/8""#,
        &["8.8.8.8"],
        &["10.0.0.1"],
        true,
    );
}

#[test]
fn typed_operators_fail_closed_on_bad_context_values() {
    check_fails_closed("NumericEquals", "1", "abc");
    check_fails_closed("NumericNotEquals", "1", "abc");
    check_fails_closed("NumericLessThan", "1", "1O");
    check_fails_closed("NumericLessThanEquals", "1", "NaN");
    check_fails_closed("NumericGreaterThan", "1", "inf");
    check_fails_closed("NumericGreaterThanEquals", "1", " 1");
    check_fails_closed("DateEquals", r#""2024-01-01""#, "yesterday");
    check_fails_closed("DateNotEquals", r#""2024-01-01""#, "2024-13-01");
    check_fails_closed("DateLessThan", r#""2024-01-01""#, "1704067200");
    check_fails_closed(
        "DateLessThanEquals",
        r#""2024-01-01""#,
        "2024-01-01T00:00:00",
    );
    check_fails_closed("DateGreaterThan", r#""2024-01-01""#, "");
    check_fails_closed("DateGreaterThanEquals", r#""2024-01-01""#, "01/01/2024");
    check_fails_closed("Bool", "true", "yes");
    check_fails_closed("IpAddress", r#""10.0.0.0/8""#, "10.0.0.0/8");
    check_fails_closed("NotIpAddress", r#""10.0.0.0/8""#, "300.1.1.1");
}

#[test]
fn one_bad_context_value_among_good_ones_is_still_an_error() {
    let doc = conditional("Allow", &format!(r#"{{"NumericEquals":{{"{KEY}":"1"}}}}"#));
    let d = run(&doc, &Context::new().with_many(KEY, ["1", "x"]));
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(d.errors.len(), 1);
}

#[test]
fn negated_operators_are_exact_negations_over_multi_valued_context() {
    // StringNotEquals is NOT(any context value equals any policy value):
    // a context with values [a, z] contains "a", so the negation is false.
    let not_eq = conditional(
        "Allow",
        &format!(r#"{{"StringNotEquals":{{"{KEY}":["a","b"]}}}}"#),
    );
    assert!(!run(&not_eq, &Context::new().with_many(KEY, ["a", "z"])).is_allowed());
    assert!(run(&not_eq, &Context::new().with_many(KEY, ["y", "z"])).is_allowed());
    let eq = conditional(
        "Allow",
        &format!(r#"{{"StringEquals":{{"{KEY}":["a","b"]}}}}"#),
    );
    assert!(run(&eq, &Context::new().with_many(KEY, ["z", "b"])).is_allowed());
}

#[test]
fn empty_with_many_leaves_key_absent() {
    let ctx = Context::new().with_many(KEY, Vec::<String>::new());
    assert!(ctx.get(KEY).is_none());
    assert!(ctx.is_empty());
}

#[test]
fn condition_keys_are_case_insensitive() {
    let doc = conditional("Allow", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#);
    assert!(run(&doc, &Context::new().with("ACS:SOURCEIP", "10.1.1.1")).is_allowed());
    assert!(run(&doc, &Context::new().with("acs:sourceip", "10.1.1.1")).is_allowed());
    assert_eq!(
        Context::new().with("A:B", "1").with("a:b", "2").get("a:B"),
        Some(&["1".to_owned(), "2".to_owned()][..])
    );
}

#[test]
fn and_across_operators_and_keys_or_across_values() {
    let doc = conditional(
        "Allow",
        r#"{"StringEquals":{"a:x":["1","2"],"a:y":"3"},"Bool":{"a:z":"true"}}"#,
    );
    let full = Context::new()
        .with("a:x", "2")
        .with("a:y", "3")
        .with("a:z", "true");
    assert!(run(&doc, &full).is_allowed());
    let missing_y = Context::new().with("a:x", "2").with("a:z", "true");
    assert!(!run(&doc, &missing_y).is_allowed());
    let bool_false = Context::new()
        .with("a:x", "1")
        .with("a:y", "3")
        .with("a:z", "false");
    assert!(!run(&doc, &bool_false).is_allowed());
}

#[test]
fn current_time_comes_from_the_context() {
    use chrono::TimeZone;
    let doc = conditional(
        "Allow",
        r#"{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}"#,
    );
    let before = chrono::Utc
        .with_ymd_and_hms(2029, 12, 31, 23, 0, 0)
        .unwrap();
    let after = chrono::Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    assert!(run(&doc, &Context::new().with_current_time(before)).is_allowed());
    assert!(!run(&doc, &Context::new().with_current_time(after)).is_allowed());
    assert!(!run(&doc, &Context::new()).is_allowed());
}

// ------------------------------------------------------------------ matcher

#[test]
fn matcher_basics() {
    let cases: &[(&str, &str, bool)] = &[
        ("*", "", true),
        ("*", "anything", true),
        ("", "", true),
        ("", "a", false),
        ("a*", "a", true),
        ("a*b", "ab", true),
        ("a*b", "axxb", true),
        ("a*b", "axxbc", false),
        ("a*b*c", "abbbc", true),
        ("?", "", false),
        ("?", "é", true),
        ("??", "é", false),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("*.png", "x.png.png", true),
        ("**a**", "bab", true),
        ("abc", "ABC", false),
    ];
    for (pattern, text, expected) in cases {
        assert_eq!(
            wildcard_match(pattern, text),
            *expected,
            "{pattern:?} vs {text:?}"
        );
    }
    assert!(Pattern::new("oss:Get*", true).matches("OSS:getobject"));
    assert!(!Pattern::new("oss:Get*", false).matches("OSS:getobject"));
    assert_eq!(Pattern::new("a*", true).as_str(), "a*");
}

#[test]
fn matcher_has_no_exponential_blowup() {
    let pattern = format!("{}b", "a*".repeat(60));
    let text = "a".repeat(5000);
    let start = std::time::Instant::now();
    assert!(!wildcard_match(&pattern, &text));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

// ---------------------------------------------------------- parse: success

#[test]
fn parses_single_statement_object_and_string_forms() {
    let doc = permission(
        r#"{"Version":"1","Statement":{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:b/*"}}"#,
    );
    assert_eq!(doc.statement_count(), 1);
    assert_eq!(doc.kind(), DocumentKind::Permission);
    assert_eq!(doc.effects().collect::<Vec<_>>(), vec![Effect::Allow]);
    assert!(doc.source().starts_with("{\"Version\""));
}

#[test]
fn trust_policy_normalizes_bare_account_ids() {
    let doc = trust(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"1234567890123456"}}]}"#,
    );
    let ctx = Context::new();
    let req = |principals: &[PrincipalRef<'_>]| {
        evaluate(
            &[&doc],
            &Request {
                action: "sts:AssumeRole",
                resource: "acs:ram::1:role/x",
                context: &ctx,
                principals,
            },
        )
        .outcome
    };
    assert_eq!(
        req(&[PrincipalRef::Ram("acs:ram::1234567890123456:root")]),
        Outcome::Allow
    );
    assert_eq!(
        req(&[PrincipalRef::Ram("1234567890123456")]),
        Outcome::Allow
    );
    assert_eq!(
        req(&[PrincipalRef::Ram("acs:ram::1234567890123456:user/bob")]),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        req(&[PrincipalRef::Service("ecs.aliyuncs.com")]),
        Outcome::ImplicitDeny
    );
    assert_eq!(req(&[]), Outcome::ImplicitDeny);
}

#[test]
fn length_limit_counts_chars_not_bytes() {
    let text = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"acs:x:*:*:ééé"}]}"#;
    let chars = text.chars().count();
    assert!(text.len() > chars);
    assert!(parse(text, DocumentKind::Permission, chars).is_ok());
    assert_eq!(
        parse(text, DocumentKind::Permission, chars - 1).unwrap_err(),
        PolicyError::TooLong {
            chars,
            max: chars - 1
        }
    );
}

// ----------------------------------------------------- parse: error classes

fn assert_msg(err: &PolicyError, needle: &str) {
    let msg = err.to_string();
    assert!(msg.contains(needle), "{msg:?} should contain {needle:?}");
}

#[test]
fn error_too_long() {
    let err = parse(
        &" ".repeat(2049),
        DocumentKind::Permission,
        MAX_SESSION_POLICY_CHARS,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        PolicyError::TooLong {
            chars: 2049,
            max: 2048
        }
    ));
    assert_msg(&err, "2049 characters long; the maximum is 2048");
}

#[test]
fn error_syntax() {
    for text in ["", "{", r#"{"Version":"1",}"#, "[1] x", "{'Version':'1'}"] {
        let err = parse_err(text);
        assert!(matches!(err, PolicyError::Syntax { .. }), "{text:?}: {err}");
        assert_msg(&err, "not valid JSON");
    }
    assert_msg(&parse_err("{\n  \"Version\": 1,,\n}"), "line 2");
}

#[test]
fn error_duplicate_key() {
    let err = parse_err(r#"{"Version":"1","Version":"1","Statement":[]}"#);
    assert_eq!(
        err,
        PolicyError::DuplicateKey {
            path: "document".into(),
            key: "Version".into()
        }
    );
    let err = parse_err(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}]}"#,
    );
    assert_msg(&err, r#"Statement[0]: duplicate key "Effect""#);
    let err = parse_err(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"1.1.1.1","acs:SourceIp":"2.2.2.2"}}}]}"#,
    );
    assert_msg(
        &err,
        r#"Statement[0].Condition.IpAddress: duplicate key "acs:SourceIp""#,
    );
    // Condition keys are case-insensitive, so differing case is a duplicate too.
    let err = parse_err(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"1.1.1.1","acs:sourceip":"2.2.2.2"}}}]}"#,
    );
    assert!(matches!(err, PolicyError::DuplicateKey { .. }), "{err}");
    // Duplicates inside unknown/ignored parts are found too (before schema checks).
    let err = parse_err(r#"{"Version":"1","Statement":[{"X":{"a":1,"a":2}}]}"#);
    assert_msg(&err, r#"Statement[0].X: duplicate key "a""#);
}

#[test]
fn error_unknown_key() {
    let err = parse_err(r#"{"Version":"1","Id":"x","Statement":[]}"#);
    assert_eq!(
        err,
        PolicyError::UnknownKey {
            path: "document".into(),
            key: "Id".into()
        }
    );
    let err = parse_err(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Sid":"a"}]}"#,
    );
    assert_msg(&err, r#"Statement[0]: unknown key "Sid""#);
    let err = parse_err(r#"{"version":"1","Statement":[]}"#);
    assert!(matches!(err, PolicyError::UnknownKey { .. }));
    let err = trust_err(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"x"}}]}"#,
    );
    assert_msg(&err, r#"Statement[0].Principal: unknown key "AWS""#);
}

#[test]
fn error_unsupported() {
    let err = parse_err(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","NotResource":"*"}]}"#,
    );
    assert!(matches!(err, PolicyError::Unsupported { .. }));
    assert_msg(&err, r#"Statement[0]: key "NotResource" is not supported"#);
    let err = trust_err(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","NotPrincipal":{"RAM":"*"}}]}"#,
    );
    assert_msg(&err, "NotPrincipal");
    for op in [
        "StringEqualsIfExists",
        "ForAnyValue:StringEquals",
        "ForAllValues:StringLike",
    ] {
        let err = parse_err(&format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{op}":{{"a:b":"c"}}}}}}]}}"#
        ));
        assert!(
            matches!(err, PolicyError::Unsupported { .. }),
            "{op}: {err}"
        );
        assert_msg(
            &err,
            &format!("Statement[0].Condition.{op}: condition operator modifier"),
        );
    }
}

#[test]
fn error_missing_key() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"Statement":[]}"#,
            r#"document: required key "Version" is missing"#,
        ),
        (
            r#"{"Version":"1"}"#,
            r#"document: required key "Statement" is missing"#,
        ),
        (
            r#"{"Version":"1","Statement":[{"Action":"*","Resource":"*"}]}"#,
            r#"Statement[0]: required key "Effect""#,
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
            r#"Statement[0]: required key "Action""#,
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"*"}]}"#,
            r#"Statement[1]: required key "Resource""#,
        ),
    ];
    for (text, needle) in cases {
        let err = parse_err(text);
        assert!(matches!(err, PolicyError::MissingKey { .. }), "{err}");
        assert_msg(&err, needle);
    }
    let err =
        trust_err(r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#);
    assert_msg(&err, r#"Statement[0]: required key "Principal" is missing"#);
}

#[test]
fn error_wrong_type() {
    let cases: &[(&str, &str)] = &[
        ("[]", "document: expected an object, found an array"),
        (
            r#"{"Version":1,"Statement":[]}"#,
            "Version: expected the string \"1\", found a number",
        ),
        (
            r#"{"Version":"1","Statement":"x"}"#,
            "Statement: expected an array of statements",
        ),
        (
            r#"{"Version":"1","Statement":[1]}"#,
            "Statement[0]: expected an object, found a number",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":true,"Action":"*","Resource":"*"}]}"#,
            "Statement[0].Effect: expected a string, found a boolean",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":{"a":1},"Resource":"*"}]}"#,
            "Statement[0].Action: expected a string or an array of strings, found an object",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:A",null],"Resource":"*"}]}"#,
            "Statement[0].Action[1]: expected a string, found null",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":[]}]}"#,
            "Statement[0].Condition: expected an object, found an array",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a:b":1}}}]}"#,
            r#"Statement[0].Condition.StringEquals["a:b"]: expected a string, found a number"#,
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"a:b":[1,true]}}}]}"#,
            r#"Statement[0].Condition.NumericEquals["a:b"][1]: expected a number or a numeric string, found a boolean"#,
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"a:b":1}}}]}"#,
            r#"Statement[0].Condition.Bool["a:b"]: expected a boolean"#,
        ),
    ];
    for (text, needle) in cases {
        let err = parse_err(text);
        assert!(matches!(err, PolicyError::WrongType { .. }), "{err}");
        assert_msg(&err, needle);
    }
}

#[test]
fn error_invalid_value() {
    let stmt = |body: &str| format!(r#"{{"Version":"1","Statement":[{{{body}}}]}}"#);
    let cond = |c: &str| {
        stmt(&format!(
            r#""Effect":"Allow","Action":"*","Resource":"*","Condition":{c}"#
        ))
    };
    let cases: Vec<(String, &str)> = vec![
        (
            r#"{"Version":"2","Statement":[]}"#.into(),
            r#"Version: unsupported version "2""#,
        ),
        (
            r#"{"Version":"1","Statement":[]}"#.into(),
            "Statement: must not be an empty array",
        ),
        (
            stmt(r#""Effect":"allow","Action":"*","Resource":"*""#),
            r#"Statement[0].Effect: "allow" is not a valid effect"#,
        ),
        (
            stmt(r#""Effect":"Allow","Action":"*","NotAction":"*","Resource":"*""#),
            r#"Statement[0]: has both "Action" and "NotAction""#,
        ),
        (
            stmt(r#""Effect":"Allow","Action":[],"Resource":"*""#),
            "Statement[0].Action: must not be an empty array",
        ),
        (
            stmt(r#""Effect":"Allow","Action":"","Resource":"*""#),
            "Statement[0].Action: must not be an empty string",
        ),
        (
            stmt(r#""Effect":"Allow","Action":["oss:Get*","oss"],"Resource":"*""#),
            r#"Statement[0].Action[1]: "oss" is not a valid action"#,
        ),
        (
            stmt(r#""Effect":"Allow","Action":"o$s:Get","Resource":"*""#),
            r#""o$s:Get" is not a valid action"#,
        ),
        (
            stmt(r#""Effect":"Allow","Action":"oss:Get Object","Resource":"*""#),
            "is not a valid action",
        ),
        (
            stmt(r#""Effect":"Allow","NotAction":"o_s:x","Resource":"*""#),
            r#"Statement[0].NotAction: "o_s:x""#,
        ),
        (
            stmt(r#""Effect":"Allow","Action":"*","Resource":["*","arn:aws:s3:::b"]"#),
            r#"Statement[0].Resource[1]: "arn:aws:s3:::b" is not a valid resource"#,
        ),
        (
            stmt(r#""Effect":"Allow","Action":"*","Resource":[]"#),
            "Statement[0].Resource: must not be an empty array",
        ),
        (
            stmt(r#""Effect":"Allow","Action":"*","Resource":"*","Principal":{"RAM":"*"}"#),
            r#"Statement[0].Principal: "Principal" is only allowed in trust policies"#,
        ),
        (
            cond("{}"),
            "Statement[0].Condition: must not be an empty object",
        ),
        (
            cond(r#"{"StringEquals":{}}"#),
            "Statement[0].Condition.StringEquals: must not be an empty object",
        ),
        (
            cond(r#"{"StringEquals":{"a:b":[]}}"#),
            r#"Statement[0].Condition.StringEquals["a:b"]: must not be an empty array"#,
        ),
        (
            cond(r#"{"StringMatches":{"a:b":"c"}}"#),
            r#"unknown condition operator "StringMatches""#,
        ),
        (
            cond(r#"{"stringequals":{"a:b":"c"}}"#),
            r#"unknown condition operator "stringequals""#,
        ),
        (
            cond(r#"{"StringEquals":{"nokey":"c"}}"#),
            r#""nokey" is not a valid condition key"#,
        ),
        (
            cond(r#"{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","300.1.1.1"]}}"#),
            r#"Statement[0].Condition.IpAddress["acs:SourceIp"][1]: "300.1.1.1" is not an IP address or CIDR"#,
        ),
        (
            cond(r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/33"}}"#),
            "is not an IP address or CIDR",
        ),
        (
            cond(r#"{"IpAddress":{"acs:SourceIp":"2001:db8::/129"}}"#),
            "is not an IP address or CIDR",
        ),
        (
            cond(r#"{"NumericLessThan":{"a:b":"ten"}}"#),
            r#""ten" is not a number"#,
        ),
        (
            cond(r#"{"NumericLessThan":{"a:b":"NaN"}}"#),
            r#""NaN" is not a number"#,
        ),
        (
            cond(r#"{"DateLessThan":{"a:b":"2024-02-30"}}"#),
            r#""2024-02-30" is not a date"#,
        ),
        (
            cond(r#"{"DateLessThan":{"a:b":"2024-01-01T00:00:00"}}"#),
            "is not a date",
        ),
        (
            cond(r#"{"Bool":{"a:b":"yes"}}"#),
            r#""yes" is not a boolean"#,
        ),
    ];
    for (text, needle) in &cases {
        let err = parse_err(text);
        assert!(matches!(err, PolicyError::Invalid { .. }), "{text}: {err}");
        assert_msg(&err, needle);
    }
}

#[test]
fn error_invalid_trust_principals() {
    let with = |principal: &str| {
        format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{principal}}}]}}"#
        )
    };
    let cases: &[(&str, &str)] = &[
        ("{}", "Statement[0].Principal: must name at least one of"),
        (
            r#"{"RAM":"12345"}"#,
            r#"Statement[0].Principal.RAM: "12345" is not a RAM principal"#,
        ),
        (
            r#"{"RAM":["*","acs:ram::123:root"]}"#,
            r#"Statement[0].Principal.RAM[1]: "acs:ram::123:root""#,
        ),
        (
            r#"{"RAM":"acs:ram::1234567890123456:group/x"}"#,
            "is not a RAM principal",
        ),
        (
            r#"{"RAM":"acs:ram::1234567890123456:user/"}"#,
            "is not a RAM principal",
        ),
        (
            r#"{"Service":"ecs"}"#,
            r#""ecs" is not a service principal"#,
        ),
        (
            r#"{"Service":"-ecs.aliyuncs.com"}"#,
            "is not a service principal",
        ),
        (
            r#"{"Federated":"acs:ram::1234567890123456:role/x"}"#,
            "is not a federated principal",
        ),
        (
            r#"{"RAM":[]}"#,
            "Statement[0].Principal.RAM: must not be an empty array",
        ),
        (
            r#"{"Service":""}"#,
            "Statement[0].Principal.Service: must not be an empty string",
        ),
    ];
    for (principal, needle) in cases {
        let err = trust_err(&with(principal));
        assert!(
            matches!(err, PolicyError::Invalid { .. }),
            "{principal}: {err}"
        );
        assert_msg(&err, needle);
    }
    let err = trust_err(&with(r#""*""#));
    assert!(matches!(err, PolicyError::WrongType { .. }));
}

// --------------------------------------------------------------- evaluation

#[test]
fn deciding_statement_and_session_indexes() {
    let allow = permission(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}"#,
    );
    let deny = permission(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"},{"Effect":"Deny","Action":"oss:Delete*","Resource":"*"}]}"#,
    );
    let session = parse(
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"oss:GetObject","Resource":"*"}]}"#,
        DocumentKind::Permission,
        MAX_SESSION_POLICY_CHARS,
    )
    .unwrap();
    let ctx = Context::new();
    let req = |action: &'static str| Request {
        action,
        resource: "acs:oss:*:1:b/k",
        context: &ctx,
        principals: &[],
    };
    let d = evaluate(&[&allow, &deny], &req("oss:DeleteObject"));
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(
        d.deciding,
        Some(StatementId {
            policy: 1,
            statement: 1
        })
    );
    let d = evaluate(&[&allow, &deny], &req("oss:PutObject"));
    assert_eq!(
        d.deciding,
        Some(StatementId {
            policy: 0,
            statement: 0
        })
    );
    let d = evaluate_with_session(&[&allow, &deny], Some(&session), &req("oss:GetObject"));
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(
        d.deciding,
        Some(StatementId {
            policy: 2,
            statement: 0
        })
    );
    // Session policy that allows nothing for this action: implicit deny.
    let d = evaluate_with_session(&[&allow], Some(&session), &req("oss:PutObject"));
    assert_eq!((d.outcome, d.deciding), (Outcome::ImplicitDeny, None));
    let d = evaluate_with_session(&[&allow], None, &req("oss:PutObject"));
    assert!(d.is_allowed());
    assert_eq!(
        format!(
            "{}",
            StatementId {
                policy: 2,
                statement: 0
            }
        ),
        "policy 2 Statement[0]"
    );
}
