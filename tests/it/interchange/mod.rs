//! Data in and out against a real store: seeding, the exports, import, and the round trip
//! between them.

mod exports;
mod round_trip;

use std::path::Path;

use chrono::NaiveDate;
use jeugdpad_interchange::{export, seed, ExportFormat, ExportOptions, ExportWhat, SeedOptions};
use jeugdpad_projections::{Norms, Projections};
use jeugdpad_store::{EventStore, RecordedEvent, Store};
use jeugdpad_synth::Scenario;
use jeugdpad_tests::date;

/// "Today" of every seeded cohort here.
fn today() -> NaiveDate {
    date("2026-06-30")
}

fn seed_options(trajectories: u64, seed_value: u64, allow_non_empty: bool) -> SeedOptions {
    SeedOptions {
        scenario: Scenario {
            count: Some(trajectories),
            ..Scenario::default()
        },
        seed: seed_value,
        today: today(),
        recorded_by: "synthetic-seed".into(),
        allow_non_empty,
    }
}

/// A fresh store in `dir` with `trajectories` synthetic trajectories of seed `seed_value`.
fn seeded(dir: &Path, trajectories: u64, seed_value: u64) -> Store {
    let store = Store::open(dir).expect("store opens");
    let report = seed(
        &store,
        &seed_options(trajectories, seed_value, false),
        &|_| {},
    )
    .expect("seeding succeeds");
    assert_eq!(report.trajectories, trajectories);
    assert_eq!(report.head, report.events);
    store
}

fn all_events(store: &Store) -> Vec<RecordedEvent> {
    store.read_all(0, usize::MAX).expect("the log reads")
}

/// The read models of the whole store, built as the server builds them at start-up.
fn projections(store: &Store) -> Projections {
    let mut projections = Projections::new(Norms::default());
    jeugdpad_app::feed::catch_up(store, &mut projections).expect("the log reads");
    projections
}

/// Exports `what` as `format` as of `as_of` into `out` and returns the file's text (CSV and
/// JSON Lines).
fn export_file_as_of(
    store: &Store,
    out: &Path,
    format: ExportFormat,
    what: ExportWhat,
    as_of: NaiveDate,
) -> String {
    let options = ExportOptions {
        format,
        what,
        out: out.to_path_buf(),
        as_of,
        known_on: None,
        // The tests export into the same directory again and again.
        overwrite: true,
    };
    let report = export(store, &options, &|_| {}).expect("export succeeds");
    std::fs::read_to_string(&report.path).expect("the export exists and is text")
}
