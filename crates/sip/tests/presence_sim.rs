//! PUBLISH (RFC 3903) and SUBSCRIBE/NOTIFY (RFC 6665) against a scripted server on simulated
//! time, through the real receive path: ETag refresh and 412 recovery, refused requests
//! backing off (never a tight loop), in-dialog refresh, and NOTIFYs we must refuse.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use homeline_sip::publish::{Publication, PublishConfig, PublishEvent};
use homeline_sip::subscribe::{SubState, SubscribeConfig, SubscriptionEvent, Subscriptions};
use homeline_sip::transaction::{
    Peer, TimerConfig, TransactionEvent, TransactionId, TransactionLayer, TransportKind,
    response_for,
};
use homeline_sip::{Inbound, receive_datagram};

fn peer(a: &str) -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: a.parse().unwrap(),
    }
}

const ME: &str = "192.0.2.1:5060";
const SERVER: &str = "192.0.2.9:5060";

struct World {
    now: Instant,
    t0: Instant,
    ua: TransactionLayer,
    server: TransactionLayer,
    publication: Publication,
    subs: Subscriptions,
    /// (seconds since start, request) every request the server got.
    seen: Vec<(u64, rsip::Request)>,
    pub_events: Vec<PublishEvent>,
    sub_events: Vec<SubscriptionEvent>,
    /// Raw bytes the server sends to the UA next (NOTIFYs made by the test).
    inject: Vec<Vec<u8>>,
    /// Responses the UA sent to injected requests.
    ua_answers: Vec<String>,
}

impl World {
    fn new() -> Self {
        let now = Instant::now();
        let publication = Publication::new(
            PublishConfig {
                aor: "sip:alice@example.com".into(),
                local: ME.parse().unwrap(),
                transport: TransportKind::Udp,
                credentials: None,
                next_hop: peer(SERVER),
                user_agent: "test".into(),
                expires: 60,
                event: "presence".into(),
                content_type: "application/pidf+xml".into(),
            },
            1,
        );
        let subs = Subscriptions::new(
            SubscribeConfig {
                aor: "sip:alice@example.com".into(),
                local: ME.parse().unwrap(),
                transport: TransportKind::Udp,
                contact: None,
                credentials: None,
                next_hop: peer(SERVER),
                user_agent: "test".into(),
                expires: 100,
                event: "presence".into(),
                accept: "application/pidf+xml".into(),
                max_body: 1000,
            },
            2,
        );
        Self {
            now,
            t0: now,
            ua: TransactionLayer::new(TimerConfig::default()),
            server: TransactionLayer::new(TimerConfig::default()),
            publication,
            subs,
            seen: Vec::new(),
            pub_events: Vec::new(),
            sub_events: Vec::new(),
            inject: Vec::new(),
            ua_answers: Vec::new(),
        }
    }

    /// Runs `secs` of simulated time in 100 ms steps; `answer` says how the server answers
    /// each request (`None` = never).
    fn run(&mut self, secs: u64, mut answer: impl FnMut(&rsip::Request) -> Option<rsip::Response>) {
        for _ in 0..secs * 10 {
            for bytes in self.inject.drain(..) {
                let Inbound::Request(r) = receive_datagram(&bytes) else {
                    panic!("bad injected request")
                };
                self.ua.handle_message(self.now, r.into(), peer(SERVER));
            }
            self.ua.handle_timeout(self.now);
            self.publication.handle_timeout(self.now, &mut self.ua);
            self.subs.handle_timeout(self.now, &mut self.ua);
            while let Some(ev) = self.ua.poll_event() {
                let ev = match self
                    .subs
                    .handle_transaction_event(self.now, &mut self.ua, ev)
                {
                    Some(ev) => ev,
                    None => continue,
                };
                let _ = self
                    .publication
                    .handle_transaction_event(self.now, &mut self.ua, ev);
            }
            self.pub_events
                .extend(std::iter::from_fn(|| self.publication.poll_event()));
            self.sub_events
                .extend(std::iter::from_fn(|| self.subs.poll_event()));
            while let Some(t) = self.ua.poll_transmit() {
                match receive_datagram(&t.bytes()) {
                    Inbound::Request(r) => self.server.handle_message(self.now, r.into(), peer(ME)),
                    Inbound::Response(r) => self.ua_answers.push(r.to_string()),
                    other => panic!("{other:?}"),
                }
            }
            self.server.handle_timeout(self.now);
            let mut to_answer: Vec<(TransactionId, rsip::Request)> = Vec::new();
            while let Some(ev) = self.server.poll_event() {
                if let TransactionEvent::Request { id, request, .. } = ev {
                    let secs = (self.now - self.t0).as_secs();
                    self.seen.push((secs, request.clone()));
                    to_answer.push((id, request));
                }
            }
            for (id, req) in to_answer {
                if let Some(r) = answer(&req) {
                    self.server.send_response(self.now, id, r).unwrap();
                }
            }
            while let Some(t) = self.server.poll_transmit() {
                if let Inbound::Response(r) = receive_datagram(&t.bytes()) {
                    self.ua.handle_message(self.now, r.into(), peer(SERVER));
                }
            }
            self.now += Duration::from_millis(100);
        }
    }
}

fn with(mut r: rsip::Response, name: &str, value: &str) -> rsip::Response {
    r.headers
        .push(rsip::Header::Other(name.into(), value.into()));
    r
}

fn header(r: &rsip::Request, name: &str) -> Option<String> {
    r.to_string().lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

#[test]
fn publication_refreshes_with_its_etag_and_recovers_from_412() {
    let mut w = World::new();
    let now = w.now;
    w.publication.set(now, &mut w.ua, b"<presence/>".to_vec());
    let mut n = 0;
    w.run(120, |req| {
        n += 1;
        Some(match n {
            // The refresh at ~48 s gets 412: the server forgot us.
            2 => response_for(req, 412, "Conditional Request Failed"),
            _ => with(
                with(response_for(req, 200, "OK"), "SIP-ETag", &format!("e{n}")),
                "Expires",
                "60",
            ),
        })
    });
    let p: Vec<&(u64, rsip::Request)> = w.seen.iter().collect();
    assert!(p.len() >= 4, "{}", p.len());
    // 1: initial with the document, no If-Match.
    assert_eq!(header(&p[0].1, "SIP-If-Match"), None);
    assert_eq!(p[0].1.body, b"<presence/>");
    // 2: refresh at 48 s (80 % of 60), If-Match e1, no body.
    assert_eq!(p[1].0, 48);
    assert_eq!(header(&p[1].1, "SIP-If-Match").as_deref(), Some("e1"));
    assert!(p[1].1.body.is_empty());
    // 3: after the 412, at once, the document again without If-Match.
    assert_eq!(p[2].0, 48);
    assert_eq!(header(&p[2].1, "SIP-If-Match"), None);
    assert_eq!(p[2].1.body, b"<presence/>");
    // 4: the next refresh uses the new tag.
    assert_eq!(header(&p[3].1, "SIP-If-Match").as_deref(), Some("e3"));
    assert!(matches!(w.pub_events[0], PublishEvent::Published { .. }));
}

#[test]
fn a_provider_without_publish_is_retried_with_backoff_not_in_a_loop() {
    let mut w = World::new();
    let now = w.now;
    w.publication.set(now, &mut w.ua, b"<presence/>".to_vec());
    w.run(600, |req| Some(response_for(req, 489, "Bad Event")));
    let times: Vec<u64> = w.seen.iter().map(|(t, _)| *t).collect();
    // 0, then ≥ 30, ≥ 60, ≥ 120, ≥ 240 s apart: at most 5 in ten minutes.
    assert!((3..=5).contains(&times.len()), "{times:?}");
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 30, "{times:?}");
    }
    match &w.pub_events[0] {
        PublishEvent::Failed {
            code: 489,
            reason,
            retry_in: Some(d),
        } => {
            assert!(reason.contains("does not take presence"), "{reason}");
            assert!(*d >= Duration::from_secs(30));
        }
        other => panic!("{other:?}"),
    }
}

fn notify(call_id: &str, to_tag: &str, event: &str, state: &str, body: &str) -> Vec<u8> {
    let ct = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/pidf+xml\r\n".into()
    };
    format!(
        "NOTIFY sip:alice@192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {SERVER};branch=z9hG4bKn{}{}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:bob@example.com>;tag=srv\r\n\
         To: <sip:alice@example.com>;tag={to_tag}\r\nCall-ID: {call_id}\r\nCSeq: {} NOTIFY\r\n\
         Contact: <sip:{SERVER}>\r\nEvent: {event}\r\nSubscription-State: {state}\r\n{ct}\
         Content-Length: {}\r\n\r\n{body}",
        call_id.len(),
        state.len() + body.len(),
        2 + body.len(),
        body.len()
    )
    .into_bytes()
}

#[test]
fn subscription_gets_notifies_refreshes_in_dialog_and_refuses_strangers() {
    let mut w = World::new();
    let now = w.now;
    let id = w.subs.subscribe(now, &mut w.ua, "sip:bob@example.com");
    w.run(1, |req| {
        let r = response_for(req, 200, "OK");
        let r = homeline_sip::responses::with_to_tag(r, "srv");
        Some(with(
            with(r, "Expires", "100"),
            "Contact",
            &format!("<sip:{SERVER}>"),
        ))
    });
    let sub = w.seen[0].1.clone();
    let call_id = header(&sub, "Call-ID").unwrap();
    let from = header(&sub, "From").unwrap();
    let tag = from.split("tag=").nth(1).unwrap().to_owned();
    assert_eq!(header(&sub, "Event").as_deref(), Some("presence"));
    assert!(header(&sub, "Contact").is_some());
    w.inject.push(notify(
        &call_id,
        &tag,
        "presence",
        "active;expires=100",
        "<x/>",
    ));
    // A NOTIFY nobody asked for, and one of another package in our dialog.
    w.inject
        .push(notify("stranger", "nope", "presence", "active", ""));
    w.inject
        .push(notify(&call_id, &tag, "dialog", "active", ""));
    w.run(100, |req| {
        let r = homeline_sip::responses::with_to_tag(response_for(req, 200, "OK"), "srv");
        Some(with(r, "Expires", "100"))
    });
    match &w.sub_events[0] {
        SubscriptionEvent::Notify {
            id: got,
            state: SubState::Active,
            body,
            ..
        } => {
            assert_eq!(*got, id);
            assert_eq!(body, b"<x/>");
        }
        other => panic!("{other:?}"),
    }
    let codes: Vec<&str> = w
        .ua_answers
        .iter()
        .map(|a| a.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(codes, ["200", "481", "489"]);
    // The refresh: in the dialog (To tag, same Call-ID), at 80 s.
    let refresh = &w.seen[1];
    assert_eq!(refresh.0, 80);
    assert_eq!(header(&refresh.1, "Call-ID").unwrap(), call_id);
    assert!(header(&refresh.1, "To").unwrap().contains("tag=srv"));
    assert!(header(&refresh.1, "CSeq").unwrap().starts_with("2 "));
}

#[test]
fn a_refused_subscription_backs_off() {
    let mut w = World::new();
    let now = w.now;
    w.subs.subscribe(now, &mut w.ua, "sip:carol@example.com");
    w.run(300, |req| Some(response_for(req, 403, "Forbidden")));
    let times: Vec<u64> = w.seen.iter().map(|(t, _)| *t).collect();
    assert!((2..=4).contains(&times.len()), "{times:?}");
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 30, "{times:?}");
    }
    assert!(matches!(
        &w.sub_events[0],
        SubscriptionEvent::Failed {
            code: 403,
            retry_in: Some(_),
            ..
        }
    ));
}
