//! A tiny seeded generator (xorshift64*) for what must look random but be reproducible in
//! tests: branches, tags, Call-IDs, client nonces and back-off jitter. Not cryptographic:
//! the seed should come from the OS at start-up (the driver's job).

/// xorshift64* (Vigna 2016).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced, as xorshift would stay at 0).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A uniform value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// 16 hex digits, for tags, branches and nonces.
    pub fn token(&mut self) -> String {
        format!("{:016x}", self.next_u64())
    }
}
