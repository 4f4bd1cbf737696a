//! Jeugdpad's event store: streams of opaque, typed envelopes with expected versions, gapless
//! global positions, idempotent event ids, subscriptions, and a tamper-evident hash chain. It knows
//! envelopes and bytes, never trajectories.
//!
//! Three back ends, one handle: [`Store`] opens whichever a data directory holds and gives a new
//! directory the segment log, or opens a store in PostgreSQL ([`Store::open_postgres`]).
//!
//! - [`LogStore`] (format 2, every new directory): append-only segment files with one write and
//!   one `fdatasync` per group commit, and indexes derived from them. Its module docs (`log/`)
//!   and `docs/store-format.md` describe it; the rest of *this* page describes the sled engine.
//! - [`SledStore`] (format 1, directories written before the segment log; sled 0.34.7).
//! - [`PgStore`] (tables in a PostgreSQL schema shared by several nodes): one transaction per
//!   group commit under a lock on the head row; its module docs (`postgres/`) describe it.
//!
//! Callers code against the [`EventStore`] trait.
//!
//! # Why reads are blocking, not async
//!
//! [`EventStore::read_stream`] and [`EventStore::read_all`] block the calling thread, and every
//! caller already runs them on blocking threads (`spawn_blocking`, the projector's catch-up,
//! the command line). The embedded engines read files, which have no async interface worth the
//! name on Linux; the PostgreSQL engine answers its blocking methods from a small runtime of its
//! own, so they work from any thread, and an append (the one operation on the request path of
//! every step) is async on all three. Async reads would add a `spawn_blocking` inside each
//! embedded engine and change nothing for PostgreSQL; the trait stays as it is until a back end
//! needs more than that.
//!
//! # Files (sled engine)
//!
//! A store directory holds `sled/` (sled's own files: `conf`, `db`, `snap.*`, `blobs/`) and the
//! chain-head sidecar `chain-head` (see below).
//!
//! # Key layout
//!
//! Everything lives in **one** sled tree, because `apply_batch` is atomic only within a tree:
//!
//! | key | value |
//! |---|---|
//! | `L` ‖ position (u64 BE) | record: chain hash (32 bytes) ‖ canonical envelope JSON |
//! | `S` ‖ stream id ‖ `0x00` ‖ version (u64 BE) | position (u64 BE) |
//! | `E` ‖ event id (16 bytes) | position (u64 BE) |
//! | `H` | chain head: position (u64 BE) ‖ chain hash (32 bytes) |
//!
//! Numbers are big-endian fixed width, so byte order is numeric order: reading the log from a
//! position is one range scan, and a stream's current version is one reverse prefix scan. Nothing
//! per stream or per event is kept in memory: this is built for a million streams and twenty
//! million events. Stream ids cannot contain NUL, so `0x00` ends the stream prefix unambiguously.
//!
//! # Group commit
//!
//! One dedicated writer thread owns every write. It blocks for the first pending append, then
//! drains every other pending one (up to a bound), and checks each request in arrival order
//! against the durable state *plus* the requests already accepted earlier in the same group
//! (expected version, event-id idempotency). Rejected requests are set aside; the accepted ones
//! go into **one** `sled::Batch` (log records, stream index, event-id index, chain head), which is
//! applied atomically and then `flush`ed (fsync). Only after the flush returns does the writer
//! publish the new durable head (readers and subscribers never see more than that) and answer
//! every waiter of the group through its own oneshot channel. One fsync thus serves many appends.
//!
//! If the apply or the flush fails, every waiter of the group gets [`StoreError::Storage`] and the
//! published head stays where it was. Because a failed flush leaves unknown state behind (the
//! batch may still reach the disk later), the writer then stops accepting appends: every further
//! append fails with [`StoreError::StorageFull`] (the flush failed with `ENOSPC` or `EDQUOT`) or
//! [`StoreError::Failed`], without being written, until the store is reopened — the server must be
//! restarted; [`SledStore::condition`] says so — and reopening recovers whatever is durable.
//! `Storage` therefore means "outcome unknown"; a retry with the same event ids is safe. (The
//! segment log instead cuts a failed group and resumes by itself; see its module docs.)
//!
//! # Import: events with their envelopes
//!
//! [`SledStore::import_batch`] stores events exactly as given — position, version, event id,
//! `recorded_at`, `recorded_by` — so a log exported from one store and imported into an empty
//! one has the same canonical bytes and therefore the same hash chain (the same
//! [`VerifyReport::head_hash`]). It is accepted only when the events continue the log exactly:
//! next position, next stream version, unused event id, `recorded_at` not before the previous
//! event's. It goes through the same writer thread, group commit and chain as an append and is
//! all-or-nothing per call. Appends after an import get a `recorded_at` no earlier than the last
//! imported one, so `recorded_at` stays non-decreasing along the log. The store does not check
//! payloads: the importer (`jeugdpad-interchange`) validates every stream through the domain
//! before it calls this.
//!
//! # Durability guarantee, and its limits
//!
//! An append resolves `Ok` only after sled's `flush` returned for the batch holding it *and* an
//! `fdatasync` of sled's log file (on Linux sled 0.34.7 ends its flush with `sync_file_range`,
//! which syncs neither the growing file's metadata nor the drive's cache). So an acknowledged
//! append survives `kill -9` and, as far as the file system and drive honour `fdatasync`, power
//! loss. Events are capped at [`MAX_EVENT_BYTES`] so that sled never moves one into a separate
//! blob file, which sled writes without any sync. `crates/store/tests/crash.rs` checks the first claim by SIGKILLing a real process under
//! load and comparing every acknowledged event. Limits: sled 0.34 has public reports of
//! corruption after crashes (see `/shared/DEPENDENCIES.md`), which is why the log carries its own
//! hash chain and why [`verify_dir`] exists; a disk that lies about `fsync` loses data no software
//! can keep.
//!
//! # Hash chain
//!
//! Each log record is `hash_n ‖ canonical_n` with `hash_n = SHA-256(hash_{n-1} ‖ canonical_n)`,
//! `hash_0` = 32 zero bytes, and `canonical_n` the exact stored envelope bytes (JSON, fixed field
//! order). [`SledStore::verify`] walks the whole log and checks positions, every chain link, both
//! indexes and stream versions, naming the first broken position. The chain makes accidental or
//! careless changes evident; someone able to rewrite the whole file can recompute it, so an
//! operator who needs more records [`VerifyReport::head_hash`] somewhere else from time to time.
//!
//! # Chain-head sidecar
//!
//! sled checks a CRC per log message and, on recovery, may stop at a damaged message and drop
//! everything after it *without an error*. The chain cannot notice a clean cut at its end, so after
//! every successful flush the writer also records the last committed position and hash in the
//! small file `chain-head` (written to a temporary file and renamed; no extra fsync). On open, a
//! log that ends before the sidecar's position, or disagrees with its hash, refuses to open with
//! [`StoreError::Corrupt`]; [`verify_dir`] reports "positions N+1..=M missing". Limits: the
//! sidecar survives `kill -9` (the page cache does), but after a power loss it may lag behind the
//! log (it is never ahead of what was durable), so a cut after its position goes unnoticed; and a
//! missing sidecar is only a warning (a restored backup may lack it).

//! # Timings
//!
//! The writer thread times every append (from hand-over to answer), every group's sled flush and
//! every `fdatasync` into fixed buckets ([`WriterTimings`], read with [`SledStore::timings`]).
//! The store depends on no metrics library: the API turns these snapshots into Prometheus
//! histograms at scrape time.

mod check;
mod condition;
pub mod copy;
mod envelope;
mod error;
mod keys;
mod log;
mod postgres;
mod sidecar;
mod sled_store;
mod store;
mod subscription;
mod timings;
pub mod upgrade;
mod vault;
mod verify;
mod writer;

use std::fmt;
use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use condition::{Condition, StopCause, Stopped};
pub use error::StoreError;
#[cfg(feature = "test-support")]
pub use log::Faults;
pub use log::{holds_log_store, LogOptions, LogStore};
/// PostgreSQL for the tests of every crate: the test server and throw-away schemas.
#[cfg(feature = "test-support")]
pub use postgres::testing as pg_testing;
pub use postgres::{PgOptions, PgStore, DEFAULT_SCHEMA as DEFAULT_PG_SCHEMA};
pub use sled_store::{SledStore, StoreOptions};
pub use store::{Format, Store};
pub use subscription::Subscription;
pub use timings::{Timing, TimingSnapshot, WriterTimings, BUCKETS as TIMING_BUCKETS};
pub use vault::{Vault, VaultEntry};
pub use verify::{verify_dir, verify_dir_at, Problem, VerifyReport};

/// The longest stream id accepted, in bytes.
pub const MAX_STREAM_ID_LEN: usize = 200;
/// The largest stored envelope of one event, in bytes. Keeps every sled message far below sled's
/// blob threshold (about 128 KiB), because sled 0.34 writes blob files without any fsync.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// The most events one append may carry.
pub const MAX_EVENTS_PER_APPEND: usize = 10_000;

/// An event proposed for appending, as the caller supplies it: not stored yet. The store adds
/// position, version and `recorded_at`, and then hands it back as a [`RecordedEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedEvent {
    /// Client-supplied id; appending the same id again stores it once (idempotency).
    pub event_id: Uuid,
    /// The event's name, e.g. `signal_received`.
    pub event_type: String,
    /// Version of the payload's schema (old versions are upcast on read, never rewritten).
    pub schema_version: u32,
    /// The day the step happened in the world.
    pub occurred_on: NaiveDate,
    /// The authenticated user who recorded it.
    pub recorded_by: String,
    /// Which request caused it, if known.
    pub correlation_id: Option<Uuid>,
    /// Which event caused it, if any.
    pub causation_id: Option<Uuid>,
    /// The event's own fields.
    pub payload: serde_json::Value,
}

/// One stored event as the bytes its chain hash covers: what a copy of a log carries, so that
/// the copy keeps every hash whichever envelope kind the source wrote (`docs/store-format.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEnvelope {
    /// Its position in the log.
    pub position: u64,
    /// The stored envelope, byte for byte.
    pub bytes: Vec<u8>,
}

/// A stored event with its full envelope (SPEC §1). The payload is parsed JSON unless read with
/// [`EventStore::read_all_raw`], which hands it out as JSON text ([`RawEvent`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent<P = serde_json::Value> {
    /// Global position in the log: 1-based, gapless, strictly increasing.
    pub position: u64,
    /// The stream it belongs to.
    pub stream_id: String,
    /// Its version in that stream: 1-based, gapless.
    pub version: u64,
    /// See [`ProposedEvent::event_id`].
    pub event_id: Uuid,
    /// See [`ProposedEvent::event_type`].
    pub event_type: String,
    /// See [`ProposedEvent::schema_version`].
    pub schema_version: u32,
    /// See [`ProposedEvent::occurred_on`].
    pub occurred_on: NaiveDate,
    /// When the store committed it (UTC). Never decreases along the log, even if the clock does.
    pub recorded_at: DateTime<Utc>,
    /// See [`ProposedEvent::recorded_by`].
    pub recorded_by: String,
    /// See [`ProposedEvent::correlation_id`].
    pub correlation_id: Option<Uuid>,
    /// See [`ProposedEvent::causation_id`].
    pub causation_id: Option<Uuid>,
    /// See [`ProposedEvent::payload`].
    pub payload: P,
}

/// A stored event whose payload is JSON text (the bytes as stored, in the binary envelopes of the
/// segment log and PostgreSQL): for a reader that decodes it into types of its own (the
/// start-up replay), without a `serde_json::Value` tree in between.
pub type RawEvent = RecordedEvent<Vec<u8>>;

impl<P> RecordedEvent<P> {
    /// The same envelope with `payload` in place of this one's.
    pub fn with_payload<Q>(self, payload: Q) -> RecordedEvent<Q> {
        RecordedEvent {
            position: self.position,
            stream_id: self.stream_id,
            version: self.version,
            event_id: self.event_id,
            event_type: self.event_type,
            schema_version: self.schema_version,
            occurred_on: self.occurred_on,
            recorded_at: self.recorded_at,
            recorded_by: self.recorded_by,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            payload,
        }
    }
}

impl RecordedEvent {
    /// The same envelope with its payload written out as JSON text: what a back end that keeps
    /// no payload bytes of its own hands to the `_raw` reads.
    pub fn into_raw(self) -> Result<RawEvent, StoreError> {
        let payload =
            serde_json::to_vec(&self.payload).map_err(|e| StoreError::storage("payload", e))?;
        Ok(self.with_payload(payload))
    }
}

/// What an append expects of the stream's current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet (same as `Exact(0)`).
    NoStream,
    /// The stream's current version must be exactly this (0: no stream).
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream at version `actual` (0: no stream) satisfies this expectation.
    pub fn admits(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(expected) => actual == expected,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// The result of a successful append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendOutcome {
    /// Position of the append's first event.
    pub first_position: u64,
    /// Position of the append's last event.
    pub last_position: u64,
    /// The stream's version after the append's last event.
    pub stream_version: u64,
    /// `true` when every event id was already stored by an earlier append (a retry): nothing was
    /// written and the positions are the original ones.
    pub already_stored: bool,
}

/// The store's contract. Implemented by [`LogStore`], [`SledStore`], [`PgStore`] and [`Store`]
/// (any of them).
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` atomically to `stream_id` if its version admits `expected`.
    ///
    /// Resolves only after the events are durable on disk. Idempotent by event id: if *every*
    /// id is already stored in this stream with the same content, the original positions are
    /// returned with `already_stored = true`, whatever `expected` says, and nothing is written.
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send;

    /// All durable events of one stream in version order (empty when the stream does not exist).
    ///
    /// **Blocking** (reads files): call it from `spawn_blocking` or a plain thread in async code
    /// (one stream's few records from the segment log may be read on an async worker: see
    /// [`Store::reads_are_short`]).
    fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError>;

    /// [`EventStore::read_stream`] with each payload as its JSON text, as
    /// [`EventStore::read_all_raw`] hands them out (a timeline is read this way on every look).
    fn read_stream_raw(&self, stream_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        self.read_stream(stream_id)?
            .into_iter()
            .map(RecordedEvent::into_raw)
            .collect()
    }

    /// Up to `max` durable events with `position >= from_position`, ascending (`0` reads from the
    /// start). **Blocking**, like [`EventStore::read_stream`].
    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// [`EventStore::read_all`] with each payload as its JSON text. The segment log and
    /// PostgreSQL hand out the stored bytes of their binary envelopes; a format-1 JSON envelope,
    /// and sled (this default), have the parsed payload written back out.
    fn read_all_raw(&self, from_position: u64, max: usize) -> Result<Vec<RawEvent>, StoreError> {
        self.read_all(from_position, max)?
            .into_iter()
            .map(RecordedEvent::into_raw)
            .collect()
    }

    /// The last durable global position; 0 when the store is empty. Never blocks.
    fn head(&self) -> u64;

    /// Every event from `from_position` on: first those already stored, then live ones as they
    /// become durable, each exactly once and in order. See [`Subscription`].
    fn subscribe(&self, from_position: u64) -> Subscription;
}

/// Checks a stream id: non-empty, at most [`MAX_STREAM_ID_LEN`] bytes, no control characters
/// (in particular no NUL, which terminates the stream prefix in the index keys).
pub fn validate_stream_id(stream_id: &str) -> Result<(), StoreError> {
    if stream_id.is_empty() {
        return Err(StoreError::InvalidAppend("the stream id is empty".into()));
    }
    if stream_id.len() > MAX_STREAM_ID_LEN {
        return Err(StoreError::InvalidAppend(format!(
            "the stream id is {} bytes long; at most {MAX_STREAM_ID_LEN} are allowed",
            stream_id.len()
        )));
    }
    if stream_id.chars().any(char::is_control) {
        return Err(StoreError::InvalidAppend(
            "the stream id contains a control character".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_are_checked() {
        for bad in ["", "a\0b", "tab\there", &"x".repeat(201)] {
            assert!(matches!(
                validate_stream_id(bad),
                Err(StoreError::InvalidAppend(_))
            ));
        }
        for good in ["trajectory-1", &"x".repeat(200), "traject-ë"] {
            assert!(validate_stream_id(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn expected_version_admits() {
        assert!(ExpectedVersion::Any.admits(7));
        assert!(ExpectedVersion::NoStream.admits(0));
        assert!(!ExpectedVersion::NoStream.admits(1));
        assert!(ExpectedVersion::Exact(0).admits(0));
        assert!(ExpectedVersion::Exact(3).admits(3));
        assert!(!ExpectedVersion::Exact(3).admits(4));
    }
}
