//! Meetpunten: Prometheus metrics at `/metrics`.
//!
//! One registry per server (no global recorder), so tests can run several servers in one process.
//! Every label value comes from a small set the server fixes — operation types, outcome codes,
//! sign-in reason slugs, root field names of the schema — never from what a client chooses
//! (operation names, ids, variables), so no client can grow the number of series. They are
//! also plain words: prometheus-client 0.23 writes label values without escaping `"`, `\` or
//! line breaks, so a value holding one would break the exposition.
//! `docs/metrics.md` lists every metric, its labels and what to alert on.
//!
//! Most metrics are counted as things happen; a few are read when scraped ([`collect`]: the
//! store writer's timings, the data directory's size, the process' memory and files).
//! [`Metrics::render`] therefore blocks: call it on a blocking thread.

mod collect;
mod exposition;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use jeugdpad_store::{Condition, WriterTimings};
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

pub(crate) use exposition::Format;

/// Labels of one GraphQL request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    /// `query`, `mutation`, `subscription` or `none` (the document did not parse).
    pub(crate) operation: String,
    /// `ok`, or the lower-case code of the first error (`validation`, `conflict`, ...).
    pub(crate) outcome: String,
}

/// Labels of the latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OperationLabels {
    pub(crate) operation: String,
}

/// Labels of the latency per root field.
///
/// "Per operation" means per *root field* (`openTrajectory`, `waitingTimes`, …), not per
/// operation name: operation names are chosen by clients (`query Anything123 { … }`), so a
/// label made of them could grow without bound — one buggy or hostile client, a new series per
/// request. Root field names come from the schema, and only requests that passed validation
/// are observed (so every name exists in the schema): at most one series set per root field.
/// They also say what ran, whatever the client called it. An operation with several different
/// root fields is observed as `several`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RootFieldLabels {
    /// `query`, `mutation` or `subscription`.
    pub(crate) operation: String,
    /// The operation's one root field (aliases resolved), or `several`.
    pub(crate) root_field: String,
}

/// Labels of a failed sign-in.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SignInLabels {
    /// `http`, `websocket` (at `connection_init`) or `subscription` (a running subscription
    /// whose credential stopped holding).
    pub(crate) transport: String,
    /// The access log's reason slug (`unknown_token`, `expired_token`, `oidc_expired`, …).
    pub(crate) reason: String,
}

/// Labels of a refusal for going too fast.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RateLimitLabels {
    /// `caller` (one token's or one identity-provider user's limit), `logged_accesses` (the
    /// same limit, reached by the access-log entries of one request) or `failed_sign_ins` (one
    /// client address' failed sign-ins).
    pub(crate) reason: String,
}

/// Labels of the open subscriptions.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SubscriptionLabels {
    /// The subscription field (`trajectoryEvents`, `teamEvents`).
    pub(crate) subscription: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric the server exports.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    /// `process_*` under the names every Prometheus client library uses (no `jeugdpad_`
    /// prefix), so standard dashboards find them.
    process: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) duration: HistogramFamily<OperationLabels>,
    root_field_duration: HistogramFamily<RootFieldLabels>,
    /// Events newly stored by mutations (idempotent retries do not count).
    pub(crate) appended: Counter,
    pub(crate) projection_position: Gauge,
    pub(crate) projection_errors: Counter,
    store_head: Gauge,
    projection_lag: Gauge,
    sign_in_failures: Family<SignInLabels, Counter>,
    rate_limited: Family<RateLimitLabels, Counter>,
    subscriptions: Family<SubscriptionLabels, Gauge>,
    websockets: Gauge,
    rebuild_seconds: Gauge<f64, AtomicU64>,
}

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    /// The metrics of a server whose store reports `timings` and `condition` and lives in
    /// `data_dir`.
    pub(crate) fn new(
        timings: Arc<WriterTimings>,
        condition: Arc<Condition>,
        data_dir: PathBuf,
    ) -> Metrics {
        let mut registry = Registry::with_prefix("jeugdpad");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by operation type and outcome",
            requests.clone(),
        );
        let duration: HistogramFamily<OperationLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request",
            duration.clone(),
        );
        let root_field_duration: HistogramFamily<RootFieldLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_root_field_duration_seconds",
            "Time to answer an executed GraphQL request, by its root field",
            root_field_duration.clone(),
        );
        let appended = Counter::default();
        registry.register(
            "events_appended",
            "Events durably appended by mutations",
            appended.clone(),
        );
        let projection_position = Gauge::default();
        registry.register(
            "projection_position",
            "Global log position the read models include",
            projection_position.clone(),
        );
        let projection_errors = Counter::default();
        registry.register(
            "projection_errors",
            "Events the read models could not read, and failed log reads",
            projection_errors.clone(),
        );
        let store_head = Gauge::default();
        registry.register(
            "store_head_position",
            "Last durable global position of the event store",
            store_head.clone(),
        );
        let projection_lag = Gauge::default();
        registry.register(
            "projection_lag_events",
            "Durable events the read models do not include yet",
            projection_lag.clone(),
        );
        let sign_in_failures = Family::<SignInLabels, Counter>::default();
        registry.register(
            "sign_in_failures",
            "Failed sign-ins by transport and reason",
            sign_in_failures.clone(),
        );
        let rate_limited = Family::<RateLimitLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused for going too fast, by which limit",
            rate_limited.clone(),
        );
        let subscriptions = Family::<SubscriptionLabels, Gauge>::default();
        registry.register(
            "subscriptions_active",
            "Running GraphQL subscriptions",
            subscriptions.clone(),
        );
        let websockets = Gauge::default();
        registry.register(
            "websockets_open",
            "Open websocket connections",
            websockets.clone(),
        );
        let rebuild_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "startup_rebuild_seconds",
            "Time the last start-up took to rebuild the read models from the log",
            rebuild_seconds.clone(),
        );
        registry.register_collector(Box::new(collect::StoreTimings(timings)));
        registry.register_collector(Box::new(collect::StoreCondition(condition)));
        registry.register_collector(Box::new(collect::DataDir::new(data_dir)));
        #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
        let mut process = Registry::default();
        #[cfg(target_os = "linux")]
        process.register_collector(Box::new(collect::Process));
        Metrics {
            registry,
            process,
            requests,
            duration,
            root_field_duration,
            appended,
            projection_position,
            projection_errors,
            store_head,
            projection_lag,
            sign_in_failures,
            rate_limited,
            subscriptions,
            websockets,
            rebuild_seconds,
        }
    }

    /// Counts one GraphQL request.
    pub(crate) fn request(&self, operation: &str, outcome: &str, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                operation: operation.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.duration
            .get_or_create(&OperationLabels {
                operation: operation.to_owned(),
            })
            .observe(seconds);
    }

    /// Times one executed request by its root field. Call only for requests that passed
    /// validation (see [`RootFieldLabels`]).
    pub(crate) fn root_field(&self, operation: &str, root_field: &str, seconds: f64) {
        self.root_field_duration
            .get_or_create(&RootFieldLabels {
                operation: operation.to_owned(),
                root_field: root_field.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts a request refused before execution (malformed HTTP, not a GraphQL outcome).
    pub(crate) fn rejected(&self) {
        self.requests
            .get_or_create(&RequestLabels {
                operation: "none".to_owned(),
                outcome: "bad_request".to_owned(),
            })
            .inc();
    }

    /// Counts a failed sign-in (`reason`: the access log's slug).
    pub(crate) fn sign_in_failed(&self, transport: &str, reason: &str) {
        self.sign_in_failures
            .get_or_create(&SignInLabels {
                transport: transport.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a request refused by a rate limit (`caller` or `failed_sign_ins`).
    pub(crate) fn rate_limited(&self, reason: &str) {
        self.rate_limited
            .get_or_create(&RateLimitLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a subscription as running until the returned guard is dropped (when its stream
    /// ends or the client goes away).
    pub(crate) fn subscription_started(&self, subscription: &str) -> Active {
        let gauge = self
            .subscriptions
            .get_or_create(&SubscriptionLabels {
                subscription: subscription.to_owned(),
            })
            .clone();
        Active::new(gauge)
    }

    /// Counts an open websocket until the returned guard is dropped.
    pub(crate) fn websocket_opened(&self) -> Active {
        Active::new(self.websockets.clone())
    }

    /// Records how long the start-up rebuild of the read models took.
    pub(crate) fn startup_rebuild(&self, seconds: f64) {
        self.rebuild_seconds.set(seconds);
    }

    /// The exposition in `format`, with the store head and projection lag as of now. Blocks:
    /// reads `/proc/self` and may walk the data directory.
    pub(crate) fn render(&self, store_head: u64, applied: u64, format: Format) -> String {
        self.store_head.set(clamp(store_head));
        self.projection_lag
            .set(clamp(store_head.saturating_sub(applied)));
        let mut text = String::new();
        let encoded = encode_registry(&mut text, &self.registry)
            .and_then(|()| encode_registry(&mut text, &self.process))
            .and_then(|()| encode_eof(&mut text));
        if let Err(error) = encoded {
            tracing::error!(%error, "encoding the metrics failed");
        }
        match format {
            Format::OpenMetrics => text,
            Format::Classic => exposition::to_classic(&text),
        }
    }
}

/// A gauge held up by one while this lives.
#[derive(Debug)]
pub(crate) struct Active(Gauge);

impl Active {
    fn new(gauge: Gauge) -> Active {
        gauge.inc();
        Active(gauge)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
