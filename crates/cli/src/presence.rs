//! `homeline presence set|watch`: publish our status, watch contacts' (SIP presence,
//! RFC 3856/3903); `homeline voicemail`: the message summary (RFC 3842).

use std::path::PathBuf;
use std::time::Duration;

use homeline_phone::presence::agent::{AccountPresence, PresenceEvent};
use homeline_presence::Status;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::Failure;
use crate::call::{open_phone, register, runtime, ui_line};

/// One line of `presence watch --json`.
#[derive(Debug, Serialize)]
struct Line<'a> {
    uri: &'a str,
    status: &'a str,
    note: Option<&'a str>,
}

async fn until(duration: Option<u64>) {
    let limit = async {
        match duration {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = limit => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

pub(crate) fn set(
    config: Option<PathBuf>,
    status: &str,
    note: Option<String>,
    account: Option<&str>,
    duration: Option<u64>,
) -> Result<(), Failure> {
    let status = Status::parse(status)
        .filter(|s| *s != Status::Unknown)
        .ok_or_else(|| {
            Failure(format!(
                "{status:?} is not a status; use available, away, busy (do not disturb), \
             on-the-phone or offline (appear offline)"
            ))
        })?;
    let phone = open_phone(config, true)?;
    let rt = runtime()?;
    let result = rt.block_on(async {
        let id = register(&phone, account, true).await?;
        let mut events = phone.subscribe_presence();
        let outcome = async {
            phone
                .set_presence(&id, status, note.clone())
                .await
                .map_err(|e| Failure(ui_line(&e)))?;
            let first = tokio::time::timeout(Duration::from_secs(40), async {
                loop {
                    match events.recv().await {
                        Ok(AccountPresence {
                            account_id,
                            event: PresenceEvent::Published { status },
                        }) if account_id == id => return Ok(status),
                        Ok(AccountPresence {
                            account_id,
                            event: PresenceEvent::Unavailable { uri: None, reason },
                        }) if account_id == id => return Err(Failure(ui_line(&reason))),
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => {
                            return Err(Failure("the account stopped".into()));
                        }
                    }
                }
            })
            .await
            .map_err(|_| Failure("the server did not confirm the status within 40 s".into()))??;
            match &note {
                Some(n) => println!("published: {} ({n})", first.as_str()),
                None => println!("published: {}", first.as_str()),
            }
            until(duration).await;
            Ok(())
        }
        .await;
        // Unpublishes (watchers see offline) and unregisters.
        phone.stop_registrations().await;
        outcome
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

pub(crate) fn watch(
    config: Option<PathBuf>,
    uris: &[String],
    account: Option<&str>,
    count: Option<u64>,
    timeout: Option<u64>,
    json: bool,
) -> Result<(), Failure> {
    let phone = open_phone(config, true)?;
    let rt = runtime()?;
    let result = rt.block_on(async {
        let mut events = phone.subscribe_presence();
        let id = register(&phone, account, true).await?;
        for u in uris {
            phone
                .watch_presence(&id, u)
                .map_err(|e| Failure(ui_line(&e)))?;
        }
        eprintln!("watching {} contact(s); Ctrl-C ends", uris.len());
        let mut got = 0u64;
        let receive = async {
            loop {
                match events.recv().await {
                    Ok(AccountPresence {
                        account_id,
                        event: PresenceEvent::Contact { uri, status, note },
                    }) if account_id == id => {
                        if json {
                            let line = serde_json::to_string(&Line {
                                uri: &uri,
                                status: status.as_str(),
                                note: note.as_deref(),
                            })
                            .map_err(|e| Failure(format!("could not encode JSON: {e}")))?;
                            println!("{line}");
                        } else {
                            match &note {
                                Some(n) => println!("{uri}: {} ({n})", status.as_str()),
                                None => println!("{uri}: {}", status.as_str()),
                            }
                        }
                        got += 1;
                        if count.is_some_and(|n| got >= n) {
                            return Ok(());
                        }
                    }
                    Ok(AccountPresence {
                        account_id,
                        event: PresenceEvent::Unavailable { uri, reason },
                    }) if account_id == id => {
                        eprintln!(
                            "homeline: warning: {}{}",
                            uri.map(|u| format!("{u}: ")).unwrap_or_default(),
                            ui_line(&reason)
                        );
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(Failure("the account stopped".into()));
                    }
                }
            }
        };
        let outcome = tokio::select! {
            r = receive => r,
            () = until(timeout) => match count {
                Some(n) if got < n => Err(Failure(format!("{got} of {n} changes arrived in time"))),
                _ => Ok(()),
            },
        };
        phone.stop_registrations().await;
        outcome
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

/// One line of `voicemail --json`.
#[derive(Debug, Serialize)]
struct VoicemailLine<'a> {
    account: &'a str,
    waiting: bool,
    new: u32,
    old: u32,
    urgent_new: u32,
    message_account: Option<&'a str>,
    voicemail_number: Option<&'a str>,
}

pub(crate) fn voicemail(
    config: Option<PathBuf>,
    account: Option<&str>,
    follow: bool,
    timeout: Option<u64>,
    json: bool,
) -> Result<(), Failure> {
    let phone = open_phone(config, true)?;
    let rt = runtime()?;
    let timeout = timeout.or((!follow).then_some(20));
    let result = rt.block_on(async {
        let mut events = phone.subscribe_presence();
        let id = register(&phone, account, true).await?;
        let mut got = 0u64;
        let receive = async {
            loop {
                match events.recv().await {
                    Ok(AccountPresence {
                        account_id,
                        event:
                            PresenceEvent::Voicemail {
                                waiting,
                                new,
                                old,
                                urgent_new,
                                message_account,
                                voicemail_number,
                            },
                    }) if account_id == id => {
                        if json {
                            let line = serde_json::to_string(&VoicemailLine {
                                account: &account_id,
                                waiting,
                                new,
                                old,
                                urgent_new,
                                message_account: message_account.as_deref(),
                                voicemail_number: voicemail_number.as_deref(),
                            })
                            .map_err(|e| Failure(format!("could not encode JSON: {e}")))?;
                            println!("{line}");
                        } else {
                            let urgent = if urgent_new > 0 {
                                format!(" ({urgent_new} urgent)")
                            } else {
                                String::new()
                            };
                            let dial = voicemail_number
                                .map(|n| format!("; call {n} to listen"))
                                .unwrap_or_default();
                            if waiting || new > 0 {
                                println!("voicemail: {new} new{urgent}, {old} old{dial}");
                            } else {
                                println!("voicemail: no new messages, {old} old");
                            }
                        }
                        got += 1;
                        if !follow {
                            return Ok(());
                        }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(Failure("the account stopped".into()));
                    }
                }
            }
        };
        let outcome = tokio::select! {
            r = receive => r,
            () = until(timeout) => if got == 0 {
                Err(Failure(
                    "the server sent no voicemail summary in time (it may not offer \
                     message waiting, or the account has no voicemail_number)"
                        .into(),
                ))
            } else {
                Ok(())
            },
        };
        phone.stop_registrations().await;
        outcome
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}
