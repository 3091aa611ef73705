//! The storage boundary (ARCHITECTURE.md, "Storage"): only `server/src/db`
//! names a database driver. Everything else takes a `db::Sql` handle or
//! calls a `db::` function, so a backend can change without touching the
//! handlers, the exports or the demo.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_db_module_names_a_database_driver() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let db = src.join("db");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found the sources ({})", files.len());
    let drivers = ["rusqlite", "postgres::", "tokio_postgres", "use postgres"];
    let mut offenders = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(&db)) {
        let text = std::fs::read_to_string(f).expect("read");
        for (n, line) in text.lines().enumerate() {
            if drivers.iter().any(|d| line.contains(d)) {
                offenders.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "drivers named outside server/src/db:\n{}",
        offenders.join("\n")
    );
}

/// The ledger (ARCHITECTURE.md, "Merged states and snapshots"): `db` only
/// inserts and reads; folding, checks and export rendering are the ledger's,
/// so nothing under `server/src/db` reaches into `export` or `ledger`.
#[test]
fn the_db_module_imports_nothing_from_export_or_the_ledger() {
    let db = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join("db");
    let mut files = Vec::new();
    rust_files(&db, &mut files);
    assert!(files.len() > 10, "found the db sources ({})", files.len());
    let reaches = ["crate::export", "crate::ledger", "super::super::"];
    let mut offenders = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if reaches.iter().any(|r| code.contains(r)) {
                offenders.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "db reaches into the layers above it:\n{}",
        offenders.join("\n")
    );
}
