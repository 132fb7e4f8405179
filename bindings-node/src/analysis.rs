//! Policy analysis (`docs/analysis.md`): lint, access review, diff and replay, each the core's
//! answer as a plain object.

use agen_policy_core as core;
use napi::bindgen_prelude::Unknown;
use napi::{Env, Result};
use napi_derive::napi;

use crate::convert::{self, Kind};
use crate::PolicySet;

#[napi]
impl PolicySet {
    /// Lint findings about the document: `{ findings }`, each with `severity`, `code`, `path`,
    /// `message` and `policies`, most severe first.
    #[napi(catch_unwind, ts_return_type = "LintReport")]
    pub fn lint(&self) -> Result<serde_json::Value> {
        serde_json::to_value(self.inner.lint()).map_err(convert::internal)
    }

    /// The access review of `connector`'s `tool`: for each directory user (or only `user`),
    /// each named group and anyone else, the decision as pieces of the context.
    #[napi(catch_unwind, ts_return_type = "AccessReview")]
    pub fn access(
        &self,
        connector: String,
        tool: String,
        user: Option<String>,
    ) -> Result<serde_json::Value> {
        serde_json::to_value(self.inner.access(&connector, &tool, user.as_deref()))
            .map_err(convert::internal)
    }
}

/// The change impact of `newer` over `older`: per user and tool, what decides differently, with
/// witness requests decided by both sets.
#[napi(
    catch_unwind,
    ts_args_type = "older: PolicySet, newer: PolicySet",
    ts_return_type = "PolicyDiff"
)]
pub fn diff(older: &PolicySet, newer: &PolicySet) -> Result<serde_json::Value> {
    serde_json::to_value(core::diff(&older.inner, &newer.inner)).map_err(convert::internal)
}

/// The records of a decision log (objects, or JSON lines) decided again under `policies`; the
/// transitions, the most loosening first. A record that is not one throws a `RequestError`
/// with its `index`.
#[napi(
    catch_unwind,
    ts_args_type = "policies: PolicySet, records: Array<DecisionLogRecord | string>",
    ts_return_type = "ReplayReport"
)]
pub fn replay(env: Env, policies: &PolicySet, records: Unknown) -> Result<serde_json::Value> {
    let value = convert::value(&env, records, Kind::Document)?;
    let serde_json::Value::Array(items) = value else {
        return Err(convert::argument_error(
            &env,
            "the records must be an array".to_owned(),
        ));
    };
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let line = match item {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let record = core::ReplayRecord::from_json_line(&line)
            .map_err(|e| convert::request_error(&env, &e, Some(index)))?;
        parsed.push(record);
    }
    serde_json::to_value(core::replay(&policies.inner, &parsed)).map_err(convert::internal)
}
