//! Logging with `tracing`: to stderr for the CLI, to a daily-rotating file for the app.
//!
//! * Level: the `HOMELINE_LOG` environment variable (any `tracing` filter, e.g. `debug` or
//!   `homeline_phone=trace`) wins; otherwise the CLI's `-v` flags or the config's
//!   `[logging] level`; `info` by default.
//! * The app's files are `homeline.YYYY-MM-DD.log` in `<platform data dir>/logs` (or
//!   `HOMELINE_LOG_DIR`), one per day, the newest [`MAX_LOG_FILES`] kept.
//! * Every writer masks the registered secrets ([`crate::redact`]) before the bytes leave the
//!   process: a password that slipped into a message by mistake still reads `***`.

use std::fs::{self, File};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogLevel, project_dirs};
use crate::redact;

/// Environment variable holding a `tracing` filter that overrides every other level setting.
pub const LOG_ENV: &str = "HOMELINE_LOG";
/// Environment variable that overrides the log folder.
pub const LOG_DIR_ENV: &str = "HOMELINE_LOG_DIR";
/// Log files are named `<prefix>.<date>.log`.
pub const LOG_FILE_PREFIX: &str = "homeline";
const LOG_FILE_SUFFIX: &str = "log";
/// How many daily log files are kept.
pub const MAX_LOG_FILES: usize = 7;

/// Errors of setting up or exporting logs.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// No home directory, so no platform data directory.
    #[error("no home directory was found, so there is no place for log files")]
    NoLogDir,
    /// A global logger is already installed.
    #[error("logging was already set up: {0}")]
    AlreadyInitialised(String),
    /// The log file could not be created.
    #[error("could not create the log file in {dir}: {reason}")]
    File {
        /// The log folder.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// There are no log files to export.
    #[error("there are no log files in {0}")]
    NoLogs(PathBuf),
    /// Reading or writing a log file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// The log folder: `HOMELINE_LOG_DIR` if set, else `logs` in the platform's local data dir.
pub fn default_log_dir() -> Result<PathBuf, LogError> {
    if let Some(p) = std::env::var_os(LOG_DIR_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    project_dirs()
        .map(|d| d.data_local_dir().join("logs"))
        .ok_or(LogError::NoLogDir)
}

fn filter(default: &str) -> EnvFilter {
    match std::env::var(LOG_ENV) {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("homeline: ignoring {LOG_ENV}={spec:?}: {e}");
            EnvFilter::new(default)
        }),
        // The PulseAudio client library reports every stream we close as a "reactor error"
        // and logs each protocol message at debug: noise for support, so only its warnings
        // (and worse) count unless HOMELINE_LOG asks for it.
        _ => EnvFilter::new(format!("{default},pulseaudio=off")),
    }
}

/// Sets up logging to stderr for the CLI. `verbosity` counts `-v` flags: 0 = warn, 1 = info,
/// 2 = debug, 3 or more = trace. `HOMELINE_LOG` overrides it.
pub fn init_cli_logging(verbosity: u8) -> Result<(), LogError> {
    // The CLI prints its own progress on stdout; by default stderr only carries warnings.
    let level = match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(RedactingMakeWriter::new(io::stderr))
        .with_ansi(io::stderr().is_terminal())
        .with_target(false)
        .finish()
        .try_init()
        .map_err(|e| LogError::AlreadyInitialised(e.to_string()))
}

/// Keeps the app's background log writer alive; drop it at exit to flush the last lines.
#[derive(Debug)]
#[must_use = "dropping the guard stops file logging"]
pub struct LogGuard {
    _worker: tracing_appender::non_blocking::WorkerGuard,
}

/// Sets up the app's logging: a daily-rotating file in `log_dir` (keeping [`MAX_LOG_FILES`])
/// and stderr, both redacted. `HOMELINE_LOG` overrides `level`.
pub fn init_app_logging(log_dir: &Path, level: LogLevel) -> Result<LogGuard, LogError> {
    let appender = file_appender(log_dir)?;
    let (file_writer, worker) = tracing_appender::non_blocking(appender);
    let file_layer = tracing_subscriber::fmt::layer()
        .with_writer(RedactingMakeWriter::new(file_writer))
        .with_ansi(false);
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_writer(RedactingMakeWriter::new(io::stderr))
        .with_ansi(io::stderr().is_terminal());
    tracing_subscriber::registry()
        .with(filter(level.as_str()))
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .map_err(|e| LogError::AlreadyInitialised(e.to_string()))?;
    Ok(LogGuard { _worker: worker })
}

/// Sets up the app's logging before [`Phone::open`](crate::Phone::open), so that what opening
/// reports (a broken configuration, a password in the file) reaches the log file too: the
/// default log folder, and the level of the default configuration file, read without changing
/// it (`info` when it cannot be read).
pub fn init_app_logging_default() -> Result<LogGuard, LogError> {
    let level = crate::config::default_config_path()
        .ok()
        .and_then(|p| crate::config::check(&p).ok())
        .map_or(LogLevel::Info, |c| c.config.logging.level);
    init_app_logging(&default_log_dir()?, level)
}

/// The rotating file appender of the app's log.
pub fn file_appender(log_dir: &Path) -> Result<RollingFileAppender, LogError> {
    let file_err = |reason: String| LogError::File {
        dir: log_dir.to_path_buf(),
        reason,
    };
    fs::create_dir_all(log_dir).map_err(|e| file_err(e.to_string()))?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .filename_suffix(LOG_FILE_SUFFIX)
        .max_log_files(MAX_LOG_FILES)
        .build(log_dir)
        .map_err(|e| file_err(e.to_string()))
}

/// A [`MakeWriter`] whose writers mask registered secrets.
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    inner: M,
}

impl<M> RedactingMakeWriter<M> {
    /// Wraps `inner`.
    pub fn new(inner: M) -> Self {
        Self { inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
            buf: Vec::new(),
        }
    }
}

/// Collects one event's bytes and writes them masked when flushed or dropped. `tracing`'s fmt
/// layer makes one writer per event, so a secret split over two `write` calls is still masked.
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    fn drain(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let masked = redact::redact_bytes(&self.buf).into_owned();
        self.buf.clear();
        self.inner.write_all(&masked)
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        // Drop cannot report errors; a log line that cannot be written is lost either way.
        let _ = self.drain();
        let _ = self.inner.flush();
    }
}

/// The app's log files in `log_dir`, oldest first.
pub fn log_files(log_dir: &Path) -> Result<Vec<PathBuf>, LogError> {
    let entries = match fs::read_dir(log_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LogError::Io {
                path: log_dir.to_path_buf(),
                source,
            });
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(LOG_FILE_PREFIX) && n.ends_with(&format!(".{LOG_FILE_SUFFIX}"))
                })
        })
        .collect();
    // The date in the names sorts oldest first.
    files.sort();
    Ok(files)
}

/// Writes all log files of `log_dir`, oldest first, into one
/// `homeline-logs-YYYYMMDD-HHMMSS.txt` (UTC) in `dest_dir` and returns its path.
pub fn export_logs(log_dir: &Path, dest_dir: &Path, now: SystemTime) -> Result<PathBuf, LogError> {
    let files = log_files(log_dir)?;
    if files.is_empty() {
        return Err(LogError::NoLogs(log_dir.to_path_buf()));
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LogError::Io { path, source }
    };
    fs::create_dir_all(dest_dir).map_err(io_err(dest_dir))?;
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let dest = dest_dir.join(format!("homeline-logs-{}.txt", timestamp(secs)));
    let mut out = File::create(&dest).map_err(io_err(&dest))?;
    for f in &files {
        let bytes = fs::read(f).map_err(io_err(f))?;
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        writeln!(out, "===== {} =====", name.unwrap_or_default()).map_err(io_err(&dest))?;
        // Files were masked when written; mask again in case secrets became known since.
        out.write_all(&redact::redact_bytes(&bytes))
            .map_err(io_err(&dest))?;
        if !bytes.ends_with(b"\n") {
            out.write_all(b"\n").map_err(io_err(&dest))?;
        }
    }
    out.sync_all().map_err(io_err(&dest))?;
    Ok(dest)
}

/// `YYYYMMDD-HHMMSS` in UTC for a Unix time.
fn timestamp(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;
    use std::time::Duration;

    #[test]
    fn file_log_masks_registered_secret() {
        let dir = tempfile::tempdir().unwrap();
        let secret = Secret::new("File-Log-Probe-9931");
        redact::register(&secret);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(RedactingMakeWriter::new(file_appender(dir.path()).unwrap()))
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // Deliberately wrong code: the value itself formatted into messages and fields.
            tracing::info!("REGISTER with password {}", secret.expose());
            tracing::trace!(auth = secret.expose(), "digest input");
        });
        let files = log_files(dir.path()).unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        let text = fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("REGISTER with password ***"), "{text}");
        assert!(text.contains("digest input"), "{text}");
        assert!(!text.contains("File-Log-Probe-9931"), "{text}");

        let out = tempfile::tempdir().unwrap();
        let when = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let exported = export_logs(dir.path(), out.path(), when).unwrap();
        assert_eq!(
            exported.file_name().unwrap().to_string_lossy(),
            format!("homeline-logs-{}.txt", timestamp(1_795_000_000))
        );
        let all = fs::read_to_string(&exported).unwrap();
        assert!(all.contains("REGISTER with password ***"));
        assert!(all.starts_with("===== homeline."));
    }

    #[test]
    fn export_without_logs_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let r = export_logs(&dir.path().join("none"), dir.path(), SystemTime::now());
        assert!(matches!(r, Err(LogError::NoLogs(_))));
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "19700101-000000");
        assert_eq!(timestamp(951_782_400), "20000229-000000");
        assert_eq!(timestamp(1_795_000_000), "20261118-110640");
    }

    #[test]
    fn writer_masks_split_writes() {
        redact::register(&Secret::new("Split-Secret-77"));
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter {
                inner: &mut out,
                buf: Vec::new(),
            };
            w.write_all(b"a Split-").unwrap();
            w.write_all(b"Secret-77 b\n").unwrap();
        }
        assert_eq!(out, b"a *** b\n");
    }
}
