//! `aidant demo-sync`: two phones record the same car-wash visit offline, sync
//! over the wire format, and end with the same record, the conflict shown.

use std::io::{self, Write};
use sync_core::summary::{day_summary, london_date};
use sync_core::*;

/// Writes the demo's narrative to `out`. Deterministic: fixed ids and times.
pub fn run(out: &mut impl Write) -> io::Result<()> {
    let operation = OperationId::from_u128(0x2026_0001);
    let visit = VisitId::from_u128(0x0000_0042);
    let worker = PersonId::from_u128(0x0000_0101);
    let mut pc_jones = Replica::new(ReplicaId::from_u128(0xA1));
    let mut pc_singh = Replica::new(ReplicaId::from_u128(0xB2));
    let t0: u64 = 1_790_500_000_000; // 27 September 2026, 09:33 BST

    writeln!(
        out,
        "PC Jones starts a car-wash visit and syncs before losing signal."
    )?;
    pc_jones
        .create_visit(t0, visit, operation, LocationKind::CarWash)
        .map_err(io::Error::other)?;
    let first = wire::encode(pc_jones.missing_for(pc_singh.version_vector()));
    pc_singh.apply(t0, wire::decode(&first).map_err(io::Error::other)?);

    writeln!(out, "Offline, both record what they see:")?;
    let edits: Vec<Result<Op, OpError>> = vec![
        pc_jones
            .set(
                t0 + 60_000,
                visit,
                Target::Visit(VisitField::Postcode),
                Value::Text("OX4 1AA".into()),
            )
            .cloned(),
        pc_jones
            .add(
                t0 + 70_000,
                visit,
                SetTarget::Visit(VisitSet::Indicators),
                "cw_cash_only_no_receipts",
            )
            .cloned(),
        pc_jones.add_person(t0 + 80_000, visit, worker).cloned(),
        pc_jones
            .set(
                t0 + 81_000,
                visit,
                Target::Person(worker, PersonField::AgeGroup),
                Value::Text("adult".into()),
            )
            .cloned(),
        pc_jones
            .set(
                t0 + 82_000,
                visit,
                Target::Person(worker, PersonField::PotentialVictim),
                Value::Bool(true),
            )
            .cloned(),
        pc_jones
            .add(
                t0 + 83_000,
                visit,
                SetTarget::Person(worker, PersonSet::SafeguardingActions),
                "nrm_referral",
            )
            .cloned(),
        pc_singh
            .set(
                t0 + 65_000,
                visit,
                Target::Visit(VisitField::Postcode),
                Value::Text("OX4 1AB".into()),
            )
            .cloned(),
        pc_singh
            .add(
                t0 + 75_000,
                visit,
                SetTarget::Visit(VisitSet::PartnerAgencies),
                "glaa",
            )
            .cloned(),
        pc_singh
            .add(
                t0 + 76_000,
                visit,
                SetTarget::Visit(VisitSet::Indicators),
                "cw_onsite_accommodation",
            )
            .cloned(),
        pc_singh
            .note(
                t0 + 90_000,
                visit,
                "Workers sleep in the portacabin behind the bays.",
            )
            .cloned(),
    ];
    for e in edits {
        let op = e.map_err(io::Error::other)?;
        writeln!(out, "  {} {:?}", op.id, op.action)?;
    }

    let to_singh = wire::encode(pc_jones.missing_for(pc_singh.version_vector()));
    let to_jones = wire::encode(pc_singh.missing_for(pc_jones.version_vector()));
    writeln!(
        out,
        "Signal returns. Deltas on the wire: {} bytes to PC Singh, {} bytes to PC Jones.",
        to_singh.len(),
        to_jones.len()
    )?;
    pc_singh.apply(
        t0 + 120_000,
        wire::decode(&to_singh).map_err(io::Error::other)?,
    );
    pc_jones.apply(
        t0 + 120_000,
        wire::decode(&to_jones).map_err(io::Error::other)?,
    );

    let (a, b) = (pc_jones.visit(&visit), pc_singh.visit(&visit));
    writeln!(out, "Both phones hold the same record: {}", a == b)?;
    let v = a.ok_or_else(|| io::Error::other("visit missing"))?;
    writeln!(
        out,
        "  postcode shown: {}",
        v.text(&VisitField::Postcode).unwrap_or("-")
    )?;
    for c in v.conflicts() {
        let vals: Vec<String> = c
            .versions
            .iter()
            .map(|x| format!("{:?} by {}", x.value.to_string(), x.stamp.replica))
            .collect();
        writeln!(
            out,
            "  conflict on {}: {}",
            c.target.name(),
            vals.join(" / ")
        )?;
    }
    let inds: Vec<&str> = v.set(&VisitSet::Indicators).collect();
    writeln!(out, "  indicators: {}", inds.join(", "))?;
    writeln!(out, "  notes: {}", v.notes().count())?;
    let s = day_summary([v], Some(operation), london_date(t0 as i64));
    writeln!(
        out,
        "Provisional day summary {}: {} visit(s), {} people spoken to, {} potential victim(s), {} NRM referral(s), agencies: {:?}",
        s.date,
        s.visits,
        s.people_spoken_to,
        s.potential_victims.total(),
        s.nrm_referrals,
        s.partner_agencies.iter().cloned().collect::<Vec<_>>()
    )?;
    Ok(())
}
