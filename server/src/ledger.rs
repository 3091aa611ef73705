//! The ledger: the one path from ops to everything derived from them.
//!
//! **store → fold → project**, in the caller's write transaction:
//! 1. *store*: [`db::sync::store`] inserts each pushed op once (after the
//!    permission table's decision) and says which were accepted, with their
//!    cursors;
//! 2. *fold*: each touched visit's merged state is loaded as kept
//!    (`visit_states`) and caught up with the ops stored after it, then the
//!    new ops are applied: ops commute, so this equals folding the visit's
//!    whole history, and a push costs its own ops, not the visit's history;
//! 3. *project*: from the merged state, the visit's index row, its checks
//!    (`sync_core::checks`) and its export rows ([`crate::export::cells`])
//!    are computed here and handed to `db` to write.
//!
//! `db` only inserts and reads; nothing under `db` renders, folds or checks.
//! Ops the server writes itself (reviews, returns, resolutions) are built by
//! `sync_core::server_ops` and stored by [`write_server_op`], the same path.

use crate::db::sync::{Incoming, PushResult, Pusher};
use crate::db::{self, DbError, Sql};
use std::collections::{BTreeMap, HashMap};
use sync_core::{Op, Visit, VisitId};

/// A visit's kept state is rewritten once this many of its ops are not in
/// it: loading a visit then applies at most this many ops over the kept
/// state, and a push into a long visit does not rewrite its whole state
/// each time (the state of a long visit is as long as its notes).
const KEEP_EVERY: usize = 64;

/// How many visits' merged states the process keeps decoded, per open
/// database, between pushes (a busy visit is pushed into every few seconds
/// while its officers sync).
const CACHED_VISITS: usize = 256;

/// Decoded merged states of recently pushed visits, by open database
/// (`Sql::store_id`) and visit: a push into a long visit then does not
/// decode its kept state again. An entry is put here only after the
/// transaction that produced it committed (`Sql::after_commit`), and is
/// taken out while a push works on it, so it always holds exactly the
/// committed ops up to its `through`; the ops stored after that (by this
/// or another instance: cursors have no gaps) are applied when it is
/// taken, as for a kept state.
static CACHE: std::sync::LazyLock<std::sync::Mutex<HashMap<(u64, VisitId), Loaded>>> =
    std::sync::LazyLock::new(Default::default);

fn cache() -> std::sync::MutexGuard<'static, HashMap<(u64, VisitId), Loaded>> {
    CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A visit's merged state for a push: the cached one caught up, else
/// [`state`].
fn state_for_push(c: &Sql, visit: VisitId) -> Result<Option<Loaded>, DbError> {
    let cached = match c.store_id() {
        0 => None,
        id => cache().remove(&(id, visit)),
    };
    let Some(mut l) = cached else {
        return state(c, visit);
    };
    for (op, cursor) in db::sync::ops_after(c, visit, l.through)? {
        l.visit.apply(&op);
        l.through = l.through.max(cursor);
        l.behind += 1;
    }
    Ok(Some(l))
}

/// Caches `l` once the caller's transaction has committed.
fn cache_after_commit(c: &Sql, l: Loaded) {
    let id = c.store_id();
    if id == 0 {
        return;
    }
    c.after_commit(move || {
        let mut cache = cache();
        if cache.len() >= CACHED_VISITS {
            // Any one out: the cache only saves decoding.
            if let Some(k) = cache.keys().next().copied() {
                cache.remove(&k);
            }
        }
        cache.insert((id, l.visit.id()), l);
    });
}

/// A visit's merged state as loaded: the kept state caught up.
pub struct Loaded {
    /// The merged state.
    pub visit: Visit,
    /// The greatest op cursor it holds.
    pub through: i64,
    /// How many of the ops it holds are not in the kept state.
    pub behind: usize,
}

/// A visit's merged state: the kept state, caught up with the ops stored
/// after it. `None` for a visit with no stored op.
pub fn state(c: &Sql, visit: VisitId) -> Result<Option<Loaded>, DbError> {
    let (mut v, mut through) = match db::sync::kept_state(c, visit)? {
        Some(kept) => kept,
        None => (Visit::new(visit), 0),
    };
    let later = db::sync::ops_after(c, visit, through)?;
    if through == 0 && later.is_empty() {
        return Ok(None);
    }
    for (op, cursor) in &later {
        v.apply(op);
        through = through.max(*cursor);
    }
    Ok(Some(Loaded {
        visit: v,
        through,
        behind: later.len(),
    }))
}

/// [`state`]'s merged visit.
pub fn visit(c: &Sql, visit: VisitId) -> Result<Option<Visit>, DbError> {
    Ok(state(c, visit)?.map(|l| l.visit))
}

/// Stores a batch in the caller's transaction: one result per item, in
/// order. Rejected items go to the quarantine; they never stop the others.
/// Each touched visit's state is kept and projected once, after the batch.
pub fn push(
    c: &Sql,
    who: &Pusher,
    items: Vec<Incoming>,
    now: &str,
) -> Result<Vec<PushResult>, DbError> {
    // Each visit the batch names is loaded before its new ops are stored,
    // so it is caught up with only what others stored before.
    let mut states: HashMap<VisitId, Loaded> = HashMap::new();
    for item in &items {
        if let Incoming::Op(op) = item {
            if let std::collections::hash_map::Entry::Vacant(slot) = states.entry(op.visit) {
                slot.insert(state_for_push(c, op.visit)?.unwrap_or_else(|| Loaded {
                    visit: Visit::new(op.visit),
                    through: 0,
                    behind: 0,
                }));
            }
        }
    }
    let stored = db::sync::store(c, who, items, now)?;
    let mut touched = BTreeMap::new();
    for (op, cursor) in &stored.accepted {
        if let Some(l) = states.get_mut(&op.visit) {
            l.visit.apply(op);
            l.through = l.through.max(*cursor);
            l.behind += 1;
            touched.insert(op.visit, ());
        }
    }
    for (visit, mut l) in states {
        if l.through == 0 {
            continue; // nothing stored: no such visit
        }
        if touched.contains_key(&visit) {
            if l.behind >= KEEP_EVERY {
                db::sync::keep_state(c, &l.visit, l.through)?;
                l.behind = 0;
            }
            project(c, &l.visit, now)?;
        }
        cache_after_commit(c, l);
    }
    Ok(stored.results)
}

/// Stores an op the server's replica wrote (built by
/// `sync_core::server_ops`); a refusal is an error: the server built it
/// from the state it just read, under the write lock.
pub fn write_server_op(c: &Sql, op: Op, now: &str) -> Result<(), DbError> {
    let id = op.id;
    let results = push(c, &Pusher::Server, vec![Incoming::Op(op)], now)?;
    match results.first() {
        Some(PushResult::Accepted) => Ok(()),
        other => Err(DbError::ServerOpRefused {
            what: "server",
            results: format!("{id}: {other:?}"),
        }),
    }
}

/// Writes a visit's index row, its checks and its export rows from its
/// merged state: the one writer of each (pushes, bulk loading, upgrades).
pub fn project(c: &Sql, v: &Visit, now: &str) -> Result<(), DbError> {
    db::sync::write_index(c, &db::sync::IndexRow::of(v), now)?;
    db::checks::store(c, v.id(), &checks_of(c, v)?)?;
    db::export::store_snapshot(c, v.id(), &crate::export::cells::snapshot(v))
}

/// A visit's checks before submit, against its operation's dates.
fn checks_of(c: &Sql, v: &Visit) -> Result<sync_core::checks::Checks, DbError> {
    let dates = match v.operation() {
        Some(op) => db::checks::dates(c, op)?,
        None => None,
    };
    Ok(sync_core::checks::check(v, dates))
}

/// Bulk loading, for benchmarks and tests only: stores a visit merged by
/// the caller with its ops (see [`db::export::bulk_visit`]) and projects it.
pub fn bulk_visit(
    c: &Sql,
    v: &Visit,
    ops: &[(&Op, Option<uuid::Uuid>)],
    team: Option<&str>,
    now: &str,
) -> Result<(), DbError> {
    db::export::bulk_visit(c, v, ops, team, now)?;
    project(c, v, now)
}

/// Opens the database and brings its projections up to date: the export
/// rows when this build renders them differently from the stored ones
/// (`db::export::SNAPSHOT_VERSION`), and the checks of visits stored
/// before checks were kept. Every command that serves or reads the
/// projections opens the database through this.
pub fn open(location: &db::Location, key: &std::path::Path) -> Result<db::Db, DbError> {
    let db = db::Db::open_at(location, key)?;
    convert_to_wire(&db)?;
    refresh_snapshots(&db)?;
    backfill_checks(&db)?;
    Ok(db)
}

/// Ops stored as JSON before version 9, rewritten as wire bytes, 2,000 to
/// a transaction (once, at the first open after the upgrade).
/// Once done, recorded in `meta`, so later starts do not scan the ops.
fn convert_to_wire(db: &db::Db) -> Result<(), DbError> {
    const DONE: &str = "ops_in_wire";
    if db.read_blocking(|c| db::meta_get(c, DONE))?.is_some() {
        return Ok(());
    }
    let (mut after, mut batches) = (0, 0);
    while let Some(last) = db.write_blocking(|tx| db::sync::convert_to_wire(tx, after, 2_000))? {
        after = last;
        batches += 1;
    }
    db.write_blocking(|tx| db::meta_set(tx, DONE, "1"))?;
    if batches > 0 {
        tracing::info!(through_cursor = after, "stored ops rewritten as wire bytes");
    }
    Ok(())
}

fn refresh_snapshots(db: &db::Db) -> Result<(), DbError> {
    let n = db.write_blocking(|tx| {
        if !db::export::snapshots_outdated(tx)? {
            return Ok(None);
        }
        let ids = db::sync::visit_ids(tx)?;
        for id in &ids {
            if let Some(v) = visit(tx, *id)? {
                db::export::store_snapshot(tx, *id, &crate::export::cells::snapshot(&v))?;
            }
        }
        db::export::snapshots_refreshed(tx)?;
        Ok(Some(ids.len()))
    })?;
    if let Some(visits) = n {
        tracing::info!(visits, "rebuilt export snapshots");
    }
    Ok(())
}

/// Computes the checks of visits stored before they were kept (migration
/// 6), in batches; returns how many it filled.
pub fn backfill_checks(db: &db::Db) -> Result<usize, DbError> {
    let mut done = 0;
    loop {
        let n = db.write_blocking(|tx| {
            let ids = db::checks::unchecked(tx, 500)?;
            for id in &ids {
                let checks = match visit(tx, *id)? {
                    Some(v) => checks_of(tx, &v)?,
                    None => Default::default(),
                };
                db::checks::store(tx, *id, &checks)?;
            }
            Ok(ids.len())
        })?;
        if n == 0 {
            return Ok(done);
        }
        done += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Operation;
    use sync_core::{LocationKind, OperationId, Replica, ReplicaId, Target, Value, VisitField};

    /// A cached state is believed only once its transaction committed: a
    /// push whose transaction rolls back leaves nothing of it, in the
    /// database or in what the next push starts from.
    #[test]
    fn a_push_rolled_back_leaves_no_cached_state() {
        let (_dir, db, operation) = with_operation();
        let now = NOW;
        let mut phone = Replica::new(ReplicaId::from_u128(8));
        let visit = VisitId::from_u128(9);
        let create = phone
            .create_visit(1_000, visit, operation, LocationKind::Hotel)
            .unwrap()
            .to_vec();
        let push = |ops: Vec<Op>| ops.into_iter().map(Incoming::Op).collect::<Vec<_>>();
        db.write_blocking(|tx| push_all(tx, push(create.clone()), now))
            .unwrap();
        let pc = Target::Visit(VisitField::Postcode);
        let text = |s: &str| Value::Text(s.into());
        let name = Target::Visit(VisitField::PremisesName);
        let lost = phone
            .set(2_000, visit, name, text("Lost Hotel"))
            .unwrap()
            .clone();
        // Stored, then the transaction fails: nothing of it stays.
        let failed = db.write_blocking(|tx| {
            push_all(tx, push(vec![lost.clone()]), now)?;
            Err::<(), _>(DbError::NotFound("on purpose".into()))
        });
        assert!(failed.is_err());
        // The phone's next op (the same id, a different value: as if the
        // first never reached the server) is what the visit holds.
        let mut other = Replica::new(ReplicaId::from_u128(8));
        other.apply(1_000, create);
        let kept = other
            .set(3_000, visit, pc.clone(), text("OX4 2BB"))
            .unwrap()
            .clone();
        assert_eq!(kept.id, lost.id);
        db.write_blocking(|tx| push_all(tx, push(vec![kept.clone()]), now))
            .unwrap();
        let v = db.read_blocking(|c| visit_of(c, visit)).unwrap().unwrap();
        assert_eq!(v.text(&VisitField::Postcode), Some("OX4 2BB"));
        assert_eq!(
            v.text(&VisitField::PremisesName),
            None,
            "a rolled-back op shows"
        );
        let mut folded = Visit::new(visit);
        for op in db
            .read_blocking(|c| db::sync::ops_after(c, visit, 0))
            .unwrap()
        {
            folded.apply(&op.0);
        }
        assert_eq!(v, folded);
        // What the push projected (the export row) is from that state too.
        let row: String = db
            .read_blocking(|c| {
                c.query_row(
                    "SELECT row_cells FROM visit_exports WHERE visit_id = ?1",
                    [visit.to_string()],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert!(row.contains("OX4 2BB"), "{row}");
        assert!(
            !row.contains("Lost Hotel"),
            "a rolled-back op was projected: {row}"
        );
    }

    /// A push is answered op by op, in order, whichever way its ops are
    /// inserted: on PostgreSQL a push whose ops are all new is inserted a
    /// chunk to a statement, and one with an op stored before is rolled
    /// back and taken op by op (run on both backends by `scripts/test.sh`).
    #[test]
    fn a_push_is_answered_op_by_op_however_its_ops_are_inserted() {
        let (_dir, db, operation) = with_operation();
        let now = NOW;
        let text = |s: &str| Value::Text(s.into());
        let (name, pc) = (
            Target::Visit(VisitField::PremisesName),
            Target::Visit(VisitField::Postcode),
        );
        let mut phone = Replica::new(ReplicaId::from_u128(8));
        let visit = VisitId::from_u128(9);
        let set = |phone: &mut Replica, at: u64, target: &Target, value: &str| {
            phone
                .set(at, visit, target.clone(), text(value))
                .unwrap()
                .clone()
        };
        let create = phone
            .create_visit(1_000, visit, operation, LocationKind::Hotel)
            .unwrap()
            .to_vec();
        let mut first = create.clone();
        first.push(set(&mut phone, 2_000, &name, "Hotel A"));
        first.push(set(&mut phone, 3_000, &pc, "OX1 1AA"));
        let push = |items: Vec<Incoming>| {
            db.write_blocking(|tx| push(tx, &Pusher::Server, items, now))
                .unwrap()
        };
        let ops = |ops: &[Op]| ops.iter().cloned().map(Incoming::Op).collect::<Vec<_>>();
        assert!(push(ops(&first)).iter().all(|r| *r == PushResult::Accepted));

        // A retried push: new ops among old ones, an old id with other
        // content, one that is not an op, a visit of no known operation,
        // and an op named twice.
        let mut twin = Replica::new(ReplicaId::from_u128(8));
        twin.apply(1_000, create.clone());
        let reused = set(&mut twin, 5_000, &name, "Other");
        assert_eq!(reused.id, first[create.len()].id);
        let mut stranger = Replica::new(ReplicaId::from_u128(10));
        let nowhere = stranger
            .create_visit(
                1_000,
                VisitId::from_u128(11),
                OperationId::from_u128(12),
                LocationKind::Hotel,
            )
            .unwrap()[0]
            .clone();
        let new1 = set(&mut phone, 4_000, &pc, "OX2 2BB");
        let new2 = set(&mut phone, 6_000, &name, "Hotel B");
        let mut items = ops(&[new1.clone(), first[0].clone(), reused]);
        items.push(Incoming::Malformed {
            raw: "{\"not\": \"an op\"}".into(),
            message: "not an op".into(),
        });
        items.extend(ops(&[nowhere, new2.clone(), new2.clone()]));
        fn refused(code: &str) -> impl Fn(&PushResult) -> bool + '_ {
            move |r| matches!(r, PushResult::Rejected { code: c, .. } if c == code)
        }
        let got = push(items);
        assert_eq!(got.len(), 7, "{got:?}");
        assert_eq!(got[0], PushResult::Accepted, "{got:?}");
        assert_eq!(got[1], PushResult::Duplicate, "{got:?}");
        assert!(refused("id_reused")(&got[2]), "{got:?}");
        assert!(refused("malformed")(&got[3]), "{got:?}");
        assert!(refused("unknown_operation")(&got[4]), "{got:?}");
        assert_eq!(got[5], PushResult::Accepted, "{got:?}");
        assert_eq!(got[6], PushResult::Duplicate, "{got:?}");

        // All new again.
        let new3 = set(&mut phone, 7_000, &pc, "OX3 3CC");
        let new4 = set(&mut phone, 8_000, &name, "Hotel C");
        assert_eq!(
            push(ops(&[new3.clone(), new4.clone()])),
            vec![PushResult::Accepted; 2]
        );

        // Stored once each, in the order pushed, each push's in one segment
        // (one visit); refused ones quarantined once (nothing left of the
        // attempt that was rolled back).
        let order: Vec<i64> = db
            .read_blocking(|c| {
                c.query_map("SELECT seq FROM op_ids ORDER BY cursor, seq", (), |r| {
                    r.get(0)
                })
            })
            .unwrap();
        let segments: i64 = db
            .read_blocking(|c| c.query_row("SELECT COUNT(*) FROM ops", (), |r| r.get(0)))
            .unwrap();
        assert_eq!(segments, 3);
        let want: Vec<i64> = first
            .iter()
            .chain([&new1, &new2, &new3, &new4])
            .map(|o| o.id.seq as i64)
            .collect();
        assert_eq!(order, want);
        let quarantined: Vec<String> = db
            .read_blocking(|c| {
                c.query_map("SELECT code FROM quarantine ORDER BY code", (), |r| {
                    r.get(0)
                })
            })
            .unwrap();
        assert_eq!(quarantined, ["id_reused", "malformed", "unknown_operation"]);
        let v = db.read_blocking(|c| visit_of(c, visit)).unwrap().unwrap();
        assert_eq!(v.text(&VisitField::Postcode), Some("OX3 3CC"));
        assert_eq!(v.text(&VisitField::PremisesName), Some("Hotel C"));
        let mut folded = Visit::new(visit);
        for op in db
            .read_blocking(|c| db::sync::ops_after(c, visit, 0))
            .unwrap()
        {
            folded.apply(&op.0);
        }
        assert_eq!(v, folded);
    }

    const NOW: &str = "2026-12-01T12:00:00Z";

    /// A database for one test (`db::scratch`) holding one operation.
    fn with_operation() -> (tempfile::TempDir, db::Db, OperationId) {
        let (dir, db) = db::scratch();
        let operation = OperationId::from_u128(7);
        db.write_blocking(|tx| {
            let op = Operation {
                id: operation,
                name: "Ledger".into(),
                force_area: "Kent".into(),
                starts_on: "2026-12-01".into(),
                ends_on: "2026-12-07".into(),
                retention_days: 30,
            };
            db::people::create_operation(tx, &op, NOW)
        })
        .unwrap();
        (dir, db, operation)
    }

    fn push_all(tx: &Sql, items: Vec<Incoming>, now: &str) -> Result<(), DbError> {
        let results = push(tx, &Pusher::Server, items, now)?;
        assert!(
            results.iter().all(|r| *r == PushResult::Accepted),
            "{results:?}"
        );
        Ok(())
    }

    fn visit_of(c: &Sql, id: VisitId) -> Result<Option<Visit>, DbError> {
        visit(c, id)
    }
}
