//! The direct-call endpoint on the loopback: two endpoints call each other (INVITE, 200, ACK,
//! BYE) carrying the SDP they are given, OPTIONS are answered with Allow and Accept (RFC 3261
//! §11.2), and bad addresses are refused in plain words.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use homeline_phone::sip::direct::{CallNotice, DirectCalls, DirectSetup, EndCause, direct_peer};
use homeline_phone::sip::{CallCommand, TokioClock};
use tokio::sync::broadcast::Receiver;

async fn next(rx: &mut Receiver<CallNotice>) -> CallNotice {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .unwrap()
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test]
async fn two_endpoints_call_answer_and_hang_up() {
    let (bob, mut bob_rx) =
        DirectCalls::start(DirectSetup::anonymous(loopback()), Arc::new(TokioClock))
            .await
            .unwrap();
    let (alice, mut alice_rx) =
        DirectCalls::start(DirectSetup::anonymous(loopback()), Arc::new(TokioClock))
            .await
            .unwrap();
    let uri = format!("sip:bob@{}", bob.local_addr());
    let call = alice
        .dial(&uri, b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n".to_vec())
        .await
        .unwrap();

    let CallNotice::Incoming {
        call: incoming,
        offer,
        ..
    } = next(&mut bob_rx).await
    else {
        panic!("expected Incoming");
    };
    let offer = String::from_utf8(offer.unwrap()).unwrap();
    assert!(
        offer.starts_with("v=0\r\no=- 1 1 IN IP4 127.0.0.1"),
        "{offer}"
    );
    bob.command(CallCommand::Answer(incoming, b"v=0\r\nanswer".to_vec()))
        .unwrap();

    let answer = loop {
        if let CallNotice::Answered { call: c, answer } = next(&mut alice_rx).await {
            assert_eq!(c, call);
            break String::from_utf8(answer).unwrap();
        }
    };
    assert_eq!(answer, "v=0\r\nanswer");
    loop {
        if let CallNotice::Confirmed { call: c, .. } = next(&mut bob_rx).await {
            assert_eq!(c, incoming);
            break;
        }
    }
    alice.command(CallCommand::Hangup(call)).unwrap();
    loop {
        if let CallNotice::Ended { cause, .. } = next(&mut bob_rx).await {
            assert_eq!(cause, EndCause::RemoteHangup);
            break;
        }
    }
    loop {
        if let CallNotice::Ended { cause, .. } = next(&mut alice_rx).await {
            assert_eq!(cause, EndCause::LocalHangup);
            break;
        }
    }
}

#[tokio::test]
async fn options_get_200_with_allow_and_accept() {
    let (ep, _rx) = DirectCalls::start(DirectSetup::anonymous(loopback()), Arc::new(TokioClock))
        .await
        .unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = sock.local_addr().unwrap();
    let to = ep.local_addr();
    let options = format!(
        "OPTIONS sip:x@{to} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKopt1;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{me}>;tag=p1\r\nTo: <sip:x@{to}>\r\n\
         Call-ID: options-probe-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(options.as_bytes(), to).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let r = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(r.starts_with("SIP/2.0 200"), "{r}");
    let lower = r.to_ascii_lowercase();
    assert!(
        lower.contains("\r\nallow:") && lower.contains("invite"),
        "{r}"
    );
    assert!(
        lower.contains("\r\naccept:") && lower.contains("application/sdp"),
        "{r}"
    );
}

#[tokio::test]
async fn direct_addresses_default_to_5060_and_bad_ones_are_refused() {
    assert_eq!(
        direct_peer("sip:bob@192.0.2.7").await.unwrap(),
        "192.0.2.7:5060".parse().unwrap()
    );
    assert_eq!(
        direct_peer("sip:bob@192.0.2.7:5090").await.unwrap(),
        "192.0.2.7:5090".parse().unwrap()
    );
    let e = direct_peer("not an address").await.unwrap_err();
    assert_eq!(e.code, "invalid_address");
}
