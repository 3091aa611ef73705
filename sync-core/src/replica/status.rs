//! The explicit status and void actions of a local replica: submit (in the
//! round the register says), return for correction with a reason, void with
//! a reason and un-void. Who may do which is the server's permission table;
//! here each writes the op that means it.

use super::Replica;
use crate::ids::VisitId;
use crate::model::{Value, VisitField};
use crate::op::{Action, Op, OpError, Reason, Target};
use crate::vocab::Status;

impl Replica {
    /// Writes a status in the round it belongs to: a return closes the
    /// current round; anything else is written in
    /// [`crate::lattice::StatusRegister::next_round`] (the next round when
    /// the visit was returned, so a resubmit beats the return it has seen).
    /// A `returned` needs a reason: use [`Replica::return_visit`].
    pub fn set_status(
        &mut self,
        now_ms: u64,
        visit: VisitId,
        status: Status,
    ) -> Result<&Op, OpError> {
        let reg = self
            .existing(visit, Some("status".into()))?
            .status_register();
        let round = if status == Status::Returned {
            reg.round()
        } else {
            reg.next_round()
        };
        self.commit(
            now_ms,
            visit,
            Action::Status {
                status,
                round,
                reason: None,
            },
        )
    }

    /// Sends the visit back for correction in its current round, with the
    /// supervisor's reason (1 to [`crate::op::MAX_REASON_CHARS`] characters).
    pub fn return_visit(
        &mut self,
        now_ms: u64,
        visit: VisitId,
        reason: &str,
    ) -> Result<&Op, OpError> {
        let round = self
            .existing(visit, Some("status".into()))?
            .status_register()
            .round();
        self.commit(
            now_ms,
            visit,
            Action::Status {
                status: Status::Returned,
                round,
                reason: Some(reason.trim().to_owned()),
            },
        )
    }

    /// Voids the visit with a reason (the record is kept; summaries skip it).
    pub fn void(&mut self, now_ms: u64, visit: VisitId, reason: &str) -> Result<&Op, OpError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(OpError {
                op: crate::ids::OpId::new(self.id, self.next_seq()),
                visit,
                field: Some(VisitField::VoidReason.as_str().to_owned()),
                reason: Reason::Empty,
            });
        }
        let target = Target::Visit(VisitField::VoidReason);
        self.set(now_ms, visit, target, Value::Text(reason.to_owned()))
    }

    /// Un-voids the visit: supersedes every void this replica has seen.
    pub fn unvoid(&mut self, now_ms: u64, visit: VisitId) -> Result<&Op, OpError> {
        let target = Target::Visit(VisitField::VoidReason);
        self.set(now_ms, visit, target, Value::Empty)
    }
}
