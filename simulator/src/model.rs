//! How each kind of equipment behaves, driven by point roles.
//!
//! Values move at `time_scale` simulated seconds per real second (60 by
//! default: a minute a second), so run hours and filter clogging are
//! visible in a demo while temperatures still wander plausibly.

use rand::Rng as _;

use crate::profile::SimPoint;

/// A value held by the scenario instead of the model.
#[derive(Debug, Clone, Copy)]
pub enum Pin {
    /// Fixed until released, or until `until_s` when the value goes back to `restore`.
    Fixed {
        /// The value.
        value: f64,
        /// Real seconds since start when the pin ends.
        until_s: Option<f64>,
        /// The value before the pin, put back when it ends.
        restore: f64,
    },
    /// Linear ramp from `from` at `start_s` to `to` at `start_s + over_s`, then held.
    Ramp {
        /// Starting value.
        from: f64,
        /// Final value.
        to: f64,
        /// Real seconds since start when the ramp began.
        start_s: f64,
        /// Ramp length, real seconds.
        over_s: f64,
    },
}

impl Pin {
    /// The pinned value at `now_s`, or `Err(restore)` once the pin has expired.
    pub fn value_at(&self, now_s: f64) -> Result<f64, f64> {
        match *self {
            Self::Fixed {
                value,
                until_s,
                restore,
            } => match until_s {
                Some(until) if now_s >= until => Err(restore),
                _ => Ok(value),
            },
            Self::Ramp {
                from,
                to,
                start_s,
                over_s,
            } => {
                let progress = if over_s <= 0.0 {
                    1.0
                } else {
                    ((now_s - start_s) / over_s).clamp(0.0, 1.0)
                };
                Ok(from + (to - from) * progress)
            }
        }
    }
}

/// Which behaviour a device follows, chosen by its profile name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Air-handling unit.
    AirHandler,
    /// Lighting panel.
    Lighting,
    /// Access-control controller.
    AccessControl,
    /// Fire alarm panel.
    FirePanel,
    /// Anything else: values change only by scenario.
    Static,
}

impl Model {
    /// The model for a profile name.
    pub fn for_profile(profile: &str) -> Self {
        match profile {
            "ahu" => Self::AirHandler,
            "lighting-panel" => Self::Lighting,
            "access-control" => Self::AccessControl,
            "fire-panel" => Self::FirePanel,
            _ => Self::Static,
        }
    }

    /// Starting values, by role.
    pub fn initial(self, point: &SimPoint) -> f64 {
        match point.role.as_deref().unwrap_or("") {
            "supply_air_temp" => 16.0,
            "supply_air_setpoint" => 16.0,
            "return_air_temp" => 24.0,
            "outdoor_air_temp" => 29.0,
            "filter_dp" => 120.0,
            "fan_status" | "compressor_status" | "circuit_status" | "controller_online"
            | "camera_online" | "lift_in_service" => 1.0,
            "fan_run_hours" => 12_000.0,
            "filter_run_hours" => 1_500.0,
            "lamp_run_hours" => 24_000.0,
            "circuit_power" => 420.0,
            "sprinkler_pressure" => 6.5,
            _ => 0.0,
        }
    }

    /// Advances one point by `dt` real seconds.
    pub fn step(
        self,
        point: &SimPoint,
        current: f64,
        all: &[(String, f64)],
        dt: f64,
        time_scale: f64,
    ) -> f64 {
        let mut rng = rand::rng();
        let hours = dt * time_scale / 3600.0;
        let role = point.role.as_deref().unwrap_or("");
        match (self, role) {
            (Self::AirHandler, "supply_air_temp") => {
                let setpoint = by_role(all, "supply_air_setpoint").unwrap_or(16.0);
                current
                    + (setpoint - current) * (dt / 30.0).min(1.0)
                    + rng.random_range(-0.05..0.05)
            }
            (Self::AirHandler, "return_air_temp") => 24.0 + rng.random_range(-0.3..0.3),
            (Self::AirHandler, "outdoor_air_temp") => current + rng.random_range(-0.02..0.02),
            (Self::AirHandler, "fan_run_hours" | "filter_run_hours") => current + hours,
            (Self::AirHandler, "filter_dp") => {
                // Clogging: about 0.05 Pa per fan hour on top of a clean filter's 80 Pa.
                let filter_hours = by_role(all, "filter_run_hours").unwrap_or(0.0);
                80.0 + filter_hours * 0.05 * 0.5 + rng.random_range(-2.0..2.0)
            }
            (Self::Lighting, "lamp_run_hours") => current + hours,
            (Self::Lighting, "circuit_power") => {
                // Ageing lamps draw more: +20 % at 50,000 h.
                let lamp_hours = by_role(all, "lamp_run_hours").unwrap_or(0.0);
                400.0 * (1.0 + 0.2 * lamp_hours / 50_000.0) + rng.random_range(-3.0..3.0)
            }
            // People come and go in real time, but not on a frozen site:
            // a test's spare doors stay as they are.
            (Self::AccessControl, "door_open") if time_scale == 0.0 => current,
            (Self::AccessControl, "door_open") => {
                let open = current != 0.0;
                let flip = if open { dt / 5.0 } else { dt / 60.0 };
                if rng.random_bool(flip.clamp(0.0, 1.0)) {
                    f64::from(u8::from(!open))
                } else {
                    current
                }
            }
            (Self::FirePanel, "sprinkler_pressure") => 6.5 + rng.random_range(-0.05..0.05),
            _ => current,
        }
    }
}

fn by_role(all: &[(String, f64)], role: &str) -> Option<f64> {
    all.iter().find(|(r, _)| r == role).map(|(_, v)| *v)
}
