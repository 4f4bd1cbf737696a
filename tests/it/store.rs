//! Behaviour of both store engines through their public API: conflicts, idempotency, gapless positions
//! under concurrency, subscriptions, reopening, and tamper evidence.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use jeugdpad_store::{
    pg_testing, verify_dir, verify_dir_at, AppendOutcome, EventStore, ExpectedVersion, Format,
    LogOptions, LogStore, ProposedEvent, RawEvent, RecordedEvent, SledStore, Store, StoreError,
    VerifyReport,
};
use uuid::Uuid;

fn event(n: u64) -> ProposedEvent {
    ProposedEvent {
        event_id: Uuid::from_u128(0xE000_0000 + u128::from(n)),
        event_type: "signal_received".into(),
        schema_version: 1,
        occurred_on: NaiveDate::from_ymd_opt(2024, 3, 1).expect("valid date"),
        recorded_by: "consultant-1".into(),
        correlation_id: None,
        causation_id: None,
        payload: serde_json::json!({"marker": format!("MARKER-{n:06}-END"), "pad": "p".repeat(64)}),
    }
}

fn events(range: std::ops::Range<u64>) -> Vec<ProposedEvent> {
    range.map(event).collect()
}

/// The engines every behaviour test runs against (see `for_each_engine!` at the end).
#[derive(Debug, Clone, Copy)]
enum Engine {
    Sled,
    Log,
    /// In a schema of the test's own on the test server, named after the test's directory.
    Postgres,
}

/// Where one test's store lives: a directory and, for PostgreSQL, the schema named after it
/// (dropped with this).
struct Place {
    dir: tempfile::TempDir,
    _schema: Option<pg_testing::TestSchema>,
}

impl Place {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Engine {
    /// A new, empty place for a store of this engine.
    fn place(self) -> Place {
        let dir = tempfile::tempdir().expect("tempdir");
        let schema =
            matches!(self, Engine::Postgres).then(|| pg_testing::TestSchema::for_dir(dir.path()));
        Place {
            dir,
            _schema: schema,
        }
    }

    /// Verifies the closed store at `dir` (with the hash at `at`), as `jeugdpad verify` does.
    fn verify_closed(self, dir: &Path, at: Option<u64>) -> VerifyReport {
        match self {
            Engine::Sled | Engine::Log => verify_dir_at(dir, at).expect("verify_dir_at"),
            Engine::Postgres => match self.open(dir) {
                Store::Postgres(store) => store.verify_at(at).expect("verify_at"),
                other => panic!("not a PostgreSQL store: {other:?}"),
            },
        }
    }

    fn try_open(self, dir: &Path) -> Result<Store, StoreError> {
        match self {
            Engine::Postgres => Store::open_postgres(&pg_testing::options_for(dir)),
            Engine::Sled => SledStore::open(dir).map(Store::Sled),
            // Small segments, so that the tests cross segment boundaries.
            Engine::Log => LogStore::open_with(
                dir,
                &LogOptions {
                    segment_bytes: 64 << 10,
                    ..LogOptions::default()
                },
            )
            .map(Store::Log),
        }
    }

    fn open(self, dir: &Path) -> Store {
        self.try_open(dir).expect("open store")
    }
}

/// The sled engine, for the tests of its own file layout.
fn open(dir: &Path) -> Store {
    Engine::Sled.open(dir)
}

fn all(store: &Store) -> Vec<RecordedEvent> {
    store.read_all(0, usize::MAX).expect("read_all")
}

fn assert_gapless(store: &Store) {
    let log = all(store);
    let positions: Vec<u64> = log.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=store.head()).collect::<Vec<_>>());
    let mut versions: HashMap<&str, Vec<u64>> = HashMap::new();
    for e in &log {
        versions.entry(&e.stream_id).or_default().push(e.version);
    }
    for (stream, versions) in versions {
        assert_eq!(
            versions,
            (1..=versions.len() as u64).collect::<Vec<_>>(),
            "{stream}"
        );
        let read = store.read_stream(stream).expect("read_stream");
        assert_eq!(read.iter().map(|e| e.version).collect::<Vec<_>>(), versions);
    }
    let report = store.verify().expect("verify");
    assert!(report.is_ok(), "{report}");
}

async fn concurrent_appenders_with_the_same_expected_version_one_wins(engine: Engine) {
    let dir = engine.place();
    let store = Arc::new(engine.open(dir.path()));
    for round in 0..200u64 {
        let (a, b) = (store.clone(), store.clone());
        let expected = ExpectedVersion::Exact(round);
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { a.append("s", expected, vec![event(2 * round)]).await }),
            tokio::spawn(async move { b.append("s", expected, vec![event(2 * round + 1)]).await }),
        );
        let results = [ra.expect("task"), rb.expect("task")];
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        let conflict = results
            .iter()
            .find_map(|r| r.as_ref().err())
            .expect("a loser");
        assert!(
            matches!(conflict, StoreError::Conflict { actual, .. } if *actual == round + 1),
            "{conflict:?}"
        );
    }
    assert_eq!(store.head(), 200);
    assert_gapless(&store);
}

async fn the_same_event_ids_again_return_the_original_positions(engine: Engine) {
    let dir = engine.place();
    let store = engine.open(dir.path());
    store
        .append("other", ExpectedVersion::Any, events(0..2))
        .await
        .expect("append");
    let first = store
        .append("s", ExpectedVersion::NoStream, events(10..13))
        .await
        .expect("append");
    let expected = AppendOutcome {
        first_position: 3,
        last_position: 5,
        stream_version: 3,
        already_stored: false,
    };
    assert_eq!(first, expected);

    // A retry with a stale expected version is still a success, and writes nothing.
    let again = store
        .append("s", ExpectedVersion::NoStream, events(10..13))
        .await
        .expect("retry");
    assert_eq!(
        again,
        AppendOutcome {
            already_stored: true,
            ..expected
        }
    );
    assert_eq!(store.head(), 5);

    let reused = |result: Result<AppendOutcome, StoreError>| {
        assert!(
            matches!(result, Err(StoreError::EventIdReused { .. })),
            "{result:?}"
        );
    };
    // Some ids stored, some new.
    reused(
        store
            .append("s", ExpectedVersion::Any, events(12..15))
            .await,
    );
    // Stored in another stream.
    reused(store.append("s", ExpectedVersion::Any, events(0..1)).await);
    // Same id, different content.
    let mut changed = event(10);
    changed.payload = serde_json::json!({"other": true});
    reused(store.append("s", ExpectedVersion::Any, vec![changed]).await);
    assert_eq!(store.head(), 5, "rejected appends wrote nothing");

    // Duplicates inside one append are the caller's mistake.
    let dup = store
        .append("s", ExpectedVersion::Any, vec![event(20), event(20)])
        .await;
    assert!(matches!(dup, Err(StoreError::InvalidAppend(_))), "{dup:?}");
    assert_gapless(&store);
}

async fn a_double_submission_in_one_group_is_stored_once(engine: Engine) {
    let dir = engine.place();
    let store = Arc::new(engine.open(dir.path()));
    for round in 0..50u64 {
        let batch = events(100 * round..100 * round + 3);
        let futures: Vec<_> = (0..4)
            .map(|_| {
                let (store, batch) = (store.clone(), batch.clone());
                tokio::spawn(async move { store.append("s", ExpectedVersion::Any, batch).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for f in futures {
            outcomes.push(f.await.expect("task").expect("append"));
        }
        assert_eq!(
            outcomes.iter().filter(|o| !o.already_stored).count(),
            1,
            "{outcomes:?}"
        );
        assert!(outcomes
            .iter()
            .all(|o| o.first_position == outcomes[0].first_position));
    }
    assert_eq!(store.head(), 150);
    assert_gapless(&store);
}

async fn positions_and_versions_stay_gapless_under_many_writers(engine: Engine) {
    let dir = engine.place();
    let store = Arc::new(engine.open(dir.path()));
    let mut tasks = Vec::new();
    for writer in 0..32u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            for seq in 0..50u64 {
                let n = 1 + (writer + seq) % 3;
                let base = writer * 1_000 + seq * 10;
                let stream = format!("trajectory-{}", (writer * 7 + seq) % 13);
                let outcome = store
                    .append(&stream, ExpectedVersion::Any, events(base..base + n))
                    .await
                    .expect("append");
                acks.push((outcome, base, n));
            }
            acks
        }));
    }
    let mut total = 0;
    let mut acks = Vec::new();
    for task in tasks {
        for (outcome, base, n) in task.await.expect("task") {
            assert_eq!(outcome.last_position - outcome.first_position + 1, n);
            total += n;
            acks.push((outcome, base, n));
        }
    }
    assert_eq!(store.head(), total);
    let log = all(&store);
    for (outcome, base, n) in acks {
        for i in 0..n {
            let e = &log[(outcome.first_position + i - 1) as usize];
            assert_eq!(e.event_id, event(base + i).event_id);
            assert_eq!(e.version, outcome.stream_version - n + 1 + i);
        }
    }
    assert_gapless(&store);
}

async fn subscribers_receive_every_position_once_across_the_handover(engine: Engine) {
    let dir = engine.place();
    let store = Arc::new(engine.open(dir.path()));
    store
        .append("seed", ExpectedVersion::Any, events(0..50))
        .await
        .expect("append");
    let writers: Vec<_> = (0..8u64)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for seq in 0..60u64 {
                    let base = 1_000 + w * 1_000 + seq * 10;
                    let n = 1 + seq % 4;
                    store
                        .append(
                            &format!("s-{}", seq % 5),
                            ExpectedVersion::Any,
                            events(base..base + n),
                        )
                        .await
                        .expect("append");
                    if seq % 10 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    let expected_total = 50 + 8 * (15 * (1 + 2 + 3 + 4));
    let mut subscribers = Vec::new();
    for (i, from) in [0u64, 1, 30, 51, 0, 200].into_iter().enumerate() {
        let mut sub = store.subscribe(from);
        subscribers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(event) = sub.next().await {
                let event = event.expect("event");
                seen.push(event.position);
                if event.position == expected_total {
                    break;
                }
            }
            (from.max(1), seen)
        }));
        tokio::time::sleep(std::time::Duration::from_millis(3 * i as u64)).await;
    }
    // One subscriber that starts at the live head, mid-stream.
    let mut late = store.subscribe(store.head() + 1);
    let late_from = late.position();
    for w in writers {
        w.await.expect("writer");
    }
    assert_eq!(store.head(), expected_total);
    for s in subscribers {
        let (from, seen) = s.await.expect("subscriber");
        assert_eq!(seen, (from..=expected_total).collect::<Vec<_>>());
    }
    let mut seen = Vec::new();
    while late.position() <= expected_total {
        seen.push(late.next().await.expect("open").expect("event").position);
    }
    assert_eq!(seen, (late_from..=expected_total).collect::<Vec<_>>());
}

async fn a_subscription_ends_after_close_once_everything_is_delivered(engine: Engine) {
    let dir = engine.place();
    let store = engine.open(dir.path());
    store
        .append("s", ExpectedVersion::Any, events(0..3))
        .await
        .expect("append");
    let mut sub = store.subscribe(0);
    store.close().expect("close");
    for position in 1..=3 {
        assert_eq!(
            sub.next().await.expect("event").expect("ok").position,
            position
        );
    }
    assert!(sub.next().await.is_none());
}

async fn appends_are_atomic_and_survive_reopening(engine: Engine) {
    let dir = engine.place();
    let store = engine.open(dir.path());
    let empty = store.append("s", ExpectedVersion::Any, vec![]).await;
    assert!(
        matches!(empty, Err(StoreError::InvalidAppend(_))),
        "{empty:?}"
    );
    for bad in ["", "a\0b", "line\nbreak"] {
        let result = store.append(bad, ExpectedVersion::Any, events(0..1)).await;
        assert!(
            matches!(result, Err(StoreError::InvalidAppend(_))),
            "{bad:?}"
        );
    }
    assert_eq!(store.head(), 0);
    let outcome = store
        .append("a", ExpectedVersion::NoStream, events(0..4))
        .await
        .expect("append");
    assert_eq!(
        (
            outcome.first_position,
            outcome.last_position,
            outcome.stream_version
        ),
        (1, 4, 4)
    );
    // A conflicting multi-event append writes none of its events.
    let conflict = store
        .append("a", ExpectedVersion::Exact(3), events(4..8))
        .await;
    assert!(
        matches!(conflict, Err(StoreError::Conflict { actual: 4, .. })),
        "{conflict:?}"
    );
    store
        .append("b", ExpectedVersion::Any, events(8..10))
        .await
        .expect("append");
    let before = all(&store);
    let hash_before = store.verify().expect("verify").head_hash;
    store.close().expect("close");

    let store = engine.open(dir.path());
    assert_eq!(store.head(), 6);
    assert_eq!(all(&store), before);
    assert_eq!(store.verify().expect("verify").head_hash, hash_before);
    let outcome = store
        .append("a", ExpectedVersion::Exact(4), events(20..22))
        .await
        .expect("append");
    assert_eq!((outcome.first_position, outcome.stream_version), (7, 6));
    let log = all(&store);
    assert!(log.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
    assert!(store.read_stream("nobody").expect("read").is_empty());
    assert_eq!(store.read_all(5, 1).expect("read").len(), 1);
    assert!(store.read_all(9, 10).expect("read").is_empty());
    assert_gapless(&store);
    store.close().expect("close");
    let report = engine.verify_closed(dir.path(), None);
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.events, report.streams), (8, 2));
}

fn append_blocking_and_close_answer_everything_submitted(engine: Engine) {
    let dir = engine.place();
    let store = Arc::new(engine.open(dir.path()));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let id = t * 100 + i;
                    store
                        .append_blocking("s", ExpectedVersion::Any, events(id..id + 1))
                        .expect("append");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let store = Arc::into_inner(store).expect("last handle");
    store.close().expect("close");
    assert_eq!(engine.open(dir.path()).head(), 100);
}

/// The raw reads hand out what `read_all` and `read_stream` do, each payload as JSON text that
/// parses to the same value (on the segment log and PostgreSQL the bytes written), from any
/// position and for any stream.
fn raw_reads_match_read_all(engine: Engine) {
    let dir = engine.place();
    let store = engine.open(dir.path());
    store
        .append_blocking("s", ExpectedVersion::Any, events(0..12))
        .expect("append");
    // Two more streams, their events interleaved in the log.
    for i in 12..18 {
        let stream = if i % 2 == 0 { "even" } else { "odd" };
        store
            .append_blocking(stream, ExpectedVersion::Any, events(i..i + 1))
            .expect("append");
    }
    let same = |raw: RawEvent, read: RecordedEvent| {
        let payload: serde_json::Value = serde_json::from_slice(&raw.payload).expect("JSON text");
        if !matches!(engine, Engine::Sled) {
            let written = serde_json::to_vec(&event(read.position - 1).payload).expect("JSON");
            assert_eq!(raw.payload, written, "position {}", read.position);
        }
        assert_eq!(raw.with_payload(payload), read);
    };
    for (from, max) in [(0, usize::MAX), (5, 4), (18, 10), (19, 10)] {
        let read = store.read_all(from, max).expect("read_all");
        let raw = store.read_all_raw(from, max).expect("read_all_raw");
        assert_eq!(raw.len(), read.len(), "from {from}");
        raw.into_iter()
            .zip(read)
            .for_each(|(raw, read)| same(raw, read));
    }
    for (stream, count) in [("s", 12), ("even", 3), ("odd", 3), ("none", 0)] {
        let read = store.read_stream(stream).expect("read_stream");
        let raw = store.read_stream_raw(stream).expect("read_stream_raw");
        assert_eq!((raw.len(), read.len()), (count, count), "stream {stream}");
        raw.into_iter()
            .zip(read)
            .for_each(|(raw, read)| same(raw, read));
    }
    store.close().expect("close");
}

// ---------------------------------------------------------------------------------------------
// Tamper evidence.

const N: u64 = 120;

/// A closed store with events 1..=N, one per append, event at position p carrying marker p.
fn closed_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for p in 1..=N {
        store
            .append_blocking(
                &format!("trajectory-{}", p % 9),
                ExpectedVersion::Any,
                vec![event(p)],
            )
            .expect("append");
    }
    store.close().expect("close");
    dir
}

fn marker_offsets(bytes: &[u8], position: u64) -> Vec<usize> {
    let marker = format!("MARKER-{position:06}-END");
    bytes
        .windows(marker.len())
        .enumerate()
        .filter(|(_, w)| *w == marker.as_bytes())
        .map(|(i, _)| i)
        .collect()
}

/// Flips one byte inside position `p`'s marker in sled's `db` file (at the chosen occurrences:
/// sled keeps several versions of a page in its log).
fn flip(dir: &Path, p: u64, choose: fn(Vec<usize>) -> Vec<usize>) {
    let db = dir.join("sled").join("db");
    let mut bytes = std::fs::read(&db).expect("read db");
    let offsets = marker_offsets(&bytes, p);
    assert!(!offsets.is_empty(), "marker {p} not found in the db file");
    for offset in choose(offsets) {
        bytes[offset + 9] ^= 0x01;
    }
    std::fs::write(&db, bytes).expect("write db");
}

#[test]
fn a_flipped_byte_names_the_first_damaged_position() {
    for p in [1, 7, 60, N] {
        let dir = closed_store();
        flip(dir.path(), p, |all| all);
        let report = verify_dir(dir.path()).expect("verify_dir");
        assert!(!report.is_ok(), "position {p}: {report}");
        assert_eq!(report.first_broken_position(), Some(p), "{report}");
        // Opening refuses rather than appending over the evidence of lost events.
        match SledStore::open(dir.path()) {
            Err(StoreError::Corrupt { position, .. }) => assert_eq!(position, Some(p)),
            other => panic!("position {p}: open gave {other:?}"),
        }
    }
}

#[test]
fn a_flipped_byte_in_a_later_page_copy_is_still_caught() {
    let dir = closed_store();
    flip(dir.path(), 30, |all| {
        all.last().copied().into_iter().collect()
    });
    let report = verify_dir(dir.path()).expect("verify_dir");
    let first = report.first_broken_position().expect("a broken position");
    assert!((30..=N).contains(&first), "{report}");
}

#[test]
fn verify_dir_leaves_a_damaged_store_untouched() {
    let dir = closed_store();
    flip(dir.path(), 50, |all| all);
    let db = dir.path().join("sled").join("db");
    let before = std::fs::read(&db).expect("read");
    verify_dir(dir.path()).expect("verify_dir");
    assert!(
        std::fs::read(&db).expect("read") == before,
        "verify changed sled's file"
    );
}

#[test]
fn without_the_sidecar_a_cut_tail_goes_unnoticed_but_is_warned_about() {
    // Documents the limit: sled drops the damaged message and everything after it without an
    // error, and nothing inside the store can tell.
    let dir = closed_store();
    std::fs::remove_file(dir.path().join("chain-head")).expect("remove sidecar");
    flip(dir.path(), 60, |all| all);
    let report = verify_dir(dir.path()).expect("verify_dir");
    assert_eq!(report.events, 59, "{report}");
    assert!(!report.warnings.is_empty(), "{report}");
}

#[test]
fn an_empty_sidecar_after_a_power_cut_is_a_warning_for_verify_as_for_open() {
    // A power cut keeps the rename of `chain-head` but not its unsynced bytes: the file comes
    // back empty. The log is intact; verify must not send the operator to a backup.
    let dir = closed_store();
    std::fs::write(dir.path().join("chain-head"), b"").expect("empty the sidecar");
    let report = verify_dir(dir.path()).expect("verify_dir");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.warnings.len(), 1, "{report}");
    assert!(report.warnings[0].contains("power cut"), "{report}");
    // Opening agrees, and rewrites the sidecar: verify is clean again afterwards.
    open(dir.path()).close().expect("close");
    let report = verify_dir(dir.path()).expect("verify_dir");
    assert!(report.is_ok() && report.warnings.is_empty(), "{report}");
}

fn with_sled(dir: &Path, change: impl FnOnce(&sled::Db)) {
    let db = sled::Config::new()
        .path(dir.join("sled"))
        .open()
        .expect("open sled");
    change(&db);
    db.flush().expect("flush");
}

fn log_key(p: u64) -> Vec<u8> {
    let mut key = vec![b'L'];
    key.extend_from_slice(&p.to_be_bytes());
    key
}

fn check_tamper(change: impl FnOnce(&sled::Db), expected_first: u64) {
    let dir = closed_store();
    with_sled(dir.path(), change);
    let report = verify_dir(dir.path()).expect("verify_dir");
    assert_eq!(
        report.first_broken_position(),
        Some(expected_first),
        "{report}"
    );
}

#[test]
fn tampering_through_sled_is_named() {
    let rewrite_payload = |db: &sled::Db| {
        let value = db.get(log_key(40)).expect("get").expect("present").to_vec();
        let text = String::from_utf8(value[32..].to_vec()).expect("utf-8");
        let forged = [
            &value[..32],
            text.replace("MARKER-000040", "MARKER-999999").as_bytes(),
        ]
        .concat();
        db.insert(log_key(40), forged).expect("insert");
    };
    check_tamper(rewrite_payload, 40);

    // Recomputing the tampered record's own hash moves the break to the next link.
    let rehash = |db: &sled::Db| {
        use sha2::{Digest, Sha256};
        let previous = db.get(log_key(39)).expect("get").expect("present");
        let value = db.get(log_key(40)).expect("get").expect("present").to_vec();
        let text = String::from_utf8(value[32..].to_vec())
            .expect("utf-8")
            .replace("consultant-1", "consultant-2");
        let hash = Sha256::new()
            .chain_update(&previous[..32])
            .chain_update(text.as_bytes())
            .finalize();
        db.insert(log_key(40), [&hash[..], text.as_bytes()].concat())
            .expect("insert");
    };
    check_tamper(rehash, 41);

    check_tamper(
        |db| {
            db.remove(log_key(70)).expect("remove");
        },
        70,
    );
    check_tamper(
        |db| {
            let mut key = vec![b'E'];
            key.extend_from_slice(event(90).event_id.as_bytes());
            db.remove(key).expect("remove");
        },
        90,
    );
    check_tamper(
        |db| {
            let mut key = b"Strajectory-5\0".to_vec();
            key.extend_from_slice(&1u64.to_be_bytes());
            db.remove(key).expect("remove");
        },
        5,
    );
    // Cutting the tail through sled's API (log, indexes and head key consistently): the sidecar
    // still knows.
    check_tamper(
        |db| {
            for p in 101..=N {
                db.remove(log_key(p)).expect("remove");
            }
            let mut head = 100u64.to_be_bytes().to_vec();
            head.extend_from_slice(&db.get(log_key(100)).expect("get").expect("present")[..32]);
            db.insert("H", head).expect("insert");
        },
        101,
    );
}

#[test]
fn an_orphan_index_entry_is_reported() {
    let dir = closed_store();
    with_sled(dir.path(), |db| {
        let mut key = vec![b'E'];
        key.extend_from_slice(Uuid::from_u128(7).as_bytes());
        db.insert(key, &5u64.to_be_bytes()[..]).expect("insert");
    });
    let report = verify_dir(dir.path()).expect("verify_dir");
    assert!(!report.is_ok(), "{report}");
}

fn verify_dir_refuses_what_is_not_a_closed_store(engine: Engine) {
    let empty = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        verify_dir(empty.path()),
        Err(StoreError::NotAStore(_))
    ));
    assert_eq!(
        Format::of(empty.path()),
        None,
        "verify must not create a store"
    );
    let live = engine.open(empty.path());
    assert!(matches!(
        verify_dir(empty.path()),
        Err(StoreError::Locked(_))
    ));
    // `close` returns once sled has let go of its lock (a plain drop may trail by a moment).
    live.close().expect("close");
    assert!(verify_dir(empty.path()).expect("verify").is_ok());
}

fn open_refuses_a_store_in_use(engine: Engine) {
    let dir = engine.place();
    let _store = engine.open(dir.path());
    assert!(matches!(
        engine.try_open(dir.path()),
        Err(StoreError::Locked(_))
    ));
}

fn read_stream_returns_versions_in_order(engine: Engine) {
    let dir = engine.place();
    let store = engine.open(dir.path());
    let mut expected: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for i in 0..40u64 {
        let stream = format!("t-{}", i % 3);
        store
            .append_blocking(&stream, ExpectedVersion::Any, vec![event(i)])
            .expect("append");
        expected.entry(stream).or_default().push(event(i).event_id);
    }
    for (stream, ids) in expected {
        let read = store.read_stream(&stream).expect("read");
        assert_eq!(read.iter().map(|e| e.event_id).collect::<Vec<_>>(), ids);
    }
    // A stream whose name is a prefix of another's sees only its own events.
    store
        .append_blocking("t-1x", ExpectedVersion::Any, vec![event(100)])
        .expect("append");
    assert_eq!(store.read_stream("t-1").expect("read").len(), 13);
}

async fn an_oversized_event_is_rejected_without_affecting_its_group(engine: Engine) {
    let dir = engine.place();
    let store = Arc::new(engine.open(dir.path()));
    let mut big = event(1);
    big.payload = serde_json::json!({"text": "x".repeat(jeugdpad_store::MAX_EVENT_BYTES)});
    let tasks: Vec<_> = (0..8u64)
        .map(|i| {
            let store = store.clone();
            let batch = if i == 3 {
                vec![event(100), big.clone()]
            } else {
                vec![event(200 + i)]
            };
            tokio::spawn(async move { store.append("s", ExpectedVersion::Any, batch).await })
        })
        .collect();
    let mut ok = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.expect("task") {
            Ok(_) => ok += 1,
            Err(StoreError::InvalidAppend(_)) if i == 3 => {}
            other => panic!("append {i}: {other:?}"),
        }
    }
    assert_eq!((ok, store.head()), (7, 7));
    assert_gapless(&store);
}

fn the_vault_keeps_the_first_value_forgets_on_removal_and_stays_out_of_the_chain(engine: Engine) {
    let dir = engine.place();
    {
        let store = engine.open(dir.path());
        store
            .append_blocking("s-1", ExpectedVersion::Any, events(1..3))
            .expect("the vault works");
        let vault = store.vault().expect("the vault works");
        assert_eq!(vault.get(b"k").expect("the vault works"), None);
        assert_eq!(
            vault
                .get_or_insert(b"k", b"first")
                .expect("the vault works"),
            b"first"
        );
        // A racing second creator gets the first value, not its own.
        assert_eq!(
            vault
                .get_or_insert(b"k", b"second")
                .expect("the vault works"),
            b"first"
        );
        assert_eq!(
            vault.get_or_insert(b"gone", b"x").expect("the vault works"),
            b"x"
        );
        assert!(vault.remove(b"gone").expect("the vault works"));
        assert!(!vault.remove(b"gone").expect("the vault works"));
        store.close().expect("the vault works");
    }
    let store = engine.open(dir.path());
    let vault = store.vault().expect("the vault works");
    assert_eq!(
        vault.get(b"k").expect("the vault works").as_deref(),
        Some(&b"first"[..])
    );
    assert_eq!(vault.get(b"gone").expect("the vault works"), None);
    // The vault is not part of the log: the chain still verifies and holds only the events.
    let report = store.verify().expect("the vault works");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(all(&store).len(), 2);
}

async fn the_writer_times_every_append_flush_and_fdatasync(engine: Engine) {
    let dir = engine.place();
    let store = Arc::new(engine.open(dir.path()));
    let timings = store.timings();
    assert_eq!(timings.append.snapshot().count, 0, "nothing timed yet");
    // Twenty concurrent appends (one of them refused as a conflict) in however many groups the
    // writer makes of them.
    let mut tasks = Vec::new();
    for n in 0..20u64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let expected = if n == 0 {
                ExpectedVersion::Exact(7)
            } else {
                ExpectedVersion::Any
            };
            store
                .append(&format!("s-{n}"), expected, events(n * 10..n * 10 + 2))
                .await
        }));
    }
    let mut refused = 0;
    for task in tasks {
        if task.await.expect("the task runs").is_err() {
            refused += 1;
        }
    }
    assert_eq!(refused, 1);
    let append = timings.append.snapshot();
    let (flush, fsync) = (timings.flush.snapshot(), timings.fsync.snapshot());
    // Every append is timed, refused ones too; one flush and one fdatasync per group.
    assert_eq!(append.count, 20);
    assert!((1..=19).contains(&fsync.count), "{fsync:?}");
    assert_eq!(flush.count, fsync.count);
    for snapshot in [&append, &flush, &fsync] {
        assert_eq!(
            snapshot.buckets.iter().map(|(_, n)| n).sum::<u64>(),
            snapshot.count
        );
        assert!(snapshot.sum_seconds > 0.0, "{snapshot:?}");
    }
    // Each group that was written has an append that waited for its flush and its sync.
    assert!(
        append.sum_seconds >= flush.sum_seconds + fsync.sum_seconds,
        "{append:?} {flush:?} {fsync:?}"
    );
    // The handle outlives the store and does not keep it open.
    Arc::try_unwrap(store)
        .expect("no other handle")
        .close()
        .expect("close");
    let reopened = engine.open(dir.path());
    assert_eq!(reopened.head(), 38);
    assert_eq!(timings.append.snapshot().count, 20);
}

/// `verify --at N`: a head hash kept from an earlier run is found again at its position.
fn verify_at_finds_a_kept_head_hash_again(engine: Engine) {
    let dir = engine.place();
    let store = engine.open(dir.path());
    for n in 0..10 {
        store
            .append_blocking("s", ExpectedVersion::Any, vec![event(n)])
            .expect("append");
    }
    let kept = store.verify().expect("verify").head_hash;
    for n in 10..25 {
        store
            .append_blocking("t", ExpectedVersion::Any, vec![event(n)])
            .expect("append");
    }
    store.close().expect("close");
    let report = engine.verify_closed(dir.path(), Some(10));
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.hash_at, Some((10, kept.clone())));
    assert_ne!(report.head_hash, kept);
    assert!(report
        .to_string()
        .contains(&format!("hash at position 10: {kept}")));
    let beyond = engine.verify_closed(dir.path(), Some(26));
    assert_eq!(beyond.first_broken_position(), Some(26), "{beyond}");
}

/// `jeugdpad backup` while writers append, then `jeugdpad restore` into a new store of the same
/// engine: the copy ends at the head the backup started at, with the source's hash there, every
/// event up to it as the source stores it, and the vault. A sled store's backup (a segment log
/// holding its JSON envelopes) restores into sled with the same hashes.
fn a_backup_taken_while_writers_append_restores_to_the_same_head_hash(engine: Engine) {
    use jeugdpad_store::copy::{self, CopyError};
    use std::sync::atomic::{AtomicBool, Ordering};

    let place = engine.place();
    let store = Arc::new(engine.open(place.path()));
    store
        .append_blocking("before", ExpectedVersion::Any, events(0..300))
        .expect("append");
    let vault = store.vault().expect("vault");
    for n in 0..5u8 {
        vault.get_or_insert(&[b'k', n], &[n; 32]).expect("vault");
    }
    let backups = tempfile::tempdir().expect("tempdir");
    // A backup is always a segment log; one of a sled store keeps its JSON envelopes, and so
    // its hashes.
    let to = backups.path().join("backup");

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3u64)
        .map(|w| {
            let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut n = 1_000 + w * 100_000;
                while !stop.load(Ordering::Relaxed) {
                    store
                        .append_blocking(&format!("w{w}"), ExpectedVersion::Any, vec![event(n)])
                        .expect("append while backing up");
                    n += 1;
                }
            })
        })
        .collect();
    while store.head() < 400 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut steps = 0;
    let manifest = copy::backup(&store, &to, &mut |_| steps += 1).expect("backup");
    // One more event, so that the live log certainly went past the backup.
    store
        .append_blocking("after", ExpectedVersion::Any, events(900..901))
        .expect("append");
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("writer");
    }
    let head = manifest.head_position;
    assert!(
        head >= 400 && head < store.head(),
        "{manifest} (live head {})",
        store.head()
    );
    assert!(steps >= 1);
    assert_eq!(manifest.head_hash, store.hash_at(head).expect("hash_at"));
    assert_eq!(copy::Manifest::read(&to).expect("manifest"), manifest);
    assert!(matches!(
        copy::backup(&store, &to, &mut |_| {}),
        Err(CopyError::DirectoryNotEmpty(_))
    ));

    let restored_place = engine.place();
    let restored = engine.open(restored_place.path());
    let again = copy::restore(&to, &restored, "the new store", &mut |_| {}).expect("restore");
    assert_eq!(again.manifest, manifest);
    assert!(again.report.is_ok(), "{}", again.report);
    assert_eq!(
        (again.report.head_position, &again.report.head_hash),
        (head, &manifest.head_hash)
    );
    assert_eq!(restored.head(), head);
    assert_eq!(restored.hash_at(head).expect("hash_at"), manifest.head_hash);
    assert_eq!(
        restored.read_all(1, usize::MAX).expect("read"),
        store.read_all(1, head as usize).expect("read")
    );
    let report = restored.verify().expect("verify");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.head_hash, manifest.head_hash);
    let entries = |store: &Store| {
        store
            .vault()
            .expect("vault")
            .entries_after(None, 100)
            .expect("entries")
    };
    assert_eq!(entries(&restored), entries(&store));
    assert_eq!(entries(&restored).len(), 5);
    let refused = copy::restore(&to, &restored, "the new store", &mut |_| {});
    assert!(
        matches!(refused, Err(CopyError::TargetNotEmpty { events, .. }) if events == head),
        "{refused:?}"
    );
    restored.close().expect("close");
    drop(vault);
    Arc::into_inner(store)
        .expect("one handle")
        .close()
        .expect("close");
}

/// Each behaviour test above, once per engine: `store::NAME::sled`, `store::NAME::log` and
/// `store::NAME::postgres`; those marked `embedded` (a directory's lock, `verify_dir` on a
/// directory) only for the first two.
macro_rules! for_each_engine {
    ($($kind:ident $name:ident $($embedded:ident)?),* $(,)?) => {
        $(mod $name {
            use super::Engine;
            for_each_engine!(@test $kind $name sled Engine::Sled);
            for_each_engine!(@test $kind $name log Engine::Log);
            for_each_engine!(@postgres $kind $name $($embedded)?);
        })*
    };
    (@postgres $kind:ident $name:ident embedded) => {};
    (@postgres $kind:ident $name:ident) => {
        for_each_engine!(@test $kind $name postgres Engine::Postgres);
    };
    (@test async $name:ident $engine:ident $value:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $engine() {
            if super::skip($value) {
                return;
            }
            super::$name($value).await
        }
    };
    (@test sync $name:ident $engine:ident $value:expr) => {
        #[test]
        fn $engine() {
            if super::skip($value) {
                return;
            }
            super::$name($value)
        }
    };
}

/// Whether this engine's tests are skipped here (PostgreSQL, when the machine says so).
fn skip(engine: Engine) -> bool {
    let skipped = matches!(engine, Engine::Postgres) && pg_testing::skipped();
    if skipped {
        eprintln!("skipped: {} is set", pg_testing::SKIP_VAR);
    }
    skipped
}

for_each_engine! {
    async concurrent_appenders_with_the_same_expected_version_one_wins,
    async the_same_event_ids_again_return_the_original_positions,
    async a_double_submission_in_one_group_is_stored_once,
    async positions_and_versions_stay_gapless_under_many_writers,
    async subscribers_receive_every_position_once_across_the_handover,
    async a_subscription_ends_after_close_once_everything_is_delivered,
    async appends_are_atomic_and_survive_reopening,
    sync append_blocking_and_close_answer_everything_submitted,
    sync raw_reads_match_read_all,
    sync verify_dir_refuses_what_is_not_a_closed_store embedded,
    sync open_refuses_a_store_in_use embedded,
    sync read_stream_returns_versions_in_order,
    async an_oversized_event_is_rejected_without_affecting_its_group,
    sync the_vault_keeps_the_first_value_forgets_on_removal_and_stays_out_of_the_chain,
    sync verify_at_finds_a_kept_head_hash_again,
    async the_writer_times_every_append_flush_and_fdatasync,
    sync a_backup_taken_while_writers_append_restores_to_the_same_head_hash,
}

/// A backup with its three events, and an empty place to restore it into.
fn a_backup() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    jeugdpad_store::copy::Manifest,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = Engine::Log.open(&dir.path().join("live"));
    live.append_blocking("s", ExpectedVersion::Any, events(0..3))
        .expect("append");
    let to = dir.path().join("backup");
    let manifest = jeugdpad_store::copy::backup(&live, &to, &mut |_| {}).expect("backup");
    live.close().expect("close");
    (dir, to, manifest)
}

/// A restore checks the backup before it touches the target: a directory without the manifest,
/// a manifest that names another head, or a damaged segment is refused, and the target stays an
/// empty store that opens.
#[test]
fn restore_refuses_an_incomplete_or_damaged_backup_before_changing_the_target() {
    use jeugdpad_store::copy::{self, CopyError, MANIFEST_FILE};
    let (dir, backup, manifest) = a_backup();
    let target_dir = dir.path().join("target");
    let restore = || {
        let target = Engine::Log.open(&target_dir);
        let result = copy::restore(&backup, &target, "target", &mut |_| {});
        assert_eq!(target.head(), 0, "the target changed");
        target.close().expect("close");
        result
    };

    let manifest_path = backup.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path).expect("manifest");
    std::fs::remove_file(&manifest_path).expect("remove");
    let refused = restore();
    assert!(
        matches!(&refused, Err(CopyError::NotABackup { why, .. }) if why.contains("no BACKUP file")),
        "{refused:?}"
    );

    std::fs::write(
        &manifest_path,
        text.replace(&manifest.head_hash, &"0".repeat(64)),
    )
    .expect("write");
    let refused = restore();
    assert!(
        matches!(&refused, Err(CopyError::Damaged { why, .. }) if why.contains("BACKUP says")),
        "{refused:?}"
    );

    std::fs::write(&manifest_path, &text).expect("write");
    let segment = std::fs::read_dir(backup.join("segments"))
        .expect("segments")
        .map(|entry| entry.expect("entry").path())
        .min()
        .expect("a segment");
    let mut bytes = std::fs::read(&segment).expect("read");
    // Inside the first record's envelope: 60 bytes of segment header, 8 of frame, the flags
    // and the 32-byte hash come first.
    bytes[60 + 8 + 1 + 32 + 20] ^= 0x20;
    std::fs::write(&segment, &bytes).expect("write");
    let refused = restore();
    assert!(
        matches!(&refused, Err(CopyError::Damaged { why, .. }) if why.contains("verify says")),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read(&segment).expect("read"),
        bytes,
        "reading the backup changed it"
    );
    assert!(!target_dir.join(copy::RESTORING_FILE).exists());
}

/// A restore that fails after it began to copy leaves its mark, and neither an open nor
/// `verify` accepts that directory: a log cut short must not pass for the restored one.
#[test]
fn a_directory_a_restore_did_not_finish_is_not_opened() {
    use jeugdpad_store::copy::{self, CopyError, MANIFEST_FILE, RESTORING_FILE};
    let (dir, backup, _) = a_backup();
    let finished = dir.path().join("finished");
    let target = Engine::Log.open(&finished);
    copy::restore(&backup, &target, "target", &mut |_| {}).expect("restore");
    target.close().expect("close");
    assert!(!finished.join(RESTORING_FILE).exists());
    assert!(Store::open(&finished)
        .expect("a finished restore opens")
        .close()
        .is_ok());

    // The log checks out, the vault does not: found only after the copy has begun.
    let manifest = backup.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, text.replace("vault keys: 0", "vault keys: 7")).expect("write");
    let unfinished = dir.path().join("unfinished");
    let target = Engine::Log.open(&unfinished);
    let failed = copy::restore(&backup, &target, "target", &mut |_| {});
    assert!(
        matches!(&failed, Err(CopyError::Damaged { why, .. }) if why.contains("vault")),
        "{failed:?}"
    );
    target.close().expect("close");
    assert!(unfinished.join(RESTORING_FILE).exists());
    for refused in [
        Store::open(&unfinished).map(|_| ()),
        verify_dir(&unfinished).map(|_| ()),
    ] {
        assert!(
            matches!(&refused, Err(StoreError::Corrupt { what, .. }) if what.contains("did not finish")),
            "{refused:?}"
        );
    }
}

/// The same for a PostgreSQL schema: a restore marks it (a `restoring` row) before it copies,
/// and after a failure part-way no node opens it, so `verify` refuses it too; a finished
/// restore leaves no mark.
#[test]
fn a_schema_a_restore_did_not_finish_is_not_opened() {
    use jeugdpad_store::copy::{self, CopyError, MANIFEST_FILE};
    if pg_testing::skipped() {
        return;
    }
    let (_dir, backup, manifest) = a_backup();
    let finished = Engine::Postgres.place();
    let target = Engine::Postgres.open(finished.path());
    copy::restore(&backup, &target, "target", &mut |_| {}).expect("restore");
    match &target {
        Store::Postgres(store) => assert!(!store.restore_unfinished().expect("look")),
        other => panic!("not a PostgreSQL store: {other:?}"),
    }
    target.close().expect("close");
    let reopened = Engine::Postgres.open(finished.path());
    assert_eq!(reopened.head(), manifest.head_position);
    reopened.close().expect("close");

    let path = backup.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("vault keys: 0", "vault keys: 7")).expect("write");
    let unfinished = Engine::Postgres.place();
    let target = Engine::Postgres.open(unfinished.path());
    let failed = copy::restore(&backup, &target, "target", &mut |_| {});
    assert!(
        matches!(&failed, Err(CopyError::Damaged { why, .. }) if why.contains("vault")),
        "{failed:?}"
    );
    assert_eq!(target.head(), manifest.head_position, "the copy was made");
    match &target {
        Store::Postgres(store) => assert!(store.restore_unfinished().expect("look")),
        other => panic!("not a PostgreSQL store: {other:?}"),
    }
    target.close().expect("close");
    let refused = Engine::Postgres.try_open(unfinished.path());
    assert!(
        matches!(&refused, Err(StoreError::Corrupt { what, .. }) if what.contains("did not finish") && what.contains("DROP SCHEMA")),
        "{refused:?}"
    );
}
