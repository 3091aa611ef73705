//! The figures of day summaries as labelled table rows, one value per summary
//! (a day, a team, a force area), for the XLSX summary sheet and the HTML report.

use sync_core::summary::DaySummary;

/// A figure's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A count.
    Count(u64),
    /// A list, as text.
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Count(n) => write!(f, "{n}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// An identifier shown to people: `car_wash` → `Car wash`, `nca` → `NCA`
/// for the short agency names.
pub fn label(id: &str) -> String {
    const UPPER: &[&str] = &[
        "nca", "btp", "hmrc", "dwp", "glaa", "hse", "dvsa", "rocu", "vru", "ngo", "nrm",
    ];
    if UPPER.contains(&id) {
        return id.to_ascii_uppercase();
    }
    let mut out = String::with_capacity(id.len());
    for (i, c) in id.chars().enumerate() {
        match c {
            '_' => out.push(' '),
            c if i == 0 => out.extend(c.to_uppercase()),
            c => out.push(c),
        }
    }
    out
}

fn union<'a>(keys: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = keys.cloned().collect();
    v.sort();
    v.dedup();
    v
}

/// Rows `(label, one value per summary)`. Kinds of place and offences are
/// those present in any of the summaries.
pub fn rows(summaries: &[&DaySummary]) -> Vec<(String, Vec<Value>)> {
    let count = |f: &dyn Fn(&DaySummary) -> u64| -> Vec<Value> {
        summaries.iter().map(|s| Value::Count(f(s))).collect()
    };
    let mut out = vec![("Visits".to_owned(), count(&|s| s.visits.into()))];
    for kind in union(summaries.iter().flat_map(|s| s.visits_by_kind.keys())) {
        out.push((
            format!("Visits: {}", label(&kind)),
            count(&|s| s.visits_by_kind.get(&kind).copied().unwrap_or(0).into()),
        ));
    }
    out.extend([
        (
            "Vehicles stopped".to_owned(),
            count(&|s| s.vehicles_stopped.into()),
        ),
        (
            "People spoken to".to_owned(),
            count(&|s| s.people_spoken_to.into()),
        ),
        (
            "Potential victims".to_owned(),
            count(&|s| s.potential_victims.total().into()),
        ),
        (
            "Potential victims: adults".to_owned(),
            count(&|s| s.potential_victims.adult.into()),
        ),
        (
            "Potential victims: children".to_owned(),
            count(&|s| s.potential_victims.child.into()),
        ),
        (
            "Potential victims: age unknown".to_owned(),
            count(&|s| s.potential_victims.unknown.into()),
        ),
        (
            "Potential victims safeguarded".to_owned(),
            count(&|s| s.safeguarded.into()),
        ),
        (
            "NRM referrals".to_owned(),
            count(&|s| s.nrm_referrals.into()),
        ),
        (
            "Duty to Notify reports".to_owned(),
            count(&|s| s.duty_to_notify.into()),
        ),
        ("Arrests".to_owned(), count(&|s| s.arrests().into())),
    ]);
    for offence in union(summaries.iter().flat_map(|s| s.arrests_by_offence.keys())) {
        out.push((
            format!("Arrests: {}", label(&offence)),
            count(&|s| {
                s.arrests_by_offence
                    .get(&offence)
                    .copied()
                    .unwrap_or(0)
                    .into()
            }),
        ));
    }
    out.extend([
        (
            "Officers on duty".to_owned(),
            count(&|s| s.officers_on_duty.len() as u64),
        ),
        (
            "Partner agencies".to_owned(),
            summaries
                .iter()
                .map(|s| {
                    Value::Text(
                        s.partner_agencies
                            .iter()
                            .map(|a| label(a))
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })
                .collect(),
        ),
        (
            "Visits with unresolved conflicts".to_owned(),
            count(&|s| s.visits_with_conflicts.into()),
        ),
        (
            "Voided visits (not counted)".to_owned(),
            count(&|s| s.voided.into()),
        ),
    ]);
    out
}
