//! `aidant demo`: a synthetic but realistic week of action, so a new user sees
//! real-looking summaries at once and benchmarks have data.
//!
//! [`generate`] is pure and deterministic for a seed, and lazy: it yields one
//! visit at a time (the ops of every device that touched it), holding only the
//! plan and each device's last op and clock, so a million visits never sit in
//! memory. Every op is made by a sync-core [`Replica`] whose id is the device
//! of the officer who made it. [`fill`] creates the operation, teams, users,
//! memberships and devices, and stores the ops through the server's normal
//! push path ([`db::sync::push`]) so the derived visit index is right.
//!
//! The proportions follow `shared/domain/realistic-figures.md`: about 5–10%
//! of the people spoken to are judged potential victims; a car wash visit
//! finds about three workers; a road check yields 3–4 potential victims per
//! 100 vehicles; a force-area week is tens of visits a day across a few dozen
//! officers (scale 1), a national week a few thousand a day (scale 100).
//! Safeguarding follows the rule of thumb in `vocabulary.md`: a potential
//! victim who is a child (or whose age is unknown, presumed a child) gets an
//! NRM referral regardless of consent; an adult who consents gets an NRM
//! referral; an adult who declines gets a Duty to Notify instead.
//!
//! Each device's ops are made by a fresh `Replica` per visit that is first
//! handed that device's previous op and clock, so sequence numbers continue
//! without gaps and clocks never go back, without keeping a week of log.

use crate::db::{self, audit::Entry, sync::Incoming, Db, DbError};
use crate::domain::{DeviceId, Operation, Role, Team, TeamId, User, UserId};
use crate::{now_rfc3339, rfc3339_in, secrets};
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use sync_core::summary::{london_day_bounds, london_offset_ms, LocalDate};
use sync_core::{
    AgeGroup, Clock, LocationKind, Op, OperationId, PersonField, PersonId, PersonRole, PersonSet,
    Position, Replica, ReplicaId, SetTarget, Status, Target, Value, Visit, VisitField, VisitId,
    VisitSet,
};
use uuid::Uuid;

const MINUTE: u64 = 60_000;
const BUG: &str = "demo generator made an invalid edit (a bug in demo_week.rs)";

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoOptions {
    /// Same seed, same data.
    pub seed: u64,
    /// First day (Europe/London).
    pub start: LocalDate,
    /// Number of days.
    pub days: u32,
    /// 1.0 = a realistic force-area week (about 60 visits a day across 24
    /// officers); 100.0 = 100 times the visits and officers.
    pub scale: f64,
}

impl Default for DemoOptions {
    /// Seed 1, the Monday of last week (so every day is in the past), 7 days, scale 1.
    fn default() -> Self {
        let today = sync_core::summary::london_date(chrono::Utc::now().timestamp_millis());
        let days = today.days_since_epoch();
        let since_monday = (days + 3).rem_euclid(7); // 1970-01-01 was a Thursday
        Self {
            seed: 1,
            start: LocalDate::from_days_since_epoch(days - since_monday - 7),
            days: 7,
            scale: 1.0,
        }
    }
}

impl DemoOptions {
    /// Checks the options make sense.
    pub fn check(&self) -> Result<(), DemoError> {
        if !(1..=366).contains(&self.days) {
            return Err(DemoError::Options(format!(
                "days must be 1 to 366 (got {})",
                self.days
            )));
        }
        if !self.scale.is_finite() || self.scale <= 0.0 || self.scale > 10_000.0 {
            return Err(DemoError::Options(format!(
                "scale must be more than 0 and at most 10000 (got {})",
                self.scale
            )));
        }
        Ok(())
    }

    fn date(&self, day: u32) -> LocalDate {
        LocalDate::from_days_since_epoch(self.start.days_since_epoch() + i64::from(day))
    }
}

/// One generated visit: every op of every device that touched it, in the order made.
#[derive(Clone, Debug)]
pub struct DemoVisit {
    /// The visit.
    pub visit: VisitId,
    /// Index of the team (in [`DemoPlan::teams`]) that made it.
    pub team: usize,
    /// Its ops: the creating officer's, the second officer's, the sergeant's review.
    pub ops: Vec<Op>,
}

/// A person on the demo's staff, with the device that is their replica.
#[derive(Clone, Debug)]
pub struct DemoStaff {
    /// Device id = sync-core replica id.
    pub device: ReplicaId,
    /// Login name.
    pub username: String,
    /// Shown name, e.g. "PC 4521 Jones".
    pub display_name: String,
    /// Collar number, recorded in visits' `officers`.
    pub collar: String,
}

/// A team: a sergeant and two crews of two.
#[derive(Clone, Debug)]
pub struct DemoTeam {
    /// e.g. "Thames Valley 1".
    pub name: String,
    /// Force area the team works in.
    pub force_area: &'static str,
    /// The sergeant (role supervisor); reviews the team's visits.
    pub supervisor: DemoStaff,
    /// Four officers: crew 0 is officers 0 and 1, crew 1 officers 2 and 3.
    pub officers: Vec<DemoStaff>,
}

/// Who and what [`generate`] uses: deterministic for the options.
#[derive(Clone, Debug)]
pub struct DemoPlan {
    /// The operation's id.
    pub operation: OperationId,
    /// Its name.
    pub name: String,
    /// Its force area ("National" when teams span several forces).
    pub force_area: String,
    /// Teams.
    pub teams: Vec<DemoTeam>,
}

/// The demo could not be made or stored.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Bad options or command line.
    #[error("{0}")]
    Options(String),
    /// The database already holds what the demo would create.
    #[error("{0}")]
    Exists(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// The server refused generated ops (a generator bug).
    #[error("{count} generated op(s) were refused, the first: {first}")]
    Refused {
        /// How many.
        count: usize,
        /// The first refusal.
        first: String,
    },
    /// A password could not be hashed.
    #[error("password hashing: {0}")]
    Password(String),
}

/// What [`fill`] stored.
#[derive(Clone, Debug)]
pub struct DemoReport {
    /// The operation created.
    pub operation: OperationId,
    /// Its name.
    pub operation_name: String,
    /// Visits stored.
    pub visits: usize,
    /// Ops stored.
    pub ops: usize,
    /// Persons recorded.
    pub persons: usize,
    /// Persons judged potential victims.
    pub potential_victims: usize,
    /// Visits left with a conflict to resolve.
    pub conflicts: usize,
    /// Voided visits.
    pub voided: usize,
    /// Visits per status (draft, submitted, reviewed).
    pub by_status: [usize; 3],
    /// Teams.
    pub teams: usize,
    /// Officers (each with one device).
    pub officers: usize,
    /// Supervisors' usernames (each with one device).
    pub supervisors: Vec<String>,
    /// The password every demo supervisor signs in with.
    pub staff_password: String,
    /// First and last day.
    pub days: (LocalDate, LocalDate),
}

// ---------------------------------------------------------------------------
// A small deterministic generator (SplitMix64): no dependency, same stream on
// every platform.

#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1) as u64;
        lo + ((u128::from(self.next()) * u128::from(span)) >> 64) as i64
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.range(0, xs.len() as i64 - 1) as usize]
    }

    fn weighted<'a, T>(&mut self, xs: &'a [(T, u32)]) -> &'a T {
        let total: u32 = xs.iter().map(|(_, w)| w).sum();
        let mut x = self.range(0, i64::from(total) - 1) as u32;
        for (v, w) in xs {
            if x < *w {
                return v;
            }
            x -= w;
        }
        &xs[xs.len() - 1].0
    }

    /// A Poisson count (Knuth's method; means here are small).
    fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            // Normal approximation, for very large scales.
            let u = (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 1.732;
            return (mean + u * mean.sqrt()).round().max(0.0) as u32;
        }
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, self.unit());
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }

    fn uuid(&mut self) -> Uuid {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next().to_le_bytes());
        b[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(b).into_uuid()
    }

    /// `k` distinct items (or all when fewer).
    fn sample<'a>(&mut self, xs: &[&'a str], k: usize) -> Vec<&'a str> {
        let mut pool: Vec<&str> = xs.to_vec();
        let mut out = Vec::new();
        while out.len() < k && !pool.is_empty() {
            let i = self.range(0, pool.len() as i64 - 1) as usize;
            out.push(pool.swap_remove(i));
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Places.

struct Town {
    name: &'static str,
    outward: &'static [&'static str],
    lat_e7: i32,
    lon_e7: i32,
}

struct Force {
    name: &'static str,
    prefix: &'static str,
    towns: &'static [Town],
}

macro_rules! town {
    ($n:literal, [$($o:literal),*], $lat:literal, $lon:literal) => {
        Town { name: $n, outward: &[$($o),*], lat_e7: ($lat * 1e7) as i32, lon_e7: ($lon * 1e7) as i32 }
    };
}

const FORCES: &[Force] = &[
    Force {
        name: "Thames Valley",
        prefix: "TVP",
        towns: &[
            town!("Oxford", ["OX4", "OX3", "OX1"], 51.7348, -1.2166),
            town!("Reading", ["RG1", "RG2", "RG30"], 51.4543, -0.9781),
            town!("Slough", ["SL1", "SL2"], 51.5105, -0.5950),
            town!("Milton Keynes", ["MK9", "MK6", "MK13"], 52.0406, -0.7594),
            town!("High Wycombe", ["HP11", "HP13"], 51.6286, -0.7482),
            town!("Banbury", ["OX16"], 52.0629, -1.3398),
            town!("Aylesbury", ["HP19", "HP20"], 51.8168, -0.8124),
        ],
    },
    Force {
        name: "Hampshire and Isle of Wight",
        prefix: "HAM",
        towns: &[
            town!("Southampton", ["SO14", "SO15"], 50.9097, -1.4044),
            town!("Portsmouth", ["PO1", "PO4"], 50.7989, -1.0912),
            town!("Basingstoke", ["RG21", "RG24"], 51.2665, -1.0924),
        ],
    },
    Force {
        name: "Kent",
        prefix: "KEN",
        towns: &[
            town!("Maidstone", ["ME14", "ME15"], 51.2720, 0.5290),
            town!("Chatham", ["ME4", "ME5"], 51.3800, 0.5270),
            town!("Dartford", ["DA1", "DA2"], 51.4440, 0.2190),
        ],
    },
    Force {
        name: "West Midlands",
        prefix: "WMP",
        towns: &[
            town!("Birmingham", ["B6", "B10", "B19"], 52.4862, -1.8904),
            town!("Wolverhampton", ["WV1", "WV2"], 52.5862, -2.1288),
            town!("Coventry", ["CV1", "CV6"], 52.4068, -1.5197),
        ],
    },
    Force {
        name: "Greater Manchester",
        prefix: "GMP",
        towns: &[
            town!("Manchester", ["M8", "M12", "M40"], 53.4808, -2.2426),
            town!("Oldham", ["OL1", "OL8"], 53.5409, -2.1114),
            town!("Bolton", ["BL1", "BL3"], 53.5769, -2.4282),
        ],
    },
    Force {
        name: "West Yorkshire",
        prefix: "WYP",
        towns: &[
            town!("Leeds", ["LS11", "LS9"], 53.8008, -1.5491),
            town!("Bradford", ["BD3", "BD8"], 53.7950, -1.7594),
            town!("Huddersfield", ["HD1", "HD2"], 53.6458, -1.7850),
        ],
    },
    Force {
        name: "Metropolitan Police",
        prefix: "MPS",
        towns: &[
            town!("Ilford", ["IG1", "IG3"], 51.5590, 0.0741),
            town!("Croydon", ["CR0"], 51.3762, -0.0982),
            town!("Southall", ["UB1", "UB2"], 51.5107, -0.3756),
        ],
    },
    Force {
        name: "Merseyside",
        prefix: "MER",
        towns: &[
            town!("Liverpool", ["L7", "L4", "L8"], 53.4084, -2.9916),
            town!("Birkenhead", ["CH41"], 53.3934, -3.0148),
        ],
    },
];

const STREETS: &[&str] = &[
    "High Street",
    "Station Road",
    "London Road",
    "Church Street",
    "Mill Lane",
    "Victoria Road",
    "Park Road",
    "Bridge Street",
    "Queen Street",
    "Cowley Road",
    "Oxford Road",
    "King Street",
    "Market Place",
    "Commercial Road",
    "Bath Road",
];

const POSTCODE_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXY";
const PLATE_LETTERS: &[u8] = b"ABCDEFGHJKLMNOPRSTUVWXY";

// ---------------------------------------------------------------------------
// People.

struct Nationality {
    code: &'static str,
    language: &'static str,
    male: &'static [&'static str],
    female: &'static [&'static str],
    family: &'static [&'static str],
}

macro_rules! nat {
    ($c:literal, $l:literal, [$($m:literal),*], [$($f:literal),*], [$($s:literal),*]) => {
        Nationality { code: $c, language: $l, male: &[$($m),*], female: &[$($f),*], family: &[$($s),*] }
    };
}

const NATIONALITIES: &[Nationality] = &[
    nat!(
        "GB",
        "English",
        ["Jack", "Liam", "Callum", "Tyler", "Kyle", "Connor", "Reece", "Jordan"],
        ["Chloe", "Jade", "Emily", "Megan", "Leah", "Shannon"],
        [
            "Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Hughes", "Wright",
            "Green"
        ]
    ),
    nat!(
        "AL",
        "Albanian",
        ["Arben", "Besnik", "Dritan", "Erion", "Klodian", "Ardit", "Gentian", "Fatjon"],
        ["Elira", "Mirela", "Anxhela", "Klea"],
        ["Hoxha", "Shehu", "Krasniqi", "Gashi", "Berisha", "Leka", "Dervishi"]
    ),
    nat!(
        "VN",
        "Vietnamese",
        ["Minh", "Tuan", "Hung", "Duc", "Khanh", "Long"],
        ["Lan", "Hoa", "Thu", "Linh", "Mai", "Huong", "Ngoc", "Trang"],
        ["Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang"]
    ),
    nat!(
        "RO",
        "Romanian",
        ["Andrei", "Ionut", "Florin", "Mihai", "Marius", "Catalin"],
        ["Elena", "Ioana", "Andreea", "Roxana", "Bianca"],
        [
            "Popescu",
            "Ionescu",
            "Dumitru",
            "Stan",
            "Constantin",
            "Munteanu"
        ]
    ),
    nat!(
        "ER",
        "Tigrinya",
        ["Tesfay", "Yonas", "Filmon", "Dawit", "Mehari"],
        ["Senait", "Helen", "Luwam"],
        ["Tekle", "Ghebre", "Haile", "Berhane", "Kidane"]
    ),
    nat!(
        "SD",
        "Arabic",
        ["Mohamed", "Ahmed", "Osman", "Abdelrahman", "Mustafa"],
        ["Amira", "Fatima", "Sara"],
        ["Abdalla", "Ibrahim", "Hassan", "Yousif", "Elamin"]
    ),
    nat!(
        "IQ",
        "Kurdish (Sorani)",
        ["Karwan", "Rebwar", "Shwan", "Dilan", "Hawre", "Aram"],
        ["Shilan", "Rozhin"],
        ["Rasul", "Aziz", "Omer", "Hama", "Qadir"]
    ),
    nat!(
        "CN",
        "Mandarin",
        ["Wei", "Jun", "Hao", "Lei"],
        ["Mei", "Li", "Xiu", "Ying", "Fang"],
        ["Wang", "Zhang", "Chen", "Liu", "Zhao"]
    ),
    nat!(
        "TH",
        "Thai",
        ["Somchai", "Anan"],
        ["Ploy", "Nok", "Malee", "Sunee"],
        ["Saelim", "Wongsa", "Boonmee"]
    ),
    nat!(
        "PL",
        "Polish",
        ["Piotr", "Tomasz", "Krzysztof", "Pawel"],
        ["Anna", "Kasia"],
        ["Nowak", "Kowalski", "Wisniewski"]
    ),
    nat!(
        "BG",
        "Bulgarian",
        ["Georgi", "Ivan", "Dimitar"],
        ["Maria", "Desislava"],
        ["Ivanov", "Petrov", "Georgiev"]
    ),
    nat!(
        "UA",
        "Ukrainian",
        ["Oleksandr", "Andriy", "Serhiy"],
        ["Olena", "Iryna"],
        ["Shevchenko", "Bondarenko", "Kovalenko"]
    ),
    nat!(
        "AF",
        "Pashto",
        ["Ahmad", "Noor", "Wali", "Rahim"],
        ["Zarghuna"],
        ["Khan", "Safi", "Ahmadzai"]
    ),
    nat!(
        "IN",
        "Hindi",
        ["Rahul", "Amit", "Sandeep"],
        ["Priya", "Anjali", "Sunita"],
        ["Sharma", "Patel", "Singh"]
    ),
    nat!(
        "NG",
        "English",
        ["Chinedu", "Emeka", "Tunde"],
        ["Blessing", "Ngozi", "Funmi"],
        ["Okafor", "Adeyemi", "Okonkwo"]
    ),
    nat!(
        "ZW",
        "English",
        ["Tendai", "Farai"],
        ["Rudo", "Chipo", "Tatenda"],
        ["Moyo", "Ncube", "Dube"]
    ),
    nat!(
        "PH",
        "Tagalog",
        ["Jose", "Mark"],
        ["Maricel", "Joy", "Rowena"],
        ["Santos", "Reyes", "Cruz"]
    ),
    nat!(
        "HU",
        "Hungarian",
        ["Laszlo", "Zoltan"],
        ["Eszter", "Katalin"],
        ["Nagy", "Kovacs", "Toth"]
    ),
    nat!(
        "BR",
        "Portuguese",
        ["Lucas"],
        ["Juliana", "Camila"],
        ["Silva", "Souza"]
    ),
];

fn nationality(code: &str) -> &'static Nationality {
    NATIONALITIES
        .iter()
        .find(|n| n.code == code)
        .unwrap_or(&NATIONALITIES[0])
}

/// Nationality weights of workers, by kind of place.
fn worker_nationalities(kind: &LocationKind) -> &'static [(&'static str, u32)] {
    use LocationKind as K;
    match kind {
        K::CarWash => &[
            ("AL", 30),
            ("RO", 18),
            ("IQ", 16),
            ("GB", 6),
            ("VN", 4),
            ("ER", 8),
            ("SD", 8),
            ("AF", 6),
            ("BG", 4),
        ],
        K::NailBar => &[
            ("VN", 70),
            ("GB", 10),
            ("CN", 6),
            ("RO", 6),
            ("AL", 4),
            ("TH", 4),
        ],
        K::Hotel | K::TransportHub => &[
            ("GB", 55),
            ("AL", 10),
            ("RO", 10),
            ("VN", 5),
            ("PL", 5),
            ("NG", 5),
            ("ER", 5),
            ("SD", 5),
        ],
        K::MassageParlour | K::ResidentialBrothel => &[
            ("CN", 25),
            ("TH", 20),
            ("RO", 25),
            ("HU", 10),
            ("BR", 10),
            ("AL", 10),
        ],
        K::VehicleStop => &[
            ("GB", 40),
            ("RO", 15),
            ("AL", 12),
            ("PL", 8),
            ("BG", 6),
            ("UA", 5),
            ("ER", 5),
            ("SD", 5),
            ("IQ", 4),
        ],
        K::CareHome => &[("IN", 30), ("ZW", 25), ("NG", 25), ("PH", 20)],
        K::Takeaway => &[("CN", 30), ("VN", 25), ("GB", 15), ("AF", 15), ("IQ", 15)],
        _ => &[
            ("RO", 25),
            ("BG", 15),
            ("AL", 15),
            ("GB", 15),
            ("UA", 10),
            ("PL", 10),
            ("ER", 5),
            ("SD", 5),
        ],
    }
}

fn share_male(kind: &LocationKind) -> f64 {
    use LocationKind as K;
    match kind {
        K::NailBar => 0.2,
        K::MassageParlour | K::ResidentialBrothel => 0.05,
        K::CareHome => 0.3,
        K::Hotel => 0.55,
        _ => 0.9,
    }
}

// Indicators, general groups.
const GENERAL_INDICATORS: &[&str] = &[
    "withdrawn_fearful_anxious",
    "same_clothes_daily",
    "sleep_deprived",
    "under_control_of_others",
    "third_party_speaks_for_them",
    "scripted_answers",
    "unfamiliar_with_area",
    "no_id_documents",
    "few_possessions",
    "documents_held_by_other",
    "cannot_leave_freely",
    "fear_of_police",
    "fear_of_deportation",
    "debt_to_employer",
    "little_or_no_pay",
    "deductions_for_food_or_housing",
    "no_control_of_money",
    "lives_at_workplace",
    "overcrowded_accommodation",
    "avoids_eye_contact",
];
const CHILD_INDICATORS: &[&str] = &[
    "cl_out_of_area",
    "cl_travel_in_school_hours_or_late",
    "cl_older_controlling_associates",
    "cl_multiple_phones",
    "cl_unexplained_cash_or_goods",
    "cl_missing_episodes",
];

fn place_indicators(kind: &LocationKind) -> &'static [&'static str] {
    use LocationKind as K;
    match kind {
        K::CarWash => &[
            "cw_no_protective_clothing",
            "cw_unsafe_facilities",
            "cw_many_workers_per_car_low_price",
            "cw_cash_only_no_receipts",
            "cw_onsite_accommodation",
            "cw_workers_defer_to_supervisor",
            "cw_no_contract_or_payslips",
        ],
        K::NailBar => &[
            "nb_prices_too_low",
            "nb_cash_only",
            "nb_staff_not_handling_money",
            "nb_high_staff_turnover",
            "nb_lives_on_or_above_premises",
            "nb_long_hours_seven_days",
        ],
        K::Hotel => &[
            "ht_pays_cash_refuses_card",
            "ht_no_luggage_or_id",
            "ht_local_address_guest",
            "ht_booking_name_differs",
            "ht_refuses_housekeeping",
            "ht_many_short_visitors",
            "ht_many_phones",
            "ht_adult_services_advert",
        ],
        K::VehicleStop => &[
            "vs_many_workers_as_passengers",
            "vs_early_morning_worker_transport",
            "vs_passengers_unsure_of_destination",
            "vs_driver_holds_passengers_documents",
            "vs_transfer_between_vehicles",
        ],
        K::TransportHub => &["cl_out_of_area", "cl_travel_in_school_hours_or_late"],
        _ => &[
            "no_protective_equipment",
            "many_people_one_address",
            "service_suspiciously_cheap",
            "dropped_off_collected_at_odd_hours",
        ],
    }
}

// ---------------------------------------------------------------------------
// The plan: operation, teams, staff.

const SURNAMES: &[&str] = &[
    "Jones", "Singh", "Patel", "Williams", "Taylor", "Davies", "Evans", "Thomas", "Roberts",
    "Khan", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green",
    "Hall", "Wood", "Harris", "Lewis", "Martin", "Jackson", "Clarke", "Clark", "Turner", "Hill",
    "Scott", "Cooper", "Morris", "Ward", "Moore", "King", "Watson", "Baker", "Harrison", "Morgan",
    "Okoye", "Begum", "Nowak", "Ahmed", "Murphy", "Kelly", "Campbell", "Mitchell",
];

/// Number of teams at a scale: six at scale 1 (24 officers and 6 sergeants).
fn team_count(scale: f64) -> usize {
    ((6.0 * scale).round() as usize).max(1)
}

/// The operation, teams and staff [`generate`] uses for these options.
pub fn plan(opts: &DemoOptions) -> DemoPlan {
    let mut rng = Rng::new(opts.seed, 1);
    let teams = team_count(opts.scale);
    let forces = if opts.scale < 3.0 {
        1
    } else {
        FORCES.len().min(teams)
    };
    let mut collars = std::collections::BTreeSet::new();
    let mut staff = |rng: &mut Rng, rank: &str, prefix: &str| {
        let collar = loop {
            let c = rng.range(1000, 9999 + 10_000 * (teams as i64 / 1500));
            if collars.insert(c) {
                break c.to_string();
            }
        };
        let surname = rng.pick(SURNAMES);
        DemoStaff {
            device: ReplicaId(rng.uuid()),
            username: format!("{prefix}{collar}"),
            display_name: format!("{rank} {collar} {surname}"),
            collar,
        }
    };
    let mut per_force = vec![0usize; forces];
    let teams = (0..teams)
        .map(|i| {
            let f = i % forces;
            per_force[f] += 1;
            let force = &FORCES[f];
            DemoTeam {
                name: format!("{} {}", force.name, per_force[f]),
                force_area: force.name,
                supervisor: staff(&mut rng, "PS", "ps"),
                officers: (0..4).map(|_| staff(&mut rng, "PC", "pc")).collect(),
            }
        })
        .collect();
    let force_area = if forces == 1 {
        FORCES[0].name.to_owned()
    } else {
        "National".to_owned()
    };
    DemoPlan {
        operation: OperationId(rng.uuid()),
        name: format!(
            "Operation Aidant — labour exploitation week ({force_area}, from {})",
            opts.start
        ),
        force_area,
        teams,
    }
}

// ---------------------------------------------------------------------------
// The generator.

/// A device's state between visits: how far it has numbered its ops (to
/// continue its sequence) and its clock.
#[derive(Clone, Debug)]
struct DeviceState {
    id: ReplicaId,
    last_seq: u64,
    clock: Clock,
}

impl DeviceState {
    fn new(id: ReplicaId) -> Self {
        Self {
            id,
            last_seq: 0,
            clock: Clock::default(),
        }
    }

    /// A replica that continues this device's log.
    fn replica(&self) -> Replica {
        Replica::resume(self.id, self.clock.clone(), self.last_seq)
    }

    fn keep(&mut self, r: &Replica) {
        self.last_seq = self.last_seq.max(r.next_seq() - 1);
        self.clock = r.clock().clone();
    }
}

/// A replica writing one visit, with its own running time.
struct Pen {
    r: Replica,
    t: u64,
    visit: VisitId,
}

impl Pen {
    fn tick(&mut self, rng: &mut Rng) -> u64 {
        self.t += rng.range(4_000, 40_000) as u64;
        self.t
    }

    fn set(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, target: Target, value: Value) {
        let t = self.tick(rng);
        ops.push(self.r.set(t, self.visit, target, value).expect(BUG).clone());
    }

    fn field(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, f: VisitField, value: Value) {
        self.set(rng, ops, Target::Visit(f), value);
    }

    fn text(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, f: VisitField, s: &str) {
        self.field(rng, ops, f, Value::Text(s.to_owned()));
    }

    fn person(
        &mut self,
        rng: &mut Rng,
        ops: &mut Vec<Op>,
        p: PersonId,
        f: PersonField,
        value: Value,
    ) {
        self.set(rng, ops, Target::Person(p, f), value);
    }

    fn add(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, set: SetTarget, elem: &str) {
        let t = self.tick(rng);
        ops.push(self.r.add(t, self.visit, set, elem).expect(BUG).clone());
    }

    fn note(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, text: &str) {
        let t = self.tick(rng);
        ops.push(self.r.note(t, self.visit, text).expect(BUG).clone());
    }

    fn status(&mut self, ops: &mut Vec<Op>, at: u64, status: Status) {
        self.t = self.t.max(at);
        ops.push(
            self.r
                .set_status(self.t, self.visit, status)
                .expect(BUG)
                .clone(),
        );
    }
}

/// The lazy generator behind [`generate`].
struct Generator {
    opts: DemoOptions,
    plan: DemoPlan,
    rng: Rng,
    /// Per team: the sergeant's device, then the four officers'.
    devices: Vec<[DeviceState; 5]>,
    day: u32,
    team: usize,
    crew: usize,
    done: bool,
    out: VecDeque<DemoVisit>,
    /// Visits made so far (picks the few voided and conflicting ones).
    count: u64,
    /// End of the last day (UTC ms): nothing is reviewed after it.
    horizon: u64,
}

/// Every visit of the demo, lazily, in the order made (day, team, crew, time).
/// Pure and deterministic for `opts`.
pub fn generate(opts: &DemoOptions) -> impl Iterator<Item = DemoVisit> {
    let plan = plan(opts);
    let devices = plan
        .teams
        .iter()
        .map(|t| {
            [
                DeviceState::new(t.supervisor.device),
                DeviceState::new(t.officers[0].device),
                DeviceState::new(t.officers[1].device),
                DeviceState::new(t.officers[2].device),
                DeviceState::new(t.officers[3].device),
            ]
        })
        .collect();
    let last = opts.date(opts.days.saturating_sub(1));
    Generator {
        opts: opts.clone(),
        plan,
        rng: Rng::new(opts.seed, 2),
        devices,
        day: 0,
        team: 0,
        crew: 0,
        done: opts.check().is_err(),
        out: VecDeque::new(),
        count: 0,
        horizon: london_day_bounds(last).1 as u64,
    }
}

impl Iterator for Generator {
    type Item = DemoVisit;

    fn next(&mut self) -> Option<DemoVisit> {
        loop {
            if let Some(v) = self.out.pop_front() {
                return Some(v);
            }
            if self.done {
                return None;
            }
            self.crew_day();
            self.crew += 1;
            if self.crew == 2 {
                self.crew = 0;
                self.team += 1;
                if self.team == self.plan.teams.len() {
                    self.team = 0;
                    self.day += 1;
                    self.done = self.day >= self.opts.days;
                }
            }
        }
    }
}

/// The kind of shift a crew works on a day.
#[derive(Clone, Copy, PartialEq)]
enum Shift {
    /// 05:30–12:00: road checks of early worker transport, car washes opening.
    Early,
    /// 09:00–18:30: premises.
    Day,
    /// 15:00–23:45: hotels, massage parlours, takeaways, vehicle stops.
    Late,
}

/// A UTC instant for a local (Europe/London) time on `date`.
fn local_time(date: LocalDate, minutes: u64) -> u64 {
    let (start, end) = london_day_bounds(date);
    let guess = start + (minutes * MINUTE) as i64;
    let t = guess - (london_offset_ms(guess) - london_offset_ms(start));
    t.clamp(start, end - 1) as u64
}

/// What one person turned out to be (for the visit's totals).
struct Met {
    victim: bool,
    exploitation: Vec<&'static str>,
}

impl Generator {
    fn crew_day(&mut self) {
        let date = self.opts.date(self.day);
        let weekday = (date.days_since_epoch() + 3).rem_euclid(7); // 0 = Monday
        let day_factor = match weekday {
            5 => 0.85,
            6 => 0.65,
            _ => 1.0,
        };
        let teams = self.plan.teams.len() as f64;
        let mean = 60.0 * self.opts.scale * day_factor / (2.0 * teams);
        let shift = *self
            .rng
            .weighted(&[(Shift::Early, 15), (Shift::Day, 60), (Shift::Late, 25)]);
        let (from, until) = match shift {
            Shift::Early => (330 + self.rng.range(0, 45) as u64, 12 * 60),
            Shift::Day => (8 * 60 + 40 + self.rng.range(0, 80) as u64, 18 * 60 + 30),
            Shift::Late => (15 * 60 + self.rng.range(0, 90) as u64, 23 * 60 + 45),
        };
        // A road check: a run of quick vehicle stops.
        let road_check = shift == Shift::Early && self.rng.chance(0.6);
        let n = self.rng.poisson(if road_check { mean * 1.6 } else { mean });
        let horizon = local_time(date, until);
        let mut t = local_time(date, from);
        for _ in 0..n {
            let kind = if road_check && self.rng.chance(0.9) {
                LocationKind::VehicleStop
            } else {
                self.kind_for(shift)
            };
            let minutes = match kind {
                LocationKind::VehicleStop => self.rng.range(10, 25),
                LocationKind::Hotel => self.rng.range(25, 60),
                _ => self.rng.range(30, 75),
            } as u64;
            if t + minutes * MINUTE > horizon {
                break;
            }
            let v = self.visit(date, t, minutes, kind);
            self.out.push_back(v);
            let travel = if road_check {
                self.rng.range(2, 8)
            } else {
                self.rng.range(10, 35)
            } as u64;
            t += (minutes + travel) * MINUTE;
        }
    }

    fn kind_for(&mut self, shift: Shift) -> LocationKind {
        use LocationKind as K;
        let table: &[(K, u32)] = match shift {
            Shift::Early => &[
                (K::VehicleStop, 55),
                (K::CarWash, 20),
                (K::Construction, 10),
                (K::Agriculture, 8),
                (K::FactoryWarehouse, 7),
            ],
            Shift::Day => &[
                (K::CarWash, 30),
                (K::NailBar, 22),
                (K::VehicleStop, 18),
                (K::Hotel, 8),
                (K::Construction, 4),
                (K::Takeaway, 3),
                (K::FactoryWarehouse, 3),
                (K::Agriculture, 3),
                (K::CareHome, 3),
                (K::MassageParlour, 2),
                (K::TransportHub, 2),
                (K::Other, 2),
            ],
            Shift::Late => &[
                (K::Hotel, 36),
                (K::VehicleStop, 24),
                (K::MassageParlour, 12),
                (K::Takeaway, 10),
                (K::ResidentialBrothel, 6),
                (K::TransportHub, 6),
                (K::NailBar, 6),
            ],
        };
        self.rng.weighted(table).clone()
    }

    /// One visit by the current crew, arriving at `t0`, lasting `minutes`.
    fn visit(&mut self, date: LocalDate, t0: u64, minutes: u64, kind: LocationKind) -> DemoVisit {
        use LocationKind as K;
        self.count += 1;
        let n = self.count;
        let team = self.team;
        let crew = self.crew;
        let visit = VisitId(self.rng.uuid());
        let lead = 1 + 2 * crew + self.rng.range(0, 1) as usize;
        let second = if lead % 2 == 1 { lead + 1 } else { lead - 1 };
        let voided = n % 211 == 97;
        let conflict = !voided && n % 67 == 31;
        let helped = conflict || self.rng.chance(0.3);
        let rng = &mut self.rng;
        let team_plan = &self.plan.teams[team];
        let force = FORCES
            .iter()
            .find(|f| f.name == team_plan.force_area)
            .unwrap_or(&FORCES[0]);
        let collars = [
            team_plan.officers[lead - 1].collar.clone(),
            team_plan.officers[second - 1].collar.clone(),
        ];
        let devices = &mut self.devices[team];
        let mut ops = Vec::with_capacity(64);
        let mut a = Pen {
            r: devices[lead].replica(),
            t: t0,
            visit,
        };
        ops.extend(
            a.r.create_visit(t0, visit, self.plan.operation, kind.clone())
                .expect(BUG),
        );
        let visit_type = match kind {
            K::VehicleStop => "road_check",
            _ if rng.chance(0.08) => "warrant",
            _ if rng.chance(0.5) => "welfare_engagement",
            _ => "spot_check",
        };
        a.text(rng, &mut ops, VisitField::VisitType, visit_type);
        a.text(rng, &mut ops, VisitField::ForceArea, force.name);
        a.text(
            rng,
            &mut ops,
            VisitField::Reference,
            &format!("{}-AID-{:06}", force.prefix, n),
        );
        for c in &collars {
            a.add(rng, &mut ops, SetTarget::Visit(VisitSet::Officers), c);
        }
        let town = rng.pick(force.towns);
        let position = Position {
            lat_e7: town.lat_e7 + rng.range(-250_000, 250_000) as i32,
            lon_e7: town.lon_e7 + rng.range(-350_000, 350_000) as i32,
            accuracy_m: rng.range(4, 35) as u32,
        };
        a.field(
            rng,
            &mut ops,
            VisitField::Position,
            Value::Position(position),
        );
        // Vehicle or premises.
        let mut occupants = 0;
        let worker_van = kind == K::VehicleStop && rng.chance(0.08);
        if kind == K::VehicleStop {
            let vrm = plate(rng);
            a.text(rng, &mut ops, VisitField::Vrm, &vrm);
            let (make, model) = *rng.pick(if worker_van {
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
            a.text(rng, &mut ops, VisitField::VehicleMake, make);
            a.text(rng, &mut ops, VisitField::VehicleModel, model);
            let colour = rng.pick(&["White", "Silver", "Black", "Grey", "Blue", "Red"]);
            a.text(rng, &mut ops, VisitField::VehicleColour, colour);
            a.text(rng, &mut ops, VisitField::StopPower, "rta_s163");
            occupants = if worker_van {
                rng.range(5, 9)
            } else {
                rng.range(1, 4)
            };
            a.field(rng, &mut ops, VisitField::Occupants, Value::Int(occupants));
        } else {
            let name = premises_name(rng, &kind);
            a.text(rng, &mut ops, VisitField::PremisesName, &name);
            let street = rng.pick(STREETS);
            let number = rng.range(1, 240);
            a.text(
                rng,
                &mut ops,
                VisitField::Address,
                &format!("{number} {street}, {}", town.name),
            );
            let pc = postcode(rng, town);
            a.text(rng, &mut ops, VisitField::Postcode, &pc);
        }
        let after_arrival = ops.len();

        // The second officer's phone syncs the start, then works offline.
        let mut b = helped.then(|| {
            let mut r = devices[second].replica();
            r.apply(t0 + 2 * MINUTE, ops.iter().cloned());
            Pen {
                r,
                t: t0 + 3 * MINUTE,
                visit,
            }
        });

        // Is exploitation going on here? Victims cluster in such places.
        let exploitative_p = match kind {
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
        };
        let exploitative = rng.chance(exploitative_p);

        // People spoken to: (role, count).
        let mut people: Vec<PersonRole> = Vec::new();
        match kind {
            K::VehicleStop => {
                people.push(PersonRole::Driver);
                for _ in 1..occupants {
                    if worker_van || rng.chance(0.45) {
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
                if rng.chance(0.4) || exploitative {
                    people.push(PersonRole::Guest);
                }
            }
            K::TransportHub | K::Other => {
                for _ in 0..rng.range(1, 2) {
                    people.push(PersonRole::Other);
                }
            }
            _ => {
                let mean = match kind {
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
        let mut met = Vec::new();
        for role in people {
            let pen = match b.as_mut() {
                Some(b) if rng.chance(0.35) => b,
                _ => &mut a,
            };
            met.push(person(rng, pen, &mut ops, &kind, role, exploitative, date));
        }
        let victims = met.iter().filter(|m| m.victim).count();

        // What was seen at the place.
        let visit_indicators = if exploitative || victims > 0 {
            rng.range(2, 5)
        } else if rng.chance(0.3) {
            1
        } else {
            0
        } as usize;
        let mut pool: Vec<&str> = place_indicators(&kind).to_vec();
        pool.extend_from_slice(&["overcrowded_accommodation", "lives_at_workplace"]);
        for i in rng.sample(&pool, visit_indicators) {
            a.add(rng, &mut ops, SetTarget::Visit(VisitSet::Indicators), i);
        }
        let mut types: Vec<&str> = met
            .iter()
            .flat_map(|m| m.exploitation.iter().copied())
            .collect();
        types.sort_unstable();
        types.dedup();
        for ty in types {
            a.add(
                rng,
                &mut ops,
                SetTarget::Visit(VisitSet::ExploitationTypes),
                ty,
            );
        }

        // Partner agencies.
        let agencies: &[(&str, f64)] = match kind {
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
                a.add(
                    rng,
                    &mut ops,
                    SetTarget::Visit(VisitSet::PartnerAgencies),
                    agency,
                );
            }
        }

        // Arrests.
        let arrest_p = match (exploitative || victims > 0, &kind) {
            (true, K::VehicleStop) => 0.5,
            (true, _) => 0.35,
            (false, K::VehicleStop) => 0.045,
            (false, _) => 0.02,
        };
        let mut arrests: Vec<(&str, i64)> = Vec::new();
        if rng.chance(arrest_p) {
            let offences: &[(&str, u32)] = match (exploitative || victims > 0, &kind) {
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
            };
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
            a.set(
                rng,
                &mut ops,
                Target::Arrests(sync_core::Offence::parse(offence)),
                Value::Int(*count),
            );
            a.add(rng, &mut ops, SetTarget::Visit(VisitSet::Offences), offence);
        }
        let illegal_working = arrests
            .iter()
            .any(|(o, _)| matches!(*o, "illegal_working" | "immigration"));
        if illegal_working && matches!(kind, K::CarWash | K::NailBar | K::Takeaway) {
            let notices = rng.range(1, 3);
            a.field(
                rng,
                &mut ops,
                VisitField::CivilPenaltyNotices,
                Value::Int(notices),
            );
        }
        if kind == K::CarWash && exploitative && rng.chance(0.2) {
            a.field(
                rng,
                &mut ops,
                VisitField::HseProhibitionNotices,
                Value::Int(1),
            );
        }
        let intel = exploitative || victims > 0 || rng.chance(0.25);
        a.field(
            rng,
            &mut ops,
            VisitField::IntelligenceSubmitted,
            Value::Bool(intel),
        );
        if intel {
            let number = rng.range(1, 9_999_999);
            a.text(
                rng,
                &mut ops,
                VisitField::IntelReference,
                &format!("{}-INT-{number:07}", force.prefix),
            );
        }
        a.field(
            rng,
            &mut ops,
            VisitField::FollowUpRequired,
            Value::Bool(exploitative || victims > 0),
        );
        let summary = summary_text(&kind, met.len(), victims, &arrests);
        a.text(rng, &mut ops, VisitField::Summary, &summary);
        if rng.chance(0.4) || victims > 0 {
            let note = *rng.pick(match (victims > 0, &kind) {
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
            a.note(rng, &mut ops, note);
        }

        // The second officer's own contribution, made offline.
        if let Some(b) = b.as_mut() {
            if rng.chance(0.5) {
                let extra = *rng.pick(&[
                    "Checked the rear yard and outbuildings: nobody else on site.",
                    "Spoke to the neighbouring business; they see a minibus drop workers off early.",
                    "Took photographs of the accommodation for the file.",
                    "Gave helpline leaflets in several languages to the staff.",
                ]);
                b.note(rng, &mut ops, extra);
            }
            if kind != K::VehicleStop && rng.chance(0.3) {
                let i = *rng.pick(place_indicators(&kind));
                b.add(rng, &mut ops, SetTarget::Visit(VisitSet::Indicators), i);
            }
        }

        // Both officers correct the same field offline: a visible conflict.
        if conflict {
            if let Some(b) = b.as_mut() {
                let (field, mine, theirs) = if kind == K::VehicleStop {
                    if rng.chance(0.5) {
                        let vrm = ops[..after_arrival]
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
                            Value::Int(occupants + 1),
                            Value::Int((occupants - 1).max(1)),
                        )
                    }
                } else if rng.chance(0.7) {
                    let p1 = postcode(rng, town);
                    let p2 = postcode(rng, town);
                    (VisitField::Postcode, Value::Text(p1), Value::Text(p2))
                } else {
                    let n1 = premises_name(rng, &kind);
                    let n2 = premises_name(rng, &kind);
                    (VisitField::PremisesName, Value::Text(n1), Value::Text(n2))
                };
                a.field(rng, &mut ops, field.clone(), mine);
                b.field(rng, &mut ops, field, theirs);
            }
        }

        let t_end = t0 + minutes * MINUTE;
        a.t = a.t.max(t_end - MINUTE);
        a.field(
            rng,
            &mut ops,
            VisitField::EndedAt,
            Value::Time(t_end as i64),
        );
        if voided {
            let reason = *rng.pick(&[
                "Duplicate: the same stop was recorded on the other officer's phone.",
                "Created in error while showing a colleague the app.",
            ]);
            a.text(rng, &mut ops, VisitField::VoidReason, reason);
        }
        // Submitted at the end, unless the crew is still writing it up late
        // on the last day (or, rarely, forgot).
        let last_day = self.day + 1 == self.opts.days;
        let late = t_end + 4 * 60 * MINUTE > self.horizon;
        let draft = (last_day && late && rng.chance(0.6)) || rng.chance(0.02);
        if !draft {
            a.status(
                &mut ops,
                t_end + rng.range(1, 20) as u64 * MINUTE,
                Status::Submitted,
            );
        }
        devices[lead].keep(&a.r);
        if let Some(b) = b {
            devices[second].keep(&b.r);
        }
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

/// A weighted choice among identifiers.
fn pick_str(rng: &mut Rng, xs: &[(&'static str, u32)]) -> &'static str {
    let choice: &&'static str = rng.weighted(xs);
    choice
}

fn plate(rng: &mut Rng) -> String {
    let l = |rng: &mut Rng| *rng.pick(PLATE_LETTERS) as char;
    if rng.chance(0.08) {
        // A foreign plate (Romanian style).
        return format!("B {:03} {}{}{}", rng.range(10, 999), l(rng), l(rng), l(rng));
    }
    let age = *rng.pick(&[
        16, 66, 17, 67, 18, 68, 19, 69, 20, 70, 21, 71, 22, 72, 23, 73, 24,
    ]);
    format!(
        "{}{}{:02} {}{}{}",
        l(rng),
        l(rng),
        age,
        l(rng),
        l(rng),
        l(rng)
    )
}

fn postcode(rng: &mut Rng, town: &Town) -> String {
    let l = |rng: &mut Rng| *rng.pick(POSTCODE_LETTERS) as char;
    format!(
        "{} {}{}{}",
        rng.pick(town.outward),
        rng.range(1, 9),
        l(rng),
        l(rng)
    )
}

fn premises_name(rng: &mut Rng, kind: &LocationKind) -> String {
    use LocationKind as K;
    let (firsts, lasts): (&[&str], &[&str]) = match kind {
        K::CarWash => (
            &[
                "Sparkle", "Diamond", "Supreme", "Star", "Crystal", "Elite", "Bubbles",
            ],
            &["Hand Car Wash", "Car Valeting", "Hand Wash & Valet"],
        ),
        K::NailBar => (
            &["Perfect", "Luxury", "Tip Top", "Glamour", "Angel", "Lotus"],
            &["Nails", "Nail Bar", "Nails & Spa"],
        ),
        K::Hotel => (
            &["Station", "Riverside", "Park View", "Ring Road", "Central"],
            &["Hotel", "Lodge", "Inn", "Guest House"],
        ),
        K::MassageParlour => (
            &["Oriental", "Relax", "Golden", "Harmony"],
            &["Massage", "Spa", "Therapy"],
        ),
        K::ResidentialBrothel => (&["Flat 2,", "Flat 4,", "Flat 7,"], &["residential address"]),
        K::Takeaway => (
            &["Golden", "Lucky", "Express", "Royal"],
            &["Dragon", "Kebab House", "Pizza", "Noodle Bar"],
        ),
        K::Construction => (
            &["Northgate", "Meadow View", "Riverside"],
            &["housing site"],
        ),
        K::Agriculture => (
            &["Home Farm", "Manor Farm", "Valley Growers"],
            &["packhouse"],
        ),
        K::FactoryWarehouse => (
            &["Unit 4", "Unit 12", "Unit 7"],
            &["food packing", "textiles", "parcel depot"],
        ),
        K::CareHome => (
            &["Oak Lodge", "Willow Court", "Beech House"],
            &["care home"],
        ),
        K::TransportHub => (&["Railway station", "Coach station"], &["concourse"]),
        _ => (&["Corner", "Market"], &["shop", "stall"]),
    };
    format!("{} {}", rng.pick(firsts), rng.pick(lasts))
}

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

/// Records one person on `pen`'s device.
fn person(
    rng: &mut Rng,
    pen: &mut Pen,
    ops: &mut Vec<Op>,
    kind: &LocationKind,
    role: PersonRole,
    exploitative: bool,
    date: LocalDate,
) -> Met {
    use LocationKind as K;
    let p = PersonId(rng.uuid());
    let t = pen.tick(rng);
    ops.push(pen.r.add_person(t, pen.visit, p).expect(BUG).clone());
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
    let nat = nationality(code);
    let male = if child && matches!(kind, K::TransportHub | K::VehicleStop) {
        rng.chance(0.85)
    } else {
        rng.chance(share_male(kind))
    };
    let given = rng.pick(if male { nat.male } else { nat.female });
    let family = rng.pick(nat.family);
    if age != AgeGroup::Unknown && rng.chance(0.7) {
        pen.person(
            rng,
            ops,
            p,
            PersonField::Name,
            Value::Text(format!("{given} {family}")),
        );
    } else {
        let d = format!(
            "{}, {}, {}; declined to give a name",
            if male { "Male" } else { "Female" },
            match age {
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
        pen.person(rng, ops, p, PersonField::Description, Value::Text(d));
    }
    pen.person(
        rng,
        ops,
        p,
        PersonField::AgeGroup,
        Value::Text(age.as_str().to_owned()),
    );
    let years = match age {
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
            pen.person(
                rng,
                ops,
                p,
                PersonField::DateOfBirth,
                Value::Text(born.to_string()),
            );
        } else {
            pen.person(rng, ops, p, PersonField::EstimatedAge, Value::Int(y));
        }
    }
    let gender = if male { "male" } else { "female" };
    pen.person(rng, ops, p, PersonField::Gender, Value::Text(gender.into()));
    pen.person(
        rng,
        ops,
        p,
        PersonField::Nationality,
        Value::Text(code.into()),
    );
    pen.person(
        rng,
        ops,
        p,
        PersonField::Language,
        Value::Text(nat.language.into()),
    );
    let interpreter = nat.language != "English" && (victim || rng.chance(0.35));
    pen.person(
        rng,
        ops,
        p,
        PersonField::InterpreterUsed,
        Value::Bool(interpreter),
    );
    pen.person(
        rng,
        ops,
        p,
        PersonField::Role,
        Value::Text(role.as_str().to_owned()),
    );
    pen.person(
        rng,
        ops,
        p,
        PersonField::PotentialVictim,
        Value::Bool(victim),
    );
    let action = |pen: &mut Pen, rng: &mut Rng, ops: &mut Vec<Op>, a: &str| {
        pen.add(
            rng,
            ops,
            SetTarget::Person(p, PersonSet::SafeguardingActions),
            a,
        )
    };
    let mut exploitation = Vec::new();
    if victim {
        // Forms of exploitation: adults mostly labour, children mostly
        // criminal; about one in nine unknown.
        let ty: &'static str = if rng.chance(0.11) {
            "unknown"
        } else {
            match (kind, child) {
                (K::Hotel | K::MassageParlour | K::ResidentialBrothel, false) => "sexual",
                (K::Hotel, true) => pick_str(rng, &[("sexual", 50), ("criminal", 50)]),
                (_, true) => pick_str(rng, &[("criminal", 75), ("labour", 25)]),
                (K::CareHome, false) => {
                    pick_str(rng, &[("labour", 80), ("domestic_servitude", 20)])
                }
                (K::NailBar, false) => pick_str(rng, &[("labour", 85), ("sexual", 15)]),
                _ => pick_str(rng, &[("labour", 85), ("criminal", 15)]),
            }
        };
        exploitation.push(ty);
        pen.add(
            rng,
            ops,
            SetTarget::Person(p, PersonSet::ExploitationTypes),
            ty,
        );
        if child && ty == "criminal" {
            let county_lines = rng.chance(0.7);
            pen.person(
                rng,
                ops,
                p,
                PersonField::CountyLines,
                Value::Bool(county_lines),
            );
        }
        let mut pool = GENERAL_INDICATORS.to_vec();
        if child {
            pool.extend_from_slice(CHILD_INDICATORS);
        }
        let k = rng.range(2, 5) as usize;
        for i in rng.sample(&pool, k) {
            pen.add(rng, ops, SetTarget::Person(p, PersonSet::Indicators), i);
        }
        // The rule: a child (or a person whose age is unknown, presumed a
        // child) gets an NRM referral regardless of consent; an adult who
        // consents gets one too; an adult who declines gets a Duty to Notify.
        if age != AgeGroup::Adult {
            pen.person(
                rng,
                ops,
                p,
                PersonField::NrmConsent,
                Value::Text("not_asked".into()),
            );
            action(pen, rng, ops, "nrm_referral");
            action(pen, rng, ops, "childrens_services_referral");
            if rng.chance(0.3) {
                action(pen, rng, ops, "police_protection_s46");
            }
            if rng.chance(0.5) {
                action(pen, rng, ops, "place_of_safety");
            }
        } else if rng.chance(0.62) {
            pen.person(
                rng,
                ops,
                p,
                PersonField::NrmConsent,
                Value::Text("given".into()),
            );
            action(pen, rng, ops, "nrm_referral");
            if rng.chance(0.7) {
                action(pen, rng, ops, "salvation_army_referral");
            }
            if rng.chance(0.2) {
                action(pen, rng, ops, "place_of_safety");
            }
        } else {
            pen.person(
                rng,
                ops,
                p,
                PersonField::NrmConsent,
                Value::Text("declined".into()),
            );
            action(pen, rng, ops, "duty_to_notify");
            action(pen, rng, ops, "helpline_information_given");
            if rng.chance(0.5) {
                action(pen, rng, ops, "signposted_to_support");
            }
            if rng.chance(0.3) {
                action(pen, rng, ops, "ngo_support");
            }
        }
        if interpreter {
            action(pen, rng, ops, "interpreter_used");
        }
    } else if matches!(role, PersonRole::Worker | PersonRole::Passenger) && rng.chance(0.3) {
        action(pen, rng, ops, "helpline_information_given");
    } else if child && rng.chance(0.5) {
        action(pen, rng, ops, "welfare_check");
    }
    Met {
        victim,
        exploitation,
    }
}

// ---------------------------------------------------------------------------
// Storing it.

fn ms_rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Creates the operation, teams, staff and devices, then stores every
/// generated op through the normal push path, a few hundred visits per
/// transaction. Fails (without storing ops) if the demo operation for this
/// seed is already there.
pub fn fill(db: &Db, opts: &DemoOptions) -> Result<DemoReport, DemoError> {
    opts.check()?;
    let plan = plan(opts);
    let staff_password = format!("demo-{}", secrets::new_code().to_lowercase());
    let staff_hash = secrets::hash_password(&staff_password).map_err(DemoError::Password)?;
    let now = now_rfc3339();
    let last_day = opts.date(opts.days - 1);
    let supervisors = db.write_blocking(|tx| {
        if db::people::operation_exists(tx, plan.operation)? {
            return Ok(Err(DemoError::Exists(format!(
                "this database already holds the demo operation for seed {}; use another --seed",
                opts.seed
            ))));
        }
        let operation = Operation {
            id: plan.operation,
            name: plan.name.clone(),
            force_area: plan.force_area.clone(),
            starts_on: opts.start.to_string(),
            ends_on: last_day.to_string(),
            retention_days: Operation::DEFAULT_RETENTION_DAYS,
        };
        db::people::create_operation(tx, &operation, &now)?;
        let expires = rfc3339_in(chrono::Duration::hours(1));
        // A username not yet taken (`base`, else `base-2`, `base-3`, …).
        let free_username = |base: &str| -> Result<String, DbError> {
            let mut name = base.to_owned();
            let mut n = 1;
            while db::people::user_for_login(tx, &name)?.is_some() {
                n += 1;
                name = format!("{base}-{n}");
            }
            Ok(name)
        };
        let mut supervisors = Vec::new();
        for team in &plan.teams {
            let team_id = TeamId(Uuid::new_v4());
            db::people::create_team(
                tx,
                &Team {
                    id: team_id,
                    operation_id: plan.operation,
                    name: team.name.clone(),
                },
            )?;
            let all = std::iter::once((&team.supervisor, Role::Supervisor))
                .chain(team.officers.iter().map(|o| (o, Role::Officer)));
            for (s, role) in all {
                let user = User {
                    id: UserId(Uuid::new_v4()),
                    username: free_username(&s.username)?,
                    display_name: s.display_name.clone(),
                    role,
                    created_at: now.clone(),
                };
                let hash = (role == Role::Supervisor).then_some(staff_hash.as_str());
                db::people::create_user(tx, &user, hash)?;
                db::people::add_member(tx, user.id, plan.operation, Some(team_id), "system", &now)?;
                if role == Role::Supervisor {
                    supervisors.push(user.username.clone());
                }
                // A real enrolment: a one-time code traded for the device
                // whose id is the replica id the generator used. Neither the
                // code nor the token is kept: nobody can use these devices.
                let code_hash = secrets::hash_secret(&secrets::new_token());
                db::people::create_enrolment_code(
                    tx, &code_hash, user.id, user.id, &now, &expires,
                )?;
                let label = format!("{} phone", s.display_name);
                let token_hash = secrets::hash_secret(&secrets::new_token());
                db::people::enrol_device(
                    tx,
                    &code_hash,
                    DeviceId(s.device.0),
                    &label,
                    &token_hash,
                    &secrets::new_recovery_code(),
                    &now,
                )?
                .map_err(|p| DbError::Corrupt(format!("demo enrolment refused: {p:?}")))?;
            }
        }
        db::audit::append(
            tx,
            &now,
            &Entry {
                actor: "system",
                action: "demo.setup",
                subject: &format!("operation:{}", plan.operation),
                reason: "aidant demo",
                detail: &serde_json::json!({
                    "seed": opts.seed,
                    "scale": opts.scale,
                    "days": opts.days,
                    "teams": plan.teams.len(),
                })
                .to_string(),
            },
        )?;
        Ok(Ok(supervisors))
    })??;

    let mut report = DemoReport {
        operation: plan.operation,
        operation_name: plan.name.clone(),
        visits: 0,
        ops: 0,
        persons: 0,
        potential_victims: 0,
        conflicts: 0,
        voided: 0,
        by_status: [0; 3],
        teams: plan.teams.len(),
        officers: plan.teams.len() * 4,
        supervisors,
        staff_password,
        days: (opts.start, last_day),
    };
    let mut last_seen: std::collections::BTreeMap<ReplicaId, u64> = Default::default();
    let mut chunk: Vec<DemoVisit> = Vec::with_capacity(CHUNK);
    let mut visits = generate(opts).fuse();
    loop {
        chunk.clear();
        chunk.extend(visits.by_ref().take(CHUNK));
        if chunk.is_empty() {
            break;
        }
        for dv in &chunk {
            let mut v = Visit::new(dv.visit);
            for op in &dv.ops {
                v.apply(op);
                let seen = last_seen.entry(op.id.replica).or_default();
                *seen = (*seen).max(op.hlc.wall_ms);
            }
            report.visits += 1;
            report.ops += dv.ops.len();
            let persons = v.persons();
            report.persons += persons.len();
            report.potential_victims += persons
                .iter()
                .filter(|(_, p)| p.flag(&PersonField::PotentialVictim))
                .count();
            report.conflicts += usize::from(v.has_conflict());
            report.voided += usize::from(v.is_voided());
            if let Some(r) = v.status().rank() {
                // The demo never returns a visit; a return would count
                // with the submitted ones (awaiting the officer).
                report.by_status[if r > 2 { 1 } else { usize::from(r) }] += 1;
            }
        }
        store(db, &chunk)?;
    }
    let now = now_rfc3339();
    db.write_blocking(|tx| {
        for (device, at) in &last_seen {
            db::people::touch_device(tx, DeviceId(device.0), &ms_rfc3339(*at))?;
        }
        db::audit::append(
            tx,
            &now,
            &Entry {
                actor: "system",
                action: "demo.fill",
                subject: &format!("operation:{}", plan.operation),
                reason: "aidant demo",
                detail: &serde_json::json!({
                    "visits": report.visits,
                    "ops": report.ops,
                    "persons": report.persons,
                })
                .to_string(),
            },
        )?;
        Ok(())
    })?;
    Ok(report)
}

/// Visits per transaction.
const CHUNK: usize = 250;

/// Stores a chunk of visits in one transaction: first each visit's creating
/// device's ops (so every visit exists), then the other devices' ops; one
/// push per device, as that device.
fn store(db: &Db, chunk: &[DemoVisit]) -> Result<(), DemoError> {
    let now = now_rfc3339();
    let mut first: Vec<(ReplicaId, Vec<Incoming>)> = Vec::new();
    let mut then: Vec<(ReplicaId, Vec<Incoming>)> = Vec::new();
    let group = |groups: &mut Vec<(ReplicaId, Vec<Incoming>)>, op: &Op| match groups
        .iter_mut()
        .find(|(r, _)| *r == op.id.replica)
    {
        Some((_, ops)) => ops.push(Incoming::Op(op.clone())),
        None => groups.push((op.id.replica, vec![Incoming::Op(op.clone())])),
    };
    for dv in chunk {
        let creator = dv.ops.first().map(|o| o.id.replica);
        for op in &dv.ops {
            if Some(op.id.replica) == creator {
                group(&mut first, op);
            } else {
                group(&mut then, op);
            }
        }
    }
    let refused = db.write_blocking(|tx| {
        let mut refused = Vec::new();
        for (replica, ops) in first.into_iter().chain(then) {
            let device = DeviceId(replica.0);
            let (user, role, replica) = db::people::device_owner(tx, device)?;
            // A sergeant's review reaches the server as the review page's
            // would: written by the server, not pushed from a phone (which
            // the permission table refuses).
            let (reviews, ops): (Vec<Incoming>, Vec<Incoming>) = ops.into_iter().partition(|i| {
                matches!(
                    i,
                    Incoming::Op(Op {
                        action: sync_core::Action::Status {
                            status: Status::Reviewed,
                            ..
                        },
                        ..
                    })
                )
            });
            let who = db::sync::Pusher::Device {
                device,
                replica,
                user,
                role,
            };
            let pushed = db::sync::push(tx, &who, ops, &now)?;
            let reviewed = db::sync::push(tx, &db::sync::Pusher::Server, reviews, &now)?;
            for r in pushed.into_iter().chain(reviewed) {
                if let db::sync::PushResult::Rejected { code, message, .. } = r {
                    refused.push(format!("{code}: {message}"));
                }
            }
        }
        Ok(refused)
    })?;
    match refused.first() {
        None => Ok(()),
        Some(f) => Err(DemoError::Refused {
            count: refused.len(),
            first: f.clone(),
        }),
    }
}

// ---------------------------------------------------------------------------
// The command.

/// `aidant demo --help`.
pub const HELP: &str = "\
aidant demo [options]   fill a new database with a synthetic week of action
  --db PATH          SQLite file (env AIDANT_DB, default data/aidant.sqlite3)
  --seed N           same seed, same data (default 1)
  --scale X          1 = a force-area week (~60 visits a day, 24 officers);
                     100 = a national week (default 1)
  --days N           number of days (default 7)
  --start DATE       first day, YYYY-MM-DD (default: the Monday of last week)
  --force            add the demo operation even if the database has operations
env AIDANT_ADMIN_PASSWORD  password for user admin if no admin exists (else one is made up and printed)";

/// Runs `aidant demo` with its arguments (after the command), printing to `out`.
pub fn cli(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
    out: &mut impl Write,
) -> Result<(), String> {
    let mut opts = DemoOptions::default();
    let mut db_path =
        PathBuf::from(env("AIDANT_DB").unwrap_or_else(|| "data/aidant.sqlite3".into()));
    let mut force = false;
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (a.clone(), None),
        };
        if key == "--force" {
            force = true;
            continue;
        }
        if key == "--help" || key == "-h" {
            writeln!(out, "{HELP}").map_err(|e| e.to_string())?;
            return Ok(());
        }
        let value = match inline.or_else(|| args.next()) {
            Some(v) => v,
            None => return Err(format!("{key} needs a value; see `aidant demo --help`")),
        };
        let bad = |what: &str| format!("{key}: {value:?} is not {what}");
        match key.as_str() {
            "--db" => db_path = PathBuf::from(&value),
            "--seed" => opts.seed = value.parse().map_err(|_| bad("a whole number"))?,
            "--scale" => opts.scale = value.parse().map_err(|_| bad("a number"))?,
            "--days" => opts.days = value.parse().map_err(|_| bad("a number of days"))?,
            "--start" => {
                opts.start = LocalDate::parse(&value).ok_or_else(|| bad("a date (YYYY-MM-DD)"))?
            }
            other => return Err(format!("unknown option {other}; see `aidant demo --help`")),
        }
    }
    opts.check().map_err(|e| e.to_string())?;
    let db = Db::open(&db_path).map_err(|e| format!("database {}: {e}", db_path.display()))?;
    let existing = db
        .read_blocking(|c| db::people::operations(c, None))
        .map_err(|e| e.to_string())?;
    if !existing.is_empty() && !force {
        return Err(format!(
            "{} already holds {} operation(s); the demo only fills a new database. \
             Point --db at a new file, or add --force to add the demo operation anyway.",
            db_path.display(),
            existing.len()
        ));
    }
    let admin = ensure_admin(&db, env("AIDANT_ADMIN_PASSWORD")).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let r = fill(&db, &opts).map_err(|e| e.to_string())?;
    let took = started.elapsed();
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(|e| e.to_string());
    w(
        out,
        format!(
            "Filled {} in {:.1} s:",
            db_path.display(),
            took.as_secs_f64()
        ),
    )?;
    w(
        out,
        format!("  operation  {} ({})", r.operation_name, r.operation),
    )?;
    w(out, format!("  days       {} to {}", r.days.0, r.days.1))?;
    w(
        out,
        format!(
            "  staff      {} teams: {} officers and {} supervisors, each with an enrolled device",
            r.teams,
            r.officers,
            r.supervisors.len()
        ),
    )?;
    w(
        out,
        format!(
            "  visits     {} ({} ops): {} draft, {} submitted (awaiting review), {} reviewed; {} voided; {} with a conflict to resolve",
            r.visits, r.ops, r.by_status[0], r.by_status[1], r.by_status[2], r.voided, r.conflicts
        ),
    )?;
    w(
        out,
        format!(
            "  people     {} spoken to, {} potential victims",
            r.persons, r.potential_victims
        ),
    )?;
    w(out, String::new())?;
    w(out, "Start the server and sign in at /admin/:".to_owned())?;
    w(out, format!("  aidant serve --db {}", db_path.display()))?;
    match admin {
        AdminLogin::Created(password) => w(
            out,
            format!("  admin        username admin, password {password}  (keep it; it is not stored in clear)"),
        )?,
        AdminLogin::FromEnv => w(
            out,
            "  admin        username admin, the password in AIDANT_ADMIN_PASSWORD".to_owned(),
        )?,
        AdminLogin::Existing => w(out, "  admin        your existing admin account".to_owned())?,
    }
    if let Some(first) = r.supervisors.first() {
        w(
            out,
            format!(
                "  supervisors  {first} (and {} more), password {}",
                r.supervisors.len() - 1,
                r.staff_password
            ),
        )?;
    }
    Ok(())
}

/// How the admin signs in after `aidant demo`.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminLogin {
    /// An admin already existed.
    Existing,
    /// Created with the password from `AIDANT_ADMIN_PASSWORD`.
    FromEnv,
    /// Created with this made-up password.
    Created(String),
}

/// Creates user `admin` when no admin exists, with `password` or a made-up one.
pub fn ensure_admin(db: &Db, password: Option<String>) -> Result<AdminLogin, DemoError> {
    if db.read_blocking(db::people::admin_exists)? {
        return Ok(AdminLogin::Existing);
    }
    let (password, login) = match password {
        Some(p) if p.chars().count() >= 12 => (p, AdminLogin::FromEnv),
        Some(_) => {
            return Err(DemoError::Options(
                "AIDANT_ADMIN_PASSWORD must be at least 12 characters".into(),
            ))
        }
        None => {
            let p = format!("demo-{}", secrets::new_code().to_lowercase());
            (p.clone(), AdminLogin::Created(p))
        }
    };
    let hash = secrets::hash_password(&password).map_err(DemoError::Password)?;
    let now = now_rfc3339();
    db.write_blocking(|tx| {
        let user = User {
            id: UserId(Uuid::new_v4()),
            username: "admin".into(),
            display_name: "Administrator".into(),
            role: Role::Admin,
            created_at: now.clone(),
        };
        db::people::create_user(tx, &user, Some(&hash))?;
        db::audit::append(
            tx,
            &now,
            &Entry {
                actor: "system",
                action: "setup.admin_created",
                subject: &format!("user:{}", user.id),
                reason: "aidant demo",
                detail: "{}",
            },
        )?;
        Ok(())
    })?;
    Ok(login)
}
