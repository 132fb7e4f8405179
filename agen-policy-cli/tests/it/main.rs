//! Integration tests of the `agen-policy` binary: each runs the built command and checks its
//! output and exit code.

mod analysis;
mod errors;
mod escaping;
mod eval;
mod evidence;
mod limits;
mod serve;
mod test_command;
mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What one run of the command gave.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The first line the command wrote to stderr, without the `error: ` prefix.
    pub(crate) fn error(&self) -> &str {
        let first = self.stderr.lines().next().unwrap_or_default();
        first.strip_prefix("error: ").unwrap_or(first)
    }

    /// Standard output parsed as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `agen-policy` with `args`.
pub(crate) fn agen<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    agen_with(args, None, &[])
}

/// Runs `agen-policy` with `args`, `stdin` as its standard input and extra environment.
pub(crate) fn agen_with<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    stdin: Option<&str>,
    env: &[(&str, &Path)],
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agen-policy"));
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("the binary starts");
    if let Some(text) = stdin {
        let written = child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(text.as_bytes());
        // A command that refuses its arguments may exit before it reads its input.
        if let Err(e) = written {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe,
                "stdin is written: {e}"
            );
        }
    }
    let output = child.wait_with_output().expect("the binary runs");
    let run = Run {
        code: output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        run.code != 101 && !run.stderr.contains("panicked"),
        "the command panicked: {run:?}"
    );
    run
}

/// The repository's root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The bundled example document.
pub(crate) fn acme() -> String {
    repo().join("examples/acme.json").display().to_string()
}

/// The SPEC §6 vectors: `$AGEN_CONFORMANCE_DIR`, else the repository's `conformance/spec`.
pub(crate) fn conformance_dir() -> PathBuf {
    match std::env::var_os("AGEN_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/spec"),
    }
}

/// The peer vectors: `$AGEN_PEER_CONFORMANCE_DIR`, else the repository's `conformance/peer`.
pub(crate) fn peer_conformance_dir() -> PathBuf {
    match std::env::var_os("AGEN_PEER_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/peer"),
    }
}

/// A directory removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "agen-policy-cli-it-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir is created");
        TempDir(dir)
    }

    /// Writes `text` to `name` inside the directory (creating parents) and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir is created");
        }
        std::fs::write(&path, text).expect("file is written");
        path.display().to_string()
    }

    pub(crate) fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small valid document: connector `c` with tools `t` and `u`, one allow policy on `t`.
pub(crate) const SMALL: &str = r#"{
  "connectors": [{"id": "c", "tools": [{"name": "t"}, {"name": "u"}]}],
  "policies": [{"id": "p", "name": "P", "connector": "c", "action": "allow",
                "all_users": true, "tools": ["t"]}]
}"#;
