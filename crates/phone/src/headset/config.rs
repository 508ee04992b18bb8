//! `[headset]`: headset integration, a master switch and one switch per function.

use serde::{Deserialize, Serialize};

use homeline_headset::Switches;

fn yes() -> bool {
    true
}

/// `[headset]` in the configuration file. Every switch is on by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadsetConfig {
    /// Headset integration as a whole. Off: no button is acted on and nothing is written to the
    /// headset (the troubleshooting step: tell a headset problem from a network problem).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The headset's call buttons (Hook Switch, Flash, Redial, Drop, keypad) answer, hang up,
    /// hold and dial.
    #[serde(default = "yes")]
    pub call_buttons: bool,
    /// The headset's mute button mutes the call, and the app's Mute lights the headset's LED.
    #[serde(default = "yes")]
    pub mute_sync: bool,
    /// The headset's LEDs (off-hook, ring, mute, hold, microphone) and ringer are driven.
    #[serde(default = "yes")]
    pub leds: bool,
    /// An incoming call rings on the headset as well as on the ring device.
    #[serde(default = "yes")]
    pub ring_on_headset: bool,
    /// The headset to use, by the name `homeline headset list` shows (or its path); absent:
    /// the first telephony headset found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Default for HeadsetConfig {
    fn default() -> Self {
        HeadsetConfig {
            enabled: true,
            call_buttons: true,
            mute_sync: true,
            leds: true,
            ring_on_headset: true,
            device: None,
        }
    }
}

impl HeadsetConfig {
    /// Whether this is the default (then the section is left out of the file).
    pub fn is_default(&self) -> bool {
        *self == HeadsetConfig::default()
    }

    /// The state machine's switches.
    pub fn switches(&self) -> Switches {
        Switches {
            enabled: self.enabled,
            call_buttons: self.call_buttons,
            mute_sync: self.mute_sync,
            leds: self.leds,
            ring_on_headset: self.ring_on_headset,
        }
    }
}
