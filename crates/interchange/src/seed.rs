//! `jeugdpad seed --synthetic`: a synthetic municipality recorded into a store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use jeugdpad_domain::{decide, evolve, RecordedFact, Trajectory};
use jeugdpad_store::{EventStore, ExpectedVersion, NewEvent, SledStore, StoreError};
use jeugdpad_synth::{Scenario, SyntheticCase};

use crate::pipeline::Batches;
use crate::Error;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// The municipality ([`Scenario::default`] is Purmerend-sized).
    pub scenario: Scenario,
    /// The generator's seed: same scenario, seed and `today` → the same events, ids included.
    pub seed: u64,
    /// "Today" for the generator and the domain: nothing is dated after it.
    pub today: NaiveDate,
    /// Stored as `recorded_by` on every event.
    pub recorded_by: String,
    /// Add to a store that already holds events (by default only an empty one is seeded).
    /// Seeding the same scenario, seed and `today` again is harmless: every append is then an
    /// idempotent retry of the stored one.
    pub allow_non_empty: bool,
}

/// What was seeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    /// Trajectories (streams) written.
    pub trajectories: u64,
    /// Events written.
    pub events: u64,
    /// The store's head afterwards.
    pub head: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Cases a worker takes from the generator at a time: their appends are in flight together.
const CHUNK: usize = 256;

/// Records `options.scenario.total()` synthetic trajectories into `store`, calling `progress`
/// with the number of trajectories just written (for a progress bar). **Blocking**; uses a few
/// threads of its own. Deterministic: the events (ids, dates, payloads) depend only on the
/// scenario, the seed and `today`; positions and `recorded_at` depend on timing.
pub fn seed(
    store: &SledStore,
    options: &SeedOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SeedReport, Error> {
    let started = Instant::now();
    let before = store.head();
    if before > 0 && !options.allow_non_empty {
        return Err(Error::NotEmpty { events: before });
    }
    let cohort = Mutex::new(jeugdpad_synth::generate(
        &options.scenario,
        options.seed,
        options.today,
    )?);
    let stop = AtomicBool::new(false);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let totals = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| worker(store, options, &cohort, &stop, progress)))
            .collect();
        let mut totals = (0u64, 0u64);
        let mut first_error = None;
        for handle in handles {
            match handle.join() {
                Ok(Ok((trajectories, events))) => {
                    totals.0 += trajectories;
                    totals.1 += events;
                }
                Ok(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                Err(_) => {
                    first_error.get_or_insert(Error::Store(StoreError::Storage(
                        "a seeding thread panicked".into(),
                    )));
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(totals),
        }
    })?;
    Ok(SeedReport {
        trajectories: totals.0,
        events: totals.1,
        head: store.head(),
        elapsed: started.elapsed(),
    })
}

/// One seeding thread: takes cases from the shared generator, decides them, submits them.
fn worker(
    store: &SledStore,
    options: &SeedOptions,
    cohort: &Mutex<jeugdpad_synth::Cohort>,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, u64), Error> {
    let batches = Batches::new()?;
    let (mut trajectories, mut events) = (0u64, 0u64);
    let result = (|| {
        while !stop.load(Ordering::Relaxed) {
            let cases: Vec<SyntheticCase> = match cohort.lock() {
                Ok(mut cohort) => cohort.by_ref().take(CHUNK).collect(),
                Err(_) => {
                    return Err(StoreError::Storage("the generator lock is poisoned".into()).into())
                }
            };
            if cases.is_empty() {
                break;
            }
            let count = cases.len() as u64;
            let mut appends = Vec::with_capacity(cases.len());
            for case in cases {
                let new_events = decide_case(&case, options)?;
                events += new_events.len() as u64;
                let stream_id = case.trajectory.stream_id();
                appends.push(async move {
                    store
                        .append(&stream_id, ExpectedVersion::NoStream, new_events)
                        .await
                });
            }
            batches.run(appends)?;
            trajectories += count;
            progress(count);
        }
        Ok((trajectories, events))
    })();
    if result.is_err() {
        stop.store(true, Ordering::Relaxed);
    }
    result
}

/// Decides a whole case through the domain, command by command, and encodes its events.
fn decide_case(case: &SyntheticCase, options: &SeedOptions) -> Result<Vec<NewEvent>, Error> {
    let mut state = Trajectory::default();
    let mut encoded = Vec::with_capacity(case.commands.len());
    for (index, command) in case.commands.iter().enumerate() {
        let refused = |why: String| Error::SyntheticRefused {
            trajectory: case.trajectory.to_string(),
            index,
            why,
        };
        let decided =
            decide(&state, &command.command, options.today).map_err(|e| refused(e.to_string()))?;
        let [new] = <[_; 1]>::try_from(decided)
            .map_err(|_| refused("a synthetic command must produce exactly one event".into()))?;
        let fact = RecordedFact {
            event_id: command.event_id,
            version: state.version() + 1,
            occurred_on: new.occurred_on,
            event: new.event,
        };
        let stored = fact.event.encode();
        encoded.push(NewEvent {
            event_id: command.event_id.as_uuid(),
            event_type: stored.event_type.to_owned(),
            schema_version: stored.schema_version,
            occurred_on: fact.occurred_on,
            recorded_by: options.recorded_by.clone(),
            correlation_id: None,
            causation_id: None,
            payload: stored.payload,
        });
        state = evolve(state, &fact);
    }
    Ok(encoded)
}
