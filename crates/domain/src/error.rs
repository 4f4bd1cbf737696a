//! Domain errors: the user's mistakes, each a sentence a consultant understands.
//!
//! Only rule violations live here. A conflict (someone else appended first) belongs to the store,
//! and data the build cannot read is a [`crate::DecodeError`]: those are not the user's fault.

use chrono::NaiveDate;

use crate::codes::Concern;
use crate::dates::DateBound;
use crate::ids::{EpisodeId, EventId, TeamCode, UserId, ValueError};
use crate::ladder::HelpForm;

/// A command was refused; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    // ---- VALIDATION: the command itself is malformed, whatever the trajectory's state ----
    /// A value in the command is not valid.
    #[error("{0}")]
    InvalidValue(#[from] ValueError),
    /// A date after today.
    #[error("the date {date} lies after today ({today}); a step is recorded once it has happened")]
    InTheFuture {
        /// The offending date.
        date: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// A date outside the plausible bounds of [`crate::DateRule`]: before the Jeugdwet, before
    /// the youth's birth year, or too far ahead.
    #[error("{field}: the date {date} is not plausible: {}", bound_en(bound))]
    ImplausibleDate {
        /// The field that carries it (`occurredOn`, `dueOn`, `validFrom`, …).
        field: &'static str,
        /// The date.
        date: NaiveDate,
        /// The bound it broke.
        bound: DateBound,
    },
    /// A signal without concerns.
    #[error("a signal needs at least one concern")]
    NoConcerns,
    /// The same concern twice.
    #[error("the concern '{0}' is listed twice")]
    DuplicateConcern(Concern),
    /// A birth year in the future or too long ago for youth care.
    #[error("birth year {birth_year} is not plausible for youth care in {this_year}")]
    ImplausibleBirthYear {
        /// The given year.
        birth_year: i32,
        /// Today's year.
        this_year: i32,
    },
    /// Foster care without its placement details.
    #[error("foster care needs foster_kind (network or recruited) and foster_mode (full_time, part_time or crisis)")]
    FosterDetailsMissing,
    /// Placement details on a form that is not foster care.
    #[error("foster_kind and foster_mode only apply to foster care, not to {0}")]
    FosterDetailsNotAllowed(HelpForm),
    /// A decision valid until before it is valid from.
    #[error("the decision is valid until {valid_until}, before it becomes valid on {valid_from}")]
    ValidityEndsBeforeStart {
        /// Ingangsdatum.
        valid_from: NaiveDate,
        /// Einddatum.
        valid_until: NaiveDate,
    },
    /// A PGB of zero or less.
    #[error("a PGB amount must be more than zero (got {0} cents)")]
    AmountNotPositive(i64),
    /// A review due before it was scheduled.
    #[error("a PGB review scheduled on {scheduled_on} cannot be due earlier, on {due_on}")]
    ReviewDueBeforeScheduled {
        /// The scheduling date.
        scheduled_on: NaiveDate,
        /// The due date.
        due_on: NaiveDate,
    },
    /// A correction that replaces nothing.
    #[error("a correction must replace the date, the payload, or both")]
    EmptyCorrection,
    /// A correction whose payload has another type than the corrected event.
    #[error("event {event_id} is a {corrected}; it cannot be corrected into a {replacement}")]
    CorrectionChangesType {
        /// The corrected event.
        event_id: EventId,
        /// Its type.
        corrected: &'static str,
        /// The replacement's type.
        replacement: &'static str,
    },

    // ---- INVALID_TRANSITION: a rule broken by the trajectory's state ----
    /// The first event must be the signal.
    #[error("this trajectory has not been opened: it must start with signal_received")]
    NotOpened,
    /// A second signal.
    #[error("this trajectory was already opened by a signal on {opened_on}; a new signal opens a new trajectory")]
    AlreadyOpened {
        /// The date of the existing signal.
        opened_on: NaiveDate,
    },
    /// Recording a step in a closed trajectory.
    #[error("the trajectory was closed on {closed_on}; only corrections and retractions can be recorded now")]
    Closed {
        /// The closing date.
        closed_on: NaiveDate,
    },
    /// A step dated after the closure.
    #[error(
        "{event_type} on {occurred_on} would come after the trajectory was closed on {closed_on}"
    )]
    AfterClosure {
        /// The step's type.
        event_type: &'static str,
        /// Its date.
        occurred_on: NaiveDate,
        /// The closing date.
        closed_on: NaiveDate,
    },
    /// A step dated before the signal.
    #[error("{event_type} on {occurred_on} would come before the signal that opened the trajectory on {signal_on}")]
    BeforeSignal {
        /// The step's type.
        event_type: &'static str,
        /// Its date.
        occurred_on: NaiveDate,
        /// The signal's date.
        signal_on: NaiveDate,
    },
    /// Same consultant again.
    #[error("{0} is already the consultant of this trajectory")]
    SameConsultant(UserId),
    /// Transfer to the owning team.
    #[error("the trajectory already belongs to team {0}")]
    SameTeam(TeamCode),
    /// An episode id used twice.
    #[error("help episode {0} already exists in this trajectory; every episode needs its own id")]
    EpisodeIdInUse(EpisodeId),
    /// Ending an episode that never started.
    #[error("help episode {0} was never started, so it cannot end")]
    EpisodeNotStarted(EpisodeId),
    /// Ending an episode before it started.
    #[error(
        "help episode {episode_id} would end on {ended_on}, before it started on {started_on}"
    )]
    EpisodeEndsBeforeStart {
        /// The episode.
        episode_id: EpisodeId,
        /// Its start.
        started_on: NaiveDate,
        /// The attempted end.
        ended_on: NaiveDate,
    },
    /// Ending an episode twice.
    #[error("help episode {episode_id} already ended on {ended_on}")]
    EpisodeAlreadyEnded {
        /// The episode.
        episode_id: EpisodeId,
        /// Its end.
        ended_on: NaiveDate,
    },
    /// Closing with help still going on.
    #[error("the trajectory cannot close while help is still open (episode {})", join(.0))]
    HelpStillOpen(Vec<EpisodeId>),
    /// A decision without a request to answer.
    #[error(
        "the decision of {decided_on} has no unanswered request for {form} before it to answer"
    )]
    NoOpenRequest {
        /// The decided form.
        form: HelpForm,
        /// The decision's date.
        decided_on: NaiveDate,
    },
    /// A review result without a scheduled review.
    #[error(
        "there is no scheduled PGB review still open on {completed_on} for this result to complete"
    )]
    NoOpenReview {
        /// The completion date.
        completed_on: NaiveDate,
    },
    /// A correction or retraction naming an unknown event.
    #[error("event {0} is not part of this trajectory")]
    UnknownEvent(EventId),
    /// Amending an amendment.
    #[error("event {0} is itself a correction or retraction; correct or retract the original event instead")]
    TargetIsAmendment(EventId),
    /// Amending a retracted event.
    #[error("event {0} was retracted; a retracted event cannot be corrected or retracted again")]
    TargetRetracted(EventId),
    /// A correction that would make the history break a rule.
    #[error("correcting event {event_id} would break a rule: {source}")]
    CorrectionBreaksRule {
        /// The corrected event.
        event_id: EventId,
        /// The rule the corrected history breaks.
        source: Box<DomainError>,
    },
    /// A retraction that would make the history break a rule.
    #[error("retracting event {event_id} would break a rule: {source}")]
    RetractionBreaksRule {
        /// The retracted event.
        event_id: EventId,
        /// The rule the remaining history breaks.
        source: Box<DomainError>,
    },
}

fn join(ids: &[EpisodeId]) -> String {
    ids.iter()
        .map(EpisodeId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which bound a date broke, in English.
fn bound_en(bound: &DateBound) -> String {
    match bound {
        DateBound::Before(earliest) => format!(
            "it lies before {earliest}, the earliest date recorded (the Jeugdwet came into force \
             on 2015-01-01; older files come in with `jeugdpad import --historic`); check the year"
        ),
        DateBound::BeforeBirthYear(year) => {
            format!("it lies before the youth's birth year {year}; check the year")
        }
        DateBound::YearsAfter { from, years } => {
            format!("it lies more than {years} years after {from}; check the year")
        }
    }
}

/// The two kinds of user mistake the domain tells apart. The API turns them into the stable
/// codes `VALIDATION` and `INVALID_TRANSITION` of GraphQL's `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// The command is malformed in itself, whatever the trajectory's state: fix the input.
    Validation,
    /// The command is well-formed, but the trajectory's state (or the history it would make)
    /// forbids it.
    InvalidTransition,
}

impl DomainError {
    /// Which kind of mistake this is: [`RuleKind::Validation`] when the command is malformed in
    /// itself, [`RuleKind::InvalidTransition`] when the trajectory's state forbids it.
    pub fn kind(&self) -> RuleKind {
        use DomainError::*;
        match self {
            InvalidValue(_)
            | InTheFuture { .. }
            | NoConcerns
            | DuplicateConcern(_)
            | ImplausibleBirthYear { .. }
            | ImplausibleDate { .. }
            | FosterDetailsMissing
            | FosterDetailsNotAllowed(_)
            | ValidityEndsBeforeStart { .. }
            | AmountNotPositive(_)
            | ReviewDueBeforeScheduled { .. }
            | EmptyCorrection
            | CorrectionChangesType { .. } => RuleKind::Validation,
            _ => RuleKind::InvalidTransition,
        }
    }

    /// Stable slug naming the broken rule, for clients that react to specific rules.
    pub fn reason(&self) -> &'static str {
        use DomainError::*;
        match self {
            InvalidValue(_) => "invalid_value",
            InTheFuture { .. } => "in_the_future",
            NoConcerns => "no_concerns",
            DuplicateConcern(_) => "duplicate_concern",
            ImplausibleBirthYear { .. } => "implausible_birth_year",
            ImplausibleDate { .. } => "implausible_date",
            FosterDetailsMissing => "foster_details_missing",
            FosterDetailsNotAllowed(_) => "foster_details_not_allowed",
            ValidityEndsBeforeStart { .. } => "validity_ends_before_start",
            AmountNotPositive(_) => "amount_not_positive",
            ReviewDueBeforeScheduled { .. } => "review_due_before_scheduled",
            EmptyCorrection => "empty_correction",
            CorrectionChangesType { .. } => "correction_changes_type",
            NotOpened => "not_opened",
            AlreadyOpened { .. } => "already_opened",
            Closed { .. } => "closed",
            AfterClosure { .. } => "after_closure",
            BeforeSignal { .. } => "before_signal",
            SameConsultant(_) => "same_consultant",
            SameTeam(_) => "same_team",
            EpisodeIdInUse(_) => "episode_id_in_use",
            EpisodeNotStarted(_) => "episode_not_started",
            EpisodeEndsBeforeStart { .. } => "episode_ends_before_start",
            EpisodeAlreadyEnded { .. } => "episode_already_ended",
            HelpStillOpen(_) => "help_still_open",
            NoOpenRequest { .. } => "no_open_request",
            NoOpenReview { .. } => "no_open_review",
            UnknownEvent(_) => "unknown_event",
            TargetIsAmendment(_) => "target_is_amendment",
            TargetRetracted(_) => "target_retracted",
            CorrectionBreaksRule { .. } => "correction_breaks_rule",
            RetractionBreaksRule { .. } => "retraction_breaks_rule",
        }
    }
}
