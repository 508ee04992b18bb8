//! The device behind a small trait, so the driver runs the same against a real headset
//! ([`crate::backend`], hidapi) and against an in-memory device in tests ([`MemoryDevice`]).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why talking to the device failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The device was unplugged (or closed).
    #[error("the headset was disconnected")]
    Disconnected,
    /// Any other I/O failure.
    #[error("the headset did not accept the request: {0}")]
    Io(String),
}

/// The reading half of a HID device: blocking reads of input reports (a reader thread owns it).
pub trait ReportReader: Send {
    /// Waits up to `timeout` for one input report and copies it into `buf` (report-ID byte first
    /// when the device uses report IDs). Returns its length, 0 when the time ran out.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;
}

/// The writing half of a HID device: output reports.
pub trait ReportWriter: Send {
    /// Writes one output report (first byte the report ID, or 0 when the device uses none).
    fn write(&mut self, report: &[u8]) -> Result<(), TransportError>;
}

/// A HID device as two halves, so that a blocking read never delays a write (and no one polls).
pub struct Transport {
    /// Input reports.
    pub reader: Box<dyn ReportReader>,
    /// Output reports.
    pub writer: Box<dyn ReportWriter>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transport")
    }
}

/// The test side of an in-memory device: press buttons, see what the host wrote.
#[derive(Debug, Clone)]
pub struct MemoryDevice {
    inputs: Sender<Option<Vec<u8>>>,
    written: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// The host's reading half of an in-memory device.
#[derive(Debug)]
pub struct MemoryReader {
    inputs: Receiver<Option<Vec<u8>>>,
    unplugged: Arc<Mutex<bool>>,
}

/// The host's writing half of an in-memory device.
#[derive(Debug)]
pub struct MemoryWriter {
    written: Arc<Mutex<Vec<Vec<u8>>>>,
    written_tx: Sender<Vec<u8>>,
    unplugged: Arc<Mutex<bool>>,
}

impl MemoryDevice {
    /// A new device and the transport the host uses for it, and a receiver that gets each
    /// report the host writes, as it is written.
    pub fn new() -> (MemoryDevice, Transport, Receiver<Vec<u8>>) {
        let (tx, rx) = mpsc::channel();
        let (wtx, wrx) = mpsc::channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let unplugged = Arc::new(Mutex::new(false));
        (
            MemoryDevice {
                inputs: tx,
                written: written.clone(),
            },
            Transport {
                reader: Box::new(MemoryReader {
                    inputs: rx,
                    unplugged: unplugged.clone(),
                }),
                writer: Box::new(MemoryWriter {
                    written,
                    written_tx: wtx,
                    unplugged,
                }),
            },
            wrx,
        )
    }

    /// The device sends this input report.
    pub fn send(&self, report: &[u8]) {
        // The host may be gone already; a device does not care.
        let _ = self.inputs.send(Some(report.to_vec()));
    }

    /// The device is unplugged: the host's next read fails.
    pub fn unplug(&self) {
        let _ = self.inputs.send(None);
    }

    /// Every report the host wrote so far.
    pub fn written(&self) -> Vec<Vec<u8>> {
        self.written.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

fn is_unplugged(flag: &Mutex<bool>) -> bool {
    flag.lock().map(|f| *f).unwrap_or(true)
}

impl ReportReader for MemoryReader {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        if is_unplugged(&self.unplugged) {
            return Err(TransportError::Disconnected);
        }
        match self.inputs.recv_timeout(timeout) {
            Ok(Some(r)) => {
                let n = r.len().min(buf.len());
                buf[..n].copy_from_slice(&r[..n]);
                Ok(n)
            }
            Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                if let Ok(mut f) = self.unplugged.lock() {
                    *f = true;
                }
                Err(TransportError::Disconnected)
            }
            Err(RecvTimeoutError::Timeout) => Ok(0),
        }
    }
}

impl ReportWriter for MemoryWriter {
    fn write(&mut self, report: &[u8]) -> Result<(), TransportError> {
        if is_unplugged(&self.unplugged) {
            return Err(TransportError::Disconnected);
        }
        if let Ok(mut w) = self.written.lock() {
            w.push(report.to_vec());
        }
        let _ = self.written_tx.send(report.to_vec());
        Ok(())
    }
}
