//! `jeugdpad seed --synthetic`: a synthetic municipality recorded into a store.
//!
//! Into a store without trajectories (the normal case; it may hold the store's own `admin` and
//! `access-log` streams) the cohort is bulk-loaded: a pipeline that holds a bounded number of
//! cases at any moment. Nothing else may write to the store meanwhile (the command line holds
//! its lock): the positions are assigned here, and an import that does not continue the log
//! exactly is refused whole by the store.
//!
//! ```text
//!  generator ──chunks of CHUNK cases──▶ deciding threads ──▶ this thread, in cohort order ──▶ store writer
//!  (synth, streamed)                    (domain decide/evolve)   imports of whole cases,       (import_batch:
//!                                                                 ~IMPORT_EVENTS events each,   group commit,
//!                                                                 IN_FLIGHT at a time           hash chain, flush)
//! ```
//!
//! Every case is still decided command by command through the domain, exactly as before; only
//! the way to the disk changed: instead of one append per case (a thousand small requests per
//! flush, each with its expected-version check), whole cases go to the store in
//! [`Store::import_batch`] calls of about [`IMPORT_EVENTS`] events with their positions
//! assigned here in cohort order. The writer checks them as it checks any import (next
//! position, next stream version, unused event id, `recorded_at` not going back), chains them
//! and flushes the waiting imports together. Positions are therefore deterministic too (same
//! scenario, seed and `today` → the same events at the same positions; only `recorded_at`
//! differs).
//!
//! The store's one writer thread is the bound: on a million trajectories nearly all CPU time is
//! there (sled's per-key inserts, and the per-event event-id and per-stream version lookups of
//! the import check), so deciding more cases in parallel would not help.
//!
//! A store that already holds trajectories (`allow_non_empty`) is seeded case by case through the
//! ordinary append with `ExpectedVersion::NoStream` instead, so that re-seeding the same seed is
//! an idempotent retry of the stored events rather than a refused import.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use jeugdpad_app::Context;
use jeugdpad_domain::{DateRule, TrajectoryId};
use jeugdpad_store::{
    AppendOutcome, EventStore, ExpectedVersion, ProposedEvent, RecordedEvent, Store, StoreError,
    MAX_EVENTS_PER_APPEND,
};
use jeugdpad_synth::{Cohort, Scenario, SyntheticCase};

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
    /// Add to a store that already holds trajectories (by default only a store without any is
    /// seeded; the store's own `admin` and `access-log` streams do not count). Seeding the same
    /// scenario, seed and `today` again is harmless: every append is then an idempotent retry
    /// of the stored one.
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

/// Cases a deciding thread takes from the generator at a time.
const CHUNK: usize = 256;
/// Chunks taken from the generator but not yet handed to the store, at most per deciding
/// thread: with [`IN_FLIGHT`] this bounds the cases in memory (a few thousand, whatever the
/// cohort's size).
const AHEAD_PER_THREAD: usize = 4;
/// Events per bulk import (whole cases; at most [`MAX_EVENTS_PER_APPEND`]). Measured on a
/// million trajectories: imports of 2,000 events, three in flight, were faster and used less
/// memory (sled's) than imports of 10,000 — the writer puts every waiting import into one sled
/// batch and flush, and sled's memory grows with the batch.
const IMPORT_EVENTS: usize = 2_000;
const _: () = assert!(IMPORT_EVENTS <= MAX_EVENTS_PER_APPEND);
/// Bulk imports submitted to the store's writer and not yet durable: enough for the writer to
/// find the next ones waiting when a flush ends.
const IN_FLIGHT: usize = 3;

/// Records `options.scenario.total()` synthetic trajectories into `store`, calling `progress`
/// with the number of trajectories just written (for a progress bar). **Blocking**; uses a few
/// threads of its own. Deterministic: the events (ids, dates, payloads) depend only on the
/// scenario, the seed and `today` — into an empty store their positions too; `recorded_at`
/// depends on timing. Memory stays bounded by a few thousand cases however many are seeded.
pub fn seed(
    store: &Store,
    options: &SeedOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SeedReport, Error> {
    let started = Instant::now();
    let before = store.head();
    // The store's own streams (`admin`: teams, users, tokens; `access-log`) do not make it
    // non-empty: only trajectories do.
    let holds_trajectories = holds_trajectories(store)?;
    if holds_trajectories && !options.allow_non_empty {
        return Err(Error::NotEmpty { events: before });
    }
    let cohort = jeugdpad_synth::generate(&options.scenario, options.seed, options.today)?;
    let (trajectories, events) = if holds_trajectories {
        case_by_case(store, options, cohort, progress)?
    } else {
        bulk(store, options, cohort, progress)?
    };
    Ok(SeedReport {
        trajectories,
        events,
        head: store.head(),
        elapsed: started.elapsed(),
    })
}

/// Whether any trajectory stream is in the store: the log is read until the first trajectory
/// event (at once in a store of trajectories; through the few `admin` and `access-log` events
/// of a store without any).
fn holds_trajectories(store: &Store) -> Result<bool, Error> {
    const PAGE: usize = 1_000;
    let mut from = 1;
    loop {
        let page = store.read_all(from, PAGE)?;
        if page
            .iter()
            .any(|event| TrajectoryId::from_stream_id(&event.stream_id).is_some())
        {
            return Ok(true);
        }
        match page.last() {
            Some(last) => from = last.position + 1,
            None => return Ok(false),
        }
    }
}

/// Threads that decide cases: the machine's cores (the writer thread and this one mostly wait
/// on the disk and on them), between 1 and 8.
fn deciding_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8))
}

/// One chunk of decided cases: each case's stream id and its encoded events.
type Decided = Vec<(String, Vec<ProposedEvent>)>;

/// The generator, shared by the deciding threads, with a window that keeps them at most a few
/// chunks ahead of what the store has been handed.
struct Source {
    state: Mutex<SourceState>,
    moved: Condvar,
    window: usize,
}

struct SourceState {
    cohort: Cohort,
    /// The index of the next chunk to hand out.
    next: usize,
    /// Chunks handed on to the store so far.
    consumed: usize,
    /// Set on an error: hand out nothing more.
    stopped: bool,
}

impl Source {
    /// The next chunk and its index; `None` when the cohort is exhausted or seeding stopped.
    /// Waits while the deciding threads are a full window ahead of the store.
    fn take(&self) -> Option<(usize, Vec<SyntheticCase>)> {
        let mut state = self.state.lock().ok()?;
        while !state.stopped && state.next >= state.consumed + self.window {
            state = self.moved.wait(state).ok()?;
        }
        if state.stopped {
            return None;
        }
        let cases: Vec<SyntheticCase> = state.cohort.by_ref().take(CHUNK).collect();
        if cases.is_empty() {
            return None;
        }
        let index = state.next;
        state.next += 1;
        Some((index, cases))
    }

    fn consumed_one(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.consumed += 1;
        }
        self.moved.notify_all();
    }

    fn stop(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.stopped = true;
        }
        self.moved.notify_all();
    }
}

/// The bulk load into an empty store (see the module docs). Returns (trajectories, events).
fn bulk(
    store: &Store,
    options: &SeedOptions,
    cohort: Cohort,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, u64), Error> {
    let threads = deciding_threads();
    let source = Source {
        state: Mutex::new(SourceState {
            cohort,
            next: 0,
            consumed: 0,
            stopped: false,
        }),
        moved: Condvar::new(),
        window: threads * AHEAD_PER_THREAD,
    };
    std::thread::scope(|scope| {
        let (decided_tx, decided_rx) = mpsc::channel::<(usize, Result<Decided, Error>)>();
        for _ in 0..threads {
            let decided_tx = decided_tx.clone();
            let source = &source;
            scope.spawn(move || {
                while let Some((index, cases)) = source.take() {
                    let decided = cases
                        .iter()
                        .map(|case| {
                            decide_case(case, options)
                                .map(|events| (case.trajectory.stream_id(), events))
                        })
                        .collect::<Result<Decided, Error>>();
                    let failed = decided.is_err();
                    if decided_tx.send((index, decided)).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(decided_tx);
        let result = load(store, options, &source, &decided_rx, progress);
        // On an error: no more chunks; threads waiting on the window or sending give up.
        source.stop();
        drop(decided_rx);
        result
    })
}

/// This thread's part of the bulk load: takes decided chunks in cohort order, packs whole cases
/// into imports of about [`IMPORT_EVENTS`] events with the next positions, and keeps
/// up to [`IN_FLIGHT`] imports in the store's hands.
fn load(
    store: &Store,
    options: &SeedOptions,
    source: &Source,
    decided: &mpsc::Receiver<(usize, Result<Decided, Error>)>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, u64), Error> {
    // The log continues where it stands (the store may hold `admin` and `access-log` events),
    // and `recorded_at` never goes back before its last event.
    let head = store.head();
    let last_recorded_at = store.read_all(head, 1)?.first().map(|e| e.recorded_at);
    let mut loader = Loader {
        store,
        recorded_by: options.recorded_by.as_str(),
        runtime: Batches::new()?,
        next_position: head + 1,
        last_recorded_at,
        batch: Vec::with_capacity(IMPORT_EVENTS),
        batch_cases: 0,
        in_flight: VecDeque::new(),
        trajectories: 0,
        events: 0,
        progress,
    };
    let mut waiting: BTreeMap<usize, Decided> = BTreeMap::new();
    let mut next = 0;
    for (index, chunk) in decided.iter() {
        waiting.insert(index, chunk?);
        while let Some(chunk) = waiting.remove(&next) {
            next += 1;
            source.consumed_one();
            for (stream_id, events) in chunk {
                loader.add_case(stream_id, events)?;
            }
        }
    }
    loader.submit()?;
    while loader.wait_oldest()? {}
    Ok((loader.trajectories, loader.events))
}

/// An import the store's writer has been handed; resolves once it is durable.
type PendingImport = Pin<Box<dyn Future<Output = Result<AppendOutcome, StoreError>> + Send>>;

/// Packs cases into imports and keeps a few of them in flight.
struct Loader<'a> {
    store: &'a Store,
    recorded_by: &'a str,
    runtime: Batches,
    /// The position the next event gets.
    next_position: u64,
    /// `recorded_at` of the last import, so it never decreases along the log.
    last_recorded_at: Option<DateTime<Utc>>,
    /// Events of whole cases waiting for the next import (`recorded_at` is set on submission).
    batch: Vec<RecordedEvent>,
    batch_cases: u64,
    /// Imports submitted, oldest first, with their number of cases.
    in_flight: VecDeque<(PendingImport, u64)>,
    /// Durable so far.
    trajectories: u64,
    events: u64,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl Loader<'_> {
    /// Adds one decided case; submits the batch first when the case would not fit in it. (A
    /// case longer than [`IMPORT_EVENTS`] goes alone; a synthetic case is tens of events.)
    fn add_case(&mut self, stream_id: String, events: Vec<ProposedEvent>) -> Result<(), Error> {
        if self.batch.len() + events.len() > IMPORT_EVENTS {
            self.submit()?;
        }
        for (version, new) in (1u64..).zip(events) {
            self.batch.push(RecordedEvent {
                position: self.next_position,
                stream_id: stream_id.clone(),
                version,
                event_id: new.event_id,
                event_type: new.event_type,
                schema_version: new.schema_version,
                occurred_on: new.occurred_on,
                recorded_at: DateTime::<Utc>::MIN_UTC, // set in `submit`
                recorded_by: self.recorded_by.to_owned(),
                correlation_id: None,
                causation_id: None,
                payload: new.payload,
            });
            self.next_position += 1;
        }
        self.batch_cases += 1;
        Ok(())
    }

    /// Hands the batch to the store's writer (it is submitted when this returns), after waiting
    /// for the oldest import when [`IN_FLIGHT`] are pending already.
    fn submit(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        while self.in_flight.len() >= IN_FLIGHT {
            self.wait_oldest()?;
        }
        // The store's clock reading for the whole import; never earlier than the last one.
        let now = Utc::now().max(self.last_recorded_at.unwrap_or(DateTime::<Utc>::MIN_UTC));
        self.last_recorded_at = Some(now);
        let mut events = std::mem::replace(&mut self.batch, Vec::with_capacity(IMPORT_EVENTS));
        for event in &mut events {
            event.recorded_at = now;
        }
        let cases = std::mem::take(&mut self.batch_cases);
        self.in_flight
            .push_back((Box::pin(self.store.import_batch(events)), cases));
        Ok(())
    }

    /// Waits until the oldest pending import is durable; `false` when none is pending.
    fn wait_oldest(&mut self) -> Result<bool, Error> {
        let Some((pending, cases)) = self.in_flight.pop_front() else {
            return Ok(false);
        };
        let outcome = self.runtime.block_on(pending)?;
        self.events += outcome.last_position + 1 - outcome.first_position;
        self.trajectories += cases;
        (self.progress)(cases);
        Ok(true)
    }
}

/// Seeding a store that already holds events: each case in one append with
/// `ExpectedVersion::NoStream`, a chunk of cases in flight per thread so the group commit fills
/// each flush (an idempotent retry when the same case is stored already).
fn case_by_case(
    store: &Store,
    options: &SeedOptions,
    cohort: Cohort,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, u64), Error> {
    let cohort = Mutex::new(cohort);
    let stop = AtomicBool::new(false);
    let workers = deciding_threads().max(2);
    std::thread::scope(|scope| {
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
    })
}

/// One thread of [`case_by_case`]: takes cases from the shared generator, decides them,
/// submits them.
fn worker(
    store: &Store,
    options: &SeedOptions,
    cohort: &Mutex<Cohort>,
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

/// Decides a whole case through the domain, command by command, and encodes its events
/// (the application layer's one way from commands to envelopes).
fn decide_case(case: &SyntheticCase, options: &SeedOptions) -> Result<Vec<ProposedEvent>, Error> {
    let context = Context {
        recorded_by: options.recorded_by.clone(),
        today: options.today,
        dates: DateRule::default(),
        correlation_id: None,
    };
    let steps = case
        .commands
        .iter()
        .map(|step| (&step.command, step.event_id));
    jeugdpad_app::decide_stream(steps, &context).map_err(|(index, why)| Error::SyntheticRefused {
        trajectory: case.trajectory.to_string(),
        index,
        why: why.to_string(),
    })
}
