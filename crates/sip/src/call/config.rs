//! One account's call settings.

use std::net::SocketAddr;

use crate::auth::Credentials;
use crate::transaction::{Peer, TimerConfig, TransportKind};

/// One account's call settings.
#[derive(Debug, Clone)]
pub struct CallConfig {
    /// Our address of record, for From (e.g. `sip:alice@example.com`).
    pub aor: String,
    /// Display name for From, if any.
    pub display_name: Option<String>,
    /// Our local address, for Via and the default Contact.
    pub local: SocketAddr,
    /// Transport of our Via.
    pub transport: TransportKind,
    /// The Contact URI to advertise (e.g. the public address learned by registration);
    /// `None` builds one from `aor`'s user and `local`.
    pub contact: Option<String>,
    /// Digest credentials for 401/407 on INVITE and in-dialog requests.
    pub credentials: Option<Credentials>,
    /// Where every request goes when set (outbound proxy / the registrar's flow).
    pub outbound_proxy: Option<Peer>,
    /// A preloaded Route for out-of-dialog requests (e.g. `<sip:proxy.example.com;lr>`).
    pub route: Option<String>,
    /// Ring a second incoming call as a waiting call (true) or answer it `486` (false).
    pub call_waiting: bool,
    /// How many redirections (3xx) one call may follow.
    pub max_redirects: usize,
    /// RFC 3261 timers (must match the transaction layer's).
    pub timers: TimerConfig,
    /// `User-Agent` value.
    pub user_agent: String,
}

impl CallConfig {
    /// Settings with the defaults: call waiting on, up to 5 redirections, default timers.
    pub fn new(aor: &str, local: SocketAddr, transport: TransportKind) -> Self {
        Self {
            aor: aor.to_owned(),
            display_name: None,
            local,
            transport,
            contact: None,
            credentials: None,
            outbound_proxy: None,
            route: None,
            call_waiting: true,
            max_redirects: 5,
            timers: TimerConfig::default(),
            user_agent: "Homeline".into(),
        }
    }
}
