//! ICE (RFC 8445) as a sans-IO layer over webrtc-rs's `rtc-ice` agent.
//!
//! One component (RTP and RTCP multiplexed, RFC 5761), full agent, controlling or controlled
//! as offer/answer decides ([`homeline_media::sdp::PeerIce`]). The caller gathers (host
//! sockets, STUN, TURN allocations: that is the runtime's job) and hands each local candidate
//! over with the socket or allocation it belongs to ([`LocalCandidate`]); for a relayed
//! candidate it also says how the TURN server is reached ([`RelayTransport`]), which becomes
//! the route kind of the selected pair (`relay-udp`, `relay-tcp`, `relay-tls`).
//!
//! What the agent does: connectivity checks, nomination by the controlling side, the
//! role-conflict repair with tie-breakers, consent freshness on the selected pair (RFC 7675:
//! no answer for 30 s → [`IceEvent::ConsentLost`]), ICE restart with new credentials
//! ([`IceAgent::restart`]). [`demux`] sorts a media socket's datagrams (RFC 7983).
//!
//! # Run loop
//!
//! ```text
//! let mut ice = IceAgent::new(now, IceConfig { controlling, ..Default::default() })?;
//! for c in gathered { ice.add_local_candidate(c)?; }        // host, srflx, relay
//! local_media.set_ice(ice.local_description());             // → SDP offer/answer
//! // … the peer's description arrives (NegotiatedSession::ice is PeerIce::Ice{remote, controlling})
//! ice.set_remote(now, &remote, controlling)?;
//! loop {
//!     // 1. feed one input, with the current time
//!     on datagram(socket, from, bytes) => match ice.handle_receive(now, socket, from, &bytes) {
//!         Received::Media => media.handle_datagram(now, from, &bytes),
//!         Received::Ice | Received::Ignored(_) => {}
//!     },
//!     on timer => ice.handle_timeout(now),
//!     // 2. drain everything, in any order, until empty
//!     while let Some(t) = ice.poll_transmit() { send(t.socket, t.destination, &t.payload) }
//!     while let Some(e) = ice.poll_event() { match e {
//!         IceEvent::Selected(p) => media.send_to(p.socket, p.destination), // route: p.route
//!         IceEvent::ConsentLost => { stop media; offer an ICE restart }
//!         IceEvent::Failed => { fall back to the SDP's default address }
//!         _ => {}
//!     }}
//!     // 3. sleep until the next deadline (or the next datagram)
//!     sleep_until(ice.poll_timeout());
//! }
//! ```
//!
//! Media is sent by the caller on the selected pair (not through the agent): from
//! `p.socket` to `p.destination`, wrapped for TURN when `p.socket` is an allocation.

pub mod agent;
pub mod demux;

pub use agent::{
    IceAgent, IceConfig, IceError, IceEvent, IceState, LocalCandidate, LocalKind, Received,
    RelayTransport, RouteKind, SelectedPair, SocketId, Transmit,
};
pub use demux::{PacketKind, classify, is_stun};
