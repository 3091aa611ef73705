//! Day summaries and exports through the HTTP API and `aidant export`, on a
//! small fixed data set whose figures are computed by hand below: a visit
//! edited concurrently on two phones (counted once), a voided visit (not
//! counted), a removed person, a force area of the visit's own, and visits
//! either side of midnight on the clock-change days 2026-03-29 (23 h) and
//! 2026-10-25 (25 h) in Europe/London.

use crate::harness::{now_ms, Device, Resp, Server};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use sync_core::summary::{day_summary, LocalDate};
use sync_core::{
    LocationKind, Offence, Op, OperationId, PersonField, PersonId, PersonSet, SetTarget, Target,
    Value, Visit, VisitField, VisitId, VisitSet,
};
use uuid::Uuid;

/// UTC ms of `date` at `h:m` UTC.
fn utc(date: &str, h: i64, m: i64) -> i64 {
    LocalDate::parse(date).unwrap().days_since_epoch() * 86_400_000 + (h * 60 + m) * 60_000
}

/// A visit being recorded on one device.
struct Rec<'a> {
    dev: &'a mut Device,
    id: VisitId,
    ops: Vec<Op>,
}

impl<'a> Rec<'a> {
    fn new(dev: &'a mut Device, op: OperationId, kind: LocationKind, started: i64) -> Self {
        let id = VisitId(Uuid::new_v4());
        let mut ops = dev.replica.create_visit(now_ms(), id, op, kind).unwrap();
        ops.push(
            dev.replica
                .set(
                    now_ms(),
                    id,
                    Target::Visit(VisitField::StartedAt),
                    Value::Time(started),
                )
                .unwrap()
                .clone(),
        );
        Self { dev, id, ops }
    }
    fn on(dev: &'a mut Device, id: VisitId) -> Self {
        Self {
            dev,
            id,
            ops: Vec::new(),
        }
    }
    fn set(&mut self, f: VisitField, v: Value) -> &mut Self {
        let op = self.dev.replica.set(now_ms(), self.id, Target::Visit(f), v);
        self.ops.push(op.unwrap().clone());
        self
    }
    fn text(&mut self, f: VisitField, s: &str) -> &mut Self {
        self.set(f, Value::Text(s.into()))
    }
    fn add(&mut self, s: VisitSet, e: &str) -> &mut Self {
        let op = self
            .dev
            .replica
            .add(now_ms(), self.id, SetTarget::Visit(s), e);
        self.ops.push(op.unwrap().clone());
        self
    }
    fn arrests(&mut self, o: Offence, n: i64) -> &mut Self {
        let op = self
            .dev
            .replica
            .set(now_ms(), self.id, Target::Arrests(o), Value::Int(n));
        self.ops.push(op.unwrap().clone());
        self
    }
    /// A person with `fields` and safeguarding `actions`.
    fn person(&mut self, fields: &[(PersonField, Value)], actions: &[&str]) -> PersonId {
        let p = PersonId(Uuid::new_v4());
        let r = &mut self.dev.replica;
        self.ops
            .push(r.add_person(now_ms(), self.id, p).unwrap().clone());
        for (f, v) in fields {
            let op = r.set(now_ms(), self.id, Target::Person(p, f.clone()), v.clone());
            self.ops.push(op.unwrap().clone());
        }
        for a in actions {
            let t = SetTarget::Person(p, PersonSet::SafeguardingActions);
            self.ops
                .push(r.add(now_ms(), self.id, t, a).unwrap().clone());
        }
        p
    }
    fn push(&mut self, srv: &Server) -> Vec<Op> {
        srv.push_ok(self.dev, &self.ops);
        std::mem::take(&mut self.ops)
    }
}

fn victim(age: &str) -> Vec<(PersonField, Value)> {
    vec![
        (PersonField::PotentialVictim, Value::Bool(true)),
        (PersonField::AgeGroup, Value::Text(age.into())),
    ]
}

const MAI: &str = "Nguyễn Thị Mai";
const JIM: &str = "O'Brien, \"Jim\"\nsecond line";
const PREMISES: &str = "Sparkle Car Wash, Unit 3\nRear yard";

/// The data set, pushed through the API.
struct Fixture {
    srv: Server,
    admin: String,
    sup: String,
    other_sup: String,
    officer: String,
    op: OperationId,
    /// Every op pushed, to rebuild the merged visits here.
    ops: Vec<Op>,
}

fn post_id(srv: &Server, token: &str, path: &str, body: &Json) -> String {
    let r = srv.post(path, Some(token), body).expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

/// An officer of `op` in `team` (or none) with an enrolled device.
fn officer(srv: &Server, admin: &str, name: &str, op: OperationId, team: Option<&str>) -> Device {
    let user = srv.create_user(admin, name, "officer", None);
    srv.post(
        &format!("/api/v1/operations/{op}/members"),
        Some(admin),
        &json!({ "user_id": user, "team_id": team }),
    )
    .expect(204);
    let code = srv.issue_code(admin, user);
    srv.enrol(&code)
}

fn fixture() -> Fixture {
    let srv = Server::start();
    let admin = srv.admin();
    let op = srv.create_operation(&admin, "Aidant <Spring> & Autumn");
    let other = srv.create_operation(&admin, "Elsewhere");
    let (_, sup) = srv.supervisor(&admin, "sup.exports", op);
    let (_, other_sup) = srv.supervisor(&admin, "sup.elsewhere", other);
    let alpha = post_id(
        &srv,
        &admin,
        &format!("/api/v1/operations/{op}/teams"),
        &json!({ "name": "Alpha" }),
    );
    let bravo = post_id(
        &srv,
        &admin,
        &format!("/api/v1/operations/{op}/teams"),
        &json!({ "name": "Bravo" }),
    );
    let mut a = officer(&srv, &admin, "pc.alpha", op, Some(&alpha));
    let mut b = officer(&srv, &admin, "pc.bravo", op, Some(&bravo));
    let mut c = officer(&srv, &admin, "pc.noteam", op, None);
    let mut all = Vec::new();
    let spring = "2026-03-29";

    // V1 (Alpha), 00:30 GMT on the 29th: a car wash; two persons counted
    // (an adult victim referred to the NRM, a worker), one removed child.
    let mut v1 = Rec::new(&mut a, op, LocationKind::CarWash, utc(spring, 0, 30));
    v1.text(VisitField::PremisesName, PREMISES)
        .add(VisitSet::PartnerAgencies, "glaa")
        .add(VisitSet::Officers, "PC 4521")
        .arrests(Offence::ModernSlavery, 1)
        .text(
            VisitField::Summary,
            "Mai was found sleeping in the boiler room.",
        );
    let mut mai = victim("adult");
    mai.push((PersonField::Name, Value::Text(MAI.into())));
    mai.push((PersonField::DateOfBirth, Value::Text("1990-05-01".into())));
    v1.person(&mai, &["nrm_referral"]);
    v1.person(
        &[
            (PersonField::Name, Value::Text(JIM.into())),
            (PersonField::Role, Value::Text("manager_or_owner".into())),
        ],
        &[],
    );
    let mut gone = victim("child");
    gone.push((PersonField::Removed, Value::Bool(true)));
    v1.person(&gone, &["nrm_referral"]);
    all.extend(v1.push(&srv));

    // V2 (Bravo), 22:30 UTC = 23:30 BST, still the 29th: a vehicle stop in
    // Hertfordshire; a child victim, two arrests.
    let mut v2 = Rec::new(&mut b, op, LocationKind::VehicleStop, utc(spring, 22, 30));
    v2.text(VisitField::ForceArea, "Hertfordshire")
        .add(VisitSet::Officers, "PC 0099")
        .arrests(Offence::HumanTrafficking, 2);
    let child = [
        (PersonField::PotentialVictim, Value::Bool(true)),
        (PersonField::EstimatedAge, Value::Int(15)),
    ];
    v2.person(&child, &["childrens_services_referral", "nrm_referral"]);
    all.extend(v2.push(&srv));

    // V3 (Alpha), 23:30 UTC = 00:30 BST on the 30th: a nail bar.
    let mut v3 = Rec::new(&mut a, op, LocationKind::NailBar, utc(spring, 23, 30));
    v3.person(&victim("unknown"), &["duty_to_notify"]);
    all.extend(v3.push(&srv));

    // V4 (no team), 23:30 GMT on the 28th: a hotel.
    let mut v4 = Rec::new(&mut c, op, LocationKind::Hotel, utc("2026-03-28", 23, 30));
    all.extend(v4.push(&srv));

    // V5 (Alpha), the 29th, voided: not counted.
    let mut v5 = Rec::new(&mut a, op, LocationKind::Hotel, utc(spring, 10, 0));
    v5.person(&victim("adult"), &["nrm_referral"]);
    v5.text(VisitField::VoidReason, "entered twice");
    all.extend(v5.push(&srv));

    // V6 (created by Alpha), the 29th: edited on two phones at once.
    let mut v6 = Rec::new(&mut a, op, LocationKind::Hotel, utc(spring, 12, 0));
    let created = v6.push(&srv);
    // The team-less officer works on it once a supervisor shares it with them.
    srv.post(
        &format!("/api/v1/visits/{}/share", v6.id),
        Some(&sup),
        &json!({ "user_id": c.user, "reason": "PC No-team attended too" }),
    )
    .expect(204);
    c.replica.apply(now_ms(), created.clone());
    all.extend(created);
    let id6 = v6.id;
    let mut on_a = Rec::on(&mut a, id6);
    on_a.text(VisitField::PremisesName, "Hotel One")
        .add(VisitSet::Officers, "PC 4521");
    let mut on_c = Rec::on(&mut c, id6);
    on_c.text(VisitField::PremisesName, "Hotel 1");
    on_c.person(&victim("adult"), &["nrm_referral"]);
    all.extend(on_a.push(&srv));
    all.extend(on_c.push(&srv));

    // The autumn change: 00:30 BST on the 25th (23:30 UTC on the 24th),
    // 23:30 GMT on the 25th; 23:59 BST on the 24th; 00:00 GMT on the 26th.
    for (t, kind) in [
        (utc("2026-10-24", 23, 30), LocationKind::CarWash),
        (utc("2026-10-25", 23, 30), LocationKind::CarWash),
        (utc("2026-10-24", 22, 59), LocationKind::Hotel),
        (utc("2026-10-26", 0, 0), LocationKind::Hotel),
    ] {
        all.extend(Rec::new(&mut b, op, kind, t).push(&srv));
    }
    let officer = a.token.clone();
    Fixture {
        srv,
        admin,
        sup,
        other_sup,
        officer,
        op,
        ops: all,
    }
}

impl Fixture {
    fn summary(&self, token: &str, q: &str) -> Resp {
        self.srv.get(
            &format!("/api/v1/operations/{}/summary?{q}", self.op),
            Some(token),
        )
    }

    fn export(&self, token: &str, q: &str) -> Resp {
        self.srv.get(
            &format!("/api/v1/operations/{}/export?{q}", self.op),
            Some(token),
        )
    }

    /// The export's raw bytes (ureq's `into_string` would mangle XLSX).
    fn export_bytes(&self, token: &str, q: &str) -> (Vec<u8>, String) {
        let r = ureq::get(&format!(
            "{}/api/v1/operations/{}/export?{q}",
            self.srv.base, self.op
        ))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("export");
        let id = r.header("x-export-id").unwrap().to_owned();
        let mut bytes = Vec::new();
        r.into_reader().read_to_end(&mut bytes).unwrap();
        (bytes, id)
    }

    /// The merged visits, rebuilt here from every op pushed.
    fn visits(&self) -> Vec<Visit> {
        let mut by_id: std::collections::BTreeMap<VisitId, Visit> = Default::default();
        for op in &self.ops {
            by_id
                .entry(op.visit)
                .or_insert_with(|| Visit::new(op.visit))
                .apply(op);
        }
        by_id.into_values().collect()
    }
}

fn figures(s: &Json) -> Json {
    let mut s = s.clone();
    let o = s.as_object_mut().unwrap();
    o.remove("date");
    o.remove("operation");
    s
}

/// The figures counted by hand for 2026-03-29: V1, V2 and V6 (V5 voided, V3
/// on the 30th, V4 on the 28th).
fn spring_day() -> Json {
    json!({
        "visits": 3,
        "visits_by_kind": { "car_wash": 1, "hotel": 1, "vehicle_stop": 1 },
        "vehicles_stopped": 1,
        "people_spoken_to": 4,
        "potential_victims": { "adult": 2, "child": 1, "unknown": 0 },
        "safeguarded": 3,
        "nrm_referrals": 3,
        "duty_to_notify": 0,
        "arrests_by_offence": { "human_trafficking": 2, "modern_slavery": 1 },
        "partner_agencies": ["glaa"],
        "officers_on_duty": ["PC 0099", "PC 4521"],
        "voided": 1,
        "visits_with_conflicts": 1,
    })
}

#[test]
fn summary_matches_hand_computed_figures() {
    let f = fixture();
    let r = f.summary(&f.sup, "from=2026-03-29").expect(200);
    let b = &r.body;
    assert_eq!(b["operation"]["id"], json!(f.op));
    assert_eq!(
        (&b["from"], &b["to"]),
        (&json!("2026-03-29"), &json!("2026-03-29"))
    );
    assert_eq!(b["provisional"], json!(false));
    assert_eq!(figures(&b["total"]), spring_day());
    assert_eq!(b["days"].as_array().unwrap().len(), 1);
    assert_eq!(figures(&b["days"][0]), spring_day());

    // By team: Alpha made V1 and V6 (and the voided V5), Bravo V2.
    let teams = b["by_team"].as_object().unwrap();
    assert_eq!(teams.keys().collect::<Vec<_>>(), ["Alpha", "Bravo"]);
    assert_eq!(
        (
            &teams["Alpha"]["visits"],
            &teams["Alpha"]["voided"],
            &teams["Alpha"]["people_spoken_to"]
        ),
        (&json!(2), &json!(1), &json!(3))
    );
    assert_eq!(teams["Bravo"]["visits"], json!(1));
    assert_eq!(
        teams["Bravo"]["potential_victims"],
        json!({ "adult": 0, "child": 1, "unknown": 0 })
    );
    // By force area: V2 has its own.
    let areas = b["by_force_area"].as_object().unwrap();
    assert_eq!(areas["Thames Valley"]["visits"], json!(2));
    assert_eq!(areas["Hertfordshire"]["visits"], json!(1));
    assert_eq!(
        areas["Hertfordshire"]["arrests_by_offence"],
        json!({ "human_trafficking": 2 })
    );

    // Three days: the 28th (V4, no team), the 29th, the 30th (V3).
    let r = f
        .summary(&f.admin, "from=2026-03-28&to=2026-03-30")
        .expect(200);
    let visits: Vec<&Json> = r.body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["visits"])
        .collect();
    assert_eq!(visits, [&json!(1), &json!(3), &json!(1)]);
    assert_eq!(r.body["total"]["visits"], json!(5));
    assert_eq!(r.body["total"]["duty_to_notify"], json!(1));
    assert_eq!(r.body["total"]["potential_victims"]["unknown"], json!(1));
    assert_eq!(r.body["by_team"]["(no team)"]["visits"], json!(1));
    assert_eq!(r.body["by_team"]["Alpha"]["visits"], json!(3));

    // Each day is exactly sync-core's day_summary over the merged visits.
    let merged = f.visits();
    for (i, day) in ["2026-03-28", "2026-03-29", "2026-03-30", "2026-10-25"]
        .iter()
        .enumerate()
    {
        let d = LocalDate::parse(day).unwrap();
        let want = serde_json::to_value(day_summary(&merged, Some(f.op), d)).unwrap();
        let got = if i < 3 {
            r.body["days"][i].clone()
        } else {
            f.summary(&f.sup, &format!("from={day}")).expect(200).body["days"][0].clone()
        };
        assert_eq!(got, want, "{day}");
    }
}

#[test]
fn clock_change_days_count_visits_on_the_london_day() {
    let f = fixture();
    // Autumn: the 25th has 25 hours, from 23:00 UTC on the 24th to 00:00 UTC
    // on the 26th; two visits fall in it.
    let r = f
        .summary(&f.sup, "from=2026-10-24&to=2026-10-26")
        .expect(200);
    let visits: Vec<&Json> = r.body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["visits"])
        .collect();
    assert_eq!(visits, [&json!(1), &json!(2), &json!(1)]);
    let dates: Vec<&Json> = r.body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["date"])
        .collect();
    assert_eq!(
        dates,
        [
            &json!("2026-10-24"),
            &json!("2026-10-25"),
            &json!("2026-10-26")
        ]
    );
    // Spring: the 29th has 23 hours; 23:30 UTC is already the 30th.
    let r = f
        .summary(&f.sup, "from=2026-03-29&to=2026-03-30")
        .expect(200);
    assert_eq!(
        r.body["days"][1]["visits_by_kind"],
        json!({ "nail_bar": 1 })
    );
    // The export lists the visits by London day with their local time and offset.
    let r = f
        .export(&f.sup, "from=2026-10-25&format=csv&reason=clock+check")
        .expect(200);
    let mut rd = csv::Reader::from_reader(r.text.trim_start_matches('\u{feff}').as_bytes());
    let starts: Vec<String> = rd.records().map(|x| x.unwrap()[4].to_owned()).collect();
    assert_eq!(
        starts,
        ["2026-10-25T00:30:00+01:00", "2026-10-25T23:30:00+00:00"]
    );
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    let mut rd = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
    let head = rd.headers().unwrap().iter().map(String::from).collect();
    let rows = rd
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (head, rows)
}

#[test]
fn csv_opens_in_a_spreadsheet() {
    let f = fixture();
    let (bytes, _) = f.export_bytes(&f.admin, "from=2026-03-29&format=csv&reason=analysis");
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\r\n"), "CRLF line ends");
    let (head, rows) = csv_rows(&bytes);
    assert_eq!(
        &head[..5],
        ["visit_id", "day", "team", "force_area", "started_at"]
    );
    assert!(
        !head.contains(&"summary".to_owned()),
        "narrative is identifying"
    );
    // V1, V5 (voided, flagged), V6 by start; then V2 at 23:30.
    assert_eq!(rows.len(), 4);
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let v1 = &rows[0];
    assert_eq!(
        v1[col("premises_name")],
        PREMISES,
        "comma and newline survive"
    );
    assert_eq!(v1[col("team")], "Alpha");
    assert_eq!(v1[col("persons")], "2");
    assert_eq!(v1[col("arrests_by_offence")], "modern_slavery: 1");
    assert_eq!(rows[1][col("voided")], "yes");
    assert_eq!(rows[2][col("conflicts")], "1");
    assert_eq!(rows[3][col("force_area")], "Hertfordshire");
    assert!(rows.iter().all(|r| r.len() == head.len()));

    // Persons, with identifying columns (an admin asked).
    let (bytes, _) = f.export_bytes(
        &f.admin,
        "from=2026-03-29&format=csv&table=persons&identifying=true&reason=court+bundle",
    );
    let (head, rows) = csv_rows(&bytes);
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r[col("name")].as_str()).collect();
    assert!(names.contains(&MAI), "non-Latin name: {names:?}");
    assert!(names.contains(&JIM), "quotes, comma and newline: {names:?}");
    assert_eq!(
        rows.len(),
        5,
        "removed person left out; the voided visit's person flagged"
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r[col("visit_voided")] == "yes")
            .count(),
        1
    );
    assert_eq!(
        rows.iter().find(|r| r[col("name")] == MAI).unwrap()[col("date_of_birth")],
        "1990-05-01"
    );

    // A supervisor's persons table has no identifying columns.
    let (bytes, _) = f.export_bytes(&f.sup, "from=2026-03-29&format=csv&table=persons&reason=x");
    let (head, rows) = csv_rows(&bytes);
    for c in ["name", "date_of_birth", "description", "notes"] {
        assert!(!head.contains(&c.to_owned()), "{c}");
    }
    assert_eq!(rows.len(), 5);
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains(MAI) && !text.contains("1990-05-01"));
}

#[test]
fn xlsx_has_summary_visits_and_persons_sheets() {
    use calamine::{Data, Reader, Xlsx};
    let f = fixture();
    let (bytes, _) = f.export_bytes(
        &f.admin,
        "from=2026-03-28&to=2026-03-30&format=xlsx&reason=weekly+return",
    );
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["Summary", "Visits", "Persons"]);
    let summary = book.worksheet_range("Summary").unwrap();
    let find = |label: &str| {
        summary
            .rows()
            .find(|r| r.first() == Some(&Data::String(label.into())))
            .unwrap_or_else(|| panic!("no row {label}"))
            .to_vec()
    };
    assert_eq!(
        find("Operation")[1],
        Data::String("Aidant <Spring> & Autumn".into())
    );
    // Figure, Total, 28th, 29th, 30th.
    let visits = find("Visits");
    assert_eq!(
        &visits[1..5],
        [
            Data::Float(5.0),
            Data::Float(1.0),
            Data::Float(3.0),
            Data::Float(1.0)
        ]
    );
    assert_eq!(find("Potential victims: children")[1], Data::Float(1.0));
    assert_eq!(find("NRM referrals")[1], Data::Float(3.0));
    let visits = book.worksheet_range("Visits").unwrap();
    assert_eq!(visits.height(), 1 + 6, "header and six visits (one voided)");
    assert_eq!(visits.get((0, 0)), Some(&Data::String("visit_id".into())));
    let head: Vec<String> = visits
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let premises = head.iter().position(|h| h == "premises_name").unwrap();
    let persons = head.iter().position(|h| h == "persons").unwrap();
    let v1 = visits
        .rows()
        .find(|r| r[premises] == Data::String(PREMISES.into()))
        .expect("V1 with its premises name as written");
    assert_eq!(v1[persons], Data::Float(2.0));
    let people = book.worksheet_range("Persons").unwrap();
    assert_eq!(people.height(), 1 + 6);
    let head: Vec<String> = people
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert!(
        !head.contains(&"name".to_owned()),
        "identifying columns only when asked"
    );
}

#[test]
fn html_report_is_printable_self_contained_and_escaped() {
    let f = fixture();
    let r = f
        .export(&f.sup, "from=2026-03-29&format=html&reason=briefing")
        .expect(200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment; filename=\"aidant-aidant-spring-autumn-2026-03-29.html\""));
    let html = &r.text;
    assert!(html.contains("Aidant &lt;Spring&gt; &amp; Autumn"));
    assert!(!html.contains("<Spring>"));
    assert_eq!(html.matches("<svg").count(), 4, "four charts");
    for title in [
        "Visits by kind of place",
        "Potential victims by age group",
        "Safeguarding actions",
        "Arrests by offence",
    ] {
        assert!(html.contains(title), "{title}");
    }
    assert!(html.contains("@media print"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    assert!(!html.contains(MAI));
}

#[test]
fn json_export_holds_summary_visits_and_persons() {
    let f = fixture();
    let r = f
        .export(&f.sup, "from=2026-03-29&format=json&reason=check")
        .expect(200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let b = &r.body;
    assert_eq!(figures(&b["summary"]["total"]), spring_day());
    assert_eq!(b["identifying"], json!(false));
    let visits = b["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 4);
    assert_eq!(visits[0]["persons"], json!(2));
    assert_eq!(visits[0]["premises_name"], json!(PREMISES));
    assert!(visits[0].get("summary").is_none());
    let persons = b["persons"].as_array().unwrap();
    assert_eq!(persons.len(), 5);
    assert!(persons.iter().all(|p| p.get("name").is_none()));
}

#[test]
fn roles_decide_who_exports_and_what() {
    let f = fixture();
    let op = f.op;
    let q = "from=2026-03-29&format=csv&reason=r";
    // Officers' phones: 403 on all three (a device token never exports).
    f.summary(&f.officer, "from=2026-03-29")
        .expect_error(403, "session_required");
    f.export(&f.officer, q)
        .expect_error(403, "session_required");
    f.srv
        .get("/api/v1/exports", Some(&f.officer))
        .expect_error(403, "session_required");
    // Identifying columns: admins only.
    f.export(&f.sup, &format!("{q}&identifying=true"))
        .expect_error(403, "forbidden");
    f.export(&f.admin, &format!("{q}&identifying=true"))
        .expect(200);
    // A supervisor of another operation does not see this one.
    f.summary(&f.other_sup, "from=2026-03-29")
        .expect_error(404, "not_found");
    f.export(&f.other_sup, q).expect_error(404, "not_found");
    // Bad input: a stable code, never a 500.
    let nil = Uuid::nil();
    for (path, status, code) in [
        (format!("/api/v1/operations/{op}/export?from=2026-03-29&format=csv"), 422, "reason_required"),
        (format!("/api/v1/operations/{op}/export?from=2026-03-29&format=csv&reason=+"), 422, "reason_required"),
        (format!("/api/v1/operations/{op}/export?from=2026-03-29&format=pdf&reason=r"), 422, "unsupported_format"),
        (format!("/api/v1/operations/{op}/export?from=2026-03-29&reason=r"), 422, "unsupported_format"),
        (format!("/api/v1/operations/{op}/export?from=2026-03-29&format=csv&table=x&reason=r"), 400, "bad_query"),
        (format!("/api/v1/operations/{op}/export?from=2026-03-29&format=csv&reason=r&identifying=yes"), 400, "bad_query"),
        (format!("/api/v1/operations/{op}/summary?from=2026-02-30"), 400, "bad_query"),
        (format!("/api/v1/operations/{op}/summary?from=29/03/2026"), 400, "bad_query"),
        (format!("/api/v1/operations/{op}/summary"), 400, "bad_query"),
        (format!("/api/v1/operations/{op}/summary?from=2026-03-30&to=2026-03-29"), 400, "bad_query"),
        (format!("/api/v1/operations/{op}/summary?from=2026-03-01&to=2026-04-01"), 422, "range_too_long"),
        (format!("/api/v1/operations/{op}/summary?from=2026-03-29&x=1"), 400, "bad_query"),
        (format!("/api/v1/operations/{nil}/summary?from=2026-03-29"), 404, "not_found"),
        (format!("/api/v1/operations/{nil}/export?{q}"), 404, "not_found"),
        ("/api/v1/operations/nope/summary?from=2026-03-29".to_owned(), 400, "bad_path"),
    ] {
        let r = f.srv.get(&path, Some(&f.admin));
        assert_eq!((r.status, r.code()), (status, code), "{path}: {}", r.text);
        r.expect_error(status, code);
    }
    // 31 days is the most.
    f.summary(&f.sup, "from=2026-03-01&to=2026-03-31")
        .expect(200);
}

#[test]
fn exports_are_audited_and_hashed() {
    let f = fixture();
    let q = "from=2026-03-28&to=2026-03-30&format=csv&reason=Weekly+return+to+the+NCA";
    let (bytes, id) = f.export_bytes(&f.sup, q);
    let sha = hex::encode(Sha256::digest(&bytes));
    // The same data and scope give the same bytes, hence the same hash.
    let (again, id2) = f.export_bytes(&f.sup, q);
    assert_eq!(again, bytes);
    assert_ne!(id, id2);

    let list = f.srv.get("/api/v1/exports", Some(&f.sup)).expect(200);
    let row = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == json!(id))
        .unwrap()
        .clone();
    assert_eq!(row["sha256"], json!(sha));
    assert_eq!(row["bytes"], json!(bytes.len()));
    assert_eq!(row["rows"], json!(6));
    assert_eq!(
        (&row["status"], &row["completed"]),
        (&json!("completed"), &json!(true))
    );
    assert_eq!(row["reason"], json!("Weekly return to the NCA"));
    assert_eq!(
        (&row["from"], &row["to"], &row["format"]),
        (&json!("2026-03-28"), &json!("2026-03-30"), &json!("csv"))
    );
    assert_eq!(row["identifying"], json!(false));
    // Another operation's supervisor sees none of them.
    let theirs = f.srv.get("/api/v1/exports", Some(&f.other_sup)).expect(200);
    assert_eq!(theirs.body, json!([]));

    // The audit trail: the request with its reason and scope, then the hash.
    let audit = f
        .srv
        .get("/api/v1/admin/audit?limit=1000", Some(&f.admin))
        .expect(200);
    let entries: Vec<&Json> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"].as_str().is_some_and(|d| d.contains(&id)))
        .collect();
    let create = entries
        .iter()
        .find(|e| e["action"] == json!("export.create"))
        .expect("export.create");
    assert_eq!(create["reason"], json!("Weekly return to the NCA"));
    assert_eq!(create["subject"], json!(format!("operation:{}", f.op)));
    let detail: Json = serde_json::from_str(create["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        detail,
        json!({ "export": id, "operation": f.op, "from": "2026-03-28", "to": "2026-03-30",
                "format": "csv", "content": "visits", "identifying": false })
    );
    let done = entries
        .iter()
        .find(|e| e["action"] == json!("export.complete"))
        .expect("export.complete");
    let detail: Json = serde_json::from_str(done["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["sha256"], json!(sha));
    assert_eq!(done["subject"], json!(format!("export:{id}")));

    // A refused request (identifying from a supervisor) records no export.
    let before = f.srv.count("exports");
    f.export(&f.sup, &format!("{q}&identifying=true"))
        .expect(403);
    assert_eq!(f.srv.count("exports"), before);
}

#[test]
fn a_client_that_disconnects_cancels_the_export() {
    let f = fixture();
    // Enough data that the export cannot fit in socket and channel buffers:
    // 3,000 visits with an 8,000-character narrative each (identifying, so
    // only in an admin's export), about 24 MB of CSV.
    let mut dev = officer(&f.srv, &f.admin, "pc.bulk", f.op, None);
    let narrative = "Long narrative. ".repeat(500);
    let mut batch = Vec::new();
    for i in 0..3_000 {
        let mut v = Rec::new(
            &mut dev,
            f.op,
            LocationKind::CarWash,
            utc("2026-03-31", 9, i % 60),
        );
        v.text(VisitField::Summary, &narrative);
        batch.append(&mut v.ops);
        if batch.len() >= 900 {
            f.srv.push_ok(&dev, &batch);
            batch.clear();
        }
    }
    f.srv.push_ok(&dev, &batch);

    let addr = f.srv.base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /api/v1/operations/{}/export?from=2026-03-31&format=csv&identifying=true&reason=cut+short HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
        f.op, f.admin
    )
    .unwrap();
    let mut first = [0u8; 4096];
    let n = s.read(&mut first).unwrap();
    assert!(std::str::from_utf8(&first[..n])
        .unwrap_or("")
        .starts_with("HTTP/1.1 200"));
    drop(s);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let list = f.srv.get("/api/v1/exports", Some(&f.admin)).expect(200);
        let status = list.body[0]["status"].clone();
        if status == json!("cancelled") {
            assert_eq!(list.body[0]["completed"], json!(false));
            assert_eq!(list.body[0]["sha256"], Json::Null);
            break;
        }
        assert_eq!(status, json!("running"), "{}", list.text);
        assert!(
            std::time::Instant::now() < deadline,
            "the export did not stop"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let audit = f
        .srv
        .get("/api/v1/admin/audit?limit=5", Some(&f.admin))
        .expect(200);
    assert!(audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == json!("export.cancelled")));
}

#[test]
fn the_command_line_exports_the_same_file() {
    let f = fixture();
    let (bytes, _) = f.export_bytes(&f.sup, "from=2026-03-29&format=xlsx&reason=r");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("day.xlsx");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_aidant"))
        .args([
            "export",
            "--operation",
            &f.op.to_string(),
            "--date",
            "2026-03-29",
            "--format",
            "xlsx",
            "-o",
        ])
        .arg(&out)
        .arg("--db")
        .arg(&f.srv.db_path)
        .args(["--reason", "for the gold group"])
        .env("USER", "analyst1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let file = std::fs::read(&out).unwrap();
    assert_eq!(file, bytes, "same code path, same bytes");
    let sha = hex::encode(Sha256::digest(&file));
    assert!(stdout.contains(&format!("sha256 {sha}")), "{stdout}");
    let list = f.srv.get("/api/v1/exports", Some(&f.admin)).expect(200);
    let row = &list.body[0];
    assert_eq!(
        (&row["actor"], &row["reason"], &row["sha256"]),
        (
            &json!("cli:analyst1"),
            &json!("for the gold group"),
            &json!(sha)
        )
    );

    // Errors are plain and leave no file behind.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_aidant"))
        .args([
            "export",
            "--operation",
            &Uuid::nil().to_string(),
            "--date",
            "2026-03-29",
            "--format",
            "csv",
            "-o",
        ])
        .arg(dir.path().join("none.csv"))
        .arg("--db")
        .arg(&f.srv.db_path)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no such operation"));
    assert!(!dir.path().join("none.csv").exists());
}
