//! One pseudonymised summary row per trajectory, as of a reference date `D` (SPEC §4).
//!
//! Every figure of a row comes from the read models' own per-trajectory derivation
//! ([`jeugdpad_projections::trajectory_figures_of`]: the domain's corrected history, the dated
//! digest, the waits and their closed/open/abandoned rule of the waiting-time report), so the
//! export and the API never disagree: there is one definition of every figure, in
//! `jeugdpad-projections`. This module only picks the row's columns from it.
//!
//! [`for_each_summary`] streams: it walks the log once in position order and, at each stream's
//! first event, has that one stream read and summarised (by a few threads, rows put back in
//! order), so it holds one page of the log and a bounded number of trajectories at a time —
//! never the whole cohort.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Mutex};

use jeugdpad_domain::{Trajectory, TrajectoryId};
use jeugdpad_projections::{trajectory_figures_of, AsOf, Norms, SummaryRow};
use jeugdpad_store::{EventStore, RecordedEvent, Store};

/// The summary of one trajectory as of `as_of.date`; `None` when it has no signal by then. The
/// figures are the projections' ([`trajectory_figures_of`]); a measure's column holds the
/// trajectory's **first** wait of that measure
/// ([`jeugdpad_projections::TrajectoryFigures::first`]).
///
/// `trajectory` must already be what was known at `as_of.known_on` (see [`summarise_stored`],
/// which folds only the events recorded by then); `known_on` is only written into the row.
pub fn summarise(id: TrajectoryId, trajectory: &Trajectory, as_of: AsOf) -> Option<SummaryRow> {
    // The norms only decide the listing's `norm_breach` flag, which the export does not carry.
    let figures = trajectory_figures_of(id, trajectory, as_of.date, &Norms::default())?;
    Some(SummaryRow::of(&figures, as_of))
}

/// The summary of one trajectory from its stored events (one stream, in version order) as of
/// `as_of`: with a knownOn instant `T` only the events recorded at or before `T` are folded —
/// facts and corrections recorded later are left out, so the row is the trajectory exactly as
/// the system knew it at `T` (the read models' knownOn rule). `None` when the trajectory has no
/// signal by `D` in that view (also when its signal was recorded after `T`).
pub fn summarise_stored(
    id: TrajectoryId,
    events: &[RecordedEvent],
    as_of: AsOf,
) -> Result<Option<SummaryRow>, crate::Error> {
    let known = events
        .iter()
        .filter(|event| as_of.known_on.is_none_or(|t| event.recorded_at <= t));
    let trajectory = jeugdpad_app::fold(known)?;
    Ok(summarise(id, &trajectory, as_of))
}

/// Trajectories being read and summarised at once, at most: bounds the memory of
/// [`for_each_summary`] (each is one stream's facts, then one row).
const IN_FLIGHT: usize = 256;

/// Hands the summary of every trajectory of the store as of `as_of` (reference date `D`, and
/// with a knownOn instant `T` as known then: see [`summarise_stored`]) to `each`, in the order
/// of the trajectories' first events in the log. **Blocking**; uses a few threads of its own. Streams
/// that are not `trajectory-…` are skipped. `progress` is called with the number of log events
/// read.
///
/// Memory is bounded by one page of the log plus [`IN_FLIGHT`] trajectories, whatever the
/// store's size: this thread reads the log once in position order and, at each stream's first
/// event (version 1), hands the stream to a reading thread, which reads that one stream whole
/// (up to the head at the start, so appends during the export are not half seen), folds it
/// through the domain, summarises it and drops it; the rows are put back in order here.
pub fn for_each_summary(
    store: &Store,
    as_of: AsOf,
    progress: &dyn Fn(u64),
    mut each: impl FnMut(SummaryRow) -> Result<(), crate::Error>,
) -> Result<(), crate::Error> {
    type Done = (u64, Result<Option<SummaryRow>, crate::Error>);
    let head = store.head();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let (jobs, queue) = mpsc::sync_channel::<(u64, TrajectoryId, String)>(IN_FLIGHT);
    let queue = Mutex::new(queue);
    let (done, finished) = mpsc::channel::<Done>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (queue, done) = (&queue, done.clone());
            scope.spawn(move || loop {
                let job = match queue.lock() {
                    Ok(queue) => queue.recv(),
                    Err(_) => return,
                };
                let Ok((sequence, id, stream_id)) = job else {
                    return; // no more streams
                };
                let summary = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    summarise_stream(store, head, id, &stream_id, as_of)
                }))
                .unwrap_or_else(|_| {
                    Err(crate::Error::Undecodable {
                        position: 0,
                        why: format!("summarising {stream_id} panicked"),
                    })
                });
                if done.send((sequence, summary)).is_err() {
                    return;
                }
            });
        }
        drop(done);
        // Rows that finished before the ones before them wait here (at most IN_FLIGHT + threads).
        let mut waiting: BTreeMap<u64, Option<SummaryRow>> = BTreeMap::new();
        let mut next = 0u64;
        let mut accept = |(sequence, summary): Done| -> Result<(), crate::Error> {
            waiting.insert(sequence, summary?);
            while let Some(summary) = waiting.remove(&next) {
                next += 1;
                if let Some(summary) = summary {
                    each(summary)?;
                }
            }
            Ok(())
        };
        let mut sequence = 0u64;
        let walked = crate::for_each_event(store, head, |event| {
            progress(1);
            if event.version != 1 {
                return Ok(()); // the stream is summarised from its first event
            }
            let Some(id) = TrajectoryId::from_stream_id(&event.stream_id) else {
                return Ok(()); // not a trajectory stream: nothing to summarise
            };
            jobs.send((sequence, id, event.stream_id))
                .map_err(|_| crate::Error::Undecodable {
                    position: event.position,
                    why: "the summarising threads stopped".into(),
                })?;
            sequence += 1;
            while let Ok(finished) = finished.try_recv() {
                accept(finished)?;
            }
            Ok(())
        });
        drop(jobs); // the threads end when the queue is empty
        walked?;
        for finished in finished.iter() {
            accept(finished)?;
        }
        Ok(())
    })
}

/// Reads one trajectory stream up to `head`, folds it through the domain (as known at
/// `as_of.known_on`) and summarises it.
fn summarise_stream(
    store: &Store,
    head: u64,
    id: TrajectoryId,
    stream_id: &str,
    as_of: AsOf,
) -> Result<Option<SummaryRow>, crate::Error> {
    let mut events = store.read_stream(stream_id)?;
    events.retain(|stored| stored.position <= head);
    summarise_stored(id, &events, as_of)
}

/// Every trajectory's summary as of `as_of`, collected ([`for_each_summary`] without the
/// streaming: holds every row, about 300 bytes each). **Blocking.**
pub fn summaries(
    store: &Store,
    as_of: AsOf,
    progress: &dyn Fn(u64),
) -> Result<Vec<SummaryRow>, crate::Error> {
    let mut rows = Vec::new();
    for_each_summary(store, as_of, progress, |summary| {
        rows.push(summary);
        Ok(())
    })?;
    Ok(rows)
}
