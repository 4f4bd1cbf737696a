//! Jeugdpad's data in and out: the synthetic demo municipality, history migrated in, and the
//! analyst's pseudonymised exports.
//!
//! - [`seed`]: records a deterministic synthetic cohort ([`jeugdpad_synth`]) into a store. Each
//!   case is decided command by command through the domain (`decide`/`evolve`, pure); into an
//!   empty store the decided cases stream, in cohort order and with their positions assigned
//!   here, into large [`Store::import_batch`] calls (up to ten thousand events each, a few in
//!   flight) through the store's one writer, group commit and hash chain. A bounded number of
//!   cases is in memory at any moment, whatever the cohort's size. A non-empty store is seeded
//!   case by case with `ExpectedVersion::NoStream` appends (so re-seeding is an idempotent retry).
//! - [`import`]: events from JSON Lines (the envelope of SPEC §1, as [`export`] writes it),
//!   replayed per stream through the domain — every line must be acceptable given the stream so
//!   far — and stored all-or-nothing per stream, with a report of every rejected line. Only
//!   trajectory streams are imported: a line of any other stream is refused with its reason.
//!   Into an empty store the envelopes are kept as they are
//!   ([`jeugdpad_store::Store::import_batch`]), so an export imported elsewhere has the same
//!   event hashes.
//! - [`export`]: the events (JSON Lines: complete, for migration and backup; CSV/Parquet:
//!   the analyst's form, without free text and staff ids) and one summary row per trajectory
//!   (CSV, Parquet, JSON Lines), pseudonymised: a youth is only ever a subject key. The columns
//!   are documented in `docs/export-columns.md`; [`columns`] is their single definition. Every
//!   figure of a summary row comes from `jeugdpad-projections` ([`summarise`]): one definition
//!   of every figure. Exports stream (one page of the log, one trajectory at a time) and skip
//!   every stream that is not `trajectory-…` (the store's `admin` and `access-log` streams).
//!
//! Everything here reads or writes a [`Store`] and files; the command line
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

pub use columns::EVENT_COLUMNS;
pub use export::{export, summaries_file, ExportFormat, ExportOptions, ExportReport, ExportWhat};
pub use import::{import, ImportOptions, ImportReport, Rejection};
pub use jeugdpad_projections::{
    Column, ColumnKind, SummaryRow, WaitFigure, WaitStatus, LIST_SEPARATOR, SUMMARY_COLUMNS,
};
pub use seed::{seed, SeedOptions, SeedReport};
pub use summary::{for_each_summary, summaries, summarise, summarise_stored};
pub use wire::EventLine;

use jeugdpad_store::{Store, StoreError};

/// Why seeding, importing or exporting stopped. Rejected *lines* of an import are not errors:
/// they are reported in [`ImportReport::rejections`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store already holds trajectories and seeding needs a store without any.
    #[error(
        "the store already holds trajectories ({events} events); seeding is meant for a data \
         directory without any (use another --data directory, or pass --allow-non-empty to add \
         to this one)"
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
    /// The export file exists and may not be replaced.
    #[error(
        "{path} already exists: pass --force to replace it, or choose another --out directory"
    )]
    Exists {
        /// The file.
        path: PathBuf,
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

impl From<jeugdpad_app::RecordError> for Error {
    fn from(error: jeugdpad_app::RecordError) -> Self {
        match error {
            jeugdpad_app::RecordError::Store(store) => Error::Store(store),
            jeugdpad_app::RecordError::Undecodable { position, source } => Error::Undecodable {
                position,
                why: source.to_string(),
            },
            // Reading a stream cannot refuse a command or conflict; should it, say what it was.
            other => Error::Store(StoreError::Storage(other.to_string())),
        }
    }
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

/// Events read from the log per page: the most an export holds of the log at once.
const PAGE: usize = 10_000;

/// Reads the log up to position `head` in pages of [`PAGE`] and hands every event to `each`, in
/// position order (every stream: callers skip what is not theirs). Holds one page at a time.
/// **Blocking**: call it from a plain thread.
pub(crate) fn for_each_event(
    store: &Store,
    head: u64,
    mut each: impl FnMut(jeugdpad_store::RecordedEvent) -> Result<(), Error>,
) -> Result<(), Error> {
    use jeugdpad_store::EventStore;
    let mut from = 1;
    while from <= head {
        let want = usize::try_from(head - from + 1).map_or(PAGE, |left| left.min(PAGE));
        let page = store.read_all(from, want)?;
        let Some(last) = page.last().map(|event| event.position) else {
            return Ok(());
        };
        for event in page {
            each(event)?;
        }
        from = last + 1;
    }
    Ok(())
}
