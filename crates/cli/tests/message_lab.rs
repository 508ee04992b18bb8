//! `homeline message send|listen` between two Homelines through kamailio in the lab (root;
//! skipped otherwise): Alice behind the Cone NAT, Bob on the public side. A message to Bob
//! while he is offline is stored by kamailio's msilo (`202`) and arrives when he registers;
//! English, Russian and Chinese text arrive byte-exact both ways; kamailio challenges every
//! MESSAGE (407) and the account's credentials answer it.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod common;
use common::{config, homeline};

use homeline_lab::{Host, KamailioConfig, Lab, RouterProfile};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn send(host: &Host, dir: &Path, cfg: &Path, to: &str, msg: &str) -> serde_json::Value {
    let out: Output = homeline(host, dir, cfg)
        .args(["message", "send", to, msg, "--json", "--timeout", "10"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "send {msg:?}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Starts `message listen` and waits (at most 20 s) until it says it listens.
fn listen(host: &Host, dir: &Path, cfg: &Path, count: usize) -> Child {
    let mut child = homeline(host, dir, cfg)
        .args(["message", "listen", "--json", "--timeout", "30"])
        .args(["--count", &count.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) if l.starts_with("listening for messages") => break,
            Ok(l) => eprintln!("listener: {l}"),
            Err(e) => {
                let _ = child.kill();
                panic!("the listener did not start: {e}");
            }
        }
    }
    child
}

fn received(child: Child) -> Vec<serde_json::Value> {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "listen: {}", text(&out.stdout));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const ENGLISH: &str = "Hello Bob, are you free for a call?";
const RUSSIAN: &str = "Привет, Боб! Ты свободен для звонка? «ёжик»";
const CHINESE: &str = "你好，鲍勃！现在方便通话吗？😀";

#[test]
fn messages_both_ways_in_three_languages_and_offline_through_msilo() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .user("bob", "pw-bob")
                .auth_calls(true)
                .presence(true),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let registrar = format!("sip:{}", k.sip_addr());
    let alice = config(dir.path(), "alice", &registrar);
    let bob = config(dir.path(), "bob", &registrar);

    // Bob is offline: kamailio keeps the message (202) for him.
    let sent = send(
        lab.client(),
        dir.path(),
        &alice,
        "sip:bob@homeline.test",
        RUSSIAN,
    );
    assert_eq!(sent["delivered"], true, "{sent}");
    assert_eq!(sent["code"], 202, "{sent}");

    // Bob comes online: the stored message first, then three live ones.
    let listener = listen(lab.public(), dir.path(), &bob, 4);
    for m in [ENGLISH, RUSSIAN, CHINESE] {
        let sent = send(lab.client(), dir.path(), &alice, "bob", m);
        assert_eq!(sent["code"], 200, "{sent}");
    }
    let got = received(listener);
    let texts: Vec<&str> = got.iter().map(|v| v["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        [RUSSIAN, ENGLISH, RUSSIAN, CHINESE],
        "kamailio: {}",
        k.log()
    );
    for v in &got {
        assert_eq!(v["from"], "sip:alice@homeline.test", "{v}");
        let t = v["time"].as_str().unwrap();
        assert!(t.len() == 20 && t.ends_with('Z'), "{v}");
        assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
    }

    // And back, to Alice behind the NAT.
    let listener = listen(lab.client(), dir.path(), &alice, 1);
    let sent = send(
        lab.public(),
        dir.path(),
        &bob,
        "alice@homeline.test",
        CHINESE,
    );
    assert_eq!(sent["code"], 200, "{sent}");
    let got = received(listener);
    assert_eq!(got[0]["text"], CHINESE);
    assert_eq!(got[0]["from"], "sip:bob@homeline.test");
}

#[test]
fn a_message_to_nobody_fails_with_the_reason() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    // Without msilo, kamailio answers 404 for a user who is not registered.
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "pw-alice"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alice = config(dir.path(), "alice", &format!("sip:{}", k.sip_addr()));
    let out = homeline(lab.client(), dir.path(), &alice)
        .args(["message", "send", "nobody", "hello?", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["delivered"], false, "{v}");
    assert_eq!(v["code"], 404, "{v}");
    let err = text(&out.stderr);
    assert!(err.contains("there is no such user"), "{err}");
}
