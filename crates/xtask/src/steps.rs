//! The steps of CI, each a function that says what failed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server::{jeugdpad, jeugdpad_binary, Server};
use crate::StepResult;

/// The repository's root (this crate is `crates/xtask`).
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `cargo` (the one that runs us) in the repository's root.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(repository());
    command
}

/// Runs `command`, its output going straight to ours; `Err` unless it succeeds.
pub fn run_checked(command: &mut Command) -> StepResult {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} exited with {status}"))
    }
}

/// A temporary directory under `target/xtask`, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Result<Scratch, String> {
        let path = repository()
            .join("target")
            .join("xtask")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn lint() -> StepResult {
    for component in ["rustfmt", "clippy"] {
        let installed = Command::new("rustup")
            .args(["component", "list", "--installed"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).contains(component))
            .unwrap_or(false);
        if !installed {
            run_checked(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    run_checked(cargo().args(["fmt", "--all", "--check"]))?;
    run_checked(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

pub fn test() -> StepResult {
    run_checked(cargo().args(["test", "--workspace"]))
}

/// The ignored test that restarts PostgreSQL (crates/jeugdpad/tests/cli.rs), alone.
pub fn db_restart() -> StepResult {
    run_checked(cargo().args([
        "test",
        "-p",
        "jeugdpad",
        "--test",
        "cli",
        "--",
        "--ignored",
        "--exact",
        "a_database_restart_under_load_loses_nothing_and_needs_no_node_restart",
        "--nocapture",
    ]))
}

/// The long durability run: the crash test and the power cuts with many more rounds than every
/// test run has, in release (the numbers from the environment when it sets them).
pub fn nightly() -> StepResult {
    let set = |command: &mut Command, variable: &str, default: &str| {
        if std::env::var_os(variable).is_none() {
            command.env(variable, default);
        }
    };
    let mut crash = cargo();
    crash.args([
        "test",
        "--release",
        "-p",
        "jeugdpad-store",
        "--test",
        "crash",
        "--",
        "--nocapture",
    ]);
    set(&mut crash, "JEUGDPAD_CRASH_ROUNDS", "1000");
    set(&mut crash, "JEUGDPAD_CRASH_ENGINE", "log");
    run_checked(&mut crash)?;
    let mut power = cargo();
    power.args([
        "test",
        "--release",
        "-p",
        "jeugdpad-store",
        "--lib",
        "--",
        "acknowledged_events_survive_simulated_power_cuts",
        "--nocapture",
    ]);
    set(&mut power, "JEUGDPAD_POWER_CUTS", "10000");
    run_checked(&mut power)
}

pub fn bench_smoke() -> StepResult {
    let dir = repository().join("target").join("bench-smoke");
    let bench = |args: &[&OsStr]| {
        run_checked(
            cargo()
                .args(["run", "--quiet", "-p", "jeugdpad-bench", "--"])
                .args(args),
        )
    };
    bench(&[
        "all".as_ref(),
        "--smoke".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--json".as_ref(),
        dir.join("all.json").as_os_str(),
    ])?;
    bench(&[
        "access-log".as_ref(),
        "--smoke".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
    ])?;
    // The soak runs the real server binary beside the benchmark's, on a store of its own.
    let soak = dir.join("soak");
    if soak.exists() {
        std::fs::remove_dir_all(&soak).map_err(|e| format!("removing {}: {e}", soak.display()))?;
    }
    run_checked(cargo().args(["build", "--quiet", "-p", "jeugdpad"]))?;
    bench(&[
        "soak".as_ref(),
        "--smoke".as_ref(),
        "--store".as_ref(),
        soak.join("data").as_os_str(),
    ])
}

/// Seeds a synthetic municipality of `trajectories` into `data`.
fn seed(binary: &Path, data: &Path, trajectories: u64, seed: u64, today: &str) -> StepResult {
    let (trajectories, seed) = (trajectories.to_string(), seed.to_string());
    jeugdpad(
        binary,
        data,
        &[
            "seed",
            "--synthetic",
            "--trajectories",
            &trajectories,
            "--seed",
            &seed,
            "--today",
            today,
        ],
    )
    .map(drop)
}

/// Seeds a small municipality, exports summaries and events as CSV and Parquet, and has
/// `scripts/check_parquet.py` read them back with pyarrow (installed once into a virtualenv in
/// `target/parquet-venv`, or `$JEUGDPAD_PARQUET_VENV`).
pub fn parquet() -> StepResult {
    let binary = jeugdpad_binary()?;
    let work = Scratch::new("parquet")?;
    let (data, out) = (work.0.join("data"), work.0.join("out"));
    let out_text = out.to_string_lossy().into_owned();
    seed(&binary, &data, 3000, 11, "2026-06-30")?;
    for format in ["csv", "parquet"] {
        for what in ["summaries", "events"] {
            jeugdpad(
                &binary,
                &data,
                &[
                    "export",
                    "--format",
                    format,
                    "--what",
                    what,
                    "--out",
                    &out_text,
                    "--as-of",
                    "2026-06-30",
                ],
            )?;
        }
    }
    let venv = std::env::var_os("JEUGDPAD_PARQUET_VENV").map_or_else(
        || repository().join("target").join("parquet-venv"),
        PathBuf::from,
    );
    let python = venv.join("bin").join("python");
    if !python.exists() {
        run_checked(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run_checked(Command::new(venv.join("bin").join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "pyarrow",
        ]))?;
    }
    run_checked(
        Command::new(python)
            .arg(repository().join("scripts").join("check_parquet.py"))
            .arg(&out),
    )
}

/// The GraphQL operations of `examples/`, each run by the role it is written for.
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "demo-consultant-noord",
        "consultant-record-a-case.graphql",
        r#"{"id": "7c1e9a52-3d0e-4b43-9a51-0c1f2d3e4f51", "subject": "sk-example-0001"}"#,
    ),
    (
        "demo-lead-weidevenne",
        "team-lead-monday-waiting-list.graphql",
        r#"{"team": "weidevenne"}"#,
    ),
    (
        "demo-analyst",
        "analyst-yearly-normalisation.graphql",
        r#"{"from": "2025-01-01", "to": "2025-12-31"}"#,
    ),
];

/// Seeds a synthetic municipality, gives each demo role a token, starts the server and runs
/// every example as its role: an answer with errors fails the step.
pub fn examples() -> StepResult {
    let binary = jeugdpad_binary()?;
    let work = Scratch::new("examples")?;
    let data = work.0.join("data");
    seed(&binary, &data, 5000, 2026, "2026-11-26")?;
    let tokens = EXAMPLES
        .iter()
        .map(|(user, _, _)| {
            jeugdpad(
                &binary,
                &data,
                &[
                    "token", "create", "--user", user, "--label", "examples", "--quiet",
                ],
            )
            .map(|token| token.trim().to_owned())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let server = Server::start(&binary, &data)?;
    for ((user, file, variables), token) in EXAMPLES.iter().zip(&tokens) {
        println!("-- {file} (as {user})");
        let path = repository().join("examples").join(file);
        let query =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let variables: serde_json::Value =
            serde_json::from_str(variables).map_err(|e| format!("{file}: variables: {e}"))?;
        let answer = server.graphql(token, &query, variables)?;
        if let Some(errors) = answer.get("errors") {
            return Err(format!(
                "{file} answered with errors: {errors:#}\n{}",
                server.log()
            ));
        }
        let text = serde_json::to_string_pretty(&answer["data"]).unwrap_or_default();
        let shown: String = text.chars().take(2_000).collect();
        println!(
            "{shown}{}",
            if shown.len() < text.len() {
                "\n…"
            } else {
                ""
            }
        );
    }
    println!("all examples ran");
    Ok(())
}

/// Installs the pinned audit suite (`scripts/package-lock.json`), starts a server with one
/// analyst token and runs `scripts/audit.mjs` against it. A failing MUST audit fails the step.
pub fn audit() -> StepResult {
    let binary = jeugdpad_binary()?;
    let scripts = repository().join("scripts");
    run_checked(
        Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(&scripts),
    )?;
    let work = Scratch::new("audit")?;
    let data = work.0.join("data");
    jeugdpad(
        &binary,
        &data,
        &[
            "user",
            "add",
            "audit",
            "--name",
            "graphql-http audit",
            "--role",
            "analyst",
        ],
    )?;
    let token = jeugdpad(
        &binary,
        &data,
        &[
            "token", "create", "--user", "audit", "--label", "audit", "--quiet",
        ],
    )?;
    let server = Server::start(&binary, &data)?;
    run_checked(
        Command::new("node")
            .arg(scripts.join("audit.mjs"))
            .arg(server.graphql_url())
            .env("JEUGDPAD_TOKEN", token.trim()),
    )
    .map_err(|why| format!("{why}\n--- server log ---\n{}", server.log()))
}
