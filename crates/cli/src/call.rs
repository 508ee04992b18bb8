//! `homeline call` and `homeline answer`: place or take calls, one progress line per step.
//!
//! Media is not part of calls yet: the SDP offers (and answers) every codec with the
//! direction `inactive`, so both ends know no audio flows.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use homeline_phone::sip::CallCommand;
use homeline_phone::sip::TokioClock;
use homeline_phone::sip::direct::{
    CallHandle, CallNotice, DirectCalls, DirectSetup, EndCause, direct_peer, local_ip_towards,
};
use homeline_phone::{Phone, PhoneOptions, RegistrationState, UiError};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::Failure;

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("could not start the network runtime: {e}")))
}

fn ui_line(e: &UiError) -> String {
    format!("{} {}", e.message, e.hint)
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
}

fn outcome(cause: &EndCause) -> Outcome {
    let plain = |end_reason, message: &str| Outcome {
        end_reason,
        sip_code: None,
        message: message.to_owned(),
        hint: None,
    };
    match cause {
        EndCause::LocalHangup => plain("hung_up", "we hung up"),
        EndCause::RemoteHangup => plain("remote_hung_up", "the other side hung up"),
        EndCause::Cancelled => plain("cancelled", "the call was cancelled before an answer"),
        EndCause::CallerCancelled => plain("caller_cancelled", "the caller gave up"),
        EndCause::Rejected(f) | EndCause::Failed(f) => Outcome {
            end_reason: match f.code {
                486 | 600 => "busy",
                603 | 607 => "declined",
                408 | 480 => "no_answer",
                _ => "failed",
            },
            sip_code: Some(f.code),
            message: f.message.clone(),
            hint: Some(f.hint.clone()),
        },
    }
}

/// What an outgoing call needs of an account.
struct CallAccount {
    aor: String,
    registrar: String,
    username: String,
    password: String,
}

fn account_for_call(config: Option<PathBuf>, name: &str) -> Result<CallAccount, Failure> {
    let phone = Phone::open(PhoneOptions {
        config_path: config,
        ..PhoneOptions::default()
    })
    .map_err(|e| Failure(ui_line(&UiError::from(&e))))?;
    if let Some(p) = phone.config_problem() {
        return Err(Failure(ui_line(&p.to_ui_error())));
    }
    let accounts = phone.list_accounts();
    let a = accounts
        .iter()
        .find(|a| a.id == name)
        .or_else(|| {
            accounts
                .iter()
                .find(|a| a.display_name.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| Failure(format!("there is no account {name:?}")))?;
    let password = phone
        .password(&a.id)
        .map_err(|e| Failure(ui_line(&UiError::from(&e))))?
        .map(|s| s.expose().to_owned())
        .unwrap_or_default();
    let username = if a.auth_user.trim().is_empty() {
        // The user part of the address of record, as the registration uses it.
        a.sip_address
            .trim_start_matches("sips:")
            .trim_start_matches("sip:")
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        a.auth_user.clone()
    };
    Ok(CallAccount {
        aor: a.sip_address.clone(),
        registrar: a.registrar.clone(),
        username,
        password,
    })
}

pub(crate) fn call(
    config: Option<PathBuf>,
    uri: &str,
    account: Option<&str>,
    duration: u64,
    json: bool,
) -> Result<(), Failure> {
    let account = match account {
        Some(name) => Some(account_for_call(config, name)?),
        None => None,
    };
    runtime()?.block_on(async {
        // The next hop: the account's server (its registrar, as an outbound proxy), else the
        // URI's own host and port (a direct call).
        let via = match &account {
            Some(a) if !a.registrar.trim().is_empty() => a.registrar.as_str(),
            _ => uri,
        };
        let peer = direct_peer(via).await.map_err(|e| Failure(ui_line(&e)))?;
        let bind = SocketAddr::new(local_ip_towards(peer), 0);
        let setup = match &account {
            Some(a) => DirectSetup::for_account(bind, &a.aor, &a.username, &a.password),
            None => DirectSetup::anonymous(bind),
        };
        let (calls, mut events) = DirectCalls::start(setup, Arc::new(TokioClock))
            .await
            .map_err(|e| Failure(ui_line(&e)))?;
        let h = calls
            .dial_via(uri, peer)
            .await
            .map_err(|e| Failure(ui_line(&e)))?;
        if !json {
            println!("calling {uri} from {}", calls.local_addr());
        }
        let mut answered_at: Option<Instant> = None;
        let mut hangup_at: Option<Instant> = None;
        let cause = loop {
            let sleep = async {
                match hangup_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(ev) => {
                        if let Some(cause) = on_call_event(&ev, h, json, duration, &mut answered_at, &mut hangup_at) {
                            break cause;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => {
                        return Err(Failure("the call engine stopped".into()));
                    }
                },
                () = sleep => {
                    hangup_at = None;
                    if !json {
                        println!("hanging up after {duration} s");
                    }
                    calls.hangup(h).map_err(|e| Failure(ui_line(&e)))?;
                }
            }
        };
        let o = outcome(&cause);
        let secs = answered_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
        report(&o, secs, json, None);
        let clean = answered_at.is_some() && matches!(cause, EndCause::LocalHangup | EndCause::RemoteHangup);
        if clean {
            Ok(())
        } else {
            Err(Failure(failure_text(&o)))
        }
    })
}

fn failure_text(o: &Outcome) -> String {
    let word = match o.end_reason {
        "busy" => "busy",
        "declined" => "declined",
        "no_answer" => "no answer",
        _ => "",
    };
    // A plain word first for scripts (busy, declined, no answer), unless the message is it.
    let mut s = if word.is_empty() || o.message.starts_with(word) {
        String::new()
    } else {
        format!("{word}: ")
    };
    s.push_str(&o.message);
    if let Some(c) = o.sip_code {
        s.push_str(&format!(" ({c})"));
    }
    if let Some(h) = &o.hint {
        s.push_str(&format!("; {h}"));
    }
    s
}

fn on_call_event(
    ev: &CallNotice,
    h: CallHandle,
    json: bool,
    duration: u64,
    answered_at: &mut Option<Instant>,
    hangup_at: &mut Option<Instant>,
) -> Option<EndCause> {
    match ev {
        CallNotice::Progress {
            call, code, reason, ..
        } if *call == h && !json => println!("progress: {code} {reason}"),
        CallNotice::Answered { call, .. } if *call == h => {
            let now = Instant::now();
            *answered_at = Some(now);
            *hangup_at = Some(now + Duration::from_secs(duration));
            if !json {
                println!("answered");
            }
        }
        CallNotice::Confirmed { call, .. } if *call == h && !json => {
            println!("connected (no audio yet: the SDP says inactive)");
        }
        CallNotice::Ended { call, cause } if *call == h => return Some(cause.clone()),
        _ => {}
    }
    None
}

fn report(o: &Outcome, secs: f64, json: bool, from: Option<&str>) {
    if json {
        let mut v = serde_json::json!({
            "end_reason": o.end_reason,
            "sip_code": o.sip_code,
            "duration_secs": (secs * 10.0).round() / 10.0,
            "message": o.message,
        });
        if let Some(f) = from {
            v["from"] = serde_json::Value::String(f.to_owned());
        }
        println!("{v}");
    } else {
        println!(
            "ended: {} after {secs:.1} s{}",
            o.message,
            o.sip_code.map(|c| format!(" ({c})")).unwrap_or_default()
        );
    }
}

/// Who takes the calls: an account-less listener, or a registered account's driver.
enum Taker {
    Direct(DirectCalls),
    Account(Box<Phone>, String),
}

impl Taker {
    fn command(&self, c: CallCommand) -> Result<(), Failure> {
        match (self, c) {
            (Taker::Direct(d), CallCommand::Answer(h)) => d.answer(h),
            (Taker::Direct(d), CallCommand::Hangup(h)) => d.hangup(h),
            (Taker::Direct(d), CallCommand::Ring(h)) => d.ring(h),
            (Taker::Direct(d), CallCommand::Reject(h, code)) => d.reject(h, code),
            (Taker::Account(p, id), c) => {
                if p.call_command(id, c) {
                    Ok(())
                } else {
                    return Err(Failure("the account's driver stopped".into()));
                }
            }
        }
        .map_err(|e| Failure(ui_line(&e)))
    }
}

/// Registers `name` (or the first account) and returns the phone and the account id, once
/// registered.
async fn register_for_calls(
    config: Option<PathBuf>,
    name: Option<&str>,
    json: bool,
) -> Result<
    (
        Phone,
        String,
        tokio::sync::mpsc::UnboundedReceiver<CallNotice>,
    ),
    Failure,
> {
    let phone = Phone::open(PhoneOptions {
        config_path: config,
        ..PhoneOptions::default()
    })
    .map_err(|e| Failure(ui_line(&UiError::from(&e))))?;
    let accounts = phone.list_accounts();
    let a = match name {
        Some(n) => accounts
            .iter()
            .find(|a| a.id == n || a.display_name.eq_ignore_ascii_case(n)),
        None => accounts.first(),
    }
    .ok_or_else(|| Failure(format!("there is no account {:?}", name.unwrap_or(""))))?;
    let id = a.id.clone();
    // Subscribe before registering: a call may arrive right after the 200 to the REGISTER.
    let mut all = phone.subscribe_calls();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mine = id.clone();
    tokio::spawn(async move {
        loop {
            match all.recv().await {
                Ok(c) if c.account_id == mine => {
                    if tx.send(c.event).is_err() {
                        return;
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    });
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
        println!(
            "{}: {}; waiting for calls",
            a.display_name,
            status.summary()
        );
    }
    Ok((phone, id, rx))
}

pub(crate) fn answer(
    config: Option<PathBuf>,
    account: Option<&str>,
    listen: Option<SocketAddr>,
    count: u64,
    duration: Option<u64>,
    json: bool,
) -> Result<(), Failure> {
    runtime()?.block_on(async {
        let (calls, mut events) = match listen {
            Some(listen) => {
                let (calls, mut b) =
                    DirectCalls::start(DirectSetup::anonymous(listen), Arc::new(TokioClock))
                        .await
                        .map_err(|e| Failure(ui_line(&e)))?;
                if !json {
                    println!("listening on {} (UDP)", calls.local_addr());
                }
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                tokio::spawn(async move {
                    loop {
                        match b.recv().await {
                            Ok(ev) => {
                                if tx.send(ev).is_err() {
                                    return;
                                }
                            }
                            Err(RecvError::Lagged(_)) => {}
                            Err(RecvError::Closed) => return,
                        }
                    }
                });
                (Taker::Direct(calls), rx)
            }
            None => {
                let (phone, id, rx) = register_for_calls(config, account, json).await?;
                (Taker::Account(Box::new(phone), id), rx)
            }
        };
        let result = take_calls(&calls, &mut events, count, duration, json).await;
        if let Taker::Account(phone, _) = &calls {
            // Unregister before exiting, as the app does on quit.
            phone.stop_registrations().await;
        }
        result
    })
}

async fn take_calls(
    calls: &Taker,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<CallNotice>,
    count: u64,
    duration: Option<u64>,
    json: bool,
) -> Result<(), Failure> {
    {
        // Per call: the caller, when it was answered, when we hang it up.
        let mut live: HashMap<CallHandle, (String, Option<Instant>)> = HashMap::new();
        let mut hangups: Vec<(Instant, CallHandle)> = Vec::new();
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
                ev = events.recv() => match ev {
                    Some(CallNotice::Incoming { call, from, .. }) => {
                        if !json {
                            println!("incoming call from {from}");
                        }
                        live.insert(call, (from, None));
                        calls.command(CallCommand::Answer(call))?;
                    }
                    Some(CallNotice::Confirmed { call, .. }) => {
                        if let Some((from, at)) = live.get_mut(&call) {
                            let now = Instant::now();
                            *at = Some(now);
                            if !json {
                                println!("connected with {from}");
                            }
                            if let Some(d) = duration {
                                hangups.push((now + Duration::from_secs(d), call));
                            }
                        }
                    }
                    Some(CallNotice::Ended { call, cause }) => {
                        let Some((from, at)) = live.remove(&call) else { continue };
                        hangups.retain(|(_, c)| *c != call);
                        ended += 1;
                        let o = outcome(&cause);
                        if at.is_none() || !matches!(cause, EndCause::LocalHangup | EndCause::RemoteHangup) {
                            failed += 1;
                        }
                        let secs = at.map_or(0.0, |t| t.elapsed().as_secs_f64());
                        report(&o, secs, json, Some(&from));
                    }
                    Some(_) => {}
                    None => return Err(Failure("the call engine stopped".into())),
                },
                () = sleep => {
                    let now = Instant::now();
                    let due: Vec<CallHandle> = hangups.iter().filter(|(t, _)| *t <= now).map(|(_, c)| *c).collect();
                    hangups.retain(|(t, _)| *t > now);
                    for c in due {
                        calls.command(CallCommand::Hangup(c))?;
                    }
                }
            }
        }
        if failed > 0 {
            return Err(Failure(format!(
                "{failed} of {count} calls did not end cleanly"
            )));
        }
        Ok(())
    }
}
