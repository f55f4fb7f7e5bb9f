//! The repair process's settings: priorities, service levels, the CMMS webhook, preventive schedules.

use super::*;

/// How the repair process runs on this site.
#[derive(Debug, Clone)]
pub struct TicketSettings {
    /// Priority by severity (info … critical) and impact (site, area, local).
    pub matrix: [[crate::vocab::Priority; 3]; 4],
    /// Targets by priority (P1 … P4).
    pub service_levels: [ServiceLevel; 4],
    /// External CMMS receiving every change.
    pub webhook: Option<WebhookTarget>,
    /// Calendar maintenance.
    pub preventive: Vec<PreventiveSchedule>,
    /// Who may register, dispatch and accept (admins always may).
    pub roles: TicketRoles,
    /// How long after an accepted repair its return visit falls due.
    pub return_visit_after: std::time::Duration,
    /// `[alerts.channels]` that tell a technician a repair is theirs.
    pub notify: Vec<String>,
    /// `[alerts.channels]` (e-mail, webhook) that tell requesters about their request.
    pub tell_requesters: Vec<String>,
    /// After this long waiting for acceptance the front desk is reminded.
    pub remind_acceptance_after: Option<Duration>,
    /// After this long waiting for acceptance the repair is accepted by default.
    pub accept_by_default_after: Option<Duration>,
    /// How long the requester's acceptance link works.
    pub acceptance_link_valid_for: Duration,
    /// The register of extinguishers and hose reels; empty when the site keeps none here.
    pub extinguishers: Vec<super::Extinguisher>,
}

/// `[tickets.roles]`: who takes the repair process's people-facing steps.
/// The plan's defaults: the front desk registers and dispatches, and takes
/// the requester's acceptance; the engineer may too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRoles {
    /// Register a request.
    pub register: Vec<crate::vocab::ApiRole>,
    /// Dispatch (and re-dispatch) to a technician.
    pub dispatch: Vec<crate::vocab::ApiRole>,
    /// Record the requester's acceptance or rejection.
    pub accept: Vec<crate::vocab::ApiRole>,
}

impl Default for TicketRoles {
    fn default() -> Self {
        use crate::vocab::ApiRole::*;
        Self {
            register: vec![FrontDesk, Technician, Engineer],
            dispatch: vec![FrontDesk, Engineer],
            accept: vec![FrontDesk, Engineer],
        }
    }
}

impl TicketSettings {
    /// The priority a fault of this severity and reach gets.
    pub fn priority(
        &self,
        severity: crate::vocab::Severity,
        impact: crate::vocab::Impact,
    ) -> crate::vocab::Priority {
        self.matrix[severity as usize][impact as usize]
    }

    /// Targets for a priority.
    pub fn level(&self, priority: crate::vocab::Priority) -> ServiceLevel {
        self.service_levels[priority as usize]
    }
}

/// Response and resolution targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLevel {
    /// Registration to work started.
    pub response: Duration,
    /// Registration to resolved.
    pub resolution: Duration,
}

/// Where ticket changes are POSTed.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    /// URL.
    pub url: String,
    /// Bearer token.
    pub token: Option<crate::secret::Secret>,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

/// A ticket opened on a calendar.
#[derive(Debug, Clone)]
pub struct PreventiveSchedule {
    /// Stable id.
    pub id: String,
    /// Ticket title.
    pub title: String,
    /// Device the work is on.
    pub device: Option<DeviceId>,
    /// Which days.
    pub rule: CalendarRule,
    /// Local time of day.
    pub at: jiff::civil::Time,
    /// Priority of its tickets.
    pub priority: crate::vocab::Priority,
    /// What the technician checks on each of its tickets, in order.
    pub checklist: Vec<String>,
}

/// Which days a preventive schedule falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarRule {
    /// Every day.
    Daily,
    /// One weekday a week.
    Weekly(jiff::civil::Weekday),
    /// One day a month; past a short month's end, its last day.
    Monthly(u8),
    /// Twice a month: a day (1–15) and the day fifteen after it (the
    /// plan's half-monthly lift maintenance); past a short month's end,
    /// its last day.
    HalfMonthly(u8),
    /// One day every third month, starting in `first_month` (1–3).
    Quarterly {
        /// The first month of the quarter it falls in: 1 (Jan, Apr, Jul, Oct), 2 or 3.
        first_month: u8,
        /// Day of that month.
        day: u8,
    },
    /// Every `n` days counted from `start` (RRULE `FREQ=DAILY;INTERVAL=n`).
    EveryDays {
        /// Days between occurrences, 2–366.
        n: u16,
        /// The first day.
        start: jiff::civil::Date,
    },
    /// Chosen weekdays of every `n`th week counted from the week of
    /// `start` (RRULE `FREQ=WEEKLY;INTERVAL=n;BYDAY=…`).
    Weekdays {
        /// Bits, Monday = bit 0.
        days: u8,
        /// Weeks between, 1–52.
        n: u16,
        /// The first day (none: every week).
        start: Option<jiff::civil::Date>,
    },
    /// Chosen days of every `n`th month counted from the month of `start`
    /// (RRULE `FREQ=MONTHLY;INTERVAL=n;BYMONTHDAY=…`); a day past a short
    /// month's end falls on its last day.
    MonthDays {
        /// Bits, day 1 = bit 1.
        days: u32,
        /// Months between, 1–12.
        n: u16,
        /// The first day (none: every month).
        start: Option<jiff::civil::Date>,
    },
    /// One day a year.
    Yearly {
        /// Month, 1–12.
        month: u8,
        /// Day of that month; 29 February falls on the 28th in other years.
        day: u8,
    },
}
