//! `homeline relays`: probe the configured TURN relays over each transport and say which
//! calls use.

use std::path::PathBuf;

use homeline_phone::{Phone, PhoneOptions, UiError};

use crate::Failure;

pub(crate) fn run(
    config: Option<PathBuf>,
    account: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let phone = Phone::open(PhoneOptions {
        config_path: config,
        ..PhoneOptions::default()
    })
    .map_err(|e| Failure(line(&UiError::from(&e))))?;
    if let Some(p) = phone.config_problem() {
        return Err(Failure(line(&p.to_ui_error())));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("could not start the network runtime: {e}")))?;
    let report = runtime
        .block_on(phone.probe_relays(account))
        .map_err(|e| Failure(line(&e)))?;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure(format!("could not encode the report: {e}")))?;
        println!("{text}");
    } else {
        for r in &report.relays {
            let mark = if r.used { "*" } else { " " };
            match (&r.error, r.rtt_ms) {
                (None, Some(rtt)) => println!(
                    "{mark} {:<50} {:<4} works  rtt {rtt} ms{}",
                    r.uri,
                    r.transport.to_uppercase(),
                    r.relayed
                        .as_deref()
                        .map(|a| format!("  relayed address {a}"))
                        .unwrap_or_default()
                ),
                (Some(e), _) => println!(
                    "{mark} {:<50} {:<4} fails: {}. {}",
                    r.uri,
                    r.transport.to_uppercase(),
                    e.message,
                    e.hint
                ),
                (None, None) => println!("{mark} {:<50} {:<4} unknown", r.uri, r.transport),
            }
        }
        println!("{}", report.summary);
    }
    if report.used.is_none() && !report.relays.is_empty() {
        return Err(Failure(report.summary));
    }
    Ok(())
}

fn line(e: &UiError) -> String {
    format!("{} {}", e.message, e.hint)
}
