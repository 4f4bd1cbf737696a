//! Recording whole cases through the application layer into a real sled store, and reading them
//! back exactly as a later process would.

use std::sync::Arc;

use jeugdpad_app::{load, record, Context, FreeText, Loaded, RecordError, Request};
use jeugdpad_domain::{
    AssessmentConclusion::LightHelp, CloseReason, Command, Correction, Event, EventId, HelpForm,
    HelpResult, Level, Phase, Reason, Retraction, Step, TrajectoryId, Urgency,
};
use jeugdpad_store::{EventStore, ExpectedVersion, ProposedEvent, Store};
use jeugdpad_tests::*;
use uuid::Uuid;

/// "Today" for these cases: well after every step they record.
const TODAY: &str = "2027-02-09";

fn context() -> Context {
    Context {
        recorded_by: "consultant-a".to_owned(),
        today: date(TODAY),
        dates: jeugdpad_domain::DateRule::default(),
        correlation_id: None,
    }
}

fn free_text(store: &Store) -> FreeText {
    FreeText::new(store.vault().expect("the vault opens"))
}

fn for_case(trajectory: TrajectoryId, command: Command) -> Request {
    Request {
        trajectory,
        command,
        expected_version: None,
        event_id: None,
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("data")).expect("store opens"));
    Fixture { _dir: dir, store }
}

async fn record_all(store: &Arc<Store>, trajectory: TrajectoryId, commands: Vec<Command>) {
    for command in commands {
        let described = format!("{command:?}");
        record(
            store,
            &free_text(store),
            &for_case(trajectory, command),
            &context(),
        )
        .await
        .unwrap_or_else(|e| panic!("{described} was refused: {e}"));
    }
}

/// Signal → light help → escalation to specialist care → step-down to light aftercare → closure.
fn escalating_case() -> Vec<Command> {
    vec![
        open("2026-01-05", "sk-synthetic-1", "noord"),
        assign("2026-01-06", "consultant-a"),
        assess("2026-01-25", LightHelp),
        start("2026-01-26", "E1", HelpForm::ParentingSupport),
        end("2026-03-26", "E1", HelpResult::NotMet),
        request("2026-03-27", HelpForm::YouthMentalHealth),
        grant("2026-05-05", HelpForm::YouthMentalHealth),
        start("2026-05-15", "E2", HelpForm::YouthMentalHealth),
        end("2026-09-12", "E2", HelpResult::GoalsMet),
        start("2026-09-13", "E3", HelpForm::WijkteamSupport),
        end("2026-11-01", "E3", HelpResult::GoalsMet),
        close("2026-11-02", CloseReason::GoalsMet),
    ]
}

#[tokio::test]
async fn a_whole_case_is_recorded_durably_and_replays_to_the_same_state() {
    let Fixture { _dir, store } = fixture();
    let trajectory = TrajectoryId::from_uuid(Uuid::new_v4());
    record_all(&store, trajectory, escalating_case()).await;

    let Loaded {
        events,
        trajectory: state,
    } = load(&store, trajectory).await.expect("the case loads");

    assert_eq!(events.len(), 12);
    assert_eq!(state.version(), 12);
    assert_eq!(state.phase(), Some(Phase::Closed));
    assert_eq!(state.highest_level(), Level::SpecialistWithoutStay);
    assert_eq!(state.current_level(), Level::None);
    assert_eq!((state.escalation_count(), state.step_down_count()), (1, 1));
    assert!(store.verify().expect("verify runs").is_ok());

    // Nothing may be recorded after closure, and the refusal writes nothing.
    let late = record(
        &store,
        &free_text(&store),
        &for_case(trajectory, assign("2026-11-03", "consultant-b")),
        &context(),
    )
    .await;
    assert!(matches!(late, Err(RecordError::Rejected(_))), "{late:?}");
    assert_eq!(store.head(), 12);
}

#[tokio::test]
async fn corrections_and_retractions_change_the_state_but_keep_the_stream() {
    let Fixture { _dir, store } = fixture();
    let trajectory = TrajectoryId::from_uuid(Uuid::new_v4());
    record_all(&store, trajectory, escalating_case()[..8].to_vec()).await;
    let events = load(&store, trajectory).await.expect("loads").events;
    let escalation = EventId::from_uuid(events[7].event_id);

    let retract = Command::RetractEvent {
        occurred_on: date("2026-05-25"),
        retraction: Retraction {
            retracts: escalation,
            reason: Reason::parse("recorded in the wrong file").expect("a reason"),
        },
    };
    record_all(&store, trajectory, vec![retract]).await;
    let Loaded {
        events,
        trajectory: state,
    } = load(&store, trajectory).await.expect("loads");
    assert_eq!(events.len(), 9, "the retracted step stays in the stream");
    assert_eq!(state.escalation_count(), 0);
    assert_eq!(state.highest_level(), Level::Light);

    // A correction of the signal's payload (urgent, not regular) changes the effective history.
    let Event::Step(Step::SignalReceived(mut signal)) = state.facts()[0].event.clone() else {
        panic!("the first fact is the signal");
    };
    signal.urgency = Urgency::Urgent;
    let correct = Command::CorrectEvent {
        occurred_on: date("2026-05-26"),
        correction: Correction {
            corrects: state.facts()[0].event_id,
            occurred_on: None,
            payload: Some(Step::SignalReceived(signal)),
            reason: Reason::parse("the school reported it as urgent").expect("a reason"),
        },
    };
    record_all(&store, trajectory, vec![correct]).await;
    let state = load(&store, trajectory).await.expect("loads").trajectory;
    assert_eq!(
        state.signal().map(|s| s.details.urgency),
        Some(Urgency::Urgent)
    );
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_writes_nothing() {
    let Fixture { _dir, store } = fixture();
    let trajectory = TrajectoryId::from_uuid(Uuid::new_v4());
    record_all(&store, trajectory, escalating_case()[..2].to_vec()).await;

    let stale = Request {
        expected_version: Some(1),
        ..for_case(trajectory, assess("2026-01-08", LightHelp))
    };
    let outcome = record(&store, &free_text(&store), &stale, &context()).await;

    assert!(
        matches!(
            outcome,
            Err(RecordError::Conflict {
                expected: 1,
                actual: 2
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.map(|_| ()).unwrap_err().code(),
        jeugdpad_app::ErrorCode::Conflict
    );
    assert_eq!(store.head(), 2);
}

#[tokio::test]
async fn concurrent_recorders_with_the_same_expected_version_one_wins() {
    let Fixture { _dir, store } = fixture();
    let trajectory = TrajectoryId::from_uuid(Uuid::new_v4());
    record_all(&store, trajectory, escalating_case()[..2].to_vec()).await;

    let racers = (0..8).map(|i| {
        let store = Arc::clone(&store);
        let racer = Request {
            expected_version: Some(2),
            ..for_case(
                trajectory,
                assess(&format!("2026-01-{:02}", 8 + i), LightHelp),
            )
        };
        tokio::spawn(async move { record(&store, &free_text(&store), &racer, &context()).await })
    });
    let mut won = 0;
    for racer in racers {
        match racer.await.expect("task runs") {
            Ok(_) => won += 1,
            Err(RecordError::Conflict { .. }) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }

    assert_eq!(won, 1);
    assert_eq!(store.head(), 3);
}

#[tokio::test]
async fn a_retried_command_with_its_event_id_is_recorded_once() {
    let Fixture { _dir, store } = fixture();
    let trajectory = TrajectoryId::from_uuid(Uuid::new_v4());
    let event_id = Uuid::new_v4();
    let first = Request {
        event_id: Some(event_id),
        ..for_case(trajectory, open("2026-01-05", "sk-synthetic-2", "zuid"))
    };

    let original = record(&store, &free_text(&store), &first, &context())
        .await
        .expect("recorded");
    let retry = record(&store, &free_text(&store), &first, &context())
        .await
        .expect("a retry succeeds");

    assert!(!original.outcome.already_stored);
    assert!(retry.outcome.already_stored);
    assert_eq!(
        retry.outcome.first_position,
        original.outcome.first_position
    );
    assert_eq!(retry.event_id, event_id);
    assert_eq!(store.head(), 1);
}

#[tokio::test]
async fn an_old_signal_without_urgency_is_upcast_when_read() {
    let Fixture { _dir, store } = fixture();
    let trajectory = TrajectoryId::from_uuid(Uuid::new_v4());
    // What an installation of the first schema wrote: no `urgency` field, schema version 0.
    let v0 = ProposedEvent {
        event_id: Uuid::new_v4(),
        event_type: "signal_received".to_owned(),
        schema_version: 0,
        occurred_on: date("2026-01-05"),
        recorded_by: "migration".to_owned(),
        correlation_id: None,
        causation_id: None,
        payload: serde_json::json!({
            "subject_key": "sk-synthetic-3",
            "team": "west",
            "source": "huisarts",
            "concerns": ["development"],
        }),
    };
    store
        .append(&trajectory.stream_id(), ExpectedVersion::NoStream, vec![v0])
        .await
        .expect("appended");

    let Loaded {
        events,
        trajectory: state,
    } = load(&store, trajectory).await.expect("loads");

    assert_eq!(
        events[0].schema_version, 0,
        "the stored event is never rewritten"
    );
    assert_eq!(
        state.signal().map(|s| s.details.urgency),
        Some(Urgency::Regular)
    );
    // And the trajectory goes on as any other.
    record_all(
        &store,
        trajectory,
        vec![assign("2026-01-06", "consultant-a")],
    )
    .await;
}
