//! The parts of the daemon's config the simulator needs.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct SiteFile {
    #[serde(default = "default_profiles_dir")]
    profiles_dir: String,
    #[serde(default)]
    devices: Vec<DeviceEntry>,
    #[serde(default)]
    mqtt: Option<MqttEntry>,
}

#[derive(Debug, Deserialize)]
struct MqttEntry {
    host: Option<String>,
    port: Option<u16>,
    embedded_listen: Option<String>,
}

fn default_profiles_dir() -> String {
    "profiles".into()
}

#[derive(Debug, Deserialize)]
struct DeviceEntry {
    id: String,
    profile: Option<String>,
    transport: TransportEntry,
    #[serde(default = "one")]
    unit_id: u8,
    #[serde(default)]
    points: Vec<SimPoint>,
}

fn one() -> u8 {
    1
}

#[derive(Debug, Deserialize)]
struct TransportEntry {
    kind: String,
    host: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ProfileFile {
    #[serde(default)]
    points: Vec<SimPoint>,
}

/// One register-mapped value of a simulated device.
#[derive(Debug, Clone, Deserialize)]
pub struct SimPoint {
    /// Name in the profile.
    pub name: String,
    /// Meaning; models drive values by role.
    #[serde(default)]
    pub role: Option<String>,
    /// `coil`, `discrete-input`, `holding`, `input` (empty for MQTT points).
    #[serde(default)]
    pub kind: String,
    /// Zero-based address.
    #[serde(default)]
    pub address: u16,
    /// Topic, for points of MQTT devices (`{device}` is the device id).
    #[serde(default)]
    pub topic: Option<String>,
    /// Where the value sits in a JSON payload.
    #[serde(default)]
    pub json_pointer: Option<String>,
    /// Data type name as in the profile.
    #[serde(default, rename = "type")]
    pub data_type: Option<String>,
    /// Bit for `bit` types.
    #[serde(default)]
    pub bit: Option<u8>,
    /// `high-first` or `low-first`.
    #[serde(default)]
    pub word_order: Option<String>,
    /// raw × scale + offset = engineering value.
    #[serde(default)]
    pub scale: Option<f64>,
    /// raw × scale + offset = engineering value.
    #[serde(default)]
    pub offset: Option<f64>,
    /// Zone label.
    #[serde(default)]
    pub zone: Option<String>,
}

/// A device the simulator serves.
#[derive(Debug, Clone)]
pub struct SimDevice {
    /// Config id.
    pub id: String,
    /// Profile name; chooses the behaviour model.
    pub profile: String,
    /// Where to listen.
    pub host: String,
    /// Unit id it answers to.
    pub unit_id: u8,
    /// Register map.
    pub points: Vec<SimPoint>,
}

/// All devices of a site file the simulator can play.
#[derive(Debug, Clone)]
pub struct SimSite {
    /// Modbus TCP devices to serve.
    pub devices: Vec<SimDevice>,
    /// MQTT sensors to publish, and the broker (`host:port`) to publish to.
    pub mqtt: Option<(String, Vec<SimDevice>)>,
}

/// Reads the devices of a daemon site file that the simulator can serve.
pub fn load_site(path: &Path) -> anyhow::Result<SimSite> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let site: SiteFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let dir = path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&site.profiles_dir);
    let mut profiles: HashMap<String, Vec<SimPoint>> = HashMap::new();
    let mut devices = Vec::new();
    let mut sensors = Vec::new();
    for entry in site.devices {
        if entry.transport.kind == "mqtt" {
            let points = entry
                .points
                .into_iter()
                .map(|mut p| {
                    p.topic = p.topic.map(|t| t.replace("{device}", &entry.id));
                    p
                })
                .collect();
            sensors.push(SimDevice {
                id: entry.id,
                profile: "mqtt".into(),
                host: String::new(),
                unit_id: 0,
                points,
            });
            continue;
        }
        if entry.transport.kind != "modbus-tcp" {
            continue;
        }
        let (Some(host), Some(profile)) = (entry.transport.host, entry.profile) else {
            continue;
        };
        if !profiles.contains_key(&profile) {
            let file = dir.join(format!("{profile}.toml"));
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let parsed: ProfileFile =
                toml::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
            profiles.insert(profile.clone(), parsed.points);
        }
        devices.push(SimDevice {
            id: entry.id,
            points: profiles[&profile].clone(),
            profile,
            host,
            unit_id: entry.unit_id,
        });
    }
    if devices.is_empty() && sensors.is_empty() {
        bail!(
            "{} names no modbus-tcp device with a profile and no mqtt device to simulate",
            path.display()
        );
    }
    let broker = site.mqtt.map(|m| match m.host {
        Some(host) => format!("{host}:{}", m.port.unwrap_or(1883)),
        None => m.embedded_listen.unwrap_or_else(|| "127.0.0.1:1883".into()),
    });
    let mqtt = match broker {
        Some(broker) if !sensors.is_empty() => Some((broker, sensors)),
        _ => None,
    };
    Ok(SimSite { devices, mqtt })
}
