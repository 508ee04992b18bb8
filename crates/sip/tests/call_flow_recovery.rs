//! Calls that outlive their flow (RFC 5626 §5), on simulated time: Alice's flow is replaced
//! (a new transaction layer, a new local port, as after a server restart closed her TCP
//! connection); her connected call goes on, what was pending resolves at once, and once the
//! new Contact is known the call asks for a target refresh (RFC 3261 §12.2.1.2).
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

mod sim;

use std::net::SocketAddr;

use homeline_sip::call::{CallEvent, CallHandle, CallState, EndCause};
use homeline_sip::transaction::{TimerConfig, TransactionLayer, TransportKind};
use sim::Sim;

const OFFER: &[u8] = b"v=0\r\no=alice 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
const OFFER2: &[u8] = b"v=0\r\no=alice 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
const ANSWER: &[u8] = b"v=0\r\no=bob 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=sendrecv\r\n";
const NEW_CONTACT: &str = "<sip:alice@198.51.100.7:40001;ob>";

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

/// Alice → Bob, answered at 1000 ms, confirmed by 1100.
fn connected() -> (Sim, CallHandle, CallHandle) {
    let mut sim = two_uas();
    let a = dial(&mut sim, "alice", "bob");
    sim.run_until(30);
    let b = incoming(&mut sim, "bob");
    sim.run_until(1000);
    sim.act("bob", |c, l, now| c.answer(now, l, b, ANSWER.to_vec()))
        .unwrap();
    sim.run_until(1100);
    assert_eq!(sim.ua("alice").calls.state(a), Some(CallState::Active));
    sim.log.clear();
    sim.take_events("alice");
    sim.take_events("bob");
    (sim, a, b)
}

/// Alice's flow is replaced: a new transaction layer (the old one and its transactions are
/// gone) and a new local port.
fn new_flow(sim: &mut Sim) {
    let now = sim.now;
    let ua = sim.ua("alice");
    ua.layer = TransactionLayer::new(TimerConfig::default());
    let local: SocketAddr = "192.0.2.1:5070".parse().unwrap();
    ua.calls
        .move_to_flow(now, &mut ua.layer, local, TransportKind::Udp, None);
    sim.pump();
}

fn refreshes(events: &[(u64, CallEvent)]) -> Vec<(u64, CallHandle)> {
    events
        .iter()
        .filter_map(|(t, e)| match e {
            CallEvent::TargetRefresh { call } => Some((*t, *call)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_connected_call_outlives_its_flow_and_refreshes_the_peers_target() {
    let (mut sim, a, b) = connected();
    sim.run_until(2000);
    new_flow(&mut sim);
    // Nothing ends, nothing is asked before the new flow is registered.
    assert!(sim.take_events("alice").is_empty());
    assert_eq!(sim.ua("alice").calls.state(a), Some(CallState::Active));
    sim.run_until(2500);
    assert!(sim.take_events("alice").is_empty());
    // Registration on the new flow learned the Contact: the call asks for a refresh, once.
    sim.ua("alice").calls.set_contact(Some(NEW_CONTACT.into()));
    sim.pump();
    assert_eq!(refreshes(&sim.take_events("alice")), [(2500, a)]);
    sim.ua("alice").calls.set_contact(Some(NEW_CONTACT.into()));
    sim.pump();
    assert!(sim.take_events("alice").is_empty());
    // The application sends the same session, its version + 1: a re-INVITE with the new
    // Contact, which becomes Bob's remote target for Alice.
    sim.act("alice", |c, l, now| c.update(now, l, a, OFFER2.to_vec()))
        .unwrap();
    sim.run_until(2530);
    let offered = sim.take_events("bob");
    assert!(
        matches!(&offered[..], [(2530, CallEvent::UpdateOffered { call, offer: Some(o) })] if *call == b && o == OFFER2)
    );
    sim.act("bob", |c, l, now| {
        c.answer_update(now, l, b, ANSWER.to_vec())
    })
    .unwrap();
    sim.run_until(3000);
    assert_eq!(
        sim.lines(),
        [
            "2500 alice>bob INVITE",
            "2530 bob>alice 200 INVITE",
            "2560 alice>bob ACK",
        ]
    );
    let invite = &sim
        .wire
        .iter()
        .find(|(ms, from, _, _)| *ms == 2500 && from == "alice")
        .unwrap()
        .3;
    assert!(
        sim::header_values(invite, "Via")[0].contains("192.0.2.1:5070"),
        "{invite}"
    );
    assert_eq!(sim::header_values(invite, "Contact"), [NEW_CONTACT]);
    assert_eq!(
        sim.ua("bob").calls.dialog(b).unwrap().remote_target,
        "sip:alice@198.51.100.7:40001;ob"
    );
    let alice = sim.take_events("alice");
    assert!(matches!(&alice[..], [(2560, CallEvent::Updated { .. })]));
    // Refreshed: the same Contact asks nothing more; the hang-up goes on the new flow.
    sim.ua("alice").calls.set_contact(Some(NEW_CONTACT.into()));
    sim.act("alice", |c, l, now| c.hangup(now, l, a)).unwrap();
    sim.run_until(4000);
    assert_eq!(
        sim.lines()[3..],
        ["3000 alice>bob BYE", "3030 bob>alice 200 BYE"]
    );
    let alice = sim.take_events("alice");
    assert!(matches!(
        &alice[..],
        [(
            3000,
            CallEvent::Ended {
                cause: EndCause::LocalHangup,
                ..
            }
        )]
    ));
}

#[test]
fn what_was_pending_on_the_old_flow_resolves_at_once_and_new_ids_do_not_collide() {
    let (mut sim, a, b) = connected();
    sim.run_until(2000);
    // A hold re-INVITE and a DTMF digit (another waiting behind it) leave on the old flow,
    // and the flow dies before any answer: the answers go nowhere.
    let hold = String::from_utf8(OFFER2.to_vec())
        .unwrap()
        .replace("sendrecv", "sendonly");
    sim.act("alice", |c, l, now| {
        c.hold(now, l, a, hold.clone().into_bytes())
    })
    .unwrap();
    sim.act("alice", |c, l, now| c.send_dtmf(now, l, a, '5', 160))
        .unwrap();
    sim.act("alice", |c, l, now| c.send_dtmf(now, l, a, '6', 160))
        .unwrap();
    sim.drops.push(("bob".into(), "200 INVITE".into(), 10));
    sim.drops.push(("bob".into(), "200 INFO".into(), 10));
    new_flow(&mut sim);
    // The re-INVITE failed at once, in words; the call goes on as it was.
    let alice = sim.take_events("alice");
    assert!(
        matches!(&alice[..], [(2000, CallEvent::UpdateFailed { call, failure })] if *call == a && failure.code == 503),
        "{alice:?}"
    );
    assert_eq!(sim.ua("alice").calls.state(a), Some(CallState::Active));
    // Bob answers the hold (his 200s are lost with the old flow).
    sim.run_until(2030);
    sim.act("bob", |c, l, now| {
        c.answer_update(now, l, b, ANSWER.to_vec())
    })
    .unwrap();
    sim.drops.clear();
    // New requests on the new layer reuse its ids from 1: they must be taken for what they
    // are. An INFO now is answered as an INFO (not as the old re-INVITE), and a re-INVITE
    // can be sent (no INVITE transaction is left hanging).
    sim.run_until(40_000);
    sim.log.clear();
    sim.act("alice", |c, l, now| c.send_dtmf(now, l, a, '7', 160))
        .unwrap();
    sim.run_until(41_000);
    sim.act("alice", |c, l, now| c.update(now, l, a, OFFER2.to_vec()))
        .unwrap();
    sim.run_until(41_030);
    sim.act("bob", |c, l, now| {
        c.answer_update(now, l, b, ANSWER.to_vec())
    })
    .unwrap();
    sim.run_until(42_000);
    assert_eq!(
        sim.lines(),
        [
            "40000 alice>bob INFO",
            "40030 bob>alice 200 INFO",
            "41000 alice>bob INVITE",
            "41030 bob>alice 200 INVITE",
            "41060 alice>bob ACK",
        ]
    );
    let alice = sim.take_events("alice");
    assert!(
        matches!(&alice[..], [(41_060, CallEvent::Updated { .. })]),
        "{alice:?}"
    );
    // Bob's digits: only '5' (sent before the flow died) and '7'; '6' died with the flow.
    let digits: Vec<char> = sim
        .events("bob")
        .iter()
        .filter_map(|(_, e)| match e {
            CallEvent::Dtmf { digit, .. } => Some(*digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, ['5', '7']);
    assert_eq!(sim.ua("alice").calls.state(a), Some(CallState::Active));
}

#[test]
fn calls_not_yet_connected_end_with_the_flow_in_plain_words() {
    let mut sim = two_uas();
    let ringing = dial(&mut sim, "alice", "bob");
    sim.run_until(500);
    // And one that Alice hung up while its CANCEL was in flight.
    let cancelled = dial(&mut sim, "alice", "bob");
    sim.run_until(600);
    sim.act("alice", |c, l, now| c.hangup(now, l, cancelled))
        .unwrap();
    sim.take_events("alice");
    new_flow(&mut sim);
    let alice = sim.take_events("alice");
    let ended: Vec<(CallHandle, EndCause)> = alice
        .into_iter()
        .filter_map(|(_, e)| match e {
            CallEvent::Ended { call, cause } => Some((call, cause)),
            _ => None,
        })
        .collect();
    assert_eq!(ended.len(), 2, "{ended:?}");
    assert!(
        matches!(&ended[0], (c, EndCause::Failed(f)) if *c == ringing && f.code == 503
            && f.message.contains("connection to the server was lost")),
        "{ended:?}"
    );
    assert!(
        matches!(&ended[1], (c, EndCause::Cancelled) if *c == cancelled),
        "{ended:?}"
    );
    assert!(sim.ua("alice").calls.active_calls().is_empty());
    // Forgotten after 64·T1 like any ended call; nothing hangs.
    sim.run_until(40_000);
    assert!(sim.ua("alice").calls.is_empty());
}

#[test]
fn an_unchanged_contact_needs_no_refresh() {
    let (mut sim, _a, _b) = connected();
    sim.run_until(2000);
    // The same local address again (a UDP flow whose NAT binding held).
    let now = sim.now;
    let ua = sim.ua("alice");
    ua.layer = TransactionLayer::new(TimerConfig::default());
    ua.calls.move_to_flow(
        now,
        &mut ua.layer,
        "192.0.2.1:5060".parse().unwrap(),
        TransportKind::Udp,
        None,
    );
    ua.calls
        .set_contact(Some("<sip:alice@192.0.2.1:5060>".into()));
    sim.pump();
    assert!(sim.take_events("alice").is_empty());
    sim.run_until(5000);
    assert!(sim.lines().is_empty(), "{:?}", sim.lines());
}

#[test]
fn a_hang_up_without_a_flow_ends_the_call_at_once_and_the_bye_leaves_on_the_next_flow() {
    let (mut sim, a, _b) = connected();
    sim.run_until(2000);
    // The flow died at 2000 and the next one is not open yet: the person hangs up.
    let now = sim.now;
    sim.ua("alice").calls.hangup_without_flow(now, a).unwrap();
    sim.pump();
    let alice = sim.take_events("alice");
    assert!(
        matches!(
            &alice[..],
            [(
                2000,
                CallEvent::Ended {
                    cause: EndCause::LocalHangup,
                    ..
                }
            )]
        ),
        "{alice:?}"
    );
    // Again does nothing; nothing is sent without a flow.
    sim.ua("alice").calls.hangup_without_flow(now, a).unwrap();
    sim.run_until(5000);
    assert!(sim.lines().is_empty(), "{:?}", sim.lines());
    // The next flow opens: the BYE leaves on it first thing, and Bob's call ends.
    new_flow(&mut sim);
    sim.run_until(6000);
    assert_eq!(
        sim.lines(),
        ["5000 alice>bob BYE", "5030 bob>alice 200 BYE"]
    );
    assert!(sim.ua("bob").calls.active_calls().is_empty());
    assert!(sim.take_events("alice").is_empty());
}
