//! Evaluating string conditions with many values against long context strings never panics
//! and agrees with the reference evaluator written straight from the specification.
#![no_main]

use agen_policy_core::{PolicySet, Request};
use agen_policy_fuzz::large::LargeCase;
use libfuzzer_sys::fuzz_target;

#[path = "../../agen-policy-core/tests/it/reference.rs"]
#[allow(dead_code)]
mod reference;

fuzz_target!(|case: LargeCase| {
    let set =
        PolicySet::from_json(&case.document.to_string()).expect("generated documents are valid");
    for value in &case.requests {
        let request = Request::from_value(value).expect("generated requests are valid");
        let engine = set.evaluate(&request);
        let want = reference::evaluate(&case.document, value).decision;
        let got = (
            engine.action().as_str(),
            engine.reason().as_str(),
            engine.policies().collect::<Vec<_>>(),
            engine.approval_flows().collect::<Vec<_>>(),
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
            ),
            "document: {}\nrequest: {value}",
            case.document
        );
    }
    // The values are not drawn from small pools: the reference's regex cache would grow.
    reference::forget_compiled();
});
