//! `all`: the whole suite in one reproducible run — the machine's own limits, durable appends
//! against a SQLite baseline, replay, memory and queries — printed as one table and written as
//! JSON. Every ratio compares figures measured in this same run.
//!
//! PostgreSQL runs beside the embedded store unless `--no-postgres` is given: appends in a fresh
//! schema per run, replay of the same cohort copied into a schema, and the delay with which a
//! second node sees the first one's appends.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::load::{self, LoadPlan, LoadReport};
use crate::measure::StoreReport;
use crate::postgres::{self, CopyReport, Propagation};
use crate::stats::Summary;
use crate::workload::Engine;
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

    /// Runs per append configuration (the engines alternate); the table shows the median.
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

    /// Leave out the query and memory cohort (--trajectories): appends, replay and the
    /// PostgreSQL figures only.
    #[arg(long)]
    pub skip_large: bool,

    /// The embedded engine the appends run on (the segment log: what new data directories get).
    #[arg(long, value_enum, default_value_t = Engine::Log)]
    pub engine: Engine,

    /// The PostgreSQL server measured beside the embedded store (every run in a fresh schema,
    /// dropped after).
    #[arg(long, value_name = "URL", default_value = postgres::DEFAULT_URL)]
    pub postgres: String,

    /// Leave PostgreSQL out (a machine without a server).
    #[arg(long)]
    pub no_postgres: bool,

    /// Appends per second on node A while the two-node delay is measured.
    #[arg(long, default_value_t = 200.0)]
    pub propagation_rate: f64,

    /// Seconds of the two-node delay run.
    #[arg(long, default_value_t = 5.0)]
    pub propagation_seconds: f64,

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
    /// Which embedded engine `embedded` ran on.
    engine: Engine,
    embedded: Summary,
    sqlite: Summary,
    postgres: Option<Summary>,
    embedded_over_sqlite: f64,
    postgres_over_sqlite: Option<f64>,
    postgres_over_embedded: Option<f64>,
}

#[derive(Debug, Serialize)]
struct CohortRun {
    trajectories: u64,
    load: Option<LoadReport>,
    bytes_on_disk: u64,
    bytes_on_disk_per_event: f64,
    report: StoreReport,
    /// The same log copied into a PostgreSQL schema and replayed from there.
    postgres: Option<PostgresReplay>,
}

#[derive(Debug, Serialize)]
struct PostgresReplay {
    copy: CopyReport,
    report: StoreReport,
    /// PostgreSQL's rebuild events/s over the embedded store's, same cohort, same run.
    rebuild_over_embedded: f64,
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
        args.propagation_seconds = 0.5;
    }
    if args.engine == Engine::Postgres {
        return Err("--engine names the embedded engine (log or sled); PostgreSQL runs beside it unless --no-postgres".into());
    }
    let postgres_url = (!args.no_postgres).then(|| args.postgres.clone());
    if let Some(url) = &postgres_url {
        // Fails early, with a hint, when no server answers.
        drop(postgres::ScratchSchema::new(url)?);
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

    // 2. Durable appends: the embedded store, PostgreSQL and SQLite alternating, so all see the
    // same noise.
    let mut appends = Vec::new();
    for &batch in &args.batches {
        for &writers in &args.writers {
            let mut embedded_runs = Vec::new();
            let mut postgres_runs = Vec::new();
            let mut sqlite_runs = Vec::new();
            for _ in 0..args.repeats.max(1) {
                embedded_runs.push(runtime.block_on(workload::durable_appends(
                    &args.dir,
                    args.engine,
                    &args.postgres,
                    writers,
                    batch,
                    args.seconds,
                ))?);
                if postgres_url.is_some() {
                    postgres_runs.push(runtime.block_on(workload::durable_appends(
                        &args.dir,
                        Engine::Postgres,
                        &args.postgres,
                        writers,
                        batch,
                        args.seconds,
                    ))?);
                }
                sqlite_runs.push(runtime.block_on(sqlite::durable_appends(
                    &args.dir,
                    writers,
                    batch,
                    args.seconds,
                ))?);
            }
            let (embedded, sqlite) = (median_of(embedded_runs), median_of(sqlite_runs));
            let postgres = (!postgres_runs.is_empty()).then(|| median_of(postgres_runs));
            eprintln!(
                "  {writers:>3} writer(s) × {batch:>2} ev: {} {:.0} ev/s, PostgreSQL {}, SQLite {:.0} ev/s",
                args.engine.label(),
                embedded.per_second,
                postgres
                    .as_ref()
                    .map_or("-".to_owned(), |p| format!("{:.0} ev/s", p.per_second)),
                sqlite.per_second
            );
            let ratio = |a: &Summary, b: &Summary| a.per_second / b.per_second.max(f64::EPSILON);
            appends.push(AppendRow {
                writers,
                events_per_append: batch,
                engine: args.engine,
                embedded_over_sqlite: ratio(&embedded, &sqlite),
                postgres_over_sqlite: postgres.as_ref().map(|p| ratio(p, &sqlite)),
                postgres_over_embedded: postgres.as_ref().map(|p| ratio(p, &embedded)),
                embedded,
                sqlite,
                postgres,
            });
        }
    }

    // 3. Replay at about a million events; 4./5. memory and queries at the big cohort.
    let replay = cohort_run(
        &args,
        args.replay_trajectories,
        false,
        postgres_url.as_deref(),
        &runtime,
    )?;
    // 6. Two nodes on one PostgreSQL schema: how soon B sees what A appended.
    let propagation = match &postgres_url {
        Some(url) => {
            eprintln!(
                "two nodes on one PostgreSQL schema: A appends {:.0}/s for {} s, B subscribes…",
                args.propagation_rate, args.propagation_seconds
            );
            let run = runtime.block_on(postgres::propagation(
                url,
                &args.dir,
                args.propagation_rate,
                args.propagation_seconds,
            ))?;
            eprintln!(
                "  {} events, A→B p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                run.events, run.p50_ms, run.p99_ms, run.max_ms
            );
            Some(run)
        }
        None => None,
    };
    let large = if args.skip_large {
        None
    } else {
        Some(cohort_run(&args, args.trajectories, true, None, &runtime)?)
    };

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
        "propagation": propagation,
        "large": large,
    });
    if let Some(parent) = args.json.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&results)?)?;

    print_table(
        &machine,
        &fsync,
        bandwidth,
        &appends,
        &replay,
        propagation.as_ref(),
        large.as_ref(),
    );
    eprintln!("wrote {}", args.json.display());
    Ok(())
}

pub(crate) fn median_of(mut runs: Vec<Summary>) -> Summary {
    runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

/// Loads the cohort of `trajectories` (bulk path; reusing a kept store) and measures it in a
/// child process; with `postgres`, copies its log into a fresh schema and measures the replay
/// from there the same way.
fn cohort_run(
    args: &AllArgs,
    trajectories: u64,
    queries: bool,
    postgres: Option<&str>,
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

    // Every timeline the queries ask appends its access-log entry: a kept store is measured
    // through a scratch copy, so that the next run finds the cohort as it was loaded.
    let report = if queries && args.keep {
        let scratch = tempfile::Builder::new()
            .prefix("cohort-copy-")
            .tempdir_in(&args.dir)?;
        copy_dir(&store_dir, scratch.path())?;
        measure_child(args, scratch.path(), trajectories, queries, None)?
    } else {
        measure_child(args, &store_dir, trajectories, queries, None)?
    };
    let postgres = match postgres {
        Some(url) => {
            eprintln!("copying the log into a fresh PostgreSQL schema…");
            let node = tempfile::Builder::new()
                .prefix("pg-node-")
                .tempdir_in(&args.dir)?;
            let (schema, copy) = postgres::copy_log(&store_dir, url, node.path(), runtime)?;
            eprintln!(
                "  {} events in {:.1} s ({:.0} events/s; verify {:.1} s; same chain head: {})",
                copy.events,
                copy.seconds,
                copy.events_per_second,
                copy.verify_seconds,
                copy.same_chain_head
            );
            let pg_report = measure_child(
                args,
                node.path(),
                trajectories,
                false,
                Some((url, schema.name())),
            )?;
            drop(schema);
            Some(PostgresReplay {
                rebuild_over_embedded: pg_report.rebuild_events_per_second
                    / report.rebuild_events_per_second.max(f64::EPSILON),
                copy,
                report: pg_report,
            })
        }
        None => None,
    };
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
        postgres,
    })
}

/// Copies the directory tree `from` into the existing directory `to`.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Runs `measure-store` on a cohort store in a child process (so its memory figures are its own):
/// the embedded store in `store_dir`, or with `postgres` (URL, schema) the log in that schema.
fn measure_child(
    args: &AllArgs,
    store_dir: &Path,
    trajectories: u64,
    queries: bool,
    postgres: Option<(&str, &str)>,
) -> Result<StoreReport, AnyError> {
    let out = tempfile::Builder::new()
        .prefix("measure-")
        .suffix(".json")
        .tempfile_in(&args.dir)?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("measure-store")
        .arg("--store")
        .arg(store_dir)
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
    if let Some((url, schema)) = postgres {
        command
            .arg("--postgres")
            .arg(url)
            .arg("--schema")
            .arg(schema)
            // Only the replay speed is compared; the memory figures are the embedded store's.
            .arg("--no-settle");
    }
    eprintln!("measuring {} in a fresh process…", store_dir.display());
    let status = command.status()?;
    if !status.success() {
        return Err(format!("measure-store failed on {}", store_dir.display()).into());
    }
    let report: StoreReport = serde_json::from_slice(&std::fs::read(out.path())?)?;
    Ok(report)
}

fn print_table(
    machine: &Machine,
    fsync: &Summary,
    bandwidth: f64,
    appends: &[AppendRow],
    replay: &CohortRun,
    propagation: Option<&Propagation>,
    large: Option<&CohortRun>,
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
    let engine = appends.first().map_or("embedded", |row| row.engine.label());
    println!(
        "DURABLE APPENDS (events/s; latency per append in ms; embedded = {engine}; ×fsync = embedded over fsync/s)"
    );
    println!(
        "  {:>7} {:>6} | {:>10} {:>8} {:>8} {:>8} | {:>10} {:>8} {:>8} | {:>10} {:>8} {:>8} | {:>8} {:>8} {:>8}",
        "writers",
        "ev/app",
        "embedded",
        "p50",
        "p99",
        "×fsync",
        "PostgreSQL",
        "p50",
        "p99",
        "SQLite",
        "p50",
        "p99",
        "emb/SQL",
        "PG/SQL",
        "PG/emb"
    );
    let dash = || "-".to_owned();
    for row in appends {
        let pg = row.postgres.as_ref();
        println!(
            "  {:>7} {:>6} | {:>10.0} {:>8.3} {:>8.3} {:>7.2}× | {:>10} {:>8} {:>8} | {:>10.0} {:>8.3} {:>8.3} | {:>7.2}× {:>8} {:>8}",
            row.writers,
            row.events_per_append,
            row.embedded.per_second,
            row.embedded.p50_ms,
            row.embedded.p99_ms,
            row.embedded.per_second / fsync.per_second.max(f64::EPSILON),
            pg.map_or_else(dash, |p| format!("{:.0}", p.per_second)),
            pg.map_or_else(dash, |p| format!("{:.3}", p.p50_ms)),
            pg.map_or_else(dash, |p| format!("{:.3}", p.p99_ms)),
            row.sqlite.per_second,
            row.sqlite.p50_ms,
            row.sqlite.p99_ms,
            row.embedded_over_sqlite,
            row.postgres_over_sqlite
                .map_or_else(dash, |r| format!("{r:.2}×")),
            row.postgres_over_embedded
                .map_or_else(dash, |r| format!("{r:.2}×")),
        );
    }
    let splits: Vec<_> = appends
        .iter()
        .filter_map(|row| {
            let split = row.postgres.as_ref()?.writer.as_ref()?;
            Some(format!(
                "{}×{}: {:.1} ev/group, {:.2} + {:.2} ms",
                row.writers,
                row.events_per_append,
                split.events_per_group,
                split.before_sync_ms,
                split.sync_ms
            ))
        })
        .collect();
    if !splits.is_empty() {
        println!(
            "  PostgreSQL writer per group (writers×ev/app: events per transaction, ms BEGIN, lock, look-ups + ms writes with COMMIT):"
        );
        for chunk in splits.chunks(4) {
            println!("    {}", chunk.join("; "));
        }
    }
    if let Some(single) = appends
        .iter()
        .find(|row| row.writers == 1 && row.events_per_append == 1)
    {
        println!(
            "  single-writer p50 = {:.2} × one fsync p50 (PostgreSQL: {}, SQLite: {:.2} ×)",
            single.embedded.p50_ms / fsync.p50_ms.max(f64::EPSILON),
            single.postgres.as_ref().map_or_else(dash, |p| format!(
                "{:.2} ×",
                p.p50_ms / fsync.p50_ms.max(f64::EPSILON)
            )),
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
    let mut rows = vec![(replay.report.clone(), replay, "")];
    if let Some(pg) = &replay.postgres {
        rows.push((pg.report.clone(), replay, " (PostgreSQL)"));
    }
    if let Some(large) = large {
        rows.push((large.report.clone(), large, ""));
    }
    for (r, run, source) in &rows {
        let postgres = !source.is_empty();
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
            "  {:>12} {:>10} {:>9.1} {:>10.0} {:>11} {:>11} {:>9.0} {:>9} {:>9} {:>9}{source}",
            r.trajectories,
            r.events,
            r.rebuild_seconds,
            r.rebuild_events_per_second,
            rate(r.read_all_events_per_second),
            rate(r.read_and_decode_events_per_second),
            r.memory_after_rebuild.hwm as f64 / 1e6,
            if postgres {
                "-".to_owned()
            } else {
                format!("{:.0}", run.bytes_on_disk_per_event)
            },
            json_per_event,
            match (&run.postgres, postgres) {
                (Some(pg), true) => format!("{:.0}", pg.copy.events_per_second),
                _ => run.load.as_ref().map_or("(kept)".to_owned(), |l| format!(
                    "{:.0}",
                    l.events_per_second
                )),
            },
        );
    }
    if let Some(pg) = &replay.postgres {
        println!(
            "  replay from PostgreSQL = {:.2} × the embedded store's ({} events copied with import_batch at \
             {:.0} events/s, its \"load ev/s\"; same chain head: {})",
            pg.rebuild_over_embedded, pg.copy.events, pg.copy.events_per_second, pg.copy.same_chain_head
        );
    }
    if let Some(p) = propagation {
        println!();
        println!(
            "TWO NODES ON ONE POSTGRESQL SCHEMA: node A appends one event per append ({:.0}/s asked, {:.0}/s reached, \
             {} events, A's append p50 {:.2} ms); acknowledged on A → delivered by B's subscription:",
            p.target_rate, p.achieved_rate, p.events, p.append_p50_ms
        );
        println!(
            "  p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms   ({} delivered on B before A's acknowledgement, counted as 0)",
            p.p50_ms, p.p99_ms, p.max_ms, p.delivered_before_ack
        );
    }
    let Some(large) = large else { return };
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
