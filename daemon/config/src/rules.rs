//! Rule pack files (`config/standards/*.toml`) and the site file's `[rules]`.
//!
//! A rule pack encodes part of the site's maintenance standard as rules
//! bound to point roles. The site file lists the packs it uses and may
//! override a rule's numbers per device; validation turns both into
//! [`sitewarden_model::catalog::RuleInstance`]s, one per rule and matching point.

use serde::Deserialize;
use sitewarden_model::vocab::{
    Category, LimitLevel, RuleAction, RuleKind, Severity, SiteState, StateValue,
};

use super::{ConfigDuration, Spanned};

/// `[rules]` in the site file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSection {
    /// Rule pack files, relative to the site file.
    #[serde(default)]
    pub packs: Vec<Spanned<String>>,
    /// Per-site or per-device changes to pack rules.
    #[serde(default)]
    pub overrides: Vec<RuleOverride>,
}

/// Changes to one rule, for every device or one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    /// `pack.rule` id.
    pub rule: Spanned<String>,
    /// Only this device; all devices when absent.
    #[serde(default)]
    pub device: Option<Spanned<String>>,
    /// New threshold (limit), service interval, rate per minute (rate) or
    /// figure of a combination's adjustable predicate.
    #[serde(default)]
    pub threshold: Option<Spanned<f64>>,
    /// New deadband.
    #[serde(default)]
    pub deadband: Option<Spanned<f64>>,
    /// New on-delay.
    #[serde(default)]
    pub on_delay: Option<Spanned<ConfigDuration>>,
    /// New off-delay.
    #[serde(default)]
    pub off_delay: Option<Spanned<ConfigDuration>>,
    /// New staleness limit.
    #[serde(default)]
    pub after: Option<Spanned<ConfigDuration>>,
    /// New rate window.
    #[serde(default)]
    pub window: Option<Spanned<ConfigDuration>>,
    /// New severity.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// False switches the rule off.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A rule pack file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePackFile {
    /// Pack id, the first part of every rule id (`hvac`).
    pub pack: Spanned<String>,
    /// What part of the standard the pack covers.
    #[serde(default)]
    pub description: Option<String>,
    /// The rules.
    #[serde(default)]
    pub rule: Vec<RuleSection>,
    /// Calendar work the standard asks for (half-monthly lift maintenance,
    /// fire-system tests), with checklists: preventive tickets, named
    /// `pack.id` (and `.device` for a schedule per device of a `role`).
    #[serde(default)]
    pub schedule: Vec<crate::tickets::PreventiveSection>,
}

/// One rule as written in a pack.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSection {
    /// Id, unique in the pack.
    pub id: Spanned<String>,
    /// What the condition means for the people who act on it.
    pub description: String,
    /// What the person who gets it should do, in a sentence or two.
    #[serde(default)]
    pub advice: Option<String>,
    /// How it is evaluated.
    pub kind: RuleKind,
    /// Role of the points it watches (for every kind but `all`/`any`).
    #[serde(default)]
    pub role: Option<Spanned<String>>,
    /// `high`, `high_high`, `low`, `low_low` for limits.
    #[serde(default)]
    pub level: Option<LimitLevel>,
    /// Limit threshold, or the service interval for `service_interval`.
    #[serde(default)]
    pub threshold: Option<Spanned<f64>>,
    /// How far back past the threshold the value must go to clear.
    #[serde(default)]
    pub deadband: Option<Spanned<f64>>,
    /// Value that is the condition, for `state` and `schedule`.
    #[serde(default)]
    pub equals: Option<Spanned<StateValue>>,
    /// Value that is normal (anything else is the condition), for `state`.
    #[serde(default)]
    pub differs: Option<Spanned<StateValue>>,
    /// Rise per minute that is the condition, for `rate`.
    #[serde(default)]
    pub rise_per_minute: Option<Spanned<f64>>,
    /// Fall per minute that is the condition, for `rate`.
    #[serde(default)]
    pub fall_per_minute: Option<Spanned<f64>>,
    /// Window the rate is measured over.
    #[serde(default)]
    pub window: Option<Spanned<ConfigDuration>>,
    /// No good reading for this long, for `stale`.
    #[serde(default)]
    pub after: Option<Spanned<ConfigDuration>>,
    /// Site state in which `equals` is the condition, for `schedule`; for
    /// `limit`, `state`, `rate`, `all` and `any`, the only hours the rule
    /// raises in (`open`: comfort while visitors are in; `closed`: energy
    /// left on at night).
    #[serde(default)]
    pub when: Option<SiteState>,
    /// Predicates on points of the same device, for `all` and `any`.
    #[serde(default)]
    pub of: Vec<PredicateSection>,
    /// How long the condition must hold before it is raised.
    #[serde(default)]
    pub on_delay: Option<Spanned<ConfigDuration>>,
    /// How long the clear condition must hold before it clears.
    #[serde(default)]
    pub off_delay: Option<Spanned<ConfigDuration>>,
    /// How bad.
    pub severity: Severity,
    /// Repair, warranty or inquiry (the site's request classes).
    #[serde(default)]
    pub category: Category,
    /// What a raised condition leads to.
    pub action: RuleAction,
    /// Which escalation policy its alerts follow; `equipment` when left out.
    #[serde(default)]
    pub class: sitewarden_model::vocab::AlertClass,
}

/// One test in an `all`/`any` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredicateSection {
    /// Role of a point on the same device.
    pub role: Spanned<String>,
    /// True when the value is above this.
    #[serde(default)]
    pub above: Option<f64>,
    /// True when the value is below this.
    #[serde(default)]
    pub below: Option<f64>,
    /// True when the value equals this.
    #[serde(default)]
    pub equals: Option<StateValue>,
    /// The site override's `threshold` replaces this predicate's figure
    /// (a circuit's own baseline load); at most one per rule.
    #[serde(default)]
    pub adjustable: bool,
}
