//! The list as the workers read it, one address at a time.

use std::collections::HashSet;
use std::sync::mpsc::SyncSender;

use super::input::{Entries, ListEntry, classify};
use super::{Finished, RunSettings, RunState, WorkerReport, manifest};
use crate::error::Exit;
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

/// Reads the list on behalf of the workers (under a lock): validates and
/// de-duplicates, turns malformed lines and skipped files into records on the
/// way, and looks each address up in the manifest.
pub(super) struct AddressFeed {
    /// `None` once the list is exhausted or broken.
    entries: Option<Entries>,
    seen: HashSet<u128>,
    /// Said once that the manifest is another back end's.
    told_other_backend: bool,
}

impl AddressFeed {
    pub fn new(entries: Entries) -> AddressFeed {
        AddressFeed {
            entries: Some(entries),
            seen: HashSet::new(),
            told_other_backend: false,
        }
    }

    /// Up to `n` addresses to fetch; fewer at the end of the list (or when
    /// the collector is gone).
    pub fn next_jobs(
        &mut self,
        n: usize,
        state: &RunState,
        settings: &RunSettings,
        tx: &SyncSender<WorkerReport>,
    ) -> Vec<Job> {
        let mut jobs = Vec::with_capacity(n);
        while jobs.len() < n
            && let Some(job) = self.next_job(state, settings, tx)
        {
            jobs.push(job);
        }
        jobs
    }

    /// The next address to fetch; `None` at the end of the list (or when the
    /// collector is gone).
    pub fn next_job(
        &mut self,
        state: &RunState,
        settings: &RunSettings,
        tx: &SyncSender<WorkerReport>,
    ) -> Option<Job> {
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
            let (line, email) = match classify(raw, &mut self.seen) {
                None => continue,
                Some(ListEntry::Invalid { line, text, error }) => {
                    let mut record = Record::new(text, Status::Failed);
                    record.line = Some(line);
                    record.error = Some(error);
                    record.exit_code = Exit::Usage.code();
                    tx.send(WorkerReport::Finished(Box::new(Finished::of(record))))
                        .ok()?;
                    continue;
                }
                Some(ListEntry::Address { line, email }) => (line, email),
            };
            let previous = state
                .manifest()
                .get(&email)
                // A manifest is a file anyone may edit: only plain names in
                // --dir are trusted.
                .filter(|entry| output::sanitize_file_name(&entry.file) == entry.file)
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
                    tx.send(WorkerReport::Finished(Box::new(Finished::of(record))))
                        .ok()?;
                    continue;
                }
            }
            let previous = previous.filter(|_| settings.sync);
            if let Some(entry) = &previous
                && entry.backend() != settings.backend
                && !self.told_other_backend
            {
                self.told_other_backend = true;
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
            return Some(Job {
                line,
                email,
                previous,
                if_none_match,
            });
        }
    }
}
