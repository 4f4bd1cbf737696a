//! The trajectory aggregate: the raw facts of one stream and the state derived from their
//! effective (corrected) history, with the read accessors projections and the API need.

use chrono::NaiveDate;

use crate::codes::{AssessmentConclusion, CloseReason, HelpResult, PgbReviewDecision};
use crate::error::DomainError;
use crate::event::{FosterPlacement, RecordedFact, SignalReceived};
use crate::history::EffectiveFact;
use crate::ids::{EpisodeId, EventId, Provider, SubjectKey, TeamCode, UserId};
use crate::ladder::{HelpForm, Level};
use crate::rules::{replay, Derived};

crate::codes::code_list! {
    /// Fase van het traject: where it stands, for worklists and the timeline header.
    pub enum Phase ("phase") {
        /// Gesignaleerd: opened, not yet assessed, no help started.
        Signalled = "signalled", "Gesignaleerd";
        /// Onderzocht: assessed, no help started yet.
        Assessed = "assessed", "Onderzocht";
        /// In hulp: at least one help episode is open.
        InHelp = "in_help", "In hulp";
        /// Hulp afgerond: every help episode has ended but the trajectory is not closed yet —
        /// the next step is closing it or starting new help.
        HelpEnded = "help_ended", "Hulp afgerond";
        /// Afgesloten.
        Closed = "closed", "Afgesloten";
    }
}

impl Phase {
    /// The phase rule, in one place: closed, else in help while an episode is open, else help
    /// ended once any episode started, else assessed once an assessment is completed, else
    /// signalled. The read models apply it to a trajectory as of a date.
    pub fn of(closed: bool, help_open: bool, help_started: bool, assessed: bool) -> Phase {
        if closed {
            Phase::Closed
        } else if help_open {
            Phase::InHelp
        } else if help_started {
            Phase::HelpEnded
        } else if assessed {
            Phase::Assessed
        } else {
            Phase::Signalled
        }
    }
}

/// The signal that opened the trajectory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// The `signal_received` event.
    pub event_id: EventId,
    /// Its (effective) date: the start of every waiting time.
    pub received_on: NaiveDate,
    /// Its (effective) payload.
    pub details: SignalReceived,
}

/// A completed assessment (onderzoek).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The `assessment_completed` event.
    pub event_id: EventId,
    /// When.
    pub completed_on: NaiveDate,
    /// The conclusion.
    pub conclusion: AssessmentConclusion,
}

/// A help request (aanvraag) and the decision that answered it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The `help_requested` event.
    pub event_id: EventId,
    /// When the request was made: the decision clock starts here.
    pub requested_on: NaiveDate,
    /// The requested form.
    pub form: HelpForm,
    /// The answering decision (SPEC §3: the earliest open request of the decided form).
    pub answer: Option<Answer>,
}

/// The decision (beschikking) answering a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The `decision_issued` event.
    pub event_id: EventId,
    /// When.
    pub decided_on: NaiveDate,
    /// Granted or refused.
    pub granted: bool,
}

/// A help episode (hulpepisode): from `help_started` to `help_ended`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// Its id within the trajectory.
    pub id: EpisodeId,
    /// The form of help.
    pub form: HelpForm,
    /// The form's level.
    pub level: Level,
    /// The provider, when known.
    pub provider: Option<Provider>,
    /// Foster care placement details.
    pub foster: Option<FosterPlacement>,
    /// When it started.
    pub started_on: NaiveDate,
    /// The `help_started` event.
    pub started_by: EventId,
    /// How and when it ended; `None` while open.
    pub end: Option<EpisodeEnd>,
    /// This start is an escalation (SPEC §4).
    pub escalation: bool,
    /// This start is a step-down (SPEC §4).
    pub step_down: bool,
}

/// The end of a help episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeEnd {
    /// The `help_ended` event.
    pub event_id: EventId,
    /// When.
    pub ended_on: NaiveDate,
    /// The result.
    pub result: HelpResult,
}

impl Episode {
    /// Still going on.
    pub fn is_open(&self) -> bool {
        self.end.is_none()
    }
}

/// A scheduled PGB review (pgb-controle) and its outcome, if completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgbReview {
    /// The `pgb_review_scheduled` event.
    pub event_id: EventId,
    /// When it was scheduled.
    pub scheduled_on: NaiveDate,
    /// When it is due.
    pub due_on: NaiveDate,
    /// The answering `pgb_review_completed`, if any.
    pub completion: Option<ReviewCompletion>,
}

/// The outcome of a PGB review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewCompletion {
    /// The `pgb_review_completed` event.
    pub event_id: EventId,
    /// When.
    pub completed_on: NaiveDate,
    /// Continue, adjust or stop.
    pub decision: PgbReviewDecision,
    /// Quality concern.
    pub quality_concern: bool,
    /// Rechtmatigheid / fraud signal.
    pub irregularity_suspected: bool,
}

/// The closure of the trajectory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    /// The `trajectory_closed` event.
    pub event_id: EventId,
    /// When.
    pub closed_on: NaiveDate,
    /// Why.
    pub reason: CloseReason,
}

/// Jeugdhulptraject: one youth-care pathway, as far as its stream tells.
///
/// Holds the raw facts (the stream as stored, amendments included) and the state derived from
/// their effective history. `Default` is the empty stream, before the signal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trajectory {
    facts: Vec<RecordedFact>,
    state: Derived,
}

/// Applies one recorded fact. Facts must arrive in version order, as the store delivers them.
///
/// The whole effective history is re-derived, because a correction or a back-dated fact can
/// change anything after its date; streams are tens of events long, so this stays cheap. To load
/// a whole stream at once use [`Trajectory::from_facts`].
pub fn evolve(state: Trajectory, fact: &RecordedFact) -> Trajectory {
    let mut facts = state.facts;
    facts.push(fact.clone());
    Trajectory::from_facts(facts)
}

impl Trajectory {
    /// Builds the state of a stream from all its facts in one replay.
    pub fn from_facts(facts: impl IntoIterator<Item = RecordedFact>) -> Trajectory {
        let mut facts: Vec<RecordedFact> = facts.into_iter().collect();
        facts.sort_by_key(|f| f.version);
        let state = replay(&facts);
        Trajectory { facts, state }
    }

    /// This trajectory with `fact` (the stream's next version) added, or the rule the resulting
    /// history would break. The check of every candidate history in [`crate::decide`].
    pub(crate) fn with(&self, fact: RecordedFact) -> Result<Trajectory, DomainError> {
        let mut facts = Vec::with_capacity(self.facts.len() + 1);
        facts.extend_from_slice(&self.facts);
        facts.push(fact);
        let state = replay(&facts);
        match state.violation {
            Some(violation) => Err(violation),
            None => Ok(Trajectory { facts, state }),
        }
    }

    /// The raw facts in version order, corrections and retractions visible as such.
    pub fn facts(&self) -> &[RecordedFact] {
        &self.facts
    }

    /// The effective history: corrections applied, retracted steps left out, ordered by
    /// (`occurred_on`, version). Every figure is computed on this.
    pub fn effective_history(&self) -> &[EffectiveFact] {
        &self.state.effective
    }

    /// The stream version: the number of facts recorded, 0 for an empty stream.
    pub fn version(&self) -> u64 {
        self.facts.last().map_or(0, |f| f.version)
    }

    /// The opening signal; `None` for an empty stream.
    pub fn signal(&self) -> Option<&Signal> {
        self.state.signal.as_ref()
    }

    /// The date of the opening signal.
    pub fn signal_date(&self) -> Option<NaiveDate> {
        self.signal().map(|s| s.received_on)
    }

    /// The youth's pseudonym.
    pub fn subject_key(&self) -> Option<&SubjectKey> {
        self.signal().map(|s| &s.details.subject_key)
    }

    /// The team that owns the trajectory now (the last transfer, else the signal's team).
    pub fn team(&self) -> Option<&TeamCode> {
        self.state.team.as_ref()
    }

    /// The consultant assigned last, if any.
    pub fn consultant(&self) -> Option<&UserId> {
        self.state.consultant.as_ref()
    }

    /// Where the trajectory stands; `None` for an empty stream.
    pub fn phase(&self) -> Option<Phase> {
        self.signal()?;
        Some(Phase::of(
            self.is_closed(),
            self.open_episodes().next().is_some(),
            !self.state.episodes.is_empty(),
            !self.state.assessments.is_empty(),
        ))
    }

    /// The closure, if closed.
    pub fn closure(&self) -> Option<&Closure> {
        self.state.closure.as_ref()
    }

    /// Closed (in the corrected history).
    pub fn is_closed(&self) -> bool {
        self.state.closure.is_some()
    }

    /// Completed assessments, in order.
    pub fn assessments(&self) -> &[Assessment] {
        &self.state.assessments
    }

    /// Every help request with its answer, in order.
    pub fn requests(&self) -> &[Request] {
        &self.state.requests
    }

    /// Requests still waiting for a decision.
    pub fn open_requests(&self) -> impl Iterator<Item = &Request> {
        self.state.requests.iter().filter(|r| r.answer.is_none())
    }

    /// Every help episode, in start order.
    pub fn episodes(&self) -> &[Episode] {
        &self.state.episodes
    }

    /// Episodes that have not ended.
    pub fn open_episodes(&self) -> impl Iterator<Item = &Episode> {
        self.state.episodes.iter().filter(|e| e.is_open())
    }

    /// The highest level among open episodes; [`Level::None`] when none is open.
    pub fn current_level(&self) -> Level {
        self.open_episodes()
            .map(|e| e.level)
            .max()
            .unwrap_or_default()
    }

    /// The highest level of any episode ever started; [`Level::None`] when none.
    pub fn highest_level(&self) -> Level {
        self.state
            .episodes
            .iter()
            .map(|e| e.level)
            .max()
            .unwrap_or_default()
    }

    /// How many help starts were escalations.
    pub fn escalation_count(&self) -> usize {
        self.state.episodes.iter().filter(|e| e.escalation).count()
    }

    /// How many help starts were step-downs.
    pub fn step_down_count(&self) -> usize {
        self.state.episodes.iter().filter(|e| e.step_down).count()
    }

    /// How many PGBs were granted.
    pub fn pgbs_granted(&self) -> usize {
        self.state.pgbs_granted
    }

    /// Every scheduled PGB review with its outcome, in order.
    pub fn pgb_reviews(&self) -> &[PgbReview] {
        &self.state.reviews
    }

    /// Reviews scheduled and not yet completed.
    pub fn open_pgb_reviews(&self) -> impl Iterator<Item = &PgbReview> {
        self.state.reviews.iter().filter(|r| r.completion.is_none())
    }

    /// The first rule the recorded history breaks. Always `None` for a stream written through
    /// [`crate::decide`]; otherwise the offending facts are left out of the derived state.
    pub fn violation(&self) -> Option<&DomainError> {
        self.state.violation.as_ref()
    }
}
