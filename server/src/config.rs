//! Configuration: parsed once from flags and environment variables into a
//! validated [`Config`]. Flags win over the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Request and batch limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, bytes.
    pub body_bytes: usize,
    /// Most ops in one push.
    pub batch_ops: usize,
    /// Largest pull page.
    pub page_max: i64,
    /// Attempts per minute per source address (and per account or code) on
    /// login and enrolment.
    pub auth_per_minute: u32,
    /// The window `auth_per_minute` counts over (a minute; tests lengthen it
    /// so that a slow run stays inside one window). Never set from flags.
    pub auth_window: std::time::Duration,
    /// A request's head must arrive within this (at most 10 s of it) and its
    /// body within this of the head.
    pub request_timeout: std::time::Duration,
    /// After a short grace, a body must arrive at this many bytes a second on
    /// average or more (0: no minimum).
    pub min_body_rate: u64,
    /// Bytes all request bodies being read may hold at once.
    pub body_budget: usize,
    /// Connections open at once (all workers together); more wait to be
    /// accepted. Lowered at start to fit the open-files limit.
    pub max_connections: usize,
    /// Only for tests: the writer's `PRAGMA max_page_count` before each write
    /// (0: leave it), to make the database "full" and give the space back
    /// without filling a disk. Never set from flags or the environment.
    pub test_max_page_count: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 4 * 1024 * 1024,
            batch_ops: 1_000,
            page_max: 1_000,
            auth_per_minute: 10,
            auth_window: std::time::Duration::from_secs(60),
            request_timeout: std::time::Duration::from_secs(30),
            min_body_rate: 1024,
            body_budget: 32 * 1024 * 1024,
            max_connections: 10_000,
            test_max_page_count: None,
        }
    }
}

/// TLS certificate and key files (PEM).
#[derive(Clone, Debug)]
pub struct Tls {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// Validated server configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// SQLite file.
    pub db_path: PathBuf,
    /// A PostgreSQL connection string (`postgres://…`): when given, the data
    /// is kept there instead of in the SQLite file.
    pub database_url: Option<String>,
    /// Folder of the field client's static files.
    pub static_dir: PathBuf,
    /// TLS, when both files are given.
    pub tls: Option<Tls>,
    /// Password for the first admin, from `AIDANT_ADMIN_PASSWORD`; without it a
    /// one-time setup code is printed at first start.
    pub admin_password: Option<String>,
    /// The address phones use to reach this server (in enrolment QR codes).
    pub public_url: Option<String>,
    /// A device token expires after this long without a sync (a sync renews it).
    pub device_token_ttl: chrono::Duration,
    /// The audit key file; `None`: `audit.key` next to the database file
    /// (see [`Config::audit_key_path`]).
    pub audit_key: Option<PathBuf>,
    /// Limits.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db_path: PathBuf::from("data/aidant.sqlite3"),
            database_url: None,
            static_dir: PathBuf::from("client-wasm/www"),
            tls: None,
            admin_password: None,
            public_url: None,
            device_token_ttl: chrono::Duration::days(30),
            audit_key: None,
            limits: Limits::default(),
        }
    }
}

/// A configuration problem, said plainly.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// The flags `aidant serve` takes, for `--help`.
pub const HELP: &str = "\
aidant serve [options]
  --bind ADDR          listen address (env AIDANT_BIND, default 127.0.0.1:8080)
  --port N             shorthand for --bind 0.0.0.0:N
  --db PATH            SQLite file (env AIDANT_DB, default data/aidant.sqlite3)
  --database-url URL   PostgreSQL instead of the SQLite file: postgres://user@host/db
                       (env AIDANT_DATABASE_URL)
  --static-dir PATH    field client files (env AIDANT_STATIC_DIR, default client-wasm/www)
  --tls-cert PEM       certificate chain (env AIDANT_TLS_CERT); needs --tls-key
  --tls-key PEM        private key (env AIDANT_TLS_KEY)
  --public-url URL     address phones use, for QR codes (env AIDANT_PUBLIC_URL)
  --device-token-days N  a phone's token expires after N days without a sync
                       (env AIDANT_DEVICE_TOKEN_DAYS, default 30)
  --audit-key PATH     audit chain key file, created (0600) if missing; keep it
                       off the database's disk and backups (env AIDANT_AUDIT_KEY_FILE,
                       default audit.key in the database's folder)
  --max-body BYTES     largest request body (env AIDANT_MAX_BODY, default 4194304)
  --max-batch N        most ops per push (env AIDANT_MAX_BATCH, default 1000)
  --request-timeout S  a request's body must arrive within S seconds of its head,
                       and the head within min(S, 10) s (env AIDANT_REQUEST_TIMEOUT,
                       default 30)
  --min-body-rate B    after 5 s, a body must arrive at B bytes/s on average or be
                       cut off with 408; 0 for no minimum (env AIDANT_MIN_BODY_RATE,
                       default 1024)
  --body-budget BYTES  memory all request bodies being received may hold at once;
                       beyond it a request gets 503 server_busy with Retry-After
                       (env AIDANT_BODY_BUDGET, default 33554432)
  --max-connections N  connections open at once; more wait to be accepted (env
                       AIDANT_MAX_CONNECTIONS, default 10000, lowered to fit the
                       open-files limit)
env AIDANT_ADMIN_PASSWORD  first admin's password (else a one-time setup code is printed)
env AIDANT_LOG             log filter, e.g. info or aidant=debug";

impl Config {
    /// Parses flags (without the program and subcommand) and environment.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut c = Config::default();
        let set = |key: &str, value: String, c: &mut Config| -> Result<(), ConfigError> {
            let bad = |what: &str| ConfigError(format!("{key}: {value:?} is not {what}"));
            match key {
                "bind" => {
                    c.bind = value
                        .parse()
                        .map_err(|_| bad("an address like 127.0.0.1:8080"))?
                }
                "port" => {
                    let p: u16 = value.parse().map_err(|_| bad("a port number"))?;
                    c.bind = SocketAddr::from(([0, 0, 0, 0], p));
                }
                "db" => c.db_path = PathBuf::from(&value),
                "database-url" => c.database_url = Some(value).filter(|v| !v.is_empty()),
                "static-dir" => c.static_dir = PathBuf::from(&value),
                "tls-cert" => {
                    c.tls
                        .get_or_insert(Tls {
                            cert: PathBuf::new(),
                            key: PathBuf::new(),
                        })
                        .cert = PathBuf::from(&value)
                }
                "tls-key" => {
                    c.tls
                        .get_or_insert(Tls {
                            cert: PathBuf::new(),
                            key: PathBuf::new(),
                        })
                        .key = PathBuf::from(&value)
                }
                "public-url" => c.public_url = Some(value.trim_end_matches('/').to_owned()),
                "device-token-days" => {
                    c.device_token_ttl = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=3650).contains(n))
                        .map(chrono::Duration::days)
                        .ok_or_else(|| bad("a number of days from 1 to 3650"))?
                }
                "audit-key" => c.audit_key = Some(PathBuf::from(&value)),
                "max-body" => {
                    c.limits.body_bytes = value
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1024)
                        .ok_or_else(|| bad("a size of at least 1024"))?
                }
                "max-batch" => {
                    c.limits.batch_ops = value
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| bad("a positive number"))?
                }
                "request-timeout" => {
                    c.limits.request_timeout = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=3600).contains(n))
                        .map(std::time::Duration::from_secs)
                        .ok_or_else(|| bad("a number of seconds from 1 to 3600"))?
                }
                "min-body-rate" => {
                    c.limits.min_body_rate = value
                        .parse()
                        .map_err(|_| bad("a number of bytes a second"))?
                }
                "body-budget" => {
                    c.limits.body_budget = value
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1024 * 1024)
                        .ok_or_else(|| bad("a size of at least 1048576"))?
                }
                "max-connections" => {
                    c.limits.max_connections = value
                        .parse()
                        .ok()
                        .filter(|n| *n >= 16)
                        .ok_or_else(|| bad("a number of at least 16"))?
                }
                other => {
                    return Err(ConfigError(format!(
                        "unknown option --{other}; see `aidant serve --help`"
                    )))
                }
            }
            Ok(())
        };
        for (var, key) in [
            ("AIDANT_BIND", "bind"),
            ("AIDANT_DB", "db"),
            ("AIDANT_DATABASE_URL", "database-url"),
            ("AIDANT_STATIC_DIR", "static-dir"),
            ("AIDANT_TLS_CERT", "tls-cert"),
            ("AIDANT_TLS_KEY", "tls-key"),
            ("AIDANT_PUBLIC_URL", "public-url"),
            ("AIDANT_DEVICE_TOKEN_DAYS", "device-token-days"),
            ("AIDANT_AUDIT_KEY_FILE", "audit-key"),
            ("AIDANT_MAX_BODY", "max-body"),
            ("AIDANT_MAX_BATCH", "max-batch"),
            ("AIDANT_REQUEST_TIMEOUT", "request-timeout"),
            ("AIDANT_MIN_BODY_RATE", "min-body-rate"),
            ("AIDANT_BODY_BUDGET", "body-budget"),
            ("AIDANT_MAX_CONNECTIONS", "max-connections"),
        ] {
            if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                set(key, v, &mut c)?;
            }
        }
        c.admin_password = env("AIDANT_ADMIN_PASSWORD").filter(|v| !v.is_empty());
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            let Some(flag) = a.strip_prefix("--") else {
                return Err(ConfigError(format!("unexpected argument {a:?}")));
            };
            let (key, value) = match flag.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (
                    flag.to_owned(),
                    it.next()
                        .ok_or_else(|| ConfigError(format!("--{flag} needs a value")))?,
                ),
            };
            set(&key, value, &mut c)?;
        }
        if let Some(t) = &c.tls {
            if t.cert.as_os_str().is_empty() || t.key.as_os_str().is_empty() {
                return Err(ConfigError(
                    "TLS needs both --tls-cert and --tls-key".into(),
                ));
            }
        }
        if let Some(p) = &c.admin_password {
            if p.chars().count() < 12 {
                return Err(ConfigError(
                    "AIDANT_ADMIN_PASSWORD must be at least 12 characters".into(),
                ));
            }
        }
        Ok(c)
    }

    /// The audit key file: `--audit-key`, else `audit.key` next to the database.
    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key
            .clone()
            .unwrap_or_else(|| crate::db::audit::default_key_path(&self.db_path))
    }

    /// Where the data is: PostgreSQL when a database URL is given, else the
    /// SQLite file.
    pub fn location(&self) -> crate::db::Location {
        match &self.database_url {
            Some(url) => crate::db::Location::Postgres(url.clone()),
            None => crate::db::Location::File(self.db_path.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse(args.iter().map(|s| s.to_string()), |k| {
            env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.clone())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn flags_win_over_env_and_bad_values_are_explained() {
        let c = parse(
            &["--db", "/tmp/x.db", "--port=9000"],
            &[("AIDANT_DB", "/tmp/env.db")],
        )
        .unwrap();
        assert_eq!(c.db_path, PathBuf::from("/tmp/x.db"));
        assert_eq!(c.bind.port(), 9000);
        assert!(parse(&["--port", "eighty"], &[])
            .unwrap_err()
            .contains("not a port number"));
        assert!(parse(&["--tls-cert", "c.pem"], &[])
            .unwrap_err()
            .contains("both"));
        assert!(parse(&["--frobnicate", "1"], &[])
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse(&[], &[("AIDANT_ADMIN_PASSWORD", "short")])
            .unwrap_err()
            .contains("12"));
    }

    #[test]
    fn request_limits_have_defaults_flags_and_env() {
        let c = parse(&[], &[]).unwrap();
        assert_eq!(c.limits.request_timeout, std::time::Duration::from_secs(30));
        assert_eq!(c.limits.min_body_rate, 1024);
        assert_eq!(c.limits.body_budget, 32 * 1024 * 1024);
        assert_eq!(c.limits.max_connections, 10_000);
        let c = parse(
            &["--request-timeout", "12", "--min-body-rate=0"],
            &[
                ("AIDANT_REQUEST_TIMEOUT", "99"),
                ("AIDANT_BODY_BUDGET", "8388608"),
                ("AIDANT_MAX_CONNECTIONS", "500"),
            ],
        )
        .unwrap();
        assert_eq!(c.limits.request_timeout, std::time::Duration::from_secs(12));
        assert_eq!(c.limits.min_body_rate, 0);
        assert_eq!(c.limits.body_budget, 8 * 1024 * 1024);
        assert_eq!(c.limits.max_connections, 500);
        for (flag, value, says) in [
            ("--request-timeout", "0", "seconds"),
            ("--min-body-rate", "-1", "bytes a second"),
            ("--body-budget", "1000", "at least"),
            ("--max-connections", "3", "at least 16"),
        ] {
            let e = parse(&[flag, value], &[]).unwrap_err();
            assert!(e.contains(says), "{flag} {value}: {e}");
        }
        assert!(HELP.contains("AIDANT_REQUEST_TIMEOUT") && HELP.contains("AIDANT_MAX_CONNECTIONS"));
    }

    #[test]
    fn the_audit_key_file_defaults_to_the_database_folder() {
        let c = parse(&["--db", "/srv/aidant/live.sqlite3"], &[]).unwrap();
        assert_eq!(c.audit_key, None);
        assert_eq!(c.audit_key_path(), PathBuf::from("/srv/aidant/audit.key"));
        let c = parse(&["--db", "live.sqlite3"], &[]).unwrap();
        assert_eq!(c.audit_key_path(), PathBuf::from("audit.key"));
        let c = parse(
            &["--audit-key", "/etc/aidant/key"],
            &[("AIDANT_AUDIT_KEY_FILE", "/env/key")],
        )
        .unwrap();
        assert_eq!(c.audit_key_path(), PathBuf::from("/etc/aidant/key"));
        let c = parse(&[], &[("AIDANT_AUDIT_KEY_FILE", "/env/key")]).unwrap();
        assert_eq!(c.audit_key_path(), PathBuf::from("/env/key"));
    }
}
