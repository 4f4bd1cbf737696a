//! Report types: the figures of SPEC §4 as the projections compute them, renamed for GraphQL.

use async_graphql::{Object, SimpleObject, ID};
use jeugdpad_projections as p;

use super::enums::{
    Cohort, CohortGrouping, HelpForm, Level, Measure, PgbReviewDecision, WaitGrouping,
};
use super::scalars::{Date, DateTime};

/// Which teams a report or list counted (its scope), so that an answer for one team is never
/// mistaken for the whole municipality's. A team lead's reports always count their own team,
/// also when they named no team; an analyst's count every team unless they name one.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct ReportScope {
    /// True when every trajectory counted, whatever its team (an analyst who named no team);
    /// false when only the trajectories of the teams in `teams` counted.
    pub(crate) all_teams: bool,
    /// The codes of the teams counted, sorted. Not all teams: the one team the report was
    /// limited to (the team named, or a team lead's own). All teams: every team Jeugdpad
    /// knows — the registered teams and any other team a trajectory names (history imported
    /// from elsewhere).
    pub(crate) teams: Vec<String>,
}

/// The fields a paged list adds beside its edges.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct ListFields {
    /// Which teams the list counted.
    pub(crate) scope: ReportScope,
}

/// The figures of one group of waits (docs/figures.md §3).
#[derive(Debug, Clone)]
pub(crate) struct WaitStats(p::WaitStats);

/// The figures of one group of waits (docs/figures.md §3): lengths in whole days.
#[Object]
impl WaitStats {
    /// Closed waits.
    async fn closed(&self) -> usize {
        self.0.closed
    }
    /// Open waits.
    async fn open(&self) -> usize {
        self.0.open
    }
    /// Abandoned waits (the trajectory closed before the wait ended).
    async fn abandoned(&self) -> usize {
        self.0.abandoned
    }
    /// Mean length of closed waits, in days.
    async fn mean(&self) -> Option<f64> {
        self.0.mean
    }
    /// Median (nearest rank) of closed lengths.
    async fn median(&self) -> Option<i64> {
        self.0.median
    }
    /// 90th percentile (nearest rank) of closed lengths.
    async fn p90(&self) -> Option<i64> {
        self.0.p90
    }
    /// Longest closed wait.
    async fn max(&self) -> Option<i64> {
        self.0.max
    }
    /// Share of closed waits within the norm (null without a norm or closed waits).
    async fn within_norm(&self) -> Option<f64> {
        self.0.within_norm
    }
    /// Open waits already over the norm.
    async fn open_breaches(&self) -> usize {
        self.0.open_breaches
    }
}

/// One group of a waiting-time report.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct WaitGroup {
    /// The group's key: a team code, source code, form code or `YYYY-MM`.
    key: String,
    /// Its figures.
    stats: WaitStats,
}

/// One measure of a waiting-time report, with the norm it applied.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct MeasureReport {
    /// The measure.
    measure: Measure,
    /// The norm applied, in days (null: this measure has no norm here).
    norm_days: Option<i64>,
    /// All waits of the measure.
    overall: WaitStats,
    /// Per group, when grouped.
    groups: Vec<WaitGroup>,
}

/// Wachttijdenrapportage.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct WaitingTimeReport {
    /// Reference date D.
    as_of: Date,
    /// knownOn instant T, when asked.
    known_on: Option<DateTime>,
    /// Which teams were counted.
    scope: ReportScope,
    /// The grouping, when asked.
    group_by: Option<WaitGrouping>,
    /// One entry per measure.
    measures: Vec<MeasureReport>,
}

impl WaitingTimeReport {
    /// The projections' report, counted over `scope`.
    pub(crate) fn new(r: p::WaitReport, scope: ReportScope) -> Self {
        WaitingTimeReport {
            as_of: r.as_of.into(),
            scope,
            known_on: r.known_on.map(DateTime),
            group_by: r.group_by.map(Into::into),
            measures: r
                .measures
                .into_iter()
                .map(|m| MeasureReport {
                    measure: m.measure.into(),
                    norm_days: m.norm_days,
                    overall: WaitStats(m.overall),
                    groups: m
                        .groups
                        .into_iter()
                        .map(|g| WaitGroup {
                            key: g.key,
                            stats: WaitStats(g.stats),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Eén lopende wachttijd.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct OpenWait {
    /// The trajectory.
    trajectory_id: ID,
    /// Its team at the reference date.
    team: String,
    /// What is waited for.
    measure: Measure,
    /// The requested or decided form, for measures that have one.
    form: Option<HelpForm>,
    /// When the wait started.
    started_on: Date,
    /// Days waited so far (reference date − start).
    days_waited: i64,
    /// The norm applied.
    norm_days: Option<i64>,
    /// Whether the wait is already over the norm.
    breach: bool,
}

impl From<p::OpenWait> for OpenWait {
    fn from(w: p::OpenWait) -> Self {
        OpenWait {
            trajectory_id: ID(w.trajectory.to_string()),
            team: w.team.to_string(),
            measure: w.measure.into(),
            form: w.form.map(Into::into),
            started_on: w.started_on.into(),
            days_waited: w.days_waited,
            norm_days: w.norm_days,
            breach: w.breach,
        }
    }
}

/// The median pathway of closed trajectories of one highest level.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct LevelMedian {
    /// The highest level.
    level: Level,
    /// Closed trajectories with that highest level.
    closed: usize,
    /// Their median pathway in days.
    median_pathway_days: Option<i64>,
}

/// Normalisatie-uitkomsten of a cohort (docs/figures.md §6). Shares are fractions in [0, 1].
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct Outcomes {
    /// Cohort size.
    trajectories: usize,
    /// Share closed with goals met / no help needed and at most light help.
    resolved_light: Option<f64>,
    /// Share with at least one escalation.
    escalated: Option<f64>,
    /// Share that reached out-of-home help.
    out_of_home: Option<f64>,
    /// Trajectories that started buurtgezin_prevention.
    buurtgezin_prevention: usize,
    /// Among those, the share that never started out-of-home help.
    foster_prevented: Option<f64>,
    /// Trajectories closed at least 365 days before the reference date.
    recurrence_base: usize,
    /// Among those, the share whose subject came back within 365 days.
    recurrence_12m: Option<f64>,
    /// Closed trajectories in the cohort.
    closed: usize,
    /// Their median pathway in days.
    median_pathway_days: Option<i64>,
    /// Median pathway per highest level (0–3).
    by_highest_level: Vec<LevelMedian>,
}

impl From<p::Outcomes> for Outcomes {
    fn from(o: p::Outcomes) -> Self {
        Outcomes {
            trajectories: o.trajectories,
            resolved_light: o.resolved_light,
            escalated: o.escalated,
            out_of_home: o.out_of_home,
            buurtgezin_prevention: o.buurtgezin_prevention,
            foster_prevented: o.foster_prevented,
            recurrence_base: o.recurrence_base,
            recurrence_12m: o.recurrence_12m,
            closed: o.closed,
            median_pathway_days: o.median_pathway_days,
            by_highest_level: o
                .by_highest_level
                .into_iter()
                .map(|l| LevelMedian {
                    level: l.level.into(),
                    closed: l.closed,
                    median_pathway_days: l.median_pathway_days,
                })
                .collect(),
        }
    }
}

/// One group of a normalisation report.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct OutcomeGroup {
    /// A team or source code.
    key: String,
    /// Its outcomes.
    outcomes: Outcomes,
}

/// Normalisatierapportage.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct NormalisationReport {
    /// Reference date D.
    as_of: Date,
    /// knownOn instant T, when asked.
    known_on: Option<DateTime>,
    /// Which teams were counted.
    scope: ReportScope,
    /// How the cohort was drawn.
    cohort: Cohort,
    /// First day of the period.
    from: Date,
    /// Last day of the period.
    to: Date,
    /// The grouping, when asked.
    group_by: Option<CohortGrouping>,
    /// The whole cohort.
    overall: Outcomes,
    /// Per group, when grouped.
    groups: Vec<OutcomeGroup>,
}

impl NormalisationReport {
    /// The projections' report, counted over `scope`.
    pub(crate) fn new(r: p::NormalisationReport, scope: ReportScope) -> Self {
        NormalisationReport {
            as_of: r.as_of.into(),
            scope,
            known_on: r.known_on.map(DateTime),
            cohort: r.cohort.into(),
            from: r.from.into(),
            to: r.to.into(),
            group_by: r.group_by.map(Into::into),
            overall: r.overall.into(),
            groups: r
                .groups
                .into_iter()
                .map(|g| OutcomeGroup {
                    key: g.key,
                    outcomes: g.outcomes.into(),
                })
                .collect(),
        }
    }
}

/// Een achterstallige pgb-controle.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct OverdueReview {
    /// The trajectory.
    trajectory_id: ID,
    /// Its team.
    team: String,
    /// When the review was scheduled.
    scheduled_on: Date,
    /// When it was due.
    due_on: Date,
    /// Days overdue at the reference date.
    days_overdue: i64,
}

/// A count per team.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct TeamCount {
    /// The team.
    team: String,
    /// How many.
    count: usize,
}

/// Achterstallige pgb-controles.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct PgbOverdueReport {
    /// Reference date D.
    as_of: Date,
    /// knownOn instant T, when asked.
    known_on: Option<DateTime>,
    /// Which teams were counted.
    scope: ReportScope,
    /// Every overdue review.
    overdue: Vec<OverdueReview>,
    /// How many per team.
    per_team: Vec<TeamCount>,
}

impl PgbOverdueReport {
    /// The projections' report, counted over `scope`.
    pub(crate) fn new(r: p::PgbOverdueReport, scope: ReportScope) -> Self {
        PgbOverdueReport {
            as_of: r.as_of.into(),
            scope,
            known_on: r.known_on.map(DateTime),
            overdue: r
                .overdue
                .into_iter()
                .map(|o| OverdueReview {
                    trajectory_id: ID(o.trajectory.to_string()),
                    team: o.team.to_string(),
                    scheduled_on: o.scheduled_on.into(),
                    due_on: o.due_on.into(),
                    days_overdue: o.days_overdue,
                })
                .collect(),
            per_team: r
                .per_team
                .into_iter()
                .map(|t| TeamCount {
                    team: t.team.to_string(),
                    count: t.count,
                })
                .collect(),
        }
    }
}

/// Een pgb-controle met vermoeden van onrechtmatigheid (care-fraud signal).
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct Irregularity {
    /// The trajectory.
    trajectory_id: ID,
    /// Its team.
    team: String,
    /// When the review was due.
    due_on: Date,
    /// When it was completed.
    completed_on: Date,
    /// What was decided.
    decision: PgbReviewDecision,
    /// Whether the quality of the help bought was in doubt too.
    quality_concern: bool,
}

impl From<p::Irregularity> for Irregularity {
    fn from(i: p::Irregularity) -> Self {
        Irregularity {
            trajectory_id: ID(i.trajectory.to_string()),
            team: i.team.to_string(),
            due_on: i.due_on.into(),
            completed_on: i.completed_on.into(),
            decision: i.decision.into(),
            quality_concern: i.quality_concern,
        }
    }
}

/// One month of a trend: the figures as of its last day (or the reference date, for the month
/// that holds it).
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct TrendMonth {
    /// `YYYY-MM`.
    month: String,
    /// The month's first day.
    from: Date,
    /// The reference date of the month's figures: its last day, or the report's reference date.
    to: Date,
}

/// One group's series: one entry per month of the trend.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct TrendGroup {
    /// The group's key: a team code, source code, form code or `YYYY-MM`.
    key: String,
    /// Per month, in the order of `months`: the waits **closed in that month** (count, mean,
    /// median, p90, max, within the norm) and the waits open, over the norm and abandoned at
    /// the month's last day. A month without waits of the group has zeros.
    months: Vec<WaitStats>,
}

/// One measure's series, with the norm it applied.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct MeasureTrend {
    /// The measure.
    measure: Measure,
    /// The norm applied, in days (null: this measure has no norm here).
    norm_days: Option<i64>,
    /// All waits of the measure, per month (see `TrendGroup.months`).
    overall: Vec<WaitStats>,
    /// Per group, when grouped.
    groups: Vec<TrendGroup>,
}

/// Wachttijden per maand (docs/figures.md §3.7).
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct WaitingTimeTrend {
    /// Which teams were counted.
    scope: ReportScope,
    /// The months, oldest first; every series has one entry per month, in this order.
    months: Vec<TrendMonth>,
    /// The grouping, when asked.
    group_by: Option<WaitGrouping>,
    /// One series per measure.
    measures: Vec<MeasureTrend>,
}

impl WaitingTimeTrend {
    /// The projections' trend, counted over `scope`.
    pub(crate) fn new(t: p::WaitTrend, scope: ReportScope) -> Self {
        let stats = |list: Vec<p::WaitStats>| list.into_iter().map(WaitStats).collect();
        WaitingTimeTrend {
            scope,
            months: t
                .months
                .iter()
                .map(|m| TrendMonth {
                    month: m.key(),
                    from: m.from.into(),
                    to: m.to.into(),
                })
                .collect(),
            group_by: t.group_by.map(Into::into),
            measures: t
                .measures
                .into_iter()
                .map(|m| MeasureTrend {
                    measure: m.measure.into(),
                    norm_days: m.norm_days,
                    overall: stats(m.overall),
                    groups: m
                        .groups
                        .into_iter()
                        .map(|g| TrendGroup {
                            key: g.key,
                            months: stats(g.months),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// One year of a normalisation trend: the cohort closed in that calendar year.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct NormalisationYear {
    /// The calendar year.
    year: i32,
    /// The year's cohort.
    overall: Outcomes,
    /// Per group, when grouped.
    groups: Vec<OutcomeGroup>,
}

/// Normalisatie per jaar (docs/figures.md §6.3).
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct NormalisationTrend {
    /// Reference date D: every year's cohort is counted as of it.
    as_of: Date,
    /// Which teams were counted.
    scope: ReportScope,
    /// The grouping, when asked.
    group_by: Option<CohortGrouping>,
    /// Oldest year first.
    years: Vec<NormalisationYear>,
}

impl NormalisationTrend {
    /// The projections' trend, counted over `scope`.
    pub(crate) fn new(
        as_of: chrono::NaiveDate,
        group_by: Option<p::CohortGrouping>,
        years: Vec<p::TrendYear>,
        scope: ReportScope,
    ) -> Self {
        NormalisationTrend {
            as_of: as_of.into(),
            scope,
            group_by: group_by.map(Into::into),
            years: years
                .into_iter()
                .map(|y| NormalisationYear {
                    year: y.year,
                    overall: y.outcomes.into(),
                    groups: y
                        .groups
                        .into_iter()
                        .map(|g| OutcomeGroup {
                            key: g.key,
                            outcomes: g.outcomes.into(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
