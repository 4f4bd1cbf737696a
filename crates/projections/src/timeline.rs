//! Tijdlijn: one trajectory's stream as the consultant reads it — every raw fact in recording
//! order with its amendments visible as such, next to the effective (corrected) history.
//!
//! The effective history is rebuilt from the trajectory's own facts on request
//! ([`Timeline::effective`]): one stream is tens of events, and not keeping it saves a second
//! copy of every trajectory in memory.

use chrono::{DateTime, NaiveDate, Utc};
use jeugdpad_domain::{EffectiveFact, Event, EventId, RecordedFact, Trajectory, TrajectoryId};

use crate::Projections;

/// What an amendment does to which event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amendment {
    /// `event_corrected` of the named event.
    Corrects(EventId),
    /// `event_retracted` of the named event.
    Retracts(EventId),
}

/// One raw fact of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineFact {
    /// Global log position.
    pub position: u64,
    /// Stream version (1-based).
    pub version: u64,
    /// When the store accepted it.
    pub recorded_at: DateTime<Utc>,
    /// The event id.
    pub event_id: EventId,
    /// The date as recorded (a correction may have replaced it; see `effective`).
    pub occurred_on: NaiveDate,
    /// The event as recorded.
    pub event: Event,
    /// For a correction or retraction: which event it amends.
    pub amends: Option<Amendment>,
    /// For a step: the corrections of it (visible at the view's `T`), in recording order.
    pub corrected_by: Vec<EventId>,
    /// For a step: the retraction of it, if any.
    pub retracted_by: Option<EventId>,
}

/// The timeline of one trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The trajectory.
    pub trajectory: TrajectoryId,
    /// Every raw fact (recorded by `T` when asked), in recording order.
    pub facts: Vec<TimelineFact>,
    /// The reference date `D` the effective history is cut at, when one was asked.
    pub as_of: Option<NaiveDate>,
}

impl Projections {
    /// The timeline of `trajectory`: raw facts recorded by `known_on` (all when `None`) and the
    /// effective history they give, cut at `as_of` when given. `None` for an unknown trajectory.
    pub fn timeline(
        &self,
        trajectory: TrajectoryId,
        as_of: Option<NaiveDate>,
        known_on: Option<DateTime<Utc>>,
    ) -> Option<Timeline> {
        let all = self.stored_facts(trajectory)?;
        let stored: Vec<_> = all
            .iter()
            .filter(|f| known_on.is_none_or(|t| f.recorded_at <= t))
            .collect();
        let mut facts: Vec<TimelineFact> = stored
            .iter()
            .map(|s| TimelineFact {
                position: s.position,
                version: s.fact.version,
                recorded_at: s.recorded_at,
                event_id: s.fact.event_id,
                occurred_on: s.fact.occurred_on,
                event: s.fact.event.clone(),
                amends: match &s.fact.event {
                    Event::Corrected(c) => Some(Amendment::Corrects(c.corrects)),
                    Event::Retracted(r) => Some(Amendment::Retracts(r.retracts)),
                    Event::Step(_) => None,
                },
                corrected_by: Vec::new(),
                retracted_by: None,
            })
            .collect();
        let amendments: Vec<(EventId, Amendment)> = facts
            .iter()
            .filter_map(|f| f.amends.map(|a| (f.event_id, a)))
            .collect();
        for (by, amendment) in amendments {
            let target = match amendment {
                Amendment::Corrects(id) | Amendment::Retracts(id) => id,
            };
            if let Some(original) = facts.iter_mut().find(|f| f.event_id == target) {
                match amendment {
                    Amendment::Corrects(_) => original.corrected_by.push(by),
                    Amendment::Retracts(_) => original.retracted_by = Some(by),
                }
            }
        }
        Some(Timeline {
            trajectory,
            facts,
            as_of,
        })
    }
}

impl Timeline {
    /// The facts as the domain reads them (recording order).
    pub fn recorded(&self) -> impl Iterator<Item = RecordedFact> + '_ {
        self.facts.iter().map(|f| RecordedFact {
            event_id: f.event_id,
            version: f.version,
            occurred_on: f.occurred_on,
            event: f.event.clone(),
        })
    }

    /// The effective history (corrections applied, retractions left out) ordered by
    /// (`occurred_on`, version), cut at the view's `as_of` when one was asked. Derived when
    /// asked: most looks at a timeline do not want it.
    pub fn effective(&self) -> Vec<EffectiveFact> {
        Trajectory::from_facts(self.recorded())
            .effective_history()
            .iter()
            .filter(|f| self.as_of.is_none_or(|d| f.occurred_on <= d))
            .cloned()
            .collect()
    }
}
