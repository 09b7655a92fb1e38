//! A hostile server: every answer here must end in a clear error, the right
//! exit code, no panic and no file left behind.

use ews_standin::tls::{CertKind, TlsFront};

use crate::common::*;

fn run_failing(s: &Setup, args: &[&str], code: i32, expect: &str) -> String {
    let out = s.cmd().args(args).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert!(
        err.contains(expect),
        "{args:?}: expected '{expect}' in: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(s.files().is_empty(), "{args:?} left {:?}", s.files());
    err
}

#[test]
fn body_that_never_ends_is_cut_at_the_cap() {
    let s = Setup::new();
    for protocol in ["soap", "rest"] {
        run_failing(
            &s,
            &[
                "get",
                "endless@contoso.com",
                "-o",
                "x.jpg",
                "--protocol",
                protocol,
            ],
            1,
            "more than 20971520 bytes",
        );
    }
}

#[test]
fn response_stalling_mid_body_times_out() {
    let s = Setup::new();
    run_failing(
        &s,
        &["get", "stall@contoso.com", "-o", "x.jpg", "--timeout", "2"],
        6,
        "timed out after 2s",
    );
}

#[test]
fn content_length_larger_than_the_body() {
    let s = Setup::new();
    for protocol in ["soap", "rest"] {
        run_failing(
            &s,
            &[
                "get",
                "shortbody@contoso.com",
                "-o",
                "x.jpg",
                "--protocol",
                protocol,
            ],
            6,
            "closed before the whole answer arrived",
        );
    }
}

#[test]
fn gzip_bomb_is_never_decompressed() {
    let s = Setup::new();
    run_failing(
        &s,
        &["get", "gzipbomb@contoso.com", "-o", "x.jpg"],
        1,
        "not well-formed XML",
    );
    run_failing(
        &s,
        &[
            "get",
            "gzipbomb@contoso.com",
            "-o",
            "x.jpg",
            "--protocol",
            "rest",
        ],
        1,
        "not an image",
    );
    for request in s.server.requests() {
        assert_eq!(request.header("accept-encoding"), Some("identity"));
    }
}

#[test]
fn doctype_and_entity_expansion_are_refused() {
    let s = Setup::new();
    run_failing(
        &s,
        &["get", "doctype@contoso.com", "-o", "x.jpg"],
        1,
        "not well-formed XML",
    );
}

#[test]
fn deeply_nested_xml_is_refused_without_a_crash() {
    let s = Setup::new();
    run_failing(
        &s,
        &["get", "deep@contoso.com", "-o", "x.jpg"],
        1,
        "not well-formed XML",
    );
}

#[test]
fn huge_base64_is_refused() {
    let s = Setup::new();
    run_failing(
        &s,
        &["get", "huge@contoso.com", "-o", "x.jpg"],
        1,
        "more than 20971520 bytes",
    );
}

#[test]
fn html_login_page_in_a_200() {
    let s = Setup::new();
    run_failing(
        &s,
        &["get", "html@contoso.com", "-o", "x.jpg"],
        1,
        "HTML page",
    );
}

#[test]
fn redirects_to_another_host_and_loops() {
    let s = Setup::new();
    run_failing(
        &s,
        &["get", "redirect@contoso.com", "-o", "x.jpg"],
        1,
        "another host",
    );
    run_failing(
        &s,
        &["get", "loop@contoso.com", "-o", "x.jpg"],
        1,
        "redirect loop",
    );
}

#[test]
fn clear_gif_is_no_photo() {
    let s = Setup::new();
    run_failing(
        &s,
        &["get", "clear@contoso.com", "-o", "x.jpg"],
        3,
        "placeholder",
    );
}

fn tls_setup(kind: CertKind) -> (Setup, TlsFront) {
    let s = Setup::new();
    let front = TlsFront::start(s.server.addr(), kind).unwrap();
    std::fs::write(s.path("ca.pem"), front.ca_pem()).unwrap();
    (s, front)
}

#[test]
fn tls_with_a_private_ca() {
    let (s, front) = tls_setup(CertKind::Valid);
    s.cmd()
        .args([
            "get",
            "alice@contoso.com",
            "-o",
            "a.jpg",
            "--url",
            &front.url(),
            "--ca-cert",
            "ca.pem",
        ])
        .assert()
        .success();
    std::fs::remove_file(s.path("a.jpg")).unwrap();
    // The same through EWS_CA_CERT.
    s.cmd()
        .args([
            "get",
            "alice@contoso.com",
            "-o",
            "a.jpg",
            "--url",
            &front.url(),
        ])
        .env("EWS_CA_CERT", "ca.pem")
        .assert()
        .success();
    std::fs::remove_file(s.path("a.jpg")).unwrap();
    std::fs::remove_file(s.path("ca.pem")).unwrap();
    // Without the CA, the certificate is not trusted.
    run_failing(
        &s,
        &[
            "get",
            "alice@contoso.com",
            "-o",
            "a.jpg",
            "--url",
            &front.url(),
        ],
        6,
        "--ca-cert",
    );
}

#[test]
fn tls_certificate_for_the_wrong_host_or_expired_is_refused_unless_insecure() {
    for (kind, reason) in [
        (CertKind::WrongHost, "not valid for name"),
        (CertKind::Expired, "expired"),
    ] {
        let (s, front) = tls_setup(kind);
        // The CA is trusted: only the name or the dates are wrong.
        let ca = tempfile::tempdir().unwrap();
        std::fs::rename(s.path("ca.pem"), ca.path().join("ca.pem")).unwrap();
        let out = s
            .cmd()
            .args([
                "get",
                "alice@contoso.com",
                "-o",
                "a.jpg",
                "--url",
                &front.url(),
            ])
            .env("EWS_CA_CERT", ca.path().join("ca.pem"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(6), "{kind:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains(reason),
            "{kind:?}: {}",
            stderr_of(&out)
        );
        assert!(s.files().is_empty());
        let out = s
            .cmd()
            .args([
                "get",
                "alice@contoso.com",
                "-o",
                "a.jpg",
                "--url",
                &front.url(),
                "--insecure",
                "-q",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{kind:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains("WARNING: --insecure"),
            "loud even with -q"
        );
        assert_eq!(s.files(), ["a.jpg"]);
    }
}
