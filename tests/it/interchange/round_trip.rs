//! Seed → export → import into an empty store → the same events, the same hash chain and the
//! same figures; and an import that refuses a bad stream whole while taking the good ones.

use std::path::Path;

use jeugdpad_interchange::{import, ExportFormat, ExportWhat, ImportOptions};
use jeugdpad_projections::{AsOf, Cohort, CohortQuery, WaitQuery};
use jeugdpad_store::{EventStore, Store};
use jeugdpad_tests::date;

use super::{all_events, export_file_as_of, projections, seeded, today};

/// The team lead's and the analyst's figures, as JSON, from read models built from the log.
fn figures(store: &Store) -> serde_json::Value {
    let projections = projections(store);
    let as_of = AsOf::date(today());
    let waits = projections.waiting_times(&WaitQuery::new(as_of));
    let normalisation = projections.normalisation(&CohortQuery {
        as_of,
        cohort: Cohort::Signalled,
        from: date("2021-01-01"),
        to: today(),
        group_by: None,
        team: None,
    });
    serde_json::json!({ "waits": waits, "normalisation": normalisation })
}

fn export_to(store: &Store, out: &Path, format: ExportFormat, what: ExportWhat) -> String {
    export_file_as_of(store, out, format, what, today())
}

#[test]
fn export_then_import_into_an_empty_store_gives_identical_hashes_and_figures() {
    let (source_dir, target_dir, out) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let source = seeded(source_dir.path(), 400, 7);
    export_to(&source, out.path(), ExportFormat::Jsonl, ExportWhat::Events);

    let target = Store::open(target_dir.path()).expect("store opens");
    let file = std::fs::File::open(out.path().join("events.jsonl")).expect("the export exists");
    let options = ImportOptions {
        today: today(),
        operator: "import".into(),
        dates: jeugdpad_domain::DateRule::default(),
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
    let source = seeded(source_dir.path(), 20, 7);
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

    let target = Store::open(target_dir.path()).expect("store opens");
    let options = ImportOptions {
        today: today(),
        operator: "import".into(),
        dates: jeugdpad_domain::DateRule::default(),
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

/// A trajectory signalled before the Jeugdwet (2015) is refused as implausible, unless the
/// import is told the file is historic (`jeugdpad import --historic`).
#[test]
fn a_file_from_before_the_jeugdwet_needs_the_historic_flag() {
    let (source_dir, out) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let source = seeded(source_dir.path(), 3, 11);
    let exported = export_to(&source, out.path(), ExportFormat::Jsonl, ExportWhat::Events);
    let mut signal: serde_json::Value = exported
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .find(|line: &serde_json::Value| line["version"] == 1)
        .expect("a signal");
    signal["occurred_on"] = serde_json::json!("2012-05-01");
    signal["payload"]["birth_year"] = serde_json::Value::Null;
    let file = format!("{signal}\n");
    let import_with = |dates: jeugdpad_domain::DateRule| {
        let target_dir = tempfile::tempdir().expect("tempdir");
        let target = Store::open(target_dir.path()).expect("store opens");
        let options = ImportOptions {
            today: today(),
            operator: "import".into(),
            dates,
        };
        import(&target, file.as_bytes(), &options, &|_| {}).expect("the import runs")
    };
    let refused = import_with(jeugdpad_domain::DateRule::default());
    assert_eq!(refused.events_imported, 0);
    assert!(
        refused.rejections[0].reason.contains("2015-01-01"),
        "{:?}",
        refused.rejections
    );
    let historic = import_with(jeugdpad_domain::DateRule::historic());
    assert!(historic.rejections.is_empty(), "{:?}", historic.rejections);
    assert_eq!(historic.events_imported, 1);
}
