//! Properties of the parsers that must hold for any input: no panic, and the
//! invariants below. Shared by the fuzz targets (`fuzz/`, cargo-fuzz, run for
//! minutes) and the proptest tests (`tests/it/properties.rs`, run by CI for a
//! moment), so both check exactly the same thing.
//!
//! Each fuzz target includes this file with `#[path]` on its own, so it names
//! the library's API itself (all of it in the `use` lines below).
// Each fuzz target calls one of these functions.
#![allow(dead_code)]

use ews_photo::auth::ntlm::ChallengeMessage;
use ews_photo::auth::{parse_challenges, suggestion};
use ews_photo::backend::ews::soap::parse_response;
use ews_photo::backend::ews::{Protocol, interpret};
use ews_photo::export::{Template, input::Entries};
use ews_photo::output::sanitize_file_name;
use ews_photo::photo::inspect;
use ews_photo::{HttpReply, Outcome, PhotoSize, validate_email};

/// Any bytes as a SOAP body: parsing and interpretation never panic, and a
/// photo outcome always carries bytes.
pub fn check_soap(data: &[u8]) {
    let _ = parse_response(data);
    for status in [200, 500, 404, 503] {
        let reply = HttpReply {
            status,
            headers: vec![("content-type".into(), "text/xml; charset=utf-8".into())],
            body: data.to_vec(),
        };
        if let Ok(Outcome::Photo(photo)) = interpret(Protocol::Soap, "fuzz@contoso.com", &reply) {
            assert_eq!(status, 200, "a photo only comes with 200");
            let _ = inspect(&photo.bytes);
        }
    }
}

/// Any status, headers and body of a REST answer: never a panic; 404 is
/// always "no photo", 401 always an authentication error.
pub fn check_rest(data: &[u8]) {
    let (status, rest) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]) % 600, rest),
        _ => (200, data),
    };
    let text = String::from_utf8_lossy(rest);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let headers = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let reply = HttpReply {
        status,
        headers,
        body: body.as_bytes().to_vec(),
    };
    for protocol in [Protocol::Rest, Protocol::Soap] {
        let result = interpret(protocol, "fuzz@contoso.com", &reply);
        match status {
            404 => assert!(matches!(result, Ok(Outcome::NoPhoto { .. }))),
            401 => assert_eq!(result.unwrap_err().exit().code(), 4),
            _ => {}
        }
    }
}

/// Any `WWW-Authenticate` lines: never a panic; every scheme is a non-empty token.
pub fn check_challenges(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let challenges = parse_challenges(text.lines());
    for challenge in &challenges {
        assert!(!challenge.scheme.is_empty());
        assert!(
            !challenge.scheme.contains([' ', ',', '"', '=']),
            "{challenge:?}"
        );
        let _ = challenge.to_string();
    }
    let _ = suggestion(&challenges, true, false);
}

/// Any NTLM CHALLENGE message: parsing never panics.
pub fn check_ntlm_challenge(data: &[u8]) {
    let _ = ChallengeMessage::parse(data);
}

/// Any text as a file name: the result is one safe path component.
pub fn check_file_name(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let name = sanitize_file_name(&text);
    assert!(!name.is_empty());
    assert!(name.len() <= 200);
    assert!(
        !name.contains(['/', '\\', '\0', ':', '*', '?', '"', '<', '>', '|']),
        "{name:?}"
    );
    assert!(!name.chars().any(char::is_control), "{name:?}");
    assert!(!name.starts_with('.'), "{name:?}");
    assert!(!name.ends_with(['.', ' ']), "{name:?}");
    let path = std::path::Path::new(&name);
    let mut components = path.components();
    assert!(
        matches!(components.next(), Some(std::path::Component::Normal(_))),
        "{name:?}"
    );
    assert!(components.next().is_none(), "{name:?}");
    // Idempotent: a safe name stays as it is.
    assert_eq!(sanitize_file_name(&name), name);
}

/// Any bytes as an address list (plain or CSV): reading never panics, line
/// numbers only grow, entries are trimmed, and every valid address makes a
/// safe file name through the default template.
pub fn check_address_list(data: &[u8]) {
    let read = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(entries) = Entries::new(read, "fuzz".into(), None) else {
        return;
    };
    let template = Template::parse("{email}.{ext}").expect("the default template");
    let mut last_line = 0;
    for entry in entries.take(10_000) {
        let Ok(entry) = entry else { break };
        assert!(entry.line >= last_line, "line numbers go back: {entry:?}");
        last_line = entry.line;
        assert_eq!(entry.text.trim(), entry.text);
        if let Ok(email) = validate_email(&entry.text) {
            let name = template.render(email, PhotoSize::Hr96, "jpg");
            check_file_name(name.as_bytes());
        }
    }
}
