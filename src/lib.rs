//! `ews_photo` fetches user photos from Microsoft Exchange through the EWS
//! GetUserPhoto operation, in its SOAP or REST form, or from Microsoft Graph
//! ([`Service`]), one at a time ([`Client`]) or in bulk ([`export::run`]).
//!
//! ```no_run
//! use ews_photo::{Client, ClientConfig, HttpUrl, Outcome, PhotoRequest, PhotoSize, Service};
//!
//! let url = HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx")?;
//! let mut client = Client::new(ClientConfig::new(Service::ews(url)))?;
//! let outcome = client.fetch(&PhotoRequest {
//!     email: "alice@contoso.com".into(),
//!     size: PhotoSize::Hr240,
//!     if_none_match: None,
//! })?;
//! match outcome {
//!     Outcome::Photo(photo) => println!("{} bytes, ETag {:?}", photo.bytes.len(), photo.etag),
//!     Outcome::Unchanged { .. } => println!("unchanged"),
//!     Outcome::NoPhoto { .. } => println!("no photo"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layers
//!
//! Imports point down this list only (`python3 ../shared/tools/layers.py`
//! checks it; so does the test `layers_point_one_way`):
//!
//! ```text
//! main.rs ─▶ cli (clap definitions) ─▶ app (the commands: config, get, export's
//!            progress and summary, console, Ctrl-C, completions and man page)
//! ─────────── the library: no clap, no console ───────────
//! export      the bulk engine: list, template, workers, manifest, report; Events out
//! client      one photo end to end: a back end's requests, auth legs, redirects, retries
//! retry       the shared busy gate and back-off
//! auth        credentials; Basic/Bearer, NTLM and Kerberos (connection-bound), OAuth
//!             sign-in (the shared token source, its cache and renewal); challenge parsing
//! transport, tls   ureq agent with one connection, TLS recording the peer certificate
//! backend     pure protocol: EWS SOAP and REST, Graph (and its $batch): requests
//!             and the answers' meaning
//! photo, output, record, http, url, xml, error, secret, size, human   shared data
//!             and leaves
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod app;
pub mod auth;
pub mod autodiscover;
pub mod backend;
mod cli;
mod client;
pub mod discover;
mod error;
pub mod export;
pub mod http;
mod human;
pub mod output;
pub mod photo;
mod record;
mod retry;
mod secret;
mod size;
mod tcp;
mod tls;
mod transport;
pub mod url;
pub mod xml;

pub use app::run_cli;
pub use backend::{Outcome, PhotoRequest, RawPhoto};
pub use client::{Client, ClientConfig, Relocate, Service};
pub use error::{Error, Exit, ServerError, TransportError};
pub use http::{HttpReply, HttpRequest};
pub use human::HumanDuration;
pub use record::{Record, Status};
pub use retry::{BusyWait, Gate, RetryPolicy};
pub use secret::Secret;
pub use size::{PhotoSize, UnknownSize};
pub use transport::{Resolve, Transport, TransportOptions};
pub use url::HttpUrl;

/// Checks that text looks like an SMTP address, and returns it trimmed.
///
/// One `@`, a non-empty local part and a domain with a dot-free or dotted host,
/// no spaces or control characters, at most 320 characters.
///
/// ```
/// assert!(ews_photo::validate_email(" alice@contoso.com ").is_ok());
/// assert!(ews_photo::validate_email("alice").is_err());
/// assert!(ews_photo::validate_email("a@b@c").is_err());
/// ```
pub fn validate_email(text: &str) -> Result<&str, String> {
    let email = text.trim();
    let problem = if email.is_empty() {
        Some("it is empty")
    } else if email.len() > 320 {
        Some("it is longer than 320 characters")
    } else if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it contains spaces or control characters")
    } else {
        match email.split_once('@') {
            None => Some("it has no @"),
            Some((local, domain)) => {
                if local.is_empty() {
                    Some("nothing before the @")
                } else if domain.is_empty() {
                    Some("nothing after the @")
                } else if domain.contains('@') {
                    Some("it has more than one @")
                } else if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..")
                {
                    Some("the domain is malformed")
                } else if domain.chars().any(|c| "()<>[]\\,;:\"/".contains(c)) {
                    Some("the domain has characters a domain cannot have")
                } else {
                    None
                }
            }
        }
    };
    match problem {
        Some(why) => Err(format!(
            "'{}' is not an email address ({why}); give the user's SMTP address, e.g. alice@contoso.com",
            email.escape_debug()
        )),
        None => Ok(email),
    }
}
