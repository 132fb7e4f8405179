//! What the server holds: the live engine, the document file it serves and keeps in step with,
//! the admin token and the decision log.
//!
//! Every change of the served set goes through [`Server::edit`] or [`Server::sync_file`], both
//! under one lock, so an edit and a hand edit picked up from the file never interleave.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use agen_policy_core::admin::{AdminError, Applied};
use agen_policy_core::log::DecisionRecord;
use agen_policy_core::model::Document;
use agen_policy_core::{Engine, Limits, OwnedDecision, PolicySet, Request};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::input::{self, ReadError};
use crate::{reported, ReportedProblem};

/// Why the file on disk is not what is served: the set served is the last good one.
#[derive(Debug, Clone, Serialize)]
pub struct FileProblem {
    /// What happened, in words.
    pub message: String,
    /// The document's problems, when it was read but does not load.
    pub problems: Vec<ReportedProblem>,
}

/// An edit made live.
#[derive(Debug, Serialize)]
pub struct Edited {
    /// The new revision.
    pub version: String,
    /// The policy created or edited; none after a deletion.
    pub policy: Option<String>,
    /// The new document's warnings.
    pub warnings: Vec<ReportedProblem>,
}

/// What was last seen of the file: its size, modification time and content hash.
#[derive(Debug, Default)]
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
    /// `None` after the file could not be read: whatever is read next is examined.
    hash: Option<[u8; 32]>,
}

/// The server's shared state.
pub struct Server {
    engine: Engine,
    limits: Limits,
    token: String,
    path: PathBuf,
    seen: Mutex<Seen>,
    problem: RwLock<Option<FileProblem>>,
    log: Option<Mutex<File>>,
    decisions: AtomicU64,
    started: i64,
}

/// Locks, going on with the data of a thread that panicked while holding the lock: every
/// update under these locks is a whole replacement, never half made.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The current time, in Unix milliseconds.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An entity tag for a version: the set's content hash, quoted.
pub fn etag(version: &str) -> String {
    format!("\"{version}\"")
}

impl Server {
    /// A server for the document at `path`, whose bytes `bytes` loaded into `set`.
    pub fn new(
        path: PathBuf,
        bytes: &[u8],
        set: PolicySet,
        limits: Limits,
        token: String,
        log: Option<File>,
    ) -> Server {
        let meta = fs::metadata(&path).ok();
        Server {
            engine: Engine::with_limits(set, limits.clone()),
            limits,
            token,
            seen: Mutex::new(Seen {
                len: meta.as_ref().map_or(0, fs::Metadata::len),
                modified: meta.and_then(|m| m.modified().ok()),
                hash: Some(Sha256::digest(bytes).into()),
            }),
            path,
            problem: RwLock::new(None),
            log: log.map(Mutex::new),
            decisions: AtomicU64::new(0),
            started: now_millis(),
        }
    }

    /// The live engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits documents and requests are read under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The admin token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Why the file is not what is served, if it is not.
    pub fn file_problem(&self) -> Option<FileProblem> {
        self.problem
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_problem(&self, problem: Option<FileProblem>) {
        *self.problem.write().unwrap_or_else(PoisonError::into_inner) = problem;
    }

    /// Picks up a change made to the file by hand: a valid document replaces the served set, an
    /// invalid or unreadable one is refused and reported, and the last good set keeps serving.
    pub fn sync_file(&self) {
        let mut seen = lock(&self.seen);
        self.sync_locked(&mut seen);
    }

    fn sync_locked(&self, seen: &mut Seen) {
        let meta = fs::metadata(&self.path).ok();
        let len = meta.as_ref().map_or(0, fs::Metadata::len);
        let modified = meta.as_ref().and_then(|m| m.modified().ok());
        if seen.hash.is_some() && meta.is_some() && len == seen.len && modified == seen.modified {
            return;
        }
        let bytes = match input::read_file(&self.path, self.limits.max_document_bytes) {
            Ok(bytes) => bytes,
            Err(e) => {
                let message = match e {
                    ReadError::Unreadable(e) => format!(
                        "the document file cannot be read: {}; the last valid document is served",
                        input::io_reason(&e)
                    ),
                    ReadError::TooLarge { limit } => format!(
                        "the document file is larger than the limit of {limit} bytes; the last \
                         valid document is served"
                    ),
                };
                *seen = Seen::default();
                self.set_problem(Some(FileProblem {
                    message,
                    problems: Vec::new(),
                }));
                return;
            }
        };
        let hash: [u8; 32] = Sha256::digest(&bytes).into();
        seen.len = len;
        seen.modified = modified;
        if seen.hash == Some(hash) {
            return;
        }
        seen.hash = Some(hash);
        match PolicySet::from_slice_with_limits(&bytes, &self.limits) {
            Ok(set) => {
                self.engine.replace(set);
                self.set_problem(None);
            }
            Err(e) => self.set_problem(Some(FileProblem {
                message: "the document file was changed and does not load; the last valid \
                          document is served"
                    .to_owned(),
                problems: reported(e.problems()),
            })),
        }
    }

    /// Applies an admin edit: checks the revision the client based it on (`if_match`), lets
    /// `edit` make the new set from the current document, writes the file atomically and then
    /// makes the new set live. On any error nothing has changed, neither file nor set.
    pub fn edit(
        &self,
        if_match: Option<&str>,
        edit: impl FnOnce(&Document, &Limits) -> Result<Applied, AdminError>,
    ) -> Result<Edited, ApiError> {
        let mut seen = lock(&self.seen);
        // A hand edit not yet polled is picked up first, so it is never overwritten unseen.
        self.sync_locked(&mut seen);
        if let Some(problem) = self.file_problem() {
            return Err(ApiError::file_invalid(problem));
        }
        let current = self.engine.current();
        check_revision(if_match, current.version())?;
        let applied = edit(current.document(), &self.limits).map_err(ApiError::refused)?;
        let mut bytes = serde_json::to_vec_pretty(applied.document())
            .map_err(|e| ApiError::internal(format!("cannot write the document: {e}")))?;
        bytes.push(b'\n');
        write_atomically(&self.path, &bytes).map_err(|e| {
            ApiError::internal(format!(
                "cannot write the document file: {}; nothing was changed",
                input::io_reason(&e)
            ))
        })?;
        let meta = fs::metadata(&self.path).ok();
        *seen = Seen {
            len: meta.as_ref().map_or(0, fs::Metadata::len),
            modified: meta.and_then(|m| m.modified().ok()),
            hash: Some(Sha256::digest(&bytes).into()),
        };
        let edited = Edited {
            version: applied.set().version().to_owned(),
            policy: applied.policy_id().map(str::to_owned),
            warnings: reported(applied.warnings()),
        };
        self.engine.replace(applied.into_set());
        Ok(edited)
    }

    /// Writes one decision to the decision log, if there is one. A failed write is reported on
    /// standard error; the decision stands.
    pub fn log_decision(&self, request: &Request, decision: &OwnedDecision) {
        let Some(log) = &self.log else { return };
        let n = self.decisions.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("d-{}-{n}", self.started);
        let record = DecisionRecord {
            id: &id,
            time: now_millis(),
            user: request.user(),
            groups: request.groups(),
            connector: request.connector(),
            tool: request.tool(),
            tool_call_id: None,
            decision,
            arguments_digest: request.arguments(),
            arguments: None,
        };
        let mut line = record.to_json_line();
        line.push('\n');
        if let Err(e) = lock(log).write_all(line.as_bytes()) {
            eprintln!(
                "agen-policy serve: cannot write the decision log: {}",
                input::io_reason(&e)
            );
        }
    }
}

/// Refuses an edit without a revision (428) or based on another one than `version` (412).
fn check_revision(if_match: Option<&str>, version: &str) -> Result<(), ApiError> {
    let Some(header) = if_match else {
        return Err(ApiError::revision_required());
    };
    let current = etag(version);
    let matches = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == current || tag == version);
    if matches {
        Ok(())
    } else {
        Err(ApiError::stale(version))
    }
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part:
/// a temporary file in the same directory, flushed to disk, renamed over the old one, and the
/// directory flushed so that the rename itself survives a crash.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "document".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        if let Ok(meta) = fs::metadata(path) {
            // The document keeps its permissions.
            let _ = file.set_permissions(meta.permissions());
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(&dir) {
            // Not every platform can flush a directory; the rename is done either way.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_are_compared_as_entity_tags() {
        assert!(check_revision(Some("\"abc\""), "abc").is_ok());
        assert!(check_revision(Some("abc"), "abc").is_ok());
        assert!(check_revision(Some("\"x\", \"abc\""), "abc").is_ok());
        assert_eq!(
            check_revision(Some("\"x\""), "abc").unwrap_err().status(),
            412
        );
        assert_eq!(check_revision(None, "abc").unwrap_err().status(), 428);
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("agen-serve-write-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("doc.json");
        fs::write(&path, b"old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["doc.json"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
