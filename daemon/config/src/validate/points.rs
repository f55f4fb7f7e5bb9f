//! Points: profiles resolved into points, overrides, each point's address, type and source, poll intervals, and addresses that overlap.

use super::*;

/// Profile points, then the device's own points, with overrides applied.
pub(super) fn resolve_points(
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

pub(super) fn apply_override(
    v: &mut Validator<'_>,
    drafts: &mut Vec<DraftPoint>,
    o: &PointOverride,
) {
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

pub(super) fn check_point(
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
pub(super) fn point_source(
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
    let source = PointSource::Mqtt(Box::new(MqttTopic {
        filter,
        json_pointer: p.json_pointer.clone(),
        timestamp_pointer: p.timestamp_pointer.clone(),
    }));
    Some((RegisterKind::Input, 0, at(file, topic), source))
}

pub(super) fn check_interval(
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
pub(super) fn check_overlaps(
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
