//! `homeline call` and `homeline answer`: place or take calls with audio, one progress line
//! per step, and the final statistics (`--json`: one object per call).
//!
//! Audio: `--play FILE.wav` is sent as our voice (then silence), `--record FILE.wav` keeps
//! what the other side says, `--devices` uses the microphone and speaker chosen in Settings,
//! `answer --echo` sends every caller's voice back a second later. Without any of them the
//! call carries silence (a headless machine has no sound card to fall back on).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use homeline_phone::calls::{CallOutcome, CallStatus, CallView, CallsConfig, ECHO_DELAY};
use homeline_phone::media::{AudioPlan, SrtpPolicy};
use homeline_phone::{Phone, PhoneOptions, RegistrationState, UiError};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::Failure;

/// What a call sends and where what it hears goes, from the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct AudioArgs {
    pub play: Option<PathBuf>,
    pub record: Option<PathBuf>,
    pub devices: bool,
    pub echo: bool,
    /// SDES-SRTP: off, offered (optional) or required.
    pub srtp: SrtpPolicy,
    /// While a call is up, print its media statistics this often.
    pub stats_every: Option<Duration>,
}

impl AudioArgs {
    fn plan(&self, phone: &Phone) -> AudioPlan {
        if self.echo {
            AudioPlan::Echo { delay: ECHO_DELAY }
        } else if self.devices {
            AudioPlan::Devices(phone.audio_routes())
        } else if self.play.is_some() || self.record.is_some() {
            AudioPlan::Files {
                play: self.play.clone(),
                record: self.record.clone(),
            }
        } else {
            AudioPlan::Silence
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("could not start the network runtime: {e}")))
}

pub(crate) fn ui_line(e: &UiError) -> String {
    format!("{} {}", e.message, e.hint)
}

/// Opens the phone; the keyring only when an account's password may be needed (a direct
/// call or the echo line needs none, and should not wait for or warn about a keyring).
pub(crate) fn open_phone(config: Option<PathBuf>, accounts: bool) -> Result<Phone, Failure> {
    let phone = Phone::open(PhoneOptions {
        config_path: config,
        secret_backend: if accounts {
            homeline_phone::SecretBackendChoice::Auto
        } else {
            homeline_phone::SecretBackendChoice::SessionOnly
        },
        ..PhoneOptions::default()
    })
    .map_err(|e| Failure(ui_line(&UiError::from(&e))))?;
    if let Some(p) = phone.config_problem() {
        return Err(Failure(ui_line(&p.to_ui_error())));
    }
    Ok(phone)
}

/// How a call ended, in the words the CLI prints and the JSON's `end_reason`.
#[derive(Debug)]
struct Outcome {
    /// `hung_up`, `remote_hung_up`, `busy`, `declined`, `no_answer`, `cancelled`,
    /// `caller_cancelled` or `failed`.
    end_reason: &'static str,
    /// The final SIP status that ended it, if one did.
    sip_code: Option<u16>,
    /// A plain sentence.
    message: String,
    /// The next step for a failure.
    hint: Option<String>,
    /// Answered and ended by a hang-up: what a script calls success.
    clean: bool,
}

fn outcome(v: &CallView) -> Outcome {
    let sip_code = v
        .end_reason
        .as_ref()
        .and_then(|r| r.code.strip_prefix("sip_"))
        .and_then(|c| c.parse().ok());
    let plain = |end_reason, message: &str, clean| Outcome {
        end_reason,
        sip_code: None,
        message: message.to_owned(),
        hint: None,
        clean,
    };
    let failed = |end_reason| Outcome {
        end_reason,
        sip_code,
        message: v
            .end_reason
            .as_ref()
            .map_or_else(|| "the call failed".to_owned(), |r| r.message.clone()),
        hint: v.end_reason.as_ref().map(|r| r.hint.clone()),
        clean: false,
    };
    match (v.outcome, v.end_cause.as_deref()) {
        (Some(CallOutcome::Answered), _) if v.end_reason.is_some() => failed("failed"),
        (Some(CallOutcome::Answered), Some("remote_hangup")) => {
            plain("remote_hung_up", "the other side hung up", true)
        }
        (Some(CallOutcome::Answered), _) => plain("hung_up", "we hung up", true),
        (Some(CallOutcome::Busy), _) => failed("busy"),
        (Some(CallOutcome::Rejected), _) if v.end_reason.is_some() => failed("declined"),
        (Some(CallOutcome::Rejected), _) => plain("declined", "we declined the call", false),
        (Some(CallOutcome::Cancelled), _) => plain(
            "cancelled",
            "the call was cancelled before an answer",
            false,
        ),
        (Some(CallOutcome::Missed), _) => plain("caller_cancelled", "the caller gave up", false),
        (Some(CallOutcome::Failed), _) if matches!(sip_code, Some(408 | 480)) => {
            failed("no_answer")
        }
        (Some(CallOutcome::Failed), _) | (None, _) => failed("failed"),
    }
}

fn failure_text(o: &Outcome) -> String {
    let word = match o.end_reason {
        "busy" => "busy",
        "declined" => "declined",
        "no_answer" => "no answer",
        _ => "",
    };
    // A plain word first for scripts (busy, declined, no answer), unless the message is it.
    let mut s = if word.is_empty() || o.message.to_lowercase().starts_with(word) {
        String::new()
    } else {
        format!("{word}: ")
    };
    // CLI style: "homeline: no answer from …", like every other error line of the CLI.
    let mut m = o.message.trim_end_matches('.').chars();
    if let Some(first) = m.next() {
        s.extend(first.to_lowercase());
        s.push_str(m.as_str());
    }
    if let Some(c) = o.sip_code
        && !s.contains(&format!("({c})"))
    {
        s.push_str(&format!(" ({c})"));
    }
    if let Some(h) = &o.hint {
        s.push_str(&format!("; {h}"));
    }
    s
}

fn report(v: &CallView, o: &Outcome, json: bool) {
    let secs = match (v.answered_at, v.ended_at) {
        (Some(a), Some(e)) => e.saturating_sub(a) as f64 / 1000.0,
        _ => 0.0,
    };
    let s = v.stats.clone().unwrap_or_default();
    if json {
        let mut j = serde_json::json!({
            "end_reason": o.end_reason,
            "sip_code": o.sip_code,
            "duration_secs": (secs * 10.0).round() / 10.0,
            "message": o.message,
            "codec": s.codec,
            "packets_sent": s.packets_sent,
            "packets_received": s.packets_received,
            "loss_pct": s.loss_pct,
            "jitter_ms": s.jitter_ms,
            "rtt_ms": s.rtt_ms,
            "mos": s.mos,
            "playout_delay_ms": s.playout_delay_ms,
            "srtp": s.srtp,
            "concealed": s.concealed,
            "fec_recovered": s.fec_recovered,
            "late_pct": s.late_pct,
            "shrinks": s.shrinks,
            "stretches": s.stretches,
            "media_route": v.media_route,
            "relay": v.relay,
            "ice": v.ice,
            "setup_ms": v.setup_ms,
            "media_ms": v.media_ms,
        });
        if v.direction == homeline_phone::calls::CallDirection::Incoming {
            j["from"] = serde_json::Value::String(v.remote.clone());
        }
        if let Some(p) = &v.media_problem {
            j["media_problem"] = serde_json::Value::String(p.message.clone());
        }
        println!("{j}");
    } else {
        let code = o
            .sip_code
            .map(|c| format!(" ({c})"))
            .filter(|c| !o.message.contains(c.trim()))
            .unwrap_or_default();
        println!(
            "ended: {}{code} after {secs:.1} s",
            o.message.trim_end_matches('.')
        );
        if let Some(codec) = &s.codec {
            println!(
                "media: {codec}{}, sent {} received {} packets, loss {:.1} %, jitter {:.1} ms{}{}",
                if s.srtp { " (SRTP)" } else { "" },
                s.packets_sent,
                s.packets_received,
                s.loss_pct,
                s.jitter_ms,
                s.rtt_ms
                    .map(|r| format!(", RTT {r:.0} ms"))
                    .unwrap_or_default(),
                s.mos.map(|m| format!(", MOS {m:.1}")).unwrap_or_default(),
            );
        }
        if let Some(route) = &v.media_route_text {
            println!(
                "route: {route}{}{}",
                v.setup_ms
                    .map(|t| format!("; answered after {t} ms"))
                    .unwrap_or_default(),
                v.media_ms
                    .map(|t| format!(", first audio after {t} ms"))
                    .unwrap_or_default(),
            );
        }
    }
}

/// `--stats-every`: the latest view of each call that is up, printed on a fixed beat (a
/// long call's quality over time: loss, jitter, the jitter buffer's delay and moves).
struct StatsTicker {
    every: Option<tokio::time::Interval>,
    up: HashMap<String, CallView>,
    json: bool,
}

impl StatsTicker {
    fn new(every: Option<Duration>, json: bool) -> Self {
        let every = every.filter(|d| !d.is_zero()).map(|d| {
            let mut i = tokio::time::interval_at(Instant::now() + d, d);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        });
        Self {
            every,
            up: HashMap::new(),
            json,
        }
    }

    /// Keeps the latest view of a call that is up; forgets one that ended.
    fn see(&mut self, v: &CallView) {
        if self.every.is_none() {
            return;
        }
        if v.state == CallStatus::Active {
            self.up.insert(v.id.clone(), v.clone());
        } else {
            self.up.remove(&v.id);
        }
    }

    /// The next beat (never, without `--stats-every`).
    async fn tick(&mut self) {
        match &mut self.every {
            Some(i) => {
                i.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    fn print(&self) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut ids: Vec<&String> = self.up.keys().collect();
        ids.sort();
        for id in ids {
            let v = &self.up[id];
            let secs = v
                .answered_at
                .map_or(0.0, |a| now_ms.saturating_sub(a) as f64 / 1000.0);
            // Nothing to say before the media has started.
            let Some(s) = v.stats.clone() else {
                continue;
            };
            if s.packets_sent == 0 && s.packets_received == 0 {
                continue;
            }
            if self.json {
                let mut j =
                    serde_json::json!({ "event": "stats", "call": id, "secs": secs.round() });
                if let (Some(o), serde_json::Value::Object(m)) = (
                    j.as_object_mut(),
                    serde_json::to_value(&s).unwrap_or_default(),
                ) {
                    o.extend(m);
                }
                println!("{j}");
            } else {
                println!(
                    "stats: {secs:.0} s, received {} packets, loss {:.1} %, late {:.1} %, jitter {:.1} ms, playout delay {:.0} ms{}",
                    s.packets_received,
                    s.loss_pct,
                    s.late_pct,
                    s.jitter_ms,
                    s.playout_delay_ms,
                    s.mos.map(|m| format!(", MOS {m:.1}")).unwrap_or_default(),
                );
            }
        }
    }
}

/// Registers `name` (or the first account with a registrar) and waits until registered.
pub(crate) async fn register(
    phone: &Phone,
    name: Option<&str>,
    json: bool,
) -> Result<String, Failure> {
    let accounts = phone.list_accounts();
    let a = match name {
        Some(n) => accounts
            .iter()
            .find(|a| a.id == n || a.display_name.eq_ignore_ascii_case(n)),
        None => accounts.iter().find(|a| !a.registrar.is_empty()),
    }
    .ok_or_else(|| Failure(format!("there is no account {:?}", name.unwrap_or(""))))?;
    let id = a.id.clone();
    phone
        .start_registration(&id)
        .map_err(|e| Failure(ui_line(&UiError::from(&e))))?;
    let mut watch = phone
        .registration_watch(&id)
        .ok_or_else(|| Failure("the registration did not start (a bug)".into()))?;
    let status = tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            let st = watch.borrow_and_update().clone();
            if matches!(
                st.state,
                RegistrationState::Registered
                    | RegistrationState::Failed
                    | RegistrationState::Stopped
            ) {
                return st;
            }
            if watch.changed().await.is_err() {
                return watch.borrow().clone();
            }
        }
    })
    .await
    .map_err(|_| Failure(format!("{}: no registration within 40 s", a.display_name)))?;
    if status.state != RegistrationState::Registered {
        phone.stop_registrations().await;
        return Err(Failure(match &status.reason {
            Some(r) => format!("{}: {}", a.display_name, ui_line(r)),
            None => format!("{}: {}", a.display_name, status.summary()),
        }));
    }
    if !json {
        println!("{}: {}", a.display_name, status.summary());
    }
    Ok(id)
}

pub(crate) fn call(
    config: Option<PathBuf>,
    uri: &str,
    account: Option<&str>,
    duration: u64,
    audio: AudioArgs,
    json: bool,
) -> Result<(), Failure> {
    // The same forms as a clicked link in the app: `tel:+1-555-010-0199`, `sip:echo`, …
    let normalised = homeline_phone::dialplan::link_text(uri);
    let uri = normalised.as_deref().unwrap_or(uri);
    let needs_account =
        account.is_some() || !(uri.contains(':') || uri.eq_ignore_ascii_case("echo"));
    let phone = open_phone(config, needs_account)?;
    runtime()?.block_on(async {
        let account_id = match account {
            Some(name) => {
                let a = phone
                    .list_accounts()
                    .into_iter()
                    .find(|a| a.id == name || a.display_name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| Failure(format!("there is no account {name:?}")))?;
                if !a.registrar.is_empty() {
                    // Calls go through the registration's own flow (the path known to get
                    // through the NAT), so register first.
                    register(&phone, Some(&a.id), json).await?;
                }
                Some(a.id)
            }
            None => None,
        };
        let calls = phone
            .start_calls(CallsConfig {
                default_audio: audio.plan(&phone),
                srtp: audio.srtp,
                ..phone.base_calls_config()
            })
            .map_err(|e| Failure(ui_line(&e)))?;
        let mut updates = calls.subscribe();
        let result = async {
            let view = phone
                .dial(uri, account_id.as_deref(), None)
                .await
                .map_err(|e| Failure(ui_line(&e)))?;
            if !json {
                println!("calling {}", view.remote);
            }
            let stats = StatsTicker::new(audio.stats_every, json);
            follow_call(calls, &mut updates, &view.id, duration, stats).await
        }
        .await;
        phone.stop_registrations().await;
        result
    })
}

async fn follow_call(
    calls: &homeline_phone::calls::Calls,
    updates: &mut tokio::sync::broadcast::Receiver<CallView>,
    id: &str,
    duration: u64,
    mut stats: StatsTicker,
) -> Result<(), Failure> {
    let json = stats.json;
    let mut state = CallStatus::Dialing;
    let mut hangup_at: Option<Instant> = None;
    let mut problem: Option<String> = None;
    let last = loop {
        let sleep = async {
            match hangup_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            u = updates.recv() => match u {
                Ok(v) if v.id == id => {
                    stats.see(&v);
                    if v.state != state {
                        state = v.state;
                        match state {
                            CallStatus::Ringing if !json => println!("ringing"),
                            CallStatus::Connecting | CallStatus::Active if hangup_at.is_none() => {
                                hangup_at = Some(Instant::now() + Duration::from_secs(duration));
                                if !json {
                                    println!("answered");
                                }
                            }
                            _ => {}
                        }
                    }
                    let p = v.media_problem.as_ref().map(|p| p.message.clone());
                    if p != problem {
                        if let (Some(m), false) = (&p, json) {
                            println!("media: {m}");
                        }
                        problem = p;
                    }
                    if v.is_ended() {
                        break v;
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Err(Failure("the call engine stopped".into())),
            },
            () = sleep => {
                hangup_at = None;
                if !json {
                    println!("hanging up after {duration} s");
                }
                calls.hangup(id).await.map_err(|e| Failure(ui_line(&e)))?;
            }
            () = stats.tick() => stats.print(),
        }
    };
    let o = outcome(&last);
    report(&last, &o, json);
    if o.clean {
        Ok(())
    } else {
        Err(Failure(failure_text(&o)))
    }
}

pub(crate) fn answer(
    config: Option<PathBuf>,
    account: Option<&str>,
    listen: Option<SocketAddr>,
    count: u64,
    duration: Option<u64>,
    audio: AudioArgs,
    json: bool,
) -> Result<(), Failure> {
    let phone = open_phone(config, listen.is_none())?;
    runtime()?.block_on(async {
        let plan = audio.plan(&phone);
        let calls = phone
            .start_calls(CallsConfig {
                default_audio: plan.clone(),
                srtp: audio.srtp,
                ..phone.base_calls_config()
            })
            .map_err(|e| Failure(ui_line(&e)))?
            .clone();
        let mut updates = calls.subscribe();
        match listen {
            Some(addr) => {
                let bound = calls
                    .listen(addr, Some(plan))
                    .await
                    .map_err(|e| Failure(ui_line(&e)))?;
                if !json {
                    println!("listening on {bound} (UDP)");
                }
            }
            None => {
                calls.set_auto_answer(Some(plan));
                register(&phone, account, json).await?;
                if !json {
                    println!("waiting for calls");
                }
            }
        }
        let stats = StatsTicker::new(audio.stats_every, json);
        let result = take_calls(&calls, &mut updates, count, duration, stats).await;
        // Unregister before exiting, as the app does on quit.
        phone.stop_registrations().await;
        result
    })
}

async fn take_calls(
    calls: &homeline_phone::calls::Calls,
    updates: &mut tokio::sync::broadcast::Receiver<CallView>,
    count: u64,
    duration: Option<u64>,
    mut stats: StatsTicker,
) -> Result<(), Failure> {
    let json = stats.json;
    // Per call: what we last saw of it.
    let mut seen: HashMap<String, CallStatus> = HashMap::new();
    let mut hangups: Vec<(Instant, String)> = Vec::new();
    let mut ended = 0u64;
    let mut failed = 0u64;
    while ended < count {
        let next = hangups.iter().map(|(t, _)| *t).min();
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            u = updates.recv() => match u {
                Ok(v) => {
                    stats.see(&v);
                    let before = seen.insert(v.id.clone(), v.state);
                    if before.is_none() && !json {
                        println!("incoming call from {}", v.remote);
                    }
                    if v.state == CallStatus::Active && before != Some(CallStatus::Active) {
                        if !json {
                            println!("connected with {}", v.remote);
                        }
                        if let Some(d) = duration {
                            hangups.push((Instant::now() + Duration::from_secs(d), v.id.clone()));
                        }
                    }
                    if v.is_ended() {
                        seen.remove(&v.id);
                        hangups.retain(|(_, c)| *c != v.id);
                        ended += 1;
                        let o = outcome(&v);
                        if !o.clean {
                            failed += 1;
                        }
                        report(&v, &o, json);
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "call updates were lost (overloaded)");
                }
                Err(RecvError::Closed) => return Err(Failure("the call engine stopped".into())),
            },
            () = sleep => {
                let now = Instant::now();
                let due: Vec<String> = hangups.iter().filter(|(t, _)| *t <= now).map(|(_, c)| c.clone()).collect();
                hangups.retain(|(t, _)| *t > now);
                for c in due {
                    if let Err(e) = calls.hangup(&c).await {
                        tracing::debug!(call = %c, error = %e.message, "hang-up refused");
                    }
                }
            }
            () = stats.tick() => stats.print(),
        }
    }
    if failed > 0 {
        return Err(Failure(format!(
            "{failed} of {count} calls did not end cleanly"
        )));
    }
    Ok(())
}
