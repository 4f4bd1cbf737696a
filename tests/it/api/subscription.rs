//! A real websocket client (graphql-transport-ws) receives what another client records.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::Server;

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket stays open")
            .expect("a valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON message");
        }
    }
}

#[tokio::test]
async fn a_subscriber_receives_steps_recorded_by_another_client() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-sub-1", "SCHOOL")
        .await;

    let mut request = format!("ws://{}/graphql/ws", server.server.addr)
        .into_client_request()
        .expect("a websocket request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("a header value"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the websocket connects");
    let send = |value: Value| Message::Text(value.to_string().into());
    socket
        .send(send(json!({ "type": "connection_init", "payload": {} })))
        .await
        .expect("init sent");
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    socket
        .send(send(json!({ "id": "1", "type": "subscribe", "payload": {
            "query": format!("subscription {{ trajectoryEvents(id: \"{}\") {{ type version }} }}", case.id)
        }})))
        .await
        .expect("subscribe sent");

    // Another client records two steps; give the subscription a moment to be registered first.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
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
