//! The checkpoint station's Cortex-M3 image (firmware/lm3s6965, built for
//! thumbv7m-none-eabi by scripts/test.sh) booted under Debian's
//! qemu-system-arm on the lm3s6965evb board. UART0, the RS-485 uplink, is
//! bridged to a TCP socket, as an RS-485-to-Ethernet gateway would be, and
//! polled with the daemon's Modbus RTU-over-TCP stack (tokio-modbus);
//! badge taps are injected on UART1, the test build's stand-in for the PN532.
//! The daemon itself polls the station's health registers through the same
//! bridge; the signed records are then collected and confirmed.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use checkpoint_fw::record::TapRecord;
use sitewarden_tests::{
    ChildGuard, SiteDir, boolean, free_port, load, number, point, repo_root, start_daemon,
    wait_until,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_modbus::prelude::*;

const KEY: &[u8; 32] = b"checkpoint-7-station-secret-key!";

fn image() -> std::path::PathBuf {
    let path =
        repo_root().join("firmware/lm3s6965/target/thumbv7m-none-eabi/release/station-image");
    assert!(
        path.exists(),
        "{} is missing: scripts/test.sh builds it (cd firmware/lm3s6965 && cargo build --release)",
        path.display()
    );
    path
}

async fn connect(addr: SocketAddr) -> tokio::net::TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => return s,
            Err(e) => {
                assert!(Instant::now() < deadline, "QEMU serial {addr}: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn tap(badges: &mut tokio::net::TcpStream, uid: &str) -> String {
    badges
        .write_all(format!("TAP {uid}\n").as_bytes())
        .await
        .unwrap();
    loop {
        let mut line = Vec::new();
        while !line.ends_with(b"\n") {
            let mut byte = [0u8; 1];
            tokio::time::timeout(Duration::from_secs(5), badges.read_exact(&mut byte))
                .await
                .unwrap()
                .unwrap();
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line).trim().to_owned();
        // The boot banner reaches us when we connected before the firmware started.
        if !line.ends_with("ready") {
            return line;
        }
    }
}

/// The oldest waiting record, verified with the station's key.
async fn oldest(ctx: &mut tokio_modbus::client::Context) -> Option<TapRecord> {
    let words = ctx.read_holding_registers(16, 21).await.unwrap().unwrap();
    if words[0] == 0 {
        return None;
    }
    let bytes: Vec<u8> = words[1..].iter().flat_map(|w| w.to_be_bytes()).collect();
    Some(TapRecord::decode(&bytes, KEY).expect("the station's signature"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_station_image_records_taps_and_serves_them_over_modbus_rtu_under_qemu() {
    let (uplink, badge_port) = (free_port(), free_port());
    let child = Command::new("qemu-system-arm")
        .args([
            "-cpu",
            "cortex-m3",
            "-machine",
            "lm3s6965evb",
            "-nographic",
            "-monitor",
            "none",
        ])
        .args(["-serial", &format!("tcp:127.0.0.1:{uplink},server,nowait")])
        .args([
            "-serial",
            &format!("tcp:127.0.0.1:{badge_port},server,nowait"),
        ])
        .arg("-kernel")
        .arg(image())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-system-arm (scripts/test.sh installs it)");
    let _qemu = ChildGuard::new(child);
    let mut badges = connect(SocketAddr::from(([127, 0, 0, 1], badge_port))).await;
    assert_eq!(tap(&mut badges, "04112233").await, "ok");
    assert_eq!(
        tap(&mut badges, "04112233").await,
        "repeat",
        "the same badge within the debounce time"
    );
    assert_eq!(tap(&mut badges, "04A1B2C3D4E5F6").await, "ok");

    // The daemon polls the station's health through the bridged UART with
    // config/profiles/checkpoint-station.toml, like any RTU device behind a gateway.
    let site = SiteDir::new().unwrap();
    let path = site
        .site(&format!(
            "[[devices]]\nid = \"checkpoint-7\"\nprofile = \"checkpoint-station\"\nunit_id = 7\n\
             transport = {{ kind = \"modbus-rtu-over-tcp\", host = \"127.0.0.1:{uplink}\" }}\npoll_interval = \"200ms\"\n"
        ))
        .unwrap();
    let catalog = load(&path);
    let daemon = start_daemon(catalog.clone(), &site, 0).await.unwrap();
    let polled = || {
        point(&daemon, &catalog, "checkpoint-7", "records_waiting")
            .1
            .is_some()
            && point(&daemon, &catalog, "checkpoint-7", "boot_counter")
                .1
                .is_some()
    };
    assert!(
        wait_until(Duration::from_secs(10), polled).await,
        "the daemon never read the station"
    );
    assert_eq!(
        number(point(&daemon, &catalog, "checkpoint-7", "identity")),
        f64::from(0x5357)
    );
    assert_eq!(
        number(point(&daemon, &catalog, "checkpoint-7", "records_waiting")),
        2.0
    );
    assert_eq!(
        number(point(&daemon, &catalog, "checkpoint-7", "next_sequence")),
        3.0
    );
    assert!(!boolean(point(
        &daemon,
        &catalog,
        "checkpoint-7",
        "queue_full"
    )));
    daemon.stop().await;

    // Collection: read the oldest record, verify it, confirm it.
    let link = connect(SocketAddr::from(([127, 0, 0, 1], uplink))).await;
    let mut ctx = rtu::attach_slave(link, Slave(7));

    // Identity, version, station id, boot counter, waiting records, health, next sequence number.
    let head = ctx.read_holding_registers(0, 8).await.unwrap().unwrap();
    assert_eq!(head, [0x5357, 0x0100, 7, 1, 2, 0, 0, 3]);
    let first = oldest(&mut ctx).await.unwrap();
    assert_eq!((first.checkpoint, first.seq, first.boot), (7, 1, 1));
    assert_eq!(first.uid(), &[0x04, 0x11, 0x22, 0x33]);
    // Only the oldest record can be released; read-only registers refuse writes.
    let refused = ctx.write_multiple_registers(48, &[0, 2]).await.unwrap();
    assert_eq!(refused, Err(ExceptionCode::IllegalDataValue));
    let read_only = ctx.write_multiple_registers(2, &[9]).await.unwrap();
    assert_eq!(read_only, Err(ExceptionCode::IllegalDataAddress));
    ctx.write_multiple_registers(48, &[0, 1])
        .await
        .unwrap()
        .unwrap();
    let second = oldest(&mut ctx).await.unwrap();
    assert_eq!(second.seq, 2);
    assert_eq!(second.uid(), &[0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6]);
    ctx.write_multiple_registers(48, &[0, 2])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oldest(&mut ctx).await, None);
    assert_eq!(
        ctx.read_holding_registers(4, 1).await.unwrap().unwrap(),
        [0]
    );
}
