//! One person spoken to at a visit: whether they are a potential victim,
//! their age group, nationality and name (or a description), and, for a
//! potential victim, the forms of exploitation, indicators and the
//! safeguarding the rule asks for (`vocabulary.md`).

use super::generate::Pen;
use super::rng::Rng;
use super::tables::{
    nationality, pick_str, share_male, worker_nationalities, Nationality, CHILD_INDICATORS,
    GENERAL_INDICATORS,
};
use super::BUG;
use sync_core::summary::LocalDate;
use sync_core::{
    AgeGroup, LocationKind, LocationKind as K, Op, PersonField, PersonId, PersonRole, PersonSet,
    SetTarget, Value,
};

/// What one person turned out to be (for the visit's totals).
pub(super) struct Met {
    /// Judged a potential victim.
    pub(super) victim: bool,
    /// Forms of exploitation recorded for them.
    pub(super) exploitation: Vec<&'static str>,
}

/// Who the person is, decided before anything is written.
struct Subject {
    role: PersonRole,
    victim: bool,
    age: AgeGroup,
    male: bool,
    code: &'static str,
    nat: &'static Nationality,
}

impl Subject {
    fn child(&self) -> bool {
        self.age == AgeGroup::Child
    }
}

/// Writes one of the subject's fields and safeguarding actions.
struct Writer<'a> {
    pen: &'a mut Pen,
    ops: &'a mut Vec<Op>,
    p: PersonId,
}

impl Writer<'_> {
    fn set(&mut self, rng: &mut Rng, f: PersonField, value: Value) {
        self.pen.person(rng, self.ops, self.p, f, value);
    }

    fn text(&mut self, rng: &mut Rng, f: PersonField, s: &str) {
        self.set(rng, f, Value::Text(s.to_owned()));
    }

    fn add(&mut self, rng: &mut Rng, set: PersonSet, elem: &str) {
        self.pen
            .add(rng, self.ops, SetTarget::Person(self.p, set), elem);
    }

    fn action(&mut self, rng: &mut Rng, a: &str) {
        self.add(rng, PersonSet::SafeguardingActions, a);
    }
}

/// Records one person on `pen`'s device.
pub(super) fn person(
    rng: &mut Rng,
    pen: &mut Pen,
    ops: &mut Vec<Op>,
    kind: &LocationKind,
    role: PersonRole,
    exploitative: bool,
    date: LocalDate,
) -> Met {
    let p = PersonId(rng.uuid());
    let t = pen.tick(rng);
    ops.push(pen.r.add_person(t, pen.visit, p).expect(BUG).clone());
    let s = judge(rng, kind, role, exploitative);
    let mut w = Writer { pen, ops, p };
    identify(rng, &mut w, &s, date);
    w.text(
        rng,
        PersonField::Gender,
        if s.male { "male" } else { "female" },
    );
    w.text(rng, PersonField::Nationality, s.code);
    w.text(rng, PersonField::Language, s.nat.language);
    let interpreter = s.nat.language != "English" && (s.victim || rng.chance(0.35));
    w.set(rng, PersonField::InterpreterUsed, Value::Bool(interpreter));
    w.text(rng, PersonField::Role, s.role.as_str());
    w.set(rng, PersonField::PotentialVictim, Value::Bool(s.victim));
    let mut exploitation = Vec::new();
    if s.victim {
        exploitation.push(exploited(rng, &mut w, &s, kind));
        safeguard(rng, &mut w, &s);
        if interpreter {
            w.action(rng, "interpreter_used");
        }
    } else if matches!(s.role, PersonRole::Worker | PersonRole::Passenger) && rng.chance(0.3) {
        w.action(rng, "helpline_information_given");
    } else if s.child() && rng.chance(0.5) {
        w.action(rng, "welfare_check");
    }
    Met {
        victim: s.victim,
        exploitation,
    }
}

/// Potential victim or not, age group, nationality and sex.
fn judge(rng: &mut Rng, kind: &LocationKind, role: PersonRole, exploitative: bool) -> Subject {
    // Potential victim? Workers and passengers where exploitation is going
    // on; almost never managers, drivers or customers.
    let victim_p = match (&role, exploitative) {
        (
            PersonRole::Worker | PersonRole::Passenger | PersonRole::Guest | PersonRole::Other,
            true,
        ) => 0.6,
        (PersonRole::Worker | PersonRole::Passenger, false) => 0.012,
        (PersonRole::Guest | PersonRole::Other, false) => 0.02,
        (PersonRole::Driver, true) => 0.05,
        _ => 0.0,
    };
    let victim = rng.chance(victim_p);
    // Age: children are mostly found in hotels, stations and vehicles
    // (sexual and criminal exploitation), rarely at work premises.
    let child_p = match (kind, victim) {
        (K::Hotel | K::TransportHub, true) => 0.6,
        (K::VehicleStop, true) => 0.35,
        (K::NailBar, true) => 0.15,
        (_, true) => 0.08,
        (K::Hotel | K::TransportHub | K::VehicleStop, false) => 0.03,
        _ => 0.005,
    };
    let age = if matches!(role, PersonRole::Driver | PersonRole::ManagerOrOwner) {
        AgeGroup::Adult
    } else if victim && rng.chance(0.05) {
        AgeGroup::Unknown
    } else if rng.chance(child_p) {
        AgeGroup::Child
    } else {
        AgeGroup::Adult
    };
    let child = age == AgeGroup::Child;
    let code = if child && matches!(kind, K::Hotel | K::TransportHub | K::VehicleStop) {
        // Most children found in county lines and sexual exploitation are British.
        *rng.weighted(&[("GB", 70), ("AL", 10), ("VN", 10), ("ER", 5), ("SD", 5)])
    } else if role == PersonRole::Driver {
        *rng.weighted(&[("GB", 60), ("RO", 15), ("AL", 10), ("PL", 10), ("BG", 5)])
    } else {
        *rng.weighted(worker_nationalities(kind))
    };
    let male = if child && matches!(kind, K::TransportHub | K::VehicleStop) {
        rng.chance(0.85)
    } else {
        rng.chance(share_male(kind))
    };
    Subject {
        role,
        victim,
        age,
        male,
        code,
        nat: nationality(code),
    }
}

/// Name (or a description when none is given), age group, and a date of
/// birth from a document seen or an estimated age.
fn identify(rng: &mut Rng, w: &mut Writer, s: &Subject, date: LocalDate) {
    let given = rng.pick(if s.male { s.nat.male } else { s.nat.female });
    let family = rng.pick(s.nat.family);
    if s.age != AgeGroup::Unknown && rng.chance(0.7) {
        w.set(
            rng,
            PersonField::Name,
            Value::Text(format!("{given} {family}")),
        );
    } else {
        let d = format!(
            "{}, {}, {}; declined to give a name",
            if s.male { "Male" } else { "Female" },
            match s.age {
                AgeGroup::Child => "appears 14-17",
                AgeGroup::Adult => "appears 20-40",
                _ => "age unclear",
            },
            rng.pick(&[
                "dark jacket",
                "work overalls",
                "grey hoodie",
                "black tabard"
            ]),
        );
        w.set(rng, PersonField::Description, Value::Text(d));
    }
    w.text(rng, PersonField::AgeGroup, s.age.as_str());
    let years = match s.age {
        AgeGroup::Child => Some(rng.range(13, 17)),
        AgeGroup::Adult => Some(rng.range(19, 58)),
        _ => None,
    };
    if let Some(y) = years {
        if rng.chance(0.4) {
            // Date of birth from a document seen.
            let born = LocalDate::from_days_since_epoch(
                date.days_since_epoch() - y * 365 - rng.range(30, 330),
            );
            w.text(rng, PersonField::DateOfBirth, &born.to_string());
        } else {
            w.set(rng, PersonField::EstimatedAge, Value::Int(y));
        }
    }
}

/// A potential victim's form of exploitation (adults mostly labour,
/// children mostly criminal; about one in nine unknown), county lines and
/// indicators. Returns the form.
fn exploited(rng: &mut Rng, w: &mut Writer, s: &Subject, kind: &LocationKind) -> &'static str {
    let child = s.child();
    let ty: &'static str = if rng.chance(0.11) {
        "unknown"
    } else {
        match (kind, child) {
            (K::Hotel | K::MassageParlour | K::ResidentialBrothel, false) => "sexual",
            (K::Hotel, true) => pick_str(rng, &[("sexual", 50), ("criminal", 50)]),
            (_, true) => pick_str(rng, &[("criminal", 75), ("labour", 25)]),
            (K::CareHome, false) => pick_str(rng, &[("labour", 80), ("domestic_servitude", 20)]),
            (K::NailBar, false) => pick_str(rng, &[("labour", 85), ("sexual", 15)]),
            _ => pick_str(rng, &[("labour", 85), ("criminal", 15)]),
        }
    };
    w.add(rng, PersonSet::ExploitationTypes, ty);
    if child && ty == "criminal" {
        let county_lines = rng.chance(0.7);
        w.set(rng, PersonField::CountyLines, Value::Bool(county_lines));
    }
    let mut pool = GENERAL_INDICATORS.to_vec();
    if child {
        pool.extend_from_slice(CHILD_INDICATORS);
    }
    let k = rng.range(2, 5) as usize;
    for i in rng.sample(&pool, k) {
        w.add(rng, PersonSet::Indicators, i);
    }
    ty
}

/// The rule: a child (or a person whose age is unknown, presumed a child)
/// gets an NRM referral regardless of consent; an adult who consents gets
/// one too; an adult who declines gets a Duty to Notify.
fn safeguard(rng: &mut Rng, w: &mut Writer, s: &Subject) {
    if s.age != AgeGroup::Adult {
        w.text(rng, PersonField::NrmConsent, "not_asked");
        w.action(rng, "nrm_referral");
        w.action(rng, "childrens_services_referral");
        if rng.chance(0.3) {
            w.action(rng, "police_protection_s46");
        }
        if rng.chance(0.5) {
            w.action(rng, "place_of_safety");
        }
    } else if rng.chance(0.62) {
        w.text(rng, PersonField::NrmConsent, "given");
        w.action(rng, "nrm_referral");
        if rng.chance(0.7) {
            w.action(rng, "salvation_army_referral");
        }
        if rng.chance(0.2) {
            w.action(rng, "place_of_safety");
        }
    } else {
        w.text(rng, PersonField::NrmConsent, "declined");
        w.action(rng, "duty_to_notify");
        w.action(rng, "helpline_information_given");
        if rng.chance(0.5) {
            w.action(rng, "signposted_to_support");
        }
        if rng.chance(0.3) {
            w.action(rng, "ngo_support");
        }
    }
}
