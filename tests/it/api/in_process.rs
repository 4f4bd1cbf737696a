//! The API in-process: the real router and a real store in a temporary directory, driven with
//! `tower::ServiceExt::oneshot` (no sockets), so each case is fast. What HTTP itself promises
//! (status codes, media types, limits, GraphiQL) is checked here; the role matrix, whole cases
//! and the figures over real sockets in the sibling modules.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::NaiveDate;
use http_body_util::BodyExt;
use jeugdpad_access::{AdminEvent, Role};
use jeugdpad_api::{AppState, AuthOptions, Options};
use jeugdpad_app::admin::{change, create_token};
use jeugdpad_app::Clock;
use jeugdpad_domain::{TeamCode, UserId};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const TODAY: &str = "2025-06-02";

pub(super) struct Harness {
    _dir: tempfile::TempDir,
    pub(super) state: AppState,
    router: Router,
    /// A consultant of `wijkteam-noord` (sent with mutations).
    pub(super) consultant: String,
    /// The team lead of `wijkteam-noord` (sent with queries).
    lead: String,
}

async fn harness() -> Harness {
    harness_with(AuthOptions::default()).await
}

async fn harness_with(auth: AuthOptions) -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = jeugdpad_store::Store::open(dir.path()).expect("store opens");
    harness_on(dir, store, auth).await
}

/// A harness whose store's disk can be filled on command (the store's fault-injecting file
/// layer: no privileges, no real small disk needed).
pub(super) async fn harness_with_faults() -> (Harness, Arc<jeugdpad_store::Faults>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let faults = jeugdpad_store::Faults::new();
    let store = jeugdpad_store::Store::open_log_with_faults(dir.path(), Arc::clone(&faults))
        .expect("store opens");
    (harness_on(dir, store, AuthOptions::default()).await, faults)
}

async fn harness_on(
    dir: tempfile::TempDir,
    store: jeugdpad_store::Store,
    auth: AuthOptions,
) -> Harness {
    let today: NaiveDate = TODAY.parse().expect("date");
    let options = Options {
        clock: Clock::fixed(today),
        auth,
        ..Options::default()
    };
    let state = AppState::start(store, options).await.expect("server state");
    let router = jeugdpad_api::app(state.clone());
    let store = state.store();
    let clock = Clock::fixed(today);
    let team = || TeamCode::parse("wijkteam-noord").expect("team");
    let setup = [
        AdminEvent::TeamAdded {
            team: team(),
            name: "Noord".into(),
        },
        AdminEvent::TeamAdded {
            team: TeamCode::parse("wijkteam-zuid").expect("team"),
            name: "Zuid".into(),
        },
        AdminEvent::UserAdded {
            user: user("consulent-1"),
            name: "C".into(),
            role: Role::Consultant,
            team: Some(team()),
        },
        AdminEvent::UserAdded {
            user: user("lead-1"),
            name: "L".into(),
            role: Role::TeamLead,
            team: Some(team()),
        },
    ];
    for event in setup {
        change(store, event, "local", &clock).await.expect("setup");
    }
    let (consultant, _) = create_token(store, user("consulent-1"), None, None, "local", &clock)
        .await
        .expect("token");
    let (lead, outcome) = create_token(store, user("lead-1"), None, None, "local", &clock)
        .await
        .expect("token");
    assert!(state.wait_applied(outcome.last_position).await);
    Harness {
        _dir: dir,
        state,
        router,
        consultant: consultant.secret,
        lead: lead.secret,
    }
}

fn user(id: &str) -> UserId {
    UserId::parse(id).expect("user")
}

/// The answer to one HTTP request.
struct Answer {
    status: StatusCode,
    content_type: String,
    headers: axum::http::HeaderMap,
    body: Value,
}

impl Answer {
    /// The `extensions.code` of the first error.
    fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.body))
    }
}

impl Harness {
    /// Sends `request`, signed in (unless it says who it is): mutations as the consultant, every
    /// other operation as the team lead — the roles that may do them (`tests/it/api/access.rs`
    /// checks the role matrix itself).
    async fn send(&self, mut request: Request<Body>) -> Answer {
        if !request.headers().contains_key(header::AUTHORIZATION) {
            let (parts, body) = request.into_parts();
            let bytes = body.collect().await.expect("body").to_bytes();
            let is_mutation = std::str::from_utf8(&bytes)
                .is_ok_and(|text| text.contains("mutation"))
                || parts.uri.query().is_some_and(|q| q.contains("mutation"));
            let token = if is_mutation {
                &self.consultant
            } else {
                &self.lead
            };
            request = Request::from_parts(parts, Body::from(bytes));
            request.headers_mut().insert(
                header::AUTHORIZATION,
                format!("Bearer {token}").parse().expect("header"),
            );
        }
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            headers,
            body,
        }
    }

    async fn post(&self, body: &Value, accept: Option<&str>) -> Answer {
        let mut request =
            Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        self.send(request.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    async fn gql(&self, query: &str, variables: Value) -> Answer {
        self.post(&json!({ "query": query, "variables": variables }), None)
            .await
    }

    /// Events in trajectory streams (the log also holds the admin stream and the access log).
    fn case_events(&self) -> usize {
        use jeugdpad_store::EventStore;
        self.state
            .store()
            .read_all(0, usize::MAX)
            .expect("read")
            .iter()
            .filter(|e| e.stream_id.starts_with("trajectory-"))
            .count()
    }

    /// Opens a trajectory (on 2025-05-01) and returns its id.
    pub(super) async fn open(&self) -> String {
        let answer = self
            .gql(OPEN, json!({ "signal": signal("sk-test-1") }))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body["data"]["openTrajectory"]["trajectoryId"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", answer.body))
            .to_owned()
    }
}

const OPEN: &str = "mutation($signal: SignalInput!, $eventId: ID) {
  openTrajectory(signal: $signal, occurredOn: \"2025-05-01\", eventId: $eventId) {
    trajectoryId version position alreadyRecorded
    trajectory { version summary { phase team } }
  }
}";

fn signal(subject_key: &str) -> Value {
    json!({
        "subjectKey": subject_key,
        "team": "wijkteam-noord",
        "source": "SCHOOL",
        "concerns": ["PARENTING", "SCHOOL_ATTENDANCE"],
        "urgency": "REGULAR",
    })
}

#[tokio::test]
async fn a_recorded_step_is_visible_in_the_answer_and_in_queries() {
    let h = harness().await;
    let id = h.open().await;
    let steps = [
        "completeAssessment(trajectoryId: $id, occurredOn: \"2025-05-10\", conclusion: LIGHT_HELP)",
        "requestHelp(trajectoryId: $id, occurredOn: \"2025-05-11\", form: PARENTING_SUPPORT)",
        "issueDecision(trajectoryId: $id, occurredOn: \"2025-05-20\", decision: { granted: true, form: PARENTING_SUPPORT, validFrom: \"2025-05-20\", funding: IN_KIND })",
        "startHelp(trajectoryId: $id, occurredOn: \"2025-05-25\", help: { episodeId: \"E1\", form: PARENTING_SUPPORT })",
    ];
    for (i, step) in steps.iter().enumerate() {
        let query = format!(
            "mutation($id: ID!) {{ {step} {{ version trajectory {{ summary {{ phase }} }} }} }}"
        );
        let answer = h.gql(&query, json!({ "id": id })).await;
        let payload = answer.body["data"]
            .as_object()
            .and_then(|d| d.values().next());
        let payload = payload.unwrap_or_else(|| panic!("{}", answer.body));
        assert_eq!(payload["version"], json!(i + 2), "{}", answer.body);
    }
    let answer = h
        .gql(
            "query($id: ID!) { trajectory(id: $id) { version summary { phase currentLevel } history { type } events { version position recordedBy type } } }",
            json!({ "id": id }),
        )
        .await;
    let trajectory = &answer.body["data"]["trajectory"];
    assert_eq!(trajectory["version"], json!(5));
    assert_eq!(trajectory["summary"]["phase"], json!("IN_HELP"));
    assert_eq!(trajectory["summary"]["currentLevel"], json!("LIGHT"));
    assert_eq!(trajectory["events"][0]["recordedBy"], json!("consulent-1"));
    assert_eq!(trajectory["events"][4]["type"], json!("help_started"));
    // Read-your-writes: the read models include the last recorded step.
    let last = trajectory["events"][4]["position"]
        .as_u64()
        .expect("a position");
    assert!(h.state.applied_position() >= last);
}

#[tokio::test]
async fn a_subject_key_that_looks_like_a_bsn_is_a_validation_error_and_nothing_is_written() {
    let h = harness().await;
    let answer = h.gql(OPEN, json!({ "signal": signal("123456782") })).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.code(), "VALIDATION");
    assert_eq!(
        answer.body["errors"][0]["extensions"]["field"],
        "subjectKey"
    );
    assert!(!answer.body.to_string().contains("123456782"));
    assert_eq!(h.case_events(), 0);
}

#[tokio::test]
async fn bad_input_in_variables_is_a_validation_error() {
    let h = harness().await;
    let mut bad_team = signal("sk-2");
    bad_team["team"] = json!("Wijkteam Noord");
    let mut bad_enum = signal("sk-3");
    bad_enum["source"] = json!("NEIGHBOUR");
    let bad_date_query = OPEN.replace("2025-05-01", "2025-02-30");
    for (query, variables) in [
        (OPEN, json!({ "signal": bad_team })),
        (OPEN, json!({ "signal": bad_enum })),
        (
            OPEN,
            json!({ "signal": signal("sk-4"), "eventId": "not-a-uuid" }),
        ),
        (bad_date_query.as_str(), json!({ "signal": signal("sk-5") })),
    ] {
        let answer = h.gql(query, variables).await;
        assert_eq!(answer.code(), "VALIDATION", "{}", answer.body);
    }
    assert_eq!(h.case_events(), 0);
}

#[tokio::test]
async fn a_broken_rule_is_an_invalid_transition() {
    let h = harness().await;
    let id = h.open().await;
    let answer = h
        .gql(
            "mutation($id: ID!) { endHelp(trajectoryId: $id, occurredOn: \"2025-05-20\", episodeId: \"E9\", result: GOALS_MET) { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(answer.code(), "INVALID_TRANSITION", "{}", answer.body);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["reason"],
        json!("episode_not_started")
    );
    assert!(answer.body["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("E9")));
}

#[tokio::test]
async fn a_future_date_is_refused() {
    let h = harness().await;
    let id = h.open().await;
    let answer = h
        .gql(
            "mutation($id: ID!) { assignConsultant(trajectoryId: $id, occurredOn: \"2025-06-03\", consultant: \"c-1\") { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(answer.code(), "VALIDATION", "{}", answer.body);
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict() {
    let h = harness().await;
    let id = h.open().await;
    let assign = "mutation($id: ID!, $v: Int) { assignConsultant(trajectoryId: $id, occurredOn: \"2025-05-02\", consultant: \"c-1\", expectedVersion: $v) { version } }";
    let ok = h.gql(assign, json!({ "id": id, "v": 1 })).await;
    assert_eq!(
        ok.body["data"]["assignConsultant"]["version"],
        json!(2),
        "{}",
        ok.body
    );
    let stale = h.gql(assign, json!({ "id": id, "v": 1 })).await;
    assert_eq!(stale.code(), "CONFLICT", "{}", stale.body);
}

#[tokio::test]
async fn an_unknown_trajectory_is_not_found() {
    let h = harness().await;
    let unknown = json!({ "id": "0b5c7a4e-0000-4000-8000-000000000000" });
    let read = h
        .gql(
            "query($id: ID!) { trajectory(id: $id) { version } }",
            unknown.clone(),
        )
        .await;
    assert_eq!(read.code(), "NOT_FOUND", "{}", read.body);
    let events = h
        .gql(
            "query($id: ID!) { events(trajectoryId: $id) { position } }",
            unknown.clone(),
        )
        .await;
    assert_eq!(events.code(), "NOT_FOUND", "{}", events.body);
    let write = h
        .gql(
            "mutation($id: ID!) { assignConsultant(trajectoryId: $id, occurredOn: \"2025-05-02\", consultant: \"c-1\") { version } }",
            unknown,
        )
        .await;
    assert_eq!(write.code(), "NOT_FOUND", "{}", write.body);
    assert_eq!(h.case_events(), 0);
}

#[tokio::test]
async fn queries_answer_from_the_read_models() {
    let h = harness().await;
    let id = h.open().await;
    let answer = h
        .gql(
            "{ trajectories(first: 10, filter: { team: \"wijkteam-noord\" }) { edges { cursor node { trajectoryId phase waiting } } pageInfo { hasNextPage } }
               waitingTimes(measure: SIGNAL_TO_ASSESSMENT) { asOf measures { measure normDays overall { open openBreaches } } }
               openWaits { nodes { trajectoryId measure daysWaited breach } }
               normalisation(cohort: { signalledBetween: { from: \"2025-01-01\", to: \"2025-12-31\" } }) { overall { trajectories } }
               pgbOverdueReviews { overdue { trajectoryId } perTeam { team count } }
               pgbIrregularities { trajectoryId }
               codeLists { helpForms { code label levelNumber } }
               today }",
            json!({}),
        )
        .await;
    let data = &answer.body["data"];
    assert_eq!(answer.body["errors"], Value::Null, "{}", answer.body);
    assert_eq!(
        data["trajectories"]["edges"][0]["node"]["trajectoryId"],
        json!(id)
    );
    assert_eq!(data["waitingTimes"]["asOf"], json!(TODAY));
    assert_eq!(data["waitingTimes"]["measures"][0]["normDays"], json!(42));
    assert_eq!(
        data["waitingTimes"]["measures"][0]["overall"]["open"],
        json!(1)
    );
    assert_eq!(data["normalisation"]["overall"]["trajectories"], json!(1));
    assert_eq!(data["today"], json!(TODAY));
    // Signalled 2025-05-01, today 2025-06-02: 32 days without an assessment, within 42.
    let waits = data["openWaits"]["nodes"].as_array().expect("a list");
    assert!(waits
        .iter()
        .any(|w| w["measure"] == json!("SIGNAL_TO_ASSESSMENT") && w["daysWaited"] == json!(32)));
}

#[tokio::test]
async fn mutations_over_get_are_refused_with_405() {
    let h = harness().await;
    let uri = "/graphql?query=mutation%7B__typename%7D";
    let answer = h
        .send(Request::get(uri).body(Body::empty()).expect("request"))
        .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "POST");
    let query = h
        .send(
            Request::get("/graphql?query=%7B__typename%7D")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(query.status, StatusCode::OK);
    assert_eq!(query.body["data"]["__typename"], json!("Query"));
}

#[tokio::test]
async fn the_response_media_type_follows_accept() {
    let h = harness().await;
    let ok = json!({ "query": "{ __typename }" });
    for (accept, expected) in [
        (None, "application/json"),
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (
            Some("application/graphql-response+json"),
            "application/graphql-response+json",
        ),
        (
            Some("application/json;q=0.5, application/graphql-response+json"),
            "application/graphql-response+json",
        ),
    ] {
        let answer = h.post(&ok, accept).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            answer.content_type.starts_with(expected),
            "{accept:?} gave {}",
            answer.content_type
        );
    }
    let refused = h.post(&ok, Some("text/html")).await;
    assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn request_errors_are_400_only_for_graphql_response_json() {
    let h = harness().await;
    let broken = json!({ "query": "{" });
    let modern = h
        .post(&broken, Some("application/graphql-response+json"))
        .await;
    assert_eq!(modern.status, StatusCode::BAD_REQUEST);
    assert!(modern.body.get("data").is_none(), "{}", modern.body);
    assert_eq!(modern.code(), "VALIDATION");
    let legacy = h.post(&broken, Some("application/json")).await;
    assert_eq!(legacy.status, StatusCode::OK);
    assert_eq!(legacy.code(), "VALIDATION");
    let not_json = h
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{ __typename }"))
                .expect("request"),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let garbage = h
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{ nope"))
                .expect("request"),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_a_clear_error() {
    let h = harness().await;
    let padding = "x".repeat(300 * 1024);
    let answer = h
        .post(
            &json!({ "query": "{ __typename }", "variables": { "p": padding } }),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.code(), "VALIDATION");
    assert!(answer.content_type.starts_with("application/json"));
    // Streamed without a Content-Length, the handler notices while reading.
    let chunks =
        futures_util::stream::iter((0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 10 * 1024])));
    let streamed = h
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(chunks))
                .expect("request"),
        )
        .await;
    assert_eq!(streamed.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(streamed.code(), "VALIDATION");
}

/// `{ __schema { types { fields { type { ofType { ofType ... } } } } } }`, `levels` deep.
fn nested_introspection(of_types: usize) -> String {
    let mut inner = "name".to_owned();
    for _ in 0..of_types {
        inner = format!("ofType {{ name {inner} }}");
    }
    format!("{{ __schema {{ types {{ fields {{ args {{ type {{ {inner} }} }} }} }} }} }}")
}

#[tokio::test]
async fn deep_queries_are_refused_but_introspection_fits() {
    let h = harness().await;
    // GraphiQL's introspection query nests ofType about eight times.
    let fits = h
        .post(&json!({ "query": nested_introspection(9) }), None)
        .await;
    assert_eq!(fits.body["errors"], Value::Null, "{}", fits.body);
    let too_deep = h
        .post(&json!({ "query": nested_introspection(30) }), None)
        .await;
    assert_eq!(too_deep.code(), "VALIDATION", "{}", too_deep.body);
    assert!(too_deep.body.get("data").is_none());
}

impl Harness {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("answer");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends a mutation as the consultant in Dutch (as the web app does).
    async fn gql_in_dutch(&self, query: &str, variables: Value) -> Answer {
        let body = json!({ "query": query, "variables": variables });
        self.send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT_LANGUAGE, "nl")
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await
    }
}

#[tokio::test]
async fn a_full_disk_is_storage_full_on_health_and_metrics_and_the_server_recovers_without_a_restart(
) {
    let (h, faults) = harness_with_faults().await;
    let id = h.open().await;
    let step = "mutation($id: ID!, $eventId: ID) { completeAssessment(trajectoryId: $id, \
                occurredOn: \"2025-05-10\", conclusion: LIGHT_HELP, eventId: $eventId) \
                { version position alreadyRecorded } }";
    let event_id = "00000000-0000-4000-8000-00000000abcd";
    let (status, _) = h.get("/health").await;
    assert_eq!(status, StatusCode::OK);

    faults.set_space_left(0);
    let full = h
        .gql_in_dutch(step, json!({ "id": id, "eventId": event_id }))
        .await;
    assert_eq!(full.code(), "STORAGE_FULL", "{}", full.body);
    let sentence = full.body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        sentence.starts_with("De opslag is vol")
            && sentence.contains("Uw stap is niet opgeslagen")
            && sentence.contains("veilig"),
        "{sentence}"
    );
    let english = h.gql(step, json!({ "id": id, "eventId": event_id })).await;
    assert_eq!(english.code(), "STORAGE_FULL", "{}", english.body);
    let sentence = english.body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(sentence.contains("your step was NOT saved"), "{sentence}");
    // A timeline read must log the access first: it cannot, and says why.
    let read = h
        .gql(
            "query($id: ID!) { trajectory(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read.code(), "STORAGE_FULL", "{}", read.body);

    let (status, health) = h.get("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    let health: Value = serde_json::from_str(&health).expect("json");
    assert_eq!(health["status"], json!("storage_full"), "{health}");
    let reason = health["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("disk is full") && reason.contains("free space"),
        "{reason}"
    );
    let (_, metrics) = h.get("/metrics").await;
    for expected in [
        "jeugdpad_store_failed 1",
        "jeugdpad_store_full 1",
        "jeugdpad_store_write_failures_total{cause=\"full\"} 1",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from\n{metrics}"
        );
    }

    // Space freed: the consultant's retry of the same step works at once, no restart.
    faults.set_space_left(u64::MAX);
    let retried = h.gql(step, json!({ "id": id, "eventId": event_id })).await;
    let payload = &retried.body["data"]["completeAssessment"];
    assert_eq!(payload["version"], json!(2), "{}", retried.body);
    assert_eq!(payload["alreadyRecorded"], json!(false), "{}", retried.body);
    let (status, health) = h.get("/health").await;
    assert_eq!(status, StatusCode::OK, "{health}");
    let (_, metrics) = h.get("/metrics").await;
    for expected in ["jeugdpad_store_failed 0", "jeugdpad_store_resumed_total 1"] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from\n{metrics}"
        );
    }
    let timeline = h
        .gql(
            "query($id: ID!) { trajectory(id: $id) { version events { type } } }",
            json!({ "id": id }),
        )
        .await;
    let types: Vec<&str> = timeline.body["data"]["trajectory"]["events"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", timeline.body))
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        ["signal_received", "assessment_completed"],
        "the step once: {}",
        timeline.body
    );
    assert_eq!(h.case_events(), 2);
    let report = h.state.store().verify().expect("verify");
    assert!(report.is_ok(), "{report:?}");
}

#[tokio::test]
async fn a_failed_disk_write_is_storage_failed_and_the_server_resumes_once_writes_work() {
    let (h, faults) = harness_with_faults().await;
    let id = h.open().await;
    let step = "mutation($id: ID!) { completeAssessment(trajectoryId: $id, \
                occurredOn: \"2025-05-10\", conclusion: LIGHT_HELP) { version } }";
    faults.set_failing_syncs(true);
    let failed = h.gql_in_dutch(step, json!({ "id": id })).await;
    assert_eq!(failed.code(), "STORAGE_FAILED", "{}", failed.body);
    let sentence = failed.body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        sentence.starts_with("Door een storing in de opslag")
            && sentence.contains("Uw stap is niet opgeslagen"),
        "{sentence}"
    );
    let (status, health) = h.get("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    let health: Value = serde_json::from_str(&health).expect("json");
    assert_eq!(health["status"], json!("storage_failed"), "{health}");
    assert_eq!(health["resumesByItself"], json!(true), "{health}");
    let (_, metrics) = h.get("/metrics").await;
    for expected in [
        "jeugdpad_store_failed 1",
        "jeugdpad_store_full 0",
        "jeugdpad_store_write_failures_total{cause=\"failed\"} 1",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from\n{metrics}"
        );
    }

    faults.set_failing_syncs(false);
    let recorded = h.gql(step, json!({ "id": id })).await;
    assert_eq!(
        recorded.body["data"]["completeAssessment"]["version"],
        json!(2),
        "{}",
        recorded.body
    );
    let (status, _) = h.get("/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.case_events(), 2, "the step once");
}

#[tokio::test]
async fn health_and_metrics_report_positions() {
    let h = harness().await;
    h.open().await;
    let health = h
        .send(
            Request::get("/health")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    // The head includes the admin stream and the access log, not only the trajectory.
    assert_eq!(health.body["storeHead"], json!(h.state.store_head()));
    assert_eq!(
        health.body["projectionPosition"],
        json!(h.state.store_head())
    );
    let response = h
        .router
        .clone()
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    let head = format!("jeugdpad_store_head_position {}", h.state.store_head());
    for expected in [
        "jeugdpad_graphql_requests_total{operation=\"mutation\",outcome=\"ok\"} 1",
        "jeugdpad_events_appended_total 1",
        head.as_str(),
        "jeugdpad_projection_lag_events 0",
        "jeugdpad_graphql_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
}

/// Timeline looks append access-log entries only; the projector counts them as applied without
/// taking the read models' write lock, so they are applied even while a long report holds the
/// read lock, and the projection still reaches the store's head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looks_at_a_timeline_are_counted_as_applied() {
    let h = harness().await;
    let id = h.open().await;
    for _ in 0..3 {
        let answer = h
            .gql(
                "query($id: ID!) { trajectory(id: $id) { version timeline { type } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(answer.body["data"]["trajectory"]["version"], json!(1));
    }
    let state = &h.state;
    let applied = |head: u64| async move {
        tokio::time::timeout(std::time::Duration::from_secs(3), async {
            while state.applied_position() < head {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
        .await
        .is_ok()
    };
    assert!(
        applied(h.state.store_head()).await,
        "the looks' entries applied"
    );

    // A report holding the read lock: more entries are still applied meanwhile.
    let (held, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let reader = std::thread::spawn({
        let state = h.state.clone();
        move || {
            let _reading = state.projections();
            held.0.send(()).expect("held");
            let _ = release.1.recv_timeout(std::time::Duration::from_secs(10));
        }
    });
    held.1.recv().expect("the read lock is held");
    let entry = jeugdpad_access::AccessEntry::by(
        None,
        jeugdpad_access::AccessAction::Read,
        "a test's look",
    );
    jeugdpad_app::access_log::append(h.state.store().as_ref(), &entry, h.state.clock(), None)
        .await
        .expect("appended");
    let reached = applied(h.state.store_head()).await;
    release.0.send(()).expect("released");
    reader.join().expect("the reader ends");
    assert!(reached, "an entry waited for the read models' lock");

    // A step after them is applied as ever.
    h.gql(
        "mutation($id: ID!) { requestHelp(trajectoryId: $id, occurredOn: \"2025-05-05\", form: MEDIATION) { eventIds } }",
        json!({ "id": id }),
    )
    .await;
    let answer = h
        .gql(
            "query($id: ID!) { trajectory(id: $id) { version summary { phase } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        answer.body["data"]["trajectory"]["version"],
        json!(2),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn corrections_and_retractions_show_in_timeline_and_history() {
    let h = harness().await;
    let opened = h.gql(OPEN, json!({ "signal": signal("sk-fix") })).await;
    let opened = &opened.body["data"]["openTrajectory"];
    let id = opened["trajectoryId"].clone();
    let request = h
        .gql(
            "mutation($id: ID!) { requestHelp(trajectoryId: $id, occurredOn: \"2025-05-05\", form: MEDIATION) { eventIds } }",
            json!({ "id": id }),
        )
        .await;
    let request_event = request.body["data"]["requestHelp"]["eventIds"][0].clone();
    let retracted = h
        .gql(
            "mutation($id: ID!, $e: ID!) { retractEvent(trajectoryId: $id, occurredOn: \"2025-05-06\", retracts: $e, reason: \"wrong file\") { version } }",
            json!({ "id": id, "e": request_event }),
        )
        .await;
    assert_eq!(retracted.body["errors"], Value::Null, "{}", retracted.body);
    let answer = h
        .gql(
            "query($id: ID!) { trajectory(id: $id) { history { eventId type } timeline { eventId type retracts retractedBy } } }",
            json!({ "id": id }),
        )
        .await;
    let events = h
        .gql(
            "query($id: ID!) { trajectory(id: $id) { events { eventId } } }",
            json!({ "id": id }),
        )
        .await;
    let signal_event = events.body["data"]["trajectory"]["events"][0]["eventId"].clone();
    let trajectory = &answer.body["data"]["trajectory"];
    assert_eq!(trajectory["history"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        trajectory["timeline"][1]["retractedBy"],
        trajectory["timeline"][2]["eventId"]
    );
    assert_eq!(trajectory["timeline"][2]["retracts"], request_event);

    // A replacement of another type is the user's mistake.
    let wrong = h
        .gql(
            "mutation($id: ID!, $e: ID!) { correctEvent(trajectoryId: $id, occurredOn: \"2025-05-07\", corrects: $e, reason: \"x\", replacement: { trajectoryClosed: { reason: OTHER } }) { version } }",
            json!({ "id": id, "e": signal_event }),
        )
        .await;
    assert_eq!(wrong.code(), "VALIDATION", "{}", wrong.body);
    let mut moved = signal("sk-fix");
    moved["team"] = json!("wijkteam-zuid");
    let corrected = h
        .gql(
            "mutation($id: ID!, $e: ID!, $s: SignalInput!) { correctEvent(trajectoryId: $id, occurredOn: \"2025-05-07\", corrects: $e, reason: \"typed the wrong team\", replacementOccurredOn: \"2025-04-30\", replacement: { signalReceived: $s }) { version trajectory { summary { team signalOn } } } }",
            json!({ "id": id, "e": signal_event, "s": moved }),
        )
        .await;
    let summary = &corrected.body["data"]["correctEvent"]["trajectory"]["summary"];
    assert_eq!(
        summary["team"],
        json!("wijkteam-zuid"),
        "{}",
        corrected.body
    );
    assert_eq!(summary["signalOn"], json!("2025-04-30"));
    // The correction moved the trajectory to another team: its consultants no longer see it.
    let gone = h
        .gql(
            "mutation($id: ID!) { completeAssessment(trajectoryId: $id, occurredOn: \"2025-05-08\", conclusion: LIGHT_HELP) { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(gone.code(), "FORBIDDEN", "{}", gone.body);
}

#[tokio::test]
async fn without_a_token_nothing_runs_and_the_attempt_is_logged() {
    let h = harness().await;
    let before = h.state.store_head();
    let answer = h
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                // Well-formed, but never registered.
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", jeugdpad_secrets::mint().secret),
                )
                .body(Body::from(
                    json!({ "query": OPEN, "variables": { "signal": signal("sk-x") } }).to_string(),
                ))
                .expect("request"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.code(), "UNAUTHENTICATED");
    assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(h.case_events(), 0);
    // Exactly one new event: the failed sign-in in the access log.
    assert_eq!(h.state.store_head(), before + 1);
    use jeugdpad_store::EventStore;
    let logged = h.state.store().read_stream("access-log").expect("read");
    let entry = &logged.last().expect("an entry").payload;
    assert_eq!(entry["action"], json!("failed_sign_in"));
    assert_eq!(entry["outcome"], json!("refused"));
    assert_eq!(entry["reason"], json!("unknown_token"));
}

/// A method no route takes (PUT, DELETE; POST to `/health`) is a 405 with the error body every
/// refusal has, and the `Allow` header.
#[tokio::test]
async fn other_methods_are_refused_with_405_and_an_error_body() {
    let h = harness().await;
    for (method, uri) in [
        (axum::http::Method::PUT, "/graphql"),
        (axum::http::Method::DELETE, "/graphql"),
        (axum::http::Method::POST, "/health"),
        (axum::http::Method::DELETE, "/metrics"),
    ] {
        let request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::AUTHORIZATION, "Bearer x")
            .body(Body::empty())
            .expect("request");
        let answer = h.send(request).await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert_eq!(
            answer.code(),
            "VALIDATION",
            "{method} {uri}: {}",
            answer.body
        );
        assert!(answer.headers.contains_key(header::ALLOW), "{method} {uri}");
    }
}
