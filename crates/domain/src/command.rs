//! Commands and `decide`: what a user asks, and the facts it produces if every rule holds.

use crate::codes::{AssessmentConclusion, CloseReason, HelpResult};
use crate::dates::DateRule;
use crate::error::DomainError;
use crate::event::{
    AssessmentCompleted, ConsultantAssigned, Correction, DecisionIssued, Event, HelpEnded,
    HelpRequested, HelpStarted, PgbGranted, PgbReviewCompleted, PgbReviewScheduled, RecordedFact,
    Retraction, SignalReceived, Step, TeamTransferred, TrajectoryClosed,
};
use crate::history::{check_correction, check_target};
use crate::ids::{EpisodeId, EventId, TeamCode, UserId};
use crate::ladder::HelpForm;
use crate::trajectory::Trajectory;
use chrono::{Datelike, NaiveDate};

/// How many years before today a birth year may lie. Youth care can run to 23 (verlengde
/// jeugdhulp); 30 leaves room for late registrations without letting typos like 1907 through.
pub const MAX_BIRTH_YEARS_AGO: i32 = 30;

/// Opdracht: what a consultant asks to record. Every command says when the step happened in the
/// world (`occurred_on`), which may be back-dated but never in the future.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Open a trajectory from a signal (signaal).
    OpenFromSignal {
        /// When the signal came in.
        occurred_on: NaiveDate,
        /// The signal.
        signal: SignalReceived,
    },
    /// Assign a consultant.
    AssignConsultant {
        /// When.
        occurred_on: NaiveDate,
        /// The consultant.
        consultant: UserId,
    },
    /// Transfer to another team.
    TransferTeam {
        /// When.
        occurred_on: NaiveDate,
        /// The receiving team.
        team: TeamCode,
    },
    /// Record a completed assessment (onderzoek).
    CompleteAssessment {
        /// When.
        occurred_on: NaiveDate,
        /// The conclusion.
        conclusion: AssessmentConclusion,
    },
    /// Record a request (aanvraag) for a form of help.
    RequestHelp {
        /// When.
        occurred_on: NaiveDate,
        /// The requested form.
        form: HelpForm,
    },
    /// Record a decision (beschikking).
    IssueDecision {
        /// When.
        occurred_on: NaiveDate,
        /// The decision.
        decision: DecisionIssued,
    },
    /// Record the start of help.
    StartHelp {
        /// When.
        occurred_on: NaiveDate,
        /// The new episode.
        help: HelpStarted,
    },
    /// Record the end of help.
    EndHelp {
        /// When.
        occurred_on: NaiveDate,
        /// The ending episode.
        episode_id: EpisodeId,
        /// The result.
        result: HelpResult,
    },
    /// Record a granted PGB.
    GrantPgb {
        /// When.
        occurred_on: NaiveDate,
        /// The budget.
        pgb: PgbGranted,
    },
    /// Schedule a PGB review.
    SchedulePgbReview {
        /// When it was scheduled.
        occurred_on: NaiveDate,
        /// When it is due.
        due_on: NaiveDate,
    },
    /// Record the outcome of a PGB review.
    CompletePgbReview {
        /// When.
        occurred_on: NaiveDate,
        /// The outcome.
        review: PgbReviewCompleted,
    },
    /// Close the trajectory.
    Close {
        /// When.
        occurred_on: NaiveDate,
        /// Why.
        reason: CloseReason,
    },
    /// Correct an earlier step.
    CorrectEvent {
        /// When the correction is made.
        occurred_on: NaiveDate,
        /// The correction.
        correction: Correction,
    },
    /// Retract an earlier step.
    RetractEvent {
        /// When the retraction is made.
        occurred_on: NaiveDate,
        /// The retraction.
        retraction: Retraction,
    },
}

impl Command {
    /// When the step happened (for amendments: when the amendment was made).
    pub fn occurred_on(&self) -> NaiveDate {
        match self {
            Command::OpenFromSignal { occurred_on, .. }
            | Command::AssignConsultant { occurred_on, .. }
            | Command::TransferTeam { occurred_on, .. }
            | Command::CompleteAssessment { occurred_on, .. }
            | Command::RequestHelp { occurred_on, .. }
            | Command::IssueDecision { occurred_on, .. }
            | Command::StartHelp { occurred_on, .. }
            | Command::EndHelp { occurred_on, .. }
            | Command::GrantPgb { occurred_on, .. }
            | Command::SchedulePgbReview { occurred_on, .. }
            | Command::CompletePgbReview { occurred_on, .. }
            | Command::Close { occurred_on, .. }
            | Command::CorrectEvent { occurred_on, .. }
            | Command::RetractEvent { occurred_on, .. } => *occurred_on,
        }
    }

    /// The event this command would record.
    /// The command that records `event` on `occurred_on`: the inverse of [`Command::to_event`]
    /// (every event is one command's only fact). The importer uses it to check history from
    /// another system by the same rules as a consultant's step.
    pub fn from_event(occurred_on: NaiveDate, event: &Event) -> Command {
        let step = match event {
            Event::Corrected(correction) => {
                return Command::CorrectEvent {
                    occurred_on,
                    correction: correction.clone(),
                }
            }
            Event::Retracted(retraction) => {
                return Command::RetractEvent {
                    occurred_on,
                    retraction: retraction.clone(),
                }
            }
            Event::Step(step) => step.clone(),
        };
        match step {
            Step::SignalReceived(signal) => Command::OpenFromSignal {
                occurred_on,
                signal,
            },
            Step::ConsultantAssigned(s) => Command::AssignConsultant {
                occurred_on,
                consultant: s.consultant,
            },
            Step::TeamTransferred(s) => Command::TransferTeam {
                occurred_on,
                team: s.team,
            },
            Step::AssessmentCompleted(s) => Command::CompleteAssessment {
                occurred_on,
                conclusion: s.conclusion,
            },
            Step::HelpRequested(s) => Command::RequestHelp {
                occurred_on,
                form: s.form,
            },
            Step::DecisionIssued(decision) => Command::IssueDecision {
                occurred_on,
                decision,
            },
            Step::HelpStarted(help) => Command::StartHelp { occurred_on, help },
            Step::HelpEnded(s) => Command::EndHelp {
                occurred_on,
                episode_id: s.episode_id,
                result: s.result,
            },
            Step::PgbGranted(pgb) => Command::GrantPgb { occurred_on, pgb },
            Step::PgbReviewScheduled(s) => Command::SchedulePgbReview {
                occurred_on,
                due_on: s.due_on,
            },
            Step::PgbReviewCompleted(review) => Command::CompletePgbReview {
                occurred_on,
                review,
            },
            Step::TrajectoryClosed(s) => Command::Close {
                occurred_on,
                reason: s.reason,
            },
        }
    }

    pub fn to_event(&self) -> Event {
        let step = match self {
            Command::OpenFromSignal { signal, .. } => Step::SignalReceived(signal.clone()),
            Command::AssignConsultant { consultant, .. } => {
                Step::ConsultantAssigned(ConsultantAssigned {
                    consultant: consultant.clone(),
                })
            }
            Command::TransferTeam { team, .. } => {
                Step::TeamTransferred(TeamTransferred { team: team.clone() })
            }
            Command::CompleteAssessment { conclusion, .. } => {
                Step::AssessmentCompleted(AssessmentCompleted {
                    conclusion: *conclusion,
                })
            }
            Command::RequestHelp { form, .. } => Step::HelpRequested(HelpRequested { form: *form }),
            Command::IssueDecision { decision, .. } => Step::DecisionIssued(decision.clone()),
            Command::StartHelp { help, .. } => Step::HelpStarted(help.clone()),
            Command::EndHelp {
                episode_id, result, ..
            } => Step::HelpEnded(HelpEnded {
                episode_id: episode_id.clone(),
                result: *result,
            }),
            Command::GrantPgb { pgb, .. } => Step::PgbGranted(pgb.clone()),
            Command::SchedulePgbReview { due_on, .. } => {
                Step::PgbReviewScheduled(PgbReviewScheduled { due_on: *due_on })
            }
            Command::CompletePgbReview { review, .. } => Step::PgbReviewCompleted(review.clone()),
            Command::Close { reason, .. } => {
                Step::TrajectoryClosed(TrajectoryClosed { reason: *reason })
            }
            Command::CorrectEvent { correction, .. } => {
                return Event::Corrected(correction.clone())
            }
            Command::RetractEvent { retraction, .. } => {
                return Event::Retracted(retraction.clone())
            }
        };
        Event::Step(step)
    }
}

/// What [`decide`] accepted: the one fact the command records — under the event id the caller
/// gave, at the stream's next version — and the trajectory as it stands with that fact applied.
///
/// The state comes from the same validating fold that checked the command, so the caller needs
/// no second replay ([`crate::evolve`] on the fact gives the same trajectory).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The fact to store: its `version` is the stream's next one, its id the caller's.
    pub fact: RecordedFact,
    /// The trajectory after the fact.
    pub trajectory: Trajectory,
}

/// Decides whether `command` may be recorded on `state`, and if so as which fact.
///
/// Pure: `today` and the new fact's `event_id` come from the caller (the application layer
/// takes a client-supplied id or draws a new one); the store gives the fact its global position.
/// Every command records exactly one fact.
///
/// Checks run from cheap to thorough: the command's own values, then its place in recording
/// order (opened? closed?), then the candidate history — the current facts plus this one — goes
/// through the same validating fold that derives the state, so every rule about the history is
/// checked in exactly one place, for new facts and amendments alike.
///
/// A stream that already breaks a rule (see [`Trajectory::violation`]; impossible for streams
/// written through `decide`) keeps refusing new steps with that violation until an amendment
/// repairs it.
pub fn decide(
    state: &Trajectory,
    command: &Command,
    event_id: EventId,
    today: NaiveDate,
    dates: &DateRule,
) -> Result<Decision, DomainError> {
    let occurred_on = command.occurred_on();
    not_in_future(occurred_on, today)?;
    let event = command.to_event();
    let birth_year = birth_year(state, &event);
    match &event {
        Event::Step(step) => {
            decide_step(state, occurred_on, step, today)?;
            dates.check_step(step, occurred_on, birth_year)?;
        }
        Event::Corrected(correction) => {
            decide_correction(state, correction, today)?;
            check_correction_dates(state, correction, dates, birth_year)?;
        }
        Event::Retracted(retraction) => {
            check_target(state.facts(), retraction.retracts)?;
        }
    }
    if let (Some(signal), Event::Corrected(_) | Event::Retracted(_)) = (state.signal(), &event) {
        not_before_signal(event.event_type(), occurred_on, signal.received_on)?;
    }
    dates.check_occurred("occurredOn", occurred_on, birth_year)?;
    let fact = RecordedFact {
        event_id,
        version: state.version() + 1,
        occurred_on,
        event,
    };
    let trajectory = state
        .with(fact.clone())
        .map_err(|violation| match &fact.event {
            Event::Step(_) => violation,
            Event::Corrected(correction) => DomainError::CorrectionBreaksRule {
                event_id: correction.corrects,
                source: Box::new(violation),
            },
            Event::Retracted(retraction) => DomainError::RetractionBreaksRule {
                event_id: retraction.retracts,
                source: Box::new(violation),
            },
        })?;
    Ok(Decision { fact, trajectory })
}

/// The youth's birth year, when known: from the signal being recorded, or the trajectory's.
fn birth_year(state: &Trajectory, event: &Event) -> Option<i32> {
    match event {
        Event::Step(Step::SignalReceived(signal)) => signal.birth_year,
        _ => state.signal().and_then(|signal| signal.details.birth_year),
    }
}

/// The [`DateRule`] over a correction: its replacement date, and the dates inside its
/// replacement payload counted from the date the corrected step will have (the replacement
/// date, or the date it was recorded with).
fn check_correction_dates(
    state: &Trajectory,
    correction: &Correction,
    dates: &DateRule,
    birth_year: Option<i32>,
) -> Result<(), DomainError> {
    if let Some(date) = correction.occurred_on {
        dates.check_occurred("replacementOccurredOn", date, birth_year)?;
    }
    let corrected_on = state
        .facts()
        .iter()
        .find(|fact| fact.event_id == correction.corrects)
        .map(|fact| fact.occurred_on);
    match (&correction.payload, correction.occurred_on.or(corrected_on)) {
        (Some(step), Some(on)) => dates.check_step(step, on, birth_year),
        _ => Ok(()),
    }
}

fn decide_step(
    state: &Trajectory,
    occurred_on: NaiveDate,
    step: &Step,
    today: NaiveDate,
) -> Result<(), DomainError> {
    validate_step(step, today)?;
    match (state.signal(), step) {
        (None, Step::SignalReceived(_)) => {}
        (None, _) => return Err(DomainError::NotOpened),
        (Some(signal), Step::SignalReceived(_)) => {
            return Err(DomainError::AlreadyOpened {
                opened_on: signal.received_on,
            })
        }
        (Some(signal), _) => not_before_signal(step.event_type(), occurred_on, signal.received_on)?,
    }
    // Recording order: once closed, nothing new — not even a step dated before the closure.
    if let Some(closure) = state.closure() {
        return Err(DomainError::Closed {
            closed_on: closure.closed_on,
        });
    }
    Ok(())
}

fn decide_correction(
    state: &Trajectory,
    correction: &Correction,
    today: NaiveDate,
) -> Result<(), DomainError> {
    if correction.occurred_on.is_none() && correction.payload.is_none() {
        return Err(DomainError::EmptyCorrection);
    }
    if let Some(date) = correction.occurred_on {
        not_in_future(date, today)?;
    }
    if let Some(step) = &correction.payload {
        validate_step(step, today)?;
    }
    check_correction(state.facts(), correction)
}

fn not_in_future(date: NaiveDate, today: NaiveDate) -> Result<(), DomainError> {
    if date > today {
        return Err(DomainError::InTheFuture { date, today });
    }
    Ok(())
}

fn not_before_signal(
    event_type: &'static str,
    occurred_on: NaiveDate,
    signal_on: NaiveDate,
) -> Result<(), DomainError> {
    if occurred_on < signal_on {
        return Err(DomainError::BeforeSignal {
            event_type,
            occurred_on,
            signal_on,
        });
    }
    Ok(())
}

/// Checks a step's payload on its own: rules that hold whatever the trajectory's state.
pub(crate) fn validate_step(step: &Step, today: NaiveDate) -> Result<(), DomainError> {
    match step {
        Step::SignalReceived(signal) => {
            if signal.concerns.is_empty() {
                return Err(DomainError::NoConcerns);
            }
            for (i, concern) in signal.concerns.iter().enumerate() {
                if signal.concerns[..i].contains(concern) {
                    return Err(DomainError::DuplicateConcern(*concern));
                }
            }
            if let Some(birth_year) = signal.birth_year {
                let this_year = today.year();
                if birth_year > this_year || birth_year < this_year - MAX_BIRTH_YEARS_AGO {
                    return Err(DomainError::ImplausibleBirthYear {
                        birth_year,
                        this_year,
                    });
                }
            }
        }
        Step::DecisionIssued(decision) => {
            if let Some(valid_until) = decision.valid_until {
                if valid_until < decision.valid_from {
                    return Err(DomainError::ValidityEndsBeforeStart {
                        valid_from: decision.valid_from,
                        valid_until,
                    });
                }
            }
            // Optional on a decision (the placement may not be known yet), but never on other forms.
            if decision.foster.is_some() && decision.form != HelpForm::FosterCare {
                return Err(DomainError::FosterDetailsNotAllowed(decision.form));
            }
        }
        Step::HelpStarted(help) => match (help.form, help.foster) {
            (HelpForm::FosterCare, None) => return Err(DomainError::FosterDetailsMissing),
            (form, Some(_)) if form != HelpForm::FosterCare => {
                return Err(DomainError::FosterDetailsNotAllowed(form))
            }
            _ => {}
        },
        Step::PgbGranted(pgb) => {
            if pgb.amount_cents <= 0 {
                return Err(DomainError::AmountNotPositive(pgb.amount_cents));
            }
        }
        Step::ConsultantAssigned(_)
        | Step::TeamTransferred(_)
        | Step::AssessmentCompleted(_)
        | Step::HelpRequested(_)
        | Step::HelpEnded(_)
        | Step::PgbReviewScheduled(_)
        | Step::PgbReviewCompleted(_)
        | Step::TrajectoryClosed(_) => {}
    }
    Ok(())
}
