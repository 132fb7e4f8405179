//! Serializing a loaded set's document and loading it again gives the same version and the same
//! decision on every request.
#![no_main]

use agen_policy_core::{PolicySet, Request};
use agen_policy_fuzz::Case;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|case: Case| {
    let text = case.document.to_string();
    let set = PolicySet::from_json(&text).expect("generated documents are valid");
    let serialized = serde_json::to_string(set.document()).expect("a document serializes");
    let again = PolicySet::from_json(&serialized).expect("a serialized document loads");
    assert_eq!(set.version(), again.version());
    for request in &case.requests {
        let request = Request::from_value(request).expect("generated requests are valid");
        assert_eq!(set.evaluate(&request), again.evaluate(&request));
    }
});
