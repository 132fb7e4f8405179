//! Structured inputs for the fuzz targets: valid policy documents and requests built from
//! arbitrary bytes, with names and values drawn from small pools so that policies, scopes and
//! conditions actually meet the requests.

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{json, Map, Value};

pub mod large;

const CONNECTORS: usize = 3;
const TOOLS: usize = 4;
const USERS: &[&str] = &["u0", "u1", "u2", "u3"];
const GROUPS: &[&str] = &["g0", "g1", "g2", "g3"];
const FLOWS: &[&str] = &["f0", "f1"];
const ACTIONS: &[&str] = &["allow", "step_up", "request_approval", "deny"];
const OTHERWISE: &[&str] = &["allow", "step_up", "request_approval", "deny", "none"];
const ATTRIBUTES: &[&str] = &[
    "agent.type",
    "s",
    "n",
    "t",
    "v",
    "ip",
    "tags",
    "a.b.c",
    "user.id",
    "user.email",
    "user.name",
    "user.groups",
    "tool.name",
    "connector.id",
];
const OPERATORS: &[&str] = &[
    "equals",
    "matches",
    "regex",
    "starts_with",
    "ends_with",
    "contains",
    "lt",
    "lte",
    "gt",
    "gte",
    "before",
    "after",
    "semver_eq",
    "semver_lt",
    "semver_gt",
    "in_cidr",
    "exists",
];

fn pick<T: Copy>(u: &mut Unstructured<'_>, pool: &[T]) -> Result<T> {
    u.choose(pool).copied()
}

fn subset(u: &mut Unstructured<'_>, pool: &[&str]) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for item in pool {
        if u.ratio(1, 3)? {
            out.push(json!(item));
        }
    }
    Ok(out)
}

/// Values an operator accepts at load, chosen to match the context pool below.
fn condition_values(u: &mut Unstructured<'_>, op: &str) -> Result<Vec<Value>> {
    let pool: Vec<Value> = match op {
        "equals" => vec![
            json!("ChatGPT"),
            json!("chatgpt"),
            json!("x"),
            json!(1),
            json!(1.0),
            json!(2),
            json!(true),
            json!(false),
            json!("1"),
            json!("g1"),
            json!("u1"),
        ],
        "matches" => vec![
            json!("Chat*"),
            json!("*gpt"),
            json!("?hat*"),
            json!("x"),
            json!("*"),
            json!("a\\*"),
            json!("É*"),
        ],
        "regex" => vec![
            json!("^Chat"),
            json!("gpt$"),
            json!("[0-9]+"),
            json!("x|y"),
            json!("é"),
        ],
        "starts_with" | "ends_with" | "contains" => vec![
            json!("Chat"),
            json!("GPT"),
            json!("x"),
            json!(""),
            json!("é"),
            json!("É"),
            json!("@acme"),
        ],
        "lt" | "lte" | "gt" | "gte" => vec![
            json!(0),
            json!(1),
            json!(1.5),
            json!(10),
            json!(-3),
            json!(9007199254740993u64),
        ],
        "before" | "after" => vec![
            json!("2026-01-01T00:00:00Z"),
            json!("2026-01-01T01:00:00+01:00"),
            json!(1767225600000u64),
            json!("2025-12-31T23:59:59.999Z"),
        ],
        "semver_eq" | "semver_lt" | "semver_gt" => vec![
            json!("1.0.0"),
            json!("2"),
            json!("2.0.0-rc.1"),
            json!("1.10.0"),
            json!("1.2.3+b"),
        ],
        "in_cidr" => vec![
            json!("10.0.0.0/8"),
            json!("10.1.2.3"),
            json!("2001:db8::/32"),
            json!("::1"),
            json!("0.0.0.0/0"),
        ],
        _ => return Ok(Vec::new()),
    };
    let n = u.int_in_range(1..=3)?;
    (0..n).map(|_| u.choose(&pool).cloned()).collect()
}

/// A context value: strings, numbers, booleans, null, lists and objects of them.
fn context_value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let scalars = [
        json!("ChatGPT"),
        json!("chatgpt"),
        json!("CHATGPT"),
        json!("Claude"),
        json!("x"),
        json!(""),
        json!("É"),
        json!("é"),
        json!(1),
        json!(1.0),
        json!(1.5),
        json!(10),
        json!(-3),
        json!(true),
        json!(false),
        json!(null),
        json!("1"),
        json!("2026-01-01T00:00:00Z"),
        json!("2026-06-01T00:00:00+02:00"),
        json!(1767225600000u64),
        json!(1767225600001u64),
        json!("1.0.0"),
        json!("2.0.0-rc.1"),
        json!("2"),
        json!("v1"),
        json!("10.1.2.3"),
        json!("::1"),
        json!("2001:db8::5"),
        json!("not-an-ip"),
        json!("bob@acme.example"),
    ];
    if depth < 2 && u.ratio(1, 6)? {
        let n = u.int_in_range(0..=3)?;
        return (0..n)
            .map(|_| context_value(u, depth + 1))
            .collect::<Result<Vec<_>>>()
            .map(Value::Array);
    }
    if depth < 2 && u.ratio(1, 10)? {
        return Ok(
            json!({ "b": { "c": context_value(u, depth + 1)? }, "type": context_value(u, depth + 1)? }),
        );
    }
    u.choose(&scalars).cloned()
}

fn tool_names(connector: usize) -> Vec<String> {
    (0..TOOLS).map(|t| format!("c{connector}t{t}")).collect()
}

fn policy(u: &mut Unstructured<'_>, i: usize) -> Result<Value> {
    let connector = u.int_in_range(0..=CONNECTORS - 1)?;
    let tools = tool_names(connector);
    let tool_refs: Vec<&str> = tools.iter().map(String::as_str).collect();
    let selector = match u.int_in_range(0..=2)? {
        0 => json!("all"),
        1 => Value::Array(subset(u, &tool_refs)?),
        _ => json!({ "all": u.arbitrary::<bool>()?, "include": subset(u, &tool_refs)?,
                     "exclude": subset(u, &tool_refs)? }),
    };
    let mut p = json!({
        "id": format!("p{i}"),
        "name": format!("Policy {i}"),
        "connector": format!("c{connector}"),
        "action": pick(u, ACTIONS)?,
        "all_users": u.ratio(1, 3)?,
        "users": subset(u, USERS)?,
        "groups": subset(u, GROUPS)?,
        "tools": selector,
    });
    if u.ratio(1, 3)? {
        p["approval_flow"] = json!(pick(u, FLOWS)?);
    }
    if u.ratio(1, 3)? {
        p["step_up"] = step_up(u)?;
    }
    if u.ratio(1, 2)? {
        let mut rules = Vec::new();
        for _ in 0..u.int_in_range(1..=3)? {
            let mut conditions = Vec::new();
            for _ in 0..u.int_in_range(1..=3)? {
                let op = pick(u, OPERATORS)?;
                let mut c = json!({ "attribute": pick(u, ATTRIBUTES)?, "operator": op });
                if op != "exists" {
                    c["values"] = Value::Array(condition_values(u, op)?);
                }
                if u.ratio(1, 4)? {
                    c["negate"] = json!(true);
                }
                let folds = matches!(
                    op,
                    "equals" | "matches" | "regex" | "starts_with" | "ends_with" | "contains"
                );
                if folds && u.ratio(1, 3)? {
                    c["ignore_case"] = json!(true);
                }
                conditions.push(c);
            }
            rules.push(json!({ "conditions": conditions }));
        }
        p["targeting"] = json!({ "rules": rules });
        if u.ratio(2, 3)? {
            p["targeting"]["otherwise"] = json!(pick(u, OTHERWISE)?);
        }
    }
    Ok(p)
}

/// A `step_up` freshness object (SPEC §7.1), each field optional.
fn step_up(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut s = json!({});
    if u.arbitrary()? {
        s["max_age"] = json!(pick(u, &[0u32, 1, 60, 300, 2_147_483_647])?);
    }
    if u.arbitrary()? {
        s["acr_values"] = Value::Array(subset(u, ACR)?);
    }
    Ok(s)
}

/// The instant generated evidence is given at.
const NOW: i64 = 1_795_600_800_000;
/// Authentication context classes evidence and requirements name.
const ACR: &[&str] = &["mfa", "hwk", "pwd"];

/// Evidence (SPEC §7.2) for `request`: `now` in one of its forms, maybe an authentication of
/// some age and class, and grants that match the call more or less.
fn evidence(u: &mut Unstructured<'_>, request: &mut Value) -> Result<()> {
    request["now"] = match u.int_in_range(0..=2)? {
        0 => json!(NOW),
        1 => json!("2026-11-25T10:00:00.000999Z"),
        _ => json!(NOW as f64),
    };
    if u.arbitrary()? {
        let age: i64 = pick(
            u,
            &[-1, 0, 1_000, 60_000, 60_001, 300_000, 300_001, 1 << 40],
        )?;
        let mut auth = json!({ "time": NOW - age });
        if u.arbitrary()? {
            auth["acr"] = json!(pick(u, ACR)?);
        }
        request["auth"] = auth;
    }
    if u.arbitrary()? {
        let mut grants = Vec::new();
        for i in 0..u.int_in_range(0..=3)? {
            let same = |u: &mut Unstructured<'_>, key: &str| -> Result<Value> {
                Ok(if u.ratio(5, 6)? {
                    request[key].clone()
                } else {
                    json!("other")
                })
            };
            let expires: i64 = pick(u, &[-1, 0, 1, 3_600_000])?;
            grants.push(json!({
                "id": format!("g{i}"), "flow": pick(u, FLOWS)?,
                "user": same(u, "user")?, "connector": same(u, "connector")?,
                "tool": same(u, "tool")?,
                "arguments": if u.arbitrary()? { Value::Null } else { json!(pick(u, &["d1", "d2"])?) },
                "expires": NOW + expires, "approvers": ["u1"],
            }));
        }
        request["grants"] = Value::Array(grants);
    }
    if u.arbitrary()? {
        request["arguments"] = json!(pick(u, &["d1", "d2"])?);
    }
    Ok(())
}

/// A valid document and requests against it.
#[derive(Debug)]
pub struct Case {
    /// The policy document.
    pub document: Value,
    /// Requests in SPEC §3 form.
    pub requests: Vec<Value>,
}

impl<'a> Arbitrary<'a> for Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let connectors: Vec<Value> = (0..CONNECTORS)
            .map(|c| -> Result<Value> {
                let tools = tool_names(c)
                    .into_iter()
                    .map(|name| Ok(json!({ "name": name, "enabled": !u.ratio(1, 8)? })))
                    .collect::<Result<Vec<_>>>()?;
                Ok(json!({ "id": format!("c{c}"), "enabled": !u.ratio(1, 8)?, "tools": tools }))
            })
            .collect::<Result<_>>()?;
        let users: Vec<Value> = USERS
            .iter()
            .map(|id| -> Result<Value> {
                let mut user = json!({ "id": id, "groups": subset(u, GROUPS)? });
                if u.ratio(1, 2)? {
                    user["email"] = json!(format!("{id}@acme.example"));
                }
                if u.ratio(1, 2)? {
                    user["name"] = json!(format!("User {id}"));
                }
                Ok(user)
            })
            .collect::<Result<_>>()?;
        let policies = (0..u.int_in_range(0..=8)?)
            .map(|i| policy(u, i))
            .collect::<Result<Vec<_>>>()?;
        let mut document = json!({
            "connectors": connectors,
            "groups": GROUPS.iter().map(|g| json!({ "id": g })).collect::<Vec<_>>(),
            "users": users,
            "approval_flows": FLOWS.iter().map(|f| json!({ "id": f, "steps": [{ "groups": ["g0"] }] })).collect::<Vec<_>>(),
            "policies": policies,
        });
        if u.ratio(1, 3)? {
            document["step_up"] = step_up(u)?;
        }
        let mut requests = Vec::new();
        for _ in 0..u.int_in_range(1..=4)? {
            let connector = u.int_in_range(0..=CONNECTORS)?; // one past: unknown
            let tool = u.int_in_range(0..=TOOLS)?;
            let mut context = Map::new();
            for _ in 0..u.int_in_range(0..=4)? {
                let key = pick(u, ATTRIBUTES)?;
                context.insert(key.to_owned(), context_value(u, 0)?);
            }
            let user = if u.ratio(1, 5)? {
                "stranger"
            } else {
                pick(u, USERS)?
            };
            let mut request = json!({
                "user": user,
                "connector": format!("c{connector}"),
                "tool": format!("c{connector}t{tool}"),
                "groups": subset(u, GROUPS)?,
                "context": context,
            });
            if u.arbitrary()? {
                evidence(u, &mut request)?;
            }
            requests.push(request);
        }
        Ok(Case { document, requests })
    }
}
