//! The agen policy engine: decides, in-process and in well under a microsecond, whether an AI
//! agent acting for a user may call a tool of a SaaS connector: `allow`, `step_up`,
//! `request_approval` or `deny`.
//!
//! Load a policy document once into an immutable [`PolicySet`], then evaluate requests against
//! it from any number of threads:
//!
//! ```
//! use agen_policy_core::{Action, PolicySet, Reason, Request};
//!
//! let set = PolicySet::from_json(r#"{
//!   "connectors": [{ "id": "github", "tools": [
//!       { "name": "list_user_repositories" }, { "name": "delete_repository" } ] }],
//!   "policies": [
//!     { "id": "read", "name": "Read for everyone", "connector": "github", "action": "allow",
//!       "all_users": true, "tools": ["list_user_repositories"] },
//!     { "id": "chatgpt-only", "name": "Deletes only from ChatGPT, with a fresh login",
//!       "connector": "github", "action": "step_up", "all_users": true,
//!       "tools": ["delete_repository"],
//!       "targeting": { "rules": [ { "conditions": [
//!           { "attribute": "agent.type", "operator": "equals", "values": ["ChatGPT"] } ] } ] } }
//!   ]
//! }"#)?;
//!
//! let read = Request::new("alice", "github", "list_user_repositories")?;
//! assert!(set.evaluate(&read).allowed());
//!
//! let delete = Request::builder("alice", "github", "delete_repository")
//!     .context("agent", serde_json::json!({ "type": "ChatGPT" }))
//!     .build()?;
//! let decision = set.evaluate(&delete);
//! assert_eq!(decision.action(), Action::StepUp);
//! assert_eq!(decision.reason(), Reason::Policy);
//! assert!(decision.policies().eq(["chatgpt-only"]));
//!
//! // Without the attribute, targeting falls back to `otherwise`, which defaults to deny.
//! let unknown_agent = Request::new("alice", "github", "delete_repository")?;
//! assert_eq!(set.evaluate(&unknown_agent).action(), Action::Deny);
//! println!("{}", set.explain(&unknown_agent));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The semantics are those of the project's specification: loading reports every problem
//! with a code and a JSON Pointer ([`LoadError`]); evaluation never fails and never panics.
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

pub mod admin;
pub mod analysis;
pub mod approval;
mod condition;
mod context;
mod decision;
mod digest;
mod engine;
mod error;
mod evidence;
mod explain;
pub mod guard;
mod json;
mod limits;
mod load;
pub mod log;
pub mod model;
mod ops;
mod request;
mod set;
pub mod testfile;
mod view;

pub use analysis::{diff, replay, Diff, Impact, Lint, LintCode, Replay, ReplayRecord, Severity};
pub use approval::{ApprovalCode, ApprovalError, ApprovalOp, ApprovalState, ApprovalStatus};
pub use condition::Outcome;
pub use context::{Context, ContextList, ContextValue, Scalar};
pub use decision::{Action, Decision, OwnedDecision, Reason};
pub use digest::{arguments_digest, arguments_digest_json, canonical_json};
pub use engine::Engine;
pub use error::{Code, LoadError, Problem, RequestError};
pub use evidence::{parse_timestamp, Auth, Grant, Millis, StepUpRequirement, MAX_GRANTS};
pub use explain::{ConditionTrace, EvidenceTrace, Explanation, PolicyTrace, RuleTrace};
pub use limits::Limits;
pub use request::{Request, RequestBuilder};
pub use set::PolicySet;
pub use view::RequestView;

use serde::Serialize;

/// The repository README's Rust example, compiled as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct RepositoryReadme;

/// This crate's README example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadme;

/// The outcome of validating a document without keeping it: its errors and warnings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Validation {
    /// Errors: when there is any, the document does not load.
    pub problems: Vec<Problem>,
    /// Warnings: loading goes on.
    pub warnings: Vec<Problem>,
}

impl Validation {
    /// Whether the document loads.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Validates a document under `limits`, reporting every error and warning.
///
/// ```
/// let v = agen_policy_core::validate(br#"{"connectors": [], "policies": [{"id": "p"}]}"#,
///                                    &agen_policy_core::Limits::default());
/// assert!(!v.is_valid());
/// assert_eq!(v.problems[0].path(), "/policies/0");
/// ```
pub fn validate(bytes: &[u8], limits: &Limits) -> Validation {
    match load::load(bytes, limits) {
        Ok(loaded) => Validation {
            problems: Vec::new(),
            warnings: loaded.warnings,
        },
        Err(e) => Validation {
            problems: e.problems().to_vec(),
            warnings: e.warnings().to_vec(),
        },
    }
}
