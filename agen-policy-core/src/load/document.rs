//! The document: its version, connectors and tools, directory (groups and users) and approval
//! flows, and the step-up freshness it and its policies carry.

use super::*;

impl<'l> Checker<'l> {
    /// The document without its policies, and each policy with its compiled rules.
    pub(super) fn document(&mut self, json: &Json<'_>) -> Option<(Document, Vec<LoadedPolicy>)> {
        let root = Path::Root;
        let obj = self.object(json, &root, "the document", DOCUMENT_FIELDS)?;

        if let Some(v) = obj.get("version") {
            let path = root.key("version");
            match v {
                Json::Number(n) if n.as_u64() == Some(1) => {}
                Json::Null => {
                    self.invalid(&path, "`version` must be the integer 1, not null".into())
                }
                other => {
                    self.error(
                        Code::UnsupportedVersion,
                        &path,
                        format!(
                            "unsupported version {}, this engine reads version 1",
                            other.brief()
                        ),
                    );
                    // The rest is in a format this engine does not know: its problems would be noise.
                    return None;
                }
            }
        }

        let step_up = obj
            .get("step_up")
            .and_then(|v| self.step_up(v, &root.key("step_up")));

        let connectors_json = self.required(&obj, "connectors", &root, "the document");
        let mut connectors = Vec::new();
        let mut connector_refs: FxHashMap<&str, ConnectorRef<'_>> = FxHashMap::default();
        if let Some(v) = connectors_json {
            let path = root.key("connectors");
            let mut seen = FxHashSet::default();
            for (i, item) in self
                .array(v, &path, "`connectors`")
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if let Some((c, r)) = self.connector(item, &path.index(i), &mut seen) {
                    connector_refs.entry(r.0).or_insert(r.1);
                    connectors.push(c);
                }
            }
        }

        let groups = self.list(&obj, "groups", &root, Self::group);
        let users = self.list(&obj, "users", &root, Self::user);
        let flows = self.list(&obj, "approval_flows", &root, Self::flow);

        let directory = Directory {
            users: users.iter().map(|u| u.id.as_ref()).collect(),
            groups: groups.iter().map(|g| g.id.as_ref()).collect(),
            flows: flows.iter().map(|f| f.id.as_ref()).collect(),
        };
        self.flow_members(&obj, &root, &directory);

        let mut policies = Vec::new();
        if let Some(v) = obj.get("policies") {
            let path = root.key("policies");
            if let Some(items) = self.array(v, &path, "`policies`") {
                policies.reserve_exact(items.len().min(self.limits.max_policies));
                if items.len() > self.limits.max_policies {
                    self.error(
                        Code::LimitExceeded,
                        &path,
                        format!(
                            "{} policies, more than the limit of {}",
                            items.len(),
                            self.limits.max_policies
                        ),
                    );
                } else {
                    let mut seen = FxHashSet::default();
                    for (i, item) in items.iter().enumerate() {
                        let p = path.index(i);
                        if let Some((model, rules)) =
                            self.policy(item, &p, &mut seen, &connector_refs, &directory)
                        {
                            policies.push(LoadedPolicy { model, rules });
                        }
                    }
                }
            }
        }

        Some((
            Document {
                version: 1,
                step_up,
                connectors,
                groups,
                users,
                approval_flows: flows,
                policies: Vec::new(),
            },
            policies,
        ))
    }

    /// An optional top-level list of objects with unique ids.
    pub(super) fn list<'j, T>(
        &mut self,
        obj: &Obj<'j>,
        name: &'static str,
        root: &Path<'_>,
        item: fn(&mut Self, &'j Json<'j>, &Path<'_>) -> Option<T>,
    ) -> Vec<T>
    where
        T: HasId,
    {
        let Some(v) = obj.get(name) else {
            return Vec::new();
        };
        let path = root.key(name);
        let Some(items) = self.array(v, &path, &format!("`{name}`")) else {
            return Vec::new();
        };
        let mut out: Vec<T> = Vec::with_capacity(items.len());
        let mut seen: FxHashSet<String> = FxHashSet::default();
        for (i, json) in items.iter().enumerate() {
            let p = path.index(i);
            if let Some(t) = item(self, json, &p) {
                if !seen.insert(t.id().to_owned()) {
                    self.error(
                        Code::DuplicateId,
                        &p.key("id"),
                        format!("{} `{}` is defined more than once", T::WHAT, t.id()),
                    );
                }
                out.push(t);
            }
        }
        out
    }

    pub(super) fn connector<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        seen: &mut FxHashSet<&'j str>,
    ) -> Option<(Connector, (&'j str, ConnectorRef<'j>))> {
        let obj = self.object(json, path, "a connector", CONNECTOR_FIELDS)?;
        let id = self
            .required(&obj, "id", path, "a connector")
            .and_then(|v| self.id(v, &path.key("id"), "a connector id"));
        let name = self.optional_id(&obj, "name", path, "a connector name");
        let enabled = self.boolean(&obj, "enabled", path, true);
        let mut tools = Vec::new();
        let mut reference = ConnectorRef {
            tools: FxHashSet::default(),
            tool_order: Vec::new(),
            complete: false,
        };
        if let Some(v) = self.required(&obj, "tools", path, "a connector") {
            let tools_path = path.key("tools");
            if let Some(items) = self.array(v, &tools_path, "`tools`") {
                if items.len() > self.limits.max_tools_per_connector {
                    self.error(
                        Code::LimitExceeded,
                        &tools_path,
                        format!(
                            "{} tools, more than the limit of {} per connector",
                            items.len(),
                            self.limits.max_tools_per_connector
                        ),
                    );
                } else {
                    reference.complete = true;
                    for (i, item) in items.iter().enumerate() {
                        let p = tools_path.index(i);
                        let Some((tool, name)) = self.tool(item, &p) else {
                            reference.complete = false;
                            continue;
                        };
                        {
                            if reference.tools.insert(name) {
                                reference.tool_order.push(name);
                            } else {
                                self.error(
                                    Code::DuplicateId,
                                    &p.key("name"),
                                    format!(
                                        "tool `{name}` is defined more than once in this connector"
                                    ),
                                );
                            }
                            tools.push(tool);
                        }
                    }
                }
            }
        }
        let id = id?;
        self.unique(seen, id, &path.key("id"), "connector");
        Some((
            Connector {
                id: id.into(),
                name: name.unwrap_or(id).into(),
                enabled,
                tools,
            },
            (id, reference),
        ))
    }

    pub(super) fn tool<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
    ) -> Option<(Tool, &'j str)> {
        let obj = self.object(json, path, "a tool", TOOL_FIELDS)?;
        let name = self
            .required(&obj, "name", path, "a tool")
            .and_then(|v| self.id(v, &path.key("name"), "a tool name"));
        let title = self.optional_text(&obj, "title", path, "a tool title");
        let description = self.optional_text(&obj, "description", path, "a tool description");
        let enabled = self.boolean(&obj, "enabled", path, true);
        let name = name?;
        Some((
            Tool {
                name: name.into(),
                title: title.map(Box::from),
                description: description.map(Box::from),
                enabled,
            },
            name,
        ))
    }

    pub(super) fn group(&mut self, json: &Json<'_>, path: &Path<'_>) -> Option<Group> {
        let obj = self.object(json, path, "a group", GROUP_FIELDS)?;
        let id = self
            .required(&obj, "id", path, "a group")
            .and_then(|v| self.id(v, &path.key("id"), "a group id"));
        let name = self.optional_id(&obj, "name", path, "a group name");
        let description = self.optional_text(&obj, "description", path, "a group description");
        Some(Group {
            id: id?.into(),
            name: name.map(Box::from),
            description: description.map(Box::from),
        })
    }

    pub(super) fn user(&mut self, json: &Json<'_>, path: &Path<'_>) -> Option<User> {
        let obj = self.object(json, path, "a user", USER_FIELDS)?;
        let id = self
            .required(&obj, "id", path, "a user")
            .and_then(|v| self.id(v, &path.key("id"), "a user id"));
        let name = self.optional_id(&obj, "name", path, "a user name");
        let email = self.optional_text(&obj, "email", path, "a user email");
        let groups = self.id_list(&obj, "groups", path, "a group id");
        Some(User {
            id: id?.into(),
            name: name.map(Box::from),
            email: email.map(Box::from),
            groups: groups.into_iter().map(|(_, g)| Box::from(g)).collect(),
        })
    }

    pub(super) fn flow(&mut self, json: &Json<'_>, path: &Path<'_>) -> Option<ApprovalFlow> {
        let obj = self.object(json, path, "an approval flow", FLOW_FIELDS)?;
        let id = self
            .required(&obj, "id", path, "an approval flow")
            .and_then(|v| self.id(v, &path.key("id"), "an approval flow id"));
        let name = self.optional_id(&obj, "name", path, "an approval flow name");
        let mut steps = Vec::new();
        if let Some(v) = self.required(&obj, "steps", path, "an approval flow") {
            let steps_path = path.key("steps");
            for (i, item) in self
                .array(v, &steps_path, "`steps`")
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let p = steps_path.index(i);
                let Some(step) = self.object(item, &p, "an approval step", STEP_FIELDS) else {
                    continue;
                };
                let users = self.id_list(&step, "users", &p, "a user id");
                let groups = self.id_list(&step, "groups", &p, "a group id");
                let min_approvals = match step.get("min_approvals") {
                    None => 1,
                    Some(Json::Number(n)) if n.as_u64().is_some_and(|m| m >= 1) => {
                        n.as_u64().unwrap_or(1)
                    }
                    Some(other) => {
                        self.invalid(
                            &p.key("min_approvals"),
                            format!(
                                "`min_approvals` must be an integer of at least 1, not {}",
                                other.brief()
                            ),
                        );
                        1
                    }
                };
                steps.push(ApprovalStep {
                    users: users.into_iter().map(|(_, u)| Box::from(u)).collect(),
                    groups: groups.into_iter().map(|(_, g)| Box::from(g)).collect(),
                    min_approvals,
                });
            }
        }
        let grant_ttl = match obj.get("grant_ttl") {
            None => Some(3600),
            Some(v) => self.seconds(v, &path.key("grant_ttl"), "`grant_ttl`", 1),
        };
        let timeout = match obj.get("timeout") {
            None | Some(Json::Null) => Some(None),
            Some(v) => self
                .seconds(v, &path.key("timeout"), "`timeout`", 1)
                .map(Some),
        };
        let allow_self_approval = self.boolean(&obj, "allow_self_approval", path, false);
        let bind_arguments = self.boolean(&obj, "bind_arguments", path, true);
        let flow = ApprovalFlow {
            id: id?.into(),
            name: name.map(Box::from),
            steps,
            grant_ttl: grant_ttl?,
            timeout: timeout?,
            allow_self_approval,
            bind_arguments,
        };
        if flow.steps.is_empty() {
            self.warn(
                Code::FlowCannotApprove,
                path,
                format!(
                    "approval flow `{}` has no steps: it can never approve",
                    flow.id
                ),
            );
        }
        for (i, step) in flow.steps.iter().enumerate() {
            if step.users.is_empty() && step.groups.is_empty() {
                self.warn(
                    Code::FlowCannotApprove,
                    &path.key("steps").index(i),
                    format!(
                        "step {i} of approval flow `{}` names no users and no groups: \
                         the flow can never approve",
                        flow.id
                    ),
                );
            }
        }
        Some(flow)
    }

    /// A `step_up` freshness object (SPEC §7.1), on the document or on a policy.
    pub(super) fn step_up(&mut self, json: &Json<'_>, path: &Path<'_>) -> Option<StepUp> {
        let obj = self.object(json, path, "`step_up`", STEP_UP_FIELDS)?;
        let mut ok = true;
        let max_age = match obj.get("max_age") {
            None => None,
            Some(v) => {
                let seconds = self.seconds(v, &path.key("max_age"), "`max_age`", 0);
                ok &= seconds.is_some();
                seconds
            }
        };
        let acr_values = match obj.get("acr_values") {
            None => None,
            Some(v) => {
                let list_path = path.key("acr_values");
                match self.array(v, &list_path, "`acr_values`") {
                    None => {
                        ok = false;
                        None
                    }
                    Some(items) => {
                        let mut values: Vec<Box<str>> = Vec::with_capacity(items.len());
                        for (i, item) in items.iter().enumerate() {
                            let p = list_path.index(i);
                            match self.id(item, &p, "an `acr_values` entry") {
                                None => ok = false,
                                Some(acr) if values.iter().any(|v| &**v == acr) => {
                                    ok = false;
                                    self.invalid(
                                        &p,
                                        format!("`acr_values` lists `{acr}` more than once"),
                                    );
                                }
                                Some(acr) => values.push(acr.into()),
                            }
                        }
                        Some(values)
                    }
                }
            }
        };
        ok.then_some(StepUp {
            max_age,
            acr_values,
        })
    }

    /// Warns about approvers absent from the directory.
    pub(super) fn flow_members(
        &mut self,
        obj: &Obj<'_>,
        root: &Path<'_>,
        directory: &Directory<'_>,
    ) {
        let Some(Json::Array(flows)) = obj.get("approval_flows") else {
            return;
        };
        let flows_path = root.key("approval_flows");
        for (i, flow) in flows.iter().enumerate() {
            let Json::Object(_) = flow else { continue };
            let flow_path = flows_path.index(i);
            let Some(Json::Array(steps)) = member(flow, "steps") else {
                continue;
            };
            let steps_path = flow_path.key("steps");
            for (k, step) in steps.iter().enumerate() {
                let step_path = steps_path.index(k);
                for (field, kind) in [("users", Kind::User), ("groups", Kind::Group)] {
                    if let Some(Json::Array(ids)) = member(step, field) {
                        let list_path = step_path.key(field);
                        for (j, id) in ids.iter().enumerate() {
                            if let Json::String(id) = id {
                                self.check_known(directory, kind, id, &list_path.index(j));
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn check_known(
        &mut self,
        directory: &Directory<'_>,
        kind: Kind,
        id: &str,
        path: &Path<'_>,
    ) {
        let (known, code, what, list) = match kind {
            Kind::User => (&directory.users, Code::UnknownUser, "user", "users"),
            Kind::Group => (&directory.groups, Code::UnknownGroup, "group", "groups"),
        };
        if !known.is_empty() && !known.contains(id) {
            self.warn(
                code,
                path,
                format!("{what} `{id}` is not in the document's `{list}`"),
            );
        }
    }
}

/// Things listed with unique ids at the top of a document.
pub(super) trait HasId {
    const WHAT: &'static str;
    fn id(&self) -> &str;
}

impl HasId for Group {
    const WHAT: &'static str = "group";
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for User {
    const WHAT: &'static str = "user";
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for ApprovalFlow {
    const WHAT: &'static str = "approval flow";
    fn id(&self) -> &str {
        &self.id
    }
}

/// The ids the directory declares, for reference checks.
pub(super) struct Directory<'d> {
    pub(super) users: FxHashSet<&'d str>,
    pub(super) groups: FxHashSet<&'d str>,
    pub(super) flows: FxHashSet<&'d str>,
}

#[derive(Clone, Copy)]
pub(super) enum Kind {
    User,
    Group,
}
