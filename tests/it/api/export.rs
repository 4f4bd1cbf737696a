//! The analyst's export over the API (`summaryExport`): the very rows `jeugdpad export --what
//! summaries` writes, page by page, for analysts only, each page in the access log.

use jeugdpad_access::{AccessAction, Outcome, Role};
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
        jeugdpad_interchange::summaries(&store, d, &|_| {}).expect("the summaries")
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
