//! `jeugdpad serve`: open the store, rebuild the read models and serve the web app and the
//! GraphQL API until the operator stops the process.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use jeugdpad_api::{AppState, AuthOptions, Options};
use jeugdpad_oidc::{JwksSource, OidcConfig};
use jeugdpad_store::EventStore;

use crate::cli::ServeArgs;
use crate::store::Location;

pub fn run(at: &Location, args: &ServeArgs) -> Result<ExitCode, Box<dyn Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let options = jeugdpad_store::StoreOptions {
            cache_bytes: args.store_cache_mb.saturating_mul(1024 * 1024),
        };
        let store = crate::store::open_with(
            at,
            crate::store::Missing::Create,
            "One data directory serves one `jeugdpad serve` at a time: stop the other one first.",
            &options,
        )?;
        tracing::info!(store = %at, head = store.head(), "store open");
        if store.format() == jeugdpad_store::Format::Sled {
            tracing::warn!(
                store = %at,
                "this data directory is in the earlier sled format (format 1): it works, but \
                 appends, start-up and disk use are slower; stop the server and run `jeugdpad \
                 upgrade` (docs/operations.md, \"Upgrades\")"
            );
        }
        let per_minute =
            std::num::NonZeroU32::new(args.rate_limit).ok_or("--rate-limit must be at least 1")?;
        let oidc = match (&args.oidc_issuer, &args.oidc_audience, &args.oidc_jwks) {
            (Some(issuer), Some(audience), Some(jwks)) => {
                let source = if jwks.starts_with("https://") || jwks.starts_with("http://") {
                    JwksSource::Url(jwks.clone())
                } else {
                    JwksSource::File(jwks.into())
                };
                let mut config = OidcConfig::new(issuer.clone(), audience.clone(), source);
                config.role_claim.clone_from(&args.oidc_role_claim);
                config.team_claim.clone_from(&args.oidc_team_claim);
                Some(config)
            }
            _ => None,
        };
        let options = Options {
            auth: AuthOptions {
                oidc,
                requests_per_minute: per_minute,
                secret_file: args.secret_file.clone(),
                new_secret: args.new_secret,
            },
            ..Options::default()
        };
        let web_options = web_options(args)?;
        let state = AppState::start(store, options).await?;
        let router = jeugdpad_web::router(state.clone(), web_options)
            .await?
            .merge(jeugdpad_api::app(state.clone()));
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?;
        if let Err(error) = crate::store::announce(&at.data, addr) {
            tracing::warn!(%error, "cannot note the server's address in the data directory");
        }
        let (stopping, stop) = tokio::sync::watch::channel(false);
        if let Err(error) = crate::control::listen(&at.data, state.clone(), stop) {
            tracing::warn!(
                %error,
                "cannot open the control socket in the data directory: `jeugdpad backup` needs \
                 the server stopped"
            );
        }
        tracing::info!(
            app = %format!("http://{addr}/"),
            graphql = %format!("http://{addr}/graphql"),
            graphiql = %format!("http://{addr}/graphiql"),
            "Jeugdpad is ready: open the app in a browser and sign in"
        );
        let shutdown = async move {
            shutdown_signal().await;
            let _ = stopping.send(true);
        };
        let served = jeugdpad_api::serve_router(listener, state, router, shutdown).await;
        crate::store::withdraw(&at.data);
        crate::control::withdraw(&at.data);
        served?;
        tracing::info!("stopped cleanly");
        Ok(ExitCode::SUCCESS)
    })
}

/// The web app's settings from the command line.
fn web_options(args: &ServeArgs) -> Result<jeugdpad_web::WebOptions, Box<dyn Error>> {
    let read = |path: &Path, what: &str| {
        std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))
    };
    let oidc = match (&args.oidc_client_id, &args.oidc_issuer) {
        (Some(client_id), Some(issuer)) => Some(jeugdpad_web::OidcClientOptions {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            client_secret: args
                .oidc_client_secret_file
                .as_deref()
                .map(|path| read(path, "--oidc-client-secret-file").map(|s| s.trim().to_owned()))
                .transpose()?,
            authorization_endpoint: args.oidc_authorization_endpoint.clone(),
            token_endpoint: args.oidc_token_endpoint.clone(),
            scopes: args.oidc_scopes.clone(),
        }),
        _ => None,
    };
    Ok(jeugdpad_web::WebOptions {
        public_url: args.public_url.clone(),
        oidc,
        theme_css: args
            .theme_css
            .as_deref()
            .map(|path| read(path, "--theme-css"))
            .transpose()?,
    })
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what service managers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
