//! # homeline-diag — the connectivity test
//!
//! The decisions of Homeline's connectivity test, sans-IO: the runtime's probes (sockets,
//! clocks, deadlines) live in `homeline-phone`'s diagnostics driver and hand this crate what
//! they observed ([`probes`]); this crate turns each observation into a [`Check`] with a
//! status (`ok | warning | problem | skipped`), a plain-language `finding` and `fix`,
//! `details` for IT support and the [`SafeFix`]es Homeline may apply by itself; then into the
//! overall [`Verdict`] ([`verdict`]).
//!
//! ```text
//! driver: DNS, STUN, OPTIONS matrix, RFC 5780, relays, quality probe (each with a deadline)
//!    │ plain observations (probes::*)
//!    ▼
//! checks::{dns, udp, sip_ports, nat_type, sip_alg, nat_timeout, route, rtp, relays, audio},
//! quality::check                      → Check { id, status, finding, fix, details }
//!    ▼
//! Report::new(checks, duration)       → verdict + the JSON of `homeline diagnose --json`
//! ```
//!
//! Stable `details` keys: `nat_type` → `mapping`, `filtering` (`endpoint-independent`,
//! `address-dependent`, `address-and-port-dependent`, or null), `public`; `sip_alg` →
//! `detected`; `nat_timeout` → `binding_lifetime_s`, `recommended_keepalive_s`; `quality` →
//! `rtt_ms`, `jitter_ms`, `loss_pct`, `max_burst`, `reordered`, `mos`, `samples` (per packet:
//! `seq`, `sent_ms`, `rtt_ms` or null when lost).
#![forbid(unsafe_code)]

pub mod checks;
pub mod model;
pub mod probes;
pub mod quality;
pub mod quality_probe;
pub mod sip_probe;
pub mod verdict;

pub use model::{
    AppliedFix, Check, CheckId, Report, SafeFix, SipTransport, Status, Verdict, VerdictKind,
};
