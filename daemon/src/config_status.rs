//! Which configuration the daemon runs and how its last reload went: kept
//! across the pipeline restarts of a SIGHUP reload and shown
//! on `/healthz`.

use std::sync::Mutex;

use jiff::Timestamp;
use serde::Serialize;

use crate::catalog::Catalog;
use sitewarden_runtime::clock;

/// Which configuration runs, since when, and how the last reload went.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigView {
    /// SHA-256 of the files the running configuration was read from.
    pub digest: String,
    /// When it was loaded.
    pub loaded_at: Timestamp,
    /// The last reload that was refused since then, if any: the running
    /// configuration is not what the files say.
    pub refused: Option<Refusal>,
}

/// A reload that was refused.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// When.
    pub at: Timestamp,
    /// Every error, as `file:line:column: message`.
    pub errors: Vec<String>,
}

/// Shared between the reload loop and `/healthz`; outlives each start.
#[derive(Debug)]
pub struct ConfigStatus(Mutex<ConfigView>);

impl ConfigStatus {
    /// The status of a configuration just loaded.
    pub fn new(catalog: &Catalog) -> Self {
        Self(Mutex::new(ConfigView {
            digest: catalog.config_digest.clone(),
            loaded_at: clock::now(),
            refused: None,
        }))
    }

    /// What `/healthz` shows.
    pub fn view(&self) -> ConfigView {
        self.lock().clone()
    }

    /// A configuration was loaded and runs.
    pub(crate) fn loaded(&self, catalog: &Catalog) {
        *self.lock() = ConfigView {
            digest: catalog.config_digest.clone(),
            loaded_at: clock::now(),
            refused: None,
        };
    }

    /// A reload was refused with `errors`; the running configuration stays.
    pub(crate) fn refused(&self, errors: Vec<String>) {
        self.lock().refused = Some(Refusal {
            at: clock::now(),
            errors,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ConfigView> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
