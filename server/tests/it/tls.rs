//! TLS through rustls: a self-signed certificate made with Debian's `openssl`,
//! the server started with it, and `curl` speaking HTTPS to it.

use crate::harness::Server;
use server::config::Tls;
use std::process::Command;

#[test]
fn serves_https_with_a_given_certificate_and_sends_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
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
