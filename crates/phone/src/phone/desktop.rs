//! The desktop app's own settings (`[app]` in the configuration file): what closing the window
//! does, and whether Homeline has already said that it keeps running in the tray.

use serde::{Deserialize, Serialize};

use super::Phone;
use crate::config;
use crate::error::Error;

/// Settings → General, as the UI shows and saves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DesktopSettings {
    /// Closing the window quits Homeline instead of keeping it in the tray.
    pub quit_on_close: bool,
}

impl Phone {
    /// Settings → General.
    pub fn desktop_settings(&self) -> DesktopSettings {
        DesktopSettings {
            quit_on_close: self.state().config.app.quit_on_close,
        }
    }

    /// Saves Settings → General and returns it as stored.
    pub fn save_desktop_settings(
        &self,
        settings: DesktopSettings,
    ) -> Result<DesktopSettings, Error> {
        self.update_app_config(|app| app.quit_on_close = settings.quit_on_close)?;
        tracing::info!(
            quit_on_close = settings.quit_on_close,
            "desktop settings saved"
        );
        Ok(self.desktop_settings())
    }

    /// True the first time the window is closed into the tray (then never again, also across
    /// restarts): the moment to say once that Homeline keeps running there. When the
    /// configuration cannot be written (a newer file, a full disk) the notice is shown again
    /// next time rather than never.
    pub fn first_close_to_tray(&self) -> bool {
        if self.state().config.app.tray_notice_shown {
            return false;
        }
        if let Err(e) = self.update_app_config(|app| app.tray_notice_shown = true) {
            tracing::debug!(error = %e, "could not remember the tray notice");
        }
        true
    }

    fn update_app_config(&self, change: impl FnOnce(&mut config::AppConfig)) -> Result<(), Error> {
        let mut state = self.state();
        self.check_saving_allowed()?;
        let mut config = state.config.clone();
        change(&mut config.app);
        config::save(&self.config_path, &config)?;
        state.config = config;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PhoneOptions, SecretBackendChoice};

    fn phone(dir: &std::path::Path) -> Phone {
        Phone::open(PhoneOptions {
            config_path: Some(dir.join("homeline.toml")),
            log_dir: Some(dir.join("logs")),
            secret_backend: SecretBackendChoice::SessionOnly,
            history_path: Some(dir.join("history.jsonl")),
        })
        .expect("open")
    }

    #[test]
    fn quit_on_close_is_saved_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = phone(dir.path());
        assert!(
            !p.desktop_settings().quit_on_close,
            "off by default: the tray keeps calls coming"
        );
        let saved = p
            .save_desktop_settings(DesktopSettings {
                quit_on_close: true,
            })
            .expect("save");
        assert!(saved.quit_on_close);
        let text = std::fs::read_to_string(dir.path().join("homeline.toml")).expect("read");
        assert!(
            text.contains("[app]") && text.contains("quit_on_close = true"),
            "{text}"
        );
        assert!(
            phone(dir.path()).desktop_settings().quit_on_close,
            "kept across a restart"
        );
    }

    #[test]
    fn tray_notice_is_said_once_across_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = phone(dir.path());
        assert!(p.first_close_to_tray());
        assert!(!p.first_close_to_tray());
        assert!(!phone(dir.path()).first_close_to_tray());
    }
}
