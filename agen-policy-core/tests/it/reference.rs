//! A naive reference evaluator, written straight from SPEC §4 (evaluation) and §2.2
//! (targeting), for the property tests to compare the engine with.
//!
//! It reads the policy document and the request as plain `serde_json::Value`s, loops over
//! every policy as §4 says, and implements every operator on its own: a recursive glob matcher,
//! the `semver` crate for versions, `chrono` for RFC 3339, `std::net` for addresses, and the
//! `regex` crate's `(?i)` over escaped literals for `ignore_case` (Unicode simple case folding,
//! as SPEC requires). It shares no code with the engine and does not check the document: it
//! is only ever given documents the engine loaded.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use regex::Regex;
use serde_json::{json, Map, Number, Value};

/// The actions from least to most restrictive (SPEC §1).
pub const ACTIONS: [&str; 4] = ["allow", "step_up", "request_approval", "deny"];

/// How restrictive an action is: its position in [`ACTIONS`].
pub fn rank(action: &str) -> usize {
    ACTIONS
        .iter()
        .position(|a| *a == action)
        .unwrap_or_else(|| panic!("not an action: {action:?}"))
}

/// A decision as SPEC §4 tabulates it, every field a plain string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `allow`, `step_up`, `request_approval` or `deny`.
    pub action: String,
    /// Why: `unknown_connector`, …, `no_policy` or `policy`.
    pub reason: String,
    /// Ids of the determining policies, sorted by byte order.
    pub policies: Vec<String>,
    /// Distinct approval flows of the determining policies when the action is
    /// `request_approval`, sorted.
    pub approval_flows: Vec<String>,
    /// Candidates whose served `step_up` or `request_approval` the evidence satisfied (§7.3).
    pub satisfied: Vec<String>,
    /// For `step_up`: each determining policy's effective requirement, by policy id.
    pub step_up: Vec<Value>,
}

/// What one candidate policy (§4 step 3) did with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The policy's id.
    pub id: String,
    /// The action it served, or `none`.
    pub served: String,
    /// Per rule, per condition: `Some(result)`, or `None` when the attribute left nothing to
    /// compare (the condition is then false whatever `negate` says).
    pub conditions: Vec<Vec<Option<bool>>>,
}

/// The decision and the candidates behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// The candidate policies in document order; empty when a step before §4.3 decided.
    pub candidates: Vec<Candidate>,
}

/// Evaluates a request against a document that loads, exactly as SPEC §4 describes.
pub fn evaluate(document: &Value, request: &Value) -> Evaluation {
    let connector_id = text(request, "connector");
    let tool_name = text(request, "tool");
    let user = text(request, "user");

    // Steps 1 and 2.
    let Some(connector) = list(document, "connectors")
        .iter()
        .find(|c| c["id"] == connector_id)
    else {
        return deny("unknown_connector");
    };
    if !flag(connector, "enabled", true) {
        return deny("connector_disabled");
    }
    let Some(tool) = list(connector, "tools")
        .iter()
        .find(|t| t["name"] == tool_name)
    else {
        return deny("unknown_tool");
    };
    if !flag(tool, "enabled", true) {
        return deny("tool_disabled");
    }

    // Step 3: candidates; step 4: what each serves.
    let subject = Subject::new(document, request);
    let mut candidates = Vec::new();
    let mut satisfied_ids: Vec<String> = Vec::new();
    for policy in list(document, "policies") {
        if policy["connector"] != connector_id
            || !governs(&policy["tools"], tool_name)
            || !in_scope(policy, user, &subject.groups)
        {
            continue;
        }
        let (served, conditions) = serve(policy, &subject);
        if matches!(served.as_str(), "step_up" | "request_approval")
            && satisfied(document, policy, &served, request)
        {
            satisfied_ids.push(text(policy, "id").to_owned());
        }
        candidates.push(Candidate {
            id: text(policy, "id").to_owned(),
            served,
            conditions,
        });
    }
    satisfied_ids.sort();
    // A satisfied action counts as `allow` from step 5 on.
    let effective = |c: &Candidate| -> String {
        if satisfied_ids.contains(&c.id) {
            "allow".to_owned()
        } else {
            c.served.clone()
        }
    };
    let serving: Vec<(Candidate, &Value)> = candidates
        .iter()
        .filter(|c| c.served != "none")
        .map(|c| {
            let policy = list(document, "policies")
                .iter()
                .find(|p| p["id"] == c.id.as_str())
                .unwrap_or(&Value::Null);
            let mut c = c.clone();
            c.served = effective(&c);
            (c, policy)
        })
        .collect();

    // Step 5.
    let Some(action) = serving
        .iter()
        .map(|(c, _)| c.served.as_str())
        .max_by_key(|a| rank(a))
    else {
        return Evaluation {
            decision: Decision {
                action: "deny".into(),
                reason: "no_policy".into(),
                policies: Vec::new(),
                approval_flows: Vec::new(),
                satisfied: satisfied_ids,
                step_up: Vec::new(),
            },
            candidates,
        };
    };

    // Step 6.
    let determining: Vec<&(Candidate, &Value)> =
        serving.iter().filter(|(c, _)| c.served == action).collect();
    let mut policies: Vec<String> = determining.iter().map(|(c, _)| c.id.clone()).collect();
    policies.sort();
    let approval_flows: Vec<String> = if action == "request_approval" {
        determining
            .iter()
            .filter_map(|(_, p)| p.get("approval_flow").and_then(Value::as_str))
            .map(str::to_owned)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    let mut step_up: Vec<Value> = if action == "step_up" {
        determining
            .iter()
            .map(|(c, p)| {
                let (max_age, acr_values) = requirement(document, p);
                json!({ "policy": c.id, "max_age": max_age, "acr_values": acr_values })
            })
            .collect()
    } else {
        Vec::new()
    };
    step_up.sort_by(|a, b| a["policy"].as_str().cmp(&b["policy"].as_str()));
    let action = action.to_owned();
    Evaluation {
        decision: Decision {
            action,
            reason: "policy".into(),
            policies,
            approval_flows,
            satisfied: satisfied_ids,
            step_up,
        },
        candidates,
    }
}

fn deny(reason: &str) -> Evaluation {
    Evaluation {
        decision: Decision {
            action: "deny".into(),
            reason: reason.into(),
            policies: Vec::new(),
            approval_flows: Vec::new(),
            satisfied: Vec::new(),
            step_up: Vec::new(),
        },
        candidates: Vec::new(),
    }
}

/// A policy's effective §7.1 requirement: each field from the policy, else the document,
/// else the defaults.
fn requirement(document: &Value, policy: &Value) -> (u64, Value) {
    let field = |name: &str| {
        policy
            .get("step_up")
            .and_then(|s| s.get(name))
            .or_else(|| document.get("step_up").and_then(|s| s.get(name)))
            .cloned()
    };
    let max_age = field("max_age").and_then(|v| v.as_u64()).unwrap_or(300);
    let acr_values = field("acr_values").unwrap_or_else(|| json!([]));
    (max_age, acr_values)
}

/// A §7.3 instant: whole milliseconds, a fraction truncated toward the past.
fn millis(v: &Value) -> Option<i128> {
    instant(v).map(|ns| ns.div_euclid(1_000_000))
}

/// Whether the request's evidence satisfies what `policy` served (SPEC §7.3).
fn satisfied(document: &Value, policy: &Value, served: &str, request: &Value) -> bool {
    let Some(now) = request.get("now").and_then(millis) else {
        return false;
    };
    if served == "step_up" {
        let Some(auth) = request.get("auth") else {
            return false;
        };
        let Some(time) = auth.get("time").and_then(millis) else {
            return false;
        };
        let (max_age, acr_values) = requirement(document, policy);
        let acr_ok = match acr_values.as_array() {
            Some(values) if !values.is_empty() => auth
                .get("acr")
                .is_some_and(|acr| values.iter().any(|v| v == acr)),
            _ => true,
        };
        return time <= now && now - time <= i128::from(max_age) * 1000 && acr_ok;
    }
    let Some(flow) = policy.get("approval_flow").and_then(Value::as_str) else {
        return false;
    };
    request
        .get("grants")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|g| {
            g["flow"] == flow
                && g["user"] == request["user"]
                && g["connector"] == request["connector"]
                && g["tool"] == request["tool"]
                && g.get("expires").and_then(millis).is_some_and(|e| now < e)
                && (g["arguments"].is_null() || request.get("arguments") == Some(&g["arguments"]))
        })
}

fn text<'a>(object: &'a Value, field: &str) -> &'a str {
    object[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is not a string in {object}"))
}

/// An optional list field; absent means empty.
fn list<'a>(object: &'a Value, field: &str) -> &'a [Value] {
    object
        .get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn flag(object: &Value, field: &str, default: bool) -> bool {
    object
        .get(field)
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

fn names(values: &[Value]) -> impl Iterator<Item = &str> {
    values.iter().filter_map(Value::as_str)
}

/// §2.1: `(all or t ∈ include) and t ∉ exclude`, with the two shorthands. The tool is one of
/// the connector's (steps 1-2 checked), so `all` selects it.
fn governs(selector: &Value, tool: &str) -> bool {
    let (all, include, exclude): (bool, &[Value], &[Value]) = match selector {
        Value::String(s) if s == "all" => (true, &[], &[]),
        Value::Array(include) => (false, include, &[]),
        Value::Object(_) => (
            flag(selector, "all", false),
            list(selector, "include"),
            list(selector, "exclude"),
        ),
        other => panic!("not a tool selector: {other}"),
    };
    (all || names(include).any(|t| t == tool)) && !names(exclude).any(|t| t == tool)
}

/// §4 step 3: `all_users`, or the user is listed, or an effective group is.
fn in_scope(policy: &Value, user: &str, groups: &[String]) -> bool {
    flag(policy, "all_users", false)
        || names(list(policy, "users")).any(|u| u == user)
        || names(list(policy, "groups")).any(|g| groups.iter().any(|e| e == g))
}

/// An attribute of a request, as conditions see it (`None`: missing).
pub fn attribute(document: &Value, request: &Value, name: &str) -> Option<Value> {
    Subject::new(document, request).attribute(name)
}

/// What the request's attributes are drawn from.
struct Subject<'a> {
    request: &'a Value,
    /// The user's directory entry, if the document lists the user.
    entry: Option<&'a Value>,
    /// §3: the directory's groups united with the request's.
    groups: Vec<String>,
    context: Map<String, Value>,
}

impl<'a> Subject<'a> {
    fn new(document: &'a Value, request: &'a Value) -> Subject<'a> {
        let user = text(request, "user");
        let entry = list(document, "users").iter().find(|u| u["id"] == user);
        let mut groups: Vec<String> = Vec::new();
        for g in entry
            .map_or(&[][..], |e| list(e, "groups"))
            .iter()
            .chain(list(request, "groups"))
            .filter_map(Value::as_str)
        {
            if !groups.iter().any(|have| have == g) {
                groups.push(g.to_owned());
            }
        }
        let context = request
            .get("context")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Subject {
            request,
            entry,
            groups,
            context,
        }
    }

    /// §2.2 "Attribute names": the built-ins first, then the context key spelled exactly so,
    /// then the walk along the dots. `None` is a missing attribute.
    fn attribute(&self, name: &str) -> Option<Value> {
        let from_entry = |field: &str| self.entry.and_then(|e| e.get(field)).cloned();
        match name {
            "user.id" => Some(self.request["user"].clone()),
            "user.email" => from_entry("email"),
            "user.name" => from_entry("name"),
            "user.groups" => Some(Value::Array(
                self.groups.iter().cloned().map(Value::String).collect(),
            )),
            "connector.id" => Some(self.request["connector"].clone()),
            "tool.name" => Some(self.request["tool"].clone()),
            _ => {
                if let Some(v) = self.context.get(name) {
                    return Some(v.clone());
                }
                let mut segments = name.split('.');
                let mut value = self.context.get(segments.next()?)?;
                for segment in segments {
                    value = value.as_object()?.get(segment)?;
                }
                Some(value.clone())
            }
        }
    }
}

/// §4 step 4: the policy's action if it has no targeting or a rule matches, else its
/// `otherwise` (default `deny`). Also returns every condition's result.
fn serve(policy: &Value, subject: &Subject<'_>) -> (String, Vec<Vec<Option<bool>>>) {
    let action = text(policy, "action").to_owned();
    let Some(targeting) = policy.get("targeting") else {
        return (action, Vec::new());
    };
    let rules = list(targeting, "rules");
    if rules.is_empty() {
        return (action, Vec::new());
    }
    let results: Vec<Vec<Option<bool>>> = rules
        .iter()
        .map(|rule| {
            list(rule, "conditions")
                .iter()
                .map(|c| condition(c, subject.attribute(text(c, "attribute")).as_ref()))
                .collect()
        })
        .collect();
    let matched = results
        .iter()
        .any(|rule| rule.iter().all(|c| *c == Some(true)));
    let served = if matched {
        action
    } else {
        targeting
            .get("otherwise")
            .and_then(Value::as_str)
            .unwrap_or("deny")
            .to_owned()
    };
    (served, results)
}

/// One condition on an attribute's value (`None` when missing), as §2.2 says: drop the values
/// the operator cannot compare; nothing left is `None` (false whatever `negate` says), except
/// for `exists`.
pub fn condition(condition: &Value, attribute: Option<&Value>) -> Option<bool> {
    let operator = text(condition, "operator");
    let negate = flag(condition, "negate", false);
    let ignore_case = flag(condition, "ignore_case", false);
    if operator == "exists" {
        let present = attribute.is_some_and(|v| !v.is_null());
        return Some(present != negate);
    }
    let items: Vec<&Value> = match attribute {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
    };
    let values = list(condition, "values");
    let mut comparable = false;
    let mut matched = false;
    for item in items {
        if let Some(m) = test(operator, ignore_case, item, values) {
            comparable = true;
            matched |= m;
        }
    }
    comparable.then_some(matched != negate)
}

/// Whether one attribute value matches some condition value; `None` when the operator cannot
/// compare it (the value is dropped).
fn test(operator: &str, ignore_case: bool, item: &Value, values: &[Value]) -> Option<bool> {
    let strings = || names(values);
    match operator {
        "equals" => {
            if !matches!(item, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                return None;
            }
            Some(values.iter().any(|v| equals(item, v, ignore_case)))
        }
        "matches" => {
            let s = item.as_str()?;
            Some(strings().any(|p| glob(p, s, ignore_case)))
        }
        "regex" => {
            let s = item.as_str()?;
            Some(strings().any(|p| {
                let p = if ignore_case {
                    format!("(?i){p}")
                } else {
                    p.to_owned()
                };
                compiled(&p).is_match(s)
            }))
        }
        "starts_with" | "ends_with" | "contains" => {
            let s = item.as_str()?;
            Some(strings().any(|v| affix(operator, s, v, ignore_case)))
        }
        "lt" | "lte" | "gt" | "gte" => {
            let n = item.as_number()?;
            Some(values.iter().filter_map(Value::as_number).any(|v| {
                let o = compare_numbers(n, v);
                match operator {
                    "lt" => o == Ordering::Less,
                    "lte" => o != Ordering::Greater,
                    "gt" => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                }
            }))
        }
        "before" | "after" => {
            let t = instant(item)?;
            Some(values.iter().filter_map(instant).any(|v| {
                if operator == "before" {
                    t < v
                } else {
                    t > v
                }
            }))
        }
        "semver_eq" | "semver_lt" | "semver_gt" => {
            let v = version(item.as_str()?)?;
            let want = match operator {
                "semver_eq" => Ordering::Equal,
                "semver_lt" => Ordering::Less,
                _ => Ordering::Greater,
            };
            Some(
                strings()
                    .filter_map(version)
                    .any(|w| precedence(&v, &w) == want),
            )
        }
        "in_cidr" => {
            let address: IpAddr = item.as_str()?.parse().ok()?;
            Some(strings().any(|block| in_block(address, block)))
        }
        other => panic!("the reference does not know operator {other:?}"),
    }
}

/// `equals`: strictly typed; strings (folded under `ignore_case`), numbers numerically,
/// booleans; values of different types are unequal.
fn equals(a: &Value, b: &Value, ignore_case: bool) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) if ignore_case => {
            compiled(&format!("(?i)\\A{}\\z", regex::escape(b))).is_match(a)
        }
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b) == Ordering::Equal,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        _ => false,
    }
}

fn affix(operator: &str, s: &str, v: &str, ignore_case: bool) -> bool {
    if ignore_case {
        let literal = regex::escape(v);
        let pattern = match operator {
            "starts_with" => format!("(?i)\\A{literal}"),
            "ends_with" => format!("(?i){literal}\\z"),
            _ => format!("(?i){literal}"),
        };
        return compiled(&pattern).is_match(s);
    }
    match operator {
        "starts_with" => s.starts_with(v),
        "ends_with" => s.ends_with(v),
        _ => s.contains(v),
    }
}

/// A piece of a glob pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Literal(char),
    One,
    Run,
}

fn pieces(pattern: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Piece::Run,
            '?' => Piece::One,
            '\\' => Piece::Literal(chars.next().expect("a loaded pattern has no lone `\\`")),
            c => Piece::Literal(c),
        });
    }
    out
}

/// `matches`: the whole string. Case-sensitive patterns go through a recursive matcher;
/// `ignore_case` ones through a regex of escaped literals under `(?i)`.
fn glob(pattern: &str, s: &str, ignore_case: bool) -> bool {
    let pieces = pieces(pattern);
    if ignore_case {
        let mut re = String::from("(?is)\\A");
        for p in pieces {
            match p {
                Piece::Literal(c) => re.push_str(&regex::escape(&c.to_string())),
                Piece::One => re.push('.'),
                Piece::Run => re.push_str(".*"),
            }
        }
        re.push_str("\\z");
        return compiled(&re).is_match(s);
    }
    let chars: Vec<char> = s.chars().collect();
    glob_at(&pieces, &chars)
}

fn glob_at(pattern: &[Piece], s: &[char]) -> bool {
    match pattern.split_first() {
        None => s.is_empty(),
        Some((Piece::Run, rest)) => {
            glob_at(rest, s)
                || s.split_first()
                    .is_some_and(|(_, tail)| glob_at(pattern, tail))
        }
        Some((Piece::One, rest)) => s.split_first().is_some_and(|(_, tail)| glob_at(rest, tail)),
        Some((Piece::Literal(c), rest)) => s
            .split_first()
            .is_some_and(|(h, tail)| h == c && glob_at(rest, tail)),
    }
}

thread_local! {
    static REGEXES: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// Forgets the compiled regexes: a fuzz target whose patterns are not drawn from small pools
/// calls it after each input, so that the cache does not grow without bound.
pub fn forget_compiled() {
    REGEXES.with(|cache| cache.borrow_mut().clear());
}

/// A compiled regex, cached: the property tests draw patterns from small pools.
fn compiled(pattern: &str) -> Regex {
    REGEXES.with(|cache| {
        cache
            .borrow_mut()
            .entry(pattern.to_owned())
            .or_insert_with(|| {
                Regex::new(pattern).unwrap_or_else(|e| panic!("bad regex {pattern:?}: {e}"))
            })
            .clone()
    })
}

fn integer(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// Numeric comparison of JSON numbers, exact for integers beyond 2^53 too.
pub fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    let float = |n: &Number| n.as_f64().expect("a JSON number is finite");
    match (integer(a), integer(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => integer_with_float(x, float(b)),
        (None, Some(y)) => integer_with_float(y, float(a)).reverse(),
        (None, None) => float(a)
            .partial_cmp(&float(b))
            .expect("JSON numbers are not NaN"),
    }
}

/// Rounding to the nearest float is monotonic, so a strict inequality after rounding holds
/// before it; equality after rounding means the float is a whole number, compared exactly.
fn integer_with_float(i: i128, f: f64) -> Ordering {
    let rounded = i as f64;
    match rounded.partial_cmp(&f).expect("JSON numbers are not NaN") {
        Ordering::Equal => i.cmp(&(f as i128)),
        other => other,
    }
}

/// A timestamp as nanoseconds since the Unix epoch: an RFC 3339 date-time with a time and an
/// offset, or an integer of Unix milliseconds (`1.0e3` is an integer, as `1` = `1.0`).
pub fn instant(v: &Value) -> Option<i128> {
    match v {
        Value::String(s) => {
            // RFC 3339 §5.6's grammar separates date and time with `T` (any case); chrono
            // also takes a space, which the grammar does not.
            if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
                return None;
            }
            let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
            Some(i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos()))
        }
        Value::Number(n) => {
            let millis = match integer(n) {
                Some(i) => i,
                None => {
                    let f = n.as_f64()?;
                    if f.fract() != 0.0 || f.abs() >= i64::MAX as f64 {
                        return None;
                    }
                    f as i128
                }
            };
            Some(millis * 1_000_000)
        }
        _ => None,
    }
}

/// A version: `2` and `2.1` are padded to `2.0.0` and `2.1.0`, keeping any pre-release or
/// build; then the `semver` crate parses it (it refuses a leading `v` and leading zeros).
pub fn version(s: &str) -> Option<semver::Version> {
    let (main, build) = match s.split_once('+') {
        Some((main, build)) => (main, Some(build)),
        None => (s, None),
    };
    let (core, pre) = match main.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (main, None),
    };
    let mut padded = core.to_owned();
    for _ in core.split('.').count()..3 {
        padded.push_str(".0");
    }
    if let Some(pre) = pre {
        padded.push('-');
        padded.push_str(pre);
    }
    if let Some(build) = build {
        padded.push('+');
        padded.push_str(build);
    }
    semver::Version::parse(&padded).ok()
}

/// SemVer 2.0.0 precedence: build metadata does not count.
fn precedence(a: &semver::Version, b: &semver::Version) -> Ordering {
    (a.major, a.minor, a.patch, &a.pre).cmp(&(b.major, b.minor, b.patch, &b.pre))
}

/// Whether an address is inside a block (`addr/len`, or a bare address: all its bits), bit by
/// bit; an address of the other family never is.
fn in_block(address: IpAddr, block: &str) -> bool {
    let (network, prefix) = match block.split_once('/') {
        Some((network, prefix)) => (network, Some(prefix)),
        None => (block, None),
    };
    let network: IpAddr = network.parse().expect("a loaded block parses");
    let (a, n): (Vec<u8>, Vec<u8>) = match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (a.octets().to_vec(), n.octets().to_vec()),
        (IpAddr::V6(a), IpAddr::V6(n)) => (a.octets().to_vec(), n.octets().to_vec()),
        _ => return false,
    };
    let bits = prefix.map_or(a.len() * 8, |p| p.parse().expect("a loaded prefix parses"));
    let bit = |octets: &[u8], i: usize| octets[i / 8] >> (7 - i % 8) & 1;
    (0..bits).all(|i| bit(&a, i) == bit(&n, i))
}

mod tests {
    //! The reference's own operators against SPEC §2.2's examples, so that a disagreement
    //! with the engine is not the reference's own mistake.

    use serde_json::json;

    use super::*;

    fn cond(operator: &str, values: Value, extra: Value) -> Value {
        let mut c = json!({ "attribute": "a", "operator": operator, "values": values });
        if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(extra.clone());
        }
        c
    }

    fn check(operator: &str, values: Value, extra: Value, attribute: Value) -> Option<bool> {
        condition(&cond(operator, values, extra), Some(&attribute))
    }

    #[test]
    fn equals_is_strictly_typed() {
        let none = json!({});
        assert_eq!(
            check("equals", json!([1]), none.clone(), json!("1")),
            Some(false)
        );
        assert_eq!(
            check("equals", json!([1]), none.clone(), json!(1.0)),
            Some(true)
        );
        assert_eq!(
            check("equals", json!([1]), none.clone(), json!(true)),
            Some(false)
        );
        assert_eq!(
            check("equals", json!(["1"]), json!({"negate": true}), json!(1)),
            Some(true)
        );
        assert_eq!(
            check("equals", json!(["a"]), none.clone(), json!([null, {}])),
            None
        );
        assert_eq!(
            check(
                "equals",
                json!([9_007_199_254_740_992_u64]),
                none,
                json!(9_007_199_254_740_993_u64)
            ),
            Some(false)
        );
    }

    #[test]
    fn missing_is_false_whatever_negate_says_but_exists() {
        let c = cond("equals", json!(["x"]), json!({"negate": true}));
        assert_eq!(condition(&c, None), None);
        assert_eq!(condition(&c, Some(&Value::Null)), None);
        assert_eq!(condition(&c, Some(&json!([]))), None);
        let e = json!({ "attribute": "a", "operator": "exists", "negate": true });
        assert_eq!(condition(&e, None), Some(true));
        assert_eq!(condition(&e, Some(&json!([]))), Some(false));
    }

    #[test]
    fn numbers_compare_exactly() {
        let n = |s: &str| serde_json::from_str::<Number>(s).expect("a number");
        assert_eq!(compare_numbers(&n("1"), &n("1.0")), Ordering::Equal);
        assert_eq!(compare_numbers(&n("-0.0"), &n("0")), Ordering::Equal);
        assert_eq!(
            compare_numbers(&n("9007199254740993"), &n("9007199254740992.0")),
            Ordering::Greater
        );
        assert_eq!(
            compare_numbers(&n("18446744073709551615"), &n("1e300")),
            Ordering::Less
        );
        assert_eq!(compare_numbers(&n("2"), &n("1.5")), Ordering::Greater);
    }

    #[test]
    fn globs_match_the_whole_string() {
        assert!(glob("a*c", "abbc", false));
        assert!(!glob("a*c", "abbcd", false));
        assert!(glob("?", "é", false));
        assert!(glob(r"\*\?\\", "*?\\", false));
        assert!(!glob(r"\*", "a", false));
        assert!(glob("*", "a\nb", false) && glob("*", "a\nb", true));
        assert!(glob("É*", "élan", true) && !glob("É*", "élan", false));
        assert!(glob("\u{212A}", "k", true));
        assert!(!glob("ss", "ß", true));
    }

    #[test]
    fn ignore_case_is_simple_case_folding() {
        for (a, b) in [
            ("ẞ", "ß"),
            ("ſ", "S"),
            ("ς", "Σ"),
            ("σ", "ς"),
            ("\u{212A}", "K"),
            ("É", "é"),
        ] {
            assert!(equals(&json!(a), &json!(b), true), "{a} ~ {b}");
            assert!(!equals(&json!(a), &json!(b), false), "{a} != {b}");
        }
        for (a, b) in [("ß", "ss"), ("ı", "i"), ("İ", "i")] {
            assert!(!equals(&json!(a), &json!(b), true), "{a} !~ {b}");
        }
        assert!(affix("starts_with", "ΣΑΣ", "σα", true));
        assert!(affix("ends_with", "ΣΑΣ", "ας", true));
        assert!(affix("contains", "x.y", ".", true) && !affix("contains", "xy", ".", true));
    }

    #[test]
    fn timestamps_need_a_time_and_an_offset() {
        let t = |s: &str| instant(&json!(s));
        assert_eq!(
            t("2026-01-01T00:00:00Z"),
            instant(&json!(1_767_225_600_000_u64))
        );
        assert_eq!(t("2026-01-01T01:00:00+01:00"), t("2026-01-01t00:00:00z"));
        assert_eq!(
            instant(&json!(1_767_225_600_000.0)),
            t("2026-01-01T00:00:00Z")
        );
        for bad in [
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00+0100",
            "1767225600000",
            "",
        ] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
        assert_eq!(instant(&json!(1.5)), None);
        assert_eq!(instant(&json!(true)), None);
    }

    #[test]
    fn versions_are_padded_and_strict() {
        let v = |s: &str| version(s).map(|v| v.to_string());
        assert_eq!(v("2"), Some("2.0.0".into()));
        assert_eq!(v("2.1"), Some("2.1.0".into()));
        assert_eq!(v("2-rc.1+b"), Some("2.0.0-rc.1+b".into()));
        for bad in [
            "v2", "v2.0.0", "02.0.0", "1.0.0.0", "1.0.0-01", "", "1.", "1.0.0-",
        ] {
            assert_eq!(v(bad), None, "{bad:?}");
        }
        let p = |a: &str, b: &str| precedence(&version(a).expect(a), &version(b).expect(b));
        assert_eq!(p("1.0.0+a", "1.0.0+b"), Ordering::Equal);
        assert_eq!(p("1.0.0-rc.10", "1.0.0-rc.9"), Ordering::Greater);
        assert_eq!(p("1.0.0-rc", "1"), Ordering::Less);
    }

    #[test]
    fn blocks_keep_families_apart() {
        let a = |s: &str| s.parse::<IpAddr>().expect(s);
        assert!(in_block(a("10.1.2.3"), "10.0.0.0/8"));
        assert!(in_block(a("10.200.0.1"), "10.1.2.3/8"));
        assert!(!in_block(a("11.0.0.1"), "10.0.0.0/8"));
        assert!(in_block(a("10.0.0.1"), "10.0.0.1") && !in_block(a("10.0.0.2"), "10.0.0.1"));
        assert!(!in_block(a("::ffff:10.0.0.1"), "10.0.0.0/8"));
        assert!(!in_block(a("10.0.0.1"), "::/0"));
        assert!(in_block(a("2001:db8::1"), "2001:db8::/32"));
        assert_eq!(
            check(
                "in_cidr",
                json!(["10.0.0.0/8"]),
                json!({}),
                json!("10.0.0.0/8")
            ),
            None
        );
    }
}
