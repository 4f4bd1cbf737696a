//! Two API servers on one PostgreSQL schema, in one process: what one node records reaches the
//! other's subscribers and reports.

use std::time::{Duration, Instant};

use jeugdpad_store::pg_testing;
use serde_json::json;

use super::subscription::{connect, next_within, subscribe};
use super::Server;

/// Steps opened on node A, each timed from A's answer until node B's subscriber has it.
const STEPS: usize = 30;

/// A team lead subscribed on node B receives every trajectory a consultant opens on node A, in
/// order, and B's listing shows them all; the delay from A's answer to B's message is printed
/// (p50/p99).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_recorded_on_one_node_reach_the_subscribers_and_reports_of_another() {
    if pg_testing::skipped() {
        eprintln!("skipped: {} is set", pg_testing::SKIP_VAR);
        return;
    }
    let a = Server::start_on_postgres().await;
    let b = a.another_node().await;
    let (mut socket, ack) = connect(&b, b.lead("noord").authorization()).await;
    assert_eq!(ack.expect("an answer")["type"], "connection_ack");
    subscribe(
        &mut socket,
        "1",
        "subscription { teamEvents(team: \"noord\") { type trajectoryId } }",
    )
    .await;

    let mut opened = Vec::new();
    let mut delays = Vec::new();
    for n in 0..STEPS {
        let case = a
            .open("2026-03-01", "noord", &format!("sk-node-{n}"), "SCHOOL")
            .await;
        let answered = Instant::now();
        let message = next_within(&mut socket, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("node B's subscriber never heard of step {n}"));
        delays.push(answered.elapsed());
        assert_eq!(
            message["payload"]["data"]["teamEvents"],
            json!({ "type": "SIGNAL_RECEIVED", "trajectoryId": case.id }),
            "{message}"
        );
        opened.push(case.id);
    }
    delays.sort();
    eprintln!(
        "node A to node B's subscriber, {STEPS} steps: p50 {:?}, p99 {:?}",
        delays[STEPS / 2],
        delays[STEPS * 99 / 100]
    );

    let listed = b
        .lead("noord")
        .gql(
            "{ trajectories(filter: { team: \"noord\" }) { nodes { trajectoryId } } }",
            json!({}),
        )
        .await;
    let mut listed: Vec<String> = listed["trajectories"]["nodes"]
        .as_array()
        .expect("a listing")
        .iter()
        .map(|node| node["trajectoryId"].as_str().expect("an id").to_owned())
        .collect();
    listed.sort();
    opened.sort();
    assert_eq!(
        listed, opened,
        "node B's listing holds what node A recorded"
    );
    // And node B shows each one's timeline, read from PostgreSQL.
    for id in opened.iter().take(3) {
        let trajectory = b
            .lead("noord")
            .gql(
                "query($id: ID!) { trajectory(id: $id) { timeline { type } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            trajectory["trajectory"]["timeline"],
            json!([{ "type": "SIGNAL_RECEIVED" }]),
            "{trajectory}"
        );
    }
}
