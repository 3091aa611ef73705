//! TLS through rustls: a self-signed certificate made with Debian's `openssl`,
//! the server started with it, and `curl` speaking HTTPS to it.

use crate::harness::Server;
use server::config::Tls;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// A self-signed certificate for `localhost` and its key, made by `openssl`
/// with `extra` arguments, in `dir`.
fn self_signed(dir: &Path, extra: &[&str]) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(extra)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (cert, key)
}

#[test]
fn serves_https_with_a_given_certificate_and_sends_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), &[]);
    let server = Server::start_with(|c| {
        c.tls = Some(Tls {
            cert: cert.clone(),
            key: key.clone(),
        })
    });
    let url = server.base.replace("http://", "https://") + "/healthz";
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "20", "--cacert"])
        .arg(&cert)
        .args([
            "--resolve",
            &format!(
                "localhost:{}:127.0.0.1",
                url.rsplit(':').next().unwrap().trim_end_matches("/healthz")
            ),
        ])
        .arg(url.replace("127.0.0.1", "localhost"))
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("http/1.1 200") || text.starts_with("http/2 200"),
        "{text}"
    );
    assert!(
        text.contains("strict-transport-security: max-age=31536000"),
        "{text}"
    );
    assert!(text.contains("\"status\":\"ok\""), "{text}");
    // Plain HTTP to the TLS port is refused, not served.
    let plain = Command::new("curl")
        .args(["-sS", "--max-time", "10", &server.base.clone()])
        .output()
        .expect("curl runs");
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("status"));
}

#[test]
fn a_missing_certificate_is_a_clear_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = server::config::Config {
        db_path: dir.path().join("a.db"),
        admin_password: Some("correct horse battery staple".into()),
        tls: Some(Tls {
            cert: dir.path().join("nope.pem"),
            key: dir.path().join("nope.key"),
        }),
        ..Default::default()
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = actix_web::rt::System::new()
        .block_on(async move { server::run(listener, config).err() })
        .expect("start fails");
    let msg = err.to_string();
    assert!(msg.starts_with("TLS:") && msg.contains("nope.pem"), "{msg}");
}

/// actix-http's own answers (malformed head, head over 128 KiB, head that
/// never ends) are JSON over TLS too: the rewrite happens on the plaintext.
#[test]
fn malformed_heads_get_a_json_error_over_tls_too() {
    let dir = tempfile::tempdir().unwrap();
    // A leaf certificate with a name, as rustls's client requires.
    let (cert, key) = self_signed(
        dir.path(),
        &[
            "-addext",
            "subjectAltName=DNS:localhost",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ],
    );
    let server = Server::start_with(|c| {
        c.tls = Some(Tls {
            cert: cert.clone(),
            key: key.clone(),
        });
        c.limits.request_timeout = Duration::from_secs(2);
    });
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut &std::fs::read(&cert).unwrap()[..]) {
        roots.add(c.unwrap()).unwrap();
    }
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let addr = server.base.trim_start_matches("http://").to_owned();
    crate::hostile::check_own_answers(|bytes| -> Box<dyn Read> {
        let tcp = TcpStream::connect(&addr).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let name = "localhost".try_into().unwrap();
        let conn = rustls::ClientConnection::new(client.clone(), name).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        // The server may close before taking all of an oversized head.
        let _ = s.write_all(bytes).and_then(|()| s.flush());
        Box::new(s)
    });
}
