//! `jeugdpad backup` and `jeugdpad restore`: the store copied out while the server runs (or not),
//! and back into an empty store, with every position and hash kept
//! (`jeugdpad_store::copy`).

use std::error::Error;
use std::process::ExitCode;

use jeugdpad_store::copy::{self, Manifest};
use jeugdpad_store::EventStore;

use crate::cli::{BackupArgs, RestoreArgs};
use crate::control::{self, Answer};
use crate::interchange::{bar, count};
use crate::store::{Location, Missing, STOP_THE_SERVER};

/// What to do when the store is locked but no server answers on the control socket.
const SERVER_WITHOUT_SOCKET: &str = "A server that runs this release makes the backup itself \
     through the control socket in the data directory; this one does not answer there (an \
     earlier release?). Stop it, back up, and start it again.";

const SOCKET_PATH_TOO_LONG: &str = "The server cannot be asked for a backup: the path of the \
     data directory is too long for its control socket (DATA/control.sock may be at most 107 \
     bytes). Stop the server, back up, and start it again; or start the server with a shorter \
     --data path (a symbolic link) to back up while it runs.";

/// What to do with a PostgreSQL schema a restore did not finish in.
const DROP_THE_SCHEMA: &str =
    "drop the schema (DROP SCHEMA … CASCADE) before restoring into it again";

pub fn backup(at: &Location, args: &BackupArgs) -> Result<ExitCode, Box<dyn Error>> {
    let to =
        std::path::absolute(&args.to).map_err(|e| format!("--to {}: {e}", args.to.display()))?;
    if let Ok(data) = std::path::absolute(&at.data) {
        if to.starts_with(&data) {
            return Err(format!(
                "--to {} lies inside the data directory {}: put the backup outside it (on another \
                 disk, ideally), so that losing the one does not lose the other",
                to.display(),
                data.display()
            )
            .into());
        }
    }
    let login = crate::access::operator_login();
    let progress = bar(None, "events");
    let answer = control::ask_backup(&at.data, &to, &login, &mut |done, of| {
        progress.set_length(of);
        progress.set_position(done);
    })?;
    let (manifest, maker) = match answer {
        Answer::Made(manifest) => (manifest, "the running server"),
        Answer::NoServer => {
            let while_running = if control::socket_fits(&at.data) {
                SERVER_WITHOUT_SOCKET
            } else {
                SOCKET_PATH_TOO_LONG
            };
            let store = crate::store::open(at, Missing::Refuse, while_running)?;
            progress.set_length(store.head());
            let made = copy::prepare_backup(&to)
                .map_err(Box::<dyn Error>::from)
                .and_then(|()| {
                    crate::access::operator_entry(&login, None, "backup")
                        .map_err(Box::<dyn Error>::from)
                })
                .and_then(|entry| crate::access::log_local(&store, &entry))
                .and_then(|()| {
                    copy::backup(&store, &to, &mut |done| progress.set_position(done))
                        .map_err(Box::<dyn Error>::from)
                });
            let closed = store.close();
            let manifest = made?;
            closed?;
            (manifest, "this command")
        }
    };
    progress.finish_and_clear();
    println!(
        "Backup made by {maker} in {}: {}, verified.",
        to.display(),
        describe(&manifest)
    );
    println!(
        "Keep the head position and hash somewhere else (a ticket, a mail): `jeugdpad verify \
         --data DIR --at {}` must print this hash later, on the live directory as well as on a \
         restored one.",
        manifest.head_position
    );
    println!(
        "The installation secret is not in the backup: keep it apart (docs/security.md, \"Key \
         material\")."
    );
    Ok(ExitCode::SUCCESS)
}

pub fn restore(at: &Location, args: &RestoreArgs) -> Result<ExitCode, Box<dyn Error>> {
    // Read first, so that a wrong --from creates nothing at the target.
    let manifest = Manifest::read(&args.from)?;
    println!(
        "Restoring the backup in {} ({}) into {at} …",
        args.from.display(),
        describe(&manifest)
    );
    let target = crate::store::open(at, Missing::Create, STOP_THE_SERVER)?;
    let progress = bar(Some(manifest.head_position), "events");
    let restored = copy::restore(&args.from, &target, &at.to_string(), &mut |done| {
        progress.set_position(done);
    });
    progress.finish_and_clear();
    // Both a directory and a schema are marked unfinished by the restore itself (and then
    // refused by every open); a marked schema must be dropped before the next try, so say how.
    // (A refusal before the copy began, such as a damaged backup, leaves no mark.)
    let partial = match &target {
        jeugdpad_store::Store::Postgres(store) => {
            restored.is_err() && store.restore_unfinished().unwrap_or(true)
        }
        _ => false,
    };
    let closed = target.close();
    let report = match restored {
        Ok(restored) => restored.report,
        Err(
            error @ (copy::CopyError::HashDiffers { .. } | copy::CopyError::RestoredDiffers { .. }),
        ) => {
            eprintln!("jeugdpad: {error}");
            if let Err(closing) = &closed {
                eprintln!("jeugdpad: closing the restored store failed as well: {closing}");
            }
            println!(
                "NOT THE SAME: the restored store does not verify to the backup's head. Do not \
                 start a server on it; keep the backup as it is."
            );
            if partial {
                println!("The schema holds part of the copy: {DROP_THE_SCHEMA}.");
            }
            return Ok(ExitCode::from(1));
        }
        Err(error) if partial => {
            return Err(
                format!("{error}. The schema holds part of the copy: {DROP_THE_SCHEMA}").into(),
            )
        }
        Err(error) => return Err(error.into()),
    };
    closed?;
    print!("{report}");
    println!(
        "Restored: head position {} and head hash {}, as the backup says.",
        report.head_position, report.head_hash
    );
    let secret = at.data.join(jeugdpad_api::SECRET_FILE);
    if secret.exists() {
        println!(
            "The installation secret {} was left as it is: it must be the one of the \
             installation the backup comes from.",
            secret.display()
        );
    } else {
        println!(
            "Put the installation secret back ({} by default, or where --secret-file points) \
             before `jeugdpad serve`: without it the server refuses to start while the store \
             holds youths recorded by BSN (docs/operations.md, \"Restore\").",
            secret.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(manifest: &Manifest) -> String {
    format!(
        "{} up to position {}, head hash {}, {}, taken at {}",
        count(manifest.head_position, "event", "events"),
        manifest.head_position,
        manifest.head_hash,
        count(manifest.vault_keys, "vault key", "vault keys"),
        manifest.taken_at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}
