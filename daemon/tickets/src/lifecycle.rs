//! The site's repair process as a state machine, and who may move it.
//!
//! registered → dispatched → in progress → resolved → accepted → archived;
//! a failed acceptance (`reject`) sends a resolved ticket back to in
//! progress for re-inspection and rework. Before it is resolved a ticket
//! may be put on hold (waiting for parts or for the customer; the
//! service-level clock stops) and resumed where it was, or cancelled (a
//! duplicate, a withdrawn request). Anything else is refused with the
//! actions that would be allowed.

use sitewarden_model::catalog::TicketRoles;
use sitewarden_model::vocab::ApiRole;

sitewarden_model::text_enum! {
    /// Where a ticket is in the repair process.
    Status {
        /// Registered; waiting for a technician.
        Registered = "registered",
        /// Assigned to a technician.
        Dispatched = "dispatched",
        /// The technician is on it.
        InProgress = "in_progress",
        /// The technician says it is fixed; waiting for acceptance.
        Resolved = "resolved",
        /// The requester accepted the repair.
        Accepted = "accepted",
        /// Filed; read-only.
        Archived = "archived",
        /// Waiting for parts or for the customer; the service-level clock stops.
        OnHold = "on_hold",
        /// A duplicate or a withdrawn request; closed without a repair.
        Cancelled = "cancelled",
    }
}

sitewarden_model::text_enum! {
    /// A step a person asks for.
    Action {
        /// Assign (or reassign) to a technician.
        Dispatch = "dispatch",
        /// The technician starts work.
        Start = "start",
        /// The technician finished.
        Resolve = "resolve",
        /// The requester accepts the repair.
        Accept = "accept",
        /// The requester does not accept: back for re-inspection.
        Reject = "reject",
        /// File the accepted ticket.
        Archive = "archive",
        /// Wait for parts or for the customer (a reason is required).
        Hold = "hold",
        /// Go on from where it was held.
        Resume = "resume",
        /// Close without a repair: a duplicate, a withdrawn request (a reason is required).
        Cancel = "cancel",
        /// The return visit after an accepted repair: its outcome (`note`)
        /// and the requester's satisfaction, 1–5 (`score`).
        Visit = "visit",
    }
}

impl Status {
    /// Open tickets collect occurrences of their condition and count against service levels.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Accepted | Self::Archived | Self::Cancelled)
    }
}

impl Action {
    /// The state this action leads to from `from`, if it is allowed there.
    /// `resume` goes back to where the ticket was held, which the store
    /// keeps; `in_progress` here stands for it.
    pub fn apply(self, from: Status) -> Option<Status> {
        use Status::*;
        let to = match (self, from) {
            // Re-dispatch: another technician, also for the rework after a rejection.
            (Self::Dispatch, Registered | Dispatched | InProgress) => Dispatched,
            (Self::Start, Dispatched) => InProgress,
            (Self::Resolve, InProgress) => Resolved,
            (Self::Accept, Resolved) => Accepted,
            (Self::Reject, Resolved) => InProgress,
            (Self::Archive, Accepted) => Archived,
            (Self::Hold, Registered | Dispatched | InProgress) => OnHold,
            (Self::Resume, OnHold) => InProgress,
            (Self::Cancel, Registered | Dispatched | InProgress | OnHold) => Cancelled,
            (Self::Visit, Accepted) => Accepted,
            _ => return None,
        };
        Some(to)
    }

    /// The actions allowed from `status`.
    pub fn allowed_from(status: Status) -> Vec<Self> {
        Self::ALL
            .iter()
            .copied()
            .filter(|a| a.apply(status).is_some())
            .collect()
    }

    /// Roles that may take this action (admins may take any): dispatch
    /// and the requester's acceptance as the site configures them
    /// (`[tickets.roles]`), the rest as the process has them.
    pub fn roles(self, configured: &TicketRoles) -> &[ApiRole] {
        use ApiRole::*;
        match self {
            Self::Dispatch => &configured.dispatch,
            Self::Accept | Self::Reject => &configured.accept,
            Self::Archive => &[Engineer],
            Self::Start | Self::Resolve => &[Technician, Engineer],
            // Whoever waits for the parts or for the customer says so.
            Self::Hold | Self::Resume => &[FrontDesk, Technician, Engineer],
            // The desk that registered a request withdraws it, and visits.
            Self::Cancel | Self::Visit => &[FrontDesk, Engineer],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repair_process_with_a_rejection_reaches_archived() {
        let steps = [
            Action::Dispatch,
            Action::Start,
            Action::Resolve,
            Action::Reject,
            Action::Resolve,
            Action::Accept,
            Action::Archive,
        ];
        let mut status = Status::Registered;
        for a in steps {
            status = a
                .apply(status)
                .unwrap_or_else(|| panic!("{a:?} from {status:?}"));
        }
        assert_eq!(status, Status::Archived);
    }

    #[test]
    fn every_state_allows_exactly_the_documented_actions() {
        let expected: [(Status, &[Action]); 8] = [
            (
                Status::Registered,
                &[Action::Dispatch, Action::Hold, Action::Cancel],
            ),
            (
                Status::Dispatched,
                &[
                    Action::Dispatch,
                    Action::Start,
                    Action::Hold,
                    Action::Cancel,
                ],
            ),
            (
                Status::InProgress,
                &[
                    Action::Dispatch,
                    Action::Resolve,
                    Action::Hold,
                    Action::Cancel,
                ],
            ),
            (Status::Resolved, &[Action::Accept, Action::Reject]),
            (Status::Accepted, &[Action::Archive, Action::Visit]),
            (Status::Archived, &[]),
            (Status::OnHold, &[Action::Resume, Action::Cancel]),
            (Status::Cancelled, &[]),
        ];
        for (status, actions) in expected {
            assert_eq!(Action::allowed_from(status), actions, "{status:?}");
        }
    }
}
