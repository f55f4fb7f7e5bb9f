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
use std::sync::Arc;

use tracing::{error, info, warn};

use crate::catalog::Catalog;
use crate::config_status::ConfigStatus;
use crate::daemon::{RunOptions, RunningDaemon, start};
use sitewarden_runtime::shutdown;

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
    // Nor is the code that built the stages (the first polls' is given
    // back later, by upkeep).
    sitewarden_runtime::limits::release_startup_pages();
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
