//! Wachttijden: the four waiting-time measures of SPEC §4, their per-group figures and the
//! open-waits list a team lead works from.
//!
//! A wait is a (start, end) pair of dates in one trajectory, both from the corrected history.
//! As of `D` it is **closed** when its end counts by `D` (length end − start), **open** when its
//! start counts, its end does not and the trajectory is not closed by `D` (length `D` − start so
//! far), and **abandoned** when the trajectory closed without the end happening. A wait whose
//! start lies after `D` does not exist yet.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use jeugdpad_domain::{HelpForm, Source, TeamCode, TrajectoryId};
use serde::Serialize;

use crate::aggregate::days::query_day;
use crate::aggregate::waits::{Dim, Tally, WaitKey, Window};
use crate::aggregate::Aggregates;
use crate::dated::{days, Dated};
use crate::listing::CursorError;
use crate::stats::{mean, nearest_rank, share};
use crate::{AsOf, Norms, Projections};

/// Wachttijdmaat: which wait is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Signaal → eerste afgerond onderzoek. Norm 42 days by default.
    SignalToAssessment,
    /// Aanvraag → de beschikking die haar beantwoordt. Norm 56 days (Awb 4:13) by default.
    RequestToDecision,
    /// Toekenning → eerste start van hulp in dezelfde vorm op of na de beschikking. Norm 28 days.
    DecisionToStart,
    /// Signaal → eerste start van hulp. No norm by default.
    SignalToFirstHelp,
}

impl Measure {
    /// Every measure, in the order reports list them.
    pub const ALL: &'static [Measure] = &[
        Measure::SignalToAssessment,
        Measure::RequestToDecision,
        Measure::DecisionToStart,
        Measure::SignalToFirstHelp,
    ];

    /// The stable code, e.g. `"request_to_decision"`.
    pub const fn code(self) -> &'static str {
        match self {
            Measure::SignalToAssessment => "signal_to_assessment",
            Measure::RequestToDecision => "request_to_decision",
            Measure::DecisionToStart => "decision_to_start",
            Measure::SignalToFirstHelp => "signal_to_first_help",
        }
    }

    /// Whether the measure has a help form to group by (SPEC §4 table).
    pub const fn has_form(self) -> bool {
        matches!(self, Measure::RequestToDecision | Measure::DecisionToStart)
    }
}

/// One wait in the digest (dates only; its status depends on `D`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    pub(crate) measure: Measure,
    pub(crate) form: Option<HelpForm>,
    pub(crate) start: NaiveDate,
    pub(crate) end: Option<NaiveDate>,
}

/// What a wait is as of `D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Ended by `D`, with its length.
    Closed(i64),
    /// Still waiting at `D`, with the days waited so far.
    Open(i64),
    /// The trajectory closed without the end happening.
    Abandoned,
}

impl Wait {
    /// The status as of `d`; `None` when the wait has not started by `d`.
    pub(crate) fn status(&self, dated: &Dated, d: NaiveDate) -> Option<Status> {
        if self.start > d {
            return None;
        }
        Some(match self.end {
            Some(end) if end <= d => Status::Closed(days(self.start, end)),
            _ if dated.closed_by(d) => Status::Abandoned,
            _ => Status::Open(days(self.start, d)),
        })
    }
}

/// Every wait of a trajectory, in measure order.
pub(crate) fn waits(dated: &Dated) -> impl Iterator<Item = Wait> + '_ {
    let signal = [
        Wait {
            measure: Measure::SignalToAssessment,
            form: None,
            start: dated.signal_on,
            end: dated.first_assessment,
        },
        Wait {
            measure: Measure::SignalToFirstHelp,
            form: None,
            start: dated.signal_on,
            end: dated.episodes.first().map(|e| e.on),
        },
    ];
    let requests = dated.requests.iter().map(|r| Wait {
        measure: Measure::RequestToDecision,
        form: Some(r.form),
        start: r.on,
        end: r.decided_on,
    });
    let grants = dated.grants.iter().map(|g| Wait {
        measure: Measure::DecisionToStart,
        form: Some(g.form),
        start: g.on,
        end: g.started_on,
    });
    signal.into_iter().chain(requests).chain(grants)
}

/// Whether the trajectory has, at `d`, an open wait (`open_breach == false`) or a wait over its
/// norm (`open_breach == true`: an open wait over its norm or a closed wait that took longer).
pub(crate) fn has_wait(dated: &Dated, d: NaiveDate, norms: &Norms, breach: bool) -> bool {
    waits(dated).any(|w| {
        let norm = norms.for_measure(w.measure);
        match w.status(dated, d) {
            Some(Status::Open(len)) => !breach || norm.is_some_and(|n| len > n),
            Some(Status::Closed(len)) => breach && norm.is_some_and(|n| len > n),
            _ => false,
        }
    })
}

/// Grouping of a waiting-time report (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitGrouping {
    /// The trajectory's team at `D`.
    Team,
    /// The signal's source.
    Source,
    /// The requested / decided form; measures without a form have no groups under it.
    Form,
    /// `YYYY-MM` of the signal date.
    SignalMonth,
}

/// A waiting-time report request. Filters combine with AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitQuery {
    /// `D` and optional knownOn `T`.
    pub as_of: AsOf,
    /// One measure, or all four.
    pub measure: Option<Measure>,
    /// Groups besides the overall figures.
    pub group_by: Option<WaitGrouping>,
    /// Only trajectories of this team at `D`.
    pub team: Option<TeamCode>,
    /// Only trajectories from this source.
    pub source: Option<Source>,
    /// Only waits of this form (so no waits of a measure without a form).
    pub form: Option<HelpForm>,
}

impl WaitQuery {
    /// All measures, no grouping, no filter.
    pub fn new(as_of: AsOf) -> Self {
        WaitQuery {
            as_of,
            measure: None,
            group_by: None,
            team: None,
            source: None,
            form: None,
        }
    }
}

/// The figures of one group of waits. `Default` is a group without waits.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WaitStats {
    /// Closed waits.
    pub closed: usize,
    /// Open waits.
    pub open: usize,
    /// Abandoned waits (the trajectory closed first); counted in no other figure.
    pub abandoned: usize,
    /// Mean closed length in days.
    pub mean: Option<f64>,
    /// Nearest-rank median of closed lengths.
    pub median: Option<i64>,
    /// Nearest-rank 90th percentile of closed lengths.
    pub p90: Option<i64>,
    /// Longest closed length.
    pub max: Option<i64>,
    /// Share of closed waits with length <= norm; `None` without closed waits or without norm.
    pub within_norm: Option<f64>,
    /// Open waits already longer than the norm (0 without norm).
    pub open_breaches: usize,
}

/// One group of a measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitGroup {
    /// The team code, source code, form code or `YYYY-MM`.
    pub key: String,
    /// Its figures.
    pub stats: WaitStats,
}

/// The figures of one measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasureReport {
    /// Which measure.
    pub measure: Measure,
    /// The norm applied, in days.
    pub norm_days: Option<i64>,
    /// All waits that passed the filters.
    pub overall: WaitStats,
    /// Per group, ordered by key; empty without grouping.
    pub groups: Vec<WaitGroup>,
}

/// Wachttijdenrapportage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitReport {
    /// `D`.
    pub as_of: NaiveDate,
    /// `T`, when asked.
    pub known_on: Option<DateTime<Utc>>,
    /// The grouping applied.
    pub group_by: Option<WaitGrouping>,
    /// One entry per requested measure, in [`Measure::ALL`] order.
    pub measures: Vec<MeasureReport>,
}

/// Raw material of one group.
#[derive(Debug, Default)]
struct Acc {
    closed: Vec<i64>,
    open: usize,
    abandoned: usize,
    open_breaches: usize,
}

impl Acc {
    fn add(&mut self, status: Status, norm: Option<i64>) {
        match status {
            Status::Closed(len) => self.closed.push(len),
            Status::Open(len) => {
                self.open += 1;
                if norm.is_some_and(|n| len > n) {
                    self.open_breaches += 1;
                }
            }
            Status::Abandoned => self.abandoned += 1,
        }
    }

    fn finish(mut self, norm: Option<i64>) -> WaitStats {
        self.closed.sort_unstable();
        let within = norm.map(|n| self.closed.iter().filter(|&&len| len <= n).count());
        WaitStats {
            closed: self.closed.len(),
            open: self.open,
            abandoned: self.abandoned,
            mean: mean(&self.closed),
            median: nearest_rank(&self.closed, 50),
            p90: nearest_rank(&self.closed, 90),
            max: self.closed.last().copied(),
            within_norm: within.and_then(|w| share(w, self.closed.len())),
            open_breaches: self.open_breaches,
        }
    }
}

/// A group's key while a report is being summed, without allocating one string per wait:
/// within one report every key is the same variant, and this order equals the order of the
/// keys as strings (`YYYY-MM` sorts as (year, month) for four-digit years), so the groups come
/// out exactly as if keyed by the strings (team code, source or form code, `YYYY-MM`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Text(Cow<'a, str>),
    Month(i32, u32),
}

impl Key<'_> {
    fn into_string(self) -> String {
        match self {
            Key::Text(text) => text.into_owned(),
            Key::Month(year, month) => format!("{year:04}-{month:02}"),
        }
    }
}

/// Adds each tally of `from` to the one of the same window in `into`.
fn add_all(into: &mut [Tally], from: &[Tally]) {
    for (into, from) in into.iter_mut().zip(from) {
        into.add(from);
    }
}

/// How a report maps onto cells: which teams, which cell each team's overall comes from, and how
/// groups are formed.
struct CellChoice<'a> {
    teams: Vec<(&'a TeamCode, u16)>,
    /// The cell of a team that holds the query's waits: `All`, or the one value a filter names.
    overall: Dim,
    groups: Groups,
    /// Under [`Groups::Dim`], only this value (the filter of the same dimension).
    only: Option<Dim>,
}

enum Groups {
    None,
    Team,
    /// One group per value of this dimension.
    Dim(Dim),
}

impl<'a> CellChoice<'a> {
    /// `None` when the cells cannot answer `query` exactly: a knownOn view, source and form
    /// filters together, a filter of one dimension grouped by another, or aggregates that are
    /// not usable.
    fn of(query: &'a WaitQuery, aggregates: &'a Aggregates) -> Option<CellChoice<'a>> {
        if query.as_of.known_on.is_some() || !aggregates.usable() {
            return None;
        }
        let filter = match (query.source, query.form) {
            (Some(_), Some(_)) => return None,
            (Some(source), None) => Some(Dim::source(source)),
            (None, Some(form)) => Some(Dim::form(form)),
            (None, None) => None,
        };
        let groups = match query.group_by {
            None => Groups::None,
            Some(WaitGrouping::Team) => Groups::Team,
            Some(WaitGrouping::Source) => Groups::Dim(Dim::Source(0)),
            Some(WaitGrouping::Form) => Groups::Dim(Dim::Form(0)),
            Some(WaitGrouping::SignalMonth) => Groups::Dim(Dim::Month(0)),
        };
        if let (Groups::Dim(kind), Some(filter)) = (&groups, filter) {
            if kind.span() != filter.span() {
                return None;
            }
        }
        let teams = match &query.team {
            Some(team) => aggregates
                .team(team)
                .map(|i| (team, i))
                .into_iter()
                .collect(),
            None => aggregates.teams_in_order(),
        };
        Some(CellChoice {
            teams,
            overall: filter.unwrap_or(Dim::All),
            groups,
            only: filter,
        })
    }
}

/// An open wait, as the team lead's worklist shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenWait {
    /// The trajectory.
    pub trajectory: TrajectoryId,
    /// Its team at `D`.
    pub team: TeamCode,
    /// Which wait.
    pub measure: Measure,
    /// The requested / decided form, for measures that have one.
    pub form: Option<HelpForm>,
    /// When the wait started.
    pub started_on: NaiveDate,
    /// `D` − start.
    pub days_waited: i64,
    /// The norm applied.
    pub norm_days: Option<i64>,
    /// Already longer than the norm.
    pub breach: bool,
}

/// The place of an open wait in the list's order: pass it back as
/// [`OpenWaitsQuery::after`] for the waits that follow.
///
/// The list is ordered longest wait first, which for one `D` is the earliest start first; the
/// cursor holds the start date rather than the days waited, so it does not depend on `D` and
/// stays valid when "today" moves on between two pages. Ties are broken by trajectory id,
/// measure, form and finally `nth` — the wait's rank among the trajectory's waits of the same
/// measure, form and start date (two requests for the same form on one day), in history order.
/// Every field comes from the wait itself, so a cursor stays valid when new waits appear or the
/// wait it names has ended since: the next page starts right after its place in the order
/// (keyset paging), and nothing is repeated or skipped among the waits that stay open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct OpenWaitCursor {
    /// When the wait started (earlier = longer wait = earlier in the list).
    pub started_on: NaiveDate,
    /// The trajectory.
    pub trajectory: TrajectoryId,
    /// Which wait.
    pub measure: Measure,
    /// The requested / decided form, for measures that have one.
    pub form: Option<HelpForm>,
    /// Rank among the trajectory's waits with the same measure, form and start date (0 first).
    pub nth: u32,
}

impl OpenWaitCursor {
    /// `YYYY-MM-DD/<uuid>/<measure>/<form or ->/<nth>`.
    pub fn encode(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            self.started_on,
            self.trajectory,
            self.measure.code(),
            self.form.map_or("-", HelpForm::code),
            self.nth
        )
    }

    /// The inverse of [`OpenWaitCursor::encode`].
    pub fn decode(text: &str) -> Result<OpenWaitCursor, CursorError> {
        let mut parts = text.split('/');
        let mut next = || parts.next().ok_or(CursorError);
        let started_on = next()?.parse().map_err(|_| CursorError)?;
        let trajectory = TrajectoryId::parse(next()?).map_err(|_| CursorError)?;
        let measure = next()?;
        let measure = *Measure::ALL
            .iter()
            .find(|m| m.code() == measure)
            .ok_or(CursorError)?;
        let form = match next()? {
            "-" => None,
            code => Some(HelpForm::from_code(code).map_err(|_| CursorError)?),
        };
        let nth = next()?.parse().map_err(|_| CursorError)?;
        if parts.next().is_some() {
            return Err(CursorError);
        }
        Ok(OpenWaitCursor {
            started_on,
            trajectory,
            measure,
            form,
            nth,
        })
    }
}

/// Which open waits to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenWaitsQuery {
    /// `D` and optional knownOn `T`.
    pub as_of: AsOf,
    /// Only this team (at `D`).
    pub team: Option<TeamCode>,
    /// Only this measure.
    pub measure: Option<Measure>,
    /// Only waits already over their norm.
    pub breaches_only: bool,
    /// Only the waits after this place in the order (the previous page's last cursor).
    pub after: Option<OpenWaitCursor>,
    /// At most this many (the longest).
    pub limit: Option<usize>,
}

impl OpenWaitsQuery {
    /// Every open wait at `as_of`.
    pub fn new(as_of: AsOf) -> Self {
        OpenWaitsQuery {
            as_of,
            team: None,
            measure: None,
            breaches_only: false,
            after: None,
            limit: None,
        }
    }
}

/// One open wait with its place in the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenWaitItem {
    /// Pass as [`OpenWaitsQuery::after`] for the waits after this one.
    pub cursor: OpenWaitCursor,
    /// The wait.
    pub wait: OpenWait,
}

/// One page of the open-waits list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenWaitsPage {
    /// At most the query's `limit` waits, longest first.
    pub items: Vec<OpenWaitItem>,
    /// More open waits follow.
    pub has_next_page: bool,
}

impl Projections {
    /// Waiting-time figures (docs/figures.md §3): per measure overall and per group, with the
    /// norm applied. Answered from the aggregates where they hold the query's cells, else by
    /// visiting every trajectory ([`Projections::waiting_times_by_scan`]); both give the same.
    pub fn waiting_times(&self, query: &WaitQuery) -> WaitReport {
        self.waiting_times_counted(query)
            .unwrap_or_else(|| self.waiting_times_by_scan(query))
    }

    /// [`Projections::waiting_times`] from the aggregates; `None` when they cannot answer it
    /// (knownOn, two filter dimensions at once, or aggregates not usable).
    pub(crate) fn waiting_times_counted(&self, query: &WaitQuery) -> Option<WaitReport> {
        let measures = self.measure_reports_counted(query, query.as_of.date, None)?;
        Some(self.wait_report(query, measures))
    }

    /// [`Projections::waiting_times`] by visiting every trajectory (of the team, when one is
    /// asked): the definition the aggregates are checked against, and the answer for what they
    /// do not hold.
    pub fn waiting_times_by_scan(&self, query: &WaitQuery) -> WaitReport {
        let measures = self.measure_reports_by_scan(query, query.as_of.date, None);
        self.wait_report(query, measures)
    }

    fn wait_report(&self, query: &WaitQuery, measures: Vec<MeasureReport>) -> WaitReport {
        WaitReport {
            as_of: query.as_of.date,
            known_on: query.as_of.known_on,
            group_by: query.group_by,
            measures,
        }
    }

    /// The measures a query asks for, in report order.
    fn measures_of(query: &WaitQuery) -> Vec<Measure> {
        match query.measure {
            Some(m) => vec![m],
            None => Measure::ALL.to_vec(),
        }
    }

    /// The query's measures as of `d` from the cells; with `closed_after`, a closed wait counts
    /// only when it ended after that day (one month of a trend). `None` when the cells cannot
    /// answer the query.
    pub(crate) fn measure_reports_counted(
        &self,
        query: &WaitQuery,
        d: NaiveDate,
        closed_after: Option<NaiveDate>,
    ) -> Option<Vec<MeasureReport>> {
        self.measure_reports_windows(query, &[(d, closed_after)])?
            .pop()
    }

    /// [`Projections::measure_reports_counted`] for several `(d, closed_after)` at once — the
    /// months of a trend — reading each cell once for all of them. One report per window, in
    /// order.
    pub(crate) fn measure_reports_windows(
        &self,
        query: &WaitQuery,
        windows: &[(NaiveDate, Option<NaiveDate>)],
    ) -> Option<Vec<Vec<MeasureReport>>> {
        let cells = CellChoice::of(query, &self.aggregates)?;
        // A day before 1970 counts nothing: such a window has no cell window and stays empty.
        let days: Vec<Option<Window>> = windows
            .iter()
            .map(|&(d, after)| {
                let to = query_day(d)?;
                let from = after.and_then(query_day).map_or(0, |a| a.saturating_add(1));
                Some(Window { from, to })
            })
            .collect();
        let counted: Vec<Window> = days.iter().flatten().copied().collect();
        let fresh = || vec![Tally::default(); counted.len()];
        let mut reports: Vec<Vec<MeasureReport>> = vec![Vec::new(); windows.len()];
        for measure in Self::measures_of(query) {
            let norm = self.norms.for_measure(measure);
            let mut overall = fresh();
            let mut groups: BTreeMap<String, Vec<Tally>> = BTreeMap::new();
            for &(team, index) in &cells.teams {
                let key = |dim: Dim| WaitKey {
                    measure,
                    team: index,
                    dim,
                };
                let mut team_tallies = fresh();
                if let Some(cell) = self.aggregates.waits.get(&key(cells.overall)) {
                    cell.tally(&counted, &mut team_tallies);
                }
                add_all(&mut overall, &team_tallies);
                match cells.groups {
                    Groups::None => {}
                    Groups::Team => {
                        if team_tallies.iter().any(|t| t.waits() > 0) {
                            add_all(
                                groups.entry(team.as_str().to_owned()).or_insert_with(fresh),
                                &team_tallies,
                            );
                        }
                    }
                    Groups::Dim(kind) => {
                        let (first, last) = kind.span();
                        for (key, cell) in self.aggregates.waits.range(key(first)..=key(last)) {
                            if cells.only.is_some_and(|only| only != key.dim) {
                                continue;
                            }
                            let mut tallies = fresh();
                            cell.tally(&counted, &mut tallies);
                            if tallies.iter().any(|t| t.waits() > 0) {
                                if let Some(name) = key.dim.key() {
                                    add_all(groups.entry(name).or_insert_with(fresh), &tallies);
                                }
                            }
                        }
                    }
                }
            }
            // Back from the counted windows to every window; a group is in a window's report
            // only when it has a wait there.
            let mut at = 0;
            for (report, day) in reports.iter_mut().zip(&days) {
                let (overall, groups) = match day {
                    Some(_) => {
                        let i = at;
                        at += 1;
                        let groups = groups
                            .iter()
                            .filter(|(_, tallies)| tallies[i].waits() > 0)
                            .map(|(key, tallies)| WaitGroup {
                                key: key.clone(),
                                stats: tallies[i].finish(norm),
                            })
                            .collect();
                        (overall[i].finish(norm), groups)
                    }
                    None => (Tally::default().finish(norm), Vec::new()),
                };
                report.push(MeasureReport {
                    measure,
                    norm_days: norm,
                    overall,
                    groups,
                });
            }
        }
        Some(reports)
    }

    /// The query's measures as of `d` by visiting every trajectory (see
    /// [`Projections::measure_reports_counted`] for `closed_after`).
    pub(crate) fn measure_reports_by_scan(
        &self,
        query: &WaitQuery,
        d: NaiveDate,
        closed_after: Option<NaiveDate>,
    ) -> Vec<MeasureReport> {
        let as_of = AsOf {
            date: d,
            known_on: query.as_of.known_on,
        };
        let measures = Self::measures_of(query);
        let mut overall: BTreeMap<Measure, Acc> = BTreeMap::new();
        let mut groups: BTreeMap<(Measure, Key<'_>), Acc> = BTreeMap::new();
        for view in self.views_for(query.team.as_ref(), as_of) {
            let dated = &*view.dated;
            let team = dated.team_at(d);
            if query.source.is_some_and(|s| s != dated.source) {
                continue;
            }
            // The per-trajectory part of the key, once per trajectory; a team code borrowed from
            // the index (which names every team) so it outlives an owned knownOn view.
            let trajectory_key = match query.group_by {
                Some(WaitGrouping::Team) => Some(match self.by_team.get_key_value(team) {
                    Some((code, _)) => Key::Text(Cow::Borrowed(code.as_str())),
                    None => Key::Text(Cow::Owned(team.to_string())),
                }),
                Some(WaitGrouping::Source) => Some(Key::Text(Cow::Borrowed(dated.source.code()))),
                Some(WaitGrouping::SignalMonth) => {
                    Some(Key::Month(dated.signal_on.year(), dated.signal_on.month()))
                }
                Some(WaitGrouping::Form) | None => None,
            };
            for wait in waits(dated) {
                if !measures.contains(&wait.measure)
                    || query.form.is_some_and(|f| wait.form != Some(f))
                {
                    continue;
                }
                let Some(status) = wait.status(dated, d) else {
                    continue;
                };
                // In one month of a trend: a wait that closed before the month is not counted.
                if matches!(status, Status::Closed(_))
                    && closed_after.is_some_and(|after| wait.end.is_some_and(|end| end <= after))
                {
                    continue;
                }
                let norm = self.norms.for_measure(wait.measure);
                overall.entry(wait.measure).or_default().add(status, norm);
                let key = match query.group_by {
                    Some(WaitGrouping::Form) => {
                        wait.form.map(|f| Key::Text(Cow::Borrowed(f.code())))
                    }
                    _ => trajectory_key.clone(),
                };
                if let Some(key) = key {
                    groups
                        .entry((wait.measure, key))
                        .or_default()
                        .add(status, norm);
                }
            }
        }
        let mut by_measure: BTreeMap<Measure, Vec<WaitGroup>> = BTreeMap::new();
        for ((measure, key), acc) in groups {
            let stats = acc.finish(self.norms.for_measure(measure));
            by_measure.entry(measure).or_default().push(WaitGroup {
                key: key.into_string(),
                stats,
            });
        }
        measures
            .into_iter()
            .map(|measure| {
                let norm = self.norms.for_measure(measure);
                MeasureReport {
                    measure,
                    norm_days: norm,
                    overall: overall.remove(&measure).unwrap_or_default().finish(norm),
                    groups: by_measure.remove(&measure).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// The open-waits list: every wait open at `D` after `query.after`, longest first (see
    /// [`OpenWaitCursor`] for the order and its ties), at most `query.limit`.
    pub fn open_waits(&self, query: &OpenWaitsQuery) -> Vec<OpenWait> {
        self.open_waits_page(query)
            .items
            .into_iter()
            .map(|item| item.wait)
            .collect()
    }

    /// [`Projections::open_waits`] with each wait's cursor, and whether more follow the page.
    pub fn open_waits_page(&self, query: &OpenWaitsQuery) -> OpenWaitsPage {
        let d = query.as_of.date;
        let mut list = Vec::new();
        for view in self.views_for(query.team.as_ref(), query.as_of) {
            let dated = &*view.dated;
            let team = dated.team_at(d);
            let all: Vec<Wait> = waits(dated).collect();
            for (at, wait) in all.iter().enumerate() {
                if query.measure.is_some_and(|m| m != wait.measure) {
                    continue;
                }
                let Some(Status::Open(days_waited)) = wait.status(dated, d) else {
                    continue;
                };
                let norm_days = self.norms.for_measure(wait.measure);
                let breach = norm_days.is_some_and(|n| days_waited > n);
                if query.breaches_only && !breach {
                    continue;
                }
                let same = |w: &&Wait| {
                    w.measure == wait.measure && w.form == wait.form && w.start == wait.start
                };
                let cursor = OpenWaitCursor {
                    started_on: wait.start,
                    trajectory: view.id,
                    measure: wait.measure,
                    form: wait.form,
                    nth: u32::try_from(all[..at].iter().filter(same).count()).unwrap_or(u32::MAX),
                };
                if query.after.is_some_and(|after| cursor <= after) {
                    continue;
                }
                list.push(OpenWaitItem {
                    cursor,
                    wait: OpenWait {
                        trajectory: view.id,
                        team: team.clone(),
                        measure: wait.measure,
                        form: wait.form,
                        started_on: wait.start,
                        days_waited,
                        norm_days,
                        breach,
                    },
                });
            }
        }
        // Earliest start = longest wait (one `D` for all); the cursor's order breaks the ties.
        list.sort_unstable_by_key(|item| item.cursor);
        let has_next_page = query.limit.is_some_and(|limit| list.len() > limit);
        if let Some(limit) = query.limit {
            list.truncate(limit);
        }
        OpenWaitsPage {
            items: list,
            has_next_page,
        }
    }
}
