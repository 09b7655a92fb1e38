//! A hostile server: every answer here must end in a clear error, the right
//! exit code, no panic and no file left behind.

use ews_standin::tls::{CertKind, TlsFront};

use crate::common::*;

/// `ews-photo LINE` must fail with `code` and say `expect`, without a panic
/// and without leaving a file.
fn fails(s: &Setup, line: &str, code: i32, expect: &str) {
    s.ews_photo(line)
        .assert()
        .code(code)
        .stderr(contains(expect))
        .stderr(contains("panicked").not());
    assert!(s.files().is_empty(), "{line} left {:?}", s.files());
}

#[test]
fn body_that_never_ends_is_cut_at_the_cap() {
    let s = Setup::new();
    for protocol in ["soap", "rest"] {
        fails(
            &s,
            &format!("get endless@contoso.com -o x.jpg --protocol {protocol}"),
            1,
            "more than 20971520 bytes",
        );
    }
}

#[test]
fn response_stalling_mid_body_times_out() {
    let s = Setup::new();
    fails(
        &s,
        "get stall@contoso.com -o x.jpg --timeout 2",
        6,
        "timed out after 2s",
    );
}

#[test]
fn content_length_larger_than_the_body() {
    let s = Setup::new();
    for protocol in ["soap", "rest"] {
        fails(
            &s,
            &format!("get shortbody@contoso.com -o x.jpg --protocol {protocol}"),
            6,
            "closed before the whole answer arrived",
        );
    }
}

#[test]
fn gzip_bomb_is_never_decompressed() {
    let s = Setup::new();
    fails(
        &s,
        "get gzipbomb@contoso.com -o x.jpg",
        1,
        "not well-formed XML",
    );
    fails(
        &s,
        "get gzipbomb@contoso.com -o x.jpg --protocol rest",
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
    fails(
        &s,
        "get doctype@contoso.com -o x.jpg",
        1,
        "not well-formed XML",
    );
}

#[test]
fn deeply_nested_xml_is_refused_without_a_crash() {
    let s = Setup::new();
    fails(
        &s,
        "get deep@contoso.com -o x.jpg",
        1,
        "not well-formed XML",
    );
}

#[test]
fn huge_base64_is_refused() {
    let s = Setup::new();
    fails(
        &s,
        "get huge@contoso.com -o x.jpg",
        1,
        "more than 20971520 bytes",
    );
}

#[test]
fn html_login_page_in_a_200() {
    let s = Setup::new();
    fails(&s, "get html@contoso.com -o x.jpg", 1, "HTML page");
}

#[test]
fn redirects_to_another_host_and_loops() {
    let s = Setup::new();
    fails(&s, "get redirect@contoso.com -o x.jpg", 1, "another host");
    fails(&s, "get loop@contoso.com -o x.jpg", 1, "redirect loop");
}

#[test]
fn clear_gif_is_no_photo() {
    let s = Setup::new();
    fails(&s, "get clear@contoso.com -o x.jpg", 3, "placeholder");
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
    let get = format!("get alice@contoso.com -o a.jpg --url {}", front.url());
    s.ews_photo(&format!("{get} --ca-cert ca.pem"))
        .assert()
        .success();
    std::fs::remove_file(s.path("a.jpg")).unwrap();
    // The same through EWS_CA_CERT.
    s.ews_photo(&get)
        .env("EWS_CA_CERT", "ca.pem")
        .assert()
        .success();
    std::fs::remove_file(s.path("a.jpg")).unwrap();
    std::fs::remove_file(s.path("ca.pem")).unwrap();
    // Without the CA, the certificate is not trusted.
    fails(&s, &get, 6, "--ca-cert");
}

#[test]
fn tls_certificate_for_the_wrong_host_or_expired_is_refused_unless_insecure() {
    for (kind, reason) in [
        (CertKind::WrongHost, "not valid for name"),
        (CertKind::Expired, "expired"),
    ] {
        let (s, front) = tls_setup(kind);
        let get = format!("get alice@contoso.com -o a.jpg --url {}", front.url());
        // The CA is trusted: only the name or the dates are wrong.
        let ca = tempfile::tempdir().unwrap();
        std::fs::rename(s.path("ca.pem"), ca.path().join("ca.pem")).unwrap();
        s.ews_photo(&get)
            .env("EWS_CA_CERT", ca.path().join("ca.pem"))
            .assert()
            .code(6)
            .stderr(contains(reason));
        assert!(s.files().is_empty());
        s.ews_photo(&format!("{get} --insecure -q"))
            .assert()
            .success()
            .stderr(contains("WARNING: --insecure"));
        assert_eq!(s.files(), ["a.jpg"]);
    }
}
