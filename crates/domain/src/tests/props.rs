//! Property tests: any sequence of accepted commands replays to the same state, also through the
//! stored form, and never leaves a history that breaks a rule.

use chrono::Duration;
use proptest::collection::vec;
use proptest::prelude::*;

use super::*;
use HelpForm::*;

/// A small pool of forms so requests, decisions and starts meet often.
const POOL: &[HelpForm] = &[
    Mediation,
    BuurtgezinPrevention,
    BuurtgezinAftercare,
    YouthMentalHealth,
    FosterCare,
    Residential,
];
pub(super) const LAST_DAY: i64 = 60;

fn form(seed: usize) -> HelpForm {
    POOL[seed % POOL.len()]
}

fn episode(seed: usize) -> EpisodeId {
    EpisodeId::parse(format!("E{}", seed % 5)).unwrap()
}

fn team(seed: usize) -> TeamCode {
    TeamCode::parse(["noord", "zuid", "west"][seed % 3]).unwrap()
}

/// A random action: a kind, a day, and two seeds that pick its details given the state.
#[derive(Debug, Clone)]
pub(super) struct Action {
    kind: u8,
    day: i64,
    a: usize,
    b: usize,
}

/// Kinds 0–15 once each, plus extra weight for the steps that need a partner (decisions, ends,
/// the PGB chain) so those paths are reached often.
const KINDS: &[u8] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 4, 5, 5, 6, 7, 8, 9, 10,
];

pub(super) fn action() -> impl Strategy<Value = Action> {
    (
        0..KINDS.len(),
        0i64..=LAST_DAY + 3,
        any::<usize>(),
        any::<usize>(),
    )
        .prop_map(|(kind, day, a, b)| Action {
            kind: KINDS[kind],
            day,
            a,
            b,
        })
}

/// Changes one field of a step, keeping its type, as a correction would.
fn mutate(step: &Step, seed: usize) -> Step {
    let mut step = step.clone();
    match &mut step {
        Step::SignalReceived(p) => {
            p.urgency = Urgency::ALL[seed % Urgency::ALL.len()];
            p.team = team(seed / 3);
        }
        Step::ConsultantAssigned(p) => {
            p.consultant = UserId::parse(format!("c{}", seed % 3)).unwrap()
        }
        Step::TeamTransferred(p) => p.team = team(seed),
        Step::AssessmentCompleted(p) => {
            p.conclusion = AssessmentConclusion::ALL[seed % AssessmentConclusion::ALL.len()]
        }
        Step::HelpRequested(p) => p.form = form(seed),
        Step::DecisionIssued(p) => {
            p.form = form(seed);
            p.foster = None;
            p.granted = !seed.is_multiple_of(4);
        }
        Step::HelpStarted(p) => {
            p.form = form(seed);
            p.foster = (p.form == FosterCare).then(foster);
            if seed.is_multiple_of(3) {
                p.episode_id = episode(seed / 3);
            }
        }
        Step::HelpEnded(p) => {
            p.result = HelpResult::ALL[seed % HelpResult::ALL.len()];
            if seed.is_multiple_of(3) {
                p.episode_id = episode(seed / 3);
            }
        }
        Step::PgbGranted(p) => p.amount_cents = (seed % 100_000) as i64 + 1,
        Step::PgbReviewScheduled(p) => p.due_on += Duration::days((seed % 20) as i64 - 5),
        Step::PgbReviewCompleted(p) => p.irregularity_suspected = !p.irregularity_suspected,
        Step::TrajectoryClosed(p) => p.reason = CloseReason::ALL[seed % CloseReason::ALL.len()],
    }
    step
}

/// Turns an action into a mostly sensible command for `state`.
pub(super) fn command(state: &Trajectory, action: &Action) -> Command {
    let Action {
        kind,
        day: on,
        a,
        b,
    } = *action;
    // Mostly between the signal and a few days past today; now and then before the signal.
    let opening = state
        .signal()
        .map_or(0, |s| (s.received_on - day(0)).num_days());
    let on = if on % 12 == 0 {
        on % (opening + 1)
    } else {
        opening + on % (LAST_DAY + 4 - opening)
    };
    let target = |seed: usize| {
        state
            .facts()
            .get(seed % state.facts().len().max(1))
            .map_or(id(999), |f| f.event_id)
    };
    let current = |event_id: EventId| -> Step {
        let effective = state
            .effective_history()
            .iter()
            .find(|f| f.event_id == event_id)
            .map(|f| f.step.clone());
        effective.unwrap_or(Step::HelpRequested(HelpRequested { form: Mediation }))
    };
    match kind {
        0 => Command::OpenFromSignal {
            occurred_on: day(on),
            signal: signal_payload(),
        },
        1 => assign(on, &format!("c{}", a % 3)),
        2 => Command::TransferTeam {
            occurred_on: day(on),
            team: team(a),
        },
        3 => assess(on),
        4 => request(on, form(a)),
        5 => {
            let open: Vec<&Request> = state.open_requests().collect();
            let (form, on) = match open.get(a % open.len().max(1)) {
                Some(request) if b % 4 != 0 => (request.form, after(on, request.requested_on)),
                _ => (form(a), on),
            };
            let funding = if b % 2 == 0 {
                DecisionFunding::Pgb
            } else {
                DecisionFunding::InKind
            };
            let mut decision = decision_payload(on, form, funding);
            decision.granted = b % 3 != 0;
            decision.foster = (form == FosterCare && b % 5 == 0).then(foster);
            Command::IssueDecision {
                occurred_on: day(on),
                decision,
            }
        }
        6 => Command::StartHelp {
            occurred_on: day(on),
            help: help_payload(episode(a).as_str(), form(b)),
        },
        7 => {
            let open: Vec<&Episode> = state.open_episodes().collect();
            let (episode, on) = match open.get(a % open.len().max(1)) {
                Some(episode) if b % 4 != 0 => (episode.id.clone(), after(on, episode.started_on)),
                _ => (episode(a), on),
            };
            Command::EndHelp {
                occurred_on: day(on),
                episode_id: episode,
                result: HelpResult::ALL[b % 5],
            }
        }
        8 => {
            let last_decision = state
                .requests()
                .iter()
                .filter_map(|r| r.answer.as_ref())
                .map(|a| a.decided_on)
                .max();
            let on = last_decision.map_or(on, |date| after(on, date));
            Command::GrantPgb {
                occurred_on: day(on),
                pgb: pgb_payload((a % 1000) as i64 - 10),
            }
        }
        9 => {
            let granted = state
                .effective_history()
                .iter()
                .rev()
                .find(|f| matches!(f.step, Step::PgbGranted(_)));
            let on = granted.map_or(on, |f| after(on, f.occurred_on));
            schedule(on, on + (b % 40) as i64 - 5)
        }
        10 => {
            let due = state.open_pgb_reviews().next().map(|r| r.scheduled_on);
            review(due.map_or(on, |date| after(on, date)))
        }
        11 if a % 2 == 0 => close(on),
        11 => {
            let open: Vec<&Episode> = state.open_episodes().collect();
            let episode = open
                .get(b % open.len().max(1))
                .map_or(episode(a), |e| e.id.clone());
            Command::EndHelp {
                occurred_on: day(on),
                episode_id: episode,
                result: HelpResult::GoalsMet,
            }
        }
        12 => redate_id(on, target(a), (b % (LAST_DAY as usize + 5)) as i64, None),
        13 => {
            let event_id = target(a);
            redate_id(on, event_id, -1, Some(mutate(&current(event_id), b)))
        }
        14 => {
            let event_id = target(a);
            redate_id(
                on,
                event_id,
                (b % (LAST_DAY as usize)) as i64,
                Some(mutate(&current(event_id), b / 7)),
            )
        }
        _ => Command::RetractEvent {
            occurred_on: day(on),
            retraction: Retraction {
                retracts: target(a),
                reason: Reason::parse("generated").unwrap(),
            },
        },
    }
}

/// `on`, moved to `date` or shortly after it (as a day number) unless it already lies later.
fn after(on: i64, date: NaiveDate) -> i64 {
    on.max((date - day(0)).num_days() + on % 3)
}

/// A correction of `event_id`; a negative `date` keeps the date.
fn redate_id(on: i64, event_id: EventId, date: i64, payload: Option<Step>) -> Command {
    Command::CorrectEvent {
        occurred_on: day(on),
        correction: Correction {
            corrects: event_id,
            occurred_on: (date >= 0).then(|| day(date)),
            payload,
            reason: Reason::parse("generated").unwrap(),
        },
    }
}

/// Escalations counted straight from the SPEC §4 wording, as an oracle for the fold.
fn escalations_by_definition(state: &Trajectory) -> usize {
    let starts: Vec<Level> = state
        .effective_history()
        .iter()
        .filter_map(|f| match &f.step {
            Step::HelpStarted(p) => Some(p.form.level()),
            _ => None,
        })
        .collect();
    (1..starts.len())
        .filter(|&i| starts[..i].iter().all(|&earlier| starts[i] > earlier))
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn accepted_commands_replay_to_the_same_state(opening in 0i64..20, actions in vec(action(), 0..60)) {
        let today = day(LAST_DAY);
        let mut state = record(Trajectory::default(), &signal(opening), today).unwrap();
        let mut rejected = 0;
        for action in &actions {
            let command = command(&state, action);
            match record(state.clone(), &command, today) {
                Ok(next) => {
                    // Every accepted history still satisfies every rule.
                    prop_assert_eq!(next.violation(), None, "after {:?}", command);
                    state = next;
                }
                Err(error) => {
                    prop_assert!(!error.to_string().is_empty());
                    rejected += 1;
                }
            }
        }
        prop_assert_eq!(state.version() as usize + rejected, actions.len() + 1);

        // Replaying the recorded facts one by one, or all at once, gives the same state.
        let facts = state.facts().to_vec();
        let folded = facts.iter().fold(Trajectory::default(), evolve);
        prop_assert_eq!(&folded, &state);
        prop_assert_eq!(&Trajectory::from_facts(facts.clone()), &state);

        // So does replaying them after a round trip through the stored form.
        let decoded: Vec<RecordedFact> = facts
            .iter()
            .map(|f| {
                let encoded = f.event.encode();
                let event = Event::decode(encoded.event_type, encoded.schema_version, &encoded.payload).unwrap();
                let text = serde_json::to_vec(&encoded.payload).unwrap();
                assert_eq!(Event::decode_json(encoded.event_type, encoded.schema_version, &text).unwrap(), event);
                RecordedFact { event, ..f.clone() }
            })
            .collect();
        prop_assert_eq!(&decoded, &facts);
        prop_assert_eq!(&decoded.iter().fold(Trajectory::default(), evolve), &state);

        // Derived figures agree with their definitions.
        prop_assert_eq!(state.escalation_count(), escalations_by_definition(&state));
        prop_assert!(state.current_level() <= state.highest_level());
        let ordered = state.effective_history().windows(2).all(|w| (w[0].occurred_on, w[0].version) < (w[1].occurred_on, w[1].version));
        prop_assert!(ordered);
        if state.is_closed() {
            prop_assert_eq!(state.open_episodes().count(), 0);
        }
    }
}
