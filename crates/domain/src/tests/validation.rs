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

/// The [`DateRule`] over every command that carries a date: the step's own date (a signal, any
/// later step, a correction's replacement date), a review's due date, a decision's validity.
/// `day(0)` is 2024-01-01 and today `day(100)`; the signal's birth year is 2014.
#[test]
fn implausible_dates() {
    let on = |date: &str| date.parse::<NaiveDate>().unwrap();
    let open_on = |date: &str, birth_year: Option<i32>| Command::OpenFromSignal {
        occurred_on: on(date),
        signal: SignalReceived {
            birth_year,
            ..signal_payload()
        },
    };
    let implausible = Err("implausible_date");
    check(&[], open_on("2015-01-01", Some(2014)), Ok(()));
    check(&[], open_on("2014-12-31", None), implausible);
    check(&[], open_on("1900-01-01", None), implausible);
    check(&[], open_on("0000-01-01", None), implausible);
    // Before the youth's birth year (a signal before birth is not youth care).
    check(&[], open_on("2023-12-31", Some(2024)), implausible);
    check(&[], open_on("2024-01-01", Some(2024)), Ok(()));

    // A correction may not move a step before the Jeugdwet.
    check(&[signal(0)], redate(5, 1, -3650), implausible);
    check(&[signal(0)], redate(5, 1, -10), Ok(()));

    // A decision takes effect at most three years after it is issued and runs at most 18.
    let decide = |valid_from: &str, valid_until: Option<&str>| Command::IssueDecision {
        occurred_on: day(2),
        decision: DecisionIssued {
            valid_from: on(valid_from),
            valid_until: valid_until.map(on),
            ..decision_payload(2, ParentingSupport, DecisionFunding::InKind)
        },
    };
    let requested = [signal(0), request(1, ParentingSupport)];
    check(&requested, decide("2024-01-03", Some("2025-01-02")), Ok(()));
    check(&requested, decide("1900-01-01", None), implausible);
    check(&requested, decide("2027-01-03", None), Ok(()));
    check(&requested, decide("2027-01-04", None), implausible);
    check(&requested, decide("2024-01-03", Some("2042-01-03")), Ok(()));
    check(
        &requested,
        decide("2024-01-03", Some("9999-12-31")),
        implausible,
    );

    // A PGB review falls due at most three years after it is scheduled.
    let granted = [
        signal(0),
        request(1, SpecialistAmbulant),
        pgb_decision(2, SpecialistAmbulant),
        pgb(3),
    ];
    let due = |date: &str| Command::SchedulePgbReview {
        occurred_on: day(4),
        due_on: on(date),
    };
    check(&granted, due("2027-01-05"), Ok(()));
    check(&granted, due("2027-01-06"), implausible);
    check(&granted, due("9999-12-31"), implausible);
}

/// `jeugdpad import --historic` takes a file from before the Jeugdwet; the other bounds hold.
#[test]
fn a_historic_import_may_predate_the_jeugdwet() {
    let command = Command::OpenFromSignal {
        occurred_on: "2010-03-01".parse().unwrap(),
        signal: SignalReceived {
            birth_year: Some(2005),
            ..signal_payload()
        },
    };
    let today = day(TODAY);
    let state = Trajectory::default();
    assert!(decide(&state, &command, id(1), today, &DateRule::historic()).is_ok());
    let refused = decide(&state, &command, id(1), today, &DateRule::default()).unwrap_err();
    assert_eq!(refused.reason(), "implausible_date");
    assert!(
        refused.message_nl().contains("01-01-2015"),
        "{}",
        refused.message_nl()
    );
}
