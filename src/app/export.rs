//! `ews-photo export`: the command line's side of a bulk run — options,
//! progress on stderr, the summary, and Ctrl-C.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::app::{Console, config, interrupt};
use crate::cli::{Connection, ExportArgs, ProgressArg};
use crate::error::Error;
use crate::export::input::{ListEntry, Source, classify};
use crate::export::{self, Counts, Event, ExportOptions, Stop, Summary};
use crate::human::HumanDuration;
use crate::record::Status;
use crate::validate_email;

/// Plain progress lines when stderr is not a terminal.
const PROGRESS_LINE_EVERY: Duration = Duration::from_secs(5);

/// Runs `export`.
pub fn run(
    connection: &Connection,
    verbosity: u8,
    args: &ExportArgs,
    console: Console,
) -> Result<(), Error> {
    let stdin_list = args.input == Path::new("-");
    if stdin_list && std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no address list: give a FILE (one address a line, or CSV), or pipe the list to stdin (-)".into(),
        ));
    }
    // Without --url, and without an address in --user, Autodiscover needs the
    // list's first address: the list is opened now (stdin can be read once).
    let user_is_address = connection
        .user
        .as_deref()
        .is_some_and(|u| validate_email(u).is_ok());
    let list = if connection
        .url
        .as_deref()
        .is_none_or(|u| u.trim().is_empty())
        && !user_is_address
    {
        Some(Source::open(&args.input)?)
    } else {
        None
    };
    let first_address = || match &list {
        Some(source) => first_address(source, args.column.as_deref()),
        None => Err(Error::Usage("no address to run Autodiscover for".into())),
    };
    let config = config::client_config(
        connection,
        verbosity,
        stdin_list,
        console,
        config::DiscoverFrom::List(&first_address),
    )?;
    let options = ExportOptions {
        list: args.input.clone(),
        column: args.column.clone(),
        dir: args.dir.clone(),
        name: args.name.clone(),
        size: args.size,
        format: args.format.target(),
        jobs: args.jobs as usize,
        report: args.report.clone(),
        sync: args.sync,
        prune: args.prune,
        skip_existing: args.skip_existing,
        batch: args.batch as usize,
    };
    let show = match args.progress {
        ProgressArg::Never => false,
        ProgressArg::Always => true,
        ProgressArg::Auto => !console.quiet,
    };
    let stop = Stop::default();
    let mut progress = Progress {
        console,
        show,
        view: View::Off,
        counts: Counts::default(),
        total: 0,
        started: Instant::now(),
    };
    let mut on_event = |event: Event| {
        if let Event::Started { .. } = event {
            // From here on, Ctrl-C stops the run cleanly (report and manifest
            // flushed); before, there is nothing to flush.
            interrupt::set_active(Some(stop.clone()));
        }
        progress.on(event);
    };
    let result = match list {
        Some(list) => export::run_with_list(&config, &options, list, &stop, &mut on_event),
        None => export::run(&config, &options, &stop, &mut on_event),
    };
    interrupt::set_active(None);
    let summary = result?;
    progress.finish();
    console.info(&format!("ews-photo: {}", describe(&summary)));
    summary.into_result()
}

/// The list's first well-formed address, for Autodiscover.
fn first_address(list: &Source, column: Option<&str>) -> Result<String, Error> {
    for entry in list.entries(column)? {
        if let ListEntry::Address { email, .. } = classify(entry?) {
            return Ok(email);
        }
    }
    Err(Error::Usage(format!(
        "{}: no address in the list to run Autodiscover for; pass --url, or --user as user@domain",
        list.name()
    )))
}

/// "export: 5 of 5 addresses in 20ms (246/s): 3 fetched, …; report: run.csv".
fn describe(summary: &Summary) -> String {
    let done = summary.counts.done();
    let mut text = format!(
        "export: {done} of {} addresses in {} ({:.0}/s): {}",
        summary.total,
        HumanDuration(summary.elapsed),
        summary.rate(),
        describe_counts(&summary.counts)
    );
    if summary.duplicates > 0 {
        let lines = if summary.duplicates == 1 {
            "line"
        } else {
            "lines"
        };
        text.push_str(&format!(
            "; {} duplicate {lines} ignored",
            summary.duplicates
        ));
    }
    if let Some(report) = &summary.report {
        text.push_str(&format!("; report: {}", report.display()));
    }
    if summary.interrupted {
        text.push_str(&format!(
            "; interrupted: run again with --sync to finish ({} left)",
            summary.total.saturating_sub(done)
        ));
    }
    text
}

fn describe_counts(counts: &Counts) -> String {
    format!(
        "{} fetched, {} unchanged, {} no photo, {} skipped, {} failed",
        counts.fetched, counts.unchanged, counts.no_photo, counts.skipped, counts.failed
    )
}

enum View {
    Bar(ProgressBar),
    Lines { next: Instant },
    Off,
}

/// Progress on stderr: a bar on a terminal, a line every few seconds
/// otherwise; warnings and failures printed above it.
struct Progress {
    console: Console,
    show: bool,
    view: View,
    counts: Counts,
    total: u64,
    started: Instant,
}

impl Progress {
    fn on(&mut self, event: Event) {
        match event {
            Event::Started { total } => self.start(total),
            Event::Record { record, stops_run } => {
                self.counts.add(record.status);
                // A failure that stops the run is the run's error, printed at the end.
                if record.status == Status::Failed && !stops_run {
                    self.warn(&format!(
                        "line {}, {}: {}",
                        record.line.unwrap_or_default(),
                        record.email,
                        record.error.as_deref().unwrap_or("failed")
                    ));
                }
                self.tick();
            }
            Event::Warning(text) => self.warn(text),
            Event::Paused { wait, workers } => {
                let who = if workers > 1 {
                    format!("all {workers} workers pause")
                } else {
                    "pausing".to_string()
                };
                self.warn(&format!("{wait}; {who}"));
            }
            Event::Tick => self.tick(),
        }
    }

    fn start(&mut self, total: u64) {
        self.total = total;
        self.started = Instant::now();
        self.view = if !self.show {
            View::Off
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:20}] {pos}/{len} ETA {eta} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            View::Bar(bar)
        } else {
            View::Lines {
                next: Instant::now() + PROGRESS_LINE_EVERY,
            }
        };
    }

    fn warn(&self, text: &str) {
        match &self.view {
            View::Bar(bar) => bar.suspend(|| self.console.warn(text)),
            _ => self.console.warn(text),
        }
    }

    fn rate(&self) -> f64 {
        self.counts.done() as f64 / self.started.elapsed().as_secs_f64().max(0.001)
    }

    fn tick(&mut self) {
        let done = self.counts.done();
        let rate = self.rate();
        match &mut self.view {
            View::Bar(bar) => {
                bar.set_position(done);
                bar.set_message(format!("{rate:.0}/s: {}", describe_counts(&self.counts)));
            }
            View::Lines { next } if Instant::now() >= *next => {
                *next = Instant::now() + PROGRESS_LINE_EVERY;
                let eta = if rate > 0.0 {
                    HumanDuration(Duration::from_secs_f64(
                        self.total.saturating_sub(done) as f64 / rate,
                    ))
                    .to_string()
                } else {
                    "?".into()
                };
                // Not through the console: --progress always shows even with -q.
                let _ = writeln!(
                    std::io::stderr(),
                    "ews-photo: export: {done}/{} ({}%), {rate:.0}/s, ETA {eta}: {}",
                    self.total,
                    (done * 100).checked_div(self.total).unwrap_or(100),
                    describe_counts(&self.counts)
                );
            }
            _ => {}
        }
    }

    fn finish(&self) {
        if let View::Bar(bar) = &self.view {
            bar.set_position(self.counts.done());
            bar.finish_and_clear();
        }
    }
}
