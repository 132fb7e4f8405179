//! `run_tests`: policy test files (SPEC §6, §8.4) run by the core's runner
//! (`agen_policy_core::testfile`). The binding only finds and reads the files: each at most a
//! document's size + 1 byte, like every document the package reads, so the core refuses a
//! larger one as it refuses any document too large.

use std::path::{Path, PathBuf};

use agen_policy_core::testfile::{run_test_file, FileReport, TestReport};
use agen_policy_core::Code;
use pyo3::prelude::*;

use crate::convert;

/// What to run: test files, or a directory without any.
enum Source {
    File(PathBuf),
    EmptyDir(PathBuf),
}

/// A file stands for itself; a directory for every `*.json` file directly inside it, in name
/// order (documents named by `document_file` live in its subdirectories).
fn sources(path: &Path) -> std::io::Result<Vec<Source>> {
    if !std::fs::metadata(path)?.is_dir() {
        return Ok(vec![Source::File(path.to_path_buf())]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let file = entry?.path();
        if file.extension().is_some_and(|ext| ext == "json") && file.is_file() {
            files.push(file);
        }
    }
    if files.is_empty() {
        // Running nothing must not look like success.
        return Ok(vec![Source::EmptyDir(path.to_path_buf())]);
    }
    files.sort();
    Ok(files.into_iter().map(Source::File).collect())
}

fn reason(e: &std::io::Error) -> String {
    e.to_string()
}

fn run(sources: &[Source]) -> TestReport {
    let max = convert::limits().max_document_bytes;
    let files = sources
        .iter()
        .map(|source| match source {
            Source::File(path) => {
                let name = path.display().to_string();
                match convert::read_at_most(path, max) {
                    Ok(text) if text.len() > max => FileReport::not_run(
                        &name,
                        format!(
                            "cannot read it: {}: the test file is larger than the limit of {max} \
                             bytes",
                            Code::LimitExceeded
                        ),
                    ),
                    Ok(text) => {
                        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
                        run_test_file(&name, &text, &mut |rel| {
                            convert::read_at_most(&dir.join(rel), max).map_err(|e| reason(&e))
                        })
                    }
                    Err(e) => FileReport::not_run(&name, format!("cannot read it: {}", reason(&e))),
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

/// Runs the test files at `path` (a file, or a directory of them): the core's report as JSON
/// values, its text (the CLI's, without escapes), and whether every check passed.
#[pyfunction]
pub(crate) fn _run_tests<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, String, bool)> {
    crate::boundary(py, || {
        let path = convert::path(path)?;
        let report = py
            .detach(|| sources(&path).map(|s| run(&s)))
            .map_err(|e| convert::file_error(py, &path, &e))?;
        let text = report.to_text(&|s: &str| s.to_owned());
        Ok((convert::serialized(py, &report)?, text, report.ok()))
    })
}
