//! The writer thread: group commit.
//!
//! One thread owns every write. It blocks for the first pending append, drains the others (up to
//! a bound), checks each in arrival order against the durable state plus the requests accepted
//! earlier in the same group ([`crate::check`]), stages the accepted ones into one `sled::Batch`,
//! applies it atomically, flushes, and only then publishes the new head and answers every waiter.

use std::sync::{mpsc, Arc};
use std::time::Instant;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::check::{gather, Durable, Group, Job, Reply};
use crate::condition::{StopCause, Stopped};
use crate::envelope;
use crate::keys;
use crate::sidecar::{ChainHead, SidecarWriter};
use crate::sled_store::Shared;
use crate::{AppendOutcome, RecordedEvent, StoreError};

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
    /// is accepted until the store is reopened (which recovers what is durable). sled cannot
    /// be told to forget a batch it applied in memory, so unlike the segment log this engine
    /// does not resume by itself: the server must be restarted.
    failed: Option<Stopped>,
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
            let group = gather(first, || self.requests.try_recv().ok());
            self.commit(group);
        }
        tracing::debug!(head = self.head.position, "event store writer stopped");
    }

    fn commit(&mut self, requests: Vec<Job>) {
        if let Some(stopped) = &self.failed {
            for request in requests {
                let (reply, submitted) = request.into_reply();
                self.answer(reply, submitted, Err(stopped.error()));
            }
            return;
        }
        let mut group = Group::new(self.head, self.last_recorded_at);
        let mut answers = Vec::with_capacity(requests.len());
        let mut durable = SledDurable(&self.shared.db);
        for request in requests {
            let result = group.check(&mut durable, &request);
            let (reply, submitted) = request.into_reply();
            answers.push((reply, submitted, result));
        }

        if !group.staged.is_empty() {
            let (head, recorded_at) = (group.head, group.last_at);
            let mut batch = sled::Batch::default();
            for staged in &group.staged {
                let event = &staged.event;
                let position = keys::encode_position(event.position);
                batch.insert(
                    &keys::log_key(event.position)[..],
                    envelope::record(&staged.hash, &staged.canonical),
                );
                batch.insert(
                    keys::stream_key(&event.stream_id, event.version),
                    &position[..],
                );
                batch.insert(&keys::event_id_key(event.event_id)[..], &position[..]);
            }
            batch.insert(
                keys::HEAD,
                &keys::encode_head(head.position, &head.hash)[..],
            );
            if let Err((cause, e)) = self.write(batch) {
                let why = format!(
                    "writing positions {}..={} failed ({e}); the outcome of those appends is unknown and the store accepts no more appends until it is reopened (restart the server)",
                    self.head.position + 1,
                    head.position
                );
                tracing::error!(cause = cause.as_str(), %why, "event store write failed");
                let stopped = Stopped {
                    cause,
                    what: why.clone(),
                    resumes_by_itself: false,
                };
                self.shared.condition.stop(stopped.clone());
                self.failed = Some(stopped);
                // The batch may still reach the disk: its outcome is unknown (`Storage`), unlike
                // the appends refused from now on, of which nothing is written.
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
    fn write(&self, batch: sled::Batch) -> Result<(), (StopCause, String)> {
        fn sled_failure(error: sled::Error) -> (StopCause, String) {
            let cause = match &error {
                sled::Error::Io(io) => StopCause::of(io),
                _ => StopCause::Failed,
            };
            (cause, error.to_string())
        }
        let timings = &self.shared.timings;
        self.shared.db.apply_batch(batch).map_err(sled_failure)?;
        let started = Instant::now();
        self.shared.db.flush().map_err(sled_failure)?;
        let flushed = Instant::now();
        timings.flush.record(flushed - started);
        self.db_file
            .sync_data()
            .map_err(|e| (StopCause::of(&e), format!("fdatasync: {e}")))?;
        timings.fsync.record(flushed.elapsed());
        Ok(())
    }

    /// Answers one append and records how long it took since it was handed over. A waiter
    /// that went away (dropped future) still had its append committed.
    fn answer(&self, reply: Reply, submitted: Instant, result: Result<AppendOutcome, StoreError>) {
        self.shared.timings.append.record(submitted.elapsed());
        let _ = reply.send(result);
    }
}

/// The sled tree's answers to the checks (one reverse scan for a version, two point reads for an
/// event id).
struct SledDurable<'a>(&'a sled::Db);

impl Durable for SledDurable<'_> {
    fn durable_version(&mut self, stream_id: &str) -> Result<u64, StoreError> {
        let last = self
            .0
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

    fn durable_event(&mut self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let db = self.0;
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

    fn canonical(&self, event: &RecordedEvent) -> Result<Vec<u8>, StoreError> {
        envelope::canonical_bytes(event).map_err(StoreError::Storage)
    }
}
