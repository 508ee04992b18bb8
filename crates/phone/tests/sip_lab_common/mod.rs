//! Helpers of the SIP lab tests: a config file with accounts, a `Phone` on it, waiting for
//! registration states, kamailio's log, and a call from the public host.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use homeline_lab::Lab;
use homeline_phone::{
    MemoryKeyring, Phone, PhoneOptions, RegistrationState, RegistrationStatus, SecretBackendChoice,
};

/// One `[[accounts]]` entry.
pub struct Account<'a> {
    pub id: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    pub registrar: String,
    pub transport: &'a str,
}

/// Writes `homeline.toml` with `network` lines and `accounts`.
pub fn write_config(dir: &Path, network: &str, accounts: &[Account<'_>]) -> PathBuf {
    let mut text = format!("version = 1\n[network]\n{network}\n");
    for a in accounts {
        text.push_str(&format!(
            "\n[[accounts]]\nid = \"{}\"\ndisplay_name = \"{}\"\n\
             sip_address = \"sip:{}@homeline.test\"\nregistrar = \"{}\"\n\
             transport = \"{}\"\npassword = \"{}\"\n",
            a.id, a.id, a.user, a.registrar, a.transport, a.password
        ));
    }
    let path = dir.join("homeline.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A phone on `config` with an in-memory keyring.
pub fn open_phone(dir: &Path, config: PathBuf) -> Phone {
    Phone::open(PhoneOptions {
        config_path: Some(config),
        log_dir: Some(dir.join("logs")),
        secret_backend: SecretBackendChoice::Memory(MemoryKeyring::default()),
        history_path: Some(dir.join("history.jsonl")),
    })
    .unwrap()
}

/// A two-thread runtime (built inside the namespace that runs it).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Waits until `pred` holds for `id`'s status.
pub async fn wait_for(
    phone: &Phone,
    id: &str,
    limit: Duration,
    pred: impl Fn(&RegistrationStatus) -> bool,
) -> RegistrationStatus {
    let mut w = phone.registration_watch(id).unwrap();
    let wait = async {
        loop {
            let s = w.borrow_and_update().clone();
            if pred(&s) {
                return s;
            }
            w.changed().await.unwrap();
        }
    };
    match tokio::time::timeout(limit, wait).await {
        Ok(s) => s,
        Err(_) => panic!("{id}: condition not reached in {limit:?}: {:?}", w.borrow()),
    }
}

/// Waits until `id` is registered, failed or stopped.
pub async fn settle(phone: &Phone, id: &str, limit: Duration) -> RegistrationStatus {
    wait_for(phone, id, limit, |s| {
        matches!(
            s.state,
            RegistrationState::Registered | RegistrationState::Failed | RegistrationState::Stopped
        )
    })
    .await
}

/// kamailio logs `REGISTER of <aor> … ($proto): saved` for every binding it stores.
pub fn saved(log: &str, user: &str, proto: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains(&format!("REGISTER of sip:{user}@homeline.test"))
                && l.contains(&format!("({proto}): saved"))
        })
        .count()
}

/// Sends an INVITE for `user` from the public host through kamailio (UDP) and returns the
/// status codes that came back within `wait` (until the first final one).
pub fn call_user(lab: &Lab, user: &str, kamailio: SocketAddr, wait: Duration) -> Vec<u16> {
    let sock = lab
        .public()
        .udp_socket(SocketAddr::new(lab.public_ip(), 0))
        .unwrap();
    let local = sock.local_addr().unwrap();
    let invite = format!(
        "INVITE sip:{user}@homeline.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-lab-{port};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@homeline.test>;tag=c{port}\r\n\
         To: <sip:{user}@homeline.test>\r\nCall-ID: lab-{port}@{ip}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:caller@{local}>\r\nContent-Length: 0\r\n\r\n",
        port = local.port(),
        ip = local.ip(),
    );
    sock.send_to(invite.as_bytes(), kamailio).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = std::time::Instant::now() + wait;
    let mut codes = Vec::new();
    let mut buf = vec![0u8; 65_535];
    while std::time::Instant::now() < deadline {
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if let Some(code) = text
                .strip_prefix("SIP/2.0 ")
                .and_then(|r| r.get(..3))
                .and_then(|c| c.parse().ok())
            {
                codes.push(code);
                if code >= 200 {
                    break;
                }
            }
        }
    }
    codes
}
