//! Seed → export → import into an empty store → the same events, the same hash chain and the
//! same figures; and an import that refuses a bad stream whole while taking the good ones.

use std::path::Path;

use chrono::NaiveDate;
use jeugdpad_app::to_fact;
use jeugdpad_domain::TrajectoryId;
use jeugdpad_interchange::{
    export, import, seed, ExportFormat, ExportOptions, ExportWhat, ImportOptions, SeedOptions,
};
use jeugdpad_projections::{AsOf, Cohort, CohortQuery, Norms, Projections, Recorded, WaitQuery};
use jeugdpad_store::{EventStore, RecordedEvent, SledStore};
use jeugdpad_synth::Scenario;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).expect("a date")
}

fn seeded(dir: &Path, trajectories: u64) -> SledStore {
    let store = SledStore::open(dir).expect("store opens");
    let options = SeedOptions {
        scenario: Scenario {
            count: Some(trajectories),
            ..Scenario::default()
        },
        seed: 7,
        today: today(),
        recorded_by: "synthetic-seed".into(),
        allow_non_empty: false,
    };
    let report = seed(&store, &options, &|_| {}).expect("seeding succeeds");
    assert_eq!(report.trajectories, trajectories);
    assert_eq!(report.head, report.events);
    store
}

fn all_events(store: &SledStore) -> Vec<RecordedEvent> {
    store.read_all(0, usize::MAX).expect("the log reads")
}

/// The team lead's and the analyst's figures, as JSON, from read models built from the log.
fn figures(store: &SledStore) -> serde_json::Value {
    let mut projections = Projections::new(Norms::default());
    for event in all_events(store) {
        let trajectory = event
            .stream_id
            .strip_prefix("trajectory-")
            .and_then(|id| TrajectoryId::parse(id).ok())
            .expect("a trajectory stream");
        projections.apply(Recorded {
            position: event.position,
            trajectory,
            recorded_at: event.recorded_at,
            fact: to_fact(&event).expect("decodes"),
        });
    }
    let as_of = AsOf::date(today());
    let waits = projections.waiting_times(&WaitQuery::new(as_of));
    let normalisation = projections.normalisation(&CohortQuery {
        as_of,
        cohort: Cohort::Signalled,
        from: NaiveDate::from_ymd_opt(2021, 1, 1).expect("a date"),
        to: today(),
        group_by: None,
        team: None,
    });
    serde_json::json!({ "waits": waits, "normalisation": normalisation })
}

fn export_to(store: &SledStore, out: &Path, format: ExportFormat, what: ExportWhat) -> String {
    let report = export(
        store,
        &ExportOptions {
            format,
            what,
            out: out.to_path_buf(),
            as_of: today(),
        },
        &|_| {},
    )
    .expect("export succeeds");
    std::fs::read_to_string(&report.path).unwrap_or_default()
}

#[test]
fn export_then_import_into_an_empty_store_gives_identical_hashes_and_figures() {
    let (source_dir, target_dir, out) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let source = seeded(source_dir.path(), 400);
    export_to(&source, out.path(), ExportFormat::Jsonl, ExportWhat::Events);

    let target = SledStore::open(target_dir.path()).expect("store opens");
    let file = std::fs::File::open(out.path().join("events.jsonl")).expect("the export exists");
    let options = ImportOptions {
        today: today(),
        operator: "import".into(),
    };
    let report =
        import(&target, std::io::BufReader::new(file), &options, &|_| {}).expect("import succeeds");
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    assert!(report.envelopes_kept);
    assert_eq!(report.streams_imported, 400);

    // The same envelopes, byte for byte, so the same hash chain.
    assert_eq!(all_events(&target), all_events(&source));
    let (a, b) = (
        source.verify().expect("verify"),
        target.verify().expect("verify"),
    );
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(a.head_hash, b.head_hash);
    assert_eq!(a.head_position, b.head_position);

    // The same figures, and the same analyst exports.
    assert_eq!(figures(&target), figures(&source));
    for format in [ExportFormat::Csv, ExportFormat::Jsonl] {
        let (x, y) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let from_source = export_to(&source, x.path(), format, ExportWhat::Summaries);
        let header = usize::from(format == ExportFormat::Csv);
        assert_eq!(from_source.lines().count(), 400 + header);
        assert_eq!(
            export_to(&target, y.path(), format, ExportWhat::Summaries),
            from_source
        );
    }
}

#[test]
fn an_import_refuses_a_bad_stream_whole_and_takes_the_good_ones() {
    let (source_dir, target_dir, out) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let source = seeded(source_dir.path(), 20);
    let text = export_to(&source, out.path(), ExportFormat::Jsonl, ExportWhat::Events);
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    // Break one stream: its second event now claims to be dated before the signal.
    let victim = lines[0]["stream_id"].as_str().expect("a stream").to_owned();
    let second = lines
        .iter()
        .position(|l| l["stream_id"] == victim.as_str() && l["version"] == 2)
        .expect("the stream has a second event");
    lines[second]["occurred_on"] = serde_json::json!("2001-01-01");
    let victim_lines = lines
        .iter()
        .filter(|l| l["stream_id"] == victim.as_str())
        .count();
    let mut file: String = lines.iter().map(|l| format!("{l}\n")).collect();
    file.push_str("this is not json\n");

    let target = SledStore::open(target_dir.path()).expect("store opens");
    let options = ImportOptions {
        today: today(),
        operator: "import".into(),
    };
    let report = import(&target, file.as_bytes(), &options, &|_| {}).expect("import runs");
    assert_eq!(report.streams_rejected, 1);
    assert_eq!(report.streams_imported, 19);
    // Into an empty store recorded_at and recorded_by are still kept; the positions close the
    // gap the refused stream leaves.
    assert!(report.envelopes_kept);
    // Every line of the refused stream is reported, the bad one with the domain's reason.
    assert_eq!(report.rejections.len(), victim_lines + 1);
    let bad = report
        .rejections
        .iter()
        .find(|r| r.line == second + 1)
        .expect("the bad line is reported by its line number");
    assert_eq!(bad.stream_id.as_deref(), Some(victim.as_str()));
    assert!(bad.reason.contains("before"), "{}", bad.reason);
    let garbage = report.rejections.last().expect("the garbage line");
    assert_eq!(
        (garbage.line, garbage.stream_id.clone()),
        (lines.len() + 1, None)
    );
    assert!(target.read_stream(&victim).expect("reads").is_empty());
    assert_eq!(target.head(), (lines.len() - victim_lines) as u64);
    assert!(target.verify().expect("verify").is_ok());
}
