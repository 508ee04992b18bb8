//! The call manager: every call of every line, with its media.
//!
//! One tokio task (an actor) owns the calls. It hears the signalling of the accounts' drivers
//! ([`SipRuntime::subscribe_calls`]) and of direct-call endpoints ([`DirectCalls`]), turns the
//! application's wishes ([`Calls`]) into [`CallCommand`]s, makes the SDP (offer/answer with
//! `homeline-media`) and runs one [`MediaStream`] per call. Everything the UI needs goes out
//! as a [`CallView`] on every change.
//!
//! ```text
//!  Calls (handle) ──requests──►  actor  ◄── AccountCall (drivers)  ◄── CallEvent (direct lines)
//!                                  │  ──CallCommand──► driver / direct line (SIP)
//!                                  │  ──start/renegotiate/stop──► MediaStream (RTP + audio)
//!                                  └──► CallView (broadcast + the list of live calls)
//! ```
//!
//! Lines: an account (its registration flow carries the calls), a direct endpoint made for
//! one outgoing call (no server: `sip:bob@192.0.2.7`), a listening endpoint
//! ([`Calls::listen`], as `homeline answer --listen`), and the echo line: a hidden endpoint on
//! loopback that answers every call and plays the caller's voice back a second later,
//! through the same SIP and RTP path as any call.

pub mod gather;
pub mod ringer;
pub mod view;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use homeline_media::sdp::{
    Direction, LocalMedia, SessionDescription, SrtpPolicy, answer_offer, build_offer,
    process_answer,
};
use homeline_sip::auth::Credentials;
use homeline_sip::call::{CallEvent, CallHandle, EndCause};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::api::UiError;
use crate::media::{
    AudioPlan, LevelReading, MediaEvent, MediaSocket, MediaStats, MediaStream, local_media,
};
use crate::sip::commands::{CallCommand, SignallingAddress};
use crate::sip::direct::{DirectCalls, DirectSetup, direct_peer, local_ip_towards};
use crate::sip::{SipRuntime, TokioClock};
pub use view::{CallDirection, CallOutcome, CallStatus, CallView, split_name_addr, unix_ms};

/// How long the echo line waits before playing your voice back.
pub const ECHO_DELAY: Duration = Duration::from_secs(1);

/// Settings of the call manager.
#[derive(Debug, Clone)]
pub struct CallsConfig {
    /// Audio of calls that do not say otherwise (the app: the devices from Settings).
    pub default_audio: AudioPlan,
    /// SDES-SRTP: offered by default; `Required` refuses plain RTP.
    pub srtp: SrtpPolicy,
    /// Ring incoming calls on this ring device (`None`: silent, as the CLI).
    pub ring: Option<homeline_audio::AudioRoutes>,
    /// End a call that receives no audio for this long (`None`: never).
    pub rtp_timeout: Option<Duration>,
    /// STUN/TURN settings for gathering at dial and answer ([`gather`]).
    pub nat: gather::NatSettings,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            default_audio: AudioPlan::Silence,
            srtp: SrtpPolicy::Optional,
            ring: None,
            rtp_timeout: Some(Duration::from_secs(60)),
            nat: gather::NatSettings::default(),
        }
    }
}

/// Which way a call goes out.
#[derive(Debug, Clone)]
pub enum Route {
    /// Through a registered account's flow.
    Account(String),
    /// Straight to the URI's host (no server), optionally as an account (its address as
    /// From, its credentials for a peer that challenges).
    Direct {
        /// The account this direct call is made from, if any.
        account_id: Option<String>,
        /// Our address of record.
        aor: Option<String>,
        /// Credentials for a challenge.
        credentials: Option<Credentials>,
    },
    /// The built-in echo line.
    Echo,
}

/// A call to place.
#[derive(Debug, Clone)]
pub struct DialRequest {
    /// The Request-URI (`sip:bob@example.com`).
    pub uri: String,
    /// Which way it goes.
    pub route: Route,
    /// Audio of this call (`None`: [`CallsConfig::default_audio`]).
    pub audio: Option<AudioPlan>,
    /// Media encryption of this call (`None`: the line's, else [`CallsConfig::srtp`]).
    pub srtp: Option<SrtpPolicy>,
}

/// Called with the final view of every call that ended (the call history).
pub type EndedHook = Arc<dyn Fn(&CallView) + Send + Sync>;

type Reply<T> = oneshot::Sender<Result<T, UiError>>;

enum Request {
    Dial(DialRequest, Reply<CallView>),
    Echo(Option<AudioPlan>, Reply<CallView>),
    Redial(Reply<CallView>),
    Listen(SocketAddr, Option<AudioPlan>, Reply<SocketAddr>),
    AutoAnswer(Option<AudioPlan>),
    Answer(String, Reply<()>),
    Reject(String, Reply<()>),
    Hangup(String, Reply<()>),
    Hold(String, bool, Reply<()>),
    Mute(String, bool, Reply<()>),
    Dtmf(String, String, Reply<()>),
    Transfer(String, String, Reply<()>),
    Levels(
        String,
        oneshot::Sender<Option<watch::Receiver<LevelReading>>>,
    ),
    Audio(AudioPlan, Option<homeline_audio::AudioRoutes>),
    AccountSrtp(String, Option<SrtpPolicy>),
    Nat(Box<gather::NatSettings>),
}

enum Internal {
    Line(u64, CallEvent),
    Media(String, MediaEvent),
    MediaStarted(String, Result<MediaStream, UiError>),
    MediaStopped(String, MediaStats),
}

/// The application's handle on calls (cheap to clone).
#[derive(Clone)]
pub struct Calls {
    requests: mpsc::UnboundedSender<Request>,
    views: Arc<Mutex<BTreeMap<u64, CallView>>>,
    updates: broadcast::Sender<CallView>,
}

impl std::fmt::Debug for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls")
            .field("live", &self.list().len())
            .finish_non_exhaustive()
    }
}

fn stopped() -> UiError {
    UiError::new(
        "calls_stopped",
        "The call engine has stopped.",
        "Restart Homeline; if this repeats, report it with the log.",
    )
}

/// A request that does not fit where the call stands (answer a call that is not ringing …).
fn invalid_state(message: &str, hint: &str) -> UiError {
    UiError::new("invalid_call_state", message, hint)
}

fn no_call(id: &str) -> UiError {
    UiError::new(
        "no_such_call",
        format!("There is no call {id} (it may have ended)."),
        "Refresh the call list.",
    )
}

impl Calls {
    /// Starts the manager on the current tokio runtime, listening to `runtime`'s accounts.
    /// Must run inside a tokio runtime.
    pub fn start(
        runtime: Arc<SipRuntime>,
        config: CallsConfig,
        on_ended: Option<EndedHook>,
    ) -> Self {
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let (int_tx, int_rx) = mpsc::unbounded_channel();
        let views = Arc::new(Mutex::new(BTreeMap::new()));
        let updates = broadcast::channel(1024).0;
        // Subscribing now makes the drivers ring incoming calls instead of answering 486.
        let account_calls = runtime.subscribe_calls();
        let actor = Actor {
            runtime,
            config,
            on_ended,
            calls: HashMap::new(),
            index: HashMap::new(),
            lines: HashMap::new(),
            next_call: 1,
            next_line: 1,
            internal: int_tx,
            views: views.clone(),
            updates: updates.clone(),
            auto_answer: None,
            echo: None,
            ringer: None,
            account_srtp: HashMap::new(),
            last_dial: None,
            seed_run: crate::sip::seed_for("call-ids"),
            seed: crate::sip::seed_for("calls"),
        };
        tokio::spawn(actor.run(req_rx, int_rx, account_calls));
        Self {
            requests: req_tx,
            views,
            updates,
        }
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, UiError> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(make(tx)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Places a call.
    pub async fn dial(&self, request: DialRequest) -> Result<CallView, UiError> {
        self.ask(|r| Request::Dial(request, r)).await
    }

    /// Calls the built-in echo line (no account needed).
    pub async fn echo_test(&self, audio: Option<AudioPlan>) -> Result<CallView, UiError> {
        self.ask(|r| Request::Echo(audio, r)).await
    }

    /// Calls again what was last called in this run (the headset's Redial button): the same
    /// address, the same way, with the same audio. `nothing_to_redial` before any call.
    pub async fn redial(&self) -> Result<CallView, UiError> {
        self.ask(Request::Redial).await
    }

    /// Takes calls on `addr` with no account (`homeline answer --listen`); with
    /// `auto_answer`, each is answered at once with that audio. Returns the bound address.
    pub async fn listen(
        &self,
        addr: SocketAddr,
        auto_answer: Option<AudioPlan>,
    ) -> Result<SocketAddr, UiError> {
        self.ask(|r| Request::Listen(addr, auto_answer, r)).await
    }

    /// The audio of calls from now on (Settings → Audio changed) and the ring device.
    pub fn set_audio(&self, default: AudioPlan, ring: Option<homeline_audio::AudioRoutes>) {
        let _ = self.requests.send(Request::Audio(default, ring));
    }

    /// The media encryption of an account's calls when the account sets one (`None`: the
    /// manager's default, [`CallsConfig::srtp`]).
    pub fn set_account_srtp(&self, account_id: &str, policy: Option<SrtpPolicy>) {
        let _ = self
            .requests
            .send(Request::AccountSrtp(account_id.to_owned(), policy));
    }

    /// New STUN/TURN settings (the configuration changed): calls placed or answered from now
    /// on gather with them.
    pub fn set_nat(&self, nat: gather::NatSettings) {
        let _ = self.requests.send(Request::Nat(Box::new(nat)));
    }

    /// Answers every incoming call of the accounts at once with this audio (`None`: ring
    /// and wait for [`Calls::answer`]).
    pub fn set_auto_answer(&self, audio: Option<AudioPlan>) {
        let _ = self.requests.send(Request::AutoAnswer(audio));
    }

    /// Answers an incoming call (other calls go on hold).
    pub async fn answer(&self, id: &str) -> Result<(), UiError> {
        self.ask(|r| Request::Answer(id.to_owned(), r)).await
    }

    /// Refuses an incoming call (603 Decline; 486 Busy Here for a waiting call).
    pub async fn reject(&self, id: &str) -> Result<(), UiError> {
        self.ask(|r| Request::Reject(id.to_owned(), r)).await
    }

    /// Hangs up (cancel, decline or BYE).
    pub async fn hangup(&self, id: &str) -> Result<(), UiError> {
        self.ask(|r| Request::Hangup(id.to_owned(), r)).await
    }

    /// Puts a call on hold or takes it off.
    pub async fn hold(&self, id: &str, on: bool) -> Result<(), UiError> {
        self.ask(|r| Request::Hold(id.to_owned(), on, r)).await
    }

    /// Mutes or unmutes our microphone in a call.
    pub async fn mute(&self, id: &str, on: bool) -> Result<(), UiError> {
        self.ask(|r| Request::Mute(id.to_owned(), on, r)).await
    }

    /// Sends DTMF digits (RFC 4733 in RTP, or SIP INFO when the peer has no telephone-event).
    pub async fn send_dtmf(&self, id: &str, digits: &str) -> Result<(), UiError> {
        self.ask(|r| Request::Dtmf(id.to_owned(), digits.to_owned(), r))
            .await
    }

    /// Blind transfer: asks the other side to call `target` (REFER); the call ends when the
    /// transfer succeeds.
    pub async fn transfer(&self, id: &str, target: &str) -> Result<(), UiError> {
        self.ask(|r| Request::Transfer(id.to_owned(), target.to_owned(), r))
            .await
    }

    /// The levels of a call's audio, while it has media.
    pub async fn levels(&self, id: &str) -> Option<watch::Receiver<LevelReading>> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::Levels(id.to_owned(), tx))
            .ok()?;
        rx.await.ok().flatten()
    }

    /// The calls not yet ended, oldest first.
    pub fn list(&self) -> Vec<CallView> {
        self.views
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Every change of every call from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CallView> {
        self.updates.subscribe()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LineKey {
    Account(String),
    Direct(u64),
}

struct DirectLine {
    calls: DirectCalls,
    /// Calls of this line are not shown (the echo line's answering side).
    hidden: bool,
    auto_answer: Option<AudioPlan>,
    account_id: Option<String>,
    /// Made for one outgoing call: dropped when it ends.
    one_call: bool,
}

/// What a call's media is doing.
enum MediaState {
    /// Nothing yet.
    None,
    /// Being opened (audio devices take a moment).
    Starting,
    Running(MediaStream),
    Stopping,
}

struct Entry {
    key: u64,
    view: CallView,
    line: LineKey,
    handle: CallHandle,
    hidden: bool,
    audio: AudioPlan,
    socket: Option<MediaSocket>,
    local: Option<LocalMedia>,
    /// Our offer waiting for its answer (INVITE, offer-less answer, re-INVITE).
    offer_sent: Option<SessionDescription>,
    /// The INVITE's offer, until we answer.
    their_offer: Option<Vec<u8>>,
    media: MediaState,
    /// A hold or resume in progress.
    hold_pending: Option<bool>,
    /// Media encryption policy of this call.
    srtp: SrtpPolicy,
    /// Already offered again with `RTP/SAVP` after a 488 (see [`Actor::retry_encrypted`]).
    srtp_retried: bool,
    /// This call was placed for the peer's REFER of that call (we are the transferee).
    transfer_of: Option<String>,
    /// Our own REFER of this call is in progress (we transfer it away).
    transferring: bool,
    /// When the call began here (dial, or the INVITE's arrival): `setup_ms` and `media_ms`
    /// count from it.
    t0: std::time::Instant,
}

struct Actor {
    runtime: Arc<SipRuntime>,
    config: CallsConfig,
    on_ended: Option<EndedHook>,
    calls: HashMap<String, Entry>,
    index: HashMap<(LineKey, CallHandle), String>,
    lines: HashMap<u64, DirectLine>,
    next_call: u64,
    next_line: u64,
    internal: mpsc::UnboundedSender<Internal>,
    views: Arc<Mutex<BTreeMap<u64, CallView>>>,
    updates: broadcast::Sender<CallView>,
    auto_answer: Option<AudioPlan>,
    /// The echo line's listening address.
    echo: Option<SocketAddr>,
    /// Rings while a visible call is ringing here.
    ringer: Option<ringer::Ringer>,
    /// Media encryption per account.
    account_srtp: HashMap<String, SrtpPolicy>,
    /// What was last called, for [`Calls::redial`].
    last_dial: Option<LastDial>,
    /// Different on every run: part of the call ids.
    seed_run: u64,
    seed: u64,
}

/// The last outgoing call, as it was asked for.
#[derive(Debug, Clone)]
enum LastDial {
    Dial(DialRequest),
    Echo(Option<AudioPlan>),
}

impl Actor {
    async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Request>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
        mut account_calls: broadcast::Receiver<crate::sip::AccountCall>,
    ) {
        let mut stats_tick = tokio::time::interval(Duration::from_secs(1));
        stats_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                r = requests.recv() => match r {
                    Some(r) => self.on_request(r).await,
                    None => break,
                },
                Some(i) = internal.recv() => self.on_internal(i).await,
                ev = account_calls.recv() => match ev {
                    Ok(c) => self.on_call_event(LineKey::Account(c.account_id), c.event).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "call events were lost (overloaded)");
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        // No accounts any more; direct lines go on.
                        account_calls = broadcast::channel(1).1;
                    }
                },
                _ = stats_tick.tick() => self.refresh_stats(),
            }
            self.update_ringer();
        }
        // The application is gone: end what is left politely.
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            let _ = self.command(&id, CallCommand::Hangup);
        }
    }

    // ---- requests -------------------------------------------------------------------------

    async fn on_request(&mut self, r: Request) {
        match r {
            Request::Dial(req, reply) => {
                self.hold_others(None);
                self.last_dial = Some(LastDial::Dial(req.clone()));
                let r = self.dial(req, false).await;
                let _ = reply.send(r);
            }
            Request::Echo(audio, reply) => {
                self.last_dial = Some(LastDial::Echo(audio.clone()));
                let r = self.echo_call(audio).await;
                let _ = reply.send(r);
            }
            Request::Redial(reply) => {
                let r = match self.last_dial.clone() {
                    Some(LastDial::Dial(req)) => {
                        self.hold_others(None);
                        self.dial(req, false).await
                    }
                    Some(LastDial::Echo(audio)) => self.echo_call(audio).await,
                    None => Err(UiError::new(
                        "nothing_to_redial",
                        "Nothing was called yet, so there is nothing to call again.",
                        "Dial the number once; Redial calls it again.",
                    )),
                };
                let _ = reply.send(r);
            }
            Request::Listen(addr, auto, reply) => {
                let r = self
                    .open_line(DirectSetup::anonymous(addr), false, auto, None, false)
                    .await
                    .map(|(_, a)| a);
                let _ = reply.send(r);
            }
            Request::AutoAnswer(a) => self.auto_answer = a,
            Request::Nat(n) => self.config.nat = *n,
            Request::AccountSrtp(id, policy) => match policy {
                Some(p) => {
                    self.account_srtp.insert(id, p);
                }
                None => {
                    self.account_srtp.remove(&id);
                }
            },
            Request::Audio(plan, ring) => {
                self.config.default_audio = plan;
                self.config.ring = ring;
            }
            Request::Answer(id, reply) => {
                let r = self.answer(&id).await;
                let _ = reply.send(r);
            }
            Request::Reject(id, reply) => {
                let r = match self.calls.get(&id) {
                    Some(e) if e.view.state == CallStatus::Incoming => {
                        let code = if e.view.waiting { 486 } else { 603 };
                        self.command(&id, |h| CallCommand::Reject(h, code))
                    }
                    Some(_) => Err(invalid_state(
                        "Only a ringing incoming call can be rejected.",
                        "Hang up instead.",
                    )),
                    None => Err(no_call(&id)),
                };
                let _ = reply.send(r);
            }
            Request::Hangup(id, reply) => {
                let r = self.command(&id, CallCommand::Hangup);
                if r.is_ok()
                    && let Some(e) = self.calls.get_mut(&id)
                    && !matches!(e.view.state, CallStatus::Ended)
                {
                    e.view.state = CallStatus::Ending;
                    self.publish(&id);
                }
                let _ = reply.send(r);
            }
            Request::Hold(id, on, reply) => {
                let r = self.hold(&id, on);
                let _ = reply.send(r);
            }
            Request::Mute(id, on, reply) => {
                let r = match self.calls.get_mut(&id) {
                    Some(e) => {
                        e.view.muted = on;
                        if let MediaState::Running(m) = &e.media {
                            m.set_muted(on || e.view.on_hold);
                        }
                        self.publish(&id);
                        Ok(())
                    }
                    None => Err(no_call(&id)),
                };
                let _ = reply.send(r);
            }
            Request::Dtmf(id, digits, reply) => {
                let r = self.dtmf(&id, &digits).await;
                let _ = reply.send(r);
            }
            Request::Transfer(id, target, reply) => {
                let r = match self.calls.get_mut(&id) {
                    Some(e) if e.view.state == CallStatus::Active => {
                        e.transferring = true;
                        let target = target.trim().to_owned();
                        self.command(&id, |h| CallCommand::Transfer(h, target))
                    }
                    Some(_) => Err(invalid_state(
                        "Only a connected call can be transferred.",
                        "Wait until the call is answered.",
                    )),
                    None => Err(no_call(&id)),
                };
                let _ = reply.send(r);
            }
            Request::Levels(id, reply) => {
                let l = self.calls.get(&id).and_then(|e| match &e.media {
                    MediaState::Running(m) => Some(m.watch_levels()),
                    _ => None,
                });
                let _ = reply.send(l);
            }
        }
    }

    fn new_id(&mut self) -> (u64, String) {
        let k = self.next_call;
        self.next_call += 1;
        // Unique across runs too: the history keeps ids from earlier runs.
        (k, format!("call-{:06x}-{k}", self.seed_run & 0xff_ffff))
    }

    async fn open_line(
        &mut self,
        setup: DirectSetup,
        hidden: bool,
        auto_answer: Option<AudioPlan>,
        account_id: Option<String>,
        one_call: bool,
    ) -> Result<(u64, SocketAddr), UiError> {
        let (calls, mut events) = DirectCalls::start(setup, Arc::new(TokioClock)).await?;
        let addr = calls.local_addr();
        let key = self.next_line;
        self.next_line += 1;
        let tx = self.internal.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(ev) => {
                        if tx.send(Internal::Line(key, ev)).is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "direct-call events were lost");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        self.lines.insert(
            key,
            DirectLine {
                calls,
                hidden,
                auto_answer,
                account_id,
                one_call,
            },
        );
        Ok((key, addr))
    }

    async fn echo_call(&mut self, audio: Option<AudioPlan>) -> Result<CallView, UiError> {
        let echo = match self.echo {
            Some(a) => a,
            None => {
                let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
                let (_, addr) = self
                    .open_line(
                        DirectSetup::anonymous(bind),
                        true,
                        Some(AudioPlan::Echo { delay: ECHO_DELAY }),
                        None,
                        false,
                    )
                    .await?;
                self.echo = Some(addr);
                addr
            }
        };
        let uri = format!("sip:echo@{echo}");
        let mut view = self
            .dial(
                DialRequest {
                    uri,
                    route: Route::Echo,
                    audio,
                    srtp: None,
                },
                true,
            )
            .await?;
        view.remote_name = Some("Echo test".into());
        if let Some(e) = self.calls.get_mut(&view.id) {
            e.view.remote_name = view.remote_name.clone();
            let id = view.id.clone();
            self.publish(&id);
        }
        Ok(view)
    }

    async fn signalling_address(&self, line: &LineKey) -> Result<SignallingAddress, UiError> {
        match line {
            LineKey::Account(id) => {
                let (tx, rx) = oneshot::channel();
                if !self.runtime.call_command(id, CallCommand::Address(tx)) {
                    return Err(not_registered());
                }
                tokio::time::timeout(Duration::from_secs(5), rx)
                    .await
                    .map_err(|_| not_registered())?
                    .map_err(|_| not_registered())
            }
            LineKey::Direct(k) => {
                let l = self.lines.get(k).ok_or_else(stopped)?;
                Ok(SignallingAddress {
                    local: l.calls.local_addr().ip(),
                    public: None,
                })
            }
        }
    }

    async fn dial(&mut self, req: DialRequest, echo: bool) -> Result<CallView, UiError> {
        let uri = req.uri.trim().to_owned();
        let (line, account_id) = match &req.route {
            Route::Account(id) => (LineKey::Account(id.clone()), Some(id.clone())),
            Route::Direct {
                account_id,
                aor,
                credentials,
            } => {
                let peer = direct_peer(&uri).await?;
                let bind = SocketAddr::new(local_ip_towards(peer), 0);
                let mut setup = DirectSetup::anonymous(bind);
                if let Some(a) = aor {
                    setup.aor = a.clone();
                }
                setup.credentials = credentials.clone();
                let (k, _) = self
                    .open_line(setup, false, None, account_id.clone(), true)
                    .await?;
                (LineKey::Direct(k), account_id.clone())
            }
            Route::Echo => {
                let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
                let (k, _) = self
                    .open_line(DirectSetup::anonymous(bind), false, None, None, true)
                    .await?;
                (LineKey::Direct(k), None)
            }
        };
        let policy = req
            .srtp
            .or_else(|| {
                account_id
                    .as_ref()
                    .and_then(|a| self.account_srtp.get(a).copied())
            })
            .unwrap_or(self.config.srtp);
        let result = self
            .dial_on(&line, &uri, req.audio, account_id, echo, policy)
            .await;
        if result.is_err()
            && let LineKey::Direct(k) = line
        {
            self.lines.remove(&k);
        }
        result
    }

    async fn dial_on(
        &mut self,
        line: &LineKey,
        uri: &str,
        audio: Option<AudioPlan>,
        account_id: Option<String>,
        echo: bool,
        policy: SrtpPolicy,
    ) -> Result<CallView, UiError> {
        let t0 = std::time::Instant::now();
        let (socket, local, route) = self
            .prepare_media(line, policy, account_id.as_deref(), !echo)
            .await?;
        let offer = build_offer(&local);
        let (tx, rx) = oneshot::channel();
        let cmd = CallCommand::Dial {
            uri: uri.to_owned(),
            offer: offer.to_string().into_bytes(),
            next_hop: match line {
                LineKey::Direct(_) => Some(direct_peer(uri).await?),
                LineKey::Account(_) => None,
            },
            reply: tx,
        };
        self.send_to_line(line, cmd)?;
        let handle = rx.await.map_err(|_| stopped())??;
        let (key, id) = self.new_id();
        let view = CallView {
            id: id.clone(),
            account_id,
            direction: CallDirection::Outgoing,
            remote: if echo { "echo".into() } else { uri.to_owned() },
            remote_name: None,
            state: CallStatus::Dialing,
            waiting: false,
            muted: false,
            on_hold: false,
            remote_hold: false,
            started_at: unix_ms(),
            answered_at: None,
            ended_at: None,
            outcome: None,
            end_cause: None,
            end_reason: None,
            media_problem: None,
            stats: None,
            media_route: Some(route.route.name().to_owned()),
            media_route_text: Some(route.sentence()),
            media_route_reason: route.reason_code(),
            relay: route.relay.as_ref().map(|u| u.original.clone()),
            ice: false,
            setup_ms: None,
            media_ms: None,
        };
        tracing::info!(call = %id, %uri, "calling");
        self.index.insert((line.clone(), handle), id.clone());
        self.calls.insert(
            id.clone(),
            Entry {
                key,
                view: view.clone(),
                line: line.clone(),
                handle,
                hidden: false,
                audio: audio.unwrap_or_else(|| self.config.default_audio.clone()),
                socket: Some(socket),
                local: Some(local),
                offer_sent: Some(offer),
                their_offer: None,
                media: MediaState::None,
                hold_pending: None,
                srtp: policy,
                srtp_retried: false,
                transfer_of: None,
                transferring: false,
                t0,
            },
        );
        self.publish(&id);
        Ok(view)
    }

    /// A call's RTP port and our side of its SDP: on the address the line's signalling uses
    /// (the registrar-learned public one behind a NAT), with a fresh session id and SRTP key
    /// — or on a TURN relay's address when gathering (`nat`: the line has relays) finds that
    /// the network needs one ([`gather`]).
    async fn prepare_media(
        &mut self,
        line: &LineKey,
        policy: SrtpPolicy,
        account: Option<&str>,
        nat: bool,
    ) -> Result<(MediaSocket, LocalMedia, gather::Decision), UiError> {
        let addr = self.signalling_address(line).await?;
        let mut socket = MediaSocket::bind(addr.local).await?;
        let decision = if nat && !addr.local.is_loopback() {
            gather::gather(&mut socket, self.config.nat.plan(account)).await
        } else {
            gather::Decision::plain()
        };
        let (sdp_ip, port) = match decision.sdp_addr {
            Some(a) => (a.ip(), a.port()),
            None => (addr.public.unwrap_or(addr.local), socket.port()),
        };
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let local = local_media(sdp_ip, port, self.seed >> 2, policy);
        Ok((socket, local, decision))
    }

    fn send_to_line(&self, line: &LineKey, cmd: CallCommand) -> Result<(), UiError> {
        match line {
            LineKey::Account(id) => {
                if self.runtime.call_command(id, cmd) {
                    Ok(())
                } else {
                    Err(not_registered())
                }
            }
            LineKey::Direct(k) => self.lines.get(k).ok_or_else(stopped)?.calls.command(cmd),
        }
    }

    fn command(
        &self,
        id: &str,
        make: impl FnOnce(CallHandle) -> CallCommand,
    ) -> Result<(), UiError> {
        let e = self.calls.get(id).ok_or_else(|| no_call(id))?;
        self.send_to_line(&e.line, make(e.handle))
    }

    async fn answer(&mut self, id: &str) -> Result<(), UiError> {
        let (line, state) = match self.calls.get(id) {
            Some(e) => (e.line.clone(), e.view.state),
            None => return Err(no_call(id)),
        };
        if state != CallStatus::Incoming {
            return Err(invalid_state(
                "This call is not ringing.",
                "Only an incoming call can be answered.",
            ));
        }
        // Answer-and-hold: the calls going on wait while we talk to the new one.
        self.hold_others(Some(id));
        let (policy, account, hidden) = self
            .calls
            .get(id)
            .map_or((self.config.srtp, None, true), |e| {
                (e.srtp, e.view.account_id.clone(), e.hidden)
            });
        let (socket, local, route) = self
            .prepare_media(&line, policy, account.as_deref(), !hidden)
            .await?;
        let Some(e) = self.calls.get_mut(id) else {
            return Err(no_call(id));
        };
        e.view.media_route = Some(route.route.name().to_owned());
        e.view.media_route_text = Some(route.sentence());
        e.view.media_route_reason = route.reason_code();
        e.view.relay = route.relay.as_ref().map(|u| u.original.clone());
        let their = e.their_offer.take();
        let (sdp, negotiated) = match their {
            Some(bytes) => {
                let parsed = SessionDescription::parse_bytes(&bytes)
                    .map_err(|x| x.to_string())
                    .and_then(|o| answer_offer(&local, &o).map_err(|x| x.to_string()));
                match parsed {
                    Ok((answer, n)) => (answer.to_string().into_bytes(), Some(n)),
                    Err(why) => {
                        tracing::info!(call = %id, error = %why, "cannot answer the SDP offer");
                        e.view.end_reason = Some(UiError::new(
                            "incompatible_media",
                            format!("The caller's audio offer cannot be used: {why}."),
                            "The caller offers no codec or encryption Homeline supports.",
                        ));
                        let h = e.handle;
                        self.send_to_line(&line, CallCommand::Reject(h, 488))?;
                        return Err(end_reason_of(self.calls.get(id)));
                    }
                }
            }
            None => {
                // §13.2.1: the INVITE had no offer; ours goes in the 200, the answer in the ACK.
                let offer = build_offer(&local);
                e.offer_sent = Some(offer.clone());
                (offer.to_string().into_bytes(), None)
            }
        };
        e.local = Some(local);
        e.socket = Some(socket);
        e.view.state = CallStatus::Connecting;
        e.view.answered_at = Some(unix_ms());
        e.view.setup_ms = Some(ms_since(e.t0));
        let h = e.handle;
        self.send_to_line(&line, CallCommand::Answer(h, sdp))?;
        if let Some(n) = negotiated {
            self.start_media(id, n);
        }
        self.publish(id);
        Ok(())
    }

    /// Puts every connected call but `except` on hold (a new call or an answered waiting call
    /// takes the headset; nobody is left listening to it unknowingly).
    fn hold_others(&mut self, except: Option<&str>) {
        let others: Vec<String> = self
            .calls
            .iter()
            .filter(|(k, e)| {
                Some(k.as_str()) != except
                    && !e.hidden
                    && e.view.state == CallStatus::Active
                    && !e.view.on_hold
            })
            .map(|(k, _)| k.clone())
            .collect();
        for o in others {
            if let Err(e) = self.hold(&o, true) {
                tracing::debug!(call = %o, error = %e.message, "could not put on hold");
            }
        }
    }

    fn hold(&mut self, id: &str, on: bool) -> Result<(), UiError> {
        let e = self.calls.get_mut(id).ok_or_else(|| no_call(id))?;
        if e.view.state != CallStatus::Active {
            return Err(invalid_state(
                "Only a connected call can be put on hold.",
                "Wait until the call is answered.",
            ));
        }
        if e.view.on_hold == on {
            return Ok(());
        }
        let Some(local) = e.local.as_mut() else {
            return Err(stopped());
        };
        // RFC 3264 §8.4: `sendonly` puts the peer on hold; we send silence meanwhile (no
        // music on hold), so nothing said here reaches the held party.
        local.direction = if on {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        local.session_version += 1;
        let offer = build_offer(local);
        e.offer_sent = Some(offer.clone());
        e.hold_pending = Some(on);
        let h = e.handle;
        let line = e.line.clone();
        self.send_to_line(
            &line,
            CallCommand::Update(h, offer.to_string().into_bytes()),
        )
    }

    /// The call moved to a new flow (the signalling reconnected): offer the same session
    /// again, its version + 1 (RFC 3264 §8), through the hold path's re-INVITE, whose new
    /// Contact tells the peer where to reach us (RFC 3261 §12.2.1.2). Media do not change.
    fn refresh_target(&mut self, id: &str) -> Result<(), UiError> {
        let e = self.calls.get_mut(id).ok_or_else(|| no_call(id))?;
        if e.view.state != CallStatus::Active || e.hold_pending.is_some() {
            return Err(invalid_state(
                "The call is changing already.",
                "Nothing to do: the change under way carries the new address.",
            ));
        }
        let Some(local) = e.local.as_mut() else {
            return Err(stopped());
        };
        local.session_version += 1;
        let offer = build_offer(local);
        e.offer_sent = Some(offer.clone());
        let h = e.handle;
        let line = e.line.clone();
        tracing::info!(call = %id, "refreshing the call's address after a reconnect");
        self.send_to_line(
            &line,
            CallCommand::Update(h, offer.to_string().into_bytes()),
        )
    }

    /// The relay carrying the call came back on a new allocation at `to`: offer the session
    /// again with that address, its version + 1 (RFC 3264 §8), so that a peer that does not
    /// latch sends there. The media already go through the new allocation.
    fn readdress(&mut self, id: &str, to: SocketAddr) -> Result<(), UiError> {
        let e = self.calls.get_mut(id).ok_or_else(|| no_call(id))?;
        if e.view.state != CallStatus::Active || e.hold_pending.is_some() {
            return Err(invalid_state(
                "The call is changing already.",
                "The peer latches onto the new address if it can.",
            ));
        }
        let Some(local) = e.local.as_mut() else {
            return Err(stopped());
        };
        local.address = to.ip();
        local.port = to.port();
        local.session_version += 1;
        let offer = build_offer(local);
        e.offer_sent = Some(offer.clone());
        let h = e.handle;
        let line = e.line.clone();
        tracing::info!(call = %id, relayed = %to, "offering the relay's new address to the peer");
        self.send_to_line(
            &line,
            CallCommand::Update(h, offer.to_string().into_bytes()),
        )
    }

    async fn dtmf(&mut self, id: &str, digits: &str) -> Result<(), UiError> {
        let e = self.calls.get(id).ok_or_else(|| no_call(id))?;
        if e.view.state != CallStatus::Active {
            return Err(invalid_state(
                "Digits can only be sent in a connected call.",
                "Wait until the call is answered.",
            ));
        }
        let bad: Vec<char> = digits
            .chars()
            .filter(|c| !"0123456789*#ABCDabcd".contains(*c))
            .collect();
        if !bad.is_empty() || digits.is_empty() {
            return Err(UiError::new(
                "invalid_digits",
                format!("'{digits}' holds characters that are not DTMF digits."),
                "Use 0-9, *, # and A-D.",
            ));
        }
        for d in digits.chars().map(|c| c.to_ascii_uppercase()) {
            let in_rtp = match &self.calls.get(id).map(|e| &e.media) {
                Some(MediaState::Running(m)) => m.send_dtmf(d).await,
                _ => false,
            };
            if !in_rtp {
                self.command(id, |h| CallCommand::Info(h, d))?;
            }
        }
        Ok(())
    }

    // ---- signalling events ----------------------------------------------------------------

    async fn on_call_event(&mut self, line: LineKey, ev: CallEvent) {
        let handle = match &ev {
            CallEvent::Incoming { call, .. }
            | CallEvent::Progress { call, .. }
            | CallEvent::Answered { call, .. }
            | CallEvent::Confirmed { call, .. }
            | CallEvent::UpdateOffered { call, .. }
            | CallEvent::Updated { call, .. }
            | CallEvent::UpdateFailed { call, .. }
            | CallEvent::TargetRefresh { call }
            | CallEvent::TransferRequested { call, .. }
            | CallEvent::TransferProgress { call, .. }
            | CallEvent::Dtmf { call, .. }
            | CallEvent::Ended { call, .. } => *call,
            CallEvent::AutoRejected { from } => {
                tracing::info!(%from, "a call arrived while busy and call waiting is off: 486");
                return;
            }
        };
        if let CallEvent::Incoming {
            from,
            to: _,
            offer,
            waiting,
            ..
        } = &ev
        {
            self.incoming(line, handle, from, offer.clone(), *waiting)
                .await;
            return;
        }
        let Some(id) = self.index.get(&(line.clone(), handle)).cloned() else {
            tracing::trace!(?line, ?handle, "event of a call we do not know");
            return;
        };
        match ev {
            CallEvent::Progress {
                code, early_media, ..
            } => {
                if let Some(e) = self.calls.get_mut(&id)
                    && e.view.state == CallStatus::Dialing
                    && (code == 180 || code == 183)
                {
                    e.view.state = CallStatus::Ringing;
                    self.publish(&id);
                }
                if let Some(sdp) = early_media {
                    // Early media (ringback, announcements): play it before the answer.
                    self.apply_answer(&id, &sdp);
                }
            }
            CallEvent::Answered { answer, .. } => {
                if let Some(e) = self.calls.get_mut(&id) {
                    e.view.state = CallStatus::Connecting;
                    e.view.answered_at = Some(unix_ms());
                    e.view.setup_ms = Some(ms_since(e.t0));
                }
                if !answer.is_empty() {
                    self.apply_answer(&id, &answer);
                }
                self.publish(&id);
            }
            CallEvent::Confirmed { sdp, .. } => {
                if let Some(sdp) = sdp {
                    self.apply_answer(&id, &sdp);
                }
                if let Some(e) = self.calls.get_mut(&id) {
                    e.view.state = CallStatus::Active;
                    if e.view.answered_at.is_none() {
                        e.view.answered_at = Some(unix_ms());
                        e.view.setup_ms = Some(ms_since(e.t0));
                    }
                }
                self.publish(&id);
            }
            CallEvent::UpdateOffered { offer, .. } => self.their_update(&id, offer),
            CallEvent::TargetRefresh { .. } => {
                if let Err(e) = self.refresh_target(&id) {
                    tracing::debug!(call = %id, error = %e.message, "no target refresh");
                }
            }
            CallEvent::Updated { answer, .. } => {
                if let Some(e) = self.calls.get_mut(&id)
                    && let Some(on) = e.hold_pending.take()
                {
                    e.view.on_hold = on;
                    if let MediaState::Running(m) = &e.media {
                        m.set_muted(on || e.view.muted);
                    }
                }
                self.apply_answer(&id, &answer);
                self.publish(&id);
            }
            CallEvent::UpdateFailed { failure, .. } => {
                if let Some(e) = self.calls.get_mut(&id) {
                    let was = e.hold_pending.take();
                    if was.is_none() {
                        // A target refresh (see `refresh_target`): the call goes on as it was;
                        // nothing the person asked for failed.
                        tracing::info!(call = %id, failure = %failure,
                            "the call's address could not be refreshed");
                        return;
                    }
                    if let (Some(local), Some(on)) = (e.local.as_mut(), was) {
                        local.direction = if on {
                            Direction::SendRecv
                        } else {
                            Direction::SendOnly
                        };
                    }
                    e.view.media_problem = Some(UiError::new(
                        "hold_failed",
                        format!(
                            "The other side refused to change the call: {}.",
                            failure.message
                        ),
                        failure.hint.clone(),
                    ));
                }
                self.publish(&id);
            }
            CallEvent::TransferRequested { target, .. } => self.transferee(&id, target).await,
            CallEvent::TransferProgress {
                code, reason, done, ..
            } => {
                tracing::info!(call = %id, code, %reason, done, "transfer progress");
                let ours = self.calls.get(&id).is_some_and(|e| e.transferring);
                if ours && done {
                    if (200..300).contains(&code) {
                        // RFC 5589 §6.1: the transfer worked; the transferor ends its call.
                        let _ = self.command(&id, CallCommand::Hangup);
                    } else if let Some(e) = self.calls.get_mut(&id) {
                        e.transferring = false;
                        e.view.media_problem = Some(UiError::new(
                            "transfer_failed",
                            format!("The transfer did not work ({code} {reason})."),
                            "The call is still yours; try another number.",
                        ));
                        self.publish(&id);
                    }
                }
            }
            CallEvent::Dtmf { digit, .. } => {
                tracing::debug!(call = %id, %digit, "DTMF received (INFO)");
            }
            CallEvent::Ended { cause, .. } => {
                if !self.retry_encrypted(&id, &cause).await {
                    self.ended(&id, cause);
                }
            }
            CallEvent::Incoming { .. } | CallEvent::AutoRejected { .. } => {}
        }
        self.report_transfer(&id);
    }

    /// The peer asks us to call `target` (RFC 3515 blind transfer, we are the transferee):
    /// call it on the same line with the same audio and report its progress back.
    async fn transferee(&mut self, id: &str, target: String) {
        let Some(e) = self.calls.get(id) else {
            return;
        };
        let route = match &e.line {
            LineKey::Account(a) => Route::Account(a.clone()),
            LineKey::Direct(k) => Route::Direct {
                account_id: self.lines.get(k).and_then(|l| l.account_id.clone()),
                aor: None,
                credentials: None,
            },
        };
        let audio = Some(e.audio.clone());
        tracing::info!(call = %id, %target, "transferred: calling the new party");
        let uri = split_name_addr(&target).1;
        match self
            .dial(
                DialRequest {
                    uri,
                    route,
                    audio,
                    srtp: None,
                },
                false,
            )
            .await
        {
            Ok(v) => {
                if let Some(n) = self.calls.get_mut(&v.id) {
                    n.transfer_of = Some(id.to_owned());
                }
            }
            Err(err) => {
                tracing::info!(call = %id, error = %err.message, "the transfer target cannot be called");
                let _ = self.command(id, |h| {
                    CallCommand::TransferProgress(h, 503, "Service Unavailable".into())
                });
            }
        }
    }

    /// Tells the transferor how the call we placed for it goes.
    fn report_transfer(&mut self, id: &str) {
        let Some(e) = self.calls.get(id) else {
            return;
        };
        let Some(orig) = e.transfer_of.clone() else {
            return;
        };
        let (code, reason): (u16, String) = match e.view.state {
            CallStatus::Ringing => (180, "Ringing".into()),
            CallStatus::Active => (200, "OK".into()),
            CallStatus::Ended if e.view.answered_at.is_none() => {
                let code = e
                    .view
                    .end_reason
                    .as_ref()
                    .and_then(|r| r.code.strip_prefix("sip_"))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(487);
                (code, "Failed".into())
            }
            _ => return,
        };
        let done = code >= 200;
        if done && let Some(n) = self.calls.get_mut(id) {
            n.transfer_of = None;
        }
        let _ = self.command(&orig, |h| CallCommand::TransferProgress(h, code, reason));
        if code == 200 {
            // The new call took over: end the old one (the transferor may do it too).
            let _ = self.command(&orig, CallCommand::Hangup);
        }
    }

    async fn incoming(
        &mut self,
        line: LineKey,
        handle: CallHandle,
        from: &str,
        offer: Option<Vec<u8>>,
        waiting: bool,
    ) {
        let (hidden, auto, account_id) = match &line {
            LineKey::Account(a) => (false, self.auto_answer.clone(), Some(a.clone())),
            LineKey::Direct(k) => match self.lines.get(k) {
                Some(l) => (l.hidden, l.auto_answer.clone(), l.account_id.clone()),
                None => return,
            },
        };
        let policy = match &line {
            LineKey::Account(a) => self.account_srtp.get(a).copied(),
            LineKey::Direct(_) => None,
        }
        .unwrap_or(self.config.srtp);
        let (name, uri) = split_name_addr(from);
        let (key, id) = self.new_id();
        tracing::info!(call = %id, from = %uri, waiting, "incoming call");
        let visible_others = self
            .calls
            .values()
            .any(|e| !e.hidden && e.view.state != CallStatus::Ended);
        self.index.insert((line.clone(), handle), id.clone());
        self.calls.insert(
            id.clone(),
            Entry {
                key,
                view: CallView {
                    id: id.clone(),
                    account_id,
                    direction: CallDirection::Incoming,
                    remote: uri,
                    remote_name: name,
                    state: CallStatus::Incoming,
                    waiting: waiting || (!hidden && visible_others),
                    muted: false,
                    on_hold: false,
                    remote_hold: false,
                    started_at: unix_ms(),
                    answered_at: None,
                    ended_at: None,
                    outcome: None,
                    end_cause: None,
                    end_reason: None,
                    media_problem: None,
                    stats: None,
                    media_route: None,
                    media_route_text: None,
                    media_route_reason: None,
                    relay: None,
                    ice: false,
                    setup_ms: None,
                    media_ms: None,
                },
                line: line.clone(),
                handle,
                hidden,
                audio: auto
                    .clone()
                    .unwrap_or_else(|| self.config.default_audio.clone()),
                socket: None,
                local: None,
                offer_sent: None,
                their_offer: offer,
                media: MediaState::None,
                hold_pending: None,
                srtp: policy,
                srtp_retried: false,
                transfer_of: None,
                transferring: false,
                t0: std::time::Instant::now(),
            },
        );
        if auto.is_some() {
            if let Err(e) = self.answer(&id).await {
                tracing::info!(call = %id, error = %e.message, "could not answer");
            }
        } else {
            let _ = self.send_to_line(&line, CallCommand::Ring(handle));
        }
        self.publish(&id);
    }

    /// An SDP answer (or early media, or the ACK's answer) to our offer.
    fn apply_answer(&mut self, id: &str, sdp: &[u8]) {
        let Some(e) = self.calls.get_mut(id) else {
            return;
        };
        let (Some(local), Some(offer)) = (e.local.as_ref(), e.offer_sent.as_ref()) else {
            return;
        };
        let n = SessionDescription::parse_bytes(sdp)
            .map_err(|x| x.to_string())
            .and_then(|a| process_answer(local, offer, &a).map_err(|x| x.to_string()));
        match n {
            Ok(n) => match &e.media {
                MediaState::Running(m) => m.renegotiate(n),
                MediaState::None => self.start_media(id, n),
                MediaState::Starting | MediaState::Stopping => {}
            },
            Err(why) => {
                tracing::info!(call = %id, error = %why, "unusable SDP answer");
                e.view.media_problem = Some(UiError::new(
                    "incompatible_media",
                    format!("The other side's audio answer cannot be used: {why}."),
                    "It offers no codec Homeline supports; the call has no audio.",
                ));
                self.publish(id);
            }
        }
    }

    /// The peer's re-INVITE (hold, resume, new address or codec).
    fn their_update(&mut self, id: &str, offer: Option<Vec<u8>>) {
        let Some(e) = self.calls.get_mut(id) else {
            return;
        };
        let Some(local) = e.local.as_mut() else {
            let h = e.handle;
            let line = e.line.clone();
            let _ = self.send_to_line(&line, CallCommand::RejectUpdate(h, 488));
            return;
        };
        local.session_version += 1;
        let h = e.handle;
        let line = e.line.clone();
        let Some(bytes) = offer else {
            // An offer-less re-INVITE (a session refresh): our current offer; the media goes
            // on as agreed.
            let ours = build_offer(local).to_string().into_bytes();
            let _ = self.send_to_line(&line, CallCommand::AnswerUpdate(h, ours));
            return;
        };
        let r = SessionDescription::parse_bytes(&bytes)
            .map_err(|x| x.to_string())
            .and_then(|o| {
                answer_offer(local, &o)
                    .map(|(a, n)| (a, n, o))
                    .map_err(|x| x.to_string())
            });
        match r {
            Ok((answer, n, o)) => {
                let their_dir = o
                    .media
                    .first()
                    .map(|m| Direction::of(m, &o))
                    .unwrap_or_default();
                e.view.remote_hold = !their_dir.receives() || n.remote_legacy_hold;
                let start = match &e.media {
                    MediaState::Running(m) => {
                        m.renegotiate(n);
                        None
                    }
                    MediaState::None => Some(n),
                    MediaState::Starting | MediaState::Stopping => None,
                };
                let _ = self.send_to_line(
                    &line,
                    CallCommand::AnswerUpdate(h, answer.to_string().into_bytes()),
                );
                if let Some(n) = start {
                    self.start_media(id, n);
                }
                self.publish(id);
            }
            Err(why) => {
                tracing::info!(call = %id, error = %why, "refusing the peer's new offer");
                let _ = self.send_to_line(&line, CallCommand::RejectUpdate(h, 488));
            }
        }
    }

    fn start_media(&mut self, id: &str, n: homeline_media::sdp::NegotiatedSession) {
        let Some(e) = self.calls.get_mut(id) else {
            return;
        };
        let Some(socket) = e.socket.take() else {
            return;
        };
        e.media = MediaState::Starting;
        let plan = e.audio.clone();
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let seed = self.seed;
        let rtp_timeout = self.config.rtp_timeout;
        let tx = self.internal.clone();
        let call = id.to_owned();
        tokio::spawn(async move {
            let (mtx, mut mrx) = mpsc::unbounded_channel();
            let r = MediaStream::start(socket, n, plan, seed, rtp_timeout, mtx).await;
            let _ = tx.send(Internal::MediaStarted(call.clone(), r));
            while let Some(ev) = mrx.recv().await {
                if tx.send(Internal::Media(call.clone(), ev)).is_err() {
                    return;
                }
            }
        });
    }

    fn ended(&mut self, id: &str, cause: EndCause) {
        let Some(e) = self.calls.get_mut(id) else {
            return;
        };
        let answered = e.view.answered_at.is_some();
        let (outcome, reason) = outcome_of(e.view.direction, answered, &cause);
        e.view.outcome = Some(outcome);
        e.view.end_cause = Some(
            match cause {
                EndCause::LocalHangup => "local_hangup",
                EndCause::RemoteHangup => "remote_hangup",
                EndCause::Cancelled => "cancelled",
                EndCause::CallerCancelled => "caller_cancelled",
                EndCause::Rejected(_) => "rejected",
                EndCause::Failed(_) => "failed",
            }
            .to_owned(),
        );
        if e.view.end_reason.is_none() {
            e.view.end_reason = reason;
        }
        e.view.state = CallStatus::Ended;
        e.view.ended_at = Some(unix_ms());
        tracing::info!(call = %id, ?outcome, ?cause, "call ended");
        match std::mem::replace(&mut e.media, MediaState::Stopping) {
            MediaState::Running(m) => {
                let tx = self.internal.clone();
                let call = id.to_owned();
                tokio::spawn(async move {
                    let stats = m.stop().await;
                    let _ = tx.send(Internal::MediaStopped(call, stats));
                });
            }
            MediaState::Starting => {
                // MediaStarted will find the call ended and stop it.
            }
            MediaState::None | MediaState::Stopping => self.finish(id),
        }
    }

    /// A peer that insists on encryption refuses our best-effort offer (`RTP/AVP` with
    /// `a=crypto`, RFC 4568 §5.1.1) with 488, as baresip's `srtp-mand` and many PBXs do: offer
    /// again once as `RTP/SAVP`, under the same call id, so the person sees one call that
    /// connects. Returns whether the call goes on.
    async fn retry_encrypted(&mut self, id: &str, cause: &EndCause) -> bool {
        let refused_488 =
            matches!(cause, EndCause::Failed(f) | EndCause::Rejected(f) if f.code == 488);
        let Some(e) = self.calls.get(id) else {
            return false;
        };
        if !refused_488
            || e.view.direction != CallDirection::Outgoing
            || e.view.answered_at.is_some()
            || e.srtp != SrtpPolicy::Optional
            || e.srtp_retried
            || e.view.state == CallStatus::Ending
        {
            return false;
        }
        let (line, uri, audio, account_id, old_key, old_handle) = (
            e.line.clone(),
            e.view.remote.clone(),
            e.audio.clone(),
            e.view.account_id.clone(),
            e.key,
            e.handle,
        );
        tracing::info!(call = %id, "488 to our offer: offering again with encryption required");
        let retry = self
            .dial_on(
                &line,
                &uri,
                Some(audio),
                account_id,
                false,
                SrtpPolicy::Required,
            )
            .await;
        let Ok(new) = retry else {
            return false;
        };
        // The new INVITE takes over the old call's id and place.
        let Some(mut fresh) = self.calls.remove(&new.id) else {
            return false;
        };
        self.views
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&fresh.key);
        self.index.remove(&(line.clone(), old_handle));
        self.index.insert((line, fresh.handle), id.to_owned());
        let Some(old) = self.calls.remove(id) else {
            return false;
        };
        fresh.key = old_key;
        fresh.view = old.view;
        fresh.view.state = CallStatus::Dialing;
        fresh.srtp_retried = true;
        self.calls.insert(id.to_owned(), fresh);
        self.publish(id);
        true
    }

    /// The call is over and its media stopped: last view, history, forget it.
    fn finish(&mut self, id: &str) {
        let Some(e) = self.calls.remove(id) else {
            return;
        };
        self.index.retain(|_, v| v != id);
        // Out of the live list before anyone hears it ended.
        self.views
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&e.key);
        if !e.hidden {
            let _ = self.updates.send(e.view.clone());
        }
        if !e.hidden
            && let Some(hook) = &self.on_ended
        {
            hook(&e.view);
        }
        if let LineKey::Direct(k) = e.line
            && self.lines.get(&k).is_some_and(|l| l.one_call)
        {
            // Dropping the endpoint closes its socket; the call has ended on both sides.
            self.lines.remove(&k);
        }
    }

    async fn on_internal(&mut self, i: Internal) {
        match i {
            Internal::Line(k, ev) => self.on_call_event(LineKey::Direct(k), ev).await,
            Internal::MediaStarted(id, r) => {
                let Some(e) = self.calls.get_mut(&id) else {
                    return;
                };
                match r {
                    Ok(m) => {
                        if e.view.state == CallStatus::Ended {
                            let tx = self.internal.clone();
                            tokio::spawn(async move {
                                let stats = m.stop().await;
                                let _ = tx.send(Internal::MediaStopped(id, stats));
                            });
                            return;
                        }
                        m.set_muted(e.view.muted || e.view.on_hold);
                        e.media = MediaState::Running(m);
                    }
                    Err(err) => {
                        tracing::warn!(call = %id, error = %err.message, "media did not start");
                        e.view.media_problem = Some(err);
                        e.media = MediaState::None;
                        if e.view.state == CallStatus::Ended {
                            self.finish(&id);
                            return;
                        }
                        self.publish(&id);
                    }
                }
            }
            Internal::MediaStopped(id, stats) => {
                if let Some(e) = self.calls.get_mut(&id) {
                    e.view.stats = Some(stats);
                }
                self.finish(&id);
            }
            Internal::Media(id, MediaEvent::RelayMoved(to)) => {
                if let Err(e) = self.readdress(&id, to) {
                    // The peer still latches onto the new address if it does symmetric RTP.
                    tracing::info!(call = %id, error = %e.message, "the new relay address was not offered");
                }
            }
            Internal::Media(id, ev) => {
                let Some(e) = self.calls.get_mut(&id) else {
                    return;
                };
                match ev {
                    MediaEvent::RelayMoved(_) => return, // above
                    MediaEvent::Problem(p) | MediaEvent::AudioFailed(p) => {
                        tracing::info!(call = %id, problem = %p.message, "media problem");
                        e.view.media_problem = Some(p);
                    }
                    MediaEvent::Resumed => e.view.media_problem = None,
                    MediaEvent::FirstMedia => {
                        e.view.media_ms = Some(ms_since(e.t0));
                    }
                    MediaEvent::Device(msg) => {
                        tracing::info!(call = %id, "{msg}");
                        e.view.media_problem = Some(UiError::new(
                            "audio_device_changed",
                            msg,
                            "The call goes on; pick another device in Settings → Audio if \
                             this one is wrong.",
                        ));
                    }
                    MediaEvent::Dtmf(d) => {
                        tracing::debug!(call = %id, digit = %d, "DTMF received (RFC 4733)");
                        return;
                    }
                    MediaEvent::Timeout => {
                        tracing::info!(call = %id, "no audio for a minute; hanging up");
                        e.view.end_reason = Some(UiError::new(
                            "rtp_timeout",
                            "No audio arrived for a minute, so the call was ended.",
                            "The other side or the network dropped the call; call again.",
                        ));
                        let _ = self.command(&id, CallCommand::Hangup);
                    }
                }
                self.publish(&id);
            }
        }
    }

    /// Rings while a call rings here (a waiting call does not ring over the one in progress).
    fn update_ringer(&mut self) {
        let ringing = self
            .calls
            .values()
            .any(|e| !e.hidden && e.view.state == CallStatus::Incoming && !e.view.waiting);
        match (&self.ringer, ringing, &self.config.ring) {
            (None, true, Some(routes)) => self.ringer = Some(ringer::Ringer::start(routes.clone())),
            (Some(_), false, _) => self.ringer = None,
            _ => {}
        }
    }

    fn refresh_stats(&mut self) {
        let ids: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, e)| !e.hidden && matches!(e.media, MediaState::Running(_)))
            .map(|(k, _)| k.clone())
            .collect();
        for id in ids {
            if let Some(e) = self.calls.get_mut(&id)
                && let MediaState::Running(m) = &e.media
            {
                let s = m.stats();
                if e.view.stats.as_ref() != Some(&s) {
                    e.view.stats = Some(s);
                    self.publish(&id);
                }
            }
        }
    }

    fn publish(&self, id: &str) {
        let Some(e) = self.calls.get(id) else {
            return;
        };
        if e.hidden {
            return;
        }
        self.views
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(e.key, e.view.clone());
        let _ = self.updates.send(e.view.clone());
    }
}

/// The reason a call was refused with, for the caller of the refused request.
/// Milliseconds since `t0`.
fn ms_since(t0: std::time::Instant) -> u64 {
    u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn end_reason_of(e: Option<&Entry>) -> UiError {
    e.and_then(|e| e.view.end_reason.clone())
        .unwrap_or_else(stopped)
}

fn not_registered() -> UiError {
    UiError::new(
        "not_registered",
        "The account is not connected to its server.",
        "Wait until it shows Registered, or check its settings in Settings → Accounts.",
    )
}

/// The history outcome and the plain reason of a call's end.
pub fn outcome_of(
    direction: CallDirection,
    answered: bool,
    cause: &EndCause,
) -> (CallOutcome, Option<UiError>) {
    let failure = |f: &homeline_sip::call::CallFailure| Some(failure_ui(f));
    match cause {
        _ if answered => match cause {
            EndCause::Failed(f) => (CallOutcome::Answered, failure(f)),
            _ => (CallOutcome::Answered, None),
        },
        EndCause::LocalHangup => match direction {
            CallDirection::Incoming => (CallOutcome::Rejected, None),
            CallDirection::Outgoing => (CallOutcome::Cancelled, None),
        },
        EndCause::Cancelled => (CallOutcome::Cancelled, None),
        EndCause::CallerCancelled => (CallOutcome::Missed, None),
        EndCause::RemoteHangup => (CallOutcome::Failed, None),
        EndCause::Rejected(f) => (
            if matches!(f.code, 486 | 600) {
                CallOutcome::Busy
            } else {
                CallOutcome::Rejected
            },
            failure(f),
        ),
        EndCause::Failed(f) => (CallOutcome::Failed, failure(f)),
    }
}

/// A call failure of the SIP core as the UI shows it: a sentence with its status, and the hint.
pub fn failure_ui(f: &homeline_sip::call::CallFailure) -> UiError {
    UiError::new(
        format!("sip_{}", f.code),
        format!("{} ({}).", sentence(&f.message), f.code),
        format!("{}.", sentence(&f.hint)),
    )
}

fn sentence(s: &str) -> String {
    let s = s.trim().trim_end_matches('.');
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
