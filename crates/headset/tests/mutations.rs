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
