//! Random valid policy documents and requests for the property tests.
//!
//! Ids, names and values come from small pools so that references resolve, conditions match
//! about as often as they fail, and requests hit known and unknown connectors, tools and
//! users alike. Every document generated here loads; the tests assert it.

use std::fmt;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};

/// Connector ids a document may declare.
const CONNECTORS: [&str; 2] = ["c0", "c1"];
/// Tool names a connector may declare.
const TOOLS: [&str; 3] = ["t0", "t1", "t2"];
/// Group ids a document may declare.
const GROUPS: [&str; 3] = ["g0", "g1", "g2"];
/// Group ids used in scopes and requests: the declared ones and one that is not.
const ANY_GROUPS: [&str; 4] = ["g0", "g1", "g2", "g3"];
/// Users a document may list.
const USERS: [&str; 3] = ["u0", "u1", "u2"];
/// Users named in scopes and requests: the listed ones, one that is not, one in another case.
const ANY_USERS: [&str; 5] = ["u0", "u1", "u2", "u3", "U0"];
const FLOWS: [&str; 3] = ["f0", "f1", "f2"];
/// Policy ids, in an order that is not byte order.
const POLICY_IDS: [&str; 8] = ["pb", "pa", "p10", "p9", "P", "é", "Z", "p-1"];
/// The most policies a generated document holds.
const MAX_POLICIES: usize = 7;

/// A generated document in parts, so that the property tests can add policies to it.
#[derive(Clone)]
pub struct Spec {
    version: bool,
    connectors: Vec<Value>,
    groups: Option<Vec<Value>>,
    users: Option<Vec<Value>>,
    flows: Option<Vec<Value>>,
    policies: Vec<Value>,
    /// Whether to write `"policies": []` when there are none.
    empty_policies: bool,
    /// The document's `step_up` (SPEC §7.1).
    step_up: Option<Value>,
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.document())
    }
}

impl Spec {
    /// The document as JSON.
    pub fn document(&self) -> Value {
        let mut doc = Map::new();
        if self.version {
            doc.insert("version".into(), json!(1));
        }
        if let Some(step_up) = &self.step_up {
            doc.insert("step_up".into(), step_up.clone());
        }
        doc.insert("connectors".into(), Value::Array(self.connectors.clone()));
        for (field, list) in [
            ("groups", &self.groups),
            ("users", &self.users),
            ("approval_flows", &self.flows),
        ] {
            if let Some(list) = list {
                doc.insert(field.into(), Value::Array(list.clone()));
            }
        }
        if !self.policies.is_empty() || self.empty_policies {
            doc.insert("policies".into(), Value::Array(self.policies.clone()));
        }
        Value::Object(doc)
    }

    /// The connectors, as JSON.
    pub fn connectors(&self) -> &[Value] {
        &self.connectors
    }

    /// The connectors, to change them.
    pub fn connectors_mut(&mut self) -> &mut Vec<Value> {
        &mut self.connectors
    }

    /// The policies, to change them.
    pub fn policies_mut(&mut self) -> &mut Vec<Value> {
        &mut self.policies
    }

    /// Adds a policy with this id, its references resolved against the document; `false` when
    /// the document has no connector for it.
    pub fn add_policy(&mut self, id: &str, raw: &RawPolicy) -> bool {
        match raw.resolve(
            id,
            &self.connectors,
            self.flows.as_deref().unwrap_or_default(),
        ) {
            Some(policy) => {
                self.policies.push(policy);
                true
            }
            None => false,
        }
    }
}

/// A policy before its connector, tool names and approval flow are resolved against a
/// document (by index, and by keeping only the tools the connector has).
#[derive(Debug, Clone)]
pub struct RawPolicy {
    connector: usize,
    name: &'static str,
    description: Option<String>,
    action: &'static str,
    all_users: Option<bool>,
    users: Option<Vec<&'static str>>,
    groups: Option<Vec<&'static str>>,
    selector: RawSelector,
    targeting: Option<Value>,
    flow: RawFlow,
    step_up: Option<Value>,
}

#[derive(Debug, Clone)]
enum RawSelector {
    /// `"all"`.
    All,
    /// `[names]`.
    List(Vec<&'static str>),
    /// `{ "all": …, "include": […], "exclude": […] }`, each field optional.
    Object {
        all: Option<bool>,
        include: Option<Vec<&'static str>>,
        exclude: Option<Vec<&'static str>>,
    },
}

#[derive(Debug, Clone)]
enum RawFlow {
    Absent,
    Null,
    Index(usize),
}

impl RawPolicy {
    /// This policy with another action.
    pub fn with_action(mut self, action: &'static str) -> RawPolicy {
        self.action = action;
        self
    }

    /// The `otherwise` of its targeting, if it has one.
    pub fn otherwise(&self) -> Option<&str> {
        self.targeting.as_ref()?.get("otherwise")?.as_str()
    }

    /// Whether it has rules, so that `otherwise` can be served.
    pub fn has_rules(&self) -> bool {
        self.targeting
            .as_ref()
            .and_then(|t| t["rules"].as_array())
            .is_some_and(|r| !r.is_empty())
    }

    fn resolve(&self, id: &str, connectors: &[Value], flows: &[Value]) -> Option<Value> {
        let connector = connectors.get(self.connector % connectors.len().max(1))?;
        let tools: Vec<&str> = connector["tools"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
            .unwrap_or_default();
        let known = |names: &[&'static str]| -> Value {
            names
                .iter()
                .filter(|n| tools.contains(n))
                .map(|n| json!(n))
                .collect()
        };
        let mut p = Map::new();
        p.insert("id".into(), json!(id));
        p.insert("name".into(), json!(self.name));
        if let Some(d) = &self.description {
            p.insert("description".into(), json!(d));
        }
        p.insert("connector".into(), connector["id"].clone());
        p.insert("action".into(), json!(self.action));
        if let Some(all) = self.all_users {
            p.insert("all_users".into(), json!(all));
        }
        if let Some(users) = &self.users {
            p.insert("users".into(), json!(users));
        }
        if let Some(groups) = &self.groups {
            p.insert("groups".into(), json!(groups));
        }
        let selector = match &self.selector {
            RawSelector::All => json!("all"),
            RawSelector::List(names) => known(names),
            RawSelector::Object {
                all,
                include,
                exclude,
            } => {
                let mut s = Map::new();
                if let Some(all) = all {
                    s.insert("all".into(), json!(all));
                }
                if let Some(names) = include {
                    s.insert("include".into(), known(names));
                }
                if let Some(names) = exclude {
                    s.insert("exclude".into(), known(names));
                }
                Value::Object(s)
            }
        };
        p.insert("tools".into(), selector);
        if let Some(t) = &self.targeting {
            p.insert("targeting".into(), t.clone());
        }
        if let Some(step_up) = &self.step_up {
            p.insert("step_up".into(), step_up.clone());
        }
        match self.flow {
            RawFlow::Absent => {}
            RawFlow::Null => {
                p.insert("approval_flow".into(), Value::Null);
            }
            RawFlow::Index(i) => {
                if let Some(flow) = flows.get(i % flows.len().max(1)) {
                    p.insert("approval_flow".into(), flow["id"].clone());
                }
            }
        }
        Some(Value::Object(p))
    }
}

/// A document and requests to evaluate against it.
#[derive(Clone)]
pub struct Case {
    /// The document in parts.
    pub spec: Spec,
    /// The document.
    pub document: Value,
    /// Requests, all valid.
    pub requests: Vec<Value>,
}

impl fmt::Debug for Case {
    /// The JSON of the document and of each request, to reproduce a failure by hand.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "document: {}", self.document)?;
        for r in &self.requests {
            writeln!(f, "request:  {r}")?;
        }
        Ok(())
    }
}

/// A document and 6 to 9 requests.
pub fn case() -> impl Strategy<Value = Case> {
    (spec(), vec(request(), 6..=9)).prop_map(|(spec, requests)| Case {
        document: spec.document(),
        spec,
        requests,
    })
}

/// A valid document.
pub fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        connectors(),
        option::weighted(0.8, some_of(GROUPS.map(group), 0.7)),
        option::weighted(0.8, some_of(USERS.map(user), 0.75)),
        option::weighted(0.6, some_of(FLOWS.map(flow), 0.6)),
        vec(raw_policy(), 0..=MAX_POLICIES),
        any::<bool>(),
        option::weighted(0.4, step_up()),
    )
        .prop_map(
            |(version, connectors, groups, users, flows, raw, empty_policies, step_up)| {
                let mut spec = Spec {
                    version,
                    connectors,
                    groups,
                    users,
                    flows,
                    policies: Vec::new(),
                    empty_policies,
                    step_up,
                };
                for (id, raw) in POLICY_IDS.iter().zip(&raw) {
                    spec.add_policy(id, raw);
                }
                spec
            },
        )
}

/// Each entry kept with probability `p`, in order.
fn some_of<S: Strategy<Value = Value>, const N: usize>(
    entries: [S; N],
    p: f64,
) -> impl Strategy<Value = Vec<Value>> {
    entries
        .into_iter()
        .map(|s| option::weighted(p, s))
        .collect::<Vec<_>>()
        .prop_map(|kept| kept.into_iter().flatten().collect())
}

/// The items of `pool` kept each with probability `p`, in pool order.
fn subset(pool: &'static [&'static str], p: f64) -> impl Strategy<Value = Vec<&'static str>> {
    vec(proptest::bool::weighted(p), pool.len()).prop_map(move |keep| {
        pool.iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(id, _)| *id)
            .collect()
    })
}

/// `None` (field absent) most often; a disabled entry one time in nine.
fn enabled() -> impl Strategy<Value = Option<bool>> {
    prop_oneof![6 => Just(None), 2 => Just(Some(true)), 1 => Just(Some(false))]
}

fn connectors() -> impl Strategy<Value = Vec<Value>> {
    CONNECTORS
        .iter()
        .map(|id| {
            (
                proptest::bool::weighted(0.85),
                enabled(),
                option::of(select(&["GitHub", "Écrit", "c"][..])),
                vec(
                    (proptest::bool::weighted(0.75), enabled(), any::<bool>()),
                    TOOLS.len(),
                ),
            )
                .prop_map(move |(present, enabled, name, tools)| {
                    present.then(|| {
                        let tools: Vec<Value> = TOOLS
                            .iter()
                            .zip(tools)
                            .filter(|(_, (keep, _, _))| *keep)
                            .map(|(name, (_, enabled, titled))| {
                                let mut t = json!({ "name": name });
                                if let Some(e) = enabled {
                                    t["enabled"] = json!(e);
                                }
                                if titled {
                                    t["title"] = json!(name.to_uppercase());
                                    t["description"] = json!("does things");
                                }
                                t
                            })
                            .collect();
                        let mut c = json!({ "id": id, "tools": tools });
                        if let Some(e) = enabled {
                            c["enabled"] = json!(e);
                        }
                        if let Some(n) = name {
                            c["name"] = json!(n);
                        }
                        c
                    })
                })
        })
        .collect::<Vec<_>>()
        .prop_map(|cs| cs.into_iter().flatten().collect())
}

fn group(id: &'static str) -> impl Strategy<Value = Value> {
    option::of(select(&["Engineering", "Équipe"][..])).prop_map(move |name| match name {
        Some(n) => json!({ "id": id, "name": n, "description": "a group" }),
        None => json!({ "id": id }),
    })
}

fn user(id: &'static str) -> impl Strategy<Value = Value> {
    (
        option::of(select(&["Alice", "alice", "Élodie", "ÉLODIE"][..])),
        option::of(select(
            &["alice@example.com", "ALICE@EXAMPLE.COM", "bob@example.com"][..],
        )),
        option::of(subset(&ANY_GROUPS, 0.4)),
    )
        .prop_map(move |(name, email, groups)| {
            let mut u = json!({ "id": id });
            if let Some(n) = name {
                u["name"] = json!(n);
            }
            if let Some(e) = email {
                u["email"] = json!(e);
            }
            if let Some(g) = groups {
                u["groups"] = json!(g);
            }
            u
        })
}

fn flow(id: &'static str) -> impl Strategy<Value = Value> {
    vec(
        (
            option::of(subset(&ANY_USERS, 0.3)),
            option::of(subset(&ANY_GROUPS, 0.3)),
            option::of(1..=3u32),
        ),
        0..=2,
    )
    .prop_map(move |steps| {
        let steps: Vec<Value> = steps
            .into_iter()
            .map(|(users, groups, min)| {
                let mut s = json!({});
                if let Some(u) = users {
                    s["users"] = json!(u);
                }
                if let Some(g) = groups {
                    s["groups"] = json!(g);
                }
                if let Some(m) = min {
                    s["min_approvals"] = json!(m);
                }
                s
            })
            .collect();
        json!({ "id": id, "name": "review", "steps": steps })
    })
}

fn action() -> impl Strategy<Value = &'static str> {
    select(&["allow", "step_up", "request_approval", "deny"][..])
}

/// A policy; its action is random, see [`RawPolicy::with_action`].
pub fn raw_policy() -> impl Strategy<Value = RawPolicy> {
    (
        (
            0..CONNECTORS.len(),
            select(&["Read", " p ", "É", "Deny deletes"][..]),
            option::of(prop_oneof![
                Just(String::new()),
                Just("Read-only tools".to_owned()),
                Just("é".repeat(160)),
            ]),
            action(),
        ),
        (
            prop_oneof![1 => Just(None), 3 => Just(Some(true)), 1 => Just(Some(false))],
            option::of(subset(&ANY_USERS, 0.3)),
            option::of(subset(&ANY_GROUPS, 0.35)),
        ),
        selector(),
        option::weighted(0.8, targeting()),
        prop_oneof![
            2 => Just(RawFlow::Absent),
            1 => Just(RawFlow::Null),
            2 => any::<usize>().prop_map(RawFlow::Index),
        ],
        option::weighted(0.3, step_up()),
    )
        .prop_map(
            |(
                (connector, name, description, action),
                (all_users, users, groups),
                selector,
                targeting,
                flow,
                step_up,
            )| {
                RawPolicy {
                    connector,
                    name,
                    description,
                    action,
                    all_users,
                    users,
                    groups,
                    selector,
                    targeting,
                    flow,
                    step_up,
                }
            },
        )
}

const ACR_CHOICES: &[&[&str]] = &[&[], &["a"], &["b", "a"]];

/// A `step_up` freshness object (SPEC §7.1), each field optional.
fn step_up() -> impl Strategy<Value = Value> {
    (
        option::of(select(&[0u32, 60, 300, 3600][..])),
        option::of(select(ACR_CHOICES)),
    )
        .prop_map(|(max_age, acr)| {
            let mut s = json!({});
            if let Some(m) = max_age {
                s["max_age"] = json!(m);
            }
            if let Some(a) = acr {
                s["acr_values"] = json!(a);
            }
            s
        })
}

/// The instant generated requests are made at.
const NOW: i64 = 1_795_600_800_000;

/// Evidence (SPEC §7.2) for a request of `user` on `connector`'s `tool`: `now`, maybe an
/// authentication of some age and class, maybe grants that match the call more or less.
fn evidence() -> impl Strategy<Value = Evidence> {
    (
        option::weighted(
            0.7,
            (
                select(&[0i64, 59_999, 60_000, 300_000, 300_001, -1][..]),
                option::of(select(&["a", "b", "c"][..])),
            ),
        ),
        vec(
            (
                select(&FLOWS[..]),
                proptest::bool::weighted(0.9),
                proptest::bool::weighted(0.9),
                option::weighted(0.35, select(&["d1", "d2"][..])),
                select(&[-1i64, 0, 1, 3_600_000, 60_000][..]),
            ),
            0..=4,
        ),
        option::of(select(&["d1", "d2"][..])),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(auth, grants, arguments, string_now)| Evidence {
            auth,
            grants,
            arguments,
            string_now,
        })
}

/// Choices for a request's evidence, made into JSON once the request's ids are known.
#[derive(Debug, Clone)]
pub struct Evidence {
    auth: Option<(i64, Option<&'static str>)>,
    grants: Vec<(&'static str, bool, bool, Option<&'static str>, i64)>,
    arguments: Option<&'static str>,
    string_now: bool,
}

impl Evidence {
    fn write(&self, r: &mut Value) {
        r["now"] = if self.string_now {
            json!("2026-11-25T10:00:00.000999Z")
        } else {
            json!(NOW)
        };
        if let Some((age, acr)) = self.auth {
            let mut auth = json!({ "time": NOW - age });
            if let Some(acr) = acr {
                auth["acr"] = json!(acr);
            }
            r["auth"] = auth;
        }
        if !self.grants.is_empty() {
            let grants: Vec<Value> = self
                .grants
                .iter()
                .enumerate()
                .map(|(i, &(flow, same_user, same_tool, arguments, expires))| {
                    json!({
                        "id": format!("g{i}"), "flow": flow,
                        "user": if same_user { r["user"].clone() } else { json!("u9") },
                        "connector": r["connector"].clone(),
                        "tool": if same_tool { r["tool"].clone() } else { json!("t9") },
                        "arguments": arguments, "expires": NOW + expires, "approvers": ["u1"],
                    })
                })
                .collect();
            r["grants"] = json!(grants);
        }
        if let Some(a) = self.arguments {
            r["arguments"] = json!(a);
        }
    }
}

fn tool_names() -> impl Strategy<Value = Vec<&'static str>> {
    vec(select(&TOOLS[..]), 0..=3)
}

fn selector() -> impl Strategy<Value = RawSelector> {
    prop_oneof![
        2 => Just(RawSelector::All),
        2 => tool_names().prop_map(RawSelector::List),
        3 => (option::of(any::<bool>()), option::of(tool_names()), option::weighted(0.3, tool_names()))
            .prop_map(|(all, include, exclude)| RawSelector::Object { all, include, exclude }),
    ]
}

/// Targeting: up to two rules (none is no targeting) and an optional `otherwise`.
pub fn targeting() -> impl Strategy<Value = Value> {
    (
        (
            proptest::bool::weighted(0.15),
            vec(vec(condition(), 1..=3), 1..=2),
        )
            .prop_map(|(none, rules)| if none { Vec::new() } else { rules }),
        option::of(select(
            &["allow", "step_up", "request_approval", "deny", "none"][..],
        )),
    )
        .prop_map(|(rules, otherwise)| {
            let rules: Vec<Value> = rules
                .into_iter()
                .map(|conditions| json!({ "conditions": conditions }))
                .collect();
            let mut t = json!({ "rules": rules });
            if let Some(o) = otherwise {
                t["otherwise"] = json!(o);
            }
            t
        })
}

/// The kinds of value an operator compares, each with context keys that usually hold one.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    /// Strings spelling a few words in several cases, for `ignore_case`.
    Word,
    Num,
    Time,
    Ver,
    Ip,
}

const BUILTINS: [&str; 6] = [
    "user.id",
    "user.email",
    "user.name",
    "user.groups",
    "connector.id",
    "tool.name",
];

/// Attributes that often resolve to something of no particular kind, or to nothing.
const OTHER_ATTRIBUTES: [&str; 10] = [
    "a", "a.b", "a.b.c", "agent", "missing", "user", "request", "s.t", "tool", "user.ids",
];

impl Kind {
    fn home(self) -> &'static [&'static str] {
        match self {
            Kind::Str => &["s", "agent.type"],
            Kind::Word => &["w"],
            Kind::Num => &["n"],
            Kind::Time => &["ts"],
            Kind::Ver => &["v", "agent.version"],
            Kind::Ip => &["ip", "request.ip"],
        }
    }

    /// An attribute name for a condition comparing this kind.
    fn attribute(self) -> BoxedStrategy<&'static str> {
        let builtins = if matches!(self, Kind::Str) { 3 } else { 1 };
        prop_oneof![
            7 => select(self.home()),
            builtins => select(&BUILTINS[..]),
            1 => any_attribute(),
        ]
        .boxed()
    }

    /// A value of this kind, valid or not (`01.0.0`, a date without a time …).
    fn scalar(self) -> BoxedStrategy<Value> {
        match self {
            Kind::Str => string().prop_map(Value::String).boxed(),
            Kind::Num => from_texts(NUMBERS),
            Kind::Time => {
                prop_oneof![5 => from_texts(TIMESTAMPS), 1 => from_texts(NOT_TIMESTAMPS)].boxed()
            }
            Kind::Ver => prop_oneof![5 => strings(VERSIONS), 1 => from_texts(NOT_VERSIONS)].boxed(),
            Kind::Ip => prop_oneof![5 => strings(ADDRESSES), 1 => strings(NOT_ADDRESSES)].boxed(),
            Kind::Word => case_variants(strings(&WORDS)),
        }
    }

    /// A context value meant for this kind: mostly one, sometimes another, `null`, a list or
    /// something nested.
    fn context_value(self) -> BoxedStrategy<Value> {
        prop_oneof![
            12 => self.scalar(),
            1 => any_scalar(),
            1 => Just(Value::Null),
            3 => vec(prop_oneof![4 => self.scalar(), 1 => any_scalar(), 1 => Just(Value::Null), 1 => nested()], 0..=3)
                .prop_map(Value::Array),
            1 => nested(),
        ]
        .boxed()
    }
}

const KINDS: [Kind; 6] = [
    Kind::Str,
    Kind::Word,
    Kind::Num,
    Kind::Time,
    Kind::Ver,
    Kind::Ip,
];

fn any_attribute() -> BoxedStrategy<&'static str> {
    prop_oneof![
        select(
            KINDS
                .iter()
                .flat_map(|k| k.home())
                .copied()
                .collect::<Vec<_>>()
        ),
        select(&BUILTINS[..]),
        select(&OTHER_ATTRIBUTES[..]),
    ]
    .boxed()
}

fn any_scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => Kind::Str.scalar(),
        2 => Kind::Num.scalar(),
        1 => Kind::Time.scalar(),
        1 => Kind::Ver.scalar(),
        1 => Kind::Ip.scalar(),
        1 => any::<bool>().prop_map(Value::Bool),
    ]
    .boxed()
}

/// Objects and lists that no operator compares.
fn nested() -> BoxedStrategy<Value> {
    select(vec![
        json!({ "k": 1 }),
        json!({}),
        json!([]),
        json!([[1], ["a"]]),
        json!({ "type": "a", "version": "1.0.0" }),
    ])
    .boxed()
}

fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => any_scalar(),
        1 => Just(Value::Null),
        1 => nested(),
        1 => vec(any_scalar(), 0..=3).prop_map(Value::Array),
    ]
    .boxed()
}

/// Letters whose case folds in ways worth testing: `É/é`, `ß/ẞ`, the Kelvin sign, `ſ`, the
/// three sigmas, the dotted and dotless i, a title-case digraph; and glob metacharacters.
const EXOTIC: [char; 26] = [
    'ß', 'ẞ', 'k', 'K', '\u{212A}', 's', 'S', 'ſ', 'σ', 'ς', 'Σ', 'ı', 'i', 'I', 'İ', 'ǅ', 'ǆ',
    'Ǆ', '*', '?', '\\', ' ', '\n', '.', '0', 'B',
];
const COMMON: [char; 5] = ['a', 'b', 'A', 'é', 'É'];

fn letter() -> impl Strategy<Value = char> {
    prop_oneof![4 => select(&COMMON[..]), 1 => select(&EXOTIC[..])]
}

/// Strings that attributes hold: short ones over a small alphabet, and ids, names, emails.
fn string() -> BoxedStrategy<String> {
    prop_oneof![
        3 => vec(letter(), 0..=3).prop_map(|cs| cs.into_iter().collect()),
        2 => select(&STRINGS[..]).prop_map(str::to_owned),
    ]
    .boxed()
}

/// Words that attribute and condition values both spell in several cases.
const WORDS: [&str; 5] = ["straße", "σας", "kelvin", "élan", "ǆaω"];

/// Values of the operators that take `ignore_case`, cut from [`WORDS`] and then spelt in
/// other cases: a word, a prefix, a suffix, an infix, a pattern.
fn word_piece(operator: &'static str) -> BoxedStrategy<Value> {
    let piece = (select(&WORDS[..]), 0..=5usize, 0..=5usize, vec(0..6u8, 6)).prop_map(
        move |(word, a, b, marks)| {
            let chars: Vec<char> = word.chars().collect();
            let n = chars.len();
            let piece: String = match operator {
                "starts_with" => chars.iter().take(a).collect(),
                "ends_with" => chars.iter().skip(n.saturating_sub(a)).collect(),
                "contains" => chars.iter().skip(a).take(b).collect(),
                "matches" => chars
                    .iter()
                    .zip(marks.iter().cycle())
                    .map(|(c, m)| match m {
                        4 => '?',
                        5 => '*',
                        _ => *c,
                    })
                    .collect(),
                "regex" if a % 2 == 0 => format!("^{word}$"),
                _ => word.to_owned(),
            };
            json!(piece)
        },
    );
    case_variants(piece.boxed())
}

const STRINGS: [&str; 26] = [
    "u0",
    "u1",
    "U0",
    "u3",
    "g0",
    "g1",
    "g3",
    "c0",
    "c1",
    "t0",
    "t1",
    "alice@example.com",
    "ALICE@EXAMPLE.COM",
    "Alice",
    "Élodie",
    "élodie",
    "ChatGPT",
    "chatgpt",
    "Claude 3",
    "straße",
    "STRASSE",
    "STRAẞE",
    "ΣΑΣ",
    "σας",
    "\u{212A}elvin",
    "1.0.0",
];

/// `starts_with`, `ends_with` and `contains` values.
fn affix() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => vec(letter(), 0..=2).prop_map(|cs| json!(cs.into_iter().collect::<String>())),
        2 => strings(&["u", "g", "t", "c", "0", "alice", "ALICE", "@example.com", "Chat", "gpt", "stra", "STRA", "ße", "ẞE", "σ", "ΑΣ", "ſ", "\u{212A}", "élo", "ÉLO", ""]),
    ]
    .boxed()
}

/// Letters that are equal under simple case folding, beyond ASCII's two cases.
const CASE_VARIANTS: [&[char]; 8] = [
    &['é', 'É'],
    &['ß', 'ẞ'],
    &['k', 'K', '\u{212A}'],
    &['s', 'S', 'ſ'],
    &['σ', 'ς', 'Σ'],
    &['ǆ', 'ǅ', 'Ǆ'],
    &['α', 'Α'],
    &['ω', 'Ω', '\u{2126}'],
];

/// Strings of `inner`, more than half of them with letters swapped for other cases of
/// themselves, so that `ignore_case` often decides a match.
fn case_variants(inner: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    (inner, proptest::bool::weighted(0.6), vec(0..3usize, 8))
        .prop_map(|(value, swap, picks)| match value {
            Value::String(s) if swap => Value::String(
                s.chars()
                    .zip(picks.iter().cycle())
                    .map(|(c, pick)| {
                        let ascii = [c.to_ascii_lowercase(), c.to_ascii_uppercase()];
                        let variants: &[char] = match CASE_VARIANTS.iter().find(|v| v.contains(&c))
                        {
                            Some(v) => v,
                            None if c.is_ascii_alphabetic() => &ascii,
                            None => return c,
                        };
                        variants[pick % variants.len()]
                    })
                    .collect(),
            ),
            other => other,
        })
        .boxed()
}

/// `matches` patterns: random pieces, or patterns meant for the ids.
fn glob() -> BoxedStrategy<Value> {
    let piece = prop_oneof![
        5 => letter().prop_map(|c| if matches!(c, '*' | '?' | '\\') { format!("\\{c}") } else { c.to_string() }),
        2 => Just("*".to_owned()),
        1 => Just("?".to_owned()),
        1 => select(&["\\*", "\\?", "\\\\", "\\a", "\\é"][..]).prop_map(str::to_owned),
    ];
    prop_oneof![
        4 => vec(piece, 0..=4).prop_map(|ps| json!(ps.concat())),
        1 => strings(&["u*", "*0", "g?", "t*", "*@example.com", "*@EXAMPLE.COM", "c?", "*", "", "?*", "***"]),
    ]
    .boxed()
}

const REGEXES: [&str; 26] = [
    "^ALICE",
    "Σ$",
    "ſ",
    "\u{212A}",
    "^a",
    "a$",
    "b",
    "ab|ba",
    "^[aé]+$",
    "é",
    "É",
    "ß",
    "σ",
    "Σ",
    "k",
    "K",
    "^$",
    "^.$",
    "(?s)^.*$",
    "[[:alpha:]]",
    "\\d",
    "^u[0-9]$",
    "^g",
    "\\w+",
    "(?-i)a",
    "^(?i)CHAT",
];

const NUMBERS: &[&str] = &[
    "-2",
    "-1",
    "0",
    "1",
    "2",
    "3",
    "10",
    "-1.5",
    "-0.5",
    "-0.0",
    "0.5",
    "1.0",
    "1.5",
    "2.0",
    "2.5",
    "0.1",
    "0.30000000000000004",
    "9007199254740992",
    "9007199254740993",
    "9007199254740992.0",
    "-9223372036854775808",
    "18446744073709551615",
    "1e300",
    "1767225600000",
];

/// Valid timestamps near 2026-01-01T00:00:00Z, as strings and as Unix milliseconds.
const TIMESTAMPS: &[&str] = &[
    "\"2026-01-01T00:00:00Z\"",
    "\"2026-01-01T00:00:00.000Z\"",
    "\"2026-01-01T00:00:00.001Z\"",
    "\"2026-01-01T00:00:00.000000001Z\"",
    "\"2025-12-31T23:59:59.999Z\"",
    "\"2026-01-01T01:00:00+01:00\"",
    "\"2025-12-31T23:30:00-00:30\"",
    "\"2026-01-01t00:00:00.5z\"",
    "\"2026-01-01T00:00:00-00:00\"",
    "1767225600000",
    "1767225600001",
    "1767225599999",
    "1767225600000.0",
    "0",
];

/// What `before` and `after` drop: a date without a time, no offset, a space for `T`, a
/// number in a string, a fraction of a millisecond, a boolean.
const NOT_TIMESTAMPS: &[&str] = &[
    "\"2026-01-01\"",
    "\"2026-01-01T00:00:00\"",
    "\"2026-01-01 00:00:00Z\"",
    "\"2026-01-01T00:00:00+0100\"",
    "\"1767225600000\"",
    "1767225600000.5",
    "true",
];

const VERSIONS: &[&str] = &[
    "1",
    "1.0",
    "1.0.0",
    "1-rc.1",
    "1.0.0-rc.1",
    "1.0.0-rc.2",
    "1.0.0-rc.10",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-0",
    "1.0.0+build.5",
    "1.0.0-rc.1+b",
    "1.0.0-a-b",
    "1.1",
    "1.1.0-beta",
    "2",
    "2-rc",
    "2.0.0-rc",
    "0.9.9",
    "10.0.0",
];

const NOT_VERSIONS: &[&str] = &[
    "\"v1.0.0\"",
    "\"01.0.0\"",
    "\"1.0.0.0\"",
    "\"\"",
    "\"1.0.0-01\"",
    "\"1.\"",
    "\"1.0.0-\"",
    "1",
    "1.0",
];

const ADDRESSES: &[&str] = &[
    "10.0.0.1",
    "10.1.2.3",
    "10.255.255.255",
    "11.0.0.1",
    "192.168.1.1",
    "0.0.0.0",
    "::1",
    "::",
    "2001:db8::1",
    "2001:db8:ffff::1",
    "2001:db9::1",
    "::ffff:10.0.0.1",
    "fe80::1",
];

/// What `in_cidr` drops: a block, leading zeros, too few parts, a zone, a name, a space.
const NOT_ADDRESSES: &[&str] = &[
    "10.0.0.0/8",
    "01.2.3.4",
    "10.0.0",
    "fe80::1%eth0",
    "localhost",
    " 10.0.0.1",
];

const BLOCKS: &[&str] = &[
    "10.0.0.0/8",
    "10.0.0.1",
    "10.1.2.3/8",
    "10.0.0.0/32",
    "0.0.0.0/0",
    "11.0.0.0/31",
    "192.168.0.0/16",
    "::/0",
    "::1",
    "2001:db8::/32",
    "2001:db8::/127",
    "::ffff:10.0.0.0/104",
    "::ffff:0:0/96",
    "fe80::/10",
];

fn from_texts(texts: &'static [&'static str]) -> BoxedStrategy<Value> {
    select(texts)
        .prop_map(|t| serde_json::from_str(t).unwrap_or_else(|e| panic!("{t}: {e}")))
        .boxed()
}

fn strings(pool: &'static [&'static str]) -> BoxedStrategy<Value> {
    select(pool).prop_map(|s| json!(s)).boxed()
}

fn equals_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => Kind::Str.scalar(),
        2 => Kind::Num.scalar(),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => strings(TIMESTAMPS_AS_STRINGS),
        1 => strings(VERSIONS),
        1 => strings(ADDRESSES),
    ]
    .boxed()
}

const TIMESTAMPS_AS_STRINGS: &[&str] = &["2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00"];

fn values(value: BoxedStrategy<Value>, most: usize) -> BoxedStrategy<Option<Vec<Value>>> {
    vec(value, 1..=most).prop_map(Some).boxed()
}

/// One condition: every operator of SPEC §2.2 with values it accepts, `negate` and (where it
/// applies) `ignore_case` set, unset or cleared.
fn condition() -> BoxedStrategy<Value> {
    let valid_time = || {
        select(TIMESTAMPS)
            .prop_map(|t| serde_json::from_str::<Value>(t).unwrap_or_default())
            .boxed()
    };
    let mut arms: Vec<(u32, BoxedStrategy<Value>)> = Vec::new();
    let mut arm = |weight: u32,
                   op: &'static str,
                   values: BoxedStrategy<Option<Vec<Value>>>,
                   attribute: BoxedStrategy<&'static str>,
                   case_applies: bool| {
        let ignore_case = if case_applies {
            prop_oneof![1 => Just(None), 1 => Just(Some(false)), 2 => Just(Some(true))].boxed()
        } else {
            prop_oneof![3 => Just(None), 1 => Just(Some(false))].boxed()
        };
        let strategy = (values, attribute, option::of(any::<bool>()), ignore_case)
            .prop_map(move |(values, attribute, negate, ignore_case)| {
                let mut c = json!({ "attribute": attribute, "operator": op });
                if let Some(v) = values {
                    c["values"] = json!(v);
                }
                if let Some(n) = negate {
                    c["negate"] = json!(n);
                }
                if let Some(i) = ignore_case {
                    c["ignore_case"] = json!(i);
                }
                c
            })
            .boxed();
        arms.push((weight, strategy));
    };
    for kind in KINDS {
        let values = vec(
            prop_oneof![3 => case_variants(kind.scalar()), 1 => equals_value()],
            1..=4,
        );
        let attribute = kind.attribute();
        arm(1, "equals", values.prop_map(Some).boxed(), attribute, true);
    }
    arm(
        1,
        "equals",
        values(equals_value(), 4),
        any_attribute(),
        true,
    );
    for op in [
        "equals",
        "matches",
        "regex",
        "starts_with",
        "ends_with",
        "contains",
    ] {
        arm(
            2,
            op,
            values(word_piece(op), 2),
            Kind::Word.attribute(),
            true,
        );
    }
    arm(
        3,
        "matches",
        values(case_variants(glob()), 3),
        Kind::Str.attribute(),
        true,
    );
    arm(
        2,
        "regex",
        values(strings(&REGEXES), 2),
        Kind::Str.attribute(),
        true,
    );
    // More values than are tested one by one: the values go through one automaton.
    for (op, value) in [
        ("equals", case_variants(affix())),
        ("starts_with", case_variants(affix())),
        ("ends_with", case_variants(affix())),
        ("contains", case_variants(affix())),
        ("matches", case_variants(glob())),
    ] {
        arm(
            1,
            op,
            vec(value, 9..=12).prop_map(Some).boxed(),
            Kind::Str.attribute(),
            true,
        );
    }
    for op in ["starts_with", "ends_with", "contains"] {
        arm(
            2,
            op,
            values(case_variants(affix()), 3),
            Kind::Str.attribute(),
            true,
        );
    }
    for op in ["lt", "lte", "gt", "gte"] {
        arm(
            2,
            op,
            values(from_texts(NUMBERS), 3),
            Kind::Num.attribute(),
            false,
        );
    }
    for op in ["before", "after"] {
        arm(
            2,
            op,
            values(valid_time(), 3),
            Kind::Time.attribute(),
            false,
        );
    }
    for op in ["semver_eq", "semver_lt", "semver_gt"] {
        arm(
            2,
            op,
            values(strings(VERSIONS), 3),
            Kind::Ver.attribute(),
            false,
        );
    }
    arm(
        3,
        "in_cidr",
        values(strings(BLOCKS), 3),
        Kind::Ip.attribute(),
        false,
    );
    arm(
        2,
        "exists",
        prop_oneof![Just(None), Just(Some(Vec::new()))].boxed(),
        any_attribute(),
        false,
    );
    proptest::strategy::Union::new_weighted(arms).boxed()
}

/// A valid request: mostly known connectors, tools and users, sometimes unknown ones.
pub fn request() -> impl Strategy<Value = Value> {
    (
        prop_oneof![5 => select(&USERS[..]), 1 => select(&ANY_USERS[3..])],
        prop_oneof![8 => select(&CONNECTORS[..]), 1 => select(&["cx", "C0"][..])],
        prop_oneof![8 => select(&TOOLS[..]), 1 => select(&["tx", "T0"][..])],
        option::of(vec(select(&ANY_GROUPS[..]), 0..=3)),
        option::weighted(0.9, context()),
        option::weighted(0.5, evidence()),
    )
        .prop_map(|(user, connector, tool, groups, context, evidence)| {
            let mut r = json!({ "user": user, "connector": connector, "tool": tool });
            if let Some(e) = evidence {
                e.write(&mut r);
            }
            if let Some(g) = groups {
                r["groups"] = json!(g);
            }
            if let Some(c) = context {
                r["context"] = Value::Object(c);
            }
            r
        })
}

/// A context: keys holding values of each kind, a dotted key beside a nested object of the
/// same path, deeper nesting, keys that try to override built-in attributes.
fn context() -> impl Strategy<Value = Map<String, Value>> {
    fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
        fields
            .into_iter()
            .map(|(k, v)| option::weighted(0.8, v).prop_map(move |v| v.map(|v| (k.to_owned(), v))))
            .collect::<Vec<_>>()
            .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect()))
            .boxed()
    }
    let keys: Vec<(&'static str, BoxedStrategy<Value>)> = vec![
        ("s", Kind::Str.context_value()),
        ("w", Kind::Word.context_value()),
        ("n", Kind::Num.context_value()),
        ("ts", Kind::Time.context_value()),
        ("v", Kind::Ver.context_value()),
        ("ip", Kind::Ip.context_value()),
        ("agent.type", Kind::Str.context_value()),
        (
            "agent",
            prop_oneof![
                3 => object(vec![("type", Kind::Str.context_value()), ("version", Kind::Ver.context_value())]),
                1 => any_value(),
            ]
            .boxed(),
        ),
        ("request.ip", Kind::Ip.context_value()),
        ("request", object(vec![("ip", Kind::Ip.context_value())])),
        (
            "a",
            prop_oneof![
                2 => object(vec![(
                    "b",
                    prop_oneof![2 => object(vec![("c", any_value())]), 1 => any_value()].boxed(),
                )]),
                1 => any_value(),
            ]
            .boxed(),
        ),
        ("a.b", any_value()),
        ("a.b.c", any_value()),
        ("user.id", Kind::Str.context_value()),
        ("user", object(vec![("id", Kind::Str.context_value()), ("email", Kind::Str.context_value())])),
        ("tool.name", Kind::Str.context_value()),
    ];
    keys.into_iter()
        .map(|(k, v)| option::weighted(0.85, v).prop_map(move |v| v.map(|v| (k.to_owned(), v))))
        .collect::<Vec<_>>()
        .prop_map(|entries| entries.into_iter().flatten().collect())
}
