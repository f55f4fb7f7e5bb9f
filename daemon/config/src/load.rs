//! Reading config files and turning every problem into a positioned error.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::validate::validate;
use super::{ProfileFile, RulePackFile, SiteFile};
use sitewarden_model::catalog::Catalog;

/// One problem in one file, at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, 0 when the problem is the file as a whole.
    pub line: usize,
    /// 1-based column in characters, 0 when the problem is the file as a whole.
    pub column: usize,
    /// A plain sentence saying what is wrong and, where it helps, what would be right.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Every problem found in a config, so one `sitewarden check` shows them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.0 {
            writeln!(f, "{error}")?;
        }
        let n = self.0.len();
        write!(
            f,
            "{n} error{} in the configuration",
            if n == 1 { "" } else { "s" }
        )
    }
}

/// A config file held in memory, so errors can be positioned after parsing.
#[derive(Debug)]
pub(super) struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    /// 1-based line and character column of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// An error at a span of this file.
    pub fn error_at(&self, span: Range<usize>, message: String) -> ConfigError {
        let (line, column) = self.position(span.start);
        ConfigError {
            path: self.path.clone(),
            line,
            column,
            message,
        }
    }
}

/// All files of one site config: the site file first, then profiles.
#[derive(Debug, Default)]
pub(super) struct Sources {
    pub files: Vec<SourceFile>,
}

impl Sources {
    /// SHA-256 over every file's path and text, in reading order, hex.
    pub fn digest(&self) -> String {
        use sha2::{Digest as _, Sha256};
        let mut hash = Sha256::new();
        for file in &self.files {
            hash.update(file.path.to_string_lossy().as_bytes());
            hash.update([0]);
            hash.update(file.text.as_bytes());
            hash.update([0]);
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Where the package installs the shipped rule packs and profiles.
pub const SHARE_DIR: &str = "/usr/share/sitewarden";

/// A file or folder the site file names relative to itself: there when it
/// exists, else the package's copy under [`SHARE_DIR`] (a site under `/etc`
/// names `standards/hvac.toml` and gets the shipped pack), else the site's
/// own path, for the error to name.
pub fn beside_or_shared(base_dir: &Path, relative: &str) -> PathBuf {
    let own = base_dir.join(relative);
    if own.exists() || Path::new(relative).is_absolute() {
        return own;
    }
    let shared = Path::new(SHARE_DIR).join(relative);
    if shared.exists() { shared } else { own }
}

/// The data directory when the site file does not name one: systemd's
/// `StateDirectory=` (`$STATE_DIRECTORY`), `/var/lib/sitewarden` for a site
/// file under `/etc` (the FHS), else `data` next to the site file.
pub fn default_data_dir(base_dir: &Path) -> PathBuf {
    if let Some(state) = std::env::var_os("STATE_DIRECTORY").filter(|s| !s.is_empty()) {
        // Several directories are colon-separated; the first is ours.
        let first = state
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        return PathBuf::from(first);
    }
    if base_dir.starts_with("/etc") {
        return PathBuf::from("/var/lib/sitewarden");
    }
    base_dir.join("data")
}

/// Index into [`Sources::files`].
pub(super) type FileId = usize;

/// Loads and checks a site config; on any error returns all of them.
///
/// Profiles named by devices are read from the profiles folder (relative to
/// the site file). Nothing is half-loaded: either the whole site is valid or
/// the caller gets the complete list of what to fix.
pub fn load(path: &Path) -> Result<Catalog, ConfigErrors> {
    load_in(path, None)
}

/// [`load`], with the site's language set to `locale` (a tag such as
/// `zh-CN`) whatever `[site] locale` says: `sitewarden demo --locale`.
pub fn load_in(path: &Path, locale: Option<&str>) -> Result<Catalog, ConfigErrors> {
    let mut sources = Sources::default();
    let site_text = read(path)?;
    sources.files.push(SourceFile {
        path: path.to_path_buf(),
        text: site_text,
    });
    let mut site: SiteFile = parse(&sources.files[0]).map_err(|e| ConfigErrors(vec![e]))?;
    if let Some(tag) = locale {
        // Errors about it point at `[site]`'s first line.
        site.site.locale = Some(toml::Spanned::new(0..0, tag.to_owned()));
    }

    let base_dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let profiles_dir = beside_or_shared(&base_dir, &site.profiles_dir);
    let mut errors = Vec::new();
    let mut profiles = BTreeMap::new();
    for name in referenced_profiles(&site) {
        let profile_path = profiles_dir.join(format!("{name}.toml"));
        if !profile_path.is_file() {
            continue; // reported by validation, at the device that names it
        }
        match read(&profile_path) {
            Ok(text) => {
                let file = SourceFile {
                    path: profile_path,
                    text,
                };
                match parse::<ProfileFile>(&file) {
                    Ok(profile) => {
                        profiles.insert(name, (sources.files.len(), profile));
                    }
                    Err(e) => errors.push(e),
                }
                sources.files.push(file);
            }
            Err(ConfigErrors(mut e)) => errors.append(&mut e),
        }
    }
    let packs = load_packs(&site, &base_dir, &mut sources, &mut errors);
    let extinguishers = load_extinguishers(&site, &base_dir, &mut sources, &mut errors);
    let available = list_profiles(&profiles_dir);
    let inputs = Inputs {
        profiles: &profiles,
        available_profiles: &available,
        packs: &packs,
        extinguishers: extinguishers.as_ref(),
        base_dir: &base_dir,
    };
    match validate(&sources, &site, &inputs) {
        Ok(catalog) if errors.is_empty() => Ok(catalog),
        Ok(_) => Err(sorted(errors)),
        Err(ConfigErrors(mut more)) => {
            errors.append(&mut more);
            Err(sorted(errors))
        }
    }
}

/// In file order, so the list reads top to bottom like the files.
fn sorted(mut errors: Vec<ConfigError>) -> ConfigErrors {
    errors.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    ConfigErrors(errors)
}

/// Reads and parses every rule pack the site file lists.
fn load_packs(
    site: &SiteFile,
    base_dir: &Path,
    sources: &mut Sources,
    errors: &mut Vec<ConfigError>,
) -> Vec<(FileId, RulePackFile)> {
    let mut packs = Vec::new();
    for name in &site.rules.packs {
        let path = beside_or_shared(base_dir, name.get_ref());
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                let message = format!("cannot read rule pack {}: {e}", path.display());
                errors.push(sources.files[0].error_at(name.span(), message));
                continue;
            }
        };
        let file = SourceFile { path, text };
        match parse::<RulePackFile>(&file) {
            Ok(pack) => packs.push((sources.files.len(), pack)),
            Err(e) => errors.push(e),
        }
        sources.files.push(file);
    }
    packs
}

/// Reads and parses the extinguisher register the site file names, if any.
fn load_extinguishers(
    site: &SiteFile,
    base_dir: &Path,
    sources: &mut Sources,
    errors: &mut Vec<ConfigError>,
) -> Option<(FileId, super::extinguishers::ExtinguisherFile)> {
    let name = site.tickets.extinguishers.as_ref()?;
    let path = base_dir.join(name.get_ref());
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            let message = format!(
                "cannot read the extinguisher register {}: {e}",
                path.display()
            );
            errors.push(sources.files[0].error_at(name.span(), message));
            return None;
        }
    };
    let file = SourceFile { path, text };
    let parsed = match parse(&file) {
        Ok(register) => Some((sources.files.len(), register)),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    sources.files.push(file);
    parsed
}

/// Everything validation needs besides the site file.
pub(super) struct Inputs<'a> {
    pub profiles: &'a BTreeMap<String, (FileId, ProfileFile)>,
    pub available_profiles: &'a [String],
    pub packs: &'a [(FileId, RulePackFile)],
    pub extinguishers: Option<&'a (FileId, super::extinguishers::ExtinguisherFile)>,
    pub base_dir: &'a Path,
}

fn read(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read the file: {e}"),
        }])
    })
}

fn parse<T: DeserializeOwned>(file: &SourceFile) -> Result<T, ConfigError> {
    toml::from_str(&file.text).map_err(|e| {
        let message = e.message().trim().to_owned();
        match e.span() {
            Some(span) => file.error_at(span, message),
            None => ConfigError {
                path: file.path.clone(),
                line: 0,
                column: 0,
                message,
            },
        }
    })
}

fn referenced_profiles(site: &SiteFile) -> Vec<String> {
    let mut names: Vec<String> = site
        .devices
        .iter()
        .filter_map(|d| d.profile.as_ref().map(|p| p.get_ref().clone()))
        .filter(|name| is_plain_name(name))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Profile names are file stems: no path separators or dots that could
/// escape the profiles folder.
pub(super) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn list_profiles(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let file = SourceFile {
            path: "x.toml".into(),
            text: "a = 1\nname = \"Zoë\" x\n".into(),
        };
        assert_eq!(file.position(0), (1, 1));
        assert_eq!(file.position(6), (2, 1));
        // The `x` after the multi-byte ë is character column 14.
        let x = file.text.rfind('x').unwrap();
        assert_eq!(file.position(x), (2, 14));
    }
}
