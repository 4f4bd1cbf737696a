//! The HTTP surface: the router, websockets, health, metrics and the request log.
//!
//! The GraphQL handler (`graphql`) is written here rather than taken ready-made, for three
//! reasons: it sees the request headers (authentication plugs in at `graphql::caller`), it
//! answers in the media type the client's `Accept` asks for (`application/json` or
//! `application/graphql-response+json`, with the status codes the GraphQL-over-HTTP spec gives
//! each), and it refuses mutations over GET (405) so a link or a prefetch never records a step.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jeugdpad_store::{StopCause, Stopped};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use uuid::Uuid;

mod answer;
mod documents;
mod graphql;
mod websocket;

use crate::metrics::Format;
use crate::schema::{self, ApiSchema, ErrorCode};
use crate::state::AppState;
use graphql::{error_response, graphql_get, graphql_post, too_large, JSON};
use websocket::{upgrade_websocket, websocket};

/// What the router's handlers share. One pointer: the router clones its state for every
/// request, and the `AppState`'s many handles, each counted on its own, made that clone show
/// in a profile of timeline reads.
#[derive(Clone)]
struct Http(std::sync::Arc<Shared>);

/// What [`Http`] points to.
struct Shared {
    state: AppState,
    schema: ApiSchema,
    /// Parsed documents by their text (see `documents`).
    documents: documents::Documents,
}

impl std::ops::Deref for Http {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What the GraphQL handler tells the request log and the metrics about a request. Placed in
/// the response's extensions; never holds variables or values.
#[derive(Debug, Clone, Default)]
struct RequestInfo {
    request_id: Option<Uuid>,
    operation: Option<String>,
    kind: &'static str,
    outcome: &'static str,
    /// The signed-in user (never a token or a BSN).
    user: Option<String>,
}

/// The router: GraphQL at `/graphql` (POST; GET for queries; websocket upgrade), websocket
/// subscriptions also at `/graphql/ws`, `/health` and `/metrics`. The pages people use — the
/// web app at `/` and GraphiQL at `/graphiql` — are `jeugdpad-web`'s router, merged beside
/// this one by the `jeugdpad` binary.
pub fn app(state: AppState) -> Router {
    let schema = schema::build(&state);
    let limit = state.limits.body_bytes;
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(websocket))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(Http(std::sync::Arc::new(Shared {
            state,
            schema,
            documents: Default::default(),
        })))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(middleware::map_response(move |response| {
            explain_body_limit(response, limit)
        }))
        .layer(middleware::map_response(explain_method_not_allowed))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                JSON,
                ErrorCode::Internal,
                "something went wrong on our side; nothing was recorded. Please try again",
            )
        }))
        .layer(middleware::from_fn(log_request))
}

/// Serves `state` on `listener` until `shutdown` resolves; then lets in-flight requests finish,
/// ends subscriptions, and closes the store so every in-flight append is flushed.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(state.clone());
    serve_router(listener, state, router, shutdown).await
}

/// [`serve`] with a router of the caller's: [`app`] with more routes merged beside it (the web
/// app). Stops the same way.
pub async fn serve_router(
    listener: TcpListener,
    state: AppState,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopper = state.clone();
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("stopping: finishing in-flight requests");
            stopper.signal_stop();
        })
        .await;
    state.signal_stop();
    close_store(state).await;
    result
}

/// Closes the store once no connection holds it any more (websocket tasks end on the stop
/// signal). Every acknowledged append is durable already; closing answers and flushes whatever
/// was still in flight.
async fn close_store(state: AppState) {
    let mut store = std::sync::Arc::clone(&state.store);
    let projector = state
        .projector
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    drop(state);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match std::sync::Arc::try_unwrap(store) {
            Ok(owned) => {
                match tokio::task::spawn_blocking(move || owned.close()).await {
                    Ok(Ok(())) => tracing::info!("event store closed"),
                    Ok(Err(error)) => tracing::error!(%error, "closing the event store failed"),
                    Err(error) => tracing::error!(%error, "closing the event store failed"),
                }
                // The projector's subscription ends with the store; once the task is gone, so
                // is the last handle on the database, and the directory is free for the next
                // process.
                if let Some(projector) = projector {
                    if tokio::time::timeout(Duration::from_secs(5), projector)
                        .await
                        .is_err()
                    {
                        tracing::warn!("the projector did not stop within 5 s");
                    }
                }
                return;
            }
            Err(shared) if Instant::now() < deadline => {
                store = shared;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(_) => {
                tracing::warn!(
                    "the event store is still in use; it closes when the last user lets go"
                );
                return;
            }
        }
    }
}

/// `RequestBodyLimitLayer` answers an oversized `Content-Length` with a bare 413; give it the same
/// clear JSON error the handler gives a body that grows too large while streaming.
async fn explain_body_limit(response: Response, limit: usize) -> Response {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return too_large(limit, JSON);
    }
    response
}

/// The router's own 405 (a PUT or DELETE, a POST to `/health`) has no body: give it the error
/// body every other refusal has, and keep its `Allow` header.
async fn explain_method_not_allowed(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if response.status() != StatusCode::METHOD_NOT_ALLOWED || is_json {
        return response;
    }
    let allow = response.headers().get(ALLOW).cloned();
    let mut explained = error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        JSON,
        ErrorCode::Validation,
        "this address does not take this HTTP method; the Allow header names the ones it takes \
         (GraphQL: POST, or GET for queries)",
    );
    if let Some(allow) = allow {
        explained.headers_mut().insert(ALLOW, allow);
    }
    explained
}

/// `/health`: the store's head and how far the read models are; 503 while the server stops,
/// or while the store refuses writes (a full disk, a failed write: `reason` says what happened
/// and what the operator does). Every timeline read writes an access-log entry first, so a
/// store that cannot write cannot serve the pages people use either.
async fn health(State(http): State<Http>) -> Response {
    let head = http.state.store_head();
    let applied = http.state.applied_position();
    let stopping = *http.state.stopping.borrow();
    let stopped = http.state.store().condition().stopped();
    let (status, word) = match (&stopped, stopping) {
        (_, true) => (StatusCode::SERVICE_UNAVAILABLE, "stopping"),
        (Some(stopped), false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            match stopped.cause {
                StopCause::Full => "storage_full",
                StopCause::Failed => "storage_failed",
            },
        ),
        (None, false) => (StatusCode::OK, "ok"),
    };
    let mut body = json!({
        "status": word,
        "storeHead": head,
        "projectionPosition": applied,
        "projectionLag": head.saturating_sub(applied),
        "today": http.state.today().to_string(),
    });
    if let Some(stopped) = stopped {
        body["reason"] = json!(storage_reason(&stopped));
        body["resumesByItself"] = json!(stopped.resumes_by_itself);
    }
    (status, Json(body)).into_response()
}

/// What `/health` tells the operator about a store that refuses writes.
fn storage_reason(stopped: &Stopped) -> String {
    let what = match stopped.cause {
        StopCause::Full => "the event store's disk is full; no step can be recorded and no file read (each read is logged first)",
        StopCause::Failed => "a write to the event store's disk failed; no step can be recorded and no file read (each read is logged first)",
    };
    let remedy = match (stopped.cause, stopped.resumes_by_itself) {
        (StopCause::Full, true) => "free space on the data directory's disk: the store takes writes again by itself within a minute, no restart needed",
        (StopCause::Failed, true) => "check the disk (the system log names the error): the store retries by itself, at most a minute apart, and takes writes again once the disk does",
        (_, false) => "free space or repair the disk, then restart the server: this store (format 1, sled) takes writes again only after a restart",
    };
    format!("{what}: {}. What to do: {remedy}", stopped.what)
}

/// `/metrics`: Prometheus text, in the format the scraper's `Accept` asks for (OpenMetrics, or
/// the classic text format 0.0.4; see `metrics/exposition.rs`), 406 when it accepts neither.
/// Rendered on a blocking thread: some metrics read `/proc` or walk the data directory.
async fn metrics(State(http): State<Http>, headers: axum::http::HeaderMap) -> Response {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let Some(format) = Format::negotiate(accept) else {
        let mut response = (
            StatusCode::NOT_ACCEPTABLE,
            "/metrics answers application/openmetrics-text (version 1.0.0) or text/plain (version 0.0.4)\n",
        )
            .into_response();
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return response;
    };
    let state = http.state.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        state
            .metrics
            .render(state.store_head(), state.applied_position(), format)
    })
    .await;
    let text = match rendered {
        Ok(text) => text,
        Err(error) => {
            tracing::error!(%error, "rendering the metrics failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = text.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}

/// One structured line per request: method, path (never the query string: GET requests carry
/// variables there), operation name and type, outcome, status, duration.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let info = response
        .extensions()
        .get::<RequestInfo>()
        .cloned()
        .unwrap_or_default();
    tracing::info!(
        target: "jeugdpad_api::request",
        method = %method,
        path = %path,
        operation = info.operation.as_deref().unwrap_or("-"),
        kind = if info.kind.is_empty() { "-" } else { info.kind },
        outcome = if info.outcome.is_empty() { "-" } else { info.outcome },
        user = info.user.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = %info.request_id.map(|id| id.to_string()).unwrap_or_default(),
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use jeugdpad_store::{StopCause, Stopped};

    use super::storage_reason;

    #[test]
    fn the_health_reason_says_what_to_do_for_each_engine() {
        let stopped = |cause, resumes_by_itself| Stopped {
            cause,
            what: "writing positions 7..=7 failed".into(),
            resumes_by_itself,
        };
        let full = storage_reason(&stopped(StopCause::Full, true));
        assert!(
            full.contains("disk is full") && full.contains("no restart needed"),
            "{full}"
        );
        assert!(full.contains("positions 7..=7"), "{full}");
        let sled = storage_reason(&stopped(StopCause::Full, false));
        assert!(sled.contains("restart the server"), "{sled}");
        let failed = storage_reason(&stopped(StopCause::Failed, true));
        assert!(failed.contains("check the disk"), "{failed}");
    }
}
