//! Power cuts at every step of writing and confirming records: after the
//! reset, every record whose write was acknowledged and not yet confirmed
//! is there, and no confirmed record comes back.

use checkpoint_fw::queue::{Queue, QueueError};
use checkpoint_fw::ram_flash::{FlashError, RamFlash};
use checkpoint_fw::record::RECORD_LEN;

/// Six pages: two for the journal, four (64 slots) for records.
type Flash = RamFlash<{ 6 * 1024 }>;

#[derive(Debug, Clone, Copy)]
enum Op {
    Push,
    Confirm,
}

fn record(seq: u32) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    r[..4].copy_from_slice(&seq.to_be_bytes());
    r
}

/// A script that fills pages, wraps the ring, and switches the journal more than once.
fn script() -> Vec<Op> {
    let mut ops = Vec::new();
    for round in 0..12 {
        for _ in 0..(5 + round % 4) {
            ops.push(Op::Push);
        }
        for _ in 0..(4 + round % 3) {
            ops.push(Op::Confirm);
        }
    }
    ops
}

/// Runs the script until the power goes; returns what was acknowledged.
fn run(flash: &mut Flash, ops: &[Op]) -> (Vec<u32>, Vec<u32>) {
    let mut acked_pushes = Vec::new();
    let mut acked_confirms = Vec::new();
    // The boot itself writes (the boot counter): a cut may come that early.
    let Ok(mut q) = Queue::open(&mut *flash) else {
        return (acked_pushes, acked_confirms);
    };
    for op in ops {
        match op {
            Op::Push => match q.push(record) {
                Ok(seq) => acked_pushes.push(seq),
                Err(QueueError::Flash(FlashError::PowerLost)) => break,
                Err(e) => panic!("push failed: {e:?}"),
            },
            Op::Confirm => {
                let oldest = q.oldest().ok().flatten();
                let Some((seq, _)) = oldest else { continue };
                match q.confirm(seq) {
                    Ok(()) => acked_confirms.push(seq),
                    Err(QueueError::Flash(FlashError::PowerLost)) => break,
                    Err(e) => panic!("confirm failed: {e:?}"),
                }
            }
        }
    }
    (acked_pushes, acked_confirms)
}

/// After the reset: the waiting records in order, read out and confirmed as the daemon would.
fn waiting_after_reset(flash: &mut Flash) -> Vec<u32> {
    let mut q = match Queue::open(&mut *flash) {
        Ok(q) => q,
        Err(e) => panic!("reopen failed: {e:?}"),
    };
    let mut seen = Vec::new();
    while let Ok(Some((seq, bytes))) = q.oldest() {
        assert_eq!(bytes, record(seq), "record {seq} came back altered");
        seen.push(seq);
        if q.confirm(seq).is_err() {
            break;
        }
    }
    seen
}

#[test]
fn a_power_cut_at_any_write_loses_nothing_unconfirmed_and_revives_nothing_confirmed() {
    let ops = script();
    let mut whole = Flash::new();
    let (pushes, _) = run(&mut whole, &ops);
    assert!(pushes.len() > 64, "the script must wrap the ring");
    for torn in [false, true] {
        cut_everywhere(&ops, torn);
    }
}

/// Cuts the power after every flash operation of the script in turn;
/// `torn` leaves the word being written half programmed (or half erased).
fn cut_everywhere(ops: &[Op], torn: bool) {
    let mut cuts = 0;
    for cut in 0.. {
        let mut flash = Flash::new();
        flash.cut_after(Some(cut));
        flash.tear_cut_word(torn);
        let (acked_pushes, acked_confirms) = run(&mut flash, ops);
        let finished = flash.powered();
        flash.cut_after(None);
        let waiting = waiting_after_reset(&mut flash);
        let expected: Vec<u32> = acked_pushes
            .iter()
            .copied()
            .filter(|s| !acked_confirms.contains(s))
            .collect();
        assert_eq!(
            waiting, expected,
            "power cut after {cut} flash operations (torn word: {torn})"
        );
        // Sequence numbers never repeat across the cut.
        let mut q = Queue::open(&mut flash).unwrap();
        let next = q.push(record).unwrap();
        assert!(
            acked_pushes.iter().all(|s| *s < next),
            "sequence {next} reused after cut {cut} (torn word: {torn})"
        );
        cuts += 1;
        if finished {
            break;
        }
    }
    assert!(cuts > 500, "only {cuts} cut points");
}

#[test]
fn sequence_numbers_and_the_boot_counter_survive_resets() {
    let mut flash = Flash::new();
    let mut q = Queue::open(&mut flash).unwrap();
    assert_eq!(q.boot(), 1);
    let a = q.push(record).unwrap();
    let b = q.push(record).unwrap();
    q.confirm(a).unwrap();
    q.confirm(b).unwrap();
    let q = Queue::open(&mut flash).unwrap();
    assert_eq!(q.boot(), 2);
    assert_eq!(
        q.next_seq(),
        b + 1,
        "a confirmed sequence number is never given again"
    );
    let mut q = Queue::open(&mut flash).unwrap();
    assert_eq!(q.boot(), 3);
    assert_eq!(q.push(record).unwrap(), b + 1);
    // Many resets: the journal pages are reused without losing the counter.
    for boot in 4..200 {
        let q = Queue::open(&mut flash).unwrap();
        assert_eq!(q.boot(), boot);
    }
}

#[test]
fn a_full_queue_refuses_and_never_overwrites_an_unconfirmed_record() {
    let mut flash = Flash::new();
    let mut q = Queue::open(&mut flash).unwrap();
    let mut pushed = Vec::new();
    loop {
        match q.push(record) {
            Ok(seq) => pushed.push(seq),
            Err(QueueError::Full) => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(pushed.len(), 64, "four pages of sixteen slots");
    assert!(q.is_full());
    // Confirming anything but the oldest is refused.
    assert_eq!(q.confirm(pushed[1]), Err(QueueError::NotOldest));
    // One confirmed record frees nothing until its whole page is confirmed.
    q.confirm(pushed[0]).unwrap();
    assert_eq!(q.push(record), Err(QueueError::Full));
    for seq in &pushed[1..16] {
        q.confirm(*seq).unwrap();
    }
    assert_eq!(q.push(record).unwrap(), 65);
    assert_eq!(
        waiting_after_reset(&mut flash),
        (17..=65).collect::<Vec<_>>()
    );
}
