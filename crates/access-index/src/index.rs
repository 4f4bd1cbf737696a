//! Building the index from the log and keeping it current.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use chrono::{DateTime, Utc};
use jeugdpad_access::{AccessEntry, ACCESS_LOG_STREAM};
use jeugdpad_store::{EventStore, RecordedEvent};

use crate::lists::Lists;
use crate::IndexError;

/// Where earlier builds kept this index on disk (sled), inside the data directory.
pub const OLD_INDEX_DIR: &str = "access-index";

/// Positions read from the log per catch-up batch.
const CATCH_UP_BATCH: usize = 10_000;

/// A long catch-up says how far it is every this many positions.
const PROGRESS_EVERY: u64 = 1_000_000;

/// The index of the access log. See the crate docs.
#[derive(Debug)]
pub struct AccessIndex {
    lists: RwLock<Lists>,
    /// The last log position looked at (0: none). Written only while `catching_up` is held,
    /// after the lists hold everything up to it.
    checkpoint: AtomicU64,
    /// One catch-up at a time: each reads on from the checkpoint the one before it left.
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
}

impl AccessIndex {
    /// An empty index, covering no position yet, whose columns spill to nameless scratch files
    /// in `dir`: the store's directory, so that they are on the disk the log is on.
    pub fn new_in(dir: &Path) -> Result<AccessIndex, IndexError> {
        Ok(AccessIndex {
            lists: RwLock::new(Lists::new_in(dir)?),
            checkpoint: AtomicU64::new(0),
            catching_up: Mutex::new(()),
        })
    }

    /// An index of everything `store`'s log holds now, by a read of the whole log of its own
    /// (for tools and benchmarks; a server's start feeds the index from the read models' replay
    /// instead, `jeugdpad_app::feed::catch_up_with_access`). Its scratch files go in `dir`.
    /// **Blocking.**
    pub fn build<S: EventStore + ?Sized>(store: &S, dir: &Path) -> Result<AccessIndex, IndexError> {
        let index = AccessIndex::new_in(dir)?;
        index.catch_up(store)?;
        Ok(index)
    }

    /// The last log position the index has looked at (0: none).
    pub fn checkpoint(&self) -> u64 {
        self.checkpoint.load(Ordering::Acquire)
    }

    /// How many access-log entries the index holds.
    pub fn entries(&self) -> usize {
        self.lists().len()
    }

    /// The bytes the index takes on the heap, counted from capacities (the allocator's own
    /// overhead comes on top): its maps by user, youth and trajectory, and its columns' tails
    /// and fences. The columns themselves are in the scratch files.
    pub fn heap_bytes(&self) -> usize {
        self.lists().heap_bytes()
    }

    pub(crate) fn lists(&self) -> RwLockReadGuard<'_, Lists> {
        self.lists.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds every access-log entry of the log after the checkpoint up to the store's head, a
    /// batch at a time: each batch is read and decoded without a lock, then added under the
    /// write lock, which inquiries wait for only that long. **Blocking.**
    pub fn catch_up<S: EventStore + ?Sized>(&self, store: &S) -> Result<CaughtUp, IndexError> {
        let _one = self
            .catching_up
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let head = store.head();
        let checkpoint = self.checkpoint();
        let mut caught = CaughtUp {
            from: 0,
            to: checkpoint,
            entries: 0,
        };
        if checkpoint >= head {
            return Ok(caught);
        }
        caught.from = checkpoint + 1;
        let large = head - checkpoint > PROGRESS_EVERY;
        if large {
            tracing::info!(
                from = checkpoint + 1,
                to = head,
                "building the access-log index from the log"
            );
        }
        let mut next = checkpoint + 1;
        let mut said = checkpoint;
        while next <= head {
            let events = store.read_all(next, CATCH_UP_BATCH)?;
            let Some(last) = events.last().map(|e| e.position) else {
                break;
            };
            let picked = Picked::of(next, last, &events);
            drop(events);
            caught.entries += picked.entries.len() as u64;
            self.add(picked)?;
            caught.to = last;
            next = last + 1;
            if large && last - said >= PROGRESS_EVERY {
                said = last;
                tracing::info!(at = last, of = head, "building the access-log index");
            }
        }
        if large {
            tracing::info!(
                to = caught.to,
                entries = caught.entries,
                "the access-log index is built"
            );
        }
        Ok(caught)
    }

    /// Adds what a replay of the log picked out (see [`Picked`]) right after the positions the
    /// index covers. A run that begins past them (a gap) is left out, with the checkpoint where
    /// it was, so the next [`AccessIndex::catch_up`] reads the gap and what follows it; a run
    /// that overlaps them adds only its new positions.
    pub fn add_picked(&self, picked: Picked) -> Result<(), IndexError> {
        let _one = self
            .catching_up
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let covered = self.checkpoint();
        if picked.from > covered + 1 {
            tracing::warn!(
                covered,
                from = picked.from,
                "the access-log index skips a run of the log that does not follow on; it catches up from the log"
            );
            return Ok(());
        }
        if picked.through > covered {
            self.add(picked)?;
        }
        Ok(())
    }

    /// Adds a run that follows on (the caller holds `catching_up`), then moves the checkpoint.
    fn add(&self, picked: Picked) -> Result<(), IndexError> {
        {
            let mut lists = self.lists.write().unwrap_or_else(PoisonError::into_inner);
            for (position, recorded_at, entry) in &picked.entries {
                lists.add(*position, *recorded_at, entry)?;
            }
        }
        self.checkpoint.store(picked.through, Ordering::Release);
        Ok(())
    }
}

/// The access-log entries of the log's positions `from..=through`, decoded. A replay that reads
/// the log anyway (the read models' rebuild, `jeugdpad_app::feed::catch_up`) picks them out on
/// its reader threads, so the server reads its log once at start, not once per projection; the
/// index then takes the runs in position order ([`AccessIndex::add_picked`]).
#[derive(Debug)]
pub struct Picked {
    from: u64,
    through: u64,
    entries: Vec<(u64, DateTime<Utc>, AccessEntry)>,
}

/// A stored payload an access-log entry is read from: parsed ([`RecordedEvent`]) or its JSON
/// text ([`jeugdpad_store::RawEvent`], what the start-up replay reads).
pub trait EntryPayload {
    /// The entry this payload holds.
    fn entry(&self) -> Result<AccessEntry, String>;
}

impl EntryPayload for serde_json::Value {
    fn entry(&self) -> Result<AccessEntry, String> {
        AccessEntry::decode(self)
    }
}

impl EntryPayload for Vec<u8> {
    fn entry(&self) -> Result<AccessEntry, String> {
        AccessEntry::decode_json(self)
    }
}

impl Picked {
    /// Picks the access-log entries out of `events`, which hold the log's positions
    /// `from..=through` (any outside that are ignored).
    pub fn of<P: EntryPayload>(from: u64, through: u64, events: &[RecordedEvent<P>]) -> Picked {
        let entries = events
            .iter()
            .filter(|e| e.stream_id == ACCESS_LOG_STREAM && (from..=through).contains(&e.position))
            .filter_map(|event| match event.payload.entry() {
                Ok(entry) => Some((event.position, event.recorded_at, entry)),
                // An inquiry by full scan would skip it too; `jeugdpad verify` names damage.
                Err(error) => {
                    tracing::warn!(position = event.position, %error, "an access-log entry cannot be read; the index leaves it out");
                    None
                }
            })
            .collect();
        Picked {
            from,
            through,
            entries,
        }
    }
}

/// Removes the index an older release kept on disk (`DATA/access-index/`, sled): nothing reads
/// it any more, and on a busy server it had grown to gigabytes. Everything in it was derived
/// from the log. A failure is only a warning: the directory is then merely wasted space.
pub fn remove_old_index(data_dir: &Path) {
    let dir = data_dir.join(OLD_INDEX_DIR);
    if !dir.exists() {
        return;
    }
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {
            tracing::info!(dir = ?dir, "removed the access-log index an older release kept on disk; the index is now rebuilt at every start")
        }
        Err(error) => {
            tracing::warn!(dir = ?dir, %error, "cannot remove the access-log index an older release kept on disk; it is no longer used and may be removed by hand")
        }
    }
}

/// The follower's least time between two rounds (at most 50 rounds a second).
const ROUND_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Keeps an index current while a server runs: [`Follower::nudge`] after each access-log append
/// wakes a thread of its own that catches the index up (nudges while it works, or pauses
/// [`ROUND_PAUSE`] after a round, coalesce into one more round). An inquiry still catches up itself before it reads, so the follower only keeps
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
                    drop((index, store));
                    // Nudges that come meanwhile make one round: without the pause, every
                    // timeline read woke this thread for a round of one entry.
                    std::thread::sleep(ROUND_PAUSE);
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
