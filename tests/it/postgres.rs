//! What only the PostgreSQL back end must show: several nodes appending to one log, and
//! followers that never skip an event that commits late with a lower position. (Everything the
//! embedded engines promise too is in `store.rs`, run against all three.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use jeugdpad_store::{
    pg_testing, EventStore, ExpectedVersion, PgOptions, ProposedEvent, RecordedEvent, Store,
};
use uuid::Uuid;

/// Writers per node, nodes, events per append, appends per writer: 100,000 events in all.
const WRITERS_PER_NODE: u64 = 2;
const NODES: u64 = 2;
const EVENTS_PER_APPEND: u64 = 10;
const APPENDS_PER_WRITER: u64 = 2_500;
const TOTAL: u64 = WRITERS_PER_NODE * NODES * EVENTS_PER_APPEND * APPENDS_PER_WRITER;

fn event(writer: u64, n: u64) -> ProposedEvent {
    ProposedEvent {
        event_id: Uuid::from_u128((u128::from(writer) << 64) | u128::from(n)),
        event_type: "signal_received".into(),
        schema_version: 1,
        occurred_on: NaiveDate::from_ymd_opt(2024, 3, 1).expect("valid date"),
        recorded_by: format!("writer-{writer}"),
        correlation_id: None,
        causation_id: None,
        payload: serde_json::json!({"writer": writer, "n": n}),
    }
}

fn open(dir: &std::path::Path, slow: Option<(u32, Duration)>) -> Arc<Store> {
    let options = PgOptions {
        slow_transactions: slow,
        ..pg_testing::options_for(dir)
    };
    Arc::new(Store::open_postgres(&options).expect("open the PostgreSQL store"))
}

/// A follower that reads the log by position as fast as rows appear — the reader a sequence
/// gap would fool — and records every position it was handed.
fn poll_follower(store: Arc<Store>) -> std::thread::JoinHandle<Vec<RecordedEvent>> {
    std::thread::spawn(move || {
        let mut seen = Vec::with_capacity(TOTAL as usize);
        let mut next = 1;
        while next <= TOTAL {
            let events = store.read_all(next, 2_000).expect("read_all");
            if events.is_empty() {
                std::thread::sleep(Duration::from_millis(1));
            }
            for event in events {
                next = event.position + 1;
                seen.push(event);
            }
        }
        seen
    })
}

/// 4 writers on 2 nodes (2 connection pools, 2 writer connections), every 7th transaction of
/// one node and every 5th of the other held open 15 ms before its commit, 2 followers on 2
/// further nodes — one polling the rows, one subscribed — and 100,000 events: each follower
/// sees every event exactly once, in one and the same order, with the positions 1..=100,000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_never_skip_an_event_that_commits_late() {
    if pg_testing::skipped() {
        eprintln!("skipped: {} is set", pg_testing::SKIP_VAR);
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let _schema = pg_testing::TestSchema::for_dir(dir.path());
    let writers_nodes = [
        open(dir.path(), Some((7, Duration::from_millis(15)))),
        open(dir.path(), Some((5, Duration::from_millis(15)))),
    ];
    let polling = poll_follower(open(dir.path(), None));
    let subscribed = {
        let store = open(dir.path(), None);
        tokio::spawn(async move {
            let mut subscription = store.subscribe(1);
            let mut seen = Vec::with_capacity(TOTAL as usize);
            while (seen.len() as u64) < TOTAL {
                let event = tokio::time::timeout(Duration::from_secs(60), subscription.next())
                    .await
                    .expect("the subscription keeps up")
                    .expect("the store stays open")
                    .expect("the subscription reads");
                seen.push(event);
            }
            seen
        })
    };

    let mut writers = Vec::new();
    for (node, store) in writers_nodes.iter().enumerate() {
        for w in 0..WRITERS_PER_NODE {
            let store = Arc::clone(store);
            let writer = node as u64 * WRITERS_PER_NODE + w;
            writers.push(tokio::spawn(async move {
                for a in 0..APPENDS_PER_WRITER {
                    let first = a * EVENTS_PER_APPEND;
                    let events = (first..first + EVENTS_PER_APPEND)
                        .map(|n| event(writer, n))
                        .collect();
                    store
                        .append(
                            &format!("w{writer}-{}", a % 50),
                            ExpectedVersion::Any,
                            events,
                        )
                        .await
                        .expect("append");
                }
            }));
        }
    }
    for writer in writers {
        writer.await.expect("writer");
    }

    let polled = tokio::task::spawn_blocking(move || polling.join().expect("poller"))
        .await
        .expect("poller");
    let subscribed = subscribed.await.expect("subscriber");
    for (name, seen) in [("polling", &polled), ("subscribed", &subscribed)] {
        let positions: Vec<u64> = seen.iter().map(|e| e.position).collect();
        assert!(
            positions.iter().copied().eq(1..=TOTAL),
            "the {name} follower saw {} events, first out of place at index {:?}",
            positions.len(),
            positions
                .iter()
                .zip(1..)
                .position(|(p, expected)| *p != expected)
        );
    }
    assert_eq!(polled, subscribed, "both followers saw the same log");
    // Every event appended is there exactly once, and each stream's versions run 1, 2, 3, …
    let mut versions: HashMap<&str, u64> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    for event in &polled {
        let version = versions.entry(&event.stream_id).or_insert(0);
        *version += 1;
        assert_eq!(event.version, *version, "{}", event.stream_id);
        assert!(ids.insert(event.event_id));
    }
    assert_eq!(ids.len() as u64, TOTAL);
    let report = writers_nodes[0].verify().expect("verify");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.head_position, TOTAL);
}

/// Two nodes take appends to the same stream with the same expected version: exactly one wins,
/// whichever node it is on, and the loser is told the version it lost to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_nodes_one_expected_version_has_one_winner() {
    if pg_testing::skipped() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let _schema = pg_testing::TestSchema::for_dir(dir.path());
    let nodes = [open(dir.path(), None), open(dir.path(), None)];
    for round in 0..20u64 {
        let attempts: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(node, store)| {
                let store = Arc::clone(store);
                tokio::spawn(async move {
                    store
                        .append(
                            "contested",
                            ExpectedVersion::Exact(round),
                            vec![event(node as u64, round)],
                        )
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for attempt in attempts {
            match attempt.await.expect("task") {
                Ok(_) => won += 1,
                Err(jeugdpad_store::StoreError::Conflict { actual, .. }) => {
                    assert_eq!(actual, round + 1);
                }
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(won, 1, "round {round}");
    }
    let stream = nodes[1].read_stream("contested").expect("read");
    assert_eq!(stream.len(), 20);
}
