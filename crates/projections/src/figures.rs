//! Kerncijfers per traject: the figures of SPEC §4 for **one** trajectory as of `D`, from that
//! trajectory's own facts, without building the read model of the whole installation.
//!
//! For exports that write one row per trajectory (`jeugdpad-interchange`'s summary export) and
//! must not hold a million trajectories in memory. Nothing here is a definition of its own: the
//! facts go through the same derivation as [`Projections`](crate::Projections) (the domain's
//! fold, then the dated digest), the summary is [`Summary::of`], and the waits are the very
//! waits — with the very status rule — the waiting-time report and the open-waits list count.

use chrono::NaiveDate;
use jeugdpad_domain::{
    AssessmentConclusion, Concern, HelpForm, RecordedFact, Trajectory, TrajectoryId,
};
use serde::Serialize;

use crate::dated::Dated;
use crate::waits::{waits, Status};
use crate::{AsOf, Measure, Norms, Projections, Summary};

/// Where one wait stands at `D` (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitStatus {
    /// Its end counts by `D`: the days are end − start.
    Closed,
    /// Its start counts by `D`, its end does not, and the trajectory is not closed by `D`: the
    /// days are `D` − start.
    Open,
    /// The trajectory closed before the end happened: neither closed nor open, no days.
    Abandoned,
}

impl WaitStatus {
    /// The stable code: `closed`, `open` or `abandoned`.
    pub const fn code(self) -> &'static str {
        match self {
            WaitStatus::Closed => "closed",
            WaitStatus::Open => "open",
            WaitStatus::Abandoned => "abandoned",
        }
    }
}

/// One wait of one trajectory as of `D`: exactly one of the waits the waiting-time report
/// ([`Projections::waiting_times`](crate::Projections::waiting_times)) counts for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrajectoryWait {
    /// Which measure.
    pub measure: Measure,
    /// The requested / decided form, for measures that have one.
    pub form: Option<HelpForm>,
    /// The start date of the wait.
    pub started_on: NaiveDate,
    /// Closed, open or abandoned at `D`.
    pub status: WaitStatus,
    /// Closed: end − start; open: `D` − start so far; abandoned: `None`.
    pub days: Option<i64>,
}

/// The figures of one trajectory as of `D`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrajectoryFigures {
    /// Everything the listing shows (phase, team at `D`, levels, escalations, step-downs,
    /// pathway days, closure, waiting / norm breach): [`Summary::of`] on the digest.
    pub summary: Summary,
    /// The signal's birth year, when it carried one (not a figure; passed through).
    pub birth_year: Option<i32>,
    /// A `buurtgezin_prevention` episode started by `D` (the denominator of `foster_prevented`).
    pub buurtgezin_prevention: bool,
    /// The signal's concerns (zorgen), as corrected, in the order the signal lists them (not a
    /// figure; passed through for grouping).
    pub concerns: Vec<Concern>,
    /// The conclusion of the **first** assessment completed by `D` — the one that ends the
    /// `signal_to_assessment` wait, made before any help it led to — or `None` when none was
    /// completed by `D`. A later re-assessment often follows an escalation, so it would say
    /// more about the outcome than about the signal.
    pub assessment_conclusion: Option<AssessmentConclusion>,
    /// The form of every help episode started by `D`, in start order ((date, version), SPEC
    /// §4); a form started twice appears twice. Its level is [`HelpForm::level`].
    pub help_forms: Vec<HelpForm>,
    /// Every wait that has started by `D`, in [`Measure::ALL`] order and, within a measure, in
    /// the digest's order (history order of the start event; for `decision_to_start` the
    /// order of the requests the decisions answered).
    pub waits: Vec<TrajectoryWait>,
}

impl TrajectoryFigures {
    /// The trajectory's **first** wait of `measure` by `D`: the earliest start; on equal start
    /// dates the smaller form ([`HelpForm`]'s order, the ladder's), then the first in
    /// [`TrajectoryFigures::waits`]. `None` when no wait of the measure has started by `D`.
    pub fn first(&self, measure: Measure) -> Option<&TrajectoryWait> {
        self.waits
            .iter()
            .filter(|w| w.measure == measure)
            .min_by_key(|w| (w.started_on, w.form))
    }
}

/// The figures of one trajectory as of `d`, from its own facts (any order; the domain sorts them
/// by version), derived exactly as the read models derive them. `None` when the trajectory has
/// no signal counted by `d` (not yet signalled, an empty stream, or a retracted signal): then it
/// is in no report as of `d` either.
///
/// `norms` only decide [`Summary::norm_breach`]; every other figure is the same for any norms.
pub fn trajectory_figures(
    id: TrajectoryId,
    facts: impl IntoIterator<Item = RecordedFact>,
    d: NaiveDate,
    norms: &Norms,
) -> Option<TrajectoryFigures> {
    trajectory_figures_of(id, &Trajectory::from_facts(facts), d, norms)
}

/// [`trajectory_figures`] for a trajectory already folded by the domain
/// ([`Trajectory::from_facts`]), for a caller that needs the domain state as well.
pub fn trajectory_figures_of(
    id: TrajectoryId,
    trajectory: &Trajectory,
    d: NaiveDate,
    norms: &Norms,
) -> Option<TrajectoryFigures> {
    figures_of(id, &Dated::from_trajectory(trajectory)?, d, norms)
}

impl Projections {
    /// The figures of trajectory `id` as of `as_of` (with knownOn: as known then), from the
    /// read models' digest; `None` when it is unknown or not yet signalled (or known) then.
    pub fn figures(&self, id: TrajectoryId, as_of: AsOf) -> Option<TrajectoryFigures> {
        let view = self.view(id, as_of)?;
        figures_of(id, &view.dated, as_of.date, &self.norms)
    }
}

/// The figures of a trajectory with digest `dated` as of `d`.
fn figures_of(
    id: TrajectoryId,
    dated: &Dated,
    d: NaiveDate,
    norms: &Norms,
) -> Option<TrajectoryFigures> {
    if dated.signal_on > d {
        return None;
    }
    let mut waits: Vec<TrajectoryWait> = waits(dated)
        .filter_map(|wait| {
            let (status, days) = match wait.status(dated, d)? {
                Status::Closed(days) => (WaitStatus::Closed, Some(days)),
                Status::Open(days) => (WaitStatus::Open, Some(days)),
                Status::Abandoned => (WaitStatus::Abandoned, None),
            };
            Some(TrajectoryWait {
                measure: wait.measure,
                form: wait.form,
                started_on: wait.start,
                status,
                days,
            })
        })
        .collect();
    waits.sort_by_key(|w| w.measure); // stable: keeps the digest's order within a measure
    Some(TrajectoryFigures {
        summary: Summary::of(id, dated, d, norms),
        birth_year: dated.birth_year,
        buurtgezin_prevention: dated.started_form_by(HelpForm::BuurtgezinPrevention, d),
        concerns: dated.concerns.to_vec(),
        assessment_conclusion: dated
            .first_assessment
            .filter(|on| *on <= d)
            .and(dated.first_conclusion),
        help_forms: dated.episodes_at(d).map(|e| e.form).collect(),
        waits,
    })
}
