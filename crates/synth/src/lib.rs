//! A deterministic generator of synthetic youth-care cohorts, for benchmarks, demos and tests
//! that need a municipality's worth of plausible trajectories without a single real person in it.
//!
//! [`generate`] turns a [`Scenario`] (shares, timings, teams — `Scenario::default()` is
//! Purmerend-sized), a seed and `today` into a stream of [`SyntheticCase`]s: one trajectory each,
//! as the [`Command`]s a consultant would have recorded, in recording order. Every case is
//! accepted by [`jeugdpad_domain::decide`] command by command (the tests check thousands), so a
//! loader can feed them straight into `jeugdpad_app::record`.
//!
//! # What the cohort looks like
//!
//! Each trajectory takes one main route ([`Pathway`]): no help needed; light help (level 1);
//! light help escalating to specialist care (level 2) through `help_requested` →
//! `decision_issued` → `help_started`; specialist care straight away; or out-of-home care
//! (level 3: foster care with its placement details, or residential), sometimes after a
//! Buurtgezin tried to prevent it and, after foster care, sometimes followed by Buurtgezin
//! aftercare (a step-down). Along the way: PGB decisions with their six-monthly reviews (some
//! never completed, a few raising an irregularity), team transfers, the occasional corrected
//! assessment date or retracted duplicate, waits that now and then breach the norms, and
//! subjects who come back with a new trajectory within a year of closing.
//!
//! Steps dated after `today` are not generated — the trajectory simply stays open there — so the
//! most recent trajectories are open, as in a live system.
//!
//! # Determinism
//!
//! Same scenario, seed and `today` → the same cases, on every platform and every run: the
//! randomness is `ChaCha8Rng` (whose output `rand_chacha` keeps stable), and every id —
//! trajectory, event — is drawn from it. Each *subject* (with its re-entries) draws from its own
//! ChaCha stream, so the first cases of a large run equal those of a small run with the same seed.
//!
//! # Scale
//!
//! Cases are planned one at a time as the iterator is pulled; nothing is kept from one subject to
//! the next, so a million trajectories stream in constant memory and linear time.
//!
//! Pure: no I/O, no clock (`today` comes in), no global state.

mod model;
mod plan;
mod scenario;

#[cfg(test)]
mod tests;

use chrono::{Datelike, Months, NaiveDate};
use jeugdpad_domain::{Command, EventId, SubjectKey, TrajectoryId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use scenario::{Pathway, Scenario, ScenarioError, Shares, Span, Timing, Wait};

use crate::model::Model;

/// One command of a synthetic case, with the event id to record it under.
///
/// The id is part of the case because corrections and retractions name earlier events by id:
/// recording the command with this id (`Request::event_id`) makes those references hold, and
/// makes a re-run of an interrupted load idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticCommand {
    /// The id of the one event the command produces.
    pub event_id: EventId,
    /// What to record.
    pub command: Command,
}

/// One synthetic trajectory: its id and its commands in the order they must be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticCase {
    /// The trajectory (stream `trajectory-<id>`).
    pub trajectory: TrajectoryId,
    /// The youth's pseudonym (`sk-synth-000123`); shared by a subject's re-entries.
    pub subject: SubjectKey,
    /// The commands, oldest first; never one dated after `today`.
    pub commands: Vec<SyntheticCommand>,
}

/// Generates `scenario.total()` synthetic cases (see the crate docs).
///
/// Fails only when the scenario itself is unusable (checked up front, so a long run never fails
/// halfway): a bad weight, share or span, or a start after `today`.
pub fn generate(scenario: &Scenario, seed: u64, today: NaiveDate) -> Result<Cohort, ScenarioError> {
    scenario.validate()?;
    if scenario.start > today {
        return Err(ScenarioError::StartsAfterToday {
            start: scenario.start,
            today,
        });
    }
    // Signals come in over the scenario's years, but never after today.
    let end = scenario
        .start
        .checked_add_months(Months::new(scenario.years.saturating_mul(12)))
        .and_then(|end| end.pred_opt())
        .map_or(today, |end| end.min(today));
    Ok(Cohort {
        model: Model::new(scenario, today)?,
        seed,
        today,
        first_signal: scenario.start,
        signal_days: (end - scenario.start).num_days(),
        remaining: scenario.total(),
        next_subject: 0,
        subject: None,
    })
}

/// The stream of cases [`generate`] returns: an iterator that plans each case when pulled.
#[derive(Debug)]
pub struct Cohort {
    model: Model,
    seed: u64,
    today: NaiveDate,
    first_signal: NaiveDate,
    /// Days from the first to the last possible signal date of a new subject.
    signal_days: i64,
    remaining: u64,
    next_subject: u64,
    subject: Option<Subject>,
}

/// The subject whose trajectories are being generated, with its own random stream.
#[derive(Debug)]
struct Subject {
    rng: ChaCha8Rng,
    key: SubjectKey,
    /// The next trajectory's signal date and the youth's age then, if they come (back).
    next: Option<(NaiveDate, i64)>,
}

impl Cohort {
    fn new_subject(&mut self) -> Subject {
        let number = self.next_subject;
        self.next_subject += 1;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(number);
        let signal_on =
            self.first_signal + chrono::Days::new(rng.gen_range(0..=self.signal_days) as u64);
        let crate::Span(young, old) = self.model.scenario.age_at_signal;
        let age = rng.gen_range(young..=old);
        Subject {
            rng,
            key: SubjectKey::parse(format!("sk-synth-{number:06}"))
                .expect("`sk-synth-` keys are short and never look like a BSN"),
            next: Some((signal_on, age)),
        }
    }
}

impl Iterator for Cohort {
    type Item = SyntheticCase;

    fn next(&mut self) -> Option<SyntheticCase> {
        if self.remaining == 0 {
            return None;
        }
        let mut subject = match self.subject.take() {
            Some(subject) if subject.next.is_some() => subject,
            _ => self.new_subject(),
        };
        let (signal_on, age) = subject.next.take()?;
        let planned = plan::plan(
            &self.model,
            &mut subject.rng,
            &subject.key,
            signal_on,
            age,
            self.today,
        );
        subject.next = planned.closed_on.and_then(|closed_on| {
            reentry(
                &self.model,
                &mut subject.rng,
                closed_on,
                signal_on,
                age,
                self.today,
            )
        });
        self.subject = Some(subject);
        self.remaining -= 1;
        Some(planned.case)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (remaining, Some(remaining))
    }
}

/// Whether (and when) a subject whose trajectory closed on `closed_on` comes back. Only youths
/// still under 18 come back, and only when the new signal is not in the future.
fn reentry(
    model: &Model,
    rng: &mut ChaCha8Rng,
    closed_on: NaiveDate,
    signal_on: NaiveDate,
    age: i64,
    today: NaiveDate,
) -> Option<(NaiveDate, i64)> {
    if !rng.gen_bool(model.scenario.shares.reentry) {
        return None;
    }
    let crate::Span(min, max) = model.scenario.timing.reentry_gap;
    let next_on = closed_on + chrono::Days::new(rng.gen_range(min..=max) as u64);
    let next_age = age + i64::from(next_on.year() - signal_on.year());
    (next_on <= today && next_age < 18).then_some((next_on, next_age))
}

impl ExactSizeIterator for Cohort {}
