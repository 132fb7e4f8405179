//! Decides a few tool calls of the example organization and explains one.
//!
//! `cargo run -p agen-policy-core --example acme` (from the repository root).

use agen_policy_core::{Action, PolicySet, Request};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/acme.json");
    let set = PolicySet::from_json(&std::fs::read_to_string(path)?)?;

    let calls = [
        Request::new("alice", "github", "list_user_repositories")?,
        Request::builder("alice", "github", "create_issue")
            .context("agent", json!({ "type": "Claude Desktop" }))
            .build()?,
        Request::new("alice", "github", "delete_repository")?,
        Request::new("dan", "hubspot", "delete_contact")?,
        Request::builder("dan", "hubspot", "create_contact")
            .context("request.ip", "203.0.113.7")
            .build()?,
    ];
    for request in &calls {
        let decision = set.evaluate(request);
        let what = match decision.action() {
            Action::Allow => "run it",
            Action::StepUp => "ask the user to sign in again first",
            Action::RequestApproval => "wait for an approver",
            Action::Deny => "refuse",
        };
        println!(
            "{:>6} {}/{}: {decision} -> {what}",
            request.user(),
            request.connector(),
            request.tool()
        );
    }
    if let Some(last) = calls.last() {
        println!("\n{}", set.explain(last));
    }
    Ok(())
}
