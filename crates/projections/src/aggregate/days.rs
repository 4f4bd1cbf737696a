//! Dates as day numbers, and sorted lists of them that count in O(log n).

use chrono::NaiveDate;

/// The first day an aggregate can hold: day number 0.
const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(date) => date,
    None => panic!("1970-01-01 is a date"),
};

/// `date` as days since 1970-01-01, when it fits in 16 bits (1970-01-01 ..= 2149-06-06).
/// A trajectory with a date outside that range is not aggregated (its reports fall back to the
/// scan), so the aggregates never hold a date they cannot count exactly.
pub(crate) fn day_number(date: NaiveDate) -> Option<u16> {
    u16::try_from((date - EPOCH).num_days()).ok()
}

/// `d` clamped into the day numbers: days before 1970 count nothing (`None`), days after 2149
/// count everything there is.
pub(crate) fn query_day(d: NaiveDate) -> Option<u16> {
    if d < EPOCH {
        return None;
    }
    Some(day_number(d).unwrap_or(u16::MAX))
}

/// A multiset of days, kept sorted so that "how many are on or before `d`" is a binary search.
///
/// Inserts go to their place (a `memmove`, cheap for the sizes a live update touches); a bulk
/// load pushes unsorted and sorts once ([`DayList::sort`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct DayList(Vec<u16>);

impl DayList {
    /// How many days are `<= d`.
    pub(crate) fn rank(&self, d: u16) -> usize {
        self.0.partition_point(|&day| day <= d)
    }

    /// [`DayList::rank`] of each of `points` (ascending) into `ranks`: one walk for all of
    /// them — a merge when the list is short next to the points, else binary searches that
    /// each start where the last one ended.
    pub(crate) fn ranks(&self, points: &[u16], ranks: &mut [usize]) {
        let days = &self.0;
        let mut at = 0;
        if days.len() <= 2 * points.len() {
            for (rank, &point) in ranks.iter_mut().zip(points) {
                while at < days.len() && days[at] <= point {
                    at += 1;
                }
                *rank = at;
            }
        } else {
            for (rank, &point) in ranks.iter_mut().zip(points) {
                at += days[at..].partition_point(|&day| day <= point);
                *rank = at;
            }
        }
    }

    /// How many days lie in `from..=to`.
    pub(crate) fn count_between(&self, from: u16, to: u16) -> usize {
        if from > to {
            return 0;
        }
        let below = match from.checked_sub(1) {
            Some(before) => self.rank(before),
            None => 0,
        };
        self.rank(to) - below
    }

    /// Adds `day` at its place (`sorted`) or at the end (a bulk load, sorted later).
    pub(crate) fn add(&mut self, day: u16, sorted: bool) {
        if sorted {
            let at = self.0.partition_point(|&d| d <= day);
            self.0.insert(at, day);
        } else {
            self.0.push(day);
        }
    }

    /// Removes one `day`; `false` when there was none (a bug: contributions come in pairs).
    pub(crate) fn remove(&mut self, day: u16) -> bool {
        let at = self.0.partition_point(|&d| d < day);
        if self.0.get(at) == Some(&day) {
            self.0.remove(at);
            true
        } else {
            false
        }
    }

    /// Sorts after a bulk load and gives back spare capacity.
    pub(crate) fn sort(&mut self) {
        self.0.sort_unstable();
        self.0.shrink_to_fit();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Half-open day intervals `[from, until)` (`until` absent: for ever), counted by stabbing: the
/// intervals containing `d` are those started by `d` minus those ended by `d`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Intervals {
    pub(crate) from: DayList,
    pub(crate) until: DayList,
}

impl Intervals {
    /// Intervals containing day `d`.
    pub(crate) fn count_at(&self, d: u16) -> usize {
        self.from.rank(d) - self.until.rank(d)
    }

    pub(crate) fn add(&mut self, from: u16, until: Option<u16>, sorted: bool) {
        self.from.add(from, sorted);
        if let Some(until) = until {
            self.until.add(until, sorted);
        }
    }

    pub(crate) fn remove(&mut self, from: u16, until: Option<u16>) -> bool {
        let removed = self.from.remove(from);
        match until {
            Some(until) => self.until.remove(until) && removed,
            None => removed,
        }
    }

    pub(crate) fn sort(&mut self) {
        self.from.sort();
        self.until.sort();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.from.is_empty() && self.until.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_within_their_range() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        assert_eq!(day_number(d), Some(20_787));
        assert_eq!(day_number(EPOCH), Some(0));
        assert_eq!(
            day_number(NaiveDate::from_ymd_opt(1969, 12, 31).expect("date")),
            None
        );
        assert_eq!(
            day_number(NaiveDate::from_ymd_opt(2149, 6, 6).expect("date")),
            Some(u16::MAX)
        );
        assert_eq!(
            day_number(NaiveDate::from_ymd_opt(2149, 6, 7).expect("date")),
            None
        );
    }

    #[test]
    fn lists_count_and_intervals_stab() {
        let mut list = DayList::default();
        for day in [5, 1, 3, 3, 9] {
            list.add(day, true);
        }
        assert_eq!(list.rank(0), 0);
        assert_eq!(list.rank(3), 3);
        assert_eq!(list.rank(100), 5);
        assert_eq!(list.count_between(3, 5), 3);
        assert_eq!(list.count_between(6, 5), 0);
        for points in [
            &[0u16, 3, 4, 9][..],
            &[2],
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        ] {
            let mut ranks = vec![usize::MAX; points.len()];
            list.ranks(points, &mut ranks);
            let expected: Vec<usize> = points.iter().map(|&p| list.rank(p)).collect();
            assert_eq!(ranks, expected, "{points:?}");
        }
        assert!(list.remove(3));
        assert!(!list.remove(4));
        assert_eq!(list.rank(3), 2);

        let mut intervals = Intervals::default();
        intervals.add(2, Some(5), true); // 2, 3, 4
        intervals.add(4, None, true); // 4 ..
        assert_eq!(intervals.count_at(1), 0);
        assert_eq!(intervals.count_at(2), 1);
        assert_eq!(intervals.count_at(4), 2);
        assert_eq!(intervals.count_at(5), 1);
        assert!(intervals.remove(2, Some(5)));
        assert_eq!(intervals.count_at(4), 1);
    }
}
