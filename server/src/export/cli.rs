//! `aidant export`: the same export as `GET /api/v1/operations/{id}/export`,
//! run directly on the SQLite file, audited as `cli:<$USER>`, with a progress
//! bar on stderr; prints the SHA-256 at the end.

use super::{parse_range, Format, Request, Table, Watch};
use crate::db::export::Scope;
use crate::db::Db;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

/// `aidant export --help`.
pub const HELP: &str = "\
aidant export --operation ID (--date YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD)
              --format csv|xlsx|json|html -o FILE [options]
  --identifying        include victim-identifying columns (names, dates of birth,
                       descriptions, notes)
  --reason TEXT        why (kept in the audit trail; default \"command-line export\")
  --table visits|persons   for CSV: which table (default visits)
  --db PATH            SQLite file (env AIDANT_DB, default data/aidant.sqlite3)
Days are Europe/London calendar days; at most 31 in one export.";

/// Parsed arguments.
#[derive(Debug)]
pub struct Args {
    /// What to export.
    pub request: Request,
    /// Where.
    pub output: PathBuf,
    /// SQLite file.
    pub db: PathBuf,
}

/// Parses the arguments after `export`.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Args, String> {
    let mut operation = None;
    let (mut date, mut from, mut to) = (None, None, None);
    let mut format = None;
    let mut output = None;
    let mut identifying = false;
    let mut reason = None;
    let mut table = None;
    let mut db = env("AIDANT_DB")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data/aidant.sqlite3"));
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        if flag == "--identifying" {
            identifying = true;
            continue;
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--operation" => operation = Some(value()?),
            "--date" => date = Some(value()?),
            "--from" => from = Some(value()?),
            "--to" => to = Some(value()?),
            "--format" => format = Some(value()?),
            "-o" | "--output" => output = Some(PathBuf::from(value()?)),
            "--reason" => reason = Some(value()?),
            "--table" => table = Some(value()?),
            "--db" => db = PathBuf::from(value()?),
            other => {
                return Err(format!(
                    "unknown option {other}; see `aidant export --help`"
                ))
            }
        }
    }
    let operation = operation
        .ok_or("--operation is required")?
        .parse()
        .map_err(|_| "--operation must be a UUID".to_owned())?;
    let (from, to) = match (date, from, to) {
        (Some(d), None, None) => parse_range(&d, None),
        (None, Some(f), t) => parse_range(&f, t.as_deref()),
        (None, None, _) => return Err("give --date, or --from (and --to)".into()),
        _ => return Err("give either --date or --from/--to, not both".into()),
    }
    .map_err(|e| e.to_string())?;
    let format = format.ok_or("--format is required (csv, xlsx, json or html)")?;
    let format =
        Format::parse(&format).ok_or_else(|| super::Invalid::Format(format).to_string())?;
    super::check_format_range(format, from, to).map_err(|e| e.to_string())?;
    let table = match table {
        None => Table::Visits,
        Some(t) => Table::parse(&t).ok_or_else(|| super::Invalid::Table(t).to_string())?,
    };
    let reason = super::check_reason(Some(reason.as_deref().unwrap_or("command-line export")))
        .map_err(|e| e.to_string())?;
    Ok(Args {
        request: Request {
            scope: Scope {
                operation,
                from,
                to,
            },
            format,
            table,
            identifying,
            reason,
        },
        output: output.ok_or("-o FILE is required")?,
        db,
    })
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
pub fn run(args: impl IntoIterator<Item = String>) -> Result<(), String> {
    let args: Vec<String> = args.into_iter().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{HELP}");
        return Ok(());
    }
    let env = |k: &str| std::env::var(k).ok();
    let a = parse(args, env)?;
    if !a.db.exists() {
        return Err(format!("no database at {}", a.db.display()));
    }
    let db = Db::open(&a.db).map_err(|e| format!("{}: {e}", a.db.display()))?;
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

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(args.iter().map(|s| s.to_string()), |_| None)
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
            (vec!["--frob"], "unknown option"),
        ] {
            let e = p(&args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
    }
}
