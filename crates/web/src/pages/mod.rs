//! The pages, one module per screen, and the pages every screen may end on: a refusal, a page
//! that is not there, too many requests, our own fault.

pub(crate) mod admin;
pub(crate) mod caseload;
pub(crate) mod graphiql;
pub(crate) mod melding;
pub(crate) mod normalisation;
pub(crate) mod signin;
pub(crate) mod steps;
pub(crate) mod trajectory;
pub(crate) mod waiting;

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::context::{Viewer, Web};
use crate::gql::GqlError;
use crate::layout::{self, Page};

/// `/`: the start page of the viewer's role (the sign-in page for someone not signed in).
pub(crate) async fn start(viewer: Viewer) -> Response {
    let start = layout::navigation(viewer.session.role())
        .first()
        .map_or("/aanmelden", |(path, _)| *path);
    Redirect::to(start).into_response()
}

/// Any path that is not a page.
pub(crate) async fn not_found(State(_web): State<Web>, _request: Request) -> Response {
    not_found_page()
}

/// The page for a path that is not a page.
pub(crate) fn not_found_page() -> Response {
    Page::new("Pagina niet gevonden", None)
        .status(StatusCode::NOT_FOUND)
        .render(html! {
            h1 { "Deze pagina bestaat niet" }
            p { "Controleer het adres, of ga naar de " a href="/" { "startpagina" } "." }
        })
}

/// A form that did not come from our own pages (no or a wrong CSRF token, or another origin).
pub(crate) fn forged_form() -> Response {
    Page::new("Formulier geweigerd", None)
        .status(StatusCode::FORBIDDEN)
        .render(html! {
            h1 { "Dit formulier is niet geaccepteerd" }
            p {
                "Het formulier kwam niet van een pagina van Jeugdpad, of de pagina was te oud. "
                "Er is niets vastgelegd. Open de pagina opnieuw en probeer het nog eens."
            }
            p { a href="/" { "Naar de startpagina" } }
        })
}

/// Too many requests with this token or from this address.
pub(crate) fn too_many(wait: Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = Page::new("Even wachten", None)
        .status(StatusCode::TOO_MANY_REQUESTS)
        .render(html! {
            h1 { "U hebt veel verzoeken kort na elkaar gedaan" }
            p { "Wacht " (seconds) " seconden en probeer het dan opnieuw." }
        });
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

/// The page for an error of an operation that is not the person's input: a refusal (with the
/// policy's Dutch reason; the refusal is in the access log), something that does not exist, or
/// our fault.
pub(crate) fn failure(viewer: &Viewer, error: &GqlError) -> Response {
    match error.code.as_str() {
        "FORBIDDEN" => Page::new("Geen toegang", Some(viewer))
            .status(StatusCode::FORBIDDEN)
            .render(html! {
                h1 { "U hebt geen toegang tot deze gegevens" }
                (layout::alert("error", None, html! { p { (capitalised(&error.message)) "." } }))
                p {
                    "Deze poging is vastgelegd in het toegangslog. Denkt u dat u wel toegang "
                    "zou moeten hebben, vraag het dan uw teamleider of beheerder."
                }
                p { a href="/" { "Naar de startpagina" } }
            }),
        "NOT_FOUND" => Page::new("Niet gevonden", Some(viewer))
            .status(StatusCode::NOT_FOUND)
            .render(html! {
                h1 { "Niet gevonden" }
                p { "Wat u zocht bestaat niet (meer), of het adres klopt niet." }
                p { a href="/" { "Naar de startpagina" } }
            }),
        "RATE_LIMITED" => too_many(Duration::from_secs(60)),
        // The store cannot write (a full disk, a failed write): its sentence says what happened
        // to the step — not recorded, safe to record again — which a generic page cannot.
        // A form cannot be shown again with the values: showing a file writes to the log too.
        "STORAGE_FULL" | "STORAGE_FAILED" => Page::new("Opslaan lukt nu niet", Some(viewer))
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .render(html! {
                h1 { "Er kan nu niets worden vastgelegd" }
                (layout::alert("error", None, html! { p { (capitalised(&error.message)) } }))
                p { "Dit ligt niet aan u. Ga terug in uw browser en probeer het over een paar minuten opnieuw." }
                p { a href="/" { "Naar de startpagina" } }
            }),
        _ => Page::new("Er ging iets mis", Some(viewer))
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .render(html! {
                h1 { "Er ging iets mis aan onze kant" }
                p { "Dit ligt niet aan u. Er is niets vastgelegd. Probeer het over een paar minuten opnieuw." }
                p { a href="/" { "Naar de startpagina" } }
            }),
    }
}

/// A sentence with a capital first letter.
pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// The page for a role that has no business on this screen (before any operation ran).
pub(crate) fn not_for_role(viewer: &Viewer) -> Response {
    Page::new("Geen toegang", Some(viewer))
        .status(StatusCode::FORBIDDEN)
        .render(html! {
            h1 { "Deze pagina is niet voor uw rol" }
            p { "Ga naar de " a href="/" { "startpagina" } " voor de schermen van uw rol." }
        })
}
