//! Every file the pages load, compiled into the binary: the stylesheet, the script, the icon,
//! and GraphiQL's vendored build (`assets/vendor/`, refreshed from npm by `cargo xtask
//! vendor-graphiql`; licences beside each). Nothing is fetched from anywhere else.
//!
//! URLs carry a hash of the content (`/static/app.css?v=1a2b3c4d`), so a file can be cached for
//! a year and a new build is still picked up at once.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::context::Web;

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/app.css"),
    },
    Asset {
        path: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/app.js"),
    },
    Asset {
        path: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../assets/favicon.svg"),
    },
    Asset {
        path: "graphiql-init.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql-init.js"),
    },
    Asset {
        path: "vendor/graphiql/graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/graphiql/graphiql.min.js"),
    },
    Asset {
        path: "vendor/graphiql/graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/graphiql/graphiql.min.css"),
    },
    Asset {
        path: "vendor/graphiql/LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/graphiql/LICENSE"),
    },
    Asset {
        path: "vendor/react/react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/react/react.production.min.js"),
    },
    Asset {
        path: "vendor/react/LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/react/LICENSE"),
    },
    Asset {
        path: "vendor/react-dom/react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/react-dom/react-dom.production.min.js"),
    },
    Asset {
        path: "vendor/react-dom/LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/react-dom/LICENSE"),
    },
];

/// The content hash of every asset, computed once.
fn hashes() -> &'static Vec<String> {
    static HASHES: OnceLock<Vec<String>> = OnceLock::new();
    HASHES.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| hex::encode(&Sha256::digest(a.bytes)[..6]))
            .collect()
    })
}

/// The URL of an embedded asset, with its content hash.
pub(crate) fn url(path: &str) -> String {
    match ASSETS.iter().position(|a| a.path == path) {
        Some(i) => format!("/static/{path}?v={}", hashes()[i]),
        None => format!("/static/{path}"),
    }
}

/// `/static/{file}`: an embedded asset, or the municipality's theme (`thema.css`).
pub(crate) async fn serve(
    State(web): State<Web>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    if file == "thema.css" {
        let css = web.options.theme_css.clone().unwrap_or_default();
        return (
            [
                (CONTENT_TYPE, "text/css; charset=utf-8"),
                (CACHE_CONTROL, "no-cache"),
            ],
            css,
        )
            .into_response();
    }
    let Some(i) = ASSETS.iter().position(|a| a.path == file) else {
        return (StatusCode::NOT_FOUND, "niet gevonden").into_response();
    };
    let asset = &ASSETS[i];
    let etag = format!("\"{}\"", hashes()[i]);
    if headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = asset.bytes.into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_hash() {
        let url = url("app.css");
        assert!(url.starts_with("/static/app.css?v="), "{url}");
        assert_eq!(url.len(), "/static/app.css?v=".len() + 12);
    }

    /// No asset may reach for another origin: the app must work without internet access.
    #[test]
    fn no_asset_names_a_cdn() {
        for asset in ASSETS {
            let text = String::from_utf8_lossy(asset.bytes);
            for cdn in [
                "unpkg.com",
                "cdn.jsdelivr",
                "cdnjs",
                "fonts.googleapis",
                "@import url(http",
            ] {
                assert!(!text.contains(cdn), "{} names {cdn}", asset.path);
            }
        }
    }
}
