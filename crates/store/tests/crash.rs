//! Crash test: SIGKILL a real process that appends under concurrent load, then check that every
//! acknowledged append is durable, byte for byte where it was acknowledged, and that no append is
//! half visible.
//!
//! The test binary re-executes itself: `crash_child` does nothing unless `JEUGDPAD_CRASH_CHILD`
//! names a store directory; then it appends forever from 16 tasks and prints one `ACK` line per
//! acknowledged append. The parent kills it after a seeded random delay and inspects the store.
//!
//! Every engine is tested: the segment log (what a new directory gets), sled (directories
//! written by earlier releases) and PostgreSQL (the child is a node that dies; the log lives on
//! in the server, in a schema of the round's own), each for the same number of rounds.
//!
//! `JEUGDPAD_CRASH_ROUNDS=N` sets the number of rounds per engine (default 20),
//! `JEUGDPAD_CRASH_SEED=S` the first round's seed (round r uses S + r),
//! `JEUGDPAD_CRASH_ENGINE=log`, `=sled` or `=postgres` tests one engine only. A failure prints the engine and
//! the seed and keeps the directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use jeugdpad_store::{
    pg_testing, EventStore, ExpectedVersion, Format, ProposedEvent, SledStore, Store,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use uuid::Uuid;

const WRITERS: u64 = 16;
const STREAMS: u64 = 24;
const DEFAULT_ROUNDS: u64 = 20;
const DEFAULT_SEED: u64 = 0x5eed_0001;

fn event_id(seed: u64, writer: u64, seq: u64, i: u64) -> Uuid {
    Uuid::from_u128(
        (u128::from(seed) << 64)
            | (u128::from(writer) << 48)
            | (u128::from(seq) << 8)
            | u128::from(i),
    )
}

fn new_event(seed: u64, writer: u64, seq: u64, i: u64, n: u64) -> ProposedEvent {
    ProposedEvent {
        event_id: event_id(seed, writer, seq, i),
        event_type: "crash_test_event".into(),
        schema_version: 1,
        occurred_on: NaiveDate::from_ymd_opt(2024, 1, 1 + (seq % 28) as u32).expect("valid date"),
        recorded_by: format!("writer-{writer}"),
        correlation_id: Some(Uuid::from_u128(u128::from(seq))),
        causation_id: None,
        payload: serde_json::json!({
            "writer": writer, "seq": seq, "i": i, "n": n,
            "marker": format!("crash-{seed}-{writer}-{seq}-{i}-of-{n}"),
            "filler": "x".repeat(((seq * 37 + i) % 64) as usize * 8),
        }),
    }
}

/// The append `seq` of writer `writer`: its stream and size follow from the seed alone.
fn plan(seed: u64, writer: u64, seq: u64) -> (String, u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ (writer << 32) ^ seq.wrapping_mul(0x9e37_79b9));
    (
        format!("trajectory-{}", rng.gen_range(0..STREAMS)),
        rng.gen_range(1..=5),
    )
}

/// The child: appends until killed. Returns at once in a normal test run.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("JEUGDPAD_CRASH_CHILD") else {
        return;
    };
    let seed: u64 = std::env::var("JEUGDPAD_CRASH_SEED")
        .expect("seed set by the parent")
        .parse()
        .expect("numeric seed");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let dir: &std::path::Path = dir.as_ref();
        let store = match std::env::var("JEUGDPAD_CRASH_ENGINE").as_deref() {
            Ok("sled") => Store::Sled(SledStore::open(dir).expect("open store")),
            Ok("postgres") => {
                Store::open_postgres(&pg_testing::node_options(dir, &node_name(seed)))
                    .expect("open store")
            }
            _ => Store::open(dir).expect("open store"),
        };
        let store = std::sync::Arc::new(store);
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for seq in 0.. {
                    let (stream, n) = plan(seed, writer, seq);
                    let events: Vec<_> =
                        (0..n).map(|i| new_event(seed, writer, seq, i, n)).collect();
                    let outcome = store
                        .append(&stream, ExpectedVersion::Any, events.clone())
                        .await
                        .expect("append");
                    assert!(!outcome.already_stored);
                    let line = format!(
                        "ACK {writer} {seq} {n} {stream} {} {} {}\n",
                        outcome.first_position, outcome.last_position, outcome.stream_version
                    );
                    {
                        let mut out = std::io::stdout().lock();
                        out.write_all(line.as_bytes()).expect("stdout");
                        out.flush().expect("stdout");
                    }
                    if seq % 8 == 3 {
                        // A client retry of the whole append: stored once, same positions.
                        let again = store
                            .append(&stream, ExpectedVersion::NoStream, events)
                            .await
                            .expect("retry");
                        assert!(again.already_stored);
                        assert_eq!(again.first_position, outcome.first_position);
                    }
                }
            }));
        }
        for task in tasks {
            task.await.expect("writer task");
        }
    });
}

struct Ack {
    writer: u64,
    seq: u64,
    n: u64,
    stream: String,
    first: u64,
    last: u64,
    stream_version: u64,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut f = line.strip_prefix("ACK ")?.split(' ');
    let num = |f: &mut std::str::Split<'_, char>| f.next()?.parse::<u64>().ok();
    let writer = num(&mut f)?;
    let seq = num(&mut f)?;
    let n = num(&mut f)?;
    let stream = f.next()?.to_owned();
    Some(Ack {
        writer,
        seq,
        n,
        stream,
        first: num(&mut f)?,
        last: num(&mut f)?,
        stream_version: num(&mut f)?,
    })
}

/// Runs one round; `Err` describes the first violation found.
fn round(seed: u64, engine: Format, dir: &std::path::Path) -> Result<(usize, u64), String> {
    let delay = Duration::from_millis(StdRng::seed_from_u64(seed).gen_range(40..900));
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("JEUGDPAD_CRASH_CHILD", dir)
        .env("JEUGDPAD_CRASH_SEED", seed.to_string())
        .env("JEUGDPAD_CRASH_ENGINE", engine_name(engine))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        // Only whole lines count: a line cut by the kill was never fully acknowledged to us.
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if line.ends_with('\n') {
                lines.push(line.trim_end().to_owned());
            }
            line.clear();
        }
        lines
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    std::thread::sleep(delay);
    let exited_early = child.try_wait().expect("try_wait").is_some();
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    let lines = reader.join().expect("stdout reader");
    let child_stderr = err_reader.join().expect("stderr reader");
    if exited_early {
        return Err(format!("the child exited before the kill:\n{child_stderr}"));
    }
    let killed_after = started.elapsed();
    let settled = match engine {
        // The killed node's transactions in flight may still commit: wait for them to end.
        Format::Postgres => {
            let waited =
                pg_testing::wait_until_node_gone(&node_name(seed), Duration::from_secs(30))
                    .map_err(|e| e.to_string())?;
            format!(", its sessions ended {waited:?} later")
        }
        Format::Log | Format::Sled => String::new(),
    };
    let acks: Vec<Ack> = lines.iter().filter_map(|l| parse_ack(l)).collect();
    eprintln!(
        "round seed {seed}: killed after {killed_after:?}{settled}, {} appends acknowledged",
        acks.len()
    );

    let reopened = match engine {
        Format::Postgres => Store::open_postgres(&pg_testing::options_for(dir)),
        Format::Log | Format::Sled => Store::open(dir),
    };
    let store = reopened.map_err(|e| format!("reopen failed: {e}"))?;
    if store.format() != engine {
        return Err(format!(
            "the child wrote {:?}, not {engine:?}",
            store.format()
        ));
    }
    let report = store.verify().map_err(|e| format!("verify failed: {e}"))?;
    if !report.is_ok() {
        return Err(format!("verify found problems:\n{report}"));
    }
    let events = store.read_all(0, usize::MAX).map_err(|e| e.to_string())?;
    let by_position: BTreeMap<u64, _> = events.iter().map(|e| (e.position, e)).collect();
    if by_position.len() as u64 != store.head()
        || events.iter().zip(1..).any(|(e, p)| e.position != p)
    {
        return Err("positions are not 1..=head".into());
    }

    let mut acked_events = 0;
    for ack in &acks {
        if ack.last + 1 - ack.first != ack.n {
            return Err(format!(
                "ack {}/{} spans the wrong number of positions",
                ack.writer, ack.seq
            ));
        }
        for i in 0..ack.n {
            let position = ack.first + i;
            let Some(event) = by_position.get(&position) else {
                return Err(format!(
                    "LOST: writer {} seq {} event {i} was acknowledged at position {position} but is missing (head {})",
                    ack.writer, ack.seq, store.head()
                ));
            };
            let expected = new_event(seed, ack.writer, ack.seq, i, ack.n);
            let version = ack.stream_version + 1 - ack.n + i;
            if event.event_id != expected.event_id
                || event.payload != expected.payload
                || event.stream_id != ack.stream
                || event.version != version
                || event.event_type != expected.event_type
                || event.occurred_on != expected.occurred_on
                || event.recorded_by != expected.recorded_by
                || event.correlation_id != expected.correlation_id
            {
                return Err(format!(
                    "position {position} does not hold the acknowledged event: {event:?}"
                ));
            }
            acked_events += 1;
        }
    }

    // All or nothing: every append in the log is complete and contiguous, acknowledged or not.
    let mut appends: BTreeMap<(u64, u64), Vec<u64>> = BTreeMap::new();
    for event in &events {
        let field = |name: &str| {
            event.payload[name]
                .as_u64()
                .ok_or(format!("no {name} in {event:?}"))
        };
        let (writer, seq, i, n) = (field("writer")?, field("seq")?, field("i")?, field("n")?);
        let (stream, planned_n) = plan(seed, writer, seq);
        let expected = new_event(seed, writer, seq, i, n);
        if planned_n != n
            || stream != event.stream_id
            || expected.payload != event.payload
            || expected.event_id != event.event_id
        {
            return Err(format!(
                "position {} holds an event nobody wrote: {event:?}",
                event.position
            ));
        }
        appends
            .entry((writer, seq))
            .or_default()
            .push(event.position);
    }
    for ((writer, seq), positions) in &appends {
        let (_, n) = plan(seed, *writer, *seq);
        let contiguous = positions.windows(2).all(|w| w[1] == w[0] + 1);
        if positions.len() as u64 != n || !contiguous {
            return Err(format!("append {writer}/{seq} is half visible: {n} events planned, positions {positions:?}"));
        }
    }

    // The store continues: positions, versions and the chain go on from where they were.
    let head = store.head();
    let outcome = store
        .append_blocking(
            "after-crash",
            ExpectedVersion::NoStream,
            vec![new_event(seed, 99, 0, 0, 1)],
        )
        .map_err(|e| format!("append after reopen failed: {e}"))?;
    if outcome.first_position != head + 1 {
        return Err(format!(
            "position after reopen is {} not {}",
            outcome.first_position,
            head + 1
        ));
    }
    let report = store.verify().map_err(|e| e.to_string())?;
    if !report.is_ok() {
        return Err(format!("verify after continuing found problems:\n{report}"));
    }
    store.close().map_err(|e| e.to_string())?;
    Ok((acks.len(), acked_events))
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    if std::env::var("JEUGDPAD_CRASH_CHILD").is_ok() {
        return;
    }
    let rounds: u64 = std::env::var("JEUGDPAD_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let first_seed: u64 = std::env::var("JEUGDPAD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let engines = match std::env::var("JEUGDPAD_CRASH_ENGINE").as_deref() {
        Ok("log") => vec![Format::Log],
        Ok("sled") => vec![Format::Sled],
        Ok("postgres") => vec![Format::Postgres],
        _ if pg_testing::skipped() => vec![Format::Log, Format::Sled],
        _ => vec![Format::Log, Format::Sled, Format::Postgres],
    };
    for engine in engines {
        let name = engine_name(engine);
        let (mut appends, mut events) = (0usize, 0u64);
        for r in 0..rounds {
            let seed = first_seed + r;
            let dir = tempfile::tempdir().expect("tempdir");
            // PostgreSQL: the child is one node, killed; the log lives on in the server.
            let _schema =
                (engine == Format::Postgres).then(|| pg_testing::TestSchema::for_dir(dir.path()));
            match round(seed, engine, dir.path()) {
                Ok((a, e)) => {
                    appends += a;
                    events += e;
                }
                Err(why) => {
                    let kept = dir.keep();
                    panic!(
                        "crash round {r} of the {name} engine failed (reproduce: JEUGDPAD_CRASH_ENGINE={name} JEUGDPAD_CRASH_SEED={seed} JEUGDPAD_CRASH_ROUNDS=1); store kept in {kept:?}: {why}"
                    );
                }
            }
        }
        eprintln!(
            "crash test ({name}): {rounds} rounds, {appends} appends / {events} events acknowledged, none lost"
        );
        assert!(
            appends > 0,
            "no append was acknowledged in any round of the {name} engine: the test proves nothing"
        );
    }
}

/// The PostgreSQL node name of a round's child.
fn node_name(seed: u64) -> String {
    format!("jeugdpad-crash-child-{seed}")
}

fn engine_name(engine: Format) -> &'static str {
    match engine {
        Format::Log => "log",
        Format::Sled => "sled",
        Format::Postgres => "postgres",
    }
}
