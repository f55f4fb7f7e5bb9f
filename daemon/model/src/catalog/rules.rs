//! Rules as bound to this site: each rule, its instances on points, and what they check.

use super::*;

/// Index of a rule in [`Catalog::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

/// A rule of a loaded pack.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `pack.rule`.
    pub id: String,
    /// What the condition means, in the site's language.
    pub description: String,
    /// What to do about it, in the site's language, when the pack says.
    pub advice: Option<String>,
    /// How it is evaluated.
    pub kind: RuleKind,
    /// Role it binds to, if any.
    pub role: Option<String>,
    /// Default severity (an override may change it per device).
    pub severity: Severity,
    /// Request class.
    pub category: Category,
    /// Ticket, alert, both or record only.
    pub action: RuleAction,
    /// Escalation policy of its alerts.
    pub class: crate::vocab::AlertClass,
}

/// One rule applied to one point of one device: one condition slot.
#[derive(Debug, Clone)]
pub struct RuleInstance {
    /// The rule.
    pub rule: RuleId,
    /// The device.
    pub device: DeviceId,
    /// The point whose readings drive it (for `all`/`any` the first predicate's).
    pub point: PointId,
    /// What is tested, with overrides applied.
    pub check: Check,
    /// How long the condition must hold before it is raised.
    pub on_delay: Duration,
    /// How long the clear condition must hold before it clears.
    pub off_delay: Duration,
    /// Severity after overrides.
    pub severity: Severity,
    /// Only while the site is open (or closed): a hot show flat matters to
    /// visitors, not at night. `None` for every hour.
    pub only_while: Option<crate::vocab::SiteState>,
}

/// What a rule instance tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Raised beyond `threshold`, cleared back past `clear_at`.
    Limit {
        /// Above (high) or below (low).
        upper: bool,
        /// Raise point.
        threshold: f64,
        /// Clear point (threshold minus or plus the deadband).
        clear_at: f64,
    },
    /// Raised while the value equals `value` (or, with `when_equal` false, differs from it).
    State {
        /// Compared value (true = 1).
        value: f64,
        /// Condition when equal (`equals`) or when different (`differs`).
        when_equal: bool,
    },
    /// Raised while the value changes faster than `per_minute` (negative: falls).
    Rate {
        /// Signed rate threshold per minute.
        per_minute: f64,
        /// Measurement window.
        window: Duration,
    },
    /// Raised when no good reading arrived for `after`.
    Stale {
        /// Staleness limit.
        after: Duration,
    },
    /// Raised while the device is offline.
    Offline,
    /// Raised when the counter passed `interval` since the last recorded service.
    ServiceInterval {
        /// Service interval in the counter's unit.
        interval: f64,
    },
    /// Raised while the site is open (`when_open`) or closed and the value equals `value`.
    Schedule {
        /// Which site state makes `value` wrong.
        when_open: bool,
        /// The wrong value.
        value: f64,
    },
    /// Raised while all (or any) predicates on the device's points hold.
    Combination {
        /// All or any.
        all: bool,
        /// Point and test.
        of: Vec<(PointId, Predicate)>,
    },
}

/// One test of a combination rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Predicate {
    /// Value > x.
    Above(f64),
    /// Value < x.
    Below(f64),
    /// Value == x.
    Equals(f64),
}

impl Predicate {
    /// The same test against another figure: what a site override's
    /// `threshold` does to a combination's adjustable predicate.
    pub fn with_figure(self, x: f64) -> Self {
        match self {
            Self::Above(_) => Self::Above(x),
            Self::Below(_) => Self::Below(x),
            Self::Equals(_) => Self::Equals(x),
        }
    }
}

impl Predicate {
    /// Does `value` satisfy it?
    pub fn holds(self, value: f64) -> bool {
        match self {
            Self::Above(x) => value > x,
            Self::Below(x) => value < x,
            Self::Equals(x) => value == x,
        }
    }
}
