//! The whole loop of SPEC §7–§8 over the example organization: `request_approval` → open →
//! approve → grant → allow, and `step_up` → a fresh authentication → allow. The README shows
//! the same program.
//!
//! `cargo run -p agen-policy-core --example approvals`

use agen_policy_core::{arguments_digest, Action, Auth, PolicySet, Request};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let set = PolicySet::from_json(&std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/acme.json"
    ))?)?;
    let now = 1_795_600_800_000; // the host's clock, Unix milliseconds
    let digest = arguments_digest(&json!({ "repo": "website" }));
    let ask = || Request::builder("alice", "github", "delete_repository").arguments(&digest);

    let request = ask().now(now).build()?;
    assert_eq!(set.evaluate(&request).action(), Action::RequestApproval);
    let pending = set.open_approval(&request, "security-review", "apr-1", now)?; // store it
    let approved = set.approve(&pending, "bob", now + 60_000, &[])?; // bob approves
    let grant = set.grant(&approved)?; // valid for the flow's grant_ttl
    let again = ask().now(now + 120_000).grant(grant).build()?;
    assert_eq!(set.evaluate(&again).action(), Action::Allow);

    // A step-up is satisfied by a recent enough authentication the host verified.
    let share = |r: agen_policy_core::RequestBuilder| r.now(now).build();
    let plain = share(Request::builder("carol", "google_drive", "share_file"))?;
    assert_eq!(set.evaluate(&plain).action(), Action::StepUp);
    let fresh =
        Request::builder("carol", "google_drive", "share_file").auth(Auth::at(now - 30_000));
    assert_eq!(set.evaluate(&share(fresh)?).action(), Action::Allow);
    println!("approval and step-up carried through to allow");
    Ok(())
}
