//! As of `D` and known on `T`: corrections, retractions and back-dated facts.

use jeugdpad_domain::{Source, Step};

use super::support::*;
use crate::{AsOf, Measure, Projections, WaitQuery, WaitStats};

fn assessment(p: &Projections, as_of: AsOf) -> WaitStats {
    let mut q = WaitQuery::new(as_of);
    q.measure = Some(Measure::SignalToAssessment);
    p.waiting_times(&q).measures.remove(0).overall
}

/// `(closed, open, max closed length, open breaches)`.
fn brief(s: &WaitStats) -> (usize, usize, Option<i64>, usize) {
    (s.closed, s.open, s.max, s.open_breaches)
}

fn at(d: &str, t: &str) -> AsOf {
    AsOf::known_on(day(d), instant(t))
}

/// A: signal 2026-01-01; assessment recorded 2026-02-20 as of 02-20 (50 days); on 2026-03-05 a
/// correction moves it to 02-10 (40 days).
fn corrected_world() -> World {
    let mut w = World::new();
    w.clock("2026-01-01T09:00:00Z");
    w.signal(A, "2026-01-01", "noord");
    w.clock("2026-02-20T10:00:00Z");
    let assessed = w.assess(A, "2026-02-20");
    w.clock("2026-03-05T10:00:00Z");
    w.correct_date(A, "2026-03-05", assessed, "2026-02-10");
    w
}

#[test]
fn a_corrected_date_changes_the_figure_and_known_on_shows_it_as_it_was() {
    let p = corrected_world().build();
    // Now: 01-01 → 02-10 = 40, within the 42-day norm.
    let now = assessment(&p, as_of("2026-04-01"));
    assert_eq!(brief(&now), (1, 0, Some(40), 0));
    assert_eq!(now.within_norm, Some(1.0));
    // As known on 2026-03-01 the correction did not exist: 50 days, a breach.
    let then = assessment(&p, at("2026-04-01", "2026-03-01T00:00:00Z"));
    assert_eq!(brief(&then), (1, 0, Some(50), 0));
    assert_eq!(then.within_norm, Some(0.0));
    // As known on 2026-02-15 nothing was assessed: open 01-01 → 04-01 = 90 days, breach.
    let before = assessment(&p, at("2026-04-01", "2026-02-15T00:00:00Z"));
    assert_eq!(brief(&before), (0, 1, None, 1));
    // The correction applies whatever its own date: as of 2026-02-15 (before the correction
    // was made) the assessment counts on its corrected date 02-10.
    assert_eq!(
        brief(&assessment(&p, as_of("2026-02-15"))),
        (1, 0, Some(40), 0)
    );
    // ... while as known before the correction it was still open: 01-01 → 02-15 = 45, breach.
    let known = assessment(&p, at("2026-02-15", "2026-03-01T00:00:00Z"));
    assert_eq!(brief(&known), (0, 1, None, 1));
    // Known on an instant after everything: the same as now.
    assert_eq!(
        assessment(&p, at("2026-04-01", "2030-01-01T00:00:00Z")),
        now
    );
    // Before the signal was recorded the trajectory did not exist.
    let none = assessment(&p, at("2026-04-01", "2026-01-01T08:00:00Z"));
    assert_eq!(brief(&none), (0, 0, None, 0));
}

#[test]
fn a_back_dated_event_counts_on_its_date_but_only_once_recorded() {
    let mut w = World::new();
    w.clock("2026-01-01T09:00:00Z");
    w.signal(B, "2026-01-01", "noord");
    // Recorded 2026-03-10, happened 2026-02-01: 31 days.
    w.clock("2026-03-10T10:00:00Z");
    w.assess(B, "2026-02-01");
    let p = w.build();
    assert_eq!(
        brief(&assessment(&p, as_of("2026-04-01"))),
        (1, 0, Some(31), 0)
    );
    // Known on 2026-03-01: still open, 01-01 → 04-01 = 90 days.
    let then = assessment(&p, at("2026-04-01", "2026-03-01T00:00:00Z"));
    assert_eq!(brief(&then), (0, 1, None, 1));
    // As of 2026-01-31 the assessment (02-01) is cut off: open 30 days, no breach.
    assert_eq!(brief(&assessment(&p, as_of("2026-01-31"))), (0, 1, None, 0));
}

#[test]
fn a_retracted_event_no_longer_counts() {
    let mut w = World::new();
    w.clock("2026-01-01T09:00:00Z");
    w.signal(C, "2026-01-01", "noord");
    let assessed = w.assess(C, "2026-01-20");
    w.clock("2026-03-01T10:00:00Z");
    w.retract(C, "2026-03-01", assessed);
    let p = w.build();
    // Now: never assessed, open 90 days at 2026-04-01.
    assert_eq!(brief(&assessment(&p, as_of("2026-04-01"))), (0, 1, None, 1));
    // Before the retraction was recorded: 01-01 → 01-20 = 19 days.
    let then = assessment(&p, at("2026-04-01", "2026-02-01T00:00:00Z"));
    assert_eq!(brief(&then), (1, 0, Some(19), 0));
}

#[test]
fn a_corrected_team_and_subject_follow_the_correction_and_known_on() {
    let mut w = World::new();
    w.clock("2026-01-01T09:00:00Z");
    let opened = w.signal_full(A, "2026-01-01", "noord", Source::School, "sk-wrong");
    w.clock("2026-02-01T09:00:00Z");
    w.correct_payload(
        A,
        "2026-02-01",
        opened,
        Step::SignalReceived(signal("zuid", Source::Huisarts, "sk-right")),
    );
    let p = w.build();
    let now = p.summary(A, as_of("2026-03-01")).expect("exists");
    assert_eq!(
        (now.team.as_str(), now.source, now.subject_key.as_str()),
        ("zuid", Source::Huisarts, "sk-right")
    );
    let then = p
        .summary(A, at("2026-03-01", "2026-01-15T00:00:00Z"))
        .expect("exists");
    assert_eq!(
        (then.team.as_str(), then.source, then.subject_key.as_str()),
        ("noord", Source::School, "sk-wrong")
    );
}
