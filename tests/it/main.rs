//! The workspace integration tests: one binary, one module per area. (Two tests live with their
//! crates because they need their own binaries: the store's crash test, which re-runs its own
//! test binary as the child it kills, and the command line's tests of the real `jeugdpad`.)

mod access_index;
mod api;
mod docs;
mod interchange;
mod oidc;
mod postgres;
mod record;
mod store;
mod upgrade;
