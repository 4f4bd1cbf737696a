//! Opening a segment-log store: the lock, the format file, the scan of every segment (which
//! also builds the indexes), cutting a torn tail, and the vault's database.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::envelope::GENESIS;
use crate::log::files::{self, LogFiles, SegmentFile};
use crate::log::index::{Index, MAX_POSITION};
use crate::log::locations::{Locations, Segment};
use crate::log::record;
use crate::log::record::Unreadable;
use crate::log::segment::{self, Header, HEADER_LEN};
use crate::log::{
    LogOptions, Shared, FORMAT, FORMAT_FILE, FORMAT_WITH_JSON, INDEX_DIR, SEGMENTS_DIR,
};
use crate::sidecar::ChainHead;
use crate::sled_store::HeadState;
use crate::StoreError;

/// The most segment bytes opening holds in memory at once (see [`open`]): with 256 MiB
/// segments, three workers and the segment being indexed.
const OPEN_READ_BUDGET: u64 = 1 << 30;

/// What the writer takes over from opening.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) shared: Arc<Shared>,
    pub(crate) head: ChainHead,
    pub(crate) last_recorded_at: Option<DateTime<Utc>>,
    pub(crate) files: Arc<dyn LogFiles>,
    /// The last segment, open for appending.
    pub(crate) current: Box<dyn SegmentFile>,
    /// What `FORMAT` says and what the log holds of format-1 JSON envelopes (see
    /// [`JsonEnvelopes`]).
    pub(crate) json: JsonEnvelopes,
}

/// Whether the log holds format-1 JSON envelopes and whether `FORMAT` says so. The writer
/// makes `FORMAT` say so before it writes anything to a log that holds them or will; an open
/// that only reads (a backup being restored, `verify` of an open store) changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonEnvelopes {
    pub(crate) said: bool,
    pub(crate) held: bool,
}

fn storage(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |e| StoreError::storage(&context, e)
}

/// Takes the store's lock, creating `LOCK` if needed.
pub(crate) fn lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join("LOCK");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(storage(format!("cannot open {path:?}")))?;
    fs2::FileExt::try_lock_exclusive(&file).map_err(|_| StoreError::Locked(dir.to_path_buf()))?;
    Ok(file)
}

pub(crate) fn open(
    dir: &Path,
    options: &LogOptions,
    files: Arc<dyn LogFiles>,
) -> Result<Opened, StoreError> {
    std::fs::create_dir_all(dir).map_err(storage(format!("cannot create {dir:?}")))?;
    let lock = lock(dir)?;
    let mut json = JsonEnvelopes {
        said: check_or_write_format(dir)?,
        held: false,
    };
    let segments_dir = dir.join(SEGMENTS_DIR);
    std::fs::create_dir_all(&segments_dir)
        .map_err(storage(format!("cannot create {segments_dir:?}")))?;
    files::sync_dir(dir).map_err(storage(format!("cannot sync {dir:?}")))?;
    remove_leftovers(&segments_dir)?;
    let mut listed =
        segment::list(&segments_dir).map_err(storage(format!("cannot list {segments_dir:?}")))?;
    if listed.is_empty() {
        let header = Header {
            number: 1,
            first_position: 1,
            previous_hash: GENESIS,
        };
        let path = segment::path(&segments_dir, 1);
        files
            .create(&path, &header.encode())
            .map_err(storage(format!("cannot create {path:?}")))?;
        listed.push((1, path));
    }

    // The vault's database first: sled's lock on it may still be held for a moment by the
    // previous opener, and a `Locked` retry should not repeat the whole scan below.
    let vault_db = open_vault_db(dir, options.vault_cache_bytes)?;
    let mut locations = Locations::default();
    let mut index = Index::new_in(dir)?;
    let mut head = ChainHead {
        position: 0,
        hash: GENESIS,
    };
    let count = listed.len();
    // The segments are read and checked (checksums, chain hashes: most of an open's work) on
    // worker threads, each from where its own header says the log before it ends; this thread
    // takes them in order, holds each claim to where the segment before really ended, and
    // builds the indexes meanwhile. Each worker holds one segment (read, or waiting to be
    // taken) beside the one being indexed, so the workers are as many as the cores, at most
    // as many as the segments, and never so many that more than `OPEN_READ_BUDGET` of
    // segments is in memory at once.
    let by_memory = usize::try_from(OPEN_READ_BUDGET / options.segment_bytes.max(1))
        .unwrap_or(usize::MAX)
        .saturating_sub(1);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(by_memory)
        .clamp(1, count.max(1));
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let mut inboxes = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (sender, inbox) = std::sync::mpsc::sync_channel::<Checked>(0);
            inboxes.push(inbox);
            let listed = &listed;
            scope.spawn(move || {
                for (_, path) in listed.iter().skip(worker).step_by(workers) {
                    if sender.send(check_segment(path)).is_err() {
                        return;
                    }
                }
            });
        }
        for (i, (number, path)) in listed.iter().enumerate() {
            if *number != i as u64 + 1 {
                return Err(StoreError::Corrupt {
                    position: Some(head.position + 1),
                    what: format!("segment {} is missing (the next file is {path:?})", i + 1),
                });
            }
            let last = i + 1 == count;
            let checked = inboxes[i % workers].recv().map_err(|_| {
                StoreError::Storage(format!("the thread checking {path:?} stopped"))
            })?;
            let at_start = |what: String| StoreError::Corrupt {
                position: Some(head.position + 1),
                what: format!("{path:?} at byte 0: {what}"),
            };
            let (bytes, scanned) = match checked {
                Checked::Unreadable(error) => {
                    return Err(storage(format!("cannot read {path:?}"))(error))
                }
                Checked::BadHeader(what) => return Err(at_start(what)),
                Checked::Scanned {
                    bytes,
                    claimed,
                    scanned,
                } => {
                    if claimed != head {
                        return Err(at_start(format!(
                            "segment {number} starts at position {} but the log before it ends at {} (or with another hash)",
                            claimed.position + 1,
                            head.position
                        )));
                    }
                    (bytes, scanned)
                }
            };
            let scanned = scanned.map_err(|damage| StoreError::Corrupt {
                position: Some(damage.position),
                what: format!("{path:?} at byte {}: {}", damage.offset, damage.what),
            })?;
            if let Some(tail) = &scanned.tail {
                if !last {
                    return Err(StoreError::Corrupt {
                        position: Some(tail.position),
                        what: format!(
                            "{path:?} is followed by another segment but ends with {} bytes that are not a complete group ({})",
                            tail.bytes, tail.why
                        ),
                    });
                }
                tracing::warn!(
                    segment = ?path,
                    at_byte = tail.at,
                    bytes = tail.bytes,
                    from_position = tail.position,
                    why = %tail.why,
                    "cutting off the end of the log: a write that a crash interrupted, never acknowledged"
                );
                cut(path, tail.at)?;
            }
            if i == 0 {
                // JSON envelopes, when a log holds any, start at position 1 (they come only
                // from an upgrade, or a copy of an upgraded log, into an empty store).
                json.held = starts_with_json(&bytes, &scanned.offsets);
            }
            index_segment(&mut index, &bytes, &scanned.offsets, head.position + 1)?;
            head = scanned.head;
            let file = File::open(path).map_err(storage(format!("cannot open {path:?}")))?;
            locations.segments.push(Segment {
                number: *number,
                first_position: Header::decode(&bytes)
                    .map(|h| h.first_position)
                    .unwrap_or(head.position + 1),
                file: Arc::new(file),
                offsets: scanned.offsets,
                end: scanned.end,
            });
        }
        Ok(())
    })?;
    index.finish_opening();
    let last_recorded_at = last_recorded_at(&locations, head.position)?;

    let (head_sender, _) = watch::channel(HeadState {
        position: head.position,
        closed: false,
    });
    let shared = Arc::new(Shared {
        dir: dir.to_path_buf(),
        locations: RwLock::new(locations),
        index: RwLock::new(index),
        vault_db,
        head: head_sender,
        timings: Arc::default(),
        condition: Arc::default(),
        _lock: lock,
    });
    let last_path = listed
        .last()
        .map(|(_, path)| path.clone())
        .unwrap_or_else(|| segment::path(&segments_dir, 1));
    let current = files
        .open_append(&last_path)
        .map_err(storage(format!("cannot open {last_path:?}")))?;
    Ok(Opened {
        shared,
        head,
        last_recorded_at,
        files,
        current,
        json,
    })
}

/// Writes the format file into a new store, or checks the one there. Whether it says the log
/// holds JSON envelopes.
fn check_or_write_format(dir: &Path) -> Result<bool, StoreError> {
    let path = dir.join(FORMAT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => check_format_text(&path, &text).map(|()| text == FORMAT_WITH_JSON),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if crate::sled_store::holds_store(dir) {
                return Err(StoreError::Corrupt {
                    position: None,
                    what: format!("{dir:?} holds a store of format 1 (sled); open it as such"),
                });
            }
            write_format(dir, FORMAT).map(|()| false)
        }
        Err(e) => Err(StoreError::storage(&format!("cannot read {path:?}"), e)),
    }
}

/// Replaces the format file, durably.
pub(crate) fn write_format(dir: &Path, text: &str) -> Result<(), StoreError> {
    let path = dir.join(FORMAT_FILE);
    files::write_durably(&path, text.as_bytes()).map_err(storage(format!("cannot write {path:?}")))
}

/// Whether the first record of a segment holds a JSON envelope.
fn starts_with_json(bytes: &[u8], offsets: &[u32]) -> bool {
    offsets.first().is_some_and(|offset| {
        record::parse_frame(&bytes[*offset as usize..])
            .is_ok_and(|frame| record::is_json_envelope(frame.envelope))
    })
}

/// Whether the format file's `text` is the one this build reads: opening and `verify` refuse
/// the same directories.
pub(crate) fn check_format_text(path: &Path, text: &str) -> Result<(), StoreError> {
    if text == FORMAT || text == FORMAT_WITH_JSON {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        position: None,
        what: format!(
            "{path:?} says {:?}; this build reads only {:?}",
            text.trim(),
            FORMAT.trim()
        ),
    })
}

/// Removes temporary files of a segment creation that a crash interrupted.
pub(crate) fn remove_leftovers(segments_dir: &Path) -> Result<(), StoreError> {
    let entries = std::fs::read_dir(segments_dir)
        .map_err(storage(format!("cannot list {segments_dir:?}")))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) == Some("tmp") {
            tracing::warn!(file = ?path, "removing an unfinished segment file");
            std::fs::remove_file(&path).map_err(storage(format!("cannot remove {path:?}")))?;
        }
    }
    Ok(())
}

/// Truncates a segment to `len` bytes, durably.
fn cut(path: &Path, len: u64) -> Result<(), StoreError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(storage(format!("cannot open {path:?}")))?;
    file.set_len(len.max(HEADER_LEN as u64))
        .and_then(|()| file.sync_all())
        .map_err(storage(format!("cannot cut {path:?}")))
}

fn last_recorded_at(locations: &Locations, head: u64) -> Result<Option<DateTime<Utc>>, StoreError> {
    if head == 0 {
        return Ok(None);
    }
    let run = locations.run(head, 1).ok_or(StoreError::Corrupt {
        position: Some(head),
        what: "the last position has no record".into(),
    })?;
    let mut events = Vec::with_capacity(1);
    run.decoded(&mut events, record::decode_envelope)?;
    Ok(events.pop().map(|event| event.recorded_at))
}

/// Adds the kept records of one segment (already checked by the scan) to the index.
fn index_segment(
    index: &mut Index,
    bytes: &[u8],
    offsets: &[u32],
    first_position: u64,
) -> Result<(), StoreError> {
    for (position, offset) in (first_position..).zip(offsets) {
        let corrupt = |what: String| StoreError::Corrupt {
            position: Some(position),
            what,
        };
        let record = record::parse_frame(&bytes[*offset as usize..]).map_err(|why| {
            corrupt(match why {
                Unreadable::Short => "the record is cut short".into(),
                Unreadable::Damaged(what) => what,
            })
        })?;
        index.add(&record::index_entry(record.envelope).map_err(corrupt)?)?;
    }
    Ok(())
}

/// One segment read and checked by a worker thread of [`open`].
enum Checked {
    Unreadable(std::io::Error),
    /// The header cannot be read (the reason).
    BadHeader(String),
    /// Checked from where the header says the log before it ends (`claimed`), which the
    /// opening thread holds to where the segment before really ended.
    Scanned {
        bytes: Vec<u8>,
        claimed: ChainHead,
        scanned: Result<segment::Scanned, segment::Damage>,
    },
}

fn check_segment(path: &Path) -> Checked {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => return Checked::Unreadable(error),
    };
    let claimed = match Header::decode(&bytes) {
        // Checked before the claim is compared with the log before it: a position no log
        // reaches must not be counted on from.
        Ok(header) if header.first_position == 0 || header.first_position > MAX_POSITION + 1 => {
            return Checked::BadHeader(format!(
                "the segment header says it starts at position {}",
                header.first_position
            ))
        }
        Ok(header) => ChainHead {
            position: header.first_position - 1,
            hash: header.previous_hash,
        },
        Err(what) => return Checked::BadHeader(what),
    };
    let scanned = segment::scan(&bytes, claimed);
    Checked::Scanned {
        bytes,
        claimed,
        scanned,
    }
}

/// Opens the sled database that holds the vault. sled's own lock on it can outlive the
/// previous opener's close by a moment (its threads let go afterwards): that is
/// [`StoreError::Locked`], which callers already wait out.
///
/// A store written before the indexes moved to memory still has their entries in this
/// database's default tree (about 890 bytes per event): they are removed once, here.
fn open_vault_db(dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    let path = dir.join(INDEX_DIR);
    let failed = |context: &str, error: sled::Error| match &error {
        sled::Error::Io(io) if crate::condition::is_full(io) => {
            StoreError::StorageFull(format!("{context}: {error}"))
        }
        _ => StoreError::storage(context, error),
    };
    let db = sled::Config::new()
        .path(&path)
        .cache_capacity(cache_bytes)
        .open()
        .map_err(|e| match &e {
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                StoreError::Locked(dir.to_path_buf())
            }
            _ => failed(&format!("cannot open the vault's database in {path:?}"), e),
        })?;
    // The vault has a tree of its own: anything in the default tree is the old index. A
    // clean-up that fails (or is cut short) is only a warning: the next open tries again.
    if !db.is_empty() {
        tracing::info!(
            dir = ?path,
            "removing the derived indexes an earlier release kept on disk (they are kept in memory now)"
        );
        if let Err(e) = db.clear().and_then(|()| db.flush().map(drop)) {
            tracing::warn!(error = %failed("removing the old index entries", e), "the old index entries stay until the next open");
        }
    }
    Ok(db)
}
