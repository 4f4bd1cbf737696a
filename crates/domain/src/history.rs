//! The effective (corrected) history: the raw facts with every correction applied and every
//! retracted step left out, ordered by (`occurred_on`, version).
//!
//! This is the history every figure and every rule is computed on (SPEC §4): a corrected event
//! counts with its replacement date and payload but keeps its own version, so it stays in its
//! place among the facts of its (new) day.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use crate::error::DomainError;
use crate::event::{Correction, Event, RecordedFact, Step};
use crate::ids::EventId;

/// A step as it counts after corrections and retractions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveFact {
    /// The id of the original event.
    pub event_id: EventId,
    /// The original event's version: orders facts of one day.
    pub version: u64,
    /// The date it counts with: the latest replacement date, or the original.
    pub occurred_on: NaiveDate,
    /// The payload it counts with: the latest replacement payload, or the original.
    pub step: Step,
    /// The corrections applied to it, in recording order (empty when never corrected).
    pub corrected_by: Vec<EventId>,
}

/// Checks that `target` may be amended given the facts recorded so far: it is a step of this
/// stream and has not been retracted.
pub(crate) fn check_target(
    recorded: &[RecordedFact],
    target: EventId,
) -> Result<&Step, DomainError> {
    let fact = recorded
        .iter()
        .find(|f| f.event_id == target)
        .ok_or(DomainError::UnknownEvent(target))?;
    let Event::Step(step) = &fact.event else {
        return Err(DomainError::TargetIsAmendment(target));
    };
    let retracted = recorded
        .iter()
        .any(|f| matches!(&f.event, Event::Retracted(r) if r.retracts == target));
    if retracted {
        return Err(DomainError::TargetRetracted(target));
    }
    Ok(step)
}

/// Checks a correction against the facts recorded before it (everything but the rules the
/// corrected history must satisfy, which [`crate::rules`] checks).
pub(crate) fn check_correction(
    recorded: &[RecordedFact],
    correction: &Correction,
) -> Result<(), DomainError> {
    if correction.occurred_on.is_none() && correction.payload.is_none() {
        return Err(DomainError::EmptyCorrection);
    }
    let original = check_target(recorded, correction.corrects)?;
    if let Some(replacement) = &correction.payload {
        if replacement.kind() != original.kind() {
            return Err(DomainError::CorrectionChangesType {
                event_id: correction.corrects,
                corrected: original.event_type(),
                replacement: replacement.event_type(),
            });
        }
    }
    Ok(())
}

/// Applies the amendments in recording order. An amendment that is itself invalid (only possible
/// for data that did not pass [`crate::decide`]) is skipped and reported as the second value.
pub(crate) fn effective_history(
    recorded: &[RecordedFact],
) -> (Vec<EffectiveFact>, Option<DomainError>) {
    let mut facts: Vec<EffectiveFact> = Vec::new();
    let mut index: HashMap<EventId, usize> = HashMap::new();
    let mut retracted: HashSet<usize> = HashSet::new();
    let mut problem = None;
    for (i, fact) in recorded.iter().enumerate() {
        let earlier = &recorded[..i];
        match &fact.event {
            Event::Step(step) => {
                index.entry(fact.event_id).or_insert(facts.len());
                facts.push(EffectiveFact {
                    event_id: fact.event_id,
                    version: fact.version,
                    occurred_on: fact.occurred_on,
                    step: step.clone(),
                    corrected_by: Vec::new(),
                });
            }
            Event::Corrected(correction) => match check_correction(earlier, correction) {
                Ok(()) => {
                    if let Some(target) = index
                        .get(&correction.corrects)
                        .and_then(|&at| facts.get_mut(at))
                    {
                        if let Some(date) = correction.occurred_on {
                            target.occurred_on = date;
                        }
                        if let Some(step) = &correction.payload {
                            target.step = step.clone();
                        }
                        target.corrected_by.push(fact.event_id);
                    }
                }
                Err(e) => {
                    problem.get_or_insert(e);
                }
            },
            Event::Retracted(retraction) => match check_target(earlier, retraction.retracts) {
                Ok(_) => {
                    if let Some(&at) = index.get(&retraction.retracts) {
                        retracted.insert(at);
                    }
                }
                Err(e) => {
                    problem.get_or_insert(e);
                }
            },
        }
    }
    let mut effective: Vec<EffectiveFact> = facts
        .into_iter()
        .enumerate()
        .filter(|(at, _)| !retracted.contains(at))
        .map(|(_, fact)| fact)
        .collect();
    effective.sort_by_key(|f| (f.occurred_on, f.version));
    (effective, problem)
}
