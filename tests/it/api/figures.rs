//! Waiting times (SPEC §4) over HTTP, on hand-built cases. Every expected number comes from the
//! day counts written out in the comments, not from the projection code.

use serde_json::json;

use super::{assert_close, expected_stats, Client, Server, STATS};

/// The waiting-time report as `reader` (a team lead for their team's figures, or the analyst).
async fn waiting(reader: &Client<'_>, args: &str) -> serde_json::Value {
    let query = format!(
        "{{ waitingTimes({args}) {{ asOf measures {{ measure normDays overall {{ {STATS} }} groups {{ key stats {{ {STATS} }} }} }} }} }}"
    );
    reader.gql(&query, json!({})).await["waitingTimes"].clone()
}

/// Ten trajectories of team `west`, signalled on 2026-01-05 + i, assessed after these many days.
const ASSESSMENT_WAITS: [i64; 10] = [3, 10, 15, 20, 25, 30, 41, 42, 43, 70];
/// Their assessment dates, counted by hand: signal date + wait.
const ASSESSED_ON: [&str; 10] = [
    "2026-01-08", // 01-05 + 3
    "2026-01-16", // 01-06 + 10
    "2026-01-22", // 01-07 + 15
    "2026-01-28", // 01-08 + 20
    "2026-02-03", // 01-09 + 25
    "2026-02-09", // 01-10 + 30
    "2026-02-21", // 01-11 + 41
    "2026-02-23", // 01-12 + 42
    "2026-02-25", // 01-13 + 43
    "2026-03-25", // 01-14 + 70
];

async fn west(server: &Server) {
    for (i, assessed) in ASSESSED_ON.iter().enumerate() {
        let signal = format!("2026-01-{:02}", 5 + i);
        let case = server
            .open(&signal, "west", &format!("sk-west-{i}"), "SCHOOL")
            .await;
        case.assess(assessed).await;
    }
    // Two still waiting at D = 2026-06-30: 05-01 → 06-30 = 60 days (over 42), 06-10 → 06-30 = 20.
    server.open("2026-05-01", "west", "sk-west-10", "JGZ").await;
    server.open("2026-06-10", "west", "sk-west-11", "JGZ").await;
    // Another team's wait must not leak into west's figures: 06-01 → 06-05 = 4 days.
    let zuid = server
        .open("2026-06-01", "zuid", "sk-zuid-1", "SCHOOL")
        .await;
    zuid.assess("2026-06-05").await;
}

#[tokio::test]
async fn signal_to_assessment_for_one_team_matches_the_hand_count() {
    let server = Server::start().await;
    west(&server).await;

    let report = waiting(
        &server.lead("west"),
        "team: \"west\", measure: SIGNAL_TO_ASSESSMENT",
    )
    .await;

    let measure = &report["measures"][0];
    assert_eq!(measure["measure"], "SIGNAL_TO_ASSESSMENT");
    assert_eq!(measure["normDays"], 42);
    // Closed: the ten waits. Mean 299/10; median rank 5 → 25; p90 rank 9 → 43; 8 of 10 ≤ 42
    // (42 itself is within the norm, 43 is not). Open: 60 (breach) and 20.
    assert_close(
        &measure["overall"],
        &expected_stats(&ASSESSMENT_WAITS, 42, 2, 1),
        "west",
    );
    assert_eq!(measure["overall"]["median"], 25);
    assert_eq!(measure["overall"]["p90"], 43);
    assert_eq!(measure["overall"]["withinNorm"], 0.8);
}

#[tokio::test]
async fn as_of_an_earlier_date_only_counts_what_had_happened() {
    let server = Server::start().await;
    west(&server).await;

    let report = waiting(
        &server.analyst(),
        "asOf: \"2026-02-22\", team: \"west\", measure: SIGNAL_TO_ASSESSMENT",
    )
    .await;

    // By 02-22 the first seven were assessed (waits 3..41). Still open: 01-12 → 02-22 = 41,
    // 01-13 → 40, 01-14 → 39 days, none over 42. The May and June signals had not come in.
    assert_eq!(report["asOf"], "2026-02-22");
    assert_close(
        &report["measures"][0]["overall"],
        &expected_stats(&ASSESSMENT_WAITS[..7], 42, 3, 0),
        "west as of 02-22",
    );
}

#[tokio::test]
async fn the_open_waits_list_is_longest_first_with_days_so_far() {
    let server = Server::start().await;
    west(&server).await;

    let data = server
        .lead("west")
        .gql(
            "{ openWaits(team: \"west\", measure: SIGNAL_TO_ASSESSMENT) {
                 nodes { team measure startedOn daysWaited normDays breach } } }",
            json!({}),
        )
        .await;

    assert_eq!(
        data["openWaits"]["nodes"],
        json!([
            { "team": "west", "measure": "SIGNAL_TO_ASSESSMENT", "startedOn": "2026-05-01",
              "daysWaited": 60, "normDays": 42, "breach": true },
            { "team": "west", "measure": "SIGNAL_TO_ASSESSMENT", "startedOn": "2026-06-10",
              "daysWaited": 20, "normDays": 42, "breach": false },
        ])
    );
}

/// One page of west's open waits as the team lead sees them: (rows, endCursor, hasNextPage).
async fn open_waits_page(
    reader: &Client<'_>,
    after: &serde_json::Value,
) -> (Vec<serde_json::Value>, serde_json::Value, bool) {
    let data = reader
        .gql(
            "query($after: String) { openWaits(team: \"west\", first: 4, after: $after) {
                 scope { teams }
                 edges { cursor node { trajectoryId measure form startedOn daysWaited } }
                 pageInfo { endCursor hasNextPage } } }",
            json!({ "after": after }),
        )
        .await;
    let page = &data["openWaits"];
    assert_eq!(page["scope"]["teams"], json!(["west"]));
    let edges = page["edges"].as_array().expect("edges");
    assert!(edges.len() <= 4, "{page:#}");
    (
        edges.iter().map(|edge| edge["node"].clone()).collect(),
        page["pageInfo"]["endCursor"].clone(),
        page["pageInfo"]["hasNextPage"].as_bool().expect("a flag"),
    )
}

#[tokio::test]
async fn the_open_waits_list_pages_through_every_wait_once() {
    let server = Server::start().await;
    // Team west as of D = 2026-06-30, counted by hand:
    // w1, w2: signalled 03-02, nothing else: two waits each (assessment, first help), 03-02 →
    //         06-30 = 29 + 30 + 31 + 30 = 120 days.
    let w1 = server
        .open("2026-03-02", "west", "sk-page-1", "SCHOOL")
        .await;
    let w2 = server
        .open("2026-03-02", "west", "sk-page-2", "SCHOOL")
        .await;
    // w3: signalled 04-01: two waits of 04-01 → 06-30 = 29 + 31 + 30 = 90 days.
    let w3 = server.open("2026-04-01", "west", "sk-page-3", "JGZ").await;
    // w4: signalled 04-01, assessed 04-20 (that wait closed); first help open 90 days; two
    //     requests for jeugd-ggz on 05-04, both unanswered: 05-04 → 06-30 = 27 + 30 = 57 each.
    let w4 = server.open("2026-04-01", "west", "sk-page-4", "JGZ").await;
    w4.assess("2026-04-20").await;
    w4.request("2026-05-04", "YOUTH_MENTAL_HEALTH").await;
    w4.request("2026-05-04", "YOUTH_MENTAL_HEALTH").await;
    // w5: signalled 05-01, assessed 05-11: first help open 05-01 → 06-30 = 30 + 30 = 60 days.
    let w5 = server
        .open("2026-05-01", "west", "sk-page-5", "HUISARTS")
        .await;
    w5.assess("2026-05-11").await;
    // w6: closed: no open waits. Zuid's wait is another team's.
    let w6 = server
        .open("2026-01-05", "west", "sk-page-6", "SCHOOL")
        .await;
    w6.close("2026-02-01", "NO_HELP_NEEDED").await;
    server
        .open("2026-01-05", "zuid", "sk-page-7", "SCHOOL")
        .await;

    let lead = server.lead("west");
    let (mut rows, mut after, mut more) = open_waits_page(&lead, &serde_json::Value::Null).await;
    // The first page: the four 120-day waits of w1 and w2.
    assert_eq!(rows.len(), 4);
    assert!(more);
    assert!(rows.iter().all(|row| row["daysWaited"] == 120), "{rows:#?}");
    // A new signal while the lead pages: w7 on 06-29, two waits of 1 day, at the end.
    let w7 = server
        .open("2026-06-29", "west", "sk-page-8", "SCHOOL")
        .await;
    let mut pages = 1;
    while more {
        let (page, cursor, next) = open_waits_page(&lead, &after).await;
        rows.extend(page);
        (after, more) = (cursor, next);
        pages += 1;
    }
    // 2 + 2 + 2 + 3 + 1 = 10 waits, and w7's 2: 12, four to a page.
    assert_eq!(pages, 3);

    let wait = |case: &super::Case<'_>, measure: &str, form: Option<&str>, on: &str, days: i64| {
        json!({ "trajectoryId": case.id, "measure": measure, "form": form, "startedOn": on,
                "daysWaited": days })
    };
    let (s2a, s2h, r2d) = (
        "SIGNAL_TO_ASSESSMENT",
        "SIGNAL_TO_FIRST_HELP",
        "REQUEST_TO_DECISION",
    );
    let ggz = Some("YOUTH_MENTAL_HEALTH");
    let mut expected = vec![
        wait(&w1, s2a, None, "2026-03-02", 120),
        wait(&w1, s2h, None, "2026-03-02", 120),
        wait(&w2, s2a, None, "2026-03-02", 120),
        wait(&w2, s2h, None, "2026-03-02", 120),
        wait(&w3, s2a, None, "2026-04-01", 90),
        wait(&w3, s2h, None, "2026-04-01", 90),
        wait(&w4, s2h, None, "2026-04-01", 90),
        wait(&w5, s2h, None, "2026-05-01", 60),
        wait(&w4, r2d, ggz, "2026-05-04", 57),
        wait(&w4, r2d, ggz, "2026-05-04", 57),
        wait(&w7, s2a, None, "2026-06-29", 1),
        wait(&w7, s2h, None, "2026-06-29", 1),
    ];
    // Longest first across the pages.
    let days: Vec<i64> = rows
        .iter()
        .map(|row| row["daysWaited"].as_i64().unwrap_or(-1))
        .collect();
    assert!(days.windows(2).all(|pair| pair[0] >= pair[1]), "{days:?}");
    // Every open wait exactly once (as a multiset: w4's two requests are alike).
    let key = |row: &serde_json::Value| row.to_string();
    rows.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(rows, expected);

    let (code, _) = lead
        .gql_error(
            "{ openWaits(after: \"not a cursor\") { nodes { daysWaited } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "VALIDATION");
}

#[tokio::test]
async fn decisions_answer_the_earliest_request_and_starts_follow_their_decision() {
    let server = Server::start().await;
    let case = server
        .open("2026-01-20", "oost", "sk-oost-1", "HUISARTS")
        .await;
    case.request("2026-02-01", "YOUTH_MENTAL_HEALTH").await;
    case.request("2026-02-10", "YOUTH_MENTAL_HEALTH").await;
    // Answers the 02-01 request: 02-01 → 03-01 = 28 days.
    case.grant("2026-03-01", "YOUTH_MENTAL_HEALTH").await;
    // 03-01 → 03-20 = 19 days to the start of the same form.
    case.start("2026-03-20", "E1", "YOUTH_MENTAL_HEALTH").await;
    // Answers the 02-10 request: 02-10 → 04-20 = 69 days (over 56).
    case.grant("2026-04-20", "YOUTH_MENTAL_HEALTH").await;
    // Another form does not end the wait for the 04-20 decision …
    case.start("2026-04-25", "E2", "SPECIALIST_AMBULANT").await;
    // … the next start of the decided form does: 04-20 → 05-30 = 40 days (over 28).
    case.start("2026-05-30", "E3", "YOUTH_MENTAL_HEALTH").await;

    let report = waiting(&server.analyst(), "team: \"oost\", groupBy: FORM").await;
    let measure = |code: &str| {
        report["measures"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["measure"] == code))
            .cloned()
            .unwrap_or_default()
    };

    let decision = measure("REQUEST_TO_DECISION");
    assert_eq!(decision["normDays"], 56);
    assert_close(
        &decision["overall"],
        &expected_stats(&[28, 69], 56, 0, 0),
        "request to decision",
    );
    assert_eq!(decision["groups"][0]["key"], "youth_mental_health");
    let start = measure("DECISION_TO_START");
    assert_eq!(start["normDays"], 28);
    assert_close(
        &start["overall"],
        &expected_stats(&[19, 40], 28, 0, 0),
        "decision to start",
    );
    // First help of any form: 01-20 → 03-20 = 59 days; that measure has no norm.
    let first_help = measure("SIGNAL_TO_FIRST_HELP");
    assert_eq!(first_help["normDays"], serde_json::Value::Null);
    assert_eq!(first_help["overall"]["closed"], 1);
    assert_eq!(first_help["overall"]["max"], 59);
}

#[tokio::test]
async fn corrections_and_retractions_change_the_figures() {
    let server = Server::start().await;
    let moved = server
        .open("2026-03-02", "noord", "sk-noord-1", "SCHOOL")
        .await;
    let assessment = moved.assess("2026-04-20").await; // 49 days: a breach
    let retracted = server
        .open("2026-03-02", "noord", "sk-noord-2", "SCHOOL")
        .await;
    let wrong = retracted.assess("2026-03-12").await; // 10 days

    let lead = server.lead("noord");
    let before = waiting(&lead, "team: \"noord\", measure: SIGNAL_TO_ASSESSMENT").await;
    assert_close(
        &before["measures"][0]["overall"],
        &expected_stats(&[49, 10], 42, 0, 0),
        "before",
    );

    // The assessment really took place on 04-10: 03-02 → 04-10 = 39 days, within the norm.
    moved.redate("2026-05-01", &assessment, "2026-04-10").await;
    // The other assessment was recorded in the wrong file: the wait is open again,
    // 03-02 → 06-30 = 120 days, over the norm.
    retracted.retract("2026-05-01", &wrong).await;

    let after = waiting(&lead, "team: \"noord\", measure: SIGNAL_TO_ASSESSMENT").await;
    assert_close(
        &after["measures"][0]["overall"],
        &json!({ "closed": 1, "open": 1, "median": 39, "max": 39, "withinNorm": 1.0,
                 "openBreaches": 1 }),
        "after",
    );
}

#[tokio::test]
async fn known_on_shows_the_report_as_it_could_be_seen_then() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-02", "noord", "sk-noord-3", "SCHOOL")
        .await;
    let assessment = case.assess("2026-04-20").await; // 49 days as first recorded
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let then = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    case.redate("2026-05-01", &assessment, "2026-04-10").await; // 39 days after the correction
                                                                // A back-dated signal recorded after `then` did not exist at `then`.
    let late = server
        .open("2026-03-01", "noord", "sk-noord-4", "SCHOOL")
        .await;
    late.assess("2026-03-05").await; // 4 days

    let args = format!(
        "team: \"noord\", measure: SIGNAL_TO_ASSESSMENT, knownOn: \"{}\"",
        then.to_rfc3339()
    );
    let as_known = waiting(&server.analyst(), &args).await;
    let now = waiting(
        &server.lead("noord"),
        "team: \"noord\", measure: SIGNAL_TO_ASSESSMENT",
    )
    .await;

    assert_close(
        &as_known["measures"][0]["overall"],
        &json!({ "closed": 1, "open": 0, "max": 49, "withinNorm": 0.0 }),
        "known on",
    );
    assert_close(
        &now["measures"][0]["overall"],
        &expected_stats(&[39, 4], 42, 0, 0),
        "now",
    );
}

#[tokio::test]
async fn pgb_reviews_past_due_are_overdue_and_irregularities_are_listed() {
    let server = Server::start().await;
    let case = server.open("2026-01-10", "zuid", "sk-zuid-2", "JGZ").await;
    case.step(
        "grantPgb",
        "2026-02-01",
        "pgb: { amountCents: 125000, period: MONTH, productCategory: \"45\" }",
    )
    .await;
    // Due 06-01, not completed: 06-01 → 06-30 = 29 days overdue.
    case.step("schedulePgbReview", "2026-02-01", "dueOn: \"2026-06-01\"")
        .await;
    // Due on D itself: not overdue yet (due_on < D is strict).
    case.step("schedulePgbReview", "2026-02-02", "dueOn: \"2026-06-30\"")
        .await;
    let other = server.open("2026-01-10", "zuid", "sk-zuid-3", "JGZ").await;
    other
        .step("schedulePgbReview", "2026-02-01", "dueOn: \"2026-03-01\"")
        .await;
    other
        .step(
            "completePgbReview",
            "2026-03-03",
            "review: { decision: STOP, qualityConcern: true, irregularitySuspected: true }",
        )
        .await;

    // Lists that name trajectories are for the team: without a team argument, zuid's team
    // lead sees zuid's lists (the only team with PGB reviews here).
    let data = server
        .lead("zuid")
        .gql(
            "{ pgbOverdueReviews { overdue { trajectoryId team dueOn daysOverdue }
                                   perTeam { team count } }
               pgbIrregularities { trajectoryId team dueOn completedOn decision } }",
            json!({}),
        )
        .await;

    assert_eq!(
        data["pgbOverdueReviews"]["overdue"],
        json!([{ "trajectoryId": case.id, "team": "zuid", "dueOn": "2026-06-01",
                 "daysOverdue": 29 }])
    );
    assert_eq!(
        data["pgbOverdueReviews"]["perTeam"],
        json!([{ "team": "zuid", "count": 1 }])
    );
    assert_eq!(
        data["pgbIrregularities"],
        json!([{ "trajectoryId": other.id, "team": "zuid", "dueOn": "2026-03-01",
                 "completedOn": "2026-03-03", "decision": "STOP" }])
    );
}

/// The monthly trend of west's signal → assessment waits up to 2026-06-30 (the test's today),
/// counted by hand from `ASSESSED_ON`:
/// - January: the waits that ended in January are 3, 10, 15 and 20 days → closed 4, median
///   rank 2 → 10, all four within 42; open at 01-31: the six signalled but not yet assessed.
/// - February: 25, 30, 41, 42, 43 → closed 5, median rank 3 → 41, 4 of 5 within 42; open at
///   02-28: the one assessed in March, signalled 01-14: 17 + 28 = 45 days, over the norm.
/// - March: 70 → closed 1, median 70, within 0 of 1; open at 03-31: none.
/// - April: nothing; May: open at 05-31 the 05-01 signal, 30 days (not over 42 yet);
///   June (to 06-30): open 2 (60 and 20 days), the 60 over the norm.
#[tokio::test]
async fn the_monthly_trend_counts_the_waits_that_ended_each_month() {
    let server = Server::start().await;
    west(&server).await;
    let trend = server
        .lead("west")
        .gql(
            "{ waitingTimeTrend(months: 6, measure: SIGNAL_TO_ASSESSMENT) {
                 scope { teams } months { month from to }
                 measures { normDays overall { closed median withinNorm open openBreaches } } } }",
            json!({}),
        )
        .await["waitingTimeTrend"]
        .clone();
    assert_eq!(trend["scope"]["teams"], json!(["west"]));
    let months: Vec<&str> = trend["months"]
        .as_array()
        .expect("months")
        .iter()
        .filter_map(|m| m["month"].as_str())
        .collect();
    assert_eq!(
        months,
        ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    );
    assert_eq!(trend["months"][1]["to"], "2026-02-28");
    let overall = &trend["measures"][0]["overall"];
    let row = |i: usize| {
        let m = &overall[i];
        (
            m["closed"].as_i64(),
            m["median"].as_i64(),
            m["withinNorm"].as_f64(),
            m["open"].as_i64(),
            m["openBreaches"].as_i64(),
        )
    };
    assert_eq!(row(0), (Some(4), Some(10), Some(1.0), Some(6), Some(0)));
    assert_eq!(row(1), (Some(5), Some(41), Some(0.8), Some(1), Some(1)));
    assert_eq!(row(2), (Some(1), Some(70), Some(0.0), Some(0), Some(0)));
    assert_eq!(row(3), (Some(0), None, None, Some(0), Some(0)));
    assert_eq!(row(4), (Some(0), None, None, Some(1), Some(0)));
    assert_eq!(row(5), (Some(0), None, None, Some(2), Some(1)));
}
