//! The workspace integration tests.
