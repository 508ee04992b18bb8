//! A whole call on simulated time over a lossy network, from the building blocks: transaction
//! layers, dialogs, the UAS's 2xx retransmission (AckWait), all bytes through the receive path.
//! INVITE → 180 → 200 (lost) → 200 → ACK (lost) → 200 → ACK → … → BYE → 200.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_sip::dialog::{AckWait, AckWaitAction, Dialog, DialogState};
use homeline_sip::responses::with_to_tag;
use homeline_sip::transaction::{
    Peer, TimerConfig, TransactionEvent, TransactionId, TransactionLayer, TransportKind,
    response_for,
};
use homeline_sip::{Inbound, receive_datagram};
use rsip::prelude::*;

const LATENCY: Duration = Duration::from_millis(30);

fn peer(addr: &str) -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: addr.parse::<SocketAddr>().unwrap(),
    }
}

fn invite() -> rsip::Request {
    let text = "INVITE sip:bob@192.0.2.2:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcall1;rport\r\n\
        Max-Forwards: 70\r\n\
        From: \"Alice\" <sip:alice@example.com>;tag=alice1\r\n\
        To: <sip:bob@example.com>\r\n\
        Call-ID: call-flow-1\r\n\
        CSeq: 10 INVITE\r\n\
        Contact: <sip:alice@192.0.2.1:5060>\r\n\
        Content-Length: 0\r\n\r\n";
    match receive_datagram(text.as_bytes()) {
        Inbound::Request(r) => r,
        other => panic!("{other:?}"),
    }
}

struct Wire {
    /// (arrival, to_uas, bytes)
    flying: Vec<(Instant, bool, Vec<u8>)>,
    log: Vec<(u64, bool, String, bool)>,
    t0: Instant,
}

impl Wire {
    fn send(&mut self, now: Instant, to_uas: bool, msg: &rsip::SipMessage, drop: bool) {
        let what = match msg {
            rsip::SipMessage::Request(r) => r.method.to_string(),
            rsip::SipMessage::Response(r) => r.status_code.code().to_string(),
        };
        self.log
            .push(((now - self.t0).as_millis() as u64, to_uas, what, drop));
        if !drop {
            let bytes = homeline_sip::message::serialize(msg);
            self.flying.push((now + LATENCY, to_uas, bytes));
        }
    }

    fn times(&self, to_uas: bool, what: &str) -> Vec<(u64, bool)> {
        self.log
            .iter()
            .filter(|(_, d, w, _)| *d == to_uas && w == what)
            .map(|(t, _, _, dropped)| (*t, *dropped))
            .collect()
    }
}

#[test]
fn call_with_lost_200_and_lost_ack_completes() {
    let t0 = Instant::now();
    let mut now = t0;
    let (alice_addr, bob_addr) = (peer("192.0.2.1:5060"), peer("192.0.2.2:5060"));
    let timers = TimerConfig::default();
    let mut uac = TransactionLayer::new(timers);
    let mut uas = TransactionLayer::new(timers);
    let mut wire = Wire {
        flying: Vec::new(),
        log: Vec::new(),
        t0,
    };
    // Which messages the network loses: the first 200 and the first ACK.
    let mut lose_200 = 1;
    let mut lose_ack = 1;

    let inv = invite();
    let inv_id = uac.send_request(now, inv.clone(), bob_addr).unwrap();
    let mut uac_dialog: Option<Dialog> = None;
    let mut uas_dialog: Option<Dialog> = None;
    let mut ack_wait: Option<AckWait> = None;
    let mut uas_invite_tx: Option<TransactionId> = None;
    let mut answer_at: Option<Instant> = None;
    let mut bye_at: Option<Instant> = None;
    let mut bye_done = false;
    let mut ack_for_2xx: Option<rsip::Request> = None;

    for _ in 0..1000 {
        // ---- TU logic ----
        while let Some(e) = uas.poll_event() {
            match e {
                TransactionEvent::Request { id, request, .. } => match request.method {
                    rsip::Method::Invite => {
                        let mut ringing =
                            with_to_tag(response_for(&request, 180, "Ringing"), "bob1");
                        ringing
                            .headers
                            .push(rsip::headers::Contact::new("<sip:bob@192.0.2.2:5060>").into());
                        uas.send_response(now, id, ringing).unwrap();
                        uas_invite_tx = Some(id);
                        answer_at = Some(now + Duration::from_millis(500));
                    }
                    rsip::Method::Bye => {
                        uas_dialog
                            .as_mut()
                            .unwrap()
                            .handle_request(&request)
                            .unwrap();
                        let ok = response_for(&request, 200, "OK");
                        uas.send_response(now, id, ok).unwrap();
                    }
                    other => panic!("unexpected {other}"),
                },
                TransactionEvent::Ack { request, .. } => {
                    uas_dialog
                        .as_mut()
                        .unwrap()
                        .handle_request(&request)
                        .unwrap();
                    ack_wait.as_mut().unwrap().handle_ack();
                }
                _ => {}
            }
        }
        while let Some(e) = uac.poll_event() {
            let response = match e {
                TransactionEvent::Response { response, .. } => response,
                TransactionEvent::StrayResponse { response } => response,
                _ => continue,
            };
            let code = response.status_code.code();
            let method = response.cseq_header().unwrap().value().to_owned();
            if method.ends_with("BYE") {
                bye_done = code == 200;
                continue;
            }
            match (code, uac_dialog.as_mut()) {
                (180, None) => uac_dialog = Some(Dialog::new_uac(&inv, &response).unwrap()),
                (200, Some(d)) => {
                    d.handle_response(&response);
                    // §13.2.2.4: ACK every 2xx (retransmissions too), outside transactions.
                    let ack = ack_for_2xx
                        .get_or_insert_with(|| {
                            d.ack(10, TransportKind::Udp, "192.0.2.1:5060", "z9hG4bKack1")
                                .unwrap()
                        })
                        .clone();
                    uac.send_stateless(bob_addr, ack);
                    bye_at.get_or_insert(now + Duration::from_secs(3));
                }
                _ => {}
            }
        }
        // ---- drain both layers onto the wire ----
        while let Some(t) = uac.poll_transmit() {
            let is_ack =
                matches!(&t.message, rsip::SipMessage::Request(r) if r.method == rsip::Method::Ack);
            let drop = is_ack && lose_ack > 0;
            if drop {
                lose_ack -= 1;
            }
            wire.send(now, true, &t.message, drop);
        }
        while let Some(t) = uas.poll_transmit() {
            let is_200 = matches!(&t.message, rsip::SipMessage::Response(r) if r.status_code.code() == 200
                && r.cseq_header().unwrap().value().ends_with("INVITE"));
            let drop = is_200 && lose_200 > 0;
            if drop {
                lose_200 -= 1;
            }
            wire.send(now, false, &t.message, drop);
        }
        if answer_at.is_some_and(|t| t <= now) {
            answer_at = None;
            let req = invite();
            let mut ok = with_to_tag(response_for(&req, 200, "OK"), "bob1");
            ok.headers
                .push(rsip::headers::Contact::new("<sip:bob@192.0.2.2:5060>").into());
            uas.send_response(now, uas_invite_tx.unwrap(), ok.clone())
                .unwrap();
            uas_dialog = Some(Dialog::new_uas(&req, "bob1", true).unwrap());
            ack_wait = Some(AckWait::new(now, ok, false, timers));
            continue;
        }
        if let Some(w) = ack_wait.as_mut()
            && let Some(action) = w.handle_timeout(now)
        {
            match action {
                AckWaitAction::Retransmit(r) => {
                    uas.send_response(now, uas_invite_tx.unwrap(), r).unwrap()
                }
                AckWaitAction::GiveUp => panic!("no ACK"),
            }
            continue;
        }
        if bye_at.is_some_and(|t| t <= now) {
            bye_at = None;
            let bye = uac_dialog
                .as_mut()
                .unwrap()
                .create_request(
                    rsip::Method::Bye,
                    TransportKind::Udp,
                    "192.0.2.1:5060",
                    "z9hG4bKbye1",
                )
                .unwrap();
            uac.send_request(now, bye, bob_addr).unwrap();
            continue;
        }
        // ---- advance time to the next thing ----
        let next = [
            wire.flying.iter().map(|(t, _, _)| *t).min(),
            uac.poll_timeout(),
            uas.poll_timeout(),
            ack_wait.as_ref().and_then(|w| w.poll_timeout()),
            answer_at,
            bye_at,
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { break };
        now = next.max(now);
        let (due, later): (Vec<_>, Vec<_>) = wire.flying.drain(..).partition(|(t, _, _)| *t <= now);
        wire.flying = later;
        for (_, to_uas, bytes) in due {
            let msg: rsip::SipMessage = match receive_datagram(&bytes) {
                Inbound::Request(r) => r.into(),
                Inbound::Response(r) => r.into(),
                other => panic!("{other:?}"),
            };
            if to_uas {
                uas.handle_message(now, msg, alice_addr);
            } else {
                uac.handle_message(now, msg, bob_addr);
            }
        }
        uac.handle_timeout(now);
        uas.handle_timeout(now);
    }

    // INVITE at 0 arrives at 30: 180 at once, 200 at 530 (lost), retransmitted at 1030
    // (T1) and 2030 (2·T1) — the ACK sent at 1060 was lost, the one at 2060 arrives.
    assert_eq!(wire.times(false, "180"), vec![(30, false)]);
    assert_eq!(
        wire.times(false, "200")[..3],
        [(530, true), (1030, false), (2030, false)]
    );
    assert_eq!(wire.times(true, "ACK"), vec![(1060, true), (2060, false)]);
    assert!(
        !ack_wait.unwrap().is_waiting(),
        "ACK stopped the 2xx retransmissions"
    );
    assert_eq!(uac_dialog.as_ref().unwrap().state, DialogState::Confirmed);
    assert_eq!(
        uas_dialog.as_ref().unwrap().remote_target,
        "sip:alice@192.0.2.1:5060"
    );
    // BYE three seconds after the first 200 reached Alice, answered 200.
    assert_eq!(wire.times(true, "BYE"), vec![(4060, false)]);
    assert!(bye_done);
    let _ = inv_id;
    assert!(uac.is_empty() && uas.is_empty(), "all transactions ended");
}
