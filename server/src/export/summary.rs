//! Day summaries over a range of days, by day, team and force area.
//!
//! Each visit's own summary is computed with `sync_core::summary::day_summary`
//! when its ops change (see [`super::cells::snapshot`]). Every figure of a
//! summary is a count or a union over visits, so the summary of many visits is
//! the sum of theirs: [`Groups`] adds up stored per-visit summaries (in a
//! compact form, [`encode`]) by day, team, force area and in all, instead of replaying
//! every visit's ops on each request. A test checks the sums against
//! `day_summary` over the merged visits themselves.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use sync_core::summary::{day_summary, DaySummary, LocalDate};
use sync_core::OperationId;

/// Key used in `by_team` for visits whose officer is in no team.
pub const NO_TEAM: &str = "(no team)";

/// The longest range of days one request may cover.
pub const MAX_DAYS: i64 = 31;

/// An empty summary (computed by `day_summary` over no visits).
pub fn empty(date: LocalDate, operation: OperationId) -> DaySummary {
    day_summary(std::iter::empty(), Some(operation), date)
}

/// The days `from..=to`.
pub fn days(from: LocalDate, to: LocalDate) -> impl Iterator<Item = LocalDate> {
    (from.days_since_epoch()..=to.days_since_epoch()).map(LocalDate::from_days_since_epoch)
}

/// The figures of an operation over `from..=to`. Range totals carry the date
/// `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RangeSummary {
    /// First day.
    pub from: LocalDate,
    /// Last day.
    pub to: LocalDate,
    /// Server figures are final for the ops held (the phone's are provisional).
    pub provisional: bool,
    /// Every day of the range together.
    pub total: DaySummary,
    /// Each day, in order (days without visits included).
    pub days: Vec<DaySummary>,
    /// By team name, over the range.
    pub by_team: BTreeMap<String, DaySummary>,
    /// By force area, over the range.
    pub by_force_area: BTreeMap<String, DaySummary>,
}

impl RangeSummary {
    /// An empty summary of `from..=to` (`from <= to`).
    pub fn new(operation: OperationId, from: LocalDate, to: LocalDate) -> Self {
        Self {
            from,
            to,
            provisional: false,
            total: empty(from, operation),
            days: days(from, to).map(|d| empty(d, operation)).collect(),
            by_team: BTreeMap::new(),
            by_force_area: BTreeMap::new(),
        }
    }
}

// The stored form of one visit's summary: compact text read without serde,
// because a summary request folds one per visit (100,000 in well under a
// second). `1|<11 counts>|kind=n;…|offence=n;…|agency;…|officer;…`, text
// percent-escaped for `%|;=`.
const COUNTS: usize = 11;

fn counts(s: &DaySummary) -> [u32; COUNTS] {
    [
        s.visits,
        s.vehicles_stopped,
        s.people_spoken_to,
        s.potential_victims.adult,
        s.potential_victims.child,
        s.potential_victims.unknown,
        s.safeguarded,
        s.nrm_referrals,
        s.duty_to_notify,
        s.voided,
        s.visits_with_conflicts,
    ]
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '|' => out.push_str("%7C"),
            ';' => out.push_str("%3B"),
            '=' => out.push_str("%3D"),
            c => out.push(c),
        }
    }
}

fn unescape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('%') {
        return s.into();
    }
    s.replace("%3D", "=")
        .replace("%3B", ";")
        .replace("%7C", "|")
        .replace("%25", "%")
        .into()
}

/// Encodes one visit's summary for storage (see [`Tally::add_encoded`]).
pub fn encode(s: &DaySummary) -> String {
    let mut out = String::from("1|");
    for (i, n) in counts(s).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&n.to_string());
    }
    let pairs = |out: &mut String, m: &sync_core::lattice::VecMap<String, u32>| {
        out.push('|');
        for (i, (k, n)) in m.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            escape_into(out, k);
            out.push('=');
            out.push_str(&n.to_string());
        }
    };
    pairs(&mut out, &s.visits_by_kind);
    pairs(&mut out, &s.arrests_by_offence);
    for set in [&s.partner_agencies, &s.officers_on_duty] {
        out.push('|');
        for (i, k) in set.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            escape_into(&mut out, k);
        }
    }
    out
}

/// Figures of many visits being added up from their stored summaries.
#[derive(Default)]
pub struct Tally {
    n: [u32; COUNTS],
    kinds: Vec<(String, u32)>,
    offences: Vec<(String, u32)>,
    agencies: HashSet<String>,
    officers: HashSet<String>,
}

fn bump(v: &mut Vec<(String, u32)>, k: &str, n: u32) {
    match v.iter_mut().find(|(x, _)| x == k) {
        Some((_, m)) => *m += n,
        None => v.push((k.to_owned(), n)),
    }
}

impl Tally {
    /// Adds one stored summary ([`encode`]).
    pub fn add_encoded(&mut self, s: &str) -> Result<(), String> {
        let bad = || format!("stored summary {s:?}");
        let mut parts = s.split('|');
        if parts.next() != Some("1") {
            return Err(bad());
        }
        let nums = parts.next().ok_or_else(bad)?;
        let mut k = 0;
        for x in nums.split(',') {
            let n: u32 = x.parse().map_err(|_| bad())?;
            *self.n.get_mut(k).ok_or_else(bad)? += n;
            k += 1;
        }
        if k != COUNTS {
            return Err(bad());
        }
        for into in [&mut self.kinds, &mut self.offences] {
            for pair in parts
                .next()
                .ok_or_else(bad)?
                .split(';')
                .filter(|p| !p.is_empty())
            {
                let (key, n) = pair.split_once('=').ok_or_else(bad)?;
                bump(into, &unescape(key), n.parse().map_err(|_| bad())?);
            }
        }
        for into in [&mut self.agencies, &mut self.officers] {
            for x in parts
                .next()
                .ok_or_else(bad)?
                .split(';')
                .filter(|p| !p.is_empty())
            {
                let x = unescape(x);
                if !into.contains(x.as_ref()) {
                    into.insert(x.into_owned());
                }
            }
        }
        Ok(())
    }

    /// Adds another tally.
    pub fn merge(&mut self, o: &Tally) {
        for (a, b) in self.n.iter_mut().zip(o.n) {
            *a += b;
        }
        for (into, from) in [
            (&mut self.kinds, &o.kinds),
            (&mut self.offences, &o.offences),
        ] {
            for (k, n) in from {
                bump(into, k, *n);
            }
        }
        for (into, from) in [
            (&mut self.agencies, &o.agencies),
            (&mut self.officers, &o.officers),
        ] {
            for x in from {
                if !into.contains(x) {
                    into.insert(x.clone());
                }
            }
        }
    }

    /// The figures as a [`DaySummary`] of `date`.
    pub fn summary(&self, date: LocalDate, operation: OperationId) -> DaySummary {
        let mut s = empty(date, operation);
        let [visits, vehicles, people, adult, child, unknown, safeguarded, nrm, dtn, voided, conflicts] =
            self.n;
        s.visits = visits;
        s.vehicles_stopped = vehicles;
        s.people_spoken_to = people;
        s.potential_victims.adult = adult;
        s.potential_victims.child = child;
        s.potential_victims.unknown = unknown;
        s.safeguarded = safeguarded;
        s.nrm_referrals = nrm;
        s.duty_to_notify = dtn;
        s.voided = voided;
        s.visits_with_conflicts = conflicts;
        s.visits_by_kind = self.kinds.iter().cloned().collect();
        s.arrests_by_offence = self.offences.iter().cloned().collect();
        s.partner_agencies = self.agencies.iter().cloned().collect();
        s.officers_on_duty = self.officers.iter().cloned().collect();
        s
    }
}

/// Adds up stored summaries by day, team and force area, and in all.
pub struct Groups {
    operation: OperationId,
    from: LocalDate,
    to: LocalDate,
    days: Vec<Tally>,
    total: Tally,
    teams: HashMap<String, Tally>,
    areas: HashMap<String, Tally>,
}

fn entry<'a>(m: &'a mut HashMap<String, Tally>, k: &str) -> &'a mut Tally {
    if !m.contains_key(k) {
        m.insert(k.to_owned(), Tally::default());
    }
    m.get_mut(k).expect("inserted above")
}

impl Groups {
    /// Empty groups for `from..=to` (`from <= to`).
    pub fn new(operation: OperationId, from: LocalDate, to: LocalDate) -> Self {
        Self {
            operation,
            from,
            to,
            days: days(from, to).map(|_| Tally::default()).collect(),
            total: Tally::default(),
            teams: HashMap::new(),
            areas: HashMap::new(),
        }
    }

    /// Adds one visit's stored summary; a day outside the range is ignored.
    pub fn add(
        &mut self,
        day: LocalDate,
        team: Option<&str>,
        force_area: &str,
        summary: &str,
    ) -> Result<(), String> {
        let i = day.days_since_epoch() - self.from.days_since_epoch();
        let Some(d) = usize::try_from(i).ok().and_then(|i| self.days.get_mut(i)) else {
            return Ok(());
        };
        d.add_encoded(summary)?;
        self.total.add_encoded(summary)?;
        entry(&mut self.teams, team.unwrap_or(NO_TEAM)).add_encoded(summary)?;
        entry(&mut self.areas, force_area).add_encoded(summary)
    }

    /// The range summary.
    pub fn finish(self) -> RangeSummary {
        let (op, from) = (self.operation, self.from);
        RangeSummary {
            from,
            to: self.to,
            provisional: false,
            total: self.total.summary(from, op),
            days: self
                .days
                .iter()
                .zip(days(from, self.to))
                .map(|(t, d)| t.summary(d, op))
                .collect(),
            by_team: self
                .teams
                .iter()
                .map(|(k, t)| (k.clone(), t.summary(from, op)))
                .collect(),
            by_force_area: self
                .areas
                .iter()
                .map(|(k, t)| (k.clone(), t.summary(from, op)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_summaries_add_up_to_the_same_figures() {
        let op = OperationId::from_u128(1);
        let date = LocalDate::parse("2026-03-29").unwrap();
        let mut a = empty(date, op);
        a.visits = 2;
        a.potential_victims.child = 1;
        a.nrm_referrals = 1;
        *a.visits_by_kind.get_or_insert_with("car_wash".into(), || 0) += 2;
        *a.arrests_by_offence
            .get_or_insert_with("modern_slavery".into(), || 0) += 3;
        a.officers_on_duty
            .extend(["PC 1|2; a=b %".to_owned(), "4521".to_owned()]);
        a.partner_agencies.extend(["glaa".to_owned()]);
        let mut b = empty(date, op);
        b.visits = 1;
        b.voided = 1;
        *b.visits_by_kind.get_or_insert_with("hotel".into(), || 0) += 1;
        b.officers_on_duty.extend(["4521".to_owned()]);
        let mut t = Tally::default();
        t.add_encoded(&encode(&a)).unwrap();
        let mut u = Tally::default();
        u.add_encoded(&encode(&b)).unwrap();
        t.merge(&u);
        let s = t.summary(date, op);
        assert_eq!(
            (
                s.visits,
                s.voided,
                s.potential_victims.child,
                s.nrm_referrals
            ),
            (3, 1, 1, 1)
        );
        assert_eq!(
            s.visits_by_kind
                .iter()
                .map(|(k, n)| (k.as_str(), *n))
                .collect::<Vec<_>>(),
            [("car_wash", 2), ("hotel", 1)]
        );
        assert_eq!(s.arrests(), 3);
        assert_eq!(
            s.officers_on_duty
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["4521", "PC 1|2; a=b %"]
        );
        assert!(Tally::default().add_encoded("2|x").is_err());
        assert!(Tally::default().add_encoded("1|1,2").is_err());
    }
}
