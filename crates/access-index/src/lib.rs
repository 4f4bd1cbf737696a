//! Het toegangslog doorzoeken (NEN 7513): the index that answers an access-log inquiry — by
//! user, by youth (subject key), by trajectory, by period, and any of them together — one page
//! at a time, newest first, without reading the whole log.
//!
//! # A projection of its own, derived from the log, in memory
//!
//! The `access-log` stream in the event store is the truth: every entry is durable there before
//! the answer it logs leaves the server. This index is *derived* from it and lives only in
//! memory, so it costs no write, no sync and no disk space, and it can never disagree with the
//! log after a crash:
//!
//! - when the server starts, the read models' rebuild feeds it in the same read of the log
//!   (`jeugdpad_app::feed::catch_up_with_access` hands it [`Picked`] runs in position order),
//!   which covers entries the command line appended while the server was down;
//!   [`AccessIndex::build`] reads the log alone, for tools;
//! - [`AccessIndex::catch_up`] reads on from the last position it looked at: after each entry
//!   the server appends ([`Follower`]), and before every inquiry (so an inquiry sees every
//!   entry durable when it began, its own included).
//!
//! An entry costs 16 bytes in two columns plus 4 in each list that names it, and each distinct
//! user, youth and trajectory its map slot and list (see `lists.rs`): 650 MB at ten million
//! entries, measured in `docs/performance.md`. An earlier build kept the index in sled on disk,
//! where building it took 11–16 KB of memory per entry; [`remove_old_index`] clears what it left
//! behind.
//!
//! It sits above the [`EventStore`](jeugdpad_store::EventStore) trait, so it serves both store
//! engines alike. A page is the index's positions, each entry then read from the store by
//! position (`read_all(position, 1)`) and checked against the [`Filter`] before it is shown.
//!
//! # Lists
//!
//! One list per user, youth and trajectory, each in log order, so the first page of one filter
//! is the end of one list read backwards. A period becomes a run of entries by one binary
//! search in the `recorded_at` column (`recorded_at` never decreases along the log); several
//! filters together are a leapfrog over their lists, one binary search per step.
//!
//! *Never*: writes to the event store, decides who may inquire (the API's gate does, and logs
//! the inquiry), or holds a BSN (the caller turns one into its subject key first).

mod index;
mod inquiry;
mod lists;

use jeugdpad_store::StoreError;

pub use index::{
    remove_old_index, AccessIndex, CaughtUp, EntryPayload, Follower, Picked, OLD_INDEX_DIR,
};
pub use inquiry::{scan, Cursor, CursorError, Filter, LoggedAccess, Page};
pub use lists::Full;

/// Why the index could not answer.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The event store could not be read.
    #[error("the event store could not be read: {0}")]
    Store(#[from] StoreError),
    /// The index is full.
    #[error(transparent)]
    Full(#[from] Full),
}
