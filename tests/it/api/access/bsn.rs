//! A BSN goes in, a pseudonym comes out, and the BSN itself is found nowhere: not in any file of
//! the data directory, not in the server's log at TRACE level, not in any answer.
//!
//! This drives the real `jeugdpad` binary, as an operator runs it: the registry is set up with
//! `jeugdpad team add / user add / token create --quiet`, the server runs as `jeugdpad serve`
//! with `JEUGDPAD_LOG=trace` and its stderr captured, it is stopped with SIGTERM, and the
//! store is checked with `jeugdpad verify`. Cargo gives `CARGO_BIN_EXE_jeugdpad` only to the
//! `jeugdpad` package's own tests, so [`jeugdpad_binary`] builds it with the cargo that runs
//! these tests (a no-op when it is up to date), or takes `JEUGDPAD_BIN`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, Utc};
use serde_json::{json, Value};

use super::super::{contains_bytes, files_under};

/// Synthetic BSNs that pass the elfproef (9·1+8·1+7·1+6·2+5·2+4·2+3·3+2·3−1·3 = 66 = 6·11, and
/// 9·2+8·7+7·1+6·8+5·3+4·9+3·4+2·5−1·4 = 198 = 18·11).
const BSN_A: &str = "111222333";
const BSN_B: &str = "271839454";
/// Fails the elfproef (the sum is 65).
const BSN_BAD: &str = "111222334";

/// The jeugdpad binary: `JEUGDPAD_BIN`, or built by cargo (once per test run).
fn jeugdpad_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("JEUGDPAD_BIN") {
                return PathBuf::from(path);
            }
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
            let mut build = Command::new(cargo);
            // Cargo gives this test process the variables of the package under test
            // (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, …). Build scripts that watch them (ring's
            // does) would see a change and be rebuilt with everything above them, here and
            // again in the next `cargo test`: build as if from a plain shell.
            for (key, _) in std::env::vars_os() {
                let key_text = key.to_string_lossy();
                if key_text.starts_with("CARGO_PKG_")
                    || key_text.starts_with("CARGO_MANIFEST_")
                    || key_text.starts_with("CARGO_CFG_")
                    || [
                        "CARGO_CRATE_NAME",
                        "CARGO_BIN_NAME",
                        "CARGO_PRIMARY_PACKAGE",
                        "CARGO_TARGET_TMPDIR",
                        "OUT_DIR",
                    ]
                    .contains(&key_text.as_ref())
                {
                    build.env_remove(&key);
                }
            }
            // The target directory these tests were built in (…/TARGET/debug/deps/it-…), unless
            // `CARGO_TARGET_DIR` names it anyway: the binary shares their dependencies.
            build.args(["build", "--package", "jeugdpad", "--bin", "jeugdpad"]);
            if std::env::var_os("CARGO_TARGET_DIR").is_none() {
                let exe = std::env::current_exe().expect("the test binary's path");
                if let Some(target) = exe.ancestors().nth(3) {
                    build.arg("--target-dir").arg(target);
                }
            }
            let output = build
                .arg("--message-format=json-render-diagnostics")
                .arg("--manifest-path")
                .arg(&manifest)
                .stderr(Stdio::inherit())
                .output()
                .expect("cargo runs");
            assert!(
                output.status.success(),
                "building the jeugdpad binary failed"
            );
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|message| {
                    message["reason"] == "compiler-artifact"
                        && message["target"]["name"] == "jeugdpad"
                })
                .find_map(|message| message["executable"].as_str().map(PathBuf::from))
                .expect("cargo names the jeugdpad executable")
        })
        .clone()
}

/// `jeugdpad --data DATA ARGS…`, which must succeed; returns its stdout.
fn jeugdpad(data: &Path, args: &[&str]) -> String {
    let output = command(data).args(args).output().expect("jeugdpad runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "jeugdpad {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `jeugdpad --data DATA ARGS…`, which must fail; returns everything it printed.
fn jeugdpad_refused(data: &Path, args: &[&str]) -> String {
    let output = command(data).args(args).output().expect("jeugdpad runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.status.success(),
        "jeugdpad {args:?} succeeded: {printed}"
    );
    printed
}

/// Every string option of the registry commands, each given a BSN in `spelling`: all refused.
fn cli_refuses_a_bsn_in_every_option(data: &Path, spelling: &str) -> Vec<String> {
    let in_text = format!("Naam {spelling}");
    let in_id = format!("id-{}", spelling.replace(['.', ' '], "-"));
    let attempts: [&[&str]; 8] = [
        &[
            "team",
            "add",
            &format!("team-{}", spelling.replace(['.', ' '], "-")),
            "--name",
            "Zuid",
        ],
        &["team", "add", "zuid", "--name", &in_text],
        &["user", "add", &in_id, "--name", "X", "--role", "analyst"],
        &["user", "add", "x", "--name", &in_text, "--role", "analyst"],
        &["user", "deactivate", &in_id],
        &["token", "create", "--user", "beheer", "--label", &in_text],
        &["token", "create", "--user", &in_id],
        &["token", "revoke", spelling],
    ];
    attempts
        .iter()
        .map(|args| jeugdpad_refused(data, args))
        .collect()
}

/// Every string field of every mutation, each given a BSN in `spelling`: each is refused with
/// `VALIDATION`, and nothing is written (the sweep at the end searches the data directory).
async fn mutations_refuse_a_bsn_in_every_field(
    api: &mut Api,
    consultant: &str,
    admin: &str,
    trajectory: &str,
    event: &Value,
    spelling: &str,
) {
    let on = days_ago(30);
    let text = format!("tekst {spelling}");
    let id = format!("id-{}", spelling.replace(['.', ' '], "-"));
    let step = |name: &str, args: &str| {
        let event = if args.contains("$e") { ", $e: ID!" } else { "" };
        format!("mutation($t: ID!, $on: Date!{event}, $v: String!) {{ {name}(trajectoryId: $t, occurredOn: $on, {args}) {{ version }} }}")
    };
    let open = |signal: &str| {
        format!("mutation($on: Date!, $v: String!) {{ openTrajectory(occurredOn: $on, signal: {{ {signal}, source: SCHOOL, concerns: [PARENTING], urgency: REGULAR }}) {{ version }} }}")
    };
    let decision = "decision: { granted: true, form: PARENTING_SUPPORT, validFrom: $on, funding: IN_KIND, provider: $v }";
    let consultant_fields = [
        (open("subjectKey: $v, team: \"noord\""), text.clone()),
        (open("subjectKey: \"p-synthetisch\", team: $v"), id.clone()),
        (step("assignConsultant", "consultant: $v"), id.clone()),
        (step("transferTeam", "team: $v"), id.clone()),
        (step("issueDecision", decision), text.clone()),
        (step("startHelp", "help: { episodeId: $v, form: PARENTING_SUPPORT }"), id.clone()),
        (step("startHelp", "help: { episodeId: \"hulp-1\", form: PARENTING_SUPPORT, provider: $v }"), text.clone()),
        (step("endHelp", "episodeId: $v, result: GOALS_MET"), id.clone()),
        (step("correctEvent", "corrects: $e, reason: $v"), text.clone()),
        (step("correctEvent", "corrects: $e, reason: \"verkeerde consulent\", replacement: { consultantAssigned: { consultant: $v } }"), id.clone()),
        (step("retractEvent", "retracts: $e, reason: $v"), text.clone()),
    ];
    for (query, value) in consultant_fields {
        let mut variables = json!({ "on": on, "v": value });
        if query.contains("$t") {
            variables["t"] = json!(trajectory);
        }
        if query.contains("$e") {
            variables["e"] = event.clone();
        }
        refused_without_echo(api.send(consultant, &query, variables).await, spelling);
    }
    let admin_fields = [
        ("mutation($v: String!) { addTeam(team: $v, name: \"Zuid\") }", id.clone()),
        ("mutation($v: String!) { addTeam(team: \"zuid\", name: $v) }", text.clone()),
        ("mutation($v: String!) { addUser(user: $v, name: \"X\", role: ANALYST) }", id.clone()),
        ("mutation($v: String!) { addUser(user: \"x\", name: $v, role: ANALYST) }", text.clone()),
        ("mutation($v: String!) { addUser(user: \"x\", name: \"X\", role: CONSULTANT, team: $v) }", id.clone()),
        ("mutation($v: String!) { deactivateUser(user: $v) }", id.clone()),
        ("mutation($v: String!) { createToken(user: $v) { tokenId } }", id.clone()),
        ("mutation($v: String!) { createToken(user: \"beheer\", label: $v) { tokenId } }", text.clone()),
        ("mutation($v: String!) { revokeToken(tokenId: $v) }", spelling.to_owned()),
        ("mutation($v: String!) { eraseSubject(subjectKey: $v) { keyDestroyed } }", id.clone()),
    ];
    for (query, value) in admin_fields {
        let answer = api.send(admin, query, json!({ "v": value })).await;
        refused_without_echo(answer, spelling);
    }
}

/// A `VALIDATION` error whose message does not repeat the BSN (the sweep checks every answer
/// for every spelling as well).
fn refused_without_echo(answer: Value, spelling: &str) {
    let error = &answer["errors"][0];
    assert_eq!(error["extensions"]["code"], "VALIDATION", "{answer}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(!message.contains(spelling), "{message}");
}

/// The binary with `--data DATA` and none of the operator's `JEUGDPAD_*` settings.
fn command(data: &Path) -> Command {
    let mut command = Command::new(jeugdpad_binary());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("JEUGDPAD_") {
            command.env_remove(key);
        }
    }
    command.arg("--data").arg(data);
    command
}

/// The running `jeugdpad serve`; killed if a test fails before it is stopped.
struct Serve {
    child: Option<Child>,
}

impl Serve {
    /// Sends SIGTERM and waits for a clean exit; on anything else shows the end of `log`.
    fn terminate(mut self, log: &Path) {
        let mut child = self.child.take().expect("running");
        // Through kill(1): the workspace forbids `unsafe`, which `libc::kill` needs.
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                if !status.success() {
                    let text = std::fs::read_to_string(log).unwrap_or_default();
                    let tail: String = text
                        .chars()
                        .rev()
                        .take(6000)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    panic!("jeugdpad serve exited with {status}; the end of its log:\n{tail}");
                }
                return;
            }
            assert!(Instant::now() < deadline, "jeugdpad serve did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A free loopback port (bound and released; `serve` binds it again at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Waits up to a minute for the server on `port` to answer `/health`; `failure` says what did
/// not come up.
async fn wait_until_up(http: &reqwest::Client, port: u16, failure: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "{failure}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An HTTP client of the binary's API that keeps every answer it receives.
struct Api {
    http: reqwest::Client,
    url: String,
    answers: Vec<String>,
}

impl Api {
    async fn send(&mut self, token: &str, query: &str, variables: Value) -> Value {
        let request = self
            .http
            .post(&self.url)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }));
        self.keep(request).await
    }

    async fn get(&mut self, token: &str, query: &str, variables: Value) -> Value {
        let request = self
            .http
            .get(&self.url)
            .bearer_auth(token)
            .query(&[("query", query), ("variables", &variables.to_string())]);
        self.keep(request).await
    }

    /// Sends `request` and keeps its answer for the search at the end.
    async fn keep(&mut self, request: reqwest::RequestBuilder) -> Value {
        let text = request
            .send()
            .await
            .expect("the server answers")
            .text()
            .await
            .expect("an answer");
        self.answers.push(text.clone());
        serde_json::from_str(&text).expect("JSON")
    }

    async fn ok(&mut self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.send(token, query, variables).await;
        assert!(body.get("errors").is_none(), "{body:#}\n{query}");
        body["data"].clone()
    }
}

/// A date `days` before the server's today (its clock is the system's).
fn days_ago(days: u64) -> String {
    let today: NaiveDate = Utc::now().date_naive();
    today
        .checked_sub_days(Days::new(days))
        .expect("a date")
        .to_string()
}

/// The ways a BSN could be written down that a search must not find: the bare digits, the
/// first eight (any longer form contains them), and the dotted and spaced forms.
fn spellings(bsn: &str) -> Vec<String> {
    vec![
        bsn.to_owned(),
        bsn[..8].to_owned(),
        format!("{}.{}.{}", &bsn[..3], &bsn[3..6], &bsn[6..]),
        format!("{} {} {}", &bsn[..3], &bsn[3..6], &bsn[6..]),
    ]
}

#[tokio::test]
async fn a_bsn_is_turned_into_a_pseudonym_and_found_nowhere() {
    let binary = tokio::task::spawn_blocking(jeugdpad_binary)
        .await
        .expect("the binary is found");
    assert!(binary.is_file(), "{}", binary.display());
    let work = tempfile::tempdir().expect("tempdir");
    let data = work.path().join("data");
    let log_file = work.path().join("serve.log");

    // The operator registers a team, a consultant and an admin, and gives each a token.
    let cli = [
        jeugdpad(
            &data,
            &[
                "team",
                "add",
                "noord",
                "--name",
                "Wijkteam Noord (synthetisch)",
            ],
        ),
        jeugdpad(
            &data,
            &[
                "user",
                "add",
                "consultant-noord",
                "--name",
                "Consulent (synthetisch)",
                "--role",
                "consultant",
                "--team",
                "noord",
            ],
        ),
        jeugdpad(
            &data,
            &[
                "user",
                "add",
                "beheer",
                "--name",
                "Beheerder (synthetisch)",
                "--role",
                "admin",
            ],
        ),
    ];
    // Every string option of the registry commands refuses a BSN, however it is written.
    let mut refusals = Vec::new();
    for bsn in [BSN_A, BSN_B] {
        for spelling in &spellings(bsn)[2..] {
            refusals.extend(cli_refuses_a_bsn_in_every_option(&data, spelling));
        }
        refusals.extend(cli_refuses_a_bsn_in_every_option(&data, bsn));
    }
    let consultant = jeugdpad(
        &data,
        &["token", "create", "--user", "consultant-noord", "--quiet"],
    )
    .trim()
    .to_owned();
    let admin = jeugdpad(&data, &["token", "create", "--user", "beheer", "--quiet"])
        .trim()
        .to_owned();
    assert!(consultant.starts_with("jpt_") && admin.starts_with("jpt_"));

    let port = free_port();
    let serve = Serve {
        child: Some(
            command(&data)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .env("JEUGDPAD_LOG", "trace")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log_file).expect("a log file"))
                .spawn()
                .expect("jeugdpad serve starts"),
        ),
    };
    let http = reqwest::Client::new();
    wait_until_up(&http, port, "jeugdpad serve did not come up").await;
    let mut api = Api {
        http,
        url: format!("http://127.0.0.1:{port}/graphql"),
        answers: Vec::new(),
    };

    // Two youths recorded by BSN (the second written with dots, as on a letter).
    let open = "mutation($on: Date!, $bsn: String!) {
        openTrajectory(occurredOn: $on, signal: { bsn: $bsn, team: \"noord\", source: SCHOOL,
                       concerns: [PARENTING], urgency: REGULAR }) {
          trajectoryId eventIds trajectory { summary { subjectKey } } } }";
    let a = api
        .ok(
            &consultant,
            open,
            json!({ "on": days_ago(60), "bsn": BSN_A }),
        )
        .await;
    let b = api
        .ok(
            &consultant,
            open,
            json!({ "on": days_ago(59), "bsn": spellings(BSN_B)[2] }),
        )
        .await;
    let id_a = a["openTrajectory"]["trajectoryId"]
        .as_str()
        .expect("an id")
        .to_owned();
    let id_b = b["openTrajectory"]["trajectoryId"]
        .as_str()
        .expect("an id")
        .to_owned();
    let key_a = a["openTrajectory"]["trajectory"]["summary"]["subjectKey"]
        .as_str()
        .expect("a key")
        .to_owned();
    let key_b = b["openTrajectory"]["trajectory"]["summary"]["subjectKey"]
        .as_str()
        .expect("a key")
        .to_owned();
    assert!(
        key_a.starts_with("p-") && key_b.starts_with("p-"),
        "{key_a} {key_b}"
    );
    assert_ne!(key_a, key_b);

    // A step and a correction with a reason.
    let assessed = api
        .ok(
            &consultant,
            "mutation($id: ID!, $on: Date!) { completeAssessment(trajectoryId: $id, occurredOn: $on,
                 conclusion: LIGHT_HELP) { eventIds } }",
            json!({ "id": id_a, "on": days_ago(50) }),
        )
        .await;
    let assessment = assessed["completeAssessment"]["eventIds"][0].clone();
    api.ok(
        &consultant,
        "mutation($id: ID!, $on: Date!, $event: ID!, $to: Date!) { correctEvent(trajectoryId: $id,
             occurredOn: $on, corrects: $event, reason: \"datum overgenomen uit de verkeerde brief\",
             replacementOccurredOn: $to) { version } }",
        json!({ "id": id_a, "on": days_ago(40), "event": assessment, "to": days_ago(52) }),
    )
    .await;

    // Looked up by BSN (any spelling), each youth has their own trajectory.
    let lookup =
        "query($bsn: String!) { subjectTrajectories(bsn: $bsn) { trajectoryId subjectKey } }";
    for (bsn, id, key) in [
        (BSN_A.to_owned(), &id_a, &key_a),
        (spellings(BSN_A)[3].clone(), &id_a, &key_a),
        (BSN_B.to_owned(), &id_b, &key_b),
    ] {
        let found = api.ok(&consultant, lookup, json!({ "bsn": bsn })).await;
        assert_eq!(
            found["subjectTrajectories"],
            json!([{ "trajectoryId": id, "subjectKey": key }])
        );
    }

    // The timelines.
    let timeline = "query($id: ID!) { trajectory(id: $id) { summary { subjectKey }
                      timeline { type reason payload } } }";
    let read_a = api.ok(&consultant, timeline, json!({ "id": id_a })).await;
    assert_eq!(
        read_a["trajectory"]["summary"]["subjectKey"],
        key_a.as_str()
    );
    assert!(read_a["trajectory"]["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .any(|entry| entry["reason"] == "datum overgenomen uit de verkeerde brief"));
    let read_b = api.ok(&consultant, timeline, json!({ "id": id_b })).await;
    assert_eq!(
        read_b["trajectory"]["summary"]["subjectKey"],
        key_b.as_str()
    );

    // The admin asks the access log by BSN: youth A's entries, one `read` for the one read.
    let log = api
        .ok(
            &admin,
            "query($bsn: String!) { accessLog(bsn: $bsn, first: 1000) { entries {
                 position action outcome user role team subjectKey trajectoryId clientAddress } } }",
            json!({ "bsn": BSN_A }),
        )
        .await;
    let entries = log["accessLog"]["entries"].as_array().expect("entries");
    assert!(
        entries.iter().all(|e| e["subjectKey"] == key_a.as_str()),
        "{entries:#?}"
    );
    let reads: Vec<&Value> = entries.iter().filter(|e| e["action"] == "read").collect();
    assert_eq!(reads.len(), 1, "{entries:#?}");
    assert_eq!(
        reads[0],
        &json!({ "position": reads[0]["position"], "action": "read", "outcome": "granted",
                 "user": "consultant-noord", "role": "consultant", "team": "noord",
                 "subjectKey": key_a, "trajectoryId": id_a, "clientAddress": "127.0.0.1" })
    );
    // Opened, assessed, corrected; looked up twice.
    let count = |action: &str| entries.iter().filter(|e| e["action"] == action).count();
    assert_eq!((count("record"), count("list")), (3, 2), "{entries:#?}");

    // A number that fails the elfproef is refused without repeating it.
    for query in [open, lookup] {
        let refused = api
            .send(
                &consultant,
                query,
                json!({ "on": days_ago(10), "bsn": BSN_BAD }),
            )
            .await;
        let error = &refused["errors"][0];
        assert_eq!(error["extensions"]["code"], "VALIDATION", "{refused}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(!message.contains(&BSN_BAD[..8]), "{message}");
    }
    // A BSN never travels in a URL: over GET the lookup is refused.
    let refused = api.get(&consultant, lookup, json!({ "bsn": BSN_A })).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "VALIDATION",
        "{refused}"
    );
    assert!(refused["data"].is_null() || refused["data"]["subjectTrajectories"].is_null());

    // Every string field of every mutation refuses a BSN, however it is written.
    for bsn in [BSN_A, BSN_B] {
        for spelling in [
            bsn.to_owned(),
            spellings(bsn)[2].clone(),
            spellings(bsn)[3].clone(),
        ] {
            mutations_refuse_a_bsn_in_every_field(
                &mut api,
                &consultant,
                &admin,
                &id_a,
                &assessment,
                &spelling,
            )
            .await;
        }
    }

    // The last entry of the access log: this very read of it.
    let last = api
        .ok(
            &admin,
            "{ accessLog(first: 1) { entries { position action } } }",
            json!({}),
        )
        .await;
    assert_eq!(last["accessLog"]["entries"][0]["action"], "read_access_log");
    let last_logged = last["accessLog"]["entries"][0]["position"]
        .as_u64()
        .expect("a position");

    serve.terminate(&log_file);

    // Nowhere: not in any file of the data directory, the server's log or any answer.
    let log = std::fs::read(&log_file).expect("the log reads");
    assert!(
        contains_bytes(&log, b"TRACE") && contains_bytes(&log, b"jeugdpad_api::request"),
        "the log was captured at TRACE level"
    );
    let mut places: Vec<(String, Vec<u8>)> = files_under(&data)
        .into_iter()
        .map(|file| {
            let bytes = std::fs::read(&file).expect("a file of the store reads");
            (file.display().to_string(), bytes)
        })
        .collect();
    assert!(places.len() > 1, "the store's files are there");
    places.push(("the server's log".to_owned(), log));
    for (i, answer) in api.answers.iter().enumerate() {
        places.push((format!("answer {i}"), answer.clone().into_bytes()));
    }
    for (i, output) in cli.iter().chain(&refusals).enumerate() {
        places.push((format!("command output {i}"), output.clone().into_bytes()));
    }
    for bsn in [BSN_A, BSN_B, BSN_BAD] {
        for spelling in spellings(bsn) {
            for (place, bytes) in &places {
                assert!(
                    !contains_bytes(bytes, spelling.as_bytes()),
                    "{spelling} found in {place}"
                );
            }
        }
    }

    // `jeugdpad verify`: intact, with the access log inside the verified chain.
    let report = jeugdpad(&data, &["verify"]);
    assert!(report.contains("OK: no problems found"), "{report}");
    let head: u64 = report
        .split("head position ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no head position in {report}"));
    assert!(
        head >= last_logged,
        "head {head}, last access-log entry {last_logged}"
    );
}

/// `serve` refuses to start (exit 2, saying what to restore from where) when the installation
/// secret is missing while the store holds subject keys made from a BSN with it, and starts with
/// a new one only when told `--new-secret`. A store of synthetic keys only (the README's
/// `seed --synthetic`, then `serve`) needs no secret and gets one.
#[tokio::test]
async fn a_missing_secret_is_not_silently_replaced() {
    tokio::task::spawn_blocking(jeugdpad_binary)
        .await
        .expect("the binary is found");
    let work = tempfile::tempdir().expect("tempdir");
    let data = work.path().join("data");
    jeugdpad(
        &data,
        &[
            "seed",
            "--synthetic",
            "--trajectories",
            "3",
            "--today",
            &days_ago(0),
        ],
    );
    let secret = data.join("install-secret");
    assert!(!secret.exists(), "seeding makes no secret");
    let consultant = jeugdpad(
        &data,
        &[
            "token",
            "create",
            "--user",
            "demo-consultant-noord",
            "--quiet",
        ],
    )
    .trim()
    .to_owned();

    // The demo data starts: its keys were not made from a BSN. A youth is then recorded by BSN.
    let port = free_port();
    let serve = Serve {
        child: Some(
            command(&data)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("jeugdpad serve starts"),
        ),
    };
    let http = reqwest::Client::new();
    wait_until_up(&http, port, "the seeded store did not start").await;
    assert!(secret.exists(), "the first start made the secret");
    let mut api = Api {
        http,
        url: format!("http://127.0.0.1:{port}/graphql"),
        answers: Vec::new(),
    };
    api.ok(
        &consultant,
        "mutation($on: Date!, $bsn: String!) {
            openTrajectory(occurredOn: $on, signal: { bsn: $bsn, team: \"noord\", source: SCHOOL,
                           concerns: [PARENTING], urgency: REGULAR }) { trajectoryId } }",
        json!({ "on": days_ago(3), "bsn": BSN_A }),
    )
    .await;
    serve.terminate(&work.path().join("no-log"));
    std::fs::remove_file(&secret).expect("the secret is lost");

    let port = free_port();
    let mut refused = command(&data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jeugdpad serve starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = refused.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = refused.kill();
            panic!("jeugdpad serve started without its installation secret");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let stderr = refused.wait_with_output().expect("its output").stderr;
    let said = String::from_utf8_lossy(&stderr);
    assert_eq!(status.code(), Some(2), "{said}");
    for words in [
        "install-secret",
        "is missing",
        "(1 in all)",
        "Restore",
        "--new-secret",
    ] {
        assert!(said.contains(words), "{words:?} not in: {said}");
    }
    assert!(!secret.exists(), "no new secret was made");

    // Told so explicitly, it starts with a new secret.
    let serve = Serve {
        child: Some(
            command(&data)
                .args([
                    "serve",
                    "--new-secret",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("jeugdpad serve starts"),
        ),
    };
    let http = reqwest::Client::new();
    wait_until_up(&http, port, "jeugdpad serve --new-secret did not come up").await;
    assert!(secret.exists(), "a new secret was made");
    serve.terminate(&work.path().join("no-log"));
}

/// A store sled cannot open at all (a damaged `sled/conf`) is unreadable: `verify` exits 2, as
/// docs/operations.md says, not 1 (damage found). New directories get the segment log, so the
/// sled directory (as an installation from before it has) is made through the store crate.
#[tokio::test]
async fn verify_exits_2_on_a_store_it_cannot_open() {
    tokio::task::spawn_blocking(jeugdpad_binary)
        .await
        .expect("the binary is found");
    let work = tempfile::tempdir().expect("tempdir");
    let data = work.path().join("data");
    drop(jeugdpad_store::SledStore::open(&data).expect("a sled store is created"));
    jeugdpad(&data, &["team", "add", "noord", "--name", "Noord"]);
    assert!(
        data.join("sled/conf").is_file(),
        "the directory stays a sled store"
    );
    std::fs::write(data.join("sled/conf"), b"damaged\x00\x01").expect("conf is damaged");
    let output = command(&data).arg("verify").output().expect("verify runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("UNREADABLE"), "{said}");

    // A segment log whose format file this build does not read: the server refuses to open
    // it, so verify may not call it intact.
    let log = work.path().join("log");
    jeugdpad(&log, &["team", "add", "noord", "--name", "Noord"]);
    std::fs::write(log.join("FORMAT"), "jeugdpad event store: format 99\n").expect("format");
    let output = command(&log).arg("verify").output().expect("verify runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(
        said.contains("UNREADABLE") && said.contains("format 99"),
        "{said}"
    );
}
