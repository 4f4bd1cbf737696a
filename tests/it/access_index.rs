//! The access log's index (`jeugdpad-access-index`) against its definition, the scan of the
//! whole `access-log` stream: on a hand-built log of several users, youths, trajectories and
//! days, on both store engines, every filter alone and combined with a period, paged through
//! to the end at several page sizes — the same entries, newest first, none twice, none missed.
//! Then the index's life beside the log: entries appended while it lagged, a build from the
//! whole log, and the index an earlier build left on disk.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jeugdpad_access::{AccessAction, AccessEntry, ACCESS_EVENT_TYPE, ACCESS_LOG_STREAM};
use jeugdpad_access_index::{
    remove_old_index, scan, AccessIndex, Cursor, Filter, LoggedAccess, Picked, OLD_INDEX_DIR,
};
use jeugdpad_domain::{SubjectKey, TrajectoryId, UserId};
use jeugdpad_projections::{Norms, Projections};
use jeugdpad_store::{EventStore, RecordedEvent, SledStore, Store};
use uuid::Uuid;

const USERS: [&str; 4] = ["consulent-a", "consulent-b", "teamleider-c", "admin"];
const YOUTHS: [&str; 5] = [
    "sk-index-1",
    "sk-index-2",
    "sk-index-3",
    "sk-index-4",
    "sk-index-5",
];

fn trajectories() -> Vec<TrajectoryId> {
    (1..=4u128)
        .map(|n| TrajectoryId::from_uuid(Uuid::from_u128(0xacce55 << 64 | n)))
        .collect()
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0)
        .single()
        .expect("a date")
}

/// The `n`-th synthetic entry: users, youths and trajectories in cycles of co-prime lengths (so
/// every combination occurs), some without a user (failed sign-ins), youth or trajectory.
fn entry(n: u64) -> AccessEntry {
    let mut entry = AccessEntry::by(None, AccessAction::Read, "trajectory");
    if !n.is_multiple_of(11) {
        entry.user = Some(UserId::parse(USERS[(n % 4) as usize]).expect("user"));
    } else {
        entry = AccessEntry::by(None, AccessAction::FailedSignIn, "trajectory")
            .refused("unknown_token");
    }
    if n % 7 != 3 {
        entry.subject_key = Some(SubjectKey::parse(YOUTHS[(n % 5) as usize]).expect("youth"));
    }
    if !n.is_multiple_of(3) {
        entry.trajectory = Some(trajectories()[(n % 4) as usize ^ ((n / 4) % 2) as usize]);
    }
    entry
}

/// A log as the server writes it: access-log entries between the events of other streams, with
/// `recorded_at` rising in irregular steps (several entries share an instant).
#[derive(Default)]
struct Log {
    events: Vec<RecordedEvent>,
    versions: std::collections::HashMap<String, u64>,
    at: Option<DateTime<Utc>>,
}

impl Log {
    fn push(&mut self, stream: &str, event_type: &str, payload: serde_json::Value) {
        let position = self.events.len() as u64 + 1;
        let version = self.versions.entry(stream.to_owned()).or_default();
        *version += 1;
        let at = self.at.unwrap_or_else(start);
        // Every fifth event in the same instant as the one before.
        let at = if position.is_multiple_of(5) {
            at
        } else {
            at + Duration::minutes((position % 13) as i64 * 17)
        };
        self.at = Some(at);
        self.events.push(RecordedEvent {
            position,
            stream_id: stream.to_owned(),
            version: *version,
            event_id: Uuid::from_u128(0x1d << 96 | u128::from(position)),
            event_type: event_type.to_owned(),
            schema_version: 1,
            occurred_on: at.date_naive(),
            recorded_at: at,
            recorded_by: "test".to_owned(),
            correlation_id: None,
            causation_id: None,
            payload,
        });
    }

    /// `count` entries, with an event of another stream after every third.
    fn grow(&mut self, count: u64) {
        let first = self.entries().count() as u64;
        for n in first..first + count {
            self.push(ACCESS_LOG_STREAM, ACCESS_EVENT_TYPE, entry(n).payload());
            if n % 3 == 2 {
                let stream = format!("trajectory-{}", trajectories()[(n % 4) as usize]);
                self.push(&stream, "something_recorded", serde_json::json!({ "n": n }));
            }
        }
    }

    fn entries(&self) -> impl DoubleEndedIterator<Item = LoggedAccess> + '_ {
        self.events.iter().filter_map(LoggedAccess::of)
    }

    /// Imports what the store does not hold yet.
    fn store_into(&self, store: &Store) {
        let held = store.head() as usize;
        // An import takes at most 10,000 events a call.
        for batch in self.events[held.min(self.events.len())..].chunks(10_000) {
            store
                .import_batch_blocking(batch.to_vec())
                .expect("the import");
        }
    }

    fn instant(&self, position: u64) -> DateTime<Utc> {
        self.events[position as usize - 1].recorded_at
    }
}

fn stores(dir: &Path) -> Vec<(&'static str, Store)> {
    vec![
        (
            "segment log",
            Store::open(&dir.join("log")).expect("a log store"),
        ),
        (
            "sled",
            Store::Sled(SledStore::open(&dir.join("sled")).expect("a sled store")),
        ),
    ]
}

/// The filters an inquiry can ask, each alone and with periods that begin or end exactly at an
/// entry's instant (both ends inclusive), and that hold nothing.
fn filters(log: &Log) -> Vec<Filter> {
    let user = |u: &str| Some(UserId::parse(u).expect("user"));
    let youth = |s: &str| Some(SubjectKey::parse(s).expect("youth"));
    let trajectory = Some(trajectories()[1]);
    let last = log.events.len() as u64;
    let from = Some(log.instant(last / 3));
    let to = Some(log.instant(2 * last / 3));
    let mut filters = Vec::new();
    for (from, to) in [
        (None, None),
        (from, None),
        (None, to),
        (from, to),
        (to, from),
        (Some(log.instant(last) + Duration::days(1)), None),
    ] {
        let period = Filter {
            from,
            to,
            ..Filter::default()
        };
        filters.extend([
            period.clone(),
            Filter {
                user: user("consulent-b"),
                ..period.clone()
            },
            Filter {
                subject_key: youth("sk-index-3"),
                ..period.clone()
            },
            Filter {
                trajectory,
                ..period.clone()
            },
            Filter {
                user: user("admin"),
                subject_key: youth("sk-index-4"),
                ..period.clone()
            },
            Filter {
                user: user("consulent-a"),
                subject_key: youth("sk-index-2"),
                trajectory,
                ..period.clone()
            },
            Filter {
                user: user("nobody"),
                ..period.clone()
            },
        ]);
    }
    filters
}

/// Pages through `filter` with the index: the pages are the filter's entries of `log` in order,
/// newest first, `first` at a time, each saying whether more follow — together every entry
/// once. The first two pages are also those of the scan of the whole stream.
fn check_paging(index: &AccessIndex, store: &Store, log: &Log, filter: &Filter, first: usize) {
    let expected: Vec<LoggedAccess> = log.entries().filter(|a| filter.admits(a)).rev().collect();
    let mut pages = expected.chunks(first);
    let mut after: Option<Cursor> = None;
    let mut seen = Vec::new();
    for number in 0.. {
        let page = index
            .inquire(store, filter, after, first)
            .expect("the index answers");
        if number < 2 {
            let scanned = scan(store, filter, after, first).expect("the scan answers");
            assert_eq!(page, scanned, "{filter:?}, {first} a page, after {after:?}");
        }
        assert_eq!(
            page.entries,
            pages.next().unwrap_or_default(),
            "{filter:?}, {first} a page, page {number}"
        );
        assert_eq!(page.has_more, pages.len() > 0, "{filter:?}, page {number}");
        seen.extend(page.entries.iter().map(|a| a.position));
        if !page.has_more {
            break;
        }
        after = page.end_cursor();
        assert!(after.is_some(), "more pages need a cursor");
    }
    let unique: std::collections::BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), expected.len(), "none twice, none missed");
}

#[test]
fn the_index_answers_what_the_scan_of_the_whole_log_answers() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut log = Log::default();
    log.grow(300);
    for (engine, store) in stores(dir.path()) {
        log.store_into(&store);
        let index = AccessIndex::new_in(dir.path()).expect("an index");
        let filters = filters(&log);
        let finding = filters
            .iter()
            .filter(|f| log.entries().any(|a| f.admits(&a)))
            .count();
        assert!(
            finding >= 20,
            "{engine}: {finding} of the filters find entries"
        );
        for filter in &filters {
            for first in [2, 13, 1000] {
                check_paging(&index, &store, &log, filter, first);
            }
        }
    }
}

#[test]
fn entries_appended_while_the_index_lagged_are_caught_up() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut log = Log::default();
    log.grow(40);
    for (engine, store) in stores(dir.path()) {
        log.store_into(&store);
        let index = AccessIndex::new_in(dir.path()).expect("an index");
        assert_eq!(index.checkpoint(), 0, "a new index covers nothing");
        index.catch_up(&store).expect("caught up");
        let covered = log.events.len() as u64;
        assert_eq!(index.checkpoint(), covered);
        assert_eq!(index.entries(), log.entries().count());
        // More entries while the index is not told (the follower has not run yet).
        let mut more = Log {
            events: log.events.clone(),
            versions: log.versions.clone(),
            at: log.at,
        };
        more.grow(25);
        more.store_into(&store);
        assert_eq!(index.checkpoint(), covered, "{engine}: the index lags");
        // A page read without catching up does not know the new entries; an inquiry does.
        let stale = index
            .page(&store, &Filter::default(), None, 1)
            .expect("a page");
        assert_eq!(
            stale.entries[0].position,
            log.entries().last().expect("an entry").position
        );
        let caught = index.catch_up(&store).expect("caught up");
        assert_eq!(
            (caught.from, caught.to),
            (covered + 1, more.events.len() as u64)
        );
        assert_eq!(caught.entries, 25);
        assert_eq!(
            index.catch_up(&store).expect("caught up"),
            jeugdpad_access_index::CaughtUp {
                from: 0,
                to: more.events.len() as u64,
                entries: 0
            },
            "{engine}: nothing twice"
        );
        for filter in filters(&more) {
            check_paging(&index, &store, &more, &filter, 4);
        }
    }
}

#[test]
fn a_build_from_the_whole_log_answers_and_the_old_index_on_disk_is_removed() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("a")).expect("a store");
    let mut log = Log::default();
    log.grow(60);
    log.store_into(&store);
    let index = AccessIndex::build(&store, store.dir()).expect("the index is built");
    assert_eq!(index.checkpoint(), log.events.len() as u64);
    for filter in filters(&log) {
        check_paging(&index, &store, &log, &filter, 9);
    }
    // Five thousand entries more, of the same few users, youths and trajectories, leave the
    // heap as it was but for a fence per 1,024 entries per column: the entries are in the
    // scratch files. (Held in memory, as before, they took at least 16 bytes each.)
    let before = index.heap_bytes();
    log.grow(5_000);
    log.store_into(&store);
    index.catch_up(&store).expect("caught up");
    assert_eq!(index.entries(), log.entries().count());
    assert!(
        index.heap_bytes() - before < 5_000,
        "{before} → {}",
        index.heap_bytes()
    );
    for filter in filters(&log) {
        check_paging(&index, &store, &log, &filter, 97);
    }

    // What an earlier build kept on disk goes, and nothing else; a second call finds nothing
    // to do.
    let names = |dir: &Path| -> std::collections::BTreeSet<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .expect("a directory")
            .map(|entry| entry.expect("an entry").file_name())
            .collect()
    };
    let before = names(store.dir());
    let old = store.dir().join(OLD_INDEX_DIR);
    std::fs::create_dir_all(old.join("blobs")).expect("a directory");
    std::fs::write(old.join("db"), b"an old sled file").expect("a file");
    remove_old_index(store.dir());
    assert!(!old.exists(), "the old index is removed");
    assert_eq!(names(store.dir()), before, "nothing else is touched");
    remove_old_index(store.dir());
    assert_eq!(names(store.dir()), before);
}

/// The server's start reads the log once: the read models' replay picks the access-log entries
/// out of every chunk on its reader threads and feeds the index in position order. The index it
/// leaves covers the whole log and answers as the scan does.
#[test]
fn the_read_models_replay_feeds_the_index_in_the_same_read_of_the_log() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("a")).expect("a store");
    let mut log = Log::default();
    // More positions than two of the replay's chunks (4,096 each), so both readers hand some,
    // and a stretch of more than a chunk without one access-log entry: that chunk moves the
    // index on as well.
    log.grow(3_000);
    for n in 0..5_000 {
        log.push(
            "trajectory-quiet",
            "something_recorded",
            serde_json::json!({ "n": n }),
        );
    }
    log.grow(3_000);
    log.store_into(&store);
    let index = AccessIndex::new_in(dir.path()).expect("an index");
    let mut projections = Projections::new(Norms::default());
    let head = jeugdpad_app::feed::catch_up_with_access(&store, &mut projections, &index)
        .expect("the log reads");
    assert_eq!(head, log.events.len() as u64);
    assert_eq!(
        index.checkpoint(),
        head,
        "the index covers the replayed log"
    );
    assert_eq!(index.entries(), log.entries().count());
    for filter in filters(&log).iter().step_by(3) {
        check_paging(&index, &store, &log, filter, 500);
    }
}

/// Runs handed to the index out of order: one past a gap is left out (so the next catch-up
/// reads the gap and what follows), one that overlaps adds only its new positions.
#[test]
fn a_run_past_a_gap_is_left_out_and_an_overlap_adds_only_what_is_new() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("a")).expect("a store");
    let mut log = Log::default();
    log.grow(300);
    log.store_into(&store);
    let run = |from: u64, through: u64| {
        Picked::of(
            from,
            through,
            &log.events[from as usize - 1..through as usize],
        )
    };
    let entries_through = |through: u64| log.entries().filter(|a| a.position <= through).count();
    let index = AccessIndex::new_in(dir.path()).expect("an index");
    index.add_picked(run(1, 100)).expect("added");
    assert_eq!(
        (index.checkpoint(), index.entries()),
        (100, entries_through(100))
    );
    index.add_picked(run(150, 200)).expect("left out");
    assert_eq!(
        (index.checkpoint(), index.entries()),
        (100, entries_through(100)),
        "a run past a gap changes nothing"
    );
    index.add_picked(run(50, 180)).expect("added");
    assert_eq!(
        (index.checkpoint(), index.entries()),
        (180, entries_through(180)),
        "an overlap adds each entry once"
    );
    let caught = index.catch_up(&store).expect("caught up");
    assert_eq!((caught.from, caught.to), (181, log.events.len() as u64));
    for filter in filters(&log).iter().step_by(2) {
        check_paging(&index, &store, &log, filter, 50);
    }
}
