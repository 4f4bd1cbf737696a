//! The GraphQL API driven over real HTTP (and a real websocket) against a server started on a
//! free loopback port with a fresh store. Each case is built step by step through the public
//! mutations, as a consultant's client would.
//!
//! Every request signs in. [`Server::start`] registers the teams the tests use and, per team, a
//! consultant and a team lead, plus one analyst and one admin, each with an API token; a test
//! acts through the client of the identity that may do what it does (`server.consultant("noord")`
//! records for team noord, `server.lead("west")` reads west's lists, `server.analyst()` reads
//! figures of all teams). `access.rs` checks the role matrix itself.

mod access;
mod case;
mod concurrency;
mod errors;
mod export;
mod figures;
mod in_process;
mod lifecycle;
mod metrics;
mod nodes;
mod normalisation;
mod on_the_schema;
mod schema;
mod scope;
mod screens;
mod subscription;
mod web;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use jeugdpad_access::{AccessEntry, AdminEvent, Role, ACCESS_LOG_STREAM};
use jeugdpad_api::Options;
use jeugdpad_app::admin::{change, create_token};
use jeugdpad_app::Clock;
use jeugdpad_domain::{TeamCode, UserId};
use jeugdpad_store::{pg_testing, EventStore, RecordedEvent, Store};
pub use jeugdpad_tests::date;
use jeugdpad_tests::server::{start_on, start_with as start_for_tests_with, TestServer};
use serde_json::{json, Value};

/// The fixed "today" of every API test: the default reference date `D`.
pub fn today() -> NaiveDate {
    date("2026-06-30")
}

/// Every team the API tests record for (each is registered, with a consultant and a team lead).
pub const TEAMS: [&str; 4] = ["noord", "zuid", "west", "oost"];

/// `recorded_by` of the harness's own admin changes (as `jeugdpad team|user|token` records them).
const OPERATOR: &str = "local";

/// The user id of team `team`'s consultant.
pub fn consultant_id(team: &str) -> String {
    format!("consultant-{team}")
}

/// The user id of team `team`'s team lead.
pub fn lead_id(team: &str) -> String {
    format!("lead-{team}")
}

pub const ANALYST: &str = "analyst";
pub const ADMIN: &str = "admin";

/// Options with the fixed test clock.
pub fn options() -> Options {
    Options {
        clock: Clock::fixed(today()),
        ..Options::default()
    }
}

/// A running server with its own store, the test identities' tokens and an HTTP client.
pub struct Server {
    dir: tempfile::TempDir,
    options: Options,
    pub server: TestServer,
    /// The PostgreSQL schema this server's store lives in (shared with its other nodes, dropped
    /// with the last of them); `None` for the embedded store in `dir`.
    postgres: Option<Arc<pg_testing::TestSchema>>,
    http: reqwest::Client,
    /// The API token of each registered user, by user id.
    tokens: BTreeMap<String, String>,
}

impl Server {
    /// A fresh store with the test identities registered.
    pub async fn start() -> Server {
        Server::start_with(options()).await
    }

    /// [`Server::start`] with other options (identity provider, rate limit).
    pub async fn start_with(options: Options) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = start_for_tests_with(&dir.path().join("data"), options.clone())
            .await
            .expect("the server starts");
        let mut started = Server {
            dir,
            options,
            server,
            postgres: None,
            http: reqwest::Client::new(),
            tokens: BTreeMap::new(),
        };
        started.register().await;
        started
    }

    /// [`Server::start`] on a store in a fresh PostgreSQL schema: the first node of several
    /// (see [`Server::another_node`]).
    pub async fn start_on_postgres() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let schema = pg_testing::TestSchema::for_dir(&data);
        let store =
            Store::open_postgres(&pg_testing::options_for(&data)).expect("PostgreSQL opens");
        let options = options();
        let server = start_on(store, options.clone())
            .await
            .expect("the server starts");
        let mut started = Server {
            dir,
            options,
            server,
            postgres: Some(Arc::new(schema)),
            http: reqwest::Client::new(),
            tokens: BTreeMap::new(),
        };
        started.register().await;
        started
    }

    /// A second server on this one's PostgreSQL schema, with a data directory of its own and
    /// this one's installation secret; the same identities and tokens work on it.
    pub async fn another_node(&self) -> Server {
        let first = self
            .postgres
            .as_ref()
            .expect("only a PostgreSQL server has other nodes");
        let dir = tempfile::tempdir().expect("tempdir");
        let options = jeugdpad_store::PgOptions {
            local_dir: dir.path().join("data"),
            ..pg_testing::options_for(&self.dir.path().join("data"))
        };
        let store = Store::open_postgres(&options).expect("PostgreSQL opens");
        let mut options = self.options.clone();
        options.auth.secret_file = Some(self.dir.path().join("data").join("install-secret"));
        let server = start_on(store, options.clone())
            .await
            .expect("the second node starts");
        Server {
            dir,
            options,
            server,
            postgres: Some(Arc::clone(first)),
            http: reqwest::Client::new(),
            tokens: self.tokens.clone(),
        }
    }

    /// Registers every team, a consultant and a team lead per team, an analyst and an admin,
    /// each with an API token, the way an operator does (`jeugdpad_app::admin`).
    async fn register(&mut self) {
        let store = Arc::clone(self.server.state.store());
        let mut users: Vec<(String, Role, Option<TeamCode>)> = Vec::new();
        for team in TEAMS {
            let event = AdminEvent::TeamAdded {
                team: team_code(team),
                name: format!("Wijkteam {team} (synthetisch)"),
            };
            change(&store, event, OPERATOR, &self.options.clock)
                .await
                .expect("a team is added");
            users.push((consultant_id(team), Role::Consultant, Some(team_code(team))));
            users.push((lead_id(team), Role::TeamLead, Some(team_code(team))));
        }
        users.push((ANALYST.to_owned(), Role::Analyst, None));
        users.push((ADMIN.to_owned(), Role::Admin, None));
        for (user, role, team) in users {
            let token = self.add_user(&user, role, team).await;
            self.tokens.insert(user, token);
        }
    }

    /// Adds a user with an API token (no expiry) and returns the token; in force on return.
    pub async fn add_user(&self, user: &str, role: Role, team: Option<TeamCode>) -> String {
        let store = self.server.state.store();
        let event = AdminEvent::UserAdded {
            user: user_id(user),
            name: format!("{user} (synthetisch)"),
            role,
            team,
        };
        change(store, event, OPERATOR, &self.options.clock)
            .await
            .expect("a user is added");
        self.mint_token(user, None).await.1
    }

    /// Creates an API token for `user` expiring at `expires_at`; returns its id and the token
    /// text. In force on return.
    pub async fn mint_token(
        &self,
        user: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> (String, String) {
        let store = self.server.state.store();
        let (minted, outcome) = create_token(
            store,
            user_id(user),
            Some("integration test".to_owned()),
            expires_at,
            OPERATOR,
            &self.options.clock,
        )
        .await
        .expect("a token is created");
        assert!(self.server.state.wait_applied(outcome.last_position).await);
        (minted.id.to_string(), minted.secret)
    }

    /// The token of a registered user.
    pub fn token(&self, user: &str) -> &str {
        self.tokens
            .get(user)
            .unwrap_or_else(|| panic!("no test identity '{user}'"))
    }

    /// The client of team `team`'s consultant.
    pub fn consultant(&self, team: &str) -> Client<'_> {
        self.as_user(&consultant_id(team))
    }

    /// The client of team `team`'s team lead.
    pub fn lead(&self, team: &str) -> Client<'_> {
        self.as_user(&lead_id(team))
    }

    /// The client of the analyst (figures of all teams).
    pub fn analyst(&self) -> Client<'_> {
        self.as_user(ANALYST)
    }

    /// The client of the admin.
    pub fn admin(&self) -> Client<'_> {
        self.as_user(ADMIN)
    }

    /// The client of a registered user.
    pub fn as_user(&self, user: &str) -> Client<'_> {
        Client {
            server: self,
            name: user.to_owned(),
            authorization: Some(format!("Bearer {}", self.token(user))),
        }
    }

    /// A client that sends no `Authorization` header.
    pub fn anonymous(&self) -> Client<'_> {
        Client {
            server: self,
            name: "anonymous".to_owned(),
            authorization: None,
        }
    }

    /// A client that sends `Authorization: Bearer <token>`.
    pub fn bearer(&self, token: &str) -> Client<'_> {
        self.with_authorization(&format!("Bearer {token}"))
    }

    /// A client that sends `Authorization: <value>` exactly as given.
    pub fn with_authorization(&self, value: &str) -> Client<'_> {
        Client {
            server: self,
            name: format!("Authorization: {value}"),
            authorization: Some(value.to_owned()),
        }
    }

    /// Opens a trajectory as the consultant of `team`, who then records its steps.
    pub async fn open(&self, on: &str, team: &str, subject: &str, source: &str) -> Case<'_> {
        self.consultant(team).open(on, team, subject, source).await
    }

    /// Scrapes `/metrics` with `Accept: accept` (reqwest's `*/*` when `None`): the status, the
    /// `Content-Type` and the body.
    pub async fn scrape(&self, accept: Option<&str>) -> (u16, String, String) {
        let mut request = self
            .http
            .get(format!("http://{}/metrics", self.server.addr));
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.expect("the body arrives");
        (status, content_type, body)
    }

    /// The store the server writes (read it off the async workers: sled blocks).
    pub fn store(&self) -> Arc<Store> {
        Arc::clone(self.server.state.store())
    }

    /// Every durable event, in log order.
    pub async fn all_events(&self) -> Vec<RecordedEvent> {
        let store = self.store();
        tokio::task::spawn_blocking(move || store.read_all(0, usize::MAX))
            .await
            .expect("the read runs")
            .expect("the log reads")
    }

    /// How many events the trajectory streams hold. The log also holds the `admin` and
    /// `access-log` streams, so "nothing was written" is a statement about these streams, not
    /// about the store's head.
    pub async fn trajectory_event_count(&self) -> usize {
        self.all_events()
            .await
            .iter()
            .filter(|event| event.stream_id.starts_with("trajectory-"))
            .count()
    }

    /// The access log as stored, oldest first, with each entry's position.
    pub async fn access_log(&self) -> Vec<(u64, AccessEntry)> {
        let store = self.store();
        tokio::task::spawn_blocking(move || store.read_stream(ACCESS_LOG_STREAM))
            .await
            .expect("the read runs")
            .expect("the access log reads")
            .into_iter()
            .map(|event| {
                let entry = AccessEntry::decode(&event.payload).expect("an access-log entry");
                (event.position, entry)
            })
            .collect()
    }

    /// Stops the server (gracefully) and starts it again on the same data directory: the read
    /// models and the registry are rebuilt from the log; the tokens still work.
    pub async fn restart(self) -> Server {
        let Server {
            dir,
            options,
            server,
            postgres,
            http,
            tokens,
        } = self;
        assert!(postgres.is_none(), "restart is for the embedded store");
        server.shutdown().await.expect("the server stops cleanly");
        let server = start_for_tests_with(&dir.path().join("data"), options.clone())
            .await
            .expect("the server starts again");
        Server {
            dir,
            options,
            server,
            postgres,
            http,
            tokens,
        }
    }

    /// Stops the server and hands back its data directory (with the temp dir that owns it).
    pub async fn stop(self) -> Stopped {
        let Server { dir, server, .. } = self;
        server.shutdown().await.expect("the server stops cleanly");
        Stopped { dir }
    }
}

/// A stopped server's data, kept until dropped.
pub struct Stopped {
    dir: tempfile::TempDir,
}

impl Stopped {
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

pub fn team_code(team: &str) -> TeamCode {
    TeamCode::parse(team).expect("a team code")
}

pub fn user_id(user: &str) -> UserId {
    UserId::parse(user).expect("a user id")
}

/// One HTTP answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The body as sent.
    pub text: String,
    /// The body as JSON (`null` when it is not JSON).
    pub body: Value,
    /// The `Retry-After` header, when the answer says to wait.
    pub retry_after: Option<String>,
}

impl Answer {
    /// The first error's `extensions.code`, if any.
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// The first error's message.
    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
    }
}

/// An HTTP client signed in as one identity (or not signed in at all).
#[derive(Clone)]
pub struct Client<'a> {
    server: &'a Server,
    /// The user id (or a description of the credentials), for messages.
    pub name: String,
    authorization: Option<String>,
}

impl<'a> Client<'a> {
    /// The `Authorization` value it sends (for a websocket's `connection_init`).
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }

    /// Runs an operation over POST and returns the status and whole body.
    pub async fn send(&self, query: &str, variables: Value) -> Answer {
        let mut request = self
            .server
            .http
            .post(self.server.server.graphql_url())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(value) = &self.authorization {
            request = request.header("Authorization", value);
        }
        answer(request).await
    }

    /// Runs a query over GET (query and variables in the query string).
    pub async fn send_get(&self, query: &str, variables: Value) -> Answer {
        let mut request = self
            .server
            .http
            .get(self.server.server.graphql_url())
            .query(&[("query", query), ("variables", &variables.to_string())]);
        if let Some(value) = &self.authorization {
            request = request.header("Authorization", value);
        }
        answer(request).await
    }

    /// Runs an operation and returns the whole response body (`data` and `errors`).
    pub async fn post(&self, query: &str, variables: Value) -> Value {
        self.send(query, variables).await.body
    }

    /// Runs an operation that must succeed and returns its `data`.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let answer = self.send(query, variables).await;
        assert!(
            answer.status == 200 && answer.body.get("errors").is_none(),
            "operation failed as {}: {} {:#}\n{query}",
            self.name,
            answer.status,
            answer.body
        );
        answer.body["data"].clone()
    }

    /// Runs an operation that must fail and returns its first error's code and message.
    pub async fn gql_error(&self, query: &str, variables: Value) -> (String, String) {
        let body = self.post(query, variables).await;
        let error = &body["errors"][0];
        assert!(error.is_object(), "expected an error: {body:#}");
        (
            error["extensions"]["code"]
                .as_str()
                .unwrap_or("<no code>")
                .to_owned(),
            error["message"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// Opens a trajectory from a signal; this client records its steps.
    pub async fn open(&self, on: &str, team: &str, subject: &str, source: &str) -> Case<'a> {
        let data = self
            .gql(
                "mutation($on: Date!, $signal: SignalInput!) {
                   openTrajectory(occurredOn: $on, signal: $signal) { trajectoryId eventIds }
                 }",
                json!({ "on": on, "signal": {
                    "subjectKey": subject, "team": team, "source": source,
                    "concerns": ["PARENTING"], "urgency": "REGULAR",
                }}),
            )
            .await;
        let opened = &data["openTrajectory"];
        Case {
            client: self.clone(),
            id: opened["trajectoryId"].as_str().expect("an id").to_owned(),
            signal: opened["eventIds"][0]
                .as_str()
                .expect("an event id")
                .to_owned(),
        }
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("the answer arrives");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        text,
        body,
        retry_after,
    }
}

/// One trajectory under construction. Every step returns the id of the event it recorded.
pub struct Case<'a> {
    /// Who records the steps: the consultant of the team that owns the trajectory.
    pub client: Client<'a>,
    pub id: String,
    /// The `signal_received` event's id.
    pub signal: String,
}

impl<'a> Case<'a> {
    /// From now on `client` records the steps (after a transfer: the receiving team's
    /// consultant).
    pub fn recorded_by(self, client: Client<'a>) -> Case<'a> {
        Case { client, ..self }
    }

    /// Records one step: `mutation` is the field name, `args` its arguments besides
    /// `trajectoryId` and `occurredOn`, in GraphQL literal syntax.
    pub async fn step(&self, mutation: &str, on: &str, args: &str) -> String {
        let query = format!(
            "mutation {{ {mutation}(trajectoryId: \"{}\", occurredOn: \"{on}\"{}{args}) {{ eventIds }} }}",
            self.id,
            if args.is_empty() { "" } else { ", " },
        );
        let data = self.client.gql(&query, json!({})).await;
        data[mutation]["eventIds"][0]
            .as_str()
            .expect("an event id")
            .to_owned()
    }

    pub async fn assess(&self, on: &str) -> String {
        self.step("completeAssessment", on, "conclusion: LIGHT_HELP")
            .await
    }

    pub async fn request(&self, on: &str, form: &str) -> String {
        self.step("requestHelp", on, &format!("form: {form}")).await
    }

    pub async fn grant(&self, on: &str, form: &str) -> String {
        self.step(
            "issueDecision",
            on,
            &format!(
                "decision: {{ granted: true, form: {form}, validFrom: \"{on}\", funding: IN_KIND }}"
            ),
        )
        .await
    }

    pub async fn start(&self, on: &str, episode: &str, form: &str) -> String {
        self.step(
            "startHelp",
            on,
            &format!("help: {{ episodeId: \"{episode}\", form: {form} }}"),
        )
        .await
    }

    pub async fn end(&self, on: &str, episode: &str) -> String {
        self.step(
            "endHelp",
            on,
            &format!("episodeId: \"{episode}\", result: GOALS_MET"),
        )
        .await
    }

    pub async fn close(&self, on: &str, reason: &str) -> String {
        self.step("closeTrajectory", on, &format!("reason: {reason}"))
            .await
    }

    pub async fn redate(&self, on: &str, event: &str, new_date: &str) -> String {
        self.redate_because(on, event, new_date, "wrong date entered")
            .await
    }

    /// A correction of `event`'s date with a reason of the consultant's own words.
    pub async fn redate_because(
        &self,
        on: &str,
        event: &str,
        new_date: &str,
        reason: &str,
    ) -> String {
        self.step(
            "correctEvent",
            on,
            &format!(
                "corrects: \"{event}\", reason: {}, replacementOccurredOn: \"{new_date}\"",
                Value::from(reason)
            ),
        )
        .await
    }

    pub async fn retract(&self, on: &str, event: &str) -> String {
        self.retract_because(on, event, "recorded in the wrong file")
            .await
    }

    /// A retraction of `event` with a reason of the consultant's own words.
    pub async fn retract_because(&self, on: &str, event: &str, reason: &str) -> String {
        self.step(
            "retractEvent",
            on,
            &format!("retracts: \"{event}\", reason: {}", Value::from(reason)),
        )
        .await
    }
}

/// `token` with one character of its secret changed: still well-formed (the secret's last
/// character carries padding bits, so a middle one is changed), but not a token the server
/// issued.
pub fn altered(token: &str) -> String {
    let at = token.len() - 5;
    let replacement = if &token[at..=at] == "A" { "B" } else { "A" };
    format!("{}{replacement}{}", &token[..at], &token[at + 1..])
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("the directory reads") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// Whether `needle` occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Nearest-rank percentile, written out again here so the tests do not lean on the code they
/// check: the value at rank ⌈q·n⌉ of the ascending values.
pub fn nearest_rank(values: &[i64], q: f64) -> i64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.max(1) - 1]
}

/// The figures of SPEC §4 for one group of closed waits, computed from the lengths.
pub fn expected_stats(closed: &[i64], norm: i64, open: i64, open_breaches: i64) -> Value {
    let n = closed.len() as f64;
    json!({
        "closed": closed.len(),
        "open": open,
        "mean": closed.iter().sum::<i64>() as f64 / n,
        "median": nearest_rank(closed, 0.5),
        "p90": nearest_rank(closed, 0.9),
        "max": closed.iter().max(),
        "withinNorm": closed.iter().filter(|&&days| days <= norm).count() as f64 / n,
        "openBreaches": open_breaches,
    })
}

/// The fields of `WaitStats` that `expected_stats` fills.
pub const STATS: &str = "closed open mean median p90 max withinNorm openBreaches";

/// Compares two JSON values, allowing floats to differ in the last bits.
pub fn assert_close(actual: &Value, expected: &Value, context: &str) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) if a.is_f64() || e.is_f64() => {
            let (a, e) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            assert!((a - e).abs() < 1e-9, "{context}: {a} != {e}");
        }
        (Value::Object(a), Value::Object(e)) => {
            for (key, expected) in e {
                let actual = a.get(key).unwrap_or(&Value::Null);
                assert_close(actual, expected, &format!("{context}.{key}"));
            }
        }
        _ => assert_eq!(actual, expected, "{context}"),
    }
}
