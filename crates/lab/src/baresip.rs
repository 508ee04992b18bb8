//! baresip as a real far-end phone inside a lab host: plays a WAV file (or a
//! tone, or echoes what it hears), records what it receives, answers or
//! dials on command.
//!
//! Each instance gets a private config folder (`-f DIR`) in the lab's output
//! folder, `baresip-<name>/`, with `config`, `accounts`, the log
//! `baresip.log` and the recordings in `rec/`. It runs in the foreground
//! with stdin from `/dev/null`; no sound card is touched:
//!
//! - the source is `aufile` (a 16-bit PCM WAV; `ausrc_srate` and
//!   `ausrc_channels` are set from the file), `ausine` (a tone) or
//!   `aubridge` looped to the player (echo);
//! - the player (and ringtones, `audio_alert`) go to an `aubridge` device
//!   nobody reads, so nothing is paced or burnt;
//! - what is received (after the decoder) and what is sent (before the
//!   encoder) are written by the `sndfile` filter to
//!   `rec/dump-<time>-dec.wav` and `-enc.wav`, at the codec's rate and
//!   channels (PCMU: 8000 Hz mono; Opus: 48000 Hz stereo). baresip 1.0.0's
//!   `aufile` has no player side, hence `sndfile` for recording. The
//!   recording starts with the first packet received and is written as
//!   packets are decoded, so a delay that [`crate::signal::compare`] finds
//!   against it is the audio lost at the start (plus codec delay: 6.5 ms
//!   for Opus), not the network's latency.
//!
//! It is driven through `ctrl_tcp` (netstring-framed JSON on
//! `ip:ctrl_port`): [`Baresip::dial`], [`Baresip::accept`],
//! [`Baresip::hangup`], and its events (`CALL_ESTABLISHED`, `CALL_CLOSED`,
//! `REGISTER_OK`, …) are collected from the moment it starts, so
//! [`Baresip::wait_established`] and friends wait on real events, not
//! sleeps.
//!
//! With an `aufile` source, baresip hangs up when the file ends (its `menu`
//! module ends the call on the source's end of file): make the file as long
//! as the call should last, or use a tone or echo.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};
use crate::host::{Host, LabProcess, Role};
use crate::lab::Lab;
use crate::probe;

/// Where Debian's baresip keeps its modules.
const MODULE_DIRS: [&str; 2] = [
    "/usr/lib/baresip/modules",
    "/usr/lib/x86_64-linux-gnu/baresip/modules",
];

/// The copy of an `aufile` source in an instance's folder.
const SOURCE_WAV: &str = "source.wav";
/// The recordings' folder inside an instance's folder.
const REC_DIR: &str = "rec";

/// How a baresip answers incoming calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// Answers at once with 200 (`answermode=auto`).
    Auto,
    /// Rings (180) until [`Baresip::accept`] (`answermode=manual`).
    Manual,
}

/// What baresip sends as its microphone.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioSource {
    /// A 16-bit PCM WAV file, any rate, mono or stereo (`aufile`). The call
    /// ends when the file ends.
    File(PathBuf),
    /// A sine tone of this many Hz (10-20000), endless (`ausine`).
    Tone(u32),
    /// What it receives, sent back (`aubridge` from its player to its
    /// source): an echo far end.
    Echo,
}

/// SDES-SRTP of the account (`mediaenc=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Srtp {
    /// Offers RTP/AVP with crypto lines; accepts plain RTP (`srtp`).
    Optional,
    /// RTP/SAVP: SRTP or no call (`srtp-mand`).
    Mandatory,
    /// RTP/SAVPF, SRTP mandatory (`srtp-mandf`).
    MandatoryFeedback,
}

impl Srtp {
    fn param(self) -> &'static str {
        match self {
            Srtp::Optional => "srtp",
            Srtp::Mandatory => "srtp-mand",
            Srtp::MandatoryFeedback => "srtp-mandf",
        }
    }
}

/// Registering with a registrar (the lab's kamailio) instead of only
/// taking direct calls.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The registrar's address; the account's AOR is `name@ip:port` there.
    pub registrar: SocketAddr,
    /// The digest password (the auth user is the account name).
    pub password: String,
    /// Registration interval, seconds.
    pub expires: u32,
}

/// What a lab baresip should look like: start from
/// [`BaresipConfig::new`] and chain the setters.
#[derive(Debug, Clone)]
pub struct BaresipConfig {
    /// The SIP user name; also names the folder `baresip-<name>`.
    pub name: String,
    /// Which host it runs on (public host by default, or the client).
    pub role: Role,
    /// Listen address; default: the public host's second address, or the
    /// client's address.
    pub ip: Option<Ipv4Addr>,
    /// SIP port (UDP and TCP). Default 5060.
    pub sip_port: u16,
    /// `ctrl_tcp` port on the same address. Default `sip_port + 10000`.
    pub ctrl_port: Option<u16>,
    /// RTP/RTCP port range. Default 20000-20999.
    pub rtp_ports: (u16, u16),
    /// `audio_codecs` of the account, e.g. `["PCMU/8000/1"]` or
    /// `["opus/48000/2"]`; empty: all loaded (opus, PCMU, PCMA).
    pub codecs: Vec<String>,
    /// SDES-SRTP, if any.
    pub srtp: Option<Srtp>,
    /// How incoming calls are answered.
    pub answer: AnswerMode,
    /// What it sends.
    pub source: AudioSource,
    /// Register with this registrar (none: `regint=0`, direct calls only).
    pub registration: Option<Registration>,
    /// Log SIP messages (`-s`).
    pub sip_trace: bool,
    /// Extra lines for `config` (e.g. `opus_bitrate 16000`).
    pub extra_config: Vec<String>,
}

impl BaresipConfig {
    /// A phone called `name` on the public host, port 5060, auto-answer,
    /// all codecs, no SRTP, sending a 1 kHz tone, SIP trace on.
    pub fn new(name: &str) -> Self {
        BaresipConfig {
            name: name.to_owned(),
            role: Role::Public,
            ip: None,
            sip_port: 5060,
            ctrl_port: None,
            rtp_ports: (20000, 20999),
            codecs: Vec::new(),
            srtp: None,
            answer: AnswerMode::Auto,
            source: AudioSource::Tone(1000),
            registration: None,
            sip_trace: true,
            extra_config: Vec::new(),
        }
    }

    /// Runs it on the client (behind the NAT) or the public host.
    pub fn on(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Listens on `ip` (must be an address of its host).
    pub fn ip(mut self, ip: Ipv4Addr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets the SIP port.
    pub fn port(mut self, port: u16) -> Self {
        self.sip_port = port;
        self
    }

    /// Sets the `ctrl_tcp` port.
    pub fn ctrl_port(mut self, port: u16) -> Self {
        self.ctrl_port = Some(port);
        self
    }

    /// Sets the RTP port range.
    pub fn rtp_ports(mut self, first: u16, last: u16) -> Self {
        self.rtp_ports = (first, last);
        self
    }

    /// Offers/accepts only these codecs, in order (`PCMU/8000/1`,
    /// `PCMA/8000/1`, `opus/48000/2`).
    pub fn codecs(mut self, codecs: &[&str]) -> Self {
        self.codecs = codecs.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// Turns on SDES-SRTP.
    pub fn srtp(mut self, srtp: Srtp) -> Self {
        self.srtp = Some(srtp);
        self
    }

    /// Sets the answer mode.
    pub fn answer(mut self, mode: AnswerMode) -> Self {
        self.answer = mode;
        self
    }

    /// Plays this WAV file (16-bit PCM) as its microphone.
    pub fn play(mut self, wav: impl Into<PathBuf>) -> Self {
        self.source = AudioSource::File(wav.into());
        self
    }

    /// Sends a tone.
    pub fn tone(mut self, hz: u32) -> Self {
        self.source = AudioSource::Tone(hz);
        self
    }

    /// Echoes what it receives.
    pub fn echo(mut self) -> Self {
        self.source = AudioSource::Echo;
        self
    }

    /// Registers as `name` with `password` at `registrar`.
    pub fn register(mut self, registrar: SocketAddr, password: &str) -> Self {
        self.registration = Some(Registration {
            registrar,
            password: password.to_owned(),
            expires: 600,
        });
        self
    }

    /// Adds a raw line to `config`.
    pub fn config_line(mut self, line: &str) -> Self {
        self.extra_config.push(line.to_owned());
        self
    }

    fn validate(&self) -> Result<()> {
        let ok_name = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok_name {
            return Err(LabError::Invalid(format!(
                "unsupported baresip name {:?}",
                self.name
            )));
        }
        if self.role == Role::Router {
            return Err(LabError::Invalid(
                "baresip runs on the client or the public host".into(),
            ));
        }
        if let AudioSource::Tone(hz) = self.source
            && !(10..=20000).contains(&hz)
        {
            return Err(LabError::Invalid(format!("tone of {hz} Hz (10-20000)")));
        }
        Ok(())
    }

    /// The `accounts` line.
    fn account_line(&self, ip: Ipv4Addr) -> String {
        let mut s = match &self.registration {
            Some(r) => format!(
                "<sip:{}@{}>;auth_pass={};regint={}",
                self.name, r.registrar, r.password, r.expires
            ),
            None => format!("<sip:{}@{ip}:{}>;regint=0", self.name, self.sip_port),
        };
        s.push_str(match self.answer {
            AnswerMode::Auto => ";answermode=auto",
            AnswerMode::Manual => ";answermode=manual",
        });
        if !self.codecs.is_empty() {
            let _ = write!(s, ";audio_codecs={}", self.codecs.join(","));
        }
        if let Some(m) = self.srtp {
            let _ = write!(s, ";mediaenc={}", m.param());
        }
        s.push('\n');
        s
    }

    /// The `config` text.
    fn render(&self, ip: Ipv4Addr, ctrl: u16, modules: &str) -> Result<String> {
        let mut s = String::from("# generated by homeline-lab\npoll_method epoll\n");
        let _ = writeln!(s, "sip_listen {ip}:{}\nnet_interface {ip}", self.sip_port);
        s.push_str("call_local_timeout 120\ncall_max_calls 4\n");
        // The player and ringtones go to an aubridge device no source reads.
        let sink = format!("aubridge,sink-{}", self.name);
        let (source, srate, channels) = match &self.source {
            // A copy in its folder, by a relative name: baresip 1.0.0 keeps
            // device names in 128-byte buffers.
            AudioSource::File(p) => {
                let (rate, ch) = wav_format(p)?;
                (format!("aufile,{SOURCE_WAV}"), Some(rate), Some(ch))
            }
            // ausine generates 48 kHz stereo only.
            AudioSource::Tone(hz) => (format!("ausine,{hz}"), Some(48000), Some(2)),
            AudioSource::Echo => (format!("aubridge,echo-{}", self.name), None, None),
        };
        let player = match self.source {
            AudioSource::Echo => source.clone(),
            _ => sink.clone(),
        };
        let _ = writeln!(
            s,
            "audio_player {player}\naudio_source {source}\naudio_alert {sink}"
        );
        if let Some(r) = srate {
            let _ = writeln!(s, "ausrc_srate {r}");
        }
        if let Some(c) = channels {
            let _ = writeln!(s, "ausrc_channels {c}");
        }
        s.push_str(
            "audio_level no\nausrc_format s16\nauplay_format s16\nauenc_format s16\n\
             audec_format s16\naudio_buffer 20-160\n",
        );
        let _ = writeln!(
            s,
            "rtp_ports {}-{}\nrtcp_mux no\njitter_buffer_delay 5-10\nrtp_stats yes",
            self.rtp_ports.0, self.rtp_ports.1
        );
        let _ = writeln!(s, "\nmodule_path {modules}");
        for m in [
            "g711", "opus", "srtp", "sndfile", "aufile", "ausine", "aubridge",
        ] {
            let _ = writeln!(s, "module {m}.so");
        }
        s.push_str("module_tmp account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so\n\n");
        // Relative to its folder (its working directory): sndfile builds the
        // file names in a 128-byte buffer.
        let _ = writeln!(
            s,
            "ctrl_tcp_listen {ip}:{ctrl}\nsnd_path {REC_DIR}\nstatmode_default off"
        );
        for l in &self.extra_config {
            s.push_str(l);
            s.push('\n');
        }
        Ok(s)
    }
}

/// Sample rate and channels of a WAV that `aufile` can play (16-bit PCM).
fn wav_format(path: &Path) -> Result<(u32, u16)> {
    let spec = hound::WavReader::open(path)
        .map_err(|e| LabError::Invalid(format!("baresip source {}: {e}", path.display())))?
        .spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(LabError::Invalid(format!(
            "baresip's aufile plays 16-bit PCM only; {} is {} bit {:?}",
            path.display(),
            spec.bits_per_sample,
            spec.sample_format
        )));
    }
    Ok((spec.sample_rate, spec.channels))
}

/// One event baresip reported on `ctrl_tcp`.
#[derive(Debug, Clone, PartialEq)]
pub struct BaresipEvent {
    /// `type`: `CALL_INCOMING`, `CALL_RINGING`, `CALL_ESTABLISHED`,
    /// `CALL_CLOSED`, `CALL_MENC`, `REGISTER_OK`, `REGISTER_FAIL`, …
    pub kind: String,
    /// `class`: `call`, `register`, `other`, …
    pub class: String,
    /// `param`: the peer URI, the close reason, the SRTP suite, …
    pub param: String,
    /// `peeruri`, if any.
    pub peer: String,
    /// The call id, if any.
    pub call_id: String,
    /// When it arrived.
    pub at: Instant,
    /// The JSON as received.
    pub raw: String,
}

#[derive(Debug, Default)]
struct CtrlState {
    events: Vec<BaresipEvent>,
    responses: HashMap<String, (bool, String)>,
    closed: bool,
}

type Shared = Arc<(Mutex<CtrlState>, Condvar)>;

static TOKEN: AtomicU64 = AtomicU64::new(1);

/// A running baresip. Stopped when dropped (and when its lab is dropped).
#[derive(Debug)]
pub struct Baresip {
    config: BaresipConfig,
    ip: Ipv4Addr,
    ctrl_addr: SocketAddr,
    dir: PathBuf,
    process: LabProcess,
    ctrl: Option<TcpStream>,
    shared: Shared,
    reader: Option<JoinHandle<()>>,
    /// Index of the next event a wait may return.
    cursor: Mutex<usize>,
}

impl Lab {
    /// Starts baresip as configured and waits until its control interface
    /// accepts a connection (events are collected from then on) and its
    /// SIP port answers OPTIONS; with a registration, until `REGISTER_OK`.
    pub fn start_baresip(&self, config: BaresipConfig) -> Result<Baresip> {
        config.validate()?;
        let host: &Host = match config.role {
            Role::Client => self.client(),
            _ => self.public(),
        };
        let ip = config.ip.unwrap_or(match config.role {
            Role::Client => crate::CLIENT_IP,
            _ => crate::PUBLIC_IP_2,
        });
        let modules = MODULE_DIRS
            .iter()
            .find(|d| Path::new(d).join("aufile.so").exists())
            .ok_or_else(|| {
                LabError::Unsupported(format!(
                    "baresip modules not found in {MODULE_DIRS:?} (is baresip installed?)"
                ))
            })?;
        let dir = self.out_dir().join(format!("baresip-{}", config.name));
        let rec = dir.join(REC_DIR);
        std::fs::create_dir_all(&rec)
            .map_err(|e| LabError::io(format!("create {}", rec.display()), e))?;
        let ctrl_port = config
            .ctrl_port
            .unwrap_or(config.sip_port.wrapping_add(10000));
        if let AudioSource::File(p) = &config.source {
            std::fs::copy(p, dir.join(SOURCE_WAV))
                .map_err(|e| LabError::io(format!("copy {} for baresip", p.display()), e))?;
        }
        let text = config.render(ip, ctrl_port, modules)?;
        std::fs::write(dir.join("config"), text)
            .map_err(|e| LabError::io("write baresip config", e))?;
        std::fs::write(dir.join("accounts"), config.account_line(ip))
            .map_err(|e| LabError::io("write baresip accounts", e))?;
        let mut cmd = host.command("baresip");
        cmd.arg("-f").arg(&dir).current_dir(&dir);
        if config.sip_trace {
            cmd.arg("-s");
        }
        let process = host.spawn(&mut cmd, &format!("baresip-{}/baresip.log", config.name))?;
        let mut b = Baresip {
            ctrl_addr: SocketAddr::new(IpAddr::V4(ip), ctrl_port),
            config,
            ip,
            dir,
            process,
            ctrl: None,
            shared: Arc::default(),
            reader: None,
            cursor: Mutex::new(0),
        };
        b.wait_ready(host, Duration::from_secs(10))?;
        if b.config.registration.is_some() {
            b.wait_registered(Duration::from_secs(10))?;
        }
        Ok(b)
    }
}

impl Baresip {
    fn wait_ready(&mut self, host: &Host, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        let mut last = String::new();
        while self.ctrl.is_none() {
            if let Some(status) = self.process.exited() {
                return Err(self.not_ready(format!("baresip exited ({status})"), limit.as_secs()));
            }
            match host.tcp_connect(self.ctrl_addr, Duration::from_millis(200))? {
                Ok(s) => self.ctrl = Some(s),
                Err(e) => last = format!("ctrl_tcp {}: {e}", self.ctrl_addr),
            }
            if self.ctrl.is_none() {
                if Instant::now() >= deadline {
                    return Err(self.not_ready(last, limit.as_secs()));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let read = self
            .ctrl
            .as_ref()
            .map(TcpStream::try_clone)
            .transpose()
            .map_err(|e| LabError::io("clone ctrl_tcp stream", e))?;
        if let Some(stream) = read {
            let shared = self.shared.clone();
            self.reader = Some(
                std::thread::Builder::new()
                    .name(format!("baresip-{}-ctrl", self.config.name))
                    .spawn(move || read_ctrl(stream, &shared))
                    .map_err(|e| LabError::io("spawn ctrl reader", e))?,
            );
        }
        let sip = self.sip_addr();
        loop {
            let r = host.run(|| -> std::io::Result<String> {
                let sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
                probe::sip_options(&sock, sip, Duration::from_millis(300))
            })?;
            match r {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("SIP OPTIONS to {sip}: {e}"),
            }
            if self.process.exited().is_some() || Instant::now() >= deadline {
                return Err(self.not_ready(last, limit.as_secs()));
            }
        }
    }

    fn not_ready(&self, detail: String, secs: u64) -> LabError {
        LabError::NotReady {
            server: format!("baresip {}", self.config.name),
            secs,
            detail,
            log: self.log_path().to_path_buf(),
        }
    }

    /// Its SIP address (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), self.config.sip_port)
    }

    /// A URI that reaches it directly: `sip:<name>@<ip>:<port>`.
    pub fn uri(&self) -> String {
        format!("sip:{}@{}", self.config.name, self.sip_addr())
    }

    /// Its `ctrl_tcp` address.
    pub fn ctrl_addr(&self) -> SocketAddr {
        self.ctrl_addr
    }

    /// Its process id (`ip netns exec` execs baresip in place): what to read CPU time of.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &BaresipConfig {
        &self.config
    }

    /// Runs a `menu` command over `ctrl_tcp` (`dial`, `hangup`, `accept`,
    /// `reginfo`, `callstat`, …) and returns its output, or an error when
    /// baresip says it failed or does not answer within 5 s.
    pub fn command(&self, command: &str, params: Option<&str>) -> Result<String> {
        let token = TOKEN.fetch_add(1, Ordering::Relaxed).to_string();
        let mut msg = serde_json::json!({ "command": command, "token": token });
        if let Some(p) = params {
            msg["params"] = serde_json::Value::from(p);
        }
        let body = msg.to_string();
        let frame = format!("{}:{body},", body.len());
        let what = format!("baresip {} `{command}`", self.config.name);
        let mut stream = self
            .ctrl
            .as_ref()
            .ok_or_else(|| LabError::Invalid(format!("{what}: no control connection")))?;
        stream
            .write_all(frame.as_bytes())
            .map_err(|e| LabError::io(what.clone(), e))?;
        let (lock, cv) = &*self.shared;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut st = lock
            .lock()
            .map_err(|_| LabError::Invalid("ctrl state poisoned".into()))?;
        loop {
            if let Some((ok, data)) = st.responses.remove(&token) {
                return if ok {
                    Ok(data)
                } else {
                    Err(LabError::Invalid(format!("{what} failed: {data}")))
                };
            }
            let now = Instant::now();
            if st.closed || now >= deadline {
                return Err(LabError::Invalid(format!(
                    "{what}: no answer (log: {})",
                    self.log_path().display()
                )));
            }
            st = cv
                .wait_timeout(st, deadline - now)
                .map_err(|_| LabError::Invalid("ctrl state poisoned".into()))?
                .0;
        }
    }

    /// Dials `uri` (`sip:user@host:port`); returns once the INVITE is on
    /// its way. Follow with [`Baresip::wait_established`].
    pub fn dial(&self, uri: &str) -> Result<()> {
        self.command("dial", Some(uri)).map(|_| ())
    }

    /// Answers the ringing call ([`AnswerMode::Manual`]).
    pub fn accept(&self) -> Result<()> {
        self.command("accept", None).map(|_| ())
    }

    /// Hangs up the current call.
    pub fn hangup(&self) -> Result<()> {
        self.command("hangup", None).map(|_| ())
    }

    /// Every event received so far.
    pub fn events(&self) -> Vec<BaresipEvent> {
        self.shared
            .0
            .lock()
            .map(|s| s.events.clone())
            .unwrap_or_default()
    }

    /// Waits for the next event of type `kind` (`CALL_ESTABLISHED`, …).
    /// Waits consume events in order: each returns the first match after
    /// the event the previous wait returned, so `wait_established` then
    /// `wait_closed` follow one call, and a second call's events come next.
    pub fn wait_event(&self, kind: &str, timeout: Duration) -> Result<BaresipEvent> {
        let (lock, cv) = &*self.shared;
        let deadline = Instant::now() + timeout;
        let poisoned = || LabError::Invalid("ctrl state poisoned".into());
        let mut cursor = self.cursor.lock().map_err(|_| poisoned())?;
        let mut st = lock.lock().map_err(|_| poisoned())?;
        loop {
            if let Some(i) = st.events[*cursor..]
                .iter()
                .position(|e| e.kind == kind)
                .map(|i| i + *cursor)
            {
                *cursor = i + 1;
                return Ok(st.events[i].clone());
            }
            let now = Instant::now();
            if st.closed || now >= deadline {
                let seen: Vec<&str> = st.events.iter().map(|e| e.kind.as_str()).collect();
                return Err(LabError::NotReady {
                    server: format!("baresip {} event {kind}", self.config.name),
                    secs: timeout.as_secs(),
                    detail: if st.closed {
                        format!("control connection closed; events so far: {seen:?}")
                    } else {
                        format!("events so far: {seen:?}")
                    },
                    log: self.log_path().to_path_buf(),
                });
            }
            st = cv
                .wait_timeout(st, deadline - now)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    /// Waits until its account is registered: baresip registers while it
    /// starts, before the control connection exists, so this asks
    /// `reginfo` rather than waiting for `REGISTER_OK`.
    pub fn wait_registered(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let info = self.command("reginfo", None)?;
            if info.contains("OK") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(format!("not registered: {info}"), timeout.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for `CALL_ESTABLISHED` (answered, media set up).
    pub fn wait_established(&self, timeout: Duration) -> Result<BaresipEvent> {
        self.wait_event("CALL_ESTABLISHED", timeout)
    }

    /// Waits for `CALL_CLOSED`; its `param` is the reason.
    pub fn wait_closed(&self, timeout: Duration) -> Result<BaresipEvent> {
        self.wait_event("CALL_CLOSED", timeout)
    }

    /// Waits for `CALL_INCOMING` (a call ringing in manual answer mode).
    pub fn wait_incoming(&self, timeout: Duration) -> Result<BaresipEvent> {
        self.wait_event("CALL_INCOMING", timeout)
    }

    /// The folder with its config, accounts, log and `rec/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its log (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// The newest recording of received audio (`rec/dump-*-dec.wav`), if a
    /// call has had media. It may still be growing; see
    /// [`Baresip::wait_recording`].
    pub fn recording(&self) -> Option<PathBuf> {
        newest(&self.dir.join(REC_DIR), "-dec.wav")
    }

    /// The newest recording of what it sent (`rec/dump-*-enc.wav`).
    pub fn sent_recording(&self) -> Option<PathBuf> {
        newest(&self.dir.join(REC_DIR), "-enc.wav")
    }

    /// Waits until the current call's recording holds at least `audio` of
    /// received sound (by its size): "let it talk for a second" without a
    /// sleep.
    pub fn wait_heard(&self, audio: Duration, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self
                .recording()
                .and_then(|p| wav_seconds_so_far(&p))
                .unwrap_or(0.0);
            if got >= audio.as_secs_f64() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(
                    format!("received {got:.2} s of audio, wanted {audio:?}"),
                    timeout.as_secs(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the newest received-audio recording is complete (its
    /// WAV header finalised when the call's audio stopped) and returns it.
    /// Call after the call has ended.
    pub fn wait_recording(&self, timeout: Duration) -> Result<PathBuf> {
        self.wait_complete(timeout, "-dec.wav")
    }

    /// Like [`Baresip::wait_recording`], for what it sent.
    pub fn wait_sent_recording(&self, timeout: Duration) -> Result<PathBuf> {
        self.wait_complete(timeout, "-enc.wav")
    }

    fn wait_complete(&self, timeout: Duration, suffix: &str) -> Result<PathBuf> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = newest(&self.dir.join(REC_DIR), suffix);
            if let Some(p) = &found
                && wav_complete(p)
            {
                return Ok(p.clone());
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(
                    match found {
                        Some(p) => format!("{} is not finalised (call still up?)", p.display()),
                        None => format!("no *{suffix} recording (no media?)"),
                    },
                    timeout.as_secs(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it (SIGTERM, then SIGKILL after 3 s).
    pub fn stop(&mut self) {
        if let Some(s) = self.ctrl.take() {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.process.stop();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads netstrings (`len:json,`) until the connection closes, filing
/// events and command responses.
fn read_ctrl(mut stream: TcpStream, shared: &Shared) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
        while let Some((body, used)) = netstring(&pending) {
            let text = String::from_utf8_lossy(body).into_owned();
            pending.drain(..used);
            file_message(&text, shared);
        }
    }
    let (lock, cv) = &**shared;
    if let Ok(mut st) = lock.lock() {
        st.closed = true;
    }
    cv.notify_all();
}

/// One complete netstring at the start of `buf`: (payload, bytes used).
fn netstring(buf: &[u8]) -> Option<(&[u8], usize)> {
    let colon = buf.iter().position(|&b| b == b':')?;
    let len: usize = std::str::from_utf8(&buf[..colon]).ok()?.parse().ok()?;
    let end = colon + 1 + len;
    (buf.len() > end).then(|| (&buf[colon + 1..end], end + 1))
}

fn file_message(text: &str, shared: &Shared) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let (lock, cv) = &**shared;
    let Ok(mut st) = lock.lock() else {
        return;
    };
    if v["event"].as_bool() == Some(true) {
        st.events.push(BaresipEvent {
            kind: s("type"),
            class: s("class"),
            param: s("param"),
            peer: s("peeruri"),
            call_id: s("id"),
            at: Instant::now(),
            raw: text.to_owned(),
        });
    } else if v["response"].as_bool() == Some(true) {
        let ok = v["ok"].as_bool().unwrap_or(false);
        st.responses.insert(s("token"), (ok, s("data")));
    }
    cv.notify_all();
}

fn newest(dir: &Path, suffix: &str) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("dump-") && n.ends_with(suffix))
        })
        .collect();
    // Names carry the start time (YYYY-MM-DD-hh-mm-ss), so they sort.
    files.sort();
    files.pop()
}

/// Whether a WAV file's RIFF size matches its length (libsndfile writes the
/// final sizes when the file is closed).
fn wav_complete(path: &Path) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 12];
    if f.read_exact(&mut head).is_err() || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return false;
    }
    let riff = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    len >= 44 && riff + 8 == len
}

/// Seconds of audio in a WAV file being written, from its length and the
/// format in its header (the sizes in the header are written at the end).
fn wav_seconds_so_far(path: &Path) -> Option<f64> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut head = [0u8; 44];
    f.read_exact(&mut head).ok()?;
    if &head[12..16] != b"fmt " {
        return None;
    }
    let rate = u32::from_le_bytes([head[24], head[25], head[26], head[27]]);
    let block = u16::from_le_bytes([head[32], head[33]]);
    let len = f.metadata().ok()?.len();
    (rate > 0 && block > 0)
        .then(|| (len.saturating_sub(44)) as f64 / (f64::from(rate) * f64::from(block)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn netstrings_are_split_only_when_complete() {
        assert_eq!(netstring(b"5:hello,rest"), Some((&b"hello"[..], 8)));
        assert_eq!(netstring(b"5:hello"), None);
        assert_eq!(netstring(b"5:hel"), None);
        assert_eq!(netstring(b"x:hello,"), None);
    }

    #[test]
    fn account_lines_carry_the_options() {
        let ip = Ipv4Addr::new(203, 0, 113, 11);
        let c = BaresipConfig::new("bob")
            .codecs(&["opus/48000/2"])
            .srtp(Srtp::Mandatory);
        assert_eq!(
            c.account_line(ip),
            "<sip:bob@203.0.113.11:5060>;regint=0;answermode=auto;\
             audio_codecs=opus/48000/2;mediaenc=srtp-mand\n"
        );
        let c = BaresipConfig::new("alice")
            .answer(AnswerMode::Manual)
            .register("203.0.113.10:5060".parse().unwrap(), "pw");
        assert_eq!(
            c.account_line(ip),
            "<sip:alice@203.0.113.10:5060>;auth_pass=pw;regint=600;answermode=manual\n"
        );
        assert!(BaresipConfig::new("a b").validate().is_err());
        assert!(BaresipConfig::new("x").tone(5).validate().is_err());
    }
}
