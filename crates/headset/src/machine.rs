//! The sans-IO headset state machine.
//!
//! It knows the device's telephony layout (from [`crate::descriptor`]) and the call state the
//! phone last told it; it owns no device, no clock and no thread. The driver loop is:
//!
//! ```text
//! report read from the device  ->  machine.handle_input(now, &report)  ->  events for the phone
//! call state changed            ->  machine.apply(now, indication)      ->  output reports to write
//! ```
//!
//! The rules it follows are the ones real devices need (Jitsi, Google's WebHID sample, gonnect,
//! the Jabra SDK):
//! - an **absolute** input (Hook Switch on every headset we know) is a state: act on its edges,
//!   and only when the edge means something for the call (off-hook while ringing answers,
//!   on-hook while in a call hangs up), so a repeated report does nothing;
//! - a **relative** input (Phone Mute, Flash on most devices) is a press: its rising edge toggles,
//!   and a second rising edge within [`DEBOUNCE`] is dropped;
//! - after every change, and after every input the device may wait on, the **full** output
//!   state is written again (every output report that holds one of our LEDs): a device that
//!   toggled its own mute waits for the host's echo and toggles back without it (WICG/webhid#72);
//! - **Off-Hook before mute**: devices report and show mute only while off-hook, so when a call
//!   becomes active and muted at once, a report with Off-Hook alone goes first;
//! - a Hook Switch edge that only **acknowledges** our own Off-Hook change within
//!   [`HOOK_ACK_WINDOW`] is not a user press;
//! - **hold keeps Off-Hook** set (Jabra devices hang up otherwise) and lights Hold.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::descriptor::{Control, Direction, PAGE_LED, PAGE_TELEPHONY, TelephonyLayout, usages};

/// A Hook Switch edge this soon after we changed Off-Hook, matching it, is the device's echo.
pub const HOOK_ACK_WINDOW: Duration = Duration::from_millis(500);
/// A second press of a relative button this soon after the first is a bounce.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// Which functions are switched on (the `[headset]` config section). All on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Switches {
    /// Master switch: off means no button is acted on and nothing is written.
    pub enabled: bool,
    /// Hook Switch, Flash, Redial, Drop and the keypad act on calls.
    pub call_buttons: bool,
    /// Phone Mute mutes the call, and the app's mute lights the headset's mute LED.
    pub mute_sync: bool,
    /// Off-Hook, Ring, Mute, Hold, Microphone LEDs and the Ringer are written.
    pub leds: bool,
    /// An incoming call rings on the headset (Ring LED and Ringer) as well as on the ring device.
    pub ring_on_headset: bool,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            enabled: true,
            call_buttons: true,
            mute_sync: true,
            leds: true,
            ring_on_headset: true,
        }
    }
}

/// What the phone is doing, as far as the headset is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// No call.
    #[default]
    Idle,
    /// An incoming call rings.
    Ringing,
    /// We are calling out (the far end rings).
    Dialing,
    /// A call is connected.
    Active,
    /// The call is on hold.
    Held,
}

impl CallPhase {
    fn off_hook(self) -> bool {
        matches!(
            self,
            CallPhase::Dialing | CallPhase::Active | CallPhase::Held
        )
    }
}

/// The call state given to [`Headset::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallIndication {
    /// The phase of the current call.
    pub phase: CallPhase,
    /// The call's microphone is muted.
    pub muted: bool,
}

/// What a headset button asks the phone to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "event", content = "value")]
pub enum HeadsetEvent {
    /// Answer the ringing call (Hook Switch off-hook).
    Answer,
    /// Hang up the call (Hook Switch on-hook).
    HangUp,
    /// Set the call's mute to this (Phone Mute).
    Mute(bool),
    /// Flash: hold or resume the call.
    Flash,
    /// Redial the last number.
    Redial,
    /// Drop: end the call.
    Drop,
    /// A key of the keypad: `0`–`9`, `*`, `#`, `A`–`D`.
    Key(char),
}

/// The LEDs (and the Ringer) we drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct LedState {
    /// LED Off-Hook.
    pub off_hook: bool,
    /// LED Ring.
    pub ring: bool,
    /// LED Mute.
    pub mute: bool,
    /// LED Hold.
    pub hold: bool,
    /// LED Microphone: on while a call's microphone is live (off-hook and not muted).
    pub microphone: bool,
    /// Telephony Ringer.
    pub ringer: bool,
}

/// One output report, as written to the device: the first byte is the report ID, or 0 when the
/// device uses none (as hidapi wants it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputReport {
    /// The report ID, if the device uses report IDs.
    pub report_id: Option<u8>,
    /// The bytes to write, report-ID byte (or 0) first.
    pub bytes: Vec<u8>,
}

/// The headset state machine. See the module docs.
#[derive(Debug)]
pub struct Headset {
    layout: TelephonyLayout,
    switches: Switches,
    call: CallIndication,
    sent: Option<LedState>,
    echo_pending: bool,
    /// Last value of each input control, by (report id, bit offset).
    inputs: BTreeMap<(Option<u8>, usize), u32>,
    /// Time of the last acted-on rising edge of each relative control.
    last_press: BTreeMap<(Option<u8>, usize), Instant>,
    /// Until when a Hook Switch edge matching our Off-Hook is an acknowledgement.
    hook_ack: Option<(Instant, bool)>,
}

pub(crate) fn read_bits(payload: &[u8], offset: usize, size: usize) -> Option<u32> {
    if size == 0 || size > 32 {
        return None;
    }
    let mut v: u64 = 0;
    for i in 0..size {
        let bit = offset + i;
        let byte = *payload.get(bit / 8)?;
        if byte >> (bit % 8) & 1 == 1 {
            v |= 1 << i;
        }
    }
    u32::try_from(v).ok()
}

fn write_bits(payload: &mut [u8], offset: usize, size: usize, value: u32) {
    for i in 0..size.min(32) {
        let bit = offset + i;
        if let Some(byte) = payload.get_mut(bit / 8) {
            if value >> i & 1 == 1 {
                *byte |= 1 << (bit % 8);
            } else {
                *byte &= !(1 << (bit % 8));
            }
        }
    }
}

fn key_char(usage_id: u16) -> Option<char> {
    match usage_id {
        0xB0..=0xB9 => char::from_digit(u32::from(usage_id - 0xB0), 10),
        0xBA => Some('*'),
        0xBB => Some('#'),
        0xBC => Some('A'),
        0xBD => Some('B'),
        0xBE => Some('C'),
        0xBF => Some('D'),
        _ => None,
    }
}

impl Headset {
    /// A machine for a device with this layout.
    pub fn new(layout: TelephonyLayout, switches: Switches) -> Self {
        Headset {
            layout,
            switches,
            call: CallIndication::default(),
            sent: None,
            echo_pending: false,
            inputs: BTreeMap::new(),
            last_press: BTreeMap::new(),
            hook_ack: None,
        }
    }

    /// The device's layout.
    pub fn layout(&self) -> &TelephonyLayout {
        &self.layout
    }

    /// The switches in force.
    pub fn switches(&self) -> Switches {
        self.switches
    }

    /// Changes the switches; the next [`apply`](Self::apply) writes the state they imply.
    pub fn set_switches(&mut self, switches: Switches) {
        if switches != self.switches {
            self.switches = switches;
            self.echo_pending = true;
        }
    }

    /// The LED state last written, if any.
    pub fn leds(&self) -> Option<LedState> {
        self.sent
    }

    /// Feeds one input report as read from the device (report-ID byte first when the device
    /// uses report IDs). Returns what the phone should do. Reports of unknown IDs, short reports
    /// and garbage are ignored.
    pub fn handle_input(&mut self, now: Instant, report: &[u8]) -> Vec<HeadsetEvent> {
        let mut events = Vec::new();
        let (report_id, payload) = if self.layout.uses_report_ids {
            match report.split_first() {
                Some((id, rest)) => (Some(*id), rest),
                None => return events,
            }
        } else {
            (None, report)
        };
        let Some(len) = self.layout.input_report_len.get(&report_id) else {
            return events;
        };
        let id_len = usize::from(report_id.is_some());
        if payload.len() + id_len < *len {
            return events;
        }
        let controls: Vec<Control> = self
            .layout
            .controls
            .iter()
            .filter(|c| c.direction == Direction::Input && c.report_id == report_id)
            .cloned()
            .collect();
        for c in controls {
            let Some(value) = read_bits(payload, c.bit_offset, c.bit_size) else {
                continue;
            };
            let key = (report_id, c.bit_offset);
            let prev = self.inputs.insert(key, value).unwrap_or(0);
            if value == prev {
                continue;
            }
            if !self.switches.enabled {
                continue;
            }
            if let Some(ev) = self.on_change(now, &c, key, prev, value) {
                events.push(ev);
            }
        }
        events
    }

    fn press(&mut self, now: Instant, key: (Option<u8>, usize), prev: u32, value: u32) -> bool {
        if !(prev == 0 && value != 0) {
            return false;
        }
        if let Some(t) = self.last_press.get(&key)
            && now.saturating_duration_since(*t) < DEBOUNCE
        {
            return false;
        }
        self.last_press.insert(key, now);
        true
    }

    fn on_change(
        &mut self,
        now: Instant,
        c: &Control,
        key: (Option<u8>, usize),
        prev: u32,
        value: u32,
    ) -> Option<HeadsetEvent> {
        if c.usage_page != PAGE_TELEPHONY {
            return None;
        }
        if c.array {
            if !self.switches.call_buttons || self.call.phase != CallPhase::Active {
                return None;
            }
            // Value 0 of an array whose range starts at 0 is "no key" (the common convention).
            if value == 0 && c.logical_min == 0 {
                return None;
            }
            let index = i64::from(value) - i64::from(c.logical_min);
            let span = i64::from(c.usage_id_max.unwrap_or(c.usage_id)) - i64::from(c.usage_id);
            if index < 0 || index > span || i64::from(value) > i64::from(c.logical_max) {
                return None;
            }
            let usage = u16::try_from(i64::from(c.usage_id) + index).ok()?;
            return key_char(usage).map(HeadsetEvent::Key);
        }
        let phase = self.call.phase;
        match c.usage_id {
            usages::HOOK_SWITCH => {
                if !self.switches.call_buttons {
                    return None;
                }
                if c.relative {
                    if !self.press(now, key, prev, value) {
                        return None;
                    }
                    return self.hook_toggle();
                }
                let off_hook = value != 0;
                self.echo_pending = true;
                if let Some((until, state)) = self.hook_ack
                    && now <= until
                    && state == off_hook
                {
                    self.hook_ack = None;
                    return None;
                }
                match (off_hook, phase) {
                    (true, CallPhase::Ringing) => {
                        self.call.phase = CallPhase::Active;
                        Some(HeadsetEvent::Answer)
                    }
                    (false, p) if p.off_hook() => {
                        self.call.phase = CallPhase::Idle;
                        Some(HeadsetEvent::HangUp)
                    }
                    _ => None,
                }
            }
            usages::PHONE_MUTE => {
                if !self.switches.mute_sync || !phase.off_hook() {
                    return None;
                }
                let muted = if c.relative {
                    if !self.press(now, key, prev, value) {
                        return None;
                    }
                    !self.call.muted
                } else {
                    value != 0
                };
                self.echo_pending = true;
                if muted == self.call.muted {
                    return None;
                }
                self.call.muted = muted;
                Some(HeadsetEvent::Mute(muted))
            }
            usages::FLASH | usages::REDIAL | usages::DROP => {
                if !self.switches.call_buttons || !self.press(now, key, prev, value) {
                    return None;
                }
                match c.usage_id {
                    usages::FLASH if phase.off_hook() => Some(HeadsetEvent::Flash),
                    usages::DROP if phase != CallPhase::Idle => Some(HeadsetEvent::Drop),
                    usages::REDIAL if phase == CallPhase::Idle => Some(HeadsetEvent::Redial),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn hook_toggle(&mut self) -> Option<HeadsetEvent> {
        self.echo_pending = true;
        match self.call.phase {
            CallPhase::Ringing => {
                self.call.phase = CallPhase::Active;
                Some(HeadsetEvent::Answer)
            }
            p if p.off_hook() => {
                self.call.phase = CallPhase::Idle;
                Some(HeadsetEvent::HangUp)
            }
            _ => None,
        }
    }

    /// The LED state this call state asks for, under the switches.
    pub fn wanted_leds(&self, call: CallIndication) -> LedState {
        let s = self.switches;
        let off_hook = call.phase.off_hook();
        let ring = call.phase == CallPhase::Ringing && s.ring_on_headset;
        let mute = off_hook && call.muted && s.mute_sync;
        LedState {
            off_hook,
            ring,
            mute,
            hold: call.phase == CallPhase::Held,
            microphone: off_hook && !mute,
            ringer: ring,
        }
    }

    /// Tells the machine the phone's call state. Returns the output reports to write, in order
    /// (none when nothing changed and no echo is due, or when LEDs are switched off).
    pub fn apply(&mut self, now: Instant, call: CallIndication) -> Vec<OutputReport> {
        self.call = call;
        if !self.switches.enabled || !self.switches.leds {
            self.echo_pending = false;
            return Vec::new();
        }
        let want = self.wanted_leds(call);
        if self.sent == Some(want) && !self.echo_pending {
            return Vec::new();
        }
        self.echo_pending = false;
        let before = self.sent.unwrap_or_default();
        let mut out = Vec::new();
        if want.off_hook && !before.off_hook && want.mute {
            // Off-Hook first: devices take mute only while off-hook.
            let step = LedState {
                mute: false,
                microphone: true,
                ..want
            };
            out.extend(self.build(step));
        }
        out.extend(self.build(want));
        if want.off_hook != before.off_hook {
            self.hook_ack = Some((now + HOOK_ACK_WINDOW, want.off_hook));
        }
        self.sent = Some(want);
        out
    }

    /// The output reports for an LED state: every output report that holds one of our outputs,
    /// whole, the Off-Hook one first.
    fn build(&self, leds: LedState) -> Vec<OutputReport> {
        let mut reports: BTreeMap<Option<u8>, Vec<u8>> = BTreeMap::new();
        let mut first: Option<Option<u8>> = None;
        for c in self
            .layout
            .controls
            .iter()
            .filter(|c| c.direction == Direction::Output)
        {
            let on = match (c.usage_page, c.usage_id) {
                (PAGE_LED, usages::LED_OFF_HOOK) => Some(leds.off_hook),
                (PAGE_LED, usages::LED_RING) => Some(leds.ring),
                (PAGE_LED, usages::LED_MUTE) => Some(leds.mute),
                (PAGE_LED, usages::LED_HOLD) => Some(leds.hold),
                (PAGE_LED, usages::LED_MICROPHONE) => Some(leds.microphone),
                (PAGE_TELEPHONY, usages::RINGER) => Some(leds.ringer),
                _ => None,
            };
            let Some(on) = on else { continue };
            if c.constant || c.array {
                continue;
            }
            let Some(len) = self.layout.output_report_len.get(&c.report_id) else {
                continue;
            };
            // hidreport's size counts the report-ID byte when there is one; without one,
            // hidapi still wants a leading 0.
            let total = *len + usize::from(c.report_id.is_none());
            let buf = reports.entry(c.report_id).or_insert_with(|| {
                let mut b = vec![0u8; total.max(1)];
                b[0] = c.report_id.unwrap_or(0);
                b
            });
            if c.usage_id == usages::LED_OFF_HOOK && c.usage_page == PAGE_LED {
                first = Some(c.report_id);
            }
            let value = if on {
                u32::try_from(c.logical_max.max(1)).unwrap_or(1)
            } else {
                u32::try_from(c.logical_min.max(0)).unwrap_or(0)
            };
            if let Some(payload) = buf.get_mut(1..) {
                write_bits(payload, c.bit_offset, c.bit_size, value);
            }
        }
        let mut out: Vec<OutputReport> = Vec::new();
        if let Some(id) = first
            && let Some(bytes) = reports.remove(&id)
        {
            out.push(OutputReport {
                report_id: id,
                bytes,
            });
        }
        out.extend(
            reports
                .into_iter()
                .map(|(report_id, bytes)| OutputReport { report_id, bytes }),
        );
        out
    }
}
