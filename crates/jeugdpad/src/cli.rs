//! The command line, as an operator sees it in `--help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Jeugdpad records Dutch youth-care pathways (jeugdhulptrajecten) as an immutable,
/// tamper-evident event log and answers questions about waiting times, escalations and
/// normalisation outcomes from it.
///
/// All data lives in one directory on this machine (the embedded store). Back it up by stopping
/// the server and copying the directory; check a copy with `jeugdpad verify --data COPY`.
#[derive(Debug, Parser)]
#[command(name = "jeugdpad", version, propagate_version = true)]
pub struct Cli {
    /// The data directory that holds the event store. Created on first start by `serve`; every
    /// other command only reads an existing one.
    #[arg(
        long,
        global = true,
        env = "JEUGDPAD_DATA",
        value_name = "DIR",
        default_value = "./jeugdpad-data"
    )]
    pub data: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve Jeugdpad's GraphQL API until stopped (Ctrl-C or SIGTERM).
    ///
    /// Opens (or creates) the store in the data directory, rebuilds the read models from the
    /// event log, and serves GraphQL at http://ADDR/graphql, GraphiQL (a query editor in the
    /// browser) at http://ADDR/, subscriptions over websocket at ws://ADDR/graphql/ws, a health
    /// check at /health and Prometheus metrics at /metrics. On stop, requests in flight are
    /// finished and appends flushed to disk before the process exits.
    ///
    /// There is no sign-in yet: every step is recorded as the --operator identity. Listen on
    /// 127.0.0.1 (the default) until authentication arrives.
    Serve(ServeArgs),

    /// Check the store for damage or tampering, without changing it.
    ///
    /// Walks the whole event log and checks that every global position from 1 on is present,
    /// that each stream's versions are gapless, that the indexes agree with the log, and that
    /// the SHA-256 chain linking every event to the one before it is unbroken. Reports the first
    /// damaged position. Exit code 0: intact; 1: damage found; 2: the store could not be read.
    ///
    /// Run it on a copy (for example a restored backup) as well as on the live directory; stop
    /// the server first, because the store allows one process at a time.
    Verify,
}

/// Options of `jeugdpad serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(
        long,
        env = "JEUGDPAD_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: std::net::SocketAddr,

    /// The user id recorded as `recorded_by` on every step, until sign-in arrives.
    #[arg(
        long,
        env = "JEUGDPAD_OPERATOR",
        value_name = "USER",
        default_value = "local"
    )]
    pub operator: String,
}
