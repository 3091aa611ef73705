//! The `aidant` binary: parses the command line and hands off to the library.

use server::config::{Config, HELP};
use std::process::ExitCode;

const USAGE: &str = "usage: aidant <command>

  serve [options]        run the server (see `aidant serve --help`)
  audit verify [--db P]  check the audit hash chain; names the first bad row
  demo [options]         fill a new database with a realistic week of action
                         (see `aidant demo --help`)
  demo-sync              two phones edit one visit offline and converge
  export --operation ID (--date D | --from D --to D) --format csv|xlsx|json|html -o FILE
                         export an operation's visits (see `aidant export --help`)";

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
            .map_err(|e| e.to_string())
            .and_then(serve),
        Some("audit") if args.get(1).map(String::as_str) == Some("verify") => {
            Config::parse(args.iter().skip(2).cloned(), env)
                .map_err(|e| e.to_string())
                .and_then(audit_verify)
        }
        Some("export") => server::export::cli::run(rest()),
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
    actix_web::rt::System::new().block_on(async move {
        let running = server::run(listener, config).map_err(|e| e.to_string())?;
        if let Some(code) = &running.setup_code {
            println!("FIRST START: no admin yet. Create one within this run with the one-time setup code {code}");
            println!("  curl -X POST {scheme}://{addr}/api/v1/setup -H 'content-type: application/json' \\");
            println!("       -d '{{\"code\":\"{code}\",\"username\":\"admin\",\"display_name\":\"Admin\",\"password\":\"<12+ characters>\"}}'");
        }
        println!("listening on {scheme}://{addr}");
        running.server.await.map_err(|e| e.to_string())
    })
}

fn audit_verify(config: Config) -> Result<(), String> {
    let db = server::db::Db::open(&config.db_path).map_err(|e| e.to_string())?;
    let verdict = db
        .read_blocking(server::db::audit::verify)
        .map_err(|e| e.to_string())?;
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
