//! Jeugdpad's GraphQL API: the axum router, the schema, and the plumbing between the durable log
//! and the read models.
//!
//! # How one request flows
//!
//! ```text
//!  mutation ──▶ jeugdpad_app::record (load, decide, append: durable when it returns)
//!                 │ append outcome: last position P
//!                 ▼
//!           wait until the projector applied P  ◀── projector task: store.subscribe(0) → to_fact
//!                 │ (read-your-writes)                  → Projections::apply → `applied` watch
//!                 ▼                                     → broadcast (subscriptions)
//!           answer from the projections
//!
//!  query ───▶ read lock on the projections (never the store, except the raw `events` of one
//!             stream, read in `spawn_blocking`)
//! ```
//!
//! The projections are rebuilt from position 0 at start-up ([`AppState::start`] returns once they
//! have caught up with the store's head), so a restart never serves a half-built read model.
//!
//! # Errors
//!
//! Every resolver error carries `extensions.code`: `VALIDATION`, `INVALID_TRANSITION`,
//! `CONFLICT`, `NOT_FOUND`, `UNAUTHENTICATED`, `FORBIDDEN` or `INTERNAL` (see [`ErrorCode`]). The
//! message is a sentence a consultant understands; for `INTERNAL` the details go to the log only,
//! next to the request id the client also receives.
//!
//! # Privacy
//!
//! Request variables and query strings are never logged: the one log line per request holds the
//! method, path, operation name and type, status and duration.
//!
//! # Who may do what
//!
//! Every request except `/health`, `/metrics` and GraphiQL's page signs in first (`auth`: an API
//! token or an identity provider's JWT; websockets in `connection_init`), is rate-limited per
//! token, and every resolver asks the gate (`gate::allow`) with a named
//! [`jeugdpad_access::Action`] before touching data. The gate applies the one policy of
//! `jeugdpad-access` and writes the NEN 7513 access log. A BSN is accepted only in POST bodies,
//! turned into a subject key at once (HMAC under the installation secret) and never stored or
//! logged.

mod auth;
mod clock;
mod gate;
mod http;
mod metrics;
mod projector;
mod schema;
mod state;

pub use clock::Clock;
pub use http::{app, serve};
pub use schema::{build as build_schema, sdl, ApiSchema, ErrorCode};
pub use state::{AppState, AuthOptions, Limits, Options, StartError, SECRET_FILE};

/// Attaches a signed-in caller to a request run on the schema directly (tests and tools that
/// do not go through HTTP); the gate treats it like a POST from an unknown address.
pub fn as_caller(
    request: async_graphql::Request,
    principal: jeugdpad_access::Principal,
) -> async_graphql::Request {
    request
        .data(gate::Gate {
            principal,
            client: gate::ClientInfo::default(),
            expires_at: None,
        })
        .data(schema::RequestId(uuid::Uuid::now_v7()))
        .data(schema::Transport(axum::http::Method::POST))
}

use std::net::SocketAddr;
use std::path::Path;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server started by [`start_for_tests`]: its address and the means to stop it.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// The state it serves (to read projections or the store in assertions).
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), std::io::Error>>>,
}

impl TestServer {
    /// `http://127.0.0.1:PORT/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// Stops the server gracefully (in-flight requests finish, the store is closed) and waits.
    pub async fn shutdown(self) -> Result<(), std::io::Error> {
        let TestServer {
            state, stop, task, ..
        } = self;
        // Our clone of the state holds the store too: let go of it so the server can close it.
        drop(state);
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        match task {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

/// Opens a store in `dir`, starts the server on 127.0.0.1 with a free port and `clock`, and
/// returns once it accepts connections. For integration tests: one line per test server.
pub async fn start_for_tests(dir: &Path, clock: Clock) -> Result<TestServer, StartError> {
    let options = Options {
        clock,
        ..Options::default()
    };
    start_for_tests_with(dir, options).await
}

/// [`start_for_tests`] with every option given (identity provider, rate limit, …).
pub async fn start_for_tests_with(dir: &Path, options: Options) -> Result<TestServer, StartError> {
    let store = jeugdpad_store::SledStore::open(dir)?;
    let state = AppState::start(store, options).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(StartError::Listen)?;
    let addr = listener.local_addr().map_err(StartError::Listen)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(TestServer {
        addr,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}
