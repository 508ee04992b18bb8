//! `homeline register`: the exit status and the one line a script reads. The lab tests run
//! the binary inside the client namespace against kamailio (root; skipped otherwise).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use homeline_lab::{KamailioConfig, Lab, RouterProfile};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn our_stderr(o: &Output) -> String {
    text(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("homeline:"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn config(dir: &Path, registrar: &str, transport: &str, password: &str) -> PathBuf {
    let path = dir.join("homeline.toml");
    std::fs::write(
        &path,
        format!(
            "version = 1\n[[accounts]]\nid = \"acc-000001\"\ndisplay_name = \"Alice\"\n\
             sip_address = \"sip:alice@homeline.test\"\nregistrar = \"{registrar}\"\n\
             transport = \"{transport}\"\npassword = \"{password}\"\n"
        ),
    )
    .unwrap();
    path
}

fn prepare(cmd: &mut Command, dir: &Path) {
    cmd.env_remove("HOMELINE_LOG")
        .env_remove("HOMELINE_CONFIG")
        .env("HOMELINE_LOG_DIR", dir.join("logs"));
}

fn homeline(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_homeline"));
    prepare(&mut cmd, dir);
    cmd.args(args).output().unwrap()
}

#[test]
fn no_or_unknown_account_exits_1_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "version = 1\n").unwrap();
    let o = homeline(
        dir.path(),
        &["--config", empty.to_str().unwrap(), "register"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        our_stderr(&o).contains("there is no account"),
        "{}",
        text(&o.stderr)
    );

    let path = config(dir.path(), "sip:127.0.0.1:9", "udp", "pw");
    let o = homeline(
        dir.path(),
        &[
            "--config",
            path.to_str().unwrap(),
            "register",
            "--account",
            "Bob",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = our_stderr(&o);
    assert!(err.contains("no account \"Bob\""), "{err}");
    assert!(err.contains("acc-000001 (Alice)"), "{err}");
}

#[test]
fn refused_port_exits_1_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = config(dir.path(), &format!("sip:127.0.0.1:{port}"), "udp", "pw");
    let started = std::time::Instant::now();
    let o = homeline(
        dir.path(),
        &[
            "--config",
            path.to_str().unwrap(),
            "register",
            "--account",
            "alice",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = our_stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("homeline: Alice: Could not reach 127.0.0.1"),
        "{err}"
    );
    assert!(err.contains("nothing listens on that port"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

fn lab_homeline(lab: &Lab, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = lab.client().command(env!("CARGO_BIN_EXE_homeline"));
    prepare(&mut cmd, dir);
    cmd.args(args).output().unwrap()
}

#[test]
fn registers_through_the_nat_and_reports_a_wrong_password() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "pw-alice").tls(5061))
        .unwrap();
    let ip = k.sip_addr().ip();
    let dir = tempfile::tempdir().unwrap();

    let path = config(dir.path(), &format!("sip:{ip}"), "udp", "pw-alice");
    let o = lab_homeline(
        &lab,
        dir.path(),
        &["--config", path.to_str().unwrap(), "register"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(&format!("Alice: registered at {ip} over UDP port 5060 for")),
        "{out}"
    );

    // JSON, by display name, over TLS with the lab CA.
    let ca = lab.tls_files().unwrap().ca;
    let tls = dir.path().join("tls.toml");
    std::fs::write(
        &tls,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("transport = \"udp\"", "transport = \"tls\"")
            .replace(
                "version = 1\n",
                &format!(
                    "version = 1\n[network]\ntls_ca_file = \"{}\"\n",
                    ca.display()
                ),
            ),
    )
    .unwrap();
    let o = lab_homeline(
        &lab,
        dir.path(),
        &[
            "--config",
            tls.to_str().unwrap(),
            "register",
            "--account",
            "alice",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["state"], "registered");
    assert_eq!(v["account_id"], "acc-000001");
    assert!(
        v["server"].as_str().unwrap().contains("over TLS port 5061"),
        "{v}"
    );

    let wrong = config(dir.path(), &format!("sip:{ip}"), "udp", "nope");
    let o = lab_homeline(
        &lab,
        dir.path(),
        &["--config", wrong.to_str().unwrap(), "register"],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = our_stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Wrong user name or password"), "{err}");
    assert!(err.contains("\"alice\""), "{err}");
}

/// The check of log redaction: register for real with a known password at the most
/// verbose log level (every SIP message is logged) and look for the password everywhere the CLI
/// writes: stdout, stderr and the log folder.
#[test]
fn registration_at_trace_level_never_logs_the_password() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let password = format!("Trace-Probe-{}", std::process::id());
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", &password))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        &format!("sip:{}", k.sip_addr().ip()),
        "udp",
        &password,
    );
    let mut cmd = lab.client().command(env!("CARGO_BIN_EXE_homeline"));
    prepare(&mut cmd, dir.path());
    let o = cmd
        .env("HOMELINE_LOG", "trace")
        .args(["-vvv", "--config", path.to_str().unwrap(), "register"])
        .output()
        .unwrap();
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{err}");
    // The trace really shows the SIP exchange, so the check below looks at a full log.
    assert!(
        err.contains("REGISTER sip:"),
        "no SIP message at trace level:\n{err}"
    );
    assert!(err.contains("Authorization: Digest"), "{err}");
    assert!(!out.contains(&password) && !err.contains(&password));
    for entry in walk(&dir.path().join("logs")) {
        let bytes = std::fs::read(&entry).unwrap();
        let leaked = bytes
            .windows(password.len())
            .any(|w| w == password.as_bytes());
        assert!(!leaked, "password in {}", entry.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}
