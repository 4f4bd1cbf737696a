//! `load`: a synthetic cohort recorded through the application layer, as the API would record it.
//!
//! Each case goes through `jeugdpad_app::record` command by command — load the stream, decide,
//! append with the exact expected version — so the figure includes the domain's checks and the
//! stream reads, not just raw appends. Many writer tasks each take whole cases (one trajectory
//! has one writer, as in practice), so the store's group commit shares flushes between them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use jeugdpad_app::{record, Context, Request};
use jeugdpad_domain::DateRule;
use jeugdpad_store::Store;
use jeugdpad_synth::{Cohort, Scenario, SyntheticCase};
use serde::{Deserialize, Serialize};

type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// The file a kept store carries, so `query` knows what it holds and reuses only a store that
/// a complete `load` of the same cohort left behind.
const MARKER: &str = "jeugdpad-bench-cohort.json";

/// Which cohort, and how to load it.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub trajectories: u64,
    pub seed: u64,
    pub today: NaiveDate,
    pub writers: usize,
    /// Record each case with one append of all its events, decided command by command through
    /// the domain in memory (see [`write_cases_bulk`]); otherwise through `record`.
    pub bulk: bool,
}

/// What a kept store holds (written as [`MARKER`] after a complete load).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortMarker {
    pub trajectories: u64,
    pub seed: u64,
    pub today: NaiveDate,
    pub events: u64,
}

/// The figures of one load.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub trajectories: u64,
    pub events: u64,
    pub writers: usize,
    pub seconds: f64,
    pub events_per_second: f64,
    pub trajectories_per_second: f64,
    pub bytes_on_disk: u64,
    pub bytes_per_event: f64,
}

/// Where `load --keep` leaves the store for this cohort, and where `query` looks for it.
pub fn kept_store_dir(dir: &Path, plan: &LoadPlan) -> PathBuf {
    dir.join(format!(
        "cohort-{}-seed-{}-{}",
        plan.trajectories, plan.seed, plan.today
    ))
}

/// The marker of a complete load of exactly this cohort in `store_dir`, if there is one.
pub fn kept_cohort(store_dir: &Path, plan: &LoadPlan) -> Option<CohortMarker> {
    let text = std::fs::read_to_string(store_dir.join(MARKER)).ok()?;
    let marker: CohortMarker = serde_json::from_str(&text).ok()?;
    (marker.trajectories == plan.trajectories
        && marker.seed == plan.seed
        && marker.today == plan.today)
        .then_some(marker)
}

/// The cohort of `plan`: the Purmerend-like default scenario at the planned size.
pub fn cohort(plan: &LoadPlan) -> Result<Cohort, jeugdpad_synth::ScenarioError> {
    let scenario = Scenario {
        count: Some(plan.trajectories),
        ..Scenario::default()
    };
    jeugdpad_synth::generate(&scenario, plan.seed, plan.today)
}

/// Generates the cohort and records it into a fresh store in `store_dir` (which must not exist
/// yet, or be a store an earlier `load` of ours left there: that one is replaced).
pub async fn load(store_dir: &Path, plan: &LoadPlan) -> Result<LoadReport, BenchError> {
    if store_dir.exists() {
        if !store_dir.join(MARKER).exists() {
            return Err(format!(
                "{} exists and is not a store an earlier `load` kept; move it away first",
                store_dir.display()
            )
            .into());
        }
        std::fs::remove_dir_all(store_dir)?;
    }
    let cohort = cohort(plan)?;
    let store = Arc::new(Store::open(store_dir)?);
    let shared = Arc::new(Shared {
        cohort: Mutex::new(cohort),
        done_cases: AtomicU64::new(0),
        done_events: AtomicU64::new(0),
    });
    let context = Context {
        recorded_by: "bench-loader".to_owned(),
        today: plan.today,
        dates: DateRule::default(),
        correlation_id: None,
    };
    let free_text = jeugdpad_app::FreeText::new(store.vault()?);

    let started = Instant::now();
    let progress = tokio::spawn(report_progress(
        Arc::clone(&shared),
        plan.trajectories,
        started,
    ));
    let writers = (0..plan.writers.max(1))
        .map(|_| {
            let (store, shared, context, free_text) = (
                Arc::clone(&store),
                Arc::clone(&shared),
                context.clone(),
                free_text.clone(),
            );
            let bulk = plan.bulk;
            tokio::spawn(async move {
                if bulk {
                    write_cases_bulk(&store, &shared, &context).await
                } else {
                    write_cases(&store, &free_text, &shared, &context).await
                }
            })
        })
        .collect::<Vec<_>>();
    let mut failure = None;
    for writer in writers {
        if let Err(error) = writer.await? {
            failure.get_or_insert(error);
        }
    }
    let elapsed = started.elapsed();
    progress.abort();
    eprintln!();
    if let Some(error) = failure {
        return Err(error);
    }

    let events = shared.done_events.load(Ordering::Relaxed);
    let trajectories = shared.done_cases.load(Ordering::Relaxed);
    let store = Arc::try_unwrap(store)
        .map_err(|_| "a writer task still holds the store after finishing")?;
    store.close()?;
    let bytes_on_disk = dir_size(store_dir)?;
    let marker = CohortMarker {
        trajectories,
        seed: plan.seed,
        today: plan.today,
        events,
    };
    std::fs::write(
        store_dir.join(MARKER),
        serde_json::to_string_pretty(&marker)?,
    )?;

    let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
    Ok(LoadReport {
        trajectories,
        events,
        writers: plan.writers.max(1),
        seconds,
        events_per_second: events as f64 / seconds,
        trajectories_per_second: trajectories as f64 / seconds,
        bytes_on_disk,
        bytes_per_event: bytes_on_disk as f64 / events.max(1) as f64,
    })
}

/// What the writer tasks share: the cohort to draw cases from and the running totals.
#[derive(Debug)]
struct Shared {
    cohort: Mutex<Cohort>,
    done_cases: AtomicU64,
    done_events: AtomicU64,
}

impl Shared {
    fn next_case(&self) -> Option<SyntheticCase> {
        // A poisoned lock means another writer panicked; the run fails through its join anyway.
        self.cohort.lock().ok()?.next()
    }
}

/// One writer: takes whole cases until the cohort is exhausted, recording each case's commands
/// in order with the version each one expects.
async fn write_cases(
    store: &Arc<Store>,
    free_text: &jeugdpad_app::FreeText,
    shared: &Shared,
    context: &Context,
) -> Result<(), BenchError> {
    while let Some(case) = shared.next_case() {
        for (version, step) in case.commands.iter().enumerate() {
            let request = Request {
                trajectory: case.trajectory,
                command: step.command.clone(),
                expected_version: Some(version as u64),
                event_id: Some(step.event_id.as_uuid()),
            };
            record(store, free_text, &request, context)
                .await
                .map_err(|error| {
                    format!(
                        "trajectory {} was refused at command {version} ({}): {error}",
                        case.trajectory,
                        step.command.to_event().event_type()
                    )
                })?;
            shared.done_events.fetch_add(1, Ordering::Relaxed);
        }
        shared.done_cases.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// One writer of the bulk path: each case's commands are decided one after another through the
/// domain and encoded by the application layer (`decide_stream`: every rule is still checked, a
/// refused command fails the load, and the envelopes are the ones `record` would store), and the
/// whole case is appended at once with `NoStream` as the expected version: one durable append per
/// trajectory instead of one stream read and one append per command.
async fn write_cases_bulk(
    store: &Arc<Store>,
    shared: &Shared,
    context: &Context,
) -> Result<(), BenchError> {
    use jeugdpad_store::{EventStore, ExpectedVersion};
    while let Some(case) = shared.next_case() {
        let steps = case
            .commands
            .iter()
            .map(|step| (&step.command, step.event_id));
        let envelopes = jeugdpad_app::decide_stream(steps, context).map_err(|(index, error)| {
            format!(
                "trajectory {} was refused at command {index} ({}): {error}",
                case.trajectory,
                case.commands[index].command.to_event().event_type()
            )
        })?;
        let events = envelopes.len() as u64;
        store
            .append(
                &case.trajectory.stream_id(),
                ExpectedVersion::NoStream,
                envelopes,
            )
            .await
            .map_err(|error| format!("appending trajectory {}: {error}", case.trajectory))?;
        shared.done_events.fetch_add(events, Ordering::Relaxed);
        shared.done_cases.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// A progress line on stderr, rewritten once a second.
async fn report_progress(shared: Arc<Shared>, total: u64, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let cases = shared.done_cases.load(Ordering::Relaxed);
        let events = shared.done_events.load(Ordering::Relaxed);
        let seconds = started.elapsed().as_secs_f64();
        eprint!(
            "\r  {cases}/{total} trajectories, {events} events, {:.0} events/s   ",
            events as f64 / seconds.max(f64::EPSILON)
        );
    }
}

/// Bytes of every file under `dir`.
pub fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        total += if metadata.is_dir() {
            dir_size(&entry.path())?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> LoadPlan {
        LoadPlan {
            trajectories: 30,
            seed: 5,
            today: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            writers: 4,
            bulk: false,
        }
    }

    #[test]
    fn a_kept_store_is_reused_only_for_the_same_cohort() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan();
        let store_dir = kept_store_dir(dir.path(), &plan);
        assert_eq!(kept_cohort(&store_dir, &plan), None);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let report = runtime.block_on(load(&store_dir, &plan)).unwrap();
        assert_eq!(report.trajectories, 30);
        let expected: u64 = cohort(&plan)
            .unwrap()
            .map(|case| case.commands.len() as u64)
            .sum();
        assert_eq!(report.events, expected);
        assert!(jeugdpad_store::verify_dir(&store_dir).unwrap().is_ok());

        let marker = kept_cohort(&store_dir, &plan).unwrap();
        assert_eq!(marker.events, expected);
        let other_seed = LoadPlan {
            seed: 6,
            ..plan.clone()
        };
        assert_eq!(kept_cohort(&store_dir, &other_seed), None);

        // Loading again replaces our own store; a foreign directory is left alone.
        runtime.block_on(load(&store_dir, &plan)).unwrap();
        let foreign = dir.path().join("not-ours");
        std::fs::create_dir_all(&foreign).unwrap();
        assert!(runtime.block_on(load(&foreign, &plan)).is_err());
    }

    #[test]
    fn the_bulk_path_stores_what_record_stores() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let one_by_one = dir.path().join("record");
        runtime.block_on(load(&one_by_one, &plan)).unwrap();
        let bulk_dir = dir.path().join("bulk");
        let bulk = LoadPlan {
            bulk: true,
            ..plan.clone()
        };
        let report = runtime.block_on(load(&bulk_dir, &bulk)).unwrap();
        assert!(jeugdpad_store::verify_dir(&bulk_dir).unwrap().is_ok());
        // Same streams with the same events (ids, types, dates, payloads), whatever the order
        // the writers interleaved them in.
        let read = |path: &Path| {
            use jeugdpad_store::EventStore;
            let store = Store::open(path).unwrap();
            let mut events: Vec<_> = store
                .read_all(0, usize::MAX)
                .unwrap()
                .into_iter()
                .map(|e| {
                    (
                        e.stream_id,
                        e.version,
                        e.event_id,
                        e.event_type,
                        e.occurred_on,
                        e.payload,
                    )
                })
                .collect();
            events.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            events
        };
        let (a, b) = (read(&one_by_one), read(&bulk_dir));
        assert_eq!(a.len() as u64, report.events);
        assert_eq!(a, b);
    }
}
