//! The policy test-file runner (SPEC §6, §8.4): the one place that reads a test file, decides
//! its cases, replays its approval scenarios and compares them with their expectations. The
//! CLI's `test`, the Python and Node `run_tests` and the conformance tests all call it.
//!
//! Pure, like the rest of the core: the caller reads the test file and passes a resolver that
//! reads a `document_file` (relative to the test file) for it.
//!
//! ```
//! use agen_policy_core::testfile::run_test_file;
//!
//! let text = br#"{"document": {"connectors": [{"id": "c", "tools": [{"name": "t"}]}]},
//!                 "cases": [{"name": "nothing allows it",
//!                            "request": {"user": "u", "connector": "c", "tool": "t"},
//!                            "expect": {"action": "deny", "reason": "no_policy"}}]}"#;
//! let report = run_test_file("inline.json", text, &mut |_| Err("no files here".into()));
//! assert_eq!((report.passed(), report.failed), (1, 0));
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::approval::{approval_instant, ApprovalError, ApprovalOp};
use crate::decision::{Action, OwnedDecision, Reason};
use crate::error::Problem;
use crate::evidence::StepUpRequirement;
use crate::limits::Limits;
use crate::request::Request;
use crate::set::PolicySet;

/// Reads a `document_file`, given as written in the test file (relative to it); `Err` carries
/// a reason for people.
pub type Resolver<'a> = dyn FnMut(&str) -> Result<Vec<u8>, String> + 'a;

/// The outcome of one test file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    /// The test file's name, as the caller gave it.
    pub file: String,
    /// What it checks: `"cases"`, `"expected_errors"`, or `"none"` when it could not run.
    pub kind: &'static str,
    /// Its cases run (requests decided or rejected).
    pub cases: usize,
    /// Its approval scenarios run.
    pub approvals: usize,
    /// Its expected document errors.
    pub expected_errors: usize,
    /// Checks that failed; a file that could not run counts as one.
    pub failed: usize,
    /// Every failure, in the order found; a file that could not run has exactly one.
    pub failures: Vec<TestFailure>,
}

/// One failed check, or a test file that could not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestFailure {
    /// The case's or scenario's name, when the failure is one case's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// What went wrong, in one line.
    pub message: String,
    /// What the test file expects, as far as it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// What happened instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
}

impl FileReport {
    /// Checks the file holds: cases, approval scenarios and expected errors.
    pub fn checks(&self) -> usize {
        self.cases + self.approvals + self.expected_errors
    }

    /// Checks that passed.
    pub fn passed(&self) -> usize {
        self.checks().saturating_sub(self.failed)
    }

    /// The report of a file that could not run (unreadable, say): one failure saying why.
    pub fn not_run(file: &str, message: String) -> FileReport {
        FileReport {
            file: file.to_owned(),
            kind: "none",
            cases: 0,
            approvals: 0,
            expected_errors: 0,
            failed: 1,
            failures: vec![TestFailure {
                case: None,
                message,
                expected: None,
                actual: None,
            }],
        }
    }

    /// The report for people: a line for the file, then each failure with expected against
    /// actual. `escape` renders text that came from the file (names, ids), so that a terminal
    /// shows it safely.
    pub fn to_text(&self, escape: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        let mut parts = Vec::new();
        for (n, one, many) in [
            (self.cases, "case", "cases"),
            (self.approvals, "approval scenario", "approval scenarios"),
            (self.expected_errors, "expected error", "expected errors"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        }
        let file = escape(&self.file);
        match (self.failed, parts.is_empty()) {
            (0, false) => {
                let _ = writeln!(out, "ok    {file}  ({})", parts.join(", "));
            }
            (n, false) => {
                let verb = if self.kind == "expected_errors" {
                    "missing"
                } else {
                    "failed"
                };
                let _ = writeln!(out, "FAIL  {file}  ({n} of {} {verb})", parts.join(", "));
            }
            _ => {
                let _ = writeln!(out, "FAIL  {file}");
            }
        }
        for failure in &self.failures {
            let _ = writeln!(out, "      {}", escape(&failure.message));
            if let Some(expected) = &failure.expected {
                let _ = writeln!(out, "          expected: {}", escape(&shown(expected)));
            }
            if let Some(actual) = &failure.actual {
                let _ = writeln!(out, "          actual:   {}", escape(&shown(actual)));
            }
        }
        out
    }
}

/// One line for an expectation or an outcome: `action deny, reason policy, policies [p]`, an
/// error as `error invalid_request at /path: message`, problems as `code at /path: message`.
fn shown(v: &Value) -> String {
    const ORDER: [&str; 8] = [
        "action",
        "reason",
        "policies",
        "approval_flows",
        "satisfied",
        "step_up",
        "code",
        "path",
    ];
    let item = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => format!(
            "[{}]",
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    };
    let at = |path: &str| {
        if path.is_empty() {
            String::new()
        } else {
            format!(" at {path}")
        }
    };
    match v {
        Value::Object(m) if m.contains_key("error") => {
            let code = m.get("error").map(item).unwrap_or_default();
            let path = m
                .get("path")
                .and_then(Value::as_str)
                .map(at)
                .unwrap_or_default();
            match m.get("message").and_then(Value::as_str) {
                Some(message) => format!("error {code}{path}: {message}"),
                None => format!("error {code}{path}"),
            }
        }
        Value::Object(m) if m.contains_key("code") && m.contains_key("path") && m.len() == 2 => {
            let path = m.get("path").and_then(Value::as_str).unwrap_or_default();
            let path = if path.is_empty() { "the root" } else { path };
            format!("{} at {path}", m.get("code").map(item).unwrap_or_default())
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
            keys.iter()
                .filter_map(|k| Some(format!("{k} {}", item(m.get(k.as_str())?))))
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::Array(problems) if problems.iter().all(|p| p.get("code").is_some()) => problems
            .iter()
            .map(|p| {
                let path = p.get("path").and_then(Value::as_str).unwrap_or_default();
                let path = if path.is_empty() { "the root" } else { path };
                format!(
                    "{} at {path}: {}",
                    p.get("code").map(item).unwrap_or_default(),
                    p.get("message").and_then(Value::as_str).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// A test file as written. Unknown fields are refused: a misspelt `expect` or `cases` would
/// otherwise make a check silently vanish.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(rename = "description")]
    _description: Option<String>,
    document: Option<Box<RawValue>>,
    document_file: Option<String>,
    cases: Option<Vec<Case>>,
    expect_errors: Option<Vec<ExpectedError>>,
    approvals: Option<Vec<Scenario>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: Option<String>,
    /// Kept as written, so the core parses exactly the text of the file.
    request: Box<RawValue>,
    expect: Option<Expect>,
    expect_error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policies: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approval_flows: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    satisfied: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step_up: Option<Vec<StepUpRequirement>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedError {
    code: String,
    path: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    name: Option<String>,
    request: Option<Box<RawValue>>,
    flow: Option<Value>,
    id: Option<Value>,
    now: Option<Value>,
    state: Option<Value>,
    expect_open: Option<Value>,
    expect_open_error: Option<String>,
    #[serde(default)]
    steps: Vec<Step>,
    expect_grant: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    op: String,
    by: Option<Value>,
    groups: Option<Value>,
    now: Option<Value>,
    expect: Option<Value>,
    expect_error: Option<String>,
}

/// Runs one test file given its bytes; never fails: whatever goes wrong is in the report.
pub fn run_test_file(name: &str, text: &[u8], resolve: &mut Resolver<'_>) -> FileReport {
    match try_run(name, text, resolve) {
        Ok(report) => report,
        Err(NotRun(message, actual)) => {
            let mut report = FileReport::not_run(name, message);
            if let Some(failure) = report.failures.first_mut() {
                failure.actual = actual;
            }
            report
        }
    }
}

/// Why a file could not run: a message, and the problems of a document that does not load.
struct NotRun(String, Option<Value>);

impl From<String> for NotRun {
    fn from(message: String) -> Self {
        NotRun(message, None)
    }
}

impl From<&str> for NotRun {
    fn from(message: &str) -> Self {
        NotRun(message.to_owned(), None)
    }
}

fn try_run(name: &str, text: &[u8], resolve: &mut Resolver<'_>) -> Result<FileReport, NotRun> {
    let test: TestFile =
        serde_json::from_slice(text).map_err(|e| format!("not a valid test file: {e}"))?;
    let document = match (&test.document, &test.document_file) {
        (Some(doc), None) => doc.get().as_bytes().to_vec(),
        (None, Some(rel)) => {
            resolve(rel).map_err(|e| format!("cannot read its document_file `{rel}`: {e}"))?
        }
        (Some(_), Some(_)) => {
            return Err(
                "not a valid test file: it has both `document` and `document_file`; give one"
                    .into(),
            )
        }
        (None, None) => {
            return Err("not a valid test file: it needs `document` or `document_file`".into())
        }
    };
    let loaded = PolicySet::from_slice_with_limits(&document, &Limits::default());
    let mut report = FileReport {
        file: name.to_owned(),
        kind: "cases",
        cases: 0,
        approvals: 0,
        expected_errors: 0,
        failed: 0,
        failures: Vec::new(),
    };
    fn has<T>(list: &Option<Vec<T>>) -> Option<usize> {
        list.as_ref().map(Vec::len)
    }
    match (
        has(&test.cases),
        has(&test.approvals),
        has(&test.expect_errors),
    ) {
        (_, _, Some(0)) => {
            Err("not a valid test file: `expect_errors` is empty, so it checks nothing".into())
        }
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => Err(
            "not a valid test file: it has both cases or approvals and `expect_errors`; give one"
                .into(),
        ),
        (None, None, Some(_)) => {
            let expected = test.expect_errors.unwrap_or_default();
            report.kind = "expected_errors";
            report.expected_errors = expected.len();
            check_errors(
                &mut report,
                loaded.err().as_ref().map(|e| e.problems()),
                &expected,
            )?;
            Ok(report)
        }
        (None, None, None) => {
            Err("not a valid test file: it needs `cases`, `approvals` or `expect_errors`".into())
        }
        (cases, approvals, None) => {
            if cases == Some(0) && approvals.unwrap_or(0) == 0 {
                return Err("not a valid test file: `cases` is empty, so it checks nothing".into());
            }
            if approvals == Some(0) && cases.is_none() {
                return Err(
                    "not a valid test file: `approvals` is empty, so it checks nothing".into(),
                );
            }
            let set = loaded.map_err(|e| {
                let n = e.problems().len();
                NotRun(
                    format!(
                        "the document does not load ({n} error{}), so no case can run",
                        if n == 1 { "" } else { "s" }
                    ),
                    serde_json::to_value(e.problems()).ok(),
                )
            })?;
            let cases = test.cases.unwrap_or_default();
            report.cases = cases.len();
            for (i, case) in cases.iter().enumerate() {
                check_case(&mut report, &set, i, case);
            }
            let scenarios = test.approvals.unwrap_or_default();
            report.approvals = scenarios.len();
            for (i, scenario) in scenarios.iter().enumerate() {
                check_scenario(&mut report, &set, i, scenario);
            }
            Ok(report)
        }
    }
}

/// One line for a document problem: `code at /path: message`.
pub fn problem_line(p: &Problem) -> String {
    let at = if p.path().is_empty() {
        "the root"
    } else {
        p.path()
    };
    format!("{} at {at}: {}", p.code(), p.message())
}

fn label(kind: &str, name: Option<&String>, index: usize) -> (String, String) {
    match name {
        Some(n) => (n.clone(), format!("{kind} `{n}`")),
        None => (format!("#{}", index + 1), format!("{kind} #{}", index + 1)),
    }
}

fn fail(
    report: &mut FileReport,
    case: &str,
    message: String,
    expected: Option<Value>,
    actual: Option<Value>,
) {
    report.failures.push(TestFailure {
        case: Some(case.to_owned()),
        message,
        expected,
        actual,
    });
}

/// The fields of a decision a case can expect; `satisfied` and `step_up` only when not empty.
fn decision_value(d: &OwnedDecision) -> Value {
    let mut v = serde_json::json!({
        "action": d.action,
        "reason": d.reason,
        "policies": d.policies,
        "approval_flows": d.approval_flows,
    });
    if let Some(obj) = v.as_object_mut() {
        if !d.satisfied.is_empty() {
            obj.insert("satisfied".into(), serde_json::json!(d.satisfied));
        }
        if !d.step_up.is_empty() {
            obj.insert("step_up".into(), serde_json::json!(d.step_up));
        }
    }
    v
}

fn error_value(code: &str, path: Option<&str>, message: Option<&str>) -> Value {
    let mut v = serde_json::json!({ "error": code });
    if let (Some(obj), Some(path)) = (v.as_object_mut(), path) {
        obj.insert("path".into(), path.into());
    }
    if let (Some(obj), Some(message)) = (v.as_object_mut(), message) {
        obj.insert("message".into(), message.into());
    }
    v
}

fn check_case(report: &mut FileReport, set: &PolicySet, index: usize, case: &Case) {
    let (name, label) = label("case", case.name.as_ref(), index);
    let request =
        Request::from_slice_with_limits(case.request.get().as_bytes(), &Limits::default());
    let (message, expected, actual) = match (&case.expect, &case.expect_error) {
        (Some(expect), None) => {
            let expected = serde_json::to_value(expect).ok();
            match request {
                Ok(request) => {
                    let decision = set.evaluate(&request).to_owned_decision();
                    let differ = differences(expect, &decision);
                    if differ.is_empty() {
                        return;
                    }
                    let verb = if differ.len() == 1 {
                        "differs"
                    } else {
                        "differ"
                    };
                    (
                        format!("{} {verb}", differ.join(", ")),
                        expected,
                        decision_value(&decision),
                    )
                }
                Err(e) => (
                    "the request is rejected".to_owned(),
                    expected,
                    error_value(e.code().as_str(), Some(e.path()), Some(e.message())),
                ),
            }
        }
        (None, Some(code)) => {
            let want = Some(error_value(code, None, None));
            match request {
                Err(e) if e.code().as_str() == code => return,
                Err(e) => (
                    format!("the request is rejected with another error than `{code}`"),
                    want,
                    error_value(e.code().as_str(), Some(e.path()), Some(e.message())),
                ),
                Ok(request) => (
                    format!("the request is accepted, but error `{code}` is expected"),
                    want,
                    decision_value(&set.evaluate(&request).to_owned_decision()),
                ),
            }
        }
        (Some(_), Some(_)) => (
            "not a valid case: it has both `expect` and `expect_error`; give one".to_owned(),
            None,
            Value::Null,
        ),
        (None, None) => (
            "not a valid case: it needs `expect` or `expect_error`".to_owned(),
            None,
            Value::Null,
        ),
    };
    let actual = (!actual.is_null()).then_some(actual);
    fail(
        report,
        &name,
        format!("{label}: {message}"),
        expected,
        actual,
    );
    report.failed += 1;
}

/// Compares as SPEC §6 says: `action` always; the other fields when the expectation gives
/// them, lists as sets except `step_up`, compared in order. Returns the fields that differ.
fn differences(expect: &Expect, actual: &OwnedDecision) -> Vec<&'static str> {
    let set = |items: &[String]| items.iter().cloned().collect::<BTreeSet<String>>();
    let mut differ = Vec::new();
    if expect.action != actual.action {
        differ.push("action");
    }
    if expect.reason.is_some_and(|r| r != actual.reason) {
        differ.push("reason");
    }
    for (name, want, got) in [
        ("policies", &expect.policies, &actual.policies),
        (
            "approval_flows",
            &expect.approval_flows,
            &actual.approval_flows,
        ),
        ("satisfied", &expect.satisfied, &actual.satisfied),
    ] {
        if want.as_ref().is_some_and(|w| set(w) != set(got)) {
            differ.push(name);
        }
    }
    if expect
        .step_up
        .as_ref()
        .is_some_and(|s| *s != actual.step_up)
    {
        differ.push("step_up");
    }
    differ
}

/// Fields of `expected` (an object) that `actual` does not have with an equal value.
fn subset_differences(expected: &Value, actual: &Value) -> Vec<String> {
    match expected {
        Value::Object(fields) => fields
            .iter()
            .filter(|(k, v)| actual.get(k.as_str()) != Some(v))
            .map(|(k, _)| k.clone())
            .collect(),
        _ => vec!["(the expectation is not an object)".to_owned()],
    }
}

fn check_scenario(report: &mut FileReport, set: &PolicySet, index: usize, scenario: &Scenario) {
    let before = report.failures.len();
    replay(report, set, index, scenario);
    // One scenario counts once, however many of its checks failed.
    if report.failures.len() > before {
        report.failed += 1;
    }
}

fn replay(report: &mut FileReport, set: &PolicySet, index: usize, scenario: &Scenario) {
    let (name, label) = label("approval scenario", scenario.name.as_ref(), index);
    let bad = |report: &mut FileReport, message: String, e: Option<Value>, a: Option<Value>| {
        fail(report, &name, format!("{label}: {message}"), e, a);
    };
    let mut state = match (&scenario.state, &scenario.request) {
        (Some(state), None) => state.clone(),
        (None, Some(request)) => {
            let opened = open(set, scenario, request);
            match (&scenario.expect_open_error, opened) {
                (Some(code), Err(e)) if e.code().as_str() == code => return,
                (Some(code), Err(e)) => {
                    bad(
                        report,
                        format!("open fails with `{}`, not `{code}`", e.code()),
                        Some(error_value(code, None, None)),
                        Some(error_value(e.code().as_str(), None, Some(e.message()))),
                    );
                    return;
                }
                (Some(code), Ok(state)) => {
                    bad(
                        report,
                        format!("open succeeds, but error `{code}` is expected"),
                        Some(error_value(code, None, None)),
                        Some(state),
                    );
                    return;
                }
                (None, Err(e)) => {
                    bad(
                        report,
                        format!("open fails with `{}`: {}", e.code(), e.message()),
                        scenario.expect_open.clone(),
                        Some(error_value(e.code().as_str(), None, Some(e.message()))),
                    );
                    return;
                }
                (None, Ok(state)) => state,
            }
        }
        _ => {
            bad(
                report,
                "not a valid scenario: it needs `request` (with `flow`, `id`, `now`) or `state`"
                    .to_owned(),
                None,
                None,
            );
            return;
        }
    };
    if let Some(expected) = &scenario.expect_open {
        let differ = subset_differences(expected, &state);
        if !differ.is_empty() {
            bad(
                report,
                format!("after open, {} differ", differ.join(", ")),
                Some(expected.clone()),
                Some(state.clone()),
            );
        }
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        let null = Value::Null;
        let now = step.now.as_ref().unwrap_or(&null);
        let by = step.by.as_ref().unwrap_or(&null);
        let op = match step.op.as_str() {
            "approve" => ApprovalOp::Approve(by, now, step.groups.as_ref()),
            "reject" => ApprovalOp::Reject(by, now, step.groups.as_ref()),
            "cancel" => ApprovalOp::Cancel(now),
            "tick" => ApprovalOp::Tick(now),
            other => {
                bad(
                    report,
                    format!("step {}: unknown op `{other}`", i + 1),
                    None,
                    None,
                );
                return;
            }
        };
        let what = format!("step {} ({})", i + 1, step.op);
        match (set.apply_approval(&state, op), &step.expect_error) {
            (Err(e), Some(code)) if e.code().as_str() == code => {}
            (Err(e), Some(code)) => bad(
                report,
                format!("{what} fails with `{}`, not `{code}`", e.code()),
                Some(error_value(code, None, None)),
                Some(error_value(e.code().as_str(), None, Some(e.message()))),
            ),
            (Err(e), None) => bad(
                report,
                format!("{what} fails with `{}`: {}", e.code(), e.message()),
                step.expect.clone(),
                Some(error_value(e.code().as_str(), None, Some(e.message()))),
            ),
            (Ok(next), Some(code)) => {
                let next = next.to_value();
                bad(
                    report,
                    format!("{what} succeeds, but error `{code}` is expected"),
                    Some(error_value(code, None, None)),
                    Some(next.clone()),
                );
                state = next;
            }
            (Ok(next), None) => {
                let next = next.to_value();
                if let Some(expected) = &step.expect {
                    let differ = subset_differences(expected, &next);
                    if !differ.is_empty() {
                        bad(
                            report,
                            format!("after {what}, {} differ", differ.join(", ")),
                            Some(expected.clone()),
                            Some(next.clone()),
                        );
                    }
                }
                state = next;
            }
        }
    }
    if let Some(expected) = &scenario.expect_grant {
        let grant = set.grant_value(&state);
        match (expected.get("error").and_then(Value::as_str), grant) {
            (Some(code), Err(e)) if e.code().as_str() == code => {}
            (Some(code), Err(e)) => bad(
                report,
                format!("grant fails with `{}`, not `{code}`", e.code()),
                Some(expected.clone()),
                Some(error_value(e.code().as_str(), None, Some(e.message()))),
            ),
            (Some(code), Ok(g)) => bad(
                report,
                format!("grant succeeds, but error `{code}` is expected"),
                Some(expected.clone()),
                Some(g.to_value()),
            ),
            (None, Err(e)) => bad(
                report,
                format!("grant fails with `{}`: {}", e.code(), e.message()),
                Some(expected.clone()),
                Some(error_value(e.code().as_str(), None, Some(e.message()))),
            ),
            (None, Ok(g)) => {
                let g = g.to_value();
                let differ = subset_differences(expected, &g);
                if !differ.is_empty() {
                    bad(
                        report,
                        format!("the grant's {} differ", differ.join(", ")),
                        Some(expected.clone()),
                        Some(g),
                    );
                }
            }
        }
    }
}

fn open(set: &PolicySet, scenario: &Scenario, request: &RawValue) -> Result<Value, ApprovalError> {
    let null = Value::Null;
    let flow = scenario.flow.as_ref().unwrap_or(&null);
    let id = scenario.id.as_ref().unwrap_or(&null);
    let now = scenario.now.as_ref().unwrap_or(&null);
    let text = |v: &Value, what: &str| match v {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        _ => Err(ApprovalError::new(
            crate::approval::ApprovalCode::InvalidRequest,
            format!("{what} must be a non-empty string"),
        )),
    };
    let flow = text(flow, "`flow`")?;
    let id = text(id, "`id`")?;
    let now = approval_instant(now)?;
    let request = Request::from_slice_with_limits(request.get().as_bytes(), &Limits::default())
        .map_err(|e| {
            ApprovalError::new(
                crate::approval::ApprovalCode::InvalidRequest,
                format!("invalid request: {e}"),
            )
        })?;
    set.open_approval(&request, &flow, &id, now)
        .map(|s| s.to_value())
}

/// Checks that the document failed to load with at least the expected code/path pairs.
fn check_errors(
    report: &mut FileReport,
    problems: Option<&[Problem]>,
    expected: &[ExpectedError],
) -> Result<(), NotRun> {
    let pointer = |p: &str| {
        if p.is_empty() {
            "the root".to_owned()
        } else {
            p.to_owned()
        }
    };
    let Some(problems) = problems else {
        let pairs: Vec<String> = expected
            .iter()
            .map(|e| format!("{} at {}", e.code, pointer(&e.path)))
            .collect();
        return Err(format!(
            "the document loads, but it must fail with: {}",
            pairs.join("; ")
        )
        .into());
    };
    let found: BTreeSet<(&str, &str)> = problems
        .iter()
        .map(|p| (p.code().as_str(), p.path()))
        .collect();
    for e in expected {
        if found.contains(&(e.code.as_str(), e.path.as_str())) {
            continue;
        }
        report.failed += 1;
        report.failures.push(TestFailure {
            case: None,
            message: format!("missing error {} at {}", e.code, pointer(&e.path)),
            expected: Some(serde_json::json!({ "code": e.code, "path": e.path })),
            actual: serde_json::to_value(problems).ok(),
        });
    }
    Ok(())
}

/// The outcome of running several test files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    /// Checks that passed, over every file.
    pub passed: usize,
    /// Checks that failed, plus one for each file that could not run.
    pub failed: usize,
    /// Each file's report, in the order run.
    pub files: Vec<FileReport>,
}

impl TestReport {
    /// Gathers file reports.
    pub fn new(files: Vec<FileReport>) -> TestReport {
        TestReport {
            passed: files.iter().map(FileReport::passed).sum(),
            failed: files.iter().map(|f| f.failed).sum(),
            files,
        }
    }

    /// Every file's text, then the closing line `N passed, M failed`.
    pub fn to_text(&self, escape: &dyn Fn(&str) -> String) -> String {
        let mut out: String = self.files.iter().map(|f| f.to_text(escape)).collect();
        let _ = writeln!(out, "{} passed, {} failed", self.passed, self.failed);
        out
    }

    /// Whether every check passed and at least one ran.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.passed > 0
    }
}
