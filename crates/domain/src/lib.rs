//! Jeugdpad's pure domain model: the event catalogue, the code lists, the intensity ladder and the
//! trajectory aggregate of a Dutch youth-care pathway (jeugdhulptraject).
//!
//! This crate does no I/O, reads no clock and draws no random numbers: the caller passes `today`
//! and every id. That makes every rule a table test and lets the store, the projections and the
//! API share one definition of what a valid trajectory is.
//!
//! # The model
//!
//! One trajectory is one event stream. Its behaviour is two functions:
//!
//! - [`decide`]`(state, command, event_id, today) -> Result<Decision, DomainError>` answers "may
//!   this be recorded, and as which fact?" — and gives the trajectory with that fact, so the
//!   caller does not replay again. It never changes anything.
//! - [`evolve`]`(state, fact) -> state` applies a fact that was recorded. It never refuses: the
//!   fact has happened, the store holds it.
//!
//! Keeping them apart means the state is always a pure function of the stream (replaying it gives
//! the same [`Trajectory`]), and the rules live on the write side only.
//!
//! # The state is the corrected history
//!
//! Nothing is edited in place: a mistake is fixed by an `event_corrected` (new date and/or
//! payload) or `event_retracted`. Every figure counts the **effective history** — corrections
//! applied, retracted steps left out — ordered by (`occurred_on`, stream version): the date the
//! step happened in the world first, the recording order among steps of one day. The trajectory
//! keeps the raw facts (the timeline shows amendments as such) and derives everything else by
//! replaying the effective history through one validating fold (`rules`).
//!
//! Because the fold validates, `decide` needs no second copy of the rules: it builds the
//! candidate history (recorded facts plus the new fact or amendment) and asks the fold whether it
//! still holds. So a back-dated step, a corrected date and a retraction are all checked against
//! every invariant of SPEC §3 by the same code; an amendment that would break one is refused with
//! [`DomainError::CorrectionBreaksRule`] / [`DomainError::RetractionBreaksRule`] wrapping the rule.
//! One rule follows recording order instead: once closed, only amendments are accepted.
//!
//! # Stored form
//!
//! [`Event::encode`] / [`Event::decode`] give the `(type, schema_version, payload)` triple the
//! store keeps; old schema versions are upcast on read, never rewritten. A correction's replacement
//! payload is stored self-describing: `{"type": "<step code>", "schema_version": 1, ...fields}`.
//!
//! # Modules
//!
//! `codes` (code lists), `ladder` (help forms and levels), `ids` (validated values), `event`
//! (payloads), `codec` (stored form), `command` (`decide`), `history` (effective history),
//! `rules` (the validating fold), `trajectory` (the aggregate and its read accessors), `next`
//! (which steps the rules allow now), `error` and `error_nl` (every rule's sentence in Dutch).

mod bsn_like;
mod codec;
mod codes;
mod command;
mod dates;
mod error;
mod error_nl;
mod event;
mod history;
mod ids;
mod ladder;
mod next;
mod rules;
mod trajectory;

#[cfg(test)]
mod tests;

pub use bsn_like::{contains_bsn, passes_elfproef};
pub use codec::{DecodeError, EncodedEvent, CURRENT_SCHEMA_VERSION};
pub use codes::{
    AssessmentConclusion, CloseReason, Concern, DecisionFunding, EventType, FosterKind, FosterMode,
    HelpResult, PgbPeriod, PgbReviewDecision, Source, UnknownCode, Urgency, IJW_VERWIJZER_UNKNOWN,
};
pub use command::{decide, Command, Decision, MAX_BIRTH_YEARS_AGO};
pub use dates::{DateBound, DateRule, JEUGDWET_IN_FORCE};
pub use error::{DomainError, RuleKind};
pub use error_nl::date_nl;
pub use event::{
    AssessmentCompleted, ConsultantAssigned, Correction, DecisionIssued, Event, FosterPlacement,
    HelpEnded, HelpRequested, HelpStarted, PgbGranted, PgbReviewCompleted, PgbReviewScheduled,
    RecordedFact, Retraction, SignalReceived, Step, TeamTransferred, TrajectoryClosed,
};
pub use history::EffectiveFact;
pub use ids::{
    EpisodeId, EventId, ProductCategory, Provider, Reason, SubjectKey, TeamCode, TrajectoryId,
    UserId, ValueError, SEALED_TEXT_PREFIX, TRAJECTORY_STREAM_PREFIX,
};
pub use ladder::{CbsCategory, FormInfo, FormPurpose, HelpForm, Level, FORMS};
pub use next::{allowed_steps, suggested_episode, AllowedStep, StepKind};
pub use trajectory::{
    evolve, Answer, Assessment, Closure, Episode, EpisodeEnd, PgbReview, Phase, Request,
    ReviewCompletion, Signal, Trajectory,
};
