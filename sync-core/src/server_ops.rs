//! Ops the server writes itself: a supervisor's review or return (a status
//! change) and a resolution (a value that settles a field in conflict).
//!
//! They are built here from the visit's merged state, by the rules every
//! phone's ops follow: a resolution's `pred` is every version the field
//! holds (so it supersedes all of them on every replica), and each op's
//! clock is after the clock of what it supersedes, so it also shows first on
//! a replica that has not yet seen the causality (a phone whose clock ran
//! fast). The caller passes the op id (the server replica's next sequence
//! number) and the wall time, as everywhere in sync-core.

use crate::hlc::Hlc;
use crate::ids::OpId;
use crate::model::{Value, Visit};
use crate::op::{Action, Op, OpError, Target};
use crate::vocab::Status;

/// `wall_ms`, or just after `latest` when that is not earlier.
fn after(latest: Option<Hlc>, wall_ms: u64) -> Hlc {
    let now = Hlc::new(wall_ms, 0);
    match latest {
        Some(h) if h >= now => Hlc::new(h.wall_ms, h.counter.saturating_add(1)),
        _ => now,
    }
}

/// A status change of `v` (review, return, …) in its current round, after
/// the status it supersedes. `reason` travels with a return.
pub fn status_change(
    v: &Visit,
    id: OpId,
    wall_ms: u64,
    status: Status,
    reason: Option<String>,
) -> Op {
    let reached = v.status_register().reached().map(|r| r.stamp.hlc);
    Op {
        id,
        hlc: after(reached, wall_ms),
        visit: v.id(),
        action: Action::Status {
            status,
            round: v.status_register().round(),
            reason,
        },
    }
}

/// A value for `target` that supersedes every version the field holds in
/// `v` (none when the field was never set), after the latest of them.
/// Refused as the op's validation would refuse it (an invalid value).
pub fn resolution(
    v: &Visit,
    id: OpId,
    wall_ms: u64,
    target: Target,
    value: Value,
) -> Result<Op, OpError> {
    let (pred, latest) = match v.register(&target) {
        Some(reg) => (
            reg.heads(),
            reg.versions().iter().map(|x| x.stamp.hlc).max(),
        ),
        None => (Vec::new(), None),
    };
    let op = Op {
        id,
        hlc: after(latest, wall_ms),
        visit: v.id(),
        action: Action::Set {
            target,
            value,
            pred,
        },
    };
    op.validate()?;
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LocationKind, OperationId, Replica, ReplicaId, VisitField, VisitId};

    fn conflicted() -> (Visit, Target) {
        let visit = VisitId::from_u128(2);
        let mut a = Replica::new(ReplicaId::from_u128(10));
        let mut b = Replica::new(ReplicaId::from_u128(11));
        let create = a
            .create_visit(
                1_000,
                visit,
                OperationId::from_u128(1),
                LocationKind::CarWash,
            )
            .unwrap()
            .to_vec();
        b.apply(1_000, create);
        let pc = Target::Visit(VisitField::Postcode);
        let x = a
            .set(9_000, visit, pc.clone(), Value::Text("OX1 1AA".into()))
            .unwrap()
            .clone();
        b.set(2_000, visit, pc.clone(), Value::Text("OX4 2BB".into()))
            .unwrap();
        b.apply(9_000, [x]);
        (b.visit(&visit).unwrap().clone(), pc)
    }

    #[test]
    fn a_resolution_supersedes_every_version_and_comes_after_them() {
        let (mut v, pc) = conflicted();
        assert!(v.register(&pc).unwrap().is_conflict());
        let server = ReplicaId::from_u128(99);
        // The server's clock is behind the phone that wrote at 9,000.
        let op = resolution(
            &v,
            OpId::new(server, 1),
            5_000,
            pc.clone(),
            Value::Text("OX2 0AA".into()),
        )
        .unwrap();
        assert!(op.hlc > Hlc::new(9_000, 0));
        v.apply(&op);
        let reg = v.register(&pc).unwrap();
        assert!(!reg.is_conflict());
        assert_eq!(reg.get(), Some(&Value::Text("OX2 0AA".into())));
    }

    #[test]
    fn a_resolution_refuses_an_invalid_value() {
        let (v, pc) = conflicted();
        let bad = Value::Text("x".repeat(100_000));
        assert!(resolution(&v, OpId::new(ReplicaId::from_u128(99), 1), 5_000, pc, bad).is_err());
    }

    #[test]
    fn a_status_change_comes_after_the_status_it_supersedes() {
        let (mut v, _) = conflicted();
        let phone = ReplicaId::from_u128(11);
        let submit = Op {
            id: OpId::new(phone, 50),
            hlc: Hlc::new(20_000, 3),
            visit: v.id(),
            action: Action::Status {
                status: Status::Submitted,
                round: 0,
                reason: None,
            },
        };
        v.apply(&submit);
        let op = status_change(
            &v,
            OpId::new(ReplicaId::from_u128(99), 1),
            10_000,
            Status::Reviewed,
            None,
        );
        assert_eq!(op.hlc, Hlc::new(20_000, 4));
        v.apply(&op);
        assert_eq!(v.status(), Status::Reviewed);
    }
}
