//! The frame of every page: `<html lang="nl">`, the title ("Traject p-3f… — Jeugdpad"), a skip
//! link, the header with the navigation of the viewer's role and the sign-out button, the main
//! landmark, the footer.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use jeugdpad_api::session::Role;
use maud::{html, Markup, DOCTYPE};

use crate::assets;
use crate::context::Viewer;
use crate::format;

/// Which pages each role works in: (path, label). The first is the role's start page.
pub(crate) fn navigation(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Consultant => &[
            ("/caseload", "Mijn caseload"),
            ("/melding", "Nieuwe melding"),
        ],
        Role::TeamLead => &[
            ("/caseload", "Trajecten van het team"),
            ("/wachtlijst", "Wachtlijst"),
            ("/wachttijden", "Wachttijden"),
        ],
        Role::Analyst => &[("/normalisatie", "Normalisatie")],
        Role::Admin => &[
            ("/beheer", "Teams"),
            ("/beheer/gebruikers", "Gebruikers"),
            ("/beheer/tokens", "Tokens"),
            ("/beheer/toegangslog", "Toegangslog"),
        ],
    }
}

/// A page to render.
pub(crate) struct Page<'a> {
    /// What the page is, before " — Jeugdpad".
    pub(crate) title: String,
    /// Who looks (none on the sign-in and error pages of someone not signed in).
    pub(crate) viewer: Option<&'a Viewer>,
    /// The HTTP status.
    pub(crate) status: StatusCode,
}

impl<'a> Page<'a> {
    pub(crate) fn new(title: impl Into<String>, viewer: Option<&'a Viewer>) -> Page<'a> {
        Page {
            title: title.into(),
            viewer,
            status: StatusCode::OK,
        }
    }

    pub(crate) fn status(self, status: StatusCode) -> Page<'a> {
        Page { status, ..self }
    }

    /// The whole page around `content`.
    pub(crate) fn render(self, content: Markup) -> Response {
        let markup = html! {
            (DOCTYPE)
            html lang="nl" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " — Jeugdpad" }
                    link rel="icon" href=(assets::url("favicon.svg")) type="image/svg+xml";
                    link rel="stylesheet" href=(assets::url("app.css"));
                    link rel="stylesheet" href="/static/thema.css";
                    script src=(assets::url("app.js")) defer {}
                }
                body {
                    a class="jp-skip" href="#inhoud" { "Naar de inhoud" }
                    (header(self.viewer))
                    main id="inhoud" class="jp-main" tabindex="-1" { (content) }
                    footer class="jp-footer" {
                        div class="jp-footer__inner" {
                            "Jeugdpad — registratie van jeugdhulptrajecten. "
                            a href="/graphiql" { "GraphiQL (voor ontwikkelaars)" }
                        }
                    }
                }
            }
        };
        (self.status, Html(markup.into_string())).into_response()
    }
}

fn header(viewer: Option<&Viewer>) -> Markup {
    html! {
        header class="jp-header" {
            div class="jp-header__inner" {
                a class="jp-brand" href="/" { "Jeugdpad" }
                @if let Some(viewer) = viewer {
                    nav class="jp-nav" aria-label="Hoofdmenu" {
                        ul {
                            @for (path, label) in navigation(viewer.session.role()) {
                                li {
                                    @if viewer.path == *path {
                                        a href=(path) aria-current="page" { (label) }
                                    } @else {
                                        a href=(path) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    div class="jp-user" {
                        span {
                            "Aangemeld als " strong { (viewer.session.user().as_str()) }
                            " (" (format::role(viewer.session.role().code()))
                            @if let Some(team) = viewer.team() { ", team " (team.as_str()) }
                            ")"
                        }
                        form method="post" action="/afmelden" {
                            (csrf(viewer))
                            button class="jp-button jp-button--secondary" type="submit" { "Afmelden" }
                        }
                    }
                }
            }
        }
    }
}

/// The hidden CSRF field every form of a signed-in page carries.
pub(crate) fn csrf(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="_csrf" value=(viewer.session.csrf_token()); }
}

/// An alert box: `kind` is `error`, `warning`, `success` or `info`.
pub(crate) fn alert(kind: &str, title: Option<&str>, body: Markup) -> Markup {
    let role = if kind == "error" { "alert" } else { "status" };
    html! {
        div class={ "jp-alert jp-alert--" (kind) } role=(role) {
            @if let Some(title) = title { h2 { (title) } }
            (body)
        }
    }
}
