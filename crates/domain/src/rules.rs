//! The one validating fold over the effective history.
//!
//! Every invariant of SPEC §3 that depends on what happened before is checked here, fact by fact,
//! in (`occurred_on`, version) order — and the same fold builds the derived state. `decide` runs
//! it on the candidate history (current history plus the new fact or amendment), `evolve` on the
//! recorded history, so "a correction must leave a valid history" needs no code of its own.

use chrono::NaiveDate;

use crate::error::DomainError;
use crate::event::{RecordedFact, Step};
use crate::history::{effective_history, EffectiveFact};
use crate::ids::{TeamCode, UserId};
use crate::trajectory::{
    Answer, Assessment, Closure, Episode, EpisodeEnd, PgbReview, Request, ReviewCompletion, Signal,
};

/// Everything derived from the effective history.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Derived {
    pub(crate) effective: Vec<EffectiveFact>,
    pub(crate) signal: Option<Signal>,
    pub(crate) team: Option<TeamCode>,
    pub(crate) consultant: Option<UserId>,
    pub(crate) assessments: Vec<Assessment>,
    pub(crate) requests: Vec<Request>,
    pub(crate) episodes: Vec<Episode>,
    /// How many PGBs were granted (persoonsgebonden budget).
    pub(crate) pgbs_granted: usize,
    pub(crate) reviews: Vec<PgbReview>,
    pub(crate) closure: Option<Closure>,
    /// The first rule the history breaks, if any.
    pub(crate) violation: Option<DomainError>,
}

/// Derives the state of a recorded history (facts in version order).
///
/// Lenient: a fact that breaks a rule is left out of the derived state and the first such
/// violation is kept in `violation`. Through `decide` that never happens; it can for data written
/// by other means, and `verify` tooling can then report it instead of the replay failing.
pub(crate) fn replay(recorded: &[RecordedFact]) -> Derived {
    let (effective, problem) = effective_history(recorded);
    let mut state = derive(effective, problem);
    if !recorded.is_empty() && state.signal.is_none() {
        // Every step was retracted, the signal included: the stream lost its opening.
        state.violation.get_or_insert(DomainError::NotOpened);
    }
    state
}

/// Derives the state of an effective history, keeping an earlier `problem` as the violation.
pub(crate) fn derive(effective: Vec<EffectiveFact>, problem: Option<DomainError>) -> Derived {
    let mut state = Derived::default();
    let mut violation = problem;
    for (i, fact) in effective.iter().enumerate() {
        if let Err(e) = apply(&mut state, fact, &effective[i + 1..]) {
            violation.get_or_insert(e);
        }
    }
    mark_escalations(&mut state.episodes);
    state.effective = effective;
    state.violation = violation;
    state
}

/// Checks one fact against the state so far and, only when it passes, applies it.
fn apply(
    state: &mut Derived,
    fact: &EffectiveFact,
    later: &[EffectiveFact],
) -> Result<(), DomainError> {
    let on = fact.occurred_on;
    let event_type = fact.step.event_type();
    let Some(signal) = &state.signal else {
        let Step::SignalReceived(details) = &fact.step else {
            // Name the real problem when a signal exists but is dated later.
            let signal_on = later
                .iter()
                .find(|f| matches!(f.step, Step::SignalReceived(_)))
                .map(|f| f.occurred_on);
            return Err(match signal_on {
                Some(signal_on) => DomainError::BeforeSignal {
                    event_type,
                    occurred_on: on,
                    signal_on,
                },
                None => DomainError::NotOpened,
            });
        };
        state.team = Some(details.team.clone());
        state.signal = Some(Signal {
            event_id: fact.event_id,
            received_on: on,
            details: details.clone(),
        });
        return Ok(());
    };
    if matches!(fact.step, Step::SignalReceived(_)) {
        return Err(DomainError::AlreadyOpened {
            opened_on: signal.received_on,
        });
    }
    if let Some(closure) = &state.closure {
        return Err(DomainError::AfterClosure {
            event_type,
            occurred_on: on,
            closed_on: closure.closed_on,
        });
    }
    match &fact.step {
        Step::SignalReceived(_) => {}
        Step::ConsultantAssigned(p) => {
            if state.consultant.as_ref() == Some(&p.consultant) {
                return Err(DomainError::SameConsultant(p.consultant.clone()));
            }
            state.consultant = Some(p.consultant.clone());
        }
        Step::TeamTransferred(p) => {
            if state.team.as_ref() == Some(&p.team) {
                return Err(DomainError::SameTeam(p.team.clone()));
            }
            state.team = Some(p.team.clone());
        }
        Step::AssessmentCompleted(p) => {
            state.assessments.push(Assessment {
                event_id: fact.event_id,
                completed_on: on,
                conclusion: p.conclusion,
            });
        }
        Step::HelpRequested(p) => {
            state.requests.push(Request {
                event_id: fact.event_id,
                requested_on: on,
                form: p.form,
                answer: None,
            });
        }
        Step::DecisionIssued(p) => {
            let request = state
                .requests
                .iter_mut()
                .find(|r| r.answer.is_none() && r.form == p.form)
                .ok_or(DomainError::NoOpenRequest {
                    form: p.form,
                    decided_on: on,
                })?;
            request.answer = Some(Answer {
                event_id: fact.event_id,
                decided_on: on,
                granted: p.granted,
            });
        }
        Step::HelpStarted(p) => {
            if state.episodes.iter().any(|e| e.id == p.episode_id) {
                return Err(DomainError::EpisodeIdInUse(p.episode_id.clone()));
            }
            state.episodes.push(Episode {
                id: p.episode_id.clone(),
                form: p.form,
                level: p.form.level(),
                provider: p.provider.clone(),
                foster: p.foster,
                started_on: on,
                started_by: fact.event_id,
                end: None,
                escalation: false,
                step_down: false,
            });
        }
        Step::HelpEnded(p) => {
            let Some(episode) = state.episodes.iter_mut().find(|e| e.id == p.episode_id) else {
                let start = later.iter().find(
                    |f| matches!(&f.step, Step::HelpStarted(s) if s.episode_id == p.episode_id),
                );
                return Err(match start {
                    Some(start) => DomainError::EpisodeEndsBeforeStart {
                        episode_id: p.episode_id.clone(),
                        started_on: start.occurred_on,
                        ended_on: on,
                    },
                    None => DomainError::EpisodeNotStarted(p.episode_id.clone()),
                });
            };
            if let Some(end) = &episode.end {
                return Err(DomainError::EpisodeAlreadyEnded {
                    episode_id: p.episode_id.clone(),
                    ended_on: end.ended_on,
                });
            }
            episode.end = Some(EpisodeEnd {
                event_id: fact.event_id,
                ended_on: on,
                result: p.result,
            });
        }
        Step::PgbGranted(_) => {
            state.pgbs_granted += 1;
        }
        Step::PgbReviewScheduled(p) => {
            if p.due_on < on {
                return Err(DomainError::ReviewDueBeforeScheduled {
                    scheduled_on: on,
                    due_on: p.due_on,
                });
            }
            state.reviews.push(PgbReview {
                event_id: fact.event_id,
                scheduled_on: on,
                due_on: p.due_on,
                completion: None,
            });
        }
        Step::PgbReviewCompleted(p) => {
            let review = state
                .reviews
                .iter_mut()
                .find(|r| r.completion.is_none())
                .ok_or(DomainError::NoOpenReview { completed_on: on })?;
            review.completion = Some(ReviewCompletion {
                event_id: fact.event_id,
                completed_on: on,
                decision: p.decision,
                quality_concern: p.quality_concern,
                irregularity_suspected: p.irregularity_suspected,
            });
        }
        Step::TrajectoryClosed(p) => {
            let open: Vec<_> = state
                .episodes
                .iter()
                .filter(|e| e.end.is_none())
                .map(|e| e.id.clone())
                .collect();
            if !open.is_empty() {
                return Err(DomainError::HelpStillOpen(open));
            }
            state.closure = Some(Closure {
                event_id: fact.event_id,
                closed_on: on,
                reason: p.reason,
            });
        }
    }
    Ok(())
}

/// Marks escalations and step-downs (SPEC §4). `episodes` are in start order.
///
/// Escalation: the level is higher than every level started before, and an earlier episode
/// exists (the first help is never an escalation). Step-down: the level is lower than the level
/// of an episode that ended on or before this one's start date.
fn mark_escalations(episodes: &mut [Episode]) {
    let flags: Vec<(bool, bool)> = episodes
        .iter()
        .enumerate()
        .map(|(i, episode)| {
            let highest_before = episodes[..i].iter().map(|e| e.level).max();
            let escalation = highest_before.is_some_and(|highest| episode.level > highest);
            let step_down = episodes.iter().enumerate().any(|(j, other)| {
                j != i
                    && other.level > episode.level
                    && ended_on_or_before(other, episode.started_on)
            });
            (escalation, step_down)
        })
        .collect();
    for (episode, (escalation, step_down)) in episodes.iter_mut().zip(flags) {
        episode.escalation = escalation;
        episode.step_down = step_down;
    }
}

fn ended_on_or_before(episode: &Episode, date: NaiveDate) -> bool {
    episode.end.as_ref().is_some_and(|end| end.ended_on <= date)
}
