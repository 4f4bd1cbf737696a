//! The aggregates answer exactly what the scan answers: random valid histories (transfers,
//! corrections of dates, retractions, re-entries of one youth, closures), every way the read
//! models can be built (event by event with old parts taken out and new ones put in, in one
//! batch, and the unsorted bulk load of a start-up), and many reference dates — every date the
//! history names, the days around it and the days its norms fall due.

use chrono::{Duration, NaiveDate};
use jeugdpad_domain::{HelpForm, Source};
use proptest::prelude::*;

use super::properties::{actions, batch, generate, one_by_one};
use super::support::*;
use crate::{AsOf, LoggedFact, Projections, WaitGrouping, WaitQuery};

/// The start-up path with the aggregates filled in bulk even for a handful of trajectories, on
/// a thread of their own a slice (of three) behind the derivation.
fn bulk(log: &[LoggedFact]) -> Projections {
    let mut p = Projections::new(crate::Norms::default());
    p.bulk_threshold = 0;
    p.derive_slice = 3;
    p.extend_deferred(log.iter().cloned());
    p.derive_pending();
    p
}

/// [`bulk`] with digests whose parts the team snapshot cannot give: they are filled once the
/// aggregates are back from their thread.
fn bulk_late(log: &[LoggedFact]) -> Projections {
    let mut p = Projections::new(crate::Norms::default());
    p.bulk_threshold = 0;
    p.derive_slice = 3;
    p.empty_team_snapshot = true;
    p.extend_deferred(log.iter().cloned());
    p.derive_pending();
    p
}

/// Every date the log names, the days around it and where each norm falls due after it; and a
/// few far away (before any signal, and long after).
fn dates(log: &[LoggedFact]) -> Vec<NaiveDate> {
    let mut dates = vec![day("2020-01-01"), day("2035-06-30")];
    for fact in log {
        let on = fact.fact.occurred_on;
        for offset in [-1, 0, 1, 28, 29, 42, 43, 56, 57] {
            dates.push(on + Duration::days(offset));
        }
    }
    dates.sort_unstable();
    dates.dedup();
    dates
}

/// Report shapes the aggregates answer (and one they must leave to the scan).
fn queries(as_of: AsOf) -> Vec<WaitQuery> {
    let mut list = Vec::new();
    for group_by in [
        None,
        Some(WaitGrouping::Team),
        Some(WaitGrouping::Source),
        Some(WaitGrouping::Form),
        Some(WaitGrouping::SignalMonth),
    ] {
        for team in [None, Some("noord"), Some("elders")] {
            let mut q = WaitQuery::new(as_of);
            q.group_by = group_by;
            q.team = team.map(super::support::team);
            list.push(q);
        }
    }
    for group_by in [None, Some(WaitGrouping::Team), Some(WaitGrouping::Source)] {
        let mut q = WaitQuery::new(as_of);
        q.group_by = group_by;
        q.source = Some(Source::ALL[0]);
        list.push(q);
    }
    for group_by in [None, Some(WaitGrouping::Team), Some(WaitGrouping::Form)] {
        let mut q = WaitQuery::new(as_of);
        q.group_by = group_by;
        q.form = Some(HelpForm::ParentingSupport);
        list.push(q);
    }
    let mut one = WaitQuery::new(as_of);
    one.measure = Some(crate::Measure::DecisionToStart);
    one.group_by = Some(WaitGrouping::Form);
    list.push(one);
    list
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn waiting_times_from_the_aggregates_equal_the_scan(actions in actions()) {
        let log = generate(&actions);
        for p in [one_by_one(&log), batch(&log), bulk(&log), bulk_late(&log)] {
            for d in dates(&log) {
                for query in queries(AsOf::date(d)) {
                    let counted = p.waiting_times_counted(&query);
                    prop_assert!(counted.is_some(), "the aggregates answer {:?}", query);
                    prop_assert_eq!(counted.as_ref(), Some(&p.waiting_times_by_scan(&query)), "as of {} for {:?}", d, query);
                }
            }
        }
    }
}

#[test]
fn what_the_aggregates_cannot_answer_is_left_to_the_scan() {
    let mut w = World::new();
    w.signal(A, "2026-01-05", "noord");
    w.clock("2026-02-01T10:00:00Z");
    w.assess(A, "2026-01-20");
    let p = w.build();
    let mut both = WaitQuery::new(as_of("2026-03-01"));
    both.source = Some(Source::ALL[0]);
    both.form = Some(HelpForm::ParentingSupport);
    assert!(p.waiting_times_counted(&both).is_none());
    let mut crossed = WaitQuery::new(as_of("2026-03-01"));
    crossed.source = Some(Source::ALL[0]);
    crossed.group_by = Some(WaitGrouping::Form);
    assert!(p.waiting_times_counted(&crossed).is_none());
    let known = WaitQuery::new(AsOf::known_on(
        day("2026-03-01"),
        instant("2026-01-10T00:00:00Z"),
    ));
    assert!(p.waiting_times_counted(&known).is_none());
    // And what they do answer agrees with the scan on this small case too.
    let plain = WaitQuery::new(as_of("2026-03-01"));
    assert_eq!(
        p.waiting_times_counted(&plain),
        Some(p.waiting_times_by_scan(&plain))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn trends_from_the_aggregates_equal_the_scan(actions in actions()) {
        let log = generate(&actions);
        for p in [one_by_one(&log), bulk(&log), bulk_late(&log)] {
            for d in ["2026-02-10", "2026-07-31", "2027-03-01", "2029-12-31"] {
                for query in queries(as_of(d)) {
                    prop_assert_eq!(
                        p.waiting_time_trend(&query, 30),
                        p.waiting_time_trend_by_scan(&query, 30),
                        "as of {} for {:?}", d, query
                    );
                }
            }
        }
    }
}

/// A month of a trend counts the waits that ended in it; open waits at its last day.
///
/// Team noord, signal → assessment (norm 42):
/// - A: signal 2026-01-05, assessed 2026-01-25 → 20 days, ended in January;
/// - B: signal 2026-01-10, assessed 2026-02-28 → 49 days, ended in February (over the norm);
/// - C: signal 2026-02-01, assessed 2026-03-03 → 30 days, ended in March;
/// - E: signal 2026-02-20, never assessed: open at the end of February (8 days) and March (39),
///   and over the norm at 2026-04-15 (54 days).
#[test]
fn a_trend_month_counts_the_waits_that_ended_in_it() {
    let mut w = World::new();
    w.signal(A, "2026-01-05", "noord");
    w.assess(A, "2026-01-25");
    w.signal(B, "2026-01-10", "noord");
    w.assess(B, "2026-02-28");
    w.signal(C, "2026-02-01", "noord");
    w.assess(C, "2026-03-03");
    w.signal(E, "2026-02-20", "noord");
    let p = w.build();
    let mut query = WaitQuery::new(as_of("2026-04-15"));
    query.measure = Some(crate::Measure::SignalToAssessment);
    let trend = p.waiting_time_trend(&query, 4);
    let months: Vec<String> = trend.months.iter().map(|m| m.key()).collect();
    assert_eq!(months, ["2026-01", "2026-02", "2026-03", "2026-04"]);
    assert_eq!(
        trend.months[3].to,
        day("2026-04-15"),
        "the last month ends at D"
    );
    let series = &trend.measures[0].overall;
    let closed: Vec<(usize, Option<i64>)> = series.iter().map(|s| (s.closed, s.median)).collect();
    assert_eq!(
        closed,
        [(1, Some(20)), (1, Some(49)), (1, Some(30)), (0, None)]
    );
    let within: Vec<Option<f64>> = series.iter().map(|s| s.within_norm).collect();
    assert_eq!(within, [Some(1.0), Some(0.0), Some(1.0), None]);
    // Open at each month's last day: January B (21 days); February C and E (B closed on the
    // 28th); March E (C closed on the 3rd); 15 April E, 54 days: over the norm.
    let open: Vec<(usize, usize)> = series.iter().map(|s| (s.open, s.open_breaches)).collect();
    assert_eq!(open, [(1, 0), (2, 0), (1, 0), (1, 1)]);
    assert_eq!(trend, p.waiting_time_trend_by_scan(&query, 4));
}

/// Closed cohorts of several periods, groupings and teams as of `as_of`.
fn cohort_queries(as_of: AsOf) -> Vec<crate::CohortQuery> {
    let mut list = Vec::new();
    for (from, to) in [
        ("2020-01-01", "2035-12-31"),
        ("2026-01-01", "2026-06-30"),
        ("2026-03-01", "2027-02-28"),
        ("2026-02-15", "2026-02-15"),
    ] {
        for group_by in [
            None,
            Some(crate::CohortGrouping::Team),
            Some(crate::CohortGrouping::Source),
        ] {
            for team in [None, Some("zuid"), Some("elders")] {
                list.push(crate::CohortQuery {
                    as_of,
                    cohort: crate::Cohort::Closed,
                    from: day(from),
                    to: day(to),
                    group_by,
                    team: team.map(super::support::team),
                });
            }
        }
    }
    list
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn closed_cohorts_from_the_aggregates_equal_the_scan(actions in actions()) {
        let log = generate(&actions);
        for p in [one_by_one(&log), batch(&log), bulk(&log), bulk_late(&log)] {
            let mut dates = dates(&log);
            // Around the recurrence base too: a year after each date.
            let later: Vec<NaiveDate> = dates.iter().map(|d| *d + Duration::days(365)).collect();
            dates.extend(later);
            for d in dates {
                for query in cohort_queries(AsOf::date(d)) {
                    let counted = p.normalisation_counted(&query);
                    prop_assert!(counted.is_some(), "the aggregates answer {:?}", query);
                    prop_assert_eq!(counted.as_ref(), Some(&p.normalisation_by_scan(&query)), "as of {} for {:?}", d, query);
                }
            }
        }
    }
}
