//! Normalisation outcomes of a cohort, worked out by hand.

use jeugdpad_domain::{CloseReason, HelpForm, Level, Source};

use super::support::*;
use crate::{Cohort, CohortGrouping, CohortQuery, NormalisationReport, Outcomes};

/// Subjects s0..s4 have one trajectory each closed in 2025 (the cohort); s1, s2 and s4 come back
/// in 2026; t8 closes in 2026 (outside the period).
///
/// | traj | team  | signal     | help                                               | closed            | highest | pathway |
/// |------|-------|------------|----------------------------------------------------|-------------------|---------|---------|
/// | t0   | noord | 2025-03-01 | none                                               | 03-15 no_help     | 0       | 14      |
/// | t1   | noord | 2025-01-10 | parenting 02-01..04-01                             | 05-01 goals_met   | 1       | 111     |
/// | t2   | noord | 2025-02-01 | parenting 02-10..03-01, specialist 03-01..06-01 ↑  | 07-01 goals_met   | 2       | 150     |
/// | t3   | zuid  | 2025-01-05 | buurtgezin_prev 01-20..03-01, foster 03-01..08-01 ↑, aftercare 08-01..10-01 ↓ | 11-01 other | 3 | 300 |
/// | t4   | zuid  | 2025-03-01 | buurtgezin_prev 03-10..05-01                       | 05-20 goals_met   | 1       | 80      |
///
/// Pathways: 01-10 → 05-01 = 21+28+31+31 = 111; 02-01 → 07-01 = 28+31+30+31+30 = 150;
/// 01-05 → 11-01 = 304 − 4 = 300; 03-01 → 05-20 = 31+30+19 = 80; 03-01 → 03-15 = 14.
///
/// Recurrence as of D = 2026-06-30 (D − 365 = 2025-06-30): base t0 (03-15), t1 (05-01),
/// t4 (05-20); t2 (07-01) and t3 (11-01) closed too recently.
/// - s1 again 2026-05-01 = 05-01 + 365: recurs.
/// - s4 again 2026-05-21 = 05-20 + 366: does not.
/// - s2 again 2026-01-01 (would count, but t2 is not in the base).
fn cohort_world() -> World {
    let mut w = World::new();
    let (t0, t1, t2, t3, t4) = (tid(0), tid(1), tid(2), tid(3), tid(4));
    w.signal_full(t0, "2025-03-01", "noord", Source::School, "s0");
    w.close(t0, "2025-03-15", CloseReason::NoHelpNeeded);

    w.signal_full(t1, "2025-01-10", "noord", Source::School, "s1");
    w.start(t1, "2025-02-01", "E1", HelpForm::ParentingSupport);
    w.end(t1, "2025-04-01", "E1");
    w.close(t1, "2025-05-01", CloseReason::GoalsMet);

    w.signal_full(t2, "2025-02-01", "noord", Source::Huisarts, "s2");
    w.start(t2, "2025-02-10", "E1", HelpForm::ParentingSupport);
    w.end(t2, "2025-03-01", "E1");
    w.start(t2, "2025-03-01", "E2", HelpForm::SpecialistAmbulant);
    w.end(t2, "2025-06-01", "E2");
    w.close(t2, "2025-07-01", CloseReason::GoalsMet);

    w.signal_full(t3, "2025-01-05", "zuid", Source::School, "s3");
    w.start(t3, "2025-01-20", "E1", HelpForm::BuurtgezinPrevention);
    w.end(t3, "2025-03-01", "E1");
    w.start(t3, "2025-03-01", "E2", HelpForm::FosterCare);
    w.end(t3, "2025-08-01", "E2");
    w.start(t3, "2025-08-01", "E3", HelpForm::BuurtgezinAftercare);
    w.end(t3, "2025-10-01", "E3");
    w.close(t3, "2025-11-01", CloseReason::Other);

    w.signal_full(t4, "2025-03-01", "zuid", Source::Huisarts, "s4");
    w.start(t4, "2025-03-10", "E1", HelpForm::BuurtgezinPrevention);
    w.end(t4, "2025-05-01", "E1");
    w.close(t4, "2025-05-20", CloseReason::GoalsMet);

    w.signal_full(tid(5), "2026-05-01", "noord", Source::School, "s1");
    w.signal_full(tid(6), "2026-01-01", "noord", Source::School, "s2");
    w.signal_full(tid(7), "2026-05-21", "zuid", Source::School, "s4");
    w.signal_full(tid(8), "2025-12-01", "zuid", Source::School, "s8");
    w.close(tid(8), "2026-01-10", CloseReason::MovedAway);
    w
}

fn query(cohort: Cohort, from: &str, to: &str, d: &str) -> CohortQuery {
    CohortQuery {
        as_of: as_of(d),
        cohort,
        from: day(from),
        to: day(to),
        group_by: None,
        team: None,
    }
}

/// `(trajectories, resolved_light, escalated, out_of_home, foster_prevented, recurrence_12m,
/// median_pathway_days, medians per level 0..=3)`.
type Expect = (
    usize,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<i64>,
    [Option<i64>; 4],
);

fn check(o: &Outcomes, e: Expect) {
    let levels: Vec<Option<i64>> = o
        .by_highest_level
        .iter()
        .map(|l| l.median_pathway_days)
        .collect();
    let actual = (
        o.trajectories,
        o.resolved_light,
        o.escalated,
        o.out_of_home,
        o.foster_prevented,
        o.recurrence_12m,
        o.median_pathway_days,
        [levels[0], levels[1], levels[2], levels[3]],
    );
    assert_eq!(actual, e);
    let level_numbers: Vec<u8> = o
        .by_highest_level
        .iter()
        .map(|l| l.level.number())
        .collect();
    assert_eq!(level_numbers, [0, 1, 2, 3]);
}

fn group<'a>(r: &'a NormalisationReport, key: &str) -> &'a Outcomes {
    &r.groups
        .iter()
        .find(|g| g.key == key)
        .unwrap_or_else(|| panic!("no group {key}"))
        .outcomes
}

#[test]
fn closed_cohort_outcomes() {
    let p = cohort_world().build();
    let r = p.normalisation(&query(
        Cohort::Closed,
        "2025-01-01",
        "2025-12-31",
        "2026-06-30",
    ));
    // Five closed in 2025. resolved_light: t0 (no_help, level 0), t1, t4 → 3/5. escalated:
    // t2, t3 → 2/5. out_of_home: t3 → 1/5. foster_prevented: t3, t4 started buurtgezin
    // prevention, t4 never reached level 3 → 1/2. recurrence: 1 of base 3. Pathways
    // [14, 80, 111, 150, 300] → median rank 3 = 111; per level: 0 [14], 1 [80, 111] → rank 1 =
    // 80, 2 [150], 3 [300].
    check(
        &r.overall,
        (
            5,
            Some(0.6),
            Some(0.4),
            Some(0.2),
            Some(0.5),
            Some(1.0 / 3.0),
            Some(111),
            [Some(14), Some(80), Some(150), Some(300)],
        ),
    );
    assert_eq!(r.overall.recurrence_base, 3);
    assert_eq!(r.overall.buurtgezin_prevention, 2);
    assert_eq!(r.overall.closed, 5);
    assert!(r.groups.is_empty());
}

#[test]
fn closed_cohort_grouped_by_team_and_source() {
    let p = cohort_world().build();
    let mut q = query(Cohort::Closed, "2025-01-01", "2025-12-31", "2026-06-30");
    q.group_by = Some(CohortGrouping::Team);
    let r = p.normalisation(&q);
    // noord: t0, t1, t2. resolved 2/3, escalated 1/3, out 0, no prevention; recurrence base
    // t0, t1 → 1/2; pathways [14, 111, 150] → 111.
    check(
        group(&r, "noord"),
        (
            3,
            Some(2.0 / 3.0),
            Some(1.0 / 3.0),
            Some(0.0),
            None,
            Some(0.5),
            Some(111),
            [Some(14), Some(111), Some(150), None],
        ),
    );
    // zuid: t3, t4. resolved 1/2, escalated 1/2, out 1/2, prevented 1/2; recurrence base t4,
    // s4 came back after 366 days → 0/1; pathways [80, 300] → rank 1 = 80.
    check(
        group(&r, "zuid"),
        (
            2,
            Some(0.5),
            Some(0.5),
            Some(0.5),
            Some(0.5),
            Some(0.0),
            Some(80),
            [None, Some(80), None, Some(300)],
        ),
    );
    q.group_by = Some(CohortGrouping::Source);
    let r = p.normalisation(&q);
    // huisarts: t2, t4; school: t0, t1, t3.
    assert_eq!(group(&r, "huisarts").trajectories, 2);
    assert_eq!(group(&r, "school").trajectories, 3);
    // Team filter.
    q.group_by = None;
    q.team = Some(team("zuid"));
    assert_eq!(p.normalisation(&q).overall.trajectories, 2);
}

#[test]
fn cohort_as_of_an_earlier_date() {
    let p = cohort_world().build();
    // As of 2025-06-30 only t0, t1, t4 have closed; t2's escalation (2025-03-01) happened but
    // it is not in a closed cohort yet. No closure lies 365 days before D: recurrence absent.
    let r = p.normalisation(&query(
        Cohort::Closed,
        "2025-01-01",
        "2025-12-31",
        "2025-06-30",
    ));
    // resolved: all three → 1.0; escalated 0; pathways [14, 80, 111] → 80.
    check(
        &r.overall,
        (
            3,
            Some(1.0),
            Some(0.0),
            Some(0.0),
            Some(1.0),
            None,
            Some(80),
            [Some(14), Some(80), None, None],
        ),
    );
    // Recurrence one year on from t0's closure (2025-03-15 + 365 = 2026-03-15): base t0 only
    // as of 2026-03-15 (t1 closed 05-01 is too recent).
    let r = p.normalisation(&query(
        Cohort::Closed,
        "2025-01-01",
        "2025-12-31",
        "2026-03-15",
    ));
    assert_eq!(r.overall.recurrence_base, 1);
    assert_eq!(r.overall.recurrence_12m, Some(0.0));
}

#[test]
fn signalled_cohort_includes_open_trajectories() {
    let p = cohort_world().build();
    // Signalled in 2026 by 2026-06-30: t5 (05-01), t6 (01-01), t7 (05-21); all open, no help.
    let r = p.normalisation(&query(
        Cohort::Signalled,
        "2026-01-01",
        "2026-12-31",
        "2026-06-30",
    ));
    check(
        &r.overall,
        (
            3,
            Some(0.0),
            Some(0.0),
            Some(0.0),
            None,
            None,
            None,
            [None, None, None, None],
        ),
    );
    assert_eq!(r.overall.closed, 0);
    // As of 2026-05-01 t7 (05-21) has not been signalled yet.
    let r = p.normalisation(&query(
        Cohort::Signalled,
        "2026-01-01",
        "2026-12-31",
        "2026-05-01",
    ));
    assert_eq!(r.overall.trajectories, 2);
    // Signalled in 2025: t0..t4 and t8 (closed 2026-01-10, pathway 40 days).
    let r = p.normalisation(&query(
        Cohort::Signalled,
        "2025-01-01",
        "2025-12-31",
        "2026-06-30",
    ));
    assert_eq!(r.overall.trajectories, 6);
    assert_eq!(r.overall.by_highest_level[0].median_pathway_days, Some(14));
    assert_eq!(r.overall.by_highest_level[0].closed, 2);
}

#[test]
fn levels_are_reported_as_numbers() {
    assert_eq!(Level::OutOfHome.number(), 3);
}
