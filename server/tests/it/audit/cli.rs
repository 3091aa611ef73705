//! `aidant audit` and its subcommands print their help.

use super::aidant;

#[test]
fn audit_commands_print_their_help() {
    for args in [
        &["audit"][..],
        &["audit", "--help"],
        &["audit", "-h"],
        &["audit", "help"],
        &["audit", "verify", "--help"],
        &["audit", "anchor", "--help"],
    ] {
        let (ok, out, err) = aidant(args);
        assert!(ok, "{args:?}: {err}");
        assert!(
            out.contains("Usage: aidant audit") && out.contains("--anchor"),
            "{args:?}: {out}"
        );
    }
    let (ok, _, err) = aidant(&["audit", "frobnicate"]);
    assert!(!ok && err.contains("unrecognized subcommand"), "{err}");
    let (ok, out, _) = aidant(&["--help"]);
    assert!(ok && out.contains("audit verify|anchor"), "{out}");
}
