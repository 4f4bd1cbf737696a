//! `jeugdpad`: the one command a municipal operator runs.
//!
//! This binary only parses arguments, sets up logging and calls the library crates; it holds no
//! domain or storage logic of its own, so everything it does can be tested without it.

mod access;
mod backup;
mod cli;
mod control;
mod interchange;
mod migrate;
mod remote;
mod serve;
mod store;
mod upgrade;
mod verify;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// jemalloc hands the memory a rebuild frees back to the system; glibc's malloc keeps most of it
/// resident for good (docs/performance.md, "Memory").
#[cfg(all(not(target_env = "msvc"), not(feature = "dhat-heap")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// `--features dhat-heap`: every allocation is counted by call site, so a heap profile says what
/// holds the memory (docs/performance.md, "Memory under a long mixed load").
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn main() -> ExitCode {
    // Written to dhat-heap.json in the working directory when `main` returns (after a serve
    // stopped with SIGTERM, too).
    #[cfg(feature = "dhat-heap")]
    let _profiler = dhat::Profiler::new_heap();
    let cli = Cli::parse();
    // The server's log is its record of requests; a one-off command shows only what needs the
    // operator's attention, next to its own output.
    init_logging(match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    });
    let at = match store::Location::new(&cli.data, cli.store.as_deref(), &cli.store_schema) {
        Ok(at) => at,
        Err(error) => {
            eprintln!("jeugdpad: {error}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve(args) => serve::run(&at, &args),
        Command::Verify(args) => verify::run(&at, args.at),
        Command::Team(command) => access::team(&at, &command),
        Command::User(command) => access::user(&at, &command),
        Command::Token(command) => access::token(&at, &command),
        Command::Seed(args) => interchange::seed(&at, &args)
            .and_then(|code| access::after_seed(&at, &args).map(|()| code)),
        Command::Import(args) => interchange::import(&at, &args),
        Command::Export(args) => interchange::export(&at, &args),
        Command::Backup(args) => backup::backup(&at, &args),
        Command::Restore(args) => backup::restore(&at, &args),
        Command::Migrate(args) => migrate::run(&cli.data, &cli.store_schema, &args),
        Command::Upgrade => upgrade::run(&at),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("jeugdpad: {error}");
            ExitCode::from(2)
        }
    }
}

/// Structured logs go to stderr so that a command's own output (a report, an export) stays clean
/// on stdout. `JEUGDPAD_LOG` takes the usual `tracing` filter syntax (`info`,
/// `jeugdpad_store=debug`) and overrides `default`.
///
/// Records of crates that log through `log` rather than `tracing` (sled) are bridged up to INFO
/// only. sled writes its debug and trace records from destructors that run while a thread's
/// locals are torn down at exit; the fmt layer's per-thread buffer is gone by then, and the
/// panic that follows in a thread-local destructor aborts the process — a `serve` stopped with
/// SIGTERM under `JEUGDPAD_LOG=trace` died of SIGABRT. sled's warnings and errors still come
/// through, and those internals say nothing an operator can act on.
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("JEUGDPAD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .finish();
    // Both fail only if a logger or subscriber is already installed, which `main` never does.
    let _ = tracing::subscriber::set_global_default(subscriber);
    let _ = tracing_log::LogTracer::builder()
        .with_max_level(log::LevelFilter::Info)
        .init();
}
