//! The call history: finished calls, kept across restarts and crashes.
//!
//! * File: `history.jsonl` in the platform's local data folder, beside `logs/`
//!   (`~/.local/share/homeline/` on Linux), or the path given in
//!   [`PhoneOptions::history_path`](crate::PhoneOptions::history_path). Readable by its
//!   owner only: it says whom the user called.
//! * Format: a journal, one [`HistoryEntry`] as JSON per line, oldest first. Each call is
//!   appended and flushed to disk (`fsync`) before [`History::append`] returns, so a crash
//!   loses at most the call being written.
//! * Reading never fails because of the content: a torn last line (a crash in the middle of a
//!   write) and lines that are not entries (a disk error, an edit by hand, a newer Homeline's
//!   format) are skipped, counted and logged. Only a file that cannot be read at all is an
//!   error.
//! * Compaction: when the file holds more than [`COMPACT_AFTER`] lines, the newest
//!   [`KEEP_AFTER_COMPACTION`] entries replace it atomically (temporary file, `fsync`,
//!   rename), which also drops the skipped lines.
//!
//! ```no_run
//! # use homeline_phone::history::History;
//! # fn main() -> Result<(), homeline_phone::history::HistoryError> {
//! let mut history = History::open("/tmp/history.jsonl")?;
//! for entry in history.list() {
//!     println!("{} {:?} {:?}", entry.remote, entry.direction, entry.outcome);
//! }
//! history.clear()?;
//! # Ok(()) }
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::api::HistoryEntry;
use crate::config::{project_dirs, replace_file};

/// The history file's name.
pub const HISTORY_FILE_NAME: &str = "history.jsonl";
/// [`History::list`] returns at most this many entries, the newest.
pub const MAX_LISTED: usize = 500;
/// Lines in the file above which it is compacted.
pub const COMPACT_AFTER: usize = 1_000;
/// Entries a compaction keeps, the newest.
pub const KEEP_AFTER_COMPACTION: usize = 500;

/// Errors of reading and writing the call history.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// No home directory, so no platform data directory.
    #[error("no home directory was found, so there is no place for the call history")]
    NoDataDir,
    /// The file exists but could not be read.
    #[error("could not read the call history {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Appending, compacting or clearing failed.
    #[error("could not write the call history {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// The history file to use when none is given: `history.jsonl` in the platform's local data
/// folder; `None` without a home directory.
pub fn default_history_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.data_local_dir().join(HISTORY_FILE_NAME))
}

/// The call history of one file, held in memory and written through to the file.
#[derive(Debug)]
pub struct History {
    path: PathBuf,
    /// Oldest first, as in the file; at most [`COMPACT_AFTER`].
    entries: Vec<HistoryEntry>,
    /// Non-empty lines in the file (entries and skipped lines), to know when to compact.
    lines: usize,
    /// The file does not end with a newline (a torn write): the next append starts with one,
    /// so that it does not continue the broken line.
    torn_tail: bool,
    /// Lines skipped when the file was opened.
    skipped: usize,
}

impl History {
    /// Reads the history at `path`; a missing file is an empty history (the file is created
    /// by the first [`append`](Self::append)). Fails only when the file cannot be read.
    pub fn open(path: impl Into<PathBuf>) -> Result<History, HistoryError> {
        let path = path.into();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(HistoryError::Read { path, source }),
        };
        let mut entries = Vec::new();
        let mut lines = 0;
        let mut skipped = 0;
        let mut first_skipped = None;
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            lines += 1;
            match serde_json::from_slice::<HistoryEntry>(line) {
                Ok(entry) => entries.push(entry),
                Err(_) => {
                    skipped += 1;
                    first_skipped.get_or_insert(i + 1);
                }
            }
        }
        let torn_tail = bytes.last().is_some_and(|b| *b != b'\n');
        if let Some(line) = first_skipped {
            // Not the content: it names the people called.
            tracing::warn!(
                file = %path.display(),
                skipped,
                first_line = line,
                torn_tail,
                "call history: skipped lines that are not calls (a crash while writing, or an \
                 edit); they go at the next compaction"
            );
        }
        let excess = entries.len().saturating_sub(COMPACT_AFTER);
        entries.drain(..excess);
        tracing::debug!(file = %path.display(), entries = entries.len(), "call history read");
        Ok(History {
            path,
            entries,
            lines,
            torn_tail,
            skipped,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many lines were skipped when the file was opened.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Appends a finished call and flushes it to disk. On an error the entry is still listed
    /// for the rest of the session, but it may be missing after a restart.
    pub fn append(&mut self, entry: HistoryEntry) -> Result<(), HistoryError> {
        let write_err = |source| HistoryError::Write {
            path: self.path.clone(),
            source,
        };
        let mut line = Vec::with_capacity(256);
        if self.torn_tail {
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, &entry).map_err(|e| write_err(io::Error::other(e)))?;
        line.push(b'\n');
        self.entries.push(entry);
        let excess = self.entries.len().saturating_sub(COMPACT_AFTER);
        self.entries.drain(..excess);

        if let Err(e) = append_line(&self.path, &line) {
            // Part of the line may be in the file; start the next one on a fresh line.
            self.torn_tail = true;
            return Err(write_err(e));
        }
        self.torn_tail = false;
        self.lines += 1;
        if self.lines > COMPACT_AFTER {
            // The call is saved; a failed compaction is tried again at the next call.
            if let Err(e) = self.compact() {
                tracing::warn!(error = %e, "call history: compaction failed");
            }
        }
        Ok(())
    }

    /// The calls, newest first, at most [`MAX_LISTED`].
    pub fn list(&self) -> Vec<HistoryEntry> {
        self.entries
            .iter()
            .rev()
            .take(MAX_LISTED)
            .cloned()
            .collect()
    }

    /// Forgets every call, in the file too.
    pub fn clear(&mut self) -> Result<(), HistoryError> {
        self.rewrite(Vec::new())?;
        tracing::info!("call history cleared");
        Ok(())
    }

    /// Keeps the newest [`KEEP_AFTER_COMPACTION`] entries, in the file too.
    fn compact(&mut self) -> Result<(), HistoryError> {
        let start = self.entries.len().saturating_sub(KEEP_AFTER_COMPACTION);
        let keep = self.entries[start..].to_vec();
        let dropped = self.lines.saturating_sub(keep.len());
        self.rewrite(keep)?;
        tracing::info!(kept = self.entries.len(), dropped, "call history compacted");
        Ok(())
    }

    /// Replaces the file with `entries` atomically, then the memory.
    fn rewrite(&mut self, entries: Vec<HistoryEntry>) -> Result<(), HistoryError> {
        let mut text = Vec::with_capacity(entries.len() * 256);
        for e in &entries {
            serde_json::to_writer(&mut text, e).map_err(|e| HistoryError::Write {
                path: self.path.clone(),
                source: io::Error::other(e),
            })?;
            text.push(b'\n');
        }
        replace_file(&self.path, &text, |_| Ok(())).map_err(|source| HistoryError::Write {
            path: self.path.clone(),
            source,
        })?;
        self.lines = entries.len();
        self.entries = entries;
        self.torn_tail = false;
        Ok(())
    }
}

/// Appends `line` to the file (creating it and its folder, owner-only) and flushes it to disk.
fn append_line(path: &Path, line: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        fs::create_dir_all(dir)?;
    }
    let created = !path.exists();
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(line)?;
    file.sync_data()?;
    if created {
        // Make the new file's name durable too (not possible, nor needed, on Windows).
        if let Some(d) = dir.and_then(|d| File::open(d).ok()) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// The history as [`Phone`](crate::Phone) holds it: opened at first use (so opening the phone
/// never waits for it, and an unreadable file is retried), behind a lock.
#[derive(Debug)]
pub(crate) struct SharedHistory {
    path: Option<PathBuf>,
    open: Mutex<Option<History>>,
}

impl SharedHistory {
    /// The history at `path`; `None` (no data folder) fails at use with
    /// [`HistoryError::NoDataDir`].
    pub(crate) fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            open: Mutex::new(None),
        }
    }

    /// Runs `f` on the history, opening it first if needed.
    pub(crate) fn with<R>(
        &self,
        f: impl FnOnce(&mut History) -> Result<R, HistoryError>,
    ) -> Result<R, HistoryError> {
        // Every change to History leaves it consistent before it can fail or panic (the
        // memory is updated whole), so a poisoned lock still holds a usable history.
        let mut slot = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *slot {
            Some(history) => f(history),
            None => {
                let path = self.path.clone().ok_or(HistoryError::NoDataDir)?;
                let mut history = History::open(path)?;
                let result = f(&mut history);
                *slot = Some(history);
                result
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CallDirection, CallOutcome};

    fn entry(n: u64) -> HistoryEntry {
        HistoryEntry {
            id: format!("call-{n}"),
            account_id: n.is_multiple_of(2).then(|| "acc-3f9a1c".to_string()),
            direction: if n.is_multiple_of(3) {
                CallDirection::Incoming
            } else {
                CallDirection::Outgoing
            },
            remote: format!("sip:{n}@example.com"),
            remote_name: n
                .is_multiple_of(5)
                .then(|| format!("Caller \u{e9}{n} \"quoted\"\n")),
            started_at: 1_700_000_000_000 + n * 60_000,
            answered_at: (!n.is_multiple_of(4)).then_some(1_700_000_005_000 + n * 60_000),
            ended_at: 1_700_000_030_000 + n * 60_000,
            outcome: if n.is_multiple_of(4) {
                CallOutcome::Missed
            } else {
                CallOutcome::Answered
            },
            reason: n
                .is_multiple_of(7)
                .then(|| "The far end hung up.".to_string()),
        }
    }

    fn ids(list: &[HistoryEntry]) -> Vec<String> {
        list.iter().map(|e| e.id.clone()).collect()
    }

    fn path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("data").join(HISTORY_FILE_NAME)
    }

    #[test]
    fn round_trip_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        let mut h = History::open(&path).unwrap();
        assert!(h.list().is_empty());
        assert!(!path.exists(), "opening creates nothing");
        for n in 1..=10 {
            h.append(entry(n)).unwrap();
        }
        let listed = h.list();
        assert_eq!(listed[0], entry(10));
        assert_eq!(listed[9], entry(1));

        let again = History::open(&path).unwrap();
        assert_eq!(again.list(), listed);
        assert_eq!(again.skipped(), 0);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 10);
        assert!(text.ends_with('\n'));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
    }

    #[test]
    fn survives_a_torn_last_line_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        let mut h = History::open(&path).unwrap();
        for n in 1..=3 {
            h.append(entry(n)).unwrap();
        }
        drop(h);
        // A crash in the middle of writing call 4: half a line, no newline.
        let full = fs::read(&path).unwrap();
        let mut torn = full.clone();
        let line4 = serde_json::to_vec(&entry(4)).unwrap();
        torn.extend_from_slice(&line4[..line4.len() / 2]);
        fs::write(&path, &torn).unwrap();

        let mut h = History::open(&path).unwrap();
        assert_eq!(ids(&h.list()), ["call-3", "call-2", "call-1"]);
        assert_eq!(h.skipped(), 1);
        // The next call starts on a line of its own and is read back.
        h.append(entry(5)).unwrap();
        let h = History::open(&path).unwrap();
        assert_eq!(ids(&h.list()), ["call-5", "call-3", "call-2", "call-1"]);
        assert_eq!(h.skipped(), 1);

        // Garbage anywhere: binary, other JSON, a truncated line in the middle, blank lines.
        let mut text = fs::read(&path).unwrap();
        text.extend_from_slice(b"\xff\xfe not json\n{\"id\":\"x\"}\n\n   \n[1,2]\n");
        text.extend_from_slice(&line4[..10]);
        text.push(b'\n');
        fs::write(&path, &text).unwrap();
        let mut h = History::open(&path).unwrap();
        assert_eq!(h.skipped(), 5);
        assert_eq!(h.list().len(), 4);
        h.append(entry(6)).unwrap();
        assert_eq!(
            ids(&History::open(&path).unwrap().list())[..2],
            ["call-6", "call-5"]
        );
    }

    #[test]
    fn empty_and_whitespace_files_are_empty_histories() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        for text in ["", "\n", "\n\n  \n"] {
            fs::write(&path, text).unwrap();
            let h = History::open(&path).unwrap();
            assert!(h.list().is_empty());
            assert_eq!(h.skipped(), 0);
        }
    }

    #[test]
    fn compaction_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        let mut h = History::open(&path).unwrap();
        for n in 1..=COMPACT_AFTER as u64 {
            h.append(entry(n)).unwrap();
        }
        let lines = |p: &Path| fs::read_to_string(p).unwrap().lines().count();
        assert_eq!(lines(&path), COMPACT_AFTER);
        assert_eq!(h.list().len(), MAX_LISTED);
        assert_eq!(h.list()[0].id, format!("call-{COMPACT_AFTER}"));

        // One more: the file shrinks to the newest KEEP_AFTER_COMPACTION.
        h.append(entry(COMPACT_AFTER as u64 + 1)).unwrap();
        assert_eq!(lines(&path), KEEP_AFTER_COMPACTION);
        let reopened = History::open(&path).unwrap();
        let listed = reopened.list();
        assert_eq!(listed.len(), KEEP_AFTER_COMPACTION.min(MAX_LISTED));
        assert_eq!(listed[0].id, format!("call-{}", COMPACT_AFTER + 1));
        assert_eq!(
            listed.last().unwrap().id,
            format!("call-{}", COMPACT_AFTER + 2 - KEEP_AFTER_COMPACTION)
        );
        assert_eq!(listed, h.list());
        // No temporary file left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [HISTORY_FILE_NAME]);
    }

    #[test]
    fn skipped_lines_count_towards_compaction_and_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = String::new();
        for n in 1..=10 {
            text.push_str(&serde_json::to_string(&entry(n)).unwrap());
            text.push('\n');
        }
        text.push_str(&"garbage\n".repeat(COMPACT_AFTER - 10));
        fs::write(&path, text).unwrap();
        let mut h = History::open(&path).unwrap();
        assert_eq!(h.skipped(), COMPACT_AFTER - 10);
        h.append(entry(11)).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 11);
        assert!(!text.contains("garbage"));
        assert_eq!(History::open(&path).unwrap().skipped(), 0);
    }

    #[test]
    fn clear_empties_file_and_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        let mut h = History::open(&path).unwrap();
        h.append(entry(1)).unwrap();
        h.clear().unwrap();
        assert!(h.list().is_empty());
        assert!(History::open(&path).unwrap().list().is_empty());
        h.append(entry(2)).unwrap();
        assert_eq!(ids(&History::open(&path).unwrap().list()), ["call-2"]);
        // Clearing a history that has no file yet works too.
        let mut fresh = History::open(dir.path().join("other.jsonl")).unwrap();
        fresh.clear().unwrap();
        assert!(fresh.list().is_empty());
    }

    #[test]
    fn unreadable_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be: cannot be read, even by root.
        let path = dir.path().join(HISTORY_FILE_NAME);
        fs::create_dir(&path).unwrap();
        let e = History::open(&path).unwrap_err();
        assert!(matches!(e, HistoryError::Read { .. }), "{e:?}");
        assert!(
            e.to_string().contains("could not read the call history"),
            "{e}"
        );

        // A file without read permission (root reads it anyway: then only check no panic).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let locked = dir.path().join("locked.jsonl");
            fs::write(&locked, b"").unwrap();
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
            if fs::read(&locked).is_err() {
                assert!(matches!(
                    History::open(&locked),
                    Err(HistoryError::Read { .. })
                ));
            }
        }

        // A folder that is a file: cannot be read either.
        let blocked = dir.path().join("file-not-dir");
        fs::write(&blocked, b"").unwrap();
        assert!(matches!(
            History::open(blocked.join(HISTORY_FILE_NAME)),
            Err(HistoryError::Read { .. })
        ));

        // Appending where no file can be made (its folder became a file after opening): an
        // error, and the call is still listed this session.
        let gone = dir.path().join("gone");
        let mut h = History::open(gone.join(HISTORY_FILE_NAME)).unwrap();
        fs::write(&gone, b"").unwrap();
        let e = h.append(entry(1)).unwrap_err();
        assert!(matches!(e, HistoryError::Write { .. }), "{e:?}");
        assert_eq!(ids(&h.list()), ["call-1"]);
        assert!(matches!(h.clear(), Err(HistoryError::Write { .. })));
    }

    #[test]
    fn shared_history_opens_at_first_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        let shared = SharedHistory::new(Some(path.clone()));
        shared.with(|h| h.append(entry(1))).unwrap();
        assert_eq!(shared.with(|h| Ok(h.list())).unwrap().len(), 1);
        assert!(path.exists());
        let none = SharedHistory::new(None);
        assert!(matches!(
            none.with(|h| Ok(h.list())),
            Err(HistoryError::NoDataDir)
        ));
    }
}
