//! Every enabled tool of every enabled connector under one key, so that a request finds its
//! connector and tool with one hash of the two names and one probe, and the names compared by
//! word loads.
//!
//! The table only speeds up the common case, an enabled tool of an enabled connector. Anything
//! else (an unknown or disabled connector or tool) misses it, and the set's lookup by connector
//! then by tool gives the reason.

use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};

use crate::ops::bytes::same;

/// The routes of a set: by the hash of a connector id and a tool name, the first route of that
/// hash; routes of one hash are chained.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    first: FxHashMap<u64, u32>,
    routes: Vec<Route>,
}

#[derive(Debug)]
struct Route {
    connector_id: Box<str>,
    tool_name: Box<str>,
    /// The connector's index in the set and the tool's in its connector.
    connector: u32,
    tool: u32,
    /// The previous route of the same hash, or `u32::MAX`.
    next: u32,
}

/// The hash of a connector id and a tool name. A byte that UTF-8 never holds separates them,
/// so `("ab", "c")` and `("a", "bc")` differ.
fn key(connector: &str, tool: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(connector.as_bytes());
    h.write_u8(0xff);
    h.write(tool.as_bytes());
    h.finish()
}

impl Routes {
    /// Adds the route to tool `tool` (named `tool_name`) of connector `connector` (`connector_id`).
    /// The caller adds only enabled tools of enabled connectors: a route found is one that
    /// evaluation may take without further checks.
    pub(crate) fn add(&mut self, connector_id: &str, tool_name: &str, connector: u32, tool: u32) {
        let Ok(index) = u32::try_from(self.routes.len()) else {
            // Beyond 2^32 routes the rest go through the lookup by connector and tool.
            return;
        };
        let slot = self
            .first
            .entry(key(connector_id, tool_name))
            .or_insert(u32::MAX);
        self.routes.push(Route {
            connector_id: connector_id.into(),
            tool_name: tool_name.into(),
            connector,
            tool,
            next: *slot,
        });
        *slot = index;
    }

    /// The connector's and the tool's indices, when the tool is an enabled tool of an enabled
    /// connector.
    #[inline]
    pub(crate) fn find(&self, connector: &str, tool: &str) -> Option<(u32, u32)> {
        let mut at = *self.first.get(&key(connector, tool))?;
        // Each route's `next` names an earlier route, so the chain ends.
        while let Some(r) = self.routes.get(at as usize) {
            if same(r.tool_name.as_bytes(), tool.as_bytes())
                && same(r.connector_id.as_bytes(), connector.as_bytes())
            {
                return Some((r.connector, r.tool));
            }
            at = r.next;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_found_by_both_names_and_only_so() {
        let mut routes = Routes::default();
        routes.add("ab", "c", 0, 0);
        routes.add("a", "bc", 1, 0);
        routes.add("github", "delete_repository", 2, 7);
        assert_eq!(routes.find("ab", "c"), Some((0, 0)));
        assert_eq!(routes.find("a", "bc"), Some((1, 0)));
        assert_eq!(routes.find("github", "delete_repository"), Some((2, 7)));
        assert_eq!(routes.find("github", "delete_repositorY"), None);
        assert_eq!(routes.find("githu", "bdelete_repository"), None);
        assert_eq!(routes.find("", ""), None);
    }

    proptest::proptest! {
        /// Whatever the names, a lookup finds exactly the route added under them; also in a
        /// table built by hand where every route sits under the probe's hash, so that the
        /// chain is searched whole and only the names decide.
        #[test]
        fn a_lookup_finds_its_route(
            names in proptest::collection::btree_set(("[ab]{0,4}", "[ab]{0,4}"), 0..12),
            probe in ("[ab]{0,4}", "[ab]{0,4}"),
        ) {
            let mut routes = Routes::default();
            let mut colliding = Routes::default();
            let probe_key = key(&probe.0, &probe.1);
            for (i, (c, t)) in names.iter().enumerate() {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                routes.add(c, t, i, i);
                let index = u32::try_from(colliding.routes.len()).unwrap_or(u32::MAX);
                let slot = colliding.first.entry(probe_key).or_insert(u32::MAX);
                colliding.routes.push(Route {
                    connector_id: c.as_str().into(),
                    tool_name: t.as_str().into(),
                    connector: i,
                    tool: i,
                    next: *slot,
                });
                *slot = index;
            }
            let want = names.iter().position(|n| *n == probe).map(|i| {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                (i, i)
            });
            proptest::prop_assert_eq!(routes.find(&probe.0, &probe.1), want);
            proptest::prop_assert_eq!(colliding.find(&probe.0, &probe.1), want);
        }
    }
}
