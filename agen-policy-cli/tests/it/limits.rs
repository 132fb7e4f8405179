//! Inputs are read only up to their limit: a document of more than
//! `Limits::max_document_bytes`, a request of more than `Limits::max_request_bytes`, is refused
//! with `limit_exceeded` after reading one byte past the limit, whatever its real size.

use std::fs::File;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agen_policy_core::Limits;

use crate::{acme, Run, TempDir};

const MIB: u64 = 1024 * 1024;

/// Runs `agen-policy` with `args` and `stdin`, failing the test if it has not ended within a
/// minute (an unbounded read of `/dev/zero` never ends).
fn agen_timed(args: &[&str], stdin: Stdio) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agen-policy"))
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`agen-policy {}` did not end within a minute",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    let _ = child
        .stdout
        .take()
        .map(|mut s| s.read_to_string(&mut stdout));
    let _ = child
        .stderr
        .take()
        .map(|mut s| s.read_to_string(&mut stderr));
    let run = Run {
        code: status.code().expect("exited, not killed by a signal"),
        stdout,
        stderr,
    };
    assert!(
        run.code != 101 && !run.stderr.contains("panicked"),
        "the command panicked: {run:?}"
    );
    run
}

fn zero() -> Stdio {
    Stdio::from(File::open("/dev/zero").expect("/dev/zero opens"))
}

/// A sparse file of `len` bytes, all zero: it takes no room on disk.
fn sparse(dir: &TempDir, name: &str, len: u64) -> String {
    let path = dir.write(name, "");
    File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(len))
        .expect("the file is extended");
    path
}

fn document_limit() -> usize {
    Limits::default().max_document_bytes
}

const REQUEST: [&str; 6] = ["--user", "u", "--connector", "c", "--tool", "t"];

#[test]
fn validate_dev_zero_ends_with_limit_exceeded() {
    let run = agen_timed(&["validate", "/dev/zero"], Stdio::null());
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "error: limit_exceeded at the root: document is larger than the limit of {} bytes\n\
             /dev/zero: invalid, 1 error and 0 warnings\n",
            document_limit()
        )
    );
    let run = agen_timed(
        &["validate", "--format", "json", "/dev/zero"],
        Stdio::null(),
    );
    assert_eq!(run.code, 1, "{run:?}");
    let json = run.json();
    assert_eq!(json["valid"], false);
    assert_eq!(json["problems"][0]["code"], "limit_exceeded");
    assert_eq!(json["problems"][0]["path"], "");
    assert_eq!(json["problems"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_sparse_65_mib_document_is_refused_by_every_command() {
    let dir = TempDir::new();
    let big = sparse(&dir, "big.json", 65 * MIB);
    let run = agen_timed(&["validate", &big], Stdio::null());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .starts_with("error: limit_exceeded at the root: document is larger than the limit"),
        "{run:?}"
    );
    for command in ["eval", "explain"] {
        let mut args = vec![command, big.as_str()];
        args.extend(REQUEST);
        let run = agen_timed(&args, Stdio::null());
        // Exactly as a document that does not load.
        assert_eq!(run.code, 1, "{run:?}");
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr.starts_with("error: `")
                && run.stderr.contains(
                    "big.json` is not a valid policy document (1 error):\n  \
                     limit_exceeded at the root: document is larger than the limit of "
                ),
            "{run:?}"
        );
    }
}

#[test]
fn a_document_of_exactly_the_limit_is_read() {
    let dir = TempDir::new();
    // Zero bytes are not JSON: the core parses the document and says so.
    let doc = sparse(&dir, "limit.json", document_limit() as u64);
    let run = agen_timed(&["validate", &doc], Stdio::null());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .starts_with("error: invalid_document at the root: not JSON"),
        "{run:?}"
    );
}

#[test]
fn standard_input_is_bounded_too() {
    let run = agen_timed(&["validate", "-"], zero());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .starts_with("error: limit_exceeded at the root: ")
            && run
                .stdout
                .ends_with("standard input: invalid, 1 error and 0 warnings\n"),
        "{run:?}"
    );
    let mut args = vec!["eval", "-"];
    args.extend(REQUEST);
    let run = agen_timed(&args, zero());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("standard input is not a valid policy document (1 error):\n  limit_exceeded"),
        "{run:?}"
    );
    let acme = acme();
    let run = agen_timed(&["eval", &acme, "--request", "-"], zero());
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: invalid request in standard input: limit_exceeded: request is larger than \
             the limit of {} bytes\n",
            Limits::default().max_request_bytes
        )
    );
}

#[test]
fn a_request_file_is_bounded_by_the_request_limit() {
    let dir = TempDir::new();
    let limit = Limits::default().max_request_bytes as u64;
    let acme = acme();
    let big = sparse(&dir, "big-request.json", limit + 1);
    let run = agen_timed(&["explain", &acme, "--request", &big], Stdio::null());
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "big-request.json`: limit_exceeded: request is larger than the limit of 1048576 bytes"
        ),
        "{run:?}"
    );
    let run = agen_timed(&["eval", &acme, "--request", "/dev/zero"], Stdio::null());
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("limit_exceeded"), "{run:?}");
    // At the limit it is read, and the core finds it is not JSON.
    let at = sparse(&dir, "at-limit.json", limit);
    let run = agen_timed(&["eval", &acme, "--request", &at], Stdio::null());
    assert_eq!(run.code, 2, "{run:?}");
    assert!(!run.stderr.contains("limit_exceeded"), "{run:?}");
}

#[test]
fn test_files_and_their_documents_are_bounded() {
    let dir = TempDir::new();
    sparse(&dir, "data/big.json", 65 * MIB);
    let cases = dir.write(
        "cases.json",
        r#"{"document_file": "data/big.json",
            "cases": [{"request": {"user": "u", "connector": "c", "tool": "t"},
                       "expect": {"action": "deny"}}]}"#,
    );
    let run = agen_timed(&["test", &cases], Stdio::null());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(
            "the document does not load (1 error), so no case can run\n          \
             actual:   limit_exceeded at the root: document is larger than the limit of "
        ),
        "{run:?}"
    );
    // Too large is a load error like any other: a test file may expect it.
    let expects = dir.write(
        "expects.json",
        r#"{"document_file": "data/big.json",
            "expect_errors": [{"code": "limit_exceeded", "path": ""}]}"#,
    );
    let run = agen_timed(&["test", &expects], Stdio::null());
    assert_eq!(run.code, 0, "{run:?}");
    // The test file itself may be as large as a document.
    let big_test = sparse(&dir, "big-test.json", 65 * MIB);
    let run = agen_timed(&["test", &big_test, "--format", "json"], Stdio::null());
    assert_eq!(run.code, 1, "{run:?}");
    let message = &run.json()["files"][0]["failures"][0]["message"];
    assert_eq!(
        message,
        &format!(
            "cannot read it: limit_exceeded: test file is larger than the limit of {} bytes",
            document_limit()
        )
    );
    let run = agen_timed(&["test", "/dev/zero"], Stdio::null());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("limit_exceeded"), "{run:?}");
}

#[test]
fn help_gives_the_limits() {
    let limits = Limits::default();
    let document = format!("at most {} MiB", limits.max_document_bytes as u64 / MIB);
    let request = format!("at most {} MiB", limits.max_request_bytes as u64 / MIB);
    for (command, expected) in [
        ("validate", &[&document][..]),
        ("eval", &[&document, &request][..]),
        ("explain", &[&document, &request][..]),
        ("test", &[&document][..]),
    ] {
        let run = agen_timed(&[command, "--help"], Stdio::null());
        assert_eq!(run.code, 0, "{run:?}");
        for text in expected {
            assert!(run.stdout.contains(text.as_str()), "{text} in {run:?}");
        }
    }
}
