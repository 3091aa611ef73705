//! Random edits on three replicas: once synced, every replica computes the
//! same summary, whatever happened and in whatever order ops were delivered.

use super::*;
use proptest::prelude::*;

/// Instants around the October 2026 change and a summer midnight.
const TIMES: [&str; 8] = [
    "2026-07-13 22:59:59.999",
    "2026-07-13 23:00",
    "2026-07-14 12:00",
    "2026-10-24 22:59:59.999",
    "2026-10-24 23:00",
    "2026-10-25 00:30",
    "2026-10-25 01:30",
    "2026-10-26 00:00",
];
const DATES: [&str; 6] = [
    "2026-07-13",
    "2026-07-14",
    "2026-10-24",
    "2026-10-25",
    "2026-10-26",
    "2026-10-27",
];

#[derive(Clone, Debug)]
enum Step {
    Create {
        visit: u8,
        op: u8,
        kind: u8,
        time: u8,
    },
    Void(u8, bool),
    Person {
        visit: u8,
        person: u8,
        pv: bool,
        group: u8,
        est: Option<i64>,
    },
    RemovePerson(u8, u8),
    Action {
        visit: u8,
        person: u8,
        action: u8,
    },
    Arrest {
        visit: u8,
        offence: u8,
        n: i64,
    },
    Officer(u8, u8),
    DropOfficer(u8, u8),
    Sync(usize),
}

fn step() -> impl Strategy<Value = (usize, Step)> {
    let s = prop_oneof![
        (0..4u8, 0..2u8, 0..3u8, 0..8u8).prop_map(|(visit, op, kind, time)| Step::Create {
            visit,
            op,
            kind,
            time
        }),
        (0..4u8, any::<bool>()).prop_map(|(v, on)| Step::Void(v, on)),
        (
            0..4u8,
            0..3u8,
            any::<bool>(),
            0..4u8,
            proptest::option::of(0..40i64)
        )
            .prop_map(|(visit, person, pv, group, est)| Step::Person {
                visit,
                person,
                pv,
                group,
                est
            }),
        (0..4u8, 0..3u8).prop_map(|(v, p)| Step::RemovePerson(v, p)),
        (0..4u8, 0..3u8, 0..3u8).prop_map(|(visit, person, action)| Step::Action {
            visit,
            person,
            action
        }),
        (0..4u8, 0..2u8, 0..3i64).prop_map(|(visit, offence, n)| Step::Arrest {
            visit,
            offence,
            n
        }),
        (0..4u8, 0..3u8).prop_map(|(v, o)| Step::Officer(v, o)),
        (0..4u8, 0..3u8).prop_map(|(v, o)| Step::DropOfficer(v, o)),
        (0..3usize).prop_map(Step::Sync),
    ];
    (0..3usize, s)
}

fn run(r: &mut Replica, now: u64, s: &Step) -> Result<(), OpError> {
    let visit = |n: &u8| v(u128::from(*n) + 1);
    let pid = |p: &u8| PersonId::from_u128(u128::from(*p) + 1);
    let officer = |o: &u8| ["4512", "2207", "5150"][usize::from(*o)];
    match s {
        Step::Create {
            visit: n,
            op,
            kind,
            time,
        } => {
            let kinds = [
                LocationKind::Hotel,
                LocationKind::CarWash,
                LocationKind::VehicleStop,
            ];
            let op = [OP, OTHER_OP][usize::from(*op)];
            r.create_visit(
                at(TIMES[usize::from(*time)]),
                visit(n),
                op,
                kinds[usize::from(*kind)].clone(),
            )?;
        }
        Step::Void(n, on) => {
            let value = if *on {
                Value::Text("error".into())
            } else {
                Value::Empty
            };
            r.set(now, visit(n), Target::Visit(VisitField::VoidReason), value)?;
        }
        Step::Person {
            visit: n,
            person,
            pv,
            group,
            est,
        } => {
            let p = pid(person);
            r.add_person(now, visit(n), p)?;
            r.set(
                now,
                visit(n),
                Target::Person(p, PersonField::PotentialVictim),
                Value::Bool(*pv),
            )?;
            if let Some(g) = AgeGroup::KNOWN.get(usize::from(*group)) {
                r.set(
                    now,
                    visit(n),
                    Target::Person(p, PersonField::AgeGroup),
                    Value::Text((*g).into()),
                )?;
            }
            if let Some(a) = est {
                r.set(
                    now,
                    visit(n),
                    Target::Person(p, PersonField::EstimatedAge),
                    Value::Int(*a),
                )?;
            }
        }
        Step::RemovePerson(n, p) => {
            r.set(
                now,
                visit(n),
                Target::Person(pid(p), PersonField::Removed),
                Value::Bool(true),
            )?;
        }
        Step::Action {
            visit: n,
            person,
            action,
        } => {
            let a = ["nrm_referral", "duty_to_notify", "welfare_check"][usize::from(*action)];
            r.add(
                now,
                visit(n),
                SetTarget::Person(pid(person), PersonSet::SafeguardingActions),
                a,
            )?;
        }
        Step::Arrest {
            visit: n,
            offence,
            n: count,
        } => {
            let o = Offence::parse(["drug_supply", "modern_slavery"][usize::from(*offence)]);
            r.set(now, visit(n), Target::Arrests(o), Value::Int(*count))?;
        }
        Step::Officer(n, o) => {
            r.add(
                now,
                visit(n),
                SetTarget::Visit(VisitSet::Officers),
                officer(o),
            )?;
        }
        Step::DropOfficer(n, o) => {
            r.remove(
                now,
                visit(n),
                SetTarget::Visit(VisitSet::Officers),
                officer(o),
            )?;
        }
        Step::Sync(_) => unreachable!(),
    }
    Ok(())
}

fn summaries(r: &Replica) -> Vec<DaySummary> {
    DATES
        .iter()
        .flat_map(|d| {
            [Some(OP), Some(OTHER_OP), None].map(|op| day_summary(r.visits(), op, date(d)))
        })
        .collect()
}

proptest! {
    #[test]
    fn replicas_agree_on_the_summary_once_synced(
        steps in proptest::collection::vec(step(), 1..40),
        shuffle_seed in any::<u64>(),
    ) {
        let mut rs: Vec<Replica> = (1..=3u128).map(|i| Replica::new(ReplicaId::from_u128(i))).collect();
        let mut now = at("2026-10-27 12:00");
        for (i, s) in &steps {
            now += 1_000;
            if let Step::Sync(j) = s {
                if i != j {
                    let (lo, hi) = (*i.min(j), *i.max(j));
                    let (left, right) = rs.split_at_mut(hi);
                    sync(&mut left[lo], &mut right[0], now);
                }
            } else {
                // Edits of a visit this replica does not hold yet are refused.
                let _ = run(&mut rs[*i], now, s);
            }
        }
        for _ in 0..2 {
            for (x, y) in [(0, 1), (1, 2), (0, 2)] {
                let (left, right) = rs.split_at_mut(y);
                sync(&mut left[x], &mut right[0], now);
            }
        }
        let reference = summaries(&rs[0]);
        for r in &rs[1..] {
            prop_assert_eq!(&summaries(r), &reference);
        }
        // The same ops delivered to a fresh server in another order.
        let mut ops: Vec<Op> = rs[0].missing_for(&VersionVector::default()).cloned().collect();
        let mut seed = shuffle_seed | 1;
        for k in (1..ops.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ops.swap(k, (seed % (k as u64 + 1)) as usize);
        }
        let mut server = Replica::new(ReplicaId::from_u128(9));
        server.apply(now, ops);
        prop_assert_eq!(summaries(&server), reference);
    }
}
