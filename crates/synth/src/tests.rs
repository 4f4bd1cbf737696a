//! The generator's promises: every case is a valid history, the output is a pure function of
//! (scenario, seed, today), and the cohort looks like the scenario says.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use jeugdpad_domain::{
    decide, CloseReason, DateRule, DomainError, Event, EventType, HelpForm, Level, Trajectory,
};

use crate::{generate, Pathway, Scenario, ScenarioError, Span, SyntheticCase};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

fn cohort(count: u64, seed: u64) -> Vec<SyntheticCase> {
    let scenario = Scenario {
        count: Some(count),
        ..Scenario::default()
    };
    generate(&scenario, seed, today()).unwrap().collect()
}

/// Records a case command by command as the application would — `decide` on the state so far,
/// under the event id the case names — without a store.
fn replay(case: &SyntheticCase, today: NaiveDate) -> Result<Trajectory, (usize, DomainError)> {
    let mut state = Trajectory::default();
    for (i, step) in case.commands.iter().enumerate() {
        state = decide(
            &state,
            &step.command,
            step.event_id,
            today,
            &DateRule::default(),
        )
        .map_err(|e| (i, e))?
        .trajectory;
    }
    Ok(state)
}

fn replay_all(cases: &[SyntheticCase]) -> Vec<Trajectory> {
    cases
        .iter()
        .map(|case| {
            replay(case, today()).unwrap_or_else(|(i, error)| {
                panic!(
                    "case {} refused at command {i}: {error}\n{:#?}",
                    case.trajectory, case.commands
                )
            })
        })
        .collect()
}

#[test]
fn every_case_is_accepted_command_by_command() {
    for seed in [1, 2, 3] {
        let cases = cohort(3_000, seed);
        assert_eq!(cases.len(), 3_000);
        let trajectories = replay_all(&cases);
        for (case, trajectory) in cases.iter().zip(&trajectories) {
            assert!(trajectory.violation().is_none());
            assert_eq!(trajectory.version(), case.commands.len() as u64);
            assert!(case
                .commands
                .iter()
                .all(|step| step.command.occurred_on() <= today()));
        }
    }
}

#[test]
fn ids_are_unique() {
    let cases = cohort(5_000, 7);
    let trajectories: HashSet<_> = cases.iter().map(|case| case.trajectory).collect();
    assert_eq!(trajectories.len(), cases.len());
    let events: Vec<_> = cases
        .iter()
        .flat_map(|case| case.commands.iter().map(|step| step.event_id))
        .collect();
    assert_eq!(events.iter().collect::<HashSet<_>>().len(), events.len());
}

#[test]
fn same_seed_same_cohort_and_a_larger_run_extends_a_smaller_one() {
    let first = cohort(2_000, 42);
    assert_eq!(first, cohort(2_000, 42));
    assert_ne!(first, cohort(2_000, 43));
    assert_eq!(first[..500], cohort(500, 42)[..]);
}

#[test]
fn pinned_output_stays_the_same_across_releases() {
    // ChaCha8Rng's output is stable, so the first case of seed 1 is too. If this fails after a
    // change to the generator, that change reshuffles every published benchmark cohort: fine if
    // intended, then update the pin.
    let case = &cohort(1, 1)[0];
    assert_eq!(case.subject.as_str(), "sk-synth-000000");
    assert_eq!(
        (case.trajectory.to_string(), case.commands.len()),
        (PINNED_TRAJECTORY.to_owned(), PINNED_COMMANDS)
    );
}
const PINNED_TRAJECTORY: &str = "583617e0-8e42-431b-88b0-71b2e35e23e5";
const PINNED_COMMANDS: usize = 6;

#[test]
fn every_event_type_occurs() {
    let cases = cohort(10_000, 5);
    let seen: HashSet<EventType> = cases
        .iter()
        .flat_map(|case| {
            case.commands
                .iter()
                .map(|step| step.command.to_event().kind())
        })
        .collect();
    for kind in EventType::ALL {
        assert!(seen.contains(kind), "no {kind} in 10,000 cases");
    }
}

/// The figures of SPEC §4 the scenario is meant to shape, counted on a replayed cohort.
#[derive(Debug, Default)]
struct Observed {
    trajectories: usize,
    open: usize,
    resolved_light: f64,
    escalated: f64,
    out_of_home: f64,
    foster_prevented: f64,
    step_down: usize,
    recurrence_12m: f64,
    pgb: usize,
    overdue_reviews: usize,
    irregularities: usize,
    corrections: usize,
    retractions: usize,
    transfers: usize,
    breaches: BTreeMap<&'static str, (usize, usize)>,
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

fn observe(cases: &[SyntheticCase], trajectories: &[Trajectory], on: NaiveDate) -> Observed {
    let n = trajectories.len();
    let count = |f: &dyn Fn(&Trajectory) -> bool| trajectories.iter().filter(|t| f(t)).count();
    let mut observed = Observed {
        trajectories: n,
        open: count(&|t| !t.is_closed()),
        resolved_light: share(
            count(&|t| {
                t.closure().is_some_and(|c| {
                    matches!(c.reason, CloseReason::GoalsMet | CloseReason::NoHelpNeeded)
                }) && t.highest_level() <= Level::Light
            }),
            n,
        ),
        escalated: share(count(&|t| t.escalation_count() > 0), n),
        out_of_home: share(count(&|t| t.highest_level() == Level::OutOfHome), n),
        step_down: count(&|t| t.step_down_count() > 0),
        pgb: count(&|t| t.pgbs_granted() > 0),
        overdue_reviews: trajectories
            .iter()
            .filter(|t| !t.is_closed())
            .flat_map(|t| t.open_pgb_reviews())
            .filter(|review| review.due_on < on)
            .count(),
        irregularities: trajectories
            .iter()
            .flat_map(|t| t.pgb_reviews())
            .filter(|r| {
                r.completion
                    .as_ref()
                    .is_some_and(|c| c.irregularity_suspected)
            })
            .count(),
        ..Observed::default()
    };
    let prevention: Vec<&Trajectory> = trajectories
        .iter()
        .filter(|t| {
            t.episodes()
                .iter()
                .any(|e| e.form == HelpForm::BuurtgezinPrevention)
        })
        .collect();
    observed.foster_prevented = share(
        prevention
            .iter()
            .filter(|t| t.highest_level() < Level::OutOfHome)
            .count(),
        prevention.len(),
    );

    for case in cases {
        for step in &case.commands {
            match step.command.to_event() {
                Event::Corrected(_) => observed.corrections += 1,
                Event::Retracted(_) => observed.retractions += 1,
                Event::Step(step) if step.kind() == EventType::TeamTransferred => {
                    observed.transfers += 1
                }
                Event::Step(_) => {}
            }
        }
    }

    // Re-entries: a closed trajectory (on or before `on` − 365) whose subject is signalled again
    // within 1..=365 days.
    let mut signals: BTreeMap<&str, Vec<NaiveDate>> = BTreeMap::new();
    for t in trajectories {
        if let (Some(key), Some(on)) = (t.subject_key(), t.signal_date()) {
            signals.entry(key.as_str()).or_default().push(on);
        }
    }
    let year_ago = on - chrono::Days::new(365);
    let closed_long_ago: Vec<(&str, NaiveDate)> = trajectories
        .iter()
        .filter_map(|t| Some((t.subject_key()?.as_str(), t.closure()?.closed_on)))
        .filter(|(_, closed_on)| *closed_on <= year_ago)
        .collect();
    let came_back = closed_long_ago
        .iter()
        .filter(|(key, closed_on)| {
            signals[key].iter().any(|signal| {
                let gap = (*signal - *closed_on).num_days();
                (1..=365).contains(&gap)
            })
        })
        .count();
    observed.recurrence_12m = share(came_back, closed_long_ago.len());

    // Closed waits over their norm (SPEC §4), per measure: (breaches, closed waits).
    let mut tally = |measure: &'static str, days: i64, norm: i64| {
        let entry = observed.breaches.entry(measure).or_default();
        entry.1 += 1;
        if days > norm {
            entry.0 += 1;
        }
    };
    for t in trajectories {
        let Some(signal_on) = t.signal_date() else {
            continue;
        };
        if let Some(first) = t.assessments().iter().map(|a| a.completed_on).min() {
            tally("signal_to_assessment", (first - signal_on).num_days(), 42);
        }
        for request in t.requests() {
            let Some(answer) = &request.answer else {
                continue;
            };
            tally(
                "request_to_decision",
                (answer.decided_on - request.requested_on).num_days(),
                56,
            );
            if answer.granted {
                let start = t
                    .episodes()
                    .iter()
                    .filter(|e| e.form == request.form && e.started_on >= answer.decided_on)
                    .map(|e| e.started_on)
                    .min();
                if let Some(start) = start {
                    tally(
                        "decision_to_start",
                        (start - answer.decided_on).num_days(),
                        28,
                    );
                }
            }
        }
    }
    observed
}

#[test]
fn the_default_cohort_looks_like_the_scenario() {
    let cases = cohort(10_000, 2026);
    let trajectories = replay_all(&cases);
    let observed = observe(&cases, &trajectories, today());
    eprintln!("{observed:#?}");

    let within = |what: &str, value: f64, low: f64, high: f64| {
        assert!(
            (low..=high).contains(&value),
            "{what} = {value:.3}, expected between {low} and {high}"
        );
    };
    within("resolved_light", observed.resolved_light, 0.60, 0.80);
    within("escalated", observed.escalated, 0.06, 0.14);
    within("out_of_home", observed.out_of_home, 0.025, 0.055);
    within("foster_prevented", observed.foster_prevented, 0.7, 0.97);
    within("recurrence_12m", observed.recurrence_12m, 0.07, 0.17);
    within(
        "open",
        share(observed.open, observed.trajectories),
        0.02,
        0.25,
    );
    assert!(observed.step_down > 0, "no Buurtgezin aftercare step-downs");
    assert!(observed.pgb > 50, "too few PGBs: {}", observed.pgb);
    assert!(observed.overdue_reviews > 0, "no overdue PGB reviews");
    assert!(observed.irregularities > 0, "no irregularities");
    assert!(observed.corrections > 100 && observed.retractions > 20);
    assert!(observed.transfers > 100);
    for (measure, (breaches, waits)) in &observed.breaches {
        within(measure, share(*breaches, *waits), 0.05, 0.30);
    }
    assert_eq!(observed.breaches.len(), 3);
}

#[test]
fn re_entries_share_the_subject_key_and_follow_the_closure() {
    let cases = cohort(5_000, 11);
    let trajectories = replay_all(&cases);
    let mut by_subject: BTreeMap<&str, Vec<&Trajectory>> = BTreeMap::new();
    for t in &trajectories {
        by_subject
            .entry(t.subject_key().unwrap().as_str())
            .or_default()
            .push(t);
    }
    let returning: Vec<_> = by_subject.values().filter(|ts| ts.len() > 1).collect();
    assert!(
        returning.len() > 200,
        "only {} returning subjects",
        returning.len()
    );
    for ts in returning {
        for pair in ts.windows(2) {
            let closed_on = pair[0]
                .closure()
                .expect("a re-entry follows a closure")
                .closed_on;
            let gap = (pair[1].signal_date().unwrap() - closed_on).num_days();
            assert!((14..=365).contains(&gap), "gap of {gap} days");
        }
    }
}

#[test]
fn recent_trajectories_are_open_and_nothing_lies_after_today() {
    let cases = cohort(10_000, 3);
    let trajectories = replay_all(&cases);
    let recent: Vec<&Trajectory> = trajectories
        .iter()
        .filter(|t| (today() - t.signal_date().unwrap()).num_days() <= 30)
        .collect();
    assert!(!recent.is_empty());
    let open = recent.iter().filter(|t| !t.is_closed()).count();
    assert!(
        share(open, recent.len()) > 0.6,
        "{open} of {} recent trajectories open",
        recent.len()
    );
    let earlier_today = NaiveDate::from_ymd_opt(2024, 6, 30).unwrap();
    for case in generate(&Scenario::default(), 3, earlier_today)
        .unwrap()
        .take(2_000)
    {
        replay(&case, earlier_today).unwrap();
        assert!(case
            .commands
            .iter()
            .all(|step| step.command.occurred_on() <= earlier_today));
    }
}

#[test]
fn count_is_exact_and_the_total_follows_the_scenario() {
    assert_eq!(Scenario::default().total(), 15_000);
    let scenario = Scenario {
        years: 1,
        trajectories_per_year: 123,
        ..Scenario::default()
    };
    let cohort = generate(&scenario, 1, today()).unwrap();
    assert_eq!(cohort.len(), 123);
    assert_eq!(cohort.count(), 123);
}

#[test]
fn a_scenario_loads_from_a_partial_file() {
    let scenario: Scenario = serde_json::from_value(serde_json::json!({
        "trajectories_per_year": 10,
        "teams": { "noord": 1.0, "zuid": 2.0 },
        "pathways": { "light": 1.0 },
        "light_forms": { "buurtgezin_prevention": 1.0 },
        "timing": { "request_to_decision": {
            "within": [1, 2], "breach_share": 0.5, "breach": [60, 70]
        } },
        "shares": { "reentry": 0.0 },
    }))
    .unwrap();
    assert_eq!(scenario.trajectories_per_year, 10);
    assert_eq!(scenario.timing.assign, Span(0, 7));
    assert_eq!(scenario.timing.request_to_decision.breach, Span(60, 70));
    assert_eq!(scenario.pathways.len(), 1);
    assert_eq!(scenario.pathways[&Pathway::Light], 1.0);
    let cases: Vec<_> = generate(&scenario, 9, today()).unwrap().collect();
    assert_eq!(cases.len(), 60);
    replay_all(&cases);

    let unknown = serde_json::from_value::<Scenario>(serde_json::json!({ "trajectoires": 1 }));
    assert!(
        unknown.is_err(),
        "a misspelt field is an error, not a default"
    );
}

#[test]
fn unusable_scenarios_are_refused_up_front() {
    let check = |change: &dyn Fn(&mut Scenario), expected: ScenarioError| {
        let mut scenario = Scenario::default();
        change(&mut scenario);
        assert_eq!(generate(&scenario, 1, today()).err(), Some(expected));
    };
    check(
        &|s| s.teams.clear(),
        ScenarioError::BadWeights { field: "teams" },
    );
    check(
        &|s| {
            s.pathways.insert(Pathway::Light, -1.0);
        },
        ScenarioError::BadWeights { field: "pathways" },
    );
    check(
        &|s| s.shares.pgb = 1.5,
        ScenarioError::BadShare {
            field: "shares.pgb",
        },
    );
    check(
        &|s| s.timing.light_help = Span(10, 5),
        ScenarioError::BadSpan {
            field: "timing.light_help",
        },
    );
    check(
        &|s| s.timing.specialist_help = Span(0, 1_000_000),
        ScenarioError::BadSpan {
            field: "timing.specialist_help",
        },
    );
    check(
        &|s| s.timing.decision_to_start.breach = Span(20, 40),
        ScenarioError::BreachNotLonger {
            field: "timing.decision_to_start",
        },
    );
    check(
        &|s| {
            s.light_forms.insert(HelpForm::FosterCare, 1.0);
        },
        ScenarioError::WrongLevel {
            field: "light_forms",
            level: Level::Light,
            form: HelpForm::FosterCare,
        },
    );
    check(
        &|s| s.start = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        ScenarioError::StartsAfterToday {
            start: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            today: today(),
        },
    );
    check(&|s| s.years = 0, ScenarioError::Empty);
}

/// `cargo test --release -p jeugdpad-synth -- --ignored --nocapture`: a million trajectories
/// must stream in seconds.
#[test]
#[ignore = "volume check; run in release"]
fn a_million_trajectories_stream_quickly() {
    let scenario = Scenario {
        count: Some(1_000_000),
        ..Scenario::default()
    };
    let started = std::time::Instant::now();
    let commands: usize = generate(&scenario, 1, today())
        .unwrap()
        .map(|case| case.commands.len())
        .sum();
    let elapsed = started.elapsed();
    eprintln!("1,000,000 trajectories, {commands} commands in {elapsed:?}");
    assert!(elapsed.as_secs() < 60);
}

#[test]
fn the_example_scenario_file_names_every_parameter_at_its_default() {
    let text = include_str!("../../../examples/purmerend.toml");
    let parsed: Scenario = toml::from_str(text).expect("examples/purmerend.toml parses");
    assert_eq!(parsed, Scenario::default());
    // Every field is written out (not merely defaulted): unknown fields are refused, and a
    // scenario with every field present parses without `#[serde(default)]` doing any work.
    for key in [
        "start",
        "years",
        "trajectories_per_year",
        "consultants_per_team",
        "age_at_signal",
        "[teams]",
        "[sources]",
        "[urgency]",
        "[pathways]",
        "[light_forms]",
        "[specialist_forms]",
        "[out_of_home_forms]",
        "[shares]",
        "[timing]",
    ] {
        assert!(text.contains(key), "examples/purmerend.toml lacks {key}");
    }
}
