//! The writer thread: group commit.
//!
//! One thread owns every write. It blocks for the first pending append, drains the others (up to
//! a bound), checks each in arrival order against the durable state plus the requests accepted
//! earlier in the same group, stages the accepted ones into one `sled::Batch`, applies it
//! atomically, flushes, and only then publishes the new head and answers every waiter.

use std::collections::HashMap;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::envelope;
use crate::keys;
use crate::sidecar::{ChainHead, SidecarWriter};
use crate::sled_store::Shared;
use crate::{
    AppendOutcome, ExpectedVersion, ProposedEvent, RecordedEvent, StoreError, MAX_EVENT_BYTES,
};

/// At most this many requests share one flush, so one group's latency stays bounded.
const MAX_GROUP_REQUESTS: usize = 1024;
/// At most this many events share one flush.
const MAX_GROUP_EVENTS: usize = 20_000;

pub(crate) type Reply = oneshot::Sender<Result<AppendOutcome, StoreError>>;

/// Work waiting for the writer: an ordinary append, or an import of events with their envelopes.
#[derive(Debug)]
pub(crate) enum Job {
    Append(Request),
    Import(Import),
}

impl Job {
    fn len(&self) -> usize {
        match self {
            Job::Append(request) => request.events.len(),
            Job::Import(import) => import.events.len(),
        }
    }

    /// Its answer channel and when it was handed to the writer.
    fn into_reply(self) -> (Reply, Instant) {
        match self {
            Job::Append(request) => (request.reply, request.submitted),
            Job::Import(import) => (import.reply, import.submitted),
        }
    }
}

/// An import waiting for the writer (see `SledStore::import_batch`).
#[derive(Debug)]
pub(crate) struct Import {
    pub(crate) events: Vec<RecordedEvent>,
    pub(crate) reply: Reply,
    /// When it was handed to the writer (for [`crate::WriterTimings::append`]).
    pub(crate) submitted: Instant,
}

/// One append waiting for the writer.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) stream_id: String,
    pub(crate) expected: ExpectedVersion,
    pub(crate) events: Vec<ProposedEvent>,
    pub(crate) reply: Reply,
    /// When it was handed to the writer (for [`crate::WriterTimings::append`]).
    pub(crate) submitted: Instant,
}

#[derive(Debug)]
pub(crate) struct Writer {
    shared: Arc<Shared>,
    requests: mpsc::Receiver<Job>,
    /// The durable chain head (position and hash of the last flushed event).
    head: ChainHead,
    /// `recorded_at` of the last flushed event; the next one is never earlier (imported events
    /// included, so an import keeps the log's `recorded_at` non-decreasing too).
    last_recorded_at: Option<DateTime<Utc>>,
    sidecar: SidecarWriter,
    /// sled's log file, for the `fdatasync` after each flush (see [`Writer::commit`]).
    db_file: std::fs::File,
    /// Set after a failed apply or flush: what is on disk is then unknown, so no further append
    /// is accepted until the store is reopened (which recovers what is durable).
    failed: Option<String>,
}

/// The state of one group while it is being checked and staged. Nothing here reaches the writer's
/// own state unless the group's flush succeeds.
struct Group {
    batch: sled::Batch,
    head: ChainHead,
    /// The group's clock reading: appended events get this, or the last staged `recorded_at`
    /// when an import staged a later one.
    now: DateTime<Utc>,
    /// `recorded_at` of the last event staged (or flushed, before the first).
    last_at: Option<DateTime<Utc>>,
    /// Stream versions as they will be once the group is durable.
    versions: HashMap<String, u64>,
    /// Events staged in this group, for idempotency checks by later requests of the same group.
    staged: Vec<RecordedEvent>,
    staged_ids: HashMap<Uuid, usize>,
}

impl Writer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        requests: mpsc::Receiver<Job>,
        head: ChainHead,
        last_recorded_at: Option<DateTime<Utc>>,
        sidecar: SidecarWriter,
        db_file: std::fs::File,
    ) -> Self {
        Writer {
            shared,
            requests,
            head,
            last_recorded_at,
            sidecar,
            db_file,
            failed: None,
        }
    }

    /// Runs until every sender is gone and the channel is drained (graceful shutdown: appends
    /// submitted before the close are still committed and answered).
    pub(crate) fn run(mut self) {
        while let Ok(first) = self.requests.recv() {
            let mut events = first.len();
            let mut group = vec![first];
            while group.len() < MAX_GROUP_REQUESTS && events < MAX_GROUP_EVENTS {
                match self.requests.try_recv() {
                    Ok(request) => {
                        events += request.len();
                        group.push(request);
                    }
                    Err(_) => break,
                }
            }
            self.commit(group);
        }
        tracing::debug!(head = self.head.position, "event store writer stopped");
    }

    fn commit(&mut self, requests: Vec<Job>) {
        if let Some(why) = &self.failed {
            for request in requests {
                let (reply, submitted) = request.into_reply();
                self.answer(reply, submitted, Err(StoreError::Storage(why.clone())));
            }
            return;
        }
        let mut group = Group {
            batch: sled::Batch::default(),
            head: self.head,
            now: Utc::now(),
            last_at: self.last_recorded_at,
            versions: HashMap::new(),
            staged: Vec::new(),
            staged_ids: HashMap::new(),
        };
        let mut answers = Vec::with_capacity(requests.len());
        for request in requests {
            let result = match &request {
                Job::Append(request) => self.check_and_stage(&mut group, request),
                Job::Import(import) => self.check_and_stage_import(&mut group, &import.events),
            };
            let (reply, submitted) = request.into_reply();
            answers.push((reply, submitted, result));
        }

        if !group.staged.is_empty() {
            let Group {
                mut batch,
                head,
                last_at: recorded_at,
                ..
            } = group;
            batch.insert(
                keys::HEAD,
                &keys::encode_head(head.position, &head.hash)[..],
            );
            if let Err(e) = self.write(batch) {
                let why = format!(
                    "writing positions {}..={} failed ({e}); the outcome of those appends is unknown and the store accepts no more appends until it is reopened",
                    self.head.position + 1,
                    head.position
                );
                tracing::error!(%why, "event store write failed");
                self.failed = Some(why.clone());
                for (reply, submitted, _) in answers {
                    self.answer(reply, submitted, Err(StoreError::Storage(why.clone())));
                }
                return;
            }
            self.head = head;
            self.last_recorded_at = recorded_at;
            if let Err(e) = self.sidecar.write(&head) {
                // The events are durable; only the detection of a future cut is weakened.
                tracing::error!(error = %e, "cannot update the chain-head sidecar");
            }
            self.shared
                .head
                .send_modify(|published| published.position = head.position);
        }
        for (reply, submitted, result) in answers {
            self.answer(reply, submitted, result);
        }
    }

    /// Applies one group's batch, flushes it and `fdatasync`s sled's log file, timing the
    /// flush and the sync. sled's flush makes the write survive a killed process, but on Linux
    /// it ends with `sync_file_range`, which neither syncs the file's metadata (the log file
    /// grows) nor flushes the drive's cache: for power loss we add a real `fdatasync`.
    fn write(&self, batch: sled::Batch) -> Result<(), String> {
        let timings = &self.shared.timings;
        self.shared
            .db
            .apply_batch(batch)
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        self.shared.db.flush().map_err(|e| e.to_string())?;
        let flushed = Instant::now();
        timings.flush.record(flushed - started);
        self.db_file
            .sync_data()
            .map_err(|e| format!("fdatasync: {e}"))?;
        timings.fsync.record(flushed.elapsed());
        Ok(())
    }

    /// Answers one append and records how long it took since it was handed over. A waiter
    /// that went away (dropped future) still had its append committed.
    fn answer(&self, reply: Reply, submitted: Instant, result: Result<AppendOutcome, StoreError>) {
        self.shared.timings.append.record(submitted.elapsed());
        let _ = reply.send(result);
    }

    /// Checks one request against the durable state plus the group so far and, if accepted,
    /// stages its events into the group.
    fn check_and_stage(
        &self,
        group: &mut Group,
        request: &Request,
    ) -> Result<AppendOutcome, StoreError> {
        if let Some(outcome) = self.idempotent_outcome(group, request)? {
            return Ok(outcome);
        }
        let stream_id = request.stream_id.as_str();
        let current = match group.versions.get(stream_id) {
            Some(version) => *version,
            None => self.durable_version(stream_id)?,
        };
        if !request.expected.admits(current) {
            return Err(StoreError::Conflict {
                stream_id: stream_id.to_owned(),
                expected: request.expected,
                actual: current,
            });
        }

        // Build everything first, so that an error leaves the group untouched.
        let recorded_at = group.last_at.map_or(group.now, |last| last.max(group.now));
        let mut head = group.head;
        let mut staged = Vec::with_capacity(request.events.len());
        let mut records = Vec::with_capacity(request.events.len());
        for (offset, new) in (1u64..).zip(&request.events) {
            let event = RecordedEvent {
                position: head.position + 1,
                stream_id: stream_id.to_owned(),
                version: current + offset,
                event_id: new.event_id,
                event_type: new.event_type.clone(),
                schema_version: new.schema_version,
                occurred_on: new.occurred_on,
                recorded_at,
                recorded_by: new.recorded_by.clone(),
                correlation_id: new.correlation_id,
                causation_id: new.causation_id,
                payload: new.payload.clone(),
            };
            let canonical = envelope::canonical_bytes(&event).map_err(StoreError::Storage)?;
            if canonical.len() > MAX_EVENT_BYTES {
                return Err(StoreError::InvalidAppend(format!(
                    "event {} is {} bytes stored; at most {MAX_EVENT_BYTES} are allowed",
                    new.event_id,
                    canonical.len()
                )));
            }
            let hash = envelope::chain(&head.hash, &canonical);
            head = ChainHead {
                position: event.position,
                hash,
            };
            records.push(envelope::record(&hash, &canonical));
            staged.push(event);
        }

        let outcome = AppendOutcome {
            first_position: group.head.position + 1,
            last_position: head.position,
            stream_version: current + request.events.len() as u64,
            already_stored: false,
        };
        group
            .versions
            .insert(stream_id.to_owned(), outcome.stream_version);
        stage(group, staged, records, head);
        Ok(outcome)
    }

    /// Checks an import against the durable state plus the group so far and, if every event
    /// fits exactly (next position, next stream version, unused id, `recorded_at` not before
    /// the event before it), stages it whole. Nothing is staged when one event does not fit.
    fn check_and_stage_import(
        &self,
        group: &mut Group,
        events: &[RecordedEvent],
    ) -> Result<AppendOutcome, StoreError> {
        let invalid = |what: String| Err(StoreError::InvalidAppend(what));
        let mut head = group.head;
        let mut last_at = group.last_at;
        let mut versions: HashMap<&str, u64> = HashMap::new();
        let mut ids = std::collections::HashSet::with_capacity(events.len());
        let mut records = Vec::with_capacity(events.len());
        for event in events {
            if event.position != head.position + 1 {
                return invalid(format!(
                    "imported event {} has position {}, but the next position is {}",
                    event.event_id,
                    event.position,
                    head.position + 1
                ));
            }
            let current = match versions.get(event.stream_id.as_str()) {
                Some(version) => *version,
                None => match group.versions.get(&event.stream_id) {
                    Some(version) => *version,
                    None => self.durable_version(&event.stream_id)?,
                },
            };
            if event.version != current + 1 {
                return Err(StoreError::Conflict {
                    stream_id: event.stream_id.clone(),
                    expected: ExpectedVersion::Exact(event.version.saturating_sub(1)),
                    actual: current,
                });
            }
            if !ids.insert(event.event_id) || self.find_event(group, event.event_id)?.is_some() {
                return Err(StoreError::EventIdReused {
                    event_id: event.event_id,
                    reason: "an import never stores an event id the store already holds".into(),
                });
            }
            if last_at.is_some_and(|last| event.recorded_at < last) {
                return invalid(format!(
                    "imported event {} was recorded at {}, before the event before it; \
                     recorded_at never decreases along the log",
                    event.event_id, event.recorded_at
                ));
            }
            let canonical = envelope::canonical_bytes(event).map_err(StoreError::Storage)?;
            if canonical.len() > MAX_EVENT_BYTES {
                return invalid(format!(
                    "event {} is {} bytes stored; at most {MAX_EVENT_BYTES} are allowed",
                    event.event_id,
                    canonical.len()
                ));
            }
            let hash = envelope::chain(&head.hash, &canonical);
            head = ChainHead {
                position: event.position,
                hash,
            };
            last_at = Some(event.recorded_at);
            versions.insert(&event.stream_id, event.version);
            records.push(envelope::record(&hash, &canonical));
        }
        let outcome = AppendOutcome {
            first_position: group.head.position + 1,
            last_position: head.position,
            stream_version: events.last().map_or(0, |event| event.version),
            already_stored: false,
        };
        for (stream_id, version) in versions {
            group.versions.insert(stream_id.to_owned(), version);
        }
        stage(group, events.to_vec(), records, head);
        Ok(outcome)
    }

    /// `Some(original outcome)` when the request is a retry of an append that is stored (or
    /// staged earlier in this group); `None` when none of its ids is known; `EventIdReused` for
    /// anything in between.
    fn idempotent_outcome(
        &self,
        group: &Group,
        request: &Request,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let mut found = Vec::new();
        for new in &request.events {
            if let Some(existing) = self.find_event(group, new.event_id)? {
                found.push((new, existing));
            }
        }
        let Some((first_new, first_existing)) = found.first() else {
            return Ok(None);
        };
        let reused =
            |event_id: Uuid, reason: String| StoreError::EventIdReused { event_id, reason };
        if found.len() < request.events.len() {
            return Err(reused(
                first_new.event_id,
                format!(
                    "{} of the append's {} event ids are already stored (this one at position {} in stream {:?}); a retry must repeat exactly the original append",
                    found.len(),
                    request.events.len(),
                    first_existing.position,
                    first_existing.stream_id
                ),
            ));
        }
        for (new, existing) in &found {
            if existing.stream_id != request.stream_id {
                return Err(reused(
                    new.event_id,
                    format!(
                        "it is stored in stream {:?} at position {}, not in {:?}",
                        existing.stream_id, existing.position, request.stream_id
                    ),
                ));
            }
            if let Some(field) = differing_field(existing, new) {
                return Err(reused(
                    new.event_id,
                    format!(
                        "the event stored at position {} has a different {field}",
                        existing.position
                    ),
                ));
            }
        }
        let positions = found.iter().map(|(_, e)| e.position);
        Ok(Some(AppendOutcome {
            first_position: positions.clone().min().unwrap_or(0),
            last_position: positions.max().unwrap_or(0),
            stream_version: found.iter().map(|(_, e)| e.version).max().unwrap_or(0),
            already_stored: true,
        }))
    }

    /// The stored or staged event with this id.
    fn find_event(
        &self,
        group: &Group,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        if let Some(index) = group.staged_ids.get(&event_id) {
            return Ok(group.staged.get(*index).cloned());
        }
        let db = &self.shared.db;
        let Some(position) = db
            .get(keys::event_id_key(event_id))
            .map_err(|e| StoreError::storage("reading the event-id index", e))?
        else {
            return Ok(None);
        };
        let corrupt = |what: String| StoreError::Corrupt {
            position: keys::be_u64(&position),
            what,
        };
        let position = keys::be_u64(&position)
            .ok_or_else(|| corrupt(format!("malformed event-id index entry for {event_id}")))?;
        let value = db
            .get(keys::log_key(position))
            .map_err(|e| StoreError::storage("reading the log", e))?
            .ok_or_else(|| corrupt(format!("event {event_id} is indexed but not in the log")))?;
        envelope::decode_record(position, &value)
            .map(Some)
            .map_err(corrupt)
    }

    /// The stream's durable version: the last key under its index prefix (one reverse scan).
    fn durable_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let last = self
            .shared
            .db
            .scan_prefix(keys::stream_prefix(stream_id))
            .keys()
            .next_back()
            .transpose()
            .map_err(|e| StoreError::storage("reading the stream index", e))?;
        match last {
            None => Ok(0),
            Some(key) => keys::version_of_stream_key(&key).ok_or_else(|| StoreError::Corrupt {
                position: None,
                what: format!("malformed stream index key for {stream_id:?}"),
            }),
        }
    }
}

/// Puts checked events into the group's batch (log record, stream index, event-id index) and
/// moves the group's head and clock past them.
fn stage(group: &mut Group, events: Vec<RecordedEvent>, records: Vec<Vec<u8>>, head: ChainHead) {
    for (event, record) in events.into_iter().zip(records) {
        let position = keys::encode_position(event.position);
        group
            .batch
            .insert(&keys::log_key(event.position)[..], record);
        group.batch.insert(
            keys::stream_key(&event.stream_id, event.version),
            &position[..],
        );
        group
            .batch
            .insert(&keys::event_id_key(event.event_id)[..], &position[..]);
        group.last_at = Some(event.recorded_at);
        group.staged_ids.insert(event.event_id, group.staged.len());
        group.staged.push(event);
    }
    group.head = head;
}

/// Which field of a stored event differs from a retried one, if any. Correlation and causation
/// ids are left out: a retried request may carry a new request id.
fn differing_field(stored: &RecordedEvent, new: &ProposedEvent) -> Option<&'static str> {
    if stored.event_type != new.event_type {
        Some("type")
    } else if stored.schema_version != new.schema_version {
        Some("schema version")
    } else if stored.occurred_on != new.occurred_on {
        Some("occurred_on")
    } else if stored.recorded_by != new.recorded_by {
        Some("recorded_by")
    } else if stored.payload != new.payload {
        Some("payload")
    } else {
        None
    }
}
