//! Scripted faults: what happens to which device, when.
//!
//! ```toml
//! [[step]]
//! at = "20s"
//! device = "ahu-1"
//! action = "ramp"
//! point = "filter_dp"
//! to = 320
//! over = "40s"
//! ```

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

/// A scenario file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Steps in any order; each fires once when its time comes.
    #[serde(default)]
    pub step: Vec<Step>,
}

/// One scripted change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Time after start, like `"20s"`.
    #[serde(default, deserialize_with = "de_duration")]
    pub at: Duration,
    /// Device id.
    pub device: String,
    /// What to do.
    pub action: Action,
    /// Point name, for `set`, `ramp` and `release`.
    #[serde(default)]
    pub point: Option<String>,
    /// Value, for `set`.
    #[serde(default)]
    pub value: Option<f64>,
    /// Target, for `ramp`.
    #[serde(default)]
    pub to: Option<f64>,
    /// Ramp length.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub over: Option<Duration>,
    /// Zone (fire) or door label, for `fire_alarm`, `force_door`, `press_button`.
    #[serde(default)]
    pub zone: Option<String>,
    /// How long the change lasts; for ever when absent.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub duration: Option<Duration>,
    /// Exception code, for `exception`.
    #[serde(default)]
    pub code: Option<u8>,
    /// Only requests touching this address fail, for `exception`.
    #[serde(default)]
    pub address: Option<u16>,
    /// Reply delay, for `delay`.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub by: Option<Duration>,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Hold a point at a value.
    Set,
    /// Move a point linearly to a value.
    Ramp,
    /// Give a point back to the model.
    Release,
    /// Raise the fire alarm of a zone.
    FireAlarm,
    /// Force a door open.
    ForceDoor,
    /// Press an emergency button.
    PressButton,
    /// Stop answering.
    Offline,
    /// Answer again.
    Online,
    /// Answer reads with an exception code.
    Exception,
    /// Delay every reply.
    Delay,
}

/// Reads a scenario file.
pub fn load_scenario(path: &Path) -> anyhow::Result<Scenario> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing scenario {}", path.display()))
}

fn parse(text: &str) -> Result<Duration, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = text[..digits]
        .parse()
        .map_err(|_| format!("bad duration `{text}`"))?;
    match &text[digits..] {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("bad duration `{text}`; use ms, s, m or h")),
    }
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

fn de_opt_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}
