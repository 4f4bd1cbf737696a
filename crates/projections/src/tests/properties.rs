//! Property tests on generated valid histories (written through the domain's `decide`):
//!
//! - applying events one at a time gives the same answers as a batch rebuild;
//! - knownOn `T` gives the same answers as read models fed only the events recorded by `T`;
//! - as of `D` gives the same answers as read models fed only the effective history cut at `D`
//!   — the claim the dated digest rests on (see `dated.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jeugdpad_domain::{
    decide, AssessmentConclusion, CloseReason, Command, Correction, DateRule, EpisodeId, Event,
    EventId, HelpForm, HelpResult, PgbReviewCompleted, PgbReviewDecision, Reason, RecordedFact,
    Retraction, Source, Trajectory, TrajectoryId, UserId,
};
use proptest::prelude::*;
use uuid::Uuid;

use super::support::*;
use crate::{
    AsOf, Cohort, CohortGrouping, CohortQuery, ListingQuery, LoggedFact, NormalisationReport,
    OpenWait, OpenWaitsQuery, PgbQuery, Projections, WaitGrouping, WaitQuery, WaitReport,
};

const FORMS: [HelpForm; 4] = [
    HelpForm::ParentingSupport,
    HelpForm::YouthMentalHealth,
    HelpForm::FosterCare,
    HelpForm::BuurtgezinPrevention,
];
const TEAMS: [&str; 3] = ["noord", "zuid", "west"];

/// Every answer a test compares.
#[derive(Debug, PartialEq)]
pub(super) struct Answers {
    waits: Vec<WaitReport>,
    open: Vec<OpenWait>,
    cohorts: Vec<NormalisationReport>,
    pgb: (crate::PgbOverdueReport, Vec<crate::Irregularity>),
    listing: crate::ListingPage,
}

pub(super) fn answers(p: &Projections, as_of: AsOf) -> Answers {
    let waits = [
        None,
        Some(WaitGrouping::Team),
        Some(WaitGrouping::Form),
        Some(WaitGrouping::SignalMonth),
    ]
    .into_iter()
    .map(|group_by| {
        let mut q = WaitQuery::new(as_of);
        q.group_by = group_by;
        p.waiting_times(&q)
    })
    .collect();
    let cohorts = [Cohort::Closed, Cohort::Signalled]
        .into_iter()
        .map(|cohort| {
            p.normalisation(&CohortQuery {
                as_of,
                cohort,
                from: day("2026-01-01"),
                to: day("2027-12-31"),
                group_by: Some(CohortGrouping::Team),
                team: None,
            })
        })
        .collect();
    let pgb_query = PgbQuery { as_of, team: None };
    Answers {
        waits,
        open: p.open_waits(&OpenWaitsQuery::new(as_of)),
        cohorts,
        pgb: (p.pgb_overdue(&pgb_query), p.pgb_irregularities(&pgb_query)),
        listing: p.list(&ListingQuery::new(as_of, 1000)),
    }
}

/// One generated action: (kind, trajectory, day step, extra).
pub(super) type Action = (u8, u8, u8, u8);

/// Turns actions into a valid global log: each becomes a command, `decide` accepts or refuses
/// it, accepted facts are recorded with increasing positions and `recorded_at`.
pub(super) fn generate(actions: &[Action]) -> Vec<LoggedFact> {
    let today = day("2030-01-01");
    let start = day("2026-01-01");
    let mut states: HashMap<u8, (Trajectory, NaiveDate)> = HashMap::new();
    let mut log = Vec::new();
    let mut clock: DateTime<Utc> = instant("2026-01-01T08:00:00Z");
    let mut next_event = 1u128;
    for &(kind, which, step, extra) in actions {
        let which = which % 5;
        let (state, last) = states
            .entry(which)
            .or_insert_with(|| (Trajectory::default(), start));
        // Mostly forward, sometimes back-dated by a few days.
        let on = *last + Duration::days(i64::from(step % 24) - 4);
        let e = usize::from(extra);
        let command = command(kind, state, on, e);
        let event_id = EventId::from_uuid(Uuid::from_u128(next_event));
        let Ok(decision) = decide(state, &command, event_id, today, &DateRule::default()) else {
            continue;
        };
        *last = (*last).max(on);
        next_event += 1;
        *state = decision.trajectory;
        clock += Duration::minutes(i64::from(extra % 7) * 30 + 1);
        log.push(LoggedFact {
            position: log.len() as u64 + 1,
            trajectory: tid(u128::from(which)),
            recorded_at: clock,
            fact: decision.fact,
        });
    }
    log
}

fn command(kind: u8, state: &Trajectory, on: NaiveDate, e: usize) -> Command {
    let form = FORMS[e % FORMS.len()];
    let reason = || Reason::parse("generated").expect("a reason");
    let steps: Vec<EventId> = state
        .facts()
        .iter()
        .filter(|f| matches!(f.event, Event::Step(_)))
        .map(|f| f.event_id)
        .collect();
    match kind % 14 {
        0 => Command::OpenFromSignal {
            occurred_on: on,
            signal: signal(
                TEAMS[e % TEAMS.len()],
                Source::ALL[e % Source::ALL.len()],
                &format!("s{}", e % 3),
            ),
        },
        1 => Command::AssignConsultant {
            occurred_on: on,
            consultant: UserId::parse(format!("c{}", e % 3)).expect("id"),
        },
        2 => Command::TransferTeam {
            occurred_on: on,
            team: team(TEAMS[e % TEAMS.len()]),
        },
        3 => Command::CompleteAssessment {
            occurred_on: on,
            conclusion: AssessmentConclusion::LightHelp,
        },
        4 | 13 => Command::RequestHelp {
            occurred_on: on,
            form,
        },
        5 => Command::IssueDecision {
            occurred_on: on,
            // Mostly answer an open request, so decisions are not all refused.
            decision: decision(
                &on.to_string(),
                state.open_requests().nth(e % 2).map_or(form, |r| r.form),
                !e.is_multiple_of(3),
            ),
        },
        6 => Command::StartHelp {
            occurred_on: on,
            help: help(
                &format!("E{}", state.episodes().len()),
                // Often the form of a decided request, so decision → start waits close.
                match state.requests().iter().rev().find(|r| r.answer.is_some()) {
                    Some(r) if !e.is_multiple_of(3) => r.form,
                    _ => form,
                },
            ),
        },
        7 => Command::EndHelp {
            occurred_on: on,
            episode_id: state
                .open_episodes()
                .next()
                .map_or_else(|| EpisodeId::parse("none").expect("id"), |ep| ep.id.clone()),
            result: HelpResult::GoalsMet,
        },
        8 => Command::SchedulePgbReview {
            occurred_on: on,
            due_on: on + Duration::days((e % 40) as i64),
        },
        9 => Command::CompletePgbReview {
            occurred_on: on,
            review: PgbReviewCompleted {
                decision: PgbReviewDecision::Adjust,
                quality_concern: e.is_multiple_of(2),
                irregularity_suspected: e.is_multiple_of(3),
            },
        },
        // Closing ends a stream: only one in four attempts, so streams grow longer first.
        10 if !e.is_multiple_of(4) => Command::RequestHelp {
            occurred_on: on,
            form,
        },
        10 => Command::Close {
            occurred_on: on,
            reason: CloseReason::ALL[e % CloseReason::ALL.len()],
        },
        11 => Command::CorrectEvent {
            occurred_on: on,
            correction: Correction {
                corrects: steps
                    .get(e % steps.len().max(1))
                    .copied()
                    .unwrap_or(EventId::from_uuid(Uuid::nil())),
                occurred_on: Some(on - Duration::days((e % 30) as i64)),
                payload: None,
                reason: reason(),
            },
        },
        _ => Command::RetractEvent {
            occurred_on: on,
            retraction: Retraction {
                retracts: steps
                    .get(e % steps.len().max(1))
                    .copied()
                    .unwrap_or(EventId::from_uuid(Uuid::nil())),
                reason: reason(),
            },
        },
    }
}

pub(super) fn actions() -> impl Strategy<Value = Vec<Action>> {
    // Signals first (so most streams open), then anything.
    let opening = prop::collection::vec((0u8..10, any::<u8>()), 5).prop_map(|v| {
        (0u8..)
            .zip(v)
            .map(|(which, (step, extra))| (0u8, which, step, extra))
            .collect::<Vec<Action>>()
    });
    let rest = prop::collection::vec((any::<u8>(), 0u8..5, any::<u8>(), any::<u8>()), 10..90);
    (opening, rest).prop_map(|(mut a, b)| {
        a.extend(b);
        a
    })
}

pub(super) fn one_by_one(log: &[LoggedFact]) -> Projections {
    let mut p = Projections::new(crate::Norms::default());
    for r in log {
        p.apply(r.clone());
    }
    p
}

pub(super) fn batch(log: &[LoggedFact]) -> Projections {
    let mut p = Projections::new(crate::Norms::default());
    p.extend(log.iter().cloned());
    p
}

/// The start-up path: every fact stored first (in several batches), then all derived on three
/// threads with as little as one trajectory each, in slices of two with the aggregates filled on
/// a thread of their own, so the parallel paths run even on small logs.
pub(super) fn deferred_in_parallel(log: &[LoggedFact]) -> Projections {
    let mut p = Projections::new(crate::Norms::default());
    p.derive_slice = 2;
    for part in log.chunks(7) {
        p.extend_deferred(part.iter().cloned());
    }
    p.derive_pending_on(3, 1);
    p
}

/// The log as if only the effective history up to `d` had ever been recorded: each trajectory's
/// corrected facts dated `<= d`, as plain steps, in the original order of streams.
fn cut_at(log: &[LoggedFact], d: NaiveDate) -> Vec<LoggedFact> {
    let mut order: Vec<TrajectoryId> = Vec::new();
    let mut streams: HashMap<TrajectoryId, Vec<RecordedFact>> = HashMap::new();
    for r in log {
        if !streams.contains_key(&r.trajectory) {
            order.push(r.trajectory);
        }
        streams
            .entry(r.trajectory)
            .or_default()
            .push(r.fact.clone());
    }
    let mut cut = Vec::new();
    for id in order {
        let t = Trajectory::from_facts(streams.remove(&id).unwrap_or_default());
        for f in t.effective_history().iter().filter(|f| f.occurred_on <= d) {
            cut.push(LoggedFact {
                position: cut.len() as u64 + 1,
                trajectory: id,
                recorded_at: instant("2026-01-01T00:00:00Z"),
                fact: RecordedFact {
                    event_id: f.event_id,
                    version: f.version,
                    occurred_on: f.occurred_on,
                    event: Event::Step(f.step.clone()),
                },
            });
        }
    }
    cut
}

pub(super) const DATES: [&str; 4] = ["2026-01-20", "2026-03-15", "2026-06-30", "2028-01-01"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn incremental_equals_rebuild(actions in actions()) {
        let log = generate(&actions);
        check_valid(&log);
        let incremental = one_by_one(&log);
        let rebuilt = batch(&log);
        let parallel = deferred_in_parallel(&log);
        // Also a redelivered tail is ignored.
        let mut redelivered = one_by_one(&log);
        for r in log.iter().rev().take(3) {
            redelivered.apply(r.clone());
        }
        prop_assert_eq!(incremental.position(), log.len() as u64);
        for d in DATES {
            let a = answers(&incremental, as_of(d));
            prop_assert_eq!(&a, &answers(&rebuilt, as_of(d)));
            prop_assert_eq!(&a, &answers(&parallel, as_of(d)));
            prop_assert_eq!(&a, &answers(&redelivered, as_of(d)));
        }
        // Halfway: the incremental state then equals a rebuild of the first half.
        let half = &log[..log.len() / 2];
        let mut partial = Projections::new(crate::Norms::default());
        for r in half {
            partial.apply(r.clone());
        }
        prop_assert_eq!(answers(&partial, as_of("2028-01-01")), answers(&batch(half), as_of("2028-01-01")));
    }

    #[test]
    fn known_on_equals_the_log_recorded_by_then(actions in actions()) {
        let log = generate(&actions);
        let p = batch(&log);
        for k in [0, log.len() / 3, log.len() / 2, log.len().saturating_sub(1)] {
            let Some(r) = log.get(k) else { continue };
            let t = r.recorded_at;
            let then = batch(&log[..=k]);
            for d in DATES {
                let known = answers(&p, AsOf::known_on(day(d), t));
                let mut expected = answers(&then, as_of(d));
                // Reports state the knownOn they applied; the log-prefix ones did not get one.
                for w in &mut expected.waits { w.known_on = Some(t); }
                for c in &mut expected.cohorts { c.known_on = Some(t); }
                expected.pgb.0.known_on = Some(t);
                prop_assert_eq!(known, expected);
            }
        }
    }

    #[test]
    fn as_of_equals_the_history_cut_at_d(actions in actions()) {
        let log = generate(&actions);
        let p = batch(&log);
        for d in DATES {
            let cut = batch(&cut_at(&log, day(d)));
            prop_assert_eq!(answers(&p, as_of(d)), answers(&cut, as_of(d)));
        }
    }

    #[test]
    fn the_team_index_finds_every_trajectory_of_the_team(actions in actions()) {
        let log = generate(&actions);
        let p = batch(&log);
        let teams: Vec<_> = p.by_team.keys().cloned().collect();
        prop_assert!(!teams.is_empty() || p.trajectory_count() == 0);
        let instants: Vec<_> = [0, log.len() / 2, log.len().saturating_sub(1)]
            .into_iter()
            .filter_map(|k| log.get(k).map(|r| Some(r.recorded_at)))
            .chain([None])
            .collect();
        for d in DATES {
            for known_on in &instants {
                let as_of = AsOf { date: day(d), known_on: *known_on };
                for team in &teams {
                    let of_team = |views: &mut dyn Iterator<Item = crate::View<'_>>| {
                        views
                            .filter(|v| v.dated.team_at(as_of.date) == team)
                            .map(|v| v.id)
                            .collect::<Vec<_>>()
                    };
                    let all = of_team(&mut p.views(as_of));
                    let indexed = of_team(&mut p.views_for(Some(team), as_of));
                    prop_assert_eq!(all, indexed);
                }
            }
        }
    }
}

/// What the waiting-time report says of one measure, worked out from per-trajectory waits.
fn stats_of(waits: &[crate::TrajectoryWait], norm: Option<i64>) -> crate::WaitStats {
    use crate::WaitStatus;
    let mut closed: Vec<i64> = waits
        .iter()
        .filter(|w| w.status == WaitStatus::Closed)
        .filter_map(|w| w.days)
        .collect();
    closed.sort_unstable();
    let open: Vec<i64> = waits
        .iter()
        .filter(|w| w.status == WaitStatus::Open)
        .filter_map(|w| w.days)
        .collect();
    let within = norm.map(|n| closed.iter().filter(|&&len| len <= n).count());
    crate::WaitStats {
        closed: closed.len(),
        open: open.len(),
        abandoned: waits
            .iter()
            .filter(|w| w.status == WaitStatus::Abandoned)
            .count(),
        mean: crate::mean(&closed),
        median: crate::nearest_rank(&closed, 50),
        p90: crate::nearest_rank(&closed, 90),
        max: closed.last().copied(),
        within_norm: within
            .and_then(|w| (!closed.is_empty()).then(|| w as f64 / closed.len() as f64)),
        open_breaches: open
            .iter()
            .filter(|&&len| norm.is_some_and(|n| len > n))
            .count(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// One trajectory's figures from its own facts are the read model's: the same summary, and
    /// waits that add up to the waiting-time report and the open-waits list exactly.
    #[test]
    fn one_trajectorys_figures_are_the_read_models(actions in actions()) {
        let log = generate(&actions);
        let p = batch(&log);
        let norms = crate::Norms::default();
        let mut streams: HashMap<TrajectoryId, Vec<RecordedFact>> = HashMap::new();
        for r in &log {
            streams.entry(r.trajectory).or_default().push(r.fact.clone());
        }
        for d in DATES {
            let mut all = Vec::new();
            for (id, facts) in &streams {
                let figures = crate::trajectory_figures(*id, facts.iter().cloned(), day(d), &norms);
                let summary = p.summary(*id, as_of(d));
                prop_assert_eq!(figures.as_ref().map(|f| &f.summary), summary.as_ref());
                all.extend(figures.into_iter().flat_map(|f| f.waits).map(|w| (*id, w)));
            }
            let report = p.waiting_times(&WaitQuery::new(as_of(d)));
            for measure in &report.measures {
                let of_measure: Vec<_> = all
                    .iter()
                    .filter(|(_, w)| w.measure == measure.measure)
                    .map(|(_, w)| *w)
                    .collect();
                prop_assert_eq!(&stats_of(&of_measure, measure.norm_days), &measure.overall);
            }
            let mut open: Vec<_> = all
                .iter()
                .filter(|(_, w)| w.status == crate::WaitStatus::Open)
                .map(|(id, w)| (*id, w.measure, w.form, w.started_on, w.days))
                .collect();
            let mut listed: Vec<_> = p
                .open_waits(&OpenWaitsQuery::new(as_of(d)))
                .into_iter()
                .map(|o| (o.trajectory, o.measure, o.form, o.started_on, Some(o.days_waited)))
                .collect();
            open.sort();
            listed.sort();
            prop_assert_eq!(open, listed);
        }
    }
}
