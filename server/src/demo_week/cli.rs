//! `aidant demo`: the command line, and the admin account it makes when the
//! database has none.

use super::{fill, DemoError, DemoOptions};
use crate::config::DatabaseArgs;
use crate::db::{self, audit::Entry, Db};
use crate::domain::{Role, User, UserId};
use crate::{now_rfc3339, secrets};
use std::io::Write;
use sync_core::summary::LocalDate;
use uuid::Uuid;

/// `aidant demo`'s options.
#[derive(Clone, Debug, Default, clap::Args)]
#[command(
    after_help = "env AIDANT_ADMIN_PASSWORD  password for user admin if no admin exists \
                  (else one is made up and printed)"
)]
pub struct DemoArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Same seed, same data [default: 1]
    #[arg(long, value_name = "N", value_parser = whole)]
    pub seed: Option<u64>,
    /// 1 = a force-area week (~60 visits a day, 24 officers); 100 = a
    /// national week [default: 1]
    #[arg(long, value_name = "X", value_parser = number)]
    pub scale: Option<f64>,
    /// Number of days [default: 7]
    #[arg(long, value_name = "N", value_parser = days)]
    pub days: Option<u32>,
    /// First day, YYYY-MM-DD [default: the Monday of last week]
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub start: Option<LocalDate>,
    /// Add the demo operation even if the database has operations
    #[arg(long)]
    pub force: bool,
}

fn whole(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| "not a whole number".into())
}

fn number(s: &str) -> Result<f64, String> {
    s.parse().map_err(|_| "not a number".into())
}

fn days(s: &str) -> Result<u32, String> {
    s.parse().map_err(|_| "not a number of days".into())
}

fn date(s: &str) -> Result<LocalDate, String> {
    LocalDate::parse(s).ok_or_else(|| "not a date (YYYY-MM-DD)".into())
}

impl DemoArgs {
    /// The options, over their defaults.
    pub fn options(&self) -> DemoOptions {
        let d = DemoOptions::default();
        DemoOptions {
            seed: self.seed.unwrap_or(d.seed),
            start: self.start.unwrap_or(d.start),
            days: self.days.unwrap_or(d.days),
            scale: self.scale.unwrap_or(d.scale),
        }
    }
}

/// `aidant demo` alone, to parse its arguments apart from the binary.
#[derive(clap::Parser)]
#[command(name = "aidant demo")]
struct Demo {
    #[command(flatten)]
    args: DemoArgs,
}

/// Parses `aidant demo`'s arguments (after the command) and runs it,
/// printing to `out` (its help too); `env` gives `AIDANT_ADMIN_PASSWORD`.
/// The binary parses with the rest of the command line and calls [`run`].
pub fn cli(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
    out: &mut impl Write,
) -> Result<(), String> {
    use clap::Parser;
    let args = std::iter::once("demo".to_owned()).chain(args);
    match Demo::try_parse_from(args) {
        Ok(d) => run(d.args, env("AIDANT_ADMIN_PASSWORD"), out),
        Err(e) if !e.use_stderr() => write!(out, "{}", e.render()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `aidant demo`, printing to `out`; `admin_password` is
/// `AIDANT_ADMIN_PASSWORD`.
pub fn run(
    args: DemoArgs,
    admin_password: Option<String>,
    out: &mut impl Write,
) -> Result<(), String> {
    let opts = args.options();
    let db_path = args.database.db_path();
    let force = args.force;
    opts.check().map_err(|e| e.to_string())?;
    let location = args.database.location();
    let key = crate::db::audit::default_key_path(&db_path);
    let db = crate::ledger::open(&location, &key)
        .map_err(|e| format!("database {}: {e}", location.describe()))?;
    let existing = db
        .read_blocking(|c| db::people::operations(c, None))
        .map_err(|e| e.to_string())?;
    if !existing.is_empty() && !force {
        return Err(format!(
            "{} already holds {} operation(s); the demo only fills a new database. \
             Point --db at a new file, or add --force to add the demo operation anyway.",
            db_path.display(),
            existing.len()
        ));
    }
    let admin = ensure_admin(&db, admin_password).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let r = fill(&db, &opts).map_err(|e| e.to_string())?;
    let took = started.elapsed();
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(|e| e.to_string());
    w(
        out,
        format!(
            "Filled {} in {:.1} s:",
            db_path.display(),
            took.as_secs_f64()
        ),
    )?;
    w(
        out,
        format!("  operation  {} ({})", r.operation_name, r.operation),
    )?;
    w(out, format!("  days       {} to {}", r.days.0, r.days.1))?;
    w(
        out,
        format!(
            "  staff      {} teams: {} officers and {} supervisors, each with an enrolled device",
            r.teams,
            r.officers,
            r.supervisors.len()
        ),
    )?;
    w(
        out,
        format!(
            "  visits     {} ({} ops): {} draft, {} submitted (awaiting review), {} reviewed; {} voided; {} with a conflict to resolve",
            r.visits, r.ops, r.by_status[0], r.by_status[1], r.by_status[2], r.voided, r.conflicts
        ),
    )?;
    w(
        out,
        format!(
            "  people     {} spoken to, {} potential victims",
            r.persons, r.potential_victims
        ),
    )?;
    w(out, String::new())?;
    w(out, "Start the server and sign in at /admin/:".to_owned())?;
    w(out, format!("  aidant serve --db {}", db_path.display()))?;
    match admin {
        AdminLogin::Created(password) => w(
            out,
            format!("  admin        username admin, password {password}  (keep it; it is not stored in clear)"),
        )?,
        AdminLogin::FromEnv => w(
            out,
            "  admin        username admin, the password in AIDANT_ADMIN_PASSWORD".to_owned(),
        )?,
        AdminLogin::Existing => w(out, "  admin        your existing admin account".to_owned())?,
    }
    if let Some(first) = r.supervisors.first() {
        w(
            out,
            format!(
                "  supervisors  {first} (and {} more), password {}",
                r.supervisors.len() - 1,
                r.staff_password
            ),
        )?;
    }
    Ok(())
}

/// How the admin signs in after `aidant demo`.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminLogin {
    /// An admin already existed.
    Existing,
    /// Created with the password from `AIDANT_ADMIN_PASSWORD`.
    FromEnv,
    /// Created with this made-up password.
    Created(String),
}

/// Creates user `admin` when no admin exists, with `password` or a made-up one.
pub fn ensure_admin(db: &Db, password: Option<String>) -> Result<AdminLogin, DemoError> {
    if db.read_blocking(db::people::admin_exists)? {
        return Ok(AdminLogin::Existing);
    }
    let (password, login) = match password {
        Some(p) if p.chars().count() >= 12 => (p, AdminLogin::FromEnv),
        Some(_) => {
            return Err(DemoError::Options(
                "AIDANT_ADMIN_PASSWORD must be at least 12 characters".into(),
            ))
        }
        None => {
            let p = format!("demo-{}", secrets::new_code().to_lowercase());
            (p.clone(), AdminLogin::Created(p))
        }
    };
    let hash = secrets::hash_password(&password).map_err(DemoError::Password)?;
    let now = now_rfc3339();
    db.write_blocking(|tx| {
        let user = User {
            id: UserId(Uuid::new_v4()),
            username: "admin".into(),
            display_name: "Administrator".into(),
            role: Role::Admin,
            created_at: now.clone(),
        };
        db::people::create_user(tx, &user, Some(&hash))?;
        db::audit::append(
            tx,
            &now,
            &Entry {
                actor: "system",
                action: "setup.admin_created",
                subject: &format!("user:{}", user.id),
                reason: "aidant demo",
                detail: "{}",
            },
        )?;
        Ok(())
    })?;
    Ok(login)
}
