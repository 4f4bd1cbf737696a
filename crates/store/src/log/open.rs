//! Opening a segment-log store: the lock, the format file, the scan of every segment, cutting a
//! torn tail, and catching the indexes up.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::envelope::GENESIS;
use crate::log::files::{self, LogFiles, SegmentFile};
use crate::log::index::Index;
use crate::log::locations::{Locations, Segment};
use crate::log::record;
use crate::log::segment::{self, Header, HEADER_LEN};
use crate::log::{LogOptions, Shared, FORMAT, FORMAT_FILE, INDEX_DIR, SEGMENTS_DIR};
use crate::sidecar::ChainHead;
use crate::sled_store::HeadState;
use crate::StoreError;

/// Positions added to the index per batch while catching up.
const CATCH_UP_BATCH: usize = 10_000;

/// What the writer takes over from opening.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) shared: Arc<Shared>,
    pub(crate) head: ChainHead,
    pub(crate) last_recorded_at: Option<DateTime<Utc>>,
    pub(crate) files: Arc<dyn LogFiles>,
    /// The last segment, open for appending.
    pub(crate) current: Box<dyn SegmentFile>,
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
    check_or_write_format(dir)?;
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

    let mut locations = Locations::default();
    let mut head = ChainHead {
        position: 0,
        hash: GENESIS,
    };
    let count = listed.len();
    for (i, (number, path)) in listed.iter().enumerate() {
        if *number != i as u64 + 1 {
            return Err(StoreError::Corrupt {
                position: Some(head.position + 1),
                what: format!("segment {} is missing (the next file is {path:?})", i + 1),
            });
        }
        let last = i + 1 == count;
        let bytes = std::fs::read(path).map_err(storage(format!("cannot read {path:?}")))?;
        let scanned = segment::scan(&bytes, head).map_err(|damage| StoreError::Corrupt {
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
    let last_recorded_at = last_recorded_at(&locations, head.position)?;

    let index = Index::open(dir, &dir.join(INDEX_DIR), options.index_cache_bytes)?;
    let (head_sender, _) = watch::channel(HeadState {
        position: head.position,
        closed: false,
    });
    let shared = Arc::new(Shared {
        dir: dir.to_path_buf(),
        locations: RwLock::new(locations),
        index,
        head: head_sender,
        timings: Arc::default(),
        condition: Arc::default(),
        _lock: lock,
    });
    catch_up(&shared, head.position)?;
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
    })
}

/// Writes the format file into a new store, or checks the one there.
fn check_or_write_format(dir: &Path) -> Result<(), StoreError> {
    let path = dir.join(FORMAT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => check_format_text(&path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if crate::sled_store::holds_store(dir) {
                return Err(StoreError::Corrupt {
                    position: None,
                    what: format!("{dir:?} holds a store of format 1 (sled); open it as such"),
                });
            }
            files::write_durably(&path, FORMAT.as_bytes())
                .map_err(storage(format!("cannot write {path:?}")))
        }
        Err(e) => Err(StoreError::storage(&format!("cannot read {path:?}"), e)),
    }
}

/// Whether the format file's `text` is the one this build reads: opening and `verify` refuse
/// the same directories.
pub(crate) fn check_format_text(path: &Path, text: &str) -> Result<(), StoreError> {
    if text == FORMAT {
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
    run.events(&mut events)?;
    Ok(events.pop().map(|event| event.recorded_at))
}

/// Adds every position after the index's checkpoint up to `head` to the index. A checkpoint
/// beyond the log (an index from another copy of the store) rebuilds the index from scratch.
pub(crate) fn catch_up(shared: &Shared, head: u64) -> Result<(), StoreError> {
    let mut checkpoint = shared.index.checkpoint()?;
    if checkpoint > head {
        tracing::warn!(
            checkpoint,
            head,
            "the index is ahead of the log; rebuilding it from the log"
        );
        shared.index.clear()?;
        checkpoint = 0;
    }
    if checkpoint < head {
        tracing::info!(
            from = checkpoint + 1,
            to = head,
            "catching the index up from the log"
        );
    }
    let mut position = checkpoint + 1;
    while position <= head {
        let wanted = usize::try_from(head - position + 1)
            .unwrap_or(usize::MAX)
            .min(CATCH_UP_BATCH);
        let run = shared
            .locations()
            .run(position, wanted)
            .ok_or_else(|| Shared::missing(position))?;
        let mut envelopes: Vec<Vec<u8>> = Vec::with_capacity(run.count);
        run.read(|_, envelope| {
            envelopes.push(envelope.to_vec());
            Ok(())
        })?;
        let mut entries = Vec::with_capacity(envelopes.len());
        for (offset, envelope) in envelopes.iter().enumerate() {
            entries.push(
                record::index_entry(envelope).map_err(|what| StoreError::Corrupt {
                    position: Some(position + offset as u64),
                    what,
                })?,
            );
        }
        position += run.count as u64;
        shared.index.add(entries, position - 1)?;
    }
    Ok(())
}
