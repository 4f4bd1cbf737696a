//! Foutcodes: the stable codes every error a user can cause carries, as one enum.
//!
//! Clients read them from GraphQL's `extensions.code`; the command line and the web pages decide
//! by them what to tell a person. They travel as this enum from the layer that knows the kind of
//! failure to the layer that shows it — never as text parsed back — so a new kind cannot be
//! silently shown as `INTERNAL`.

use std::fmt;

/// The stable error codes. The three kinds of failure stay apart (the user's mistake, a
/// conflict, our fault), plus the gate's answers about who may do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The input is malformed, whatever the trajectory's state: fix the input.
    Validation,
    /// The input is fine but breaks a rule given the trajectory's state (docs/rules.md).
    InvalidTransition,
    /// Someone else recorded a step first: reload and try again.
    Conflict,
    /// The named trajectory, team or event does not exist.
    NotFound,
    /// No valid credentials: no token, or an unknown, expired or revoked one.
    Unauthenticated,
    /// Signed in, but this role or team may not do this.
    Forbidden,
    /// Too many requests with one token in a short time: wait and try again.
    RateLimited,
    /// The store's disk is full: nothing was recorded (nor, for a read, shown); it is safe to
    /// send the same step again once there is room, which the operator must make.
    StorageFull,
    /// The store stopped taking writes after a failed write to its disk: nothing was recorded
    /// (nor shown); safe to send again later. The operator must look at the disk.
    StorageFailed,
    /// Our fault, not the user's.
    Internal,
}

impl ErrorCode {
    /// Every code, e.g. for documentation and metrics.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::Validation,
        ErrorCode::InvalidTransition,
        ErrorCode::Conflict,
        ErrorCode::NotFound,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::RateLimited,
        ErrorCode::StorageFull,
        ErrorCode::StorageFailed,
        ErrorCode::Internal,
    ];

    /// The code as clients see it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Validation => "VALIDATION",
            ErrorCode::InvalidTransition => "INVALID_TRANSITION",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::StorageFull => "STORAGE_FULL",
            ErrorCode::StorageFailed => "STORAGE_FAILED",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ErrorCode {
    /// The code of a store error that is the store's state rather than a bug: a full disk
    /// (`STORAGE_FULL`), a writer that stopped after a failed write, or a PostgreSQL server out
    /// of reach (`STORAGE_FAILED`), in each case with nothing written. `None` for every other
    /// store error.
    pub fn of_store(error: &jeugdpad_store::StoreError) -> Option<ErrorCode> {
        match error {
            jeugdpad_store::StoreError::StorageFull(_) => Some(ErrorCode::StorageFull),
            jeugdpad_store::StoreError::Failed(_) | jeugdpad_store::StoreError::Unreachable(_) => {
                Some(ErrorCode::StorageFailed)
            }
            _ => None,
        }
    }
}

impl From<jeugdpad_domain::RuleKind> for ErrorCode {
    fn from(kind: jeugdpad_domain::RuleKind) -> Self {
        match kind {
            jeugdpad_domain::RuleKind::Validation => ErrorCode::Validation,
            jeugdpad_domain::RuleKind::InvalidTransition => ErrorCode::InvalidTransition,
        }
    }
}
