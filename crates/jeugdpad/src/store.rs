//! Where the store is (the data directory, or PostgreSQL) and opening it for a command, with the
//! sentence an operator needs when it cannot be opened.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jeugdpad_store::{PgOptions, PgStore, Store, StoreError, StoreOptions};

/// Where a command finds the event store: the embedded store in the data directory, or tables
/// in PostgreSQL shared by several nodes (`--store postgres://…`). The data directory is this
/// node's own either way: with PostgreSQL it keeps only what is this node's (the access-log
/// index, the installation secret by default, the server's address note).
#[derive(Debug, Clone)]
pub struct Location {
    /// The data directory (`--data`).
    pub data: PathBuf,
    /// The PostgreSQL store, when `--store` names one.
    pub postgres: Option<PgOptions>,
}

impl Location {
    /// The location the command line names: `store` is `--store` (a `postgres://` URL, or
    /// nothing for the embedded store), `schema` is `--store-schema`.
    pub fn new(data: &Path, store: Option<&str>, schema: &str) -> Result<Location, String> {
        let postgres = match store {
            None => None,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(PgOptions {
                    schema: schema.to_owned(),
                    ..PgOptions::new(url, data)
                })
            }
            Some(other) => {
                return Err(format!(
                    "--store {other:?} is not a PostgreSQL URL: write postgres://USER@HOST:PORT/DATABASE, \
                     or leave --store out to use the embedded store in --data"
                ))
            }
        };
        Ok(Location {
            data: data.to_path_buf(),
            postgres,
        })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.postgres {
            None => write!(f, "the data directory {}", self.data.display()),
            Some(options) => write!(
                f,
                "schema {} of the PostgreSQL database {}",
                options.schema,
                options.display_url()
            ),
        }
    }
}

/// Whether a command may start a new installation in a data directory without a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// `serve`, `seed`, `import`, `team add`, `user add`: create the store.
    Create,
    /// Every other command: a directory without a store is a mistake (a mistyped `--data`),
    /// not a new, empty installation.
    Refuse,
}

/// Opens the store `at` names. The embedded store: while it is locked, waits up to five
/// seconds: a step of this same process may just have closed it (sled lets go of its file lock
/// when its last internal handle drops, which can trail `close` by a moment). Still locked after
/// that: a server holds it, and the error says so and what to do (`while_running`: what works
/// while the server runs). PostgreSQL takes any number of openers.
pub fn open(at: &Location, missing: Missing, while_running: &str) -> Result<Store, String> {
    open_with(at, missing, while_running, &StoreOptions::default())
}

/// [`open`] with the store's settings (`serve`'s page cache).
pub fn open_with(
    at: &Location,
    missing: Missing,
    while_running: &str,
    options: &StoreOptions,
) -> Result<Store, String> {
    match &at.postgres {
        Some(postgres) => open_postgres(postgres, missing),
        None => open_dir(&at.data, missing, while_running, options),
    }
}

fn open_postgres(options: &PgOptions, missing: Missing) -> Result<Store, String> {
    let opened = match missing {
        Missing::Create => PgStore::open(options),
        Missing::Refuse => PgStore::open_existing(options),
    };
    opened.map(Store::Postgres).map_err(|error| match error {
        StoreError::Unreachable(why) => {
            format!("cannot reach the PostgreSQL server: {why} (check --store or JEUGDPAD_STORE)")
        }
        StoreError::NotAStore(_) => format!(
            "schema {} of {} holds no Jeugdpad store: check --store and --store-schema \
             (or JEUGDPAD_STORE, JEUGDPAD_STORE_SCHEMA)",
            options.schema,
            options.display_url()
        ),
        other => format!("could not open the store in PostgreSQL: {other}"),
    })
}

fn open_dir(
    data: &Path,
    missing: Missing,
    while_running: &str,
    options: &StoreOptions,
) -> Result<Store, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let opened = match missing {
            Missing::Create => Store::open_with(data, options),
            Missing::Refuse => Store::open_existing(data),
        };
        match opened {
            Err(StoreError::Locked(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(StoreError::Locked(_)) => {
                return Err(format!(
                    "the data directory {} is in use: is `jeugdpad serve` running on it? {while_running}",
                    data.display()
                ))
            }
            Err(StoreError::NotAStore(_)) => {
                return Err(format!(
                    "{} does not hold a Jeugdpad event store: check --data (or JEUGDPAD_DATA)",
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

/// The file in the data directory where `serve` notes the URL it answers on, so that a command
/// the store's lock turns away can show the `--server` to use instead.
const SERVER_URL_FILE: &str = "server-url";

fn server_url_file(data: &Path) -> PathBuf {
    data.join(SERVER_URL_FILE)
}

/// Notes that a server answers at `addr` for `data` (an unspecified address, such as 0.0.0.0,
/// is reached on this machine through loopback).
pub fn announce(data: &Path, addr: SocketAddr) -> std::io::Result<()> {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    std::fs::write(server_url_file(data), format!("http://{addr}\n"))
}

/// Removes the note of [`announce`] when the server stops.
pub fn withdraw(data: &Path) {
    // Already gone is fine; a stale note is only read while the store is locked.
    let _ = std::fs::remove_file(server_url_file(data));
}

/// The URL of the server that holds `data`: as it noted it, or else the default listen address.
pub fn server_url(data: &Path) -> String {
    std::fs::read_to_string(server_url_file(data))
        .ok()
        .map(|text| text.trim().to_owned())
        .filter(|url| url.starts_with("http://"))
        .unwrap_or_else(|| format!("http://{}", crate::cli::DEFAULT_LISTEN))
}
