//! A policy: its name, scope, action, approval flow and tool selector.

use super::*;

impl<'l> Checker<'l> {
    pub(super) fn policy<'j>(
        &mut self,
        json: &'j Json<'j>,
        path: &Path<'_>,
        seen: &mut FxHashSet<&'j str>,
        connectors: &FxHashMap<&str, ConnectorRef<'_>>,
        directory: &Directory<'_>,
    ) -> Option<(Policy, CompiledRules)> {
        const WHAT: &str = "a policy";
        let obj = self.object(json, path, WHAT, POLICY_FIELDS)?;

        let id = self
            .required(&obj, "id", path, WHAT)
            .and_then(|v| self.id(v, &path.key("id"), "a policy id"));
        if let Some(id) = id {
            self.unique(seen, id, &path.key("id"), "policy");
        }

        let name = self
            .required(&obj, "name", path, WHAT)
            .and_then(|v| self.text(v, &path.key("name"), "a policy name"));
        if let Some(n) = name {
            if n.trim().is_empty() {
                self.error(
                    Code::EmptyName,
                    &path.key("name"),
                    format!("policy name {} has no visible character", brief_str(n)),
                );
            }
        }

        let description = self
            .optional_text(&obj, "description", path, "a policy description")
            .unwrap_or_default();
        let chars = description.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            self.error(
                Code::DescriptionTooLong,
                &path.key("description"),
                format!(
                    "description {} has {chars} characters, more than {MAX_DESCRIPTION_CHARS}",
                    brief_str(description)
                ),
            );
        }

        let connector_id = self
            .required(&obj, "connector", path, WHAT)
            .and_then(|v| self.id(v, &path.key("connector"), "a policy's connector"));
        let connector = connector_id.and_then(|c| {
            let found = connectors.get(c);
            if found.is_none() {
                self.error(
                    Code::UnknownConnector,
                    &path.key("connector"),
                    format!("unknown connector `{c}`"),
                );
            }
            found
        });

        let action = self.required(&obj, "action", path, WHAT).and_then(|v| {
            let p = path.key("action");
            let name = self.text(v, &p, "`action`")?;
            let action = Action::parse(name);
            if action.is_none() {
                self.invalid(
                    &p,
                    format!(
                        "unknown action {}, expected allow, step_up, request_approval or deny",
                        brief_str(name)
                    ),
                );
            }
            action
        });

        let all_users = self.boolean(&obj, "all_users", path, false);
        let users = self.id_list(&obj, "users", path, "a user id");
        let groups = self.id_list(&obj, "groups", path, "a group id");
        for (j, u) in &users {
            self.check_known(directory, Kind::User, u, &path.key("users").index(*j));
        }
        for (j, g) in &groups {
            self.check_known(directory, Kind::Group, g, &path.key("groups").index(*j));
        }

        let checkable = connector.filter(|c| c.complete);
        let tools = self
            .required(&obj, "tools", path, WHAT)
            .and_then(|v| self.selector(v, &path.key("tools"), connector_id.zip(checkable)));

        let targeting = match obj.get("targeting") {
            None => Some(None),
            Some(v) => self.targeting(v, &path.key("targeting")).map(Some),
        };

        let approval_flow = match obj.get("approval_flow") {
            None | Some(Json::Null) => None,
            Some(v) => {
                let p = path.key("approval_flow");
                let flow = self.id(v, &p, "`approval_flow`");
                if let Some(f) = flow {
                    if !directory.flows.contains(f) {
                        self.error(
                            Code::UnknownApprovalFlow,
                            &p,
                            format!("unknown approval flow `{f}`"),
                        );
                    }
                }
                flow
            }
        };

        let step_up = match obj.get("step_up") {
            None => Some(None),
            Some(v) => self.step_up(v, &path.key("step_up")).map(Some),
        };

        let (targeting, compiled) = targeting?.map_or((None, None), |(t, c)| (Some(t), c));
        Some((
            Policy {
                id: id?.into(),
                name: name?.into(),
                description: description.into(),
                connector: connector_id?.into(),
                action: action?,
                scope: Scope {
                    all_users,
                    users: users.into_iter().map(|(_, u)| Box::from(u)).collect(),
                    groups: groups.into_iter().map(|(_, g)| Box::from(g)).collect(),
                },
                tools: tools?,
                targeting,
                approval_flow: approval_flow.map(Box::from),
                step_up: step_up?,
            },
            compiled,
        ))
    }

    pub(super) fn selector(
        &mut self,
        json: &Json<'_>,
        path: &Path<'_>,
        connector: Option<(&str, &ConnectorRef<'_>)>,
    ) -> Option<ToolSelector> {
        let mut selector = ToolSelector {
            all: false,
            include: Vec::new(),
            exclude: Vec::new(),
        };
        let mut ok = true;
        match json {
            Json::String(s) if s == "all" => selector.all = true,
            Json::Array(items) => {
                selector.include = self.tool_names(items, path, connector, &mut ok);
            }
            Json::Object(_) => {
                let obj = self.object(json, path, "a tool selector", SELECTOR_FIELDS)?;
                selector.all = self.boolean(&obj, "all", path, false);
                for (field, list) in [
                    ("include", &mut selector.include),
                    ("exclude", &mut selector.exclude),
                ] {
                    if let Some(v) = obj.get(field) {
                        let p = path.key(field);
                        match self.array(v, &p, &format!("`{field}`")) {
                            Some(items) => *list = self.tool_names(items, &p, connector, &mut ok),
                            None => ok = false,
                        }
                    }
                }
            }
            other => {
                self.invalid(
                    path,
                    format!(
                        "`tools` must be \"all\", a list of tool names or an object, not {}",
                        other.brief()
                    ),
                );
                return None;
            }
        }
        if let Some((id, c)) = connector {
            if ok && !c.tool_order.iter().any(|t| selector.selects(t)) {
                self.warn(
                    Code::GovernsNothing,
                    path,
                    format!("this selector selects no tool of connector `{id}`"),
                );
            }
        }
        Some(selector)
    }

    pub(super) fn tool_names(
        &mut self,
        items: &[Json<'_>],
        path: &Path<'_>,
        connector: Option<(&str, &ConnectorRef<'_>)>,
        ok: &mut bool,
    ) -> Vec<Box<str>> {
        let mut names = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let p = path.index(i);
            let Some(name) = self.id(item, &p, "a tool name") else {
                *ok = false;
                continue;
            };
            if let Some((id, c)) = connector {
                if !c.tools.contains(name) {
                    *ok = false;
                    self.error(
                        Code::UnknownTool,
                        &p,
                        format!("unknown tool `{name}` in connector `{id}`"),
                    );
                }
            }
            names.push(Box::from(name));
        }
        names
    }
}
