//! sipp in a lab host: a built-in or file scenario, run in the background
//! with its traces in the lab's output folder, and the RTP echo UAS that
//! media tests call.
//!
//! sipp runs in `sipp-<name>/` (its working directory, where `-trace_err`
//! and `-trace_msg` write `<scenario>_<pid>_errors.log` and `_messages.log`)
//! with stdout and stderr in `sipp-<name>/sipp.log`. [`Lab::start_sipp`]
//! returns once sipp's SIP socket (and, with `-rtp_echo`, its media socket)
//! is bound, read from the namespace's `/proc/net/udp`, so a test never
//! sleeps to wait for it and never sends it a stray probe.
//!
//! `-rtp_echo` (sipp 3.6) echoes every datagram that reaches the media port
//! (and the port + 2) back to its source, whatever the call state: the
//! built-in `uas` scenario announces `[media_ip]:[media_port]` in its 200's
//! SDP, so a caller that sends RTP there gets it back, through the NAT too.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};
use crate::host::{Host, LabProcess, Role};
use crate::lab::Lab;

/// Which scenario sipp plays.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// A built-in one (`-sn uas`, `-sn uac`, …).
    Builtin(String),
    /// An XML file (`-sf path`).
    File(PathBuf),
}

/// A sipp run: start from [`SippConfig::uas`], [`SippConfig::uac`] or
/// [`SippConfig::scenario`] and chain the setters.
#[derive(Debug, Clone)]
pub struct SippConfig {
    /// Names the folder `sipp-<name>`.
    pub name: String,
    /// Which host it runs on (public host by default).
    pub role: Role,
    /// Local address (`-i`); default: the public host's second address, or
    /// the client's address.
    pub ip: Option<Ipv4Addr>,
    /// Local SIP port (`-p`). Default 5070.
    pub port: u16,
    /// The scenario.
    pub scenario: Scenario,
    /// `-rtp_echo` on `media_port`.
    pub rtp_echo: bool,
    /// Media port (`-mp`). Default 6000.
    pub media_port: u16,
    /// Stop after this many calls (`-m`).
    pub calls: Option<u32>,
    /// The remote host for a UAC (`host:port`).
    pub remote: Option<String>,
    /// Trace every message (`-trace_msg`).
    pub trace_msg: bool,
    /// More arguments, appended as given.
    pub args: Vec<String>,
}

impl SippConfig {
    /// A scenario with defaults: public host's second address, port 5070,
    /// media port 6000, `-trace_err -trace_msg`.
    pub fn scenario(name: &str, scenario: Scenario) -> Self {
        SippConfig {
            name: name.to_owned(),
            role: Role::Public,
            ip: None,
            port: 5070,
            scenario,
            rtp_echo: false,
            media_port: 6000,
            calls: None,
            remote: None,
            trace_msg: true,
            args: Vec::new(),
        }
    }

    /// The built-in UAS (`-sn uas`): answers INVITEs with 180 and a 200
    /// with PCMU SDP, then waits for the BYE.
    pub fn uas() -> Self {
        Self::scenario("uas", Scenario::Builtin("uas".into()))
    }

    /// The built-in UAS with `-rtp_echo`: a far end that returns every RTP
    /// packet to its sender.
    pub fn uas_echo() -> Self {
        Self::uas().rtp_echo(true)
    }

    /// The built-in UAC (`-sn uac`) calling `remote` (`host:port`).
    pub fn uac(remote: &str) -> Self {
        let mut c = Self::scenario("uac", Scenario::Builtin("uac".into()));
        c.remote = Some(remote.to_owned());
        c
    }

    /// Renames the run (its folder).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// Runs it on the client or the public host.
    pub fn on(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Binds to `ip`.
    pub fn ip(mut self, ip: Ipv4Addr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets the SIP port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Turns `-rtp_echo` on or off.
    pub fn rtp_echo(mut self, on: bool) -> Self {
        self.rtp_echo = on;
        self
    }

    /// Sets the media (echo) port.
    pub fn media_port(mut self, port: u16) -> Self {
        self.media_port = port;
        self
    }

    /// Stops after `n` calls.
    pub fn calls(mut self, n: u32) -> Self {
        self.calls = Some(n);
        self
    }

    /// Appends arguments.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    fn validate(&self) -> Result<()> {
        let ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok {
            return Err(LabError::Invalid(format!(
                "unsupported sipp name {:?}",
                self.name
            )));
        }
        if self.role == Role::Router {
            return Err(LabError::Invalid(
                "sipp runs on the client or the public host".into(),
            ));
        }
        Ok(())
    }
}

/// A running sipp. Stopped when dropped (and when its lab is dropped).
#[derive(Debug)]
pub struct Sipp {
    config: SippConfig,
    ip: Ipv4Addr,
    dir: PathBuf,
    process: LabProcess,
    status: Option<ExitStatus>,
}

impl Lab {
    /// Starts sipp as configured and waits (up to 10 s) until its SIP
    /// socket, and with `-rtp_echo` its media socket, is bound.
    pub fn start_sipp(&self, config: SippConfig) -> Result<Sipp> {
        config.validate()?;
        let host: &Host = match config.role {
            Role::Client => self.client(),
            _ => self.public(),
        };
        let ip = config.ip.unwrap_or(match config.role {
            Role::Client => crate::CLIENT_IP,
            _ => crate::PUBLIC_IP_2,
        });
        let dir = self.out_dir().join(format!("sipp-{}", config.name));
        std::fs::create_dir_all(&dir)
            .map_err(|e| LabError::io(format!("create {}", dir.display()), e))?;
        let mut cmd = host.command("sipp");
        match &config.scenario {
            Scenario::Builtin(s) => cmd.args(["-sn", s]),
            Scenario::File(p) => cmd.arg("-sf").arg(p),
        };
        cmd.args(["-i", &ip.to_string(), "-p", &config.port.to_string()])
            .args(["-nostdin", "-trace_err"]);
        if config.trace_msg {
            cmd.arg("-trace_msg");
        }
        if config.rtp_echo {
            cmd.args(["-rtp_echo", "-mi", &ip.to_string()])
                .args(["-mp", &config.media_port.to_string()]);
        }
        if let Some(n) = config.calls {
            cmd.args(["-m", &n.to_string()]);
        }
        cmd.args(&config.args);
        if let Some(r) = &config.remote {
            cmd.arg(r);
        }
        cmd.current_dir(&dir);
        let process = host.spawn(&mut cmd, &format!("sipp-{}/sipp.log", config.name))?;
        let mut s = Sipp {
            config,
            ip,
            dir,
            process,
            status: None,
        };
        s.wait_bound(host, Duration::from_secs(10))?;
        Ok(s)
    }

    /// Shorthand: [`SippConfig::uas_echo`] on the public host's second
    /// address, SIP port `port`, media port 6000.
    pub fn start_sipp_uas_echo(&self, port: u16) -> Result<Sipp> {
        self.start_sipp(SippConfig::uas_echo().port(port))
    }
}

impl Sipp {
    fn wait_bound(&mut self, host: &Host, limit: Duration) -> Result<()> {
        let mut want = vec![self.sip_addr()];
        if self.config.rtp_echo {
            want.push(self.media_addr());
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                // A UAC may be done already; a server never is.
                if self.config.remote.is_some() {
                    return Ok(());
                }
                return Err(self.not_ready(format!("sipp exited ({status})"), limit));
            }
            let bound = host.udp_bound()?;
            let missing: Vec<&SocketAddr> = want
                .iter()
                .filter(|a| {
                    !bound.iter().any(|b| {
                        b.port() == a.port() && (b.ip() == a.ip() || b.ip().is_unspecified())
                    })
                })
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(format!("{missing:?} not bound"), limit));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn not_ready(&self, detail: String, limit: Duration) -> LabError {
        LabError::NotReady {
            server: format!("sipp {}", self.config.name),
            secs: limit.as_secs(),
            detail,
            log: self.process.log_path().to_path_buf(),
        }
    }

    /// Its SIP address.
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), self.config.port)
    }

    /// Its media (RTP echo) address.
    pub fn media_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), self.config.media_port)
    }

    /// A URI that reaches it: `sip:service@ip:port`.
    pub fn uri(&self) -> String {
        format!("sip:service@{}", self.sip_addr())
    }

    /// `Some(status)` once sipp has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.process.exited();
        }
        self.status
    }

    /// Waits for sipp to exit (after `-m` calls) and returns its status;
    /// sipp exits 0 only when every call passed its scenario.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.exited() {
                return Ok(s);
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready("still running".into(), timeout));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its folder (traces, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its stdout and stderr so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// What `-trace_err` recorded: unexpected messages, empty if none.
    pub fn errors(&self) -> String {
        self.traces("_errors.log")
    }

    /// What `-trace_msg` recorded: every message sent and received.
    pub fn messages(&self) -> String {
        self.traces("_messages.log")
    }

    fn traces(&self, suffix: &str) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.to_string_lossy().ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Stops it now (SIGTERM, SIGKILL after 3 s).
    pub fn stop(&mut self) {
        self.process.stop();
    }
}
