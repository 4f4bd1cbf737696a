//! `allowed_steps` against `decide`: a step kind is offered exactly when `decide` accepts it
//! today with the input the page would suggest, on random histories.

use proptest::collection::vec;
use proptest::prelude::*;

use super::props::{action, command, LAST_DAY};
use super::*;

/// The command the page would send for `kind` with its suggested input (today's date, the
/// first offered form or episode, a fresh episode id, …). For a kind that is not offered the
/// nearest input there is, which `decide` must then refuse.
fn suggested(state: &Trajectory, kind: StepKind, offered: Option<&AllowedStep>) -> Command {
    let today = LAST_DAY;
    let on = day(today);
    match kind {
        StepKind::AssignConsultant => assign(today, "nieuwe-consulent"),
        StepKind::TransferTeam => {
            let other = ["noord", "zuid", "west", "oost"]
                .into_iter()
                .find(|t| state.team().map(TeamCode::as_str) != Some(*t))
                .unwrap();
            transfer(today, other)
        }
        StepKind::CompleteAssessment => assess(today),
        StepKind::RequestHelp => request(today, HelpForm::Mediation),
        StepKind::IssueDecision => {
            let form = offered
                .and_then(|s| s.forms.first().copied())
                .unwrap_or(HelpForm::Mediation);
            decision(today, form)
        }
        StepKind::StartHelp => Command::StartHelp {
            occurred_on: on,
            help: help_payload(suggested_episode(state).as_str(), HelpForm::WijkteamSupport),
        },
        StepKind::EndHelp => {
            let episode = offered
                .and_then(|s| s.episodes.first().cloned())
                .or_else(|| state.episodes().first().map(|e| e.id.clone()))
                .unwrap_or_else(|| EpisodeId::parse("nooit-gestart").unwrap());
            Command::EndHelp {
                occurred_on: on,
                episode_id: episode,
                result: HelpResult::GoalsMet,
            }
        }
        StepKind::GrantPgb => pgb(today),
        StepKind::SchedulePgbReview => schedule(today, today),
        StepKind::CompletePgbReview => review(today),
        StepKind::Close => close(today),
        StepKind::Correct => {
            // The signal on its own date: a correction that changes nothing the rules see.
            let signal = state.signal().unwrap();
            Command::CorrectEvent {
                occurred_on: on,
                correction: Correction {
                    corrects: signal.event_id,
                    occurred_on: Some(signal.received_on),
                    payload: None,
                    reason: Reason::parse("datum nagekeken").unwrap(),
                },
            }
        }
        StepKind::Retract => {
            // The last step in the corrected history: nothing after it can lose its basis.
            let last = state.effective_history().last().unwrap().event_id;
            Command::RetractEvent {
                occurred_on: on,
                retraction: Retraction {
                    retracts: last,
                    reason: Reason::parse("verkeerd dossier").unwrap(),
                },
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn offered_exactly_when_decide_accepts(opening in 0i64..20, actions in vec(action(), 0..50)) {
        let today = day(LAST_DAY);
        let mut state = record(Trajectory::default(), &signal(opening), today).unwrap();
        for action in &actions {
            if let Ok(next) = record(state.clone(), &command(&state, action), today) {
                state = next;
            }
        }
        let allowed = allowed_steps(&state);
        for &kind in StepKind::ALL {
            let offered = allowed.iter().find(|s| s.kind == kind);
            let command = suggested(&state, kind, offered);
            prop_assert_eq!(StepKind::of(&command), Some(kind));
            let decided = decide(&state, &command, id(10_000), today, &DateRule::default());
            prop_assert_eq!(
                decided.is_ok(),
                offered.is_some(),
                "{:?}: decide said {:?}; history {:?}",
                kind,
                decided.err(),
                state.effective_history()
            );
        }
        // Every offered choice is one `decide` accepts too, not only the first.
        for step in &allowed {
            for form in step.forms.iter().skip(1) {
                prop_assert!(decide(&state, &decision(LAST_DAY, *form), id(10_000), today, &DateRule::default()).is_ok());
            }
            for episode in step.episodes.iter().skip(1) {
                let end = Command::EndHelp {
                    occurred_on: today,
                    episode_id: episode.clone(),
                    result: HelpResult::PartlyMet,
                };
                prop_assert!(decide(&state, &end, id(10_000), today, &DateRule::default()).is_ok());
            }
        }
    }
}

#[test]
fn a_fresh_trajectory_offers_the_first_steps_and_no_ending() {
    let state = record(Trajectory::default(), &signal(1), day(TODAY)).unwrap();
    let kinds: Vec<StepKind> = allowed_steps(&state).iter().map(|s| s.kind).collect();
    assert!(kinds.contains(&StepKind::CompleteAssessment));
    assert!(kinds.contains(&StepKind::StartHelp));
    assert!(kinds.contains(&StepKind::Close));
    assert!(kinds.contains(&StepKind::Correct));
    for absent in [
        StepKind::IssueDecision,
        StepKind::EndHelp,
        StepKind::CompletePgbReview,
        StepKind::Retract,
    ] {
        assert!(!kinds.contains(&absent), "{absent:?}");
    }
    assert!(allowed_steps(&Trajectory::default()).is_empty());
}

#[test]
fn choices_follow_the_history() {
    let today = day(TODAY);
    let mut state = Trajectory::default();
    for command in [
        signal(1),
        request(2, HelpForm::FosterCare),
        request(3, HelpForm::Mediation),
        request(4, HelpForm::FosterCare),
        start(5, "hulp-1", HelpForm::WijkteamSupport),
        start(6, "ep-b", HelpForm::Mediation),
        end(7, "hulp-1"),
    ] {
        state = record(state, &command, today).unwrap();
    }
    let allowed = allowed_steps(&state);
    let of = |kind| allowed.iter().find(|s| s.kind == kind).unwrap();
    assert_eq!(
        of(StepKind::IssueDecision).forms,
        [HelpForm::FosterCare, HelpForm::Mediation]
    );
    assert_eq!(
        of(StepKind::EndHelp).episodes,
        [EpisodeId::parse("ep-b").unwrap()]
    );
    assert_eq!(
        of(StepKind::StartHelp).suggested_episode,
        Some(EpisodeId::parse("hulp-3").unwrap())
    );
    assert!(!allowed.iter().any(|s| s.kind == StepKind::Close));
    // Retraction offers every step but the signal; correction the signal too.
    assert_eq!(of(StepKind::Retract).events.len(), 6);
    assert_eq!(of(StepKind::Correct).events.len(), 7);

    let closed = [end(8, "ep-b"), close(9)]
        .iter()
        .fold(state, |s, c| record(s, c, today).unwrap());
    let kinds: Vec<StepKind> = allowed_steps(&closed).iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [StepKind::Correct, StepKind::Retract]);
}
