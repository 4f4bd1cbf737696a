//! The PostgreSQL back end under the same workloads as the embedded store: throw-away schemas,
//! copying a loaded cohort into one (so replay reads the very same log), and the delay with which
//! a second node sees what the first one appended.
//!
//! Every run gets a schema of its own, dropped afterwards (also when the run fails), so runs never
//! see each other's rows and nothing is left behind on the server.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jeugdpad_store::{EventStore, ExpectedVersion, PgOptions, Store, MAX_EVENTS_PER_APPEND};
use serde::{Deserialize, Serialize};

use crate::stats::nearest_rank;

type AnyError = Box<dyn std::error::Error>;

/// The server every machine of the project runs; `--postgres` names another.
pub const DEFAULT_URL: &str = "postgres://root@127.0.0.1:5432/test";

/// A schema made for one run and dropped with everything in it when this is dropped.
#[derive(Debug)]
pub struct ScratchSchema {
    url: String,
    name: String,
}

impl ScratchSchema {
    /// A new, empty schema name on the server at `url`. Fails with a hint when no server answers,
    /// before any time is spent on the run.
    pub fn new(url: &str) -> Result<ScratchSchema, AnyError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "bench_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        drop_schema(url, &name).map_err(|e| {
            format!(
                "no PostgreSQL at {url}: {e} (start one, name another with --postgres URL, \
                 or leave PostgreSQL out with --no-postgres)"
            )
        })?;
        Ok(ScratchSchema {
            url: url.to_owned(),
            name,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Options for a node of this schema keeping its own files in `local_dir`.
    pub fn options(&self, local_dir: &Path) -> PgOptions {
        PgOptions {
            schema: self.name.clone(),
            ..PgOptions::new(self.url.clone(), local_dir)
        }
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        if let Err(e) = drop_schema(&self.url, &self.name) {
            eprintln!("could not drop the scratch schema {}: {e}", self.name);
        }
    }
}

/// `DROP SCHEMA IF EXISTS name CASCADE` on the server at `url`.
fn drop_schema(url: &str, name: &str) -> Result<(), String> {
    let (url, name) = (url.to_owned(), name.to_owned());
    // On a thread of its own with its own runtime, so this works inside or outside any runtime
    // (a `Drop` may run on an async worker).
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .await
                .map_err(|e| e.to_string())
        })
    })
    .join()
    .unwrap_or_else(|_| Err("the thread dropping the schema panicked".to_owned()))
}

/// Copying a cohort store's log into PostgreSQL with `import_batch`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyReport {
    pub events: u64,
    pub seconds: f64,
    pub events_per_second: f64,
    /// Whether the copy's chain head (PostgreSQL's `verify`) equals the source's: the same bytes
    /// in the same order, so replay reads the very same log.
    pub same_chain_head: bool,
    pub verify_seconds: f64,
}

/// Copies the log of the embedded store in `source` into a fresh schema: consecutive
/// `import_batch` calls of [`MAX_EVENTS_PER_APPEND`] events, a few in flight, then `verify` on
/// both sides. Returns the schema (dropped when the caller drops it).
pub fn copy_log(
    source: &Path,
    url: &str,
    local_dir: &Path,
    runtime: &tokio::runtime::Runtime,
) -> Result<(ScratchSchema, CopyReport), AnyError> {
    let schema = ScratchSchema::new(url)?;
    let from = Store::open(source)?;
    let to = Store::open_postgres(&schema.options(local_dir))?;
    let started = Instant::now();
    let mut in_flight = VecDeque::new();
    let (mut position, mut events) = (0u64, 0u64);
    loop {
        let batch = from.read_all(position + 1, MAX_EVENTS_PER_APPEND)?;
        let Some(last) = batch.last() else { break };
        position = last.position;
        events += batch.len() as u64;
        in_flight.push_back(to.import_batch(batch));
        if in_flight.len() >= 4 {
            if let Some(oldest) = in_flight.pop_front() {
                runtime.block_on(oldest)?;
            }
        }
    }
    for pending in in_flight {
        runtime.block_on(pending)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let verify_started = Instant::now();
    let copied = to.verify()?;
    let verify_seconds = verify_started.elapsed().as_secs_f64();
    let original = from.verify()?;
    if !copied.is_ok() || copied.events != events {
        return Err(format!("the PostgreSQL copy failed verification: {copied:?}").into());
    }
    from.close()?;
    to.close()?;
    Ok((
        schema,
        CopyReport {
            events,
            seconds,
            events_per_second: events as f64 / seconds.max(f64::EPSILON),
            same_chain_head: copied.head_hash == original.head_hash,
            verify_seconds,
        },
    ))
}

/// How long after node A acknowledged an append node B's subscription delivered it.
#[derive(Debug, Clone, Serialize)]
pub struct Propagation {
    /// Appends per second asked for, and reached (each append submitted on its tick, without
    /// waiting for the one before).
    pub target_rate: f64,
    pub achieved_rate: f64,
    pub events: u64,
    /// Node A's own append latency (submit to acknowledgement).
    pub append_p50_ms: f64,
    /// Acknowledgement on A → delivery on B.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Events B delivered before A's acknowledgement arrived (counted as 0 ms above): B's
    /// wake-up can beat the answer travelling back through A's writer.
    pub delivered_before_ack: u64,
}

/// Two nodes (two `Store::open_postgres` handles: each its own runtime, pool, writer and
/// listener) on one fresh schema. A appends one event per append at `rate` per second for
/// `seconds`; B's subscription, started before the first append, records when each position
/// arrives.
pub async fn propagation(
    url: &str,
    dir: &Path,
    rate: f64,
    seconds: f64,
) -> Result<Propagation, AnyError> {
    let schema = ScratchSchema::new(url)?;
    let (dir_a, dir_b) = (
        tempfile::Builder::new().prefix("node-a-").tempdir_in(dir)?,
        tempfile::Builder::new().prefix("node-b-").tempdir_in(dir)?,
    );
    let a = Arc::new(Store::open_postgres(&schema.options(dir_a.path()))?);
    let b = Arc::new(Store::open_postgres(&schema.options(dir_b.path()))?);

    let mut subscription = b.subscribe(b.head() + 1);
    let (stop, mut stopped) = tokio::sync::watch::channel(0u64);
    let follower = tokio::spawn(async move {
        let mut arrived = HashMap::new();
        loop {
            tokio::select! {
                next = subscription.next() => match next {
                    Some(Ok(event)) => {
                        arrived.insert(event.position, Instant::now());
                    }
                    Some(Err(e)) => return Err(e.to_string()),
                    None => break,
                },
                changed = stopped.changed() => {
                    // The last position A wrote; stop once it has arrived.
                    if changed.is_err() {
                        break;
                    }
                }
            }
            let last = *stopped.borrow();
            if last > 0 && arrived.contains_key(&last) {
                break;
            }
        }
        Ok::<_, String>(arrived)
    });

    // One append per tick, each on a stream of its own and not waiting for the one before: the
    // rate stays steady however long a commit takes.
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1.0)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut appends = Vec::new();
    let mut n = 0u64;
    while start.elapsed() < budget {
        tick.tick().await;
        let a = Arc::clone(&a);
        let event = crate::workload::sample_event(0, n);
        let stream = format!("trajectory-propagation-{n}");
        appends.push(tokio::spawn(async move {
            let began = Instant::now();
            let outcome = a
                .append(&stream, ExpectedVersion::NoStream, vec![event])
                .await?;
            let now = Instant::now();
            Ok::<_, jeugdpad_store::StoreError>((outcome.last_position, now, now - began))
        }));
        n += 1;
    }
    let mut acknowledged = Vec::with_capacity(appends.len());
    let mut append_latencies = Vec::with_capacity(appends.len());
    for append in appends {
        let (position, acked, latency) = append.await??;
        acknowledged.push((position, acked));
        append_latencies.push(latency);
    }
    acknowledged.sort_unstable();
    let elapsed = start.elapsed();
    let last = acknowledged.last().map_or(0, |(position, _)| *position);
    stop.send_replace(last);
    let arrived = tokio::time::timeout(Duration::from_secs(10), follower)
        .await
        .map_err(|_| "node B did not deliver every event within 10 s of the last append")???;

    let mut delays = Vec::with_capacity(acknowledged.len());
    let mut before_ack = 0;
    for (position, acked) in &acknowledged {
        let seen = arrived
            .get(position)
            .ok_or_else(|| format!("node B never delivered position {position}"))?;
        if seen < acked {
            before_ack += 1;
        }
        delays.push(seen.saturating_duration_since(*acked));
    }
    delays.sort_unstable();
    append_latencies.sort_unstable();
    drop(a);
    drop(b);
    drop(schema);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(Propagation {
        target_rate: rate,
        achieved_rate: acknowledged.len() as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        events: acknowledged.len() as u64,
        append_p50_ms: ms(nearest_rank(&append_latencies, 0.50)),
        p50_ms: ms(nearest_rank(&delays, 0.50)),
        p99_ms: ms(nearest_rank(&delays, 0.99)),
        max_ms: ms(delays.last().copied().unwrap_or_default()),
        delivered_before_ack: before_ack,
    })
}
