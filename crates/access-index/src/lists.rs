//! The lists themselves, in memory: pure data and the questions asked of it, no I/O.
//!
//! Every indexed entry gets an *ordinal*, its place among the access-log entries (0, 1, 2, …
//! in log order). Two columns map an ordinal to what a page needs to find it: its log position
//! and its `recorded_at`. Each user, youth and trajectory has a sorted list of ordinals. An
//! ordinal is a `u32` — four bytes per entry per list, where a log position would take eight —
//! so an entry costs 16 bytes in the columns and 4 in each list that names it.
//!
//! Both columns are sorted: positions rise along the log, and `recorded_at` never decreases
//! along it (the store refuses an event that would make it, `crates/store/src/check.rs`). So a
//! period and a cursor are each one binary search for a run of ordinals, and "every entry" is
//! that run itself, with no list at all.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jeugdpad_access::AccessEntry;
use jeugdpad_domain::{SubjectKey, TrajectoryId, UserId};

use crate::inquiry::Filter;

/// The index holds fewer entries than a `u32` counts; more is refused, not wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the access-log index holds at most {} entries", u32::MAX - 1)]
pub struct Full;

/// The access-log entries by user, youth, trajectory and time. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Lists {
    /// Ordinal → log position, rising.
    positions: Vec<u64>,
    /// Ordinal → `recorded_at` in nanoseconds since 1970, never decreasing.
    instants: Vec<i64>,
    users: HashMap<UserId, Vec<u32>>,
    subjects: HashMap<SubjectKey, Vec<u32>>,
    trajectories: HashMap<TrajectoryId, Vec<u32>>,
}

impl Lists {
    /// How many entries the lists hold.
    pub(crate) fn len(&self) -> usize {
        self.positions.len()
    }

    /// The bytes the tables take on the heap, from their capacities (keys' shared text counted
    /// once per key; the allocator's overhead not at all).
    pub(crate) fn heap_bytes(&self) -> usize {
        fn map<K>(map: &HashMap<K, Vec<u32>>, text: impl Fn(&K) -> usize) -> usize {
            map.capacity() * (std::mem::size_of::<(K, Vec<u32>)>() + 1)
                + map
                    .iter()
                    .map(|(key, list)| text(key) + list.capacity() * 4)
                    .sum::<usize>()
        }
        // An `Arc<str>`: two counters and the text.
        let shared = |text: &str| 16 + text.len();
        self.positions.capacity() * 8
            + self.instants.capacity() * 8
            + map(&self.users, |u| shared(u.as_str()))
            + map(&self.subjects, |s| shared(s.as_str()))
            + map(&self.trajectories, |_| 0)
    }

    /// Adds the entry at `position`. Positions must come in rising order; one at or below the
    /// last is ignored (it is already in), so a repeated batch does no harm.
    pub(crate) fn add(
        &mut self,
        position: u64,
        recorded_at: DateTime<Utc>,
        entry: &AccessEntry,
    ) -> Result<(), Full> {
        if self.positions.last().is_some_and(|&last| position <= last) {
            return Ok(());
        }
        // `u32::MAX` itself is never handed out: `span` counts entries in a `u32`.
        let ordinal = u32::try_from(self.positions.len())
            .ok()
            .filter(|&o| o < u32::MAX)
            .ok_or(Full)?;
        // The store refuses an event whose `recorded_at` is before the one before it
        // (`crates/store/src/check.rs`). Should one come in anyway, the maximum keeps the column
        // sorted, so the binary searches stay sound; such an entry may then be missed by a
        // period that ends before the maximum, though it is still found without a period.
        let instant = nanos(recorded_at).max(self.instants.last().copied().unwrap_or(i64::MIN));
        self.positions.push(position);
        self.instants.push(instant);
        if let Some(user) = &entry.user {
            self.users.entry(user.clone()).or_default().push(ordinal);
        }
        if let Some(subject) = &entry.subject_key {
            self.subjects
                .entry(subject.clone())
                .or_default()
                .push(ordinal);
        }
        if let Some(trajectory) = entry.trajectory {
            self.trajectories
                .entry(trajectory)
                .or_default()
                .push(ordinal);
        }
        Ok(())
    }

    /// Up to `limit` positions of entries the filter may admit, recorded in its period and at
    /// positions below `before`, newest first. Only the filter's user, youth and trajectory are
    /// matched exactly here; the period by the `recorded_at` column.
    pub(crate) fn newest(&self, filter: &Filter, before: Option<u64>, limit: usize) -> Vec<u64> {
        let (low, high) = self.span(filter, before);
        if low >= high || limit == 0 {
            return Vec::new();
        }
        let named = [
            filter.user.as_ref().map(|u| self.users.get(u)),
            filter.subject_key.as_ref().map(|s| self.subjects.get(s)),
            filter.trajectory.as_ref().map(|t| self.trajectories.get(t)),
        ];
        let mut lists = Vec::with_capacity(named.len());
        for list in named.into_iter().flatten() {
            // A user, youth or trajectory the log never named: nothing matches.
            let Some(list) = list else {
                return Vec::new();
            };
            let from = list.partition_point(|&o| o < low);
            let to = list.partition_point(|&o| o < high);
            lists.push(&list[from..to]);
        }
        let ordinals: Vec<u32> = match lists.as_mut_slice() {
            [] => (low..high).rev().take(limit).collect(),
            [one] => one.iter().rev().take(limit).copied().collect(),
            several => leapfrog(several, limit),
        };
        ordinals
            .into_iter()
            .map(|o| self.positions[o as usize])
            .collect()
    }

    /// The run of ordinals `low..high` inside the filter's period and below `before`.
    fn span(&self, filter: &Filter, before: Option<u64>) -> (u32, u32) {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let low = filter.from.map_or(0, |from| {
            let from = nanos(from);
            count(self.instants.partition_point(|&i| i < from))
        });
        let mut high = filter.to.map_or(count(self.len()), |to| {
            let to = nanos(to);
            count(self.instants.partition_point(|&i| i <= to))
        });
        if let Some(before) = before {
            high = high.min(count(self.positions.partition_point(|&p| p < before)));
        }
        (low, high)
    }
}

/// The ordinals every list holds, newest first, up to `limit`: each list in turn moves to its
/// last ordinal at or below the candidate; when a full round leaves the candidate where it was,
/// every list holds it. The lists only shrink from the end, so each step is one binary search
/// in what is left.
fn leapfrog(lists: &mut [&[u32]], limit: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(limit.min(1024));
    // The shortest list first: it moves the candidate furthest.
    lists.sort_by_key(|list| list.len());
    let Some(mut candidate) = lists[0].last().copied() else {
        return out;
    };
    while out.len() < limit {
        let (mut agreeing, mut i) = (0, 0);
        while agreeing < lists.len() {
            let list = &mut lists[i];
            let at = list.partition_point(|&o| o <= candidate);
            *list = &list[..at];
            let Some(&last) = list.last() else {
                return out;
            };
            if last == candidate {
                agreeing += 1;
            } else {
                candidate = last;
                agreeing = 1;
            }
            i = (i + 1) % lists.len();
        }
        out.push(candidate);
        let Some(next) = candidate.checked_sub(1) else {
            break;
        };
        candidate = next;
    }
    out
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

    #[test]
    fn the_leapfrog_finds_exactly_what_every_list_holds() {
        let a: Vec<u32> = (0..200).filter(|n| n % 3 == 0).collect();
        let b: Vec<u32> = (0..200).filter(|n| n % 5 == 0).collect();
        let c: Vec<u32> = (0..200).filter(|n| n % 2 == 0).collect();
        let expected: Vec<u32> = (0..200).rev().filter(|n| n % 30 == 0).collect();
        assert_eq!(leapfrog(&mut [&a[..], &b[..], &c[..]], 100), expected);
        assert_eq!(leapfrog(&mut [&c[..], &a[..], &b[..]], 3), expected[..3]);
        // Ordinal 0 in every list ends the walk rather than wrapping below it.
        assert_eq!(leapfrog(&mut [&a[..1], &b[..1]], 10), vec![0]);
        assert_eq!(leapfrog(&mut [&a[..], &[]], 10), Vec::<u32>::new());
    }

    #[test]
    fn periods_cursors_and_names_narrow_the_run() {
        let mut lists = Lists::default();
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
        assert_eq!(lists.newest(&all, None, 3), vec![100, 90, 80]);
        assert_eq!(lists.newest(&all, Some(80), 2), vec![70, 60]);
        assert_eq!(lists.newest(&all, Some(10), 5), Vec::<u64>::new());

        let period = Filter {
            from: Some(at(1)),
            to: Some(at(2)),
            ..Filter::default()
        };
        assert_eq!(lists.newest(&period, None, 10), vec![60, 50, 40, 30]);

        let even = Filter {
            user: Some(UserId::parse("even").expect("a user")),
            ..period.clone()
        };
        assert_eq!(lists.newest(&even, None, 10), vec![50, 30]);

        let even_on_7 = Filter {
            trajectory: Some(TrajectoryId::from_uuid(uuid::Uuid::from_u128(7))),
            ..even.clone()
        };
        // Ordinals 0, 3, 6, 9 name trajectory 7; of those only ordinals 0 and 6 are "even".
        assert_eq!(
            lists.newest(
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
        assert_eq!(lists.newest(&even_on_7, None, 10), Vec::<u64>::new());

        let nobody = Filter {
            user: Some(UserId::parse("nobody").expect("a user")),
            ..Filter::default()
        };
        assert_eq!(lists.newest(&nobody, None, 10), Vec::<u64>::new());
    }
}
