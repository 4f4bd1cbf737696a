//! Aanmelden en afmelden: with an API token, or with the municipality's identity provider.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::header::{HOST, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use jeugdpad_api::session::{self, SignInRefused, SESSION_COOKIE};
use jeugdpad_api::ClientInfo;
use maud::html;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::context::{same_origin_post, Viewer, Web};
use crate::forms::{Errors, Fields, Form as F, Input};
use crate::layout::{self, Page};
use crate::oidc;

/// The cookie of the sign-in form's anti-forgery token (there is no session yet to hold it).
const FORM_COOKIE: &str = "jeugdpad_aanmelding";

#[derive(Debug, serde::Deserialize, Default)]
pub(crate) struct SignInQuery {
    terug: Option<String>,
    reden: Option<String>,
    afgemeld: Option<String>,
}

/// A path on this server to go back to after signing in: only a local path, never `//host`.
fn local(path: Option<&str>) -> Option<String> {
    path.filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .map(str::to_owned)
}

/// `GET /aanmelden`.
pub(crate) async fn form(
    State(web): State<Web>,
    Query(query): Query<SignInQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(cookie) = session::cookie_value(&headers, SESSION_COOKIE) {
        // Already signed in: straight on.
        if session::resume(&web.state, &cookie, &ClientInfo::default())
            .await
            .is_ok()
        {
            return Redirect::to(&local(query.terug.as_deref()).unwrap_or_else(|| "/".into()))
                .into_response();
        }
    }
    let notice = if query.reden.as_deref() == Some("verlopen") {
        Some("Uw sessie is verlopen. Meld u opnieuw aan.")
    } else if query.afgemeld.is_some() {
        Some("U bent afgemeld.")
    } else if query.reden.as_deref() == Some("oidc") {
        Some("Aanmelden via uw organisatie is niet gelukt. Probeer het opnieuw of gebruik een token.")
    } else {
        None
    };
    render(
        &web,
        query.terug.as_deref(),
        &Errors::default(),
        notice,
        StatusCode::OK,
    )
}

fn render(
    web: &Web,
    back: Option<&str>,
    errors: &Errors,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut token = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut token);
    let token = hex::encode(token);
    let values = Fields::default();
    let form = F {
        values: &values,
        errors,
    };
    let back = local(back);
    let mut response = Page::new("Aanmelden", None).status(status).render(html! {
        h1 { "Aanmelden bij Jeugdpad" }
        @if let Some(notice) = notice {
            (layout::alert("info", None, html! { p { (notice) } }))
        }
        (errors.summary())
        @if web.oidc.is_some() {
            p {
                a class="jp-button" href={
                    "/aanmelden/oidc"
                    @if let Some(back) = &back {
                        "?terug=" (form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>())
                    }
                } { "Aanmelden via uw organisatie" }
            }
            h2 { "Of meld u aan met een token" }
        }
        form class="jp-form" method="post" action="/aanmelden" {
            input type="hidden" name="_csrf" value=(token);
            @if let Some(back) = &back { input type="hidden" name="terug" value=(back); }
            (form.input("token", "Uw token", Input {
                hint: Some("Het token dat uw beheerder u gaf (begint met jpt_). Het wordt niet in de browser bewaard."),
                required: true,
                kind: Some("password"),
                autocomplete: Some("off"),
                no_echo: true,
                ..Input::default()
            }))
            div class="jp-form-actions" {
                button class="jp-button" type="submit" { "Aanmelden" }
            }
        }
        p class="jp-muted" {
            "Geen token? Vraag uw beheerder er een aan te maken ("
            code { "jeugdpad token create --user …" } ")."
        }
    });
    let cookie = web.cookie(FORM_COOKIE, &token, Some(Duration::from_secs(3600)));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// `POST /aanmelden`: the token becomes a session.
pub(crate) async fn submit(
    State(web): State<Web>,
    parts: axum::http::request::Parts,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    let cookie = session::cookie_value(&parts.headers, FORM_COOKIE);
    let sent = fields.get("_csrf").unwrap_or_default();
    let genuine = cookie.is_some_and(|c| bool::from(c.as_bytes().ct_eq(sent.as_bytes())));
    if !genuine || !same_origin_post(&parts.headers) {
        return crate::pages::forged_form();
    }
    let back = fields.get("terug");
    let mut errors = Errors::default();
    let Some(token) = fields.get("token") else {
        errors.field("token", "vul uw token in");
        return render(&web, back, &errors, None, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let client = ClientInfo::of(&parts);
    match session::sign_in(&web.state, token, &client).await {
        Ok(signed_in) => {
            let start = local(back).unwrap_or_else(|| {
                layout::navigation(signed_in.session.role())
                    .first()
                    .map_or("/", |(path, _)| *path)
                    .to_owned()
            });
            let mut response = Redirect::to(&start).into_response();
            set_session_cookie(&web, &mut response, &signed_in.cookie);
            if let Ok(value) = HeaderValue::from_str(&web.expired_cookie(FORM_COOKIE)) {
                response.headers_mut().append(SET_COOKIE, value);
            }
            response
        }
        Err(SignInRefused::RateLimited(wait)) => crate::pages::too_many(wait),
        Err(SignInRefused::Credential { message_nl, .. }) => {
            errors.field("token", message_nl);
            render(&web, back, &errors, None, StatusCode::UNAUTHORIZED)
        }
    }
}

fn set_session_cookie(web: &Web, response: &mut Response, value: &str) {
    // No Max-Age: a browser-session cookie; the server ends the session on its own clock.
    let cookie = web.cookie(SESSION_COOKIE, value, None);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// `POST /afmelden`.
pub(crate) async fn sign_out(
    State(web): State<Web>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(refused) = viewer.check_csrf(fields.get("_csrf")) {
        return refused;
    }
    if let Some(cookie) = session::cookie_value(&headers, SESSION_COOKIE) {
        session::sign_out(&web.state, &cookie);
    }
    let mut response = Redirect::to("/aanmelden?afgemeld=1").into_response();
    if let Ok(value) = HeaderValue::from_str(&web.expired_cookie(SESSION_COOKIE)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// The address the provider sends the browser back to.
fn redirect_uri(web: &Web, headers: &HeaderMap) -> String {
    let base = web.options.public_url.clone().unwrap_or_else(|| {
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1");
        format!("http://{host}")
    });
    format!("{}/aanmelden/oidc/terug", base.trim_end_matches('/'))
}

/// `GET /aanmelden/oidc`: off to the identity provider.
pub(crate) async fn oidc_start(
    State(web): State<Web>,
    Query(query): Query<SignInQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(client) = web.oidc.clone() else {
        return Redirect::to("/aanmelden").into_response();
    };
    let back = local(query.terug.as_deref()).unwrap_or_else(|| "/".into());
    let (state, pending, url) = client.start(&redirect_uri(&web, &headers), back);
    {
        let mut all = web.pending();
        oidc::prune(&mut all);
        all.insert(state.clone(), pending);
    }
    let mut cookie = format!(
        "{}={state}; Path=/aanmelden/oidc; HttpOnly; SameSite=Lax; Max-Age={}",
        oidc::STATE_COOKIE,
        oidc::PENDING_FOR.as_secs()
    );
    if web.secure() {
        cookie.push_str("; Secure");
    }
    let mut response = Redirect::to(&url).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ReturnQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /aanmelden/oidc/terug`: back from the identity provider with a code.
pub(crate) async fn oidc_return(
    State(web): State<Web>,
    Query(query): Query<ReturnQuery>,
    parts: axum::http::request::Parts,
) -> Response {
    let failed = || Redirect::to("/aanmelden?reden=oidc").into_response();
    let Some(client) = web.oidc.clone() else {
        return failed();
    };
    let (Some(code), Some(state)) = (query.code, query.state) else {
        if let Some(error) = query.error {
            tracing::info!(%error, "the identity provider did not sign the person in");
        }
        return failed();
    };
    let bound = session::cookie_value(&parts.headers, oidc::STATE_COOKIE)
        .is_some_and(|c| bool::from(c.as_bytes().ct_eq(state.as_bytes())));
    let pending = web.pending().remove(&state);
    let (Some(pending), true) = (pending, bound) else {
        tracing::warn!("an identity-provider sign-in came back with an unknown or unbound state");
        return failed();
    };
    let token = match client.exchange(&code, &pending).await {
        Ok(token) => token,
        Err(error) => {
            tracing::warn!(%error, "the identity provider's code could not be exchanged");
            return failed();
        }
    };
    let client_info = ClientInfo::of(&parts);
    match session::sign_in(&web.state, &token, &client_info).await {
        Ok(signed_in) => {
            // The way back from the provider is a cross-site navigation, on which browsers do
            // not send a SameSite=Strict cookie — not even after a redirect. A page of our own
            // that moves on by itself is a same-site navigation, which does.
            let target = pending.return_to;
            let mut response = Page::new("Aangemeld", None).render(html! {
                meta http-equiv="refresh" content={ "0;url=" (target) };
                h1 { "U bent aangemeld" }
                p { a href=(target) { "Verder naar Jeugdpad" } }
            });
            set_session_cookie(&web, &mut response, &signed_in.cookie);
            let gone = format!("{}=; Path=/aanmelden/oidc; Max-Age=0", oidc::STATE_COOKIE);
            if let Ok(value) = HeaderValue::from_str(&gone) {
                response.headers_mut().append(SET_COOKIE, value);
            }
            response
        }
        Err(SignInRefused::RateLimited(wait)) => crate::pages::too_many(wait),
        Err(SignInRefused::Credential { message_nl, .. }) => {
            let mut errors = Errors::default();
            errors.general(message_nl);
            render(&web, None, &errors, None, StatusCode::UNAUTHORIZED)
        }
    }
}
