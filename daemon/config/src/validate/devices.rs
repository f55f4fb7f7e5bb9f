//! Checks of `[[devices]]`: transports, MQTT devices, and the lines devices share.

use super::*;

pub(super) fn check_device(
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
pub(super) fn mqtt_device(v: &mut Validator<'_>, s: &DeviceSection) -> Option<MqttDevice> {
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
pub(super) fn build_lines(
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

pub(super) fn same_line(a: &LineTransport, b: &LineTransport) -> bool {
    match (a, b) {
        (LineTransport::Tcp { host: x }, LineTransport::Tcp { host: y })
        | (LineTransport::RtuOverTcp { host: x }, LineTransport::RtuOverTcp { host: y }) => x == y,
        (LineTransport::Serial { path: x, .. }, LineTransport::Serial { path: y, .. }) => x == y,
        _ => false,
    }
}

pub(super) fn check_transport(
    v: &mut Validator<'_>,
    s: &DeviceSection,
    pos: &Pos,
) -> Option<LineTransport> {
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

pub(super) fn valid_host_port(text: &str) -> bool {
    match text.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}
