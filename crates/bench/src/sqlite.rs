//! The baseline users would otherwise pick: "just put the events in a database" — SQLite.
//!
//! Made as fair to SQLite as we know how, and as a careful application would use it:
//! - `rusqlite` with SQLite bundled (the same SQLite on every machine), WAL journal,
//!   `synchronous=FULL` (every commit fsyncs the WAL: durable, like an acknowledged append of
//!   ours), a page cache of 64 MiB;
//! - one `events` table with the same envelope columns as the sled store keeps (position as the
//!   rowid, stream, version, event id, type, schema version, occurred_on, recorded_at,
//!   recorded_by, correlation and causation id, the JSON payload), a unique (stream, version)
//!   index and a unique event-id index (our store keeps both indexes too);
//! - one connection owned by **one dedicated writer thread**: SQLite allows one writer at a time
//!   anyway, and a thread fed by a channel avoids the lock convoy of many threads fighting over a
//!   connection mutex. Each append is **one transaction** (`BEGIN IMMEDIATE`; read the stream's
//!   current version; check the expected version; insert the events; `COMMIT`), answered after
//!   the commit returned. SQLite cannot share one fsync among independent transactions, so this
//!   is what a straightforward event table on SQLite does; batching several callers' appends into
//!   one transaction would be building our own group commit on top of it.
//! - statements are prepared once and cached (`prepare_cached`).

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::Utc;
use jeugdpad_store::{ExpectedVersion, ProposedEvent};
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use crate::stats::Summary;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

const SCHEMA: &str = "
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    event_id       BLOB    NOT NULL,
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    occurred_on    TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    recorded_by    TEXT    NOT NULL,
    correlation_id BLOB,
    causation_id   BLOB,
    payload        TEXT    NOT NULL
);
CREATE UNIQUE INDEX events_stream_version ON events (stream_id, version);
CREATE UNIQUE INDEX events_event_id ON events (event_id);
";

struct Append {
    stream_id: String,
    expected: ExpectedVersion,
    events: Vec<ProposedEvent>,
    reply: oneshot::Sender<Result<u64, String>>,
}

/// A SQLite event table with one writer thread.
pub struct SqliteLog {
    sender: Option<mpsc::Sender<Append>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for SqliteLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteLog")
    }
}

impl SqliteLog {
    pub fn open(path: &Path) -> Result<SqliteLog, BenchError> {
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "cache_size", -65_536)?;
        connection.execute_batch(SCHEMA)?;
        let (sender, receiver) = mpsc::channel::<Append>();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                for append in receiver {
                    let result = append_one(&connection, &append).map_err(|e| e.to_string());
                    let _ = append.reply.send(result);
                }
            })?;
        Ok(SqliteLog {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Appends in one transaction; resolves after the commit (and its fsync) returned.
    pub async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<u64, BenchError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .as_ref()
            .ok_or("the SQLite writer is closed")?
            .send(Append {
                stream_id: stream_id.to_owned(),
                expected,
                events,
                reply,
            })
            .map_err(|_| "the SQLite writer stopped")?;
        Ok(answer.await??)
    }

    /// Events in the table (a check that every acknowledged append is there).
    pub fn count(path: &Path) -> Result<u64, BenchError> {
        let connection = Connection::open(path)?;
        let n: i64 = connection.query_row("SELECT count(*) FROM events", [], |row| row.get(0))?;
        Ok(u64::try_from(n)?)
    }
}

impl Drop for SqliteLog {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One append = one transaction with the expected-version check.
fn append_one(connection: &Connection, append: &Append) -> Result<u64, BenchError> {
    connection.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| -> Result<u64, BenchError> {
        let current: u64 = connection
            .prepare_cached("SELECT max(version) FROM events WHERE stream_id = ?1")?
            .query_row([&append.stream_id], |row| row.get::<_, Option<i64>>(0))
            .optional()?
            .flatten()
            .map_or(0, |v| v as u64);
        if !append.expected.admits(current) {
            return Err(format!(
                "conflict on {}: expected {}, actual {current}",
                append.stream_id, append.expected
            )
            .into());
        }
        let recorded_at = Utc::now().to_rfc3339();
        let mut insert = connection.prepare_cached(
            "INSERT INTO events (stream_id, version, event_id, event_type, schema_version,
                 occurred_on, recorded_at, recorded_by, correlation_id, causation_id, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for (offset, event) in (1u64..).zip(&append.events) {
            insert.execute(params![
                append.stream_id,
                (current + offset) as i64,
                event.event_id.as_bytes().as_slice(),
                event.event_type,
                event.schema_version,
                event.occurred_on.to_string(),
                recorded_at,
                event.recorded_by,
                event.correlation_id.map(|id| id.as_bytes().to_vec()),
                event.causation_id.map(|id| id.as_bytes().to_vec()),
                serde_json::to_string(&event.payload)?,
            ])?;
        }
        Ok(current + append.events.len() as u64)
    })();
    match result {
        Ok(version) => {
            connection.execute_batch("COMMIT")?;
            Ok(version)
        }
        Err(error) => {
            connection.execute_batch("ROLLBACK")?;
            Err(error)
        }
    }
}

/// The same workload as [`crate::workload::durable_appends`], on SQLite.
pub async fn durable_appends(
    dir: &Path,
    writers: usize,
    batch: usize,
    seconds: f64,
) -> Result<Summary, Box<dyn std::error::Error>> {
    let scratch = tempfile::Builder::new().prefix("sqlite-").tempdir_in(dir)?;
    let path = scratch.path().join("events.db");
    let log = std::sync::Arc::new(SqliteLog::open(&path).map_err(|e| e.to_string())?);
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let tasks = (0..writers)
        .map(|writer| {
            let log = std::sync::Arc::clone(&log);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (mut stream, mut version) = (0u64, 0u64);
                while start.elapsed() < budget {
                    if version >= crate::workload::EVENTS_PER_STREAM {
                        stream += 1;
                        version = 0;
                    }
                    let stream_id = format!("trajectory-bench-{writer}-{stream}");
                    let expected = if version == 0 {
                        ExpectedVersion::NoStream
                    } else {
                        ExpectedVersion::Exact(version)
                    };
                    let events = (0..batch)
                        .map(|i| crate::workload::sample_event(writer, version + i as u64))
                        .collect();
                    let began = Instant::now();
                    version = log.append(&stream_id, expected, events).await?;
                    latencies.push(began.elapsed());
                }
                Ok::<_, BenchError>(latencies)
            })
        })
        .collect::<Vec<_>>();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?.map_err(|e| e.to_string())?);
    }
    let elapsed = start.elapsed();
    let events = (latencies.len() * batch) as u64;
    drop(log);
    let stored = SqliteLog::count(&path).map_err(|e| e.to_string())?;
    if stored != events {
        return Err(format!("SQLite holds {stored} events, {events} were acknowledged").into());
    }
    Ok(Summary::new(events, elapsed, latencies))
}
