//! `--backend graph` end to end against the Graph stand-in: the same `get`
//! and `export`, files, records, reports, manifests, `--sync` and exit codes
//! as over EWS; and the EWS refusal that points here.

use crate::common::*;
use crate::library::image_info;
use ews_standin::{Entra, EntraOptions};

fn write_list(s: &GraphSetup, name: &str, addresses: &[&str]) {
    std::fs::write(s.path(name), addresses.join("\n") + "\n").unwrap();
}

fn photo_ops(s: &GraphSetup) -> Vec<Op> {
    s.server
        .ops()
        .into_iter()
        .filter(|op| op.kind == OpKind::Photo)
        .collect()
}

#[test]
fn every_size_from_its_own_url_with_the_real_dimensions_reported() {
    let s = GraphSetup::new();
    let sizes = [
        ("HR48x48", "/photos/48x48/$value", 48, 48),
        ("HR64x64", "/photos/64x64/$value", 64, 64),
        ("HR96x96", "/photos/96x96/$value", 96, 96),
        ("HR120x120", "/photos/120x120/$value", 120, 120),
        ("HR240x240", "/photos/240x240/$value", 240, 240),
        ("HR360x360", "/photos/360x360/$value", 360, 360),
        ("HR432x432", "/photos/432x432/$value", 432, 432),
        ("HR504x504", "/photos/504x504/$value", 504, 504),
        ("HR648x648", "/photos/648x648/$value", 648, 648),
        // Graph has no such sizes: the largest stored, as it really is.
        ("HR1024xN", "/photo/$value", 1024, 768),
        ("HR1920xN", "/photo/$value", 1024, 768),
    ];
    for (size, path, width, height) in sizes {
        let file = format!("{size}.jpg");
        let run = s
            .ews_photo(&format!("get alice@contoso.com -s {size} -o {file} --json"))
            .assert()
            .success();
        let record = json(&run);
        assert_eq!(record["status"], "fetched", "{size}");
        assert_eq!(
            (record["width"].as_u64(), record["height"].as_u64()),
            (Some(width), Some(height)),
            "{size}"
        );
        let info = image_info(&s.path(&file));
        assert_eq!(
            (info.width, info.height),
            (width as u32, height as u32),
            "{size}"
        );
        let last = s.server.requests().pop().unwrap();
        assert_eq!(
            last.path,
            format!("/v1.0/users/alice@contoso.com{path}"),
            "{size}"
        );
        assert!(
            last.header("client-request-id")
                .is_some_and(|id| id.len() == 36)
        );
    }
    assert_eq!(
        std::fs::read(s.path("HR240x240.jpg")).unwrap(),
        s.server.photo_bytes(Some("240x240"), 0)
    );
    // The tag Graph sent is the record's ETag, as over EWS.
    let run = s
        .ews_photo("get alice@contoso.com -o a.jpg --json")
        .assert()
        .success();
    assert_eq!(
        json(&run)["etag"].as_str().map(|e| format!("\"{e}\"")),
        Some(s.server.media_etag("alice@contoso.com"))
    );
}

#[test]
fn a_user_by_upn_by_proxy_address_and_by_mail() {
    let s = GraphSetup::new();
    s.ews_photo("get bob@contoso.com -o by-upn.jpg")
        .assert()
        .success();
    assert_eq!(s.server.requests().len(), 1, "a UPN needs no look-up");
    for (address, name) in [
        ("alias-bob@contoso.com", "by-proxy.jpg"),
        ("mail-bob@contoso.com", "by-mail.jpg"),
    ] {
        let before = s.server.requests().len();
        s.ews_photo(&format!("get {address} -o {name}"))
            .assert()
            .success();
        assert_eq!(
            std::fs::read(s.path(name)).unwrap(),
            std::fs::read(s.path("by-upn.jpg")).unwrap()
        );
        let requests = &s.server.requests()[before..];
        // By address (not found), the look-up, then by the user's id.
        assert_eq!(requests.len(), 3, "{requests:#?}");
        assert!(
            requests[0]
                .path
                .ends_with(&format!("/users/{address}/photos/96x96/$value"))
        );
        assert_eq!(requests[1].path, "/v1.0/users");
        assert!(
            requests[1].query.contains("$count=true"),
            "{}",
            requests[1].query
        );
        assert_eq!(requests[1].header("consistencylevel"), Some("eventual"));
        assert!(
            !requests[2].path.contains('@'),
            "by id: {}",
            requests[2].path
        );
        assert!(requests[2].path.ends_with("/photos/96x96/$value"));
    }
}

#[test]
fn no_photo_no_mailbox_and_unknown_users_are_exit_3_with_the_reason() {
    let s = GraphSetup::new();
    for (address, reason) in [
        ("nophoto1@contoso.com", "ImageNotFound"),
        ("oldnophoto@contoso.com", "ErrorItemNotFound"),
        ("placeholder@contoso.com", "placeholder"),
        ("nomailbox@contoso.com", "no mailbox"),
        (
            "unknown7@contoso.com",
            "no user in the directory has this address",
        ),
    ] {
        let run = s
            .ews_photo(&format!("get {address} -o x.jpg --json"))
            .assert()
            .code(3)
            .stderr(contains(address).and(contains(reason)));
        let record = json(&run);
        assert_eq!(record["status"], "no-photo", "{address}");
        assert_eq!(record["exit_code"], 3, "{address}");
        assert!(
            record["error"].as_str().unwrap().contains(reason),
            "{address}: {record}"
        );
    }
    assert_eq!(s.files(), Vec::<String>::new());
    // The sized photo and then the largest: both missing.
    let ops = s.ops_for("nophoto1@contoso.com");
    assert_eq!(
        ops.iter().map(|o| o.path.as_str()).collect::<Vec<_>>(),
        [
            "/users/nophoto1@contoso.com/photos/96x96/$value",
            "/users/nophoto1@contoso.com/photo/$value"
        ]
    );
}

#[test]
fn a_missing_size_gives_the_largest_stored_and_its_real_size() {
    let s = GraphSetup::new();
    for address in ["small1@contoso.com", "textplain1@contoso.com"] {
        let run = s
            .ews_photo(&format!("get {address} -s 240 -o {address}.jpg --json"))
            .assert()
            .success();
        let record = json(&run);
        let (width, height) = if address.starts_with("small") {
            (96, 96)
        } else {
            (1024, 768)
        };
        assert_eq!(
            (record["width"].as_u64(), record["height"].as_u64()),
            (Some(width), Some(height))
        );
        let paths: Vec<String> = s.ops_for(address).into_iter().map(|o| o.path).collect();
        assert_eq!(
            paths,
            [
                format!("/users/{address}/photos/240x240/$value"),
                format!("/users/{address}/photo/$value")
            ]
        );
    }
}

#[test]
fn odd_user_names_are_encoded_as_graph_needs() {
    let s = GraphSetup::new();
    for (address, wire) in [
        (
            "$admin@contoso.com",
            "/v1.0/users('$admin@contoso.com')/photos/96x96/$value",
        ),
        (
            "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "/v1.0/users/bob_fabrikam.com%23EXT%23@contoso.onmicrosoft.com/photos/96x96/$value",
        ),
        (
            "o'neil+x@contoso.com",
            "/v1.0/users/o%27neil%2Bx@contoso.com/photos/96x96/$value",
        ),
        (
            "$o'neil@contoso.com",
            "/v1.0/users('$o%27%27neil@contoso.com')/photos/96x96/$value",
        ),
    ] {
        s.ews_photo(&format!("get {address} -o x.jpg"))
            .assert()
            .success();
        assert_eq!(s.server.requests().pop().unwrap().path, wire);
        assert_eq!(
            s.ops_for(address).len(),
            1,
            "{address}: the stand-in read the name back"
        );
    }
    // An apostrophe in the look-up filter is doubled, as OData escapes it.
    s.ews_photo("get alias-o'hara@contoso.com -o y.jpg")
        .assert()
        .success();
    let lookup = s
        .server
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1.0/users")
        .unwrap();
    assert!(
        lookup
            .query
            .contains("%27alias-o%27%27hara%40contoso.com%27"),
        "{}",
        lookup.query
    );
}

#[test]
fn a_body_that_is_not_an_image_is_never_written() {
    let s = GraphSetup::new();
    s.ews_photo("get notimage@contoso.com -o n.jpg")
        .assert()
        .code(1)
        .stderr(
            contains("text/html")
                .and(contains("not an image"))
                .and(contains("request-id")),
        );
    assert_eq!(s.files(), Vec::<String>::new());
}

#[test]
fn throttling_of_a_single_request_waits_as_asked() {
    let s = GraphSetup::new();
    s.ews_photo("get throttle-1@contoso.com -o t.jpg")
        .assert()
        .success()
        .stderr(
            contains("HTTP 429 TooManyRequests")
                .and(contains("waiting 1s as it asked (retry 1 of 3)")),
        );
    assert!(s.path("t.jpg").is_file());
    for address in ["busy503-1@contoso.com", "busy504-1@contoso.com"] {
        s.ews_photo(&format!("get {address} -o b.jpg"))
            .assert()
            .success()
            .stderr(contains("as it asked"));
    }
    // Retries run out: exit 5, with the request IDs.
    s.ews_photo("get throttle-9@contoso.com -o u.jpg --retries 1")
        .assert()
        .code(5)
        .stderr(contains("busy").and(contains("request-id")));
    assert!(!s.path("u.jpg").exists());
}

#[test]
fn throttled_parts_and_batches_are_retried_alone_through_the_shared_gate() {
    let s = GraphSetup::new();
    write_list(
        &s,
        "users.txt",
        &[
            "a1@contoso.com",
            "throttle-1@contoso.com",
            "a2@contoso.com",
            "throttle-2@contoso.com",
            "a3@contoso.com",
        ],
    );
    s.ews_photo("export users.txt --dir p --report r.csv --jobs 1")
        .assert()
        .success()
        .stderr(contains("waiting 1s as it asked"));
    let rows = csv_report(&s.path("r.csv"));
    assert!(rows.iter().all(|r| r["status"] == "fetched"), "{rows:?}");
    // Only the throttled parts were sent again.
    for (address, sent) in [
        ("a1@contoso.com", 1),
        ("throttle-1@contoso.com", 2),
        ("throttle-2@contoso.com", 3),
    ] {
        assert_eq!(s.ops_for(address).len(), sent, "{address}");
    }
    // The run's first request carries one photo; the rest went in batches,
    // but for the last retry, alone.
    assert!(
        s.server.ops().iter().all(|op| op.in_batch
            || op.user == "a1@contoso.com"
            || op.user.starts_with("throttle-2")),
        "{:#?}",
        s.server.ops()
    );
    // A whole batch refused with 429 is sent again, once the gate opens.
    let s = GraphSetup::new();
    s.server.throttle_batches(1);
    write_list(
        &s,
        "users.txt",
        &["b1@contoso.com", "b2@contoso.com", "b3@contoso.com"],
    );
    s.ews_photo("export users.txt --dir p --jobs 1")
        .assert()
        .success()
        .stderr(contains("HTTP 429").and(contains("as it asked")));
    // b1 alone, then the batch of b2 and b3, twice.
    assert_eq!(s.server.requests().len(), 3);
    assert_eq!(s.server.throttled(), 1);
    assert_eq!(photo_ops(&s).len(), 3);
}

#[test]
fn a_batch_with_mixed_statuses_gives_each_address_its_row() {
    let s = GraphSetup::new();
    let list = [
        "alice@contoso.com",
        "nophoto1@contoso.com",
        "nomailbox@contoso.com",
        "unknown1@contoso.com",
        "alias-carol@contoso.com",
        "b64url-dave@contoso.com",
        "small-erin@contoso.com",
        "notimage@contoso.com",
        "placeholder@contoso.com",
        "dup-team@contoso.com",
    ];
    write_list(&s, "users.txt", &list);
    s.ews_photo("export users.txt --dir p --report r.csv -s 240 --jobs 1")
        .assert()
        .code(1)
        .stderr(contains("2 of 10 addresses failed"));
    let rows = csv_report(&s.path("r.csv"));
    let expect = [
        ("alice@contoso.com", "fetched"),
        ("nophoto1@contoso.com", "no-photo"),
        ("nomailbox@contoso.com", "no-photo"),
        ("unknown1@contoso.com", "no-photo"),
        ("alias-carol@contoso.com", "fetched"),
        ("b64url-dave@contoso.com", "fetched"),
        ("small-erin@contoso.com", "fetched"),
        ("notimage@contoso.com", "failed"),
        ("placeholder@contoso.com", "no-photo"),
        ("dup-team@contoso.com", "failed"),
    ];
    for (email, status) in expect {
        assert_eq!(
            row(&rows, email)["status"],
            status,
            "{email}: {:?}",
            row(&rows, email)
        );
    }
    assert!(row(&rows, "dup-team@contoso.com")["error"].contains("more than one user"));
    assert_eq!(row(&rows, "small-erin@contoso.com")["width"], "96");
    assert_eq!(
        std::fs::read(s.path("p/b64url-dave@contoso.com.jpg")).unwrap(),
        s.server.photo_bytes(Some("240x240"), 0),
        "a base64url body decodes to the same bytes"
    );
    // The run's first request carries one photo; the other nine go in one
    // batch; the next round carries what needed another request (the
    // look-ups, the largest photos), and so on; a round of one goes as a
    // plain request.
    let requests = s.server.requests();
    assert_eq!(requests[1].path, "/v1.0/$batch");
    let batch: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(
        batch["requests"].as_array().unwrap().len(),
        9,
        "{:#?}",
        requests
            .iter()
            .map(|r| (
                r.path.clone(),
                String::from_utf8_lossy(&r.body).into_owned()
            ))
            .collect::<Vec<_>>()
    );
    assert!(requests.len() <= 5, "{requests:#?}");
    let files = crate::common::files_in(&s.path("p"));
    assert_eq!(files.len(), 5, "{files:?}");
}

#[test]
fn batching_off_is_one_request_per_photo() {
    let s = GraphSetup::new();
    let list: Vec<String> = (0..25).map(|i| format!("u{i}@contoso.com")).collect();
    let list: Vec<&str> = list.iter().map(String::as_str).collect();
    write_list(&s, "users.txt", &list);
    s.ews_photo("export users.txt --dir one --batch 1 --jobs 2")
        .assert()
        .success();
    assert_eq!(s.server.requests().len(), 25);
    assert!(s.server.ops().iter().all(|op| !op.in_batch));
    s.ews_photo("export users.txt --dir many --jobs 1")
        .assert()
        .success();
    // The run's first photo alone, then 20, then 4.
    assert_eq!(s.server.requests().len(), 28);
    assert_eq!(
        crate::common::files_in(&s.path("many")).len(),
        26,
        "25 photos and the manifest"
    );
}

#[test]
fn a_rejected_token_is_exit_4_with_graph_s_reason_and_the_ids() {
    let s = GraphSetup::new();
    s.ews_photo("get alice@contoso.com -o a.jpg")
        .env("EWS_TOKEN", "not-the-token")
        .assert()
        .code(4)
        .stderr(
            contains("401 Unauthorized")
                .and(contains("InvalidAuthenticationToken"))
                .and(contains("Invalid audience"))
                .and(contains(format!(
                    "Graph wants a token for {}",
                    s.server.url()
                )))
                .and(contains("request-id")),
        );
    // The same in an export: the run stops at once.
    write_list(&s, "users.txt", &["a@contoso.com", "b@contoso.com"]);
    s.ews_photo("export users.txt --dir p")
        .env("EWS_TOKEN", "not-the-token")
        .assert()
        .code(4)
        .stderr(contains("InvalidAuthenticationToken"));
    assert!(!s.path("p/a@contoso.com.jpg").exists());
    // No token at all, --auth auto: what to give.
    s.ews_photo("get alice@contoso.com -o a.jpg")
        .env_remove("EWS_TOKEN")
        .env("EWS_AUTH", "auto")
        .assert()
        .code(4)
        .stderr(contains("give a token"));
    // Passwords and Kerberos tickets are no use to Graph: refused before any request.
    let before = s.server.requests().len();
    for scheme in ["basic", "ntlm", "kerberos"] {
        s.ews_photo(&format!(
            "get alice@contoso.com -o a.jpg --auth {scheme} -u jdoe"
        ))
        .env("EWS_PASSWORD", "pw")
        .assert()
        .code(2)
        .stderr(contains("OAuth 2 tokens only"));
    }
    assert_eq!(s.server.requests().len(), before);
}

#[test]
fn graph_needs_no_ews_url_and_never_runs_autodiscover() {
    let s = GraphSetup::new();
    let cache = tempfile::tempdir().unwrap();
    write_list(&s, "users.txt", &["alice@contoso.com", "bob@contoso.com"]);
    // No --url: Autodiscover would look contoso.com up (and fail here, with
    // no network); an EWS URL in the environment is not Graph's either.
    for ews_url in [None, Some("http://127.0.0.1:1/EWS/Exchange.asmx")] {
        for line in [
            "get alice@contoso.com -o a.jpg -v",
            "export users.txt --dir p -v",
        ] {
            let mut cmd = s.ews_photo(line);
            cmd.env("XDG_CACHE_HOME", cache.path());
            if let Some(url) = ews_url {
                cmd.env("EWS_URL", url);
            }
            let out = cmd.assert().success().get_output().stderr.clone();
            let stderr = String::from_utf8_lossy(&out);
            assert!(!stderr.to_lowercase().contains("autodiscover"), "{stderr}");
            assert!(!stderr.contains("127.0.0.1:1"), "{stderr}");
        }
    }
    assert!(s.path("a.jpg").is_file());
    assert!(s.path("p/bob@contoso.com.jpg").is_file());
    assert!(files_in(cache.path()).is_empty(), "nothing cached");
    // `discover` is EWS's and still works with EWS_BACKEND=graph set: it
    // needs its own answer (here: a malformed address, before any lookup).
    s.ews_photo("discover not-an-address")
        .env("XDG_CACHE_HOME", cache.path())
        .assert()
        .code(2);
}

#[test]
fn a_403_names_the_missing_permission_and_consent() {
    let s = GraphSetup::new();
    s.ews_photo("get denied@contoso.com -o d.jpg")
        .assert()
        .code(4)
        .stderr(
            contains("ErrorAccessDenied")
                .and(contains("ProfilePhoto.Read.All"))
                .and(contains("admin consent"))
                .and(contains("request-id")),
        );
    // The directory look-up needs a directory permission.
    let s = GraphSetup::with(GraphOptions {
        directory: false,
        ..Default::default()
    });
    s.ews_photo("get alias-bob@contoso.com -o b.jpg")
        .assert()
        .code(4)
        .stderr(
            contains("Authorization_RequestDenied")
                .and(contains("User.Read.All"))
                .and(contains("UPN")),
        );
    // By UPN, the photo permission is enough.
    s.ews_photo("get bob@contoso.com -o b.jpg")
        .assert()
        .success();
}

#[test]
fn sync_with_nothing_changed_downloads_and_writes_nothing() {
    let s = GraphSetup::new();
    let list: Vec<String> = (0..30)
        .map(|i| format!("user{i}@contoso.com"))
        .chain(["nophoto1@contoso.com".into()])
        .collect();
    let list: Vec<&str> = list.iter().map(String::as_str).collect();
    write_list(&s, "users.txt", &list);
    s.ews_photo("export users.txt --dir p --sync")
        .assert()
        .success();
    let entry = &manifest(&s.path("p"))["entries"]["user3@contoso.com"];
    assert_eq!(entry["backend"], "graph");
    assert_eq!(
        entry["etag"].as_str().map(|e| format!("\"{e}\"")),
        Some(s.server.media_etag("user3@contoso.com"))
    );
    let before = identities(&s.path("p"));
    let downloads = |s: &GraphSetup| {
        photo_ops(s)
            .into_iter()
            .filter(|o| o.user != "nophoto1@contoso.com")
            .count()
    };
    let photos_before = downloads(&s);
    let requests_before = s.server.requests().len();
    s.ews_photo("export users.txt --dir p --sync --report r.csv --jobs 2")
        .assert()
        .success();
    let rows = csv_report(&s.path("r.csv"));
    assert!(
        rows.iter()
            .filter(|r| r["email"] != "nophoto1@contoso.com")
            .all(|r| r["status"] == "unchanged"),
        "{rows:?}"
    );
    assert_eq!(downloads(&s), photos_before, "no photo downloaded");
    assert_eq!(identities(&s.path("p")), before, "no file written");
    // The 30 metadata checks went in batches of up to 20 (two workers); the
    // address without a photo, which has no tag to compare, asks for it.
    let requests = s.server.requests().len() - requests_before;
    assert!(requests <= 6, "{requests} requests");
    let metadata: Vec<Op> = s
        .server
        .ops()
        .into_iter()
        .filter(|o| o.kind == OpKind::Metadata)
        .collect();
    assert_eq!(metadata.len(), 30);
    // All but the run's first, which goes alone.
    assert_eq!(metadata.iter().filter(|o| o.in_batch).count(), 29);
}

#[test]
fn sync_downloads_only_the_photo_that_changed() {
    let s = GraphSetup::new();
    write_list(
        &s,
        "users.txt",
        &["ann@contoso.com", "ben@contoso.com", "cat@contoso.com"],
    );
    s.ews_photo("export users.txt --dir p").assert().success();
    let before = identities(&s.path("p"));
    s.server.set_photo_version("ben@contoso.com", 1);
    s.ews_photo("export users.txt --dir p --sync --report r.csv")
        .assert()
        .success();
    let rows = csv_report(&s.path("r.csv"));
    assert_eq!(row(&rows, "ben@contoso.com")["status"], "fetched");
    assert_eq!(row(&rows, "ann@contoso.com")["status"], "unchanged");
    assert_eq!(row(&rows, "cat@contoso.com")["status"], "unchanged");
    let after = identities(&s.path("p"));
    assert_eq!(after["ann@contoso.com.jpg"], before["ann@contoso.com.jpg"]);
    assert_ne!(after["ben@contoso.com.jpg"], before["ben@contoso.com.jpg"]);
    assert_eq!(
        std::fs::read(s.path("p/ben@contoso.com.jpg")).unwrap(),
        s.server.photo_bytes(Some("96x96"), 1)
    );
    let downloads: Vec<String> = photo_ops(&s).into_iter().map(|o| o.user).collect();
    assert_eq!(
        downloads.iter().filter(|u| *u == "ben@contoso.com").count(),
        2
    );
    assert_eq!(
        downloads.iter().filter(|u| *u == "ann@contoso.com").count(),
        1
    );
    assert_eq!(
        manifest(&s.path("p"))["entries"]["ben@contoso.com"]["etag"]
            .as_str()
            .map(|e| format!("\"{e}\"")),
        Some(s.server.media_etag("ben@contoso.com"))
    );
    // get --if-none-match compares the same way.
    let tag = row(&rows, "ann@contoso.com")["etag"].clone();
    s.ews_photo(&format!(
        "get ann@contoso.com --if-none-match {tag} -o ann.jpg"
    ))
    .assert()
    .success()
    .stderr(contains("unchanged"));
    assert!(!s.path("ann.jpg").exists());
}

#[test]
fn a_manifest_written_over_ews_is_not_trusted_by_graph() {
    let ews = Setup::new();
    let graph = GraphSetup::new();
    std::fs::write(
        graph.path("users.txt"),
        "alice@contoso.com\nbob@contoso.com\n",
    )
    .unwrap();
    ews.cmd()
        .current_dir(graph.dir.path())
        .args(["export", "users.txt", "--dir", "p"])
        .assert()
        .success();
    assert!(
        manifest(&graph.path("p"))["entries"]["alice@contoso.com"]
            .get("backend")
            .is_none()
    );
    graph
        .ews_photo("export users.txt --dir p --sync --report r.csv")
        .assert()
        .success()
        .stderr(
            contains("written by the ews back end")
                .and(contains("downloaded and written again, once")),
        );
    let rows = csv_report(&graph.path("r.csv"));
    assert!(rows.iter().all(|r| r["status"] == "fetched"), "{rows:?}");
    // No metadata check with an EWS ETag: straight to the photos.
    assert!(graph.server.ops().iter().all(|o| o.kind == OpKind::Photo));
    assert_eq!(
        manifest(&graph.path("p"))["entries"]["bob@contoso.com"]["backend"],
        "graph"
    );
    // From now on Graph's own tags are used.
    graph
        .ews_photo("export users.txt --dir p --sync --report r2.csv")
        .assert()
        .success()
        .stderr(contains("written by the").not());
    assert!(
        csv_report(&graph.path("r2.csv"))
            .iter()
            .all(|r| r["status"] == "unchanged")
    );
    // And back: EWS does not send Graph's tags as If-None-Match.
    ews.cmd()
        .current_dir(graph.dir.path())
        .args(["export", "users.txt", "--dir", "p", "--sync"])
        .assert()
        .success()
        .stderr(contains("written by the graph back end"));
    assert!(
        ews.server
            .requests()
            .iter()
            .all(|r| r.header("if-none-match").is_none())
    );
}

#[test]
fn no_token_in_any_output_at_vv() {
    let s = GraphSetup::new();
    write_list(
        &s,
        "users.txt",
        &[
            "alice@contoso.com",
            "nophoto1@contoso.com",
            "throttle-1@contoso.com",
            "alias-bob@contoso.com",
        ],
    );
    let runs = [
        s.ews_photo("get alice@contoso.com -o a.jpg -vv --json")
            .output()
            .unwrap(),
        s.ews_photo("export users.txt --dir p -vv")
            .output()
            .unwrap(),
        s.ews_photo("export users.txt --dir p -vv --sync --batch 1")
            .output()
            .unwrap(),
        s.ews_photo("get denied@contoso.com -o d.jpg -vv")
            .output()
            .unwrap(),
        s.ews_photo("get alice@contoso.com -o a.jpg -vv")
            .env("EWS_TOKEN", "wrong-token-4711")
            .output()
            .unwrap(),
    ];
    for (n, out) in runs.iter().enumerate() {
        let all = format!("{}{}", stdout_of(out), stderr_of(out));
        assert!(
            !all.contains(GRAPH_TOKEN),
            "run {n} shows the token:\n{all}"
        );
        assert!(
            !all.contains("wrong-token-4711"),
            "run {n} shows the token:\n{all}"
        );
        assert!(
            all.contains("> Authorization: Bearer <redacted>"),
            "run {n}:\n{all}"
        );
        assert!(all.contains("< request-id: "), "run {n}: request IDs at -v");
    }
    // The photos in a batch answer are shown by their size, not as base64.
    let export = stderr_of(&runs[1]);
    assert!(export.contains("characters of base64]"), "{export}");
}

#[test]
fn an_ews_refusal_by_policy_says_which_and_points_to_graph() {
    let s = Setup::new();
    for (address, which) in [
        (
            "ewsdisabled@contoso.com",
            "EWS is disabled for this user or tenant",
        ),
        (
            "ewsblocked@contoso.com",
            "EWS is blocked by policy for this user or tenant",
        ),
    ] {
        for protocol in ["soap", "rest"] {
            s.ews_photo(&format!("get {address} -o x.jpg --protocol {protocol}"))
                .assert()
                .code(4)
                .stderr(
                    contains(which)
                        .and(contains("24 hours"))
                        .and(contains("--backend graph")),
                );
        }
    }
}

/// `--auth oauth` against the Entra stand-in, with the Graph stand-in
/// accepting only its tokens for Graph's own URL: the default scope is
/// Graph's (an app's `/.default`, a user's ProfilePhoto.Read.All), an app
/// needs no `--impersonate`, no `X-AnchorMailbox` goes to Graph (over EWS, a
/// user's sign-in sends one), and a token for Exchange is refused with what
/// Graph wants.
#[test]
fn oauth_signs_in_for_graph_and_sends_no_anchor_mailbox() {
    let entra = Entra::start(EntraOptions::default()).unwrap();
    let s = GraphSetup {
        server: GraphStandIn::start(GraphOptions::default()).unwrap(),
        dir: tempfile::tempdir().unwrap(),
    };
    let graph = s.server.url();
    s.server.check_tokens(entra.token_check(&graph));
    let sign_in = |client: &str, line: &str| {
        let mut cmd = s.ews_photo(line);
        cmd.env_remove("EWS_TOKEN")
            .env("EWS_CLIENT_SECRET", EntraOptions::default().secret)
            .args(["--auth", "oauth", "--authority", &entra.authority()])
            .args(["--tenant", "contoso.onmicrosoft.com", "--client-id", client])
            .arg("--no-token-cache");
        cmd
    };
    write_list(
        &s,
        "users.txt",
        &["a@contoso.com", "b@contoso.com", "c@contoso.com"],
    );
    sign_in("app-1", "export users.txt --dir p")
        .assert()
        .success();
    assert_eq!(
        files_in(&s.path("p")).len(),
        4,
        "three photos and the manifest"
    );
    sign_in("user-1", "get alice@contoso.com -o a.jpg --device-code")
        .assert()
        .success();
    assert!(s.path("a.jpg").is_file());
    let scopes: Vec<String> = entra
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/oauth2/v2.0/token") || r.path.ends_with("/devicecode"))
        .filter_map(|r| {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            body.split('&')
                .find_map(|kv| kv.strip_prefix("scope=").map(str::to_string))
        })
        .collect();
    let encoded = graph.replace(':', "%3A").replace('/', "%2F");
    assert!(
        scopes.contains(&format!("{encoded}%2F.default")),
        "{scopes:?}"
    );
    assert!(
        scopes
            .iter()
            .any(|s| s.starts_with(&format!("{encoded}%2FProfilePhoto.Read.All"))),
        "{scopes:?}"
    );
    let requests = s.server.requests();
    assert!(requests.len() >= 2);
    assert!(
        requests
            .iter()
            .all(|r| r.header("x-anchormailbox").is_none()),
        "an X-AnchorMailbox went to Graph"
    );
    // A token for Exchange Online, not for Graph: refused, and said why.
    sign_in("app-1", "get alice@contoso.com -o e.jpg")
        .args(["--scope", "https://outlook.office365.com/.default"])
        .assert()
        .code(4)
        .stderr(contains(format!("Graph wants a token for {graph}")).and(contains("--scope")));
}
