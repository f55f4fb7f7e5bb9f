//! Secrets in config: named, never written.
//!
//! A token or password never appears in a config file (which ends up in
//! backups, tickets and screenshots). The file says where to find it: an
//! environment variable, or a file readable only by the daemon's user.
//! `sitewarden check` reports a secret it cannot find, at its position.

use serde::Deserialize;
pub use sitewarden_model::secret::Secret;

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum SecretSource {
    /// `{ env = "INFLUX_TOKEN" }`.
    Env(String),
    /// `{ file = "/etc/sitewarden/influx-token" }`; surrounding whitespace is trimmed.
    File(String),
}

/// A value that may be written in the file or, when it carries a key (a
/// chat robot's URL: WeCom `key=`, DingTalk `access_token=`, Slack's
/// path), named like any other secret: `url = { env = "WECOM_URL" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum MaybeSecret {
    /// Written in the file.
    Plain(String),
    /// `{ env = … }` or `{ file = … }`.
    Secret(SecretSource),
}

impl MaybeSecret {
    /// The value, read now for a secret; `Ok((value, true))` when it came
    /// from a secret, so errors about it must not quote it.
    pub fn resolve(&self, base_dir: &std::path::Path) -> Result<(String, bool), String> {
        match self {
            Self::Plain(text) => Ok((text.clone(), false)),
            Self::Secret(source) => source
                .resolve(base_dir)
                .map(|secret| (secret.expose().to_owned(), true)),
        }
    }
}

impl SecretSource {
    /// Reads the secret now; the error says which variable or file is missing.
    pub fn resolve(&self, base_dir: &std::path::Path) -> Result<Secret, String> {
        match self {
            Self::Env(name) => match std::env::var(name) {
                Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim().to_owned())),
                Ok(_) => Err(format!("environment variable {name} is empty")),
                Err(_) => Err(format!(
                    "missing secret: environment variable {name} is not set"
                )),
            },
            Self::File(path) => {
                let path = base_dir.join(path);
                match std::fs::read_to_string(&path) {
                    Ok(value) if !value.trim().is_empty() => {
                        Ok(Secret::new(value.trim().to_owned()))
                    }
                    Ok(_) => Err(format!("secret file {} is empty", path.display())),
                    Err(e) => Err(format!(
                        "missing secret: cannot read {}: {e}",
                        path.display()
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "abc123\n").unwrap();
        let secret = SecretSource::File("token".into())
            .resolve(dir.path())
            .unwrap();
        assert_eq!(secret.expose(), "abc123");
        assert_eq!(format!("{secret:?}"), "Secret(…)");
        let missing = SecretSource::File("nope".into())
            .resolve(dir.path())
            .unwrap_err();
        assert!(
            missing.starts_with("missing secret: cannot read"),
            "{missing}"
        );
        let unset = SecretSource::Env("SITEWARDEN_TEST_SURELY_UNSET".into())
            .resolve(dir.path())
            .unwrap_err();
        assert_eq!(
            unset,
            "missing secret: environment variable SITEWARDEN_TEST_SURELY_UNSET is not set"
        );
    }
}
