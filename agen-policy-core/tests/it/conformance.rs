//! Runs the SPEC §6 test vectors: the repository's `conformance/spec` (or `$AGEN_CONFORMANCE_DIR`)
//! and `conformance/peer` (or `$AGEN_PEER_CONFORMANCE_DIR`), every `*.json` directly
//! inside, through the core's test-file runner.

use std::path::{Path, PathBuf};

use agen_policy_core::testfile::run_test_file;

fn shared_dir(var: &str, default: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(default),
    }
}

/// Checks every test file of a directory; returns the number of checks made and the failures.
fn check_dir(dir: &Path) -> (usize, Vec<String>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read conformance directory {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no test files in {}", dir.display());
    let mut checks = 0;
    let mut failures = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match check(&file) {
            Ok(n) => checks += n,
            Err(errors) => failures.extend(errors.into_iter().map(|e| format!("{name}: {e}"))),
        }
    }
    (checks, failures)
}

/// Checks one SPEC §6 test file through the core's runner; the runner's own rules are
/// tested in `testfile.rs` with files that must fail.
fn check(file: &Path) -> Result<usize, Vec<String>> {
    let text = std::fs::read(file).map_err(|e| vec![format!("unreadable: {e}")])?;
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let name = file.display().to_string();
    let report = run_test_file(&name, &text, &mut |rel| {
        std::fs::read(dir.join(rel)).map_err(|e| e.to_string())
    });
    if report.failed == 0 && report.checks() > 0 {
        Ok(report.checks())
    } else if report.failures.is_empty() {
        Err(vec!["the file checks nothing".into()])
    } else {
        Err(report
            .failures
            .iter()
            .map(|f| {
                format!(
                    "{}\n    expected: {}\n    actual:   {}",
                    f.message,
                    f.expected.as_ref().map_or("-".into(), ToString::to_string),
                    f.actual.as_ref().map_or("-".into(), ToString::to_string)
                )
            })
            .collect())
    }
}

fn assert_dir(var: &str, default: &str) {
    let dir = shared_dir(var, default);
    let (checks, failures) = check_dir(&dir);
    assert!(
        failures.is_empty(),
        "{} of the checks in {} failed:\n{}",
        failures.len(),
        dir.display(),
        failures.join("\n")
    );
    eprintln!("{checks} checks passed in {}", dir.display());
}

#[test]
fn shared_conformance_vectors() {
    assert_dir("AGEN_CONFORMANCE_DIR", "conformance/spec");
}

#[test]
fn peer_conformance_vectors() {
    assert_dir("AGEN_PEER_CONFORMANCE_DIR", "conformance/peer");
}

#[test]
fn the_checker_can_fail() {
    let dir = std::env::temp_dir().join(format!("agen-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("wrong.json");
    std::fs::write(
        &file,
        r#"{"description": "expects the wrong action",
            "document": {"connectors": [{"id": "c", "tools": [{"name": "t"}]}]},
            "cases": [{"name": "no policy", "request": {"user": "u", "connector": "c", "tool": "t"},
                       "expect": {"action": "allow"}}]}"#,
    )
    .expect("write");
    let (_, failures) = check_dir(&dir);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("action differs") && failures[0].contains(r#""action":"deny""#),
        "{failures:?}"
    );
}
