//! Jeugdpad's read models: what the consultant, the team lead and the analyst see (SPEC §4).
//!
//! The crate is fed recorded facts in global position order ([`Projections::apply`]) and answers
//! queries. It does no I/O and knows nothing of HTTP or of the store: the API layer feeds it from
//! the store's global log subscription, wraps it in a lock, and rebuilds it at start-up by applying
//! the whole log from position 0 (use [`Projections::extend`] for that: it defers the per-trajectory
//! derivation to the end of the batch).
//!
//! # Two clocks: as of `D`, known on `T`
//!
//! Every figure takes an [`AsOf`]: a reference date `D` (peildatum) and optionally an instant `T`
//! (bekend op). `D` counts only effective events with `occurred_on <= D`, with every correction
//! known now; `T` further keeps only events *and corrections* with `recorded_at <= T`, so a report
//! can be shown exactly as the system could have shown it at `T` (bitemporal audit view).
//!
//! # Design: one copy of the raw facts, one small dated digest
//!
//! Per trajectory we keep:
//! - its raw facts with position and `recorded_at` (the stream as stored; the timeline and the
//!   knownOn view need them), and
//! - a [`Dated`](crate::dated) digest derived from the **full corrected history**: the signal,
//!   dated team and consultant changes, requests with the date of the decision answering them,
//!   granted decisions with the date of the help start that ends their wait, help episodes with
//!   their level and escalation/step-down marks, PGB reviews and the closure — all as plain dates.
//!
//! The domain's fold runs in (`occurred_on`, version) order, so everything it derives for the
//! history cut at `D` equals what it derives for the full history, restricted to dates `<= D` (a
//! decision answers an *earlier* request; a step-down looks at episodes that ended *before* it).
//! That makes as-of-`D` a cheap date filter on the digest; no replay per query.
//!
//! For knownOn `T`, a trajectory whose facts were all recorded by `T` uses its digest as is; one
//! with later-recorded facts is rebuilt from its own facts filtered by `recorded_at <= T`
//! (per trajectory, never the global log), and one whose signal was recorded after `T` does not
//! exist yet.
//!
//! Indexes: trajectories by (signal date, id) for the listing's stable order, and subject key →
//! trajectories for the 12-month recurrence (every key a trajectory's signal ever carried,
//! originals and corrections, so the knownOn view finds it too), and team → trajectories (every
//! team a signal, a transfer or a correction of either ever named: a superset for any `D` and
//! knownOn, so a one-team report visits only those and still checks the team at `D`).
//!
//! # Start-up rebuild
//!
//! [`Projections::extend_deferred`] stores facts without deriving; [`Projections::derive_pending`]
//! then derives each touched trajectory once, spread over the cores (a trajectory's digest
//! depends on its own facts only), and fills the aggregates on a thread of their own a slice
//! behind. The API's catch-up feeds the whole log this way.
//!
//! # Modules
//!
//! `dated` (the digest and its as-of accessors), `waits` (the four waiting-time measures),
//! `figures` (one trajectory's figures from its own facts, for per-row exports),
//! `stats` (nearest-rank percentiles, mean), `timeline`, `listing` (summaries and the Relay
//! listing), `normalisation` (cohort outcomes), `pgb` (overdue reviews, irregularities).

mod aggregate;
mod dated;
mod figures;
mod listing;
mod normalisation;
mod pgb;
mod row;
mod stats;
mod subjects;
mod timeline;
mod trend;
mod waits;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use jeugdpad_domain::{
    Event, RecordedFact, Step, SubjectKey, TeamCode, Trajectory, TrajectoryId, UserId,
};
use serde::Serialize;

use crate::aggregate::Aggregates;
use crate::dated::Dated;

pub use figures::{
    trajectory_figures, trajectory_figures_of, TrajectoryFigures, TrajectoryWait, WaitStatus,
};
pub use listing::{CursorError, ListingCursor, ListingItem, ListingPage, ListingQuery, Summary};
pub use normalisation::{
    Cohort, CohortGrouping, CohortQuery, LevelMedian, NormalisationReport, OutcomeGroup, Outcomes,
};
pub use pgb::{Irregularity, OverdueReview, PgbOverdueReport, PgbQuery, TeamCount};
pub use row::{
    col, Cell, Column, ColumnKind, SummaryRow, WaitFigure, LIST_SEPARATOR, SUMMARY_COLUMNS,
};
pub use stats::{mean, nearest_rank};
pub use timeline::{Amendment, Timeline, TimelineFact};
pub use trend::{
    trend_months, MeasureTrend, TrendGroup, TrendMonth, TrendYear, WaitTrend, MAX_TREND_MONTHS,
    MAX_TREND_YEARS,
};
pub use waits::{
    Measure, MeasureReport, OpenWait, OpenWaitCursor, OpenWaitItem, OpenWaitsPage, OpenWaitsQuery,
    WaitGroup, WaitGrouping, WaitQuery, WaitReport, WaitStats,
};

/// A domain fact with its place in the global log: what the read models are fed, in position
/// order (`jeugdpad_app::feed` makes them from stored envelopes).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedFact {
    /// Global position in the whole log: 1-based, strictly increasing.
    pub position: u64,
    /// The trajectory (stream) the event belongs to.
    pub trajectory: TrajectoryId,
    /// When the store accepted it: the knownOn clock.
    pub recorded_at: DateTime<Utc>,
    /// The event with its id, stream version and `occurred_on`.
    pub fact: RecordedFact,
}

/// Normen: the installation's waiting-time norms in days (SPEC §4). A municipality's verordening
/// sets its own; `None` means "no norm" (nothing breaches, `within_norm` is absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Norms {
    /// Signal to assessment; default 42 days (6 weeks).
    pub signal_to_assessment: Option<i64>,
    /// Request to decision; default 56 days (8 weeks, Awb 4:13).
    pub request_to_decision: Option<i64>,
    /// Granted decision to start of help; default 28 days (4 weeks).
    pub decision_to_start: Option<i64>,
    /// Signal to first help; no norm by default.
    pub signal_to_first_help: Option<i64>,
}

impl Default for Norms {
    fn default() -> Self {
        Norms {
            signal_to_assessment: Some(42),
            request_to_decision: Some(56),
            decision_to_start: Some(28),
            signal_to_first_help: None,
        }
    }
}

impl Norms {
    /// The norm applied to `measure`.
    pub fn for_measure(&self, measure: Measure) -> Option<i64> {
        match measure {
            Measure::SignalToAssessment => self.signal_to_assessment,
            Measure::RequestToDecision => self.request_to_decision,
            Measure::DecisionToStart => self.decision_to_start,
            Measure::SignalToFirstHelp => self.signal_to_first_help,
        }
    }
}

/// Peildatum en bekend-op: which facts a figure counts (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AsOf {
    /// `D`: only effective events with `occurred_on <= D` count.
    pub date: NaiveDate,
    /// `T`: when given, only events and corrections with `recorded_at <= T` count.
    pub known_on: Option<DateTime<Utc>>,
}

impl AsOf {
    /// As of `date`, with everything known now.
    pub fn date(date: NaiveDate) -> AsOf {
        AsOf {
            date,
            known_on: None,
        }
    }

    /// As of `date`, as known at `known_on`.
    pub fn known_on(date: NaiveDate, known_on: DateTime<Utc>) -> AsOf {
        AsOf {
            date,
            known_on: Some(known_on),
        }
    }
}

/// A raw fact as kept per trajectory.
#[derive(Debug, Clone)]
struct StoredFact {
    position: u64,
    recorded_at: DateTime<Utc>,
    fact: RecordedFact,
}

impl From<LoggedFact> for StoredFact {
    fn from(logged: LoggedFact) -> Self {
        StoredFact {
            position: logged.position,
            recorded_at: logged.recorded_at,
            fact: logged.fact,
        }
    }
}

/// Where the read models read a trajectory's raw facts when they do not keep them: the store
/// (`jeugdpad_app::feed::StoreFacts`). Called for the timeline, for a knownOn view of a
/// trajectory that changed after `T`, and to re-derive a trajectory when a new event arrives.
pub trait FactSource: Send + Sync + fmt::Debug {
    /// Every fact of the trajectory's stream, in version order. `Err` says why it could not be
    /// read (the read models then count a failure: see [`Projections::source_failures`]).
    fn facts(&self, trajectory: TrajectoryId) -> Result<Vec<LoggedFact>, String>;
}

/// Whether the read models keep every raw fact, or read them from a [`FactSource`].
#[derive(Debug, Clone)]
enum Keeping {
    /// Every fact in memory (tools and tests without a store).
    InMemory,
    /// Facts are dropped once a trajectory is derived and read again when needed.
    Source(Arc<dyn FactSource>),
}

/// One trajectory's read state.
#[derive(Debug)]
struct TrajectoryState {
    id: TrajectoryId,
    /// Facts not yet derived, or every fact when [`Keeping::InMemory`].
    facts: Vec<StoredFact>,
    /// `facts` holds the whole stream (every fact since the first): no source read needed.
    complete: bool,
    /// The latest `recorded_at` among the facts: everything is known at `T >= this`.
    last_recorded_at: DateTime<Utc>,
    /// The digest of the full corrected history; `None` while the stream has no (valid) signal.
    dated: Option<Dated>,
    /// Facts were stored since `dated` was derived (see [`Projections::extend_deferred`]).
    pending: bool,
    /// How it counts in the closed cohorts' aggregates (`None`: not closed).
    membership: Option<aggregate::cohorts::Membership>,
}

/// One shared copy of every team code, consultant and subject key: a million digests naming six
/// teams hold six copies of their codes, not a million (the names are shared text).
#[derive(Debug, Default)]
struct Names {
    teams: HashSet<TeamCode>,
    users: HashSet<UserId>,
    subjects: HashSet<SubjectKey>,
}

impl Names {
    fn shared<T: Clone + Eq + std::hash::Hash>(set: &mut HashSet<T>, name: &T) -> T {
        match set.get(name) {
            Some(known) => known.clone(),
            None => {
                set.insert(name.clone());
                name.clone()
            }
        }
    }

    fn team(&mut self, team: &TeamCode) -> TeamCode {
        Self::shared(&mut self.teams, team)
    }

    fn subject(&mut self, subject: &SubjectKey) -> SubjectKey {
        Self::shared(&mut self.subjects, subject)
    }

    /// Replaces every name in `dated` by its shared copy.
    fn share(&mut self, dated: &mut Dated) {
        dated.subject = self.subject(&dated.subject);
        dated.signal_team = self.team(&dated.signal_team);
        for (_, team) in dated.transfers.iter_mut() {
            *team = self.team(team);
        }
        for (_, user) in dated.consultants.iter_mut() {
            *user = Self::shared(&mut self.users, user);
        }
    }
}

/// A trajectory as one query sees it: the digest under the query's knownOn, not yet cut at `D`.
#[derive(Debug)]
pub(crate) struct View<'a> {
    pub(crate) id: TrajectoryId,
    pub(crate) dated: Cow<'a, Dated>,
}

/// De leesmodellen: every read model of the installation, kept up to date one event at a time.
#[derive(Debug)]
pub struct Projections {
    norms: Norms,
    position: u64,
    trajectories: Vec<TrajectoryState>,
    by_id: HashMap<TrajectoryId, usize>,
    /// (signal date, id) of every trajectory with a digest: the listing's stable order.
    by_signal: BTreeSet<(NaiveDate, TrajectoryId)>,
    /// Every subject key a trajectory's signal ever carried → those trajectories (indexes).
    by_subject: HashMap<SubjectKey, Vec<usize>>,
    /// Every team any fact of a trajectory ever named (signal, transfer, or a correction of
    /// one) → those trajectories: a superset of the trajectories of that team at any `D` under
    /// any knownOn, so a one-team report visits only these (still checking the team at `D`).
    by_team: HashMap<TeamCode, BTreeSet<usize>>,
    /// Trajectories with facts stored but not yet derived, in first-touched order.
    pending: Vec<usize>,
    /// What the reports count, kept up to date with every digest (see `aggregate`).
    aggregates: Aggregates,
    /// Trajectories whose digest holds a PGB review: all the PGB lists visit.
    with_reviews: BTreeSet<usize>,
    /// Derivations at once from which the aggregates are filled unsorted and sorted once.
    bulk_threshold: usize,
    /// Trajectories derived per slice of a large derivation ([`DERIVE_SLICE`]; tests set less).
    derive_slice: usize,
    /// Tests only: derive with an empty team snapshot, so that every digest naming a team takes
    /// the late path.
    #[cfg(test)]
    empty_team_snapshot: bool,
    /// Where the raw facts are.
    keeping: Keeping,
    /// One shared copy of every name the digests and indexes hold.
    names: Names,
    /// Reads from the fact source that failed (see [`Projections::source_failures`]).
    source_failures: AtomicU64,
}

impl Projections {
    /// Empty read models using `norms` for every waiting-time figure.
    pub fn new(norms: Norms) -> Self {
        Projections {
            norms,
            position: 0,
            trajectories: Vec::new(),
            by_id: HashMap::new(),
            by_signal: BTreeSet::new(),
            by_subject: HashMap::new(),
            by_team: HashMap::new(),
            pending: Vec::new(),
            aggregates: Aggregates::default(),
            with_reviews: BTreeSet::new(),
            bulk_threshold: BULK_AGGREGATION,
            derive_slice: DERIVE_SLICE,
            #[cfg(test)]
            empty_team_snapshot: false,
            keeping: Keeping::InMemory,
            names: Names::default(),
            source_failures: AtomicU64::new(0),
        }
    }

    /// Empty read models that keep only what the reports need in memory and read a
    /// trajectory's raw facts from `source` when the timeline, a knownOn view or a
    /// re-derivation needs them (a million trajectories' facts would not fit comfortably).
    pub fn with_source(norms: Norms, source: Arc<dyn FactSource>) -> Self {
        Projections {
            keeping: Keeping::Source(source),
            ..Projections::new(norms)
        }
    }

    /// How many reads from the fact source have failed since the start. A query or an apply
    /// during which it rose may have left a trajectory out (its answer must not be trusted);
    /// a trajectory that could not be re-derived stays pending and is retried by the next
    /// [`Projections::derive_pending`].
    pub fn source_failures(&self) -> u64 {
        self.source_failures.load(Ordering::Relaxed)
    }

    /// Trajectories waiting to be derived (after a failed source read, or between
    /// [`Projections::extend_deferred`] and [`Projections::derive_pending`]).
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The whole stream of the trajectory in `state`, in version order: from memory when it is
    /// complete there, else the source's facts (up to the applied position) with any not yet
    /// derived. `None` (a failure counted) when the source cannot be read.
    fn all_facts<'a>(&self, state: &'a TrajectoryState) -> Option<Cow<'a, [StoredFact]>> {
        let source = match &self.keeping {
            _ if state.complete => return Some(Cow::Borrowed(&state.facts)),
            Keeping::InMemory => return Some(Cow::Borrowed(&state.facts)),
            Keeping::Source(source) => source,
        };
        let upto = state
            .facts
            .iter()
            .map(|f| f.position)
            .max()
            .unwrap_or(0)
            .max(self.position);
        match source.facts(state.id) {
            Ok(read) => {
                let mut facts: Vec<StoredFact> = read
                    .into_iter()
                    .filter(|f| f.position <= upto)
                    .map(StoredFact::from)
                    .collect();
                for pending in &state.facts {
                    if !facts.iter().any(|f| f.position == pending.position) {
                        facts.push(pending.clone());
                    }
                }
                facts.sort_by_key(|f| f.fact.version);
                Some(Cow::Owned(facts))
            }
            Err(_) => {
                self.source_failures.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// The norms every report applies (and states).
    pub fn norms(&self) -> Norms {
        self.norms
    }

    /// The global position of the last applied event (0 before any).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// How many trajectories have been seen.
    pub fn trajectory_count(&self) -> usize {
        self.trajectories.len()
    }

    /// Every team a trajectory's signal or transfer (or a correction of either) ever named,
    /// in no particular order: the teams the data knows, registered or not (history imported
    /// from elsewhere may name a team nobody registered here).
    pub fn teams(&self) -> impl Iterator<Item = &TeamCode> + '_ {
        self.by_team.keys()
    }

    /// Whether any trajectory ever named `team` (see [`Projections::teams`]).
    pub fn names_team(&self, team: &TeamCode) -> bool {
        self.by_team.contains_key(team)
    }

    /// Applies one recorded event. Events at or below [`Projections::position`] were applied
    /// already and are ignored, so a subscription may safely redeliver.
    pub fn apply(&mut self, recorded: LoggedFact) {
        self.derive_pending();
        if let Some(at) = self.push(recorded) {
            self.derive(at);
        }
    }

    /// Stores the raw fact; returns the trajectory's index when something new was stored.
    fn push(&mut self, recorded: LoggedFact) -> Option<usize> {
        // Positions are 1-based (SPEC §1), so 0 means "nothing applied yet".
        if recorded.position <= self.position {
            return None;
        }
        self.position = recorded.position;
        let at = match self.by_id.get(&recorded.trajectory) {
            Some(&at) => at,
            None => {
                let at = self.trajectories.len();
                self.trajectories.push(TrajectoryState {
                    id: recorded.trajectory,
                    facts: Vec::new(),
                    complete: true,
                    last_recorded_at: recorded.recorded_at,
                    dated: None,
                    pending: false,
                    membership: None,
                });
                self.by_id.insert(recorded.trajectory, at);
                at
            }
        };
        self.index_subject(at, &recorded.fact.event);
        self.index_team(at, &recorded.fact.event);
        let state = &mut self.trajectories[at];
        state.last_recorded_at = state.last_recorded_at.max(recorded.recorded_at);
        state.facts.push(StoredFact {
            position: recorded.position,
            recorded_at: recorded.recorded_at,
            fact: recorded.fact,
        });
        Some(at)
    }

    /// Remembers any subject key a signal (or a correction of it) names.
    fn index_subject(&mut self, at: usize, event: &Event) {
        let key = match event {
            Event::Step(Step::SignalReceived(s)) => &s.subject_key,
            Event::Corrected(c) => match &c.payload {
                Some(Step::SignalReceived(s)) => &s.subject_key,
                _ => return,
            },
            _ => return,
        };
        let key = self.names.subject(key);
        let list = self.by_subject.entry(key).or_default();
        if !list.contains(&at) {
            list.push(at);
        }
    }

    /// Remembers any team a signal, a transfer or a correction of either names.
    fn index_team(&mut self, at: usize, event: &Event) {
        let step = match event {
            Event::Step(step) => step,
            Event::Corrected(c) => match &c.payload {
                Some(step) => step,
                None => return,
            },
            Event::Retracted(_) => return,
        };
        let team = match step {
            Step::SignalReceived(s) => &s.team,
            Step::TeamTransferred(t) => &t.team,
            _ => return,
        };
        match self.by_team.get_mut(team) {
            Some(set) => {
                set.insert(at);
            }
            None => {
                let team = self.names.team(team);
                self.by_team.insert(team, BTreeSet::from([at]));
            }
        }
    }

    /// Re-derives one trajectory's digest from its full corrected history; when its facts
    /// cannot be read, it stays pending (retried by the next derivation).
    fn derive(&mut self, at: usize) {
        let Some(dated) = self.derived(at) else {
            self.mark_pending(at);
            return;
        };
        let subjects = self.set_dated(at, dated);
        drop(self.let_go_of_facts(at));
        self.refresh_members([at], &subjects);
    }

    /// The digest of trajectory `at` from all its facts; `None` when they cannot be read.
    fn derived(&self, at: usize) -> Option<Option<Dated>> {
        let state = &self.trajectories[at];
        let facts = self.all_facts(state)?;
        Some(derive_dated(&facts))
    }

    fn mark_pending(&mut self, at: usize) {
        let state = &mut self.trajectories[at];
        if !state.pending {
            state.pending = true;
            self.pending.push(at);
        }
    }

    /// After a derivation: a trajectory read from a source lets go of its raw facts (returned,
    /// so that the caller can free them where it costs least).
    fn let_go_of_facts(&mut self, at: usize) -> Vec<StoredFact> {
        match self.keeping {
            Keeping::Source(_) => {
                let state = &mut self.trajectories[at];
                state.complete = false;
                std::mem::take(&mut state.facts)
            }
            Keeping::InMemory => Vec::new(),
        }
    }

    /// Stores a freshly derived digest and keeps the signal-date index and the wait
    /// aggregates in step; returns the subject keys whose youth's trajectories may count
    /// differently in the closed cohorts now (the old and the new one).
    fn set_dated(&mut self, at: usize, dated: Option<Dated>) -> Vec<SubjectKey> {
        let (old, subjects) = self.put_digest(at, dated);
        self.aggregates.replace(
            old.as_ref(),
            self.trajectories[at].dated.as_ref(),
            &self.norms,
        );
        subjects
    }

    /// [`Projections::set_dated`] but for the aggregates, which the caller brings in step with
    /// the digest this returns as the old one.
    fn put_digest(
        &mut self,
        at: usize,
        mut dated: Option<Dated>,
    ) -> (Option<Dated>, Vec<SubjectKey>) {
        if let Some(dated) = &mut dated {
            self.names.share(dated);
        }
        let state = &mut self.trajectories[at];
        state.pending = false;
        if let Some(old) = &state.dated {
            self.by_signal.remove(&(old.signal_on, state.id));
        }
        if let Some(new) = &dated {
            self.by_signal.insert((new.signal_on, state.id));
        }
        let old = std::mem::replace(&mut state.dated, dated);
        if state.dated.as_ref().is_some_and(|d| !d.reviews.is_empty()) {
            self.with_reviews.insert(at);
        } else {
            self.with_reviews.remove(&at);
        }
        let mut subjects: Vec<SubjectKey> = old.iter().map(|d| d.subject.clone()).collect();
        if let Some(new) = &state.dated {
            if !subjects.contains(&new.subject) {
                subjects.push(new.subject.clone());
            }
        }
        (old, subjects)
    }

    /// Recomputes how the trajectories at `indexes` — and every trajectory of the youths named
    /// by `subjects` — count in the closed cohorts (a youth's other trajectories decide whether
    /// a closure recurred).
    fn refresh_members(
        &mut self,
        indexes: impl IntoIterator<Item = usize>,
        subjects: &[SubjectKey],
    ) {
        let mut touched: BTreeSet<usize> = indexes.into_iter().collect();
        for subject in subjects {
            if let Some(list) = self.by_subject.get(subject) {
                touched.extend(list.iter().copied());
            }
        }
        for at in touched {
            self.refresh_member(at);
        }
    }

    fn refresh_member(&mut self, at: usize) {
        let new = match &self.trajectories[at].dated {
            Some(dated) => match dated.closure {
                Some((closed_on, _)) => {
                    let recurred = self.recurred(at, dated, closed_on);
                    let team = self.aggregates.team_index(dated.team_at(closed_on));
                    let source = aggregate::waits::source_index(dated.source);
                    aggregate::cohorts::membership(dated, recurred, team, source)
                }
                None => None,
            },
            None => None,
        };
        let index = u32::try_from(at).unwrap_or(u32::MAX);
        let old = std::mem::replace(&mut self.trajectories[at].membership, new);
        self.aggregates.replace_member(index, old, new);
    }

    /// Whether the youth of trajectory `at` (closed on `closed_on`) had a signal in another
    /// trajectory 1..=365 days after the closure (`recurrence_12m`).
    fn recurred(&self, at: usize, dated: &Dated, closed_on: NaiveDate) -> bool {
        let Some(list) = self.by_subject.get(&dated.subject) else {
            return false;
        };
        list.iter()
            .filter(|&&other| other != at)
            .filter_map(|&other| self.trajectories[other].dated.as_ref())
            .filter(|other| other.subject == dated.subject)
            .any(|other| (1..=365).contains(&(other.signal_on - closed_on).num_days()))
    }

    /// The trajectory under `known_on` (not yet cut at `D`); `None` when it did not exist then.
    fn view_of<'a>(
        &'a self,
        state: &'a TrajectoryState,
        known_on: Option<DateTime<Utc>>,
    ) -> Option<View<'a>> {
        let dated = match known_on {
            Some(t) if state.last_recorded_at > t => {
                let facts = self.all_facts(state)?;
                let known = facts
                    .iter()
                    .filter(|f| f.recorded_at <= t)
                    .map(|f| f.fact.clone());
                Cow::Owned(Dated::from_trajectory(&Trajectory::from_facts(known))?)
            }
            _ => Cow::Borrowed(state.dated.as_ref()?),
        };
        Some(View {
            id: state.id,
            dated,
        })
    }

    /// Every trajectory that exists as of `as_of` (signal counted by `D`, known by `T`).
    pub(crate) fn views(&self, as_of: AsOf) -> impl Iterator<Item = View<'_>> + '_ {
        self.trajectories
            .iter()
            .filter_map(move |state| self.view_of(state, as_of.known_on))
            .filter(move |view| view.dated.signal_on <= as_of.date)
    }

    /// The trajectories that exist as of `as_of` and belong to `team` at `D` (every one when
    /// `None`), in index order: the one place a team filter is applied. The team index narrows
    /// the candidates to the trajectories that team ever owned; the team at `D` decides.
    pub(crate) fn views_for<'a>(
        &'a self,
        team: Option<&'a TeamCode>,
        as_of: AsOf,
    ) -> impl Iterator<Item = View<'a>> + 'a {
        let candidates: Box<dyn Iterator<Item = usize> + 'a> = match team {
            None => Box::new(0..self.trajectories.len()),
            Some(team) => Box::new(self.by_team.get(team).into_iter().flatten().copied()),
        };
        self.views_among(candidates, team, as_of)
    }

    /// [`Projections::views_for`] among the trajectories with a PGB review: the PGB lists visit
    /// only those (without knownOn: a trajectory's reviews at `T` may since have been retracted).
    pub(crate) fn views_with_reviews<'a>(
        &'a self,
        team: Option<&'a TeamCode>,
        as_of: AsOf,
    ) -> Box<dyn Iterator<Item = View<'a>> + 'a> {
        if as_of.known_on.is_some() {
            return Box::new(self.views_for(team, as_of));
        }
        let candidates = self.with_reviews.iter().copied().filter(move |at| {
            team.is_none_or(|t| self.by_team.get(t).is_some_and(|set| set.contains(at)))
        });
        Box::new(self.views_among(candidates, team, as_of))
    }

    fn views_among<'a>(
        &'a self,
        candidates: impl Iterator<Item = usize> + 'a,
        team: Option<&'a TeamCode>,
        as_of: AsOf,
    ) -> impl Iterator<Item = View<'a>> + 'a {
        candidates
            .filter_map(move |at| self.view_of(&self.trajectories[at], as_of.known_on))
            .filter(move |view| view.dated.signal_on <= as_of.date)
            .filter(move |view| team.is_none_or(|t| t == view.dated.team_at(as_of.date)))
    }

    /// One trajectory as of `as_of`; `None` when unknown or not yet signalled by then.
    pub(crate) fn view(&self, id: TrajectoryId, as_of: AsOf) -> Option<View<'_>> {
        let state = &self.trajectories[*self.by_id.get(&id)?];
        self.view_of(state, as_of.known_on)
            .filter(|view| view.dated.signal_on <= as_of.date)
    }

    /// The raw facts of one trajectory, in recording order; `None` when it is unknown or its
    /// facts cannot be read (a failure counted).
    fn stored_facts(&self, id: TrajectoryId) -> Option<Cow<'_, [StoredFact]>> {
        self.all_facts(&self.trajectories[*self.by_id.get(&id)?])
    }

    /// Signal dates of the subject's trajectories under `known_on` (any date; the caller cuts).
    pub(crate) fn subject_signals(
        &self,
        subject: &SubjectKey,
        known_on: Option<DateTime<Utc>>,
    ) -> Vec<(TrajectoryId, NaiveDate)> {
        let Some(list) = self.by_subject.get(subject) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|&at| self.view_of(&self.trajectories[at], known_on))
            .filter(|view| &view.dated.subject == subject)
            .map(|view| (view.id, view.dated.signal_on))
            .collect()
    }
}

impl Projections {
    /// Stores a batch of facts **without** deriving the touched trajectories yet: the start-up
    /// rebuild feeds the whole log this way and calls [`Projections::derive_pending`] once at the
    /// end, so each trajectory is derived once however its events are spread over the log.
    /// Until then the touched trajectories' figures are stale: answer no query in between
    /// ([`Projections::apply`] and [`Extend::extend`] derive whatever is pending first).
    pub fn extend_deferred<I: IntoIterator<Item = LoggedFact>>(&mut self, batch: I) {
        for recorded in batch {
            if let Some(at) = self.push(recorded) {
                let state = &mut self.trajectories[at];
                if !state.pending {
                    state.pending = true;
                    self.pending.push(at);
                }
            }
        }
    }

    /// Derives every trajectory stored since the last derivation, spread over the machine's
    /// cores (each trajectory's digest depends on its own facts only, so the result is the same
    /// as deriving them one by one).
    pub fn derive_pending(&mut self) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.derive_pending_on(threads, 512);
    }

    /// [`Projections::derive_pending`] on at most `threads` threads, each given at least
    /// `min_per_thread` trajectories (fewer pending ones are derived on the calling thread).
    fn derive_pending_on(&mut self, threads: usize, min_per_thread: usize) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable();
        // Every team the data names is registered first, so each thread can also turn its
        // digests into wait parts (most of the aggregates' work) without changing anything.
        let teams: Vec<TeamCode> = self.by_team.keys().cloned().collect();
        self.aggregates.intern_teams(&teams);
        // A large batch (the start-up rebuild) fills the aggregates unsorted and sorts once.
        let bulk = pending.len() >= self.bulk_threshold;
        if bulk {
            self.aggregates.begin_bulk();
        }
        let mut done = Vec::with_capacity(pending.len());
        let mut subjects = Vec::new();
        let teams = self.aggregates.team_snapshot();
        #[cfg(test)]
        let teams = if self.empty_team_snapshot {
            aggregate::TeamSnapshot::default()
        } else {
            teams
        };
        // In slices, so that what the threads hand back (digests and parts) is never the whole
        // installation's at once; each slice's raw facts are let go of a slice or two later.
        let slices = pending.chunks(self.derive_slice.max(1));
        let late = if threads > 1 && pending.len() > self.derive_slice {
            // The aggregates fill on a thread of their own, a slice behind: meanwhile this
            // thread derives the next slice and puts its digests in place.
            let mut aggregates = std::mem::replace(&mut self.aggregates, Aggregates::stand_in());
            let (filled, late) = std::thread::scope(|scope| {
                let (sender, inbox) = std::sync::mpsc::sync_channel::<Installed>(1);
                let filler = scope.spawn(move || {
                    let late: Vec<_> = inbox
                        .into_iter()
                        .flat_map(|installed| installed.fill(&mut aggregates))
                        .collect();
                    (aggregates, late)
                });
                for slice in slices {
                    let derived = self.derive_in_parallel(slice, &teams, threads, min_per_thread);
                    let installed = self.install(slice, derived, &teams, &mut done, &mut subjects);
                    if sender.send(installed).is_err() {
                        break; // The filler panicked: its join says so.
                    }
                }
                drop(sender);
                filler
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            self.aggregates = filled;
            late
        } else {
            let mut late = Vec::new();
            for slice in slices {
                let derived = self.derive_in_parallel(slice, &teams, threads, min_per_thread);
                let installed = self.install(slice, derived, &teams, &mut done, &mut subjects);
                late.extend(installed.fill(&mut self.aggregates));
            }
            late
        };
        for (at, old) in late {
            self.aggregates.replace(
                old.as_ref(),
                self.trajectories[at].dated.as_ref(),
                &self.norms,
            );
        }
        // After every digest is in place: a youth's trajectories see each other as they are now.
        subjects.sort_unstable();
        subjects.dedup();
        self.refresh_members(done, &subjects);
        if bulk {
            self.aggregates.end_bulk();
        }
    }

    /// Puts the digests `derived` of the trajectories at `slice` in place, but for the
    /// aggregates: what those must take is returned. Adds the trajectories derived to `done`
    /// and the subject keys to look at again to `subjects`.
    fn install(
        &mut self,
        slice: &[usize],
        derived: Vec<Option<(Option<Dated>, Option<aggregate::Parts>)>>,
        teams: &aggregate::TeamSnapshot,
        done: &mut Vec<usize>,
        subjects: &mut Vec<SubjectKey>,
    ) -> Installed {
        let mut installed = Installed {
            parts: Vec::with_capacity(slice.len()),
            late: Vec::new(),
            facts: Vec::with_capacity(slice.len()),
        };
        for (&at, derived) in slice.iter().zip(derived) {
            let Some((dated, new_parts)) = derived else {
                // Its facts could not be read: it stays pending.
                self.trajectories[at].pending = false;
                self.mark_pending(at);
                continue;
            };
            let (old, found) = self.put_digest(at, dated);
            subjects.extend(found);
            // `None` where a part names a team the snapshot does not hold.
            let new_parts = match self.trajectories[at].dated {
                None => Some(None),
                Some(_) => new_parts.map(Some),
            };
            let old_parts = match &old {
                None => Some(None),
                Some(old) => teams.parts(old, &self.norms).map(Some),
            };
            match (old_parts, new_parts) {
                (Some(old_parts), Some(new_parts)) => installed.parts.push((old_parts, new_parts)),
                _ => installed.late.push((at, old)),
            }
            installed.facts.push(self.let_go_of_facts(at));
            done.push(at);
        }
        installed
    }

    /// The digests and wait parts of the trajectories at `slice`, on up to `threads` threads
    /// with at least `min_per_thread` each; `None` for one whose facts could not be read.
    fn derive_in_parallel(
        &self,
        slice: &[usize],
        teams: &aggregate::TeamSnapshot,
        threads: usize,
        min_per_thread: usize,
    ) -> Vec<Option<(Option<Dated>, Option<aggregate::Parts>)>> {
        let derive = |at: usize| {
            let dated = self.derived(at)?;
            let parts = dated.as_ref().and_then(|d| teams.parts(d, &self.norms));
            Some((dated, parts))
        };
        let threads = threads.min(slice.len() / min_per_thread.max(1)).max(1);
        if threads == 1 {
            return slice.iter().map(|&at| derive(at)).collect();
        }
        let chunk = slice.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let workers: Vec<_> = slice
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || part.iter().map(|&at| derive(at)).collect::<Vec<_>>())
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| match worker.join() {
                    Ok(part) => part,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        })
    }
}

/// One slice of a derivation with its digests in place: what the aggregates still take.
struct Installed {
    /// Each trajectory's old and new parts (`None`: no digest; `Some(None)`: one that cannot be
    /// aggregated).
    parts: Vec<(Option<aggregate::Parts>, Option<aggregate::Parts>)>,
    /// Trajectories whose parts could not be computed from the team snapshot, with their old
    /// digests: [`aggregate::Aggregates::replace`] takes them once the aggregates are back.
    late: Vec<(usize, Option<Dated>)>,
    /// The raw facts the slice let go of, freed on the aggregates' thread.
    facts: Vec<Vec<StoredFact>>,
}

impl Installed {
    /// Brings `aggregates` in step with the slice; returns its late trajectories.
    fn fill(self, aggregates: &mut aggregate::Aggregates) -> Vec<(usize, Option<Dated>)> {
        for (old, new) in self.parts {
            aggregates.replace_computed(old, new);
        }
        drop(self.facts);
        self.late
    }
}

/// Trajectories derived per slice of a large derivation (see `derive_pending_on`).
const DERIVE_SLICE: usize = 16_384;

/// Trajectories derived at once from which the aggregates are filled unsorted and sorted once.
const BULK_AGGREGATION: usize = 10_000;

/// The digest of one trajectory's full corrected history (through the domain's fold).
fn derive_dated(facts: &[StoredFact]) -> Option<Dated> {
    let trajectory = Trajectory::from_facts(facts.iter().map(|f| f.fact.clone()));
    Dated::from_trajectory(&trajectory)
}

impl Extend<LoggedFact> for Projections {
    /// Applies a batch (e.g. the whole log at start-up), deriving each touched trajectory once at
    /// the end instead of after every event. Same result as applying them one by one.
    fn extend<I: IntoIterator<Item = LoggedFact>>(&mut self, batch: I) {
        self.extend_deferred(batch);
        self.derive_pending();
    }
}
