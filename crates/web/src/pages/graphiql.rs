//! GraphiQL at `/graphiql`: the developer's query editor, served from Jeugdpad itself (its
//! vendored build in `assets/vendor/`), so it works on a network without internet access.
//! The token is typed in on the page and kept for the browser tab only (`graphiql-init.js`).

use axum::response::{Html, IntoResponse, Response};
use maud::{html, DOCTYPE};

use crate::assets;

/// `GET /graphiql`.
pub(crate) async fn page() -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="nl" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "GraphiQL — Jeugdpad" }
                link rel="icon" href=(assets::url("favicon.svg")) type="image/svg+xml";
                link rel="stylesheet" href=(assets::url("vendor/graphiql/graphiql.min.css"));
                link rel="stylesheet" href=(assets::url("app.css"));
                script src=(assets::url("vendor/react/react.production.min.js")) defer {}
                script src=(assets::url("vendor/react-dom/react-dom.production.min.js")) defer {}
                script src=(assets::url("vendor/graphiql/graphiql.min.js")) defer {}
                script src=(assets::url("graphiql-init.js")) defer {}
            }
            body class="jp-graphiql" {
                header class="jp-header" {
                    div class="jp-header__inner" {
                        a class="jp-brand" href="/" { "Jeugdpad" }
                        span { "GraphiQL — de GraphQL-API voor ontwikkelaars" }
                    }
                }
                main class="jp-graphiql__main" {
                    h1 class="jp-visually-hidden" { "GraphiQL" }
                    form id="graphiql-token" class="jp-filters jp-graphiql__token" {
                        div class="jp-field" {
                            label class="jp-label" for="graphiql-token-veld" { "API-token" }
                            span class="jp-hint" id="graphiql-token-hint" {
                                "Alleen voor dit tabblad bewaard (sessionStorage); gaat mee als Authorization: Bearer."
                            }
                            input type="password" id="graphiql-token-veld" autocomplete="off"
                                aria-describedby="graphiql-token-hint";
                        }
                        div class="jp-field" {
                            button class="jp-button" type="submit" { "Token gebruiken" }
                        }
                        div class="jp-field" {
                            button class="jp-button jp-button--secondary" type="button" id="graphiql-vergeet" hidden { "Token vergeten" }
                        }
                        p id="graphiql-status" role="status" {}
                    }
                    div id="graphiql" class="jp-graphiql__editor" hidden {}
                }
            }
        }
    };
    Html(markup.into_string()).into_response()
}
