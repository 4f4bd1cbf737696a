//! `cargo xtask vendor-graphiql`: GraphiQL's browser build, and the React it runs on, from npm
//! into `crates/web/assets/vendor/`, where `jeugdpad-web` embeds them in the binary. GraphiQL
//! then works without internet access (it would otherwise load React and itself from a CDN).
//!
//! The versions are pinned here; refreshing is a deliberate change, reviewed as a diff of the
//! vendored files. GraphiQL 3 is the last line with a single-file (UMD) build that needs no
//! bundler; React 18 the last with UMD builds. Each package's licence is copied beside it, and
//! `VERSIONS` records where every file came from. Source-map comments are removed (the maps are
//! not shipped, and a browser's developer tools would ask for them).

use std::path::Path;
use std::process::Command;

use crate::steps::{repository, run_checked, Scratch};
use crate::StepResult;

/// (file in the package, file under assets/vendor/).
type Files = &'static [(&'static str, &'static str)];

/// (package, version, its files).
const PACKAGES: &[(&str, &str, Files)] = &[
    (
        "graphiql",
        "3.8.3",
        &[
            ("graphiql.min.js", "graphiql/graphiql.min.js"),
            ("graphiql.min.css", "graphiql/graphiql.min.css"),
            ("LICENSE", "graphiql/LICENSE"),
        ],
    ),
    (
        "react",
        "18.3.1",
        &[
            (
                "umd/react.production.min.js",
                "react/react.production.min.js",
            ),
            ("LICENSE", "react/LICENSE"),
        ],
    ),
    (
        "react-dom",
        "18.3.1",
        &[
            (
                "umd/react-dom.production.min.js",
                "react-dom/react-dom.production.min.js",
            ),
            ("LICENSE", "react-dom/LICENSE"),
        ],
    ),
];

pub fn graphiql() -> StepResult {
    let work = Scratch::new("vendor-graphiql")?;
    let vendor = repository().join("crates/web/assets/vendor");
    let mut versions = String::from(
        "# Vendored by `cargo xtask vendor-graphiql` (crates/xtask/src/vendor.rs); do not edit.\n",
    );
    for (package, version, files) in PACKAGES {
        let spec = format!("{package}@{version}");
        run_checked(
            Command::new("npm")
                .args(["pack", "--silent", &spec])
                .current_dir(&work.0),
        )?;
        let tarball = work.0.join(format!("{package}-{version}.tgz"));
        let unpacked = work.0.join(package);
        std::fs::create_dir_all(&unpacked).map_err(|e| format!("{}: {e}", unpacked.display()))?;
        run_checked(
            Command::new("tar")
                .arg("xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&unpacked),
        )?;
        for (from, to) in *files {
            copy(&unpacked.join("package").join(from), &vendor.join(to))?;
            versions.push_str(&format!("{to}\tnpm:{spec}\tpackage/{from}\n"));
        }
    }
    let file = vendor.join("VERSIONS");
    std::fs::write(&file, versions).map_err(|e| format!("{}: {e}", file.display()))?;
    println!(
        "vendored into {}; review the diff and commit it",
        vendor.display()
    );
    Ok(())
}

/// Copies a file, leaving out source-map comments.
fn copy(from: &Path, to: &Path) -> StepResult {
    let text = std::fs::read_to_string(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| !line.contains("sourceMappingURL="))
        .collect();
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(to, kept.join("\n") + "\n").map_err(|e| format!("{}: {e}", to.display()))
}
