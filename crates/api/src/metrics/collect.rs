//! Metrics read at scrape time rather than counted as things happen: the store writer's
//! timings and condition (stopped on a full disk or a failed write), the size of the data directory, and the process' memory and open files.
//!
//! Encoding runs on a blocking thread (`/metrics` renders in `spawn_blocking`): these read
//! files, and the data directory walk may take a while on a large store.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jeugdpad_store::{Condition, StopCause, TimingSnapshot, WriterTimings};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

/// The store writer's append, flush and `fdatasync` durations as histograms.
#[derive(Debug)]
pub(super) struct StoreTimings(pub(super) Arc<WriterTimings>);

impl Collector for StoreTimings {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let timings = &self.0;
        for (name, help, timing) in [
            (
                "store_append_duration_seconds",
                "Time from handing an append to the store's writer until it is durable and answered.",
                &timings.append,
            ),
            (
                "store_flush_duration_seconds",
                "Time of one group commit's sled flush.",
                &timings.flush,
            ),
            (
                "store_fsync_duration_seconds",
                "Time of the fdatasync after each group commit's flush.",
                &timings.fsync,
            ),
        ] {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
            encode_histogram(metric, &timing.snapshot())?;
        }
        Ok(())
    }
}

/// Whether the store's writer refuses appends (a full disk, a failed write), and how often a
/// group commit failed and the writer resumed since the server started.
#[derive(Debug)]
pub(super) struct StoreCondition(pub(super) Arc<Condition>);

impl Collector for StoreCondition {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let stopped = self.0.stopped();
        for (name, help, cause) in [
            (
                "store_failed",
                "1 while the event store refuses writes (a full disk or a failed write), else 0.",
                None,
            ),
            (
                "store_full",
                "1 while the event store refuses writes because its disk is full, else 0.",
                Some(StopCause::Full),
            ),
        ] {
            let value = stopped
                .as_ref()
                .is_some_and(|s| cause.is_none_or(|cause| s.cause == cause));
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            ConstGauge::new(i64::from(value)).encode(metric)?;
        }
        let mut metric = encoder.encode_descriptor(
            "store_write_failures",
            "Group commits whose write or fdatasync failed, by cause (full: ENOSPC or EDQUOT; failed: any other).",
            None,
            MetricType::Counter,
        )?;
        for cause in [StopCause::Full, StopCause::Failed] {
            let labels = [("cause", cause.as_str())];
            ConstCounter::new(self.0.failed_writes(cause))
                .encode(metric.encode_family(&labels)?)?;
        }
        let metric = encoder.encode_descriptor(
            "store_resumed",
            "Times the event store took writes again by itself after it had refused them.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.0.resumed()).encode(metric)
    }
}

fn encode_histogram(
    mut metric: prometheus_client::encoding::MetricEncoder<'_>,
    snapshot: &TimingSnapshot,
) -> fmt::Result {
    // prometheus-client writes `+Inf` for a bound of `f64::MAX`.
    let buckets: Vec<(f64, u64)> = snapshot
        .buckets
        .iter()
        .map(|&(bound, count)| (if bound.is_finite() { bound } else { f64::MAX }, count))
        .collect();
    metric.encode_histogram::<NoLabelSet>(snapshot.sum_seconds, snapshot.count, &buckets, None)
}

/// How often the data directory is walked at most: a scrape every few seconds must not turn
/// into a walk of a large directory every few seconds.
pub(super) const DATA_DIR_REFRESH: Duration = Duration::from_secs(10);

/// The bytes of every file under the data directory, walked at most every
/// [`DATA_DIR_REFRESH`] (scrapes in between get the last walk's sum).
#[derive(Debug)]
pub(super) struct DataDir {
    dir: PathBuf,
    last: Mutex<Option<(Instant, u64)>>,
}

impl DataDir {
    pub(super) fn new(dir: PathBuf) -> DataDir {
        DataDir {
            dir,
            last: Mutex::new(None),
        }
    }

    /// The directory's size as of `now`: the cached sum if it is younger than the refresh
    /// interval, else a fresh walk. Holding the lock during the walk makes concurrent scrapes
    /// wait for one walk instead of each starting their own.
    pub(super) fn bytes_at(&self, now: Instant) -> u64 {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, bytes)) = *last {
            if now.saturating_duration_since(at) < DATA_DIR_REFRESH {
                return bytes;
            }
        }
        let bytes = size_of_tree(&self.dir);
        *last = Some((now, bytes));
        bytes
    }
}

impl Collector for DataDir {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let bytes = ConstGauge::new(self.bytes_at(Instant::now()));
        let metric = encoder.encode_descriptor(
            "data_dir_bytes",
            "Bytes of all files under the data directory (walked at most every 10 s).",
            None,
            MetricType::Gauge,
        )?;
        bytes.encode(metric)
    }
}

/// The sum of the sizes of the regular files under `dir`, not following symbolic links. Files
/// that vanish during the walk (sled rewrites its snapshots) are skipped.
fn size_of_tree(dir: &Path) -> u64 {
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                total = total.saturating_add(meta.len());
            }
        }
    }
    total
}

/// The process' resident memory, open file descriptors and their limit, read from `/proc/self`
/// at each scrape under the names Prometheus' client libraries use. Linux only: elsewhere the
/// collector is not registered and the metrics are absent (not zero). A value that cannot be
/// read is left out of that scrape.
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub(super) struct Process;

#[cfg(target_os = "linux")]
impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let proc_self = Path::new("/proc/self");
        let readings = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                resident_bytes(proc_self),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                open_fds(proc_self),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors (soft limit).",
                max_fds(proc_self),
            ),
        ];
        for (name, help, value) in readings {
            if let Some(value) = value {
                let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
                ConstGauge::new(value).encode(metric)?;
            }
        }
        Ok(())
    }
}

/// `VmRSS` of `<proc>/status` (reported in kB), in bytes.
#[cfg(target_os = "linux")]
fn resident_bytes(proc_dir: &Path) -> Option<u64> {
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    parse_vm_rss(&status)
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let kilobytes: u64 = fields.next()?.parse().ok()?;
    (fields.next() == Some("kB")).then(|| kilobytes.saturating_mul(1024))
}

/// Entries of `<proc>/fd` (the directory listing's own descriptor is among them while it is
/// read, so one is taken off).
#[cfg(target_os = "linux")]
fn open_fds(proc_dir: &Path) -> Option<u64> {
    let count = std::fs::read_dir(proc_dir.join("fd")).ok()?.count();
    u64::try_from(count.saturating_sub(1)).ok()
}

/// The soft limit on open files from `<proc>/limits`; `None` when unlimited.
#[cfg(target_os = "linux")]
fn max_fds(proc_dir: &Path) -> Option<u64> {
    let limits = std::fs::read_to_string(proc_dir.join("limits")).ok()?;
    parse_max_open_files(&limits)
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_directory_is_walked_at_most_every_ten_seconds() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a"), [0u8; 100]).expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/b"), [0u8; 20]).expect("write");
        let size = DataDir::new(dir.path().to_path_buf());
        let start = Instant::now();
        assert_eq!(size.bytes_at(start), 120);
        std::fs::write(dir.path().join("c"), [0u8; 5]).expect("write");
        // Within ten seconds: the last walk's sum, although a file was added.
        assert_eq!(size.bytes_at(start + Duration::from_secs(9)), 120);
        // After ten seconds: walked again.
        assert_eq!(size.bytes_at(start + DATA_DIR_REFRESH), 125);
    }

    #[test]
    fn proc_files_are_read_as_documented() {
        let status = "Name:\tjeugdpad\nVmPeak:\t  900 kB\nVmRSS:\t   1234 kB\nThreads:\t9\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63704                63704                processes \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_open_files(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files     \n";
        assert_eq!(parse_max_open_files(unlimited), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_memory_and_open_files() {
        let proc_self = Path::new("/proc/self");
        assert!(resident_bytes(proc_self).is_some_and(|b| b > 0));
        // Other tests open and close files meanwhile: only that there are some can be said.
        let open = open_fds(proc_self).expect("readable");
        assert!(open > 0);
        assert!(max_fds(proc_self).is_none_or(|max| max >= open));
    }
}
