//! One visit by the current crew: arrival (the place or the vehicle), the
//! people spoken to, what was seen, partner agencies, arrests and outcomes,
//! the second officer's offline edits (a conflict now and then), then the
//! submit and the sergeant's review. Each step draws from the one seeded
//! stream in a fixed order, so the same seed gives the same ops.

use super::generate::{Generator, Pen};
use super::person::{person, Met};
use super::rng::Rng;
use super::tables::{
    place_indicators, plate, postcode, premises_name, Force, Town, FORCES, STREETS,
};
use super::{DemoVisit, BUG, MINUTE};
use sync_core::summary::LocalDate;
use sync_core::{
    LocationKind, LocationKind as K, Op, PersonRole, Position, SetTarget, Status, Target, Value,
    VisitField, VisitId, VisitSet,
};

/// A visit being written: its ops so far, the lead officer's pen and, when
/// the second officer helps, theirs.
struct Draft {
    kind: LocationKind,
    visit: VisitId,
    force: &'static Force,
    town: &'static Town,
    ops: Vec<Op>,
    a: Pen,
    b: Option<Pen>,
    /// A stopped van carrying workers.
    worker_van: bool,
    /// People in a stopped vehicle.
    occupants: i64,
    /// Ops made on arrival (before the second officer's phone syncs).
    after_arrival: usize,
    /// Whether exploitation is going on here.
    exploitative: bool,
}

impl Draft {
    fn text(&mut self, rng: &mut Rng, f: VisitField, s: &str) {
        self.a.text(rng, &mut self.ops, f, s);
    }

    fn field(&mut self, rng: &mut Rng, f: VisitField, value: Value) {
        self.a.field(rng, &mut self.ops, f, value);
    }

    fn add(&mut self, rng: &mut Rng, set: VisitSet, elem: &str) {
        self.a.add(rng, &mut self.ops, SetTarget::Visit(set), elem);
    }

    /// Whether anything points to exploitation (the place, or a victim found).
    fn suspicious(&self, victims: usize) -> bool {
        self.exploitative || victims > 0
    }
}

impl Generator {
    /// One visit by the current crew, arriving at `t0`, lasting `minutes`.
    pub(super) fn visit(
        &mut self,
        date: LocalDate,
        t0: u64,
        minutes: u64,
        kind: LocationKind,
    ) -> DemoVisit {
        self.count += 1;
        let n = self.count;
        let (team, crew) = (self.team, self.crew);
        let visit = VisitId(self.rng.uuid());
        let lead = 1 + 2 * crew + self.rng.range(0, 1) as usize;
        let second = if lead % 2 == 1 { lead + 1 } else { lead - 1 };
        let voided = n % 211 == 97;
        let conflict = !voided && n % 67 == 31;
        let helped = conflict || self.rng.chance(0.3);
        let team_plan = &self.plan.teams[team];
        let force = FORCES
            .iter()
            .find(|f| f.name == team_plan.force_area)
            .unwrap_or(&FORCES[0]);
        let collars = [
            team_plan.officers[lead - 1].collar.clone(),
            team_plan.officers[second - 1].collar.clone(),
        ];
        let a = Pen {
            r: self.devices[team][lead].replica(),
            t: t0,
            visit,
        };
        let rng = &mut self.rng;
        let mut d = arrive(rng, a, self.plan.operation, n, kind, force);
        for c in &collars {
            d.add(rng, VisitSet::Officers, c);
        }
        place(rng, &mut d);
        // The second officer's phone syncs the start, then works offline.
        d.b = helped.then(|| {
            let mut r = self.devices[team][second].replica();
            r.apply(t0 + 2 * MINUTE, d.ops.iter().cloned());
            Pen {
                r,
                t: t0 + 3 * MINUTE,
                visit,
            }
        });
        d.exploitative = rng.chance(exploitative_p(&d.kind, d.worker_van));
        let roles = people(rng, &d);
        let mut met: Vec<Met> = Vec::with_capacity(roles.len());
        for role in roles {
            let pen = match d.b.as_mut() {
                Some(b) if rng.chance(0.35) => b,
                _ => &mut d.a,
            };
            met.push(person(
                rng,
                pen,
                &mut d.ops,
                &d.kind,
                role,
                d.exploitative,
                date,
            ));
        }
        let victims = met.iter().filter(|m| m.victim).count();
        sightings(rng, &mut d, &met, victims);
        agencies(rng, &mut d);
        let arrests = arrests(rng, &mut d, victims);
        outcomes(rng, &mut d, &met, victims, &arrests);
        second_officer(rng, &mut d);
        if conflict {
            disagree(rng, &mut d);
        }
        self.finish(d, team, lead, second, t0 + minutes * MINUTE, voided)
    }

    /// Ended, voided now and then, submitted (unless still a draft), and
    /// later reviewed by the sergeant from their phone.
    fn finish(
        &mut self,
        mut d: Draft,
        team: usize,
        lead: usize,
        second: usize,
        t_end: u64,
        voided: bool,
    ) -> DemoVisit {
        let rng = &mut self.rng;
        d.a.t = d.a.t.max(t_end - MINUTE);
        d.field(rng, VisitField::EndedAt, Value::Time(t_end as i64));
        if voided {
            let reason = *rng.pick(&[
                "Duplicate: the same stop was recorded on the other officer's phone.",
                "Created in error while showing a colleague the app.",
            ]);
            d.text(rng, VisitField::VoidReason, reason);
        }
        // Submitted at the end, unless the crew is still writing it up late
        // on the last day (or, rarely, forgot).
        let last_day = self.day + 1 == self.opts.days;
        let late = t_end + 4 * 60 * MINUTE > self.horizon;
        let draft = (last_day && late && rng.chance(0.6)) || rng.chance(0.02);
        if !draft {
            d.a.status(
                &mut d.ops,
                t_end + rng.range(1, 20) as u64 * MINUTE,
                Status::Submitted,
            );
        }
        let devices = &mut self.devices[team];
        devices[lead].keep(&d.a.r);
        if let Some(b) = &d.b {
            devices[second].keep(&b.r);
        }
        let (visit, mut ops) = (d.visit, d.ops);
        // The sergeant reviews it later from their phone, once synced.
        let review_at = t_end + rng.range(40, 18 * 60) as u64 * MINUTE;
        if !draft && !voided && review_at + 2 * 60 * MINUTE < self.horizon && rng.chance(0.9) {
            let mut r = devices[0].replica();
            r.apply(review_at, ops.iter().cloned());
            let mut s = Pen {
                r,
                t: review_at,
                visit,
            };
            s.status(&mut ops, review_at, Status::Reviewed);
            devices[0].keep(&s.r);
        }
        DemoVisit { visit, team, ops }
    }
}

/// The visit created at `a.t` (the visit's `n`th), its type, force area and
/// reference.
fn arrive(
    rng: &mut Rng,
    mut a: Pen,
    operation: sync_core::OperationId,
    n: u64,
    kind: LocationKind,
    force: &'static Force,
) -> Draft {
    let (visit, t0) = (a.visit, a.t);
    let mut ops = Vec::with_capacity(64);
    ops.extend(
        a.r.create_visit(t0, visit, operation, kind.clone())
            .expect(BUG),
    );
    let visit_type = match &kind {
        K::VehicleStop => "road_check",
        _ if rng.chance(0.08) => "warrant",
        _ if rng.chance(0.5) => "welfare_engagement",
        _ => "spot_check",
    };
    a.text(rng, &mut ops, VisitField::VisitType, visit_type);
    a.text(rng, &mut ops, VisitField::ForceArea, force.name);
    let reference = format!("{}-AID-{:06}", force.prefix, n);
    a.text(rng, &mut ops, VisitField::Reference, &reference);
    Draft {
        kind,
        visit,
        force,
        town: &force.towns[0],
        ops,
        a,
        b: None,
        worker_van: false,
        occupants: 0,
        after_arrival: 0,
        exploitative: false,
    }
}

/// The town and position, then the vehicle or the premises.
fn place(rng: &mut Rng, d: &mut Draft) {
    d.town = rng.pick(d.force.towns);
    let position = Position {
        lat_e7: d.town.lat_e7 + rng.range(-250_000, 250_000) as i32,
        lon_e7: d.town.lon_e7 + rng.range(-350_000, 350_000) as i32,
        accuracy_m: rng.range(4, 35) as u32,
    };
    d.field(rng, VisitField::Position, Value::Position(position));
    d.worker_van = d.kind == K::VehicleStop && rng.chance(0.08);
    if d.kind == K::VehicleStop {
        vehicle(rng, d);
    } else {
        let name = premises_name(rng, &d.kind);
        d.text(rng, VisitField::PremisesName, &name);
        let street = rng.pick(STREETS);
        let number = rng.range(1, 240);
        let address = format!("{number} {street}, {}", d.town.name);
        d.text(rng, VisitField::Address, &address);
        let pc = postcode(rng, d.town);
        d.text(rng, VisitField::Postcode, &pc);
    }
    d.after_arrival = d.ops.len();
}

/// A stopped vehicle: plate, make and model, colour, power, occupants.
fn vehicle(rng: &mut Rng, d: &mut Draft) {
    let vrm = plate(rng);
    d.text(rng, VisitField::Vrm, &vrm);
    let (make, model) = *rng.pick(if d.worker_van {
        &[
            ("Ford", "Transit"),
            ("Mercedes-Benz", "Sprinter"),
            ("Renault", "Master"),
            ("Vauxhall", "Vivaro"),
        ][..]
    } else {
        &[
            ("Ford", "Focus"),
            ("Volkswagen", "Golf"),
            ("Toyota", "Prius"),
            ("BMW", "3 Series"),
            ("Vauxhall", "Corsa"),
            ("Audi", "A3"),
            ("Citroen", "Berlingo"),
            ("Mercedes-Benz", "C-Class"),
        ][..]
    });
    d.text(rng, VisitField::VehicleMake, make);
    d.text(rng, VisitField::VehicleModel, model);
    let colour = rng.pick(&["White", "Silver", "Black", "Grey", "Blue", "Red"]);
    d.text(rng, VisitField::VehicleColour, colour);
    d.text(rng, VisitField::StopPower, "rta_s163");
    d.occupants = if d.worker_van {
        rng.range(5, 9)
    } else {
        rng.range(1, 4)
    };
    d.field(rng, VisitField::Occupants, Value::Int(d.occupants));
}

/// How likely exploitation is going on at a kind of place (victims cluster).
fn exploitative_p(kind: &LocationKind, worker_van: bool) -> f64 {
    match kind {
        K::CarWash => 0.16,
        K::NailBar => 0.13,
        K::Hotel => 0.14,
        K::VehicleStop => {
            if worker_van {
                0.15
            } else {
                0.01
            }
        }
        K::MassageParlour => 0.25,
        K::ResidentialBrothel => 0.5,
        K::TransportHub => 0.2,
        K::CareHome => 0.12,
        _ => 0.1,
    }
}

/// The roles of the people spoken to.
fn people(rng: &mut Rng, d: &Draft) -> Vec<PersonRole> {
    let mut people: Vec<PersonRole> = Vec::new();
    match d.kind {
        K::VehicleStop => {
            people.push(PersonRole::Driver);
            for _ in 1..d.occupants {
                if d.worker_van || rng.chance(0.45) {
                    people.push(PersonRole::Passenger);
                }
            }
        }
        K::Hotel => {
            people.push(if rng.chance(0.5) {
                PersonRole::Guest
            } else {
                PersonRole::Worker
            });
            if rng.chance(0.4) || d.exploitative {
                people.push(PersonRole::Guest);
            }
        }
        K::TransportHub | K::Other => {
            for _ in 0..rng.range(1, 2) {
                people.push(PersonRole::Other);
            }
        }
        _ => {
            let mean = match d.kind {
                K::CarWash => 3.2,
                K::NailBar => 2.8,
                K::MassageParlour | K::ResidentialBrothel => 1.5,
                K::Construction | K::Agriculture | K::FactoryWarehouse => 3.5,
                _ => 2.0,
            };
            let workers = (rng.poisson(mean - 1.0) + 1).min(9);
            people.extend((0..workers).map(|_| PersonRole::Worker));
            if rng.chance(0.55) {
                people.push(PersonRole::ManagerOrOwner);
            }
        }
    }
    people
}

/// What was seen at the place, and the forms of exploitation found.
fn sightings(rng: &mut Rng, d: &mut Draft, met: &[Met], victims: usize) {
    let visit_indicators = if d.suspicious(victims) {
        rng.range(2, 5)
    } else if rng.chance(0.3) {
        1
    } else {
        0
    } as usize;
    let mut pool: Vec<&str> = place_indicators(&d.kind).to_vec();
    pool.extend_from_slice(&["overcrowded_accommodation", "lives_at_workplace"]);
    for i in rng.sample(&pool, visit_indicators) {
        d.add(rng, VisitSet::Indicators, i);
    }
    let mut types: Vec<&str> = met
        .iter()
        .flat_map(|m| m.exploitation.iter().copied())
        .collect();
    types.sort_unstable();
    types.dedup();
    for ty in types {
        d.add(rng, VisitSet::ExploitationTypes, ty);
    }
}

/// Partner agencies present, each with its chance at this kind of place.
fn agencies(rng: &mut Rng, d: &mut Draft) {
    let agencies: &[(&str, f64)] = match d.kind {
        K::CarWash => &[
            ("immigration_enforcement", 0.45),
            ("glaa", 0.35),
            ("hmrc", 0.15),
            ("local_authority", 0.2),
            ("fire_rescue", 0.1),
        ],
        K::NailBar => &[
            ("immigration_enforcement", 0.4),
            ("local_authority", 0.3),
            ("hmrc", 0.1),
            ("ngo", 0.1),
        ],
        K::Hotel => &[("local_authority", 0.3), ("ngo", 0.15), ("vru", 0.15)],
        K::VehicleStop => &[
            ("dvsa", 0.35),
            ("immigration_enforcement", 0.15),
            ("border_force", 0.05),
            ("rocu", 0.05),
        ],
        K::Construction | K::Agriculture | K::FactoryWarehouse => &[
            ("glaa", 0.5),
            ("hse", 0.4),
            ("immigration_enforcement", 0.3),
        ],
        K::MassageParlour | K::ResidentialBrothel => {
            &[("ngo", 0.4), ("local_authority", 0.3), ("nca", 0.08)]
        }
        K::TransportHub => &[("btp", 0.7), ("vru", 0.2)],
        K::CareHome => &[("local_authority", 0.5), ("immigration_enforcement", 0.3)],
        _ => &[
            ("local_authority", 0.3),
            ("immigration_enforcement", 0.2),
            ("environment_agency", 0.05),
        ],
    };
    for (agency, p) in agencies {
        if rng.chance(*p) {
            d.add(rng, VisitSet::PartnerAgencies, agency);
        }
    }
}

/// The offences arrests are made for, by whether exploitation is suspected
/// and the kind of place.
fn offences(suspicious: bool, kind: &LocationKind) -> &'static [(&'static str, u32)] {
    match (suspicious, kind) {
        (false, K::VehicleStop) => &[
            ("driving", 55),
            ("drug_possession", 20),
            ("drug_supply", 10),
            ("weapon", 5),
            ("theft", 5),
            ("immigration", 5),
        ],
        (true, K::VehicleStop) => &[
            ("human_trafficking", 35),
            ("modern_slavery", 20),
            ("immigration", 25),
            ("drug_supply", 20),
        ],
        (_, K::Hotel | K::TransportHub) => &[
            ("drug_supply", 40),
            ("controlling_prostitution", 20),
            ("human_trafficking", 20),
            ("modern_slavery", 10),
            ("drug_possession", 10),
        ],
        (_, K::MassageParlour | K::ResidentialBrothel) => &[
            ("controlling_prostitution", 50),
            ("modern_slavery", 25),
            ("immigration", 15),
            ("money_laundering", 10),
        ],
        (true, _) => &[
            ("illegal_working", 35),
            ("immigration", 25),
            ("modern_slavery", 25),
            ("money_laundering", 10),
            ("other", 5),
        ],
        (false, _) => &[("illegal_working", 50), ("immigration", 40), ("other", 10)],
    }
}

/// Arrests (offence, how many), recorded on the visit.
fn arrests(rng: &mut Rng, d: &mut Draft, victims: usize) -> Vec<(&'static str, i64)> {
    let suspicious = d.suspicious(victims);
    let arrest_p = match (suspicious, &d.kind) {
        (true, K::VehicleStop) => 0.5,
        (true, _) => 0.35,
        (false, K::VehicleStop) => 0.045,
        (false, _) => 0.02,
    };
    let mut arrests: Vec<(&'static str, i64)> = Vec::new();
    if rng.chance(arrest_p) {
        let offences = offences(suspicious, &d.kind);
        let first = *rng.weighted(offences);
        arrests.push((first, rng.weighted(&[(1, 70), (2, 22), (3, 8)]).to_owned()));
        if rng.chance(0.25) {
            let other = *rng.weighted(offences);
            if other != first {
                arrests.push((other, 1));
            }
        }
    }
    for (offence, count) in &arrests {
        let target = Target::Arrests(sync_core::Offence::parse(offence));
        d.a.set(rng, &mut d.ops, target, Value::Int(*count));
        d.add(rng, VisitSet::Offences, offence);
    }
    arrests
}

/// Notices, intelligence, follow-up, the summary and maybe a note.
fn outcomes(rng: &mut Rng, d: &mut Draft, met: &[Met], victims: usize, arrests: &[(&str, i64)]) {
    let illegal_working = arrests
        .iter()
        .any(|(o, _)| matches!(*o, "illegal_working" | "immigration"));
    if illegal_working && matches!(d.kind, K::CarWash | K::NailBar | K::Takeaway) {
        let notices = rng.range(1, 3);
        d.field(rng, VisitField::CivilPenaltyNotices, Value::Int(notices));
    }
    if d.kind == K::CarWash && d.exploitative && rng.chance(0.2) {
        d.field(rng, VisitField::HseProhibitionNotices, Value::Int(1));
    }
    let intel = d.suspicious(victims) || rng.chance(0.25);
    d.field(rng, VisitField::IntelligenceSubmitted, Value::Bool(intel));
    if intel {
        let number = rng.range(1, 9_999_999);
        let reference = format!("{}-INT-{number:07}", d.force.prefix);
        d.text(rng, VisitField::IntelReference, &reference);
    }
    let follow_up = Value::Bool(d.suspicious(victims));
    d.field(rng, VisitField::FollowUpRequired, follow_up);
    let summary = summary_text(&d.kind, met.len(), victims, arrests);
    d.text(rng, VisitField::Summary, &summary);
    if rng.chance(0.4) || victims > 0 {
        let note = *rng.pick(match (victims > 0, &d.kind) {
            (true, K::VehicleStop) => &[
                "Passengers could not say where they were being taken; driver held their passports.",
                "Rear of van had no seats; workers said they are picked up at 05:00 daily.",
            ][..],
            (true, _) => &[
                "Workers sleep on site; mattresses found in the store room.",
                "Manager answered every question for the staff; interpreter arranged by phone.",
                "Worker said she owes the boss for her travel and cannot leave until it is paid.",
                "Two phones ringing constantly; young person would not give an address.",
            ][..],
            (false, K::VehicleStop) => &[
                "Driver and passengers gave consistent accounts; words of advice given.",
                "Vehicle checks complete, no concerns about the occupants.",
            ][..],
            (false, _) => &[
                "Staff had contracts and payslips; right-to-work checks seen.",
                "Premises clean and staff relaxed; helpline leaflets left in the staff room.",
                "Owner cooperative; records of hours produced on request.",
            ][..],
        });
        d.a.note(rng, &mut d.ops, note);
    }
}

/// The second officer's own contribution, made offline.
fn second_officer(rng: &mut Rng, d: &mut Draft) {
    let Some(b) = d.b.as_mut() else {
        return;
    };
    if rng.chance(0.5) {
        let extra = *rng.pick(&[
            "Checked the rear yard and outbuildings: nobody else on site.",
            "Spoke to the neighbouring business; they see a minibus drop workers off early.",
            "Took photographs of the accommodation for the file.",
            "Gave helpline leaflets in several languages to the staff.",
        ]);
        b.note(rng, &mut d.ops, extra);
    }
    if d.kind != K::VehicleStop && rng.chance(0.3) {
        let i = *rng.pick(place_indicators(&d.kind));
        b.add(rng, &mut d.ops, SetTarget::Visit(VisitSet::Indicators), i);
    }
}

/// Both officers correct the same field offline: a visible conflict.
fn disagree(rng: &mut Rng, d: &mut Draft) {
    if d.b.is_none() {
        return;
    }
    let (field, mine, theirs) = if d.kind == K::VehicleStop {
        if rng.chance(0.5) {
            let vrm = d.ops[..d.after_arrival]
                .iter()
                .find_map(|o| match &o.action {
                    sync_core::Action::Set {
                        target: Target::Visit(VisitField::Vrm),
                        value: Value::Text(s),
                        ..
                    } => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| plate(rng));
            // One misread letter.
            let misread = vrm.replacen('O', "0", 1).replacen('B', "8", 1);
            let misread = if misread == vrm { plate(rng) } else { misread };
            (VisitField::Vrm, Value::Text(vrm), Value::Text(misread))
        } else {
            (
                VisitField::Occupants,
                Value::Int(d.occupants + 1),
                Value::Int((d.occupants - 1).max(1)),
            )
        }
    } else if rng.chance(0.7) {
        let p1 = postcode(rng, d.town);
        let p2 = postcode(rng, d.town);
        (VisitField::Postcode, Value::Text(p1), Value::Text(p2))
    } else {
        let n1 = premises_name(rng, &d.kind);
        let n2 = premises_name(rng, &d.kind);
        (VisitField::PremisesName, Value::Text(n1), Value::Text(n2))
    };
    d.field(rng, field.clone(), mine);
    if let Some(b) = d.b.as_mut() {
        b.field(rng, &mut d.ops, field, theirs);
    }
}

/// The visit's summary line.
fn summary_text(
    kind: &LocationKind,
    people: usize,
    victims: usize,
    arrests: &[(&str, i64)],
) -> String {
    let place = match kind {
        LocationKind::VehicleStop => "Vehicle stopped under s163 RTA".to_owned(),
        k => format!("Visit to {}", k.as_str().replace('_', " ")),
    };
    let arrested: i64 = arrests.iter().map(|(_, n)| n).sum();
    let mut s = format!("{place}. {people} spoken to");
    if victims > 0 {
        s.push_str(&format!(
            "; {victims} potential victim{} identified and safeguarded",
            if victims == 1 { "" } else { "s" }
        ));
    } else {
        s.push_str("; no potential victims identified");
    }
    if arrested > 0 {
        let what: Vec<String> = arrests
            .iter()
            .map(|(o, n)| format!("{n} for {}", o.replace('_', " ")))
            .collect();
        s.push_str(&format!("; arrests: {}", what.join(", ")));
    }
    s.push('.');
    s
}
