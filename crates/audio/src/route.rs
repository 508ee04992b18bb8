//! Device choice and hot-plug: a microphone, a speaker and a ring device, each chosen
//! separately, each following the system default when that is the choice, and each moving to
//! the default device within a second when its device disappears.
//!
//! Every [`DeviceInput`] / [`DeviceOutput`] has a supervisor thread that owns the cpal stream.
//! The supervisor re-scans every [`RESCAN_INTERVAL`] (off the audio thread) and also watches the
//! stream's error flag. When the device is gone it opens the default device, hands the new ring
//! to the call side through a channel (so the call side never locks), and sends a
//! [`DeviceEvent`] whose message says what happened in plain words. When the chosen device
//! comes back, audio moves back to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rtrb::{Consumer, Producer};

use crate::devices::{self, DeviceChoice, Direction};
use crate::frame::{FrameError, FrameSink, FrameSource, FrameStatus, check_len};
use crate::level::Levels;
use crate::resample::{ResampleError, Resampler};
use crate::ring::{CounterSnapshot, StreamCounters};
use crate::stream::{OpenStream, StreamError, open_capture, open_playback};

/// How often a supervisor looks for its device. Short enough that an unplugged headset is
/// noticed well within a second; a re-scan is one round trip to the sound server.
pub const RESCAN_INTERVAL: Duration = Duration::from_millis(250);

/// What a device is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Call audio in.
    Microphone,
    /// Call audio out.
    Speaker,
    /// Ringtone out (often the loud speakers while calls go to the headset).
    Ring,
}

impl Role {
    fn direction(self) -> Direction {
        match self {
            Role::Microphone => Direction::Input,
            Role::Speaker | Role::Ring => Direction::Output,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Role::Microphone => "Microphone",
            Role::Speaker => "Speaker",
            Role::Ring => "Ring device",
        }
    }

    fn moved(self) -> &'static str {
        match self {
            Role::Microphone => "recording moved to",
            Role::Speaker => "audio moved to",
            Role::Ring => "ringing moved to",
        }
    }

    fn moved_back(self) -> &'static str {
        match self {
            Role::Microphone => "recording moved back to it",
            Role::Speaker => "audio moved back to it",
            Role::Ring => "ringing moved back to it",
        }
    }
}

/// What happened to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceEventKind {
    /// The device in use disappeared (or failed) and audio moved to the default device.
    Unplugged,
    /// The chosen device came back and audio moved back to it.
    Returned,
    /// The system default changed and a "default" choice followed it.
    DefaultChanged,
    /// The chosen device was not there when the stream opened; the default is used instead.
    Missing,
    /// No device at all could be opened; audio is silent until one appears.
    NoDevice,
}

/// A change of device, for the UI and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEvent {
    /// Which use of a device changed.
    pub role: Role,
    /// What happened.
    pub kind: DeviceEventKind,
    /// The device used before, if any.
    pub from: Option<String>,
    /// The device used now, if any.
    pub to: Option<String>,
    /// The same in one plain sentence, e.g. "Speaker 'Jabra Evolve' was unplugged; audio moved
    /// to 'Built-in speakers'."
    pub message: String,
}

/// Why a device endpoint could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The first stream could not be opened.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The supervisor thread could not start.
    #[error("the audio supervisor could not start: {0}")]
    Thread(String),
    /// The supervisor stopped before opening anything.
    #[error("the audio supervisor stopped while opening the device")]
    Stopped,
}

/// Devices for the three uses, as a person chose them in Settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioRoutes {
    /// Where call audio is captured.
    pub microphone: DeviceChoice,
    /// Where call audio plays.
    pub speaker: DeviceChoice,
    /// Where the ringtone plays.
    pub ring: DeviceChoice,
}

impl AudioRoutes {
    /// Opens the microphone for frames of `rate` Hz.
    pub fn open_microphone(
        &self,
        rate: u32,
        events: Option<mpsc::Sender<DeviceEvent>>,
    ) -> Result<DeviceInput, RouteError> {
        DeviceInput::open(self.microphone.clone(), rate, events)
    }

    /// Opens the call speaker for frames of `rate` Hz.
    pub fn open_speaker(
        &self,
        rate: u32,
        events: Option<mpsc::Sender<DeviceEvent>>,
    ) -> Result<DeviceOutput, RouteError> {
        DeviceOutput::open(Role::Speaker, self.speaker.clone(), rate, events)
    }

    /// Opens the ring device for frames of `rate` Hz.
    pub fn open_ring(
        &self,
        rate: u32,
        events: Option<mpsc::Sender<DeviceEvent>>,
    ) -> Result<DeviceOutput, RouteError> {
        DeviceOutput::open(Role::Ring, self.ring.clone(), rate, events)
    }
}

/// The ring end handed from the supervisor to the call side after each (re)open.
enum Handoff {
    Capture(Consumer<f32>, u32, String),
    Playback(Producer<f32>, u32, String),
}

struct Supervisor {
    role: Role,
    choice: DeviceChoice,
    counters: Arc<StreamCounters>,
    stop: Arc<AtomicBool>,
    handoff: mpsc::Sender<Handoff>,
    events: Option<mpsc::Sender<DeviceEvent>>,
    rescan: Duration,
}

impl Supervisor {
    fn emit(&self, kind: DeviceEventKind, from: Option<String>, to: Option<String>) {
        let noun = self.role.noun();
        let moved = self.role.moved();
        let to_text = to.as_deref().unwrap_or("nothing");
        let from_text = from.as_deref().unwrap_or("the device");
        let message = match kind {
            DeviceEventKind::Unplugged => {
                format!("{noun} '{from_text}' was unplugged; {moved} '{to_text}'.")
            }
            DeviceEventKind::Returned => {
                let back = self.role.moved_back();
                match &from {
                    Some(f) => format!("{noun} '{to_text}' is back; {back} from '{f}'."),
                    None => format!("{noun} '{to_text}' is available again; {back}."),
                }
            }
            DeviceEventKind::DefaultChanged => {
                format!("The system's default changed; {moved} '{to_text}'.")
            }
            DeviceEventKind::Missing => {
                let wanted = match &self.choice {
                    DeviceChoice::Named(n) => n.as_str(),
                    DeviceChoice::SystemDefault => "the default device",
                };
                format!("{noun} '{wanted}' is not connected; using '{to_text}' instead.")
            }
            DeviceEventKind::NoDevice => format!(
                "{noun} '{from_text}' is gone and no other device is available; audio is silent \
                 until one is connected."
            ),
        };
        tracing::info!(role = ?self.role, ?kind, "{message}");
        if let Some(tx) = &self.events {
            // The listener may have gone away; the event is in the log anyway.
            let _ = tx.send(DeviceEvent {
                role: self.role,
                kind,
                from,
                to,
                message,
            });
        }
    }

    /// Opens `device` and hands its ring to the call side.
    fn open(&self, device: &cpal::Device) -> Result<OpenStream, StreamError> {
        match self.role.direction() {
            Direction::Input => {
                let (s, consumer) = open_capture(device, self.counters.clone())?;
                let _ = self
                    .handoff
                    .send(Handoff::Capture(consumer, s.rate, s.device.clone()));
                Ok(s)
            }
            Direction::Output => {
                let (s, producer) = open_playback(device, self.counters.clone())?;
                let _ = self
                    .handoff
                    .send(Handoff::Playback(producer, s.rate, s.device.clone()));
                Ok(s)
            }
        }
    }

    /// Opens the chosen device, else the default. Returns the stream and whether it is the
    /// fallback.
    fn open_best(&self, host: &cpal::Host) -> Result<(OpenStream, bool), StreamError> {
        let dir = self.role.direction();
        if let Some(d) = devices::find(host, dir, &self.choice) {
            match self.open(&d) {
                Ok(s) => return Ok((s, false)),
                Err(e) if matches!(self.choice, DeviceChoice::SystemDefault) => return Err(e),
                Err(e) => tracing::warn!(error = %e, "chosen device failed to open"),
            }
        }
        let d = devices::default_device(host, dir).ok_or(StreamError::NoDevice(match dir {
            Direction::Input => "input",
            Direction::Output => "output",
        }))?;
        let fallback = matches!(self.choice, DeviceChoice::Named(_));
        Ok((self.open(&d)?, fallback))
    }

    fn run(self, ready: mpsc::Sender<Result<(), StreamError>>) {
        let host = cpal::default_host();
        let dir = self.role.direction();
        let mut current = match self.open_best(&host) {
            Ok((s, fallback)) => {
                let _ = ready.send(Ok(()));
                if fallback {
                    self.emit(DeviceEventKind::Missing, None, Some(s.device.clone()));
                }
                Some((s, fallback))
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        drop(ready);
        let mut next_scan = Instant::now() + self.rescan;
        while !self.stop.load(Ordering::Relaxed) {
            // Sleep in small steps so that a stream error or a stop is acted on quickly.
            thread::sleep(Duration::from_millis(20));
            let failed = current
                .as_ref()
                .is_some_and(|(s, _)| s.failed.load(Ordering::Relaxed));
            if !failed && Instant::now() < next_scan {
                continue;
            }
            next_scan = Instant::now() + self.rescan;
            match current.take() {
                Some((s, fallback)) => {
                    let gone = failed || !devices::is_present(&host, dir, &s.device);
                    if gone {
                        let old = s.device.clone();
                        // Make before break: the new stream is handed over first, because
                        // closing a stream can block for a while (cpal joins its threads).
                        // Some servers refuse a new stream while the dead one is still
                        // open (PulseAudio right after a sink vanished): then close it and
                        // try once more.
                        let mut s = Some(s);
                        let reopened = self.open_best(&host).or_else(|_| {
                            drop(s.take());
                            self.open_best(&host)
                        });
                        match reopened {
                            Ok((n, fb)) => {
                                self.emit(
                                    DeviceEventKind::Unplugged,
                                    Some(old),
                                    Some(n.device.clone()),
                                );
                                current = Some((n, fb));
                            }
                            Err(_) => {
                                self.emit(DeviceEventKind::NoDevice, Some(old), None);
                                current = None;
                            }
                        }
                        drop(s);
                        continue;
                    }
                    current = self.follow(&host, s, fallback);
                }
                None => {
                    if let Ok((n, fb)) = self.open_best(&host) {
                        self.emit(DeviceEventKind::Returned, None, Some(n.device.clone()));
                        current = Some((n, fb));
                    }
                }
            }
        }
    }

    /// With a healthy stream: move back to the chosen device when it returns, or follow the
    /// system default when that is the choice. `None` when the move found no device at all.
    fn follow(
        &self,
        host: &cpal::Host,
        s: OpenStream,
        fallback: bool,
    ) -> Option<(OpenStream, bool)> {
        let dir = self.role.direction();
        let (moves, kind) = match &self.choice {
            DeviceChoice::Named(_) if fallback => (
                devices::find(host, dir, &self.choice).is_some(),
                DeviceEventKind::Returned,
            ),
            DeviceChoice::SystemDefault => (
                devices::default_device(host, dir)
                    .is_some_and(|d| devices::display_name(&d) != s.device),
                DeviceEventKind::DefaultChanged,
            ),
            DeviceChoice::Named(_) => (false, DeviceEventKind::Returned),
        };
        if !moves {
            return Some((s, fallback));
        }
        let old = s.device.clone();
        // Make before break, as in `run`. PulseAudio (through cpal) refuses a second playback
        // stream on the same connection with "Invalid argument", so then break first.
        let mut s = Some(s);
        let moved = self.open_best(host).or_else(|_| {
            drop(s.take());
            self.open_best(host)
        });
        match moved {
            Ok((n, fb)) => {
                self.emit(kind, Some(old), Some(n.device.clone()));
                drop(s);
                Some((n, fb))
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not move to the device");
                match s {
                    Some(s) => Some((s, fallback)),
                    None => {
                        self.emit(DeviceEventKind::NoDevice, Some(old), None);
                        None
                    }
                }
            }
        }
    }
}

fn spawn_supervisor(
    role: Role,
    choice: DeviceChoice,
    events: Option<mpsc::Sender<DeviceEvent>>,
    counters: Arc<StreamCounters>,
    stop: Arc<AtomicBool>,
    rescan: Duration,
) -> Result<(mpsc::Receiver<Handoff>, thread::JoinHandle<()>), RouteError> {
    let (handoff_tx, handoff_rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let sup = Supervisor {
        role,
        choice,
        counters,
        stop,
        handoff: handoff_tx,
        events,
        rescan,
    };
    let handle = thread::Builder::new()
        .name(format!("homeline-audio-{role:?}").to_lowercase())
        .spawn(move || sup.run(ready_tx))
        .map_err(|e| RouteError::Thread(e.to_string()))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((handoff_rx, handle)),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e.into())
        }
        Err(_) => {
            let _ = handle.join();
            Err(RouteError::Stopped)
        }
    }
}

/// Stops a supervisor when its endpoint is dropped.
struct SupervisorHandle {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for SupervisorHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // A panicked supervisor has nothing left to clean up.
            let _ = t.join();
        }
    }
}

/// The call side's end of a device ring: the capture ring's consumer or the playback ring's
/// producer. It tells the two directions apart for [`Endpoint`], which does the rest alike.
trait RingEnd: Sized {
    /// This end with the device's rate and name, if `h` is for this direction.
    fn from_handoff(h: Handoff) -> Option<(Self, u32, String)>;
    /// A resampler between the call's rate and the device's, in this direction.
    fn resampler(call_rate: u32, device_rate: u32) -> Result<Resampler, ResampleError>;
    /// The device's side of a resampler made by [`RingEnd::resampler`].
    fn device_rate(resampler: &Resampler) -> u32;
}

impl RingEnd for Consumer<f32> {
    fn from_handoff(h: Handoff) -> Option<(Self, u32, String)> {
        match h {
            Handoff::Capture(consumer, rate, device) => Some((consumer, rate, device)),
            Handoff::Playback(..) => None,
        }
    }
    fn resampler(call_rate: u32, device_rate: u32) -> Result<Resampler, ResampleError> {
        Resampler::new(device_rate, call_rate)
    }
    fn device_rate(resampler: &Resampler) -> u32 {
        resampler.from_rate()
    }
}

impl RingEnd for Producer<f32> {
    fn from_handoff(h: Handoff) -> Option<(Self, u32, String)> {
        match h {
            Handoff::Playback(producer, rate, device) => Some((producer, rate, device)),
            Handoff::Capture(..) => None,
        }
    }
    fn resampler(call_rate: u32, device_rate: u32) -> Result<Resampler, ResampleError> {
        Resampler::new(call_rate, device_rate)
    }
    fn device_rate(resampler: &Resampler) -> u32 {
        resampler.to_rate()
    }
}

/// What [`DeviceInput`] and [`DeviceOutput`] hold alike: the supervisor, the channel its rings
/// come through, the ring of the device in use and the resampler between the two rates.
struct Endpoint<E> {
    rate: u32,
    handoff: mpsc::Receiver<Handoff>,
    ring: Option<E>,
    device: String,
    resampler: Resampler,
    scratch: Vec<f32>,
    counters: Arc<StreamCounters>,
    levels: Arc<Levels>,
    _supervisor: SupervisorHandle,
}

impl<E: RingEnd> Endpoint<E> {
    /// Starts the supervisor for `role` and takes the first ring it opens. `what` names the
    /// endpoint in an error; `scratch` is the size of the buffer between ring and resampler.
    fn open(
        role: Role,
        choice: DeviceChoice,
        rate: u32,
        events: Option<mpsc::Sender<DeviceEvent>>,
        rescan: Duration,
        scratch: usize,
        what: &str,
    ) -> Result<Self, RouteError> {
        let open_err = |e: FrameError| StreamError::Open {
            device: what.into(),
            reason: e.to_string(),
        };
        // Made before the supervisor starts, so that a bad rate leaves no thread behind.
        let resampler = Resampler::new(rate, rate).map_err(|e| open_err(e.into()))?;
        let counters = Arc::new(StreamCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (handoff, thread) =
            spawn_supervisor(role, choice, events, counters.clone(), stop.clone(), rescan)?;
        let mut me = Self {
            rate,
            handoff,
            ring: None,
            device: String::new(),
            resampler,
            scratch: vec![0.0; scratch],
            counters,
            levels: Arc::new(Levels::default()),
            _supervisor: SupervisorHandle {
                stop,
                thread: Some(thread),
            },
        };
        me.take_handoff().map_err(open_err)?;
        Ok(me)
    }

    /// Takes the rings the supervisor opened since the last call; the last one is used.
    fn take_handoff(&mut self) -> Result<(), FrameError> {
        while let Ok(h) = self.handoff.try_recv() {
            if let Some((ring, device_rate, device)) = E::from_handoff(h) {
                if device_rate != E::device_rate(&self.resampler) {
                    // A new device may run at another rate; a rare event, so allocating is fine.
                    self.resampler = E::resampler(self.rate, device_rate)?;
                } else {
                    self.resampler.reset();
                }
                self.ring = Some(ring);
                self.device = device;
            }
        }
        Ok(())
    }
}

/// A microphone as a [`FrameSource`]: device audio resampled to the call's rate, following
/// device changes without the caller noticing (but for a [`DeviceEvent`]).
pub struct DeviceInput {
    io: Endpoint<Consumer<f32>>,
}

impl std::fmt::Debug for DeviceInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceInput")
            .field("rate", &self.io.rate)
            .field("device", &self.io.device)
            .finish()
    }
}

impl DeviceInput {
    /// Opens the chosen microphone (or the default) for frames of `rate` Hz. Device changes
    /// are reported on `events`.
    pub fn open(
        choice: DeviceChoice,
        rate: u32,
        events: Option<mpsc::Sender<DeviceEvent>>,
    ) -> Result<Self, RouteError> {
        Self::open_with(choice, rate, events, RESCAN_INTERVAL)
    }

    /// [`DeviceInput::open`] with a chosen re-scan interval.
    pub fn open_with(
        choice: DeviceChoice,
        rate: u32,
        events: Option<mpsc::Sender<DeviceEvent>>,
        rescan: Duration,
    ) -> Result<Self, RouteError> {
        let io = Endpoint::open(
            Role::Microphone,
            choice,
            rate,
            events,
            rescan,
            1024,
            "microphone",
        )?;
        Ok(Self { io })
    }

    /// The device in use now.
    pub fn device(&self) -> &str {
        &self.io.device
    }

    /// Stream counters (overruns: the caller read too slowly).
    pub fn counters(&self) -> CounterSnapshot {
        self.io.counters.snapshot()
    }

    /// The input level of the last frame read, shared with the UI.
    pub fn levels(&self) -> Arc<Levels> {
        self.io.levels.clone()
    }

    /// Drops everything captured so far, so that the next frame is fresh (call this when a
    /// call starts, so that the far end does not hear what was said before).
    pub fn discard(&mut self) -> Result<(), FrameError> {
        self.io.take_handoff()?;
        if let Some(c) = self.io.ring.as_mut() {
            let n = c.slots();
            if let Ok(chunk) = c.read_chunk(n) {
                chunk.commit_all();
            }
        }
        self.io.resampler.reset();
        Ok(())
    }
}

impl FrameSource for DeviceInput {
    fn rate(&self) -> u32 {
        self.io.rate
    }

    fn read_frame(&mut self, frame: &mut [f32]) -> Result<FrameStatus, FrameError> {
        let io = &mut self.io;
        check_len(io.rate, frame.len())?;
        io.take_handoff()?;
        while io.resampler.available() < frame.len() {
            let Some(c) = io.ring.as_mut() else {
                break;
            };
            let n = c.slots().min(io.scratch.len());
            if n == 0 {
                break;
            }
            if let Ok(chunk) = c.read_chunk(n) {
                let (a, b) = chunk.as_slices();
                io.scratch[..a.len()].copy_from_slice(a);
                io.scratch[a.len()..n].copy_from_slice(b);
                chunk.commit_all();
            }
            io.resampler.push(&io.scratch[..n])?;
        }
        if io.resampler.pop(frame) {
            io.levels.update(frame);
            Ok(FrameStatus::Ready)
        } else {
            Ok(FrameStatus::Pending)
        }
    }
}

/// Samples moved from the output resampler to the ring at a time.
const OUTPUT_SCRATCH: usize = 2048;

/// A speaker (or ring device) as a [`FrameSink`]: frames at the call's rate, resampled to the
/// device and queued for its callback, following device changes.
pub struct DeviceOutput {
    role: Role,
    io: Endpoint<Producer<f32>>,
}

impl std::fmt::Debug for DeviceOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceOutput")
            .field("role", &self.role)
            .field("rate", &self.io.rate)
            .field("device", &self.io.device)
            .finish()
    }
}

impl DeviceOutput {
    /// Opens the chosen output (or the default) for `role`, for frames of `rate` Hz. Device
    /// changes are reported on `events`.
    pub fn open(
        role: Role,
        choice: DeviceChoice,
        rate: u32,
        events: Option<mpsc::Sender<DeviceEvent>>,
    ) -> Result<Self, RouteError> {
        Self::open_with(role, choice, rate, events, RESCAN_INTERVAL)
    }

    /// [`DeviceOutput::open`] with a chosen re-scan interval.
    pub fn open_with(
        role: Role,
        choice: DeviceChoice,
        rate: u32,
        events: Option<mpsc::Sender<DeviceEvent>>,
        rescan: Duration,
    ) -> Result<Self, RouteError> {
        let role = if role == Role::Microphone {
            Role::Speaker
        } else {
            role
        };
        let io = Endpoint::open(
            role,
            choice,
            rate,
            events,
            rescan,
            OUTPUT_SCRATCH,
            "speaker",
        )?;
        Ok(Self { role, io })
    }

    /// The device in use now.
    pub fn device(&self) -> &str {
        &self.io.device
    }

    /// Stream counters (underruns: the device wanted audio that had not been written).
    pub fn counters(&self) -> CounterSnapshot {
        self.io.counters.snapshot()
    }

    /// The output level of the last frame written, shared with the UI.
    pub fn levels(&self) -> Arc<Levels> {
        self.io.levels.clone()
    }

    /// Audio queued for the device and not yet played, in milliseconds. A writer keeps this
    /// around 40 ms: less risks underruns, more adds delay.
    pub fn queued_ms(&mut self) -> u32 {
        // A failed hand-off only means the rate is unknown for a moment; report what we have.
        let _ = self.io.take_handoff();
        let queued = self.io.ring.as_ref().map_or(0, |p| {
            let capacity = p.buffer().capacity();
            capacity - p.slots()
        }) + self.io.resampler.available();
        let device_rate = self.io.resampler.to_rate();
        (queued as u64 * 1000 / u64::from(device_rate.max(1))) as u32
    }
}

impl FrameSink for DeviceOutput {
    fn rate(&self) -> u32 {
        self.io.rate
    }

    fn write_frame(&mut self, frame: &[f32]) -> Result<(), FrameError> {
        let io = &mut self.io;
        check_len(io.rate, frame.len())?;
        io.take_handoff()?;
        io.levels.update(frame);
        io.resampler.push(frame)?;
        queue_for_device(
            &mut io.resampler,
            &mut io.scratch,
            &mut io.ring,
            &io.counters,
        );
        Ok(())
    }
}

/// Moves everything `resampler` has ready into the device's ring, through `scratch` a piece
/// at a time: one frame can make more samples than `scratch` holds (20 ms at 8 kHz is 3840
/// samples for a 192 kHz device), and what stayed behind in the resampler would pile up there,
/// out of the device's reach, frame after frame. What does not fit in the ring, or has no ring
/// to go to, is lost and counted as overrun.
fn queue_for_device(
    resampler: &mut Resampler,
    scratch: &mut [f32],
    producer: &mut Option<Producer<f32>>,
    counters: &StreamCounters,
) {
    loop {
        let n = resampler.available().min(scratch.len());
        if n == 0 || !resampler.pop(&mut scratch[..n]) {
            return;
        }
        match producer.as_mut() {
            Some(p) => {
                let room = p.slots().min(n);
                if room < n {
                    counters.overrun(n - room);
                }
                if let Ok(mut chunk) = p.write_chunk(room) {
                    let (a, b) = chunk.as_mut_slices();
                    let split = a.len();
                    a.copy_from_slice(&scratch[..split]);
                    b.copy_from_slice(&scratch[split..room]);
                    chunk.commit_all();
                }
            }
            // No device at the moment: the audio is lost, as it would be on a dead speaker.
            None => counters.overrun(n),
        }
    }
}

/// What [`play_and_record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlayRecordStats {
    /// Frames taken from the source (until it ended).
    pub frames_played: u64,
    /// Frames written to the sink.
    pub frames_recorded: u64,
}

/// Plays `source` on `output` while recording `input` into `sink`, for `duration` (scripted
/// use: `--play FILE.wav --record FILE.wav`). Pass [`crate::Silence`] or [`crate::Discard`]
/// for a side that is not wanted. After the source ends, silence is played. The output queue
/// is kept at about 40 ms. The sink is not finished here.
pub fn play_and_record(
    source: &mut dyn FrameSource,
    output: &mut DeviceOutput,
    input: &mut DeviceInput,
    sink: &mut dyn FrameSink,
    duration: Duration,
) -> Result<PlayRecordStats, FrameError> {
    let mut out_frame = vec![0.0; crate::resample::frame_len(output.rate())];
    let mut src_frame = vec![0.0; crate::resample::frame_len(source.rate())];
    check_len(output.rate(), src_frame.len())?;
    let mut in_frame = vec![0.0; crate::resample::frame_len(input.rate())];
    check_len(sink.rate(), in_frame.len())?;
    let mut stats = PlayRecordStats::default();
    let mut ended = false;
    input.discard()?;
    let start = Instant::now();
    while start.elapsed() < duration {
        while output.queued_ms() < 40 {
            out_frame.fill(0.0);
            if !ended {
                match source.read_frame(&mut src_frame)? {
                    FrameStatus::Ready => {
                        out_frame.copy_from_slice(&src_frame);
                        stats.frames_played += 1;
                    }
                    FrameStatus::Ended => ended = true,
                    // A live source that is behind: play silence rather than stall the device.
                    FrameStatus::Pending => {}
                }
            }
            output.write_frame(&out_frame)?;
        }
        while input.read_frame(&mut in_frame)? == FrameStatus::Ready {
            sink.write_frame(&in_frame)?;
            stats.frames_recorded += 1;
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::ring;

    #[test]
    fn a_frame_for_a_fast_device_reaches_the_ring_whole() {
        // 8 kHz frames for a 192 kHz device: 3840 samples a frame, more than the scratch.
        let mut resampler = Resampler::new(8000, 192_000).unwrap();
        let (producer, consumer) = ring(96_000);
        let mut producer = Some(producer);
        let counters = StreamCounters::default();
        let mut scratch = vec![0.0; OUTPUT_SCRATCH];
        for _ in 0..10 {
            resampler.push(&[0.1; 160]).unwrap();
            queue_for_device(&mut resampler, &mut scratch, &mut producer, &counters);
            assert_eq!(resampler.available(), 0);
        }
        assert_eq!(consumer.slots(), 38_400);
        assert_eq!(counters.snapshot().overrun_samples, 0);
        // Without a device the audio is dropped and counted, not kept.
        let mut none = None;
        resampler.push(&[0.1; 160]).unwrap();
        queue_for_device(&mut resampler, &mut scratch, &mut none, &counters);
        assert_eq!(resampler.available(), 0);
        assert_eq!(counters.snapshot().overrun_samples, 3840);
    }
}
