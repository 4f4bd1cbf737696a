//! `jeugdpad verify`: an integrity report an operator can act on.

use std::error::Error;
use std::process::ExitCode;

use crate::store::{Location, Missing};

pub fn run(location: &Location, at: Option<u64>) -> Result<ExitCode, Box<dyn Error>> {
    println!("Verifying the Jeugdpad store in {location} …");
    let data = location.data.as_path();
    let verified = match &location.postgres {
        // Read-only and safe while nodes append: one snapshot, up to the head at its start.
        Some(_) => match crate::store::open(location, Missing::Refuse, "")? {
            jeugdpad_store::Store::Postgres(store) => store.verify_at(at),
            other => return Err(format!("expected a PostgreSQL store, got {other:?}").into()),
        },
        None => jeugdpad_store::verify_dir_at(data, at),
    };
    let report = match verified {
        Err(jeugdpad_store::StoreError::Locked(_)) => {
            return Err(format!(
                "the data directory {} is in use: is `jeugdpad serve` running on it? Stop it \
                 first, or verify a copy (a backup) instead",
                data.display()
            )
            .into())
        }
        other => other?,
    };
    print!("{report}");
    if report.unreadable {
        println!(
            "UNREADABLE: the store cannot be opened, so nothing could be checked. Do not start \
             the server on this directory: restore the latest backup that verifies, and keep \
             this copy for investigation."
        );
        return Ok(ExitCode::from(2));
    }
    if report.is_ok() {
        // The segment log's indexes are derived: they live only in an open store's memory,
        // built from the log, so the check covers the log and what they are built from.
        let indexes = match (&location.postgres, jeugdpad_store::Format::of(data)) {
            (Some(_), _) => "every row agrees with its stored bytes",
            (None, Some(jeugdpad_store::Format::Log)) => {
                "every record's checksum is right, every stream's versions follow on"
            }
            _ => "the indexes agree with the log",
        };
        println!(
            "Intact: every position is present, {indexes}, and the SHA-256 chain is unbroken. \
             Keep the head hash above to compare with a later run."
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "DAMAGED: do not start the server on this directory. Restore the latest backup \
             that verifies, and keep this copy for investigation."
        );
        Ok(ExitCode::from(1))
    }
}
