//! A stand-in Exchange Web Services server for `ews-photo`'s tests, benchmarks
//! and demo.
//!
//! It speaks just enough HTTP/1.1 (std only, one thread per connection,
//! keep-alive) to answer EWS `GetUserPhoto` in both forms, shaped like real
//! Exchange:
//!
//! * SOAP: `POST /EWS/Exchange.asmx`
//! * REST: `GET /EWS/Exchange.asmx/s/GetUserPhoto?email=…&size=…`
//!
//! Anything else is a 404. Authentication (see [`Auth`]) is checked before
//! anything else, and every request (401s included) is recorded
//! (see [`StandIn::requests`]).
//!
//! SOAP requests are validated like Exchange does: the SOAP envelope
//! namespace `http://schemas.xmlsoap.org/soap/envelope/` and the messages
//! namespace `http://schemas.microsoft.com/exchange/services/2006/messages`
//! must appear (an `https://` variant fails), `SizeRequested` must be one of
//! the eleven size codes (exact case): otherwise HTTP 500 with the SOAP fault
//! `a:ErrorSchemaValidation`. An `Email` without `@` gets the fault
//! `a:ErrorInvalidSmtpAddress`. A REST request with a bad size gets 400.
//!
//! Photos are real, deterministic JPEGs (quality 85): `HRnxn` is n×n,
//! `HR1024xN` is 1024×768 and `HR1920xN` 1920×1440. Each address has a photo
//! version (default 0, see [`StandIn::set_photo_version`]) that changes the
//! bytes and the ETag ([`etag_for`]). Successful answers carry `ETag` and
//! `Expires` (now + 3 days). A request whose `If-None-Match` matches the
//! current ETag gets SOAP 200 `<HasChanged>false</HasChanged><PictureData/>`
//! or REST 304.
//!
//! # Scenarios
//!
//! The behaviour is chosen by the local part of the target address
//! (lower-cased, matched by prefix, longest prefix first), so `nophoto1@x`
//! and `nophoto-bob@x` both select `nophoto`.
//!
//! | prefix | SOAP | REST |
//! |---|---|---|
//! | (anything else) | 200 success, JPEG of the requested size | 200 `image/jpeg` bytes |
//! | `nophoto` | 404 with a success body, `HasChanged` true, `<PictureData/>`; `Expires` now + 1 day | 404 empty |
//! | `nophotoempty` | 404 empty | 404 empty |
//! | `fail` | 500 empty | 500 empty |
//! | `busyfault-N` | first N requests: 500 SOAP fault `a:ErrorServerBusy` with `BackOffMilliseconds`; then success | first N: 503 empty |
//! | `busyerror-N` | first N requests: 200 `ResponseClass="Error"`, `ErrorServerBusy`, `BackOffMilliseconds`; then success | first N: 503 empty |
//! | `busy503-N` | first N requests: 503 empty; then success | same |
//! | `truncated` | `PictureData` is base64 cut to an invalid length (half, then 7 fewer characters) | 200 with the first half of the JPEG |
//! | `notimage` | `PictureData` is `<html>this is not an image</html>`, `ContentType` `image/jpeg` | same bytes as `image/jpeg` |
//! | `huge` | success with ~22 MiB of base64 (streamed) | 22 MiB `image/jpeg` body (streamed) |
//! | `png` | real PNG of the requested size labelled `image/jpeg` | same |
//! | `clear` | 1×1 transparent GIF (43 bytes), `image/gif` | same |
//! | `small` | always the HR96x96 JPEG whatever was asked | same |
//! | `wrapped` | success with `soap:`/`m:`/`t:` prefixes, base64 wrapped at 76 columns (CRLF + indentation), whitespace around the `ResponseCode` text | like the default |
//! | `stall` | headers announce the full body, half of it is sent, then nothing for 60 s (or until the server is dropped) | same |
//! | `endless` | 200 `Transfer-Encoding: chunked`, 64 KiB chunks of `A` forever | same |
//! | `html` | 200 `text/html` "Sign in" page (reverse proxy login) | same |
//! | `redirect` | 302 to `http://localhost:PORT` + the same path and query | same |
//! | `loop` | 302 to the very same URL, forever | same |
//! | `denied` | 200 `ResponseClass="Error"`, `ErrorAccessDenied` | 403 empty |
//! | `mailboxgone` | 200 `ResponseClass="Error"`, `ErrorNonExistentMailbox` | 404 empty |
//! | `shortbody` | success whose `Content-Length` is 4 KiB more than the body; then the connection closes | same |
//! | `gzipbomb` | 200 `Content-Encoding: gzip`, 1 GiB of zeros in ~1 MiB | same, as `image/jpeg` |
//! | `doctype` | 200 with a DOCTYPE and the "billion laughs" entities | same |
//! | `deep` | 200 with 200,000 nested elements in the body | same |
//! | `ewsdisabled` | 403 empty, `X-EWS-Policy-Reason: EWS is disabled for this user or tenant` (Exchange Online) | same |
//! | `ewsblocked` | 403 empty, `X-EWS-Policy-Reason: EWS is blocked by policy for this user or tenant` | same |
//! | `slow-MS` | the default answer after MS milliseconds (`slow-3500`) | same |
//!
//! With [`Auth::Token`], EWS checks the token's holder as Exchange Online
//! does: an app's own token must impersonate (SOAP `ExchangeImpersonation`,
//! else the fault `ErrorInvalidExchangeImpersonationHeaderData` "…must be
//! present for this type of OAuth token") with `X-AnchorMailbox` naming the
//! impersonated mailbox, and an Entra-shaped app token (`idtyp` `app`)
//! without `roles` gets 403; a user's token must not impersonate (the same
//! fault, "…must not exist…") and its `X-AnchorMailbox` must be the user.
//! Impersonating a mailbox whose local part starts with `denied` gets
//! `ErrorImpersonateUserDenied`. A wrong or missing anchor gets 400.
//!
//! [`tls::TlsFront`] puts TLS in front of a server, with a test CA and a
//! valid, wrong-host or expired certificate.
//!
//! Busy counters are per address (case-insensitive) across the server's life;
//! only requests that pass authentication and validation count.
//! `If-None-Match` is honoured by every scenario that serves content
//! (default, `small`, `png`, `clear`, `notimage`, `truncated`, `wrapped`,
//! `huge`, `stall`).
//!
//! # Layout
//!
//! * [`http`]: the HTTP/1.1 server every stand-in shares (accept loop,
//!   parsing, keep-alive, the request record, latency, writing the answer)
//!   and the [`http::Handler`] interface a stand-in implements.
//! * `ews`: the EWS handler: routing, validation and the scenarios above.
//! * `soap`, `photo`: the SOAP texts and the pictures it serves.
//! * `auth`: [`Auth`], which any handler can check first.
//! * [`tls`]: the TLS front, for any server.
//!
//! * [`autodiscover`]: the Autodiscover stand-in (v2, POX, the plain-http
//!   redirect) for every scenario of the acceptance list, over TLS with a test
//!   CA, with EWS on the mail hosts.
//!
//! * `graph`: the Microsoft Graph stand-in ([`GraphStandIn`]): photos,
//!   metadata, the directory look-up and `$batch`, its users and scenarios
//!   documented there.
//!
//! A stand-in for another service (an OAuth token endpoint) is another
//! [`http::Handler`] on its own [`http::Server`], with its own port.

mod auth;
pub mod autodiscover;
pub mod entra;
pub mod env;
mod ews;
pub mod graph;
pub mod http;
pub mod jwt;
mod photo;
mod soap;
pub mod tls;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use auth::Auth;
pub use entra::{Entra, EntraOptions};
pub use graph::{GraphOptions, GraphStandIn};
pub use http::Recorded;
pub use jwt::TokenCheck;
pub use photo::etag_for;

/// Server options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Delay before every response (default 0).
    pub latency: Duration,
    /// `BackOffMilliseconds` value in busy answers (default 10).
    pub backoff_ms: u64,
    /// Authentication required from clients (default [`Auth::None`]).
    pub auth: Auth,
    /// Address to listen on (default `127.0.0.1:0`, an ephemeral port).
    pub bind: SocketAddr,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            latency: Duration::ZERO,
            backoff_ms: 10,
            auth: Auth::None,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        }
    }
}

/// A running stand-in EWS server. Dropping it stops the server.
pub struct StandIn {
    server: http::Server,
    ews: Arc<ews::Ews>,
}

impl StandIn {
    /// Binds `options.bind` and starts serving in background threads.
    pub fn start(options: Options) -> io::Result<StandIn> {
        let ews = Arc::new(ews::Ews::new(&options));
        let server = http::Server::start(options.bind, options.latency, ews.clone())?;
        Ok(StandIn { server, ews })
    }

    /// The EWS URL, e.g. `http://127.0.0.1:PORT/EWS/Exchange.asmx`.
    pub fn url(&self) -> String {
        self.server.url(ews::EWS_PATH)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request received so far (401s included), in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// How many recorded requests targeted this address (case-insensitive).
    pub fn requests_for(&self, email: &str) -> usize {
        self.server.requests_for(email)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.server.connections()
    }

    /// Sets the photo version of an address (default 0), which changes its
    /// photo bytes and ETag.
    pub fn set_photo_version(&self, email: &str, version: u32) {
        self.ews.set_photo_version(email, version);
    }

    /// The JPEG served for this size code and version, so tests can compare.
    /// Unknown size codes give the HR96x96 picture.
    pub fn photo_bytes(&self, size: &str, version: u32) -> Vec<u8> {
        self.ews.photos.get(size, version, false).to_vec()
    }
}

/// Locks a mutex even if a thread panicked while holding it: a stand-in keeps
/// serving the other tests' requests.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
