//! PGB reviews: overdue strictly after the due date, completion and closure end it.

use jeugdpad_domain::CloseReason;

use super::support::*;
use crate::{PgbQuery, Projections};

/// A (noord): reviews due 2026-03-01 (completed 03-20 with an irregularity) and 2026-05-01.
/// B (zuid): review due 2026-02-01, trajectory closed 2026-02-15.
/// C (zuid): review scheduled 2026-02-01, due 02-05.
fn pgb_world() -> World {
    let mut w = World::new();
    w.signal(A, "2026-01-01", "noord");
    w.grant_pgb(A, "2026-01-10");
    w.schedule_review(A, "2026-01-10", "2026-03-01");
    w.schedule_review(A, "2026-01-15", "2026-05-01");
    w.complete_review(A, "2026-03-20", true);
    w.signal(B, "2026-01-01", "zuid");
    w.schedule_review(B, "2026-01-05", "2026-02-01");
    w.close(B, "2026-02-15", CloseReason::GoalsMet);
    w.signal(C, "2026-01-01", "zuid");
    w.schedule_review(C, "2026-02-01", "2026-02-05");
    w
}

fn overdue(p: &Projections, d: &str) -> Vec<(jeugdpad_domain::TrajectoryId, i64)> {
    let r = p.pgb_overdue(&PgbQuery {
        as_of: as_of(d),
        team: None,
    });
    r.overdue
        .iter()
        .map(|o| (o.trajectory, o.days_overdue))
        .collect()
}

#[test]
fn overdue_reviews() {
    let p = pgb_world().build();
    // Due 03-01 is not overdue ON 03-01 (due_on < D strictly); C: 02-05 → 03-01 = 24.
    assert_eq!(overdue(&p, "2026-03-01"), vec![(C, 24)]);
    // On 03-02 A is one day late; C 25; longest first.
    assert_eq!(overdue(&p, "2026-03-02"), vec![(C, 25), (A, 1)]);
    // On 03-19 A: 03-01 → 03-19 = 18; completed on 03-20: no longer overdue.
    assert_eq!(overdue(&p, "2026-03-19"), vec![(C, 42), (A, 18)]);
    assert_eq!(overdue(&p, "2026-03-20"), vec![(C, 43)]);
    // The second review (due 05-01): 05-01 → 05-11 = 10 days; C 02-05 → 05-11 = 28+31+30+6 = 95.
    assert_eq!(overdue(&p, "2026-05-11"), vec![(C, 95), (A, 10)]);
    // B: due 02-01, on 02-10 nine days late; closed 02-15: not overdue after that.
    assert_eq!(overdue(&p, "2026-02-10"), vec![(B, 9), (C, 5)]);
    assert_eq!(overdue(&p, "2026-02-15"), vec![(C, 10)]);
    // C's review was only scheduled on 02-01: as of 01-31 it does not exist.
    assert_eq!(overdue(&p, "2026-01-31"), vec![]);
}

#[test]
fn overdue_count_per_team() {
    let p = pgb_world().build();
    let r = p.pgb_overdue(&PgbQuery {
        as_of: as_of("2026-03-02"),
        team: None,
    });
    let counts: Vec<(&str, usize)> = r
        .per_team
        .iter()
        .map(|c| (c.team.as_str(), c.count))
        .collect();
    assert_eq!(counts, [("noord", 1), ("zuid", 1)]);
    assert_eq!(r.overdue[1].due_on, day("2026-03-01"));
    assert_eq!(r.overdue[1].scheduled_on, day("2026-01-10"));
    let r = p.pgb_overdue(&PgbQuery {
        as_of: as_of("2026-03-02"),
        team: Some(team("noord")),
    });
    assert_eq!(r.overdue.len(), 1);
}

#[test]
fn irregularities_count_from_their_completion() {
    let p = pgb_world().build();
    let q = |d: &str| PgbQuery {
        as_of: as_of(d),
        team: None,
    };
    assert!(p.pgb_irregularities(&q("2026-03-19")).is_empty());
    let list = p.pgb_irregularities(&q("2026-03-20"));
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].trajectory, list[0].due_on, list[0].completed_on),
        (A, day("2026-03-01"), day("2026-03-20"))
    );
    assert_eq!(list[0].team, team("noord"));
}
