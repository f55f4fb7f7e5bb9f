//! The Debian package, end to end on this machine: `scripts/package.sh`
//! builds it; its contents and `lintian` are checked; `dpkg -i` installs it;
//! `sitewarden init` writes a site whose devices are the simulator's, `check`
//! passes, `systemd-analyze` verifies the unit and scores its exposure; the
//! binary runs the way the unit runs it (an unprivileged user, the state
//! directory systemd would give it, `/etc` not writable) and polls the
//! simulator; `dpkg --purge` removes every trace. Needs root (CI runs as
//! root); systemd itself is not running here, so the unit is verified and
//! scored offline, not started.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use sitewarden_tests::{SiteDir, free_port, frozen, http, repo_root, start_sim, wait_until};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Purges the package however the test ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = run("dpkg", &["--purge", "sitewarden"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_builds_installs_runs_as_the_unit_runs_it_and_purges_cleanly() {
    let built = Command::new(repo_root().join("scripts/package.sh"))
        .current_dir(repo_root())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built));
    let stdout = String::from_utf8_lossy(&built.stdout);
    let deb = repo_root().join(stdout.lines().last().unwrap().trim());
    let deb = deb.to_str().unwrap();

    // What is inside, and where.
    let listing = text(&run("dpkg-deb", &["-c", deb]));
    for path in [
        "./usr/bin/sitewarden",
        "./usr/share/sitewarden/standards/hvac.toml",
        "./usr/share/sitewarden/standards/lifts.toml",
        "./usr/share/sitewarden/profiles/lift-controller.toml",
        "./usr/share/sitewarden/locales/zh-CN.ftl",
        "./usr/share/sitewarden/dashboards/building.json",
        "./etc/sitewarden/site.toml",
        "sitewarden.service",
        "./usr/share/man/man1/sitewarden.1.gz",
        "./usr/share/bash-completion/completions/sitewarden",
        "./usr/share/zsh/vendor-completions/_sitewarden",
        "./usr/share/fish/vendor_completions.d/sitewarden.fish",
    ] {
        assert!(listing.contains(path), "no {path} in:\n{listing}");
    }
    let conffiles = text(&run("dpkg-deb", &["-I", deb, "conffiles"]));
    assert!(
        conffiles.contains("/etc/sitewarden/site.toml"),
        "{conffiles}"
    );
    let lintian = run("lintian", &["--tag-display-limit", "0", deb]);
    let errors: Vec<String> = text(&lintian)
        .lines()
        .filter(|l| l.starts_with("E:"))
        .map(str::to_owned)
        .collect();
    assert!(errors.is_empty(), "lintian errors: {errors:#?}");

    // Installed into this machine's system.
    let installed = run("dpkg", &["-i", deb]);
    let _purge = Installed;
    assert!(installed.status.success(), "{}", text(&installed));
    let size = std::fs::metadata("/usr/bin/sitewarden").unwrap().len();
    assert!(size < 40 << 20, "the binary is {size} bytes: not stripped?");
    let unit = [
        "/lib/systemd/system/sitewarden.service",
        "/usr/lib/systemd/system/sitewarden.service",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("the unit is installed");
    // Installed, not started: there is no site yet.
    let example = std::fs::read_to_string("/etc/sitewarden/site.toml").unwrap();
    assert!(example.contains("sitewarden init"), "{example}");

    // A site on the simulator, written by init, checked.
    let site = SiteDir::new().unwrap();
    let sim = start_sim(
        &site,
        &[("ahu-1", "ahu"), ("lift-1", "lift-controller")],
        frozen(),
    )
    .await
    .unwrap();
    let ahu = format!("ahu:ahu-1@{}", sim.addr("ahu-1").unwrap());
    let lift = format!("lift-controller:lift-1@{}", sim.addr("lift-1").unwrap());
    let init = run(
        "/usr/bin/sitewarden",
        &[
            "init",
            "--dir",
            "/etc/sitewarden",
            "--force",
            "--site-id",
            "pkg-test",
            "--time-zone",
            "Asia/Shanghai",
            "--device",
            &ahu,
            "--device",
            &lift,
            "--token",
            "engineer:chen.jing",
        ],
    );
    assert!(init.status.success(), "{}", text(&init));
    assert!(
        text(&init).contains("data in /var/lib/sitewarden"),
        "a site under /etc keeps its data in /var/lib: {}",
        text(&init)
    );
    let port = free_port();
    let site_file = std::fs::read_to_string("/etc/sitewarden/site.toml")
        .unwrap()
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    std::fs::write("/etc/sitewarden/site.toml", site_file).unwrap();
    let check = run(
        "/usr/bin/sitewarden",
        &["check", "--config", "/etc/sitewarden/site.toml"],
    );
    assert!(check.status.success(), "{}", text(&check));

    // The unit, verified and scored offline (systemd is not running here).
    let verify = run("systemd-analyze", &["verify", unit]);
    let complaints: Vec<String> = text(&verify)
        .lines()
        .filter(|l| l.contains("sitewarden.service"))
        .map(str::to_owned)
        .collect();
    assert!(
        verify.status.success() && complaints.is_empty(),
        "{}",
        text(&verify)
    );
    let security = run(
        "systemd-analyze",
        &["security", "--offline=true", "--no-pager", unit],
    );
    let score = text(&security)
        .lines()
        .find_map(|l| l.split("exposure level for").nth(1).map(str::to_owned))
        .and_then(|l| l.split(':').nth(1).map(str::to_owned))
        .and_then(|l| {
            l.split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
        });
    let score = score.unwrap_or_else(|| panic!("no exposure score in:\n{}", text(&security)));
    assert!(score < 2.0, "exposure {score}:\n{}", text(&security));

    // Run as the unit runs it: an unprivileged user, its state directory, /etc read-only to it.
    let state = site.dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let owned = run("chown", &["65534:65534", state.to_str().unwrap()]);
    assert!(owned.status.success(), "{}", text(&owned));
    let mut daemon = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--no-new-privs",
        ])
        .args([
            "/usr/bin/sitewarden",
            "run",
            "--config",
            "/etc/sitewarden/site.toml",
        ])
        .env("STATE_DIRECTORY", &state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let api: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let online = || {
        http(api, "GET", "/api/v1/devices", None, None)
            .map(|(_, body)| {
                body.as_array()
                    .into_iter()
                    .flatten()
                    .filter(|d| d["state"] == "online")
                    .count()
            })
            .unwrap_or(0)
    };
    let polled = wait_until(Duration::from_secs(20), || online() == 2).await;
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(polled, "the installed daemon does not poll the simulator");
    assert!(state.join("operations.db").exists() || std::fs::read_dir(&state).unwrap().count() > 0);

    // Purged: nothing left behind.
    let purged = run("dpkg", &["--purge", "sitewarden"]);
    assert!(purged.status.success(), "{}", text(&purged));
    assert!(!std::path::Path::new("/usr/bin/sitewarden").exists());
    assert!(!std::path::Path::new("/etc/sitewarden/site.toml").exists());
    assert!(!std::path::Path::new(unit).exists());
}
