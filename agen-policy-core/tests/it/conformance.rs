//! Runs the SPEC §6 test vectors: the repository's `conformance/spec` (or `$AGEN_CONFORMANCE_DIR`)
//! and `conformance/peer` (or `$AGEN_PEER_CONFORMANCE_DIR`), every `*.json` directly
//! inside, through one `check` helper that shares nothing with the CLI's runner.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use agen_policy_core::{PolicySet, Request};
use serde_json::Value;

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

/// Checks one SPEC §6 test file.
fn check(file: &Path) -> Result<usize, Vec<String>> {
    let text = std::fs::read_to_string(file).map_err(|e| vec![format!("unreadable: {e}")])?;
    let test: Value = serde_json::from_str(&text).map_err(|e| vec![format!("not JSON: {e}")])?;
    let document: Vec<u8> = match (test.get("document"), test.get("document_file")) {
        (Some(doc), None) => serde_json::to_vec(doc).expect("serializable"),
        (None, Some(Value::String(rel))) => {
            let path = file.parent().unwrap_or(Path::new(".")).join(rel);
            std::fs::read(&path)
                .map_err(|e| vec![format!("document_file {}: {e}", path.display())])?
        }
        _ => {
            return Err(vec![
                "needs exactly one of `document` or `document_file`".into()
            ])
        }
    };
    let loaded = PolicySet::from_slice(&document);
    let mut failures = Vec::new();
    let mut checks = 0;

    if let Some(expected) = test.get("expect_errors").and_then(Value::as_array) {
        let Err(err) = &loaded else {
            return Err(vec!["document loaded but errors were expected".into()]);
        };
        let found: BTreeSet<(String, String)> = err
            .problems()
            .iter()
            .map(|p| (p.code().as_str().to_owned(), p.path().to_owned()))
            .collect();
        for e in expected {
            checks += 1;
            let want = (
                e["code"].as_str().unwrap_or_default().to_owned(),
                e["path"].as_str().unwrap_or_default().to_owned(),
            );
            if !found.contains(&want) {
                failures.push(format!(
                    "expected error {} at {:?}; got {:?}",
                    want.0, want.1, found
                ));
            }
        }
    }

    if let Some(cases) = test.get("cases").and_then(Value::as_array) {
        let set = match loaded {
            Ok(set) => set,
            Err(e) => return Err(vec![format!("document does not load: {e}")]),
        };
        for case in cases {
            checks += 1;
            let name = case["name"].as_str().unwrap_or("?");
            let request = Request::from_json(&case["request"].to_string());
            if let Some(code) = case.get("expect_error") {
                match request {
                    Ok(_) => failures.push(format!("{name}: request accepted, expected {code}")),
                    Err(e) if Some(e.code()) != code.as_str() => {
                        failures.push(format!("{name}: error {} instead of {code}", e.code()))
                    }
                    Err(_) => {}
                }
                continue;
            }
            let request = match request {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{name}: request rejected: {e}"));
                    continue;
                }
            };
            let d = set.evaluate(&request);
            let expect = &case["expect"];
            let mut wrong = Vec::new();
            if expect["action"].as_str() != Some(d.action().as_str()) {
                wrong.push(format!(
                    "action {} (expected {})",
                    d.action(),
                    expect["action"]
                ));
            }
            if let Some(reason) = expect.get("reason") {
                if reason.as_str() != Some(d.reason().as_str()) {
                    wrong.push(format!("reason {} (expected {reason})", d.reason()));
                }
            }
            for (field, actual) in [
                ("policies", d.policies()),
                ("approval_flows", d.approval_flows()),
            ] {
                if let Some(want) = expect.get(field) {
                    let want: BTreeSet<&str> = want
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let got: BTreeSet<&str> = actual.iter().copied().collect();
                    if want != got {
                        wrong.push(format!("{field} {got:?} (expected {want:?})"));
                    }
                }
            }
            if !wrong.is_empty() {
                failures.push(format!("{name}: {}", wrong.join("; ")));
            }
        }
    }
    if checks == 0 {
        failures.push("neither `cases` nor `expect_errors`".into());
    }
    if failures.is_empty() {
        Ok(checks)
    } else {
        Err(failures)
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
    assert!(failures[0].contains("action deny"), "{failures:?}");
}
