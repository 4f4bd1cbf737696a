//! `measure-store` (run by `all` as a child process, so its peak memory is its own): opens a kept
//! cohort store, rebuilds the read models exactly as `jeugdpad serve` does at start-up
//! (`AppState::start`), and reports replay speed, resident memory, where the replay's time goes,
//! and — when asked — query latency and throughput over real HTTP.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use jeugdpad_api::{AppState, Options};
use jeugdpad_app::Clock;
use jeugdpad_store::{EventStore, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::query::{millis, Client, Latency, QueryPlan, TIMELINE, WAITING_TIMES};
use crate::stats::nearest_rank;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// Every team of the analysts' normalisation report, a year of closures.
const NORMALISATION: &str = "query Normalisation($from: Date!, $to: Date!) {
  normalisation(cohort: { closedBetween: { from: $from, to: $to } }, groupBy: TEAM) {
    asOf from to
    overall { trajectories resolvedLight escalated outOfHome buurtgezinPrevention fosterPrevented recurrenceBase recurrence12M closed medianPathwayDays }
    groups { key outcomes { trajectories resolvedLight escalated outOfHome fosterPrevented recurrence12M closed medianPathwayDays } }
  }
}";

/// All teams' waiting times as they stood a year ago (peildatum), grouped by team.
const AS_OF: &str = "query AsOf($asOf: Date!) {
  waitingTimes(asOf: $asOf, groupBy: TEAM) {
    asOf
    measures {
      measure normDays
      overall { closed open abandoned mean median p90 max withinNorm openBreaches }
      groups { key stats { closed open mean median p90 max withinNorm openBreaches } }
    }
  }
}";

/// One team's 24-month waiting-time trend, every measure (the team lead's charts).
const TREND: &str = "query Trend($team: String!) {
  waitingTimeTrend(team: $team, months: 24) {
    months { month to }
    measures {
      measure normDays
      overall { closed open mean median p90 max withinNorm openBreaches }
    }
  }
}";

/// How long the memory figures wait after a rebuild: the allocator's background thread returns
/// freed pages after about a second (`.cargo/config.toml`), so what is resident then is what the
/// server keeps.
pub const SETTLE: Duration = Duration::from_secs(5);

/// Memory of this process from `/proc/self/status`, in bytes.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Memory {
    pub rss: u64,
    pub hwm: u64,
}

pub fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    Memory {
        rss: field("VmRSS:"),
        hwm: field("VmHWM:"),
    }
}

/// Requests per second of one query with `connections` concurrent clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Throughput {
    pub connections: usize,
    pub seconds: f64,
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queries {
    pub timeline: Latency,
    pub team_waiting_times: Latency,
    pub all_teams_normalisation: Latency,
    pub as_of_year_back: Latency,
    pub team_trend: Latency,
    pub timeline_concurrent: Vec<Throughput>,
    /// The same reports computed in-process by visiting every trajectory (the read models'
    /// scan, the definition the aggregates are checked against): the baseline of this run.
    pub scan: ScanBaseline,
}

/// In-process timings of the scan, on the same read models in the same run (no HTTP: a
/// lower bound on what answering by a scan costs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanBaseline {
    pub team_waiting_times: Latency,
    pub all_teams_normalisation: Latency,
    pub as_of_year_back: Latency,
    pub team_trend: Latency,
}

/// Times `work` `iterations` times in one run: nearest-rank p50 and p99.
fn timed(iterations: usize, mut work: impl FnMut()) -> Latency {
    let mut latencies = Vec::with_capacity(iterations);
    for _ in 0..iterations.max(1) {
        let began = Instant::now();
        work();
        latencies.push(began.elapsed());
    }
    latencies.sort_unstable();
    Latency {
        requests_per_run: latencies.len(),
        runs: 1,
        p50_ms: millis(crate::stats::nearest_rank(&latencies, 0.50)),
        p99_ms: millis(crate::stats::nearest_rank(&latencies, 0.99)),
        response_bytes: 0,
    }
}

/// What `measure-store` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreReport {
    pub events: u64,
    pub trajectories: usize,
    /// `AppState::start`: open nothing more, read the whole log, decode, apply, derive.
    pub rebuild_seconds: f64,
    pub rebuild_events_per_second: f64,
    /// Of which opening the store: for the segment log, reading and checking every record and
    /// building the indexes in memory. (0 in reports written before it was measured.)
    #[serde(default)]
    pub open_seconds: f64,
    /// Before opening the store / once it is open (what sled loads on its own, before a single
    /// event is read) / right after the rebuild, peak (VmHWM) included / [`SETTLE`] later, once
    /// the allocator has handed back what the rebuild freed.
    pub memory_before: Memory,
    pub memory_after_open: Memory,
    pub memory_after_rebuild: Memory,
    pub memory_settled: Memory,
    /// (settled RSS − RSS before) / trajectories: everything the server keeps resident, sled's
    /// own memory and page cache included.
    pub resident_bytes_per_trajectory: f64,
    /// (settled RSS − RSS with the store open) / trajectories: the read models, plus what the
    /// store's page cache grew by while the rebuild read the log.
    pub read_model_bytes_per_trajectory: f64,
    /// After the rebuild, on the warm store: `read_all` alone, and `read_all` + `to_fact`.
    pub read_all_events_per_second: f64,
    pub read_and_decode_events_per_second: f64,
    /// Sum of `serde_json::to_vec(envelope).len()` over the log (0 when not measured).
    pub raw_json_bytes: u64,
    pub queries: Option<Queries>,
}

#[derive(Debug, Clone)]
pub struct MeasurePlan {
    pub today: NaiveDate,
    pub queries: bool,
    pub query: QueryPlan,
    pub concurrency: Vec<usize>,
    pub concurrency_seconds: f64,
    pub skip_decomposition: bool,
    /// Open the log in this PostgreSQL schema (URL, schema) instead of the embedded store in the
    /// directory, which then only holds the node's own files.
    pub postgres: Option<(String, String)>,
    /// Skip the wait before the settled memory figure (a run that only wants the replay speed).
    pub no_settle: bool,
}

pub async fn measure(
    store_dir: &Path,
    plan: &MeasurePlan,
    trajectories: &[String],
) -> Result<StoreReport, BenchError> {
    let memory_before = memory();
    let started = Instant::now();
    let store = match &plan.postgres {
        Some((url, schema)) => Store::open_postgres(&jeugdpad_store::PgOptions {
            schema: schema.clone(),
            ..jeugdpad_store::PgOptions::new(url.clone(), store_dir)
        })?,
        None => Store::open(store_dir)?,
    };
    let memory_after_open = memory();
    let open_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "  store opened in {open_seconds:.2} s; RSS {} → {} MB",
        memory_before.rss / 1_000_000,
        memory_after_open.rss / 1_000_000
    );
    let options = Options {
        clock: Clock::fixed(plan.today),
        auth: crate::query::unlimited(),
        ..Options::default()
    };
    let state = AppState::start(store, options).await?;
    let rebuild = started.elapsed().as_secs_f64();
    let memory_after_rebuild = memory();
    let events = state.applied_position();
    let count = state.projections().trajectory_count();
    eprintln!(
        "  rebuilt {count} trajectories from {events} events in {rebuild:.1} s ({:.0} events/s); RSS {} → {} MB, peak {} MB",
        events as f64 / rebuild,
        memory_before.rss / 1_000_000,
        memory_after_rebuild.rss / 1_000_000,
        memory_after_rebuild.hwm / 1_000_000
    );
    let memory_settled = if plan.no_settle {
        memory_after_rebuild
    } else {
        tokio::time::sleep(SETTLE).await;
        let settled = memory();
        eprintln!(
            "  RSS {} MB {} s later (of which {} MB once the store was open)",
            settled.rss / 1_000_000,
            SETTLE.as_secs(),
            memory_after_open.rss / 1_000_000
        );
        settled
    };

    let (read_rate, decode_rate, raw_json_bytes) = if plan.skip_decomposition {
        (0.0, 0.0, 0)
    } else {
        let store = Arc::clone(state.store());
        tokio::task::spawn_blocking(move || decomposition(&store)).await??
    };

    let queries = if plan.queries {
        Some(queries(&state, plan, trajectories).await?)
    } else {
        None
    };
    Ok(StoreReport {
        events,
        trajectories: count,
        rebuild_seconds: rebuild,
        open_seconds,
        rebuild_events_per_second: events as f64 / rebuild.max(f64::EPSILON),
        memory_before,
        memory_after_open,
        memory_after_rebuild,
        memory_settled,
        resident_bytes_per_trajectory: memory_settled.rss.saturating_sub(memory_before.rss) as f64
            / count.max(1) as f64,
        read_model_bytes_per_trajectory: memory_settled.rss.saturating_sub(memory_after_open.rss)
            as f64
            / count.max(1) as f64,
        read_all_events_per_second: read_rate,
        read_and_decode_events_per_second: decode_rate,
        raw_json_bytes,
        queries,
    })
}

/// Where the replay's time goes: the store's `read_all` alone, then with `to_fact`.
fn decomposition(store: &Store) -> Result<(f64, f64, u64), BenchError> {
    let pass = |decode: bool| -> Result<f64, BenchError> {
        let started = Instant::now();
        let (mut position, mut events) = (0u64, 0u64);
        loop {
            let batch = store.read_all(position + 1, 4096)?;
            let Some(last) = batch.last() else { break };
            position = last.position;
            events += batch.len() as u64;
            if decode {
                for event in &batch {
                    std::hint::black_box(jeugdpad_app::to_fact(event).ok());
                }
            }
        }
        Ok(events as f64 / started.elapsed().as_secs_f64().max(f64::EPSILON))
    };
    let read = pass(false)?;
    let decoded = pass(true)?;
    eprintln!("  read_all alone {read:.0} events/s; read_all + to_fact {decoded:.0} events/s");
    let (mut position, mut raw) = (0u64, 0u64);
    loop {
        let batch = store.read_all(position + 1, 4096)?;
        let Some(last) = batch.last() else { break };
        position = last.position;
        for event in &batch {
            raw += serde_json::to_vec(event)?.len() as u64;
        }
    }
    Ok((read, decoded, raw))
}

async fn queries(
    state: &AppState,
    plan: &MeasurePlan,
    trajectories: &[String],
) -> Result<Queries, BenchError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(jeugdpad_api::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    let year_back = plan.today - chrono::Days::new(365);
    let last_year = chrono::Datelike::year(&plan.today) - 1;
    let from = NaiveDate::from_ymd_opt(last_year, 1, 1).unwrap_or(year_back);
    let to = NaiveDate::from_ymd_opt(last_year, 12, 31).unwrap_or(plan.today);

    let tokens = crate::query::sign_in(state, &plan.query.team).await?;
    // Timelines are read by the team lead, so only their own team's trajectories.
    let trajectories = &crate::query::of_team(state, trajectories, &plan.query.team)[..];
    let result = async {
        let mut client = Client::connect(addr, &tokens.lead).await?;
        let mut analyst = Client::connect(addr, &tokens.analyst).await?;
        let timeline = client
            .latency(&plan.query, |i| {
                let id = &trajectories[i % trajectories.len().max(1)];
                (TIMELINE, json!({ "id": id }))
            })
            .await?;
        eprintln!(
            "  timeline: p50 {:.2} ms, p99 {:.2} ms",
            timeline.p50_ms, timeline.p99_ms
        );
        let team = json!({ "team": plan.query.team });
        let team_waiting_times = client
            .latency(&plan.query, |_| (WAITING_TIMES, team.clone()))
            .await?;
        eprintln!(
            "  team waiting times: p50 {:.2} ms, p99 {:.2} ms",
            team_waiting_times.p50_ms, team_waiting_times.p99_ms
        );
        // The heavy reports run fewer times: each scans every trajectory.
        let heavy = QueryPlan {
            iterations: (plan.query.iterations / 5).max(1),
            ..plan.query.clone()
        };
        let range = json!({ "from": from.to_string(), "to": to.to_string() });
        let all_teams_normalisation = analyst
            .latency(&heavy, |_| (NORMALISATION, range.clone()))
            .await?;
        eprintln!(
            "  all-teams normalisation {from}..{to}: p50 {:.2} ms, p99 {:.2} ms",
            all_teams_normalisation.p50_ms, all_teams_normalisation.p99_ms
        );
        let as_of = json!({ "asOf": year_back.to_string() });
        let as_of_year_back = analyst.latency(&heavy, |_| (AS_OF, as_of.clone())).await?;
        eprintln!(
            "  all-teams waiting times as of {year_back}: p50 {:.2} ms, p99 {:.2} ms",
            as_of_year_back.p50_ms, as_of_year_back.p99_ms
        );
        let team_trend = client
            .latency(&plan.query, |_| (TREND, team.clone()))
            .await?;
        eprintln!(
            "  one team's 24-month trend: p50 {:.2} ms, p99 {:.2} ms",
            team_trend.p50_ms, team_trend.p99_ms
        );
        let scan = scan_baseline(state, plan, from, to, year_back).await?;
        let mut timeline_concurrent = Vec::new();
        for &connections in &plan.concurrency {
            let run = concurrent(
                addr,
                &tokens.lead,
                connections,
                plan.concurrency_seconds,
                trajectories,
            )
            .await?;
            eprintln!(
                "  timeline with {connections} connections: {:.0} requests/s (p50 {:.2} ms, p99 {:.2} ms)",
                run.requests_per_second, run.p50_ms, run.p99_ms
            );
            timeline_concurrent.push(run);
        }
        Ok::<_, BenchError>(Queries {
            timeline,
            team_waiting_times,
            all_teams_normalisation,
            as_of_year_back,
            team_trend,
            timeline_concurrent,
            scan,
        })
    }
    .await;
    let _ = stop.send(());
    server.await??;
    result
}

/// The reports of [`queries`] by the scan, in-process on a blocking thread: the same questions
/// (one team's waiting times by signal month; all teams' closed-cohort normalisation by team;
/// all teams' waiting times a year back by team; one team's 24-month trend).
async fn scan_baseline(
    state: &AppState,
    plan: &MeasurePlan,
    from: NaiveDate,
    to: NaiveDate,
    year_back: NaiveDate,
) -> Result<ScanBaseline, BenchError> {
    use jeugdpad_projections::{
        AsOf, Cohort, CohortGrouping, CohortQuery, WaitGrouping, WaitQuery,
    };
    let team =
        jeugdpad_domain::TeamCode::parse(plan.query.team.as_str()).map_err(|e| e.to_string())?;
    let today = plan.today;
    let iterations = (plan.query.iterations / 5).max(3);
    let state = state.clone();
    let baseline = tokio::task::spawn_blocking(move || {
        let projections = state.projections();
        let mut team_query = WaitQuery::new(AsOf::date(today));
        team_query.team = Some(team.clone());
        team_query.group_by = Some(WaitGrouping::SignalMonth);
        let team_waiting_times = timed(iterations, || {
            std::hint::black_box(projections.waiting_times_by_scan(&team_query));
        });
        let cohort = CohortQuery {
            as_of: AsOf::date(today),
            cohort: Cohort::Closed,
            from,
            to,
            group_by: Some(CohortGrouping::Team),
            team: None,
        };
        let all_teams_normalisation = timed(iterations, || {
            std::hint::black_box(projections.normalisation_by_scan(&cohort));
        });
        let mut back = WaitQuery::new(AsOf::date(year_back));
        back.group_by = Some(WaitGrouping::Team);
        let as_of_year_back = timed(iterations, || {
            std::hint::black_box(projections.waiting_times_by_scan(&back));
        });
        let mut trend = WaitQuery::new(AsOf::date(today));
        trend.team = Some(team);
        // The scan of a 24-month trend is 24 scans: fewer runs.
        let team_trend = timed(3, || {
            std::hint::black_box(projections.waiting_time_trend_by_scan(&trend, 24));
        });
        ScanBaseline {
            team_waiting_times,
            all_teams_normalisation,
            as_of_year_back,
            team_trend,
        }
    })
    .await?;
    eprintln!(
        "  the scan, in-process: team waiting times p50 {:.2} ms; all-teams normalisation p50 {:.2} ms; a year back p50 {:.2} ms; 24-month trend p50 {:.2} ms",
        baseline.team_waiting_times.p50_ms,
        baseline.all_teams_normalisation.p50_ms,
        baseline.as_of_year_back.p50_ms,
        baseline.team_trend.p50_ms
    );
    Ok(baseline)
}

/// `connections` clients, each on its own kept-alive connection, ask timelines back to back.
async fn concurrent(
    addr: std::net::SocketAddr,
    token: &str,
    connections: usize,
    seconds: f64,
    trajectories: &[String],
) -> Result<Throughput, BenchError> {
    let ids: Arc<Vec<String>> = Arc::new(trajectories.to_vec());
    let done = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for c in 0..connections {
        let mut client = Client::connect(addr, token).await?;
        let (ids, done, counter) = (Arc::clone(&ids), Arc::clone(&done), Arc::clone(&counter));
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = c;
            while !done.load(Ordering::Relaxed) {
                let id = &ids[i % ids.len().max(1)];
                let began = Instant::now();
                client.post(TIMELINE, json!({ "id": id })).await?;
                latencies.push(began.elapsed());
                counter.fetch_add(1, Ordering::Relaxed);
                i += connections;
            }
            Ok::<_, BenchError>(latencies)
        }));
    }
    // Warm-up second, then the measured window.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first = counter.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let requests = counter.load(Ordering::Relaxed) - first;
    let elapsed = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    latencies.sort_unstable();
    Ok(Throughput {
        connections,
        seconds: elapsed,
        requests,
        requests_per_second: requests as f64 / elapsed.max(f64::EPSILON),
        p50_ms: millis(nearest_rank(&latencies, 0.5)),
        p99_ms: millis(nearest_rank(&latencies, 0.99)),
    })
}
