//! The one error type of the store.
//!
//! The variants keep the three kinds of failure apart that the layers above must treat
//! differently: the caller's mistake ([`StoreError::InvalidAppend`],
//! [`StoreError::EventIdReused`]), a lost race ([`StoreError::Conflict`]: reload and retry), and an
//! infrastructure fault ([`StoreError::Storage`], [`StoreError::StorageFull`],
//! [`StoreError::Failed`], [`StoreError::Corrupt`], [`StoreError::Closed`]: not the user's fault;
//! log it). A full disk has a variant of its own because the operator's remedy differs (free
//! space) and callers must not find it by matching text.

use std::path::PathBuf;

use uuid::Uuid;

use crate::ExpectedVersion;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else appended to the stream first. Nothing was written: reload the stream and
    /// decide again.
    #[error("stream {stream_id:?} is at version {actual}, but the append expected {expected}")]
    Conflict {
        /// The stream that was appended to.
        stream_id: String,
        /// What the append expected.
        expected: ExpectedVersion,
        /// The stream's durable version when the append was checked (0: no such stream).
        actual: u64,
    },

    /// An event id of the append is already stored, but the append is not a plain retry of the
    /// append that stored it (only some of its ids are stored, an id lives in another stream, or
    /// the stored event differs). Nothing was written.
    #[error("event id {event_id} is already stored and cannot be reused here: {reason}")]
    EventIdReused {
        /// The first offending id of the append.
        event_id: Uuid,
        /// Why the append is not an idempotent retry.
        reason: String,
    },

    /// The append itself is malformed (empty batch, bad stream id, duplicate ids, ...). Nothing
    /// was written.
    #[error("invalid append: {0}")]
    InvalidAppend(String),

    /// The disk or sled failed. For an append this means **the outcome is unknown**: the events
    /// may or may not have become durable. Retrying with the same event ids (after reopening the
    /// store) is always safe, because appends are idempotent by event id.
    #[error("storage failure: {0}")]
    Storage(String),

    /// The disk (or the disk quota) is full (`ENOSPC`, `EDQUOT`): the append was not stored,
    /// and the writer refuses appends until the disk takes writes again (see
    /// [`crate::Condition`]). Also an append past the most events a store can hold (the
    /// segment log's 4,294,967,295): refused on its own, the writer goes on. The segment log cuts what it wrote of a failed group before it
    /// takes appends again; the sled engine, whose failed group may still reach the disk, answers
    /// that group with [`StoreError::Storage`] instead. A retry with the same event ids is safe.
    #[error("the store is full, nothing was stored: {0}")]
    StorageFull(String),

    /// The writer refuses appends after a write or `fdatasync` failed for another reason than a
    /// full disk; the append was not stored (the same rules as [`StoreError::StorageFull`]).
    #[error("the event store takes no appends after a failed write: {0}")]
    Failed(String),

    /// Stored data fails a consistency check (see [`crate::VerifyReport`] for the full picture).
    #[error("the store is corrupt{}: {what}", position.map(|p| format!(" at position {p}")).unwrap_or_default())]
    Corrupt {
        /// The first position found damaged or missing, when one can be named.
        position: Option<u64>,
        /// What is wrong.
        what: String,
    },

    /// The store has been closed (or its writer stopped); the request was not carried out.
    #[error("the event store is closed")]
    Closed,

    /// Another process (typically `jeugdpad serve`), or another handle in this one, has the
    /// store open: the embedded store allows one opener at a time. Nothing was read or written.
    #[error("the store in {0:?} is in use by another process (or another handle in this one)")]
    Locked(PathBuf),

    /// The database server of the PostgreSQL back end cannot be reached (refused, timed out,
    /// authentication failed). Nothing was read or written.
    #[error("cannot reach the PostgreSQL server: {0}")]
    Unreachable(String),

    /// Where the store should be is not usable as given (a malformed `postgres://` URL, a
    /// schema name that is not a plain identifier). Nothing was read or written.
    #[error("{0}")]
    InvalidLocation(String),

    /// The directory does not hold an event store (from [`crate::verify_dir`] and
    /// [`crate::SledStore::open_existing`], which must not create a store where there is none).
    #[error("{0:?} does not hold a Jeugdpad event store")]
    NotAStore(PathBuf),
}

impl StoreError {
    pub(crate) fn storage(context: &str, error: impl std::fmt::Display) -> Self {
        StoreError::Storage(format!("{context}: {error}"))
    }
}
