//! `sitewarden init`: a starting site file from a few answers given as
//! flags (so a script can install a gateway unattended), then `check` on it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sitewarden::config::{self, SHARE_DIR};

/// The shipped rule packs a new site uses, all of them: a rule binds only
/// to devices whose profile has its roles.
const PACKS: [&str; 8] = [
    "hvac", "lighting", "fire", "security", "lifts", "carpark", "comfort", "general",
];

/// What `init` is told.
#[derive(clap::Args)]
pub struct InitArgs {
    /// Folder to write `site.toml` in; created when missing.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Site id: letters, digits, `-` and `_` (it appears in MQTT topics and InfluxDB tags).
    #[arg(long)]
    site_id: String,
    /// The site's name as people say it (the id when left out).
    #[arg(long)]
    name: Option<String>,
    /// IANA time zone of the site (this machine's when left out).
    #[arg(long)]
    time_zone: Option<String>,
    /// Language of every text people read: `en` or `zh-CN`.
    #[arg(long)]
    locale: Option<String>,
    /// A Modbus TCP device, `PROFILE:ID@HOST:PORT` (e.g.
    /// `ahu:ahu-1@192.168.10.21:502`), or just `PROFILE` for an example
    /// device of that kind to fill in; repeat for more. Profiles: see
    /// `/usr/share/sitewarden/profiles` (or `--share`).
    #[arg(long = "device", value_name = "PROFILE:ID@HOST:PORT")]
    devices: Vec<String>,
    /// An API token, `ROLE:NAME` (roles: front-desk, technician, engineer,
    /// security, admin); the token is printed once, only its hash is written.
    #[arg(long = "token", value_name = "ROLE:NAME")]
    tokens: Vec<String>,
    /// Data directory (left out: systemd's StateDirectory, /var/lib/sitewarden
    /// for a site under /etc, else `data` next to the site file).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where the rule packs (`standards/`) and profiles (`profiles/`) are.
    #[arg(long, default_value = SHARE_DIR)]
    share: PathBuf,
    /// Overwrite an existing `site.toml`.
    #[arg(long)]
    force: bool,
}

/// Writes the site file, prints the tokens once, checks the file; the
/// exit code is `check`'s.
pub fn init(args: &InitArgs) -> anyhow::Result<std::process::ExitCode> {
    let path = args.dir.join("site.toml");
    if path.exists() && !args.force {
        bail!("{} exists; pass --force to overwrite it", path.display());
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let mut tokens = Vec::new();
    let text = site_text(args, &mut tokens)?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    for (name, role, token) in &tokens {
        println!("API token for {name} ({role}), shown this once: {token}");
    }
    match config::load(&path) {
        Ok(catalog) => {
            println!(
                "configuration OK: {} devices, {} rules bound {} times; data in {}",
                catalog.devices.len(),
                catalog.rules.len(),
                catalog.rule_instances.len(),
                catalog.data_dir.display()
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Ok(std::process::ExitCode::FAILURE)
        }
    }
}

/// The site file's text; each token made is pushed as (name, role, token).
fn site_text(
    args: &InitArgs,
    tokens: &mut Vec<(String, String, String)>,
) -> anyhow::Result<String> {
    let zone = match &args.time_zone {
        Some(zone) => zone.clone(),
        None => jiff::tz::TimeZone::system()
            .iana_name()
            .unwrap_or("UTC")
            .to_owned(),
    };
    let mut s = String::new();
    let _ = writeln!(s, "[site]\nid = {}", quoted(&args.site_id));
    let _ = writeln!(
        s,
        "name = {}",
        quoted(args.name.as_deref().unwrap_or(&args.site_id))
    );
    let _ = writeln!(s, "time_zone = {}", quoted(&zone));
    if let Some(locale) = &args.locale {
        let _ = writeln!(s, "locale = {}", quoted(locale));
    }
    s.push_str("\n[api]\nlisten = \"127.0.0.1:8080\"\n");
    for spec in &args.tokens {
        let (role, name) = spec
            .split_once(':')
            .with_context(|| format!("--token {spec}: give ROLE:NAME"))?;
        let token: String = (0..24)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        let _ = writeln!(
            s,
            "\n[[api.tokens]]\nname = {}\nrole = {}\nsha256 = {}",
            quoted(name),
            quoted(role),
            quoted(&config::hash_token(&token))
        );
        tokens.push((name.to_owned(), role.to_owned(), token));
    }
    if let Some(dir) = &args.data_dir {
        let _ = writeln!(
            s,
            "\n[storage]\ndata_dir = {}",
            quoted(&dir.to_string_lossy())
        );
    }
    let default_share = args.share == Path::new(SHARE_DIR);
    // The package's files are found from /etc by their relative names;
    // another folder is named outright.
    let place = |relative: &str| {
        if default_share {
            relative.to_owned()
        } else {
            args.share.join(relative).to_string_lossy().into_owned()
        }
    };
    let packs: Vec<String> = PACKS
        .iter()
        .map(|p| quoted(&place(&format!("standards/{p}.toml"))))
        .collect();
    let _ = writeln!(s, "\n[rules]\npacks = [{}]", packs.join(", "));
    // `profiles_dir` is a top-level key: it goes before the first table.
    let mut head = format!(
        "# Written by `sitewarden init`. The README explains every section;\n\
         # `sitewarden check --config {}` after each edit, then `systemctl reload sitewarden`.\n\n\
         profiles_dir = {}\n\n",
        args.dir.join("site.toml").display(),
        quoted(&place("profiles"))
    );
    head.push_str(&s);
    let mut s = head;
    for spec in &args.devices {
        s.push_str(&device_text(spec)?);
    }
    Ok(s)
}

/// `[[devices]]` for `PROFILE:ID@HOST:PORT`, or an example device for a
/// bare `PROFILE` (`ahu-1` at a documentation address, to be changed).
fn device_text(spec: &str) -> anyhow::Result<String> {
    if !spec.contains([':', '@']) {
        return Ok(format!(
            "\n# An example {spec}: set its host (and unit_id) to the real device's.\n[[devices]]\nid = {}\nprofile = {}\ntransport = {{ kind = \"modbus-tcp\", host = \"192.0.2.10:502\" }}\nunit_id = 1\npoll_interval = \"1s\"\n",
            quoted(&format!("{spec}-1")),
            quoted(spec)
        ));
    }
    let parse = || {
        let (profile, rest) = spec.split_once(':')?;
        let (id, host) = rest.split_once('@')?;
        Some((profile, id, host))
    };
    let (profile, id, host) =
        parse().with_context(|| format!("--device {spec}: give PROFILE:ID@HOST:PORT"))?;
    Ok(format!(
        "\n[[devices]]\nid = {}\nprofile = {}\ntransport = {{ kind = \"modbus-tcp\", host = {} }}\nunit_id = 1\npoll_interval = \"1s\"\n",
        quoted(id),
        quoted(profile),
        quoted(host)
    ))
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}
