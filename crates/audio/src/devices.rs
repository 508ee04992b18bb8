//! Listing sound devices, and finding one by the name a person chose.
//!
//! [`list_devices`] asks cpal's default host for its input and output devices and summarises
//! each one (name, default marking, channel count, common sample rates). It never panics and
//! never hangs: the enumeration runs on a helper thread with a time limit, because some audio
//! stacks (an ALSA plug-in waiting for a sound server, a machine with no sound card) can stall.
//! When the host cannot be asked, the list is empty and [`DeviceList::error`] says why.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait};

/// How long [`list_devices`] waits for the audio host before giving up.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(5);

/// The sample rates we report when a device supports them. Devices advertise ranges (ALSA often
/// says "4000 to 384000"); people choose from the familiar rates, so that is what we show.
pub const COMMON_SAMPLE_RATES: [u32; 8] = [8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000];

/// One sound device, summarised for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The name the host gives the device.
    pub name: String,
    /// Whether this is the host's default device for its direction.
    pub is_default: bool,
    /// The device's preferred channel count in this direction (else the largest it supports).
    pub channels: u16,
    /// The common sample rates the device supports (see [`COMMON_SAMPLE_RATES`]).
    pub sample_rates: Vec<u32>,
}

/// The devices of the default audio host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    /// The host's name (ALSA, WASAPI, CoreAudio, ...).
    pub host: String,
    /// Capture devices (microphones).
    pub inputs: Vec<DeviceInfo>,
    /// Playback devices (speakers, headsets).
    pub outputs: Vec<DeviceInfo>,
    /// Set when the host could not be asked; the lists are then empty or partial.
    pub error: Option<AudioError>,
}

/// Why devices could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    /// The host refused to enumerate its devices.
    #[error("the audio system could not list its devices: {0}")]
    Enumerate(String),
    /// The host did not answer within [`LIST_TIMEOUT`].
    #[error("the audio system did not answer within {0} seconds")]
    Timeout(u64),
    /// The helper thread stopped without an answer (a bug in a sound driver or in cpal).
    #[error("the audio system stopped unexpectedly while listing devices")]
    Crashed,
}

/// Capture or playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A microphone (capture).
    Input,
    /// A speaker or headset (playback).
    Output,
}

/// Which device a person chose for one role (microphone, speaker, ring).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// Whatever the system's default is at the moment, following it when it changes.
    #[default]
    SystemDefault,
    /// The device with this name (as [`DeviceInfo::name`] shows it, or the host's device id).
    Named(String),
}

impl DeviceChoice {
    /// Reads a setting: empty or "default" (any case) means the system default.
    pub fn from_setting(setting: &str) -> Self {
        let s = setting.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("default") {
            DeviceChoice::SystemDefault
        } else {
            DeviceChoice::Named(s.to_string())
        }
    }
}

/// The name people see for a device: the host's description, else its id.
pub(crate) fn display_name(device: &cpal::Device) -> String {
    match device.description() {
        Ok(d) => d.name().to_string(),
        Err(_) => device
            .id()
            .map(|id| id.id().to_string())
            .unwrap_or_else(|_| "unknown device".to_string()),
    }
}

/// Whether `device` is the one a person named: by its shown name or by the host's id (which
/// stays stable when a description is translated or duplicated).
fn is_named(device: &cpal::Device, name: &str) -> bool {
    display_name(device) == name || device.id().is_ok_and(|id| id.id() == name)
}

/// The devices of one direction, as cpal hands them out.
pub(crate) fn devices(host: &cpal::Host, direction: Direction) -> Vec<cpal::Device> {
    let listed = match direction {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    };
    listed.unwrap_or_default()
}

/// The system default device of one direction.
pub(crate) fn default_device(host: &cpal::Host, direction: Direction) -> Option<cpal::Device> {
    match direction {
        Direction::Input => host.default_input_device(),
        Direction::Output => host.default_output_device(),
    }
}

/// Finds the chosen device. `None` when a named device is not there (unplugged) or there is no
/// default device at all.
pub(crate) fn find(
    host: &cpal::Host,
    direction: Direction,
    choice: &DeviceChoice,
) -> Option<cpal::Device> {
    match choice {
        DeviceChoice::SystemDefault => default_device(host, direction),
        DeviceChoice::Named(name) => devices(host, direction)
            .into_iter()
            .find(|d| is_named(d, name)),
    }
}

/// Whether a device with this shown name is present (for the hot-plug re-scan).
///
/// This looks at all devices, not only those that say they can capture or play: on ALSA a
/// device that our own stream holds open may fail to report its configurations, and must not
/// look unplugged for that.
pub(crate) fn is_present(host: &cpal::Host, direction: Direction, name: &str) -> bool {
    match host.devices() {
        Ok(mut all) => all.any(|d| is_named(&d, name)),
        // The host could not be asked this time; the direction-filtered list is the next best
        // answer (and an empty one makes the supervisor try the default).
        Err(_) => devices(host, direction).iter().any(|d| is_named(d, name)),
    }
}

/// Lists the input and output devices of cpal's default host.
///
/// Never panics and returns within about [`LIST_TIMEOUT`]. With no sound card the lists are
/// empty; `error` is set only when the host itself failed.
pub fn list_devices() -> DeviceList {
    list_devices_with_timeout(LIST_TIMEOUT)
}

/// [`list_devices`] with a chosen time limit.
pub fn list_devices_with_timeout(timeout: Duration) -> DeviceList {
    // Naming the host only looks at a compile-time table; it cannot block.
    let host_name = cpal::available_hosts()
        .first()
        .map_or_else(|| "none".to_string(), |h| h.name().to_string());
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name("homeline-audio-list".into())
        .spawn(move || {
            // The receiver may have given up already; nothing to do then.
            let _ = tx.send(enumerate());
        });
    if let Err(e) = spawned {
        return failed(host_name, AudioError::Enumerate(e.to_string()));
    }
    match rx.recv_timeout(timeout) {
        Ok(list) => list,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            tracing::warn!(?timeout, "audio device listing timed out");
            failed(host_name, AudioError::Timeout(timeout.as_secs().max(1)))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => failed(host_name, AudioError::Crashed),
    }
}

fn failed(host: String, error: AudioError) -> DeviceList {
    DeviceList {
        host,
        inputs: Vec::new(),
        outputs: Vec::new(),
        error: Some(error),
    }
}

fn enumerate() -> DeviceList {
    let host = cpal::default_host();
    let host_name = host.id().name().to_string();
    let mut errors = Vec::new();
    let inputs = match host.input_devices() {
        Ok(devices) => {
            let default_id = host.default_input_device().and_then(|d| d.id().ok());
            devices
                .filter_map(|d| describe(&d, default_id.as_ref(), Direction::Input))
                .collect()
        }
        Err(e) => {
            errors.push(format!("inputs: {e}"));
            Vec::new()
        }
    };
    let outputs = match host.output_devices() {
        Ok(devices) => {
            let default_id = host.default_output_device().and_then(|d| d.id().ok());
            devices
                .filter_map(|d| describe(&d, default_id.as_ref(), Direction::Output))
                .collect()
        }
        Err(e) => {
            errors.push(format!("outputs: {e}"));
            Vec::new()
        }
    };
    tracing::debug!(
        host = %host_name,
        inputs = inputs.len(),
        outputs = outputs.len(),
        "listed audio devices"
    );
    DeviceList {
        host: host_name,
        inputs,
        outputs,
        error: (!errors.is_empty()).then(|| AudioError::Enumerate(errors.join("; "))),
    }
}

fn describe(
    device: &cpal::Device,
    default_id: Option<&cpal::DeviceId>,
    direction: Direction,
) -> Option<DeviceInfo> {
    let ranges: Vec<(u16, u32, u32)> = match direction {
        Direction::Input => device
            .supported_input_configs()
            .ok()?
            .map(|r| (r.channels(), r.min_sample_rate(), r.max_sample_rate()))
            .collect(),
        Direction::Output => device
            .supported_output_configs()
            .ok()?
            .map(|r| (r.channels(), r.min_sample_rate(), r.max_sample_rate()))
            .collect(),
    };
    if ranges.is_empty() {
        // The device exists but cannot be used in this direction (e.g. a playback-only card
        // listed among inputs by some hosts).
        return None;
    }
    let is_default = match (default_id, device.id()) {
        (Some(d), Ok(id)) => *d == id,
        _ => false,
    };
    // The preferred configuration says how the device really is (a PulseAudio sink accepts
    // 1 to 31 channels, but is stereo); the largest supported count is the fallback.
    let preferred = match direction {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    };
    let channels = preferred
        .map(|c| c.channels())
        .unwrap_or_else(|_| ranges.iter().map(|r| r.0).max().unwrap_or(0));
    let rate_ranges: Vec<(u32, u32)> = ranges.iter().map(|r| (r.1, r.2)).collect();
    Some(DeviceInfo {
        name: display_name(device),
        is_default,
        channels,
        sample_rates: summarise_rates(&rate_ranges),
    })
}

/// Reduces the sample-rate ranges a device advertises to the [`COMMON_SAMPLE_RATES`] inside
/// them. A device whose ranges hold none of the common rates (rare: fixed odd rates) is
/// reported with the ranges' own minimum rates so that it never looks rate-less.
pub fn summarise_rates(ranges: &[(u32, u32)]) -> Vec<u32> {
    let mut rates: Vec<u32> = COMMON_SAMPLE_RATES
        .iter()
        .copied()
        .filter(|rate| ranges.iter().any(|&(lo, hi)| lo <= *rate && *rate <= hi))
        .collect();
    if rates.is_empty() {
        rates = ranges
            .iter()
            .map(|&(lo, _)| lo)
            .filter(|r| *r > 0)
            .collect();
        rates.sort_unstable();
        rates.dedup();
    }
    rates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_wide_range_to_common_rates() {
        assert_eq!(
            summarise_rates(&[(4000, 384_000)]),
            COMMON_SAMPLE_RATES.to_vec()
        );
    }

    #[test]
    fn summarises_fixed_rates() {
        assert_eq!(
            summarise_rates(&[(48000, 48000), (44100, 44100), (48000, 48000)]),
            vec![44100, 48000]
        );
    }

    #[test]
    fn keeps_odd_fixed_rates() {
        assert_eq!(summarise_rates(&[(11025, 11025)]), vec![11025]);
        assert!(summarise_rates(&[]).is_empty());
    }

    #[test]
    fn listing_without_hardware_returns() {
        // This machine may have no sound card at all: the call must still come back, without
        // panicking, with whatever the host has (possibly nothing, possibly an error).
        let list = list_devices_with_timeout(Duration::from_secs(10));
        assert!(!list.host.is_empty());
        for d in list.inputs.iter().chain(&list.outputs) {
            assert!(d.channels > 0, "{d:?}");
        }
        assert!(list.inputs.iter().filter(|d| d.is_default).count() <= 1);
    }
}
