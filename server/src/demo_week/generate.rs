//! The generator behind [`generate`]: each device's state between visits,
//! the [`Pen`] a replica writes one visit with, and the day of each crew
//! (shift, road check or premises, when each visit starts). The visit itself
//! is `visit.rs`.

use super::rng::Rng;
use super::{plan, DemoOptions, DemoPlan, DemoVisit, BUG, MINUTE};
use std::collections::VecDeque;
use sync_core::summary::{london_day_bounds, london_offset_ms, LocalDate};
use sync_core::{
    Clock, LocationKind, Op, PersonField, PersonId, Replica, ReplicaId, SetTarget, Status, Target,
    Value, VisitField, VisitId,
};

/// continue its sequence) and its clock.
#[derive(Clone, Debug)]
pub(super) struct DeviceState {
    pub(super) id: ReplicaId,
    pub(super) last_seq: u64,
    pub(super) clock: Clock,
}

impl DeviceState {
    pub(super) fn new(id: ReplicaId) -> Self {
        Self {
            id,
            last_seq: 0,
            clock: Clock::default(),
        }
    }

    /// A replica that continues this device's log.
    pub(super) fn replica(&self) -> Replica {
        Replica::resume(self.id, self.clock.clone(), self.last_seq)
    }

    pub(super) fn keep(&mut self, r: &Replica) {
        self.last_seq = self.last_seq.max(r.next_seq() - 1);
        self.clock = r.clock().clone();
    }
}

/// A replica writing one visit, with its own running time.
pub(super) struct Pen {
    pub(super) r: Replica,
    pub(super) t: u64,
    pub(super) visit: VisitId,
}

impl Pen {
    pub(super) fn tick(&mut self, rng: &mut Rng) -> u64 {
        self.t += rng.range(4_000, 40_000) as u64;
        self.t
    }

    pub(super) fn set(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, target: Target, value: Value) {
        let t = self.tick(rng);
        ops.push(self.r.set(t, self.visit, target, value).expect(BUG).clone());
    }

    pub(super) fn field(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, f: VisitField, value: Value) {
        self.set(rng, ops, Target::Visit(f), value);
    }

    pub(super) fn text(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, f: VisitField, s: &str) {
        self.field(rng, ops, f, Value::Text(s.to_owned()));
    }

    pub(super) fn person(
        &mut self,
        rng: &mut Rng,
        ops: &mut Vec<Op>,
        p: PersonId,
        f: PersonField,
        value: Value,
    ) {
        self.set(rng, ops, Target::Person(p, f), value);
    }

    pub(super) fn add(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, set: SetTarget, elem: &str) {
        let t = self.tick(rng);
        ops.push(self.r.add(t, self.visit, set, elem).expect(BUG).clone());
    }

    pub(super) fn note(&mut self, rng: &mut Rng, ops: &mut Vec<Op>, text: &str) {
        let t = self.tick(rng);
        ops.push(self.r.note(t, self.visit, text).expect(BUG).clone());
    }

    pub(super) fn status(&mut self, ops: &mut Vec<Op>, at: u64, status: Status) {
        self.t = self.t.max(at);
        ops.push(
            self.r
                .set_status(self.t, self.visit, status)
                .expect(BUG)
                .clone(),
        );
    }
}

/// The lazy generator behind [`generate`].
pub(super) struct Generator {
    pub(super) opts: DemoOptions,
    pub(super) plan: DemoPlan,
    pub(super) rng: Rng,
    /// Per team: the sergeant's device, then the four officers'.
    pub(super) devices: Vec<[DeviceState; 5]>,
    pub(super) day: u32,
    pub(super) team: usize,
    pub(super) crew: usize,
    pub(super) done: bool,
    pub(super) out: VecDeque<DemoVisit>,
    /// Visits made so far (picks the few voided and conflicting ones).
    pub(super) count: u64,
    /// End of the last day (UTC ms): nothing is reviewed after it.
    pub(super) horizon: u64,
}

/// Every visit of the demo, lazily, in the order made (day, team, crew, time).
/// Pure and deterministic for `opts`.
pub fn generate(opts: &DemoOptions) -> impl Iterator<Item = DemoVisit> {
    let plan = plan(opts);
    let devices = plan
        .teams
        .iter()
        .map(|t| {
            [
                DeviceState::new(t.supervisor.device),
                DeviceState::new(t.officers[0].device),
                DeviceState::new(t.officers[1].device),
                DeviceState::new(t.officers[2].device),
                DeviceState::new(t.officers[3].device),
            ]
        })
        .collect();
    let last = opts.date(opts.days.saturating_sub(1));
    Generator {
        opts: opts.clone(),
        plan,
        rng: Rng::new(opts.seed, 2),
        devices,
        day: 0,
        team: 0,
        crew: 0,
        done: opts.check().is_err(),
        out: VecDeque::new(),
        count: 0,
        horizon: london_day_bounds(last).1 as u64,
    }
}

impl Iterator for Generator {
    type Item = DemoVisit;

    fn next(&mut self) -> Option<DemoVisit> {
        loop {
            if let Some(v) = self.out.pop_front() {
                return Some(v);
            }
            if self.done {
                return None;
            }
            self.crew_day();
            self.crew += 1;
            if self.crew == 2 {
                self.crew = 0;
                self.team += 1;
                if self.team == self.plan.teams.len() {
                    self.team = 0;
                    self.day += 1;
                    self.done = self.day >= self.opts.days;
                }
            }
        }
    }
}

/// The kind of shift a crew works on a day.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Shift {
    /// 05:30–12:00: road checks of early worker transport, car washes opening.
    Early,
    /// 09:00–18:30: premises.
    Day,
    /// 15:00–23:45: hotels, massage parlours, takeaways, vehicle stops.
    Late,
}

/// A UTC instant for a local (Europe/London) time on `date`.
pub(super) fn local_time(date: LocalDate, minutes: u64) -> u64 {
    let (start, end) = london_day_bounds(date);
    let guess = start + (minutes * MINUTE) as i64;
    let t = guess - (london_offset_ms(guess) - london_offset_ms(start));
    t.clamp(start, end - 1) as u64
}
impl Generator {
    pub(super) fn crew_day(&mut self) {
        let date = self.opts.date(self.day);
        let weekday = (date.days_since_epoch() + 3).rem_euclid(7); // 0 = Monday
        let day_factor = match weekday {
            5 => 0.85,
            6 => 0.65,
            _ => 1.0,
        };
        let teams = self.plan.teams.len() as f64;
        let mean = 60.0 * self.opts.scale * day_factor / (2.0 * teams);
        let shift = *self
            .rng
            .weighted(&[(Shift::Early, 15), (Shift::Day, 60), (Shift::Late, 25)]);
        let (from, until) = match shift {
            Shift::Early => (330 + self.rng.range(0, 45) as u64, 12 * 60),
            Shift::Day => (8 * 60 + 40 + self.rng.range(0, 80) as u64, 18 * 60 + 30),
            Shift::Late => (15 * 60 + self.rng.range(0, 90) as u64, 23 * 60 + 45),
        };
        // A road check: a run of quick vehicle stops.
        let road_check = shift == Shift::Early && self.rng.chance(0.6);
        let n = self.rng.poisson(if road_check { mean * 1.6 } else { mean });
        let horizon = local_time(date, until);
        let mut t = local_time(date, from);
        for _ in 0..n {
            let kind = if road_check && self.rng.chance(0.9) {
                LocationKind::VehicleStop
            } else {
                self.kind_for(shift)
            };
            let minutes = match kind {
                LocationKind::VehicleStop => self.rng.range(10, 25),
                LocationKind::Hotel => self.rng.range(25, 60),
                _ => self.rng.range(30, 75),
            } as u64;
            if t + minutes * MINUTE > horizon {
                break;
            }
            let v = self.visit(date, t, minutes, kind);
            self.out.push_back(v);
            let travel = if road_check {
                self.rng.range(2, 8)
            } else {
                self.rng.range(10, 35)
            } as u64;
            t += (minutes + travel) * MINUTE;
        }
    }

    pub(super) fn kind_for(&mut self, shift: Shift) -> LocationKind {
        use LocationKind as K;
        let table: &[(K, u32)] = match shift {
            Shift::Early => &[
                (K::VehicleStop, 55),
                (K::CarWash, 20),
                (K::Construction, 10),
                (K::Agriculture, 8),
                (K::FactoryWarehouse, 7),
            ],
            Shift::Day => &[
                (K::CarWash, 30),
                (K::NailBar, 22),
                (K::VehicleStop, 18),
                (K::Hotel, 8),
                (K::Construction, 4),
                (K::Takeaway, 3),
                (K::FactoryWarehouse, 3),
                (K::Agriculture, 3),
                (K::CareHome, 3),
                (K::MassageParlour, 2),
                (K::TransportHub, 2),
                (K::Other, 2),
            ],
            Shift::Late => &[
                (K::Hotel, 36),
                (K::VehicleStop, 24),
                (K::MassageParlour, 12),
                (K::Takeaway, 10),
                (K::ResidentialBrothel, 6),
                (K::TransportHub, 6),
                (K::NailBar, 6),
            ],
        };
        self.rng.weighted(table).clone()
    }
}
