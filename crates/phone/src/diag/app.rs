//! The connectivity test as the app and the CLI use it: run it on the phone's configuration
//! with a progress callback, apply and undo its safe fixes (the phone's configuration reloaded
//! after each), export a report (text and JSON) and keep the last runs.
//!
//! Files, in the `diagnostics` folder beside the log folder: `history.json` (the last
//! [`HISTORY_LEN`] runs, newest first) and `undo.json` (the configuration as it was before
//! the last applied fixes, for Undo; it survives a restart of the app).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use homeline_diag::{AppliedFix, CheckId, Report, SafeFix};
use serde::{Deserialize, Serialize};

use super::{DiagEvent, DiagOptions, apply_fixes, run, undo_fixes};
use crate::api::UiError;
use crate::config::{self, Config};
use crate::phone::Phone;

/// How many runs the history keeps.
pub const HISTORY_LEN: usize = 10;

/// One run in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagRunRecord {
    /// When the run ended, RFC 3339 UTC.
    pub finished_at: String,
    /// The account tested (id), if any.
    pub account_id: Option<String>,
    /// The report.
    pub report: Report,
}

/// What the last Fix changed, kept for Undo.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UndoRecord {
    before: Config,
    applied: Vec<AppliedFix>,
}

/// Where a report was exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedReport {
    /// The plain-text report.
    pub text_path: String,
    /// The JSON report (the CLI's `--json` object).
    pub json_path: String,
}

fn err(code: &str, message: impl Into<String>, hint: &str) -> UiError {
    UiError::new(code, message, hint)
}

fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn file_stamp(t: SystemTime) -> String {
    let d = time::OffsetDateTime::from(t);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// The report as plain text for IT support: the verdict, then each check with its finding,
/// fix and details.
pub fn report_text(record: &DiagRunRecord) -> String {
    let r = &record.report;
    let mut s = format!(
        "Homeline connectivity test\nFinished: {}\nAccount: {}\nVerdict: {}\nDuration: {:.1} s\n",
        record.finished_at,
        record.account_id.as_deref().unwrap_or("(none)"),
        r.verdict,
        r.duration_ms as f64 / 1000.0
    );
    for c in &r.checks {
        s.push_str(&format!(
            "\n[{}] {}: {}\n",
            c.status.as_str(),
            c.id.title(),
            c.finding
        ));
        if let Some(fix) = &c.fix {
            s.push_str(&format!("  Fix: {fix}\n"));
        }
        // The per-packet samples are for the plot; the summary figures say enough here.
        let mut details = c.details.clone();
        if let Some(map) = details.as_object_mut() {
            map.remove("samples");
        }
        if details.as_object().is_some_and(|m| !m.is_empty()) {
            s.push_str(&format!("  Details: {details}\n"));
        }
    }
    for f in &r.fixes_applied {
        s.push_str(&format!("\nFixed: {}\n", f.description));
    }
    s
}

impl Phone {
    fn diag_dir(&self) -> PathBuf {
        self.log_dir()
            .parent()
            .unwrap_or(self.log_dir())
            .join("diagnostics")
    }

    /// Runs the connectivity test on the configuration in use. `progress` gets each event
    /// (the checks as they finish, the quick verdict, the end); the final report is returned
    /// and kept in the history.
    pub async fn diagnose(
        &self,
        account: Option<String>,
        background: bool,
        progress: &mut (dyn FnMut(DiagEvent) + Send),
    ) -> Result<DiagRunRecord, UiError> {
        let cfg = self.config();
        let opts = DiagOptions {
            account,
            background,
            quality_packets: 0,
            relay_hook: None,
        };
        let done = run(&cfg, &opts, progress).await.map_err(|m| {
            err(
                "diagnose_failed",
                format!("The connectivity test could not run: {m}."),
                "Check the account in Settings, then try again.",
            )
        })?;
        let record = DiagRunRecord {
            finished_at: rfc3339(SystemTime::now()),
            account_id: done.account_id,
            report: done.report,
        };
        if let Err(e) = self.push_diag_history(&record) {
            tracing::warn!(error = %e, "the connectivity test's history could not be saved");
        }
        Ok(record)
    }

    /// The last runs, newest first (empty when none was kept).
    pub fn diag_history(&self) -> Vec<DiagRunRecord> {
        let path = self.diag_dir().join("history.json");
        std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn push_diag_history(&self, record: &DiagRunRecord) -> Result<(), String> {
        let mut all = self.diag_history();
        all.insert(0, record.clone());
        all.truncate(HISTORY_LEN);
        write_json(&self.diag_dir(), "history.json", &all)
    }

    /// Applies the safe fixes of `record`'s report (all, or those of the check `only`) for
    /// the account it tested to the configuration and reloads it; returns what changed (empty
    /// when every setting already had the fixed value). The previous values are kept for
    /// [`undo_diag_fixes`](Self::undo_diag_fixes).
    pub fn apply_diag_fixes(
        &self,
        record: &DiagRunRecord,
        only: Option<CheckId>,
    ) -> Result<Vec<AppliedFix>, UiError> {
        let mut fixes = record.report.safe_fixes();
        if let Some(id) = only {
            fixes.retain(|(check, _)| *check == id);
        }
        // The record comes back from the UI: a keep-alive the configuration would refuse to
        // load must not be written (the next start would set the whole file aside).
        if let Some(secs) = fixes.iter().find_map(|(_, f)| match f {
            SafeFix::KeepAlive { secs } if !config::KEEPALIVE_RANGE.contains(secs) => Some(*secs),
            _ => None,
        }) {
            return Err(err(
                "fix_refused",
                format!(
                    "A keep-alive every {secs} s is outside what Homeline accepts ({} to {} s).",
                    config::KEEPALIVE_RANGE.start(),
                    config::KEEPALIVE_RANGE.end()
                ),
                "Run the test again and apply the fix it then offers.",
            ));
        }
        let (applied, before) =
            apply_fixes(self.config_path(), record.account_id.as_deref(), &fixes)
                .map_err(|m| err("fix_failed", m, "Open Settings to check the configuration."))?;
        self.reload_config_from_disk();
        if !applied.is_empty() {
            let undo = UndoRecord {
                before,
                applied: applied.clone(),
            };
            write_json(&self.diag_dir(), "undo.json", &undo).map_err(|m| {
                err(
                    "fix_undo_unsaved",
                    format!("The fixes were applied, but Undo could not be prepared: {m}."),
                    "Change the settings back by hand in Settings if you need to.",
                )
            })?;
        }
        Ok(applied)
    }

    /// Puts back what the last [`apply_diag_fixes`](Self::apply_diag_fixes) changed and
    /// returns those fixes; an error when there is nothing to undo.
    pub fn undo_diag_fixes(&self) -> Result<Vec<AppliedFix>, UiError> {
        let path = self.diag_dir().join("undo.json");
        let undo: UndoRecord = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                err(
                    "nothing_to_undo",
                    "There is no fix to undo.",
                    "Fixes applied by the connectivity test can be undone until the next fix.",
                )
            })?;
        undo_fixes(self.config_path(), &undo.before, &undo.applied).map_err(|m| {
            err(
                "undo_failed",
                m,
                "Open Settings to check the configuration.",
            )
        })?;
        self.reload_config_from_disk();
        let _ = std::fs::remove_file(&path);
        Ok(undo.applied)
    }

    /// Writes `record` as `homeline-diagnostics-YYYYMMDD-HHMMSS.txt` and `.json` into the
    /// Downloads folder (the home folder when there is none).
    pub fn export_diag_report(&self, record: &DiagRunRecord) -> Result<ExportedReport, UiError> {
        let dest = directories::UserDirs::new()
            .and_then(|u| {
                u.download_dir()
                    .map(Path::to_path_buf)
                    .or_else(|| Some(u.home_dir().to_path_buf()))
            })
            .ok_or_else(|| {
                err(
                    "no_download_folder",
                    "Homeline could not find your Downloads or home folder.",
                    "Copy the report from the Diagnostics tab instead.",
                )
            })?;
        self.export_diag_report_to(record, &dest)
    }

    /// Like [`export_diag_report`](Self::export_diag_report) into a chosen folder.
    pub fn export_diag_report_to(
        &self,
        record: &DiagRunRecord,
        dest: &Path,
    ) -> Result<ExportedReport, UiError> {
        let stamp = file_stamp(SystemTime::now());
        let text_path = dest.join(format!("homeline-diagnostics-{stamp}.txt"));
        let json_path = dest.join(format!("homeline-diagnostics-{stamp}.json"));
        let json = serde_json::to_string_pretty(&record.report).map_err(|e| {
            err(
                "export_failed",
                format!("The report could not be encoded: {e}."),
                "Run the test again.",
            )
        })?;
        let write = |p: &Path, body: &str| {
            std::fs::create_dir_all(dest)
                .and_then(|()| std::fs::write(p, body))
                .map_err(|e| {
                    err(
                        "export_failed",
                        format!("The report could not be written to {}: {e}.", p.display()),
                        "Check that the folder exists and that you may write to it.",
                    )
                })
        };
        write(&text_path, &report_text(record))?;
        write(&json_path, &json)?;
        Ok(ExportedReport {
            text_path: text_path.display().to_string(),
            json_path: json_path.display().to_string(),
        })
    }
}

/// Writes `value` as JSON to `dir/name` atomically (a temporary file, then rename).
fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let body = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, body).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, dir.join(name)).map_err(|e| e.to_string())
}
