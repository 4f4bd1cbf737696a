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
