//! `homeline message send|listen`: one-to-one instant messages (SIP MESSAGE, RFC 3428)
//! through an account's server.

use std::path::PathBuf;
use std::time::Duration;

use homeline_phone::presence::chat::{AccountMessage, ChatEvent};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::Failure;
use crate::call::{open_phone, register, runtime, ui_line};

/// The outcome of `message send --json`.
#[derive(Debug, Serialize)]
struct Sent<'a> {
    uri: &'a str,
    delivered: bool,
    /// The final SIP status (202 = stored by the server for an offline user).
    code: Option<u16>,
    reason: Option<String>,
}

/// One received message, `message listen --json`.
#[derive(Debug, Serialize)]
struct Received<'a> {
    from: &'a str,
    text: &'a str,
    time: &'a str,
}

pub(crate) fn send(
    config: Option<PathBuf>,
    uri: &str,
    text: &str,
    account: Option<&str>,
    timeout: u64,
    json: bool,
) -> Result<(), Failure> {
    let phone = open_phone(config, true)?;
    let rt = runtime()?;
    let result = rt.block_on(async {
        let id = register(&phone, account, true).await?;
        let mut events = phone.subscribe_messages();
        let outcome = async {
            let msg = phone
                .send_message(&id, uri, text)
                .await
                .map_err(|e| Failure(ui_line(&e)))?;
            let wait = async {
                loop {
                    match events.recv().await {
                        Ok(AccountMessage {
                            account_id,
                            event: ChatEvent::Delivered { id: m, code },
                        }) if account_id == id && m == msg => return Ok(code),
                        Ok(AccountMessage {
                            account_id,
                            event:
                                ChatEvent::Failed {
                                    id: m,
                                    code,
                                    reason,
                                },
                        }) if account_id == id && m == msg => return Err((code, reason)),
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => {
                            return Err((0, "the account stopped".to_owned()));
                        }
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(timeout), wait)
                .await
                .map_err(|_| Failure(format!("no answer to the message within {timeout} s")))
        }
        .await;
        phone.stop_registrations().await;
        outcome
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    let outcome = result?;
    if json {
        let sent = match &outcome {
            Ok(code) => Sent {
                uri,
                delivered: true,
                code: Some(*code),
                reason: None,
            },
            Err((code, reason)) => Sent {
                uri,
                delivered: false,
                code: (*code != 0).then_some(*code),
                reason: Some(reason.clone()),
            },
        };
        println!("{}", to_json(&sent)?);
    }
    match outcome {
        Ok(code) => {
            if !json {
                println!(
                    "{}",
                    if code == 202 {
                        "accepted: the server keeps the message until the recipient is online"
                    } else {
                        "delivered"
                    }
                );
            }
            Ok(())
        }
        Err((_, reason)) => Err(Failure(format!("the message was not delivered: {reason}"))),
    }
}

pub(crate) fn listen(
    config: Option<PathBuf>,
    account: Option<&str>,
    count: Option<u64>,
    timeout: Option<u64>,
    json: bool,
) -> Result<(), Failure> {
    let phone = open_phone(config, true)?;
    let rt = runtime()?;
    let result = rt.block_on(async {
        let mut events = phone.subscribe_messages();
        let id = register(&phone, account, true).await?;
        eprintln!("listening for messages (account {id}); Ctrl-C ends");
        let mut got = 0u64;
        let receive = async {
            loop {
                match events.recv().await {
                    Ok(AccountMessage {
                        account_id,
                        event:
                            ChatEvent::Received {
                                from, text, time, ..
                            },
                    }) if account_id == id => {
                        if json {
                            let line = to_json(&Received {
                                from: &from,
                                text: &text,
                                time: &time,
                            })?;
                            println!("{line}");
                        } else {
                            println!("[{time}] {from}: {text}");
                        }
                        got += 1;
                        if count.is_some_and(|n| got >= n) {
                            return Ok(());
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        eprintln!("homeline: warning: {n} messages were missed");
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(Failure("the account stopped".into()));
                    }
                }
            }
        };
        let limit = async {
            match timeout {
                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            r = receive => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
            () = limit => match count {
                Some(n) => Err(Failure(format!("{got} of {n} messages arrived in time"))),
                None => Ok(()),
            },
        };
        phone.stop_registrations().await;
        outcome
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

fn to_json(v: &impl Serialize) -> Result<String, Failure> {
    serde_json::to_string(v).map_err(|e| Failure(format!("could not encode JSON: {e}")))
}
