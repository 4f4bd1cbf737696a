//! `jeugdpad`: the one command a municipal operator runs.
//!
//! This binary only parses arguments, sets up logging and calls the library crates; it holds no
//! domain or storage logic of its own, so everything it does can be tested without it.

mod access;
mod cli;
mod interchange;
mod serve;
mod store;
mod verify;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve(args) => serve::run(&cli.data, &args),
        Command::Verify => verify::run(&cli.data),
        Command::Team(command) => access::team(&cli.data, &command),
        Command::User(command) => access::user(&cli.data, &command),
        Command::Token(command) => access::token(&cli.data, &command),
        Command::Seed(args) => interchange::seed(&cli.data, &args)
            .and_then(|code| access::after_seed(&cli.data, &args).map(|()| code)),
        Command::Import(args) => interchange::import(&cli.data, &args),
        // Logged before any data leaves, like every export through the API.
        Command::Export(args) => {
            let operation = format!("export --what {:?} --format {:?}", args.what, args.format);
            interchange::check_export(&args)
                .and_then(|()| access::log_export(&cli.data, &operation.to_lowercase()))
                .and_then(|()| interchange::export(&cli.data, &args))
        }
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
/// on stdout. `JEUGDPAD_LOG` takes the usual `tracing` filter syntax (`info`, `jeugdpad_store=debug`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("JEUGDPAD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
