//! `jeugdpad serve`: open the store, rebuild the read models and serve the GraphQL API until the
//! operator stops the process.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use jeugdpad_api::{AppState, AuthOptions, Options};
use jeugdpad_oidc::{JwksSource, OidcConfig};
use jeugdpad_store::EventStore;

use crate::cli::ServeArgs;

pub fn run(data: &Path, args: &ServeArgs) -> Result<ExitCode, Box<dyn Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let options = jeugdpad_store::StoreOptions {
            cache_bytes: args.store_cache_mb.saturating_mul(1024 * 1024),
        };
        let store = crate::store::open_with(
            data,
            crate::store::Missing::Create,
            "One data directory serves one `jeugdpad serve` at a time: stop the other one first.",
            &options,
        )?;
        tracing::info!(data = %data.display(), head = store.head(), "store open");
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
            },
            ..Options::default()
        };
        let state = AppState::start(store, options).await?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?;
        if let Err(error) = crate::store::announce(data, addr) {
            tracing::warn!(%error, "cannot note the server's address in the data directory");
        }
        tracing::info!(
            graphiql = %format!("http://{addr}/"),
            graphql = %format!("http://{addr}/graphql"),
            "Jeugdpad is ready: open GraphiQL in a browser to record and query"
        );
        let served = jeugdpad_api::serve(listener, state, shutdown_signal()).await;
        crate::store::withdraw(data);
        served?;
        tracing::info!("stopped cleanly");
        Ok(ExitCode::SUCCESS)
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
