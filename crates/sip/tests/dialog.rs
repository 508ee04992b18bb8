//! Dialog rules of RFC 3261 §12 on messages that went through the receive path.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use homeline_sip::dialog::{Dialog, DialogError, DialogState};
use homeline_sip::transaction::TransportKind;
use homeline_sip::{Inbound, receive_datagram};
use rsip::prelude::*;

fn req(text: &str) -> rsip::Request {
    match receive_datagram(text.replace('\n', "\r\n").as_bytes()) {
        Inbound::Request(r) => r,
        other => panic!("{other:?}"),
    }
}

fn resp(text: &str) -> rsip::Response {
    match receive_datagram(text.replace('\n', "\r\n").as_bytes()) {
        Inbound::Response(r) => r,
        other => panic!("{other:?}"),
    }
}

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Record-Route: <sip:p1.example.com;lr>
Record-Route: <sip:p2.example.com;lr>
Content-Length: 0

";

fn ok_200(rr: &str) -> String {
    format!(
        "SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
{rr}Content-Length: 0

"
    )
}

fn headers(r: &rsip::Request, name: &str) -> Vec<String> {
    let text = String::from_utf8(homeline_sip::message::serialize(&r.clone().into())).unwrap();
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.to_owned())
        .collect()
}

#[test]
fn uac_dialog_reverses_record_route_and_builds_bye() {
    let invite = req(INVITE);
    let ok = resp(&ok_200(
        "Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\n",
    ));
    let mut d = Dialog::new_uac(&invite, &ok).unwrap();
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(d.id.local_tag, "1928301774");
    assert_eq!(d.id.remote_tag, "a6c85cf");
    assert_eq!(d.remote_target, "sip:bob@192.0.2.4");
    assert_eq!(
        d.route_set,
        vec!["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    let bye = d
        .create_request(
            rsip::Method::Bye,
            TransportKind::Udp,
            "pc33.atlanta.example.com",
            "z9hG4bKbye1",
        )
        .unwrap();
    assert_eq!(bye.uri.to_string(), "sip:bob@192.0.2.4", "loose routing");
    assert_eq!(
        headers(&bye, "Route"),
        vec!["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    assert_eq!(headers(&bye, "CSeq"), vec!["314160 BYE"]);
    assert_eq!(
        headers(&bye, "To"),
        vec!["Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"]
    );
    assert_eq!(
        headers(&bye, "From"),
        vec!["Alice <sip:alice@atlanta.example.com>;tag=1928301774"]
    );
    let ack = d
        .ack(
            314159,
            TransportKind::Udp,
            "pc33.atlanta.example.com",
            "z9hG4bKack1",
        )
        .unwrap();
    assert_eq!(headers(&ack, "CSeq"), vec!["314159 ACK"]);
}

#[test]
fn strict_route_puts_first_route_in_request_uri() {
    let invite = req(INVITE);
    let ok = resp(&ok_200("Record-Route: <sip:strict.example.com>\n"));
    let mut d = Dialog::new_uac(&invite, &ok).unwrap();
    let bye = d
        .create_request(rsip::Method::Bye, TransportKind::Udp, "h", "z9hG4bKs")
        .unwrap();
    assert_eq!(bye.uri.to_string(), "sip:strict.example.com");
    assert_eq!(headers(&bye, "Route"), vec!["<sip:bob@192.0.2.4>"]);
}

#[test]
fn early_dialog_is_confirmed_by_2xx_and_target_refreshed() {
    let invite = req(INVITE);
    let ringing = resp(
        &ok_200("Record-Route: <sip:p1.example.com;lr>\n")
            .replace("200 OK", "180 Ringing")
            .replace("sip:bob@192.0.2.4", "sip:bob@early.example.com"),
    );
    let mut d = Dialog::new_uac(&invite, &ringing).unwrap();
    assert_eq!(d.state, DialogState::Early);
    assert_eq!(d.remote_target, "sip:bob@early.example.com");
    d.handle_response(&resp(&ok_200("")));
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(d.remote_target, "sip:bob@192.0.2.4");
    assert!(d.route_set.is_empty(), "2xx fixes the route set");
}

/// §12.2.1.2: a 2xx to a re-INVITE refreshes the remote target but never the route set,
/// whatever Record-Route it carries (our UAS echoes the re-INVITE's).
#[test]
fn reinvite_2xx_changes_the_target_not_the_route_set() {
    let invite = req(INVITE);
    let mut d = Dialog::new_uac(
        &invite,
        &resp(&ok_200("Record-Route: <sip:p1.example.com;lr>\n")),
    )
    .unwrap();
    let reinvite_ok = ok_200("Record-Route: <sip:elsewhere.example.com;lr>\n")
        .replace("CSeq: 314159", "CSeq: 314160")
        .replace("sip:bob@192.0.2.4", "sip:bob@192.0.2.44");
    d.handle_response(&resp(&reinvite_ok));
    assert_eq!(d.route_set, vec!["<sip:p1.example.com;lr>"]);
    assert_eq!(d.remote_target, "sip:bob@192.0.2.44");
}

#[test]
fn response_without_to_tag_does_not_form_a_dialog() {
    let invite = req(INVITE);
    let trying = resp(
        &ok_200("")
            .replace("200 OK", "100 Trying")
            .replace(";tag=a6c85cf", ""),
    );
    assert_eq!(
        Dialog::new_uac(&invite, &trying),
        Err(DialogError::NotDialogForming(100))
    );
}

#[test]
fn uas_dialog_checks_cseq_order_and_refreshes_target() {
    let invite = req(INVITE);
    let mut d = Dialog::new_uas(&invite, "uas-tag", true).unwrap();
    assert_eq!(d.remote_seq, Some(314159));
    assert_eq!(
        d.route_set,
        vec!["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"],
        "UAS keeps Record-Route order"
    );
    let in_dialog = |method: &str, seq: u32, contact: &str| {
        req(&format!(
            "{method} sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK{seq}
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>;tag=uas-tag
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: {seq} {method}
Contact: <{contact}>
Content-Length: 0

"
        ))
    };
    d.handle_request(&in_dialog("INVITE", 314160, "sip:alice@new.example.com"))
        .unwrap();
    assert_eq!(d.remote_target, "sip:alice@new.example.com");
    assert_eq!(
        d.handle_request(&in_dialog("INFO", 314100, "sip:x@y")),
        Err(DialogError::CSeqOutOfOrder {
            got: 314100,
            last: 314160
        })
    );
    // ACK carries the INVITE's number and is exempt.
    d.handle_request(&in_dialog("ACK", 314160, "sip:alice@new.example.com"))
        .unwrap();
    let mut foreign = in_dialog("BYE", 314161, "sip:x@y");
    foreign.headers.iter_mut().for_each(|h| {
        if let rsip::Header::CallId(c) = h {
            c.replace("other");
        }
    });
    assert_eq!(d.handle_request(&foreign), Err(DialogError::Mismatch));
    // Our own requests start at CSeq 1 in this dialog.
    let bye = d
        .create_request(
            rsip::Method::Bye,
            TransportKind::Tcp,
            "biloxi.example.com",
            "z9hG4bKu",
        )
        .unwrap();
    assert_eq!(headers(&bye, "CSeq"), vec!["1 BYE"]);
    assert_eq!(
        headers(&bye, "Route"),
        vec!["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    assert!(headers(&bye, "Via")[0].starts_with("SIP/2.0/TCP biloxi.example.com"));
}

#[test]
fn forking_gives_one_dialog_per_to_tag_and_extra_2xx_can_be_acked_and_ended() {
    // §13.2.2.4: each 2xx from a different fork forms its own dialog; the UAC keeps the first
    // and ends the others with ACK then BYE.
    let invite = req(INVITE);
    let fork = |tag: &str, code: &str, contact: &str| {
        resp(
            &ok_200("")
                .replace("200 OK", code)
                .replace("a6c85cf", tag)
                .replace("sip:bob@192.0.2.4", contact),
        )
    };
    let early_a = Dialog::new_uac(
        &invite,
        &fork("forkA", "180 Ringing", "sip:bob@a.example.com"),
    )
    .unwrap();
    let early_b = Dialog::new_uac(
        &invite,
        &fork("forkB", "183 Session Progress", "sip:bob@b.example.com"),
    )
    .unwrap();
    assert_ne!(early_a.id, early_b.id);
    assert_eq!(early_a.state, DialogState::Early);

    let mut winner = early_a.clone();
    winner.handle_response(&fork("forkA", "200 OK", "sip:bob@a.example.com"));
    assert_eq!(winner.state, DialogState::Confirmed);

    let mut loser =
        Dialog::new_uac(&invite, &fork("forkB", "200 OK", "sip:bob@b.example.com")).unwrap();
    let ack = loser
        .ack(
            314159,
            TransportKind::Udp,
            "pc33.atlanta.example.com",
            "z9hG4bKackB",
        )
        .unwrap();
    let bye = loser
        .create_request(
            rsip::Method::Bye,
            TransportKind::Udp,
            "pc33.atlanta.example.com",
            "z9hG4bKbyeB",
        )
        .unwrap();
    assert_eq!(ack.uri.to_string(), "sip:bob@b.example.com");
    assert_eq!(bye.uri.to_string(), "sip:bob@b.example.com");
    assert_eq!(
        headers(&bye, "To"),
        vec!["Bob <sip:bob@biloxi.example.com>;tag=forkB"]
    );
}

#[test]
fn ack_wait_retransmits_t1_doubling_to_t2_and_gives_up_at_64_t1() {
    use homeline_sip::dialog::{AckWait, AckWaitAction};
    use homeline_sip::transaction::{TimerConfig, response_for};
    use std::time::Instant;
    let t0 = Instant::now();
    let ok = response_for(&req(INVITE), 200, "OK");
    let mut w = AckWait::new(t0, ok.clone(), false, TimerConfig::default());
    let mut sends = Vec::new();
    let mut gave_up = None;
    while let Some(t) = w.poll_timeout() {
        match w.handle_timeout(t) {
            Some(AckWaitAction::Retransmit(_)) => sends.push((t - t0).as_millis()),
            Some(AckWaitAction::GiveUp) => gave_up = Some((t - t0).as_millis()),
            None => {}
        }
    }
    assert_eq!(
        sends,
        vec![
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert_eq!(gave_up, Some(32_000));
    // Reliable: no retransmissions, same deadline.
    let mut w = AckWait::new(t0, ok, true, TimerConfig::default());
    assert_eq!(
        w.poll_timeout(),
        Some(t0 + std::time::Duration::from_secs(32))
    );
    assert_eq!(
        w.handle_timeout(t0 + std::time::Duration::from_secs(32)),
        Some(AckWaitAction::GiveUp)
    );
}

#[test]
fn reliable_provisional_prack_flow() {
    use homeline_sip::dialog::{AckWait, AckWaitAction};
    use homeline_sip::prack::{
        RseqDecision, RseqTracker, make_reliable, prack_for, requires_100rel, rseq,
    };
    use homeline_sip::transaction::TimerConfig;
    use std::time::Instant;

    // UAS: a reliable 183 with RSeq 1.
    let invite = req(INVITE);
    let mut uas_dialog = Dialog::new_uas(&invite, "uas1", false).unwrap();
    let progress = homeline_sip::responses::with_to_tag(
        homeline_sip::transaction::response_for(&invite, 183, "Session Progress"),
        "uas1",
    );
    let mut progress = make_reliable(progress, 1);
    progress
        .headers
        .push(rsip::headers::Contact::new("<sip:bob@192.0.2.4>").into());
    // Through the wire and back, as the UAC sees it.
    let wire = homeline_sip::message::serialize(&progress.clone().into());
    let Inbound::Response(seen) = receive_datagram(&wire) else {
        panic!()
    };
    assert!(requires_100rel(&seen.headers));
    assert_eq!(rseq(&seen), Some(1));

    // UAC: accept once, PRACK with RAck.
    let mut uac_dialog = Dialog::new_uac(&invite, &seen).unwrap();
    let mut tracker = RseqTracker::default();
    assert_eq!(tracker.check(1), RseqDecision::Accept);
    assert_eq!(tracker.check(1), RseqDecision::Duplicate);
    assert_eq!(tracker.check(3), RseqDecision::OutOfOrder);
    assert_eq!(tracker.check(2), RseqDecision::Accept);
    let prack = prack_for(
        &mut uac_dialog,
        &seen,
        TransportKind::Udp,
        "pc33.atlanta.example.com",
        "z9hG4bKpr1",
    )
    .unwrap();
    assert_eq!(prack.method, rsip::Method::PRack);
    assert_eq!(headers(&prack, "RAck"), vec!["1 314159 INVITE"]);
    assert_eq!(headers(&prack, "CSeq"), vec!["314160 PRACK"]);
    // The UAS accepts the PRACK in the dialog.
    let wire = homeline_sip::message::serialize(&prack.into());
    let Inbound::Request(prack) = receive_datagram(&wire) else {
        panic!()
    };
    uas_dialog.handle_request(&prack).unwrap();

    // UAS retransmission of the reliable 1xx: T1 doubling without the T2 cap.
    let t0 = Instant::now();
    let mut w = AckWait::for_reliable_provisional(t0, progress, false, TimerConfig::default());
    let mut sends = Vec::new();
    while let Some(t) = w.poll_timeout() {
        if let Some(AckWaitAction::Retransmit(_)) = w.handle_timeout(t) {
            sends.push((t - t0).as_millis());
        }
    }
    assert_eq!(sends, vec![500, 1500, 3500, 7500, 15500, 31500]);
}
