//! Policy analysis for administrators: [`lint`](crate::PolicySet::lint), the
//! [access review](crate::PolicySet::access) of a tool, the change impact of a new document
//! ([`diff`]) and the [`replay`] of a decision log under a new document.
//!
//! Every answer is either certain or marked "may" with what is unknown. Certain answers come
//! from two sources only: exact reasoning over conditions (`solve`, where its candidates are
//! complete), and requests built from its witnesses and decided by [`PolicySet::evaluate`]
//! itself. A witness that does not decide as the reasoning said is never reported as certain.
//!
//! The requests analysed are those of a **principal** (a user of the directory with their
//! directory groups; for each named group, a user outside the directory whose one group it is;
//! and a user outside the directory with no group) on one tool, with any context.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::condition::{Attribute, Outcome as CondOutcome};
use crate::decision::{Action, Reason};
use crate::model::{Condition, Operator, Otherwise, Policy};
use crate::request::Request;
use crate::set::{CompiledPolicy, PolicySet};

mod access;
mod diff;
mod lint;
mod replay;
mod solve;

pub use access::{AccessReview, Piece, PrincipalAccess, Term};
pub use diff::{diff, Change, Diff, Impact};
pub use lint::{Finding, Lint, LintCode, Severity};
pub use replay::{replay, Replay, ReplayRecord, Transition};

use solve::{Answer, Cond, Frame, Kind, Question};

/// Targeted candidates examined together at most: `2^n` combinations of their rules.
const MAX_TARGETED: usize = 10;

/// Who the requests of an analysis are made for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Principal {
    /// A user of the directory, with the directory's groups and no group claims.
    User {
        /// The user's id.
        id: String,
    },
    /// A user outside the directory whose one group (a claim) is this one.
    Group {
        /// The group's id.
        id: String,
        /// The user id the analysis gives such a user.
        user: String,
    },
    /// A user outside the directory with no group.
    Anyone {
        /// The user id the analysis gives such a user.
        user: String,
    },
}

impl Principal {
    /// The request's user and group claims.
    fn identity(&self) -> (&str, Vec<String>) {
        match self {
            Principal::User { id } => (id, Vec::new()),
            Principal::Group { id, user } => (user, vec![id.clone()]),
            Principal::Anyone { user } => (user, Vec::new()),
        }
    }

    /// `alice`, `group contractors`, `anyone else`.
    pub fn label(&self) -> String {
        match self {
            Principal::User { id } => id.clone(),
            Principal::Group { id, .. } => format!("group {id}"),
            Principal::Anyone { .. } => "anyone else".to_owned(),
        }
    }

    fn request(&self, connector: &str, tool: &str, context: Map<String, Value>) -> Option<Request> {
        let (user, groups) = self.identity();
        Request::builder(user, connector, tool)
            .groups(groups)
            .context_map(context)
            .build()
            .ok()
    }
}

/// The principals of one or more sets: every directory user, every group the directories or
/// policies name, and anyone else; users outside the directory get an id no set names.
fn principals(sets: &[&PolicySet], only_user: Option<&str>) -> Vec<Principal> {
    let mut named: BTreeSet<&str> = BTreeSet::new();
    let mut users: BTreeSet<&str> = BTreeSet::new();
    let mut groups: BTreeSet<&str> = BTreeSet::new();
    for set in sets {
        let d = set.document();
        for u in &d.users {
            users.insert(&u.id);
            named.insert(&u.id);
            groups.extend(u.groups.iter().map(|g| &**g));
        }
        groups.extend(d.groups.iter().map(|g| &*g.id));
        for p in &d.policies {
            named.extend(p.scope.users.iter().map(|u| &**u));
            groups.extend(p.scope.groups.iter().map(|g| &**g));
        }
        for f in &d.approval_flows {
            for s in &f.steps {
                named.extend(s.users.iter().map(|u| &**u));
            }
        }
    }
    let mut fresh = "someone".to_owned();
    let mut n = 1;
    while named.contains(fresh.as_str()) {
        n += 1;
        fresh = format!("someone-{n}");
    }
    if let Some(user) = only_user {
        return vec![if users.contains(user) {
            Principal::User {
                id: user.to_owned(),
            }
        } else {
            // A user outside the directory: no group but their claims, which we do not know.
            Principal::Anyone {
                user: user.to_owned(),
            }
        }];
    }
    let mut out: Vec<Principal> = users
        .into_iter()
        .map(|u| Principal::User { id: u.to_owned() })
        .collect();
    out.extend(groups.into_iter().map(|g| Principal::Group {
        id: g.to_owned(),
        user: fresh.clone(),
    }));
    out.push(Principal::Anyone { user: fresh });
    out
}

/// A decision without its version: what two sets are compared on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Verdict {
    /// The action.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// The determining policies, in byte order.
    pub policies: Vec<String>,
    /// The approval flows, for `request_approval`.
    pub approval_flows: Vec<String>,
}

impl Verdict {
    fn of(set: &PolicySet, request: &Request) -> Verdict {
        let d = set.evaluate(request);
        Verdict {
            action: d.action(),
            reason: d.reason(),
            policies: d.policies().map(str::to_owned).collect(),
            approval_flows: d.approval_flows().map(str::to_owned).collect(),
        }
    }

    /// `request_approval (flow security-review)`, `deny (no policy)`.
    pub fn short(&self) -> String {
        let mut s = self.action.as_str().to_owned();
        if !self.approval_flows.is_empty() {
            let _ = write!(s, " (flow {})", self.approval_flows.join(", "));
        }
        if self.reason != Reason::Policy {
            let _ = write!(s, " ({})", self.reason.as_str().replace('_', " "));
        }
        s
    }
}

/// A policy of a set, with its model and compiled rules side by side.
#[derive(Clone)]
struct View<'a> {
    model: &'a Policy,
    compiled: &'a CompiledPolicy,
    /// Its rules' conditions; empty when it has no targeting.
    rules: Vec<Vec<Cond<'a>>>,
}

impl<'a> View<'a> {
    fn targeted(&self) -> bool {
        !self.rules.is_empty()
    }

    /// What it serves when its rules match (`true`) or not.
    fn serves(&self, matched: bool) -> Option<Action> {
        if matched || !self.targeted() {
            Some(self.compiled.action)
        } else {
            match self.compiled.otherwise {
                Otherwise::Serve(a) => Some(a),
                Otherwise::None => None,
            }
        }
    }

    fn in_scope(&self, user: &str, groups: &[&str]) -> bool {
        let s = &self.model.scope;
        s.all_users
            || s.users.iter().any(|u| &**u == user)
            || s.groups.iter().any(|g| groups.contains(&&**g))
    }
}

fn views(set: &PolicySet) -> Vec<View<'_>> {
    let doc = set.document();
    set.policies
        .iter()
        .filter_map(|compiled| {
            let model = doc.policies.get(compiled.source as usize)?;
            let rules = match (&compiled.rules, &model.targeting) {
                (Some(rules), Some(t)) => rules
                    .iter()
                    .zip(&t.rules)
                    .map(|(r, m)| {
                        crate::condition::in_document_order(r, m)
                            .map(|(c, mc)| Cond {
                                set,
                                compiled: c,
                                model: mc,
                            })
                            .collect()
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Some(View {
                model,
                compiled,
                rules,
            })
        })
        .collect()
}

/// Built-in attributes fixed by a request; context attributes free.
struct RequestFrame<'r> {
    request: &'r Request,
}

impl Frame for RequestFrame<'_> {
    fn constant(&self, c: Cond<'_>) -> Option<CondOutcome> {
        match c.set.attribute(c.compiled.attribute) {
            Some(Attribute::Context { .. }) => None,
            Some(_) => Some(c.set.condition(c.compiled, &c.set.subject(self.request)).0),
            // INVARIANT: an unknown attribute index is missing data, as evaluation reads it.
            None => Some(CondOutcome::Missing),
        }
    }

    fn kind(&self, _attribute: &str) -> Kind {
        Kind::Any
    }
}

/// The candidates of a set for a request, or the reason it is denied before any policy.
fn candidates<'a>(
    views: &'a [View<'a>],
    set: &PolicySet,
    request: &Request,
) -> Result<Vec<&'a View<'a>>, Reason> {
    set.locate(request.connector(), request.tool())?;
    let subject = set.subject(request);
    let groups = set.effective_groups(&subject);
    Ok(views
        .iter()
        .filter(|v| {
            &*v.model.connector == request.connector()
                && v.model.tools.selects(request.tool())
                && v.in_scope(request.user(), &groups)
        })
        .collect())
}

/// The verdict SPEC §4 gives when the candidates serve these actions (no evidence).
fn verdict_of(served: &[(&View<'_>, Option<Action>)]) -> Verdict {
    let top = served.iter().filter_map(|(_, a)| *a).max();
    let Some(action) = top else {
        return Verdict {
            action: Action::Deny,
            reason: Reason::NoPolicy,
            policies: Vec::new(),
            approval_flows: Vec::new(),
        };
    };
    let determining: Vec<&View<'_>> = served
        .iter()
        .filter(|(_, a)| *a == Some(action))
        .map(|(v, _)| *v)
        .collect();
    let mut policies: Vec<String> = determining.iter().map(|v| v.model.id.to_string()).collect();
    policies.sort();
    let mut flows: Vec<String> = if action == Action::RequestApproval {
        determining
            .iter()
            .filter_map(|v| v.model.approval_flow.as_deref().map(str::to_owned))
            .collect()
    } else {
        Vec::new()
    };
    flows.sort();
    flows.dedup();
    Verdict {
        action,
        reason: Reason::Policy,
        policies,
        approval_flows: flows,
    }
}

/// Whether a cell of the context space was found to hold requests.
#[derive(Debug, Clone)]
enum CellStatus {
    /// It does: this request is one, its decisions checked by evaluation.
    Holds(Request),
    /// Not decided.
    Unknown(Vec<String>),
}

/// One combination of matched and unmatched targeted candidates.
#[derive(Debug, Clone)]
struct Cell {
    mask: u32,
    status: CellStatus,
    /// Per set, the verdict in this cell.
    verdicts: Vec<Verdict>,
}

/// The partition of one principal's requests on one tool by which targeted candidates (of
/// every set) match.
struct Cells {
    /// Per targeted candidate: its set's position in the input and its id.
    targeted: Vec<(usize, String, String)>,
    cells: Vec<Cell>,
    /// Why the partition is incomplete, if it is.
    unknown: Vec<String>,
}

fn cells(sets: &[(&PolicySet, &[View<'_>])], base: &Request) -> Cells {
    let mut per_set: Vec<Result<Vec<&View<'_>>, Reason>> = Vec::new();
    let mut targeted: Vec<(usize, &View<'_>)> = Vec::new();
    for (i, (set, views)) in sets.iter().enumerate() {
        let c = candidates(views, set, base);
        if let Ok(c) = &c {
            targeted.extend(c.iter().filter(|v| v.targeted()).map(|v| (i, *v)));
        }
        per_set.push(c);
    }
    let mut out = Cells {
        targeted: targeted
            .iter()
            .map(|(i, v)| (*i, v.model.id.to_string(), rules_text(v)))
            .collect(),
        cells: Vec::new(),
        unknown: Vec::new(),
    };
    let frame = RequestFrame { request: base };
    let symbolic = |mask: u32| -> Vec<Verdict> {
        per_set
            .iter()
            .enumerate()
            .map(|(i, c)| match c {
                Err(reason) => Verdict {
                    action: Action::Deny,
                    reason: *reason,
                    policies: Vec::new(),
                    approval_flows: Vec::new(),
                },
                Ok(candidates) => {
                    let served: Vec<(&View<'_>, Option<Action>)> = candidates
                        .iter()
                        .map(|v| {
                            let matched = targeted
                                .iter()
                                .position(|(j, t)| *j == i && std::ptr::eq(*t, *v))
                                .is_none_or(|bit| mask & (1 << bit) != 0);
                            (*v, v.serves(matched))
                        })
                        .collect();
                    verdict_of(&served)
                }
            })
            .collect()
    };
    if targeted.len() > MAX_TARGETED {
        out.unknown.push(format!(
            "{} targeted policies apply; combinations of more than {MAX_TARGETED} are not examined",
            targeted.len()
        ));
        // Still one certain cell: the request as it is, with an empty context.
        let verdicts = sets.iter().map(|(s, _)| Verdict::of(s, base)).collect();
        out.cells.push(Cell {
            mask: u32::MAX,
            status: CellStatus::Holds(base.clone()),
            verdicts,
        });
        return out;
    }
    for mask in 0..(1u32 << targeted.len()) {
        let mut q = Question::new();
        for (bit, (_, v)) in targeted.iter().enumerate() {
            q.rules(&v.rules, mask & (1 << bit) != 0, &frame);
        }
        let verdicts = symbolic(mask);
        match q.solve(&frame) {
            Answer::Unsat => {}
            Answer::Unknown(reasons) => {
                out.unknown.extend(reasons.iter().cloned());
                out.cells.push(Cell {
                    mask,
                    status: CellStatus::Unknown(reasons),
                    verdicts,
                });
            }
            Answer::Sat(w) => {
                let context: Map<String, Value> = solve::context_of(&w);
                let status = match base_with(base, context) {
                    Some(r) => {
                        let actual: Vec<Verdict> =
                            sets.iter().map(|(s, _)| Verdict::of(s, &r)).collect();
                        if actual == verdicts {
                            CellStatus::Holds(r)
                        } else {
                            // INVARIANT: a witness that does not decide as reasoned is not
                            // reported as certain.
                            CellStatus::Unknown(vec![
                                "a witness request did not decide as reasoned".to_owned(),
                            ])
                        }
                    }
                    None => {
                        CellStatus::Unknown(vec!["a witness request could not be built".to_owned()])
                    }
                };
                if let CellStatus::Unknown(r) = &status {
                    out.unknown.extend(r.iter().cloned());
                }
                out.cells.push(Cell {
                    mask,
                    status,
                    verdicts,
                });
            }
        }
    }
    out.unknown.sort();
    out.unknown.dedup();
    out
}

/// The base request with this context, as it reads back from its JSON text: a witness is
/// shown as JSON, so it is checked as JSON.
fn base_with(base: &Request, context: Map<String, Value>) -> Option<Request> {
    let built = Request::builder(base.user(), base.connector(), base.tool())
        .groups(base.groups().iter().cloned())
        .context_map(context)
        .build()
        .ok()?;
    let text = serde_json::to_string(&built).ok()?;
    Request::from_json(&text).ok()
}

/// A policy's rules as text: `agent.type matches "ChatGPT", "Claude*"`, conditions joined by
/// `and`, rules by `or`.
fn rules_text(v: &View<'_>) -> String {
    let rules = v
        .model
        .targeting
        .as_ref()
        .map(|t| &t.rules[..])
        .unwrap_or(&[]);
    let parts: Vec<String> = rules
        .iter()
        .map(|r| {
            r.conditions
                .iter()
                .map(condition_text)
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect();
    if parts.len() > 1 {
        parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(" or ")
    } else {
        parts.join("")
    }
}

fn condition_text(c: &Condition) -> String {
    let mut s = c.attribute.to_string();
    if c.operator == Operator::Exists {
        s.push_str(if c.negate {
            " does not exist"
        } else {
            " exists"
        });
        return s;
    }
    if c.negate {
        s.push_str(" not");
    }
    let _ = write!(s, " {}", c.operator.as_str());
    if c.ignore_case {
        s.push_str(" (ignoring case)");
    }
    let values: Vec<String> = c.values.iter().map(Value::to_string).collect();
    let _ = write!(s, " {}", values.join(", "));
    s
}

/// The tools of a set's connectors: `(connector, tool)`, in document order.
fn tools_of(set: &PolicySet) -> Vec<(String, String)> {
    set.document()
        .connectors
        .iter()
        .flat_map(|c| {
            c.tools
                .iter()
                .map(|t| (c.id.to_string(), t.name.to_string()))
        })
        .collect()
}
