//! The TURN session and the STUN binding on simulated time, against a scripted server that
//! answers with real STUN messages (built with rtc-stun/rtc-turn's codec). The scripted server
//! is a test double for this one layer; the same sessions meet a real coturn in `coturn.rs`.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns in a test file

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use homeline_nat::{
    BindingError, RelayTransport, StunBinding, TurnConfig, TurnError, TurnEvent, TurnSession,
    TurnState,
};
use rtc_turn::proto::chandata::ChannelData;
use rtc_turn::proto::data::Data;
use rtc_turn::proto::lifetime::Lifetime;
use rtc_turn::proto::peeraddr::PeerAddress;
use rtc_turn::proto::relayaddr::RelayedAddress;
use stun::error_code::{ErrorCode, ErrorCodeAttribute};
use stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter,
    METHOD_ALLOCATE, METHOD_BINDING, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION, METHOD_DATA,
    METHOD_REFRESH, METHOD_SEND, Message, MessageType, Setter,
};
use stun::textattrs::TextAttribute;
use stun::xoraddr::XorMappedAddress;

const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)), 3478);
const LOCAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 40000);
const MAPPED: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)), 61000);
const RELAYED: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)), 50000);
const PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77)), 7078);

fn decode(b: &[u8]) -> Message {
    let mut m = Message::new();
    m.raw = b.to_vec();
    m.decode().expect("client sent valid STUN");
    m
}

fn reply(
    req: &Message,
    class: stun::message::MessageClass,
    attrs: Vec<Box<dyn Setter>>,
) -> Vec<u8> {
    let mut setters: Vec<Box<dyn Setter>> = vec![
        Box::new(req.transaction_id),
        Box::new(MessageType::new(req.typ.method, class)),
    ];
    setters.extend(attrs);
    let mut m = Message::new();
    m.build(&setters).expect("test reply builds");
    m.raw
}

fn error(req: &Message, code: u16, with_nonce: bool) -> Vec<u8> {
    let mut a: Vec<Box<dyn Setter>> = vec![Box::new(ErrorCodeAttribute {
        code: ErrorCode(code),
        reason: b"test".to_vec(),
    })];
    if with_nonce {
        a.push(Box::new(TextAttribute::new(
            stun::attributes::ATTR_REALM,
            "homeline.test".into(),
        )));
        a.push(Box::new(TextAttribute::new(
            stun::attributes::ATTR_NONCE,
            format!("n{code}"),
        )));
    }
    reply(req, CLASS_ERROR_RESPONSE, a)
}

fn allocate_ok(req: &Message) -> Vec<u8> {
    reply(
        req,
        CLASS_SUCCESS_RESPONSE,
        vec![
            Box::new(RelayedAddress {
                ip: RELAYED.ip(),
                port: RELAYED.port(),
            }),
            Box::new(XorMappedAddress {
                ip: MAPPED.ip(),
                port: MAPPED.port(),
            }),
            Box::new(Lifetime(Duration::from_secs(600))),
        ],
    )
}

/// How the scripted server answers.
#[derive(Clone, Copy, PartialEq)]
enum Script {
    Good,
    WrongPassword,
    /// 438 to the first authenticated Allocate, then good.
    StaleOnce,
    Dead,
}

struct Server {
    script: Script,
    stale_sent: bool,
    allocates: usize,
    refreshes: usize,
    permissions: usize,
    channel_binds: usize,
    sends: Vec<Vec<u8>>,
    channel_data: Vec<Vec<u8>>,
    /// The next Refresh gets a 438 (then the client must resend at once).
    stale_refresh: bool,
    /// The server restarted: it knows no allocation, a Refresh gets 437.
    forgot: bool,
}

impl Server {
    fn new(script: Script) -> Self {
        Self {
            script,
            stale_sent: false,
            allocates: 0,
            refreshes: 0,
            permissions: 0,
            channel_binds: 0,
            sends: vec![],
            channel_data: vec![],
            stale_refresh: false,
            forgot: false,
        }
    }

    fn answer(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        if self.script == Script::Dead {
            return None;
        }
        if ChannelData::is_channel_data(payload) {
            self.channel_data.push(payload.to_vec());
            return None;
        }
        let req = decode(payload);
        let authed = req.contains(stun::attributes::ATTR_MESSAGE_INTEGRITY);
        match (req.typ.method, req.typ.class) {
            (m, c) if m == METHOD_ALLOCATE && c == CLASS_REQUEST => {
                self.allocates += 1;
                if !authed {
                    return Some(error(&req, 401, true));
                }
                match self.script {
                    Script::WrongPassword => Some(error(&req, 401, true)),
                    Script::StaleOnce if !self.stale_sent => {
                        self.stale_sent = true;
                        Some(error(&req, 438, true))
                    }
                    _ => Some(allocate_ok(&req)),
                }
            }
            (m, _) if m == METHOD_REFRESH => {
                self.refreshes += 1;
                if self.stale_refresh {
                    self.stale_refresh = false;
                    return Some(error(&req, 438, true));
                }
                if self.forgot {
                    return Some(error(&req, 437, false));
                }
                Some(reply(
                    &req,
                    CLASS_SUCCESS_RESPONSE,
                    vec![Box::new(Lifetime(Duration::from_secs(600)))],
                ))
            }
            (m, _) if m == METHOD_CREATE_PERMISSION => {
                self.permissions += 1;
                Some(reply(&req, CLASS_SUCCESS_RESPONSE, vec![]))
            }
            (m, _) if m == METHOD_CHANNEL_BIND => {
                self.channel_binds += 1;
                Some(reply(&req, CLASS_SUCCESS_RESPONSE, vec![]))
            }
            (m, c) if m == METHOD_SEND && c == CLASS_INDICATION => {
                let mut d = Data::default();
                d.get_from(&req).expect("send indication has DATA");
                self.sends.push(d.0);
                None
            }
            (m, _) if m == METHOD_BINDING => Some(reply(
                &req,
                CLASS_SUCCESS_RESPONSE,
                vec![Box::new(XorMappedAddress {
                    ip: MAPPED.ip(),
                    port: MAPPED.port(),
                })],
            )),
            _ => None,
        }
    }
}

/// Runs session and server on simulated time with a one-way delay, until `until`.
/// Returns the events in order.
fn run(
    s: &mut TurnSession,
    srv: &mut Server,
    now: &mut Instant,
    delay: Duration,
    until: Instant,
) -> Vec<TurnEvent> {
    let mut events = vec![];
    let mut inflight: Vec<(Instant, Vec<u8>)> = vec![];
    loop {
        while let Some(t) = s.poll_transmit() {
            assert_eq!(t.destination, SERVER);
            if let Some(r) = srv.answer(&t.payload) {
                inflight.push((*now + delay * 2, r));
            }
        }
        while let Some(e) = s.poll_event() {
            events.push(e);
        }
        let next_in = inflight.iter().map(|(t, _)| *t).min();
        let next = match (next_in, s.poll_timeout()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => return events,
            },
        };
        if next > until {
            return events;
        }
        *now = next.max(*now);
        if let Some(i) = inflight.iter().position(|(t, _)| *t <= *now) {
            let (_, bytes) = inflight.remove(i);
            if s.config().transport.is_stream() {
                // A stream delivers in arbitrary pieces: one byte at a time here.
                for b in bytes {
                    s.handle_stream_bytes(*now, &[b]);
                }
            } else {
                s.handle_datagram(*now, SERVER, &bytes);
            }
        } else {
            s.handle_timeout(*now);
        }
    }
}

fn session(transport: RelayTransport, now: Instant) -> TurnSession {
    TurnSession::new(
        TurnConfig::new(SERVER, LOCAL, transport, "alice", "secret"),
        now,
    )
    .unwrap()
}

#[test]
fn allocates_with_credentials_and_reports_mapped_address_and_rtt() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = session(RelayTransport::Udp, now);
    let mut srv = Server::new(Script::Good);
    let ev = run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(20),
        t0 + Duration::from_secs(1),
    );
    assert_eq!(
        ev,
        vec![TurnEvent::Allocated {
            relayed: RELAYED,
            mapped: Some(MAPPED),
            rtt: Duration::from_millis(40)
        }]
    );
    assert_eq!(
        srv.allocates, 2,
        "anonymous, then with the long-term credential"
    );
    assert_eq!(s.state(), TurnState::Allocated);
}

#[test]
fn wrong_password_is_a_plain_error_and_never_retried() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = session(RelayTransport::Udp, now);
    let mut srv = Server::new(Script::WrongPassword);
    let ev = run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(10),
        t0 + Duration::from_secs(120),
    );
    assert_eq!(ev, vec![TurnEvent::Failed(TurnError::WrongCredentials)]);
    assert_eq!(
        srv.allocates, 2,
        "no retry with a password the server refused"
    );
    assert_eq!(
        TurnError::WrongCredentials.to_string(),
        "the relay refused the user name or password"
    );
    assert!(
        s.poll_timeout().is_none(),
        "a failed session schedules nothing"
    );
}

#[test]
fn dead_server_times_out_at_the_deadline() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut cfg = TurnConfig::new(SERVER, LOCAL, RelayTransport::Udp, "alice", "secret");
    cfg.allocate_timeout = Duration::from_millis(500);
    let mut s = TurnSession::new(cfg, now).unwrap();
    let mut srv = Server::new(Script::Dead);
    let ev = run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(10),
        t0 + Duration::from_secs(60),
    );
    assert_eq!(ev, vec![TurnEvent::Failed(TurnError::Timeout(500))]);
    assert_eq!(now, t0 + Duration::from_millis(500));
}

#[test]
fn stale_nonce_on_allocate_is_retried_once() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = session(RelayTransport::Udp, now);
    let mut srv = Server::new(Script::StaleOnce);
    let ev = run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(10),
        t0 + Duration::from_secs(1),
    );
    assert!(
        matches!(
            ev.as_slice(),
            [TurnEvent::Allocated {
                relayed: RELAYED,
                ..
            }]
        ),
        "{ev:?}"
    );
    assert_eq!(srv.allocates, 4);
}

#[test]
fn refresh_keeps_the_allocation_and_a_stale_nonce_is_answered_at_once() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = session(RelayTransport::Udp, now);
    let mut srv = Server::new(Script::Good);
    run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(10),
        t0 + Duration::from_secs(1),
    );
    // The refresh cap is 120 s: by 130 s one Refresh went out.
    run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(10),
        t0 + Duration::from_secs(130),
    );
    assert_eq!(srv.refreshes, 1);
    srv.stale_refresh = true;
    let at = now;
    run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(10),
        t0 + Duration::from_secs(250),
    );
    assert_eq!(
        srv.refreshes, 3,
        "438, then the same refresh again with the new nonce"
    );
    assert!(
        now - at < Duration::from_secs(121),
        "not left to the next timer"
    );
    assert_eq!(s.state(), TurnState::Allocated);
}

/// `check` asks at once: a healthy relay confirms (the session stays allocated), a restarted
/// one refuses with 437 and the session fails with `AllocationLost`, which the link answers by
/// allocating again. Before an allocation it does nothing.
#[test]
fn check_asks_the_relay_at_once_and_a_restarted_relay_is_noticed() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = session(RelayTransport::Udp, now);
    s.check(now);
    assert!(s.poll_transmit().is_some(), "the Allocate goes out");
    assert!(
        s.poll_transmit().is_none(),
        "no Refresh before an allocation"
    );
    let mut s = session(RelayTransport::Udp, now);
    let mut srv = Server::new(Script::Good);
    let delay = Duration::from_millis(10);
    run(
        &mut s,
        &mut srv,
        &mut now,
        delay,
        t0 + Duration::from_secs(1),
    );
    assert_eq!(s.state(), TurnState::Allocated);
    s.check(now);
    let until = now + Duration::from_millis(100);
    run(&mut s, &mut srv, &mut now, delay, until);
    assert_eq!(srv.refreshes, 1, "one Refresh, at once");
    assert_eq!(s.state(), TurnState::Allocated);
    srv.forgot = true;
    s.check(now);
    let until = now + Duration::from_millis(100);
    let events = run(&mut s, &mut srv, &mut now, delay, until);
    assert_eq!(s.state(), TurnState::Failed);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TurnEvent::Failed(TurnError::AllocationLost(437)))),
        "{events:?}"
    );
}

#[test]
fn permission_send_and_receive_through_the_relay() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = session(RelayTransport::Udp, now);
    let mut srv = Server::new(Script::Good);
    run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(10),
        t0 + Duration::from_secs(1),
    );
    assert_eq!(s.send_to(now, PEER, b"too early"), Err(TurnError::NotReady));
    s.create_permission(now, PEER);
    let until = now + Duration::from_secs(1);
    let ev = run(&mut s, &mut srv, &mut now, Duration::from_millis(10), until);
    assert_eq!(ev, vec![TurnEvent::PermissionCreated(PEER)]);
    // The first packet goes as a Send indication (and starts the ChannelBind)...
    s.send_to(now, PEER, b"rtp-1").unwrap();
    let until = now + Duration::from_secs(1);
    run(&mut s, &mut srv, &mut now, Duration::from_millis(10), until);
    assert_eq!(srv.sends, vec![b"rtp-1".to_vec()]);
    assert_eq!(srv.channel_binds, 1);
    // ...later ones as ChannelData.
    s.send_to(now, PEER, b"rtp-2").unwrap();
    let until = now + Duration::from_millis(1);
    run(&mut s, &mut srv, &mut now, Duration::from_millis(10), until);
    assert_eq!(srv.channel_data.len(), 1);
    assert_eq!(&srv.channel_data[0][4..9], b"rtp-2");
    // A Data indication from the relay comes out as Data from the peer.
    let mut m = Message::new();
    m.build(&[
        Box::new(stun::message::TransactionId::new()),
        Box::new(MessageType::new(METHOD_DATA, CLASS_INDICATION)),
        Box::new(PeerAddress {
            ip: PEER.ip(),
            port: PEER.port(),
        }),
        Box::new(Data(b"from-peer".to_vec())),
    ])
    .unwrap();
    s.handle_datagram(now, SERVER, &m.raw);
    assert_eq!(
        s.poll_event(),
        Some(TurnEvent::Data {
            from: PEER,
            data: b"from-peer".to_vec()
        })
    );
    // And ChannelData on the bound channel too.
    let mut cd = ChannelData {
        data: b"cd-from-peer".to_vec(),
        number: rtc_turn::proto::channum::ChannelNumber(
            srv.channel_data[0][0] as u16 * 256 + srv.channel_data[0][1] as u16,
        ),
        ..Default::default()
    };
    cd.encode();
    s.handle_datagram(now, SERVER, &cd.raw);
    assert_eq!(
        s.poll_event(),
        Some(TurnEvent::Data {
            from: PEER,
            data: b"cd-from-peer".to_vec()
        })
    );
}

#[test]
fn tcp_stream_framing_reassembles_byte_by_byte() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = session(RelayTransport::Tcp, now);
    let mut srv = Server::new(Script::Good);
    let ev = run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(15),
        t0 + Duration::from_secs(1),
    );
    assert!(
        matches!(ev.as_slice(), [TurnEvent::Allocated { .. }]),
        "{ev:?}"
    );
    // Something that is neither STUN nor ChannelData ends the stream with a plain error.
    s.handle_stream_bytes(now, &[0xff; 8]);
    assert_eq!(
        s.poll_event(),
        Some(TurnEvent::Failed(TurnError::StreamBroken))
    );
}

#[test]
fn tcp_dead_server_times_out_too() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = session(RelayTransport::Tls, now);
    let mut srv = Server::new(Script::Dead);
    let ev = run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(15),
        t0 + Duration::from_secs(60),
    );
    assert_eq!(ev, vec![TurnEvent::Failed(TurnError::Timeout(2000))]);
}

/// Seeded mutations of real server messages: nothing panics, a UDP session survives.
#[test]
fn garbage_from_the_network_never_panics() {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = session(RelayTransport::Udp, now);
    let mut srv = Server::new(Script::Good);
    run(
        &mut s,
        &mut srv,
        &mut now,
        Duration::from_millis(10),
        t0 + Duration::from_secs(1),
    );
    s.create_permission(now, PEER);
    let mut samples = vec![];
    while let Some(t) = s.poll_transmit() {
        samples.push(t.payload.clone());
        if let Some(r) = srv.answer(&t.payload) {
            samples.push(r.clone());
            s.handle_datagram(now, SERVER, &r);
        }
    }
    let mut m = Message::new();
    m.build(&[
        Box::new(stun::message::TransactionId::new()),
        Box::new(MessageType::new(METHOD_DATA, CLASS_INDICATION)),
        Box::new(PeerAddress {
            ip: PEER.ip(),
            port: PEER.port(),
        }),
        Box::new(Data(b"x".to_vec())),
    ])
    .unwrap();
    samples.push(m.raw.clone());
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut tcp = session(RelayTransport::Tcp, now);
    for i in 0..20_000 {
        let mut b = samples[i % samples.len()].clone();
        for _ in 0..(rnd() % 4 + 1) {
            let pos = (rnd() as usize) % b.len().max(1);
            match rnd() % 3 {
                0 if !b.is_empty() => b[pos] = rnd() as u8,
                1 => b.truncate(pos),
                _ => b.insert(pos.min(b.len()), rnd() as u8),
            }
        }
        s.handle_datagram(now, SERVER, &b);
        tcp.handle_stream_bytes(now, &b);
        while s.poll_event().is_some() {}
        while s.poll_transmit().is_some() {}
    }
    // Garbage may fail a UDP session only through a forged error response for one of its
    // own transactions; none was outstanding, so it is still allocated.
    assert_eq!(s.state(), TurnState::Allocated);
}

#[test]
fn stun_binding_learns_the_mapped_address() {
    let t0 = Instant::now();
    let mut b = StunBinding::new(SERVER, LOCAL, t0, Duration::from_millis(500)).unwrap();
    let req = b.poll_transmit().expect("a request");
    let mut srv = Server::new(Script::Good);
    let resp = srv.answer(&req.payload).unwrap();
    assert!(
        !b.handle_datagram(t0, "192.0.2.1:1".parse().unwrap(), &resp),
        "not from the server"
    );
    assert!(
        !b.handle_datagram(t0, SERVER, b"\x80\x00rtp-ish-bytes"),
        "RTP is handed on"
    );
    assert!(b.handle_datagram(t0 + Duration::from_millis(30), SERVER, &resp));
    let r = b.result().unwrap().as_ref().unwrap();
    assert_eq!((r.mapped, r.rtt), (MAPPED, Duration::from_millis(30)));
}

#[test]
fn stun_binding_retransmits_then_gives_up_at_the_deadline() {
    let t0 = Instant::now();
    let mut b = StunBinding::new(SERVER, LOCAL, t0, Duration::from_millis(500)).unwrap();
    let mut sent = 0;
    let mut now = t0;
    loop {
        while b.poll_transmit().is_some() {
            sent += 1;
        }
        let Some(t) = b.poll_timeout() else { break };
        now = t;
        b.handle_timeout(now);
    }
    assert_eq!(b.result(), Some(&Err(BindingError::Timeout(500))));
    assert_eq!(now, t0 + Duration::from_millis(500));
    assert!(
        (2..=4).contains(&sent),
        "RTO 200 ms doubling: {sent} requests in 500 ms"
    );
}
