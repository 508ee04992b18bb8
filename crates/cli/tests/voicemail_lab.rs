//! `homeline voicemail` through kamailio's `presence_mwi` in the lab (root; skipped otherwise):
//! Alice (behind the Cone NAT, with `voicemail_number = "*97"`) subscribes to her own
//! message summary (RFC 3842). Before any voicemail exists she hears "no new messages"; then
//! a voicemail system on the public side PUBLISHes 2 new (1 urgent) and 8 old messages, as
//! Asterisk or FreeSWITCH do towards a presence server, and she sees the counts within a
//! second; when it publishes 0 new, the indicator clears.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

use homeline_lab::{KamailioConfig, Lab, RouterProfile};

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// The next stdout line within `limit` (stderr is echoed as it comes).
fn next_out(rx: &mpsc::Receiver<(bool, String)>, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((true, l)) => return l,
            Ok((false, l)) => eprintln!("  {l}"),
            Err(e) => panic!("no line within {limit:?}: {e}"),
        }
    }
}

/// The voicemail system's PUBLISH of `body` for alice, sent from `sock` to kamailio; waits
/// for its final answer and returns the status line.
fn publish(sock: &UdpSocket, kamailio: SocketAddr, n: u32, body: &str) -> String {
    let local = sock.local_addr().unwrap();
    let msg = format!(
        "PUBLISH sip:alice@homeline.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-vm-{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:voicemail@homeline.test>;tag=vm{n}\r\n\
         To: <sip:alice@homeline.test>\r\n\
         Call-ID: vm-publish-{n}@{local}\r\n\
         CSeq: {n} PUBLISH\r\n\
         Event: message-summary\r\n\
         Expires: 3600\r\n\
         Content-Type: application/simple-message-summary\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.send_to(msg.as_bytes(), kamailio).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        let (len, _) = sock
            .recv_from(&mut buf)
            .expect("kamailio answers the PUBLISH");
        let text = String::from_utf8_lossy(&buf[..len]).into_owned();
        let status = text.lines().next().unwrap_or_default().to_owned();
        if !status.starts_with("SIP/2.0 1") {
            return status;
        }
    }
}

#[test]
fn the_voicemail_counts_reach_the_phone_within_a_second_through_kamailio() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .auth_calls(true)
                .presence(true),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let registrar = format!("sip:{}", k.sip_addr());
    let cfg = common::config(dir.path(), "alice", &registrar);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}voicemail_number = \"*97\"\n")).unwrap();

    let mut child = common::homeline(lab.client(), dir.path(), &cfg)
        .args(["voicemail", "--follow", "--json", "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let t2 = tx.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send((true, l));
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = t2.send((false, l));
        }
    });

    // Subscribed: the server has no mailbox state yet, so nothing waits.
    let first = json(&next_out(&rx, Duration::from_secs(20)));
    assert_eq!(first["account"], "acc-alice");
    assert_eq!(first["waiting"], false, "{first}");
    assert_eq!(first["new"], 0, "{first}");
    assert_eq!(first["voicemail_number"], "*97", "{first}");

    let vm = lab
        .public()
        .udp_socket(SocketAddr::new(lab.public_ip(), 0))
        .unwrap();
    vm.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let status = publish(
        &vm,
        k.sip_addr(),
        1,
        "Messages-Waiting: yes\r\nMessage-Account: sip:*97@homeline.test\r\n\
         Voice-Message: 2/8 (1/0)\r\n",
    );
    assert!(status.starts_with("SIP/2.0 200"), "{status}");
    let sent = Instant::now();
    let seen = json(&next_out(&rx, Duration::from_secs(5)));
    let latency = sent.elapsed();
    assert_eq!(seen["waiting"], true, "{seen}");
    assert_eq!(seen["new"], 2, "{seen}");
    assert_eq!(seen["old"], 8, "{seen}");
    assert_eq!(seen["urgent_new"], 1, "{seen}");
    assert_eq!(seen["message_account"], "sip:*97@homeline.test", "{seen}");
    assert!(latency < Duration::from_secs(1), "seen after {latency:?}");

    // Alice listened to them: the voicemail system says so, the indicator clears.
    let status = publish(
        &vm,
        k.sip_addr(),
        2,
        "Messages-Waiting: no\r\nVoice-Message: 0/10\r\n",
    );
    assert!(status.starts_with("SIP/2.0 200"), "{status}");
    let cleared = json(&next_out(&rx, Duration::from_secs(5)));
    assert_eq!(cleared["waiting"], false, "{cleared}");
    assert_eq!(
        (cleared["new"].as_u64(), cleared["old"].as_u64()),
        (Some(0), Some(10))
    );

    let _ = child.kill();
    let _ = child.wait();
    eprintln!("voicemail PUBLISH → phone shows it: {latency:?}");
}
