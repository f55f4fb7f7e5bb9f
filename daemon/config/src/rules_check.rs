//! Validation of rule packs and `[rules]` overrides, and binding rules to
//! points: one [`RuleInstance`] per rule and matching point of a device.
//!
//! Longer than our 600-line guide on purpose: one function per rule kind
//! (`limit`, `state`, `rate`, `combination`) reads as a table next to the
//! private `Draft`/`Template` they build; splitting would make both public.

use std::collections::HashMap;
use std::time::Duration;

use super::load::FileId;
use super::validate::{Pos, Validator, at, check_identifier};
use super::{
    ConfigDuration, PredicateSection, RuleOverride, RulePackFile, RuleSection, SiteFile, Spanned,
    is_known_role,
};
use sitewarden_model::catalog::{
    Check, Device, DeviceId, Point, PointId, Predicate, Rule, RuleId, RuleInstance,
};
use sitewarden_model::vocab::{LimitLevel, RuleKind, SiteState};

/// Longest on-delay, off-delay or staleness limit a rule may ask for.
const MAX_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);

/// A checked rule before it is bound to devices.
struct Draft {
    rule: Rule,
    template: Template,
    on_delay: Duration,
    off_delay: Duration,
    level: Option<LimitLevel>,
    only_while: Option<SiteState>,
}

/// What a rule tests, with combination predicates still named by role.
enum Template {
    Simple(Check),
    Combination {
        all: bool,
        of: Vec<(String, Predicate)>,
        /// Index in `of` of the predicate a `threshold` override sets.
        adjustable: Option<usize>,
    },
}

pub(super) fn check_rules(
    v: &mut Validator<'_>,
    site: &SiteFile,
    packs: &[(FileId, RulePackFile)],
    devices: &[Option<Device>],
    points: &[Point],
) -> (Vec<Rule>, Vec<RuleInstance>) {
    let drafts = check_packs(v, packs);
    let overrides = check_overrides(v, site, &drafts);
    let mut instances = Vec::new();
    for device in devices.iter().flatten() {
        let device_points = &points[device.points.start as usize..device.points.end as usize];
        for (index, draft) in drafts.iter().enumerate() {
            let applicable: Vec<&RuleOverride> = overrides
                .iter()
                .copied()
                .filter(|o| o.rule.get_ref() == &draft.rule.id)
                .filter(|o| {
                    o.device
                        .as_ref()
                        .is_none_or(|d| d.get_ref() == &device.name)
                })
                .collect();
            if applicable.iter().any(|o| o.enabled == Some(false)) {
                continue;
            }
            for mut instance in bind(RuleId(index as u32), draft, device.id, device_points) {
                for o in &applicable {
                    apply_override(&mut instance, o, draft);
                }
                instances.push(instance);
            }
        }
    }
    check_override_limit_order(v, &drafts, &instances, &overrides);
    (drafts.into_iter().map(|d| d.rule).collect(), instances)
}

fn check_packs(v: &mut Validator<'_>, packs: &[(FileId, RulePackFile)]) -> Vec<Draft> {
    let mut drafts: Vec<Draft> = Vec::new();
    let mut pack_ids: HashMap<&str, ()> = HashMap::new();
    for (file, pack) in packs {
        let file = *file;
        check_identifier(v, &at(file, &pack.pack), "pack id", pack.pack.get_ref());
        if pack_ids.insert(pack.pack.get_ref(), ()).is_some() {
            v.error(
                &at(file, &pack.pack),
                format!("pack `{}` is loaded twice", pack.pack.get_ref()),
            );
        }
        let mut rule_ids: HashMap<&str, ()> = HashMap::new();
        for section in &pack.rule {
            let pos = at(file, &section.id);
            check_identifier(v, &pos, "rule id", section.id.get_ref());
            if rule_ids.insert(section.id.get_ref(), ()).is_some() {
                v.error(
                    &pos,
                    format!(
                        "rule `{}` appears twice in pack `{}`",
                        section.id.get_ref(),
                        pack.pack.get_ref()
                    ),
                );
            }
            let id = format!("{}.{}", pack.pack.get_ref(), section.id.get_ref());
            if let Some(draft) = check_rule(v, file, section, id) {
                drafts.push(draft);
            }
        }
    }
    check_limit_order(v, packs, &drafts);
    drafts
}

fn check_rule(v: &mut Validator<'_>, file: FileId, s: &RuleSection, id: String) -> Option<Draft> {
    let pos = at(file, &s.id);
    let errors_before = v.error_count();
    check_fields_apply(v, file, s, &pos);
    let role = check_role(v, file, s, &pos);
    let on_delay = delay(v, file, s.on_delay.as_ref(), "on_delay");
    let off_delay = delay(v, file, s.off_delay.as_ref(), "off_delay");
    let template = match s.kind {
        RuleKind::Limit => limit(v, file, s, &pos),
        RuleKind::State => state(v, file, s, &pos),
        RuleKind::Rate => rate(v, file, s, &pos),
        RuleKind::Stale => {
            let after = required(v, &pos, s.after.as_ref(), "after", "a stale rule")?;
            let after = delay(v, file, Some(after), "after");
            (after > Duration::ZERO).then_some(Template::Simple(Check::Stale { after }))
        }
        RuleKind::Offline => Some(Template::Simple(Check::Offline)),
        RuleKind::ServiceInterval => {
            let interval = *required(
                v,
                &pos,
                s.threshold.as_ref(),
                "threshold",
                "a service_interval rule",
            )?
            .get_ref();
            if interval <= 0.0 {
                v.error(&pos, "a service interval must be greater than zero");
            }
            Some(Template::Simple(Check::ServiceInterval { interval }))
        }
        RuleKind::Schedule => {
            let when = *required(v, &pos, s.when.as_ref(), "when", "a schedule rule")?;
            let value = required(v, &pos, s.equals.as_ref(), "equals", "a schedule rule")?
                .get_ref()
                .as_f64();
            Some(Template::Simple(Check::Schedule {
                when_open: when == SiteState::Open,
                value,
            }))
        }
        RuleKind::All | RuleKind::Any => combination(v, file, s, &pos),
    };
    if v.error_count() > errors_before {
        return None;
    }
    Some(Draft {
        rule: Rule {
            id,
            description: s.description.clone(),
            advice: s.advice.clone(),
            kind: s.kind,
            role,
            severity: s.severity,
            category: s.category,
            action: s.action,
            class: s.class,
        },
        template: template?,
        on_delay,
        off_delay,
        level: s.level,
        // A schedule rule's `when` is part of its check.
        only_while: s.when.filter(|_| s.kind != RuleKind::Schedule),
    })
}

/// Settings that do not apply to the rule's kind are mistakes, not extras.
fn check_fields_apply(v: &mut Validator<'_>, file: FileId, s: &RuleSection, pos: &Pos) {
    use RuleKind as K;
    let present: [(&str, bool, &[RuleKind]); 10] = [
        ("level", s.level.is_some(), &[K::Limit]),
        ("deadband", s.deadband.is_some(), &[K::Limit]),
        (
            "threshold",
            s.threshold.is_some(),
            &[K::Limit, K::ServiceInterval],
        ),
        ("equals", s.equals.is_some(), &[K::State, K::Schedule]),
        ("differs", s.differs.is_some(), &[K::State]),
        ("rise_per_minute", s.rise_per_minute.is_some(), &[K::Rate]),
        ("fall_per_minute", s.fall_per_minute.is_some(), &[K::Rate]),
        ("window", s.window.is_some(), &[K::Rate]),
        ("after", s.after.is_some(), &[K::Stale]),
        (
            "when",
            s.when.is_some(),
            &[K::Schedule, K::Limit, K::State, K::Rate, K::All, K::Any],
        ),
    ];
    for (name, is_set, kinds) in present {
        if is_set && !kinds.contains(&s.kind) {
            v.error(
                pos,
                format!("`{name}` does not apply to a {} rule", s.kind.as_str()),
            );
        }
    }
    if !s.of.is_empty() && !matches!(s.kind, K::All | K::Any) {
        v.error(pos, "`of` applies only to `all` and `any` rules");
    }
    let _ = file;
}

fn check_role(v: &mut Validator<'_>, file: FileId, s: &RuleSection, pos: &Pos) -> Option<String> {
    match (&s.role, s.kind) {
        (Some(role), _) if !is_known_role(role.get_ref()) => {
            v.error(
                &at(file, role),
                format!("unknown role `{}`; see `sitewarden roles`", role.get_ref()),
            );
            None
        }
        (Some(_), RuleKind::All | RuleKind::Any) => {
            v.error(
                pos,
                "an `all`/`any` rule names its roles in `of`, not in `role`",
            );
            None
        }
        (Some(role), _) => Some(role.get_ref().clone()),
        (None, RuleKind::All | RuleKind::Any | RuleKind::Offline) => None,
        (None, kind) => {
            v.error(pos, format!("a {} rule needs `role`", kind.as_str()));
            None
        }
    }
}

fn required<'a, T>(
    v: &mut Validator<'_>,
    pos: &Pos,
    value: Option<&'a T>,
    name: &str,
    what: &str,
) -> Option<&'a T> {
    if value.is_none() {
        v.error(pos, format!("{what} needs `{name}`"));
    }
    value
}

fn delay(
    v: &mut Validator<'_>,
    file: FileId,
    value: Option<&Spanned<ConfigDuration>>,
    name: &str,
) -> Duration {
    let Some(value) = value else {
        return Duration::ZERO;
    };
    if value.get_ref().0 > MAX_DELAY {
        v.error(
            &at(file, value),
            format!(
                "{name} {} is longer than the 7 days a rule may wait",
                value.get_ref()
            ),
        );
    }
    value.get_ref().0
}

fn limit(v: &mut Validator<'_>, file: FileId, s: &RuleSection, pos: &Pos) -> Option<Template> {
    let level = *required(v, pos, s.level.as_ref(), "level", "a limit rule")?;
    let threshold = *required(v, pos, s.threshold.as_ref(), "threshold", "a limit rule")?.get_ref();
    let deadband = s.deadband.as_ref().map_or(0.0, |d| *d.get_ref());
    if let Some(d) = &s.deadband
        && !(deadband >= 0.0 && deadband.is_finite())
    {
        let clear = if level.is_upper() {
            threshold - deadband
        } else {
            threshold + deadband
        };
        v.error(
            &at(file, d),
            format!("deadband {deadband} puts the clear point ({clear}) beyond the threshold ({threshold}); it must be zero or positive"),
        );
        return None;
    }
    if !threshold.is_finite() {
        v.error(pos, "threshold must be a finite number");
        return None;
    }
    let upper = level.is_upper();
    let clear_at = if upper {
        threshold - deadband
    } else {
        threshold + deadband
    };
    Some(Template::Simple(Check::Limit {
        upper,
        threshold,
        clear_at,
    }))
}

fn state(v: &mut Validator<'_>, file: FileId, s: &RuleSection, pos: &Pos) -> Option<Template> {
    match (&s.equals, &s.differs) {
        (Some(value), None) => Some(Template::Simple(Check::State {
            value: value.get_ref().as_f64(),
            when_equal: true,
        })),
        (None, Some(value)) => Some(Template::Simple(Check::State {
            value: value.get_ref().as_f64(),
            when_equal: false,
        })),
        (Some(_), Some(d)) => {
            v.error(
                &at(file, d),
                "a state rule has `equals` or `differs`, not both",
            );
            None
        }
        (None, None) => {
            v.error(pos, "a state rule needs `equals` or `differs`");
            None
        }
    }
}

fn rate(v: &mut Validator<'_>, file: FileId, s: &RuleSection, pos: &Pos) -> Option<Template> {
    let per_minute = match (&s.rise_per_minute, &s.fall_per_minute) {
        (Some(r), None) => *r.get_ref(),
        (None, Some(f)) => -*f.get_ref(),
        _ => {
            v.error(
                pos,
                "a rate rule needs exactly one of `rise_per_minute` and `fall_per_minute`",
            );
            return None;
        }
    };
    if per_minute == 0.0
        || !per_minute.is_finite()
        || s.rise_per_minute
            .as_ref()
            .is_some_and(|r| *r.get_ref() < 0.0)
        || s.fall_per_minute
            .as_ref()
            .is_some_and(|f| *f.get_ref() < 0.0)
    {
        v.error(pos, "a rate must be a positive number per minute");
        return None;
    }
    let window = required(v, pos, s.window.as_ref(), "window", "a rate rule")?;
    if window.get_ref().0 < Duration::from_secs(1) || window.get_ref().0 > MAX_DELAY {
        v.error(
            &at(file, window),
            format!("window {} must be between 1s and 7 days", window.get_ref()),
        );
        return None;
    }
    Some(Template::Simple(Check::Rate {
        per_minute,
        window: window.get_ref().0,
    }))
}

fn combination(
    v: &mut Validator<'_>,
    file: FileId,
    s: &RuleSection,
    pos: &Pos,
) -> Option<Template> {
    if s.of.is_empty() {
        v.error(
            pos,
            "an `all`/`any` rule needs at least one predicate in `of`",
        );
        return None;
    }
    let mut of = Vec::new();
    for p in &s.of {
        if !is_known_role(p.role.get_ref()) {
            v.error(
                &at(file, &p.role),
                format!(
                    "unknown role `{}`; see `sitewarden roles`",
                    p.role.get_ref()
                ),
            );
            continue;
        }
        match predicate(p) {
            Some(pred) => of.push((p.role.get_ref().clone(), pred)),
            None => v.error(
                &at(file, &p.role),
                "a predicate needs exactly one of `above`, `below` and `equals`",
            ),
        }
    }
    let adjustable: Vec<usize> = (0..s.of.len()).filter(|&i| s.of[i].adjustable).collect();
    if adjustable.len() > 1 {
        v.error(
            &at(file, &s.of[adjustable[1]].role),
            "only one predicate of a rule can be `adjustable`: a site override has one `threshold`",
        );
        return None;
    }
    (of.len() == s.of.len()).then_some(Template::Combination {
        all: s.kind == RuleKind::All,
        of,
        adjustable: adjustable.first().copied(),
    })
}

fn predicate(p: &PredicateSection) -> Option<Predicate> {
    match (p.above, p.below, p.equals) {
        (Some(x), None, None) => Some(Predicate::Above(x)),
        (None, Some(x), None) => Some(Predicate::Below(x)),
        (None, None, Some(x)) => Some(Predicate::Equals(x.as_f64())),
        _ => None,
    }
}

/// A high-high limit below the high limit of the same role (or a low-low
/// above the low) would raise the worse condition first.
fn check_limit_order(v: &mut Validator<'_>, packs: &[(FileId, RulePackFile)], drafts: &[Draft]) {
    let threshold_of = |level: LimitLevel, role: &str| {
        drafts
            .iter()
            .find_map(|d| match (&d.template, d.level, &d.rule.role) {
                (Template::Simple(Check::Limit { threshold, .. }), Some(l), Some(r))
                    if l == level && r == role =>
                {
                    Some(*threshold)
                }
                _ => None,
            })
    };
    for (file, pack) in packs {
        for s in pack.rule.iter().filter(|s| s.kind == RuleKind::Limit) {
            let (Some(level), Some(role), Some(threshold)) = (s.level, &s.role, &s.threshold)
            else {
                continue;
            };
            let (milder, worse_is_above) = match level {
                LimitLevel::HighHigh => (LimitLevel::High, true),
                LimitLevel::LowLow => (LimitLevel::Low, false),
                _ => continue,
            };
            if let Some(mild) = threshold_of(milder, role.get_ref()) {
                let t = *threshold.get_ref();
                if (worse_is_above && t < mild) || (!worse_is_above && t > mild) {
                    v.error(
                        &at(*file, threshold),
                        format!(
                            "{} threshold {t} for `{}` is inside its {} threshold {mild}; the worse level must trip later",
                            level.label(),
                            role.get_ref(),
                            milder.label()
                        ),
                    );
                }
            }
        }
    }
}

fn check_overrides<'a>(
    v: &mut Validator<'_>,
    site: &'a SiteFile,
    drafts: &[Draft],
) -> Vec<&'a RuleOverride> {
    let mut valid = Vec::new();
    for o in &site.rules.overrides {
        let Some(draft) = drafts.iter().find(|d| &d.rule.id == o.rule.get_ref()) else {
            v.error(
                &at(0, &o.rule),
                format!(
                    "override names rule `{}`, which no loaded pack has",
                    o.rule.get_ref()
                ),
            );
            continue;
        };
        if let Some(device) = &o.device
            && !site
                .devices
                .iter()
                .any(|d| d.id.get_ref() == device.get_ref())
        {
            v.error(
                &at(0, device),
                format!(
                    "override names device `{}`, which the site does not have",
                    device.get_ref()
                ),
            );
            continue;
        }
        if let Some(d) = &o.deadband
            && *d.get_ref() < 0.0
        {
            v.error(&at(0, d), "deadband must be zero or positive");
            continue;
        }
        for (value, name) in [
            (&o.on_delay, "on_delay"),
            (&o.off_delay, "off_delay"),
            (&o.after, "after"),
            (&o.window, "window"),
        ] {
            if let Some(value) = value
                && value.get_ref().0 > MAX_DELAY
            {
                v.error(
                    &at(0, value),
                    format!(
                        "{name} {} is longer than the 7 days a rule may wait",
                        value.get_ref()
                    ),
                );
            }
        }
        if let Some(t) = &o.threshold
            && !(t.get_ref().is_finite()
                && (*t.get_ref() > 0.0
                    || !matches!(
                        draft.template,
                        Template::Simple(Check::Rate { .. } | Check::ServiceInterval { .. })
                    )))
        {
            v.error(
                &at(0, t),
                format!(
                    "threshold {} for `{}` must be a finite number, and above zero for a rate or service interval",
                    t.get_ref(),
                    o.rule.get_ref()
                ),
            );
            continue;
        }
        let is_limit = matches!(draft.template, Template::Simple(Check::Limit { .. }));
        if o.deadband.is_some() && !is_limit {
            v.error(
                &at(0, &o.rule),
                format!(
                    "rule `{}` is not a limit: it has no deadband",
                    o.rule.get_ref()
                ),
            );
            continue;
        }
        if !unused_settings(v, o, draft) {
            continue;
        }
        valid.push(o);
    }
    valid
}

/// Refuses, at its position, an override setting the rule's kind does not
/// use (it would be silently ignored); `false` when one was found.
fn unused_settings(v: &mut Validator<'_>, o: &RuleOverride, draft: &Draft) -> bool {
    let check = match &draft.template {
        Template::Simple(check) => Some(check),
        Template::Combination { .. } => None,
    };
    let kind = match check {
        Some(Check::Limit { .. }) => "a limit",
        Some(Check::ServiceInterval { .. }) => "a service interval",
        Some(Check::Stale { .. }) => "a staleness rule",
        Some(Check::Rate { .. }) => "a rate rule",
        Some(Check::State { .. }) => "a state rule",
        Some(Check::Offline) => "an offline rule",
        Some(Check::Schedule { .. }) => "a schedule rule",
        Some(Check::Combination { .. }) | None => "a combination without an adjustable predicate",
    };
    let uses_threshold = matches!(
        check,
        Some(Check::Limit { .. } | Check::ServiceInterval { .. } | Check::Rate { .. })
    ) || matches!(
        draft.template,
        Template::Combination {
            adjustable: Some(_),
            ..
        }
    );
    let uses_after = matches!(check, Some(Check::Stale { .. }));
    let uses_window = matches!(check, Some(Check::Rate { .. }));
    let mut ok = true;
    let mut refuse = |pos: Pos, setting: &str| {
        v.error(
            &pos,
            format!(
                "rule `{}` is {kind}: it has no `{setting}`, so this setting would do nothing",
                o.rule.get_ref()
            ),
        );
        ok = false;
    };
    if let (Some(t), false) = (&o.threshold, uses_threshold) {
        refuse(at(0, t), "threshold");
    }
    if let (Some(a), false) = (&o.after, uses_after) {
        refuse(at(0, a), "after");
    }
    if let (Some(w), false) = (&o.window, uses_window) {
        refuse(at(0, w), "window");
    }
    ok
}

/// Refuses limit pairs on one point that the overrides turned round: a
/// high limit set above its high-high limit (or a low below its low-low)
/// would never raise the milder condition first.
fn check_override_limit_order(
    v: &mut Validator<'_>,
    drafts: &[Draft],
    instances: &[RuleInstance],
    overrides: &[&RuleOverride],
) {
    let limit = |i: &RuleInstance| match i.check {
        Check::Limit { threshold, .. } => drafts[i.rule.0 as usize].level.map(|l| (l, threshold)),
        _ => None,
    };
    let mut reported = std::collections::HashSet::new();
    for worse in instances {
        let Some((level, t_worse)) = limit(worse) else {
            continue;
        };
        let (milder, worse_is_above) = match level {
            LimitLevel::HighHigh => (LimitLevel::High, true),
            LimitLevel::LowLow => (LimitLevel::Low, false),
            _ => continue,
        };
        for mild in instances.iter().filter(|i| i.point == worse.point) {
            let Some((l, t_mild)) = limit(mild) else {
                continue;
            };
            let inverted = if worse_is_above {
                t_worse < t_mild
            } else {
                t_worse > t_mild
            };
            if l != milder || !inverted {
                continue;
            }
            let (mild_id, worse_id) = (
                &drafts[mild.rule.0 as usize].rule.id,
                &drafts[worse.rule.0 as usize].rule.id,
            );
            let Some(o) = overrides.iter().find(|o| {
                o.threshold.is_some()
                    && (o.rule.get_ref() == mild_id || o.rule.get_ref() == worse_id)
            }) else {
                continue;
            };
            if !reported.insert((mild_id.clone(), worse_id.clone())) {
                continue;
            }
            let pos = o
                .threshold
                .as_ref()
                .map_or_else(|| at(0, &o.rule), |t| at(0, t));
            v.error(
                &pos,
                format!(
                    "after overrides `{worse_id}` ({}) trips at {t_worse}, inside `{mild_id}` ({}) at {t_mild}; the worse level must trip later",
                    level.label(),
                    milder.label()
                ),
            );
        }
    }
}

fn bind(rule: RuleId, draft: &Draft, device: DeviceId, points: &[Point]) -> Vec<RuleInstance> {
    let instance = |point: &Point, check: Check| RuleInstance {
        rule,
        device,
        point: point.id,
        check,
        on_delay: draft.on_delay,
        off_delay: draft.off_delay,
        severity: draft.rule.severity,
        only_while: draft.only_while,
    };
    fn with_role<'p>(points: &'p [Point], role: &'p str) -> impl Iterator<Item = &'p Point> {
        points
            .iter()
            .filter(move |p| p.role.as_deref() == Some(role))
    }
    match &draft.template {
        Template::Simple(Check::Offline) => {
            let anchor = match &draft.rule.role {
                Some(role) => with_role(points, role).next(),
                None => points.first(),
            };
            anchor
                .map(|p| instance(p, Check::Offline))
                .into_iter()
                .collect()
        }
        Template::Simple(check) => match &draft.rule.role {
            Some(role) => with_role(points, role)
                .map(|p| instance(p, check.clone()))
                .collect(),
            None => Vec::new(),
        },
        Template::Combination { all, of, .. } => {
            let mut bound: Vec<Vec<PointId>> = Vec::new();
            let mut instances = Vec::new();
            let Some((first_role, _)) = of.first() else {
                return instances;
            };
            for anchor in with_role(points, first_role) {
                let resolved: Option<Vec<(PointId, Predicate)>> = of
                    .iter()
                    .map(|(role, pred)| in_zone_of(points, role, anchor).map(|p| (p.id, *pred)))
                    .collect();
                let Some(resolved) = resolved else { continue };
                let ids: Vec<PointId> = resolved.iter().map(|(p, _)| *p).collect();
                if bound.contains(&ids) {
                    continue;
                }
                bound.push(ids);
                let check = Check::Combination {
                    all: *all,
                    of: resolved,
                };
                instances.push(instance(anchor, check));
            }
            instances
        }
    }
}

/// The point with `role` that belongs with `anchor`: the one in the same
/// zone (circuit 2's power goes with circuit 2's switch), or the device's
/// first with the role when none shares the zone (one supply-air sensor
/// for the whole unit).
fn in_zone_of<'p>(points: &'p [Point], role: &str, anchor: &Point) -> Option<&'p Point> {
    let mut with_role = points.iter().filter(|p| p.role.as_deref() == Some(role));
    let first = with_role.clone().next();
    with_role
        .find(|p| p.zone.is_some() && p.zone == anchor.zone)
        .or(first)
}

fn apply_override(instance: &mut RuleInstance, o: &RuleOverride, draft: &Draft) {
    if let Some(d) = &o.on_delay {
        instance.on_delay = d.get_ref().0;
    }
    if let Some(d) = &o.off_delay {
        instance.off_delay = d.get_ref().0;
    }
    if let Some(severity) = o.severity {
        instance.severity = severity;
    }
    match &mut instance.check {
        Check::Limit {
            upper,
            threshold,
            clear_at,
        } => {
            let deadband = o
                .deadband
                .as_ref()
                .map_or((*threshold - *clear_at).abs(), |d| *d.get_ref());
            if let Some(t) = &o.threshold {
                *threshold = *t.get_ref();
            }
            *clear_at = if *upper {
                *threshold - deadband
            } else {
                *threshold + deadband
            };
        }
        Check::ServiceInterval { interval } => {
            if let Some(t) = &o.threshold {
                *interval = *t.get_ref();
            }
        }
        Check::Stale { after } => {
            if let Some(a) = &o.after {
                *after = a.get_ref().0;
            }
        }
        Check::Rate { window, per_minute } => {
            if let Some(w) = &o.window {
                *window = w.get_ref().0;
            }
            // The figure is a magnitude; the pack says rise or fall.
            if let Some(t) = &o.threshold {
                *per_minute = t.get_ref().abs().copysign(*per_minute);
            }
        }
        Check::Combination { of, .. } => {
            let adjustable = match draft.template {
                Template::Combination { adjustable, .. } => adjustable,
                Template::Simple(_) => None,
            };
            if let (Some(t), Some((_, predicate))) =
                (&o.threshold, adjustable.and_then(|i| of.get_mut(i)))
            {
                *predicate = predicate.with_figure(*t.get_ref());
            }
        }
        _ => {}
    }
}
