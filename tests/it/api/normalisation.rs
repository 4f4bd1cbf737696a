//! Normalisation outcomes and recurrence (SPEC §4) over HTTP, on hand-built cases.

use serde_json::json;

use super::{assert_close, Server};

#[tokio::test]
async fn a_closed_cohort_gives_the_hand_computed_outcomes() {
    let server = Server::start().await;

    // A: light help only, closed goals_met. Signal 2025-01-10 → closed 2025-03-01 = 50 days.
    let a = server
        .open("2025-01-10", "noord", "sk-norm-a", "SCHOOL")
        .await;
    a.start("2025-01-20", "E1", "PARENTING_SUPPORT").await;
    a.end("2025-02-20", "E1").await;
    a.close("2025-03-01", "GOALS_MET").await;
    // The same youth comes back 2025-03-01 → 2025-08-01 = 153 days later: a recurrence.
    server
        .open("2025-08-01", "noord", "sk-norm-a", "HUISARTS")
        .await;

    // B: no help, closed no_help_needed. 2025-02-01 → 2025-04-01 = 59 days.
    let b = server.open("2025-02-01", "noord", "sk-norm-b", "JGZ").await;
    b.close("2025-04-01", "NO_HELP_NEEDED").await;
    // Comes back 2025-04-01 → 2026-04-02 = 366 days later: not within 12 months.
    server.open("2026-04-02", "noord", "sk-norm-b", "JGZ").await;

    // C: Buurtgezin as prevention, then escalation to specialist care, closed goals_met.
    // 2026-01-05 → 2026-05-01 = 116 days. Closed less than 365 days before D = 2026-06-30, so
    // it is not in the recurrence base.
    let c = server
        .open("2026-01-05", "zuid", "sk-norm-c", "SCHOOL")
        .await;
    c.start("2026-01-10", "E1", "BUURTGEZIN_PREVENTION").await;
    c.end("2026-02-10", "E1").await;
    c.request("2026-02-11", "SPECIALIST_AMBULANT").await;
    c.grant("2026-02-20", "SPECIALIST_AMBULANT").await;
    c.start("2026-03-01", "E2", "SPECIALIST_AMBULANT").await;
    c.end("2026-04-30", "E2").await;
    c.close("2026-05-01", "GOALS_MET").await;

    // Figures of all teams: the analyst's.
    let data = server
        .analyst()
        .gql(
            "{ normalisation(cohort: { closedBetween: { from: \"2025-01-01\", to: \"2026-06-30\" } },
                             groupBy: TEAM) {
                 overall { trajectories resolvedLight escalated outOfHome buurtgezinPrevention
                           fosterPrevented recurrenceBase recurrence12M closed medianPathwayDays
                           byHighestLevel { level closed medianPathwayDays } }
                 groups { key outcomes { trajectories resolvedLight } } } }",
            json!({}),
        )
        .await;
    let overall = &data["normalisation"]["overall"];

    // Cohort: A, B, C (the two later trajectories are still open).
    // resolved light: A and B (C reached level 2) → 2/3; escalated: C → 1/3; out of home: none;
    // Buurtgezin prevention: C, which never reached level 3 → 1/1; recurrence: base A, B → A
    // came back → 1/2; pathways [50, 59, 116] → median (rank 2) 59.
    assert_close(
        overall,
        &json!({
            "trajectories": 3, "resolvedLight": 2.0 / 3.0, "escalated": 1.0 / 3.0,
            "outOfHome": 0.0, "buurtgezinPrevention": 1, "fosterPrevented": 1.0,
            "recurrenceBase": 2, "recurrence12M": 0.5, "closed": 3, "medianPathwayDays": 59,
        }),
        "overall",
    );
    assert_eq!(
        overall["byHighestLevel"],
        json!([
            { "level": "NONE", "closed": 1, "medianPathwayDays": 59 },
            { "level": "LIGHT", "closed": 1, "medianPathwayDays": 50 },
            { "level": "SPECIALIST_WITHOUT_STAY", "closed": 1, "medianPathwayDays": 116 },
            { "level": "OUT_OF_HOME", "closed": 0, "medianPathwayDays": null },
        ])
    );
    let groups = &data["normalisation"]["groups"];
    assert_close(
        groups,
        &json!([
            { "key": "noord", "outcomes": { "trajectories": 2, "resolvedLight": 1.0 } },
            { "key": "zuid", "outcomes": { "trajectories": 1, "resolvedLight": 0.0 } },
        ]),
        "groups",
    );
}

#[tokio::test]
async fn a_signalled_cohort_includes_open_trajectories() {
    let server = Server::start().await;
    // Foster care without Buurtgezin: out of home; still open at D.
    let open = server
        .open("2026-02-01", "west", "sk-norm-d", "VEILIG_THUIS")
        .await;
    open.request("2026-02-02", "FOSTER_CARE").await;
    open.grant("2026-02-10", "FOSTER_CARE").await;
    open.step(
        "startHelp",
        "2026-02-12",
        "help: { episodeId: \"F1\", form: FOSTER_CARE, fosterKind: NETWORK, fosterMode: FULL_TIME }",
    )
    .await;
    // Signalled outside the period: not in the cohort.
    server
        .open("2026-04-01", "west", "sk-norm-e", "SCHOOL")
        .await;

    // Figures of all teams: the analyst's.
    let data = server
        .analyst()
        .gql(
            "{ normalisation(cohort: { signalledBetween: { from: \"2026-01-01\", to: \"2026-03-31\" } }) {
                 overall { trajectories resolvedLight escalated outOfHome fosterPrevented
                           recurrence12M closed medianPathwayDays } } }",
            json!({}),
        )
        .await;

    // One trajectory, open, highest level 3, first help never an escalation; no Buurtgezin and
    // no closure a year back, so those shares are null.
    assert_eq!(
        data["normalisation"]["overall"],
        json!({ "trajectories": 1, "resolvedLight": 0.0, "escalated": 0.0, "outOfHome": 1.0,
                "fosterPrevented": null, "recurrence12M": null, "closed": 0,
                "medianPathwayDays": null })
    );
}
