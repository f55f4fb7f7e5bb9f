//! The `sitewarden` command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
use sitewarden::catalog::Catalog;
use sitewarden::config::{self, INFORMATIONAL_ROLES, KNOWN_ROLES};
use sitewarden::daemon::RunOptions;
use sitewarden::logging::{self, LogFormat};

#[cfg(feature = "demo")]
mod demo;
mod init;

/// Edge daemon that watches a building site's equipment and acts on what it sees.
#[derive(Parser)]
#[command(name = "sitewarden", version)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log filter, `RUST_LOG` syntax (e.g. `info,sitewarden::sources=debug`); overrides RUST_LOG.
    #[arg(long, global = true)]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon against real equipment.
    Run {
        /// Site file.
        #[arg(long, short)]
        config: PathBuf,
        /// Print a live status to the console every N seconds (0 = never).
        #[arg(long, default_value_t = 0)]
        console_every: u64,
        /// Data directory (overrides `[storage] data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Language of every text people read (overrides `[site] locale`).
        #[arg(long, value_parser = parse_locale)]
        locale: Option<String>,
    },
    /// Validate a site file and its profiles; print every error, or a summary.
    Check {
        /// Site file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run the built-in site simulator and the daemon together: no equipment or services needed.
    #[cfg(feature = "demo")]
    Demo {
        /// Site file (its modbus-tcp devices are simulated on their `host` ports).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Scenario of scripted faults.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Print the live status every N seconds.
        #[arg(long, default_value_t = 10)]
        console_every: u64,
        /// Data directory; a fresh temporary one by default, so every demo starts clean.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Language of every text people read (overrides `[site] locale`).
        #[arg(long, value_parser = parse_locale)]
        locale: Option<String>,
    },
    /// Print the SHA-256 to put in `[[api.tokens]] sha256` for a token read from stdin.
    HashToken,
    /// Print a signed MQTT command for `mosquitto_pub -m`; the token is read from stdin
    /// and never leaves this machine.
    Sign {
        /// The command topic, `sitewarden/<site>/commands/<command>`.
        #[arg(long)]
        topic: String,
        /// Your `[[api.tokens]]` name.
        #[arg(long)]
        operator: String,
        /// The command's arguments as a JSON object, e.g. `{"alert": 3, "note": "checked"}`.
        args: String,
    },
    /// Print the hash to put in `[[mqtt.users]] password_hash` for a password read from stdin
    /// (with `--person`: the argon2 hash for `[[people]] password_hash`, the duty console's sign-in).
    HashPassword {
        /// For a person's duty-console sign-in rather than an MQTT user.
        #[arg(long)]
        person: bool,
    },
    /// List the point roles rule packs understand.
    Roles,
    /// Write a starting site file (site, time zone, language, devices, API
    /// tokens) and check it; every answer is a flag, for scripted installs.
    Init(init::InitArgs),
    /// Print the shell completion script for bash, zsh or fish (the package installs them).
    #[command(hide = true)]
    Completions {
        /// Which shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page, roff, generated from this command line (the package installs it).
    #[command(hide = true)]
    Manpage,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format, cli.log.as_deref());
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<std::process::ExitCode> {
    match command {
        Command::Check { config } => Ok(check(&config)),
        Command::Run {
            config,
            console_every,
            data_dir,
            locale,
        } => {
            let catalog = config::load_in(&config, locale.as_deref())
                .map_err(|errors| anyhow::anyhow!("{errors}"))?;
            // The parser's and the checks' code is not needed again.
            sitewarden_runtime::limits::release_startup_pages();
            let options = RunOptions {
                console_every: (console_every > 0).then(|| Duration::from_secs(console_every)),
                data_dir,
                ..Default::default()
            };
            // SIGHUP (`systemctl reload`) reloads the files; see `reload`.
            let source = sitewarden::reload::Source {
                path: config,
                locale,
            };
            sitewarden::daemon::runtime()?
                .block_on(sitewarden::reload::run_reloading(catalog, source, options))?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Demo {
            config,
            scenario,
            console_every,
            data_dir,
            locale,
        } => {
            let config = config.unwrap_or_else(|| demo::repo_file("config/demo.toml"));
            let catalog = load(&config, locale.as_deref())?;
            demo::run(catalog, &config, scenario, console_every, data_dir)?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::HashToken => {
            let mut token = String::new();
            std::io::stdin()
                .read_line(&mut token)
                .context("reading the token from stdin")?;
            println!("{}", config::hash_token(token.trim()));
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Sign {
            topic,
            operator,
            args,
        } => {
            let mut token = String::new();
            std::io::stdin()
                .read_line(&mut token)
                .context("reading the token from stdin")?;
            println!("{}", sign_command(&topic, &operator, token.trim(), &args)?);
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::HashPassword { person } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let hash = if person {
                sitewarden::api::session::hash_password(password)?
            } else {
                sitewarden_runtime::mqtt::broker::hash_password(password)
            };
            println!("{hash}");
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Init(args) => init::init(&args),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "sitewarden", &mut std::io::stdout());
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Manpage => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Roles => {
            for (role, meaning) in KNOWN_ROLES {
                println!("{role:<24} {meaning}");
                if let Some((_, why)) = INFORMATIONAL_ROLES.iter().find(|(r, _)| r == role) {
                    println!("{:<24} informational, no shipped rule: {why}", "");
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// The signed payload for `args` (a JSON object) with a fresh `at`, `nonce`
/// and `correlation_id`.
fn sign_command(topic: &str, operator: &str, token: &str, args: &str) -> anyhow::Result<String> {
    let mut command: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(args).context("the arguments must be a JSON object")?;
    let nonce: u64 = rand::random();
    let nonce = format!("{nonce:016x}");
    command
        .entry("correlation_id")
        .or_insert_with(|| nonce.clone().into());
    command.insert("at".into(), jiff::Timestamp::now().as_second().into());
    command.insert("nonce".into(), nonce.into());
    let command = serde_json::Value::Object(command).to_string();
    Ok(sitewarden::mqtt::signature::sign(
        topic, operator, token, &command,
    ))
}

/// `--locale`: one of the languages sitewarden speaks.
fn parse_locale(tag: &str) -> Result<String, String> {
    use sitewarden::locale::Locale;
    match Locale::parse(tag) {
        Some(locale) => Ok(locale.tag().to_owned()),
        None => {
            let known: Vec<&str> = Locale::ALL.iter().map(|l| l.tag()).collect();
            Err(format!("sitewarden speaks {}", known.join(", ")))
        }
    }
}

#[cfg(feature = "demo")]
fn load(path: &Path, locale: Option<&str>) -> anyhow::Result<std::sync::Arc<Catalog>> {
    config::load_in(path, locale)
        .map(std::sync::Arc::new)
        .map_err(|errors| anyhow::anyhow!("{errors}"))
}

/// Prints every error with its position, or a one-screen summary.
fn check(path: &Path) -> std::process::ExitCode {
    match config::load(path) {
        Err(errors) => {
            eprintln!("{errors}");
            std::process::ExitCode::FAILURE
        }
        Ok(catalog) => {
            print!("{}", summary(&catalog));
            for warning in sitewarden::api::exposure_warnings(&catalog.api) {
                eprintln!("warning: {warning}");
            }
            std::process::ExitCode::SUCCESS
        }
    }
}

fn summary(catalog: &Catalog) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "site {} ({}): {} devices, {} points, {} Modbus lines, {:.1} point reads/s\n",
        catalog.site.id,
        catalog.site.name,
        catalog.devices.len(),
        catalog.points.len(),
        catalog.lines.len(),
        catalog.point_reads_per_second()
    );
    for d in &catalog.devices {
        let points = catalog.points_of(d.id);
        if d.mqtt.is_some() {
            let _ = writeln!(
                out,
                "  {:<18} {:<16} {:>3} points on MQTT topics",
                d.name,
                "-",
                points.len()
            );
            continue;
        }
        let reads: f64 = points.iter().map(|p| 1.0 / p.interval.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  {:<18} {:<16} unit {:<3} {:>3} points  every {:>6?}  {:>7.1} reads/s  {}",
            d.name,
            d.profile.as_deref().unwrap_or("-"),
            d.unit_id,
            points.len(),
            d.poll_interval,
            reads,
            catalog.transport_of(d.id)
        );
    }
    let packs: std::collections::BTreeSet<&str> = catalog
        .rules
        .iter()
        .filter_map(|r| r.id.split('.').next())
        .collect();
    let _ = writeln!(
        out,
        "rules: {} from {} packs ({}), bound {} times to this site's points",
        catalog.rules.len(),
        packs.len(),
        packs.into_iter().collect::<Vec<_>>().join(", "),
        catalog.rule_instances.len()
    );
    let tickets = &catalog.tickets;
    let _ = writeln!(
        out,
        "tickets: {} preventive schedules ({}), {} extinguishers and hose reels in the register, CMMS webhook {}",
        tickets.preventive.len(),
        tickets
            .preventive
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        tickets.extinguishers.len(),
        tickets.webhook.as_ref().map_or("off", |w| w.url.as_str())
    );
    let _ = writeln!(out, "data in {}", catalog.data_dir.display());
    let _ = writeln!(
        out,
        "API on http://{}; configuration OK",
        catalog.api.listen
    );
    out
}
