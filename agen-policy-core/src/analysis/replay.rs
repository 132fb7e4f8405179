//! Replay: logged decisions decided again under a new document, and the transitions.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{cells, views, CellStatus, Verdict};
use crate::decision::Action;
use crate::error::RequestError;
use crate::request::Request;
use crate::set::PolicySet;

/// What replay reads of a decision log record (`log::DecisionRecord`): the request's
/// principal and tool, the logged action, and the request's `context` when the host logged
/// it. Other members are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ReplayRecord {
    /// The record's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The user.
    pub user: String,
    /// The group claims.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The connector.
    pub connector: String,
    /// The tool.
    pub tool: String,
    /// The logged action.
    pub action: Action,
    /// Policies whose step-up or approval evidence satisfied, when it was logged.
    #[serde(default)]
    pub satisfied: Vec<String>,
    /// The request's context, when the host logged it (an optional member).
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
}

impl ReplayRecord {
    /// Parses one line of a decision log; a line that is not a record is `invalid_request`.
    pub fn from_json_line(line: &str) -> Result<ReplayRecord, RequestError> {
        serde_json::from_str(line.trim_start_matches('\u{feff}'))
            .map_err(|e| RequestError::new("", format!("not a decision record: {e}")))
    }
}

/// One logged decision that the new document decides differently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// Its position in the records.
    pub index: usize,
    /// The record's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The user.
    pub user: String,
    /// The connector.
    pub connector: String,
    /// The tool.
    pub tool: String,
    /// The logged action.
    pub old: Action,
    /// The new decision (without evidence).
    pub new: Verdict,
    /// Whether the record carried the request's context.
    pub context_logged: bool,
    /// `false` when the new decision may differ for the request as it was made: its context
    /// was not logged and the new decision depends on context, or evidence was used.
    pub certain: bool,
}

/// A count of transitions from one action to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionCount {
    /// Logged action.
    pub from: Action,
    /// New action.
    pub to: Action,
    /// How many records.
    pub count: usize,
}

/// The replay of a log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replay {
    /// Records replayed.
    pub records: usize,
    /// Records whose request is not valid (index and reason); not replayed.
    pub invalid: Vec<(usize, String)>,
    /// Transitions, the most loosening first (deny → allow first), then in log order.
    pub transitions: Vec<Transition>,
    /// Transitions counted by kind, in the same order.
    pub summary: Vec<TransitionCount>,
}

impl Replay {
    /// The replay as text, user strings passed through `esc`.
    pub fn to_text(&self, esc: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        for s in &self.summary {
            let _ = writeln!(out, "{} -> {}: {}", s.from, s.to, s.count);
        }
        for t in &self.transitions {
            let _ = writeln!(
                out,
                "{}#{}{} {} on {}/{}: {} -> {}{}",
                if t.certain { "" } else { "may: " },
                t.index + 1,
                t.id.as_deref()
                    .map(|i| format!(" ({})", esc(i)))
                    .unwrap_or_default(),
                esc(&t.user),
                esc(&t.connector),
                esc(&t.tool),
                t.old,
                esc(&t.new.short()),
                if t.context_logged {
                    ""
                } else {
                    " (context not logged)"
                }
            );
        }
        for (i, reason) in &self.invalid {
            let _ = writeln!(out, "#{} not replayed: {}", i + 1, esc(reason));
        }
        let _ = writeln!(
            out,
            "{} records, {} decided differently, {} not replayed",
            self.records,
            self.transitions.len(),
            self.invalid.len()
        );
        out
    }
}

/// Decides every record's request again under `set` (without evidence) and reports the
/// transitions.
pub fn replay(set: &PolicySet, records: &[ReplayRecord]) -> Replay {
    let views = views(set);
    let mut out = Replay {
        records: records.len(),
        invalid: Vec::new(),
        transitions: Vec::new(),
        summary: Vec::new(),
    };
    for (index, r) in records.iter().enumerate() {
        let request = Request::builder(&*r.user, &*r.connector, &*r.tool)
            .groups(r.groups.iter().cloned())
            .context_map(r.context.clone().unwrap_or_default())
            .build();
        let request = match request {
            Ok(request) => request,
            Err(e) => {
                out.invalid.push((index, e.message().to_owned()));
                continue;
            }
        };
        let new = Verdict::of(set, &request);
        if new.action == r.action {
            continue;
        }
        let context_logged = r.context.is_some();
        let mut certain = r.satisfied.is_empty();
        if certain && !context_logged {
            // Without the context, the decision is known only if no context changes it.
            let c = cells(&[(set, &views)], &request);
            certain = c.unknown.is_empty()
                && c.cells.iter().all(|cell| {
                    matches!(cell.status, CellStatus::Holds(_))
                        && cell.verdicts.first().map(|v| v.action) == Some(new.action)
                });
        }
        out.transitions.push(Transition {
            index,
            id: r.id.clone(),
            user: r.user.clone(),
            connector: r.connector.clone(),
            tool: r.tool.clone(),
            old: r.action,
            new,
            context_logged,
            certain,
        });
    }
    let loosening = |t: &Transition| t.new.action.index() as isize - t.old.index() as isize;
    out.transitions.sort_by_key(|t| (loosening(t), t.index));
    for t in &out.transitions {
        match out.summary.last_mut() {
            Some(s) if s.from == t.old && s.to == t.new.action => s.count += 1,
            _ => {
                if let Some(s) = out
                    .summary
                    .iter_mut()
                    .find(|s| s.from == t.old && s.to == t.new.action)
                {
                    s.count += 1;
                } else {
                    out.summary.push(TransitionCount {
                        from: t.old,
                        to: t.new.action,
                        count: 1,
                    });
                }
            }
        }
    }
    out
}
