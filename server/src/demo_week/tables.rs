//! The demo's tables: force areas and their towns, streets, nationalities
//! with their names and languages, who works where, indicators by place,
//! officers' surnames; and the made-up plates, postcodes and premises names
//! drawn from them.

use super::rng::Rng;
use sync_core::LocationKind;

// ---------------------------------------------------------------------------
// Places.

pub(super) struct Town {
    pub(super) name: &'static str,
    pub(super) outward: &'static [&'static str],
    pub(super) lat_e7: i32,
    pub(super) lon_e7: i32,
}

pub(super) struct Force {
    pub(super) name: &'static str,
    pub(super) prefix: &'static str,
    pub(super) towns: &'static [Town],
}

macro_rules! town {
    ($n:literal, [$($o:literal),*], $lat:literal, $lon:literal) => {
        Town { name: $n, outward: &[$($o),*], lat_e7: ($lat * 1e7) as i32, lon_e7: ($lon * 1e7) as i32 }
    };
}

pub(super) const FORCES: &[Force] = &[
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

pub(super) const STREETS: &[&str] = &[
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

pub(super) const POSTCODE_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXY";
pub(super) const PLATE_LETTERS: &[u8] = b"ABCDEFGHJKLMNOPRSTUVWXY";

// ---------------------------------------------------------------------------
// People.

pub(super) struct Nationality {
    pub(super) code: &'static str,
    pub(super) language: &'static str,
    pub(super) male: &'static [&'static str],
    pub(super) female: &'static [&'static str],
    pub(super) family: &'static [&'static str],
}

macro_rules! nat {
    ($c:literal, $l:literal, [$($m:literal),*], [$($f:literal),*], [$($s:literal),*]) => {
        Nationality { code: $c, language: $l, male: &[$($m),*], female: &[$($f),*], family: &[$($s),*] }
    };
}

pub(super) const NATIONALITIES: &[Nationality] = &[
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

pub(super) fn nationality(code: &str) -> &'static Nationality {
    NATIONALITIES
        .iter()
        .find(|n| n.code == code)
        .unwrap_or(&NATIONALITIES[0])
}

/// Nationality weights of workers, by kind of place.
pub(super) fn worker_nationalities(kind: &LocationKind) -> &'static [(&'static str, u32)] {
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

pub(super) fn share_male(kind: &LocationKind) -> f64 {
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
pub(super) const GENERAL_INDICATORS: &[&str] = &[
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
pub(super) const CHILD_INDICATORS: &[&str] = &[
    "cl_out_of_area",
    "cl_travel_in_school_hours_or_late",
    "cl_older_controlling_associates",
    "cl_multiple_phones",
    "cl_unexplained_cash_or_goods",
    "cl_missing_episodes",
];

pub(super) fn place_indicators(kind: &LocationKind) -> &'static [&'static str] {
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

/// Officers' surnames.
pub(super) const SURNAMES: &[&str] = &[
    "Jones", "Singh", "Patel", "Williams", "Taylor", "Davies", "Evans", "Thomas", "Roberts",
    "Khan", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green",
    "Hall", "Wood", "Harris", "Lewis", "Martin", "Jackson", "Clarke", "Clark", "Turner", "Hill",
    "Scott", "Cooper", "Morris", "Ward", "Moore", "King", "Watson", "Baker", "Harrison", "Morgan",
    "Okoye", "Begum", "Nowak", "Ahmed", "Murphy", "Kelly", "Campbell", "Mitchell",
];

// ---------------------------------------------------------------------------
// Made-up details.

/// A weighted choice among identifiers.
pub(super) fn pick_str(rng: &mut Rng, xs: &[(&'static str, u32)]) -> &'static str {
    let choice: &&'static str = rng.weighted(xs);
    choice
}

pub(super) fn plate(rng: &mut Rng) -> String {
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

pub(super) fn postcode(rng: &mut Rng, town: &Town) -> String {
    let l = |rng: &mut Rng| *rng.pick(POSTCODE_LETTERS) as char;
    format!(
        "{} {}{}{}",
        rng.pick(town.outward),
        rng.range(1, 9),
        l(rng),
        l(rng)
    )
}

pub(super) fn premises_name(rng: &mut Rng, kind: &LocationKind) -> String {
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
