//! `all`: the whole suite in one reproducible run — the machine's own limits, durable appends
//! against a SQLite baseline, replay, memory and queries — printed as one table and written as
//! JSON. Every ratio compares figures measured in this same run.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::load::{self, LoadPlan, LoadReport};
use crate::measure::StoreReport;
use crate::stats::Summary;
use crate::{median_run, sqlite, workload};

type AnyError = Box<dyn std::error::Error>;

#[derive(Debug, clap::Args)]
pub struct AllArgs {
    /// Directory on the disk to measure: scratch stores and the kept cohort stores go here.
    #[arg(long, default_value = "target/bench-data")]
    pub dir: PathBuf,

    /// Where the JSON results go.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "target/jeugdpad-bench.json"
    )]
    pub json: PathBuf,

    /// Seconds per append run.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,

    /// Runs per append configuration (sled and SQLite alternate); the table shows the median.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,

    /// Concurrent writer counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 8, 64, 256])]
    pub writers: Vec<usize>,

    /// Events per append, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 10])]
    pub batches: Vec<usize>,

    /// Trajectories of the replay cohort (160,000 give about a million events).
    #[arg(long, default_value_t = 160_000)]
    pub replay_trajectories: u64,

    /// Trajectories of the query and memory cohort.
    #[arg(long, default_value_t = 1_000_000)]
    pub trajectories: u64,

    /// "Today" of the cohorts, pinned so a kept store is reused on any day.
    #[arg(long, default_value = "2026-06-30")]
    pub today: NaiveDate,

    /// The cohorts' seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Keep the cohort stores in DIR, so the next run skips loading them.
    #[arg(long)]
    pub keep: bool,

    /// Requests per run of each single-client query (the all-teams reports run a fifth of it).
    #[arg(long, default_value_t = 500)]
    pub iterations: usize,

    /// Seconds of each concurrent-clients run.
    #[arg(long, default_value_t = 5.0)]
    pub concurrency_seconds: f64,

    /// A quick run that only proves the suite still works (CI): seconds, small cohorts, no
    /// timing assertions.
    #[arg(long)]
    pub smoke: bool,
}

#[derive(Debug, Serialize)]
struct Machine {
    cores: usize,
    cpu: String,
    memory_bytes: u64,
    filesystem: String,
    kernel: String,
    load_average_start: String,
    load_average_end: String,
}

#[derive(Debug, Serialize)]
struct AppendRow {
    writers: usize,
    events_per_append: usize,
    sled: Summary,
    sqlite: Summary,
    sled_over_sqlite: f64,
}

#[derive(Debug, Serialize)]
struct CohortRun {
    trajectories: u64,
    load: Option<LoadReport>,
    bytes_on_disk: u64,
    bytes_on_disk_per_event: f64,
    report: StoreReport,
}

pub fn run(mut args: AllArgs) -> Result<(), AnyError> {
    if args.smoke {
        args.seconds = 0.3;
        args.repeats = 1;
        args.writers = vec![1, 8];
        args.replay_trajectories = 300;
        args.trajectories = 500;
        args.iterations = 20;
        args.concurrency_seconds = 0.3;
    }
    std::fs::create_dir_all(&args.dir)?;
    let load_start = read_trimmed("/proc/loadavg");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    // 1. The machine's own limits.
    eprintln!("machine limits in {}…", args.dir.display());
    let fsync = median_run(args.repeats, || {
        workload::fsync_rate(&args.dir, args.seconds)
    })?;
    let mut bandwidths = (0..args.repeats.max(1))
        .map(|_| workload::write_bandwidth(&args.dir, if args.smoke { 16 } else { 256 }))
        .collect::<Result<Vec<_>, _>>()?;
    bandwidths.sort_by(f64::total_cmp);
    let bandwidth = bandwidths[bandwidths.len() / 2];
    eprintln!(
        "  fsync {:.0}/s (p50 {:.3} ms); sequential write {bandwidth:.0} MB/s",
        fsync.per_second, fsync.p50_ms
    );

    // 2. Durable appends, sled and SQLite alternating so both see the same noise.
    let mut appends = Vec::new();
    for &batch in &args.batches {
        for &writers in &args.writers {
            let mut sled_runs = Vec::new();
            let mut sqlite_runs = Vec::new();
            for _ in 0..args.repeats.max(1) {
                sled_runs.push(runtime.block_on(workload::durable_appends(
                    &args.dir,
                    workload::Engine::Sled,
                    writers,
                    batch,
                    args.seconds,
                ))?);
                sqlite_runs.push(runtime.block_on(sqlite::durable_appends(
                    &args.dir,
                    writers,
                    batch,
                    args.seconds,
                ))?);
            }
            let (sled, sqlite) = (median_of(sled_runs), median_of(sqlite_runs));
            eprintln!(
                "  {writers:>3} writer(s) × {batch:>2} ev: sled {:.0} ev/s, SQLite {:.0} ev/s",
                sled.per_second, sqlite.per_second
            );
            appends.push(AppendRow {
                writers,
                events_per_append: batch,
                sled_over_sqlite: sled.per_second / sqlite.per_second.max(f64::EPSILON),
                sled,
                sqlite,
            });
        }
    }

    // 3. Replay at about a million events; 4./5. memory and queries at the big cohort.
    let replay = cohort_run(&args, args.replay_trajectories, false, &runtime)?;
    let large = cohort_run(&args, args.trajectories, true, &runtime)?;

    let machine = Machine {
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu: cpu_model(),
        memory_bytes: mem_total(),
        filesystem: filesystem(&args.dir),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        load_average_start: load_start,
        load_average_end: read_trimmed("/proc/loadavg"),
    };
    let results = json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "smoke": args.smoke,
        "machine": machine,
        "seconds_per_append_run": args.seconds,
        "repeats": args.repeats,
        "fsync": fsync,
        "sequential_write_mb_per_s": bandwidth,
        "appends": appends,
        "replay": replay,
        "large": large,
    });
    if let Some(parent) = args.json.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&results)?)?;

    print_table(&machine, &fsync, bandwidth, &appends, &replay, &large);
    eprintln!("wrote {}", args.json.display());
    Ok(())
}

fn median_of(mut runs: Vec<Summary>) -> Summary {
    runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

/// Loads the cohort of `trajectories` (bulk path; reusing a kept store) and measures it in a
/// child process.
fn cohort_run(
    args: &AllArgs,
    trajectories: u64,
    queries: bool,
    runtime: &tokio::runtime::Runtime,
) -> Result<CohortRun, AnyError> {
    let plan = LoadPlan {
        trajectories,
        seed: args.seed,
        today: args.today,
        writers: 64,
        bulk: true,
    };
    let store_dir = load::kept_store_dir(&args.dir, &plan);
    let load = if load::kept_cohort(&store_dir, &plan).is_some() {
        eprintln!("reusing the kept store {}", store_dir.display());
        None
    } else {
        eprintln!(
            "loading {trajectories} trajectories (bulk path) into {}…",
            store_dir.display()
        );
        let report = runtime
            .block_on(load::load(&store_dir, &plan))
            .map_err(|e| -> AnyError { e.to_string().into() })?;
        eprintln!(
            "  {} events in {:.1} s ({:.0} events/s)",
            report.events, report.seconds, report.events_per_second
        );
        Some(report)
    };
    let bytes_on_disk = load::dir_size(&store_dir)?;

    let out = tempfile::Builder::new()
        .prefix("measure-")
        .suffix(".json")
        .tempfile_in(&args.dir)?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("measure-store")
        .arg("--store")
        .arg(&store_dir)
        .arg("--today")
        .arg(args.today.to_string())
        .arg("--seed")
        .arg(args.seed.to_string())
        .arg("--trajectories")
        .arg(trajectories.to_string())
        .arg("--iterations")
        .arg(args.iterations.to_string())
        .arg("--repeats")
        .arg(if args.smoke { "1" } else { "3" })
        .arg("--concurrency-seconds")
        .arg(args.concurrency_seconds.to_string())
        .arg("--json")
        .arg(out.path());
    if queries {
        command.arg("--queries").arg("--skip-decomposition");
    }
    eprintln!("measuring {} in a fresh process…", store_dir.display());
    let status = command.status()?;
    if !status.success() {
        return Err(format!("measure-store failed on {}", store_dir.display()).into());
    }
    let report: StoreReport = serde_json::from_slice(&std::fs::read(out.path())?)?;
    if !args.keep {
        std::fs::remove_dir_all(&store_dir)?;
    }
    let events = report.events.max(1);
    Ok(CohortRun {
        trajectories,
        load,
        bytes_on_disk,
        bytes_on_disk_per_event: bytes_on_disk as f64 / events as f64,
        report,
    })
}

fn print_table(
    machine: &Machine,
    fsync: &Summary,
    bandwidth: f64,
    appends: &[AppendRow],
    replay: &CohortRun,
    large: &CohortRun,
) {
    let gb = |bytes: u64| bytes as f64 / 1e9;
    println!();
    println!(
        "machine: {} × {} cores, {:.1} GB RAM, {}; load average {} → {}",
        machine.cpu,
        machine.cores,
        gb(machine.memory_bytes),
        machine.filesystem,
        machine.load_average_start,
        machine.load_average_end
    );
    println!();
    println!("MACHINE LIMITS");
    println!(
        "  fsync of a 200-byte append            {:>10.0} /s   p50 {:.3} ms  p99 {:.3} ms",
        fsync.per_second, fsync.p50_ms, fsync.p99_ms
    );
    println!("  sequential write, 1 MiB + fdatasync   {bandwidth:>10.0} MB/s");
    println!();
    println!("DURABLE APPENDS (events/s; latency per append in ms)");
    println!(
        "  {:>7} {:>6} | {:>10} {:>8} {:>8} {:>9} | {:>10} {:>8} {:>8} | {:>8}",
        "writers",
        "ev/app",
        "sled ev/s",
        "p50",
        "p99",
        "×fsync/s",
        "SQLite",
        "p50",
        "p99",
        "sled/SQL"
    );
    for row in appends {
        println!(
            "  {:>7} {:>6} | {:>10.0} {:>8.3} {:>8.3} {:>8.2}× | {:>10.0} {:>8.3} {:>8.3} | {:>7.2}×",
            row.writers,
            row.events_per_append,
            row.sled.per_second,
            row.sled.p50_ms,
            row.sled.p99_ms,
            row.sled.per_second / fsync.per_second.max(f64::EPSILON),
            row.sqlite.per_second,
            row.sqlite.p50_ms,
            row.sqlite.p99_ms,
            row.sled_over_sqlite
        );
    }
    if let Some(single) = appends
        .iter()
        .find(|row| row.writers == 1 && row.events_per_append == 1)
    {
        println!(
            "  single-writer p50 = {:.2} × one fsync p50 (SQLite: {:.2} ×)",
            single.sled.p50_ms / fsync.p50_ms.max(f64::EPSILON),
            single.sqlite.p50_ms / fsync.p50_ms.max(f64::EPSILON)
        );
    }
    println!();
    println!("REPLAY (rebuild of every projection, AppState::start) AND DISK");
    println!(
        "  {:>12} {:>10} {:>9} {:>10} {:>11} {:>11} {:>9} {:>9} {:>9} {:>9}",
        "trajectories",
        "events",
        "rebuild s",
        "events/s",
        "read ev/s",
        "+decode",
        "peak MB",
        "disk B/ev",
        "JSON B/ev",
        "load ev/s"
    );
    for run in [replay, large] {
        let r = &run.report;
        let json_per_event = if r.raw_json_bytes > 0 {
            format!("{:.0}", r.raw_json_bytes as f64 / r.events.max(1) as f64)
        } else {
            "-".to_owned()
        };
        let rate = |x: f64| {
            if x > 0.0 {
                format!("{x:.0}")
            } else {
                "-".to_owned()
            }
        };
        println!(
            "  {:>12} {:>10} {:>9.1} {:>10.0} {:>11} {:>11} {:>9.0} {:>9.0} {:>9} {:>9}",
            r.trajectories,
            r.events,
            r.rebuild_seconds,
            r.rebuild_events_per_second,
            rate(r.read_all_events_per_second),
            rate(r.read_and_decode_events_per_second),
            r.memory_after_rebuild.hwm as f64 / 1e6,
            run.bytes_on_disk_per_event,
            json_per_event,
            run.load.as_ref().map_or("(kept)".to_owned(), |l| format!(
                "{:.0}",
                l.events_per_second
            )),
        );
    }
    let r = &large.report;
    println!();
    println!(
        "MEMORY at {} trajectories: RSS {:.0} MB before, {:.0} MB with the store open, {:.0} MB after the rebuild \
         (peak {:.0} MB), {:.0} MB {} s later: {:.0} bytes resident per trajectory, of which {:.0} the read models \
         (and the page cache's growth)",
        r.trajectories,
        r.memory_before.rss as f64 / 1e6,
        r.memory_after_open.rss as f64 / 1e6,
        r.memory_after_rebuild.rss as f64 / 1e6,
        r.memory_after_rebuild.hwm as f64 / 1e6,
        r.memory_settled.rss as f64 / 1e6,
        crate::measure::SETTLE.as_secs(),
        r.resident_bytes_per_trajectory,
        r.read_model_bytes_per_trajectory
    );
    if let Some(q) = &r.queries {
        println!();
        println!(
            "QUERIES at {} trajectories (p50 / p99 ms): over HTTP, one client, from the read models; \
             and the scan (every trajectory visited, in-process, no HTTP) in the same run",
            r.trajectories
        );
        println!(
            "  {:<38} {:>9} {:>9}   {:>9} {:>9}   {:>7}",
            "", "HTTP p50", "HTTP p99", "scan p50", "scan p99", "scan/p99"
        );
        for (name, latency, scan) in [
            ("one trajectory's timeline", &q.timeline, None),
            (
                "one team's waiting-time report",
                &q.team_waiting_times,
                Some(&q.scan.team_waiting_times),
            ),
            (
                "all-teams normalisation (a year)",
                &q.all_teams_normalisation,
                Some(&q.scan.all_teams_normalisation),
            ),
            (
                "all-teams waiting times a year back",
                &q.as_of_year_back,
                Some(&q.scan.as_of_year_back),
            ),
            (
                "one team's 24-month trend",
                &q.team_trend,
                Some(&q.scan.team_trend),
            ),
        ] {
            match scan {
                Some(scan) => println!(
                    "  {:<38} {:>9.2} {:>9.2}   {:>9.2} {:>9.2}   {:>6.1}×",
                    name,
                    latency.p50_ms,
                    latency.p99_ms,
                    scan.p50_ms,
                    scan.p99_ms,
                    scan.p99_ms / latency.p99_ms.max(f64::EPSILON)
                ),
                None => println!(
                    "  {:<38} {:>9.2} {:>9.2}",
                    name, latency.p50_ms, latency.p99_ms
                ),
            }
        }
        for run in &q.timeline_concurrent {
            println!(
                "  timeline, {:>3} connections: {:>8.0} requests/s (p50 {:.2} ms, p99 {:.2} ms)",
                run.connections, run.requests_per_second, run.p50_ms, run.p99_ms
            );
        }
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    read_trimmed("/proc/cpuinfo")
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split(':').nth(1))
        .map_or_else(|| "unknown CPU".to_owned(), |s| s.trim().to_owned())
}

fn mem_total() -> u64 {
    read_trimmed("/proc/meminfo")
        .lines()
        .find(|line| line.starts_with("MemTotal:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// "device fstype" of the file system holding `dir` (the longest mount point that prefixes it).
fn filesystem(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    read_trimmed("/proc/mounts")
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (device, mount, fstype) = (fields.next()?, fields.next()?, fields.next()?);
            dir.starts_with(mount).then(|| {
                (
                    mount.len(),
                    format!("{device} ({fstype}, mounted on {mount})"),
                )
            })
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, fs)| fs)
}
