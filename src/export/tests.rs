//! The engine on its own: the feed, de-duplication, whether a manifest entry
//! still fits, what may be deleted, and whole runs against the stand-in, in
//! process (two runs in one process must not share a stop).

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

use super::feed::AddressFeed;
use super::*;
use crate::{HttpUrl, Service};

fn settings(dir: &Path, name: &str) -> RunSettings {
    RunSettings {
        dir: dir.to_path_buf(),
        write_dir: dir.to_path_buf(),
        template: Template::parse(name).unwrap(),
        size: PhotoSize::Hr96,
        format: None,
        sync: true,
        prune: true,
        skip_existing: false,
        default_ext: "jpg",
        backend: "ews",
        batch: 1,
    }
}

fn entry(email: &str, file: &str, name: Option<&str>) -> manifest::Entry {
    manifest::Entry {
        email: email.into(),
        file: file.into(),
        size: "HR96x96".into(),
        name: name.map(str::to_string),
        etag: Some("e1".into()),
        backend: None,
        fetched: "2026-12-01T00:00:00Z".into(),
    }
}

/// Pass 1 over `text` (with the folder's manifest when `with_manifest`), then
/// the feed of pass 2 over the same list.
fn feed(dir: &Path, text: &str, settings: &RunSettings, with_manifest: bool) -> AddressFeed {
    let list = dir.join("list.txt");
    std::fs::write(&list, text).unwrap();
    let source = Source::open(&list).unwrap();
    let options = ExportOptions::new(&list, dir);
    let manifest = Manifest::load(dir).0;
    let plan = plan::plan(
        &source,
        &options,
        &settings.template,
        settings.default_ext,
        with_manifest.then_some(&manifest),
        dir,
    )
    .unwrap();
    AddressFeed::new(source.entries(None).unwrap(), plan.notes)
}

#[test]
fn the_feed_checks_deduplicates_and_looks_up_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bob@contoso.com.jpg"), b"old").unwrap();
    let mut manifest = Manifest::load(dir.path()).0;
    manifest.set(&entry("bob@contoso.com", "bob@contoso.com.jpg", None));
    // An entry whose file is gone is not trusted.
    manifest.set(&entry("carol@contoso.com", "carol@contoso.com.jpg", None));
    // Nor one that names something outside a plain file name.
    manifest.set(&entry("dave@contoso.com", "../dave.jpg", None));
    manifest.save().unwrap();
    let settings = settings(dir.path(), DEFAULT_TEMPLATE);
    let (tx, rx) = mpsc::sync_channel(16);
    let mut feed = feed(
        dir.path(),
        "alice@contoso.com\nnot an address\nALICE@contoso.com\nbob@contoso.com\ncarol@contoso.com\nsmtp:dave@contoso.com\n",
        &settings,
        true,
    );
    let state = RunState::new(&Stop::default());
    let mut jobs = Vec::new();
    while let Some(job) = feed.next_job(&state, &settings, &tx) {
        jobs.push(job);
    }
    let emails: Vec<&str> = jobs.iter().map(|j| j.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "alice@contoso.com",
            "bob@contoso.com",
            "carol@contoso.com",
            "dave@contoso.com"
        ]
    );
    assert_eq!(
        jobs.iter().map(|j| j.line).collect::<Vec<_>>(),
        [1, 4, 5, 6]
    );
    // Only bob's entry is trusted, and its ETag goes out.
    assert_eq!(jobs[1].if_none_match.as_deref(), Some("e1"));
    assert!(
        jobs.iter()
            .filter(|j| j.email != "bob@contoso.com")
            .all(|j| j.previous.is_none())
    );
    // The malformed line became a failed record with its line number.
    let Ok(WorkerReport::Finished(finished)) = rx.try_recv() else {
        panic!("a record for the malformed line")
    };
    assert_eq!(finished.record.line, Some(2));
    assert_eq!(finished.record.status, Status::Failed);
    assert_eq!(finished.record.exit_code, 2);
    assert!(rx.try_recv().is_err());
}

#[test]
fn a_damaged_entry_counts_as_missing_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bob@contoso.com.jpg"), b"old").unwrap();
    std::fs::write(
        Manifest::path(dir.path()),
        "{\"version\":1,\"entries\":{\n\"bob@contoso.com\":{\"email\":\"bob@contoso.com\"}\n}}\n",
    )
    .unwrap();
    let settings = settings(dir.path(), DEFAULT_TEMPLATE);
    let (tx, rx) = mpsc::sync_channel(16);
    let mut feed = feed(dir.path(), "bob@contoso.com\n", &settings, true);
    let job = feed
        .next_job(&RunState::new(&Stop::default()), &settings, &tx)
        .unwrap();
    assert!(job.previous.is_none() && job.if_none_match.is_none());
    let Ok(WorkerReport::Warning(warning)) = rx.try_recv() else {
        panic!("a warning")
    };
    assert!(warning.contains("bob@contoso.com is damaged"), "{warning}");
}

#[test]
fn skip_existing_sends_a_record_instead_of_a_job() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a@b.c.jpg"), b"x").unwrap();
    let mut settings = settings(dir.path(), DEFAULT_TEMPLATE);
    settings.skip_existing = true;
    let (tx, rx) = mpsc::sync_channel(4);
    let mut feed = feed(dir.path(), "a@b.c\nd@e.f\n", &settings, true);
    let state = RunState::new(&Stop::default());
    assert_eq!(
        feed.next_job(&state, &settings, &tx).unwrap().email,
        "d@e.f"
    );
    let Ok(WorkerReport::Finished(skipped)) = rx.try_recv() else {
        panic!()
    };
    assert_eq!(skipped.record.status, Status::Skipped);
}

/// Entries reach the feed through pass 1's sorted merge; another back end's
/// are passed on (the file can still be replaced) but their ETags are not
/// sent, and that is said once per run, not once per address.
#[test]
fn another_back_ends_entries_are_not_trusted_and_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = Manifest::load(dir.path()).0;
    for user in ["ann", "ben", "cy"] {
        let file = format!("{user}@contoso.com.jpg");
        std::fs::write(dir.path().join(&file), b"old").unwrap();
        manifest.set(&entry(&format!("{user}@contoso.com"), &file, None));
    }
    manifest.save().unwrap();
    let mut settings = settings(dir.path(), DEFAULT_TEMPLATE);
    settings.backend = "graph";
    let (tx, rx) = mpsc::sync_channel(16);
    let mut three = feed(
        dir.path(),
        "ann@contoso.com\nben@contoso.com\ncy@contoso.com\n",
        &settings,
        true,
    );
    let state = RunState::new(&Stop::default());
    let mut jobs = Vec::new();
    while let Some(job) = three.next_job(&state, &settings, &tx) {
        jobs.push(job);
    }
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j.previous.is_some()));
    assert!(jobs.iter().all(|j| j.if_none_match.is_none()));
    let warnings: Vec<String> = rx
        .try_iter()
        .filter_map(|report| match report {
            WorkerReport::Warning(text) => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("written by the ews back end") && warnings[0].contains("graph"),
        "{}",
        warnings[0]
    );
    // The same entries, read by the back end that wrote them: ETags go out.
    settings.backend = "ews";
    let mut one = feed(dir.path(), "ann@contoso.com\n", &settings, true);
    let job = one.next_job(&state, &settings, &tx).unwrap();
    assert_eq!(job.if_none_match.as_deref(), Some("e1"));
}

#[test]
fn names_that_collide_are_refused_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.txt");
    let mut text = String::from("alice@contoso.com\nbob@contoso.com\n");
    for i in 0..8 {
        text.push_str(&format!("alice@d{i}.com\n"));
    }
    text.push_str("ALICE@contoso.com\n");
    std::fs::write(&list, text).unwrap();
    let source = Source::open(&list).unwrap();
    let mut options = ExportOptions::new(&list, dir.path());
    options.name = "{local}.{ext}".into();
    let template = Template::parse(&options.name).unwrap();
    let Err(Error::Usage(message)) =
        plan::plan(&source, &options, &template, "jpg", None, dir.path())
    else {
        panic!("refused")
    };
    // The repeat of line 1 is not a collision; the first five by line are shown.
    assert!(
        message.contains("gives 8 addresses the same file name as another: line 3 alice@d0.com → alice.jpg, like line 1; line 4 alice@d1.com"),
        "{message}"
    );
    assert!(
        message.contains("line 7 alice@d4.com → alice.jpg, like line 1 (and 3 more)"),
        "{message}"
    );
}

#[test]
fn an_entry_still_fits_only_for_the_same_size_format_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let plain = settings(dir.path(), DEFAULT_TEMPLATE);
    let e = entry("Alice@contoso.com", "Alice@contoso.com.jpg", None);
    assert!(plain.still_fits("Alice@contoso.com", &e));
    let mut other_size = settings(dir.path(), DEFAULT_TEMPLATE);
    other_size.size = PhotoSize::Hr240;
    assert!(!other_size.still_fits("Alice@contoso.com", &e));
    let mut png = settings(dir.path(), DEFAULT_TEMPLATE);
    png.format = Some(Format::Png);
    assert!(!png.still_fits("Alice@contoso.com", &e));
    assert!(!settings(dir.path(), "{local}.{ext}").still_fits("Alice@contoso.com", &e));
    // Another back end's ETag is not sent: an entry without one is EWS's.
    let mut graph = settings(dir.path(), DEFAULT_TEMPLATE);
    graph.backend = "graph";
    assert!(!graph.still_fits("Alice@contoso.com", &e));
    let mut by_graph = e.clone();
    by_graph.backend = Some("graph".into());
    assert!(graph.still_fits("Alice@contoso.com", &by_graph));
    assert!(!plain.still_fits("Alice@contoso.com", &by_graph));
}

#[test]
fn only_a_file_a_template_made_for_the_address_may_be_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let now = settings(dir.path(), "{local}.{ext}");
    // Made by this run's template, or by the one the entry records.
    assert!(now.made_for(
        "alice@contoso.com",
        &entry("alice@contoso.com", "alice.png", None)
    ));
    assert!(now.made_for(
        "alice@contoso.com",
        &entry("alice@contoso.com", "alice@contoso.com.jpg", None)
    ));
    assert!(now.made_for(
        "alice@contoso.com",
        &entry(
            "alice@contoso.com",
            "x-alice-HR96x96.jpg",
            Some("x-{local}-{size}.{ext}")
        )
    ));
    // An edited manifest pointing at another file in the folder.
    for file in ["report.csv", "bob.jpg", "alice", ".ews-photo-manifest.json"] {
        assert!(
            !now.made_for("alice@contoso.com", &entry("alice@contoso.com", file, None)),
            "{file}"
        );
    }
    // A recorded template must still render this address.
    assert!(!now.made_for(
        "alice@contoso.com",
        &entry("alice@contoso.com", "victim.jpg", Some("victim.jpg"))
    ));
}

fn config(server: &ews_standin::StandIn) -> ClientConfig {
    ClientConfig::new(Service::ews(HttpUrl::parse(&server.url()).unwrap()))
}

#[test]
fn whole_runs_in_one_process_report_every_address() {
    let server = ews_standin::StandIn::start(ews_standin::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("users.txt");
    std::fs::write(
        &list,
        "a@contoso.com\nnophoto@contoso.com\nA@contoso.com\nbad\n",
    )
    .unwrap();
    let mut options = ExportOptions::new(&list, dir.path().join("photos"));
    options.jobs = 2;
    options.sync = true;
    let mut statuses = Vec::new();
    let mut started = None;
    let summary = run(
        &config(&server),
        &options,
        &Stop::default(),
        &mut |event| match event {
            Event::Started { total } => started = Some(total),
            Event::Record { record, .. } => statuses.push((record.email.clone(), record.status)),
            _ => {}
        },
    )
    .unwrap();
    assert_eq!(started, Some(3));
    assert_eq!((summary.total, summary.duplicates), (3, 1));
    assert_eq!(
        summary.counts,
        Counts {
            fetched: 1,
            no_photo: 1,
            failed: 1,
            ..Counts::default()
        }
    );
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        statuses,
        [
            ("a@contoso.com".to_string(), Status::Fetched),
            ("bad".to_string(), Status::Failed),
            ("nophoto@contoso.com".to_string(), Status::NoPhoto),
        ]
    );
    assert!(matches!(
        summary.into_result(),
        Err(Error::SomeFailed { failed: 1, .. })
    ));
    // A second run: the ETag matches, nothing is written; the first run's
    // stop does not leak into it.
    let summary = run(&config(&server), &options, &Stop::default(), &mut |_| {}).unwrap();
    assert_eq!(summary.counts.unchanged, 1);
    assert!(!summary.interrupted);
}

#[test]
fn a_stop_asked_before_the_start_fetches_nothing() {
    let server = ews_standin::StandIn::start(ews_standin::Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("users.txt");
    std::fs::write(&list, "a@contoso.com\nb@contoso.com\n").unwrap();
    let stop = Stop::default();
    assert!(stop.request());
    assert!(!stop.request(), "only the first request counts");
    let options = ExportOptions::new(&list, dir.path().join("photos"));
    let summary = run(&config(&server), &options, &stop, &mut |_| {}).unwrap();
    assert!(summary.interrupted);
    assert_eq!(summary.counts.done(), 0);
    assert!(server.requests().is_empty());
    assert!(matches!(summary.into_result(), Err(Error::Interrupted)));
}

/// The pause is shared: once the gate is closed, a worker can finish at most
/// the one request it already had on the wire, and sends nothing more until
/// the hint has passed. Stated that way, nothing here depends on timing: the
/// event is heard after the gate closed, and the gate cannot open early.
#[test]
fn a_busy_answer_pauses_every_worker_until_the_hint() {
    let hint = Duration::from_millis(500);
    let server = ews_standin::StandIn::start(ews_standin::Options {
        backoff_ms: hint.as_millis() as u64,
        latency: Duration::from_millis(20),
        ..ews_standin::Options::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("users.txt");
    let mut addresses: Vec<String> = (0..40).map(|i| format!("user{i}@contoso.com")).collect();
    addresses.insert(12, "busyfault-1@contoso.com".into());
    std::fs::write(&list, addresses.join("\n")).unwrap();
    let mut options = ExportOptions::new(&list, dir.path().join("photos"));
    options.jobs = 4;
    let mut heard = Vec::new();
    let summary = run(&config(&server), &options, &Stop::default(), &mut |event| {
        if let Event::Paused { workers, .. } = event {
            heard.push((Instant::now(), workers));
        }
    })
    .unwrap();
    assert_eq!(summary.counts.fetched, 41);
    assert_eq!(heard.len(), 1, "one message per pause, not one per worker");
    let (paused_at, workers) = heard[0];
    assert_eq!(workers, 4);
    let requests = server.requests();
    let busy: Vec<Instant> = requests
        .iter()
        .filter(|r| r.email.as_deref() == Some("busyfault-1@contoso.com"))
        .map(|r| r.at)
        .collect();
    assert_eq!(busy.len(), 2, "one busy answer, one retry");
    assert!(busy[1] - busy[0] >= hint);
    let mut during: HashMap<u64, usize> = HashMap::new();
    for r in requests
        .iter()
        .filter(|r| r.at > paused_at && r.at < busy[0] + hint)
    {
        *during.entry(r.connection).or_default() += 1;
    }
    assert!(
        during.values().all(|&n| n <= 1),
        "a worker sent a new request during the pause: {during:?}"
    );
    // And the other workers carried on afterwards, on their own connections.
    let after: HashSet<u64> = requests
        .iter()
        .filter(|r| r.at >= busy[0] + hint)
        .map(|r| r.connection)
        .collect();
    assert!(after.len() >= 2, "{after:?}");
}
