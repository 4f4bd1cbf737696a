//! The event catalogue (SPEC §2) as typed Rust.
//!
//! An [`Event`] is either a [`Step`] — one of the twelve facts about the youth's pathway — or an
//! amendment of an earlier step: a [`Correction`] or a [`Retraction`]. A correction's replacement
//! payload is a `Step`, so "correcting a correction" cannot even be written down.
//!
//! The payload structs hold exactly the fields of the spec table. Their serde form is the stored
//! JSON payload (see [`crate::codec`]); optional fields are left out when absent.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codes::{
    AssessmentConclusion, CloseReason, Concern, DecisionFunding, EventType, FosterKind, FosterMode,
    HelpResult, PgbPeriod, PgbReviewDecision, Source, Urgency,
};
use crate::ids::{
    EpisodeId, EventId, ProductCategory, Provider, Reason, SubjectKey, TeamCode, UserId,
};
use crate::ladder::HelpForm;

/// `signal_received` — signaal ontvangen: opens the trajectory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalReceived {
    /// The youth's pseudonym, shared by all their trajectories.
    pub subject_key: SubjectKey,
    /// The team that owns the trajectory from the start.
    pub team: TeamCode,
    /// Who raised the signal.
    pub source: Source,
    /// What the signal is worried about: at least one, no duplicates.
    pub concerns: Vec<Concern>,
    /// How fast it must be picked up.
    pub urgency: Urgency,
    /// Geboortejaar, when known: enough for age groups without storing a birth date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<i32>,
}

/// `consultant_assigned` — consulent toegewezen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsultantAssigned {
    /// The consultant (jeugdconsulent) now responsible.
    pub consultant: UserId,
}

/// `team_transferred` — overgedragen aan een ander team, which owns the trajectory from then on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamTransferred {
    /// The receiving team.
    pub team: TeamCode,
}

/// `assessment_completed` — onderzoek / keukentafelgesprek afgerond.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentCompleted {
    /// What the assessment concluded.
    pub conclusion: AssessmentConclusion,
}

/// `help_requested` — aanvraag voor een voorziening; starts the decision clock (Awb 4:13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpRequested {
    /// The requested form of help.
    pub form: HelpForm,
}

/// Pleegzorgplaatsing: the two details every foster care placement has. They come together or
/// not at all; on the wire they are the flat fields `foster_kind` and `foster_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FosterPlacement {
    /// Network or recruited foster parents.
    pub kind: FosterKind,
    /// Full-time, part-time or crisis.
    pub mode: FosterMode,
}

/// `decision_issued` — beschikking / toewijzing: answers the earliest open request of its form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "wire::DecisionIssued", into = "wire::DecisionIssued")]
pub struct DecisionIssued {
    /// Toegekend (true) or afgewezen (false). A refusal answers the request too.
    pub granted: bool,
    /// The decided form of help.
    pub form: HelpForm,
    /// iJw productcategorie, when the decision names one.
    pub product_category: Option<ProductCategory>,
    /// The provider, when the decision names one.
    pub provider: Option<Provider>,
    /// Ingangsdatum.
    pub valid_from: NaiveDate,
    /// Einddatum, when the decision is time-limited; never before `valid_from`.
    pub valid_until: Option<NaiveDate>,
    /// Zorg in natura or pgb.
    pub funding: DecisionFunding,
    /// Optional placement details of a foster care decision; only for `foster_care`.
    pub foster: Option<FosterPlacement>,
}

/// `help_started` — hulp gestart: opens a help episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "wire::HelpStarted", into = "wire::HelpStarted")]
pub struct HelpStarted {
    /// Names the episode, unique within the trajectory.
    pub episode_id: EpisodeId,
    /// The form of help, which fixes the episode's level.
    pub form: HelpForm,
    /// The provider, when known.
    pub provider: Option<Provider>,
    /// Required for `foster_care`, absent otherwise.
    pub foster: Option<FosterPlacement>,
}

/// `help_ended` — hulp beëindigd: closes a started episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpEnded {
    /// The episode that ends.
    pub episode_id: EpisodeId,
    /// How it went.
    pub result: HelpResult,
}

/// `pgb_granted` — persoonsgebonden budget toegekend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgbGranted {
    /// The amount in euro cents per `period`; always positive.
    pub amount_cents: i64,
    /// The period the amount covers.
    pub period: PgbPeriod,
    /// iJw productcategorie of the budget.
    pub product_category: ProductCategory,
}

/// `pgb_review_scheduled` — pgb-controle gepland (proactive quality and rechtmatigheid review).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgbReviewScheduled {
    /// When the review is due; may lie in the future, never before the scheduling date.
    pub due_on: NaiveDate,
}

/// `pgb_review_completed` — pgb-controle afgerond: answers the earliest open scheduled review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgbReviewCompleted {
    /// Continue, adjust or stop the budget.
    pub decision: PgbReviewDecision,
    /// The quality of the help bought is in doubt.
    pub quality_concern: bool,
    /// A rechtmatigheid / care-fraud signal.
    pub irregularity_suspected: bool,
}

/// `trajectory_closed` — traject afgesloten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrajectoryClosed {
    /// Why it closed.
    pub reason: CloseReason,
}

/// Stap: one of the twelve facts about a pathway — every event except the amendments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    SignalReceived(SignalReceived),
    ConsultantAssigned(ConsultantAssigned),
    TeamTransferred(TeamTransferred),
    AssessmentCompleted(AssessmentCompleted),
    HelpRequested(HelpRequested),
    DecisionIssued(DecisionIssued),
    HelpStarted(HelpStarted),
    HelpEnded(HelpEnded),
    PgbGranted(PgbGranted),
    PgbReviewScheduled(PgbReviewScheduled),
    PgbReviewCompleted(PgbReviewCompleted),
    TrajectoryClosed(TrajectoryClosed),
}

/// `event_corrected` — correctie: replaces the date and/or payload of an earlier step.
///
/// The stream keeps both the original and the correction; every projection shows the corrected
/// history. Several corrections of one event apply in recording order, each on top of the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The event being corrected: a step of the same stream that has not been retracted.
    pub corrects: EventId,
    /// The replacement `occurred_on`, if the date was wrong.
    pub occurred_on: Option<NaiveDate>,
    /// The replacement payload, of the same type as the corrected step, if a field was wrong.
    pub payload: Option<Step>,
    /// Why; shown in the timeline and the audit trail.
    pub reason: Reason,
}

/// `event_retracted` — intrekking: the step did not happen (recorded in error, wrong file).
/// A retracted event no longer counts anywhere, but stays in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retraction {
    /// The event being retracted: a step of the same stream that has not been retracted.
    pub retracts: EventId,
    /// Why.
    pub reason: Reason,
}

/// Gebeurtenis: anything that can be stored in a trajectory's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A fact about the pathway.
    Step(Step),
    /// A correction of an earlier step.
    Corrected(Correction),
    /// A retraction of an earlier step.
    Retracted(Retraction),
}

impl Step {
    /// The event type of this step.
    pub fn kind(&self) -> EventType {
        match self {
            Step::SignalReceived(_) => EventType::SignalReceived,
            Step::ConsultantAssigned(_) => EventType::ConsultantAssigned,
            Step::TeamTransferred(_) => EventType::TeamTransferred,
            Step::AssessmentCompleted(_) => EventType::AssessmentCompleted,
            Step::HelpRequested(_) => EventType::HelpRequested,
            Step::DecisionIssued(_) => EventType::DecisionIssued,
            Step::HelpStarted(_) => EventType::HelpStarted,
            Step::HelpEnded(_) => EventType::HelpEnded,
            Step::PgbGranted(_) => EventType::PgbGranted,
            Step::PgbReviewScheduled(_) => EventType::PgbReviewScheduled,
            Step::PgbReviewCompleted(_) => EventType::PgbReviewCompleted,
            Step::TrajectoryClosed(_) => EventType::TrajectoryClosed,
        }
    }

    /// The stable type code, e.g. `"help_started"`.
    pub fn event_type(&self) -> &'static str {
        self.kind().code()
    }
}

impl Event {
    /// The event type.
    pub fn kind(&self) -> EventType {
        match self {
            Event::Step(step) => step.kind(),
            Event::Corrected(_) => EventType::EventCorrected,
            Event::Retracted(_) => EventType::EventRetracted,
        }
    }

    /// The stable type code stored in the envelope, e.g. `"event_corrected"`.
    pub fn event_type(&self) -> &'static str {
        self.kind().code()
    }
}

impl From<Step> for Event {
    fn from(step: Step) -> Self {
        Event::Step(step)
    }
}

/// An event as stored in its stream: what [`crate::evolve`] consumes and [`crate::decide`]
/// produces (with the version it will be stored at). The id is needed because corrections and
/// retractions name events by it; the version orders same-day facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFact {
    /// The event's id.
    pub event_id: EventId,
    /// Its 1-based position in the stream.
    pub version: u64,
    /// When it happened in the world.
    pub occurred_on: NaiveDate,
    /// What happened.
    pub event: Event,
}

/// The flat wire forms of payloads whose Rust type groups fields.
mod wire {
    use super::*;

    fn foster(
        kind: Option<FosterKind>,
        mode: Option<FosterMode>,
    ) -> Result<Option<FosterPlacement>, String> {
        match (kind, mode) {
            (Some(kind), Some(mode)) => Ok(Some(FosterPlacement { kind, mode })),
            (None, None) => Ok(None),
            _ => Err("foster_kind and foster_mode go together: give both or neither".to_owned()),
        }
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct HelpStarted {
        episode_id: EpisodeId,
        form: HelpForm,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<Provider>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        foster_kind: Option<FosterKind>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        foster_mode: Option<FosterMode>,
    }

    impl TryFrom<HelpStarted> for super::HelpStarted {
        type Error = String;
        fn try_from(w: HelpStarted) -> Result<Self, String> {
            let foster = foster(w.foster_kind, w.foster_mode)?;
            Ok(super::HelpStarted {
                episode_id: w.episode_id,
                form: w.form,
                provider: w.provider,
                foster,
            })
        }
    }

    impl From<super::HelpStarted> for HelpStarted {
        fn from(p: super::HelpStarted) -> Self {
            HelpStarted {
                episode_id: p.episode_id,
                form: p.form,
                provider: p.provider,
                foster_kind: p.foster.map(|f| f.kind),
                foster_mode: p.foster.map(|f| f.mode),
            }
        }
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct DecisionIssued {
        granted: bool,
        form: HelpForm,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        product_category: Option<ProductCategory>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<Provider>,
        valid_from: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_until: Option<NaiveDate>,
        funding: DecisionFunding,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        foster_kind: Option<FosterKind>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        foster_mode: Option<FosterMode>,
    }

    impl TryFrom<DecisionIssued> for super::DecisionIssued {
        type Error = String;
        fn try_from(w: DecisionIssued) -> Result<Self, String> {
            let foster = foster(w.foster_kind, w.foster_mode)?;
            Ok(super::DecisionIssued {
                granted: w.granted,
                form: w.form,
                product_category: w.product_category,
                provider: w.provider,
                valid_from: w.valid_from,
                valid_until: w.valid_until,
                funding: w.funding,
                foster,
            })
        }
    }

    impl From<super::DecisionIssued> for DecisionIssued {
        fn from(p: super::DecisionIssued) -> Self {
            DecisionIssued {
                granted: p.granted,
                form: p.form,
                product_category: p.product_category,
                provider: p.provider,
                valid_from: p.valid_from,
                valid_until: p.valid_until,
                funding: p.funding,
                foster_kind: p.foster.map(|f| f.kind),
                foster_mode: p.foster.map(|f| f.mode),
            }
        }
    }
}
