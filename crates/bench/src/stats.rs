//! Turning a run's latencies into the figures the table prints.

use std::time::Duration;

use serde::Serialize;

/// One run of one workload.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Operations completed (events for appends, syncs for the fsync baseline).
    pub operations: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// For runs through a store: how its writer spent the run, from the store's own timings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writer: Option<WriterSplit>,
}

/// What one group commit of the store's writer cost on average over a run: where an append's
/// time goes, and how many appends shared each commit.
#[derive(Debug, Clone, Serialize)]
pub struct WriterSplit {
    /// Group commits (one `fdatasync`, or for PostgreSQL one transaction).
    pub groups: u64,
    pub events_per_group: f64,
    /// Mean milliseconds per group before the sync: the embedded engines' write; PostgreSQL's
    /// first round trip (`BEGIN`, the head lock, the look-ups) and the checks.
    pub before_sync_ms: f64,
    /// Mean milliseconds of the sync itself: `fdatasync`; for PostgreSQL the second round trip,
    /// the writes pipelined with their `COMMIT`.
    pub sync_ms: f64,
}

impl WriterSplit {
    pub fn new(timings: &jeugdpad_store::WriterTimings, events: u64) -> WriterSplit {
        let (flush, fsync) = (timings.flush.snapshot(), timings.fsync.snapshot());
        let mean = |sum: f64, count: u64| sum * 1000.0 / count.max(1) as f64;
        WriterSplit {
            groups: fsync.count,
            events_per_group: events as f64 / fsync.count.max(1) as f64,
            before_sync_ms: mean(flush.sum_seconds, flush.count),
            sync_ms: mean(fsync.sum_seconds, fsync.count),
        }
    }
}

impl Summary {
    /// `latencies` are per call (one append may carry several events: `operations` counts events).
    pub fn new(operations: u64, elapsed: Duration, mut latencies: Vec<Duration>) -> Summary {
        latencies.sort_unstable();
        let seconds = elapsed.as_secs_f64();
        Summary {
            operations,
            seconds,
            per_second: operations as f64 / seconds.max(f64::EPSILON),
            p50_ms: millis(nearest_rank(&latencies, 0.50)),
            p99_ms: millis(nearest_rank(&latencies, 0.99)),
            writer: None,
        }
    }
}

/// Nearest-rank percentile (the value at rank ⌈q·n⌉), the definition SPEC §4 uses for reports.
pub fn nearest_rank(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_matches_the_definition() {
        let values: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(nearest_rank(&values, 0.5), Duration::from_millis(5));
        assert_eq!(nearest_rank(&values, 0.9), Duration::from_millis(9));
        assert_eq!(nearest_rank(&values, 0.99), Duration::from_millis(10));
        assert_eq!(nearest_rank(&values[..1], 0.5), Duration::from_millis(1));
        assert_eq!(nearest_rank(&[], 0.5), Duration::ZERO);
    }
}
