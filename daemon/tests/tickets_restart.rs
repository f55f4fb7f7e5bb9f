//! Tickets survive `kill -9` in every state of the repair process, and the
//! CMMS webhook gets every change at least once, with its idempotency key,
//! from a persistent outbox: while the receiver is down, across the
//! restart, and through answers of 500 for the first attempts. Ticket
//! creation never waits for the webhook, even one that hangs.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Receiver, free_port, get_json, kill_9, request, start};

const ENGINEER: &str = "tok-engineer";

fn hash(token: &str) -> String {
    sitewarden::config::hash_token(token)
}

fn step(port: u16, id: i64, body: &str) -> (u16, serde_json::Value) {
    request(
        port,
        "POST",
        &format!("/api/v1/tickets/{id}/transition"),
        Some(ENGINEER),
        Some(body),
    )
    .unwrap()
}

/// The steps that bring a new ticket to each state; the engineer may take them all.
const WALK: [&str; 5] = [
    r#"{"action":"dispatch","assignee":"li.wei"}"#,
    r#"{"action":"start"}"#,
    r#"{"action":"resolve"}"#,
    r#"{"action":"accept"}"#,
    r#"{"action":"archive"}"#,
];
const STATES: [&str; 6] = [
    "registered",
    "dispatched",
    "in_progress",
    "resolved",
    "accepted",
    "archived",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_survive_kill_9_in_every_state_and_every_change_reaches_the_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let api = free_port();
    let cmms = free_port();
    let config = dir.path().join("site.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"127.0.0.1:{api}\"\n\n\
             [[api.tokens]]\nname = \"chen.jing\"\nrole = \"engineer\"\nsha256 = \"{}\"\n\n\
             [[people]]\nid = \"li.wei\"\nname = \"Li Wei\"\n\n\
             [tickets.webhook]\nurl = \"http://127.0.0.1:{cmms}/cmms\"\ntimeout = \"1s\"\n",
            hash(ENGINEER)
        ),
    )
    .unwrap();

    // The CMMS hangs without answering: tickets are created at full speed all the same.
    let receiver = Receiver::default();
    receiver.hang.store(true, Ordering::SeqCst);
    receiver.clone().serve(cmms).await;
    let mut daemon = start(&config);
    let up = Instant::now();
    while get_json(api, "/healthz").is_none() {
        assert!(up.elapsed() < Duration::from_secs(10), "API never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut ids = Vec::new();
    for (n, _) in STATES.iter().enumerate() {
        let started = Instant::now();
        let body = format!(r#"{{"title":"ticket {n}","requester":"r","contact":"c"}}"#);
        let (status, ticket) =
            request(api, "POST", "/api/v1/tickets", Some(ENGINEER), Some(&body)).unwrap();
        assert_eq!(status, 201, "{ticket}");
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "creation waited for the webhook"
        );
        let id = ticket["id"].as_i64().unwrap();
        for body in &WALK[..n] {
            assert_eq!(step(api, id, body).0, 200);
        }
        ids.push(id);
    }
    let calling = Instant::now();
    while receiver.held.load(Ordering::SeqCst) == 0 {
        assert!(
            calling.elapsed() < Duration::from_secs(5),
            "the daemon never called the hanging CMMS"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Killed right after the last answer.
    kill_9(&mut daemon);

    // The CMMS answers again: 500 to the first three requests, then 200.
    receiver.fail_first.store(3, Ordering::SeqCst);
    receiver.hang.store(false, Ordering::SeqCst);
    let _daemon = start(&config);
    let up = Instant::now();
    while get_json(api, "/healthz").is_none() {
        assert!(
            up.elapsed() < Duration::from_secs(10),
            "API never came up again"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Every acknowledged step is still there, with its whole trail.
    for (n, id) in ids.iter().enumerate() {
        let detail = get_json(api, &format!("/api/v1/tickets/{id}")).unwrap();
        assert_eq!(detail["status"], STATES[n], "ticket {id}");
        assert_eq!(
            detail["history"].as_array().unwrap().len(),
            n + 1,
            "ticket {id}: {detail}"
        );
    }
    // And the process goes on from where it was.
    assert_eq!(step(api, ids[0], WALK[0]).1["status"], "dispatched");
    assert_eq!(
        step(api, ids[3], r#"{"action":"reject","note":"still noisy"}"#).1["status"],
        "in_progress"
    );
    assert_eq!(step(api, ids[4], WALK[4]).1["status"], "archived");
    assert_eq!(step(api, ids[5], WALK[4]).0, 409);

    // Every change: 6 registrations, 15 steps before the kill, 3 after.
    let expected: usize = 6 + (0..6).sum::<usize>() + 3;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut distinct: BTreeMap<String, usize> = BTreeMap::new();
    while Instant::now() < deadline {
        distinct = BTreeMap::new();
        for key in receiver.keys() {
            *distinct.entry(key).or_default() += 1;
        }
        if distinct.len() == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(distinct.len(), expected, "{distinct:?}");
    assert!(
        receiver.attempts.load(Ordering::SeqCst) >= expected + 3,
        "the failures were retried"
    );
    // Each ticket's changes arrived in revision order, keys matching bodies.
    let accepted = receiver.accepted.lock().unwrap().clone();
    for id in &ids {
        let revisions: Vec<i64> = accepted
            .iter()
            .filter(|(_, b)| b["ticket"]["id"] == *id)
            .map(|(key, b)| {
                assert_eq!(key, b["key"].as_str().unwrap());
                b["ticket"]["revision"].as_i64().unwrap()
            })
            .collect();
        let mut sorted = revisions.clone();
        sorted.sort_unstable();
        assert_eq!(revisions, sorted, "ticket {id} out of order");
    }
    let detail = get_json(api, &format!("/api/v1/tickets/{}", ids[5])).unwrap();
    let deliveries = detail["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 6);
    assert!(
        deliveries
            .iter()
            .all(|d| d["delivered_at"].is_string() && d["channel"] == "tickets-webhook")
    );
}
