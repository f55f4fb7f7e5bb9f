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

/// What the daemon has been told: records acknowledged on flash and not yet
/// confirmed (oldest first), and the records whose confirm was acknowledged.
#[derive(Default)]
struct Ledger {
    waiting: std::collections::VecDeque<u32>,
    confirmed: Vec<u32>,
}

impl Ledger {
    /// After a (re)boot the queue must hold exactly what the ledger says.
    fn check(&self, q: &mut Queue<&mut Flash>, when: &str) {
        assert_eq!(
            q.waiting() as usize,
            self.waiting.len(),
            "{when}: waiting count"
        );
        let oldest = q.oldest().ok().flatten().map(|(seq, _)| seq);
        assert_eq!(
            oldest,
            self.waiting.front().copied(),
            "{when}: oldest record"
        );
        if let Some(seq) = oldest {
            assert!(
                !self.confirmed.contains(&seq),
                "{when}: confirmed record {seq} came back"
            );
        }
    }

    /// Runs `ops` from `at` until the power goes; returns where it stopped.
    fn run(&mut self, q: &mut Queue<&mut Flash>, ops: &[Op], mut at: usize) -> usize {
        while let Some(op) = ops.get(at) {
            let lost = match op {
                Op::Push => match q.push(record) {
                    Ok(seq) => {
                        assert!(
                            self.waiting.back().is_none_or(|last| *last < seq),
                            "sequence {seq} reused"
                        );
                        assert!(
                            self.confirmed.iter().all(|c| *c < seq),
                            "sequence {seq} reused"
                        );
                        self.waiting.push_back(seq);
                        false
                    }
                    Err(QueueError::Flash(FlashError::PowerLost)) => true,
                    // A full queue is the station's normal back-pressure.
                    Err(QueueError::Full) => false,
                    Err(e) => panic!("push failed: {e:?}"),
                },
                Op::Confirm => match q.oldest() {
                    Ok(None) => false,
                    Ok(Some((seq, bytes))) => {
                        assert_eq!(bytes, record(seq), "record {seq} came back altered");
                        match q.confirm(seq) {
                            Ok(()) => {
                                assert_eq!(
                                    self.waiting.pop_front(),
                                    Some(seq),
                                    "confirmed out of order"
                                );
                                self.confirmed.push(seq);
                                false
                            }
                            Err(QueueError::Flash(FlashError::PowerLost)) => true,
                            Err(e) => panic!("confirm failed: {e:?}"),
                        }
                    }
                    Err(e) => panic!("read failed: {e:?}"),
                },
            };
            if lost {
                return at;
            }
            at += 1;
        }
        at
    }
}

/// Plays `ops` through a sequence of boots, the power cut after each
/// budget of flash operations in turn (the last boot runs with the power on
/// to the end of the script); each boot is checked against everything
/// acknowledged before it. Returns the ledger, the flash and the boots seen.
fn play_with_cuts(
    ops: &[Op],
    budgets: impl IntoIterator<Item = usize>,
    torn: bool,
) -> (Ledger, Flash, u32) {
    let mut flash = Flash::new();
    flash.tear_cut_word(torn);
    let mut ledger = Ledger::default();
    let mut at = 0;
    let mut boots = 0;
    for budget in budgets.into_iter().map(Some).chain([None]) {
        flash.cut_after(budget);
        match Queue::open(&mut flash) {
            Ok(mut q) => {
                let boot = q.boot();
                ledger.check(
                    &mut q,
                    &format!("boot {boot} at op {at} (torn word: {torn})"),
                );
                at = ledger.run(&mut q, ops, at);
                boots = q.boot();
            }
            Err(QueueError::Flash(FlashError::PowerLost)) => {}
            Err(e) => panic!("boot failed: {e:?}"),
        }
    }
    assert_eq!(at, ops.len(), "the last boot runs the script to its end");
    (ledger, flash, boots)
}

/// A long script: many confirms, so the journal switches pages several times.
fn long_script(rounds: usize) -> Vec<Op> {
    let mut ops = Vec::new();
    for round in 0..rounds {
        ops.extend(std::iter::repeat_n(Op::Push, 3 + round % 5));
        ops.extend(std::iter::repeat_n(Op::Confirm, 3 + round % 4));
    }
    ops
}

#[test]
fn power_cuts_at_every_operation_across_many_boots_and_journal_switches_lose_nothing() {
    let ops = long_script(60);
    let confirms = ops.iter().filter(|o| matches!(o, Op::Confirm)).count();
    assert!(
        confirms > 3 * 64,
        "the script must switch journal pages several times"
    );
    for torn in [false, true] {
        for first in 0..400 {
            // The first cut lands on every operation of the opening stretch,
            // the later ones at varied points: forty cuts, forty boots.
            let later = (0..40).map(move |k| 20 + (first * 31 + k * 97) % 700);
            let (ledger, mut flash, boots) =
                play_with_cuts(&ops, std::iter::once(first).chain(later), torn);
            assert!(boots > 10, "only {boots} boots");
            let expected: Vec<u32> = ledger.waiting.iter().copied().collect();
            assert_eq!(
                waiting_after_reset(&mut flash),
                expected,
                "first cut {first} (torn: {torn})"
            );
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Random long runs of taps, confirms and power cuts: after every boot
    /// and at the end, every acknowledged record not yet confirmed is there,
    /// in order, once; no confirmed record comes back; no sequence repeats.
    #[test]
    fn random_taps_confirms_and_power_cuts_lose_and_duplicate_nothing(
        pushes in proptest::collection::vec(proptest::bool::weighted(0.55), 50..600),
        budgets in proptest::collection::vec(0usize..900, 0..40),
        torn in proptest::bool::ANY,
    ) {
        let ops: Vec<Op> = pushes.iter().map(|p| if *p { Op::Push } else { Op::Confirm }).collect();
        let (ledger, mut flash, _) = play_with_cuts(&ops, budgets, torn);
        let expected: Vec<u32> = ledger.waiting.iter().copied().collect();
        proptest::prop_assert_eq!(waiting_after_reset(&mut flash), expected);
    }
}
