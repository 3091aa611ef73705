//! Backups, end to end with the real binary: `aidant backup` runs while a
//! real `aidant serve` takes enrolments and pushes; the copy is restored
//! into a fresh folder with `aidant restore`, `aidant audit verify` passes on
//! it, and a server started on it has everything acknowledged before the
//! backup began. And after a SIGTERM, the database file alone (without its
//! `-wal`) holds every acknowledged write.

use crate::crash::{agent, call, must, Server, ADMIN_PASSWORD};
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use sync_core::{LocationKind, Op, OpId, OperationId, Replica, Target, Value, VisitField, VisitId};
use uuid::Uuid;

/// Runs `aidant ARGS`.
fn aidant<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_aidant"))
        .args(args)
        .env_remove("AIDANT_DB")
        .env_remove("AIDANT_AUDIT_KEY_FILE")
        .output()
        .expect("running aidant")
}

fn said(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An admin's session on one server, with an operation and a team.
struct Field {
    base: String,
    admin: String,
    operation: OperationId,
    team: String,
}

impl Field {
    fn new(base: &str) -> Field {
        let a = agent();
        let login = must(
            &a,
            "POST",
            format!("{base}/api/v1/login"),
            None,
            Some(json!({ "username": "admin", "password": ADMIN_PASSWORD })),
        );
        let admin = login["token"].as_str().unwrap().to_owned();
        let op = must(
            &a,
            "POST",
            format!("{base}/api/v1/operations"),
            Some(&admin),
            Some(json!({
                "name": "Backup test", "force_area": "Kent",
                "starts_on": "2025-06-01", "ends_on": "2025-06-07",
            })),
        );
        let operation: OperationId = op["id"].as_str().unwrap().parse().unwrap();
        let team = must(
            &a,
            "POST",
            format!("{base}/api/v1/operations/{operation}/teams"),
            Some(&admin),
            Some(json!({ "name": "Backup crew" })),
        );
        Field {
            base: base.to_owned(),
            admin,
            operation,
            team: team["id"].as_str().unwrap().to_owned(),
        }
    }

    /// A new officer in the team; its user id.
    fn officer(&self, a: &ureq::Agent, username: &str) -> String {
        let user = must(
            a,
            "POST",
            format!("{}/api/v1/users", self.base),
            Some(&self.admin),
            Some(json!({ "username": username, "display_name": username, "role": "officer" })),
        );
        let id = user["id"].as_str().unwrap().to_owned();
        must(
            a,
            "POST",
            format!("{}/api/v1/operations/{}/members", self.base, self.operation),
            Some(&self.admin),
            Some(json!({ "user_id": id, "team_id": self.team })),
        );
        id
    }

    /// A new officer's enrolled phone.
    fn phone(&self, a: &ureq::Agent, username: &str) -> Phone {
        let user = self.officer(a, username);
        let code = must(
            a,
            "POST",
            format!("{}/api/v1/users/{user}/enrolment-codes", self.base),
            Some(&self.admin),
            None,
        );
        let enrolled = must(
            a,
            "POST",
            format!("{}/api/v1/enrol", self.base),
            None,
            Some(json!({ "code": code["code"], "label": username })),
        );
        let id = enrolled["device_id"].as_str().unwrap().to_owned();
        Phone {
            replica: Replica::new(id.parse().unwrap()),
            id,
            token: enrolled["token"].as_str().unwrap().to_owned(),
            operation: self.operation,
            now_ms: 1_750_000_000_000,
        }
    }

    /// Ids of the enrolled devices.
    fn devices(&self, a: &ureq::Agent) -> BTreeSet<String> {
        let list = must(
            a,
            "GET",
            format!("{}/api/v1/devices", self.base),
            Some(&self.admin),
            None,
        );
        ids(&list)
    }

    /// Ids of the users.
    fn users(&self, a: &ureq::Agent) -> BTreeSet<String> {
        let list = must(
            a,
            "GET",
            format!("{}/api/v1/users", self.base),
            Some(&self.admin),
            None,
        );
        ids(&list)
    }
}

fn ids(list: &Json) -> BTreeSet<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The admin's token on a server started on a restored copy.
fn login(base: &str) -> String {
    let login = must(
        &agent(),
        "POST",
        format!("{base}/api/v1/login"),
        None,
        Some(json!({ "username": "admin", "password": ADMIN_PASSWORD })),
    );
    login["token"].as_str().unwrap().to_owned()
}

/// An enrolled phone making visits.
struct Phone {
    id: String,
    token: String,
    replica: Replica,
    operation: OperationId,
    now_ms: u64,
}

impl Phone {
    /// `n` new ops: a visit, then notes and edits on it.
    fn ops(&mut self, n: usize) -> Vec<Op> {
        let v = VisitId(Uuid::new_v4());
        self.now_ms += 1_000;
        let mut out = self
            .replica
            .create_visit(self.now_ms, v, self.operation, LocationKind::NailBar)
            .unwrap();
        while out.len() < n {
            self.now_ms += 1_000;
            let op = if out.len().is_multiple_of(2) {
                self.replica.note(
                    self.now_ms,
                    v,
                    "Two workers spoken to through an interpreter; passports held by the manager; \
                     sleeping in the back room. Leaflets left, safeguarding referral made.",
                )
            } else {
                self.replica.set(
                    self.now_ms,
                    v,
                    Target::Visit(VisitField::Occupants),
                    Value::Int((out.len() % 40) as i64),
                )
            };
            out.push(op.unwrap().clone());
        }
        out
    }

    /// Pushes `ops`; panics unless every one is acknowledged.
    fn push(&self, a: &ureq::Agent, base: &str, ops: &[Op]) {
        let (status, body) = call(
            a.post(&format!("{base}/api/v1/sync/push"))
                .set("Authorization", &format!("Bearer {}", self.token)),
            Some(&json!({ "ops": ops }).to_string()),
        )
        .unwrap();
        assert_eq!(status, 200, "push: {body}");
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), ops.len());
        for r in results {
            assert!(
                r["result"] == "accepted" || r["result"] == "duplicate",
                "{r}"
            );
        }
    }

    /// Every op this phone can pull from `base` (its team-mates' ops).
    fn pull_all(&self, a: &ureq::Agent, base: &str) -> BTreeSet<OpId> {
        let (mut cursor, mut got) = (0i64, BTreeSet::new());
        loop {
            let page = must(
                a,
                "GET",
                format!("{base}/api/v1/sync/pull?after={cursor}&limit=1000"),
                Some(&self.token),
                None,
            );
            let ops: Vec<Op> = serde_json::from_value(page["ops"].clone()).unwrap();
            got.extend(ops.iter().map(|o| o.id));
            cursor = page["cursor"].as_i64().unwrap();
            if page["more"] == json!(false) {
                return got;
            }
        }
    }
}

/// What the server acknowledged, and when the answer came.
#[derive(Default)]
struct Acks {
    devices: Vec<(Instant, String)>,
    ops: Vec<(Instant, OpId)>,
}

impl Acks {
    fn devices_before(&self, t: Instant) -> BTreeSet<String> {
        self.devices
            .iter()
            .filter(|(at, _)| *at < t)
            .map(|(_, d)| d.clone())
            .collect()
    }
    fn ops_before(&self, t: Instant) -> BTreeSet<OpId> {
        self.ops
            .iter()
            .filter(|(at, _)| *at < t)
            .map(|(_, o)| *o)
            .collect()
    }
}

#[test]
fn a_backup_taken_while_serving_restores_everything_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (live, saved, keys, fresh) = (
        dir.path().join("live"),
        dir.path().join("saved"),
        dir.path().join("keys"),
        dir.path().join("fresh"),
    );
    let log = dir.path().join("server.log");
    let server = Server::start(&live.join("aidant.sqlite3"), &log);
    let a = agent();
    let field = Arc::new(Field::new(&server.base));
    let mut watcher = field.phone(&a, "pc.watch");
    // Some weight first, so that the copy takes a while and pushes land during it.
    let mut first = field.phone(&a, "pc.first");
    let acks = Arc::new(Mutex::new(Acks::default()));
    for _ in 0..4 {
        let ops = first.ops(1_000);
        first.push(&a, &server.base, &ops);
        let now = Instant::now();
        let mut k = acks.lock().unwrap();
        k.ops.extend(ops.iter().map(|o| (now, o.id)));
    }
    acks.lock()
        .unwrap()
        .devices
        .push((Instant::now(), first.id.clone()));

    // A field of phones: every few pushes another enrols (enrolment allows
    // ten a minute from one address: the watcher, the first and six more).
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (field, acks, stop, base) = (
            field.clone(),
            acks.clone(),
            stop.clone(),
            server.base.clone(),
        );
        std::thread::spawn(move || {
            let a = agent();
            let mut phones = vec![first];
            let mut pushes = 0usize;
            while !stop.load(Ordering::Acquire) || pushes < 40 {
                if pushes.is_multiple_of(8) && phones.len() < 7 {
                    let p = field.phone(&a, &format!("pc.{}", phones.len()));
                    acks.lock()
                        .unwrap()
                        .devices
                        .push((Instant::now(), p.id.clone()));
                    phones.push(p);
                }
                let i = pushes % phones.len();
                let ops = phones[i].ops(25);
                phones[i].push(&a, &base, &ops);
                let now = Instant::now();
                acks.lock()
                    .unwrap()
                    .ops
                    .extend(ops.iter().map(|o| (now, o.id)));
                pushes += 1;
            }
            pushes
        })
    };
    while acks.lock().unwrap().ops.len() < 4_000 + 10 * 25 {
        std::thread::sleep(Duration::from_millis(5));
    }

    let backup = saved.join("aidant-backup.sqlite3");
    let key_copy = keys.join("audit.key");
    let started = Instant::now();
    let out = aidant([
        OsStr::new("backup"),
        OsStr::new("--data-dir"),
        live.as_os_str(),
        OsStr::new("--to"),
        backup.as_os_str(),
        OsStr::new("--key-to"),
        key_copy.as_os_str(),
    ]);
    let finished = Instant::now();
    assert!(out.status.success(), "aidant backup: {}", said(&out));
    // Let the field go on a little after the backup, then stop it.
    while acks
        .lock()
        .unwrap()
        .ops
        .iter()
        .filter(|(t, _)| *t > finished)
        .count()
        < 3 * 25
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Release);
    let pushes = worker.join().unwrap();
    let acks = acks.lock().unwrap();
    let during = acks
        .ops
        .iter()
        .filter(|(t, _)| *t > started && *t < finished)
        .count();
    eprintln!(
        "backup took {} ms while the server acknowledged {during} ops ({pushes} pushes in all); \
         aidant said: {}",
        (finished - started).as_millis(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    // Only the backup, no temporary file or journal left beside it.
    let beside: Vec<_> = std::fs::read_dir(&saved)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, vec![backup.file_name().unwrap().to_owned()]);
    // Never over an existing backup without --force.
    let before = std::fs::read(&backup).unwrap();
    let again = aidant([
        OsStr::new("backup"),
        OsStr::new("--db"),
        live.join("aidant.sqlite3").as_os_str(),
        OsStr::new("--to"),
        backup.as_os_str(),
    ]);
    assert!(!again.status.success());
    assert!(said(&again).contains("already exists"), "{}", said(&again));
    assert_eq!(std::fs::read(&backup).unwrap(), before, "left unchanged");
    drop(server);

    // A wrong key: nothing is restored, and the key is not copied.
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, format!("{}\n", "ab".repeat(32))).unwrap();
    let refused = aidant([
        OsStr::new("restore"),
        OsStr::new("--from"),
        backup.as_os_str(),
        OsStr::new("--key-from"),
        wrong.as_os_str(),
        OsStr::new("--data-dir"),
        fresh.as_os_str(),
    ]);
    assert!(!refused.status.success());
    assert!(said(&refused).contains("audit chain"), "{}", said(&refused));
    assert!(!fresh.join("aidant.sqlite3").exists() && !fresh.join("audit.key").exists());

    let restored = aidant([
        OsStr::new("restore"),
        OsStr::new("--from"),
        backup.as_os_str(),
        OsStr::new("--key-from"),
        key_copy.as_os_str(),
        OsStr::new("--data-dir"),
        fresh.as_os_str(),
    ]);
    assert!(
        restored.status.success(),
        "aidant restore: {}",
        said(&restored)
    );
    let verify = aidant([
        OsStr::new("audit"),
        OsStr::new("verify"),
        OsStr::new("--db"),
        fresh.join("aidant.sqlite3").as_os_str(),
    ]);
    assert!(verify.status.success(), "audit verify: {}", said(&verify));
    // Not over a database already there.
    let twice = aidant([
        OsStr::new("restore"),
        OsStr::new("--from"),
        backup.as_os_str(),
        OsStr::new("--data-dir"),
        fresh.as_os_str(),
    ]);
    assert!(!twice.status.success());
    assert!(said(&twice).contains("already exists"), "{}", said(&twice));

    let server = Server::start(&fresh.join("aidant.sqlite3"), &log);
    let field = Field {
        base: server.base.clone(),
        admin: login(&server.base),
        operation: field.operation,
        team: field.team.clone(),
    };
    let devices = field.devices(&a);
    let missing: Vec<_> = acks
        .devices_before(started)
        .into_iter()
        .filter(|d| !devices.contains(d))
        .collect();
    assert!(
        missing.is_empty(),
        "enrolments acknowledged before the backup missing: {missing:?}"
    );
    let held = watcher.pull_all(&a, &server.base);
    let wanted = acks.ops_before(started);
    let lost = wanted.difference(&held).count();
    assert_eq!(
        lost,
        0,
        "{lost} of {} ops acknowledged before the backup missing",
        wanted.len()
    );
    let all: BTreeSet<OpId> = acks.ops.iter().map(|(_, o)| *o).collect();
    assert!(
        held.is_subset(&all),
        "the restored server holds ops never pushed"
    );
    eprintln!(
        "restored: {} ops ({} acknowledged before the backup began), {} devices",
        held.len(),
        wanted.len(),
        devices.len()
    );

    // Not over a database a server has open, even with --force.
    let restore_over = || {
        aidant([
            OsStr::new("restore"),
            OsStr::new("--from"),
            backup.as_os_str(),
            OsStr::new("--data-dir"),
            fresh.as_os_str(),
            OsStr::new("--force"),
        ])
    };
    let busy = restore_over();
    assert!(!busy.status.success());
    assert!(said(&busy).contains("in use"), "{}", said(&busy));
    // Killed, it leaves a WAL; --force restores over it and drops that WAL
    // (applied to the restored file, it would bring back what it held).
    let late = watcher.ops(30);
    watcher.push(&a, &server.base, &late);
    server.kill();
    assert!(std::fs::metadata(fresh.join("aidant.sqlite3-wal")).is_ok_and(|m| m.len() > 0));
    let forced = restore_over();
    assert!(forced.status.success(), "{}", said(&forced));
    assert!(!fresh.join("aidant.sqlite3-wal").exists());
    let count = |p: &std::path::Path| -> i64 {
        let c = rusqlite::Connection::open(p).unwrap();
        c.query_row("SELECT COUNT(*) FROM ops", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&fresh.join("aidant.sqlite3")), count(&backup));
}

#[test]
fn after_sigterm_the_database_file_alone_holds_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let (live, copy) = (dir.path().join("live"), dir.path().join("copy"));
    let log = dir.path().join("server.log");
    let server = Server::start(&live.join("aidant.sqlite3"), &log);
    let a = agent();
    let field = Field::new(&server.base);
    let watcher = field.phone(&a, "pc.watch");
    let mut users = BTreeSet::new();
    for i in 0..200 {
        users.insert(field.officer(&a, &format!("officer.{i}")));
    }
    let mut phones: Vec<Phone> = (0..8)
        .map(|i| field.phone(&a, &format!("pc.{i}")))
        .collect();
    let mut pushed = BTreeSet::new();
    for round in 0..40 {
        let p = &mut phones[round % 8];
        let ops = p.ops(20);
        p.push(&a, &server.base, &ops);
        pushed.extend(ops.iter().map(|o| o.id));
    }
    let devices: BTreeSet<String> = phones.iter().map(|p| p.id.clone()).collect();

    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
    let wal = live.join("aidant.sqlite3-wal");
    let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
    // `aidant backup` works on a stopped server's folder too.
    let stopped = dir.path().join("stopped.sqlite3");
    let out = aidant([
        OsStr::new("backup"),
        OsStr::new("--data-dir"),
        live.as_os_str(),
        OsStr::new("--to"),
        stopped.as_os_str(),
    ]);
    assert!(out.status.success(), "aidant backup: {}", said(&out));
    assert!(
        said(&out).contains(&format!("{} ops", pushed.len())),
        "{}",
        said(&out)
    );

    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(live.join("aidant.sqlite3"), copy.join("aidant.sqlite3")).unwrap();
    let key = live.join("audit.key");
    let server = Server::start_with(
        &[
            OsStr::new("--db"),
            copy.join("aidant.sqlite3").as_os_str(),
            OsStr::new("--audit-key"),
            key.as_os_str(),
        ],
        &log,
    );
    let field = Field {
        base: server.base.clone(),
        admin: login(&server.base),
        ..field
    };
    let missing_users = users.difference(&field.users(&a)).count();
    let missing_devices = devices.difference(&field.devices(&a)).count();
    let missing_ops = pushed
        .difference(&watcher.pull_all(&a, &server.base))
        .count();
    assert_eq!(
        (missing_users, missing_devices, missing_ops),
        (0, 0, 0),
        "missing from the copied file (users, enrolments, ops) of ({}, {}, {})",
        users.len(),
        devices.len(),
        pushed.len()
    );
    assert_eq!(wal_bytes, 0, "the WAL was left holding {wal_bytes} bytes");
    let verify = aidant([
        OsStr::new("audit"),
        OsStr::new("verify"),
        OsStr::new("--db"),
        copy.join("aidant.sqlite3").as_os_str(),
        OsStr::new("--audit-key"),
        key.as_os_str(),
    ]);
    assert!(verify.status.success(), "audit verify: {}", said(&verify));
}

#[test]
fn backup_and_restore_explain_their_flags_and_refuse_what_they_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["backup", "restore"] {
        let help = aidant([cmd, "--help"]);
        assert!(help.status.success());
        assert!(said(&help).contains("--data-dir"), "{}", said(&help));
    }
    let usage = aidant(["--help"]);
    assert!(said(&usage).contains("backup --to FILE"));
    let nothing = dir.path().join("none.sqlite3");
    for (args, says) in [
        (vec!["backup"], "--to FILE is required"),
        (
            vec!["backup", "--to", "x", "--frobnicate"],
            "unexpected argument",
        ),
        (
            vec!["backup", "--to", "x", "--db", nothing.to_str().unwrap()],
            "no database",
        ),
        (vec!["restore", "--from", "x"], "--data-dir"),
        (
            vec!["restore", "--data-dir", "d"],
            "--from FILE is required",
        ),
    ] {
        let out = aidant(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(said(&out).contains(says), "{args:?}: {}", said(&out));
    }
    // A key destination holding another key: refused before anything is copied.
    let live = dir.path().join("live");
    drop(server::db::Db::open(&live.join("aidant.sqlite3")).unwrap());
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, format!("{}\n", "ef".repeat(32))).unwrap();
    let to = dir.path().join("b.sqlite3");
    let args = |extra: &[&str]| {
        let mut v = vec!["backup", "--data-dir", live.to_str().unwrap()];
        v.extend([
            "--to",
            to.to_str().unwrap(),
            "--key-to",
            other_key.to_str().unwrap(),
        ]);
        v.extend(extra);
        aidant(v)
    };
    let out = args(&[]);
    assert!(!out.status.success());
    assert!(said(&out).contains("already exists"), "{}", said(&out));
    assert!(!to.exists());
    let out = args(&["--force"]);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(
        std::fs::read(&other_key).unwrap(),
        std::fs::read(live.join("audit.key")).unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&other_key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Not a database, or a database that is not Aidant's: nothing restored.
    let key = dir.path().join("k");
    std::fs::write(&key, format!("{}\n", "cd".repeat(32))).unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    let other = dir.path().join("other.sqlite3");
    let c = rusqlite::Connection::open(&other).unwrap();
    c.execute_batch("CREATE TABLE t (x); PRAGMA user_version = 3;")
        .unwrap();
    drop(c);
    let target = dir.path().join("d");
    for (from, says) in [
        (&junk, "not a database"),
        (&other, "not an Aidant database"),
    ] {
        let out = aidant([
            OsStr::new("restore"),
            OsStr::new("--from"),
            from.as_os_str(),
            OsStr::new("--key-from"),
            key.as_os_str(),
            OsStr::new("--data-dir"),
            target.as_os_str(),
        ]);
        assert!(!out.status.success());
        assert!(said(&out).contains(says), "{}", said(&out));
        assert!(!target.join("aidant.sqlite3").exists() && !target.join("audit.key").exists());
    }
}
