//! Seeded mutations over the 13 real descriptors, and garbage input reports: nothing panics.
//! (A descriptor and every report come from a device: remote input.)

use std::path::Path;
use std::time::{Duration, Instant};

use homeline_headset::descriptor;
use homeline_headset::{CallIndication, CallPhase, Headset, Switches};

/// xorshift64*: a fixed seed gives the same mutations on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn descriptors() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("data")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".hex"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).expect("read");
            (
                e.file_name().to_string_lossy().into_owned(),
                descriptor::decode_hex_text(&text).expect("hex"),
            )
        })
        .collect();
    v.sort();
    v
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            2 => b.truncate(rng.below(b.len() + 1)),
            3 => {
                let i = rng.below(b.len() + 1);
                b.insert(i, rng.next() as u8);
            }
            4 if !b.is_empty() => {
                let i = rng.below(b.len());
                b.remove(i);
            }
            _ => {
                // Splice in a well-known troublemaker: a Usage with no Usage Page, a Pop, an
                // End Collection, a huge Report Count.
                let bits: [&[u8]; 4] = [&[0x09, 0x20], &[0xB4], &[0xC0], &[0x96, 0xFF, 0xFF]];
                let s = bits[rng.below(bits.len())];
                let i = rng.below(b.len() + 1);
                b.splice(i..i, s.iter().copied());
            }
        }
    }
    b
}

#[test]
fn mutated_descriptors_never_panic() {
    // hidreport panics on a few malformed inputs; parse() turns them into errors. Silence the
    // default hook's message for the caught ones so the log stays readable; a panic that escapes
    // still fails this test.
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut parsed = 0usize;
    let mut refused = 0usize;
    for (_, base) in descriptors() {
        for _ in 0..1000 {
            let m = mutate(&mut rng, &base);
            match descriptor::parse(&m) {
                Ok(layout) => {
                    parsed += 1;
                    // And the machine over a mutated layout takes garbage too.
                    let mut h = Headset::new(layout, Switches::default());
                    let t0 = Instant::now();
                    for k in 0..8u64 {
                        let len = rng.below(12);
                        let r: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                        let _ = h.handle_input(t0 + Duration::from_millis(k * 30), &r);
                    }
                    let _ = h.apply(
                        t0,
                        CallIndication {
                            phase: CallPhase::Active,
                            muted: true,
                        },
                    );
                }
                Err(_) => refused += 1,
            }
        }
    }
    let _ = std::panic::take_hook();
    // Both paths were exercised.
    assert!(parsed > 500, "parsed {parsed}");
    assert!(refused > 50, "refused {refused}");
}

#[test]
fn garbage_reports_never_panic_on_real_layouts() {
    let mut rng = Rng(0xC0FFEE);
    for (name, bytes) in descriptors() {
        let layout = descriptor::parse(&bytes).expect(&name);
        let mut h = Headset::new(layout, Switches::default());
        let t0 = Instant::now();
        let phases = [
            CallPhase::Idle,
            CallPhase::Ringing,
            CallPhase::Dialing,
            CallPhase::Active,
            CallPhase::Held,
        ];
        for k in 0..3000u64 {
            let len = rng.below(70);
            let mut r: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if !r.is_empty() && rng.below(2) == 0 {
                r[0] = [1u8, 2, 3, 5, 7, 8, 9][rng.below(7)];
            }
            let now = t0 + Duration::from_millis(k * 7);
            let _ = h.handle_input(now, &r);
            if k % 50 == 0 {
                let _ = h.apply(
                    now,
                    CallIndication {
                        phase: phases[rng.below(phases.len())],
                        muted: rng.below(2) == 0,
                    },
                );
            }
        }
    }
}

/// Found by the `hid_headset` fuzz target in its first second: Usages before any Usage Page
/// made hidreport panic ("Missing UsagePage in globals"). The panic was caught, but the fuzzer
/// (and any build with panic = abort) dies on it; the precheck now refuses such a descriptor
/// by name before the parser sees it.
#[test]
fn a_usage_without_a_usage_page_is_refused_before_the_parser_sees_it() {
    // Logical 0..1, Usage 0xE9, Usage 0xEA, Report Size 1, Count 2, Input: no Usage Page.
    let bare = [
        0x15, 0x00, 0x25, 0x01, 0x09, 0xe9, 0x09, 0xea, 0x75, 0x01, 0x95, 0x02, 0x81, 0x42,
    ];
    // The precheck's own words, not "the descriptor parser gave up on it" (its caught panic).
    let e = descriptor::parse(&bare).expect_err("no Usage Page");
    assert!(e.to_string().contains("has no Usage Page"), "{e}");
    // The same with Usage Page (Consumer) first is a valid descriptor.
    let mut paged = vec![0x05, 0x0c];
    paged.extend_from_slice(&bare);
    assert!(descriptor::parse(&paged).is_ok());
}

/// Found by the `hid_headset` fuzz target: a 32-bit Usage Minimum..Maximum made hidreport
/// expand one entry per usage (gigabytes). Ranges beyond Linux's HID_MAX_USAGES are refused.
#[test]
fn a_usage_range_beyond_what_hid_allows_is_refused() {
    // Usage Page (Consumer), Usage Minimum 0, Usage Maximum 0xFFFFFFFF (4-byte form), Logical
    // 0..1, Report Size 1, Count 1, Input.
    let huge = [
        0x05, 0x0c, 0x19, 0x00, 0x2b, 0xff, 0xff, 0xff, 0xff, 0x15, 0x00, 0x25, 0x01, 0x75, 0x01,
        0x95, 0x01, 0x81, 0x02,
    ];
    let e = descriptor::parse(&huge).expect_err("a 4-billion usage range");
    assert!(e.to_string().contains("more than HID allows"), "{e}");
    // A keyboard-sized range (0..=0xE7) is fine.
    let keys = [
        0x05, 0x0c, 0x19, 0x00, 0x29, 0xe7, 0x15, 0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x01, 0x81,
        0x02,
    ];
    assert!(descriptor::parse(&keys).is_ok());
}
