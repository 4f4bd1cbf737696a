//! Planning one trajectory: the route, the dates, the commands.
//!
//! A case is planned as a whole — up to its closure, however far in the future — and only then
//! sorted by date and cut at `today`. Planning first keeps every route a straight story (and
//! lets a team transfer or a corrected date be placed knowing when the trajectory closes);
//! cutting last means an open trajectory is exactly the prefix of the closed one it would become.
//!
//! Every step is dated on or after the step it depends on, and pushed after it, so a *stable*
//! sort by date keeps each dependency in order even when both fall on the same day.

use chrono::{Datelike, Days, NaiveDate};
use jeugdpad_domain::{
    AssessmentConclusion, CloseReason, Command, Concern, Correction, DecisionFunding,
    DecisionIssued, EpisodeId, EventId, FosterKind, FosterMode, FosterPlacement, HelpForm,
    HelpResult, HelpStarted, Level, PgbGranted, PgbPeriod, PgbReviewCompleted, PgbReviewDecision,
    Provider, Retraction, SignalReceived, SubjectKey, TrajectoryId, Urgency, UserId,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::{category, episode_id, plus, random_uuid, Model};
use crate::scenario::{Pathway, Span, Wait};
use crate::{SyntheticCase, SyntheticCommand};

/// A planned case and, when its closure is not after `today`, the date it closed.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) case: SyntheticCase,
    pub(crate) closed_on: Option<NaiveDate>,
}

/// A granted or refused decision.
struct Decided {
    on: NaiveDate,
    granted: bool,
}

/// Builds one case's commands.
struct Planner<'a> {
    model: &'a Model,
    rng: &'a mut ChaCha8Rng,
    steps: Vec<SyntheticCommand>,
    episodes: u32,
    urgency: Urgency,
}

/// Plans one trajectory of `subject`, signalled on `signal_on` at `age`.
pub(crate) fn plan(
    model: &Model,
    rng: &mut ChaCha8Rng,
    subject: &SubjectKey,
    signal_on: NaiveDate,
    age: i64,
    today: NaiveDate,
) -> Planned {
    let trajectory = TrajectoryId::from_uuid(random_uuid(rng));
    let mut p = Planner {
        model,
        rng,
        steps: Vec::with_capacity(16),
        episodes: 0,
        urgency: Urgency::Regular,
    };
    let team = p.model.team.pick(p.rng);
    let assigned_on = p.open(subject, team, signal_on, age);
    let assessed_on = if p.urgency == Urgency::Regular {
        plus(
            signal_on,
            p.wait(p.model.scenario.timing.signal_to_assessment),
        )
    } else {
        plus(signal_on, p.days(p.model.scenario.timing.urgent_assessment))
    };
    let assessment_index = p.steps.len();

    let pathway = p.model.pathways.pick(p.rng);
    let (last_on, natural) = match pathway {
        Pathway::NoHelp => {
            p.assess(assessed_on, AssessmentConclusion::NoHelpNeeded);
            (assessed_on, CloseReason::NoHelpNeeded)
        }
        Pathway::Light => {
            p.assess(assessed_on, AssessmentConclusion::LightHelp);
            p.light(assessed_on)
        }
        Pathway::Escalated => p.escalated(assessed_on),
        Pathway::Specialist => p.specialist(assessed_on),
        Pathway::OutOfHome => p.out_of_home(assessed_on),
    };
    let timing = &p.model.scenario.timing;
    let close_span = if pathway == Pathway::NoHelp {
        timing.assessment_to_close
    } else {
        timing.end_to_close
    };
    // Never before the consultant was assigned: a closure ends the recording of new steps.
    let closed_on = plus(last_on, p.days(close_span)).max(assigned_on);
    let reason = p.close_reason(
        natural,
        age + i64::from(closed_on.year() - signal_on.year()),
    );

    if p.chance(p.model.scenario.shares.team_transfer) {
        p.transfer(team, assigned_on, closed_on);
    }
    p.push(Command::Close {
        occurred_on: closed_on,
        reason,
    });
    p.amend_assessment(assessment_index, signal_on, closed_on);

    let Planner { mut steps, .. } = p;
    // Stable: same-day steps keep the order they were planned in (see the module docs).
    steps.sort_by_key(|step| step.command.occurred_on());
    steps.retain(|step| step.command.occurred_on() <= today);
    Planned {
        case: SyntheticCase {
            trajectory,
            subject: subject.clone(),
            commands: steps,
        },
        closed_on: (closed_on <= today).then_some(closed_on),
    }
}

impl Planner<'_> {
    fn days(&mut self, Span(min, max): Span) -> i64 {
        self.rng.gen_range(min..=max)
    }

    fn chance(&mut self, share: f64) -> bool {
        self.rng.gen_bool(share)
    }

    fn wait(&mut self, wait: Wait) -> i64 {
        if self.chance(wait.breach_share) {
            self.days(wait.breach)
        } else {
            self.days(wait.within)
        }
    }

    fn push(&mut self, command: Command) -> EventId {
        let event_id = EventId::from_uuid(random_uuid(self.rng));
        self.steps.push(SyntheticCommand { event_id, command });
        event_id
    }

    /// The signal and the first consultant; returns when the consultant was assigned.
    fn open(&mut self, subject: &SubjectKey, team: usize, on: NaiveDate, age: i64) -> NaiveDate {
        self.urgency = self.model.urgency.pick(self.rng);
        let source = self.model.sources.pick(self.rng);
        let wanted = 1 + usize::from(self.chance(0.45)) + usize::from(self.chance(0.15));
        let mut concerns: Vec<Concern> = Vec::with_capacity(wanted);
        // A few draws are enough to find distinct concerns; fewer than wanted is fine.
        for _ in 0..wanted * 4 {
            let concern = self.model.concerns.pick(self.rng);
            if !concerns.contains(&concern) {
                concerns.push(concern);
            }
            if concerns.len() == wanted {
                break;
            }
        }
        let birth_year = i32::try_from(i64::from(on.year()) - age)
            .ok()
            .filter(|year| *year >= self.model.oldest_birth_year);
        let birth_year = if self.chance(self.model.scenario.shares.unknown_birth_year) {
            None
        } else {
            birth_year
        };
        self.push(Command::OpenFromSignal {
            occurred_on: on,
            signal: SignalReceived {
                subject_key: subject.clone(),
                team: self.model.teams[team].clone(),
                source,
                concerns,
                urgency: self.urgency,
                birth_year,
            },
        });
        let assigned_on = plus(on, self.days(self.model.scenario.timing.assign));
        let consultant = self.consultant(team);
        self.push(Command::AssignConsultant {
            occurred_on: assigned_on,
            consultant,
        });
        assigned_on
    }

    fn consultant(&mut self, team: usize) -> UserId {
        let consultants = &self.model.consultants[team];
        consultants[self.rng.gen_range(0..consultants.len())].clone()
    }

    fn assess(&mut self, on: NaiveDate, conclusion: AssessmentConclusion) {
        self.push(Command::CompleteAssessment {
            occurred_on: on,
            conclusion,
        });
    }

    fn result(&mut self) -> HelpResult {
        let shares = &self.model.scenario.shares;
        let (dropped_out, partly_met) = (shares.dropped_out, shares.partly_met);
        let draw: f64 = self.rng.gen();
        if draw < dropped_out {
            HelpResult::DroppedOut
        } else if draw < dropped_out + partly_met {
            HelpResult::PartlyMet
        } else {
            HelpResult::GoalsMet
        }
    }

    fn start_help(
        &mut self,
        on: NaiveDate,
        form: HelpForm,
        foster: Option<FosterPlacement>,
    ) -> EpisodeId {
        self.episodes += 1;
        let episode_id = episode_id(self.episodes);
        let provider = self.provider(form.level());
        self.push(Command::StartHelp {
            occurred_on: on,
            help: HelpStarted {
                episode_id: episode_id.clone(),
                form,
                provider,
                foster,
            },
        });
        episode_id
    }

    fn end_help(&mut self, on: NaiveDate, episode_id: EpisodeId, result: HelpResult) {
        self.push(Command::EndHelp {
            occurred_on: on,
            episode_id,
            result,
        });
    }

    /// A provider for a form of `level`; light help by the wijkteam itself often names none.
    fn provider(&mut self, level: Level) -> Option<Provider> {
        let names = match level {
            Level::None => return None,
            Level::Light if self.chance(0.5) => return None,
            Level::Light => &self.model.providers[0],
            Level::SpecialistWithoutStay => &self.model.providers[1],
            Level::OutOfHome => &self.model.providers[2],
        };
        Some(names[self.rng.gen_range(0..names.len())].clone())
    }

    /// One or two light episodes from `from`; returns when the last ended and how.
    fn light(&mut self, from: NaiveDate) -> (NaiveDate, CloseReason) {
        let timing = &self.model.scenario.timing;
        let (to_light, length) = (timing.assessment_to_light, timing.light_help);
        let mut end_on = from;
        let mut result = HelpResult::GoalsMet;
        let episodes =
            1 + usize::from(self.chance(self.model.scenario.shares.second_light_episode));
        for _ in 0..episodes {
            let start_on = plus(end_on, self.days(to_light));
            let form = self.model.light_forms.pick(self.rng);
            let episode = self.start_help(start_on, form, None);
            end_on = plus(start_on, self.days(length));
            result = self.result();
            self.end_help(end_on, episode, result);
        }
        (end_on, natural_reason(result))
    }

    /// `help_requested` on `on`, then the decision: after a normal wait, or within `crisis` days.
    fn request_and_decide(
        &mut self,
        on: NaiveDate,
        form: HelpForm,
        crisis: bool,
        funding: DecisionFunding,
        foster: Option<FosterPlacement>,
    ) -> Decided {
        self.push(Command::RequestHelp {
            occurred_on: on,
            form,
        });
        let timing = &self.model.scenario.timing;
        let (crisis_days, wait) = (timing.crisis, timing.request_to_decision);
        let decided_on = plus(
            on,
            if crisis {
                self.days(crisis_days)
            } else {
                self.wait(wait)
            },
        );
        // Out-of-home care is only requested when it is needed; refusals are for level 2.
        let granted = form.level() == Level::OutOfHome
            || !self.chance(self.model.scenario.shares.decision_refused);
        let months = if form.level() == Level::OutOfHome {
            24
        } else {
            12
        };
        let decision = DecisionIssued {
            granted,
            form,
            product_category: granted.then(|| category(form)),
            provider: if granted {
                self.provider(form.level())
            } else {
                None
            },
            valid_from: decided_on,
            valid_until: granted
                .then(|| decided_on.checked_add_months(chrono::Months::new(months)))
                .flatten()
                .and_then(|until| until.pred_opt()),
            funding: if granted {
                funding
            } else {
                DecisionFunding::InKind
            },
            // Optional on a decision: about half name the placement already.
            foster: foster.filter(|_| granted && self.chance(0.5)),
        };
        self.push(Command::IssueDecision {
            occurred_on: decided_on,
            decision,
        });
        Decided {
            on: decided_on,
            granted,
        }
    }

    fn start_after(&mut self, decided_on: NaiveDate, crisis: bool) -> NaiveDate {
        let timing = &self.model.scenario.timing;
        let (crisis_days, wait) = (timing.crisis, timing.decision_to_start);
        plus(
            decided_on,
            if crisis {
                self.days(crisis_days)
            } else {
                self.wait(wait)
            },
        )
    }

    /// Light help first; while it runs, specialist help is requested and (mostly) started.
    fn escalated(&mut self, assessed_on: NaiveDate) -> (NaiveDate, CloseReason) {
        self.assess(assessed_on, AssessmentConclusion::LightHelp);
        let timing = &self.model.scenario.timing;
        let (to_light, before, length) = (
            timing.assessment_to_light,
            timing.light_before_escalation,
            timing.light_help,
        );
        let light_on = plus(assessed_on, self.days(to_light));
        let light_form = self.model.light_forms.pick(self.rng);
        let light = self.start_help(light_on, light_form, None);
        let requested_on = plus(light_on, self.days(before));
        let form = self.model.specialist_forms.pick(self.rng);
        let funding = self.funding();
        let decided = self.request_and_decide(requested_on, form, false, funding, None);
        if !decided.granted {
            // Refused: the light help carries on to its natural end.
            let end_on = plus(light_on, self.days(length)).max(decided.on);
            let result = self.result();
            self.end_help(end_on, light, result);
            return (end_on, natural_reason(result));
        }
        let start_on = self.start_after(decided.on, false);
        let handover = if self.chance(0.5) {
            HelpResult::NotMet
        } else {
            HelpResult::Transferred
        };
        self.end_help(start_on, light, handover);
        self.specialist_help(decided.on, start_on, form, funding)
    }

    /// Specialist help straight after the assessment.
    fn specialist(&mut self, assessed_on: NaiveDate) -> (NaiveDate, CloseReason) {
        self.assess(assessed_on, AssessmentConclusion::SpecialistHelp);
        let requested_on = plus(
            assessed_on,
            self.days(self.model.scenario.timing.assessment_to_request),
        );
        let form = self.model.specialist_forms.pick(self.rng);
        let funding = self.funding();
        let decided = self.request_and_decide(requested_on, form, false, funding, None);
        if decided.granted {
            let start_on = self.start_after(decided.on, false);
            return self.specialist_help(decided.on, start_on, form, funding);
        }
        // Refused: light help instead, or the family leaves it there.
        if self.chance(0.5) {
            self.light(decided.on)
        } else {
            (decided.on, CloseReason::Other)
        }
    }

    fn funding(&mut self) -> DecisionFunding {
        if self.chance(self.model.scenario.shares.pgb) {
            DecisionFunding::Pgb
        } else {
            DecisionFunding::InKind
        }
    }

    /// A specialist episode; with a PGB also the budget and its reviews.
    fn specialist_help(
        &mut self,
        decided_on: NaiveDate,
        start_on: NaiveDate,
        form: HelpForm,
        funding: DecisionFunding,
    ) -> (NaiveDate, CloseReason) {
        let timing = &self.model.scenario.timing;
        let (specialist, pgb_help) = (timing.specialist_help, timing.pgb_help);
        let episode = self.start_help(start_on, form, None);
        let mut end_on = if funding == DecisionFunding::Pgb {
            plus(start_on, self.days(pgb_help))
        } else {
            plus(start_on, self.days(specialist))
        };
        if funding == DecisionFunding::Pgb {
            end_on = self.pgb(decided_on, form, end_on);
        }
        let result = self.result();
        self.end_help(end_on, episode, result);
        (end_on, natural_reason(result))
    }

    /// The PGB granted on the decision day and its reviews until the help ends; returns the end,
    /// earlier when a review stops the budget.
    fn pgb(&mut self, granted_on: NaiveDate, form: HelpForm, end_on: NaiveDate) -> NaiveDate {
        let amount_cents = self.rng.gen_range(300..=2_500) * 100;
        self.push(Command::GrantPgb {
            occurred_on: granted_on,
            pgb: PgbGranted {
                amount_cents,
                period: PgbPeriod::Month,
                product_category: category(form),
            },
        });
        let model = self.model;
        let shares = &model.scenario.shares;
        let timing = &self.model.scenario.timing;
        let (interval, completion) = (timing.pgb_review_interval, timing.pgb_review_completion);
        let mut scheduled_on = granted_on;
        loop {
            let due_on = plus(scheduled_on, self.days(interval));
            if due_on >= end_on {
                return end_on;
            }
            self.push(Command::SchedulePgbReview {
                occurred_on: scheduled_on,
                due_on,
            });
            if self.chance(shares.pgb_review_missed) {
                // Never completed: overdue for as long as the trajectory stays open.
                return end_on;
            }
            let offset = self.days(completion);
            let completed_on = due_on
                .checked_add_signed(chrono::Duration::days(offset))
                .unwrap_or(due_on)
                .clamp(scheduled_on, end_on);
            let irregularity_suspected = self.chance(shares.pgb_irregularity);
            let quality_concern = self.chance(shares.pgb_quality_concern);
            let decision = if irregularity_suspected || self.chance(0.04) {
                PgbReviewDecision::Stop
            } else if quality_concern || self.chance(0.08) {
                PgbReviewDecision::Adjust
            } else {
                PgbReviewDecision::Continue
            };
            self.push(Command::CompletePgbReview {
                occurred_on: completed_on,
                review: PgbReviewCompleted {
                    decision,
                    quality_concern,
                    irregularity_suspected,
                },
            });
            if decision == PgbReviewDecision::Stop {
                return end_on.min(plus(completed_on, self.days(Span(0, 30))));
            }
            scheduled_on = completed_on;
        }
    }

    /// Out-of-home care: foster care or residential, after a failed Buurtgezin prevention or
    /// straight away (within days for acute signals); foster care sometimes stepped down to a
    /// Buurtgezin as aftercare.
    fn out_of_home(&mut self, assessed_on: NaiveDate) -> (NaiveDate, CloseReason) {
        let crisis = self.urgency == Urgency::Acute;
        let model = self.model;
        let (shares, timing) = (&model.scenario.shares, &model.scenario.timing);
        let prevention = !crisis && self.chance(shares.prevention_before_out_of_home);
        let (requested_on, prevention_episode) = if prevention {
            self.assess(assessed_on, AssessmentConclusion::LightHelp);
            let start_on = plus(assessed_on, self.days(timing.assessment_to_light));
            let episode = self.start_help(start_on, HelpForm::BuurtgezinPrevention, None);
            (
                plus(start_on, self.days(timing.light_before_escalation)),
                Some(episode),
            )
        } else if crisis {
            self.assess(assessed_on, AssessmentConclusion::SafetyConcern);
            (plus(assessed_on, self.days(timing.crisis)), None)
        } else {
            self.assess(assessed_on, AssessmentConclusion::OutOfHome);
            (
                plus(assessed_on, self.days(timing.assessment_to_request)),
                None,
            )
        };
        let form = self.model.out_of_home_forms.pick(self.rng);
        let foster = (form == HelpForm::FosterCare).then(|| self.placement(crisis));
        let decided =
            self.request_and_decide(requested_on, form, crisis, DecisionFunding::InKind, foster);
        let start_on = self.start_after(decided.on, crisis);
        if let Some(episode) = prevention_episode {
            self.end_help(start_on, episode, HelpResult::NotMet);
        }
        let episode = self.start_help(start_on, form, foster);
        let mut end_on = plus(start_on, self.days(timing.out_of_home_help));
        let mut result = self.result();
        self.end_help(end_on, episode, result);
        if foster.is_some() && self.chance(shares.foster_aftercare) {
            let aftercare_on = plus(end_on, self.days(timing.assessment_to_light));
            let aftercare = self.start_help(aftercare_on, HelpForm::BuurtgezinAftercare, None);
            end_on = plus(aftercare_on, self.days(timing.aftercare));
            result = self.result();
            self.end_help(end_on, aftercare, result);
        }
        (end_on, natural_reason(result))
    }

    fn placement(&mut self, crisis: bool) -> FosterPlacement {
        let kind = if self.chance(0.45) {
            FosterKind::Network
        } else {
            FosterKind::Recruited
        };
        let mode = if crisis {
            FosterMode::Crisis
        } else if self.chance(0.8) {
            FosterMode::FullTime
        } else {
            FosterMode::PartTime
        };
        FosterPlacement { kind, mode }
    }

    /// The pathway's own reason, or now and then another: moving away, refusal, turning 18.
    fn close_reason(&mut self, natural: CloseReason, age_at_close: i64) -> CloseReason {
        if !self.chance(self.model.scenario.shares.other_closure) {
            return natural;
        }
        match self.rng.gen_range(0..10) {
            0..=4 => CloseReason::MovedAway,
            5 | 6 => CloseReason::Refused,
            _ if age_at_close >= 18 => CloseReason::TransferredAdultCare,
            _ => CloseReason::Other,
        }
    }

    /// A transfer to another team some time before closing, and a consultant of that team.
    fn transfer(&mut self, from_team: usize, assigned_on: NaiveDate, closed_on: NaiveDate) {
        let teams = self.model.teams.len();
        let days = (closed_on - assigned_on).num_days();
        if teams < 2 || days < 2 {
            return;
        }
        let on = plus(assigned_on, self.rng.gen_range(1..days));
        let to_team = (from_team + self.rng.gen_range(1..teams)) % teams;
        self.push(Command::TransferTeam {
            occurred_on: on,
            team: self.model.teams[to_team].clone(),
        });
        let consultant = self.consultant(to_team);
        self.push(Command::AssignConsultant {
            occurred_on: on,
            consultant,
        });
    }

    /// Now and then the assessment was recorded twice (the duplicate is retracted) or with the
    /// wrong date (corrected later by a few days, never past the closure or before the signal).
    fn amend_assessment(&mut self, index: usize, signal_on: NaiveDate, closed_on: NaiveDate) {
        let model = self.model;
        let shares = &model.scenario.shares;
        let timing = &self.model.scenario.timing;
        let (after, shift, retraction_after) = (
            timing.correction_after,
            timing.correction_shift,
            timing.retraction_after,
        );
        let Some(original) = self.steps.get(index).cloned() else {
            return;
        };
        let assessed_on = original.command.occurred_on();
        if self.chance(shares.duplicate_retracted) {
            let duplicate = SyntheticCommand {
                event_id: EventId::from_uuid(random_uuid(self.rng)),
                command: original.command.clone(),
            };
            let retracts = duplicate.event_id;
            // Right behind the original, so it sorts before anything later that day.
            self.steps.insert(index + 1, duplicate);
            let on = plus(assessed_on, self.days(retraction_after));
            let reason = self.model.retraction_reason.clone();
            self.push(Command::RetractEvent {
                occurred_on: on,
                retraction: Retraction { retracts, reason },
            });
        }
        if self.chance(shares.assessment_correction) {
            let on = plus(assessed_on, self.days(after));
            let moved = self.days(shift);
            let replacement = if self.chance(0.5) {
                assessed_on - Days::new(moved as u64)
            } else {
                plus(assessed_on, moved)
            };
            let replacement = replacement.clamp(signal_on, on.min(closed_on));
            if replacement != assessed_on {
                let reason = self.model.correction_reason.clone();
                self.push(Command::CorrectEvent {
                    occurred_on: on,
                    correction: Correction {
                        corrects: original.event_id,
                        occurred_on: Some(replacement),
                        payload: None,
                        reason,
                    },
                });
            }
        }
    }
}

/// How a trajectory closes when its last help ended with `result`.
fn natural_reason(result: HelpResult) -> CloseReason {
    match result {
        HelpResult::GoalsMet | HelpResult::PartlyMet => CloseReason::GoalsMet,
        HelpResult::DroppedOut => CloseReason::Refused,
        HelpResult::NotMet | HelpResult::Transferred => CloseReason::Other,
    }
}
