//! A headset's HID report descriptor and its input reports (both come from the device, which
//! may be anything plugged in): the first bytes up to a 0x00 0x00 0x00 0x00 separator are the
//! descriptor, the rest are input reports of 1 to 16 bytes, each prefixed by its length, fed to
//! the headset state machine as the device would send them.
#![no_main]

use std::time::{Duration, Instant};

use homeline_headset::{Headset, Switches, descriptor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.windows(4).position(|w| w == [0, 0, 0, 0]);
    let (desc, rest) = match split {
        Some(i) => (&data[..i], &data[i + 4..]),
        None => (data, &[][..]),
    };
    let Ok(layout) = descriptor::parse(desc) else {
        return;
    };
    let _ = layout.is_telephony();
    let mut machine = Headset::new(layout, Switches::default());
    let mut now = Instant::now();
    let mut rest = rest;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len % 16 + 1).min(tail.len());
        let report = &tail[..n];
        let _ = machine.layout().input_values(report);
        let _ = machine.handle_input(now, report);
        now += Duration::from_millis(u64::from(len));
        rest = &tail[n..];
    }
});
