//! Checks of `[mqtt]` and `[influx]`: addresses, TLS files, secrets, topic filters.

use super::*;

/// A topic filter: non-empty levels or wildcards, `+` a whole level, `#` last.
pub(super) fn check_topic_filter(filter: &str) -> Result<(), String> {
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
pub(super) fn resolve_secret(
    v: &mut Validator<'_>,
    source: Option<&Spanned<crate::SecretSource>>,
    base_dir: &std::path::Path,
) -> Option<crate::Secret> {
    let source = source?;
    source
        .get_ref()
        .resolve(base_dir)
        .map_err(|e| v.error(&at(0, source), e))
        .ok()
}

pub(super) fn check_mqtt(
    v: &mut Validator<'_>,
    s: &crate::MqttSection,
    site_id: &Spanned<String>,
    base_dir: &std::path::Path,
    devices: &[Option<sitewarden_model::catalog::Device>],
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
        None => match s.embedded_listen.get_ref().parse::<std::net::SocketAddr>() {
            Ok(listen) => Some(MqttBroker::Embedded {
                listen,
                users: check_broker_users(v, s, devices),
                allow_anonymous: check_anonymous(v, s, listen),
                max_queued: s.embedded_max_queued.max(1),
                memory_limit: s.embedded_memory_mib.max(4) << 20,
            }),
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
    let embedded = matches!(broker, Some(MqttBroker::Embedded { .. }));
    if let Some(user) = s.users.first().filter(|_| !embedded) {
        v.error(
            &at(0, user),
            "[[mqtt.users]] are users of the embedded broker; an external broker keeps its own",
        );
    }
    let password = resolve_secret(v, s.password.as_ref(), base_dir);
    // The daemon's own clients log in to the embedded broker with a fresh
    // random password at every start.
    let (username, password) = match (embedded, &s.username) {
        (true, None) => (
            Some("sitewarden".to_owned()),
            Some(sitewarden_model::secret::Secret::new(format!(
                "{:032x}",
                rand::random::<u128>()
            ))),
        ),
        _ => (s.username.clone(), password),
    };
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
    let broker = broker?;
    (v.error_count() == errors_before).then(|| sitewarden_model::catalog::MqttSettings {
        broker,
        client_id: s
            .client_id
            .clone()
            .unwrap_or_else(|| format!("sitewarden-{}", site_id.get_ref())),
        username,
        password,
        keep_alive,
        protocol: s.protocol,
        tls,
        values: s
            .publish_values
            .then_some((s.values_deadband.max(0.0), s.values_min_interval.0)),
    })
}

pub(super) fn check_influx(
    v: &mut Validator<'_>,
    s: &crate::InfluxSection,
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
    let buffer_bytes = match crate::sinks::parse_size(s.buffer_budget.get_ref()) {
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
    let snapshot = s.snapshot_every.get_ref().0;
    if !snapshot.is_zero() && snapshot < Duration::from_secs(1) {
        v.error(
            &at(0, &s.snapshot_every),
            format!(
                "snapshot_every {} is too often: at least 1s, or 0s for no snapshots",
                s.snapshot_every.get_ref()
            ),
        );
    }
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
        snapshot_every: (!snapshot.is_zero()).then_some(snapshot),
    })
}

/// `[[mqtt.users]]`: hashes mosquitto can read, unique names, a sensor's
/// devices known and on MQTT.
fn check_broker_users(
    v: &mut Validator<'_>,
    s: &crate::MqttSection,
    devices: &[Option<sitewarden_model::catalog::Device>],
) -> Vec<sitewarden_model::catalog::BrokerAccount> {
    use sitewarden_model::vocab::BrokerRole;
    let mut accounts = Vec::new();
    for user in &s.users {
        let u = user.get_ref();
        let name = u.name.get_ref();
        if name.is_empty() || name == "sitewarden" || name.contains([' ', ':', '#', '+']) {
            v.error(
                &at(0, &u.name),
                "a broker user name is not empty, not `sitewarden` (the daemon's own) and has no space, `:`, `#` or `+`",
            );
        }
        if accounts
            .iter()
            .any(|a: &sitewarden_model::catalog::BrokerAccount| &a.name == name)
        {
            v.error(
                &at(0, &u.name),
                format!("broker user `{name}` is listed twice"),
            );
        }
        if !is_password_hash(u.password_hash.get_ref()) {
            v.error(
                &at(0, &u.password_hash),
                "not a password hash: run `sitewarden hash-password` and paste what it prints ($7$…)",
            );
        }
        let mut ids = Vec::new();
        for device in &u.devices {
            match devices
                .iter()
                .flatten()
                .find(|d| &d.name == device.get_ref())
            {
                Some(d) if d.mqtt.is_some() => ids.push(d.id),
                Some(_) => v.error(
                    &at(0, device),
                    format!("device `{}` is not an MQTT device", device.get_ref()),
                ),
                None => v.error(&at(0, device), format!("no device `{}`", device.get_ref())),
            }
        }
        match (u.role, u.devices.is_empty()) {
            (BrokerRole::Sensor, true) => v.error(
                &at(0, user),
                "a sensor user needs `devices`: the devices whose topics it publishes",
            ),
            (BrokerRole::Screen | BrokerRole::Operator, false) => {
                v.error(&at(0, &u.devices[0]), "only a sensor user has `devices`")
            }
            _ => {}
        }
        accounts.push(sitewarden_model::catalog::BrokerAccount {
            name: name.clone(),
            password_hash: u.password_hash.get_ref().clone(),
            role: u.role,
            devices: ids,
        });
    }
    accounts
}

/// Anonymous clients only on loopback: anything beyond it authenticates.
fn check_anonymous(
    v: &mut Validator<'_>,
    s: &crate::MqttSection,
    listen: std::net::SocketAddr,
) -> bool {
    let anonymous = *s.allow_anonymous.get_ref();
    if anonymous && !listen.ip().is_loopback() {
        v.error(
            &at_or(0, &s.allow_anonymous, &at(0, &s.embedded_listen)),
            format!("the embedded broker listens on {listen}, beyond this machine: anonymous clients are refused there (remove allow_anonymous and add [[mqtt.users]])"),
        );
    }
    anonymous
}

/// mosquitto's `$7$<rounds>$<salt>$<64-byte hash>`, base64.
fn is_password_hash(text: &str) -> bool {
    let parts: Vec<&str> = text.split('$').collect();
    let b64 = |t: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    };
    matches!(parts.as_slice(), ["", "7", rounds, salt, hash]
        if rounds.parse::<u32>().is_ok_and(|r| r > 0) && b64(salt, 4..=64) && b64(hash, 88..=88))
}
