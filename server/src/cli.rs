//! The `aidant` command line: one clap parser for every subcommand (each
//! subcommand's options are declared beside the code that runs it:
//! [`crate::config::ServeArgs`], [`crate::demo_week::DemoArgs`],
//! [`crate::export::cli::ExportArgs`], [`crate::backup::BackupArgs`],
//! [`crate::backup::RestoreArgs`], and [`AuditArgs`] here), `--help` on
//! every one of them, and environment variables through clap's `env`
//! (flags win; an empty variable counts as not set). Also `aidant audit`.

use crate::config::{given, DatabaseArgs, ServeArgs};
use crate::db::audit::{self, Anchor, Verdict};
use crate::db::Db;
use clap::CommandFactory;
use std::path::PathBuf;

/// Synopses, after the list of commands in `aidant --help`.
const SYNOPSES: &str = "\
Synopses:
  aidant serve [options]
  aidant audit verify|anchor [--db PATH | --database-url URL] [--audit-key F] [--anchor TEXT]
  aidant demo [options]
  aidant demo-sync
  aidant export --operation ID (--date D | --from D --to D) --format csv|xlsx|json|html -o FILE
  aidant backup --to FILE [--key-to KEYFILE]
  aidant restore --from FILE [--key-from KEYFILE] --data-dir DIR

`aidant <command> --help` says more; `aidant` alone runs demo-sync.";

/// `aidant`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "aidant",
    version,
    about = "Aidant: offline field visits against modern slavery, merged without loss",
    after_help = SYNOPSES
)]
pub struct Cli {
    /// What to do (`demo-sync` when none is given).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the server
    Serve(ServeArgs),
    /// Check the keyed audit chain, or print its head to keep outside the server
    Audit(AuditArgs),
    /// Fill a new database with a realistic week of action
    Demo(crate::demo_week::DemoArgs),
    /// Two phones edit one visit offline and converge (in memory)
    DemoSync,
    /// Export an operation's visits, audited, straight from the database
    Export(crate::export::cli::ExportArgs),
    /// A consistent copy of the database while the server runs
    ///
    /// A consistent copy of the database, taken while the server runs (it
    /// keeps serving); written to a temporary file beside FILE, checked with
    /// SQLite's integrity check, flushed to disk, then renamed to FILE.
    Backup(crate::backup::BackupArgs),
    /// Check a backup and put it in place
    ///
    /// Puts a backup in place for `aidant serve`. Stop the server first. A
    /// copy is checked before anything is replaced: SQLite's integrity check,
    /// and the audit chain under the key (as `aidant audit verify` does).
    Restore(crate::backup::RestoreArgs),
}

/// `aidant audit`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit status 0 when the chain checks out, 1 otherwise.")]
pub struct AuditArgs {
    /// `verify` or `anchor` (none: this help).
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
}

/// `aidant audit verify|anchor`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check every row of the audit chain against the audit key, naming the
    /// first bad row; with --anchor, also prove the chain still reaches the
    /// anchored row with its hash
    #[command(after_help = "Exit status 0 when the chain checks out, 1 otherwise.")]
    Verify(VerifyArgs),
    /// Check the chain, then print its head (sequence, hash, time) as one line
    /// aidant-audit-anchor:SEQ:HASH:TIME and as JSON; keep it outside the
    /// server (in the day's return, say); `aidant audit verify --anchor` checks
    /// against it later
    Anchor(AuditKeyArgs),
}

/// The database and the audit key, for `aidant audit …`.
#[derive(Debug, clap::Args)]
pub struct AuditKeyArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The key file the server uses [default: audit.key in the database's
    /// folder]; never created here
    #[arg(long, env = "AIDANT_AUDIT_KEY_FILE", value_name = "F")]
    pub audit_key: Option<String>,
}

/// `aidant audit verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Database and key.
    #[command(flatten)]
    pub key: AuditKeyArgs,
    /// A line `aidant audit anchor` printed earlier, or its JSON: prove the
    /// chain still reaches that row with that hash, so nothing up to it was
    /// removed or changed
    #[arg(long, value_name = "TEXT")]
    pub anchor: Option<String>,
}

/// Prints the help of `aidant <path…>` (e.g. `["audit"]`).
pub fn print_help(path: &[&str]) -> Result<(), String> {
    let mut cmd = Cli::command();
    let mut at = &mut cmd;
    for name in path {
        at = at
            .find_subcommand_mut(name)
            .ok_or_else(|| format!("no command {name}"))?;
    }
    // The rendered usage names the whole path only once built as a whole.
    let mut built = at.clone().bin_name(format!("aidant {}", path.join(" ")));
    built.print_long_help().map_err(|e| e.to_string())
}

/// `aidant audit …`: `verify` and `anchor`.
pub fn audit(args: AuditArgs) -> Result<(), String> {
    let (key, anchor, anchoring) = match args.command {
        None => return print_help(&["audit"]),
        Some(AuditCommand::Verify(v)) => (v.key, v.anchor, false),
        Some(AuditCommand::Anchor(k)) => (k, None, true),
    };
    let anchor = anchor
        .map(|a| a.parse::<Anchor>())
        .transpose()
        .map_err(|e| e.to_string())?;
    let location = key.database.location();
    let db = key.database.db_path();
    let key = given(&key.audit_key)
        .map(PathBuf::from)
        .unwrap_or_else(|| audit::default_key_path(&db));
    if !key.is_file() {
        return Err(format!(
            "audit key file {} not found: give the key the server uses with --audit-key \
             (or AIDANT_AUDIT_KEY_FILE)",
            key.display()
        ));
    }
    let db = Db::open_at_to_verify(&location, &key)
        .map_err(|e| format!("{}: {e}", location.describe()))?;
    let verdict = db
        .read_snapshot(|c| audit::verify_with(c, anchor.as_ref()))
        .map_err(|e| e.to_string())?;
    if let (Verdict::Ok { .. }, true) = (&verdict, anchoring) {
        return match db.read_blocking(audit::anchor).map_err(|e| e.to_string())? {
            Some(a) => {
                println!("{a}");
                println!("{}", serde_json::to_string(&a).unwrap_or_default());
                Ok(())
            }
            None => Err("the audit trail is empty: nothing to anchor yet".into()),
        };
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&verdict).unwrap_or_default()
    );
    match verdict {
        Verdict::Ok { .. } => Ok(()),
        Verdict::Broken { message, .. } => Err(format!("audit chain broken: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parser_is_consistent() {
        Cli::command().debug_assert();
    }
}
