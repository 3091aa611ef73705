//! The columns of the visits and persons tables an export writes, and the
//! per-visit snapshot they are read from: a merged [`Visit`] rendered once,
//! when its ops change, into text cells and its own day summary. Exports then
//! read stored cells instead of replaying ops.
//!
//! Every cell is text; a column's [`Kind`] says how a spreadsheet should type
//! it. Victim-identifying columns are stored like the others and left out at
//! export time unless an admin asks for them.

use sync_core::summary::{day_summary, london_date, london_offset_ms, LocalDate};
use sync_core::{PersonField, PersonSet, Value, Visit, VisitField, VisitSet};

/// How a column's cells are typed in a spreadsheet or JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// A whole number (or empty).
    Int,
}

/// One column of an export table.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// Header and JSON key.
    pub name: &'static str,
    /// How cells are typed.
    pub kind: Kind,
    /// True for victim-identifying data (names, dates of birth, descriptions,
    /// free-text notes), exported only when an admin asks.
    pub identifying: bool,
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Text,
        identifying: false,
    }
}

const fn int(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Int,
        identifying: false,
    }
}

const fn identifying(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Text,
        identifying: true,
    }
}

/// Columns every row starts with, filled from the index rather than stored
/// cells: the visit, its Europe/London day, its team and its force area.
pub const LEAD: [Column; 4] = [
    text("visit_id"),
    text("day"),
    text("team"),
    text("force_area"),
];

/// The stored cells of a visit row, after [`LEAD`].
pub const VISIT: &[Column] = &[
    text("started_at"),
    text("ended_at"),
    text("status"),
    text("voided"),
    text("void_reason"),
    text("location_kind"),
    text("visit_type"),
    text("reference"),
    text("premises_name"),
    text("address"),
    text("postcode"),
    text("position"),
    text("vrm"),
    text("vehicle_make"),
    text("vehicle_model"),
    text("vehicle_colour"),
    int("occupants"),
    text("stop_power"),
    text("search_conducted"),
    text("search_grounds"),
    text("search_object"),
    text("search_found"),
    text("search_outcome"),
    text("indicators"),
    text("exploitation_types"),
    text("safeguarding_actions"),
    text("offences"),
    text("partner_agencies"),
    text("officers"),
    int("persons"),
    int("potential_victims"),
    int("arrests"),
    text("arrests_by_offence"),
    int("civil_penalty_notices"),
    int("hse_prohibition_notices"),
    text("intelligence_submitted"),
    text("intel_reference"),
    text("licensing_issues"),
    text("premises_closed"),
    text("follow_up_required"),
    int("conflicts"),
    identifying("summary"),
];

/// The stored cells of a person row, after [`LEAD`].
pub const PERSON: &[Column] = &[
    text("person_id"),
    text("location_kind"),
    text("visit_voided"),
    text("role"),
    text("potential_victim"),
    text("age_group"),
    int("estimated_age"),
    text("gender"),
    text("nationality"),
    text("language"),
    text("interpreter_used"),
    text("county_lines"),
    text("nrm_consent"),
    text("indicators"),
    text("exploitation_types"),
    text("safeguarding_actions"),
    identifying("name"),
    identifying("date_of_birth"),
    identifying("description"),
    identifying("notes"),
];

/// A visit rendered for exports: the row shape `db::export` stores
/// (`row` holds the cells of [`VISIT`], `persons` the [`PERSON`] cells of
/// every person not removed, each [`pack`]ed; `summary` is
/// [`super::summary::encode`]d).
pub use crate::db::export::Snapshot;

/// A UTC instant as Europe/London local time with its offset,
/// `2026-10-25T01:30:00+01:00`: unambiguous in the repeated hour of October.
pub fn london_time(utc_ms: i64) -> String {
    let offset = london_offset_ms(utc_ms);
    let local = utc_ms + offset;
    let date = london_date(utc_ms);
    let secs = local.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{date}T{:02}:{:02}:{:02}{}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        if offset == 0 { "+00:00" } else { "+01:00" }
    )
}

fn value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Empty) => String::new(),
        Some(Value::Time(t)) => london_time(*t),
        Some(other) => other.to_string(),
    }
}

fn joined<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for s in it {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(s);
    }
    out
}

/// The visit's export cells and day summary.
pub fn snapshot(v: &Visit) -> Snapshot {
    let started_at = v.started_at();
    let day = started_at.map(london_date);
    let f = |field: VisitField| value(v.get(&field));
    let s = |set: VisitSet| joined(v.set(&set));
    let persons: Vec<_> = v
        .persons()
        .into_iter()
        .filter(|(_, p)| !p.is_removed())
        .collect();
    let victims = persons
        .iter()
        .filter(|(_, p)| p.flag(&PersonField::PotentialVictim))
        .count();
    let arrests: Vec<_> = v.arrests().collect();
    let location_kind = f(VisitField::LocationKind);
    let voided = if v.is_voided() { "yes" } else { "no" };
    let row = vec![
        f(VisitField::StartedAt),
        f(VisitField::EndedAt),
        v.status().as_str().to_owned(),
        voided.to_owned(),
        // The live void's reason (void-wins), not the newest write's.
        v.void_reason().unwrap_or_default().to_owned(),
        location_kind.clone(),
        f(VisitField::VisitType),
        f(VisitField::Reference),
        f(VisitField::PremisesName),
        f(VisitField::Address),
        f(VisitField::Postcode),
        f(VisitField::Position),
        f(VisitField::Vrm),
        f(VisitField::VehicleMake),
        f(VisitField::VehicleModel),
        f(VisitField::VehicleColour),
        f(VisitField::Occupants),
        f(VisitField::StopPower),
        f(VisitField::SearchConducted),
        f(VisitField::SearchGrounds),
        f(VisitField::SearchObject),
        f(VisitField::SearchFound),
        f(VisitField::SearchOutcome),
        s(VisitSet::Indicators),
        s(VisitSet::ExploitationTypes),
        s(VisitSet::SafeguardingActions),
        s(VisitSet::Offences),
        s(VisitSet::PartnerAgencies),
        s(VisitSet::Officers),
        persons.len().to_string(),
        victims.to_string(),
        arrests.iter().map(|(_, n)| n).sum::<i64>().to_string(),
        joined(
            arrests
                .iter()
                .map(|(o, n)| format!("{o}: {n}"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        ),
        f(VisitField::CivilPenaltyNotices),
        f(VisitField::HseProhibitionNotices),
        f(VisitField::IntelligenceSubmitted),
        f(VisitField::IntelReference),
        f(VisitField::LicensingIssues),
        f(VisitField::PremisesClosed),
        f(VisitField::FollowUpRequired),
        v.conflicts().len().to_string(),
        f(VisitField::Summary),
    ];
    debug_assert_eq!(row.len(), VISIT.len());
    let person_rows: Vec<Vec<String>> = persons
        .iter()
        .map(|(id, p)| {
            let pf = |field: PersonField| value(p.get(&field));
            let ps = |set: PersonSet| joined(p.set(&set));
            let r = vec![
                id.to_string(),
                location_kind.clone(),
                voided.to_owned(),
                pf(PersonField::Role),
                pf(PersonField::PotentialVictim),
                pf(PersonField::AgeGroup),
                pf(PersonField::EstimatedAge),
                pf(PersonField::Gender),
                pf(PersonField::Nationality),
                pf(PersonField::Language),
                pf(PersonField::InterpreterUsed),
                pf(PersonField::CountyLines),
                pf(PersonField::NrmConsent),
                ps(PersonSet::Indicators),
                ps(PersonSet::ExploitationTypes),
                ps(PersonSet::SafeguardingActions),
                pf(PersonField::Name),
                pf(PersonField::DateOfBirth),
                pf(PersonField::Description),
                pf(PersonField::Notes),
            ];
            debug_assert_eq!(r.len(), PERSON.len());
            r
        })
        .collect();
    // A visit without a start time is on no day; its summary is never read.
    let summary = day_summary(
        [v],
        v.operation(),
        day.unwrap_or(LocalDate::from_days_since_epoch(0)),
    );
    Snapshot {
        day,
        started_at,
        force_area: v
            .text(&VisitField::ForceArea)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        summary: super::summary::encode(&summary),
        row: pack(&row),
        persons: pack(person_rows.iter().flatten()),
        person_rows: person_rows.len(),
    }
}

/// Packs cells as `<byte length>:<text>` runs, one after another. Reading
/// them back is a scan that borrows every cell from the stored text (no
/// escapes, no copies): what keeps a million-row export fast.
pub fn pack<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut out = String::new();
    for c in cells {
        let c = c.as_ref();
        out.push_str(&c.len().to_string());
        out.push(':');
        out.push_str(c);
    }
    out
}

/// Appends the cells of a [`pack`]ed text to `out`; `Err` names what is wrong
/// with a damaged one.
pub fn unpack<'a>(s: &'a str, out: &mut Vec<&'a str>) -> Result<(), String> {
    let b = s.as_bytes();
    let mut at = 0;
    while at < b.len() {
        // The length: ASCII digits up to ':' (one pass, no search).
        let mut len: usize = 0;
        let start = at;
        while at < b.len() && b[at].is_ascii_digit() {
            len = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(b[at] - b'0')))
                .ok_or_else(|| format!("cell length too large at byte {start}"))?;
            at += 1;
        }
        if at == start || b.get(at) != Some(&b':') {
            return Err(format!("no cell length at {:?}", truncate(&s[start..])));
        }
        at += 1;
        let cell = s
            .get(at..at.saturating_add(len))
            .ok_or_else(|| format!("cell of {len} bytes at byte {at} runs past the end"))?;
        out.push(cell);
        at += len;
    }
    Ok(())
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(20);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod pack_tests {
    use super::*;

    #[test]
    fn packed_cells_come_back_as_they_went_in() {
        let cells = [
            "",
            "a:b",
            "12:x",
            "Nguyễn Thị Mai, 阮氏梅",
            "line\r\nbreak",
            "\"q\"",
        ];
        let packed = pack(cells);
        let mut back = Vec::new();
        unpack(&packed, &mut back).unwrap();
        assert_eq!(back, cells);
        for bad in ["5:abc", "x:abc", "abc", "3:ab"] {
            assert!(unpack(bad, &mut Vec::new()).is_err(), "{bad}");
        }
        // A length that cuts a character is refused, not a panic.
        assert!(unpack("1:é", &mut Vec::new()).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn london_time_shows_the_offset_in_force() {
        // 2026-10-25 00:30 and 01:30 UTC are both 01:30 local.
        let base = LocalDate::parse("2026-10-25").unwrap().days_since_epoch() * 86_400_000;
        assert_eq!(london_time(base + 1_800_000), "2026-10-25T01:30:00+01:00");
        assert_eq!(london_time(base + 5_400_000), "2026-10-25T01:30:00+00:00");
        assert_eq!(london_time(base - 1), "2026-10-25T00:59:59+01:00");
        let spring = LocalDate::parse("2026-03-29").unwrap().days_since_epoch() * 86_400_000;
        assert_eq!(london_time(spring + 3_600_000), "2026-03-29T02:00:00+01:00");
        assert_eq!(london_time(spring + 3_599_999), "2026-03-29T00:59:59+00:00");
    }
}
