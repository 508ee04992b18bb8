//! The lab's one error type and the helper that runs a system tool and turns
//! its failure into a readable error.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Anything that can go wrong while building a lab or starting a server.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab needs root (network namespaces, nftables).
    #[error("the network lab needs root (effective uid is {0})")]
    NotRoot(u32),
    /// A system tool could not be started at all (not installed?).
    #[error("could not run `{command}`: {source} (is it installed?)")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it could not start.
        source: std::io::Error,
    },
    /// A system tool ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, as text.
        status: String,
        /// What it wrote on stderr (trimmed).
        stderr: String,
    },
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A server started but did not answer in time.
    #[error("{server} did not become ready within {secs} s: {detail} (log: {})", log.display())]
    NotReady {
        /// Which server.
        server: String,
        /// How long we waited.
        secs: u64,
        /// The last probe error, or that the process exited.
        detail: String,
        /// Where its log is.
        log: PathBuf,
    },
    /// This kernel or machine lacks a feature a profile needs.
    #[error("not supported here: {0}")]
    Unsupported(String),
    /// A WAV file could not be read or written.
    #[error(transparent)]
    Signal(#[from] crate::signal::SignalError),
    /// The caller asked for something inconsistent.
    #[error("invalid lab request: {0}")]
    Invalid(String),
}

impl LabError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        LabError::Io {
            what: what.into(),
            source,
        }
    }
}

/// Shorthand for lab results.
pub type Result<T, E = LabError> = std::result::Result<T, E>;

/// Renders a command line for messages: program and arguments, space separated.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` to completion; a non-zero exit becomes [`LabError::Command`]
/// carrying its stderr, so a failing `ip`/`nft` call says exactly why.
pub(crate) fn run(cmd: &mut Command) -> Result<Output> {
    let command = describe(cmd);
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            command: command.clone(),
            source,
        })?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(LabError::Command {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Like [`run`], returning stdout as text.
pub(crate) fn run_stdout(cmd: &mut Command) -> Result<String> {
    let out = run(cmd)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
