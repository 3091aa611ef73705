//! Closed vocabularies from the domain (`shared/domain/vocabulary.md`).
//!
//! Every enum keeps a value it does not recognise in `Unrecognised(String)`, so a
//! value sent by a newer client is stored and relayed unchanged. Identifiers are
//! lower snake case; [`is_identifier`] is the only syntax check applied.

/// Longest identifier accepted for a vocabulary value or field name.
pub const MAX_IDENTIFIER_LEN: usize = 64;

/// True when `s` is a lower snake case identifier (`[a-z0-9_]`, 1–64 bytes,
/// starting with a letter).
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_IDENTIFIER_LEN
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Declares a vocabulary enum whose unknown values survive.
macro_rules! vocab {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $id:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* #[doc = concat!("`", $id, "`")] $variant,)*
            /// A value this version does not know (from a newer client): kept as sent.
            Unrecognised(String),
        }

        impl $name {
            /// Every identifier this version knows, in declaration order.
            pub const KNOWN: &'static [&'static str] = &[$($id),*];

            /// Every known value, in declaration order.
            pub fn known() -> Vec<Self> {
                vec![$(Self::$variant),*]
            }

            /// The wire identifier.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $id,)*
                    Self::Unrecognised(s) => s,
                }
            }

            /// Parses an identifier; unknown identifiers become `Unrecognised`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $($id => Self::$variant,)*
                    other => Self::Unrecognised(other.to_owned()),
                }
            }

            /// False for `Unrecognised`.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unrecognised(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::parse(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}
pub(crate) use vocab;

vocab!(
    /// What was visited.
    LocationKind {
        Hotel = "hotel",
        CarWash = "car_wash",
        NailBar = "nail_bar",
        VehicleStop = "vehicle_stop",
        MassageParlour = "massage_parlour",
        ResidentialBrothel = "residential_brothel",
        Agriculture = "agriculture",
        Construction = "construction",
        Takeaway = "takeaway",
        FactoryWarehouse = "factory_warehouse",
        CareHome = "care_home",
        TransportHub = "transport_hub",
        PortAirport = "port_airport",
        Other = "other",
    }
);

vocab!(
    /// Why and how the visit happened.
    VisitType {
        WelfareEngagement = "welfare_engagement",
        SpotCheck = "spot_check",
        Warrant = "warrant",
        RoadCheck = "road_check",
    }
);

vocab!(
    /// Agencies present at a visit.
    PartnerAgency {
        Nca = "nca",
        Europol = "europol",
        BorderForce = "border_force",
        ImmigrationEnforcement = "immigration_enforcement",
        Btp = "btp",
        Hmrc = "hmrc",
        Dwp = "dwp",
        Glaa = "glaa",
        Hse = "hse",
        LocalAuthority = "local_authority",
        FireRescue = "fire_rescue",
        EnvironmentAgency = "environment_agency",
        Dvsa = "dvsa",
        Rocu = "rocu",
        Vru = "vru",
        Ngo = "ngo",
    }
);

vocab!(
    /// Age group of a person encountered.
    AgeGroup {
        Adult = "adult",
        Child = "child",
        Unknown = "unknown",
    }
);

vocab!(
    /// Gender of a person encountered.
    Gender {
        Male = "male",
        Female = "female",
        OtherOrNotStated = "other_or_not_stated",
    }
);

vocab!(
    /// Role of a person at the place visited.
    PersonRole {
        Worker = "worker",
        ManagerOrOwner = "manager_or_owner",
        Guest = "guest",
        Customer = "customer",
        Driver = "driver",
        Passenger = "passenger",
        Resident = "resident",
        Other = "other",
    }
);

vocab!(
    /// Suspected form of exploitation (several may apply).
    ExploitationType {
        Labour = "labour",
        Sexual = "sexual",
        Criminal = "criminal",
        DomesticServitude = "domestic_servitude",
        OrganHarvesting = "organ_harvesting",
        Unknown = "unknown",
    }
);

vocab!(
    /// Whether an adult consented to an NRM referral.
    NrmConsent {
        Given = "given",
        Declined = "declined",
        NotAsked = "not_asked",
    }
);

vocab!(
    /// Power used to stop or search a vehicle.
    StopPower {
        RtaS163 = "rta_s163",
        PaceS1 = "pace_s1",
        MisuseOfDrugsS23 = "misuse_of_drugs_s23",
        ImmigrationAct = "immigration_act",
        Other = "other",
    }
);

vocab!(
    /// Safeguarding action taken for a person (or at a visit).
    SafeguardingAction {
        NrmReferral = "nrm_referral",
        DutyToNotify = "duty_to_notify",
        SalvationArmyReferral = "salvation_army_referral",
        ChildrensServicesReferral = "childrens_services_referral",
        PoliceProtectionS46 = "police_protection_s46",
        PlaceOfSafety = "place_of_safety",
        InterpreterUsed = "interpreter_used",
        HelplineInformationGiven = "helpline_information_given",
        WelfareCheck = "welfare_check",
        SignpostedToSupport = "signposted_to_support",
        NgoSupport = "ngo_support",
        AdultSafeguardingReferral = "adult_safeguarding_referral",
    }
);

vocab!(
    /// Offence found or arrested for.
    Offence {
        ModernSlavery = "modern_slavery",
        HumanTrafficking = "human_trafficking",
        ControllingProstitution = "controlling_prostitution",
        DrugSupply = "drug_supply",
        DrugPossession = "drug_possession",
        Immigration = "immigration",
        IllegalWorking = "illegal_working",
        MoneyLaundering = "money_laundering",
        Weapon = "weapon",
        Theft = "theft",
        Driving = "driving",
        Other = "other",
    }
);

vocab!(
    /// Indicators of exploitation, general and per kind of place.
    Indicator {
        UntreatedInjuries = "untreated_injuries",
        Malnourished = "malnourished",
        SameClothesDaily = "same_clothes_daily",
        WithdrawnFearfulAnxious = "withdrawn_fearful_anxious",
        SignsOfTrauma = "signs_of_trauma",
        SleepDeprived = "sleep_deprived",
        SubstanceMisuse = "substance_misuse",
        RarelyAlone = "rarely_alone",
        UnderControlOfOthers = "under_control_of_others",
        UnfamiliarWithArea = "unfamiliar_with_area",
        NoContactWithFamily = "no_contact_with_family",
        ThirdPartySpeaksForThem = "third_party_speaks_for_them",
        ScriptedAnswers = "scripted_answers",
        OvercrowdedAccommodation = "overcrowded_accommodation",
        LivesAtWorkplace = "lives_at_workplace",
        ManyPeopleOneAddress = "many_people_one_address",
        NoIdDocuments = "no_id_documents",
        FewPossessions = "few_possessions",
        UnsuitableClothing = "unsuitable_clothing",
        NoProtectiveEquipment = "no_protective_equipment",
        DocumentsHeldByOther = "documents_held_by_other",
        CannotLeaveFreely = "cannot_leave_freely",
        ConfinedToWorkplace = "confined_to_workplace",
        DroppedOffCollectedAtOddHours = "dropped_off_collected_at_odd_hours",
        TransportedInCrowdedVehicle = "transported_in_crowded_vehicle",
        AvoidsEyeContact = "avoids_eye_contact",
        FearOfPolice = "fear_of_police",
        FearOfDeportation = "fear_of_deportation",
        FearForFamily = "fear_for_family",
        DistrustsAuthorities = "distrusts_authorities",
        DebtToEmployer = "debt_to_employer",
        LittleOrNoPay = "little_or_no_pay",
        DeductionsForFoodOrHousing = "deductions_for_food_or_housing",
        NoControlOfMoney = "no_control_of_money",
        ServiceSuspiciouslyCheap = "service_suspiciously_cheap",
        ThreatsToSelfOrFamily = "threats_to_self_or_family",
        Dependency = "dependency",
        RitualOrJujuThreats = "ritual_or_juju_threats",
        CwNoProtectiveClothing = "cw_no_protective_clothing",
        CwUnsafeFacilities = "cw_unsafe_facilities",
        CwManyWorkersPerCarLowPrice = "cw_many_workers_per_car_low_price",
        CwCashOnlyNoReceipts = "cw_cash_only_no_receipts",
        CwOnsiteAccommodation = "cw_onsite_accommodation",
        CwWorkersDeferToSupervisor = "cw_workers_defer_to_supervisor",
        CwNoContractOrPayslips = "cw_no_contract_or_payslips",
        NbPricesTooLow = "nb_prices_too_low",
        NbCashOnly = "nb_cash_only",
        NbStaffNotHandlingMoney = "nb_staff_not_handling_money",
        NbHighStaffTurnover = "nb_high_staff_turnover",
        NbLivesOnOrAbovePremises = "nb_lives_on_or_above_premises",
        NbLongHoursSevenDays = "nb_long_hours_seven_days",
        NbPossibleMinorWorking = "nb_possible_minor_working",
        HtPaysCashRefusesCard = "ht_pays_cash_refuses_card",
        HtNoLuggageOrId = "ht_no_luggage_or_id",
        HtLocalAddressGuest = "ht_local_address_guest",
        HtBookingNameDiffers = "ht_booking_name_differs",
        HtRefusesHousekeeping = "ht_refuses_housekeeping",
        HtManyShortVisitors = "ht_many_short_visitors",
        HtYoungPersonWithOlderAdult = "ht_young_person_with_older_adult",
        HtYoungPersonFollowsInstructions = "ht_young_person_follows_instructions",
        HtAdultServicesAdvert = "ht_adult_services_advert",
        HtManyPhones = "ht_many_phones",
        HtMovedBetweenHotels = "ht_moved_between_hotels",
        VsManyWorkersAsPassengers = "vs_many_workers_as_passengers",
        VsEarlyMorningWorkerTransport = "vs_early_morning_worker_transport",
        VsPersonsConcealed = "vs_persons_concealed",
        VsTransferBetweenVehicles = "vs_transfer_between_vehicles",
        VsPassengersUnsureOfDestination = "vs_passengers_unsure_of_destination",
        VsYoungPersonWithUnrelatedAdults = "vs_young_person_with_unrelated_adults",
        VsFalseOrChangedPlates = "vs_false_or_changed_plates",
        VsDriverHoldsPassengersDocuments = "vs_driver_holds_passengers_documents",
        ClOutOfArea = "cl_out_of_area",
        ClTravelInSchoolHoursOrLate = "cl_travel_in_school_hours_or_late",
        ClOlderControllingAssociates = "cl_older_controlling_associates",
        ClMultiplePhones = "cl_multiple_phones",
        ClUnexplainedCashOrGoods = "cl_unexplained_cash_or_goods",
        ClDrugsOrWeaponsFound = "cl_drugs_or_weapons_found",
        ClMissingEpisodes = "cl_missing_episodes",
        ClCuckooedAddress = "cl_cuckooed_address",
    }
);

impl Indicator {
    /// Whether this indicator belongs on the checklist for a kind of place:
    /// general and county-lines indicators everywhere, the kind-specific ones
    /// (`cw_`, `nb_`, `ht_`, `vs_`) only at their kind. Unknown indicators are
    /// shown everywhere, since we cannot tell.
    pub fn applies_to(&self, kind: &LocationKind) -> bool {
        Self::id_applies_to(self.as_str(), kind)
    }

    /// [`Indicator::applies_to`] on an identifier (no enum built): what a
    /// screen uses to list the checklist for a kind of place.
    pub fn id_applies_to(id: &str, kind: &LocationKind) -> bool {
        let prefix = match id.get(..3) {
            Some(p @ ("cw_" | "nb_" | "ht_" | "vs_")) => p,
            _ => return true,
        };
        matches!(
            (prefix, kind),
            ("cw_", LocationKind::CarWash)
                | ("nb_", LocationKind::NailBar)
                | ("ht_", LocationKind::Hotel)
                | ("vs_", LocationKind::VehicleStop)
        )
    }
}

vocab!(
    /// Where a visit record stands. Within a round ordered
    /// `draft < submitted < reviewed < returned`; see
    /// [`crate::lattice::StatusRegister`]. (`returned` is appended last: the
    /// wire's symbol table is append-only.)
    Status {
        Draft = "draft",
        Submitted = "submitted",
        Reviewed = "reviewed",
        Returned = "returned",
    }
);

impl Status {
    /// Rank within a round of the status lattice; `None` for a status this
    /// version does not know. A return outranks a review of the same round
    /// (see [`crate::lattice::StatusRegister`] for why).
    pub fn rank(&self) -> Option<u8> {
        match self {
            Status::Draft => Some(0),
            Status::Submitted => Some(1),
            Status::Reviewed => Some(2),
            Status::Returned => Some(3),
            Status::Unrecognised(_) => None,
        }
    }
}

/// One closed vocabulary: the name the screens know it by and the
/// identifiers this version knows, in declaration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vocabulary {
    /// Lower snake case name (`location_kind`), as [`VOCABULARIES`] lists it.
    pub name: &'static str,
    /// The known identifiers ([`LocationKind::KNOWN`] …).
    pub known: &'static [&'static str],
    /// Offered on a form (a [`Status`] is set by actions, never picked).
    pub on_forms: bool,
}

/// Every closed vocabulary, the one list the model, the wire format and the
/// bindings derive from: the wire's symbol table v1 is the visit and person
/// field and set names followed by these lists in this order, so it is
/// **append only** (a new vocabulary goes at the end; `wire`'s frozen-table
/// test pins the result), and the bindings offer the `on_forms` ones to the
/// screens under `name`.
pub const VOCABULARIES: &[Vocabulary] = &[
    form("location_kind", LocationKind::KNOWN),
    form("visit_type", VisitType::KNOWN),
    form("partner_agency", PartnerAgency::KNOWN),
    form("age_group", AgeGroup::KNOWN),
    form("gender", Gender::KNOWN),
    form("person_role", PersonRole::KNOWN),
    form("exploitation_type", ExploitationType::KNOWN),
    form("nrm_consent", NrmConsent::KNOWN),
    form("stop_power", StopPower::KNOWN),
    form("safeguarding_action", SafeguardingAction::KNOWN),
    form("offence", Offence::KNOWN),
    form("indicator", Indicator::KNOWN),
    Vocabulary {
        name: "status",
        known: Status::KNOWN,
        on_forms: false,
    },
];

const fn form(name: &'static str, known: &'static [&'static str]) -> Vocabulary {
    Vocabulary {
        name,
        known,
        on_forms: true,
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn unknown_values_survive_a_json_round_trip() {
        let k: LocationKind = serde_json::from_str("\"hovercraft_port\"").unwrap();
        assert_eq!(k, LocationKind::Unrecognised("hovercraft_port".into()));
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"hovercraft_port\"");
        let known: LocationKind = serde_json::from_str("\"car_wash\"").unwrap();
        assert_eq!(known, LocationKind::CarWash);
    }

    #[test]
    fn known_identifiers_are_unique_and_well_formed() {
        let mut names = std::collections::BTreeSet::new();
        for v in VOCABULARIES {
            assert!(is_identifier(v.name) && names.insert(v.name), "{}", v.name);
            let mut seen = std::collections::BTreeSet::new();
            for id in v.known {
                assert!(is_identifier(id), "{id}");
                assert!(seen.insert(id), "duplicate {id}");
            }
        }
        assert_eq!(VOCABULARIES.len(), 13);
        assert_eq!(Indicator::KNOWN.len(), 79);
    }

    #[test]
    fn checklist_adapts_to_kind() {
        let cw = Indicator::CwCashOnlyNoReceipts;
        assert!(cw.applies_to(&LocationKind::CarWash));
        assert!(!cw.applies_to(&LocationKind::NailBar));
        assert!(Indicator::NoIdDocuments.applies_to(&LocationKind::NailBar));
        assert!(Indicator::ClMultiplePhones.applies_to(&LocationKind::Hotel));
    }

    #[test]
    fn identifier_syntax() {
        for (s, ok) in [
            ("car_wash", true),
            ("a1", true),
            ("", false),
            ("Car", false),
            ("1a", false),
            ("a-b", false),
        ] {
            assert_eq!(is_identifier(s), ok, "{s}");
        }
        assert!(!is_identifier(&"a".repeat(65)));
    }
}
