//! End-to-end tests of `ews-photo export` against the stand-in server.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::library::{Format, image_info};

/// email → status.
fn statuses(rows: &Rows) -> HashMap<String, String> {
    rows.iter()
        .map(|r| (r["email"].clone(), r["status"].clone()))
        .collect()
}

fn write_list(s: &Setup, name: &str, addresses: &[String]) {
    std::fs::write(s.path(name), addresses.join("\n") + "\n").unwrap();
}

fn users(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}@contoso.com")).collect()
}

fn partial_files(dir: &Path) -> Vec<String> {
    files_in(dir)
        .into_iter()
        .filter(|n| n.ends_with(".part"))
        .collect()
}

#[test]
fn mixed_list_gives_the_right_rows_files_and_exit_code() {
    let s = Setup::new();
    let list = "# people\n\
alice@contoso.com\n\
\n\
nophoto1@contoso.com\n\
not an address\n\
Alice@Contoso.com\n\
png-bob@contoso.com\n\
..@contoso.com\n\
a/b@contoso.com\n\
..\\..\\x@contoso.com\n\
clear@contoso.com\n\
fail1@contoso.com\n\
  carol@contoso.com  \n\
SMTP:carol@contoso.com\n";
    std::fs::write(s.path("users.txt"), list).unwrap();
    let run = s
        .ews_photo("export users.txt --dir photos --report run.csv")
        .assert()
        .code(1);
    let err = stderr(&run);
    let rows = csv_report(&s.path("run.csv"));
    // One row per unique address or malformed line; the duplicate is dropped.
    assert_eq!(rows.len(), 10, "{rows:?}");
    let expected = [
        ("alice@contoso.com", "fetched", "2"),
        ("nophoto1@contoso.com", "no-photo", "4"),
        ("not an address", "failed", "5"),
        ("png-bob@contoso.com", "fetched", "7"),
        ("..@contoso.com", "fetched", "8"),
        ("a/b@contoso.com", "fetched", "9"),
        ("..\\..\\x@contoso.com", "fetched", "10"),
        ("clear@contoso.com", "no-photo", "11"),
        ("fail1@contoso.com", "failed", "12"),
        ("carol@contoso.com", "fetched", "13"),
    ];
    for (email, status, line) in expected {
        let r = row(&rows, email);
        assert_eq!(
            (r["status"].as_str(), r["line"].as_str()),
            (status, line),
            "{r:?}"
        );
    }
    assert!(row(&rows, "not an address")["error"].contains("not an email address"));
    let alice = row(&rows, "alice@contoso.com");
    assert_eq!(alice["path"], "photos/alice@contoso.com.jpg");
    assert_eq!(
        (alice["width"].as_str(), alice["height"].as_str()),
        ("96", "96")
    );
    assert_eq!(
        alice["bytes"],
        s.server.photo_bytes("HR96x96", 0).len().to_string()
    );
    assert_eq!(
        format!("\"{}\"", alice["etag"]),
        ews_standin::etag_for("alice@contoso.com", "HR96x96", 0)
    );
    // Every file landed inside --dir under a safe name, with the real extension.
    assert_eq!(s.files(), ["photos", "run.csv", "users.txt"]);
    let photos = s.path("photos");
    assert_eq!(
        files_in(&photos),
        [
            ".ews-photo-manifest.json",
            "__@contoso.com.jpg",
            "___.._x@contoso.com.jpg",
            "a_b@contoso.com.jpg",
            "alice@contoso.com.jpg",
            "carol@contoso.com.jpg",
            "png-bob@contoso.com.png",
        ]
    );
    assert_eq!(
        std::fs::read(photos.join("alice@contoso.com.jpg")).unwrap(),
        s.server.photo_bytes("HR96x96", 0)
    );
    // Messages: the failures by line, the mislabelled PNG, a summary.
    assert!(err.contains("line 5, not an address"), "{err}");
    assert!(err.contains("line 12, fail1@contoso.com"), "{err}");
    assert!(err.contains("said image/jpeg but sent image/png"), "{err}");
    assert!(
        err.contains("6 fetched, 0 unchanged, 2 no photo, 0 skipped, 2 failed"),
        "{err}"
    );
    assert!(err.contains("2 duplicate lines ignored"), "{err}");
    // The duplicate cost no request.
    assert_eq!(s.server.requests_for("alice@contoso.com"), 1);
    // -q: nothing but the final error.
    let run = s
        .ews_photo("export users.txt --dir photos -q")
        .assert()
        .code(1)
        .stderr(contains("2 of 10 addresses failed"));
    let err = stderr(&run);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn all_good_exits_0_and_templates_apply() {
    let s = Setup::new();
    write_list(
        &s,
        "users.txt",
        &[
            "alice@contoso.com".into(),
            "nophoto2@contoso.com".into(),
            "..@contoso.com".into(),
        ],
    );
    s.ews_photo(
        "export users.txt --dir out -s 240 --format png --name {local}/../{domain}-{size}.{ext}",
    )
    .assert()
    .success();
    assert_eq!(
        files_in(&s.path("out")),
        [
            ".ews-photo-manifest.json",
            "___.._contoso.com-HR240x240.png",
            "alice_.._contoso.com-HR240x240.png",
        ]
    );
    let info = image_info(&s.path("out/alice_.._contoso.com-HR240x240.png"));
    assert_eq!((info.format, info.width), (Format::Png, 240));
}

#[test]
fn colliding_names_are_refused_before_any_request() {
    let s = Setup::new();
    write_list(
        &s,
        "users.txt",
        &[
            "alice@contoso.com".into(),
            "bob@contoso.com".into(),
            "alice@fabrikam.com".into(),
        ],
    );
    s.ews_photo("export users.txt --dir out --name {local}.{ext}")
        .assert()
        .code(2)
        .stderr(contains(
            "line 3 alice@fabrikam.com → alice.jpg, like line 1",
        ));
    assert!(s.server.requests().is_empty());
    assert!(!s.path("out").exists());
    // An unknown placeholder, and a template that names every file alike.
    for name in ["{user}.jpg", "photo.{ext}"] {
        s.ews_photo(&format!("export users.txt --dir out --name {name}"))
            .assert()
            .code(2);
    }
}

#[test]
fn powershell_export_csv_input() {
    let s = Setup::new();
    let csv = "\u{feff}#TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n\
\"Name\",\"Alias\",\"PrimarySmtpAddress\",\"Notes\"\r\n\
\"Alice Smith\",\"alice\",\"alice@contoso.com\",\"first, with a comma\"\r\n\
\"Bob\",\"bob\",\"nophoto-bob@contoso.com\",\"two\r\nlines\"\r\n\
\"Carol\",\"carol\",\"CAROL@contoso.com\",\"\"\r\n\
\"Alice again\",\"alice2\",\"Alice@Contoso.com\",\"\"\r\n\
\"Broken\",\"broken\",\"broken\",\"\"\r\n";
    std::fs::write(s.path("mbx.csv"), csv).unwrap();
    s.ews_photo("export mbx.csv --dir photos --report run.csv")
        .assert()
        .code(1);
    let rows = csv_report(&s.path("run.csv"));
    let got: Vec<(&str, &str, &str)> = {
        let mut v: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r["line"].as_str(),
                    r["email"].as_str(),
                    r["status"].as_str(),
                )
            })
            .collect();
        v.sort_by_key(|(line, _, _)| line.parse::<u32>().unwrap());
        v
    };
    assert_eq!(
        got,
        [
            ("3", "alice@contoso.com", "fetched"),
            ("4", "nophoto-bob@contoso.com", "no-photo"),
            ("6", "CAROL@contoso.com", "fetched"),
            ("8", "broken", "failed"),
        ]
    );
    assert_eq!(
        files_in(&s.path("photos")),
        [
            ".ews-photo-manifest.json",
            "CAROL@contoso.com.jpg",
            "alice@contoso.com.jpg"
        ]
    );
    // --column picks another column; a header without a known column is an error.
    std::fs::write(s.path("other.csv"), "Name;Smtp\nAlice;alice@contoso.com\n").unwrap();
    s.ews_photo("export other.csv --dir o2")
        .assert()
        .code(2)
        .stderr(contains("--column"));
    s.ews_photo("export other.csv --dir o2 --column smtp")
        .assert()
        .success();
    assert!(s.path("o2/alice@contoso.com.jpg").is_file());
}

#[test]
fn stdin_list_and_json_lines_report() {
    let s = Setup::new();
    s.ews_photo("export - --dir photos --report run.ndjson")
        .write_stdin("alice@contoso.com\nbob@contoso.com\nnophoto@contoso.com\n")
        .assert()
        .success();
    let text = std::fs::read_to_string(s.path("run.ndjson")).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(rows.len(), 3);
    let bob = rows
        .iter()
        .find(|r| r["email"] == "bob@contoso.com")
        .unwrap();
    assert_eq!(bob["status"], "fetched");
    assert_eq!(bob["line"], 2);
    assert_eq!(bob["width"], 96);
    // No spool file is left anywhere in the scratch folder.
    assert_eq!(s.files(), ["photos", "run.ndjson"]);
}

#[test]
fn unreadable_list_or_report_fails_before_any_request() {
    let s = Setup::new();
    write_list(&s, "users.txt", &users("u", 3));
    // A report that cannot be created is a local failure (1), not a usage error.
    s.ews_photo("export users.txt --dir photos --report no/such/folder/run.csv")
        .assert()
        .code(1)
        .stderr(contains("cannot create the report"));
    assert!(s.server.requests().is_empty());
    assert!(!s.path("photos").exists());
    s.ews_photo("export missing.txt --dir photos")
        .assert()
        .code(2)
        .stderr(contains("missing.txt"));
    assert!(s.server.requests().is_empty());
}

#[test]
fn busy_answers_pause_every_worker_until_the_hint() {
    let s = Setup::with(Options {
        backoff_ms: 1000,
        latency: Duration::from_millis(20),
        ..Default::default()
    });
    let mut list = users("user", 60);
    list.insert(12, "busyfault-1@contoso.com".into());
    write_list(&s, "users.txt", &list);
    let run = s
        .ews_photo("export users.txt --dir photos --jobs 4")
        .assert()
        .success()
        .stderr(contains("waiting 1s as it asked"))
        .stderr(contains("all 4 workers pause"));
    let err = stderr(&run);
    assert_eq!(files_in(&s.path("photos")).len(), 62);
    // One message per pause, not one per worker.
    assert_eq!(err.matches("server busy").count(), 1, "{err}");

    let requests = s.server.requests();
    let busy: Vec<Instant> = requests
        .iter()
        .filter(|r| r.email.as_deref() == Some("busyfault-1@contoso.com"))
        .map(|r| r.at)
        .collect();
    assert_eq!(busy.len(), 2, "one busy answer, one retry");
    let hint = Duration::from_millis(1000);
    assert!(busy[1] - busy[0] >= hint);
    // That no worker sends a new request during the pause is checked in
    // process, without a timing margin: src/export/tests.rs,
    // a_busy_answer_pauses_every_worker_until_the_hint.
    // And the other workers did carry on afterwards, on their own connections.
    let after: std::collections::HashSet<u64> = requests
        .iter()
        .filter(|r| r.at >= busy[0] + hint)
        .map(|r| r.connection)
        .collect();
    assert!(after.len() >= 2, "{after:?}");
}

#[test]
fn max_backoff_caps_the_hint() {
    let s = Setup::with(Options {
        backoff_ms: 600_000,
        ..Default::default()
    });
    write_list(&s, "users.txt", &["busyfault-1@contoso.com".to_string()]);
    s.ews_photo("export users.txt --dir p --max-backoff 1")
        .assert()
        .success()
        .stderr(contains("waiting 1s"));
}

#[test]
fn sync_rerun_writes_nothing_unless_changed() {
    let s = Setup::new();
    let mut list = users("sync", 20);
    list.push("nophoto-sync@contoso.com".into());
    write_list(&s, "users.txt", &list);
    let photos = s.path("photos");
    let sync = |report: &str| {
        s.ews_photo(&format!(
            "export users.txt --dir photos --sync --report {report}"
        ))
        .assert()
        .success();
        csv_report(&s.path(report))
    };
    s.ews_photo("export users.txt --dir photos --sync")
        .assert()
        .success();
    let before = identities(&photos);
    assert_eq!(before.len(), 20);
    let m = manifest(&photos);
    assert_eq!(m["entries"].as_object().unwrap().len(), 20);
    assert_eq!(
        m["entries"]["sync3@contoso.com"]["file"],
        "sync3@contoso.com.jpg"
    );
    let manifest_before = std::fs::read(photos.join(".ews-photo-manifest.json")).unwrap();
    let requests_before = s.server.requests().len();

    // Nothing changed: one conditional request each, nothing written.
    let st = statuses(&sync("r2.csv"));
    assert_eq!(st.values().filter(|v| *v == "unchanged").count(), 20);
    assert_eq!(st["nophoto-sync@contoso.com"], "no-photo");
    assert_eq!(identities(&photos), before);
    assert_eq!(
        std::fs::read(photos.join(".ews-photo-manifest.json")).unwrap(),
        manifest_before,
        "an unchanged run leaves the manifest alone"
    );
    let second: Vec<_> = s.server.requests()[requests_before..].to_vec();
    assert_eq!(second.len(), 21);
    let conditional = second
        .iter()
        .filter(|r| r.header("if-none-match").is_some())
        .count();
    assert_eq!(conditional, 20);

    // Two photos change: exactly those are fetched and rewritten.
    s.server.set_photo_version("sync4@contoso.com", 1);
    s.server.set_photo_version("SYNC11@contoso.com", 2);
    let rows = sync("r3.csv");
    let mut fetched: Vec<&str> = rows
        .iter()
        .filter(|r| r["status"] == "fetched")
        .map(|r| r["email"].as_str())
        .collect();
    fetched.sort();
    assert_eq!(fetched, ["sync11@contoso.com", "sync4@contoso.com"]);
    let after = identities(&photos);
    for (name, identity) in &before {
        if name == "sync4@contoso.com.jpg" || name == "sync11@contoso.com.jpg" {
            assert_ne!(&after[name], identity, "{name} rewritten");
        } else {
            assert_eq!(&after[name], identity, "{name} untouched");
        }
    }
    assert_eq!(
        std::fs::read(photos.join("sync4@contoso.com.jpg")).unwrap(),
        s.server.photo_bytes("HR96x96", 1)
    );
    assert_eq!(
        manifest(&photos)["entries"]["sync4@contoso.com"]["etag"],
        ews_standin::etag_for("sync4@contoso.com", "HR96x96", 1).trim_matches('"')
    );
}

#[test]
fn sync_refetches_when_the_name_or_format_changes() {
    let s = Setup::new();
    write_list(&s, "users.txt", &users("fmt", 3));
    let photos = s.path("photos");
    let as_png = "export users.txt --dir photos --sync --format png";
    s.ews_photo("export users.txt --dir photos --sync")
        .assert()
        .success();
    // Another format: fetched again, converted, and the old files go.
    s.ews_photo(&format!("{as_png} --report r.csv"))
        .assert()
        .success();
    let st = statuses(&csv_report(&s.path("r.csv")));
    assert!(st.values().all(|v| v == "fetched"), "{st:?}");
    assert_eq!(
        files_in(&photos),
        [
            ".ews-photo-manifest.json",
            "fmt0@contoso.com.png",
            "fmt1@contoso.com.png",
            "fmt2@contoso.com.png"
        ]
    );
    // The same again: unchanged.
    s.ews_photo(&format!("{as_png} --report r.csv"))
        .assert()
        .success();
    let st = statuses(&csv_report(&s.path("r.csv")));
    assert!(st.values().all(|v| v == "unchanged"), "{st:?}");
    // Another name: fetched again under the new name.
    s.ews_photo(&format!("{as_png} --name {{local}}.{{ext}}"))
        .assert()
        .success();
    assert_eq!(
        files_in(&photos),
        [
            ".ews-photo-manifest.json",
            "fmt0.png",
            "fmt1.png",
            "fmt2.png"
        ]
    );
}

#[test]
fn vanished_photos_are_reported_and_pruned_on_request() {
    let s = Setup::new();
    write_list(
        &s,
        "users.txt",
        &[
            "alice@contoso.com".into(),
            "nophoto-gone@contoso.com".into(),
        ],
    );
    s.ews_photo("export users.txt --dir photos")
        .assert()
        .success();
    // Pretend an earlier run fetched a photo the user has since removed.
    let photos = s.path("photos");
    std::fs::write(photos.join("nophoto-gone@contoso.com.jpg"), b"old photo").unwrap();
    let path = photos.join(".ews-photo-manifest.json");
    let mut m = manifest(&photos);
    m["entries"]["nophoto-gone@contoso.com"] = serde_json::json!({
        "email": "nophoto-gone@contoso.com",
        "file": "nophoto-gone@contoso.com.jpg",
        "size": "HR96x96",
        "etag": "0badf00d",
        "fetched": "2026-01-01T00:00:00Z"
    });
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();

    s.ews_photo("export users.txt --dir photos --sync --report a.csv")
        .assert()
        .success();
    let gone = row(&csv_report(&s.path("a.csv")), "nophoto-gone@contoso.com").clone();
    assert_eq!(gone["status"], "no-photo");
    assert!(gone["error"].contains("--prune"), "{gone:?}");
    assert!(photos.join("nophoto-gone@contoso.com.jpg").exists());

    s.ews_photo("export users.txt --dir photos --sync --prune --report b.csv")
        .assert()
        .success();
    let gone = row(&csv_report(&s.path("b.csv")), "nophoto-gone@contoso.com").clone();
    assert_eq!(gone["status"], "no-photo");
    assert!(gone["error"].contains("deleted"), "{gone:?}");
    assert!(!photos.join("nophoto-gone@contoso.com.jpg").exists());
    assert!(manifest(&photos)["entries"]["nophoto-gone@contoso.com"].is_null());
    assert!(photos.join("alice@contoso.com.jpg").exists());

    // A manifest naming a file outside --dir is not trusted: nothing is deleted.
    std::fs::write(s.path("precious.txt"), b"keep me").unwrap();
    let mut m = manifest(&photos);
    m["entries"]["nophoto-gone@contoso.com"] = serde_json::json!({
        "email": "nophoto-gone@contoso.com",
        "file": "../precious.txt",
        "size": "HR96x96",
        "etag": "0badf00d",
        "fetched": "2026-01-01T00:00:00Z"
    });
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    s.ews_photo("export users.txt --dir photos --sync --prune")
        .assert()
        .success();
    assert_eq!(std::fs::read(s.path("precious.txt")).unwrap(), b"keep me");
}

/// A hand-edited manifest entry pointing at another plain file in --dir: a
/// changed --format (the old file "goes") or --prune deletes only a file that
/// a template could have made for that address; this one is kept, and said so.
#[test]
fn an_edited_manifest_cannot_make_sync_delete_another_file_in_the_folder() {
    let s = Setup::new();
    write_list(
        &s,
        "users.txt",
        &[
            "alice@contoso.com".into(),
            "nophoto-gone@contoso.com".into(),
        ],
    );
    s.ews_photo("export users.txt --dir photos")
        .assert()
        .success();
    let photos = s.path("photos");
    for victim in ["notes.txt", "bob@contoso.com.jpg"] {
        std::fs::write(photos.join(victim), b"keep me").unwrap();
    }
    let path = photos.join(".ews-photo-manifest.json");
    let mut m = manifest(&photos);
    m["entries"]["alice@contoso.com"]["file"] = "notes.txt".into();
    m["entries"]["nophoto-gone@contoso.com"] = serde_json::json!({
        "email": "nophoto-gone@contoso.com",
        "file": "bob@contoso.com.jpg",
        "size": "HR96x96",
        "etag": "0badf00d",
        "fetched": "2026-01-01T00:00:00Z"
    });
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let run = s
        .ews_photo("export users.txt --dir photos --sync --prune --format png --report r.csv")
        .assert()
        .success()
        .stderr(contains("kept notes.txt"));
    let rows = csv_report(&s.path("r.csv"));
    assert_eq!(row(&rows, "alice@contoso.com")["status"], "fetched");
    let gone = row(&rows, "nophoto-gone@contoso.com");
    assert!(
        gone["error"].contains("kept bob@contoso.com.jpg"),
        "{gone:?}"
    );
    for victim in ["notes.txt", "bob@contoso.com.jpg"] {
        assert_eq!(
            std::fs::read(photos.join(victim)).unwrap(),
            b"keep me",
            "{victim}: {}",
            stderr(&run)
        );
    }
    assert!(photos.join("alice@contoso.com.png").exists());
}

#[test]
fn skip_existing_sends_no_request_for_files_already_there() {
    let s = Setup::new();
    write_list(
        &s,
        "users.txt",
        &["alice@contoso.com".into(), "bob@contoso.com".into()],
    );
    std::fs::create_dir(s.path("photos")).unwrap();
    std::fs::write(s.path("photos/alice@contoso.com.jpg"), b"mine").unwrap();
    s.ews_photo("export users.txt --dir photos --skip-existing --report r.csv")
        .assert()
        .success();
    let st = statuses(&csv_report(&s.path("r.csv")));
    assert_eq!(st["alice@contoso.com"], "skipped");
    assert_eq!(st["bob@contoso.com"], "fetched");
    assert_eq!(s.server.requests_for("alice@contoso.com"), 0);
    assert_eq!(
        std::fs::read(s.path("photos/alice@contoso.com.jpg")).unwrap(),
        b"mine"
    );
}

#[test]
fn wrong_password_stops_the_run_with_exit_4() {
    let s = Setup::basic();
    write_list(&s, "users.txt", &users("auth", 50));
    for auth in ["basic", "auto"] {
        let before = s.server.requests().len();
        s.ews_photo(&format!(
            "export users.txt --dir photos --jobs 4 --report r.csv --auth {auth} --allow-insecure-auth"
        ))
        .env("EWS_USER", "CONTOSO\\jdoe")
        .env("EWS_PASSWORD", "wrong")
        .assert()
        .code(4)
        .stderr(contains("401 Unauthorized"));
        let sent = s.server.requests().len() - before;
        assert!(sent <= 4, "{sent} requests after a wrong password");
        let rows = csv_report(&s.path("r.csv"));
        assert!(!rows.is_empty() && rows.len() <= 4, "{rows:?}");
        assert!(rows.iter().all(|r| r["status"] == "failed"));
        assert!(files_in(&s.path("photos")).is_empty());
    }
    // The right password: everything comes.
    s.ews_photo("export users.txt --dir photos --allow-insecure-auth")
        .env("EWS_USER", "CONTOSO\\jdoe")
        .env("EWS_PASSWORD", "S3cr3t-pw-xyz")
        .assert()
        .success();
    assert_eq!(files_in(&s.path("photos")).len(), 51);
}

#[test]
fn an_empty_list_is_fine() {
    let s = Setup::new();
    std::fs::write(s.path("users.txt"), "# nobody yet\n\n").unwrap();
    s.ews_photo("export users.txt --dir p")
        .assert()
        .success()
        .stderr(contains("no addresses"));
}

#[test]
fn too_many_jobs_is_warned_about() {
    let s = Setup::new();
    write_list(&s, "users.txt", &users("j", 2));
    s.ews_photo("export users.txt --dir p --jobs 30")
        .assert()
        .success()
        .stderr(contains("EWSMaxConcurrency"));
}

#[test]
fn interrupted_run_leaves_a_valid_report_and_manifest_and_resumes() {
    let s = Setup::with(Options {
        latency: Duration::from_millis(50),
        ..Default::default()
    });
    let list = users("int", 300);
    write_list(&s, "users.txt", &list);
    let child = spawnable_tool()
        .args([
            "export",
            "users.txt",
            "--dir",
            "photos",
            "--jobs",
            "2",
            "--report",
            "r.csv",
        ])
        .env("EWS_URL", s.server.url())
        .current_dir(s.dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until some rows are in the report, then Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = std::fs::read_to_string(s.path("r.csv"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines > 10 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child
        .wait_with_output()
        .unwrap()
        .assert()
        .code(130)
        .stderr(contains("interrupted"));

    let photos = s.path("photos");
    assert_eq!(partial_files(&photos), Vec::<String>::new());
    let rows = csv_report(&s.path("r.csv"));
    assert!(rows.len() < 300, "interrupted early: {}", rows.len());
    let done: Vec<&str> = rows.iter().map(|r| r["email"].as_str()).collect();
    // Report, files and manifest agree on what finished.
    let m = manifest(&photos);
    let entries = m["entries"].as_object().unwrap();
    assert_eq!(entries.len(), rows.len());
    for email in &done {
        assert!(entries.contains_key(*email), "{email} not in the manifest");
        assert!(photos.join(format!("{email}.jpg")).is_file());
    }
    assert_eq!(files_in(&photos).len(), rows.len() + 1);

    // A re-run with --sync finishes the rest; what was done is unchanged.
    s.ews_photo("export users.txt --dir photos --jobs 16 --sync --report r2.csv")
        .assert()
        .success();
    let rows2 = csv_report(&s.path("r2.csv"));
    let st = statuses(&rows2);
    assert_eq!(st.len(), 300);
    for email in &list {
        let expected = if done.contains(&email.as_str()) {
            "unchanged"
        } else {
            "fetched"
        };
        assert_eq!(st[email], expected, "{email}");
    }
    assert_eq!(files_in(&photos).len(), 301);
}

/// A run killed outright (no Ctrl-C, no chance to finish) leaves the journal
/// of its results beside the manifest; the next run folds it in, says so,
/// and does not fetch those photos again.
#[test]
fn a_killed_run_leaves_a_journal_that_the_next_run_folds_in() {
    let s = Setup::with(Options {
        latency: Duration::from_millis(20),
        ..Default::default()
    });
    let list = users("kill", 400);
    write_list(&s, "users.txt", &list);
    let mut child = spawnable_tool()
        .args(["export", "users.txt", "--dir", "photos", "--jobs", "2"])
        .env("EWS_URL", s.server.url())
        .current_dir(s.dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for a checkpoint to have flushed some results, then kill.
    let journal = s.path("photos/.ews-photo-manifest.journal");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines = std::fs::read_to_string(&journal)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 5 {
            break;
        }
        assert!(Instant::now() < deadline, "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // What the journal holds is what survived the kill: each line a change.
    let journaled: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["set"]["email"].as_str().unwrap().to_string())
        .collect();
    assert!(
        journaled.len() >= 5 && journaled.len() < 400,
        "{}",
        journaled.len()
    );

    let run = s
        .ews_photo("export users.txt --dir photos --jobs 8 --sync --report r.csv")
        .assert()
        .success();
    let err = stderr(&run);
    assert!(
        err.contains(&format!("{} results from its journal", journaled.len())),
        "{} journaled: {err}",
        journaled.len()
    );
    assert!(!journal.exists());
    let st = statuses(&csv_report(&s.path("r.csv")));
    assert_eq!(st.len(), 400);
    for email in &journaled {
        assert_eq!(st[email], "unchanged", "{email}");
    }
    assert_eq!(
        manifest(&s.path("photos"))["entries"]
            .as_object()
            .unwrap()
            .len(),
        400
    );
    // Once only: the next run has nothing to say.
    let again = s
        .ews_photo("export users.txt --dir photos --sync")
        .assert()
        .success();
    assert!(!stderr(&again).contains("journal"), "{}", stderr(&again));
}

/// The manifest is a file people and scripts may edit: any layout and order
/// of valid JSON is understood; a damaged file costs a full fetch with a
/// warning; a damaged entry costs that one photo.
#[test]
fn an_edited_or_damaged_manifest_is_understood_or_replaced() {
    let s = Setup::new();
    let list = users("ed", 6);
    write_list(&s, "users.txt", &list);
    let photos = s.path("photos");
    let path = photos.join(".ews-photo-manifest.json");
    s.ews_photo("export users.txt --dir photos")
        .assert()
        .success();

    // Pretty-printed, keys upper-cased and out of order: read as written.
    let mut m = manifest(&photos);
    let entries: serde_json::Map<String, serde_json::Value> = m["entries"]
        .as_object()
        .unwrap()
        .iter()
        .rev()
        .map(|(k, v)| (k.to_uppercase(), v.clone()))
        .collect();
    m["entries"] = serde_json::Value::Object(entries);
    let edited = serde_json::to_string_pretty(&m).unwrap();
    std::fs::write(&path, &edited).unwrap();
    let run = s
        .ews_photo("export users.txt --dir photos --sync --report r1.csv")
        .assert()
        .success();
    assert!(!stderr(&run).contains("manifest"), "{}", stderr(&run));
    let st = statuses(&csv_report(&s.path("r1.csv")));
    assert!(st.values().all(|v| v == "unchanged"), "{st:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);

    // One entry damaged in the usual layout (one entry a line, sorted by
    // lower-cased address): that photo only is fetched again.
    let m = manifest(&photos);
    let mut entries: Vec<(String, serde_json::Value)> = m["entries"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.clone()))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let lines: Vec<String> = entries
        .iter_mut()
        .map(|(k, v)| {
            if k == "ed1@contoso.com" {
                v.as_object_mut().unwrap().remove("file");
            }
            format!("{}:{v}", serde_json::to_string(k).unwrap())
        })
        .collect();
    let damaged = format!(
        "{{\"version\":1,\"entries\":{{\n{}\n}}}}\n",
        lines.join(",\n")
    );
    std::fs::write(&path, damaged).unwrap();
    let run = s
        .ews_photo("export users.txt --dir photos --sync --report r2.csv")
        .assert()
        .success();
    assert!(
        stderr(&run).contains("entry for ed1@contoso.com is damaged"),
        "{}",
        stderr(&run)
    );
    let st = statuses(&csv_report(&s.path("r2.csv")));
    assert_eq!(st["ed1@contoso.com"], "fetched");
    assert_eq!(st.values().filter(|v| *v == "unchanged").count(), 5);
    assert!(manifest(&photos)["entries"]["ed1@contoso.com"]["file"].is_string());

    // Not JSON at all: every photo is fetched, the manifest is rewritten.
    std::fs::write(&path, "{\"version\":1,\"entries\":{\"oops").unwrap();
    let run = s
        .ews_photo("export users.txt --dir photos --sync --report r3.csv")
        .assert()
        .success();
    assert!(stderr(&run).contains("is damaged"), "{}", stderr(&run));
    let st = statuses(&csv_report(&s.path("r3.csv")));
    assert!(st.values().all(|v| v == "fetched"), "{st:?}");
    assert_eq!(manifest(&photos)["entries"].as_object().unwrap().len(), 6);
}
