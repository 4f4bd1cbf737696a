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

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use jeugdpad_domain::{Trajectory, TrajectoryId};
use jeugdpad_projections::{trajectory_figures_of, AsOf, Measure, Norms, TrajectoryWait};
use jeugdpad_store::{EventStore, RecordedEvent, SledStore};
use serde::Serialize;

use crate::columns::Cell;

/// Where a wait stands at `D` (SPEC §4): the read models' own status.
pub use jeugdpad_projections::WaitStatus;

/// The first wait of one measure: its status and length in days (`None` when abandoned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitFigure {
    /// Closed, open or abandoned.
    pub status: WaitStatus,
    /// Days: closed length or days so far; `None` when abandoned.
    pub days: Option<i64>,
}

impl From<&TrajectoryWait> for WaitFigure {
    fn from(wait: &TrajectoryWait) -> Self {
        WaitFigure {
            status: wait.status,
            days: wait.days,
        }
    }
}

/// Samenvatting for analysts: one trajectory as of `D`, without free text and without staff.
/// The columns are documented in `docs/export-columns.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub trajectory_id: TrajectoryId,
    pub subject_key: String,
    pub team: String,
    pub source: &'static str,
    pub ijw_verwijzer: &'static str,
    pub urgency: String,
    pub birth_year: Option<i32>,
    pub signal_on: NaiveDate,
    pub signal_month: String,
    pub phase: String,
    pub highest_level: u8,
    pub cbs_category: Option<&'static str>,
    pub escalations: usize,
    pub step_downs: usize,
    pub buurtgezin_prevention: bool,
    pub pathway_days: i64,
    pub closed_on: Option<NaiveDate>,
    pub close_reason: Option<String>,
    pub signal_to_assessment: Option<WaitFigure>,
    pub request_to_decision: Option<WaitFigure>,
    pub decision_to_start: Option<WaitFigure>,
    pub signal_to_first_help: Option<WaitFigure>,
    pub as_of: NaiveDate,
    /// The knownOn instant `T` the row was made for (`None`: everything known now).
    pub known_on: Option<DateTime<Utc>>,
    /// The signal's concern codes, as corrected.
    pub concerns: Vec<&'static str>,
    /// The first assessment's conclusion code, when one was completed by `D`.
    pub assessment_conclusion: Option<&'static str>,
    /// The form codes of the help episodes started by `D`, in start order.
    pub help_forms: Vec<&'static str>,
}

/// The summary of one trajectory as of `as_of.date`; `None` when it has no signal by then. The
/// figures are the projections' ([`trajectory_figures_of`]); a measure's column holds the
/// trajectory's **first** wait of that measure
/// ([`jeugdpad_projections::TrajectoryFigures::first`]).
///
/// `trajectory` must already be what was known at `as_of.known_on` (see [`summarise_stored`],
/// which folds only the events recorded by then); `known_on` is only written into the row.
pub fn summarise(id: TrajectoryId, trajectory: &Trajectory, as_of: AsOf) -> Option<Summary> {
    let d = as_of.date;
    // The norms only decide the listing's `norm_breach` flag, which the export does not carry.
    let figures = trajectory_figures_of(id, trajectory, d, &Norms::default())?;
    let summary = &figures.summary;
    let first = |measure| figures.first(measure).map(WaitFigure::from);
    Some(Summary {
        trajectory_id: id,
        subject_key: summary.subject_key.as_str().to_owned(),
        team: summary.team.as_str().to_owned(),
        source: summary.source.code(),
        ijw_verwijzer: summary.source.ijw_verwijzer(),
        urgency: summary.urgency.to_string(),
        birth_year: figures.birth_year,
        signal_on: summary.signal_on,
        signal_month: format!(
            "{:04}-{:02}",
            summary.signal_on.year(),
            summary.signal_on.month()
        ),
        phase: summary.phase.to_string(),
        highest_level: summary.highest_level as u8,
        cbs_category: summary.highest_level.cbs_category().map(|c| match c {
            jeugdpad_domain::CbsCategory::WithoutStay => "without_stay",
            jeugdpad_domain::CbsCategory::WithStay => "with_stay",
        }),
        escalations: summary.escalations,
        step_downs: summary.step_downs,
        buurtgezin_prevention: figures.buurtgezin_prevention,
        pathway_days: summary.pathway_days,
        closed_on: summary.closed_on,
        close_reason: summary.close_reason.map(|reason| reason.to_string()),
        signal_to_assessment: first(Measure::SignalToAssessment),
        request_to_decision: first(Measure::RequestToDecision),
        decision_to_start: first(Measure::DecisionToStart),
        signal_to_first_help: first(Measure::SignalToFirstHelp),
        as_of: d,
        known_on: as_of.known_on,
        concerns: figures.concerns.iter().map(|c| c.code()).collect(),
        assessment_conclusion: figures.assessment_conclusion.map(|c| c.code()),
        help_forms: figures.help_forms.iter().map(|f| f.code()).collect(),
    })
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
) -> Result<Option<Summary>, crate::Error> {
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
    store: &SledStore,
    as_of: AsOf,
    progress: &dyn Fn(u64),
    mut each: impl FnMut(Summary) -> Result<(), crate::Error>,
) -> Result<(), crate::Error> {
    type Done = (u64, Result<Option<Summary>, crate::Error>);
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
        let mut waiting: BTreeMap<u64, Option<Summary>> = BTreeMap::new();
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
    store: &SledStore,
    head: u64,
    id: TrajectoryId,
    stream_id: &str,
    as_of: AsOf,
) -> Result<Option<Summary>, crate::Error> {
    let mut events = store.read_stream(stream_id)?;
    events.retain(|stored| stored.position <= head);
    summarise_stored(id, &events, as_of)
}

/// Every trajectory's summary as of `as_of`, collected ([`for_each_summary`] without the
/// streaming: holds every row, about 300 bytes each). **Blocking.**
pub fn summaries(
    store: &SledStore,
    as_of: AsOf,
    progress: &dyn Fn(u64),
) -> Result<Vec<Summary>, crate::Error> {
    let mut rows = Vec::new();
    for_each_summary(store, as_of, progress, |summary| {
        rows.push(summary);
        Ok(())
    })?;
    Ok(rows)
}

impl Summary {
    pub(crate) fn cells(&self) -> Vec<Cell> {
        let text = |v: &str| Cell::Text(Some(v.to_owned()));
        let int = |v: i64| Cell::Int(Some(v));
        let mut cells = vec![
            text(&self.trajectory_id.to_string()),
            text(&self.subject_key),
            text(&self.team),
            text(self.source),
            text(self.ijw_verwijzer),
            text(&self.urgency),
            Cell::Int(self.birth_year.map(i64::from)),
            Cell::Date(Some(self.signal_on)),
            text(&self.signal_month),
            text(&self.phase),
            int(i64::from(self.highest_level)),
            Cell::Text(self.cbs_category.map(str::to_owned)),
            int(self.escalations as i64),
            int(self.step_downs as i64),
            Cell::Bool(Some(self.buurtgezin_prevention)),
            int(self.pathway_days),
            Cell::Date(self.closed_on),
            Cell::Text(self.close_reason.clone()),
        ];
        for wait in [
            self.signal_to_assessment,
            self.request_to_decision,
            self.decision_to_start,
            self.signal_to_first_help,
        ] {
            cells.push(Cell::Int(wait.and_then(|w| w.days)));
            cells.push(Cell::Text(wait.map(|w| w.status.code().to_owned())));
        }
        cells.push(Cell::Date(Some(self.as_of)));
        cells.push(Cell::Timestamp(self.known_on));
        let list = |codes: &[&str]| Cell::TextList(codes.iter().map(|&c| c.to_owned()).collect());
        cells.push(list(&self.concerns));
        cells.push(Cell::Text(self.assessment_conclusion.map(str::to_owned)));
        cells.push(list(&self.help_forms));
        cells
    }
}
