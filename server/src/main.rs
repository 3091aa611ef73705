//! The `aidant` binary: parses the command line (one clap parser,
//! `server::cli`) and hands off to the library.

use clap::Parser;
use server::cli::{Cli, Command};
use server::config::Config;
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let admin_password = || std::env::var("AIDANT_ADMIN_PASSWORD").ok();
    let result = match cli.command.unwrap_or(Command::DemoSync) {
        Command::DemoSync => {
            server::demo::run(&mut std::io::stdout().lock()).map_err(|e| e.to_string())
        }
        Command::Serve(args) => args
            .into_config(admin_password())
            .inspect(|_| with_allocator_options())
            .map_err(|e| e.to_string())
            .and_then(serve),
        Command::Audit(args) => server::cli::audit(args),
        Command::Export(args) => server::export::cli::run(args),
        Command::Backup(args) => server::backup::backup_cli(args),
        Command::Restore(args) => server::backup::restore_cli(args),
        Command::Demo(args) => {
            server::demo_week::run(args, admin_password(), &mut std::io::stdout().lock())
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
