//! PESQ (ITU-T P.862) scores through the `pesq` Python package, when it is
//! installed.
//!
//! `scripts/install-deps.sh test` installs `pesq` (and numpy) from PyPI
//! into a venv of its own: `$HOMELINE_PESQ_VENV`, else
//! `${XDG_CACHE_HOME:-~/.cache}/homeline/pesq-venv` ([`venv_dir`]). The
//! lab never installs it during a test (no network from tests): without
//! the venv, [`pesq_score`] says why and returns `Ok(None)`, and a test
//! keeps to [`crate::signal::compare`].
//!
//! Both files are mixed to mono and resampled here (8 kHz for narrowband,
//! 16 kHz for wideband) before the Python side sees them; PESQ does its own
//! time alignment. Scores are MOS-LQO (P.862.1 / P.862.2 mapping): about
//! 4.5 at best, about 1 for garbage.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{LabError, Result};
use crate::signal::Audio;

/// Which PESQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PesqMode {
    /// P.862 narrowband (300-3400 Hz) at 8 kHz: for G.711.
    Narrowband,
    /// P.862.2 wideband (50-7000 Hz) at 16 kHz: for Opus and G.722.
    Wideband,
}

impl PesqMode {
    fn rate(self) -> u32 {
        match self {
            PesqMode::Narrowband => 8000,
            PesqMode::Wideband => 16000,
        }
    }

    fn arg(self) -> &'static str {
        match self {
            PesqMode::Narrowband => "nb",
            PesqMode::Wideband => "wb",
        }
    }
}

/// Where the PESQ venv is looked for.
pub fn venv_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HOMELINE_PESQ_VENV") {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    cache.join("homeline/pesq-venv")
}

/// `Ok(())` when the venv's Python imports `pesq` and numpy; otherwise why
/// not, in words (with the command that installs it).
pub fn available() -> std::result::Result<(), String> {
    let python = venv_dir().join("bin/python");
    let hint = "run `scripts/install-deps.sh test`";
    if !python.exists() {
        return Err(format!("no PESQ venv at {} ({hint})", venv_dir().display()));
    }
    match Command::new(&python)
        .args(["-c", "import numpy, pesq"])
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{} cannot import pesq: {} ({hint})",
            python.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run {}: {e} ({hint})", python.display())),
    }
}

const SCRIPT: &str = r#"
import sys, wave
import numpy as np
from pesq import pesq
def read(path):
    with wave.open(path) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
        return w.getframerate(), x
rate, ref = read(sys.argv[1])
_, deg = read(sys.argv[2])
print(pesq(rate, ref, deg, sys.argv[3]))
"#;

static SEQ: AtomicU32 = AtomicU32::new(0);

/// The PESQ MOS-LQO of `degraded` against `reference` (WAV files, any
/// rate and channels). `Ok(None)` (after printing `PESQ skipped: <why>`)
/// when PESQ is not installed; an error when it ran and failed (e.g. no
/// speech found in a silent file).
pub fn pesq_score(reference: &Path, degraded: &Path, mode: PesqMode) -> Result<Option<f64>> {
    if let Err(why) = available() {
        eprintln!("PESQ skipped: {why}");
        return Ok(None);
    }
    let reference = Audio::read_wav(reference)?;
    let degraded = Audio::read_wav(degraded)?;
    pesq_audio(&reference, &degraded, mode)
}

/// [`pesq_score`] on audio in memory.
pub fn pesq_audio(reference: &Audio, degraded: &Audio, mode: PesqMode) -> Result<Option<f64>> {
    if let Err(why) = available() {
        eprintln!("PESQ skipped: {why}");
        return Ok(None);
    }
    let dir = std::env::temp_dir().join(format!(
        "hlab-pesq-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let (r, d) = (dir.join("ref.wav"), dir.join("deg.wav"));
    let result = (|| {
        reference.resampled(mode.rate()).write_wav(&r)?;
        degraded.resampled(mode.rate()).write_wav(&d)?;
        let out = Command::new(venv_dir().join("bin/python"))
            .args(["-c", SCRIPT])
            .arg(&r)
            .arg(&d)
            .arg(mode.arg())
            .output()
            .map_err(|e| LabError::io("run the PESQ script", e))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(LabError::Invalid(format!(
                "PESQ failed: {}",
                stderr.lines().last().unwrap_or_default()
            )));
        }
        stdout
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| LabError::Invalid(format!("PESQ printed {stdout:?}")))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::signal::mulaw_round_trip;

    fn scores() -> Option<(f64, f64, f64)> {
        let a = Audio::test_signal(8000, Duration::from_secs(6), 31);
        let same = pesq_audio(&a, &a, PesqMode::Narrowband).unwrap()?;
        let mulaw = Audio {
            rate: 8000,
            samples: a.samples.iter().map(|&s| mulaw_round_trip(s)).collect(),
        };
        let g711 = pesq_audio(&a, &mulaw.delayed(60.0), PesqMode::Narrowband)
            .unwrap()
            .unwrap();
        let noise = Audio::noise(8000, Duration::from_secs(6), -20.0, 3);
        let garbage = pesq_audio(&a, &noise, PesqMode::Narrowband)
            .unwrap()
            .unwrap();
        Some((same, g711, garbage))
    }

    #[test]
    fn pesq_ranks_identical_above_g711_above_noise() {
        let Some((same, g711, garbage)) = scores() else {
            return;
        };
        eprintln!("PESQ nb: identical {same:.2}, µ-law {g711:.2}, noise {garbage:.2}");
        assert!(same > 4.3, "{same}");
        assert!((3.8..=same).contains(&g711), "{g711}");
        assert!(garbage < 2.0, "{garbage}");
    }

    #[test]
    fn pesq_of_silence_is_an_error_not_a_score() {
        if available().is_err() {
            return;
        }
        let a = Audio::test_signal(8000, Duration::from_secs(4), 1);
        let silent = Audio::silence(8000, Duration::from_secs(4));
        let r = pesq_audio(&a, &silent, PesqMode::Narrowband);
        assert!(r.is_err(), "{r:?}");
    }
}
