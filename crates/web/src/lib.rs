//! # jeugdpad-web — the screens people work in
//!
//! The Dutch web app of Jeugdpad, served by the same binary as the API: *Mijn caseload*, the
//! trajectory page with its timeline and the steps the rules allow now, *Nieuwe melding*, the
//! team lead's *Wachtlijst* and *Wachttijden*, the analyst's *Normalisatie* with its downloads,
//! the admin's teams, users, tokens and access-log inquiry — and GraphiQL at `/graphiql`.
//!
//! ## How a page is made
//!
//! ```text
//!  browser ──GET /traject/{id}──▶ Viewer (session cookie → jeugdpad_api::session::resume,
//!                                  rate limit) ──▶ handler ──▶ gql::run(query, variables)
//!                                  ──▶ jeugdpad_api::session::execute ──▶ the API's schema:
//!                                  resolvers, gate::allow, access log ──▶ JSON data
//!          ◀── HTML (maud) ◀──────── page module renders the data, in Dutch
//! ```
//!
//! The web app never reads the store or the read models, and holds no rule or figure of its
//! own: every datum comes from a GraphQL operation run as the signed-in person, so the page can
//! show nothing that person could not read through the API, and every look at a child's file is
//! logged exactly once — by the resolver, as for any API client. A step is recorded the same
//! way: the form becomes a mutation with the version the page showed as `expectedVersion`, and
//! the domain's refusal comes back as its Dutch sentence, shown beside the field it concerns.
//!
//! ## Why server-rendered HTML
//!
//! One language and no JavaScript build: the README's two commands need only the Rust toolchain,
//! and every asset is `include_bytes!`d into the binary (`assets.rs`), so the app works on a
//! network without internet access. Pages are plain forms and links that work without
//! JavaScript; a small hand-written script (`assets/app.js`) adds the in-page elfproef, live
//! updates over the API's own websocket and a few conveniences. Charts are SVG drawn on the
//! server (`charts.rs`), each with its numbers in a table.
//!
//! ## Security
//!
//! Sessions are the API's (`jeugdpad_api::session`): an HttpOnly, SameSite=Strict cookie,
//! `Secure` when the public URL is https; every form carries the session's CSRF token and
//! every POST is checked for it and for a same-origin `Origin`; pages are `no-store` and carry a
//! strict Content-Security-Policy (`default-src 'self'`), so no page can load anything from
//! another origin.

// Helpers return axum's `Response` as the error of an early exit (a refusal page, a redirect to
// sign in): axum's own idiom; boxing every one of them would buy nothing.
#![allow(clippy::result_large_err)]

mod assets;
mod charts;
mod context;
mod format;
mod forms;
mod gql;
mod layout;
mod oidc;
mod pages;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use jeugdpad_api::AppState;

pub use context::{OidcClientOptions, WebOptions};
pub use oidc::OidcSetupError;

use context::Web;

/// The web app's router: the pages at `/`, GraphiQL at `/graphiql`, the assets at `/static/`.
/// Merge it beside `jeugdpad_api::app` (whose `/graphql` the pages' scripts and GraphiQL use).
///
/// With [`WebOptions::oidc`], the identity provider's discovery document is read first (unless
/// both endpoints are given), which is why this is `async`.
pub async fn router(state: AppState, options: WebOptions) -> Result<Router, OidcSetupError> {
    let oidc = match &options.oidc {
        Some(config) => Some(Arc::new(oidc::Client::discover(config).await?)),
        None => None,
    };
    let web = Web::new(state, options, oidc);
    Ok(routes().with_state(web))
}

fn routes() -> Router<Web> {
    use pages::{
        admin, caseload, graphiql, melding, normalisation, signin, steps, trajectory, waiting,
    };
    Router::new()
        .route("/", get(pages::start))
        .route("/aanmelden", get(signin::form).post(signin::submit))
        .route("/aanmelden/oidc", get(signin::oidc_start))
        .route("/aanmelden/oidc/terug", get(signin::oidc_return))
        .route("/afmelden", post(signin::sign_out))
        .route("/caseload", get(caseload::page))
        .route("/caseload/bsn", post(caseload::bsn_lookup))
        .route("/melding", get(melding::form).post(melding::submit))
        .route("/traject/{id}", get(trajectory::page))
        .route("/traject/{id}/inhoud", get(trajectory::fragment))
        .route(
            "/traject/{id}/stap/{step}",
            get(steps::form).post(steps::submit),
        )
        .route("/wachtlijst", get(waiting::waiting_list))
        .route("/wachttijden", get(waiting::waiting_times))
        .route("/normalisatie", get(normalisation::page))
        .route("/normalisatie/export", get(normalisation::export))
        .route("/beheer", get(admin::overview))
        .route("/beheer/teams", post(admin::add_team))
        .route(
            "/beheer/gebruikers",
            get(admin::users).post(admin::add_user),
        )
        .route(
            "/beheer/gebruikers/deactiveren",
            post(admin::deactivate_user),
        )
        .route(
            "/beheer/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/beheer/tokens/intrekken", post(admin::revoke_token))
        .route(
            "/beheer/toegangslog",
            get(admin::access_log).post(admin::access_log_inquiry),
        )
        .route("/graphiql", get(graphiql::page))
        .route("/static/{*file}", get(assets::serve))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn(context::headers))
}
