//! The dated digest of one trajectory: just the dates and codes the figures need, derived once
//! from the full corrected history, so every as-of-`D` question is a date filter.
//!
//! Why this is exact: the domain derives requests/answers, episodes and escalation marks by one
//! fold in (`occurred_on`, version) order. Cutting the history at `D` cuts that fold at `D`, so
//! its result is the full result restricted to facts dated `<= D`: a decision answers an earlier
//! request, an escalation compares with earlier starts, a step-down with episodes that ended on or
//! before its start, a help start ends the wait of an earlier decision.

use chrono::NaiveDate;
use jeugdpad_domain::{
    AssessmentConclusion, CloseReason, Concern, HelpForm, Level, PgbReviewDecision, Phase, Source,
    Step, SubjectKey, TeamCode, Trajectory, Urgency, UserId,
};

/// Aanvraag: a help request and the date of the decision answering it (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestRec {
    pub(crate) on: NaiveDate,
    pub(crate) form: HelpForm,
    pub(crate) decided_on: Option<NaiveDate>,
}

/// Toekenning: a granted decision and the first help start of its form on or after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantRec {
    pub(crate) on: NaiveDate,
    pub(crate) form: HelpForm,
    pub(crate) started_on: Option<NaiveDate>,
}

/// Hulpepisode: start, end, level and the escalation / step-down marks of its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EpisodeRec {
    pub(crate) on: NaiveDate,
    pub(crate) form: HelpForm,
    pub(crate) ended_on: Option<NaiveDate>,
    pub(crate) escalation: bool,
    pub(crate) step_down: bool,
}

/// Pgb-controle: scheduled, due and (maybe) completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReviewRec {
    pub(crate) scheduled_on: NaiveDate,
    pub(crate) due_on: NaiveDate,
    pub(crate) completion: Option<CompletionRec>,
}

/// The outcome of a PGB review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompletionRec {
    pub(crate) on: NaiveDate,
    pub(crate) decision: PgbReviewDecision,
    pub(crate) quality_concern: bool,
    pub(crate) irregularity_suspected: bool,
}

/// The digest. Lists are boxed slices: no spare capacity for a million trajectories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dated {
    pub(crate) signal_on: NaiveDate,
    pub(crate) subject: SubjectKey,
    pub(crate) source: Source,
    pub(crate) urgency: Urgency,
    /// The signal's team: owns the trajectory until the first transfer.
    pub(crate) signal_team: TeamCode,
    /// Every transfer (receiving team), in effective order.
    pub(crate) transfers: Box<[(NaiveDate, TeamCode)]>,
    /// Every consultant assignment, in effective order.
    pub(crate) consultants: Box<[(NaiveDate, UserId)]>,
    /// The first `assessment_completed`.
    pub(crate) first_assessment: Option<NaiveDate>,
    pub(crate) requests: Box<[RequestRec]>,
    pub(crate) grants: Box<[GrantRec]>,
    /// In start order.
    pub(crate) episodes: Box<[EpisodeRec]>,
    pub(crate) reviews: Box<[ReviewRec]>,
    pub(crate) closure: Option<(NaiveDate, CloseReason)>,
    /// Passed through for the export (not figures): the signal's birth year and concerns, as
    /// corrected, and the first assessment's conclusion.
    pub(crate) birth_year: Option<i32>,
    pub(crate) concerns: Box<[Concern]>,
    pub(crate) first_conclusion: Option<AssessmentConclusion>,
}

impl Dated {
    /// The digest of a trajectory's corrected history; `None` when it has no signal (an empty
    /// stream, or one whose signal was retracted).
    pub(crate) fn from_trajectory(t: &Trajectory) -> Option<Dated> {
        let signal = t.signal()?;
        let mut transfers = Vec::new();
        let mut consultants = Vec::new();
        let closed_on = t.closure().map(|c| c.closed_on);
        for fact in t.effective_history() {
            // Facts the fold refused (only possible for data not written through `decide`) are
            // still in the effective history; the closure bound keeps the worst of them out.
            if closed_on.is_some_and(|c| fact.occurred_on > c) {
                continue;
            }
            match &fact.step {
                Step::TeamTransferred(p) => transfers.push((fact.occurred_on, p.team.clone())),
                Step::ConsultantAssigned(p) => {
                    consultants.push((fact.occurred_on, p.consultant.clone()));
                }
                _ => {}
            }
        }
        let episodes: Vec<EpisodeRec> = t
            .episodes()
            .iter()
            .map(|e| EpisodeRec {
                on: e.started_on,
                form: e.form,
                ended_on: e.end.as_ref().map(|end| end.ended_on),
                escalation: e.escalation,
                step_down: e.step_down,
            })
            .collect();
        let requests = t
            .requests()
            .iter()
            .map(|r| RequestRec {
                on: r.requested_on,
                form: r.form,
                decided_on: r.answer.as_ref().map(|a| a.decided_on),
            })
            .collect();
        // A granted decision answers a request of its own form, so the request names the form.
        let grants = t
            .requests()
            .iter()
            .filter_map(|r| {
                let answer = r.answer.as_ref().filter(|a| a.granted)?;
                let started_on = episodes
                    .iter()
                    .filter(|e| e.form == r.form && e.on >= answer.decided_on)
                    .map(|e| e.on)
                    .min();
                Some(GrantRec {
                    on: answer.decided_on,
                    form: r.form,
                    started_on,
                })
            })
            .collect();
        let reviews = t
            .pgb_reviews()
            .iter()
            .map(|r| ReviewRec {
                scheduled_on: r.scheduled_on,
                due_on: r.due_on,
                completion: r.completion.as_ref().map(|c| CompletionRec {
                    on: c.completed_on,
                    decision: c.decision,
                    quality_concern: c.quality_concern,
                    irregularity_suspected: c.irregularity_suspected,
                }),
            })
            .collect();
        Some(Dated {
            signal_on: signal.received_on,
            subject: signal.details.subject_key.clone(),
            source: signal.details.source,
            urgency: signal.details.urgency,
            signal_team: signal.details.team.clone(),
            transfers: transfers.into_boxed_slice(),
            consultants: consultants.into_boxed_slice(),
            first_assessment: t.assessments().first().map(|a| a.completed_on),
            requests,
            grants,
            episodes: episodes.into_boxed_slice(),
            reviews,
            closure: t.closure().map(|c| (c.closed_on, c.reason)),
            birth_year: signal.details.birth_year,
            concerns: signal.details.concerns.clone().into_boxed_slice(),
            first_conclusion: t.assessments().first().map(|a| a.conclusion),
        })
    }

    /// The team that owns the trajectory at `d`: the signal's team, then the last transfer dated
    /// on or before `d`.
    pub(crate) fn team_at(&self, d: NaiveDate) -> &TeamCode {
        self.transfers
            .iter()
            .rfind(|(on, _)| *on <= d)
            .map_or(&self.signal_team, |(_, team)| team)
    }

    /// The consultant assigned last on or before `d`.
    pub(crate) fn consultant_at(&self, d: NaiveDate) -> Option<&UserId> {
        self.consultants
            .iter()
            .rfind(|(on, _)| *on <= d)
            .map(|(_, c)| c)
    }

    /// The closure, if it counts by `d`.
    pub(crate) fn closure_at(&self, d: NaiveDate) -> Option<(NaiveDate, CloseReason)> {
        self.closure.filter(|(on, _)| *on <= d)
    }

    /// Closed by `d`.
    pub(crate) fn closed_by(&self, d: NaiveDate) -> bool {
        self.closure_at(d).is_some()
    }

    /// Episodes started by `d`.
    pub(crate) fn episodes_at(&self, d: NaiveDate) -> impl Iterator<Item = &EpisodeRec> + '_ {
        self.episodes.iter().filter(move |e| e.on <= d)
    }

    /// Episodes started by `d` and not ended by `d`.
    pub(crate) fn open_episodes_at(&self, d: NaiveDate) -> impl Iterator<Item = &EpisodeRec> + '_ {
        self.episodes_at(d)
            .filter(move |e| e.ended_on.is_none_or(|end| end > d))
    }

    /// Highest level of any help started by `d` (0 when none).
    pub(crate) fn highest_level_at(&self, d: NaiveDate) -> Level {
        self.episodes_at(d)
            .map(|e| e.form.level())
            .max()
            .unwrap_or_default()
    }

    /// Highest level among the episodes open at `d` (0 when none).
    pub(crate) fn current_level_at(&self, d: NaiveDate) -> Level {
        self.open_episodes_at(d)
            .map(|e| e.form.level())
            .max()
            .unwrap_or_default()
    }

    /// Whether an episode of `form` started by `d` (e.g. `buurtgezin_prevention`: the
    /// denominator of `foster_prevented`).
    pub(crate) fn started_form_by(&self, form: HelpForm, d: NaiveDate) -> bool {
        self.episodes_at(d).any(|e| e.form == form)
    }

    /// Escalations among the help starts by `d`.
    pub(crate) fn escalations_at(&self, d: NaiveDate) -> usize {
        self.episodes_at(d).filter(|e| e.escalation).count()
    }

    /// Step-downs among the help starts by `d`.
    pub(crate) fn step_downs_at(&self, d: NaiveDate) -> usize {
        self.episodes_at(d).filter(|e| e.step_down).count()
    }

    /// Where the trajectory stood at `d`: the domain's phase rule ([`Phase::of`]) on the
    /// digest cut at `d`.
    pub(crate) fn phase_at(&self, d: NaiveDate) -> Phase {
        Phase::of(
            self.closed_by(d),
            self.open_episodes_at(d).next().is_some(),
            self.episodes_at(d).next().is_some(),
            self.first_assessment.is_some_and(|a| a <= d),
        )
    }

    /// Pathway length (doorlooptijd) in days at `d`: closed − signal, or `d` − signal when open.
    pub(crate) fn pathway_days_at(&self, d: NaiveDate) -> i64 {
        let end = self.closure_at(d).map_or(d, |(on, _)| on);
        days(self.signal_on, end)
    }
}

/// Whole calendar days from `start` to `end`.
pub(crate) fn days(start: NaiveDate, end: NaiveDate) -> i64 {
    (end - start).num_days()
}
