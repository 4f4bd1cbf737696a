//! `jeugdpad upgrade`: a data directory in the earlier sled format (format 1) turned into a
//! segment log in place, every position and hash kept (`jeugdpad_store::upgrade`).

use std::error::Error;
use std::process::ExitCode;

use jeugdpad_store::upgrade::{self, UpgradeError, Upgraded};
use jeugdpad_store::StoreError;

use crate::interchange::{bar, count};
use crate::store::{Location, STOP_THE_SERVER};

pub fn run(at: &Location) -> Result<ExitCode, Box<dyn Error>> {
    if at.postgres.is_some() {
        return Err(
            "upgrade works on a data directory (--data); a store in PostgreSQL needs no \
                    upgrade"
                .into(),
        );
    }
    let dir = &at.data;
    println!(
        "Upgrading {} to the segment log (format 2) …",
        dir.display()
    );
    let progress = bar(None, "events");
    let result = upgrade::upgrade(dir, &mut |done, of| {
        progress.set_length(of);
        progress.set_position(done);
    });
    progress.finish_and_clear();
    match result {
        Ok(Upgraded::Done {
            head_position,
            head_hash,
            vault_keys,
            kept,
        }) => {
            println!(
                "Upgraded {} and {}: head position {head_position} and head hash {head_hash}, \
                 the same as before.",
                count(head_position, "event", "events"),
                count(vault_keys, "vault key", "vault keys"),
            );
            println!(
                "The format-1 files are kept in {}: remove that directory once the server runs \
                 on the upgraded store.",
                kept.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(Upgraded::Already { kept }) => {
            println!(
                "{} is already a segment log (format 2): nothing to upgrade.",
                dir.display()
            );
            if let Some(kept) = kept {
                println!(
                    "Format-1 files an interrupted upgrade left were moved to {}: remove that \
                     directory once the server runs on the store.",
                    kept.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error @ UpgradeError::NotTheSame { .. }) => {
            eprintln!("jeugdpad: {error}");
            Ok(ExitCode::from(1))
        }
        Err(UpgradeError::Store(StoreError::Locked(_))) => Err(format!(
            "the data directory {} is in use: is `jeugdpad serve` running on it? \
             {STOP_THE_SERVER}",
            dir.display()
        )
        .into()),
        Err(error) => Err(error.into()),
    }
}
