//! The `aidant` command line through the real binary: `--help` (and `-h`)
//! on every subcommand and sub-subcommand, found from the parser itself so
//! a new one is covered; flags against environment variables.

use clap::CommandFactory;
use server::cli::Cli;
use std::process::{Command, Output};

fn aidant(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aidant"));
    c.args(args);
    for var in [
        "AIDANT_DB",
        "AIDANT_DATABASE_URL",
        "AIDANT_AUDIT_KEY_FILE",
        "AIDANT_ADMIN_PASSWORD",
        "AIDANT_BIND",
        "AIDANT_MAX_BODY",
    ] {
        c.env_remove(var);
    }
    c.envs(env.iter().copied());
    c.output().expect("run aidant")
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every command path below `aidant`: `[]`, `["serve"]`, `["audit", "verify"]`, …
fn paths(cmd: &clap::Command, at: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    for sub in cmd.get_subcommands() {
        let mut next = at.clone();
        next.push(sub.get_name().to_owned());
        paths(sub, next, out);
    }
}

#[test]
fn every_command_and_subcommand_answers_help() {
    let mut all = Vec::new();
    paths(&Cli::command(), Vec::new(), &mut all);
    // The parser's own `help` subcommands are not commands of ours.
    all.retain(|p| !p.iter().any(|n| n == "help"));
    for expected in [
        &["serve"][..],
        &["audit"],
        &["audit", "verify"],
        &["audit", "anchor"],
        &["demo"],
        &["demo-sync"],
        &["export"],
        &["backup"],
        &["restore"],
    ] {
        assert!(
            all.iter().any(|p| p == expected),
            "{expected:?} missing from {all:?}"
        );
    }
    for path in &all {
        for flag in ["--help", "-h"] {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push(flag);
            let out = aidant(&args, &[]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{args:?}: {}", said(&out));
            let name = ["aidant"]
                .into_iter()
                .chain(path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                text.contains(&format!("Usage: {name}")),
                "{args:?} does not name `{name}`: {text}"
            );
        }
    }
    // `aidant audit` alone explains itself too, and `help` works as a command.
    for args in [&["audit"][..], &["help", "audit", "verify"]] {
        let out = aidant(args, &[]);
        assert!(out.status.success(), "{args:?}: {}", said(&out));
        assert!(said(&out).contains("Usage: aidant audit"), "{}", said(&out));
    }
}

#[test]
fn the_database_url_and_the_sqlite_file_are_offered_as_alternatives() {
    for path in [
        &["serve"][..],
        &["audit", "verify"],
        &["audit", "anchor"],
        &["demo"],
        &["export"],
        &["backup"],
        &["restore"],
    ] {
        let mut args = path.to_vec();
        args.push("--help");
        // A URL may hold a password: the help never shows the variable's value.
        let url = ("AIDANT_DATABASE_URL", "postgres://aidant:s3cret@db/aidant");
        let out = aidant(&args, &[url]);
        let text = said(&out);
        assert!(
            text.contains("--database-url <URL>")
                && text.contains("AIDANT_DATABASE_URL")
                && text.contains("alternative")
                && !text.contains("s3cret"),
            "{args:?}: {text}"
        );
    }
}

#[test]
fn flags_win_over_the_environment_in_both_forms() {
    // The environment's address is not one, but the flag replaces it; the
    // error is then about the next bad value, given inline.
    let out = aidant(
        &["serve", "--bind", "127.0.0.1:0", "--max-body=10"],
        &[("AIDANT_BIND", "nowhere")],
    );
    assert!(!out.status.success());
    let text = said(&out);
    assert!(
        text.contains("max-body") && !text.contains("nowhere"),
        "{text}"
    );
    // Without the flag, the environment's value is used (and refused).
    let out = aidant(&["serve"], &[("AIDANT_BIND", "nowhere")]);
    assert!(!out.status.success());
    assert!(said(&out).contains("\"nowhere\""), "{}", said(&out));
    // An empty variable counts as not set.
    let out = aidant(
        &["serve", "--max-body", "10"],
        &[("AIDANT_BIND", ""), ("AIDANT_MAX_BODY", "")],
    );
    assert!(said(&out).contains("at least 1024"), "{}", said(&out));
    // `--db=PATH` inline, and AIDANT_DB when no flag is given.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.sqlite3");
    let inline = format!("--db={}", db.display());
    let key = dir.path().join("audit.key");
    for (args, env) in [
        (vec!["audit", "verify", inline.as_str()], vec![]),
        (
            vec!["audit", "verify"],
            vec![("AIDANT_DB", db.to_str().unwrap())],
        ),
    ] {
        let out = aidant(&args, &env);
        assert!(!out.status.success());
        assert!(
            said(&out).contains(&format!("audit key file {} not found", key.display())),
            "{args:?}: {}",
            said(&out)
        );
    }
    // Unknown flags are refused with a pointer to the help.
    let out = aidant(&["export", "--frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(said(&out).contains("--help"), "{}", said(&out));
}
