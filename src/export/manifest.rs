//! The manifest kept in the output folder: for each address, its file, size
//! and ETag, so that `--sync` asks only for photos that changed.
//!
//! On disk it is one JSON document, one entry a line, sorted by address
//! (lower-cased), readable by a person, by `jq`, or line by line by a script:
//!
//! ```text
//! {"version":1,"entries":{
//! "alice@contoso.com":{"email":"Alice@contoso.com","file":"Alice@contoso.com.jpg",…},
//! "bob@contoso.com":{…}
//! }}
//! ```
//!
//! It is never held in memory, so that a run over a million addresses needs
//! no more than one over a thousand: a run reads it as a stream in address
//! order (merged with the list's addresses sorted the same way, before the
//! first request), and writes its changes to a journal beside it
//! ([`JOURNAL_NAME`], one JSON change a line, flushed at every checkpoint). At
//! the end of the run, Ctrl-C included, the journal, sorted, is merged with the
//! manifest into a new one that replaces the old atomically, and the journal
//! goes. A run killed before that leaves its journal, which the next run folds
//! in first.
//!
//! A manifest edited by hand into any other layout or order is still read (it
//! is sorted into this layout on the way); a damaged one is ignored with a
//! warning, as is a damaged journal line.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::sorter::{Sorted, Sorter};
use crate::output::{self, OutputError};

/// The manifest's file name in the output folder.
pub const FILE_NAME: &str = ".ews-photo-manifest.json";

/// The journal of a run's changes, beside the manifest until the run ends.
pub const JOURNAL_NAME: &str = ".ews-photo-manifest.journal";

/// The format version written.
pub const VERSION: u32 = 1;

/// The first line of a manifest in the layout this module writes.
const HEADER: &str = "{\"version\":1,\"entries\":{\n";

/// What was last written for one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The address as it was given.
    pub email: String,
    /// The file name in the folder.
    pub file: String,
    /// The size code asked for.
    pub size: String,
    /// The `--name` template the file name came from (absent in manifests of
    /// version 0.1, which only ever used what `--name` said at the time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The server's ETag for that photo (Graph: its `@odata.mediaEtag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The back end that wrote the entry, as `--backend` names it; absent
    /// means `ews` (the only one before Graph). An ETag means something only
    /// to the back end that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// When it was fetched (UTC, RFC 3339).
    pub fetched: String,
}

impl Entry {
    /// The key the manifest files it under: the address, lower-cased.
    pub fn key(&self) -> String {
        self.email.to_lowercase()
    }

    /// The back end that wrote it: `ews` when the entry does not say.
    pub fn backend(&self) -> &str {
        self.backend.as_deref().unwrap_or("ews")
    }
}

/// A change to the manifest: what a worker reports, and one line of the
/// journal.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// A fetched photo's entry.
    Set(Entry),
    /// An address forgotten.
    Remove(String),
}

/// In the sorted changes, before the entry's JSON or nothing.
const SET: u8 = b'S';
const REMOVE: u8 = b'R';

/// The folder's manifest, as a run sees it: the entries as the run found them
/// ([`Manifest::entries`], in key order), and the run's changes
/// ([`Manifest::set`], [`Manifest::remove`]), which [`Manifest::save`] merges
/// into the file.
pub struct Manifest {
    dir: PathBuf,
    /// The entries as found, in the layout above (the folder's file itself, or
    /// a sorted copy of a hand-edited one); `None`: no entries.
    base: Option<File>,
    len: u64,
    /// This run's changes, in the order they came, on disk.
    journal: Option<BufWriter<File>>,
    /// The same changes, by key, for the merge.
    pending: Option<Sorter>,
    changes: u64,
    /// The first failure to write the journal, reported at the next checkpoint.
    failed: Option<io::Error>,
    /// False while a killed run's journal is read back: it is the journal.
    journaling: bool,
    /// A killed run's journal could not be folded in: it stays, this run
    /// appends to it, and [`Manifest::save`] folds in the whole of it.
    unfolded: bool,
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifest")
            .field("dir", &self.dir)
            .field("entries", &self.len)
            .field("changes", &self.changes)
            .finish()
    }
}

impl Manifest {
    /// The manifest's path in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// The journal's path in `dir`.
    pub fn journal_path(dir: &Path) -> PathBuf {
        dir.join(JOURNAL_NAME)
    }

    /// A manifest with no entries, for the folder `dir`.
    pub fn empty(dir: &Path) -> Manifest {
        Manifest {
            dir: dir.to_path_buf(),
            base: None,
            len: 0,
            journal: None,
            pending: None,
            changes: 0,
            failed: None,
            journaling: true,
            unfolded: false,
        }
    }

    /// Opens the folder's manifest, first folding in the journal a killed run
    /// left. A missing manifest is empty; an unreadable or damaged one is
    /// empty too. Returns the warnings to show.
    pub fn load(dir: &Path) -> (Manifest, Vec<String>) {
        let mut warnings = Vec::new();
        let path = Manifest::path(dir);
        let mut manifest = Manifest::empty(dir);
        match File::open(&path) {
            Ok(file) => match manifest.adopt(file) {
                Ok(()) => {}
                Err(Damage::Io(e)) => warnings.push(format!(
                    "cannot read {} ({e}); every photo will be fetched again",
                    path.display()
                )),
                Err(Damage::Content(e)) => warnings.push(format!(
                    "{} is damaged ({e}); every photo will be fetched again and the manifest rewritten",
                    path.display()
                )),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => warnings.push(format!(
                "cannot read {} ({e}); every photo will be fetched again",
                path.display()
            )),
        }
        if let Some(warning) = manifest.recover() {
            warnings.push(warning);
        }
        (manifest, warnings)
    }

    /// Takes `file` as the entries: as it is when it is in this module's
    /// layout and order, else sorted into a temporary copy.
    fn adopt(&mut self, file: File) -> Result<(), Damage> {
        match check_layout(&file) {
            Ok(len) => {
                self.base = Some(file);
                self.len = len;
            }
            Err(Damage::Io(e)) => return Err(Damage::Io(e)),
            Err(Damage::Content(_)) => {
                let (copy, len) = normalize(&file, &self.dir)?;
                self.base = Some(copy);
                self.len = len;
            }
        }
        Ok(())
    }

    /// Folds in a journal left by a run that was killed; the warning says so.
    fn recover(&mut self) -> Option<String> {
        let path = Manifest::journal_path(&self.dir);
        let (recovered, damaged) = match self.replay_journal() {
            Ok(Some(counts)) => counts,
            Ok(None) => return None,
            Err(e) => {
                return Some(format!(
                    "cannot read {} ({e}); the photos it lists will be fetched again",
                    path.display()
                ));
            }
        };
        let saved = self.save();
        let lost = if damaged > 0 {
            format!(" ({damaged} unreadable lines skipped: their photos will be fetched again)")
        } else {
            String::new()
        };
        Some(match saved {
            Ok(()) => format!(
                "the last run in this folder stopped before it could update the manifest; {recovered} results from its journal {} were added to it{lost}",
                path.display()
            ),
            Err(e) => {
                // Kept, and this run's changes go after it: the journal as a
                // whole is folded in at the end of this run, or by the next.
                self.unfolded = true;
                format!(
                    "the last run in this folder stopped before it could update the manifest, and its journal {} cannot be folded in now ({e}); this run adds to it and tries again at its end",
                    path.display()
                )
            }
        })
    }

    /// Reads the journal into the pending changes (in place of any), in its
    /// order; `None` when there is none. Returns the changes read and the
    /// unreadable lines skipped.
    fn replay_journal(&mut self) -> io::Result<Option<(u64, u64)>> {
        let file = match File::open(Manifest::journal_path(&self.dir)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        self.pending = None;
        self.changes = 0;
        let mut damaged = 0u64;
        self.journaling = false;
        for line in BufReader::new(file).split(b'\n') {
            let line = match line {
                Ok(line) => line,
                Err(_) => {
                    damaged += 1;
                    break;
                }
            };
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Change>(&line) {
                Ok(change) => self.apply(change),
                // A line cut short when the run was killed, or an edit.
                Err(_) => damaged += 1,
            }
        }
        self.journaling = true;
        Ok(Some((self.changes, damaged)))
    }

    /// True when it has no entries and no changes.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.changes == 0
    }

    /// How many entries it had when the run found it.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The entries as the run found them, by key (lower-cased address), each
    /// as its key and the entry's JSON text (see [`parse_entry`]). The run's
    /// own changes are not in it until [`Manifest::save`].
    pub fn entries(&self) -> io::Result<Entries> {
        match &self.base {
            None => Ok(Entries::none()),
            Some(file) => Entries::read(file),
        }
    }

    /// Records a change: [`Manifest::set`] or [`Manifest::remove`].
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Set(entry) => self.set(&entry),
            Change::Remove(email) => self.remove(&email),
        }
    }

    /// Records a fetched photo (in the journal; the file is updated by
    /// [`Manifest::save`]).
    pub fn set(&mut self, entry: &Entry) {
        let json = serde_json::to_vec(entry).expect("an entry serialises");
        let mut line = Vec::with_capacity(json.len() + 10);
        line.extend_from_slice(b"{\"set\":");
        line.extend_from_slice(&json);
        line.extend_from_slice(b"}\n");
        let mut value = Vec::with_capacity(json.len() + 1);
        value.push(SET);
        value.extend_from_slice(&json);
        self.record(&entry.key(), &line, &value);
    }

    /// Forgets an address.
    pub fn remove(&mut self, email: &str) {
        let mut line =
            serde_json::to_vec(&Change::Remove(email.to_string())).expect("a string serialises");
        line.push(b'\n');
        self.record(&email.to_lowercase(), &line, &[REMOVE]);
    }

    fn record(&mut self, key: &str, line: &[u8], value: &[u8]) {
        self.changes += 1;
        if self.failed.is_some() {
            return;
        }
        let dir = &self.dir;
        let journaling = self.journaling;
        let written = (|| {
            if journaling {
                if self.journal.is_none() {
                    // Appended to: a journal still there is one that could
                    // not be folded in, and is part of this run's changes.
                    let file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(Manifest::journal_path(dir))?;
                    self.journal = Some(BufWriter::with_capacity(64 * 1024, file));
                }
                if let Some(journal) = self.journal.as_mut() {
                    journal.write_all(line)?;
                }
            }
            self.pending
                .get_or_insert_with(|| Sorter::new(dir))
                .push(key.as_bytes(), value)
        })();
        if let Err(e) = written {
            self.failed = Some(e);
        }
    }

    /// Makes the changes so far survive the process: a run killed after this
    /// loses nothing before it (cheap: the journal's new lines).
    pub fn flush(&mut self) -> Result<(), OutputError> {
        let journal = Manifest::journal_path(&self.dir);
        if let Some(e) = self.failed.take() {
            return Err(OutputError::Io {
                path: journal,
                source: e,
            });
        }
        match self.journal.as_mut().map(BufWriter::flush) {
            Some(Err(source)) => Err(OutputError::Io {
                path: journal,
                source,
            }),
            _ => Ok(()),
        }
    }

    /// Merges the changes into the file, which is replaced atomically, and
    /// removes the journal. Without changes the file is left as it is.
    pub fn save(&mut self) -> Result<(), OutputError> {
        self.flush()?;
        let path = Manifest::path(&self.dir);
        let io_error = |source| OutputError::Io {
            path: path.clone(),
            source,
        };
        if self.unfolded {
            // An earlier run's lines come first in the journal, this run's
            // after them: all of it, in order.
            self.journal = None;
            self.replay_journal().map_err(|e| OutputError::Io {
                path: Manifest::journal_path(&self.dir),
                source: e,
            })?;
        }
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let changes = pending.finish().map_err(io_error)?;
        let base = self.entries().map_err(io_error)?;
        let mut len = 0;
        output::write_atomic_with(&path, true, |out| {
            len = write_merged(out, base, changes)?;
            Ok(())
        })?;
        self.base = Some(File::open(&path).map_err(io_error)?);
        self.len = len;
        self.changes = 0;
        self.journal = None;
        self.unfolded = false;
        match std::fs::remove_file(Manifest::journal_path(&self.dir)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(OutputError::Io {
                path: Manifest::journal_path(&self.dir),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

/// Why a manifest could not be taken as it is.
enum Damage {
    /// Reading failed.
    Io(io::Error),
    /// Not in the expected layout or order, or not a manifest.
    Content(String),
}

impl From<io::Error> for Damage {
    fn from(e: io::Error) -> Damage {
        if e.kind() == io::ErrorKind::InvalidData {
            Damage::Content(e.to_string())
        } else {
            Damage::Io(e)
        }
    }
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Checks that `file` is in this module's layout, sorted by key; returns how
/// many entries it has. The entries themselves are parsed when they are used
/// (a damaged one then counts as missing, see [`parse_entry`]): parsing them
/// all here would cost a `--sync` run over 300,000 addresses a second.
fn check_layout(file: &File) -> Result<u64, Damage> {
    let mut len = 0;
    let mut previous: Option<String> = None;
    for item in Entries::read(file)? {
        let (key, json) = item?;
        if previous.as_ref().is_some_and(|p| *p >= key) {
            return Err(Damage::Content("not sorted".into()));
        }
        if !is_lower_case(&key) {
            return Err(Damage::Content("a key is not lower-case".into()));
        }
        if !(json.starts_with('{') && json.ends_with('}')) {
            return Err(Damage::Content("an entry is not an object".into()));
        }
        previous = Some(key);
        len += 1;
    }
    Ok(len)
}

fn is_lower_case(key: &str) -> bool {
    if key.is_ascii() {
        !key.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        key.to_lowercase() == key
    }
}

/// An entry from [`Manifest::entries`]: `Err` says what is wrong with one
/// damaged by an edit (its address is then treated as having none).
pub fn parse_entry(key: &str, json: &str) -> Result<Entry, String> {
    serde_json::from_str(json).map_err(|e| {
        format!("the manifest's entry for {key} is damaged ({e}); its photo is fetched as if new")
    })
}

/// Reads a manifest in any JSON layout and order into a temporary copy in
/// this module's layout (for a file edited by hand). Returns the copy and how
/// many entries it has; of repeated keys the last counts, as in JSON.
fn normalize(file: &File, dir: &Path) -> Result<(File, u64), Damage> {
    let mut file = file.try_clone()?;
    file.rewind()?;
    let mut sorter = Sorter::new(dir);
    let mut failure = None;
    let mut reader = serde_json::Deserializer::from_reader(BufReader::new(file));
    let parsed = ManifestSeed {
        sorter: &mut sorter,
        failure: &mut failure,
    }
    .deserialize(&mut reader)
    .and_then(|()| reader.end());
    if let Some(e) = failure {
        return Err(Damage::Io(e));
    }
    parsed.map_err(|e| Damage::Content(e.to_string()))?;
    let sorted = sorter.finish()?;
    let mut copy = tempfile::tempfile_in(dir)?;
    let len = write_merged(&mut copy, Entries::none(), sorted)?;
    copy.rewind()?;
    Ok((copy, len))
}

/// The manifest document, entries going to the sorter as they are read.
struct ManifestSeed<'a> {
    sorter: &'a mut Sorter,
    failure: &'a mut Option<io::Error>,
}

impl<'de> DeserializeSeed<'de> for ManifestSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ManifestSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a manifest: {\"version\": 1, \"entries\": {…}}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut version, mut entries) = (false, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => {
                    map.next_value::<u32>()?;
                    version = true;
                }
                "entries" => {
                    map.next_value_seed(EntriesSeed {
                        sorter: &mut *self.sorter,
                        failure: &mut *self.failure,
                    })?;
                    entries = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !version {
            return Err(de::Error::missing_field("version"));
        }
        if !entries {
            return Err(de::Error::missing_field("entries"));
        }
        Ok(())
    }
}

struct EntriesSeed<'a> {
    sorter: &'a mut Sorter,
    failure: &'a mut Option<io::Error>,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of address → entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((key, entry)) = map.next_entry::<String, Entry>()? {
            let mut value = vec![SET];
            serde_json::to_writer(&mut value, &entry).map_err(de::Error::custom)?;
            if let Err(e) = self.sorter.push(key.to_lowercase().as_bytes(), &value) {
                *self.failure = Some(e);
                return Err(de::Error::custom("cannot write a temporary file"));
            }
        }
        Ok(())
    }
}

/// Writes `base` (sorted, unique keys) with `changes` (sorted, stable: of
/// several changes to a key the last counts) applied, in this module's
/// layout; returns the number of entries written.
fn write_merged(out: &mut dyn Write, base: Entries, changes: Sorted) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    out.write_all(HEADER.as_bytes())?;
    let mut written = 0u64;
    let mut emit = |key: &[u8], json: &[u8]| -> io::Result<()> {
        if written > 0 {
            out.write_all(b",\n")?;
        }
        // The key is UTF-8: it came from a String.
        serde_json::to_writer(
            &mut out,
            std::str::from_utf8(key).map_err(|e| invalid(e.to_string()))?,
        )?;
        out.write_all(b":")?;
        out.write_all(json)?;
        written += 1;
        Ok(())
    };
    let mut base = base.peekable();
    let mut changes = LastPerKey::new(changes);
    loop {
        let change = changes.next().transpose()?;
        // Entries before the change's key stay as they are.
        while let Some(next) = base.peek() {
            let keep = match (next, &change) {
                (Err(_), _) => true,
                (Ok((key, _)), Some((change_key, _))) => key.as_bytes() < change_key.as_slice(),
                (Ok(_), None) => true,
            };
            if !keep {
                break;
            }
            let (key, json) = base.next().expect("peeked")?;
            emit(key.as_bytes(), json.as_bytes())?;
        }
        let Some((key, value)) = change else {
            break;
        };
        if base.peek().is_some_and(|next| {
            next.as_ref()
                .is_ok_and(|(k, _)| k.as_bytes() == key.as_slice())
        }) {
            base.next();
        }
        if let Some((&SET, json)) = value.split_first() {
            emit(&key, json)?;
        }
    }
    out.write_all(if written > 0 { b"\n}}\n" } else { b"}}\n" })?;
    out.flush()?;
    Ok(written)
}

/// Sorted records, only the last of each key.
struct LastPerKey {
    inner: std::iter::Peekable<Sorted>,
}

impl LastPerKey {
    fn new(sorted: Sorted) -> LastPerKey {
        LastPerKey {
            inner: sorted.peekable(),
        }
    }
}

impl Iterator for LastPerKey {
    type Item = io::Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut current = match self.inner.next()? {
            Ok(record) => record,
            Err(e) => return Some(Err(e)),
        };
        while let Some(Ok((key, _))) = self.inner.peek() {
            if *key != current.0 {
                break;
            }
            current = self.inner.next().expect("peeked").expect("peeked Ok");
        }
        Some(Ok(current))
    }
}

/// The entries of a manifest in this module's layout, in file order, as
/// (key, entry JSON).
pub struct Entries {
    reader: Option<BufReader<File>>,
    line: String,
    /// The last entry line ended with a comma: another must follow.
    more: bool,
    /// An entry line was read.
    started: bool,
}

impl Entries {
    fn none() -> Entries {
        Entries {
            reader: None,
            line: String::new(),
            more: false,
            started: false,
        }
    }

    fn read(file: &File) -> io::Result<Entries> {
        let mut file = file.try_clone()?;
        file.rewind()?;
        let mut reader = BufReader::with_capacity(64 * 1024, file);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line != HEADER {
            return Err(invalid("not in the layout ews-photo writes"));
        }
        Ok(Entries {
            reader: Some(reader),
            line,
            more: false,
            started: false,
        })
    }

    fn next_entry(&mut self) -> io::Result<Option<(String, String)>> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        self.line.clear();
        if reader.read_line(&mut self.line)? == 0 {
            return Err(invalid("cut short"));
        }
        let line = self.line.strip_suffix('\n').unwrap_or(&self.line);
        if line == "}}" {
            if self.more {
                return Err(invalid("a comma before the end"));
            }
            let mut rest = String::new();
            if reader.read_line(&mut rest)? > 0 || !self.line.ends_with('\n') {
                return Err(invalid("something after the end"));
            }
            self.reader = None;
            return Ok(None);
        }
        if !self.more && self.started {
            return Err(invalid("a missing comma"));
        }
        let (line, more) = match line.strip_suffix(',') {
            Some(line) => (line, true),
            None => (line, false),
        };
        let mut keys = serde_json::Deserializer::from_str(line).into_iter::<String>();
        let key = match keys.next() {
            Some(Ok(key)) => key,
            _ => return Err(invalid("an entry line does not start with its key")),
        };
        let json = line[keys.byte_offset()..]
            .strip_prefix(':')
            .ok_or_else(|| invalid("no ':' after a key"))?;
        self.more = more;
        self.started = true;
        Ok(Some((key, json.to_string())))
    }
}

impl Iterator for Entries {
    type Item = io::Result<(String, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => None,
            Err(e) => {
                self.reader = None;
                Some(Err(e))
            }
        }
    }
}

/// Now, as `2026-11-27T13:40:05Z`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(email: &str, etag: &str) -> Entry {
        Entry {
            email: email.into(),
            file: format!("{email}.jpg"),
            size: "HR96x96".into(),
            name: Some("{email}.{ext}".into()),
            etag: Some(etag.into()),
            backend: None,
            fetched: "2026-12-01T00:00:00Z".into(),
        }
    }

    /// Every entry, parsed.
    fn all(manifest: &Manifest) -> Vec<(String, Entry)> {
        manifest
            .entries()
            .unwrap()
            .map(|item| {
                let (key, json) = item.unwrap();
                let entry = parse_entry(&key, &json).unwrap();
                (key, entry)
            })
            .collect()
    }

    fn keys(manifest: &Manifest) -> Vec<String> {
        all(manifest).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_786_205), "2026-11-27T13:30:05Z");
    }

    #[test]
    fn changes_are_merged_in_address_order_one_entry_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, warnings) = Manifest::load(dir.path());
        assert!(warnings.is_empty() && m.is_empty());
        m.set(&entry("Bob@Contoso.com", "b1"));
        m.set(&entry("alice@contoso.com", "a1"));
        m.set(&entry("carol@contoso.com", "c1"));
        m.save().unwrap();
        assert!(!Manifest::journal_path(dir.path()).exists());
        let text = std::fs::read_to_string(Manifest::path(dir.path())).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(lines[0], "{\"version\":1,\"entries\":{");
        assert!(lines[2].starts_with("\"bob@contoso.com\":{\"email\":\"Bob@Contoso.com\""));
        assert_eq!(lines[4], "}}");
        // Still one JSON document, as scripts read it.
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["entries"]["carol@contoso.com"]["etag"], "c1");

        // A later run: one changed, one removed (by another spelling), one new.
        let (mut m, _) = Manifest::load(dir.path());
        assert_eq!(m.len(), 3);
        m.set(&entry("alice@contoso.com", "a2"));
        m.remove("BOB@contoso.com");
        m.set(&entry("aaron@contoso.com", "x1"));
        // Of two changes to one address the last counts.
        m.set(&entry("dave@contoso.com", "d1"));
        m.remove("dave@contoso.com");
        // Until saved, the run sees the entries as it found them.
        assert_eq!(keys(&m).len(), 3);
        m.save().unwrap();
        let (m, _) = Manifest::load(dir.path());
        let entries = all(&m);
        let summary: Vec<(&str, &str)> = entries
            .iter()
            .map(|(k, e)| (k.as_str(), e.etag.as_deref().unwrap()))
            .collect();
        assert_eq!(
            summary,
            [
                ("aaron@contoso.com", "x1"),
                ("alice@contoso.com", "a2"),
                ("carol@contoso.com", "c1")
            ]
        );
    }

    #[test]
    fn a_run_without_changes_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, _) = Manifest::load(dir.path());
        m.set(&entry("a@b.c", "1"));
        m.save().unwrap();
        let before = std::fs::metadata(Manifest::path(dir.path())).unwrap();
        let (mut m, _) = Manifest::load(dir.path());
        m.flush().unwrap();
        m.save().unwrap();
        let after = std::fs::metadata(Manifest::path(dir.path())).unwrap();
        assert_eq!(before.modified().unwrap(), after.modified().unwrap());
        assert!(!Manifest::journal_path(dir.path()).exists());
    }

    #[test]
    fn the_journal_of_a_killed_run_is_folded_in_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, _) = Manifest::load(dir.path());
        m.set(&entry("old@b.c", "1"));
        m.save().unwrap();
        let (mut m, _) = Manifest::load(dir.path());
        m.set(&entry("new@b.c", "2"));
        m.remove("old@b.c");
        // More than a read buffer's worth, so that reading it back while
        // folding it in is tested over its whole length.
        for i in 0..300 {
            m.set(&entry(&format!("more{i:03}@b.c"), "3"));
        }
        m.flush().unwrap();
        // Killed here: no save. A line cut short by the kill follows.
        std::mem::forget(m);
        let journal = Manifest::journal_path(dir.path());
        let mut text = std::fs::read_to_string(&journal).unwrap();
        text.push_str("{\"set\":{\"email\":\"cut@b.c\",\"fi");
        std::fs::write(&journal, text).unwrap();

        let (m, warnings) = Manifest::load(dir.path());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("302 results from its journal")
                && warnings[0].contains("1 unreadable lines skipped"),
            "{}",
            warnings[0]
        );
        let keys = keys(&m);
        assert_eq!(keys.len(), 301);
        assert!(keys.contains(&"new@b.c".to_string()) && !keys.contains(&"old@b.c".to_string()));
        assert!(!journal.exists());
        // Once only.
        assert!(Manifest::load(dir.path()).1.is_empty());
    }

    #[test]
    fn a_journal_that_cannot_be_folded_in_is_kept_and_added_to() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, _) = Manifest::load(dir.path());
        m.set(&entry("killed@b.c", "1"));
        m.flush().unwrap();
        std::mem::forget(m);
        // Something in the manifest's place that cannot be replaced: a folder.
        std::fs::create_dir(Manifest::path(dir.path())).unwrap();
        let (mut m, warnings) = Manifest::load(dir.path());
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("cannot be folded in now")),
            "{warnings:?}"
        );
        m.set(&entry("this@b.c", "2"));
        assert!(m.save().is_err());
        // The folder gone, the next run folds in both runs' results.
        std::fs::remove_dir(Manifest::path(dir.path())).unwrap();
        let (m, warnings) = Manifest::load(dir.path());
        assert!(
            warnings[0].contains("2 results from its journal"),
            "{warnings:?}"
        );
        assert_eq!(keys(&m), ["killed@b.c", "this@b.c"]);
        assert!(!Manifest::journal_path(dir.path()).exists());
    }

    #[test]
    fn a_hand_edited_manifest_is_read_in_any_layout_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let edited = serde_json::json!({
            "version": 1,
            "comment": "edited by hand",
            "entries": {
                "Zed@b.c": entry("Zed@b.c", "z"),
                "amy@b.c": entry("amy@b.c", "a"),
            }
        });
        let path = Manifest::path(dir.path());
        let pretty = serde_json::to_string_pretty(&edited).unwrap();
        std::fs::write(&path, &pretty).unwrap();
        let (mut m, warnings) = Manifest::load(dir.path());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(keys(&m), ["amy@b.c", "zed@b.c"]);
        // Unchanged, it stays as edited; changed, it is written in order.
        m.save().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), pretty);
        m.set(&entry("bea@b.c", "b"));
        m.save().unwrap();
        assert_eq!(
            keys(&Manifest::load(dir.path()).0),
            ["amy@b.c", "bea@b.c", "zed@b.c"]
        );

        // Lines in the usual layout but out of order.
        std::fs::write(
            &path,
            "{\"version\":1,\"entries\":{\n\"b@b.c\":{\"email\":\"b@b.c\",\"file\":\"b\",\"size\":\"HR96x96\",\"fetched\":\"x\"},\n\"a@b.c\":{\"email\":\"a@b.c\",\"file\":\"a\",\"size\":\"HR96x96\",\"fetched\":\"x\"}\n}}\n",
        )
        .unwrap();
        assert_eq!(keys(&Manifest::load(dir.path()).0), ["a@b.c", "b@b.c"]);
    }

    #[test]
    fn a_damaged_manifest_is_ignored_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        for damaged in [
            "{oops",
            "",
            "{\"version\":1,\"entries\":{\n\"a@b.c\":{\"email\":\"a@b.c\"},\n",
            "{\"entries\":{}}",
            "[1, 2]",
        ] {
            std::fs::write(Manifest::path(dir.path()), damaged).unwrap();
            let (m, warnings) = Manifest::load(dir.path());
            assert!(m.is_empty(), "{damaged}");
            assert!(
                warnings.len() == 1 && warnings[0].contains("is damaged"),
                "{damaged}: {warnings:?}"
            );
        }
        // An entry damaged inside the usual layout costs that entry only.
        std::fs::write(
            Manifest::path(dir.path()),
            "{\"version\":1,\"entries\":{\n\"a@b.c\":{\"email\":\"a@b.c\"}\n}}\n",
        )
        .unwrap();
        let (m, warnings) = Manifest::load(dir.path());
        assert!(warnings.is_empty());
        let (key, json) = m.entries().unwrap().next().unwrap().unwrap();
        assert!(
            parse_entry(&key, &json)
                .unwrap_err()
                .contains("a@b.c is damaged")
        );
    }

    #[test]
    fn fields_this_version_does_not_know_travel_through() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            Manifest::path(dir.path()),
            "{\"version\":1,\"entries\":{\n\"a@b.c\":{\"email\":\"a@b.c\",\"file\":\"a\",\"size\":\"HR96x96\",\"fetched\":\"x\",\"origin\":\"a later version\"}\n}}\n",
        )
        .unwrap();
        let (mut m, _) = Manifest::load(dir.path());
        m.set(&entry("b@b.c", "b"));
        m.save().unwrap();
        let text = std::fs::read_to_string(Manifest::path(dir.path())).unwrap();
        assert!(text.contains("\"origin\":\"a later version\""), "{text}");
    }

    #[test]
    fn the_back_end_of_an_entry_survives_the_journal_and_the_merge() {
        let dir = tempfile::tempdir().unwrap();
        let by_graph = Entry {
            backend: Some("graph".into()),
            ..entry("g@b.c", "mediaetag")
        };
        let (mut m, _) = Manifest::load(dir.path());
        m.set(&by_graph);
        m.set(&entry("e@b.c", "etag"));
        m.save().unwrap();
        let (mut m, _) = Manifest::load(dir.path());
        let entries = all(&m);
        assert_eq!(entries[0].1.backend(), "ews");
        assert_eq!(
            entries[0].1.backend, None,
            "absent means EWS, as before Graph"
        );
        assert_eq!(entries[1].1, by_graph);
        // And through a killed run's journal, folded in by the next run.
        m.set(&Entry {
            etag: Some("newer".into()),
            ..by_graph.clone()
        });
        m.flush().unwrap();
        std::mem::forget(m);
        let (m, warnings) = Manifest::load(dir.path());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let entries = all(&m);
        assert_eq!(entries[1].1.backend(), "graph");
        assert_eq!(entries[1].1.etag.as_deref(), Some("newer"));
    }

    #[test]
    fn many_changes_go_through_the_sorter_runs() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, _) = Manifest::load(dir.path());
        // Enough to spill several runs of the sorter's buffer.
        for i in (0..5000).rev() {
            m.set(&entry(&format!("user{i:05}@contoso.com"), "e"));
        }
        m.save().unwrap();
        let (m, _) = Manifest::load(dir.path());
        let keys = keys(&m);
        assert_eq!(keys.len(), 5000);
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        // The runs were unnamed: only the manifest is left.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE_NAME]);
    }
}
