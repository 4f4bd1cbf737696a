//! `query`: the read side over real HTTP, on a store holding a synthetic cohort.
//!
//! The API is started in-process on a loopback port exactly as `jeugdpad serve` would start it
//! (open the store, rebuild the projections from the whole log, serve), and a plain HTTP/1.1
//! client on one kept-alive connection sends GraphQL requests one after another, so each latency
//! is one request's full round trip: parse, resolve against the read models, serialise, transfer.
//! Two requests a municipality makes all day are measured: a team lead's waiting-time report and
//! a consultant opening one trajectory's timeline.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use jeugdpad_api::{AppState, Options};
use jeugdpad_app::Clock;
use jeugdpad_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::load::LoadPlan;
use crate::stats::nearest_rank;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// A team lead's Monday-morning question: every waiting time of one team, grouped by month.
pub(crate) const WAITING_TIMES: &str = "query TeamWaits($team: String!) {
  waitingTimes(team: $team, groupBy: SIGNAL_MONTH) {
    asOf
    measures {
      measure normDays
      overall { closed open abandoned mean median p90 max withinNorm openBreaches }
      groups { key stats { closed open mean median p90 max withinNorm openBreaches } }
    }
  }
}";

/// A consultant opening a case: the whole timeline with payloads.
pub(crate) const TIMELINE: &str = "query Timeline($id: ID!) {
  trajectory(id: $id) {
    id version
    timeline { position version eventId type label occurredOn recordedAt payload }
  }
}";

/// How the measurement runs.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// Requests per run and query.
    pub iterations: usize,
    /// Runs per query; the report takes the median run's percentiles.
    pub repeats: usize,
    /// The team whose waiting-time report is asked.
    pub team: String,
}

/// Latency of one query over `repeats` runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    pub requests_per_run: usize,
    pub runs: usize,
    /// Median over the runs of each run's nearest-rank p50.
    pub p50_ms: f64,
    /// Median over the runs of each run's nearest-rank p99.
    pub p99_ms: f64,
    /// Response size of the last request, for context.
    pub response_bytes: usize,
}

/// The figures of one `query` run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryReport {
    pub events: u64,
    /// Start-up: opening the store and rebuilding every projection from the whole log.
    pub rebuild_seconds: f64,
    pub rebuild_events_per_second: f64,
    pub waiting_times: Latency,
    pub timeline: Latency,
}

/// Starts the API on `store_dir` and measures. `trajectories` are the ids the timeline query
/// cycles through (so one hot entry does not flatter the figure).
pub async fn measure(
    store_dir: &Path,
    load: &LoadPlan,
    plan: &QueryPlan,
    trajectories: &[String],
) -> Result<QueryReport, BenchError> {
    let started = Instant::now();
    let store = Store::open(store_dir)?;
    let options = Options {
        // The cohort's today, so the reports see it as the loader did.
        clock: Clock::fixed(load.today),
        auth: unlimited(),
        ..Options::default()
    };
    let state = AppState::start(store, options).await?;
    let tokens = sign_in(&state, &plan.team).await?;
    // The team lead reads timelines of their own team's trajectories.
    let trajectories = of_team(&state, trajectories, &plan.team);
    let rebuild = started.elapsed();
    let events = state.applied_position();
    eprintln!(
        "  projections rebuilt from {events} events in {:.2} s",
        rebuild.as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(jeugdpad_api::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let result = async {
        let mut client = Client::connect(addr, &tokens.lead).await?;
        let team = json!({ "team": plan.team });
        let waiting_times = client
            .latency(plan, |_| (WAITING_TIMES, team.clone()))
            .await?;
        eprintln!(
            "  waiting-time report: p50 {:.2} ms, p99 {:.2} ms",
            waiting_times.p50_ms, waiting_times.p99_ms
        );
        let timeline = client
            .latency(plan, |i| {
                let id = &trajectories[i % trajectories.len().max(1)];
                (TIMELINE, json!({ "id": id }))
            })
            .await?;
        eprintln!(
            "  timeline: p50 {:.2} ms, p99 {:.2} ms",
            timeline.p50_ms, timeline.p99_ms
        );
        Ok::<_, BenchError>((waiting_times, timeline))
    }
    .await;

    let _ = stop.send(());
    server.await??;
    let (waiting_times, timeline) = result?;
    Ok(QueryReport {
        events,
        rebuild_seconds: rebuild.as_secs_f64(),
        rebuild_events_per_second: events as f64 / rebuild.as_secs_f64().max(f64::EPSILON),
        waiting_times,
        timeline,
    })
}

/// Bearer tokens for the benchmark's readers: the team lead of `team` (timelines of that team,
/// its waiting-time report) and an analyst (all-teams figures). Registers the team and the two
/// users on first use, so a kept cohort can be measured again.
pub(crate) struct Tokens {
    pub(crate) lead: String,
    pub(crate) analyst: String,
}

pub(crate) async fn sign_in(state: &AppState, team: &str) -> Result<Tokens, BenchError> {
    use jeugdpad_access::{AdminEvent, Role};
    use jeugdpad_app::admin::{change, create_token, load_registry};
    use jeugdpad_domain::{TeamCode, UserId};

    let store = state.store();
    let registry = {
        let store = std::sync::Arc::clone(store);
        tokio::task::spawn_blocking(move || load_registry(store.as_ref(), u64::MAX)).await??
    };
    let team = TeamCode::parse(team).map_err(|e| e.to_string())?;
    let lead = UserId::parse(format!("bench-lead-{team}")).map_err(|e| e.to_string())?;
    let analyst = UserId::parse("bench-analyst").map_err(|e| e.to_string())?;
    let clock = jeugdpad_app::Clock::system();
    let now = clock.now();
    let mut setup = Vec::new();
    if !registry.has_team(&team) {
        setup.push(AdminEvent::TeamAdded {
            team: team.clone(),
            name: "benchmark".into(),
        });
    }
    if !registry.users().contains_key(&lead) {
        setup.push(AdminEvent::UserAdded {
            user: lead.clone(),
            name: "benchmark".into(),
            role: Role::TeamLead,
            team: Some(team),
        });
    }
    if !registry.users().contains_key(&analyst) {
        setup.push(AdminEvent::UserAdded {
            user: analyst.clone(),
            name: "benchmark".into(),
            role: Role::Analyst,
            team: None,
        });
    }
    for event in setup {
        change(store, event, "bench", &clock).await?;
    }
    let expires = Some(now + chrono::Duration::days(1));
    let (lead, _) =
        create_token(store, lead, Some("bench".into()), expires, "bench", &clock).await?;
    let (analyst, outcome) = create_token(
        store,
        analyst,
        Some("bench".into()),
        expires,
        "bench",
        &clock,
    )
    .await?;
    if !state.wait_applied(outcome.last_position).await {
        return Err("the server did not take the benchmark's tokens in time".into());
    }
    Ok(Tokens {
        lead: lead.secret,
        analyst: analyst.secret,
    })
}

/// The trajectories (of `ids`) that `team` owns today: the ones its team lead may read.
pub(crate) fn of_team(state: &AppState, ids: &[String], team: &str) -> Vec<String> {
    let projections = state.projections();
    let today = jeugdpad_projections::AsOf::date(state.today());
    ids.iter()
        .filter(|id| {
            jeugdpad_domain::TrajectoryId::parse(id)
                .ok()
                .and_then(|id| projections.summary(id, today))
                .is_some_and(|summary| summary.team.as_str() == team)
        })
        .cloned()
        .collect()
}

/// Sign-in as configured, without the per-token rate limit: the benchmark asks far more than
/// 600 questions a minute on purpose.
pub(crate) fn unlimited() -> jeugdpad_api::AuthOptions {
    jeugdpad_api::AuthOptions {
        requests_per_minute: std::num::NonZeroU32::MAX,
        ..jeugdpad_api::AuthOptions::default()
    }
}

/// One kept-alive HTTP/1.1 connection to the server, signed in with one token.
///
/// The client shares the machine's cores with the server it measures, so what every request
/// repeats (the URI, the headers) is made once per connection.
pub(crate) struct Client {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
    graphql: hyper::Uri,
    host: hyper::header::HeaderValue,
    authorization: hyper::header::HeaderValue,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr, token: &str) -> Result<Client, BenchError> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                eprintln!("jeugdpad-bench: the HTTP connection failed: {error}");
            }
        });
        Ok(Client {
            addr,
            sender,
            graphql: format!("http://{addr}/graphql").parse()?,
            host: addr.to_string().parse()?,
            authorization: format!("Bearer {token}").parse()?,
        })
    }

    /// Sends one GraphQL request and returns the response body; any GraphQL error fails the run,
    /// so a broken query can never be measured as a fast one.
    pub(crate) async fn post(
        &mut self,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<Bytes, BenchError> {
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables }))?;
        let request = hyper::Request::post(self.graphql.clone())
            .header(hyper::header::HOST, self.host.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::AUTHORIZATION, self.authorization.clone())
            .body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() || holds_errors(&body) {
            return Err(format!(
                "the API answered {status}: {}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        Ok(body)
    }

    /// A plain GET of `path` (`/health`, `/metrics`); anything but 2xx is an error.
    pub(crate) async fn get(&mut self, path: &str) -> Result<Bytes, BenchError> {
        let request = hyper::Request::get(format!("http://{}{path}", self.addr))
            .header(hyper::header::HOST, self.host.clone())
            .body(Full::new(Bytes::new()))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(format!("GET {path} answered {status}").into());
        }
        Ok(body)
    }

    /// Warms up, then `repeats` runs of `iterations` requests; `request(i)` gives the i-th.
    pub(crate) async fn latency(
        &mut self,
        plan: &QueryPlan,
        request: impl Fn(usize) -> (&'static str, serde_json::Value),
    ) -> Result<Latency, BenchError> {
        let (query, variables) = request(0);
        let first = self.post(query, variables).await?;
        let parsed: serde_json::Value = serde_json::from_slice(&first)?;
        if let Some(errors) = parsed.get("errors") {
            return Err(format!("the query failed: {errors}").into());
        }
        for i in 0..plan.iterations.min(50) {
            let (query, variables) = request(i);
            self.post(query, variables).await?;
        }

        let mut runs = Vec::with_capacity(plan.repeats);
        let mut response_bytes = 0;
        for _ in 0..plan.repeats.max(1) {
            let mut latencies = Vec::with_capacity(plan.iterations);
            for i in 0..plan.iterations.max(1) {
                let (query, variables) = request(i);
                let began = Instant::now();
                let body = self.post(query, variables).await?;
                latencies.push(began.elapsed());
                response_bytes = body.len();
            }
            latencies.sort_unstable();
            runs.push((
                nearest_rank(&latencies, 0.50),
                nearest_rank(&latencies, 0.99),
            ));
        }
        Ok(Latency {
            requests_per_run: plan.iterations.max(1),
            runs: runs.len(),
            p50_ms: millis(median(runs.iter().map(|run| run.0).collect())),
            p99_ms: millis(median(runs.iter().map(|run| run.1).collect())),
            response_bytes,
        })
    }
}

/// Whether a GraphQL response carries an `errors` member. Looked for in the text, not parsed:
/// inside a string the key's quotes would be escaped, so only the member itself matches.
fn holds_errors(body: &[u8]) -> bool {
    body.windows(ERRORS.len()).any(|window| window == ERRORS)
}

const ERRORS: &[u8] = b"\"errors\":";

pub(crate) fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::holds_errors;

    #[test]
    fn an_errors_member_is_found_and_a_string_holding_the_word_is_not() {
        let failed = serde_json::to_vec(&serde_json::json!({
            "data": null,
            "errors": [{ "message": "x" }]
        }))
        .unwrap();
        assert!(holds_errors(&failed));
        let fine = serde_json::to_vec(&serde_json::json!({
            "data": { "note": "\"errors\": none" }
        }))
        .unwrap();
        assert!(!holds_errors(&fine));
    }
}
