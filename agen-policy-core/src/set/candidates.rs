//! A request's candidate policies (SPEC §4 step 3), in the order `decide` visits them: most
//! restrictive first.
//!
//! Postings hold visit keys rather than bare policy indices: a key is a policy's rank (by the
//! most restrictive action it can serve, `deny` first) in its top two bits and its index below,
//! so sorting keys sorts candidates by rank, then by id. Once the best action served so far
//! outranks a candidate, it outranks every candidate after it, and the visit can stop.

use smallvec::SmallVec;

use crate::decision::Action;

/// Bits of a key that hold the policy index.
const INDEX_BITS: u32 = 30;
/// The index part of a key; an index part of all ones names no policy.
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;

/// The visit key of policy `pi`, whose most restrictive action is `level`.
///
/// INVARIANT: an index that does not fit (more than 2^30 - 1 policies, far beyond any limit a
/// set could be loaded under) gives a key that names no policy, so that evaluation meets it and
/// fails closed rather than reading it as another policy.
pub(super) fn visit_key(pi: u32, level: Action) -> u32 {
    if pi >= INDEX_MASK {
        return u32::MAX;
    }
    let rank = match level {
        Action::Deny => 0,
        Action::RequestApproval => 1,
        Action::StepUp => 2,
        Action::Allow => 3,
    };
    (rank << INDEX_BITS) | pi
}

/// The policy index and level a key names, or `None` for a key that names no policy.
pub(super) fn decode(key: u32) -> Option<(u32, Action)> {
    let pi = key & INDEX_MASK;
    if pi == INDEX_MASK {
        return None;
    }
    let level = match key >> INDEX_BITS {
        0 => Action::Deny,
        1 => Action::RequestApproval,
        2 => Action::StepUp,
        _ => Action::Allow,
    };
    Some((pi, level))
}

/// The candidates of one request, as visit keys in two sorted lists without repeats, visited
/// as one: the tool's all-users postings, read in place from the index however long they are,
/// and the few scoped to the user or their groups, gathered here (a policy is in one or the
/// other, never both).
pub(super) struct Candidates<'s> {
    shared: &'s [u32],
    /// Sorted and without repeats once [`Candidates::finish`] has run.
    pub(super) scoped: SmallVec<[u32; 16]>,
}

impl<'s> Candidates<'s> {
    #[inline]
    pub(super) fn new(shared: &'s [u32]) -> Self {
        Candidates {
            shared,
            scoped: SmallVec::new(),
        }
    }

    /// Sorts the scoped keys and drops repeats, when they came from several posting lists.
    #[inline]
    pub(super) fn finish(&mut self, lists: u32) {
        if lists > 1 && self.scoped.len() > 1 {
            self.scoped.sort_unstable();
            self.scoped.dedup();
        }
    }

    /// Every candidate, most restrictive first, then in id order.
    #[inline]
    pub(super) fn visit(&self) -> Visit<'_> {
        Visit {
            shared: self.shared,
            scoped: &self.scoped,
        }
    }
}

/// A merge of the two sorted key lists of [`Candidates`].
pub(super) struct Visit<'a> {
    shared: &'a [u32],
    scoped: &'a [u32],
}

impl Iterator for Visit<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let from_scoped = match (self.shared.first(), self.scoped.first()) {
            (Some(a), Some(b)) => b < a,
            (None, _) => true,
            (Some(_), None) => false,
        };
        let list = if from_scoped {
            &mut self.scoped
        } else {
            &mut self.shared
        };
        let (&key, rest) = list.split_first()?;
        *list = rest;
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_most_restrictive_first_then_by_index() {
        let mut keys = [
            visit_key(0, Action::Allow),
            visit_key(5, Action::Deny),
            visit_key(1, Action::StepUp),
            visit_key(2, Action::Deny),
            visit_key(3, Action::RequestApproval),
        ];
        keys.sort_unstable();
        let decoded: Vec<_> = keys.iter().filter_map(|&k| decode(k)).collect();
        assert_eq!(
            decoded,
            [
                (2, Action::Deny),
                (5, Action::Deny),
                (3, Action::RequestApproval),
                (1, Action::StepUp),
                (0, Action::Allow)
            ]
        );
    }

    #[test]
    fn an_index_too_large_names_no_policy() {
        assert_eq!(decode(visit_key(INDEX_MASK, Action::Deny)), None);
        assert_eq!(decode(visit_key(u32::MAX, Action::Allow)), None);
        assert_eq!(
            decode(visit_key(INDEX_MASK - 1, Action::Allow)),
            Some((INDEX_MASK - 1, Action::Allow))
        );
    }

    #[test]
    fn the_visit_merges_both_lists() {
        let shared = [1, 4, 6];
        let mut c = Candidates::new(&shared);
        c.scoped.extend([7, 0, 5, 0]);
        c.finish(2);
        assert!(c.visit().eq([0, 1, 4, 5, 6, 7]));
        assert!(Candidates::new(&[]).visit().next().is_none());
    }
}
