//! What one trajectory's screen shows beside its timeline: the steps the rules allow next
//! (`Trajectory.allowedSteps`, the domain's `allowed_steps` renamed for GraphQL) and its own
//! waits against their norms (`Trajectory.waits`, the projections' `trajectory_figures`).

use async_graphql::{Object, ID};
use jeugdpad_domain as d;

use jeugdpad_projections as p;

use super::enums::{HelpForm, Measure, StepKind};
use super::scalars::Date;

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

/// Where a wait stands at the reference date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "jeugdpad_projections::WaitStatus")]
pub(crate) enum WaitStatus {
    /// Its end counts: the days are end − start.
    Closed,
    /// Still waiting: the days are the reference date − start.
    Open,
    /// The trajectory closed before the end happened: no days.
    Abandoned,
}

/// One wait of one trajectory (docs/figures.md §3).
#[derive(Debug, Clone)]
pub(crate) struct WaitOfTrajectory {
    wait: p::TrajectoryWait,
    norm: Option<i64>,
}

impl WaitOfTrajectory {
    pub(crate) fn new(wait: p::TrajectoryWait, norms: &p::Norms) -> WaitOfTrajectory {
        WaitOfTrajectory {
            norm: norms.for_measure(wait.measure),
            wait,
        }
    }
}

/// One wait of one trajectory at the reference date, with the norm applied.
#[Object]
impl WaitOfTrajectory {
    /// Which wait.
    async fn measure(&self) -> Measure {
        self.wait.measure.into()
    }
    /// The requested or decided form, for measures that have one.
    async fn form(&self) -> Option<HelpForm> {
        self.wait.form.map(Into::into)
    }
    /// When it started.
    async fn started_on(&self) -> Date {
        self.wait.started_on.into()
    }
    /// Closed, open or abandoned.
    async fn status(&self) -> WaitStatus {
        self.wait.status.into()
    }
    /// Closed: end − start; open: days so far; abandoned: null.
    async fn days(&self) -> Option<i64> {
        self.wait.days
    }
    /// The norm applied, in days (null: no norm for this measure).
    async fn norm_days(&self) -> Option<i64> {
        self.norm
    }
    /// The day the wait reaches its norm (start + norm).
    async fn due_on(&self) -> Option<Date> {
        self.norm
            .map(|n| Date(self.wait.started_on + chrono::Duration::days(n)))
    }
    /// Longer than its norm (closed, or open so far).
    async fn breach(&self) -> bool {
        matches!((self.wait.days, self.norm), (Some(days), Some(norm)) if days > norm)
    }
}
