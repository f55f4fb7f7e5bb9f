//! Reloading the configuration without restarting the process (SIGHUP,
//! `systemctl reload`).
//!
//! The new files are loaded and checked first. When they have errors the
//! running daemon keeps its configuration, logs every error with its file,
//! line and column, and `/healthz` shows the refusal until a reload
//! succeeds. When they are valid, the pipeline is stopped and started again
//! on the new configuration inside the same process: every stage keeps its
//! state on disk (conditions by rule, device and point; alerts with their
//! escalation; tickets; outboxes), so a pending condition keeps its
//! on-delay, an active one stays raised, an escalating alert goes on where
//! it was, and nothing buffered is lost. Devices added start polling,
//! devices removed stop.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde::Serialize;
use tracing::{error, info, warn};

use crate::catalog::Catalog;
use crate::daemon::{RunOptions, RunningDaemon, start};
use sitewarden_runtime::{clock, shutdown};

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

    fn loaded(&self, catalog: &Catalog) {
        *self.lock() = ConfigView {
            digest: catalog.config_digest.clone(),
            loaded_at: clock::now(),
            refused: None,
        };
    }

    fn refused(&self, errors: Vec<String>) {
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

/// Where a reload reads the configuration from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The site file.
    pub path: PathBuf,
    /// `--locale`, overriding `[site] locale`.
    pub locale: Option<String>,
}

impl Source {
    fn load(&self) -> Result<Catalog, crate::config::ConfigErrors> {
        crate::config::load_in(&self.path, self.locale.as_deref())
    }
}

/// Runs `catalog` (loaded from `source`) until SIGTERM or SIGINT; each
/// SIGHUP reloads `source` as the module says.
pub async fn run_reloading(
    catalog: Catalog,
    source: Source,
    mut options: RunOptions,
) -> anyhow::Result<()> {
    let mut current = Arc::new(catalog);
    let status = Arc::new(ConfigStatus::new(&current));
    options.config_status = Some(status.clone());
    let mut running = start(current.clone(), options.clone()).await?;
    let mut hangups = hangups()?;
    loop {
        tokio::select! {
            () = shutdown::signal() => {
                info!("signal received; stopping");
                break;
            }
            Some(()) = hangups.recv() => {
                running = reload(running, &mut current, &source, &options, &status).await?;
            }
        }
    }
    running.stop().await;
    Ok(())
}

/// One reload: the running daemon back, on the new configuration or the old.
async fn reload(
    running: RunningDaemon,
    current: &mut Arc<Catalog>,
    source: &Source,
    options: &RunOptions,
    status: &ConfigStatus,
) -> anyhow::Result<RunningDaemon> {
    info!(path = %source.path.display(), "reloading the configuration");
    let loaded = {
        let source = source.clone();
        tokio::task::spawn_blocking(move || source.load()).await?
    };
    let next = match loaded {
        Ok(next) => next,
        Err(errors) => {
            for e in &errors.0 {
                error!(file = %e.path.display(), line = e.line, column = e.column, "configuration refused: {}", e.message);
            }
            warn!(
                errors = errors.0.len(),
                "the new configuration has errors; still running the one loaded before"
            );
            status.refused(errors.0.iter().map(ToString::to_string).collect());
            return Ok(running);
        }
    };
    if next.config_digest == current.config_digest {
        info!("the configuration files have not changed");
        status.loaded(current);
        return Ok(running);
    }
    sitewarden_runtime::health::notify_reloading();
    running.stop().await;
    let next = Arc::new(next);
    match start(next.clone(), options.clone()).await {
        Ok(started) => {
            info!(digest = %next.config_digest, "configuration reloaded");
            status.loaded(&next);
            *current = next;
            Ok(started)
        }
        Err(e) => {
            // A port taken meanwhile, a data directory that cannot be
            // opened: back to what ran.
            error!(error = %e, "the new configuration cannot start; going back to the one loaded before");
            status.refused(vec![format!("{e:#}")]);
            start(current.clone(), options.clone()).await
        }
    }
}

/// SIGHUPs as a stream (none where there are no such signals).
fn hangups() -> anyhow::Result<tokio::sync::mpsc::Receiver<()>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                // Several signals while one reload runs make one more reload.
                let _ = tx.try_send(());
            }
        });
    }
    #[cfg(not(unix))]
    drop(tx);
    Ok(rx)
}
