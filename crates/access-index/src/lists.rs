//! The lists themselves: the data and the questions asked of it. The data lives in columns
//! that spill to a scratch file (`jeugdpad_spill`), so the index's memory does not grow with
//! the log; what stays on the heap is one small map entry per user, youth and trajectory.
//!
//! Every indexed entry gets an *ordinal*, its place among the access-log entries (0, 1, 2, …
//! in log order). Two columns map an ordinal to what a page needs to find it: its log position
//! and its `recorded_at`. Each user, youth and trajectory has a *chain* of ordinals, newest
//! first: the map holds the newest, and a column per kind holds, for every ordinal, the one
//! before it that names the same user (youth, trajectory). An ordinal is a `u32`, so an entry
//! costs 28 bytes in the five columns, on disk.
//!
//! Both ordinal columns are sorted: positions rise along the log, and `recorded_at` never
//! decreases along it (the store refuses an event that would make it,
//! `crates/store/src/check.rs`). So a period and a cursor are each one binary search for a run
//! of ordinals, and "every entry" is that run itself, with no chain at all. A named filter walks
//! its chain back from the newest entry, one read per step; a page of 100 by one user is about
//! a hundred reads of four bytes, from the page cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::io;
use std::path::Path;

use chrono::{DateTime, Utc};
use jeugdpad_access::AccessEntry;
use jeugdpad_domain::{SubjectKey, TrajectoryId, UserId};
use jeugdpad_spill::Column;

use crate::inquiry::Filter;
use crate::IndexError;

/// The index holds fewer entries than a `u32` counts; more is refused, not wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the access-log index holds at most {} entries", u32::MAX - 1)]
pub struct Full;

/// The link that ends a chain: no earlier entry names the same key.
const END: u32 = u32::MAX;

/// The access-log entries by user, youth, trajectory and time. See the module docs.
#[derive(Debug)]
pub(crate) struct Lists {
    /// Ordinal → log position, rising.
    positions: Column<u64>,
    /// Ordinal → `recorded_at` in nanoseconds since 1970, never decreasing.
    instants: Column<i64>,
    users: Chains<UserId>,
    subjects: Chains<SubjectKey>,
    trajectories: Chains<TrajectoryId>,
}

/// The entries that name each key of one kind, newest first.
#[derive(Debug)]
struct Chains<K> {
    /// Key → its newest ordinal.
    newest: HashMap<K, u32>,
    /// Ordinal → the previous ordinal with the same key, or [`END`] (also for an ordinal that
    /// names no key of this kind).
    previous: Column<u32>,
}

impl<K: Hash + Eq + Clone> Chains<K> {
    fn new_in(dir: &Path) -> io::Result<Chains<K>> {
        Ok(Chains {
            newest: HashMap::new(),
            previous: Column::new_in(dir)?,
        })
    }

    /// Links `ordinal` (the next one) to `key`'s chain, or to none.
    fn link(&mut self, ordinal: u32, key: Option<&K>) {
        let Some(key) = key else {
            return self.previous.push(END);
        };
        let before = self.newest.get(key).copied().unwrap_or(END);
        self.previous.push(before);
        self.newest.insert(key.clone(), ordinal);
    }

    /// A walk back along `key`'s chain, or `None` if no entry names it.
    fn walk(&self, key: &K) -> Option<Walk<'_>> {
        self.newest.get(key).map(|&newest| Walk {
            previous: &self.previous,
            next: Some(newest),
        })
    }

    fn heap_bytes(&self, text: impl Fn(&K) -> usize) -> usize {
        self.newest.capacity() * (std::mem::size_of::<(K, u32)>() + 1)
            + self.newest.keys().map(text).sum::<usize>()
            + self.previous.heap_bytes()
    }
}

/// Ordinals newest first, each step back to the last at or below a bound.
trait Backwards {
    /// Moves to the newest ordinal at or below `bound` (staying put if it is there already)
    /// and returns it, or `None` once there is none.
    fn at_or_below(&mut self, bound: u32) -> io::Result<Option<u32>>;
}

/// One chain, walked back from its newest ordinal.
struct Walk<'a> {
    previous: &'a Column<u32>,
    next: Option<u32>,
}

impl Backwards for Walk<'_> {
    fn at_or_below(&mut self, bound: u32) -> io::Result<Option<u32>> {
        while let Some(ordinal) = self.next {
            if ordinal <= bound {
                break;
            }
            self.next = match self.previous.get(u64::from(ordinal))? {
                Some(END) | None => None,
                Some(before) => Some(before),
            };
        }
        Ok(self.next)
    }
}

impl Lists {
    /// Empty lists whose columns spill to scratch files in `dir`.
    pub(crate) fn new_in(dir: &Path) -> io::Result<Lists> {
        Ok(Lists {
            positions: Column::new_in(dir)?,
            instants: Column::new_in(dir)?,
            users: Chains::new_in(dir)?,
            subjects: Chains::new_in(dir)?,
            trajectories: Chains::new_in(dir)?,
        })
    }

    /// How many entries the lists hold.
    pub(crate) fn len(&self) -> usize {
        usize::try_from(self.positions.len()).unwrap_or(usize::MAX)
    }

    /// The bytes the lists take on the heap, from capacities: the map of each kind (keys'
    /// shared text counted once per key; the allocator's overhead not at all) and each column's
    /// unwritten tail and fences.
    pub(crate) fn heap_bytes(&self) -> usize {
        // An `Arc<str>`: two counters and the text.
        let shared = |text: &str| 16 + text.len();
        self.positions.heap_bytes()
            + self.instants.heap_bytes()
            + self.users.heap_bytes(|u| shared(u.as_str()))
            + self.subjects.heap_bytes(|s| shared(s.as_str()))
            + self.trajectories.heap_bytes(|_| 0)
    }

    /// Adds the entry at `position`. Positions must come in rising order; one at or below the
    /// last is ignored (it is already in), so a repeated batch does no harm.
    pub(crate) fn add(
        &mut self,
        position: u64,
        recorded_at: DateTime<Utc>,
        entry: &AccessEntry,
    ) -> Result<(), IndexError> {
        if self.positions.last()?.is_some_and(|last| position <= last) {
            return Ok(());
        }
        // `u32::MAX` itself is never handed out: it ends a chain.
        let ordinal = u32::try_from(self.positions.len())
            .ok()
            .filter(|&o| o < END)
            .ok_or(Full)?;
        // The store refuses an event whose `recorded_at` is before the one before it
        // (`crates/store/src/check.rs`). Should one come in anyway, the maximum keeps the column
        // sorted, so the binary searches stay sound; such an entry may then be missed by a
        // period that ends before the maximum, though it is still found without a period.
        let instant = nanos(recorded_at).max(self.instants.last()?.unwrap_or(i64::MIN));
        self.users.link(ordinal, entry.user.as_ref());
        self.subjects.link(ordinal, entry.subject_key.as_ref());
        self.trajectories.link(ordinal, entry.trajectory.as_ref());
        self.instants.push(instant);
        self.positions.push(position);
        Ok(())
    }

    /// Up to `limit` positions of entries the filter may admit, recorded in its period and at
    /// positions below `before`, newest first. Only the filter's user, youth and trajectory are
    /// matched exactly here; the period by the `recorded_at` column.
    pub(crate) fn newest(
        &self,
        filter: &Filter,
        before: Option<u64>,
        limit: usize,
    ) -> io::Result<Vec<u64>> {
        let (low, high) = self.span(filter, before)?;
        if low >= high || limit == 0 {
            return Ok(Vec::new());
        }
        let named = [
            filter.user.as_ref().map(|u| self.users.walk(u)),
            filter.subject_key.as_ref().map(|s| self.subjects.walk(s)),
            filter
                .trajectory
                .as_ref()
                .map(|t| self.trajectories.walk(t)),
        ];
        let mut walks = Vec::with_capacity(named.len());
        for walk in named.into_iter().flatten() {
            // A user, youth or trajectory the log never named: nothing matches.
            let Some(walk) = walk else {
                return Ok(Vec::new());
            };
            walks.push(walk);
        }
        let ordinals: Vec<u32> = if walks.is_empty() {
            (low..high).rev().take(limit).collect()
        } else {
            leapfrog(&mut walks, low, high, limit)?
        };
        ordinals
            .into_iter()
            .map(|o| {
                self.positions.get(u64::from(o))?.ok_or_else(|| {
                    io::Error::other("the access-log index lost an ordinal it handed out")
                })
            })
            .collect()
    }

    /// The run of ordinals `low..high` inside the filter's period and below `before`.
    fn span(&self, filter: &Filter, before: Option<u64>) -> io::Result<(u32, u32)> {
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let low = match filter.from {
            None => 0,
            Some(from) => {
                let from = nanos(from);
                count(self.instants.partition_point(|&i| i < from)?)
            }
        };
        let mut high = match filter.to {
            None => count(self.positions.len()),
            Some(to) => {
                let to = nanos(to);
                count(self.instants.partition_point(|&i| i <= to)?)
            }
        };
        if let Some(before) = before {
            high = high.min(count(self.positions.partition_point(|&p| p < before)?));
        }
        Ok((low, high))
    }
}

/// The ordinals in `low..high` that every walk holds, newest first, up to `limit`: each walk in
/// turn moves to its newest ordinal at or below the candidate; when a full round leaves the
/// candidate where it was, every walk holds it.
fn leapfrog<B: Backwards>(
    walks: &mut [B],
    low: u32,
    high: u32,
    limit: usize,
) -> io::Result<Vec<u32>> {
    let mut out = Vec::with_capacity(limit.min(1024));
    let Some(mut candidate) = high.checked_sub(1) else {
        return Ok(out);
    };
    while out.len() < limit {
        let (mut agreeing, mut i) = (0, 0);
        while agreeing < walks.len() {
            let Some(at) = walks[i].at_or_below(candidate)? else {
                return Ok(out);
            };
            if at < low {
                return Ok(out);
            }
            if at == candidate {
                agreeing += 1;
            } else {
                candidate = at;
                agreeing = 1;
            }
            i = (i + 1) % walks.len();
        }
        out.push(candidate);
        let Some(next) = candidate.checked_sub(1) else {
            break;
        };
        candidate = next;
    }
    Ok(out)
}

/// Nanoseconds since 1970. Instants outside 1677–2262 (which `recorded_at` never is) clamp to
/// the ends, where a period that reaches past them still finds everything inside.
fn nanos(instant: DateTime<Utc>) -> i64 {
    instant
        .timestamp_nanos_opt()
        .unwrap_or(if instant.timestamp() < 0 {
            i64::MIN
        } else {
            i64::MAX
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeugdpad_access::AccessAction;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + minute * 60, 0).expect("an instant")
    }

    fn entry(user: &str, trajectory: Option<u128>) -> AccessEntry {
        let mut entry = AccessEntry::by(None, AccessAction::Read, "trajectory");
        entry.user = Some(UserId::parse(user).expect("a user"));
        entry.trajectory = trajectory.map(|t| TrajectoryId::from_uuid(uuid::Uuid::from_u128(t)));
        entry
    }

    /// A sorted list in memory, walked back as a chain is.
    struct Listed<'a>(&'a [u32]);

    impl Backwards for Listed<'_> {
        fn at_or_below(&mut self, bound: u32) -> io::Result<Option<u32>> {
            self.0 = &self.0[..self.0.partition_point(|&o| o <= bound)];
            Ok(self.0.last().copied())
        }
    }

    fn frog(lists: &[&[u32]], limit: usize) -> Vec<u32> {
        let mut walks: Vec<Listed<'_>> = lists.iter().map(|l| Listed(l)).collect();
        leapfrog(&mut walks, 0, u32::MAX, limit).expect("in memory")
    }

    fn lists() -> Lists {
        Lists::new_in(&std::env::temp_dir()).expect("scratch files")
    }

    impl Lists {
        fn newest_ok(&self, filter: &Filter, before: Option<u64>, limit: usize) -> Vec<u64> {
            self.newest(filter, before, limit).expect("read")
        }
    }

    #[test]
    fn chains_across_written_blocks_find_what_a_scan_finds() {
        // Enough entries that every column has written blocks and a tail.
        let mut lists = lists();
        let mut all = Vec::new();
        for n in 0..(2 * jeugdpad_spill::BLOCK as u64 + 300) {
            let user = ["ann", "bob", "cas", "dee", "eli"][(n * n % 5) as usize];
            let trajectory = (n % 4 != 0).then_some(u128::from(n % 7));
            let position = 3 * n + 1;
            let minute = n as i64 / 10;
            lists
                .add(position, at(minute), &entry(user, trajectory))
                .expect("room");
            all.push((position, minute, user, trajectory));
        }
        let period = (at(40), at(180));
        for user in [None, Some("bob"), Some("eli")] {
            for trajectory in [None, Some(3u128), Some(6)] {
                for within in [false, true] {
                    for before in [None, Some(2_000u64), Some(5_000)] {
                        let filter = Filter {
                            user: user.map(|u| UserId::parse(u).expect("a user")),
                            trajectory: trajectory
                                .map(|t| TrajectoryId::from_uuid(uuid::Uuid::from_u128(t))),
                            from: within.then_some(period.0),
                            to: within.then_some(period.1),
                            ..Filter::default()
                        };
                        let expected: Vec<u64> = all
                            .iter()
                            .rev()
                            .filter(|(p, m, u, t)| {
                                user.is_none_or(|want| want == *u)
                                    && trajectory.is_none_or(|want| Some(want) == *t)
                                    && (!within || (at(*m) >= period.0 && at(*m) <= period.1))
                                    && before.is_none_or(|b| *p < b)
                            })
                            .map(|(p, ..)| *p)
                            .take(150)
                            .collect();
                        assert_eq!(
                            lists.newest_ok(&filter, before, 150),
                            expected,
                            "{filter:?} before {before:?}"
                        );
                    }
                }
            }
        }
        // Nothing of it is on the heap but the maps, the tails and the fences.
        assert!(lists.heap_bytes() < 64 * 1024, "{}", lists.heap_bytes());
    }

    #[test]
    fn the_leapfrog_finds_exactly_what_every_list_holds() {
        let a: Vec<u32> = (0..200).filter(|n| n % 3 == 0).collect();
        let b: Vec<u32> = (0..200).filter(|n| n % 5 == 0).collect();
        let c: Vec<u32> = (0..200).filter(|n| n % 2 == 0).collect();
        let expected: Vec<u32> = (0..200).rev().filter(|n| n % 30 == 0).collect();
        assert_eq!(frog(&[&a, &b, &c], 100), expected);
        assert_eq!(frog(&[&c, &a, &b], 3), expected[..3]);
        // Ordinal 0 in every list ends the walk rather than wrapping below it.
        assert_eq!(frog(&[&a[..1], &b[..1]], 10), vec![0]);
        assert_eq!(frog(&[&a, &[]], 10), Vec::<u32>::new());
    }

    #[test]
    fn periods_cursors_and_names_narrow_the_run() {
        let mut lists = lists();
        // Positions 10, 20, …, 100 at minutes 0, 0, 1, 1, 2, 2, …; users alternate.
        for n in 0..10u64 {
            let user = if n % 2 == 0 { "even" } else { "odd" };
            let trajectory = (n % 3 == 0).then_some(7);
            lists
                .add(10 * (n + 1), at(n as i64 / 2), &entry(user, trajectory))
                .expect("room");
        }
        // A repeated position is already in.
        lists.add(100, at(9), &entry("odd", None)).expect("room");
        assert_eq!(lists.len(), 10);

        let all = Filter::default();
        assert_eq!(lists.newest_ok(&all, None, 3), vec![100, 90, 80]);
        assert_eq!(lists.newest_ok(&all, Some(80), 2), vec![70, 60]);
        assert_eq!(lists.newest_ok(&all, Some(10), 5), Vec::<u64>::new());

        let period = Filter {
            from: Some(at(1)),
            to: Some(at(2)),
            ..Filter::default()
        };
        assert_eq!(lists.newest_ok(&period, None, 10), vec![60, 50, 40, 30]);

        let even = Filter {
            user: Some(UserId::parse("even").expect("a user")),
            ..period.clone()
        };
        assert_eq!(lists.newest_ok(&even, None, 10), vec![50, 30]);

        let even_on_7 = Filter {
            trajectory: Some(TrajectoryId::from_uuid(uuid::Uuid::from_u128(7))),
            ..even.clone()
        };
        // Ordinals 0, 3, 6, 9 name trajectory 7; of those only ordinals 0 and 6 are "even".
        assert_eq!(
            lists.newest_ok(
                &Filter {
                    from: None,
                    to: None,
                    ..even_on_7.clone()
                },
                None,
                10
            ),
            vec![70, 10]
        );
        assert_eq!(lists.newest_ok(&even_on_7, None, 10), Vec::<u64>::new());

        let nobody = Filter {
            user: Some(UserId::parse("nobody").expect("a user")),
            ..Filter::default()
        };
        assert_eq!(lists.newest_ok(&nobody, None, 10), Vec::<u64>::new());
    }
}
