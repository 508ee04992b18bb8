//! The server-reflexive address of a UDP socket (STUN Binding, bounded in time).
//!
//! Runs on the socket the media will use, so the address is the public face of that very
//! port. Several servers are asked in parallel; the first answer wins, and a dead server costs
//! at most `limit`. Datagrams that are not the binding's response are dropped here (the
//! socket carries no media yet while gathering).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_nat::{BindingResult, StunBinding};
use tokio::net::UdpSocket;

/// Asks each server in `servers` over `sock`; returns the first mapped address and the
/// server that gave it, or `None` when none answered within `limit`.
pub async fn srflx(
    sock: &UdpSocket,
    servers: &[SocketAddr],
    limit: Duration,
) -> Option<(SocketAddr, BindingResult)> {
    let local = sock.local_addr().ok()?;
    let now = Instant::now();
    let mut bindings: Vec<StunBinding> = servers
        .iter()
        .filter(|s| s.is_ipv4() == local.is_ipv4())
        .filter_map(|s| StunBinding::new(*s, local, now, limit).ok())
        .collect();
    if bindings.is_empty() {
        return None;
    }
    let mut buf = vec![0u8; 1500];
    loop {
        for b in bindings.iter_mut() {
            while let Some(t) = b.poll_transmit() {
                let _ = sock.send_to(&t.payload, t.destination).await;
            }
            if let Some(Ok(r)) = b.result() {
                return Some((b.server(), *r));
            }
        }
        let wake = bindings.iter_mut().filter_map(|b| b.poll_timeout()).min()?;
        tokio::select! {
            r = sock.recv_from(&mut buf) => if let Ok((n, from)) = r {
                let now = Instant::now();
                for b in bindings.iter_mut() {
                    if b.handle_datagram(now, from, &buf[..n]) {
                        break;
                    }
                }
            },
            _ = tokio::time::sleep_until(wake.into()) => {
                let now = Instant::now();
                for b in bindings.iter_mut() {
                    b.handle_timeout(now);
                }
            }
        }
    }
}

/// Asks every server in `servers` over `sock` in parallel and collects the mapped addresses
/// (one per server that answered) until `wanted` have answered, every server has answered or
/// failed, `limit` has passed, or `grace` has passed since the first answer, whichever is
/// first. Two answers are what tells a symmetric NAT from a cone (`homeline_nat::route`); a
/// dead server costs at most `limit`, or only `grace` once another server has answered.
pub async fn srflx_all(
    sock: &UdpSocket,
    servers: &[SocketAddr],
    wanted: usize,
    limit: Duration,
    grace: Duration,
) -> Vec<SocketAddr> {
    let Ok(local) = sock.local_addr() else {
        return Vec::new();
    };
    let now = Instant::now();
    let mut bindings: Vec<StunBinding> = servers
        .iter()
        .filter(|s| s.is_ipv4() == local.is_ipv4())
        .filter_map(|s| StunBinding::new(*s, local, now, limit).ok())
        .collect();
    let mut found: Vec<Option<SocketAddr>> = vec![None; bindings.len()];
    let mut buf = vec![0u8; 1500];
    let mut grace_until: Option<Instant> = None;
    loop {
        for b in bindings.iter_mut() {
            while let Some(t) = b.poll_transmit() {
                let _ = sock.send_to(&t.payload, t.destination).await;
            }
        }
        for (i, b) in bindings.iter().enumerate() {
            if let Some(Ok(r)) = b.result() {
                found[i] = Some(r.mapped);
            }
        }
        let answered = found.iter().flatten().count();
        let finished = bindings.iter().all(|b| b.result().is_some());
        if answered > 0 && grace_until.is_none() {
            grace_until = Some(Instant::now() + grace);
        }
        let graced = grace_until.is_some_and(|t| t <= Instant::now());
        if answered >= wanted || finished || graced {
            return found.into_iter().flatten().collect();
        }
        let Some(wake) = bindings
            .iter_mut()
            .filter_map(|b| b.poll_timeout())
            .chain(grace_until)
            .min()
        else {
            return found.into_iter().flatten().collect();
        };
        tokio::select! {
            r = sock.recv_from(&mut buf) => if let Ok((n, from)) = r {
                let now = Instant::now();
                for b in bindings.iter_mut() {
                    if b.handle_datagram(now, from, &buf[..n]) {
                        break;
                    }
                }
            },
            _ = tokio::time::sleep_until(wake.into()) => {
                let now = Instant::now();
                for b in bindings.iter_mut() {
                    b.handle_timeout(now);
                }
            }
        }
    }
}
