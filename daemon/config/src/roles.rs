//! The vocabulary of point roles that rule packs bind to.
//!
//! A role says what a point *means* (supply air temperature, fire alarm in a
//! zone), independent of which register or topic carries it. Rule packs are
//! written against roles, so one rule serves every device whose profile maps
//! the role. A fixed vocabulary catches typos at `sitewarden check` time; a
//! site that needs its own meaning uses the `x_` prefix.

/// Every role the shipped rule packs and dashboards understand, with what it means.
pub const KNOWN_ROLES: &[(&str, &str)] = &[
    // HVAC
    ("supply_air_temp", "supply air temperature, °C"),
    ("return_air_temp", "return air temperature, °C"),
    ("outdoor_air_temp", "outdoor air temperature, °C"),
    ("room_temp", "room temperature, °C"),
    ("room_humidity", "room relative humidity, %"),
    ("co2", "CO2 concentration, ppm"),
    ("supply_air_setpoint", "supply air temperature setpoint, °C"),
    ("filter_dp", "air filter differential pressure, Pa"),
    ("fan_status", "supply fan running"),
    ("fan_fault", "supply fan fault"),
    ("fan_run_hours", "supply fan run hours"),
    (
        "filter_run_hours",
        "fan run hours since the filter was last serviced",
    ),
    ("compressor_status", "compressor running"),
    ("compressor_fault", "compressor fault"),
    ("unit_alarm", "summary alarm of a unit"),
    // Lighting and energy
    ("circuit_status", "lighting circuit switched on"),
    ("circuit_power", "power drawn by a lighting circuit, W"),
    ("lamp_run_hours", "lamp run hours since replacement"),
    ("lamp_fault", "lamp or driver fault"),
    ("illuminance", "illuminance, lx"),
    ("power", "active power, W"),
    ("energy", "energy counter, kWh"),
    ("smart_plug_status", "smart plug switched on"),
    ("occupancy", "space occupied"),
    // Fire
    ("fire_alarm", "fire alarm in a zone"),
    ("fire_fault", "fire system fault in a zone"),
    (
        "fire_supervisory",
        "supervisory signal (valve closed, pump off)",
    ),
    ("sprinkler_pressure", "sprinkler pipe pressure, bar"),
    ("panel_fault", "fire panel common fault"),
    // Security
    ("door_open", "door open"),
    ("door_forced", "door forced open"),
    ("door_held_open", "door held open too long"),
    ("emergency_button", "emergency button pressed"),
    ("tamper", "enclosure tamper switch"),
    ("controller_online", "access controller online"),
    ("camera_online", "CCTV camera online"),
    // Lifts
    ("lift_fault", "lift fault"),
    ("lift_in_service", "lift in service"),
    (
        "lift_entrapment",
        "the lift controller reports passengers trapped in the car",
    ),
    ("lift_alarm_button", "alarm button in the lift car pressed"),
    ("lift_door_open", "lift car door open"),
    ("lift_floor", "floor the lift car is at"),
    (
        "lift_run_count",
        "lift trips counted since the last service",
    ),
    // Car park and perimeter
    ("barrier_fault", "car park barrier fault"),
    (
        "plate_recognition_fault",
        "number-plate recognition camera or its controller faulty",
    ),
    (
        "parking_guidance_fault",
        "parking guidance system (bay sensors, signs) faulty",
    ),
    (
        "fence_alarm",
        "electronic perimeter fence alarm in a zone (touched or cut)",
    ),
    (
        "fence_fault",
        "electronic perimeter fence fault in a zone (wire broken, energiser off)",
    ),
    // Generic
    ("device_fault", "device reports a fault"),
    (
        "heartbeat",
        "counter a device increments to prove it is alive",
    ),
];

/// Roles no shipped rule binds to, and why: they are read and stored (and
/// drawn on the dashboards) because they explain what the rules see, but
/// on their own they say nothing is wrong. `sitewarden roles` shows why.
pub const INFORMATIONAL_ROLES: &[(&str, &str)] = &[
    (
        "return_air_temp",
        "with supply air it shows the load; cooling faults are judged on supply air",
    ),
    (
        "outdoor_air_temp",
        "explains the cooling load; the weather is not a fault",
    ),
    (
        "supply_air_setpoint",
        "the unit's target; rules judge the air it delivers",
    ),
    (
        "fan_run_hours",
        "the fan's life record; filter service runs on filter_run_hours",
    ),
    (
        "occupancy",
        "shows whether people are in; comfort rules follow business hours, the site's promise to visitors",
    ),
    (
        "lift_floor",
        "where the car is, for the dashboard and the person on the intercom",
    ),
    (
        "smart_plug_status",
        "which plug is on; what it draws at night is judged on the meter it hangs off (comfort.energy_while_closed)",
    ),
    (
        "power",
        "a moment's draw; energy used out of hours is judged over half an hour on the energy counter",
    ),
    (
        "heartbeat",
        "offline and stale rules already catch a device that stops answering",
    ),
];

/// Prefix for site-specific roles that no shipped rule pack binds to.
pub const CUSTOM_ROLE_PREFIX: &str = "x_";

/// True when `role` is in the vocabulary or carries the custom prefix.
pub fn is_known_role(role: &str) -> bool {
    role.starts_with(CUSTOM_ROLE_PREFIX) && role.len() > CUSTOM_ROLE_PREFIX.len()
        || KNOWN_ROLES.iter().any(|(known, _)| *known == role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_custom_roles_pass_typos_do_not() {
        assert!(is_known_role("filter_dp"));
        assert!(is_known_role("x_pool_level"));
        assert!(!is_known_role("x_"));
        assert!(!is_known_role("filter_pd"));
    }
}
