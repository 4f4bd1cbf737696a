//! Table-driven tests of the aggregate. Histories are lists of commands; the helpers below turn a
//! case into three lines: `check(&[history…], command, Ok(()) | Err("reason"))`.
//!
//! Dates are day numbers after 2024-01-01 (`TODAY` is day 100); the fact at version `v` has the
//! event id `id(v)`, so amendments can name earlier facts by version.

mod codec;
mod figures;
mod invariants;
mod next;
mod props;
mod validation;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::*;

pub(crate) const TODAY: i64 = 100;

pub(crate) fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(n)
}

pub(crate) fn id(version: u64) -> EventId {
    EventId::from_uuid(Uuid::from_u128(u128::from(version)))
}

pub(crate) fn signal_payload() -> SignalReceived {
    SignalReceived {
        subject_key: SubjectKey::parse("sk-test").unwrap(),
        team: TeamCode::parse("noord").unwrap(),
        source: Source::School,
        concerns: vec![Concern::Parenting, Concern::SchoolAttendance],
        urgency: Urgency::Regular,
        birth_year: Some(2014),
    }
}

pub(crate) fn signal(on: i64) -> Command {
    Command::OpenFromSignal {
        occurred_on: day(on),
        signal: signal_payload(),
    }
}

pub(crate) fn assign(on: i64, consultant: &str) -> Command {
    Command::AssignConsultant {
        occurred_on: day(on),
        consultant: UserId::parse(consultant).unwrap(),
    }
}

pub(crate) fn transfer(on: i64, team: &str) -> Command {
    Command::TransferTeam {
        occurred_on: day(on),
        team: TeamCode::parse(team).unwrap(),
    }
}

pub(crate) fn assess(on: i64) -> Command {
    Command::CompleteAssessment {
        occurred_on: day(on),
        conclusion: AssessmentConclusion::LightHelp,
    }
}

pub(crate) fn request(on: i64, form: HelpForm) -> Command {
    Command::RequestHelp {
        occurred_on: day(on),
        form,
    }
}

pub(crate) fn decision_payload(
    on: i64,
    form: HelpForm,
    funding: DecisionFunding,
) -> DecisionIssued {
    DecisionIssued {
        granted: true,
        form,
        product_category: Some(ProductCategory::parse("40").unwrap()),
        provider: None,
        valid_from: day(on),
        valid_until: None,
        funding,
        foster: None,
    }
}

pub(crate) fn decision(on: i64, form: HelpForm) -> Command {
    Command::IssueDecision {
        occurred_on: day(on),
        decision: decision_payload(on, form, DecisionFunding::InKind),
    }
}

pub(crate) fn pgb_decision(on: i64, form: HelpForm) -> Command {
    Command::IssueDecision {
        occurred_on: day(on),
        decision: decision_payload(on, form, DecisionFunding::Pgb),
    }
}

pub(crate) fn foster() -> FosterPlacement {
    FosterPlacement {
        kind: FosterKind::Network,
        mode: FosterMode::FullTime,
    }
}

pub(crate) fn help_payload(episode: &str, form: HelpForm) -> HelpStarted {
    HelpStarted {
        episode_id: EpisodeId::parse(episode).unwrap(),
        form,
        provider: None,
        foster: (form == HelpForm::FosterCare).then(foster),
    }
}

pub(crate) fn start(on: i64, episode: &str, form: HelpForm) -> Command {
    Command::StartHelp {
        occurred_on: day(on),
        help: help_payload(episode, form),
    }
}

pub(crate) fn end(on: i64, episode: &str) -> Command {
    Command::EndHelp {
        occurred_on: day(on),
        episode_id: EpisodeId::parse(episode).unwrap(),
        result: HelpResult::GoalsMet,
    }
}

pub(crate) fn pgb_payload(amount_cents: i64) -> PgbGranted {
    PgbGranted {
        amount_cents,
        period: PgbPeriod::Month,
        product_category: ProductCategory::parse("45").unwrap(),
    }
}

pub(crate) fn pgb(on: i64) -> Command {
    Command::GrantPgb {
        occurred_on: day(on),
        pgb: pgb_payload(120_000),
    }
}

pub(crate) fn schedule(on: i64, due: i64) -> Command {
    Command::SchedulePgbReview {
        occurred_on: day(on),
        due_on: day(due),
    }
}

pub(crate) fn review(on: i64) -> Command {
    Command::CompletePgbReview {
        occurred_on: day(on),
        review: PgbReviewCompleted {
            decision: PgbReviewDecision::Continue,
            quality_concern: false,
            irregularity_suspected: false,
        },
    }
}

pub(crate) fn close(on: i64) -> Command {
    Command::Close {
        occurred_on: day(on),
        reason: CloseReason::GoalsMet,
    }
}

pub(crate) fn correct(on: i64, version: u64, date: Option<i64>, payload: Option<Step>) -> Command {
    Command::CorrectEvent {
        occurred_on: day(on),
        correction: Correction {
            corrects: id(version),
            occurred_on: date.map(day),
            payload,
            reason: Reason::parse("recorded wrongly").unwrap(),
        },
    }
}

pub(crate) fn redate(on: i64, version: u64, date: i64) -> Command {
    correct(on, version, Some(date), None)
}

pub(crate) fn retract(on: i64, version: u64) -> Command {
    Command::RetractEvent {
        occurred_on: day(on),
        retraction: Retraction {
            retracts: id(version),
            reason: Reason::parse("wrong file").unwrap(),
        },
    }
}

/// Records `command` on `state` as the application layer would: decide under the next
/// version's id, keep the trajectory the decision gives.
pub(crate) fn record(
    state: Trajectory,
    command: &Command,
    today: NaiveDate,
) -> Result<Trajectory, DomainError> {
    let decision = decide(
        &state,
        command,
        id(state.version() + 1),
        today,
        &DateRule::default(),
    )?;
    assert_eq!(
        decision.trajectory,
        evolve(state, &decision.fact),
        "the decided state is the evolved one"
    );
    Ok(decision.trajectory)
}

/// Replays a history that must be accepted in full.
pub(crate) fn run(history: &[Command]) -> Trajectory {
    history
        .iter()
        .enumerate()
        .fold(Trajectory::default(), |state, (i, command)| {
            record(state, command, day(TODAY))
                .unwrap_or_else(|e| panic!("history command {i} rejected: {e}\n{command:?}"))
        })
}

/// `reason` of an error, with the wrapped rule for amendments: `correction_breaks_rule/before_signal`.
pub(crate) fn describe(error: &DomainError) -> String {
    match error {
        DomainError::CorrectionBreaksRule { source, .. }
        | DomainError::RetractionBreaksRule { source, .. } => {
            format!("{}/{}", error.reason(), describe(source))
        }
        _ => error.reason().to_owned(),
    }
}

/// The table-test helper: after `history`, `command` is accepted, or refused for `expected`.
#[track_caller]
pub(crate) fn check(history: &[Command], command: Command, expected: Result<(), &str>) {
    let state = run(history);
    match (record(state, &command, day(TODAY)), expected) {
        (Ok(after), Ok(())) => assert_eq!(after.violation(), None),
        (Err(e), Err(reason)) => {
            assert_eq!(describe(&e), reason, "message: {e}");
            assert!(!e.to_string().is_empty());
        }
        (Ok(_), Err(reason)) => panic!("accepted, expected {reason}: {command:?}"),
        (Err(e), Ok(())) => panic!("refused ({}): {e}", describe(&e)),
    }
}
