//! Transaction state machines on simulated time: every timer at its millisecond.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_sip::transaction::states;
use homeline_sip::transaction::{
    Peer, TimerConfig, TransactionEvent, TransactionId, TransactionLayer, TransactionState,
    TransportKind, cancel_for, response_for,
};
use homeline_sip::{Inbound, receive_datagram};
use rsip::prelude::*;

fn peer(transport: TransportKind, addr: &str) -> Peer {
    Peer {
        transport,
        addr: addr.parse::<SocketAddr>().unwrap(),
    }
}

fn udp() -> Peer {
    peer(TransportKind::Udp, "192.0.2.10:5060")
}

fn request(method: &str, branch: &str) -> rsip::Request {
    let text = format!(
        "{method} sip:bob@biloxi.example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@atlanta.example.com>;tag=a1\r\n\
         To: <sip:bob@biloxi.example.com>\r\n\
         Call-ID: call-{branch}\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match receive_datagram(text.as_bytes()) {
        Inbound::Request(r) => r,
        other => panic!("{other:?}"),
    }
}

fn response(req: &rsip::Request, code: u16) -> rsip::Response {
    let mut r = response_for(req, code, "Test");
    if code > 100 {
        for h in r.headers.iter_mut() {
            if let rsip::Header::To(to) = h {
                let v = format!("{};tag=b2", to.value());
                to.replace(v);
            }
        }
    }
    r
}

/// A layer plus a clock; records transmits with their time in ms since start.
struct Sim {
    layer: TransactionLayer,
    t0: Instant,
    now: Instant,
    sent: Vec<(u64, String)>,
    events: Vec<(u64, TransactionEvent)>,
}

impl Sim {
    fn new(timers: TimerConfig) -> Self {
        let t0 = Instant::now();
        Self {
            layer: TransactionLayer::new(timers),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    fn ms(&self) -> u64 {
        (self.now - self.t0).as_millis() as u64
    }

    fn drain(&mut self) {
        let ms = self.ms();
        while let Some(t) = self.layer.poll_transmit() {
            let line = match &t.message {
                rsip::SipMessage::Request(r) => r.method.to_string(),
                rsip::SipMessage::Response(r) => r.status_code.code().to_string(),
            };
            self.sent.push((ms, line));
        }
        while let Some(e) = self.layer.poll_event() {
            self.events.push((ms, e));
        }
    }

    /// Runs timers until `until_ms` (inclusive), draining after each.
    fn run_until(&mut self, until_ms: u64) {
        let until = self.t0 + Duration::from_millis(until_ms);
        while let Some(t) = self.layer.poll_timeout() {
            if t > until {
                break;
            }
            self.now = t;
            self.layer.handle_timeout(t);
            self.drain();
        }
        self.now = until;
    }

    fn at(&mut self, ms: u64) {
        self.run_until(ms);
    }

    fn sent_times(&self, what: &str) -> Vec<u64> {
        self.sent
            .iter()
            .filter(|(_, l)| l == what)
            .map(|(t, _)| *t)
            .collect()
    }

    fn take_events(&mut self) -> Vec<(u64, TransactionEvent)> {
        std::mem::take(&mut self.events)
    }
}

fn is_timeout(e: &TransactionEvent) -> bool {
    matches!(e, TransactionEvent::Timeout { .. })
}

// ---------- INVITE client (§17.1.1) ----------

#[test]
fn invite_client_retransmits_on_timer_a_and_times_out_on_timer_b() {
    let mut sim = Sim::new(TimerConfig::default());
    let id = sim
        .layer
        .send_request(sim.now, request("INVITE", "z9hG4bKa"), udp())
        .unwrap();
    sim.drain();
    sim.run_until(40_000);
    // Timer A: T1, 2T1, 4T1… from the original send; Timer B at 64·T1 = 32 s.
    assert_eq!(
        sim.sent_times("INVITE"),
        vec![0, 500, 1500, 3500, 7500, 15500, 31500]
    );
    let events = sim.take_events();
    assert_eq!(events[0].0, 32_000);
    assert_eq!(events[0].1, TransactionEvent::Timeout { id });
    assert_eq!(events[1].1, TransactionEvent::Terminated { id });
    assert!(sim.layer.is_empty());
}

#[test]
fn invite_client_custom_t1() {
    let timers = TimerConfig {
        t1: Duration::from_millis(100),
        ..Default::default()
    };
    let mut sim = Sim::new(timers);
    sim.layer
        .send_request(sim.now, request("INVITE", "z9hG4bKt1"), udp())
        .unwrap();
    sim.drain();
    sim.run_until(10_000);
    assert_eq!(
        sim.sent_times("INVITE"),
        vec![0, 100, 300, 700, 1500, 3100, 6300]
    );
    assert_eq!(sim.events[0].0, 6400, "Timer B = 64·T1");
}

#[test]
fn invite_client_provisional_stops_retransmission_then_non_2xx_is_acked() {
    let mut sim = Sim::new(TimerConfig::default());
    let inv = request("INVITE", "z9hG4bKb");
    let id = sim.layer.send_request(sim.now, inv.clone(), udp()).unwrap();
    sim.drain();
    sim.at(700);
    sim.layer
        .handle_message(sim.now, response(&inv, 180).into(), udp());
    sim.drain();
    assert_eq!(
        sim.layer.state(id),
        Some(TransactionState::ClientInvite(
            states::ClientInvite::Proceeding
        ))
    );
    sim.at(60_000);
    assert_eq!(
        sim.sent_times("INVITE"),
        vec![0, 500],
        "no A, no B in Proceeding"
    );
    sim.layer
        .handle_message(sim.now, response(&inv, 486).into(), udp());
    sim.drain();
    assert_eq!(sim.sent_times("ACK"), vec![60_000]);
    // A retransmitted 486 is ACKed again and not passed up.
    sim.at(61_000);
    sim.layer
        .handle_message(sim.now, response(&inv, 486).into(), udp());
    sim.drain();
    assert_eq!(sim.sent_times("ACK"), vec![60_000, 61_000]);
    let responses: Vec<u16> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            TransactionEvent::Response { response, .. } => Some(response.status_code.code()),
            _ => None,
        })
        .collect();
    assert_eq!(responses, vec![180, 486]);
    // Timer D: 32 s after the first final response.
    sim.at(100_000);
    let terminated = sim
        .events
        .iter()
        .find(|(_, e)| *e == TransactionEvent::Terminated { id })
        .unwrap();
    assert_eq!(terminated.0, 92_000);
}

#[test]
fn invite_client_ack_is_built_per_17_1_1_3() {
    let mut sim = Sim::new(TimerConfig::default());
    let inv = request("INVITE", "z9hG4bKack");
    sim.layer.send_request(sim.now, inv.clone(), udp()).unwrap();
    sim.drain();
    let _ = sim.layer.poll_transmit();
    sim.layer
        .handle_message(sim.now, response(&inv, 603).into(), udp());
    let ack = sim.layer.poll_transmit().unwrap();
    let text = String::from_utf8(ack.bytes()).unwrap();
    assert!(text.starts_with("ACK sip:bob@biloxi.example.com SIP/2.0\r\n"));
    assert!(text.contains("branch=z9hG4bKack"));
    assert!(text.contains("To: <sip:bob@biloxi.example.com>;tag=b2\r\n"));
    assert!(text.contains("CSeq: 1 ACK\r\n"));
    // And it passes our own receive path.
    assert!(matches!(
        receive_datagram(&ack.bytes()),
        Inbound::Request(_)
    ));
}

#[test]
fn invite_client_2xx_accepted_state_passes_retransmissions_until_timer_m() {
    let mut sim = Sim::new(TimerConfig::default());
    let inv = request("INVITE", "z9hG4bKc");
    let id = sim.layer.send_request(sim.now, inv.clone(), udp()).unwrap();
    sim.drain();
    sim.at(1000);
    sim.layer
        .handle_message(sim.now, response(&inv, 200).into(), udp());
    sim.drain();
    assert_eq!(
        sim.layer.state(id),
        Some(TransactionState::ClientInvite(
            states::ClientInvite::Accepted
        ))
    );
    sim.at(5000);
    sim.layer
        .handle_message(sim.now, response(&inv, 200).into(), udp());
    sim.drain();
    let oks = sim
        .events
        .iter()
        .filter(|(_, e)| matches!(e, TransactionEvent::Response { .. }))
        .count();
    assert_eq!(oks, 2, "RFC 6026: every 2xx reaches the TU, which ACKs it");
    assert!(
        sim.sent_times("ACK").is_empty(),
        "the TU ACKs a 2xx, not us"
    );
    sim.at(40_000);
    let t = sim
        .events
        .iter()
        .find(|(_, e)| *e == TransactionEvent::Terminated { id })
        .unwrap();
    assert_eq!(t.0, 33_000, "Timer M = 64·T1 after the first 2xx");
    // After termination a 2xx is a stray for the core.
    sim.layer
        .handle_message(sim.now, response(&inv, 200).into(), udp());
    assert!(matches!(
        sim.layer.poll_event(),
        Some(TransactionEvent::StrayResponse { .. })
    ));
}

#[test]
fn invite_client_reliable_has_no_retransmissions_and_no_timer_d() {
    let mut sim = Sim::new(TimerConfig::default());
    let tcp = peer(TransportKind::Tcp, "192.0.2.10:5060");
    let inv = request("INVITE", "z9hG4bKd");
    let id = sim.layer.send_request(sim.now, inv.clone(), tcp).unwrap();
    sim.drain();
    sim.at(10_000);
    assert_eq!(sim.sent_times("INVITE"), vec![0]);
    sim.layer
        .handle_message(sim.now, response(&inv, 486).into(), tcp);
    sim.drain();
    assert_eq!(sim.sent_times("ACK"), vec![10_000]);
    assert!(
        sim.layer.state(id).is_none(),
        "Timer D = 0 on reliable transports"
    );
}

#[test]
fn invite_client_transport_error_synthesises_503() {
    let mut sim = Sim::new(TimerConfig::default());
    let id = sim
        .layer
        .send_request(sim.now, request("INVITE", "z9hG4bKe"), udp())
        .unwrap();
    sim.drain();
    sim.layer.handle_transport_error(sim.now, id);
    sim.drain();
    match &sim.events[0].1 {
        TransactionEvent::Response { id: rid, response } => {
            assert_eq!(*rid, id);
            assert_eq!(response.status_code.code(), 503);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.events[1].1, TransactionEvent::Terminated { id });
}

// ---------- non-INVITE client (§17.1.2) ----------

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_timer_f_times_out() {
    let mut sim = Sim::new(TimerConfig::default());
    let id = sim
        .layer
        .send_request(sim.now, request("REGISTER", "z9hG4bKf"), udp())
        .unwrap();
    sim.drain();
    sim.run_until(40_000);
    assert_eq!(
        sim.sent_times("REGISTER"),
        vec![
            0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert_eq!(sim.events[0], (32_000, TransactionEvent::Timeout { id }));
}

#[test]
fn non_invite_client_proceeding_retransmits_every_t2_then_timer_k() {
    let mut sim = Sim::new(TimerConfig::default());
    let req = request("OPTIONS", "z9hG4bKg");
    let id = sim.layer.send_request(sim.now, req.clone(), udp()).unwrap();
    sim.drain();
    sim.at(2000);
    sim.layer
        .handle_message(sim.now, response(&req, 100).into(), udp());
    sim.drain();
    sim.at(8000);
    // 500, 1500 in Trying; 3500 (scheduled before the 1xx); then every T2.
    assert_eq!(sim.sent_times("OPTIONS"), vec![0, 500, 1500, 3500, 7500]);
    sim.layer
        .handle_message(sim.now, response(&req, 200).into(), udp());
    sim.drain();
    // Retransmitted 200 absorbed in Completed.
    sim.at(9000);
    sim.layer
        .handle_message(sim.now, response(&req, 200).into(), udp());
    sim.drain();
    sim.at(20_000);
    let finals = sim
        .events
        .iter()
        .filter(|(_, e)| matches!(e, TransactionEvent::Response { response, .. } if response.status_code.code() == 200))
        .count();
    assert_eq!(finals, 1);
    assert!(!sim.events.iter().any(|(_, e)| is_timeout(e)));
    let t = sim
        .events
        .iter()
        .find(|(_, e)| *e == TransactionEvent::Terminated { id })
        .unwrap();
    assert_eq!(t.0, 13_000, "Timer K = T4 after the final response");
}

// ---------- INVITE server (§17.2.1) ----------

fn server_request(sim: &mut Sim, req: &rsip::Request, from: Peer) -> TransactionId {
    sim.layer.handle_message(sim.now, req.clone().into(), from);
    sim.drain();
    sim.events
        .iter()
        .rev()
        .find_map(|(_, e)| match e {
            TransactionEvent::Request { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap()
}

#[test]
fn invite_server_sends_100_after_200ms_and_retransmits_non_2xx_on_timer_g_until_h() {
    let mut sim = Sim::new(TimerConfig::default());
    let inv = request("INVITE", "z9hG4bKh");
    let id = server_request(&mut sim, &inv, udp());
    sim.at(1000);
    assert_eq!(sim.sent_times("100"), vec![200]);
    // A retransmitted INVITE gets the 100 again.
    sim.layer.handle_message(sim.now, inv.clone().into(), udp());
    sim.drain();
    assert_eq!(sim.sent_times("100"), vec![200, 1000]);
    sim.layer
        .send_response(sim.now, id, response(&inv, 486))
        .unwrap();
    sim.drain();
    sim.at(40_000);
    // Timer G: T1, 2T1, 4T1, then capped at T2 (4 s); Timer H at 64·T1.
    assert_eq!(
        sim.sent_times("486"),
        vec![
            1000, 1500, 2500, 4500, 8500, 12500, 16500, 20500, 24500, 28500, 32500
        ]
    );
    let timeout = sim.events.iter().find(|(_, e)| is_timeout(e)).unwrap();
    assert_eq!(timeout.0, 33_000);
    assert!(sim.layer.is_empty());
}

#[test]
fn invite_server_ack_confirms_and_timer_i_terminates() {
    let mut sim = Sim::new(TimerConfig::default());
    let inv = request("INVITE", "z9hG4bKi");
    let id = server_request(&mut sim, &inv, udp());
    sim.layer
        .send_response(sim.now, id, response(&inv, 404))
        .unwrap();
    sim.drain();
    sim.at(3000);
    let mut ack = request("ACK", "z9hG4bKi");
    ack.headers.retain(|h| !matches!(h, rsip::Header::CSeq(_)));
    ack.headers.push(rsip::headers::CSeq::new("1 ACK").into());
    sim.layer.handle_message(sim.now, ack.clone().into(), udp());
    sim.drain();
    assert_eq!(
        sim.layer.state(id),
        Some(TransactionState::ServerInvite(
            states::ServerInvite::Confirmed
        ))
    );
    // Retransmitted ACKs are absorbed.
    sim.layer.handle_message(sim.now, ack.into(), udp());
    sim.drain();
    assert!(
        !sim.events
            .iter()
            .any(|(_, e)| matches!(e, TransactionEvent::Ack { .. }))
    );
    sim.at(10_000);
    assert_eq!(sim.sent_times("404"), vec![0, 500, 1500]);
    let t = sim
        .events
        .iter()
        .find(|(_, e)| *e == TransactionEvent::Terminated { id })
        .unwrap();
    assert_eq!(t.0, 8000, "Timer I = T4 after the ACK");
}

#[test]
fn invite_server_accepted_absorbs_invites_and_passes_acks_until_timer_l() {
    let mut sim = Sim::new(TimerConfig::default());
    let inv = request("INVITE", "z9hG4bKj");
    let id = server_request(&mut sim, &inv, udp());
    sim.layer
        .send_response(sim.now, id, response(&inv, 180))
        .unwrap();
    sim.layer
        .send_response(sim.now, id, response(&inv, 200))
        .unwrap();
    sim.drain();
    sim.at(500);
    sim.layer.handle_message(sim.now, inv.clone().into(), udp());
    sim.drain();
    assert_eq!(
        sim.sent_times("200"),
        vec![0],
        "INVITE retransmission absorbed"
    );
    // The TU retransmits its 2xx through the transaction (RFC 6026 §7.1).
    sim.layer
        .send_response(sim.now, id, response(&inv, 200))
        .unwrap();
    sim.drain();
    assert_eq!(sim.sent_times("200"), vec![0, 500]);
    let mut ack = request("ACK", "z9hG4bKj");
    ack.headers.retain(|h| !matches!(h, rsip::Header::CSeq(_)));
    ack.headers.push(rsip::headers::CSeq::new("1 ACK").into());
    sim.layer.handle_message(sim.now, ack.into(), udp());
    sim.drain();
    assert!(
        sim.events
            .iter()
            .any(|(_, e)| matches!(e, TransactionEvent::Ack { id: Some(a), .. } if *a == id))
    );
    sim.at(40_000);
    let t = sim
        .events
        .iter()
        .find(|(_, e)| *e == TransactionEvent::Terminated { id })
        .unwrap();
    assert_eq!(t.0, 32_000, "Timer L = 64·T1 after the 2xx");
    assert!(
        sim.sent_times("100").is_empty(),
        "TU answered within 200 ms"
    );
}

// ---------- non-INVITE server (§17.2.2) ----------

#[test]
fn non_invite_server_absorbs_and_replays_then_timer_j() {
    let mut sim = Sim::new(TimerConfig::default());
    let req = request("OPTIONS", "z9hG4bKk");
    let id = server_request(&mut sim, &req, udp());
    // Retransmission in Trying: absorbed, not passed up again.
    sim.layer.handle_message(sim.now, req.clone().into(), udp());
    sim.drain();
    let requests = sim
        .events
        .iter()
        .filter(|(_, e)| matches!(e, TransactionEvent::Request { .. }))
        .count();
    assert_eq!(requests, 1);
    assert!(sim.sent.is_empty());
    sim.at(100);
    sim.layer
        .send_response(sim.now, id, response(&req, 200))
        .unwrap();
    sim.drain();
    sim.at(600);
    sim.layer.handle_message(sim.now, req.clone().into(), udp());
    sim.drain();
    assert_eq!(sim.sent_times("200"), vec![100, 600]);
    assert!(
        sim.layer
            .send_response(sim.now, id, response(&req, 500))
            .is_err()
    );
    sim.at(40_000);
    let t = sim
        .events
        .iter()
        .find(|(_, e)| *e == TransactionEvent::Terminated { id })
        .unwrap();
    assert_eq!(t.0, 32_100, "Timer J = 64·T1 after the final response");
}

#[test]
fn non_invite_server_reliable_terminates_at_once() {
    let mut sim = Sim::new(TimerConfig::default());
    let tcp = peer(TransportKind::Tcp, "192.0.2.10:5060");
    let req = request("OPTIONS", "z9hG4bKl");
    let id = server_request(&mut sim, &req, tcp);
    sim.layer
        .send_response(sim.now, id, response(&req, 200))
        .unwrap();
    assert!(sim.layer.is_empty());
}

#[test]
fn server_stamps_received_and_rport() {
    let mut sim = Sim::new(TimerConfig::default());
    let from = peer(TransportKind::Udp, "203.0.113.7:40123");
    let req = request("OPTIONS", "z9hG4bKm");
    sim.layer.handle_message(sim.now, req.into(), from);
    sim.drain();
    let TransactionEvent::Request { request, .. } = &sim.events[0].1 else {
        panic!()
    };
    let via = request
        .headers
        .iter()
        .find_map(|h| match h {
            rsip::Header::Via(v) => Some(v.to_string()),
            _ => None,
        })
        .unwrap();
    assert!(via.contains("rport=40123"), "{via}");
    assert!(via.contains("received=203.0.113.7"), "{via}");
}

#[test]
fn cancel_finds_its_invite_and_ack_without_transaction_goes_to_tu() {
    let mut sim = Sim::new(TimerConfig::default());
    let inv = request("INVITE", "z9hG4bKn");
    let id = server_request(&mut sim, &inv, udp());
    let mut cancel = request("CANCEL", "z9hG4bKn");
    cancel.uri = inv.uri.clone();
    let cid = server_request(&mut sim, &cancel, udp());
    assert_ne!(id, cid, "CANCEL is its own transaction");
    assert_eq!(sim.layer.find_invite_for_cancel(&cancel), Some(id));
    let mut ack = request("ACK", "z9hG4bKother");
    ack.headers.retain(|h| !matches!(h, rsip::Header::CSeq(_)));
    ack.headers.push(rsip::headers::CSeq::new("1 ACK").into());
    sim.layer.handle_message(sim.now, ack.into(), udp());
    sim.drain();
    assert!(matches!(
        sim.events.last().unwrap().1,
        TransactionEvent::Ack { id: None, .. }
    ));
}

#[test]
fn requests_without_rfc3261_branch_are_refused() {
    let mut sim = Sim::new(TimerConfig::default());
    assert!(
        sim.layer
            .send_request(sim.now, request("OPTIONS", "old-branch"), udp())
            .is_err()
    );
    assert!(
        sim.layer
            .send_request(sim.now, request("ACK", "z9hG4bKx"), udp())
            .is_err()
    );
}

// ---------- two layers over a lossy simulated network ----------

/// Delivers datagrams between two layers with fixed latency, dropping the ones `drop` picks
/// (by global packet number). Every packet goes through serialise → `receive_datagram`.
struct Net {
    uac: TransactionLayer,
    uas: TransactionLayer,
    t0: Instant,
    now: Instant,
    latency: Duration,
    /// (deliver at, to UAS?, bytes)
    in_flight: Vec<(Instant, bool, Vec<u8>)>,
    packet_no: usize,
    log: Vec<(u64, &'static str, String, bool)>,
}

const UAC_ADDR: &str = "192.0.2.1:5060";
const UAS_ADDR: &str = "192.0.2.10:5060";

impl Net {
    fn new() -> Self {
        let t0 = Instant::now();
        Self {
            uac: TransactionLayer::new(TimerConfig::default()),
            uas: TransactionLayer::new(TimerConfig::default()),
            t0,
            now: t0,
            latency: Duration::from_millis(40),
            in_flight: Vec::new(),
            packet_no: 0,
            log: Vec::new(),
        }
    }

    /// Moves transmits onto the wire, applying `drop`.
    fn flush(&mut self, drop: &dyn Fn(usize) -> bool) {
        for (to_uas, layer) in [(true, &mut self.uac), (false, &mut self.uas)] {
            while let Some(t) = layer.poll_transmit() {
                let what = match &t.message {
                    rsip::SipMessage::Request(r) => r.method.to_string(),
                    rsip::SipMessage::Response(r) => r.status_code.code().to_string(),
                };
                let dropped = drop(self.packet_no);
                self.packet_no += 1;
                let ms = (self.now - self.t0).as_millis() as u64;
                self.log
                    .push((ms, if to_uas { "uac>" } else { "<uas" }, what, dropped));
                if !dropped {
                    self.in_flight
                        .push((self.now + self.latency, to_uas, t.bytes()));
                }
            }
        }
    }

    /// Runs until both layers are idle; the UAS TU answers each INVITE with `answer` after
    /// `answer_delay`, and the UAC TU ACKs 2xx responses.
    fn run(
        &mut self,
        answer: u16,
        answer_delay: Duration,
        drop: &dyn Fn(usize) -> bool,
    ) -> Vec<u16> {
        let mut finals = Vec::new();
        let mut pending_answer: Option<(Instant, TransactionId, rsip::Request)> = None;
        for _ in 0..10_000 {
            self.flush(drop);
            // TU work.
            while let Some(e) = self.uas.poll_event() {
                if let TransactionEvent::Request { id, request, .. } = e {
                    pending_answer = Some((self.now + answer_delay, id, request));
                }
            }
            while let Some(e) = self.uac.poll_event() {
                if let TransactionEvent::Response { response, .. } = e
                    && response.status_code.code() >= 200
                {
                    finals.push(response.status_code.code());
                }
            }
            self.flush(drop);
            // Next instant: a delivery, a timer, or the TU's answer.
            let next = [
                self.in_flight.iter().map(|(t, _, _)| *t).min(),
                self.uac.poll_timeout(),
                self.uas.poll_timeout(),
                pending_answer.as_ref().map(|(t, _, _)| *t),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else { break };
            self.now = next;
            if let Some((t, id, req)) = pending_answer.take() {
                if t <= self.now {
                    self.uas
                        .send_response(self.now, id, response(&req, answer))
                        .unwrap();
                } else {
                    pending_answer = Some((t, id, req));
                }
            }
            let (due, later): (Vec<_>, Vec<_>) = self
                .in_flight
                .drain(..)
                .partition(|(t, _, _)| *t <= self.now);
            self.in_flight = later;
            for (_, to_uas, bytes) in due {
                let msg = match receive_datagram(&bytes) {
                    Inbound::Request(r) => rsip::SipMessage::Request(r),
                    Inbound::Response(r) => rsip::SipMessage::Response(r),
                    other => panic!("our own message rejected: {other:?}"),
                };
                if to_uas {
                    self.uas
                        .handle_message(self.now, msg, peer(TransportKind::Udp, UAC_ADDR));
                } else {
                    self.uac
                        .handle_message(self.now, msg, peer(TransportKind::Udp, UAS_ADDR));
                }
            }
            self.uac.handle_timeout(self.now);
            self.uas.handle_timeout(self.now);
        }
        finals
    }

    fn sent(&self, dir: &str, what: &str) -> Vec<(u64, bool)> {
        self.log
            .iter()
            .filter(|(_, d, w, _)| *d == dir && w == what)
            .map(|(t, _, _, dropped)| (*t, *dropped))
            .collect()
    }
}

#[test]
fn lossy_invite_with_busy_answer_completes_with_exact_timing() {
    let mut net = Net::new();
    let inv = request("INVITE", "z9hG4bKloss1");
    net.uac
        .send_request(net.now, inv, peer(TransportKind::Udp, UAS_ADDR))
        .unwrap();
    // Drop packets 0 and 1 (the INVITE and its first retransmission) and packet 4 (the first
    // 486; packet 2 is the INVITE's second retransmission, which gets through, and packet 3
    // the UAS's 100 Trying).
    let finals = net.run(486, Duration::from_millis(300), &|n| matches!(n, 0 | 1 | 4));
    assert_eq!(finals, vec![486]);
    assert_eq!(
        net.sent("uac>", "INVITE"),
        vec![(0, true), (500, true), (1500, false)]
    );
    // INVITE arrives at 1540; 100 at 1740 (200 ms: the TU has not answered); 486 at 1840.
    assert_eq!(net.sent("<uas", "100"), vec![(1740, false)]);
    let busy = net.sent("<uas", "486");
    assert_eq!(busy[0], (1840, true), "first 486 lost");
    assert_eq!(busy[1], (2340, false), "Timer G retransmission at T1");
    // The ACK for the 486 goes out as soon as the retransmission arrives.
    assert_eq!(net.sent("uac>", "ACK"), vec![(2380, false)]);
    assert!(net.uac.is_empty() && net.uas.is_empty());
}

#[test]
fn lossy_non_invite_survives_random_loss() {
    // 30% loss from a fixed xorshift seed: the transaction still completes, within Timer F.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let pattern: Vec<bool> = (0..200)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % 10 < 3
        })
        .collect();
    let mut net = Net::new();
    let req = request("OPTIONS", "z9hG4bKloss2");
    net.uac
        .send_request(net.now, req, peer(TransportKind::Udp, UAS_ADDR))
        .unwrap();
    let finals = net.run(200, Duration::ZERO, &|n| pattern[n]);
    assert_eq!(finals, vec![200]);
    assert!(net.uac.is_empty() && net.uas.is_empty());
}

#[test]
fn cancel_a_ringing_call_end_to_end() {
    // UAC sends INVITE, UAS rings, UAC cancels: the UAS finds the INVITE from the CANCEL,
    // answers 200 to the CANCEL and 487 to the INVITE, the UAC ACKs the 487.
    let t0 = Instant::now();
    let mut uac = TransactionLayer::new(TimerConfig::default());
    let mut uas = TransactionLayer::new(TimerConfig::default());
    let (a, b) = (udp(), peer(TransportKind::Udp, "192.0.2.1:5060"));
    let inv = request("INVITE", "z9hG4bKcancel");
    let inv_id = uac.send_request(t0, inv.clone(), a).unwrap();
    let deliver = |from: &mut TransactionLayer, to: &mut TransactionLayer, src: Peer| {
        while let Some(t) = from.poll_transmit() {
            let msg = match receive_datagram(&t.bytes()) {
                Inbound::Request(r) => rsip::SipMessage::Request(r),
                Inbound::Response(r) => rsip::SipMessage::Response(r),
                other => panic!("{other:?}"),
            };
            to.handle_message(t0, msg, src);
        }
    };
    deliver(&mut uac, &mut uas, b);
    let Some(TransactionEvent::Request { id: server_inv, .. }) = uas.poll_event() else {
        panic!()
    };
    uas.send_response(t0, server_inv, response(&inv, 180))
        .unwrap();
    deliver(&mut uas, &mut uac, a);
    let cancel = cancel_for(&inv);
    assert_eq!(
        homeline_sip::message::serialize(&cancel.clone().into())
            .windows(16)
            .filter(|w| w == b"z9hG4bKcancel;rp")
            .count(),
        1,
        "same branch as the INVITE"
    );
    let cancel_id = uac.send_request(t0, cancel, a).unwrap();
    deliver(&mut uac, &mut uas, b);
    let Some(TransactionEvent::Request {
        id: server_cancel,
        request,
        ..
    }) = uas.poll_event()
    else {
        panic!()
    };
    assert_eq!(uas.find_invite_for_cancel(&request), Some(server_inv));
    uas.send_response(t0, server_cancel, response(&request, 200))
        .unwrap();
    uas.send_response(t0, server_inv, response(&inv, 487))
        .unwrap();
    deliver(&mut uas, &mut uac, a);
    let mut got = Vec::new();
    while let Some(e) = uac.poll_event() {
        if let TransactionEvent::Response { id, response } = e {
            got.push((id, response.status_code.code()));
        }
    }
    assert_eq!(got, vec![(inv_id, 180), (cancel_id, 200), (inv_id, 487)]);
    // The ACK for the 487 reaches the UAS and confirms its transaction.
    deliver(&mut uac, &mut uas, b);
    assert_eq!(
        uas.state(server_inv),
        Some(TransactionState::ServerInvite(
            states::ServerInvite::Confirmed
        ))
    );
}

#[test]
fn non_invite_server_gives_up_when_the_tu_never_answers() {
    let mut sim = Sim::new(TimerConfig::default());
    let req = request("MESSAGE", "z9hG4bKmute");
    let id = server_request(&mut sim, &req, udp());
    sim.at(100_000);
    let timeout = sim.events.iter().find(|(_, e)| is_timeout(e)).unwrap();
    assert_eq!(timeout.0, 32_000);
    assert!(sim.layer.state(id).is_none());
}

#[test]
fn merged_request_from_a_second_path_gets_482() {
    let mut sim = Sim::new(TimerConfig::default());
    let inv = request("INVITE", "z9hG4bKpath1");
    let first = server_request(&mut sim, &inv, udp());
    // The same INVITE (same From tag, Call-ID, CSeq) via another proxy: a different branch.
    let mut copy = inv.clone();
    for h in copy.headers.iter_mut() {
        if let rsip::Header::Via(v) = h {
            v.replace("SIP/2.0/UDP 192.0.2.77:5060;branch=z9hG4bKpath2");
        }
    }
    sim.layer.handle_message(sim.now, copy.into(), udp());
    sim.drain();
    let requests = sim
        .events
        .iter()
        .filter(|(_, e)| matches!(e, TransactionEvent::Request { .. }))
        .count();
    assert_eq!(requests, 1, "the copy is not passed up");
    assert_eq!(sim.sent_times("482"), vec![0]);
    assert!(sim.layer.state(first).is_some());
}
