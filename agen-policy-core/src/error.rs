//! Errors of loading a document ([`LoadError`]) and of building a request ([`RequestError`]).

use std::fmt;

use serde::Serialize;

/// The stable, machine-readable code of a [`Problem`]: the same string in every language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Code {
    /// Not JSON; a wrong type; a missing required field; an unknown field.
    InvalidDocument,
    /// `version` is not `1`.
    UnsupportedVersion,
    /// Two objects of one kind share an id.
    DuplicateId,
    /// A policy name is empty or only whitespace.
    EmptyName,
    /// A policy description has more than 160 characters.
    DescriptionTooLong,
    /// A policy's connector is not in `connectors`.
    UnknownConnector,
    /// A tool selector names a tool its connector does not have.
    UnknownTool,
    /// A policy's `approval_flow` is not in `approval_flows`.
    UnknownApprovalFlow,
    /// A rule without conditions.
    InvalidTargeting,
    /// An unknown operator, missing or unusable values, or `ignore_case` where it has no meaning.
    InvalidCondition,
    /// A configured [`Limits`](crate::Limits) bound is exceeded.
    LimitExceeded,
    /// Warning: a policy or approval flow names a user absent from a non-empty `users` list.
    UnknownUser,
    /// Warning: a policy or approval flow names a group absent from a non-empty `groups` list.
    UnknownGroup,
    /// Warning: a policy's tool selector selects no tool.
    GovernsNothing,
    /// Warning: an approval flow has no steps, or a step names no users and no groups.
    FlowCannotApprove,
    /// A request the engine cannot decide on ([`RequestError`]); never a document problem.
    InvalidRequest,
    /// An edit of the administration API names a policy the document does not have.
    UnknownPolicy,
}

impl Code {
    /// The code as written in problem reports, e.g. `duplicate_id`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::InvalidDocument => "invalid_document",
            Code::UnsupportedVersion => "unsupported_version",
            Code::DuplicateId => "duplicate_id",
            Code::EmptyName => "empty_name",
            Code::DescriptionTooLong => "description_too_long",
            Code::UnknownConnector => "unknown_connector",
            Code::UnknownTool => "unknown_tool",
            Code::UnknownApprovalFlow => "unknown_approval_flow",
            Code::InvalidTargeting => "invalid_targeting",
            Code::InvalidCondition => "invalid_condition",
            Code::LimitExceeded => "limit_exceeded",
            Code::UnknownUser => "unknown_user",
            Code::UnknownGroup => "unknown_group",
            Code::GovernsNothing => "governs_nothing",
            Code::FlowCannotApprove => "flow_cannot_approve",
            Code::InvalidRequest => "invalid_request",
            Code::UnknownPolicy => "unknown_policy",
        }
    }

    /// Whether this code is a warning (loading goes on) rather than an error.
    pub const fn is_warning(self) -> bool {
        matches!(
            self,
            Code::UnknownUser | Code::UnknownGroup | Code::GovernsNothing | Code::FlowCannotApprove
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a document: an error or a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    code: Code,
    path: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
}

impl Problem {
    pub(crate) fn new(code: Code, path: String, message: String) -> Self {
        Problem {
            code,
            path,
            message,
            line: None,
            column: None,
        }
    }

    pub(crate) fn at_position(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// A JSON Pointer (RFC 6901) to the offending value in the document; `""` is the root.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, naming the offending value.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For a JSON syntax error, the 1-based line of the error.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// For a JSON syntax error, the 1-based column of the error.
    pub fn column(&self) -> Option<usize> {
        self.column
    }
}

impl fmt::Display for Problem {
    /// `invalid_condition at /policies/0/targeting/rules/0/conditions/1/values/0: ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "the root"
        } else {
            &self.path
        };
        write!(f, "{} at {}: {}", self.code, path, self.message)
    }
}

/// A document that does not load: every problem found, and the warnings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub struct LoadError {
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl LoadError {
    pub(crate) fn new(problems: Vec<Problem>, warnings: Vec<Problem>) -> Self {
        debug_assert!(!problems.is_empty());
        LoadError { problems, warnings }
    }

    /// Every error, in document order. Never empty.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Warnings found on the way (they alone would not stop loading).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The code of the first problem, for callers that want one code.
    pub fn code(&self) -> Code {
        self.problems
            .first()
            .map_or(Code::InvalidDocument, Problem::code)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid policy document ({n} problem{})",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// A request the engine cannot decide on: it is rejected, never turned into a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid request at {}: {message}", if path.is_empty() { "the root" } else { path })]
pub struct RequestError {
    path: String,
    message: String,
}

impl RequestError {
    /// An error at `path` (a JSON Pointer into the request, `""` for the whole request).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        RequestError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Always [`Code::InvalidRequest`] (`invalid_request`), typed like [`Problem::code`].
    pub fn code(&self) -> Code {
        Code::InvalidRequest
    }

    /// A JSON Pointer to the offending part of the request (`""` for the whole request).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// One JSON Pointer reference token, escaped.
pub(crate) fn pointer_token(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    escape_token(token, &mut out);
    out
}

/// Escapes one JSON Pointer reference token (RFC 6901: `~` → `~0`, `/` → `~1`).
pub(crate) fn escape_token(token: &str, out: &mut String) {
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_are_escaped() {
        let mut s = String::new();
        escape_token("a/b~c", &mut s);
        assert_eq!(s, "a~1b~0c");
    }

    #[test]
    fn warnings_are_told_apart() {
        assert!(Code::GovernsNothing.is_warning());
        assert!(!Code::DuplicateId.is_warning());
    }
}
