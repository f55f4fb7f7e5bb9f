//! No words for people in the code of the crates that render text for
//! people: every title, description, note, finding, notification and
//! console line comes from the message files (`config/locales/*.ftl`), so
//! a site reads all of it in its own language.
//!
//! The check reads the sources, finds every string literal and fails on
//! one that holds words (two words in a row, or any Chinese) unless it
//! sits where words are for engineers, not for people on site: log lines
//! (`tracing` macros), error types and their constructors (integrators
//! read those, in English), assertions, SQL, and test modules. Metric
//! help texts (`metrics.rs`) and SQL schemas (`schema.rs`) are machine
//! text and test modules in files of their own (`*_tests.rs`) speak to
//! engineers; they are not read.

use std::path::{Path, PathBuf};

/// Sources whose strings reach people on site.
const RENDERING: &[&str] = &[
    "alerts/src",
    "tickets/src",
    "patrol/src",
    "src/console.rs",
    "src/api/ack_page.rs",
    "src/api/board.rs",
    "src/api/signin.rs",
    "src/api/repairs.rs",
    "src/api/shell.rs",
    "src/api/planning.rs",
    "src/api/patrols.rs",
    "src/api/equipment.rs",
    "src/api/alarm_page.rs",
    "src/upkeep.rs",
];

/// Calls and macros whose strings are for engineers: logs, errors,
/// assertions. A literal inside any of them (at any depth) is allowed.
const FOR_ENGINEERS: &[&str] = &[
    "trace!",
    "debug!",
    "info!",
    "warn!",
    "error!",
    "panic!",
    "unreachable!",
    "assert!",
    "assert_eq!",
    "debug_assert!",
    "anyhow!",
    "bail!",
    "ensure!",
    "context",
    "with_context",
    "expect",
    // `#[error("…")]` on thiserror types.
    "error",
    // Error variants the API and the CLI return to integrators.
    "Invalid",
    "Conflict",
    "NotFound",
    "Forbidden",
    "Stopping",
    "Other",
    "Err",
    "InvalidColumnType",
    // Metric help texts for `GET /metrics`.
    "site_series",
];

/// A literal on a line with this comment (or the line after one) is for
/// engineers; the comment says why.
const MARKER: &str = "// for engineers:";

/// SQL is not words for people: a literal with one of these in capitals,
/// or a list of column names.
const SQL: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "PRAGMA", "WHERE", "ORDER", "IN",
    "AND", "LIMIT",
];

fn is_sql(text: &str) -> bool {
    let tokens = text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
    let columns = text
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '_' || c == ',' || c.is_whitespace());
    columns || tokens.into_iter().any(|t| SQL.contains(&t))
}

/// A string literal with words, where it is and what it says.
#[derive(Debug)]
struct Finding {
    line: usize,
    text: String,
}

/// The string literals of `source` that are words for people.
fn human_literals(source: &str) -> Vec<Finding> {
    let source = without_test_module(source);
    let bytes = source.as_bytes();
    let mut findings = Vec::new();
    // Open parentheses, each with the name called (or `!`-macro) before it.
    let mut frames: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = source[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = source[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + n + 4);
            }
            b'\'' => i = skip_char_literal(bytes, i),
            b'"' => {
                let end = string_end(bytes, i + 1, 0);
                check(
                    source,
                    &source[i + 1..end],
                    &frames,
                    line_of(source, i),
                    &mut findings,
                );
                i = end + 1;
            }
            b'r' if is_raw_start(bytes, i) => {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                let open = i + 1 + hashes;
                let end = string_end(bytes, open + 1, hashes);
                check(
                    source,
                    &source[open + 1..end],
                    &frames,
                    line_of(source, i),
                    &mut findings,
                );
                i = end + 1 + hashes;
            }
            b'(' | b'[' | b'{' => {
                frames.push(if c == b'(' {
                    called_before(source, i)
                } else {
                    String::new()
                });
                i += 1;
            }
            b')' | b']' | b'}' => {
                frames.pop();
                i += 1;
            }
            _ => i += 1,
        }
    }
    findings
}

/// The source up to its `#[cfg(test)]` module (tests speak to engineers).
fn without_test_module(source: &str) -> &str {
    source
        .find("#[cfg(test)]")
        .map_or(source, |at| &source[..at])
}

fn line_of(source: &str, at: usize) -> usize {
    source[..at].bytes().filter(|b| *b == b'\n').count() + 1
}

/// `'x'`, `'\n'`, `'\''` are skipped; a lifetime (`'a`) is one byte.
fn skip_char_literal(bytes: &[u8], i: usize) -> usize {
    match (bytes.get(i + 1), bytes.get(i + 2), bytes.get(i + 3)) {
        (Some(b'\\'), _, _) => {
            let close = bytes[i + 2..].iter().position(|b| *b == b'\'');
            close.map_or(bytes.len(), |n| i + 2 + n + 1)
        }
        (Some(_), Some(b'\''), _) => i + 3,
        _ => {
            // A multi-byte character, or a lifetime.
            let close = bytes[i + 1..].iter().take(5).position(|b| *b == b'\'');
            close.map_or(i + 1, |n| i + 1 + n + 1)
        }
    }
}

fn is_raw_start(bytes: &[u8], i: usize) -> bool {
    let before_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
    let rest = &bytes[i + 1..];
    let hashes = rest.iter().take_while(|b| **b == b'#').count();
    before_ok && rest.get(hashes) == Some(&b'"')
}

/// The index of the closing quote of a string starting at `from`.
fn string_end(bytes: &[u8], from: usize, hashes: usize) -> usize {
    let mut j = from;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' if hashes == 0 => j += 2,
            b'"' if bytes[j + 1..]
                .iter()
                .take(hashes)
                .filter(|b| **b == b'#')
                .count()
                == hashes =>
            {
                return j;
            }
            _ => j += 1,
        }
    }
    bytes.len()
}

/// `warn!`, `format!`, `context`, `Invalid`: the name right before `(`.
fn called_before(source: &str, open: usize) -> String {
    let head = source[..open].trim_end();
    let name: String = head
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '!')
        .collect();
    name.chars().rev().collect()
}

fn check(source: &str, text: &str, frames: &[String], line: usize, findings: &mut Vec<Finding>) {
    if !has_words(text) || frames.iter().any(|f| FOR_ENGINEERS.contains(&f.as_str())) {
        return;
    }
    if is_sql(text) || marked(source, line) {
        return;
    }
    findings.push(Finding {
        line,
        text: text.to_owned(),
    });
}

/// Two words in a row (`Missed checkpoint`, or `via {} to` once the
/// placeholders are left out), or any Chinese.
fn has_words(text: &str) -> bool {
    let chinese = text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let tokens: Vec<&str> = text
        .split_whitespace()
        .filter(|t| !(t.starts_with('{') && t.ends_with('}')))
        .collect();
    chinese || tokens.windows(2).any(|w| is_word(w[0]) && is_word(w[1]))
}

/// True when line `line` (1-based) or the one before carries [`MARKER`].
fn marked(source: &str, line: usize) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    [line.checked_sub(2), line.checked_sub(1)]
        .into_iter()
        .flatten()
        .filter_map(|i| lines.get(i))
        .any(|l| l.contains(MARKER))
}

fn is_word(token: &str) -> bool {
    let token = token.trim_matches(|c: char| ",.:;()`'".contains(c));
    token.len() >= 2 && token.chars().all(|c| c.is_ascii_alphabetic() || c == '\'')
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_owned());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if p.is_dir() {
            rust_files(&p, out);
        } else if name.ends_with(".rs")
            && name != "metrics.rs"
            && name != "schema.rs"
            // Test modules kept in files of their own (`#[cfg(test)] mod x_tests;`).
            && !name.ends_with("_tests.rs")
        {
            out.push(p);
        }
    }
}

#[test]
fn the_crates_that_speak_to_people_hold_no_words_outside_the_message_files() {
    let daemon = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for part in RENDERING {
        rust_files(&daemon.join(part), &mut files);
    }
    assert!(files.len() > 20, "sources not found: {files:?}");
    let mut report = String::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for f in human_literals(&source) {
            report.push_str(&format!(
                "{}:{}: {:?}\n",
                file.strip_prefix(daemon).unwrap_or(file).display(),
                f.line,
                f.text
            ));
        }
    }
    assert!(
        report.is_empty(),
        "words for people in the code; put them in config/locales/*.ftl:\n{report}"
    );
}

#[test]
fn the_check_finds_words_and_lets_logs_errors_and_sql_be() {
    let source = r##"
fn raise(s: &Station) -> Raise {
    warn!(station = %s.id, "cannot raise the patrol alert");
    let sql = "SELECT id FROM alert WHERE status = 'open'";
    let key = format!("patrol-missed|{}", s.id);
    if bad { return Err(Error::Invalid(format!("no station `{}`", s.id))); }
    let c = '"';
    Raise { title: format!("Missed checkpoint {} on route {}", s.id, r), detail: "检查".into() }
    let detail = format!("{} via {} to {}", a, b, c);
    let cols = "id, class, severity";
    // for engineers: a log line's reason
    let why = format!("answered HTTP {}", status);
}
#[cfg(test)]
mod tests { const T: &str = "words in a test are fine"; }
"##;
    let found = human_literals(source);
    let texts: Vec<&str> = found.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Missed checkpoint {} on route {}",
            "检查",
            "{} via {} to {}"
        ],
        "{found:?}"
    );
    assert_eq!(found[0].line, 8);
}
