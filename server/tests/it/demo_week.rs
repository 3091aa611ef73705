//! `aidant demo`: the generator is deterministic, its figures fall in the
//! published ranges (`shared/domain/realistic-figures.md`), the safeguarding
//! rule holds for every person, and `fill` into a real SQLite file gives the
//! expected visits through the API.

use crate::harness::{Server, ADMIN_PASSWORD};
use server::db::Db;
use server::demo_week::{self, DemoOptions, DemoVisit};
use std::collections::{BTreeMap, BTreeSet};
use sync_core::summary::{london_date, london_offset_ms, LocalDate};
use sync_core::{
    AgeGroup, Op, PersonField, PersonSet, ReplicaId, Value, Visit, VisitField, VisitSet,
};

fn opts(seed: u64, scale: f64, days: u32) -> DemoOptions {
    DemoOptions {
        seed,
        start: LocalDate::parse("2026-11-16").unwrap(),
        days,
        scale,
    }
}

fn merged(v: &DemoVisit) -> Visit {
    let mut m = Visit::new(v.visit);
    for op in &v.ops {
        m.apply(op);
    }
    m
}

fn text(p: &sync_core::Person, f: PersonField) -> Option<&str> {
    p.get(&f).and_then(Value::as_text)
}

#[test]
fn the_same_seed_gives_the_same_ops_and_another_seed_other_ones() {
    let a: Vec<Vec<Op>> = demo_week::generate(&opts(7, 0.3, 3))
        .map(|v| v.ops)
        .collect();
    let b: Vec<Vec<Op>> = demo_week::generate(&opts(7, 0.3, 3))
        .map(|v| v.ops)
        .collect();
    let c: Vec<Vec<Op>> = demo_week::generate(&opts(8, 0.3, 3))
        .map(|v| v.ops)
        .collect();
    assert!(a.len() > 10, "{} visits", a.len());
    assert_eq!(a, b);
    assert_ne!(a, c);
    let p1 = demo_week::plan(&opts(7, 0.3, 3));
    let p2 = demo_week::plan(&opts(7, 0.3, 3));
    assert_eq!(p1.operation, p2.operation);
    assert_eq!(
        p1.teams[0].officers[0].device,
        p2.teams[0].officers[0].device
    );
}

#[test]
fn every_op_is_valid_and_each_device_writes_a_gapless_sequence() {
    let plan = demo_week::plan(&opts(3, 1.0, 7));
    let devices: BTreeSet<ReplicaId> = plan
        .teams
        .iter()
        .flat_map(|t| std::iter::once(&t.supervisor).chain(&t.officers))
        .map(|s| s.device)
        .collect();
    assert_eq!(devices.len(), 30, "6 teams of a sergeant and 4 officers");
    let mut last: BTreeMap<ReplicaId, (u64, sync_core::Hlc)> = BTreeMap::new();
    for v in demo_week::generate(&opts(3, 1.0, 7)) {
        assert_eq!(
            v.ops[0].action,
            sync_core::Action::Create {
                operation: plan.operation
            }
        );
        for op in &v.ops {
            op.validate().unwrap();
            assert!(devices.contains(&op.id.replica), "op by an unknown device");
            assert_eq!(op.visit, v.visit);
            let (seq, hlc) = last.get(&op.id.replica).copied().unwrap_or_default();
            assert_eq!(op.id.seq, seq + 1, "gap or reorder in {:?}", op.id);
            assert!(op.hlc > hlc, "clock went back at {:?}", op.id);
            last.insert(op.id.replica, (op.id.seq, op.hlc));
        }
    }
    assert_eq!(last.len(), 30, "every device wrote");
}

#[test]
fn a_large_scale_is_generated_lazily() {
    // 100x: 600 teams; the first visits come without making the rest.
    let o = opts(1, 100.0, 7);
    assert_eq!(demo_week::plan(&o).teams.len(), 600);
    let first: Vec<DemoVisit> = demo_week::generate(&o).take(2_000).collect();
    assert_eq!(first.len(), 2_000);
    let day = london_date(merged(&first[1_999]).started_at().unwrap());
    assert_eq!(day, o.start, "still on the first day");
}

/// Figures of a generated week.
#[derive(Default, Debug)]
struct Figures {
    visits: usize,
    by_kind: BTreeMap<String, usize>,
    people: usize,
    victims: usize,
    child_victims: usize,
    unknown_age_victims: usize,
    male_victims: usize,
    unknown_type_victims: usize,
    victim_nationalities: BTreeMap<String, usize>,
    vehicle_stops: usize,
    vehicle_victims: usize,
    car_washes: usize,
    car_wash_workers: usize,
    arrests: BTreeMap<String, i64>,
    agencies: BTreeSet<String>,
    nrm: usize,
    dtn: usize,
    voided: usize,
    conflicts: usize,
    status: BTreeMap<String, usize>,
    days: BTreeSet<LocalDate>,
    evening: usize,
    daytime: usize,
    officers: BTreeSet<String>,
}

fn figures(o: &DemoOptions) -> Figures {
    let mut f = Figures::default();
    for dv in demo_week::generate(o) {
        let v = merged(&dv);
        f.visits += 1;
        let kind = v.location_kind().unwrap().as_str().to_owned();
        *f.by_kind.entry(kind.clone()).or_default() += 1;
        let t = v.started_at().unwrap();
        f.days.insert(london_date(t));
        let hour = (t + london_offset_ms(t)).rem_euclid(86_400_000) / 3_600_000;
        if hour >= 19 {
            f.evening += 1;
        }
        if (7..19).contains(&hour) {
            f.daytime += 1;
        }
        *f.status.entry(v.status().as_str().to_owned()).or_default() += 1;
        f.voided += usize::from(v.is_voided());
        f.conflicts += usize::from(v.has_conflict());
        f.officers
            .extend(v.set(&VisitSet::Officers).map(str::to_owned));
        f.agencies
            .extend(v.set(&VisitSet::PartnerAgencies).map(str::to_owned));
        for (o, n) in v.arrests() {
            *f.arrests.entry(o.as_str().to_owned()).or_default() += n;
        }
        if kind == "vehicle_stop" {
            f.vehicle_stops += 1;
        }
        if kind == "car_wash" {
            f.car_washes += 1;
        }
        for (_, p) in v.persons() {
            f.people += 1;
            if kind == "car_wash" && text(p, PersonField::Role) == Some("worker") {
                f.car_wash_workers += 1;
            }
            f.nrm += usize::from(p.has(&PersonSet::SafeguardingActions, "nrm_referral"));
            f.dtn += usize::from(p.has(&PersonSet::SafeguardingActions, "duty_to_notify"));
            if !p.flag(&PersonField::PotentialVictim) {
                continue;
            }
            f.victims += 1;
            if kind == "vehicle_stop" {
                f.vehicle_victims += 1;
            }
            match text(p, PersonField::AgeGroup) {
                Some("child") => f.child_victims += 1,
                Some("unknown") => f.unknown_age_victims += 1,
                _ => {}
            }
            f.male_victims += usize::from(text(p, PersonField::Gender) == Some("male"));
            f.unknown_type_victims += usize::from(p.has(&PersonSet::ExploitationTypes, "unknown"));
            *f.victim_nationalities
                .entry(text(p, PersonField::Nationality).unwrap().to_owned())
                .or_default() += 1;
        }
    }
    f
}

#[track_caller]
fn within(what: &str, got: f64, lo: f64, hi: f64) {
    assert!(
        (lo..=hi).contains(&got),
        "{what}: {got:.3} is outside {lo}..={hi}"
    );
}

#[test]
fn a_week_falls_within_the_published_figures() {
    // Scale 2 (about 800 visits, 2,000 people) so that shares are stable.
    for seed in [1, 2] {
        let o = opts(seed, 2.0, 7);
        let f = figures(&o);
        let share = |n: usize, of: usize| n as f64 / of.max(1) as f64;
        eprintln!(
            "seed {seed}: {} visits, {} people, {} potential victims ({} children, {} male), {} vehicles with {} victims, {} car washes with {} workers, {} NRM, {} DtN, arrests {:?}, {} voided, {} conflicts, {:?}, kinds {:?}, nationalities {:?}",
            f.visits, f.people, f.victims, f.child_victims, f.male_victims, f.vehicle_stops,
            f.vehicle_victims, f.car_washes, f.car_wash_workers, f.nrm, f.dtn, f.arrests,
            f.voided, f.conflicts, f.status, f.by_kind, f.victim_nationalities
        );
        // A force-area week: tens of visits a day across a few dozen officers.
        within(
            "visits a day at scale 1",
            f.visits as f64 / 14.0,
            30.0,
            100.0,
        );
        assert_eq!(f.days.len(), 7, "every day has visits");
        assert_eq!(*f.days.first().unwrap(), o.start);
        assert_eq!(f.officers.len(), 48, "24 officers at scale 1");
        // The everyday four are most of it, each a real share.
        for k in ["hotel", "car_wash", "nail_bar", "vehicle_stop"] {
            within(k, share(f.by_kind[k], f.visits), 0.08, 0.45);
        }
        let four: usize = ["hotel", "car_wash", "nail_bar", "vehicle_stop"]
            .iter()
            .map(|k| f.by_kind[*k])
            .sum();
        within("the four everyday kinds", share(four, f.visits), 0.7, 0.95);
        // About 5–10% of the people spoken to are potential victims.
        within("potential victims", share(f.victims, f.people), 0.05, 0.10);
        // A car wash visit finds about 3 workers.
        within(
            "car wash workers a visit",
            f.car_wash_workers as f64 / f.car_washes as f64,
            2.3,
            3.7,
        );
        // A road check: 3–4 potential victims per 100 vehicles (small samples:
        // a week has about a hundred stops, so allow a wide band).
        within(
            "potential victims per 100 vehicles",
            100.0 * share(f.vehicle_victims, f.vehicle_stops),
            1.0,
            8.0,
        );
        // NRM: 44% children nationally, 5% age unknown, 76% male, 10–13%
        // exploitation type unknown. Field weeks at workplaces find more
        // adults, so children are a smaller but real share here.
        within(
            "child victims",
            share(f.child_victims, f.victims),
            0.12,
            0.5,
        );
        within(
            "age unknown",
            share(f.unknown_age_victims, f.victims),
            0.0,
            0.12,
        );
        within("male victims", share(f.male_victims, f.victims), 0.45, 0.85);
        within(
            "exploitation unknown",
            share(f.unknown_type_victims, f.victims),
            0.02,
            0.25,
        );
        // Top nationalities: UK, Albanian, Vietnamese among the first five.
        let mut nat: Vec<(&String, &usize)> = f.victim_nationalities.iter().collect();
        nat.sort_by_key(|(c, n)| (std::cmp::Reverse(**n), (*c).clone()));
        let top: Vec<&str> = nat.iter().take(5).map(|(c, _)| c.as_str()).collect();
        for c in ["GB", "AL", "VN"] {
            assert!(top.contains(&c), "{c} not in top nationalities {top:?}");
        }
        // Both referral routes are used; arrests by several offences;
        // several partner agencies.
        assert!(f.nrm > 0 && f.dtn > 0, "nrm {} dtn {}", f.nrm, f.dtn);
        let arrests: i64 = f.arrests.values().sum();
        within(
            "arrests in the week at scale 1",
            arrests as f64 / 2.0,
            5.0,
            60.0,
        );
        assert!(f.arrests.len() >= 3, "{:?}", f.arrests);
        assert!(f.agencies.len() >= 8, "{:?}", f.agencies);
        // Mostly daytime, some evening.
        within("daytime starts", share(f.daytime, f.visits), 0.7, 0.97);
        within("evening starts", share(f.evening, f.visits), 0.03, 0.25);
        // A couple voided, a few conflicts, every status.
        assert!((2..=8).contains(&f.voided), "voided {}", f.voided);
        assert!((6..=20).contains(&f.conflicts), "conflicts {}", f.conflicts);
        for s in ["draft", "submitted", "reviewed"] {
            assert!(f.status.get(s).is_some_and(|n| *n > 0), "{:?}", f.status);
        }
        assert!(
            f.status["reviewed"] > f.status["submitted"],
            "{:?}",
            f.status
        );
    }
}

#[test]
fn the_safeguarding_rule_holds_for_every_person() {
    let mut victims = 0;
    let mut checked = 0;
    for dv in demo_week::generate(&opts(5, 2.0, 7)) {
        let v = merged(&dv);
        for (id, p) in v.persons() {
            checked += 1;
            let nrm = p.has(&PersonSet::SafeguardingActions, "nrm_referral");
            let dtn = p.has(&PersonSet::SafeguardingActions, "duty_to_notify");
            let age = AgeGroup::parse(text(p, PersonField::AgeGroup).unwrap());
            let consent = text(p, PersonField::NrmConsent);
            let who = format!("person {id} of visit {}: {age:?} {consent:?}", v.id());
            if !p.flag(&PersonField::PotentialVictim) {
                assert!(!nrm && !dtn, "not a potential victim, yet referred: {who}");
                continue;
            }
            victims += 1;
            // Every potential victim is safeguarded somehow.
            assert!(
                p.set(&PersonSet::SafeguardingActions).next().is_some(),
                "{who}"
            );
            match age {
                // A child (or a person presumed one) gets an NRM referral
                // regardless of consent, and needs no Duty to Notify.
                AgeGroup::Child | AgeGroup::Unknown => {
                    assert!(nrm && !dtn, "{who}");
                    assert!(
                        p.has(
                            &PersonSet::SafeguardingActions,
                            "childrens_services_referral"
                        ),
                        "{who}"
                    );
                }
                _ => match consent {
                    Some("given") => assert!(nrm && !dtn, "{who}"),
                    Some("declined") => assert!(dtn && !nrm, "{who}"),
                    other => {
                        panic!("adult potential victim without a consent answer {other:?}: {who}")
                    }
                },
            }
            // The visit carries the person's forms of exploitation.
            for t in p.set(&PersonSet::ExploitationTypes) {
                assert!(v.has(&VisitSet::ExploitationTypes, t), "{who}");
            }
        }
    }
    assert!(
        checked > 1_000 && victims > 60,
        "{checked} persons, {victims} victims"
    );
}

fn visit_rows(srv: &Server, token: &str, query: &str) -> Vec<serde_json::Value> {
    let r = srv
        .get(&format!("/api/v1/visits?limit=5000&{query}"), Some(token))
        .expect(200);
    r.body.as_array().unwrap().clone()
}

#[test]
fn fill_stores_every_visit_and_the_api_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.sqlite3");
    let o = opts(11, 0.5, 3);
    let report = {
        let db = Db::open(&path).unwrap();
        demo_week::fill(&db, &o).unwrap()
    };
    // What the generator says there should be.
    let expected: Vec<Visit> = demo_week::generate(&o).map(|v| merged(&v)).collect();
    assert_eq!(report.visits, expected.len());
    assert_eq!(
        report.persons,
        expected.iter().map(|v| v.persons().len()).sum::<usize>()
    );
    assert!(report.conflicts > 0 && report.by_status[1] > 0);

    let srv = Server::start_with(|c| c.db_path = path.clone());
    let admin = srv.admin();
    let op = report.operation;
    let all = visit_rows(&srv, &admin, &format!("operation={op}"));
    assert_eq!(all.len(), report.visits);
    let ids: BTreeSet<String> = all
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let want: BTreeSet<String> = expected.iter().map(|v| v.id().to_string()).collect();
    assert_eq!(ids, want);
    let count = |pred: &dyn Fn(&serde_json::Value) -> bool| all.iter().filter(|r| pred(r)).count();
    assert_eq!(
        count(&|r| r["conflicts"].as_i64() > Some(0)),
        report.conflicts
    );
    assert_eq!(count(&|r| r["voided"] == true), report.voided);
    for (status, n) in ["draft", "submitted", "reviewed"]
        .iter()
        .zip(report.by_status)
    {
        let rows = visit_rows(&srv, &admin, &format!("operation={op}&status={status}"));
        assert_eq!(rows.len(), n, "{status}");
    }
    // Visits per day, as the index has them, match the generated ones.
    let per_day = |ts: Vec<i64>| {
        let mut m: BTreeMap<LocalDate, usize> = BTreeMap::new();
        for t in ts {
            *m.entry(london_date(t)).or_default() += 1;
        }
        m
    };
    assert_eq!(
        per_day(
            all.iter()
                .map(|r| r["started_at"].as_i64().unwrap())
                .collect()
        ),
        per_day(expected.iter().map(|v| v.started_at().unwrap()).collect())
    );
    assert_eq!(
        per_day(expected.iter().map(|v| v.started_at().unwrap()).collect()).len(),
        3
    );
    // A visit read back equals the generated one, conflicts and all.
    let conflicted = expected.iter().find(|v| v.has_conflict()).unwrap();
    let r = srv
        .get(
            &format!("/api/v1/visits/{}?reason=demo%20check", conflicted.id()),
            Some(&admin),
        )
        .expect(200);
    assert_eq!(
        r.body,
        serde_json::to_value(sync_core::VisitView::from(conflicted)).unwrap()
    );
    // Real devices (one per officer and sergeant), seen during the week;
    // a sergeant signs in with the printed password and sees the operation.
    let devices = srv.get("/api/v1/devices", Some(&admin)).expect(200);
    let devices = devices.body.as_array().unwrap();
    assert_eq!(devices.len(), report.officers + report.supervisors.len());
    assert!(devices.iter().all(|d| d["last_seen_at"].is_string()));
    let sgt = srv.login(&report.supervisors[0], &report.staff_password);
    assert_eq!(visit_rows(&srv, &sgt, "").len(), report.visits);
    let verdict = srv
        .get("/api/v1/admin/audit/verify", Some(&admin))
        .expect(200);
    assert!(verdict.text.contains("ok"), "{}", verdict.text);
    // Ops sit under the devices that made them.
    let (stored, _) = {
        let db = Db::open(&path).unwrap();
        db.read_blocking(server::db::sync::counts).unwrap()
    };
    assert_eq!(stored as usize, report.ops);
    let vf = conflicted.get(&VisitField::LocationKind);
    assert!(vf.is_some());

    // A new officer's phone in one team downloads that team's visits, not
    // the operation's (regression: a new phone listed every visit).
    let (team, team_visits): (String, BTreeSet<String>) = {
        let c = rusqlite::Connection::open(&path).unwrap();
        let team: String = c
            .query_row("SELECT id FROM teams ORDER BY name LIMIT 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        let mut stmt = c
            .prepare("SELECT id FROM visits WHERE team_id = ?1")
            .unwrap();
        let ids = stmt
            .query_map([&team], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (team, ids)
    };
    let user = srv.create_user(&admin, "pc.newcomer", "officer", None);
    srv.add_to_team(&admin, op, user, Some(team.parse().unwrap()));
    let phone = srv.enrol(&srv.issue_code(&admin, user));
    let (mut after, mut bytes, mut pulled) = (0i64, 0usize, Vec::new());
    loop {
        let (status, headers, body) = srv.get_bytes(
            &format!("/api/v1/sync/pull?after={after}&limit=500&format=wire"),
            &phone.token,
        );
        assert_eq!(status, 200);
        bytes += body.len();
        pulled.extend(sync_core::wire::decode(&body).unwrap());
        after = headers["x-aidant-cursor"].parse().unwrap();
        if headers["x-aidant-more"] == "false" {
            break;
        }
    }
    let got: BTreeSet<String> = pulled.iter().map(|o| o.visit.to_string()).collect();
    assert_eq!(got, team_visits);
    assert!(team_visits.len() < report.visits);
    // The same phone started from snapshots instead holds the same visits.
    let gzip = [("Accept-Encoding", "gzip")];
    let (mut next, mut snap_bytes, mut snap_gzip, mut states) =
        (String::new(), 0usize, 0usize, Vec::new());
    loop {
        let path = format!("/api/v1/sync/snapshot?limit=200&after_visit={next}");
        let (status, headers, body) = srv.get_bytes(&path, &phone.token);
        assert_eq!(status, 200);
        snap_bytes += body.len();
        snap_gzip += srv.get_bytes_with(&path, &phone.token, &gzip).2.len();
        states.extend(sync_core::snapshot::decode_limited(&body, 200).unwrap());
        match headers.get("x-aidant-next") {
            Some(n) => next = n.clone(),
            None => break,
        }
    }
    let history_gzip: usize = {
        let (mut after, mut total) = (0i64, 0usize);
        loop {
            let path = format!("/api/v1/sync/pull?after={after}&limit=500&format=wire");
            let (_, headers, body) = srv.get_bytes_with(&path, &phone.token, &gzip);
            total += body.len();
            after = headers["x-aidant-cursor"].parse().unwrap();
            if headers["x-aidant-more"] == "false" {
                break total;
            }
        }
    };
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap();
    let mut from_history = sync_core::Replica::new(sync_core::ReplicaId(uuid::Uuid::new_v4()));
    from_history.apply(now, pulled.clone());
    let mut from_snapshots = sync_core::Replica::new(sync_core::ReplicaId(uuid::Uuid::new_v4()));
    from_snapshots.adopt(now, states);
    let all = |r: &sync_core::Replica| r.visits().cloned().collect::<Vec<_>>();
    assert_eq!(all(&from_snapshots), all(&from_history));
    eprintln!(
        "new phone in one team: {} of {} visits, {} of {} ops; history {bytes} bytes (wire), \
         {history_gzip} gzipped; snapshots {snap_bytes} bytes, {snap_gzip} gzipped",
        got.len(),
        report.visits,
        pulled.len(),
        report.ops
    );
}

#[test]
fn the_command_refuses_a_database_with_operations_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.sqlite3");
    let env = |k: &str| (k == "AIDANT_ADMIN_PASSWORD").then(|| ADMIN_PASSWORD.to_owned());
    let run = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "--db",
            db.to_str().unwrap(),
            "--scale",
            "0.1",
            "--days",
            "2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut out = Vec::new();
        let r = demo_week::cli(args, env, &mut out);
        (r, String::from_utf8(out).unwrap())
    };
    let (r, out) = run(&["--start", "2026-11-16"]);
    r.unwrap();
    assert!(
        out.contains("username admin, the password in AIDANT_ADMIN_PASSWORD"),
        "{out}"
    );
    assert!(out.contains("2026-11-16 to 2026-11-17"), "{out}");
    let (r, _) = run(&[]);
    let e = r.unwrap_err();
    assert!(
        e.contains("already holds 1 operation") && e.contains("--force"),
        "{e}"
    );
    let (r, _) = run(&["--force", "--start", "2026-11-16"]);
    assert!(r.unwrap_err().contains("another --seed"));
    let (r, out) = run(&["--force", "--seed", "2"]);
    r.unwrap();
    assert!(out.contains("your existing admin account"), "{out}");
    let (r, _) = run(&["--scale", "0"]);
    assert!(r.unwrap_err().contains("scale"));
    let (r, _) = run(&["--start", "2026-13-01"]);
    assert!(r.unwrap_err().contains("YYYY-MM-DD"));
    // The admin it made signs in with the given password.
    let srv = Server::start_with(|c| c.db_path = db.clone());
    srv.admin();
    let ops = srv
        .get("/api/v1/operations", Some(&srv.admin()))
        .expect(200);
    assert_eq!(ops.body.as_array().unwrap().len(), 2);
}
