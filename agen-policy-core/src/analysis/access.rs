//! Access review: for one tool, each principal's decision as a function of the request's
//! context, in pieces ("request_approval when agent.type matches "ChatGPT"", "deny otherwise"),
//! each with the policies behind it.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{cells, principals, views, CellStatus, Cells, Principal, Verdict};
use crate::set::PolicySet;

/// The access review of one tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessReview {
    /// The connector.
    pub connector: String,
    /// The tool.
    pub tool: String,
    /// One entry per principal.
    pub principals: Vec<PrincipalAccess>,
}

/// One principal's decision on the tool, piece by piece.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrincipalAccess {
    /// Who.
    pub principal: Principal,
    /// The user id of the requests analysed.
    pub user: String,
    /// Their effective groups.
    pub groups: Vec<String>,
    /// The pieces, least restrictive first; together they cover every context.
    pub pieces: Vec<Piece>,
    /// Whether every piece and its extent is certain.
    pub exact: bool,
    /// What could not be decided, when not exact.
    pub unknown: Vec<String>,
}

/// One decision and the contexts that get it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Piece {
    /// The decision (without its version).
    #[serde(flatten)]
    pub verdict: Verdict,
    /// When: alternatives (ORed) of terms (ANDed). One empty alternative: always.
    pub when: Vec<Vec<Term>>,
    /// `false` when no request was found that gets this decision, only combinations that
    /// could not be decided: the piece "may" exist.
    pub certain: bool,
    /// A context that gets this decision (checked by evaluation), when certain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<Map<String, Value>>,
}

/// Whether one targeted policy's rules match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    /// The policy.
    pub policy: String,
    /// Whether its rules match (`true`) or none does.
    pub matches: bool,
    /// Its rules as text.
    pub rules: String,
}

impl PolicySet {
    /// The access review of `connector`'s `tool`: for each user of the directory (or only
    /// `user`), each named group and anyone else, the decision as a function of the context.
    ///
    /// ```
    /// use agen_policy_core::{Action, PolicySet};
    ///
    /// let set = PolicySet::from_json(r#"{
    ///   "connectors": [{ "id": "github", "tools": [{ "name": "delete_repository" }] }],
    ///   "users": [{ "id": "alice" }],
    ///   "policies": [{ "id": "p", "name": "Deletes from ChatGPT", "connector": "github",
    ///     "action": "allow", "all_users": true, "tools": ["delete_repository"],
    ///     "targeting": { "rules": [ { "conditions": [
    ///       { "attribute": "agent.type", "operator": "equals", "values": ["ChatGPT"] } ] } ] } }]
    /// }"#)?;
    /// let review = set.access("github", "delete_repository", Some("alice"));
    /// let alice = &review.principals[0];
    /// assert!(alice.exact);
    /// assert_eq!(alice.pieces[0].verdict.action, Action::Allow);
    /// assert_eq!(alice.pieces[1].verdict.action, Action::Deny);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn access(&self, connector: &str, tool: &str, user: Option<&str>) -> AccessReview {
        let views = views(self);
        let mut out = AccessReview {
            connector: connector.to_owned(),
            tool: tool.to_owned(),
            principals: Vec::new(),
        };
        for principal in principals(&[self], user) {
            let Some(base) = principal.request(connector, tool, Map::new()) else {
                continue;
            };
            let c = cells(&[(self, &views)], &base);
            let subject = self.subject(&base);
            let groups = self
                .effective_groups(&subject)
                .into_iter()
                .map(str::to_owned)
                .collect();
            out.principals.push(PrincipalAccess {
                user: base.user().to_owned(),
                groups,
                pieces: pieces(&c, 0),
                exact: c.unknown.is_empty(),
                unknown: c.unknown.clone(),
                principal,
            });
        }
        out
    }
}

/// The pieces of set `index`'s verdicts over the cells, with simplified conditions.
pub(super) fn pieces(c: &Cells, index: usize) -> Vec<Piece> {
    let bits: Vec<usize> = c
        .targeted
        .iter()
        .enumerate()
        .filter(|(_, t)| t.0 == index)
        .map(|(b, _)| b)
        .collect();
    let mut groups: Vec<(Verdict, Vec<&super::Cell>)> = Vec::new();
    for cell in &c.cells {
        let Some(v) = cell.verdicts.get(index) else {
            continue;
        };
        match groups.iter_mut().find(|(g, _)| g == v) {
            Some((_, cells)) => cells.push(cell),
            None => groups.push((v.clone(), vec![cell])),
        }
    }
    groups.sort_by(|a, b| (a.0.action, &a.0.policies).cmp(&(b.0.action, &b.0.policies)));
    let all_masks: Vec<u32> = c.cells.iter().map(|c| c.mask).collect();
    let too_many = c.targeted.len() > super::MAX_TARGETED;
    groups
        .into_iter()
        .map(|(verdict, cells)| {
            let mine: Vec<u32> = cells.iter().map(|c| c.mask).collect();
            let example = cells.iter().find_map(|c| match &c.status {
                CellStatus::Holds(r) => Some(r.context().clone()),
                CellStatus::Unknown(_) => None,
            });
            let cubes = if too_many {
                // Not examined: no extent is claimed.
                Vec::new()
            } else {
                simplify(&mine, &all_masks, &bits)
            };
            let when = cubes
                .into_iter()
                .map(|(value, care)| {
                    bits.iter()
                        .filter(|b| care & (1 << **b) != 0)
                        .filter_map(|b| c.targeted.get(*b).map(|t| (b, t)))
                        .map(|(b, t)| Term {
                            policy: t.1.clone(),
                            matches: value & (1 << *b) != 0,
                            rules: t.2.clone(),
                        })
                        .collect()
                })
                .collect();
            Piece {
                verdict,
                when,
                certain: example.is_some(),
                example,
            }
        })
        .collect()
}

/// Cubes `(value, care)` over `bits` covering `mine`, each as large as the masks that hold
/// requests allow (a mask no cell has holds none, so any cube may cover it).
fn simplify(mine: &[u32], all: &[u32], bits: &[usize]) -> Vec<(u32, u32)> {
    let full: u32 = bits.iter().fold(0, |m, b| m | (1 << *b));
    let other: Vec<u32> = all.iter().copied().filter(|m| !mine.contains(m)).collect();
    // A cube may cover a mask of another piece only if it differs there in bits of another set
    // (which this piece ignores): compare on this set's bits only.
    let conflicts = |value: u32, care: u32| {
        other
            .iter()
            .any(|m| (m & care & full) == (value & care & full))
    };
    let mut cubes: Vec<(u32, u32)> = Vec::new();
    for &m in mine {
        let (value, mut care) = (m & full, full);
        for b in bits {
            let trial = care & !(1 << *b);
            if !conflicts(value, trial) {
                care = trial;
            }
        }
        let cube = (value & care, care);
        if !cubes.contains(&cube) {
            cubes.push(cube);
        }
    }
    // Drop cubes another covers.
    let snapshot = cubes.clone();
    cubes.retain(|&(v, c)| {
        !snapshot
            .iter()
            .any(|&(v2, c2)| (v2, c2) != (v, c) && c2 & c == c2 && v & c2 == v2)
    });
    cubes
}

impl AccessReview {
    /// The review as text, user strings passed through `esc`.
    pub fn to_text(&self, esc: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}/{}", esc(&self.connector), esc(&self.tool));
        for p in &self.principals {
            let who = match &p.principal {
                super::Principal::User { .. } => {
                    if p.groups.is_empty() {
                        esc(&p.principal.label())
                    } else {
                        format!(
                            "{} ({})",
                            esc(&p.principal.label()),
                            esc(&p.groups.join(", "))
                        )
                    }
                }
                other => esc(&other.label()),
            };
            let _ = write!(out, "  {who}:");
            if let [only] = &p.pieces[..] {
                if only.when.iter().all(Vec::is_empty) {
                    let _ = writeln!(out, " {} always", piece_head(only, esc));
                    continue;
                }
            }
            out.push('\n');
            for piece in &p.pieces {
                let _ = writeln!(
                    out,
                    "    {} when {}",
                    piece_head(piece, esc),
                    esc(&when_text(&piece.when))
                );
            }
            if !p.exact {
                let _ = writeln!(out, "    unknown: {}", esc(&p.unknown.join("; ")));
            }
        }
        out
    }
}

fn piece_head(piece: &Piece, esc: &dyn Fn(&str) -> String) -> String {
    let mut s = String::new();
    if !piece.certain {
        s.push_str("may ");
    }
    s.push_str(&esc(&piece.verdict.short()));
    if !piece.verdict.policies.is_empty() {
        let _ = write!(s, " [{}]", esc(&piece.verdict.policies.join(", ")));
    }
    s
}

/// `agent.type matches "ChatGPT" or not (request.ip in_cidr "10.0.0.0/8")`.
pub(super) fn when_text(when: &[Vec<Term>]) -> String {
    if when.is_empty() {
        return "in some contexts (not examined)".to_owned();
    }
    when.iter()
        .map(|cube| {
            if cube.is_empty() {
                return "always".to_owned();
            }
            cube.iter()
                .map(|t| {
                    if t.matches {
                        t.rules.clone()
                    } else {
                        format!("not ({})", t.rules)
                    }
                })
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect::<Vec<_>>()
        .join(" or ")
}
