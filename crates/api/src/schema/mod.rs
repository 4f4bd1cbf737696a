//! The GraphQL schema: queries over the read models, one mutation per event, subscriptions.
//!
//! `schema/schema.graphql` at the repository root is [`sdl`] checked in; the `schema_file_is_current`
//! test fails when it drifts.

mod admin;
mod allowed;
mod caseload;
mod codes;
mod enums;
mod errors;
mod export;
mod inputs;
mod mutation;
mod query;
mod reports;
mod scalars;
mod subscription;
mod types;

use async_graphql::{Schema, SchemaBuilder};
use uuid::Uuid;

pub use admin::{AdminMutation, AdminQuery};
pub use caseload::CaseloadQuery;
pub use errors::ErrorCode;
pub use errors::Language;
pub(crate) use errors::{in_dutch, ApiError, ApiResult, Attempt};
pub use export::ExportQuery;
pub use mutation::CaseMutation;
pub use query::CaseQuery;
pub(crate) use scalars::{DATE_FORMAT, INSTANT_FORMAT};

/// Every query: a trajectory's file and the figures, the caseload, the analyst's export, the
/// admin's reads.
#[derive(Debug, Default, async_graphql::MergedObject)]
pub struct Query(CaseQuery, CaseloadQuery, ExportQuery, AdminQuery);

/// Every mutation: recording steps, then the admin's changes.
#[derive(Debug, Default, async_graphql::MergedObject)]
pub struct Mutation(CaseMutation, AdminMutation);
pub use subscription::Subscription;

use crate::state::AppState;

/// The schema type.
pub type ApiSchema = Schema<Query, Mutation, Subscription>;

/// The id of one HTTP request (or websocket connection): stored as the events' `correlation_id`,
/// logged, and returned with `INTERNAL` errors so support can find the log line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestId(pub(crate) Uuid);

/// The HTTP method a request came with: a BSN may never travel in a URL, so resolvers that
/// take one refuse GET.
#[derive(Debug, Clone)]
pub(crate) struct Transport(pub(crate) axum::http::Method);

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
}

/// The schema serving `state`, with the depth and complexity limits. [`crate::app`] serves it
/// over HTTP; tests and tools can execute requests on it directly (put a [`crate::Caller`] into
/// the request data to record steps).
pub fn build(state: &AppState) -> ApiSchema {
    builder()
        .data(state.clone())
        .limit_depth(state.limits.depth)
        .limit_complexity(state.limits.complexity)
        .finish()
}

/// The schema in SDL, as checked in at `schema/schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
