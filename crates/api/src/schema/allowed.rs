//! Wat kan nu: the steps the rules allow next, as `Trajectory.allowedSteps` answers them — the
//! domain's `allowed_steps`, renamed for GraphQL and nothing more.

use async_graphql::{Object, ID};
use jeugdpad_domain as d;

use super::enums::{HelpForm, StepKind};

/// One step the rules allow now.
#[derive(Debug, Clone)]
pub(crate) struct AllowedStep(pub(crate) d::AllowedStep);

/// One step the rules allow now, with the choices its form needs.
#[Object]
impl AllowedStep {
    /// The kind of step (the mutation it is recorded with: `ISSUE_DECISION` → `issueDecision`).
    async fn step(&self) -> StepKind {
        self.0.kind.into()
    }
    /// Its Dutch label, as the button reads.
    async fn label(&self) -> &'static str {
        self.0.kind.label_nl()
    }
    /// For `ISSUE_DECISION`: the forms with an unanswered request (earliest request first): a
    /// decision answers the earliest unanswered request of its form.
    async fn forms(&self) -> Vec<HelpForm> {
        self.0.forms.iter().map(|&f| f.into()).collect()
    }
    /// For `END_HELP`: the open episodes.
    async fn episode_ids(&self) -> Vec<&str> {
        self.0.episodes.iter().map(d::EpisodeId::as_str).collect()
    }
    /// For `CORRECT` and `RETRACT`: the steps it may name (not amendments, not retracted; a
    /// retraction never names the signal), in recording order.
    async fn event_ids(&self) -> Vec<ID> {
        self.0.events.iter().map(|e| ID(e.to_string())).collect()
    }
    /// For `START_HELP`: an episode id not used yet in this trajectory.
    async fn suggested_episode_id(&self) -> Option<&str> {
        self.0.suggested_episode.as_ref().map(d::EpisodeId::as_str)
    }
}
