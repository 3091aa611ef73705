//! PostgreSQL only: connections to the database go over TLS with the
//! server's certificate checked (`server/src/db/pg_tls.rs`). `scripts/pg.sh`
//! serves the throwaway cluster on 127.0.0.1 too, TLS only, with a
//! certificate from a CA of its own, and makes a second CA that signed
//! nothing of it.

use crate::harness::{fresh_pg_database, record_visit, Server, World};
use server::db::{Db, Location};

/// The cluster's TLS address, its CA, the other CA, and a new database's
/// name.
fn tls_setup() -> (String, String, String, String) {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k}: run under scripts/pg.sh"));
    let socket_url = fresh_pg_database().expect("under scripts/pg.sh");
    let (_, name) = socket_url.rsplit_once('/').expect("URL ends in /DATABASE");
    (
        var("AIDANT_TEST_DATABASE_TLS"),
        var("AIDANT_TEST_DATABASE_CA"),
        var("AIDANT_TEST_DATABASE_OTHER_CA"),
        name.to_owned(),
    )
}

/// Connections of `database` that use TLS, and those that do not, as the
/// cluster sees them.
fn connections(database: &str) -> (i64, i64) {
    let admin = std::env::var("AIDANT_TEST_DATABASE_URL").expect("under scripts/pg.sh");
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("cluster");
    let row = c
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
               FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
              WHERE a.datname = $1",
            &[&database],
        )
        .expect("pg_stat_ssl");
    (row.get(0), row.get(1))
}

/// A server given a URL with `sslmode=verify-full` and `sslrootcert`
/// serves a phone's pushes, and every connection it holds is encrypted.
#[test]
fn a_server_on_a_verified_tls_url_serves_over_tls_only() {
    let (tls, ca, _, name) = tls_setup();
    let url = format!("{tls}/{name}?sslmode=verify-full&sslrootcert={ca}");
    let mut w = World::on(Server::start_with(move |c| c.database_url = Some(url)));
    let (_, ops) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &ops);
    let (encrypted, plain) = connections(&name);
    assert!(
        encrypted >= 2,
        "the server's connections: {encrypted} over TLS"
    );
    assert_eq!(plain, 0, "no connection of the server is plain");
}

/// A certificate that does not chain to the given CA is refused, and
/// `sslmode=prefer` does not fall back to a plain connection over it: the
/// error names the certificate, and nothing was connected.
#[test]
fn a_certificate_from_another_ca_is_refused_even_when_tls_is_only_preferred() {
    let (tls, _, other, name) = tls_setup();
    let dir = tempfile::tempdir().expect("temporary folder");
    for mode in ["verify-full", "require", "prefer"] {
        let url = format!("{tls}/{name}?sslmode={mode}&sslrootcert={other}");
        let e = Db::open_at(&Location::Postgres(url), &dir.path().join("audit.key"))
            .err()
            .unwrap_or_else(|| panic!("sslmode={mode}: connected with an unknown CA"));
        let message = e.to_string();
        assert!(
            message.to_lowercase().contains("certificate"),
            "sslmode={mode}: {message}"
        );
    }
    assert_eq!(connections(&name), (0, 0));
}
