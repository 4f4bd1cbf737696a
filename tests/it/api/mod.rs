//! The GraphQL API driven over real HTTP (and a real websocket) against a server started on a
//! free loopback port with a fresh store. Each case is built step by step through the public
//! mutations, as a consultant's client would.

mod case;
mod concurrency;
mod errors;
mod figures;
mod normalisation;
mod subscription;

use chrono::NaiveDate;
use jeugdpad_api::{start_for_tests, Clock, TestServer};
use serde_json::{json, Value};

/// The fixed "today" of every API test: the default reference date `D`.
pub fn today() -> NaiveDate {
    date("2026-06-30")
}

pub fn date(iso: &str) -> NaiveDate {
    iso.parse().expect("a valid test date")
}

/// A running server with its own store, and an HTTP client for it.
pub struct Server {
    _dir: tempfile::TempDir,
    pub server: TestServer,
    http: reqwest::Client,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = start_for_tests(&dir.path().join("data"), Clock::fixed(today()))
            .await
            .expect("the server starts");
        Server {
            _dir: dir,
            server,
            http: reqwest::Client::new(),
        }
    }

    /// Runs an operation and returns the whole response body (`data` and `errors`).
    pub async fn post(&self, query: &str, variables: Value) -> Value {
        self.http
            .post(self.server.graphql_url())
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the request reaches the server")
            .json()
            .await
            .expect("the answer is JSON")
    }

    /// Runs an operation that must succeed and returns its `data`.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let body = self.post(query, variables).await;
        assert!(
            body.get("errors").is_none(),
            "operation failed: {body:#}\n{query}"
        );
        body["data"].clone()
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

    /// Opens a trajectory from a signal and returns it.
    pub async fn open(&self, on: &str, team: &str, subject: &str, source: &str) -> Case<'_> {
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
            server: self,
            id: opened["trajectoryId"].as_str().expect("an id").to_owned(),
            signal: opened["eventIds"][0]
                .as_str()
                .expect("an event id")
                .to_owned(),
        }
    }
}

/// One trajectory under construction. Every step returns the id of the event it recorded.
pub struct Case<'a> {
    server: &'a Server,
    pub id: String,
    /// The `signal_received` event's id.
    pub signal: String,
}

impl Case<'_> {
    /// Records one step: `mutation` is the field name, `args` its arguments besides
    /// `trajectoryId` and `occurredOn`, in GraphQL literal syntax.
    pub async fn step(&self, mutation: &str, on: &str, args: &str) -> String {
        let query = format!(
            "mutation {{ {mutation}(trajectoryId: \"{}\", occurredOn: \"{on}\"{}{args}) {{ eventIds }} }}",
            self.id,
            if args.is_empty() { "" } else { ", " },
        );
        let data = self.server.gql(&query, json!({})).await;
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
        self.step(
            "correctEvent",
            on,
            &format!(
                "corrects: \"{event}\", reason: \"wrong date entered\", replacementOccurredOn: \"{new_date}\""
            ),
        )
        .await
    }

    pub async fn retract(&self, on: &str, event: &str) -> String {
        self.step(
            "retractEvent",
            on,
            &format!("retracts: \"{event}\", reason: \"recorded in the wrong file\""),
        )
        .await
    }
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
