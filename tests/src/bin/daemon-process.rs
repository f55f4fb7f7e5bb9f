//! The daemon as its own process, for tests that kill it with SIGKILL:
//! `daemon-process <site.toml> [<data dir>]` does what `sitewarden run
//! --config <site.toml> [--data-dir <data dir>]` does, SIGHUP reloads included.
//! It lives here, not in the `sitewarden` package, so that tests in this
//! package can start it (`CARGO_BIN_EXE_daemon-process`) with the peers
//! this package's harness runs.

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    // Logs on stderr as `sitewarden run` writes them (RUST_LOG filters).
    sitewarden::logging::init(sitewarden::logging::LogFormat::Text, None);
    let path = std::env::args_os()
        .nth(1)
        .context("usage: daemon-process <site.toml>")?;
    let path = std::path::PathBuf::from(path);
    let catalog = sitewarden::config::load(&path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let source = sitewarden::reload::Source { path, locale: None };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(sitewarden::reload::run_reloading(
            catalog,
            source,
            sitewarden::daemon::RunOptions {
                data_dir: std::env::args_os().nth(2).map(Into::into),
                ..Default::default()
            },
        ))
}
