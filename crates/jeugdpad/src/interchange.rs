//! `jeugdpad seed|import|export`: argument handling, the progress bar and the reports. The work
//! is `jeugdpad_interchange`'s.

use std::error::Error;
use std::io::BufReader;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use jeugdpad_domain::DateRule;
use jeugdpad_interchange::{ExportFormat, ExportOptions, ExportWhat, ImportOptions, SeedOptions};
use jeugdpad_store::{EventStore, Store};
use jeugdpad_synth::Scenario;

use crate::cli::{ExportArgs, Format, ImportArgs, SeedArgs, What};
use crate::store::{Location, Missing};

fn today() -> chrono::NaiveDate {
    jeugdpad_app::Clock::system().today()
}

/// Opens the store for a one-off command that needs it to itself.
fn open(at: &Location, missing: Missing) -> Result<Store, Box<dyn Error>> {
    Ok(crate::store::open(
        at,
        missing,
        crate::store::STOP_THE_SERVER,
    )?)
}

/// `n` with the noun that fits it: "1 stream", "2 streams".
pub(crate) fn count<N: std::fmt::Display + PartialEq + From<u8>>(
    n: N,
    one: &str,
    many: &str,
) -> String {
    let noun = if n == N::from(1) { one } else { many };
    format!("{n} {noun}")
}

pub(crate) fn bar(length: Option<u64>, what: &str) -> ProgressBar {
    let bar = match length {
        Some(length) => ProgressBar::new(length),
        None => ProgressBar::new_spinner(),
    };
    let template = if length.is_some() {
        format!("{{spinner}} {what} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} ({{per_sec}}, eta {{eta}})")
    } else {
        format!("{{spinner}} {what} [{{elapsed_precise}}] {{human_pos}} ({{per_sec}})")
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The scenario `seed` uses: the file given, or the built-in one, with `--trajectories` applied.
pub fn scenario(args: &SeedArgs) -> Result<Scenario, Box<dyn Error>> {
    let mut scenario = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            toml::from_str::<Scenario>(&text)
                .map_err(|e| format!("{} is not a usable scenario: {e}", path.display()))?
        }
        None => Scenario::default(),
    };
    if let Some(count) = args.trajectories {
        scenario.count = Some(count);
    }
    Ok(scenario)
}

pub fn seed(at: &Location, args: &SeedArgs) -> Result<ExitCode, Box<dyn Error>> {
    let scenario = scenario(args)?;
    let options = SeedOptions {
        scenario,
        seed: args.seed,
        today: args.today.unwrap_or_else(today),
        recorded_by: "synthetic-seed".into(),
        allow_non_empty: args.allow_non_empty,
    };
    let store = open(at, Missing::Create)?;
    let total = options.scenario.total();
    println!(
        "Seeding {} (seed {}, today {}) into {} …",
        count(total, "synthetic trajectory", "synthetic trajectories"),
        options.seed,
        options.today,
        at
    );
    let progress = bar(Some(total), "trajectories");
    let result = jeugdpad_interchange::seed(&store, &options, &|n| progress.inc(n));
    progress.finish_and_clear();
    let report = result?;
    store.close()?;
    let seconds = report.elapsed.as_secs_f64();
    println!(
        "Recorded {} with {} in {seconds:.1} s ({:.0} events/s); the log now ends at position {}.",
        count(report.trajectories, "trajectory", "trajectories"),
        count(report.events, "event", "events"),
        report.events as f64 / seconds.max(0.001),
        report.head
    );
    let serve = match &at.postgres {
        None => format!("jeugdpad serve --data {}", at.data.display()),
        Some(options) => format!(
            "jeugdpad serve --store {} --store-schema {}",
            options.display_url(),
            options.schema
        ),
    };
    println!(
        "Start the server with `{serve}` and open http://127.0.0.1:8080/ in a browser to see the figures."
    );
    Ok(ExitCode::SUCCESS)
}

pub fn import(at: &Location, args: &ImportArgs) -> Result<ExitCode, Box<dyn Error>> {
    let file = std::fs::File::open(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let store = open(at, Missing::Create)?;
    let options = ImportOptions {
        today: args.today.unwrap_or_else(today),
        operator: args.operator.clone(),
        dates: if args.historic {
            DateRule::historic()
        } else {
            DateRule::default()
        },
    };
    let progress = bar(None, "events stored");
    let result =
        jeugdpad_interchange::import(&store, BufReader::new(file), &options, &|n| progress.inc(n));
    progress.finish_and_clear();
    let report = result?;
    store.close()?;
    for rejection in &report.rejections {
        println!(
            "line {}: {}: {}",
            rejection.line,
            rejection.stream_id.as_deref().unwrap_or("(unknown stream)"),
            rejection.reason
        );
    }
    println!(
        "Read {}: imported {} in {}; refused {} ({}). {}",
        count(report.lines, "line", "lines"),
        count(report.events_imported, "event", "events"),
        count(report.streams_imported, "stream", "streams"),
        count(report.streams_rejected, "stream", "streams"),
        count(report.rejections.len(), "line", "lines"),
        if report.envelopes_kept {
            "Envelopes kept as they were (recorded_at, recorded_by, positions in file order): with nothing refused, the event hashes equal the source's."
        } else {
            "The store was not empty: it gave new positions and recorded_at (ids, versions, dates, payloads and recorded_by kept)."
        }
    );
    Ok(if report.rejections.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Refuses option combinations that would be silently ignored (before anything is logged).
pub fn check_export(args: &ExportArgs) -> Result<(), Box<dyn Error>> {
    if args.known_on.is_some() && matches!(args.what, What::Events) {
        return Err(
            "--known-on applies to --what summaries only (every event carries its recorded_at)"
                .into(),
        );
    }
    Ok(())
}

pub fn export(at: &Location, args: &ExportArgs) -> Result<ExitCode, Box<dyn Error>> {
    let options = ExportOptions {
        format: match args.format {
            Format::Jsonl => ExportFormat::Jsonl,
            Format::Csv => ExportFormat::Csv,
            Format::Parquet => ExportFormat::Parquet,
        },
        what: match args.what {
            What::Events => ExportWhat::Events,
            What::Summaries => ExportWhat::Summaries,
        },
        out: args.out.clone(),
        as_of: args.as_of.unwrap_or_else(today),
        overwrite: args.force,
        known_on: args.known_on,
    };
    // Asked first, so that an export that will not be written is not logged as one.
    check_export(args)?;
    options.refuse_existing()?;
    // Logged before any data leaves, like every export through the API.
    let operation = format!("export --what {:?} --format {:?}", args.what, args.format);
    crate::access::log_export(at, &operation.to_lowercase())?;
    let store = open(at, Missing::Refuse)?;
    let progress = bar(Some(store.head()), "events read");
    let result = jeugdpad_interchange::export(&store, &options, &|n| progress.inc(n));
    progress.finish_and_clear();
    let report = result?;
    store.close()?;
    println!(
        "Wrote {} to {}.",
        count(report.rows, "row", "rows"),
        report.path.display()
    );
    Ok(ExitCode::SUCCESS)
}
