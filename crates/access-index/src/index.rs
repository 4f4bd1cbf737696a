//! Opening the index, catching it up from the log, and keeping it current.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jeugdpad_access::{AccessEntry, ACCESS_LOG_STREAM};
use jeugdpad_store::EventStore;

use crate::keys;
use crate::IndexError;

/// The index's directory inside the data directory.
pub const INDEX_DIR: &str = "access-index";

/// sled's page cache for the index, unless told otherwise: inquiries read a few pages each, and
/// catching up writes at the end of each list.
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// Positions read from the log per catch-up batch.
const CATCH_UP_BATCH: usize = 10_000;

/// How long opening waits for sled's lock of a previous opener in this process to go.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The index of the access log (`DATA/access-index/`, sled). See the crate docs.
#[derive(Debug)]
pub struct AccessIndex {
    pub(crate) db: sled::Db,
    dir: PathBuf,
    /// One catch-up at a time: each reads from the checkpoint the one before it wrote.
    catching_up: Mutex<()>,
}

/// What a catch-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaughtUp {
    /// The first log position it read (0: none).
    pub from: u64,
    /// The position the index now covers.
    pub to: u64,
    /// How many access-log entries it added.
    pub entries: u64,
    /// Whether it had to start again from position 1 (the index belonged to another log).
    pub rebuilt: bool,
}

fn index_error(dir: &Path, what: &str, error: impl std::fmt::Display) -> IndexError {
    IndexError::Index {
        dir: dir.to_path_buf(),
        detail: format!("{what}: {error}"),
    }
}

impl AccessIndex {
    /// Opens the index of the store whose data directory is `data_dir`, creating it if there is
    /// none. A directory sled cannot open (damaged, or written by something else) is removed
    /// and made again, with a warning: everything in it is derived from the log, and the next
    /// catch-up rebuilds it.
    pub fn open(data_dir: &Path) -> Result<AccessIndex, IndexError> {
        AccessIndex::open_with(data_dir, DEFAULT_CACHE_BYTES)
    }

    /// [`AccessIndex::open`] with sled's page cache set to `cache_bytes`.
    pub fn open_with(data_dir: &Path, cache_bytes: u64) -> Result<AccessIndex, IndexError> {
        let dir = data_dir.join(INDEX_DIR);
        if !dir.exists() {
            tracing::info!(dir = ?dir, "no access-log index yet: it is built from the log");
        }
        let started = Instant::now();
        let db = loop {
            match sled::Config::new()
                .path(&dir)
                .cache_capacity(cache_bytes)
                .open()
            {
                Ok(db) => break db,
                // sled's lock of an earlier opener in this process can outlive its close by a
                // moment (a server restarted in place).
                Err(sled::Error::Io(io)) if io.to_string().contains("could not acquire lock") => {
                    if started.elapsed() > LOCK_WAIT {
                        return Err(IndexError::Locked(dir));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(error) => {
                    tracing::warn!(dir = ?dir, %error, "the access-log index cannot be opened; removing it and rebuilding it from the log");
                    std::fs::remove_dir_all(&dir)
                        .map_err(|e| index_error(&dir, "cannot remove the damaged index", e))?;
                    break sled::Config::new()
                        .path(&dir)
                        .cache_capacity(cache_bytes)
                        .open()
                        .map_err(|e| index_error(&dir, "cannot create the index", e))?;
                }
            }
        };
        Ok(AccessIndex {
            db,
            dir,
            catching_up: Mutex::new(()),
        })
    }

    /// Opens the index and catches it up with `store` (the store of `data_dir`). If the index
    /// fails while catching up (sled reports damage), it is cleared and built again from the
    /// log, with a warning; an unreadable *store* is the caller's error.
    pub fn open_current<S: EventStore>(
        data_dir: &Path,
        store: &S,
    ) -> Result<AccessIndex, IndexError> {
        let index = AccessIndex::open(data_dir)?;
        match index.catch_up(store) {
            Ok(_) => Ok(index),
            Err(IndexError::Index { detail, .. }) => {
                tracing::warn!(dir = ?index.dir, %detail, "the access-log index failed; rebuilding it from the log");
                index.clear()?;
                index.catch_up(store)?;
                Ok(index)
            }
            Err(other) => Err(other),
        }
    }

    /// The index's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last log position the index has looked at (0: none) and that event's id.
    pub fn checkpoint(&self) -> Result<(u64, uuid::Uuid), IndexError> {
        let value = self
            .db
            .get(keys::CHECKPOINT)
            .map_err(|e| index_error(&self.dir, "cannot read the checkpoint", e))?;
        Ok(value
            .as_deref()
            .and_then(keys::checkpoint_of)
            .unwrap_or((0, uuid::Uuid::nil())))
    }

    fn clear(&self) -> Result<(), IndexError> {
        self.db
            .clear()
            .map_err(|e| index_error(&self.dir, "cannot clear the index", e))
    }

    /// Adds every access-log entry of the log after the checkpoint up to the store's head, in
    /// batches; each batch's keys and the checkpoint after them are one atomic write, without a
    /// sync of its own (the log is the truth: what a crash loses here, the next catch-up reads
    /// again). A checkpoint the log does not hold — beyond its head, or naming another event
    /// at that position (an index beside a restored or replaced store) — starts again from
    /// position 1, with a warning. **Blocking.**
    pub fn catch_up<S: EventStore>(&self, store: &S) -> Result<CaughtUp, IndexError> {
        let _one = self
            .catching_up
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let head = store.head();
        let (mut checkpoint, id) = self.checkpoint()?;
        let mut rebuilt = false;
        if checkpoint > 0 {
            let at = store.read_all(checkpoint, 1)?;
            let same = at
                .first()
                .is_some_and(|e| e.position == checkpoint && e.event_id == id);
            if !same {
                tracing::warn!(checkpoint, head, "the access-log index does not belong to this log (restored or replaced store); rebuilding it from the log");
                self.clear()?;
                checkpoint = 0;
                rebuilt = true;
            }
        }
        let mut caught = CaughtUp {
            from: 0,
            to: checkpoint,
            entries: 0,
            rebuilt,
        };
        if checkpoint >= head {
            return Ok(caught);
        }
        caught.from = checkpoint + 1;
        let large = head - checkpoint > 100_000;
        if large {
            tracing::info!(
                from = checkpoint + 1,
                to = head,
                "catching the access-log index up from the log"
            );
        }
        let mut next = checkpoint + 1;
        while next <= head {
            let events = store.read_all(next, CATCH_UP_BATCH)?;
            let Some(last) = events.last() else { break };
            let mut batch = sled::Batch::default();
            for event in events.iter().filter(|e| e.stream_id == ACCESS_LOG_STREAM) {
                match AccessEntry::decode(&event.payload) {
                    Ok(entry) => {
                        for key in keys::of_entry(event.position, event.recorded_at, &entry) {
                            batch.insert(key, &[][..]);
                        }
                        caught.entries += 1;
                    }
                    // An inquiry by full scan would skip it too; `jeugdpad verify` names damage.
                    Err(error) => {
                        tracing::warn!(position = event.position, %error, "an access-log entry cannot be read; the index leaves it out")
                    }
                }
            }
            batch.insert(
                keys::CHECKPOINT,
                &keys::checkpoint_value(last.position, last.event_id)[..],
            );
            self.db
                .apply_batch(batch)
                .map_err(|e| index_error(&self.dir, "cannot write the index", e))?;
            // A long catch-up flushes after each batch: sled otherwise keeps far more of what
            // it wrote in memory (a build of a million entries peaked at 16.5 GB resident
            // without this, 11.3 GB with it, and ran 26 % faster; docs/performance.md). No
            // sync is needed for correctness: the index is derived.
            if large {
                self.flush()?;
            }
            next = last.position + 1;
            caught.to = last.position;
        }
        if large {
            tracing::info!(
                to = caught.to,
                entries = caught.entries,
                "the access-log index is caught up"
            );
        }
        Ok(caught)
    }

    /// Writes what sled holds in memory to its files (for measuring the size on disk, for a
    /// tidy close, and to bound memory during a long catch-up; never needed for correctness).
    pub fn flush(&self) -> Result<(), IndexError> {
        self.db
            .flush()
            .map(|_| ())
            .map_err(|e| index_error(&self.dir, "cannot flush the index", e))
    }

    /// The bytes of the index's files.
    pub fn bytes_on_disk(&self) -> u64 {
        fn walk(dir: &Path) -> u64 {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => walk(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir)
    }
}

/// Keeps an index current while a server runs: [`Follower::nudge`] after each access-log append
/// wakes a thread of its own that catches the index up (nudges while it works coalesce into one
/// more round). An inquiry still catches up itself before it reads, so the follower only keeps
/// that step short. The thread holds neither the index nor the store between rounds, and ends
/// when the `Follower` is dropped.
#[derive(Debug)]
pub struct Follower {
    wake: SyncSender<()>,
}

impl Follower {
    /// Starts the thread that follows `store`'s log into `index`.
    pub fn start<S: EventStore>(index: &Arc<AccessIndex>, store: &Arc<S>) -> Follower {
        let (wake, woken) = sync_channel::<()>(1);
        let (index, store) = (Arc::downgrade(index), Arc::downgrade(store));
        let started = std::thread::Builder::new()
            .name("access-index".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    let (Some(index), Some(store)) = (index.upgrade(), store.upgrade()) else {
                        break;
                    };
                    if let Err(error) = index.catch_up(store.as_ref()) {
                        tracing::error!(%error, "keeping the access-log index current failed; the next inquiry catches it up");
                    }
                }
            });
        if let Err(error) = started {
            tracing::error!(%error, "cannot start the access-log index's thread; inquiries catch it up themselves");
        }
        Follower { wake }
    }

    /// Says that the log has grown: the index catches up soon. Never blocks.
    pub fn nudge(&self) {
        // Full: a round is already due and will see this entry too.
        let _ = self.wake.try_send(());
    }
}
