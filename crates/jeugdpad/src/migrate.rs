//! `jeugdpad migrate`: the whole store copied between the data directory and PostgreSQL, with
//! every position, event id and hash kept, checked by verifying both sides.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use jeugdpad_store::{copy, EventStore};

use crate::cli::MigrateArgs;
use crate::interchange::{bar, count};
use crate::store::{Location, Missing, STOP_THE_SERVER};

/// `data` is `--data` (this node's directory, beside a PostgreSQL side), `schema` is
/// `--store-schema` (the schema of a PostgreSQL side).
pub fn run(data: &Path, schema: &str, args: &MigrateArgs) -> Result<ExitCode, Box<dyn Error>> {
    let from = place(&args.from, data, schema)?;
    let to = place(&args.to, data, schema)?;
    if from.postgres.is_some() && from.postgres == to.postgres {
        return Err("--from and --to name the same PostgreSQL schema".into());
    }
    if from.postgres.is_none() && to.postgres.is_none() && from.data == to.data {
        return Err("--from and --to name the same data directory".into());
    }
    let source = crate::store::open(&from, Missing::Refuse, STOP_THE_SERVER)?;
    let target = crate::store::open(&to, Missing::Create, STOP_THE_SERVER)?;
    let head = source.head();
    println!(
        "Copying {} from {from} to {to} …",
        count(head, "event", "events")
    );
    let progress = bar(Some(head), "events");
    let copied = copy::copy_into(&source, &target, &to.to_string(), head, &mut |done| {
        progress.set_position(done);
    })?;
    progress.finish_and_clear();

    println!("Verifying both …");
    let (source_report, target_report) = (source.verify()?, target.verify()?);
    source.close()?;
    target.close()?;
    print!("source: {source_report}");
    print!("copy:   {target_report}");
    let same = source_report.is_ok()
        && target_report.is_ok()
        && source_report.head_position == target_report.head_position
        && source_report.head_hash == target_report.head_hash;
    if !same {
        println!(
            "NOT THE SAME: the copy does not verify to the source's head. Do not use it; keep \
             the source as it is."
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "Copied {} and {}: head position {} and head hash {} on both sides. Give the new \
         place's nodes the installation secret of the old one.",
        count(head, "event", "events"),
        count(copied.vault_keys, "vault key", "vault keys"),
        target_report.head_position,
        target_report.head_hash
    );
    Ok(ExitCode::SUCCESS)
}

/// A `--from`/`--to` value: a postgres:// URL (in `schema`, with this node's data directory
/// `data`) or a data directory.
fn place(value: &str, data: &Path, schema: &str) -> Result<Location, String> {
    if value.contains("://") {
        Location::new(data, Some(value), schema)
    } else {
        Location::new(Path::new(value), None, schema)
    }
}
