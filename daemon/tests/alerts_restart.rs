//! Escalation deadlines are stored: `kill -9` the daemon in the middle of a
//! fire alarm's chain, start it again, and the next step fires at its
//! original time; nothing already confirmed is sent again.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Receiver, free_port, get_json, kill_9, request, start};
use site_sim::{SimOptions, Step};

fn step_times(receiver: &Receiver) -> Vec<(i64, String)> {
    receiver
        .accepted
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, b)| b["alert"]["rule"] == "fire.fire_alarm" && b["step"].is_i64())
        .map(|(k, b)| (b["step"].as_i64().unwrap_or(0), k.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_resumes_at_the_right_step_and_time_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir(dir.path().join("profiles")).unwrap();
    std::fs::copy(
        repo.join("config/profiles/fire-panel.toml"),
        dir.path().join("profiles/fire-panel.toml"),
    )
    .unwrap();
    let sim_config = dir.path().join("sim.toml");
    std::fs::write(&sim_config, "[[devices]]\nid = \"fire\"\nprofile = \"fire-panel\"\ntransport = { kind = \"modbus-tcp\", host = \"127.0.0.1:0\" }\n").unwrap();
    let options = SimOptions {
        time_scale: 0.0,
        ..SimOptions::default()
    };
    let sim = site_sim::start(
        site_sim::load_site(&sim_config).unwrap(),
        site_sim::Scenario::default(),
        options,
    )
    .await
    .unwrap();
    let (api, hook) = (free_port(), free_port());
    let receiver = Receiver::default();
    receiver.clone().serve(hook).await;
    let config = dir.path().join("site.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"127.0.0.1:{api}\"\n\n\
             [[api.tokens]]\nname = \"chen.jing\"\nrole = \"engineer\"\nsha256 = \"{}\"\n\n\
             [rules]\npacks = [{:?}]\n\n\
             [[people]]\nid = \"a\"\nname = \"A\"\n\n[[people]]\nid = \"b\"\nname = \"B\"\n\n[[people]]\nid = \"c\"\nname = \"C\"\n\n\
             [alerts]\nself_test_every = \"0s\"\n\n[alerts.channels.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{hook}/hook\"\n\n\
             [alerts.policies.fire]\nrepeat = \"4s\"\nsteps = [\n\
               {{ notify = [\"a\"], channels = [\"hook\"], wait = \"4s\" }},\n\
               {{ notify = [\"b\"], channels = [\"hook\"], wait = \"4s\" }},\n\
               {{ notify = [\"c\"], channels = [\"hook\"], wait = \"4s\" }},\n]\n\n\
             [[devices]]\nid = \"fire\"\nprofile = \"fire-panel\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"100ms\"\n",
            sitewarden::config::hash_token("tok"),
            repo.join("config/standards/fire.toml").display().to_string(),
            sim.addr("fire").unwrap()
        ),
    )
    .unwrap();
    let mut daemon = start(&config);
    let up = Instant::now();
    while get_json(api, "/healthz").is_none() {
        assert!(up.elapsed() < Duration::from_secs(10), "API never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    sim.apply(
        &toml::from_str::<Step>(
            "device = \"fire\"\naction = \"set\"\npoint = \"zone2_alarm\"\nvalue = 1",
        )
        .unwrap(),
    );
    let wait_steps = |n: usize, within: Duration| {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if step_times(&receiver).len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    };
    assert!(wait_steps(1, Duration::from_secs(5)), "step 1 never came");
    let step1 = Instant::now();
    assert!(wait_steps(2, Duration::from_secs(6)), "step 2 never came");
    // Killed half-way through step 2's wait; step 3 is due 8 s after step 1.
    std::thread::sleep(Duration::from_secs(2));
    kill_9(&mut daemon);
    let _daemon = start(&config);
    assert!(
        wait_steps(3, Duration::from_secs(10)),
        "step 3 never came after the restart"
    );
    let step3_after = step1.elapsed().as_secs_f64();
    assert!(
        (7.3..9.0).contains(&step3_after),
        "step 3 {step3_after:.2} s after step 1, not 8 s"
    );

    let steps = step_times(&receiver);
    assert_eq!(
        steps.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [1, 2, 3],
        "{steps:?}"
    );
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, key) in &steps {
        *seen.entry(key).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "sent twice: {seen:?}");

    // Acknowledged: nothing more.
    let alerts = get_json(api, "/api/v1/alerts?status=open").unwrap();
    let id = alerts["alerts"][0]["id"].as_i64().unwrap();
    let (status, _) = request(
        api,
        "POST",
        &format!("/api/v1/alerts/{id}/ack"),
        Some("tok"),
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        step_times(&receiver).len(),
        3,
        "escalated after the acknowledgement"
    );
    let told = receiver
        .accepted
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, b)| b["reason"] == "acknowledged")
        .count();
    assert_eq!(told, 1, "the hook was not told who took it");
}
