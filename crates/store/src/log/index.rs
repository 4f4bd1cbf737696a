//! The derived indexes, in memory: which positions hold a stream's events, and at which
//! position an event id is stored.
//!
//! Nothing here is written to disk. Opening a store already reads every record to check its
//! checksum and chain hash, so that same pass builds the indexes from the bytes it holds (no
//! second read of the log), and the writer adds each group's events after its `fdatasync`. An
//! index that is never written cannot be stale, lost or ahead of the log after a crash, and it
//! costs no disk: before it, a sled database of two entries per event took ~890 of the
//! 1,224 bytes each event cost on disk.
//!
//! # Layout and size
//!
//! - **`previous`**: for every position, how many positions back the same stream's previous
//!   event is (0: it is the stream's first). 4 bytes per event. A stream's events are found by
//!   following these steps back from its last event; a trajectory has a handful.
//! - **`streams`**: per stream, a 128-bit fingerprint of its id → its last position and version.
//!   About 24 bytes per stream in the table (more while the table is part-empty after growing).
//! - **`event_ids`**: a 64-bit hash of each event id with its position, sorted (12 bytes per
//!   event), plus the ids of recent groups in a small map that is merged in once it holds an
//!   eighth as many. A hash names *candidates*: the caller confirms one by reading its record,
//!   so two ids that share a hash cost a read, never a wrong answer.
//!
//! So about 16 bytes per event plus 24–48 per stream: ~130 MB at 6.4 million events and a
//! million trajectories, ~400 MB at 20 million events. Positions are kept as `u32`, so a store
//! holds at most [`MAX_POSITION`] events (about a terabyte of segments); the writer refuses to
//! go past it.
//!
//! Both hashes are SipHash with keys drawn at random when the store is opened, so nobody can
//! choose ids that collide. Two *streams* with the same 128-bit fingerprint would share an
//! entry; at ten million streams the chance of that is about 10⁻²⁵ per open, far below that of
//! a disk error the checksums miss — and every read compares each record's stream id with the
//! one asked for, so such a collision would surface as [`StoreError::Corrupt`], never as another
//! stream's events.

use std::collections::hash_map::Entry;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

use uuid::Uuid;

use crate::log::record::IndexEntry;
use crate::StoreError;

/// The most events a store holds: positions are `u32` in the indexes.
pub(crate) const MAX_POSITION: u64 = u32::MAX as u64;

/// Recent event ids are merged into the sorted table once they number this many, or an eighth
/// of the table, whichever is more: a merge copies the table once, so appends pay it back many
/// times over.
const MIN_MERGE: usize = 1 << 16;

/// A stream id's fingerprint: two independently keyed 64-bit hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint(u64, u64);

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

/// The indexes of one open store. The writer adds to them; readers take a shared lock only
/// to look positions up (see `Shared::index`).
pub(crate) struct Index {
    stream_keys: (RandomState, RandomState),
    streams: PassThroughMap<Fingerprint, StreamHead>,
    /// Indexed by position − 1: how far back the stream's previous event is (0: none).
    previous: Vec<u32>,
    event_ids: EventIds,
}

/// Event-id hashes → positions: a sorted table and the recent additions.
struct EventIds {
    key: RandomState,
    /// Sorted by hash; `positions[i]` belongs to `hashes[i]`.
    hashes: Vec<u64>,
    positions: Vec<u32>,
    /// Added since the last merge. Two recent ids with the same hash (vanishingly rare) put the
    /// second in `collided`.
    recent: PassThroughMap<u64, u32>,
    collided: Vec<(u64, u32)>,
    /// While opening: entries not yet sorted into the table (see [`Index::finish_opening`]).
    opening: bool,
    unsorted: Vec<(u64, u32)>,
}

impl Index {
    /// An empty index with fresh keys.
    pub(crate) fn new() -> Index {
        Index {
            stream_keys: (RandomState::new(), RandomState::new()),
            streams: PassThroughMap::default(),
            previous: Vec::new(),
            event_ids: EventIds {
                key: RandomState::new(),
                hashes: Vec::new(),
                positions: Vec::new(),
                recent: PassThroughMap::default(),
                collided: Vec::new(),
                opening: true,
                unsorted: Vec::new(),
            },
        }
    }

    fn fingerprint(&self, stream_id: &str) -> Fingerprint {
        Fingerprint(
            self.stream_keys.0.hash_one(stream_id),
            self.stream_keys.1.hash_one(stream_id),
        )
    }

    /// The last position indexed (0: none).
    pub(crate) fn indexed(&self) -> u64 {
        self.previous.len() as u64
    }

    /// Adds the event at the next position (opening, record by record: an error there fails
    /// the open, so a half-added entry does not matter).
    pub(crate) fn add(&mut self, entry: &IndexEntry<'_>) -> Result<(), StoreError> {
        let key = self.fingerprint(&entry.stream_id);
        let before = self.streams.get(&key).copied();
        let planned = self.plan(entry, self.indexed() + 1, key, before)?;
        self.apply(planned);
        Ok(())
    }

    /// Adds a group's events, all or none: the writer's call after a durable group, so that
    /// a refusal (which the checks before the write make impossible) leaves the index as it
    /// was and the group can be cut like a failed write.
    pub(crate) fn add_group(&mut self, entries: &[IndexEntry<'_>]) -> Result<(), StoreError> {
        let mut overlay: HashMap<Fingerprint, StreamHead> = HashMap::new();
        let mut planned = Vec::with_capacity(entries.len());
        for (next, entry) in (self.indexed() + 1..).zip(entries) {
            let key = self.fingerprint(&entry.stream_id);
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
        self.event_ids.add(planned.event_id, planned.head.last);
    }

    /// Sorts what opening added into the event-id table (one sort, instead of merges along
    /// the way). Called once, after the last segment.
    pub(crate) fn finish_opening(&mut self) {
        let ids = &mut self.event_ids;
        ids.opening = false;
        ids.unsorted.sort_unstable();
        let unsorted = std::mem::take(&mut ids.unsorted);
        ids.merge(unsorted);
        self.streams.shrink_to_fit();
    }

    /// The stream's last version (0: no such stream).
    pub(crate) fn version(&self, stream_id: &str) -> u64 {
        self.streams
            .get(&self.fingerprint(stream_id))
            .map_or(0, |head| u64::from(head.version))
    }

    /// The stream's events up to `head`, as (version, position), oldest first.
    pub(crate) fn stream(&self, stream_id: &str, head: u64) -> Vec<(u64, u64)> {
        let Some(last) = self.streams.get(&self.fingerprint(stream_id)) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(last.version as usize);
        let mut at = Some((u64::from(last.version), u64::from(last.last)));
        while let Some((version, position)) = at {
            if position <= head {
                out.push((version, position));
            }
            at = self
                .previous(position)
                .map(|previous| (version - 1, previous));
        }
        out.reverse();
        out
    }

    /// The position of the same stream's event before the one at `position` (`None`: it is
    /// the stream's first, or `position` is not indexed).
    pub(crate) fn previous(&self, position: u64) -> Option<u64> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        match *self.previous.get(index)? {
            0 => None,
            step => Some(position - u64::from(step)),
        }
    }

    /// Where the stream's last event is, and its version.
    pub(crate) fn last_of(&self, stream_id: &str) -> Option<(u64, u64)> {
        self.streams
            .get(&self.fingerprint(stream_id))
            .map(|head| (u64::from(head.last), u64::from(head.version)))
    }

    /// How many streams there are.
    #[cfg(test)]
    pub(crate) fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// The positions whose event id may be `event_id` (its hash matches): confirm by reading.
    pub(crate) fn event_candidates(&self, event_id: Uuid) -> Vec<u64> {
        self.event_ids.candidates(event_id)
    }

    /// For tests of `verify`: makes the index wrong in the two ways it checks.
    #[cfg(test)]
    pub(crate) fn damage_for_test(&mut self, step_at: u64, forget_event: Uuid) {
        if let Some(step) = self.previous.get_mut(step_at as usize - 1) {
            *step += 1;
        }
        let ids = &mut self.event_ids;
        let hash = ids.key.hash_one(forget_event);
        ids.recent.remove(&hash);
        let from = ids.hashes.partition_point(|h| *h < hash);
        while ids.hashes.get(from) == Some(&hash) {
            ids.hashes.remove(from);
            ids.positions.remove(from);
        }
    }
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
    fn add(&mut self, event_id: Uuid, position: u32) {
        let hash = self.key.hash_one(event_id);
        if self.opening {
            self.unsorted.push((hash, position));
            return;
        }
        match self.recent.entry(hash) {
            Entry::Occupied(_) => self.collided.push((hash, position)),
            Entry::Vacant(vacant) => {
                vacant.insert(position);
            }
        }
        if self.recent.len() + self.collided.len() >= MIN_MERGE.max(self.hashes.len() / 8) {
            let mut added: Vec<(u64, u32)> = self.recent.drain().collect();
            added.append(&mut self.collided);
            added.sort_unstable();
            self.merge(added);
        }
    }

    /// Merges sorted `added` into the table.
    fn merge(&mut self, added: Vec<(u64, u32)>) {
        if added.is_empty() {
            return;
        }
        let total = self.hashes.len() + added.len();
        let mut hashes = Vec::with_capacity(total);
        let mut positions = Vec::with_capacity(total);
        let mut old = self
            .hashes
            .iter()
            .copied()
            .zip(self.positions.iter().copied());
        let mut new = added.into_iter();
        let (mut a, mut b) = (old.next(), new.next());
        loop {
            let take = match (a, b) {
                (Some(x), Some(y)) if x <= y => {
                    a = old.next();
                    x
                }
                (_, Some(y)) => {
                    b = new.next();
                    y
                }
                (Some(x), None) => {
                    a = old.next();
                    x
                }
                (None, None) => break,
            };
            hashes.push(take.0);
            positions.push(take.1);
        }
        self.hashes = hashes;
        self.positions = positions;
    }

    fn candidates(&self, event_id: Uuid) -> Vec<u64> {
        let hash = self.key.hash_one(event_id);
        let mut out = Vec::new();
        let from = self.hashes.partition_point(|h| *h < hash);
        for (h, position) in self.hashes[from..].iter().zip(&self.positions[from..]) {
            if *h != hash {
                break;
            }
            out.push(u64::from(*position));
        }
        out.extend(self.recent.get(&hash).map(|p| u64::from(*p)));
        out.extend(
            self.collided
                .iter()
                .chain(&self.unsorted)
                .filter(|(h, _)| *h == hash)
                .map(|(_, p)| u64::from(*p)),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut index = Index::new();
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
            assert_eq!(&index.stream(stream, count), list, "{stream}");
            assert_eq!(index.version(stream), list.len() as u64);
            let cut: Vec<_> = list.iter().copied().filter(|(_, p)| *p <= 5000).collect();
            assert_eq!(index.stream(stream, 5000), cut, "{stream} up to 5000");
        }
        for position in (1..=count).step_by(97) {
            let id = Uuid::from_u128(u128::from(position) * 7919);
            assert_eq!(index.event_candidates(id), vec![position]);
        }
        assert!(index.event_candidates(Uuid::from_u128(1)).is_empty());
        assert_eq!(index.version("s-unknown"), 0);
        assert!(index.stream("s-unknown", count).is_empty());
    }

    #[test]
    fn an_entry_out_of_order_is_refused_and_changes_nothing() {
        let mut index = Index::new();
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
        assert_eq!(index.stream("a", 10), vec![(1, 1)]);
        // A group with one wrong entry adds none of them.
        let group = [entry(2, "a", 2), entry(3, "b", 1), entry(4, "a", 2)];
        assert!(index.add_group(&group).is_err());
        assert_eq!(index.indexed(), 1);
        assert_eq!(index.version("b"), 0);
        assert!(index.event_candidates(group[1].event_id).is_empty());
        index
            .add_group(&group[..2])
            .expect("the right part goes in");
        assert_eq!(index.stream("a", 10), vec![(1, 1), (2, 2)]);
        assert_eq!(index.stream("b", 10), vec![(1, 3)]);
    }
}
