//! Noticing network changes: which local address would the system use *now* to reach the
//! server, and is it still the one our flow uses?
//!
//! A laptop moves from Wi-Fi to Ethernet, a VPN comes up, DHCP hands out a new lease: the
//! flow to the registrar keeps its old local address, which may be gone or no longer routed.
//! The registrar's binding then points at a path that is dead, and incoming calls are lost
//! until the next refresh (up to 10 minutes). The driver asks a [`RouteProbe`] every
//! [`NET_POLL`] and, when the answer changes, reopens the flow and registers again at once.
//!
//! ## Why a route probe, polled
//! [`SystemRoutes`] asks the kernel's routing decision directly: it `connect()`s a UDP socket
//! to the server (no packet is sent) and reads the source address the kernel picked. That
//! one question covers both triggers of the issue — the flow's local address disappeared
//! (the kernel picks another one, or has no route) and a new default route appeared (a VPN
//! or a second interface now wins, so the source changes) — and ignores the changes that do
//! not matter to this server (an unrelated interface coming and going, IPv6 privacy
//! addresses of another family). It needs no crate, no `unsafe`, no privileges, and works
//! the same on Linux, macOS and Windows; polling every 2 s costs two syscalls. Address
//! lists (`getifaddrs`, `if-addrs`) would need a second rule for "which route wins";
//! netlink (`rtnetlink`) would be instant but Linux-only and another dependency. Not seen: a
//! new gateway behind the *same* local address (the keep-alive notices that one: a STUN
//! keep-alive sees the NAT's new mapping, a stream its dead connection).

use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

/// How often the driver asks the [`RouteProbe`].
pub const NET_POLL: Duration = Duration::from_secs(2);

/// Which local address the system would use to reach a server.
pub trait RouteProbe: Send + Sync + Debug {
    /// The source address for `server` now; `None` when there is no route (offline).
    fn source_for(&self, server: SocketAddr) -> Option<IpAddr>;
}

/// The operating system's routing decision (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRoutes;

impl RouteProbe for SystemRoutes {
    fn source_for(&self, server: SocketAddr) -> Option<IpAddr> {
        let any = match server {
            SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        };
        let sock = UdpSocket::bind(any).ok()?;
        // connect() on UDP only runs the route lookup and fixes the source; nothing is sent.
        sock.connect(server).ok()?;
        let ip = sock.local_addr().ok()?.ip();
        (!ip.is_unspecified()).then_some(ip)
    }
}

/// Whether `ip` is still one of this machine's addresses: binding to it only works then.
/// Lets a flow with calls on it live on when a new route appears (a VPN came up) while its
/// own address stays usable.
pub fn is_local_address(ip: IpAddr) -> bool {
    UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// What the driver does with successive probe answers for one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteChange {
    /// Nothing that matters changed.
    Same,
    /// No route right now: wait (a Wi-Fi blip must not tear a working flow down).
    Offline,
    /// The route to the server moved to another local address: reopen the flow and register
    /// again.
    Moved,
    /// The route came back through the same local address after being gone: the flow's
    /// socket is still good, but the NAT may have forgotten it and the registration may have
    /// lapsed meanwhile, so register again at once on the same flow. Keeping the socket (and
    /// the Contact) means a call the server is routing to us right then still arrives.
    Back,
}

/// Follows the probe's answers against the answer when the flow was opened. Comparing with
/// that baseline rather than with the flow's own local address keeps a flow whose socket
/// reports its address differently (a wildcard bind, a v4-mapped address) from being
/// reopened forever.
#[derive(Debug, Clone)]
pub struct RouteWatch {
    server: SocketAddr,
    baseline: Option<IpAddr>,
    went_offline: bool,
}

impl RouteWatch {
    /// Starts watching the route to `server`; `now` is the probe's answer as the flow opens.
    pub fn new(server: SocketAddr, now: Option<IpAddr>) -> Self {
        Self {
            server,
            baseline: now,
            went_offline: now.is_none(),
        }
    }

    /// The server watched.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Feeds the probe's latest answer.
    pub fn update(&mut self, now: Option<IpAddr>) -> RouteChange {
        match now {
            None => {
                self.went_offline = true;
                RouteChange::Offline
            }
            Some(ip) if Some(ip) != self.baseline => {
                self.baseline = Some(ip);
                self.went_offline = false;
                RouteChange::Moved
            }
            Some(_) if self.went_offline => {
                // The same address back after a gap in which packets (and the NAT's binding)
                // may have been lost.
                self.went_offline = false;
                RouteChange::Back
            }
            Some(_) => RouteChange::Same,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn loopback_is_reached_from_loopback() {
        let v4 = SystemRoutes.source_for("127.0.0.1:5060".parse().unwrap());
        assert_eq!(v4, ip("127.0.0.1"));
        let v6 = SystemRoutes.source_for("[::1]:5060".parse().unwrap());
        assert_eq!(v6, ip("::1"));
    }

    #[test]
    fn local_addresses_are_told_from_others() {
        assert!(is_local_address("127.0.0.1".parse().unwrap()));
        assert!(is_local_address("::1".parse().unwrap()));
        // TEST-NET-1 (RFC 5737) is nobody's address.
        assert!(!is_local_address("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn a_new_source_means_moved_and_a_return_after_a_gap_means_back() {
        let server = "192.0.2.7:5060".parse().unwrap();
        let mut w = RouteWatch::new(server, ip("10.0.0.2"));
        assert_eq!(w.update(ip("10.0.0.2")), RouteChange::Same);
        // A VPN comes up: its address now routes to the server.
        assert_eq!(w.update(ip("10.8.0.5")), RouteChange::Moved);
        assert_eq!(w.update(ip("10.8.0.5")), RouteChange::Same);
        // Offline for a while, then back with the same address: register again, same flow.
        assert_eq!(w.update(None), RouteChange::Offline);
        assert_eq!(w.update(None), RouteChange::Offline);
        assert_eq!(w.update(ip("10.8.0.5")), RouteChange::Back);
        assert_eq!(w.update(ip("10.8.0.5")), RouteChange::Same);
        // Offline, then back with another address: a move.
        assert_eq!(w.update(None), RouteChange::Offline);
        assert_eq!(w.update(ip("10.0.0.2")), RouteChange::Moved);
        // Opened while offline: the first route is a change.
        let mut w = RouteWatch::new(server, None);
        assert_eq!(w.update(ip("10.0.0.3")), RouteChange::Moved);
        assert_eq!(w.server(), server);
    }
}
