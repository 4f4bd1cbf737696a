//! `/metrics` as a Prometheus server scrapes it: the format its `Accept` asks for, and the
//! metrics an operator alerts on (docs/metrics.md).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use jeugdpad_api::{AuthOptions, Options};
use serde_json::json;

use super::subscription::{connect, subscribe};
use super::{options, Server};

/// What Prometheus 2.x sends by default: OpenMetrics first.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Reads `text` the way Prometheus' classic (0.0.4) parser types it and returns each declared
/// family with its type. Fails on anything that parser would read differently from what we
/// mean: a sample that does not belong to the family of the `# TYPE` line before it (a
/// counter's samples carry exactly its name, a histogram's are its `_bucket`, `_sum` and
/// `_count`) — such a sample becomes an untyped metric of its own — a comment other than HELP
/// and TYPE (`# EOF`, `# UNIT`), or a value that is not a number.
fn classic_families(text: &str) -> BTreeMap<String, String> {
    let mut families = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE <name> <type>");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "the classic format has no type {kind}: {line}"
            );
            let before = families.insert(name.to_owned(), kind.to_owned());
            assert!(before.is_none(), "{name} declared twice");
            current = Some((name.to_owned(), kind.to_owned()));
        } else if line.starts_with("# HELP ") {
            continue;
        } else if line.starts_with('#') {
            panic!("the classic format has no such line: {line}");
        } else {
            let (family, kind) = current
                .as_ref()
                .unwrap_or_else(|| panic!("a sample before any TYPE: {line}"));
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let belongs = match kind.as_str() {
                "histogram" => ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| name == format!("{family}{suffix}")),
                _ => name == family,
            };
            assert!(belongs, "{line} would not be read as {family} ({kind})");
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(
                value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
                "not a number: {line}"
            );
        }
    }
    families
}

/// The value of the sample written exactly as `series` (name and labels), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
}

#[tokio::test]
async fn metrics_answer_in_the_format_the_scraper_accepts() {
    let server = Server::start().await;
    server
        .open("2026-03-01", "noord", "sk-metrics-1", "SCHOOL")
        .await;

    // Asked for the classic format (or anything at all): the classic format.
    for accept in [Some("text/plain; version=0.0.4"), Some("text/plain"), None] {
        let (status, content_type, text) = server.scrape(accept).await;
        assert_eq!(status, 200, "{accept:?}");
        assert_eq!(
            content_type, "text/plain; version=0.0.4; charset=utf-8",
            "{accept:?}"
        );
        assert!(!text.contains("# EOF"), "{accept:?}");
        let families = classic_families(&text);
        for (family, kind) in [
            ("jeugdpad_graphql_requests_total", "counter"),
            ("jeugdpad_events_appended_total", "counter"),
            ("jeugdpad_sign_in_failures_total", "counter"),
            ("jeugdpad_store_head_position", "gauge"),
            ("jeugdpad_graphql_request_duration_seconds", "histogram"),
            ("jeugdpad_store_append_duration_seconds", "histogram"),
        ] {
            assert_eq!(
                families.get(family).map(String::as_str),
                Some(kind),
                "{family} in\n{text}"
            );
        }
        assert_eq!(value(&text, "jeugdpad_events_appended_total"), Some(1.0));
    }

    // Prometheus' own header prefers OpenMetrics: OpenMetrics, counters declared without
    // `_total`, and the `# EOF` the format ends with.
    let (status, content_type, text) = server.scrape(Some(PROMETHEUS_ACCEPT)).await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# TYPE jeugdpad_events_appended counter\n"));
    assert_eq!(value(&text, "jeugdpad_events_appended_total"), Some(1.0));

    // Neither format acceptable: 406, saying what is offered.
    let (status, _, text) = server.scrape(Some("application/json")).await;
    assert_eq!(status, 406);
    assert!(
        text.contains("text/plain") && text.contains("openmetrics"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_show_what_an_operator_alerts_on() {
    // Two requests a minute per token (and per address for failed sign-ins), so both limits
    // can be hit in a test.
    let server = Server::start_with(Options {
        auth: AuthOptions {
            requests_per_minute: NonZeroU32::new(2).expect("non-zero"),
            ..AuthOptions::default()
        },
        ..options()
    })
    .await;
    // The consultant's first request: a mutation with one root field.
    server
        .open("2026-03-01", "noord", "sk-metrics-2", "SCHOOL")
        .await;
    // Three attempts with a token nobody has: the third is over the address' limit.
    let statuses = [
        server
            .bearer("jpt_nobody")
            .send("{ today }", json!({}))
            .await
            .status,
        server
            .bearer("jpt_nobody")
            .send("{ today }", json!({}))
            .await
            .status,
        server
            .bearer("jpt_nobody")
            .send("{ today }", json!({}))
            .await
            .status,
    ];
    assert_eq!(statuses, [401, 401, 429]);
    // The consultant's second and third requests: the third is over the token's limit.
    let consultant = server.consultant("noord");
    assert_eq!(consultant.send("{ today }", json!({})).await.status, 200);
    assert_eq!(consultant.send("{ today }", json!({})).await.status, 429);
    // A root field that does not exist is refused by validation and never becomes a label.
    let lead = server.lead("noord");
    let refused = lead.send("{ notAField }", json!({})).await;
    assert_eq!(refused.code(), Some("VALIDATION"), "{}", refused.text);
    // Two root fields at once.
    lead.gql("{ today codeLists { helpForms { code } } }", json!({}))
        .await;

    let (_, _, text) = server.scrape(Some(PROMETHEUS_ACCEPT)).await;
    let count = |series: &str| {
        value(&text, series).unwrap_or_else(|| panic!("{series} missing from\n{text}"))
    };

    // Latency per root field: the names come from the schema only.
    assert_eq!(
        count("jeugdpad_graphql_root_field_duration_seconds_count{operation=\"mutation\",root_field=\"openTrajectory\"}"),
        1.0
    );
    assert_eq!(
        count("jeugdpad_graphql_root_field_duration_seconds_count{operation=\"query\",root_field=\"today\"}"),
        1.0
    );
    assert_eq!(
        count("jeugdpad_graphql_root_field_duration_seconds_count{operation=\"query\",root_field=\"several\"}"),
        1.0
    );
    assert!(!text.contains("notAField"), "{text}");

    // Sign-in failures by reason, and refusals by which limit.
    assert_eq!(
        count("jeugdpad_sign_in_failures_total{transport=\"http\",reason=\"unrecognised_token\"}"),
        3.0
    );
    assert_eq!(
        count("jeugdpad_rate_limited_total{reason=\"failed_sign_ins\"}"),
        1.0
    );
    assert_eq!(count("jeugdpad_rate_limited_total{reason=\"caller\"}"), 1.0);

    // The store's writer: every append is timed (the registry's own, the access log's and the
    // signal's), each group's flush and fdatasync too.
    let appends = count("jeugdpad_store_append_duration_seconds_count");
    let fsyncs = count("jeugdpad_store_fsync_duration_seconds_count");
    assert!(appends >= 3.0, "{appends}");
    assert!(fsyncs >= 1.0 && fsyncs <= appends, "{fsyncs} of {appends}");
    assert_eq!(count("jeugdpad_store_flush_duration_seconds_count"), fsyncs);
    assert_eq!(
        count("jeugdpad_store_append_duration_seconds_bucket{le=\"+Inf\"}"),
        appends
    );

    // Start-up, the data directory, the process.
    assert!(count("jeugdpad_startup_rebuild_seconds") >= 0.0);
    assert!(count("jeugdpad_data_dir_bytes") > 0.0);
    if cfg!(target_os = "linux") {
        assert!(count("process_resident_memory_bytes") > 1_000_000.0);
        assert!(count("process_open_fds") > 0.0);
    }
}

#[tokio::test]
async fn open_subscriptions_and_websockets_are_counted_until_they_end() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-metrics-3", "SCHOOL")
        .await;
    let scrape = || async { server.scrape(Some("text/plain")).await.2 };
    let watching = "jeugdpad_subscriptions_active{subscription=\"trajectoryEvents\"}";

    let (mut socket, ack) = connect(&server, server.lead("noord").authorization()).await;
    assert_eq!(ack.expect("an answer")["type"], "connection_ack");
    subscribe(
        &mut socket,
        "1",
        &format!(
            "subscription {{ trajectoryEvents(id: \"{}\") {{ version }} }}",
            case.id
        ),
    )
    .await;
    let text = scrape().await;
    assert_eq!(value(&text, watching), Some(1.0), "{text}");
    assert_eq!(
        value(&text, "jeugdpad_websockets_open"),
        Some(1.0),
        "{text}"
    );

    // The client goes away: both are back to zero soon after.
    drop(socket);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = scrape().await;
        let gone = value(&text, watching) == Some(0.0)
            && value(&text, "jeugdpad_websockets_open") == Some(0.0);
        if gone {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still counted 5 s after the client left:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
