//! `jeugdpad import FILE.jsonl`: history migrated in, validated through the domain.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use chrono::{NaiveDate, Utc};
use jeugdpad_domain::{decide, Command, DateRule, Event, EventId, TrajectoryId};
use jeugdpad_store::{
    EventStore, ExpectedVersion, ProposedEvent, RecordedEvent, Store, MAX_EVENTS_PER_APPEND,
};

use crate::pipeline::Batches;
use crate::wire::EventLine;
use crate::Error;

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// "Today": no imported step may be dated after it (SPEC §3).
    pub today: NaiveDate,
    /// `recorded_by` for lines that carry none.
    pub operator: String,
    /// The bounds of a plausible date: [`DateRule::default`], or [`DateRule::historic`] for
    /// files that predate the Jeugdwet (`jeugdpad import --historic`).
    pub dates: DateRule,
}

/// A line that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line number in the file.
    pub line: usize,
    /// The line's stream, when it could be read.
    pub stream_id: Option<String>,
    /// Why, in a sentence.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// Non-blank lines read.
    pub lines: usize,
    /// Streams stored.
    pub streams_imported: usize,
    /// Events stored.
    pub events_imported: u64,
    /// Streams refused (none of their lines were stored).
    pub streams_rejected: usize,
    /// Every line not stored, in file order.
    pub rejections: Vec<Rejection>,
    /// `true` when the envelopes were stored as they are (`recorded_at`, `recorded_by`, and the
    /// positions in file order): an import into an empty store. The positions equal the file's
    /// when no stream was refused (a refused stream's positions are closed up). Otherwise the
    /// store gave new positions and `recorded_at` (event ids, versions, dates, payloads and
    /// `recorded_by` are always kept).
    pub envelopes_kept: bool,
}

struct Stream {
    id: String,
    trajectory: TrajectoryId,
    lines: Vec<(usize, EventLine)>,
    /// Set when the stream is refused: the first bad line and why.
    refused: Option<(usize, String)>,
    /// Its version in the store before the import.
    stored_version: u64,
}

/// Reads JSON Lines of [`EventLine`]s, replays every stream through the domain (each line must
/// be acceptable given the stream so far, exactly as if a consultant recorded it today), and
/// stores the streams that hold up — all-or-nothing per stream. **Blocking.**
///
/// Lines of one stream must be in version order, continuing the stream's version in the store
/// (1 for a new stream). Into an empty store the envelopes are kept as they are (see
/// [`ImportReport::envelopes_kept`]), so an export imported here has the same event hashes.
/// `progress` is called with the number of events stored.
pub fn import(
    store: &Store,
    input: impl BufRead,
    options: &ImportOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, Error> {
    let empty_store = store.head() == 0;
    let mut report = ImportReport::default();
    let mut streams: Vec<Stream> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut seen_ids = HashSet::new();
    let mut foreign_streams: HashSet<String> = HashSet::new();

    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| Error::io(std::path::Path::new("<import>"), e))?;
        if line.trim().is_empty() {
            continue;
        }
        report.lines += 1;
        let parsed: Result<EventLine, _> = serde_json::from_str(&line);
        let stream_id = match &parsed {
            Ok(event) => Some(event.stream_id.clone()),
            Err(_) => serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v.get("stream_id")?.as_str().map(str::to_owned)),
        };
        let Some(stream_id) = stream_id else {
            report.rejections.push(Rejection {
                line: number,
                stream_id: None,
                reason: match parsed {
                    Err(e) => format!("not an event envelope: {e}"),
                    Ok(_) => "not an event envelope".into(),
                },
            });
            continue;
        };
        let Some(trajectory) = TrajectoryId::from_stream_id(&stream_id) else {
            // Only trajectories are imported; the store's own streams (`admin`, `access-log`)
            // and anything else are refused line by line, never stored.
            foreign_streams.insert(stream_id.clone());
            report.rejections.push(Rejection {
                line: number,
                reason: format!(
                    "{stream_id:?} is not a trajectory stream (trajectory-<uuid>): only \
                     trajectories are imported"
                ),
                stream_id: Some(stream_id),
            });
            continue;
        };
        let at = *by_id.entry(stream_id.clone()).or_insert_with(|| {
            streams.push(Stream {
                id: stream_id.clone(),
                trajectory,
                lines: Vec::new(),
                refused: None,
                stored_version: 0,
            });
            streams.len() - 1
        });
        let stream = &mut streams[at];
        match parsed {
            Ok(event) if !seen_ids.insert(event.event_id) => {
                let why = format!(
                    "event id {} occurs more than once in the file",
                    event.event_id
                );
                stream.refused.get_or_insert((number, why));
            }
            Ok(event) => stream.lines.push((number, event)),
            Err(e) => {
                stream
                    .refused
                    .get_or_insert((number, format!("not an event envelope: {e}")));
            }
        }
    }

    report.streams_rejected = foreign_streams.len();
    for stream in &mut streams {
        if stream.refused.is_none() {
            stream.refused = check_stream(store, stream, options)?;
        }
    }

    let accepted: Vec<&Stream> = streams.iter().filter(|s| s.refused.is_none()).collect();
    for stream in streams.iter().filter(|s| s.refused.is_some()) {
        report.streams_rejected += 1;
        if let Some((bad, why)) = &stream.refused {
            let mut lines: Vec<usize> = stream.lines.iter().map(|(n, _)| *n).collect();
            lines.push(*bad);
            lines.sort_unstable();
            lines.dedup();
            for line in lines {
                report.rejections.push(Rejection {
                    line,
                    stream_id: Some(stream.id.clone()),
                    reason: if line == *bad {
                        why.clone()
                    } else {
                        format!("not imported: line {bad} of the same stream was refused (a stream is imported whole or not at all)")
                    },
                });
            }
        }
    }
    report.rejections.sort_by_key(|r| r.line);

    let now = Utc::now();
    let mut ordered: Vec<(&Stream, &(usize, EventLine))> = accepted
        .iter()
        .flat_map(|s| s.lines.iter().map(move |line| (*s, line)))
        .collect();
    ordered.sort_by_key(|(_, (number, line))| (line.position.unwrap_or(u64::MAX), *number));
    let recorded = |line: &EventLine| line.recorded_at.unwrap_or(now);
    let in_order = ordered
        .windows(2)
        .all(|w| recorded(&w[0].1 .1) <= recorded(&w[1].1 .1));

    if empty_store && in_order && !ordered.is_empty() {
        // Keep every envelope: positions 1.. in the file's order.
        let events: Vec<RecordedEvent> = ordered
            .iter()
            .zip(1u64..)
            .map(|((_, (_, line)), position)| RecordedEvent {
                position,
                stream_id: line.stream_id.clone(),
                version: line.version,
                event_id: line.event_id,
                event_type: line.event_type.clone(),
                schema_version: line.schema_version,
                occurred_on: line.occurred_on,
                recorded_at: recorded(line),
                recorded_by: line
                    .recorded_by
                    .clone()
                    .unwrap_or_else(|| options.operator.clone()),
                correlation_id: line.correlation_id,
                causation_id: line.causation_id,
                payload: line.payload.clone(),
            })
            .collect();
        for chunk in events.chunks(MAX_EVENTS_PER_APPEND) {
            store.import_batch_blocking(chunk.to_vec())?;
            progress(chunk.len() as u64);
        }
        report.envelopes_kept = true;
    } else {
        let batches = Batches::new()?;
        let mut appends = Vec::new();
        for stream in &accepted {
            for chunk in stream.lines.chunks(MAX_EVENTS_PER_APPEND) {
                let expected = chunk.first().map_or(0, |(_, l)| l.version - 1);
                let events = chunk
                    .iter()
                    .map(|(_, line)| ProposedEvent {
                        event_id: line.event_id,
                        event_type: line.event_type.clone(),
                        schema_version: line.schema_version,
                        occurred_on: line.occurred_on,
                        recorded_by: line
                            .recorded_by
                            .clone()
                            .unwrap_or_else(|| options.operator.clone()),
                        correlation_id: line.correlation_id,
                        causation_id: line.causation_id,
                        payload: line.payload.clone(),
                    })
                    .collect();
                let stream_id = stream.id.as_str();
                let count = chunk.len() as u64;
                appends.push(async move {
                    let outcome = store
                        .append(stream_id, ExpectedVersion::Exact(expected), events)
                        .await;
                    progress(count);
                    outcome
                });
                if appends.len() >= 512 {
                    batches.run(std::mem::take(&mut appends))?;
                }
            }
        }
        batches.run(appends)?;
    }
    report.streams_imported = accepted.len();
    report.events_imported = accepted.iter().map(|s| s.lines.len() as u64).sum();
    Ok(report)
}

/// Replays one stream's lines through the domain on top of what the store holds; the first line
/// that does not hold up, and why.
fn check_stream(
    store: &Store,
    stream: &mut Stream,
    options: &ImportOptions,
) -> Result<Option<(usize, String)>, Error> {
    let mut state = jeugdpad_app::load_blocking(store, stream.trajectory)?.trajectory;
    stream.stored_version = state.version();
    for (number, line) in &stream.lines {
        let refuse = |why: String| Ok(Some((*number, why)));
        if line.version != state.version() + 1 {
            return refuse(format!(
                "version {} does not follow the stream's version {}: a stream's lines must come in version order without gaps",
                line.version,
                state.version()
            ));
        }
        if line.recorded_by.as_deref().is_some_and(str::is_empty) {
            return refuse("recorded_by is empty".into());
        }
        let recorded_by = line.recorded_by.as_deref().unwrap_or(&options.operator);
        if jeugdpad_domain::contains_bsn(recorded_by) {
            return refuse(
                "recorded_by (or --operator) contains a number that could be a BSN; Jeugdpad never stores a BSN".into(),
            );
        }
        let event = match Event::decode(&line.event_type, line.schema_version, &line.payload) {
            Ok(event) => event,
            Err(e) => return refuse(e.to_string()),
        };
        let command = Command::from_event(line.occurred_on, &event);
        match decide(
            &state,
            &command,
            EventId::from_uuid(line.event_id),
            options.today,
            &options.dates,
        ) {
            Ok(decision) => state = decision.trajectory,
            Err(e) => return refuse(e.to_string()),
        }
    }
    Ok(None)
}
