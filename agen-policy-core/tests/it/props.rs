//! Property tests: the engine agrees with the reference evaluator (`reference.rs`) on random
//! documents and requests, and obeys the laws of SPEC §1 and §4: order independence, deny
//! dominance, a deny policy never loosens a decision, an unreferenced tool is denied.
//!
//! `PROPTEST_CASES=n` runs `n` documents per property instead of the defaults below.

use std::collections::{BTreeMap, BTreeSet};

use agen_policy_core::{Action, Decision as EngineDecision, Outcome, PolicySet, Request};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value};

use crate::generators::{self, Case};
use crate::reference::{self, rank, Decision, Evaluation};

fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    // A document takes thousands of random draws; in the debug profile, generating with
    // ChaCha (the default) takes three times as long as with XorShift.
    config.rng_algorithm = RngAlgorithm::XorShift;
    config
}

fn load(document: &Value) -> Result<PolicySet, TestCaseError> {
    load_text(&document.to_string())
}

fn load_text(text: &str) -> Result<PolicySet, TestCaseError> {
    PolicySet::from_json(text).map_err(|e| {
        let problems: Vec<String> = e
            .problems()
            .iter()
            .map(|p| format!("{} at {:?}: {}", p.code().as_str(), p.path(), p.message()))
            .collect();
        TestCaseError::fail(format!(
            "a generated document does not load: {problems:?}\ndocument: {text}"
        ))
    })
}

fn request(value: &Value) -> Result<Request, TestCaseError> {
    Request::from_value(value).map_err(|e| {
        TestCaseError::fail(format!(
            "a generated request is invalid: {e}\nrequest: {value}"
        ))
    })
}

fn decision(d: &EngineDecision<'_>) -> Decision {
    Decision {
        action: d.action().as_str().to_owned(),
        reason: d.reason().as_str().to_owned(),
        policies: d.policies().map(str::to_owned).collect(),
        approval_flows: d.approval_flows().map(str::to_owned).collect(),
        satisfied: d.satisfied().map(str::to_owned).collect(),
        step_up: d
            .step_up()
            .map(|r| serde_json::to_value(r).expect("serializable"))
            .collect(),
    }
}

fn outcome(o: Outcome) -> Option<bool> {
    match o {
        Outcome::True => Some(true),
        Outcome::False => Some(false),
        Outcome::Missing => None,
    }
}

/// Per candidate policy: what it served and each condition's result.
type Served = BTreeMap<String, (String, Vec<Vec<Option<bool>>>)>;

proptest! {
    #![proptest_config(config(2000))]

    /// The indexed engine decides as the naive reading of SPEC §4 does, and its explanation
    /// reports the same decision, candidates, served actions and condition results.
    #[test]
    fn engine_agrees_with_the_reference(case in generators::case()) {
        let set = load(&case.document)?;
        for value in &case.requests {
            let request = request(value)?;
            let want: Evaluation = reference::evaluate(&case.document, value);
            let engine = set.evaluate(&request);
            // The indices bindings exchange name the same policies and flows as the ids.
            let document = set.document();
            let named = |indices: &[u32], ids: &[String], kind: &str| -> Result<(), TestCaseError> {
                let by_index: Vec<String> = indices
                    .iter()
                    .map(|&i| match kind {
                        "flow" => document.approval_flows.get(i as usize).map(|f| &*f.id),
                        _ => document.policies.get(i as usize).map(|p| &*p.id),
                    })
                    .map(|id| id.unwrap_or("<out of range>").to_owned())
                    .collect();
                prop_assert_eq!(by_index, ids.to_vec());
                Ok(())
            };
            let list = |ids: &mut dyn Iterator<Item = u32>| ids.collect::<Vec<u32>>();
            let strs = |ids: &mut dyn Iterator<Item = &str>| ids.map(str::to_owned).collect::<Vec<String>>();
            named(&list(&mut engine.policy_indices()), &strs(&mut engine.policies()), "policy")?;
            named(&list(&mut engine.approval_flow_indices()), &strs(&mut engine.approval_flows()), "flow")?;
            named(&list(&mut engine.satisfied_indices()), &strs(&mut engine.satisfied()), "policy")?;
            prop_assert_eq!(
                Action::ALL.get(engine.action().index()).copied(),
                Some(engine.action())
            );
            let got = decision(&engine);
            prop_assert_eq!(
                &got, &want.decision,
                "engine (left) and reference (right) disagree\ndocument: {}\nrequest:  {}",
                case.document, value
            );

            let explanation = set.explain(&request);
            let explained = Decision {
                action: explanation.decision.action.as_str().to_owned(),
                reason: explanation.decision.reason.as_str().to_owned(),
                policies: explanation.decision.policies.clone(),
                approval_flows: explanation.decision.approval_flows.clone(),
                satisfied: explanation.decision.satisfied.clone(),
                step_up: explanation
                    .decision
                    .step_up
                    .iter()
                    .map(|r| serde_json::to_value(r).expect("serializable"))
                    .collect(),
            };
            prop_assert_eq!(&explained, &got, "explain and evaluate disagree\ndocument: {}\nrequest:  {}",
                case.document, value);
            let traced: Served = explanation
                .policies
                .iter()
                .filter_map(|p| {
                    let served = p.served.clone()?;
                    let conditions = p
                        .rules
                        .iter()
                        .map(|r| r.conditions.iter().map(|c| outcome(c.outcome)).collect())
                        .collect();
                    Some((p.id.clone(), (served, conditions)))
                })
                .collect();
            let expected: Served = want
                .candidates
                .iter()
                .map(|c| (c.id.clone(), (c.served.clone(), c.conditions.clone())))
                .collect();
            prop_assert_eq!(
                &traced, &expected,
                "explained candidates (left) and the reference's (right) disagree\ndocument: {}\nrequest:  {}",
                case.document, value
            );
        }
    }
}

proptest! {
    #![proptest_config(config(400))]

    /// SPEC §7.3's laws: evidence never turns `deny` into anything else; removing evidence
    /// never loosens a decision; a satisfied requirement only moves that policy's served
    /// action to `allow` (so without anything satisfied, evidence changes nothing).
    #[test]
    fn evidence_only_lifts_what_it_satisfies(case in generators::case()) {
        let set = load(&case.document)?;
        for value in &case.requests {
            let mut bare = value.clone();
            if let Some(fields) = bare.as_object_mut() {
                for field in ["now", "auth", "grants", "arguments"] {
                    fields.remove(field);
                }
            }
            let with = decision(&set.evaluate(&request(value)?));
            let without = decision(&set.evaluate(&request(&bare)?));
            prop_assert!(
                reference::rank(&with.action) <= reference::rank(&without.action),
                "evidence made it stricter: {} → {}\nrequest: {value}", without.action, with.action
            );
            if without.action == "deny" {
                prop_assert_eq!(&with.action, "deny", "evidence lifted a deny\nrequest: {}", value);
            }
            if with.satisfied.is_empty() {
                prop_assert_eq!(
                    (&with.action, &with.policies, &with.approval_flows),
                    (&without.action, &without.policies, &without.approval_flows),
                    "evidence that satisfies nothing changed the decision\nrequest: {}", value
                );
            }
            prop_assert!(without.satisfied.is_empty());
        }
    }

    /// SPEC §1: the same decision whatever the order of policies, connectors, tools, users,
    /// groups, flows, rules, conditions, condition values, request groups, context lists and
    /// object keys.
    #[test]
    fn order_does_not_matter(case in generators::case(), seed in any::<u64>()) {
        let set = load(&case.document)?;
        let mut rng = Mix(seed);
        let mut document = case.document.clone();
        shuffle_document(&mut document, &mut rng);
        let shuffled = load_text(&text_in_any_order(&document, &mut rng))?;
        for value in &case.requests {
            let mut other = value.clone();
            if let Some(groups) = other.get_mut("groups").and_then(Value::as_array_mut) {
                rng.shuffle(groups);
            }
            if let Some(context) = other.get_mut("context") {
                shuffle_lists(context, &mut rng);
            }
            let other_text = text_in_any_order(&other, &mut rng);
            let other = Request::from_json(&other_text)
                .map_err(|e| TestCaseError::fail(format!("{e}: {other_text}")))?;
            prop_assert_eq!(
                decision(&set.evaluate(&request(value)?)),
                decision(&shuffled.evaluate(&other)),
                "\ndocument: {}\nshuffled: {}\nrequest:  {}\nshuffled: {}",
                case.document, document, value, other_text
            );
        }
    }

    /// An untargeted `all_users` deny policy on every tool makes every decision `deny`, and
    /// for a known, enabled tool it is among the determining policies.
    #[test]
    fn deny_dominates(case in generators::case(), as_list in any::<bool>()) {
        let before = load(&case.document)?;
        let mut spec = case.spec.clone();
        let added: Vec<Value> = spec
            .connectors()
            .iter()
            .map(|c| {
                let tools: Value = if as_list {
                    c["tools"].as_array().into_iter().flatten().map(|t| t["name"].clone()).collect()
                } else {
                    json!("all")
                };
                json!({ "id": format!("zz-deny-{}", c["id"].as_str().unwrap_or_default()),
                        "name": "Deny everything", "connector": c["id"], "action": "deny",
                        "all_users": true, "tools": tools })
            })
            .collect();
        spec.policies_mut().extend(added);
        let after = load(&spec.document())?;
        for value in &case.requests {
            let request = request(value)?;
            let b = decision(&before.evaluate(&request));
            let a = decision(&after.evaluate(&request));
            prop_assert_eq!(a.action.as_str(), "deny", "\nrequest: {}\ndocument: {}", value, spec.document());
            if matches!(b.reason.as_str(), "policy" | "no_policy") {
                let id = format!("zz-deny-{}", value["connector"].as_str().unwrap_or_default());
                prop_assert_eq!(a.reason.as_str(), "policy");
                prop_assert!(a.policies.contains(&id), "{:?} lacks {}", a.policies, id);
            } else {
                prop_assert_eq!(&a, &b);
            }
        }
    }

    /// Adding a deny policy never makes a decision less restrictive. A deny policy whose
    /// targeting can serve a looser `otherwise` may loosen a `no_policy` denial (it is then the
    /// only candidate), but never a decision some policy already made.
    #[test]
    fn a_deny_policy_never_loosens(case in generators::case(), extra in generators::raw_policy()) {
        let extra = extra.with_action("deny");
        let serves_deny_or_nothing =
            !extra.has_rules() || matches!(extra.otherwise(), None | Some("deny" | "none"));
        let mut spec = case.spec.clone();
        if spec.add_policy("zz-extra", &extra) {
            let before = load(&case.document)?;
            let after = load(&spec.document())?;
            for value in &case.requests {
                let request = request(value)?;
                let b = decision(&before.evaluate(&request));
                let a = decision(&after.evaluate(&request));
                if serves_deny_or_nothing || b.reason == "policy" {
                    prop_assert!(
                        rank(&a.action) >= rank(&b.action),
                        "{} became {}\nrequest: {}\nbefore: {}\nafter: {}",
                        b.action, a.action, value, case.document, spec.document()
                    );
                }
            }
        }
    }

    /// A tool that no policy references is denied with reason `no_policy` (SPEC §4 step 5).
    /// The tool is added to a connector whose `all` selectors are first spelt out as lists of
    /// the tools they govern, which changes no other decision.
    #[test]
    fn an_unreferenced_tool_is_denied(case in generators::case(), pick in any::<usize>()) {
        let mut spec = case.spec.clone();
        let Some(connector) = spec.connectors().get(pick % spec.connectors().len().max(1)).cloned() else {
            return Ok(());
        };
        let id = connector["id"].clone();
        let tools: Vec<Value> = connector["tools"]
            .as_array()
            .map(|t| t.iter().map(|t| t["name"].clone()).collect())
            .unwrap_or_default();
        for p in spec.policies_mut().iter_mut().filter(|p| p["connector"] == id) {
            if let Some(governed) = spelt_out(&p["tools"], &tools) {
                p["tools"] = governed;
            }
        }
        for c in spec.connectors_mut().iter_mut().filter(|c| c["id"] == id) {
            if let Some(tools) = c["tools"].as_array_mut() {
                tools.push(json!({ "name": "t-new" }));
            }
        }
        let before = load(&case.document)?;
        let after = load(&spec.document())?;
        let enabled = connector.get("enabled").and_then(Value::as_bool).unwrap_or(true);
        for value in &case.requests {
            prop_assert_eq!(
                decision(&after.evaluate(&request(value)?)),
                decision(&before.evaluate(&request(value)?)),
                "spelling `all` out changed a decision\nrequest: {}\nafter: {}", value, spec.document()
            );
            let mut new = value.clone();
            new["connector"] = id.clone();
            new["tool"] = json!("t-new");
            let d = decision(&after.evaluate(&request(&new)?));
            let reason = if enabled { "no_policy" } else { "connector_disabled" };
            prop_assert_eq!(
                (d.action.as_str(), d.reason.as_str()),
                ("deny", reason),
                "\nrequest: {}\ndocument: {}", new, spec.document()
            );
        }
    }
}

/// The tools an `all` selector governs, as a list; `None` for a selector without `all`.
fn spelt_out(selector: &Value, tools: &[Value]) -> Option<Value> {
    let all = selector == "all" || selector.get("all").and_then(Value::as_bool) == Some(true);
    if !all {
        return None;
    }
    let excluded = selector.get("exclude").and_then(Value::as_array);
    Some(
        tools
            .iter()
            .filter(|t| !excluded.is_some_and(|ex| ex.contains(t)))
            .cloned()
            .collect(),
    )
}

/// SplitMix64: a seeded source of shuffles, so that proptest can shrink and replay them.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

fn shuffle_field<'v>(value: Option<&'v mut Value>, rng: &mut Mix) -> &'v mut [Value] {
    match value.and_then(Value::as_array_mut) {
        Some(items) => {
            rng.shuffle(items);
            items
        }
        None => &mut [],
    }
}

/// Shuffles every list of a document whose order SPEC says does not matter.
fn shuffle_document(document: &mut Value, rng: &mut Mix) {
    for c in shuffle_field(document.get_mut("connectors"), rng) {
        shuffle_field(c.get_mut("tools"), rng);
    }
    shuffle_field(document.get_mut("groups"), rng);
    for u in shuffle_field(document.get_mut("users"), rng) {
        shuffle_field(u.get_mut("groups"), rng);
    }
    shuffle_field(document.get_mut("approval_flows"), rng);
    for p in shuffle_field(document.get_mut("policies"), rng) {
        shuffle_field(p.get_mut("users"), rng);
        shuffle_field(p.get_mut("groups"), rng);
        if let Some(tools) = p.get_mut("tools") {
            if tools.is_array() {
                shuffle_field(Some(tools), rng);
            } else {
                shuffle_field(tools.get_mut("include"), rng);
                shuffle_field(tools.get_mut("exclude"), rng);
            }
        }
        let rules = p.get_mut("targeting").and_then(|t| t.get_mut("rules"));
        for rule in shuffle_field(rules, rng) {
            for c in shuffle_field(rule.get_mut("conditions"), rng) {
                shuffle_field(c.get_mut("values"), rng);
            }
        }
    }
}

/// Shuffles every list inside a value (a context's lists are sets of attribute values).
fn shuffle_lists(value: &mut Value, rng: &mut Mix) {
    match value {
        Value::Array(items) => {
            rng.shuffle(items);
            items.iter_mut().for_each(|v| shuffle_lists(v, rng));
        }
        Value::Object(members) => members.values_mut().for_each(|v| shuffle_lists(v, rng)),
        _ => {}
    }
}

/// JSON text with every object's keys in a random order.
fn text_in_any_order(value: &Value, rng: &mut Mix) -> String {
    let mut out = String::new();
    write_in_any_order(value, rng, &mut out);
    out
}

fn write_in_any_order(value: &Value, rng: &mut Mix, out: &mut String) {
    match value {
        Value::Object(members) => {
            let mut members: Vec<(&String, &Value)> = members.iter().collect();
            rng.shuffle(&mut members);
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_in_any_order(v, rng, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_in_any_order(v, rng, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

const COVERAGE_CASES: usize = 600;

/// The generator exercises what the agreement test is for: every operator true, false and
/// (but `exists`) missing; `ignore_case` deciding a match; every action and reason; approval
/// flows; candidates serving `none`.
#[test]
fn the_generator_covers_every_operator_outcome_and_reason() {
    let mut runner = TestRunner::new_with_rng(
        config(1),
        TestRng::deterministic_rng(RngAlgorithm::XorShift),
    );
    let strategy = generators::case();
    let mut outcomes: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    let mut decisions: BTreeSet<(String, String)> = BTreeSet::new();
    let mut folded_matches = 0;
    let mut with_flows = 0;
    let mut dropped = 0;
    // Satisfied step-ups and approvals, and the decisions they made allow.
    let mut satisfied = [0usize; 2];
    let mut allowed_by_evidence = 0;
    for _ in 0..COVERAGE_CASES {
        let case: Case = strategy
            .new_tree(&mut runner)
            .expect("the generator does not reject")
            .current();
        for value in &case.requests {
            let evaluation = reference::evaluate(&case.document, value);
            decisions.insert((
                evaluation.decision.action.clone(),
                evaluation.decision.reason.clone(),
            ));
            with_flows += usize::from(!evaluation.decision.approval_flows.is_empty());
            for id in &evaluation.decision.satisfied {
                let served = evaluation
                    .candidates
                    .iter()
                    .find(|c| &c.id == id)
                    .map(|c| c.served.as_str());
                satisfied[usize::from(served == Some("request_approval"))] += 1;
            }
            allowed_by_evidence += usize::from(
                evaluation.decision.action == "allow" && !evaluation.decision.satisfied.is_empty(),
            );
            dropped += evaluation
                .candidates
                .iter()
                .filter(|c| c.served == "none")
                .count();
            for candidate in &evaluation.candidates {
                let policy = case.document["policies"]
                    .as_array()
                    .and_then(|ps| ps.iter().find(|p| p["id"] == candidate.id.as_str()))
                    .expect("a candidate is a policy");
                let rules = policy["targeting"]["rules"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for (rule, results) in rules.iter().zip(&candidate.conditions) {
                    let conditions = rule["conditions"].as_array().cloned().unwrap_or_default();
                    for (condition, result) in conditions.iter().zip(results) {
                        let op = condition["operator"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        let slot = match result {
                            Some(true) => 0,
                            Some(false) => 1,
                            None => 2,
                        };
                        outcomes.entry(op).or_default()[slot] += 1;
                        if condition["ignore_case"] == true && *result == Some(true) {
                            let mut exact = condition.clone();
                            exact["ignore_case"] = json!(false);
                            let attribute = condition["attribute"].as_str().unwrap_or_default();
                            let resolved = reference::attribute(&case.document, value, attribute);
                            if reference::condition(&exact, resolved.as_ref()) != Some(true) {
                                folded_matches += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    println!("condition outcomes [true, false, missing]: {outcomes:?}");
    println!("decisions: {decisions:?}");
    println!("matches that only ignore_case made: {folded_matches}");
    println!("decisions with approval flows: {with_flows}; candidates serving none: {dropped}");
    let operators = [
        "equals",
        "matches",
        "regex",
        "starts_with",
        "ends_with",
        "contains",
        "lt",
        "lte",
        "gt",
        "gte",
        "before",
        "after",
        "semver_eq",
        "semver_lt",
        "semver_gt",
        "in_cidr",
        "exists",
    ];
    for op in operators {
        let counts = outcomes.get(op).copied().unwrap_or_default();
        let needed = if op == "exists" { 2 } else { 3 };
        assert!(
            counts.iter().take(needed).all(|&n| n >= 5),
            "`{op}` is rarely true, false or missing: {counts:?}"
        );
    }
    for action in reference::ACTIONS {
        assert!(
            decisions.contains(&(action.to_owned(), "policy".to_owned())),
            "no {action} by policy"
        );
    }
    for reason in [
        "unknown_connector",
        "connector_disabled",
        "unknown_tool",
        "tool_disabled",
        "no_policy",
    ] {
        assert!(
            decisions.contains(&("deny".to_owned(), reason.to_owned())),
            "no deny for {reason}"
        );
    }
    assert!(
        with_flows >= 5,
        "approval flows rarely decided: {with_flows}"
    );
    assert!(dropped >= 5, "`otherwise: none` rarely served: {dropped}");
    println!("satisfied [step_up, request_approval]: {satisfied:?}; allowed by evidence: {allowed_by_evidence}");
    assert!(
        satisfied.iter().all(|&n| n >= 5) && allowed_by_evidence >= 5,
        "evidence rarely satisfies: {satisfied:?}, {allowed_by_evidence}"
    );
    assert!(
        folded_matches >= 10,
        "ignore_case rarely decides: {folded_matches}"
    );
}
