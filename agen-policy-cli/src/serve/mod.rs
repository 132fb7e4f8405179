//! `agen-policy serve`: the Policies page, the admin API and the AuthZEN decision API over one
//! policy document file, from this binary alone.
//!
//! The server is a shell over the core: edits are the core's admin API, decisions the core's
//! engine, and the document file is only ever replaced whole (see `state.rs`).

mod authzen;
mod error;
mod http;
mod page;
mod state;

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agen_policy_core::{Limits, PolicySet};
use clap::Args;

use crate::input::{self, ReadError};
use crate::{reported, Fatal};
use state::Server;

/// The environment variable that holds the admin token when `--token` is not given.
const TOKEN_ENV: &str = "AGEN_POLICY_ADMIN_TOKEN";
/// The shortest admin token accepted.
const MIN_TOKEN_CHARS: usize = 16;

/// `agen-policy serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The policy document file: served, and rewritten by each edit made on the page.
    document: PathBuf,

    /// The address to listen on. Loopback by default: the page edits policies.
    #[arg(long, default_value = "127.0.0.1:8181", value_name = "ADDRESS:PORT")]
    listen: SocketAddr,

    /// The admin token (at least 16 characters) the page and the admin API need, as
    /// `Authorization: Bearer TOKEN`. Default: the environment variable
    /// `AGEN_POLICY_ADMIN_TOKEN`, else a random token printed at start.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,

    /// Append each decision of the decision API to this file, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    decision_log: Option<PathBuf>,

    /// How often the document file is checked for a change made by hand, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    poll_ms: u64,
}

/// Runs the server until it is interrupted.
pub fn run(args: &ServeArgs) -> Result<(), Fatal> {
    let limits = Limits::default();
    let os_path: OsString = args.document.clone().into_os_string();
    let bytes =
        input::read_file(&args.document, limits.max_document_bytes).map_err(|e| match e {
            ReadError::TooLarge { limit } => Fatal::Invalid(format!(
                "{} does not load: limit_exceeded: {}",
                input::display_name(&os_path),
                input::too_large("document", limit)
            )),
            other => other.into_fatal("document", &os_path),
        })?;
    let set = PolicySet::from_slice_with_limits(&bytes, &limits).map_err(|e| {
        let mut message = format!("{} does not load:", input::display_name(&os_path));
        for p in reported(e.problems()) {
            message.push_str("\n  ");
            message.push_str(&p.to_line());
        }
        Fatal::Invalid(message)
    })?;
    let (token, generated) = token(args.token.clone())?;
    let log = match &args.decision_log {
        Some(path) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    Fatal::Unreadable(format!(
                        "cannot open the decision log {}: {}",
                        input::display_name(path.as_os_str()),
                        input::io_reason(&e)
                    ))
                })?,
        ),
        None => None,
    };
    let policies = set.document().policies.len();
    let server = Arc::new(Server::new(
        args.document.clone(),
        &bytes,
        set,
        limits,
        token.clone(),
        log,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::Unreadable(format!("cannot start: {}", input::io_reason(&e))))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| {
                Fatal::Usage(format!(
                    "cannot listen on {}: {}",
                    args.listen,
                    input::io_reason(&e)
                ))
            })?;
        let address = listener.local_addr().unwrap_or(args.listen);
        let mut out = String::new();
        out.push_str(&format!(
            "agen-policy serve: {} ({policies} policies) on http://{address}/\n",
            input::display_name(&os_path)
        ));
        if generated {
            out.push_str(&format!(
                "admin token: {token}\nopen http://{address}/#token={token}\n"
            ));
        }
        if !address.ip().is_loopback() {
            eprintln!(
                "agen-policy serve: warning: listening on {address}, beyond this machine; the \
                 decision API needs no token"
            );
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush());
        drop(stdout);

        let poller = server.clone();
        let every = Duration::from_millis(args.poll_ms.max(10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let s = poller.clone();
                let _ = tokio::task::spawn_blocking(move || s.sync_file()).await;
            }
        });
        axum::serve(listener, http::router(server))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Fatal::Unreadable(format!("the server stopped: {}", input::io_reason(&e))))
    })
}

/// The admin token: the flag's, the environment's, or a new random one (then `true`).
fn token(flag: Option<String>) -> Result<(String, bool), Fatal> {
    let given = flag.or_else(|| {
        std::env::var_os(TOKEN_ENV)
            .and_then(|v| v.into_string().ok())
            .filter(|v| !v.is_empty())
    });
    match given {
        Some(token)
            if token.chars().count() < MIN_TOKEN_CHARS || token.contains(char::is_whitespace) =>
        {
            Err(Fatal::Usage(format!(
                "the admin token must have at least {MIN_TOKEN_CHARS} characters and no whitespace"
            )))
        }
        Some(token) => Ok((token, false)),
        None => {
            let mut bytes = [0u8; 24];
            getrandom::fill(&mut bytes)
                .map_err(|e| Fatal::Unreadable(format!("cannot make an admin token: {e}")))?;
            Ok((bytes.iter().map(|b| format!("{b:02x}")).collect(), true))
        }
    }
}
