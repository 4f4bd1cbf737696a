//! Jeugdpad's application layer: the one door between the pure domain and the durable store.
//!
//! Everything that reads the store into the domain, or writes the domain's decisions into the
//! store, goes through here — the API, the command line, seeding, import, export, the benchmarks
//! and the tests — so that none of them can do it slightly differently:
//!
//! - **recording** ([`record`]): read the trajectory's stream and fold it ([`load`],
//!   [`load_blocking`]), let the domain decide the command and encode the one fact it accepts
//!   ([`decide_and_encode`]; a whole new stream with [`decide_stream`]), and append it with the
//!   version the decision was based on as the expected version, so a concurrent writer turns into
//!   a [`RecordError::Conflict`] instead of a lost update;
//! - **the feed into the read models** ([`feed`]): stored envelope → domain fact → the read
//!   models' [`jeugdpad_projections::LoggedFact`], and the start-up rebuild ([`feed::catch_up`]);
//! - **the registry** of teams, users and tokens ([`admin`]) and **the access log**
//!   ([`access_log`]), both streams of the same store;
//! - **"today"** ([`Clock`]: Europe/Amsterdam, for server and command line alike) and the stable
//!   error codes ([`ErrorCode`]).
//!
//! The three kinds of failure stay apart: the user's mistake ([`RecordError::Rejected`]), a
//! conflict ([`RecordError::Conflict`]) and an infrastructure fault (everything else).

pub mod access_log;
pub mod admin;
mod clock;
mod code;
pub mod feed;
mod free_text;
mod record;

pub use clock::{amsterdam_time, Clock};
pub use code::ErrorCode;
pub use feed::to_fact;
pub use free_text::{FreeText, Readable};
pub use record::{
    decide_and_encode, decide_stream, fold, load, load_blocking, record, Context, Decided, Loaded,
    RecordError, RecordedStep, Request,
};
