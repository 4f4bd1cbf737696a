//! `cargo xtask browser`: the web app end to end in Debian's headless Chromium.
//!
//! Installs what it needs (Debian's `chromium` when `/usr/bin/chromium` is missing; the npm
//! packages pinned in `tests/browser/package-lock.json`: playwright-core, which drives the system
//! Chromium and downloads no browser of its own, and axe-core), starts `jeugdpad serve` on a
//! fresh data directory and a free port with two teams and one user (and API token) per role, and
//! runs `tests/browser/run.mjs` against it (the tokens in a file of the scratch directory). Screenshots of every page go to
//! `target/screenshots/`.

use std::path::Path;
use std::process::Command;

use crate::server::{jeugdpad, jeugdpad_binary, Server};
use crate::steps::{repository, run_checked, Scratch};
use crate::StepResult;

/// The system Chromium the tests drive.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The people of the browser tests: (user id, name, role, team).
const PEOPLE: &[(&str, &str, &str, Option<&str>)] = &[
    ("consultant-noord", "C. Noord", "consultant", Some("noord")),
    ("consultant-zuid", "C. Zuid", "consultant", Some("zuid")),
    ("lead-noord", "T. Noord", "team_lead", Some("noord")),
    ("analyst", "B. Analist", "analyst", None),
    ("admin", "A. Beheer", "admin", None),
];

/// Debian's Chromium, installed with apt-get when missing (CI runs as root on Debian).
pub fn ensure_chromium() -> StepResult {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !install() {
        run_checked(Command::new("apt-get").arg("update"))?;
        if !install() {
            return Err("apt-get install -y chromium failed".into());
        }
    }
    Ok(())
}

/// The pinned npm packages of `dir` (`npm ci`: exactly the lock file, a second or two).
pub fn npm_ci(dir: &Path) -> StepResult {
    run_checked(
        Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(dir),
    )
}

/// A fresh data directory with the browser tests' teams, users and tokens; the tokens as JSON.
pub fn people(binary: &Path, data: &Path) -> Result<serde_json::Value, String> {
    for (team, name) in [("noord", "Wijkteam Noord"), ("zuid", "Wijkteam Zuid")] {
        jeugdpad(binary, data, &["team", "add", team, "--name", name])?;
    }
    let mut tokens = serde_json::Map::new();
    for (user, name, role, team) in PEOPLE {
        let mut args = vec!["user", "add", user, "--name", name, "--role", role];
        if let Some(team) = team {
            args.extend(["--team", team]);
        }
        jeugdpad(binary, data, &args)?;
        let token = jeugdpad(
            binary,
            data,
            &[
                "token", "create", "--user", user, "--label", "browser", "--quiet",
            ],
        )?;
        tokens.insert((*user).to_owned(), token.trim().into());
    }
    Ok(serde_json::Value::Object(tokens))
}

pub fn browser() -> StepResult {
    ensure_chromium()?;
    let tests = repository().join("tests").join("browser");
    npm_ci(&tests)?;
    let binary = jeugdpad_binary()?;
    let work = Scratch::new("browser")?;
    let data = work.0.join("data");
    let tokens = people(&binary, &data)?;
    let shots = repository().join("target").join("screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    // The tokens go to the tests in a file, not in the environment: a failing command is
    // printed with its environment, and tokens do not belong in a CI log.
    let token_file = work.0.join("tokens.json");
    std::fs::write(&token_file, tokens.to_string())
        .map_err(|e| format!("{}: {e}", token_file.display()))?;
    let server = Server::start(&binary, &data)?;
    run_checked(
        Command::new("node")
            .arg(tests.join("run.mjs"))
            .current_dir(&tests)
            .env("JEUGDPAD_URL", format!("http://127.0.0.1:{}", server.port))
            .env("JEUGDPAD_TOKEN_FILE", &token_file)
            .env("JEUGDPAD_SCREENSHOTS", &shots),
    )
    .map_err(|why| format!("{why}\n--- server log ---\n{}", server.log()))
}

/// The synthetic municipality of the web benchmark: two teams of equal size, so that team
/// noord has about 2,000 open trajectories (of some 19,000) beside a decoy team as large.
const BENCH_SCENARIO: &str = "# cargo xtask web-bench: two equal teams (all else the defaults)\n\
    [teams]\nnoord = 1.0\nzuid = 1.0\n";
/// Trajectories seeded for the benchmark (about 2,000 of team noord's are open today).
const BENCH_TRAJECTORIES: &str = "38000";

/// `cargo xtask web-bench`: the figures of the web app's speed and weight, printed, never
/// asserted (`tests/browser/bench.mjs` says what each is). Uses the release binary.
pub fn web_bench() -> StepResult {
    ensure_chromium()?;
    let tests = repository().join("tests").join("browser");
    npm_ci(&tests)?;
    run_checked(crate::steps::cargo().args(["build", "--release", "--quiet", "-p", "jeugdpad"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| repository().join("target"), std::path::PathBuf::from);
    let binary = target.join("release").join("jeugdpad");
    let work = Scratch::new("web-bench")?;
    let data = work.0.join("data");
    let scenario = work.0.join("scenario.toml");
    std::fs::write(&scenario, BENCH_SCENARIO)
        .map_err(|e| format!("{}: {e}", scenario.display()))?;
    let scenario = scenario.to_string_lossy().into_owned();
    println!("seeding {BENCH_TRAJECTORIES} synthetic trajectories in two teams …");
    jeugdpad(
        &binary,
        &data,
        &[
            "seed",
            "--synthetic",
            "--scenario",
            &scenario,
            "--trajectories",
            BENCH_TRAJECTORIES,
        ],
    )?;
    let mut tokens = serde_json::Map::new();
    for (key, user) in [
        ("consultant-noord", "demo-consultant-noord"),
        ("lead-noord", "demo-lead-noord"),
        ("analyst", "demo-analyst"),
    ] {
        let token = jeugdpad(
            &binary,
            &data,
            &[
                "token",
                "create",
                "--user",
                user,
                "--label",
                "web-bench",
                "--quiet",
            ],
        )?;
        tokens.insert(key.to_owned(), token.trim().into());
    }
    let token_file = work.0.join("tokens.json");
    std::fs::write(&token_file, serde_json::Value::Object(tokens).to_string())
        .map_err(|e| format!("{}: {e}", token_file.display()))?;
    let server = Server::start(&binary, &data)?;
    run_checked(
        Command::new("node")
            .arg(tests.join("bench.mjs"))
            .current_dir(&tests)
            .env("JEUGDPAD_URL", format!("http://127.0.0.1:{}", server.port))
            .env("JEUGDPAD_TOKEN_FILE", &token_file),
    )
    .map_err(|why| format!("{why}\n--- server log ---\n{}", server.log()))
}
