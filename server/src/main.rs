//! The `aidant` binary: parses the command line (one clap parser,
//! `server::cli`) and hands off to the library.

use clap::Parser;
use server::cli::{Cli, Command};
use server::config::Config;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let admin_password = || std::env::var("AIDANT_ADMIN_PASSWORD").ok();
    let result = match cli.command.unwrap_or(Command::DemoSync) {
        Command::DemoSync => {
            server::demo::run(&mut std::io::stdout().lock()).map_err(|e| e.to_string())
        }
        Command::Serve(args) => args
            .into_config(admin_password())
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
