//! `jeugdpad serve`: open the embedded store and hold it until the operator stops the process.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use jeugdpad_store::{EventStore, SledStore};

pub fn run(data: &Path) -> Result<ExitCode, Box<dyn Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = SledStore::open(data)
            .map_err(|e| format!("could not open the store in {}: {e}", data.display()))?;
        tracing::info!(data = %data.display(), head = store.head(), "store open");
        shutdown_signal().await;
        tracing::info!("stopping: finishing and flushing in-flight appends");
        store.close()?;
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
