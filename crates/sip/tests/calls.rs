//! The call layer between two user agents (and scripted peers) on simulated time over a
//! simulated network with 30 ms latency and chosen losses: exact message sequences and timings.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

mod sim;

use homeline_sip::call::{CallEvent, CallHandle, CallState, EndCause};
use sim::Sim;

const OFFER: &[u8] = b"v=0\r\no=alice 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
const ANSWER: &[u8] = b"v=0\r\no=bob 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=sendrecv\r\n";

fn two_uas() -> Sim {
    let mut sim = Sim::new();
    sim.add_ua(
        "alice",
        "192.0.2.1:5060",
        Sim::config("alice", "192.0.2.1:5060"),
        1,
    );
    sim.add_ua(
        "bob",
        "192.0.2.2:5060",
        Sim::config("bob", "192.0.2.2:5060"),
        2,
    );
    sim
}

fn dial(sim: &mut Sim, from: &str, to: &str) -> CallHandle {
    let target = format!("sip:{to}@{}", sim.addr(to).addr);
    let peer = sim.addr(to);
    sim.act(from, |c, l, now| {
        c.dial(now, l, &target, OFFER.to_vec(), peer)
    })
    .unwrap()
}

fn incoming(sim: &mut Sim, name: &str) -> CallHandle {
    sim.events(name)
        .iter()
        .rev()
        .find_map(|(_, e)| match e {
            CallEvent::Incoming { call, .. } => Some(*call),
            _ => None,
        })
        .expect("an incoming call")
}

fn ended(sim: &mut Sim, name: &str) -> Option<(u64, EndCause)> {
    sim.events(name).into_iter().find_map(|(t, e)| match e {
        CallEvent::Ended { cause, .. } => Some((t, cause)),
        _ => None,
    })
}

/// Sets up alice → bob, answered at 1000 ms, confirmed at 1060.
fn connected() -> (Sim, CallHandle, CallHandle) {
    let mut sim = two_uas();
    let a = dial(&mut sim, "alice", "bob");
    sim.run_until(30);
    let b = incoming(&mut sim, "bob");
    sim.act("bob", |c, l, now| c.ring(now, l, b)).unwrap();
    sim.run_until(1000);
    sim.act("bob", |c, l, now| c.answer(now, l, b, ANSWER.to_vec()))
        .unwrap();
    sim.run_until(1100);
    assert_eq!(sim.ua("alice").calls.state(a), Some(CallState::Active));
    assert_eq!(sim.ua("bob").calls.state(b), Some(CallState::Active));
    sim.log.clear();
    sim.take_events("alice");
    sim.take_events("bob");
    (sim, a, b)
}

#[test]
fn basic_call_alice_to_bob() {
    let mut sim = two_uas();
    let a = dial(&mut sim, "alice", "bob");
    sim.run_until(500);
    let b = incoming(&mut sim, "bob");
    sim.act("bob", |c, l, now| c.ring(now, l, b)).unwrap();
    sim.run_until(2000);
    sim.act("bob", |c, l, now| c.answer(now, l, b, ANSWER.to_vec()))
        .unwrap();
    sim.run_until(5000);
    sim.act("alice", |c, l, now| c.hangup(now, l, a)).unwrap();
    sim.run_until(6000);
    println!("{:#?}", sim.lines());
    assert_eq!(
        sim.lines(),
        [
            "0 alice>bob INVITE",
            "230 bob>alice 100 INVITE",
            "500 bob>alice 180 INVITE",
            "2000 bob>alice 200 INVITE",
            "2030 alice>bob ACK",
            "5000 alice>bob BYE",
            "5030 bob>alice 200 BYE",
        ]
    );
    let alice = sim.events("alice");
    assert!(matches!(
        &alice[0],
        (530, CallEvent::Progress { code: 180, .. })
    ));
    assert!(matches!(&alice[1], (2030, CallEvent::Answered { answer, .. }) if answer == ANSWER));
    assert!(matches!(&alice[2], (2030, CallEvent::Confirmed { .. })));
    assert!(matches!(
        &alice[3],
        (
            5000,
            CallEvent::Ended {
                cause: EndCause::LocalHangup,
                ..
            }
        )
    ));
    let bob = sim.events("bob");
    assert!(
        matches!(&bob[0], (30, CallEvent::Incoming { offer: Some(o), waiting: false, .. }) if o == OFFER)
    );
    assert!(matches!(&bob[1], (2060, CallEvent::Confirmed { .. })));
    assert!(matches!(
        &bob[2],
        (
            5030,
            CallEvent::Ended {
                cause: EndCause::RemoteHangup,
                ..
            }
        )
    ));
    // Ended calls are forgotten after 64·T1.
    sim.run_until(5000 + 32_000 + 100);
    assert!(sim.ua("alice").calls.is_empty() && sim.ua("bob").calls.is_empty());
}

fn ms_of(events: &[(u64, CallEvent)], pred: impl Fn(&CallEvent) -> bool) -> Vec<u64> {
    events
        .iter()
        .filter(|(_, e)| pred(e))
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn basic_call_bob_to_alice_with_lost_200_and_lost_ack() {
    let mut sim = two_uas();
    sim.drops.push(("alice".into(), "200 INVITE".into(), 1));
    sim.drops.push(("bob".into(), "ACK".into(), 1));
    let b = dial(&mut sim, "bob", "alice");
    sim.run_until(30);
    let a = incoming(&mut sim, "alice");
    sim.act("alice", |c, l, now| c.ring(now, l, a)).unwrap();
    sim.act("alice", |c, l, now| c.answer(now, l, a, ANSWER.to_vec()))
        .unwrap();
    sim.run_until(4000);
    sim.act("alice", |c, l, now| c.hangup(now, l, a)).unwrap();
    sim.run_until(4100);
    // 200 at 30 lost, retransmitted at T1 (530) and 2·T1 (1530): the ACK to the first that
    // arrives is lost, the second gets through.
    assert_eq!(
        sim.lines(),
        [
            "0 bob>alice INVITE",
            "30 alice>bob 180 INVITE",
            "30 alice>bob 200 INVITE (lost)",
            "530 alice>bob 200 INVITE",
            "560 bob>alice ACK (lost)",
            "1530 alice>bob 200 INVITE",
            "1560 bob>alice ACK",
            "4000 alice>bob BYE",
            "4030 bob>alice 200 BYE",
        ]
    );
    let bob = sim.events("bob");
    assert_eq!(
        ms_of(&bob, |e| matches!(e, CallEvent::Answered { .. })),
        [560]
    );
    assert_eq!(
        ms_of(&bob, |e| matches!(
            e,
            CallEvent::Ended {
                cause: EndCause::RemoteHangup,
                ..
            }
        )),
        [4030]
    );
    assert_eq!(
        ms_of(&sim.events("alice"), |e| matches!(
            e,
            CallEvent::Confirmed { .. }
        )),
        [1590]
    );
    let _ = b;
}

#[test]
fn cancel_after_ringing() {
    let mut sim = two_uas();
    let a = dial(&mut sim, "alice", "bob");
    sim.run_until(30);
    let b = incoming(&mut sim, "bob");
    sim.act("bob", |c, l, now| c.ring(now, l, b)).unwrap();
    sim.run_until(1000);
    sim.act("alice", |c, l, now| c.hangup(now, l, a)).unwrap();
    sim.run_until(1200);
    assert_eq!(
        sim.lines(),
        [
            "0 alice>bob INVITE",
            "30 bob>alice 180 INVITE",
            "1000 alice>bob CANCEL",
            "1030 bob>alice 200 CANCEL",
            "1030 bob>alice 487 INVITE",
            "1060 alice>bob ACK",
        ]
    );
    assert_eq!(ended(&mut sim, "alice"), Some((1060, EndCause::Cancelled)));
    assert_eq!(
        ended(&mut sim, "bob"),
        Some((1030, EndCause::CallerCancelled))
    );
}

#[test]
fn cancel_waits_for_a_provisional_response() {
    let mut sim = two_uas();
    let a = dial(&mut sim, "alice", "bob");
    sim.run_until(10);
    sim.act("alice", |c, l, now| c.hangup(now, l, a)).unwrap();
    sim.run_until(400);
    // §9.1: no CANCEL before the 100 (sent by Bob's transaction at 230) arrives at 260.
    assert_eq!(
        sim.lines(),
        [
            "0 alice>bob INVITE",
            "230 bob>alice 100 INVITE",
            "260 alice>bob CANCEL",
            "290 bob>alice 200 CANCEL",
            "290 bob>alice 487 INVITE",
            "320 alice>bob ACK",
        ]
    );
    assert_eq!(ended(&mut sim, "alice"), Some((320, EndCause::Cancelled)));
}

#[test]
fn cancel_crossing_the_200_gets_ack_and_bye() {
    let mut sim = two_uas();
    let a = dial(&mut sim, "alice", "bob");
    sim.run_until(30);
    let b = incoming(&mut sim, "bob");
    sim.act("bob", |c, l, now| c.ring(now, l, b)).unwrap();
    sim.run_until(1000);
    sim.act("bob", |c, l, now| c.answer(now, l, b, ANSWER.to_vec()))
        .unwrap();
    sim.run_until(1010);
    sim.act("alice", |c, l, now| c.hangup(now, l, a)).unwrap();
    sim.run_until(1200);
    assert_eq!(
        sim.lines(),
        [
            "0 alice>bob INVITE",
            "30 bob>alice 180 INVITE",
            "1000 bob>alice 200 INVITE",
            "1010 alice>bob CANCEL",
            "1030 alice>bob ACK",
            "1030 alice>bob BYE",
            "1040 bob>alice 200 CANCEL",
            "1060 bob>alice 200 BYE",
        ]
    );
    assert_eq!(ended(&mut sim, "alice"), Some((1030, EndCause::Cancelled)));
    assert_eq!(ended(&mut sim, "bob"), Some((1060, EndCause::RemoteHangup)));
    // Alice never reported the call as answered.
    assert!(
        ms_of(&sim.events("alice"), |e| matches!(
            e,
            CallEvent::Answered { .. }
        ))
        .is_empty()
    );
}

#[test]
fn busy_and_declined_are_rejections_with_plain_reasons() {
    for (code, words) in [
        (486, "the person you called is busy"),
        (603, "the person you called declined the call"),
        (480, "the person you called is not available right now"),
        (
            488,
            "the other side accepts none of our audio codecs, or insists on encryption",
        ),
    ] {
        let mut sim = two_uas();
        dial(&mut sim, "alice", "bob");
        sim.run_until(30);
        let b = incoming(&mut sim, "bob");
        sim.act("bob", |c, l, now| c.reject(now, l, b, code))
            .unwrap();
        sim.run_until(200);
        assert_eq!(
            sim.lines(),
            [
                "0 alice>bob INVITE".to_owned(),
                format!("30 bob>alice {code} INVITE"),
                "60 alice>bob ACK".to_owned(),
            ]
        );
        let (t, cause) = ended(&mut sim, "alice").unwrap();
        assert_eq!(t, 60);
        let failure = match cause {
            EndCause::Rejected(f) if matches!(code, 486 | 603) => f,
            EndCause::Failed(f) if matches!(code, 480 | 488) => f,
            other => panic!("{code}: {other:?}"),
        };
        assert_eq!((failure.code, failure.message.as_str()), (code, words));
        assert!(!failure.hint.is_empty() || code == 603);
    }
}

#[test]
fn no_answer_ends_at_timer_b() {
    let mut sim = two_uas();
    sim.add_script("void", "192.0.2.66:5060");
    dial(&mut sim, "alice", "void");
    sim.run_until(40_000);
    assert_eq!(
        sim.lines_with("INVITE")
            .iter()
            .map(|l| l.split(' ').next().unwrap().parse::<u64>().unwrap())
            .collect::<Vec<_>>(),
        [0, 500, 1500, 3500, 7500, 15500, 31500]
    );
    let (t, cause) = ended(&mut sim, "alice").unwrap();
    assert_eq!(t, 32_000);
    let EndCause::Failed(f) = cause else {
        panic!("{cause:?}")
    };
    assert_eq!(f.code, 408);
    assert_eq!(f.message, "no answer from sip:void@192.0.2.66:5060");
}

#[test]
fn no_ack_means_bye_after_64_t1() {
    let mut sim = two_uas();
    sim.drops.push(("alice".into(), "ACK".into(), 1000));
    dial(&mut sim, "alice", "bob");
    sim.run_until(30);
    let b = incoming(&mut sim, "bob");
    sim.run_until(1000);
    sim.act("bob", |c, l, now| c.answer(now, l, b, ANSWER.to_vec()))
        .unwrap();
    sim.run_until(40_000);
    let oks: Vec<String> = sim.lines_with("200 INVITE");
    assert_eq!(
        oks,
        [
            "1000 bob>alice 200 INVITE",
            "1500 bob>alice 200 INVITE",
            "2500 bob>alice 200 INVITE",
            "4500 bob>alice 200 INVITE",
            "8500 bob>alice 200 INVITE",
            "12500 bob>alice 200 INVITE",
            "16500 bob>alice 200 INVITE",
            "20500 bob>alice 200 INVITE",
            "24500 bob>alice 200 INVITE",
            "28500 bob>alice 200 INVITE",
            "32500 bob>alice 200 INVITE",
        ]
    );
    let byes: Vec<String> = sim
        .lines()
        .into_iter()
        .filter(|l| l.ends_with("BYE"))
        .collect();
    assert_eq!(byes, ["33000 bob>alice BYE", "33030 alice>bob 200 BYE"]);
    let (t, cause) = ended(&mut sim, "bob").unwrap();
    assert_eq!(t, 33_000);
    assert!(matches!(cause, EndCause::Failed(f) if f.code == 408));
    assert_eq!(
        ended(&mut sim, "alice"),
        Some((33_030, EndCause::RemoteHangup))
    );
}

#[test]
fn hold_and_resume() {
    let (mut sim, a, b) = connected();
    sim.run_until(2000);
    let hold = OFFER.to_vec();
    let hold = String::from_utf8(hold)
        .unwrap()
        .replace("sendrecv", "sendonly");
    sim.act("alice", |c, l, now| {
        c.hold(now, l, a, hold.clone().into_bytes())
    })
    .unwrap();
    sim.run_until(2030);
    let offered = sim.take_events("bob");
    assert!(
        matches!(&offered[..], [(2030, CallEvent::UpdateOffered { offer: Some(o), .. })] if *o == hold.as_bytes())
    );
    let recvonly = String::from_utf8(ANSWER.to_vec())
        .unwrap()
        .replace("sendrecv", "recvonly");
    sim.act("bob", |c, l, now| {
        c.answer_update(now, l, b, recvonly.clone().into_bytes())
    })
    .unwrap();
    sim.run_until(4000);
    sim.act("alice", |c, l, now| c.resume(now, l, a, OFFER.to_vec()))
        .unwrap();
    sim.run_until(4030);
    sim.act("bob", |c, l, now| {
        c.answer_update(now, l, b, ANSWER.to_vec())
    })
    .unwrap();
    sim.run_until(5000);
    assert_eq!(
        sim.lines(),
        [
            "2000 alice>bob INVITE",
            "2030 bob>alice 200 INVITE",
            "2060 alice>bob ACK",
            "4000 alice>bob INVITE",
            "4030 bob>alice 200 INVITE",
            "4060 alice>bob ACK",
        ]
    );
    let alice = sim.events("alice");
    assert!(
        matches!(&alice[0], (2060, CallEvent::Updated { answer, .. }) if *answer == recvonly.as_bytes())
    );
    assert!(matches!(&alice[1], (4060, CallEvent::Updated { answer, .. }) if answer == ANSWER));
    assert_eq!(sim.ua("alice").calls.state(a), Some(CallState::Active));
    // The re-INVITEs used CSeq 2 and 3 of Alice's dialog.
    assert_eq!(sim.ua("alice").calls.dialog(a).unwrap().local_seq, 3);
}

#[test]
fn glare_gets_491_and_both_retry_after_the_section_14_1_interval() {
    let (mut sim, a, b) = connected();
    sim.run_until(2000);
    sim.act("alice", |c, l, now| c.hold(now, l, a, OFFER.to_vec()))
        .unwrap();
    sim.act("bob", |c, l, now| c.hold(now, l, b, ANSWER.to_vec()))
        .unwrap();
    // Each side answers the other's offer as soon as it arrives.
    let mut seen: Vec<(&str, (u64, CallEvent))> = Vec::new();
    for _ in 0..700 {
        let t = sim.ms() + 10;
        sim.run_until(t);
        for (me, h) in [("alice", a), ("bob", b)] {
            for (_, e) in sim.take_events(me) {
                if let CallEvent::UpdateOffered { .. } = e {
                    sim.act(me, |c, l, now| c.answer_update(now, l, h, b"x".to_vec()))
                        .unwrap();
                }
                seen.push((me, (0, e)));
            }
        }
    }
    for (me, e) in seen {
        sim.ua(me).events.push(e);
    }
    let lines = sim.lines();
    // Seeded RNGs make the random intervals reproducible: Bob waits 1880 ms, Alice 3130 ms.
    assert_eq!(
        lines,
        [
            "2000 alice>bob INVITE",
            "2000 bob>alice INVITE",
            "2030 alice>bob 491 INVITE",
            "2030 bob>alice 491 INVITE",
            "2060 alice>bob ACK",
            "2060 bob>alice ACK",
            "3940 bob>alice INVITE",
            "3970 alice>bob 200 INVITE",
            "4000 bob>alice ACK",
            "5190 alice>bob INVITE",
            "5220 bob>alice 200 INVITE",
            "5250 alice>bob ACK",
        ]
    );
    // Bob (not the Call-ID's owner) retries within 0–2 s, Alice (the owner) within 2.1–4 s.
    let retries: Vec<(u64, String)> = lines[6..]
        .iter()
        .filter(|l| l.ends_with(" INVITE") && !l.contains(" 200 ") && !l.contains(" 491 "))
        .map(|l| {
            let (t, rest) = l.split_once(' ').unwrap();
            (t.parse().unwrap(), rest.to_owned())
        })
        .collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert_eq!(retries[0].1, "bob>alice INVITE");
    assert!((2060..=4060).contains(&retries[0].0));
    assert_eq!(retries[1].1, "alice>bob INVITE");
    assert!((4160..=6060).contains(&retries[1].0));
    let updated =
        |sim: &mut Sim, n| ms_of(&sim.events(n), |e| matches!(e, CallEvent::Updated { .. })).len();
    assert_eq!(
        (updated(&mut sim, "alice"), updated(&mut sim, "bob")),
        (1, 1)
    );
}

#[test]
fn dtmf_in_info() {
    let (mut sim, a, b) = connected();
    sim.run_until(2000);
    sim.act("alice", |c, l, now| c.send_dtmf(now, l, a, '5', 160))
        .unwrap();
    sim.act("alice", |c, l, now| c.send_dtmf(now, l, a, '#', 100))
        .unwrap();
    sim.run_until(2100);
    assert_eq!(
        sim.lines(),
        [
            // One INFO at a time, so digits cannot overtake each other.
            "2000 alice>bob INFO",
            "2030 bob>alice 200 INFO",
            "2060 alice>bob INFO",
            "2090 bob>alice 200 INFO",
        ]
    );
    let digits: Vec<(char, u32)> = sim
        .events("bob")
        .into_iter()
        .filter_map(|(_, e)| match e {
            CallEvent::Dtmf {
                call,
                digit,
                duration_ms,
            } if call == b => Some((digit, duration_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(digits, [('5', 160), ('#', 100)]);
    assert!(
        sim.act("alice", |c, l, now| c.send_dtmf(now, l, a, 'x', 100))
            .is_err()
    );
}

#[test]
fn blind_transfer_with_refer_and_notify() {
    let (mut sim, a, b) = connected();
    sim.run_until(2000);
    sim.act("alice", |c, l, now| {
        c.transfer(now, l, a, "sip:carol@example.com")
    })
    .unwrap();
    sim.run_until(2030);
    let asked: Vec<String> = sim
        .events("bob")
        .into_iter()
        .filter_map(|(_, e)| match e {
            CallEvent::TransferRequested { target, .. } => Some(target),
            _ => None,
        })
        .collect();
    assert_eq!(asked, ["sip:carol@example.com"]);
    sim.run_until(3000);
    sim.act("bob", |c, l, now| {
        c.transfer_progress(now, l, b, 180, "Ringing")
    })
    .unwrap();
    sim.run_until(4000);
    sim.act("bob", |c, l, now| c.transfer_progress(now, l, b, 200, "OK"))
        .unwrap();
    sim.run_until(4100);
    assert_eq!(
        sim.lines(),
        [
            "2000 alice>bob REFER",
            "2030 bob>alice 202 REFER",
            "2030 bob>alice NOTIFY",
            "2060 alice>bob 200 NOTIFY",
            "3000 bob>alice NOTIFY",
            "3030 alice>bob 200 NOTIFY",
            "4000 bob>alice NOTIFY",
            "4030 alice>bob 200 NOTIFY",
        ]
    );
    let progress: Vec<(u64, u16, bool)> = sim
        .events("alice")
        .into_iter()
        .filter_map(|(t, e)| match e {
            CallEvent::TransferProgress { code, done, .. } => Some((t, code, done)),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress,
        [
            (2060, 202, false),
            (2060, 100, false),
            (3030, 180, false),
            (4030, 200, true)
        ]
    );
    // The subscription is over: no more NOTIFYs.
    assert!(
        sim.act("bob", |c, l, now| c.transfer_progress(now, l, b, 200, "OK"))
            .is_err()
    );
}

#[test]
fn waiting_call_rings_or_gets_486() {
    for waiting in [true, false] {
        let (mut sim, _a, b) = connected();
        let mut cfg = Sim::config("carol", "192.0.2.3:5060");
        cfg.call_waiting = true;
        sim.add_ua("carol", "192.0.2.3:5060", cfg, 3);
        sim.act("bob", |c, _, _| c.set_call_waiting(waiting));
        sim.run_until(2000);
        let target = "sip:bob@192.0.2.2:5060".to_owned();
        let peer = sim.addr("bob");
        let c = sim
            .act("carol", |c, l, now| {
                c.dial(now, l, &target, OFFER.to_vec(), peer)
            })
            .unwrap();
        sim.run_until(2100);
        let bob = sim.events("bob");
        if waiting {
            let w = bob.iter().find_map(|(t, e)| match e {
                CallEvent::Incoming { call, waiting, .. } => Some((*t, *call, *waiting)),
                _ => None,
            });
            let (t, second, flag) = w.unwrap();
            assert_eq!((t, flag), (2030, true));
            assert_ne!(second, b);
            assert_eq!(sim.ua("bob").calls.active_calls().len(), 2);
        } else {
            assert_eq!(
                sim.lines(),
                [
                    "2000 carol>bob INVITE",
                    "2030 bob>carol 486 INVITE",
                    "2060 carol>bob ACK"
                ]
            );
            assert!(matches!(&bob[..], [(2030, CallEvent::AutoRejected { .. })]));
            assert!(
                matches!(ended(&mut sim, "carol"), Some((2060, EndCause::Rejected(f))) if f.code == 486)
            );
        }
        let _ = c;
    }
}

#[test]
fn incoming_reinvite_with_lost_200_is_retransmitted_until_ack() {
    let (mut sim, a, b) = connected();
    sim.drops.push(("alice".into(), "200 INVITE".into(), 1));
    sim.run_until(2000);
    let hold = String::from_utf8(ANSWER.to_vec())
        .unwrap()
        .replace("sendrecv", "inactive");
    sim.act("bob", |c, l, now| {
        c.hold(now, l, b, hold.clone().into_bytes())
    })
    .unwrap();
    sim.run_until(2030);
    assert!(matches!(
        &sim.take_events("alice")[..],
        [(2030, CallEvent::UpdateOffered { offer: Some(_), .. })]
    ));
    // A second change while this one runs is refused (§14.1).
    assert!(
        sim.act("alice", |c, l, now| c.hold(now, l, a, OFFER.to_vec()))
            .is_err()
    );
    sim.act("alice", |c, l, now| {
        c.answer_update(now, l, a, OFFER.to_vec())
    })
    .unwrap();
    sim.run_until(4000);
    assert_eq!(
        sim.lines(),
        [
            "2000 bob>alice INVITE",
            "2030 alice>bob 200 INVITE (lost)",
            // Timer A resends the re-INVITE (absorbed by Alice's Accepted transaction) and
            // Alice's own 2xx retransmission at T1 gets through.
            "2500 bob>alice INVITE",
            "2530 alice>bob 200 INVITE",
            "2560 bob>alice ACK",
        ]
    );
    assert_eq!(
        ms_of(&sim.events("bob"), |e| matches!(
            e,
            CallEvent::Updated { .. }
        )),
        [2560]
    );
    let info = sim.ua("bob").calls.info(b).unwrap();
    assert!(!info.outgoing && info.remote == "sip:alice@example.com");
    assert_eq!(info.state, CallState::Active);
}

#[test]
fn forking_proxy_two_phones_answer_one_wins_the_other_gets_ack_and_bye() {
    let mut sim = Sim::new();
    let mut cfg = Sim::config("alice", "192.0.2.1:5060");
    cfg.outbound_proxy = Some(sim::peer("192.0.2.9:5060"));
    sim.add_ua("alice", "192.0.2.1:5060", cfg, 1);
    sim.add_ua(
        "bob",
        "192.0.2.2:5060",
        Sim::config("bob", "192.0.2.2:5060"),
        2,
    );
    sim.add_ua(
        "desk",
        "192.0.2.3:5060",
        Sim::config("bob", "192.0.2.3:5060"),
        3,
    );
    sim.add_proxy("proxy", "192.0.2.9:5060", &["bob", "desk"]);
    let peer = sim.addr("proxy");
    let a = sim
        .act("alice", |c, l, now| {
            c.dial(now, l, "sip:bob@example.com", OFFER.to_vec(), peer)
        })
        .unwrap();
    sim.run_until(60);
    let (b, d) = (incoming(&mut sim, "bob"), incoming(&mut sim, "desk"));
    sim.act("bob", |c, l, now| c.ring(now, l, b)).unwrap();
    sim.act("desk", |c, l, now| c.ring(now, l, d)).unwrap();
    sim.run_until(1000);
    sim.act("bob", |c, l, now| c.answer(now, l, b, ANSWER.to_vec()))
        .unwrap();
    sim.run_until(1010);
    sim.act("desk", |c, l, now| c.answer(now, l, d, ANSWER.to_vec()))
        .unwrap();
    sim.run_until(1300);
    assert_eq!(
        sim.lines(),
        [
            "0 alice>proxy INVITE",
            "30 proxy>bob INVITE",
            "30 proxy>desk INVITE",
            "60 bob>proxy 180 INVITE",
            "60 desk>proxy 180 INVITE",
            "90 proxy>alice 180 INVITE",
            "90 proxy>alice 180 INVITE",
            "1000 bob>proxy 200 INVITE",
            "1010 desk>proxy 200 INVITE",
            "1030 proxy>alice 200 INVITE",
            "1040 proxy>alice 200 INVITE",
            "1060 alice>proxy ACK",
            "1070 alice>proxy ACK",
            "1070 alice>proxy BYE",
            "1090 proxy>bob ACK",
            "1100 proxy>desk ACK",
            "1100 proxy>desk BYE",
            "1130 desk>proxy 200 BYE",
            "1160 proxy>alice 200 BYE",
        ]
    );
    assert_eq!(sim.ua("alice").calls.state(a), Some(CallState::Active));
    assert_eq!(
        sim.ua("alice").calls.dialog(a).unwrap().remote_target,
        "sip:bob@192.0.2.2:5060"
    );
    assert_eq!(sim.ua("bob").calls.state(b), Some(CallState::Active));
    assert_eq!(
        ended(&mut sim, "desk"),
        Some((1130, EndCause::RemoteHangup))
    );
    let progress = ms_of(&sim.events("alice"), |e| {
        matches!(e, CallEvent::Progress { code: 180, .. })
    });
    assert_eq!(progress, [120, 120]);
    assert_eq!(
        ms_of(&sim.events("alice"), |e| matches!(
            e,
            CallEvent::Answered { .. }
        )),
        [1060]
    );
}

#[test]
fn lost_info_and_notify_are_retransmitted_by_their_transactions() {
    let (mut sim, a, _b) = connected();
    sim.drops.push(("alice".into(), "INFO".into(), 1));
    sim.drops.push(("bob".into(), "NOTIFY".into(), 1));
    sim.run_until(2000);
    sim.act("alice", |c, l, now| c.send_dtmf(now, l, a, '7', 200))
        .unwrap();
    sim.run_until(2600);
    sim.act("alice", |c, l, now| {
        c.transfer(now, l, a, "sip:carol@example.com")
    })
    .unwrap();
    sim.run_until(3500);
    assert_eq!(
        sim.lines(),
        [
            "2000 alice>bob INFO (lost)",
            "2500 alice>bob INFO",
            "2530 bob>alice 200 INFO",
            "2600 alice>bob REFER",
            "2630 bob>alice 202 REFER",
            "2630 bob>alice NOTIFY (lost)",
            "3130 bob>alice NOTIFY",
            "3160 alice>bob 200 NOTIFY",
        ]
    );
    assert_eq!(
        ms_of(&sim.events("bob"), |e| matches!(
            e,
            CallEvent::Dtmf { digit: '7', .. }
        )),
        [2530]
    );
    assert_eq!(
        ms_of(&sim.events("alice"), |e| matches!(
            e,
            CallEvent::TransferProgress { code: 100, .. }
        )),
        [3160]
    );
}

#[test]
fn a_request_overtaken_by_a_later_one_is_refused_with_500() {
    // §12.2.2: a CSeq lower than the last one seen in the dialog is out of order.
    let (mut sim, a, _b) = connected();
    sim.drops.push(("alice".into(), "INFO".into(), 1));
    sim.run_until(2000);
    sim.act("alice", |c, l, now| c.send_dtmf(now, l, a, '7', 200))
        .unwrap();
    sim.act("alice", |c, l, now| {
        c.transfer(now, l, a, "sip:carol@example.com")
    })
    .unwrap();
    sim.run_until(2600);
    assert_eq!(
        sim.lines(),
        [
            "2000 alice>bob INFO (lost)",
            "2000 alice>bob REFER",
            "2030 bob>alice 202 REFER",
            "2030 bob>alice NOTIFY",
            "2060 alice>bob 200 NOTIFY",
            "2500 alice>bob INFO",
            "2530 bob>alice 500 INFO",
        ]
    );
    assert!(ms_of(&sim.events("bob"), |e| matches!(e, CallEvent::Dtmf { .. })).is_empty());
}

/// RFC 3261 §12.1: a proxy record-routes the INVITE (two values, as a proxy with two
/// interfaces or a chain of two proxies does). The callee's core copies them into its 180
/// and 200 (§12.1.1), so both dialogs name the same proxies: the callee's route set in
/// request order, the caller's reversed (§12.1.2); each side's BYE carries them as Route.
#[test]
fn record_route_through_a_proxy_builds_both_route_sets() {
    // Nearest the callee first, as a chain alice > p1 > p2 > bob would leave them.
    const P2: &str = "<sip:p2.example.com;lr>";
    const P1: &str = "<sip:p1.example.com;lr;ftag=x>";
    let mut sim = Sim::new();
    let mut cfg = Sim::config("alice", "192.0.2.1:5060");
    cfg.outbound_proxy = Some(sim::peer("192.0.2.9:5060"));
    sim.add_ua("alice", "192.0.2.1:5060", cfg, 1);
    sim.add_ua(
        "bob",
        "192.0.2.2:5060",
        Sim::config("bob", "192.0.2.2:5060"),
        2,
    );
    sim.add_record_routing_proxy("proxy", "192.0.2.9:5060", &["bob"], &[P2, P1]);
    let peer = sim.addr("proxy");
    let a = sim
        .act("alice", |c, l, now| {
            c.dial(now, l, "sip:bob@example.com", OFFER.to_vec(), peer)
        })
        .unwrap();
    sim.run_until(60);
    let b = incoming(&mut sim, "bob");
    sim.act("bob", |c, l, now| c.ring(now, l, b)).unwrap();
    sim.run_until(1000);
    sim.act("bob", |c, l, now| c.answer(now, l, b, ANSWER.to_vec()))
        .unwrap();
    sim.run_until(1100);
    assert_eq!(sim.ua("alice").calls.state(a), Some(CallState::Active));

    let from_bob: Vec<(String, Vec<String>)> = sim
        .wire
        .iter()
        .filter(|(_, from, _, m)| from == "bob" && matches!(m, rsip::SipMessage::Response(_)))
        .map(|(_, _, _, m)| (sim::summary(m), sim::header_values(m, "Record-Route")))
        .collect();
    assert_eq!(
        from_bob,
        [
            ("180 INVITE".to_owned(), vec![P2.to_owned(), P1.to_owned()]),
            ("200 INVITE".to_owned(), vec![P2.to_owned(), P1.to_owned()]),
        ]
    );
    assert_eq!(
        sim.ua("bob").calls.dialog(b).unwrap().route_set,
        [P2, P1],
        "UAS: Record-Route in request order (§12.1.1)"
    );
    assert_eq!(
        sim.ua("alice").calls.dialog(a).unwrap().route_set,
        [P1, P2],
        "UAC: the 2xx's Record-Route reversed (§12.1.2)"
    );

    // Both directions of the dialog carry the route set (§12.2.1.1, loose routing).
    sim.wire.clear();
    sim.act("alice", |c, l, now| c.send_dtmf(now, l, a, '5', 100))
        .unwrap();
    sim.run_until(1500);
    sim.act("bob", |c, l, now| c.hangup(now, l, b)).unwrap();
    sim.run_until(2000);
    let routes = |from: &str, what: &str| {
        sim.wire
            .iter()
            .find(|(_, f, to, m)| f == from && to == "proxy" && sim::summary(m) == what)
            .map(|(_, _, _, m)| sim::header_values(m, "Route"))
            .unwrap()
    };
    assert_eq!(routes("alice", "INFO"), [P1, P2]);
    assert_eq!(routes("bob", "BYE"), [P2, P1]);
    assert_eq!(
        ended(&mut sim, "alice"),
        Some((1560, EndCause::RemoteHangup))
    );
}
