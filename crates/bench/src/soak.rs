//! `soak`: the server's resident memory under a long mixed load.
//!
//! The real `jeugdpad serve` runs as a child process on a store (typically a kept million-
//! trajectory cohort), so the memory measured is the server's own and nothing of the load
//! generator's. Clients work as consultants do all day: open a trajectory, assess it, run help
//! episodes one after another and read the timeline after every step (each read is a durable
//! access-log entry), then close it; a team lead asks the team's waiting-time report now and
//! then. Every `--sample-seconds` the server's `VmRSS`, its anonymous and file-backed parts, and
//! the store's head position (from `/metrics`) are recorded.
//!
//! What it answers: after a warm-up, does resident memory grow with the events appended? The
//! slope (least squares, after warm-up) in bytes per appended event and per new trajectory is
//! printed with the projection to `--project-events`; the read models hold a digest per
//! trajectory by design, so new trajectories are expected to cost their digest and nothing
//! else.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::query::{Client, WAITING_TIMES};

type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// Options of `soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// The data directory the server runs on: a kept cohort (`load --keep`) or a new directory.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// How long the mixed load runs.
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Samples before this are warm-up and left out of the slope.
    #[arg(long, default_value_t = 5.0)]
    pub warm_up_minutes: f64,
    /// Concurrent consultants.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Help episodes per trajectory before it is closed (more: fewer new trajectories per event).
    #[arg(long, default_value_t = 20)]
    pub episodes: usize,
    /// Timeline reads after every step (each one a durable access-log entry). More reads per
    /// step tell apart what a look costs in memory from what a step costs.
    #[arg(long, default_value_t = 1)]
    pub reads_per_step: usize,
    /// Seconds between memory samples.
    #[arg(long, default_value_t = 10.0)]
    pub sample_seconds: f64,
    /// The log size the slope is projected to.
    #[arg(long, default_value_t = 20_000_000)]
    pub project_events: u64,
    /// The `jeugdpad` binary to run (default: the one beside this benchmark's binary).
    #[arg(long, value_name = "FILE")]
    pub jeugdpad: Option<PathBuf>,
    /// Also write the samples and the fit as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Seconds instead of minutes, two clients: checks that the load runs (what CI runs).
    #[arg(long)]
    pub smoke: bool,
}

/// One memory sample.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub seconds: f64,
    /// The store's head position: every event in the log, access-log entries included.
    pub events: u64,
    /// Trajectories the load has opened so far.
    pub opened: u64,
    /// Steps it has recorded so far (each an event of a trajectory; the rest of the events
    /// are access-log entries).
    pub steps: u64,
    pub rss_bytes: u64,
    pub rss_anon_bytes: u64,
    pub rss_file_bytes: u64,
}

/// What the run found.
#[derive(Debug, Serialize)]
pub struct SoakReport {
    pub samples: Vec<Sample>,
    pub events_appended: u64,
    pub trajectories_opened: u64,
    pub steps_recorded: u64,
    pub timelines_read: u64,
    pub reports_read: u64,
    /// Least-squares slope of RSS over the log's head after warm-up, bytes per event.
    pub rss_bytes_per_event: f64,
    /// Same, for the anonymous (heap) part alone.
    pub anon_bytes_per_event: f64,
    /// The heap's slope over the steps recorded instead of the events appended: with looks
    /// costing nothing, it is the same whatever the reads per step.
    pub anon_bytes_per_step: f64,
    /// RSS at the end of warm-up and at the end of the run.
    pub rss_after_warm_up: u64,
    pub rss_at_end: u64,
    /// RSS the slope reaches at `project_events`, from the last sample.
    pub projected_rss_bytes: f64,
    pub project_events: u64,
}

/// Runs the soak.
pub fn run(mut args: SoakArgs) -> Result<SoakReport, BenchError> {
    if args.smoke {
        args.minutes = args.minutes.min(0.25);
        args.warm_up_minutes = args.warm_up_minutes.min(0.05);
        args.clients = args.clients.min(2);
        args.episodes = args.episodes.min(2);
        args.sample_seconds = args.sample_seconds.min(2.0);
    }
    let binary = match &args.jeugdpad {
        Some(binary) => binary.clone(),
        None => std::env::current_exe()?.with_file_name("jeugdpad"),
    };
    if !binary.is_file() {
        return Err(format!(
            "{} is not there: build it (`cargo build --release -p jeugdpad`) or pass --jeugdpad",
            binary.display()
        )
        .into());
    }
    std::fs::create_dir_all(&args.store)?;
    let tokens = set_up(&binary, &args.store)?;
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let log = args.store.with_extension("soak-serve.log");
    eprintln!(
        "starting {} serve on {} (its log: {}); the rebuild may take a minute at a million trajectories…",
        binary.display(),
        args.store.display(),
        log.display()
    );
    let server = Server(
        Command::new(&binary)
            .arg("--data")
            .arg(&args.store)
            .args(["serve", "--listen", &addr.to_string()])
            // The load is the point; the rate limit would stop it after 600 requests a minute.
            .args(["--rate-limit", &u32::MAX.to_string()])
            .env("JEUGDPAD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(soak(&args, addr, server.pid(), &tokens));
    drop(server);
    let report = report?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report)
}

/// Stops the server when the run ends, however it ends: SIGTERM first, so that it shuts down as
/// an operator's stop would (a `--features dhat-heap` build writes its heap profile then), and
/// SIGKILL if it has not exited within a minute.
struct Server(Child);

impl Server {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Through kill(1): the workspace forbids `unsafe`, which `libc::kill` needs.
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Tokens {
    team: String,
    consultant: String,
    lead: String,
}

/// A team, a consultant and a team lead of this run (names unique per run, so a kept store can
/// be soaked again), with their tokens, made through the command line before the server starts.
fn set_up(binary: &Path, store: &Path) -> Result<Tokens, BenchError> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let team = format!("soak-{run}");
    let consultant = format!("soak-consultant-{run}");
    let lead = format!("soak-lead-{run}");
    cli(binary, store, &["team", "add", &team, "--name", "Soak"])?;
    for (user, role) in [(&consultant, "consultant"), (&lead, "team_lead")] {
        cli(
            binary,
            store,
            &[
                "user", "add", user, "--name", "Soak", "--role", role, "--team", &team,
            ],
        )?;
    }
    let token = |user: &str| -> Result<String, BenchError> {
        Ok(cli(
            binary,
            store,
            &[
                "token",
                "create",
                "--user",
                user,
                "--expires-in-days",
                "2",
                "--quiet",
            ],
        )?
        .trim()
        .to_owned())
    };
    Ok(Tokens {
        consultant: token(&consultant)?,
        lead: token(&lead)?,
        team,
    })
}

fn cli(binary: &Path, store: &Path, args: &[&str]) -> Result<String, BenchError> {
    let output = Command::new(binary)
        .arg("--data")
        .arg(store)
        .args(args)
        .env_remove("JEUGDPAD_LOG")
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "jeugdpad {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

fn free_port() -> Result<u16, BenchError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// What the clients did, counted as they go.
#[derive(Default)]
struct Counts {
    opened: AtomicU64,
    steps: AtomicU64,
    timelines: AtomicU64,
    reports: AtomicU64,
}

async fn soak(
    args: &SoakArgs,
    addr: SocketAddr,
    pid: u32,
    tokens: &Tokens,
) -> Result<SoakReport, BenchError> {
    let mut probe = wait_until_up(addr, &tokens.lead).await?;
    let head = |text: &str| -> Option<u64> {
        text.lines()
            .find_map(|line| line.strip_prefix("jeugdpad_store_head_position "))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .map(|value| value as u64)
    };
    let counts = Arc::new(Counts::default());
    let began = Instant::now();
    let budget = Duration::from_secs_f64(args.minutes * 60.0);
    let today = chrono::Utc::now().date_naive().to_string();

    let mut clients = Vec::new();
    for client in 0..args.clients {
        let counts = Arc::clone(&counts);
        let (team, consultant, lead) = (
            tokens.team.clone(),
            tokens.consultant.clone(),
            tokens.lead.clone(),
        );
        let (today, episodes, reads) = (today.clone(), args.episodes, args.reads_per_step);
        clients.push(tokio::spawn(async move {
            let mut worker = Client::connect(addr, &consultant).await?;
            let mut reader = Client::connect(addr, &lead).await?;
            let mut n = 0u64;
            while began.elapsed() < budget {
                let case = Case {
                    team: &team,
                    today: &today,
                    worker: client,
                    n,
                    episodes,
                    reads,
                };
                one_trajectory(&mut worker, &counts, &case).await?;
                if n.is_multiple_of(4) {
                    checked(&mut reader, WAITING_TIMES, json!({ "team": team })).await?;
                    counts.reports.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
            Ok::<(), BenchError>(())
        }));
    }

    let mut samples = Vec::new();
    let interval = Duration::from_secs_f64(args.sample_seconds.max(0.5));
    loop {
        let metrics = probe.get("/metrics").await?;
        let events =
            head(&String::from_utf8_lossy(&metrics)).ok_or("no head position in /metrics")?;
        let memory = memory_of(pid)?;
        let sample = Sample {
            seconds: began.elapsed().as_secs_f64(),
            events,
            opened: counts.opened.load(Ordering::Relaxed),
            steps: counts.steps.load(Ordering::Relaxed),
            rss_bytes: memory.0,
            rss_anon_bytes: memory.1,
            rss_file_bytes: memory.2,
        };
        eprintln!(
            "  {:>6.0} s  {:>10} events  {:>7} trajectories opened  RSS {:>6} MB (anon {:>6}, file {:>5})",
            sample.seconds,
            sample.events,
            sample.opened,
            sample.rss_bytes >> 20,
            sample.rss_anon_bytes >> 20,
            sample.rss_file_bytes >> 20
        );
        samples.push(sample);
        if began.elapsed() >= budget || clients.iter().any(|c| c.is_finished()) {
            break;
        }
        tokio::time::sleep(interval).await;
    }
    for client in clients {
        client.await??;
    }

    let warm_up = args.warm_up_minutes * 60.0;
    let steady: Vec<&Sample> = samples.iter().filter(|s| s.seconds >= warm_up).collect();
    if steady.len() < 2 {
        return Err("too few samples after warm-up: run longer or sample more often".into());
    }
    let slope_of = |along: fn(&Sample) -> u64, part: fn(&Sample) -> u64| {
        slope(
            &steady
                .iter()
                .map(|s| (along(s) as f64, part(s) as f64))
                .collect::<Vec<_>>(),
        )
    };
    let rss_bytes_per_event = slope_of(|s| s.events, |s| s.rss_bytes);
    let anon_bytes_per_event = slope_of(|s| s.events, |s| s.rss_anon_bytes);
    let anon_bytes_per_step = slope_of(|s| s.steps, |s| s.rss_anon_bytes);
    let (first, last) = (steady[0], samples[samples.len() - 1]);
    let projected_rss_bytes = last.rss_bytes as f64
        + rss_bytes_per_event.max(0.0) * args.project_events.saturating_sub(last.events) as f64;
    Ok(SoakReport {
        events_appended: last.events.saturating_sub(samples[0].events),
        trajectories_opened: counts.opened.load(Ordering::Relaxed),
        steps_recorded: counts.steps.load(Ordering::Relaxed),
        timelines_read: counts.timelines.load(Ordering::Relaxed),
        reports_read: counts.reports.load(Ordering::Relaxed),
        rss_bytes_per_event,
        anon_bytes_per_event,
        anon_bytes_per_step,
        rss_after_warm_up: first.rss_bytes,
        rss_at_end: last.rss_bytes,
        projected_rss_bytes,
        project_events: args.project_events,
        samples,
    })
}

/// One consultant's case: who, when, and how long.
struct Case<'a> {
    team: &'a str,
    today: &'a str,
    worker: usize,
    n: u64,
    episodes: usize,
    reads: usize,
}

/// A consultant's whole case: open, assess, `episodes` help episodes with the timeline read
/// (`reads` times) after each step, close.
async fn one_trajectory(
    client: &mut Client,
    counts: &Counts,
    case: &Case<'_>,
) -> Result<(), BenchError> {
    let Case {
        team,
        today,
        worker,
        n,
        episodes,
        reads,
    } = *case;
    let opened = checked(
        client,
        "mutation($on: Date!, $signal: SignalInput!) {
           openTrajectory(occurredOn: $on, signal: $signal) { trajectoryId } }",
        json!({ "on": today, "signal": {
            "subjectKey": subject_key(worker, n),
            "team": team, "source": "SCHOOL", "concerns": ["PARENTING"], "urgency": "REGULAR",
        }}),
    )
    .await?;
    let id = opened["data"]["openTrajectory"]["trajectoryId"]
        .as_str()
        .ok_or("openTrajectory gave no id")?
        .to_owned();
    counts.opened.fetch_add(1, Ordering::Relaxed);
    let step = |query: &'static str, extra: serde_json::Value| {
        let mut variables = json!({ "id": id, "on": today });
        if let (Some(all), Some(extra)) = (variables.as_object_mut(), extra.as_object()) {
            all.extend(extra.clone());
        }
        (query, variables)
    };
    let mut steps = vec![step(
        "mutation($id: ID!, $on: Date!) { completeAssessment(trajectoryId: $id, occurredOn: $on,
           conclusion: LIGHT_HELP) { eventIds } }",
        json!({}),
    )];
    for episode in 0..episodes {
        let episode = format!("ep-{episode}");
        steps.push(step(
            "mutation($id: ID!, $on: Date!, $ep: String!) { startHelp(trajectoryId: $id,
               occurredOn: $on, help: { episodeId: $ep, form: PARENTING_SUPPORT }) { eventIds } }",
            json!({ "ep": episode }),
        ));
        steps.push(step(
            "mutation($id: ID!, $on: Date!, $ep: String!) { endHelp(trajectoryId: $id,
               occurredOn: $on, episodeId: $ep, result: GOALS_MET) { eventIds } }",
            json!({ "ep": episode }),
        ));
    }
    steps.push(step(
        "mutation($id: ID!, $on: Date!) { closeTrajectory(trajectoryId: $id, occurredOn: $on,
           reason: GOALS_MET) { eventIds } }",
        json!({}),
    ));
    for (query, variables) in steps {
        checked(client, query, variables).await?;
        counts.steps.fetch_add(1, Ordering::Relaxed);
        for _ in 0..reads {
            checked(
                client,
                "query($id: ID!) { trajectory(id: $id) { version timeline { position type } } }",
                json!({ "id": id }),
            )
            .await?;
            counts.timelines.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// A synthetic subject key unique per run, client and case, spelled in letters: numbers in a
/// key could form a run of digits that passes the elfproef, which the API refuses as a
/// possible BSN.
fn subject_key(worker: usize, n: u64) -> String {
    let letters = |mut value: u64| {
        let mut out = String::new();
        loop {
            out.push(char::from(b'a' + (value % 26) as u8));
            value /= 26;
            if value == 0 {
                return out;
            }
        }
    };
    format!(
        "soak-{}-{}-{}",
        letters(u64::from(std::process::id())),
        letters(worker as u64),
        letters(n)
    )
}

/// One GraphQL request whose answer must hold no error: a refused step would not load anything.
async fn checked(
    client: &mut Client,
    query: &str,
    variables: serde_json::Value,
) -> Result<serde_json::Value, BenchError> {
    let body = client.post(query, variables).await?;
    let answer: serde_json::Value = serde_json::from_slice(&body)?;
    if let Some(errors) = answer.get("errors") {
        return Err(format!("the server refused a request of the load: {errors}").into());
    }
    Ok(answer)
}

async fn wait_until_up(addr: SocketAddr, token: &str) -> Result<Client, BenchError> {
    let deadline = Instant::now() + Duration::from_secs(30 * 60);
    loop {
        if let Ok(mut client) = Client::connect(addr, token).await {
            if client.get("/health").await.is_ok() {
                return Ok(client);
            }
        }
        if Instant::now() > deadline {
            return Err("the server did not come up within 30 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// (VmRSS, RssAnon, RssFile) of `pid`, in bytes.
fn memory_of(pid: u32) -> Result<(u64, u64, u64), BenchError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib * 1024)
    };
    Ok((field("VmRSS:"), field("RssAnon:"), field("RssFile:")))
}

/// Least-squares slope of y over x.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

#[cfg(test)]
mod tests {
    use super::{slope, subject_key};

    #[test]
    fn subject_keys_hold_no_digits_and_differ_per_case() {
        let keys: Vec<String> = (0..1000).map(|n| subject_key(3, n)).collect();
        assert!(keys.iter().all(|k| !k.chars().any(|c| c.is_ascii_digit())));
        let unique: std::collections::HashSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len());
    }

    #[test]
    fn the_slope_of_a_line_is_its_gradient_and_of_a_flat_line_zero() {
        let line: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 * x as f64 + 7.0)).collect();
        assert!((slope(&line) - 3.0).abs() < 1e-9);
        let flat: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 5.0)).collect();
        assert_eq!(slope(&flat), 0.0);
        assert_eq!(slope(&[(1.0, 2.0), (1.0, 4.0)]), 0.0, "no spread in x");
    }
}
