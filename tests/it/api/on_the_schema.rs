//! Subscriptions on the schema directly (no HTTP): who hears what, and that a transfer moves
//! who may read the trajectory.

use std::time::Duration;

use async_graphql::{Request, Variables};
use futures_util::StreamExt;
use jeugdpad_access::{AdminEvent, Credential, Principal, Role};
use jeugdpad_api::{as_caller, AppState, Options};
use jeugdpad_app::Clock;
use jeugdpad_domain::{TeamCode, UserId};
use jeugdpad_tests::date;
use serde_json::json;

async fn state(dir: &std::path::Path) -> AppState {
    let store = jeugdpad_store::Store::open(dir).expect("store opens");
    let options = Options {
        clock: Clock::fixed(date("2025-06-02")),
        ..Options::default()
    };
    let state = AppState::start(store, options).await.expect("state");
    for team in ["wijkteam-noord", "wijkteam-zuid", "wijkteam-oost"] {
        let event = AdminEvent::TeamAdded {
            team: TeamCode::parse(team).expect("team"),
            name: team.into(),
        };
        let outcome = jeugdpad_app::admin::change(state.store(), event, "local", state.clock())
            .await
            .expect("team added");
        assert!(state.wait_applied(outcome.last_position).await);
    }
    state
}

fn who(role: Role, team: &str) -> Principal {
    let user = UserId::parse(format!("{role}-{team}")).expect("user");
    let team = role
        .is_team_bound()
        .then(|| TeamCode::parse(team).expect("team"));
    Principal::new(user, role, team, Credential::Local).expect("principal")
}

#[tokio::test]
async fn subscribers_hear_of_new_events_and_a_transfer_moves_who_may_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = state(dir.path()).await;
    let schema = jeugdpad_api::build_schema(&state);
    let id = "5d7c1a52-3d0e-4b43-9a51-0c1f2d3e4f50";
    let consultant = who(Role::Consultant, "wijkteam-noord");
    let record = |query: &str| {
        schema.execute(as_caller(
            Request::new(query.to_owned()).variables(Variables::from_json(json!({ "id": id }))),
            consultant.clone(),
        ))
    };
    let opened = record(
        "mutation($id: ID!) { openTrajectory(trajectoryId: $id, occurredOn: \"2025-05-01\", signal: { subjectKey: \"sk-s\", team: \"wijkteam-noord\", source: HUISARTS, concerns: [BEHAVIOUR], urgency: URGENT }) { version } }",
    )
    .await;
    assert!(opened.errors.is_empty(), "{:?}", opened.errors);

    let lead = who(Role::TeamLead, "wijkteam-noord");
    let mut by_trajectory = schema.execute_stream(as_caller(
        Request::new(
            "subscription($id: ID!) { trajectoryEvents(id: $id) { position version type teams trajectory { version summary { team } } } }",
        )
        .variables(Variables::from_json(json!({ "id": id }))),
        lead.clone(),
    ));
    let mut by_team = schema.execute_stream(as_caller(
        Request::new("subscription { teamEvents(team: \"wijkteam-noord\") { type teams } }"),
        lead,
    ));
    let mut other_team = schema.execute_stream(as_caller(
        Request::new("subscription { teamEvents(team: \"wijkteam-oost\") { type } }"),
        who(Role::TeamLead, "wijkteam-oost"),
    ));
    // A subscription starts listening when it is first polled (as a websocket server does at
    // once); poll each briefly so they listen before anything is recorded.
    for stream in [&mut by_trajectory, &mut by_team, &mut other_team] {
        let _ = tokio::time::timeout(Duration::from_millis(20), stream.next()).await;
    }

    let assessed = record(
        "mutation($id: ID!) { completeAssessment(trajectoryId: $id, occurredOn: \"2025-05-02\", conclusion: LIGHT_HELP) { version } }",
    )
    .await;
    assert!(assessed.errors.is_empty(), "{:?}", assessed.errors);
    let first = next(&mut by_trajectory)
        .await
        .data
        .into_json()
        .expect("json");
    assert_eq!(
        first["trajectoryEvents"]["type"],
        json!("ASSESSMENT_COMPLETED")
    );
    assert_eq!(first["trajectoryEvents"]["version"], json!(2));
    // Already in the read models when it arrives.
    assert_eq!(
        first["trajectoryEvents"]["trajectory"]["summary"]["team"],
        json!("wijkteam-noord")
    );

    let moved = record(
        "mutation($id: ID!) { transferTeam(trajectoryId: $id, occurredOn: \"2025-05-03\", team: \"wijkteam-zuid\") { version } }",
    )
    .await;
    assert!(moved.errors.is_empty(), "{:?}", moved.errors);
    // The old team hears of the transfer, but may no longer read the trajectory itself.
    let transfer = next(&mut by_trajectory).await;
    let code = transfer.errors[0]
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .cloned();
    assert_eq!(code, Some(async_graphql::Value::from("FORBIDDEN")));
    let team_notice = next(&mut by_team).await.data.into_json().expect("json");
    let team_notice = &team_notice["teamEvents"];
    assert_eq!(team_notice["type"], json!("ASSESSMENT_COMPLETED"));
    let team_transfer = next(&mut by_team).await.data.into_json().expect("json");
    assert_eq!(
        team_transfer["teamEvents"]["teams"],
        json!(["wijkteam-noord", "wijkteam-zuid"])
    );
    let nothing = tokio::time::timeout(Duration::from_millis(200), other_team.next()).await;
    assert!(nothing.is_err(), "another team's subscriber heard of it");
}

#[tokio::test]
async fn without_a_caller_nothing_is_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = state(dir.path()).await;
    let head = state.store_head();
    let schema = jeugdpad_api::build_schema(&state);
    let answer = schema
        .execute("mutation { openTrajectory(occurredOn: \"2025-05-01\", signal: { subjectKey: \"sk\", team: \"wijkteam-noord\", source: SCHOOL, concerns: [OTHER], urgency: REGULAR }) { version } }")
        .await;
    let code = answer.errors[0]
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .cloned();
    assert_eq!(code, Some(async_graphql::Value::from("UNAUTHENTICATED")));
    assert_eq!(state.store_head(), head);
}

/// The next item of a subscription stream, failing after five seconds.
async fn next(
    stream: &mut (impl futures_util::Stream<Item = async_graphql::Response> + Unpin),
) -> async_graphql::Response {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
}
