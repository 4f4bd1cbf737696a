//! Stopping a server and starting it again on the same data directory.

use jeugdpad_store::Store;
use jeugdpad_tests::server::start_with as start_for_tests_with;

use super::options;

/// `TestServer::shutdown` promises that the store is closed when it returns; then the data
/// directory is free for the next server (or `jeugdpad verify`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_releases_its_data_directory_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut refused = Vec::new();
    for attempt in 0..20 {
        let server = start_for_tests_with(&data, options())
            .await
            .expect("the server starts");
        server.shutdown().await.expect("the server stops cleanly");
        match Store::open(&data) {
            Ok(store) => store.close().expect("the store closes"),
            Err(error) => {
                refused.push(format!("attempt {attempt}: {error}"));
                // Let the late handle go before the next round.
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
    assert!(refused.is_empty(), "{refused:#?}");
}
