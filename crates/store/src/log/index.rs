//! The derived indexes: which positions hold a stream's events, and at which position an event
//! id is stored.
//!
//! They are rebuilt whenever the store opens and never kept. Opening a store already reads
//! every record to check its checksum and chain hash, so that same pass builds the indexes from
//! the bytes it holds (no second read of the log), and the writer adds each group's events
//! after its `fdatasync`. An index that is never kept cannot be stale, lost or ahead of the log
//! after a crash: before it, a sled database of two entries per event took ~890 of the 1,224
//! bytes each event cost on disk.
//!
//! What grows with every event (the steps back and the sorted event-id table) is held in
//! columns that spill to nameless scratch files in the store's directory (`jeugdpad_spill`),
//! never synced and gone with the process, so the heap does not grow with the log: it keeps
//! the streams' table (one entry per stream), a directory over the event-id table, and the
//! event ids added since the last merge.
//!
//! # Layout and size
//!
//! - **`previous`**: for every position, how many positions back the same stream's previous
//!   event is (0: it is the stream's first). 4 bytes per event, in a scratch file. A stream's
//!   events are found by following these steps back from its last event (a read of the page
//!   cache per step); a trajectory has a handful.
//! - **`streams`**: per stream, a 128-bit fingerprint of its id → its last position and
//!   version: 24 bytes and a control byte per stream, in a hash table between 7/16 and 7/8
//!   full, so 28–57 bytes per stream.
//! - **`event_ids`**: the 64-bit hash of each event id with its position, 12 bytes per event in
//!   a sorted table in a scratch file, with a directory over the hashes' top bits on the heap
//!   (a bucket of 16–32 slots, so 0.12–0.25 bytes per event, and one read of a few hundred
//!   bytes per lookup), plus the ids of recent groups in a map that is merged in once it holds
//!   an eighth as many as the table, but never more than [`MAX_MERGE`]. A merge writes the
//!   table anew, into a new scratch file. A hash names *candidates*: the caller confirms one
//!   by reading its record, so two ids that share a hash cost a read, never a wrong answer.
//!
//! So the heap holds 28–57 bytes per stream, a quarter of a byte per event, and at most
//! [`MAX_MERGE`] recent ids (~30 MB); the scratch files 16 bytes per event. Opening holds the
//! event ids it collects (12 bytes each, unsorted) in memory until they are sorted into the
//! table once, at its end.
//! Positions are kept as `u32`, so a store holds at most [`MAX_POSITION`] events (about a
//! terabyte of segments); past that, appends are refused as a full store.
//!
//! Both hashes are SipHash-1-3 with keys drawn from the operating system's random source when
//! the store is opened, so nobody can choose ids that collide. Two *streams* with the same
//! 128-bit fingerprint would share an entry: at ten million streams the chance of that is about
//! 10⁻²⁵ per open, far below that of a disk error the checksums miss. Were it to happen, an
//! append to the second stream would be checked against the first one's version (and refused
//! as a conflict, or refused by the index after its write), and every read compares each
//! record's stream id with the one asked for, so it would surface as a refusal or as
//! [`StoreError::Corrupt`], never as another stream's events.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::path::{Path, PathBuf};

use jeugdpad_spill::{Column, Fixed};

use siphasher::sip::SipHasher13;
use siphasher::sip128::SipHasher13 as SipHasher13x128;
use uuid::Uuid;

use crate::log::record::IndexEntry;
use crate::StoreError;

/// The most events a store holds: positions are `u32` in the indexes.
pub(crate) const MAX_POSITION: u64 = u32::MAX as u64;

/// Recent event ids are merged into the sorted table once they number this many, or an eighth
/// of the table, whichever is more: a merge copies the table once, so appends pay it back many
/// times over.
const MIN_MERGE: usize = 1 << 16;

/// … but never more than this many wait: they are on the heap. At 20 million events a merge
/// then rewrites the 240 MB table every million events.
pub(crate) const MAX_MERGE: usize = 1 << 20;

/// Slots read at a time while a merge goes through the table.
const MERGE_CHUNK: u64 = 1 << 16;

/// A stream id's fingerprint: a keyed 128-bit hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint(u64, u64);

impl Hash for Fingerprint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Already a keyed hash: hashing it again would only cost time.
        state.write_u64(self.0);
    }
}

/// The hasher for keys that are hashes already: it passes the one `u64` through.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the keys here; fold anything else in, to stay a hasher.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type PassThroughMap<K, V> = HashMap<K, V, BuildHasherDefault<PassThrough>>;

/// A stream's last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StreamHead {
    last: u32,
    version: u32,
}

/// One checked entry, ready to go in.
struct Planned {
    key: Fingerprint,
    head: StreamHead,
    step: u32,
    event_id: Uuid,
}

/// The hash keys of one index, drawn at random. A second index with the same keys (see
/// [`Index::sibling`]) fingerprints streams identically, so `verify` can compare the two
/// entry by entry.
#[derive(Clone)]
struct Keys {
    streams: SipHasher13x128,
    event_ids: SipHasher13,
    /// Bits of each hash that are kept (stream fingerprints, event ids): all of them, except
    /// in tests that need collisions.
    masks: (u64, u64),
}

impl Keys {
    fn random() -> Result<Keys, StoreError> {
        let (mut streams, mut event_ids) = ([0u8; 16], [0u8; 16]);
        getrandom::fill(&mut streams)
            .and_then(|()| getrandom::fill(&mut event_ids))
            .map_err(|e| {
                StoreError::storage(
                    "cannot draw the index's hash keys from the random source",
                    e,
                )
            })?;
        Ok(Keys {
            streams: SipHasher13x128::new_with_key(&streams),
            event_ids: SipHasher13::new_with_key(&event_ids),
            masks: test_masks(),
        })
    }

    fn fingerprint(&self, stream_id: &str) -> Fingerprint {
        let hash = self.streams.hash(stream_id.as_bytes());
        Fingerprint(hash.h1 & self.masks.0, hash.h2 & self.masks.0)
    }

    fn event_id(&self, event_id: Uuid) -> u64 {
        self.event_ids.hash(event_id.as_bytes()) & self.masks.1
    }
}

#[cfg(not(test))]
fn test_masks() -> (u64, u64) {
    (u64::MAX, u64::MAX)
}

#[cfg(test)]
thread_local! {
    /// For tests: which bits of each hash an index created on this thread keeps.
    static MASKS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((u64::MAX, u64::MAX)) };
}

#[cfg(test)]
fn test_masks() -> (u64, u64) {
    MASKS.with(std::cell::Cell::get)
}

/// For tests: indexes created on this thread while `run` runs keep only `stream_bits` bits of
/// each stream fingerprint's halves and `id_bits` bits of each event id's hash, so that
/// streams and ids collide.
#[cfg(test)]
pub(crate) fn with_narrow_hashes<T>(stream_bits: u32, id_bits: u32, run: impl FnOnce() -> T) -> T {
    let mask = |bits: u32| 1u64.checked_shl(bits).map_or(u64::MAX, |bit| bit - 1);
    let before = MASKS.with(|masks| masks.replace((mask(stream_bits), mask(id_bits))));
    let result = run();
    MASKS.with(|masks| masks.set(before));
    result
}

/// The indexes of one open store. The writer adds to them; readers take a shared lock only
/// to look positions up (see `Shared::index`).
pub(crate) struct Index {
    keys: Keys,
    streams: PassThroughMap<Fingerprint, StreamHead>,
    /// Indexed by position − 1: how far back the stream's previous event is (0: none).
    previous: Column<u32>,
    event_ids: EventIds,
    /// Where this index's scratch files go (and its merges', and its siblings').
    scratch: PathBuf,
}

/// One event id's entry in the sorted table: its hash, split so that the entry takes 12 bytes
/// rather than a padded 16, and its position. Ordered by hash, then position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Slot {
    high: u32,
    low: u32,
    position: u32,
}

impl Fixed for Slot {
    const WIDTH: usize = 12;

    fn put(self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.high.to_le_bytes());
        out[4..8].copy_from_slice(&self.low.to_le_bytes());
        out[8..12].copy_from_slice(&self.position.to_le_bytes());
    }

    fn take(bytes: &[u8]) -> Slot {
        let word = |at: usize| u32::take(&bytes[at..at + 4]);
        Slot {
            high: word(0),
            low: word(4),
            position: word(8),
        }
    }
}

impl Slot {
    fn new(hash: u64, position: u32) -> Slot {
        Slot {
            high: (hash >> 32) as u32,
            low: hash as u32,
            position,
        }
    }

    fn hash(&self) -> u64 {
        (u64::from(self.high) << 32) | u64::from(self.low)
    }
}

/// Event-id hashes → positions: a sorted table and the recent additions.
struct EventIds {
    /// While the store opens: every id so far, unsorted, until [`Index::finish_opening`]
    /// sorts them into `table`.
    opening: Option<Vec<Slot>>,
    /// Sorted, in a scratch file.
    table: Column<Slot>,
    /// Where in `table` each run of hashes with the same top bits starts.
    directory: Directory,
    /// Added since the last merge (not while opening). Two recent ids with the same hash
    /// (vanishingly rare) put the second in `collided`.
    recent: PassThroughMap<u64, u32>,
    collided: Vec<Slot>,
}

/// A merged event-id table and its directory, built beside the index (see
/// [`Index::merged_event_ids`]).
pub(crate) struct MergedIds(Column<Slot>, Directory);

/// A directory over the sorted table's hashes: `starts[b]` is the first slot whose hash's top
/// bits are `b` or more, with the table's length at the end. Hashes are uniform, so a bucket
/// holds 16–32 slots, and a lookup is one read here and one read of the bucket's few hundred
/// bytes from the table's file, where a binary search over the whole table would read at most
/// of its ~25 steps. It costs 0.12–0.25 bytes per event.
#[derive(Debug, Default)]
struct Directory {
    shift: u32,
    starts: Vec<u32>,
}

/// A directory built slot by slot, in the table's order.
struct DirectoryBuilder {
    directory: Directory,
    len: usize,
    at: u32,
}

impl DirectoryBuilder {
    /// For a table of `len` slots.
    fn new(len: usize) -> DirectoryBuilder {
        // Between a sixteenth and a thirty-second as many buckets as slots, at least two.
        let bits = (len / 16).max(2).ilog2().min(31);
        DirectoryBuilder {
            directory: Directory {
                shift: 64 - bits,
                starts: Vec::with_capacity((1usize << bits) + 1),
            },
            len,
            at: 0,
        }
    }

    /// The next slot's hash.
    fn note(&mut self, hash: u64) {
        let bucket = (hash >> self.directory.shift) as usize;
        while self.directory.starts.len() <= bucket {
            self.directory.starts.push(self.at);
        }
        self.at += 1;
    }

    fn finish(mut self) -> Directory {
        let buckets = 1usize << (64 - self.directory.shift);
        debug_assert_eq!(self.at as usize, self.len);
        self.directory.starts.resize(buckets + 1, self.len as u32);
        self.directory
    }
}

impl Directory {
    #[cfg(test)]
    fn of(table: &[Slot]) -> Directory {
        let mut builder = DirectoryBuilder::new(table.len());
        for slot in table {
            builder.note(slot.hash());
        }
        builder.finish()
    }

    /// The slots whose hash may be `hash` (all of them if the directory is empty).
    fn bucket(&self, hash: u64, table_len: usize) -> std::ops::Range<usize> {
        let bucket = (hash >> self.shift) as usize;
        match (self.starts.get(bucket), self.starts.get(bucket + 1)) {
            (Some(&from), Some(&to)) => from as usize..to as usize,
            _ => 0..table_len,
        }
    }
}

/// A scratch file could not be made or read.
fn scratch(error: std::io::Error) -> StoreError {
    StoreError::storage("the store's index cannot use its scratch file", error)
}

impl Index {
    /// An empty index with fresh keys, whose scratch files go in `dir` (the store's own, or
    /// for `verify` of a closed store, the system's temporary directory).
    pub(crate) fn new_in(dir: &Path) -> Result<Index, StoreError> {
        Index::with_keys(Keys::random()?, dir)
    }

    fn with_keys(keys: Keys, dir: &Path) -> Result<Index, StoreError> {
        Ok(Index {
            keys,
            streams: PassThroughMap::default(),
            previous: Column::new_in(dir).map_err(scratch)?,
            event_ids: EventIds {
                opening: Some(Vec::new()),
                table: Column::new_in(dir).map_err(scratch)?,
                directory: Directory::default(),
                recent: PassThroughMap::default(),
                collided: Vec::new(),
            },
            scratch: dir.to_path_buf(),
        })
    }

    /// An empty index with this one's keys: its fingerprints are this one's.
    pub(crate) fn sibling(&self) -> Result<Index, StoreError> {
        Index::with_keys(self.keys.clone(), &self.scratch)
    }

    /// The last position indexed (0: none).
    pub(crate) fn indexed(&self) -> u64 {
        self.previous.len()
    }

    /// Adds the event at the next position: record by record, while opening or verifying. An
    /// entry that does not fit is refused and changes nothing.
    pub(crate) fn add(&mut self, entry: &IndexEntry<'_>) -> Result<(), StoreError> {
        let key = self.keys.fingerprint(&entry.stream_id);
        let before = self.streams.get(&key).copied();
        let planned = self.plan(entry, self.indexed() + 1, key, before)?;
        self.apply(planned);
        if self.merge_due() {
            // The entry is in either way; a merge that cannot be written now (no scratch
            // space) leaves the recent ids where they are found too, and is tried at the next.
            if let Ok(merged) = self.merged_event_ids() {
                drop(self.install(merged));
            }
        }
        Ok(())
    }

    /// Adds a group's events, all or none: the writer's call after a durable group, so that
    /// a refusal (which the checks before the write make impossible) leaves the index as it
    /// was and the group can be cut like a failed write. It does not merge the recent event
    /// ids (see [`Index::merge_due`]): the writer does that outside the write lock.
    pub(crate) fn add_group(&mut self, entries: &[IndexEntry<'_>]) -> Result<(), StoreError> {
        let mut overlay: HashMap<Fingerprint, StreamHead> = HashMap::new();
        let mut planned = Vec::with_capacity(entries.len());
        for (next, entry) in (self.indexed() + 1..).zip(entries) {
            let key = self.keys.fingerprint(&entry.stream_id);
            let before = overlay
                .get(&key)
                .or_else(|| self.streams.get(&key))
                .copied();
            let plan = self.plan(entry, next, key, before)?;
            overlay.insert(key, plan.head);
            planned.push(plan);
        }
        for plan in planned {
            self.apply(plan);
        }
        Ok(())
    }

    /// Checks that `entry` is the next position and its stream's next version.
    fn plan(
        &self,
        entry: &IndexEntry<'_>,
        next: u64,
        key: Fingerprint,
        before: Option<StreamHead>,
    ) -> Result<Planned, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt {
            position: Some(entry.position),
            what,
        };
        if entry.position != next {
            return Err(corrupt(format!("the index expected position {next}")));
        }
        let (Ok(position), Ok(version)) =
            (u32::try_from(entry.position), u32::try_from(entry.version))
        else {
            return Err(corrupt(format!(
                "the store holds at most {MAX_POSITION} events"
            )));
        };
        let step = match before {
            None if version == 1 => 0,
            Some(before) if before.version.checked_add(1) == Some(version) => {
                position - before.last
            }
            _ => {
                let had = before.map_or(0, |before| before.version);
                return Err(corrupt(format!(
                    "stream {:?} has version {version} here, after version {had}",
                    entry.stream_id
                )));
            }
        };
        Ok(Planned {
            key,
            head: StreamHead {
                last: position,
                version,
            },
            step,
            event_id: entry.event_id,
        })
    }

    fn apply(&mut self, planned: Planned) {
        self.streams.insert(planned.key, planned.head);
        self.previous.push(planned.step);
        let hash = self.keys.event_id(planned.event_id);
        self.event_ids.add(hash, planned.head.last);
    }

    /// Sorts what opening added into the event-id table, in place (one sort, instead of
    /// merges along the way). Called once, after the last segment.
    pub(crate) fn finish_opening(&mut self) {
        let ids = &mut self.event_ids;
        let Some(mut opened) = ids.opening.take() else {
            return;
        };
        opened.sort_unstable();
        let mut directory = DirectoryBuilder::new(opened.len());
        for slot in opened {
            directory.note(slot.hash());
            ids.table.push(slot);
        }
        ids.directory = directory.finish();
    }

    /// Whether enough recent event ids wait to be merged into the sorted table.
    pub(crate) fn merge_due(&self) -> bool {
        let ids = &self.event_ids;
        let table = usize::try_from(ids.table.len()).unwrap_or(usize::MAX);
        ids.opening.is_none()
            && ids.recent.len() + ids.collided.len() >= MIN_MERGE.max(table / 8).min(MAX_MERGE)
    }

    /// The sorted table with the recent ids merged in, in a new scratch file. It only reads
    /// the index, so the writer builds it under the shared lock (readers go on) and then
    /// [`Index::install`]s it.
    pub(crate) fn merged_event_ids(&self) -> Result<MergedIds, StoreError> {
        let ids = &self.event_ids;
        let mut added: Vec<Slot> = ids
            .recent
            .iter()
            .map(|(hash, position)| Slot::new(*hash, *position))
            .chain(ids.collided.iter().copied())
            .collect();
        added.sort_unstable();
        let len = usize::try_from(ids.table.len()).unwrap_or(usize::MAX) + added.len();
        let mut merged = Column::new_in(&self.scratch).map_err(scratch)?;
        let mut directory = DirectoryBuilder::new(len);
        let mut put = |slot: Slot| {
            directory.note(slot.hash());
            merged.push(slot);
        };
        let mut new = added.into_iter().peekable();
        let mut at = 0;
        while at < ids.table.len() {
            let chunk = ids.table.read(at, at + MERGE_CHUNK).map_err(scratch)?;
            at += chunk.len() as u64;
            for old in chunk {
                while let Some(slot) = new.next_if(|slot| *slot < old) {
                    put(slot);
                }
                put(old);
            }
        }
        new.for_each(put);
        Ok(MergedIds(merged, directory.finish()))
    }

    /// Puts a merged table in place of the sorted table and the recent ids it holds, and hands
    /// back the old table (for the caller to free after it lets go of the lock). Only the
    /// writer adds to the index, so nothing was added since `merged` was built from it.
    #[must_use]
    pub(crate) fn install(&mut self, merged: MergedIds) -> MergedIds {
        let ids = &mut self.event_ids;
        debug_assert_eq!(
            merged.0.len(),
            ids.table.len() + (ids.recent.len() + ids.collided.len()) as u64
        );
        // A fresh map: a drained one would keep the capacity of its largest batch.
        ids.recent = PassThroughMap::default();
        ids.collided = Vec::new();
        let MergedIds(table, directory) = merged;
        MergedIds(
            std::mem::replace(&mut ids.table, table),
            std::mem::replace(&mut ids.directory, directory),
        )
    }

    /// The stream's last version (0: no such stream).
    pub(crate) fn version(&self, stream_id: &str) -> u64 {
        self.streams
            .get(&self.keys.fingerprint(stream_id))
            .map_or(0, |head| u64::from(head.version))
    }

    /// The stream's events up to `head`, as (version, position), oldest first. A chain of
    /// steps that does not end at version 1 (a damaged index) is [`StoreError::Corrupt`].
    pub(crate) fn stream(&self, stream_id: &str, head: u64) -> Result<Vec<(u64, u64)>, StoreError> {
        let Some(last) = self.streams.get(&self.keys.fingerprint(stream_id)) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(last.version as usize);
        let (mut version, mut position) = (u64::from(last.version), u64::from(last.last));
        loop {
            if position <= head {
                out.push((version, position));
            }
            match (self.previous(position)?, version) {
                (None, 1) => break,
                (Some(previous), 2..) => (version, position) = (version - 1, previous),
                _ => {
                    return Err(StoreError::Corrupt {
                        position: Some(position),
                        what: format!(
                            "the stream index's links for {stream_id:?} do not end at its first version"
                        ),
                    })
                }
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The position of the same stream's event before the one at `position` (`None`: it is
    /// the stream's first, or `position` is not indexed).
    pub(crate) fn previous(&self, position: u64) -> Result<Option<u64>, StoreError> {
        let Some(index) = position.checked_sub(1) else {
            return Ok(None);
        };
        Ok(match self.previous.get(index).map_err(scratch)? {
            None | Some(0) => None,
            Some(step) => position.checked_sub(u64::from(step)).filter(|p| *p > 0),
        })
    }

    /// Each stream's fingerprint, last position and version.
    pub(crate) fn stream_ends(&self) -> impl Iterator<Item = (Fingerprint, u64, u64)> + '_ {
        self.streams
            .iter()
            .map(|(key, head)| (*key, u64::from(head.last), u64::from(head.version)))
    }

    /// Where the stream with this fingerprint has its last event at or before `limit`, and
    /// that event's version (`None`: no such stream, or none of its events is that old).
    pub(crate) fn end_at(
        &self,
        key: Fingerprint,
        limit: u64,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let Some(head) = self.streams.get(&key) else {
            return Ok(None);
        };
        let (mut at, mut version) = (u64::from(head.last), u64::from(head.version));
        while at > limit {
            let (Some(before), Some(earlier)) = (self.previous(at)?, version.checked_sub(1)) else {
                return Ok(None);
            };
            (at, version) = (before, earlier);
        }
        Ok(Some((at, version)))
    }

    /// How many streams begin after `limit`: the positions after it that are their stream's
    /// first event (no step back). With [`Index::stream_count`], what `verify` needs to tell
    /// whether the index holds a stream the log does not, while appends go on.
    pub(crate) fn streams_begun_after(&self, limit: u64) -> Result<usize, StoreError> {
        let steps = self
            .previous
            .read(limit, self.previous.len())
            .map_err(scratch)?;
        Ok(steps.iter().filter(|&&step| step == 0).count())
    }

    /// How many streams there are.
    pub(crate) fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// The positions whose event id may be `event_id` (its hash matches): confirm by reading.
    pub(crate) fn event_candidates(&self, event_id: Uuid) -> Result<Vec<u64>, StoreError> {
        self.event_ids
            .candidates(self.keys.event_id(event_id))
            .map_err(scratch)
    }

    /// For tests: the bytes the index holds on the heap, from capacities (the allocator's own
    /// overhead not counted).
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let ids = &self.event_ids;
        self.streams.capacity() * (size_of::<(Fingerprint, StreamHead)>() + 1)
            + self.previous.heap_bytes()
            + ids
                .opening
                .as_ref()
                .map_or(0, |o| o.capacity() * size_of::<Slot>())
            + ids.table.heap_bytes()
            + ids.directory.starts.capacity() * size_of::<u32>()
            + ids.recent.capacity() * (size_of::<(u64, u32)>() + 1)
            + ids.collided.capacity() * size_of::<Slot>()
    }

    /// For tests of `verify`: a stream entry that no event of the log made.
    #[cfg(test)]
    pub(crate) fn add_phantom_stream_for_test(&mut self, stream_id: &str) {
        let key = self.keys.fingerprint(stream_id);
        self.streams.insert(
            key,
            StreamHead {
                last: 1,
                version: 1,
            },
        );
    }

    /// For tests of `verify`: makes the index wrong in the two ways it checks.
    #[cfg(test)]
    pub(crate) fn damage_for_test(&mut self, step_at: u64, forget_event: Uuid) {
        let step = self
            .previous
            .get(step_at - 1)
            .expect("read")
            .expect("indexed");
        self.set_step_for_test(step_at - 1, step + 1);
        let hash = self.keys.event_id(forget_event);
        let ids = &mut self.event_ids;
        ids.recent.remove(&hash);
        let kept: Vec<Slot> = ids
            .table
            .read(0, ids.table.len())
            .expect("read")
            .into_iter()
            .filter(|slot| slot.hash() != hash)
            .collect();
        ids.directory = Directory::of(&kept);
        ids.table = written_for_test(&self.scratch, kept);
    }

    /// For tests: the step back at `index` (position − 1) made `step`. The columns only grow,
    /// so the column is written anew.
    #[cfg(test)]
    pub(crate) fn set_step_for_test(&mut self, index: u64, step: u32) {
        let mut steps = self.previous.read(0, self.previous.len()).expect("read");
        steps[index as usize] = step;
        self.previous = written_for_test(&self.scratch, steps);
    }
}

/// For tests: a new column in `dir` holding `values` (columns only grow, so a test that
/// damages one writes it anew).
#[cfg(test)]
fn written_for_test<T: Fixed>(dir: &Path, values: Vec<T>) -> Column<T> {
    let mut column = Column::new_in(dir).expect("a scratch file");
    for value in values {
        column.push(value);
    }
    column
}

/// Counts only: a store's `Debug` must not print millions of entries.
impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("events", &self.previous.len())
            .field("streams", &self.streams.len())
            .finish_non_exhaustive()
    }
}

impl EventIds {
    fn add(&mut self, hash: u64, position: u32) {
        if let Some(opening) = &mut self.opening {
            opening.push(Slot::new(hash, position));
            return;
        }
        match self.recent.entry(hash) {
            Entry::Occupied(_) => self.collided.push(Slot::new(hash, position)),
            Entry::Vacant(vacant) => {
                vacant.insert(position);
            }
        }
    }

    fn candidates(&self, hash: u64) -> std::io::Result<Vec<u64>> {
        let mut out = Vec::new();
        if let Some(opening) = &self.opening {
            // Unsorted until the open finishes: only `verify`'s own index is asked then.
            out.extend(
                opening
                    .iter()
                    .filter(|slot| slot.hash() == hash)
                    .map(|slot| u64::from(slot.position)),
            );
            return Ok(out);
        }
        let len = usize::try_from(self.table.len()).unwrap_or(usize::MAX);
        let range = self.directory.bucket(hash, len);
        let bucket = self.table.read(range.start as u64, range.end as u64)?;
        let from = bucket.partition_point(|slot| slot.hash() < hash);
        out.extend(
            bucket[from..]
                .iter()
                .take_while(|slot| slot.hash() == hash)
                .map(|slot| u64::from(slot.position)),
        );
        out.extend(self.recent.get(&hash).map(|p| u64::from(*p)));
        out.extend(
            self.collided
                .iter()
                .filter(|slot| slot.hash() == hash)
                .map(|slot| u64::from(slot.position)),
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_index() -> Index {
        Index::new_in(&std::env::temp_dir()).expect("keys and scratch files")
    }

    fn entry(position: u64, stream: &str, version: u64) -> IndexEntry<'static> {
        IndexEntry {
            position,
            stream_id: stream.to_owned().into(),
            version,
            event_id: Uuid::from_u128(u128::from(position) * 7919),
        }
    }

    /// Streams interleaved, more events than one merge takes, every lookup compared with a
    /// plain map built beside it.
    #[test]
    fn streams_and_event_ids_are_found_across_merges() {
        let mut index = test_index();
        let mut expected: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
        let count = 3 * MIN_MERGE as u64 + 17;
        for position in 1..=count {
            let stream = format!("s-{}", position % 101 + position / 50_000);
            let list = expected.entry(stream.clone()).or_default();
            let version = list.len() as u64 + 1;
            list.push((version, position));
            index.add(&entry(position, &stream, version)).expect("add");
            if position == 1000 {
                index.finish_opening();
            }
        }
        assert_eq!(index.stream_count(), expected.len());
        for (stream, list) in &expected {
            assert_eq!(
                &index.stream(stream, count).expect("sound"),
                list,
                "{stream}"
            );
            assert_eq!(index.version(stream), list.len() as u64);
            let cut: Vec<_> = list.iter().copied().filter(|(_, p)| *p <= 5000).collect();
            assert_eq!(
                index.stream(stream, 5000).expect("sound"),
                cut,
                "{stream} up to 5000"
            );
        }
        for position in (1..=count).step_by(97) {
            let id = Uuid::from_u128(u128::from(position) * 7919);
            assert_eq!(index.event_candidates(id).expect("read"), vec![position]);
        }
        assert!(index
            .event_candidates(Uuid::from_u128(1))
            .expect("read")
            .is_empty());
        assert_eq!(index.version("s-unknown"), 0);
        assert!(index.stream("s-unknown", count).expect("none").is_empty());
    }

    /// Events of streams it already knows leave the heap as it was but for the directory (a
    /// quarter byte an event at most) and the columns' fences: the steps back and the event-id
    /// table are in the scratch files. (Held in `Vec`s, as before, they took 16 bytes an event.)
    #[test]
    fn the_heap_does_not_grow_with_the_events_of_known_streams() {
        let mut index = test_index();
        let mut versions = [0u64; 10];
        let mut heap_at = Vec::new();
        // Merges come every `MIN_MERGE` events after the open's 1,000, and leave no recent id.
        let checkpoints = [1000 + 2 * MIN_MERGE as u64, 1000 + 6 * MIN_MERGE as u64];
        for position in 1..=checkpoints[1] {
            let stream = (position % 10) as usize;
            versions[stream] += 1;
            index
                .add(&entry(position, &format!("s-{stream}"), versions[stream]))
                .expect("add");
            if position == 1000 {
                index.finish_opening();
            }
            if checkpoints.contains(&position) {
                assert!(index.event_ids.recent.is_empty(), "a merge just ran");
                heap_at.push(index.heap_bytes());
            }
        }
        let events = checkpoints[1] - checkpoints[0];
        let grown = heap_at[1].saturating_sub(heap_at[0]) as u64;
        assert!(grown < events / 2, "{grown} bytes for {events} events");
        assert_eq!(
            index
                .event_candidates(Uuid::from_u128(777 * 7919))
                .expect("read"),
            vec![777]
        );
    }

    /// Every slot is in its hash's bucket, and the buckets cut the table into runs that cover
    /// it exactly, the hashes 0 and `u64::MAX` included.
    #[test]
    fn the_directory_cuts_the_table_into_the_runs_of_each_bucket() {
        let keys = Keys::random().expect("keys");
        for len in [0u32, 1, 5, 100, 20_000] {
            let mut table: Vec<Slot> = (0..len)
                .map(|n| Slot::new(keys.event_id(Uuid::from_u128(u128::from(n))), n + 1))
                .chain([Slot::new(0, 7), Slot::new(u64::MAX, 8)])
                .collect();
            table.sort_unstable();
            let directory = Directory::of(&table);
            assert!(directory.starts.len() >= 3, "{len}: at least two buckets");
            assert!(directory.starts.windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(directory.starts.first(), Some(&0));
            assert_eq!(directory.starts.last(), Some(&(table.len() as u32)));
            for slot in &table {
                let bucket = &table[directory.bucket(slot.hash(), table.len())];
                assert!(bucket.contains(slot), "{len}: {slot:?}");
                let top = |s: &Slot| s.hash() >> directory.shift;
                assert!(bucket.iter().all(|s| top(s) == top(slot)), "{len}: one run");
            }
            if len == 20_000 {
                let widest = directory.starts.windows(2).map(|w| w[1] - w[0]).max();
                assert!(widest < Some(64), "{len}: buckets stay small ({widest:?})");
            }
        }
    }

    /// With 12 bits of hash, ~50 ids share each: every one is still among its candidates,
    /// before and after merges, and an id never added has none of its own.
    #[test]
    fn event_ids_that_share_a_hash_are_all_candidates() {
        let mut index = with_narrow_hashes(64, 12, test_index);
        let count = 3 * MIN_MERGE as u64;
        for position in 1..=count {
            index
                .add(&entry(position, &format!("s-{position}"), 1))
                .expect("add");
            if position == 500 {
                index.finish_opening();
            }
        }
        let mut shared = 0;
        for position in (1..=count).step_by(101) {
            let id = Uuid::from_u128(u128::from(position) * 7919);
            let candidates = index.event_candidates(id).expect("read");
            assert!(candidates.contains(&position), "{position}");
            shared += candidates.len();
        }
        assert!(
            shared > 20 * count.div_ceil(101) as usize,
            "the hashes do collide"
        );
        let absent = Uuid::from_u128(1);
        assert!(!index.event_candidates(absent).expect("read").contains(&0));
    }

    /// Two streams with one fingerprint are never merged into one: the second's first event
    /// is refused, as a version that does not follow on.
    #[test]
    fn streams_that_share_a_fingerprint_are_refused_not_merged() {
        let mut index = with_narrow_hashes(0, 64, test_index);
        index.add(&entry(1, "a", 1)).expect("add");
        let refused = index.add(&entry(2, "b", 1));
        assert!(
            matches!(&refused, Err(StoreError::Corrupt { position: Some(2), what }) if what.contains("after version 1")),
            "{refused:?}"
        );
        assert_eq!(index.indexed(), 1);
    }

    /// A damaged chain of steps is reported, not followed below version 1.
    #[test]
    fn a_chain_of_steps_that_does_not_end_at_version_one_is_corrupt() {
        let mut index = test_index();
        for (position, stream, version) in [(1, "a", 1), (2, "b", 1), (3, "a", 2)] {
            index.add(&entry(position, stream, version)).expect("add");
        }
        assert_eq!(index.stream("a", 3).expect("sound"), vec![(1, 1), (2, 3)]);
        index.set_step_for_test(2, 0);
        assert!(matches!(
            index.stream("a", 3),
            Err(StoreError::Corrupt {
                position: Some(3),
                ..
            })
        ));
        index.set_step_for_test(2, 2);
        // b's first event now seems to follow a's: the walk would go below version 1.
        index.set_step_for_test(1, 1);
        index.add(&entry(4, "b", 2)).expect("add");
        assert!(matches!(
            index.stream("b", 4),
            Err(StoreError::Corrupt {
                position: Some(2),
                ..
            })
        ));
    }

    #[test]
    fn an_entry_out_of_order_is_refused_and_changes_nothing() {
        let mut index = test_index();
        index.add(&entry(1, "a", 1)).expect("add");
        for wrong in [entry(3, "a", 2), entry(2, "a", 3), entry(2, "b", 2)] {
            assert!(matches!(
                index.add(&wrong),
                Err(StoreError::Corrupt {
                    position: Some(_),
                    ..
                })
            ));
        }
        assert_eq!(index.indexed(), 1);
        assert_eq!(index.stream("a", 10).expect("sound"), vec![(1, 1)]);
        // A group with one wrong entry adds none of them.
        let group = [entry(2, "a", 2), entry(3, "b", 1), entry(4, "a", 2)];
        assert!(index.add_group(&group).is_err());
        assert_eq!(index.indexed(), 1);
        assert_eq!(index.version("b"), 0);
        assert!(index
            .event_candidates(group[1].event_id)
            .expect("read")
            .is_empty());
        index
            .add_group(&group[..2])
            .expect("the right part goes in");
        assert_eq!(index.stream("a", 10).expect("sound"), vec![(1, 1), (2, 2)]);
        assert_eq!(index.stream("b", 10).expect("sound"), vec![(1, 3)]);
    }
}
