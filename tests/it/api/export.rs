//! The analyst's export over the API (`summaryExport`): the very rows `jeugdpad export --what
//! summaries` writes, page by page, for analysts only, each page in the access log.

use jeugdpad_access::{AccessAction, Outcome, Role};
use jeugdpad_projections::AsOf;
use serde_json::{json, Value};

use super::{today, Server};

const PAGE: &str = "query($after: String) {
    summaryExport(first: 2, after: $after) { columns rows endCursor hasNextPage } }";

#[tokio::test]
async fn analysts_page_through_the_same_rows_as_the_file_export() {
    let server = Server::start().await;
    let first = server
        .open("2026-01-05", "noord", "sk-exp-1", "SCHOOL")
        .await;
    first.assess("2026-01-20").await;
    first.close("2026-03-01", "GOALS_MET").await;
    server
        .open("2026-02-10", "zuid", "sk-exp-2", "HUISARTS")
        .await;
    let third = server.open("2026-04-01", "west", "sk-exp-3", "JGZ").await;
    third.request("2026-04-10", "SPECIALIST_AMBULANT").await;

    // Page through as the analyst: 2 + 1 rows.
    let analyst = server.analyst();
    let mut rows: Vec<Value> = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let page = analyst.gql(PAGE, json!({ "after": after })).await;
        let page = &page["summaryExport"];
        rows.extend(page["rows"].as_array().expect("rows").iter().cloned());
        pages += 1;
        if !page["hasNextPage"].as_bool().expect("a flag") {
            let columns: Vec<&str> = page["columns"]
                .as_array()
                .expect("columns")
                .iter()
                .map(|c| c.as_str().expect("a name"))
                .collect();
            let expected: Vec<&str> = jeugdpad_interchange::SUMMARY_COLUMNS
                .iter()
                .map(|c| c.name)
                .collect();
            assert_eq!(columns, expected);
            break;
        }
        after = page["endCursor"].clone();
    }
    assert_eq!(pages, 2);

    // The file export's rows of the same store, computed by the command-line path.
    let store = server.store();
    let d = today();
    let file_rows: Vec<Value> = tokio::task::spawn_blocking(move || {
        jeugdpad_interchange::summaries(&store, AsOf::date(d), &|_| {}).expect("the summaries")
    })
    .await
    .expect("the export runs")
    .iter()
    .map(|summary| Value::Object(summary.to_json_row()))
    .collect();
    assert_eq!(file_rows.len(), 3);
    // Same rows; the API pages in signal-date order, the file in log order.
    let key = |row: &Value| row["trajectory_id"].as_str().unwrap_or_default().to_owned();
    let mut api_sorted = rows.clone();
    api_sorted.sort_by_key(key);
    let mut file_sorted = file_rows;
    file_sorted.sort_by_key(key);
    assert_eq!(api_sorted, file_sorted);
    // Pseudonymised: subject keys, no free text, no staff.
    assert_eq!(rows[0]["subject_key"], "sk-exp-1");
    assert!(rows.iter().all(|row| row.get("consultant").is_none()));

    // Each page is an export in the access log, by the analyst.
    let exports: Vec<_> = server
        .access_log()
        .await
        .into_iter()
        .filter(|(_, entry)| entry.action == AccessAction::Export)
        .collect();
    assert_eq!(exports.len(), 2);
    for (_, entry) in &exports {
        assert_eq!(entry.outcome, Outcome::Granted);
        assert_eq!(entry.role, Some(Role::Analyst));
        assert_eq!(entry.operation, "summaryExport");
    }
}

#[tokio::test]
async fn only_analysts_export() {
    let server = Server::start().await;
    server
        .open("2026-01-05", "noord", "sk-exp-4", "SCHOOL")
        .await;
    for client in [
        server.consultant("noord"),
        server.lead("noord"),
        server.admin(),
    ] {
        let (code, message) = client.gql_error(PAGE, json!({ "after": null })).await;
        assert_eq!(code, "FORBIDDEN", "{message}");
    }
    let refused = server
        .access_log()
        .await
        .into_iter()
        .filter(|(_, entry)| {
            entry.action == AccessAction::Export && entry.outcome == Outcome::Refused
        })
        .count();
    assert_eq!(refused, 3);
}

const KNOWN_ON: &str = "query($knownOn: DateTime) {
    summaryExport(knownOn: $knownOn) { rows hasNextPage } }";

/// The rows of one `summaryExport` page (the whole export here), keyed by trajectory id.
async fn export_rows(server: &Server, known_on: Value) -> Vec<Value> {
    let data = server
        .analyst()
        .gql(KNOWN_ON, json!({ "knownOn": known_on }))
        .await;
    assert_eq!(data["summaryExport"]["hasNextPage"], false);
    data["summaryExport"]["rows"]
        .as_array()
        .expect("rows")
        .clone()
}

/// The columns in which two rows differ.
fn differing(a: &Value, b: &Value) -> Vec<String> {
    let (a, b) = (a.as_object().expect("a row"), b.as_object().expect("a row"));
    assert_eq!(a.len(), b.len());
    a.iter()
        .filter(|(column, value)| b.get(*column) != Some(*value))
        .map(|(column, _)| column.clone())
        .collect()
}

#[tokio::test]
async fn a_summary_known_on_an_earlier_instant_leaves_later_corrections_out() {
    let server = Server::start().await;
    // Signal 2026-01-05, assessment recorded as 2026-02-20: 26 + 20 = 46 days.
    let case = server
        .open("2026-01-05", "noord", "sk-exp-known", "SCHOOL")
        .await;
    let assessment = case.assess("2026-02-20").await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let then = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // Recorded after `then`: the assessment was really on 2026-02-10 (26 + 10 = 36 days), and a
    // back-dated trajectory that did not exist at `then`.
    case.redate("2026-03-01", &assessment, "2026-02-10").await;
    server
        .open("2026-01-02", "zuid", "sk-exp-late", "JGZ")
        .await;

    let now = export_rows(&server, Value::Null).await;
    let known = export_rows(&server, json!(then.to_rfc3339())).await;

    assert_eq!(now.len(), 2);
    assert_eq!(
        known.len(),
        1,
        "the late trajectory was not known then: {known:#?}"
    );
    let today_row = now
        .iter()
        .find(|row| row["trajectory_id"] == json!(case.id))
        .expect("the case's row");
    let known_row = &known[0];
    assert_eq!(known_row["trajectory_id"], json!(case.id));
    // The correction changes one figure, and the row says when it was known.
    assert_eq!(today_row["signal_to_assessment_days"], 36);
    assert_eq!(known_row["signal_to_assessment_days"], 46);
    assert_eq!(today_row["known_on"], Value::Null);
    let stamped: chrono::DateTime<chrono::Utc> = known_row["known_on"]
        .as_str()
        .expect("an instant")
        .parse()
        .expect("RFC 3339");
    assert_eq!(stamped, then);
    let mut changed = differing(known_row, today_row);
    changed.sort();
    assert_eq!(changed, ["known_on", "signal_to_assessment_days"]);

    // The file export (`jeugdpad export --what summaries --known-on`) makes the same rows.
    let store = server.store();
    let as_of = AsOf::known_on(today(), then);
    let file_rows: Vec<Value> = tokio::task::spawn_blocking(move || {
        jeugdpad_interchange::summaries(&store, as_of, &|_| {}).expect("the summaries")
    })
    .await
    .expect("the export runs")
    .iter()
    .map(|summary| Value::Object(summary.to_json_row()))
    .collect();
    assert_eq!(file_rows, known);
}

/// Writes the file export of the summaries as `format` into `out` and returns the file's path.
fn file_export(
    server: &Server,
    out: &std::path::Path,
    format: jeugdpad_interchange::ExportFormat,
    as_of: chrono::NaiveDate,
) -> std::path::PathBuf {
    let options = jeugdpad_interchange::ExportOptions {
        format,
        what: jeugdpad_interchange::ExportWhat::Summaries,
        out: out.to_path_buf(),
        as_of,
        known_on: None,
        // Each call writes into a directory of its own.
        overwrite: false,
    };
    jeugdpad_interchange::export(&server.store(), &options, &|_| {})
        .expect("the export")
        .path
}

/// One row's trajectory id, `concerns`, `assessment_conclusion` and `help_forms`.
type ListColumns = (String, Vec<String>, Option<String>, Vec<String>);

/// Per trajectory id (sorted): `concerns`, `assessment_conclusion` and `help_forms` of a
/// Parquet summary file, read back with the `parquet` crate's Arrow reader.
fn parquet_lists(path: &std::path::Path) -> Vec<ListColumns> {
    use arrow_array::{Array, ListArray, StringArray};
    let file = std::fs::File::open(path).expect("the file");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("a Parquet file")
        .build()
        .expect("a reader");
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.expect("a batch");
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
                .unwrap_or_else(|| panic!("{name} is a string column"))
        };
        let list = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<ListArray>().cloned())
                .unwrap_or_else(|| panic!("{name} is a list column"))
        };
        let codes = |array: &ListArray, i: usize| -> Vec<String> {
            assert!(array.is_valid(i), "lists are never null");
            let items = array.value(i);
            let items = items
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("strings");
            (0..items.len())
                .map(|j| items.value(j).to_owned())
                .collect()
        };
        let (ids, concerns, conclusion, forms) = (
            text("trajectory_id"),
            list("concerns"),
            text("assessment_conclusion"),
            list("help_forms"),
        );
        for i in 0..batch.num_rows() {
            rows.push((
                ids.value(i).to_owned(),
                codes(&concerns, i),
                conclusion
                    .is_valid(i)
                    .then(|| conclusion.value(i).to_owned()),
                codes(&forms, i),
            ));
        }
    }
    rows.sort();
    rows
}

#[tokio::test]
async fn summaries_carry_the_concerns_the_first_conclusion_and_the_forms_of_help() {
    let server = Server::start().await;
    let consultant = server.consultant("noord");
    // Signalled over parenting (the harness's signal); corrected: domestic violence and parenting.
    let case = consultant
        .open("2026-01-05", "noord", "sk-exp-concerns", "SCHOOL")
        .await;
    case.step(
        "correctEvent",
        "2026-01-12",
        &format!(
            "corrects: \"{}\", reason: \"wrong concern ticked\", replacement: {{ signalReceived: {{
                 subjectKey: \"sk-exp-concerns\", team: \"noord\", source: SCHOOL,
                 concerns: [DOMESTIC_VIOLENCE, PARENTING], urgency: REGULAR }} }}",
            case.signal
        ),
    )
    .await;
    // First assessment 02-01 light help, a second one 04-01 specialist help: the first counts.
    case.assess("2026-02-01").await;
    case.start("2026-02-10", "E1", "PARENTING_SUPPORT").await;
    case.end("2026-03-31", "E1").await;
    case.step(
        "completeAssessment",
        "2026-04-01",
        "conclusion: SPECIALIST_HELP",
    )
    .await;
    case.start("2026-04-15", "E2", "YOUTH_MENTAL_HEALTH").await;
    case.start("2026-05-01", "E3", "PARENTING_SUPPORT").await;
    // Nothing but a signal: no conclusion, no help.
    let bare = server
        .open("2026-03-02", "noord", "sk-exp-bare", "HUISARTS")
        .await;

    // As of D = 2026-06-30: every episode; as of 2026-04-10: only E1 had started; as of
    // 2026-01-20: no assessment and no help yet. The concerns are the corrected ones throughout.
    let concerns = json!(["domestic_violence", "parenting"]);
    for (as_of, conclusion, forms) in [
        (
            "2026-06-30",
            json!("light_help"),
            json!([
                "parenting_support",
                "youth_mental_health",
                "parenting_support"
            ]),
        ),
        (
            "2026-04-10",
            json!("light_help"),
            json!(["parenting_support"]),
        ),
        ("2026-01-20", Value::Null, json!([])),
    ] {
        let data = server
            .analyst()
            .gql(
                "query($asOf: Date) { summaryExport(asOf: $asOf) { rows } }",
                json!({ "asOf": as_of }),
            )
            .await;
        let rows = data["summaryExport"]["rows"].as_array().expect("rows");
        let row = rows
            .iter()
            .find(|row| row["trajectory_id"] == json!(case.id))
            .expect("the case's row");
        assert_eq!(row["concerns"], concerns, "{as_of}");
        assert_eq!(row["assessment_conclusion"], conclusion, "{as_of}");
        assert_eq!(row["help_forms"], forms, "{as_of}");
    }

    // CSV: the codes joined by ';', empty for none; Parquet: lists of strings.
    let out = tempfile::tempdir().expect("tempdir");
    let csv_path = file_export(
        &server,
        out.path(),
        jeugdpad_interchange::ExportFormat::Csv,
        today(),
    );
    let mut reader = csv::Reader::from_path(&csv_path).expect("the CSV");
    let headers = reader.headers().expect("a header").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let mut csv_rows: Vec<(String, String, String, String)> = reader
        .records()
        .map(|record| {
            let record = record.expect("a row");
            let cell = |name: &str| record[column(name)].to_owned();
            (
                cell("trajectory_id"),
                cell("concerns"),
                cell("assessment_conclusion"),
                cell("help_forms"),
            )
        })
        .collect();
    csv_rows.sort();
    let mut expected_csv = vec![
        (
            case.id.clone(),
            "domestic_violence;parenting".to_owned(),
            "light_help".to_owned(),
            "parenting_support;youth_mental_health;parenting_support".to_owned(),
        ),
        (
            bare.id.clone(),
            "parenting".to_owned(),
            String::new(),
            String::new(),
        ),
    ];
    expected_csv.sort();
    assert_eq!(csv_rows, expected_csv);

    let parquet_path = file_export(
        &server,
        out.path(),
        jeugdpad_interchange::ExportFormat::Parquet,
        today(),
    );
    let mut expected_parquet = vec![
        (
            case.id.clone(),
            vec!["domestic_violence".to_owned(), "parenting".to_owned()],
            Some("light_help".to_owned()),
            vec![
                "parenting_support".to_owned(),
                "youth_mental_health".to_owned(),
                "parenting_support".to_owned(),
            ],
        ),
        (
            bare.id.clone(),
            vec!["parenting".to_owned()],
            None,
            Vec::new(),
        ),
    ];
    expected_parquet.sort();
    assert_eq!(parquet_lists(&parquet_path), expected_parquet);
}
