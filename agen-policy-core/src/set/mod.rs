//! The compiled, immutable [`PolicySet`] and its index: connector → tool → scope.

use std::ops::Range;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::condition::{
    lookup, Attribute, CompiledCondition, Outcome, Read, ReadCache, Resolved, UserGroups,
};
use crate::decision::{Action, Decision, Reason};
use crate::error::RequestError;
use crate::error::{LoadError, Problem};
use crate::evidence::StepUpRequirement;
use crate::limits::Limits;
use crate::load::{self, CompiledRules};
use crate::model::{Document, Otherwise};
use crate::request::Request;
use crate::view::RequestView;

mod build;
mod candidates;
mod routes;
mod version;

use candidates::Candidates;
use routes::Routes;

/// A loaded, validated and indexed policy document: immutable, cheap to share across threads
/// (`Send + Sync`), and evaluated without allocating on the common path.
///
/// ```
/// use agen_policy_core::{Action, PolicySet, Request};
///
/// let set = PolicySet::from_json(r#"{
///   "connectors": [{ "id": "github", "tools": [{ "name": "delete_repository" }] }],
///   "policies": [{ "id": "p", "name": "Deletes need approval", "connector": "github",
///                  "action": "request_approval", "all_users": true,
///                  "tools": ["delete_repository"] }]
/// }"#)?;
/// let decision = set.evaluate(&Request::new("alice", "github", "delete_repository")?);
/// assert_eq!(decision.action(), Action::RequestApproval);
/// assert!(decision.policies().eq(["p"]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PolicySet {
    document: Document,
    version: Box<str>,
    warnings: Vec<Problem>,
    connectors: FxHashMap<Box<str>, u32>,
    connector_index: Vec<ConnectorIndex>,
    /// Every enabled tool of every enabled connector, by both names at once.
    routes: Routes,
    users: FxHashMap<Box<str>, UserEntry>,
    directory: Vec<DirectoryEntry>,
    group_syms: FxHashMap<Box<str>, u32>,
    /// Sorted by id, so policy indices sort like ids (in byte order).
    pub(crate) policies: Vec<CompiledPolicy>,
    /// Approval flow ids sorted, so flow indices sort like the ids.
    pub(crate) flows: Vec<Box<str>>,
    /// Per entry of `flows`, its index in `document.approval_flows`.
    flow_sources: Vec<u32>,
    /// The distinct attributes conditions read (`CompiledCondition::attribute` indexes it).
    attributes: Vec<Attribute>,
    /// Per tool slot, the policies that apply to every user: the tool's own and its
    /// connector's all-tools policies that do not exclude it.
    all_users: Vec<Range<u32>>,
    /// Per slot, whether any policy of it is scoped to users / to groups (skips lookups).
    scoped: Vec<(bool, bool)>,
    /// `(slot, principal)` → the policies of that slot scoped to that principal.
    postings: FxHashMap<u64, Range<u32>>,
    /// The posting lists, as visit keys (`candidates.rs`), each sorted most restrictive first.
    posting_data: Vec<u32>,
}

#[derive(Debug)]
pub(crate) struct ConnectorIndex {
    enabled: bool,
    tools: FxHashMap<Box<str>, u32>,
    tool_enabled: Vec<bool>,
    /// Slot of its first tool; tool `t` is slot `first_slot + t`.
    first_slot: u32,
    /// Slot of the policies scoped to users or groups that govern all its tools (`all: true`),
    /// checked against `exclude` at evaluation (its all-users ones are merged into each tool's).
    all_slot: u32,
    /// Its policies (indices into `policies`), for explanations.
    policies: Vec<u32>,
}

#[derive(Debug, Default)]
pub(crate) struct UserEntry {
    /// Symbol when some policy names the user in its scope.
    sym: Option<u32>,
    /// Index into `directory` when the document lists the user.
    directory: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct DirectoryEntry {
    email: Option<Box<str>>,
    name: Option<Box<str>>,
    groups: Box<[Box<str>]>,
    group_syms: Box<[u32]>,
}

#[derive(Debug)]
pub(crate) struct CompiledPolicy {
    pub(crate) action: Action,
    pub(crate) otherwise: Otherwise,
    pub(crate) rules: CompiledRules,
    pub(crate) flow: Option<u32>,
    /// The most restrictive action it can serve: postings order candidates by it (its visit
    /// key), and evaluation stops at the first candidate whose level is beaten.
    max_served: Action,
    /// Whether it can serve `step_up` or `request_approval`, which evidence may satisfy.
    may_need_evidence: bool,
    /// Its effective step-up requirement, when it can serve `step_up`.
    pub(crate) step_up: Option<Box<StepUpRequirement>>,
    /// For `all: true` policies: the excluded tools of its connector, sorted.
    exclude: Box<[u32]>,
    /// Its index in `document.policies`.
    pub(crate) source: u32,
}

/// The request's principals, resolved once per evaluation.
pub(crate) struct Subject<'a> {
    pub(crate) request: RequestView<'a>,
    user: Option<&'a UserEntry>,
    directory: Option<&'a DirectoryEntry>,
}

impl<'a> Subject<'a> {
    /// The user's groups: the directory's, then the request's.
    pub(crate) fn groups(&self) -> UserGroups<'a> {
        UserGroups {
            directory: self.directory.map_or(&[][..], |d| &d.groups),
            request: self.request.groups,
        }
    }
}

/// `max_age` when neither a policy nor the document sets one (SPEC §7.1).
const DEFAULT_MAX_AGE: u32 = 300;

const USER_TAG: u32 = 0;
const GROUP_TAG: u32 = 1;

fn posting_key(slot: u32, tag: u32, sym: u32) -> u64 {
    (u64::from(slot) << 32) | (u64::from(sym) << 1) | u64::from(tag)
}

fn to_u32(n: usize) -> u32 {
    // INVARIANT: the limits bound policies, tools, users and groups far below u32::MAX.
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl PolicySet {
    /// Loads a document from JSON text under the default [`Limits`].
    pub fn from_json(text: &str) -> Result<PolicySet, LoadError> {
        PolicySet::from_slice(text.as_bytes())
    }

    /// Loads a document from JSON bytes under the default [`Limits`].
    pub fn from_slice(bytes: &[u8]) -> Result<PolicySet, LoadError> {
        PolicySet::from_slice_with_limits(bytes, &Limits::default())
    }

    /// Loads a document from JSON bytes under `limits`.
    pub fn from_slice_with_limits(bytes: &[u8], limits: &Limits) -> Result<PolicySet, LoadError> {
        let loaded = load::load(bytes, limits)?;
        Ok(PolicySet::compile(loaded))
    }

    /// Loads a [`Document`] (for instance one read from a set with [`PolicySet::document`] and
    /// changed), validating it like text.
    pub fn from_document(document: &Document) -> Result<PolicySet, LoadError> {
        let text = serde_json::to_vec(document).unwrap_or_default();
        PolicySet::from_slice(&text)
    }

    /// The document, as loaded, with every default filled in. It serializes to JSON that loads
    /// to a set making the same decisions.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// The version of this set: the SHA-256, in hex, of its document serialized as
    /// [`PolicySet::document`] gives it. Two documents that differ only in formatting or in
    /// defaults written out have the same version. Every decision carries it.
    pub fn version(&self) -> &str {
        &self.version
    }

    // What a decision reads back from its indices. `decide` checks each index before it
    // records it, so these lookups do not miss; were one to, it reads as empty, never as
    // another policy.

    /// The id of compiled policy `pi`.
    pub(crate) fn policy_id(&self, pi: u32) -> &str {
        self.policies
            .get(pi as usize)
            .and_then(|p| self.document.policies.get(p.source as usize))
            .map_or("", |p| &*p.id)
    }

    /// The index in `document.policies` of compiled policy `pi`.
    pub(crate) fn policy_source(&self, pi: u32) -> u32 {
        self.policies
            .get(pi as usize)
            .map_or(u32::MAX, |p| p.source)
    }

    /// The effective step-up requirement of compiled policy `pi`, if it has one.
    pub(crate) fn step_up_of(&self, pi: u32) -> Option<&StepUpRequirement> {
        self.policies.get(pi as usize)?.step_up.as_deref()
    }

    /// The id of flow `f` (an index into the sorted `flows`).
    pub(crate) fn flow_id(&self, f: u32) -> &str {
        self.flows.get(f as usize).map_or("", |id| id)
    }

    /// The index in `document.approval_flows` of flow `f`.
    pub(crate) fn flow_source(&self, f: u32) -> u32 {
        self.flow_sources
            .get(f as usize)
            .copied()
            .unwrap_or(u32::MAX)
    }

    /// The warnings found while loading.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// Decides on a request (SPEC §4). Never fails, never panics, and allocates nothing unless
    /// more than 16 candidates are scoped to the user or their groups (those that apply to all
    /// users are read in place, however many), more than 16 of the request's own groups are
    /// named by some policy, more than 16 attributes are read, or the decision needs room
    /// (`Decision`).
    pub fn evaluate<'s>(&'s self, request: &Request) -> Decision<'s> {
        // Built in place and filled by reference: the hot path moves no buffers around.
        let mut decision = Decision::without_policy(self, Reason::NoPolicy);
        // INVARIANT: a `Request` is checked whole when built, so reading it cannot fail.
        if self.decide_view(&request.view(), &mut decision).is_err() {
            decision.fail_closed();
        }
        decision
    }

    /// Decides on a request view (SPEC §4), reading only the context attributes the candidate
    /// policies' conditions read. A value the context cannot supply refuses the request with
    /// the error, never a decision (see [`RequestView`] for what is checked when). Never
    /// panics; allocates as [`PolicySet::evaluate`] does.
    pub fn evaluate_view<'s>(
        &'s self,
        request: &RequestView<'_>,
    ) -> Result<Decision<'s>, RequestError> {
        let mut decision = Decision::without_policy(self, Reason::NoPolicy);
        self.decide_view(request, &mut decision)?;
        Ok(decision)
    }

    /// Decides into `decision`, or the error of a context value that could not be read.
    #[inline]
    fn decide_view<'s>(
        &'s self,
        request: &RequestView<'_>,
        decision: &mut Decision<'s>,
    ) -> Result<(), RequestError> {
        match self.locate(request.connector, request.tool) {
            Err(reason) => decision.set_reason(reason),
            Ok((connector, tool)) => {
                let subject = self.subject_of(*request);
                let candidates = self.candidates(connector, tool, &subject);
                // Made when a candidate first has conditions to evaluate.
                let mut reads = None;
                self.decide(&candidates, &subject, &mut reads, decision);
                if let Some(error) = reads.and_then(|r| r.failed) {
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Resolves the request's connector and tool, or the reason it is denied outright.
    #[inline]
    pub(crate) fn locate(
        &self,
        connector: &str,
        tool: &str,
    ) -> Result<(&ConnectorIndex, u32), Reason> {
        // An enabled tool of an enabled connector, in one probe; anything else (or a route
        // whose connector is missing, which cannot be) is decided step by step.
        let routed = self
            .routes
            .find(connector, tool)
            .and_then(|(c, t)| Some((self.connector_index.get(c as usize)?, t)));
        match routed {
            Some(found) => Ok(found),
            None => self.locate_by_steps(connector, tool),
        }
    }

    /// [`PolicySet::locate`] by the connector, then the tool: the reason a request is denied.
    #[inline(never)]
    fn locate_by_steps(
        &self,
        connector: &str,
        tool: &str,
    ) -> Result<(&ConnectorIndex, u32), Reason> {
        let connector = self
            .connectors
            .get(connector)
            .and_then(|&i| self.connector_index.get(i as usize))
            .ok_or(Reason::UnknownConnector)?;
        if !connector.enabled {
            return Err(Reason::ConnectorDisabled);
        }
        let tool = *connector.tools.get(tool).ok_or(Reason::UnknownTool)?;
        if !connector
            .tool_enabled
            .get(tool as usize)
            .copied()
            .unwrap_or(false)
        {
            return Err(Reason::ToolDisabled);
        }
        Ok((connector, tool))
    }

    pub(crate) fn subject<'a>(&'a self, request: &'a Request) -> Subject<'a> {
        self.subject_of(request.view())
    }

    pub(crate) fn subject_of<'a>(&'a self, request: RequestView<'a>) -> Subject<'a> {
        let user = self.users.get(request.user);
        let directory = user
            .and_then(|u| u.directory)
            .and_then(|d| self.directory.get(d as usize));
        Subject {
            request,
            user,
            directory,
        }
    }

    /// The candidate policies (SPEC §4 step 3), as visit keys: the tool's all-users postings
    /// (the connector's all-tools policies merged in at build time, those excluding the tool
    /// left out) and the postings of the user and their groups, the latter gathered here.
    fn candidates<'s>(
        &'s self,
        connector: &ConnectorIndex,
        tool: u32,
        subject: &Subject<'_>,
    ) -> Candidates<'s> {
        let tool_slot = connector.first_slot + tool;
        let shared = self
            .all_users
            .get(tool_slot as usize)
            .map_or(&[][..], |range| self.postings_of(range));
        let mut out = Candidates::new(shared);
        let user_sym = subject.user.and_then(|u| u.sym);
        // The user's groups that some policy names: the directory's come pre-resolved, the
        // request's are resolved only if a slot has group postings.
        let directory_groups = subject.directory.map_or(&[][..], |d| &d.group_syms[..]);
        let has_request_groups = subject.request.groups.iter().next().is_some();
        let mut request_groups: Option<SmallVec<[u32; 16]>> = None;
        // Each posting list is sorted and without repeats: only several need merging.
        let mut lists = 0;
        for (slot, check_exclude) in [(tool_slot, false), (connector.all_slot, true)] {
            let (by_user, by_group) = self.scoped.get(slot as usize).copied().unwrap_or_default();
            let mut take = |range: &Range<u32>| {
                lists += 1;
                for &key in self.postings_of(range) {
                    // All-tools policies of the connector, but those excluding this tool.
                    // INVARIANT: a key that names no policy stays a candidate, so that `decide`
                    // meets it and fails closed rather than dropping it here.
                    if check_exclude
                        && candidates::decode(key)
                            .and_then(|(pi, _)| self.policies.get(pi as usize))
                            .is_some_and(|p| p.exclude.binary_search(&tool).is_ok())
                    {
                        continue;
                    }
                    out.scoped.push(key);
                }
            };
            if by_user {
                if let Some(range) =
                    user_sym.and_then(|sym| self.postings.get(&posting_key(slot, USER_TAG, sym)))
                {
                    take(range);
                }
            }
            if by_group {
                for &sym in directory_groups {
                    if let Some(range) = self.postings.get(&posting_key(slot, GROUP_TAG, sym)) {
                        take(range);
                    }
                }
                if has_request_groups {
                    let groups = request_groups.get_or_insert_with(|| {
                        let named = subject.request.groups.iter();
                        named
                            .filter_map(|g| self.group_syms.get(g).copied())
                            .collect()
                    });
                    for &sym in groups.iter() {
                        if let Some(range) = self.postings.get(&posting_key(slot, GROUP_TAG, sym)) {
                            take(range);
                        }
                    }
                }
            }
        }
        out.finish(lists);
        out
    }

    fn postings_of(&self, range: &Range<u32>) -> &[u32] {
        self.posting_data
            .get(range.start as usize..range.end as usize)
            .unwrap_or_default()
    }

    /// Steps 4-6 of SPEC §4 over the candidates, into `decision` (which says `no_policy` until
    /// a candidate serves an action).
    ///
    /// Candidates come most restrictive first. One that cannot serve the best action so far
    /// changes nothing, and neither can any after it, so the visit stops there; unless the
    /// request carries evidence, which may list as satisfied a candidate that can serve
    /// `step_up` or `request_approval`: then only the others are skipped.
    fn decide<'s: 'a, 'a>(
        &'s self,
        candidates: &Candidates<'_>,
        subject: &Subject<'a>,
        resolved: &mut Option<ReadCache<'a>>,
        decision: &mut Decision<'s>,
    ) {
        let request = &subject.request;
        // Only a request with `now` can satisfy anything: `auth` and `grants` need it.
        let now = request.now();
        let mut best: Option<Action> = None;
        // The candidates that served `best` (after evidence), and those the evidence satisfied,
        // in visit order.
        let mut determining: SmallVec<[u32; 32]> = SmallVec::new();
        let mut satisfied: SmallVec<[u32; 4]> = SmallVec::new();
        for key in candidates.visit() {
            // INVARIANT: keys name policies at their level (postings are built from
            // `policies`). A miss would drop a policy, and a dropped `deny` loosens the
            // decision: fail closed instead.
            let Some((pi, p)) = candidates::decode(key).and_then(|(pi, level)| {
                let p = self.policies.get(pi as usize)?;
                (p.max_served == level).then_some((pi, p))
            }) else {
                decision.fail_closed();
                return;
            };
            if best.is_some_and(|b| p.max_served < b) {
                if now.is_none() {
                    break;
                }
                if !p.may_need_evidence {
                    continue;
                }
            }
            let mut action = self.serve(p, subject, resolved);
            if let (Some(a @ (Action::StepUp | Action::RequestApproval)), Some(now)) = (action, now)
            {
                if self.satisfies(p, a, request, now) {
                    if self.document.policies.get(p.source as usize).is_none() {
                        decision.fail_closed();
                        return;
                    }
                    satisfied.push(pi);
                    action = Some(Action::Allow);
                }
            }
            let Some(a) = action else {
                continue;
            };
            match best {
                Some(b) if a < b => {}
                Some(b) if a == b => determining.push(pi),
                _ => {
                    best = Some(a);
                    determining.clear();
                    determining.push(pi);
                }
            }
        }
        // Policy indices sort like ids; candidates of one level come in id order already.
        sort_ids(&mut satisfied);
        for &pi in &satisfied {
            decision.push_satisfied(pi);
        }
        let Some(best) = best else {
            return;
        };
        sort_ids(&mut determining);
        let mut flows: SmallVec<[u32; 4]> = SmallVec::new();
        for &pi in &determining {
            let Some(p) = self
                .policies
                .get(pi as usize)
                .filter(|p| self.document.policies.get(p.source as usize).is_some())
            else {
                decision.fail_closed();
                return;
            };
            match best {
                Action::RequestApproval => {
                    if let Some(f) = p.flow {
                        flows.push(f);
                    }
                }
                Action::StepUp => {
                    if p.step_up.is_none() {
                        decision.fail_closed();
                        return;
                    }
                }
                Action::Allow | Action::Deny => {}
            }
        }
        decision.push_policies(&determining);
        flows.sort_unstable();
        flows.dedup();
        for &f in &flows {
            if self.flows.get(f as usize).is_none() || self.flow_sources.get(f as usize).is_none() {
                decision.fail_closed();
                return;
            }
            decision.push_approval_flow(f);
        }
        decision.set_action(best);
    }

    /// Whether the request's evidence satisfies the `step_up` or `request_approval` that `p`
    /// served (SPEC §7.3).
    pub(crate) fn satisfies(
        &self,
        p: &CompiledPolicy,
        served: Action,
        request: &RequestView<'_>,
        now: i64,
    ) -> bool {
        match served {
            Action::StepUp => match (&p.step_up, request.auth()) {
                (Some(requirement), Some(auth)) => requirement.satisfied_by(auth, now),
                _ => false,
            },
            Action::RequestApproval => {
                let Some(flow) = p.flow.and_then(|f| self.flows.get(f as usize)) else {
                    return false;
                };
                request.grants().iter().any(|g| {
                    *g.flow == **flow
                        && g.user == request.user
                        && g.connector == request.connector
                        && g.tool == request.tool
                        && now < g.expires
                        && g.arguments
                            .as_deref()
                            .is_none_or(|bound| request.arguments() == Some(bound))
                })
            }
            Action::Allow | Action::Deny => false,
        }
    }

    /// What a candidate serves (SPEC §4 step 4); `None` for `otherwise: none`.
    fn serve<'a>(
        &'a self,
        p: &CompiledPolicy,
        subject: &Subject<'a>,
        resolved: &mut Option<ReadCache<'a>>,
    ) -> Option<Action> {
        match &p.rules {
            None => Some(p.action),
            Some(rules) => self.serve_targeted(p, rules, subject, resolved),
        }
    }

    /// What a candidate with targeting serves: out of line, so that the visit's loop stays
    /// small for the candidates without.
    #[inline(never)]
    fn serve_targeted<'a>(
        &'a self,
        p: &CompiledPolicy,
        rules: &[Box<[CompiledCondition]>],
        subject: &Subject<'a>,
        resolved: &mut Option<ReadCache<'a>>,
    ) -> Option<Action> {
        let resolved =
            resolved.get_or_insert_with(|| ReadCache::new(&subject.request, subject.groups()));
        let groups = resolved.groups;
        let matched = rules.iter().any(|rule| {
            rule.iter().all(|c| {
                resolved
                    .get(c.attribute, || self.resolve(c.attribute, subject))
                    .is_some_and(|read| c.evaluate(read, &groups).holds())
            })
        });
        match (matched, p.otherwise) {
            (true, _) => Some(p.action),
            (false, Otherwise::Serve(a)) => Some(a),
            (false, Otherwise::None) => None,
        }
    }

    /// The attribute a condition's index names.
    pub(crate) fn attribute(&self, index: u32) -> Option<&Attribute> {
        self.attributes.get(index as usize)
    }

    /// A condition's outcome and the value it compared, for explanations (of requests, whose
    /// context was checked whole).
    pub(crate) fn condition(
        &self,
        c: &CompiledCondition,
        subject: &Subject<'_>,
    ) -> (Outcome, Option<serde_json::Value>) {
        let mut read = Read::new(
            self.resolve(c.attribute, subject)
                .unwrap_or(Resolved::Missing),
        );
        let groups = subject.groups();
        (c.evaluate(&mut read, &groups), read.value.to_value(groups))
    }

    #[inline]
    pub(crate) fn resolve<'a>(
        &'a self,
        attribute: u32,
        subject: &Subject<'a>,
    ) -> Result<Resolved<'a>, RequestError> {
        let r = &subject.request;
        let Some(attribute) = self.attributes.get(attribute as usize) else {
            return Ok(Resolved::Missing);
        };
        Ok(match attribute {
            Attribute::UserId => Resolved::Str(r.user),
            Attribute::ConnectorId => Resolved::Str(r.connector),
            Attribute::ToolName => Resolved::Str(r.tool),
            Attribute::UserEmail => subject
                .directory
                .and_then(|d| d.email.as_deref())
                .map_or(Resolved::Missing, Resolved::Str),
            Attribute::UserName => subject
                .directory
                .and_then(|d| d.name.as_deref())
                .map_or(Resolved::Missing, Resolved::Str),
            Attribute::UserGroups => Resolved::Groups,
            Attribute::Context { name, path } => match r.context {
                Some(context) => lookup(context, r.dotted_keys, name, path, r.max_context_depth)?,
                None => Resolved::Missing,
            },
        })
    }

    /// The value a condition's attribute has in a request, as JSON, for explanations: a
    /// context value whole, objects included.
    pub(crate) fn actual(
        &self,
        attribute: u32,
        subject: &Subject<'_>,
        request: &Request,
    ) -> Option<serde_json::Value> {
        match self.attributes.get(attribute as usize)? {
            Attribute::Context { name, path } => {
                let context = request.context();
                let exact = (path.len() < 2 || request.has_dotted_keys())
                    .then(|| context.get(&**name))
                    .flatten();
                let along = || {
                    let (first, rest) = path.split_first()?;
                    rest.iter()
                        .try_fold(context.get(&**first)?, |v, k| v.as_object()?.get(&**k))
                };
                exact.or_else(along).cloned()
            }
            _ => self
                .resolve(attribute, subject)
                .ok()
                .and_then(|r| r.to_value(subject.groups())),
        }
    }

    /// Whether the request's user is in the directory.
    pub(crate) fn in_directory(&self, subject: &Subject<'_>) -> bool {
        subject.directory.is_some()
    }

    /// The policies of a connector, for explanations (sorted by id).
    pub(crate) fn connector_policies(&self, connector: &str) -> &[u32] {
        self.connectors
            .get(connector)
            .and_then(|&i| self.connector_index.get(i as usize))
            .map_or(&[], |c| &c.policies)
    }

    /// The effective groups of the subject as strings (directory, then request).
    pub(crate) fn effective_groups<'a>(&'a self, subject: &Subject<'a>) -> Vec<&'a str> {
        let mut out: Vec<&str> = subject
            .directory
            .map(|d| d.groups.iter().map(|g| &**g).collect())
            .unwrap_or_default();
        for g in subject.request.groups.iter() {
            if !out.contains(&g) {
                out.push(g);
            }
        }
        out
    }
}

/// Puts policy indices in id order, each once: indices sort like ids.
fn sort_ids<A: smallvec::Array<Item = u32>>(ids: &mut SmallVec<A>) {
    if !ids.windows(2).all(|w| w.first() < w.get(1)) {
        ids.sort_unstable();
        ids.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    /// A posting that names no policy (which construction rules out) denies with reason
    /// `internal` instead of dropping what might have been a `deny`.
    #[test]
    fn an_index_miss_denies() {
        let mut set = PolicySet::from_json(
            r#"{"connectors": [{"id": "c", "tools": [{"name": "t"}]}],
                "policies": [{"id": "p", "name": "P", "connector": "c", "action": "allow",
                              "all_users": true, "tools": ["t"]}]}"#,
        )
        .expect("loads");
        let request = Request::new("u", "c", "t").expect("valid");
        assert_eq!(set.evaluate(&request).action(), Action::Allow);
        for data in &mut set.posting_data {
            *data = 99;
        }
        let decision = set.evaluate(&request);
        assert_eq!(
            (decision.action(), decision.reason()),
            (Action::Deny, Reason::Internal)
        );
        assert_eq!(decision.policies().len(), 0);
    }

    /// A posting whose level is not its policy's (the visit would stop at the wrong place)
    /// denies with reason `internal` too.
    #[test]
    fn a_posting_at_the_wrong_level_denies() {
        let mut set = PolicySet::from_json(
            r#"{"connectors": [{"id": "c", "tools": [{"name": "t"}]}],
                "policies": [{"id": "p", "name": "P", "connector": "c", "action": "deny",
                              "all_users": true, "tools": ["t"]}]}"#,
        )
        .expect("loads");
        let request = Request::new("u", "c", "t").expect("valid");
        assert_eq!(set.evaluate(&request).reason(), Reason::Policy);
        for data in &mut set.posting_data {
            *data = candidates::visit_key(0, Action::Allow);
        }
        let decision = set.evaluate(&request);
        assert_eq!(
            (decision.action(), decision.reason()),
            (Action::Deny, Reason::Internal)
        );
    }

    #[test]
    fn policy_set_is_send_and_sync() {
        assert_send_sync::<PolicySet>();
    }
}
