//! Waiting times: every expected number is worked out by hand in the comments.

use jeugdpad_domain::{CloseReason, HelpForm, Source};

use super::support::*;
use crate::{
    CursorError, Measure, MeasureReport, OpenWait, OpenWaitCursor, OpenWaitsQuery, Projections,
    WaitGrouping, WaitQuery, WaitStats,
};

fn report(
    p: &Projections,
    d: &str,
    measure: Measure,
    group_by: Option<WaitGrouping>,
) -> MeasureReport {
    let mut q = WaitQuery::new(as_of(d));
    q.measure = Some(measure);
    q.group_by = group_by;
    let mut r = p.waiting_times(&q);
    assert_eq!(r.measures.len(), 1);
    r.measures.remove(0)
}

fn overall(p: &Projections, d: &str, measure: Measure) -> WaitStats {
    report(p, d, measure, None).overall
}

/// `(closed, open, abandoned, mean, median, p90, max, within_norm, open_breaches)`.
type Expect = (
    usize,
    usize,
    usize,
    Option<f64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<f64>,
    usize,
);

fn check(stats: &WaitStats, e: Expect) {
    let actual = (
        stats.closed,
        stats.open,
        stats.abandoned,
        stats.mean,
        stats.median,
        stats.p90,
        stats.max,
        stats.within_norm,
        stats.open_breaches,
    );
    assert_eq!(actual, e);
}

fn group<'a>(r: &'a MeasureReport, key: &str) -> &'a WaitStats {
    &r.groups
        .iter()
        .find(|g| g.key == key)
        .unwrap_or_else(|| panic!("no group {key} in {:?}", r.groups))
        .stats
}

/// A: 2026-01-01 → assessed 2026-02-12 = 42 days (exactly the norm: within).
/// B: 2026-01-01 → assessed 2026-02-13 = 43 days (one over: breach).
/// C: signalled 2026-03-01, never assessed: open; 2026-04-12 − 2026-03-01 = 42, 04-13 → 43.
/// E: signalled 2026-01-10, closed 2026-01-20 unassessed: abandoned.
fn signal_to_assessment_world() -> World {
    let mut w = World::new();
    w.signal(A, "2026-01-01", "noord");
    w.assess(A, "2026-02-12");
    w.signal(B, "2026-01-01", "noord");
    w.assess(B, "2026-02-13");
    w.signal(C, "2026-03-01", "noord");
    w.signal(E, "2026-01-10", "noord");
    w.close(E, "2026-01-20", CloseReason::Other);
    w
}

#[test]
fn signal_to_assessment_closed_open_abandoned_and_the_norm_boundary() {
    let p = signal_to_assessment_world().build();
    let m = report(&p, "2026-04-13", Measure::SignalToAssessment, None);
    assert_eq!(m.norm_days, Some(42));
    // Closed [42, 43]: mean 42.5; median rank ceil(0.5·2)=1 → 42; p90 rank ceil(1.8)=2 → 43;
    // within norm: only 42 → 1/2. C open 43 days > 42: one open breach. E abandoned.
    check(
        &m.overall,
        (
            2,
            1,
            1,
            Some(42.5),
            Some(42),
            Some(43),
            Some(43),
            Some(0.5),
            1,
        ),
    );
    // One day earlier C has waited exactly 42 days: open, no breach.
    let s = overall(&p, "2026-04-12", Measure::SignalToAssessment);
    check(
        &s,
        (
            2,
            1,
            1,
            Some(42.5),
            Some(42),
            Some(43),
            Some(43),
            Some(0.5),
            0,
        ),
    );
    // Before C's signal (2026-03-01) it does not exist; E closed 01-20 → abandoned;
    // on 2026-02-12 A is closed (42), B open 2026-01-01 → 02-12 = 42 days.
    let s = overall(&p, "2026-02-12", Measure::SignalToAssessment);
    check(
        &s,
        (
            1,
            1,
            1,
            Some(42.0),
            Some(42),
            Some(42),
            Some(42),
            Some(1.0),
            0,
        ),
    );
    // Before anything: no waits at all, every figure absent.
    let s = overall(&p, "2025-12-31", Measure::SignalToAssessment);
    check(&s, (0, 0, 0, None, None, None, None, None, 0));
}

#[test]
fn open_waits_list_longest_first_with_stable_ties() {
    let p = signal_to_assessment_world().build();
    let list = p.open_waits(&OpenWaitsQuery::new(as_of("2026-04-13")));
    let rows: Vec<(_, Measure, i64, bool)> = list
        .iter()
        .map(|w: &OpenWait| (w.trajectory, w.measure, w.days_waited, w.breach))
        .collect();
    // No help started anywhere: signal → first help is open for A, B (2026-01-01 → 04-13 =
    // 31 + 28 + 31 + 12 = 102 days) and C (43); no norm, so never a breach. C's assessment
    // wait: 43 > 42, breach. E is closed: nothing open. Ties (102, 102) by trajectory id,
    // (43, 43) by measure order.
    assert_eq!(
        rows,
        vec![
            (A, Measure::SignalToFirstHelp, 102, false),
            (B, Measure::SignalToFirstHelp, 102, false),
            (C, Measure::SignalToAssessment, 43, true),
            (C, Measure::SignalToFirstHelp, 43, false),
        ]
    );
    assert_eq!(list[2].started_on, day("2026-03-01"));
    assert_eq!(list[2].team, team("noord"));
    assert_eq!(list[2].norm_days, Some(42));
    let mut q = OpenWaitsQuery::new(as_of("2026-04-13"));
    q.breaches_only = true;
    assert_eq!(p.open_waits(&q).len(), 1);
    q.breaches_only = false;
    q.measure = Some(Measure::SignalToAssessment);
    q.limit = Some(5);
    assert_eq!(p.open_waits(&q).len(), 1);
}

/// A, signalled 2026-01-05, requests: R1 parenting 01-10, R2 jeugd-ggz 01-12, R3 parenting
/// 01-20. A parenting decision on 03-07 answers the EARLIEST open parenting request, R1:
/// 01-10 → 03-07 = 56 (the norm exactly: within). Jeugd-ggz refused 03-10: R2 01-12 → 03-10 =
/// 57 (breach). Parenting decision 03-16 answers R3: 01-20 → 03-16 = 55.
/// (Answering the latest request instead would give R3 46 days and leave R1 open.)
fn requests_world() -> World {
    let mut w = World::new();
    w.signal(A, "2026-01-05", "noord");
    w.request(A, "2026-01-10", HelpForm::ParentingSupport);
    w.request(A, "2026-01-12", HelpForm::YouthMentalHealth);
    w.request(A, "2026-01-20", HelpForm::ParentingSupport);
    w.decide(A, "2026-03-07", HelpForm::ParentingSupport, true);
    w.start(A, "2026-03-08", "E0", HelpForm::GroupProgramme);
    w.decide(A, "2026-03-10", HelpForm::YouthMentalHealth, false);
    w.decide(A, "2026-03-16", HelpForm::ParentingSupport, true);
    w.start(A, "2026-04-10", "E1", HelpForm::ParentingSupport);
    // B: a same-form start BEFORE the decision does not end the decision's wait.
    w.signal(B, "2026-01-05", "noord");
    w.request(B, "2026-01-06", HelpForm::WijkteamSupport);
    w.start(B, "2026-01-07", "E1", HelpForm::WijkteamSupport);
    w.decide(B, "2026-01-20", HelpForm::WijkteamSupport, true);
    w.end(B, "2026-02-01", "E1");
    w.start(B, "2026-02-10", "E2", HelpForm::WijkteamSupport);
    w
}

#[test]
fn a_decision_answers_the_earliest_open_request_of_its_form() {
    let p = requests_world().build();
    let mut q = WaitQuery::new(as_of("2026-04-30"));
    q.measure = Some(Measure::RequestToDecision);
    q.group_by = Some(WaitGrouping::Form);
    q.team = Some(team("noord"));
    let mut r = p.waiting_times(&q);
    let m = r.measures.remove(0);
    assert_eq!(m.norm_days, Some(56));
    // A: [55, 56, 57]; B: 01-06 → 01-20 = 14. All: [14, 55, 56, 57], mean 182/4 = 45.5,
    // median rank 2 → 55, p90 rank ceil(3.6)=4 → 57, within (<= 56): 3/4.
    check(
        &m.overall,
        (
            4,
            0,
            0,
            Some(45.5),
            Some(55),
            Some(57),
            Some(57),
            Some(0.75),
            0,
        ),
    );
    // parenting_support [55, 56]: mean 55.5, median rank 1 → 55, p90 rank 2 → 56, all within.
    check(
        group(&m, "parenting_support"),
        (
            2,
            0,
            0,
            Some(55.5),
            Some(55),
            Some(56),
            Some(56),
            Some(1.0),
            0,
        ),
    );
    check(
        group(&m, "youth_mental_health"),
        (
            1,
            0,
            0,
            Some(57.0),
            Some(57),
            Some(57),
            Some(57),
            Some(0.0),
            0,
        ),
    );
    check(
        group(&m, "wijkteam_support"),
        (
            1,
            0,
            0,
            Some(14.0),
            Some(14),
            Some(14),
            Some(14),
            Some(1.0),
            0,
        ),
    );
    assert_eq!(m.groups.len(), 3);
    // On 2026-03-08 only R1 is answered (56); R2 open 01-12 → 03-08 = 55, R3 01-20 → 03-08 =
    // 47: open, no breach yet.
    let mut q = WaitQuery::new(as_of("2026-03-08"));
    q.measure = Some(Measure::RequestToDecision);
    q.form = Some(HelpForm::YouthMentalHealth);
    let s = p.waiting_times(&q).measures.remove(0).overall;
    check(&s, (0, 1, 0, None, None, None, None, None, 0));
    let list = p.open_waits(&OpenWaitsQuery {
        measure: Some(Measure::RequestToDecision),
        ..OpenWaitsQuery::new(as_of("2026-03-08"))
    });
    let rows: Vec<_> = list
        .iter()
        .map(|w| (w.form, w.started_on, w.days_waited))
        .collect();
    assert_eq!(
        rows,
        vec![
            (Some(HelpForm::YouthMentalHealth), day("2026-01-12"), 55),
            (Some(HelpForm::ParentingSupport), day("2026-01-20"), 47),
        ]
    );
}

#[test]
fn decision_to_start_counts_only_a_start_of_the_same_form_on_or_after_the_decision() {
    let p = requests_world().build();
    // A: granted parenting 03-07 and 03-16 (the jeugd-ggz refusal has no such wait). The
    // group_programme start on 03-08 is another form; the first parenting start is 04-10:
    // 03-07 → 04-10 = 34 (breach of 28), 03-16 → 04-10 = 25.
    // B: granted 01-20; the start of 01-07 came before it; the next, 02-10: 21 days.
    let m = report(
        &p,
        "2026-04-30",
        Measure::DecisionToStart,
        Some(WaitGrouping::Form),
    );
    assert_eq!(m.norm_days, Some(28));
    // [21, 25, 34]: mean 80/3, median rank 2 → 25, p90 rank 3 → 34, within 2/3.
    check(
        &m.overall,
        (
            3,
            0,
            0,
            Some(80.0 / 3.0),
            Some(25),
            Some(34),
            Some(34),
            Some(2.0 / 3.0),
            0,
        ),
    );
    check(
        group(&m, "parenting_support"),
        (
            2,
            0,
            0,
            Some(29.5),
            Some(25),
            Some(34),
            Some(34),
            Some(0.5),
            0,
        ),
    );
    // On 2026-04-09 both parenting waits are open: 03-07 → 04-09 = 33 (breach), 03-16 → 04-09
    // = 24.
    let s = overall(&p, "2026-04-09", Measure::DecisionToStart);
    check(
        &s,
        (
            1,
            2,
            0,
            Some(21.0),
            Some(21),
            Some(21),
            Some(21),
            Some(1.0),
            1,
        ),
    );
    // Signal → first help: A 01-05 → 03-08 (group_programme, any form counts) = 62; B 01-05 →
    // 01-07 = 2. No norm: within_norm absent, no breaches.
    let s = overall(&p, "2026-04-30", Measure::SignalToFirstHelp);
    check(
        &s,
        (2, 0, 0, Some(32.0), Some(2), Some(62), Some(62), None, 0),
    );
}

/// Ten trajectories signalled 2026-01-01 with assessment waits of
/// 10, 20, 30, 40, 42 (team noord) and 43, 50, 60, 70, 100 (team zuid); the 100-day one moves
/// to noord on 2026-05-01.
fn ten_values_world() -> World {
    let mut w = World::new();
    let assessed = [
        ("noord", "2026-01-11"), // 10
        ("noord", "2026-01-21"), // 20
        ("noord", "2026-01-31"), // 30
        ("noord", "2026-02-10"), // 31 + 9 = 40
        ("noord", "2026-02-12"), // 42
        ("zuid", "2026-02-13"),  // 43
        ("zuid", "2026-02-20"),  // 50
        ("zuid", "2026-03-02"),  // 31 + 28 + 1 = 60
        ("zuid", "2026-03-12"),  // 70
        ("zuid", "2026-04-11"),  // 31 + 28 + 31 + 10 = 100
    ];
    for (i, (team_code, on)) in assessed.into_iter().enumerate() {
        let t = tid(i as u128);
        w.signal(t, "2026-01-01", team_code);
        w.assess(t, on);
    }
    w.transfer(tid(9), "2026-05-01", "noord");
    w
}

#[test]
fn mean_median_p90_max_on_ten_values() {
    let p = ten_values_world().build();
    // Sum 465 → mean 46.5; median rank ceil(5) = 5 → 42; p90 rank ceil(9) = 9 → 70; max 100;
    // within (<= 42): 10, 20, 30, 40, 42 → 5/10.
    let s = overall(&p, "2026-06-01", Measure::SignalToAssessment);
    check(
        &s,
        (
            10,
            0,
            0,
            Some(46.5),
            Some(42),
            Some(70),
            Some(100),
            Some(0.5),
            0,
        ),
    );
    // As of 2026-04-10 the 100-day assessment (04-11) is cut off: it is open, 99 days, breach.
    // Closed [10..70] (9): sum 365, mean 365/9; median rank 5 → 42; p90 rank ceil(8.1)=9 → 70.
    let s = overall(&p, "2026-04-10", Measure::SignalToAssessment);
    check(
        &s,
        (
            9,
            1,
            0,
            Some(365.0 / 9.0),
            Some(42),
            Some(70),
            Some(70),
            Some(5.0 / 9.0),
            1,
        ),
    );
}

#[test]
fn team_grouping_uses_the_team_at_d() {
    let p = ten_values_world().build();
    // After the transfer (2026-05-01): noord [10, 20, 30, 40, 42, 100] — sum 242, mean 242/6,
    // median rank 3 → 30, p90 rank ceil(5.4)=6 → 100, within 5/6; zuid [43, 50, 60, 70] —
    // mean 223/4 = 55.75, median rank 2 → 50, p90 rank ceil(3.6)=4 → 70, within 0.
    let m = report(
        &p,
        "2026-06-01",
        Measure::SignalToAssessment,
        Some(WaitGrouping::Team),
    );
    check(
        group(&m, "noord"),
        (
            6,
            0,
            0,
            Some(242.0 / 6.0),
            Some(30),
            Some(100),
            Some(100),
            Some(5.0 / 6.0),
            0,
        ),
    );
    check(
        group(&m, "zuid"),
        (
            4,
            0,
            0,
            Some(55.75),
            Some(50),
            Some(70),
            Some(70),
            Some(0.0),
            0,
        ),
    );
    // The day before the transfer it still counts under zuid: noord [10..42] mean 142/5 =
    // 28.4, median rank 3 → 30, p90 rank ceil(4.5)=5 → 42; zuid [43, 50, 60, 70, 100] mean
    // 323/5 = 64.6, median rank 3 → 60, p90 rank 5 → 100.
    let m = report(
        &p,
        "2026-04-30",
        Measure::SignalToAssessment,
        Some(WaitGrouping::Team),
    );
    check(
        group(&m, "noord"),
        (
            5,
            0,
            0,
            Some(28.4),
            Some(30),
            Some(42),
            Some(42),
            Some(1.0),
            0,
        ),
    );
    check(
        group(&m, "zuid"),
        (
            5,
            0,
            0,
            Some(64.6),
            Some(60),
            Some(100),
            Some(100),
            Some(0.0),
            0,
        ),
    );
    // The team filter follows the same rule.
    let mut q = WaitQuery::new(as_of("2026-06-01"));
    q.team = Some(team("zuid"));
    q.measure = Some(Measure::SignalToAssessment);
    assert_eq!(p.waiting_times(&q).measures[0].overall.closed, 4);
}

#[test]
fn grouping_by_source_signal_month_and_form() {
    let mut w = World::new();
    // A huisarts, 2026-01-15 → 02-01 = 17; B school, 02-03 → 02-10 = 7; C huisarts, 02-20,
    // open at 2026-03-01: 8 days of February + 1 = 9.
    w.signal_full(A, "2026-01-15", "noord", Source::Huisarts, "sk-a");
    w.assess(A, "2026-02-01");
    w.signal_full(B, "2026-02-03", "noord", Source::School, "sk-b");
    w.assess(B, "2026-02-10");
    w.signal_full(C, "2026-02-20", "zuid", Source::Huisarts, "sk-c");
    let p = w.build();
    let m = report(
        &p,
        "2026-03-01",
        Measure::SignalToAssessment,
        Some(WaitGrouping::Source),
    );
    check(
        group(&m, "huisarts"),
        (
            1,
            1,
            0,
            Some(17.0),
            Some(17),
            Some(17),
            Some(17),
            Some(1.0),
            0,
        ),
    );
    check(
        group(&m, "school"),
        (1, 0, 0, Some(7.0), Some(7), Some(7), Some(7), Some(1.0), 0),
    );
    let m = report(
        &p,
        "2026-03-01",
        Measure::SignalToAssessment,
        Some(WaitGrouping::SignalMonth),
    );
    let keys: Vec<&str> = m.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["2026-01", "2026-02"]);
    check(
        group(&m, "2026-02"),
        (1, 1, 0, Some(7.0), Some(7), Some(7), Some(7), Some(1.0), 0),
    );
    // A measure without a form has no form groups, but still its overall figures.
    let m = report(
        &p,
        "2026-03-01",
        Measure::SignalToAssessment,
        Some(WaitGrouping::Form),
    );
    assert!(m.groups.is_empty());
    assert_eq!(m.overall.closed, 2);
    // The source filter.
    let mut q = WaitQuery::new(as_of("2026-03-01"));
    q.source = Some(Source::School);
    let r = p.waiting_times(&q);
    assert_eq!(r.measures.len(), 4);
    assert_eq!(r.measures[0].overall.closed, 1);
    assert_eq!(r.measures[0].overall.open, 0);
}

#[test]
fn norms_are_installation_settings_and_reports_state_them() {
    let norms = crate::Norms {
        signal_to_assessment: Some(30),
        signal_to_first_help: Some(60),
        ..crate::Norms::default()
    };
    let p = signal_to_assessment_world().build_with(norms);
    let m = report(&p, "2026-04-13", Measure::SignalToAssessment, None);
    assert_eq!(m.norm_days, Some(30));
    // [42, 43] both over 30; C open 43 > 30.
    assert_eq!(m.overall.within_norm, Some(0.0));
    assert_eq!(m.overall.open_breaches, 1);
    let m = report(&p, "2026-04-13", Measure::SignalToFirstHelp, None);
    assert_eq!(m.norm_days, Some(60));
    // Open: A, B 102 > 60 (breach), C 43.
    assert_eq!(m.overall.open_breaches, 2);
}

/// Every open wait of `p` at `d`, fetched `size` at a time by passing each page's last cursor
/// back; also the number of pages that said more follow.
fn paged(p: &Projections, d: &str, size: usize) -> (Vec<OpenWait>, usize) {
    let mut all = Vec::new();
    let mut after = None;
    let mut more = 0;
    loop {
        let page = p.open_waits_page(&OpenWaitsQuery {
            after,
            limit: Some(size),
            ..OpenWaitsQuery::new(as_of(d))
        });
        assert!(page.items.len() <= size);
        after = page.items.last().map(|item| item.cursor);
        all.extend(page.items.into_iter().map(|item| item.wait));
        if !page.has_next_page {
            return (all, more);
        }
        more += 1;
    }
}

/// A requests parenting support twice on 2026-02-02 (two waits alike in all but their order)
/// and specialist help on 2026-02-01; B and C are only signalled. As of 2026-03-02:
/// A: signal → assessment and signal → first help 01-05 → 03-02 = 26 + 28 + 2 = 56 days;
///    the specialist request 02-01 → 03-02 = 29; each parenting request 02-02 → 03-02 = 28.
/// B (signal 01-05): 56 and 56; C (signal 02-20): 02-20 → 03-02 = 10 and 10.
/// Nine open waits in all.
fn paging_world() -> World {
    let mut w = World::new();
    w.signal(A, "2026-01-05", "noord");
    w.request(A, "2026-02-01", HelpForm::SpecialistAmbulant);
    w.request(A, "2026-02-02", HelpForm::ParentingSupport);
    w.request(A, "2026-02-02", HelpForm::ParentingSupport);
    w.signal(B, "2026-01-05", "noord");
    w.signal(C, "2026-02-20", "noord");
    w
}

#[test]
fn open_waits_page_through_every_wait_once_in_the_list_order() {
    let p = paging_world().build();
    let whole = p.open_waits(&OpenWaitsQuery::new(as_of("2026-03-02")));
    let days: Vec<i64> = whole.iter().map(|w| w.days_waited).collect();
    assert_eq!(days, [56, 56, 56, 56, 29, 28, 28, 10, 10]);
    for size in 1..=10 {
        let (paged, more) = paged(&p, "2026-03-02", size);
        assert_eq!(paged, whole, "pages of {size}");
        // 9 waits: ⌈9 / size⌉ pages, every one but the last says more follow.
        assert_eq!(more, 9usize.div_ceil(size) - 1, "pages of {size}");
    }
}

#[test]
fn an_open_waits_cursor_survives_new_waits_and_a_new_day() {
    let mut w = paging_world();
    let p = w.build();
    let first = p.open_waits_page(&OpenWaitsQuery {
        limit: Some(5),
        ..OpenWaitsQuery::new(as_of("2026-03-02"))
    });
    // The five longest as of 03-02: A's and B's 56-day waits, then A's specialist request.
    assert_eq!(first.items[4].wait.days_waited, 29);
    let cursor = first.items[4].cursor;
    assert_eq!(OpenWaitCursor::decode(&cursor.encode()), Ok(cursor));

    // Meanwhile E is signalled (a wait longer than the cursor's: it belongs to the first
    // page now) and F on 02-25 (shorter: it belongs after the cursor), and a day passes.
    w.signal(E, "2026-01-02", "noord");
    let f = super::support::tid(1);
    w.signal(f, "2026-02-25", "noord");
    let p = w.build();
    let rest = p.open_waits_page(&OpenWaitsQuery {
        after: Some(cursor),
        ..OpenWaitsQuery::new(as_of("2026-03-03"))
    });
    // After A's specialist request (started 02-01) come, as of 03-03: A's two parenting
    // requests (02-02: 29 days each), F's two signal waits (02-25: 6) and C's (02-20: 11)
    // before them: 11 > 6.
    let rows: Vec<_> = rest
        .items
        .iter()
        .map(|item| (item.wait.trajectory, item.wait.days_waited, item.cursor.nth))
        .collect();
    assert_eq!(
        rows,
        vec![
            (A, 29, 0),
            (A, 29, 1),
            (C, 11, 0),
            (C, 11, 0),
            (f, 6, 0),
            (f, 6, 0)
        ]
    );
    assert!(!rest.has_next_page);
    assert_eq!(
        OpenWaitCursor::decode("2026-03-02/nonsense"),
        Err(CursorError)
    );
}
