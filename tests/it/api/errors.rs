//! Every error a user can cause has a stable code and a sentence, and writes nothing.

use serde_json::json;

use super::Server;

async fn head(server: &Server) -> u64 {
    server.server.state.store_head()
}

#[tokio::test]
async fn user_mistakes_get_stable_codes_and_write_nothing() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-err-1", "SCHOOL")
        .await;
    let before = head(&server).await;

    // A subject key that looks like a BSN (nine digits, synthetic) is refused.
    let (code, message) = server
        .gql_error(
            "mutation($signal: SignalInput!) { openTrajectory(occurredOn: \"2026-03-01\", signal: $signal) { version } }",
            json!({ "signal": { "subjectKey": "123456782", "team": "noord", "source": "SCHOOL",
                                "concerns": ["PARENTING"], "urgency": "REGULAR" } }),
        )
        .await;
    assert_eq!(code, "VALIDATION", "{message}");
    assert!(
        !message.contains("123456782"),
        "the error must not echo a BSN: {message}"
    );

    // Ending help that never started breaks a rule of the trajectory.
    let (code, message) = server
        .gql_error(
            &format!(
                "mutation {{ endHelp(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
                     episodeId: \"E9\", result: GOALS_MET) {{ version }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "INVALID_TRANSITION");
    assert!(message.contains("E9"), "{message}");

    // Retracting the signal would leave a trajectory without its opening: refused.
    let (code, message) = server
        .gql_error(
            &format!(
                "mutation {{ retractEvent(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
                     retracts: \"{}\", reason: \"test\") {{ version }} }}",
                case.id, case.signal
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "INVALID_TRANSITION", "{message}");

    // A step in the future.
    let (code, _) = server
        .gql_error(
            &format!(
                "mutation {{ completeAssessment(trajectoryId: \"{}\", occurredOn: \"2026-07-01\",
                     conclusion: LIGHT_HELP) {{ version }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    assert!(
        code == "VALIDATION" || code == "INVALID_TRANSITION",
        "{code}"
    );

    // A trajectory that does not exist.
    let (code, _) = server
        .gql_error(
            &format!(
                "{{ trajectory(id: \"{}\") {{ version }} }}",
                uuid::Uuid::new_v4()
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");

    // A malformed id and an invalid team code.
    let (code, _) = server
        .gql_error("{ trajectory(id: \"not-a-uuid\") { version } }", json!({}))
        .await;
    assert_eq!(code, "VALIDATION");
    let (code, _) = server
        .gql_error(
            &format!(
                "mutation {{ transferTeam(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
                     team: \"Team Noord!\") {{ version }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "VALIDATION");

    assert_eq!(head(&server).await, before, "a refused step writes nothing");
}
