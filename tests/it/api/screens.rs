//! What the screens need from the API: `Trajectory.allowedSteps` (the domain's answer to "which
//! steps now?") and the rule sentences in Dutch for `Accept-Language: nl`.

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

/// The domain's rule sentences answer in Dutch for `Accept-Language: nl`, English otherwise;
/// the code and reason stay the same.
#[tokio::test]
async fn rule_sentences_in_dutch_when_asked() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-dutch-1", "SCHOOL")
        .await;
    case.start("2026-03-05", "hulp-1", "MEDIATION").await;
    let end_before_start = json!({
        "query": "mutation($id: ID!) { endHelp(trajectoryId: $id, occurredOn: \"2026-03-02\",
                      episodeId: \"hulp-1\", result: GOALS_MET) { version } }",
        "variables": { "id": case.id },
    });
    let ask = |language: Option<&'static str>| {
        let mut request = server
            .http
            .post(server.server.graphql_url())
            .header("Authorization", case.client.authorization().unwrap_or_default())
            .json(&end_before_start);
        if let Some(language) = language {
            request = request.header("Accept-Language", language);
        }
        async move {
            let response = request.send().await.expect("an answer");
            let language = response
                .headers()
                .get("content-language")
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            let body: Value = response.json().await.expect("JSON");
            (language, body["errors"][0].clone())
        }
    };
    let (language, error) = ask(Some("nl-NL,nl;q=0.9,en;q=0.5")).await;
    assert_eq!(language.as_deref(), Some("nl"));
    assert_eq!(
        error["message"],
        "hulpepisode hulp-1 zou op 02-03-2026 eindigen, vóór de start op 05-03-2026"
    );
    assert_eq!(error["extensions"]["code"], "INVALID_TRANSITION");
    assert_eq!(error["extensions"]["reason"], "episode_ends_before_start");
    let (language, english) = ask(None).await;
    assert_eq!(language, None);
    assert_eq!(
        english["message"],
        "help episode hulp-1 would end on 2026-03-02, before it started on 2026-03-05"
    );
    assert_eq!(english["extensions"], error["extensions"]);

    // A refusal by the gate, too.
    let read = json!({ "query": "query($id: ID!) { trajectory(id: $id) { id } }", "variables": { "id": case.id } });
    let refused: Value = server
        .http
        .post(server.server.graphql_url())
        .header("Authorization", server.consultant("zuid").authorization().unwrap_or_default())
        .header("Accept-Language", "nl")
        .json(&read)
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON");
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("u werkt voor team 'zuid'")),
        "{refused:#}"
    );
}
