//! Foutcodes: every error a client sees carries `extensions.code` and a sentence a consultant
//! understands.
//!
//! The three kinds of failure stay apart (STYLE.md): the user's mistake (`VALIDATION`,
//! `INVALID_TRANSITION`, `NOT_FOUND`), a conflict (`CONFLICT`: reload and retry), and our fault
//! (`INTERNAL`: the details go to the log with the request id, the client gets the id and an
//! apology). Two faults of ours are told apart because the person can act on them: the store's
//! disk is full (`STORAGE_FULL`) or the store stopped after a failed write (`STORAGE_FAILED`);
//! in both nothing was written, so the answer says the step was not recorded and may be sent
//! again. `UNAUTHENTICATED` (sign in), `FORBIDDEN` (not for your role or team) and `RATE_LIMITED`
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
    /// The same sentence in Dutch, where one is known (the domain's rules, conflicts, refusals).
    dutch: Option<String>,
}

/// The Dutch sentence of an error, carried as the `async_graphql::Error`'s `source`, which is
/// never serialised: [`in_dutch`] swaps it in for callers that asked for Dutch
/// (`Accept-Language: nl`, and the web app), everyone else reads the English message. Keeping it
/// out of `extensions` means nothing changes on the wire for an English client.
#[derive(Debug, Clone)]
pub(crate) struct Dutch(pub(crate) String);

impl fmt::Display for Dutch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The language a request's error sentences are answered in. Codes, reasons and fields never
/// change with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// The API's default.
    #[default]
    English,
    /// For `Accept-Language: nl` and the web app.
    Dutch,
}

impl Language {
    /// The language an `Accept-Language` header prefers: Dutch when its most preferred
    /// language (highest `q`, first on a tie) is `nl` or `nl-…`, English otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Language {
        let mut best: Option<(f32, bool)> = None;
        for range in header.unwrap_or_default().split(',') {
            let mut parts = range.split(';').map(str::trim);
            let tag = parts.next().unwrap_or_default().to_ascii_lowercase();
            if tag.is_empty() {
                continue;
            }
            let quality = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let dutch = tag == "nl" || tag.starts_with("nl-");
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, dutch));
            }
        }
        match best {
            Some((_, true)) => Language::Dutch,
            _ => Language::English,
        }
    }
}

/// Replaces every error message that has a Dutch sentence by it.
pub(crate) fn in_dutch(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        if let Some(dutch) = error.source::<Dutch>() {
            error.message = dutch.0.clone();
        }
    }
}

/// What a request was doing when the store could not write: the sentence differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Recording a step (or another change): it was not recorded.
    Change,
    /// Any access that the access log must hold first (reading a file, a list, an export):
    /// nothing was shown.
    Access,
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
            dutch: None,
        }
    }

    /// The same error, with its sentence in Dutch.
    pub(crate) fn dutch(self, sentence: impl Into<String>) -> ApiError {
        ApiError {
            dutch: Some(sentence.into()),
            ..self
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

    /// The stable code.
    pub(crate) fn code(&self) -> ErrorCode {
        self.code
    }

    /// Why a granted change was refused after all, as the access log records it: the rule's
    /// slug when there is one (`in_the_future`, `amount_not_positive`, …), else the code in
    /// lower case (`conflict`, `validation`, `internal`). Never the message, which may quote
    /// what was typed.
    pub(crate) fn log_reason(&self) -> String {
        match self.reason {
            Some(reason) => reason.to_owned(),
            None => self.code.as_str().to_ascii_lowercase(),
        }
    }

    /// The sentence in Dutch, where one is known.
    pub(crate) fn dutch_message(&self) -> Option<String> {
        self.dutch.clone()
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

    /// The answer for a store that cannot write now (`code`: [`ErrorCode::StorageFull`] or
    /// [`ErrorCode::StorageFailed`]): what happened, that nothing was recorded, and that the
    /// same step may be sent again. Both sentences are for a consultant, not an engineer; the
    /// details are in the server's log and on `/health`.
    pub(crate) fn storage(code: ErrorCode, attempt: Attempt) -> ApiError {
        let full = code == ErrorCode::StorageFull;
        let (english, dutch) = match (full, attempt) {
            (true, Attempt::Change) => (
                "The storage is full, so nothing can be recorded: your step was NOT saved. \
                 Try again later (recording the same step again is safe) or tell your administrator.",
                "De opslag is vol: er kan niets worden vastgelegd. Uw stap is niet opgeslagen; \
                 probeer het later opnieuw (dezelfde stap nog eens vastleggen is veilig) of meld \
                 het bij de beheerder.",
            ),
            (true, Attempt::Access) => (
                "The storage is full, so nothing can be recorded, not even in the access log: \
                 nothing was shown or changed. Try again later or tell your administrator.",
                "De opslag is vol: er kan niets worden vastgelegd, ook niet in het toegangslog, \
                 dus er is niets getoond of gewijzigd. Probeer het later opnieuw of meld het bij \
                 de beheerder.",
            ),
            (false, Attempt::Change) => (
                "A fault in the storage stops anything from being recorded: your step was NOT \
                 saved. Try again later (recording the same step again is safe) and tell your \
                 administrator.",
                "Door een storing in de opslag kan er niets worden vastgelegd. Uw stap is niet \
                 opgeslagen; probeer het later opnieuw (dezelfde stap nog eens vastleggen is \
                 veilig) en meld het bij de beheerder.",
            ),
            (false, Attempt::Access) => (
                "A fault in the storage stops anything from being recorded, not even in the \
                 access log: nothing was shown or changed. Try again later and tell your \
                 administrator.",
                "Door een storing in de opslag kan er niets worden vastgelegd, ook niet in het \
                 toegangslog, dus er is niets getoond of gewijzigd. Probeer het later opnieuw en \
                 meld het bij de beheerder.",
            ),
        };
        ApiError::new(code, english).dutch(dutch)
    }

    /// [`ApiError::storage`] for a store error that is the store's state (a full disk, a
    /// stopped writer); `None` for any other store error.
    pub(crate) fn from_store(
        error: &jeugdpad_store::StoreError,
        attempt: Attempt,
    ) -> Option<ApiError> {
        let code = ErrorCode::of_store(error)?;
        tracing::debug!(%error, code = code.as_str(), "the store cannot write; the request was refused");
        Some(ApiError::storage(code, attempt))
    }

    /// Whether this is the store's full disk or stopped writer.
    pub(crate) fn is_storage(&self) -> bool {
        matches!(self.code, ErrorCode::StorageFull | ErrorCode::StorageFailed)
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
                .dutch("er is geen traject met dit id; open er eerst een met een melding")
            },
            RecordError::Rejected(domain) => ApiError {
                reason: Some(domain.reason()),
                ..ApiError::new(code, domain.to_string()).dutch(domain.message_nl())
            },
            RecordError::Conflict { expected, actual } => {
                ApiError::new(code, error.to_string()).dutch(format!(
                    "dit traject is intussen gewijzigd (u zag versie {expected}, het is nu \
                     versie {actual}); laad het opnieuw en probeer het nog eens"
                ))
            }
            RecordError::EventIdReused(_) => ApiError::new(code, error.to_string()).dutch(
                "dit id is al gebruikt voor een andere stap; gebruik een nieuw id voor een nieuwe stap",
            ),
            RecordError::Store(ref store) if ErrorCode::of_store(store).is_some() => {
                ApiError::from_store(store, Attempt::Change)
                    .unwrap_or_else(|| ApiError::new(code, error.to_string()))
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
        ApiError::new(ErrorCode::Validation, error.to_string()).dutch(error.message_nl())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let mut converted = async_graphql::Error::new(error.message.clone());
        if let Some(dutch) = &error.dutch {
            converted.source = Some(std::sync::Arc::new(Dutch(dutch.clone())));
        }
        converted.extend_with(|_, extensions| {
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

/// Parses a value of a validated domain type, naming the field on failure (in Dutch too when
/// the error is the domain's [`ValueError`]).
pub(crate) fn parse<T, E: fmt::Display + 'static>(
    field: &'static str,
    result: Result<T, E>,
) -> ApiResult<T> {
    result.map_err(|error| {
        let dutch = (&error as &dyn std::any::Any)
            .downcast_ref::<ValueError>()
            .map(ValueError::message_nl);
        let invalid = ApiError::invalid(field, error);
        match dutch {
            Some(dutch) => invalid.dutch(dutch),
            None => invalid,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::Language;

    #[test]
    fn dutch_only_when_dutch_is_preferred() {
        let check = |header: Option<&str>, expected: Language| {
            assert_eq!(
                Language::from_accept_language(header),
                expected,
                "{header:?}"
            );
        };
        check(None, Language::English);
        check(Some("nl"), Language::Dutch);
        check(Some("nl-NL,nl;q=0.9,en;q=0.8"), Language::Dutch);
        check(Some("en-GB,en;q=0.9,nl;q=0.8"), Language::English);
        check(Some("en;q=0.5, nl;q=0.7"), Language::Dutch);
        check(Some("nl;q=0, en"), Language::English);
        check(Some("nlx, en"), Language::English);
        check(Some("*"), Language::English);
    }
}
