//! `jeugdpad-bench`: how fast Jeugdpad durably appends, next to what this machine's disk allows.
//!
//! Every figure is measured in the same run as its baseline, because the machines this runs on
//! are shared and noisy: the ratio to the baseline means more than the absolute number. Each
//! configuration runs `--repeats` times on a fresh store and the table shows medians.
//!
//! ```text
//! cargo run --release -p jeugdpad-bench -- all               # the whole suite (docs/performance.md)
//! cargo run --release -p jeugdpad-bench -- all --smoke       # seconds; what CI runs
//! cargo run --release -p jeugdpad-bench -- all --no-postgres  # without a PostgreSQL server
//! cargo run --release -p jeugdpad-bench -- append            # the full run (about two minutes)
//! cargo run --release -p jeugdpad-bench -- append --smoke    # seconds; what CI runs
//! cargo run --release -p jeugdpad-bench -- load --trajectories 100000 --keep
//! cargo run --release -p jeugdpad-bench -- load --smoke      # 200 trajectories; what CI runs
//! cargo run --release -p jeugdpad-bench -- query --trajectories 100000 --keep
//! cargo run --release -p jeugdpad-bench -- query --smoke     # seconds; what CI runs
//! cargo run --release -p jeugdpad-bench -- soak --store target/bench-log/cohort-…  # 30 minutes
//! cargo run --release -p jeugdpad-bench -- access-log --entries 10000000
//! cargo run --release -p jeugdpad-bench -- access-log --smoke
//! ```

mod access_log;
mod all;
mod load;
mod measure;
mod postgres;
mod query;
mod soak;
mod sqlite;
mod stats;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::stats::Summary;

/// jemalloc hands the memory a rebuild frees back to the system; glibc's malloc keeps most of it
/// resident for good (docs/performance.md, "Memory").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmarks for Jeugdpad's event store.
#[derive(Debug, Parser)]
#[command(name = "jeugdpad-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The whole suite in one run: machine limits, durable appends next to a SQLite baseline,
    /// replay, memory and queries at a million trajectories; a table on stdout and JSON.
    All(all::AllArgs),
    /// (Used by `all`.) Rebuilds the read models of a kept cohort store in this fresh process and
    /// reports replay speed, memory and, with --queries, query latency over HTTP.
    #[command(hide = true)]
    MeasureStore(MeasureArgs),
    /// Durable appends per second with 1 and with many concurrent writers (group commit), next
    /// to the number of fsyncs per second this machine's disk manages.
    Append(AppendArgs),
    /// Records a synthetic cohort (jeugdpad-synth, the Purmerend-like scenario) through the
    /// application layer into a fresh store: events per second and bytes on disk per event.
    Load(LoadArgs),
    /// Starts the GraphQL API in-process on a store holding a synthetic cohort (a kept one from
    /// `load --keep`, or loaded first) and measures over real HTTP: the projection rebuild at
    /// start-up, and p50/p99 latency of a team's waiting-time report and of one timeline.
    Query(QueryArgs),
    /// Runs the real `jeugdpad serve` on a store under a long mixed load (consultants recording
    /// steps and reading timelines, team leads asking reports) and samples its resident memory:
    /// does it grow with the events appended, and how far would it reach at 20 M events?
    Soak(soak::SoakArgs),
    /// Imports N synthetic access-log entries (thousands of users, a million youths, three
    /// years), builds the access log's index from them (entries/s, bytes per entry) and measures
    /// the first page of an admin's inquiry by user, youth, trajectory and period over HTTP.
    AccessLog(AccessLogArgs),
}

#[derive(Debug, clap::Args)]
struct AccessLogArgs {
    /// Access-log entries in the store.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,

    /// Distinct users.
    #[arg(long, default_value_t = 3_000)]
    users: u64,

    /// Distinct youths (subject keys).
    #[arg(long, default_value_t = 1_000_000)]
    youths: u64,

    /// Days the entries are spread over, ending now.
    #[arg(long, default_value_t = 3 * 365)]
    days: i64,

    /// Inquiries per filter.
    #[arg(long, default_value_t = 200)]
    queries: usize,

    /// Directory the store is made in (DIR/access-log-N, kept for the next run).
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,

    /// Also time the first page by user the way `accessLog` answered before the index: by
    /// reading the whole `access-log` stream (the baseline, in the same run; it holds the whole
    /// stream in memory, about 1 KB per entry).
    #[arg(long)]
    scan_baseline: bool,

    /// A quick run that only proves the benchmark still works (CI): 2,000 entries, 20 inquiries
    /// each, in a directory removed afterwards.
    #[arg(long)]
    smoke: bool,

    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct CohortArgs {
    /// How many trajectories to generate and record.
    #[arg(long, default_value_t = 10_000)]
    trajectories: u64,

    /// The generator's seed: the same seed and `--today` give the same cohort.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// "Today" for the cohort (YYYY-MM-DD): no step is dated after it. Defaults to the real
    /// date; pin it to reuse a kept store on another day.
    #[arg(long)]
    today: Option<chrono::NaiveDate>,

    /// Directory on the disk to measure; the store is made in it.
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,

    /// Concurrent writer tasks; each records whole trajectories.
    #[arg(long, default_value_t = 64)]
    writers: usize,

    /// Decide each case's commands through the domain in memory and append the whole case at
    /// once (still validated; the same stored events), instead of `record` per command.
    #[arg(long)]
    bulk: bool,
}

impl CohortArgs {
    fn plan(&self) -> load::LoadPlan {
        load::LoadPlan {
            trajectories: self.trajectories,
            seed: self.seed,
            today: self
                .today
                .unwrap_or_else(|| jeugdpad_app::Clock::system().today()),
            writers: self.writers,
            bulk: self.bulk,
        }
    }
}

#[derive(Debug, clap::Args)]
struct LoadArgs {
    #[command(flatten)]
    cohort: CohortArgs,

    /// Keep the store (in DIR/cohort-N-seed-S-TODAY) so `query` can reuse it; otherwise it is
    /// removed after the run.
    #[arg(long)]
    keep: bool,

    /// A quick run that only proves the benchmark still works (CI): 200 trajectories, and the
    /// store verified afterwards.
    #[arg(long)]
    smoke: bool,

    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct AppendArgs {
    /// Directory on the disk to measure; a fresh store is made in it for every run and removed
    /// afterwards. Use the disk the real data directory will live on.
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,

    /// Seconds each configuration runs.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,

    /// How many times each configuration runs; the table shows the median run.
    #[arg(long, default_value_t = 3)]
    repeats: usize,

    /// Concurrent writer counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 64])]
    writers: Vec<usize>,

    /// Events per append (an atomic batch).
    #[arg(long, default_value_t = 1)]
    batch: usize,

    /// The store engine: the segment log (new data directories), sled (older ones) or
    /// PostgreSQL. Unless it is PostgreSQL or --no-postgres is given, PostgreSQL is measured in
    /// the same run too, runs alternating.
    #[arg(long, value_enum, default_value_t = workload::Engine::Log)]
    engine: workload::Engine,

    /// The PostgreSQL server (each run in a fresh schema, dropped after).
    #[arg(long, value_name = "URL", default_value = postgres::DEFAULT_URL)]
    postgres: String,

    /// Leave PostgreSQL out (a machine without a server).
    #[arg(long)]
    no_postgres: bool,

    /// A quick run that only proves the benchmark still works (CI): short, one repeat.
    #[arg(long)]
    smoke: bool,

    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct QueryArgs {
    #[command(flatten)]
    cohort: CohortArgs,

    /// Keep the store (in DIR/cohort-N-seed-S-TODAY) when it had to be loaded first.
    #[arg(long)]
    keep: bool,

    /// Requests per run and query.
    #[arg(long, default_value_t = 1_000)]
    iterations: usize,

    /// Runs per query; the table shows the median run's percentiles.
    #[arg(long, default_value_t = 3)]
    repeats: usize,

    /// The team whose waiting-time report is measured.
    #[arg(long, default_value = "noord")]
    team: String,

    /// A quick run that only proves the benchmark still works (CI): 200 trajectories, few
    /// requests.
    #[arg(long)]
    smoke: bool,

    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct MeasureArgs {
    #[arg(long)]
    store: PathBuf,
    #[arg(long)]
    today: chrono::NaiveDate,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    trajectories: u64,
    #[arg(long)]
    queries: bool,
    #[arg(long)]
    skip_decomposition: bool,
    #[arg(long, default_value_t = 500)]
    iterations: usize,
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    #[arg(long, default_value = "noord")]
    team: String,
    #[arg(long, value_delimiter = ',', default_values_t = vec![16, 64])]
    concurrency: Vec<usize>,
    #[arg(long, default_value_t = 5.0)]
    concurrency_seconds: f64,
    #[arg(long)]
    json: PathBuf,
    /// Replay from this PostgreSQL server (with --schema); --store is then the node's directory.
    #[arg(long, requires = "schema")]
    postgres: Option<String>,
    #[arg(long)]
    schema: Option<String>,
    #[arg(long)]
    no_settle: bool,
}

fn run_measure(args: MeasureArgs) -> Result<(), Box<dyn std::error::Error>> {
    let plan = load::LoadPlan {
        trajectories: args.trajectories,
        seed: args.seed,
        today: args.today,
        writers: 1,
        bulk: true,
    };
    let trajectories: Vec<String> = load::cohort(&plan)?
        .take(256)
        .map(|case| case.trajectory.to_string())
        .collect();
    let measure_plan = measure::MeasurePlan {
        today: args.today,
        queries: args.queries,
        query: query::QueryPlan {
            iterations: args.iterations,
            repeats: args.repeats,
            team: args.team,
        },
        concurrency: args.concurrency,
        concurrency_seconds: args.concurrency_seconds,
        skip_decomposition: args.skip_decomposition,
        postgres: args.postgres.zip(args.schema),
        no_settle: args.no_settle,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(measure::measure(&args.store, &measure_plan, &trajectories))
        .map_err(|e| -> Box<dyn std::error::Error> { e })?;
    std::fs::write(&args.json, serde_json::to_vec_pretty(&report)?)?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::All(args) => all::run(args),
        Command::MeasureStore(args) => run_measure(args),
        Command::Append(args) => run_append(args),
        Command::Load(args) => run_load(args),
        Command::Query(args) => run_query(args),
        Command::Soak(args) => run_soak(args),
        Command::AccessLog(args) => run_access_log(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("jeugdpad-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run_access_log(args: AccessLogArgs) -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let plan = access_log::Plan {
        entries: if args.smoke { 2_000 } else { args.entries },
        users: if args.smoke { 50 } else { args.users },
        youths: if args.smoke { 500 } else { args.youths },
        days: args.days,
        queries: if args.smoke { 20 } else { args.queries },
        scan_baseline: args.scan_baseline || args.smoke,
        dir: if args.smoke {
            scratch.path().to_path_buf()
        } else {
            args.dir.clone()
        },
    };
    std::fs::create_dir_all(&plan.dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(access_log::run(&plan))
        .map_err(|error| -> Box<dyn std::error::Error> { error })?;
    let command = format!(
        "jeugdpad-bench access-log --entries {} --users {} --youths {} --days {} --queries {}",
        plan.entries, plan.users, plan.youths, plan.days, plan.queries
    );
    access_log::print(&report, &command);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn run_append(mut args: AppendArgs) -> Result<(), Box<dyn std::error::Error>> {
    if args.smoke {
        args.seconds = args.seconds.min(0.5);
        args.repeats = 1;
    }
    std::fs::create_dir_all(&args.dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    eprintln!(
        "measuring in {} ({} s per run, {} runs each)…",
        args.dir.display(),
        args.seconds,
        args.repeats
    );
    let fsync = median_run(args.repeats, || {
        workload::fsync_rate(&args.dir, args.seconds)
    })?;
    eprintln!("  fsync baseline: {:.0}/s", fsync.per_second);

    let mut engines = vec![args.engine];
    if !args.no_postgres && args.engine != workload::Engine::Postgres {
        engines.push(workload::Engine::Postgres);
    }
    let mut rows = Vec::new();
    for &writers in &args.writers {
        // The engines' runs alternate, so every engine sees the same noise.
        let mut runs = vec![Vec::new(); engines.len()];
        for _ in 0..args.repeats.max(1) {
            for (engine, runs) in engines.iter().zip(&mut runs) {
                runs.push(runtime.block_on(workload::durable_appends(
                    &args.dir,
                    *engine,
                    &args.postgres,
                    writers,
                    args.batch,
                    args.seconds,
                ))?);
            }
        }
        for (engine, runs) in engines.iter().zip(runs) {
            let run = all::median_of(runs);
            eprintln!(
                "  {writers} writer(s), {}: {:.0} events/s",
                engine.label(),
                run.per_second
            );
            rows.push((writers, *engine, run));
        }
    }

    print_table(&fsync, &rows, args.batch);
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
            "seconds_per_run": args.seconds,
            "repeats": args.repeats,
            "engines": engines,
            "fsync": fsync,
            "appends": rows.iter().map(|(writers, engine, run)| serde_json::json!({
                "writers": writers, "engine": engine, "events_per_append": args.batch, "result": run,
            })).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn run_load(mut args: LoadArgs) -> Result<(), Box<dyn std::error::Error>> {
    if args.smoke {
        args.cohort.trajectories = args.cohort.trajectories.min(200);
    }
    let plan = args.cohort.plan();
    std::fs::create_dir_all(&args.cohort.dir)?;
    // Without --keep the store lives in a scratch directory that is removed afterwards.
    let scratch = tempfile::Builder::new()
        .prefix("load-")
        .tempdir_in(&args.cohort.dir)?;
    let store_dir = if args.keep {
        load::kept_store_dir(&args.cohort.dir, &plan)
    } else {
        scratch.path().join("store")
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    eprintln!(
        "loading {} synthetic trajectories (seed {}, today {}) with {} writers into {}…",
        plan.trajectories,
        plan.seed,
        plan.today,
        plan.writers,
        store_dir.display()
    );
    let report = runtime
        .block_on(load::load(&store_dir, &plan))
        .map_err(|error| -> Box<dyn std::error::Error> { error })?;
    if args.smoke {
        let verified = jeugdpad_store::verify_dir(&store_dir)?;
        if !verified.is_ok() {
            return Err(
                format!("the store failed verification after the load: {verified:?}").into(),
            );
        }
    }

    println!();
    println!(
        "{:<14} {:>10} {:>10} {:>12} {:>14} {:>14} {:>10}",
        "trajectories",
        "events",
        "seconds",
        "events/s",
        "trajectories/s",
        "bytes on disk",
        "B/event"
    );
    println!(
        "{:<14} {:>10} {:>10.1} {:>12.0} {:>14.0} {:>14} {:>10.0}",
        report.trajectories,
        report.events,
        report.seconds,
        report.events_per_second,
        report.trajectories_per_second,
        report.bytes_on_disk,
        report.bytes_per_event
    );
    if args.keep {
        eprintln!("kept the store in {}", store_dir.display());
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
            "seed": plan.seed,
            "today": plan.today,
            "load": report,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn run_query(mut args: QueryArgs) -> Result<(), Box<dyn std::error::Error>> {
    if args.smoke {
        args.cohort.trajectories = args.cohort.trajectories.min(200);
        args.iterations = args.iterations.min(20);
        args.repeats = 1;
    }
    let plan = args.cohort.plan();
    std::fs::create_dir_all(&args.cohort.dir)?;
    let scratch = tempfile::Builder::new()
        .prefix("query-")
        .tempdir_in(&args.cohort.dir)?;
    let kept = load::kept_store_dir(&args.cohort.dir, &plan);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let boxed =
        |error: Box<dyn std::error::Error + Send + Sync>| -> Box<dyn std::error::Error> { error };

    let store_dir = if load::kept_cohort(&kept, &plan).is_some() {
        eprintln!("reusing the kept store in {}", kept.display());
        kept
    } else {
        let store_dir = if args.keep {
            kept
        } else {
            scratch.path().join("store")
        };
        eprintln!(
            "loading {} synthetic trajectories (seed {}, today {}) into {} first…",
            plan.trajectories,
            plan.seed,
            plan.today,
            store_dir.display()
        );
        let report = runtime
            .block_on(load::load(&store_dir, &plan))
            .map_err(boxed)?;
        eprintln!(
            "  loaded {} events in {:.1} s ({:.0} events/s)",
            report.events, report.seconds, report.events_per_second
        );
        store_dir
    };

    // The timeline query cycles through the cohort's first trajectories.
    let trajectories: Vec<String> = load::cohort(&plan)?
        .take(256)
        .map(|case| case.trajectory.to_string())
        .collect();
    let query_plan = query::QueryPlan {
        iterations: args.iterations,
        repeats: args.repeats,
        team: args.team.clone(),
    };
    eprintln!(
        "starting the API and measuring ({} requests × {} runs per query)…",
        query_plan.iterations, query_plan.repeats
    );
    let report = runtime
        .block_on(query::measure(
            &store_dir,
            &plan,
            &query_plan,
            &trajectories,
        ))
        .map_err(boxed)?;

    println!();
    println!(
        "store: {} events; projection rebuild at start-up {:.2} s ({:.0} events/s)",
        report.events, report.rebuild_seconds, report.rebuild_events_per_second
    );
    println!(
        "{:<44} {:>10} {:>10} {:>12}",
        "query over HTTP (loopback)", "p50 ms", "p99 ms", "bytes"
    );
    for (name, latency) in [
        (
            format!("waiting-time report, team {}", args.team),
            &report.waiting_times,
        ),
        ("one trajectory's timeline".to_owned(), &report.timeline),
    ] {
        println!(
            "{:<44} {:>10.2} {:>10.2} {:>12}",
            name, latency.p50_ms, latency.p99_ms, latency.response_bytes
        );
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
            "trajectories": plan.trajectories,
            "seed": plan.seed,
            "today": plan.today,
            "query": report,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Runs `measure` `repeats` times and keeps the run with the median rate.
pub(crate) fn median_run(
    repeats: usize,
    mut measure: impl FnMut() -> Result<Summary, Box<dyn std::error::Error>>,
) -> Result<Summary, Box<dyn std::error::Error>> {
    let mut runs = (0..repeats.max(1))
        .map(|_| measure())
        .collect::<Result<Vec<_>, _>>()?;
    runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    let middle = runs.len() / 2;
    Ok(runs.swap_remove(middle))
}

fn print_table(fsync: &Summary, rows: &[(usize, workload::Engine, Summary)], batch: usize) {
    println!();
    println!(
        "{:<34} {:>12} {:>10} {:>10} {:>12}",
        "workload", "per second", "p50 ms", "p99 ms", "vs fsync/s"
    );
    println!(
        "{:<34} {:>12.0} {:>10.3} {:>10.3} {:>12}",
        "fsync of a small append (baseline)", fsync.per_second, fsync.p50_ms, fsync.p99_ms, "1.00×"
    );
    for (writers, engine, run) in rows {
        println!(
            "{:<34} {:>12.0} {:>10.3} {:>10.3} {:>11.2}×",
            format!("{}, {writers} writer(s), {batch} ev", engine.label()),
            run.per_second,
            run.p50_ms,
            run.p99_ms,
            run.per_second / fsync.per_second
        );
    }
    for (_, engine, single) in rows.iter().filter(|(writers, _, _)| *writers == 1) {
        println!(
            "single-writer append p50, {} = {:.2} × one fsync p50",
            engine.label(),
            single.p50_ms / fsync.p50_ms
        );
    }
}

fn run_soak(args: soak::SoakArgs) -> Result<(), Box<dyn std::error::Error>> {
    let report = soak::run(args).map_err(|e| -> Box<dyn std::error::Error> { e })?;
    let mb = |bytes: f64| bytes / f64::from(1u32 << 20);
    println!(
        "SOAK {} events appended ({} trajectories opened, {} steps, {} timelines, {} reports)",
        report.events_appended,
        report.trajectories_opened,
        report.steps_recorded,
        report.timelines_read,
        report.reports_read
    );
    println!(
        "SOAK RSS {:.0} MB after warm-up, {:.0} MB at the end; slope after warm-up {:.1} bytes/event (heap {:.1}; {:.1} per step); at {} events: {:.0} MB",
        mb(report.rss_after_warm_up as f64),
        mb(report.rss_at_end as f64),
        report.rss_bytes_per_event,
        report.anon_bytes_per_event,
        report.anon_bytes_per_step,
        report.project_events,
        mb(report.projected_rss_bytes)
    );
    Ok(())
}
