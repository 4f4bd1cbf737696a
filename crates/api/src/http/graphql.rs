//! The GraphQL-over-HTTP handler: request parsing, `Accept` negotiation, status codes, and the
//! one place that says who is calling ([`caller`]).
//!
//! Status codes follow the GraphQL-over-HTTP spec: a malformed HTTP request (not JSON, bad
//! parameter types, no query) is 400 (415 for a body that is not JSON, 406 when the client
//! accepts neither JSON media type); a request error (parse, validation, variable coercion) is
//! 400 for `application/graphql-response+json` and 200 for `application/json`, without a `data`
//! entry; an executed request is 200, field errors included.

use std::time::Instant;

use std::collections::BTreeSet;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::Positioned;
use async_graphql::{ServerError, Value};
use async_graphql_axum::GraphQLProtocol;
use axum::body::{Body, Bytes};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{
    ACCEPT, ACCEPT_LANGUAGE, ALLOW, CONTENT_LANGUAGE, CONTENT_TYPE, RETRY_AFTER, UPGRADE,
    WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

use super::{upgrade_websocket, Http, RequestInfo};
use crate::auth::rate_key;
use crate::gate::{log_failed_sign_in, ClientInfo, Gate};
use crate::schema::{
    in_dutch, ErrorCode, Language, RequestId, Transport, DATE_FORMAT, INSTANT_FORMAT,
};

/// `application/graphql-response+json`: the GraphQL-over-HTTP media type.
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";
/// `application/json`: what older clients expect.
pub(super) const JSON: &str = "application/json; charset=utf-8";

/// The access point of a request: the peer address (when the server knows it) and the
/// client application's `User-Agent`, shortened.
pub(super) fn client_info(parts: &axum::http::request::Parts) -> ClientInfo {
    ClientInfo::of(parts)
}

/// Signs the caller in, or answers `401`; logs a failed sign-in (unless the address is already
/// over its rate, so a flood of bad requests cannot flood the access log). Then applies the
/// caller's rate limit (`429`).
async fn sign_in(
    http: &Http,
    headers: &HeaderMap,
    client: &ClientInfo,
    media: &'static str,
    request_id: Uuid,
) -> Result<Gate, Response> {
    let state = &http.state;
    match state.auth.sign_in_headers(headers, state.clock.now()).await {
        Ok(signed_in) => {
            if let Err(wait) = state.auth.check_rate(&rate_key(&signed_in.principal)) {
                state.metrics.rate_limited("caller");
                return Err(rate_limited(media, wait));
            }
            Ok(Gate {
                principal: signed_in.principal,
                client: client.clone(),
                expires_at: signed_in.expires_at,
                session: None,
                logged: crate::gate::LoggedAccesses::default(),
            })
        }
        Err(failure) => {
            state.metrics.sign_in_failed("http", &failure.reason());
            let address_key = format!("addr:{}", client.address.as_deref().unwrap_or("unknown"));
            if let Err(wait) = state.auth.check_rate(&address_key) {
                state.metrics.rate_limited("failed_sign_ins");
                return Err(rate_limited(media, wait));
            }
            log_failed_sign_in(
                state,
                client,
                "graphql",
                &failure.reason(),
                Some(request_id),
            )
            .await;
            let mut response = json_response(
                StatusCode::UNAUTHORIZED,
                media,
                &json!({ "errors": [{
                    "message": failure.message(),
                    "extensions": {
                        "code": ErrorCode::Unauthenticated.as_str(),
                        "reason": failure.reason(),
                    },
                }] }),
            );
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(response)
        }
    }
}

fn rate_limited(media: &'static str, wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        media,
        ErrorCode::RateLimited,
        &format!("too many requests with this token; wait {seconds} seconds and try again"),
    );
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

/// Query parameters of a GET request.
#[derive(Debug, serde::Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

pub(super) async fn graphql_get(State(http): State<Http>, request: Request) -> Response {
    let response = get_request(&http, request).await;
    count_rejected(&http, response)
}

async fn get_request(http: &Http, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    if parts.headers.contains_key(UPGRADE) {
        return match (
            GraphQLProtocol::from_request_parts(&mut parts, &()).await,
            WebSocketUpgrade::from_request_parts(&mut parts, &()).await,
        ) {
            (Ok(protocol), Ok(upgrade)) => {
                let client = client_info(&parts);
                let session =
                    crate::session::from_upgrade(&http.state, &parts.headers, &client).await;
                upgrade_websocket(http.clone(), protocol, upgrade, client, session)
            }
            (Err(rejection), _) => rejection.into_response(),
            (_, Err(rejection)) => rejection.into_response(),
        };
    }
    let Some(media) = negotiate(&parts.headers) else {
        return not_acceptable();
    };
    let params: GetParams = match serde_urlencoded_query(parts.uri.query()) {
        Ok(params) => params,
        Err(message) => return bad_request(media, &message),
    };
    let variables = json_param("variables", params.variables);
    let extensions = json_param("extensions", params.extensions);
    let (variables, extensions) = match (variables, extensions) {
        (Ok(variables), Ok(extensions)) => (variables, extensions),
        (Err(message), _) | (_, Err(message)) => return bad_request(media, &message),
    };
    let request = match build_request(
        params.query.map(serde_json::Value::String),
        params.operation_name.map(serde_json::Value::String),
        variables,
        extensions,
    ) {
        Ok(request) => request,
        Err(message) => return bad_request(media, &message),
    };
    let client = client_info(&parts);
    execute(http, &parts.headers, client, request, Method::GET, media).await
}

pub(super) async fn graphql_post(State(http): State<Http>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let client = client_info(&parts);
    let response = post_request(&http, &parts.headers, client, body).await;
    count_rejected(&http, response)
}

async fn post_request(
    http: &Http,
    headers: &HeaderMap,
    client: ClientInfo,
    body: Body,
) -> Response {
    let Some(media) = negotiate(headers) else {
        return not_acceptable();
    };
    if !is_json(headers) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            ErrorCode::Validation,
            "send the request as JSON with Content-Type: application/json",
        );
    }
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) if is_length_limit(&error) => {
            return too_large(http.state.limits.body_bytes, media)
        }
        Err(_) => return bad_request(media, "the request body could not be read"),
    };
    let request = match parse_post_body(&bytes) {
        Ok(request) => request,
        Err(message) => return bad_request(media, &message),
    };
    execute(http, headers, client, request, Method::POST, media).await
}

/// Counts a request refused before it reached the executor (bad media type, body or parameters).
fn count_rejected(http: &Http, response: Response) -> Response {
    if response.status().is_client_error() && response.extensions().get::<RequestInfo>().is_none() {
        http.state.metrics.rejected();
    }
    response
}

/// Parses `{"query": ..., "operationName": ..., "variables": ..., "extensions": ...}`.
fn parse_post_body(bytes: &Bytes) -> Result<async_graphql::Request, String> {
    if bytes.is_empty() {
        return Err("the request body is empty; send {\"query\": \"...\"}".into());
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| "the request body is not valid JSON".to_owned())?;
    let serde_json::Value::Object(mut body) = value else {
        return Err(
            "the request body must be one JSON object {\"query\": ...}; batches are not supported"
                .into(),
        );
    };
    build_request(
        body.remove("query"),
        body.remove("operationName"),
        body.remove("variables"),
        body.remove("extensions"),
    )
}

/// Checks the request parameters' types (GraphQL-over-HTTP) and builds the request.
fn build_request(
    query: Option<serde_json::Value>,
    operation_name: Option<serde_json::Value>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Value>,
) -> Result<async_graphql::Request, String> {
    use serde_json::Value as J;
    let Some(J::String(query)) = query else {
        return Err("the `query` parameter is missing or not a string".into());
    };
    let mut request = async_graphql::Request::new(query);
    match operation_name {
        None | Some(J::Null) => {}
        Some(J::String(name)) => request = request.operation_name(name),
        Some(_) => return Err("the `operationName` parameter must be a string".into()),
    }
    match variables {
        None | Some(J::Null) => {}
        Some(J::Object(map)) => {
            request = request.variables(async_graphql::Variables::from_json(J::Object(map)));
        }
        Some(_) => return Err("the `variables` parameter must be a JSON object".into()),
    }
    match extensions {
        None | Some(J::Null) => {}
        Some(J::Object(map)) => {
            for (key, value) in map {
                let value = Value::from_json(value).map_err(|_| "invalid `extensions`")?;
                request.extensions.insert(key, value);
            }
        }
        Some(_) => return Err("the `extensions` parameter must be a JSON object".into()),
    }
    Ok(request)
}

/// Runs one GraphQL request and shapes the response per the GraphQL-over-HTTP spec.
async fn execute(
    http: &Http,
    headers: &HeaderMap,
    client: ClientInfo,
    mut request: async_graphql::Request,
    method: Method,
    media: &'static str,
) -> Response {
    let started = Instant::now();
    let request_id = Uuid::now_v7();
    let mut info = RequestInfo {
        request_id: Some(request_id),
        kind: "none",
        ..RequestInfo::default()
    };
    let wanted = request.operation_name.clone();
    http.documents.reuse(&mut request);
    let operation = request.parsed_query().ok().and_then(|document| {
        let (name, operation) = select_operation(&document.operations, wanted.as_deref())?;
        let root = root_field(document, &operation.node.selection_set.node);
        Some((name, operation.node.ty, root))
    });
    if let Some((name, kind, _)) = &operation {
        info.operation = name.clone();
        info.kind = kind_name(*kind);
    }
    if method == Method::GET && matches!(operation, Some((_, OperationType::Mutation, _))) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            ErrorCode::Validation,
            "mutations are only accepted over POST",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        info.outcome = "rejected";
        return finish(http, response, info, started, None);
    }
    let gate = match sign_in(http, headers, &client, media, request_id).await {
        Ok(gate) => gate,
        Err(response) => {
            info.outcome = if response.status() == StatusCode::TOO_MANY_REQUESTS {
                "rate_limited"
            } else {
                "unauthenticated"
            };
            return finish(http, response, info, started, None);
        }
    };
    info.user = Some(gate.principal.user().to_string());
    http.documents.keep(&mut request);
    let request = request
        .data(gate)
        .data(RequestId(request_id))
        .data(Transport(method.clone()));
    let mut result = http.schema.execute(request).await;
    for error in &mut result.errors {
        ensure_code(error);
        tidy_scalar_message(error);
    }
    let language =
        Language::from_accept_language(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    if language == Language::Dutch {
        in_dutch(&mut result);
    }
    // A request error (parse, validation, variable coercion): nothing was executed, and no
    // error has a path. A field error always has one.
    let request_error = result.data == Value::Null
        && !result.errors.is_empty()
        && result.errors.iter().all(|e| e.path.is_empty());
    info.outcome = match result.errors.first() {
        None => "ok",
        Some(_) if request_error => "request_error",
        Some(error) => outcome_of(error),
    };
    let mut response = if request_error {
        let status = if media == GRAPHQL_RESPONSE {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        json_response(status, media, &json!({ "errors": result.errors }))
    } else {
        json_response(StatusCode::OK, media, &super::answer::Answer(&result))
    };
    if language == Language::Dutch {
        response
            .headers_mut()
            .insert(CONTENT_LANGUAGE, HeaderValue::from_static("nl"));
    }
    // Only a validated document's root fields are sure to be the schema's (see
    // `RootFieldLabels`).
    let root = operation
        .filter(|_| !request_error)
        .map(|(_, _, root)| root);
    finish(http, response, info, started, root.as_deref())
}

/// Records metrics and attaches the request info for the log line. `root_field`: the root
/// field of a request that was executed.
fn finish(
    http: &Http,
    mut response: Response,
    info: RequestInfo,
    started: Instant,
    root_field: Option<&str>,
) -> Response {
    let seconds = started.elapsed().as_secs_f64();
    let metrics = &http.state.metrics;
    metrics.request(info.kind, info.outcome, seconds);
    if let Some(root_field) = root_field {
        metrics.root_field(info.kind, root_field, seconds);
    }
    if let Some(id) = info.request_id {
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            response.headers_mut().insert("x-request-id", value);
        }
    }
    response.extensions_mut().insert(info);
    response
}

/// The operation a request will run: its name and definition. `None` when it cannot be chosen
/// (the executor then reports why).
fn select_operation<'a>(
    operations: &'a DocumentOperations,
    wanted: Option<&str>,
) -> Option<(Option<String>, &'a Positioned<OperationDefinition>)> {
    match (operations, wanted) {
        (DocumentOperations::Single(op), _) => Some((None, op)),
        (DocumentOperations::Multiple(map), Some(name)) => map
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(n, op)| (Some(n.to_string()), op)),
        (DocumentOperations::Multiple(map), None) if map.len() == 1 => {
            map.iter().next().map(|(n, op)| (Some(n.to_string()), op))
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The one root field an operation selects, through aliases and fragments; `several` when it
/// selects more than one (`none` for an empty selection, which validation refuses). The label
/// of the per-root-field latency (`metrics::RootFieldLabels` says why not the operation name).
fn root_field(document: &ExecutableDocument, selection: &SelectionSet) -> String {
    let mut names = BTreeSet::new();
    collect_root_fields(document, selection, 0, &mut names);
    match names.len() {
        0 => "none".to_owned(),
        1 => names.into_iter().next().unwrap_or("none").to_owned(),
        _ => "several".to_owned(),
    }
}

/// Adds the field names of `selection` to `names`, following fragments. The depth bound stops
/// a fragment cycle: this runs before validation, which refuses cycles.
fn collect_root_fields<'a>(
    document: &'a ExecutableDocument,
    selection: &'a SelectionSet,
    depth: usize,
    names: &mut BTreeSet<&'a str>,
) {
    if depth > 8 || names.len() > 1 {
        return;
    }
    for item in &selection.items {
        match &item.node {
            Selection::Field(field) => {
                names.insert(field.node.name.node.as_str());
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect_root_fields(
                        document,
                        &fragment.node.selection_set.node,
                        depth + 1,
                        names,
                    );
                }
            }
            Selection::InlineFragment(inline) => {
                collect_root_fields(document, &inline.node.selection_set.node, depth + 1, names);
            }
        }
    }
}

fn kind_name(kind: OperationType) -> &'static str {
    match kind {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// Errors raised by async-graphql itself (parse, validation, argument coercion) carry no code:
/// they are all the client's input, so `VALIDATION`.
fn ensure_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", ErrorCode::Validation.as_str());
        // async-graphql's own parse and coercion errors quote the refused value ("… does not
        // contain the value \"111222333\""): a BSN typed into the wrong field must not come
        // back, so long digit runs are masked.
        error.message = mask_long_numbers(&error.message);
    }
}

/// async-graphql wraps a scalar's own sentence as `Failed to parse "Date": <sentence>
/// (occurred while parsing "SignalInput")`. The date scalars' sentences already say what is
/// expected (`schema/scalars.rs`), so for errors carrying their reason the wrapping is dropped
/// and the input object is named in plain words: `<sentence> (in SignalInput)`.
fn tidy_scalar_message(error: &mut ServerError) {
    let ours = error
        .extensions
        .as_ref()
        .and_then(|e| e.get("reason"))
        .is_some_and(|r| matches!(r, Value::String(s) if s == DATE_FORMAT || s == INSTANT_FORMAT));
    if !ours {
        return;
    }
    let Some((_, wrapped)) = error
        .message
        .strip_prefix("Failed to parse \"")
        .and_then(|rest| rest.split_once("\": "))
    else {
        return;
    };
    let message = match wrapped.split_once(" (occurred while parsing \"") {
        Some((sentence, tail)) => match tail.split('"').next() {
            Some(input) => format!("{sentence} (in {input})"),
            None => sentence.to_owned(),
        },
        None => wrapped.to_owned(),
    };
    error.message = message;
}

/// Replaces every run of 8 or more digits (a BSN, with or without its leading zero) by `*`s.
fn mask_long_numbers(message: &str) -> String {
    let mut masked = String::with_capacity(message.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, masked: &mut String| {
        if digits.len() >= 8 {
            masked.extend(std::iter::repeat_n('*', digits.len()));
        } else {
            masked.push_str(digits);
        }
        digits.clear();
    };
    for c in message.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut masked);
            masked.push(c);
        }
    }
    flush(&mut digits, &mut masked);
    masked
}

fn outcome_of(error: &ServerError) -> &'static str {
    let code = error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(|v| match v {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        });
    match code {
        Some("VALIDATION") => "validation",
        Some("INVALID_TRANSITION") => "invalid_transition",
        Some("CONFLICT") => "conflict",
        Some("NOT_FOUND") => "not_found",
        Some("UNAUTHENTICATED") => "unauthenticated",
        Some("FORBIDDEN") => "forbidden",
        Some("RATE_LIMITED") => "rate_limited",
        _ => "internal",
    }
}

/// Picks the response media type from `Accept`: `application/graphql-response+json` when the
/// client prefers it, `application/json` for `application/json`, `*/*` or no `Accept` at all.
/// `None` when the client accepts neither (406).
fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(JSON);
    };
    let mut best: Option<(f32, &'static str)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let candidate = match media.as_str() {
            "application/graphql-response+json" => GRAPHQL_RESPONSE,
            "application/json" | "application/*" | "*/*" => JSON,
            _ => continue,
        };
        if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, candidate));
        }
    }
    best.map(|(_, media)| media)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = current.source();
    }
    false
}

fn serde_urlencoded_query(query: Option<&str>) -> Result<GetParams, String> {
    axum::extract::Query::<GetParams>::try_from_uri(
        &format!("/?{}", query.unwrap_or_default())
            .parse()
            .map_err(|_| "the query string is not valid".to_owned())?,
    )
    .map(|q| q.0)
    .map_err(|_| "the query string parameters are not valid".to_owned())
}

/// A GET parameter holding JSON (`variables`, `extensions`).
fn json_param(name: &str, value: Option<String>) -> Result<Option<serde_json::Value>, String> {
    match value {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| format!("the `{name}` parameter is not valid JSON")),
    }
}

fn json_response(
    status: StatusCode,
    media: &'static str,
    body: &impl serde::Serialize,
) -> Response {
    // A response of ours always serialises (string keys, finite numbers); were it ever not to,
    // the client still gets a JSON body.
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(media));
    response
}

pub(super) fn error_response(
    status: StatusCode,
    media: &'static str,
    code: ErrorCode,
    message: &str,
) -> Response {
    json_response(
        status,
        media,
        &json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] }),
    )
}

fn bad_request(media: &'static str, message: &str) -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        media,
        ErrorCode::Validation,
        message,
    )
}

fn not_acceptable() -> Response {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        JSON,
        ErrorCode::Validation,
        "this endpoint answers application/json or application/graphql-response+json",
    )
}

pub(super) fn too_large(limit: usize, media: &'static str) -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        media,
        ErrorCode::Validation,
        &format!(
            "the request is larger than {} KiB; send less at once",
            limit / 1024
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::mask_long_numbers;

    #[test]
    fn long_digit_runs_are_masked_short_ones_kept() {
        assert_eq!(
            mask_long_numbers(r#"does not contain the value "111222333""#),
            r#"does not contain the value "*********""#
        );
        assert_eq!(
            mask_long_numbers("12345678 and 1234567"),
            "******** and 1234567"
        );
        assert_eq!(mask_long_numbers("line 3, column 17"), "line 3, column 17");
    }
}
