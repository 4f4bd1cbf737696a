//! Read models that do not keep raw facts: they read a trajectory's facts from a source (in the
//! server: the store) for the timeline, knownOn views and re-derivations, and answer exactly as
//! read models that keep every fact. A source that fails leaves the trajectory pending and is
//! counted, never answered from stale facts as if they were current.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use jeugdpad_domain::TrajectoryId;
use proptest::prelude::*;

use super::properties::{actions, answers, batch, generate, one_by_one, DATES};
use super::support::*;
use crate::{AsOf, FactSource, LoggedFact, Projections};

/// A store in miniature: the facts appended so far, per trajectory.
#[derive(Debug, Default)]
struct Streams {
    streams: Mutex<HashMap<TrajectoryId, Vec<LoggedFact>>>,
    broken: AtomicBool,
}

impl Streams {
    fn append(&self, fact: &LoggedFact) {
        if let Ok(mut streams) = self.streams.lock() {
            streams
                .entry(fact.trajectory)
                .or_default()
                .push(fact.clone());
        }
    }
}

impl FactSource for Streams {
    fn facts(&self, trajectory: TrajectoryId) -> Result<Vec<LoggedFact>, String> {
        if self.broken.load(Ordering::Relaxed) {
            return Err("the disk is gone".into());
        }
        let streams = self.streams.lock().map_err(|_| "poisoned".to_owned())?;
        Ok(streams.get(&trajectory).cloned().unwrap_or_default())
    }
}

/// Applied event by event, each appended to the source first (as the store is written before
/// the projector hears of it).
fn from_source(log: &[LoggedFact]) -> (Projections, Arc<Streams>) {
    let source = Arc::new(Streams::default());
    let mut p = Projections::with_source(crate::Norms::default(), source.clone());
    for fact in log {
        source.append(fact);
        p.apply(fact.clone());
    }
    (p, source)
}

/// The start-up path: the whole log fed in bulk, then derived; facts dropped afterwards.
fn rebuilt_from_source(log: &[LoggedFact]) -> Projections {
    let source = Arc::new(Streams::default());
    for fact in log {
        source.append(fact);
    }
    let mut p = Projections::with_source(crate::Norms::default(), source);
    p.extend_deferred(log.iter().cloned());
    p.derive_pending();
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn read_models_from_a_source_answer_as_those_that_keep_every_fact(actions in actions()) {
        let log = generate(&actions);
        let kept = batch(&log);
        let (live, _) = from_source(&log);
        let rebuilt = rebuilt_from_source(&log);
        let instants: Vec<Option<chrono::DateTime<chrono::Utc>>> =
            [0, log.len() / 2, log.len().saturating_sub(1)]
                .into_iter()
                .filter_map(|k| log.get(k).map(|r| Some(r.recorded_at)))
                .chain([None])
                .collect();
        for d in DATES {
            for known_on in &instants {
                let as_of = AsOf { date: day(d), known_on: *known_on };
                let expected = answers(&kept, as_of);
                prop_assert_eq!(&answers(&live, as_of), &expected);
                prop_assert_eq!(&answers(&rebuilt, as_of), &expected);
                for id in (0..5).map(tid) {
                    prop_assert_eq!(
                        live.timeline(id, Some(as_of.date), as_of.known_on),
                        kept.timeline(id, Some(as_of.date), as_of.known_on)
                    );
                }
            }
        }
        prop_assert_eq!(live.source_failures(), 0);
        prop_assert!(live.trajectories.iter().all(|t| t.facts.is_empty()), "facts are dropped once derived");
        // And the in-memory read models agree with themselves built event by event.
        prop_assert_eq!(answers(&one_by_one(&log), as_of("2028-01-01")), answers(&kept, as_of("2028-01-01")));
    }
}

/// A source that cannot be read: the new event's trajectory stays pending and the failure is
/// counted (the server's projector then does not report the event applied, so no answer claims
/// it), and once the source is back the next derivation catches up.
#[test]
fn a_failing_source_leaves_the_trajectory_pending_until_it_can_be_read() {
    let mut w = World::new();
    w.signal(A, "2026-01-05", "noord");
    w.assess(A, "2026-01-20");
    let log = w.log.clone();
    let (mut p, source) = from_source(&log[..1]);
    assert_eq!(
        p.summary(A, as_of("2026-02-01")).map(|s| s.phase),
        Some(jeugdpad_domain::Phase::Signalled)
    );
    source.append(&log[1]);
    source.broken.store(true, Ordering::Relaxed);
    p.apply(log[1].clone());
    assert_eq!(p.source_failures(), 1);
    assert_eq!(p.pending_count(), 1);
    assert_eq!(
        p.timeline(A, None, None),
        None,
        "no timeline from facts that cannot be read"
    );
    source.broken.store(false, Ordering::Relaxed);
    p.derive_pending();
    assert_eq!(p.pending_count(), 0);
    assert_eq!(
        p.summary(A, as_of("2026-02-01")).map(|s| s.phase),
        Some(jeugdpad_domain::Phase::Assessed)
    );
}
