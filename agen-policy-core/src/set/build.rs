//! Compiling a loaded document into the index that evaluation reads: tool slots, principal
//! symbols, postings and compiled policies. Runs once per load; evaluation never builds.

use std::ops::Range;

use rustc_hash::FxHashMap;

use super::candidates::{decode, visit_key};
use super::routes::Routes;
use super::{
    posting_key, to_u32, version, CompiledPolicy, ConnectorIndex, DirectoryEntry, PolicySet,
    UserEntry, DEFAULT_MAX_AGE, GROUP_TAG, USER_TAG,
};
use crate::decision::Action;
use crate::evidence::StepUpRequirement;
use crate::load::{self, CompiledRules};
use crate::model::Otherwise;

impl PolicySet {
    pub(super) fn compile(loaded: load::Loaded) -> PolicySet {
        let load::Loaded {
            mut document,
            policies: loaded_policies,
            attributes,
            warnings,
        } = loaded;
        // The models join the document; each policy's rules stay at the same index, split from
        // one vector so that the two cannot differ in length.
        let (models, rules): (Vec<_>, Vec<CompiledRules>) = loaded_policies
            .into_iter()
            .map(|p| (p.model, p.rules))
            .unzip();
        document.policies = models;

        // Connectors and their tool slots.
        let mut connectors = FxHashMap::default();
        let mut connector_index = Vec::with_capacity(document.connectors.len());
        let mut routes = Routes::default();
        let mut slot = 0u32;
        for (i, c) in document.connectors.iter().enumerate() {
            connectors.insert(c.id.as_ref().into(), to_u32(i));
            let mut tools = FxHashMap::default();
            for (t, tool) in c.tools.iter().enumerate() {
                tools.insert(tool.name.as_ref().into(), to_u32(t));
                if c.enabled && tool.enabled {
                    routes.add(&c.id, &tool.name, to_u32(i), to_u32(t));
                }
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
        let tool_slots = slot as usize;
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
        let mut by_id: Vec<(Box<str>, u32)> = document
            .approval_flows
            .iter()
            .enumerate()
            .map(|(i, f)| (Box::from(f.id.as_ref()), to_u32(i)))
            .collect();
        by_id.sort();
        let (flows, flow_sources): (Vec<Box<str>>, Vec<u32>) = by_id.into_iter().unzip();
        let mut rules: Vec<Option<CompiledRules>> = rules.into_iter().map(Some).collect();

        // Per slot, the visit keys of the policies that apply to every user.
        let mut all_users: Vec<Vec<u32>> = vec![Vec::new(); slots];
        // (posting key, visit key) pairs, sorted into runs below: one vector, not one per key.
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
            let key = visit_key(pi, max_served);
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
                Box::new(StepUpRequirement::new(
                    &p.id,
                    to_u32(source),
                    max_age,
                    acr_values,
                ))
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
                        list.push(key);
                    }
                    continue;
                }
                for u in &p.scope.users {
                    if let Some(sym) = users.get(&**u).and_then(|e| e.sym) {
                        scoped_pairs.push((posting_key(s, USER_TAG, sym), key));
                    }
                }
                for g in &p.scope.groups {
                    if let Some(&sym) = group_syms.get(&**g) {
                        scoped_pairs.push((posting_key(s, GROUP_TAG, sym), key));
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

        // Per tool slot, its all-users policies and those of its connector's all-tools slot but
        // the ones excluding the tool, merged once here rather than at every evaluation (each
        // all-tools policy is then held once per tool it governs).
        let mut shared: Vec<Vec<u32>> = vec![Vec::new(); tool_slots];
        for c in &connector_index {
            let all_tools = all_users.get(c.all_slot as usize).map_or(&[][..], |l| l);
            for t in 0..to_u32(c.tool_enabled.len()) {
                let s = (c.first_slot + t) as usize;
                let (Some(list), Some(own)) = (shared.get_mut(s), all_users.get(s)) else {
                    continue;
                };
                list.extend_from_slice(own);
                list.extend(all_tools.iter().copied().filter(|&key| {
                    // INVARIANT: a key that names no policy is kept, for evaluation to meet.
                    decode(key)
                        .and_then(|(pi, _)| policies.get(pi as usize))
                        .is_none_or(|p: &CompiledPolicy| p.exclude.binary_search(&t).is_err())
                }));
            }
        }
        drop(all_users);

        // Flatten: one vector of visit keys, ranges into it; each list sorted (most restrictive
        // first, then by id) and without repeats.
        let mut posting_data = Vec::new();
        let all_users: Vec<Range<u32>> = shared
            .iter_mut()
            .map(|list| {
                list.sort_unstable();
                list.dedup();
                let start = to_u32(posting_data.len());
                posting_data.extend_from_slice(list);
                start..to_u32(posting_data.len())
            })
            .collect();
        drop(shared);
        let mut scoped = vec![(false, false); slots];
        // Sorted by posting key, then by visit key: each run is one sorted posting list.
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
            version: version::content_hash(&document).into_boxed_str(),
            document,
            warnings,
            connectors,
            connector_index,
            routes,
            users,
            directory,
            group_syms,
            policies,
            flows,
            flow_sources,
            attributes,
            all_users,
            scoped,
            postings,
            posting_data,
        }
    }
}
