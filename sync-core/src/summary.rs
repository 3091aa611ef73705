//! The day summary of an operation: the figures a supervisor returns at the end
//! of a day, computed from merged visits. Pure: the same code runs on the phone
//! (provisional figures) and on the server.
//!
//! A day is a calendar day in Europe/London. The UK rule in force since 1996 is
//! applied directly (BST from 01:00 UTC on the last Sunday of March to 01:00 UTC
//! on the last Sunday of October) rather than shipping a time-zone database to
//! the phone; native tests check it against chrono-tz for every hour 1996–2100.
//!
//! Instants before 1996 are outside the rule: the same rule is applied to every
//! year, but until 1995 summer time ended on the first Sunday on or after 22 or
//! 23 October (for example on 22 October 1995, not the 29th), and before 1981
//! the rules differed further (British Standard Time all year 1968–71, double
//! summer time in the 1940s). For such instants the offset can be an hour out,
//! and so can the date of one within an hour of midnight. No visit is recorded
//! that early, so no history table is shipped.
//!
//! Every function here is total: instants are taken within
//! ±[`MAX_SAFE_INTEGER`] ms (±285,000 years; a valid `Time` value always is,
//! and a stored one beyond it is read as the bound), day counts within
//! ±2^39 days, and arithmetic saturates, so no input overflows.

use crate::ids::OperationId;
use crate::lattice::{VecMap, VecSet};
use crate::model::{PersonField, PersonSet, Visit, VisitSet};
use crate::op::MAX_SAFE_INTEGER;
use crate::vocab::{AgeGroup, LocationKind, SafeguardingAction};
use serde::{Deserialize, Serialize};
use std::fmt;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// Day counts beyond this (about 1.5 billion years) are clamped, so that
/// years fit an `i32` and nothing overflows.
const MAX_DAYS: i64 = 1 << 39;

fn clamp_ms(utc_ms: i64) -> i64 {
    utc_ms.clamp(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A calendar date (`YYYY-MM-DD` on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDate {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day, 1–31.
    pub day: u32,
}

impl LocalDate {
    /// A checked date.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD` (digits only: no sign, no spaces).
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.splitn(3, '-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
            return None;
        }
        Self::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(&self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01 (within ±2^39 days).
    pub fn from_days_since_epoch(days: i64) -> Self {
        let z = days.clamp(-MAX_DAYS, MAX_DAYS) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self { year, month, day }
    }

    /// Day of the week, 0 = Sunday.
    fn weekday(&self) -> i64 {
        (self.days_since_epoch() + 4).rem_euclid(7)
    }

    fn last_sunday(year: i32, month: u32) -> Self {
        let last = Self {
            year,
            month,
            day: days_in_month(year, month),
        };
        Self {
            day: last.day - last.weekday() as u32,
            ..last
        }
    }
}

impl fmt::Display for LocalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for LocalDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a date (YYYY-MM-DD)")))
    }
}

/// Europe/London's offset from UTC at a UTC instant, in milliseconds (0 or 1 h).
pub fn london_offset_ms(utc_ms: i64) -> i64 {
    let utc_ms = clamp_ms(utc_ms);
    let year = LocalDate::from_days_since_epoch(utc_ms.div_euclid(DAY_MS)).year;
    let start = LocalDate::last_sunday(year, 3).days_since_epoch() * DAY_MS + HOUR_MS;
    let end = LocalDate::last_sunday(year, 10).days_since_epoch() * DAY_MS + HOUR_MS;
    if (start..end).contains(&utc_ms) {
        HOUR_MS
    } else {
        0
    }
}

/// The Europe/London calendar date of a UTC instant.
pub fn london_date(utc_ms: i64) -> LocalDate {
    let utc_ms = clamp_ms(utc_ms);
    LocalDate::from_days_since_epoch((utc_ms + london_offset_ms(utc_ms)).div_euclid(DAY_MS))
}

/// The UTC instants `[start, end)` of a Europe/London calendar day (23 h on the
/// day the clocks go forward, 25 h on the day they go back).
pub fn london_day_bounds(date: LocalDate) -> (i64, i64) {
    let midnight_utc = |d: LocalDate| {
        let local = d.days_since_epoch().saturating_mul(DAY_MS);
        // Midnight is never inside a transition (they happen at 01:00 UTC).
        local.saturating_sub(london_offset_ms(local.saturating_sub(HOUR_MS)))
    };
    let next = LocalDate::from_days_since_epoch(date.days_since_epoch().saturating_add(1));
    (midnight_utc(date), midnight_utc(next))
}

/// Potential victims by age group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ByAge {
    /// Adults.
    pub adult: u32,
    /// Children.
    pub child: u32,
    /// Age not known.
    pub unknown: u32,
}

impl ByAge {
    /// All of them.
    pub fn total(&self) -> u32 {
        self.adult + self.child + self.unknown
    }
}

/// The figures for one operation and one Europe/London day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DaySummary {
    /// The day.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: LocalDate,
    /// The operation, when the summary is for one.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub operation: Option<OperationId>,
    /// Visits counted (voided ones excluded).
    pub visits: u32,
    /// Visits by kind of place (identifier → count).
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, u32>))]
    pub visits_by_kind: VecMap<String, u32>,
    /// Vehicle stops.
    pub vehicles_stopped: u32,
    /// Persons recorded (removed ones excluded).
    pub people_spoken_to: u32,
    /// Persons judged potential victims, by age group.
    pub potential_victims: ByAge,
    /// Potential victims with at least one safeguarding action.
    pub safeguarded: u32,
    /// Persons referred to the NRM.
    pub nrm_referrals: u32,
    /// Duty to Notify reports.
    pub duty_to_notify: u32,
    /// Arrests by offence (identifier → count).
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, u32>))]
    pub arrests_by_offence: VecMap<String, u32>,
    /// Partner agencies present at any visit.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub partner_agencies: VecSet<String>,
    /// Officers recorded at any visit.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub officers_on_duty: VecSet<String>,
    /// Voided visits on the day, left out of every figure above.
    pub voided: u32,
    /// Counted visits that still hold an unresolved conflict.
    pub visits_with_conflicts: u32,
}

impl DaySummary {
    /// Total arrests.
    pub fn arrests(&self) -> u32 {
        self.arrests_by_offence.values().sum()
    }
}

/// Whole years from `born` to `on` (negative when `on` is before `born`).
fn age_on(born: LocalDate, on: LocalDate) -> i64 {
    let years = i64::from(on.year) - i64::from(born.year);
    years - i64::from((on.month, on.day) < (born.month, born.day))
}

/// Who counts as a child: the one rule, used by the day summary and by the
/// visit view (so the field app, the admin pages and the server agree). On
/// `date` (the visit's day): `adult` or `child` as recorded; else (nothing,
/// `unknown` or an identifier this version does not know) from the date of
/// birth (a birth after `date` is ignored; without a `date` the birth date
/// cannot be used), else from the estimated age; else unknown. Under 18 is a
/// child. Safeguarding presumes a person of unknown age is a child until
/// assessed; counts keep them apart as unknown.
pub fn age_group(p: &crate::model::Person, date: Option<LocalDate>) -> AgeGroup {
    let recorded = p
        .get(&PersonField::AgeGroup)
        .and_then(|v| v.as_text())
        .map(AgeGroup::parse);
    if let Some(g @ (AgeGroup::Adult | AgeGroup::Child)) = recorded {
        return g;
    }
    let from_birth = date
        .and_then(|date| {
            p.get(&PersonField::DateOfBirth)
                .and_then(|v| v.as_text())
                .and_then(LocalDate::parse)
                .map(|born| age_on(born, date))
        })
        .filter(|a| *a >= 0);
    match from_birth.or_else(|| p.get(&PersonField::EstimatedAge).and_then(|v| v.as_int())) {
        Some(a) if a < 18 => AgeGroup::Child,
        Some(_) => AgeGroup::Adult,
        None => AgeGroup::Unknown,
    }
}

/// Summarises the visits of `operation` (all operations when `None`) that
/// started on `date` in Europe/London. A visit is dated by the shown value of
/// its `started_at` field; one without it is on no day.
pub fn day_summary<'a>(
    visits: impl IntoIterator<Item = &'a Visit>,
    operation: Option<OperationId>,
    date: LocalDate,
) -> DaySummary {
    let (start, end) = london_day_bounds(date);
    let mut s = DaySummary {
        date,
        operation,
        visits: 0,
        visits_by_kind: VecMap::default(),
        vehicles_stopped: 0,
        people_spoken_to: 0,
        potential_victims: ByAge::default(),
        safeguarded: 0,
        nrm_referrals: 0,
        duty_to_notify: 0,
        arrests_by_offence: VecMap::default(),
        partner_agencies: VecSet::default(),
        officers_on_duty: VecSet::default(),
        voided: 0,
        visits_with_conflicts: 0,
    };
    let nrm = SafeguardingAction::NrmReferral;
    let dtn = SafeguardingAction::DutyToNotify;
    for v in visits {
        if operation.is_some() && v.operation() != operation {
            continue;
        }
        if !v.started_at().is_some_and(|t| (start..end).contains(&t)) {
            continue;
        }
        if v.is_voided() {
            s.voided += 1;
            continue;
        }
        s.visits += 1;
        let kind = v.location_kind().unwrap_or(LocationKind::Other);
        if kind == LocationKind::VehicleStop {
            s.vehicles_stopped += 1;
        }
        *s.visits_by_kind
            .get_or_insert_with(kind.as_str().to_owned(), || 0) += 1;
        if v.has_conflict() {
            s.visits_with_conflicts += 1;
        }
        for (_, p) in v.persons() {
            if p.is_removed() {
                continue;
            }
            s.people_spoken_to += 1;
            if p.has(&PersonSet::SafeguardingActions, nrm.as_str()) {
                s.nrm_referrals += 1;
            }
            if p.has(&PersonSet::SafeguardingActions, dtn.as_str()) {
                s.duty_to_notify += 1;
            }
            if p.flag(&PersonField::PotentialVictim) {
                match age_group(p, Some(date)) {
                    AgeGroup::Adult => s.potential_victims.adult += 1,
                    AgeGroup::Child => s.potential_victims.child += 1,
                    _ => s.potential_victims.unknown += 1,
                }
                if p.set(&PersonSet::SafeguardingActions).next().is_some() {
                    s.safeguarded += 1;
                }
            }
        }
        for (offence, n) in v.arrests() {
            *s.arrests_by_offence
                .get_or_insert_with(offence.as_str().to_owned(), || 0) +=
                u32::try_from(n).unwrap_or(u32::MAX);
        }
        s.partner_agencies
            .extend(v.set(&VisitSet::PartnerAgencies).map(str::to_owned));
        s.officers_on_duty
            .extend(v.set(&VisitSet::Officers).map(str::to_owned));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 10_000, 20_000, 2_000_000] {
            let d = LocalDate::from_days_since_epoch(days);
            assert_eq!(d.days_since_epoch(), days, "{d}");
        }
        assert_eq!(
            LocalDate::from_days_since_epoch(0).to_string(),
            "1970-01-01"
        );
        assert_eq!(LocalDate::parse("2026-10-25").unwrap().weekday(), 0);
    }

    #[test]
    fn clock_change_days_have_23_and_25_hours() {
        let spring = LocalDate::parse("2026-03-29").unwrap();
        let autumn = LocalDate::parse("2026-10-25").unwrap();
        let (a, b) = london_day_bounds(spring);
        assert_eq!(b - a, 23 * HOUR_MS);
        let (a, b) = london_day_bounds(autumn);
        assert_eq!(b - a, 25 * HOUR_MS);
        let normal = LocalDate::parse("2026-11-28").unwrap();
        let (a, b) = london_day_bounds(normal);
        assert_eq!(b - a, 24 * HOUR_MS);
    }
}
