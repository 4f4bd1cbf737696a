//! PostgreSQL for tests: the test server's URL, and schemas of their own that are dropped after.
//!
//! The tests of the PostgreSQL back end run by default against the server every machine of the
//! project runs (`127.0.0.1:5432`, database `test`; [`TEST_URL_VAR`] names another). When no
//! server answers they fail with a message that says how to start one, or how to opt out with
//! [`SKIP_VAR`] — which CI never sets.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{PgOptions, StoreError};

/// The variable that names the test server, if not the default.
pub const TEST_URL_VAR: &str = "JEUGDPAD_TEST_POSTGRES";
/// The variable that skips the PostgreSQL tests (`1`) on a machine without the server.
pub const SKIP_VAR: &str = "JEUGDPAD_SKIP_POSTGRES";
/// The test server unless [`TEST_URL_VAR`] says otherwise.
pub const DEFAULT_TEST_URL: &str = "postgres://root@127.0.0.1:5432/test";

/// The test server's URL.
pub fn test_url() -> String {
    std::env::var(TEST_URL_VAR).unwrap_or_else(|_| DEFAULT_TEST_URL.to_owned())
}

/// Whether the PostgreSQL tests are skipped on this machine ([`SKIP_VAR`] is `1`).
pub fn skipped() -> bool {
    std::env::var(SKIP_VAR).is_ok_and(|v| v == "1")
}

/// The schema name a test directory maps to: the same for the same path, so that a test that
/// reopens "its directory" reopens its schema.
pub fn schema_for(dir: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    format!("t_{}", hex::encode(&digest[..8]))
}

/// Options for the test server in the schema of `dir` (see [`schema_for`]).
pub fn options_for(dir: &Path) -> PgOptions {
    PgOptions {
        schema: schema_for(dir),
        pool_size: 4,
        ..PgOptions::new(test_url(), dir)
    }
}

/// [`options_for`] for one node of a test that kills nodes: its sessions carry the node's name as
/// their `application_name`, by which [`wait_until_node_gone`] finds them.
pub fn node_options(dir: &Path, node: &str) -> PgOptions {
    let mut options = options_for(dir);
    let separator = if options.url.contains('?') { '&' } else { '?' };
    options.url = format!("{}{separator}application_name={node}", options.url);
    options
}

/// Waits until the server holds no session of `node` (see [`node_options`]) any more.
///
/// Killing a node does not end its server sessions at once: a session in the middle of a
/// transaction runs on until it next talks to the dead client, and a commit the node had sent
/// still lands. Only once they are gone is the log what the dead node left behind, as a reaped
/// process is for the embedded store. Returns how long that took.
pub fn wait_until_node_gone(node: &str, timeout: Duration) -> Result<Duration, StoreError> {
    let node = node.to_owned();
    on_test_server(test_url(), move |client| async move {
        let started = Instant::now();
        loop {
            let row = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                    &[&node],
                )
                .await
                .map_err(|e| StoreError::storage("pg_stat_activity", e))?;
            let sessions: i64 = row.get(0);
            if sessions == 0 {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                return Err(StoreError::Storage(format!(
                    "{sessions} sessions of the killed node {node} still open after {timeout:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
}

/// Runs `work` on a connection to `url`, on a thread and runtime of its own, so that this works
/// inside or outside any runtime.
fn on_test_server<T, F, Fut>(url: String, work: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(tokio_postgres::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::storage("runtime", e))?;
        runtime.block_on(async {
            let config: tokio_postgres::Config = url
                .parse()
                .map_err(|e| StoreError::InvalidLocation(format!("{url}: {e}")))?;
            let client = super::connect(&config)
                .await
                .map_err(|e| StoreError::Unreachable(e.to_string()))?;
            work(client).await
        })
    })
    .join()
    .unwrap_or_else(|_| {
        Err(StoreError::Storage(
            "the test server's thread panicked".into(),
        ))
    })
}

/// A schema of one test, dropped (with everything in it) when this is dropped.
#[derive(Debug)]
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// The schema of `dir` on the test server, emptied first (a run killed before its drop may
    /// have left it behind). Panics, saying what to do, when no server answers.
    pub fn for_dir(dir: &Path) -> TestSchema {
        let schema = TestSchema {
            url: test_url(),
            name: schema_for(dir),
        };
        if let Err(e) = schema.drop_now() {
            panic!(
                "the PostgreSQL tests need a server at {}: {e}\n\
                 Start one (`pg_ctlcluster 15 main start`), name another with {TEST_URL_VAR}=postgres://…, \
                 or skip these tests with {SKIP_VAR}=1",
                schema.url
            );
        }
        schema
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn drop_now(&self) -> Result<(), StoreError> {
        let name = self.name.clone();
        on_test_server(self.url.clone(), move |client| async move {
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .await
                .map_err(|e| StoreError::storage("drop schema", e))
        })
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Err(e) = self.drop_now() {
            eprintln!("could not drop test schema {}: {e}", self.name);
        }
    }
}
