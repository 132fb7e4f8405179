//! The `agen-policy` command: validates policy documents, evaluates and explains requests
//! against them, and runs policy test files.
//!
//! Every decision is the core's: this binary reads inputs, hands them to `agen-policy-core`
//! and prints what it answers.

mod analysis;
mod input;
mod serve;
mod show;
mod testfile;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use agen_policy_core::{Code, Explanation, Limits, PolicySet, Problem, Request};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::input::{display_name, is_stdin, ReadError, RequestFlags};
use crate::show::{escaped, escaped_lines};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (for validate: no errors, warnings alone are fine)
  1  the policy document is invalid, or a test failed; for lint: an error finding;
     for diff --fail-on-new-access: a more permissive decision
  2  usage error: bad flags or an invalid request
  3  an input file cannot be read";

/// Validate, evaluate, explain and test agen policy documents.
#[derive(Debug, Parser)]
#[command(name = "agen-policy", version, after_help = EXIT_CODES)]
struct Cli {
    /// Output format: `text` for people, `json` for scripts.
    #[arg(long, value_enum, global = true, default_value_t = Format::Text)]
    format: Format,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a policy document and list its errors and warnings.
    #[command(after_help = EXIT_CODES)]
    Validate {
        /// The policy document, at most 64 MiB (`-` reads standard input).
        document: OsString,
    },
    /// Decide one request: allow, step_up, request_approval or deny.
    #[command(after_help = EXIT_CODES)]
    Eval(RequestArgs),
    /// Decide one request and show, policy by policy, why.
    #[command(after_help = EXIT_CODES)]
    Explain(RequestArgs),
    /// Run policy test files (a directory: every `*.json` directly inside it).
    #[command(after_help = EXIT_CODES)]
    Test {
        /// Test files, or directories of them; a test file is at most 64 MiB.
        #[arg(required = true, value_name = "FILE_OR_DIR")]
        paths: Vec<PathBuf>,
    },
    /// List findings about a policy document: policies that never apply, shadowed or
    /// duplicated policies, tools no policy governs, approvals that cannot happen.
    #[command(after_help = EXIT_CODES)]
    Lint {
        /// The policy document, at most 64 MiB (`-` reads standard input).
        document: OsString,
    },
    /// Show who gets what on one tool, as a function of the request's context.
    #[command(after_help = EXIT_CODES)]
    Access(analysis::AccessArgs),
    /// Compare two policy documents: per user and tool, what a change makes more or less
    /// permissive, with a request that shows it.
    #[command(after_help = EXIT_CODES)]
    Diff(analysis::DiffArgs),
    /// Decide the requests of a decision log again under a policy document.
    #[command(after_help = EXIT_CODES)]
    Replay(analysis::ReplayArgs),
    /// Serve the Policies page, its admin API and the AuthZEN decision API for a document.
    Serve(serve::ServeArgs),
}

/// A document and one request, given either as flags or as a JSON request file.
#[derive(Debug, Args)]
struct RequestArgs {
    /// The policy document, at most 64 MiB (`-` reads standard input).
    document: OsString,

    /// The user the agent acts for.
    #[arg(long, required_unless_present = "request")]
    user: Option<String>,

    /// The connector's id, e.g. `github`.
    #[arg(long, required_unless_present = "request")]
    connector: Option<String>,

    /// The tool's name, e.g. `delete_repository`.
    #[arg(long, required_unless_present = "request")]
    tool: Option<String>,

    /// A group claim of the user (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,

    /// One top-level context key with a string value, exactly the text after the first `=`
    /// (`agent.version=2.1` is the string "2.1"); repeatable. A dotted key such as
    /// `agent.type` stays one key.
    #[arg(long, value_name = "KEY=VALUE")]
    context: Vec<String>,

    /// One top-level context key with a JSON value: a number, boolean, null, string, list or
    /// object (`agent.trusted=true`, `agent={"type": "Claude"}`); repeatable.
    #[arg(long, value_name = "KEY=JSON")]
    context_json: Vec<String>,

    /// Evidence (SPEC §7.2): the instant of the request from the host's clock, as RFC 3339
    /// with an offset or integer Unix milliseconds. `--auth-time` and `--grant` need it.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,

    /// Evidence: when the user last authenticated (RFC 3339 or Unix milliseconds).
    #[arg(long, value_name = "TIME", requires = "now")]
    auth_time: Option<String>,

    /// Evidence: the class of that authentication (OIDC `acr`).
    #[arg(long, value_name = "ACR", requires = "auth_time")]
    acr: Option<String>,

    /// Evidence: an approval grant as JSON (what an approved request's grant is), at most
    /// 1 MiB; repeatable.
    #[arg(long = "grant", value_name = "FILE", requires = "now")]
    grants: Vec<OsString>,

    /// The tool call's arguments as JSON; their digest (`arguments_digest`) goes in the
    /// request, to match grants bound to them.
    #[arg(long, value_name = "JSON")]
    arguments: Option<String>,

    /// A whole request as JSON (`{"user": …, "connector": …, "tool": …, "groups": […],
    /// "context": {…}}`), at most 1 MiB; `-` reads standard input.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = [
            "user", "connector", "tool", "groups", "context", "context_json",
            "now", "auth_time", "acr", "grants", "arguments"
        ]
    )]
    request: Option<OsString>,
}

/// Why a command could not do its work. Each kind has its exit code.
#[derive(Debug)]
pub enum Fatal {
    /// Bad flags or an invalid request: exit 2.
    Usage(String),
    /// An input that cannot be read: exit 3.
    Unreadable(String),
    /// A policy document that does not load: exit 1.
    Invalid(String),
}

impl Fatal {
    fn exit_code(&self) -> u8 {
        match self {
            Fatal::Invalid(_) => 1,
            Fatal::Usage(_) => 2,
            Fatal::Unreadable(_) => 3,
        }
    }

    fn message(&self) -> &str {
        match self {
            Fatal::Usage(m) | Fatal::Unreadable(m) | Fatal::Invalid(m) => m,
        }
    }
}

/// What a command prints on standard output, and its exit code.
pub(crate) struct Outcome {
    stdout: String,
    code: u8,
}

impl Outcome {
    fn success(stdout: String) -> Self {
        Outcome { stdout, code: 0 }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2, escaped as
            // they quote the arguments. A closed stream changes neither.
            if e.use_stderr() {
                let _ = write!(io::stderr(), "{}", escaped_lines(&e.render().to_string()));
            } else {
                let _ = e.print();
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(&cli) {
        Ok(outcome) => {
            // INVARIANT: no control or bidirectional character but the line break reaches the
            // terminal. User text is escaped where it is put into a line, so that it cannot end
            // the line; this last pass covers what the core renders (values in explanations).
            let text = escaped_lines(&outcome.stdout);
            let mut stdout = io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::from(outcome.code),
                // A reader that went away (`| head`) does not make the result wrong.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(outcome.code),
                Err(e) => {
                    let _ = writeln!(
                        io::stderr(),
                        "error: cannot write to standard output: {}",
                        input::io_reason(&e)
                    );
                    ExitCode::from(3)
                }
            }
        }
        Err(fatal) => {
            let _ = writeln!(io::stderr(), "error: {}", escaped_lines(fatal.message()));
            ExitCode::from(fatal.exit_code())
        }
    }
}

fn run(cli: &Cli) -> Result<Outcome, Fatal> {
    match &cli.command {
        Command::Validate { document } => validate(document, cli.format),
        Command::Eval(args) => eval(args, cli.format),
        Command::Explain(args) => explain(args, cli.format),
        Command::Test { paths } => test(paths, cli.format),
        Command::Lint { document } => analysis::lint(document, cli.format),
        Command::Access(args) => analysis::access(args, cli.format),
        Command::Diff(args) => analysis::diff(args, cli.format),
        Command::Replay(args) => analysis::replay(args, cli.format),
        Command::Serve(args) => serve::run(args).map(|()| Outcome::success(String::new())),
    }
}

fn validate(document: &OsString, format: Format) -> Result<Outcome, Fatal> {
    let limits = Limits::default();
    let (problems, warnings) = match input::read(document, limits.max_document_bytes) {
        Ok(bytes) => {
            let validation = agen_policy_core::validate(&bytes, &limits);
            (
                reported(&validation.problems),
                reported(&validation.warnings),
            )
        }
        Err(ReadError::TooLarge { limit }) => (vec![ReportedProblem::too_large(limit)], Vec::new()),
        Err(e) => return Err(e.into_fatal("document", document)),
    };
    let valid = problems.is_empty();
    let stdout = match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Report<'a> {
                valid: bool,
                problems: &'a [ReportedProblem],
                warnings: &'a [ReportedProblem],
            }
            to_json(&Report {
                valid,
                problems: &problems,
                warnings: &warnings,
            })?
        }
        Format::Text => {
            let mut out = String::new();
            for p in &problems {
                let _ = writeln!(out, "error: {}", p.to_line());
            }
            for p in &warnings {
                let _ = writeln!(out, "warning: {}", p.to_line());
            }
            let _ = writeln!(
                out,
                "{}: {}, {} and {}",
                plain_name(document),
                if valid { "valid" } else { "invalid" },
                counted(problems.len(), "error", "errors"),
                counted(warnings.len(), "warning", "warnings"),
            );
            out
        }
    };
    Ok(Outcome {
        stdout,
        code: if valid { 0 } else { 1 },
    })
}

fn eval(args: &RequestArgs, format: Format) -> Result<Outcome, Fatal> {
    let (set, request) = load(args)?;
    let decision = set.evaluate(&request);
    Ok(Outcome::success(match format {
        Format::Json => to_json(&decision.to_owned_decision())?,
        // One line: ids are escaped with it, so none can end it.
        Format::Text => format!("{}\n", escaped(&decision.to_string())),
    }))
}

fn explain(args: &RequestArgs, format: Format) -> Result<Outcome, Fatal> {
    let (set, request) = load(args)?;
    let explanation = set.explain(&request);
    Ok(Outcome::success(match format {
        Format::Json => to_json(&explanation)?,
        Format::Text => {
            let mut text = escaped_explanation(explanation).to_string();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        }
    }))
}

/// The explanation with its user text escaped (ids, names, the request's user, groups,
/// connector and tool, attribute names), so that none can end the line it is printed in. Values
/// are printed as JSON, which escapes line breaks itself.
fn escaped_explanation(mut e: Explanation) -> Explanation {
    fn esc(s: &mut String) {
        if let std::borrow::Cow::Owned(t) = escaped(s) {
            *s = t;
        }
    }
    let d = &mut e.decision;
    d.policies
        .iter_mut()
        .chain(&mut d.approval_flows)
        .for_each(esc);
    e.effective_groups.iter_mut().for_each(esc);
    for s in [&mut e.user, &mut e.connector, &mut e.tool] {
        esc(s);
    }
    for p in &mut e.policies {
        esc(&mut p.id);
        esc(&mut p.name);
        if let Some(scope) = &mut p.scope {
            esc(scope);
        }
        for c in p.rules.iter_mut().flat_map(|r| &mut r.conditions) {
            esc(&mut c.attribute);
        }
    }
    e
}

fn test(paths: &[PathBuf], format: Format) -> Result<Outcome, Fatal> {
    let files = testfile::collect(paths)?;
    let report = testfile::run(&files);
    let stdout = match format {
        Format::Json => to_json(&report)?,
        Format::Text => report.to_text(&|s| escaped(s).into_owned()),
    };
    Ok(Outcome {
        stdout,
        code: if report.failed == 0 { 0 } else { 1 },
    })
}

/// Reads the request, then the document: a mistake in the request flags is reported without
/// loading what may be a large document.
fn load(args: &RequestArgs) -> Result<(PolicySet, Request), Fatal> {
    if let Some(path) = &args.request {
        if is_stdin(path) && is_stdin(&args.document) {
            return Err(Fatal::Usage(
                "the document and the request cannot both be read from standard input".to_owned(),
            ));
        }
    }
    let limits = Limits::default();
    let request = match &args.request {
        Some(path) => {
            let bytes = input::read(path, limits.max_request_bytes)
                .map_err(|e| e.into_fatal("request", path))?;
            input::request_from_json(&bytes, &display_name(path))?
        }
        None => RequestFlags {
            user: args.user.as_deref().unwrap_or_default(),
            connector: args.connector.as_deref().unwrap_or_default(),
            tool: args.tool.as_deref().unwrap_or_default(),
            groups: &args.groups,
            context: &args.context,
            context_json: &args.context_json,
            now: args.now.as_deref(),
            auth_time: args.auth_time.as_deref(),
            acr: args.acr.as_deref(),
            grants: &args.grants,
            arguments: args.arguments.as_deref(),
        }
        .to_request()?,
    };
    let loaded = match input::read(&args.document, limits.max_document_bytes) {
        Ok(bytes) => {
            PolicySet::from_slice_with_limits(&bytes, &limits).map_err(|e| reported(e.problems()))
        }
        Err(ReadError::TooLarge { limit }) => Err(vec![ReportedProblem::too_large(limit)]),
        Err(e) => return Err(e.into_fatal("document", &args.document)),
    };
    let set = loaded.map_err(|problems| {
        let mut message = format!(
            "{} is not a valid policy document ({}):",
            display_name(&args.document),
            counted(problems.len(), "error", "errors")
        );
        for p in &problems {
            let _ = write!(message, "\n  {}", p.to_line());
        }
        Fatal::Invalid(message)
    })?;
    Ok((set, request))
}

/// A problem of a document as the command reports it: one of the core's, or the refusal of a
/// document too large to read, which the core never sees. Serialized as the core's [`Problem`].
#[derive(Debug, Clone, Serialize)]
pub struct ReportedProblem {
    code: Code,
    path: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
}

impl From<&Problem> for ReportedProblem {
    fn from(p: &Problem) -> Self {
        ReportedProblem {
            code: p.code(),
            path: p.path().to_owned(),
            message: p.message().to_owned(),
            line: p.line(),
            column: p.column(),
        }
    }
}

impl ReportedProblem {
    /// A document of more than `limit` bytes, refused after reading `limit + 1` of them.
    pub fn too_large(limit: usize) -> Self {
        ReportedProblem {
            code: Code::LimitExceeded,
            path: String::new(),
            message: input::too_large("document", limit),
            line: None,
            column: None,
        }
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The JSON Pointer to the offending value; `""` is the root.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// One line: `unknown_tool at /policies/0/tools/1: …`, with the position of a syntax
    /// error, escaped (the path and message quote the document).
    pub fn to_line(&self) -> String {
        let path = if self.path.is_empty() {
            "the root"
        } else {
            &self.path
        };
        let mut line = format!("{} at {path}: {}", self.code, self.message);
        if let (Some(l), Some(c)) = (self.line, self.column) {
            // The core's syntax messages usually carry the position already; say it once.
            if !self.message.contains(&format!("line {l} column {c}")) {
                let _ = write!(line, " (line {l}, column {c})");
            }
        }
        escaped(&line).into_owned()
    }
}

/// The core's problems, as reported.
pub fn reported(problems: &[Problem]) -> Vec<ReportedProblem> {
    problems.iter().map(ReportedProblem::from).collect()
}

/// An input's name for a summary line: the path as given, or `standard input`.
fn plain_name(path: &OsString) -> String {
    if is_stdin(path) {
        "standard input".to_owned()
    } else {
        escaped(&PathBuf::from(path).display().to_string()).into_owned()
    }
}

/// `1 error`, `2 errors`.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, Fatal> {
    // The core's types always serialize; should one ever not, it is reported, not a panic.
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Fatal::Usage(format!("cannot render the output as JSON: {e}")))?;
    let mut text = show::json_escaped(text);
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
