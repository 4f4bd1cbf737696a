//! Jeugdpad's data in and out: the synthetic demo municipality, history migrated in, and the
//! analyst's pseudonymised exports.
//!
//! - [`seed`]: records a deterministic synthetic cohort ([`jeugdpad_synth`]) into a store. Each
//!   case is decided command by command through the domain (`decide`/`evolve`, pure), and all
//!   its events go to the store in **one** append with `ExpectedVersion::NoStream`, many cases
//!   in flight at once so the store's group commit fills each flush. Still validated by the
//!   domain, still durable, still one hash chain; about ten times faster than recording one
//!   command at a time through `jeugdpad_app::record`.
//! - [`import`]: events from JSON Lines (the envelope of SPEC §1, as [`export`] writes it),
//!   replayed per stream through the domain — every line must be acceptable given the stream so
//!   far — and stored all-or-nothing per stream, with a report of every rejected line. Into an
//!   empty store the envelopes are kept as they are ([`jeugdpad_store::SledStore::import_batch`]),
//!   so an export imported elsewhere has the same event hashes.
//! - [`export`]: the events (JSON Lines: complete, for migration and backup; CSV/Parquet:
//!   the analyst's form, without free text and staff ids) and one summary row per trajectory
//!   (CSV, Parquet, JSON Lines), pseudonymised: a youth is only ever a subject key. The columns
//!   are documented in `docs/export-columns.md`; [`columns`] is their single definition.
//!
//! Everything here reads or writes a [`SledStore`] and files; the command line
//! (`jeugdpad seed|import|export`) only parses arguments, draws the progress bar and prints the
//! reports.

mod columns;
mod export;
mod import;
mod pipeline;
mod seed;
mod summary;
mod wire;

use std::path::PathBuf;

pub use columns::{Column, ColumnKind, EVENT_COLUMNS, SUMMARY_COLUMNS};
pub use export::{export, ExportFormat, ExportOptions, ExportReport, ExportWhat};
pub use import::{import, ImportOptions, ImportReport, Rejection};
pub use seed::{seed, SeedOptions, SeedReport};
pub use summary::{summaries, summarise, Summary, WaitStatus};
pub use wire::EventLine;

use jeugdpad_store::{SledStore, StoreError};

/// Why seeding, importing or exporting stopped. Rejected *lines* of an import are not errors:
/// they are reported in [`ImportReport::rejections`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store already holds events and the operation needs an empty one.
    #[error(
        "the store already holds {events} events; seeding is meant for an empty data directory \
         (use another --data directory, or pass --allow-non-empty to add to this one)"
    )]
    NotEmpty {
        /// The store's head.
        events: u64,
    },
    /// The scenario cannot be generated from.
    #[error("the scenario is unusable: {0}")]
    Scenario(#[from] jeugdpad_synth::ScenarioError),
    /// A synthetic case was refused by the domain: a bug in the generator, never the user's.
    #[error(
        "synthetic trajectory {trajectory} was refused by the domain at command {index}: {why}"
    )]
    SyntheticRefused {
        /// The trajectory.
        trajectory: String,
        /// Which command (0-based).
        index: usize,
        /// The domain's sentence.
        why: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be decoded.
    #[error("stored event at position {position} could not be read: {why}")]
    Undecodable {
        /// Its position.
        position: u64,
        /// Why.
        why: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Writing CSV or Parquet failed.
    #[error("writing {path}: {why}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

impl Error {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn write(path: &std::path::Path, why: impl std::fmt::Display) -> Self {
        Error::Write {
            path: path.to_path_buf(),
            why: why.to_string(),
        }
    }
}

/// Reads the whole log in pages and hands every event to `each`, in position order.
/// **Blocking**: call it from a plain thread.
pub(crate) fn for_each_event(
    store: &SledStore,
    mut each: impl FnMut(jeugdpad_store::RecordedEvent) -> Result<(), Error>,
) -> Result<(), Error> {
    use jeugdpad_store::EventStore;
    const PAGE: usize = 10_000;
    let mut from = 1;
    loop {
        let page = store.read_all(from, PAGE)?;
        let Some(last) = page.last().map(|event| event.position) else {
            return Ok(());
        };
        for event in page {
            each(event)?;
        }
        from = last + 1;
    }
}
