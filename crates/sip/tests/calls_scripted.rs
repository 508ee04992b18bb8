//! The call layer against scripted peers on simulated time: a proxy that challenges, a forking
//! proxy, a redirect server, a UAS that sends reliable provisionals, and OPTIONS probes.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

mod sim;

use homeline_sip::auth::{Challenge, Credentials, DigestSession};
use homeline_sip::call::{CallEvent, CallHandle, EndCause};
use homeline_sip::message::header_param;
use homeline_sip::transaction::{TransactionEvent, TransportKind, response_for};

use sim::{Sim, parse};

const OFFER: &[u8] = b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n";
const ANSWER: &[u8] = b"v=0\r\nm=audio 5000 RTP/AVP 0\r\n";

fn alice_and(script: &str, addr: &str, creds: bool) -> Sim {
    let mut sim = Sim::new();
    let mut cfg = Sim::config("alice", "192.0.2.1:5060");
    if creds {
        cfg.credentials = Some(Credentials {
            username: "alice".into(),
            password: "secret".into(),
        });
    }
    sim.add_ua("alice", "192.0.2.1:5060", cfg, 7);
    sim.add_script(script, addr);
    sim
}

fn dial_via(sim: &mut Sim, script: &str, target: &str) -> CallHandle {
    let peer = sim.addr(script);
    let target = target.to_owned();
    sim.act("alice", |c, l, now| {
        c.dial(now, l, &target, OFFER.to_vec(), peer)
    })
    .unwrap()
}

/// The requests that reached a scripted node so far (taken).
fn requests(sim: &mut Sim, name: &str) -> Vec<rsip::Request> {
    std::mem::take(sim.inbox(name))
        .into_iter()
        .filter_map(|(_, m, _)| match m {
            rsip::SipMessage::Request(r) => Some(r),
            rsip::SipMessage::Response(_) => None,
        })
        .collect()
}

/// A response to `req` with a To tag, extra header lines and a body.
fn reply(
    req: &rsip::Request,
    code: u16,
    reason: &str,
    tag: Option<&str>,
    extra: &[String],
    body: &[u8],
) -> rsip::SipMessage {
    let mut r = response_for(req, code, reason);
    if let Some(t) = tag {
        r = homeline_sip::responses::with_to_tag(r, t);
    }
    let text = String::from_utf8(homeline_sip::message::serialize(&r.into())).unwrap();
    let mut head = text.replace("Content-Length: 0\r\n\r\n", "");
    for e in extra {
        head.push_str(e);
        head.push_str("\r\n");
    }
    if !body.is_empty() {
        head.push_str("Content-Type: application/sdp\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    parse(std::str::from_utf8(&bytes).unwrap())
}

fn header(req: &rsip::Request, name: &str) -> String {
    req.headers
        .iter()
        .find_map(|h| {
            let s = h.to_string();
            let (n, v) = s.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default()
}

fn ended(sim: &mut Sim) -> Option<(u64, EndCause)> {
    sim.events("alice").into_iter().find_map(|(t, e)| match e {
        CallEvent::Ended { cause, .. } => Some((t, cause)),
        _ => None,
    })
}

const CHALLENGE: &str =
    "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"n1\", qop=\"auth\", algorithm=MD5";

#[test]
fn invite_answers_a_407_with_credentials() {
    let mut sim = alice_and("proxy", "192.0.2.9:5060", true);
    dial_via(&mut sim, "proxy", "sip:bob@example.com");
    sim.run_until(30);
    let first = requests(&mut sim, "proxy").remove(0);
    let m = reply(
        &first,
        407,
        "Proxy Authentication Required",
        Some("p1"),
        &[CHALLENGE.into()],
        b"",
    );
    sim.send("proxy", "alice", &m);
    sim.run_until(90);
    let reqs = requests(&mut sim, "proxy");
    let invite = reqs
        .iter()
        .find(|r| r.method == rsip::Method::Invite)
        .unwrap()
        .clone();
    // §22.2: same Call-ID and From tag, CSeq + 1, the offer again, with credentials.
    assert_eq!(header(&invite, "Call-ID"), header(&first, "Call-ID"));
    assert_eq!(header(&invite, "From"), header(&first, "From"));
    assert_eq!(header(&invite, "CSeq"), "2 INVITE");
    assert_eq!(invite.body, OFFER);
    let auth = header(&invite, "Proxy-Authorization");
    let cnonce = header_param(
        &auth.replace("Digest ", "Digest;").replace(", ", ";"),
        "cnonce",
    )
    .unwrap()
    .to_owned();
    let challenge = Challenge::parse(CHALLENGE.split_once(": ").unwrap().1, true).unwrap();
    let expected = DigestSession::new(challenge).authorize(
        &Credentials {
            username: "alice".into(),
            password: "secret".into(),
        },
        "INVITE",
        "sip:bob@example.com",
        &cnonce,
        OFFER,
    );
    assert!(
        auth.contains(&format!("response=\"{}\"", expected.response)),
        "{auth}"
    );
    let ok = reply(
        &invite,
        200,
        "OK",
        Some("b1"),
        &["Contact: <sip:bob@192.0.2.2:5060>".into()],
        ANSWER,
    );
    sim.send("proxy", "alice", &ok);
    sim.run_until(200);
    assert_eq!(
        sim.lines(),
        [
            "0 alice>proxy INVITE",
            "30 proxy>alice 407 INVITE",
            "60 alice>proxy ACK",
            "60 alice>proxy INVITE",
            "90 proxy>alice 200 INVITE",
            "120 alice>proxy ACK",
        ]
    );
    assert!(
        sim.events("alice").iter().any(|(t, e)| *t == 120
            && matches!(e, CallEvent::Answered { answer, .. } if answer == ANSWER))
    );
}

#[test]
fn a_second_challenge_means_wrong_credentials() {
    let mut sim = alice_and("proxy", "192.0.2.9:5060", true);
    dial_via(&mut sim, "proxy", "sip:bob@example.com");
    sim.run_until(30);
    let first = requests(&mut sim, "proxy").remove(0);
    sim.send(
        "proxy",
        "alice",
        &reply(
            &first,
            407,
            "Proxy Authentication Required",
            Some("p1"),
            &[CHALLENGE.into()],
            b"",
        ),
    );
    sim.run_until(90);
    let second = requests(&mut sim, "proxy")
        .into_iter()
        .find(|r| r.method == rsip::Method::Invite)
        .unwrap();
    let again = CHALLENGE.replace("n1", "n2");
    sim.send(
        "proxy",
        "alice",
        &reply(
            &second,
            407,
            "Proxy Authentication Required",
            Some("p2"),
            &[again],
            b"",
        ),
    );
    sim.run_until(200);
    assert_eq!(sim.lines_with("INVITE").len(), 2, "no third INVITE");
    let (t, cause) = ended(&mut sim).unwrap();
    assert_eq!(t, 120);
    let EndCause::Failed(f) = cause else {
        panic!("{cause:?}")
    };
    assert_eq!(f.code, 407);
    assert!(f.hint.contains("user name and password"));
}

#[test]
fn forking_first_2xx_wins_the_other_gets_ack_and_bye() {
    let mut sim = alice_and("proxy", "192.0.2.9:5060", false);
    dial_via(&mut sim, "proxy", "sip:bob@example.com");
    sim.run_until(30);
    let invite = requests(&mut sim, "proxy").remove(0);
    let c1 = "Contact: <sip:bob@192.0.2.21:5060>".to_owned();
    let c2 = "Contact: <sip:bob@192.0.2.22:5060>".to_owned();
    sim.send(
        "proxy",
        "alice",
        &reply(
            &invite,
            180,
            "Ringing",
            Some("b1"),
            std::slice::from_ref(&c1),
            b"",
        ),
    );
    sim.send(
        "proxy",
        "alice",
        &reply(
            &invite,
            180,
            "Ringing",
            Some("b2"),
            std::slice::from_ref(&c2),
            b"",
        ),
    );
    sim.run_until(100);
    sim.send(
        "proxy",
        "alice",
        &reply(&invite, 200, "OK", Some("b1"), &[c1], ANSWER),
    );
    sim.run_until(110);
    sim.send(
        "proxy",
        "alice",
        &reply(&invite, 200, "OK", Some("b2"), &[c2], ANSWER),
    );
    sim.run_until(300);
    assert_eq!(
        sim.lines(),
        [
            "0 alice>proxy INVITE",
            "30 proxy>alice 180 INVITE",
            "30 proxy>alice 180 INVITE",
            "100 proxy>alice 200 INVITE",
            "110 proxy>alice 200 INVITE",
            "130 alice>proxy ACK",
            "140 alice>proxy ACK",
            "140 alice>proxy BYE",
        ]
    );
    let reqs = requests(&mut sim, "proxy");
    let summary: Vec<(String, String, String)> = reqs
        .iter()
        .map(|r| {
            let to = header(r, "To");
            (
                r.method.to_string(),
                r.uri.to_string(),
                header_param(&to, "tag").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("ACK".into(), "sip:bob@192.0.2.21:5060".into(), "b1".into()),
            ("ACK".into(), "sip:bob@192.0.2.22:5060".into(), "b2".into()),
            ("BYE".into(), "sip:bob@192.0.2.22:5060".into(), "b2".into()),
        ]
    );
    let alice = sim.events("alice");
    let progress = alice
        .iter()
        .filter(|(_, e)| matches!(e, CallEvent::Progress { code: 180, .. }))
        .count();
    let answered: Vec<u64> = alice
        .iter()
        .filter(|(_, e)| matches!(e, CallEvent::Answered { .. }))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!((progress, answered), (2, vec![130]));
    let h = alice
        .iter()
        .find_map(|(_, e)| match e {
            CallEvent::Answered { call, .. } => Some(*call),
            _ => None,
        })
        .unwrap();
    assert_eq!(sim.ua("alice").calls.dialog(h).unwrap().id.remote_tag, "b1");
}

#[test]
fn redirects_are_followed_in_q_order_without_loops() {
    let mut sim = alice_and("redir", "192.0.2.8:5060", false);
    // The new targets have literal addresses: Alice reaches them directly.
    sim.add_script("carol", "192.0.2.3:5060");
    sim.add_script("bobphone", "192.0.2.2:5060");
    dial_via(&mut sim, "redir", "sip:bob@example.com");
    sim.run_until(30);
    let first = requests(&mut sim, "redir").remove(0);
    let contacts =
        "Contact: <sip:bob@192.0.2.2:5060>;q=0.5, <sip:carol@192.0.2.3:5060>;q=0.9".to_owned();
    sim.send(
        "redir",
        "alice",
        &reply(
            &first,
            302,
            "Moved Temporarily",
            Some("r1"),
            &[contacts],
            b"",
        ),
    );
    sim.run_until(90);
    let second = requests(&mut sim, "carol")
        .into_iter()
        .find(|r| r.method == rsip::Method::Invite)
        .unwrap();
    assert_eq!(second.uri.to_string(), "sip:carol@192.0.2.3:5060");
    assert_eq!(header(&second, "CSeq"), "2 INVITE");
    // Carol's server points back at targets already tried: the loop guard skips them.
    let back = "Contact: <sip:bob@example.com>, <sip:carol@192.0.2.3:5060>".to_owned();
    sim.send(
        "carol",
        "alice",
        &reply(&second, 302, "Moved Temporarily", Some("r2"), &[back], b""),
    );
    sim.run_until(150);
    let third = requests(&mut sim, "bobphone")
        .into_iter()
        .find(|r| r.method == rsip::Method::Invite)
        .unwrap();
    assert_eq!(third.uri.to_string(), "sip:bob@192.0.2.2:5060");
    sim.send(
        "bobphone",
        "alice",
        &reply(&third, 404, "Not Found", Some("r3"), &[], b""),
    );
    sim.run_until(200);
    assert_eq!(
        sim.lines(),
        [
            "0 alice>redir INVITE",
            "30 redir>alice 302 INVITE",
            "60 alice>redir ACK",
            "60 alice>carol INVITE",
            "90 carol>alice 302 INVITE",
            "120 alice>carol ACK",
            "120 alice>bobphone INVITE",
            "150 bobphone>alice 404 INVITE",
            "180 alice>bobphone ACK",
        ]
    );
    let (t, cause) = ended(&mut sim).unwrap();
    assert_eq!(t, 180);
    assert!(
        matches!(cause, EndCause::Failed(f) if f.message == "that number or address does not exist")
    );
}

#[test]
fn endless_redirection_stops_at_the_limit() {
    let mut sim = alice_and("redir", "192.0.2.8:5060", false);
    dial_via(&mut sim, "redir", "sip:bob@example.com");
    for i in 0..10 {
        sim.run_until(30 + 60 * i);
        let Some(inv) = requests(&mut sim, "redir")
            .into_iter()
            .find(|r| r.method == rsip::Method::Invite)
        else {
            break;
        };
        let c = format!("Contact: <sip:hop{i}@192.0.2.8:5060>");
        sim.send(
            "redir",
            "alice",
            &reply(&inv, 302, "Moved", Some("r"), &[c], b""),
        );
    }
    // The first INVITE and five redirections.
    assert_eq!(
        sim.lines()
            .iter()
            .filter(|l| l.ends_with("alice>redir INVITE"))
            .count(),
        6
    );
    let (_, cause) = ended(&mut sim).unwrap();
    assert!(matches!(cause, EndCause::Failed(f) if f.code == 302));
}

#[test]
fn reliable_provisional_gets_one_prack() {
    let mut sim = alice_and("uas", "192.0.2.5:5060", false);
    dial_via(&mut sim, "uas", "sip:bob@192.0.2.5:5060");
    sim.run_until(30);
    let invite = requests(&mut sim, "uas").remove(0);
    assert!(header(&invite, "Supported").contains("100rel"));
    let rel = vec![
        "Contact: <sip:bob@192.0.2.5:5060>".to_owned(),
        "Require: 100rel".to_owned(),
        "RSeq: 1".to_owned(),
    ];
    let ringing = reply(&invite, 183, "Session Progress", Some("u1"), &rel, ANSWER);
    sim.send("uas", "alice", &ringing);
    sim.run_until(100);
    // RFC 3262 §3: the UAS retransmits until the PRACK; a duplicate gets no new PRACK.
    sim.send("uas", "alice", &ringing);
    sim.run_until(200);
    let reqs = requests(&mut sim, "uas");
    let pracks: Vec<&rsip::Request> = reqs
        .iter()
        .filter(|r| r.method == rsip::Method::PRack)
        .collect();
    assert_eq!(pracks.len(), 1);
    assert_eq!(header(pracks[0], "RAck"), "1 1 INVITE");
    assert_eq!(header(pracks[0], "CSeq"), "2 PRACK");
    assert_eq!(pracks[0].uri.to_string(), "sip:bob@192.0.2.5:5060");
    sim.send("uas", "alice", &reply(pracks[0], 200, "OK", None, &[], b""));
    sim.send(
        "uas",
        "alice",
        &reply(
            &invite,
            200,
            "OK",
            Some("u1"),
            &["Contact: <sip:bob@192.0.2.5:5060>".into()],
            ANSWER,
        ),
    );
    sim.run_until(300);
    assert_eq!(
        sim.lines(),
        [
            "0 alice>uas INVITE",
            "30 uas>alice 183 INVITE",
            "60 alice>uas PRACK",
            "100 uas>alice 183 INVITE",
            "200 uas>alice 200 PRACK",
            "200 uas>alice 200 INVITE",
            "230 alice>uas ACK",
        ]
    );
    let early: Vec<(u64, Option<Vec<u8>>)> = sim
        .events("alice")
        .into_iter()
        .filter_map(|(t, e)| match e {
            CallEvent::Progress { early_media, .. } => Some((t, early_media)),
            _ => None,
        })
        .collect();
    assert_eq!(
        early,
        [(60, Some(ANSWER.to_vec()))],
        "early media reported once"
    );
}

#[test]
fn options_are_answered_with_allow_and_accept_in_and_outside_dialogs() {
    let mut sim = alice_and("probe", "192.0.2.7:5060", false);
    let options = parse(
        "OPTIONS sip:alice@192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKo1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@example.com>;tag=p\r\nTo: <sip:alice@example.com>\r\n\
         Call-ID: probe-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
    );
    sim.send("probe", "alice", &options);
    sim.run_until(100);
    let inbox = std::mem::take(sim.inbox("probe"));
    let rsip::SipMessage::Response(ok) = &inbox[0].1 else {
        panic!()
    };
    assert_eq!(ok.status_code.code(), 200);
    let text = String::from_utf8(homeline_sip::message::serialize(&ok.clone().into())).unwrap();
    assert!(
        text.contains("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO, PRACK\r\n"),
        "{text}"
    );
    assert!(text.contains("Accept: application/sdp, application/dtmf-relay, message/sipfrag\r\n"));

    // Inside a dialog: Alice calls the probe, which answers; then it sends OPTIONS in the dialog.
    let h = dial_via(&mut sim, "probe", "sip:probe@192.0.2.7:5060");
    sim.run_until(130);
    let invite = requests(&mut sim, "probe").remove(0);
    sim.send(
        "probe",
        "alice",
        &reply(
            &invite,
            200,
            "OK",
            Some("pt"),
            &["Contact: <sip:probe@192.0.2.7:5060>".into()],
            ANSWER,
        ),
    );
    sim.run_until(200);
    let d = sim.ua("alice").calls.dialog(h).unwrap().clone();
    let in_dialog = parse(&format!(
        "OPTIONS sip:alice@192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKo2\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@192.0.2.7:5060>;tag=pt\r\nTo: <sip:alice@example.com>;tag={}\r\n\
         Call-ID: {}\r\nCSeq: 5 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        d.id.local_tag, d.id.call_id
    ));
    std::mem::take(sim.inbox("probe"));
    sim.send("probe", "alice", &in_dialog);
    sim.run_until(300);
    let inbox = std::mem::take(sim.inbox("probe"));
    let rsip::SipMessage::Response(ok) = &inbox[0].1 else {
        panic!()
    };
    assert_eq!(ok.status_code.code(), 200);
    assert!(
        ok.headers
            .iter()
            .any(|h| matches!(h, rsip::Header::Allow(_)))
    );
    // Requests the call layer does not handle go back to the driver.
    let message = parse(
        "MESSAGE sip:alice@192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKm1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@example.com>;tag=p\r\nTo: <sip:alice@example.com>\r\n\
         Call-ID: msg-1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
    );
    sim.send("probe", "alice", &message);
    sim.run_until(400);
    assert!(sim.ua("alice").other.iter().any(|e| matches!(e, TransactionEvent::Request { request, .. } if request.method == rsip::Method::Message)));
    let _ = TransportKind::Udp;
}

#[test]
fn a_caller_requiring_100rel_gets_a_reliable_180_until_its_prack() {
    let mut sim = Sim::new();
    sim.add_ua(
        "bob",
        "192.0.2.2:5060",
        Sim::config("bob", "192.0.2.2:5060"),
        9,
    );
    sim.add_script("caller", "192.0.2.4:5060");
    let invite = parse(
        "INVITE sip:bob@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKr1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@example.com>;tag=c1\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: rel-1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@192.0.2.4:5060>\r\n\
         Record-Route: <sip:p1.example.com;lr>\r\n\
         Require: 100rel\r\nContent-Type: application/sdp\r\nContent-Length: 28\r\n\r\n\
         v=0\r\nm=audio 4000 RTP/AVP 0\r\n",
    );
    sim.send("caller", "bob", &invite);
    sim.run_until(30);
    let b = sim
        .events("bob")
        .iter()
        .find_map(|(_, e)| match e {
            CallEvent::Incoming { call, .. } => Some(*call),
            _ => None,
        })
        .unwrap();
    sim.act("bob", |c, l, now| c.ring(now, l, b)).unwrap();
    sim.run_until(1100);
    let ringing: Vec<rsip::Response> = std::mem::take(sim.inbox("caller"))
        .into_iter()
        .filter_map(|(_, m, _)| match m {
            rsip::SipMessage::Response(r) => Some(r),
            _ => None,
        })
        .collect();
    let text =
        String::from_utf8(homeline_sip::message::serialize(&ringing[0].clone().into())).unwrap();
    assert!(
        text.contains("Require: 100rel\r\n") && text.contains("RSeq: 1\r\n"),
        "{text}"
    );
    // The reliable 180 forms an early dialog: it and its retransmission carry the
    // Record-Route (RFC 3261 §12.1.1).
    assert_eq!(ringing.len(), 2);
    for r in &ringing {
        assert_eq!(
            sim::header_values(&r.clone().into(), "Record-Route"),
            ["<sip:p1.example.com;lr>"]
        );
    }
    let tag = header_param(
        &ringing[0]
            .headers
            .iter()
            .find_map(|h| match h {
                rsip::Header::To(t) => Some(t.to_string()),
                _ => None,
            })
            .unwrap(),
        "tag",
    )
    .unwrap()
    .to_owned();
    let prack = parse(&format!(
        "PRACK sip:bob@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKr2\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@example.com>;tag=c1\r\nTo: <sip:bob@example.com>;tag={tag}\r\n\
         Call-ID: rel-1\r\nCSeq: 2 PRACK\r\nRAck: 1 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    ));
    sim.send("caller", "bob", &prack);
    sim.run_until(5000);
    // Retransmitted at T1 and 2·T1 (RFC 3262 §3: doubling, no T2 cap) until the PRACK.
    assert_eq!(
        sim.lines(),
        [
            "0 caller>bob INVITE",
            "30 bob>caller 180 INVITE",
            "530 bob>caller 180 INVITE",
            "1100 caller>bob PRACK",
            "1130 bob>caller 200 PRACK",
        ]
    );
}

#[test]
fn a_challenged_bye_is_sent_again_with_credentials() {
    let mut sim = alice_and("proxy", "192.0.2.9:5060", true);
    let h = dial_via(&mut sim, "proxy", "sip:bob@example.com");
    sim.run_until(30);
    let invite = requests(&mut sim, "proxy").remove(0);
    let ok = reply(
        &invite,
        200,
        "OK",
        Some("b1"),
        &["Contact: <sip:bob@192.0.2.2:5060>".into()],
        ANSWER,
    );
    sim.send("proxy", "alice", &ok);
    sim.run_until(1000);
    requests(&mut sim, "proxy");
    sim.act("alice", |c, l, now| c.hangup(now, l, h)).unwrap();
    sim.run_until(1030);
    let bye = requests(&mut sim, "proxy").remove(0);
    assert_eq!(header(&bye, "CSeq"), "2 BYE");
    sim.send(
        "proxy",
        "alice",
        &reply(
            &bye,
            407,
            "Proxy Authentication Required",
            None,
            &[CHALLENGE.into()],
            b"",
        ),
    );
    sim.run_until(1090);
    let again = requests(&mut sim, "proxy").remove(0);
    assert_eq!(again.method, rsip::Method::Bye);
    assert_eq!(header(&again, "CSeq"), "3 BYE");
    assert!(header(&again, "Proxy-Authorization").contains("username=\"alice\""));
    assert_ne!(header(&again, "Via"), header(&bye, "Via"), "a new branch");
    // A second challenge is not answered again.
    sim.send(
        "proxy",
        "alice",
        &reply(
            &again,
            407,
            "Proxy Authentication Required",
            None,
            &[CHALLENGE.into()],
            b"",
        ),
    );
    sim.run_until(1200);
    assert_eq!(sim.lines_with("BYE").len(), 2);
    assert!(matches!(
        ended(&mut sim),
        Some((1000, EndCause::LocalHangup))
    ));
}

#[test]
fn final_failures_end_the_call_with_plain_reasons() {
    for (code, words) in [
        (404, "that number or address does not exist"),
        (487, "the call was cancelled"),
        (403, "the server refused the call"),
        (
            503,
            "the server had a problem with the call (503 Service Unavailable)",
        ),
    ] {
        let mut sim = alice_and("proxy", "192.0.2.9:5060", false);
        dial_via(&mut sim, "proxy", "sip:bob@example.com");
        sim.run_until(30);
        let invite = requests(&mut sim, "proxy").remove(0);
        let reason = if code == 503 {
            "Service Unavailable"
        } else {
            "X"
        };
        sim.send(
            "proxy",
            "alice",
            &reply(&invite, code, reason, Some("p"), &[], b""),
        );
        sim.run_until(100);
        let (t, cause) = ended(&mut sim).unwrap();
        assert_eq!(t, 60);
        let EndCause::Failed(f) = cause else {
            panic!("{code}: {cause:?}")
        };
        assert_eq!((f.code, f.message.as_str()), (code, words));
    }
}

#[test]
fn a_refused_reinvite_leaves_the_call_up() {
    let mut sim = alice_and("proxy", "192.0.2.9:5060", false);
    let h = dial_via(&mut sim, "proxy", "sip:bob@example.com");
    sim.run_until(30);
    let invite = requests(&mut sim, "proxy").remove(0);
    let ok = reply(
        &invite,
        200,
        "OK",
        Some("b1"),
        &["Contact: <sip:bob@192.0.2.2:5060>".into()],
        ANSWER,
    );
    sim.send("proxy", "alice", &ok);
    sim.run_until(1000);
    requests(&mut sim, "proxy");
    sim.act("alice", |c, l, now| c.hold(now, l, h, OFFER.to_vec()))
        .unwrap();
    sim.run_until(1030);
    let reinvite = requests(&mut sim, "proxy").remove(0);
    sim.send(
        "proxy",
        "alice",
        &reply(&reinvite, 488, "Not Acceptable Here", None, &[], b""),
    );
    sim.run_until(1100);
    let failed: Vec<u16> = sim
        .events("alice")
        .into_iter()
        .filter_map(|(_, e)| match e {
            CallEvent::UpdateFailed { failure, .. } => Some(failure.code),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [488]);
    assert_eq!(
        sim.ua("alice").calls.state(h),
        Some(homeline_sip::call::CallState::Active)
    );
    // And the next change may go ahead.
    sim.act("alice", |c, l, now| c.resume(now, l, h, OFFER.to_vec()))
        .unwrap();
}

/// The responses of the scripted node so far (taken), as (ms, response).
fn responses(sim: &mut Sim, name: &str) -> Vec<(u64, rsip::Response)> {
    std::mem::take(sim.inbox(name))
        .into_iter()
        .filter_map(|(t, m, _)| match m {
            rsip::SipMessage::Response(r) => Some((t, r)),
            rsip::SipMessage::Request(_) => None,
        })
        .collect()
}

/// RFC 3261 §12.1.1: the UAS copies the INVITE's Record-Route values, in order, into every
/// dialog-forming response it sends — the 180, the 200 and each 200 retransmission — and
/// keeps them as its route set. A re-INVITE's Record-Route is echoed in its 200 but changes
/// no route set (§12.2).
#[test]
fn uas_copies_record_route_into_its_180_200_and_retransmissions() {
    const RR: [&str; 2] = ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr;ftag=c1>"];
    let mut sim = Sim::new();
    sim.add_ua(
        "bob",
        "192.0.2.2:5060",
        Sim::config("bob", "192.0.2.2:5060"),
        9,
    );
    sim.add_script("caller", "192.0.2.4:5060");
    let invite = parse(&format!(
        "INVITE sip:bob@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKrr1\r\n\
         Max-Forwards: 70\r\nRecord-Route: {}\r\nRecord-Route: {}\r\n\
         From: <sip:caller@example.com>;tag=c1\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: rr-1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@192.0.2.4:5060>\r\n\
         Content-Type: application/sdp\r\nContent-Length: 28\r\n\r\n\
         v=0\r\nm=audio 4000 RTP/AVP 0\r\n",
        RR[0], RR[1]
    ));
    sim.send("caller", "bob", &invite);
    sim.run_until(30);
    let b = sim
        .events("bob")
        .iter()
        .find_map(|(_, e)| match e {
            CallEvent::Incoming { call, .. } => Some(*call),
            _ => None,
        })
        .unwrap();
    sim.act("bob", |c, l, now| c.ring(now, l, b)).unwrap();
    sim.run_until(100);
    sim.act("bob", |c, l, now| c.answer(now, l, b, ANSWER.to_vec()))
        .unwrap();
    // No ACK yet: the 200 goes again at T1 (§13.3.1.4).
    sim.run_until(700);
    let got: Vec<(u64, String, Vec<String>)> = responses(&mut sim, "caller")
        .into_iter()
        .map(|(t, r)| {
            let m: rsip::SipMessage = r.into();
            (t, sim::summary(&m), sim::header_values(&m, "Record-Route"))
        })
        .collect();
    let rr = vec![RR[0].to_owned(), RR[1].to_owned()];
    assert_eq!(
        got,
        [
            (60, "180 INVITE".to_owned(), rr.clone()),
            (130, "200 INVITE".to_owned(), rr.clone()),
            (630, "200 INVITE".to_owned(), rr.clone()),
        ]
    );
    assert_eq!(sim.ua("bob").calls.dialog(b).unwrap().route_set, RR);

    let ack = parse(
        "ACK sip:bob@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKrr2\r\n\
         Max-Forwards: 70\r\nRoute: <sip:p1.example.com;lr;ftag=c1>\r\nRoute: <sip:p2.example.com;lr>\r\n\
         From: <sip:caller@example.com>;tag=c1\r\nTo: <sip:bob@example.com>;tag=TAG\r\n\
         Call-ID: rr-1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
            .replace("TAG", &sim.ua("bob").calls.dialog(b).unwrap().id.local_tag)
            .as_str(),
    );
    sim.send("caller", "bob", &ack);
    sim.run_until(1000);

    // A re-INVITE with another Record-Route: echoed in the 200, the route set stays.
    let tag = sim.ua("bob").calls.dialog(b).unwrap().id.local_tag.clone();
    let reinvite = parse(&format!(
        "INVITE sip:bob@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKrr3\r\n\
         Max-Forwards: 70\r\nRecord-Route: <sip:other.example.com;lr>\r\n\
         From: <sip:caller@example.com>;tag=c1\r\nTo: <sip:bob@example.com>;tag={tag}\r\n\
         Call-ID: rr-1\r\nCSeq: 2 INVITE\r\nContact: <sip:caller@192.0.2.4:5060>\r\n\
         Content-Type: application/sdp\r\nContent-Length: 28\r\n\r\n\
         v=0\r\nm=audio 4000 RTP/AVP 0\r\n"
    ));
    sim.send("caller", "bob", &reinvite);
    sim.run_until(1030);
    sim.act("bob", |c, l, now| {
        c.answer_update(now, l, b, ANSWER.to_vec())
    })
    .unwrap();
    sim.run_until(1100);
    let ok = responses(&mut sim, "caller").remove(0).1;
    let ok: rsip::SipMessage = ok.into();
    assert_eq!(sim::summary(&ok), "200 INVITE");
    assert_eq!(
        sim::header_values(&ok, "Record-Route"),
        ["<sip:other.example.com;lr>"]
    );
    assert_eq!(sim.ua("bob").calls.dialog(b).unwrap().route_set, RR);

    // Bob's BYE follows the route set of the INVITE (§12.2.1.1).
    sim.act("bob", |c, l, now| c.hangup(now, l, b)).unwrap();
    sim.run_until(1200);
    let bye = requests(&mut sim, "caller")
        .into_iter()
        .find(|r| r.method == rsip::Method::Bye)
        .unwrap();
    assert_eq!(sim::header_values(&bye.into(), "Route"), RR);
}
