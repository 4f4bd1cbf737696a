//! Websockets sign in with their `connection_init` payload and every subscription asks the
//! gate like any query: refusals are answered and logged, and each payload that carries a
//! trajectory is a logged read.
//! An open subscription loses its access with its caller: a transfer of the trajectory, a
//! revoked token or a deactivated user ends it with one refusal.

use std::time::Duration;

use jeugdpad_access::{AccessAction, Outcome};
use serde_json::{json, Value};

use super::super::subscription::{
    closed_with, connect, init, next_json, next_within, open_socket, subscribe, Socket,
};
use super::super::{altered, consultant_id, lead_id, Server};
use super::new_entries;

/// Whether `message` is a `next` carrying data (as opposed to an error or the end).
fn delivers_data(message: &Option<Value>) -> bool {
    message.as_ref().is_some_and(|m| {
        m["type"] == "next"
            && m["payload"]["data"].is_object()
            && m["payload"].get("errors").is_none()
    })
}

/// The error code in a subscription's refusal (`error`, or `next` with errors).
fn refusal_code(message: &Value) -> Option<&str> {
    let errors = if message["type"] == "error" {
        &message["payload"]
    } else {
        &message["payload"]["errors"]
    };
    errors[0]["extensions"]["code"].as_str()
}

#[tokio::test]
async fn websockets_sign_in_and_subscriptions_ask_the_gate() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-ws-1", "SCHOOL")
        .await;
    let watch = format!(
        "subscription {{ trajectoryEvents(id: \"{}\") {{ version trajectory {{ version }} }} }}",
        case.id
    );

    // Without a token, or with one that does not work, there is no connection: the server
    // closes the socket with graphql-transport-ws' 4401 Unauthorized and says why.
    let unknown = altered(server.token(&consultant_id("noord")));
    for (authorization, reason, says) in [
        (None, "no_credentials", "sign in first"),
        (
            Some(format!("Bearer {unknown}")),
            "unknown_token",
            "this token is unknown",
        ),
        (
            Some("Bearer not-a-token".to_owned()),
            "unrecognised_token",
            "this token is unknown",
        ),
        (
            Some(server.token(&consultant_id("noord")).to_owned()),
            "malformed_credentials",
            "Bearer <token>",
        ),
    ] {
        let logged = server.access_log().await.len();
        let mut socket = open_socket(&server).await;
        init(&mut socket, authorization.as_deref()).await;
        let (code, why) = closed_with(&mut socket)
            .await
            .unwrap_or_else(|| panic!("{reason}: the socket ended without a close frame"));
        assert_eq!(code, 4401, "{reason}: {why}");
        assert!(why.contains(says), "{reason}: {why}");
        assert!(why.len() <= 123, "a close reason fits in a frame: {why}");
        let entries = new_entries(&server, logged).await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].action, AccessAction::FailedSignIn);
        assert_eq!(entries[0].outcome, Outcome::Refused);
        assert_eq!(entries[0].operation, "websocket");
        assert_eq!(entries[0].reason.as_deref(), Some(reason));
        assert_eq!(entries[0].client_address.as_deref(), Some("127.0.0.1"));
    }

    // Subscribing before the connection is acknowledged is refused the same way.
    let mut socket = open_socket(&server).await;
    subscribe(&mut socket, "1", &watch).await;
    let closed = closed_with(&mut socket).await;
    assert_eq!(closed.map(|(code, _)| code), Some(4401));

    // Another team's staff may not watch noord's trajectory or its team.
    let (mut zuid, ack) = connect(&server, server.lead("zuid").authorization()).await;
    assert_eq!(ack.expect("an answer")["type"], "connection_ack");
    for (id, query) in [
        ("1", watch.clone()),
        (
            "2",
            "subscription { teamEvents(team: \"noord\") { type } }".to_owned(),
        ),
    ] {
        let logged = server.access_log().await.len();
        subscribe(&mut zuid, id, &query).await;
        let refusal = next_json(&mut zuid).await;
        assert_eq!(refusal_code(&refusal), Some("FORBIDDEN"), "{refusal}");
        assert_eq!(
            next_json(&mut zuid).await,
            json!({ "id": id, "type": "complete" })
        );
        let entries = new_entries(&server, logged).await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].outcome, Outcome::Refused);
        assert_eq!(
            entries[0].user.as_ref().map(|u| u.as_str()),
            Some(lead_id("zuid").as_str())
        );
    }

    // Noord's team lead watches; subscribing is a read, and so is every payload that carries
    // the trajectory.
    let (mut noord, ack) = connect(&server, server.lead("noord").authorization()).await;
    assert_eq!(ack.expect("an answer")["type"], "connection_ack");
    let logged = server.access_log().await.len();
    subscribe(&mut noord, "1", &watch).await;
    case.assess("2026-03-09").await;
    case.request("2026-03-10", "PARENTING_SUPPORT").await;
    for version in [2, 3] {
        let message = next_json(&mut noord).await;
        let event = &message["payload"]["data"]["trajectoryEvents"];
        assert_eq!(event["version"], version, "{message}");
        // The trajectory as the read models show it when the payload is sent: with this step
        // (and perhaps already the next).
        let shown = event["trajectory"]["version"].as_u64().unwrap_or_default();
        assert!(shown >= version, "{message}");
    }
    let reads: Vec<_> = new_entries(&server, logged)
        .await
        .into_iter()
        .filter(|entry| entry.action == AccessAction::Read)
        .collect();
    assert_eq!(
        reads.len(),
        3,
        "the subscription and two payloads: {reads:?}"
    );
    for read in &reads {
        assert_eq!(read.outcome, Outcome::Granted);
        assert_eq!(
            read.user.as_ref().map(|u| u.as_str()),
            Some(lead_id("noord").as_str())
        );
        assert_eq!(
            read.trajectory.map(|t| t.to_string()),
            Some(case.id.clone())
        );
    }
}

/// What a watcher receives within a second of a step recorded after its access was taken
/// away.
async fn after_access_is_gone(socket: &mut impl Socket) -> Option<Value> {
    next_within(socket, Duration::from_secs(1)).await
}

#[tokio::test]
async fn a_subscription_ends_when_its_trajectory_moves_to_another_team() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-ws-2", "SCHOOL")
        .await;
    let (mut socket, ack) = connect(&server, server.consultant("noord").authorization()).await;
    assert_eq!(ack.expect("an answer")["type"], "connection_ack");
    subscribe(
        &mut socket,
        "1",
        &format!(
            "subscription {{ trajectoryEvents(id: \"{}\") {{ type version occurredOn }} }}",
            case.id
        ),
    )
    .await;
    // The transfer itself is noord's own step: they see it.
    case.step("transferTeam", "2026-03-02", "team: \"zuid\"")
        .await;
    let transfer = next_json(&mut socket).await;
    assert_eq!(
        transfer["payload"]["data"]["trajectoryEvents"]["type"],
        "TEAM_TRANSFERRED"
    );
    // From now on it is zuid's trajectory, which noord may not read (see the matrix).
    let case = case.recorded_by(server.consultant("zuid"));
    case.assess("2026-03-09").await;

    let message = after_access_is_gone(&mut socket).await;
    assert!(
        !delivers_data(&message),
        "noord's consultant still receives zuid's steps: {message:?}"
    );
}

#[tokio::test]
async fn a_subscription_ends_when_its_token_is_revoked() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-ws-3", "SCHOOL")
        .await;
    let (token_id, token) = server.mint_token(&lead_id("noord"), None).await;
    let (mut socket, ack) = connect(&server, Some(&format!("Bearer {token}"))).await;
    assert_eq!(ack.expect("an answer")["type"], "connection_ack");
    subscribe(
        &mut socket,
        "1",
        &format!(
            "subscription {{ trajectoryEvents(id: \"{}\") {{ type trajectory {{ timeline {{ type }} }} }} }}",
            case.id
        ),
    )
    .await;
    case.assess("2026-03-09").await;
    assert!(delivers_data(&Some(next_json(&mut socket).await)));

    // The admin revokes the token and deactivates the user …
    let admin = server.admin();
    admin
        .gql(
            "mutation($id: String!) { revokeToken(tokenId: $id) }",
            json!({ "id": token_id }),
        )
        .await;
    admin
        .gql(
            "mutation($user: String!) { deactivateUser(user: $user) }",
            json!({ "user": lead_id("noord") }),
        )
        .await;
    // … and over HTTP the token is refused at once,
    let answer = server.bearer(&token).send("{ today }", json!({})).await;
    assert_eq!(answer.status, 401);
    // but the open subscription keeps delivering the file.
    case.request("2026-03-10", "PARENTING_SUPPORT").await;
    let message = after_access_is_gone(&mut socket).await;
    assert!(
        !delivers_data(&message),
        "a revoked token of a deactivated user still receives the timeline: {message:?}"
    );
}
