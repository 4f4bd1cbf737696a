//! `cargo xtask`: the repository's automation in one place.
//!
//! `cargo xtask ci` is exactly what CI runs (`.ci/run` calls it and nothing else), so a
//! developer who runs it before pushing sees what CI will see. Every step also runs alone:
//!
//! ```text
//! cargo xtask ci            # everything below, in this order, stopping at the first failure
//! cargo xtask lint          # rustfmt --check and clippy -D warnings (installs the components)
//! cargo xtask test          # cargo test --workspace: the README's test command
//! cargo xtask db-restart    # PostgreSQL restarted under load (the one test that restarts it)
//! cargo xtask bench-smoke   # every benchmark in its smoke mode (no timing assertions)
//! cargo xtask parquet       # the Parquet exports read back with pyarrow (python3 venv, PyPI)
//! cargo xtask examples      # every role's GraphQL example against a freshly seeded server
//! cargo xtask audit         # the graphql-http server audits (node and npm)
//! cargo xtask browser       # the web app end to end in headless Chromium, axe on every page
//! ```
//!
//! Not part of `ci` (they print figures, or change the repository):
//!
//! ```text
//! cargo xtask nightly          # 1,000 kill -9 rounds and 10,000 simulated power cuts (release)
//! cargo xtask web-bench        # the web app's speed and weight with 2,000 open cases in a team
//! cargo xtask vendor-graphiql  # refreshes GraphiQL's vendored build from npm (pinned versions)
//! ```
//!
//! Steps that need something besides the Rust toolchain install it themselves into `target/`
//! (a Python virtualenv, the npm packages pinned in `scripts/package-lock.json`), because CI
//! runs on a clean checkout. The servers they start run the debug binary `cargo test` already
//! built, on a temporary data directory and a free loopback port, and are stopped on exit.

mod browser;
mod server;
mod steps;
mod vendor;

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

/// Jeugdpad's repository automation. `cargo xtask ci` runs exactly what CI runs.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    step: Step,
}

#[derive(Debug, Clone, Copy, Subcommand)]
enum Step {
    /// Everything CI runs, in order: lint, test, db-restart, bench-smoke, parquet, examples, audit,
    /// browser.
    Ci,
    /// `cargo fmt --all --check` and `cargo clippy --workspace --all-targets -- -D warnings`.
    Lint,
    /// `cargo test --workspace`: every test (the README's test command).
    Test,
    /// The machine's PostgreSQL restarted under load from two nodes: the one test that restarts
    /// the server every other PostgreSQL test uses, so it runs alone, after them.
    DbRestart,
    /// Every benchmark in its smoke mode, so the suite cannot rot (no timing assertions).
    BenchSmoke,
    /// Reads the Parquet exports back with pyarrow and checks them against the CSV exports.
    Parquet,
    /// Runs every role's GraphQL example (examples/*.graphql) against a seeded server.
    Examples,
    /// Checks the GraphQL endpoint against the GraphQL-over-HTTP spec (graphql-http audits).
    Audit,
    /// The web app end to end in Debian's headless Chromium (installed if missing), with axe-core
    /// on every page; screenshots in target/screenshots/.
    Browser,
    /// The long durability run (not in ci; about half an hour): the kill -9 crash test for 1,000
    /// rounds on the segment log and 10,000 simulated power cuts, in release. Each prints what
    /// was acknowledged and that none of it was lost; `JEUGDPAD_CRASH_ROUNDS` and
    /// `JEUGDPAD_POWER_CUTS` override the numbers.
    Nightly,
    /// The web app's speed and weight (not in ci): caseload of 2,000 open trajectories, trajectory
    /// page, first-load transfer; printed, never asserted. Builds the release binary.
    WebBench,
    /// Refreshes crates/web/assets/vendor/ (GraphiQL, React) from npm at the pinned versions (not
    /// in ci).
    VendorGraphiql,
}

/// What a step returns: `Err` with a sentence saying what failed.
type StepResult = Result<(), String>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let steps: &[Step] = match cli.step {
        Step::Ci => &[
            Step::Lint,
            Step::Test,
            Step::DbRestart,
            Step::BenchSmoke,
            Step::Parquet,
            Step::Examples,
            Step::Audit,
            Step::Browser,
        ],
        ref one => std::slice::from_ref(one),
    };
    let started = Instant::now();
    for &step in steps {
        let began = Instant::now();
        println!("== {}", step.title());
        if let Err(why) = step.run() {
            eprintln!("xtask: {} failed: {why}", step.title());
            return ExitCode::FAILURE;
        }
        println!("   ({:.0} s)", began.elapsed().as_secs_f64());
    }
    if matches!(cli.step, Step::Ci) {
        println!("== CI passed in {:.0} s", started.elapsed().as_secs_f64());
    }
    ExitCode::SUCCESS
}

impl Step {
    fn title(self) -> &'static str {
        match self {
            Step::Ci => "ci",
            Step::Lint => "lint: cargo fmt --check, cargo clippy -D warnings",
            Step::Test => "test: cargo test --workspace",
            Step::DbRestart => "db-restart: PostgreSQL restarted under load from two nodes",
            Step::BenchSmoke => "bench-smoke: every benchmark in smoke mode",
            Step::Parquet => "parquet: the Parquet exports read back with pyarrow",
            Step::Examples => "examples: every role's GraphQL example against a seeded server",
            Step::Audit => "audit: GraphQL over HTTP (graphql-http server audits)",
            Step::Browser => "browser: the web app in headless Chromium, axe-core on every page",
            Step::Nightly => "nightly: 1,000 kill -9 rounds and 10,000 power cuts",
            Step::WebBench => "web-bench: the web app's speed and weight (figures, not assertions)",
            Step::VendorGraphiql => {
                "vendor-graphiql: GraphiQL's build from npm into crates/web/assets/vendor"
            }
        }
    }

    fn run(self) -> StepResult {
        match self {
            Step::Ci => Ok(()),
            Step::Lint => steps::lint(),
            Step::Test => steps::test(),
            Step::DbRestart => steps::db_restart(),
            Step::BenchSmoke => steps::bench_smoke(),
            Step::Parquet => steps::parquet(),
            Step::Examples => steps::examples(),
            Step::Audit => steps::audit(),
            Step::Browser => browser::browser(),
            Step::Nightly => steps::nightly(),
            Step::WebBench => browser::web_bench(),
            Step::VendorGraphiql => vendor::graphiql(),
        }
    }
}
