//! The bulk engine behind `ews-photo export`: photos for a list of addresses,
//! in parallel, resumable, incremental.
//!
//! ```text
//! list ─▶ pass 1: count, de-duplicate, check file names do not collide
//!      ─▶ pass 2: N workers, each with its own Client, take the next address
//!                 from the shared feed (shared busy Gate)
//!                                        │ results (bounded channel)
//!                                        ▼
//!              the caller's thread: report, manifest checkpoints, counts,
//!              and an Event for each of them (progress is the caller's)
//! ```
//!
//! Nothing is kept per address in memory: repeats, colliding names and the
//! manifest entries are found by sorting on disk in pass 1 (`plan.rs`), and
//! the manifest is read and rewritten as a stream (`manifest.rs`), so memory
//! stays flat in the length of the list and of the manifest. The engine
//! prints nothing: it tells the caller what happens through [`Event`]s and
//! returns a [`Summary`].

mod feed;
pub mod input;
pub mod manifest;
mod plan;
pub mod report;
mod sorter;
mod template;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

pub use template::Template;

use crate::PhotoSize;
use crate::client::{Client, ClientConfig};
use crate::error::Error;
use crate::photo::Format;
use crate::record::{Record, Status};
use crate::retry::{BusyWait, Gate};
use feed::AddressFeed;
use input::Source;
use manifest::Manifest;
use report::Report;

/// Above this, warn: Exchange's default `EWSMaxConcurrency` is 27.
pub const EWS_MAX_CONCURRENCY: usize = 27;
/// A checkpoint flushes the manifest's journal (a write of the new lines):
/// every 2 s, or after 500 results but then at most twice a second, so that a
/// killed run loses little.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);
const CHECKPOINT_ROWS: u64 = 500;
const CHECKPOINT_MIN: Duration = Duration::from_millis(500);
/// After Ctrl-C, how long requests in flight may still finish: enough for a
/// photo already arriving, short enough that Ctrl-C feels immediate.
const GRACE: Duration = Duration::from_millis(700);
/// How long the collector lets results gather between two looks (a result
/// waits at most that long to be reported).
const GATHER: Duration = Duration::from_millis(2);
/// How often the caller hears [`Event::Tick`] when nothing else happens.
const TICK: Duration = Duration::from_millis(100);

/// What to export, and how.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The address list: a text or CSV file, or `-` for stdin.
    pub list: PathBuf,
    /// The CSV column holding the addresses (default: a known name).
    pub column: Option<String>,
    /// The folder the photos go into (created if missing).
    pub dir: PathBuf,
    /// The `--name` template.
    pub name: String,
    /// The size asked for.
    pub size: PhotoSize,
    /// Convert to this format (`None`: keep what the server sent).
    pub format: Option<Format>,
    /// Workers, each with its own connection.
    pub jobs: usize,
    /// Write one row per address here (CSV, or JSON lines by extension).
    pub report: Option<PathBuf>,
    /// Send the manifest's ETags: unchanged photos are not downloaded again.
    pub sync: bool,
    /// With `sync`: delete the file of a photo removed on the server.
    pub prune: bool,
    /// Skip addresses whose file exists, with no request.
    pub skip_existing: bool,
    /// Photos a worker hands its client at once, for back ends that batch
    /// requests (Graph: up to 20 in one `$batch`); 1 sends one request per
    /// photo. EWS always sends one request per photo.
    pub batch: usize,
}

impl ExportOptions {
    /// Defaults for everything but the list and the folder.
    ///
    /// ```
    /// let options = ews_photo::export::ExportOptions::new("users.txt", "photos");
    /// assert_eq!((options.name.as_str(), options.jobs), ("{email}.{ext}", 4));
    /// ```
    pub fn new(list: impl Into<PathBuf>, dir: impl Into<PathBuf>) -> ExportOptions {
        ExportOptions {
            list: list.into(),
            column: None,
            dir: dir.into(),
            name: DEFAULT_TEMPLATE.into(),
            size: PhotoSize::Hr96,
            format: None,
            jobs: 4,
            report: None,
            sync: false,
            prune: false,
            skip_existing: false,
            batch: DEFAULT_BATCH,
        }
    }
}

/// Photos per batch by default: Graph's limit. Graph runs at most 4 parts of
/// a batch at a time, so a batch of 20 takes about as long as 5 single
/// requests, and carries 20 photos (the bench's figures are in the README).
pub const DEFAULT_BATCH: usize = 20;

/// The template when `--name` is not given (and of every 0.1 manifest entry
/// that records none).
pub const DEFAULT_TEMPLATE: &str = "{email}.{ext}";

/// Asks a running export to stop: no new addresses, requests in flight get a
/// moment, report and manifest are flushed. Clones share the request.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Asks the run to stop; true the first time.
    pub fn request(&self) -> bool {
        !self.0.swap(true, Ordering::SeqCst)
    }

    /// True once a stop was asked for.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the engine tells its caller, on the caller's thread.
#[derive(Debug)]
pub enum Event<'a> {
    /// The list is checked; this many addresses will be worked through.
    Started {
        /// Distinct addresses and malformed lines.
        total: u64,
    },
    /// One address is done.
    Record {
        /// What happened.
        record: &'a Record,
        /// True when this failure stops the run (authentication failed).
        stops_run: bool,
    },
    /// Something worth telling: a mislabelled image, a damaged manifest.
    Warning(&'a str),
    /// The server asked to back off: every worker pauses.
    Paused {
        /// The wait.
        wait: &'a BusyWait,
        /// How many workers pause.
        workers: usize,
    },
    /// Nothing happened for a while (for progress that moves with time).
    Tick,
}

/// How many addresses ended how.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Written.
    pub fetched: u64,
    /// ETag matched.
    pub unchanged: u64,
    /// No photo.
    pub no_photo: u64,
    /// Kept without a request.
    pub skipped: u64,
    /// Failed.
    pub failed: u64,
}

impl Counts {
    /// Addresses done, whatever the outcome.
    pub fn done(&self) -> u64 {
        self.fetched + self.unchanged + self.no_photo + self.skipped + self.failed
    }

    /// Counts one more address that ended with `status`.
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Fetched => self.fetched += 1,
            Status::Unchanged => self.unchanged += 1,
            Status::NoPhoto => self.no_photo += 1,
            Status::Skipped => self.skipped += 1,
            Status::Failed => self.failed += 1,
        }
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct Summary {
    /// The outcomes.
    pub counts: Counts,
    /// Distinct addresses (and malformed lines) in the list.
    pub total: u64,
    /// Lines that repeated an earlier address.
    pub duplicates: u64,
    /// From the start of the requests to the end.
    pub elapsed: Duration,
    /// The report, if one was written.
    pub report: Option<PathBuf>,
    /// Ctrl-C came before every address was done.
    pub interrupted: bool,
    /// What stopped the run early: an authentication failure, an unreadable
    /// list, a report that could no longer be written.
    pub stopped_by: Option<Error>,
}

impl Summary {
    /// Addresses per second.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.counts.done() as f64 / secs
        } else {
            0.0
        }
    }

    /// The run's result for the exit code: what stopped it, else Ctrl-C, else
    /// whether any address failed.
    pub fn into_result(self) -> Result<(), Error> {
        if let Some(err) = self.stopped_by {
            return Err(err);
        }
        if self.interrupted {
            return Err(Error::Interrupted);
        }
        if self.counts.failed > 0 {
            return Err(Error::SomeFailed {
                failed: self.counts.failed,
                total: self.total,
                report: self.report,
            });
        }
        Ok(())
    }
}

/// What every worker needs to know about the run.
struct RunSettings {
    dir: PathBuf,
    /// `dir` made absolute, for writing: a temporary file in a relative
    /// folder costs a `getcwd` each.
    write_dir: PathBuf,
    template: Template,
    size: PhotoSize,
    format: Option<Format>,
    sync: bool,
    prune: bool,
    skip_existing: bool,
    /// The extension a name gets before the real format is known.
    default_ext: &'static str,
    /// The back end's name, recorded in the manifest (`ews`, `graph`).
    backend: &'static str,
    /// Photos a worker takes from the list at once.
    batch: usize,
}

impl RunSettings {
    /// True when a manifest entry is what this run would write, but for the
    /// photo itself: same back end (another's ETag means nothing here), same
    /// size, same --format, same --name. Otherwise the photo is fetched again
    /// (and the old file replaced).
    fn still_fits(&self, email: &str, entry: &manifest::Entry) -> bool {
        let ext = extension(&entry.file);
        entry.backend() == self.backend
            && entry.size == self.size.code()
            && self.format.is_none_or(|f| f.extension() == ext)
            && self.template.render(email, self.size, ext) == entry.file
    }

    /// True when an entry's file is a name that this run's template, or the
    /// template the entry records, gives this address. Only such a file is
    /// ever deleted: a hand-edited manifest cannot point a deletion at
    /// another file in the folder.
    fn made_for(&self, email: &str, entry: &manifest::Entry) -> bool {
        let ext = extension(&entry.file);
        let size = entry.size.parse().unwrap_or(self.size);
        let own = entry.name.as_deref().unwrap_or(DEFAULT_TEMPLATE);
        self.template.render(email, size, ext) == entry.file
            || Template::parse(own).is_ok_and(|t| t.render(email, size, ext) == entry.file)
    }
}

fn extension(file: &str) -> &str {
    Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
}

/// What the threads share.
struct RunState {
    stop: Stop,
    /// The run must stop (authentication failed, the input broke).
    abort: AtomicBool,
    /// Workers hold it while writing a file; the collector takes it on Ctrl-C
    /// so that no file is half-written when the run returns.
    writes: RwLock<()>,
    /// Until when the last announced busy pause lasts.
    pause_until: Mutex<Option<Instant>>,
    /// Set once the first worker's first request is answered.
    warmed: (Mutex<bool>, Condvar),
    /// Said once that the manifest's entries are another back end's.
    told_other_backend: AtomicBool,
}

impl RunState {
    fn new(stop: &Stop) -> RunState {
        RunState {
            stop: stop.clone(),
            abort: AtomicBool::new(false),
            writes: RwLock::new(()),
            pause_until: Mutex::new(None),
            warmed: (Mutex::new(false), Condvar::new()),
            told_other_backend: AtomicBool::new(false),
        }
    }

    fn interrupted(&self) -> bool {
        self.stop.is_requested()
    }

    fn stopping(&self) -> bool {
        self.interrupted() || self.abort.load(Ordering::SeqCst)
    }

    fn set_warmed(&self) {
        let (lock, changed) = &self.warmed;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        changed.notify_all();
    }

    /// Until the first worker's first answer (or the run stops). Not bounded
    /// by a time: the first answer takes at most one request's --timeout, and
    /// a bound would let every worker send a wrong password on a slow start.
    fn wait_warmed(&self) {
        let (lock, changed) = &self.warmed;
        let mut warm = lock.lock().unwrap_or_else(|e| e.into_inner());
        // Woken by the first answer; the slices only notice a Ctrl-C.
        while !*warm && !self.stopping() {
            warm = changed
                .wait_timeout(warm, TICK)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// From the workers to the collector.
enum WorkerReport {
    Finished(Box<Finished>),
    Warning(String),
    Paused(BusyWait),
    InputError(Error),
}

/// One address done.
struct Finished {
    record: Record,
    change: Option<manifest::Change>,
    /// The error, when it must stop the run (authentication).
    fatal: Option<Error>,
}

impl Finished {
    fn of(record: Record) -> Finished {
        Finished {
            record,
            change: None,
            fatal: None,
        }
    }
}

/// Runs an export: checks the list, fetches with `options.jobs` workers built
/// from `config`, writes files, report and manifest, and calls `events` on
/// this thread as things happen. Fails before any request for a bad
/// template, colliding names, or a list, report or folder that cannot be used;
/// a failure during the run is in [`Summary::stopped_by`].
pub fn run(
    config: &ClientConfig,
    options: &ExportOptions,
    stop: &Stop,
    events: &mut dyn FnMut(Event),
) -> Result<Summary, Error> {
    run_list(config, options, None, stop, events)
}

/// As [`run`], with the list already open: the caller has read it (for the
/// first address, to find the EWS URL by Autodiscover), and stdin can be
/// read only once. `options.list` only names it.
pub fn run_with_list(
    config: &ClientConfig,
    options: &ExportOptions,
    list: Source,
    stop: &Stop,
    events: &mut dyn FnMut(Event),
) -> Result<Summary, Error> {
    run_list(config, options, Some(list), stop, events)
}

fn run_list(
    config: &ClientConfig,
    options: &ExportOptions,
    list: Option<Source>,
    stop: &Stop,
    events: &mut dyn FnMut(Event),
) -> Result<Summary, Error> {
    let template = Template::parse(&options.name)?;
    let jobs = options.jobs.max(1);
    let backend = config.service.name();
    if jobs > EWS_MAX_CONCURRENCY && backend == "ews" {
        events(Event::Warning(&format!(
            "--jobs {jobs} is above Exchange's default limit of {EWS_MAX_CONCURRENCY} concurrent requests per user (EWSMaxConcurrency); expect busy answers"
        )));
    }
    // The report first: a report that cannot be written fails the run before any request.
    let mut report = options.report.as_deref().map(Report::create).transpose()?;
    let gate = Arc::new(Gate::default());
    let (tx, rx) = mpsc::sync_channel::<WorkerReport>(256 + 4 * jobs);
    let state = Arc::new(RunState::new(stop));
    // Every client is built (and the settings checked) before anything is read.
    let clients = (0..jobs)
        .map(|_| worker_client(config, &gate, &state, &tx))
        .collect::<Result<Vec<_>, Error>>()?;
    let batch = options
        .batch
        .clamp(1, clients.first().map_or(1, Client::batch_limit));
    let source = match list {
        Some(source) => source,
        None => Source::open(&options.list)?,
    };
    let default_ext = options.format.map_or("jpg", |f| f.extension());
    // A folder not made yet has no manifest, and is made only once the list
    // passed its checks; pass 1 sorts in the temporary folder meanwhile.
    let (manifest, scratch) = if options.dir.is_dir() {
        let (manifest, warnings) = Manifest::load(&options.dir);
        for warning in warnings {
            events(Event::Warning(&warning));
        }
        (manifest, options.dir.clone())
    } else {
        (Manifest::empty(&options.dir), std::env::temp_dir())
    };
    let wants_entries = options.sync || options.skip_existing;
    let plan = plan::plan(
        &source,
        options,
        &template,
        default_ext,
        wants_entries.then_some(&manifest),
        &scratch,
    )?;
    let (total, duplicates) = (plan.total, plan.duplicates);
    // One sign-in before the workers start: a refusal stops the run before any
    // photo is asked for, and a device code is shown before any progress.
    if let Some(tokens) = &config.credentials.oauth {
        tokens.token()?;
    }

    std::fs::create_dir_all(&options.dir)
        .map_err(|e| Error::local(format!("create the folder {}", options.dir.display()), e))?;
    if total == 0 {
        events(Event::Warning(&format!(
            "{}: no addresses in the list",
            source.name()
        )));
    }
    let settings = Arc::new(RunSettings {
        dir: options.dir.clone(),
        write_dir: std::path::absolute(&options.dir).unwrap_or_else(|_| options.dir.clone()),
        template,
        size: options.size,
        format: options.format,
        sync: options.sync,
        prune: options.prune,
        skip_existing: options.skip_existing,
        default_ext,
        backend,
        batch,
    });
    let feed = Arc::new(Mutex::new(AddressFeed::new(
        source.entries(options.column.as_deref())?,
        plan.notes,
    )));
    for (index, client) in clients.into_iter().enumerate() {
        let (tx, state, settings, feed) = (
            tx.clone(),
            Arc::clone(&state),
            Arc::clone(&settings),
            Arc::clone(&feed),
        );
        thread::Builder::new()
            .name(format!("export-worker-{index}"))
            .spawn(move || worker::work(index, client, &feed, &tx, &state, &settings))
            .map_err(|e| Error::local("start a worker thread", e))?;
    }
    drop(tx);
    events(Event::Started { total });
    let collector = Collector {
        state: &state,
        manifest,
        report: report.as_mut(),
        counts: Counts::default(),
        dirty: false,
        since_checkpoint: 0,
        last_checkpoint: Instant::now(),
        stopped_by: None,
    };
    let started = Instant::now();
    let (counts, stopped_by, interrupted) = collector.run(rx, total, jobs, events);
    Ok(Summary {
        counts,
        total,
        duplicates,
        elapsed: started.elapsed(),
        report: options.report.clone(),
        interrupted,
        stopped_by,
    })
}

/// One worker's client: it shares the run's gate and reports each busy
/// pause once, however many workers hit it.
fn worker_client(
    config: &ClientConfig,
    gate: &Arc<Gate>,
    state: &Arc<RunState>,
    tx: &SyncSender<WorkerReport>,
) -> Result<Client, Error> {
    let state = Arc::clone(state);
    let tx = tx.clone();
    Ok(Client::new(config.clone())?
        .with_gate(Arc::clone(gate))
        .on_wait(move |wait: &BusyWait| {
            let now = Instant::now();
            let until = now + wait.wait;
            let mut pause = state.pause_until.lock().unwrap_or_else(|e| e.into_inner());
            let announce = pause.is_none_or(|end| now >= end);
            if pause.is_none_or(|end| end < until) {
                *pause = Some(until);
            }
            drop(pause);
            if announce {
                let _ = tx.send(WorkerReport::Paused(wait.clone()));
            }
        }))
}

/// The caller's side of a run: records to the report, changes to the
/// manifest, counts, and events.
struct Collector<'a> {
    state: &'a RunState,
    manifest: Manifest,
    report: Option<&'a mut Report>,
    counts: Counts,
    dirty: bool,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    stopped_by: Option<Error>,
}

impl Collector<'_> {
    /// Until the workers are done (or Ctrl-C's grace is over): returns the
    /// counts, what stopped the run, and whether it was interrupted.
    fn run(
        mut self,
        rx: Receiver<WorkerReport>,
        total: u64,
        workers: usize,
        events: &mut dyn FnMut(Event),
    ) -> (Counts, Option<Error>, bool) {
        let mut stop_seen: Option<Instant> = None;
        let mut cut_short = false;
        loop {
            match rx.recv_timeout(TICK) {
                Ok(msg) => {
                    self.handle(msg, workers, events);
                    while let Ok(msg) = rx.try_recv() {
                        self.handle(msg, workers, events);
                    }
                    // Let the next results gather: a result sent to a
                    // collector that waits wakes it (a futex call on each
                    // side), which at thousands of photos a second is a pair
                    // of system calls per photo; sent while it sleeps, none.
                    thread::sleep(GATHER);
                }
                Err(RecvTimeoutError::Timeout) => events(Event::Tick),
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self.state.interrupted() {
                let since = *stop_seen.get_or_insert_with(Instant::now);
                if since.elapsed() >= GRACE {
                    cut_short = true;
                    break;
                }
            }
            let since = self.last_checkpoint.elapsed();
            if self.dirty
                && (since >= CHECKPOINT_EVERY
                    || (self.since_checkpoint >= CHECKPOINT_ROWS && since >= CHECKPOINT_MIN))
            {
                self.checkpoint(events);
            }
        }
        // No file is being written past this point: wait for writes under way,
        // then record what they finished.
        let _no_more_writes = self.state.writes.write().unwrap_or_else(|e| e.into_inner());
        while let Ok(msg) = rx.try_recv() {
            self.handle(msg, workers, events);
        }
        if let Err(err) = self.manifest.save() {
            events(Event::Warning(&format!("cannot save the manifest: {err}")));
        }
        // Ctrl-C once everything was done changes nothing.
        let interrupted = (cut_short || self.state.interrupted()) && self.counts.done() < total;
        (self.counts, self.stopped_by, interrupted)
    }

    fn handle(&mut self, msg: WorkerReport, workers: usize, events: &mut dyn FnMut(Event)) {
        match msg {
            WorkerReport::Finished(finished) => {
                let Finished {
                    record,
                    change,
                    fatal,
                } = *finished;
                self.counts.add(record.status);
                self.since_checkpoint += 1;
                events(Event::Record {
                    record: &record,
                    stops_run: fatal.is_some(),
                });
                if let Some(err) = fatal {
                    self.stop(err);
                }
                if let Some(report) = self.report.as_mut()
                    && let Err(err) = report.write(&record)
                {
                    self.report = None;
                    self.stop(err);
                }
                if let Some(change) = change {
                    self.manifest.apply(change);
                    self.dirty = true;
                }
            }
            WorkerReport::Warning(text) => events(Event::Warning(&text)),
            WorkerReport::Paused(wait) => events(Event::Paused {
                wait: &wait,
                workers,
            }),
            WorkerReport::InputError(err) => self.stop(err),
        }
    }

    /// Stops the run; the first reason is the one reported.
    fn stop(&mut self, err: Error) {
        self.state.abort.store(true, Ordering::SeqCst);
        self.state.set_warmed();
        if self.stopped_by.is_none() {
            self.stopped_by = Some(err);
        }
    }

    /// Makes the results so far survive a crash: the journal's new lines
    /// (the manifest itself is rewritten once, at the end).
    fn checkpoint(&mut self, events: &mut dyn FnMut(Event)) {
        if let Err(err) = self.manifest.flush() {
            events(Event::Warning(&format!("cannot save the manifest: {err}")));
        }
        self.dirty = false;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
    }
}

#[cfg(test)]
mod tests;
