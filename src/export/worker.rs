//! One worker: takes addresses from the feed (several at once when its
//! client can batch their requests), fetches, writes, and sends what happened
//! to the collector.

use std::sync::Mutex;
use std::sync::mpsc::SyncSender;

use super::feed::{AddressFeed, Job};
use super::{Finished, RunSettings, RunState, WorkerReport, manifest};
use crate::backend::{Outcome, PhotoRequest};
use crate::client::Client;
use crate::error::{Error, Exit};
use crate::output;
use crate::photo::{self, PhotoError};
use crate::record::{Record, Status};

pub(super) fn work(
    index: usize,
    mut client: Client,
    feed: &Mutex<AddressFeed>,
    tx: &SyncSender<WorkerReport>,
    state: &RunState,
    settings: &RunSettings,
) {
    // Let the first answer through alone: a wrong password then costs one
    // request, not one per worker.
    if index > 0 {
        state.wait_warmed();
    }
    let mut first = index == 0;
    'run: loop {
        if state.stopping() {
            break;
        }
        // The run's first request carries one photo: the other workers wait
        // for it, and it tells soonest whether the credentials work.
        let take = if first { 1 } else { settings.batch };
        let mut jobs = Vec::with_capacity(take);
        while jobs.len() < take && !state.stopping() {
            // Only reading the list holds the lock; the rest of preparing a
            // job (the manifest entry, a look at the file) is done outside it.
            let addresses = feed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .next_addresses(take - jobs.len(), tx);
            if addresses.is_empty() {
                break;
            }
            jobs.extend(
                addresses
                    .into_iter()
                    .filter_map(|address| address.job(state, settings, tx)),
            );
        }
        if jobs.is_empty() || state.stopping() {
            break;
        }
        let requests: Vec<PhotoRequest> = jobs.iter().map(|job| request(job, settings)).collect();
        let results = client.fetch_many(&requests);
        let mut stop = false;
        for (job, result) in jobs.iter().zip(results) {
            let finished = write_one(job, result, state, settings, tx);
            if finished.as_ref().is_some_and(|f| f.fatal.is_some()) {
                // Before anyone is woken: the waiting workers must see the stop.
                state.abort.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            if first {
                first = false;
                if finished.as_ref().is_none_or(|f| f.fatal.is_none()) {
                    state.set_warmed();
                }
            }
            // Interrupted before writing: the rest is left for the next run.
            let Some(finished) = finished else {
                break 'run;
            };
            stop |= finished.fatal.is_some();
            if tx.send(WorkerReport::Finished(Box::new(finished))).is_err() {
                break 'run;
            }
        }
        if stop {
            break;
        }
    }
    if index == 0 {
        state.set_warmed();
    }
}

fn record(job: &Job, status: Status) -> Record {
    let mut record = Record::new(job.email.clone(), status);
    record.line = Some(job.line);
    record
}

fn request(job: &Job, settings: &RunSettings) -> PhotoRequest {
    PhotoRequest {
        email: job.email.clone(),
        size: settings.size,
        if_none_match: job.if_none_match.clone(),
    }
}

/// Writes one photo that was fetched (or says what else happened). `None`
/// when interrupted before writing (the address is left for the next run).
fn write_one(
    job: &Job,
    fetched: Result<Outcome, Error>,
    state: &RunState,
    settings: &RunSettings,
    tx: &SyncSender<WorkerReport>,
) -> Option<Finished> {
    let failed = |err: Error| {
        let mut record = Record::failed(job.email.clone(), &err);
        record.line = Some(job.line);
        Finished {
            record,
            change: None,
            // A failed sign-in fails every address alike: stop, as for a refusal.
            fatal: (err.exit() == Exit::Auth || matches!(err, Error::SignIn(_))).then_some(err),
        }
    };
    let raw = match fetched {
        Ok(Outcome::Photo(raw)) => raw,
        Ok(Outcome::Unchanged { etag, expires }) => {
            let previous = job.previous.as_ref();
            let mut record = record(job, Status::Unchanged);
            record.path = previous.map(|p| settings.dir.join(&p.file).display().to_string());
            record.etag = etag.or_else(|| previous.and_then(|p| p.etag.clone()));
            record.expires = expires;
            return Some(Finished::of(record));
        }
        Ok(Outcome::NoPhoto { detail }) => return Some(no_photo(job, state, settings, detail)),
        Err(err) => return Some(failed(err)),
    };
    let prepared = match photo::prepare(raw.bytes, raw.content_type.as_deref(), settings.format) {
        Ok(prepared) => prepared,
        Err(err @ PhotoError::Placeholder) => {
            return Some(no_photo(job, state, settings, Some(err.to_string())));
        }
        Err(err) => return Some(failed(err.into())),
    };
    if let Some(warning) = prepared.mislabel_warning(&job.email) {
        let _ = tx.send(WorkerReport::Warning(warning));
    }
    let name = settings
        .template
        .render(&job.email, settings.size, prepared.format.extension());
    let path = settings.dir.join(&name);
    {
        let _writing = state.writes.read().unwrap_or_else(|e| e.into_inner());
        if state.interrupted() {
            return None;
        }
        if let Err(err) =
            output::write_atomic(&settings.write_dir.join(&name), &prepared.bytes, true)
        {
            return Some(failed(err.into()));
        }
    }
    // The name or format changed: the old file goes, if it is one this
    // address's template made.
    if let Some(previous) = &job.previous
        && previous.file != name
    {
        if settings.made_for(&job.email, previous) {
            let _ = std::fs::remove_file(settings.dir.join(&previous.file));
        } else {
            let _ = tx.send(WorkerReport::Warning(not_made_for(
                job,
                &previous.file,
                "replace",
            )));
        }
    }
    let record =
        record(job, Status::Fetched).with_photo(&path, &prepared, raw.etag.clone(), raw.expires);
    let change = manifest::Change::Set(manifest::Entry {
        email: job.email.clone(),
        file: name,
        size: settings.size.code().to_string(),
        name: Some(settings.template.text().to_string()),
        etag: raw.etag,
        // Absent means EWS, as in every manifest written before Graph.
        backend: (settings.backend != "ews").then(|| settings.backend.to_string()),
        fetched: manifest::now_rfc3339(),
    });
    Some(Finished {
        record,
        change: Some(change),
        fatal: None,
    })
}

fn not_made_for(job: &Job, file: &str, what: &str) -> String {
    format!(
        "{}: kept {file}: the manifest names it for this address, but no --name template of this address gives that name, so it was not written by ews-photo for it (an edited manifest?); delete it yourself if it is stale (the {what} went ahead without it)",
        job.email
    )
}

/// The user has no photo. With --sync, a photo that disappeared is reported,
/// and its file deleted with --prune.
fn no_photo(
    job: &Job,
    state: &RunState,
    settings: &RunSettings,
    detail: Option<String>,
) -> Finished {
    let mut record = record(job, Status::NoPhoto);
    record.error = detail;
    let Some(previous) = &job.previous else {
        return Finished::of(record);
    };
    let path = settings.dir.join(&previous.file);
    if !settings.prune {
        record.path = Some(path.display().to_string());
        record.error = Some(format!(
            "the photo was removed on the server; kept {} (pass --prune to delete it)",
            path.display()
        ));
        return Finished::of(record);
    }
    if !settings.made_for(&job.email, previous) {
        record.path = Some(path.display().to_string());
        record.error = Some(not_made_for(job, &previous.file, "prune"));
        return Finished::of(record);
    }
    let _writing = state.writes.read().unwrap_or_else(|e| e.into_inner());
    match std::fs::remove_file(&path) {
        Ok(()) => {
            record.error = Some(format!(
                "the photo was removed on the server; deleted {} (--prune)",
                path.display()
            ));
            Finished {
                record,
                change: Some(manifest::Change::Remove(job.email.clone())),
                fatal: None,
            }
        }
        Err(e) => {
            record.status = Status::Failed;
            record.exit_code = Exit::Failure.code();
            record.error = Some(format!(
                "the photo was removed on the server, but {} could not be deleted: {e}",
                path.display()
            ));
            Finished::of(record)
        }
    }
}
