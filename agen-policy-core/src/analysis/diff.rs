//! Change impact: how a new document decides, per principal and tool, compared with an old
//! one, with a request that shows each difference (decided by both sets).

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{cells, principals, tools_of, views, CellStatus, Principal, Verdict};
use crate::set::PolicySet;

/// How the new document decides one principal's requests on one tool, compared with the old.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// The same action and approval flows for every request.
    Equivalent,
    /// Some requests get a less restrictive action, none a more restrictive one or other flows.
    MorePermissive,
    /// Some requests get a more restrictive action, none a less restrictive one or other flows.
    LessPermissive,
    /// Both, or other approval flows.
    Changed,
}

impl Impact {
    /// `equivalent`, `more_permissive`, `less_permissive`, `changed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Impact::Equivalent => "equivalent",
            Impact::MorePermissive => "more_permissive",
            Impact::LessPermissive => "less_permissive",
            Impact::Changed => "changed",
        }
    }
}

/// One principal's changed decisions on one tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Who.
    pub principal: Principal,
    /// The connector.
    pub connector: String,
    /// The tool.
    pub tool: String,
    /// How.
    pub impact: Impact,
    /// Whether some request gets, or may get, a less restrictive action.
    pub more_permissive: bool,
    /// Whether `impact` is proved by the witnesses; `false`: the change "may" happen, for
    /// combinations of conditions that could not be decided.
    pub certain: bool,
    /// Further changes that may happen, in combinations that could not be decided.
    pub may_also: Vec<Impact>,
    /// Requests decided differently, each decided by both sets.
    pub witnesses: Vec<Witness>,
}

/// A request the two sets decide differently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Witness {
    /// The request (SPEC §3 JSON).
    pub request: Value,
    /// The old set's decision.
    pub old: Verdict,
    /// The new set's decision.
    pub new: Verdict,
}

/// The change impact of a new document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// Principal and tool pairs compared.
    pub compared: usize,
    /// Every pair that is not equivalent (certain or "may").
    pub changes: Vec<Change>,
    /// Whether every pair was decided exactly.
    pub exact: bool,
    /// What could not be decided.
    pub unknown: Vec<String>,
}

impl Diff {
    /// Whether some request may get a less restrictive action under the new document.
    pub fn more_permissive(&self) -> bool {
        self.changes.iter().any(|c| c.more_permissive)
    }

    /// The diff as text, user strings passed through `esc`.
    pub fn to_text(&self, esc: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        for c in &self.changes {
            let may_also: Vec<String> = c
                .may_also
                .iter()
                .map(|i| i.as_str().replace('_', " "))
                .collect();
            let _ = writeln!(
                out,
                "{}{} on {}/{}: {}{}",
                if c.certain { "" } else { "may: " },
                esc(&c.principal.label()),
                esc(&c.connector),
                esc(&c.tool),
                c.impact.as_str().replace('_', " "),
                if may_also.is_empty() {
                    String::new()
                } else {
                    format!(" (may also be: {})", may_also.join(", "))
                }
            );
            for w in &c.witnesses {
                let context = w
                    .request
                    .get("context")
                    .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
                    .map(|v| format!(" with context {v}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {} -> {}{}",
                    esc(&w.old.short()),
                    esc(&w.new.short()),
                    esc(&context)
                );
            }
        }
        let _ = writeln!(
            out,
            "{} of {} user and tool pairs changed{}",
            self.changes.len(),
            self.compared,
            if self.exact {
                ""
            } else {
                " (some combinations not decided)"
            }
        );
        if !self.exact {
            let _ = writeln!(out, "unknown: {}", esc(&self.unknown.join("; ")));
        }
        out
    }
}

fn impact_of(kinds: [bool; 3]) -> Option<Impact> {
    match kinds {
        [false, false, false] => None,
        [true, false, false] => Some(Impact::MorePermissive),
        [false, true, false] => Some(Impact::LessPermissive),
        _ => Some(Impact::Changed),
    }
}

/// Compares two sets: for every principal (of either directory) and tool (of either
/// document), whether the new set decides any request differently.
///
/// ```
/// use agen_policy_core::{diff, Impact, PolicySet};
///
/// let old = PolicySet::from_json(r#"{
///   "connectors": [{ "id": "github", "tools": [{ "name": "create_issue" }] }],
///   "policies": [{ "id": "p", "name": "Issues", "connector": "github", "action": "step_up",
///                  "all_users": true, "tools": ["create_issue"] }] }"#)?;
/// let new = PolicySet::from_json(r#"{
///   "connectors": [{ "id": "github", "tools": [{ "name": "create_issue" }] }],
///   "policies": [{ "id": "p", "name": "Issues", "connector": "github", "action": "allow",
///                  "all_users": true, "tools": ["create_issue"] }] }"#)?;
/// let d = diff(&old, &new);
/// assert_eq!(d.changes[0].impact, Impact::MorePermissive);
/// assert!(d.more_permissive());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff(old: &PolicySet, new: &PolicySet) -> Diff {
    let (old_views, new_views) = (views(old), views(new));
    let mut tools = tools_of(old);
    for t in tools_of(new) {
        if !tools.contains(&t) {
            tools.push(t);
        }
    }
    let mut out = Diff {
        compared: 0,
        changes: Vec::new(),
        exact: true,
        unknown: Vec::new(),
    };
    for principal in principals(&[old, new], None) {
        for (connector, tool) in &tools {
            let Some(base) = principal.request(connector, tool, Map::new()) else {
                continue;
            };
            out.compared += 1;
            let c = cells(&[(old, &old_views), (new, &new_views)], &base);
            // Kinds of differences: proved by a witness, and possible.
            let mut proved = [false; 3];
            let mut possible = [false; 3];
            let mut witnesses = Vec::new();
            for cell in &c.cells {
                let (Some(a), Some(b)) = (cell.verdicts.first(), cell.verdicts.get(1)) else {
                    continue;
                };
                if a.action == b.action && a.approval_flows == b.approval_flows {
                    continue;
                }
                let kind = match b.action.cmp(&a.action) {
                    std::cmp::Ordering::Less => 0,
                    std::cmp::Ordering::Greater => 1,
                    std::cmp::Ordering::Equal => 2,
                };
                match &cell.status {
                    CellStatus::Holds(r) => {
                        if let Some(k) = proved.get_mut(kind) {
                            *k = true;
                        }
                        if witnesses.len() < 3
                            && !witnesses.iter().any(|w: &Witness| {
                                (w.old.action, w.new.action) == (a.action, b.action)
                            })
                        {
                            witnesses.push(Witness {
                                request: serde_json::to_value(r).unwrap_or(Value::Null),
                                old: a.clone(),
                                new: b.clone(),
                            });
                        }
                    }
                    CellStatus::Unknown(reasons) => {
                        if let Some(k) = possible.get_mut(kind) {
                            *k = true;
                        }
                        out.exact = false;
                        out.unknown.extend(reasons.iter().cloned());
                    }
                }
            }
            let certain = proved.iter().any(|k| *k);
            let basis = if certain { proved } else { possible };
            let Some(impact) = impact_of(basis) else {
                continue;
            };
            let mut may_also = Vec::new();
            if certain {
                for (i, (p, q)) in possible.iter().zip(&proved).enumerate() {
                    if *p && !*q {
                        let mut one = [false; 3];
                        if let Some(k) = one.get_mut(i) {
                            *k = true;
                        }
                        may_also.extend(impact_of(one));
                    }
                }
            }
            let more_permissive = proved.first() == Some(&true) || possible.first() == Some(&true);
            out.changes.push(Change {
                principal: principal.clone(),
                connector: connector.clone(),
                tool: tool.clone(),
                impact,
                more_permissive,
                certain,
                may_also,
                witnesses,
            });
        }
    }
    out.unknown.sort();
    out.unknown.dedup();
    out
}
