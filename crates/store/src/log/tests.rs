//! Recovery and fault-injection tests of the segment log: torn tails, damage before the end,
//! missing segments, failed `fdatasync`, a full disk, and the indexes built from the log.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::files::faulty::{Faults, FaultyFiles};
use super::record::{self, COMMIT, FRAME_HEADER};
use super::segment::{self, HEADER_LEN};
use super::*;

/// Tiny segments, so that a few events span several files.
const OPTIONS: LogOptions = LogOptions {
    segment_bytes: 1024,
    vault_cache_bytes: 1 << 20,
};

fn event(n: u64) -> ProposedEvent {
    ProposedEvent {
        event_id: uuid::Uuid::from_u128(u128::from(n) + 1),
        event_type: "signal_received".into(),
        schema_version: 1,
        occurred_on: chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date"),
        recorded_by: "u".into(),
        correlation_id: None,
        causation_id: Some(uuid::Uuid::from_u128(7)),
        payload: serde_json::json!({ "n": n, "pad": "x".repeat(40) }),
    }
}

fn open(dir: &Path) -> LogStore {
    LogStore::open_with(dir, &OPTIONS).expect("open")
}

/// A closed store with `n` events in streams `s-0`..`s-2`, one append each.
fn store_with(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..n {
        let stream = format!("s-{}", i % 3);
        store
            .append_blocking(&stream, ExpectedVersion::Any, vec![event(i)])
            .expect("append");
    }
    store.close().expect("close");
    dir
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    segment::list(&dir.join(SEGMENTS_DIR))
        .expect("list")
        .into_iter()
        .map(|(_, path)| path)
        .collect()
}

/// Byte offsets of the records in a segment file.
fn record_offsets(path: &Path) -> Vec<usize> {
    let bytes = std::fs::read(path).expect("read");
    let mut at = HEADER_LEN;
    let mut offsets = Vec::new();
    while at < bytes.len() {
        offsets.push(at);
        at += record::parse_frame(&bytes[at..]).expect("frame").frame_len;
    }
    offsets
}

fn corrupt_position(result: Result<LogStore, StoreError>) -> Option<u64> {
    match result {
        Err(StoreError::Corrupt { position, .. }) => position,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn events_span_segments_and_survive_reopening_with_the_same_chain() {
    let dir = store_with(40);
    assert!(segments(dir.path()).len() > 3, "tiny segments roll over");
    let store = open(dir.path());
    assert_eq!(store.head(), 40);
    let all = store.read_all(0, usize::MAX).expect("read_all");
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    assert_eq!(all[5].payload["n"], 5);
    assert_eq!(all[5].causation_id, Some(uuid::Uuid::from_u128(7)));
    // Raw, across the segments and from the middle: the same envelopes, each payload the text
    // that was written.
    let raw = store.read_all_raw(3, 30).expect("read_all_raw");
    assert_eq!(raw.len(), 30);
    for (raw, read) in raw.into_iter().zip(&all[2..]) {
        let n = read.position - 1;
        assert_eq!(
            raw.payload,
            serde_json::to_vec(&event(n).payload).expect("JSON")
        );
        assert_eq!(&raw.with_payload(read.payload.clone()), read);
    }
    let stream = store.read_stream("s-1").expect("read_stream");
    assert_eq!(
        stream.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=13).collect::<Vec<_>>()
    );
    let report = store.verify().expect("verify");
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.events, report.streams), (40, 3));
    let hash = report.head_hash.clone();
    // A retry of an append stored several segments ago is recognised from the index.
    let retry = store
        .append_blocking("s-0", ExpectedVersion::Exact(0), vec![event(0)])
        .expect("retry");
    assert!(retry.already_stored);
    assert_eq!(retry.first_position, 1);
    store.close().expect("close");
    let offline = verify_log_dir(dir.path(), None).expect("verify_log_dir");
    assert!(offline.is_ok() && offline.warnings.is_empty(), "{offline}");
    assert_eq!(offline.head_hash, hash);
}

#[test]
fn a_torn_write_at_the_end_is_cut_off_and_the_log_goes_on() {
    let dir = store_with(5);
    let last = segments(dir.path()).pop().expect("a segment");
    let before = std::fs::metadata(&last).expect("metadata").len();
    // Half of a frame: the length says more than is there.
    let mut torn = Vec::new();
    record::frame(&mut torn, COMMIT, &[1u8; 32], &[9u8; 200]);
    torn.truncate(120);
    append_bytes(&last, &torn);
    assert!(
        verify_log_dir(dir.path(), None)
            .expect("verify")
            .warnings
            .len()
            == 1
    );

    let store = open(dir.path());
    assert_eq!(store.head(), 5);
    assert_eq!(std::fs::metadata(&last).expect("metadata").len(), before);
    store
        .append_blocking("s-0", ExpectedVersion::Exact(2), vec![event(5)])
        .expect("append after the cut");
    assert!(store.verify().expect("verify").is_ok());
}

#[test]
fn complete_records_of_an_unfinished_group_are_cut_too() {
    let dir = store_with(4);
    let last = segments(dir.path()).pop().expect("a segment");
    let offsets = record_offsets(&last);
    let bytes = std::fs::read(&last).expect("read");
    // Copy the last record, clear its commit flag: as if a group's first record reached the
    // disk but the rest of the group did not.
    let at = *offsets.last().expect("a record");
    let mut copy = bytes[at..].to_vec();
    copy[FRAME_HEADER] = 0;
    let crc = crc32c::crc32c(&copy[FRAME_HEADER..]);
    copy[4..8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&last, [&bytes[..at], &copy[..]].concat()).expect("write");
    let store = open(dir.path());
    assert_eq!(store.head(), 3, "position 4 was never committed as a group");
    assert!(store.verify().expect("verify").is_ok());
}

#[test]
fn zeros_after_the_last_group_are_a_torn_tail() {
    let dir = store_with(3);
    let last = segments(dir.path()).pop().expect("a segment");
    append_bytes(&last, &[0u8; 300]);
    let store = open(dir.path());
    assert_eq!(store.head(), 3);
}

#[test]
fn a_flipped_byte_before_the_end_refuses_to_open_naming_the_position() {
    let dir = store_with(12);
    let first = segments(dir.path()).remove(0);
    let offsets = record_offsets(&first);
    assert!(offsets.len() >= 2);
    let mut bytes = std::fs::read(&first).expect("read");
    bytes[offsets[1] + FRAME_HEADER + 60] ^= 0x01;
    std::fs::write(&first, &bytes).expect("write");
    assert_eq!(
        corrupt_position(LogStore::open_with(dir.path(), &OPTIONS)),
        Some(2)
    );
    let report = verify_log_dir(dir.path(), None).expect("verify");
    assert_eq!(report.first_broken_position(), Some(2));
}

#[test]
fn a_record_rewritten_with_a_fresh_checksum_breaks_the_chain() {
    let dir = store_with(12);
    let first = segments(dir.path()).remove(0);
    let offsets = record_offsets(&first);
    let mut bytes = std::fs::read(&first).expect("read");
    let at = offsets[1];
    let len = record::parse_frame(&bytes[at..]).expect("frame").frame_len;
    let last = at + len - 3; // inside the payload JSON: `"x…x"}` → change one x
    assert_eq!(bytes[last], b'x');
    bytes[last] = b'y';
    let crc = crc32c::crc32c(&bytes[at + FRAME_HEADER..at + len]);
    bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&first, &bytes).expect("write");
    let result = LogStore::open_with(dir.path(), &OPTIONS);
    assert!(
        matches!(&result, Err(StoreError::Corrupt { position: Some(2), what }) if what.contains("chain hash")),
        "{result:?}"
    );
}

#[test]
fn a_missing_segment_refuses_to_open() {
    let dir = store_with(40);
    let all = segments(dir.path());
    std::fs::remove_file(&all[1]).expect("remove");
    let first_of_second = record_offsets(&all[0]).len() as u64 + 1;
    assert_eq!(
        corrupt_position(LogStore::open_with(dir.path(), &OPTIONS)),
        Some(first_of_second)
    );
}

/// Segments are checked on worker threads, each from where its own header says the log before
/// it ends; opening holds that claim to where the segment before really ended. A segment of
/// another log (same positions, other hashes) and a segment with a damaged header are refused
/// at their first position, and the store is left as it was.
#[test]
fn a_segment_that_does_not_continue_the_log_refuses_to_open() {
    let dir = store_with(40);
    let other = store_with(40);
    let ours = segments(dir.path());
    let theirs = segments(other.path());
    assert!(
        ours.len() >= 3 && theirs.len() == ours.len(),
        "{}",
        ours.len()
    );
    let first_of = |n: usize| -> u64 {
        ours[..n]
            .iter()
            .map(|path| record_offsets(path).len() as u64)
            .sum::<u64>()
            + 1
    };

    let kept = std::fs::read(&ours[2]).expect("read");
    std::fs::copy(&theirs[2], &ours[2]).expect("copy");
    assert_eq!(
        corrupt_position(LogStore::open_with(dir.path(), &OPTIONS)),
        Some(first_of(2)),
        "another log's segment"
    );
    std::fs::write(&ours[2], &kept).expect("put back");

    let mut header = std::fs::read(&ours[1]).expect("read");
    header[0] ^= 0xff;
    std::fs::write(&ours[1], &header).expect("write");
    assert_eq!(
        corrupt_position(LogStore::open_with(dir.path(), &OPTIONS)),
        Some(first_of(1)),
        "a damaged header"
    );
    header[0] ^= 0xff;
    std::fs::write(&ours[1], &header).expect("put back");
    let store = open(dir.path());
    assert_eq!(store.head(), 40, "the repaired log opens whole");
}

/// The events of the store in log order: (position, event id).
fn log_of(store: &LogStore) -> Vec<(u64, uuid::Uuid)> {
    store
        .read_all(1, usize::MAX)
        .expect("read_all")
        .into_iter()
        .map(|e| (e.position, e.event_id))
        .collect()
}

fn id(n: u64) -> uuid::Uuid {
    event(n).event_id
}

#[test]
fn a_failed_fdatasync_stops_the_writer_and_its_group_is_cut_before_it_resumes() {
    let dir = store_with(3);
    let faults = Faults::new();
    let store = LogStore::open_on(dir.path(), &OPTIONS, Arc::new(FaultyFiles(faults.clone())))
        .expect("open");
    store
        .append_blocking("s-0", ExpectedVersion::Any, vec![event(3)])
        .expect("a healthy append");
    faults.set_failing_syncs(true);
    let failed = store.append_blocking("s-0", ExpectedVersion::Any, vec![event(4)]);
    assert!(
        matches!(&failed, Err(StoreError::Failed(why)) if why.contains("fdatasync") && why.contains("not stored")),
        "{failed:?}"
    );
    let stopped = store.condition().stopped().expect("stopped");
    assert_eq!(stopped.cause, crate::StopCause::Failed);
    assert!(stopped.resumes_by_itself);
    // While syncs fail, every attempt to resume fails too (it tried: the cut's own sync), and
    // appends are refused.
    let syncs = faults.syncs();
    let refused = store.append_blocking("s-1", ExpectedVersion::Any, vec![event(5)]);
    assert_eq!(
        faults.syncs(),
        syncs + 1,
        "one attempt to resume, one sync of the cut"
    );
    assert!(matches!(refused, Err(StoreError::Failed(_))), "{refused:?}");
    assert_eq!(store.head(), 4, "the failed group is not published");

    faults.set_failing_syncs(false);
    // The consultant's retry of the step that failed (the same event id) is stored once, as new:
    // the failed group's bytes (in the page cache here, never synced) were cut, not trusted.
    let retried = store
        .append_blocking("s-0", ExpectedVersion::Any, vec![event(4)])
        .expect("appends work again without reopening");
    assert!(!retried.already_stored);
    assert_eq!(retried.first_position, 5);
    assert!(store.condition().stopped().is_none());
    assert_eq!(store.condition().resumed(), 1);
    assert_eq!(store.condition().failed_writes(crate::StopCause::Failed), 1);
    assert_eq!(
        log_of(&store),
        (1..=5).map(|p| (p, id(p - 1))).collect::<Vec<_>>(),
        "every acknowledged event once, in order"
    );
    assert!(store.verify().expect("verify").is_ok());
    store.close().expect("close");
    let store = open(dir.path());
    assert_eq!(store.head(), 5);
    assert!(store.verify().expect("verify").is_ok());
}

#[test]
fn a_full_disk_stops_the_writer_and_appends_work_again_once_there_is_room() {
    let dir = store_with(3);
    let faults = Faults::new();
    let store = LogStore::open_on(dir.path(), &OPTIONS, Arc::new(FaultyFiles(faults.clone())))
        .expect("open");
    faults.set_space_left(50);
    let full = store.append_blocking("s-0", ExpectedVersion::Any, vec![event(3)]);
    assert!(
        matches!(&full, Err(StoreError::StorageFull(why)) if why.contains("disk is full")),
        "{full:?}"
    );
    assert_eq!(
        store.condition().stopped().map(|s| s.cause),
        Some(crate::StopCause::Full)
    );
    // Still full: refused, without touching the log.
    let refused = store.append_blocking("s-1", ExpectedVersion::Any, vec![event(4)]);
    assert!(
        matches!(refused, Err(StoreError::StorageFull(_))),
        "{refused:?}"
    );
    assert_eq!(store.head(), 3);

    faults.set_space_left(u64::MAX);
    for n in [3, 4, 5] {
        let stream = format!("s-{}", n % 3);
        let outcome = store
            .append_blocking(&stream, ExpectedVersion::Any, vec![event(n)])
            .expect("appends work again without reopening");
        assert_eq!(
            outcome.first_position,
            n + 1,
            "the 50 bytes written were cut"
        );
    }
    assert!(store.condition().stopped().is_none());
    assert_eq!(
        log_of(&store),
        (1..=6).map(|p| (p, id(p - 1))).collect::<Vec<_>>()
    );
    let report = store.verify().expect("verify");
    assert!(report.is_ok(), "{report:?}");
    store.close().expect("close");
    let store = open(dir.path());
    assert_eq!(store.head(), 6);
    assert!(store.verify().expect("verify").is_ok());
}

#[test]
fn a_stopped_writer_resumes_by_itself_once_the_disk_has_room() {
    let dir = store_with(3);
    let faults = Faults::new();
    let store = LogStore::open_on(dir.path(), &OPTIONS, Arc::new(FaultyFiles(faults.clone())))
        .expect("open");
    faults.set_space_left(10);
    assert!(store
        .append_blocking("s-0", ExpectedVersion::Any, vec![event(3)])
        .is_err());
    faults.set_space_left(u64::MAX);
    // No append comes: the back-off (1 s first) brings the writer back, so that `/health`
    // turns green on an idle server too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.condition().stopped().is_some() {
        assert!(std::time::Instant::now() < deadline, "never resumed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(store.condition().resumed(), 1);
    // The ten bytes of the failed group are cut: every frame of the file is whole.
    let segment = segments(dir.path()).pop().expect("a segment");
    record_offsets(&segment);
    store
        .append_blocking("s-0", ExpectedVersion::Any, vec![event(3)])
        .expect("append");
    assert_eq!(store.head(), 4);
}

#[test]
fn a_stopped_writer_does_not_resume_over_a_damaged_acknowledged_record() {
    let dir = store_with(1);
    let faults = Faults::new();
    let store = LogStore::open_on(dir.path(), &OPTIONS, Arc::new(FaultyFiles(faults.clone())))
        .expect("open");
    faults.set_space_left(10);
    assert!(store
        .append_blocking("s-0", ExpectedVersion::Any, vec![event(3)])
        .is_err());
    // The last acknowledged record is damaged on disk meanwhile (a checksum no longer matches).
    let segment = segments(dir.path()).pop().expect("a segment");
    let last = *record_offsets(&segment).last().expect("a record");
    let mut bytes = std::fs::read(&segment).expect("read");
    bytes[last + FRAME_HEADER + 40] ^= 0xff;
    std::fs::write(&segment, &bytes).expect("write");
    faults.set_space_left(u64::MAX);
    let refused = store.append_blocking("s-0", ExpectedVersion::Any, vec![event(3)]);
    assert!(
        matches!(refused, Err(StoreError::StorageFull(_))),
        "{refused:?}"
    );
    assert!(store.condition().stopped().is_some(), "still stopped");
    assert_eq!(store.head(), 1);
}

#[test]
fn a_failed_group_right_after_a_new_segment_resumes_in_that_segment() {
    let dir = store_with(3);
    let faults = Faults::new();
    let store = LogStore::open_on(dir.path(), &OPTIONS, Arc::new(FaultyFiles(faults.clone())))
        .expect("open");
    // A group larger than a segment rolls to a new one first, then finds no room.
    let big: Vec<_> = (3..20).map(event).collect();
    faults.set_space_left(100);
    let before = segments(dir.path()).len();
    assert!(matches!(
        store.append_blocking("s-0", ExpectedVersion::Any, big.clone()),
        Err(StoreError::StorageFull(_))
    ));
    assert_eq!(segments(dir.path()).len(), before + 1, "rolled");
    faults.set_space_left(u64::MAX);
    let outcome = store
        .append_blocking("s-0", ExpectedVersion::Any, big)
        .expect("the retry is stored");
    assert_eq!(outcome.first_position, 4);
    assert_eq!(store.head(), 20);
    assert!(store.verify().expect("verify").is_ok());
    store.close().expect("close");
    let store = open(dir.path());
    assert_eq!(
        log_of(&store),
        (1..=20).map(|p| (p, id(p - 1))).collect::<Vec<_>>()
    );
}

#[test]
fn the_indexes_are_built_from_the_log_and_old_ones_on_disk_are_removed() {
    let dir = store_with(30);
    // What a store written before the indexes moved to memory has in `index/`: entries and a
    // checkpoint in sled's default tree (the vault's tree is another one, and stays).
    {
        let db = sled::open(dir.path().join(INDEX_DIR)).expect("sled");
        db.insert(b"C", &30u64.to_be_bytes()).expect("insert");
        db.insert(b"Ss-2\0junk", &[1u8; 8]).expect("insert");
        db.open_tree("vault")
            .expect("tree")
            .insert(b"k", b"v")
            .expect("insert");
        db.flush().expect("flush");
    }
    crate::sled_store::wait_until_unlocked(&dir.path().join(INDEX_DIR).join("db"));
    let store = open(dir.path());
    assert!(store.shared.vault_db.is_empty(), "the old entries are gone");
    let vault_tree = store.shared.vault_db.open_tree("vault").expect("tree");
    assert_eq!(
        vault_tree.get(b"k").expect("get").as_deref(),
        Some(&b"v"[..])
    );
    drop(vault_tree);
    assert_eq!(store.read_stream("s-2").expect("read").len(), 10);
    let outcome = store
        .append_blocking("s-2", ExpectedVersion::Exact(10), vec![event(30)])
        .expect("the version comes from the index built on open");
    assert_eq!(outcome.stream_version, 11);
    assert!(matches!(
        store.append_blocking("s-2", ExpectedVersion::Exact(10), vec![event(31)]),
        Err(StoreError::Conflict { actual: 11, .. })
    ));
    assert!(store.verify().expect("verify").is_ok());
    store.close().expect("close");
    let store = open(dir.path());
    assert_eq!(store.read_stream("s-2").expect("read").len(), 11);
    assert!(store.verify().expect("verify").is_ok());
}

#[test]
fn a_second_opener_and_an_unknown_format_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    assert!(matches!(
        LogStore::open_with(dir.path(), &OPTIONS),
        Err(StoreError::Locked(_))
    ));
    assert!(matches!(
        verify_log_dir(dir.path(), None),
        Err(StoreError::Locked(_))
    ));
    store.close().expect("close");
    std::fs::write(dir.path().join(FORMAT_FILE), "format 3\n").expect("write");
    assert_eq!(
        corrupt_position(LogStore::open_with(dir.path(), &OPTIONS)),
        None
    );
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open");
    file.write_all(bytes).expect("append");
}

/// Simulated power cuts under concurrent appends, from reproducible seeds: after each, every
/// acknowledged event is where it was acknowledged and the log verifies. The number of seeds
/// is `JEUGDPAD_POWER_CUTS` (default 1,000: every test run), the first seed
/// `JEUGDPAD_POWER_CUT_SEED`; `cargo xtask nightly` runs 10,000.
#[test]
fn acknowledged_events_survive_simulated_power_cuts() {
    use rand::SeedableRng;
    let seeds: u64 = std::env::var("JEUGDPAD_POWER_CUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let first: u64 = std::env::var("JEUGDPAD_POWER_CUT_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let mut acknowledged = 0;
    for seed in first..first + seeds {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        match power_cut_round(&mut rng) {
            Ok(acks) => acknowledged += acks,
            Err(why) => panic!("power cut seed {seed} (JEUGDPAD_POWER_CUT_SEED={seed} JEUGDPAD_POWER_CUTS=1): {why}"),
        }
    }
    eprintln!(
        "power cuts: {seeds} seeds from {first}, {acknowledged} appends acknowledged before the \
         cuts, none lost, verify clean after every one"
    );
    assert!(
        acknowledged as u64 > seeds,
        "too few appends were acknowledged to prove anything"
    );
}

/// One simulated machine: appenders until the power goes off, a cut, a reopen, the checks.
fn power_cut_round(rng: &mut impl rand::Rng) -> Result<usize, String> {
    use super::files::power_cut::Power;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let power = Power::new(rng.gen_range(2..80));
    let store = LogStore::open_on(dir.path(), &OPTIONS, Arc::new(power.clone()))
        .map_err(|e| format!("open: {e}"))?;
    let store = Arc::new(store);
    let writers: Vec<_> = (0..3u64)
        .map(|writer| {
            let store = Arc::clone(&store);
            let sizes: Vec<u64> = (0..200).map(|_| rng.gen_range(1..=3)).collect();
            std::thread::spawn(move || {
                let mut acks = Vec::new();
                for (seq, size) in sizes.into_iter().enumerate() {
                    let base = writer * 10_000 + seq as u64 * 10;
                    let batch: Vec<_> = (base..base + size).map(event).collect();
                    let stream = format!("s-{}", (writer + seq as u64) % 5);
                    match store.append_blocking(&stream, ExpectedVersion::Any, batch.clone()) {
                        Ok(outcome) => acks.push((outcome, batch)),
                        Err(_) => break,
                    }
                }
                acks
            })
        })
        .collect();
    let mut acks = Vec::new();
    for writer in writers {
        acks.extend(writer.join().map_err(|_| "a writer panicked".to_string())?);
    }
    Arc::into_inner(store)
        .ok_or("a store handle is left")?
        .close()
        .map_err(|e| e.to_string())?;
    power.cut(rng).map_err(|e| format!("cut: {e}"))?;

    let store = LogStore::open_with(dir.path(), &OPTIONS).map_err(|e| format!("reopen: {e}"))?;
    let log = store.read_all(0, usize::MAX).map_err(|e| e.to_string())?;
    for (outcome, batch) in &acks {
        for (position, proposed) in (outcome.first_position..).zip(batch) {
            let stored = log.get(position as usize - 1).ok_or_else(|| {
                format!(
                    "LOST: position {position} was acknowledged; the log ends at {}",
                    log.len()
                )
            })?;
            if stored.event_id != proposed.event_id || stored.payload != proposed.payload {
                return Err(format!(
                    "position {position} holds another event than acknowledged"
                ));
            }
        }
    }
    let report = store.verify().map_err(|e| e.to_string())?;
    if !report.is_ok() {
        return Err(format!("verify after the cut: {report}"));
    }
    let head = store.head();
    let next = store
        .append_blocking("after", ExpectedVersion::NoStream, vec![event(99_999)])
        .map_err(|e| format!("append after the cut: {e}"))?;
    if next.first_position != head + 1 {
        return Err(format!(
            "the log went on at {} after head {head}",
            next.first_position
        ));
    }
    Ok(acks.len())
}

/// A small ext4 file system on a loop device, for a real full disk. Needs root and loop
/// devices (CI runs as root); `None` where they are missing.
struct LoopMount {
    image: PathBuf,
    path: PathBuf,
}

impl LoopMount {
    fn new(bytes: u64) -> Option<LoopMount> {
        let base = std::env::temp_dir().join(format!("jeugdpad-full-{}", std::process::id()));
        let (image, path) = (base.with_extension("img"), base);
        let run = |program: &str, args: &[&std::ffi::OsStr]| {
            std::process::Command::new(program)
                .args(args)
                .output()
                .is_ok_and(|output| output.status.success())
        };
        std::fs::File::create(&image).ok()?.set_len(bytes).ok()?;
        std::fs::create_dir_all(&path).ok()?;
        let mount = LoopMount { image, path };
        let made = run(
            "mkfs.ext4",
            &["-q".as_ref(), "-F".as_ref(), mount.image.as_os_str()],
        ) && run(
            "mount",
            &[
                "-o".as_ref(),
                "loop".as_ref(),
                mount.image.as_os_str(),
                mount.path.as_os_str(),
            ],
        );
        made.then_some(mount)
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .output();
        let _ = std::fs::remove_dir(&self.path);
        let _ = std::fs::remove_file(&self.image);
    }
}

#[test]
fn a_real_full_disk_stops_the_writer_and_it_resumes_once_space_is_freed() {
    let Some(mount) = LoopMount::new(16 << 20) else {
        eprintln!("skipped: no loop device or not root (mkfs.ext4 + mount -o loop failed)");
        return;
    };
    // Another program's file on the same disk, deleted once the disk is full.
    let ballast = mount.path.join("ballast");
    std::fs::write(&ballast, vec![1u8; 4 << 20]).expect("ballast");
    let dir = mount.path.join("store");
    let options = LogOptions {
        segment_bytes: 1 << 20,
        vault_cache_bytes: 1 << 20,
    };
    let store = LogStore::open_with(&dir, &options).expect("open on the small disk");
    let big = |n: u64| {
        let mut big = event(n);
        big.payload = serde_json::json!({ "n": n, "text": "z".repeat(16 << 10) });
        big
    };
    let mut acks = Vec::new();
    let error = loop {
        let n = acks.len() as u64;
        match store.append_blocking("s", ExpectedVersion::Any, vec![big(n)]) {
            Ok(outcome) => acks.push((outcome.first_position, big(n).event_id)),
            Err(error) => break error,
        }
        assert!(acks.len() < 10_000, "16 MiB never filled up");
    };
    eprintln!(
        "after {} appends the full disk answered: {error}",
        acks.len()
    );
    assert!(matches!(error, StoreError::StorageFull(_)), "{error:?}");
    assert!(
        acks.len() > 100,
        "only {} appends before the disk was full",
        acks.len()
    );
    let refused = store.append_blocking("s", ExpectedVersion::Any, vec![big(acks.len() as u64)]);
    assert!(
        matches!(refused, Err(StoreError::StorageFull(_))),
        "{refused:?}"
    );
    assert!(store.condition().stopped().is_some());

    std::fs::remove_file(&ballast).expect("free space");
    let n = acks.len() as u64;
    let outcome = store
        .append_blocking("s", ExpectedVersion::Any, vec![big(n)])
        .expect("the retry is stored once there is room, without reopening");
    assert_eq!(outcome.first_position, n + 1);
    acks.push((outcome.first_position, big(n).event_id));
    assert!(store.condition().stopped().is_none());
    let stored: Vec<_> = store
        .read_all(1, usize::MAX)
        .expect("read")
        .into_iter()
        .map(|e| (e.position, e.event_id))
        .collect();
    assert_eq!(stored, acks, "every acknowledged event, once, in order");
    assert!(store.verify().expect("verify").is_ok());
    store.close().expect("close");
    let store = open(&dir);
    assert_eq!(store.head(), n + 1);
    assert!(store.verify().expect("verify").is_ok());
}

#[test]
fn verify_names_a_position_the_indexes_lost() {
    let dir = store_with(12);
    let store = open(dir.path());
    assert!(store.verify().expect("verify").is_ok());
    let all = store.read_all(0, usize::MAX).expect("read_all");
    let (stream_entry, id_entry) = (&all[4], &all[8]);
    store
        .shared
        .index_mut()
        .damage_for_test(stream_entry.position, id_entry.event_id);
    let report = store.verify().expect("verify");
    let named: Vec<_> = report.problems.iter().map(|p| p.position).collect();
    assert_eq!(named, vec![Some(5), Some(9)], "{report}");
}

/// A stream entry in the live index that no event of the log made is named, and streams begun
/// by appends after the check's limit are not mistaken for one.
#[test]
fn verify_names_a_stream_the_log_does_not_hold() {
    let dir = store_with(12);
    let store = open(dir.path());
    store
        .append_blocking("s-new", ExpectedVersion::NoStream, vec![event(100)])
        .expect("append");
    assert!(store.verify().expect("verify").is_ok());
    assert_eq!(
        store.shared.index().streams_begun_after(12).expect("read"),
        1
    );
    assert_eq!(
        store.shared.index().streams_begun_after(13).expect("read"),
        0
    );
    store
        .shared
        .index_mut()
        .add_phantom_stream_for_test("s-phantom");
    let report = store.verify().expect("verify");
    assert_eq!(report.problems.len(), 1, "{report}");
    assert!(
        report.problems[0]
            .what
            .contains("holds 5 streams, the log 4"),
        "{report}"
    );
}

/// A log whose checksums and chain are sound, but whose stream `s` jumps from version 1 to
/// version 3 at position 3: nothing the writer would write, but what a crafted or damaged
/// copy could hold.
fn log_with_a_version_gap() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(FORMAT_FILE), FORMAT).expect("format");
    let segments_dir = dir.path().join(SEGMENTS_DIR);
    std::fs::create_dir_all(&segments_dir).expect("segments");
    let header = segment::Header {
        number: 1,
        first_position: 1,
        previous_hash: crate::envelope::GENESIS,
    };
    let mut bytes = header.encode();
    let mut hash = crate::envelope::GENESIS;
    for (position, stream, version) in [(1, "s", 1), (2, "t", 1), (3, "s", 3), (4, "t", 2)] {
        let proposed = event(position);
        let recorded = RecordedEvent {
            position,
            stream_id: stream.into(),
            version,
            event_id: proposed.event_id,
            event_type: proposed.event_type,
            schema_version: proposed.schema_version,
            occurred_on: proposed.occurred_on,
            recorded_at: chrono::Utc::now(),
            recorded_by: proposed.recorded_by,
            correlation_id: None,
            causation_id: None,
            payload: proposed.payload,
        };
        let canonical = record::encode_envelope(&recorded).expect("encode");
        hash = crate::envelope::chain(&hash, &canonical);
        record::frame(&mut bytes, COMMIT, &hash, &canonical);
    }
    std::fs::write(segment::path(&segments_dir, 1), bytes).expect("segment");
    dir
}

/// Opening refuses a stream version that does not follow on, so `verify` of the closed
/// directory must not call it sound: both name position 3.
#[test]
fn verify_of_a_closed_store_and_opening_agree_on_a_stream_version_gap() {
    let dir = log_with_a_version_gap();
    let report = crate::verify_dir(dir.path()).expect("verify");
    let named: Vec<_> = report.problems.iter().map(|p| p.position).collect();
    assert_eq!(named, vec![Some(3)], "{report}");
    assert!(
        report.problems[0]
            .what
            .contains("version 3 here, after version 1"),
        "{report}"
    );
    assert_eq!(
        corrupt_position(LogStore::open_with(dir.path(), &OPTIONS)),
        Some(3)
    );
}

/// With two bits of event-id hash, every id shares its hash with a quarter of the others: the
/// records decide, so retries, reused ids and reads still come out right.
#[test]
fn event_ids_that_share_a_hash_are_told_apart_by_their_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = index::with_narrow_hashes(64, 2, || open(dir.path()));
    for i in 0..40 {
        let outcome = store
            .append_blocking(
                &format!("s-{}", i % 5),
                ExpectedVersion::Any,
                vec![event(i)],
            )
            .expect("append");
        assert!(!outcome.already_stored);
    }
    for i in [0, 17, 39] {
        let retry = store
            .append_blocking(
                &format!("s-{}", i % 5),
                ExpectedVersion::Any,
                vec![event(i)],
            )
            .expect("retry");
        assert!(
            retry.already_stored,
            "event {i} is found among its hash's candidates"
        );
        assert_eq!(retry.first_position, i + 1);
    }
    let reused = store.append_blocking("elsewhere", ExpectedVersion::Any, vec![event(8)]);
    assert!(
        matches!(&reused, Err(StoreError::EventIdReused { event_id, .. }) if *event_id == id(8)),
        "{reused:?}"
    );
    let fresh = store
        .append_blocking("s-0", ExpectedVersion::Exact(8), vec![event(1000)])
        .expect("an unused id is not mistaken for a stored one");
    assert_eq!(fresh.first_position, 41);
    assert!(store.verify().expect("verify").is_ok());
    store.close().expect("close");
}
