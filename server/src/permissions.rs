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
//! | `status: submitted` (or `draft`) of a visit it holds | yes    | yes               | yes          |
//! | `status: reviewed`                           | no             | no                | no           |
//! | any other status                             | no             | no                | no           |
//! | void (`set void_reason`, to void or un-void) of a visit it holds | its creator, while a draft | yes | yes |
//!
//! Reviews are never pushed by a phone: a supervisor or admin of the
//! operation reviews through `POST /visits/{id}/review`, and the server's own
//! replica writes the op (as it does for conflict resolutions). The server's
//! replica is not subject to this table.
//!
//! **Holds** (the scope rule): a device holds a visit when its user is a
//! member of the visit's operation and the visit is theirs (any of the user's
//! devices created or edited it), their team's (the creator's team when it
//! was created), or shared with them or their team by a supervisor. The SQL
//! form is [`crate::db::scope`]; pull and push both use it.

use crate::domain::Role;
use sync_core::{Action, Status, Target, VisitField};

/// The kinds of op the table distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Creates a visit.
    Create,
    /// Changes the record's content (fields, sets, persons, notes).
    Edit,
    /// Writes `void_reason` (voids or un-voids).
    Void,
    /// Sets status `draft` or `submitted`.
    Submit,
    /// Sets status `reviewed`.
    Review,
    /// Sets a status this server does not know.
    OtherStatus,
}

impl OpKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [OpKind; 6] = [
        OpKind::Create,
        OpKind::Edit,
        OpKind::Void,
        OpKind::Submit,
        OpKind::Review,
        OpKind::OtherStatus,
    ];

    /// The kind of an op's action.
    pub fn of(action: &Action) -> Self {
        match action {
            Action::Create { .. } => OpKind::Create,
            Action::Set {
                target: Target::Visit(VisitField::VoidReason),
                ..
            } => OpKind::Void,
            Action::Set { .. }
            | Action::Add { .. }
            | Action::Remove { .. }
            | Action::AddPerson { .. }
            | Action::Note { .. } => OpKind::Edit,
            Action::Status { status } => match status {
                Status::Draft | Status::Submitted => OpKind::Submit,
                Status::Reviewed => OpKind::Review,
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
    /// The visit's status as the server has merged it so far.
    pub status_rank: u8,
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
        OpKind::Edit | OpKind::Submit => Ok(()),
        OpKind::Review => Err(REVIEW),
        OpKind::OtherStatus => Err(STATUS),
        OpKind::Void if staff || (facts.creator && facts.status_rank == 0) => Ok(()),
        OpKind::Void => Err(VOID),
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
            status_rank,
        }
    }

    /// The table above, row by row: `(kind, facts, [officer, supervisor, admin])`.
    #[test]
    fn the_table() {
        let held_draft_mine = facts(true, true, true, 0);
        let held_submitted_mine = facts(true, true, true, 1);
        let held_draft_other = facts(true, true, false, 0);
        let not_held = facts(true, false, false, 0);
        let not_member = facts(false, false, false, 0);
        #[rustfmt::skip]
        let rows: &[(OpKind, Facts, [bool; 3])] = &[
            (OpKind::Create, held_draft_mine, [true, true, true]),
            (OpKind::Create, not_member, [false, false, false]),
            (OpKind::Edit, held_draft_other, [true, true, true]),
            (OpKind::Edit, held_submitted_mine, [true, true, true]),
            (OpKind::Edit, not_held, [false, false, false]),
            (OpKind::Edit, not_member, [false, false, false]),
            (OpKind::Submit, held_draft_other, [true, true, true]),
            (OpKind::Submit, not_held, [false, false, false]),
            (OpKind::Review, held_submitted_mine, [false, false, false]),
            (OpKind::OtherStatus, held_draft_mine, [false, false, false]),
            (OpKind::Void, held_draft_mine, [true, true, true]),
            (OpKind::Void, held_submitted_mine, [false, true, true]),
            (OpKind::Void, held_draft_other, [false, true, true]),
            (OpKind::Void, not_held, [false, false, false]),
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
