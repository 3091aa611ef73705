//! Who may produce which op: the one table the push path consults for every
//! op a device sends, and the scope rule ("a phone holds what its officer
//! needs") in words. No SQL and no HTTP here; `db::sync` gathers the facts
//! about the visit and the device's user, this module decides.
//!
//! | action (op)                                  | officer device | supervisor device | admin device |
//! |----------------------------------------------|----------------|-------------------|--------------|
//! | `create` in an operation the user belongs to | yes            | yes               | yes          |
//! | `create` elsewhere                           | no             | no                | no           |
//! | edit (`set`, `add`, `remove`, `add_person`, `note`) of a visit it holds | yes | yes | yes |
//! | edit of a visit it does not hold             | no             | no                | no           |
//! | `status: submitted` (or `draft`) of a visit it holds, in a round the server has opened (a resubmit after a return included) | yes | yes | yes |
//! | `status: submitted` in a round not yet opened | no            | no                | no           |
//! | `status: reviewed` or `returned`             | no             | no                | no           |
//! | any other status                             | no             | no                | no           |
//! | void (`set void_reason` to a reason) of a visit it holds | its creator, while a draft | yes | yes |
//! | un-void (`set void_reason` empty) of a visit it holds | no  | yes               | yes          |
//!
//! A round is opened only by a return, and only the server writes returns,
//! so a phone's submit may name at most the round after the server's last
//! return: a phone cannot jump a round to undo a review.
//!
//! Reviews and returns are never pushed by a phone: a supervisor or admin of
//! the operation reviews through `POST /visits/{id}/review` and returns
//! through `POST /visits/{id}/return` (with a reason), and the server's own
//! replica writes the op (as it does for conflict resolutions). The server's
//! replica is not subject to this table.
//!
//! **Holds** (the scope rule): a device holds a visit when its user is a
//! member of the visit's operation and the visit is theirs (any of the user's
//! devices created or edited it), their team's (the creator's team when it
//! was created), or shared with them or their team by a supervisor. The SQL
//! form is [`crate::db::scope`]; pull and push both use it.

use crate::domain::Role;
use sync_core::{Action, Status, Target, Value, VisitField};

/// The kinds of op the table distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Creates a visit.
    Create,
    /// Changes the record's content (fields, sets, persons, notes).
    Edit,
    /// Writes a reason to `void_reason` (voids).
    Void,
    /// Clears `void_reason` (un-voids).
    Unvoid,
    /// Sets status `draft` or `submitted` in a round.
    Submit {
        /// The op's round.
        round: u32,
    },
    /// Sets status `reviewed`.
    Review,
    /// Sets status `returned`.
    Return,
    /// Sets a status this server does not know.
    OtherStatus,
}

impl OpKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [OpKind; 8] = [
        OpKind::Create,
        OpKind::Edit,
        OpKind::Void,
        OpKind::Unvoid,
        OpKind::Submit { round: 0 },
        OpKind::Review,
        OpKind::Return,
        OpKind::OtherStatus,
    ];

    /// The kind of an op's action.
    pub fn of(action: &Action) -> Self {
        match action {
            Action::Create { .. } => OpKind::Create,
            Action::Set {
                target: Target::Visit(VisitField::VoidReason),
                value,
                ..
            } => match value {
                Value::Text(t) if !t.trim().is_empty() => OpKind::Void,
                _ => OpKind::Unvoid,
            },
            Action::Set { .. }
            | Action::Add { .. }
            | Action::Remove { .. }
            | Action::AddPerson { .. }
            | Action::Note { .. } => OpKind::Edit,
            Action::Status { status, round, .. } => match status {
                Status::Draft | Status::Submitted => OpKind::Submit { round: *round },
                Status::Reviewed => OpKind::Review,
                Status::Returned => OpKind::Return,
                Status::Unrecognised(_) => OpKind::OtherStatus,
            },
        }
    }
}

/// What the server knows about the visit and the pushing device's user when
/// it decides on one op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    /// The user belongs to the visit's operation (for a create: the
    /// operation it names).
    pub member: bool,
    /// The device holds the visit (the scope rule). True for a visit the
    /// same push is creating.
    pub holds: bool,
    /// The user's device created the visit.
    pub creator: bool,
    /// The visit's status round as the server has merged it so far.
    pub round: u32,
    /// Its status's rank within the round ([`Status::rank`]: 0 draft,
    /// 1 submitted, 2 reviewed, 3 returned).
    pub status_rank: u8,
}

impl Facts {
    /// The latest round a submit may name: the current one, or the next
    /// once it has been returned.
    pub fn next_round(&self) -> u32 {
        let returned = Status::Returned.rank() == Some(self.status_rank);
        self.round.saturating_add(u32::from(returned))
    }

    /// Takes in a status the same push has just stored.
    pub fn observe_status(&mut self, status: &Status, round: u32) {
        if let Some(rank) = status.rank() {
            if (round, rank) > (self.round, self.status_rank) {
                (self.round, self.status_rank) = (round, rank);
            }
        }
    }
}

/// Why an op was refused: a stable code and a sentence for the officer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Stable machine code.
    pub code: &'static str,
    /// What to tell the person.
    pub message: &'static str,
}

const NOT_MEMBER: Refusal = Refusal {
    code: "forbidden_operation",
    message: "you are not a member of this operation",
};
const NOT_HELD: Refusal = Refusal {
    code: "forbidden_visit",
    message: "this visit is not one your phone holds (not yours, your team's or shared with you)",
};
const REVIEW: Refusal = Refusal {
    code: "forbidden_action",
    message: "a phone cannot mark a visit reviewed; a supervisor reviews it on the review page",
};
const RETURN: Refusal = Refusal {
    code: "forbidden_action",
    message: "a phone cannot return a visit; a supervisor returns it on the review page",
};
const ROUND: Refusal = Refusal {
    code: "forbidden_action",
    message: "a phone may submit only in the visit's current round (after a return: the next one)",
};
const UNVOID: Refusal = Refusal {
    code: "forbidden_action",
    message: "only a supervisor or an admin may un-void a visit",
};
const STATUS: Refusal = Refusal {
    code: "forbidden_action",
    message: "a phone may only submit a visit",
};
const VOID: Refusal = Refusal {
    code: "forbidden_action",
    message: "only the recording officer, while the visit is a draft, or a supervisor may void it",
};

/// The table: may a device whose user has `role` produce an op of `kind`,
/// given `facts`?
pub fn decide(role: Role, kind: OpKind, facts: Facts) -> Result<(), Refusal> {
    let staff = matches!(role, Role::Supervisor | Role::Admin);
    match kind {
        OpKind::Create if facts.member => Ok(()),
        OpKind::Create => Err(NOT_MEMBER),
        _ if !facts.member || !facts.holds => Err(NOT_HELD),
        OpKind::Edit => Ok(()),
        OpKind::Submit { round } if round <= facts.next_round() => Ok(()),
        OpKind::Submit { .. } => Err(ROUND),
        OpKind::Review => Err(REVIEW),
        OpKind::Return => Err(RETURN),
        OpKind::OtherStatus => Err(STATUS),
        OpKind::Void if staff || (facts.creator && facts.status_rank == 0) => Ok(()),
        OpKind::Void => Err(VOID),
        OpKind::Unvoid if staff => Ok(()),
        OpKind::Unvoid => Err(UNVOID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(member: bool, holds: bool, creator: bool, status_rank: u8) -> Facts {
        Facts {
            member,
            holds,
            creator,
            round: 0,
            status_rank,
        }
    }

    /// The table above, row by row: `(kind, facts, [officer, supervisor, admin])`.
    #[test]
    fn the_table() {
        let held_draft_mine = facts(true, true, true, 0);
        let held_submitted_mine = facts(true, true, true, 1);
        let held_returned_mine = facts(true, true, true, 3);
        let held_reviewed_mine = facts(true, true, true, 2);
        let held_draft_other = facts(true, true, false, 0);
        let not_held = facts(true, false, false, 0);
        let not_member = facts(false, false, false, 0);
        let submit = |round| OpKind::Submit { round };
        #[rustfmt::skip]
        let rows: &[(OpKind, Facts, [bool; 3])] = &[
            (OpKind::Create, held_draft_mine, [true, true, true]),
            (OpKind::Create, not_member, [false, false, false]),
            (OpKind::Edit, held_draft_other, [true, true, true]),
            (OpKind::Edit, held_submitted_mine, [true, true, true]),
            (OpKind::Edit, not_held, [false, false, false]),
            (OpKind::Edit, not_member, [false, false, false]),
            (submit(0), held_draft_other, [true, true, true]),
            (submit(0), not_held, [false, false, false]),
            (submit(1), held_returned_mine, [true, true, true]),
            (submit(1), held_reviewed_mine, [false, false, false]),
            (submit(2), held_returned_mine, [false, false, false]),
            (OpKind::Review, held_submitted_mine, [false, false, false]),
            (OpKind::Return, held_submitted_mine, [false, false, false]),
            (OpKind::OtherStatus, held_draft_mine, [false, false, false]),
            (OpKind::Void, held_draft_mine, [true, true, true]),
            (OpKind::Void, held_submitted_mine, [false, true, true]),
            (OpKind::Void, held_returned_mine, [false, true, true]),
            (OpKind::Void, held_draft_other, [false, true, true]),
            (OpKind::Void, not_held, [false, false, false]),
            (OpKind::Unvoid, held_draft_mine, [false, true, true]),
            (OpKind::Unvoid, not_held, [false, false, false]),
        ];
        for (kind, f, want) in rows {
            for (role, want) in [Role::Officer, Role::Supervisor, Role::Admin]
                .iter()
                .zip(want)
            {
                assert_eq!(
                    decide(*role, *kind, *f).is_ok(),
                    *want,
                    "{kind:?} {role:?} {f:?}"
                );
            }
        }
    }
}
