//! Targeting: rules of conditions, each compiled into the form its operator compares.

use super::*;

impl<'l> Checker<'l> {
    pub(super) fn targeting(
        &mut self,
        json: &Json<'_>,
        path: &Path<'_>,
    ) -> Option<(Targeting, CompiledRules)> {
        let obj = self.object(json, path, "a targeting", TARGETING_FIELDS)?;
        let otherwise = match obj.get("otherwise") {
            None => Some(Otherwise::Serve(Action::Deny)),
            Some(v) => {
                let p = path.key("otherwise");
                self.text(v, &p, "`otherwise`").and_then(|s| {
                    let o = Otherwise::parse(s);
                    if o.is_none() {
                        self.invalid(
                            &p,
                            format!(
                                "unknown otherwise {}, expected allow, step_up, request_approval, deny or none",
                                brief_str(s)
                            ),
                        );
                    }
                    o
                })
            }
        };
        let rules_json = self.required(&obj, "rules", path, "a targeting")?;
        let rules_path = path.key("rules");
        let items = self.array(rules_json, &rules_path, "`rules`")?;
        if items.len() > self.limits.max_rules {
            self.error(
                Code::LimitExceeded,
                &rules_path,
                format!(
                    "{} rules, more than the limit of {}",
                    items.len(),
                    self.limits.max_rules
                ),
            );
            return None;
        }
        let mut rules = Vec::with_capacity(items.len());
        let mut compiled = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.rule(item, &rules_path.index(i)) {
                Some((r, c)) => {
                    rules.push(r);
                    compiled.push(c);
                }
                None => ok = false,
            }
        }
        let otherwise = otherwise?;
        if !ok {
            return None;
        }
        let compiled = (!compiled.is_empty()).then(|| compiled.into_boxed_slice());
        Some((Targeting { rules, otherwise }, compiled))
    }

    pub(super) fn rule(
        &mut self,
        json: &Json<'_>,
        path: &Path<'_>,
    ) -> Option<(Rule, Box<[CompiledCondition]>)> {
        let obj = self.object(json, path, "a rule", RULE_FIELDS)?;
        let v = self.required(&obj, "conditions", path, "a rule")?;
        let p = path.key("conditions");
        let items = self.array(v, &p, "`conditions`")?;
        if items.is_empty() {
            self.error(
                Code::InvalidTargeting,
                &p,
                "a rule needs at least one condition".into(),
            );
            return None;
        }
        if items.len() > self.limits.max_conditions {
            self.error(
                Code::LimitExceeded,
                &p,
                format!(
                    "{} conditions, more than the limit of {} per rule",
                    items.len(),
                    self.limits.max_conditions
                ),
            );
            return None;
        }
        let mut conditions = Vec::with_capacity(items.len());
        let mut compiled = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.condition(item, &p.index(i)) {
                Some((c, cc)) => {
                    conditions.push(c);
                    compiled.push(cc);
                }
                None => ok = false,
            }
        }
        // Conditions are ANDed and pure, so the order they run in changes no outcome: the
        // cheapest run first, so that a failing rule costs as little as it can.
        for (i, c) in compiled.iter_mut().enumerate() {
            c.position = u32::try_from(i).unwrap_or(u32::MAX);
        }
        compiled.sort_by_key(CompiledCondition::cost);
        ok.then(|| (Rule { conditions }, compiled.into_boxed_slice()))
    }

    pub(super) fn condition(
        &mut self,
        json: &Json<'_>,
        path: &Path<'_>,
    ) -> Option<(Condition, CompiledCondition)> {
        const WHAT: &str = "a condition";
        let obj = self.object(json, path, WHAT, CONDITION_FIELDS)?;
        let attribute = self.required(&obj, "attribute", path, WHAT).and_then(|v| {
            let p = path.key("attribute");
            let name = self.id(v, &p, "`attribute`")?;
            let segments = name.split('.').count();
            if segments > self.limits.max_attribute_segments {
                self.error(
                    Code::LimitExceeded,
                    &p,
                    format!(
                        "attribute {} has {segments} segments, more than the limit of {}",
                        brief_str(name),
                        self.limits.max_attribute_segments
                    ),
                );
                return None;
            }
            Some(name)
        });
        let operator = self.required(&obj, "operator", path, WHAT).and_then(|v| {
            let p = path.key("operator");
            let name = self.text(v, &p, "`operator`")?;
            let op = Operator::parse(name);
            if op.is_none() {
                self.error(
                    Code::InvalidCondition,
                    &p,
                    format!(
                        "unknown operator {}, expected one of {}",
                        brief_str(name),
                        Operator::ALL.map(Operator::as_str).join(", ")
                    ),
                );
            }
            op
        });
        let negate = self.boolean(&obj, "negate", path, false);
        let ignore_case = self.boolean(&obj, "ignore_case", path, false);
        let values_path = path.key("values");
        let values: Option<&[Json<'_>]> = match obj.get("values") {
            None => Some(&[]),
            Some(v) => self.array(v, &values_path, "`values`"),
        };

        let op = operator?;
        let mut ok = true;
        if ignore_case && !op.takes_ignore_case() {
            self.error(
                Code::InvalidCondition,
                &path.key("ignore_case"),
                format!("`ignore_case` does not apply to `{op}`"),
            );
            ok = false;
        }
        let values = values?;
        if op == Operator::Exists {
            if !values.is_empty() {
                self.error(
                    Code::InvalidCondition,
                    &values_path,
                    "`exists` takes no values".into(),
                );
                ok = false;
            }
        } else if values.is_empty() {
            // No `values` at all points at the condition that lacks them, like any missing
            // field; an empty list points at the list.
            let at = if obj.get("values").is_some() {
                &values_path
            } else {
                path
            };
            self.error(
                Code::InvalidCondition,
                at,
                format!("`{op}` needs at least one value"),
            );
            ok = false;
        } else if values.len() > self.limits.max_values {
            self.error(
                Code::LimitExceeded,
                &values_path,
                format!(
                    "{} values, more than the limit of {}",
                    values.len(),
                    self.limits.max_values
                ),
            );
            ok = false;
        }
        if !ok {
            return None;
        }
        let test = match condition::compile(op, values, ignore_case, self.limits, &mut self.regexes)
        {
            Ok(test) => Some(test),
            Err(errors) => {
                for e in errors {
                    let p = match e.at {
                        At::Values => values_path,
                        At::Value(i) => values_path.index(i),
                    };
                    // `values_path.index` borrows `values_path`; render before it goes.
                    let rendered = p.render();
                    self.push_rendered(e.code, rendered, e.message);
                }
                None
            }
        };
        let attribute = attribute?;
        let test = test?;
        Some((
            Condition {
                attribute: attribute.into(),
                operator: op,
                values: values.iter().map(Json::to_value).collect(),
                negate,
                ignore_case,
            },
            CompiledCondition {
                attribute: self.intern_attribute(attribute),
                test,
                negate,
                position: 0,
            },
        ))
    }
}
