//! Normalisatie-uitkomsten: how many trajectories of a cohort are solved with light, normalising
//! help, how many escalate or end up out of home, whether Buurtgezinnen prevent foster care, how
//! long pathways take and how many youths come back within a year (SPEC §4).
//!
//! Everything is counted as of `D` (and known on `T` when asked). A grouped report puts each
//! trajectory under its team **at `D`** (the team that owns the outcome now, the same rule as the
//! waiting-time reports) or under its signal's source.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use jeugdpad_domain::{CloseReason, HelpForm, Level, Source, TeamCode};
use serde::Serialize;

use crate::aggregate::cohorts::{CohortKey, OutcomeTally};
use crate::aggregate::days::query_day;
use crate::dated::Dated;
use crate::stats::{nearest_rank, share};
use crate::{AsOf, Projections, View};

/// How the cohort is drawn; both bounds inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cohort {
    /// Trajectories whose `trajectory_closed` lies in the period (and by `D`).
    Closed,
    /// Trajectories whose `signal_received` lies in the period (and by `D`); open ones included.
    Signalled,
}

/// Grouping of a normalisation report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortGrouping {
    /// Team at `D`.
    Team,
    /// Signal source.
    Source,
}

/// A normalisation report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortQuery {
    /// `D` and optional knownOn `T`.
    pub as_of: AsOf,
    /// Closed or signalled cohort.
    pub cohort: Cohort,
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period.
    pub to: NaiveDate,
    /// Groups besides the overall figures.
    pub group_by: Option<CohortGrouping>,
    /// Only trajectories of this team at `D`.
    pub team: Option<TeamCode>,
}

/// The median pathway of closed cohort trajectories of one highest level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelMedian {
    /// Highest level (0–3).
    pub level: Level,
    /// Closed cohort trajectories with this highest level.
    pub closed: usize,
    /// Their nearest-rank median pathway in days; `None` when there are none.
    pub median_pathway_days: Option<i64>,
}

/// The outcomes of a set of trajectories. Shares are `None` for an empty denominator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcomes {
    /// Cohort size.
    pub trajectories: usize,
    /// Share closed (by `D`) with reason `goals_met` or `no_help_needed` and highest level <= 1.
    pub resolved_light: Option<f64>,
    /// Share with at least one escalation.
    pub escalated: Option<f64>,
    /// Share with highest level 3.
    pub out_of_home: Option<f64>,
    /// Trajectories that started `buurtgezin_prevention` (the foster_prevented denominator).
    pub buurtgezin_prevention: usize,
    /// Among those, the share that never started a level-3 form.
    pub foster_prevented: Option<f64>,
    /// Trajectories closed on or before `D − 365` (the recurrence denominator).
    pub recurrence_base: usize,
    /// Among those, the share whose subject had a signal in another trajectory 1..=365 days
    /// after the closure.
    pub recurrence_12m: Option<f64>,
    /// Closed (by `D`) cohort trajectories.
    pub closed: usize,
    /// Their nearest-rank median pathway (closed − signal) in days.
    pub median_pathway_days: Option<i64>,
    /// The same per highest level 0, 1, 2, 3.
    pub by_highest_level: Vec<LevelMedian>,
}

/// One group of a normalisation report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeGroup {
    /// Team code or source code.
    pub key: String,
    /// Its outcomes.
    pub outcomes: Outcomes,
}

/// Normalisatierapportage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormalisationReport {
    /// `D`.
    pub as_of: NaiveDate,
    /// `T`, when asked.
    pub known_on: Option<DateTime<Utc>>,
    /// The cohort definition.
    pub cohort: Cohort,
    /// Period start.
    pub from: NaiveDate,
    /// Period end.
    pub to: NaiveDate,
    /// The grouping applied.
    pub group_by: Option<CohortGrouping>,
    /// The whole cohort.
    pub overall: Outcomes,
    /// Per group, ordered by key; empty without grouping.
    pub groups: Vec<OutcomeGroup>,
}

/// What one cohort trajectory contributes, computed once as of `D`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    pub(crate) resolved_light: bool,
    pub(crate) escalated: bool,
    pub(crate) highest: Level,
    /// `Some(prevented)` when it started `buurtgezin_prevention`.
    pub(crate) prevention: Option<bool>,
    /// `Some(recurred)` when it closed on or before `D − 365`.
    pub(crate) recurrence: Option<bool>,
    /// Pathway days when closed by `D`.
    pub(crate) closed_pathway: Option<i64>,
}

fn in_cohort(q: &CohortQuery, dated: &Dated) -> bool {
    let d = q.as_of.date;
    let on = match q.cohort {
        Cohort::Closed => match dated.closure_at(d) {
            Some((on, _)) => on,
            None => return false,
        },
        Cohort::Signalled => dated.signal_on,
    };
    q.from <= on && on <= q.to
}

impl Projections {
    /// Normalisation outcomes for a cohort, overall and optionally per team (at `D`) or source.
    /// A closed cohort is counted from the aggregates; a signalled cohort or a knownOn view by
    /// visiting the trajectories ([`Projections::normalisation_by_scan`]); both give the same.
    pub fn normalisation(&self, query: &CohortQuery) -> NormalisationReport {
        self.normalisation_counted(query)
            .unwrap_or_else(|| self.normalisation_by_scan(query))
    }

    /// [`Projections::normalisation`] from the closed cohorts' aggregates; `None` for what they
    /// do not hold (a signalled cohort, knownOn, aggregates not usable).
    pub(crate) fn normalisation_counted(&self, query: &CohortQuery) -> Option<NormalisationReport> {
        if query.cohort != Cohort::Closed
            || query.as_of.known_on.is_some()
            || !self.aggregates.usable()
        {
            return None;
        }
        let d = query.as_of.date;
        let to = query.to.min(d);
        let from = query_day(query.from).unwrap_or(0);
        let base_to = d.checked_sub_days(Days::new(365)).and_then(query_day);
        let teams: Vec<(&TeamCode, u16)> = match &query.team {
            Some(team) => self
                .aggregates
                .team(team)
                .map(|i| (team, i))
                .into_iter()
                .collect(),
            None => self.aggregates.teams_in_order(),
        };
        let mut overall = OutcomeTally::default();
        let mut groups: BTreeMap<String, OutcomeTally> = BTreeMap::new();
        if let Some(to) = query_day(to).filter(|_| query.from <= to) {
            for (team, index) in teams {
                let cell = |source: Option<u8>| {
                    let mut tally = OutcomeTally::default();
                    let key = CohortKey {
                        team: index,
                        source,
                    };
                    if let Some(cell) = self.aggregates.cohorts.get(&key) {
                        cell.tally(from, to, base_to, &mut tally);
                    }
                    tally
                };
                let team_tally = cell(None);
                overall.add(&team_tally);
                match query.group_by {
                    None => {}
                    Some(CohortGrouping::Team) if team_tally.trajectories > 0 => {
                        groups
                            .entry(team.as_str().to_owned())
                            .or_default()
                            .add(&team_tally);
                    }
                    Some(CohortGrouping::Team) => {}
                    Some(CohortGrouping::Source) => {
                        for (i, source) in Source::ALL.iter().enumerate() {
                            let tally = cell(u8::try_from(i).ok());
                            if tally.trajectories > 0 {
                                groups
                                    .entry(source.code().to_owned())
                                    .or_default()
                                    .add(&tally);
                            }
                        }
                    }
                }
            }
        }
        // Odd members (something dated after their closure) are computed as the scan does.
        let odd = self
            .aggregates
            .odd_members
            .iter()
            .map(|&index| index as usize);
        for view in self.views_among(odd, query.team.as_ref(), query.as_of) {
            let dated = &*view.dated;
            if !in_cohort(query, dated) {
                continue;
            }
            let member = self.member(&view, query.as_of);
            overall.add_scanned(&member);
            let key = match query.group_by {
                Some(CohortGrouping::Team) => dated.team_at(d).to_string(),
                Some(CohortGrouping::Source) => dated.source.code().to_owned(),
                None => continue,
            };
            groups.entry(key).or_default().add_scanned(&member);
        }
        Some(NormalisationReport {
            as_of: d,
            known_on: None,
            cohort: query.cohort,
            from: query.from,
            to: query.to,
            group_by: query.group_by,
            overall: overall.finish(),
            groups: groups
                .into_iter()
                .map(|(key, tally)| OutcomeGroup {
                    key,
                    outcomes: tally.finish(),
                })
                .collect(),
        })
    }

    /// [`Projections::normalisation`] by visiting every trajectory (of the team, when one is
    /// asked): the definition the aggregates are checked against.
    pub fn normalisation_by_scan(&self, query: &CohortQuery) -> NormalisationReport {
        let d = query.as_of.date;
        let mut all = Vec::new();
        let mut groups: BTreeMap<String, Vec<Member>> = BTreeMap::new();
        for view in self.views_for(query.team.as_ref(), query.as_of) {
            let dated = &*view.dated;
            if !in_cohort(query, dated) {
                continue;
            }
            let member = self.member(&view, query.as_of);
            all.push(member);
            let key = match query.group_by {
                Some(CohortGrouping::Team) => dated.team_at(d).to_string(),
                Some(CohortGrouping::Source) => dated.source.code().to_owned(),
                None => continue,
            };
            groups.entry(key).or_default().push(member);
        }
        NormalisationReport {
            as_of: d,
            known_on: query.as_of.known_on,
            cohort: query.cohort,
            from: query.from,
            to: query.to,
            group_by: query.group_by,
            overall: outcomes(&all),
            groups: groups
                .into_iter()
                .map(|(key, members)| OutcomeGroup {
                    key,
                    outcomes: outcomes(&members),
                })
                .collect(),
        }
    }

    fn member(&self, view: &View<'_>, as_of: AsOf) -> Member {
        let d = as_of.date;
        let dated = &*view.dated;
        let highest = dated.highest_level_at(d);
        let closure = dated.closure_at(d);
        let resolved_light = closure.is_some_and(|(_, reason)| {
            matches!(reason, CloseReason::GoalsMet | CloseReason::NoHelpNeeded)
        }) && highest <= Level::Light;
        let prevention = dated
            .started_form_by(HelpForm::BuurtgezinPrevention, d)
            .then_some(highest < Level::OutOfHome);
        let recurrence = closure
            .filter(|(on, _)| on.checked_add_days(Days::new(365)).is_some_and(|x| x <= d))
            .map(|(closed_on, _)| {
                self.subject_signals(&dated.subject, as_of.known_on)
                    .into_iter()
                    .any(|(other, signal_on)| {
                        let after = (signal_on - closed_on).num_days();
                        other != view.id && (1..=365).contains(&after)
                    })
            });
        Member {
            resolved_light,
            escalated: dated.escalations_at(d) > 0,
            highest,
            prevention,
            recurrence,
            closed_pathway: closure.map(|_| dated.pathway_days_at(d)),
        }
    }
}

fn outcomes(members: &[Member]) -> Outcomes {
    let n = members.len();
    let count = |f: &dyn Fn(&Member) -> bool| members.iter().filter(|m| f(m)).count();
    let prevention: Vec<bool> = members.iter().filter_map(|m| m.prevention).collect();
    let recurrence: Vec<bool> = members.iter().filter_map(|m| m.recurrence).collect();
    let pathways = |level: Option<Level>| -> Vec<i64> {
        let mut v: Vec<i64> = members
            .iter()
            .filter(|m| level.is_none_or(|l| m.highest == l))
            .filter_map(|m| m.closed_pathway)
            .collect();
        v.sort_unstable();
        v
    };
    let closed = pathways(None);
    Outcomes {
        trajectories: n,
        resolved_light: share(count(&|m| m.resolved_light), n),
        escalated: share(count(&|m| m.escalated), n),
        out_of_home: share(count(&|m| m.highest == Level::OutOfHome), n),
        buurtgezin_prevention: prevention.len(),
        foster_prevented: share(prevention.iter().filter(|&&p| p).count(), prevention.len()),
        recurrence_base: recurrence.len(),
        recurrence_12m: share(recurrence.iter().filter(|&&r| r).count(), recurrence.len()),
        closed: closed.len(),
        median_pathway_days: nearest_rank(&closed, 50),
        by_highest_level: Level::ALL
            .iter()
            .map(|&level| {
                let v = pathways(Some(level));
                LevelMedian {
                    level,
                    closed: v.len(),
                    median_pathway_days: nearest_rank(&v, 50),
                }
            })
            .collect(),
    }
}
