//! `Trajectory.allowedSteps`: the domain's answer to "which steps now?", over HTTP.

use serde_json::{json, Value};

use super::Server;

async fn allowed(server: &Server, id: &str) -> Value {
    let data = server
        .consultant("noord")
        .gql(
            "query($id: ID!) { trajectory(id: $id) { allowedSteps {
                 step label forms episodeIds eventIds suggestedEpisodeId } } }",
            json!({ "id": id }),
        )
        .await;
    data["trajectory"]["allowedSteps"].clone()
}

fn steps(allowed: &Value) -> Vec<&str> {
    allowed
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["step"].as_str().expect("a step"))
        .collect()
}

#[tokio::test]
async fn the_steps_offered_follow_the_history() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-allowed-1", "SCHOOL")
        .await;
    let first = allowed(&server, &case.id).await;
    assert_eq!(
        steps(&first),
        [
            "ASSIGN_CONSULTANT",
            "TRANSFER_TEAM",
            "COMPLETE_ASSESSMENT",
            "REQUEST_HELP",
            "START_HELP",
            "GRANT_PGB",
            "SCHEDULE_PGB_REVIEW",
            "CLOSE",
            "CORRECT",
        ]
    );
    assert_eq!(first[4]["label"], "Hulp starten");
    assert_eq!(first[4]["suggestedEpisodeId"], "hulp-1");
    assert_eq!(first[8]["eventIds"], json!([case.signal]));

    case.request("2026-03-02", "FOSTER_CARE").await;
    let started = case.start("2026-03-03", "hulp-1", "MEDIATION").await;
    let now = allowed(&server, &case.id).await;
    let of = |step: &str| {
        now.as_array()
            .expect("a list")
            .iter()
            .find(|s| s["step"] == step)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(of("ISSUE_DECISION")["forms"], json!(["FOSTER_CARE"]));
    assert_eq!(of("END_HELP")["episodeIds"], json!(["hulp-1"]));
    assert_eq!(of("START_HELP")["suggestedEpisodeId"], "hulp-2");
    assert_eq!(of("CLOSE"), Value::Null, "help is still open");
    let retractable = of("RETRACT")["eventIds"].clone();
    assert!(retractable.as_array().is_some_and(|ids| ids.contains(&json!(started))));
    assert!(!retractable.as_array().is_some_and(|ids| ids.contains(&json!(case.signal))));

    case.end("2026-03-04", "hulp-1").await;
    case.close("2026-03-05", "GOALS_MET").await;
    assert_eq!(steps(&allowed(&server, &case.id).await), ["CORRECT", "RETRACT"]);
}
