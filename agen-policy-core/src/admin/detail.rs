//! The detail view of one policy: its tools with their toggles, and the directory with who is
//! in its scope, as the Tools, Users and Groups tabs and their add panels show them.

use serde::Serialize;

use crate::model::{Document, Policy};

/// One policy with what its tabs show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDetail<'d> {
    /// The policy, as in the document.
    pub policy: &'d Policy,
    /// Its position in the document's `policies` (problems point at `/policies/{index}/…`).
    pub index: usize,
    /// Its connector's display name.
    pub connector_name: &'d str,
    /// Every tool of its connector, in the connector's order, with its toggle.
    pub tools: Vec<ToolState<'d>>,
    /// The directory's users, then the ids the policy names that the directory lacks.
    pub users: Vec<DirectoryEntry<'d>>,
    /// The directory's groups, then the ids the policy names that the directory lacks.
    pub groups: Vec<DirectoryEntry<'d>>,
}

/// A tool and whether the policy governs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolState<'d> {
    /// The tool's name.
    pub name: &'d str,
    /// Its title, if any.
    pub title: Option<&'d str>,
    /// Its description, if any.
    pub description: Option<&'d str>,
    /// Whether the tool is enabled in its connector (a disabled tool is denied whatever the
    /// policy says).
    pub enabled: bool,
    /// Whether the policy governs it (its toggle).
    pub on: bool,
}

/// A user or group, and whether the policy names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry<'d> {
    /// Its id.
    pub id: &'d str,
    /// Its display name, if any.
    pub name: Option<&'d str>,
    /// A user's e-mail address, or a group's description, if any.
    pub detail: Option<&'d str>,
    /// Whether the directory lists it.
    pub in_directory: bool,
    /// Whether the policy names it.
    pub member: bool,
}

/// The detail of the policy `id`, or `None` when no policy has it.
pub fn policy_detail<'d>(document: &'d Document, id: &str) -> Option<PolicyDetail<'d>> {
    let index = document.policies.iter().position(|p| &*p.id == id)?;
    let policy = document.policies.get(index)?;
    let connector = document
        .connectors
        .iter()
        .find(|c| c.id == policy.connector);
    let tools = connector.map_or_else(Vec::new, |c| {
        c.tools
            .iter()
            .map(|t| ToolState {
                name: &t.name,
                title: t.title.as_deref(),
                description: t.description.as_deref(),
                enabled: t.enabled,
                on: policy.tools.selects(&t.name),
            })
            .collect()
    });
    let named = |list: &[Box<str>], id: &str| list.iter().any(|m| &**m == id);
    let mut users: Vec<DirectoryEntry<'d>> = document
        .users
        .iter()
        .map(|u| DirectoryEntry {
            id: &u.id,
            name: u.name.as_deref(),
            detail: u.email.as_deref(),
            in_directory: true,
            member: named(&policy.scope.users, &u.id),
        })
        .collect();
    for id in &policy.scope.users {
        if !users.iter().any(|u| u.id == &**id) {
            users.push(outside(id));
        }
    }
    let mut groups: Vec<DirectoryEntry<'d>> = document
        .groups
        .iter()
        .map(|g| DirectoryEntry {
            id: &g.id,
            name: g.name.as_deref(),
            detail: g.description.as_deref(),
            in_directory: true,
            member: named(&policy.scope.groups, &g.id),
        })
        .collect();
    for id in &policy.scope.groups {
        if !groups.iter().any(|g| g.id == &**id) {
            groups.push(outside(id));
        }
    }
    Some(PolicyDetail {
        policy,
        index,
        connector_name: connector.map_or(&*policy.connector, |c| &*c.name),
        tools,
        users,
        groups,
    })
}

fn outside(id: &str) -> DirectoryEntry<'_> {
    DirectoryEntry {
        id,
        name: None,
        detail: None,
        in_directory: false,
        member: true,
    }
}
