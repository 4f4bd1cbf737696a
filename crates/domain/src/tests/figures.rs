//! Escalation and step-down on hand-built histories (SPEC §4).

use super::*;
use HelpForm::*;

/// `(escalations, step-downs, highest level)` after `history`, and the per-episode flags.
#[track_caller]
fn check_levels(history: &[Command], escalations: usize, step_downs: usize, highest: u8) {
    let state = run(history);
    assert_eq!(
        (
            state.escalation_count(),
            state.step_down_count(),
            state.highest_level().number()
        ),
        (escalations, step_downs, highest),
        "episodes: {:#?}",
        state.episodes()
    );
}

#[test]
fn first_help_is_never_an_escalation() {
    check_levels(&[signal(0)], 0, 0, 0);
    check_levels(&[signal(0), start(1, "E1", Residential)], 0, 0, 3);
}

#[test]
fn escalation_needs_a_level_above_every_earlier_start() {
    check_levels(
        &[
            signal(0),
            start(1, "E1", Mediation),
            start(2, "E2", YouthMentalHealth),
        ],
        1,
        0,
        2,
    );
    check_levels(
        &[
            signal(0),
            start(1, "E1", Mediation),
            start(2, "E2", OwnStrength),
        ],
        0,
        0,
        1,
    );
    check_levels(
        &[
            signal(0),
            start(1, "E1", Mediation),
            start(2, "E2", YouthMentalHealth),
            start(3, "E3", FosterCare),
        ],
        2,
        0,
        3,
    );
    // Back to level 2 after level 3 was started is not an escalation, and not a step-down while
    // the level-3 episode has not ended.
    check_levels(
        &[
            signal(0),
            start(1, "E1", Mediation),
            start(2, "E2", FosterCare),
            start(3, "E3", YouthMentalHealth),
        ],
        1,
        0,
        3,
    );
}

#[test]
fn step_down_after_an_ended_higher_episode() {
    let foster_then_aftercare = [
        signal(0),
        start(1, "E1", FosterCare),
        end(10, "E1"),
        start(10, "E2", BuurtgezinAftercare),
    ];
    check_levels(&foster_then_aftercare, 0, 1, 3);
    // Starting lower help while the higher help still runs is no step-down.
    check_levels(
        &[
            signal(0),
            start(1, "E1", FosterCare),
            start(5, "E2", BuurtgezinAftercare),
        ],
        0,
        0,
        3,
    );
    // Ended after the lower start: no step-down.
    check_levels(
        &[
            signal(0),
            start(1, "E1", FosterCare),
            start(5, "E2", Mediation),
            end(6, "E1"),
        ],
        0,
        0,
        3,
    );
    // Same level again is neither.
    check_levels(
        &[
            signal(0),
            start(1, "E1", Residential),
            end(4, "E1"),
            start(5, "E2", FosterCare),
        ],
        0,
        0,
        3,
    );
}

#[test]
fn retracted_escalation_no_longer_counts() {
    let history = [
        signal(0),
        start(1, "E1", Mediation),
        start(2, "E2", Residential),
    ];
    check_levels(&history, 1, 0, 3);
    check_levels(&[&history[..], &[retract(3, 3)]].concat(), 0, 0, 1);
}

#[test]
fn corrected_dates_and_payloads_move_the_figures() {
    // Moving the specialist start before the light one: the light help is no escalation, and the
    // specialist help is now the first help.
    let history = [
        signal(0),
        start(5, "E1", Mediation),
        start(8, "E2", YouthMentalHealth),
    ];
    check_levels(&history, 1, 0, 2);
    check_levels(&[&history[..], &[redate(9, 3, 2)]].concat(), 0, 0, 2);
    // Correcting the form of the second start to a light form removes the escalation.
    let light = Step::HelpStarted(help_payload("E2", ParentingSupport));
    check_levels(
        &[&history[..], &[correct(9, 3, None, Some(light))]].concat(),
        0,
        0,
        1,
    );
    // Moving the end of foster care after the aftercare start removes the step-down.
    let stepped = [
        signal(0),
        start(1, "E1", FosterCare),
        end(10, "E1"),
        start(12, "E2", BuurtgezinAftercare),
    ];
    check_levels(&stepped, 0, 1, 3);
    check_levels(&[&stepped[..], &[redate(13, 3, 13)]].concat(), 0, 0, 3);
}

#[test]
fn escalation_flags_sit_on_the_episodes() {
    let state = run(&[
        signal(0),
        start(1, "E1", Mediation),
        start(2, "E2", YouthMentalHealth),
        end(3, "E2"),
    ]);
    let flags: Vec<_> = state
        .episodes()
        .iter()
        .map(|e| (e.id.as_str(), e.escalation, e.step_down))
        .collect();
    assert_eq!(flags, [("E1", false, false), ("E2", true, false)]);
}
