//! The analysis commands: `lint`, `access`, `diff` and `replay`. Each reads its inputs, calls
//! the core's analysis and prints its answer; no rule is decided here.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;

use agen_policy_core::analysis::Severity;
use agen_policy_core::{diff as core_diff, replay as core_replay, Limits, PolicySet, ReplayRecord};
use clap::Args;

use crate::input::{self, display_name, is_stdin, ReadError};
use crate::show::escaped;
use crate::{counted, reported, to_json, Fatal, Format, Outcome, ReportedProblem};

/// `access` flags.
#[derive(Debug, Args)]
pub struct AccessArgs {
    /// The policy document, at most 64 MiB (`-` reads standard input).
    pub document: OsString,
    /// The connector's id, e.g. `github`.
    #[arg(long)]
    pub connector: String,
    /// The tool's name, e.g. `delete_repository`.
    #[arg(long)]
    pub tool: String,
    /// Only this user's view (a user of the directory, or any other id).
    #[arg(long)]
    pub user: Option<String>,
}

/// `diff` flags.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The current policy document.
    pub old: OsString,
    /// The proposed policy document.
    pub new: OsString,
    /// Exit with 1 when some request may get a less restrictive action under NEW.
    #[arg(long)]
    pub fail_on_new_access: bool,
}

/// `replay` flags.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The policy document to decide the logged requests with.
    pub document: OsString,
    /// The decision log: JSON lines, one record a line (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub log: OsString,
}

fn esc(s: &str) -> String {
    escaped(s).into_owned()
}

/// Reads and loads a policy document.
pub fn load_set(path: &OsStr) -> Result<PolicySet, Fatal> {
    let limits = Limits::default();
    let loaded = match input::read(path, limits.max_document_bytes) {
        Ok(bytes) => {
            PolicySet::from_slice_with_limits(&bytes, &limits).map_err(|e| reported(e.problems()))
        }
        Err(ReadError::TooLarge { limit }) => Err(vec![ReportedProblem::too_large(limit)]),
        Err(e) => return Err(e.into_fatal("document", path)),
    };
    loaded.map_err(|problems| {
        let mut message = format!(
            "{} is not a valid policy document ({}):",
            display_name(path),
            counted(problems.len(), "error", "errors")
        );
        for p in &problems {
            let _ = write!(message, "\n  {}", p.to_line());
        }
        Fatal::Invalid(message)
    })
}

/// `lint`: exit 1 when a finding is an error.
pub fn lint(document: &OsStr, format: Format) -> Result<Outcome, Fatal> {
    let set = load_set(document)?;
    let lint = set.lint();
    let stdout = match format {
        Format::Json => to_json(&lint)?,
        Format::Text => lint.to_text(&esc),
    };
    let errors = lint.findings.iter().any(|f| f.severity == Severity::Error);
    Ok(Outcome {
        stdout,
        code: u8::from(errors),
    })
}

/// `access`: an unknown connector or tool is a usage error.
pub fn access(args: &AccessArgs, format: Format) -> Result<Outcome, Fatal> {
    let set = load_set(&args.document)?;
    let known = set
        .document()
        .connectors
        .iter()
        .find(|c| *c.id == *args.connector)
        .map(|c| c.tools.iter().any(|t| *t.name == *args.tool));
    match known {
        None => {
            return Err(Fatal::Usage(format!(
                "unknown connector `{}`",
                esc(&args.connector)
            )))
        }
        Some(false) => {
            return Err(Fatal::Usage(format!(
                "unknown tool `{}` in connector `{}`",
                esc(&args.tool),
                esc(&args.connector)
            )))
        }
        Some(true) => {}
    }
    let review = set.access(&args.connector, &args.tool, args.user.as_deref());
    Ok(Outcome {
        stdout: match format {
            Format::Json => to_json(&review)?,
            Format::Text => review.to_text(&esc),
        },
        code: 0,
    })
}

/// `diff`: with `--fail-on-new-access`, exit 1 when anything may have become more permissive.
pub fn diff(args: &DiffArgs, format: Format) -> Result<Outcome, Fatal> {
    if is_stdin(&args.old) && is_stdin(&args.new) {
        return Err(Fatal::Usage(
            "the two documents cannot both be read from standard input".to_owned(),
        ));
    }
    let old = load_set(&args.old)?;
    let new = load_set(&args.new)?;
    let d = core_diff(&old, &new);
    Ok(Outcome {
        stdout: match format {
            Format::Json => to_json(&d)?,
            Format::Text => d.to_text(&esc),
        },
        code: u8::from(args.fail_on_new_access && d.more_permissive()),
    })
}

/// `replay`: a line that is not a decision record is a usage error naming the line.
pub fn replay(args: &ReplayArgs, format: Format) -> Result<Outcome, Fatal> {
    if is_stdin(&args.document) && is_stdin(&args.log) {
        return Err(Fatal::Usage(
            "the document and the log cannot both be read from standard input".to_owned(),
        ));
    }
    let limits = Limits::default();
    let bytes = input::read(&args.log, limits.max_document_bytes)
        .map_err(|e| e.into_fatal("log", &args.log))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Fatal::Usage(format!("{} is not UTF-8 text", display_name(&args.log))))?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record = ReplayRecord::from_json_line(line).map_err(|e| {
            Fatal::Usage(format!(
                "line {} of {}: {}",
                i + 1,
                display_name(&args.log),
                e.message()
            ))
        })?;
        records.push(record);
    }
    let set = load_set(&args.document)?;
    let r = core_replay(&set, &records);
    Ok(Outcome {
        stdout: match format {
            Format::Json => to_json(&r)?,
            Format::Text => r.to_text(&esc),
        },
        code: 0,
    })
}
