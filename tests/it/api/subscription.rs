//! A real websocket client (graphql-transport-ws) receives what another client records.

use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error, Message};

use super::Server;

/// What a websocket client sends and receives.
pub trait Socket:
    Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error> + Unpin
{
}

impl<S> Socket for S where
    S: Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error> + Unpin
{
}

/// Opens a graphql-transport-ws connection and sends `connection_init` with `authorization`
/// (the way browsers sign in: they cannot set headers on a websocket). Returns the socket and
/// the server's first answer (`connection_ack`, or why not).
pub async fn connect(server: &Server, authorization: Option<&str>) -> (impl Socket, Option<Value>) {
    let mut socket = open_socket(server).await;
    init(&mut socket, authorization).await;
    let first = next_within(&mut socket, Duration::from_secs(10)).await;
    (socket, first)
}

/// A graphql-transport-ws socket on which nothing has been said yet.
pub async fn open_socket(server: &Server) -> impl Socket {
    let mut request = format!("ws://{}/graphql/ws", server.server.addr)
        .into_client_request()
        .expect("a websocket request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("a header value"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the websocket connects");
    socket
}

/// Sends `connection_init` with `{"Authorization": authorization}` (or an empty payload).
pub async fn init(socket: &mut impl Socket, authorization: Option<&str>) {
    let payload = match authorization {
        Some(value) => json!({ "Authorization": value }),
        None => json!({}),
    };
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
}

/// The close frame's code and reason, skipping anything before it; `None` when the socket
/// ended without one (or stayed open for 10 s). A JSON message on the way is a failure: the
/// caller expects the server to close.
pub async fn closed_with(socket: &mut impl Socket) -> Option<(u16, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match message {
            Ok(Message::Close(frame)) => {
                return frame.map(|frame| (u16::from(frame.code), frame.reason.to_string()))
            }
            Ok(Message::Text(text)) => panic!("expected the socket to close, got {text}"),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// Starts subscription `id` with `query`.
pub async fn subscribe(socket: &mut impl Socket, id: &str, query: &str) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
    // Give the server a moment to register it before anything is recorded.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

async fn send(socket: &mut impl Socket, value: Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .expect("the message is sent");
}

/// The next JSON message within `wait`; `None` when none came or the socket closed.
pub async fn next_within(socket: &mut impl Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match message {
            Ok(Message::Text(text)) => {
                return Some(serde_json::from_str(&text).expect("JSON message"))
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The next JSON message, which must come within 10 s.
pub async fn next_json(socket: &mut impl Socket) -> Value {
    next_within(socket, Duration::from_secs(10))
        .await
        .expect("a message within 10 s")
}

#[tokio::test]
async fn a_subscriber_receives_steps_recorded_by_another_client() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-sub-1", "SCHOOL")
        .await;

    // The team lead of the owning team watches; its consultant records.
    let (mut socket, ack) = connect(&server, server.lead("noord").authorization()).await;
    assert_eq!(ack.expect("an answer")["type"], "connection_ack");
    subscribe(
        &mut socket,
        "1",
        &format!(
            "subscription {{ trajectoryEvents(id: \"{}\") {{ type version }} }}",
            case.id
        ),
    )
    .await;

    // Another client records two steps.
    case.step(
        "assignConsultant",
        "2026-03-02",
        "consultant: \"consultant-b\"",
    )
    .await;
    case.assess("2026-03-09").await;

    let first = next_json(&mut socket).await;
    let second = next_json(&mut socket).await;
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(
        first["payload"]["data"]["trajectoryEvents"],
        json!({ "type": "CONSULTANT_ASSIGNED", "version": 2 })
    );
    assert_eq!(
        second["payload"]["data"]["trajectoryEvents"],
        json!({ "type": "ASSESSMENT_COMPLETED", "version": 3 })
    );
}
