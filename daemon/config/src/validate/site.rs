//! Checks of `[site]` (identity, time zone, business hours) and `[api]` (listen address, tokens).

use super::*;
use sitewarden_model::locale::{self, Locale, Messages};

pub(super) fn check_site(
    v: &mut Validator<'_>,
    site: &SiteFile,
    inputs: &Inputs<'_>,
) -> Option<SiteInfo> {
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
    let zone = zone?;
    let messages = check_messages(v, s, inputs, &zone);
    Some(SiteInfo {
        id: s.id.get_ref().clone(),
        name: s.name.clone(),
        messages,
        hours: BusinessHours {
            time_zone: zone,
            weekly,
            exceptions,
        },
    })
}

pub(super) fn check_ranges(v: &mut Validator<'_>, ranges: &[Spanned<String>]) -> Vec<OpenRange> {
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

pub(super) fn check_api(
    v: &mut Validator<'_>,
    site: &SiteFile,
    base_dir: &std::path::Path,
) -> Option<ApiSettings> {
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
        max_connections_per_client: site.api.max_connections_per_client.max(1),
        max_connections: site.api.max_connections.max(1),
        header_timeout: site.api.header_timeout.0,
        request_timeout: site.api.request_timeout.0,
        public_url: site.api.public_url.as_ref().and_then(|url| {
            crate::tickets::check_http_url(v, &at(0, url), url.get_ref())
                .map(|u| u.trim_end_matches('/').to_owned())
        }),
        ack_link_valid_for: site.api.ack_link_valid_for.0,
        tls: site
            .api
            .tls
            .as_ref()
            .and_then(|t| super::tls::check_api_tls(v, t, base_dir)),
        personal_data_needs_sign_in: site
            .api
            .personal_data_needs_sign_in
            .unwrap_or_else(|| listen.is_some_and(|l: std::net::SocketAddr| !l.ip().is_loopback())),
        grafana_url: site.grafana.as_ref().and_then(|g| {
            crate::tickets::check_http_url(v, &at(0, &g.url), g.url.get_ref())
                .map(|u| u.trim_end_matches('/').to_owned())
        }),
    })
}

pub(super) fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// `[site] locale` and `[site] messages`: the site's language and its own
/// wording, checked with positions (an unknown message, a placeholder the
/// message does not have, a syntax error in the file).
fn check_messages(
    v: &mut Validator<'_>,
    s: &crate::SiteSection,
    inputs: &Inputs<'_>,
    zone: &jiff::tz::TimeZone,
) -> std::sync::Arc<Messages> {
    // A site may word the rules and schedules of its packs too; their
    // titles, advice and checklist items have no placeholders.
    let mut rule_titles: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        inputs
            .packs
            .iter()
            .flat_map(|(_, pack)| {
                pack.rule.iter().flat_map(|r| {
                    let id = format!("{}.{}", pack.pack.get_ref(), r.id.get_ref());
                    [
                        (locale::rule_message_id(&id), Default::default()),
                        (locale::rule_advice_message_id(&id), Default::default()),
                    ]
                })
            })
            .collect();
    for (_, pack) in inputs.packs {
        for schedule in &pack.schedule {
            let (name, id) = (pack.pack.get_ref(), schedule.id.get_ref());
            let items = (1..=schedule.checklist.len()).map(Some);
            for item in std::iter::once(None).chain(items) {
                rule_titles.insert(
                    locale::schedule_message_id(name, id, item),
                    Default::default(),
                );
            }
        }
    }
    let locale = match &s.locale {
        None => Locale::default(),
        Some(tag) => Locale::parse(tag.get_ref()).unwrap_or_else(|| {
            let known: Vec<&str> = Locale::ALL.iter().map(|l| l.tag()).collect();
            v.error(
                &at(0, tag),
                format!(
                    "`{}` is not a language sitewarden speaks; use one of {}",
                    tag.get_ref(),
                    known.join(", ")
                ),
            );
            Locale::default()
        }),
    };
    let overrides = s.messages.as_ref().and_then(|file| {
        let path = inputs.base_dir.join(file.get_ref());
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let problems = locale::check_overrides(&text, &rule_titles);
                let clean = problems.is_empty();
                for p in problems {
                    v.error_in(&path, p.line, p.column, p.message);
                }
                clean.then_some(text)
            }
            Err(e) => {
                v.error(
                    &at(0, file),
                    format!("cannot read the messages file {}: {e}", path.display()),
                );
                None
            }
        }
    });
    std::sync::Arc::new(Messages::new(locale, zone.clone(), overrides.as_deref()))
}

/// Rule titles in the site's language: a pack's `description` is English;
/// another language (or the site's own file) words it as
/// `rule-<pack>-<rule>`. A rule without wording in the site's language is
/// an error at `[site] locale`: its alerts and tickets would be English.
pub(super) fn word_rules(
    v: &mut Validator<'_>,
    site: &SiteFile,
    info: &SiteInfo,
    rules: &mut [sitewarden_model::catalog::Rule],
) {
    let messages = &info.messages;
    for rule in rules {
        let title = locale::rule_message_id(&rule.id);
        let advice = locale::rule_advice_message_id(&rule.id);
        let mut missing = Vec::new();
        if messages.has(&title) {
            rule.description = messages.text(&title, &[]);
        } else if messages.locale() != Locale::En {
            missing.push(title);
        }
        if messages.has(&advice) {
            rule.advice = Some(messages.text(&advice, &[]));
        } else if messages.locale() != Locale::En && rule.advice.take().is_some() {
            missing.push(advice);
        }
        if let (false, Some(tag)) = (missing.is_empty(), &site.site.locale) {
            v.error(
                &at(0, tag),
                format!(
                    "rule `{}` has no {} wording: add {} to the site's messages file",
                    rule.id,
                    messages.locale().tag(),
                    missing
                        .iter()
                        .map(|id| format!("`{id} = …`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            );
        }
    }
}
