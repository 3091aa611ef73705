//! `aidant backup` and `aidant restore`: the command line over
//! [`crate::db::backup`]. The database and its audit key are two files kept
//! apart on purpose (whoever holds both can rewrite the audit trail), so a
//! backup writes the database copy, and the key only where `--key-to` says.

use crate::db::audit::default_key_path;
use crate::db::backup::{self, Contents, Overwrite};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The database file's name in a `--data-dir`.
pub const DB_FILE: &str = "aidant.sqlite3";

/// `aidant backup --help`.
pub const BACKUP_HELP: &str = "\
aidant backup --to FILE [options]
  a consistent copy of the database, taken while the server runs (it keeps
  serving); written to a temporary file beside FILE, checked with SQLite's
  integrity check, flushed to disk, then renamed to FILE

  --to FILE          where the copy goes (refused if it exists, unless --force)
  --data-dir DIR     the server's data folder: DIR/aidant.sqlite3 and DIR/audit.key
  --db PATH          the SQLite file instead (env AIDANT_DB, default data/aidant.sqlite3)
  --audit-key PATH   the server's audit key file (env AIDANT_AUDIT_KEY_FILE,
                     default audit.key beside the database)
  --key-to KEYFILE   also copy the audit key there (mode 0600). Keep it apart
                     from the backups: the key and a database together let
                     their holder rewrite the audit trail undetected. Without
                     the key a backup restores but its audit chain cannot be
                     verified, so keep one copy of it somewhere safe.
  --force            replace FILE (and KEYFILE) if they exist";

/// `aidant restore --help`.
pub const RESTORE_HELP: &str = "\
aidant restore --from FILE (--data-dir DIR | --db PATH) [options]
  puts a backup in place for `aidant serve`. Stop the server first. A copy is
  checked before anything is replaced: SQLite's integrity check, and the
  audit chain under the key (as `aidant audit verify` does)

  --from FILE        the backup (`aidant backup --to FILE`)
  --key-from KEYFILE the audit key saved with `--key-to`; copied to the key's
                     place (mode 0600). Without it, the key must already be there
  --data-dir DIR     restore into DIR/aidant.sqlite3, key DIR/audit.key
  --db PATH          restore as this SQLite file instead (env AIDANT_DB)
  --audit-key PATH   where the server reads its key (env AIDANT_AUDIT_KEY_FILE,
                     default audit.key beside the database)
  --force            replace an existing database (and its -wal and -shm files)
                     and a different key file";

/// Flags with a value, and switches, after the subcommand.
fn flags(
    args: impl IntoIterator<Item = String>,
    takes_value: &[&str],
    switches: &[&str],
    command: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        if switches.contains(&flag.as_str()) && inline.is_none() {
            out.insert(flag, String::new());
        } else if takes_value.contains(&flag.as_str()) {
            let v = inline
                .or_else(|| it.next())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{flag} needs a value"))?;
            if out.insert(flag.clone(), v).is_some() {
                return Err(format!("{flag} given twice"));
            }
        } else {
            return Err(format!(
                "unexpected argument {a:?}; see `aidant {command} --help`"
            ));
        }
    }
    Ok(out)
}

/// The database and audit key paths from `--data-dir`, `--db`,
/// `--audit-key` and the environment.
fn locations(
    f: &BTreeMap<String, String>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(PathBuf, PathBuf), String> {
    let env = |k| env(k).filter(|v: &String| !v.is_empty()).map(PathBuf::from);
    let db = match (f.get("--data-dir"), f.get("--db")) {
        (Some(_), Some(_)) => return Err("give --data-dir or --db, not both".into()),
        (Some(dir), None) => Path::new(dir).join(DB_FILE),
        (None, Some(db)) => PathBuf::from(db),
        (None, None) => {
            env("AIDANT_DB").unwrap_or_else(|| crate::config::Config::default().db_path)
        }
    };
    let key = f
        .get("--audit-key")
        .map(PathBuf::from)
        .or_else(|| env("AIDANT_AUDIT_KEY_FILE"))
        .unwrap_or_else(|| default_key_path(&db));
    Ok((db, key))
}

fn overwrite(f: &BTreeMap<String, String>) -> Overwrite {
    if f.contains_key("--force") {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

fn describe(c: &Contents) -> String {
    format!(
        "{} bytes, schema {}, {} ops, {} devices, {} audit rows",
        c.bytes, c.schema, c.ops, c.devices, c.audit_rows
    )
}

fn wants_help(args: &[String]) -> bool {
    args.iter().any(|a| a == "--help" || a == "-h")
}

/// `aidant backup …`.
pub fn backup_cli(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let args: Vec<String> = args.into_iter().collect();
    if wants_help(&args) {
        println!("{BACKUP_HELP}");
        return Ok(());
    }
    let f = flags(
        args,
        &["--to", "--data-dir", "--db", "--audit-key", "--key-to"],
        &["--force"],
        "backup",
    )?;
    let (db, key) = locations(&f, &env)?;
    let to = PathBuf::from(f.get("--to").ok_or("--to FILE is required")?);
    // The key first: a refused key destination stops before any copying.
    let key_to = f.get("--key-to").map(PathBuf::from);
    if let Some(key_to) = &key_to {
        backup::copy_key(&key, key_to, overwrite(&f)).map_err(|e| e.to_string())?;
    }
    let started = std::time::Instant::now();
    let got = backup::backup(&db, &to, overwrite(&f)).map_err(|e| e.to_string())?;
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
pub fn restore_cli(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let args: Vec<String> = args.into_iter().collect();
    if wants_help(&args) {
        println!("{RESTORE_HELP}");
        return Ok(());
    }
    let f = flags(
        args,
        &["--from", "--key-from", "--data-dir", "--db", "--audit-key"],
        &["--force"],
        "restore",
    )?;
    if !f.contains_key("--data-dir") && !f.contains_key("--db") && env("AIDANT_DB").is_none() {
        return Err("say where to restore: --data-dir DIR or --db PATH".into());
    }
    let (db, key) = locations(&f, &env)?;
    let from = PathBuf::from(f.get("--from").ok_or("--from FILE is required")?);
    let key_from = f.get("--key-from").map(PathBuf::from);
    let got = backup::restore(&from, key_from.as_deref(), &db, &key, overwrite(&f))
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

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<(PathBuf, PathBuf), String> {
        let f = flags(
            args.iter().map(|s| s.to_string()),
            &["--to", "--data-dir", "--db", "--audit-key"],
            &["--force"],
            "backup",
        )?;
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        locations(&f, &|k: &str| {
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
        assert!(parse(&["--to"], &[]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--force=yes"], &[])
            .unwrap_err()
            .contains("unexpected"));
        assert!(parse(&["--db", "a", "--db", "b"], &[])
            .unwrap_err()
            .contains("twice"));
    }
}
