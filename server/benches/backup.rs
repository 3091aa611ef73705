//! Backup and restore figures on `aidant demo` data (prints figures, asserts
//! nothing about time): the database's size, then the time and peak memory
//! (VmHWM, reset before each phase through `/proc/self/clear_refs`) of
//! `db::backup::backup` (`VACUUM INTO` plus the integrity check), of a plain
//! file copy for comparison, and of `db::backup::restore` (copy, integrity
//! check, audit chain). `AIDANT_BENCH_SCALE` sets the demo scale (default
//! 10: about 200,000 ops). The data is kept in `target/backup-bench/`.

use server::db::backup::{backup, restore, Overwrite};
use std::path::Path;
use std::time::Instant;

fn vm_hwm_mb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or("n/a".into(), |kb| format!("{:.1} MB", kb / 1024.0))
}

fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mb(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}

fn main() {
    let scale = std::env::var("AIDANT_BENCH_SCALE").unwrap_or_else(|_| "10".into());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/backup-bench")
        .join(format!("scale-{scale}"));
    let live = dir.join("live");
    let db = live.join("aidant.sqlite3");
    let marker = live.join("loaded");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&live);
        eprintln!(
            "generating demo data at scale {scale} into {}",
            db.display()
        );
        let args = ["--db", db.to_str().expect("UTF-8 path"), "--scale", &scale];
        server::demo_week::cli(
            args.iter().map(|s| s.to_string()),
            |_| None,
            &mut std::io::sink(),
        )
        .expect("demo data");
        std::fs::write(&marker, "").expect("marker");
    }
    let (saved, copied, fresh) = (
        dir.join("backup.sqlite3"),
        dir.join("copy.sqlite3"),
        dir.join("fresh"),
    );
    let _ = std::fs::remove_dir_all(&fresh);

    reset_hwm();
    let t = Instant::now();
    let got = backup(&db, &saved, Overwrite::Replace).expect("backup");
    let backup_s = t.elapsed().as_secs_f64();
    let backup_mem = vm_hwm_mb();

    let t = Instant::now();
    std::fs::copy(&db, &copied).expect("copy");
    let copy_s = t.elapsed().as_secs_f64();

    reset_hwm();
    let t = Instant::now();
    restore(
        &saved,
        Some(&live.join("audit.key")),
        &fresh.join("aidant.sqlite3"),
        &fresh.join("audit.key"),
        Overwrite::Refuse,
    )
    .expect("restore");
    let restore_s = t.elapsed().as_secs_f64();
    let restore_mem = vm_hwm_mb();

    println!(
        "backup bench (demo scale {scale}): database {:.1} MB + WAL {:.1} MB; {} ops, {} devices",
        mb(&db),
        mb(&live.join("aidant.sqlite3-wal")),
        got.ops,
        got.devices
    );
    println!(
        "  aidant backup (VACUUM INTO + integrity check): {backup_s:.2} s, {:.1} MB written \
         ({:.0} MB/s), peak memory {backup_mem}",
        got.bytes as f64 / 1e6,
        got.bytes as f64 / 1e6 / backup_s
    );
    println!("  plain copy of the database file (not consistent while serving): {copy_s:.2} s");
    println!(
        "  aidant restore (copy + integrity check + audit chain): {restore_s:.2} s, \
         peak memory {restore_mem}"
    );
    let _ = std::fs::remove_file(&copied);
}
