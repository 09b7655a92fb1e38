//! The list as the workers read it, a few addresses at a time (as many as a
//! worker's client sends at once).

use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;

use super::input::{Entries, ListEntry, classify};
use super::plan::{Note, Notes};
use super::{Finished, RunSettings, RunState, WorkerReport, manifest};
use crate::error::{Error, Exit};
use crate::output;
use crate::record::{Record, Status};

/// One address for a worker.
pub(super) struct Job {
    pub line: u64,
    pub email: String,
    /// The manifest's entry, when --sync and its file is still there.
    pub previous: Option<manifest::Entry>,
    /// Its ETag, when that file is what this run would write.
    pub if_none_match: Option<String>,
}

/// Reads the list on behalf of the workers (under a lock): validates, passes
/// over the lines that repeat an address, turns malformed lines and skipped
/// files into records on the way, and gives each address its manifest entry
/// (both from pass 1's notes, which come in line order like the list).
pub(super) struct AddressFeed {
    /// `None` once the list is exhausted or broken.
    entries: Option<Entries>,
    notes: Notes,
}

impl AddressFeed {
    pub fn new(entries: Entries, notes: Notes) -> AddressFeed {
        AddressFeed {
            entries: Some(entries),
            notes,
        }
    }

    /// The next address to fetch; `None` at the end of the list (or when the
    /// collector is gone).
    #[cfg(test)]
    pub fn next_job(
        &mut self,
        state: &RunState,
        settings: &RunSettings,
        tx: &SyncSender<WorkerReport>,
    ) -> Option<Job> {
        loop {
            if let Some(job) = self.next_address(tx)?.job(state, settings, tx) {
                return Some(job);
            }
        }
    }

    /// Up to `n` addresses of the list that are not repeats, with their
    /// notes; fewer at the end of the list (or when the collector is gone).
    pub fn next_addresses(&mut self, n: usize, tx: &SyncSender<WorkerReport>) -> Vec<Address> {
        let mut addresses = Vec::with_capacity(n);
        while addresses.len() < n
            && let Some(address) = self.next_address(tx)
        {
            addresses.push(address);
        }
        addresses
    }

    /// The next address of the list that is not a repeat, with its note;
    /// `None` at the end of the list (or when the collector is gone). What
    /// needs no other line is left to [`Address::job`], outside the lock.
    fn next_address(&mut self, tx: &SyncSender<WorkerReport>) -> Option<Address> {
        loop {
            let raw = match self.entries.as_mut()?.next() {
                None => {
                    self.entries = None;
                    return None;
                }
                Some(Err(err)) => {
                    self.entries = None;
                    let _ = tx.send(WorkerReport::InputError(err));
                    return None;
                }
                Some(Ok(raw)) => raw,
            };
            let (line, email) = match classify(raw) {
                ListEntry::Invalid { line, text, error } => {
                    let mut record = Record::new(text, Status::Failed);
                    record.line = Some(line);
                    record.error = Some(error);
                    record.exit_code = Exit::Usage.code();
                    tx.send(WorkerReport::Finished(Box::new(Finished::of(record))))
                        .ok()?;
                    continue;
                }
                ListEntry::Address { line, email } => (line, email),
            };
            let note = match self.notes.take(line, &email.to_lowercase()) {
                Ok(note) => note,
                Err(err) => {
                    self.entries = None;
                    let _ = tx.send(WorkerReport::InputError(Error::local(
                        "read the sorted list back from its temporary file",
                        err,
                    )));
                    return None;
                }
            };
            if note == Some(Note::Repeat) {
                continue;
            }
            return Some(Address { line, email, note });
        }
    }
}

/// An address from the list, with pass 1's note on it.
pub(super) struct Address {
    line: u64,
    email: String,
    note: Option<Note>,
}

impl Address {
    /// The job for this address, or `None` when it needs none (its file is
    /// kept with `--skip-existing`: the record is sent).
    pub fn job(
        self,
        state: &RunState,
        settings: &RunSettings,
        tx: &SyncSender<WorkerReport>,
    ) -> Option<Job> {
        let Address { line, email, note } = self;
        let previous = match note {
            Some(Note::Repeat) => None,
            Some(Note::Previous(json)) => match manifest::parse_entry(&email, &json) {
                Ok(entry) => Some(entry),
                Err(warning) => {
                    let _ = tx.send(WorkerReport::Warning(warning));
                    None
                }
            },
            None => None,
        };
        let previous = previous
            // A manifest is a file anyone may edit: only plain names in
            // --dir are trusted.
            .filter(|entry| output::is_safe_file_name(&entry.file))
            .filter(|entry| settings.dir.join(&entry.file).is_file());
        if settings.skip_existing {
            let existing = previous
                .as_ref()
                .map(|entry| settings.dir.join(&entry.file))
                .or_else(|| {
                    Some(settings.dir.join(settings.template.render(
                        &email,
                        settings.size,
                        settings.default_ext,
                    )))
                    .filter(|p| p.is_file())
                });
            if let Some(path) = existing {
                let mut record = Record::new(email, Status::Skipped);
                record.line = Some(line);
                record.path = Some(path.display().to_string());
                let _ = tx.send(WorkerReport::Finished(Box::new(Finished::of(record))));
                return None;
            }
        }
        let previous = previous.filter(|_| settings.sync);
        if let Some(entry) = &previous
            && entry.backend() != settings.backend
            && !state.told_other_backend.swap(true, Ordering::Relaxed)
        {
            let _ = tx.send(WorkerReport::Warning(format!(
                "the manifest in {} was written by the {} back end, whose ETags mean nothing to {}: those photos are downloaded and written again, once (the manifest then records them for {})",
                settings.dir.display(),
                entry.backend(),
                settings.backend,
                settings.backend
            )));
        }
        let if_none_match = previous
            .as_ref()
            .filter(|entry| settings.still_fits(&email, entry))
            .and_then(|entry| entry.etag.clone());
        Some(Job {
            line,
            email,
            previous,
            if_none_match,
        })
    }
}
