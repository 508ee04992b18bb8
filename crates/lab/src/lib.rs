//! # homeline-lab — the network lab
//!
//! Test support for Homeline: each test builds its own small network out of
//! Linux network namespaces, with a home router doing NAT (nftables) and a
//! public host running real servers (kamailio, coturn). Traffic never leaves
//! the machine: the "public" addresses are TEST-NET-3 addresses that exist
//! only inside the lab's namespaces.
//!
//! ```text
//!   client ns               router ns                        public ns
//!  ┌────────────┐  veth   ┌──────────────────────┐  veth   ┌──────────────────────┐
//!  │ eth0       ├─────────┤ lan0         wan0    ├─────────┤ eth0                 │
//!  │ 10.23.0.2  │         │ 10.23.0.1    203.0.113.1       │ 203.0.113.10  (1st)  │
//!  │ default via│         │  nft: NAT + profile  │         │ 203.0.113.11  (2nd)  │
//!  │ 10.23.0.1  │         │  conntrack timeouts  │         │ kamailio, coturn     │
//!  └────────────┘         └──────────────────────┘         └──────────────────────┘
//!        private LAN            masquerade → 203.0.113.1          "internet"
//! ```
//!
//! The public host has no route back to the LAN: everything from the client
//! reaches it with the router's public address as source, exactly as behind a
//! home router. The [`RouterProfile`] chooses how the router behaves: `Cone`,
//! `Symmetric`, `UdpBlocked`, `SipPortBlocked`, `SipAlg`, `ShortTimeout`.
//!
//! ## Using it in a test
//!
//! The lab needs root (CI is root). [`Lab::start_or_skip`] prints
//! `skipped: needs root` (or the missing kernel feature) and gives `None`, so
//! the same test passes, saying so, under a normal user.
//!
//! ```no_run
//! use std::time::Duration;
//! use homeline_lab::{CoturnConfig, KamailioConfig, Lab, RouterProfile};
//!
//! # fn main() -> Result<(), homeline_lab::LabError> {
//! let Some(lab) = Lab::start_or_skip(RouterProfile::Cone)? else { return Ok(()) };
//!
//! // Real servers on the public host; each call waits until it answers.
//! let kamailio = lab.start_kamailio(KamailioConfig::new().user("alice", "secret").tls(5061))?;
//! let coturn = lab.start_coturn(CoturnConfig::new().user("alice", "secret"))?;
//! println!("registrar {} turn {} and {}", kamailio.sip_addr(), coturn.addr(), coturn.addr2());
//!
//! // A socket that lives in the client namespace, usable from any thread.
//! let sock = lab.client().udp_socket("0.0.0.0:0".parse().unwrap())?;
//! let status = homeline_lab::probe::sip_options(&sock, kamailio.sip_addr(), Duration::from_secs(2));
//!
//! // Or run any program inside a namespace: the CLI under test, sipp, ...
//! let out = lab.client().command("homeline").args(["register"]).output();
//!
//! // Code that must run in the namespace (e.g. a whole tokio runtime):
//! let n = lab.client().run(|| std::net::UdpSocket::bind("0.0.0.0:0").map(|_| 1))?;
//! # let _ = (status, out, n);
//! # Ok(()) }
//! // Dropping `lab` stops the servers and deletes the namespaces.
//! ```
//!
//! ## Names, cleanup, output
//!
//! A lab is named `hlab-<pid>-<n>` (an atomic counter) and its namespaces
//! `hlab-<pid>-<n>-c|r|p`; the veth ends are created inside the namespaces,
//! so their short fixed names (`eth0`, `lan0`, `wan0`) never collide and labs
//! run concurrently. Dropping a [`Lab`] (also during a panic) kills every
//! process started in it and every process still inside its namespaces,
//! then deletes the namespaces. Labs left by a killed test run (their pid is
//! gone) are removed by [`sweep_stale_labs`], run once per process when the
//! first lab is built.
//!
//! Programs run with [`Host::command`] resolve `homeline.test` (and
//! `sip.`/`turn.homeline.test`) to the public host's first address through
//! `/etc/netns/<ns>/hosts`, which `ip netns exec` mounts over `/etc/hosts`;
//! the server certificate is valid for that name and both public addresses.
//!
//! Configs and server logs are kept in `$HOMELINE_TEST_OUT/<test>-<profile>/`
//! (else `$CARGO_TARGET_DIR/lab-out/…`, else `target/lab-out/…`); the path
//! is printed when a test panics with a lab alive.
//!
//! ## What the profiles do (router ns)
//!
//! | profile          | nftables / sysctl                                                   |
//! |------------------|---------------------------------------------------------------------|
//! | `Cone`           | `masquerade` (source port kept: same mapping for all destinations)  |
//! | `Symmetric`      | `masquerade fully-random` (new random port per flow/destination)    |
//! | `UdpBlocked`     | forward policy drop; only new TCP to 80/443 and established pass    |
//! | `SipPortBlocked` | drop UDP and TCP with source or destination port 5060               |
//! | `SipAlg`         | `ct helper` type "sip" (UDP and TCP) set for traffic to port 5060   |
//! | `ShortTimeout`   | `nf_conntrack_udp_timeout` and `_stream` = 30 s (per-netns sysctls) |
//!
//! Other profiles use UDP timeouts of 60 s (unreplied) and 180 s (stream).
//! The SIP helper is built into this kernel (`CONFIG_NF_CONNTRACK_SIP=y`);
//! where it is a module the lab tries `modprobe nf_conntrack_sip nf_nat_sip`
//! and otherwise fails with [`LabError::Unsupported`] naming what is missing
//! (and [`Lab::start_or_skip`] skips with that reason).
//!
//! ## The servers
//!
//! **kamailio** ([`Lab::start_kamailio`], Debian's 5.6): a generated
//! `kamailio.cfg` with no database. Passwords are written into the script,
//! in a `route[CREDENTIALS]` that sets `$var(pw)` from the auth user `$au`;
//! the `auth` module's `pv_auth_check` verifies the digest (401 for
//! REGISTER, 407 for calls when [`KamailioConfig::auth_calls`] is on). The
//! registrar (`usrloc` in memory) and proxy follow kamailio's default
//! script for NAT: `force_rport`, `fix_nated_register` (the registrar keeps
//! the `received` address, so `lookup` + `t_relay` reach the client through
//! its NAT binding, over UDP or on its TCP/TLS connection),
//! `set_contact_alias`/`handle_ruri_alias` and record-routing for dialogs.
//! Requests for other hosts are relayed (so a client can call a sipp UAS on
//! the public host through it). The server never pings clients
//! (`natping_interval=0`): keeping a binding open is the client's job, which
//! keep-alive tests rely on. UDP+TCP on each configured port (default 5060;
//! 6060, 8080 … via [`KamailioConfig::ports`]), TLS optional. It runs in the
//! foreground (`-DD -E`), logging to `kamailio/kamailio.log`, and
//! `start_kamailio` returns once it answers OPTIONS on every port and
//! accepts TCP/TLS connections. [`Kamailio::restart`] is a real restart.
//!
//! **coturn** ([`Lab::start_coturn`]): `turnserver -n --no-cli` listening and
//! relaying on both public addresses (RFC 5780: OTHER-ADDRESS of
//! [`Coturn::addr`] is the second address on the alternate port), long-term
//! credentials, UDP and TCP, TLS/DTLS optional, log in
//! `coturn/turnserver.log`; returns once both addresses answer a STUN
//! Binding request.
//!
//! With [`KamailioConfig::websocket`] / [`KamailioConfig::websocket_tls`]
//! it also serves SIP over WebSocket (RFC 7118, subprotocol `sip`;
//! `websocket` + `xhttp` modules, `ws_handle_handshake()` in
//! `event_route[xhttp:request]`), treating WebSocket clients as NATed so
//! that calls reach them on their connection.
//!
//! TLS uses a per-lab CA and server certificate made with `openssl`
//! ([`Lab::tls_files`]; trust [`TlsFiles::ca`]).
//!
//! ## Far ends and measuring tools
//!
//! **baresip** ([`Lab::start_baresip`], Debian's 1.0.0) is a real phone on
//! the public host (or the client): it plays a WAV file, a tone, or echoes;
//! records what it receives; answers automatically or on command; dials and
//! hangs up through `ctrl_tcp`, and reports call events that tests wait on.
//!
//! ```no_run
//! use std::time::Duration;
//! use homeline_lab::signal::{Audio, compare};
//! use homeline_lab::{BaresipConfig, Lab, RouterProfile};
//!
//! # fn main() -> Result<(), homeline_lab::LabError> {
//! # let Some(lab) = Lab::start_or_skip(RouterProfile::Cone)? else { return Ok(()) };
//! let far = lab.start_baresip(BaresipConfig::new("bob").codecs(&["PCMU/8000/1"]).echo())?;
//! // … the phone under test calls far.uri() from the public host, plays
//! // a test signal and records the echo, then hangs up …
//! far.wait_established(Duration::from_secs(10))?;
//! far.wait_closed(Duration::from_secs(30))?;
//! let heard = Audio::read_wav(&far.wait_recording(Duration::from_secs(5))?)?;
//! # let _ = heard;
//! # Ok(()) }
//! ```
//!
//! **sipp** ([`Lab::start_sipp`], [`Lab::start_sipp_uas_echo`]): any
//! scenario in the background, traces in the output folder; the built-in
//! UAS with `-rtp_echo` returns every RTP packet to its sender.
//!
//! **[`signal`]**: a deterministic speech-like test signal, WAV files, and
//! [`signal::compare`] (delay, correlation, SNR, level, dropouts), robust
//! to G.711/Opus and to 8/48 kHz; [`signal::compare_utterances`] for audio
//! whose delay moves in the pauses (an adaptive jitter buffer). **[`pesq`]**: ITU-T P.862 scores when
//! `scripts/install-deps.sh test` has installed the `pesq` venv.

mod baresip;
mod coturn;
mod error;
mod host;
pub mod impair;
mod kamailio;
mod kamailio_presence;
mod lab;
pub mod pesq;
pub mod probe;
mod router;
pub mod signal;
mod sipp;
mod tls;

use std::net::Ipv4Addr;

pub use baresip::{
    AnswerMode, AudioSource, Baresip, BaresipConfig, BaresipEvent, Registration, Srtp,
};
pub use coturn::{Coturn, CoturnConfig};
pub use error::{LabError, Result};
pub use host::{Host, LabProcess, Role};
pub use kamailio::{Kamailio, KamailioConfig};
pub use lab::{
    Lab, LabBuilder, have_program, is_root, out_root, skip_unless_installed, skip_unless_root,
    sweep_stale_labs,
};
pub use router::{NORMAL_UDP_STREAM_TIMEOUT, NORMAL_UDP_TIMEOUT, RouterProfile};
pub use sipp::{Scenario, Sipp, SippConfig};
pub use tls::{LAB_DOMAIN, TlsFiles};

/// Prefix of every namespace the lab creates.
pub const NS_PREFIX: &str = "hlab-";
/// The client's private address.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 23, 0, 2);
/// The router's LAN address.
pub const ROUTER_LAN_IP: Ipv4Addr = Ipv4Addr::new(10, 23, 0, 1);
/// The router's public (WAN) address.
pub const ROUTER_PUBLIC_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
/// The public host's first address.
pub const PUBLIC_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// The public host's second address.
pub const PUBLIC_IP_2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 11);

/// Interface names inside the namespaces.
pub(crate) const LAN_IF: &str = "lan0";
pub(crate) const WAN_IF: &str = "wan0";
/// The client's and the public host's interface.
pub(crate) const PUBLIC_IF: &str = "eth0";
