//! One pseudonymised summary row per trajectory, as of a reference date `D` (SPEC §4).
//!
//! Computed from the domain's corrected history of the stream. Everything the domain derives for
//! the whole history, restricted to dates `<= D`, equals what it derives for the history cut at
//! `D` (the fold runs in `occurred_on` order; the projections crate relies on the same fact), so
//! "as of `D`" is a date filter here too.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use jeugdpad_domain::{HelpForm, Level, Phase, Step, Trajectory, TrajectoryId};
use serde::Serialize;

use crate::columns::Cell;

/// Where a wait stands at `D` (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitStatus {
    /// Its end happened by `D`; the days are end − start.
    Closed,
    /// Still waiting at `D`; the days are `D` − start.
    Open,
    /// The trajectory closed before the end happened: neither closed nor open.
    Abandoned,
}

impl WaitStatus {
    fn code(self) -> &'static str {
        match self {
            WaitStatus::Closed => "closed",
            WaitStatus::Open => "open",
            WaitStatus::Abandoned => "abandoned",
        }
    }
}

/// The first wait of one measure: its status and length in days (`None` when abandoned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitFigure {
    /// Closed, open or abandoned.
    pub status: WaitStatus,
    /// Days: closed length or days so far; `None` when abandoned.
    pub days: Option<i64>,
}

/// Samenvatting for analysts: one trajectory as of `D`, without free text and without staff.
/// The columns are documented in `docs/export-columns.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub trajectory_id: TrajectoryId,
    pub subject_key: String,
    pub team: String,
    pub source: &'static str,
    pub ijw_verwijzer: &'static str,
    pub urgency: String,
    pub birth_year: Option<i32>,
    pub signal_on: NaiveDate,
    pub signal_month: String,
    pub phase: String,
    pub highest_level: u8,
    pub cbs_category: Option<&'static str>,
    pub escalations: usize,
    pub step_downs: usize,
    pub buurtgezin_prevention: bool,
    pub pathway_days: i64,
    pub closed_on: Option<NaiveDate>,
    pub close_reason: Option<String>,
    pub signal_to_assessment: Option<WaitFigure>,
    pub request_to_decision: Option<WaitFigure>,
    pub decision_to_start: Option<WaitFigure>,
    pub signal_to_first_help: Option<WaitFigure>,
    pub as_of: NaiveDate,
}

/// The summary of one trajectory as of `d`; `None` when it has no signal by `d`.
pub fn summarise(id: TrajectoryId, trajectory: &Trajectory, d: NaiveDate) -> Option<Summary> {
    let signal = trajectory.signal()?;
    let signal_on = signal.received_on;
    if signal_on > d {
        return None;
    }
    let closure = trajectory.closure().filter(|c| c.closed_on <= d);
    let closed_by_d = closure.is_some();
    let team = trajectory
        .effective_history()
        .iter()
        .rev()
        .filter(|fact| fact.occurred_on <= d)
        .find_map(|fact| match &fact.step {
            Step::TeamTransferred(t) => Some(t.team.as_str().to_owned()),
            _ => None,
        })
        .unwrap_or_else(|| signal.details.team.as_str().to_owned());
    let started: Vec<_> = trajectory
        .episodes()
        .iter()
        .filter(|e| e.started_on <= d)
        .collect();
    let highest = started.iter().max_by_key(|e| e.level);
    let highest_level = highest.map_or(Level::None, |e| e.level);
    let open_at_d = started
        .iter()
        .any(|e| e.end.as_ref().is_none_or(|end| end.ended_on > d));
    let phase = if closed_by_d {
        Phase::Closed
    } else if open_at_d {
        Phase::InHelp
    } else if !started.is_empty() {
        Phase::HelpEnded
    } else if trajectory.assessments().iter().any(|a| a.completed_on <= d) {
        Phase::Assessed
    } else {
        Phase::Signalled
    };
    let wait = |start: NaiveDate, end: Option<NaiveDate>| -> Option<WaitFigure> {
        if start > d {
            return None;
        }
        Some(match end {
            Some(end) if end <= d => WaitFigure {
                status: WaitStatus::Closed,
                days: Some((end - start).num_days()),
            },
            _ if closed_by_d => WaitFigure {
                status: WaitStatus::Abandoned,
                days: None,
            },
            _ => WaitFigure {
                status: WaitStatus::Open,
                days: Some((d - start).num_days()),
            },
        })
    };
    let first_assessment = trajectory
        .assessments()
        .iter()
        .map(|a| a.completed_on)
        .min();
    let first_help = trajectory.episodes().iter().map(|e| e.started_on).min();
    let first_request = trajectory
        .requests()
        .iter()
        .min_by_key(|r| r.requested_on)
        .and_then(|r| wait(r.requested_on, r.answer.as_ref().map(|a| a.decided_on)));
    let first_grant = trajectory
        .requests()
        .iter()
        .filter_map(|r| {
            r.answer
                .as_ref()
                .filter(|a| a.granted)
                .map(|a| (a.decided_on, r.form))
        })
        .min()
        .and_then(|(decided_on, form)| wait(decided_on, first_start(trajectory, form, decided_on)));
    Some(Summary {
        trajectory_id: id,
        subject_key: signal.details.subject_key.as_str().to_owned(),
        team,
        source: signal.details.source.code(),
        ijw_verwijzer: signal.details.source.ijw_verwijzer(),
        urgency: signal.details.urgency.to_string(),
        birth_year: signal.details.birth_year,
        signal_on,
        signal_month: format!("{:04}-{:02}", signal_on.year(), signal_on.month()),
        phase: phase.to_string(),
        highest_level: highest_level as u8,
        cbs_category: highest_level.cbs_category().map(|c| match c {
            jeugdpad_domain::CbsCategory::WithoutStay => "without_stay",
            jeugdpad_domain::CbsCategory::WithStay => "with_stay",
        }),
        escalations: started.iter().filter(|e| e.escalation).count(),
        step_downs: started.iter().filter(|e| e.step_down).count(),
        buurtgezin_prevention: started
            .iter()
            .any(|e| e.form == HelpForm::BuurtgezinPrevention),
        pathway_days: (closure.map_or(d, |c| c.closed_on) - signal_on).num_days(),
        closed_on: closure.map(|c| c.closed_on),
        close_reason: closure.map(|c| c.reason.to_string()),
        signal_to_assessment: wait(signal_on, first_assessment),
        request_to_decision: first_request,
        decision_to_start: first_grant,
        signal_to_first_help: wait(signal_on, first_help),
        as_of: d,
    })
}

/// The first start of help in `form` on or after a decision (SPEC §4, `decision_to_start`).
fn first_start(
    trajectory: &Trajectory,
    form: HelpForm,
    decided_on: NaiveDate,
) -> Option<NaiveDate> {
    trajectory
        .episodes()
        .iter()
        .filter(|e| e.form == form && e.started_on >= decided_on)
        .map(|e| e.started_on)
        .min()
}

/// Every trajectory of the store as of `d`, in the order of their first event in the log.
/// **Blocking**; holds every trajectory's facts in memory while it reads (about 1 KiB per
/// event), so export a million trajectories on a machine with a few GiB to spare.
pub fn summaries(
    store: &jeugdpad_store::SledStore,
    d: NaiveDate,
    progress: &dyn Fn(u64),
) -> Result<Vec<Summary>, crate::Error> {
    let mut order = Vec::new();
    let mut streams: HashMap<TrajectoryId, Vec<jeugdpad_domain::RecordedFact>> = HashMap::new();
    crate::for_each_event(store, |event| {
        let Some(id) = event
            .stream_id
            .strip_prefix("trajectory-")
            .and_then(|id| TrajectoryId::parse(id).ok())
        else {
            return Ok(()); // not a trajectory stream: nothing to summarise
        };
        let fact = jeugdpad_app::to_fact(&event).map_err(|e| crate::Error::Undecodable {
            position: event.position,
            why: e.to_string(),
        })?;
        streams
            .entry(id)
            .or_insert_with(|| {
                order.push(id);
                Vec::new()
            })
            .push(fact);
        progress(1);
        Ok(())
    })?;
    Ok(order
        .into_iter()
        .filter_map(|id| {
            let facts = streams.remove(&id)?;
            summarise(id, &Trajectory::from_facts(facts), d)
        })
        .collect())
}

impl Summary {
    pub(crate) fn cells(&self) -> Vec<Cell> {
        let text = |v: &str| Cell::Text(Some(v.to_owned()));
        let int = |v: i64| Cell::Int(Some(v));
        let mut cells = vec![
            text(&self.trajectory_id.to_string()),
            text(&self.subject_key),
            text(&self.team),
            text(self.source),
            text(self.ijw_verwijzer),
            text(&self.urgency),
            Cell::Int(self.birth_year.map(i64::from)),
            Cell::Date(Some(self.signal_on)),
            text(&self.signal_month),
            text(&self.phase),
            int(i64::from(self.highest_level)),
            Cell::Text(self.cbs_category.map(str::to_owned)),
            int(self.escalations as i64),
            int(self.step_downs as i64),
            Cell::Bool(Some(self.buurtgezin_prevention)),
            int(self.pathway_days),
            Cell::Date(self.closed_on),
            Cell::Text(self.close_reason.clone()),
        ];
        for wait in [
            self.signal_to_assessment,
            self.request_to_decision,
            self.decision_to_start,
            self.signal_to_first_help,
        ] {
            cells.push(Cell::Int(wait.and_then(|w| w.days)));
            cells.push(Cell::Text(wait.map(|w| w.status.code().to_owned())));
        }
        cells.push(Cell::Date(Some(self.as_of)));
        cells
    }
}
