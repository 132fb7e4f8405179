//! The deterministic workload: a directory, a policy set of a chosen size, the named requests
//! that take each evaluation path, and a sample of other requests.
//!
//! One seed fixes everything. The same size always gives the same document, byte for byte.
//!
//! The named requests all come from one *anchor* user (`user-00000`, in `group-000` and
//! `group-001`) against the first tools of `conn-00`. A handful of anchor policies decide them;
//! every other policy (the background) is drawn at random over every connector and tool, but
//! never names an anchor user or group, and never applies to all users of `conn-00`. So each
//! named request has the same candidates at every size, while the background fills every index
//! the request goes through, including the postings of the very tools it asks for.

use agen_policy_core::{Action, Reason, Request, RequestBuilder};
use serde_json::{json, Map, Value};

use crate::rng::Rng;

/// Connectors in every workload.
pub const CONNECTORS: usize = 50;
/// Tools of each connector.
pub const TOOLS: usize = 20;
/// Users in the directory.
pub const USERS: usize = 10_000;
/// Groups in the directory.
pub const GROUPS: usize = 500;
/// Approval flows.
pub const FLOWS: usize = 20;
/// The policy counts the benches measure.
pub const SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];

/// Users and groups below these indices are reserved for the anchor policies.
const ANCHOR_USERS: usize = 10;
const ANCHOR_GROUPS: usize = 10;
const SEED: u64 = 0x00A6_E11D_2026;

/// `conn-07`.
pub fn connector_id(c: usize) -> String {
    format!("conn-{c:02}")
}

/// `tool-13`.
pub fn tool_name(t: usize) -> String {
    format!("tool-{t:02}")
}

/// `user-00042`.
pub fn user_id(u: usize) -> String {
    format!("user-{u:05}")
}

/// `group-123`.
pub fn group_id(g: usize) -> String {
    format!("group-{g:03}")
}

/// `flow-03`.
pub fn flow_id(f: usize) -> String {
    format!("flow-{f:02}")
}

/// An evaluation path, each taken by one named request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    /// One policy allows.
    Allow,
    /// An allow and a step-up policy apply; step-up wins.
    StepUp,
    /// An allow and a user-scoped approval policy apply; approval wins.
    RequestApproval,
    /// An allow and a deny policy apply; deny wins.
    Deny,
    /// No policy governs the tool for this user: denied by default.
    NoPolicy,
    /// One policy with 3 rules and 18 conditions over every kind of operator; the last rule
    /// matches, so every condition is evaluated.
    Targeting,
}

impl Path {
    /// Every path, in the order the benches run them.
    pub const ALL: [Path; 6] = [
        Path::Allow,
        Path::StepUp,
        Path::RequestApproval,
        Path::Deny,
        Path::NoPolicy,
        Path::Targeting,
    ];

    /// Its name in bench ids and tables.
    pub const fn name(self) -> &'static str {
        match self {
            Path::Allow => "allow",
            Path::StepUp => "step_up",
            Path::RequestApproval => "request_approval",
            Path::Deny => "deny",
            Path::NoPolicy => "no_policy",
            Path::Targeting => "targeting",
        }
    }

    /// The decision its request must get: action, reason and determining policies.
    pub fn expected(self) -> (Action, Reason, &'static [&'static str]) {
        match self {
            Path::Allow => (Action::Allow, Reason::Policy, &["anchor-allow"]),
            Path::StepUp => (Action::StepUp, Reason::Policy, &["anchor-step-up"]),
            Path::RequestApproval => (
                Action::RequestApproval,
                Reason::Policy,
                &["anchor-approval"],
            ),
            Path::Deny => (Action::Deny, Reason::Policy, &["anchor-deny"]),
            Path::NoPolicy => (Action::Deny, Reason::NoPolicy, &[]),
            Path::Targeting => (Action::Allow, Reason::Policy, &["anchor-targeting"]),
        }
    }

    fn tool(self) -> usize {
        match self {
            Path::Allow => 0,
            Path::StepUp => 1,
            Path::RequestApproval => 2,
            Path::Deny => 3,
            Path::NoPolicy => 4,
            Path::Targeting => 5,
        }
    }
}

/// A directory user.
#[derive(Debug, Clone)]
pub struct UserSpec {
    /// Group indices.
    pub groups: Vec<usize>,
    /// The domain of the user's e-mail address, with its `@`.
    pub email_domain: &'static str,
}

impl UserSpec {
    /// The user's e-mail address.
    pub fn email(&self, index: usize) -> String {
        format!("{}{}", user_id(index), self.email_domain)
    }
}

/// Who a policy applies to.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Every user.
    AllUsers,
    /// These users and the members of these groups (indices).
    Principals {
        /// User indices.
        users: Vec<usize>,
        /// Group indices.
        groups: Vec<usize>,
    },
}

/// Which tools of its connector a policy governs (tool indices).
#[derive(Debug, Clone)]
pub enum Tools {
    /// These tools.
    Include(Vec<usize>),
    /// Every tool but these.
    AllExcept(Vec<usize>),
}

/// One test of a condition, with the values both engines can express.
#[derive(Debug, Clone)]
pub enum Test {
    /// `agent.type` equals one of the strings.
    AgentEquals(Vec<&'static str>),
    /// `agent.type` matches a glob whose only wildcard is `*`.
    AgentMatches(&'static str),
    /// `agent.type` contains a match of [`REGEXES`]`[i]`.
    AgentRegex(usize),
    /// `agent.type` starts with the string.
    AgentStartsWith(&'static str),
    /// `agent.type` ends with the string.
    AgentEndsWith(&'static str),
    /// `agent.type` contains the string.
    AgentContains(&'static str),
    /// `risk` is less than the number.
    RiskLt(i64),
    /// `risk` is at least the number.
    RiskGte(i64),
    /// `request.ip` is inside one of the blocks.
    IpInCidr(Vec<&'static str>),
    /// `client.version` is a later version than this one.
    VersionGt([u64; 3]),
    /// `client.version` is an earlier version than this one.
    VersionLt([u64; 3]),
    /// `issued` is before the instant.
    IssuedBefore(&'static str),
    /// `issued` is after the instant.
    IssuedAfter(&'static str),
    /// `mfa` is present.
    MfaExists,
    /// The user is in the group (index).
    InGroup(usize),
    /// `user.email` ends with the string.
    EmailEndsWith(&'static str),
}

/// A test, maybe negated.
#[derive(Debug, Clone)]
pub struct Condition {
    /// What is tested.
    pub test: Test,
    /// Whether the result is inverted (only on context attributes the request carries).
    pub negate: bool,
}

/// If rules / else `otherwise`.
#[derive(Debug, Clone)]
pub struct Targeting {
    /// Rules (ORed) of conditions (ANDed).
    pub rules: Vec<Vec<Condition>>,
    /// What the policy serves when no rule matches; `None` is `"none"`.
    pub otherwise: Option<Action>,
}

/// One policy of the workload.
#[derive(Debug, Clone)]
pub struct PolicySpec {
    /// Its id.
    pub id: String,
    /// Connector index.
    pub connector: usize,
    /// The action it serves when it applies.
    pub action: Action,
    /// Who it applies to.
    pub scope: Scope,
    /// Which tools it governs.
    pub tools: Tools,
    /// Its targeting, if any.
    pub targeting: Option<Targeting>,
    /// Approval flow index.
    pub flow: Option<usize>,
}

/// The request context, typed so that each engine gets the representation it compares.
#[derive(Debug, Clone)]
pub struct Context {
    /// `agent.type`.
    pub agent: Option<&'static str>,
    /// `request.ip`.
    pub ip: Option<&'static str>,
    /// `risk`, 0 to 100.
    pub risk: i64,
    /// `client.version`.
    pub version: [u64; 3],
    /// `issued`, an RFC 3339 instant in UTC.
    pub issued: &'static str,
    /// `mfa`, absent when `None`.
    pub mfa: Option<bool>,
}

/// One request of the workload.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// User index.
    pub user: usize,
    /// Connector index.
    pub connector: usize,
    /// Tool index.
    pub tool: usize,
    /// Its context.
    pub context: Context,
}

/// A whole workload of one size.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The directory, indexed by user.
    pub users: Vec<UserSpec>,
    /// The policies: the anchors first, then the background.
    pub policies: Vec<PolicySpec>,
    /// One request per path.
    pub named: Vec<(Path, RequestSpec)>,
    /// Other requests, half of them aimed at a background policy's scope and tools.
    pub sample: Vec<RequestSpec>,
}

/// Regular expressions of the workload, each with the `like` patterns whose disjunction matches
/// exactly the same agent types (Cedar has no regular expressions).
pub const REGEXES: [(&str, &[&str]); 4] = [
    ("^Claude", &["Claude*"]),
    ("(Desktop|CLI)$", &["*Desktop", "*CLI"]),
    ("^(Cursor|Windsurf)$", &["Cursor", "Windsurf"]),
    ("Co", &["*Co*"]),
];

const AGENTS: [&str; 8] = [
    "Claude Desktop",
    "ChatGPT",
    "Cursor",
    "GitHub Copilot",
    "Gemini CLI",
    "Claude Code",
    "Windsurf",
    "Zed Agent",
];
const GLOBS: [&str; 4] = ["Claude*", "*Copilot", "Cur*r", "*Agent"];
const PREFIXES: [&str; 3] = ["Claude", "Gem", "Chat"];
const SUFFIXES: [&str; 3] = ["Desktop", "Code", "CLI"];
const INFIXES: [&str; 3] = ["Copilot", "laude", "sur"];
const BLOCKS: [&str; 4] = [
    "10.0.0.0/8",
    "192.168.0.0/16",
    "172.16.0.0/12",
    "10.20.0.0/16",
];
const ADDRESSES: [&str; 6] = [
    "10.1.2.3",
    "10.20.30.40",
    "192.168.1.7",
    "172.20.0.9",
    "203.0.113.5",
    "198.51.100.77",
];
const INSTANTS: [&str; 5] = [
    "2025-06-01T00:00:00Z",
    "2026-01-01T00:00:00Z",
    "2026-07-01T12:00:00Z",
    "2027-01-01T00:00:00Z",
    "2028-03-15T08:30:00Z",
];
const DOMAINS: [&str; 3] = ["@acme.example", "@partner.example", "@contractor.example"];

/// The context every named request carries.
pub fn anchor_context() -> Context {
    Context {
        agent: Some("Claude Desktop"),
        ip: Some("10.1.2.3"),
        risk: 20,
        version: [2, 4, 1],
        issued: "2026-11-25T10:00:00Z",
        mfa: Some(true),
    }
}

fn cond(test: Test) -> Condition {
    Condition {
        test,
        negate: false,
    }
}

/// The anchor policies; the named requests depend on them only.
fn anchors() -> Vec<PolicySpec> {
    let principals = |users: Vec<usize>, groups: Vec<usize>| Scope::Principals { users, groups };
    let targeting = Targeting {
        rules: vec![
            vec![
                cond(Test::AgentStartsWith("Claude")),
                cond(Test::IpInCidr(vec!["10.0.0.0/8"])),
                cond(Test::RiskLt(50)),
                cond(Test::IssuedBefore("2027-01-01T00:00:00Z")),
                cond(Test::AgentEquals(vec!["ChatGPT", "Cursor"])),
            ],
            vec![
                cond(Test::MfaExists),
                cond(Test::VersionGt([1, 2, 0])),
                cond(Test::InGroup(0)),
                cond(Test::EmailEndsWith("@acme.example")),
                cond(Test::RiskGte(90)),
            ],
            vec![
                cond(Test::AgentMatches("*Desktop")),
                cond(Test::AgentRegex(0)),
                cond(Test::AgentContains("laude")),
                Condition {
                    test: Test::IpInCidr(vec!["192.168.0.0/16", "172.16.0.0/12"]),
                    negate: true,
                },
                cond(Test::IssuedAfter("2026-01-01T00:00:00Z")),
                cond(Test::VersionLt([3, 0, 0])),
                cond(Test::RiskGte(10)),
                cond(Test::AgentEndsWith("top")),
            ],
        ],
        otherwise: Some(Action::Deny),
    };
    vec![
        PolicySpec {
            id: "anchor-allow".into(),
            connector: 0,
            action: Action::Allow,
            scope: principals(vec![], vec![0]),
            tools: Tools::Include(vec![0, 1, 2, 3]),
            targeting: None,
            flow: None,
        },
        PolicySpec {
            id: "anchor-step-up".into(),
            connector: 0,
            action: Action::StepUp,
            scope: principals(vec![], vec![1]),
            tools: Tools::Include(vec![1]),
            targeting: None,
            flow: None,
        },
        PolicySpec {
            id: "anchor-approval".into(),
            connector: 0,
            action: Action::RequestApproval,
            scope: principals(vec![0], vec![]),
            tools: Tools::Include(vec![2]),
            targeting: None,
            flow: Some(0),
        },
        PolicySpec {
            id: "anchor-deny".into(),
            connector: 0,
            action: Action::Deny,
            scope: principals(vec![], vec![1]),
            tools: Tools::AllExcept(vec![0, 1, 2, 4, 5]),
            targeting: None,
            flow: None,
        },
        PolicySpec {
            id: "anchor-targeting".into(),
            connector: 0,
            action: Action::Allow,
            scope: principals(vec![], vec![0, 1]),
            tools: Tools::Include(vec![5]),
            targeting: Some(targeting),
            flow: None,
        },
    ]
}

fn random_version(rng: &mut Rng) -> [u64; 3] {
    [
        rng.between(1..=3) as u64,
        rng.below(10) as u64,
        rng.below(10) as u64,
    ]
}

fn random_test(rng: &mut Rng) -> Condition {
    let test = match rng.below(16) {
        0 => Test::AgentEquals(
            rng.subset(0..AGENTS.len(), 1..=3)
                .into_iter()
                .map(|i| AGENTS[i])
                .collect(),
        ),
        1 => Test::AgentMatches(rng.choose(&GLOBS)),
        2 => Test::AgentRegex(rng.below(REGEXES.len())),
        3 => Test::AgentStartsWith(rng.choose(&PREFIXES)),
        4 => Test::AgentEndsWith(rng.choose(&SUFFIXES)),
        5 => Test::AgentContains(rng.choose(&INFIXES)),
        6 => Test::RiskLt(rng.between(10..=90) as i64),
        7 => Test::RiskGte(rng.between(10..=90) as i64),
        8 => Test::IpInCidr(
            rng.subset(0..BLOCKS.len(), 1..=2)
                .into_iter()
                .map(|i| BLOCKS[i])
                .collect(),
        ),
        9 => Test::VersionGt(random_version(rng)),
        10 => Test::VersionLt(random_version(rng)),
        11 => Test::IssuedBefore(rng.choose(&INSTANTS)),
        12 => Test::IssuedAfter(rng.choose(&INSTANTS)),
        13 => Test::MfaExists,
        14 => Test::InGroup(rng.between(ANCHOR_GROUPS..=GROUPS - 1)),
        _ => Test::EmailEndsWith(rng.choose(&DOMAINS)),
    };
    // Negating a test on the user's groups or e-mail would differ on a user without any (the
    // attribute is then missing, and a missing attribute is false even negated): keep it simple.
    let negatable = !matches!(test, Test::InGroup(_) | Test::EmailEndsWith(_));
    Condition {
        negate: negatable && rng.chance(15),
        test,
    }
}

fn random_action(rng: &mut Rng) -> Action {
    match rng.below(100) {
        0..=54 => Action::Allow,
        55..=69 => Action::StepUp,
        70..=79 => Action::RequestApproval,
        _ => Action::Deny,
    }
}

fn background(rng: &mut Rng, index: usize, targeted: bool) -> PolicySpec {
    let action = random_action(rng);
    let mut connector = rng.below(CONNECTORS);
    let scope = match rng.below(100) {
        0..=64 => Scope::Principals {
            users: vec![],
            groups: rng.subset(ANCHOR_GROUPS..GROUPS, 1..=3),
        },
        65..=89 => Scope::Principals {
            users: rng.subset(ANCHOR_USERS..USERS, 1..=3),
            groups: if rng.chance(30) {
                rng.distinct(ANCHOR_GROUPS..GROUPS, 1)
            } else {
                vec![]
            },
        },
        _ => {
            // INVARIANT: no background policy applies to every user of the anchor connector.
            connector = rng.between(1..=CONNECTORS - 1);
            Scope::AllUsers
        }
    };
    let tools = if rng.chance(80) {
        Tools::Include(rng.subset(0..TOOLS, 1..=4))
    } else {
        Tools::AllExcept(rng.subset(0..TOOLS, 0..=2))
    };
    let targeting = targeted.then(|| {
        let rules = (0..rng.between(1..=2))
            .map(|_| (0..rng.between(1..=3)).map(|_| random_test(rng)).collect())
            .collect();
        let otherwise = if rng.chance(40) {
            None
        } else if action == Action::Deny {
            Some(Action::Allow)
        } else {
            Some(Action::Deny)
        };
        Targeting { rules, otherwise }
    });
    let flow = (action == Action::RequestApproval && rng.chance(80)).then(|| rng.below(FLOWS));
    PolicySpec {
        id: format!("p-{index:06}"),
        connector,
        action,
        scope,
        tools,
        targeting,
        flow,
    }
}

fn random_context(rng: &mut Rng) -> Context {
    Context {
        agent: (!rng.chance(10)).then(|| rng.choose(&AGENTS)),
        ip: (!rng.chance(10)).then(|| rng.choose(&ADDRESSES)),
        risk: rng.below(101) as i64,
        version: random_version(rng),
        issued: rng.choose(&INSTANTS),
        mfa: (!rng.chance(30)).then(|| rng.chance(50)),
    }
}

impl Workload {
    /// The workload with `policies` policies (at least the 5 anchors).
    pub fn new(policies: usize) -> Workload {
        let mut rng = Rng::new(SEED);
        let users: Vec<UserSpec> = (0..USERS)
            .map(|u| {
                let groups = if u < ANCHOR_USERS {
                    vec![0, 1]
                } else {
                    rng.subset(ANCHOR_GROUPS..GROUPS, 1..=4)
                };
                UserSpec {
                    groups,
                    email_domain: if u < ANCHOR_USERS {
                        DOMAINS[0]
                    } else {
                        rng.choose(&DOMAINS)
                    },
                }
            })
            .collect();

        let mut all = anchors();
        let anchors_targeted = all.iter().filter(|p| p.targeting.is_some()).count();
        let background_count = policies.saturating_sub(all.len());
        // A third of all policies have targeting, spread evenly over the background.
        let targeted = (policies / 3).saturating_sub(anchors_targeted);
        for i in 0..background_count {
            let is_targeted = (i + 1) * targeted / background_count.max(1)
                > i * targeted / background_count.max(1);
            all.push(background(&mut rng, i, is_targeted));
        }

        let named = Path::ALL
            .iter()
            .map(|&path| {
                (
                    path,
                    RequestSpec {
                        user: 0,
                        connector: 0,
                        tool: path.tool(),
                        context: anchor_context(),
                    },
                )
            })
            .collect();

        // Aimed requests ask for a tool a background policy governs, for a user in its scope.
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); GROUPS];
        for (u, user) in users.iter().enumerate() {
            for &g in &user.groups {
                members[g].push(u);
            }
        }
        let background_policies = &all[anchors().len()..];
        let mut sample = Vec::new();
        for i in 0..512 {
            let aimed = (i % 2 == 0).then_some(()).and_then(|()| {
                if background_policies.is_empty() {
                    return None;
                }
                let p = rng.pick(background_policies);
                let user = match &p.scope {
                    Scope::AllUsers => rng.below(USERS),
                    Scope::Principals { users, groups } => {
                        if !groups.is_empty() && (users.is_empty() || rng.chance(50)) {
                            let g = *rng.pick(groups);
                            *rng.pick(&members[g])
                        } else {
                            *rng.pick(users)
                        }
                    }
                };
                let tool = match &p.tools {
                    Tools::Include(t) => *rng.pick(t),
                    Tools::AllExcept(_) => rng.below(TOOLS),
                };
                Some((user, p.connector, tool))
            });
            let (user, connector, tool) = aimed
                .unwrap_or_else(|| (rng.below(USERS), rng.below(CONNECTORS), rng.below(TOOLS)));
            sample.push(RequestSpec {
                user,
                connector,
                tool,
                context: random_context(&mut rng),
            });
        }

        Workload {
            users,
            policies: all,
            named,
            sample,
        }
    }

    /// The request of a named path.
    pub fn named(&self, path: Path) -> &RequestSpec {
        &self
            .named
            .iter()
            .find(|(p, _)| *p == path)
            .unwrap_or_else(|| unreachable!("every path has a request"))
            .1
    }

    /// The number of policies with targeting.
    pub fn targeted(&self) -> usize {
        self.policies
            .iter()
            .filter(|p| p.targeting.is_some())
            .count()
    }

    /// The policy document, as JSON text.
    pub fn document_json(&self) -> String {
        self.document(true)
    }

    /// The same document without its user directory: the connectors, tools, groups, approval
    /// flows and policies, which is what Cedar's policy text holds (its users are entities).
    pub fn policies_json(&self) -> String {
        self.document(false)
    }

    fn document(&self, with_users: bool) -> String {
        let connectors: Vec<Value> = (0..CONNECTORS)
            .map(|c| {
                json!({
                    "id": connector_id(c),
                    "name": format!("Connector {c}"),
                    "tools": (0..TOOLS).map(|t| json!({
                        "name": tool_name(t),
                        "title": format!("Tool {t}"),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let groups: Vec<Value> = (0..GROUPS)
            .map(|g| json!({ "id": group_id(g), "name": format!("Group {g}") }))
            .collect();
        let users: Vec<Value> = self
            .users
            .iter()
            .take(if with_users { usize::MAX } else { 0 })
            .enumerate()
            .map(|(u, user)| {
                json!({
                    "id": user_id(u),
                    "email": user.email(u),
                    "groups": user.groups.iter().map(|&g| group_id(g)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let flows: Vec<Value> = (0..FLOWS)
            .map(|f| json!({ "id": flow_id(f), "steps": [{ "groups": [group_id(ANCHOR_GROUPS + f)] }] }))
            .collect();
        let policies: Vec<Value> = self.policies.iter().map(policy_json).collect();
        json!({
            "version": 1,
            "connectors": connectors,
            "groups": groups,
            "users": users,
            "approval_flows": flows,
            "policies": policies,
        })
        .to_string()
    }
}

fn policy_json(p: &PolicySpec) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(p.id));
    o.insert("name".into(), json!(format!("Policy {}", p.id)));
    o.insert("connector".into(), json!(connector_id(p.connector)));
    o.insert("action".into(), json!(p.action.as_str()));
    match &p.scope {
        Scope::AllUsers => {
            o.insert("all_users".into(), json!(true));
        }
        Scope::Principals { users, groups } => {
            o.insert(
                "users".into(),
                json!(users.iter().map(|&u| user_id(u)).collect::<Vec<_>>()),
            );
            o.insert(
                "groups".into(),
                json!(groups.iter().map(|&g| group_id(g)).collect::<Vec<_>>()),
            );
        }
    }
    let names = |t: &[usize]| t.iter().map(|&t| tool_name(t)).collect::<Vec<_>>();
    o.insert(
        "tools".into(),
        match &p.tools {
            Tools::Include(t) => json!(names(t)),
            Tools::AllExcept(t) => json!({ "all": true, "exclude": names(t) }),
        },
    );
    if let Some(t) = &p.targeting {
        let rules: Vec<Value> = t
            .rules
            .iter()
            .map(|r| json!({ "conditions": r.iter().map(condition_json).collect::<Vec<_>>() }))
            .collect();
        o.insert(
            "targeting".into(),
            json!({
                "rules": rules,
                "otherwise": t.otherwise.map_or("none", Action::as_str),
            }),
        );
    }
    if let Some(f) = p.flow {
        o.insert("approval_flow".into(), json!(flow_id(f)));
    }
    Value::Object(o)
}

fn version_string(v: [u64; 3]) -> String {
    format!("{}.{}.{}", v[0], v[1], v[2])
}

fn condition_json(c: &Condition) -> Value {
    let (attribute, operator, values): (&str, &str, Value) = match &c.test {
        Test::AgentEquals(v) => ("agent.type", "equals", json!(v)),
        Test::AgentMatches(g) => ("agent.type", "matches", json!([g])),
        Test::AgentRegex(i) => ("agent.type", "regex", json!([REGEXES[*i].0])),
        Test::AgentStartsWith(s) => ("agent.type", "starts_with", json!([s])),
        Test::AgentEndsWith(s) => ("agent.type", "ends_with", json!([s])),
        Test::AgentContains(s) => ("agent.type", "contains", json!([s])),
        Test::RiskLt(n) => ("risk", "lt", json!([n])),
        Test::RiskGte(n) => ("risk", "gte", json!([n])),
        Test::IpInCidr(b) => ("request.ip", "in_cidr", json!(b)),
        Test::VersionGt(v) => ("client.version", "semver_gt", json!([version_string(*v)])),
        Test::VersionLt(v) => ("client.version", "semver_lt", json!([version_string(*v)])),
        Test::IssuedBefore(t) => ("issued", "before", json!([t])),
        Test::IssuedAfter(t) => ("issued", "after", json!([t])),
        Test::MfaExists => ("mfa", "exists", json!([])),
        Test::InGroup(g) => ("user.groups", "equals", json!([group_id(*g)])),
        Test::EmailEndsWith(d) => ("user.email", "ends_with", json!([d])),
    };
    let mut o = Map::new();
    o.insert("attribute".into(), json!(attribute));
    o.insert("operator".into(), json!(operator));
    o.insert("values".into(), values);
    if c.negate {
        o.insert("negate".into(), json!(true));
    }
    Value::Object(o)
}

impl Context {
    /// The context as the engine reads it.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut o = Map::new();
        if let Some(a) = self.agent {
            o.insert("agent".into(), json!({ "type": a }));
        }
        if let Some(ip) = self.ip {
            o.insert("request".into(), json!({ "ip": ip }));
        }
        o.insert("risk".into(), json!(self.risk));
        o.insert(
            "client".into(),
            json!({ "version": version_string(self.version) }),
        );
        o.insert("issued".into(), json!(self.issued));
        if let Some(m) = self.mfa {
            o.insert("mfa".into(), json!(m));
        }
        o
    }
}

impl RequestSpec {
    /// A builder of the engine's request for it, with its context.
    fn builder(&self) -> RequestBuilder {
        Request::builder(
            user_id(self.user),
            connector_id(self.connector),
            tool_name(self.tool),
        )
        .context_map(self.context.to_json())
    }

    /// The engine's request.
    ///
    /// # Panics
    ///
    /// Never for a request of a [`Workload`]: its ids are non-empty and its context shallow.
    pub fn to_request(&self) -> Request {
        match self.builder().build() {
            Ok(r) => r,
            Err(e) => panic!("a workload request is valid: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_size_gives_the_same_document() {
        assert_eq!(
            Workload::new(200).document_json(),
            Workload::new(200).document_json()
        );
    }

    #[test]
    fn a_third_have_targeting() {
        for n in [10, 1_000, 10_000] {
            let w = Workload::new(n);
            assert_eq!(w.policies.len(), n);
            assert_eq!(w.targeted(), n / 3, "size {n}");
        }
    }

    #[test]
    fn every_operator_appears() {
        let doc = Workload::new(1_000).document_json();
        for op in [
            "\"equals\"",
            "\"matches\"",
            "\"regex\"",
            "\"starts_with\"",
            "\"ends_with\"",
            "\"contains\"",
            "\"lt\"",
            "\"gte\"",
            "\"in_cidr\"",
            "\"semver_gt\"",
            "\"semver_lt\"",
            "\"before\"",
            "\"after\"",
            "\"exists\"",
        ] {
            assert!(doc.contains(op), "no {op} in the document");
        }
    }

    #[test]
    fn regexes_and_their_like_patterns_agree_on_every_agent() {
        for (re, likes) in REGEXES {
            let re = regex_lite(re);
            for agent in AGENTS {
                let by_like = likes.iter().any(|l| like(l, agent));
                assert_eq!(re(agent), by_like, "{agent}");
            }
        }
    }

    /// The four regexes, decided by hand so the test does not share code with either engine.
    fn regex_lite(re: &str) -> impl Fn(&str) -> bool + '_ {
        move |s: &str| match re {
            "^Claude" => s.starts_with("Claude"),
            "(Desktop|CLI)$" => s.ends_with("Desktop") || s.ends_with("CLI"),
            "^(Cursor|Windsurf)$" => s == "Cursor" || s == "Windsurf",
            "Co" => s.contains("Co"),
            _ => unreachable!("unknown regex {re}"),
        }
    }

    /// Cedar's `like` for patterns with `*` only.
    fn like(pattern: &str, s: &str) -> bool {
        let parts: Vec<&str> = pattern.split('*').collect();
        if parts.len() == 1 {
            return pattern == s;
        }
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for p in &parts[1..parts.len() - 1] {
            match rest.find(p) {
                Some(i) => rest = &rest[i + p.len()..],
                None => return false,
            }
        }
        true
    }
}
