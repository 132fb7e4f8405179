//! Every limit of SPEC §5, at its bound (accepted) and one past it (`limit_exceeded` for a
//! document, `invalid_request` for a request), with small configured bounds so the tests stay
//! fast, and the defaults checked on hostile inputs that must fail cleanly.

use agen_policy_core::{Code, Limits, PolicySet, Request};
use serde_json::{json, Value};

fn document_with(policy_extra: Value, connector_tools: usize) -> String {
    let tools: Vec<Value> = (0..connector_tools)
        .map(|t| json!({ "name": format!("t{t}") }))
        .collect();
    let mut policy = json!({ "id": "p", "name": "P", "connector": "c", "action": "allow",
                             "all_users": true, "tools": ["t0"] });
    if let (Some(p), Some(extra)) = (policy.as_object_mut(), policy_extra.as_object()) {
        p.extend(extra.clone());
    }
    json!({ "connectors": [{ "id": "c", "tools": tools }], "policies": [policy] }).to_string()
}

fn targeting(rules: usize, conditions: usize, values: Value) -> Value {
    let condition = json!({ "attribute": "a", "operator": "equals", "values": values });
    let rule = json!({ "conditions": vec![condition; conditions] });
    json!({ "targeting": { "rules": vec![rule; rules] } })
}

/// Loads under `limits` and returns the codes and paths of the problems (empty when it loads).
fn problems(text: &str, limits: &Limits) -> Vec<(Code, String)> {
    match PolicySet::from_slice_with_limits(text.as_bytes(), limits) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| (p.code(), p.path().to_owned()))
            .collect(),
    }
}

fn limits(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

fn exceeded(at: &str) -> Vec<(Code, String)> {
    vec![(Code::LimitExceeded, at.to_owned())]
}

#[test]
fn document_size() {
    let text = document_with(json!({}), 1);
    let at = limits(|l| l.max_document_bytes = text.len());
    let below = limits(|l| l.max_document_bytes = text.len() - 1);
    assert_eq!(problems(&text, &at), []);
    assert_eq!(problems(&text, &below), exceeded(""));
}

#[test]
fn policies() {
    let text = document_with(json!({}), 1);
    assert_eq!(problems(&text, &limits(|l| l.max_policies = 1)), []);
    assert_eq!(
        problems(&text, &limits(|l| l.max_policies = 0)),
        exceeded("/policies")
    );
}

#[test]
fn tools_per_connector() {
    let text = document_with(json!({}), 5);
    assert_eq!(
        problems(&text, &limits(|l| l.max_tools_per_connector = 5)),
        []
    );
    assert_eq!(
        problems(&text, &limits(|l| l.max_tools_per_connector = 4)),
        exceeded("/connectors/0/tools")
    );
}

#[test]
fn rules_conditions_and_values() {
    let text = document_with(targeting(3, 4, json!(["x", "y", "z"])), 1);
    let at = limits(|l| {
        l.max_rules = 3;
        l.max_conditions = 4;
        l.max_values = 3;
    });
    assert_eq!(problems(&text, &at), []);
    let mut fewer_rules = at.clone();
    fewer_rules.max_rules = 2;
    assert_eq!(
        problems(&text, &fewer_rules),
        exceeded("/policies/0/targeting/rules")
    );
    let mut fewer_conditions = at.clone();
    fewer_conditions.max_conditions = 3;
    assert_eq!(
        problems(&text, &fewer_conditions),
        (0..3)
            .map(|r| (
                Code::LimitExceeded,
                format!("/policies/0/targeting/rules/{r}/conditions")
            ))
            .collect::<Vec<_>>()
    );
    let mut fewer_values = at;
    fewer_values.max_values = 2;
    assert_eq!(problems(&text, &fewer_values).len(), 12);
    assert_eq!(
        problems(&text, &fewer_values)[0],
        (
            Code::LimitExceeded,
            "/policies/0/targeting/rules/0/conditions/0/values".to_owned()
        )
    );
}

#[test]
fn default_values_per_condition() {
    let many: Vec<String> = (0..10_001).map(|i| format!("v{i}")).collect();
    let at = document_with(targeting(1, 1, json!(many[..10_000])), 1);
    let over = document_with(targeting(1, 1, json!(many)), 1);
    assert_eq!(problems(&at, &Limits::default()), []);
    assert_eq!(
        problems(&over, &Limits::default()),
        exceeded("/policies/0/targeting/rules/0/conditions/0/values")
    );
}

#[test]
fn attribute_segments() {
    let name = |n: usize| vec!["a"; n].join(".");
    let doc = |n: usize| {
        document_with(
            json!({ "targeting": { "rules": [{ "conditions": [
                { "attribute": name(n), "operator": "exists" }] }] } }),
            1,
        )
    };
    assert_eq!(problems(&doc(32), &Limits::default()), []);
    assert_eq!(
        problems(&doc(33), &Limits::default()),
        exceeded("/policies/0/targeting/rules/0/conditions/0/attribute")
    );
}

#[test]
fn pattern_length_and_compiled_regex_size() {
    let doc = |op: &str, pattern: String| {
        document_with(
            json!({ "targeting": { "rules": [{ "conditions": [
                { "attribute": "a", "operator": op, "values": [pattern] }] }] } }),
            1,
        )
    };
    let at = "a".repeat(4096);
    let over = "a".repeat(4097);
    let value = "/policies/0/targeting/rules/0/conditions/0/values/0";
    for op in ["matches", "regex"] {
        assert_eq!(
            problems(&doc(op, at.clone()), &Limits::default()),
            [],
            "{op}"
        );
        assert_eq!(
            problems(&doc(op, over.clone()), &Limits::default()),
            exceeded(value),
            "{op}"
        );
    }
    // Short to write, huge once compiled: counted repetitions of a Unicode class.
    let huge = r"\w{1000}\w{1000}\w{1000}".to_owned();
    assert_eq!(
        problems(&doc("regex", huge), &Limits::default()),
        exceeded(value)
    );
    let small = limits(|l| l.max_regex_compiled_bytes = 100);
    assert_eq!(
        problems(&doc("regex", "^abc$".into()), &Limits::default()),
        []
    );
    assert_eq!(
        problems(&doc("regex", r"\w+@\w+".into()), &small),
        exceeded(value)
    );
}

#[test]
fn regexes_too_large_say_what_is_smaller() {
    let doc = |pattern: &str| {
        document_with(
            json!({ "targeting": { "rules": [{ "conditions": [
                { "attribute": "a", "operator": "regex", "values": [pattern] }] }] } }),
            1,
        )
    };
    let message = |pattern: &str| match PolicySet::from_json(&doc(pattern)) {
        Err(e) => e.problems()[0].message().to_owned(),
        Ok(_) => String::new(),
    };
    let unicode = message(r"\w{1,30}");
    assert!(unicode.contains("compiles to more than"), "{unicode}");
    assert!(unicode.contains("(?-u:\\w)"), "{unicode}");
    assert_eq!(problems(&doc(r"(?-u:\w){1,30}"), &Limits::default()), []);
    assert_eq!(problems(&doc("[A-Za-z0-9_]{1,30}"), &Limits::default()), []);
    let plain = message("(?:[ab]{1000}){100}");
    assert!(
        plain.contains("compiles to more than") && !plain.contains("Unicode"),
        "{plain}"
    );
}

#[test]
fn regexes_of_a_document_share_one_budget() {
    // Ten thousand distinct patterns, each too large alone: at most four are compiled (and
    // refused) before the budget of four times the size bound is spent; the rest are refused
    // without compiling.
    let values: Vec<String> = (0..10_000).map(|i| format!(r"\w{{1,30}}{i}")).collect();
    let text = document_with(
        json!({ "targeting": { "rules": [{ "conditions": [
            { "attribute": "a", "operator": "regex", "values": values }] }] } }),
        1,
    );
    let tight = limits(|l| l.max_regex_total_bytes = 4 * l.max_regex_compiled_bytes);
    let Err(e) = PolicySet::from_slice_with_limits(text.as_bytes(), &tight) else {
        panic!("the document must be refused");
    };
    let compiled = e
        .problems()
        .iter()
        .filter(|p| p.message().contains("compiles to more than"))
        .count();
    assert!((1..=4).contains(&compiled), "{compiled} compiled");
    assert!(e.problems().iter().all(|p| p.code() == Code::LimitExceeded));
    assert!(e.problems()[10].message().contains("would take more than"));

    // Small ones fill the budget too: within it they load, past it they are refused.
    let doc = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| format!("^user-{i}$")).collect();
        document_with(
            json!({ "targeting": { "rules": [{ "conditions": [
                { "attribute": "a", "operator": "regex", "values": values }] }] } }),
            1,
        )
    };
    let small = limits(|l| l.max_regex_total_bytes = 200_000);
    assert_eq!(problems(&doc(5), &small), []);
    let refused = problems(&doc(500), &small);
    assert!(!refused.is_empty() && refused.len() < 500);
    // The same pattern in several places is compiled, and counted, once: room for one
    // holds three uses of it, not two patterns.
    let uses = |second: &str| {
        let extra = json!({ "targeting": { "rules": [{ "conditions": [
            { "attribute": "a", "operator": "regex", "values": ["^x$", second] },
            { "attribute": "b", "operator": "regex", "values": ["^x$"] }] }] } });
        document_with(extra, 1)
    };
    let room_for_one = (1..100)
        .map(|k| limits(|l| l.max_regex_total_bytes = k * 500))
        .find(|l| problems(&uses("^x$"), l).is_empty())
        .expect("some budget holds one small pattern");
    assert_eq!(
        problems(&uses("^y$"), &room_for_one),
        exceeded("/policies/0/targeting/rules/0/conditions/0/values/1")
    );
}

#[test]
fn deep_document_nesting_fails_cleanly() {
    // Far deeper than any parser could recurse through: no stack overflow, one clear problem.
    for depth in [65, 200, 100_000] {
        let text = format!(
            r#"{{"connectors": [], "policies": [{}{}]}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert_eq!(
            problems(&text, &Limits::default()),
            exceeded(""),
            "depth {depth}"
        );
    }
    let at = limits(|l| l.max_document_depth = 5);
    assert_eq!(
        problems(
            r#"{"connectors": [{"id": "c", "tools": [{"name": "t"}]}]}"#,
            &at
        ),
        []
    );
    assert_eq!(
        problems(
            r#"{"connectors": [{"id": "c", "tools": [{"name": "t", "x": []}]}]}"#,
            &at
        ),
        exceeded("")
    );
}

#[test]
fn very_long_strings_load_and_evaluate() {
    let long = "é".repeat(1_000_000);
    let text = json!({
        "connectors": [{ "id": "c", "tools": [{ "name": "t", "description": long }] }],
        "policies": [{ "id": "p", "name": long, "connector": "c", "action": "allow",
                       "all_users": true, "tools": ["t"],
                       "targeting": { "rules": [{ "conditions": [
                           { "attribute": "s", "operator": "contains", "values": [long] }] }] } }]
    })
    .to_string();
    let set = PolicySet::from_json(&text).expect("long strings are fine");
    let mut limits = Limits::default();
    limits.max_request_string_bytes = 4 << 20;
    let request = Request::builder("u", "c", "t")
        .context("s", long.clone())
        .build_with_limits(&limits)
        .expect("valid");
    assert!(set.evaluate(&request).allowed());
    // A long description is counted in characters and its message cut short.
    let text = document_with(json!({ "description": long }), 1);
    let e = PolicySet::from_json(&text).expect_err("too long");
    assert_eq!(e.problems()[0].code(), Code::DescriptionTooLong);
    assert!(e.problems()[0].message().len() < 300);
}

#[test]
fn too_many_problems_are_cut_off() {
    let policies: Vec<Value> = (0..5000).map(|_| json!({})).collect();
    let text = json!({ "connectors": [], "policies": policies }).to_string();
    let e = PolicySet::from_json(&text).expect_err("invalid");
    assert_eq!(e.problems().len(), 1001);
    let last = e.problems().last().expect("a problem");
    assert_eq!(last.code(), Code::LimitExceeded);
    assert!(
        last.message().starts_with("24000 more problems"),
        "{}",
        last.message()
    );
}

#[test]
fn request_context_depth() {
    fn nested(depth: usize) -> Value {
        // `depth` levels including the context object itself.
        (1..depth).fold(json!({}), |inner, _| json!({ "a": inner }))
    }
    let build = |depth: usize| {
        let Value::Object(context) = nested(depth) else {
            unreachable!()
        };
        Request::builder("u", "c", "t").context_map(context).build()
    };
    assert!(build(32).is_ok());
    let e = build(33).expect_err("too deep");
    assert_eq!((e.code(), e.path()), (Code::InvalidRequest, "/context"));

    let json = |depth: usize| {
        format!(
            r#"{{"user": "u", "connector": "c", "tool": "t", "context": {}}}"#,
            nested(depth)
        )
    };
    assert!(Request::from_json(&json(32)).is_ok());
    assert_eq!(
        Request::from_json(&json(33)).expect_err("too deep").path(),
        "/context"
    );
    // Hostile depth: refused before any recursion could overflow the stack.
    let hostile = format!(
        r#"{{"user": "u", "connector": "c", "tool": "t", "context": {}{}}}"#,
        r#"{"a":"#.repeat(200_000),
        "}".repeat(200_000)
    );
    assert_eq!(
        Request::from_json(&hostile).expect_err("too deep").code(),
        Code::InvalidRequest
    );
    let lists = format!(
        r#"{{"user": "u", "connector": "c", "tool": "t", "context": {{"a": {}{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(Request::from_json(&lists).is_err());
}

#[test]
fn request_size() {
    let text = r#"{"user": "u", "connector": "c", "tool": "t"}"#;
    let at = limits(|l| l.max_request_bytes = text.len());
    let below = limits(|l| l.max_request_bytes = text.len() - 1);
    assert!(Request::from_slice_with_limits(text.as_bytes(), &at).is_ok());
    assert_eq!(
        Request::from_slice_with_limits(text.as_bytes(), &below)
            .expect_err("too big")
            .code(),
        Code::InvalidRequest
    );
}

#[test]
fn a_request_s_strings_are_bounded_in_every_entry_point() {
    let max = Limits::default().max_request_string_bytes;
    // Just at the limit: the ids and the one value add up to exactly `max` bytes.
    let fits = "x".repeat(max - "u".len() - "c".len() - "t".len() - "s".len());
    assert!(Request::builder("u", "c", "t")
        .context("s", fits.clone())
        .build()
        .is_ok());
    let over = format!("{fits}x");
    let e = Request::builder("u", "c", "t")
        .context("s", over.clone())
        .build()
        .expect_err("one byte over");
    assert_eq!((e.code(), e.path()), (Code::InvalidRequest, ""));
    assert!(e.message().contains("strings exceed"), "{e}");
    let value = json!({"user": "u", "connector": "c", "tool": "t", "context": {"s": over}});
    assert!(Request::from_value(&value).is_err());
    // Many small keys count as much as one long value.
    let mut context = serde_json::Map::new();
    for i in 0..100_000 {
        context.insert(format!("key-{i:06}"), json!("value"));
    }
    let e = Request::builder("u", "c", "t")
        .context_map(context.clone())
        .build()
        .expect_err("100,000 keys");
    assert!(e.message().contains("strings exceed"), "{e}");
    let value = json!({"user": "u", "connector": "c", "tool": "t", "context": context});
    assert!(Request::from_value(&value).is_err());
    // Nested strings and keys count too.
    let nested = json!({"a": [{"b": over}]});
    assert!(Request::builder("u", "c", "t")
        .context("n", nested)
        .build()
        .is_err());
}
