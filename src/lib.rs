//! `ews_photo` fetches user photos from Microsoft Exchange through the EWS
//! GetUserPhoto operation, in its SOAP or REST form.
//!
//! The protocol code ([`soap`], [`rest`], [`exchange`], [`auth::parse_challenges`])
//! is pure: bytes in, values out. I/O lives in [`transport`], [`client`] and
//! [`output`].
//!
//! ```no_run
//! use ews_photo::{Client, ClientConfig, Outcome, PhotoRequest, PhotoSize};
//!
//! let mut client = Client::new(ClientConfig {
//!     url: "https://mail.contoso.com/EWS/Exchange.asmx".into(),
//!     ..Default::default()
//! })?;
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
//! # Ok::<(), ews_photo::Error>(())
//! ```

pub mod app;
pub mod auth;
pub mod cli;
pub mod client;
pub mod error;
pub mod exchange;
pub mod export;
pub mod output;
pub mod photo;
pub mod rest;
pub mod secret;
pub mod size;
pub mod soap;
pub mod tls;
pub mod transport;

pub use client::{Client, ClientConfig, PhotoRequest};
pub use error::{Error, ExchangeError, TransportError};
pub use exchange::{Outcome, Protocol, RawPhoto};
pub use secret::Secret;
pub use size::PhotoSize;

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
