//! Het toegangslog doorzoeken (NEN 7513): the index that answers an access-log inquiry — by
//! user, by youth (subject key), by trajectory, by period, and any of them together — one page
//! at a time, newest first, without reading the whole log.
//!
//! # A projection of its own, derived from the log
//!
//! The `access-log` stream in the event store is the truth: every entry is durable there before
//! the answer it logs leaves the server. This index is *derived* from it, by the rule the
//! segment log's own indexes follow (`crates/store/src/log/index.rs`, `docs/store-format.md`):
//!
//! - it lives in sled (`DATA/access-index/`), written **without a sync of its own**;
//! - a checkpoint — the last log position looked at, and that event's id — is written in the
//!   same atomic batch as the keys of the entries up to it, so it is never ahead of them;
//! - [`AccessIndex::catch_up`] reads the log from the checkpoint to the store's head. It runs
//!   when the server opens (which covers entries the command line appended while the server was
//!   down, and whatever a crash kept from reaching sled's files), after each entry the server
//!   appends ([`Follower`]), and before every inquiry (so an inquiry sees every entry durable
//!   when it began, its own included);
//! - a deleted index directory is built again from the log; one sled cannot open, or that
//!   fails while catching up, is removed or cleared and rebuilt; a checkpoint the log does not
//!   hold (an index beside a restored store) starts again from position 1 — each with a line
//!   in the log.
//!
//! It sits above the [`EventStore`](jeugdpad_store::EventStore) trait, so it serves both store
//! engines alike. A page is the index's positions, each entry then read from the store by
//! position (`read_all(position, 1)`) and checked against the [`Filter`] before it is shown.
//!
//! # Keys
//!
//! One list per question (every entry; per user; per subject key; per trajectory; by time), each
//! a key range in position order, so the first page of one filter is one bounded range scan read
//! backwards. A period becomes a run of positions through the time list (`recorded_at` never
//! decreases along the log); several filters together are a leapfrog over their lists, one seek
//! per step. The layout is in `keys.rs`.
//!
//! *Never*: writes to the event store, decides who may inquire (the API's gate does, and logs
//! the inquiry), or holds a BSN (the caller turns one into its subject key first).

mod index;
mod inquiry;
mod keys;

use std::path::PathBuf;

use jeugdpad_store::StoreError;

pub use index::{AccessIndex, CaughtUp, Follower, DEFAULT_CACHE_BYTES, INDEX_DIR};
pub use inquiry::{scan, Cursor, CursorError, Filter, LoggedAccess, Page};

/// Why the index could not answer.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The event store could not be read.
    #[error("the event store could not be read: {0}")]
    Store(#[from] StoreError),
    /// sled could not open, read or write the index.
    #[error("the access-log index in {dir:?}: {detail}")]
    Index {
        /// The index's directory.
        dir: PathBuf,
        /// What failed.
        detail: String,
    },
    /// Another process holds the index (it holds the store too).
    #[error("the access-log index in {0:?} is in use by another process")]
    Locked(PathBuf),
}
