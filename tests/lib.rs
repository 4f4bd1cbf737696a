//! Shared helpers for the integration tests and examples: a compact way to write a case as a
//! story of commands, with synthetic data only.

use chrono::NaiveDate;
use jeugdpad_domain::{
    AssessmentConclusion, CloseReason, Command, Concern, DecisionFunding, DecisionIssued,
    EpisodeId, HelpForm, HelpResult, HelpStarted, SignalReceived, Source, SubjectKey, TeamCode,
    Urgency, UserId,
};

/// A date in the synthetic calendar: day 0 is 2026-01-05.
pub fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 5)
        .and_then(|start| start.checked_add_signed(chrono::Duration::days(n)))
        .expect("test dates stay within chrono's range")
}

/// "Today" for the tests: well after every step they record.
pub fn today() -> NaiveDate {
    day(400)
}

pub fn open(on: i64, subject: &str, team: &str) -> Command {
    Command::OpenFromSignal {
        occurred_on: day(on),
        signal: SignalReceived {
            subject_key: SubjectKey::parse(subject).expect("a synthetic subject key"),
            team: TeamCode::parse(team).expect("a team code"),
            source: Source::School,
            concerns: vec![Concern::Parenting, Concern::SchoolAttendance],
            urgency: Urgency::Regular,
            birth_year: Some(2014),
        },
    }
}

pub fn assign(on: i64, consultant: &str) -> Command {
    Command::AssignConsultant {
        occurred_on: day(on),
        consultant: UserId::parse(consultant).expect("a user id"),
    }
}

pub fn assess(on: i64, conclusion: AssessmentConclusion) -> Command {
    Command::CompleteAssessment {
        occurred_on: day(on),
        conclusion,
    }
}

pub fn request(on: i64, form: HelpForm) -> Command {
    Command::RequestHelp {
        occurred_on: day(on),
        form,
    }
}

pub fn grant(on: i64, form: HelpForm) -> Command {
    Command::IssueDecision {
        occurred_on: day(on),
        decision: DecisionIssued {
            granted: true,
            form,
            product_category: None,
            provider: None,
            valid_from: day(on),
            valid_until: None,
            funding: DecisionFunding::InKind,
            foster: None,
        },
    }
}

pub fn start(on: i64, episode: &str, form: HelpForm) -> Command {
    Command::StartHelp {
        occurred_on: day(on),
        help: HelpStarted {
            episode_id: EpisodeId::parse(episode).expect("an episode id"),
            form,
            provider: None,
            foster: None,
        },
    }
}

pub fn end(on: i64, episode: &str, result: HelpResult) -> Command {
    Command::EndHelp {
        occurred_on: day(on),
        episode_id: EpisodeId::parse(episode).expect("an episode id"),
        result,
    }
}

pub fn close(on: i64, reason: CloseReason) -> Command {
    Command::Close {
        occurred_on: day(on),
        reason,
    }
}
