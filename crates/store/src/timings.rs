//! Meetpunten van de schrijver: how long appends, flushes and `fdatasync`s take, for monitoring.
//!
//! The store is a library of its own and chooses no metrics library: the writer thread records
//! durations into plain bucket counters ([`Timing`]), and whoever serves metrics (the API's
//! `/metrics`) reads a [`TimingSnapshot`] at scrape time and exports it as it likes. Recording
//! costs a short mutex hold on the writer thread once per append and twice per group; the
//! buckets are fixed ([`BUCKETS`]) so snapshots of different moments can be subtracted.
//!
//! What is timed, and what is not:
//! - [`WriterTimings::append`]: one append (or import) from the moment it is handed to the
//!   writer until its answer: waiting for the current group, being checked and staged, the
//!   group's apply, flush and `fdatasync`. Refused appends (a conflict) count too: they are
//!   answered after the group's flush like the others.
//! - [`WriterTimings::flush`]: sled's `flush` of one group (writing its batch to the log file).
//! - [`WriterTimings::fsync`]: the `fdatasync` of sled's log file after that flush.
//! - Not the vault's own flushes (per-subject keys: rare, and not on the append path).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds: from a tenth of a millisecond (a flush that had
/// little to write on a fast disk) to ten seconds (a disk in trouble). Anything slower falls in
/// the last, unbounded bucket.
pub const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// One kind of duration, bucketed. Shared between the writer (records) and readers (snapshot).
#[derive(Debug, Default)]
pub struct Timing {
    counts: Mutex<Counts>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Observations per bucket (not cumulative); the last one is above every bound.
    buckets: [u64; BUCKETS.len() + 1],
    sum_seconds: f64,
}

/// A consistent reading of a [`Timing`].
#[derive(Debug, Clone, PartialEq)]
pub struct TimingSnapshot {
    /// How many durations were recorded.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum_seconds: f64,
    /// `(upper bound in seconds, observations in this bucket alone)`, in [`BUCKETS`] order,
    /// then `(f64::INFINITY, observations above the last bound)`. Not cumulative: add them up
    /// for a Prometheus `le` bucket.
    pub buckets: Vec<(f64, u64)>,
}

impl Timing {
    /// Adds one duration.
    pub(crate) fn record(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.buckets[bucket] += 1;
        counts.sum_seconds += seconds;
    }

    /// Everything recorded so far, read at once (count, sum and buckets agree).
    pub fn snapshot(&self) -> TimingSnapshot {
        let counts = *self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let bounds = BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY));
        TimingSnapshot {
            count: counts.buckets.iter().sum(),
            sum_seconds: counts.sum_seconds,
            buckets: bounds.zip(counts.buckets).collect(),
        }
    }
}

/// The writer thread's timings (see the module docs). [`crate::SledStore::timings`] hands out a
/// shared reference that outlives the store, so a metrics exporter never keeps the store open.
#[derive(Debug, Default)]
pub struct WriterTimings {
    /// One append, from hand-over to the writer until its answer.
    pub append: Timing,
    /// sled's `flush` of one group.
    pub flush: Timing,
    /// The `fdatasync` of sled's log file after each group's flush.
    pub fsync: Timing,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_the_first_bucket_that_holds_them() {
        let timing = Timing::default();
        // On a bound, just above it, and beyond the last one.
        for micros in [100, 101, 1_000, 20_000_000] {
            timing.record(Duration::from_micros(micros));
        }
        let snapshot = timing.snapshot();
        assert_eq!(snapshot.count, 4);
        assert!((snapshot.sum_seconds - 20.001_201).abs() < 1e-9);
        let count_at = |bound: f64| {
            snapshot
                .buckets
                .iter()
                .find(|(b, _)| *b == bound)
                .map(|(_, n)| *n)
        };
        assert_eq!(count_at(0.0001), Some(1));
        assert_eq!(count_at(0.00025), Some(1));
        assert_eq!(count_at(0.001), Some(1));
        assert_eq!(count_at(10.0), Some(0));
        assert_eq!(count_at(f64::INFINITY), Some(1));
        assert_eq!(snapshot.buckets.len(), BUCKETS.len() + 1);
    }

    #[test]
    fn an_empty_timing_reads_as_zeros() {
        let snapshot = Timing::default().snapshot();
        assert_eq!(snapshot.count, 0);
        assert_eq!(snapshot.sum_seconds, 0.0);
        assert!(snapshot.buckets.iter().all(|(_, n)| *n == 0));
    }
}
