//! The `jeugdpad` command as an operator uses it: the real binary, real data directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::NaiveDate;
use jeugdpad_store::{EventStore, ExpectedVersion, ProposedEvent, Store};
use uuid::Uuid;

const EVENTS: u64 = 40;

fn jeugdpad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jeugdpad"))
        .args(args)
        .env_remove("JEUGDPAD_DATA")
        .output()
        .expect("the jeugdpad binary runs")
}

/// `jeugdpad --data DATA seed --synthetic --trajectories N --today 2026-06-30`.
fn seed_synthetic(data: &str, trajectories: u32) -> Output {
    let trajectories = trajectories.to_string();
    jeugdpad(&[
        "--data",
        data,
        "seed",
        "--synthetic",
        "--trajectories",
        &trajectories,
        "--today",
        "2026-06-30",
    ])
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The marker that lets a test find event `n`'s bytes inside sled's files.
fn marker(n: u64) -> String {
    format!("synthetic-marker-{n:04}-zzzzzzzzzzzzzzzz")
}

/// A store holding `EVENTS` events, one append each (so each lands in its own flush), in a few
/// streams, closed cleanly.
fn populated_store(dir: &Path) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let store = Store::open(dir).expect("store opens");
        for n in 1..=EVENTS {
            let event = ProposedEvent {
                event_id: Uuid::new_v4(),
                event_type: "consultant_assigned".to_owned(),
                schema_version: 1,
                occurred_on: NaiveDate::from_ymd_opt(2026, 1, 5).expect("a valid date"),
                recorded_by: "consultant-test".to_owned(),
                correlation_id: None,
                causation_id: None,
                payload: serde_json::json!({ "consultant": marker(n) }),
            };
            store
                .append(
                    &format!("trajectory-{}", n % 4),
                    ExpectedVersion::Any,
                    vec![event],
                )
                .await
                .expect("append succeeds");
        }
        store.close().expect("store closes cleanly");
    });
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy dir");
    for entry in std::fs::read_dir(from).expect("read store dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Every file under `dir` with the offsets where `needle` occurs.
fn occurrences(dir: &Path, needle: &[u8]) -> Vec<(PathBuf, usize)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            found.extend(occurrences(&path, needle));
        } else {
            let bytes = std::fs::read(&path).expect("read file");
            found.extend(
                bytes
                    .windows(needle.len())
                    .enumerate()
                    .filter(|(_, window)| *window == needle)
                    .map(|(offset, _)| (path.clone(), offset)),
            );
        }
    }
    found
}

#[test]
fn verify_reports_an_intact_store_as_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    populated_store(&data);

    let output = jeugdpad(&["verify", "--data", data.to_str().expect("utf-8 path")]);

    assert!(output.status.success(), "verify failed: {output:?}");
    assert!(
        stdout(&output).contains(&format!("{EVENTS} events")),
        "{}",
        stdout(&output)
    );
}

#[test]
fn verify_at_prints_the_hash_kept_at_a_position_and_refuses_one_beyond_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    populated_store(&data);
    let data = data.to_str().expect("utf-8 path");

    let whole = jeugdpad(&["verify", "--data", data]);
    let at_head = jeugdpad(&["verify", "--data", data, "--at", &EVENTS.to_string()]);
    let earlier = jeugdpad(&["verify", "--data", data, "--at", "3"]);
    let beyond = jeugdpad(&["verify", "--data", data, "--at", &(EVENTS + 1).to_string()]);

    let head_hash = stdout(&whole)
        .split("hash ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("verify prints the head hash")
        .to_owned();
    assert!(at_head.status.success(), "{at_head:?}");
    assert!(
        stdout(&at_head).contains(&format!("hash at position {EVENTS}: {head_hash}")),
        "{}",
        stdout(&at_head)
    );
    assert!(earlier.status.success(), "{earlier:?}");
    assert!(stdout(&earlier).contains("hash at position 3: "));
    assert!(!stdout(&earlier).contains(&format!("hash at position 3: {head_hash}")));
    assert_eq!(beyond.status.code(), Some(1), "{beyond:?}");
}

#[test]
fn verify_names_the_position_of_a_single_flipped_byte_in_a_copied_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    populated_store(&data);

    let damaged = 23;
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let hits = occurrences(&copy, marker(damaged).as_bytes());
    assert!(
        !hits.is_empty(),
        "event {damaged}'s bytes were not found in the store files"
    );
    // Flip one byte in the middle of the marker, in the first place sled wrote it.
    let (file, offset) = &hits[0];
    let mut bytes = std::fs::read(file).expect("read store file");
    bytes[offset + 10] ^= 0x01;
    std::fs::write(file, bytes).expect("write damaged file");

    let output = jeugdpad(&["verify", "--data", copy.to_str().expect("utf-8 path")]);

    assert_eq!(
        output.status.code(),
        Some(1),
        "verify must report damage: {output:?}"
    );
    assert!(
        stdout(&output).contains(&format!("position {damaged}")),
        "verify must name position {damaged}:\n{}",
        stdout(&output)
    );
    // The original is untouched and still verifies.
    let original = jeugdpad(&["verify", "--data", data.to_str().expect("utf-8 path")]);
    assert!(original.status.success(), "{original:?}");
}

#[test]
fn verify_of_a_missing_directory_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nowhere");

    let output = jeugdpad(&["verify", "--data", missing.to_str().expect("utf-8 path")]);

    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("does not hold a Jeugdpad event store"),
        "{stderr}"
    );
    assert!(!missing.exists(), "verify must not create a data directory");
}

#[test]
fn help_explains_the_data_directory() {
    let output = jeugdpad(&["--help"]);
    let help = stdout(&output);
    assert!(output.status.success());
    for expected in ["serve", "verify", "JEUGDPAD_DATA", "./jeugdpad-data"] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
}

#[test]
fn seed_fills_an_empty_directory_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let args = [
        "--data",
        data,
        "seed",
        "--synthetic",
        "--trajectories",
        "50",
        "--today",
        "2026-06-30",
    ];
    let first = jeugdpad(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout(&first).contains("Recorded 50 trajectories"));
    let second = jeugdpad(&args);
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already holds"));
    let out = dir.path().join("out");
    let export = jeugdpad(&[
        "--data",
        data,
        "export",
        "--format",
        "csv",
        "--out",
        out.to_str().expect("utf-8 path"),
        "--as-of",
        "2026-06-30",
    ]);
    assert!(export.status.success());
    let csv = std::fs::read_to_string(out.join("summaries.csv")).expect("written");
    assert_eq!(csv.lines().count(), 51);
    assert!(
        !csv.contains("consulent-"),
        "no staff ids in the analyst export"
    );
    // As known on an instant before the seed ran, nothing existed yet: the header alone.
    let before = dir.path().join("before");
    let export = jeugdpad(&[
        "--data",
        data,
        "export",
        "--format",
        "csv",
        "--out",
        before.to_str().expect("utf-8 path"),
        "--as-of",
        "2026-06-30",
        "--known-on",
        "2020-01-01T00:00:00Z",
    ]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let csv = std::fs::read_to_string(before.join("summaries.csv")).expect("written");
    assert_eq!(csv.lines().count(), 1, "{csv}");
    // Events carry their own recorded_at: --known-on is refused there, not ignored.
    let events = jeugdpad(&[
        "--data",
        data,
        "export",
        "--what",
        "events",
        "--out",
        before.to_str().expect("utf-8 path"),
        "--known-on",
        "2020-01-01T00:00:00Z",
    ]);
    assert_eq!(events.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&events.stderr).contains("--known-on applies to"));
    assert!(jeugdpad(&["--data", data, "verify"]).status.success());
}

/// A `jeugdpad serve` child process on a free loopback port, holding its data directory's lock
/// as in production. Killed when dropped.
struct Serving {
    child: std::process::Child,
    url: String,
    log: PathBuf,
}

impl Serving {
    fn start(data: &str, log: PathBuf) -> Serving {
        Serving::start_with(&["--data", data], &[], log)
    }

    /// `jeugdpad GLOBAL… serve SERVE… --listen` on a free port.
    fn start_with(global: &[&str], serve: &[&str], log: PathBuf) -> Serving {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_jeugdpad"))
            .args(global)
            .arg("serve")
            .args(serve)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("JEUGDPAD_LISTEN")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .expect("jeugdpad serve starts");
        let mut serving = Serving {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        serving.wait_for_health(port);
        serving
    }

    /// Waits until `/health` answers 200, or fails with the server's log.
    fn wait_for_health(&mut self, port: u16) {
        use std::io::{Read, Write};
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                panic!("jeugdpad serve exited with {status}:\n{}", self.log());
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let mut answer = String::new();
                let asked = stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n");
                if asked.is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.0 200")
                {
                    return;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("jeugdpad serve did not become healthy:\n{}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server and waits until it is gone (and with it the store's lock).
    fn stop(mut self) -> String {
        self.child.kill().expect("the server is killed");
        self.child.wait().expect("the server exits");
        self.log()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary with `envs` set and no other Jeugdpad variable from the test's environment.
fn jeugdpad_with(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jeugdpad"));
    for variable in [
        "JEUGDPAD_DATA",
        "JEUGDPAD_SERVER",
        "JEUGDPAD_TOKEN",
        "JEUGDPAD_LOG",
        "JEUGDPAD_STORE",
        "JEUGDPAD_STORE_SCHEMA",
    ] {
        command.env_remove(variable);
    }
    command
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .expect("the jeugdpad binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a GraphQL operation against `url` with a bearer token; the whole JSON answer.
fn graphql(url: &str, token: &str, query: &str) -> serde_json::Value {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/graphql"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON answer")
    })
}

#[test]
fn teams_users_and_tokens_go_through_a_running_servers_admin_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    // The first admin and their token, made with the server stopped.
    let added = jeugdpad_with(
        &[
            "--data", data, "user", "add", "root", "--name", "Root", "--role", "admin",
        ],
        &[],
    );
    assert!(added.status.success(), "{added:?}");
    let minted = jeugdpad_with(
        &[
            "--data", data, "token", "create", "--user", "root", "--quiet",
        ],
        &[],
    );
    assert!(minted.status.success(), "{minted:?}");
    let admin_token = stdout(&minted).trim().to_owned();
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, format!("{admin_token}\n")).expect("write the token file");
    let token_file = token_file.to_str().expect("utf-8 path");
    // What the command line says to a change the registry refuses, with the server stopped.
    let local_refusal = {
        let other = dir.path().join("other");
        let other = other.to_str().expect("utf-8 path");
        let add = ["--data", other, "team", "add", "noord", "--name", "Noord"];
        assert!(jeugdpad_with(&add, &[]).status.success());
        let again = jeugdpad_with(&add, &[]);
        assert_eq!(again.status.code(), Some(2), "{again:?}");
        stderr(&again)
    };

    let server = Serving::start(data, dir.path().join("serve.log"));
    let url = server.url.clone();

    // Without --server the store is locked: the refusal shows this very command with --server.
    let locked = jeugdpad_with(
        &[
            "--data",
            data,
            "team",
            "add",
            "noord",
            "--name",
            "Wijkteam Noord",
        ],
        &[],
    );
    assert_eq!(locked.status.code(), Some(2), "{locked:?}");
    let suggested =
        format!("jeugdpad --data {data} team add noord --name 'Wijkteam Noord' --server {url}");
    assert!(stderr(&locked).contains("is in use"), "{}", stderr(&locked));
    assert!(stderr(&locked).contains(&suggested), "{}", stderr(&locked));

    // That command, with the admin's token in JEUGDPAD_TOKEN, adds the team.
    let team = jeugdpad_with(
        &[
            "--data",
            data,
            "team",
            "add",
            "noord",
            "--name",
            "Wijkteam Noord",
            "--server",
            &url,
        ],
        &[("JEUGDPAD_TOKEN", &admin_token)],
    );
    assert!(team.status.success(), "{team:?}");
    assert_eq!(stdout(&team), "team 'noord' added\n");
    // A user in that team, the token from a file.
    let user = jeugdpad_with(
        &[
            "user",
            "add",
            "j.jansen",
            "--name",
            "J. Jansen",
            "--role",
            "consultant",
            "--team",
            "noord",
            "--server",
            &url,
            "--token-file",
            token_file,
        ],
        &[],
    );
    assert!(user.status.success(), "{user:?}");
    // A token for them, printed once.
    let created = jeugdpad_with(
        &[
            "token",
            "create",
            "--user",
            "j.jansen",
            "--label",
            "laptop",
            "--quiet",
            "--server",
            &url,
            "--token-file",
            token_file,
        ],
        &[],
    );
    assert!(created.status.success(), "{created:?}");
    let consultant_token = stdout(&created).trim().to_owned();
    assert!(consultant_token.starts_with("jpt_"), "{consultant_token}");

    // The printed token signs the consultant in: they see the team and record for it.
    let teams = graphql(&url, &consultant_token, "{ teams { code name } today }");
    assert_eq!(
        teams["data"]["teams"],
        serde_json::json!([{ "code": "noord", "name": "Wijkteam Noord" }]),
        "{teams}"
    );
    let today = teams["data"]["today"].as_str().expect("the server's today");
    let opened = graphql(
        &url,
        &consultant_token,
        &format!(
            "mutation {{ openTrajectory(occurredOn: \"{today}\", signal: {{
                 subjectKey: \"sk-cli-1\", team: \"noord\", source: SCHOOL,
                 concerns: [PARENTING], urgency: REGULAR }}) {{ trajectoryId }} }}"
        ),
    );
    assert!(opened.get("errors").is_none(), "{opened}");

    // The lists come from the server too; a token is never among them.
    let remote = ["--server", url.as_str(), "--token-file", token_file];
    let list = |what: &str| {
        let output = jeugdpad_with(&[&[what, "list"][..], &remote[..]].concat(), &[]);
        assert!(output.status.success(), "{output:?}");
        stdout(&output)
    };
    assert_eq!(list("team"), "noord\tWijkteam Noord\n");
    assert_eq!(
        list("user"),
        "j.jansen\tconsultant\tnoord\tactive\tJ. Jansen\nroot\tadmin\t-\tactive\tRoot\n"
    );
    let tokens = list("token");
    assert_eq!(tokens.lines().count(), 2, "{tokens}");
    assert!(
        tokens
            .lines()
            .any(|line| line.contains("\tj.jansen\t") && line.ends_with("\tactive\tlaptop")),
        "{tokens}"
    );
    for secret in [&admin_token, &consultant_token] {
        assert!(!tokens.contains(secret.as_str()), "{tokens}");
    }

    // A refused change reads as it does without a server, with the same exit code …
    let again = jeugdpad_with(
        &[
            &["team", "add", "noord", "--name", "Noord"][..],
            &remote[..],
        ]
        .concat(),
        &[],
    );
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert_eq!(stderr(&again), local_refusal);
    // … and a token that is not an admin's is turned away.
    let consultant_file = dir.path().join("consultant-token");
    std::fs::write(&consultant_file, &consultant_token).expect("write");
    let forbidden = jeugdpad_with(
        &[
            "team",
            "add",
            "zuid",
            "--name",
            "Zuid",
            "--server",
            &url,
            "--token-file",
            consultant_file.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    assert_eq!(forbidden.status.code(), Some(2), "{forbidden:?}");
    assert!(
        stderr(&forbidden).contains("not an admin's"),
        "{}",
        stderr(&forbidden)
    );

    // The server never logged a token; the changes are in the store once it has stopped.
    let log = server.stop();
    for secret in [&admin_token, &consultant_token] {
        assert!(
            !log.contains(secret.as_str()),
            "a token in the server's log"
        );
    }
    let teams = jeugdpad_with(&["--data", data, "team", "list"], &[]);
    assert_eq!(stdout(&teams), "noord\tWijkteam Noord\n", "{teams:?}");
}

#[test]
fn one_off_commands_print_no_log_lines_unless_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");

    let added = jeugdpad(&["--data", data, "team", "add", "noord", "--name", "Noord"]);

    assert!(added.status.success(), "{added:?}");
    assert_eq!(stdout(&added), "team 'noord' added\n");
    assert_eq!(String::from_utf8_lossy(&added.stderr), "", "no log lines");
    // JEUGDPAD_LOG still turns them on.
    let listed = Command::new(env!("CARGO_BIN_EXE_jeugdpad"))
        .args(["--data", data, "team", "list"])
        .env("JEUGDPAD_LOG", "info")
        .output()
        .expect("the jeugdpad binary runs");
    assert!(listed.status.success(), "{listed:?}");
    assert!(
        String::from_utf8_lossy(&listed.stderr).contains("event store opened"),
        "{listed:?}"
    );
}

#[test]
fn reports_count_in_words_that_fit_the_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source");
    let source = source.to_str().expect("utf-8 path");
    let seeded = seed_synthetic(source, 1);
    assert!(seeded.status.success(), "{seeded:?}");
    let said = stdout(&seeded);
    assert!(said.contains("Seeding 1 synthetic trajectory "), "{said}");
    assert!(said.contains("Recorded 1 trajectory with "), "{said}");

    let out = dir.path().join("out");
    let exported = jeugdpad(&[
        "--data",
        source,
        "export",
        "--format",
        "jsonl",
        "--what",
        "events",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(exported.status.success(), "{exported:?}");
    let file = out.join("events.jsonl");
    let events = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .count();
    assert!(events > 1, "a case has several events");
    assert!(stdout(&exported).contains(&format!("Wrote {events} rows")));

    let target = dir.path().join("target");
    let target = target.to_str().expect("utf-8 path");
    let imported = jeugdpad(&[
        "--data",
        target,
        "import",
        file.to_str().expect("utf-8 path"),
    ]);
    assert!(imported.status.success(), "{imported:?}");
    assert!(
        stdout(&imported).contains(&format!(
            "Read {events} lines: imported {events} events in 1 stream; refused 0 streams (0 lines)."
        )),
        "{}",
        stdout(&imported)
    );
    let verified = jeugdpad(&["--data", target, "verify"]);
    assert!(verified.status.success(), "{verified:?}");
    assert!(
        stdout(&verified).contains(&format!("{events} events in 1 stream;")),
        "{}",
        stdout(&verified)
    );
}

/// Every `--help` a user can ask for.
const HELP: &[&[&str]] = &[
    &["--help"],
    &["serve", "--help"],
    &["team", "--help"],
    &["team", "add", "--help"],
    &["team", "list", "--help"],
    &["user", "--help"],
    &["user", "add", "--help"],
    &["user", "deactivate", "--help"],
    &["user", "list", "--help"],
    &["token", "--help"],
    &["token", "create", "--help"],
    &["token", "revoke", "--help"],
    &["token", "list", "--help"],
    &["verify", "--help"],
    &["seed", "--help"],
    &["import", "--help"],
    &["export", "--help"],
];

#[test]
fn help_points_only_to_documents_the_repository_has() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cited = std::collections::BTreeSet::new();
    for args in HELP {
        let output = jeugdpad(args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        let help = stdout(&output);
        assert!(
            !help.contains("SPEC"),
            "{args:?} cites a spec users do not have:\n{help}"
        );
        for (at, _) in help.match_indices("docs/") {
            let path: String = help[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/-_.".contains(*c))
                .collect();
            let path = path.trim_end_matches('.').to_owned();
            assert!(repository.join(&path).is_file(), "{args:?} cites {path}");
            cited.insert(path);
        }
    }
    for document in ["docs/security.md", "docs/rules.md", "docs/figures.md"] {
        assert!(cited.contains(document), "no help points to {document}");
    }
}

#[test]
fn commands_that_need_an_installation_refuse_a_directory_without_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("mistyped");
    let missing = missing.to_str().expect("utf-8 path");
    let out = dir.path().join("out");
    let out = out.to_str().expect("utf-8 path");
    for args in [
        &["--data", missing, "export", "--out", out][..],
        &["--data", missing, "team", "list"],
        &["--data", missing, "user", "deactivate", "j.jansen"],
        &["--data", missing, "token", "create", "--user", "j.jansen"],
    ] {
        let output = jeugdpad(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(
            stderr(&output).contains("does not hold a Jeugdpad event store"),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            !Path::new(missing).exists(),
            "{args:?} created the directory"
        );
    }
    assert!(!Path::new(out).exists(), "nothing was exported");
}

/// The access-log entries of a stopped store's data directory.
fn access_log_length(data: &str) -> usize {
    let store = Store::open(Path::new(data)).expect("store opens");
    let length = store
        .read_stream("access-log")
        .expect("the access log reads")
        .len();
    store.close().expect("store closes");
    length
}

#[test]
fn an_export_does_not_replace_an_earlier_one_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let seeded = seed_synthetic(data, 3);
    assert!(seeded.status.success(), "{seeded:?}");
    let out = dir.path().join("out");
    let export = |force: bool| {
        let mut args = vec![
            "--data",
            data,
            "export",
            "--out",
            out.to_str().expect("utf-8 path"),
            "--as-of",
            "2026-06-30",
        ];
        if force {
            args.push("--force");
        }
        jeugdpad(&args)
    };
    assert!(export(false).status.success());
    let file = out.join("summaries.csv");
    let earlier = "an earlier export, kept\n";
    std::fs::write(&file, earlier).expect("write");
    let logged = access_log_length(data);

    let refused = export(false);

    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let says = stderr(&refused);
    assert!(
        says.contains("already exists") && says.contains("--force"),
        "{says}"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), earlier);
    assert_eq!(
        access_log_length(data),
        logged,
        "a refused export is not logged"
    );

    let forced = export(true);

    assert!(forced.status.success(), "{forced:?}");
    let csv = std::fs::read_to_string(&file).expect("read");
    assert_eq!(csv.lines().count(), 4, "a header and three rows:\n{csv}");
    assert_eq!(access_log_length(data), logged + 1);
}

/// sled writes its debug and trace records from destructors that can run while a thread's
/// locals are being torn down at exit, where printing them aborted the process (a `serve`
/// stopped under `JEUGDPAD_LOG=trace` died of SIGABRT now and then). They are not bridged; our
/// own trace records still are.
#[test]
fn trace_logging_shows_our_records_and_not_sleds_internals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let seeded = seed_synthetic(data, 3);
    assert!(seeded.status.success(), "{seeded:?}");

    let listed = jeugdpad_with(
        &["--data", data, "team", "list"],
        &[("JEUGDPAD_LOG", "trace")],
    );

    assert!(listed.status.success(), "{listed:?}");
    let log = stderr(&listed);
    assert!(log.contains("jeugdpad_store"), "our own records: {log}");
    let sled_internals: Vec<&str> = log
        .lines()
        .filter(|line| {
            (line.contains("TRACE") || line.contains("DEBUG")) && line.contains(" sled::")
        })
        .collect();
    assert!(sled_internals.is_empty(), "{sled_internals:#?}");
}

/// Nodes of one installation on a throw-away PostgreSQL schema: team `noord`, a consultant
/// `c.one` and an admin `root` registered through node `a`'s command line, with their tokens.
/// Every node reads node `a`'s installation secret and has the per-token rate limit lifted (the
/// checks read with one token).
struct Region {
    dir: tempfile::TempDir,
    schema: jeugdpad_store::pg_testing::TestSchema,
    url: String,
    consultant: String,
    admin: String,
}

impl Region {
    /// `None` when the machine skips the PostgreSQL tests.
    fn new() -> Option<Region> {
        if jeugdpad_store::pg_testing::skipped() {
            eprintln!("skipped: {} is set", jeugdpad_store::pg_testing::SKIP_VAR);
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let schema = jeugdpad_store::pg_testing::TestSchema::for_dir(dir.path());
        let mut region = Region {
            dir,
            schema,
            url: jeugdpad_store::pg_testing::test_url(),
            consultant: String::new(),
            admin: String::new(),
        };
        region.consultant = noord_consultant(|args| region.run("a", args));
        region.run(
            "a",
            &["user", "add", "root", "--name", "Root", "--role", "admin"],
        );
        region.admin = region.run("a", &["token", "create", "--user", "root", "--quiet"]);
        Some(region)
    }

    /// `--data NODE_DIR --store URL --store-schema SCHEMA`.
    fn global(&self, node: &str) -> Vec<String> {
        let data = self.dir.path().join(node);
        [
            "--data",
            data.to_str().expect("utf-8"),
            "--store",
            &self.url,
            "--store-schema",
            self.schema.name(),
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// `jeugdpad GLOBAL(node) ARGS…`, which must succeed; its trimmed output.
    fn run(&self, node: &str, args: &[&str]) -> String {
        let global = self.global(node);
        let mut all: Vec<&str> = global.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        let output = jeugdpad_with(&all, &[]);
        assert!(output.status.success(), "{args:?}: {output:?}");
        stdout(&output).trim().to_owned()
    }

    /// `jeugdpad serve` as `node`.
    fn start(&self, node: &str) -> Serving {
        let global = self.global(node);
        let global: Vec<&str> = global.iter().map(String::as_str).collect();
        let secret = self.dir.path().join("a").join("install-secret");
        let secret = secret.to_str().expect("utf-8");
        let mut serve = vec!["--rate-limit", "1000000"];
        if node != "a" {
            serve.extend(["--secret-file", secret]);
        }
        Serving::start_with(&global, &serve, self.dir.path().join(format!("{node}.log")))
    }
}

/// Adds team `noord` and its consultant `c.one` with `run` (a command line, given the
/// arguments after the global ones); the consultant's new API token.
fn noord_consultant(run: impl Fn(&[&str]) -> String) -> String {
    run(&["team", "add", "noord", "--name", "Noord"]);
    run(&[
        "user",
        "add",
        "c.one",
        "--name",
        "C. One",
        "--role",
        "consultant",
        "--team",
        "noord",
    ]);
    run(&["token", "create", "--user", "c.one", "--quiet"])
        .trim()
        .to_owned()
}

/// Opens a trajectory for team `noord` through `url`; its id once the server acknowledged it.
fn open_trajectory(url: &str, token: &str, subject: &str) -> Option<String> {
    let today = graphql(url, token, "{ today }")["data"]["today"]
        .as_str()?
        .to_owned();
    let opened = graphql(
        url,
        token,
        &format!(
            "mutation {{ openTrajectory(occurredOn: \"{today}\", signal: {{
                 subjectKey: \"{subject}\", team: \"noord\", source: SCHOOL,
                 concerns: [PARENTING], urgency: REGULAR }}) {{ trajectoryId }} }}"
        ),
    );
    opened["data"]["openTrajectory"]["trajectoryId"]
        .as_str()
        .map(str::to_owned)
}

/// Whether `url` serves trajectory `id`.
fn serves(url: &str, token: &str, id: &str) -> bool {
    let answer = graphql(
        url,
        token,
        &format!("{{ trajectory(id: \"{id}\") {{ id }} }}"),
    );
    answer["data"]["trajectory"]["id"].as_str() == Some(id)
}

/// Waits up to `limit` for `check`; how long it took.
fn within(limit: std::time::Duration, check: impl Fn() -> bool) -> Option<std::time::Duration> {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if check() {
            return Some(started.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

/// Two `jeugdpad serve` nodes on one PostgreSQL schema: a step recorded on A shows on B, and a
/// team added through A's admin API signs in on B; A killed with SIGKILL under load loses no
/// acknowledged step, B keeps serving meanwhile, and A started again serves them all.
#[test]
fn two_nodes_on_one_postgres_schema_serve_one_log() {
    let Some(region) = Region::new() else {
        return;
    };
    let (token, admin) = (region.consultant.clone(), region.admin.clone());
    let node_a = region.start("a");
    let node_b = region.start("b");

    // A step on A shows on B.
    let first = open_trajectory(&node_a.url, &token, "sk-node-1").expect("A records");
    let shown = within(std::time::Duration::from_secs(10), || {
        serves(&node_b.url, &token, &first)
    });
    assert!(
        shown.is_some(),
        "B never showed A's step:\n{}",
        node_b.log()
    );
    // An admin change through A signs in on B.
    let added = jeugdpad_with(
        &[
            "team",
            "add",
            "zuid",
            "--name",
            "Zuid",
            "--server",
            &node_a.url,
        ],
        &[("JEUGDPAD_TOKEN", &admin)],
    );
    assert!(added.status.success(), "{added:?}");
    let teams = within(std::time::Duration::from_secs(10), || {
        graphql(&node_b.url, &token, "{ teams { code } }")
            .to_string()
            .contains("zuid")
    });
    assert!(teams.is_some(), "B never learned of team zuid");

    // SIGKILL A while it takes steps; every step it acknowledged is kept.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let load = {
        let (url, token, acknowledged) = (node_a.url.clone(), token.clone(), acknowledged.clone());
        std::thread::spawn(move || {
            for n in 0.. {
                match open_trajectory(&url, &token, &format!("sk-load-{n}")) {
                    Some(id) => acknowledged.lock().expect("lock").push(id),
                    None => break,
                }
            }
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    node_a.stop();
    let _ = load.join();
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() > 5,
        "too little load to prove anything: {}",
        acknowledged.len()
    );
    eprintln!(
        "two nodes: B showed A's step after {shown:?}; A acknowledged {} steps before SIGKILL",
        acknowledged.len()
    );
    for id in &acknowledged {
        assert!(
            within(std::time::Duration::from_secs(10), || serves(
                &node_b.url,
                &token,
                id
            ))
            .is_some(),
            "B lost step {id} that A acknowledged"
        );
    }
    // B still takes steps of its own, and A, started again, serves everything.
    assert!(open_trajectory(&node_b.url, &token, "sk-node-b").is_some());
    let node_a = region.start("a");
    for id in acknowledged.iter().chain([&first]) {
        assert!(
            serves(&node_a.url, &token, id),
            "A does not serve {id} after its restart"
        );
    }
    assert!(region
        .run("a", &["verify"])
        .contains("OK: no problems found"));
    drop((node_a, node_b));
}

/// `jeugdpad migrate` from a data directory to PostgreSQL and back keeps every event, position
/// and hash and the vault's keys; it refuses a target that already holds events.
#[test]
fn migrate_to_postgres_and_back_keeps_the_head_hash_and_the_vault() {
    use jeugdpad_store::Store;
    if jeugdpad_store::pg_testing::skipped() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = jeugdpad_store::pg_testing::TestSchema::for_dir(dir.path());
    let url = jeugdpad_store::pg_testing::test_url();
    let (source, copy) = (dir.path().join("source"), dir.path().join("copy"));
    let (source, copy) = (
        source.to_str().expect("utf-8"),
        copy.to_str().expect("utf-8"),
    );
    assert!(seed_synthetic(source, 40).status.success());
    let keys: Vec<(Vec<u8>, Vec<u8>)> = (0..3u8)
        .map(|n| (format!("subject-key-{n}").into_bytes(), vec![n; 32]))
        .collect();
    {
        let store = Store::open(std::path::Path::new(source)).expect("the seeded store opens");
        let vault = store.vault().expect("its vault");
        for (name, value) in &keys {
            vault.get_or_insert(name, value).expect("a vault key");
        }
        store.close().expect("closed");
    }
    let head_hash = |output: &Output| {
        let text = stdout(output);
        text.lines()
            .find_map(|line| line.split(" hash ").nth(1))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no head hash in {text}"))
    };
    let verified_source = jeugdpad(&["--data", source, "verify"]);
    assert!(verified_source.status.success());
    let kept = head_hash(&verified_source);

    let there = [
        "migrate",
        "--from",
        source,
        "--to",
        &url,
        "--store-schema",
        schema.name(),
    ];
    let migrated = jeugdpad(&there);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(
        stdout(&migrated).contains("3 vault keys"),
        "{}",
        stdout(&migrated)
    );
    assert!(stdout(&migrated).contains(&kept), "{}", stdout(&migrated));
    let again = jeugdpad(&there);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(stderr(&again).contains("a copy goes into an empty store only"));

    let back = jeugdpad(&[
        "migrate",
        "--from",
        &url,
        "--to",
        copy,
        "--store-schema",
        schema.name(),
    ]);
    assert!(back.status.success(), "{back:?}");
    let verified_copy = jeugdpad(&["--data", copy, "verify"]);
    assert!(verified_copy.status.success());
    assert_eq!(head_hash(&verified_copy), kept);
    let store = Store::open(std::path::Path::new(copy)).expect("the copy opens");
    let vault = store.vault().expect("its vault");
    for (name, value) in &keys {
        assert_eq!(vault.get(name).expect("readable").as_ref(), Some(value));
    }
    let nowhere = jeugdpad(&[
        "--store",
        &url,
        "--store-schema",
        "no_such_schema",
        "verify",
    ]);
    assert_eq!(nowhere.status.code(), Some(2));
    assert!(
        stderr(&nowhere).contains("holds no Jeugdpad store"),
        "{}",
        stderr(&nowhere)
    );
}

/// The machine's PostgreSQL restarted while two nodes take steps: steps are refused with a code
/// and a sentence while it is away, taken again after without restarting a node, and every step
/// acknowledged before, during or after is in the log, which verifies.
///
/// Ignored in `cargo test`: it restarts the server every other PostgreSQL test uses, so CI runs
/// it alone, after them (`cargo xtask db-restart`). `JEUGDPAD_TEST_PG_CLUSTER` names the cluster
/// (`15 main` by default) for `pg_ctlcluster VERSION NAME restart`.
#[test]
#[ignore = "restarts the machine's PostgreSQL: run alone, by `cargo xtask db-restart`"]
fn a_database_restart_under_load_loses_nothing_and_needs_no_node_restart() {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let Some(region) = Region::new() else {
        return;
    };
    let cluster =
        std::env::var("JEUGDPAD_TEST_PG_CLUSTER").unwrap_or_else(|_| "15 main".to_owned());
    let token = region.consultant.clone();
    let node_a = region.start("a");
    let node_b = region.start("b");

    let acknowledged = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let refused = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = [node_a.url.clone(), node_b.url.clone()]
        .into_iter()
        .enumerate()
        .map(|(node, url)| {
            let (token, acknowledged, refused, stop) =
                (token.clone(), acknowledged.clone(), refused.clone(), stop.clone());
            std::thread::spawn(move || {
                let today = graphql(&url, &token, "{ today }")["data"]["today"]
                    .as_str()
                    .expect("today")
                    .to_owned();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let answer = graphql(
                        &url,
                        &token,
                        &format!(
                            "mutation {{ openTrajectory(occurredOn: \"{today}\", signal: {{
                                 subjectKey: \"sk-restart-{node}-{n}\", team: \"noord\", source: SCHOOL,
                                 concerns: [PARENTING], urgency: REGULAR }}) {{ trajectoryId }} }}"
                        ),
                    );
                    match answer["data"]["openTrajectory"]["trajectoryId"].as_str() {
                        Some(id) => acknowledged
                            .lock()
                            .expect("lock")
                            .push((Instant::now(), id.to_owned())),
                        None => {
                            let error = &answer["errors"][0];
                            assert!(
                                error["message"].as_str().is_some_and(|m| m.len() > 20),
                                "a refusal without a sentence: {answer}"
                            );
                            let code = error["extensions"]["code"].as_str().unwrap_or("none");
                            *refused.lock().expect("lock").entry(code.to_owned()).or_default() += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let restarted_at = Instant::now();
    let mut args: Vec<&str> = cluster.split_whitespace().collect();
    args.push("restart");
    let restart = Command::new("pg_ctlcluster")
        .args(&args)
        .output()
        .expect("pg_ctlcluster runs (this test needs the machine's PostgreSQL cluster)");
    assert!(restart.status.success(), "{restart:?}");
    let back_at = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for thread in load {
        thread.join().expect("a load thread");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let refused = refused.lock().expect("lock").clone();
    let after = acknowledged.iter().filter(|(at, _)| *at > back_at).count();
    eprintln!(
        "database restart ({:?}): {} steps acknowledged ({} after it), refused: {refused:?}",
        back_at - restarted_at,
        acknowledged.len(),
        after
    );
    assert!(
        after > 0,
        "no step was taken after the restart without restarting a node"
    );
    for code in refused.keys() {
        assert!(
            ["STORAGE_FAILED", "INTERNAL"].contains(&code.as_str()),
            "refused with {code}"
        );
    }
    let log = jeugdpad_store::Store::open_postgres(&jeugdpad_store::PgOptions {
        schema: region.schema.name().to_owned(),
        ..jeugdpad_store::PgOptions::new(region.url.as_str(), region.dir.path().join("check"))
    })
    .expect("the store opens");
    for (_, id) in &acknowledged {
        let stream = log
            .read_stream(&format!("trajectory-{id}"))
            .expect("readable");
        assert_eq!(
            stream.len(),
            1,
            "step {id} was acknowledged but is not in the log"
        );
    }
    assert!(log.verify().expect("verify").is_ok());
    drop((node_a, node_b));
}

/// `jeugdpad backup` while the server takes steps, then `jeugdpad restore`: the server makes
/// the backup and keeps serving; the restored store ends at the position and hash the backup
/// printed, which the live directory, grown since, still stores there; every event up to it
/// and every vault key is the same, and the backup itself is in the access log.
#[test]
fn a_backup_while_the_server_takes_steps_restores_to_the_same_head_hash() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let (data, backup, restored) = (path("data"), path("backup"), path("restored"));
    let run = |args: &[&str]| {
        let output = jeugdpad(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };
    let token = noord_consultant(|args| run(&[&["--data", data.as_str()], args].concat()));
    let keys: Vec<(Vec<u8>, Vec<u8>)> = (0..3u8)
        .map(|n| (format!("subject-key-{n}").into_bytes(), vec![n; 32]))
        .collect();
    {
        let store = Store::open(Path::new(&data)).expect("the store opens");
        let vault = store.vault().expect("its vault");
        for (name, value) in &keys {
            vault.get_or_insert(name, value).expect("a vault key");
        }
        store.close().expect("closed");
    }

    let server = Serving::start(&data, dir.path().join("serve.log"));
    let (stop, opened) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let steps = {
        let (stop, opened, url, token) = (
            Arc::clone(&stop),
            Arc::clone(&opened),
            server.url.clone(),
            token.clone(),
        );
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let id = open_trajectory(&url, &token, &format!("sk-backup-{n}"))
                    .expect("the server takes the step");
                opened.lock().expect("lock").push(id);
                n += 1;
            }
        })
    };
    let acknowledged = || opened.lock().expect("lock").len();
    within(std::time::Duration::from_secs(30), || acknowledged() >= 10).expect("steps are taken");
    let made = run(&["--data", &data, "backup", "--to", &backup]);
    let during = acknowledged();
    within(std::time::Duration::from_secs(30), || {
        acknowledged() >= during + 10
    })
    .expect("the server keeps taking steps after the backup");
    stop.store(true, Ordering::Relaxed);
    steps.join().expect("the steps thread");
    assert!(made.contains("made by the running server"), "{made}");
    let (position, hash) = made
        .split_once("up to position ")
        .and_then(|(_, rest)| rest.split_once(", head hash "))
        .map(|(position, rest)| (position.to_owned(), rest[..64].to_owned()))
        .unwrap_or_else(|| panic!("no head position and hash in {made}"));
    let head: u64 = position.parse().expect("a position");
    server.stop();
    let again = jeugdpad(&["--data", &data, "backup", "--to", &backup]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists and is not empty"),
        "{}",
        stderr(&again)
    );
    let inside = jeugdpad(&["--data", &data, "backup", "--to", &format!("{data}/backup")]);
    assert_eq!(inside.status.code(), Some(2));
    assert!(
        stderr(&inside).contains("inside the data directory"),
        "{}",
        stderr(&inside)
    );
    let stopped = run(&["--data", &data, "backup", "--to", &path("backup-stopped")]);
    assert!(stopped.contains("made by this command"), "{stopped}");

    let live = run(&["--data", &data, "verify", "--at", &position]);
    assert!(
        live.contains(&format!("hash at position {position}: {hash}")),
        "{live}"
    );
    let back = run(&["--data", &restored, "restore", "--from", &backup]);
    assert!(
        back.contains(&format!("head position {position} and head hash {hash}")),
        "{back}"
    );
    let verified = run(&["--data", &restored, "verify"]);
    assert!(
        verified.contains(&format!("head position {position} hash {hash}")),
        "{verified}"
    );

    let (live, copy) = (
        Store::open(Path::new(&data)).expect("the live store opens"),
        Store::open(Path::new(&restored)).expect("the restored store opens"),
    );
    assert!(live.head() > head, "the live log grew past the backup");
    assert_eq!(copy.head(), head);
    assert_eq!(
        copy.read_all(1, usize::MAX).expect("read"),
        live.read_all(1, head as usize).expect("read")
    );
    let vault = copy.vault().expect("the restored vault");
    for (name, value) in &keys {
        assert_eq!(vault.get(name).expect("readable").as_ref(), Some(value));
    }
    drop(vault);
    let backups = |store: &Store| {
        store
            .read_stream("access-log")
            .expect("the access log reads")
            .into_iter()
            .filter(|entry| entry.payload.to_string().contains("\"backup\""))
            .count()
    };
    assert_eq!(
        backups(&copy),
        1,
        "the backup is in the access log it copied"
    );
    // The server made that one, and logged the uid the kernel gave for the asking command.
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(dir.path()).expect("meta"));
    let by_server = copy
        .read_stream("access-log")
        .expect("the access log reads")
        .into_iter()
        .filter(|entry| entry.payload.to_string().contains("\"backup\""))
        .map(|entry| entry.payload.to_string())
        .collect::<Vec<_>>();
    assert!(
        by_server[0].contains(&format!("uid {uid}")),
        "{by_server:?}"
    );
    assert_eq!(
        backups(&live),
        2,
        "each backup made is logged, the refused one is not"
    );
    live.close().expect("closed");
    copy.close().expect("closed");
}

/// `jeugdpad upgrade` as an operator runs it on a format-1 (sled) directory of an earlier
/// release (the checked-in fixture): refused while a server holds it, then done with the head
/// hash the fixture was made with, after which `verify` agrees and `serve` starts on it.
#[test]
fn upgrade_turns_a_format_1_directory_into_a_segment_log_with_the_same_head_hash() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/it/fixtures");
    let expected = std::fs::read_to_string(fixtures.join("format-1.expected")).expect("expected");
    let head_hash = expected
        .lines()
        .find_map(|line| line.strip_prefix("head hash: "))
        .expect("a head hash")
        .to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    copy_dir(&fixtures.join("format-1"), &data_dir);
    let data = data_dir.to_str().expect("utf-8").to_owned();

    let server = Serving::start(&data, dir.path().join("format-1.log"));
    let refused = jeugdpad(&["--data", &data, "upgrade"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    assert!(stderr(&refused).contains("in use"), "{}", stderr(&refused));
    let log = server.stop();
    assert!(
        log.contains("jeugdpad upgrade"),
        "no hint in the server's log:\n{log}"
    );
    assert!(
        data_dir.join("sled").is_dir(),
        "a refused upgrade changed the directory"
    );

    let upgraded = jeugdpad(&["--data", &data, "upgrade"]);
    assert!(upgraded.status.success(), "{}", stderr(&upgraded));
    let said = stdout(&upgraded);
    assert!(said.contains(&head_hash), "{said}");
    assert!(said.contains("the same as before"), "{said}");
    assert!(data_dir.join("format-1").join("sled").is_dir(), "{said}");

    let verified = jeugdpad(&["--data", &data, "verify"]);
    assert!(verified.status.success(), "{}", stdout(&verified));
    assert!(
        stdout(&verified).contains(&head_hash),
        "{}",
        stdout(&verified)
    );
    let again = jeugdpad(&["--data", &data, "upgrade"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("already"), "{}", stdout(&again));

    let server = Serving::start(&data, dir.path().join("format-2.log"));
    let log = server.stop();
    assert!(log.contains("store open"), "{log}");
    assert!(!log.contains("jeugdpad upgrade"), "{log}");
}

/// A data directory whose path is too long for its control socket (over 107 bytes with
/// `/control.sock`): the server says so in its log, `backup` says why it cannot ask the server
/// (not "an earlier release?"), and backs up as usual once the server is stopped.
#[test]
fn a_data_directory_too_long_for_the_control_socket_gets_a_backup_with_the_server_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = dir.path().join("d".repeat(120));
    let data = long.to_str().expect("utf-8").to_owned();
    let backup = dir.path().join("backup");
    let backup = backup.to_str().expect("utf-8");
    let seeded = seed_synthetic(&data, 3);
    assert!(seeded.status.success(), "{}", stderr(&seeded));

    let server = Serving::start(&data, dir.path().join("serve.log"));
    let refused = jeugdpad(&["--data", &data, "backup", "--to", backup]);
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("too long"),
        "{}",
        stderr(&refused)
    );
    let log = server.stop();
    assert!(
        log.contains("a socket's path may have at most 107"),
        "{log}"
    );

    let made = jeugdpad(&["--data", &data, "backup", "--to", backup]);
    assert!(made.status.success(), "{}", stderr(&made));
    let verified = jeugdpad(&["--data", backup, "verify"]);
    assert!(verified.status.success(), "{}", stdout(&verified));
}
