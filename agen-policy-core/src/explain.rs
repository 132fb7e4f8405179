//! Explanations: a decision with the reasons behind it, per policy of the request's connector.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::condition::Outcome;
use crate::decision::{Action, OwnedDecision, Reason};
use crate::json::brief_str;
use crate::model::{Operator, Policy};
use crate::request::Request;
use crate::set::{CompiledPolicy, PolicySet};

/// A decision and how it came about. Printable for people ([`fmt::Display`]) and serializable
/// as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The decision, exactly as [`PolicySet::evaluate`] makes it.
    pub decision: OwnedDecision,
    /// The request's user.
    pub user: String,
    /// Whether the user is in the document's directory.
    pub user_in_directory: bool,
    /// The user's effective groups: the directory's, then the request's.
    pub effective_groups: Vec<String>,
    /// The request's connector.
    pub connector: String,
    /// The request's tool.
    pub tool: String,
    /// Every policy of the request's connector, in id order.
    pub policies: Vec<PolicyTrace>,
}

/// How one policy bears on the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyTrace {
    /// The policy's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its action.
    pub action: Action,
    /// Whether its tool selector selects the requested tool.
    pub governs_tool: bool,
    /// Why the user is in its scope (`all users`, `user alice`, `group eng`), if they are.
    pub scope: Option<String>,
    /// Its rules, each with every condition's result; evaluated only for a candidate.
    pub rules: Vec<RuleTrace>,
    /// What it serves when no rule matches, if it has targeting.
    pub otherwise: Option<String>,
    /// What it served, if it was a candidate: an action's name, or `none` (it dropped out).
    pub served: Option<String>,
    /// Whether it is one of the decision's determining policies.
    pub determining: bool,
    /// For a served `step_up` or `request_approval`: the evidence that would satisfy it, and
    /// whether the request held it (SPEC §7.3).
    pub evidence: Option<EvidenceTrace>,
}

/// The evidence a served `step_up` or `request_approval` needs, and whether the request held it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceTrace {
    /// What would satisfy it, in words.
    pub needed: String,
    /// Whether the request's evidence satisfies it (the policy then counts as `allow`).
    pub held: bool,
    /// Why it held or did not, in words.
    pub because: String,
}

/// One rule of a targeting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleTrace {
    /// Whether every condition holds.
    pub matched: bool,
    /// Its conditions.
    pub conditions: Vec<ConditionTrace>,
}

/// One condition and its result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionTrace {
    /// The attribute name.
    pub attribute: String,
    /// The operator.
    pub operator: Operator,
    /// The condition's values.
    pub values: Vec<Value>,
    /// Whether the result is inverted.
    pub negate: bool,
    /// Whether strings compare ignoring case.
    pub ignore_case: bool,
    /// The attribute's value in this request, if it has one.
    pub actual: Option<Value>,
    /// The result.
    pub outcome: Outcome,
}

impl PolicySet {
    /// Explains the decision on a request: for each policy of the request's connector, whether
    /// it governs the tool, whether the user is in its scope, each rule's and condition's
    /// result, and what it served.
    pub fn explain(&self, request: &Request) -> Explanation {
        let decision = self.evaluate(request);
        let subject = self.subject(request);
        let located = self.locate(request.connector(), request.tool()).is_ok();
        // Once per explanation, not per policy: the cost stays linear in the policies listed.
        let groups = self.effective_groups(&subject);
        // Both in id order (byte order): the determining policies are found by binary search.
        let determining_ids: Vec<&str> = if decision.reason() == Reason::Policy {
            decision.policies().collect()
        } else {
            Vec::new()
        };
        let connector_policies = self.connector_policies(request.connector());
        let mut policies = Vec::with_capacity(connector_policies.len());
        for &pi in connector_policies {
            let Some(compiled) = self.policies.get(pi as usize) else {
                continue;
            };
            let Some(policy) = self.document().policies.get(compiled.source as usize) else {
                continue;
            };
            let governs_tool = located && policy.tools.selects(request.tool());
            let scope = scope_of(policy, request.user(), &groups);
            let candidate = governs_tool && scope.is_some();
            let mut rules = Vec::new();
            let mut served = None;
            if candidate {
                let mut any = false;
                if let (Some(compiled_rules), Some(targeting)) =
                    (&compiled.rules, &policy.targeting)
                {
                    for (rule, model) in compiled_rules.iter().zip(&targeting.rules) {
                        let conditions: Vec<ConditionTrace> =
                            crate::condition::in_document_order(rule, model)
                                .map(|(c, m)| ConditionTrace {
                                    attribute: m.attribute.to_string(),
                                    operator: m.operator,
                                    values: m.values.clone(),
                                    negate: m.negate,
                                    ignore_case: m.ignore_case,
                                    actual: self.actual(c.attribute, &subject, request),
                                    outcome: self.condition(c, &subject).0,
                                })
                                .collect();
                        let matched = conditions.iter().all(|c| c.outcome.holds());
                        any |= matched;
                        rules.push(RuleTrace {
                            matched,
                            conditions,
                        });
                    }
                }
                served = Some(
                    match (compiled.rules.is_none() || any, compiled.otherwise) {
                        (true, _) => compiled.action.as_str(),
                        (false, o) => o.as_str(),
                    },
                );
            }
            let evidence = match served {
                Some(a @ ("step_up" | "request_approval")) => {
                    Some(self.evidence_trace(compiled, a, request))
                }
                _ => None,
            };
            let determining = determining_ids.binary_search(&policy.id.as_ref()).is_ok();
            policies.push(PolicyTrace {
                id: policy.id.to_string(),
                name: policy.name.to_string(),
                action: policy.action,
                governs_tool,
                scope,
                rules,
                otherwise: policy
                    .targeting
                    .as_ref()
                    .filter(|t| !t.rules.is_empty())
                    .map(|t| t.otherwise.as_str().to_owned()),
                served: served.map(str::to_owned),
                determining,
                evidence,
            });
        }
        Explanation {
            decision: decision.to_owned_decision(),
            user: request.user().to_owned(),
            user_in_directory: self.in_directory(&subject),
            effective_groups: groups.into_iter().map(str::to_owned).collect(),
            connector: request.connector().to_owned(),
            tool: request.tool().to_owned(),
            policies,
        }
    }
}

impl PolicySet {
    fn evidence_trace(&self, p: &CompiledPolicy, served: &str, request: &Request) -> EvidenceTrace {
        let action = if served == "step_up" {
            Action::StepUp
        } else {
            Action::RequestApproval
        };
        let held = request
            .now()
            .is_some_and(|now| self.satisfies(p, action, &request.view(), now));
        let (needed, because) = match action {
            Action::StepUp => {
                let needed = match &p.step_up {
                    Some(r) if r.acr_values().is_empty() => format!(
                        "an authentication at most {} s old, of any class",
                        r.max_age()
                    ),
                    Some(r) => format!(
                        "an authentication at most {} s old, of class {}",
                        r.max_age(),
                        r.acr_values().join(" or ")
                    ),
                    None => "an authentication".to_owned(),
                };
                let because = match (request.now(), request.auth()) {
                    (None, _) => "the request has no `now`".to_owned(),
                    (Some(_), None) => "the request has no `auth`".to_owned(),
                    (Some(now), Some(auth)) => {
                        let age = i128::from(now) - i128::from(auth.time);
                        let class = auth.acr.as_deref().unwrap_or("none given");
                        format!("the authentication is {age} ms old, of class {class}")
                    }
                };
                (needed, because)
            }
            _ => {
                let flow = p.flow.and_then(|f| self.flows.get(f as usize));
                let needed = match flow {
                    Some(f) => format!(
                        "an unexpired grant of flow {f} for this user, connector and tool, \
                         bound to no arguments or to this request's"
                    ),
                    None => "nothing can: the policy names no approval flow".to_owned(),
                };
                let because = match (request.now(), request.grants().len()) {
                    (None, _) => "the request has no `now`".to_owned(),
                    (Some(_), 0) => "the request carries no grants".to_owned(),
                    (Some(_), n) if held => format!("one of the request's {n} grants matches"),
                    (Some(_), n) => format!("none of the request's {n} grants matches"),
                };
                (needed, because)
            }
        };
        EvidenceTrace {
            needed,
            held,
            because,
        }
    }
}

fn scope_of(policy: &Policy, user: &str, groups: &[&str]) -> Option<String> {
    if policy.scope.all_users {
        return Some("all users".to_owned());
    }
    if policy.scope.users.iter().any(|u| &**u == user) {
        return Some(format!("user {user}"));
    }
    policy
        .scope
        .groups
        .iter()
        .find(|g| groups.contains(&&***g))
        .map(|g| format!("group {g}"))
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "decision: {}", self.decision)?;
        write!(
            f,
            "request:  user {} ({}",
            self.user,
            if self.user_in_directory {
                "in the directory"
            } else {
                "not in the directory"
            }
        )?;
        if self.effective_groups.is_empty() {
            f.write_str("; no groups")?;
        } else {
            write!(f, "; groups {}", self.effective_groups.join(", "))?;
        }
        writeln!(f, ") calls {} / {}", self.connector, self.tool)?;
        let why = match self.decision.reason {
            Reason::UnknownConnector => Some("the connector is not in the document"),
            Reason::ConnectorDisabled => Some("the connector is disabled"),
            Reason::UnknownTool => Some("the connector has no such tool"),
            Reason::ToolDisabled => Some("the tool is disabled"),
            Reason::NoPolicy => {
                Some("no policy applies to this user and tool, so it is denied by default")
            }
            _ => None,
        };
        if let Some(why) = why {
            writeln!(f, "          {why}")?;
        }
        if self.policies.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "\npolicies of connector {} (* determines the decision, + applies, - does not apply):",
            self.connector
        )?;
        for p in &self.policies {
            writeln!(f)?;
            p.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for PolicyTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.determining {
            "*"
        } else if self.served.as_deref().is_some_and(|s| s != "none") {
            "+"
        } else {
            "-"
        };
        writeln!(
            f,
            "  {mark} {} [{}] {}",
            self.id,
            self.action,
            brief_str(&self.name)
        )?;
        if !self.governs_tool {
            return writeln!(f, "      does not govern this tool");
        }
        let Some(scope) = &self.scope else {
            return writeln!(f, "      governs this tool; the user is not in its scope");
        };
        writeln!(f, "      governs this tool; in scope as {scope}")?;
        for (i, rule) in self.rules.iter().enumerate() {
            writeln!(
                f,
                "      rule {}: {}",
                i + 1,
                if rule.matched {
                    "matches"
                } else {
                    "does not match"
                }
            )?;
            for c in &rule.conditions {
                c.fmt(f)?;
            }
        }
        if let (Some(otherwise), false) = (&self.otherwise, self.rules.iter().any(|r| r.matched)) {
            writeln!(f, "      no rule matches: otherwise {otherwise}")?;
        }
        if let Some(e) = &self.evidence {
            writeln!(
                f,
                "      evidence needed: {}; {}: {}",
                e.needed,
                if e.held { "held" } else { "not held" },
                e.because
            )?;
        }
        match self.served.as_deref() {
            Some("none") => writeln!(f, "      serves none: it does not apply")?,
            Some(a) => writeln!(
                f,
                "      serves {a}{}",
                if self.determining {
                    "  (determining)"
                } else {
                    ""
                }
            )?,
            None => {}
        }
        Ok(())
    }
}

impl fmt::Display for ConditionTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "        {}: {}{} {}",
            self.outcome.as_str(),
            self.attribute,
            if self.negate { " not" } else { "" },
            self.operator
        )?;
        if !self.values.is_empty() {
            let values: Vec<String> = self.values.iter().map(|v| v.to_string()).collect();
            write!(f, " [{}]", values.join(", "))?;
        }
        if self.ignore_case {
            f.write_str(" ignoring case")?;
        }
        match &self.actual {
            Some(v) => {
                let mut shown = v.to_string();
                if shown.chars().count() > 80 {
                    shown = shown.chars().take(80).collect::<String>() + "…";
                }
                writeln!(f, "  (value {shown})")
            }
            None => writeln!(f, "  (attribute missing)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Outcome, PolicySet, Request};

    /// Rules run their cheapest conditions first; explanations still list them as written.
    #[test]
    fn conditions_are_explained_in_document_order() {
        let set = PolicySet::from_json(
            r#"{"connectors": [{"id": "c", "tools": [{"name": "t"}]}],
                "policies": [{"id": "p", "name": "P", "connector": "c", "action": "allow",
                  "all_users": true, "tools": ["t"],
                  "targeting": {"rules": [{"conditions": [
                    {"attribute": "agent", "operator": "regex", "values": ["^C"]},
                    {"attribute": "risk", "operator": "lt", "values": [5]},
                    {"attribute": "mfa", "operator": "exists"}]}]}}]}"#,
        )
        .expect("loads");
        let request = Request::builder("u", "c", "t")
            .context("agent", "Claude")
            .context("risk", 9)
            .build()
            .expect("valid");
        let explanation = set.explain(&request);
        let rule = &explanation.policies[0].rules[0];
        let attributes: Vec<&str> = rule.conditions.iter().map(|c| &*c.attribute).collect();
        assert_eq!(attributes, ["agent", "risk", "mfa"]);
        let outcomes: Vec<Outcome> = rule.conditions.iter().map(|c| c.outcome).collect();
        assert_eq!(outcomes, [Outcome::True, Outcome::False, Outcome::False]);
    }
}
