//! `RequestView`: a borrowed request decides as the owned one does, reads each attribute at
//! most once, and refuses a value it cannot read instead of deciding on it.

use std::cell::RefCell;

use agen_policy_core::{
    Action, Context, ContextValue, PolicySet, Request, RequestError, RequestView,
};
use proptest::prelude::*;
use proptest::test_runner::RngAlgorithm;
use serde_json::{json, Map, Value};

use crate::generators;

/// A JSON object as a context that records every path asked for.
struct Recording<'a> {
    map: &'a Map<String, Value>,
    asked: RefCell<Vec<String>>,
}

impl Context for Recording<'_> {
    fn get(&self, path: &[&str]) -> Result<Option<ContextValue<'_>>, RequestError> {
        self.asked.borrow_mut().push(path.join("/"));
        Context::get(self.map, path)
    }
}

/// A context whose every value is one the host cannot express.
struct Unreadable;

impl Context for Unreadable {
    fn get(&self, path: &[&str]) -> Result<Option<ContextValue<'_>>, RequestError> {
        Err(RequestError::new(
            format!("/context/{}", path.join("/")),
            "a set is not a JSON value",
        ))
    }
}

fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 500;
    }
    config.rng_algorithm = RngAlgorithm::XorShift;
    config
}

proptest! {
    #![proptest_config(config())]

    /// A view of a request's parts decides exactly as the request, and asks for no path
    /// twice in one evaluation.
    #[test]
    fn a_view_decides_as_the_request(case in generators::case()) {
        let set = PolicySet::from_json(&case.document.to_string()).expect("loads");
        for value in &case.requests {
            let request = Request::from_value(value).expect("valid");
            if request.now().is_some() {
                continue;
            }
            let groups: Vec<&str> = request.groups().iter().map(String::as_str).collect();
            let context = Recording { map: request.context(), asked: RefCell::default() };
            let view = RequestView::new(request.user(), request.connector(), request.tool())
                .and_then(|v| v.groups(&groups))
                .expect("valid")
                .context(&context);
            let by_view = set.evaluate_view(&view).expect("readable").to_owned_decision();
            let by_request = set.evaluate(&request).to_owned_decision();
            prop_assert_eq!(&by_view, &by_request, "request: {}", value);
            let asked = context.asked.borrow();
            let mut distinct = asked.clone();
            distinct.sort();
            distinct.dedup();
            // A dotted name is asked for as one key and then along its dots: two paths, but
            // never the same path twice.
            prop_assert_eq!(distinct.len(), asked.len(), "asked twice: {:?}", asked);
        }
    }
}

fn targeted_set() -> PolicySet {
    PolicySet::from_json(
        &json!({
            "connectors": [{ "id": "c", "tools": [{ "name": "t" }, { "name": "plain" }] }],
            "policies": [
                { "id": "p", "name": "P", "connector": "c", "action": "allow", "all_users": true,
                  "tools": ["t"],
                  "targeting": { "rules": [{ "conditions": [
                      { "attribute": "agent.type", "operator": "equals", "values": ["CLI"] }
                  ] }] } },
                { "id": "q", "name": "Q", "connector": "c", "action": "allow", "all_users": true,
                  "tools": ["plain"] }
            ]
        })
        .to_string(),
    )
    .expect("loads")
}

/// A value that is read and cannot be expressed refuses the request with the host's error;
/// when no condition reads the context, the same context is never asked.
#[test]
fn an_unreadable_value_refuses_only_when_read() {
    let set = targeted_set();
    let read = RequestView::new("u", "c", "t")
        .expect("valid")
        .context(&Unreadable);
    let error = set.evaluate_view(&read).expect_err("refused");
    assert_eq!(error.path(), "/context/agent.type");
    let unread = RequestView::new("u", "c", "plain")
        .expect("valid")
        .context(&Unreadable);
    assert_eq!(
        set.evaluate_view(&unread).expect("decided").action(),
        Action::Allow
    );
}

/// What is checked up front: ids and groups.
#[test]
fn ids_and_groups_are_checked_up_front() {
    assert_eq!(
        RequestView::new("", "c", "t").expect_err("empty").path(),
        "/user"
    );
    assert_eq!(
        RequestView::new("u", "c", "t")
            .and_then(|v| v.groups(&["g", ""]))
            .expect_err("empty group")
            .path(),
        "/groups/1"
    );
    let mut limits = agen_policy_core::Limits::default();
    limits.max_request_string_bytes = 4;
    assert!(RequestView::with_limits("user", "c", "t", &limits).is_err());
}

/// Values read count against the limits a whole request is held to: its nesting and its
/// string bytes.
#[test]
fn values_read_are_held_to_the_request_limits() {
    let set = targeted_set();
    let context = json!({ "agent": { "type": "CLI" } });
    let context = context.as_object().expect("an object");
    let tight = |depth, bytes| {
        let mut limits = agen_policy_core::Limits::default();
        limits.max_context_depth = depth;
        limits.max_request_string_bytes = bytes;
        limits
    };
    let decide = |limits: &agen_policy_core::Limits| {
        let view = RequestView::with_limits("u", "c", "t", limits)
            .expect("valid")
            .context(context);
        set.evaluate_view(&view).map(|d| d.action())
    };
    assert_eq!(decide(&tight(2, 100)).ok(), Some(Action::Allow));
    let deep = decide(&tight(1, 100)).expect_err("too deep");
    assert_eq!(deep.path(), "/context/agent/type");
    let long = decide(&tight(2, 5)).expect_err("too many bytes");
    assert!(long.message().contains("limit of 5 bytes"), "{long}");
}
