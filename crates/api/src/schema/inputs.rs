//! Input types of the mutations, and their conversion into domain values.
//!
//! Text fields arrive as GraphQL `String`s and are parsed into the domain's validated types here,
//! so a bad team code or a subject key that looks like a BSN becomes a `VALIDATION` error naming
//! the field — never a panic, never a partial write, and never an echo of the value.

use async_graphql::{InputObject, OneofObject};
use jeugdpad_domain::{
    self as d, EpisodeId, FosterPlacement, ProductCategory, Provider, Step, SubjectKey, TeamCode,
    UserId,
};

use super::enums::{
    AssessmentConclusion, CloseReason, Concern, DecisionFunding, FosterKind, FosterMode, HelpForm,
    HelpResult, PgbPeriod, PgbReviewDecision, Source, Urgency,
};
use super::errors::{parse, ApiError, ApiResult};
use super::scalars::Date;

/// Signaal: what opens a trajectory.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct SignalInput {
    /// The youth's pseudonymous subject key, shared by all their trajectories. Never a BSN: a
    /// value that looks like one is refused. Give this or `bsn`, not both.
    pub subject_key: Option<String>,
    /// The youth's BSN, instead of `subjectKey`: checked with the elfproef and turned into the
    /// subject key with a keyed hash at once; the BSN itself is never stored or logged. Only in
    /// a POST body (never in a URL).
    pub bsn: Option<String>,
    /// The team that owns the trajectory, as a slug like `wijkteam-noord`.
    pub team: String,
    /// Who raised the signal.
    pub source: Source,
    /// What the signal is worried about: at least one, no duplicates.
    pub concerns: Vec<Concern>,
    /// How fast it must be picked up.
    pub urgency: Urgency,
    /// Geboortejaar, when known.
    pub birth_year: Option<i32>,
}

impl SignalInput {
    pub(crate) fn into_domain(self, subject: &SubjectOf<'_>) -> ApiResult<d::SignalReceived> {
        Ok(d::SignalReceived {
            subject_key: subject.resolve(self.subject_key, self.bsn)?,
            team: team("team", self.team)?,
            source: self.source.into(),
            concerns: self.concerns.into_iter().map(Into::into).collect(),
            urgency: self.urgency.into(),
            birth_year: self.birth_year,
        })
    }
}

/// Turns the `subjectKey` or `bsn` a client sent into the subject key.
pub(crate) struct SubjectOf<'a> {
    /// The installation secret.
    pub(crate) secret: &'a jeugdpad_secrets::InstallSecret,
    /// Whether the request came in a POST body (a BSN may not travel in a URL).
    pub(crate) in_body: bool,
}

impl SubjectOf<'_> {
    /// Exactly one of the two.
    pub(crate) fn resolve(
        &self,
        subject_key: Option<String>,
        bsn: Option<String>,
    ) -> ApiResult<SubjectKey> {
        match (subject_key, bsn) {
            (Some(key), None) => parse("subjectKey", SubjectKey::parse(key)),
            (None, Some(bsn)) => {
                if !self.in_body {
                    return Err(ApiError::invalid(
                        "bsn",
                        "a BSN may only be sent in the body of a POST request, never in a URL",
                    ));
                }
                let bsn = jeugdpad_secrets::Bsn::parse(&bsn).map_err(|e| {
                    ApiError::invalid("bsn", e)
                        .with_reason(e.reason())
                        .dutch(e.message_nl())
                })?;
                parse(
                    "bsn",
                    SubjectKey::parse(jeugdpad_secrets::subject_key(self.secret, &bsn)),
                )
            }
            (Some(_), Some(_)) => Err(ApiError::invalid(
                "bsn",
                "give either subjectKey or bsn, not both",
            )),
            (None, None) => Err(ApiError::invalid(
                "subjectKey",
                "give the youth's subjectKey or bsn",
            )),
        }
    }
}

/// Beschikking: a decision on a request.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct DecisionInput {
    /// Toegekend (true) or afgewezen (false).
    pub granted: bool,
    /// The decided form; answers the earliest unanswered request of this form.
    pub form: HelpForm,
    /// iJw productcategorie, two digits (e.g. "40").
    pub product_category: Option<String>,
    /// The provider, when the decision names one.
    pub provider: Option<String>,
    /// Ingangsdatum.
    pub valid_from: Date,
    /// Einddatum, when time-limited.
    pub valid_until: Option<Date>,
    /// Zorg in natura or PGB.
    pub funding: DecisionFunding,
    /// Foster care only, optional: network or recruited (together with fosterMode).
    pub foster_kind: Option<FosterKind>,
    /// Foster care only, optional: full-time, part-time or crisis (together with fosterKind).
    pub foster_mode: Option<FosterMode>,
}

impl DecisionInput {
    pub(crate) fn into_domain(self) -> ApiResult<d::DecisionIssued> {
        Ok(d::DecisionIssued {
            granted: self.granted,
            form: self.form.into(),
            product_category: self
                .product_category
                .map(|c| parse("productCategory", ProductCategory::parse(c)))
                .transpose()?,
            provider: provider(self.provider)?,
            valid_from: self.valid_from.0,
            valid_until: self.valid_until.map(|d| d.0),
            funding: self.funding.into(),
            foster: foster(self.foster_kind, self.foster_mode)?,
        })
    }
}

/// Start van hulp: opens a help episode.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct HelpStartInput {
    /// Names the episode, unique within the trajectory (endHelp refers to it).
    pub episode_id: String,
    /// The form of help; fixes the episode's level.
    pub form: HelpForm,
    /// The provider, when known.
    pub provider: Option<String>,
    /// Required for foster care: network or recruited.
    pub foster_kind: Option<FosterKind>,
    /// Required for foster care: full-time, part-time or crisis.
    pub foster_mode: Option<FosterMode>,
}

impl HelpStartInput {
    pub(crate) fn into_domain(self) -> ApiResult<d::HelpStarted> {
        Ok(d::HelpStarted {
            episode_id: episode(self.episode_id)?,
            form: self.form.into(),
            provider: provider(self.provider)?,
            foster: foster(self.foster_kind, self.foster_mode)?,
        })
    }
}

/// Einde van hulp.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct HelpEndInput {
    /// The episode that ends.
    pub episode_id: String,
    /// How it went.
    pub result: HelpResult,
}

/// Persoonsgebonden budget.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct PgbInput {
    /// The amount in euro cents per period; more than zero.
    pub amount_cents: i64,
    /// The period the amount covers.
    pub period: PgbPeriod,
    /// iJw productcategorie, two digits.
    pub product_category: String,
}

impl PgbInput {
    pub(crate) fn into_domain(self) -> ApiResult<d::PgbGranted> {
        Ok(d::PgbGranted {
            amount_cents: self.amount_cents,
            period: self.period.into(),
            product_category: parse(
                "productCategory",
                ProductCategory::parse(self.product_category),
            )?,
        })
    }
}

/// Uitkomst van een pgb-controle.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct PgbReviewResultInput {
    /// Continue, adjust or stop the budget.
    pub decision: PgbReviewDecision,
    /// The quality of the help bought is in doubt.
    pub quality_concern: bool,
    /// A rechtmatigheid / care-fraud signal.
    pub irregularity_suspected: bool,
}

impl PgbReviewResultInput {
    pub(crate) fn into_domain(self) -> d::PgbReviewCompleted {
        d::PgbReviewCompleted {
            decision: self.decision.into(),
            quality_concern: self.quality_concern,
            irregularity_suspected: self.irregularity_suspected,
        }
    }
}

/// A consultant assignment (for corrections).
#[derive(Debug, Clone, InputObject)]
pub(crate) struct ConsultantInput {
    /// The consultant's user id.
    pub consultant: String,
}

/// A team transfer (for corrections).
#[derive(Debug, Clone, InputObject)]
pub(crate) struct TeamInput {
    /// The receiving team.
    pub team: String,
}

/// An assessment (for corrections).
#[derive(Debug, Clone, InputObject)]
pub(crate) struct AssessmentInput {
    /// What the assessment concluded.
    pub conclusion: AssessmentConclusion,
}

/// A help request (for corrections).
#[derive(Debug, Clone, InputObject)]
pub(crate) struct HelpRequestInput {
    /// The requested form.
    pub form: HelpForm,
}

/// A review schedule (for corrections).
#[derive(Debug, Clone, InputObject)]
pub(crate) struct PgbReviewScheduleInput {
    /// When the review is due.
    pub due_on: Date,
}

/// A closure (for corrections).
#[derive(Debug, Clone, InputObject)]
pub(crate) struct ClosureInput {
    /// Why the trajectory closed.
    pub reason: CloseReason,
}

/// The replacement payload of a correction: exactly one field, of the corrected event's type.
#[derive(Debug, Clone, OneofObject)]
pub(crate) enum StepInput {
    /// Replaces a signal_received.
    SignalReceived(SignalInput),
    /// Replaces a consultant_assigned.
    ConsultantAssigned(ConsultantInput),
    /// Replaces a team_transferred.
    TeamTransferred(TeamInput),
    /// Replaces an assessment_completed.
    AssessmentCompleted(AssessmentInput),
    /// Replaces a help_requested.
    HelpRequested(HelpRequestInput),
    /// Replaces a decision_issued.
    DecisionIssued(DecisionInput),
    /// Replaces a help_started.
    HelpStarted(HelpStartInput),
    /// Replaces a help_ended.
    HelpEnded(HelpEndInput),
    /// Replaces a pgb_granted.
    PgbGranted(PgbInput),
    /// Replaces a pgb_review_scheduled.
    PgbReviewScheduled(PgbReviewScheduleInput),
    /// Replaces a pgb_review_completed.
    PgbReviewCompleted(PgbReviewResultInput),
    /// Replaces a trajectory_closed.
    TrajectoryClosed(ClosureInput),
}

impl StepInput {
    pub(crate) fn into_domain(self, subject: &SubjectOf<'_>) -> ApiResult<Step> {
        Ok(match self {
            StepInput::SignalReceived(s) => Step::SignalReceived(s.into_domain(subject)?),
            StepInput::ConsultantAssigned(c) => Step::ConsultantAssigned(d::ConsultantAssigned {
                consultant: user("consultant", c.consultant)?,
            }),
            StepInput::TeamTransferred(t) => Step::TeamTransferred(d::TeamTransferred {
                team: team("team", t.team)?,
            }),
            StepInput::AssessmentCompleted(a) => {
                Step::AssessmentCompleted(d::AssessmentCompleted {
                    conclusion: a.conclusion.into(),
                })
            }
            StepInput::HelpRequested(r) => Step::HelpRequested(d::HelpRequested {
                form: r.form.into(),
            }),
            StepInput::DecisionIssued(decision) => Step::DecisionIssued(decision.into_domain()?),
            StepInput::HelpStarted(help) => Step::HelpStarted(help.into_domain()?),
            StepInput::HelpEnded(end) => Step::HelpEnded(d::HelpEnded {
                episode_id: episode(end.episode_id)?,
                result: end.result.into(),
            }),
            StepInput::PgbGranted(pgb) => Step::PgbGranted(pgb.into_domain()?),
            StepInput::PgbReviewScheduled(s) => {
                Step::PgbReviewScheduled(d::PgbReviewScheduled { due_on: s.due_on.0 })
            }
            StepInput::PgbReviewCompleted(r) => Step::PgbReviewCompleted(r.into_domain()),
            StepInput::TrajectoryClosed(c) => Step::TrajectoryClosed(d::TrajectoryClosed {
                reason: c.reason.into(),
            }),
        })
    }
}

pub(crate) fn team(field: &'static str, value: String) -> ApiResult<TeamCode> {
    parse(field, TeamCode::parse(value))
}

pub(crate) fn user(field: &'static str, value: String) -> ApiResult<UserId> {
    parse(field, UserId::parse(value))
}

pub(crate) fn episode(value: String) -> ApiResult<EpisodeId> {
    parse("episodeId", EpisodeId::parse(value))
}

fn provider(value: Option<String>) -> ApiResult<Option<Provider>> {
    value
        .map(|p| parse("provider", Provider::parse(p)))
        .transpose()
}

fn foster(
    kind: Option<FosterKind>,
    mode: Option<FosterMode>,
) -> ApiResult<Option<FosterPlacement>> {
    match (kind, mode) {
        (Some(kind), Some(mode)) => Ok(Some(FosterPlacement {
            kind: kind.into(),
            mode: mode.into(),
        })),
        (None, None) => Ok(None),
        _ => Err(ApiError::invalid(
            "fosterKind",
            "fosterKind and fosterMode go together: give both or neither",
        )),
    }
}
