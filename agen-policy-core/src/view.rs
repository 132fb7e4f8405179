//! [`RequestView`]: a request that borrows its strings and reads its context in place.

use crate::context::Context;
use crate::error::RequestError;
use crate::evidence::{Auth, Evidence, Grant, Millis};
use crate::limits::Limits;
use crate::request::Request;

/// A request that borrows what it is made of: the ids and groups as the host holds them, the
/// context behind the [`Context`] trait. [`PolicySet::evaluate_view`](crate::PolicySet::evaluate_view)
/// decides on it, reading only the attributes some candidate's conditions read.
///
/// What is checked when: [`RequestView::new`] and [`RequestView::groups`] check the ids and
/// groups (non-empty, within the request's string limit), as [`Request`] does. The context is
/// checked where it is read: a value the host cannot express as JSON, a value nested deeper
/// than [`Limits::max_context_depth`], or strings read beyond what is left of
/// [`Limits::max_request_string_bytes`] make the evaluation return `invalid_request` at that
/// place instead of a decision. Values no condition reads are not converted, so not checked;
/// a host that wants the whole context checked builds a [`Request`].
///
/// ```
/// use agen_policy_core::{Action, PolicySet, RequestView};
/// use serde_json::json;
///
/// let set = PolicySet::from_json(r#"{
///   "connectors": [{ "id": "github", "tools": [{ "name": "delete_repository" }] }],
///   "policies": [{ "id": "p", "name": "Only from the CLI", "connector": "github",
///                  "action": "allow", "all_users": true, "tools": ["delete_repository"],
///                  "targeting": { "rules": [{ "conditions": [{ "attribute": "agent.type",
///                      "operator": "equals", "values": ["CLI"] }] }] } }]
/// }"#)?;
/// let context = json!({ "agent": { "type": "CLI" } });
/// let context = context.as_object().expect("an object");
/// let view = RequestView::new("alice", "github", "delete_repository")?.context(context);
/// assert_eq!(set.evaluate_view(&view)?.action(), Action::Allow);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct RequestView<'a> {
    pub(crate) user: &'a str,
    pub(crate) connector: &'a str,
    pub(crate) tool: &'a str,
    pub(crate) groups: Groups<'a>,
    pub(crate) context: Option<&'a dyn Context>,
    pub(crate) evidence: Option<&'a Evidence>,
    /// Bytes of strings the context may still supply, and the limit in all.
    pub(crate) string_bytes_left: usize,
    pub(crate) string_bytes_max: usize,
    /// Whether a top-level context key may contain a dot.
    pub(crate) dotted_keys: bool,
    pub(crate) max_context_depth: usize,
}

/// A request's group claims, as the host holds them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Groups<'a> {
    Owned(&'a [String]),
    Borrowed(&'a [&'a str]),
}

impl<'a> Groups<'a> {
    pub(crate) fn iter(self) -> impl Iterator<Item = &'a str> {
        let (owned, borrowed) = match self {
            Groups::Owned(g) => (g, &[][..]),
            Groups::Borrowed(g) => (&[][..], g),
        };
        owned
            .iter()
            .map(String::as_str)
            .chain(borrowed.iter().copied())
    }
}

impl std::fmt::Debug for RequestView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestView")
            .field("user", &self.user)
            .field("connector", &self.connector)
            .field("tool", &self.tool)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl<'a> RequestView<'a> {
    /// A view of a request for `user` to call `tool` of `connector`, under the default
    /// [`Limits`]: the three must be non-empty.
    pub fn new(user: &'a str, connector: &'a str, tool: &'a str) -> Result<Self, RequestError> {
        RequestView::with_limits(user, connector, tool, &Limits::default())
    }

    /// A view under `limits`.
    pub fn with_limits(
        user: &'a str,
        connector: &'a str,
        tool: &'a str,
        limits: &Limits,
    ) -> Result<Self, RequestError> {
        for (path, s) in [("/user", user), ("/connector", connector), ("/tool", tool)] {
            if s.is_empty() {
                return Err(RequestError::new(path, "must be a non-empty string"));
            }
        }
        let view = RequestView {
            user,
            connector,
            tool,
            groups: Groups::Borrowed(&[]),
            context: None,
            evidence: None,
            string_bytes_left: limits.max_request_string_bytes,
            string_bytes_max: limits.max_request_string_bytes,
            dotted_keys: false,
            max_context_depth: limits.max_context_depth,
        };
        view.spend(user.len() + connector.len() + tool.len())
    }

    /// The caller's group claims; each must be non-empty.
    pub fn groups(mut self, groups: &'a [&'a str]) -> Result<Self, RequestError> {
        for (i, g) in groups.iter().enumerate() {
            if g.is_empty() {
                return Err(RequestError::new(
                    format!("/groups/{i}"),
                    "must be a non-empty string",
                ));
            }
        }
        let bytes = groups.iter().map(|g| g.len()).sum();
        self.groups = Groups::Borrowed(groups);
        self.spend(bytes)
    }

    /// The context the targeting's attributes are read from.
    #[must_use]
    pub fn context(mut self, context: &'a dyn Context) -> Self {
        self.context = Some(context);
        self.dotted_keys = context.may_have_dotted_keys();
        self
    }

    fn spend(mut self, bytes: usize) -> Result<Self, RequestError> {
        self.string_bytes_left = self
            .string_bytes_left
            .checked_sub(bytes)
            .ok_or_else(|| string_limit(self.string_bytes_max))?;
        Ok(self)
    }

    /// The user's id.
    pub fn user(&self) -> &'a str {
        self.user
    }

    /// The connector's id.
    pub fn connector(&self) -> &'a str {
        self.connector
    }

    /// The tool's name.
    pub fn tool(&self) -> &'a str {
        self.tool
    }

    pub(crate) fn now(&self) -> Option<Millis> {
        self.evidence.and_then(|e| e.now)
    }

    pub(crate) fn auth(&self) -> Option<&'a Auth> {
        self.evidence.and_then(|e| e.auth.as_ref())
    }

    pub(crate) fn grants(&self) -> &'a [Grant] {
        self.evidence
            .and_then(|e| e.grants.as_deref())
            .unwrap_or_default()
    }

    pub(crate) fn arguments(&self) -> Option<&'a str> {
        self.evidence.and_then(|e| e.arguments.as_deref())
    }
}

/// The error for strings beyond the request's limit of `max` bytes.
pub(crate) fn string_limit(max: usize) -> RequestError {
    RequestError::new(
        "",
        format!("the request's strings exceed the limit of {max} bytes in all"),
    )
}

impl Request {
    /// This request as a view (checked already, so its evaluation cannot fail).
    pub fn view(&self) -> RequestView<'_> {
        RequestView {
            user: self.user(),
            connector: self.connector(),
            tool: self.tool(),
            groups: Groups::Owned(self.groups()),
            context: Some(self.context()),
            evidence: self.evidence(),
            string_bytes_left: usize::MAX,
            string_bytes_max: usize::MAX,
            dotted_keys: self.has_dotted_keys(),
            max_context_depth: usize::MAX,
        }
    }
}
