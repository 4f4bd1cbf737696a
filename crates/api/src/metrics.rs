//! Meetpunten: Prometheus metrics at `/metrics`.
//!
//! One registry per server (no global recorder), so tests can run several servers in one process.
//! Labels carry only operation types and outcome codes: never operation names chosen by clients
//! beyond that, never ids or variables.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

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

type HistogramFamily = Family<OperationLabels, Histogram, fn() -> Histogram>;

/// Every metric the server exports.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) duration: HistogramFamily,
    /// Events newly stored by mutations (idempotent retries do not count).
    pub(crate) appended: Counter,
    pub(crate) projection_position: Gauge,
    pub(crate) projection_errors: Counter,
    store_head: Gauge,
    projection_lag: Gauge,
}

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("jeugdpad");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by operation type and outcome",
            requests.clone(),
        );
        let duration: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request",
            duration.clone(),
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
        Metrics {
            registry,
            requests,
            duration,
            appended,
            projection_position,
            projection_errors,
            store_head,
            projection_lag,
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

    /// Counts a request refused before execution (malformed HTTP, not a GraphQL outcome).
    pub(crate) fn rejected(&self) {
        self.requests
            .get_or_create(&RequestLabels {
                operation: "none".to_owned(),
                outcome: "bad_request".to_owned(),
            })
            .inc();
    }

    /// The Prometheus text exposition, with the store head and projection lag as of now.
    pub(crate) fn render(&self, store_head: u64, applied: u64) -> String {
        self.store_head.set(clamp(store_head));
        self.projection_lag
            .set(clamp(store_head.saturating_sub(applied)));
        let mut text = String::new();
        if let Err(error) = encode(&mut text, &self.registry) {
            tracing::error!(%error, "encoding the metrics failed");
        }
        text
    }
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
