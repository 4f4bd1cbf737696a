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
    assert!(retractable
        .as_array()
        .is_some_and(|ids| ids.contains(&json!(started))));
    assert!(!retractable
        .as_array()
        .is_some_and(|ids| ids.contains(&json!(case.signal))));

    case.end("2026-03-04", "hulp-1").await;
    case.close("2026-03-05", "GOALS_MET").await;
    assert_eq!(
        steps(&allowed(&server, &case.id).await),
        ["CORRECT", "RETRACT"]
    );
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
            .header(
                "Authorization",
                case.client.authorization().unwrap_or_default(),
            )
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
        .header(
            "Authorization",
            server
                .consultant("zuid")
                .authorization()
                .unwrap_or_default(),
        )
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

/// `caseload`: the team's open trajectories with their waits, filtered, sorted and paged on the
/// server, in one access-log entry. Today is 2026-06-30.
#[tokio::test]
async fn the_caseload_lists_open_trajectories_what_needs_action_first() {
    let server = Server::start().await;
    // a: signalled 2026-06-20, not assessed: open signal → assessment wait, 10 days, due 08-01.
    server
        .open("2026-06-20", "noord", "sk-case-a", "SCHOOL")
        .await;
    // b: signalled 2026-04-01, not assessed: 90 days, over the 42-day norm (due 05-13).
    server
        .open("2026-04-01", "noord", "sk-case-b", "HUISARTS")
        .await;
    // c: assessed, a request open since 2026-06-01 (due 07-27), signalled 2026-05-01.
    let c = server.open("2026-05-01", "noord", "sk-case-c", "JGZ").await;
    c.assess("2026-05-10").await;
    c.request("2026-06-01", "SPECIALIST_AMBULANT").await;
    // d: closed: not in the caseload.
    let d = server.open("2026-05-01", "noord", "sk-case-d", "JGZ").await;
    d.close("2026-05-02", "NO_HELP_NEEDED").await;
    // Another team's case: not in noord's caseload.
    server
        .consultant("zuid")
        .open("2026-01-01", "zuid", "sk-case-z", "SCHOOL")
        .await;

    let query = "query($sort: CaseloadSort, $search: String, $size: Int, $page: Int) {
        caseload(sort: $sort, search: $search, pageSize: $size, page: $page) {
          total page scope { teams }
          rows { summary { subjectKey phase } daysSinceSignal openWaits openBreaches
                 nextDeadline nextDeadlineMeasure } } }";
    let ask = |variables: Value| async {
        server.consultant("noord").gql(query, variables).await["caseload"].clone()
    };
    let keys = |caseload: &Value| -> Vec<String> {
        caseload["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                r["summary"]["subjectKey"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let logged_before = server.access_log().await.len();
    let first = ask(json!({})).await;
    assert_eq!(
        server.access_log().await.len(),
        logged_before + 1,
        "one list, one entry"
    );
    assert_eq!(first["total"], 3);
    assert_eq!(first["scope"]["teams"], json!(["noord"]));
    // The breach first, then the nearest deadline (c: 07-27 before a: 08-01).
    assert_eq!(keys(&first), ["sk-case-b", "sk-case-c", "sk-case-a"]);
    let b_row = &first["rows"][0];
    assert_eq!(b_row["daysSinceSignal"], 90);
    assert_eq!(b_row["openBreaches"], 1);
    assert_eq!(b_row["nextDeadline"], "2026-05-13");
    assert_eq!(b_row["nextDeadlineMeasure"], "SIGNAL_TO_ASSESSMENT");
    assert_eq!(first["rows"][1]["nextDeadline"], "2026-07-27");
    assert_eq!(
        first["rows"][1]["nextDeadlineMeasure"],
        "REQUEST_TO_DECISION"
    );

    let by_key = ask(json!({ "sort": "SUBJECT_KEY" })).await;
    assert_eq!(keys(&by_key), ["sk-case-a", "sk-case-b", "sk-case-c"]);
    let by_age = ask(json!({ "sort": "DAYS_SINCE_SIGNAL" })).await;
    assert_eq!(keys(&by_age), ["sk-case-b", "sk-case-c", "sk-case-a"]);
    let found = ask(json!({ "search": "CASE-C" })).await;
    assert_eq!(keys(&found), ["sk-case-c"]);
    let second = ask(json!({ "sort": "SUBJECT_KEY", "size": 2, "page": 2 })).await;
    assert_eq!(
        (second["total"].clone(), keys(&second)),
        (json!(3), vec!["sk-case-c".to_owned()])
    );

    // Figures only roles have no caseload.
    let (code, _) = server
        .analyst()
        .gql_error("{ caseload { total } }", json!({}))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let _ = d;
}

/// `Trajectory.waits`: the trajectory's own waits at the reference date (2026-06-30) against
/// their norms, as the reports count them.
#[tokio::test]
async fn a_trajectory_shows_its_own_waits_against_the_norms() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-waits-1", "SCHOOL")
        .await;
    case.assess("2026-03-20").await;
    case.request("2026-04-01", "SPECIALIST_AMBULANT").await;
    let data = server
        .consultant("noord")
        .gql(
            "query($id: ID!) { trajectory(id: $id) { birthYear waits {
                 measure form startedOn status days normDays dueOn breach } } }",
            json!({ "id": case.id }),
        )
        .await;
    assert_eq!(data["trajectory"]["birthYear"], Value::Null);
    assert_eq!(
        data["trajectory"]["waits"],
        json!([
            // 19 days, within the 42-day norm.
            { "measure": "SIGNAL_TO_ASSESSMENT", "form": null, "startedOn": "2026-03-01",
              "status": "CLOSED", "days": 19, "normDays": 42, "dueOn": "2026-04-12", "breach": false },
            // Open since 2026-04-01: 90 days, over the 56-day norm since 2026-05-27.
            { "measure": "REQUEST_TO_DECISION", "form": "SPECIALIST_AMBULANT", "startedOn": "2026-04-01",
              "status": "OPEN", "days": 90, "normDays": 56, "dueOn": "2026-05-27", "breach": true },
            // No help yet: open 121 days; this measure has no norm.
            { "measure": "SIGNAL_TO_FIRST_HELP", "form": null, "startedOn": "2026-03-01",
              "status": "OPEN", "days": 121, "normDays": null, "dueOn": null, "breach": false },
        ])
    );
}
