//! Evaluating arbitrary requests (with SPEC §7 evidence or without) against structured random
//! documents never panics and agrees with the reference evaluator written straight from the
//! specification.
#![no_main]

use agen_policy_core::{PolicySet, Request};
use agen_policy_fuzz::Case;
use libfuzzer_sys::fuzz_target;

#[path = "../../agen-policy-core/tests/it/reference.rs"]
#[allow(dead_code)]
mod reference;

fuzz_target!(|case: Case| {
    let set =
        PolicySet::from_json(&case.document.to_string()).expect("generated documents are valid");
    for value in &case.requests {
        let request = Request::from_value(value).expect("generated requests are valid");
        let engine = set.evaluate(&request);
        let want = reference::evaluate(&case.document, value).decision;
        let step_up: Vec<serde_json::Value> = engine
            .step_up()
            .map(|r| serde_json::to_value(r).expect("serializable"))
            .collect();
        let got = (
            engine.action().as_str(),
            engine.reason().as_str(),
            engine.policies().collect::<Vec<_>>(),
            engine.approval_flows().collect::<Vec<_>>(),
            engine.satisfied().collect::<Vec<_>>(),
            step_up,
        );
        assert_eq!(
            got,
            (
                want.action.as_str(),
                want.reason.as_str(),
                want.policies.iter().map(String::as_str).collect::<Vec<_>>(),
                want.approval_flows
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
                want.satisfied
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
                want.step_up.clone(),
            ),
            "document: {}\nrequest: {value}",
            case.document
        );
        // The explanation tells the same decision.
        assert_eq!(set.explain(&request).decision, engine.to_owned_decision());
    }
});
