//! Runs policy test files (SPEC §6): each case's request is decided by the core and compared
//! with its expectation; a document that must not load is checked for the expected problems.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use agen_policy_core::{Action, Limits, OwnedDecision, PolicySet, Reason, Request, RequestError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::input::{io_reason, read_file, too_large, ReadError};
use crate::show::escaped;
use crate::{counted, reported, Fatal, ReportedProblem};

/// One thing to run, found from the command line's paths.
#[derive(Debug)]
pub enum Source {
    /// A test file.
    File(PathBuf),
    /// A directory without any `*.json` file directly inside: reported as a failure, since
    /// running nothing must not look like success.
    EmptyDir(PathBuf),
}

/// Expands the given paths: a file stands for itself, a directory for every `*.json` file
/// directly inside it, in name order.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<Source>, Fatal> {
    let unreadable = |path: &Path, e: &std::io::Error| {
        Fatal::Unreadable(format!(
            "cannot read `{}`: {}",
            escaped(&path.display().to_string()),
            io_reason(e)
        ))
    };
    let mut sources = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| unreadable(path, &e))?;
        if !meta.is_dir() {
            sources.push(Source::File(path.clone()));
            continue;
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| unreadable(path, &e))? {
            let entry = entry.map_err(|e| unreadable(path, &e))?;
            let file = entry.path();
            if file.extension().is_some_and(|ext| ext == "json") && file.is_file() {
                files.push(file);
            }
        }
        if files.is_empty() {
            sources.push(Source::EmptyDir(path.clone()));
        }
        files.sort();
        sources.extend(files.into_iter().map(Source::File));
    }
    Ok(sources)
}

/// The outcome of a run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Checks that passed: cases, and expected-error entries.
    pub passed: usize,
    /// Checks that failed, plus one for each test file that could not run at all.
    pub failed: usize,
    /// Every failure, in the order found.
    pub failures: Vec<Failure>,
    #[serde(skip)]
    files: Vec<FileResult>,
}

/// One failed check, or a test file that could not run.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// The test file.
    pub file: String,
    /// The case's name, for a failed case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// What went wrong, in one line.
    pub message: String,
    /// What the test file expects, as far as it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Shown>,
    /// What happened instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Shown>,
    /// The text rendering of `expected` and `actual`, one line each.
    #[serde(skip)]
    detail: Vec<String>,
}

/// An expectation or an outcome, as reported in a failure.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Shown {
    /// A case's `expect`, with only the fields it gives (lists sorted, without repeats).
    Expect {
        /// The expected action.
        action: Action,
        /// The expected reason, if given.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
        /// The expected policies, if given.
        #[serde(skip_serializing_if = "Option::is_none")]
        policies: Option<BTreeSet<String>>,
        /// The expected approval flows, if given.
        #[serde(skip_serializing_if = "Option::is_none")]
        approval_flows: Option<BTreeSet<String>>,
    },
    /// The decision the core made: the fields a case can expect.
    Decision {
        /// The action.
        action: Action,
        /// The reason.
        reason: Reason,
        /// The determining policies.
        policies: Vec<String>,
        /// The approval flows.
        approval_flows: Vec<String>,
    },
    /// A request error, expected (only its code) or actual.
    Error {
        /// The error's code.
        error: String,
        /// Where in the request, for an actual error.
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// What is wrong, for an actual error.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// An expected document error.
    ExpectedError {
        /// Its code.
        code: String,
        /// Its path.
        path: String,
    },
    /// The document's problems.
    Problems(Vec<ReportedProblem>),
}

#[derive(Debug)]
struct FileResult {
    file: String,
    kind: CheckKind,
    checks: usize,
    failed: usize,
    /// Indices into [`Report::failures`].
    failures: std::ops::Range<usize>,
}

#[derive(Debug, Clone, Copy)]
enum CheckKind {
    Cases,
    ExpectedErrors,
    /// The file could not run.
    None,
}

/// Runs every source, never stopping at a failure.
pub fn run(sources: &[Source]) -> Report {
    let mut report = Report {
        passed: 0,
        failed: 0,
        failures: Vec::new(),
        files: Vec::new(),
    };
    for source in sources {
        let first = report.failures.len();
        let (file, kind, checks, failures) = match source {
            Source::File(path) => {
                let mut run = FileRun {
                    file: path.display().to_string(),
                    failures: Vec::new(),
                };
                let (kind, checks) = run.run(path);
                (run.file, kind, checks, run.failures)
            }
            Source::EmptyDir(path) => {
                let file = path.display().to_string();
                let failure = Failure::file(&file, "no `*.json` test files in this directory");
                (file, CheckKind::None, 0, vec![failure])
            }
        };
        // A file that could not run counts as one failure; otherwise each check counts.
        let failed = failures.len();
        report.failed += failed;
        report.passed += checks.saturating_sub(failed);
        report.failures.extend(failures);
        report.files.push(FileResult {
            file,
            kind,
            checks,
            failed,
            failures: first..report.failures.len(),
        });
    }
    report
}

impl Report {
    /// The report for people: one line per file, each failure with expected against actual,
    /// and a last line `N passed, M failed`. File names, messages and details quote test files
    /// and are escaped, so none can end its line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let what = match f.kind {
                CheckKind::Cases => Some(("case", "cases")),
                CheckKind::ExpectedErrors => Some(("expected error", "expected errors")),
                CheckKind::None => None,
            };
            match (f.failed, what) {
                (0, Some((one, many))) => {
                    let _ = writeln!(
                        out,
                        "ok    {}  ({})",
                        escaped(&f.file),
                        counted(f.checks, one, many)
                    );
                }
                (n, Some((one, many))) if f.checks > 0 => {
                    let verb = match f.kind {
                        CheckKind::ExpectedErrors => "missing",
                        _ => "failed",
                    };
                    let _ = writeln!(
                        out,
                        "FAIL  {}  ({n} of {} {verb})",
                        escaped(&f.file),
                        counted(f.checks, one, many)
                    );
                }
                _ => {
                    let _ = writeln!(out, "FAIL  {}", escaped(&f.file));
                }
            }
            for failure in self.failures.get(f.failures.clone()).unwrap_or_default() {
                let _ = writeln!(out, "      {}", escaped(&failure.message));
                for line in &failure.detail {
                    let _ = writeln!(out, "          {}", escaped(line));
                }
            }
        }
        let _ = writeln!(out, "{} passed, {} failed", self.passed, self.failed);
        out
    }
}

impl Failure {
    fn file(file: &str, message: impl Into<String>) -> Self {
        Failure {
            file: file.to_owned(),
            case: None,
            message: message.into(),
            expected: None,
            actual: None,
            detail: Vec::new(),
        }
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    action: Action,
    reason: Option<Reason>,
    policies: Option<Vec<String>>,
    approval_flows: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedError {
    code: String,
    path: String,
}

/// Why a test file cannot run: what is wrong, in one line, and the document's problems when
/// it is that the document does not load.
struct Broken {
    message: String,
    problems: Vec<ReportedProblem>,
}

impl From<String> for Broken {
    fn from(message: String) -> Self {
        Broken {
            message,
            problems: Vec::new(),
        }
    }
}

impl From<&str> for Broken {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

struct FileRun {
    file: String,
    failures: Vec<Failure>,
}

impl FileRun {
    /// Runs one file; returns what it checks and how many checks it holds.
    fn run(&mut self, path: &Path) -> (CheckKind, usize) {
        match self.try_run(path) {
            Ok(result) => result,
            Err(Broken { message, problems }) => {
                let failure = Failure {
                    detail: problems.iter().map(ReportedProblem::to_line).collect(),
                    actual: (!problems.is_empty()).then_some(Shown::Problems(problems)),
                    ..Failure::file(&self.file, message)
                };
                self.failures.push(failure);
                (CheckKind::None, 0)
            }
        }
    }

    fn try_run(&mut self, path: &Path) -> Result<(CheckKind, usize), Broken> {
        let limits = Limits::default();
        // A test file holds a document and requests; it may be as large as a document.
        let text = read_file(path, limits.max_document_bytes).map_err(|e| match e {
            ReadError::Unreadable(e) => format!("cannot read it: {}", io_reason(&e)),
            ReadError::TooLarge { limit } => format!(
                "cannot read it: {}: {}",
                agen_policy_core::Code::LimitExceeded,
                too_large("test file", limit)
            ),
        })?;
        let test: TestFile =
            serde_json::from_slice(&text).map_err(|e| format!("not a valid test file: {e}"))?;
        let document = match (&test.document, &test.document_file) {
            (Some(doc), None) => Ok(doc.get().as_bytes().to_vec()),
            (None, Some(rel)) => {
                let doc_path = path.parent().unwrap_or(Path::new("")).join(rel);
                match read_file(&doc_path, limits.max_document_bytes) {
                    Ok(bytes) => Ok(bytes),
                    // Too large is a document that does not load, as a core limit would be.
                    Err(ReadError::TooLarge { limit }) => Err(ReportedProblem::too_large(limit)),
                    Err(ReadError::Unreadable(e)) => {
                        return Err(format!(
                            "cannot read its document_file `{}`: {}",
                            doc_path.display(),
                            io_reason(&e)
                        )
                        .into())
                    }
                }
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
        let loaded = match document {
            Ok(bytes) => PolicySet::from_slice_with_limits(&bytes, &limits)
                .map_err(|e| reported(e.problems())),
            Err(problem) => Err(vec![problem]),
        };
        match (test.cases, test.expect_errors) {
            (Some(cases), None) if !cases.is_empty() => {
                let set = loaded.map_err(|problems| Broken {
                    message: format!(
                        "the document does not load ({}), so no case can run:",
                        counted(problems.len(), "error", "errors")
                    ),
                    problems,
                })?;
                for (i, case) in cases.iter().enumerate() {
                    self.check_case(&set, i, case);
                }
                Ok((CheckKind::Cases, cases.len()))
            }
            (None, Some(expected)) if !expected.is_empty() => {
                self.check_errors(loaded.err().as_deref(), &expected)?;
                Ok((CheckKind::ExpectedErrors, expected.len()))
            }
            (Some(_), Some(_)) => Err(
                "not a valid test file: it has both `cases` and `expect_errors`; give one".into(),
            ),
            (Some(_), None) => {
                Err("not a valid test file: `cases` is empty, so it checks nothing".into())
            }
            (None, Some(_)) => {
                Err("not a valid test file: `expect_errors` is empty, so it checks nothing".into())
            }
            (None, None) => {
                Err("not a valid test file: it needs `cases` or `expect_errors`".into())
            }
        }
    }

    fn check_case(&mut self, set: &PolicySet, index: usize, case: &Case) {
        // A case is named by its `name`, else by its position.
        let (name, label) = match &case.name {
            Some(n) => (n.clone(), format!("case `{n}`")),
            None => (format!("#{}", index + 1), format!("case #{}", index + 1)),
        };
        let request =
            Request::from_slice_with_limits(case.request.get().as_bytes(), &Limits::default());
        let (message, expected, actual) = match (&case.expect, &case.expect_error) {
            (Some(expect), None) => match request {
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
                        shown_expect(expect),
                        shown_decision(decision),
                    )
                }
                Err(e) => (
                    "the request is rejected".to_owned(),
                    shown_expect(expect),
                    shown_error(&e),
                ),
            },
            (None, Some(code)) => {
                let want = Shown::Error {
                    error: code.clone(),
                    path: None,
                    message: None,
                };
                match request {
                    Err(e) if e.code() == code => return,
                    Err(e) => (
                        format!("the request is rejected with another error than `{code}`"),
                        want,
                        shown_error(&e),
                    ),
                    Ok(request) => (
                        format!("the request is accepted, but error `{code}` is expected"),
                        want,
                        shown_decision(set.evaluate(&request).to_owned_decision()),
                    ),
                }
            }
            (Some(_), Some(_)) => {
                self.invalid_case(
                    name,
                    &label,
                    "it has both `expect` and `expect_error`; give one",
                );
                return;
            }
            (None, None) => {
                self.invalid_case(name, &label, "it needs `expect` or `expect_error`");
                return;
            }
        };
        self.failures.push(Failure {
            file: self.file.clone(),
            case: Some(name),
            message: format!("{label}: {message}"),
            detail: vec![
                format!("expected: {}", shown_text(&expected)),
                format!("actual:   {}", shown_text(&actual)),
            ],
            expected: Some(expected),
            actual: Some(actual),
        });
    }

    fn invalid_case(&mut self, name: String, label: &str, why: &str) {
        self.failures.push(Failure {
            case: Some(name),
            ..Failure::file(&self.file, format!("{label}: not a valid case: {why}"))
        });
    }

    /// Checks that the document failed to load with at least the expected code/path pairs.
    fn check_errors(
        &mut self,
        problems: Option<&[ReportedProblem]>,
        expected: &[ExpectedError],
    ) -> Result<(), Broken> {
        let Some(problems) = problems else {
            let pairs: Vec<String> = expected
                .iter()
                .map(|e| format!("{} at {}", e.code, pointer_text(&e.path)))
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
            let mut detail = vec![format!(
                "found {}:",
                counted(problems.len(), "error", "errors")
            )];
            detail.extend(problems.iter().map(|p| format!("  {}", p.to_line())));
            self.failures.push(Failure {
                file: self.file.clone(),
                case: None,
                message: format!("missing error {} at {}", e.code, pointer_text(&e.path)),
                expected: Some(Shown::ExpectedError {
                    code: e.code.clone(),
                    path: e.path.clone(),
                }),
                actual: Some(Shown::Problems(problems.to_vec())),
                detail,
            });
        }
        Ok(())
    }
}

/// Compares as SPEC §6 says: `action` always; `reason`, `policies` and `approval_flows` when
/// the expectation gives them, lists as sets. Returns the fields that differ.
fn differences(expect: &Expect, actual: &OwnedDecision) -> Vec<&'static str> {
    let mut differ = Vec::new();
    if expect.action != actual.action {
        differ.push("action");
    }
    if expect.reason.is_some_and(|r| r != actual.reason) {
        differ.push("reason");
    }
    if expect
        .policies
        .as_ref()
        .is_some_and(|p| as_set(p) != as_set(&actual.policies))
    {
        differ.push("policies");
    }
    if expect
        .approval_flows
        .as_ref()
        .is_some_and(|f| as_set(f) != as_set(&actual.approval_flows))
    {
        differ.push("approval_flows");
    }
    differ
}

fn as_set(items: &[String]) -> BTreeSet<&str> {
    items.iter().map(String::as_str).collect()
}

fn shown_expect(expect: &Expect) -> Shown {
    let owned = |items: &Vec<String>| items.iter().cloned().collect::<BTreeSet<String>>();
    Shown::Expect {
        action: expect.action,
        reason: expect.reason,
        policies: expect.policies.as_ref().map(owned),
        approval_flows: expect.approval_flows.as_ref().map(owned),
    }
}

fn shown_decision(d: OwnedDecision) -> Shown {
    Shown::Decision {
        action: d.action,
        reason: d.reason,
        policies: d.policies,
        approval_flows: d.approval_flows,
    }
}

fn shown_error(e: &RequestError) -> Shown {
    Shown::Error {
        error: e.code().to_owned(),
        path: Some(e.path().to_owned()),
        message: Some(e.message().to_owned()),
    }
}

/// One line for a case's expectation or outcome.
fn shown_text(shown: &Shown) -> String {
    let list = |items: &mut dyn Iterator<Item = &str>| {
        format!("[{}]", items.collect::<Vec<_>>().join(", "))
    };
    match shown {
        Shown::Expect {
            action,
            reason,
            policies,
            approval_flows,
        } => {
            let mut text = format!("action {action}");
            if let Some(reason) = reason {
                let _ = write!(text, ", reason {reason}");
            }
            if let Some(p) = policies {
                let _ = write!(
                    text,
                    ", policies {}",
                    list(&mut p.iter().map(String::as_str))
                );
            }
            if let Some(f) = approval_flows {
                let _ = write!(
                    text,
                    ", approval_flows {}",
                    list(&mut f.iter().map(String::as_str))
                );
            }
            text
        }
        Shown::Decision {
            action,
            reason,
            policies,
            approval_flows,
        } => format!(
            "action {action}, reason {reason}, policies {}, approval_flows {}",
            list(&mut policies.iter().map(String::as_str)),
            list(&mut approval_flows.iter().map(String::as_str))
        ),
        Shown::Error {
            error,
            path,
            message,
        } => match (path, message) {
            (Some(path), Some(message)) if path.is_empty() => format!("error {error}: {message}"),
            (Some(path), Some(message)) => format!("error {error} at {path}: {message}"),
            _ => format!("error {error}"),
        },
        Shown::ExpectedError { code, path } => format!("{code} at {}", pointer_text(path)),
        Shown::Problems(problems) => problems
            .iter()
            .map(ReportedProblem::to_line)
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// A JSON Pointer as shown in messages; the root pointer is empty, so it is named.
fn pointer_text(path: &str) -> &str {
    if path.is_empty() {
        "the root"
    } else {
        path
    }
}
