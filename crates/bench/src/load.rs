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
use jeugdpad_store::SledStore;
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
    let store = Arc::new(SledStore::open(store_dir)?);
    let shared = Arc::new(Shared {
        cohort: Mutex::new(cohort),
        done_cases: AtomicU64::new(0),
        done_events: AtomicU64::new(0),
    });
    let context = Context {
        recorded_by: "bench-loader".to_owned(),
        today: plan.today,
        correlation_id: None,
    };

    let started = Instant::now();
    let progress = tokio::spawn(report_progress(
        Arc::clone(&shared),
        plan.trajectories,
        started,
    ));
    let writers = (0..plan.writers.max(1))
        .map(|_| {
            let (store, shared, context) =
                (Arc::clone(&store), Arc::clone(&shared), context.clone());
            tokio::spawn(async move { write_cases(&store, &shared, &context).await })
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
    store: &Arc<SledStore>,
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
            let recorded = record(store, &request, context).await.map_err(|error| {
                format!(
                    "trajectory {} was refused at command {version} ({}): {error}",
                    case.trajectory,
                    step.command.to_event().event_type()
                )
            })?;
            shared
                .done_events
                .fetch_add(recorded.event_ids.len() as u64, Ordering::Relaxed);
        }
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
fn dir_size(dir: &Path) -> std::io::Result<u64> {
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
}
