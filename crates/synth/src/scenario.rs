//! The scenario: every number that shapes a synthetic cohort, in one deserialisable struct.
//!
//! `Scenario::default()` is a municipality the size of Purmerend (≈ 94,000 inhabitants, six
//! wijkteams, about 2,500 trajectories a year). Every field has a default, so a scenario file
//! only names what it changes:
//!
//! ```toml
//! trajectories_per_year = 4000
//! [pathways]
//! out_of_home = 0.06
//! [timing.request_to_decision]
//! breach_share = 0.25
//! ```
//!
//! Weights (`teams`, `sources`, `pathways`, the form tables) are relative: they need not add up
//! to 1. Shares are probabilities in [0, 1]. Spans are inclusive `[min, max]` pairs of days (or
//! years, for ages).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use jeugdpad_domain::{HelpForm, Level, Source, TeamCode, Urgency};
use serde::Deserialize;

/// An inclusive range of whole numbers, `[min, max]`: days for timings, years for ages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Span(pub i64, pub i64);

/// A waiting time with a norm: most waits fall `within` it, a `breach_share` of them take
/// `breach` days instead (longer than the norm), so the waiting-time reports have breaches to show.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// Days for a wait that keeps the norm.
    pub within: Span,
    /// Share of waits that breach the norm.
    pub breach_share: f64,
    /// Days for a wait that breaches it.
    pub breach: Span,
}

/// Hoofdroute: the main route a trajectory takes, chosen once when the signal comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pathway {
    /// Assessed, no help needed, closed `no_help_needed`.
    NoHelp,
    /// One or two light help episodes (level 1), then closed.
    Light,
    /// Light help first, then specialist help (level 2) through request → decision → start:
    /// an escalation in the sense of SPEC §4.
    Escalated,
    /// Assessed as needing specialist help straight away (level 2, no escalation).
    Specialist,
    /// Out-of-home care (level 3): foster care or residential, sometimes after a Buurtgezin
    /// tried to prevent it, foster care sometimes followed by Buurtgezin aftercare.
    OutOfHome,
}

/// How often the optional turns of a pathway happen. Each is a probability in [0, 1].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Shares {
    /// Light pathways that get a second light episode after the first.
    pub second_light_episode: f64,
    /// Out-of-home pathways that first try `buurtgezin_prevention` (which then fails):
    /// the denominator of `foster_prevented` grows by these.
    pub prevention_before_out_of_home: f64,
    /// Foster placements followed by `buurtgezin_aftercare` (a step-down).
    pub foster_aftercare: f64,
    /// Decisions on specialist help that refuse it.
    pub decision_refused: f64,
    /// Granted specialist decisions funded as a PGB (persoonsgebonden budget).
    pub pgb: f64,
    /// PGB reviews never completed: overdue once due while the trajectory is open.
    pub pgb_review_missed: f64,
    /// Completed PGB reviews with a quality concern.
    pub pgb_quality_concern: f64,
    /// Completed PGB reviews with `irregularity_suspected` (a care-fraud signal).
    pub pgb_irregularity: f64,
    /// Help episodes that end with the youth dropping out.
    pub dropped_out: f64,
    /// Help episodes that end with goals partly met.
    pub partly_met: f64,
    /// Trajectories transferred to another team on the way.
    pub team_transfer: f64,
    /// Trajectories whose assessment date is corrected a few days later (`event_corrected`).
    pub assessment_correction: f64,
    /// Trajectories whose assessment was recorded twice and the duplicate retracted.
    pub duplicate_retracted: f64,
    /// Trajectories that close for another reason (moved away, refused, 18+, other) instead of
    /// the pathway's natural one.
    pub other_closure: f64,
    /// Closed trajectories whose subject comes back with a new signal (same subject key)
    /// within `timing.reentry_gap` days.
    pub reentry: f64,
    /// Signals without a birth year.
    pub unknown_birth_year: f64,
}

impl Default for Shares {
    fn default() -> Self {
        Shares {
            second_light_episode: 0.20,
            prevention_before_out_of_home: 0.30,
            foster_aftercare: 0.40,
            decision_refused: 0.08,
            pgb: 0.15,
            pgb_review_missed: 0.10,
            pgb_quality_concern: 0.06,
            pgb_irregularity: 0.03,
            dropped_out: 0.08,
            partly_met: 0.12,
            team_transfer: 0.03,
            assessment_correction: 0.03,
            duplicate_retracted: 0.01,
            other_closure: 0.06,
            reentry: 0.12,
            unknown_birth_year: 0.05,
        }
    }
}

/// How long each step takes, in days after the step before it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// Signal → consultant assigned.
    pub assign: Span,
    /// Signal → assessment for regular signals (norm 42 days).
    pub signal_to_assessment: Wait,
    /// Signal → assessment for urgent and acute signals: they jump the queue.
    pub urgent_assessment: Span,
    /// Assessment → closure when no help is needed.
    pub assessment_to_close: Span,
    /// Assessment (or the end of earlier help) → start of light help.
    pub assessment_to_light: Span,
    /// Length of a light help episode.
    pub light_help: Span,
    /// Light help start → request for heavier help, on escalating pathways.
    pub light_before_escalation: Span,
    /// Assessment → help request, when heavier help is needed straight away.
    pub assessment_to_request: Span,
    /// Request → decision (norm 56 days, Awb 4:13).
    pub request_to_decision: Wait,
    /// Granted decision → help start (norm 28 days).
    pub decision_to_start: Wait,
    /// Acute out-of-home care: assessment → request → decision → start, each this many days.
    pub crisis: Span,
    /// Length of specialist help in kind.
    pub specialist_help: Span,
    /// Length of specialist help bought with a PGB (longer: often disability care).
    pub pgb_help: Span,
    /// Length of an out-of-home placement.
    pub out_of_home_help: Span,
    /// Length of Buurtgezin aftercare after foster care.
    pub aftercare: Span,
    /// End of the last help → closure.
    pub end_to_close: Span,
    /// PGB granted (or review completed) → next review due (about six months).
    pub pgb_review_interval: Span,
    /// Review due date → completion; negative is early.
    pub pgb_review_completion: Span,
    /// Assessment → the correction of its date.
    pub correction_after: Span,
    /// How many days a corrected assessment date moves (either direction).
    pub correction_shift: Span,
    /// Duplicate assessment → its retraction.
    pub retraction_after: Span,
    /// Closure → the subject's next signal, for re-entries.
    pub reentry_gap: Span,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            assign: Span(0, 7),
            signal_to_assessment: Wait {
                within: Span(5, 40),
                breach_share: 0.15,
                breach: Span(43, 110),
            },
            urgent_assessment: Span(0, 10),
            assessment_to_close: Span(0, 14),
            assessment_to_light: Span(0, 21),
            light_help: Span(30, 180),
            light_before_escalation: Span(30, 120),
            assessment_to_request: Span(0, 14),
            request_to_decision: Wait {
                within: Span(7, 56),
                breach_share: 0.12,
                breach: Span(57, 130),
            },
            decision_to_start: Wait {
                within: Span(3, 28),
                breach_share: 0.20,
                breach: Span(29, 90),
            },
            crisis: Span(0, 3),
            specialist_help: Span(90, 540),
            pgb_help: Span(270, 1100),
            out_of_home_help: Span(120, 900),
            aftercare: Span(90, 365),
            end_to_close: Span(0, 30),
            pgb_review_interval: Span(160, 200),
            pgb_review_completion: Span(-21, 30),
            correction_after: Span(1, 30),
            correction_shift: Span(1, 7),
            retraction_after: Span(1, 10),
            reentry_gap: Span(14, 365),
        }
    }
}

/// Everything that shapes a synthetic cohort. See the module docs for the file form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// The wijkteams and their relative sizes (share of signals).
    pub teams: BTreeMap<TeamCode, f64>,
    /// Consultants per team; user ids are `consulent-<team>-<nn>`.
    pub consultants_per_team: u32,
    /// The first day a signal may come in.
    pub start: NaiveDate,
    /// Signals come in over this many years from `start` (never after `today`).
    pub years: u32,
    /// New trajectories a year, re-entries included.
    pub trajectories_per_year: u64,
    /// Overrides the total (`trajectories_per_year × years`), for volume tests: the same date
    /// range, just busier.
    pub count: Option<u64>,
    /// Who raises signals (relative weights).
    pub sources: BTreeMap<Source, f64>,
    /// How urgent signals are (relative weights).
    pub urgency: BTreeMap<Urgency, f64>,
    /// The main routes (relative weights).
    pub pathways: BTreeMap<Pathway, f64>,
    /// Light (level 1) forms used on light and escalating pathways (relative weights).
    /// `buurtgezin_aftercare` is not allowed here: it only follows foster care.
    pub light_forms: BTreeMap<HelpForm, f64>,
    /// Specialist (level 2) forms (relative weights).
    pub specialist_forms: BTreeMap<HelpForm, f64>,
    /// Out-of-home (level 3) forms (relative weights).
    pub out_of_home_forms: BTreeMap<HelpForm, f64>,
    /// Age at the signal in years, inclusive.
    pub age_at_signal: Span,
    /// The optional turns of a pathway.
    pub shares: Shares,
    /// How long everything takes.
    pub timing: Timing,
}

fn weights<K: Ord>(rows: impl IntoIterator<Item = (K, f64)>) -> BTreeMap<K, f64> {
    rows.into_iter().collect()
}

impl Default for Scenario {
    /// Purmerend-like: six wijkteams (Weidevenne, the newest and largest district, the biggest),
    /// 2,500 trajectories a year from 2021 on. Most are resolved with light help; about one in
    /// six needs specialist care and one in thirty is placed out of home.
    fn default() -> Self {
        let team = |code: &str| TeamCode::parse(code).expect("the default team codes are slugs");
        Scenario {
            teams: weights([
                (team("noord"), 1.0),
                (team("zuid"), 1.0),
                (team("oost"), 0.8),
                (team("west"), 0.9),
                (team("centrum"), 0.7),
                (team("weidevenne"), 1.4),
            ]),
            consultants_per_team: 8,
            start: NaiveDate::from_ymd_opt(2021, 1, 1).expect("a valid date"),
            years: 6,
            trajectories_per_year: 2_500,
            count: None,
            sources: weights([
                (Source::School, 0.20),
                (Source::Huisarts, 0.14),
                (Source::Jgz, 0.12),
                (Source::PohGgzJeugd, 0.05),
                (Source::VeiligThuis, 0.08),
                (Source::Wijkteam, 0.10),
                (Source::ParentsOrYouth, 0.17),
                (Source::Police, 0.04),
                (Source::GecertificeerdeInstelling, 0.03),
                (Source::MedicalSpecialist, 0.03),
                (Source::Court, 0.01),
                (Source::Other, 0.03),
            ]),
            urgency: weights([
                (Urgency::Regular, 0.85),
                (Urgency::Urgent, 0.12),
                (Urgency::Acute, 0.03),
            ]),
            pathways: weights([
                (Pathway::NoHelp, 0.20),
                (Pathway::Light, 0.58),
                (Pathway::Escalated, 0.10),
                (Pathway::Specialist, 0.08),
                (Pathway::OutOfHome, 0.04),
            ]),
            light_forms: weights([
                (HelpForm::WijkteamSupport, 0.35),
                (HelpForm::ParentingSupport, 0.20),
                (HelpForm::SchoolSocialWork, 0.10),
                (HelpForm::PohGgz, 0.10),
                (HelpForm::GroupProgramme, 0.08),
                (HelpForm::Mediation, 0.05),
                (HelpForm::OwnStrength, 0.05),
                (HelpForm::BuurtgezinPrevention, 0.07),
            ]),
            specialist_forms: weights([
                (HelpForm::SpecialistAmbulant, 0.45),
                (HelpForm::YouthMentalHealth, 0.35),
                (HelpForm::YouthDisabilityCare, 0.20),
            ]),
            out_of_home_forms: weights([
                (HelpForm::FosterCare, 0.65),
                (HelpForm::Residential, 0.30),
                (HelpForm::SecureResidential, 0.05),
            ]),
            age_at_signal: Span(0, 17),
            shares: Shares::default(),
            timing: Timing::default(),
        }
    }
}

/// Why a scenario cannot be generated from. Names the field, so a scenario file is easy to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// A weight table is empty, or its weights are not positive finite numbers.
    #[error("`{field}` needs at least one entry and every weight must be a positive number")]
    BadWeights {
        /// The field.
        field: &'static str,
    },
    /// A share outside [0, 1].
    #[error("`{field}` is a share and must lie between 0 and 1")]
    BadShare {
        /// The field.
        field: &'static str,
    },
    /// A span whose minimum exceeds its maximum, a negative span where days must pass, or one
    /// longer than a century.
    #[error(
        "`{field}` must be a [min, max] pair with min <= max, min >= 0 for durations, \
         and at most 36500 days"
    )]
    BadSpan {
        /// The field.
        field: &'static str,
    },
    /// A breach span that does not lie above the within span: the waits would not breach.
    #[error("`{field}`: every `breach` day count must be greater than every `within` one")]
    BreachNotLonger {
        /// The field.
        field: &'static str,
    },
    /// A form in the wrong table (e.g. a level 2 form among the light forms).
    #[error("`{field}` may only hold forms of level {level:?}; {form:?} is not one of them")]
    WrongLevel {
        /// The field.
        field: &'static str,
        /// The level the table is for.
        level: Level,
        /// The misplaced form.
        form: HelpForm,
    },
    /// Nothing to generate from.
    #[error("`years` and `consultants_per_team` must be at least 1")]
    Empty,
    /// The date range starts after `today`, so every signal would lie in the future.
    #[error("the scenario starts on {start}, after today ({today})")]
    StartsAfterToday {
        /// The scenario's start.
        start: NaiveDate,
        /// The `today` passed in.
        today: NaiveDate,
    },
    /// Ages outside youth care (0–23).
    #[error("`age_at_signal` must lie within 0..=23 years")]
    BadAge,
}

impl Scenario {
    /// The number of trajectories [`crate::generate`] yields: `count`, or
    /// `trajectories_per_year × years`.
    pub fn total(&self) -> u64 {
        self.count.unwrap_or(
            self.trajectories_per_year
                .saturating_mul(u64::from(self.years)),
        )
    }

    /// Checks every field, so generation itself cannot fail halfway through a million cases.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if self.years == 0 || self.consultants_per_team == 0 {
            return Err(ScenarioError::Empty);
        }
        check_weights("teams", &self.teams)?;
        check_weights("sources", &self.sources)?;
        check_weights("urgency", &self.urgency)?;
        check_weights("pathways", &self.pathways)?;
        check_forms("light_forms", &self.light_forms, Level::Light)?;
        if self
            .light_forms
            .contains_key(&HelpForm::BuurtgezinAftercare)
        {
            return Err(ScenarioError::BadWeights {
                field: "light_forms",
            });
        }
        check_forms(
            "specialist_forms",
            &self.specialist_forms,
            Level::SpecialistWithoutStay,
        )?;
        check_forms(
            "out_of_home_forms",
            &self.out_of_home_forms,
            Level::OutOfHome,
        )?;
        let Span(young, old) = self.age_at_signal;
        if young < 0 || old > 23 || young > old {
            return Err(ScenarioError::BadAge);
        }
        self.shares.validate()?;
        self.timing.validate()
    }
}

impl Shares {
    fn validate(&self) -> Result<(), ScenarioError> {
        let shares = [
            ("shares.second_light_episode", self.second_light_episode),
            (
                "shares.prevention_before_out_of_home",
                self.prevention_before_out_of_home,
            ),
            ("shares.foster_aftercare", self.foster_aftercare),
            ("shares.decision_refused", self.decision_refused),
            ("shares.pgb", self.pgb),
            ("shares.pgb_review_missed", self.pgb_review_missed),
            ("shares.pgb_quality_concern", self.pgb_quality_concern),
            ("shares.pgb_irregularity", self.pgb_irregularity),
            ("shares.dropped_out", self.dropped_out),
            ("shares.partly_met", self.partly_met),
            ("shares.team_transfer", self.team_transfer),
            ("shares.assessment_correction", self.assessment_correction),
            ("shares.duplicate_retracted", self.duplicate_retracted),
            ("shares.other_closure", self.other_closure),
            ("shares.reentry", self.reentry),
            ("shares.unknown_birth_year", self.unknown_birth_year),
        ];
        for (field, share) in shares {
            if !(0.0..=1.0).contains(&share) {
                return Err(ScenarioError::BadShare { field });
            }
        }
        if self.dropped_out + self.partly_met > 1.0 {
            return Err(ScenarioError::BadShare {
                field: "shares.dropped_out + shares.partly_met",
            });
        }
        Ok(())
    }
}

/// The longest any one step may take: a century keeps every date far inside chrono's range.
const MAX_DAYS: i64 = 36_500;

impl Timing {
    fn spans(&self) -> [(&'static str, Span); 25] {
        [
            ("timing.assign", self.assign),
            (
                "timing.signal_to_assessment.within",
                self.signal_to_assessment.within,
            ),
            (
                "timing.signal_to_assessment.breach",
                self.signal_to_assessment.breach,
            ),
            ("timing.urgent_assessment", self.urgent_assessment),
            ("timing.assessment_to_close", self.assessment_to_close),
            ("timing.assessment_to_light", self.assessment_to_light),
            ("timing.light_help", self.light_help),
            (
                "timing.light_before_escalation",
                self.light_before_escalation,
            ),
            ("timing.assessment_to_request", self.assessment_to_request),
            (
                "timing.request_to_decision.within",
                self.request_to_decision.within,
            ),
            (
                "timing.request_to_decision.breach",
                self.request_to_decision.breach,
            ),
            (
                "timing.decision_to_start.within",
                self.decision_to_start.within,
            ),
            (
                "timing.decision_to_start.breach",
                self.decision_to_start.breach,
            ),
            ("timing.crisis", self.crisis),
            ("timing.specialist_help", self.specialist_help),
            ("timing.pgb_help", self.pgb_help),
            ("timing.out_of_home_help", self.out_of_home_help),
            ("timing.aftercare", self.aftercare),
            ("timing.end_to_close", self.end_to_close),
            ("timing.pgb_review_interval", self.pgb_review_interval),
            ("timing.pgb_review_completion", self.pgb_review_completion),
            ("timing.correction_after", self.correction_after),
            ("timing.correction_shift", self.correction_shift),
            ("timing.retraction_after", self.retraction_after),
            ("timing.reentry_gap", self.reentry_gap),
        ]
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        for (field, Span(min, max)) in self.spans() {
            if min < -MAX_DAYS || max > MAX_DAYS {
                return Err(ScenarioError::BadSpan { field });
            }
        }
        let durations = [
            ("timing.assign", self.assign),
            ("timing.urgent_assessment", self.urgent_assessment),
            ("timing.assessment_to_close", self.assessment_to_close),
            ("timing.assessment_to_light", self.assessment_to_light),
            ("timing.light_help", self.light_help),
            (
                "timing.light_before_escalation",
                self.light_before_escalation,
            ),
            ("timing.assessment_to_request", self.assessment_to_request),
            ("timing.crisis", self.crisis),
            ("timing.specialist_help", self.specialist_help),
            ("timing.pgb_help", self.pgb_help),
            ("timing.out_of_home_help", self.out_of_home_help),
            ("timing.aftercare", self.aftercare),
            ("timing.end_to_close", self.end_to_close),
            ("timing.correction_after", self.correction_after),
            ("timing.correction_shift", self.correction_shift),
            ("timing.retraction_after", self.retraction_after),
        ];
        for (field, Span(min, max)) in durations {
            if min < 0 || min > max {
                return Err(ScenarioError::BadSpan { field });
            }
        }
        // Reviews and re-entries must move time forward, or they could pile up on one day.
        for (field, Span(min, max)) in [
            ("timing.pgb_review_interval", self.pgb_review_interval),
            ("timing.reentry_gap", self.reentry_gap),
        ] {
            if min < 1 || min > max {
                return Err(ScenarioError::BadSpan { field });
            }
        }
        let Span(early, late) = self.pgb_review_completion;
        if early > late {
            return Err(ScenarioError::BadSpan {
                field: "timing.pgb_review_completion",
            });
        }
        for (field, wait) in [
            ("timing.signal_to_assessment", self.signal_to_assessment),
            ("timing.request_to_decision", self.request_to_decision),
            ("timing.decision_to_start", self.decision_to_start),
        ] {
            let (Span(min, max), Span(breach_min, breach_max)) = (wait.within, wait.breach);
            if min < 0 || min > max || breach_min > breach_max {
                return Err(ScenarioError::BadSpan { field });
            }
            if !(0.0..=1.0).contains(&wait.breach_share) {
                return Err(ScenarioError::BadShare { field });
            }
            if breach_min <= max {
                return Err(ScenarioError::BreachNotLonger { field });
            }
        }
        Ok(())
    }
}

fn check_weights<K>(field: &'static str, table: &BTreeMap<K, f64>) -> Result<(), ScenarioError> {
    if table.is_empty() || table.values().any(|w| !w.is_finite() || *w <= 0.0) {
        return Err(ScenarioError::BadWeights { field });
    }
    Ok(())
}

fn check_forms(
    field: &'static str,
    table: &BTreeMap<HelpForm, f64>,
    level: Level,
) -> Result<(), ScenarioError> {
    check_weights(field, table)?;
    match table.keys().find(|form| form.level() != level) {
        Some(form) => Err(ScenarioError::WrongLevel {
            field,
            level,
            form: *form,
        }),
        None => Ok(()),
    }
}
