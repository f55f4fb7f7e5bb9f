//! The rules stage's counters: conditions active now and lifecycle
//! transitions, rendered for `GET /metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use sitewarden_runtime::metrics::{family, sample};

use super::Transition;

/// Condition transitions with their own counter, in label order.
const TRANSITIONS: [Transition; 6] = [
    Transition::Pending,
    Transition::Raised,
    Transition::Clearing,
    Transition::Cleared,
    Transition::PendingCancelled,
    Transition::ClearingCancelled,
];

/// Counters of the rules stage.
#[derive(Debug, Default)]
pub struct RulesMetrics {
    conditions_active: AtomicU64,
    transitions: [AtomicU64; TRANSITIONS.len()],
}

impl RulesMetrics {
    /// Records how many conditions are active or clearing.
    pub fn set_active_conditions(&self, n: u64) {
        self.conditions_active.store(n, Relaxed);
    }

    /// Counts one condition transition.
    pub fn count_transition(&self, t: Transition) {
        if let Some(i) = TRANSITIONS.iter().position(|x| *x == t) {
            self.transitions[i].fetch_add(1, Relaxed);
        }
    }

    /// Writes the stage's series for `GET /metrics`.
    pub fn render(&self, out: &mut String, site: &str) {
        let name = "sitewarden_conditions_active";
        family(out, name, "gauge", "Conditions raised and not yet cleared.");
        sample(out, name, site, self.conditions_active.load(Relaxed));
        let name = "sitewarden_condition_transitions_total";
        family(out, name, "counter", "Condition lifecycle transitions.");
        for (t, n) in TRANSITIONS.iter().zip(&self.transitions) {
            let _ = writeln!(
                out,
                "{name}{{site=\"{site}\",transition=\"{}\"}} {}",
                t.as_str(),
                n.load(Relaxed)
            );
        }
    }
}
