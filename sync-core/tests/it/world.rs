//! A random but reproducible world: several replicas editing the same visits
//! offline with skewed clocks and partial, shuffled, duplicated syncs. Driven
//! by a seed so the same scripts run under proptest (native) and over a fixed
//! list of seeds (wasm32).

use sync_core::*;

/// The shared seeded source ([`sync_core::rand::SplitMix64`]) with the
/// draws test scripts use.
pub struct Rng(sync_core::rand::SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(sync_core::rand::SplitMix64::new(seed))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.below(n)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            xs.swap(i, j);
        }
    }
}

pub const OPERATION: OperationId = OperationId::from_u128(0xA1DA);
pub const VISITS: [VisitId; 2] = [VisitId::from_u128(0xB1), VisitId::from_u128(0xB2)];
pub const PERSONS: [PersonId; 3] = [
    PersonId::from_u128(0xC1),
    PersonId::from_u128(0xC2),
    PersonId::from_u128(0xC3),
];
const INDICATORS: [&str; 4] = [
    "cw_cash_only_no_receipts",
    "no_id_documents",
    "fear_of_police",
    "a_newer_clients_indicator",
];
const HOUR: i64 = 3_600_000;
/// Wall-clock errors of the replicas' phones (ms): right, hours ahead, hours behind.
const SKEWS: [i64; 4] = [0, 5 * HOUR, -3 * HOUR, 90_000];

pub struct World {
    pub replicas: Vec<Replica>,
    /// Every op made by any replica, in the order made.
    pub universe: Vec<Op>,
    /// For each replica and visit, the status ranks seen after each step.
    pub status_regressions: Vec<String>,
    pub rng: Rng,
    /// True wall time.
    pub now: u64,
}

impl World {
    /// Runs a random script of `steps` edits and partial syncs on `n` replicas.
    pub fn run(seed: u64, n: usize, steps: usize) -> Self {
        let mut w = World {
            replicas: (0..n)
                .map(|i| Replica::new(ReplicaId::from_u128(1 + i as u128)))
                .collect(),
            universe: Vec::new(),
            status_regressions: Vec::new(),
            rng: Rng::new(seed),
            now: 1_790_000_000_000,
        };
        for v in VISITS {
            let ops = w.replicas[0]
                .create_visit(w.now, v, OPERATION, LocationKind::CarWash)
                .unwrap();
            w.universe.extend(ops);
        }
        // Everyone has the visits before going offline.
        for j in 1..n {
            let ops: Vec<Op> = w.replicas[0]
                .missing_for(w.replicas[j].version_vector())
                .cloned()
                .collect();
            w.replicas[j].apply(w.now, ops);
        }
        for _ in 0..steps {
            w.now += w.rng.below(5_000);
            let r = w.rng.below(n as u64) as usize;
            if w.rng.chance(20) {
                let mut j = w.rng.below(n as u64 - 1) as usize;
                if j >= r {
                    j += 1;
                }
                w.partial_sync(r, j);
            } else {
                w.edit(r);
            }
        }
        w
    }

    pub fn phone_time(&self, r: usize) -> u64 {
        (self.now as i64 + SKEWS[r % SKEWS.len()]) as u64
    }

    fn edit(&mut self, r: usize) {
        let now = self.phone_time(r);
        let visit = *self.rng.pick(&VISITS);
        let person = *self.rng.pick(&PERSONS);
        let rep = &mut self.replicas[r];
        let op: Result<Op, OpError> = match self.rng.below(10) {
            0 => rep
                .set(
                    now,
                    visit,
                    Target::Visit(VisitField::Postcode),
                    Value::Text(format!("OX{} 1AA", self.rng.below(9) + 1)),
                )
                .cloned(),
            1 => rep
                .set(
                    now,
                    visit,
                    Target::Visit(VisitField::Occupants),
                    Value::Int(self.rng.below(8) as i64),
                )
                .cloned(),
            2 => rep
                .set(
                    now,
                    visit,
                    Target::Visit(VisitField::parse("a_newer_clients_field")),
                    Value::Text(format!("v{}", self.rng.below(100))),
                )
                .cloned(),
            3 => rep
                .add(
                    now,
                    visit,
                    SetTarget::Visit(VisitSet::Indicators),
                    INDICATORS[self.rng.below(4) as usize],
                )
                .cloned(),
            4 => {
                let removed = rep
                    .remove(
                        now,
                        visit,
                        SetTarget::Visit(VisitSet::Indicators),
                        INDICATORS[self.rng.below(4) as usize],
                    )
                    .map(|o| o.cloned());
                match removed {
                    Ok(None) => Ok(rep_note(rep, now, visit)),
                    other => other.map(|o| o.expect("some")),
                }
            }
            5 => rep.add_person(now, visit, person).cloned(),
            6 => rep
                .set(
                    now,
                    visit,
                    Target::Person(person, PersonField::PotentialVictim),
                    Value::Bool(self.rng.chance(50)),
                )
                .cloned(),
            7 => rep
                .add(
                    now,
                    visit,
                    SetTarget::Person(person, PersonSet::SafeguardingActions),
                    "nrm_referral",
                )
                .cloned(),
            8 => rep
                .note(now, visit, &format!("note {}", self.rng.below(1000)))
                .cloned(),
            _ => match ["draft", "submitted", "reviewed", "archived", "returned"]
                [self.rng.below(5) as usize]
            {
                "returned" => rep.return_visit(now, visit, "check the address").cloned(),
                s => rep.set_status(now, visit, Status::parse(s)).cloned(),
            },
        };
        self.universe.push(op.expect("generated edits are valid"));
    }

    /// Sends a random, shuffled subset of what `to` lacks from `from`, with some
    /// ops duplicated, and checks no status went backwards.
    pub fn partial_sync(&mut self, from: usize, to: usize) {
        let mut ops: Vec<Op> = self.replicas[from]
            .missing_for(self.replicas[to].version_vector())
            .cloned()
            .collect();
        ops.retain(|_| self.rng.chance(70));
        let dups: Vec<Op> = ops
            .iter()
            .filter(|_| self.rng.chance(10))
            .cloned()
            .collect();
        ops.extend(dups);
        self.rng.shuffle(&mut ops);
        let key = |x: &Visit| x.status().rank().map(|r| (x.status_register().round(), r));
        let before: Vec<Option<(u32, u8)>> = VISITS
            .iter()
            .map(|v| self.replicas[to].visit(v).and_then(key))
            .collect();
        let now = self.phone_time(to);
        let report = self.replicas[to].apply(now, ops);
        assert!(report.rejected().is_empty(), "{:?}", report.rejected());
        for (v, b) in VISITS.iter().zip(before) {
            let after = self.replicas[to].visit(v).and_then(key);
            if after < b {
                self.status_regressions
                    .push(format!("replica {to} visit {v}: {b:?} -> {after:?}"));
            }
        }
    }

    /// Syncs every pair both ways until nothing is missing anywhere.
    pub fn full_sync(&mut self) {
        let n = self.replicas.len();
        for _ in 0..2 {
            for i in 0..n {
                for j in 0..n {
                    if i != j {
                        let ops: Vec<Op> = self.replicas[i]
                            .missing_for(self.replicas[j].version_vector())
                            .cloned()
                            .collect();
                        let now = self.phone_time(j);
                        self.replicas[j].apply(now, ops);
                    }
                }
            }
        }
    }
}

/// When there is nothing to remove, the edit becomes a note so every step makes an op.
fn rep_note(rep: &mut Replica, now: u64, visit: VisitId) -> Op {
    rep.note(now, visit, "nothing to remove").unwrap().clone()
}

/// The visits of a replica, for equality checks.
pub fn visits(r: &Replica) -> Vec<Visit> {
    r.visits().cloned().collect()
}
