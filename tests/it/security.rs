//! Credentials never travel in clear without `--allow-insecure-auth`, however
//! the scheme of the URL is spelled (`HTTP://` once slipped through), for
//! every kind of credential, chosen explicitly or from the server's challenge.
//! The plain-http stand-in records every request it receives.

use crate::common::{Auth, Options, PredicateBooleanExt, Setup, contains};

const SPELLINGS: [&str; 4] = ["http", "HTTP", "Http", "hTtP"];
const PASSWORD: &str = "S3cr3t-pw-xyz";
const TOKEN: &str = "tok-0123456789";

/// Runs `get` against `server_auth` with the URL's scheme spelled `scheme`
/// and `args`; asserts the refusal and that no credential reached the server.
fn refused(server_auth: Auth, scheme: &str, args: &[&str]) {
    let s = Setup::with(Options {
        auth: server_auth,
        ..Default::default()
    });
    let url = s.server.url().replacen("http", scheme, 1);
    s.cmd()
        .env("EWS_URL", &url)
        .env("EWS_PASSWORD", PASSWORD)
        .env("EWS_TOKEN", TOKEN)
        .args([
            "get",
            "alice@contoso.com",
            "-u",
            "CONTOSO\\jdoe",
            "-o",
            "a.jpg",
        ])
        .args(args)
        .assert()
        .code(2)
        .stderr(contains("over plain http://"));
    for request in s.server.requests() {
        assert_eq!(
            request.header("authorization"),
            None,
            "{url} {args:?}: credentials reached the plain-http listener"
        );
    }
    assert!(s.files().is_empty(), "{:?}", s.files());
}

#[test]
fn basic_is_refused_over_plain_http_however_spelled() {
    let basic = || Auth::Basic {
        user: "CONTOSO\\jdoe".into(),
        password: PASSWORD.into(),
    };
    for scheme in SPELLINGS {
        refused(basic(), scheme, &["--auth", "basic"]);
        refused(basic(), scheme, &["--auth", "auto"]);
    }
}

#[test]
fn bearer_is_refused_over_plain_http_however_spelled() {
    let bearer = || Auth::Bearer {
        token: TOKEN.into(),
    };
    for scheme in SPELLINGS {
        refused(bearer(), scheme, &["--auth", "bearer"]);
        // auto with only a token: Bearer is the choice, and it is refused.
        let s = Setup::with(Options {
            auth: bearer(),
            ..Default::default()
        });
        let url = s.server.url().replacen("http", scheme, 1);
        s.cmd()
            .env("EWS_URL", &url)
            .env("EWS_TOKEN", TOKEN)
            .args(["get", "alice@contoso.com", "-o", "a.jpg"])
            .assert()
            .code(2)
            .stderr(contains("over plain http://"));
        assert!(
            s.server
                .requests()
                .iter()
                .all(|r| r.header("authorization").is_none())
        );
    }
}

#[test]
fn ntlm_is_refused_over_plain_http_however_spelled() {
    let windows = || Auth::Challenge(vec!["Negotiate, NTLM".into()]);
    for scheme in SPELLINGS {
        refused(windows(), scheme, &["--auth", "ntlm"]);
        refused(windows(), scheme, &["--auth", "auto"]);
    }
}

#[test]
fn allow_insecure_auth_lets_basic_through_on_any_spelling() {
    for scheme in SPELLINGS {
        let s = Setup::basic();
        let url = s.server.url().replacen("http", scheme, 1);
        s.cmd()
            .env("EWS_URL", &url)
            .env("EWS_PASSWORD", PASSWORD)
            .args([
                "get",
                "alice@contoso.com",
                "-u",
                "CONTOSO\\jdoe",
                "-o",
                "a.jpg",
            ])
            .arg("--allow-insecure-auth")
            .assert()
            .success();
    }
}

#[test]
fn a_url_with_credentials_in_it_is_refused_without_echoing_them() {
    let s = Setup::new();
    let url = s
        .server
        .url()
        .replacen("http://", "http://jdoe:Pa55word@", 1);
    s.cmd()
        .env("EWS_URL", &url)
        .args(["get", "alice@contoso.com", "-o", "a.jpg"])
        .assert()
        .code(2)
        .stderr(contains("--user"))
        .stderr(contains("Pa55word").not());
    assert!(s.server.requests().is_empty());
}

/// A password in another encoding would be sent mangled: a wrong password,
/// counted towards the account's lockout. It is refused before any request.
#[cfg(unix)]
#[test]
fn a_password_that_is_not_utf8_is_refused_before_any_request() {
    use std::os::unix::ffi::OsStrExt;
    let s = Setup::basic();
    s.cmd()
        .env("EWS_URL", s.server.url())
        .env("EWS_PASSWORD", std::ffi::OsStr::from_bytes(b"S3cr3t-\xe9"))
        .args([
            "get",
            "alice@contoso.com",
            "-u",
            "CONTOSO\\jdoe",
            "--allow-insecure-auth",
        ])
        .assert()
        .code(2)
        .stderr(contains("EWS_PASSWORD is not valid UTF-8"));
    assert!(s.server.requests().is_empty());
}
