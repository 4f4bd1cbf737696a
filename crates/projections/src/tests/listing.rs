//! Summaries, the paged listing and the timeline.

use jeugdpad_domain::{CloseReason, HelpForm, Level, Phase, UserId};

use super::support::*;
use crate::{Amendment, ListingCursor, ListingQuery, Projections};

/// A (noord → zuid on 02-15): signal 01-01, consultant c1 01-02, assessed 01-20 (19 days),
/// request 01-21, granted 01-25, parenting 02-01..03-01, c2 on 02-16, jeugd-ggz from 03-01
/// (escalation 1 → 2).
/// B (noord): signal 02-01, assessed 03-20 (28 + 19 = 47 days: a closed breach), closed 03-25.
/// C (noord): signal 03-01, nothing else. E (noord): signal 05-01.
fn listing_world() -> World {
    let mut w = World::new();
    w.signal(A, "2026-01-01", "noord");
    w.assign(A, "2026-01-02", "c1");
    w.assess(A, "2026-01-20");
    w.request(A, "2026-01-21", HelpForm::ParentingSupport);
    w.decide(A, "2026-01-25", HelpForm::ParentingSupport, true);
    w.start(A, "2026-02-01", "E1", HelpForm::ParentingSupport);
    w.transfer(A, "2026-02-15", "zuid");
    w.assign(A, "2026-02-16", "c2");
    w.end(A, "2026-03-01", "E1");
    w.start(A, "2026-03-01", "E2", HelpForm::YouthMentalHealth);
    w.signal(B, "2026-02-01", "noord");
    w.assess(B, "2026-03-20");
    w.close(B, "2026-03-25", CloseReason::NoHelpNeeded);
    w.signal(C, "2026-03-01", "noord");
    w.signal(E, "2026-05-01", "noord");
    w
}

fn ids(p: &Projections, q: &ListingQuery) -> Vec<jeugdpad_domain::TrajectoryId> {
    p.list(q)
        .items
        .iter()
        .map(|i| i.summary.trajectory)
        .collect()
}

#[test]
fn summary_of_an_open_trajectory_at_two_dates() {
    let p = listing_world().build();
    let s = p.summary(A, as_of("2026-04-01")).expect("exists");
    assert_eq!(s.phase, Phase::InHelp);
    assert_eq!(s.team, team("zuid"));
    assert_eq!(s.consultant, Some(UserId::parse("c2").expect("id")));
    assert_eq!(
        (s.current_level, s.highest_level),
        (Level::SpecialistWithoutStay, Level::SpecialistWithoutStay)
    );
    assert_eq!((s.escalations, s.step_downs, s.open_episodes), (1, 0, 1));
    // Open: 01-01 → 04-01 = 31 + 28 + 31 = 90 days.
    assert_eq!(s.pathway_days, 90);
    assert_eq!((s.closed_on, s.close_reason), (None, None));
    // Every wait closed within its norm: assessment 19, request 4, decision → start 7.
    assert_eq!((s.waiting, s.norm_breach), (false, false));
    assert_eq!(s.signal_on, day("2026-01-01"));

    let s = p.summary(A, as_of("2026-02-10")).expect("exists");
    assert_eq!((s.team.as_str(), s.phase), ("noord", Phase::InHelp));
    assert_eq!(s.consultant, Some(UserId::parse("c1").expect("id")));
    assert_eq!(
        (s.current_level, s.highest_level, s.escalations),
        (Level::Light, Level::Light, 0)
    );
    assert_eq!(s.pathway_days, 40);

    let s = p.summary(A, as_of("2026-01-10")).expect("exists");
    assert_eq!(s.phase, Phase::Signalled);
    assert!(s.waiting);
    assert_eq!(
        p.summary(A, as_of("2026-01-21")).map(|s| s.phase),
        Some(Phase::Assessed)
    );
    assert_eq!(p.summary(E, as_of("2026-04-01")), None);
}

#[test]
fn summary_of_a_closed_trajectory() {
    let p = listing_world().build();
    let s = p.summary(B, as_of("2026-04-01")).expect("exists");
    assert_eq!(s.phase, Phase::Closed);
    // Closed: 02-01 → 03-25 = 28 + 24 = 52, whatever D.
    assert_eq!(s.pathway_days, 52);
    assert_eq!(
        p.summary(B, as_of("2027-01-01")).map(|s| s.pathway_days),
        Some(52)
    );
    assert_eq!(
        (s.closed_on, s.close_reason),
        (Some(day("2026-03-25")), Some(CloseReason::NoHelpNeeded))
    );
    // The assessment took 47 > 42 days: a closed breach; the first-help wait was abandoned.
    assert_eq!((s.waiting, s.norm_breach), (false, true));
    // Before closing: open, 02-01 → 03-22 = 49 days.
    let s = p.summary(B, as_of("2026-03-22")).expect("exists");
    assert_eq!(
        (s.phase, s.pathway_days, s.waiting),
        (Phase::Assessed, 49, true)
    );
}

#[test]
fn listing_pages_in_signal_order() {
    let p = listing_world().build();
    let mut q = ListingQuery::new(as_of("2026-04-01"), 2);
    let page = p.list(&q);
    assert_eq!(
        page.items
            .iter()
            .map(|i| i.summary.trajectory)
            .collect::<Vec<_>>(),
        [A, B]
    );
    assert!(page.has_next_page);
    let cursor = ListingCursor::decode(&page.items[1].cursor.encode()).expect("round trip");
    assert_eq!(cursor, page.items[1].cursor);
    q.after = Some(cursor);
    let page = p.list(&q);
    // E (signal 05-01) does not exist yet on 04-01.
    assert_eq!(
        page.items
            .iter()
            .map(|i| i.summary.trajectory)
            .collect::<Vec<_>>(),
        [C]
    );
    assert!(!page.has_next_page);
    assert!(ListingCursor::decode("nonsense").is_err());
}

#[test]
fn listing_filters() {
    let p = listing_world().build();
    let base = ListingQuery::new(as_of("2026-04-01"), 10);
    let q = |f: &dyn Fn(&mut ListingQuery)| {
        let mut q = base.clone();
        f(&mut q);
        ids(&p, &q)
    };
    assert_eq!(q(&|q| q.team = Some(team("noord"))), [B, C]);
    assert_eq!(q(&|q| q.team = Some(team("zuid"))), [A]);
    assert_eq!(q(&|q| q.waiting = Some(true)), [C]);
    assert_eq!(q(&|q| q.norm_breach = Some(true)), [B]);
    assert_eq!(q(&|q| q.phase = Some(Phase::Closed)), [B]);
    assert_eq!(
        q(&|q| q.highest_level = Some(Level::SpecialistWithoutStay)),
        [A]
    );
    assert_eq!(q(&|q| q.current_level = Some(Level::None)), [B, C]);
    assert_eq!(
        q(&|q| q.consultant = Some(UserId::parse("c2").expect("id"))),
        [A]
    );
    // Before the transfer A was noord's, and C not yet signalled.
    let mut early = ListingQuery::new(as_of("2026-02-10"), 10);
    early.team = Some(team("noord"));
    assert_eq!(ids(&p, &early), [A, B]);
    // The knownOn path gives the same page when everything is known.
    let mut known = base.clone();
    known.as_of.known_on = Some(instant("2031-01-01T00:00:00Z"));
    assert_eq!(p.list(&known), p.list(&base));
    known.first = 1;
    known.after = Some(p.list(&base).items[0].cursor);
    assert_eq!(ids(&p, &known), [B]);
}

#[test]
fn timeline_shows_amendments_and_the_effective_history() {
    let mut w = World::new();
    w.clock("2026-01-01T09:00:00Z");
    let signal = w.signal(A, "2026-01-01", "noord");
    let assigned = w.assign(A, "2026-01-02", "c1");
    let assessed = w.assess(A, "2026-01-20");
    w.clock("2026-02-01T09:00:00Z");
    let correction = w.correct_date(A, "2026-02-01", assessed, "2026-01-03");
    let retraction = w.retract(A, "2026-02-01", assigned);
    let p = w.build();

    let t = p.timeline(A, None, None).expect("exists");
    let raw: Vec<_> = t
        .facts
        .iter()
        .map(|f| (f.version, f.event_id, f.amends))
        .collect();
    assert_eq!(
        raw,
        vec![
            (1, signal, None),
            (2, assigned, None),
            (3, assessed, None),
            (4, correction, Some(Amendment::Corrects(assessed))),
            (5, retraction, Some(Amendment::Retracts(assigned))),
        ]
    );
    assert_eq!(t.facts[2].corrected_by, vec![correction]);
    assert_eq!(t.facts[1].retracted_by, Some(retraction));
    assert_eq!(t.facts[2].occurred_on, day("2026-01-20"));
    assert_eq!(t.facts[3].recorded_at, instant("2026-02-01T09:00:00Z"));
    assert_eq!(t.facts[3].position, 4);
    // Effective: the signal and the assessment on its corrected date; the assignment is gone.
    let effective: Vec<_> = t
        .effective()
        .iter()
        .map(|f| (f.event_id, f.occurred_on))
        .collect();
    assert_eq!(
        effective,
        vec![(signal, day("2026-01-01")), (assessed, day("2026-01-03"))]
    );
    // Cut at 2026-01-02: the corrected assessment (01-03) is not there yet.
    let t = p
        .timeline(A, Some(day("2026-01-02")), None)
        .expect("exists");
    assert_eq!(t.effective().len(), 1);
    // Known on 2026-01-15: no amendments yet; the assignment still counts.
    let t = p
        .timeline(A, None, Some(instant("2026-01-15T00:00:00Z")))
        .expect("exists");
    assert_eq!(t.facts.len(), 3);
    assert!(t.facts[2].corrected_by.is_empty());
    let effective: Vec<_> = t
        .effective()
        .iter()
        .map(|f| (f.event_id, f.occurred_on))
        .collect();
    assert_eq!(
        effective,
        vec![
            (signal, day("2026-01-01")),
            (assigned, day("2026-01-02")),
            (assessed, day("2026-01-20")),
        ]
    );
    assert!(p.timeline(B, None, None).is_none());
}
