//! SIP over WebSocket (RFC 7118) against a real kamailio from behind the lab's NAT router,
//! through the `Phone` API: registering over WS and WSS (the lab's CA as `tls_ca_file`), and
//! an incoming call that kamailio routes down the client's WebSocket. Needs root; prints
//! `skipped: …` and passes otherwise.
#![allow(clippy::unwrap_used)]

mod sip_lab_common;

use std::time::Duration;

use homeline_lab::{KamailioConfig, Lab, RouterProfile};
use homeline_phone::RegistrationState;
use homeline_phone::sip::CallCommand;
use homeline_sip::call::CallEvent;
use sip_lab_common::{Account, call_user, open_phone, runtime, saved, settle, write_config};

#[test]
fn registers_over_ws_and_wss_and_a_call_arrives_on_the_websocket() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .user("bob", "pw-bob")
                .websocket(8080)
                .websocket_tls(8443),
        )
        .unwrap();
    let ca = lab.tls_files().unwrap().ca;
    let dir = tempfile::tempdir().unwrap();
    let ws = k.ws_addr().unwrap();
    let wss = k.wss_addr().unwrap();
    let config = write_config(
        dir.path(),
        &format!("tls_ca_file = \"{}\"", ca.display()),
        &[
            Account {
                id: "ws",
                user: "alice",
                password: "pw-alice",
                registrar: format!("sip:{ws}"),
                transport: "ws",
            },
            Account {
                id: "wss",
                user: "bob",
                password: "pw-bob",
                registrar: format!("sip:{wss}"),
                transport: "wss",
            },
        ],
    );
    let phone = open_phone(dir.path(), config);
    let (tx_registered, rx_registered) = std::sync::mpsc::channel();
    let (tx_called, rx_called) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            lab.client()
                .run(|| {
                    runtime().block_on(async {
                        let mut calls = phone.subscribe_calls();
                        phone.start_registrations().unwrap();
                        let ws = settle(&phone, "ws", Duration::from_secs(20)).await;
                        let wss = settle(&phone, "wss", Duration::from_secs(20)).await;
                        tx_registered.send((ws, wss)).unwrap();
                        // The call from the public side: ring it, then turn it down.
                        let incoming = tokio::time::timeout(Duration::from_secs(15), async {
                            loop {
                                let c = calls.recv().await.unwrap();
                                if let CallEvent::Incoming { call, from, .. } = c.event {
                                    return (c.account_id, call, from);
                                }
                            }
                        })
                        .await
                        .expect("no incoming call");
                        let (account, call, _) = &incoming;
                        assert!(phone.call_command(account, CallCommand::Ring(*call)));
                        assert!(phone.call_command(account, CallCommand::Reject(*call, 486)));
                        tokio::task::spawn_blocking(move || rx_called.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        phone.stop_registrations().await;
                        incoming
                    })
                })
                .unwrap()
        });
        let (ws_status, wss_status) = rx_registered.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(
            ws_status.state,
            RegistrationState::Registered,
            "{ws_status:?}"
        );
        assert_eq!(
            wss_status.state,
            RegistrationState::Registered,
            "{wss_status:?}"
        );
        assert_eq!(
            ws_status.server.as_deref(),
            Some(format!("{} over WS port 8080", ws.ip()).as_str())
        );
        assert_eq!(
            wss_status.server.as_deref(),
            Some(format!("{} over WSS port 8443", wss.ip()).as_str())
        );
        // A call for alice: kamailio finds her binding and sends the INVITE down her
        // WebSocket (the connection is her address, RFC 7118 §5); her 180 and 486 come back.
        let codes = call_user(&lab, "alice", k.sip_addr(), Duration::from_secs(15));
        tx_called.send(()).unwrap();
        let (account, _, from) = client.join().unwrap();
        assert_eq!(account, "ws");
        assert!(from.contains("sip:caller@homeline.test"), "{from}");
        assert!(codes.contains(&180), "caller got {codes:?}");
        assert_eq!(codes.last(), Some(&486), "caller got {codes:?}");
    });
    let log = k.log();
    assert!(saved(&log, "alice", "ws") >= 1, "{log}");
    assert!(saved(&log, "bob", "wss") >= 1, "{log}");
}

/// Keep-alives on a WebSocket flow (WS and WSS) are WebSocket Ping frames (RFC 6455 §5.5.2),
/// which kamailio answers with Pong: the flow stays up across several keep-alive periods and
/// is never re-registered. (A CRLF ping would be a SIP message on a WebSocket, which RFC 7118
/// does not define and kamailio does not answer, so the flow would be declared dead.)
#[test]
fn websocket_flows_live_through_keepalives() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .user("bob", "pw-bob")
                .websocket(8080)
                .websocket_tls(8443),
        )
        .unwrap();
    let ca = lab.tls_files().unwrap().ca;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("keepalive_secs = 20\ntls_ca_file = \"{}\"", ca.display()),
        &[
            Account {
                id: "ws",
                user: "alice",
                password: "pw-alice",
                registrar: format!("sip:{}", k.ws_addr().unwrap()),
                transport: "ws",
            },
            Account {
                id: "wss",
                user: "bob",
                password: "pw-bob",
                registrar: format!("sip:{}", k.wss_addr().unwrap()),
                transport: "wss",
            },
        ],
    );
    let phone = open_phone(dir.path(), config);
    let (first, after) = lab
        .client()
        .run(|| {
            runtime().block_on(async {
                phone.start_registrations().unwrap();
                let first = [
                    settle(&phone, "ws", Duration::from_secs(20)).await,
                    settle(&phone, "wss", Duration::from_secs(20)).await,
                ];
                // Pings at 16-20 s; an unanswered one fails the flow 10 s later.
                tokio::time::sleep(Duration::from_secs(45)).await;
                let after = phone.registration_states();
                phone.stop_registrations().await;
                (first, after)
            })
        })
        .unwrap();
    for (before, after) in first.iter().zip(&after) {
        assert_eq!(before.state, RegistrationState::Registered, "{before:?}");
        assert_eq!(after.state, RegistrationState::Registered, "{after:?}");
        assert_eq!(
            after.register_requests, before.register_requests,
            "the flow was never lost: {after:?}"
        );
    }
}
