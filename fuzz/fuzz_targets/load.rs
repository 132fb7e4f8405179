//! Loading arbitrary bytes never panics; a refused document's every problem has a code and a
//! JSON Pointer that resolves in the input; a loaded one serializes back to a document that loads
//! to the same version.
#![no_main]

use agen_policy_core::{Limits, PolicySet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let limits = Limits::default();
    match PolicySet::from_slice_with_limits(bytes, &limits) {
        Err(e) => {
            assert!(
                !e.problems().is_empty(),
                "an error names at least one problem"
            );
            // Where the input is JSON that serde_json also reads, every path must resolve in it.
            // (A UTF-8 byte-order mark is ignored by the engine, as RFC 8259 allows.)
            let json = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            let parsed: Option<serde_json::Value> = serde_json::from_slice(json).ok();
            for p in e.problems().iter().chain(e.warnings()) {
                assert!(!p.code().as_str().is_empty());
                assert!(!p.message().is_empty());
                if p.path().is_empty() {
                    continue;
                }
                let value = parsed
                    .as_ref()
                    .unwrap_or_else(|| panic!("problem {p} points into an input that is not JSON"));
                assert!(
                    value.pointer(p.path()).is_some(),
                    "path of {p} does not resolve"
                );
            }
        }
        Ok(set) => {
            let text = serde_json::to_vec(set.document()).expect("a document serializes");
            let again = PolicySet::from_slice_with_limits(&text, &limits)
                .expect("a serialized document loads");
            assert_eq!(set.version(), again.version());
        }
    }
});
