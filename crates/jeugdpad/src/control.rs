//! The control socket `DATA/control.sock`: how a command on this machine asks the running
//! server to do what needs the store the server holds — today `jeugdpad backup`.
//!
//! Why a Unix socket in the data directory rather than the HTTP API: who may open it is decided
//! by the file system (mode 0600, the server's own user, and root), which is exactly who could
//! copy the data directory anyway; there is no token to hand out, and the directory a backup is
//! written to is on this machine. Why not let the other process read the files itself: the
//! vault lives in the index's database, which only one process at a time may open, and only
//! the server knows which position is acknowledged.
//!
//! The protocol is JSON lines: the client writes one [`Request`]; the server answers with
//! [`Reply`] lines — progress while it works, then one `done` or `failed` — and closes.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jeugdpad_api::AppState;
use jeugdpad_store::copy::{self, Manifest};
use jeugdpad_store::EventStore;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

/// The socket's name in the data directory.
const SOCKET_FILE: &str = "control.sock";
/// The longest request line read (a path and a login name fit many times over).
const MAX_REQUEST: u64 = 64 * 1024;

/// What a command asks of the server.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Request {
    /// Back up the store into `to` (an absolute path on this machine); `operator` is the login
    /// name the access log records.
    Backup { to: PathBuf, operator: String },
}

/// What the server answers, line by line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    /// So many of `of` events are copied.
    Progress { events: u64, of: u64 },
    /// Finished: the backup's manifest.
    Done {
        head_position: u64,
        head_hash: String,
        vault_keys: u64,
        taken_at: chrono::DateTime<chrono::Utc>,
    },
    /// Nothing usable was made; the sentence says why.
    Failed { message: String },
}

fn socket_path(data: &Path) -> PathBuf {
    data.join(SOCKET_FILE)
}

/// The longest path a Unix socket can be bound or reached at (`sun_path` holds 108 bytes with
/// the closing NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Whether `DATA/control.sock` is short enough to be a socket's path at all: with a longer
/// `--data` the server cannot open it, and a backup needs the server stopped.
pub fn socket_fits(data: &Path) -> bool {
    socket_path(data).as_os_str().len() <= MAX_SOCKET_PATH
}

/// Starts answering on `DATA/control.sock` until `stop` turns true: then the listener lets go
/// of the server's state, so that the store can close (a backup under way finishes first). A
/// socket file left by a server that was killed is replaced: this process holds the data
/// directory's lock, so no other server can be using it.
pub fn listen(
    data: &Path,
    state: AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let path = socket_path(data);
    if !socket_fits(data) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "its path {} is {} bytes long, and a socket's path may have at most \
                 {MAX_SOCKET_PATH} (give --data a shorter path, a symbolic link for instance)",
                path.display(),
                path.as_os_str().len()
            ),
        ));
    }
    match std::fs::remove_file(&path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(answer(stream, state.clone(), path.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "the control socket cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}

/// Removes the socket when the server stops.
pub fn withdraw(data: &Path) {
    // Already gone is fine: nobody can connect to a stopped server either way.
    let _ = std::fs::remove_file(socket_path(data));
}

/// The uid of the process at the other end of `stream`, if it runs as the socket's owner (the
/// server's user) or as root: the file mode already keeps others out, this closes the moment
/// between `bind` and `chmod` as well. The kernel vouches for the uid; the login name the
/// command sends is only its `$USER`, so the access log keeps both.
fn trusted(stream: &tokio::net::UnixStream, socket: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    match (stream.peer_cred(), std::fs::metadata(socket)) {
        (Ok(peer), Ok(owner)) if peer.uid() == 0 || peer.uid() == owner.uid() => Some(peer.uid()),
        _ => None,
    }
}

async fn answer(stream: tokio::net::UnixStream, state: AppState, socket: PathBuf) {
    let peer = trusted(&stream, &socket);
    let (reader, mut writer) = stream.into_split();
    let mut line = String::new();
    // A client that connects and says nothing must not hold the server's state for ever.
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::io::AsyncReadExt::take(tokio::io::BufReader::new(reader), MAX_REQUEST)
            .read_line(&mut line),
    )
    .await
    .unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no request within 10 s",
        ))
    });
    let (replies, mut answers) = tokio::sync::mpsc::unbounded_channel();
    match read.map(|_| serde_json::from_str::<Request>(&line)) {
        Ok(Ok(_)) if peer.is_none() => {
            let _ = replies.send(Reply::Failed {
                message: "only the user the server runs as (or root) may ask it for a backup"
                    .into(),
            });
        }
        Ok(Ok(Request::Backup { to, operator })) => {
            tokio::spawn(backup(state, to, operator, peer, replies));
        }
        Ok(Err(error)) => {
            let _ = replies.send(Reply::Failed {
                message: format!("the server does not understand this request: {error}"),
            });
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read from the control socket");
            return;
        }
    }
    while let Some(reply) = answers.recv().await {
        let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
        bytes.push(b'\n');
        if writer.write_all(&bytes).await.is_err() {
            // The command was stopped; the backup finishes (or fails) on its own.
            return;
        }
    }
}

/// Makes the backup the request asks for and reports on `replies`.
async fn backup(
    state: AppState,
    to: PathBuf,
    operator: String,
    uid: Option<u32>,
    replies: tokio::sync::mpsc::UnboundedSender<Reply>,
) {
    let failed = |message: String| Reply::Failed { message };
    if !to.is_absolute() {
        let _ = replies.send(failed(format!(
            "the backup directory {} is not an absolute path",
            to.display()
        )));
        return;
    }
    if let Err(error) = copy::prepare_backup(&to) {
        let _ = replies.send(failed(error.to_string()));
        return;
    }
    // Logged durably before the copy starts, as every other access is.
    let logged = match crate::access::operator_entry(&operator, uid, "backup") {
        Ok(entry) => {
            jeugdpad_app::access_log::append(state.store().as_ref(), &entry, state.clock(), None)
                .await
                .map_err(|e| {
                    format!("the backup was not started: the access log cannot be written ({e})")
                })
        }
        Err(message) => Err(message),
    };
    if let Err(message) = logged {
        let _ = replies.send(failed(message));
        return;
    }
    let store = Arc::clone(state.store());
    let progress = replies.clone();
    tracing::info!(to = %to.display(), %operator, "backup started");
    let made = tokio::task::spawn_blocking(move || {
        let of = store.head();
        copy::backup(&store, &to, &mut |events| {
            let _ = progress.send(Reply::Progress { events, of });
        })
        .map(|manifest| (manifest, to))
    })
    .await;
    let reply = match made {
        Ok(Ok((manifest, to))) => {
            tracing::info!(to = %to.display(), head = manifest.head_position, hash = %manifest.head_hash, "backup made");
            Reply::Done {
                head_position: manifest.head_position,
                head_hash: manifest.head_hash,
                vault_keys: manifest.vault_keys,
                taken_at: manifest.taken_at,
            }
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "backup failed");
            failed(error.to_string())
        }
        Err(error) => {
            tracing::error!(%error, "backup failed");
            failed("the backup stopped unexpectedly; see the server's log".into())
        }
    };
    let _ = replies.send(reply);
}

/// What a command gets from [`ask_backup`].
pub enum Answer {
    /// No server answers on the socket: the command may open the store itself.
    NoServer,
    /// The server made the backup.
    Made(Manifest),
}

/// Asks the server that holds `data`, if one does, to back the store up into `to` (absolute).
/// `progress` gets (events copied, of). `Err` carries the server's sentence.
pub fn ask_backup(
    data: &Path,
    to: &Path,
    operator: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Answer, String> {
    if !socket_fits(data) {
        // No server can be listening there; the command opens the store itself.
        return Ok(Answer::NoServer);
    }
    let path = socket_path(data);
    let mut stream = match UnixStream::connect(&path) {
        Ok(stream) => stream,
        // No socket, or one a killed server left behind.
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(Answer::NoServer)
        }
        Err(error) => {
            return Err(format!(
                "a server runs on {} but its control socket {} cannot be opened: {error} (run \
                 this command as the user the server runs as)",
                data.display(),
                path.display()
            ))
        }
    };
    let request = Request::Backup {
        to: to.to_path_buf(),
        operator: operator.to_owned(),
    };
    let mut line = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    let lost = |error: std::io::Error| format!("the connection to the server was lost: {error}");
    stream.write_all(&line).map_err(lost)?;
    for line in BufReader::new(stream).lines() {
        let line = line.map_err(lost)?;
        match serde_json::from_str::<Reply>(&line) {
            Ok(Reply::Progress { events, of }) => progress(events, of),
            Ok(Reply::Done {
                head_position,
                head_hash,
                vault_keys,
                taken_at,
            }) => {
                return Ok(Answer::Made(Manifest {
                    head_position,
                    head_hash,
                    vault_keys,
                    taken_at,
                }))
            }
            Ok(Reply::Failed { message }) => return Err(message),
            Err(error) => return Err(format!("the server answered something unexpected: {error}")),
        }
    }
    Err("the server closed the connection before the backup was finished; see its log".into())
}
