//! `homeline register`: one registration, its outcome in one line, then unregister.

use std::path::PathBuf;
use std::time::Duration;

use homeline_phone::{Phone, PhoneOptions, RegistrationState, RegistrationStatus, UiError};

use crate::Failure;

pub(crate) fn run(
    config: Option<PathBuf>,
    account: Option<&str>,
    timeout: u64,
    json: bool,
) -> Result<(), Failure> {
    let phone = Phone::open(PhoneOptions {
        config_path: config,
        ..PhoneOptions::default()
    })
    .map_err(|e| Failure(ui_line(&UiError::from(&e))))?;
    if let Some(p) = phone.config_problem() {
        return Err(Failure(ui_line(&p.to_ui_error())));
    }
    let accounts = phone.list_accounts();
    let chosen = match account {
        None => accounts.first().ok_or_else(|| {
            Failure(format!(
                "there is no account in {}; add one in the app or in the [[accounts]] table",
                phone.config_path().display()
            ))
        })?,
        Some(name) => accounts
            .iter()
            .find(|a| a.id == name)
            .or_else(|| {
                accounts
                    .iter()
                    .find(|a| a.display_name.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| {
                let known: Vec<String> = accounts
                    .iter()
                    .map(|a| format!("{} ({})", a.id, a.display_name))
                    .collect();
                Failure(format!(
                    "there is no account {name:?}; the accounts are: {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ))
            })?,
    };
    let id = chosen.id.clone();
    let name = chosen.display_name.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("could not start the network runtime: {e}")))?;
    let outcome = runtime.block_on(async {
        phone
            .start_registration(&id)
            .map_err(|e| Failure(ui_line(&UiError::from(&e))))?;
        let Some(mut watch) = phone.registration_watch(&id) else {
            return Err(Failure("the registration did not start (a bug)".into()));
        };
        let wait = async {
            loop {
                let status = watch.borrow_and_update().clone();
                if matches!(
                    status.state,
                    RegistrationState::Registered
                        | RegistrationState::Failed
                        | RegistrationState::Stopped
                ) {
                    return status;
                }
                if watch.changed().await.is_err() {
                    return watch.borrow().clone();
                }
            }
        };
        let result = tokio::time::timeout(Duration::from_secs(timeout), wait).await;
        let last = phone
            .registration_watch(&id)
            .map(|w| w.borrow().clone())
            .unwrap_or_else(|| RegistrationStatus::idle(&id));
        // Unregister (when registered) before exiting, as the app does on quit.
        phone.stop_registrations().await;
        Ok(result.map_err(|_| last))
    })?;
    runtime.shutdown_timeout(Duration::from_millis(200));
    match outcome {
        Ok(status) => report(&name, &status, json),
        Err(last) => {
            if json {
                print_json(&last)?;
            }
            Err(Failure(format!(
                "{name}: no registration within {timeout} s (last state: {})",
                last.summary()
            )))
        }
    }
}

fn report(name: &str, status: &RegistrationStatus, json: bool) -> Result<(), Failure> {
    if json {
        print_json(status)?;
    }
    match status.state {
        RegistrationState::Registered => {
            if !json {
                println!("{name}: {}", status.summary());
            }
            Ok(())
        }
        _ => Err(Failure(match &status.reason {
            Some(r) => format!("{name}: {}", ui_line(r)),
            None => format!("{name}: {}", status.summary()),
        })),
    }
}

fn print_json(status: &RegistrationStatus) -> Result<(), Failure> {
    let text = serde_json::to_string(status)
        .map_err(|e| Failure(format!("could not encode the status: {e}")))?;
    println!("{text}");
    Ok(())
}

fn ui_line(e: &UiError) -> String {
    format!("{} {}", e.message, e.hint)
}
