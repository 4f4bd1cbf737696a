//! The interchange crate against a real store: the summary export's figures are the read
//! models' figures, only trajectory streams go out or come in, and seeding is deterministic.

use std::collections::HashMap;
use std::path::Path;

use jeugdpad_app::to_fact;
use jeugdpad_domain::TrajectoryId;
use jeugdpad_interchange::{
    export, import, seed, ExportFormat, ExportOptions, ExportWhat, ImportOptions,
};
use jeugdpad_projections::{
    mean, nearest_rank, trajectory_figures, AsOf, Measure, Norms, OpenWaitsQuery, WaitQuery,
    WaitStats,
};
use jeugdpad_store::{EventStore, ExpectedVersion, ProposedEvent, RecordedEvent, Store};
use jeugdpad_tests::date as day;

use super::{all_events, export_file_as_of, projections, seed_options as options, seeded, today};

fn export_file(store: &Store, out: &Path, format: ExportFormat, what: ExportWhat) -> String {
    export_file_as_of(store, out, format, what, today())
}

/// The rows of a CSV export as column → value maps.
fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("a header").clone();
    reader
        .records()
        .map(|record| {
            let record = record.expect("a CSV row");
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// A wait column of one summary row: (status, days).
fn wait_of(row: &HashMap<String, String>, measure: Measure) -> Option<(String, Option<i64>)> {
    let status = &row[&format!("{}_status", measure.code())];
    let days = &row[&format!("{}_days", measure.code())];
    (!status.is_empty()).then(|| (status.clone(), days.parse().ok()))
}

/// The waiting-time report's figures of one measure, worked out from (status, days) pairs.
fn stats(waits: &[(String, Option<i64>)], norm: Option<i64>) -> WaitStats {
    let days = |status: &str| -> Vec<i64> {
        waits
            .iter()
            .filter(|(s, _)| s == status)
            .filter_map(|(_, d)| *d)
            .collect()
    };
    let mut closed = days("closed");
    closed.sort_unstable();
    let open = days("open");
    let within = norm.map(|n| closed.iter().filter(|&&len| len <= n).count());
    WaitStats {
        closed: closed.len(),
        open: open.len(),
        abandoned: waits.iter().filter(|(s, _)| s == "abandoned").count(),
        mean: mean(&closed),
        median: nearest_rank(&closed, 50),
        p90: nearest_rank(&closed, 90),
        max: closed.last().copied(),
        within_norm: within
            .and_then(|w| (!closed.is_empty()).then(|| w as f64 / closed.len() as f64)),
        open_breaches: open
            .iter()
            .filter(|&&len| norm.is_some_and(|n| len > n))
            .count(),
    }
}

/// Debt 1 of issue 5: the summary export's wait figures are the read models' — on 2,000 seeded
/// synthetic trajectories, as of several dates, the wait days in the CSV add up to exactly what
/// `waitingTimes` reports, every open wait in it is on the open-waits list with the same days,
/// and every other figure of a row is the listing's summary of that trajectory.
#[test]
fn summary_rows_count_what_the_waiting_time_report_counts() {
    let (dir, out) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let store = seeded(dir.path(), 2_000, 5);
    let projections = projections(&store);
    let mut streams: HashMap<TrajectoryId, Vec<_>> = HashMap::new();
    for event in all_events(&store) {
        let id = TrajectoryId::from_stream_id(&event.stream_id).expect("only trajectories here");
        streams
            .entry(id)
            .or_default()
            .push(to_fact(&event).expect("decodes"));
    }
    for as_of in [today(), day("2025-06-30"), day("2024-01-15")] {
        let text = export_file_as_of(
            &store,
            out.path(),
            ExportFormat::Csv,
            ExportWhat::Summaries,
            as_of,
        );
        let rows = csv_rows(&text);
        let report = projections.waiting_times(&WaitQuery::new(AsOf::date(as_of)));
        let open_list = projections.open_waits(&OpenWaitsQuery::new(AsOf::date(as_of)));
        assert!(rows.len() > 500, "{as_of}: {} rows", rows.len());

        for measure in &report.measures {
            let column: Vec<_> = rows
                .iter()
                .filter_map(|row| wait_of(row, measure.measure))
                .collect();
            if matches!(
                measure.measure,
                Measure::SignalToAssessment | Measure::SignalToFirstHelp
            ) {
                // One wait per trajectory: the column is the whole measure.
                assert_eq!(column.len(), rows.len());
                assert_eq!(
                    stats(&column, measure.norm_days),
                    measure.overall,
                    "{as_of} {:?}",
                    measure.measure
                );
            } else {
                // Several waits per trajectory are possible; the row carries the first. The
                // per-trajectory waits the export picks it from add up to the report.
                let mut every = Vec::new();
                for row in &rows {
                    let id = TrajectoryId::parse(&row["trajectory_id"]).expect("an id");
                    let figures = trajectory_figures(
                        id,
                        streams[&id].iter().cloned(),
                        as_of,
                        &Norms::default(),
                    )
                    .expect("a row's trajectory has figures");
                    let first = figures
                        .first(measure.measure)
                        .map(|w| (w.status.code().to_owned(), w.days));
                    assert_eq!(first, wait_of(row, measure.measure));
                    every.extend(
                        figures
                            .waits
                            .iter()
                            .filter(|w| w.measure == measure.measure)
                            .map(|w| (w.status.code().to_owned(), w.days)),
                    );
                }
                assert!(every.len() >= column.len());
                assert_eq!(stats(&every, measure.norm_days), measure.overall);
            }
            assert!(measure.overall.closed > 0, "{as_of} {:?}", measure.measure);
        }
        let total_open: usize = report.measures.iter().map(|m| m.overall.open).sum();
        assert!(total_open > 0 && report.measures.iter().any(|m| m.overall.abandoned > 0));

        for row in &rows {
            let id = TrajectoryId::parse(&row["trajectory_id"]).expect("an id");
            for measure in Measure::ALL {
                if let Some((status, Some(days))) = wait_of(row, *measure) {
                    if status == "open" {
                        assert!(
                            open_list.iter().any(|o| o.trajectory == id
                                && o.measure == *measure
                                && o.days_waited == days),
                            "{as_of}: open {measure:?} of {id} ({days} days) is not on the open-waits list"
                        );
                    }
                }
            }
            let summary = projections
                .summary(id, AsOf::date(as_of))
                .expect("the read models know the trajectory");
            assert_eq!(row["team"], summary.team.as_str());
            assert_eq!(row["phase"], summary.phase.to_string());
            assert_eq!(
                row["highest_level"],
                (summary.highest_level as u8).to_string()
            );
            assert_eq!(row["escalations"], summary.escalations.to_string());
            assert_eq!(row["step_downs"], summary.step_downs.to_string());
            assert_eq!(row["pathway_days"], summary.pathway_days.to_string());
            assert_eq!(
                row["closed_on"],
                summary.closed_on.map(|d| d.to_string()).unwrap_or_default()
            );
        }
        // Every trajectory signalled by D has its row, and no other.
        let signalled = streams
            .keys()
            .filter(|id| projections.summary(**id, AsOf::date(as_of)).is_some())
            .count();
        assert_eq!(rows.len(), signalled);
    }
}

fn foreign_event(n: u128) -> ProposedEvent {
    ProposedEvent {
        event_id: uuid::Uuid::from_u128(0xADA0_0000 + n),
        event_type: "user_created".into(),
        schema_version: 1,
        occurred_on: day("2026-01-01"),
        recorded_by: "admin".into(),
        correlation_id: None,
        causation_id: None,
        payload: serde_json::json!({ "user": format!("user-{n}") }),
    }
}

/// The store will hold `admin` and `access-log` streams beside the trajectories: no exporter
/// writes them, the summaries skip them, and the importer refuses their lines one by one.
#[test]
fn only_trajectory_streams_are_exported_and_imported() {
    let (dir, out, target_dir) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let store = Store::open(dir.path()).expect("store opens");
    store
        .append_blocking("admin", ExpectedVersion::Any, vec![foreign_event(1)])
        .expect("appends");
    // The store's own streams do not make it non-empty for seeding.
    let report = seed(&store, &options(30, 3, false), &|_| {}).expect("seeds");
    assert_eq!(report.trajectories, 30);
    store
        .append_blocking(
            "access-log",
            ExpectedVersion::Any,
            vec![foreign_event(2), foreign_event(3)],
        )
        .expect("appends");
    store
        .append_blocking("admin", ExpectedVersion::Any, vec![foreign_event(4)])
        .expect("appends");
    let trajectory_events = report.events as usize;
    assert_eq!(store.head(), report.events + 4);

    let jsonl = export_file(&store, out.path(), ExportFormat::Jsonl, ExportWhat::Events);
    assert_eq!(jsonl.lines().count(), trajectory_events);
    assert!(jsonl.lines().all(|line| {
        let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
        value["stream_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("trajectory-"))
    }));
    let csv = export_file(&store, out.path(), ExportFormat::Csv, ExportWhat::Events);
    assert_eq!(csv_rows(&csv).len(), trajectory_events);
    assert!(!csv.contains("user_created") && !csv.contains("user-1"));
    for format in [ExportFormat::Csv, ExportFormat::Jsonl] {
        let summaries = export_file(&store, out.path(), format, ExportWhat::Summaries);
        let header = usize::from(format == ExportFormat::Csv);
        assert_eq!(summaries.lines().count(), 30 + header);
    }
    let parquet = export(
        &store,
        &ExportOptions {
            format: ExportFormat::Parquet,
            what: ExportWhat::Events,
            out: out.path().to_path_buf(),
            as_of: today(),
            known_on: None,
            overwrite: false,
        },
        &|_| {},
    )
    .expect("exports");
    assert_eq!(parquet.rows as usize, trajectory_events);

    // The migration file with the store's own streams mixed in: those lines are refused, each
    // with its reason; every trajectory is imported.
    let mut lines: Vec<String> = jsonl.lines().map(str::to_owned).collect();
    let foreign = |stream: &str, n: u128| {
        let event = foreign_event(n);
        serde_json::json!({
            "event_id": event.event_id, "stream_id": stream, "version": 1,
            "type": event.event_type, "schema_version": 1, "occurred_on": "2026-01-01",
            "correlation_id": null, "causation_id": null, "payload": event.payload,
        })
        .to_string()
    };
    lines.insert(0, foreign("admin", 11));
    lines.insert(5, foreign("access-log", 12));
    lines.push(foreign("admin", 13));
    lines.push(foreign("trajectory-not-a-uuid", 14));
    let file: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let target = Store::open(target_dir.path()).expect("store opens");
    let imported = import(
        &target,
        file.as_bytes(),
        &ImportOptions {
            today: today(),
            operator: "import".into(),
            dates: jeugdpad_domain::DateRule::default(),
        },
        &|_| {},
    )
    .expect("import runs");
    assert_eq!(imported.streams_imported, 30);
    assert_eq!(imported.events_imported as usize, trajectory_events);
    assert_eq!(imported.streams_rejected, 3);
    let refused: Vec<(usize, Option<&str>)> = imported
        .rejections
        .iter()
        .map(|r| (r.line, r.stream_id.as_deref()))
        .collect();
    assert_eq!(
        refused,
        vec![
            (1, Some("admin")),
            (6, Some("access-log")),
            (lines.len() - 1, Some("admin")),
            (lines.len(), Some("trajectory-not-a-uuid")),
        ]
    );
    assert!(imported
        .rejections
        .iter()
        .all(|r| r.reason.contains("is not a trajectory stream")));
    assert_eq!(target.head() as usize, trajectory_events);
    assert!(target.read_stream("admin").expect("reads").is_empty());
    assert!(target.verify().expect("verify").is_ok());
}

/// What makes two seeded events the same event: everything but `recorded_at`.
fn identity(event: &RecordedEvent) -> impl PartialEq + std::fmt::Debug {
    (
        event.position,
        event.stream_id.clone(),
        event.version,
        event.event_id,
        event.event_type.clone(),
        event.schema_version,
        event.occurred_on,
        event.recorded_by.clone(),
        event.payload.to_string(),
    )
}

/// Same scenario, seed and today → the same events at the same positions (the bulk path, also
/// after the store's own streams), and the same events through the case-by-case path; another
/// seed → others.
#[test]
fn seeding_is_deterministic_by_seed() {
    let dirs: Vec<_> = (0..4)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let a = seeded(dirs[0].path(), 700, 11);
    let b = seeded(dirs[1].path(), 700, 11);
    let (a_events, b_events) = (all_events(&a), all_events(&b));
    assert!(a_events.len() > 3_000);
    assert_eq!(
        a_events.iter().map(identity).collect::<Vec<_>>(),
        b_events.iter().map(identity).collect::<Vec<_>>()
    );
    // recorded_at never decreases along the log.
    assert!(a_events
        .windows(2)
        .all(|w| w[0].recorded_at <= w[1].recorded_at));
    assert!(a.verify().expect("verify").is_ok());

    // A store holding only its own streams counts as empty: bulk-loaded after them.
    let c = Store::open(dirs[2].path()).expect("store opens");
    c.append_blocking("admin", ExpectedVersion::Any, vec![foreign_event(1)])
        .expect("appends");
    seed(&c, &options(700, 11, false), &|_| {}).expect("seeds");
    let c_events: Vec<RecordedEvent> = all_events(&c)
        .into_iter()
        .skip(1)
        .map(|mut event| {
            event.position -= 1;
            event
        })
        .collect();
    assert_eq!(
        a_events.iter().map(identity).collect::<Vec<_>>(),
        c_events.iter().map(identity).collect::<Vec<_>>()
    );
    assert!(c.verify().expect("verify").is_ok());
    // Once it holds trajectories it is refused, unless told to add; seeding the same again is
    // then an idempotent retry (case by case): nothing new.
    assert!(seed(&c, &options(700, 11, false), &|_| {}).is_err());
    let again = seed(&c, &options(700, 11, true), &|_| {}).expect("seeds again");
    assert_eq!(again.head, c_events.len() as u64 + 1);

    // Case by case into a store with other trajectories: the same events (in the order the
    // threads commit them).
    let d = seeded(dirs[3].path(), 20, 12);
    assert_ne!(
        all_events(&d).first().map(|e| e.event_id),
        a_events.first().map(|e| e.event_id)
    );
    let before = d.head() as usize;
    seed(&d, &options(700, 11, true), &|_| {}).expect("seeds");
    let sorted = |events: &[RecordedEvent]| {
        let mut events: Vec<_> = events.iter().map(identity_without_position).collect();
        events.sort_by_key(|e| format!("{e:?}"));
        events
    };
    assert_eq!(sorted(&a_events), sorted(&all_events(&d)[before..]));
}

fn identity_without_position(event: &RecordedEvent) -> impl PartialEq + std::fmt::Debug {
    (
        event.stream_id.clone(),
        event.version,
        event.event_id,
        event.event_type.clone(),
        event.occurred_on,
        event.payload.to_string(),
    )
}

#[test]
fn an_export_replaces_an_earlier_file_only_when_told_to() {
    let data = tempfile::tempdir().expect("tempdir");
    let store = seeded(data.path(), 5, 3);
    let out = tempfile::tempdir().expect("tempdir");
    let mut options = ExportOptions {
        format: ExportFormat::Csv,
        what: ExportWhat::Summaries,
        out: out.path().to_path_buf(),
        as_of: today(),
        known_on: None,
        overwrite: false,
    };
    let earlier = "an earlier export\n";
    std::fs::write(options.path(), earlier).expect("write");

    assert!(matches!(
        options.refuse_existing(),
        Err(jeugdpad_interchange::Error::Exists { .. })
    ));
    let refused = export(&store, &options, &|_| {}).expect_err("an existing file is kept");
    assert!(
        matches!(&refused, jeugdpad_interchange::Error::Exists { path } if *path == options.path()),
        "{refused}"
    );
    assert!(refused.to_string().contains("--force"), "{refused}");
    assert_eq!(
        std::fs::read_to_string(options.path()).expect("read"),
        earlier
    );

    options.overwrite = true;
    options.refuse_existing().expect("may replace");
    let report = export(&store, &options, &|_| {}).expect("replaces");
    assert_eq!(report.rows, 5);
    let written = std::fs::read_to_string(options.path()).expect("read");
    assert_eq!(
        written.lines().count(),
        6,
        "a header and five rows:\n{written}"
    );
    assert!(!written.contains(earlier.trim()));
}

/// The web app's download is encoded in memory (`summaries_file`): byte for byte the file
/// `jeugdpad export --what summaries` writes, in every format.
#[test]
fn a_summaries_file_in_memory_is_the_exported_file() {
    let data = tempfile::tempdir().expect("tempdir");
    let store = seeded(data.path(), 40, 9);
    let as_of = AsOf::date(today());
    let rows = jeugdpad_interchange::summaries(&store, as_of, &|_| {}).expect("the rows");
    assert_eq!(rows.len(), 40);
    for format in [
        ExportFormat::Csv,
        ExportFormat::Parquet,
        ExportFormat::Jsonl,
    ] {
        let out = tempfile::tempdir().expect("tempdir");
        let options = ExportOptions {
            format,
            what: ExportWhat::Summaries,
            out: out.path().to_path_buf(),
            as_of: today(),
            known_on: None,
            overwrite: false,
        };
        let report = export(&store, &options, &|_| {}).expect("export succeeds");
        let written = std::fs::read(&report.path).expect("the file");
        let made =
            jeugdpad_interchange::summaries_file(&rows, format, "summaries").expect("encodes");
        assert!(written.len() > 100, "{format:?}: a real file");
        assert_eq!(made, written, "{format:?}");
    }
}
