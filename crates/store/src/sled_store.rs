//! [`SledStore`]: opening, recovery, reads, and the handle that feeds the writer thread.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::check::{Job, Submitted};
use crate::envelope::{self, GENESIS, HASH_LEN};
use crate::keys;
use crate::sidecar::{self, ChainHead, SidecarWriter};
use crate::timings::WriterTimings;
use crate::vault::Vault;
use crate::verify::{self, VerifyReport};
use crate::writer::Writer;
use crate::{
    validate_stream_id, AppendOutcome, EventStore, ExpectedVersion, ProposedEvent, RecordedEvent,
    StoreError, Subscription, MAX_EVENTS_PER_APPEND,
};

/// The name of sled's directory inside a store directory.
pub(crate) const SLED_DIR: &str = "sled";

/// Whether `dir` holds an event store (sled's log file exists).
pub(crate) fn holds_store(dir: &Path) -> bool {
    dir.join(SLED_DIR).join("db").is_file()
}

/// The durable head as published to readers and subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeadState {
    /// Last durable position (0: empty).
    pub(crate) position: u64,
    /// Set once the writer has stopped: no position will follow.
    pub(crate) closed: bool,
}

/// What readers, subscriptions and the writer share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) db: sled::Db,
    pub(crate) dir: PathBuf,
    /// The durable head. The writer publishes here only after a flush returned, so nothing a
    /// reader sees can be lost by a crash.
    pub(crate) head: watch::Sender<HeadState>,
    /// What the writer measures, for whoever exports metrics.
    pub(crate) timings: Arc<WriterTimings>,
    /// Whether the writer takes appends (after a failed write it does not, until reopened).
    pub(crate) condition: Arc<crate::Condition>,
}

/// sled's configuration for a store directory. Background flushing is off: the writer flushes
/// every group itself, and a second flusher would only contend with it.
pub(crate) fn sled_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir.join(SLED_DIR))
        .flush_every_ms(None)
}

pub(crate) fn map_open_error(dir: &Path, error: sled::Error) -> StoreError {
    match &error {
        // sled 0.34 reports a held file lock only as this I/O error text.
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::Locked(dir.to_path_buf())
        }
        sled::Error::Corruption { .. } => StoreError::Corrupt {
            position: None,
            what: format!("sled cannot open {dir:?}: {error}; run `jeugdpad verify` on a copy"),
        },
        _ => StoreError::storage(&format!("cannot open the store in {dir:?}"), error),
    }
}

impl crate::subscription::ReadLog for Shared {
    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        Shared::read_all(self, from_position, max)
    }
}

impl Shared {
    pub(crate) fn durable_head(&self) -> u64 {
        self.head.borrow().position
    }

    pub(crate) fn read_all(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_log(from_position, max, envelope::decode_record)
    }

    /// See [`crate::Store::read_envelopes`]: the canonical JSON of each record, as stored.
    pub(crate) fn read_envelopes(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<crate::StoredEnvelope>, StoreError> {
        self.read_log(from_position, max, |position, value| {
            let (_, canonical) = envelope::split_record(value)?;
            Ok(crate::StoredEnvelope {
                position,
                bytes: canonical.to_vec(),
            })
        })
    }

    /// Up to `max` durable records from `from_position` on, each made into a `T` by `each`
    /// (from its position and stored value; an `Err` is the record's damage).
    fn read_log<T>(
        &self,
        from_position: u64,
        max: usize,
        each: impl Fn(u64, &[u8]) -> Result<T, String>,
    ) -> Result<Vec<T>, StoreError> {
        let head = self.durable_head();
        let start = from_position.max(1);
        if start > head || max == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(max.min((head - start + 1) as usize).min(4096));
        for item in self
            .db
            .range(keys::log_key(start)..=keys::log_key(head))
            .take(max)
        {
            let (key, value) = item.map_err(|e| StoreError::storage("reading the log", e))?;
            let position = keys::position_of_log_key(&key).ok_or_else(|| StoreError::Corrupt {
                position: None,
                what: "malformed log key".into(),
            })?;
            out.push(each(position, &value).map_err(|what| StoreError::Corrupt {
                position: Some(position),
                what,
            })?);
        }
        Ok(out)
    }

    pub(crate) fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        if validate_stream_id(stream_id).is_err() {
            return Ok(Vec::new()); // such a stream can never have been written
        }
        let head = self.durable_head();
        let mut events = Vec::new();
        for item in self.db.scan_prefix(keys::stream_prefix(stream_id)) {
            let (key, value) = item.map_err(|e| StoreError::storage("reading a stream", e))?;
            let corrupt =
                |position: Option<u64>, what: String| StoreError::Corrupt { position, what };
            let version = keys::version_of_stream_key(&key)
                .ok_or_else(|| corrupt(None, "malformed stream index key".into()))?;
            let position = keys::be_u64(&value).ok_or_else(|| {
                corrupt(
                    None,
                    format!("malformed index entry {stream_id:?} v{version}"),
                )
            })?;
            if position > head {
                break; // versions ascend with positions: the rest is not durable yet
            }
            let value = self
                .db
                .get(keys::log_key(position))
                .map_err(|e| StoreError::storage("reading the log", e))?
                .ok_or_else(|| {
                    corrupt(
                        Some(position),
                        format!("stream {stream_id:?} v{version} points to a missing position"),
                    )
                })?;
            let event = envelope::decode_record(position, &value)
                .map_err(|what| corrupt(Some(position), what))?;
            if event.stream_id != stream_id || event.version != version {
                return Err(corrupt(
                    Some(position),
                    format!("stream index {stream_id:?} v{version} points to another event"),
                ));
            }
            events.push(event);
        }
        Ok(events)
    }
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most bytes sled keeps of its pages in memory: of the whole store in a sled store
    /// (more makes reads of old streams, timelines and knownOn views, faster), of the vault
    /// only in a segment-log store, whose indexes are in memory anyway. Less keeps the
    /// server's memory small. Appends are durable either way.
    pub cache_bytes: u64,
}

impl Default for StoreOptions {
    /// 128 MiB: the recent streams of a large installation, without sled's default of 1 GiB
    /// taking more memory than all the read models of a million trajectories.
    fn default() -> Self {
        StoreOptions {
            cache_bytes: 128 * 1024 * 1024,
        }
    }
}

/// The sled-backed event store. See the crate docs for the layout and the protocols.
///
/// Dropping it (or [`SledStore::close`]) stops the writer after it has answered every append
/// already submitted, then flushes. Subscriptions and the sled handle they hold keep the files
/// open until they are dropped too.
#[derive(Debug)]
pub struct SledStore {
    shared: Arc<Shared>,
    requests: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
}

/// The committed head found on open.
struct Recovered {
    head: ChainHead,
    recorded_at: Option<DateTime<Utc>>,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, recovers its head from the log and starts the
    /// writer thread.
    ///
    /// Refuses with [`StoreError::Corrupt`] when the log ends before the position the chain-head
    /// sidecar records as committed, or disagrees with its hash: acknowledged events would be
    /// missing, and appending would overwrite the evidence. Restore a backup; if the loss is
    /// accepted after investigation, remove the `chain-head` file to open anyway. (By the time this
    /// refusal happens, sled's own recovery has already zeroed the damaged tail of its files, as
    /// measured on 0.34.7: the lost events can only come back from a backup. [`verify_dir`]
    /// checks a copy instead.)
    ///
    /// [`verify_dir`]: crate::verify_dir
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        SledStore::open_with(dir, &StoreOptions::default())
    }

    /// [`SledStore::open`] with settings (the size of sled's page cache).
    pub fn open_with(dir: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::storage(&format!("cannot create {dir:?}"), e))?;
        let db = sled_config(dir)
            .cache_capacity(options.cache_bytes)
            .open()
            .map_err(|e| map_open_error(dir, e))?;
        let recovered = recover(&db)?;
        let db_file = sync_dirs_and_open_log(dir)?;
        check_sidecar(&db, dir, &recovered.head)?;
        let sidecar = SidecarWriter::new(dir);
        sidecar
            .write(&recovered.head)
            .map_err(|e| StoreError::storage("cannot write the chain-head sidecar", e))?;

        let (head, _) = watch::channel(HeadState {
            position: recovered.head.position,
            closed: false,
        });
        let shared = Arc::new(Shared {
            db,
            dir: dir.to_path_buf(),
            head,
            timings: Arc::default(),
            condition: Arc::default(),
        });
        let (requests, receiver) = mpsc::channel();
        let writer = Writer::new(
            Arc::clone(&shared),
            receiver,
            recovered.head,
            recovered.recorded_at,
            sidecar,
            db_file,
        );
        let writer = std::thread::Builder::new()
            .name("jeugdpad-store-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::storage("cannot start the writer thread", e))?;
        tracing::info!(dir = ?dir, head = recovered.head.position, "event store opened");
        Ok(SledStore {
            shared,
            requests: Some(requests),
            writer: Some(writer),
        })
    }

    /// Opens the store in `dir` like [`SledStore::open`], but only one that exists: a directory
    /// without a store is [`StoreError::NotAStore`] and nothing is created. For commands that
    /// read or change an installation, where a mistyped directory must not become a new, empty
    /// one.
    pub fn open_existing(dir: &Path) -> Result<Self, StoreError> {
        if !holds_store(dir) {
            return Err(StoreError::NotAStore(dir.to_path_buf()));
        }
        SledStore::open(dir)
    }

    /// Walks the whole durable log and checks positions, the hash chain, both indexes, stream
    /// versions and the sidecar (see [`VerifyReport`]). Blocking; safe while appends go on (it
    /// checks the log up to the head at its start).
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let limit = self.shared.durable_head();
        let sidecar = sidecar::read(&self.shared.dir);
        Ok(verify::verify_tree(
            &self.shared.db,
            Some(limit),
            sidecar,
            None,
        ))
    }

    /// See [`crate::LogStore::hash_at`].
    pub fn hash_at(&self, position: u64) -> Result<String, StoreError> {
        let missing = || StoreError::Corrupt {
            position: Some(position),
            what: "no event is stored at this position".into(),
        };
        if position == 0 || position > self.shared.durable_head() {
            return Err(missing());
        }
        let value = self
            .shared
            .db
            .get(keys::log_key(position))
            .map_err(|e| StoreError::storage("reading the log", e))?
            .ok_or_else(missing)?;
        let (hash, _) = envelope::split_record(&value).map_err(|what| StoreError::Corrupt {
            position: Some(position),
            what,
        })?;
        Ok(hex::encode(hash))
    }

    /// Like [`EventStore::append`], but blocks the calling thread (for command-line tools and
    /// benchmarks). Must not be called on an async runtime's worker thread.
    pub fn append_blocking(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        Submitted::append(&self.requests, stream_id, expected, events).wait()
    }

    /// Stops the writer after it answered every submitted append, and flushes. Reports a writer
    /// that died (a bug) or a final flush that failed.
    ///
    /// Returns once the directory is free for the next opener: sled releases its file lock
    /// when its last internal handle drops, which can trail the final flush by a moment (its
    /// I/O threads let go afterwards), so this waits — up to five seconds — until the lock can
    /// be taken. Other handles on the store (a subscription, a vault) keep it open, as before.
    pub fn close(mut self) -> Result<(), StoreError> {
        let result = self.shutdown();
        let log = self.shared.dir.join(SLED_DIR).join("db");
        let alone = Arc::strong_count(&self.shared) == 1;
        drop(self);
        if alone {
            wait_until_unlocked(&log);
        }
        result
    }

    /// The kluis beside the log: removable secrets such as per-subject data keys (see [`Vault`]).
    pub fn vault(&self) -> Result<Vault, StoreError> {
        let owner = Arc::clone(&self.shared) as _;
        Vault::open(&self.shared.db, &self.shared.dir.join(SLED_DIR), owner)
    }

    /// How long the writer thread's appends, flushes and `fdatasync`s take (see
    /// [`WriterTimings`]). A shared handle: holding it does not keep the store open.
    pub fn timings(&self) -> Arc<WriterTimings> {
        Arc::clone(&self.shared.timings)
    }

    /// Whether the writer takes appends, and why not. After a failed write this engine takes
    /// none until it is reopened ([`crate::Stopped::resumes_by_itself`] is `false`).
    pub fn condition(&self) -> Arc<crate::Condition> {
        Arc::clone(&self.shared.condition)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    fn shutdown(&mut self) -> Result<(), StoreError> {
        // Dropping the sender ends the writer's loop once it has drained the channel.
        drop(self.requests.take());
        let mut result = Ok(());
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("the event store writer thread panicked");
                result = Err(StoreError::Storage("the writer thread panicked".into()));
            }
        }
        self.shared.head.send_modify(|head| head.closed = true);
        if let Err(e) = self.shared.db.flush() {
            result = Err(StoreError::storage("final flush", e));
        }
        result
    }

    /// Imports events **with their envelopes as they are**: position, version, event id,
    /// `recorded_at`, `recorded_by` and the rest are stored unchanged, so a log exported from
    /// one store and imported into an empty one gets the very same canonical bytes and therefore
    /// the very same hash chain. This is how history migrates in (`jeugdpad import`).
    ///
    /// Accepted only when the events fit exactly where the log stands: the first event's
    /// position is the head + 1 and each next one follows without a gap, each event's version is
    /// its stream's next version, no event id is already stored, and `recorded_at` never
    /// decreases along the log (nor goes back before the last stored event). It goes through the
    /// same writer thread as every append — the same group commit, the same hash chain, durable
    /// when it resolves — and is all-or-nothing: one misfit rejects the whole call
    /// ([`StoreError::InvalidAppend`], [`StoreError::Conflict`] or
    /// [`StoreError::EventIdReused`]) and nothing is written. At most
    /// [`MAX_EVENTS_PER_APPEND`] events per call: import a long log in consecutive calls (they
    /// may be in flight together; each is checked against the ones before it).
    ///
    /// The store does not interpret payloads: validating them against the domain is the
    /// caller's job (`jeugdpad-interchange` replays every stream through the domain first).
    pub fn import_batch(
        &self,
        events: Vec<RecordedEvent>,
    ) -> impl std::future::Future<Output = Result<AppendOutcome, StoreError>> + Send {
        Submitted::import(&self.requests, events).answer()
    }

    /// [`SledStore::import_batch`] for command-line tools: blocks the calling thread. Must not
    /// be called on an async runtime's worker thread.
    pub fn import_batch_blocking(
        &self,
        events: Vec<RecordedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        Submitted::import(&self.requests, events).wait()
    }

    /// Imports envelopes byte for byte (see [`crate::Store::import_envelopes_blocking`]). Only
    /// the canonical JSON of format 1 is taken: this engine reads nothing else.
    pub fn import_envelopes_blocking(
        &self,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<AppendOutcome, StoreError> {
        Submitted::import_envelopes(&self.requests, envelopes, envelope::decode).wait()
    }

    /// See [`crate::Store::read_envelopes`].
    pub fn read_envelopes(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<crate::StoredEnvelope>, StoreError> {
        self.shared.read_envelopes(from_position, max)
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        if self.requests.is_some() || self.writer.is_some() {
            if let Err(e) = self.shutdown() {
                tracing::error!(error = %e, "closing the event store failed");
            }
        }
    }
}

impl EventStore for SledStore {
    /// The append is validated and submitted during the call: dropping the future does not
    /// cancel it, and closing the store first answers everything submitted.
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

    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.shared.read_all(from_position, max)
    }

    fn head(&self) -> u64 {
        self.shared.durable_head()
    }

    fn subscribe(&self, from_position: u64) -> Subscription {
        let head = self.shared.head.subscribe();
        Subscription::new(Arc::clone(&self.shared) as _, head, from_position)
    }
}

/// Waits (up to five seconds) until nobody holds sled's lock on `log`.
pub(crate) fn wait_until_unlocked(log: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while let Ok(file) = std::fs::File::open(log) {
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                return;
            }
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(_) => {
                tracing::warn!(?log, "the store's lock is still held 5 s after closing");
                return;
            }
        }
    }
}

/// Makes the directory entries of sled's files durable (sled does not sync directories) and opens
/// sled's log file for the writer's `fdatasync`.
fn sync_dirs_and_open_log(dir: &Path) -> Result<std::fs::File, StoreError> {
    let sled_dir = dir.join(SLED_DIR);
    for path in [dir, sled_dir.as_path()] {
        std::fs::File::open(path)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::storage(&format!("cannot sync directory {path:?}"), e))?;
    }
    let log = sled_dir.join("db");
    std::fs::File::open(&log).map_err(|e| StoreError::storage(&format!("cannot open {log:?}"), e))
}

pub(crate) fn validate_append(stream_id: &str, events: &[ProposedEvent]) -> Result<(), StoreError> {
    validate_stream_id(stream_id)?;
    if events.is_empty() {
        return Err(StoreError::InvalidAppend(
            "an append needs at least one event".into(),
        ));
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(StoreError::InvalidAppend(format!(
            "an append may carry at most {MAX_EVENTS_PER_APPEND} events, not {}",
            events.len()
        )));
    }
    let mut ids = std::collections::HashSet::with_capacity(events.len());
    for event in events {
        if !ids.insert(event.event_id) {
            return Err(StoreError::InvalidAppend(format!(
                "event id {} occurs twice in one append",
                event.event_id
            )));
        }
        if event.event_type.is_empty() {
            return Err(StoreError::InvalidAppend(format!(
                "event {} has an empty type",
                event.event_id
            )));
        }
    }
    Ok(())
}

/// The checks of an import that need no state: size, stream ids, types.
pub(crate) fn validate_import(events: &[RecordedEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(StoreError::InvalidAppend(
            "an import needs at least one event".into(),
        ));
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(StoreError::InvalidAppend(format!(
            "an import may carry at most {MAX_EVENTS_PER_APPEND} events per call, not {}",
            events.len()
        )));
    }
    for event in events {
        validate_stream_id(&event.stream_id)?;
        if event.event_type.is_empty() {
            return Err(StoreError::InvalidAppend(format!(
                "event {} has an empty type",
                event.event_id
            )));
        }
    }
    Ok(())
}

/// Finds the committed head: the last log record, cross-checked with the `H` key written in the
/// same batch.
fn recover(db: &sled::Db) -> Result<Recovered, StoreError> {
    let corrupt = |position: Option<u64>, what: String| StoreError::Corrupt { position, what };
    let last = db
        .scan_prefix([keys::LOG])
        .next_back()
        .transpose()
        .map_err(|e| StoreError::storage("reading the end of the log", e))?;
    let head_key = db
        .get(keys::HEAD)
        .map_err(|e| StoreError::storage("reading the chain head", e))?;
    let (head, recorded_at) = match last {
        None => (
            ChainHead {
                position: 0,
                hash: GENESIS,
            },
            None,
        ),
        Some((key, value)) => {
            let position = keys::position_of_log_key(&key)
                .ok_or_else(|| corrupt(None, "malformed last log key".into()))?;
            let (hash, canonical) =
                envelope::split_record(&value).map_err(|w| corrupt(Some(position), w))?;
            let event = envelope::decode(canonical).map_err(|w| corrupt(Some(position), w))?;
            (ChainHead { position, hash }, Some(event.recorded_at))
        }
    };
    let stored_head = head_key
        .map(|value| {
            keys::decode_head(&value).ok_or_else(|| corrupt(None, "malformed chain head".into()))
        })
        .transpose()?
        .unwrap_or((0, GENESIS));
    if stored_head != (head.position, head.hash) {
        return Err(corrupt(
            Some(head.position.min(stored_head.0) + 1),
            format!(
                "the log ends at position {} but the chain head key says {}",
                head.position, stored_head.0
            ),
        ));
    }
    Ok(Recovered { head, recorded_at })
}

/// Compares the recovered head with the sidecar; see [`SledStore::open`].
fn check_sidecar(db: &sled::Db, dir: &Path, head: &ChainHead) -> Result<(), StoreError> {
    let recorded = match sidecar::read(dir) {
        Ok(Some(recorded)) => recorded,
        Ok(None) => {
            if head.position > 0 {
                tracing::warn!(dir = ?dir, "no chain-head sidecar; a cut log could go unnoticed");
            }
            return Ok(());
        }
        Err(why) => {
            tracing::warn!(dir = ?dir, %why, "ignoring an unreadable chain-head sidecar");
            return Ok(());
        }
    };
    let missing = |what: String| StoreError::Corrupt {
        position: Some(head.position + 1),
        what,
    };
    if recorded.position > head.position {
        return Err(missing(format!(
            "the log ends at position {} but {} records position {} as committed: positions {}..={} are missing; restore a backup",
            head.position,
            sidecar::FILE_NAME,
            recorded.position,
            head.position + 1,
            recorded.position
        )));
    }
    if recorded.position == 0 {
        return Ok(());
    }
    let value = db
        .get(keys::log_key(recorded.position))
        .map_err(|e| StoreError::storage("reading the log", e))?;
    let stored: Option<[u8; HASH_LEN]> = value
        .as_deref()
        .and_then(|v| envelope::split_record(v).ok())
        .map(|(hash, _)| hash);
    if stored != Some(recorded.hash) {
        return Err(StoreError::Corrupt {
            position: Some(recorded.position),
            what: format!(
                "position {} does not carry the chain hash {} records for it",
                recorded.position,
                sidecar::FILE_NAME
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u128) -> ProposedEvent {
        ProposedEvent {
            event_id: uuid::Uuid::from_u128(n),
            event_type: "t".into(),
            schema_version: 1,
            occurred_on: chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date"),
            recorded_by: "u".into(),
            correlation_id: None,
            causation_id: None,
            payload: serde_json::json!({ "n": n as u64 }),
        }
    }

    /// The trait's own `read_all_raw`, which the other engines use: the payload written back
    /// out as JSON text.
    #[test]
    fn raw_reads_hand_out_each_payload_as_json_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        for i in 1..=5 {
            store
                .append_blocking("s", ExpectedVersion::Any, vec![event(i)])
                .expect("append");
        }
        let read = store.read_all(2, 3).expect("read_all");
        let raw = store.read_all_raw(2, 3).expect("read_all_raw");
        assert_eq!(raw.len(), 3);
        for (raw, read) in raw.into_iter().zip(read) {
            let payload: serde_json::Value = serde_json::from_slice(&raw.payload).expect("JSON");
            assert_eq!(raw.with_payload(payload), read);
        }
        store.close().expect("close");
    }

    #[tokio::test]
    async fn closing_commits_every_append_already_submitted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let pending: Vec<_> = (0..20)
            .map(|i| {
                crate::check::Submitted::append(
                    &store.requests,
                    &format!("s-{}", i % 3),
                    ExpectedVersion::Any,
                    vec![event(i)],
                )
            })
            .collect();
        store.close().expect("close");
        for (i, submitted) in pending.into_iter().enumerate() {
            let outcome = submitted.answer().await.expect("committed");
            assert!(!outcome.already_stored, "append {i}");
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(store.head(), 20);
        assert!(store.verify().expect("verify").is_ok());
    }

    #[tokio::test]
    async fn an_imported_log_keeps_its_envelopes_and_its_hash_chain() {
        let source_dir = tempfile::tempdir().expect("tempdir");
        let source = SledStore::open(source_dir.path()).expect("open");
        for i in 0..30 {
            source
                .append(
                    &format!("s-{}", i % 4),
                    ExpectedVersion::Any,
                    vec![event(i)],
                )
                .await
                .expect("append");
        }
        let events = source.read_all(0, 100).expect("read");
        let target_dir = tempfile::tempdir().expect("tempdir");
        let target = SledStore::open(target_dir.path()).expect("open");
        // Two calls in flight together: each is checked against the one before it.
        let (first, rest) = events.split_at(12);
        let a = target.import_batch(first.to_vec());
        let b = target.import_batch(rest.to_vec());
        assert_eq!(a.await.expect("first part").last_position, 12);
        assert_eq!(b.await.expect("second part").last_position, 30);
        assert_eq!(target.read_all(0, 100).expect("read"), events);
        let (want, got) = (
            source.verify().expect("verify"),
            target.verify().expect("verify"),
        );
        assert!(got.is_ok());
        assert_eq!(got.head_hash, want.head_hash);
        // Appends after an import continue the chain, never earlier than the imported events.
        let outcome = target
            .append("s-0", ExpectedVersion::Exact(8), vec![event(99)])
            .await
            .expect("append after import");
        assert_eq!(outcome.first_position, 31);
        let last = target.read_all(31, 1).expect("read").remove(0);
        assert!(last.recorded_at >= events[29].recorded_at);
    }

    #[tokio::test]
    async fn an_import_that_does_not_fit_writes_nothing() {
        let source_dir = tempfile::tempdir().expect("tempdir");
        let source = SledStore::open(source_dir.path()).expect("open");
        for i in 0..4 {
            source
                .append("s", ExpectedVersion::Any, vec![event(i)])
                .await
                .expect("append");
        }
        let events = source.read_all(0, 10).expect("read");
        let dir = tempfile::tempdir().expect("tempdir");
        let target = SledStore::open(dir.path()).expect("open");
        // A gap in positions.
        let gap = vec![events[0].clone(), events[2].clone()];
        assert!(matches!(
            target.import_batch(gap).await,
            Err(StoreError::InvalidAppend(_))
        ));
        // A version that is not the stream's next one.
        let mut wrong_version = events[0].clone();
        wrong_version.version = 2;
        assert!(matches!(
            target.import_batch(vec![wrong_version]).await,
            Err(StoreError::Conflict { .. })
        ));
        // recorded_at going backwards.
        let mut backwards = events[..2].to_vec();
        backwards[1].recorded_at = backwards[0].recorded_at - chrono::Duration::seconds(1);
        assert!(matches!(
            target.import_batch(backwards).await,
            Err(StoreError::InvalidAppend(_))
        ));
        assert_eq!(target.head(), 0);
        target
            .import_batch(events[..1].to_vec())
            .await
            .expect("fits");
        // An id the store already holds.
        let mut reused = events[1].clone();
        reused.event_id = events[0].event_id;
        assert!(matches!(
            target.import_batch(vec![reused]).await,
            Err(StoreError::EventIdReused { .. })
        ));
        assert_eq!(target.head(), 1);
        assert!(target.verify().expect("verify").is_ok());
    }
}
