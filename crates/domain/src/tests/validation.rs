//! Validation of the command's own values (`VALIDATION`) and the error codes.

use super::*;
use HelpForm::*;

#[test]
fn payload_validation() {
    let open = |signal: SignalReceived| Command::OpenFromSignal {
        occurred_on: day(0),
        signal,
    };
    check(
        &[],
        open(SignalReceived {
            concerns: vec![],
            ..signal_payload()
        }),
        Err("no_concerns"),
    );
    let twice = vec![Concern::Housing, Concern::Financial, Concern::Housing];
    check(
        &[],
        open(SignalReceived {
            concerns: twice,
            ..signal_payload()
        }),
        Err("duplicate_concern"),
    );
    check(
        &[],
        open(SignalReceived {
            birth_year: None,
            ..signal_payload()
        }),
        Ok(()),
    );
    check(
        &[],
        open(SignalReceived {
            birth_year: Some(2024),
            ..signal_payload()
        }),
        Ok(()),
    );
    check(
        &[],
        open(SignalReceived {
            birth_year: Some(2025),
            ..signal_payload()
        }),
        Err("implausible_birth_year"),
    );
    check(
        &[],
        open(SignalReceived {
            birth_year: Some(1994),
            ..signal_payload()
        }),
        Ok(()),
    );
    check(
        &[],
        open(SignalReceived {
            birth_year: Some(1993),
            ..signal_payload()
        }),
        Err("implausible_birth_year"),
    );

    let help = |help: HelpStarted| Command::StartHelp {
        occurred_on: day(1),
        help,
    };
    check(&[signal(0)], help(help_payload("E1", FosterCare)), Ok(()));
    check(
        &[signal(0)],
        help(HelpStarted {
            foster: None,
            ..help_payload("E1", FosterCare)
        }),
        Err("foster_details_missing"),
    );
    check(
        &[signal(0)],
        help(HelpStarted {
            foster: Some(foster()),
            ..help_payload("E1", Residential)
        }),
        Err("foster_details_not_allowed"),
    );

    let requested = [signal(0), request(1, FosterCare)];
    let decide_with = |decision: DecisionIssued| Command::IssueDecision {
        occurred_on: day(2),
        decision,
    };
    let base = decision_payload(2, FosterCare, DecisionFunding::InKind);
    check(&requested, decide_with(base.clone()), Ok(()));
    check(
        &requested,
        decide_with(DecisionIssued {
            foster: Some(foster()),
            ..base.clone()
        }),
        Ok(()),
    );
    check(
        &requested,
        decide_with(DecisionIssued {
            valid_until: Some(day(2)),
            ..base.clone()
        }),
        Ok(()),
    );
    check(
        &requested,
        decide_with(DecisionIssued {
            valid_until: Some(day(1)),
            ..base.clone()
        }),
        Err("validity_ends_before_start"),
    );
    let requested_light = [signal(0), request(1, Mediation)];
    let light = decision_payload(2, Mediation, DecisionFunding::InKind);
    check(
        &requested_light,
        decide_with(DecisionIssued {
            foster: Some(foster()),
            ..light
        }),
        Err("foster_details_not_allowed"),
    );

    check(
        &[signal(0), assign(1, "c1")],
        assign(2, "c1"),
        Err("same_consultant"),
    );
    check(&[signal(0), assign(1, "c1")], assign(2, "c2"), Ok(()));
    check(&[signal(0)], transfer(1, "noord"), Err("same_team"));
    check(&[signal(0)], transfer(1, "zuid"), Ok(()));
    check(
        &[signal(0), transfer(1, "zuid")],
        transfer(2, "noord"),
        Ok(()),
    );
    // Back-dating a transfer to the same team before an existing one makes that one redundant.
    check(
        &[signal(0), transfer(5, "zuid")],
        transfer(3, "zuid"),
        Err("same_team"),
    );
}

#[test]
fn error_codes_separate_input_from_state() {
    let cases = [
        (DomainError::NoConcerns, RuleKind::Validation),
        (DomainError::EmptyCorrection, RuleKind::Validation),
        (
            DomainError::InTheFuture {
                date: day(2),
                today: day(1),
            },
            RuleKind::Validation,
        ),
        (
            DomainError::InvalidValue(ValueError::LooksLikeBsn),
            RuleKind::Validation,
        ),
        (DomainError::NotOpened, RuleKind::InvalidTransition),
        (
            DomainError::EpisodeNotStarted(EpisodeId::parse("E-7").unwrap()),
            RuleKind::InvalidTransition,
        ),
        (
            DomainError::CorrectionBreaksRule {
                event_id: id(1),
                source: Box::new(DomainError::NotOpened),
            },
            RuleKind::InvalidTransition,
        ),
    ];
    for (error, code) in cases {
        assert_eq!(error.kind(), code, "{error}");
    }
    assert_eq!(
        DomainError::EpisodeNotStarted(EpisodeId::parse("E-7").unwrap()).to_string(),
        "help episode E-7 was never started, so it cannot end"
    );
    let wrapped = DomainError::CorrectionBreaksRule {
        event_id: id(3),
        source: Box::new(DomainError::HelpStillOpen(vec![
            EpisodeId::parse("E1").unwrap(),
            EpisodeId::parse("E2").unwrap(),
        ])),
    };
    assert_eq!(
        wrapped.to_string(),
        "correcting event 00000000-0000-0000-0000-000000000003 would break a rule: \
         the trajectory cannot close while help is still open (episode E1, E2)"
    );
}
