//! The state machine on simulated time over real layouts: events from input reports and the
//! exact output bytes after each step.

use std::path::Path;
use std::time::{Duration, Instant};

use homeline_headset::descriptor;
use homeline_headset::machine::{DEBOUNCE, HOOK_ACK_WINDOW};
use homeline_headset::{CallIndication, CallPhase, Headset, HeadsetEvent, OutputReport, Switches};

fn layout(name: &str) -> descriptor::TelephonyLayout {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/{name}.hex"));
    let text = std::fs::read_to_string(p).expect("hex");
    descriptor::parse(&descriptor::decode_hex_text(&text).expect("hex")).expect("parses")
}

fn call(phase: CallPhase, muted: bool) -> CallIndication {
    CallIndication { phase, muted }
}

fn bytes(r: Vec<OutputReport>) -> Vec<Vec<u8>> {
    r.into_iter().map(|r| r.bytes).collect()
}

fn ms(t0: Instant, n: u64) -> Instant {
    t0 + Duration::from_millis(n)
}

// Jabra EVOLVE LINK MS, report 2. Input: bit0 Hook Switch (abs), bit2 Phone Mute (rel),
// bit3 Flash (rel), bit4 Redial (rel), bits 7..10 keypad. Output: bit0 Off-Hook, bit1 Mute,
// bit2 Ring, bit3 Hold, bit4 Microphone, bit5 Ringer.
const HOOK: u8 = 0x01;
const MUTE_BTN: u8 = 0x04;
const FLASH_BTN: u8 = 0x08;

#[test]
fn a_whole_incoming_call_on_a_jabra_with_exact_bytes() {
    let mut h = Headset::new(layout("jabra-evolve-link-ms"), Switches::default());
    let t0 = Instant::now();
    // Incoming call: Ring LED and Ringer.
    assert_eq!(
        bytes(h.apply(t0, call(CallPhase::Ringing, false))),
        vec![vec![2, 0x24, 0]]
    );
    // The user presses the headset button: Hook Switch goes off-hook -> answer.
    assert_eq!(
        h.handle_input(ms(t0, 2000), &[2, HOOK, 0]),
        vec![HeadsetEvent::Answer]
    );
    // The same state repeated is no second answer.
    assert_eq!(h.handle_input(ms(t0, 2100), &[2, HOOK, 0]), vec![]);
    // The phone answered: Off-Hook and Microphone on, ring off.
    assert_eq!(
        bytes(h.apply(ms(t0, 2110), call(CallPhase::Active, false))),
        vec![vec![2, 0x11, 0]]
    );
    // Mute on the headset (relative: press and release) -> mute, LED after the phone's echo.
    assert_eq!(
        h.handle_input(ms(t0, 5000), &[2, HOOK | MUTE_BTN, 0]),
        vec![HeadsetEvent::Mute(true)]
    );
    assert_eq!(h.handle_input(ms(t0, 5100), &[2, HOOK, 0]), vec![]);
    assert_eq!(
        bytes(h.apply(ms(t0, 5101), call(CallPhase::Active, true))),
        vec![vec![2, 0x03, 0]]
    );
    // Unmute in the app -> the headset's mute LED goes off.
    assert_eq!(
        bytes(h.apply(ms(t0, 7000), call(CallPhase::Active, false))),
        vec![vec![2, 0x11, 0]]
    );
    // Flash -> hold; held keeps Off-Hook and lights Hold.
    assert_eq!(
        h.handle_input(ms(t0, 8000), &[2, HOOK | FLASH_BTN, 0]),
        vec![HeadsetEvent::Flash]
    );
    assert_eq!(h.handle_input(ms(t0, 8100), &[2, HOOK, 0]), vec![]);
    assert_eq!(
        bytes(h.apply(ms(t0, 8101), call(CallPhase::Held, false))),
        vec![vec![2, 0x19, 0]]
    );
    // Resume from the app.
    assert_eq!(
        bytes(h.apply(ms(t0, 9000), call(CallPhase::Active, false))),
        vec![vec![2, 0x11, 0]]
    );
    // Button again: on-hook -> hang up; then everything off.
    assert_eq!(
        h.handle_input(ms(t0, 10_000), &[2, 0, 0]),
        vec![HeadsetEvent::HangUp]
    );
    assert_eq!(
        bytes(h.apply(ms(t0, 10_010), call(CallPhase::Idle, false))),
        vec![vec![2, 0, 0]]
    );
    // Nothing changed, nothing pending: nothing written.
    assert!(
        h.apply(ms(t0, 11_000), call(CallPhase::Idle, false))
            .is_empty()
    );
}

#[test]
fn off_hook_goes_out_before_mute() {
    let mut h = Headset::new(layout("jabra-evolve-link-ms"), Switches::default());
    let t0 = Instant::now();
    // A call placed muted from the app: Off-Hook alone first, then Off-Hook + Mute.
    assert_eq!(
        bytes(h.apply(t0, call(CallPhase::Active, true))),
        vec![vec![2, 0x11, 0], vec![2, 0x03, 0]]
    );
}

#[test]
fn a_hook_switch_that_acknowledges_our_off_hook_is_not_a_press() {
    let mut h = Headset::new(layout("jabra-evolve-link-ms"), Switches::default());
    let t0 = Instant::now();
    h.apply(t0, call(CallPhase::Ringing, false));
    // Answered in the app: we set Off-Hook; the device echoes Hook Switch = 1 at once.
    assert_eq!(
        bytes(h.apply(ms(t0, 1000), call(CallPhase::Active, false))),
        vec![vec![2, 0x11, 0]]
    );
    assert_eq!(h.handle_input(ms(t0, 1100), &[2, HOOK, 0]), vec![]);
    // Hung up in the app while a second call rings: the device's on-hook echo must not be
    // taken for anything, and its next off-hook within the window neither.
    assert!(
        !h.apply(ms(t0, 3000), call(CallPhase::Ringing, false))
            .is_empty()
    );
    assert_eq!(h.handle_input(ms(t0, 3050), &[2, 0, 0]), vec![]);
    // A real press after the window answers.
    let after = 3000 + HOOK_ACK_WINDOW.as_millis() as u64 + 200;
    assert_eq!(
        h.handle_input(ms(t0, after), &[2, HOOK, 0]),
        vec![HeadsetEvent::Answer]
    );
}

#[test]
fn a_full_echo_follows_a_device_mute_even_when_the_phone_state_did_not_change() {
    let mut h = Headset::new(layout("jabra-evolve-link-ms"), Switches::default());
    let t0 = Instant::now();
    h.apply(t0, call(CallPhase::Active, false));
    assert_eq!(
        h.handle_input(ms(t0, 1000), &[2, HOOK | MUTE_BTN, 0]),
        vec![HeadsetEvent::Mute(true)]
    );
    // The phone could not mute (say the call just ended its media): the device still gets the
    // whole state back, or it would keep its own mute LED on.
    assert_eq!(
        bytes(h.apply(ms(t0, 1001), call(CallPhase::Active, false))),
        vec![vec![2, 0x11, 0]]
    );
}

#[test]
fn bouncing_relative_presses_count_once() {
    let mut h = Headset::new(layout("jabra-evolve-link-ms"), Switches::default());
    let t0 = Instant::now();
    h.apply(t0, call(CallPhase::Active, false));
    let mut events = Vec::new();
    events.extend(h.handle_input(ms(t0, 1000), &[2, HOOK | MUTE_BTN, 0]));
    events.extend(h.handle_input(ms(t0, 1010), &[2, HOOK, 0]));
    events.extend(h.handle_input(ms(t0, 1020), &[2, HOOK | MUTE_BTN, 0]));
    assert!(Duration::from_millis(20) < DEBOUNCE);
    assert_eq!(events, vec![HeadsetEvent::Mute(true)]);
    // A deliberate second press later toggles back.
    h.handle_input(ms(t0, 1500), &[2, HOOK, 0]);
    assert_eq!(
        h.handle_input(ms(t0, 2000), &[2, HOOK | MUTE_BTN, 0]),
        vec![HeadsetEvent::Mute(false)]
    );
}

#[test]
fn mute_needs_off_hook_and_keypad_sends_digits_in_a_call() {
    let mut h = Headset::new(layout("jabra-evolve-link-ms"), Switches::default());
    let t0 = Instant::now();
    // Idle: a mute press means nothing.
    assert_eq!(h.handle_input(t0, &[2, MUTE_BTN, 0]), vec![]);
    h.handle_input(ms(t0, 100), &[2, 0, 0]);
    h.apply(ms(t0, 200), call(CallPhase::Active, false));
    // Keypad: 4-bit array at bit 7 (logical 0..11 over Phone Key 0..#). Value 5 = key '5';
    // value 11 = '#'. Bits 7..10: value v -> byte1 bit7 = v&1, byte2 bits0..2 = v>>1.
    let key = |v: u8| [2u8, HOOK | ((v & 1) << 7), v >> 1];
    assert_eq!(
        h.handle_input(ms(t0, 300), &key(5)),
        vec![HeadsetEvent::Key('5')]
    );
    assert_eq!(h.handle_input(ms(t0, 400), &key(0)), vec![]);
    assert_eq!(
        h.handle_input(ms(t0, 500), &key(11)),
        vec![HeadsetEvent::Key('#')]
    );
}

#[test]
fn one_report_per_led_on_poly_with_off_hook_first() {
    // Blackwire C5220: Mute LED report 9, Off-Hook 23, Ring 24, Hold 32 (each 2 bytes).
    let mut h = Headset::new(layout("plantronics-blackwire-c5220"), Switches::default());
    let t0 = Instant::now();
    assert_eq!(
        bytes(h.apply(t0, call(CallPhase::Ringing, false))),
        vec![vec![23, 0], vec![9, 0], vec![24, 1], vec![32, 0]]
    );
    // Input report 8: bit0 Phone Mute (rel), bit1 Hook Switch (abs), bit2 Flash (abs).
    assert_eq!(
        h.handle_input(ms(t0, 900), &[8, 0x02]),
        vec![HeadsetEvent::Answer]
    );
    assert_eq!(
        bytes(h.apply(ms(t0, 910), call(CallPhase::Active, true))),
        vec![
            vec![23, 1],
            vec![9, 0],
            vec![24, 0],
            vec![32, 0],
            vec![23, 1],
            vec![9, 1],
            vec![24, 0],
            vec![32, 0]
        ]
    );
    assert_eq!(
        h.handle_input(ms(t0, 2000), &[8, 0x03]),
        vec![HeadsetEvent::Mute(false)]
    );
}

#[test]
fn switches_off_mean_nothing_acted_on_and_nothing_written() {
    let t0 = Instant::now();
    let off = Switches {
        enabled: false,
        ..Switches::default()
    };
    let mut h = Headset::new(layout("jabra-evolve-link-ms"), off);
    assert!(h.apply(t0, call(CallPhase::Ringing, false)).is_empty());
    assert_eq!(h.handle_input(ms(t0, 1000), &[2, HOOK, 0]), vec![]);
    assert!(
        h.apply(ms(t0, 1001), call(CallPhase::Active, true))
            .is_empty()
    );
    assert_eq!(
        h.handle_input(ms(t0, 2000), &[2, HOOK | MUTE_BTN, 0]),
        vec![]
    );

    // Call buttons off: the hook does nothing, mute still works, LEDs still shown.
    let mut h = Headset::new(
        layout("jabra-evolve-link-ms"),
        Switches {
            call_buttons: false,
            ..Switches::default()
        },
    );
    assert_eq!(
        bytes(h.apply(t0, call(CallPhase::Ringing, false))),
        vec![vec![2, 0x24, 0]]
    );
    assert_eq!(h.handle_input(ms(t0, 1000), &[2, HOOK, 0]), vec![]);
    h.apply(ms(t0, 1001), call(CallPhase::Active, false));
    assert_eq!(
        h.handle_input(ms(t0, 2000), &[2, HOOK | MUTE_BTN, 0]),
        vec![HeadsetEvent::Mute(true)]
    );

    // Mute sync off: the mute button does nothing and the app's mute is not shown.
    let mut h = Headset::new(
        layout("jabra-evolve-link-ms"),
        Switches {
            mute_sync: false,
            ..Switches::default()
        },
    );
    assert_eq!(
        bytes(h.apply(t0, call(CallPhase::Active, true))),
        vec![vec![2, 0x11, 0]]
    );
    assert_eq!(
        h.handle_input(ms(t0, 2000), &[2, HOOK | MUTE_BTN, 0]),
        vec![]
    );

    // LEDs off: buttons work, nothing is written.
    let mut h = Headset::new(
        layout("jabra-evolve-link-ms"),
        Switches {
            leds: false,
            ..Switches::default()
        },
    );
    assert!(h.apply(t0, call(CallPhase::Ringing, false)).is_empty());
    assert_eq!(
        h.handle_input(ms(t0, 1000), &[2, HOOK, 0]),
        vec![HeadsetEvent::Answer]
    );
    assert!(
        h.apply(ms(t0, 1001), call(CallPhase::Active, false))
            .is_empty()
    );

    // Ring on the headset off: no Ring LED or Ringer, the rest as usual.
    let mut h = Headset::new(
        layout("jabra-evolve-link-ms"),
        Switches {
            ring_on_headset: false,
            ..Switches::default()
        },
    );
    assert_eq!(
        bytes(h.apply(t0, call(CallPhase::Ringing, false))),
        vec![vec![2, 0, 0]]
    );
    assert_eq!(
        h.handle_input(ms(t0, 1000), &[2, HOOK, 0]),
        vec![HeadsetEvent::Answer]
    );
}

#[test]
fn reports_of_other_ids_and_short_reports_are_ignored() {
    let mut h = Headset::new(layout("jabra-evolve-link-ms"), Switches::default());
    let t0 = Instant::now();
    h.apply(t0, call(CallPhase::Ringing, false));
    // Report 4 is the vendor copy of the layout: its bit 0 is not the hook switch.
    assert_eq!(h.handle_input(ms(t0, 1000), &[4, HOOK, 0]), vec![]);
    assert_eq!(h.handle_input(ms(t0, 1000), &[2, HOOK]), vec![]);
    assert_eq!(h.handle_input(ms(t0, 1000), &[]), vec![]);
    assert_eq!(
        h.handle_input(ms(t0, 1100), &[2, HOOK, 0]),
        vec![HeadsetEvent::Answer]
    );
}
