//! Het toegangslog doorzoeken (NEN 7513): the index that answers an access-log inquiry — by
//! user, by youth (subject key), by trajectory, by period, and any of them together — one page
//! at a time, newest first, without reading the whole log.
//!
//! # A projection of its own, derived from the log, rebuilt at every start
//!
//! The `access-log` stream in the event store is the truth: every entry is durable there before
//! the answer it logs leaves the server. This index is *derived* from it and lives only as long
//! as the process: its columns spill to nameless scratch files beside the store
//! (`jeugdpad_spill`), never synced and gone when the process ends, so it costs no sync, and it
//! can never disagree with the log after a crash:
//!
//! - when the server starts, the read models' rebuild feeds it in the same read of the log
//!   (`jeugdpad_app::feed::catch_up_with_access` hands it [`Picked`] runs in position order),
//!   which covers entries the command line appended while the server was down;
//!   [`AccessIndex::build`] reads the log alone, for tools;
//! - [`AccessIndex::catch_up`] reads on from the last position it looked at: after each entry
//!   the server appends ([`Follower`]), and before every inquiry (so an inquiry sees every
//!   entry durable when it began, its own included).
//!
//! An entry costs 28 bytes in five columns in the scratch files and nothing on the heap but
//! a fence per 1,024 entries; each distinct user, youth and trajectory costs its map slot on the
//! heap (see `lists.rs`). So the heap grows with the people and trajectories the log names, not
//! with how often they are looked at (`docs/performance.md`). An earlier build kept the index in
//! sled on disk, where building it took 11–16 KB of memory per entry; [`remove_old_index`]
//! clears what it left behind. The build after that held the lists in memory: 68 bytes of heap
//! per entry at ten million.
//!
//! It sits above the [`EventStore`](jeugdpad_store::EventStore) trait, so it serves both store
//! engines alike. A page is the index's positions, each entry then read from the store by
//! position (`read_all(position, 1)`) and checked against the [`Filter`] before it is shown.
//!
//! # Chains
//!
//! One chain per user, youth and trajectory, newest first, so the first page of one filter is
//! the first steps along one chain. A period becomes a run of entries by one binary search in
//! the `recorded_at` column (`recorded_at` never decreases along the log); several filters
//! together are a leapfrog along their chains.
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
    /// The index's scratch files (beside the store, `jeugdpad_spill`) could not be made,
    /// written or read.
    #[error("the access-log index's scratch files could not be used: {0}")]
    Scratch(#[from] std::io::Error),
}
