//! The daemon as its own process, for tests that kill it with SIGKILL:
//! `daemon-process <site.toml> [<data dir>]` does what `sitewarden run
//! --config <site.toml> [--data-dir <data dir>]` does.
//! It lives here, not in the `sitewarden` package, so that tests in this
//! package can start it (`CARGO_BIN_EXE_daemon-process`) with the peers
//! this package's harness runs.

use std::sync::Arc;

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let path = std::env::args_os()
        .nth(1)
        .context("usage: daemon-process <site.toml>")?;
    let catalog = sitewarden::config::load(std::path::Path::new(&path))
        .map_err(|errors| anyhow::anyhow!("{errors}"))?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(sitewarden::daemon::run_until_signal(
            Arc::new(catalog),
            sitewarden::daemon::RunOptions {
                data_dir: std::env::args_os().nth(2).map(Into::into),
                ..Default::default()
            },
            None,
        ))
}
