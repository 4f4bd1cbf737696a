//! [`LogStore`]: the segment-log back end (store format 2).
//!
//! **The log is the only thing that must be durable before an append is acknowledged;
//! everything else is derived from it, in memory, when the store opens.**
//!
//! # Files
//!
//! ```text
//! DIR/FORMAT                    "jeugdpad event store: segment log, format 2\n"
//! DIR/LOCK                      held (flock) by the one process that has the store open
//! DIR/segments/0000000001.seg   append-only segment files (see `segment.rs`, `record.rs`)
//! DIR/index/                    sled: the vault's keys (see `crate::vault`); the name is
//!                               from when it also held the derived indexes
//! ```
//!
//! # Group commit
//!
//! One writer thread owns the segment files. It takes every pending request (up to a bound),
//! checks them in order ([`crate::check`]), frames the accepted events into **one** contiguous
//! buffer, writes it with one `write_all` and makes it durable with **one** `fdatasync`. Only then
//! does it record the new offsets for readers, add the events to the derived indexes (in memory,
//! `index.rs`), publish the new head and answer every waiter. A new segment is created (header written to a
//! temporary file, synced, renamed, directory synced) before a group that would not fit into the
//! current one; a group never spans two segments.
//!
//! # Recovery
//!
//! Open checks every record of every segment: checksum, position, and chain hash. Bytes after
//! the last complete group commit of the last segment (a write cut short by a crash, never
//! acknowledged) are cut off with a warning naming the bytes and the position. Anything wrong
//! before that — a checksum, a hash, a missing segment — refuses to open with
//! [`StoreError::Corrupt`] naming the position. The same pass builds the derived indexes from
//! the bytes it has read: the log is read once. A failed write or `fdatasync` puts the writer into a stopped state: the group and
//! every later append fail with [`StoreError::StorageFull`] (a full disk) or
//! [`StoreError::Failed`], and [`LogStore::condition`] says so. The failed `fdatasync` is never
//! retried, because after a failed `fdatasync` Linux may already have dropped the unwritten pages
//! and a second, successful call would prove nothing: instead the writer cuts the failed group
//! off and resumes once the disk takes writes again, without a restart, checking the end of the
//! log as opening does (`writer.rs` describes the protocol).
//!
//! Limits: a damaged *last* record cannot be told apart from a torn write, so it is cut like
//! one; a disk that acknowledges `fdatasync` without keeping the data loses what no software can
//! keep. Opening reads the whole log once (about the cost of one replay).

mod files;
#[cfg(test)]
mod format_example;
mod index;
mod locations;
mod open;
pub(crate) mod record;
mod segment;
#[cfg(test)]
mod tests;
mod verify;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, RwLock};
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::check::{Job, Submitted};
use crate::sled_store::HeadState;
use crate::subscription::ReadLog;
use crate::timings::WriterTimings;
use crate::vault::Vault;
use crate::verify::VerifyReport;
use crate::{
    validate_stream_id, AppendOutcome, Condition, EventStore, ExpectedVersion, ProposedEvent,
    RecordedEvent, StoreError, StoredEnvelope, Subscription,
};

pub(crate) use files::{sync_dir, write_durably};
pub(crate) use verify::verify_log_dir;

#[cfg(feature = "test-support")]
pub use files::faulty::Faults;

use files::{LogFiles, RealFiles};
use index::Index;
use locations::Locations;

/// The format file's name and the content this code writes and accepts.
pub(crate) const FORMAT_FILE: &str = "FORMAT";
pub(crate) const FORMAT: &str = "jeugdpad event store: segment log, format 2\n";
/// The format line of a log that holds format-1 JSON envelopes (an upgraded store, or a copy of
/// one; they start at position 1). The same format to this build; but segment-log builds that
/// read only the binary envelope do not accept this line, so they refuse such a log as a
/// format they do not read (`verify`: UNREADABLE) rather than as damage at position 1.
pub(crate) const FORMAT_WITH_JSON: &str =
    "jeugdpad event store: segment log, format 2, with format-1 JSON envelopes\n";
pub(crate) const SEGMENTS_DIR: &str = "segments";
pub(crate) const INDEX_DIR: &str = "index";

/// Whether `dir` holds a segment-log store.
pub fn holds_log_store(dir: &Path) -> bool {
    dir.join(FORMAT_FILE).is_file()
}

/// How a [`LogStore`] is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// A new segment is started before a group commit that would make the current one larger
    /// than this (a single larger group gets a segment of its own). At most 4 GiB.
    pub segment_bytes: u64,
    /// The most bytes sled keeps in memory of the vault's pages (`index/`).
    pub vault_cache_bytes: u64,
}

impl Default for LogOptions {
    /// 256 MiB segments (few files, and a lost file is a bounded loss), a 16 MiB vault cache
    /// (a key is read once per subject looked up).
    fn default() -> Self {
        LogOptions {
            segment_bytes: 256 << 20,
            vault_cache_bytes: 16 << 20,
        }
    }
}

/// What readers, subscriptions and the writer share.
#[derive(Debug)]
pub(crate) struct Shared {
    dir: PathBuf,
    locations: RwLock<Locations>,
    /// Written by the writer after each durable group; readers hold it only to look up.
    index: RwLock<Index>,
    /// The sled database in `index/` that holds the vault's tree.
    vault_db: sled::Db,
    head: watch::Sender<HeadState>,
    timings: Arc<WriterTimings>,
    /// Whether the writer takes appends (see `writer.rs`).
    condition: Arc<Condition>,
    /// Holds the store's lock while any handle lives.
    _lock: File,
}

/// The segment-log event store. See the module docs for the layout and the protocols.
#[derive(Debug)]
pub struct LogStore {
    shared: Arc<Shared>,
    requests: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
}

impl LogStore {
    /// Opens (or creates) the store in `dir`: checks the log, cuts a torn tail, catches up the
    /// indexes and starts the writer. See the module docs for what refuses to open.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        LogStore::open_with(dir, &LogOptions::default())
    }

    /// [`LogStore::open`] with settings.
    pub fn open_with(dir: &Path, options: &LogOptions) -> Result<Self, StoreError> {
        LogStore::open_on(dir, options, Arc::new(RealFiles))
    }

    /// Opens only a store that exists ([`StoreError::NotAStore`] otherwise).
    pub fn open_existing(dir: &Path) -> Result<Self, StoreError> {
        if !holds_log_store(dir) {
            return Err(StoreError::NotAStore(dir.to_path_buf()));
        }
        LogStore::open(dir)
    }

    /// [`LogStore::open_with`] on a file layer that fails on command (a full disk, failing
    /// `fdatasync`s), for tests of what the layers above do then.
    #[cfg(feature = "test-support")]
    pub fn open_with_faults(
        dir: &Path,
        options: &LogOptions,
        faults: Arc<Faults>,
    ) -> Result<Self, StoreError> {
        LogStore::open_on(dir, options, Arc::new(files::faulty::FaultyFiles(faults)))
    }

    pub(crate) fn open_on(
        dir: &Path,
        options: &LogOptions,
        files: Arc<dyn LogFiles>,
    ) -> Result<Self, StoreError> {
        let opened = open::open(dir, options, files)?;
        let shared = Arc::clone(&opened.shared);
        let (requests, receiver) = mpsc::channel();
        let writer = writer::LogWriter::new(opened, receiver, options.segment_bytes);
        let writer = std::thread::Builder::new()
            .name("jeugdpad-log-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::storage("cannot start the writer thread", e))?;
        tracing::info!(
            dir = ?dir,
            head = shared.durable_head(),
            format = "segment log",
            "event store opened"
        );
        Ok(LogStore {
            shared,
            requests: Some(requests),
            writer: Some(writer),
        })
    }

    /// Walks the durable log (checksums, positions, chain) and checks the indexes in memory
    /// against it.
    /// Blocking; safe while appends go on (it checks up to the head at its start).
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        verify::verify_open(&self.shared)
    }

    /// Like [`EventStore::append`], but blocks the calling thread.
    pub fn append_blocking(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        Submitted::append(&self.requests, stream_id, expected, events).wait()
    }

    /// Imports events with their envelopes as they are; the same contract as
    /// [`crate::SledStore::import_batch`].
    pub fn import_batch(
        &self,
        events: Vec<RecordedEvent>,
    ) -> impl std::future::Future<Output = Result<AppendOutcome, StoreError>> + Send {
        Submitted::import(&self.requests, events).answer()
    }

    /// [`LogStore::import_batch`], blocking the calling thread.
    pub fn import_batch_blocking(
        &self,
        events: Vec<RecordedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        Submitted::import(&self.requests, events).wait()
    }

    /// Imports envelopes byte for byte, of either kind (see
    /// [`crate::Store::import_envelopes_blocking`]).
    pub fn import_envelopes_blocking(
        &self,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<AppendOutcome, StoreError> {
        Submitted::import_envelopes(&self.requests, envelopes, record::decode_envelope).wait()
    }

    /// See [`crate::Store::read_envelopes`].
    pub fn read_envelopes(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<StoredEnvelope>, StoreError> {
        let mut out = Vec::new();
        self.shared.each_run(from_position, max, |run| {
            run.read(|position, bytes| {
                out.push(StoredEnvelope {
                    position,
                    bytes: bytes.to_vec(),
                });
                Ok(())
            })
        })?;
        Ok(out)
    }

    /// Stops the writer after it answered every submitted append.
    ///
    /// Returns once the directory is free for the next opener: the vault's sled database lets
    /// go of its file lock only when its threads have finished, which can trail the close by a
    /// moment, so this waits (up to five seconds) for that. Other handles on the store (a
    /// subscription, a vault) keep it open.
    pub fn close(mut self) -> Result<(), StoreError> {
        let result = self.shutdown();
        let index_log = self.shared.dir.join(INDEX_DIR).join("db");
        let alone = Arc::strong_count(&self.shared) == 1;
        drop(self);
        if alone {
            crate::sled_store::wait_until_unlocked(&index_log);
        }
        result
    }

    /// The kluis beside the log (see [`Vault`]), in the sled database in `index/`.
    pub fn vault(&self) -> Result<Vault, StoreError> {
        let owner = Arc::clone(&self.shared) as _;
        Vault::open(
            &self.shared.vault_db,
            &self.shared.dir.join(INDEX_DIR),
            owner,
        )
    }

    /// How long appends, writes (`flush`) and `fdatasync`s take.
    pub fn timings(&self) -> Arc<WriterTimings> {
        Arc::clone(&self.shared.timings)
    }

    /// Whether the writer takes appends, and why not (see `writer.rs`: it resumes by itself
    /// once the disk takes writes again).
    pub fn condition(&self) -> Arc<Condition> {
        Arc::clone(&self.shared.condition)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The chain hash stored with the event at `position` (hex), read from that one record:
    /// what `verify --at` prints, without walking the log (the record's checksum is checked, the
    /// chain is not).
    pub fn hash_at(&self, position: u64) -> Result<String, StoreError> {
        self.shared.hash_at(position).map(hex::encode)
    }

    fn shutdown(&mut self) -> Result<(), StoreError> {
        drop(self.requests.take());
        let mut result = Ok(());
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("the event store writer thread panicked");
                result = Err(StoreError::Storage("the writer thread panicked".into()));
            }
        }
        self.shared.head.send_modify(|head| head.closed = true);
        // The vault makes every key durable when it is created; this only tidies sled up.
        if let Err(e) = self.shared.vault_db.flush() {
            tracing::warn!(error = %e, "flushing the vault's database on close failed");
        }
        result
    }
}

impl Drop for LogStore {
    fn drop(&mut self) {
        if self.requests.is_some() || self.writer.is_some() {
            if let Err(e) = self.shutdown() {
                tracing::error!(error = %e, "closing the event store failed");
            }
        }
    }
}

impl EventStore for LogStore {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> impl std::future::Future<Output = Result<AppendOutcome, StoreError>> + Send {
        Submitted::append(&self.requests, stream_id, expected, events).answer()
    }

    fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        self.shared.read_stream(stream_id)
    }

    fn read_stream_raw(&self, stream_id: &str) -> Result<Vec<crate::RawEvent>, StoreError> {
        self.shared
            .read_stream_with(stream_id, record::decode_envelope_raw)
    }

    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.shared.read_all(from_position, max)
    }

    fn read_all_raw(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<crate::RawEvent>, StoreError> {
        let mut events = Vec::new();
        self.shared.each_run(from_position, max, |run| {
            run.decoded(&mut events, record::decode_envelope_raw)
        })?;
        Ok(events)
    }

    fn head(&self) -> u64 {
        self.shared.durable_head()
    }

    fn subscribe(&self, from_position: u64) -> Subscription {
        let head = self.shared.head.subscribe();
        Subscription::new(Arc::clone(&self.shared) as _, head, from_position)
    }
}

impl ReadLog for Shared {
    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        Shared::read_all(self, from_position, max)
    }
}

impl Shared {
    pub(crate) fn durable_head(&self) -> u64 {
        self.head.borrow().position
    }

    fn locations(&self) -> std::sync::RwLockReadGuard<'_, Locations> {
        self.locations
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// For the writer only: the indexes, as it adds a group.
    fn index_mut(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// For the writer only: where segments and records are, as it changes them.
    fn locations_mut(&self) -> std::sync::RwLockWriteGuard<'_, Locations> {
        self.locations
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn missing(position: u64) -> StoreError {
        StoreError::Corrupt {
            position: Some(position),
            what: "a durable position has no record".into(),
        }
    }

    pub(crate) fn read_all(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = Vec::new();
        self.each_run(from_position, max, |run| {
            run.decoded(&mut events, record::decode_envelope)
        })?;
        Ok(events)
    }

    /// Hands `each` the runs of durable records from `from_position` on, up to `max` records
    /// in all (a run: consecutive records of one segment, read with one `pread`).
    fn each_run(
        &self,
        from_position: u64,
        max: usize,
        mut each: impl FnMut(&locations::Run) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let head = self.durable_head();
        let mut position = from_position.max(1);
        let mut read = 0;
        while position <= head && read < max {
            let wanted =
                (max - read).min(usize::try_from(head - position + 1).unwrap_or(usize::MAX));
            let run = self
                .locations()
                .run(position, wanted)
                .ok_or_else(|| Shared::missing(position))?;
            each(&run)?;
            read += run.count;
            position += run.count as u64;
        }
        Ok(())
    }

    /// The chain hash stored with the durable event at `position`.
    pub(crate) fn hash_at(
        &self,
        position: u64,
    ) -> Result<[u8; crate::envelope::HASH_LEN], StoreError> {
        if position == 0 || position > self.durable_head() {
            return Err(Shared::missing(position));
        }
        let run = self
            .locations()
            .run(position, 1)
            .ok_or_else(|| Shared::missing(position))?;
        let mut hash = None;
        run.read_records(|_, record| {
            hash = Some(record.hash);
            Ok(())
        })?;
        hash.ok_or_else(|| Shared::missing(position))
    }

    /// The durable event at `position`.
    pub(crate) fn read_at(&self, position: u64) -> Result<RecordedEvent, StoreError> {
        self.read_at_with(position, record::decode_envelope)
    }

    /// The durable event at `position`, its envelope decoded by `decode`.
    fn read_at_with<P>(
        &self,
        position: u64,
        decode: fn(&[u8]) -> Result<RecordedEvent<P>, String>,
    ) -> Result<RecordedEvent<P>, StoreError> {
        let run = self
            .locations()
            .run(position, 1)
            .ok_or_else(|| Shared::missing(position))?;
        let mut events = Vec::with_capacity(1);
        run.decoded(&mut events, decode)?;
        events.pop().ok_or_else(|| Shared::missing(position))
    }

    pub(crate) fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_stream_with(stream_id, record::decode_envelope)
    }

    /// One stream's durable events, each envelope decoded by `decode` (the payload parsed, or
    /// kept as its text).
    pub(crate) fn read_stream_with<P>(
        &self,
        stream_id: &str,
        decode: fn(&[u8]) -> Result<RecordedEvent<P>, String>,
    ) -> Result<Vec<RecordedEvent<P>>, StoreError> {
        if validate_stream_id(stream_id).is_err() {
            return Ok(Vec::new());
        }
        let head = self.durable_head();
        let positions = self.index().stream(stream_id, head)?;
        let mut events = Vec::with_capacity(positions.len());
        for (version, position) in positions {
            let event = self.read_at_with(position, decode)?;
            if event.stream_id != stream_id || event.version != version {
                return Err(StoreError::Corrupt {
                    position: Some(position),
                    what: format!("stream index {stream_id:?} v{version} points to another event"),
                });
            }
            events.push(event);
        }
        Ok(events)
    }

    /// The durable event with this id: the index names candidates, the record decides.
    pub(crate) fn find_event(
        &self,
        event_id: uuid::Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        let candidates = self.index().event_candidates(event_id)?;
        for position in candidates {
            let event = self.read_at(position)?;
            if event.event_id == event_id {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }
}
