//! The whole-config validation pass: every rule checked, every error kept.
//!
//! Parsing stops at the first syntax error in a file; this pass does not stop
//! at all. It resolves profiles and overrides into concrete points, groups
//! devices into lines, and collects each problem with the position of the
//! value that causes it.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::Duration;

use sha2::Digest as _;

use super::load::{FileId, Inputs, Sources, is_plain_name};
use super::{
    ConfigDuration, ConfigErrors, DeviceSection, PointOverride, PointSection, ProfileFile,
    SiteFile, Spanned, TransportKind, is_known_role,
};
use sitewarden_model::catalog::{
    ApiSettings, ApiToken, Catalog, Device, DeviceId, Line, LineId, LineTransport, MqttDevice,
    MqttTopic, Point, PointId, PointSource, SiteInfo,
};
use sitewarden_model::schedule::{self, BusinessHours, OpenRange};
use sitewarden_model::vocab::{DataType, RegisterKind};

mod devices;
mod io;
mod points;
mod site;
pub mod tls;

use devices::*;
use io::*;
use points::*;
use site::*;

/// Fastest poll a device or point may ask for; faster floods an RS-485 line.
const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// Slowest poll; slower is not monitoring.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
const MIN_TIMEOUT: Duration = Duration::from_millis(10);
const MAX_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_RETRIES: u8 = 10;

/// A place in a config file.
#[derive(Debug, Clone)]
pub(crate) struct Pos {
    pub file: FileId,
    pub span: Range<usize>,
}

pub(crate) struct Validator<'a> {
    sources: &'a Sources,
    errors: Vec<super::ConfigError>,
}

impl Validator<'_> {
    /// Errors so far, so a check can tell whether it added any.
    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// Records an error in a file that is not TOML (a messages file).
    pub fn error_in(
        &mut self,
        path: &std::path::Path,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) {
        self.errors.push(super::ConfigError {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        });
    }

    /// Records an error at a position.
    pub fn error(&mut self, pos: &Pos, message: impl Into<String>) {
        let file = &self.sources.files[pos.file];
        self.errors
            .push(file.error_at(pos.span.clone(), message.into()));
    }
}

/// `[storage] min_free` and `reserve`, as bytes.
fn check_disk(
    v: &mut Validator<'_>,
    storage: &crate::StorageSection,
) -> sitewarden_model::catalog::DiskSettings {
    let mut size = |value: &Spanned<String>| match crate::sinks::parse_size(value.get_ref()) {
        Ok(bytes) => bytes,
        Err(e) => {
            v.error(&at(0, value), e);
            0
        }
    };
    sitewarden_model::catalog::DiskSettings {
        min_free: size(&storage.min_free),
        reserve: size(&storage.reserve),
    }
}

pub(super) fn at<T>(file: FileId, value: &Spanned<T>) -> Pos {
    Pos {
        file,
        span: value.span(),
    }
}

/// A spanned value's position, or `fallback` when the value was defaulted
/// (defaults carry an empty span at offset 0).
pub(super) fn at_or<T>(file: FileId, value: &Spanned<T>, fallback: &Pos) -> Pos {
    if value.span() == (0..0) {
        fallback.clone()
    } else {
        at(file, value)
    }
}

/// A point while profiles and overrides are being merged, with the positions
/// its errors should name.
struct DraftPoint {
    section: PointSection,
    file: FileId,
    origin: &'static str,
}

pub(super) fn validate(
    sources: &Sources,
    site: &SiteFile,
    inputs: &Inputs<'_>,
) -> Result<Catalog, ConfigErrors> {
    let profiles = inputs.profiles;
    let available_profiles = inputs.available_profiles;
    let mut v = Validator {
        sources,
        errors: Vec::new(),
    };
    let site_info = check_site(&mut v, site, inputs);
    let api = check_api(&mut v, site, inputs.base_dir);
    let mut devices = Vec::new();
    let mut points = Vec::new();
    let mut seen_ids: HashMap<&str, Pos> = HashMap::new();
    for section in &site.devices {
        let id_pos = at(0, &section.id);
        let id = section.id.get_ref();
        check_identifier(&mut v, &id_pos, "device id", id);
        if let Some(first) = seen_ids.get(id.as_str()) {
            let (line, _) = sources.files[0].position(first.span.start);
            v.error(
                &id_pos,
                format!("device id `{id}` is already used on line {line}"),
            );
        } else {
            seen_ids.insert(id, id_pos.clone());
        }
        let device_id = DeviceId(devices.len() as u32);
        let drafts = resolve_points(&mut v, section, profiles, available_profiles);
        let first_point = points.len();
        let mut address_positions = Vec::new();
        for draft in drafts {
            if let Some(point) = check_point(&mut v, &draft, device_id, section, points.len()) {
                points.push(point);
                let pos = draft.section.address.as_ref().map_or_else(
                    || at(draft.file, &draft.section.name),
                    |a| at(draft.file, a),
                );
                address_positions.push(pos);
            }
        }
        check_overlaps(&mut v, &points[first_point..], &address_positions, section);
        let first_point = first_point as u32;
        devices.push(check_device(
            &mut v,
            section,
            device_id,
            first_point..points.len() as u32,
        ));
    }
    let lines = build_lines(&mut v, site, &mut devices);
    let (mut rules, rule_instances) =
        super::rules_check::check_rules(&mut v, site, inputs.packs, &devices, &points);
    if let Some(info) = &site_info {
        word_rules(&mut v, site, info, &mut rules);
    }
    let influx = site
        .sinks
        .influx
        .as_ref()
        .and_then(|section| check_influx(&mut v, section, inputs.base_dir));
    let mqtt = site
        .mqtt
        .as_ref()
        .and_then(|section| check_mqtt(&mut v, section, &site.site.id, inputs.base_dir, &devices));
    let tickets = super::tickets::check_tickets(
        &mut v,
        &site.tickets,
        inputs.packs,
        (&devices, &points),
        site_info.as_ref().map(|i| &*i.messages),
        inputs.extinguishers,
        inputs.base_dir,
    );
    let rule_ids: std::collections::HashSet<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    let device_names: std::collections::HashSet<&str> =
        devices.iter().flatten().map(|d| d.name.as_str()).collect();
    let patrol = super::patrol::check_patrol(&mut v, &site.patrol, inputs.base_dir);
    let alerts = super::alerts::check_alerts(
        &mut v,
        &super::alerts::AlertInputs {
            people: &site.people,
            roster: &site.roster,
            alerts: &site.alerts,
            rule_ids: &rule_ids,
            device_names: &device_names,
            has_mqtt: site.mqtt.is_some(),
            base_dir: inputs.base_dir,
        },
    );
    check_ticket_notify(&mut v, site);
    let disk = check_disk(&mut v, &site.storage);
    if !v.errors.is_empty() {
        return Err(ConfigErrors(v.errors));
    }
    let (Some(site_info), Some(api), Some(tickets), Some(alerts), Some(patrol)) =
        (site_info, api, tickets, alerts, patrol)
    else {
        return Err(ConfigErrors(v.errors));
    };
    // Pushed one by one while the devices were built: give back the
    // doubling's slack (up to half the vector at 10,000 points).
    points.shrink_to_fit();
    Ok(Catalog {
        site: site_info,
        devices: devices.into_iter().flatten().collect(),
        points,
        lines,
        api,
        rules,
        rule_instances,
        data_dir: match &site.storage.data_dir {
            Some(dir) => inputs.base_dir.join(dir),
            None => super::load::default_data_dir(inputs.base_dir),
        },
        retention: sitewarden_model::catalog::Retention {
            condition_history: site.storage.condition_history.0,
            deliveries: site.storage.deliveries.0,
            closed_tickets: site.storage.closed_tickets.0,
            closed_alerts: site.storage.closed_alerts.0,
            taps: site.storage.taps.0,
        },
        disk,
        influx,
        mqtt,
        tickets,
        alerts,
        patrol,
        config_digest: sources.digest(),
    })
}

/// Ids appear in MQTT topics, InfluxDB tags and URLs: keep them plain.
pub(super) fn check_identifier(v: &mut Validator<'_>, pos: &Pos, what: &str, id: &str) {
    let plain = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        v.error(
            pos,
            format!("{what} `{id}` may use only letters, digits, `-`, `_` and `.`"),
        );
    }
}

/// Hex SHA-256 of a token, as `api.tokens[].sha256` stores it.
pub fn hash_token(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `[tickets] notify` names channels of `[alerts.channels]` that can
/// reach one person (MQTT carries every ticket change already).
fn check_ticket_notify(v: &mut Validator<'_>, site: &SiteFile) {
    for name in &site.tickets.tell_requesters {
        let kind = site
            .alerts
            .channels
            .get(name.get_ref())
            .map(|c| c.get_ref().kind.get_ref().as_str());
        if !matches!(kind, None | Some("email" | "webhook")) {
            v.error(
                &at(0, name),
                "a requester is reached by e-mail or through an SMS gateway's webhook: name an email or webhook channel",
            );
        }
    }
    for name in site
        .tickets
        .notify
        .iter()
        .chain(&site.tickets.tell_requesters)
    {
        match site.alerts.channels.get(name.get_ref()) {
            None => v.error(
                &at(0, name),
                format!(
                    "no channel `{}` in [alerts.channels] to tell technicians on",
                    name.get_ref()
                ),
            ),
            Some(c) if c.get_ref().kind.get_ref() == "mqtt" => v.error(
                &at(0, name),
                "an MQTT channel carries every ticket change already; name a WeCom, DingTalk, Slack, webhook or e-mail channel",
            ),
            Some(_) => {}
        }
    }
}
