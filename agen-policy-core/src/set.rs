//! The compiled, immutable [`PolicySet`] and its index: connector → tool → scope.

use std::ops::Range;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::condition::{lookup, Attribute, CompiledCondition, Outcome, Resolved, ResolvedCache};
use crate::decision::{Action, Decision, Reason};
use crate::error::{LoadError, Problem};
use crate::evidence::StepUpRequirement;
use crate::limits::Limits;
use crate::load::{self, CompiledRules};
use crate::model::{Document, Otherwise};
use crate::request::Request;

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
/// assert_eq!(decision.policies(), ["p"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PolicySet {
    document: Document,
    version: Box<str>,
    warnings: Vec<Problem>,
    connectors: FxHashMap<Box<str>, u32>,
    connector_index: Vec<ConnectorIndex>,
    users: FxHashMap<Box<str>, UserEntry>,
    directory: Vec<DirectoryEntry>,
    group_syms: FxHashMap<Box<str>, u32>,
    /// Sorted by id, so candidates collected in index order are already in byte order.
    pub(crate) policies: Vec<CompiledPolicy>,
    /// Approval flow ids sorted, so flow indices sort like the ids.
    pub(crate) flows: Vec<Box<str>>,
    /// The distinct attributes conditions read (`CompiledCondition::attribute` indexes it).
    attributes: Vec<Attribute>,
    /// Per slot, the policies that apply to every user.
    all_users: Vec<Range<u32>>,
    /// Per slot, whether any policy of it is scoped to users / to groups (skips lookups).
    scoped: Vec<(bool, bool)>,
    /// `(slot, principal)` → the policies of that slot scoped to that principal.
    postings: FxHashMap<u64, Range<u32>>,
    posting_data: Vec<u32>,
}

#[derive(Debug)]
pub(crate) struct ConnectorIndex {
    enabled: bool,
    tools: FxHashMap<Box<str>, u32>,
    tool_enabled: Vec<bool>,
    /// Slot of its first tool; tool `t` is slot `first_slot + t`.
    first_slot: u32,
    /// Slot of the policies that govern all its tools (`all: true`), checked against `exclude`.
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
    /// The most restrictive action it can serve; lets evaluation skip it once that is beaten.
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
    pub(crate) request: &'a Request,
    user: Option<&'a UserEntry>,
    directory: Option<&'a DirectoryEntry>,
}

/// `max_age` when neither a policy nor the document sets one (SPEC §7.1).
const DEFAULT_MAX_AGE: u32 = 300;

const USER_TAG: u32 = 0;
const GROUP_TAG: u32 = 1;

fn posting_key(slot: u32, tag: u32, sym: u32) -> u64 {
    (u64::from(slot) << 32) | (u64::from(sym) << 1) | u64::from(tag)
}

/// SHA-256 of the document's canonical JSON, in lower-case hex. The JSON is streamed into the
/// hash, never held in memory.
fn content_hash(document: &Document) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;

    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    // Buffered: serde_json writes token by token, the hash is fastest fed in large blocks.
    let mut writer = std::io::BufWriter::with_capacity(1 << 16, Hashing(Sha256::new()));
    // Serializing plain data into a writer that cannot fail cannot fail.
    let _ = serde_json::to_writer(&mut writer, document);
    let _ = std::io::Write::flush(&mut writer);
    let (hashing, _) = writer.into_parts();
    hashing
        .0
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
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

    /// The warnings found while loading.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    fn compile(loaded: load::Loaded) -> PolicySet {
        let load::Loaded {
            document,
            rules,
            attributes,
            warnings,
        } = loaded;

        // Connectors and their tool slots.
        let mut connectors = FxHashMap::default();
        let mut connector_index = Vec::with_capacity(document.connectors.len());
        let mut slot = 0u32;
        for (i, c) in document.connectors.iter().enumerate() {
            connectors.insert(c.id.as_ref().into(), to_u32(i));
            let mut tools = FxHashMap::default();
            for (t, tool) in c.tools.iter().enumerate() {
                tools.insert(tool.name.as_ref().into(), to_u32(t));
            }
            connector_index.push(ConnectorIndex {
                enabled: c.enabled,
                tools,
                tool_enabled: c.tools.iter().map(|t| t.enabled).collect(),
                first_slot: slot,
                all_slot: 0,
                policies: Vec::new(),
            });
            slot += to_u32(c.tools.len());
        }
        for c in &mut connector_index {
            c.all_slot = slot;
            slot += 1;
        }
        let slots = slot as usize;

        // Users and groups named in scopes get symbols; directory users get entries.
        let mut users: FxHashMap<Box<str>, UserEntry> = FxHashMap::default();
        let mut group_syms: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut user_count = 0u32;
        for p in &document.policies {
            for u in &p.scope.users {
                let e = users.entry(u.clone()).or_default();
                if e.sym.is_none() {
                    e.sym = Some(user_count);
                    user_count += 1;
                }
            }
            for g in &p.scope.groups {
                let n = to_u32(group_syms.len());
                group_syms.entry(g.clone()).or_insert(n);
            }
        }
        let mut directory = Vec::with_capacity(document.users.len());
        for u in &document.users {
            let e = users.entry(u.id.as_ref().into()).or_default();
            e.directory = Some(to_u32(directory.len()));
            directory.push(DirectoryEntry {
                email: u.email.as_deref().map(Box::from),
                name: u.name.as_deref().map(Box::from),
                groups: u.groups.iter().map(|g| Box::from(&**g)).collect(),
                group_syms: u
                    .groups
                    .iter()
                    .filter_map(|g| group_syms.get(&**g).copied())
                    .collect(),
            });
        }

        // Policies in id order.
        let mut order: Vec<usize> = (0..document.policies.len()).collect();
        order.sort_by(|a, b| {
            let id = |i: &usize| document.policies.get(*i).map(|p| p.id.as_ref());
            id(a).cmp(&id(b))
        });
        let mut flows: Vec<Box<str>> = document
            .approval_flows
            .iter()
            .map(|f| Box::from(f.id.as_ref()))
            .collect();
        flows.sort();
        let mut rules: Vec<Option<CompiledRules>> = rules.into_iter().map(Some).collect();

        let mut all_users: Vec<Vec<u32>> = vec![Vec::new(); slots];
        // (posting key, policy) pairs, sorted into runs below: one vector, not one per key.
        let mut scoped_pairs: Vec<(u64, u32)> = Vec::new();
        let mut policies = Vec::with_capacity(order.len());
        for &source in &order {
            let Some(p) = document.policies.get(source) else {
                continue;
            };
            // INVARIANT: a policy's index is its place in `policies`, taken from what has been
            // pushed, so every index the postings hold names the policy it was built from.
            let pi = to_u32(policies.len());
            let compiled_rules = rules.get_mut(source).and_then(Option::take).flatten();
            let otherwise = p
                .targeting
                .as_ref()
                .map_or(Otherwise::Serve(p.action), |t| t.otherwise);
            let max_served = match (&compiled_rules, otherwise) {
                (None, _) => p.action,
                (Some(_), Otherwise::None) => p.action,
                (Some(_), Otherwise::Serve(o)) => p.action.max(o),
            };
            let serves = |a: Action| p.action == a || otherwise == Otherwise::Serve(a);
            let step_up = serves(Action::StepUp).then(|| {
                let inherited = document.step_up.as_ref();
                let own = p.step_up.as_ref();
                let max_age = own
                    .and_then(|s| s.max_age)
                    .or_else(|| inherited.and_then(|s| s.max_age))
                    .unwrap_or(DEFAULT_MAX_AGE);
                let acr_values = own
                    .and_then(|s| s.acr_values.as_deref())
                    .or_else(|| inherited.and_then(|s| s.acr_values.as_deref()))
                    .unwrap_or_default();
                Box::new(StepUpRequirement::new(&p.id, max_age, acr_values))
            });
            let may_need_evidence = serves(Action::StepUp) || serves(Action::RequestApproval);
            let Some(&ci) = connectors.get(p.connector.as_ref()) else {
                continue;
            };
            let Some(c) = connector_index.get_mut(ci as usize) else {
                continue;
            };
            c.policies.push(pi);
            let tool_slot = |name: &str| c.tools.get(name).copied();
            let (slots_of_policy, exclude): (Vec<u32>, Box<[u32]>) = if p.tools.all {
                let mut ex: Vec<u32> = p
                    .tools
                    .exclude
                    .iter()
                    .filter_map(|t| tool_slot(t))
                    .collect();
                ex.sort_unstable();
                ex.dedup();
                (vec![c.all_slot], ex.into_boxed_slice())
            } else {
                let mut s: Vec<u32> = p
                    .tools
                    .include
                    .iter()
                    .filter(|t| !p.tools.exclude.contains(t))
                    .filter_map(|t| tool_slot(t))
                    .map(|t| c.first_slot + t)
                    .collect();
                s.sort_unstable();
                s.dedup();
                (s, Box::default())
            };
            for &s in &slots_of_policy {
                if p.scope.all_users {
                    if let Some(list) = all_users.get_mut(s as usize) {
                        list.push(pi);
                    }
                    continue;
                }
                for u in &p.scope.users {
                    if let Some(sym) = users.get(&**u).and_then(|e| e.sym) {
                        scoped_pairs.push((posting_key(s, USER_TAG, sym), pi));
                    }
                }
                for g in &p.scope.groups {
                    if let Some(&sym) = group_syms.get(&**g) {
                        scoped_pairs.push((posting_key(s, GROUP_TAG, sym), pi));
                    }
                }
            }
            policies.push(CompiledPolicy {
                action: p.action,
                otherwise,
                rules: compiled_rules,
                flow: p
                    .approval_flow
                    .as_deref()
                    .and_then(|f| flows.binary_search_by(|x| (**x).cmp(f)).ok())
                    .map(to_u32),
                max_served,
                may_need_evidence,
                step_up,
                exclude,
                source: to_u32(source),
            });
        }

        // Flatten: one vector of policy indices, ranges into it.
        let mut posting_data = Vec::new();
        let mut flatten = |list: &mut Vec<u32>| {
            list.sort_unstable();
            list.dedup();
            let start = to_u32(posting_data.len());
            posting_data.extend_from_slice(list);
            start..to_u32(posting_data.len())
        };
        let all_users: Vec<Range<u32>> = all_users.iter_mut().map(&mut flatten).collect();
        let mut scoped = vec![(false, false); slots];
        // Policies were visited in index order, so each key's run comes out sorted.
        scoped_pairs.sort_unstable();
        scoped_pairs.dedup();
        let runs = scoped_pairs.chunk_by(|a, b| a.0 == b.0);
        let mut postings = FxHashMap::default();
        postings.reserve(runs.clone().count());
        for run in runs {
            let Some(&(key, _)) = run.first() else {
                continue;
            };
            let start = to_u32(posting_data.len());
            posting_data.extend(run.iter().map(|&(_, pi)| pi));
            postings.insert(key, start..to_u32(posting_data.len()));
            let slot = (key >> 32) as usize;
            if let Some(flags) = scoped.get_mut(slot) {
                if key & 1 == u64::from(GROUP_TAG) {
                    flags.1 = true;
                } else {
                    flags.0 = true;
                }
            }
        }
        posting_data.shrink_to_fit();

        PolicySet {
            version: content_hash(&document).into_boxed_str(),
            document,
            warnings,
            connectors,
            connector_index,
            users,
            directory,
            group_syms,
            policies,
            flows,
            attributes,
            all_users,
            scoped,
            postings,
            posting_data,
        }
    }

    /// Decides on a request (SPEC §4). Never fails, never panics, and for a request with up to
    /// 8 groups allocates nothing unless more than 16 policies are candidates.
    pub fn evaluate<'s>(&'s self, request: &Request) -> Decision<'s> {
        // Built in place and filled by reference: the hot path moves no buffers around.
        let mut decision = Decision::without_policy(Reason::NoPolicy, &self.version);
        match self.locate(request) {
            Err(reason) => decision.set_reason(reason),
            Ok((connector, tool)) => {
                let subject = self.subject(request);
                let mut candidates = SmallVec::new();
                self.candidates(connector, tool, &subject, &mut candidates);
                self.decide(&candidates, &subject, &mut decision);
            }
        }
        decision
    }

    /// Resolves the request's connector and tool, or the reason it is denied outright.
    pub(crate) fn locate(&self, request: &Request) -> Result<(&ConnectorIndex, u32), Reason> {
        let connector = self
            .connectors
            .get(request.connector())
            .and_then(|&i| self.connector_index.get(i as usize))
            .ok_or(Reason::UnknownConnector)?;
        if !connector.enabled {
            return Err(Reason::ConnectorDisabled);
        }
        let tool = *connector
            .tools
            .get(request.tool())
            .ok_or(Reason::UnknownTool)?;
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
        let user = self.users.get(request.user());
        let directory = user
            .and_then(|u| u.directory)
            .and_then(|d| self.directory.get(d as usize));
        Subject {
            request,
            user,
            directory,
        }
    }

    /// The candidate policies (SPEC §4 step 3), sorted and without repeats.
    fn candidates(
        &self,
        connector: &ConnectorIndex,
        tool: u32,
        subject: &Subject<'_>,
        out: &mut SmallVec<[u32; 16]>,
    ) {
        let user_sym = subject.user.and_then(|u| u.sym);
        // The user's groups that some policy names, resolved only if a slot has group postings;
        // directory groups come pre-resolved.
        let mut groups: Option<SmallVec<[u32; 16]>> = None;
        // Each posting list is sorted and without repeats: only several need merging.
        let mut lists = 0;
        let tool_slot = connector.first_slot + tool;
        for (slot, check_exclude) in [(tool_slot, false), (connector.all_slot, true)] {
            let mut take = |range: &Range<u32>| {
                if range.start < range.end {
                    let postings = self.postings_of(range).iter().copied();
                    if check_exclude {
                        // All-tools policies of the connector, but those excluding this tool.
                        // INVARIANT: a posting that names no policy stays a candidate, so that
                        // `decide` meets it and fails closed rather than dropping it here.
                        out.extend(postings.filter(|&p| {
                            self.policies
                                .get(p as usize)
                                .is_none_or(|p| p.exclude.binary_search(&tool).is_err())
                        }));
                    } else {
                        out.extend(postings);
                    }
                    lists += 1;
                }
            };
            if let Some(range) = self.all_users.get(slot as usize) {
                take(range);
            }
            let (by_user, by_group) = self.scoped.get(slot as usize).copied().unwrap_or_default();
            if by_user {
                if let Some(range) =
                    user_sym.and_then(|sym| self.postings.get(&posting_key(slot, USER_TAG, sym)))
                {
                    take(range);
                }
            }
            if by_group {
                let groups = groups.get_or_insert_with(|| self.group_syms_of(subject));
                for &sym in groups.iter() {
                    if let Some(range) = self.postings.get(&posting_key(slot, GROUP_TAG, sym)) {
                        take(range);
                    }
                }
            }
        }
        if lists > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }

    /// The symbols of the subject's groups that some policy names.
    fn group_syms_of(&self, subject: &Subject<'_>) -> SmallVec<[u32; 16]> {
        let mut groups: SmallVec<[u32; 16]> = SmallVec::new();
        if let Some(d) = subject.directory {
            groups.extend(d.group_syms.iter().copied());
        }
        for g in subject.request.groups() {
            if let Some(&sym) = self.group_syms.get(&**g) {
                groups.push(sym);
            }
        }
        groups
    }

    fn postings_of(&self, range: &Range<u32>) -> &[u32] {
        self.posting_data
            .get(range.start as usize..range.end as usize)
            .unwrap_or_default()
    }

    /// Steps 4-6 of SPEC §4 over sorted candidates, into `decision` (which says `no_policy`
    /// until a candidate serves an action).
    fn decide<'s>(
        &'s self,
        candidates: &[u32],
        subject: &Subject<'_>,
        decision: &mut Decision<'s>,
    ) {
        let request = subject.request;
        // Only a request with `now` can satisfy anything: `auth` and `grants` need it.
        let now = request.now();
        let mut best: Option<Action> = None;
        let mut resolved = ResolvedCache::new();
        // What each candidate served (after evidence), in candidate order; `None` when skipped
        // or dropped out.
        let mut served: SmallVec<[Option<Action>; 16]> = SmallVec::with_capacity(candidates.len());
        for &pi in candidates {
            // INVARIANT: candidates index `policies` (postings are built from it). A miss would
            // drop a policy, and a dropped `deny` loosens the decision: fail closed instead.
            let Some(p) = self.policies.get(pi as usize) else {
                decision.fail_closed();
                return;
            };
            // A policy that cannot serve anything as restrictive as the best so far changes
            // nothing: skip its targeting, unless the evidence might list it as satisfied.
            let skip =
                best.is_some_and(|b| p.max_served < b) && (now.is_none() || !p.may_need_evidence);
            let mut action = if skip {
                None
            } else {
                self.serve(p, subject, &mut resolved)
            };
            if let (Some(a @ (Action::StepUp | Action::RequestApproval)), Some(now)) = (action, now)
            {
                if self.satisfies(p, a, request, now) {
                    let Some(source) = self.document.policies.get(p.source as usize) else {
                        decision.fail_closed();
                        return;
                    };
                    decision.push_satisfied(&source.id);
                    action = Some(Action::Allow);
                }
            }
            if let Some(a) = action {
                best = Some(best.map_or(a, |b| b.max(a)));
            }
            served.push(action);
        }
        let Some(best) = best else {
            return;
        };
        let mut flows: SmallVec<[u32; 4]> = SmallVec::new();
        for (&pi, &a) in candidates.iter().zip(&served) {
            if a != Some(best) {
                continue;
            }
            let Some((p, source)) = self
                .policies
                .get(pi as usize)
                .and_then(|p| Some((p, self.document.policies.get(p.source as usize)?)))
            else {
                decision.fail_closed();
                return;
            };
            decision.push_policy(&source.id);
            match best {
                Action::RequestApproval => {
                    if let Some(f) = p.flow {
                        flows.push(f);
                    }
                }
                Action::StepUp => match &p.step_up {
                    Some(requirement) => decision.push_step_up(requirement),
                    None => {
                        decision.fail_closed();
                        return;
                    }
                },
                Action::Allow | Action::Deny => {}
            }
        }
        flows.sort_unstable();
        flows.dedup();
        for &f in &flows {
            let Some(id) = self.flows.get(f as usize) else {
                decision.fail_closed();
                return;
            };
            decision.push_approval_flow(id);
        }
        decision.set_action(best);
    }

    /// Whether the request's evidence satisfies the `step_up` or `request_approval` that `p`
    /// served (SPEC §7.3).
    pub(crate) fn satisfies(
        &self,
        p: &CompiledPolicy,
        served: Action,
        request: &Request,
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
                        && g.user == request.user()
                        && g.connector == request.connector()
                        && g.tool == request.tool()
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
        resolved: &mut ResolvedCache<'a>,
    ) -> Option<Action> {
        let Some(rules) = &p.rules else {
            return Some(p.action);
        };
        let matched = rules.iter().any(|rule| {
            rule.iter().all(|c| {
                let value = resolved.get(c.attribute, || self.resolve(c.attribute, subject));
                c.evaluate(value).holds()
            })
        });
        match (matched, p.otherwise) {
            (true, _) => Some(p.action),
            (false, Otherwise::Serve(a)) => Some(a),
            (false, Otherwise::None) => None,
        }
    }

    pub(crate) fn condition(&self, c: &CompiledCondition, subject: &Subject<'_>) -> Outcome {
        c.evaluate(self.resolve(c.attribute, subject))
    }

    pub(crate) fn resolve<'a>(&'a self, attribute: u32, subject: &Subject<'a>) -> Resolved<'a> {
        let r = subject.request;
        let Some(attribute) = self.attributes.get(attribute as usize) else {
            return Resolved::Missing;
        };
        match attribute {
            Attribute::UserId => Resolved::Str(r.user()),
            Attribute::ConnectorId => Resolved::Str(r.connector()),
            Attribute::ToolName => Resolved::Str(r.tool()),
            Attribute::UserEmail => subject
                .directory
                .and_then(|d| d.email.as_deref())
                .map_or(Resolved::Missing, Resolved::Str),
            Attribute::UserName => subject
                .directory
                .and_then(|d| d.name.as_deref())
                .map_or(Resolved::Missing, Resolved::Str),
            Attribute::UserGroups => {
                Resolved::Groups(subject.directory.map_or(&[][..], |d| &d.groups), r.groups())
            }
            Attribute::Context { name, path } => {
                lookup(r.context(), r.has_dotted_keys(), name, path)
                    .map_or(Resolved::Missing, Resolved::Json)
            }
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
        for g in subject.request.groups() {
            if !out.contains(&&**g) {
                out.push(g);
            }
        }
        out
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
        assert!(decision.policies().is_empty());
    }

    #[test]
    fn policy_set_is_send_and_sync() {
        assert_send_sync::<PolicySet>();
    }
}
