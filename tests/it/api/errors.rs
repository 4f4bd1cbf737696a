//! Every error a user can cause has a stable code and a sentence, and writes nothing.

use serde_json::json;

use super::Server;

/// What the trajectory streams hold. Not the store's head: the log also holds the `admin`
/// stream and the `access-log` stream, which records every attempt, refused ones included.
async fn written(server: &Server) -> usize {
    server.trajectory_event_count().await
}

#[tokio::test]
async fn user_mistakes_get_stable_codes_and_write_nothing() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-err-1", "SCHOOL")
        .await;
    let consultant = server.consultant("noord");
    let before = written(&server).await;

    // A subject key that looks like a BSN (nine digits, synthetic) is refused.
    let (code, message) = consultant
        .gql_error(
            "mutation($signal: SignalInput!) { openTrajectory(occurredOn: \"2026-03-01\", signal: $signal) { version } }",
            json!({ "signal": { "subjectKey": "123456782", "team": "noord", "source": "SCHOOL",
                                "concerns": ["PARENTING"], "urgency": "REGULAR" } }),
        )
        .await;
    assert_eq!(code, "VALIDATION", "{message}");
    assert!(
        !message.contains("123456782"),
        "the error must not echo a BSN: {message}"
    );

    // Ending help that never started breaks a rule of the trajectory.
    let (code, message) = consultant
        .gql_error(
            &format!(
                "mutation {{ endHelp(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
                     episodeId: \"E9\", result: GOALS_MET) {{ version }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "INVALID_TRANSITION");
    assert!(message.contains("E9"), "{message}");

    // Retracting the signal would leave a trajectory without its opening: refused.
    let (code, message) = consultant
        .gql_error(
            &format!(
                "mutation {{ retractEvent(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
                     retracts: \"{}\", reason: \"test\") {{ version }} }}",
                case.id, case.signal
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "INVALID_TRANSITION", "{message}");

    // A step in the future.
    let (code, _) = consultant
        .gql_error(
            &format!(
                "mutation {{ completeAssessment(trajectoryId: \"{}\", occurredOn: \"2026-07-01\",
                     conclusion: LIGHT_HELP) {{ version }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    assert!(
        code == "VALIDATION" || code == "INVALID_TRANSITION",
        "{code}"
    );

    // A trajectory that does not exist.
    let (code, _) = consultant
        .gql_error(
            &format!(
                "{{ trajectory(id: \"{}\") {{ version }} }}",
                uuid::Uuid::new_v4()
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");

    // A malformed id and an invalid team code.
    let (code, _) = consultant
        .gql_error("{ trajectory(id: \"not-a-uuid\") { version } }", json!({}))
        .await;
    assert_eq!(code, "VALIDATION");
    let (code, _) = consultant
        .gql_error(
            &format!(
                "mutation {{ transferTeam(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
                     team: \"Team Noord!\") {{ version }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "VALIDATION");

    assert_eq!(
        written(&server).await,
        before,
        "a refused step writes nothing"
    );
}

/// A synthetic BSN (passes the elfproef) typed where it does not belong.
const BSN: &str = "111222333";

const OPEN: &str = "mutation($s: SignalInput!) { openTrajectory(occurredOn: \"2026-03-01\", signal: $s) { version } }";

/// A signal by BSN with `changes` applied.
fn signal(changes: serde_json::Value) -> serde_json::Value {
    let mut signal = json!({ "bsn": BSN, "team": "noord", "source": "SCHOOL",
                             "concerns": ["PARENTING"], "urgency": "REGULAR" });
    if let (Some(base), serde_json::Value::Object(changes)) = (signal.as_object_mut(), changes) {
        base.extend(changes);
    }
    json!({ "s": signal })
}

#[tokio::test]
async fn a_bsn_in_the_wrong_place_is_refused_without_being_repeated() {
    let server = Server::start().await;
    let consultant = server.consultant("noord");
    let before = written(&server).await;
    let cases = [
        // As a number instead of a string, inline and as a variable.
        (
            "mutation { openTrajectory(occurredOn: \"2026-03-01\", signal: { bsn: 111222333,
                 team: \"noord\", source: SCHOOL, concerns: [PARENTING], urgency: REGULAR }) { version } }"
                .to_owned(),
            json!({}),
        ),
        (OPEN.to_owned(), signal(json!({ "bsn": 111_222_333 }))),
        // In a field that does not exist.
        (OPEN.to_owned(), signal(json!({ "remark": BSN }))),
        // As a subject key, a trajectory id, or next to a subject key.
        (
            format!("{{ subjectTrajectories(subjectKey: \"{BSN}\") {{ team }} }}"),
            json!({}),
        ),
        (format!("{{ trajectory(id: \"{BSN}\") {{ version }} }}"), json!({})),
        (
            format!("{{ subjectTrajectories(bsn: \"{BSN}\", subjectKey: \"{BSN}\") {{ team }} }}"),
            json!({}),
        ),
        // One digit too many or a letter: not a BSN.
        (
            "{ subjectTrajectories(bsn: \"1112223330\") { team } }".to_owned(),
            json!({}),
        ),
        (
            "{ subjectTrajectories(bsn: \"11122233x\") { team } }".to_owned(),
            json!({}),
        ),
    ];
    for (query, variables) in cases {
        let answer = consultant.send(&query, variables).await;
        assert_eq!(answer.code(), Some("VALIDATION"), "{}", answer.text);
        assert!(
            !answer.text.contains(&BSN[..8]),
            "the answer repeats the number: {}",
            answer.text
        );
    }
    assert_eq!(written(&server).await, before, "nothing was recorded");
}

#[tokio::test]
async fn a_bsn_typed_into_a_code_field_is_not_repeated() {
    let server = Server::start().await;
    let answer = server
        .consultant("noord")
        .send(OPEN, signal(json!({ "source": BSN })))
        .await;
    assert_eq!(answer.code(), Some("VALIDATION"), "{}", answer.text);
    assert!(
        !answer.text.contains(&BSN[..8]),
        "the answer repeats the number: {}",
        answer.text
    );
}

/// The first error's `extensions.reason`.
fn reason(answer: &super::Answer) -> Option<&str> {
    answer.body["errors"][0]["extensions"]["reason"].as_str()
}

#[tokio::test]
async fn a_date_in_another_form_is_told_the_form_expected() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-err-date", "SCHOOL")
        .await;
    let consultant = server.consultant("noord");
    let before = written(&server).await;
    let assess = |on: &str| {
        format!(
            "mutation {{ completeAssessment(trajectoryId: \"{}\", occurredOn: \"{on}\",
                 conclusion: LIGHT_HELP) {{ version }} }}",
            case.id
        )
    };
    let by_variable = "mutation($on: Date!, $signal: SignalInput!) {
        openTrajectory(occurredOn: $on, signal: $signal) { version } }";
    let signal = json!({ "subjectKey": "sk-err-date-2", "team": "noord", "source": "SCHOOL",
                         "concerns": ["PARENTING"], "urgency": "REGULAR" });
    // (query, variables, what the message must say)
    let cases = [
        // The Dutch way of writing 30 November 2026, inline and as a variable.
        (assess("30-11-2026"), json!({}), "(year first)"),
        (
            by_variable.to_owned(),
            json!({ "on": "30-11-2026", "signal": signal }),
            "(year first)",
        ),
        (assess("2026/03/02"), json!({}), "(year first)"),
        // The right form, but no such day.
        (assess("2026-02-30"), json!({}), "there is no such day"),
        // A number instead of a string.
        (
            by_variable.to_owned(),
            json!({ "on": 20_260_302, "signal": signal }),
            "expected a date",
        ),
    ];
    for (query, variables, says) in cases {
        let answer = consultant.send(&query, variables).await;
        let message = answer.message();
        assert_eq!(answer.code(), Some("VALIDATION"), "{}", answer.text);
        assert_eq!(reason(&answer), Some("date_format"), "{}", answer.text);
        assert!(
            message.contains("expected a date as YYYY-MM-DD, e.g. 2026-11-30"),
            "{message}"
        );
        assert!(message.contains(says), "'{says}' missing from: {message}");
        assert!(!message.contains("Failed to parse"), "{message}");
        for refused in ["30-11-2026", "2026/03/02", "2026-02-30", "20260302"] {
            assert!(!message.contains(refused), "echoes the input: {message}");
        }
    }
    assert_eq!(written(&server).await, before, "nothing was recorded");
}

#[tokio::test]
async fn a_bsn_written_wrongly_is_told_so_rather_than_failing_the_elfproef() {
    let server = Server::start().await;
    let consultant = server.consultant("noord");
    let lookup = "query($bsn: String) { subjectTrajectories(bsn: $bsn) { team } }";
    // (what was typed, reason, what the message must say, what it must not)
    let cases = [
        // Eight digits in two groups: typed by hand with a digit missing.
        ("1234 5678", "bsn_length", "nine digits", "elfproef"),
        ("123.45.678", "bsn_length", "nine digits", "elfproef"),
        // Nine digits, written as people do, with a wrong check digit.
        ("1112.22.334", "bsn_elfproef", "elfproef", "nine digits"),
        ("111 222 334", "bsn_elfproef", "elfproef", "nine digits"),
        // Eight plain digits: a leading zero lost in a spreadsheet, then checked.
        ("12345612", "bsn_elfproef", "elfproef", "nine digits"),
        ("11122233x", "bsn_not_digits", "only digits", "elfproef"),
    ];
    for (typed, expected, says, not) in cases {
        let answer = consultant.send(lookup, json!({ "bsn": typed })).await;
        let message = answer.message();
        assert_eq!(
            answer.code(),
            Some("VALIDATION"),
            "{typed}: {}",
            answer.text
        );
        assert_eq!(reason(&answer), Some(expected), "{typed}: {}", answer.text);
        assert!(message.contains(says), "{typed}: {message}");
        assert!(!message.contains(not), "{typed}: {message}");
        assert!(
            !message.chars().any(|c| c.is_ascii_digit()),
            "{typed}: the message shows digits: {message}"
        );
    }
}

/// An implausible date (docs/rules.md, `DateRule`) is refused with `VALIDATION` and the slug
/// `implausible_date`, through every date-bearing field of the API; nothing is written.
#[tokio::test]
async fn an_implausible_date_is_refused_and_writes_nothing() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-err-implausible", "SCHOOL")
        .await;
    case.request("2026-03-02", "SPECIALIST_AMBULANT").await;
    case.step(
        "issueDecision",
        "2026-03-03",
        "decision: { granted: true, form: SPECIALIST_AMBULANT, validFrom: \"2026-03-03\", funding: PGB }",
    )
    .await;
    case.step(
        "grantPgb",
        "2026-03-04",
        "pgb: { amountCents: 120000, period: MONTH, productCategory: \"45\" }",
    )
    .await;
    case.request("2026-03-05", "PARENTING_SUPPORT").await;
    let consultant = server.consultant("noord");
    let before = written(&server).await;
    let step = |mutation: &str, on: &str, args: &str| {
        format!(
            "mutation {{ {mutation}(trajectoryId: \"{}\", occurredOn: \"{on}\", {args}) {{ version }} }}",
            case.id
        )
    };
    let decision = |from: &str, until: &str| {
        step(
            "issueDecision",
            "2026-03-06",
            &format!("decision: {{ granted: true, form: PARENTING_SUPPORT, validFrom: \"{from}\", validUntil: \"{until}\", funding: IN_KIND }}"),
        )
    };
    let opened = |on: &str| {
        format!(
            "mutation {{ openTrajectory(occurredOn: \"{on}\", signal: {{ subjectKey: \"sk-err-1900\",
                 team: \"noord\", source: SCHOOL, concerns: [PARENTING], urgency: REGULAR }}) {{ version }} }}"
        )
    };
    let attempts = [
        opened("1900-01-01"),
        opened("0000-01-01"),
        opened("2014-12-31"),
        step("schedulePgbReview", "2026-03-06", "dueOn: \"9999-12-31\""),
        step("schedulePgbReview", "2026-03-06", "dueOn: \"2030-01-01\""),
        decision("2026-03-06", "9999-12-31"),
        decision("1900-01-01", "2026-12-31"),
        decision("2031-01-01", "2031-12-31"),
    ];
    for query in attempts {
        let answer = consultant.send(&query, json!({})).await;
        assert_eq!(
            answer.code(),
            Some("VALIDATION"),
            "{query}: {}",
            answer.body
        );
        assert_eq!(reason(&answer), Some("implausible_date"), "{}", answer.body);
    }
    assert_eq!(
        written(&server).await,
        before,
        "a refused step writes nothing"
    );
    // The bounds are inclusive: a review due three years on is plausible.
    consultant
        .gql(
            &step("schedulePgbReview", "2026-03-06", "dueOn: \"2029-03-06\""),
            json!({}),
        )
        .await;
}
