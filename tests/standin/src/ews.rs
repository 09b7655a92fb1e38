//! The EWS stand-in as a [`Handler`]: routing (SOAP and REST `GetUserPhoto`),
//! request validation as Exchange does it, and the scenarios chosen by the
//! address. The scenario table is documented in the crate docs.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::auth::Auth;
use crate::http::{Action, Handler, Reply, Request, host_port, http_date};
use crate::photo::{CLEAR_GIF, NOT_IMAGE, Photos, SIZES, etag_for};
use crate::soap::{self, BUSY_TEXT, MSG_NS, SOAP_NS, TYPES_NS, element_text, xml_escape};
use crate::{Options, lock};

pub(crate) const EWS_PATH: &str = "/EWS/Exchange.asmx";
const REST_PATH: &str = "/EWS/Exchange.asmx/s/GetUserPhoto";

/// Size of the `huge` answer's payload (REST body, or SOAP base64 text):
/// above the tool's 20 MiB cap.
const HUGE_LEN: usize = 22 * 1024 * 1024;

const LOGIN_PAGE: &str = "<!DOCTYPE html>\r\n<html><head><title>Sign in</title></head>\r\n\
<body><h1>Sign in</h1><form method=\"post\" action=\"/my.policy\">\
<label>User name <input name=\"username\"></label>\
<label>Password <input name=\"password\" type=\"password\"></label>\
<input type=\"submit\" value=\"Sign in\"></form></body></html>\r\n";

/// 1 GiB of zeros, gzip-compressed to about 1 MiB: harmless unless decompressed.
fn gzip_bomb() -> Vec<u8> {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        use flate2::{Compression, write::GzEncoder};
        // A gzip stream may hold several members, decompressed one after the
        // other: 1,024 copies of one compressed MiB make a GiB.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&vec![0u8; 1024 * 1024])
            .expect("in memory");
        let member = encoder.finish().expect("in memory");
        member.repeat(1024)
    })
    .clone()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Form {
    Soap,
    Rest,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Default,
    NoPhoto,
    NoPhotoEmpty,
    Fail,
    BusyFault(u64),
    BusyError(u64),
    Busy503(u64),
    Truncated,
    NotImage,
    Huge,
    Png,
    Clear,
    Small,
    Wrapped,
    Stall,
    Endless,
    Html,
    Redirect,
    Loop,
    Denied,
    MailboxGone,
    ShortBody,
    GzipBomb,
    Doctype,
    Deep,
    EwsDisabled,
    EwsBlocked,
    Slow(u64),
}

/// Prefixes, longest first so that `nophotoempty` wins over `nophoto`.
const PREFIXES: [(&str, Scenario); 27] = [
    ("nophotoempty", Scenario::NoPhotoEmpty),
    ("ewsdisabled", Scenario::EwsDisabled),
    ("ewsblocked", Scenario::EwsBlocked),
    ("shortbody", Scenario::ShortBody),
    ("gzipbomb", Scenario::GzipBomb),
    ("doctype", Scenario::Doctype),
    ("deep", Scenario::Deep),
    ("mailboxgone", Scenario::MailboxGone),
    ("busyfault-", Scenario::BusyFault(1)),
    ("busyerror-", Scenario::BusyError(1)),
    ("truncated", Scenario::Truncated),
    ("busy503-", Scenario::Busy503(1)),
    ("slow-", Scenario::Slow(0)),
    ("notimage", Scenario::NotImage),
    ("redirect", Scenario::Redirect),
    ("nophoto", Scenario::NoPhoto),
    ("wrapped", Scenario::Wrapped),
    ("endless", Scenario::Endless),
    ("denied", Scenario::Denied),
    ("clear", Scenario::Clear),
    ("small", Scenario::Small),
    ("stall", Scenario::Stall),
    ("huge", Scenario::Huge),
    ("html", Scenario::Html),
    ("loop", Scenario::Loop),
    ("fail", Scenario::Fail),
    ("png", Scenario::Png),
];

fn scenario_for(email: &str) -> Scenario {
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    for (prefix, scenario) in PREFIXES {
        if let Some(rest) = local.strip_prefix(prefix) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let n = digits.parse().unwrap_or(1);
            return match scenario {
                Scenario::BusyFault(_) => Scenario::BusyFault(n),
                Scenario::BusyError(_) => Scenario::BusyError(n),
                Scenario::Busy503(_) => Scenario::Busy503(n),
                Scenario::Slow(_) => Scenario::Slow(digits.parse().unwrap_or(0)),
                other => other,
            };
        }
    }
    Scenario::Default
}

fn form(request: &Request) -> Option<Form> {
    let path = request.path.to_ascii_lowercase();
    if request.method == "POST" && path == EWS_PATH.to_ascii_lowercase() {
        Some(Form::Soap)
    } else if request.method == "GET" && path == REST_PATH.to_ascii_lowercase() {
        Some(Form::Rest)
    } else {
        None
    }
}

/// The EWS server's state: what the tests configured, and what it remembers
/// across requests.
pub(crate) struct Ews {
    auth: Auth,
    backoff_ms: u64,
    versions: Mutex<HashMap<String, u32>>,
    busy_counts: Mutex<HashMap<String, u64>>,
    pub(crate) photos: Photos,
}

impl Handler for Ews {
    fn email(&self, request: &Request) -> Option<String> {
        match form(request)? {
            Form::Soap => element_text(&String::from_utf8_lossy(&request.body), "Email"),
            Form::Rest => request.query_param("email"),
        }
    }

    fn handle(&self, req: &Request) -> Action {
        if let Some(reply) = self.auth.check(req) {
            return Action::Reply(reply);
        }
        let Some(form) = form(req) else {
            return Action::Reply(Reply::new(404));
        };
        let soap_text = String::from_utf8_lossy(&req.body).into_owned();
        let (email, size) = match form {
            Form::Soap => (
                element_text(&soap_text, "Email"),
                element_text(&soap_text, "SizeRequested"),
            ),
            Form::Rest => (req.query_param("email"), req.query_param("size")),
        };
        let size = size.unwrap_or_default();
        if form == Form::Soap {
            if !soap_text.contains(SOAP_NS) || !soap_text.contains(MSG_NS) {
                return fault(
                    "ErrorSchemaValidation",
                    "The request failed schema validation: The SOAP envelope or the messages namespace is missing or wrong.",
                    "The request failed schema validation.",
                );
            }
            if !SIZES.contains(&size.as_str()) {
                return fault(
                    "ErrorSchemaValidation",
                    &format!(
                        "The request failed schema validation: The '{MSG_NS}:SizeRequested' element is invalid - The value '{}' is invalid according to its datatype '{TYPES_NS}:UserPhotoSizeType' - The Enumeration constraint failed.",
                        xml_escape(&size)
                    ),
                    "The request failed schema validation.",
                );
            }
            match &email {
                None => {
                    return fault(
                        "ErrorSchemaValidation",
                        "The request failed schema validation: The element 'GetUserPhoto' has incomplete content. List of possible elements expected: 'Email'.",
                        "The request failed schema validation.",
                    );
                }
                Some(e) if !e.contains('@') => {
                    return fault(
                        "ErrorInvalidSmtpAddress",
                        "The SMTP address format is invalid.",
                        "The SMTP address format is invalid.",
                    );
                }
                Some(_) => {}
            }
        } else if !SIZES.contains(&size.as_str()) {
            return Action::Reply(Reply::new(400));
        }
        if let Some(refusal) = self.check_identity(req, form, &soap_text) {
            return refusal;
        }
        let email = email.unwrap_or_default();
        self.scenario(form, req, &email, &size)
    }
}

/// The impersonated mailbox of a SOAP request (`ExchangeImpersonation`).
fn impersonated(soap_text: &str) -> Option<String> {
    element_text(soap_text, "ExchangeImpersonation")?;
    element_text(soap_text, "PrimarySmtpAddress")
}

const MUST_BE_PRESENT: &str =
    "ExchangeImpersonation SOAP header must be present for this type of OAuth token.";
const MUST_NOT_EXIST: &str =
    "ExchangeImpersonation SOAP header must not exist for this type of OAuth token.";

/// HTTP 500 with a SOAP fault `a:{code}`.
fn fault(code: &str, faultstring: &str, message: &str) -> Action {
    Action::Reply(Reply::new(500).xml(soap::fault(code, faultstring, message)))
}

impl Ews {
    pub(crate) fn new(options: &Options) -> Ews {
        Ews {
            auth: options.auth.clone(),
            backoff_ms: options.backoff_ms,
            versions: Mutex::new(HashMap::new()),
            busy_counts: Mutex::new(HashMap::new()),
            photos: Photos::default(),
        }
    }

    pub(crate) fn set_photo_version(&self, email: &str, version: u32) {
        lock(&self.versions).insert(email.to_lowercase(), version);
    }

    /// With [`Auth::Token`]: impersonation and anchor as Exchange Online
    /// wants them for the token's holder (see the crate docs).
    fn check_identity(&self, req: &Request, form: Form, soap_text: &str) -> Option<Action> {
        let Auth::Token(check) = &self.auth else {
            return None;
        };
        let identity = check.identity(req)?;
        let mailbox = if form == Form::Soap {
            impersonated(soap_text)
        } else {
            None
        };
        let anchor = req.header("x-anchormailbox");
        let wrong_anchor = |expected: &str| {
            Some(Action::Reply(Reply::new(400).body(
                "text/plain",
                format!(
                    "X-AnchorMailbox is {anchor:?}, expected {expected}: the request would be routed to the wrong mailbox"
                ),
            )))
        };
        if identity.app_only {
            if identity.entra_app && identity.roles.is_empty() {
                return Some(Action::Reply(Reply::new(403)));
            }
            let Some(mailbox) = mailbox else {
                return Some(fault(
                    "ErrorInvalidExchangeImpersonationHeaderData",
                    MUST_BE_PRESENT,
                    MUST_BE_PRESENT,
                ));
            };
            if !anchor.is_some_and(|a| a.eq_ignore_ascii_case(&mailbox)) {
                return wrong_anchor(&mailbox);
            }
            if mailbox.to_ascii_lowercase().starts_with("denied") {
                let text =
                    "The account does not have permission to impersonate the requested user.";
                return Some(fault("ErrorImpersonateUserDenied", text, text));
            }
            return None;
        }
        if mailbox.is_some() {
            return Some(fault(
                "ErrorInvalidExchangeImpersonationHeaderData",
                MUST_NOT_EXIST,
                MUST_NOT_EXIST,
            ));
        }
        let user = identity.user.unwrap_or_default();
        if !anchor.is_some_and(|a| a.eq_ignore_ascii_case(&user)) {
            return wrong_anchor(&user);
        }
        None
    }

    fn busy_count(&self, email: &str) -> u64 {
        let mut counts = lock(&self.busy_counts);
        let count = counts.entry(email.to_lowercase()).or_insert(0);
        *count += 1;
        *count
    }

    fn scenario(&self, form: Form, req: &Request, email: &str, size: &str) -> Action {
        let soap = form == Form::Soap;
        let backoff = self.backoff_ms;
        let port = req.server.port();
        let scenario = scenario_for(email);
        let simple = |status| Action::Reply(Reply::new(status));
        match scenario {
            Scenario::NoPhoto => {
                let reply = Reply::new(404).header("Expires", expires(1));
                return Action::Reply(if soap {
                    reply.xml(soap::photo(true, None, None))
                } else {
                    reply
                });
            }
            Scenario::NoPhotoEmpty => return simple(404),
            Scenario::Fail => return simple(500),
            Scenario::BusyFault(n) if self.busy_count(email) <= n => {
                if !soap {
                    return simple(503);
                }
                return Action::Reply(Reply::new(500).xml(soap::busy_fault(backoff)));
            }
            Scenario::BusyError(n) if self.busy_count(email) <= n => {
                if !soap {
                    return simple(503);
                }
                let body = soap::error(BUSY_TEXT, "ErrorServerBusy", Some(backoff));
                return Action::Reply(Reply::new(200).xml(body));
            }
            Scenario::Busy503(n) if self.busy_count(email) <= n => return simple(503),
            Scenario::Html => {
                return Action::Reply(Reply::new(200).body("text/html; charset=utf-8", LOGIN_PAGE));
            }
            Scenario::ShortBody => {
                let bytes = self.photos.get(size, 0, false);
                return Action::Short(if soap {
                    Reply::new(200).xml(soap::photo(
                        true,
                        Some(&B64.encode(bytes.as_slice())),
                        Some("image/jpeg"),
                    ))
                } else {
                    Reply::new(200).body("image/jpeg", bytes.to_vec())
                });
            }
            Scenario::GzipBomb => {
                return Action::Reply(
                    Reply::new(200)
                        .body(
                            if soap {
                                "text/xml; charset=utf-8"
                            } else {
                                "image/jpeg"
                            },
                            gzip_bomb(),
                        )
                        .header("Content-Encoding", "gzip"),
                );
            }
            Scenario::Doctype => {
                return Action::Reply(Reply::new(200).xml(soap::BILLION_LAUGHS.to_string()));
            }
            Scenario::Deep => return Action::Reply(Reply::new(200).xml(soap::deep_xml(200_000))),
            Scenario::Slow(ms) => std::thread::sleep(Duration::from_millis(ms)),
            Scenario::Redirect => {
                return Action::Reply(
                    Reply::new(302)
                        .header("Location", format!("http://localhost:{port}{}", req.target)),
                );
            }
            Scenario::Loop => {
                return Action::Reply(Reply::new(302).header(
                    "Location",
                    format!("http://{}{}", host_port(req.server), req.target),
                ));
            }
            Scenario::Denied | Scenario::MailboxGone => {
                if !soap {
                    return simple(if scenario == Scenario::Denied {
                        403
                    } else {
                        404
                    });
                }
                let (text, code) = if scenario == Scenario::Denied {
                    (
                        "Access is denied. Check credentials and try again.",
                        "ErrorAccessDenied",
                    )
                } else {
                    (
                        "The SMTP address has no mailbox associated with it.",
                        "ErrorNonExistentMailbox",
                    )
                };
                return Action::Reply(Reply::new(200).xml(soap::error(text, code, None)));
            }
            Scenario::EwsDisabled | Scenario::EwsBlocked => {
                let reason = if scenario == Scenario::EwsDisabled {
                    "EWS is disabled for this user or tenant"
                } else {
                    "EWS is blocked by policy for this user or tenant"
                };
                return Action::Reply(Reply::new(403).header("X-EWS-Policy-Reason", reason));
            }
            Scenario::Endless => {
                let ct = if soap {
                    "text/xml; charset=utf-8"
                } else {
                    "image/jpeg"
                };
                return Action::Endless(Reply::new(200).header("Content-Type", ct));
            }
            _ => {}
        }

        // Everything below serves content and honours If-None-Match.
        let version = lock(&self.versions)
            .get(&email.to_lowercase())
            .copied()
            .unwrap_or(0);
        let etag = etag_for(email, size, version);
        let ok = |status| {
            Reply::new(status)
                .header("ETag", etag.clone())
                .header("Expires", expires(3))
        };
        if req
            .header("if-none-match")
            .is_some_and(|v| etag_matches(v, &etag))
        {
            return Action::Reply(if soap {
                ok(200).xml(soap::photo(false, None, None))
            } else {
                ok(304)
            });
        }
        let (bytes, content_type): (Arc<Vec<u8>>, &str) = match scenario {
            Scenario::Small => (self.photos.get("HR96x96", version, false), "image/jpeg"),
            Scenario::Png => (self.photos.get(size, version, true), "image/jpeg"),
            Scenario::Clear => (Arc::new(CLEAR_GIF.to_vec()), "image/gif"),
            Scenario::NotImage => (Arc::new(NOT_IMAGE.to_vec()), "image/jpeg"),
            _ => (self.photos.get(size, version, false), "image/jpeg"),
        };
        match scenario {
            Scenario::Truncated => {
                if soap {
                    let b64 = B64.encode(bytes.as_slice());
                    let cut = (b64.len() / 2) / 4 * 4 - 7;
                    Action::Reply(ok(200).xml(soap::photo(
                        true,
                        Some(&b64[..cut]),
                        Some(content_type),
                    )))
                } else {
                    Action::Reply(ok(200).body(content_type, &bytes[..bytes.len() / 2]))
                }
            }
            Scenario::Wrapped if soap => {
                Action::Reply(ok(200).xml(soap::wrapped(&bytes, content_type)))
            }
            Scenario::Huge => {
                if soap {
                    let full = soap::photo(true, Some("\u{0}"), Some(content_type));
                    let (head, tail) = full.split_once('\u{0}').unwrap_or((&full, ""));
                    let reply = ok(200).xml(head.to_string());
                    // Pad the JPEG to a multiple of 3 so that chunked base64 concatenates.
                    let mut raw = bytes.to_vec();
                    raw.resize(raw.len().div_ceil(3) * 3, 0);
                    Action::Huge {
                        reply,
                        raw: Arc::new(raw),
                        base64: true,
                        payload_len: HUGE_LEN,
                        tail: tail.as_bytes().to_vec(),
                    }
                } else {
                    Action::Huge {
                        reply: ok(200).header("Content-Type", content_type),
                        raw: bytes,
                        base64: false,
                        payload_len: HUGE_LEN,
                        tail: Vec::new(),
                    }
                }
            }
            Scenario::Stall => {
                if soap {
                    let body = soap::photo(
                        true,
                        Some(&B64.encode(bytes.as_slice())),
                        Some(content_type),
                    );
                    Action::Stall(ok(200).xml(body))
                } else {
                    Action::Stall(ok(200).body(content_type, bytes.to_vec()))
                }
            }
            _ => {
                if soap {
                    let body = soap::photo(
                        true,
                        Some(&B64.encode(bytes.as_slice())),
                        Some(content_type),
                    );
                    Action::Reply(ok(200).xml(body))
                } else {
                    Action::Reply(ok(200).body(content_type, bytes.to_vec()))
                }
            }
        }
    }
}

fn etag_matches(header: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    header.split(',').any(|candidate| {
        let c = candidate.trim();
        let c = c.strip_prefix("W/").unwrap_or(c);
        c == "*" || c.trim_matches('"') == bare
    })
}

fn expires(days: u64) -> String {
    http_date(SystemTime::now() + Duration::from_secs(days * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_by_longest_prefix_with_counts() {
        assert_eq!(scenario_for("NoPhotoEmpty2@x"), Scenario::NoPhotoEmpty);
        assert_eq!(scenario_for("nophoto-bob@x"), Scenario::NoPhoto);
        assert_eq!(scenario_for("busyerror-3@x"), Scenario::BusyError(3));
        assert_eq!(scenario_for("alice@x"), Scenario::Default);
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        assert!(etag_matches("W/\"abc\", \"def\"", "\"def\""));
    }
}
