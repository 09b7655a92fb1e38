//! `ews-photo export`: photos for a list of addresses, in parallel.
//!
//! ```text
//! list ─▶ pass 1: count, de-duplicate, check file names do not collide
//!      ─▶ pass 2: N workers, each with its own Client, take the next address
//!                 from the shared list reader (shared busy Gate)
//!                                        │ results (bounded channel)
//!                                        ▼
//!                       the reporter (this thread): progress, report,
//!                       manifest checkpoints, summary
//!
//! Only hashes of the addresses and names are kept, so memory stays flat in
//! the length of the list (the manifest holds one entry per photo).
//! ```

pub mod input;
pub mod manifest;
pub mod report;

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::app::{Console, busy_message, client_config, prepare_photo, target_format};
use crate::auth::PasswordSource;
use crate::cli::{Connection, ExportArgs, ProgressArg};
use crate::client::{BusyWait, Client, ClientConfig, Gate, PhotoRequest, human_duration};
use crate::error::{Error, exit};
use crate::exchange::Outcome;
use crate::output;
use crate::{PhotoSize, validate_email};

use input::{RawEntry, Source};
use manifest::Manifest;
use report::{Report, Row, Status};

/// Above this, warn: Exchange's default `EWSMaxConcurrency` is 27.
pub const EWS_MAX_CONCURRENCY: u32 = 27;
/// Manifest checkpoints: at most this long, or this many results, apart.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);
const CHECKPOINT_ROWS: u64 = 500;
const CHECKPOINT_MIN: Duration = Duration::from_millis(500);
/// Plain progress lines when stderr is not a terminal.
const PROGRESS_LINE_EVERY: Duration = Duration::from_secs(5);
/// After Ctrl-C, how long to wait for requests in flight.
const GRACE: Duration = Duration::from_millis(700);

static ACTIVE: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);

/// Called by the Ctrl-C handler. While an export runs, the first Ctrl-C asks it
/// to stop (it then flushes its report and manifest and exits 130) and `true`
/// is returned; otherwise (no export, or a second Ctrl-C) `false`: the caller
/// leaves at once.
pub fn request_stop() -> bool {
    ACTIVE.load(Ordering::SeqCst) && !STOP.swap(true, Ordering::SeqCst)
}

fn interrupted() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// A file-name template: `{email}`, `{local}`, `{domain}`, `{size}`, `{ext}`.
#[derive(Clone, Debug)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Email,
    Local,
    Domain,
    Size,
    Ext,
}

impl Template {
    /// Parses a template; unknown placeholders are a usage error.
    ///
    /// ```
    /// use ews_photo::export::Template;
    /// let t = Template::parse("{local}-{size}.{ext}").unwrap();
    /// assert_eq!(t.render("Alice@contoso.com", ews_photo::PhotoSize::Hr96, "jpg"), "Alice-HR96x96.jpg");
    /// // The result is one safe file name, whatever the address.
    /// let t = Template::parse("{local}/../{domain}.{ext}").unwrap();
    /// assert_eq!(t.render("..@contoso.com", ews_photo::PhotoSize::Hr96, "jpg"), "___.._contoso.com.jpg");
    /// assert!(Template::parse("{user}.jpg").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Template, Error> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 1..];
            let end = after
                .find('}')
                .ok_or_else(|| Error::Usage(format!("--name '{text}': a '{{' without '}}'")))?;
            parts.push(match &after[..end] {
                "email" => Part::Email,
                "local" => Part::Local,
                "domain" => Part::Domain,
                "size" => Part::Size,
                "ext" => Part::Ext,
                other => {
                    return Err(Error::Usage(format!(
                        "--name '{text}': unknown placeholder {{{other}}}; use {{email}}, {{local}}, {{domain}}, {{size}} or {{ext}}"
                    )));
                }
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if !parts.iter().any(|p| matches!(p, Part::Email | Part::Local)) {
            return Err(Error::Usage(format!(
                "--name '{text}' does not contain {{email}} or {{local}}, so every address would get the same file"
            )));
        }
        Ok(Template { parts })
    }

    /// The file name for an address, made safe with [`output::sanitize_file_name`].
    pub fn render(&self, email: &str, size: PhotoSize, ext: &str) -> String {
        let (local, domain) = email.split_once('@').unwrap_or((email, ""));
        let mut name = String::with_capacity(email.len() + 16);
        for part in &self.parts {
            match part {
                Part::Text(text) => name.push_str(text),
                Part::Email => name.push_str(email),
                Part::Local => name.push_str(local),
                Part::Domain => name.push_str(domain),
                Part::Size => name.push_str(size.code()),
                Part::Ext => name.push_str(ext),
            }
        }
        output::sanitize_file_name(&name)
    }
}

/// A list entry after checking.
enum Item {
    Address {
        line: u64,
        email: String,
    },
    Invalid {
        line: u64,
        text: String,
        error: String,
    },
}

/// A 128-bit hash of a lower-cased text: sets of these stand for sets of
/// addresses or names (a false match is about as likely as 2^-100 for a list
/// of a million).
fn key(text: &str) -> u128 {
    use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
    let lower = text.to_lowercase();
    let hash = |salt: u64| {
        let mut h = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .build_hasher();
        h.write_u64(salt);
        h.write(lower.as_bytes());
        h.finish()
    };
    (u128::from(hash(0x5eed_0001)) << 64) | u128::from(hash(0x5eed_0002))
}

/// Validates and de-duplicates (case-insensitively); `None` for a duplicate.
/// An `smtp:` prefix, as in Exchange's EmailAddresses lists, is dropped.
fn classify(raw: RawEntry, seen: &mut HashSet<u128>) -> Option<Item> {
    let text = match raw.text.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("smtp:") => &raw.text[5..],
        _ => raw.text.as_str(),
    };
    match validate_email(text) {
        Ok(email) => seen.insert(key(email)).then(|| Item::Address {
            line: raw.line,
            email: email.to_string(),
        }),
        Err(error) => Some(Item::Invalid {
            line: raw.line,
            text: raw.text,
            error,
        }),
    }
}

/// One address for a worker.
struct Job {
    line: u64,
    email: String,
    /// The manifest's entry, when --sync and its file is still there.
    previous: Option<manifest::Entry>,
    /// Its ETag, when that file is what this run would write.
    if_none_match: Option<String>,
}

/// From the feeder and workers to the reporter.
enum Msg {
    /// A result; the error when it must stop the run (authentication).
    Row(Box<Row>, Option<Update>, Option<Box<Error>>),
    Note(String),
    InputError(Error),
}

/// A change to the manifest.
enum Update {
    Set(manifest::Entry),
    Remove(String),
}

/// Everything the threads share.
struct Shared {
    /// The run must stop (authentication failed, the input broke).
    abort: AtomicBool,
    /// Workers hold it while writing a file; the reporter takes it on Ctrl-C
    /// so that no file is half-written when the process leaves.
    writes: RwLock<()>,
    manifest: Mutex<Manifest>,
    /// Until when the last announced busy pause lasts.
    pause_until: Mutex<Option<Instant>>,
    /// Set once the first worker's first request is answered.
    warmed: (Mutex<bool>, Condvar),
}

impl Shared {
    fn stopping(&self) -> bool {
        interrupted() || self.abort.load(Ordering::SeqCst)
    }

    fn set_warmed(&self) {
        let (lock, changed) = &self.warmed;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        changed.notify_all();
    }

    fn wait_warmed(&self) {
        let (lock, changed) = &self.warmed;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: a slow first answer must not hold the whole run.
        let _ = changed
            .wait_timeout_while(guard, Duration::from_secs(2), |warm| {
                !*warm && !self.stopping()
            })
            .unwrap_or_else(|e| e.into_inner());
    }
}

/// Settings every worker needs.
struct Plan {
    dir: PathBuf,
    template: Template,
    size: PhotoSize,
    to: Option<crate::photo::Format>,
    prune: bool,
}

impl Plan {
    /// True when a manifest entry is what this run would write, but for the
    /// photo itself: same size, same --format, same --name. Otherwise the
    /// photo is fetched again (and the old file replaced).
    fn still_fits(&self, email: &str, entry: &manifest::Entry) -> bool {
        let ext = Path::new(&entry.file)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("");
        entry.size == self.size.code()
            && self.to.is_none_or(|f| f.extension() == ext)
            && self.template.render(email, self.size, ext) == entry.file
    }
}

/// Runs `ews-photo export`.
pub fn run(
    connection: &Connection,
    verbosity: u8,
    args: &ExportArgs,
    console: Console,
) -> Result<(), Error> {
    let template = Template::parse(&args.name)?;
    let jobs = args.jobs.max(1) as usize;
    if args.jobs > EWS_MAX_CONCURRENCY {
        console.warn(&format!(
            "--jobs {} is above Exchange's default limit of {EWS_MAX_CONCURRENCY} concurrent requests per user (EWSMaxConcurrency); expect busy answers",
            args.jobs
        ));
    }
    // The report first: a report that cannot be written fails the run before any request.
    let mut report = args.report.as_deref().map(Report::create).transpose()?;
    let stdin_list = args.input == Path::new("-");
    if stdin_list && std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no address list: give a FILE (one address a line, or CSV), or pipe the list to stdin (-)".into(),
        ));
    }
    let mut config = client_config(connection, verbosity, stdin_list)?;
    if matches!(config.credentials.password, PasswordSource::Prompt)
        && config.credentials.user.is_some()
    {
        // Ask once, not once per worker.
        let secret = config.credentials.password().map_err(Error::Usage)?;
        config.credentials.password = PasswordSource::Given(secret);
    }
    // Every client is built (and the settings checked) before anything is read.
    let gate = Arc::new(Gate::default());
    let (tx, rx) = mpsc::sync_channel::<Msg>(256 + 4 * jobs);
    let shared = Arc::new(Shared {
        abort: AtomicBool::new(false),
        writes: RwLock::new(()),
        manifest: Mutex::new(Manifest::default()),
        pause_until: Mutex::new(None),
        warmed: (Mutex::new(false), Condvar::new()),
    });
    let clients = (0..jobs)
        .map(|_| make_client(&config, &gate, &shared, &tx, jobs))
        .collect::<Result<Vec<_>, Error>>()?;

    let source = Source::open(&args.input)?;

    // Pass 1: count, and refuse names that collide, before any request.
    let default_ext = target_format(args.format).map_or("jpg", |f| f.extension());
    let mut total = 0u64;
    let mut duplicates = 0u64;
    {
        let mut seen = HashSet::new();
        let mut names: HashMap<u128, u64> = HashMap::new();
        let mut collisions = Vec::new();
        for raw in source.entries(args.column.as_deref())? {
            match classify(raw?, &mut seen) {
                None => duplicates += 1,
                Some(Item::Invalid { .. }) => total += 1,
                Some(Item::Address { line, email }) => {
                    total += 1;
                    let name = template.render(&email, args.size, default_ext);
                    match names.get(&key(&name)) {
                        Some(first_line) => collisions.push(format!(
                            "line {line} {email} → {name}, like line {first_line}"
                        )),
                        None => {
                            names.insert(key(&name), line);
                        }
                    }
                }
            }
        }
        if !collisions.is_empty() {
            let shown: Vec<&str> = collisions.iter().take(5).map(String::as_str).collect();
            let more = if collisions.len() > 5 {
                format!(" (and {} more)", collisions.len() - 5)
            } else {
                String::new()
            };
            return Err(Error::Usage(format!(
                "--name '{}' gives {} addresses the same file name as another: {}{more}; use a template that keeps addresses apart, e.g. {{email}}.{{ext}}",
                args.name,
                collisions.len(),
                shown.join("; ")
            )));
        }
    }

    std::fs::create_dir_all(&args.dir).map_err(|e| {
        Error::Usage(format!(
            "cannot create the folder {}: {e}",
            args.dir.display()
        ))
    })?;
    let (manifest, warning) = Manifest::load(&args.dir);
    if let Some(warning) = warning {
        console.warn(&warning);
    }
    *shared.manifest.lock().unwrap_or_else(|e| e.into_inner()) = manifest;

    let plan = Arc::new(Plan {
        dir: args.dir.clone(),
        template,
        size: args.size,
        to: target_format(args.format),
        prune: args.prune,
    });

    if total == 0 {
        console.warn(&format!("{}: no addresses in the list", source.name()));
    }

    // Pass 2: the workers, and this thread as the reporter. From here on,
    // Ctrl-C stops the run cleanly (report and manifest flushed).
    ACTIVE.store(true, Ordering::SeqCst);
    let feed = Arc::new(Mutex::new(Feed {
        entries: Some(source.entries(args.column.as_deref())?),
        seen: HashSet::new(),
        sync: args.sync,
        skip_existing: args.skip_existing,
        default_ext,
    }));
    for (index, client) in clients.into_iter().enumerate() {
        let tx = tx.clone();
        let shared = Arc::clone(&shared);
        let plan = Arc::clone(&plan);
        let feed = Arc::clone(&feed);
        thread::Builder::new()
            .name(format!("export-worker-{index}"))
            .spawn(move || work(index, client, feed, tx, shared, plan))
            .map_err(|e| Error::Usage(format!("cannot start a thread: {e}")))?;
    }
    drop(tx);

    let show_progress = match args.progress {
        ProgressArg::Never => false,
        ProgressArg::Always => true,
        ProgressArg::Auto => !console.quiet,
    };
    let reporter = Reporter {
        console,
        progress: Progress::new(show_progress, total),
        counts: Counts::default(),
        started: Instant::now(),
        total,
    };
    reporter.run(rx, &shared, &mut report, &args.dir, duplicates)
}

/// Builds one worker's client, sharing the gate and announcing each busy pause once.
fn make_client(
    config: &ClientConfig,
    gate: &Arc<Gate>,
    shared: &Arc<Shared>,
    tx: &SyncSender<Msg>,
    jobs: usize,
) -> Result<Client, Error> {
    let shared = Arc::clone(shared);
    let tx = tx.clone();
    Ok(Client::new(config.clone())?
        .with_gate(Arc::clone(gate))
        .on_wait(move |wait: &BusyWait| {
            let now = Instant::now();
            let until = now + wait.wait;
            let mut pause = shared.pause_until.lock().unwrap_or_else(|e| e.into_inner());
            let announce = pause.is_none_or(|end| now >= end);
            if pause.is_none_or(|end| end < until) {
                *pause = Some(until);
            }
            drop(pause);
            if announce {
                let who = if jobs > 1 {
                    format!("all {jobs} workers pause")
                } else {
                    "pausing".to_string()
                };
                let _ = tx.send(Msg::Note(format!("{}; {who}", busy_message(wait))));
            }
        }))
}

/// The list as the workers read it, one address at a time.
struct Feed {
    /// `None` once the list is exhausted or broken.
    entries: Option<input::Entries>,
    seen: HashSet<u128>,
    sync: bool,
    skip_existing: bool,
    default_ext: &'static str,
}

impl Feed {
    /// The next address to fetch. Malformed lines and skipped files become
    /// rows on the way; `None` at the end of the list.
    fn next_job(&mut self, shared: &Shared, plan: &Plan, tx: &SyncSender<Msg>) -> Option<Job> {
        loop {
            let raw = match self.entries.as_mut()?.next() {
                None => {
                    self.entries = None;
                    return None;
                }
                Some(Err(err)) => {
                    self.entries = None;
                    let _ = tx.send(Msg::InputError(err));
                    return None;
                }
                Some(Ok(raw)) => raw,
            };
            let (line, email) = match classify(raw, &mut self.seen) {
                None => continue,
                Some(Item::Invalid { line, text, error }) => {
                    let mut row = Row::new(line, text, Status::Failed);
                    row.error = Some(error);
                    tx.send(Msg::Row(Box::new(row), None, None)).ok()?;
                    continue;
                }
                Some(Item::Address { line, email }) => (line, email),
            };
            let previous = shared
                .manifest
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&email)
                // A manifest is a file anyone may edit: only plain names in
                // --dir are trusted (--prune deletes them).
                .filter(|entry| output::sanitize_file_name(&entry.file) == entry.file)
                .filter(|entry| plan.dir.join(&entry.file).is_file());
            if self.skip_existing {
                let existing = previous
                    .as_ref()
                    .map(|entry| plan.dir.join(&entry.file))
                    .or_else(|| {
                        Some(plan.dir.join(plan.template.render(
                            &email,
                            plan.size,
                            self.default_ext,
                        )))
                        .filter(|p| p.is_file())
                    });
                if let Some(path) = existing {
                    let mut row = Row::new(line, email, Status::Skipped);
                    row.path = Some(path.display().to_string());
                    tx.send(Msg::Row(Box::new(row), None, None)).ok()?;
                    continue;
                }
            }
            let previous = previous.filter(|_| self.sync);
            let if_none_match = previous
                .as_ref()
                .filter(|entry| plan.still_fits(&email, entry))
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

fn work(
    index: usize,
    mut client: Client,
    feed: Arc<Mutex<Feed>>,
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
    plan: Arc<Plan>,
) {
    // Let the first answer through alone: a wrong password then costs one
    // request, not one per worker.
    if index > 0 {
        shared.wait_warmed();
    }
    let mut first = index == 0;
    loop {
        if shared.stopping() {
            break;
        }
        let next = feed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_job(&shared, &plan, &tx);
        let Some(job) = next else {
            break;
        };
        if shared.stopping() {
            break;
        }
        let outcome = fetch_one(&mut client, &job, &shared, &plan, &tx);
        if first {
            first = false;
            if !matches!(&outcome, Some((_, _, Some(_)))) {
                shared.set_warmed();
            }
        }
        let Some((row, update, fatal)) = outcome else {
            break;
        };
        let stop = fatal.is_some();
        if stop {
            shared.abort.store(true, Ordering::SeqCst);
            shared.set_warmed();
        }
        if tx.send(Msg::Row(Box::new(row), update, fatal)).is_err() || stop {
            break;
        }
    }
    if index == 0 {
        shared.set_warmed();
    }
}

/// Fetches and writes one photo. `None` when interrupted before writing (the
/// address is left for the next run). The error, when there is one, must
/// stop the run (authentication).
fn fetch_one(
    client: &mut Client,
    job: &Job,
    shared: &Shared,
    plan: &Plan,
    tx: &SyncSender<Msg>,
) -> Option<(Row, Option<Update>, Option<Box<Error>>)> {
    let request = PhotoRequest {
        email: job.email.clone(),
        size: plan.size,
        if_none_match: job.if_none_match.clone(),
    };
    let failed = |err: Error| {
        let mut row = Row::new(job.line, job.email.clone(), Status::Failed);
        row.error = Some(err.to_string());
        let fatal = (err.exit_code() == exit::AUTH).then(|| Box::new(err));
        (row, None, fatal)
    };
    let outcome = match client.fetch(&request) {
        Ok(outcome) => outcome,
        Err(err) => return Some(failed(err)),
    };
    let raw = match outcome {
        Outcome::Photo(raw) => raw,
        Outcome::Unchanged { etag, .. } => {
            let previous = job.previous.as_ref();
            let mut row = Row::new(job.line, job.email.clone(), Status::Unchanged);
            row.path = previous.map(|p| plan.dir.join(&p.file).display().to_string());
            row.etag = etag.or_else(|| previous.and_then(|p| p.etag.clone()));
            return Some((row, None, None));
        }
        Outcome::NoPhoto { detail } => return Some(no_photo(job, shared, plan, detail)),
    };
    let prepared = match prepare_photo(&job.email, raw, plan.to) {
        Ok(prepared) => prepared,
        Err(Error::NoPhoto { detail, .. }) => return Some(no_photo(job, shared, plan, detail)),
        Err(err) => return Some(failed(err)),
    };
    if let Some(warning) = prepared.warning.clone() {
        let _ = tx.send(Msg::Note(format!("warning: {warning}")));
    }
    let name = plan
        .template
        .render(&job.email, plan.size, prepared.format.extension());
    let path = plan.dir.join(&name);
    {
        let _writing = shared.writes.read().unwrap_or_else(|e| e.into_inner());
        if interrupted() {
            return None;
        }
        if let Err(err) = output::write_atomic(&path, &prepared.bytes, true) {
            return Some(failed(err.into()));
        }
    }
    // The name or format changed: the old file goes.
    if let Some(previous) = &job.previous
        && previous.file != name
    {
        let _ = std::fs::remove_file(plan.dir.join(&previous.file));
    }
    let mut row = Row::new(job.line, job.email.clone(), Status::Fetched);
    row.path = Some(path.display().to_string());
    row.bytes = Some(prepared.bytes.len() as u64);
    row.width = Some(prepared.info.width);
    row.height = Some(prepared.info.height);
    row.etag = prepared.etag.clone();
    let update = Update::Set(manifest::Entry {
        email: job.email.clone(),
        file: name,
        size: plan.size.code().to_string(),
        etag: prepared.etag,
        fetched: manifest::now_rfc3339(),
    });
    Some((row, Some(update), None))
}

/// The user has no photo. With --sync, a photo that disappeared is reported,
/// and its file deleted with --prune.
fn no_photo(
    job: &Job,
    shared: &Shared,
    plan: &Plan,
    detail: Option<String>,
) -> (Row, Option<Update>, Option<Box<Error>>) {
    let mut row = Row::new(job.line, job.email.clone(), Status::NoPhoto);
    row.error = detail;
    let Some(previous) = &job.previous else {
        return (row, None, None);
    };
    let path = plan.dir.join(&previous.file);
    if plan.prune {
        let _writing = shared.writes.read().unwrap_or_else(|e| e.into_inner());
        match std::fs::remove_file(&path) {
            Ok(()) => {
                row.error = Some(format!(
                    "the photo was removed on the server; deleted {} (--prune)",
                    path.display()
                ));
                (row, Some(Update::Remove(job.email.clone())), None)
            }
            Err(e) => {
                row.status = Status::Failed;
                row.error = Some(format!(
                    "the photo was removed on the server, but {} could not be deleted: {e}",
                    path.display()
                ));
                (row, None, None)
            }
        }
    } else {
        row.path = Some(path.display().to_string());
        row.error = Some(format!(
            "the photo was removed on the server; kept {} (pass --prune to delete it)",
            path.display()
        ));
        (row, None, None)
    }
}

#[derive(Debug, Default)]
struct Counts {
    fetched: u64,
    unchanged: u64,
    no_photo: u64,
    skipped: u64,
    failed: u64,
}

impl Counts {
    fn done(&self) -> u64 {
        self.fetched + self.unchanged + self.no_photo + self.skipped + self.failed
    }

    fn add(&mut self, status: Status) {
        match status {
            Status::Fetched => self.fetched += 1,
            Status::Unchanged => self.unchanged += 1,
            Status::NoPhoto => self.no_photo += 1,
            Status::Skipped => self.skipped += 1,
            Status::Failed => self.failed += 1,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} fetched, {} unchanged, {} no photo, {} skipped, {} failed",
            self.fetched, self.unchanged, self.no_photo, self.skipped, self.failed
        )
    }
}

enum Progress {
    Bar(ProgressBar),
    Lines { next: Instant },
    Off,
}

impl Progress {
    fn new(show: bool, total: u64) -> Progress {
        if !show {
            Progress::Off
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:20}] {pos}/{len} ETA {eta} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                next: Instant::now() + PROGRESS_LINE_EVERY,
            }
        }
    }

    fn println(&self, console: &Console, text: &str) {
        let show = || {
            if let Some(warning) = text.strip_prefix("warning: ") {
                console.warn(warning);
            } else {
                console.warn(text);
            }
        };
        match self {
            Progress::Bar(bar) => bar.suspend(show),
            _ => show(),
        }
    }
}

struct Reporter {
    console: Console,
    progress: Progress,
    counts: Counts,
    started: Instant,
    total: u64,
}

impl Reporter {
    fn rate(&self) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 {
            self.counts.done() as f64 / secs
        } else {
            0.0
        }
    }

    fn tick(&mut self) {
        match &mut self.progress {
            Progress::Bar(bar) => {
                let rate =
                    self.counts.done() as f64 / self.started.elapsed().as_secs_f64().max(0.001);
                bar.set_position(self.counts.done());
                bar.set_message(format!("{rate:.0}/s: {}", self.counts.describe()));
            }
            Progress::Lines { next } => {
                if Instant::now() >= *next {
                    *next = Instant::now() + PROGRESS_LINE_EVERY;
                    let done = self.counts.done();
                    let rate =
                        self.counts.done() as f64 / self.started.elapsed().as_secs_f64().max(0.001);
                    let eta = if rate > 0.0 {
                        human_duration(Duration::from_secs_f64(
                            self.total.saturating_sub(done) as f64 / rate,
                        ))
                    } else {
                        "?".into()
                    };
                    eprintln!(
                        "ews-photo: export: {done}/{} ({}%), {rate:.0}/s, ETA {eta}: {}",
                        self.total,
                        (done * 100).checked_div(self.total).unwrap_or(100),
                        self.counts.describe()
                    );
                }
            }
            Progress::Off => {}
        }
    }

    fn run(
        mut self,
        rx: Receiver<Msg>,
        shared: &Shared,
        report: &mut Option<Report>,
        dir: &Path,
        duplicates: u64,
    ) -> Result<(), Error> {
        let mut fatal: Option<Error> = None;
        let mut input_error: Option<Error> = None;
        let mut last_checkpoint = Instant::now();
        let mut rows_since_checkpoint = 0u64;
        let mut dirty = false;
        let mut stop_seen: Option<Instant> = None;
        let mut report_error: Option<Error> = None;
        let mut handle = |this: &mut Reporter, msg: Msg, dirty: &mut bool, rows: &mut u64| match msg
        {
            Msg::Row(row, update, is_fatal) => {
                this.counts.add(row.status);
                *rows += 1;
                if row.status == Status::Failed && is_fatal.is_none() {
                    this.progress.println(
                        &this.console,
                        &format!(
                            "line {}, {}: {}",
                            row.line,
                            row.email,
                            row.error.as_deref().unwrap_or("failed")
                        ),
                    );
                }
                if let Some(err) = is_fatal
                    && fatal.is_none()
                {
                    fatal = Some(*err);
                }
                if let Some(report) = report.as_mut()
                    && report_error.is_none()
                    && let Err(err) = report.write(&row)
                {
                    shared.abort.store(true, Ordering::SeqCst);
                    report_error = Some(err);
                }
                if let Some(update) = update {
                    let mut manifest = shared.manifest.lock().unwrap_or_else(|e| e.into_inner());
                    match update {
                        Update::Set(entry) => manifest.set(&entry),
                        Update::Remove(email) => manifest.remove(&email),
                    }
                    *dirty = true;
                }
            }
            Msg::Note(text) => this.progress.println(&this.console, &text),
            Msg::InputError(err) => {
                shared.abort.store(true, Ordering::SeqCst);
                input_error = Some(err);
            }
        };
        let mut interrupted_run = false;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(msg) => handle(&mut self, msg, &mut dirty, &mut rows_since_checkpoint),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if interrupted() {
                let since = *stop_seen.get_or_insert_with(Instant::now);
                if since.elapsed() >= GRACE {
                    interrupted_run = true;
                    break;
                }
            }
            self.tick();
            // Every 2 s, or every 500 results but then at most twice a second
            // (a checkpoint rewrites the whole manifest).
            let since = last_checkpoint.elapsed();
            if dirty
                && (since >= CHECKPOINT_EVERY
                    || (rows_since_checkpoint >= CHECKPOINT_ROWS && since >= CHECKPOINT_MIN))
            {
                save_manifest(shared, dir, &self);
                dirty = false;
                last_checkpoint = Instant::now();
                rows_since_checkpoint = 0;
            }
        }
        // No file is being written past this point: wait for writes under way,
        // then record what they finished.
        let _no_more_writes = shared.writes.write().unwrap_or_else(|e| e.into_inner());
        while let Ok(msg) = rx.try_recv() {
            handle(&mut self, msg, &mut dirty, &mut rows_since_checkpoint);
        }
        if dirty {
            save_manifest(shared, dir, &self);
        }
        output::remove_temporary_files();
        // Ctrl-C once everything was done changes nothing.
        let interrupted_run = (interrupted_run || interrupted()) && self.counts.done() < self.total;
        if let Progress::Bar(bar) = &self.progress {
            bar.set_position(self.counts.done());
            bar.finish_and_clear();
        }
        let elapsed = self.started.elapsed();
        let done = self.counts.done();
        let mut summary = format!(
            "export: {done} of {} addresses in {} ({:.0}/s): {}",
            self.total,
            human_duration(elapsed),
            self.rate(),
            self.counts.describe()
        );
        if duplicates > 0 {
            let lines = if duplicates == 1 { "line" } else { "lines" };
            summary.push_str(&format!("; {duplicates} duplicate {lines} ignored"));
        }
        if let Some(report) = report.as_ref() {
            summary.push_str(&format!("; report: {}", report.path().display()));
        }
        if interrupted_run {
            summary.push_str(&format!(
                "; interrupted: run again with --sync to finish ({} left)",
                self.total.saturating_sub(done)
            ));
        }
        self.console.info(&format!("ews-photo: {summary}"));
        if let Some(err) = report_error {
            return Err(err);
        }
        if let Some(err) = input_error {
            return Err(err);
        }
        if let Some(err) = fatal {
            return Err(err);
        }
        if interrupted_run {
            return Err(Error::Interrupted);
        }
        if self.counts.failed > 0 {
            return Err(Error::SomeFailed {
                failed: self.counts.failed,
                total: self.total,
                report: report.as_ref().map(|r| r.path().to_path_buf()),
            });
        }
        Ok(())
    }
}

fn save_manifest(shared: &Shared, dir: &Path, reporter: &Reporter) {
    // Workers only read the manifest (one lookup per address), so holding it
    // while it is written costs them little.
    let saved = shared
        .manifest
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .save(dir);
    if let Err(err) = saved {
        reporter.progress.println(
            &reporter.console,
            &format!("cannot save the manifest: {err}"),
        );
    }
}
