//! Finds and reads policy test files (SPEC §6) for the core's runner
//! (`agen_policy_core::testfile`), which decides, replays and compares.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use agen_policy_core::testfile::{run_test_file, FileReport, TestReport};
use agen_policy_core::{Code, Limits};

use crate::input::{io_reason, read_file, too_large, ReadError};
use crate::show::escaped;
use crate::Fatal;

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

/// Runs every source through the core's runner, never stopping at a failure. The CLI reads
/// the files (each at most a document's size) and their `document_file`s; a document past the
/// limit is handed over cut at the limit + 1 byte, so the core refuses it with
/// `limit_exceeded` like any document too large to load.
pub fn run(sources: &[Source]) -> TestReport {
    let limit = Limits::default().max_document_bytes;
    let files = sources
        .iter()
        .map(|source| match source {
            Source::File(path) => {
                let name = path.display().to_string();
                match read_file(path, limit) {
                    Ok(text) => {
                        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
                        run_test_file(&name, &text, &mut |rel| read_at_most(&dir.join(rel), limit))
                    }
                    Err(ReadError::Unreadable(e)) => {
                        broken(&name, format!("cannot read it: {}", io_reason(&e)))
                    }
                    Err(ReadError::TooLarge { limit }) => broken(
                        &name,
                        format!(
                            "cannot read it: {}: {}",
                            Code::LimitExceeded,
                            too_large("test file", limit)
                        ),
                    ),
                }
            }
            Source::EmptyDir(path) => broken(
                &path.display().to_string(),
                "no `*.json` test files in this directory".to_owned(),
            ),
        })
        .collect();
    TestReport::new(files)
}

/// A file's bytes, at most `limit` + 1 of them.
fn read_at_most(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    Ok(bytes)
}

/// The report of a file that could not run: one failure.
fn broken(file: &str, message: String) -> FileReport {
    FileReport::not_run(file, message)
}
