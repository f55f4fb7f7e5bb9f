//! Human texts in the site's language, times in the site's zone.
//!
//! Every text a person reads is a Project Fluent message: the shipped
//! files `config/locales/<locale>.ftl` (built into the binary) and a site's
//! own file that overrides any of them (`[site] messages`). Plurals are
//! Fluent selectors; times go through the `DATETIME()` function, which
//! shows the site's local time with its offset. Machine fields (ids, JSON
//! keys, metric names) never go through here.
//!
//! A message missing in the site's language falls back to English, and a
//! message missing everywhere renders as its id; `sitewarden check`
//! reports both before the daemon starts ([`check_site_messages`]).

use std::collections::{BTreeMap, BTreeSet};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A language sitewarden speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// English (the default: the demo and the README are in English).
    #[default]
    En,
    /// Simplified Chinese, as read on the sites of the service plan.
    ZhCn,
}

impl Locale {
    /// Every language shipped.
    pub const ALL: &'static [Locale] = &[Locale::En, Locale::ZhCn];

    /// The BCP 47 tag, as written in `[site] locale`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// Parses a `[site] locale` value.
    pub fn parse(tag: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|l| l.tag() == tag)
    }

    /// The shipped message file's text.
    pub fn shipped(self) -> &'static str {
        match self {
            Locale::En => include_str!("../../../config/locales/en.ftl"),
            Locale::ZhCn => include_str!("../../../config/locales/zh-CN.ftl"),
        }
    }
}

/// The message id of a rule's title: `rule-<pack>-<rule>` for `pack.rule`.
/// English titles are the packs' `description`; other languages (and a
/// site's own wording) give them under this id.
pub fn rule_message_id(rule: &str) -> String {
    format!("rule-{}", rule.replace('.', "-"))
}

/// The message id of a pack schedule's ticket title:
/// `schedule-<pack>-<id>`; item `n` (from 1) of its checklist adds `-item-<n>`.
/// English is the pack's own text.
pub fn schedule_message_id(pack: &str, id: &str, item: Option<usize>) -> String {
    match item {
        Some(n) => format!("schedule-{pack}-{id}-item-{n}"),
        None => format!("schedule-{pack}-{id}"),
    }
}

/// The message id of a rule's advice (what to do): `rule-<pack>-<rule>-advice`.
/// English advice is the packs' `advice`.
pub fn rule_advice_message_id(rule: &str) -> String {
    format!("{}-advice", rule_message_id(rule))
}

/// One value put into a message.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Text, shown as is.
    Text(&'a str),
    /// A count or a number (plural selectors look at it).
    Number(i64),
    /// A measured value, shown with at most two decimals.
    Decimal(f64),
    /// A moment, for `DATETIME()`.
    Time(Timestamp),
}

/// The site's messages, ready to render; cheap to share (`Arc`).
pub struct Messages {
    locale: Locale,
    primary: FluentBundle<FluentResource>,
    english: Option<FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Messages({})", self.locale.tag())
    }
}

impl Messages {
    /// The shipped messages of `locale` with `overrides` (a site's own
    /// file, already checked) on top, showing times in `zone`.
    pub fn new(locale: Locale, zone: TimeZone, overrides: Option<&str>) -> Self {
        let mut primary = bundle(locale, zone.clone());
        if let Some(text) = overrides {
            let resource = FluentResource::try_new(text.to_owned()).unwrap_or_else(|(r, _)| r);
            primary.add_resource_overriding(resource);
        }
        let english = (locale != Locale::En).then(|| bundle(Locale::En, zone));
        Self {
            locale,
            primary,
            english,
        }
    }

    /// English, in UTC, with nothing overridden (tests and tools).
    pub fn english() -> Self {
        Self::new(Locale::En, TimeZone::UTC, None)
    }

    /// The language the texts are in.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// Message `id` with `args`; English when the site's language lacks
    /// it, the id itself when no language has it.
    pub fn text(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent_args.set(*name, fluent_value(*value));
        }
        for bundle in std::iter::once(&self.primary).chain(self.english.as_ref()) {
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, Some(&fluent_args), &mut errors)
                    .into_owned();
            }
        }
        id.to_owned()
    }

    /// True when the site's language (or its override file) has `id`.
    pub fn has(&self, id: &str) -> bool {
        self.primary.has_message(id)
    }

    /// A place as people say it: the name (a device, a checkpoint), its
    /// location when known, and the zones when there are any.
    pub fn place(&self, name: &str, location: Option<&str>, zones: &[&str]) -> String {
        let place = match location {
            Some(location) => self.text(
                "place-device-location",
                &[
                    ("device", Arg::Text(name)),
                    ("location", Arg::Text(location)),
                ],
            ),
            None => name.to_owned(),
        };
        if zones.is_empty() {
            return place;
        }
        let list = self.list(zones);
        self.text(
            "place-zones",
            &[
                ("place", Arg::Text(&place)),
                ("zones", Arg::Text(&list)),
                ("count", Arg::Number(zones.len() as i64)),
            ],
        )
    }

    /// Sentences joined the language's way (a space in English, nothing in
    /// Chinese); empty ones are left out.
    pub fn sentences(&self, sentences: &[String]) -> String {
        let separator = self.text("sentence-separator", &[]);
        sentences
            .iter()
            .filter(|s| !s.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(&separator)
    }

    /// `items` joined by the language's list separator.
    pub fn list<S: AsRef<str>>(&self, items: &[S]) -> String {
        let separator = self.text("list-separator", &[]);
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(&separator)
    }
}

fn bundle(locale: Locale, zone: TimeZone) -> FluentBundle<FluentResource> {
    let language = locale
        .tag()
        .parse()
        .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
    let mut bundle = FluentBundle::new_concurrent(vec![language]);
    // Plain text for robots, SMS and e-mail: no Unicode isolation marks.
    bundle.set_use_isolating(false);
    let resource = FluentResource::try_new(locale.shipped().to_owned()).unwrap_or_else(|(r, _)| r);
    // Shipped files are checked by tests; ids are unique in each.
    let _ = bundle.add_resource(resource);
    let day_zone = zone.clone();
    let _ = bundle.add_function("DATETIME", move |positional, _named| {
        let Some(FluentValue::Number(n)) = positional.first() else {
            return FluentValue::Error;
        };
        match Timestamp::from_second(n.value as i64) {
            Ok(at) => FluentValue::from(local_time(at, &day_zone)),
            Err(_) => FluentValue::Error,
        }
    });
    // The time of day alone, where the day goes without saying (a round's checkpoints).
    let _ = bundle.add_function("TIME", move |positional, _named| {
        let Some(FluentValue::Number(n)) = positional.first() else {
            return FluentValue::Error;
        };
        match Timestamp::from_second(n.value as i64) {
            Ok(at) => FluentValue::from(at.to_zoned(zone.clone()).strftime("%H:%M:%S").to_string()),
            Err(_) => FluentValue::Error,
        }
    });
    bundle
}

fn fluent_value(arg: Arg<'_>) -> FluentValue<'_> {
    match arg {
        Arg::Text(t) => FluentValue::from(t),
        Arg::Number(n) => FluentValue::from(n),
        Arg::Decimal(x) => FluentValue::from((x * 100.0).round() / 100.0),
        Arg::Time(at) => FluentValue::from(at.as_second()),
    }
}

/// `at` as a person on site reads it: `2026-12-01 12:35:09 +08:00`.
pub fn local_time(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// A problem in a messages file, positioned for `sitewarden check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageProblem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong, for a person.
    pub message: String,
}

/// Checks a site's messages file against the shipped English messages and
/// `extra` (ids the site's rule packs add, with their placeholders): a
/// syntax error, a message the shipped files do not know, or a
/// placeholder its English original does not have.
pub fn check_overrides(
    text: &str,
    extra: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<MessageProblem> {
    let mut problems = Vec::new();
    let resource = match FluentResource::try_new(text.to_owned()) {
        Ok(r) => r,
        Err((r, errors)) => {
            for e in errors {
                let (line, column) = line_column(text, e.pos.start);
                problems.push(MessageProblem {
                    line,
                    column,
                    message: format!("not a valid Fluent message: {e}"),
                });
            }
            r
        }
    };
    let known = shipped_variables(Locale::En);
    for entry in resource.entries() {
        let ast::Entry::Message(message) = entry else {
            continue;
        };
        let id = message.id.name;
        let at = find_id(text, id);
        let Some(allowed) = known.get(id).or_else(|| extra.get(id)) else {
            let (line, column) = line_column(text, at);
            problems.push(MessageProblem {
                line,
                column,
                message: format!("`{id}` is not a message sitewarden has: an override must use a shipped id (config/locales/en.ftl) or a pack's `rule-<pack>-<id>` or `schedule-<pack>-<id>`"),
            });
            continue;
        };
        for variable in variables_of(message) {
            if !allowed.contains(variable) {
                let offset = text[at..]
                    .find(&format!("${variable}"))
                    .map_or(at, |o| at + o);
                let (line, column) = line_column(text, offset);
                let known: Vec<String> = allowed.iter().map(|v| format!("${v}")).collect();
                problems.push(MessageProblem {
                    line,
                    column,
                    message: format!(
                        "`{id}` has no placeholder `${variable}`; it has {}",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                });
            }
        }
    }
    problems
}

/// Every message id of a shipped file with the placeholders it uses.
pub fn shipped_variables(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
    let resource = match FluentResource::try_new(locale.shipped().to_owned()) {
        Ok(r) => r,
        Err((r, _)) => r,
    };
    resource
        .entries()
        .filter_map(|e| match e {
            ast::Entry::Message(m) => Some((
                m.id.name.to_owned(),
                variables_of(m).into_iter().map(str::to_owned).collect(),
            )),
            _ => None,
        })
        .collect()
}

/// The placeholders (`$name`) a message uses, selectors included.
fn variables_of<'s>(message: &ast::Message<&'s str>) -> BTreeSet<&'s str> {
    let mut found = BTreeSet::new();
    if let Some(pattern) = &message.value {
        pattern_variables(pattern, &mut found);
    }
    found
}

fn pattern_variables<'s>(pattern: &ast::Pattern<&'s str>, found: &mut BTreeSet<&'s str>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_variables(expression, found);
        }
    }
}

fn expression_variables<'s>(expression: &ast::Expression<&'s str>, found: &mut BTreeSet<&'s str>) {
    match expression {
        ast::Expression::Inline(inline) => inline_variables(inline, found),
        ast::Expression::Select { selector, variants } => {
            inline_variables(selector, found);
            for variant in variants {
                pattern_variables(&variant.value, found);
            }
        }
    }
}

fn inline_variables<'s>(inline: &ast::InlineExpression<&'s str>, found: &mut BTreeSet<&'s str>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            found.insert(id.name);
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_variables(a, found);
            }
            for a in &arguments.named {
                inline_variables(&a.value, found);
            }
        }
        ast::InlineExpression::Placeable { expression } => expression_variables(expression, found),
        _ => {}
    }
}

/// Byte offset of the line that defines `id` (`id =` at a line's start).
fn find_id(text: &str, id: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let rest = line.strip_prefix(id).map(str::trim_start);
        if rest.is_some_and(|r| r.starts_with('=')) {
            return offset;
        }
        offset += line.len();
    }
    0
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_language_has_the_same_messages_and_placeholders() {
        let english = shipped_variables(Locale::En);
        assert!(english.len() > 10);
        for locale in Locale::ALL {
            let (parsed, errors) = match FluentResource::try_new(locale.shipped().to_owned()) {
                Ok(r) => (r, Vec::new()),
                Err((r, e)) => (r, e),
            };
            assert!(errors.is_empty(), "{}: {errors:?}", locale.tag());
            drop(parsed);
            let theirs = shipped_variables(*locale);
            let missing: Vec<_> = english
                .keys()
                .filter(|k| !theirs.contains_key(*k))
                .collect();
            // Rule and pack schedule wording: English is in the packs themselves.
            let unknown: Vec<_> = theirs
                .keys()
                .filter(|k| {
                    !english.contains_key(*k)
                        && !k.starts_with("rule-")
                        && !k.starts_with("schedule-")
                })
                .collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", locale.tag());
            assert!(
                unknown.is_empty(),
                "{} has unknown {unknown:?}",
                locale.tag()
            );
            for (id, vars) in theirs.iter().filter(|(id, _)| english.contains_key(*id)) {
                assert!(
                    vars.is_subset(&english[id]),
                    "{} `{id}` uses {vars:?}, English only {:?}",
                    locale.tag(),
                    english[id]
                );
            }
        }
    }

    #[test]
    fn plurals_times_and_overrides_render_in_the_site_language() {
        let zone = TimeZone::get("Asia/Shanghai").unwrap();
        let at = Timestamp::from_second(1_764_563_709).unwrap(); // 2025-12-01 04:35:09 UTC
        let en = Messages::new(Locale::En, zone.clone(), None);
        assert_eq!(
            en.text(
                "notify-when",
                &[("raised", Arg::Time(at)), ("site", Arg::Text("Riverside"))]
            ),
            "Raised 2025-12-01 12:35:09 +08:00 at Riverside."
        );
        let one = en.text(
            "notify-repeat-missed",
            &[("step", Arg::Number(2)), ("missed", Arg::Number(1))],
        );
        assert!(one.contains("(one earlier repeat fell due"), "{one}");
        let three = en.text(
            "notify-repeat-missed",
            &[("step", Arg::Number(2)), ("missed", Arg::Number(3))],
        );
        assert!(three.contains("(3 earlier repeats fell due"), "{three}");
        let zh = Messages::new(
            Locale::ZhCn,
            zone.clone(),
            Some("alert-class-fire = 火灾\n"),
        );
        assert_eq!(
            zh.text("alert-class-fire", &[]),
            "火灾",
            "the site's override wins"
        );
        assert_eq!(zh.text("alert-class-intrusion", &[]), "入侵");
        assert_eq!(zh.list(&["张伟", "李娜"]), "张伟、李娜");
        assert_eq!(zh.text("no-such-message", &[]), "no-such-message");
    }

    #[test]
    fn an_override_is_checked_for_syntax_unknown_ids_and_placeholders() {
        let text = "alert-class-fire = 火灾\nnotify-when = { $raised } at { $sight }\nmade-up = x\nbroken\n";
        let problems = check_overrides(text, &BTreeMap::new());
        let at: Vec<(usize, usize)> = problems.iter().map(|p| (p.line, p.column)).collect();
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("$sight") && p.line == 2 && p.column == 32),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("`made-up`") && (p.line, p.column) == (3, 1)),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("not a valid Fluent") && p.line == 4),
            "{problems:?} {at:?}"
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
