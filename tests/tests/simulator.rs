//! The daemon against the site simulator with the shipped profiles: all four
//! kinds of equipment decode to the values the simulator holds, and scripted
//! faults show up as readings.

use std::time::Duration;

use site_sim::Step;
use sitewarden::readings::DeviceState;
use sitewarden_tests::{
    SiteDir, boolean, device_state, frozen, load, number, point, start_daemon, start_sim,
    wait_until,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_four_device_kinds_decode_to_the_simulated_values() {
    let site = SiteDir::new().unwrap();
    let kinds = ["ahu", "lighting-panel", "access-control", "fire-panel"];
    let devices: Vec<(String, &str)> = kinds.iter().map(|k| (format!("{k}-1"), *k)).collect();
    let devices: Vec<(&str, &str)> = devices.iter().map(|(id, k)| (id.as_str(), *k)).collect();
    // Time frozen so counters do not move between the two reads.
    let sim = start_sim(&site, &devices, frozen()).await.unwrap();
    let mut config = String::new();
    for kind in kinds {
        let addr = sim.addr(&format!("{kind}-1")).unwrap();
        config.push_str(&format!(
            "[[devices]]\nid = \"{kind}-1\"\nprofile = \"{kind}\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{addr}\" }}\npoll_interval = \"100ms\"\n\n"
        ));
    }
    let catalog = load(&site.site(&config).unwrap());
    let daemon = start_daemon(catalog.clone(), &site, 0).await.unwrap();
    let all_online = wait_until(Duration::from_secs(5), || {
        kinds
            .iter()
            .all(|k| device_state(&daemon, &catalog, &format!("{k}-1")) == DeviceState::Online)
    })
    .await;
    assert!(all_online, "not every simulated device came online");

    // Scripted values, so the comparison is exact to the register resolution.
    let apply = |toml: &str| sim.apply(&toml::from_str::<Step>(toml).unwrap());
    apply("device = \"ahu-1\"\naction = \"set\"\npoint = \"supply_air_temp\"\nvalue = -7.3");
    apply("device = \"ahu-1\"\naction = \"set\"\npoint = \"fan_run_hours\"\nvalue = 43210.57");
    apply(
        "device = \"lighting-panel-1\"\naction = \"set\"\npoint = \"circuit2_lamp_hours\"\nvalue = 50123.4",
    );
    apply("device = \"fire-panel-1\"\naction = \"fire_alarm\"\nzone = \"3\"");
    apply(
        "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"sprinkler_pressure\"\nvalue = 2.25",
    );
    apply("device = \"access-control-1\"\naction = \"force_door\"\nzone = \"door-2\"");

    let ok = wait_until(Duration::from_secs(5), || {
        matches!(
            point(&daemon, &catalog, "fire-panel-1", "zone3_alarm").0,
            Some(sitewarden::readings::Value::Bool(true))
        ) && matches!(
            point(&daemon, &catalog, "access-control-1", "door2_forced").0,
            Some(sitewarden::readings::Value::Bool(true))
        )
    })
    .await;
    assert!(ok, "scripted alarms not seen");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let get = |device: &str, name: &str| point(&daemon, &catalog, device, name);
    assert!((number(get("ahu-1", "supply_air_temp")) + 7.3).abs() < 1e-9);
    assert!((number(get("ahu-1", "fan_run_hours")) - 43210.57).abs() < 1e-6);
    assert!((number(get("lighting-panel-1", "circuit2_lamp_hours")) - 50123.4).abs() < 1e-6);
    assert_eq!(number(get("fire-panel-1", "sprinkler_pressure")), 2.25);
    assert!(boolean(get("fire-panel-1", "zone3_alarm")));
    assert!(!boolean(get("fire-panel-1", "zone2_alarm")));
    assert!(!boolean(get("fire-panel-1", "zone3_fault")));
    assert!(boolean(get("access-control-1", "door2_open")));
    assert!(!boolean(get("access-control-1", "door1_forced")));
    assert!(boolean(get("lighting-panel-1", "circuit1_on")));
    // Unscripted values track the simulator's own.
    let sim_setpoint = sim.value("ahu-1", "supply_air_setpoint").unwrap();
    assert!((number(get("ahu-1", "supply_air_setpoint")) - sim_setpoint).abs() < 0.05);
    daemon.stop().await;
}
