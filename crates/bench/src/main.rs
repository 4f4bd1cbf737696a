//! `jeugdpad-bench`: how fast Jeugdpad durably appends, next to what this machine's disk allows.
//!
//! Every figure is measured in the same run as its baseline, because the machines this runs on
//! are shared and noisy: the ratio to the baseline means more than the absolute number. Each
//! configuration runs `--repeats` times on a fresh store and the table shows medians.
//!
//! ```text
//! cargo run --release -p jeugdpad-bench -- append            # the full run (about a minute)
//! cargo run --release -p jeugdpad-bench -- append --smoke    # seconds; what CI runs
//! ```

mod stats;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::stats::Summary;

/// Benchmarks for Jeugdpad's event store.
#[derive(Debug, Parser)]
#[command(name = "jeugdpad-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Durable appends per second with 1 and with many concurrent writers (group commit), next
    /// to the number of fsyncs per second this machine's disk manages.
    Append(AppendArgs),
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

    /// A quick run that only proves the benchmark still works (CI): short, one repeat.
    #[arg(long)]
    smoke: bool,

    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Append(args) => run_append(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("jeugdpad-bench: {error}");
            ExitCode::FAILURE
        }
    }
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

    let mut rows = Vec::new();
    for &writers in &args.writers {
        let run = median_run(args.repeats, || {
            runtime.block_on(workload::durable_appends(
                &args.dir,
                writers,
                args.batch,
                args.seconds,
            ))
        })?;
        eprintln!("  {writers} writer(s): {:.0} events/s", run.per_second);
        rows.push((writers, run));
    }

    print_table(&fsync, &rows, args.batch);
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
            "seconds_per_run": args.seconds,
            "repeats": args.repeats,
            "fsync": fsync,
            "appends": rows.iter().map(|(writers, run)| serde_json::json!({
                "writers": writers, "events_per_append": args.batch, "result": run,
            })).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Runs `measure` `repeats` times and keeps the run with the median rate.
fn median_run(
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

fn print_table(fsync: &Summary, rows: &[(usize, Summary)], batch: usize) {
    println!();
    println!(
        "{:<34} {:>12} {:>10} {:>10} {:>12}",
        "workload", "per second", "p50 ms", "p99 ms", "vs fsync/s"
    );
    println!(
        "{:<34} {:>12.0} {:>10.3} {:>10.3} {:>12}",
        "fsync of a small append (baseline)", fsync.per_second, fsync.p50_ms, fsync.p99_ms, "1.00×"
    );
    for (writers, run) in rows {
        println!(
            "{:<34} {:>12.0} {:>10.3} {:>10.3} {:>11.2}×",
            format!("durable appends, {writers} writer(s), {batch} ev"),
            run.per_second,
            run.p50_ms,
            run.p99_ms,
            run.per_second / fsync.per_second
        );
    }
    if let Some((_, single)) = rows.iter().find(|(writers, _)| *writers == 1) {
        println!(
            "\nsingle-writer append p50 = {:.2} × one fsync p50",
            single.p50_ms / fsync.p50_ms
        );
    }
}
