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
use ews_photo::{HttpReply, Outcome, PhotoSize, validate_email, xml};

/// Any bytes as a SOAP body: parsing and interpretation never panic, and a
/// photo outcome always carries bytes; and the XML reader agrees with
/// roxmltree ([`check_xml`]).
pub fn check_soap(data: &[u8]) {
    check_xml(data);
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

/// Any text: what `xml::parse` accepts, roxmltree (an independent, complete
/// XML 1.0 parser, with DTDs refused as ours does) accepts too, and both make
/// the same tree of it: element names and namespaces, attributes (namespace,
/// name, value; namespace declarations aside), and text (adjacent text and
/// CDATA joined, comments and processing instructions left out).
pub fn check_xml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(ours) = xml::parse(&text) else {
        return;
    };
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: u32::MAX,
        ..roxmltree::ParsingOptions::default()
    };
    // XML 1.0 §2.11: a reader must behave as if every \r\n and lone \r of
    // the input were \n before parsing. roxmltree does that itself except
    // for a lone \r right before a reference ("\r&amp;" gives it "\r&", not
    // "\n&"), so it is given the input with line ends already normalized,
    // which by the same rule means the same document.
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let theirs = match roxmltree::Document::parse_with_options(&normalized, options) {
        Ok(doc) => doc,
        Err(e) => panic!("xml::parse accepts what roxmltree refuses ({e}): {text:?}"),
    };
    let ours = events_of_ours(ours.root_element());
    let theirs = events_of_roxmltree(theirs.root_element());
    if let Some(at) = ours.iter().zip(&theirs).position(|(a, b)| a != b) {
        panic!(
            "the trees differ at event {at}: ours {:?}, roxmltree's {:?}, in {text:?}",
            ours[at], theirs[at]
        );
    }
    assert_eq!(
        ours.len(),
        theirs.len(),
        "the trees differ in length: {text:?}"
    );
}

/// A document roxmltree reads: `xml::parse` reads it too (the one-way
/// [`check_xml`] alone would let a reader that refuses everything pass), and
/// to the same tree.
pub fn check_well_formed_xml(text: &str) {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: u32::MAX,
        ..roxmltree::ParsingOptions::default()
    };
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    if let Err(e) = roxmltree::Document::parse_with_options(&normalized, options) {
        panic!("the generator made a document roxmltree refuses ({e}): {text:?}");
    }
    if let Err(e) = xml::parse(text) {
        panic!("xml::parse refuses what roxmltree reads ({e}): {text:?}");
    }
    check_xml(text.as_bytes());
}

/// A tree as a flat list (no recursion: documents may nest 10,000 deep).
#[derive(Debug, PartialEq, Eq)]
enum XmlEvent {
    Open {
        namespace: Option<String>,
        name: String,
        attributes: Vec<(Option<String>, String, String)>,
    },
    Text(String),
    Close,
}

/// Appends text, joined with the text before it.
fn push_text(events: &mut Vec<XmlEvent>, text: &str) {
    if text.is_empty() {
        return;
    }
    match events.last_mut() {
        Some(XmlEvent::Text(before)) => before.push_str(text),
        _ => events.push(XmlEvent::Text(text.to_string())),
    }
}

fn events_of_ours(root: xml::Node) -> Vec<XmlEvent> {
    let mut events = Vec::new();
    // Each entry: the node, and whether its children were entered.
    let mut stack = vec![(root, false)];
    while let Some((node, entered)) = stack.pop() {
        if let Some(text) = node.text() {
            push_text(&mut events, text);
        } else if entered {
            events.push(XmlEvent::Close);
        } else {
            let name = node.tag_name();
            events.push(XmlEvent::Open {
                namespace: name.namespace().map(str::to_string),
                name: name.name().to_string(),
                attributes: node
                    .attributes()
                    .map(|a| {
                        (
                            a.namespace.map(str::to_string),
                            a.name.to_string(),
                            a.value.to_string(),
                        )
                    })
                    .collect(),
            });
            stack.push((node, true));
            let children: Vec<_> = node.children().collect();
            stack.extend(children.into_iter().rev().map(|child| (child, false)));
        }
    }
    events
}

fn events_of_roxmltree(root: roxmltree::Node) -> Vec<XmlEvent> {
    let mut events = Vec::new();
    let mut stack = vec![(root, false)];
    while let Some((node, entered)) = stack.pop() {
        if node.is_text() {
            push_text(&mut events, node.text().unwrap_or_default());
        } else if !node.is_element() {
            // Comments and processing instructions: not in our tree.
        } else if entered {
            events.push(XmlEvent::Close);
        } else {
            let name = node.tag_name();
            events.push(XmlEvent::Open {
                // `xmlns=""` puts an element in no namespace (Namespaces in
                // XML §6.2); roxmltree reports that as the empty namespace.
                namespace: name
                    .namespace()
                    .filter(|ns| !ns.is_empty())
                    .map(str::to_string),
                name: name.name().to_string(),
                attributes: node
                    .attributes()
                    .map(|a| {
                        (
                            a.namespace().map(str::to_string),
                            a.name().to_string(),
                            a.value().to_string(),
                        )
                    })
                    .collect(),
            });
            stack.push((node, true));
            let children: Vec<_> = node.children().collect();
            stack.extend(children.into_iter().rev().map(|child| (child, false)));
        }
    }
    events
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
