//! `homeline diagnose`: the connectivity test, its checks printed as they finish, then the
//! verdict; `--apply` writes the safe fixes; exit 0 when nothing is a problem, 1 otherwise.

use std::io::Write;
use std::path::PathBuf;

use homeline_phone::config;
use homeline_phone::diag::model::{Check, Report, Status};
use homeline_phone::diag::{DiagEvent, DiagOptions, apply_fixes, run};

use crate::Failure;

/// The outcome for `main`: `Ok(true)` = something is a problem (exit 1 with the report
/// printed, no extra error line).
pub(crate) fn diagnose(
    config_path: Option<PathBuf>,
    account: Option<String>,
    json: bool,
    apply: bool,
    no_background: bool,
) -> Result<bool, Failure> {
    let path = match config_path {
        Some(p) => p,
        None => config::default_config_path().map_err(|e| Failure(e.to_string()))?,
    };
    let cfg = config::check(&path)
        .map_err(|p| Failure(p.to_string()))?
        .config;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("could not start the network runtime: {e}")))?;
    // The relays of the account (or the global ones), with their passwords: from the file, or
    // from the keyring, which is opened only when there is a relay to test.
    let has_relays = !cfg.network.turn.is_empty() || cfg.accounts.iter().any(|a| a.turn.is_some());
    let relay_hook = if has_relays {
        let phone = crate::call::open_phone(Some(path.clone()), true)?;
        let id = account.as_deref().or_else(|| {
            cfg.accounts
                .iter()
                .find(|a| !a.registrar.is_empty())
                .map(|a| a.id.as_str())
        });
        let targets = phone.relay_targets(id).map_err(|e| Failure(e.message))?;
        homeline_phone::diag::relay_hook(targets, cfg.network.tls_ca_file.clone())
    } else {
        None
    };
    let opts = DiagOptions {
        account,
        background: !no_background,
        quality_packets: 0,
        relay_hook,
    };
    let mut printer = |e: DiagEvent| {
        if json {
            return;
        }
        let mut out = std::io::stdout().lock();
        match e {
            DiagEvent::Running { .. } | DiagEvent::Finished { .. } => {}
            DiagEvent::Check { check } => {
                let _ = writeln!(out, "{}", check_lines(&check));
            }
            DiagEvent::Verdict { report } => {
                let _ = writeln!(
                    out,
                    "Verdict: {} ({:.1} s)",
                    report.verdict,
                    report.duration_ms as f64 / 1000.0
                );
                if !no_background {
                    let _ = writeln!(
                        out,
                        "Measuring how long your router remembers a call (up to 4 minutes) ..."
                    );
                }
            }
        }
        let _ = out.flush();
    };
    let result = runtime
        .block_on(run(&cfg, &opts, &mut printer))
        .map_err(Failure)?;
    let mut report: Report = result.report;
    if apply {
        let fixes = report.safe_fixes();
        let (applied, _) =
            apply_fixes(&path, result.account_id.as_deref(), &fixes).map_err(Failure)?;
        report.fixes_applied = applied;
    }
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure(format!("could not encode the report: {e}")))?;
        println!("{text}");
    } else {
        println!("Verdict: {}", report.verdict);
        if apply {
            if report.fixes_applied.is_empty() {
                println!("No fix to apply.");
            }
            for f in &report.fixes_applied {
                println!("Fixed: {}", f.description);
            }
        } else {
            let fixes = report.safe_fixes();
            if !fixes.is_empty() {
                println!(
                    "Homeline can fix {} of this by itself: run `homeline diagnose --apply`.",
                    if fixes.len() == 1 {
                        "one thing"
                    } else {
                        "some"
                    }
                );
            }
        }
    }
    Ok(report.has_problem())
}

fn check_lines(c: &Check) -> String {
    let tag = match c.status {
        Status::Ok => "ok     ",
        Status::Warning => "warning",
        Status::Problem => "PROBLEM",
        Status::Skipped => "skipped",
    };
    let mut s = format!("[{tag}] {}: {}", c.id.title(), c.finding);
    if let Some(fix) = &c.fix
        && c.status != Status::Ok
    {
        s.push_str(&format!("\n          Fix: {fix}"));
    }
    s
}
