//! What users read points to documents they have. The product contract the project is built
//! from is not part of the repository, so no user-facing text may send a reader there: rules are
//! in `docs/rules.md`, figures in `docs/figures.md`, roles in `docs/security.md`.

use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// Every file a user of the repository reads: the README, the guides and reference pages, the
/// examples and the GraphQL schema (its descriptions are GraphiQL's documentation). The
/// developers' map (`ARCHITECTURE.md`) and the benchmark notes may cite the contract.
fn user_facing() -> Vec<PathBuf> {
    let root = repository();
    let mut files = vec![root.join("README.md"), root.join("schema/schema.graphql")];
    for (dir, extensions) in [
        ("docs", &["md"][..]),
        ("examples", &["md", "graphql", "toml"][..]),
    ] {
        let entries = std::fs::read_dir(root.join(dir)).expect("the folder exists");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let wanted = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e));
            if wanted && !matches!(name, "ARCHITECTURE.md" | "performance.md") {
                files.push(path);
            }
        }
    }
    files
}

/// `SPEC §4`, `SPEC.md`, `SPEC section 5`: a citation of the contract (but not `SPECIALIST`).
fn cites_the_contract(line: &str) -> bool {
    line.match_indices("SPEC").any(|(at, _)| {
        let rest = line[at + 4..].trim_start();
        rest.starts_with('§') || rest.starts_with(".md") || rest.starts_with("section")
    })
}

#[test]
fn no_user_facing_text_cites_a_document_users_do_not_have() {
    assert!(cites_the_contract("see SPEC §4 for the figures"));
    assert!(!cites_the_contract("SPECIALIST_WITHOUT_STAY"));
    let mut found = Vec::new();
    for file in user_facing() {
        let text = std::fs::read_to_string(&file).expect("readable");
        for (number, line) in text.lines().enumerate() {
            if cites_the_contract(line) {
                found.push(format!("{}:{}: {line}", file.display(), number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "point to docs/rules.md, docs/figures.md or docs/security.md instead:\n{}",
        found.join("\n")
    );
}
