//! Day summary and export figures on `aidant demo` data scaled up (not a timed
//! test: it prints figures and asserts nothing about time). Each phase runs
//! in a child process of its own, so the peak memory it prints is its own.
//!
//! Data: `demo_week::generate` over 31 days at the scale that gives about
//! `AIDANT_BENCH_VISITS` visits (default 1,000,000). Each generated visit is
//! merged with sync-core and stored with its index row and export snapshot
//! by `ledger::bulk_visit` in large transactions, without its ops (the
//! export reads only the snapshots; storing some 25 million op rows would
//! only make the file larger). The database is kept under
//! `target/export-bench/` and reused by later runs with the same size.
//!
//! Figures: the summary over about 100,000 visits (and over all of them), then
//! a CSV export of every visit to a null writer (hashed as for real), with
//! time, rows per second and peak memory (VmHWM, reset before each phase
//! through `/proc/self/clear_refs`). Targets: summary under 1 s; export at
//! 200,000 rows/s or more with peak memory under 100 MB.

use server::db::export::{self as dbx, Scope};
use server::db::Db;
use server::demo_week::{generate, plan, DemoOptions};
use server::domain::{Operation, Role, Team, TeamId, User, UserId};
use server::export::{self, Format, Quiet, Request, Table};
use std::time::Instant;
use sync_core::summary::LocalDate;
use sync_core::Visit;
use uuid::Uuid;

const DAYS: u32 = 31;

fn vm_hwm_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak to the current resident size (Linux 4.0+).
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn hwm() -> String {
    vm_hwm_mb().map_or("n/a".into(), |m| format!("{m:.1} MB"))
}

fn load(db: &Db, opts: &DemoOptions) -> usize {
    let plan = plan(opts);
    let now = server::now_rfc3339();
    let teams: Vec<String> = db
        .write_blocking(|tx| {
            server::db::people::create_operation(
                tx,
                &Operation {
                    id: plan.operation,
                    name: plan.name.clone(),
                    force_area: plan.force_area.clone(),
                    starts_on: opts.start.to_string(),
                    ends_on: LocalDate::from_days_since_epoch(
                        opts.start.days_since_epoch() + i64::from(DAYS) - 1,
                    )
                    .to_string(),
                    retention_days: Operation::DEFAULT_RETENTION_DAYS,
                },
                &now,
            )?;
            let mut ids = Vec::new();
            for (i, t) in plan.teams.iter().enumerate() {
                let id = TeamId(Uuid::new_v4());
                server::db::people::create_team(
                    tx,
                    &Team {
                        id,
                        operation_id: plan.operation,
                        name: t.name.clone(),
                    },
                )?;
                let staff = std::iter::once((&t.supervisor, Role::Supervisor))
                    .chain(t.officers.iter().map(|o| (o, Role::Officer)));
                for (j, (s, role)) in staff.enumerate() {
                    let user = User {
                        id: UserId(Uuid::new_v4()),
                        username: format!("{}-{i}-{j}", s.username),
                        display_name: s.display_name.clone(),
                        role,
                        created_at: now.clone(),
                    };
                    server::db::people::create_user(tx, &user, None)?;
                    server::db::people::add_member(
                        tx,
                        user.id,
                        plan.operation,
                        Some(id),
                        "bench",
                        &now,
                    )?;
                    dbx::bulk_device(tx, s.device.0, user.id.0, "bench phone", &now)?;
                }
                ids.push(id.0.to_string());
            }
            Ok(ids)
        })
        .expect("setup");
    let mut visits = generate(opts).peekable();
    let mut n = 0;
    let start = Instant::now();
    while visits.peek().is_some() {
        n += db
            .write_blocking(|tx| {
                let mut k = 0;
                for dv in visits.by_ref().take(25_000) {
                    let mut v = Visit::new(dv.visit);
                    for op in &dv.ops {
                        v.apply(op);
                    }
                    server::ledger::bulk_visit(tx, &v, &[], Some(&teams[dv.team]), &now)?;
                    k += 1;
                }
                Ok(k)
            })
            .expect("bulk load");
        eprint!(
            "\r  loaded {n} visits ({:.0} s)",
            start.elapsed().as_secs_f64()
        );
    }
    eprintln!();
    n
}

fn main() {
    let target: f64 = std::env::var("AIDANT_BENCH_VISITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000.0);
    // Scale 1 is about 57 visits a day.
    let opts = DemoOptions {
        seed: 7,
        start: LocalDate::parse("2026-10-01").unwrap(),
        days: DAYS,
        scale: (target / (57.0 * f64::from(DAYS))).max(0.01),
    };
    let phase = std::env::var("AIDANT_BENCH_PHASE").ok();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/export-bench");
    std::fs::create_dir_all(&dir).expect("bench folder");
    // Named after the snapshot format too: a file of another format would be
    // rebuilt from ops at open, and these files hold none.
    let v = dbx::SNAPSHOT_VERSION;
    let path = dir.join(format!("bench-{target}-v{v}.sqlite3"));
    let marker = dir.join(format!("bench-{target}-v{v}.loaded"));
    if path.exists() && !marker.exists() {
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(path.with_extension("sqlite3-wal"));
        let _ = std::fs::remove_file(path.with_extension("sqlite3-shm"));
    }
    let db = Db::open(&path).expect("open");
    let operation = plan(&opts).operation;
    if !marker.exists() {
        eprintln!(
            "generating about {target} visits (demo scale {:.1}, {DAYS} days) into {}",
            opts.scale,
            path.display()
        );
        let t = Instant::now();
        let n = load(&db, &opts);
        db.checkpoint().expect("checkpoint");
        std::fs::write(&marker, n.to_string()).expect("marker");
        eprintln!("  {n} visits loaded in {:.1} s", t.elapsed().as_secs_f64());
    }
    let last =
        LocalDate::from_days_since_epoch(opts.start.days_since_epoch() + i64::from(DAYS) - 1);
    let all = Scope {
        operation,
        from: opts.start,
        to: last,
    };
    let (visits, persons) = db
        .read_blocking(|c| dbx::counts(c, &all, true))
        .expect("counts");
    let Some(phase) = phase else {
        // Each phase in a process of its own, so its peak memory is its own.
        println!(
            "export bench: {visits} visits, {persons} person rows over {DAYS} days ({})",
            path.display()
        );
        drop(db);
        for phase in ["summary-some", "summary-all", "csv", "xlsx"] {
            let out = std::process::Command::new(std::env::current_exe().expect("bench binary"))
                .env("AIDANT_BENCH_PHASE", phase)
                .env("AIDANT_BENCH_VISITS", target.to_string())
                .output()
                .expect("bench phase");
            print!("{}", String::from_utf8_lossy(&out.stdout));
            if !out.status.success() {
                eprintln!("{phase} failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        return;
    };

    // Summary over about 100,000 visits: the first days that hold that many.
    let per_day = visits as f64 / f64::from(DAYS);
    let k = ((100_000.0 / per_day).ceil() as i64).clamp(1, i64::from(DAYS));
    let some = Scope {
        to: LocalDate::from_days_since_epoch(opts.start.days_since_epoch() + k - 1),
        ..all
    };
    for (what, scope) in [("summary, first days", some), ("summary, all days", all)] {
        let wanted = if scope.to == all.to {
            "summary-all"
        } else {
            "summary-some"
        };
        if phase != wanted {
            continue;
        }
        reset_hwm();
        let t = Instant::now();
        let s = dbx::with_snapshot(&db, |c| export::range_summary(c, &scope)).expect("summary");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{what:<22} {} to {}: {:>8} visits in {:.3} s ({:.0} visits/s), peak {}  [target < 1 s for 100,000]",
            scope.from,
            scope.to,
            s.total.visits + s.total.voided,
            secs,
            f64::from(s.total.visits + s.total.voided) / secs,
            hwm()
        );
    }

    // The CSV of every visit (the target), then for information an XLSX
    // workbook (three sheets) of the first days.
    for (format, table, scope) in [
        (Format::Csv, Table::Visits, all),
        (Format::Xlsx, Table::Visits, some),
    ] {
        if phase != format.as_str() {
            continue;
        }
        reset_hwm();
        let request = Request {
            scope,
            format,
            table,
            identifying: false,
            reason: "benchmark".into(),
        };
        let t = Instant::now();
        let (_, w) = export::run_blocking(&db, request, "bench", std::io::sink(), &mut Quiet)
            .expect("export")
            .expect("operation");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "export {:<4} {:<7}: {:>8} rows, {:.1} MB in {:.2} s = {:.0} rows/s, peak {}{}",
            format.as_str(),
            if format == Format::Csv {
                table.as_str()
            } else {
                "all"
            },
            w.rows,
            w.bytes as f64 / 1e6,
            secs,
            w.rows as f64 / secs,
            hwm(),
            if format == Format::Csv {
                "  [target >= 200,000 rows/s, < 100 MB]"
            } else {
                ""
            }
        );
    }
}
