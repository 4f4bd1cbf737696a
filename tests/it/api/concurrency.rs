//! Concurrent writers and retries over HTTP: nothing lost, nothing written twice.

use serde_json::json;

use super::Server;

async fn event_count(server: &Server, id: &str) -> usize {
    let data = server
        .consultant("noord")
        .gql(
            "query($id: ID!) { events(trajectoryId: $id) { position } }",
            json!({ "id": id }),
        )
        .await;
    data["events"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn concurrent_steps_with_the_same_expected_version_one_wins_the_rest_conflict() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-race-1", "SCHOOL")
        .await;

    let racers = (0..8).map(|i| {
        let query = format!(
            "mutation {{ assignConsultant(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
                 consultant: \"consultant-{i}\", expectedVersion: 1) {{ version }} }}",
            case.id
        );
        let client = case.client.clone();
        async move { client.post(&query, json!({})).await }
    });
    let answers = futures_util::future::join_all(racers).await;

    let won = answers.iter().filter(|a| a.get("errors").is_none()).count();
    let conflicts = answers
        .iter()
        .filter(|a| a["errors"][0]["extensions"]["code"] == "CONFLICT")
        .count();
    assert_eq!((won, conflicts), (1, 7), "{answers:#?}");
    assert_eq!(event_count(&server, &case.id).await, 2);
}

#[tokio::test]
async fn a_retry_with_the_same_event_id_is_recorded_once() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-retry-1", "SCHOOL")
        .await;
    let event_id = uuid::Uuid::new_v4();
    let query = format!(
        "mutation {{ completeAssessment(trajectoryId: \"{}\", occurredOn: \"2026-03-10\",
             conclusion: LIGHT_HELP, eventId: \"{event_id}\") {{ version position alreadyRecorded eventIds }} }}",
        case.id
    );

    let first = case.client.gql(&query, json!({})).await;
    let retry = case.client.gql(&query, json!({})).await;

    assert_eq!(first["completeAssessment"]["alreadyRecorded"], false);
    assert_eq!(retry["completeAssessment"]["alreadyRecorded"], true);
    assert_eq!(
        retry["completeAssessment"]["position"],
        first["completeAssessment"]["position"]
    );
    assert_eq!(
        retry["completeAssessment"]["eventIds"],
        json!([event_id.to_string()])
    );
    assert_eq!(event_count(&server, &case.id).await, 2);

    // Opening a trajectory without naming it: the id is derived from the event id, so a
    // retried open lands in the same trajectory and records nothing new.
    let open = "mutation($eventId: ID) { openTrajectory(eventId: $eventId, occurredOn: \"2026-03-01\",
        signal: { subjectKey: \"sk-retry-2\", team: \"noord\", source: SCHOOL, concerns: [PARENTING],
        urgency: REGULAR }) { trajectoryId position alreadyRecorded } }";
    let variables = json!({ "eventId": uuid::Uuid::new_v4().to_string() });
    let first = case.client.gql(open, variables.clone()).await;
    let retry = case.client.gql(open, variables).await;
    let (first, retry) = (&first["openTrajectory"], &retry["openTrajectory"]);
    assert_eq!(first["alreadyRecorded"], false);
    assert_eq!(retry["alreadyRecorded"], true);
    assert_eq!(first["trajectoryId"], retry["trajectoryId"]);
    assert_eq!(first["position"], retry["position"]);
    let opened = first["trajectoryId"].as_str().expect("an id");
    assert_eq!(event_count(&server, opened).await, 1);
}

#[tokio::test]
async fn a_mutation_answers_with_its_own_step_already_visible() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-ryw-1", "SCHOOL")
        .await;

    let data = case
        .client
        .gql(
            &format!(
                "mutation {{ completeAssessment(trajectoryId: \"{}\", occurredOn: \"2026-03-10\",
                     conclusion: LIGHT_HELP) {{ version trajectory {{ summary {{ phase }} }} }} }}",
                case.id
            ),
            json!({}),
        )
        .await;

    assert_eq!(
        data["completeAssessment"],
        json!({ "version": 2, "trajectory": { "summary": { "phase": "ASSESSED" } } })
    );
}
