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
    /// Lift controller: the car travels, counts trips, stops on a fault.
    Lift,
    /// Room multi-sensor: temperature, humidity, CO2 and light wander.
    RoomSensor,
    /// Energy meter: power drawn, energy counted.
    EnergyMeter,
    /// Anything else (the car park controller): values change only by scenario.
    Static,
}

/// Another point of the same device as the model sees it this tick.
#[derive(Debug, Clone)]
pub struct Sibling {
    /// Its role (empty when it has none).
    pub role: String,
    /// Its zone, when the profile gives one.
    pub zone: Option<String>,
    /// Its current value.
    pub value: f64,
}

impl Model {
    /// The model for a profile name.
    pub fn for_profile(profile: &str) -> Self {
        match profile {
            "ahu" => Self::AirHandler,
            "lighting-panel" => Self::Lighting,
            "access-control" => Self::AccessControl,
            "fire-panel" => Self::FirePanel,
            "lift-controller" => Self::Lift,
            "room-sensor" => Self::RoomSensor,
            "energy-meter" => Self::EnergyMeter,
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
            | "camera_online" | "lift_in_service" | "occupancy" => 1.0,
            "lift_floor" => 1.0,
            "lift_run_count" => 4_200.0,
            "room_temp" => 23.0,
            "room_humidity" => 50.0,
            "co2" => 620.0,
            "illuminance" => 420.0,
            "power" => 900.0,
            "energy" => 12_000.0,
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
        all: &[Sibling],
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
                // A switched-off circuit draws nothing; ageing lamps draw
                // more: +20 % at 50,000 h.
                let zone = point.zone.as_deref();
                if in_zone(all, "circuit_status", zone) == Some(0.0) {
                    return 0.0;
                }
                let lamp_hours = in_zone(all, "lamp_run_hours", zone).unwrap_or(0.0);
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
            (Self::Lift, role) => lift(role, current, all, dt * time_scale),
            (Self::RoomSensor, "room_temp") => {
                current + (23.0 - current) * 0.05 + rng.random_range(-0.05..0.05)
            }
            (Self::RoomSensor, "room_humidity") => {
                current + (50.0 - current) * 0.05 + rng.random_range(-0.3..0.3)
            }
            (Self::RoomSensor, "co2") => {
                current + (620.0 - current) * 0.05 + rng.random_range(-5.0..5.0)
            }
            (Self::RoomSensor, "illuminance") => 420.0 + rng.random_range(-5.0..5.0),
            (Self::EnergyMeter, "power") => 900.0 + rng.random_range(-20.0..20.0),
            (Self::EnergyMeter, "energy") => {
                let watts = by_role(all, "power").unwrap_or(0.0);
                current + watts * hours / 1000.0
            }
            _ => current,
        }
    }
}

fn by_role(all: &[Sibling], role: &str) -> Option<f64> {
    all.iter().find(|p| p.role == role).map(|p| p.value)
}

/// The value of the point with `role` in `zone` (circuit 2's switch for
/// circuit 2's power), or the device's first with the role.
fn in_zone(all: &[Sibling], role: &str, zone: Option<&str>) -> Option<f64> {
    all.iter()
        .find(|p| p.role == role && p.zone.as_deref() == zone)
        .or_else(|| all.iter().find(|p| p.role == role))
        .map(|p| p.value)
}

/// A lift in a six-floor block: in service unless it reports a fault or
/// trapped passengers; the car moves a floor every 10 simulated seconds,
/// counts a trip at each stop and opens its doors there.
fn lift(role: &str, current: f64, all: &[Sibling], sim_dt: f64) -> f64 {
    let stopped =
        by_role(all, "lift_fault") == Some(1.0) || by_role(all, "lift_entrapment") == Some(1.0);
    let floor = by_role(all, "lift_floor").unwrap_or(1.0);
    // One floor per 10 s: the chance the car reached the next floor this tick.
    let arrives = !stopped && rand::rng().random_bool((sim_dt / 10.0).clamp(0.0, 1.0));
    match role {
        "lift_in_service" => f64::from(u8::from(!stopped)),
        "lift_floor" if arrives => {
            if floor >= 6.0 {
                1.0
            } else {
                floor + 1.0
            }
        }
        "lift_run_count" if arrives => current + 1.0,
        "lift_door_open" if stopped => 0.0,
        "lift_door_open" => f64::from(u8::from(arrives)),
        _ => current,
    }
}
