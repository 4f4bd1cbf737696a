//! `access-log`: a NEN 7513 inquiry over years of logging.
//!
//! Builds a store holding N synthetic access-log entries through the store's import path (the
//! same writer, group commit and hash chain as every append, whole batches at the next
//! positions): thousands of users, a million youths, a trajectory or two per youth, spread over
//! three years. Then builds the access log's index from that log (entries per second, bytes of
//! memory per entry, the build's peak), starts the API in-process exactly as `jeugdpad serve` does, and asks the
//! first page (`first: 100`) of an inquiry by user, by youth, by trajectory, by a period, by a
//! user within a period, and unfiltered, over real HTTP as an admin: p50/p99 of each. Every
//! inquiry is itself written to the access log, durably, before it answers — that append is
//! part of each figure, as it is for a real admin.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use jeugdpad_access::{
    AccessAction, AccessEntry, Credential, Role, ACCESS_EVENT_TYPE, ACCESS_LOG_STREAM,
};
use jeugdpad_access_index::{scan, AccessIndex, Filter};
use jeugdpad_api::{AppState, Options};
use jeugdpad_domain::{SubjectKey, TeamCode, TrajectoryId, UserId};
use jeugdpad_store::{EventStore, RecordedEvent, Store};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::query::{unlimited, Client, Latency, QueryPlan};

type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// What to build and how to ask.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Access-log entries in the store.
    pub entries: u64,
    /// Distinct users.
    pub users: u64,
    /// Distinct youths (subject keys); each has one or two trajectories.
    pub youths: u64,
    /// Days the entries are spread over, ending now.
    pub days: i64,
    /// Inquiries per filter.
    pub queries: usize,
    /// Also time the whole-stream scan `accessLog` did before the index (the baseline).
    pub scan_baseline: bool,
    /// Where the store is made (`DIR/access-log-N`, kept for the next run).
    pub dir: PathBuf,
}

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub entries: u64,
    pub load_seconds: f64,
    pub load_entries_per_second: f64,
    pub store_bytes: u64,
    pub index_build_seconds: f64,
    /// The process's peak resident memory while the index was built.
    pub index_build_peak_bytes: u64,
    pub index_entries_per_second: f64,
    /// What the index's tables take on the heap, counted from their capacities.
    pub index_heap_bytes: u64,
    /// How much the process's resident memory grew while the index was built and kept.
    pub index_resident_bytes: u64,
    pub index_bytes_per_entry: f64,
    pub inquiries: Vec<(String, Latency)>,
    /// The first page by user in process, from the index and (when asked) by the whole-stream
    /// scan, in milliseconds.
    pub by_user_index_ms: f64,
    pub by_user_scan_ms: Option<f64>,
}

/// A small, fast, seeded generator (SplitMix64): the same plan gives the same log.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn user(n: u64) -> UserId {
    UserId::parse(format!("medewerker-{n:05}")).expect("the benchmark's user ids are valid")
}

fn youth(n: u64) -> SubjectKey {
    SubjectKey::parse(format!("sk-bench-{n:07}")).expect("the benchmark's subject keys are valid")
}

fn trajectory(youth: u64, which: u64) -> TrajectoryId {
    TrajectoryId::from_uuid(Uuid::from_u128(
        0x6a70_0000_0000_4000_8000_0000_0000_0000 | u128::from(youth) << 8 | u128::from(which),
    ))
}

/// The store of this plan: `DIR/access-log-N`.
pub fn store_dir(plan: &Plan) -> PathBuf {
    plan.dir.join(format!("access-log-{}", plan.entries))
}

/// The `n`-th entry: a consultant of one of 40 teams reads (mostly) or records in a youth's
/// trajectory; a few failed sign-ins and list reads between.
fn entry(plan: &Plan, mix: &mut Mix) -> AccessEntry {
    let roll = mix.below(100);
    if roll == 0 {
        let mut entry = AccessEntry::by(None, AccessAction::FailedSignIn, "trajectory")
            .refused("expired_token");
        entry.client_address = Some(format!("10.1.{}.{}", mix.below(256), mix.below(256)));
        return entry;
    }
    let who = mix.below(plan.users);
    let (action, operation) = match roll {
        1..=75 => (AccessAction::Read, "trajectory"),
        76..=95 => (AccessAction::Record, "recordStep"),
        _ => (AccessAction::List, "caseload"),
    };
    let mut entry = AccessEntry::by(None, action, operation);
    entry.user = Some(user(who));
    entry.role = Some(Role::Consultant);
    entry.team = TeamCode::parse(format!("team-{:02}", who % 40)).ok();
    entry.credential = Some(Credential::ApiToken {
        token: format!("t{who:05}"),
    });
    if action != AccessAction::List {
        let youth_n = mix.below(plan.youths);
        entry.subject_key = Some(youth(youth_n));
        entry.trajectory = Some(trajectory(youth_n, mix.below(4) / 3));
    }
    entry.client_address = Some(format!("10.0.{}.{}", who / 256 % 256, who % 256));
    entry.client_application =
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0".into());
    entry
}

/// Imports the plan's entries into a new store at `dir`, three batches in flight.
async fn load(dir: &Path, plan: &Plan) -> Result<(f64, u64), BenchError> {
    const BATCH: u64 = 5_000;
    let store = Store::open(dir)?;
    let started = Instant::now();
    let end = Utc::now();
    let begin = end - Duration::days(plan.days);
    let span = (end - begin).num_nanoseconds().unwrap_or(i64::MAX) as f64;
    let mut mix = Mix(0x0a11_ce55);
    let mut in_flight = VecDeque::new();
    let mut position = store.head();
    while position < plan.entries {
        let count = BATCH.min(plan.entries - position);
        let mut events = Vec::with_capacity(count as usize);
        for _ in 0..count {
            position += 1;
            let at: DateTime<Utc> = begin
                + Duration::nanoseconds((span * position as f64 / plan.entries as f64) as i64);
            let entry = entry(plan, &mut mix);
            events.push(RecordedEvent {
                position,
                stream_id: ACCESS_LOG_STREAM.to_owned(),
                version: position,
                event_id: Uuid::from_u128(
                    0xacce_5500_0000_7000_8000_0000_0000_0000 | u128::from(position),
                ),
                event_type: ACCESS_EVENT_TYPE.to_owned(),
                schema_version: 1,
                occurred_on: at.date_naive(),
                recorded_at: at,
                recorded_by: entry.recorded_by().to_owned(),
                correlation_id: None,
                causation_id: None,
                payload: entry.payload(),
            });
        }
        in_flight.push_back(store.import_batch(events));
        if in_flight.len() >= 3 {
            if let Some(batch) = in_flight.pop_front() {
                batch.await?;
            }
        }
        if position % 1_000_000 < BATCH {
            eprintln!(
                "  {position} entries imported ({:.0}/s)",
                position as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    for batch in in_flight {
        batch.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    tokio::task::spawn_blocking(move || store.close()).await??;
    Ok((seconds, dir_bytes(dir)))
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The inquiries: (name, GraphQL arguments of the i-th request).
fn inquiries(plan: &Plan, end: DateTime<Utc>) -> Vec<(&'static str, Vec<serde_json::Value>)> {
    let mut mix = Mix(0x1d_1d);
    let n = plan.queries.max(1);
    let day = |mix: &mut Mix| {
        let back = 1 + mix.below(plan.days.max(1) as u64) as i64;
        let from = end - Duration::days(back);
        (from.to_rfc3339(), (from + Duration::days(1)).to_rfc3339())
    };
    let mut by_user = Vec::new();
    let mut by_youth = Vec::new();
    let mut by_trajectory = Vec::new();
    let mut by_period = Vec::new();
    let mut by_user_in_period = Vec::new();
    for _ in 0..n {
        by_user.push(json!({ "user": user(mix.below(plan.users)).as_str() }));
        let y = mix.below(plan.youths);
        by_youth.push(json!({ "subjectKey": youth(y).as_str() }));
        by_trajectory
            .push(json!({ "trajectoryId": trajectory(mix.below(plan.youths), 0).to_string() }));
        let (from, to) = day(&mut mix);
        by_period.push(json!({ "from": from, "to": to }));
        let back = 30 + mix.below(plan.days.max(31) as u64 - 30) as i64;
        by_user_in_period.push(json!({
            "user": user(mix.below(plan.users)).as_str(),
            "from": (end - Duration::days(back)).to_rfc3339(),
            "to": (end - Duration::days(back - 30)).to_rfc3339(),
        }));
    }
    vec![
        ("unfiltered", vec![json!({})]),
        ("by user", by_user),
        ("by youth (subject key)", by_youth),
        ("by trajectory", by_trajectory),
        ("by period (one day)", by_period),
        ("by user within 30 days", by_user_in_period),
    ]
}

const INQUIRY: &str = "query($user: String, $subjectKey: String, $trajectoryId: ID, $from: DateTime, $to: DateTime) {
  accessLog(user: $user, subjectKey: $subjectKey, trajectoryId: $trajectoryId, from: $from, to: $to, first: 100) {
    entries { position at action outcome operation user role team trajectoryId subjectKey clientAddress clientApplication reason }
    endCursor hasNextPage
  }
}";

/// Builds (or reuses) the store, builds the index, and measures the inquiries.
pub async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let dir = store_dir(plan);
    let existing = if dir.exists() {
        let store = Store::open(&dir)?;
        let head = store.head();
        tokio::task::spawn_blocking(move || store.close()).await??;
        head
    } else {
        0
    };
    let (load_seconds, store_bytes) = if existing >= plan.entries {
        eprintln!("reusing the store in {} ({existing} events)", dir.display());
        // A store kept by an earlier build may still hold the index it kept on disk.
        jeugdpad_access_index::remove_old_index(&dir);
        (0.0, dir_bytes(&dir))
    } else {
        eprintln!(
            "importing {} access-log entries into {}…",
            plan.entries,
            dir.display()
        );
        load(&dir, plan).await?
    };
    if load_seconds > 0.0 {
        eprintln!(
            "  imported in {load_seconds:.1} s ({:.0} entries/s), store {:.1} MB",
            plan.entries as f64 / load_seconds,
            store_bytes as f64 / 1e6
        );
    }

    // The index from nothing, by a read of the log of its own (a server's start feeds it from
    // the read models' replay instead): its own speed and memory.
    type Built = (f64, u64, u64, u64, u64, (f64, Option<f64>));
    let scan_baseline = plan.scan_baseline;
    let (build_seconds, indexed, heap_bytes, resident_bytes, build_peak_bytes, (index_ms, scan_ms)) = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || -> Result<Built, BenchError> {
            let store = Store::open(&dir)?;
            // The peak is the process's since it started (the import): reset it, so that the
            // figure is the build's (Linux ≥ 4.0; without it the peak may be the import's).
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let before = crate::measure::memory();
            let started = Instant::now();
            let index = AccessIndex::build(&store, store.dir())?;
            let seconds = started.elapsed().as_secs_f64();
            let after = crate::measure::memory();
            let entries = index.entries();
            let heap = index.heap_bytes() as u64;
            eprintln!(
                "  index built: {entries} entries in {seconds:.1} s ({:.0} entries/s); heap {} MB \
                 ({:.0} B/entry); RSS {} → {} MB, peak {} MB",
                entries as f64 / seconds,
                heap >> 20,
                heap as f64 / entries.max(1) as f64,
                before.rss >> 20,
                after.rss >> 20,
                after.hwm >> 20
            );
            // One user's first page in process, from the index and by the scan before it.
            let filter = Filter {
                user: Some(user(0)),
                ..Filter::default()
            };
            let started = Instant::now();
            let page = index.page(&store, &filter, None, 100)?;
            let index_ms = started.elapsed().as_secs_f64() * 1e3;
            let scan_ms = if scan_baseline {
                let started = Instant::now();
                let scanned = scan(&store, &filter, None, 100)?;
                let ms = started.elapsed().as_secs_f64() * 1e3;
                if scanned != page {
                    return Err("the index and the scan of the whole stream disagree".into());
                }
                eprintln!(
                    "  first page by user in process: index {index_ms:.2} ms, whole-stream scan {ms:.0} ms"
                );
                Some(ms)
            } else {
                None
            };
            drop(index);
            store.close()?;
            Ok((
                seconds,
                entries as u64,
                heap,
                after.rss.saturating_sub(before.rss),
                after.hwm,
                (index_ms, scan_ms),
            ))
        })
        .await??
    };

    let store = Store::open(&dir)?;
    let started = Instant::now();
    let state = AppState::start(
        store,
        Options {
            auth: unlimited(),
            ..Options::default()
        },
    )
    .await?;
    eprintln!(
        "  server started on {} events in {:.1} s",
        state.store_head(),
        started.elapsed().as_secs_f64()
    );
    let token = admin_token(&state).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(jeugdpad_api::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let measured = async {
        let mut client = Client::connect(addr, &token).await?;
        let query_plan = QueryPlan {
            iterations: plan.queries.max(1),
            repeats: 1,
            team: String::new(),
        };
        let mut results = Vec::new();
        for (name, arguments) in inquiries(plan, Utc::now()) {
            let latency = client
                .latency(&query_plan, |i| {
                    (INQUIRY, arguments[i % arguments.len()].clone())
                })
                .await?;
            eprintln!(
                "  first page {name}: p50 {:.2} ms, p99 {:.2} ms ({} bytes)",
                latency.p50_ms, latency.p99_ms, latency.response_bytes
            );
            results.push((name.to_owned(), latency));
        }
        Ok::<_, BenchError>(results)
    }
    .await;
    let _ = stop.send(());
    server.await??;
    Ok(Report {
        entries: plan.entries,
        load_seconds,
        // 0: the store of an earlier run was reused, nothing was imported.
        load_entries_per_second: if load_seconds > 0.0 {
            plan.entries as f64 / load_seconds
        } else {
            0.0
        },
        store_bytes,
        index_build_seconds: build_seconds,
        index_build_peak_bytes: build_peak_bytes,
        // The entries the index holds: a reused store also holds the inquiries of earlier runs.
        index_entries_per_second: indexed as f64 / build_seconds.max(f64::EPSILON),
        index_heap_bytes: heap_bytes,
        index_resident_bytes: resident_bytes,
        index_bytes_per_entry: heap_bytes as f64 / indexed.max(1) as f64,
        inquiries: measured?,
        by_user_index_ms: index_ms,
        by_user_scan_ms: scan_ms,
    })
}

/// An admin and a token for the inquiries (added on first use, so a kept store is reused).
async fn admin_token(state: &AppState) -> Result<String, BenchError> {
    use jeugdpad_access::AdminEvent;
    use jeugdpad_app::admin::{change, create_token, load_registry};

    let store = state.store();
    let registry = {
        let store = std::sync::Arc::clone(store);
        tokio::task::spawn_blocking(move || load_registry(store.as_ref(), u64::MAX)).await??
    };
    let admin = UserId::parse("bench-admin").map_err(|e| e.to_string())?;
    let clock = jeugdpad_app::Clock::system();
    if !registry.users().contains_key(&admin) {
        let added = AdminEvent::UserAdded {
            user: admin.clone(),
            name: "benchmark".into(),
            role: Role::Admin,
            team: None,
        };
        change(store, added, "bench", &clock).await?;
    }
    let expires = Some(clock.now() + Duration::days(1));
    let (token, outcome) =
        create_token(store, admin, Some("bench".into()), expires, "bench", &clock).await?;
    if !state.wait_applied(outcome.last_position).await {
        return Err("the server did not take the benchmark's token in time".into());
    }
    Ok(token.secret)
}

/// Prints the table.
pub fn print(report: &Report, command: &str) {
    println!();
    println!("ACCESS-LOG INQUIRY ({command})");
    let imported = if report.load_entries_per_second > 0.0 {
        format!(
            "imported at {:.0} entries/s",
            report.load_entries_per_second
        )
    } else {
        "the store of an earlier run, reused".to_owned()
    };
    println!(
        "  {} entries; {imported}; store {:.0} B/entry",
        report.entries,
        report.store_bytes as f64 / report.entries.max(1) as f64
    );
    println!(
        "  index built from the log in {:.1} s ({:.0} entries/s); {:.0} MB in memory ({:.0} B/entry), RSS +{} MB, peak RSS {} MB",
        report.index_build_seconds,
        report.index_entries_per_second,
        report.index_heap_bytes as f64 / 1e6,
        report.index_bytes_per_entry,
        report.index_resident_bytes >> 20,
        report.index_build_peak_bytes >> 20
    );
    match report.by_user_scan_ms {
        Some(scan_ms) => println!(
            "  first page by user in process: index {:.2} ms; whole-stream scan (before the index) {:.0} ms = {:.0} ×",
            report.by_user_index_ms,
            scan_ms,
            scan_ms / report.by_user_index_ms.max(f64::EPSILON)
        ),
        None => println!(
            "  first page by user in process: index {:.2} ms (--scan-baseline: the scan before it)",
            report.by_user_index_ms
        ),
    }
    println!(
        "  {:<34} {:>9} {:>9} {:>9}",
        "first page (HTTP, first: 100)", "p50 ms", "p99 ms", "requests"
    );
    for (name, latency) in &report.inquiries {
        println!(
            "  {:<34} {:>9.2} {:>9.2} {:>9}",
            name, latency.p50_ms, latency.p99_ms, latency.requests_per_run
        );
    }
}
