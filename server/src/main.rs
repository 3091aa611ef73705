//! The `aidant` binary: parses the command line and hands off to the library.

use server::config::{Config, HELP};
use std::process::ExitCode;

/// The allocator's option for how long freed memory is kept before it goes
/// back to the system, and the value `serve` runs with (milliseconds).
///
/// mimalloc (the global allocator, see `lib.rs`) keeps freed memory for
/// 1 s by default (10 s for its arenas). Under a flood of connections that
/// come and go together (`benches/hostile.rs`: 1,200 of them answered at
/// their deadline at once, then reconnecting) the next wave was served from
/// fresh memory while the last one's was still held: RSS went from 145 to
/// 300 MB. Given back at once, it stayed under 160 MB, and 60 MB afterwards.
const PURGE_DELAY: (&str, &str) = ("MIMALLOC_PURGE_DELAY", "0");

/// mimalloc reads its options from the environment once, as the process
/// loads (setting them later takes `unsafe`, which the workspace forbids):
/// so `serve` starts itself again with [`PURGE_DELAY`] set, unless the
/// operator set it. Returns only if that cannot be done.
#[cfg(unix)]
fn with_allocator_options() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(PURGE_DELAY.0).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let e = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env(PURGE_DELAY.0, PURGE_DELAY.1)
        .exec();
    eprintln!("aidant: could not restart with {}={} ({e}); memory freed after a burst of connections will go back to the system more slowly", PURGE_DELAY.0, PURGE_DELAY.1);
}

#[cfg(not(unix))]
fn with_allocator_options() {}

const USAGE: &str = "usage: aidant <command>

  serve [options]        run the server (see `aidant serve --help`)
  audit verify|anchor    check the keyed audit chain, or print its head to keep
                         outside the server (see `aidant audit --help`)
  demo [options]         fill a new database with a realistic week of action
                         (see `aidant demo --help`)
  demo-sync              two phones edit one visit offline and converge
  export --operation ID (--date D | --from D --to D) --format csv|xlsx|json|html -o FILE
                         export an operation's visits (see `aidant export --help`)
  backup --to FILE [--key-to KEYFILE]
                         a consistent copy of the database while the server
                         runs (see `aidant backup --help`)
  restore --from FILE [--key-from KEYFILE] --data-dir DIR
                         check a backup and put it in place (see `aidant restore --help`)";

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = || args.iter().skip(1).cloned();
    let result = match args.first().map(String::as_str) {
        None | Some("demo-sync") => {
            server::demo::run(&mut std::io::stdout().lock()).map_err(|e| e.to_string())
        }
        Some("serve") if args.iter().any(|a| a == "--help" || a == "-h") => {
            println!("{HELP}");
            Ok(())
        }
        Some("serve") => Config::parse(rest(), env)
            .inspect(|_| with_allocator_options())
            .map_err(|e| e.to_string())
            .and_then(serve),
        Some("audit") => audit(&args[1..]),
        Some("export") => server::export::cli::run(rest()),
        Some("backup") => server::backup::backup_cli(rest(), env),
        Some("restore") => server::backup::restore_cli(rest(), env),
        Some("demo") => server::demo_week::cli(rest(), env, &mut std::io::stdout().lock()),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => {
            eprintln!("aidant: unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aidant: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AIDANT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .json()
        .with_writer(std::io::stderr)
        .init();
}

fn serve(config: Config) -> Result<(), String> {
    init_logs();
    let listener = std::net::TcpListener::bind(config.bind)
        .map_err(|e| format!("binding {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let (stopped, db) = actix_web::rt::System::new().block_on(async move {
        let running = server::run(listener, config).map_err(|e| e.to_string())?;
        if let Some(code) = &running.setup_code {
            println!("FIRST START: no admin yet. Create one within this run with the one-time setup code {code}");
            println!("  curl -X POST {scheme}://{addr}/api/v1/setup -H 'content-type: application/json' \\");
            println!("       -d '{{\"code\":\"{code}\",\"username\":\"admin\",\"display_name\":\"Admin\",\"password\":\"<12+ characters>\"}}'");
        }
        println!("listening on {scheme}://{addr}");
        Ok::<_, String>((running.server.await, running.db))
    })?;
    // Stopped: every write is in; fold the WAL into the database file so
    // that a copy of that file alone holds everything.
    match db.checkpoint() {
        Ok(c) if !c.busy => tracing::info!(frames = c.frames.1, "WAL checkpointed at shutdown"),
        Ok(c) => tracing::warn!(
            frames = ?c.frames,
            "WAL checkpoint at shutdown could not finish (another process reading?); \
             copy the -wal file along with the database"
        ),
        Err(e) => tracing::error!(error = %e, "WAL checkpoint at shutdown failed"),
    }
    stopped.map_err(|e| e.to_string())
}

const AUDIT_USAGE: &str = "usage: aidant audit <verify|anchor> [options]

  verify [--db P] [--audit-key F] [--anchor TEXT]
        check every row of the audit chain against the audit key, naming the
        first bad row; with --anchor (a line `aidant audit anchor` printed
        earlier, or its JSON), also prove the chain still reaches that row with
        that hash, so nothing up to it was removed or changed
  anchor [--db P] [--audit-key F]
        check the chain, then print its head (sequence, hash, time) as one line
        aidant-audit-anchor:SEQ:HASH:TIME and as JSON; keep it outside the
        server (in the day's return, say)

  --db P          SQLite file (env AIDANT_DB, default data/aidant.sqlite3)
  --audit-key F   the key file the server uses (env AIDANT_AUDIT_KEY_FILE,
                  default audit.key in the database's folder); never created here

Exit status 0 when the chain checks out, 1 otherwise.";

/// `aidant audit …`: `verify` and `anchor`.
fn audit(args: &[String]) -> Result<(), String> {
    let help = args.iter().any(|a| a == "--help" || a == "-h");
    let sub = args.first().map(String::as_str);
    if help || matches!(sub, None | Some("help")) {
        println!("{AUDIT_USAGE}");
        return Ok(());
    }
    let (sub, rest) = (sub.unwrap_or_default(), &args[1..]);
    if !matches!(sub, "verify" | "anchor") {
        return Err(format!("unknown audit command {sub:?}\n\n{AUDIT_USAGE}"));
    }
    let mut db = env("AIDANT_DB")
        .filter(|v| !v.is_empty())
        .map_or_else(|| Config::default().db_path, std::path::PathBuf::from);
    let mut key = env("AIDANT_AUDIT_KEY_FILE")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from);
    let mut anchor = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f, Some(v.to_owned())),
            None => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--db" => db = value()?.into(),
            "--audit-key" => key = Some(value()?.into()),
            "--anchor" if sub == "verify" => {
                anchor = Some(value()?.parse::<server::db::audit::Anchor>()?)
            }
            _ => {
                return Err(format!(
                    "unexpected argument {a:?}; see `aidant audit --help`"
                ))
            }
        }
    }
    let key = key.unwrap_or_else(|| server::db::audit::default_key_path(&db));
    if !key.is_file() {
        return Err(format!(
            "audit key file {} not found: give the key the server uses with --audit-key \
             (or AIDANT_AUDIT_KEY_FILE)",
            key.display()
        ));
    }
    let db =
        server::db::Db::open_to_verify(&db, &key).map_err(|e| format!("{}: {e}", db.display()))?;
    let verdict = db
        .read_blocking(|c| server::db::audit::verify_with(c, anchor.as_ref()))
        .map_err(|e| e.to_string())?;
    if let (server::db::audit::Verdict::Ok { .. }, "anchor") = (&verdict, sub) {
        return match db
            .read_blocking(server::db::audit::anchor)
            .map_err(|e| e.to_string())?
        {
            Some(a) => {
                println!("{a}");
                println!("{}", serde_json::to_string(&a).unwrap_or_default());
                Ok(())
            }
            None => Err("the audit trail is empty: nothing to anchor yet".into()),
        };
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&verdict).unwrap_or_default()
    );
    match verdict {
        server::db::audit::Verdict::Ok { .. } => Ok(()),
        server::db::audit::Verdict::Broken { message, .. } => {
            Err(format!("audit chain broken: {message}"))
        }
    }
}
