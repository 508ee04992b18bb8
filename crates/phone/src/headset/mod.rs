//! Headset integration: the `[headset]` settings, the driver that connects a headset's buttons
//! and LEDs to calls ([`driver`]), and the watcher that finds the headset, opens it, and opens it
//! again after it is unplugged and plugged back in.
//!
//! The protocol logic (descriptor, state machine, device rules) lives in `homeline-headset`;
//! this module is the tokio glue and the API the app and the CLI use.

pub mod config;
pub mod driver;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use homeline_headset::backend::{self, HeadsetInfo};
use homeline_headset::{HeadsetEvent, TelephonyLayout, Transport};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

pub use config::HeadsetConfig;
pub use driver::HeadsetDriver;
/// The protocol crate, for the CLI and the shell (which know only `homeline-phone`).
pub use homeline_headset as core;

use crate::api::UiError;
use crate::error::Error;
use crate::phone::Phone;

/// How often the watcher looks for a headset while none is open (reading sysfs; cheap).
const RESCAN: Duration = Duration::from_secs(2);

/// What Settings → Headset shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadsetStatus {
    /// `off` (integration switched off), `searching` (no headset found yet), `connected`,
    /// `problem` (found but cannot be used: see `problem`), `stopped` (not started).
    pub state: String,
    /// The headset in use (or the one with the problem).
    pub device: Option<String>,
    /// Its audio device, when paired.
    pub audio_device: Option<String>,
    /// Why it cannot be used, in plain words, with the fix.
    pub problem: Option<UiError>,
    /// The switches in force.
    pub settings: HeadsetConfig,
}

impl Default for HeadsetStatus {
    fn default() -> Self {
        HeadsetStatus {
            state: "stopped".into(),
            device: None,
            audio_device: None,
            problem: None,
            settings: HeadsetConfig::default(),
        }
    }
}

/// The phone's headset state (one per [`Phone`]).
#[derive(Debug, Default)]
pub struct HeadsetSlot {
    config: Mutex<Option<watch::Sender<HeadsetConfig>>>,
    status: Arc<Mutex<HeadsetStatus>>,
    events: Mutex<Option<broadcast::Sender<HeadsetEvent>>>,
    /// The audio devices chosen in Settings → Audio (microphone, speaker): a headset among
    /// them is the one whose buttons are used when `[headset] device` names none.
    audio: Mutex<Option<watch::Sender<Vec<String>>>>,
}

fn problem_ui(p: &backend::Problem) -> UiError {
    UiError::new(&p.code, p.message.clone(), p.hint.clone())
}

impl HeadsetSlot {
    fn status(&self) -> HeadsetStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_status(status: &Arc<Mutex<HeadsetStatus>>, f: impl FnOnce(&mut HeadsetStatus)) {
        f(&mut status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn events(&self) -> broadcast::Sender<HeadsetEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| broadcast::channel(64).0)
            .clone()
    }

    /// The config channel, made on first use.
    fn config_rx(&self, initial: HeadsetConfig) -> Option<watch::Receiver<HeadsetConfig>> {
        let mut c = self.config.lock().unwrap_or_else(PoisonError::into_inner);
        if c.is_some() {
            return None; // already running
        }
        let (tx, rx) = watch::channel(initial);
        *c = Some(tx);
        Some(rx)
    }

    fn audio_tx(&self) -> watch::Sender<Vec<String>> {
        self.audio
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| watch::channel(Vec::new()).0)
            .clone()
    }

    /// The audio devices chosen in Settings → Audio changed: the watcher picks the headset
    /// that owns them, if another.
    pub(crate) fn push_audio(&self, chosen: Vec<String>) {
        self.audio_tx().send_if_modified(|v| {
            let changed = *v != chosen;
            *v = chosen;
            changed
        });
    }

    fn push_config(&self, cfg: HeadsetConfig) {
        if let Some(tx) = self
            .config
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            tx.send_replace(cfg.clone());
        }
        Self::set_status(&self.status, |s| s.settings = cfg);
    }
}

/// The telephony headsets attached (blocking: reads sysfs / asks the HID layer), paired with
/// these audio devices by name when sysfs cannot pair them.
pub fn list_headsets(audio_devices: &[String]) -> Result<Vec<HeadsetInfo>, UiError> {
    backend::list(audio_devices).map_err(|e| {
        UiError::new(
            "headset_list",
            format!("The headsets could not be listed: {e}."),
            "Check that the HID devices of this computer can be read.",
        )
    })
}

impl Phone {
    /// The `[headset]` settings.
    pub fn headset_settings(&self) -> HeadsetConfig {
        self.config().headset
    }

    /// Saves the `[headset]` settings and applies them at once to a running headset.
    pub fn save_headset_settings(&self, settings: HeadsetConfig) -> Result<HeadsetConfig, Error> {
        let mut settings = settings;
        settings.device = settings
            .device
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty());
        self.update_config(|c| c.headset = settings.clone())?;
        tracing::info!(?settings, "headset settings saved");
        self.headset_slot().push_config(settings.clone());
        Ok(settings)
    }

    /// What Settings → Headset shows.
    pub fn headset_status(&self) -> HeadsetStatus {
        let mut s = self.headset_slot().status();
        s.settings = self.headset_settings();
        if !s.settings.enabled && s.state != "stopped" {
            s.state = "off".into();
        }
        s
    }

    /// Every headset button event acted on, from now on.
    pub fn subscribe_headset(&self) -> broadcast::Receiver<HeadsetEvent> {
        self.headset_slot().events().subscribe()
    }

    /// The telephony headsets attached (blocking: reads sysfs / asks the HID layer).
    pub fn list_headsets(&self) -> Result<Vec<HeadsetInfo>, UiError> {
        let devices = self.audio_devices();
        let audio: Vec<String> = devices
            .inputs
            .iter()
            .chain(devices.outputs.iter())
            .map(|d| d.name.clone())
            .collect();
        list_headsets(&audio)
    }

    /// Starts headset integration on the attached hardware: finds the headset, opens it, acts
    /// on its buttons, and opens it again after an unplug. Needs the tokio runtime and starts
    /// the call manager. Does nothing if already started.
    pub fn start_headset(&self) -> Result<(), UiError> {
        let calls = self.calls()?.clone();
        let slot = self.headset_slot();
        let Some(rx) = slot.config_rx(self.headset_settings()) else {
            return Ok(());
        };
        let status = slot.status.clone();
        let events = slot.events();
        slot.push_audio(chosen_audio(&self.config().audio));
        let audio = slot.audio_tx().subscribe();
        tokio::spawn(watch_devices(calls, rx, audio, status, events));
        Ok(())
    }

    /// Attaches an already open device (tests: an in-memory headset; embedders). The driver
    /// follows the `[headset]` switches, also when they change. Returns the driver; it runs
    /// until the device is gone or the driver is dropped.
    pub fn attach_headset(
        &self,
        name: &str,
        transport: Transport,
        layout: TelephonyLayout,
    ) -> Result<HeadsetDriver, UiError> {
        let calls = self.calls()?.clone();
        let slot = self.headset_slot();
        let cfg = self.headset_settings();
        let rx = slot.config_rx(cfg.clone());
        let driver = HeadsetDriver::start(calls, transport, layout, cfg.switches());
        forward_events(&driver, slot.events());
        if let Some(mut rx) = rx {
            let sw = driver.switch_sender();
            tokio::spawn(async move {
                while rx.changed().await.is_ok() {
                    let s = rx.borrow_and_update().switches();
                    if sw.send(s).is_err() {
                        return;
                    }
                }
            });
        }
        HeadsetSlot::set_status(&slot.status, |s| {
            s.state = "connected".into();
            s.device = Some(name.to_string());
            s.problem = None;
        });
        Ok(driver)
    }
}

fn forward_events(driver: &HeadsetDriver, to: broadcast::Sender<HeadsetEvent>) {
    let mut rx = driver.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let _ = to.send(e);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// The microphone and speaker chosen in Settings → Audio (the system default names none).
pub(crate) fn chosen_audio(audio: &crate::config::AudioConfig) -> Vec<String> {
    [&audio.microphone, &audio.speaker]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

/// The headset whose buttons are used: the one `[headset] device` names; else the one whose
/// audio device is chosen in Settings → Audio (choosing the headset there chooses its buttons);
/// else the first usable one.
fn chosen<'a>(
    found: &'a [HeadsetInfo],
    wanted: Option<&str>,
    audio: &[String],
) -> Option<&'a HeadsetInfo> {
    let usable = |h: &&HeadsetInfo| {
        h.layout
            .as_ref()
            .is_some_and(TelephonyLayout::is_call_control)
    };
    let owns_audio = |h: &&HeadsetInfo| audio.iter().any(|a| h.belongs_to_audio_device(a));
    match wanted {
        Some(w) => found
            .iter()
            .filter(usable)
            .find(|h| h.name().eq_ignore_ascii_case(w) || h.path == w),
        None => found
            .iter()
            .filter(usable)
            .filter(owns_audio)
            .find(|h| h.problem.is_none())
            .or_else(|| found.iter().filter(usable).find(|h| h.problem.is_none()))
            .or_else(|| found.iter().find(usable)),
    }
}

async fn watch_devices(
    calls: crate::calls::Calls,
    mut cfg: watch::Receiver<HeadsetConfig>,
    mut audio: watch::Receiver<Vec<String>>,
    status: Arc<Mutex<HeadsetStatus>>,
    events: broadcast::Sender<HeadsetEvent>,
) {
    loop {
        let c = cfg.borrow_and_update().clone();
        HeadsetSlot::set_status(&status, |s| s.settings = c.clone());
        if !c.enabled {
            HeadsetSlot::set_status(&status, |s| {
                s.state = "off".into();
                s.problem = None;
            });
            if cfg.changed().await.is_err() {
                return;
            }
            continue;
        }
        let found = tokio::task::spawn_blocking(|| backend::list(&[]))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let audio_now = audio.borrow_and_update().clone();
        let Some(h) = chosen(&found, c.device.as_deref(), &audio_now).cloned() else {
            HeadsetSlot::set_status(&status, |s| {
                s.state = "searching".into();
                s.device = None;
                s.audio_device = None;
                s.problem = None;
            });
            tokio::select! {
                _ = tokio::time::sleep(RESCAN) => {}
                r = cfg.changed() => if r.is_err() { return },
                r = audio.changed() => if r.is_err() { return },
            }
            continue;
        };
        let (path, vid) = (h.path.clone(), h.vendor_id);
        let opened = tokio::task::spawn_blocking(move || backend::open(&path, vid)).await;
        let (transport, layout) = match opened {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                let problem = match &e {
                    backend::BackendError::Open(p) => problem_ui(p),
                    other => UiError::new(
                        "headset_open",
                        format!("The headset could not be opened: {other}."),
                        "Unplug the headset and plug it in again.",
                    ),
                };
                HeadsetSlot::set_status(&status, |s| {
                    s.state = "problem".into();
                    s.device = Some(h.name());
                    s.problem = Some(problem);
                });
                tokio::select! {
                    _ = tokio::time::sleep(RESCAN) => {}
                    r = cfg.changed() => if r.is_err() { return },
                }
                continue;
            }
            Err(_) => return,
        };
        let mut driver = HeadsetDriver::start(calls.clone(), transport, layout, c.switches());
        forward_events(&driver, events.clone());
        tracing::info!(device = %h.name(), "headset connected");
        HeadsetSlot::set_status(&status, |s| {
            s.state = "connected".into();
            s.device = Some(h.name());
            s.audio_device = h.audio.as_ref().map(|a| a.audio_device.clone());
            s.problem = None;
        });
        loop {
            tokio::select! {
                _ = driver.finished() => break,
                r = cfg.changed() => {
                    if r.is_err() {
                        return;
                    }
                    let n = cfg.borrow().clone();
                    if !n.enabled || n.device != c.device {
                        break; // closes the device; the outer loop applies the new settings
                    }
                    driver.set_switches(n.switches());
                }
                r = audio.changed() => {
                    if r.is_err() {
                        return; // the phone is gone
                    }
                    let now = audio.borrow_and_update().clone();
                    let other = chosen(&found, c.device.as_deref(), &now)
                        .is_some_and(|o| o.path != h.path);
                    if other {
                        tracing::info!("the audio device chosen belongs to another headset: switching");
                        break;
                    }
                }
            }
        }
        drop(driver);
        HeadsetSlot::set_status(&status, |s| {
            s.state = "searching".into();
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use homeline_headset::backend::AudioPairing;
    use homeline_headset::descriptor;

    /// Two real telephony headsets (descriptors from the crate's test data), each paired with
    /// its own sound card, as `backend::list` reports them.
    fn two_headsets() -> Vec<HeadsetInfo> {
        let layout = |file: &str| {
            let text = std::fs::read_to_string(format!(
                "{}/../headset/tests/data/{file}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            descriptor::parse(&descriptor::decode_hex_text(&text).unwrap()).unwrap()
        };
        let info = |path: &str, product: &str, card: &str, file: &str| HeadsetInfo {
            path: path.into(),
            vendor_id: 1,
            product_id: 2,
            manufacturer: "Vendor".into(),
            product: product.into(),
            layout: Some(layout(file)),
            audio: Some(AudioPairing {
                audio_device: card.into(),
                method: "usb_parent".into(),
            }),
            problem: None,
        };
        vec![
            info(
                "/dev/hidraw1",
                "Jabra BIZ 2400 II",
                "USB",
                "jabra-biz-2400-ii.hex",
            ),
            info(
                "/dev/hidraw2",
                "EPOS IMPACT D 1",
                "D1",
                "epos-impact-d1.hex",
            ),
        ]
    }

    #[test]
    fn choosing_a_headset_for_audio_chooses_its_buttons() {
        let found = two_headsets();
        assert!(
            found
                .iter()
                .all(|h| h.layout.as_ref().unwrap().is_call_control())
        );
        // Nothing chosen: the first usable one.
        assert_eq!(chosen(&found, None, &[]).unwrap().path, "/dev/hidraw1");
        // The second headset's sound card chosen as microphone or speaker: its buttons.
        let d1 = ["sysdefault:CARD=D1".to_string()];
        assert_eq!(chosen(&found, None, &d1).unwrap().path, "/dev/hidraw2");
        let by_name = ["EPOS IMPACT D 1 Analog Stereo".to_string()];
        assert_eq!(chosen(&found, None, &by_name).unwrap().path, "/dev/hidraw2");
        // A device that is no headset's (built-in speaker): the first usable one.
        let builtin = ["Built-in Audio Analog Stereo".to_string()];
        assert_eq!(chosen(&found, None, &builtin).unwrap().path, "/dev/hidraw1");
        // `[headset] device` names one: it wins over the audio choice.
        let named = chosen(&found, Some("Vendor Jabra BIZ 2400 II"), &d1).unwrap();
        assert_eq!(named.path, "/dev/hidraw1");
    }

    #[test]
    fn the_audio_choice_is_the_microphone_and_the_speaker() {
        let audio = crate::config::AudioConfig {
            microphone: Some("sysdefault:CARD=D1".into()),
            speaker: None,
            ring: Some("Built-in".into()),
        };
        assert_eq!(chosen_audio(&audio), vec!["sysdefault:CARD=D1".to_string()]);
    }
}
