//! Calls through kamailio in the lab (root; skipped otherwise): a sipp UAC on the public host
//! calls `homeline answer` registered behind the Cone NAT; `homeline call --account` gets
//! kamailio's 407 (auth_calls) and goes through with the account's credentials.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use homeline_lab::{KamailioConfig, Lab, RouterProfile};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn config(dir: &Path, registrar: &str) -> PathBuf {
    let path = dir.join("homeline.toml");
    std::fs::write(
        &path,
        format!(
            "version = 1\n[[accounts]]\nid = \"acc-000001\"\ndisplay_name = \"Alice\"\n\
             sip_address = \"sip:alice@homeline.test\"\nregistrar = \"{registrar}\"\n\
             transport = \"udp\"\npassword = \"pw-alice\"\n"
        ),
    )
    .unwrap();
    path
}

fn homeline(lab: &Lab, dir: &Path) -> Command {
    let mut cmd = lab.client().command(env!("CARGO_BIN_EXE_homeline"));
    cmd.env_remove("HOMELINE_LOG")
        .env_remove("HOMELINE_CONFIG")
        .env("HOMELINE_LOG_DIR", dir.join("logs"));
    cmd
}

#[test]
fn sipp_uac_calls_homeline_answer_registered_behind_the_nat() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "pw-alice"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &format!("sip:{}", k.sip_addr().ip()));
    let mut answer = homeline(&lab, dir.path())
        .arg("--config")
        .arg(&cfg)
        .args(["answer", "--account", "Alice", "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the registration (the line "Alice: registered …").
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let sipp = lab
        .public()
        .command("sipp")
        .arg("-sf")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/uac_via_proxy.xml"))
        .args(["-s", "alice", "-i", &lab.public_ip().to_string()])
        .args([
            "-p",
            "5072",
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "20s",
            "-timeout_error",
        ])
        .arg(k.sip_addr().to_string())
        .current_dir(lab.out_dir())
        .output()
        .unwrap();
    while answer.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if answer.try_wait().unwrap().is_none() {
        let _ = answer.kill();
    }
    let out = answer.wait_with_output().unwrap();
    assert!(
        sipp.status.success(),
        "sipp: {}\n{}\nhomeline: {}\n{}\nkamailio: {}",
        sipp.status,
        text(&sipp.stderr),
        text(&out.stdout),
        text(&out.stderr),
        k.log()
    );
    assert!(
        out.status.success(),
        "homeline: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("incoming call from"), "{stdout}");
    assert!(stdout.contains("the other side hung up"), "{stdout}");
}

#[test]
fn kamailio_challenges_the_call_with_407_and_it_goes_through() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .auth_calls(true),
        )
        .unwrap();
    let uas_ip = lab.public_ip2().to_string();
    let mut uas_cmd = lab.public().command("sipp");
    uas_cmd
        .args([
            "-sn", "uas", "-i", &uas_ip, "-p", "5070", "-m", "1", "-nostdin",
        ])
        .current_dir(lab.out_dir());
    let mut uas = lab
        .public()
        .spawn(&mut uas_cmd, "sipp-uas-407.log")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &format!("sip:{}", k.sip_addr().ip()));
    let out = homeline(&lab, dir.path())
        .arg("--config")
        .arg(&cfg)
        .args(["call", &format!("sip:service@{uas_ip}:5070")])
        .args(["--account", "Alice", "--duration", "1", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "call: {}\n{}\nkamailio: {}\nuas: {}",
        text(&out.stdout),
        text(&out.stderr),
        k.log(),
        uas.log()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["end_reason"], "hung_up", "{v}");
    uas.stop();
}
