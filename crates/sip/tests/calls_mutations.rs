//! Mutated call messages (INVITEs, responses to our INVITE, in-dialog requests with the right
//! tags) and random application actions through the transaction and call layers: nothing may
//! panic, and no timer may stay due (a driver would spin).
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use std::time::{Duration, Instant};

use homeline_sip::call::{CallConfig, CallEvent, CallLayer};
use homeline_sip::rng::Rng;
use homeline_sip::transaction::{Peer, TimerConfig, TransactionLayer, TransportKind};
use homeline_sip::{Inbound, receive_datagram};
use rsip::prelude::*;

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    const BITS: &[&[u8]] = &[
        b"\r\n",
        b";tag=",
        b"<",
        b">",
        b",",
        b"100rel",
        b"0",
        b" ",
        b"\xff",
        b"RSeq: 0\r\n",
    ];
    for _ in 0..=rng.below(3) {
        let at = rng.below(input.len() as u64 + 1) as usize;
        match rng.below(4) {
            0 if !input.is_empty() => {
                let at = at.min(input.len() - 1);
                input[at] = rng.next_u64() as u8;
            }
            1 if !input.is_empty() => {
                let end = (at + rng.below(12) as usize).min(input.len());
                input.drain(at.min(end)..end);
            }
            2 => {
                let b = BITS[rng.below(BITS.len() as u64) as usize];
                input.splice(at..at, b.iter().copied());
            }
            _ => {}
        }
    }
}

#[test]
fn mutated_call_traffic_never_panics_or_spins() {
    let t0 = Instant::now();
    let me = Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.1:5060".parse().unwrap(),
    };
    let them = Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.2:5060".parse().unwrap(),
    };
    let mut cfg = CallConfig::new("sip:alice@example.com", me.addr, TransportKind::Udp);
    cfg.credentials = Some(homeline_sip::auth::Credentials {
        username: "a".into(),
        password: "b".into(),
    });
    let mut layer = TransactionLayer::new(TimerConfig::default());
    let mut calls = CallLayer::new(cfg, 11);
    let mut rng = Rng::new(0xdead_beef);
    let count: usize = std::env::var("HOMELINE_SIP_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut now = t0;
    let mut last_invite: Option<rsip::Request> = None;
    let mut handles = Vec::new();
    for i in 0..count {
        now += Duration::from_millis(rng.below(400));
        if i % 50 == 0 {
            let h = calls.dial(
                now,
                &mut layer,
                "sip:bob@192.0.2.2",
                b"v=0\r\n".to_vec(),
                them,
            );
            handles.extend(h.ok());
        }
        // Our latest INVITE (to answer) and a dialog (to aim in-dialog requests at).
        let (call_id, from_tag, branch, cseq) = match &last_invite {
            Some(inv) => (
                inv.call_id_header()
                    .map(|c| c.value().to_owned())
                    .unwrap_or_default(),
                inv.from_header()
                    .ok()
                    .and_then(|f| {
                        homeline_sip::message::header_param(f.value(), "tag").map(str::to_owned)
                    })
                    .unwrap_or_default(),
                inv.via_header()
                    .ok()
                    .and_then(|v| {
                        homeline_sip::message::header_param(v.value(), "branch").map(str::to_owned)
                    })
                    .unwrap_or_default(),
                inv.cseq_header()
                    .map(|c| c.value().to_owned())
                    .unwrap_or_default(),
            ),
            None => Default::default(),
        };
        let code = [100, 180, 183, 200, 302, 401, 407, 486, 487, 491, 500][rng.below(11) as usize];
        let method = [
            "BYE", "INVITE", "REFER", "NOTIFY", "INFO", "PRACK", "OPTIONS", "CANCEL", "ACK",
            "UPDATE",
        ][rng.below(10) as usize];
        let templates = [
            format!(
                "SIP/2.0 {code} X\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\nFrom: <sip:alice@example.com>;tag={from_tag}\r\n\
                 To: <sip:bob@example.com>;tag=b{}\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\nContact: <sip:bob@192.0.2.2>;q=0.{}\r\n\
                 Require: 100rel\r\nRSeq: {}\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n{}\"\r\n\
                 Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n",
                rng.below(3),
                rng.below(10),
                rng.below(4),
                rng.below(2)
            ),
            format!(
                "{method} sip:alice@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK{i}\r\nMax-Forwards: 70\r\n\
                 From: <sip:bob@example.com>;tag=b{}\r\nTo: <sip:alice@example.com>;tag={from_tag}\r\nCall-ID: {call_id}\r\n\
                 CSeq: {} {method}\r\nContact: <sip:bob@192.0.2.2>\r\nEvent: refer\r\nSubscription-State: active\r\n\
                 Refer-To: <sip:carol@example.com>\r\nRAck: 1 1 INVITE\r\nContent-Type: application/dtmf-relay\r\n\
                 Content-Length: 9\r\n\r\nSignal=5\n",
                rng.below(3),
                rng.below(30)
            ),
            format!(
                "INVITE sip:alice@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKn{i}\r\nMax-Forwards: 70\r\n\
                 From: <sip:bob@example.com>;tag=x{i}\r\nTo: <sip:alice@example.com>\r\nCall-ID: in-{}\r\n\
                 CSeq: 1 INVITE\r\nContact: <sip:bob@192.0.2.2>\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n",
                rng.below(5)
            ),
        ];
        let mut bytes = templates[rng.below(3) as usize].clone().into_bytes();
        if rng.below(3) > 0 {
            mutate(&mut rng, &mut bytes);
        }
        match receive_datagram(&bytes) {
            Inbound::Request(r) => layer.handle_message(now, r.into(), them),
            Inbound::Response(r) => layer.handle_message(now, r.into(), them),
            _ => {}
        }
        // Random application actions; errors are fine, panics are not.
        if let Some(&h) = handles.get(rng.below(handles.len() as u64 + 1) as usize) {
            let _ = match rng.below(9) {
                0 => calls.hangup(now, &mut layer, h),
                1 => calls.hold(now, &mut layer, h, b"v=0\r\n".to_vec()),
                2 => calls.send_dtmf(now, &mut layer, h, '1', 100),
                3 => calls.transfer(now, &mut layer, h, "sip:carol@example.com"),
                4 => calls.answer(now, &mut layer, h, b"v=0\r\n".to_vec()),
                5 => calls.ring(now, &mut layer, h),
                6 => calls.answer_update(now, &mut layer, h, b"v=0\r\n".to_vec()),
                7 => calls.transfer_progress(now, &mut layer, h, 200, "OK"),
                _ => calls.reject(now, &mut layer, h, 486),
            };
        }
        layer.handle_timeout(now);
        calls.handle_timeout(now, &mut layer);
        for _ in 0..100 {
            let mut moved = false;
            while let Some(ev) = layer.poll_event() {
                moved = true;
                let _ = calls.handle_transaction_event(now, &mut layer, ev);
            }
            while let Some(t) = layer.poll_transmit() {
                moved = true;
                if let rsip::SipMessage::Request(r) = t.message
                    && r.method == rsip::Method::Invite
                {
                    last_invite = Some(r);
                }
            }
            while let Some(e) = calls.poll_event() {
                moved = true;
                if let CallEvent::Incoming { call, .. } = e {
                    handles.push(call);
                }
            }
            if !moved {
                break;
            }
        }
        // No timer may stay due after handle_timeout: a driver sleeping until it would spin.
        assert!(
            calls.poll_timeout().is_none_or(|t| t > now),
            "call timer stuck at step {i}"
        );
    }
}
