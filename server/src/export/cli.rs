//! `aidant export`: the same export as `GET /api/v1/operations/{id}/export`,
//! run directly on the SQLite file, audited as `cli:<$USER>`, with a progress
//! bar on stderr; prints the SHA-256 at the end.

use super::{parse_range, Request, Watch};
use crate::config::DatabaseArgs;
use crate::db::export::Scope;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

/// `aidant export`'s options.
#[derive(Clone, Debug, Default, clap::Args)]
#[command(after_help = "Days are Europe/London calendar days; at most 31 in one export.")]
pub struct ExportArgs {
    /// The operation (UUID)
    #[arg(long, value_name = "ID")]
    pub operation: Option<String>,
    /// One day, YYYY-MM-DD (or --from and --to)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// First day, YYYY-MM-DD
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: the first)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<String>,
    /// csv, xlsx, json or html
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Where to write it
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Include victim-identifying columns (names, dates of birth,
    /// descriptions, notes)
    #[arg(long)]
    pub identifying: bool,
    /// Why (kept in the audit trail) [default: "command-line export"]
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// For CSV: which table, visits or persons [default: visits]
    #[arg(long, value_name = "TABLE")]
    pub table: Option<String>,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Checked arguments.
#[derive(Debug)]
pub struct Args {
    /// What to export.
    pub request: Request,
    /// Where.
    pub output: PathBuf,
    /// SQLite file.
    pub db: PathBuf,
    /// The database URL, when given instead of the file (not used yet).
    pub database_url: Option<String>,
}

impl ExportArgs {
    /// Checks the options into what to export, where.
    pub fn check(self) -> Result<Args, String> {
        let operation = self
            .operation
            .ok_or("--operation is required")?
            .parse()
            .map_err(|_| "--operation must be a UUID".to_owned())?;
        let (from, to) = match (self.date, self.from, self.to) {
            (Some(d), None, None) => parse_range(&d, None),
            (None, Some(f), t) => parse_range(&f, t.as_deref()),
            (None, None, _) => return Err("give --date, or --from (and --to)".into()),
            _ => return Err("give either --date or --from/--to, not both".into()),
        }
        .map_err(|e| e.to_string())?;
        let format = self
            .format
            .ok_or("--format is required (csv, xlsx, json or html)")?;
        let request = Request::new(
            Scope {
                operation,
                from,
                to,
            },
            &format,
            self.table.as_deref(),
            self.identifying,
            Some(self.reason.as_deref().unwrap_or("command-line export")),
        )
        .map_err(|e| e.to_string())?;
        Ok(Args {
            request,
            output: self.output.ok_or("-o FILE is required")?,
            db: self.database.db_path(),
            database_url: self.database.database_url(),
        })
    }
}

struct Bar(ProgressBar);

impl Watch for Bar {
    fn ready(&mut self, rows: u64) {
        self.0.set_length(rows);
    }
    fn progress(&mut self, rows: u64) {
        self.0.set_position(rows);
    }
}

/// Runs `aidant export`.
pub fn run(args: ExportArgs) -> Result<(), String> {
    let env = |k: &str| std::env::var(k).ok();
    let a = args.check()?;
    let location = match &a.database_url {
        Some(url) => crate::db::Location::Postgres(url.clone()),
        None if !a.db.exists() => return Err(format!("no database at {}", a.db.display())),
        None => crate::db::Location::File(a.db.clone()),
    };
    let key = crate::db::audit::default_key_path(&a.db);
    let db = crate::ledger::open(&location, &key)
        .map_err(|e| format!("{}: {e}", location.describe()))?;
    let actor = format!(
        "cli:{}",
        env("USER")
            .or_else(|| env("USERNAME"))
            .unwrap_or_else(|| "unknown".into())
    );
    let dir = a
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("creating a file in {}: {e}", dir.display()))?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{spinner} {wide_bar} {pos}/{len} rows {per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut watch = Bar(bar.clone());
    let file = tmp.reopen().map_err(|e| e.to_string())?;
    let result = super::run_blocking(&db, a.request, &actor, file, &mut watch);
    bar.finish_and_clear();
    let (started, written) = result
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no such operation".to_owned())?;
    tmp.persist(&a.output)
        .map_err(|e| format!("writing {}: {e}", a.output.display()))?;
    println!(
        "wrote {}: {} rows, {} bytes (export {})",
        a.output.display(),
        written.rows,
        written.bytes,
        started.id
    );
    println!("sha256 {}", written.sha256);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::Format;

    /// `aidant export` alone, as the binary parses it.
    #[derive(clap::Parser)]
    struct Export {
        #[command(flatten)]
        args: ExportArgs,
    }

    fn p(args: &[&str]) -> Result<Args, String> {
        use clap::Parser;
        Export::try_parse_from(std::iter::once("export").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?
            .args
            .check()
    }

    #[test]
    fn arguments_are_checked() {
        let op = "6b1c2a55-8f0e-4c8e-9d57-0d7e2b1f9a10";
        let a = p(&[
            "--operation",
            op,
            "--date",
            "2026-03-29",
            "--format",
            "csv",
            "-o",
            "x.csv",
        ])
        .unwrap();
        assert_eq!(a.request.scope.from, a.request.scope.to);
        assert_eq!(a.request.reason, "command-line export");
        assert_eq!(a.db, PathBuf::from("data/aidant.sqlite3"));
        let a = p(&[
            "--operation",
            op,
            "--from=2026-03-01",
            "--to",
            "2026-03-31",
            "--format=xlsx",
            "--output",
            "x.xlsx",
            "--identifying",
            "--reason",
            "court bundle",
            "--db",
            "a.db",
        ])
        .unwrap();
        assert!(a.request.identifying);
        assert_eq!(a.request.format, Format::Xlsx);
        for (args, needle) in [
            (
                vec!["--date", "2026-03-29", "--format", "csv", "-o", "x"],
                "--operation",
            ),
            (vec!["--operation", "nope", "--date", "2026-03-29"], "UUID"),
            (
                vec!["--operation", op, "--format", "csv", "-o", "x"],
                "--date",
            ),
            (
                vec!["--operation", op, "--date", "2026-02-30", "--format", "csv"],
                "date",
            ),
            (
                vec![
                    "--operation",
                    op,
                    "--from",
                    "2026-03-02",
                    "--to",
                    "2026-03-01",
                ],
                "after",
            ),
            (
                vec![
                    "--operation",
                    op,
                    "--from",
                    "2026-01-01",
                    "--to",
                    "2026-03-01",
                ],
                "31",
            ),
            (
                vec!["--operation", op, "--date", "2026-03-29", "--format", "pdf"],
                "format",
            ),
            (
                vec!["--operation", op, "--date", "2026-03-29", "--format", "csv"],
                "-o",
            ),
            (vec!["--frob"], "unexpected argument"),
        ] {
            let e = p(&args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
    }
}
