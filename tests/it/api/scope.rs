//! Which teams a report counts: every report and list says so in `scope`, and a team that does
//! not exist is `NOT_FOUND` (with the teams that do) instead of a report full of zeros.
//!
//! The README's case: an analyst's question asked with a team lead's token answered one team's
//! figures as if they were the municipality's. The answers below are counted by hand.

use jeugdpad_app::Context;
use jeugdpad_domain::EventId;
use jeugdpad_store::{EventStore, ExpectedVersion};
use serde_json::{json, Value};

use super::{today, Server};

/// Noord: two trajectories signalled in 2026 and still waiting for an assessment; zuid: one.
/// Oost and west are registered but have no trajectories.
async fn two_teams(server: &Server) {
    server
        .open("2026-01-05", "noord", "sk-scope-1", "SCHOOL")
        .await;
    server
        .open("2026-02-02", "noord", "sk-scope-2", "HUISARTS")
        .await;
    server
        .open("2026-03-02", "zuid", "sk-scope-3", "SCHOOL")
        .await;
}

const FIGURES: &str = "waitingTimes(measure: SIGNAL_TO_ASSESSMENT) {
        scope { allTeams teams } measures { overall { open } } }
    normalisation(cohort: { signalledBetween: { from: \"2026-01-01\", to: \"2026-06-30\" } }) {
        scope { allTeams teams } overall { trajectories } }";

const LISTS: &str = "openWaits(measure: SIGNAL_TO_ASSESSMENT) {
        scope { allTeams teams } nodes { team } }
    pgbOverdueReviews { scope { allTeams teams } }
    trajectories { scope { allTeams teams } nodes { team } }";

fn scope(all_teams: bool, teams: &[&str]) -> Value {
    json!({ "allTeams": all_teams, "teams": teams })
}

#[tokio::test]
async fn every_report_says_which_teams_it_counted() {
    let server = Server::start().await;
    two_teams(&server).await;

    // The team lead names no team: their own team's figures, and the answer says so.
    let lead = server
        .lead("noord")
        .gql(&format!("{{ {FIGURES} {LISTS} }}"), json!({}))
        .await;
    let noord = scope(false, &["noord"]);
    for report in [
        "waitingTimes",
        "normalisation",
        "openWaits",
        "pgbOverdueReviews",
        "trajectories",
    ] {
        assert_eq!(lead[report]["scope"], noord, "{report}: {lead:#}");
    }
    // Noord's two trajectories: two open assessment waits, a cohort of two.
    assert_eq!(lead["waitingTimes"]["measures"][0]["overall"]["open"], 2);
    assert_eq!(lead["normalisation"]["overall"]["trajectories"], 2);
    assert_eq!(
        lead["openWaits"]["nodes"],
        json!([{ "team": "noord" }, { "team": "noord" }])
    );
    assert_eq!(
        lead["trajectories"]["nodes"].as_array().map(Vec::len),
        Some(2)
    );

    // The same question with the analyst's token: every team (the four registered ones), and
    // all three trajectories.
    let analyst = server
        .analyst()
        .gql(&format!("{{ {FIGURES} }}"), json!({}))
        .await;
    let all = scope(true, &["noord", "oost", "west", "zuid"]);
    assert_eq!(analyst["waitingTimes"]["scope"], all);
    assert_eq!(analyst["normalisation"]["scope"], all);
    assert_eq!(analyst["waitingTimes"]["measures"][0]["overall"]["open"], 3);
    assert_eq!(analyst["normalisation"]["overall"]["trajectories"], 3);

    // The analyst names a team: that team only (zuid: one trajectory).
    let zuid = server
        .analyst()
        .gql(
            "{ waitingTimes(team: \"zuid\", measure: SIGNAL_TO_ASSESSMENT) {
                 scope { allTeams teams } measures { overall { open } } } }",
            json!({}),
        )
        .await;
    assert_eq!(zuid["waitingTimes"]["scope"], scope(false, &["zuid"]));
    assert_eq!(zuid["waitingTimes"]["measures"][0]["overall"]["open"], 1);
}

#[tokio::test]
async fn a_team_that_does_not_exist_is_not_found_and_the_known_teams_are_named() {
    let server = Server::start().await;
    two_teams(&server).await;
    let analyst = server.analyst();

    for query in [
        "{ waitingTimes(team: \"nord\") { measures { overall { open } } } }",
        "{ normalisation(team: \"nord\", cohort: { signalledBetween: {
             from: \"2026-01-01\", to: \"2026-06-30\" } }) { overall { trajectories } } }",
    ] {
        let answer = analyst.send(query, json!({})).await;
        assert_eq!(answer.code(), Some("NOT_FOUND"), "{}", answer.text);
        assert_eq!(
            answer.message(),
            "team: there is no team with this code; the teams are: noord, oost, west, zuid"
        );
        assert_eq!(answer.body["errors"][0]["extensions"]["field"], "team");
        assert_eq!(answer.body["data"], Value::Null, "{}", answer.text);
    }

    // A registered team without trajectories is a real answer: zeros.
    let oost = analyst
        .gql(
            "{ waitingTimes(team: \"oost\", measure: SIGNAL_TO_ASSESSMENT) {
                 scope { allTeams teams } measures { overall { closed open } } } }",
            json!({}),
        )
        .await;
    assert_eq!(oost["waitingTimes"]["scope"], scope(false, &["oost"]));
    assert_eq!(
        oost["waitingTimes"]["measures"][0]["overall"],
        json!({ "closed": 0, "open": 0 })
    );

    // A team lead may only ask for their own team: the policy answers first, whether or not
    // the other team exists.
    let (code, _) = server
        .lead("noord")
        .gql_error(
            "{ waitingTimes(team: \"nord\") { measures { overall { open } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
}

/// History imported from elsewhere may name a team nobody registered here: its trajectories
/// are real, so the team is known — asked for by name it answers its figures, and "all teams"
/// lists it.
#[tokio::test]
async fn a_team_only_the_history_names_is_known() {
    let server = Server::start().await;
    two_teams(&server).await;
    // One trajectory of the unregistered team "beemster", signalled 2026-05-01, appended to the
    // store the way an import would (decided by the domain, not through the API).
    let context = Context {
        recorded_by: "import".into(),
        today: today(),
        dates: jeugdpad_domain::DateRule::default(),
        correlation_id: None,
    };
    let open = jeugdpad_tests::open("2026-05-01", "sk-scope-beemster", "beemster");
    let events = jeugdpad_app::decide_stream(
        [(&open, EventId::from_uuid(uuid::Uuid::new_v4()))],
        &context,
    )
    .expect("the domain accepts the signal");
    let stream = jeugdpad_domain::TrajectoryId::from_uuid(uuid::Uuid::new_v4()).stream_id();
    let outcome = server
        .store()
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .expect("appended");
    assert!(
        server
            .server
            .state
            .wait_applied(outcome.last_position)
            .await
    );

    let analyst = server.analyst();
    let beemster = analyst
        .gql(
            "{ waitingTimes(team: \"beemster\", measure: SIGNAL_TO_ASSESSMENT) {
                 scope { allTeams teams } measures { overall { open } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        beemster["waitingTimes"]["scope"],
        scope(false, &["beemster"])
    );
    assert_eq!(
        beemster["waitingTimes"]["measures"][0]["overall"]["open"],
        1
    );
    let all = analyst
        .gql("{ waitingTimes { scope { allTeams teams } } }", json!({}))
        .await;
    assert_eq!(
        all["waitingTimes"]["scope"],
        scope(true, &["beemster", "noord", "oost", "west", "zuid"])
    );
    let (code, message) = analyst
        .gql_error("{ waitingTimes(team: \"purmer\") { asOf } }", json!({}))
        .await;
    assert_eq!(code, "NOT_FOUND");
    assert!(
        message.ends_with("the teams are: beemster, noord, oost, west, zuid"),
        "{message}"
    );
}
