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
