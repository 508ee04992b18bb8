//! The driver's clock, injectable so tests can run on tokio's paused time or their own.

use std::fmt::Debug;
use std::time::Instant;

/// Where the drivers get `now` from (DESIGN.md convention 2: time is injected, never read
/// inside the sans-IO cores).
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// tokio's clock: real time in production, paused and advanced by hand under
/// `#[tokio::test(start_paused = true)]`, and always consistent with `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}
