//! Opening the data directory for a one-off command, with the sentence an operator needs when
//! the server holds it.

use std::path::Path;
use std::time::{Duration, Instant};

use jeugdpad_store::{SledStore, StoreError};

/// Opens the store in `data`. While it is locked, waits up to five seconds: a step of this same
/// process may just have closed it (sled lets go of its file lock when its last internal handle
/// drops, which can trail `close` by a moment). Still locked after that: a server holds it, and
/// the error says so and what to do (`while_running`: what works while the server runs).
pub fn open(data: &Path, while_running: &str) -> Result<SledStore, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match SledStore::open(data) {
            Err(StoreError::Locked(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(StoreError::Locked(_)) => {
                return Err(format!(
                    "the data directory {} is in use: is `jeugdpad serve` running on it? {while_running}",
                    data.display()
                ))
            }
            Err(error) => {
                return Err(format!(
                    "could not open the store in {}: {error}",
                    data.display()
                ))
            }
            Ok(store) => return Ok(store),
        }
    }
}

/// What to do about a running server, for commands that need the store to themselves.
pub const STOP_THE_SERVER: &str =
    "Stop the server (Ctrl-C), run this command, then start the server again.";
