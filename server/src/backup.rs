//! `aidant backup` and `aidant restore`: the command line over
//! [`crate::db::backup`]. The database and its audit key are two files kept
//! apart on purpose (whoever holds both can rewrite the audit trail), so a
//! backup writes the database copy, and the key only where `--key-to` says.

use crate::db::audit::default_key_path;
use crate::db::backup::{self, Contents, Overwrite};
use std::path::PathBuf;

/// The database file's name in a `--data-dir`.
pub const DB_FILE: &str = "aidant.sqlite3";

/// `aidant backup`'s options.
#[derive(Clone, Debug, Default, clap::Args)]
#[command(
    after_help = "Without --key-to the audit key is not copied: a backup restores without \
                  it, but its audit chain cannot be verified, so keep one copy of the key \
                  somewhere safe, apart from the backups."
)]
pub struct BackupArgs {
    /// Where the copy goes (refused if it exists, unless --force)
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
    /// Where the database is.
    #[command(flatten)]
    pub place: Place,
    /// Also copy the audit key there (mode 0600). Keep it apart from the
    /// backups: the key and a database together let their holder rewrite the
    /// audit trail undetected
    #[arg(long, value_name = "KEYFILE")]
    pub key_to: Option<PathBuf>,
    /// Replace FILE (and KEYFILE) if they exist
    #[arg(long)]
    pub force: bool,
}

/// `aidant restore`'s options.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct RestoreArgs {
    /// The backup (`aidant backup --to FILE`)
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// The audit key saved with `--key-to`; copied to the key's place (mode
    /// 0600). Without it, the key must already be there
    #[arg(long, value_name = "KEYFILE")]
    pub key_from: Option<PathBuf>,
    /// Where to restore to.
    #[command(flatten)]
    pub place: Place,
    /// Replace an existing database (and its -wal and -shm files) and a
    /// different key file
    #[arg(long)]
    pub force: bool,
}

/// The database and its audit key: a data folder, or a file.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Place {
    /// The server's data folder: DIR/aidant.sqlite3 and DIR/audit.key
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The SQLite file instead (env AIDANT_DB, default data/aidant.sqlite3;
    /// --data-dir wins over the environment); an alternative to --database-url
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The database server instead.
    #[command(flatten)]
    pub url: crate::config::DatabaseUrl,
    /// The server's audit key file [default: audit.key beside the database]
    #[arg(long, env = "AIDANT_AUDIT_KEY_FILE", value_name = "PATH")]
    pub audit_key: Option<String>,
}

/// The database and audit key paths from `--data-dir`, `--db`,
/// `--audit-key` and the environment (`AIDANT_DB` is read here rather than by
/// the parser, so that `--data-dir` wins over it but not over `--db`).
fn locations(
    p: &Place,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(PathBuf, PathBuf), String> {
    if p.url.get().is_some() {
        return Err(
            "aidant backup and restore copy the SQLite file; on PostgreSQL use \
                    pg_dump and pg_restore (README.md, \"Backup and restore\")"
                .into(),
        );
    }
    let db = match (&p.data_dir, &p.db) {
        (Some(_), Some(_)) => return Err("give --data-dir or --db, not both".into()),
        (Some(dir), None) => dir.join(DB_FILE),
        (None, Some(db)) => db.clone(),
        (None, None) => env("AIDANT_DB")
            .filter(|v| !v.is_empty())
            .map_or_else(|| crate::config::Config::default().db_path, PathBuf::from),
    };
    let key = crate::config::given(&p.audit_key)
        .map(PathBuf::from)
        .unwrap_or_else(|| default_key_path(&db));
    Ok((db, key))
}

fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

fn describe(c: &Contents) -> String {
    format!(
        "{} bytes, schema {}, {} ops, {} devices, {} audit rows",
        c.bytes, c.schema, c.ops, c.devices, c.audit_rows
    )
}

/// `aidant backup …`.
pub fn backup_cli(args: BackupArgs) -> Result<(), String> {
    let (db, key) = locations(&args.place, &env)?;
    let to = args.to.ok_or("--to FILE is required")?;
    // The key first: a refused key destination stops before any copying.
    let key_to = args.key_to;
    if let Some(key_to) = &key_to {
        backup::copy_key(&key, key_to, overwrite(args.force)).map_err(|e| e.to_string())?;
    }
    let started = std::time::Instant::now();
    let got = backup::backup(&db, &to, overwrite(args.force)).map_err(|e| e.to_string())?;
    println!(
        "backup of {} written to {} in {} ms: {}",
        db.display(),
        to.display(),
        started.elapsed().as_millis(),
        describe(&got)
    );
    match key_to {
        Some(key_to) => println!(
            "audit key {} copied to {}: keep it apart from the backups",
            key.display(),
            key_to.display()
        ),
        None => println!(
            "the audit key is not in the backup: restoring and verifying it needs {} \
             (keep one copy apart from the backups, or give --key-to)",
            key.display()
        ),
    }
    Ok(())
}

/// `aidant restore …`.
pub fn restore_cli(args: RestoreArgs) -> Result<(), String> {
    let p = &args.place;
    if p.data_dir.is_none() && p.db.is_none() && env("AIDANT_DB").is_none() {
        return Err("say where to restore: --data-dir DIR or --db PATH".into());
    }
    let (db, key) = locations(p, &env)?;
    let from = args.from.ok_or("--from FILE is required")?;
    let key_from = args.key_from;
    let got = backup::restore(&from, key_from.as_deref(), &db, &key, overwrite(args.force))
        .map_err(|e| e.to_string())?;
    println!(
        "restored {} as {} (audit chain checks out under {}): {}",
        from.display(),
        db.display(),
        key.display(),
        describe(&got)
    );
    let key_flag = if key == default_key_path(&db) {
        String::new()
    } else {
        format!(" --audit-key {}", key.display())
    };
    println!(
        "start the server with: aidant serve --db {}{key_flag}",
        db.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `aidant backup` alone, as the binary parses it.
    #[derive(Parser)]
    struct Backup {
        #[command(flatten)]
        args: BackupArgs,
    }

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<(PathBuf, PathBuf), String> {
        let mut a = Backup::try_parse_from(std::iter::once("backup").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?
            .args;
        // What the parser takes from the environment.
        if let Some((_, k)) = env.iter().find(|(k, _)| *k == "AIDANT_AUDIT_KEY_FILE") {
            a.place.audit_key.get_or_insert_with(|| k.to_string());
        }
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        locations(&a.place, &|k: &str| {
            env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn locations_come_from_the_data_dir_the_db_flag_or_the_environment() {
        let p = PathBuf::from;
        assert_eq!(
            parse(&["--data-dir", "/srv/a"], &[("AIDANT_DB", "/x.db")]),
            Ok((p("/srv/a/aidant.sqlite3"), p("/srv/a/audit.key")))
        );
        assert_eq!(
            parse(&["--db=/d/live.db", "--force"], &[]),
            Ok((p("/d/live.db"), p("/d/audit.key")))
        );
        assert_eq!(
            parse(
                &[],
                &[("AIDANT_DB", "/e/x.db"), ("AIDANT_AUDIT_KEY_FILE", "/k")]
            ),
            Ok((p("/e/x.db"), p("/k")))
        );
        assert!(parse(&["--db", "a", "--data-dir", "b"], &[])
            .unwrap_err()
            .contains("not both"));
        assert!(parse(&["--to"], &[])
            .unwrap_err()
            .contains("a value is required"));
        assert!(parse(&["--force=yes"], &[])
            .unwrap_err()
            .contains("unexpected"));
        assert!(parse(&["--db", "a", "--db", "b"], &[])
            .unwrap_err()
            .contains("cannot be used multiple times"));
    }
}
