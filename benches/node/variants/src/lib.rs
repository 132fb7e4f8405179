//! Ways to cross the Node-API boundary for one evaluation, each a separate export so that
//! `variants.mjs` can time them on the same workload. Inputs are compared with the same output
//! (a plain object made natively); outputs with the same input (JSON text).

use agen_policy_core as core;
use napi::bindgen_prelude::{BufferSlice, JsObjectValue, Object};
use napi::{Error, Result};
use napi_derive::napi;
use rustc_hash::FxHashMap;

/// A decision as a plain object, made natively.
#[napi(object, object_from_js = false)]
pub struct Decision {
    pub action: String,
    pub reason: String,
    pub policies: Vec<String>,
    pub approval_flows: Vec<String>,
    pub allowed: bool,
}

impl From<core::Decision<'_>> for Decision {
    fn from(d: core::Decision<'_>) -> Self {
        Decision {
            action: d.action().as_str().to_owned(),
            reason: d.reason().as_str().to_owned(),
            policies: d.policies().map(str::to_owned).collect(),
            approval_flows: d.approval_flows().map(str::to_owned).collect(),
            allowed: d.allowed(),
        }
    }
}

/// A decision as a class instance, its fields read through getters.
#[napi]
pub struct DecisionObject {
    action: core::Action,
    reason: core::Reason,
    policies: Vec<String>,
    approval_flows: Vec<String>,
}

#[napi]
impl DecisionObject {
    #[napi(getter)]
    pub fn action(&self) -> &'static str {
        self.action.as_str()
    }
    #[napi(getter)]
    pub fn reason(&self) -> &'static str {
        self.reason.as_str()
    }
    #[napi(getter)]
    pub fn policies(&self) -> Vec<String> {
        self.policies.clone()
    }
    #[napi(getter)]
    pub fn approval_flows(&self) -> Vec<String> {
        self.approval_flows.clone()
    }
    #[napi(getter)]
    pub fn allowed(&self) -> bool {
        self.action == core::Action::Allow
    }
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::from_reason(e.to_string())
}

/// The policy set, with policy ids by index for the interned output.
#[napi]
pub struct Variants {
    set: core::PolicySet,
    ids: FxHashMap<Box<str>, u32>,
}

#[napi]
impl Variants {
    #[napi(factory)]
    pub fn from_json(text: String) -> Result<Variants> {
        let set = core::PolicySet::from_json(&text).map_err(invalid)?;
        let ids = set
            .document()
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str().into(), i as u32))
            .collect();
        Ok(Variants { set, ids })
    }

    /// Policy ids by index.
    #[napi]
    pub fn policy_ids(&self) -> Vec<String> {
        self.set
            .document()
            .policies
            .iter()
            .map(|p| p.id.clone())
            .collect()
    }

    /// Input: the request object, read natively field by field (context through serde).
    #[napi]
    pub fn object_in(&self, request: Object) -> Result<Decision> {
        let user: String = request.get_named_property("user")?;
        let connector: String = request.get_named_property("connector")?;
        let tool: String = request.get_named_property("tool")?;
        let groups: Option<Vec<String>> = request.get_named_property("groups")?;
        let context: Option<serde_json::Value> = request.get_named_property_unchecked("context")?;
        let mut builder = core::Request::builder(user, connector, tool);
        if let Some(groups) = groups {
            builder = builder.groups(groups);
        }
        if let Some(serde_json::Value::Object(context)) = context {
            builder = builder.context_map(context);
        }
        let request = builder.build().map_err(invalid)?;
        Ok(self.set.evaluate(&request).into())
    }

    /// Input: positional strings, the context as JSON text.
    #[napi]
    pub fn positional_in(
        &self,
        user: String,
        connector: String,
        tool: String,
        context: Option<String>,
    ) -> Result<Decision> {
        let mut builder = core::Request::builder(user, connector, tool);
        if let Some(context) = context {
            builder = builder.context_map(serde_json::from_str(&context).map_err(invalid)?);
        }
        let request = builder.build().map_err(invalid)?;
        Ok(self.set.evaluate(&request).into())
    }

    /// Input: the whole request as JSON text. Output: a plain object.
    #[napi]
    pub fn json_in(&self, text: String) -> Result<Decision> {
        let request = core::Request::from_json(&text).map_err(invalid)?;
        Ok(self.set.evaluate(&request).into())
    }

    /// Input: JSON text. Output: a class instance.
    #[napi]
    pub fn json_in_class_out(&self, text: String) -> Result<DecisionObject> {
        let request = core::Request::from_json(&text).map_err(invalid)?;
        let d = self.set.evaluate(&request);
        Ok(DecisionObject {
            action: d.action(),
            reason: d.reason(),
            policies: d.policies().map(str::to_owned).collect(),
            approval_flows: d.approval_flows().map(str::to_owned).collect(),
        })
    }

    /// Input: JSON text. Output: interned, as numbers in `out`: action, reason, the number of
    /// policies, their indices; the caller builds the object from cached strings.
    #[napi]
    pub fn json_in_interned_out(&self, text: String, mut out: BufferSlice) -> Result<bool> {
        let request = core::Request::from_json(&text).map_err(invalid)?;
        let d = self.set.evaluate(&request);
        let action = core::Action::ALL
            .iter()
            .position(|a| *a == d.action())
            .unwrap_or(3);
        let reason = core::Reason::ALL
            .iter()
            .position(|r| *r == d.reason())
            .unwrap_or(5);
        let mut words = vec![action as u32, reason as u32, d.policies().len() as u32];
        words.extend(
            d.policies()
                .map(|p| self.ids.get(p).copied().unwrap_or(0)),
        );
        for (slot, word) in out.chunks_exact_mut(4).zip(words) {
            slot.copy_from_slice(&word.to_le_bytes());
        }
        Ok(true)
    }
}
