//! The workspace integration tests: one binary, one module per area.

mod api;
mod interchange;
mod record;
