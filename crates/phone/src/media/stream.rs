//! One call's media: a tokio task that drives the sans-IO [`RtpSession`] and
//! [`JitterBuffer`] over a UDP socket, with the codec and the audio ends (DESIGN.md
//! convention 2: read the socket, feed the core, send what it emits, sleep until its timeout).
//!
//! ```text
//!  capture ─► f32→i16 ─► codec.encode ─► RtpSession::send_audio ─► (SRTP) ─► socket
//!  socket ─► RtpSession::handle_datagram ─► SessionEvent::Media ─► JitterBuffer::push
//!  playback needs 20 ms ─► JitterBuffer::pop ─► decode / FEC / PLC ─► i16→f32 ─► playback
//! ```
//! The loop wakes every [`TICK`] for the audio (device ends are served by what they have
//! ready, paced ends by the wall clock) and on every datagram. Statistics go out about once a
//! second, levels ten times a second.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_audio::{DeviceEvent, FrameStatus, Levels, frame_len};
use homeline_media::codec::Codec;
use homeline_media::g711::G711;
use homeline_media::jitter::{JitterBuffer, JitterConfig, Playout};
use homeline_media::sdp::{AudioCodec, Direction, NegotiatedSession};
use homeline_media::session::{RtpSession, SessionConfig, SessionEvent};
use homeline_media::stats::CallQuality;
use serde::Serialize;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use super::audio::{AudioEnds, AudioPlan, Capture, DEVICE_QUEUE_MS, Playback};
use super::path::MediaPath;
use crate::api::UiError;
use crate::nat::link::RelayLink;

/// How often the audio is served.
pub const TICK: Duration = Duration::from_millis(5);
const FRAME: Duration = Duration::from_millis(20);

/// A call's media statistics, as the call screen and `--json` show them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MediaStats {
    /// `opus/48000`, `PCMU/8000` …
    pub codec: Option<String>,
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Loss of what the peer sent us, percent.
    pub loss_pct: f64,
    /// Arrived too late to play, percent of what arrived.
    pub late_pct: f64,
    pub jitter_ms: f64,
    pub rtt_ms: Option<f64>,
    pub playout_delay_ms: f64,
    /// E-model estimate (ITU-T G.107), `None` before any audio arrived.
    pub mos: Option<f64>,
    /// SDES-SRTP protects the media.
    pub srtp: bool,
    /// Frames concealed (PLC) and recovered (FEC).
    pub concealed: u64,
    pub fec_recovered: u64,
    /// Jitter-buffer adjustments: frames skipped to cut the delay, inserted to grow it.
    pub shrinks: u64,
    pub stretches: u64,
    /// Datagrams that were not valid RTP/RTCP (or failed SRTP authentication).
    pub malformed: u64,
    /// Where we send RTP now (after latching).
    pub remote: Option<SocketAddr>,
    /// Audio the microphone captured that was dropped because we read too late (ms).
    pub capture_dropped_ms: u64,
    /// Silence the speaker played because we wrote too late (ms).
    pub playback_gaps_ms: u64,
}

/// Input and output levels, dBFS (−100 = silence).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevelReading {
    pub input_dbfs: f32,
    pub output_dbfs: f32,
}

impl Default for LevelReading {
    fn default() -> Self {
        Self {
            input_dbfs: -100.0,
            output_dbfs: -100.0,
        }
    }
}

/// What the media tells the call.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// Dead air (no media at the start, or a silence mid-call): show it, with the advice.
    Problem(UiError),
    /// Media flows again.
    Resumed,
    /// No RTP for the timeout: the call should end.
    Timeout,
    /// A DTMF digit arrived as RFC 4733 events.
    Dtmf(char),
    /// An audio device changed (unplugged, back), in one plain sentence.
    Device(String),
    /// The audio ends could not be opened; the call goes on without audio.
    AudioFailed(UiError),
    /// The first audio packet from the peer arrived (once per stream).
    FirstMedia,
    /// The relay carrying the call was lost and re-opened on a new allocation: this is the
    /// new relayed address, which the peer must be offered.
    RelayMoved(SocketAddr),
}

#[derive(Debug)]
enum Command {
    Mute(bool),
    Direction(Direction),
    Renegotiate(Box<NegotiatedSession>),
    Dtmf(char, oneshot::Sender<bool>),
    /// The audio ends are open: use them instead of silence.
    SetEnds(Box<AudioEnds>),
    Stop(oneshot::Sender<MediaStats>),
}

/// Datagrams that waited in the socket before the stream started, with their sources.
type Backlog = Vec<(SocketAddr, Vec<u8>)>;

/// A bound RTP socket, before the SDP exchange (its port goes into the SDP), and the relay
/// allocation that carries the call instead when gathering chose one.
#[derive(Debug)]
pub struct MediaSocket {
    sock: UdpSocket,
    port: u16,
    relay: Option<RelayLink>,
}

impl MediaSocket {
    /// Binds a UDP port for RTP (and RTCP, multiplexed) on every interface of `family_of`'s
    /// family.
    pub async fn bind(family_of: std::net::IpAddr) -> Result<Self, UiError> {
        let any: SocketAddr = if family_of.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let sock = UdpSocket::bind(any).await.map_err(|e| {
            UiError::new(
                "media_port",
                format!("No UDP port for the call's audio: {e}."),
                "Another program may hold the ports, or a security tool blocks them.",
            )
        })?;
        let port = sock.local_addr().map(|a| a.port()).unwrap_or_default();
        Ok(Self {
            sock,
            port,
            relay: None,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The socket itself (gathering asks STUN servers about it before media starts).
    pub fn udp(&self) -> &UdpSocket {
        &self.sock
    }

    /// Sends the call's media through `link` instead of the socket (see [`MediaPath`]).
    pub fn use_relay(&mut self, link: RelayLink) {
        self.relay = Some(link);
    }

    /// The relay that carries the call, if any.
    pub fn relay(&self) -> Option<&RelayLink> {
        self.relay.as_ref()
    }

    /// Takes the datagrams already waiting in the socket, oldest first. (Through the std
    /// socket: tokio's `try_recv_from` would see nothing until its reactor has noticed them.)
    fn take_backlog(self) -> std::io::Result<(Self, Backlog)> {
        let std = self.sock.into_std()?;
        let mut backlog = Vec::new();
        let mut buf = vec![0u8; 2048];
        // At most what a socket buffer holds of RTP; a flood is not our problem here.
        while backlog.len() < 1000 {
            match std.recv_from(&mut buf) {
                Ok((n, from)) => backlog.push((from, buf[..n].to_vec())),
                // WouldBlock: all read. Other errors (ICMP unreachable from an earlier
                // send) leave the rest to the stream's loop.
                Err(_) => break,
            }
        }
        let sock = UdpSocket::from_std(std)?;
        Ok((
            Self {
                sock,
                port: self.port,
                relay: self.relay,
            },
            backlog,
        ))
    }
}

/// A running media stream. Dropping it stops the task without a final report; call
/// [`MediaStream::stop`] to end it cleanly (RTCP BYE, the recording's header written).
#[derive(Debug)]
pub struct MediaStream {
    commands: mpsc::UnboundedSender<Command>,
    stats: watch::Receiver<MediaStats>,
    levels: watch::Receiver<LevelReading>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MediaStream {
    fn drop(&mut self) {
        if !self.commands.is_closed() {
            // Stop asked and answered already leaves the task finishing on its own.
            self.task.abort();
        }
    }
}

impl MediaStream {
    /// Starts the stream on `socket` at once (with silence) and opens the audio ends of
    /// `plan` at the codec's rate beside it. Events go to `events`. Audio that cannot be
    /// opened is reported as [`MediaEvent::AudioFailed`] and the call goes on with silence
    /// rather than being dropped.
    pub async fn start(
        socket: MediaSocket,
        negotiated: NegotiatedSession,
        plan: AudioPlan,
        seed: u64,
        rtp_timeout: Option<Duration>,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> Result<Self, UiError> {
        let codec = make_codec(&negotiated)?;
        let rate = codec.sample_rate();
        // Media flows from the first moment with silence; the real ends join when they are
        // open (a sound device takes up to a few seconds), so no packet waits in the socket
        // meanwhile and the jitter buffer sees true arrival times.
        let (dev_tx, dev_rx) = std::sync::mpsc::channel();
        let (silence_tx, _) = std::sync::mpsc::channel();
        let ends = super::audio::open(&AudioPlan::Silence, rate, silence_tx)?;
        let needs_opening = !matches!(plan, AudioPlan::Silence);
        let now = Instant::now();
        let mut cfg = SessionConfig::from_negotiated(&negotiated, seed, ntp_now(), &cname(seed));
        // Dead air is judged from the moment media starts.
        cfg.no_media_after_start = Duration::from_secs(3);
        // "Never" is a century: the session compares times, it has no off switch.
        cfg.rtp_timeout = rtp_timeout.unwrap_or(Duration::from_secs(100 * 365 * 86_400));
        let mut session = RtpSession::new(now, cfg);
        let srtp = match (&negotiated.local_crypto, &negotiated.remote_crypto) {
            (Some(l), Some(r)) => {
                let s = homeline_media::srtp::Srtp::new(l, r).map_err(|e| {
                    UiError::new(
                        "srtp_failed",
                        format!("The call's encryption could not be set up: {e}."),
                        "The other side sent unusable keys; try again or ask its admin.",
                    )
                })?;
                session.set_srtp(s);
                true
            }
            _ => false,
        };
        let (socket, backlog) = socket.take_backlog().map_err(|e| {
            UiError::new(
                "media_port",
                format!("The call's audio port failed: {e}."),
                "Try the call again; if it repeats, report it with the log.",
            )
        })?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (stats_tx, stats_rx) = watch::channel(MediaStats::default());
        let (levels_tx, levels_rx) = watch::channel(LevelReading::default());
        let engine = Engine::new(
            socket,
            negotiated,
            codec,
            ends,
            session,
            srtp,
            events.clone(),
            stats_tx,
            levels_tx,
            dev_rx,
            now,
        );
        let task = tokio::spawn(engine.run(cmd_rx, backlog));
        if needs_opening {
            let commands = cmd_tx.clone();
            let events = events.clone();
            tokio::spawn(async move {
                let opened =
                    tokio::task::spawn_blocking(move || super::audio::open(&plan, rate, dev_tx))
                        .await;
                match opened {
                    Ok(Ok(ends)) => {
                        let _ = commands.send(Command::SetEnds(Box::new(ends)));
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e.message, "call audio unavailable; sending silence");
                        let _ = events.send(MediaEvent::AudioFailed(e));
                    }
                    Err(e) => tracing::warn!(error = %e, "opening the call audio failed"),
                }
            });
        }
        Ok(Self {
            commands: cmd_tx,
            stats: stats_rx,
            levels: levels_rx,
            task,
        })
    }

    /// Mutes (sends silence) or unmutes our audio.
    pub fn set_muted(&self, on: bool) {
        let _ = self.commands.send(Command::Mute(on));
    }

    /// Hold and resume: what we send and receive after the re-INVITE.
    pub fn set_direction(&self, d: Direction) {
        let _ = self.commands.send(Command::Direction(d));
    }

    /// A new negotiation in the same call (re-INVITE: codec, address or direction changed).
    pub fn renegotiate(&self, n: NegotiatedSession) {
        let _ = self.commands.send(Command::Renegotiate(Box::new(n)));
    }

    /// Sends a DTMF digit as RFC 4733 events; `false` when the peer did not negotiate
    /// telephone-event (send it in a SIP INFO instead).
    pub async fn send_dtmf(&self, digit: char) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Dtmf(digit, tx)).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// The latest statistics.
    pub fn stats(&self) -> MediaStats {
        self.stats.borrow().clone()
    }

    /// Levels as they change (about ten times a second).
    pub fn watch_levels(&self) -> watch::Receiver<LevelReading> {
        self.levels.clone()
    }

    /// Ends the stream (RTCP BYE, recording finished) and returns the final statistics.
    pub async fn stop(self) -> MediaStats {
        let (tx, rx) = oneshot::channel();
        let last = self.stats();
        if self.commands.send(Command::Stop(tx)).is_err() {
            return last;
        }
        match tokio::time::timeout(Duration::from_secs(2), rx).await {
            Ok(Ok(s)) => s,
            _ => last,
        }
    }
}

fn make_codec(n: &NegotiatedSession) -> Result<Box<dyn Codec>, UiError> {
    Ok(match n.codec {
        AudioCodec::Pcmu => Box::new(G711::ulaw()),
        AudioCodec::Pcma => Box::new(G711::alaw()),
        AudioCodec::Opus => {
            let cfg = homeline_media::opus::OpusConfig {
                fec: n.opus_fec,
                dtx: false,
                ..Default::default()
            };
            Box::new(
                homeline_media::opus::OpusCodec::new(48_000, &cfg).map_err(|e| {
                    UiError::new(
                        "codec_failed",
                        format!("The Opus codec could not start: {e}."),
                        "This is a bug; please report it with the log.",
                    )
                })?,
            )
        }
    })
}

fn codec_name(c: AudioCodec) -> String {
    format!("{}/{}", c.encoding_name(), c.clock_rate())
}

/// The NTP time now (RFC 3550 §4: seconds since 1900 in the high 32 bits).
fn ntp_now() -> u64 {
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// A per-call CNAME (RFC 7022: random, not the user's identity).
fn cname(seed: u64) -> String {
    format!(
        "{:016x}@homeline",
        seed.rotate_left(17) ^ 0x5a5a_1234_abcd_0077
    )
}

struct Engine {
    path: MediaPath,
    /// The first packet from the peer has been reported ([`MediaEvent::FirstMedia`]).
    heard: bool,
    negotiated: NegotiatedSession,
    codec: Box<dyn Codec>,
    ends: AudioEnds,
    session: RtpSession,
    jitter: JitterBuffer,
    srtp: bool,
    events: mpsc::UnboundedSender<MediaEvent>,
    stats: watch::Sender<MediaStats>,
    levels_tx: watch::Sender<LevelReading>,
    device_events: std::sync::mpsc::Receiver<DeviceEvent>,
    muted: bool,
    started: Instant,
    frames_sent: u64,
    frames_played: u64,
    rate: u32,
    frame: Vec<f32>,
    pcm: Vec<i16>,
    payload: Vec<u8>,
    decoded: VecDeque<f32>,
    in_levels: Levels,
    out_levels: Levels,
    next_stats: Instant,
    next_levels: Instant,
    concealed: u64,
    fec_recovered: u64,
    send_errors: u64,
    /// Statistics rounds (1 s) since the encoder last heard the peer's loss figure.
    since_adapt: u32,
}

impl Engine {
    #[allow(clippy::too_many_arguments)]
    fn new(
        socket: MediaSocket,
        negotiated: NegotiatedSession,
        codec: Box<dyn Codec>,
        ends: AudioEnds,
        session: RtpSession,
        srtp: bool,
        events: mpsc::UnboundedSender<MediaEvent>,
        stats: watch::Sender<MediaStats>,
        levels_tx: watch::Sender<LevelReading>,
        device_events: std::sync::mpsc::Receiver<DeviceEvent>,
        now: Instant,
    ) -> Self {
        let rate = codec.sample_rate();
        let jitter = new_jitter(&negotiated);
        let path = match socket.relay {
            Some(link) => MediaPath::relay(link, negotiated.remote_rtp),
            None => MediaPath::Udp(socket.sock),
        };
        Self {
            path,
            heard: false,
            negotiated,
            codec,
            ends,
            session,
            jitter,
            srtp,
            events,
            stats,
            levels_tx,
            device_events,
            muted: false,
            started: now,
            frames_sent: 0,
            frames_played: 0,
            rate,
            frame: vec![0.0; frame_len(rate)],
            pcm: Vec::with_capacity(frame_len(48_000) * 6),
            payload: Vec::with_capacity(1500),
            decoded: VecDeque::with_capacity(frame_len(48_000) * 8),
            in_levels: Levels::default(),
            out_levels: Levels::default(),
            next_stats: now + Duration::from_millis(500),
            next_levels: now,
            concealed: 0,
            fec_recovered: 0,
            send_errors: 0,
            since_adapt: 0,
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>, backlog: Backlog) {
        self.take_backlog(backlog);
        self.flush();
        self.drain_events();
        let mut buf = vec![0u8; 2048];
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                r = self.path.recv(&mut buf) => match r {
                    Ok((n, from)) => {
                        let now = Instant::now();
                        if let Err(e) = self.session.handle_datagram(now, from, &buf[..n]) {
                            // Never fatal: a stray or broken packet is counted and dropped.
                            tracing::trace!(%from, error = %e, "media datagram dropped");
                        }
                    }
                    // ICMP port unreachable from an earlier send: the peer is not there yet.
                    Err(e) => tracing::trace!(error = %e, "media receive error"),
                },
                _ = tick.tick() => {
                    let now = Instant::now();
                    self.serve_audio(now);
                    if self.session.poll_timeout().is_some_and(|t| t <= now) {
                        self.session.handle_timeout(now);
                    }
                    self.report(now);
                }
                c = commands.recv() => match c {
                    Some(Command::Stop(reply)) => {
                        let now = Instant::now();
                        self.session.close(now, "call ended");
                        self.flush();
                        if let Playback::Paced(sink) = &mut self.ends.playback
                            && let Err(e) = sink.finish() {
                            let _ = self.events.send(MediaEvent::AudioFailed(UiError::new(
                                "audio_file",
                                format!("The recording could not be finished: {e}."),
                                "Check the disk space and the folder's permissions.",
                            )));
                        }
                        let _ = reply.send(self.snapshot());
                        return;
                    }
                    Some(c) => self.on_command(c),
                    None => return,
                },
            }
            self.flush();
            self.drain_events();
        }
    }

    fn on_command(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Mute(on) => self.muted = on,
            Command::Direction(d) => self.session.set_direction(now, d),
            Command::Renegotiate(n) => {
                if n.codec != self.negotiated.codec
                    || n.payload_type != self.negotiated.payload_type
                {
                    match make_codec(&n) {
                        Ok(c) if c.sample_rate() == self.rate => {
                            self.codec = c;
                            self.jitter = new_jitter(&n);
                            self.session.set_codec(
                                n.payload_type,
                                n.clock_rate,
                                Duration::from_millis(u64::from(n.ptime_ms)),
                            );
                        }
                        Ok(_) | Err(_) => {
                            // A codec at another PCM rate would need the audio ends reopened;
                            // we keep what works rather than break the call.
                            tracing::info!(from = ?self.negotiated.codec, to = ?n.codec,
                                "codec change to another rate ignored; keeping the current codec");
                        }
                    }
                }
                if n.remote_rtp != self.negotiated.remote_rtp {
                    if let Some(to) = n.remote_rtp {
                        self.path.permit(to);
                    }
                    self.session.set_remote(n.remote_rtp, n.remote_rtcp);
                }
                self.session.set_direction(now, n.direction);
                self.negotiated = *n;
            }
            Command::Dtmf(digit, reply) => {
                let ok = self
                    .session
                    .send_dtmf(now, digit, Duration::from_millis(160))
                    .is_ok();
                let _ = reply.send(ok);
            }
            Command::SetEnds(ends) => {
                if let Playback::Paced(old) = &mut self.ends.playback {
                    let _ = old.finish();
                }
                self.ends = *ends;
                // Paced ends count frames from the next frame of the grid the stream already
                // keeps: restarting the grid at `now` would shift our send times against our
                // RTP timestamps by up to a frame, which the far end's jitter buffer reads as
                // a sudden change of delay and corrects with a skipped or inserted frame.
                self.started += FRAME * frame_index(self.frames_sent);
                self.frames_sent = 0;
                self.frames_played = 0;
                self.decoded.clear();
            }
            Command::Stop(_) => {}
        }
    }

    /// Capture and playback for everything due by `now`.
    fn serve_audio(&mut self, now: Instant) {
        let due = u64::try_from(now.saturating_duration_since(self.started).as_millis() / 20)
            .unwrap_or(u64::MAX)
            + 1;
        // Capture.
        loop {
            let status = match &mut self.ends.capture {
                Capture::Device(d) => {
                    homeline_audio::FrameSource::read_frame(d.as_mut(), &mut self.frame)
                }
                Capture::Paced(s) => {
                    if self.frames_sent >= due {
                        break;
                    }
                    s.read_frame(&mut self.frame)
                }
            };
            match status {
                Ok(FrameStatus::Ready) => {
                    // A paced frame's time is its place on the grid, not when we got to it.
                    let at = match self.ends.capture {
                        Capture::Device(_) => now,
                        Capture::Paced(_) => self.started + FRAME * frame_index(self.frames_sent),
                    };
                    self.frames_sent += 1;
                    self.send_frame(at);
                }
                Ok(FrameStatus::Pending) => break,
                Ok(FrameStatus::Ended) | Err(_) => {
                    // A source that ended or failed: silence from now on (the call goes on).
                    self.frame.fill(0.0);
                    self.frames_sent += 1;
                    let at = now;
                    self.send_frame(at);
                    if matches!(self.ends.capture, Capture::Device(_)) {
                        break;
                    }
                }
            }
            if self.frames_sent > due + 50 {
                break;
            }
        }
        // Playback.
        loop {
            let want = match &mut self.ends.playback {
                Playback::Device(d) => d.queued_ms() < DEVICE_QUEUE_MS,
                Playback::Paced(_) => self.frames_played < due,
            };
            if !want {
                break;
            }
            // A paced frame is played at its place on the grid, as a paced frame is sent: a
            // loop that wakes late (a loaded machine) must not read to the jitter buffer as
            // a longer delay, which it would cut by skipping a frame of speech.
            let at = match self.ends.playback {
                Playback::Device(_) => now,
                Playback::Paced(_) => {
                    (self.started + FRAME * frame_index(self.frames_played)).min(now)
                }
            };
            self.next_output_frame(at);
            self.frames_played += 1;
            self.out_levels.update(&self.frame);
            let r = match &mut self.ends.playback {
                Playback::Device(d) => {
                    homeline_audio::FrameSink::write_frame(d.as_mut(), &self.frame)
                }
                Playback::Paced(s) => s.write_frame(&self.frame),
            };
            if let Err(e) = r {
                tracing::debug!(error = %e, "playback frame dropped");
                break;
            }
        }
        for e in self.device_events.try_iter() {
            let _ = self.events.send(MediaEvent::Device(e.message));
        }
    }

    fn send_frame(&mut self, at: Instant) {
        if self.muted {
            self.frame.fill(0.0);
        }
        self.in_levels.update(&self.frame);
        self.pcm.clear();
        self.pcm.resize(self.frame.len(), 0);
        homeline_audio::resample::f32_to_i16(&self.frame, &mut self.pcm);
        self.payload.clear();
        if let Err(e) = self.codec.encode(&self.pcm, &mut self.payload) {
            tracing::debug!(error = %e, "encoding failed; frame skipped");
            return;
        }
        let units =
            u32::try_from(self.frame.len()).unwrap_or(0) * self.codec.rtp_units_per_sample();
        self.session.send_audio(at, &self.payload, units);
    }

    /// Fills `self.frame` with the next 20 ms to play.
    fn next_output_frame(&mut self, now: Instant) {
        let n = self.frame.len();
        let per_sample = self.codec.rtp_units_per_sample().max(1);
        let mut guard = 0;
        while self.decoded.len() < n && guard < 8 {
            guard += 1;
            self.pcm.clear();
            let r = match self.jitter.pop(now) {
                Playout::Frame { payload, .. } => self.codec.decode(&payload, &mut self.pcm),
                Playout::Fec {
                    next_payload,
                    duration,
                } => {
                    let samples = (duration / per_sample) as usize;
                    match self.codec.decode_fec(&next_payload, samples, &mut self.pcm) {
                        Ok(true) => {
                            self.fec_recovered += 1;
                            Ok(samples)
                        }
                        _ => {
                            self.concealed += 1;
                            self.pcm.clear();
                            self.codec.conceal(samples, &mut self.pcm).map(|()| samples)
                        }
                    }
                }
                Playout::Missing { duration } => {
                    self.concealed += 1;
                    let samples = (duration / per_sample) as usize;
                    self.codec.conceal(samples, &mut self.pcm).map(|()| samples)
                }
                Playout::Silence { duration } => {
                    let samples = (duration / per_sample) as usize;
                    self.pcm.resize(samples, 0);
                    Ok(samples)
                }
            };
            if let Err(e) = r {
                tracing::trace!(error = %e, "undecodable frame; concealing");
                self.pcm.clear();
                self.pcm.resize(n, 0);
            }
            if self.pcm.is_empty() {
                self.pcm.resize(n, 0);
            }
            // The jitter buffer drops a frame to cut its delay only after a quiet one, so
            // the skip falls in a pause rather than in a word.
            self.jitter.set_quiet(is_quiet(&self.pcm));
            self.decoded
                .extend(self.pcm.iter().map(|s| f32::from(*s) / 32768.0));
        }
        for o in self.frame.iter_mut() {
            *o = self.decoded.pop_front().unwrap_or(0.0);
        }
        // Never let decoded audio pile up (a peer sending longer frames than it said).
        let cap = n * 6;
        if self.decoded.len() > cap {
            let extra = self.decoded.len() - cap;
            self.decoded.drain(..extra);
        }
    }

    fn flush(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            if let Err(e) = self.path.send_to(&t.contents, t.destination) {
                // A full socket buffer or an unreachable peer: RTP is loss-tolerant.
                self.send_errors += 1;
                tracing::trace!(to = %t.destination, error = %e, "media send failed");
            }
        }
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.session.poll_event() {
            self.on_session_event(e);
        }
    }

    /// Datagrams that queued up in the socket while the stream was starting (the audio ends
    /// take tens of milliseconds to open, a sound device more): the session sees them all,
    /// but of their audio only the newest frame goes to the jitter buffer. Playing the rest
    /// would add their age to the call's delay until the buffer had shrunk it away in
    /// pauses, and their arrival all at once would read as jitter and raise its target.
    fn take_backlog(&mut self, backlog: Backlog) {
        if backlog.is_empty() {
            return;
        }
        let now = Instant::now();
        for (from, d) in &backlog {
            if let Err(e) = self.session.handle_datagram(now, *from, d) {
                tracing::trace!(%from, error = %e, "media datagram dropped");
            }
        }
        let mut newest: Option<SessionEvent> = None;
        let mut stale = 0u32;
        while let Some(e) = self.session.poll_event() {
            match (&e, &newest) {
                (
                    SessionEvent::Media { packet, .. },
                    Some(SessionEvent::Media { packet: kept, .. }),
                ) => {
                    stale += 1;
                    if packet.timestamp.wrapping_sub(kept.timestamp) as i32 > 0 {
                        newest = Some(e);
                    }
                }
                (SessionEvent::Media { .. }, _) => newest = Some(e),
                _ => self.on_session_event(e),
            }
        }
        if let Some(e) = newest {
            self.on_session_event(e);
        }
        tracing::debug!(
            datagrams = backlog.len(),
            stale,
            "media that arrived before the stream started"
        );
    }

    fn on_session_event(&mut self, e: SessionEvent) {
        match e {
            SessionEvent::Media { packet, arrival } => {
                if !self.heard {
                    self.heard = true;
                    let _ = self.events.send(MediaEvent::FirstMedia);
                }
                self.jitter.push(
                    arrival,
                    packet.ssrc,
                    packet.sequence,
                    packet.timestamp,
                    &packet.payload,
                );
            }
            SessionEvent::Dtmf(d) => {
                if let Some(digit) = dtmf_digit(&d) {
                    let _ = self.events.send(MediaEvent::Dtmf(digit));
                }
            }
            SessionEvent::RemoteSsrcChanged { .. } => self.jitter.flush(),
            SessionEvent::NoMediaReceived | SessionEvent::MediaStalled => {
                let code = if e == SessionEvent::NoMediaReceived {
                    "no_media"
                } else {
                    "media_stalled"
                };
                let message = if e == SessionEvent::NoMediaReceived {
                    "No audio arrives from the other side."
                } else {
                    "The other side's audio stopped arriving."
                };
                let _ = self.events.send(MediaEvent::Problem(UiError::new(
                    code,
                    message,
                    e.advice().unwrap_or_default(),
                )));
            }
            SessionEvent::MediaResumed => {
                let _ = self.events.send(MediaEvent::Resumed);
            }
            SessionEvent::RtpTimeout => {
                let _ = self.events.send(MediaEvent::Timeout);
            }
            SessionEvent::Latched(to) => tracing::debug!(%to, "media latched"),
            SessionEvent::Relatched { from, to } => {
                tracing::info!(%from, %to, "the other side's media moved; following it");
            }
            SessionEvent::Bye { reason } => {
                tracing::debug!(?reason, "the other side ended its media (RTCP BYE)");
            }
        }
    }

    fn snapshot(&self) -> MediaStats {
        let s = self.session.stats();
        let j = self.jitter.stats();
        let q = CallQuality::compute(
            self.negotiated.codec,
            f64::from(self.negotiated.ptime_ms),
            &s,
            Some(&j),
            self.ends.device_ms,
        );
        MediaStats {
            codec: Some(codec_name(self.negotiated.codec)),
            packets_sent: s.packets_sent,
            packets_received: s.packets_received,
            loss_pct: round2(q.loss_pct),
            late_pct: round2(q.late_pct),
            jitter_ms: round2(q.jitter_ms),
            rtt_ms: q.rtt_ms.map(round2),
            playout_delay_ms: round2(q.playout_delay_ms),
            mos: (s.packets_received > 0).then(|| round2(q.mos)),
            srtp: self.srtp,
            concealed: self.concealed,
            fec_recovered: self.fec_recovered,
            shrinks: j.shrinks,
            stretches: j.stretches,
            malformed: s.malformed,
            remote: s.latched.or(self.negotiated.remote_rtp),
            capture_dropped_ms: match &self.ends.capture {
                Capture::Device(d) => d.counters().overrun_samples * 1000 / u64::from(self.rate),
                Capture::Paced(_) => 0,
            },
            playback_gaps_ms: match &self.ends.playback {
                Playback::Device(d) => d.counters().underrun_samples * 1000 / u64::from(self.rate),
                Playback::Paced(_) => 0,
            },
        }
    }

    fn report(&mut self, now: Instant) {
        if now >= self.next_levels {
            self.next_levels = now + Duration::from_millis(100);
            if let Some(relayed) = self.path.relay_moved() {
                let _ = self.events.send(MediaEvent::RelayMoved(relayed));
            }
            let reading = LevelReading {
                input_dbfs: self.in_levels.last().rms_dbfs,
                output_dbfs: self.out_levels.last().rms_dbfs,
            };
            self.levels_tx.send_if_modified(|l| {
                let changed = *l != reading;
                *l = reading;
                changed
            });
        }
        if now >= self.next_stats {
            self.next_stats = now + Duration::from_secs(1);
            let snap = self.snapshot();
            self.stats.send_replace(snap);
            // The peer's receiver reports (every ~5 s) tune the encoder's FEC and bitrate.
            self.since_adapt += 1;
            if self.since_adapt >= 5 {
                self.since_adapt = 0;
                if let Some(lost) = self.session.stats().remote_fraction_lost {
                    self.codec.on_remote_loss(lost);
                }
            }
        }
    }
}

fn new_jitter(n: &NegotiatedSession) -> JitterBuffer {
    let mut cfg = JitterConfig::new(n.clock_rate);
    cfg.fec = n.codec == AudioCodec::Opus;
    JitterBuffer::new(cfg)
}

/// RMS of a quiet frame: -45 dBFS (a pause, or room noise; speech is 20-30 dB louder).
const QUIET_RMS: f64 = 32768.0 * 0.005_623;

/// Whether decoded audio is below [`QUIET_RMS`].
fn is_quiet(pcm: &[i16]) -> bool {
    if pcm.is_empty() {
        return true;
    }
    let energy: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    energy / pcm.len() as f64 <= QUIET_RMS * QUIET_RMS
}

fn frame_index(k: u64) -> u32 {
    u32::try_from(k).unwrap_or(u32::MAX)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn dtmf_digit(e: &homeline_media::dtmf::DtmfEvent) -> Option<char> {
    match e {
        homeline_media::dtmf::DtmfEvent::Start { event } => {
            homeline_media::dtmf::event_to_digit(*event)
        }
        homeline_media::dtmf::DtmfEvent::End { .. } => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_backlog_is_what_waited_in_the_socket_and_the_socket_goes_on() {
        let sock = MediaSocket::bind("127.0.0.1".parse().unwrap())
            .await
            .unwrap();
        let to = SocketAddr::from(([127, 0, 0, 1], sock.port()));
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for k in 0..3u8 {
            peer.send_to(&[k; 12], to).unwrap();
        }
        // Loopback delivers at once; give the kernel a moment anyway.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (sock, backlog) = sock.take_backlog().unwrap();
        let from = peer.local_addr().unwrap();
        assert_eq!(
            backlog,
            (0..3u8).map(|k| (from, vec![k; 12])).collect::<Vec<_>>()
        );
        peer.send_to(b"after", to).unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = tokio::time::timeout(Duration::from_secs(2), sock.sock.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"after");
    }

    #[test]
    fn quiet_means_a_pause_not_soft_speech() {
        assert!(is_quiet(&[]));
        assert!(is_quiet(&[0; 160]));
        // -50 dBFS of noise is a pause; a -30 dBFS tone is speech.
        let at = |db: f64| -> Vec<i16> {
            let a = 32768.0 * 10f64.powf(db / 20.0) * 2f64.sqrt();
            (0..160)
                .map(|i| (a * (f64::from(i) * 0.3).sin()) as i16)
                .collect()
        };
        assert!(is_quiet(&at(-50.0)));
        assert!(!is_quiet(&at(-30.0)));
    }
}
