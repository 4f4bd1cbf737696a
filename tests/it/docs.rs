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

/// The ```graphql blocks of the README and the guides, with where they stand.
fn graphql_snippets() -> Vec<(String, String)> {
    let root = repository();
    let mut files = vec![root.join("README.md")];
    files.extend(
        user_facing()
            .into_iter()
            .filter(|path| path.starts_with(root.join("docs"))),
    );
    let mut snippets = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let mut block: Option<(usize, String)> = None;
        for (number, line) in text.lines().enumerate() {
            match &mut block {
                None if line.trim_start().starts_with("```graphql") => {
                    block = Some((number + 1, String::new()));
                }
                Some((start, body)) if line.trim_start().starts_with("```") => {
                    snippets.push((format!("{}:{start}", file.display()), std::mem::take(body)));
                    block = None;
                }
                Some((_, body)) => {
                    body.push_str(line);
                    body.push('\n');
                }
                None => {}
            }
        }
    }
    snippets
}

/// A value of GraphQL type `ty` for a snippet's variable: the documents show operations with
/// variables as GraphiQL users write them, and validation wants each variable given.
fn placeholder(ty: &async_graphql::parser::types::Type) -> serde_json::Value {
    use async_graphql::parser::types::BaseType;
    match &ty.base {
        BaseType::List(item) => serde_json::json!([placeholder(item)]),
        BaseType::Named(name) => match name.as_str() {
            "Int" => serde_json::json!(1),
            "Float" => serde_json::json!(1.0),
            "Boolean" => serde_json::json!(true),
            "Date" => serde_json::json!("2026-01-05"),
            "DateTime" => serde_json::json!("2026-01-05T09:00:00Z"),
            _ => serde_json::json!("00000000-0000-0000-0000-000000000000"),
        },
    }
}

/// A reader pastes these into GraphiQL: each must parse and validate against the schema the
/// server serves. Run without signing in, an operation that gets as far as a resolver is
/// answered with a coded error (`UNAUTHENTICATED`, or `VALIDATION` for a "…" a reader fills
/// in); a misspelt field, a missing `mutation { }` or a wrong argument is refused before any
/// resolver runs, and such an error carries no code.
#[tokio::test]
async fn every_graphql_example_in_the_docs_is_valid_against_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = jeugdpad_store::Store::open(dir.path()).expect("store opens");
    let state = jeugdpad_api::AppState::start(store, jeugdpad_api::Options::default())
        .await
        .expect("the server state starts");
    let schema = jeugdpad_api::build_schema(&state);
    let snippets = graphql_snippets();
    assert!(snippets.len() >= 5, "the README's examples are found");
    let mut invalid = Vec::new();
    for (place, snippet) in snippets {
        let variables: serde_json::Map<String, serde_json::Value> =
            match async_graphql::parser::parse_query(&snippet) {
                Ok(document) => document
                    .operations
                    .iter()
                    .flat_map(|(_, operation)| operation.node.variable_definitions.clone())
                    .map(|definition| {
                        let name = definition.node.name.node.to_string();
                        (name, placeholder(&definition.node.var_type.node))
                    })
                    .collect(),
                Err(error) => {
                    invalid.push(format!("{place}: {error}\n{snippet}"));
                    continue;
                }
            };
        let request = async_graphql::Request::new(snippet.as_str()).variables(
            async_graphql::Variables::from_json(serde_json::Value::Object(variables)),
        );
        let answer = schema.execute(request).await;
        let refused_before_resolving = answer.errors.iter().find(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .is_none()
        });
        if let Some(error) = refused_before_resolving {
            invalid.push(format!("{place}: {}\n{snippet}", error.message));
        }
    }
    assert!(invalid.is_empty(), "{}", invalid.join("\n"));
}
