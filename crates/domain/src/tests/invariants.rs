//! One table per invariant of SPEC §3 (and the validation around it): accepted and refused cases.

use super::*;
use HelpForm::*;

#[test]
fn opening() {
    check(&[], signal(0), Ok(()));
    check(&[], assign(0, "c1"), Err("not_opened"));
    check(&[], close(0), Err("not_opened"));
    check(&[signal(0)], signal(1), Err("already_opened"));
    check(&[signal(0), close(1)], signal(2), Err("already_opened"));
    // A retraction that would leave the stream without its signal.
    check(
        &[signal(0)],
        retract(1, 1),
        Err("retraction_breaks_rule/not_opened"),
    );
    check(
        &[signal(0), assess(2)],
        retract(3, 1),
        Err("retraction_breaks_rule/not_opened"),
    );
}

#[test]
fn closed_trajectories_take_only_amendments() {
    check(&[signal(0), close(5)], assess(6), Err("closed"));
    // Recording order decides: a step dated before the closure is refused too.
    check(&[signal(0), close(5)], assess(3), Err("closed"));
    check(&[signal(0), assess(2), close(5)], redate(6, 2, 3), Ok(()));
    check(&[signal(0), assess(2), close(5)], retract(6, 2), Ok(()));
    // A closure back-dated before an existing step would put that step after it.
    check(&[signal(0), assess(4)], close(3), Err("after_closure"));
    check(
        &[signal(0), assess(2), close(5)],
        redate(6, 3, 1),
        Err("correction_breaks_rule/after_closure"),
    );
    check(
        &[signal(0), assess(2), close(5)],
        redate(6, 2, 7),
        Err("correction_breaks_rule/after_closure"),
    );
    // Retracting the closure reopens the trajectory.
    check(&[signal(0), close(5), retract(6, 2)], assess(7), Ok(()));
}

#[test]
fn dates() {
    check(
        &[],
        Command::OpenFromSignal {
            occurred_on: day(TODAY + 1),
            signal: signal_payload(),
        },
        Err("in_the_future"),
    );
    check(&[signal(0)], assess(TODAY), Ok(()));
    check(&[signal(0)], assess(TODAY + 1), Err("in_the_future"));
    check(&[signal(10)], assess(10), Ok(()));
    check(&[signal(10)], assess(9), Err("before_signal"));
    // Back-dating is allowed between the signal and today.
    check(&[signal(10), assess(50)], request(20, Mediation), Ok(()));
    // Corrections: the replacement date obeys the same bounds, and so does the moved signal.
    check(
        &[signal(10), assess(50)],
        redate(60, 2, TODAY + 1),
        Err("in_the_future"),
    );
    check(
        &[signal(10), assess(50)],
        redate(60, 2, 9),
        Err("correction_breaks_rule/before_signal"),
    );
    check(&[signal(10), assess(50)], redate(60, 1, 40), Ok(()));
    check(
        &[signal(10), assess(50)],
        redate(60, 1, 51),
        Err("correction_breaks_rule/before_signal"),
    );
    check(&[signal(10)], retract(9, 1), Err("before_signal"));
}

#[test]
fn episodes() {
    let started = [signal(0), start(5, "E1", Mediation)];
    check(&started, end(8, "E1"), Ok(()));
    check(&started, end(5, "E1"), Ok(()));
    check(&started, end(8, "E2"), Err("episode_not_started"));
    check(&started, end(4, "E1"), Err("episode_ends_before_start"));
    check(
        &started,
        start(6, "E1", ParentingSupport),
        Err("episode_id_in_use"),
    );
    check(
        &[signal(0), start(5, "E1", Mediation), end(8, "E1")],
        end(9, "E1"),
        Err("episode_already_ended"),
    );
    check(
        &[signal(0), start(5, "E1", Mediation), end(8, "E1")],
        start(9, "E1", Mediation),
        Err("episode_id_in_use"),
    );
    // Amendments that would make an end precede its start, or orphan it.
    let ended = [signal(0), start(5, "E1", Mediation), end(8, "E1")];
    check(
        &ended,
        redate(9, 2, 9),
        Err("correction_breaks_rule/episode_ends_before_start"),
    );
    check(
        &ended,
        redate(9, 3, 4),
        Err("correction_breaks_rule/episode_ends_before_start"),
    );
    check(
        &ended,
        retract(9, 2),
        Err("retraction_breaks_rule/episode_not_started"),
    );
    check(&ended, retract(9, 3), Ok(()));
    let renamed = Step::HelpStarted(help_payload("E9", Mediation));
    check(
        &ended,
        correct(9, 2, None, Some(renamed)),
        Err("correction_breaks_rule/episode_not_started"),
    );
}

#[test]
fn closing_needs_all_help_ended() {
    check(
        &[signal(0), start(5, "E1", Mediation)],
        close(9),
        Err("help_still_open"),
    );
    check(
        &[signal(0), start(5, "E1", Mediation), end(8, "E1")],
        close(9),
        Ok(()),
    );
    check(
        &[signal(0), start(5, "E1", Mediation), end(8, "E1")],
        close(7),
        Err("help_still_open"),
    );
    let closed = [signal(0), start(5, "E1", Mediation), end(8, "E1"), close(9)];
    check(
        &closed,
        retract(10, 3),
        Err("retraction_breaks_rule/help_still_open"),
    );
    check(
        &closed,
        redate(10, 3, 10),
        Err("correction_breaks_rule/help_still_open"),
    );
}

#[test]
fn decisions_answer_requests() {
    check(&[signal(0)], decision(5, Mediation), Err("no_open_request"));
    check(
        &[signal(0), request(2, Mediation)],
        decision(5, Mediation),
        Ok(()),
    );
    check(
        &[signal(0), request(2, Mediation)],
        decision(5, ParentingSupport),
        Err("no_open_request"),
    );
    check(
        &[signal(0), request(2, Mediation), decision(5, Mediation)],
        decision(6, Mediation),
        Err("no_open_request"),
    );
    check(
        &[signal(0), request(6, Mediation)],
        decision(5, Mediation),
        Err("no_open_request"),
    );
    check(
        &[
            signal(0),
            request(2, Mediation),
            request(3, Mediation),
            decision(5, Mediation),
        ],
        decision(6, Mediation),
        Ok(()),
    );
    // The earliest open request is answered first.
    let state = run(&[
        signal(0),
        request(4, Mediation),
        request(2, Mediation),
        decision(5, Mediation),
    ]);
    let answered: Vec<_> = state
        .requests()
        .iter()
        .map(|r| (r.requested_on, r.answer.is_some()))
        .collect();
    assert_eq!(answered, [(day(2), true), (day(4), false)]);
    // A refused decision answers the request too.
    let refused = DecisionIssued {
        granted: false,
        ..decision_payload(5, Mediation, DecisionFunding::InKind)
    };
    check(
        &[signal(0), request(2, Mediation)],
        Command::IssueDecision {
            occurred_on: day(5),
            decision: refused,
        },
        Ok(()),
    );
    // Amendments that orphan a decision.
    let decided = [signal(0), request(2, Mediation), decision(5, Mediation)];
    check(
        &decided,
        retract(6, 2),
        Err("retraction_breaks_rule/no_open_request"),
    );
    check(
        &decided,
        redate(6, 2, 6),
        Err("correction_breaks_rule/no_open_request"),
    );
    let other_form = Step::HelpRequested(HelpRequested { form: OwnStrength });
    check(
        &decided,
        correct(6, 2, None, Some(other_form)),
        Err("correction_breaks_rule/no_open_request"),
    );
    check(&decided, retract(6, 3), Ok(()));
    // A back-dated decision takes the request a later decision was answering.
    check(&decided, decision(4, Mediation), Err("no_open_request"));
}

#[test]
fn pgb_and_reviews() {
    // SPEC §3 does not tie a PGB grant to a decision record (migrated files often lack one),
    // so the PGB steps stand on their own.
    check(&[signal(0)], pgb(3), Ok(()));
    check(&[signal(0)], schedule(3, 30), Ok(()));
    let granted = [
        signal(0),
        request(1, SpecialistAmbulant),
        pgb_decision(2, SpecialistAmbulant),
    ];
    check(&granted, pgb(3), Ok(()));
    let zero = Command::GrantPgb {
        occurred_on: day(3),
        pgb: pgb_payload(0),
    };
    check(&granted, zero, Err("amount_not_positive"));
    let budget = [
        signal(0),
        request(1, SpecialistAmbulant),
        pgb_decision(2, SpecialistAmbulant),
        pgb(3),
    ];
    check(&budget, schedule(4, 30), Ok(()));
    check(&budget, schedule(4, 4), Ok(()));
    check(&budget, schedule(4, 3), Err("review_due_before_scheduled"));
    check(&budget, schedule(4, TODAY + 200), Ok(()));
    check(&budget, review(5), Err("no_open_review"));
    let scheduled = [
        signal(0),
        request(1, SpecialistAmbulant),
        pgb_decision(2, SpecialistAmbulant),
        pgb(3),
        schedule(4, 30),
    ];
    check(&scheduled, review(31), Ok(()));
    check(&scheduled, review(3), Err("no_open_review"));
    check(
        &[&scheduled[..], &[review(31)]].concat(),
        review(32),
        Err("no_open_review"),
    );
    // Retracting the review's schedule leaves its result with nothing to answer.
    let completed = [&scheduled[..], &[review(31)]].concat();
    check(
        &completed,
        retract(9, 5),
        Err("retraction_breaks_rule/no_open_review"),
    );
    check(
        &completed,
        redate(9, 6, 3),
        Err("correction_breaks_rule/no_open_review"),
    );
    // Reviews are answered earliest first.
    let state = run(&[&scheduled[..], &[schedule(5, 20), review(25)]].concat());
    let open: Vec<_> = state.open_pgb_reviews().map(|r| r.due_on).collect();
    assert_eq!(open, [day(20)]);
}

#[test]
fn amendments() {
    let history = [signal(0), assess(2), redate(3, 2, 1), retract(4, 2)];
    check(&history[..2], redate(3, 2, 1), Ok(()));
    check(&history[..2], retract(3, 2), Ok(()));
    check(&history[..2], retract(3, 7), Err("unknown_event"));
    check(&history[..3], redate(4, 3, 1), Err("target_is_amendment"));
    check(&history[..3], retract(4, 3), Err("target_is_amendment"));
    check(&history, retract(5, 2), Err("target_retracted"));
    check(&history, redate(5, 2, 1), Err("target_retracted"));
    check(
        &history[..2],
        correct(3, 2, None, None),
        Err("empty_correction"),
    );
    let wrong_type = Step::HelpRequested(HelpRequested { form: Mediation });
    check(
        &history[..2],
        correct(3, 2, None, Some(wrong_type)),
        Err("correction_changes_type"),
    );
    let new_conclusion = Step::AssessmentCompleted(AssessmentCompleted {
        conclusion: AssessmentConclusion::OutOfHome,
    });
    check(
        &history[..2],
        correct(3, 2, Some(1), Some(new_conclusion)),
        Ok(()),
    );
    // Replacement payloads are validated like new ones.
    let no_concerns = Step::SignalReceived(SignalReceived {
        concerns: vec![],
        ..signal_payload()
    });
    check(
        &history[..2],
        correct(3, 1, None, Some(no_concerns)),
        Err("no_concerns"),
    );
    let foster_without_details = Step::HelpStarted(HelpStarted {
        foster: None,
        ..help_payload("E1", FosterCare)
    });
    check(
        &[signal(0), start(1, "E1", FosterCare)],
        correct(3, 2, None, Some(foster_without_details)),
        Err("foster_details_missing"),
    );
}

#[test]
fn state_accessors() {
    let state = run(&[
        signal(0),
        assign(1, "c1"),
        assess(5),
        transfer(6, "zuid"),
        request(7, SpecialistAmbulant),
        decision(9, SpecialistAmbulant),
        start(10, "E1", SpecialistAmbulant),
        start(11, "E2", Mediation),
        end(20, "E1"),
    ]);
    assert_eq!(state.phase(), Some(Phase::InHelp));
    assert_eq!(state.team().map(TeamCode::as_str), Some("zuid"));
    assert_eq!(state.consultant().map(UserId::as_str), Some("c1"));
    assert_eq!(state.subject_key().map(SubjectKey::as_str), Some("sk-test"));
    assert_eq!(state.signal_date(), Some(day(0)));
    assert_eq!(state.current_level(), Level::Light);
    assert_eq!(state.highest_level(), Level::SpecialistWithoutStay);
    assert_eq!(state.version(), 9);
    assert_eq!(state.open_requests().count(), 0);
    let state = run(&[signal(0), start(2, "E1", Mediation), end(3, "E1"), close(4)]);
    assert_eq!(state.phase(), Some(Phase::Closed));
    assert_eq!(state.closure().map(|c| c.closed_on), Some(day(4)));
    assert_eq!(state.current_level(), Level::None);
    assert_eq!(Trajectory::default().phase(), None);
    assert_eq!(run(&[signal(0)]).phase(), Some(Phase::Signalled));
    assert_eq!(run(&[signal(0), assess(1)]).phase(), Some(Phase::Assessed));
    assert_eq!(
        run(&[signal(0), start(1, "E1", Mediation), end(2, "E1")]).phase(),
        Some(Phase::HelpEnded)
    );
}

#[test]
fn effective_history_applies_amendments_in_order() {
    let state = run(&[
        signal(0),
        assess(5),
        request(6, Mediation),
        redate(7, 2, 8),
        correct(
            9,
            2,
            None,
            Some(Step::AssessmentCompleted(AssessmentCompleted {
                conclusion: AssessmentConclusion::NoHelpNeeded,
            })),
        ),
        retract(10, 3),
    ]);
    let effective: Vec<_> = state
        .effective_history()
        .iter()
        .map(|f| (f.version, f.occurred_on, f.step.event_type()))
        .collect();
    assert_eq!(
        effective,
        [
            (1, day(0), "signal_received"),
            (2, day(8), "assessment_completed")
        ]
    );
    assert_eq!(state.effective_history()[1].corrected_by, [id(4), id(5)]);
    assert_eq!(
        state.assessments()[0].conclusion,
        AssessmentConclusion::NoHelpNeeded
    );
    assert_eq!(state.facts().len(), 6);
    assert_eq!(state.open_requests().count(), 0);
    // Same-day facts keep recording order; a corrected fact keeps its own version.
    let state = run(&[signal(0), assess(5), request(3, Mediation), redate(6, 3, 5)]);
    let order: Vec<_> = state
        .effective_history()
        .iter()
        .map(|f| f.version)
        .collect();
    assert_eq!(order, [1, 2, 3]);
}
