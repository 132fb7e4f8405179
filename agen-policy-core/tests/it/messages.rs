//! What a newcomer reads when something is wrong: messages that say what would be right.

use agen_policy_core::{PolicySet, Request};

fn condition(operator: &str, value: &str) -> String {
    format!(
        r#"{{"connectors": [{{"id": "c", "tools": [{{"name": "t"}}]}}],
            "policies": [{{"id": "p", "name": "P", "connector": "c", "action": "allow",
                          "all_users": true, "tools": ["t"],
                          "targeting": {{"rules": [{{"conditions": [
                            {{"attribute": "a", "operator": "{operator}", "values": ["{value}"]}}
                          ]}}]}}}}]}}"#
    )
}

#[test]
fn an_unknown_operator_lists_the_operators() {
    let e = PolicySet::from_json(&condition("in", "x")).expect_err("no such operator");
    let message = e.problems()[0].message();
    assert!(message.contains("unknown operator \"in\""), "{message}");
    assert!(message.contains("equals, matches"), "{message}");
    assert!(message.contains("in_cidr, exists"), "{message}");
}

#[test]
fn a_bad_version_says_what_a_version_is() {
    let e = PolicySet::from_json(&condition("semver_gt", "v2")).expect_err("not a version");
    let message = e.problems()[0].message();
    assert!(message.contains("\"v2\" is not a version"), "{message}");
    assert!(message.contains("no leading `v`"), "{message}");
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let mut document = b"\xEF\xBB\xBF".to_vec();
    document.extend_from_slice(condition("equals", "x").as_bytes());
    let set = PolicySet::from_slice(&document).expect("a BOM is ignored");
    let mut request = b"\xEF\xBB\xBF".to_vec();
    request.extend_from_slice(
        br#"{"user": "u", "connector": "c", "tool": "t", "context": {"a": "x"}}"#,
    );
    let request = Request::from_slice_with_limits(&request, &Default::default()).expect("valid");
    assert!(set.evaluate(&request).allowed());
}
