//! A shared engine whose policy set can be replaced under load without losing a decision.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::decision::OwnedDecision;
use crate::error::LoadError;
use crate::limits::Limits;
use crate::request::Request;
use crate::set::PolicySet;

/// A handle to the current [`PolicySet`], shared by every thread of a host, that an operator can
/// [`reload`](Engine::reload) while requests are being evaluated.
///
/// A reload validates the new document completely before anything changes: an invalid document
/// is refused with its problems and the old set keeps serving. A valid one replaces the old set
/// atomically: an evaluation in flight finishes on the set it started with, the next one sees
/// the new set, and each decision names the [version](PolicySet::version) that made it.
///
/// ```
/// use agen_policy_core::{Action, Engine, Request};
///
/// let engine = Engine::from_json(r#"{"connectors": [{"id": "c", "tools": [{"name": "t"}]}]}"#)?;
/// let request = Request::new("u", "c", "t")?;
/// assert_eq!(engine.evaluate(&request).action, Action::Deny);
///
/// let before = engine.version();
/// engine.reload(br#"{"connectors": [{"id": "c", "tools": [{"name": "t"}]}],
///                    "policies": [{"id": "p", "name": "P", "connector": "c", "action": "allow",
///                                  "all_users": true, "tools": "all"}]}"#)?;
/// let decision = engine.evaluate(&request);
/// assert_eq!(decision.action, Action::Allow);
/// assert_ne!(decision.version, before);
///
/// // An invalid document is refused; the engine keeps its set.
/// assert!(engine.reload(b"{").is_err());
/// assert_eq!(engine.evaluate(&request).version, decision.version);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Engine {
    current: ArcSwap<PolicySet>,
    limits: Limits,
}

impl Engine {
    /// An engine serving `set`; reloads use the default [`Limits`].
    pub fn new(set: PolicySet) -> Engine {
        Engine::with_limits(set, Limits::default())
    }

    /// An engine serving `set`; reloads use `limits`.
    pub fn with_limits(set: PolicySet, limits: Limits) -> Engine {
        Engine {
            current: ArcSwap::from_pointee(set),
            limits,
        }
    }

    /// An engine serving the document in `text`.
    pub fn from_json(text: &str) -> Result<Engine, LoadError> {
        PolicySet::from_json(text).map(Engine::new)
    }

    /// Loads `bytes` and, only if the document is valid, makes it the current set. Returns the
    /// new version, or the document's problems (the current set is then unchanged).
    pub fn reload(&self, bytes: &[u8]) -> Result<String, LoadError> {
        let set = PolicySet::from_slice_with_limits(bytes, &self.limits)?;
        let version = set.version().to_owned();
        self.current.store(Arc::new(set));
        Ok(version)
    }

    /// Makes `set` the current set and returns the one it replaces.
    pub fn replace(&self, set: PolicySet) -> Arc<PolicySet> {
        self.current.swap(Arc::new(set))
    }

    /// Runs `f` on the current set. The set stays alive and unchanged for `f`, whatever reloads
    /// happen meanwhile, and reading it takes no lock and touches no shared reference count.
    pub fn with_current<R>(&self, f: impl FnOnce(&PolicySet) -> R) -> R {
        let guard = self.current.load();
        f(&guard)
    }

    /// The current set, kept alive for as long as the caller holds it.
    pub fn current(&self) -> Arc<PolicySet> {
        self.current.load_full()
    }

    /// The current set's version.
    pub fn version(&self) -> String {
        self.with_current(|set| set.version().to_owned())
    }

    /// Evaluates on the current set. The decision owns its strings (it outlives the set);
    /// [`Engine::with_current`] evaluates without allocating.
    pub fn evaluate(&self, request: &Request) -> OwnedDecision {
        self.with_current(|set| set.evaluate(request).to_owned_decision())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_shareable() {
        assert_send_sync::<Engine>();
    }
}
