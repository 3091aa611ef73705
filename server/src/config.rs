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
    /// Only for tests: every sync of the SQLite WAL fails while set, as on
    /// a failing disk. Never set from flags or the environment.
    pub test_fail_syncs: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
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
            test_fail_syncs: None,
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

/// Where the database is, for every subcommand that opens it: the embedded
/// SQLite file, or a server given by URL (an alternative to the file).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct DatabaseArgs {
    /// SQLite file [default: data/aidant.sqlite3]; an alternative to --database-url
    #[arg(long, env = "AIDANT_DB", value_name = "PATH")]
    pub db: Option<String>,
    /// The database server instead.
    #[command(flatten)]
    pub url: DatabaseUrl,
}

impl DatabaseArgs {
    /// The SQLite file: `--db` (or `AIDANT_DB`, when not empty), else the default.
    pub fn db_path(&self) -> PathBuf {
        given(&self.db).map_or_else(|| Config::default().db_path, PathBuf::from)
    }

    /// The database URL, when one is given (not empty).
    pub fn database_url(&self) -> Option<String> {
        self.url.get()
    }

    /// Where the data is: the server given by URL, else the SQLite file.
    pub fn location(&self) -> crate::db::Location {
        match self.database_url() {
            Some(url) => crate::db::Location::Postgres(url),
            None => crate::db::Location::File(self.db_path()),
        }
    }
}

/// `--database-url`: a database server instead of the SQLite file. Its
/// value is never shown in `--help` (a URL may hold a password).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct DatabaseUrl {
    /// postgres://… to keep the data in PostgreSQL instead of the embedded
    /// SQLite file (an alternative to --db)
    #[arg(
        long,
        env = "AIDANT_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

impl DatabaseUrl {
    /// The URL, when one is given (not empty).
    pub fn get(&self) -> Option<String> {
        given(&self.database_url).map(str::to_owned)
    }
}

/// A value given on the command line or in the environment; an empty
/// environment variable counts as not set.
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// `aidant serve`: its options, each also an environment variable (flags
/// win), checked into a [`Config`] by [`ServeArgs::into_config`].
#[derive(Clone, Debug, Default, clap::Args)]
#[command(after_help = "\
env AIDANT_ADMIN_PASSWORD  first admin's password (else a one-time setup code is printed)
env AIDANT_LOG             log filter, e.g. info or aidant=debug")]
pub struct ServeArgs {
    /// Listen address [default: 127.0.0.1:8080]
    #[arg(long, env = "AIDANT_BIND", value_name = "ADDR")]
    pub bind: Option<String>,
    /// Shorthand for --bind 0.0.0.0:N
    #[arg(long, value_name = "N")]
    pub port: Option<String>,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Field client files [default: client-wasm/www]
    #[arg(long, env = "AIDANT_STATIC_DIR", value_name = "PATH")]
    pub static_dir: Option<String>,
    /// Certificate chain (PEM); needs --tls-key
    #[arg(long, env = "AIDANT_TLS_CERT", value_name = "PEM")]
    pub tls_cert: Option<String>,
    /// Private key (PEM)
    #[arg(long, env = "AIDANT_TLS_KEY", value_name = "PEM")]
    pub tls_key: Option<String>,
    /// Address phones use, for QR codes
    #[arg(long, env = "AIDANT_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// A phone's token expires after N days without a sync [default: 30]
    #[arg(long, env = "AIDANT_DEVICE_TOKEN_DAYS", value_name = "N")]
    pub device_token_days: Option<String>,
    /// Audit chain key file, created (0600) if missing; keep it off the
    /// database's disk and backups [default: audit.key in the database's folder]
    #[arg(long, env = "AIDANT_AUDIT_KEY_FILE", value_name = "PATH")]
    pub audit_key: Option<String>,
    /// Largest request body [default: 4194304]
    #[arg(long, env = "AIDANT_MAX_BODY", value_name = "BYTES")]
    pub max_body: Option<String>,
    /// Most ops per push [default: 1000]
    #[arg(long, env = "AIDANT_MAX_BATCH", value_name = "N")]
    pub max_batch: Option<String>,
    /// A request's body must arrive within S seconds of its head, and the
    /// head within min(S, 10) s [default: 30]
    #[arg(long, env = "AIDANT_REQUEST_TIMEOUT", value_name = "S")]
    pub request_timeout: Option<String>,
    /// After 5 s, a body must arrive at B bytes/s on average or be cut off
    /// with 408; 0 for no minimum [default: 1024]
    #[arg(long, env = "AIDANT_MIN_BODY_RATE", value_name = "B")]
    pub min_body_rate: Option<String>,
    /// Memory all request bodies being received may hold at once; beyond it
    /// a request gets 503 server_busy with Retry-After [default: 33554432]
    #[arg(long, env = "AIDANT_BODY_BUDGET", value_name = "BYTES")]
    pub body_budget: Option<String>,
    /// Connections open at once; more wait to be accepted [default: 10000,
    /// lowered to fit the open-files limit]
    #[arg(long, env = "AIDANT_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<String>,
}

impl ServeArgs {
    /// Checks the options into a [`Config`]; `admin_password` is
    /// `AIDANT_ADMIN_PASSWORD` (never a flag: a command line is visible to
    /// every user of the machine).
    pub fn into_config(self, admin_password: Option<String>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        let db = self.database.db.clone();
        for (key, value) in [
            ("bind", &self.bind),
            ("port", &self.port),
            ("db", &db),
            ("static-dir", &self.static_dir),
            ("tls-cert", &self.tls_cert),
            ("tls-key", &self.tls_key),
            ("public-url", &self.public_url),
            ("device-token-days", &self.device_token_days),
            ("audit-key", &self.audit_key),
            ("max-body", &self.max_body),
            ("max-batch", &self.max_batch),
            ("request-timeout", &self.request_timeout),
            ("min-body-rate", &self.min_body_rate),
            ("body-budget", &self.body_budget),
            ("max-connections", &self.max_connections),
        ] {
            if let Some(v) = given(value) {
                set(key, v.to_owned(), &mut c)?;
            }
        }
        c.database_url = self.database.database_url();
        c.admin_password = admin_password.filter(|v| !v.is_empty());
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
}

/// Checks one option's value into `c`.
fn set(key: &str, value: String, c: &mut Config) -> Result<(), ConfigError> {
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
}

impl Config {
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
    use clap::{CommandFactory, Parser};

    /// `aidant serve` alone, as the binary parses it.
    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn args(args: &[&str]) -> ServeArgs {
        Serve::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
            .unwrap()
            .args
    }

    fn parse(a: &[&str]) -> Result<Config, String> {
        Serve::try_parse_from(std::iter::once("serve").chain(a.iter().copied()))
            .map_err(|e| e.to_string())?
            .args
            .into_config(None)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn flags_are_checked_and_bad_values_are_explained() {
        let c = parse(&["--db", "/tmp/x.db", "--port=9000"]).unwrap();
        assert_eq!(c.db_path, PathBuf::from("/tmp/x.db"));
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(c.database_url, None);
        let c = parse(&["--database-url", "postgres://aidant@db/aidant"]).unwrap();
        assert_eq!(
            c.database_url.as_deref(),
            Some("postgres://aidant@db/aidant")
        );
        assert!(parse(&["--port", "eighty"])
            .unwrap_err()
            .contains("not a port number"));
        assert!(parse(&["--tls-cert", "c.pem"])
            .unwrap_err()
            .contains("both"));
        assert!(parse(&["--frobnicate", "1"])
            .unwrap_err()
            .contains("unexpected argument"));
        assert!(args(&[])
            .into_config(Some("short".into()))
            .unwrap_err()
            .to_string()
            .contains("12"));
    }

    #[test]
    fn request_limits_have_defaults_flags_and_env() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.limits.request_timeout, std::time::Duration::from_secs(30));
        assert_eq!(c.limits.min_body_rate, 1024);
        assert_eq!(c.limits.body_budget, 32 * 1024 * 1024);
        assert_eq!(c.limits.max_connections, 10_000);
        // What the environment would fill in, beside flags.
        let c = ServeArgs {
            body_budget: Some("8388608".into()),
            max_connections: Some("500".into()),
            ..args(&["--request-timeout", "12", "--min-body-rate=0"])
        }
        .into_config(None)
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
            let e = parse(&[&format!("{flag}={value}")]).unwrap_err();
            assert!(e.contains(says), "{flag} {value}: {e}");
        }
        let help = Serve::command().render_long_help().to_string();
        for env in [
            "AIDANT_REQUEST_TIMEOUT",
            "AIDANT_MAX_CONNECTIONS",
            "AIDANT_DB",
            "AIDANT_DATABASE_URL",
            "AIDANT_ADMIN_PASSWORD",
        ] {
            assert!(help.contains(env), "{env} not in {help}");
        }
    }

    #[test]
    fn an_empty_environment_variable_counts_as_not_set() {
        let c = ServeArgs {
            bind: Some(String::new()),
            max_body: Some(String::new()),
            ..args(&[])
        }
        .into_config(None)
        .unwrap();
        assert_eq!(c.bind, Config::default().bind);
        assert_eq!(c.limits.body_bytes, Limits::default().body_bytes);
    }

    #[test]
    fn the_audit_key_file_defaults_to_the_database_folder() {
        let c = parse(&["--db", "/srv/aidant/live.sqlite3"]).unwrap();
        assert_eq!(c.audit_key, None);
        assert_eq!(c.audit_key_path(), PathBuf::from("/srv/aidant/audit.key"));
        let c = parse(&["--db", "live.sqlite3"]).unwrap();
        assert_eq!(c.audit_key_path(), PathBuf::from("audit.key"));
        let c = parse(&["--audit-key", "/etc/aidant/key"]).unwrap();
        assert_eq!(c.audit_key_path(), PathBuf::from("/etc/aidant/key"));
        let c = ServeArgs {
            audit_key: Some("/env/key".into()),
            ..args(&[])
        }
        .into_config(None)
        .unwrap();
        assert_eq!(c.audit_key_path(), PathBuf::from("/env/key"));
    }
}
