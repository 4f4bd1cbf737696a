//! The stored form: round trips of every event type, upcasting and decode errors.

use serde_json::json;

use super::*;

fn every_event() -> Vec<Event> {
    let steps = vec![
        Step::SignalReceived(signal_payload()),
        Step::ConsultantAssigned(ConsultantAssigned {
            consultant: UserId::parse("c1").unwrap(),
        }),
        Step::TeamTransferred(TeamTransferred {
            team: TeamCode::parse("zuid").unwrap(),
        }),
        Step::AssessmentCompleted(AssessmentCompleted {
            conclusion: AssessmentConclusion::SafetyConcern,
        }),
        Step::HelpRequested(HelpRequested {
            form: HelpForm::FosterCare,
        }),
        Step::DecisionIssued(DecisionIssued {
            provider: Some(Provider::parse("Parlan").unwrap()),
            valid_until: Some(day(90)),
            foster: Some(foster()),
            ..decision_payload(3, HelpForm::FosterCare, DecisionFunding::Pgb)
        }),
        Step::HelpStarted(help_payload("E1", HelpForm::FosterCare)),
        Step::HelpEnded(HelpEnded {
            episode_id: EpisodeId::parse("E1").unwrap(),
            result: HelpResult::DroppedOut,
        }),
        Step::PgbGranted(pgb_payload(99_50)),
        Step::PgbReviewScheduled(PgbReviewScheduled { due_on: day(40) }),
        Step::PgbReviewCompleted(PgbReviewCompleted {
            decision: PgbReviewDecision::Stop,
            quality_concern: true,
            irregularity_suspected: true,
        }),
        Step::TrajectoryClosed(TrajectoryClosed {
            reason: CloseReason::TransferredAdultCare,
        }),
    ];
    let mut events: Vec<Event> = steps.iter().cloned().map(Event::Step).collect();
    for step in steps {
        events.push(Event::Corrected(Correction {
            corrects: id(2),
            occurred_on: Some(day(4)),
            payload: Some(step),
            reason: Reason::parse("typo").unwrap(),
        }));
    }
    events.push(Event::Corrected(Correction {
        corrects: id(2),
        occurred_on: Some(day(4)),
        payload: None,
        reason: Reason::parse("wrong date").unwrap(),
    }));
    events.push(Event::Retracted(Retraction {
        retracts: id(3),
        reason: Reason::parse("wrong file").unwrap(),
    }));
    events
}

#[test]
fn every_event_is_the_fact_of_the_command_made_from_it() {
    for event in every_event() {
        let command = Command::from_event(day(3), &event);
        assert_eq!(command.occurred_on(), day(3));
        assert_eq!(command.to_event(), event);
    }
}

#[test]
fn every_event_type_round_trips() {
    let events = every_event();
    let types: std::collections::HashSet<_> = events.iter().map(Event::event_type).collect();
    assert_eq!(types.len(), EventType::ALL.len());
    for event in events {
        let encoded = event.encode();
        assert_eq!(encoded.schema_version, CURRENT_SCHEMA_VERSION);
        let decoded =
            Event::decode(encoded.event_type, encoded.schema_version, &encoded.payload).unwrap();
        assert_eq!(decoded, event, "{}", encoded.payload);
        // From the JSON text as the store keeps it, the same event.
        let text = serde_json::to_vec(&encoded.payload).unwrap();
        let from_text =
            Event::decode_json(encoded.event_type, encoded.schema_version, &text).unwrap();
        assert_eq!(from_text, event, "{}", encoded.payload);
    }
}

#[test]
fn stored_payloads_look_like_the_spec() {
    let help = Event::Step(Step::HelpStarted(help_payload("E1", HelpForm::FosterCare))).encode();
    assert_eq!(
        help.payload,
        json!({"episode_id": "E1", "form": "foster_care", "foster_kind": "network", "foster_mode": "full_time"})
    );
    let correction = Event::Corrected(Correction {
        corrects: id(7),
        occurred_on: None,
        payload: Some(Step::HelpEnded(HelpEnded {
            episode_id: EpisodeId::parse("E1").unwrap(),
            result: HelpResult::PartlyMet,
        })),
        reason: Reason::parse("result was partly met").unwrap(),
    })
    .encode();
    assert_eq!(correction.event_type, "event_corrected");
    assert_eq!(
        correction.payload,
        json!({
            "corrects": "00000000-0000-0000-0000-000000000007",
            "payload": {"type": "help_ended", "schema_version": 1, "episode_id": "E1", "result": "partly_met"},
            "reason": "result was partly met"
        })
    );
}

#[test]
fn v0_signal_is_upcast_to_regular_urgency() {
    let v0 = json!({
        "subject_key": "sk-old", "team": "noord", "source": "huisarts", "concerns": ["behaviour"]
    });
    let Event::Step(Step::SignalReceived(signal)) =
        Event::decode("signal_received", 0, &v0).unwrap()
    else {
        panic!("not a signal");
    };
    assert_eq!(signal.urgency, Urgency::Regular);
    assert_eq!(signal.birth_year, None);
    // From the JSON text too: an old payload goes through the same upcasting.
    assert_eq!(
        Event::decode_json("signal_received", 0, &serde_json::to_vec(&v0).unwrap()).unwrap(),
        Event::decode("signal_received", 0, &v0).unwrap()
    );
    // A replacement payload written at v0 is upcast the same way.
    let correction = json!({
        "corrects": "00000000-0000-0000-0000-000000000001",
        "payload": {"type": "signal_received", "schema_version": 0, "subject_key": "sk-old", "team": "noord",
                    "source": "jgz", "concerns": ["development"]},
        "reason": "source was jgz"
    });
    let Event::Corrected(Correction {
        payload: Some(Step::SignalReceived(signal)),
        ..
    }) = Event::decode("event_corrected", 1, &correction).unwrap()
    else {
        panic!("not a signal correction");
    };
    assert_eq!(signal.urgency, Urgency::Regular);
    assert_eq!(
        Event::decode_json(
            "event_corrected",
            1,
            &serde_json::to_vec(&correction).unwrap()
        )
        .unwrap(),
        Event::decode("event_corrected", 1, &correction).unwrap()
    );
}

#[test]
fn the_text_is_read_as_the_tree_is() {
    // A key given twice: the tree keeps the last, and so does the read from the text.
    let twice = br#"{"episode_id": "E1", "episode_id": "E2", "result": "partly_met"}"#;
    let tree: serde_json::Value = serde_json::from_slice(twice).unwrap();
    let from_tree = Event::decode("help_ended", 1, &tree).unwrap();
    assert_eq!(
        Event::decode_json("help_ended", 1, twice).unwrap(),
        from_tree
    );
    let Event::Step(Step::HelpEnded(ended)) = from_tree else {
        panic!("not help_ended");
    };
    assert_eq!(ended.episode_id.as_str(), "E2");
}

#[test]
fn decode_errors_are_clear() {
    let check = |event_type: &str, version: u32, payload: serde_json::Value, expected: &str| {
        let error = Event::decode(event_type, version, &payload).unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
        let text = serde_json::to_vec(&payload).unwrap();
        let error = Event::decode_json(event_type, version, &text).unwrap_err();
        assert!(
            error.to_string().contains(expected),
            "from the text: {error}"
        );
    };
    check(
        "signal_deleted",
        1,
        json!({}),
        "unknown event type 'signal_deleted'",
    );
    check(
        "help_requested",
        2,
        json!({"form": "mediation"}),
        "newer than this build supports (1)",
    );
    check(
        "help_requested",
        0,
        json!({"form": "mediation"}),
        "never existed",
    );
    check(
        "help_requested",
        1,
        json!({"form": "massage"}),
        "'massage' is not a known help form code",
    );
    check(
        "signal_received",
        1,
        json!({"subject_key": "123456782", "team": "noord", "source": "school",
        "concerns": ["other"], "urgency": "acute"}),
        "looks like a BSN",
    );
    check(
        "help_started",
        1,
        json!({"episode_id": "E1", "form": "foster_care", "foster_kind": "network"}),
        "foster_kind and foster_mode go together",
    );
    let nested = json!({"corrects": "00000000-0000-0000-0000-000000000001",
        "payload": {"type": "event_retracted", "schema_version": 1, "retracts": "00000000-0000-0000-0000-000000000001",
                    "reason": "x"},
        "reason": "x"});
    check("event_corrected", 1, nested, "must be a step");
    // Text that is not JSON at all, current or old.
    for version in [0, 1] {
        let error = Event::decode_json("signal_received", version, b"{not json").unwrap_err();
        assert!(
            error.to_string().contains("payload (schema version"),
            "{error}"
        );
    }
}
