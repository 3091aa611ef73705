//! Checks before submit: what stops a visit from being submitted
//! (**blocking**) and what a supervisor should look at (**warnings**). One
//! function over a merged visit, so the phone (before its Submit button) and
//! the server (in its review list) say the same thing.
//!
//! Blocking: no kind of place; no place (none of premises name, address,
//! postcode, position or vehicle registration); an empty person (recorded,
//! not removed, with nothing written); a voided visit (un-void it first).
//!
//! Warnings: a potential victim who is a child (by [`summary::age_group`],
//! the one rule) without an NRM referral; one of unknown age likewise
//! (safeguarding presumes a child until assessed); an adult potential victim
//! with neither an NRM referral nor a Duty to Notify; people present
//! (`occupants` above zero, or safeguarding actions recorded on the visit)
//! but no person recorded; a visit whose day (Europe/London) is outside the
//! operation's dates, which the caller passes.
//!
//! Nothing here refuses an op: the server never refuses a submit for these
//! (a refused op is quarantined while the phone keeps it, and the checks
//! read a merged state that depends on which ops have arrived, so refusing
//! would make acceptance depend on delivery order). The phone refuses to
//! *make* a submit with blocking problems; the server shows both kinds.

use crate::ids::PersonId;
use crate::model::{Person, PersonField, PersonSet, Value, Visit, VisitField, VisitSet};
use crate::summary::{self, LocalDate};
use crate::vocab::{AgeGroup, SafeguardingAction};
use serde::{Deserialize, Serialize};

/// How serious a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The visit cannot be submitted until it is fixed.
    Blocking,
    /// Worth a look; never stops anything.
    Warning,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// Stable machine code (`no_kind`, `child_victim_without_nrm`, …).
    pub code: String,
    /// Blocking or warning.
    pub severity: Severity,
    /// A sentence for the officer or the supervisor.
    pub message: String,
    /// The person concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub person: Option<PersonId>,
}

/// The result of [`check`]: blocking problems first, then warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checks {
    /// Problems that stop a submit.
    pub blocking: Vec<Problem>,
    /// Problems a supervisor should see.
    pub warnings: Vec<Problem>,
}

impl Checks {
    /// True when nothing blocks a submit.
    pub fn can_submit(&self) -> bool {
        self.blocking.is_empty()
    }

    fn push(&mut self, severity: Severity, code: &str, message: String, person: Option<PersonId>) {
        let p = Problem {
            code: code.to_owned(),
            severity,
            message,
            person,
        };
        match severity {
            Severity::Blocking => self.blocking.push(p),
            Severity::Warning => self.warnings.push(p),
        }
    }
}

/// The operation's first and last day (inclusive), as the caller knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dates {
    /// First day.
    pub starts_on: LocalDate,
    /// Last day.
    pub ends_on: LocalDate,
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Empty => true,
        Value::Text(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// Nothing written: every field empty (or only `removed`), no set element.
fn is_empty_person(p: &Person) -> bool {
    p.fields()
        .filter(|(f, _)| **f != PersonField::Removed)
        .all(|(_, r)| r.get().is_none_or(is_blank))
        && p.sets().all(|(_, s)| s.iter().next().is_none())
}

/// The visit's checks. `dates`: the operation's dates, when known.
pub fn check(v: &Visit, dates: Option<Dates>) -> Checks {
    use Severity::{Blocking, Warning};
    let mut out = Checks::default();
    if v.is_voided() {
        out.push(
            Blocking,
            "voided",
            "this visit is voided; a supervisor must un-void it before it is submitted".into(),
            None,
        );
    }
    if v.location_kind().is_none() {
        out.push(
            Blocking,
            "no_kind",
            "say what kind of place was visited".into(),
            None,
        );
    }
    let place = [
        VisitField::PremisesName,
        VisitField::Address,
        VisitField::Postcode,
        VisitField::Position,
        VisitField::Vrm,
    ]
    .iter()
    .any(|f| v.get(f).is_some_and(|x| !is_blank(x)));
    if !place {
        out.push(
            Blocking,
            "no_place",
            "record where: premises name, address, postcode, position or vehicle registration"
                .into(),
            None,
        );
    }
    let day = v.started_at().map(summary::london_date);
    let nrm = SafeguardingAction::NrmReferral;
    let dtn = SafeguardingAction::DutyToNotify;
    let mut people = 0usize;
    for (n, (id, p)) in v
        .persons()
        .into_iter()
        .filter(|(_, p)| !p.is_removed())
        .enumerate()
    {
        people += 1;
        let who = format!("person {}", n + 1);
        if is_empty_person(p) {
            out.push(
                Blocking,
                "empty_person",
                format!("{who} has nothing recorded: fill it in or remove it"),
                Some(id),
            );
            continue;
        }
        if !p.flag(&PersonField::PotentialVictim) {
            continue;
        }
        let has = |a: &SafeguardingAction| p.has(&PersonSet::SafeguardingActions, a.as_str());
        match summary::age_group(p, day) {
            AgeGroup::Child if !has(&nrm) => out.push(
                Warning,
                "child_victim_without_nrm",
                format!("{who} is a child potential victim with no NRM referral"),
                Some(id),
            ),
            AgeGroup::Adult if !has(&nrm) && !has(&dtn) => out.push(
                Warning,
                "adult_victim_without_nrm_or_dtn",
                format!(
                    "{who} is an adult potential victim with neither an NRM referral nor a Duty to Notify"
                ),
                Some(id),
            ),
            AgeGroup::Adult | AgeGroup::Child => {}
            _ if !has(&nrm) => out.push(
                Warning,
                "unknown_age_victim_without_nrm",
                format!(
                    "{who} is a potential victim of unknown age (presumed a child) with no NRM referral"
                ),
                Some(id),
            ),
            _ => {}
        }
    }
    let occupants = v
        .get(&VisitField::Occupants)
        .and_then(Value::as_int)
        .unwrap_or(0);
    let visit_actions = v.set(&VisitSet::SafeguardingActions).next().is_some();
    if people == 0 && (occupants > 0 || visit_actions) {
        out.push(
            Warning,
            "people_not_recorded",
            "people were spoken to but no person is recorded".into(),
            None,
        );
    }
    if let (Some(d), Some(day)) = (dates, day) {
        if day < d.starts_on || day > d.ends_on {
            out.push(
                Warning,
                "outside_operation_dates",
                format!(
                    "the visit is dated {day}, outside the operation ({} to {})",
                    d.starts_on, d.ends_on
                ),
                None,
            );
        }
    }
    out
}
