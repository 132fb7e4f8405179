//! The policies table: one row per policy, searched, filtered by action and sorted.

use serde::{Deserialize, Serialize};

use crate::decision::Action;
use crate::model::{Document, Policy};

/// What the table shows: a search, an action filter and a sort.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableQuery {
    /// Kept are policies whose name, description or application id (the policy's connector
    /// id) contains this text, ignoring case; blank keeps every policy.
    #[serde(default)]
    pub search: String,
    /// Kept are only policies with this action.
    #[serde(default)]
    pub action: Option<Action>,
    /// The column sorted by.
    #[serde(default)]
    pub sort: SortKey,
    /// Sorted from last to first.
    #[serde(default)]
    pub descending: bool,
}

/// The sortable columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Document order (no sort).
    #[default]
    Document,
    /// By name, ignoring case, then by id.
    Name,
    /// By action in restrictiveness order (allow, step up, request approval, deny), then by
    /// name.
    Action,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The policy's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its connector's id (the application id).
    pub connector: String,
    /// Its connector's display name.
    pub connector_name: String,
    /// "All users" when the policy applies to every user, else the number of users it names.
    pub users: String,
    /// Whether it applies to every user.
    pub all_users: bool,
    /// The number of distinct users it names (kept while `all_users` is on).
    pub user_count: usize,
    /// The number of distinct groups it names.
    pub groups: usize,
    /// The number of its connector's tools it governs.
    pub tools: usize,
    /// Its action.
    pub action: Action,
}

/// The rows of the table for `query`.
pub fn table(document: &Document, query: &TableQuery) -> Vec<Row> {
    let needle = query.search.trim().to_lowercase();
    let mut kept: Vec<&Policy> = document
        .policies
        .iter()
        .filter(|p| query.action.is_none_or(|a| p.action == a))
        .filter(|p| {
            needle.is_empty()
                || [&*p.name, &*p.description, &*p.connector]
                    .iter()
                    .any(|field| field.to_lowercase().contains(&needle))
        })
        .collect();
    let by_name = |a: &&Policy, b: &&Policy| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then_with(|| a.id.cmp(&b.id))
    };
    match query.sort {
        SortKey::Document => {}
        SortKey::Name => kept.sort_by(by_name),
        SortKey::Action => kept.sort_by(|a, b| a.action.cmp(&b.action).then_with(|| by_name(a, b))),
    }
    if query.descending {
        kept.reverse();
    }
    kept.into_iter().map(|p| row(document, p)).collect()
}

fn row(document: &Document, p: &Policy) -> Row {
    let connector = document.connectors.iter().find(|c| c.id == p.connector);
    let user_count = distinct(&p.scope.users);
    Row {
        id: p.id.to_string(),
        name: p.name.to_string(),
        description: p.description.to_string(),
        connector: p.connector.to_string(),
        connector_name: connector.map_or_else(|| p.connector.to_string(), |c| c.name.to_string()),
        users: if p.scope.all_users {
            "All users".to_owned()
        } else {
            user_count.to_string()
        },
        all_users: p.scope.all_users,
        user_count,
        groups: distinct(&p.scope.groups),
        tools: connector.map_or(0, |c| {
            c.tools.iter().filter(|t| p.tools.selects(&t.name)).count()
        }),
        action: p.action,
    }
}

/// The number of distinct ids in a list (an id may be repeated; it counts once).
fn distinct(ids: &[Box<str>]) -> usize {
    let mut sorted: Vec<&str> = ids.iter().map(|s| &**s).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.len()
}
