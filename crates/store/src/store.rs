//! [`Store`]: the one handle on the event store, whichever engine holds it.
//!
//! A new data directory gets the segment log ([`LogStore`], format 2). A directory written by an
//! earlier release holds a sled store ([`SledStore`], format 1) and is opened with that engine,
//! unchanged: no upgrade happens on open (see `docs/store-format.md`). A store shared by several
//! nodes lives in PostgreSQL ([`PgStore`], [`Store::open_postgres`]).

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use futures_util::future::Either;

use crate::log::holds_log_store;
use crate::sled_store::holds_store as holds_sled_store;
use crate::{
    AppendOutcome, Condition, EventStore, ExpectedVersion, LogOptions, LogStore, PgOptions,
    PgStore, ProposedEvent, RawEvent, RecordedEvent, SledStore, StoreError, StoreOptions,
    StoredEnvelope, Subscription, Vault, VerifyReport, WriterTimings,
};

/// The event store: the segment log for new data directories, sled for those an earlier release
/// wrote, or PostgreSQL for a store several nodes share. Every method forwards to the engine.
#[derive(Debug)]
pub enum Store {
    /// Format 1: one sled tree (directories written before the segment log).
    Sled(SledStore),
    /// Format 2: the segment log with derived indexes.
    Log(LogStore),
    /// Tables in a PostgreSQL schema, shared by every node that opens it.
    Postgres(PgStore),
}

/// Which engine a directory holds, or would get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// sled (format 1).
    Sled,
    /// The segment log (format 2).
    Log,
    /// PostgreSQL (never in a directory).
    Postgres,
}

impl Format {
    /// What `dir` holds: `None` when it holds no store (a new one would be [`Format::Log`]).
    pub fn of(dir: &Path) -> Option<Format> {
        if holds_log_store(dir) {
            Some(Format::Log)
        } else if holds_sled_store(dir) {
            Some(Format::Sled)
        } else {
            None
        }
    }
}

impl Store {
    /// Opens the store in `dir`, creating a segment log if there is none.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Store::open_with(dir, &StoreOptions::default())
    }

    /// [`Store::open`] with settings (`cache_bytes` sizes sled's page cache, or the vault's).
    pub fn open_with(dir: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        crate::copy::refuse_unfinished_restore(dir)?;
        match Format::of(dir) {
            Some(Format::Sled) => SledStore::open_with(dir, options).map(Store::Sled),
            Some(Format::Log | Format::Postgres) | None => {
                let options = LogOptions {
                    vault_cache_bytes: options.cache_bytes,
                    ..LogOptions::default()
                };
                LogStore::open_with(dir, &options).map(Store::Log)
            }
        }
    }

    /// Opens (creating or migrating its tables) the store in PostgreSQL that `options` name.
    pub fn open_postgres(options: &PgOptions) -> Result<Self, StoreError> {
        PgStore::open(options).map(Store::Postgres)
    }

    /// Opens only a store that exists ([`StoreError::NotAStore`] otherwise).
    pub fn open_existing(dir: &Path) -> Result<Self, StoreError> {
        if Format::of(dir).is_none() {
            return Err(StoreError::NotAStore(dir.to_path_buf()));
        }
        Store::open(dir)
    }

    /// The format this store is in.
    pub fn format(&self) -> Format {
        match self {
            Store::Sled(_) => Format::Sled,
            Store::Log(_) => Format::Log,
            Store::Postgres(_) => Format::Postgres,
        }
    }

    /// See [`SledStore::verify`], [`LogStore::verify`] and [`PgStore::verify_at`].
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        match self {
            Store::Sled(store) => store.verify(),
            Store::Log(store) => store.verify(),
            Store::Postgres(store) => store.verify_at(None),
        }
    }

    /// See [`SledStore::append_blocking`].
    pub fn append_blocking(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        match self {
            Store::Sled(store) => store.append_blocking(stream_id, expected, events),
            Store::Log(store) => store.append_blocking(stream_id, expected, events),
            Store::Postgres(store) => store.append_blocking(stream_id, expected, events),
        }
    }

    /// See [`SledStore::import_batch`].
    pub fn import_batch(
        &self,
        events: Vec<RecordedEvent>,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        // Submitted now, awaited later (as the engines promise); each engine's future is a type
        // of its own, hence the `Either`s.
        match self {
            Store::Sled(store) => Either::Left(store.import_batch(events)),
            Store::Log(store) => Either::Right(Either::Left(store.import_batch(events))),
            Store::Postgres(store) => Either::Right(Either::Right(store.import_batch(events))),
        }
    }

    /// See [`SledStore::import_batch_blocking`].
    pub fn import_batch_blocking(
        &self,
        events: Vec<RecordedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        match self {
            Store::Sled(store) => store.import_batch_blocking(events),
            Store::Log(store) => store.import_batch_blocking(events),
            Store::Postgres(store) => store.import_batch_blocking(events),
        }
    }

    /// Up to `max` stored envelopes from `from_position` on, byte for byte as the chain hashes
    /// them (the canonical JSON of format 1, or a binary envelope). Blocking.
    pub fn read_envelopes(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<StoredEnvelope>, StoreError> {
        match self {
            Store::Sled(store) => store.read_envelopes(from_position, max),
            Store::Log(store) => store.read_envelopes(from_position, max),
            Store::Postgres(store) => store.read_envelopes(from_position, max),
        }
    }

    /// Imports envelopes read by [`Store::read_envelopes`] from another store, stored as they
    /// are: the same contract as [`SledStore::import_batch`], and the chain hashes come out the
    /// same as the source's. The segment log and PostgreSQL take both envelope kinds; a sled
    /// store only its own JSON. Blocking.
    pub fn import_envelopes_blocking(
        &self,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<AppendOutcome, StoreError> {
        match self {
            Store::Sled(store) => store.import_envelopes_blocking(envelopes),
            Store::Log(store) => store.import_envelopes_blocking(envelopes),
            Store::Postgres(store) => store.import_envelopes_blocking(envelopes),
        }
    }

    /// The chain hash stored with the event at `position`, in hex (see [`LogStore::hash_at`]):
    /// one record read, not a walk of the log. `Corrupt` when no event is stored there.
    pub fn hash_at(&self, position: u64) -> Result<String, StoreError> {
        match self {
            Store::Sled(store) => store.hash_at(position),
            Store::Log(store) => store.hash_at(position),
            Store::Postgres(store) => store.hash_at(position),
        }
    }

    /// See [`SledStore::close`].
    pub fn close(self) -> Result<(), StoreError> {
        match self {
            Store::Sled(store) => store.close(),
            Store::Log(store) => store.close(),
            Store::Postgres(store) => store.close(),
        }
    }

    /// See [`SledStore::vault`].
    pub fn vault(&self) -> Result<Vault, StoreError> {
        match self {
            Store::Sled(store) => store.vault(),
            Store::Log(store) => store.vault(),
            Store::Postgres(store) => store.vault(),
        }
    }

    /// See [`SledStore::timings`].
    pub fn timings(&self) -> Arc<WriterTimings> {
        match self {
            Store::Sled(store) => store.timings(),
            Store::Log(store) => store.timings(),
            Store::Postgres(store) => store.timings(),
        }
    }

    /// See [`LogStore::condition`] and [`SledStore::condition`].
    pub fn condition(&self) -> Arc<Condition> {
        match self {
            Store::Sled(store) => store.condition(),
            Store::Log(store) => store.condition(),
            Store::Postgres(store) => store.condition(),
        }
    }

    /// A segment log on a file layer that fails on command (see [`crate::Faults`]), for tests.
    #[cfg(feature = "test-support")]
    pub fn open_log_with_faults(
        dir: &Path,
        faults: Arc<crate::Faults>,
    ) -> Result<Self, StoreError> {
        LogStore::open_with_faults(dir, &LogOptions::default(), faults).map(Store::Log)
    }

    /// The store directory; for PostgreSQL, this node's own directory (the installation secret
    /// by default).
    pub fn dir(&self) -> &Path {
        match self {
            Store::Sled(store) => store.dir(),
            Store::Log(store) => store.dir(),
            Store::Postgres(store) => store.dir(),
        }
    }

    /// Whether reads are `pread`s of the segment log's files, so that reading one stream's few
    /// records is short enough for an async worker (from the page cache, as a rule). Sled's
    /// reads can wait on its own locks and page-ins, PostgreSQL's on the network and the
    /// database: those belong on a blocking thread.
    pub fn reads_are_short(&self) -> bool {
        matches!(self, Store::Log(_))
    }
}

impl EventStore for Store {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        match self {
            Store::Sled(store) => Either::Left(store.append(stream_id, expected, events)),
            Store::Log(store) => {
                Either::Right(Either::Left(store.append(stream_id, expected, events)))
            }
            Store::Postgres(store) => {
                Either::Right(Either::Right(store.append(stream_id, expected, events)))
            }
        }
    }

    fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            Store::Sled(store) => store.read_stream(stream_id),
            Store::Log(store) => store.read_stream(stream_id),
            Store::Postgres(store) => store.read_stream(stream_id),
        }
    }

    fn read_stream_raw(&self, stream_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        match self {
            Store::Sled(store) => store.read_stream_raw(stream_id),
            Store::Log(store) => store.read_stream_raw(stream_id),
            Store::Postgres(store) => store.read_stream_raw(stream_id),
        }
    }

    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            Store::Sled(store) => store.read_all(from_position, max),
            Store::Log(store) => store.read_all(from_position, max),
            Store::Postgres(store) => store.read_all(from_position, max),
        }
    }

    fn read_all_raw(&self, from_position: u64, max: usize) -> Result<Vec<RawEvent>, StoreError> {
        match self {
            Store::Sled(store) => store.read_all_raw(from_position, max),
            Store::Log(store) => store.read_all_raw(from_position, max),
            Store::Postgres(store) => store.read_all_raw(from_position, max),
        }
    }

    fn head(&self) -> u64 {
        match self {
            Store::Sled(store) => store.head(),
            Store::Log(store) => store.head(),
            Store::Postgres(store) => store.head(),
        }
    }

    fn subscribe(&self, from_position: u64) -> Subscription {
        match self {
            Store::Sled(store) => store.subscribe(from_position),
            Store::Log(store) => store.subscribe(from_position),
            Store::Postgres(store) => store.subscribe(from_position),
        }
    }
}
