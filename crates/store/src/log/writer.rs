//! The segment log's writer thread: one group, one `write_all`, one `fdatasync`; and, after a
//! failed write or `fdatasync`, the way back without a restart.
//!
//! # Stopping and resuming
//!
//! A group whose write or `fdatasync` failed is answered with [`StoreError::StorageFull`] (no
//! room: `ENOSPC`, `EDQUOT`) or [`StoreError::Failed`] (anything else), and the writer stops
//! taking appends ([`crate::Condition`] says so to `/health` and `/metrics`). What it wrote of
//! the failed group is cut off at once (best effort, without a sync), so that a crash before
//! it resumes does not bring back a step whose answer said it was not stored.
//!
//! The writer then tries to resume — before the next group, so that a consultant's retry is
//! served as soon as the disk has room, and on its own after a back-off (1 s, doubling up to a
//! minute) while no append comes, so that `/health` turns green again on an idle server. An
//! attempt ([`LogWriter::resume`]) reopens the end of the log the way opening does:
//!
//! 1. it reserves room on the disk first (`fallocate` of a probe file), so a disk that is still
//!    full fails here, cheaply, and nothing else is touched;
//! 2. it reads the end of the last segment back from disk, from the last acknowledged record
//!    on, and checks that record as opening checks every record (complete, its checksum, its
//!    position and chain hash the acknowledged head's, closing its group) — otherwise the writer
//!    stays stopped. Everything before it was checked when the store was opened and written with
//!    a successful `fdatasync` since; reading only the end keeps an attempt as cheap as the
//!    failed group is large, so that every append may try;
//! 3. it cuts everything after that position (the failed group: never acknowledged, answered as
//!    not stored) and reports the bytes it cut, reopens the segment with a fresh descriptor and
//!    makes the cut durable with that descriptor's `fdatasync`;
//! 4. it takes appends again. The derived indexes need nothing: a group goes into them only
//!    after its `fdatasync` succeeded, all of its events or none.
//!
//! The failed `fdatasync` itself is never retried: its bytes are cut, not trusted. After a
//! failed `fdatasync` Linux may mark the unwritten pages clean and a second, successful call
//! would prove nothing about them; only what was synced *before* the failure is kept, and the
//! sync in step 3 is of a new change (the cut). Nothing past the acknowledged head was ever
//! published, so readers, subscriptions and the read models saw nothing of the failed group and
//! have nothing to undo; after a crash instead of a resumption, opening applies its own rules
//! (a complete group of a failed `fdatasync` that is still on disk is kept) and the server's
//! start-up feeds the read models from the log as always.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::check::{gather, Durable, Group, Job, Reply};
use crate::condition::{StopCause, Stopped};
use crate::log::files::{LogFiles, SegmentFile};
use crate::log::index::MAX_POSITION;
use crate::log::locations::Segment;
use crate::log::open::{self, JsonEnvelopes, Opened};
use crate::log::record::{self, IndexEntry, COMMIT};
use crate::log::segment::{self, Header, HEADER_LEN};
use crate::log::{Shared, SEGMENTS_DIR};
use crate::sidecar::ChainHead;
use crate::{AppendOutcome, RecordedEvent, StoreError};

/// The first wait before a stopped writer tries to resume on its own, and the longest.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(60);

/// Room a stopped writer reserves on the disk before it resumes (at least; more when the group
/// that failed was larger): enough that the next groups fit, so that `/health` does not turn
/// green on a disk with a few bytes free.
const RESERVE_BYTES: u64 = 1 << 20;

/// The last segment as far as it is acknowledged: its path, how many of its records are, and
/// where the last of them starts (0: none is, the segment's header is all).
struct AcknowledgedTail {
    path: PathBuf,
    records: usize,
    from: u64,
}

/// A failed write or sync, with its cause.
struct WriteFailure {
    cause: StopCause,
    what: String,
}

impl WriteFailure {
    fn other(what: impl Into<String>) -> WriteFailure {
        WriteFailure {
            cause: StopCause::Failed,
            what: what.into(),
        }
    }
}

impl From<String> for WriteFailure {
    fn from(what: String) -> Self {
        WriteFailure::other(what)
    }
}

impl From<&str> for WriteFailure {
    fn from(what: &str) -> Self {
        WriteFailure::other(what)
    }
}

#[derive(Debug)]
pub(crate) struct LogWriter {
    shared: Arc<Shared>,
    requests: mpsc::Receiver<Job>,
    head: ChainHead,
    last_recorded_at: Option<DateTime<Utc>>,
    files: Arc<dyn LogFiles>,
    current: Box<dyn SegmentFile>,
    segment_bytes: u64,
    /// Set after a failed write or `fdatasync`; see the module docs.
    failed: Option<Stopped>,
    /// How long a stopped writer waits before it tries to resume on its own, and when.
    retry_after: Duration,
    next_retry: Instant,
    /// Bytes of the largest group that failed since the writer last resumed.
    failed_bytes: u64,
    /// Reused for each group's bytes.
    buffer: Vec<u8>,
    /// Whether `FORMAT` says the log holds JSON envelopes, and whether it does.
    json: JsonEnvelopes,
}

/// The writer's answers to the checks, from the indexes in memory.
struct LogDurable<'a> {
    shared: &'a Shared,
}

impl Durable for LogDurable<'_> {
    fn durable_version(&mut self, stream_id: &str) -> Result<u64, StoreError> {
        Ok(self.shared.index().version(stream_id))
    }

    fn durable_event(&mut self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        self.shared.find_event(event_id)
    }

    fn canonical(&self, event: &RecordedEvent) -> Result<Vec<u8>, StoreError> {
        record::encode_envelope(event)
    }

    fn last_position(&self) -> u64 {
        MAX_POSITION
    }
}

impl LogWriter {
    pub(crate) fn new(opened: Opened, requests: mpsc::Receiver<Job>, segment_bytes: u64) -> Self {
        LogWriter {
            shared: opened.shared,
            requests,
            head: opened.head,
            last_recorded_at: opened.last_recorded_at,
            files: opened.files,
            current: opened.current,
            json: opened.json,
            segment_bytes: segment_bytes.min(u64::from(u32::MAX)),
            failed: None,
            retry_after: FIRST_RETRY,
            next_retry: Instant::now(),
            failed_bytes: 0,
            buffer: Vec::new(),
        }
    }

    /// The next request; while stopped, waking up on the back-off to try to resume. `None` once
    /// every sender is gone.
    fn next_request(&mut self) -> Option<Job> {
        loop {
            if self.failed.is_none() {
                return self.requests.recv().ok();
            }
            let wait = self.next_retry.saturating_duration_since(Instant::now());
            match self.requests.recv_timeout(wait) {
                Ok(job) => return Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => self.try_to_resume(),
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    pub(crate) fn run(mut self) {
        while let Some(first) = self.next_request() {
            let group = gather(first, || self.requests.try_recv().ok());
            self.commit(group);
        }
        tracing::debug!(head = self.head.position, "segment log writer stopped");
    }

    fn commit(&mut self, jobs: Vec<Job>) {
        if self.failed.is_some() {
            self.try_to_resume();
        }
        if let Some(stopped) = &self.failed {
            let error = stopped.clone();
            for job in jobs {
                let (reply, submitted) = job.into_reply();
                self.answer(reply, submitted, Err(error.error()));
            }
            return;
        }
        let mut group = Group::new(self.head, self.last_recorded_at);
        let mut answers = Vec::with_capacity(jobs.len());
        {
            let mut durable = LogDurable {
                shared: &self.shared,
            };
            for job in jobs {
                let result = group.check(&mut durable, &job);
                let (reply, submitted) = job.into_reply();
                answers.push((reply, submitted, result));
            }
        }
        if !group.staged.is_empty() {
            if let Err(failure) = self.write(&group) {
                let what = format!(
                    "writing positions {}..={} failed ({}); those appends were not stored, and the store takes no appends until the disk takes writes again",
                    self.head.position + 1,
                    group.head.position,
                    failure.what
                );
                tracing::error!(cause = failure.cause.as_str(), %what, "event store write failed");
                let stopped = Stopped {
                    cause: failure.cause,
                    what,
                    resumes_by_itself: true,
                };
                self.stop(stopped.clone());
                for (reply, submitted, _) in answers {
                    self.answer(reply, submitted, Err(stopped.error()));
                }
                return;
            }
            self.head = group.head;
            self.last_recorded_at = group.last_at;
            let position = self.head.position;
            self.shared
                .head
                .send_modify(|published| published.position = position);
        }
        for (reply, submitted, result) in answers {
            self.answer(reply, submitted, result);
        }
        self.merge_event_ids();
    }

    /// Merges the recent event ids into the sorted table when enough wait, after the group's
    /// answers (a merge writes the whole table anew, into a new scratch file). It is built under the
    /// shared lock, so readers go on; the write lock is held only to swap the tables, and the
    /// old one is freed after it is let go.
    fn merge_event_ids(&self) {
        if self.shared.index().merge_due() {
            let merged = self.shared.index().merged_event_ids();
            match merged {
                Ok(merged) => {
                    let old = self.shared.index_mut().install(merged);
                    drop(old);
                }
                // The recent ids stay where they are, and are still found there; the merge is
                // tried again after the next group.
                Err(error) => {
                    tracing::warn!(%error, "the event-id index could not be merged; it is tried again after the next append")
                }
            }
        }
    }

    /// Makes `FORMAT` say that the log holds format-1 JSON envelopes, durably, before the
    /// first write to a log that holds them or is about to (a build that reads only binary
    /// envelopes then refuses it as a format it does not read). Only the writer writes it, so
    /// two imports cannot race on it.
    fn say_json_envelopes(&mut self, group: &Group) -> Result<(), WriteFailure> {
        if self.json.said {
            return Ok(());
        }
        let held = self.json.held
            || group
                .staged
                .iter()
                .any(|staged| record::is_json_envelope(&staged.canonical));
        if held {
            tracing::info!(
                dir = ?self.shared.dir,
                "the log holds format-1 JSON envelopes: its FORMAT file now says so"
            );
            open::write_format(&self.shared.dir, crate::log::FORMAT_WITH_JSON)
                .map_err(|e| WriteFailure::other(e.to_string()))?;
            self.json = JsonEnvelopes {
                said: true,
                held: true,
            };
        }
        Ok(())
    }

    /// Frames the group, rolls to a new segment if it does not fit, writes it with one
    /// `write_all` and one `fdatasync`, then tells the readers and the index where it is.
    fn write(&mut self, group: &Group) -> Result<(), WriteFailure> {
        self.say_json_envelopes(group)?;
        self.buffer.clear();
        let mut relative = Vec::with_capacity(group.staged.len());
        for (i, staged) in group.staged.iter().enumerate() {
            relative.push(self.buffer.len() as u64);
            let flags = if i + 1 == group.staged.len() {
                COMMIT
            } else {
                0
            };
            record::frame(&mut self.buffer, flags, &staged.hash, &staged.canonical);
        }
        let (records, end) = {
            let locations = self.shared.locations();
            let last = locations.segments.last().ok_or("no segment is open")?;
            (last.offsets.len(), last.end)
        };
        let mut start = end;
        if records > 0 && end + self.buffer.len() as u64 > self.segment_bytes {
            self.roll()?;
            start = HEADER_LEN as u64;
        }
        let timings = Arc::clone(&self.shared.timings);
        let started = Instant::now();
        self.current
            .write_all(&self.buffer)
            .map_err(|e| describe("write", &e))?;
        let written = Instant::now();
        timings.flush.record(written - started);
        self.current
            .sync_data()
            .map_err(|e| describe("fdatasync", &e))?;
        timings.fsync.record(written.elapsed());

        {
            let mut locations = self.shared.locations_mut();
            let last = locations.segments.last_mut().ok_or("no segment is open")?;
            for offset in relative {
                let offset = u32::try_from(start + offset)
                    .map_err(|_| "a segment grew beyond 4 GiB".to_string())?;
                last.offsets.push(offset);
            }
            last.end = start + self.buffer.len() as u64;
        }
        let entries: Vec<IndexEntry<'_>> = group
            .staged
            .iter()
            .map(|staged| IndexEntry {
                position: staged.event.position,
                stream_id: staged.event.stream_id.as_str().into(),
                version: staged.event.version,
                event_id: staged.event.event_id,
            })
            .collect();
        self.shared
            .index_mut()
            .add_group(&entries)
            .map_err(|e| WriteFailure::other(format!("the index refused the group: {e}")))
    }

    /// Starts the next segment (durably created) and hands it to the readers.
    fn roll(&mut self) -> Result<(), WriteFailure> {
        let number = {
            let locations = self.shared.locations();
            locations.segments.last().map_or(1, |s| s.number + 1)
        };
        let header = Header {
            number,
            first_position: self.head.position + 1,
            previous_hash: self.head.hash,
        };
        let path = segment::path(&self.shared.dir.join(SEGMENTS_DIR), number);
        self.current = self
            .files
            .create(&path, &header.encode())
            .map_err(|e| describe(&format!("creating {path:?}"), &e))?;
        let file = File::open(&path).map_err(|e| describe(&format!("opening {path:?}"), &e))?;
        self.shared.locations_mut().segments.push(Segment {
            number,
            first_position: header.first_position,
            file: Arc::new(file),
            offsets: Vec::new(),
            end: HEADER_LEN as u64,
        });
        Ok(())
    }

    /// Enters the stopped state after a failed group: records it for `/health`, cuts what was
    /// written of the group (best effort: resuming cuts again, durably) and schedules the
    /// first attempt to resume.
    fn stop(&mut self, stopped: Stopped) {
        self.failed_bytes = self.failed_bytes.max(self.buffer.len() as u64);
        self.shared.condition.stop(stopped.clone());
        self.failed = Some(stopped);
        self.retry_after = FIRST_RETRY;
        self.next_retry = Instant::now() + self.retry_after;
        let (path, end) = {
            let locations = self.shared.locations();
            let Some(last) = locations.segments.last() else {
                return;
            };
            let acknowledged = self.head.position.saturating_sub(last.first_position - 1);
            let end = usize::try_from(acknowledged)
                .ok()
                .and_then(|k| last.offsets.get(k))
                .map_or(last.end, |offset| u64::from(*offset));
            (
                segment::path(&self.shared.dir.join(SEGMENTS_DIR), last.number),
                end,
            )
        };
        let cut = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|file| file.set_len(end));
        if let Err(error) = cut {
            tracing::warn!(segment = ?path, %error, "cannot cut the failed group yet; resuming will");
        }
    }

    /// Tries to take appends again (see the module docs); on failure waits longer next time.
    fn try_to_resume(&mut self) {
        let Some(stopped) = self.failed.clone() else {
            return;
        };
        match self.resume() {
            Ok(cut) => {
                tracing::info!(
                    head = self.head.position,
                    cut_bytes = cut,
                    was = %stopped.what,
                    "the event store takes appends again"
                );
                self.failed = None;
                self.failed_bytes = 0;
                self.shared.condition.resume();
            }
            Err(why) => {
                // Appends try too (so that a retry is served as soon as there is room), but
                // only the attempts on the back-off's schedule are logged and push it back:
                // a stream of refused appends must not flood the log.
                if Instant::now() < self.next_retry {
                    tracing::debug!(%why, "the event store cannot take appends yet");
                    return;
                }
                tracing::warn!(
                    cause = stopped.cause.as_str(),
                    %why,
                    retry_in_seconds = self.retry_after.as_secs(),
                    "the event store cannot take appends yet"
                );
                self.next_retry = Instant::now() + self.retry_after;
                self.retry_after = (self.retry_after * 2).min(LAST_RETRY);
            }
        }
    }

    /// One attempt to resume: reserve room, check the last acknowledged record, cut the rest
    /// durably. Returns the bytes cut.
    fn resume(&mut self) -> Result<u64, String> {
        let segments_dir = self.shared.dir.join(SEGMENTS_DIR);
        self.files
            .reserve(&segments_dir, self.failed_bytes.max(RESERVE_BYTES))
            .map_err(|e| describe("reserving room on the disk", &e).what)?;
        crate::log::open::remove_leftovers(&segments_dir).map_err(|e| e.to_string())?;
        let tail = self.acknowledged_tail()?;
        self.remove_unused_segments(&tail.path)?;
        let path = &tail.path;
        let reader = File::open(path).map_err(|e| format!("opening {path:?}: {e}"))?;
        let len = reader
            .metadata()
            .map_err(|e| format!("reading {path:?}: {e}"))?
            .len();
        let mut bytes = vec![0u8; usize::try_from(len.saturating_sub(tail.from)).unwrap_or(0)];
        std::os::unix::fs::FileExt::read_exact_at(&reader, &mut bytes, tail.from)
            .map_err(|e| format!("reading {path:?}: {e}"))?;
        let kept = tail.from + self.check_acknowledged(&bytes, tail.from, tail.records)?;
        let cut = len.saturating_sub(kept);
        if cut > 0 {
            tracing::warn!(
                segment = ?path,
                at_byte = kept,
                bytes = cut,
                from_position = self.head.position + 1,
                "cutting off the end of the log: the group whose write failed, never acknowledged"
            );
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|file| file.set_len(kept))
                .map_err(|e| format!("cutting {path:?}: {e}"))?;
        }
        let mut current = self
            .files
            .open_append(path)
            .map_err(|e| describe(&format!("opening {path:?}"), &e).what)?;
        current
            .sync_data()
            .map_err(|e| describe(&format!("fdatasync of {path:?} after the cut"), &e).what)?;
        {
            let mut locations = self.shared.locations_mut();
            let last = locations.segments.last_mut().ok_or("no segment is open")?;
            last.file = Arc::new(reader);
            last.offsets.truncate(tail.records);
            last.end = kept;
        }
        self.current = current;
        Ok(cut)
    }

    /// Where the last segment's acknowledged records are, from what the readers know.
    fn acknowledged_tail(&self) -> Result<AcknowledgedTail, String> {
        let locations = self.shared.locations();
        let last = locations.segments.last().ok_or("no segment is open")?;
        let records = usize::try_from(
            self.head
                .position
                .checked_sub(last.first_position.saturating_sub(1))
                .ok_or("the last segment starts after the acknowledged head")?,
        )
        .map_err(|_| "too many records".to_string())?;
        let from = match records.checked_sub(1) {
            None => 0,
            Some(i) => u64::from(
                *last
                    .offsets
                    .get(i)
                    .ok_or("the acknowledged records are not all located")?,
            ),
        };
        Ok(AcknowledgedTail {
            path: segment::path(&self.shared.dir.join(SEGMENTS_DIR), last.number),
            records,
            from,
        })
    }

    /// Checks, in the bytes of the last segment from `from` on, that the acknowledged head is
    /// there as it was written — the header it follows when the segment holds no acknowledged
    /// record, or else its last record: complete, its checksum good, its position and chain
    /// hash the head's, closing its group — and returns where it ends (relative to `from`).
    fn check_acknowledged(&self, bytes: &[u8], from: u64, records: usize) -> Result<u64, String> {
        let at = |what: String| format!("the acknowledged end of the log at byte {from}: {what}");
        if records == 0 {
            let header = Header::decode(bytes).map_err(at)?;
            if header.first_position != self.head.position + 1
                || header.previous_hash != self.head.hash
            {
                return Err(at(
                    "the segment header does not continue the acknowledged head".into(),
                ));
            }
            return Ok(HEADER_LEN as u64);
        }
        let record = record::parse_frame(bytes).map_err(|why| {
            at(match why {
                record::Unreadable::Short => "the last acknowledged record is cut short".into(),
                record::Unreadable::Damaged(what) => what,
            })
        })?;
        if record::envelope_position(record.envelope) != Some(self.head.position)
            || record.hash != self.head.hash
            || record.flags & COMMIT == 0
        {
            return Err(at(format!(
                "the record there is not the acknowledged position {} with its hash",
                self.head.position
            )));
        }
        Ok(record.frame_len as u64)
    }

    /// Removes segment files after `last` (a roll whose creation failed after the rename):
    /// they hold no record, and a later roll must not find its number taken.
    fn remove_unused_segments(&self, last: &std::path::Path) -> Result<(), String> {
        let dir = self.shared.dir.join(SEGMENTS_DIR);
        let listed = segment::list(&dir).map_err(|e| format!("listing {dir:?}: {e}"))?;
        let mut removed = false;
        for (_, path) in listed.into_iter().filter(|(_, path)| path.as_path() > last) {
            tracing::warn!(segment = ?path, "removing a segment file a failed roll left behind");
            std::fs::remove_file(&path).map_err(|e| format!("removing {path:?}: {e}"))?;
            removed = true;
        }
        if removed {
            crate::log::files::sync_dir(&dir).map_err(|e| format!("syncing {dir:?}: {e}"))?;
        }
        Ok(())
    }

    fn answer(&self, reply: Reply, submitted: Instant, result: Result<AppendOutcome, StoreError>) {
        self.shared.timings.append.record(submitted.elapsed());
        let _ = reply.send(result);
    }
}

/// An I/O error as a failure with its cause, naming a full disk as such.
fn describe(what: &str, error: &std::io::Error) -> WriteFailure {
    let cause = StopCause::of(error);
    let what = match cause {
        StopCause::Full => format!("{what}: the disk is full ({error})"),
        StopCause::Failed => format!("{what}: {error}"),
    };
    WriteFailure { cause, what }
}
