//! The registration client against a scripted fake registrar, on simulated time.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_sip::auth::{Challenge, Credentials, DigestSession};
use homeline_sip::register::{
    FailureReason, Registration, RegistrationConfig, RegistrationEvent, RegistrationState,
};
use homeline_sip::transaction::{TransportKind, response_for};
use homeline_sip::{Inbound, receive_datagram};
use rsip::prelude::*;

const LOCAL: &str = "192.168.1.20:5060";
const REALM: &str = "example.com";

fn config(password: &str) -> RegistrationConfig {
    let mut c = RegistrationConfig::new(
        "sip:example.com",
        "sip:alice@example.com",
        LOCAL.parse().unwrap(),
        TransportKind::Udp,
    );
    c.credentials = Some(Credentials {
        username: "alice".into(),
        password: password.into(),
    });
    c
}

fn header(req: &rsip::Request, name: &str) -> Option<String> {
    let text = String::from_utf8(homeline_sip::message::serialize(&req.clone().into())).unwrap();
    text.lines()
        .find(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
        })
        .map(|l| l.split_once(':').unwrap().1.trim().to_owned())
}

/// One scripted answer: status code and extra headers; `None` = behave like a registrar.
type Step = Option<(u16, Vec<(&'static str, String)>)>;

/// The fake registrar: checks digest credentials against the real password.
struct Registrar {
    password: &'static str,
    nonce_no: u32,
    current_nonce: String,
    /// Per call, what to answer; `None` = verify credentials and answer 200/401.
    script: Vec<Step>,
    received: Vec<rsip::Request>,
    via_received: Option<(&'static str, u16)>,
}

impl Registrar {
    fn new(password: &'static str) -> Self {
        Self {
            password,
            nonce_no: 0,
            current_nonce: String::new(),
            script: Vec::new(),
            received: Vec::new(),
            via_received: None,
        }
    }

    fn challenge(&mut self, stale: bool) -> rsip::Header {
        self.nonce_no += 1;
        self.current_nonce = format!("nonce{}", self.nonce_no);
        let stale = if stale { ", stale=true" } else { "" };
        rsip::headers::WwwAuthenticate::new(format!(
            "Digest realm=\"{REALM}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"{stale}",
            self.current_nonce
        ))
        .into()
    }

    fn verify(&self, req: &rsip::Request) -> bool {
        let Some(auth) = header(req, "Authorization") else {
            return false;
        };
        let get = |k: &str| {
            auth.split(", ")
                .find_map(|p| {
                    p.trim_start_matches("Digest ")
                        .strip_prefix(&format!("{k}="))
                })
                .map(|v| v.trim_matches('"').to_owned())
                .unwrap()
        };
        if get("nonce") != self.current_nonce {
            return false;
        }
        let ch = Challenge::parse(
            &format!(
                "Digest realm=\"{REALM}\", nonce=\"{}\", qop=\"auth\"",
                self.current_nonce
            ),
            false,
        )
        .unwrap();
        let mut s = DigestSession::new(ch);
        let nc = u32::from_str_radix(&get("nc"), 16).unwrap();
        let mut expected = None;
        for _ in 0..nc {
            expected = Some(s.authorize(
                &Credentials {
                    username: "alice".into(),
                    password: self.password.into(),
                },
                "REGISTER",
                &get("uri"),
                &get("cnonce"),
                b"",
            ));
        }
        expected.unwrap().response == get("response")
    }

    /// Answers one REGISTER, going through the wire format both ways.
    fn answer(&mut self, req: rsip::Request) -> rsip::Response {
        let wire = homeline_sip::message::serialize(&req.clone().into());
        let Inbound::Request(req) = receive_datagram(&wire) else {
            panic!("our REGISTER does not pass our own validation")
        };
        self.received.push(req.clone());
        let step = if self.script.is_empty() {
            None
        } else {
            self.script.remove(0)
        };
        let mut resp = match step {
            Some((code, extra)) => {
                let mut r = response_for(&req, code, "Scripted");
                for (name, value) in extra {
                    let h: rsip::Header = match name {
                        "Min-Expires" => rsip::headers::MinExpires::new(value).into(),
                        "Retry-After" => rsip::headers::RetryAfter::new(value).into(),
                        "WWW-Authenticate" => {
                            let stale = value == "stale";
                            self.challenge(stale)
                        }
                        _ => rsip::Header::Other(name.into(), value),
                    };
                    r.headers.push(h);
                }
                r
            }
            None if self.verify(&req) => {
                let mut r = response_for(&req, 200, "OK");
                for h in req.headers.iter() {
                    if matches!(h, rsip::Header::Contact(_)) {
                        r.headers.push(h.clone());
                    }
                }
                r
            }
            None => {
                let mut r = response_for(&req, 401, "Unauthorized");
                let ch = self.challenge(false);
                r.headers.push(ch);
                r
            }
        };
        if let Some((ip, port)) = self.via_received {
            for h in resp.headers.iter_mut() {
                if let rsip::Header::Via(v) = h {
                    let new = v
                        .value()
                        .replace(";rport", &format!(";rport={port};received={ip}"));
                    v.replace(new);
                    break;
                }
            }
        }
        let wire = homeline_sip::message::serialize(&resp.into());
        match receive_datagram(&wire) {
            Inbound::Response(r) => r,
            other => panic!("{other:?}"),
        }
    }
}

struct Sim {
    reg: Registration,
    t0: Instant,
    now: Instant,
    events: Vec<(u64, RegistrationEvent)>,
    sent_at: Vec<u64>,
}

impl Sim {
    fn new(config: RegistrationConfig) -> Self {
        let t0 = Instant::now();
        Self {
            reg: Registration::new(config, 42).unwrap(),
            t0,
            now: t0,
            events: Vec::new(),
            sent_at: Vec::new(),
        }
    }

    fn secs(&self) -> u64 {
        (self.now - self.t0).as_secs()
    }

    /// Exchanges requests with the registrar (zero latency) until quiet.
    fn pump(&mut self, registrar: &mut Registrar) {
        loop {
            while let Some(e) = self.reg.poll_event() {
                let s = self.secs();
                self.events.push((s, e));
            }
            let Some(req) = self.reg.poll_request() else {
                break;
            };
            self.sent_at.push(self.secs());
            let resp = registrar.answer(req);
            self.reg.handle_response(self.now, &resp);
        }
    }

    /// Advances to `until_s`, firing timers and pumping.
    fn run(&mut self, registrar: &mut Registrar, until_s: u64) {
        let until = self.t0 + Duration::from_secs(until_s);
        self.pump(registrar);
        while let Some(t) = self.reg.poll_timeout() {
            if t > until {
                break;
            }
            self.now = t;
            self.reg.handle_timeout(t);
            self.pump(registrar);
        }
        self.now = until;
    }
}

#[test]
fn register_with_challenge_then_refresh_with_margin() {
    let mut registrar = Registrar::new("secret");
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 0);
    assert_eq!(registrar.received.len(), 2, "REGISTER, 401, REGISTER+auth");
    let first = &registrar.received[0];
    assert!(
        header(first, "Via").unwrap().ends_with(";rport"),
        "rport always"
    );
    assert_eq!(header(first, "Expires").unwrap(), "600");
    assert!(header(first, "Authorization").is_none());
    assert!(
        header(&registrar.received[1], "Authorization")
            .unwrap()
            .contains("nc=00000001")
    );
    assert!(matches!(
        sim.events[0].1,
        RegistrationEvent::Registered { expires, .. } if expires == Duration::from_secs(600)
    ));
    // Refresh 40 s before expiry, reusing the nonce with nc=2; the server accepts it.
    sim.run(&mut registrar, 1200);
    assert_eq!(sim.sent_at, vec![0, 0, 560, 1120]);
    assert!(
        header(&registrar.received[2], "Authorization")
            .unwrap()
            .contains("nc=00000002")
    );
    // Same Call-ID, increasing CSeq (§10.2.4).
    let cseqs: Vec<String> = registrar
        .received
        .iter()
        .map(|r| header(r, "CSeq").unwrap())
        .collect();
    assert_eq!(
        cseqs,
        vec!["1 REGISTER", "2 REGISTER", "3 REGISTER", "4 REGISTER"]
    );
}

#[test]
fn wrong_password_stops_after_second_challenge() {
    let mut registrar = Registrar::new("the-real-one");
    let mut sim = Sim::new(config("typo"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 3600);
    assert_eq!(registrar.received.len(), 2, "no hammering");
    assert_eq!(sim.reg.state(), RegistrationState::Stopped);
    assert_eq!(sim.reg.poll_timeout(), None);
    match &sim.events[..] {
        [
            (
                0,
                RegistrationEvent::Failed {
                    reason: FailureReason::WrongCredentials { realm },
                    message,
                    retry_in: None,
                },
            ),
        ] => {
            assert_eq!(realm, REALM);
            assert!(message.contains("wrong user name or password"), "{message}");
            assert!(message.contains("sip:example.com over UDP"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn stale_nonce_is_retried_not_reported() {
    let mut registrar = Registrar::new("secret");
    // First REGISTER: normal challenge. Second (with credentials): stale challenge.
    registrar.script = vec![
        None,
        Some((401, vec![("WWW-Authenticate", "stale".into())])),
        None,
    ];
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 0);
    assert_eq!(registrar.received.len(), 3);
    assert!(matches!(
        sim.events[0].1,
        RegistrationEvent::Registered { .. }
    ));
}

#[test]
fn interval_too_brief_raises_expires() {
    let mut registrar = Registrar::new("secret");
    registrar.script = vec![Some((423, vec![("Min-Expires", "1800".into())]))];
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 0);
    assert_eq!(sim.reg.requested_expires(), 1800);
    let expires: Vec<String> = registrar
        .received
        .iter()
        .map(|r| header(r, "Expires").unwrap())
        .collect();
    assert_eq!(expires, vec!["600", "1800", "1800"]);
    assert!(matches!(
        sim.events[0].1,
        RegistrationEvent::Registered { expires, .. } if expires == Duration::from_secs(1800)
    ));
}

#[test]
fn expires_never_below_sixty() {
    let mut c = config("secret");
    c.expires = 20;
    let mut registrar = Registrar::new("secret");
    let mut sim = Sim::new(c);
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 0);
    assert_eq!(header(&registrar.received[0], "Expires").unwrap(), "60");
    // Granted 60 s: refresh at 30 s (margin capped at half).
    assert_eq!(
        sim.reg.poll_timeout(),
        Some(sim.t0 + Duration::from_secs(30))
    );
}

#[test]
fn failures_back_off_exponentially_with_jitter_capped_at_30_minutes() {
    let mut registrar = Registrar::new("secret");
    // Fifteen 503s in a row, then success.
    registrar.script = (0..15).map(|_| Some((503, vec![]))).collect();
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 6 * 3600);
    let delays: Vec<Duration> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            RegistrationEvent::Failed { retry_in, .. } => *retry_in,
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 15);
    for (i, d) in delays.iter().enumerate() {
        let full = Duration::from_secs(30 * (1u64 << i.min(20))).min(Duration::from_secs(1800));
        assert!(
            *d >= full / 2 && *d <= full,
            "attempt {i}: {d:?} vs {full:?}"
        );
    }
    assert!(delays.iter().all(|d| *d <= Duration::from_secs(1800)));
    // Jitter really varies (deterministically, from the seed).
    assert_ne!(delays[10], delays[11]);
    assert!(matches!(
        sim.events.last().unwrap().1,
        RegistrationEvent::Registered { .. }
    ));
    // And the same seed gives the same schedule.
    let mut again = Sim::new(config("secret"));
    let mut registrar2 = Registrar::new("secret");
    registrar2.script = (0..15).map(|_| Some((503, vec![]))).collect();
    again.reg.register(again.now);
    again.run(&mut registrar2, 6 * 3600);
    assert_eq!(again.sent_at, sim.sent_at);
}

#[test]
fn timeout_and_forbidden_are_reported_plainly_and_retried() {
    let mut registrar = Registrar::new("secret");
    registrar.script = vec![Some((403, vec![]))];
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 0);
    let RegistrationEvent::Failed {
        reason,
        message,
        retry_in,
    } = &sim.events[0].1
    else {
        panic!()
    };
    assert_eq!(*reason, FailureReason::Forbidden);
    assert!(message.contains("refused"), "{message}");
    let retry = retry_in.unwrap();
    assert!(retry >= Duration::from_secs(15) && retry <= Duration::from_secs(30));

    // A transaction timeout during the retry.
    sim.now = sim.reg.poll_timeout().unwrap();
    sim.reg.handle_timeout(sim.now);
    assert!(sim.reg.poll_request().is_some());
    sim.now += Duration::from_secs(32);
    sim.reg.handle_transaction_timeout(sim.now);
    let e = sim.reg.poll_event().unwrap();
    match e {
        RegistrationEvent::Failed {
            reason: FailureReason::Timeout,
            message,
            retry_in: Some(d),
        } => {
            assert!(message.contains("did not answer"), "{message}");
            assert!(d >= Duration::from_secs(30) && d <= Duration::from_secs(60));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn retry_after_is_honoured() {
    let mut registrar = Registrar::new("secret");
    registrar.script = vec![Some((503, vec![("Retry-After", "300".into())]))];
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 0);
    assert!(matches!(
        sim.events[0].1,
        RegistrationEvent::Failed { retry_in: Some(d), .. } if d == Duration::from_secs(300)
    ));
}

#[test]
fn learns_public_address_and_reregisters_with_corrected_contact() {
    let mut registrar = Registrar::new("secret");
    registrar.via_received = Some(("203.0.113.9", 62000));
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 0);
    let public: SocketAddr = "203.0.113.9:62000".parse().unwrap();
    assert_eq!(
        sim.events[0].1,
        RegistrationEvent::PublicAddressChanged { public }
    );
    assert!(
        matches!(sim.events[1].1, RegistrationEvent::Registered { ref contact, .. } if contact.contains("203.0.113.9:62000"))
    );
    assert_eq!(sim.events.len(), 2, "no loop once the contact is right");
    let last = registrar.received.last().unwrap();
    let contacts: Vec<String> = last
        .headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::Contact(c) => Some(c.value().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        contacts,
        vec![
            "<sip:alice@203.0.113.9:62000>;expires=600",
            "<sip:alice@192.168.1.20:5060>;expires=0"
        ]
    );
    assert_eq!(sim.reg.contact_addr(), public);
}

#[test]
fn unregister_sends_expires_zero() {
    let mut registrar = Registrar::new("secret");
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 100);
    sim.reg.unregister(sim.now);
    sim.pump(&mut registrar);
    let last = registrar.received.last().unwrap();
    assert_eq!(header(last, "Expires").unwrap(), "0");
    assert!(header(last, "Contact").unwrap().ends_with(";expires=0"));
    assert_eq!(
        sim.events.last().unwrap().1,
        RegistrationEvent::Unregistered
    );
    assert_eq!(sim.reg.state(), RegistrationState::Idle);
    assert_eq!(sim.reg.poll_timeout(), None);
}

#[test]
fn proxy_challenge_gets_proxy_authorization() {
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    let req = sim.reg.poll_request().unwrap();
    let mut resp = response_for(&req, 407, "Proxy Authentication Required");
    resp.headers.push(
        rsip::headers::ProxyAuthenticate::new(
            "Digest realm=\"proxy.example.com\", nonce=\"p1\", algorithm=SHA-256, qop=\"auth\"",
        )
        .into(),
    );
    sim.reg.handle_response(sim.now, &resp);
    let retry = sim.reg.poll_request().unwrap();
    let pa = header(&retry, "Proxy-Authorization").unwrap();
    assert!(pa.contains("algorithm=SHA-256") && pa.contains("realm=\"proxy.example.com\""));
}

#[test]
fn responses_to_old_requests_are_ignored() {
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    let req = sim.reg.poll_request().unwrap();
    sim.reg.register(sim.now); // restart, e.g. a network change
    let _ = sim.reg.poll_request().unwrap();
    sim.reg
        .handle_response(sim.now, &response_for(&req, 200, "OK"));
    assert_eq!(sim.reg.state(), RegistrationState::Registering);
}

#[test]
fn invalid_settings_are_refused() {
    let mut c = config("x");
    c.aor = "not a uri".into();
    assert!(Registration::new(c, 1).is_err());
}

#[test]
fn outbound_contact_and_support_detection() {
    let mut c = config("secret");
    c.outbound = Some(("urn:uuid:00000000-0000-1000-8000-000a95a0e128".into(), 1));
    let mut sim = Sim::new(c);
    sim.reg.register(sim.now);
    let req = sim.reg.poll_request().unwrap();
    assert_eq!(
        header(&req, "Contact").unwrap(),
        "<sip:alice@192.168.1.20:5060;ob>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\";reg-id=1;expires=600"
    );
    assert_eq!(header(&req, "Supported").unwrap(), "path, outbound");
    let mut ok = response_for(&req, 200, "OK");
    ok.headers
        .push(rsip::headers::Require::new("outbound").into());
    for h in req.headers.iter() {
        if matches!(h, rsip::Header::Contact(_)) {
            ok.headers.push(h.clone());
        }
    }
    sim.reg.handle_response(sim.now, &ok);
    assert!(matches!(
        sim.reg.poll_event(),
        Some(RegistrationEvent::Registered { outbound: true, expires, .. }) if expires == Duration::from_secs(600)
    ));
}

#[test]
fn network_change_reregisters_at_once_from_the_new_address() {
    let mut registrar = Registrar::new("secret");
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 100);
    let before = registrar.received.len();
    let new_local: SocketAddr = "10.8.0.5:5060".parse().unwrap();
    sim.reg.network_changed(sim.now, new_local);
    sim.pump(&mut registrar);
    assert!(registrar.received.len() > before, "re-registered at once");
    let last = registrar.received.last().unwrap();
    assert!(header(last, "Via").unwrap().contains("10.8.0.5:5060"));
    let contacts: Vec<String> = last
        .headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::Contact(c) => Some(c.value().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        contacts,
        vec![
            "<sip:alice@10.8.0.5:5060>;expires=600",
            "<sip:alice@192.168.1.20:5060>;expires=0"
        ]
    );
    assert!(matches!(
        sim.events.last().unwrap().1,
        RegistrationEvent::Registered { .. }
    ));
}

#[test]
fn two_accounts_keep_separate_state() {
    let mut good = Registrar::new("secret");
    let mut bad = Registrar::new("other");
    let mut a = Sim::new(config("secret"));
    let mut b_cfg = config("secret");
    b_cfg.aor = "sip:bob@example.com".into();
    let mut b = Sim::new(b_cfg);
    a.reg.register(a.now);
    b.reg.register(b.now);
    a.run(&mut good, 0);
    b.run(&mut bad, 0);
    assert!(matches!(
        a.reg.state(),
        RegistrationState::Registered { .. }
    ));
    assert_eq!(b.reg.state(), RegistrationState::Stopped);
}

fn contacts(req: &rsip::Request) -> Vec<String> {
    req.headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::Contact(c) => Some(c.value().to_owned()),
            _ => None,
        })
        .collect()
}

fn cseq_of(req: &rsip::Request) -> u32 {
    header(req, "CSeq")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// RFC 3261 §10.2.4: one Call-ID for the boot cycle, CSeq counting on; the new flow's
/// address and transport in Via and Contact, the old binding removed in the same REGISTER.
#[test]
fn flow_migration_keeps_the_call_id_and_counts_cseq_on() {
    let mut registrar = Registrar::new("secret");
    let mut sim = Sim::new(config("secret"));
    assert_eq!(sim.reg.cseq(), 0);
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 100);
    let call_id = sim.reg.call_id().to_owned();
    assert!(!call_id.is_empty());
    let first = registrar.received.last().unwrap().clone();
    assert_eq!(header(&first, "Call-ID").unwrap(), call_id);
    assert_eq!(sim.reg.cseq(), cseq_of(&first));

    // The driver reconnected over TCP from another port.
    let local: SocketAddr = "192.168.1.20:40312".parse().unwrap();
    let before = registrar.received.len();
    sim.reg.migrate_flow(sim.now, local, TransportKind::Tcp);
    sim.pump(&mut registrar);
    let moved = registrar.received[before].clone();
    let moved = &moved;
    assert_eq!(header(moved, "Call-ID").unwrap(), call_id, "same Call-ID");
    assert_eq!(cseq_of(moved), cseq_of(&first) + 1, "CSeq goes on");
    assert!(
        header(moved, "Via")
            .unwrap()
            .starts_with("SIP/2.0/TCP 192.168.1.20:40312;branch=z9hG4bK"),
        "{:?}",
        header(moved, "Via")
    );
    assert_eq!(
        contacts(moved),
        [
            "<sip:alice@192.168.1.20:40312;transport=tcp>;expires=600",
            "<sip:alice@192.168.1.20:5060>;expires=0",
        ]
    );
    assert_eq!(sim.reg.transport(), TransportKind::Tcp);
    assert_eq!(sim.reg.local_addr(), local);
    assert!(matches!(
        sim.events.last().unwrap().1,
        RegistrationEvent::Registered { ref contact, .. } if contact == "<sip:alice@192.168.1.20:40312;transport=tcp>"
    ));
    // The refresh after that: same Call-ID, next CSeq, only the new Contact.
    let n = registrar.received.len();
    sim.run(&mut registrar, 1000);
    let refresh = &registrar.received[n];
    assert_eq!(header(refresh, "Call-ID").unwrap(), call_id);
    assert_eq!(cseq_of(refresh), cseq_of(moved) + 1);
    assert_eq!(
        contacts(refresh),
        ["<sip:alice@192.168.1.20:40312;transport=tcp>;expires=600"]
    );

    // Moving while unregistering sends the unregister again, for both bindings.
    sim.reg.unregister(sim.now);
    let _lost = sim.reg.poll_request().unwrap();
    sim.reg.migrate_flow(
        sim.now,
        "10.8.0.5:5060".parse().unwrap(),
        TransportKind::Udp,
    );
    let again = sim.reg.poll_request().unwrap();
    assert_eq!(header(&again, "Expires").unwrap(), "0");
    assert_eq!(
        contacts(&again),
        [
            "<sip:alice@10.8.0.5:5060>;expires=0",
            "<sip:alice@192.168.1.20:40312;transport=tcp>;expires=0",
        ]
    );
    assert_eq!(header(&again, "Call-ID").unwrap(), call_id);
}

#[test]
fn flow_migration_while_idle_or_stopped_only_remembers_the_flow() {
    let mut sim = Sim::new(config("secret"));
    let local: SocketAddr = "10.8.0.5:5062".parse().unwrap();
    sim.reg.migrate_flow(sim.now, local, TransportKind::Tls);
    assert!(sim.reg.poll_request().is_none(), "idle: nothing sent");
    sim.reg.register(sim.now);
    let req = sim.reg.poll_request().unwrap();
    assert!(
        header(&req, "Via")
            .unwrap()
            .starts_with("SIP/2.0/TLS 10.8.0.5:5062;")
    );
    assert_eq!(
        contacts(&req),
        ["<sip:alice@10.8.0.5:5062;transport=tls>;expires=600"],
        "nothing was registered from the old flow: nothing to remove"
    );

    // Wrong password: stopped; a new flow does not start hammering the server again.
    let mut registrar = Registrar::new("other");
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 0);
    assert_eq!(sim.reg.state(), RegistrationState::Stopped);
    let sent = registrar.received.len();
    sim.reg.migrate_flow(sim.now, local, TransportKind::Udp);
    sim.pump(&mut registrar);
    assert_eq!(registrar.received.len(), sent);
}

/// RFC 3261 §8.1.3.1: a transport error is its own failure — the network, not the server —
/// retried with back-off like the others.
#[test]
fn a_transport_error_is_a_network_failure_retried_with_back_off() {
    let mut registrar = Registrar::new("secret");
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    let lost = sim.reg.poll_request().unwrap();
    sim.reg
        .handle_transport_error(sim.now, "connection refused");
    let Some(RegistrationEvent::Failed {
        reason,
        message,
        retry_in: Some(retry),
    }) = sim.reg.poll_event()
    else {
        panic!("no failure")
    };
    assert_eq!(
        reason,
        FailureReason::Transport("connection refused".into())
    );
    assert!(
        message.contains("network failed (connection refused)")
            && !message.contains("answered")
            && !message.contains("navailable"),
        "{message}"
    );
    assert!(retry >= Duration::from_secs(15) && retry <= Duration::from_secs(30));
    assert!(matches!(sim.reg.state(), RegistrationState::Backoff { .. }));
    // The layer's synthesised 503 for the same REGISTER comes after: ignored.
    let mut layer = homeline_sip::transaction::TransactionLayer::new(Default::default());
    let server = homeline_sip::transaction::Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.10:5060".parse().unwrap(),
    };
    let id = layer.send_request(sim.now, lost, server).unwrap();
    layer.handle_transport_error(sim.now, id);
    let synthesised = match layer.poll_event() {
        Some(homeline_sip::transaction::TransactionEvent::Response { response, .. }) => response,
        other => panic!("{other:?}"),
    };
    sim.reg.handle_response(sim.now, &synthesised);
    assert_eq!(sim.reg.poll_event(), None);

    // The retry goes out after the back-off and succeeds.
    sim.run(&mut registrar, 60);
    assert!(matches!(
        sim.reg.state(),
        RegistrationState::Registered { .. }
    ));
    assert!(matches!(
        sim.events.last().unwrap().1,
        RegistrationEvent::Registered { .. }
    ));
}

#[test]
fn the_layers_synthesised_503_alone_is_a_transport_failure_a_servers_503_is_not() {
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    let req = sim.reg.poll_request().unwrap();
    let mut layer = homeline_sip::transaction::TransactionLayer::new(Default::default());
    let server = homeline_sip::transaction::Peer {
        transport: TransportKind::Tcp,
        addr: "192.0.2.10:5060".parse().unwrap(),
    };
    let id = layer.send_request(sim.now, req, server).unwrap();
    layer.handle_transport_error(sim.now, id);
    let Some(homeline_sip::transaction::TransactionEvent::Response { response, .. }) =
        layer.poll_event()
    else {
        panic!("no synthesised response")
    };
    sim.reg.handle_response(sim.now, &response);
    assert!(matches!(
        sim.reg.poll_event(),
        Some(RegistrationEvent::Failed { reason: FailureReason::Transport(ref why), retry_in: Some(_), .. })
            if why == "the request could not be sent"
    ));

    // A real 503 from the server (through the wire) stays the server's answer.
    let mut registrar = Registrar::new("secret");
    registrar.script = vec![Some((503, vec![]))];
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 0);
    assert!(matches!(
        sim.events[0].1,
        RegistrationEvent::Failed {
            reason: FailureReason::Rejected { code: 503, .. },
            ..
        }
    ));
}

#[test]
fn a_transport_error_during_unregister_ends_it() {
    let mut registrar = Registrar::new("secret");
    let mut sim = Sim::new(config("secret"));
    sim.reg.register(sim.now);
    sim.run(&mut registrar, 10);
    sim.reg.unregister(sim.now);
    let _ = sim.reg.poll_request().unwrap();
    sim.reg
        .handle_transport_error(sim.now, "network unreachable");
    assert_eq!(sim.reg.poll_event(), Some(RegistrationEvent::Unregistered));
    assert_eq!(sim.reg.state(), RegistrationState::Idle);
    // Without a REGISTER in flight there is nothing to fail.
    sim.reg
        .handle_transport_error(sim.now, "network unreachable");
    assert_eq!(sim.reg.poll_event(), None);
}

/// RFC 5626 §6: `Require: outbound` in the 2xx means the registrar applied outbound to
/// this flow; `Flow-Timer` (§4.4) says how often to keep it alive. A new flow forgets both.
#[test]
fn outbound_support_and_flow_timer_are_reported_and_reset_on_a_new_flow() {
    let mut c = config("secret");
    c.outbound = Some(("urn:uuid:00000000-0000-1000-8000-000a95a0e128".into(), 1));
    let mut sim = Sim::new(c.clone());
    sim.reg.register(sim.now);
    let req = sim.reg.poll_request().unwrap();
    let mut ok = response_for(&req, 200, "OK");
    ok.headers
        .push(rsip::headers::Require::new("outbound").into());
    ok.headers
        .push(rsip::Header::Other("Flow-Timer".into(), "120".into()));
    sim.reg.handle_response(sim.now, &ok);
    assert!(sim.reg.outbound_supported());
    assert_eq!(sim.reg.flow_timer(), Some(Duration::from_secs(120)));
    sim.reg.migrate_flow(
        sim.now,
        "10.0.0.2:5060".parse().unwrap(),
        TransportKind::Udp,
    );
    assert!(!sim.reg.outbound_supported());
    assert_eq!(sim.reg.flow_timer(), None);
    let req = sim.reg.poll_request().unwrap();
    // Same instance and reg-id on the new flow (§4.2.1), so the registrar replaces the flow.
    assert!(
        contacts(&req)[0].contains(
            ";+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\";reg-id=1"
        ),
        "{:?}",
        contacts(&req)
    );

    // `Supported: outbound` alone is not outbound applied to our binding.
    let mut sim = Sim::new(c);
    sim.reg.register(sim.now);
    let req = sim.reg.poll_request().unwrap();
    let mut ok = response_for(&req, 200, "OK");
    ok.headers
        .push(rsip::headers::Supported::new("outbound, path").into());
    sim.reg.handle_response(sim.now, &ok);
    assert!(!sim.reg.outbound_supported());
    assert!(matches!(
        sim.reg.poll_event(),
        Some(RegistrationEvent::Registered {
            outbound: false,
            ..
        })
    ));
}
