//! The checked-in schema (`schema/schema.graphql`) is the contract clients build against: it must
//! be exactly what the server serves.

use std::path::PathBuf;

fn schema_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/schema.graphql")
}

#[test]
fn schema_file_is_current() {
    let current = jeugdpad_api::sdl();
    let path = schema_file();
    if std::env::var_os("JEUGDPAD_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &current).expect("write schema/schema.graphql");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == current,
        "schema/schema.graphql is out of date with the code. Regenerate it with\n\
         \n    JEUGDPAD_UPDATE_SCHEMA=1 cargo test -p jeugdpad-tests --test it schema_file\n\
         \nand review the diff: a removed or renamed field breaks clients."
    );
}
