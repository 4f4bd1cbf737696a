//! A compact way to write a case as a story: `w.signal(A, "2026-03-01", "noord", ...)`,
//! `w.assess(A, "2026-04-12")`, … then `w.build()` applies the log one event at a time (checking
//! that every stream is a valid history) and the test asks its questions.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jeugdpad_domain::{
    AssessmentCompleted, CloseReason, Concern, ConsultantAssigned, Correction, DecisionFunding,
    DecisionIssued, EpisodeId, Event, EventId, FosterKind, FosterMode, FosterPlacement, HelpEnded,
    HelpForm, HelpRequested, HelpResult, HelpStarted, PgbGranted, PgbPeriod, PgbReviewCompleted,
    PgbReviewDecision, PgbReviewScheduled, ProductCategory, Reason, RecordedFact, Retraction,
    SignalReceived, Source, Step, SubjectKey, TeamCode, TeamTransferred, Trajectory,
    TrajectoryClosed, TrajectoryId, Urgency, UserId,
};
use uuid::Uuid;

use crate::{AsOf, LoggedFact, Norms, Projections};

pub(crate) const A: TrajectoryId = TrajectoryId::from_uuid(Uuid::from_u128(0xA));
pub(crate) const B: TrajectoryId = TrajectoryId::from_uuid(Uuid::from_u128(0xB));
pub(crate) const C: TrajectoryId = TrajectoryId::from_uuid(Uuid::from_u128(0xC));
pub(crate) const E: TrajectoryId = TrajectoryId::from_uuid(Uuid::from_u128(0xE));

/// The n-th trajectory id (for generated cases).
pub(crate) fn tid(n: u128) -> TrajectoryId {
    TrajectoryId::from_uuid(Uuid::from_u128(0x1000 + n))
}

pub(crate) fn day(text: &str) -> NaiveDate {
    text.parse().expect("a YYYY-MM-DD date")
}

pub(crate) fn instant(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

pub(crate) fn team(code: &str) -> TeamCode {
    TeamCode::parse(code).expect("a team code")
}

pub(crate) fn as_of(text: &str) -> AsOf {
    AsOf::date(day(text))
}

/// The global log being written.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) log: Vec<LoggedFact>,
    clock: DateTime<Utc>,
    versions: HashMap<TrajectoryId, u64>,
    next_event: u128,
}

impl World {
    pub(crate) fn new() -> World {
        World {
            log: Vec::new(),
            clock: instant("2025-01-01T00:00:00Z"),
            versions: HashMap::new(),
            next_event: 1,
        }
    }

    /// Sets the store clock: the next event is recorded at `at`, later ones a minute apart.
    pub(crate) fn clock(&mut self, at: &str) {
        self.clock = instant(at);
    }

    pub(crate) fn record(&mut self, t: TrajectoryId, on: &str, event: Event) -> EventId {
        let event_id = EventId::from_uuid(Uuid::from_u128(self.next_event));
        self.next_event += 1;
        let version = self.versions.entry(t).or_default();
        *version += 1;
        self.log.push(LoggedFact {
            position: self.log.len() as u64 + 1,
            trajectory: t,
            recorded_at: self.clock,
            fact: RecordedFact {
                event_id,
                version: *version,
                occurred_on: day(on),
                event,
            },
        });
        self.clock += Duration::minutes(1);
        event_id
    }

    fn step(&mut self, t: TrajectoryId, on: &str, step: Step) -> EventId {
        self.record(t, on, Event::Step(step))
    }

    pub(crate) fn signal_full(
        &mut self,
        t: TrajectoryId,
        on: &str,
        team_code: &str,
        source: Source,
        subject: &str,
    ) -> EventId {
        self.step(
            t,
            on,
            Step::SignalReceived(signal(team_code, source, subject)),
        )
    }

    /// A signal from school for subject `sk-<trajectory>`.
    pub(crate) fn signal(&mut self, t: TrajectoryId, on: &str, team_code: &str) -> EventId {
        let subject = format!("sk-{}", t.as_uuid().as_u128());
        self.signal_full(t, on, team_code, Source::School, &subject)
    }

    pub(crate) fn assess(&mut self, t: TrajectoryId, on: &str) -> EventId {
        self.step(
            t,
            on,
            Step::AssessmentCompleted(AssessmentCompleted {
                conclusion: jeugdpad_domain::AssessmentConclusion::LightHelp,
            }),
        )
    }

    pub(crate) fn assign(&mut self, t: TrajectoryId, on: &str, who: &str) -> EventId {
        let consultant = UserId::parse(who).expect("a user id");
        self.step(
            t,
            on,
            Step::ConsultantAssigned(ConsultantAssigned { consultant }),
        )
    }

    pub(crate) fn transfer(&mut self, t: TrajectoryId, on: &str, to: &str) -> EventId {
        self.step(
            t,
            on,
            Step::TeamTransferred(TeamTransferred { team: team(to) }),
        )
    }

    pub(crate) fn request(&mut self, t: TrajectoryId, on: &str, form: HelpForm) -> EventId {
        self.step(t, on, Step::HelpRequested(HelpRequested { form }))
    }

    pub(crate) fn decide(
        &mut self,
        t: TrajectoryId,
        on: &str,
        form: HelpForm,
        granted: bool,
    ) -> EventId {
        self.step(t, on, Step::DecisionIssued(decision(on, form, granted)))
    }

    pub(crate) fn start(
        &mut self,
        t: TrajectoryId,
        on: &str,
        episode: &str,
        form: HelpForm,
    ) -> EventId {
        self.step(t, on, Step::HelpStarted(help(episode, form)))
    }

    pub(crate) fn end(&mut self, t: TrajectoryId, on: &str, episode: &str) -> EventId {
        self.step(
            t,
            on,
            Step::HelpEnded(HelpEnded {
                episode_id: EpisodeId::parse(episode).expect("an episode id"),
                result: HelpResult::GoalsMet,
            }),
        )
    }

    pub(crate) fn grant_pgb(&mut self, t: TrajectoryId, on: &str) -> EventId {
        self.step(
            t,
            on,
            Step::PgbGranted(PgbGranted {
                amount_cents: 50_000,
                period: PgbPeriod::Month,
                product_category: ProductCategory::parse("40").expect("a category"),
            }),
        )
    }

    pub(crate) fn schedule_review(&mut self, t: TrajectoryId, on: &str, due: &str) -> EventId {
        self.step(
            t,
            on,
            Step::PgbReviewScheduled(PgbReviewScheduled { due_on: day(due) }),
        )
    }

    pub(crate) fn complete_review(
        &mut self,
        t: TrajectoryId,
        on: &str,
        irregular: bool,
    ) -> EventId {
        self.step(
            t,
            on,
            Step::PgbReviewCompleted(PgbReviewCompleted {
                decision: PgbReviewDecision::Continue,
                quality_concern: false,
                irregularity_suspected: irregular,
            }),
        )
    }

    pub(crate) fn close(&mut self, t: TrajectoryId, on: &str, reason: CloseReason) -> EventId {
        self.step(t, on, Step::TrajectoryClosed(TrajectoryClosed { reason }))
    }

    /// Corrects the date of `target` to `new_date` (recorded on `on`).
    pub(crate) fn correct_date(
        &mut self,
        t: TrajectoryId,
        on: &str,
        target: EventId,
        new_date: &str,
    ) -> EventId {
        self.record(
            t,
            on,
            Event::Corrected(Correction {
                corrects: target,
                occurred_on: Some(day(new_date)),
                payload: None,
                reason: Reason::parse("wrong date typed").expect("a reason"),
            }),
        )
    }

    /// Corrects the payload of `target` (recorded on `on`).
    pub(crate) fn correct_payload(
        &mut self,
        t: TrajectoryId,
        on: &str,
        target: EventId,
        step: Step,
    ) -> EventId {
        self.record(
            t,
            on,
            Event::Corrected(Correction {
                corrects: target,
                occurred_on: None,
                payload: Some(step),
                reason: Reason::parse("wrong field").expect("a reason"),
            }),
        )
    }

    pub(crate) fn retract(&mut self, t: TrajectoryId, on: &str, target: EventId) -> EventId {
        self.record(
            t,
            on,
            Event::Retracted(Retraction {
                retracts: target,
                reason: Reason::parse("wrong file").expect("a reason"),
            }),
        )
    }

    /// Applies the log one event at a time with the default norms, after checking that every
    /// stream is a valid history (so no case tests the projections on impossible data).
    pub(crate) fn build(&self) -> Projections {
        self.build_with(Norms::default())
    }

    pub(crate) fn build_with(&self, norms: Norms) -> Projections {
        check_valid(&self.log);
        let mut p = Projections::new(norms);
        for r in &self.log {
            p.apply(r.clone());
        }
        p
    }
}

/// Every stream of `log` replays without a rule violation.
pub(crate) fn check_valid(log: &[LoggedFact]) {
    let mut streams: HashMap<TrajectoryId, Vec<RecordedFact>> = HashMap::new();
    for r in log {
        streams
            .entry(r.trajectory)
            .or_default()
            .push(r.fact.clone());
    }
    for (id, facts) in streams {
        let t = Trajectory::from_facts(facts);
        assert_eq!(
            t.violation(),
            None,
            "trajectory {id} is not a valid history"
        );
    }
}

pub(crate) fn signal(team_code: &str, source: Source, subject: &str) -> SignalReceived {
    SignalReceived {
        subject_key: SubjectKey::parse(subject).expect("a subject key"),
        team: team(team_code),
        source,
        concerns: vec![Concern::Parenting],
        urgency: Urgency::Regular,
        birth_year: None,
    }
}

pub(crate) fn decision(on: &str, form: HelpForm, granted: bool) -> DecisionIssued {
    DecisionIssued {
        granted,
        form,
        product_category: None,
        provider: None,
        valid_from: day(on),
        valid_until: None,
        funding: DecisionFunding::InKind,
        foster: None,
    }
}

pub(crate) fn help(episode: &str, form: HelpForm) -> HelpStarted {
    HelpStarted {
        episode_id: EpisodeId::parse(episode).expect("an episode id"),
        form,
        provider: None,
        foster: (form == HelpForm::FosterCare).then_some(FosterPlacement {
            kind: FosterKind::Network,
            mode: FosterMode::FullTime,
        }),
    }
}
