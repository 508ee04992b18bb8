//! Arbitrary bytes into `homeline-nat`'s TURN session (as UDP datagrams and as a TCP/TLS
//! byte stream, after a real allocation) and into a STUN binding: nothing may panic.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_nat::{RelayTransport, StunBinding, TurnConfig, TurnSession};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let server: SocketAddr = "198.51.100.1:3478".parse().expect("literal");
    let local: SocketAddr = "10.0.0.2:40000".parse().expect("literal");
    let now = Instant::now();
    for transport in [RelayTransport::Udp, RelayTransport::Tcp] {
        let cfg = TurnConfig::new(server, local, transport, "u", "p");
        let Ok(mut s) = TurnSession::new(cfg, now) else {
            return;
        };
        while s.poll_transmit().is_some() {}
        // Split the input at a 0xff byte into several messages/stream pieces.
        for piece in data.split(|b| *b == 0xff) {
            if transport == RelayTransport::Udp {
                s.handle_datagram(now, server, piece);
            } else {
                s.handle_stream_bytes(now, piece);
            }
            while s.poll_event().is_some() {}
            while s.poll_transmit().is_some() {}
        }
        s.handle_timeout(now + Duration::from_secs(1));
    }
    if let Ok(mut b) = StunBinding::new(server, local, now, Duration::from_millis(500)) {
        let _ = b.handle_datagram(now, server, data);
        let _ = b.result();
    }
});
