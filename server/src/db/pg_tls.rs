//! TLS to PostgreSQL (rustls, as the HTTPS listener), and what a database
//! URL asks of it.
//!
//! The connections carry victims' names and the audit trail, so a
//! connection to another machine is encrypted and the server's certificate
//! checked, unless the URL says otherwise:
//! - **Another host, no `sslmode`:** TLS required. The certificate must
//!   chain to `sslrootcert=FILE` (PEM; the force's own CA), or else to the
//!   system's CAs (`/etc/ssl/certs/ca-certificates.crt`), and name the host.
//! - **`sslmode=require`, `verify-ca` or `verify-full`:** the same. Unlike
//!   libpq's `require`, the certificate is always checked (rustls has no
//!   unchecked mode, and an unchecked one lets anyone on the path read
//!   everything), and `verify-ca` checks the host name too.
//! - **`sslmode=prefer`:** TLS, checked, if the server offers it; plain if
//!   it does not (so an attacker on the path can force plain: say so only
//!   on a network you trust).
//! - **`sslmode=disable`, or a Unix socket or loopback address without
//!   `sslmode`:** no TLS. A remote host without TLS is logged at warn on
//!   start.
//!
//! `sslrootcert` and the `verify-*` modes are libpq's names; the driver
//! knows neither, so they are taken out of the URL here.

use super::DbError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The system's CA bundle on Debian and its derivatives.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// How connections to the database are made.
#[derive(Clone)]
pub(crate) enum Tls {
    /// Plain: a Unix socket, the loopback, or `sslmode=disable`.
    Off,
    /// TLS with the server's certificate checked.
    On(tokio_postgres_rustls::MakeRustlsConnect),
}

/// The driver's settings and the TLS to use for `url`.
pub(super) fn settings(url: &str) -> Result<(postgres::Config, Tls), DbError> {
    let (url, asked) = take_libpq_options(url)?;
    let mut config: postgres::Config = url.parse()?;
    let remote = config.get_hosts().iter().any(|h| match h {
        postgres::config::Host::Tcp(name) => !is_loopback(name),
        #[cfg(unix)]
        postgres::config::Host::Unix(_) => false,
    });
    let mode = match asked.mode {
        Some(mode) => mode,
        None if remote => postgres::config::SslMode::Require,
        None => postgres::config::SslMode::Disable,
    };
    config.ssl_mode(mode);
    if mode == postgres::config::SslMode::Disable {
        if remote {
            tracing::warn!(
                database = %super::pg::redact(&url),
                "the connection to PostgreSQL is not encrypted (sslmode=disable): \
                 victims' records cross the network in clear"
            );
        }
        return Ok((config, Tls::Off));
    }
    let roots = roots(asked.root_cert.as_deref())?;
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| DbError::Unavailable(format!("setting up TLS to PostgreSQL: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok((
        config,
        Tls::On(tokio_postgres_rustls::MakeRustlsConnect::new(client)),
    ))
}

/// What the URL asked with libpq's options the driver does not know.
#[derive(Debug, Default, PartialEq)]
struct Asked {
    /// `sslmode`, if given.
    mode: Option<postgres::config::SslMode>,
    /// `sslrootcert`, if given.
    root_cert: Option<PathBuf>,
}

/// `url` without `sslrootcert` and with `sslmode` in the driver's terms,
/// and what they asked.
fn take_libpq_options(url: &str) -> Result<(String, Asked), DbError> {
    use postgres::config::SslMode;
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), Asked::default()));
    };
    let mut asked = Asked::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslrootcert" => asked.root_cert = Some(PathBuf::from(decode(value)?)),
            "sslmode" => {
                asked.mode = Some(match value {
                    "disable" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" | "verify-ca" | "verify-full" => SslMode::Require,
                    other => {
                        return Err(config_error(format!(
                    "sslmode={other}: expected disable, prefer, require, verify-ca or verify-full"
                )))
                    }
                })
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, asked))
}

/// A URL query value with its `%XX` escapes decoded.
fn decode(value: &str) -> Result<String, DbError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| config_error(format!("a bad %-escape in {value:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| config_error(format!("{value:?} is not UTF-8")))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The CAs a server certificate must chain to: those in `file`, else the
/// system's.
fn roots(file: Option<&Path>) -> Result<rustls::RootCertStore, DbError> {
    let path = file.unwrap_or(Path::new(SYSTEM_CAS));
    let pem = std::fs::read(path).map_err(|source| DbError::Io {
        action: if file.is_some() {
            "reading sslrootcert (the CA certificate of PostgreSQL's server certificate)"
        } else {
            "reading the system's CA certificates (give sslrootcert=FILE in the database URL)"
        },
        path: path.to_owned(),
        source,
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| config_error(format!("{}: {e}", path.display())))?;
        roots
            .add(cert)
            .map_err(|e| config_error(format!("{}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(config_error(format!(
            "{}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(roots)
}

fn config_error(message: String) -> DbError {
    DbError::Unavailable(format!("the database URL: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres::config::SslMode;

    #[test]
    fn libpq_options_are_taken_out_of_the_url() {
        let (url, asked) = take_libpq_options(
            "postgres://a@db.example/aidant?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5",
        )
        .unwrap();
        assert_eq!(url, "postgres://a@db.example/aidant?connect_timeout=5");
        assert_eq!(asked.mode, Some(SslMode::Require));
        assert_eq!(asked.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let (url, asked) = take_libpq_options("postgres://a@db/aidant").unwrap();
        assert_eq!(
            (url.as_str(), asked),
            ("postgres://a@db/aidant", Asked::default())
        );
        assert!(take_libpq_options("postgres://a@db/x?sslmode=allow").is_err());
    }

    #[test]
    fn a_remote_host_gets_checked_tls_unless_disabled() {
        let (c, tls) = settings(&format!(
            "postgres://a@db.example/aidant?sslrootcert={}",
            SYSTEM_CAS
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.get_ssl_mode(), SslMode::Require);
        assert!(matches!(tls, Tls::On(_)));
        let (c, tls) = settings("postgres://a@db.example/aidant?sslmode=disable").unwrap();
        assert_eq!(c.get_ssl_mode(), SslMode::Disable);
        assert!(matches!(tls, Tls::Off));
        for local in [
            "postgres://a@localhost/x",
            "postgres://a@127.0.0.1:5433/x",
            "postgres://a@[::1]/x",
            "postgresql://a@%2Ftmp%2Fsock/x",
        ] {
            let (c, tls) = settings(local).unwrap();
            assert_eq!(c.get_ssl_mode(), SslMode::Disable, "{local}");
            assert!(matches!(tls, Tls::Off), "{local}");
        }
        let e = settings("postgres://a@db.example/x?sslrootcert=/nonexistent/ca.pem")
            .err()
            .expect("a missing CA file is refused");
        assert!(e.to_string().contains("sslrootcert"), "{e}");
    }
}
