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
//!  query ───▶ read lock on the projections, on a blocking thread; one trajectory's look
//!             (`AppState::look_up`) on the async worker when the log is the segment log and
//!             the lock is free — its timeline reads the trajectory's stream from the store
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
//! # The web app
//!
//! `jeugdpad-web` serves the pages people use. It never reads the store or the read models: it
//! signs a person in through [`session::sign_in`] (the same token and JWT checks as above) and
//! runs GraphQL operations as them with [`session::execute`], so the page and the API share one
//! gate and one access log. [`session::Session`] can only come from a successful sign-in.
//!
//! # Privacy
//!
//! Request variables and query strings are never logged: the one log line per request holds the
//! method, path, operation name and type, status and duration.
//!
//! # Who may do what
//!
//! Every request except `/health` and `/metrics` signs in first (`auth`: an API token or an
//! identity provider's JWT; websockets in `connection_init`, or with the web app's session
//! cookie), is rate-limited per token, and every resolver asks the gate (`gate::allow`) with a named
//! [`jeugdpad_access::Action`] before touching data. The gate applies the one policy of
//! `jeugdpad-access` and writes the NEN 7513 access log. A BSN is accepted only in POST bodies,
//! turned into a subject key at once (HMAC under the installation secret) and never stored or
//! logged.

mod auth;
mod gate;
mod http;
mod metrics;
mod projector;
mod schema;
pub mod session;
mod state;

pub use gate::ClientInfo;
pub use http::{app, serve, serve_router};
pub use schema::{build as build_schema, sdl, ApiSchema, ErrorCode, Language};
pub use session::SessionOptions;
pub use state::{AppState, AuthOptions, Limits, Options, StartError, SECRET_FILE};

/// Attaches a signed-in caller to a request run on the schema directly, without signing in:
/// for the workspace's tests only (feature `test-support`, never in the product binary). The
/// gate treats it like a POST from an unknown address.
#[cfg(feature = "test-support")]
pub fn as_caller(
    request: async_graphql::Request,
    principal: jeugdpad_access::Principal,
) -> async_graphql::Request {
    request
        .data(gate::Gate {
            principal,
            client: gate::ClientInfo::default(),
            expires_at: None,
            session: None,
            logged: gate::LoggedAccesses::default(),
        })
        .data(schema::RequestId(uuid::Uuid::now_v7()))
        .data(schema::Transport(axum::http::Method::POST))
}
