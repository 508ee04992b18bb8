//! Real headsets through hidapi: enumeration of telephony devices, pairing with their audio
//! device, the Linux permission check, and a [`Transport`] over an open device.
//!
//! hidapi is built with `linux-native-basic-udev` (pure Rust on Linux, no C library) and
//! `macos-shared-device` (other apps keep using the headset). On Linux, hidraw lists one entry
//! per top-level collection with the same path; entries are merged by path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::descriptor::{self, TelephonyLayout};
use crate::transport::{ReportReader, ReportWriter, Transport, TransportError};

/// A problem the user can fix, in plain words: `{code, message, hint}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Stable code, e.g. `headset_permission`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

/// How a headset's buttons were matched with its audio device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AudioPairing {
    /// The sound card's id (ALSA `/sys/class/sound/cardN/id`), or the matched device name.
    pub audio_device: String,
    /// `usb_parent` (same USB device in sysfs) or `name` (names match: the last resort).
    pub method: String,
}

/// One telephony HID device.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeadsetInfo {
    /// The platform path (`/dev/hidrawN` on Linux).
    pub path: String,
    /// USB vendor ID.
    pub vendor_id: u16,
    /// USB product ID.
    pub product_id: u16,
    /// Manufacturer string.
    pub manufacturer: String,
    /// Product string.
    pub product: String,
    /// Its telephony controls, when the descriptor could be read.
    #[serde(skip)]
    pub layout: Option<TelephonyLayout>,
    /// The audio device it belongs to, if found.
    pub audio: Option<AudioPairing>,
    /// Why it cannot be used, if it cannot.
    pub problem: Option<Problem>,
}

impl HeadsetInfo {
    /// Whether the audio device named `audio_device` (as the audio layer names it: an ALSA
    /// name such as `sysdefault:CARD=Evolve2`, a PulseAudio/PipeWire description such as
    /// `Jabra Evolve2 65 Analog Stereo`) is this headset's: its paired sound card's id appears
    /// in the name as a word, or the names match as in [`pair_by_name`]. Choosing the headset
    /// for audio then also chooses its buttons.
    pub fn belongs_to_audio_device(&self, audio_device: &str) -> bool {
        let name = audio_device.trim().to_lowercase();
        if name.is_empty() {
            return false;
        }
        if let Some(pairing) = &self.audio {
            let id = pairing.audio_device.trim().to_lowercase();
            let is_word = |s: &str| {
                s.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|w| w == id)
            };
            if id.len() >= 2 && (name == id || is_word(&name)) {
                return true;
            }
        }
        pair_by_name(&self.product, &[name]).is_some()
    }

    /// A display name: "Manufacturer Product".
    pub fn name(&self) -> String {
        let s = format!("{} {}", self.manufacturer.trim(), self.product.trim());
        let s = s.trim().to_string();
        if s.is_empty() {
            format!("{:04x}:{:04x}", self.vendor_id, self.product_id)
        } else {
            s
        }
    }
}

/// Why the backend failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// hidapi could not start or list devices.
    #[error("the list of HID devices could not be read: {0}")]
    Hid(String),
    /// The device could not be opened.
    #[error("{}", .0.message)]
    Open(Problem),
}

/// The udev rule that lets the logged-in user open this vendor's headsets on Linux.
pub fn udev_rule(vendor_id: u16) -> String {
    format!(
        "KERNEL==\"hidraw*\", SUBSYSTEM==\"hidraw\", ATTRS{{idVendor}}==\"{vendor_id:04x}\", TAG+=\"uaccess\""
    )
}

/// The plain-language problem for a hidraw node the user may not open.
pub fn permission_problem(path: &str, vendor_id: u16) -> Problem {
    let rule = udev_rule(vendor_id);
    Problem {
        code: "headset_permission".into(),
        message: format!(
            "Homeline may not open the headset's button device {path}: on Linux only the \
             administrator may, until a rule allows the logged-in user."
        ),
        hint: format!(
            "Add this line to /etc/udev/rules.d/70-homeline-headset.rules: {rule} — then run \
             `sudo udevadm control --reload-rules && sudo udevadm trigger` and plug the headset \
             in again."
        ),
    }
}

/// The report descriptor of a hidraw node from sysfs (readable without opening the device).
fn sysfs_descriptor(sysfs: &Path, path: &str) -> Option<Vec<u8>> {
    let node = Path::new(path).file_name()?.to_str()?;
    std::fs::read(
        sysfs
            .join("class/hidraw")
            .join(node)
            .join("device/report_descriptor"),
    )
    .ok()
}

/// The USB device directory (in /sys/devices) above a sysfs class entry: the interface's parent.
fn usb_parent(class_entry: &Path) -> Option<PathBuf> {
    let mut dir = std::fs::canonicalize(class_entry.join("device")).ok()?;
    // Walk up to the first directory that is a USB device (has idVendor), not an interface.
    for _ in 0..6 {
        if dir.join("idVendor").exists() {
            return Some(dir);
        }
        dir = dir.parent()?.to_path_buf();
    }
    None
}

/// Pairs a hidraw node with the sound card on the same USB device, through sysfs under
/// `sysfs` (normally `/sys`).
pub fn pair_by_usb_parent(sysfs: &Path, hidraw_path: &str) -> Option<AudioPairing> {
    let node = Path::new(hidraw_path).file_name()?.to_str()?;
    let hid_parent = usb_parent(&sysfs.join("class/hidraw").join(node))?;
    let cards = std::fs::read_dir(sysfs.join("class/sound")).ok()?;
    for card in cards.flatten() {
        let name = card.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with("card") {
            continue;
        }
        if usb_parent(&card.path()).as_deref() == Some(hid_parent.as_path()) {
            let id = std::fs::read_to_string(card.path().join("id"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| name.to_string());
            return Some(AudioPairing {
                audio_device: id,
                method: "usb_parent".into(),
            });
        }
    }
    None
}

/// The last resort: an audio device whose name contains the headset's product name (or the
/// reverse), case-insensitively.
pub fn pair_by_name(product: &str, audio_devices: &[String]) -> Option<AudioPairing> {
    let p = product.trim().to_lowercase();
    if p.len() < 3 {
        return None;
    }
    audio_devices
        .iter()
        .find(|d| {
            let d = d.to_lowercase();
            d.contains(&p) || (d.len() >= 3 && p.contains(&d))
        })
        .map(|d| AudioPairing {
            audio_device: d.clone(),
            method: "name".into(),
        })
}

/// Lists the telephony HID devices attached, with their layout, pairing and any problem.
/// `audio_devices` (names of the audio devices) is used for the name match when sysfs cannot
/// pair them.
pub fn list(audio_devices: &[String]) -> Result<Vec<HeadsetInfo>, BackendError> {
    let api = hidapi::HidApi::new().map_err(|e| BackendError::Hid(e.to_string()))?;
    let sysfs = Path::new("/sys");
    let mut out: Vec<HeadsetInfo> = Vec::new();
    for d in api.device_list() {
        let path = d.path().to_string_lossy().into_owned();
        if out.iter().any(|h| h.path == path) {
            continue;
        }
        // Read the descriptor without opening the device where the platform allows it
        // (Linux sysfs); else open it.
        let mut problem = None;
        let bytes = match sysfs_descriptor(sysfs, &path) {
            Some(b) => Some(b),
            None => match d.open_device(&api) {
                Ok(dev) => {
                    let mut buf = vec![0u8; 4096];
                    dev.get_report_descriptor(&mut buf)
                        .ok()
                        .map(|n| buf[..n.min(buf.len())].to_vec())
                }
                Err(_) => None,
            },
        };
        let layout = bytes.and_then(|b| descriptor::parse(&b).ok());
        let telephony = match &layout {
            Some(l) => l.is_telephony(),
            None => d.usage_page() == descriptor::PAGE_TELEPHONY,
        };
        if !telephony {
            continue;
        }
        if let Err(e) = d.open_device(&api) {
            problem = Some(open_problem(&path, d.vendor_id(), &e.to_string()));
        }
        let product = d.product_string().unwrap_or_default().to_string();
        let audio =
            pair_by_usb_parent(sysfs, &path).or_else(|| pair_by_name(&product, audio_devices));
        out.push(HeadsetInfo {
            path,
            vendor_id: d.vendor_id(),
            product_id: d.product_id(),
            manufacturer: d.manufacturer_string().unwrap_or_default().to_string(),
            product,
            layout,
            audio,
            problem,
        });
    }
    Ok(out)
}

fn open_problem(path: &str, vendor_id: u16, err: &str) -> Problem {
    let denied = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .err()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied);
    if denied || err.contains("Permission denied") {
        permission_problem(path, vendor_id)
    } else {
        Problem {
            code: "headset_open".into(),
            message: format!("The headset's button device {path} could not be opened ({err})."),
            hint: "Unplug the headset and plug it in again; close other programs that use its \
                   buttons exclusively."
                .into(),
        }
    }
}

/// One open handle of a hidapi device. The device is opened twice, one handle for each half
/// of the [`Transport`]: a hidapi handle is not `Sync`, and a reader thread blocked in `read`
/// must not hold up a write. (hidraw, IOHIDManager with shared access and Windows' HID all allow
/// several handles; each has its own input queue.)
pub struct HidapiHandle {
    dev: hidapi::HidDevice,
}

impl std::fmt::Debug for HidapiHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HidapiHandle")
    }
}

/// Opens the device at `path` and reads its layout.
pub fn open(path: &str, vendor_id: u16) -> Result<(Transport, TelephonyLayout), BackendError> {
    let api = hidapi::HidApi::new().map_err(|e| BackendError::Hid(e.to_string()))?;
    let cpath = std::ffi::CString::new(path).map_err(|e| BackendError::Hid(e.to_string()))?;
    let open = || {
        api.open_path(&cpath)
            .map_err(|e| BackendError::Open(open_problem(path, vendor_id, &e.to_string())))
    };
    let reader = open()?;
    let writer = open()?;
    let mut buf = vec![0u8; 4096];
    let n = reader
        .get_report_descriptor(&mut buf)
        .map_err(|e| BackendError::Hid(e.to_string()))?;
    let layout = descriptor::parse(&buf[..n.min(buf.len())]).map_err(|e| {
        BackendError::Open(Problem {
            code: "headset_descriptor".into(),
            message: format!(
                "The headset describes its buttons in a way Homeline cannot read: {e}."
            ),
            hint: "Run `homeline headset list` and send its output to support.".into(),
        })
    })?;
    Ok((
        Transport {
            reader: Box::new(HidapiHandle { dev: reader }),
            writer: Box::new(HidapiHandle { dev: writer }),
        },
        layout,
    ))
}

impl ReportReader for HidapiHandle {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // A read error on an open hidraw node means it is gone (unplugged).
        self.dev
            .read_timeout(buf, ms)
            .map_err(|_| TransportError::Disconnected)
    }
}

impl ReportWriter for HidapiHandle {
    fn write(&mut self, report: &[u8]) -> Result<(), TransportError> {
        self.dev
            .write(report)
            .map(|_| ())
            .map_err(|e| TransportError::Io(e.to_string()))
    }
}
