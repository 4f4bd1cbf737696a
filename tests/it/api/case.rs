//! A whole trajectory from signal to closure, recorded and read back over HTTP.

use serde_json::json;

use super::Server;

#[tokio::test]
async fn a_case_with_escalation_and_step_down_from_signal_to_closure() {
    let server = Server::start().await;
    let case = server
        .open("2026-01-05", "noord", "sk-case-1", "SCHOOL")
        .await;
    case.step(
        "assignConsultant",
        "2026-01-06",
        "consultant: \"consultant-a\"",
    )
    .await;
    case.assess("2026-01-26").await;
    case.start("2026-01-27", "E1", "PARENTING_SUPPORT").await; // level 1: first help
    case.end("2026-03-31", "E1").await;
    case.request("2026-04-01", "FOSTER_CARE").await;
    case.grant("2026-04-10", "FOSTER_CARE").await;
    case.step(
        "startHelp",
        "2026-04-15",
        "help: { episodeId: \"E2\", form: FOSTER_CARE, fosterKind: NETWORK, fosterMode: FULL_TIME }",
    )
    .await; // level 3 above every earlier level: an escalation
    case.end("2026-05-31", "E2").await;
    case.start("2026-06-01", "E3", "BUURTGEZIN_AFTERCARE").await; // below ended level 3: step-down

    // Read back by the consultant of the owning team.
    let open = server
        .consultant("noord")
        .gql(
            &format!(
                "{{ trajectory(id: \"{}\") {{ version summary {{ phase team consultant currentLevel
                     highestLevel escalations stepDowns pathwayDays openEpisodes closedOn }} }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    // Open at D = 2026-06-30: pathway 01-05 → 06-30 = 176 days.
    assert_eq!(
        open["trajectory"],
        json!({ "version": 10, "summary": {
            "phase": "IN_HELP", "team": "noord", "consultant": "consultant-a",
            "currentLevel": "LIGHT", "highestLevel": "OUT_OF_HOME", "escalations": 1,
            "stepDowns": 1, "pathwayDays": 176, "openEpisodes": 1, "closedOn": null } })
    );

    case.end("2026-06-20", "E3").await;
    case.close("2026-06-21", "GOALS_MET").await;

    // The team lead reads the closed trajectory.
    let closed = server
        .lead("noord")
        .gql(
            &format!(
                "{{ trajectory(id: \"{}\") {{ summary {{ phase pathwayDays closedOn closeReason }}
                     timeline {{ version type occurredOn }} history {{ type }} }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    let trajectory = &closed["trajectory"];
    // Closed: 01-05 → 06-21 = 167 days.
    assert_eq!(
        trajectory["summary"],
        json!({ "phase": "CLOSED", "pathwayDays": 167, "closedOn": "2026-06-21",
                "closeReason": "GOALS_MET" })
    );
    let types: Vec<&str> = trajectory["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|entry| entry["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(types.first(), Some(&"SIGNAL_RECEIVED"));
    assert_eq!(types.last(), Some(&"TRAJECTORY_CLOSED"));
    assert_eq!(types.len(), 12);

    // The listing finds it by team and phase (the team lead's overview).
    let listing = server
        .lead("noord")
        .gql(
            "{ trajectories(filter: { team: \"noord\", phase: CLOSED }) { nodes { trajectoryId } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listing["trajectories"]["nodes"],
        json!([{ "trajectoryId": case.id }])
    );
}

#[tokio::test]
async fn the_listing_pages_with_cursors_and_filters_on_waiting() {
    let server = Server::start().await;
    let mut ids = Vec::new();
    for day in 1..=5 {
        let case = server
            .open(
                &format!("2026-03-0{day}"),
                "oost",
                &format!("sk-list-{day}"),
                "JGZ",
            )
            .await;
        if day % 2 == 0 {
            case.assess(&format!("2026-03-1{day}")).await;
        }
        ids.push(case.id);
    }

    let lead = server.lead("oost");
    let first = lead
        .gql(
            "{ trajectories(first: 2, filter: { team: \"oost\" }) {
                 nodes { trajectoryId } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = first["trajectories"]["pageInfo"]["endCursor"].clone();
    let rest = lead
        .gql(
            "query($after: String) { trajectories(first: 10, after: $after, filter: { team: \"oost\" }) {
                 nodes { trajectoryId } pageInfo { hasNextPage } } }",
            json!({ "after": cursor }),
        )
        .await;
    let waiting = lead
        .gql(
            "{ trajectories(filter: { team: \"oost\", waiting: true, normBreach: true }) {
                 nodes { trajectoryId } } }",
            json!({}),
        )
        .await;

    let page = |data: &serde_json::Value| -> Vec<String> {
        data["trajectories"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["trajectoryId"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(page(&first), ids[..2]);
    assert_eq!(first["trajectories"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(page(&rest), ids[2..]);
    assert_eq!(rest["trajectories"]["pageInfo"]["hasNextPage"], false);
    // Unassessed since 03-01, 03-03, 03-05: 121, 119, 117 days at 06-30, all over 42.
    assert_eq!(
        page(&waiting),
        [ids[0].clone(), ids[2].clone(), ids[4].clone()]
    );
}

/// The same answer is the same text: every object's keys come sorted, whatever order the query
/// asked them in and whichever field finished resolving first (async-graphql keeps the order in
/// which fields finish, and a report that waits for a blocking thread finishes when it may).
#[tokio::test]
async fn an_answer_writes_every_object_with_its_keys_sorted() {
    let server = Server::start().await;
    let case = server
        .open("2026-01-05", "noord", "sk-order-1", "SCHOOL")
        .await;
    let consultant = server.consultant("noord");
    let mut texts = Vec::new();
    for fields in [
        ["version", "id", "asOf"],
        ["asOf", "version", "id"],
        ["id", "asOf", "version"],
    ] {
        let answer = consultant
            .send(
                &format!(
                    "query($id: ID!) {{ trajectory(id: $id) {{ {} }} }}",
                    fields.join(" ")
                ),
                json!({ "id": case.id }),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let at = |field: &str| {
            answer
                .text
                .find(&format!("\"{field}\":"))
                .unwrap_or_else(|| panic!("{field} in {}", answer.text))
        };
        assert!(
            at("asOf") < at("id") && at("id") < at("version"),
            "{fields:?} answered as {}",
            answer.text
        );
        texts.push(answer.text);
    }
    assert!(texts.windows(2).all(|pair| pair[0] == pair[1]), "{texts:?}");
}
