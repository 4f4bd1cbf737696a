//! Subscriptions over a websocket (graphql-transport-ws, and the older subscriptions-transport-ws
//! that GraphiQL versions before 2 speak), at `/graphql/ws` and by upgrade on `/graphql`.
//!
//! # Signing in
//!
//! Browsers cannot set headers on a websocket, so the token travels in the `connection_init`
//! payload, under the same name and in the same form as the HTTP header:
//! `{"type": "connection_init", "payload": {"Authorization": "Bearer <token>"}}` (the key
//! `authorization` is accepted too). The web app's pages send no token: their upgrade request
//! carries the session cookie, and when it names a live session and comes from this server's
//! own pages (`Origin` = `Host`), a `connection_init` without `Authorization` signs in as that
//! session (`session::from_upgrade`). It is checked exactly like the header of an HTTP request
//! (API token or identity-provider JWT), and a failure is written to the access log (operation
//! `websocket`, with the same reason slug as over HTTP).
//!
//! # Close codes
//!
//! async-graphql 7.2.1 closes a refused `connection_init` with 1002 (protocol error), a message
//! it cannot read with 1002 as well, and a `subscribe` before the connection is acknowledged with
//! 1011; it offers no way to choose the code. The socket's sending half is therefore wrapped
//! ([`protocol_close`]) so that the codes are graphql-transport-ws' own:
//!
//! - **4401 Unauthorized**: sign-in at `connection_init` failed (no token, or a token that is
//!   unknown, revoked or expired, or an account that is deactivated — the HTTP API's 401), and
//!   a `subscribe` before `connection_ack` (as the protocol prescribes). The reason is the same
//!   sentence the HTTP API gives, cut to the 123 bytes a close frame holds.
//! - **4400 Bad Request**: a message that is not graphql-transport-ws.
//! - 4429 (a second `connection_init`) and 3008 (keep-alive timeout) pass unchanged.
//!
//! 4401 rather than the 4403 Forbidden that the graphql-ws reference server sends when its
//! `onConnect` refuses: the failure is about credentials (HTTP's 401, not 403), and the graphql-ws
//! client treats 4401 as final but reconnects after 4403 — retrying a bad token in a loop. What a
//! signed-in caller may not do is refused per subscription (`FORBIDDEN` in an `error` message for
//! that subscription id); the socket stays open for the others.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::response::{IntoResponse, Response};
use futures_util::{future, SinkExt, StreamExt};
use uuid::Uuid;

use super::{graphql, Http};
use crate::auth::AuthFailure;
use crate::gate::{log_failed_sign_in, ClientInfo, Gate};
use crate::schema::{RequestId, Transport};
use crate::session::Session;
use crate::state::AppState;

/// graphql-transport-ws: the client sent something that is not a message of the protocol.
pub(crate) const BAD_REQUEST: u16 = 4400;
/// graphql-transport-ws: not signed in (at `connection_init`, or a `subscribe` before it).
pub(crate) const UNAUTHORIZED: u16 = 4401;
/// The most a close frame's reason may hold (RFC 6455: 125 bytes of payload, 2 for the code).
const MAX_REASON_BYTES: usize = 123;

/// Where the connection's sign-in stands, as the close-code rewriting sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum SignIn {
    /// No `connection_init` answered yet.
    Pending = 0,
    Accepted = 1,
    Refused = 2,
}

impl SignIn {
    fn load(cell: &AtomicU8) -> SignIn {
        match cell.load(Ordering::Acquire) {
            1 => SignIn::Accepted,
            2 => SignIn::Refused,
            _ => SignIn::Pending,
        }
    }
}

/// `/graphql/ws`: the websocket upgrade.
pub(super) async fn websocket(
    State(http): State<Http>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let client = graphql::client_info(&parts);
    match (
        GraphQLProtocol::from_request_parts(&mut parts, &()).await,
        WebSocketUpgrade::from_request_parts(&mut parts, &()).await,
    ) {
        (Ok(protocol), Ok(upgrade)) => {
            let session = crate::session::from_upgrade(&http.state, &parts.headers, &client).await;
            upgrade_websocket(http, protocol, upgrade, client, session)
        }
        (Err(rejection), _) => rejection.into_response(),
        (_, Err(rejection)) => rejection.into_response(),
    }
}

/// Serves one websocket until the client leaves or the server stops.
pub(super) fn upgrade_websocket(
    http: Http,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
    client: ClientInfo,
    session: Option<Session>,
) -> Response {
    let (state, schema) = (http.state.clone(), http.schema.clone());
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let _open = state.metrics.websocket_opened();
            let mut data = Data::default();
            data.insert(RequestId(Uuid::now_v7()));
            data.insert(Transport(axum::http::Method::POST));
            let sign_in = Arc::new(AtomicU8::new(SignIn::Pending as u8));
            let (sink, stream) = socket.split();
            let seen = Arc::clone(&sign_in);
            let sink = sink.with(move |message: Message| {
                future::ready(Ok::<_, axum::Error>(protocol_close(
                    message,
                    SignIn::load(&seen),
                )))
            });
            let auth_state = state.clone();
            let connection = GraphQLWebSocket::new_with_pair(sink, stream, schema, protocol)
                .with_data(data)
                .on_connection_init(move |payload| async move {
                    let signed_in = websocket_sign_in(&auth_state, &payload, client, session).await;
                    let outcome = if signed_in.is_ok() {
                        SignIn::Accepted
                    } else {
                        SignIn::Refused
                    };
                    sign_in.store(outcome as u8, Ordering::Release);
                    let mut data = Data::default();
                    data.insert(signed_in?);
                    Ok(data)
                })
                .serve();
            let mut stopping = state.stopping.clone();
            tokio::select! {
                () = connection => {}
                _ = stopping.wait_for(|stop| *stop) => {}
            }
        })
}

/// Signs in a websocket from its `connection_init` payload; a refusal is written to the access
/// log and closes the connection (4401, see the module docs).
async fn websocket_sign_in(
    state: &AppState,
    payload: &serde_json::Value,
    client: ClientInfo,
    session: Option<Session>,
) -> async_graphql::Result<Gate> {
    let header = ["Authorization", "authorization"]
        .iter()
        .find_map(|key| payload.get(key).and_then(serde_json::Value::as_str));
    if let (None, Some(session)) = (header, session) {
        return Ok(session.gate(client));
    }
    let signed_in = match header {
        Some(value) => state.auth.sign_in_bearer(value, state.clock.now()).await,
        None => Err(AuthFailure::Missing),
    };
    match signed_in {
        Ok(signed_in) => Ok(Gate {
            principal: signed_in.principal,
            client,
            expires_at: signed_in.expires_at,
            session: None,
            logged: crate::gate::LoggedAccesses::default(),
        }),
        Err(failure) => {
            state.metrics.sign_in_failed("websocket", &failure.reason());
            log_failed_sign_in(state, &client, "websocket", &failure.reason(), None).await;
            Err(async_graphql::Error::new(failure.message()))
        }
    }
}

/// Gives a close frame from async-graphql graphql-transport-ws' own code (see the module docs)
/// and a reason that fits in the frame. Every other message passes unchanged. Only
/// graphql-transport-ws closes with a code: subscriptions-transport-ws answers a refused
/// `connection_init` with a `connection_error` message instead.
fn protocol_close(message: Message, sign_in: SignIn) -> Message {
    let Message::Close(Some(frame)) = message else {
        return message;
    };
    let (code, reason) = match (frame.code, sign_in) {
        // The sign-in's own sentence (the HTTP API's message).
        (1002, SignIn::Refused) => (UNAUTHORIZED, fit_reason(&frame.reason)),
        (1002, _) => (BAD_REQUEST, fit_reason(&frame.reason)),
        (1011, SignIn::Pending) => (
            UNAUTHORIZED,
            "sign in first: send connection_init with {\"Authorization\": \"Bearer <token>\"}"
                .to_owned(),
        ),
        (code, _) => (code, fit_reason(&frame.reason)),
    };
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// `reason` cut to what a close frame holds, at a character boundary, with `…` when cut.
fn fit_reason(reason: &str) -> String {
    if reason.len() <= MAX_REASON_BYTES {
        return reason.to_owned();
    }
    let ellipsis = '…';
    let mut end = MAX_REASON_BYTES - ellipsis.len_utf8();
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &reason[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(code: u16, reason: &str) -> Message {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_owned().into(),
        }))
    }

    fn code_and_reason(message: Message) -> (u16, String) {
        match message {
            Message::Close(Some(frame)) => (frame.code, frame.reason.to_string()),
            other => panic!("not a close frame: {other:?}"),
        }
    }

    #[test]
    fn async_graphql_codes_become_the_protocols() {
        let check = |code, sign_in, expected| {
            let (got, _) = code_and_reason(protocol_close(close(code, "why"), sign_in));
            assert_eq!(got, expected, "{code} while {sign_in:?}");
        };
        check(1002, SignIn::Refused, UNAUTHORIZED);
        check(1002, SignIn::Pending, BAD_REQUEST);
        check(1002, SignIn::Accepted, BAD_REQUEST);
        check(1011, SignIn::Pending, UNAUTHORIZED);
        check(1011, SignIn::Accepted, 1011);
        check(4429, SignIn::Accepted, 4429);
        check(3008, SignIn::Accepted, 3008);
        let text = Message::Text("{}".into());
        assert_eq!(protocol_close(text.clone(), SignIn::Refused), text);
    }

    #[test]
    fn reasons_fit_in_a_close_frame() {
        let short = "sign in first";
        assert_eq!(fit_reason(short), short);
        let long = "é".repeat(100);
        let fitted = fit_reason(&long);
        assert!(fitted.len() <= MAX_REASON_BYTES, "{}", fitted.len());
        assert!(fitted.ends_with('…'));
        assert!(long.starts_with(fitted.trim_end_matches('…')));
        let (_, reason) = code_and_reason(protocol_close(close(1002, &long), SignIn::Refused));
        assert!(reason.len() <= MAX_REASON_BYTES);
    }
}
