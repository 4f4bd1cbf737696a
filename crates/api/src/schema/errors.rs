//! Foutcodes: every error a client sees carries `extensions.code` and a sentence a consultant
//! understands.
//!
//! The three kinds of failure stay apart (STYLE.md): the user's mistake (`VALIDATION`,
//! `INVALID_TRANSITION`, `NOT_FOUND`), a conflict (`CONFLICT`: reload and retry), and our fault
//! (`INTERNAL`: the details go to the log with the request id, the client gets the id and an
//! apology). `UNAUTHENTICATED` (sign in), `FORBIDDEN` (not for your role or team) and `RATE_LIMITED`
//! (slow down) come from the gate in front of every resolver.

use std::fmt;

use async_graphql::ErrorExtensions;
use jeugdpad_app::RecordError;
use jeugdpad_domain::{DomainError, ValueError};
use uuid::Uuid;

pub use jeugdpad_app::ErrorCode;

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    code: ErrorCode,
    message: String,
    /// The broken rule's slug, for clients that react to specific rules.
    reason: Option<&'static str>,
    /// The argument or input field at fault, when one can be named.
    field: Option<&'static str>,
    request_id: Option<Uuid>,
}

/// Shorthand for resolver results.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            reason: None,
            field: None,
            request_id: None,
        }
    }

    /// A malformed value in `field`. The message never repeats the value (it may be a BSN).
    pub(crate) fn invalid(field: &'static str, error: impl fmt::Display) -> ApiError {
        ApiError {
            field: Some(field),
            ..ApiError::new(ErrorCode::Validation, format!("{field}: {error}"))
        }
    }

    /// Adds the slug of what exactly is wrong (`extensions.reason`), for clients that react to
    /// it.
    pub(crate) fn with_reason(self, reason: &'static str) -> ApiError {
        ApiError {
            reason: Some(reason),
            ..self
        }
    }

    /// The sentence the client sees.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, message)
    }

    /// The same error, naming the argument or input field at fault.
    pub(crate) fn on_field(self, field: &'static str) -> ApiError {
        ApiError {
            field: Some(field),
            ..self
        }
    }

    /// Our fault: logs `detail` with the request id; the client gets `message` and the id.
    pub(crate) fn internal(
        message: &str,
        detail: &dyn fmt::Display,
        request_id: Option<Uuid>,
    ) -> ApiError {
        tracing::error!(request_id = ?request_id, error = %detail, "internal error");
        ApiError {
            request_id,
            ..ApiError::new(ErrorCode::Internal, message)
        }
    }

    /// Maps a failed `record` to what the consultant should hear.
    pub(crate) fn from_record(error: RecordError, request_id: Option<Uuid>) -> ApiError {
        let code = error.code();
        match error {
            RecordError::Rejected(DomainError::NotOpened) => ApiError {
                reason: Some(DomainError::NotOpened.reason()),
                ..ApiError::new(
                    code,
                    "there is no trajectory with this id; open one with openTrajectory first",
                )
            },
            RecordError::Rejected(domain) => ApiError {
                reason: Some(domain.reason()),
                ..ApiError::new(code, domain.to_string())
            },
            RecordError::Conflict { .. } | RecordError::EventIdReused(_) => {
                ApiError::new(code, error.to_string())
            }
            RecordError::Store(jeugdpad_store::StoreError::Storage(_)) => ApiError::internal(
                "something went wrong on our side while saving; the step may not have been \
                 recorded. Try again: sending the same eventId again never records it twice",
                &error,
                request_id,
            ),
            RecordError::Undecodable { .. } | RecordError::Store(_) => ApiError::internal(
                "something went wrong on our side; nothing was recorded. Please try again",
                &error,
                request_id,
            ),
        }
    }
}

impl From<ValueError> for ApiError {
    fn from(error: ValueError) -> Self {
        ApiError::new(ErrorCode::Validation, error.to_string())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        async_graphql::Error::new(error.message).extend_with(|_, extensions| {
            extensions.set("code", error.code.as_str());
            if let Some(reason) = error.reason {
                extensions.set("reason", reason);
            }
            if let Some(field) = error.field {
                extensions.set("field", field);
            }
            if let Some(id) = error.request_id {
                extensions.set("requestId", id.to_string());
            }
        })
    }
}

/// Parses a value of a validated domain type, naming the field on failure.
pub(crate) fn parse<T>(field: &'static str, result: Result<T, impl fmt::Display>) -> ApiResult<T> {
    result.map_err(|error| ApiError::invalid(field, error))
}
