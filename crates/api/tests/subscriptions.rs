//! Subscriptions deliver events after the read models applied them, filtered by trajectory or
//! team. Driven on the schema directly (the websocket transport is async-graphql's own).

use std::time::Duration;

use async_graphql::{Request, Variables};
use chrono::NaiveDate;
use futures_util::StreamExt;
use jeugdpad_api::{AppState, Caller, Clock, Options};
use serde_json::json;

async fn state(dir: &std::path::Path) -> AppState {
    let store = jeugdpad_store::SledStore::open(dir).expect("store opens");
    let options = Options {
        clock: Clock::fixed(NaiveDate::from_ymd_opt(2025, 6, 2).expect("date")),
        ..Options::default()
    };
    AppState::start(store, options).await.expect("state")
}

#[tokio::test]
async fn subscribers_hear_of_new_events_and_can_query_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = state(dir.path()).await;
    let schema = jeugdpad_api::build_schema(&state);
    let id = "5d7c1a52-3d0e-4b43-9a51-0c1f2d3e4f50";

    let mut by_trajectory = schema.execute_stream(
        Request::new(
            "subscription($id: ID!) { trajectoryEvents(id: $id) { position version type teams trajectory { version summary { team } } } }",
        )
        .variables(Variables::from_json(json!({ "id": id }))),
    );
    let mut by_team = schema.execute_stream(Request::new(
        "subscription { teamEvents(team: \"wijkteam-zuid\") { type teams } }",
    ));
    let mut other_team = schema.execute_stream(Request::new(
        "subscription { teamEvents(team: \"wijkteam-oost\") { type } }",
    ));

    // A subscription starts listening when it is first polled (as a websocket server does at
    // once); poll each briefly so they listen before anything is recorded.
    for stream in [&mut by_trajectory, &mut by_team, &mut other_team] {
        let _ = tokio::time::timeout(Duration::from_millis(20), stream.next()).await;
    }
    let record = |query: &str| {
        schema.execute(
            Request::new(query.to_owned())
                .variables(Variables::from_json(json!({ "id": id })))
                .data(Caller {
                    user: "consulent-1".into(),
                }),
        )
    };
    let opened = record(
        "mutation($id: ID!) { openTrajectory(trajectoryId: $id, occurredOn: \"2025-05-01\", signal: { subjectKey: \"sk-s\", team: \"wijkteam-noord\", source: HUISARTS, concerns: [BEHAVIOUR], urgency: URGENT }) { version } }",
    )
    .await;
    assert!(opened.errors.is_empty(), "{:?}", opened.errors);
    let moved = record(
        "mutation($id: ID!) { transferTeam(trajectoryId: $id, occurredOn: \"2025-05-03\", team: \"wijkteam-zuid\") { version } }",
    )
    .await;
    assert!(moved.errors.is_empty(), "{:?}", moved.errors);

    let first = next(&mut by_trajectory).await;
    assert_eq!(first["trajectoryEvents"]["type"], json!("SIGNAL_RECEIVED"));
    assert_eq!(first["trajectoryEvents"]["version"], json!(1));
    let second = next(&mut by_trajectory).await;
    assert_eq!(
        second["trajectoryEvents"]["type"],
        json!("TEAM_TRANSFERRED")
    );
    // Already in the read models when it arrives.
    assert_eq!(
        second["trajectoryEvents"]["trajectory"]["summary"]["team"],
        json!("wijkteam-zuid")
    );
    let transfer = next(&mut by_team).await;
    assert_eq!(transfer["teamEvents"]["type"], json!("TEAM_TRANSFERRED"));
    assert_eq!(
        transfer["teamEvents"]["teams"],
        json!(["wijkteam-noord", "wijkteam-zuid"])
    );
    let nothing = tokio::time::timeout(Duration::from_millis(200), other_team.next()).await;
    assert!(nothing.is_err(), "another team's subscriber heard of it");
}

#[tokio::test]
async fn without_a_caller_nothing_is_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = state(dir.path()).await;
    let schema = jeugdpad_api::build_schema(&state);
    let answer = schema
        .execute("mutation { openTrajectory(occurredOn: \"2025-05-01\", signal: { subjectKey: \"sk\", team: \"t\", source: SCHOOL, concerns: [OTHER], urgency: REGULAR }) { version } }")
        .await;
    let code = answer.errors[0]
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .cloned();
    assert_eq!(code, Some(async_graphql::Value::from("UNAUTHENTICATED")));
    assert_eq!(state.store_head(), 0);
}

/// The next item of a subscription stream as JSON, failing after five seconds.
async fn next(
    stream: &mut (impl futures_util::Stream<Item = async_graphql::Response> + Unpin),
) -> serde_json::Value {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .into_result()
        .expect("no errors")
        .data
        .into_json()
        .expect("json")
}
