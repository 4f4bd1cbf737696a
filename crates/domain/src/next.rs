//! Wat kan nu: which steps the rules allow next in a trajectory.
//!
//! A consultant's screen offers a button only for a step that can be recorded now, so the
//! question "which steps are allowed?" needs one answer, used by the web page and by the API's
//! `allowedSteps` alike. It lives here, beside [`crate::decide`], because it is a reading of the
//! same rules: a step kind is *allowed* when `decide` would accept it today with a sensible input
//! (a form with an open request for a decision, an open episode to end, a fresh episode id, …),
//! and not allowed when `decide` refuses it whatever the input. The property test in
//! `tests/next.rs` holds exactly that against `decide` on random histories, so the two cannot
//! drift apart.
//!
//! What this cannot promise: a step that is allowed can still be refused for its *input* — a
//! date before the signal, an episode that would end before it started, a correction that
//! leaves a history breaking a rule. Those refusals come from `decide` with their sentence.

use crate::ids::{EpisodeId, EventId};
use crate::ladder::HelpForm;
use crate::trajectory::Trajectory;
use crate::{Event, Step};

crate::codes::code_list! {
    /// Soort stap: a step a consultant records in an opened trajectory (opening one is the
    /// signal, *Melding registreren*, which has no trajectory yet). Labels are the screen's
    /// button texts.
    pub enum StepKind ("step kind") {
        /// Consulent toewijzen.
        AssignConsultant = "assign_consultant", "Consulent toewijzen";
        /// Overdragen aan ander team.
        TransferTeam = "transfer_team", "Overdragen aan ander team";
        /// Onderzoek afronden.
        CompleteAssessment = "complete_assessment", "Onderzoek afronden";
        /// Hulp aanvragen.
        RequestHelp = "request_help", "Hulp aanvragen";
        /// Beschikking afgeven: needs an unanswered request.
        IssueDecision = "issue_decision", "Beschikking afgeven";
        /// Hulp starten.
        StartHelp = "start_help", "Hulp starten";
        /// Hulp beëindigen: needs an open episode.
        EndHelp = "end_help", "Hulp beëindigen";
        /// PGB toekennen.
        GrantPgb = "grant_pgb", "PGB toekennen";
        /// PGB-heroverweging plannen.
        SchedulePgbReview = "schedule_pgb_review", "PGB-heroverweging plannen";
        /// PGB-heroverweging afronden: needs a scheduled review still open.
        CompletePgbReview = "complete_pgb_review", "PGB-heroverweging afronden";
        /// Traject afsluiten: needs every episode ended.
        Close = "close", "Traject afsluiten";
        /// Corrigeren: an earlier step gets a new date or content.
        Correct = "correct", "Corrigeren";
        /// Intrekken: an earlier step did not happen.
        Retract = "retract", "Intrekken";
    }
}

impl StepKind {
    /// The kind of step `command` records; `None` for opening a trajectory.
    pub fn of(command: &crate::Command) -> Option<StepKind> {
        use crate::Command as C;
        Some(match command {
            C::OpenFromSignal { .. } => return None,
            C::AssignConsultant { .. } => StepKind::AssignConsultant,
            C::TransferTeam { .. } => StepKind::TransferTeam,
            C::CompleteAssessment { .. } => StepKind::CompleteAssessment,
            C::RequestHelp { .. } => StepKind::RequestHelp,
            C::IssueDecision { .. } => StepKind::IssueDecision,
            C::StartHelp { .. } => StepKind::StartHelp,
            C::EndHelp { .. } => StepKind::EndHelp,
            C::GrantPgb { .. } => StepKind::GrantPgb,
            C::SchedulePgbReview { .. } => StepKind::SchedulePgbReview,
            C::CompletePgbReview { .. } => StepKind::CompletePgbReview,
            C::Close { .. } => StepKind::Close,
            C::CorrectEvent { .. } => StepKind::Correct,
            C::RetractEvent { .. } => StepKind::Retract,
        })
    }
}

/// One step the rules allow now, with the choices its form needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedStep {
    /// The kind of step.
    pub kind: StepKind,
    /// For a decision: the forms with an unanswered request, earliest request first. A
    /// decision answers the earliest unanswered request of its form, so these are the only
    /// forms a decision can have now.
    pub forms: Vec<HelpForm>,
    /// For ending help: the open episodes, in start order.
    pub episodes: Vec<EpisodeId>,
    /// For a correction or retraction: the steps it may name, in recording order — steps
    /// (not amendments) that were not retracted; a retraction never names the signal, without
    /// which the trajectory would not be opened.
    pub events: Vec<EventId>,
    /// For starting help: an episode id not used yet in this trajectory (`hulp-N`).
    pub suggested_episode: Option<EpisodeId>,
}

impl AllowedStep {
    fn plain(kind: StepKind) -> AllowedStep {
        AllowedStep {
            kind,
            forms: Vec::new(),
            episodes: Vec::new(),
            events: Vec::new(),
            suggested_episode: None,
        }
    }
}

/// The steps the rules allow now in `trajectory`, in the order of [`StepKind::ALL`].
///
/// Empty for a trajectory that was never opened (only a signal opens one) or whose recorded
/// history already breaks a rule (impossible for streams written through `decide`; such a
/// stream refuses every step until an amendment outside the page repairs it). A closed
/// trajectory allows only corrections and retractions.
pub fn allowed_steps(trajectory: &Trajectory) -> Vec<AllowedStep> {
    if trajectory.signal().is_none() || trajectory.violation().is_some() {
        return Vec::new();
    }
    let amendable = amendable_steps(trajectory);
    let retractable: Vec<EventId> = amendable
        .iter()
        .copied()
        .filter(|id| trajectory.signal().is_none_or(|s| s.event_id != *id))
        .collect();
    let mut steps = Vec::new();
    if !trajectory.is_closed() {
        let open_forms = {
            let mut forms: Vec<HelpForm> = Vec::new();
            for request in trajectory.open_requests() {
                if !forms.contains(&request.form) {
                    forms.push(request.form);
                }
            }
            forms
        };
        let open_episodes: Vec<EpisodeId> =
            trajectory.open_episodes().map(|e| e.id.clone()).collect();
        for &kind in StepKind::ALL {
            let mut step = AllowedStep::plain(kind);
            let allowed = match kind {
                StepKind::IssueDecision => {
                    step.forms.clone_from(&open_forms);
                    !open_forms.is_empty()
                }
                StepKind::EndHelp => {
                    step.episodes.clone_from(&open_episodes);
                    !open_episodes.is_empty()
                }
                StepKind::StartHelp => {
                    step.suggested_episode = Some(suggested_episode(trajectory));
                    true
                }
                StepKind::CompletePgbReview => trajectory.open_pgb_reviews().next().is_some(),
                StepKind::Close => open_episodes.is_empty(),
                StepKind::Correct | StepKind::Retract => false, // below, as for a closed one
                StepKind::AssignConsultant
                | StepKind::TransferTeam
                | StepKind::CompleteAssessment
                | StepKind::RequestHelp
                | StepKind::GrantPgb
                | StepKind::SchedulePgbReview => true,
            };
            if allowed {
                steps.push(step);
            }
        }
    }
    if !amendable.is_empty() {
        let mut correct = AllowedStep::plain(StepKind::Correct);
        correct.events = amendable;
        steps.push(correct);
    }
    if !retractable.is_empty() {
        let mut retract = AllowedStep::plain(StepKind::Retract);
        retract.events = retractable;
        steps.push(retract);
    }
    steps
}

/// Recorded steps (not amendments) that were not retracted, in recording order.
fn amendable_steps(trajectory: &Trajectory) -> Vec<EventId> {
    let facts = trajectory.facts();
    let retracted: Vec<EventId> = facts
        .iter()
        .filter_map(|f| match &f.event {
            Event::Retracted(r) => Some(r.retracts),
            _ => None,
        })
        .collect();
    facts
        .iter()
        .filter(|f| matches!(f.event, Event::Step(_)) && !retracted.contains(&f.event_id))
        .map(|f| f.event_id)
        .collect()
}

/// `hulp-N` with the smallest N ≥ (episodes so far + 1) that no recorded step of this
/// trajectory uses — also a retracted or corrected-away one, because an episode id is never
/// used twice.
pub fn suggested_episode(trajectory: &Trajectory) -> EpisodeId {
    let used: Vec<&str> = trajectory
        .facts()
        .iter()
        .filter_map(|f| match &f.event {
            Event::Step(Step::HelpStarted(h)) => Some(h.episode_id.as_str()),
            Event::Corrected(c) => match &c.payload {
                Some(Step::HelpStarted(h)) => Some(h.episode_id.as_str()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let mut n = trajectory.episodes().len() + 1;
    loop {
        let candidate = format!("hulp-{n}");
        if !used.contains(&candidate.as_str()) {
            if let Ok(id) = EpisodeId::parse(candidate) {
                return id;
            }
        }
        n += 1;
    }
}
