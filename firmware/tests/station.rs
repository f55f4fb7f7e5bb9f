//! The station end to end on the host: taps become signed records, read and
//! confirmed over Modbus RTU frames; repeats are ignored; feedback pins.

use checkpoint_fw::crc::crc16;
use checkpoint_fw::modbus::{self, MAX_FRAME};
use checkpoint_fw::ram_flash::RamFlash;
use checkpoint_fw::record::TapRecord;
use checkpoint_fw::station::{self, Station, Tap};
use embedded_hal_mock::eh1::delay::NoopDelay;
use embedded_hal_mock::eh1::digital::{Mock as Pin, State, Transaction as T};

const KEY: [u8; 32] = *b"checkpoint-7-station-secret-key!";

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = body.to_vec();
    f.extend_from_slice(&crc16(body).to_le_bytes());
    f
}

fn ask<F: embedded_storage::nor_flash::NorFlash>(s: &mut Station<F>, body: &[u8]) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME];
    let n = modbus::respond(7, s, &frame(body), &mut out).expect("an answer");
    out[..n].to_vec()
}

fn read_record<F: embedded_storage::nor_flash::NorFlash>(s: &mut Station<F>) -> Option<TapRecord> {
    let answer = ask(s, &[7, 3, 0, 16, 0, 21]);
    assert_eq!(&answer[..3], &[7, 3, 42]);
    if answer[3..5] == [0, 0] {
        return None;
    }
    Some(TapRecord::decode(&answer[5..45], &KEY).expect("a signed record"))
}

#[test]
fn taps_are_signed_read_over_modbus_and_released_by_confirm() {
    let mut s = Station::boot(RamFlash::<{ 6 * 1024 }>::new(), 7, KEY, 5).unwrap();
    assert_eq!(s.tap(&[0x04, 0x11, 0x22, 0x33], 100), Tap::Recorded(1));
    assert_eq!(
        s.tap(&[0x04, 0x11, 0x22, 0x33], 102),
        Tap::Repeat,
        "same badge within 5 s"
    );
    assert_eq!(
        s.tap(&[0x04, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44], 103),
        Tap::Recorded(2)
    );
    assert_eq!(
        s.tap(&[0x04, 0x11, 0x22, 0x33], 106),
        Tap::Recorded(3),
        "same badge after 5 s"
    );
    // Identity, version, id, boot, queue depth, health, next sequence number.
    assert_eq!(
        ask(&mut s, &[7, 3, 0, 0, 0, 8]),
        frame(&[
            7, 3, 16, 0x53, 0x57, 1, 0, 0, 7, 0, 1, 0, 3, 0, 0, 0, 0, 0, 4
        ])
    );
    let first = read_record(&mut s).unwrap();
    assert_eq!(
        (first.checkpoint, first.seq, first.boot, first.uptime_s),
        (7, 1, 1, 100)
    );
    assert_eq!(first.uid(), &[0x04, 0x11, 0x22, 0x33]);
    // Confirming the second before the first is refused (exception 3); the first is released.
    assert_eq!(
        ask(&mut s, &[7, 0x10, 0, 48, 0, 2, 4, 0, 0, 0, 2]),
        frame(&[7, 0x90, 3])
    );
    assert_eq!(
        ask(&mut s, &[7, 0x10, 0, 48, 0, 2, 4, 0, 0, 0, 1]),
        frame(&[7, 0x10, 0, 48, 0, 2])
    );
    assert_eq!(read_record(&mut s).unwrap().seq, 2);
    // Read-only registers refuse writes.
    assert_eq!(
        ask(&mut s, &[7, 0x10, 0, 2, 0, 1, 2, 0, 9]),
        frame(&[7, 0x90, 2])
    );
    // A reset keeps what is waiting and counts the boot.
    let mut s = Station::boot(s.into_flash(), 7, KEY, 5).unwrap();
    assert_eq!(s.boot_count(), 2);
    assert_eq!(s.waiting(), 2);
    assert_eq!(read_record(&mut s).unwrap().seq, 2);
    ask(&mut s, &[7, 0x10, 0, 48, 0, 2, 4, 0, 0, 0, 2]);
    ask(&mut s, &[7, 0x10, 0, 48, 0, 2, 4, 0, 0, 0, 3]);
    assert_eq!(read_record(&mut s), None);
    assert_eq!(s.tap(&[1, 2, 3, 4], 1).clone(), Tap::Recorded(4));
}

#[test]
fn a_tap_after_the_uptime_went_back_is_recorded_not_taken_for_a_repeat() {
    let mut s = Station::boot(RamFlash::<{ 6 * 1024 }>::new(), 7, KEY, 5).unwrap();
    let badge = [0x04, 0x11, 0x22, 0x33];
    // The last tap before a 32-bit millisecond counter would have wrapped.
    assert_eq!(s.tap(&badge, 4_294_960), Tap::Recorded(1));
    assert_eq!(s.tap(&badge, 4_294_962), Tap::Repeat);
    // A counter that wrapped reports a small uptime again: a real tap.
    assert_eq!(s.tap(&badge, 3), Tap::Recorded(2));
    assert_eq!(s.tap(&badge, 4), Tap::Repeat);
}

#[test]
fn a_full_queue_refuses_taps_and_says_so_in_the_health_register() {
    let mut s = Station::boot(RamFlash::<{ 6 * 1024 }>::new(), 7, KEY, 0).unwrap();
    for n in 0..64u32 {
        assert_eq!(s.tap(&n.to_be_bytes(), n), Tap::Recorded(n + 1));
    }
    assert_eq!(s.tap(&[9, 9, 9, 9], 100), Tap::QueueFull);
    assert_eq!(
        s.health() & station::HEALTH_QUEUE_FULL,
        station::HEALTH_QUEUE_FULL
    );
    assert_eq!(ask(&mut s, &[7, 3, 0, 5, 0, 1]), frame(&[7, 3, 2, 0, 2]));
}

/// What the feedback did, in order: a pin changed, or time passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feedback {
    /// The buzzer went on (true) or off.
    Buzzer(bool),
    /// The green light went on (true) or off.
    Green(bool),
    /// A delay of this many milliseconds.
    Wait(u32),
}

/// Records pin changes and delays on one timeline, so a short beep and a
/// long one differ in what the test sees.
#[derive(Default)]
struct Timeline(core::cell::RefCell<Vec<Feedback>>);

struct TracedPin<'a> {
    timeline: &'a Timeline,
    event: fn(bool) -> Feedback,
}

impl embedded_hal::digital::ErrorType for TracedPin<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for TracedPin<'_> {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.timeline.0.borrow_mut().push((self.event)(false));
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.timeline.0.borrow_mut().push((self.event)(true));
        Ok(())
    }
}

struct TracedDelay<'a>(&'a Timeline);

impl embedded_hal::delay::DelayNs for TracedDelay<'_> {
    fn delay_ns(&mut self, ns: u32) {
        let mut events = self.0.0.borrow_mut();
        // delay_ms may arrive as several delay_ns calls: add them up.
        if let Some(Feedback::Wait(ms)) = events.last_mut() {
            *ms += ns / 1_000_000;
        } else {
            events.push(Feedback::Wait(ns / 1_000_000));
        }
    }
}

fn feedback_of(tap: Tap) -> Vec<Feedback> {
    let timeline = Timeline::default();
    let mut buzzer = TracedPin {
        timeline: &timeline,
        event: Feedback::Buzzer,
    };
    let mut green = TracedPin {
        timeline: &timeline,
        event: Feedback::Green,
    };
    station::feedback(tap, &mut buzzer, &mut green, &mut TracedDelay(&timeline)).unwrap();
    timeline.0.into_inner()
}

#[test]
fn a_good_tap_beeps_short_with_the_green_light_and_an_error_beeps_long() {
    let mut buzzer = Pin::new(&[T::set(State::High), T::set(State::Low)]);
    let mut green = Pin::new(&[T::set(State::High), T::set(State::Low)]);
    station::feedback(
        Tap::Recorded(1),
        &mut buzzer,
        &mut green,
        &mut NoopDelay::new(),
    )
    .unwrap();
    buzzer.done();
    green.done();
    let mut buzzer = Pin::new(&[T::set(State::High), T::set(State::Low)]);
    let mut green = Pin::new(&[]);
    station::feedback(
        Tap::QueueFull,
        &mut buzzer,
        &mut green,
        &mut NoopDelay::new(),
    )
    .unwrap();
    buzzer.done();
    green.done();
    let mut buzzer = Pin::new(&[]);
    let mut green = Pin::new(&[]);
    station::feedback(Tap::Repeat, &mut buzzer, &mut green, &mut NoopDelay::new()).unwrap();
    buzzer.done();
    green.done();
    // The same on one timeline, with the time each beep lasts.
    use Feedback::{Buzzer, Green, Wait};
    assert_eq!(
        feedback_of(Tap::Recorded(1)),
        [
            Green(true),
            Buzzer(true),
            Wait(100),
            Buzzer(false),
            Wait(400),
            Green(false)
        ],
        "a good tap: a 100 ms beep, the green light for half a second"
    );
    for error in [Tap::QueueFull, Tap::StorageError] {
        assert_eq!(
            feedback_of(error),
            [Buzzer(true), Wait(1000), Buzzer(false)],
            "{error:?}: one long beep"
        );
    }
    assert_eq!(feedback_of(Tap::Repeat), []);
}
