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

    /// Records an error at a position.
    pub fn error(&mut self, pos: &Pos, message: impl Into<String>) {
        let file = &self.sources.files[pos.file];
        self.errors
            .push(file.error_at(pos.span.clone(), message.into()));
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
    let site_info = check_site(&mut v, site);
    let api = check_api(&mut v, site);
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
    let (rules, rule_instances) =
        super::rules_check::check_rules(&mut v, site, inputs.packs, &devices, &points);
    let influx = site
        .sinks
        .influx
        .as_ref()
        .and_then(|section| check_influx(&mut v, section, inputs.base_dir));
    let mqtt = site
        .mqtt
        .as_ref()
        .and_then(|section| check_mqtt(&mut v, section, &site.site.id, inputs.base_dir));
    let tickets = super::tickets::check_tickets(&mut v, &site.tickets, &devices, inputs.base_dir);
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
    if !v.errors.is_empty() {
        return Err(ConfigErrors(v.errors));
    }
    let (Some(site_info), Some(api), Some(tickets), Some(alerts), Some(patrol)) =
        (site_info, api, tickets, alerts, patrol)
    else {
        return Err(ConfigErrors(v.errors));
    };
    Ok(Catalog {
        site: site_info,
        devices: devices.into_iter().flatten().collect(),
        points,
        lines,
        api,
        rules,
        rule_instances,
        data_dir: inputs.base_dir.join(&site.storage.data_dir),
        influx,
        mqtt,
        tickets,
        alerts,
        patrol,
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

fn check_site(v: &mut Validator<'_>, site: &SiteFile) -> Option<SiteInfo> {
    let s = &site.site;
    check_identifier(v, &at(0, &s.id), "site id", s.id.get_ref());
    let zone = schedule::parse_time_zone(s.time_zone.get_ref())
        .map_err(|e| v.error(&at(0, &s.time_zone), e))
        .ok();
    let hours = &s.business_hours;
    let days = [
        &hours.monday,
        &hours.tuesday,
        &hours.wednesday,
        &hours.thursday,
        &hours.friday,
        &hours.saturday,
        &hours.sunday,
    ];
    let mut weekly: [Vec<OpenRange>; 7] = Default::default();
    for (slot, ranges) in weekly.iter_mut().zip(days) {
        *slot = check_ranges(v, ranges);
    }
    let mut exceptions = BTreeMap::new();
    for exception in &hours.exceptions {
        let ranges = check_ranges(v, &exception.hours);
        match schedule::parse_date(exception.date.get_ref()) {
            Ok(date) => {
                if exceptions.insert(date, ranges).is_some() {
                    v.error(
                        &at(0, &exception.date),
                        format!("date {date} has two exceptions; merge them into one"),
                    );
                }
            }
            Err(e) => v.error(&at(0, &exception.date), e),
        }
    }
    Some(SiteInfo {
        id: s.id.get_ref().clone(),
        name: s.name.clone(),
        hours: BusinessHours {
            time_zone: zone?,
            weekly,
            exceptions,
        },
    })
}

fn check_ranges(v: &mut Validator<'_>, ranges: &[Spanned<String>]) -> Vec<OpenRange> {
    let mut parsed: Vec<OpenRange> = Vec::new();
    for text in ranges {
        match schedule::parse_range(text.get_ref()) {
            Ok(range) => {
                if parsed.iter().any(|r| {
                    r.open_minute < range.close_minute && range.open_minute < r.close_minute
                }) {
                    v.error(
                        &at(0, text),
                        format!(
                            "`{}` overlaps another range of the same day",
                            text.get_ref()
                        ),
                    );
                }
                parsed.push(range);
            }
            Err(e) => v.error(&at(0, text), e),
        }
    }
    parsed
}

fn check_api(v: &mut Validator<'_>, site: &SiteFile) -> Option<ApiSettings> {
    let listen = site
        .api
        .listen
        .get_ref()
        .parse()
        .map_err(|_| {
            v.error(
                &at(0, &site.api.listen),
                format!(
                    "`{}` is not an address to listen on; write it like \"127.0.0.1:8080\"",
                    site.api.listen.get_ref()
                ),
            )
        })
        .ok();
    let mut tokens = Vec::new();
    let mut names: HashMap<&str, ()> = HashMap::new();
    for token in &site.api.tokens {
        if names.insert(token.name.get_ref(), ()).is_some() {
            v.error(
                &at(0, &token.name),
                format!(
                    "two tokens are named `{}`; audit trails could not tell them apart",
                    token.name.get_ref()
                ),
            );
        }
        match parse_sha256(token.sha256.get_ref()) {
            Some(sha256) => tokens.push(ApiToken {
                name: token.name.get_ref().clone(),
                role: token.role,
                sha256,
            }),
            None => v.error(
                &at(0, &token.sha256),
                "sha256 must be 64 hexadecimal digits; `sitewarden hash-token` prints the hash of a token",
            ),
        }
    }
    Some(ApiSettings {
        listen: listen?,
        tokens,
    })
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Hex SHA-256 of a token, as `api.tokens[].sha256` stores it.
pub fn hash_token(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Profile points, then the device's own points, with overrides applied.
fn resolve_points(
    v: &mut Validator<'_>,
    device: &DeviceSection,
    profiles: &BTreeMap<String, (FileId, ProfileFile)>,
    available: &[String],
) -> Vec<DraftPoint> {
    let mut drafts = Vec::new();
    if let Some(name) = &device.profile {
        match profiles.get(name.get_ref()) {
            Some((file, profile)) => drafts.extend(profile.points.iter().map(|p| DraftPoint {
                section: p.clone(),
                file: *file,
                origin: "profile",
            })),
            None => {
                let known = if available.is_empty() {
                    "the profiles folder has none".to_owned()
                } else {
                    format!("known profiles: {}", available.join(", "))
                };
                let why = if is_plain_name(name.get_ref()) {
                    "unknown profile"
                } else {
                    "a profile name is a file name without folder or extension, so"
                };
                v.error(&at(0, name), format!("{why} `{}`; {known}", name.get_ref()));
            }
        }
    }
    drafts.extend(device.points.iter().map(|p| DraftPoint {
        section: p.clone(),
        file: 0,
        origin: "device",
    }));
    for o in &device.overrides {
        apply_override(v, &mut drafts, o);
    }
    drafts
}

fn apply_override(v: &mut Validator<'_>, drafts: &mut Vec<DraftPoint>, o: &PointOverride) {
    let Some(index) = drafts
        .iter()
        .position(|d| d.section.name.get_ref() == o.point.get_ref())
    else {
        v.error(
            &at(0, &o.point),
            format!(
                "override names point `{}`, which the device does not have",
                o.point.get_ref()
            ),
        );
        return;
    };
    if o.disabled {
        drafts.remove(index);
        return;
    }
    let draft = &mut drafts[index];
    let p = &mut draft.section;
    // Overridden values live in the site file: errors about them must point there.
    let moved = o.role.is_some() || o.address.is_some() || o.interval.is_some();
    if moved {
        draft.file = 0;
        draft.origin = "override";
        p.name = o.point.clone();
        p.role = o.role.clone().or(p
            .role
            .clone()
            .map(|r| Spanned::new(o.point.span(), r.into_inner())));
        p.address = o.address.clone().or_else(|| {
            p.address
                .as_ref()
                .map(|a| Spanned::new(o.point.span(), *a.get_ref()))
        });
        p.interval = o.interval.clone().or(p
            .interval
            .clone()
            .map(|i| Spanned::new(o.point.span(), i.into_inner())));
        p.data_type = p
            .data_type
            .clone()
            .map(|t| Spanned::new(o.point.span(), t.into_inner()));
        p.bit = p
            .bit
            .clone()
            .map(|b| Spanned::new(o.point.span(), b.into_inner()));
    }
    if o.scale.is_some() {
        p.scale = o.scale;
    }
    if o.offset.is_some() {
        p.offset = o.offset;
    }
    if o.unit.is_some() {
        p.unit = o.unit.clone();
    }
    if o.zone.is_some() {
        p.zone = o.zone.clone();
    }
    if o.report_deadband.is_some() {
        p.report_deadband = o.report_deadband;
    }
    if o.report_min_interval.is_some() {
        p.report_min_interval = o.report_min_interval;
    }
}

fn check_point(
    v: &mut Validator<'_>,
    draft: &DraftPoint,
    device: DeviceId,
    section: &DeviceSection,
    next_index: usize,
) -> Option<Point> {
    let p = &draft.section;
    let file = draft.file;
    let name_pos = at(file, &p.name);
    let mut ok = true;
    if p.name.get_ref().is_empty() {
        v.error(&name_pos, "a point needs a name");
        ok = false;
    }
    let (kind, address, address_pos, source) = point_source(v, draft, section)?;
    let role = p.role.as_ref().map(|r| r.get_ref().clone());
    if let Some(r) = &p.role
        && !is_known_role(r.get_ref())
    {
        v.error(
            &at(file, r),
            format!(
                "unknown role `{}` on {} point `{}`; see `sitewarden roles` for the list, or prefix a site-specific role with `x_`",
                r.get_ref(),
                draft.origin,
                p.name.get_ref()
            ),
        );
        ok = false;
    }
    let is_mqtt = source != PointSource::Modbus;
    let data_type = p.data_type.as_ref().map_or(
        if is_mqtt {
            DataType::F64
        } else if kind.is_bit_table() {
            DataType::Bool
        } else {
            DataType::U16
        },
        |t| *t.get_ref(),
    );
    let type_pos = p
        .data_type
        .as_ref()
        .map_or(name_pos.clone(), |t| at(file, t));
    if !is_mqtt && kind.is_bit_table() && data_type != DataType::Bool {
        v.error(
            &type_pos,
            format!(
                "a {} holds single bits: its type must be `bool`",
                kind.as_str()
            ),
        );
        ok = false;
    }
    let mut bit = 0;
    match (&p.bit, data_type) {
        (Some(b), DataType::Bit) if *b.get_ref() > 15 => {
            v.error(
                &at(file, b),
                format!(
                    "bit {} does not exist; a register has bits 0–15",
                    b.get_ref()
                ),
            );
            ok = false;
        }
        (Some(b), DataType::Bit) => bit = *b.get_ref(),
        (None, DataType::Bit) => {
            v.error(
                &type_pos,
                "type `bit` needs `bit = N` (0–15) to say which bit",
            );
            ok = false;
        }
        (Some(b), _) => {
            v.error(&at(file, b), "`bit` only applies to `type = \"bit\"`");
            ok = false;
        }
        (None, _) => {}
    }
    let width = if kind.is_bit_table() {
        1
    } else {
        data_type.width()
    };
    let end = u32::from(address) + u32::from(width);
    if !is_mqtt && end > 65_536 {
        v.error(
            &address_pos,
            format!("address {address} with {width} registers runs past the last address 65535"),
        );
        ok = false;
    }
    let scale = p.scale.unwrap_or(1.0);
    let offset = p.offset.unwrap_or(0.0);
    if !scale.is_finite() || scale == 0.0 || !offset.is_finite() {
        v.error(
            &name_pos,
            "scale must be a finite non-zero number and offset a finite number",
        );
        ok = false;
    }
    if data_type.is_boolean() && (p.scale.is_some() || p.offset.is_some()) {
        v.error(&name_pos, "a yes/no point cannot have a scale or offset");
        ok = false;
    }
    let interval = match &p.interval {
        Some(i) => check_interval(
            v,
            &at_or(file, i, &name_pos),
            "point interval",
            *i.get_ref(),
        ),
        None => Some(section.poll_interval.get_ref().0),
    };
    (ok && interval.is_some()).then(|| Point {
        id: PointId(next_index as u32),
        device,
        name: p.name.get_ref().clone(),
        role,
        kind,
        address,
        data_type,
        bit,
        word_order: p.word_order,
        scale,
        offset,
        unit: p.unit.clone(),
        interval: interval.unwrap_or_default(),
        zone: p.zone.clone(),
        report_deadband: p.report_deadband,
        report_min_interval: p.report_min_interval.map(|d| d.0),
        source,
    })
}

/// Where a point's value comes from: a register of a Modbus device, or a
/// topic of an MQTT device. Each kind of device has its own settings.
fn point_source(
    v: &mut Validator<'_>,
    draft: &DraftPoint,
    section: &DeviceSection,
) -> Option<(RegisterKind, u16, Pos, PointSource)> {
    let p = &draft.section;
    let file = draft.file;
    let name_pos = at(file, &p.name);
    if section.transport.get_ref().kind != TransportKind::Mqtt {
        if let Some(topic) = &p.topic {
            v.error(&at(file, topic), "`topic` belongs to points of `mqtt` devices; a Modbus point has `kind` and `address`");
            return None;
        }
        let (Some(kind), Some(address)) = (p.kind, &p.address) else {
            v.error(
                &name_pos,
                format!(
                    "Modbus point `{}` needs `kind` and `address`",
                    p.name.get_ref()
                ),
            );
            return None;
        };
        return Some((
            kind,
            *address.get_ref(),
            at(file, address),
            PointSource::Modbus,
        ));
    }
    if p.kind.is_some() || p.address.is_some() {
        v.error(
            &name_pos,
            "a point of an `mqtt` device names a `topic`, not `kind` and `address`",
        );
        return None;
    }
    let Some(topic) = &p.topic else {
        v.error(
            &name_pos,
            format!("MQTT point `{}` needs `topic`", p.name.get_ref()),
        );
        return None;
    };
    let filter = topic.get_ref().replace("{device}", section.id.get_ref());
    if let Err(why) = check_topic_filter(&filter) {
        v.error(&at(file, topic), why);
        return None;
    }
    for pointer in [&p.json_pointer, &p.timestamp_pointer]
        .into_iter()
        .flatten()
    {
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            v.error(
                &name_pos,
                format!("`{pointer}` is not a JSON Pointer; write it like \"/temperature\""),
            );
            return None;
        }
    }
    let source = PointSource::Mqtt(MqttTopic {
        filter,
        json_pointer: p.json_pointer.clone(),
        timestamp_pointer: p.timestamp_pointer.clone(),
    });
    Some((RegisterKind::Input, 0, at(file, topic), source))
}

/// A topic filter: non-empty levels or wildcards, `+` a whole level, `#` last.
fn check_topic_filter(filter: &str) -> Result<(), String> {
    if filter.is_empty() {
        return Err("a topic filter cannot be empty".into());
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        let wildcard_inside = level.len() > 1 && (level.contains('+') || level.contains('#'));
        if wildcard_inside || (*level == "#" && i + 1 != levels.len()) {
            return Err(format!(
                "`{filter}` is not a topic filter: `+` stands for a whole level, `#` only for the last"
            ));
        }
    }
    Ok(())
}

/// Reads a configured secret now; a missing one is an error at its position.
fn resolve_secret(
    v: &mut Validator<'_>,
    source: Option<&Spanned<super::SecretSource>>,
    base_dir: &std::path::Path,
) -> Option<super::Secret> {
    let source = source?;
    source
        .get_ref()
        .resolve(base_dir)
        .map_err(|e| v.error(&at(0, source), e))
        .ok()
}

fn check_mqtt(
    v: &mut Validator<'_>,
    s: &super::MqttSection,
    site_id: &Spanned<String>,
    base_dir: &std::path::Path,
) -> Option<sitewarden_model::catalog::MqttSettings> {
    use sitewarden_model::catalog::{MqttBroker, MqttTls};
    let errors_before = v.error_count();
    let tls = s.tls.as_ref();
    let broker = match &s.host {
        Some(host) if host.get_ref().trim().is_empty() => {
            v.error(
                &at(0, host),
                "host is empty; omit it to run the embedded broker",
            );
            None
        }
        Some(host) => Some(MqttBroker::External {
            host: host.get_ref().clone(),
            port: s.port.unwrap_or(if tls.is_some() { 8883 } else { 1883 }),
        }),
        None => match s.embedded_listen.get_ref().parse() {
            Ok(listen) => Some(MqttBroker::Embedded { listen }),
            Err(_) => {
                v.error(
                    &at(0, &s.embedded_listen),
                    format!(
                        "`{}` is not an address to listen on",
                        s.embedded_listen.get_ref()
                    ),
                );
                None
            }
        },
    };
    let password = resolve_secret(v, s.password.as_ref(), base_dir);
    let keep_alive = s.keep_alive.get_ref().0;
    if keep_alive < Duration::from_secs(5) || keep_alive > Duration::from_secs(3600) {
        v.error(
            &at(0, &s.keep_alive),
            "keep_alive must be between 5s and 1h",
        );
    }
    let mut read = |path: &Spanned<String>| {
        std::fs::read(base_dir.join(path.get_ref()))
            .map_err(|e| v.error(&at(0, path), format!("cannot read {}: {e}", path.get_ref())))
            .ok()
    };
    let tls = match tls {
        Some(t) => {
            let ca = read(&t.ca);
            let client = match (&t.cert, &t.key) {
                (Some(c), Some(k)) => read(c).zip(read(k)),
                (None, None) => None,
                (Some(c), None) | (None, Some(c)) => {
                    v.error(
                        &at(0, c),
                        "a client certificate needs both `cert` and `key`",
                    );
                    None
                }
            };
            ca.map(|ca| MqttTls { ca, client })
        }
        None => None,
    };
    if matches!(broker, Some(MqttBroker::Embedded { .. })) && s.tls.is_some() {
        v.error(
            &at(0, &s.embedded_listen),
            "TLS is for an external broker; the embedded broker listens in plain MQTT on loopback",
        );
    }
    (v.error_count() == errors_before).then(|| sitewarden_model::catalog::MqttSettings {
        broker: broker.unwrap_or(MqttBroker::Embedded {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 1883)),
        }),
        client_id: s
            .client_id
            .clone()
            .unwrap_or_else(|| format!("sitewarden-{}", site_id.get_ref())),
        username: s.username.clone(),
        password,
        keep_alive,
        protocol: s.protocol,
        tls,
        values: s
            .publish_values
            .then_some((s.values_deadband.max(0.0), s.values_min_interval.0)),
    })
}

fn check_influx(
    v: &mut Validator<'_>,
    s: &super::InfluxSection,
    base_dir: &std::path::Path,
) -> Option<sitewarden_model::catalog::InfluxSettings> {
    let errors_before = v.error_count();
    let url = s.url.get_ref();
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if parsed.is_none() {
        v.error(
            &at(0, &s.url),
            format!("`{url}` is not an http:// or https:// URL with a host"),
        );
    }
    let token = resolve_secret(v, s.token.as_ref(), base_dir);
    let batch = *s.batch_size.get_ref();
    if !(1..=100_000).contains(&batch) {
        v.error(
            &at(0, &s.batch_size),
            format!("batch_size {batch} must be between 1 and 100000 lines"),
        );
    }
    let flush = s.flush_interval.get_ref().0;
    if flush < Duration::from_millis(10) || flush > Duration::from_secs(60) {
        v.error(
            &at(0, &s.flush_interval),
            format!(
                "flush_interval {} must be between 10ms and 1m",
                s.flush_interval.get_ref()
            ),
        );
    }
    let timeout = s.timeout.get_ref().0;
    if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(300) {
        v.error(
            &at(0, &s.timeout),
            format!(
                "timeout {} must be between 100ms and 5m",
                s.timeout.get_ref()
            ),
        );
    }
    let buffer_bytes = match super::sinks::parse_size(s.buffer_budget.get_ref()) {
        Ok(0) => {
            v.error(
                &at(0, &s.buffer_budget),
                "buffer_budget must be more than 0: without a buffer an outage loses data",
            );
            0
        }
        Ok(bytes) => bytes,
        Err(e) => {
            v.error(&at(0, &s.buffer_budget), e);
            0
        }
    };
    if !(s.report_deadband >= 0.0 && s.report_deadband.is_finite()) {
        v.error(
            &at(0, &s.url),
            "report_deadband must be zero or a positive number",
        );
    }
    (v.error_count() == errors_before).then(|| sitewarden_model::catalog::InfluxSettings {
        url: url.clone(),
        org: s.org.clone(),
        bucket: s.bucket.clone(),
        token,
        batch_size: batch,
        flush_interval: flush,
        gzip: s.gzip,
        timeout,
        buffer_bytes,
        report_deadband: s.report_deadband,
        report_min_interval: s.report_min_interval.get_ref().0,
    })
}

fn check_interval(
    v: &mut Validator<'_>,
    pos: &Pos,
    what: &str,
    value: ConfigDuration,
) -> Option<Duration> {
    if value.0 < MIN_INTERVAL || value.0 > MAX_INTERVAL {
        v.error(
            pos,
            format!(
                "{what} {value} is out of range; it must be between {} and {}",
                ConfigDuration(MIN_INTERVAL),
                ConfigDuration(MAX_INTERVAL)
            ),
        );
        return None;
    }
    Some(value.0)
}

/// Point names are unique per device; two points may share a register only
/// as different bits of it.
fn check_overlaps(
    v: &mut Validator<'_>,
    points: &[Point],
    positions: &[Pos],
    section: &DeviceSection,
) {
    let device = section.id.get_ref();
    let mut names: HashMap<&str, ()> = HashMap::new();
    for (p, pos) in points.iter().zip(positions) {
        if names.insert(&p.name, ()).is_some() {
            v.error(
                pos,
                format!("device `{device}` has two points named `{}`", p.name),
            );
        }
    }
    // Registers can overlap; topics cannot.
    let mut sorted: Vec<(&Point, &Pos)> = points
        .iter()
        .zip(positions)
        .filter(|(p, _)| p.source == PointSource::Modbus)
        .collect();
    sorted.sort_by_key(|(p, _)| (p.kind, p.address));
    for (i, (a, _)) in sorted.iter().enumerate() {
        for (b, b_pos) in &sorted[i + 1..] {
            if b.kind != a.kind || u32::from(b.address) >= a.end() {
                break;
            }
            let both_bits = a.data_type == DataType::Bit && b.data_type == DataType::Bit;
            if both_bits && a.address == b.address && a.bit != b.bit {
                continue;
            }
            let message = if both_bits && a.bit == b.bit {
                format!(
                    "points `{}` and `{}` of device `{device}` both read bit {} of {} register {}",
                    a.name,
                    b.name,
                    a.bit,
                    a.kind.as_str(),
                    a.address
                )
            } else {
                format!(
                    "points `{}` ({:?} at {} {}) and `{}` ({:?} at {} {}) of device `{device}` overlap on the same register and decode it differently",
                    a.name,
                    a.data_type,
                    a.kind.as_str(),
                    a.address,
                    b.name,
                    b.data_type,
                    b.kind.as_str(),
                    b.address,
                )
            };
            v.error(b_pos, message);
        }
    }
}

fn check_device(
    v: &mut Validator<'_>,
    s: &DeviceSection,
    id: DeviceId,
    points: Range<u32>,
) -> Option<Device> {
    let device_pos = at(0, &s.id);
    let poll_interval = check_interval(
        v,
        &at_or(0, &s.poll_interval, &device_pos),
        "poll_interval",
        *s.poll_interval.get_ref(),
    );
    let timeout = s.timeout.get_ref().0;
    if !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&timeout) {
        v.error(
            &at_or(0, &s.timeout, &device_pos),
            format!(
                "timeout {} is out of range; it must be between {} and {}",
                s.timeout.get_ref(),
                ConfigDuration(MIN_TIMEOUT),
                ConfigDuration(MAX_TIMEOUT)
            ),
        );
    }
    if *s.retries.get_ref() > MAX_RETRIES {
        v.error(
            &at(0, &s.retries),
            format!(
                "retries {} is out of range; at most {MAX_RETRIES}",
                s.retries.get_ref()
            ),
        );
    }
    if *s.offline_after.get_ref() == 0 {
        v.error(
            &at(0, &s.offline_after),
            "offline_after must be at least 1 failed poll",
        );
    }
    if s.profile.is_none() && s.points.is_empty() {
        v.error(
            &device_pos,
            format!(
                "device `{}` has no points: give it a profile or points",
                s.id.get_ref()
            ),
        );
    }
    Some(Device {
        id,
        name: s.id.get_ref().clone(),
        display_name: s.name.clone().unwrap_or_else(|| s.id.get_ref().clone()),
        location: s.location.clone(),
        profile: s.profile.as_ref().map(|p| p.get_ref().clone()),
        line: None,
        mqtt: mqtt_device(v, s),
        impact: s.impact,
        unit_id: *s.unit_id.get_ref(),
        poll_interval: poll_interval?,
        timeout,
        retries: *s.retries.get_ref(),
        offline_after: *s.offline_after.get_ref(),
        max_gap_registers: s.max_gap_registers,
        max_gap_bits: s.max_gap_bits,
        points,
    })
}

/// Availability settings of an `mqtt` device; MQTT-only settings on any
/// other device are errors.
fn mqtt_device(v: &mut Validator<'_>, s: &DeviceSection) -> Option<MqttDevice> {
    let t = s.transport.get_ref();
    let pos = at(0, &s.transport);
    let mqtt_fields = t.availability_topic.is_some()
        || t.payload_online.is_some()
        || t.payload_offline.is_some()
        || t.silent_after.is_some();
    if t.kind != TransportKind::Mqtt {
        if mqtt_fields {
            v.error(&pos, "availability_topic, payload_online, payload_offline and silent_after belong to `mqtt` devices");
        }
        return None;
    }
    let silent_after = t
        .silent_after
        .as_ref()
        .map_or(Duration::from_secs(300), |d| d.get_ref().0);
    if !(Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&silent_after) {
        v.error(&pos, "silent_after must be between 1s and 1d");
    }
    let topic = t
        .availability_topic
        .as_ref()
        .map(|topic| topic.replace("{device}", s.id.get_ref()));
    if let Some(topic) = &topic
        && (topic.contains('+') || topic.contains('#') || topic.is_empty())
    {
        v.error(
            &pos,
            format!("availability_topic `{topic}` must be one topic, without wildcards"),
        );
    }
    Some(MqttDevice {
        availability_topic: topic,
        payload_online: t.payload_online.clone().unwrap_or_else(|| "online".into()),
        payload_offline: t
            .payload_offline
            .clone()
            .unwrap_or_else(|| "offline".into()),
        silent_after,
    })
}

/// Checks transports and groups devices into lines: each TCP device on its
/// own, devices behind one RS-485 gateway or on one serial port together.
fn build_lines(
    v: &mut Validator<'_>,
    site: &SiteFile,
    devices: &mut [Option<Device>],
) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    // (line or TCP host, unit id) -> device that claimed it
    let mut claimed_units: HashMap<(String, u8), String> = HashMap::new();
    for (index, (section, device)) in site.devices.iter().zip(devices.iter_mut()).enumerate() {
        let pos = at(0, &section.transport);
        if section.transport.get_ref().kind == TransportKind::Mqtt {
            continue; // no Modbus line: the MQTT source serves it
        }
        let Some(transport) = check_transport(v, section, &pos) else {
            continue;
        };
        let unit = *section.unit_id.get_ref();
        let key = (transport.describe(), unit);
        if let Some(other) = claimed_units.get(&key) {
            v.error(
                &at_or(0, &section.unit_id, &pos),
                format!(
                    "unit id {unit} at {} is already used by device `{other}`",
                    transport.describe()
                ),
            );
            continue;
        }
        claimed_units.insert(key, section.id.get_ref().clone());
        let shared_line = match transport {
            LineTransport::Tcp { .. } => None,
            _ => lines
                .iter()
                .position(|l| same_line(&l.transport, &transport)),
        };
        let line_index = match shared_line {
            Some(i) => {
                if lines[i].transport != transport {
                    v.error(
                        &pos,
                        format!(
                            "device `{}` uses a serial port that another device opens with different baud, parity or stop bits",
                            section.id.get_ref()
                        ),
                    );
                }
                i
            }
            None => {
                lines.push(Line {
                    id: LineId(lines.len() as u32),
                    transport,
                    devices: Vec::new(),
                });
                lines.len() - 1
            }
        };
        lines[line_index].devices.push(DeviceId(index as u32));
        if let Some(device) = device {
            device.line = Some(LineId(line_index as u32));
        }
    }
    lines
}

fn same_line(a: &LineTransport, b: &LineTransport) -> bool {
    match (a, b) {
        (LineTransport::Tcp { host: x }, LineTransport::Tcp { host: y })
        | (LineTransport::RtuOverTcp { host: x }, LineTransport::RtuOverTcp { host: y }) => x == y,
        (LineTransport::Serial { path: x, .. }, LineTransport::Serial { path: y, .. }) => x == y,
        _ => false,
    }
}

fn check_transport(v: &mut Validator<'_>, s: &DeviceSection, pos: &Pos) -> Option<LineTransport> {
    let t = s.transport.get_ref();
    let unit = *s.unit_id.get_ref();
    let unit_pos = at_or(0, &s.unit_id, pos);
    let serial_fields =
        t.serial.is_some() || t.baud.is_some() || t.parity.is_some() || t.stop_bits.is_some();
    match t.kind {
        TransportKind::Mqtt => None,
        TransportKind::ModbusTcp | TransportKind::ModbusRtuOverTcp => {
            if serial_fields {
                v.error(pos, "serial, baud, parity and stop_bits belong to `modbus-rtu`, not to a TCP transport");
            }
            if t.kind == TransportKind::ModbusRtuOverTcp && !(1..=247).contains(&unit) {
                v.error(
                    &unit_pos,
                    format!("unit id {unit} is out of range; an RTU unit id is 1–247"),
                );
            }
            let Some(host) = &t.host else {
                v.error(pos, "a TCP transport needs `host = \"address:port\"`");
                return None;
            };
            if !valid_host_port(host.get_ref()) {
                v.error(
                    &at(0, host),
                    format!(
                        "`{}` is not `host:port` with a port 1–65535",
                        host.get_ref()
                    ),
                );
                return None;
            }
            let host = host.get_ref().clone();
            Some(if t.kind == TransportKind::ModbusTcp {
                LineTransport::Tcp { host }
            } else {
                LineTransport::RtuOverTcp { host }
            })
        }
        TransportKind::ModbusRtu => {
            if t.host.is_some() {
                v.error(pos, "`host` belongs to TCP transports; a serial line names `serial = \"/dev/ttyUSB0\"`");
            }
            if !(1..=247).contains(&unit) {
                v.error(
                    &unit_pos,
                    format!("unit id {unit} is out of range; an RTU unit id is 1–247"),
                );
            }
            let baud = t.baud.as_ref().map_or(9600, |b| *b.get_ref());
            const BAUDS: [u32; 9] = [
                1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400,
            ];
            if let Some(b) = &t.baud
                && !BAUDS.contains(b.get_ref())
            {
                v.error(
                    &at(0, b),
                    format!(
                        "baud {} is not a standard rate; use one of {BAUDS:?}",
                        b.get_ref()
                    ),
                );
            }
            let stop_bits = t.stop_bits.as_ref().map_or(1, |b| *b.get_ref());
            if let Some(b) = &t.stop_bits
                && !matches!(b.get_ref(), 1 | 2)
            {
                v.error(&at(0, b), "stop_bits must be 1 or 2");
            }
            let Some(path) = &t.serial else {
                v.error(
                    pos,
                    "a `modbus-rtu` transport needs `serial = \"/dev/ttyUSB0\"`",
                );
                return None;
            };
            Some(LineTransport::Serial {
                path: path.get_ref().clone(),
                baud,
                parity: t.parity.unwrap_or_default(),
                stop_bits,
            })
        }
    }
}

fn valid_host_port(text: &str) -> bool {
    match text.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}
