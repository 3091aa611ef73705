//! Group commit (SQLite): writes queued while another commits share the
//! next transaction, each in its own savepoint, and one fsync.
//!
//! Every commit waits for the disk before it is answered. When a shift
//! ends and two hundred phones push at once, committing them one by one
//! makes the last wait for two hundred fsyncs. Here a write is queued; the
//! thread that next takes the writer connection runs every queued write
//! (up to [`MAX_GROUP`]) in one transaction:
//!
//! - each write runs in a savepoint; one that fails (its own error, a full
//!   disk, a panic) is rolled back to it and answered alone, and the others
//!   go on, as if each had had its own transaction;
//! - the writes see each other in queue order, as consecutive transactions
//!   would (the audit chain is appended in that order);
//! - what each asked to run after its commit ([`Sql::after_commit`]) runs
//!   once the group has committed, still holding the writer; if the commit
//!   fails, nothing of the group is stored;
//! - none is answered before its commit is durable: on SQLite the leader
//!   gives the writer back first and then waits for the disk
//!   (`durable::WalSync`), so the next group runs while this one's fsync
//!   is in flight; then each gets its own result, or the failure.
//!
//! A waiter whose write was not taken (the group was full) takes the
//! writer itself, so every queued write is run by someone; one whose write
//! was taken waits for its answer. The same runs on PostgreSQL
//! (`pg::write_group`), inside the write lock, where a commit is durable
//! when it returns.

use super::audit::AuditKey;
use super::sql::Sql;
use super::DbError;
use rusqlite::{Connection, TransactionBehavior};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// At most this many writes share a transaction: a group of pushes of 500
/// ops each is then at most a few hundred milliseconds of work, and a
/// failing commit answers at most this many.
const MAX_GROUP: usize = 32;

/// Answers a write's waiter: `Ok` with its own result, or the failure
/// that replaces it.
type Deliver = Box<dyn FnOnce(Result<(), DbError>) + Send>;

/// What a queued write did in its savepoint.
struct Outcome {
    /// It succeeded: keep its savepoint.
    ok: bool,
    /// Answers the waiter once the group's commit is durable.
    deliver: Deliver,
}

/// A queued write.
pub(super) struct Job {
    run: Box<dyn FnOnce(&Sql) -> Outcome + Send>,
    /// Answers the waiter with a failure when `run` cannot be called or
    /// panicked.
    fail: Box<dyn FnOnce(DbError) + Send>,
    /// Set when a group takes it from the queue.
    taken: Arc<AtomicBool>,
}

/// The waiter's side of a queued write.
pub(super) struct Ticket<T, E> {
    answer: mpsc::Receiver<Result<T, E>>,
    taken: Arc<AtomicBool>,
}

/// The queue of writes waiting for the next group.
#[derive(Default)]
pub(super) struct Queue(Mutex<VecDeque<Job>>);

impl Queue {
    fn push(&self, job: Job) {
        super::lock(&self.0).push_back(job);
    }

    fn take(&self) -> Vec<Job> {
        let mut q = super::lock(&self.0);
        let n = q.len().min(MAX_GROUP);
        q.drain(..n)
            .inspect(|j| j.taken.store(true, Ordering::Release))
            .collect()
    }
}

/// Answers every write of `jobs`, not run, with `e`.
pub(super) fn fail_all(jobs: Vec<Job>, e: &DbError) {
    jobs.into_iter().for_each(|j| (j.fail)(copy(e)));
}

/// A queued write of `f` and its waiter's ticket.
pub(super) fn job<T: Send + 'static, E: From<DbError> + Send + 'static>(
    f: impl FnOnce(&Sql) -> Result<T, E> + Send + 'static,
) -> (Job, Ticket<T, E>) {
    let (tx, rx) = mpsc::sync_channel(1);
    let failed = tx.clone();
    let run = Box::new(move |sql: &Sql| {
        let out = f(sql);
        Outcome {
            ok: out.is_ok(),
            deliver: Box::new(move |group: Result<(), DbError>| {
                let _ = tx.send(group.map_err(E::from).and(out));
            }),
        }
    });
    let fail = Box::new(move |e: DbError| {
        let _ = failed.send(Err(E::from(e)));
    });
    let taken = Arc::new(AtomicBool::new(false));
    (
        Job {
            run,
            fail,
            taken: taken.clone(),
        },
        Ticket { answer: rx, taken },
    )
}

/// Queues `job` and returns its answer, running the group it falls in if
/// no other thread does. `lock` takes the writer connection, `group` runs
/// a group on it ([`run_lite`], `pg::write_group`), taking the queued
/// writes with the function it is given when it is ready to run them (on
/// PostgreSQL, once it holds the write lock: the writes queued while it
/// waited for another instance join this group), and `durable` waits,
/// with the writer given back, until the commit numbered by the group is
/// on disk (SQLite; see [`Ended`]).
pub(super) fn write<'a, C: 'a, T, E: From<DbError>>(
    queue: &Queue,
    (job, ticket): (Job, Ticket<T, E>),
    lock: impl Fn() -> std::sync::MutexGuard<'a, C>,
    group: impl Fn(&mut C, &dyn Fn() -> Vec<Job>) -> Ended,
    durable: impl Fn(u64) -> Result<(), DbError>,
) -> Result<T, E> {
    queue.push(job);
    loop {
        let mut conn = lock();
        // Taken by the group of another thread, which answers once that
        // group is durable.
        if ticket.taken.load(Ordering::Acquire) {
            drop(conn);
            return ticket.answer.recv().unwrap_or_else(|_| Err(lost()));
        }
        let ended = group(&mut conn, &|| queue.take());
        drop(conn);
        let synced = ended.commit.map_or(Ok(()), &durable);
        ended.answer(synced);
        if ticket.taken.load(Ordering::Acquire) {
            return ticket.answer.recv().unwrap_or_else(|_| Err(lost()));
        }
        // Not in that group (it was full): again.
    }
}

fn lost<E: From<DbError>>() -> E {
    E::from(DbError::TaskLost("a grouped write was dropped".into()))
}

/// The same failure for each of several waiters.
pub(super) fn copy(e: &DbError) -> DbError {
    match e {
        DbError::StorageFull(cause) => DbError::StorageFull(cause.clone()),
        DbError::Unavailable(cause) => DbError::Unavailable(cause.clone()),
        other => DbError::Inconsistent(format!("a group of writes failed: {other}")),
    }
}

/// A write of a group that has run: its answer, and the hooks to run
/// after the commit (`None`: it was rolled back alone and its own error
/// stands).
pub(super) type Done = (Deliver, Option<Vec<Box<dyn FnOnce() + Send>>>);

/// Runs `jobs` one after the other on `sql`, the handle of an open write
/// transaction, each in a savepoint (see the module's doc). Answers at once
/// the writes that cannot be kept; gives back the others, and the failure
/// that broke the transaction if one did (then it must not be committed).
/// `noted` is told of every failure of the storage.
pub(super) fn run_jobs(
    sql: &Sql,
    jobs: Vec<Job>,
    noted: &impl Fn(&DbError),
) -> (Vec<Done>, Option<DbError>) {
    let mut done: Vec<Done> = Vec::with_capacity(jobs.len());
    let mut broken: Option<DbError> = None;
    for Job { run, fail, .. } in jobs {
        if let Some(e) = &broken {
            fail(copy(e));
            continue;
        }
        if let Err(e) = sql.execute_batch("SAVEPOINT aidant_group") {
            let e = e.classify();
            noted(&e);
            fail(copy(&e));
            broken = Some(e);
            continue;
        }
        sql.clear_failures();
        let outcome = catch_unwind(AssertUnwindSafe(|| run(sql)));
        let failure = sql.storage_failure();
        let unavailable = sql.unavailable();
        let hooks = sql.take_after_commit();
        let kept = matches!(&outcome, Ok(o) if o.ok);
        let end = if kept {
            "RELEASE aidant_group"
        } else {
            "ROLLBACK TO aidant_group; RELEASE aidant_group"
        };
        if let Err(e) = sql.execute_batch(end) {
            // A full disk may have made SQLite roll the whole transaction
            // back (then there is no savepoint left to end), or the
            // connection is gone: every write of the group fails with it.
            let e = match (&failure, &unavailable) {
                (Some(cause), _) => DbError::StorageFull(cause.clone()),
                (None, Some(cause)) => DbError::Unavailable(cause.clone()),
                (None, None) => e.classify(),
            };
            noted(&e);
            broken = Some(copy(&e));
            match outcome {
                Ok(o) => (o.deliver)(Err(e)),
                Err(_) => fail(e),
            }
            continue;
        }
        match (outcome, failure, unavailable) {
            (Ok(o), _, _) if kept => done.push((o.deliver, Some(hooks))),
            (Ok(o), Some(cause), _) => {
                let e = DbError::StorageFull(cause);
                noted(&e);
                (o.deliver)(Err(e));
            }
            (Ok(o), None, Some(cause)) => (o.deliver)(Err(DbError::Unavailable(cause))),
            (Ok(o), None, None) => done.push((o.deliver, None)),
            (Err(_), _, _) => fail(DbError::TaskLost("a write panicked".into())),
        }
    }
    (done, broken)
}

/// What became of one write of an ended group.
enum Then {
    /// Committed with the group: answered with its own result once the
    /// commit is durable.
    Kept,
    /// Rolled back alone: its own error stands.
    Alone,
    /// The group's commit failed.
    Failed(DbError),
}

/// A group whose transaction has ended and whose after-commit hooks have
/// run; its writes are answered by [`Ended::answer`], once the commit is
/// durable.
pub(super) struct Ended {
    answers: Vec<(Deliver, Then)>,
    /// The commit to wait for before answering (SQLite: its number, for
    /// `durable::WalSync`); `None` when nothing was committed or a commit
    /// is durable when it returns (PostgreSQL).
    pub(super) commit: Option<u64>,
}

impl Ended {
    /// Nothing to answer.
    pub(super) fn none() -> Ended {
        Ended {
            answers: Vec::new(),
            commit: None,
        }
    }

    /// True when some write of the group was committed.
    pub(super) fn committed(&self) -> bool {
        self.answers.iter().any(|(_, t)| matches!(t, Then::Kept))
    }

    /// Answers every write: a kept one with its own result when `durable`
    /// is `Ok`, else with that failure.
    pub(super) fn answer(self, durable: Result<(), DbError>) {
        for (deliver, then) in self.answers {
            deliver(match (then, &durable) {
                (Then::Kept, Ok(())) | (Then::Alone, _) => Ok(()),
                (Then::Kept, Err(e)) => Err(copy(e)),
                (Then::Failed(e), _) => Err(e),
            });
        }
    }
}

/// Ends the writes kept by [`run_jobs`] once their transaction has
/// committed, or failed to: on success each runs its hooks now (the
/// caller still holds the writer); on failure each is to get the failure.
pub(super) fn settle(done: Vec<Done>, committed: &Result<(), DbError>) -> Ended {
    let answers = done
        .into_iter()
        .map(|(deliver, hooks)| {
            let then = match (committed, hooks) {
                (Ok(()), Some(hooks)) => {
                    hooks.into_iter().for_each(|f| f());
                    Then::Kept
                }
                (_, None) => Then::Alone,
                (Err(e), Some(_)) => Then::Failed(copy(e)),
            };
            (deliver, then)
        })
        .collect();
    Ended {
        answers,
        commit: None,
    }
}

/// Runs `jobs` in one transaction on the SQLite writer `conn`. Each write
/// gets a handle with the audit `key` on open database `store`. The
/// caller numbers the commit, if [`Ended::committed`], before giving the
/// writer back.
pub(super) fn run_lite(
    conn: &mut Connection,
    jobs: Vec<Job>,
    (key, store): (Option<&AuditKey>, u64),
    noted: impl Fn(&DbError),
) -> Ended {
    if jobs.is_empty() {
        return Ended::none();
    }
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = DbError::from(e).classify();
            noted(&e);
            fail_all(jobs, &e);
            return Ended::none();
        }
    };
    let sql = Sql::lite(&tx, key).for_store(store);
    let (done, broken) = run_jobs(&sql, jobs, &noted);
    drop(sql);
    let committed = match broken {
        Some(e) => {
            drop(tx); // rolls back
            Err(e)
        }
        None => tx.commit().map_err(|e| DbError::from(e).classify()),
    };
    if let Err(e) = &committed {
        noted(e);
    }
    settle(done, &committed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    fn db() -> (tempfile::TempDir, Db) {
        let (dir, db) = crate::db::scratch();
        db.write_blocking(|tx| tx.execute_batch("CREATE TABLE g (n INTEGER PRIMARY KEY)"))
            .unwrap();
        (dir, db)
    }

    fn stored(db: &Db) -> Vec<i64> {
        db.read_blocking(|c| c.query_map("SELECT n FROM g ORDER BY n", (), |r| r.get(0)))
            .unwrap()
    }

    #[derive(Debug)]
    struct Refused;
    impl From<DbError> for Refused {
        fn from(_: DbError) -> Self {
            Refused
        }
    }

    /// Writes queued while the writer is busy run as one group: the ones
    /// that fail or panic are rolled back alone and answered with their own
    /// failure; the others are stored, see the earlier ones of the group,
    /// and run their after-commit hooks, once.
    #[test]
    fn a_group_keeps_its_good_writes_and_answers_each_alone() {
        let (_dir, db) = db();
        let hooks = Arc::new(AtomicUsize::new(0));
        // Hold the writer until every grouped write is queued.
        let go = Arc::new(Barrier::new(2));
        let holder = {
            let (db, go) = (db.clone(), go.clone());
            std::thread::spawn(move || {
                db.write_blocking(|_| {
                    go.wait();
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    Ok(())
                })
                .unwrap()
            })
        };
        go.wait();
        let writers: Vec<_> = (1..=12i64)
            .map(|n| {
                let (db, hooks) = (db.clone(), hooks.clone());
                std::thread::spawn(move || {
                    db.write_grouped_blocking_as(move |tx| -> Result<i64, Refused> {
                        tx.execute("INSERT INTO g (n) VALUES (?1)", [n])?;
                        let seen: i64 = tx.query_row("SELECT count(*) FROM g", (), |r| r.get(0))?;
                        if n % 4 == 0 {
                            panic!("write {n} panics after its insert");
                        }
                        if n % 3 == 0 {
                            return Err(Refused);
                        }
                        tx.after_commit(move || {
                            hooks.fetch_add(1, Ordering::SeqCst);
                        });
                        Ok(seen)
                    })
                })
            })
            .collect();
        holder.join().unwrap();
        let answers: Vec<(i64, Result<i64, Refused>)> = writers
            .into_iter()
            .zip(1..)
            .map(|(t, n)| (n, t.join().unwrap()))
            .collect();
        for (n, a) in &answers {
            match a {
                Ok(seen) => assert!(*seen >= 1, "write {n} saw its own row"),
                Err(Refused) => assert!(n % 3 == 0 || n % 4 == 0, "write {n} refused"),
            }
            assert_eq!(a.is_ok(), n % 3 != 0 && n % 4 != 0, "write {n}: {a:?}");
        }
        let good: Vec<i64> = (1..=12).filter(|n| n % 3 != 0 && n % 4 != 0).collect();
        assert_eq!(stored(&db), good);
        assert_eq!(hooks.load(Ordering::SeqCst), good.len());
        let (groups, writes) = db.group_stats();
        assert!(
            groups < writes,
            "queued writes shared transactions: {groups} groups for {writes} writes"
        );
    }

    /// A group whose commit fails answers every kept write with that
    /// failure and stores none of them; the writer is usable afterwards.
    #[test]
    fn a_failed_commit_fails_every_write_of_the_group() {
        let (_dir, db) = db();
        db.write_blocking(|tx| {
            tx.execute_batch(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
            )
        })
        .unwrap();
        // A deferred foreign key is checked at the commit: a child without
        // its parent fails the whole group there.
        let r: Result<(), DbError> = db.write_grouped_blocking_as(|tx| {
            tx.execute("INSERT INTO g (n) VALUES (1)", ())?;
            tx.execute("INSERT INTO child (p) VALUES (42)", ())?;
            Ok(())
        });
        assert!(r.is_err(), "{r:?}");
        assert_eq!(stored(&db), Vec::<i64>::new());
        db.write_grouped_blocking_as(|tx| -> Result<(), DbError> {
            tx.execute("INSERT INTO g (n) VALUES (2)", ())?;
            Ok(())
        })
        .unwrap();
        assert_eq!(stored(&db), vec![2]);
    }
}
