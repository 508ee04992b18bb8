//! The way a call's RTP leaves and arrives: the call's own UDP socket, or a TURN relay
//! ([`RelayLink`]) when gathering chose one (`homeline_nat::route`). The media stream sends
//! and receives through a [`MediaPath`] without caring which.
//!
//! Through a relay, packets are sent to the peer's address via the relay (a permission for
//! the peer's IP is installed first: TURN permissions are per IP, RFC 8656 §9), and what the
//! relay forwards arrives with the peer's address as its source, so symmetric RTP (latching)
//! works the same on both paths.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use tokio::net::UdpSocket;

use crate::nat::link::RelayLink;

/// See the module docs.
#[derive(Debug)]
pub enum MediaPath {
    /// Plain UDP from the call's socket.
    Udp(UdpSocket),
    /// Through a TURN allocation.
    Relay(RelayPath),
}

/// A relay path: the link and the peers' IPs it has permissions for.
#[derive(Debug)]
pub struct RelayPath {
    link: RelayLink,
    permitted: HashSet<IpAddr>,
    /// The link ended for good (a lost relay is re-opened by the link itself; this is one
    /// that refused our credentials on re-opening); receiving waits forever, the RTP timeout
    /// ends the call.
    dead: bool,
}

impl MediaPath {
    /// A path through `link`, with permissions for `peers` at once.
    pub fn relay(link: RelayLink, peers: impl IntoIterator<Item = SocketAddr>) -> Self {
        let mut p = RelayPath {
            link,
            permitted: HashSet::new(),
            dead: false,
        };
        for peer in peers {
            p.permit(peer);
        }
        Self::Relay(p)
    }

    /// Whether this path goes through a relay.
    pub fn is_relay(&self) -> bool {
        matches!(self, Self::Relay(_))
    }

    /// Makes sure `peer` may send to us and receive from us (a no-op on plain UDP).
    pub fn permit(&mut self, peer: SocketAddr) {
        if let Self::Relay(p) = self {
            p.permit(peer);
        }
    }

    /// The new relayed address, once, after the relay was lost and re-opened (see
    /// [`RelayLink::moved`]); `None` on plain UDP.
    pub fn relay_moved(&mut self) -> Option<SocketAddr> {
        match self {
            Self::Udp(_) => None,
            Self::Relay(p) => p.link.moved(),
        }
    }

    /// The next datagram and its source. Cancel-safe (used in `select!`).
    pub async fn recv(&mut self, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
        match self {
            Self::Udp(sock) => sock.recv_from(buf).await,
            Self::Relay(p) => {
                if p.dead {
                    return std::future::pending().await;
                }
                match p.link.recv().await {
                    Some((from, data)) => {
                        let n = data.len().min(buf.len());
                        buf[..n].copy_from_slice(&data[..n]);
                        Ok((n, from))
                    }
                    None => {
                        p.dead = true;
                        tracing::warn!("the relay carrying the call's audio went away");
                        Err(std::io::Error::other("the relay link ended"))
                    }
                }
            }
        }
    }

    /// Sends one datagram to `to` without waiting (media tolerates loss, it must not block).
    pub fn send_to(&mut self, data: &[u8], to: SocketAddr) -> std::io::Result<()> {
        match self {
            Self::Udp(sock) => sock.try_send_to(data, to).map(|_| ()),
            Self::Relay(p) => {
                // The peer moved (latching) or the answer named another address.
                p.permit(to);
                p.link.send_to(to, data);
                Ok(())
            }
        }
    }
}

impl RelayPath {
    fn permit(&mut self, peer: SocketAddr) {
        if self.permitted.insert(peer.ip()) {
            self.link.permit(peer);
        }
    }
}
