//! The workloads: the disk's own limit, and durable appends through the store.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use jeugdpad_store::{EventStore, ExpectedVersion, ProposedEvent, SledStore, Store};
use uuid::Uuid;

use crate::stats::{Summary, WriterSplit};

type BenchResult = Result<Summary, Box<dyn std::error::Error>>;

/// How many small synchronous appends per second the disk takes: write ~200 bytes at the end of
/// a file, then `fdatasync`. No store can durably acknowledge one-at-a-time appends faster than
/// this; group commit exists to get past it by sharing one sync among many appends.
pub fn fsync_rate(dir: &Path, seconds: f64) -> BenchResult {
    let scratch = tempfile::Builder::new().prefix("fsync-").tempdir_in(dir)?;
    let mut file = std::fs::File::create(scratch.path().join("log"))?;
    let record = [b'x'; 200];
    let mut latencies = Vec::new();
    let start = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    while start.elapsed() < budget {
        let began = Instant::now();
        file.write_all(&record)?;
        file.sync_data()?;
        latencies.push(began.elapsed());
    }
    Ok(Summary::new(
        latencies.len() as u64,
        start.elapsed(),
        latencies,
    ))
}

/// Sequential write bandwidth: `mib` MiB written in 1 MiB blocks to a new file, then one
/// `fdatasync`; MB/s (10^6 bytes) over the whole time including the sync. The most bytes per
/// second any log on this disk can make durable.
pub fn write_bandwidth(dir: &Path, mib: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let scratch = tempfile::Builder::new()
        .prefix("bandwidth-")
        .tempdir_in(dir)?;
    let mut file = std::fs::File::create(scratch.path().join("blob"))?;
    // Not all one byte, so no layer below can cheat by compressing.
    let block: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let start = Instant::now();
    for _ in 0..mib {
        file.write_all(&block)?;
    }
    file.sync_data()?;
    let seconds = start.elapsed().as_secs_f64();
    Ok((mib * 1024 * 1024) as f64 / 1e6 / seconds.max(f64::EPSILON))
}

/// Which store engine an append workload runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The segment log: what a new data directory gets.
    Log,
    /// sled: what data directories of earlier releases hold.
    Sled,
    /// PostgreSQL: one log shared by several nodes (a fresh schema per run, dropped after).
    Postgres,
}

impl Engine {
    /// The name the tables print.
    pub fn label(self) -> &'static str {
        match self {
            Engine::Log => "segment log",
            Engine::Sled => "sled",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

/// `writers` tasks append for `seconds`, each to streams of its own with an exact expected
/// version (as the API does), `batch` events per append. Counts acknowledged events only:
/// an acknowledgement means the events are flushed to disk (for PostgreSQL: the transaction's
/// `COMMIT` returned). `postgres` is the server's URL, used by [`Engine::Postgres`] only.
pub async fn durable_appends(
    dir: &Path,
    engine: Engine,
    postgres: &str,
    writers: usize,
    batch: usize,
    seconds: f64,
) -> BenchResult {
    let scratch = tempfile::Builder::new().prefix("store-").tempdir_in(dir)?;
    // Declared before the store, so it is dropped after it.
    let mut schema = None;
    let store = Arc::new(match engine {
        Engine::Log => Store::open(scratch.path())?,
        Engine::Sled => Store::Sled(SledStore::open(scratch.path())?),
        Engine::Postgres => {
            let fresh = crate::postgres::ScratchSchema::new(postgres)?;
            let store = Store::open_postgres(&fresh.options(scratch.path()))?;
            schema = Some(fresh);
            store
        }
    });
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();

    let tasks = (0..writers)
        .map(|writer| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { write_until(&store, writer, batch, start, budget).await })
        })
        .collect::<Vec<_>>();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = start.elapsed();
    let events = (latencies.len() * batch) as u64;

    let writer = WriterSplit::new(&store.timings(), events);
    let verified = store.verify()?;
    if !verified.is_ok() || verified.events != events {
        return Err(format!(
            "the store failed verification after the run ({events} events acknowledged): {verified:?}"
        )
        .into());
    }
    match Arc::try_unwrap(store) {
        Ok(store) => store.close()?,
        Err(store) => drop(store),
    }
    drop(schema);
    Ok(Summary {
        writer: Some(writer),
        ..Summary::new(events, elapsed, latencies)
    })
}

/// Events per stream in the append workloads: about one trajectory's worth.
pub const EVENTS_PER_STREAM: u64 = 30;

/// One writer: a realistic trajectory-sized stream of ~30 events, then the next stream.
async fn write_until(
    store: &Store,
    writer: usize,
    batch: usize,
    start: Instant,
    budget: Duration,
) -> Result<Vec<Duration>, jeugdpad_store::StoreError> {
    let mut latencies = Vec::new();
    let (mut stream, mut version) = (0u64, 0u64);
    while start.elapsed() < budget {
        if version >= EVENTS_PER_STREAM {
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
            .map(|i| sample_event(writer, version + i as u64))
            .collect();
        let began = Instant::now();
        let outcome = store.append(&stream_id, expected, events).await?;
        latencies.push(began.elapsed());
        version = outcome.stream_version;
    }
    Ok(latencies)
}

/// A payload shaped and sized like a real `help_started` event (synthetic, no personal data).
pub fn sample_event(writer: usize, seq: u64) -> ProposedEvent {
    ProposedEvent {
        event_id: Uuid::new_v4(),
        event_type: "help_started".to_owned(),
        schema_version: 1,
        occurred_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(),
        recorded_by: format!("consultant-{writer}"),
        correlation_id: Some(Uuid::new_v4()),
        causation_id: None,
        payload: serde_json::json!({
            "episode_id": format!("ep-{seq}"),
            "form": "parenting_support",
            "provider": "Synthetische Jeugdhulp B.V.",
        }),
    }
}
