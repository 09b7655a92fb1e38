//! End-to-end tests of `ews-photo get` against the stand-in server.

use crate::common::*;
use crate::library::{Format, image_info};

const SIZES: [(&str, u32, u32); 5] = [
    ("HR48x48", 48, 48),
    ("HR96x96", 96, 96),
    ("HR240x240", 240, 240),
    ("HR648x648", 648, 648),
    ("HR1024xN", 1024, 768),
];

#[test]
fn soap_photo_at_several_sizes() {
    let s = Setup::new();
    for (size, width, height) in SIZES {
        let name = format!("{size}.jpg");
        s.ews_photo(&format!("get alice@contoso.com -s {size} -o {name}"))
            .assert()
            .success();
        let info = image_info(&s.path(&name));
        assert_eq!(
            (info.format, info.width, info.height),
            (Format::Jpeg, width, height)
        );
        assert_eq!(
            std::fs::read(s.path(&name)).unwrap(),
            s.server.photo_bytes(size, 0)
        );
    }
    let request = &s.server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.header("content-type"),
        Some("text/xml; charset=utf-8")
    );
    let body = String::from_utf8_lossy(&request.body);
    assert!(
        body.contains(r#"<t:RequestServerVersion Version="Exchange2013"/>"#),
        "{body}"
    );
    assert!(body.contains("<m:Email>alice@contoso.com</m:Email>"));
}

#[test]
fn rest_photo_at_several_sizes() {
    let s = Setup::new();
    for (size, width, height) in SIZES {
        let name = format!("rest-{size}.jpg");
        s.ews_photo(&format!(
            "get bob+tag@contoso.com --protocol rest -s {size} -o {name}"
        ))
        .assert()
        .success();
        let info = image_info(&s.path(&name));
        assert_eq!((info.width, info.height), (width, height));
    }
    let request = &s.server.requests()[0];
    assert_eq!(request.method, "GET");
    assert!(
        request.query.contains("email=bob%2Btag%40contoso.com"),
        "{}",
        request.query
    );
    assert!(!request.query.contains("fallbackToClearImage"));
    assert_eq!(request.email.as_deref(), Some("bob+tag@contoso.com"));
}

#[test]
fn default_output_name_uses_the_real_format() {
    let s = Setup::new();
    s.ews_photo("get Carol@Contoso.com").assert().success();
    s.ews_photo("get png-dave@contoso.com -s 120")
        .assert()
        .success();
    assert_eq!(
        s.files(),
        ["Carol@Contoso.com.jpg", "png-dave@contoso.com.png"]
    );
    assert_eq!(
        image_info(&s.path("png-dave@contoso.com.png")).format,
        Format::Png
    );
}

#[test]
fn content_type_mismatch_is_reported() {
    let s = Setup::new();
    s.ews_photo("get png@contoso.com -o x.png")
        .assert()
        .success()
        .stderr(contains("said image/jpeg but sent image/png"));
}

#[test]
fn server_sends_another_size_than_asked() {
    let s = Setup::new();
    let run = s
        .ews_photo("get small@contoso.com -s 648 -o s.jpg --json")
        .assert()
        .success();
    let record = json(&run);
    assert_eq!(record["width"], 96);
    assert_eq!(record["height"], 96);
}

#[test]
fn unchanged_on_both_forms_writes_nothing() {
    let s = Setup::new();
    let etag = ews_standin::etag_for("alice@contoso.com", "HR240x240", 0);
    let bare = etag.trim_matches('"');
    for protocol in ["soap", "rest"] {
        let run = s
            .ews_photo(&format!(
                "get alice@contoso.com -s 240 -o a.jpg --protocol {protocol} \
                 --if-none-match {bare} --json"
            ))
            .assert()
            .success();
        let record = json(&run);
        assert_eq!(record["status"], "unchanged");
        assert_eq!(record["etag"], bare);
        assert!(s.files().is_empty(), "{:?}", s.files());
    }
    for request in s.server.requests() {
        assert_eq!(request.header("if-none-match"), Some(etag.as_str()));
    }
    // A stale ETag fetches the photo.
    s.ews_photo(r#"get alice@contoso.com -o a.jpg --if-none-match "old""#)
        .assert()
        .success();
    assert_eq!(s.files(), ["a.jpg"]);
}

#[test]
fn no_photo_is_exit_3_on_both_forms() {
    let s = Setup::new();
    for email in [
        "nophoto@contoso.com",
        "nophotoempty@contoso.com",
        "mailboxgone@contoso.com",
        "clear@contoso.com",
    ] {
        for protocol in ["soap", "rest"] {
            s.ews_photo(&format!("get {email} -o x.jpg --protocol {protocol}"))
                .assert()
                .code(3)
                .stderr(contains("has no photo"));
        }
    }
    assert!(s.files().is_empty());
}

#[test]
fn server_failure_500_empty() {
    Setup::new()
        .ews_photo("get fail@contoso.com")
        .assert()
        .code(1)
        .stderr(contains("failed or does not know this address"));
}

#[test]
fn busy_answers_are_retried_then_succeed() {
    let s = Setup::new();
    for email in ["busyfault-2@contoso.com", "busyerror-2@contoso.com"] {
        s.ews_photo(&format!("get {email} -o b.jpg"))
            .assert()
            .success()
            .stderr(contains("server busy (ErrorServerBusy"))
            .stderr(contains("as it asked (retry 2 of 3)"));
        assert_eq!(s.server.requests_for(email), 3);
    }
    // 503 without a hint: exponential back-off.
    s.ews_photo("get busy503-1@contoso.com -o c.jpg")
        .assert()
        .success()
        .stderr(contains("server busy (HTTP 503)"));
}

#[test]
fn busy_gives_up_with_exit_5() {
    let s = Setup::new();
    s.ews_photo("get busyfault-99@contoso.com --retries 2 -o x.jpg")
        .assert()
        .code(5)
        .stderr(contains("try again later"));
    assert_eq!(s.server.requests_for("busyfault-99@contoso.com"), 3);
    s.ews_photo("get busyerror-99@contoso.com --retries 0 --protocol rest")
        .assert()
        .code(5);
    assert!(s.files().is_empty());
}

#[test]
fn unauthorized_with_several_challenges_names_them() {
    let s = Setup::with(Options {
        auth: Auth::Challenge(vec![
            "Negotiate".into(),
            "Kerberos".into(),
            "NTLM".into(),
            "Basic realm=\"mail.contoso.com\"".into(),
        ]),
        ..Default::default()
    });
    s.ews_photo("get alice@contoso.com")
        .assert()
        .code(4)
        .stderr(contains(
            "401 Unauthorized: the server offers Negotiate, Kerberos, NTLM, Basic",
        ))
        .stderr(contains("--auth basic"));
    // With Windows authentication only, the message says so.
    let s = Setup::with(Options {
        auth: Auth::Challenge(vec!["Negotiate, NTLM".into()]),
        ..Default::default()
    });
    s.ews_photo("get alice@contoso.com --protocol rest")
        .assert()
        .code(4)
        .stderr(contains("Negotiate, NTLM"));
}

#[test]
fn basic_auth_auto_and_explicit() {
    let s = Setup::basic();
    for auth in ["auto", "basic"] {
        s.ews_photo(&format!(
            "get alice@contoso.com -o a.jpg --auth {auth} --allow-insecure-auth"
        ))
        .env("EWS_USER", "CONTOSO\\jdoe")
        .env("EWS_PASSWORD", "S3cr3t-pw-xyz")
        .assert()
        .success();
    }
    // The password from a file and from stdin.
    std::fs::write(s.path("pw"), "S3cr3t-pw-xyz\n").unwrap();
    s.ews_photo(
        r"get alice@contoso.com -o b.jpg -u CONTOSO\jdoe --password-file pw --allow-insecure-auth",
    )
    .assert()
    .success();
    s.ews_photo(
        r"get alice@contoso.com -o c.jpg -u CONTOSO\jdoe --password-stdin --allow-insecure-auth",
    )
    .write_stdin("S3cr3t-pw-xyz\n")
    .assert()
    .success();
}

#[test]
fn wrong_password_is_exit_4_and_tried_once() {
    let s = Setup::basic();
    s.ews_photo(r"get alice@contoso.com --auth basic --allow-insecure-auth -u CONTOSO\jdoe")
        .env("EWS_PASSWORD", "wrong")
        .assert()
        .code(4)
        .stderr(contains("tried Basic").and(contains("rejected the user name or password")));
    // One attempt only: repeating a wrong password locks accounts.
    assert_eq!(s.server.requests().len(), 1);
}

#[test]
fn basic_over_plain_http_is_refused() {
    let s = Setup::basic();
    s.ews_photo("get alice@contoso.com --auth basic -u x")
        .env("EWS_PASSWORD", "S3cr3t-pw-xyz")
        .assert()
        .code(2)
        .stderr(contains("--allow-insecure-auth"));
    assert!(s.server.requests().is_empty(), "nothing may be sent");
}

#[test]
fn bearer_token_from_env_and_file() {
    let s = Setup::with(Options {
        auth: Auth::Bearer {
            token: "tok-abc.def".into(),
        },
        ..Default::default()
    });
    s.ews_photo("get alice@contoso.com -o a.jpg --allow-insecure-auth")
        .env("EWS_TOKEN", "tok-abc.def")
        .assert()
        .success();
    std::fs::write(s.path("token"), "tok-abc.def\n").unwrap();
    s.ews_photo(
        "get alice@contoso.com -o b.jpg --auth bearer --token-file token --allow-insecure-auth",
    )
    .assert()
    .success();
    s.ews_photo("get alice@contoso.com --auth bearer --allow-insecure-auth")
        .env("EWS_TOKEN", "expired")
        .assert()
        .code(4)
        .stderr(contains("rejected the token (invalid_token)"));
}

/// Everything a run printed, stderr then stdout.
fn all_output(run: &Assert) -> String {
    format!(
        "{}{}",
        stderr_of(run.get_output()),
        stdout_of(run.get_output())
    )
}

#[test]
fn verbose_output_never_shows_secrets() {
    let s = Setup::basic();
    let run = s
        .ews_photo(r"get alice@contoso.com -vv -o a.jpg --allow-insecure-auth -u CONTOSO\jdoe")
        .env("EWS_PASSWORD", "S3cr3t-pw-xyz")
        .assert()
        .success();
    let all = all_output(&run);
    assert!(all.contains("> Authorization: Basic <redacted>"), "{all}");
    assert!(all.contains("< HTTP 200"));
    assert!(
        all.contains("characters of base64]"),
        "picture data is shortened"
    );
    // Neither the password nor its Basic encoding.
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode("CONTOSO\\jdoe:S3cr3t-pw-xyz");
    assert!(
        !all.contains("S3cr3t-pw-xyz") && !all.contains(&encoded),
        "{all}"
    );
    // Nor a wrong one, in a failure message.
    let run = s
        .ews_photo(r"get alice@contoso.com -vv --allow-insecure-auth -u CONTOSO\jdoe --json")
        .env("EWS_PASSWORD", "Wr0ng-pw-qqq")
        .assert()
        .code(4);
    let all = all_output(&run);
    assert!(!all.contains("Wr0ng-pw-qqq"), "{all}");

    let s = Setup::with(Options {
        auth: Auth::Bearer {
            token: "tok-SECRET-123".into(),
        },
        ..Default::default()
    });
    let run = s
        .ews_photo("get alice@contoso.com -vv -o a.jpg --allow-insecure-auth")
        .env("EWS_TOKEN", "tok-SECRET-123")
        .assert()
        .success();
    let all = all_output(&run);
    assert!(all.contains("> Authorization: Bearer <redacted>"), "{all}");
    assert!(!all.contains("tok-SECRET-123"), "{all}");
}

#[test]
fn damaged_answers_leave_no_file() {
    let s = Setup::new();
    for (email, protocol, expect) in [
        ("truncated@contoso.com", "soap", "not valid base64"),
        ("truncated@contoso.com", "rest", "incomplete or damaged"),
        ("notimage@contoso.com", "soap", "not an image"),
        ("notimage@contoso.com", "rest", "not an image"),
    ] {
        s.ews_photo(&format!("get {email} -o x.jpg --protocol {protocol}"))
            .assert()
            .code(1)
            .stderr(contains(expect));
        assert!(s.files().is_empty(), "{:?}", s.files());
    }
}

#[test]
fn oversized_body_is_refused() {
    let s = Setup::new();
    for protocol in ["soap", "rest"] {
        s.ews_photo(&format!(
            "get huge@contoso.com -o x.jpg --protocol {protocol}"
        ))
        .assert()
        .code(1)
        .stderr(contains("more than 20971520 bytes"));
    }
    assert!(s.files().is_empty());
}

#[test]
fn unreachable_port_is_exit_6() {
    let dir = tempfile::tempdir().unwrap();
    tool()
        .current_dir(dir.path())
        .args(["get", "alice@contoso.com", "--url", &closed_port_url()])
        .assert()
        .code(6)
        .stderr(contains("connection refused"));
}

#[test]
fn stdout_output_carries_only_the_image() {
    let s = Setup::new();
    s.ews_photo("get alice@contoso.com -s 240 -o -")
        .assert()
        .success()
        .stdout(s.server.photo_bytes("HR240x240", 0));
    assert!(s.files().is_empty());
}

#[test]
fn no_clobber_keeps_the_existing_file() {
    let s = Setup::new();
    std::fs::write(s.path("a.jpg"), "precious").unwrap();
    let run = s
        .ews_photo("get alice@contoso.com -o a.jpg --no-clobber --json")
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(s.path("a.jpg")).unwrap(),
        "precious"
    );
    assert_eq!(json(&run)["status"], "skipped");
    assert!(s.server.requests().is_empty(), "no request for a kept file");
    // Without it, the file is replaced.
    s.ews_photo("get alice@contoso.com -o a.jpg")
        .assert()
        .success();
    assert_eq!(image_info(&s.path("a.jpg")).format, Format::Jpeg);
}

/// Without -o the name is EMAIL.EXT, the extension from the real format, so
/// any file the tool could have written there counts: no request, exit 0.
#[test]
fn no_clobber_without_output_keeps_the_default_file_and_sends_nothing() {
    let s = Setup::new();
    for existing in ["alice@contoso.com.jpg", "bob@contoso.com.png"] {
        std::fs::write(s.path(existing), "precious").unwrap();
    }
    for (email, file) in [
        ("alice@contoso.com", "alice@contoso.com.jpg"),
        ("bob@contoso.com", "bob@contoso.com.png"),
    ] {
        let run = s
            .ews_photo(&format!("get {email} -n --json"))
            .assert()
            .code(0)
            .stderr(contains("kept it (--no-clobber)"));
        assert_eq!(json(&run)["status"], "skipped");
        assert_eq!(json(&run)["path"], file);
        assert_eq!(std::fs::read_to_string(s.path(file)).unwrap(), "precious");
    }
    assert!(s.server.requests().is_empty(), "no request for a kept file");
    // With --format the name is known: another extension is not in the way.
    s.ews_photo("get alice@contoso.com -n --format png")
        .assert()
        .success();
    assert_eq!(
        image_info(&s.path("alice@contoso.com.png")).format,
        Format::Png
    );
}

#[test]
fn format_png_converts() {
    let s = Setup::new();
    s.ews_photo("get alice@contoso.com -s 120 --format png")
        .assert()
        .success();
    assert_eq!(s.files(), ["alice@contoso.com.png"]);
    let info = image_info(&s.path("alice@contoso.com.png"));
    assert_eq!(
        (info.format, info.width, info.height),
        (Format::Png, 120, 120)
    );
}

#[test]
fn json_record_has_every_field() {
    let s = Setup::new();
    let run = s
        .ews_photo("get alice@contoso.com -s HR360x360 -o a.jpg --json --protocol rest")
        .assert()
        .success();
    let text = stdout_of(run.get_output());
    assert_eq!(text.lines().count(), 1, "one record: {text}");
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["email"], "alice@contoso.com");
    assert_eq!(r["status"], "fetched");
    assert_eq!(r["path"], "a.jpg");
    assert_eq!(r["bytes"], s.server.photo_bytes("HR360x360", 0).len());
    assert_eq!(r["content_type"], "image/jpeg");
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(360), Some(360))
    );
    let etag = ews_standin::etag_for("alice@contoso.com", "HR360x360", 0);
    assert_eq!(r["etag"], etag.trim_matches('"'));
    assert!(r["expires"].as_str().unwrap().ends_with("GMT"));
    assert_eq!(r["exit_code"], 0);
    // A failure is a record too, with its exit code.
    let r = json(
        &s.ews_photo("get nophoto@contoso.com --json")
            .assert()
            .code(3),
    );
    assert_eq!(
        (r["status"].as_str(), r["exit_code"].as_i64()),
        (Some("no-photo"), Some(3))
    );
}

#[test]
fn usage_errors_are_exit_2_before_any_request() {
    let s = Setup::new();
    for line in [
        "get not-an-address",
        "get a@b@c",
        "get alice@contoso.com -s HR97x97",
        "get alice@contoso.com --server-version Exchange2010",
        "get alice@contoso.com --url ftp://x/EWS",
        "get alice@contoso.com --ca-cert missing.pem",
    ] {
        s.ews_photo(line).assert().code(2);
    }
    // Without --url, Autodiscover would run: its settings are checked first.
    tool()
        .args(["get", "alice@contoso.com", "--dns-servers", "dns.example"])
        .assert()
        .code(2)
        .stderr(contains(
            "--dns-servers: 'dns.example' is not a DNS server address",
        ));
    assert!(s.server.requests().is_empty());
}

#[test]
fn html_login_page_and_redirects() {
    let s = Setup::with(Options {
        auth: Auth::Bearer {
            token: "tok-redirect".into(),
        },
        ..Default::default()
    });
    let run = |email: &str| {
        s.ews_photo(&format!("get {email} --allow-insecure-auth --auth bearer"))
            .env("EWS_TOKEN", "tok-redirect")
            .assert()
    };
    run("html@contoso.com")
        .code(1)
        .stderr(contains("HTML page"));
    // To another host: not followed, credentials not sent there.
    run("redirect@contoso.com")
        .code(1)
        .stderr(contains("another host, http://localhost:"));
    assert_eq!(s.server.requests_for("redirect@contoso.com"), 1);
    // A loop ends.
    run("loop@contoso.com")
        .code(1)
        .stderr(contains("redirect loop"));
    assert!(s.files().is_empty());
}

#[test]
fn access_denied_is_exit_4() {
    let s = Setup::new();
    for protocol in ["soap", "rest"] {
        s.ews_photo(&format!("get denied@contoso.com --protocol {protocol}"))
            .assert()
            .code(4);
    }
}

#[test]
fn wrapped_response_shape_is_understood() {
    let s = Setup::new();
    s.ews_photo("get wrapped@contoso.com -s 64 -o w.jpg")
        .assert()
        .success();
    assert_eq!(image_info(&s.path("w.jpg")).width, 64);
}

#[test]
fn stdout_to_a_closed_pipe_exits_quietly() {
    let s = Setup::new();
    let mut child = spawnable_tool()
        .args([
            "get",
            "alice@contoso.com",
            "-s",
            "648",
            "-o",
            "-",
            "--url",
            &s.server.url(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child
        .wait_with_output()
        .unwrap()
        .assert()
        .success()
        .stderr(contains("panicked").not());
}

#[cfg(unix)]
#[test]
fn photos_get_the_usual_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let binary = assert_cmd::cargo::cargo_bin("ews-photo");
    let status = clean_environment(&mut std::process::Command::new("sh"))
        .arg("-c")
        .arg(format!(
            "umask 022; '{}' get alice@contoso.com -q -o a.jpg --url '{}'",
            binary.display(),
            s.server.url()
        ))
        .current_dir(s.dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let mode = std::fs::metadata(s.path("a.jpg"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o644, "{mode:o}");
}
