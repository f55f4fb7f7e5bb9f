//! What the benchmarks share: settings from the environment, percentiles,
//! and the moment an alarm's first notification arrives.

use super::*;

/// A whole-number setting from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `q` quantile (0–1) of `sorted`, in milliseconds (nearest rank).
pub fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1);
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// The first `step` notification of an alert of `rule` not in `seen`, and
/// now (when it was found).
pub fn first_notification(
    subscriber: &Subscriber,
    rule: &str,
    seen: &std::collections::BTreeSet<i64>,
) -> Option<(i64, Instant)> {
    let now = Instant::now();
    subscriber.messages().iter().find_map(|m| {
        let v: serde_json::Value = serde_json::from_str(&m.payload).ok()?;
        let id = v["alert"]["id"].as_i64()?;
        (v["reason"] == "step" && v["alert"]["rule"] == rule && !seen.contains(&id))
            .then_some((id, now))
    })
}
