//! Finds and reads policy test files (SPEC §6) for the core's runner
//! (`agen_policy_core::testfile`), which decides, replays and compares. The same choices as the
//! CLI's `test`: a directory stands for every `*.json` file directly inside it, in name order;
//! a directory without one is a failure; every file is read at most the document limit + 1
//! byte, and so is a `document_file`, relative to its test file.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use agen_policy_core as core;
use core::testfile::{run_test_file, FileReport, TestReport};

/// What to run, found from the path given.
pub(crate) enum Source {
    /// A test file.
    File(PathBuf),
    /// A directory without any `*.json` file directly inside: running nothing must not look
    /// like success.
    EmptyDir(PathBuf),
}

/// Expands `path`: a file stands for itself, a directory for every `*.json` file directly
/// inside it, sorted by name. An error names what could not be read.
pub(crate) fn collect(path: &Path) -> Result<Vec<Source>, (PathBuf, std::io::Error)> {
    let unreadable = |e| (path.to_path_buf(), e);
    if !std::fs::metadata(path).map_err(unreadable)?.is_dir() {
        return Ok(vec![Source::File(path.to_path_buf())]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(unreadable)? {
        let file = entry.map_err(unreadable)?.path();
        if file.extension().is_some_and(|ext| ext == "json") && file.is_file() {
            files.push(file);
        }
    }
    if files.is_empty() {
        return Ok(vec![Source::EmptyDir(path.to_path_buf())]);
    }
    files.sort();
    Ok(files.into_iter().map(Source::File).collect())
}

/// Runs every source through the core's runner, never stopping at a failure.
pub(crate) fn run(sources: &[Source]) -> TestReport {
    let limit = core::Limits::default().max_document_bytes;
    let files = sources
        .iter()
        .map(|source| match source {
            Source::File(path) => {
                let name = path.display().to_string();
                match read_at_most(path, limit) {
                    Ok(text) if text.len() > limit => FileReport::not_run(
                        &name,
                        format!(
                            "cannot read it: {}: the test file is larger than the limit of \
                             {limit} bytes",
                            core::Code::LimitExceeded
                        ),
                    ),
                    Ok(text) => {
                        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
                        run_test_file(&name, &text, &mut |rel| {
                            read_at_most(&dir.join(rel), limit).map_err(|e| e.to_string())
                        })
                    }
                    Err(e) => FileReport::not_run(&name, format!("cannot read it: {e}")),
                }
            }
            Source::EmptyDir(path) => FileReport::not_run(
                &path.display().to_string(),
                "no `*.json` test files in this directory".to_owned(),
            ),
        })
        .collect();
    TestReport::new(files)
}

/// A file's bytes, at most `limit` + 1 of them: a document past the limit is handed over cut
/// there, and the core refuses it with `limit_exceeded` like any document too large to load.
fn read_at_most(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
