//! `[sinks]` in the site file: where time series go.

use serde::Deserialize;

use super::{ConfigDuration, SecretSource, Spanned};

/// Outputs of the daemon.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinksSection {
    /// InfluxDB (2.x, 3.x, 1.8+ through its v2 endpoint, or any server that
    /// accepts line protocol on `/api/v2/write`, such as VictoriaMetrics).
    #[serde(default)]
    pub influx: Option<InfluxSection>,
}

/// `[sinks.influx]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfluxSection {
    /// Base URL, `http://host:8086`.
    pub url: Spanned<String>,
    /// Organisation (2.x/3.x; any value for 1.8 and VictoriaMetrics).
    #[serde(default)]
    pub org: String,
    /// Bucket (2.x/3.x), `database/retention` (1.8), or anything (VictoriaMetrics).
    pub bucket: String,
    /// API token; none for servers without authentication.
    #[serde(default)]
    pub token: Option<Spanned<SecretSource>>,
    /// Lines per write.
    #[serde(default = "default_batch_size")]
    pub batch_size: Spanned<usize>,
    /// Longest a line waits before its batch is written.
    #[serde(default = "default_flush_interval")]
    pub flush_interval: Spanned<ConfigDuration>,
    /// Compress writes.
    #[serde(default = "default_true")]
    pub gzip: bool,
    /// How long one write may take before it counts as failed.
    #[serde(default = "default_timeout")]
    pub timeout: Spanned<ConfigDuration>,
    /// Disk space for batches that could not be written (`"512MiB"`, `"2GiB"`).
    #[serde(default = "default_buffer")]
    pub buffer_budget: Spanned<String>,
    /// Default reporting deadband: a reading is written when it moved more
    /// than this since the last written value (0: any change).
    #[serde(default)]
    pub report_deadband: f64,
    /// Default reporting interval: an unchanged value is written again once
    /// this long has passed (0: every reading).
    #[serde(default = "default_min_interval")]
    pub report_min_interval: Spanned<ConfigDuration>,
    /// How often the whole state is written again (devices online, active
    /// conditions, open alerts and tickets per class and priority), so a
    /// dashboard's "now" panels have data on a quiet site; `"0s"` turns it off.
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: Spanned<ConfigDuration>,
}

fn default_snapshot_every() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(60_000))
}

fn default_batch_size() -> Spanned<usize> {
    Spanned::new(0..0, 5000)
}
fn default_flush_interval() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(1000))
}
fn default_true() -> bool {
    true
}
fn default_timeout() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(10_000))
}
fn default_buffer() -> Spanned<String> {
    Spanned::new(0..0, "512MiB".to_owned())
}

/// Parses `"512MiB"`, `"64KiB"`, `"2GiB"`, `"1000B"` into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number: u64 = text[..digits]
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write it like \"512MiB\""))?;
    let unit: u64 = match text[digits..].trim() {
        "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "`{other}` is not a size unit; use B, KiB, MiB or GiB"
            ));
        }
    };
    number
        .checked_mul(unit)
        .ok_or_else(|| format!("`{text}` is too large"))
}
fn default_min_interval() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(60_000))
}
