//! # jeugdpad-access — who may do what
//!
//! Youth-care files are among the most sensitive data a municipality holds. This crate is the
//! part of Jeugdpad that decides access, kept pure (no I/O, no clock, no randomness) so that
//! every rule is a table test:
//!
//! - [`Role`] and [`Principal`]: the authenticated caller, whose role and team always fit;
//! - [`policy`]: SPEC §5 as **one** function, [`permits`], over named [`Action`]s. The API names
//!   the action of each operation and asks; nothing else decides;
//! - [`registry`]: teams, users and API tokens as events of the `admin` stream, with the rules
//!   for changing them and for signing in with a token;
//! - [`log`]: the NEN 7513 access-log entry, stored as an event of the `access-log` stream.
//!
//! Key material (token hashing, BSN pseudonyms, sealing free text) lives in `jeugdpad-secrets`,
//! OIDC token verification in `jeugdpad-oidc`; both hand this crate only their verified results.

pub mod log;
pub mod policy;
mod principal;
pub mod registry;
mod role;

pub use log::{AccessAction, AccessEntry, Outcome, ACCESS_EVENT_TYPE, ACCESS_LOG_STREAM};
pub use policy::{effective_team, permits, Action, Refusal};
pub use principal::{Credential, Principal, PrincipalError};
pub use registry::{AdminError, AdminEvent, Registry, TokenProblem, ADMIN_STREAM};
pub use role::{Role, UnknownRole};
