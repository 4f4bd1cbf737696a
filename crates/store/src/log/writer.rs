//! The segment log's writer thread: one group, one `write_all`, one `fdatasync`.

use std::collections::HashMap;
use std::fs::File;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::check::{Durable, Group, Job, Reply, MAX_GROUP_EVENTS, MAX_GROUP_REQUESTS};
use crate::log::files::{LogFiles, SegmentFile};
use crate::log::locations::Segment;
use crate::log::open::Opened;
use crate::log::record::{self, IndexEntry, COMMIT};
use crate::log::segment::{self, Header, HEADER_LEN};
use crate::log::{Shared, SEGMENTS_DIR};
use crate::sidecar::ChainHead;
use crate::{AppendOutcome, RecordedEvent, StoreError};

/// Streams whose current version the writer keeps in memory. Past this many the map starts
/// over: a miss costs one reverse scan of the index, and the streams being worked on come back
/// in after their next append.
const RECENT_STREAMS: usize = 100_000;

#[derive(Debug)]
pub(crate) struct LogWriter {
    shared: Arc<Shared>,
    requests: mpsc::Receiver<Job>,
    head: ChainHead,
    last_recorded_at: Option<DateTime<Utc>>,
    files: Arc<dyn LogFiles>,
    current: Box<dyn SegmentFile>,
    segment_bytes: u64,
    /// Current versions of recently written streams.
    versions: HashMap<String, u64>,
    /// Set after a failed write or `fdatasync`; see the module docs of [`crate::log`].
    failed: Option<String>,
    /// Reused for each group's bytes.
    buffer: Vec<u8>,
}

/// The writer's answers to the checks: recent versions from memory, the rest from the index.
struct LogDurable<'a> {
    shared: &'a Shared,
    versions: &'a mut HashMap<String, u64>,
}

impl Durable for LogDurable<'_> {
    fn durable_version(&mut self, stream_id: &str) -> Result<u64, StoreError> {
        if let Some(version) = self.versions.get(stream_id) {
            return Ok(*version);
        }
        let version = self.shared.index.last_version(stream_id)?;
        if self.versions.len() >= RECENT_STREAMS {
            self.versions.clear();
        }
        self.versions.insert(stream_id.to_owned(), version);
        Ok(version)
    }

    fn durable_event(&mut self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        match self.shared.index.event(event_id)? {
            Some(position) => self.shared.read_at(position).map(Some),
            None => Ok(None),
        }
    }

    fn canonical(&self, event: &RecordedEvent) -> Result<Vec<u8>, StoreError> {
        record::encode_envelope(event)
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
            segment_bytes: segment_bytes.min(u64::from(u32::MAX)),
            versions: HashMap::new(),
            failed: None,
            buffer: Vec::new(),
        }
    }

    pub(crate) fn run(mut self) {
        while let Ok(first) = self.requests.recv() {
            let mut events = first.len();
            let mut group = vec![first];
            while group.len() < MAX_GROUP_REQUESTS && events < MAX_GROUP_EVENTS {
                match self.requests.try_recv() {
                    Ok(job) => {
                        events += job.len();
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            self.commit(group);
        }
        tracing::debug!(head = self.head.position, "segment log writer stopped");
    }

    fn commit(&mut self, jobs: Vec<Job>) {
        if let Some(why) = &self.failed {
            let why = why.clone();
            for job in jobs {
                let (reply, submitted) = job.into_reply();
                self.answer(reply, submitted, Err(StoreError::Storage(why.clone())));
            }
            return;
        }
        let mut group = Group::new(self.head, self.last_recorded_at);
        let mut answers = Vec::with_capacity(jobs.len());
        {
            let mut durable = LogDurable {
                shared: &self.shared,
                versions: &mut self.versions,
            };
            for job in jobs {
                let result = group.check(&mut durable, &job);
                let (reply, submitted) = job.into_reply();
                answers.push((reply, submitted, result));
            }
        }
        if !group.staged.is_empty() {
            if let Err(why) = self.write(&group) {
                let why = format!(
                    "writing positions {}..={} failed ({why}); the outcome of those appends is unknown and the store accepts no more appends until it is reopened",
                    self.head.position + 1,
                    group.head.position
                );
                tracing::error!(%why, "event store write failed");
                self.failed = Some(why.clone());
                for (reply, submitted, _) in answers {
                    self.answer(reply, submitted, Err(StoreError::Storage(why.clone())));
                }
                return;
            }
            self.head = group.head;
            self.last_recorded_at = group.last_at;
            for (stream, version) in group.versions {
                self.versions.insert(stream, version);
            }
            let position = self.head.position;
            self.shared
                .head
                .send_modify(|published| published.position = position);
        }
        for (reply, submitted, result) in answers {
            self.answer(reply, submitted, result);
        }
    }

    /// Frames the group, rolls to a new segment if it does not fit, writes it with one
    /// `write_all` and one `fdatasync`, then tells the readers and the index where it is.
    fn write(&mut self, group: &Group) -> Result<(), String> {
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
            let mut locations = self
                .shared
                .locations
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let last = locations.segments.last_mut().ok_or("no segment is open")?;
            for offset in relative {
                let offset = u32::try_from(start + offset)
                    .map_err(|_| "a segment grew beyond 4 GiB".to_string())?;
                last.offsets.push(offset);
            }
            last.end = start + self.buffer.len() as u64;
        }
        let entries = group.staged.iter().map(|staged| IndexEntry {
            position: staged.event.position,
            stream_id: &staged.event.stream_id,
            version: staged.event.version,
            event_id: staged.event.event_id,
        });
        self.shared
            .index
            .add(entries, group.head.position)
            .map_err(|e| format!("the events are durable, but the index failed: {e}"))
    }

    /// Starts the next segment (durably created) and hands it to the readers.
    fn roll(&mut self) -> Result<(), String> {
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
        self.shared
            .locations
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .segments
            .push(Segment {
                number,
                first_position: header.first_position,
                file: Arc::new(file),
                offsets: Vec::new(),
                end: HEADER_LEN as u64,
            });
        Ok(())
    }

    fn answer(&self, reply: Reply, submitted: Instant, result: Result<AppendOutcome, StoreError>) {
        self.shared.timings.append.record(submitted.elapsed());
        let _ = reply.send(result);
    }
}

/// An I/O error as a sentence, naming a full disk as such.
fn describe(what: &str, error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::StorageFull {
        format!("{what}: the disk is full ({error})")
    } else {
        format!("{what}: {error}")
    }
}
