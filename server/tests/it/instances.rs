//! Several `aidant serve` instances on one database (issue 12): phones
//! that reach one instance, then another, at random, while others push
//! concurrently, each receive every op of the visits they hold exactly once.
//! Runs on the SQLite file (two servers sharing it, as two processes could)
//! and, under `scripts/pg.sh`, on PostgreSQL, where writers from every
//! instance take turns through an advisory lock so a pull cursor never
//! passes an op still being committed.

use crate::harness::{now_ms, record_visit, Device, Server, World, STAFF_PASSWORD};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use sync_core::{Op, OpId, OperationId, VisitId};

/// A small deterministic generator (xorshift64*), one per phone.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// One phone's part: ops it pushed, every op it pulled (duplicates kept),
/// and its pull cursor.
struct Phone<'a> {
    dev: &'a mut Device,
    rng: Rng,
    pushed: Vec<Op>,
    pulled: Vec<OpId>,
    after: i64,
}

impl Phone<'_> {
    /// Pulls every page there is, each page from either instance.
    fn pull(&mut self, instances: &[&Server]) {
        loop {
            let at = instances[self.rng.below(instances.len() as u64) as usize];
            let limit = 1 + self.rng.below(20) as i64;
            let (ops, cursor, more) = at.pull_page(&self.dev.token, self.after, Some(limit));
            self.pulled.extend(ops.iter().map(|o| o.id));
            self.after = cursor;
            if !more {
                return;
            }
        }
    }

    /// A round: a new visit or a note on one of its own, pushed to either
    /// instance, then a pull.
    fn round(
        &mut self,
        instances: &[&Server],
        operation: OperationId,
        n: usize,
        visits: &mut Vec<VisitId>,
    ) {
        let ops = if n.is_multiple_of(4) || visits.is_empty() {
            let (visit, ops) = record_visit(self.dev, operation);
            visits.push(visit);
            ops
        } else {
            let visit = visits[self.rng.below(visits.len() as u64) as usize];
            let note = format!("round {n}");
            vec![self
                .dev
                .replica
                .note(now_ms(), visit, &note)
                .expect("note")
                .clone()]
        };
        let at = instances[self.rng.below(instances.len() as u64) as usize];
        at.push_ok(self.dev, &ops);
        self.pushed.extend(ops);
        self.pull(instances);
    }
}

#[test]
fn phones_alternating_between_two_instances_pull_every_op_exactly_once() {
    let w = World::new();
    let second = Server::start_beside(&w.srv);
    let instances = [&w.srv, &second];
    let team = w.srv.create_team(&w.admin, w.op1, "Crossing crew");
    // Staff are set up through either instance: sessions and enrolment codes
    // live in the database.
    let mut devices: Vec<Device> = (0..4)
        .map(|i| instances[i % 2].officer_in(&w.admin, &format!("pc.cross{i}"), w.op1, Some(team)))
        .collect();
    let operation = w.op1;
    let mut phones: Vec<Phone<'_>> = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .iter_mut()
            .enumerate()
            .map(|(i, dev)| {
                let instances = &instances;
                s.spawn(move || {
                    let mut phone = Phone {
                        dev,
                        rng: Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1)),
                        pushed: Vec::new(),
                        pulled: Vec::new(),
                        after: 0,
                    };
                    let mut visits = Vec::new();
                    for n in 0..12 {
                        phone.round(instances, operation, n, &mut visits);
                    }
                    phone
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("phone thread"))
            .collect()
    });
    // Everyone has stopped: one last pull brings what others pushed after
    // each phone's last round.
    for p in &mut phones {
        p.pull(&instances);
    }
    let owner: HashMap<OpId, usize> = phones
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.pushed.iter().map(move |o| (o.id, i)))
        .collect();
    let total: usize = phones.iter().map(|p| p.pushed.len()).sum();
    assert_eq!(owner.len(), total, "op ids are unique");
    for (i, p) in phones.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for id in &p.pulled {
            assert!(seen.insert(*id), "phone {i} pulled {id:?} twice");
            assert_ne!(owner.get(id), Some(&i), "phone {i} was sent its own op");
        }
        let expected: BTreeSet<OpId> = owner
            .iter()
            .filter(|(_, o)| **o != i)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(seen, expected, "phone {i} missed ops (or got others')");
    }
    // One audit chain, whichever instance wrote each row.
    assert_eq!(
        w.srv.sql(server::db::audit::verify),
        server::db::audit::Verdict::Ok {
            rows: w.srv.count("audit")
        }
    );
}

/// Failed logins are counted in the database: guesses at one instance
/// throttle the same account and address at the other.
#[test]
fn failed_logins_at_one_instance_throttle_the_account_at_another() {
    let tune = |c: &mut server::config::Config| {
        c.limits.auth_per_minute = 3;
        c.limits.auth_window = std::time::Duration::from_secs(600);
    };
    let a = Server::start_with(tune);
    let b = Server::start_beside_with(&a, tune);
    let admin = b.admin();
    b.create_user(&admin, "sup.cross", "supervisor", Some(STAFF_PASSWORD));
    let login = |srv: &Server, password: &str| {
        srv.post(
            "/api/v1/login",
            None,
            &json!({ "username": "sup.cross", "password": password }),
        )
    };
    for _ in 0..3 {
        login(&a, "not the password").expect_error(401, "bad_credentials");
    }
    // At the other instance, this address has made one attempt so far, yet
    // the account's failures from it are spent.
    let r = login(&b, STAFF_PASSWORD);
    r.expect_error(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
}
