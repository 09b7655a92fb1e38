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
//!
//! [`tls::TlsFront`] puts TLS in front of a server, with a test CA and a
//! valid, wrong-host or expired certificate.
//!
//! Busy counters are per address (case-insensitive) across the server's life;
//! only requests that pass authentication and validation count.
//! `If-None-Match` is honoured by every scenario that serves content
//! (default, `small`, `png`, `clear`, `notimage`, `truncated`, `wrapped`,
//! `huge`, `stall`).

pub mod tls;

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const MSG_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
const TYPES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
const ERRORS_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
const EWS_PATH: &str = "/EWS/Exchange.asmx";
const REST_PATH: &str = "/EWS/Exchange.asmx/s/GetUserPhoto";

/// The size codes the server accepts (exact case).
const SIZES: [&str; 11] = [
    "HR48x48",
    "HR64x64",
    "HR96x96",
    "HR120x120",
    "HR240x240",
    "HR360x360",
    "HR432x432",
    "HR504x504",
    "HR648x648",
    "HR1024xN",
    "HR1920xN",
];

const MAX_HEADERS: u64 = 64 * 1024;
const MAX_BODY: u64 = 1024 * 1024;
/// Size of the `huge` answer's payload (REST body, or SOAP base64 text).
const HUGE_LEN: usize = 22 * 1024 * 1024;
const HUGE_CHUNK: usize = 48 * 1024; // a multiple of 3
const BUSY_TEXT: &str = "The server cannot service this request right now. Try again later.";
const NOT_IMAGE: &[u8] = b"<html>this is not an image</html>";

/// A 1×1 transparent GIF89a, like Exchange's `fallbackToClearImage` answer.
const CLEAR_GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
];

const LOGIN_PAGE: &str = "<!DOCTYPE html>\r\n<html><head><title>Sign in</title></head>\r\n\
<body><h1>Sign in</h1><form method=\"post\" action=\"/my.policy\">\
<label>User name <input name=\"username\"></label>\
<label>Password <input name=\"password\" type=\"password\"></label>\
<input type=\"submit\" value=\"Sign in\"></form></body></html>\r\n";

/// The "billion laughs" entity expansion, inside a SOAP envelope.
const BILLION_LAUGHS: &str = concat!(
    "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n",
    " <!ENTITY lol \"lol\">\n",
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n",
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n",
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n",
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n",
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n",
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n",
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n",
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n",
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n",
    "]>\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>",
    "<GetUserPhotoResponse ResponseClass=\"Success\" xmlns=\"http://schemas.microsoft.com/exchange/services/2006/messages\">",
    "<ResponseCode>&lol9;</ResponseCode><HasChanged>true</HasChanged><PictureData/>",
    "</GetUserPhotoResponse></s:Body></s:Envelope>"
);

/// A SOAP envelope whose body nests `depth` elements.
fn deep_xml(depth: usize) -> String {
    let mut xml = String::with_capacity(depth * 8 + 200);
    xml.push_str("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>");
    for _ in 0..depth {
        xml.push_str("<a>");
    }
    for _ in 0..depth {
        xml.push_str("</a>");
    }
    xml.push_str("</s:Body></s:Envelope>");
    xml
}

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

const CHALLENGE_PAGE: &str = "<html><head><title>Error Message</title></head><body>\
<h1>Error Code: 401 Unauthorized. The server requires authorization to fulfill the request. \
Access to the Web server is denied. Contact the server administrator.</h1></body></html>\r\n";

/// How the server authenticates requests.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No authentication.
    None,
    /// HTTP Basic: 401 with `WWW-Authenticate: Basic realm="standin"` (empty
    /// body) unless `Authorization: Basic` carries exactly `user:password`.
    Basic {
        /// Expected user name.
        user: String,
        /// Expected password.
        password: String,
    },
    /// Bearer token: 401 with `WWW-Authenticate: Bearer realm="standin"`
    /// (plus `error="invalid_token"` when a wrong token was sent), empty body,
    /// unless `Authorization: Bearer <token>` matches.
    Bearer {
        /// Expected token.
        token: String,
    },
    /// Always 401, with one `WWW-Authenticate` header per entry and an HTML
    /// body (`Content-Type: text/html`), like a TMG reverse proxy.
    Challenge(Vec<String>),
}

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

/// One request as received by the server.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Id of the TCP connection it arrived on (1 for the first connection).
    pub connection: u64,
    /// HTTP method.
    pub method: String,
    /// Path part of the request target (before `?`).
    pub path: String,
    /// Raw query string (after `?`, not decoded; empty if none).
    pub query: String,
    /// Headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
    /// The target address, from the SOAP `Email` element or the REST `email`
    /// query parameter.
    pub email: Option<String>,
    /// When the request was received (before any configured latency).
    pub at: Instant,
}

impl Recorded {
    /// The first header with this name (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running stand-in server. Dropping it stops the server.
pub struct StandIn {
    inner: Arc<Inner>,
    accept: Option<JoinHandle<()>>,
}

type PhotoKey = (String, u32, bool);
type PhotoCell = Arc<OnceLock<Arc<Vec<u8>>>>;

struct Inner {
    addr: SocketAddr,
    options: Options,
    stop: AtomicBool,
    connections: AtomicU64,
    requests: Mutex<Vec<Recorded>>,
    streams: Mutex<HashMap<u64, TcpStream>>,
    versions: Mutex<HashMap<String, u32>>,
    busy_counts: Mutex<HashMap<String, u64>>,
    photos: Mutex<HashMap<PhotoKey, PhotoCell>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StandIn {
    /// Binds `options.bind` and starts serving in background threads.
    pub fn start(options: Options) -> io::Result<StandIn> {
        let listener = TcpListener::bind(options.bind)?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            addr,
            options,
            stop: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            streams: Mutex::new(HashMap::new()),
            versions: Mutex::new(HashMap::new()),
            busy_counts: Mutex::new(HashMap::new()),
            photos: Mutex::new(HashMap::new()),
        });
        let accept_inner = Arc::clone(&inner);
        let accept = thread::Builder::new()
            .name("standin-accept".into())
            .spawn(move || accept_loop(accept_inner, listener))?;
        Ok(StandIn {
            inner,
            accept: Some(accept),
        })
    }

    /// The EWS URL, e.g. `http://127.0.0.1:PORT/EWS/Exchange.asmx`.
    pub fn url(&self) -> String {
        format!("http://{}{}", host_port(self.inner.addr), EWS_PATH)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Every request received so far (401s included), in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner.requests).clone()
    }

    /// How many recorded requests targeted this address (case-insensitive).
    pub fn requests_for(&self, email: &str) -> usize {
        lock(&self.inner.requests)
            .iter()
            .filter(|r| {
                r.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .count()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.inner.connections.load(Ordering::SeqCst)
    }

    /// Sets the photo version of an address (default 0), which changes its
    /// photo bytes and ETag.
    pub fn set_photo_version(&self, email: &str, version: u32) {
        lock(&self.inner.versions).insert(email.to_lowercase(), version);
    }

    /// The JPEG served for this size code and version, so tests can compare.
    /// Unknown size codes give the HR96x96 picture.
    pub fn photo_bytes(&self, size: &str, version: u32) -> Vec<u8> {
        self.inner.picture(size, version, false).to_vec()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        let woke =
            TcpStream::connect_timeout(&connect_addr(self.inner.addr), Duration::from_secs(2));
        if let Some(handle) = self.accept.take()
            && woke.is_ok()
        {
            let _ = handle.join();
        }
        for stream in lock(&self.inner.streams).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// The ETag the server sends for an address, size code and photo version:
/// quoted 32-bit FNV-1a of `lowercase(email)|size|version` in hex, e.g.
/// `"\"1a2b3c4d\""`.
pub fn etag_for(email: &str, size: &str, version: u32) -> String {
    let key = format!("{}|{}|{}", email.to_lowercase(), size, version);
    format!("\"{:08x}\"", fnv1a(key.as_bytes()))
}

fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn connect_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

fn host_port(addr: SocketAddr) -> String {
    connect_addr(addr).to_string()
}

fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    for stream in listener.incoming() {
        if inner.stop.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(_) => {
                thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        let id = inner.connections.fetch_add(1, Ordering::SeqCst) + 1;
        if let Ok(clone) = stream.try_clone() {
            lock(&inner.streams).insert(id, clone);
        }
        let conn_inner = Arc::clone(&inner);
        let spawned = thread::Builder::new()
            .name(format!("standin-conn-{id}"))
            .spawn(move || {
                serve_connection(&conn_inner, stream, id);
                lock(&conn_inner.streams).remove(&id);
            });
        if spawned.is_err() {
            lock(&inner.streams).remove(&id);
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP layer

struct Request {
    method: String,
    target: String,
    path: String,
    query: String,
    http10: bool,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    fn wants_close(&self) -> bool {
        if self.http10 {
            !self.has_token("connection", "keep-alive")
        } else {
            self.has_token("connection", "close")
        }
    }
}

enum ReadError {
    /// Answer with this status and close.
    Status(u16),
    /// Connection broken or closed.
    Gone,
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Gone
    }
}

/// Reads one line, charging its length against `budget`.
fn read_line(reader: &mut impl BufRead, budget: &mut u64) -> Result<Vec<u8>, ReadError> {
    let mut line = Vec::new();
    let n = reader.by_ref().take(*budget).read_until(b'\n', &mut line)?;
    *budget -= n as u64;
    if n == 0 {
        return Err(ReadError::Gone);
    }
    if line.last() != Some(&b'\n') {
        return Err(if *budget == 0 {
            ReadError::Status(431)
        } else {
            ReadError::Gone
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

fn read_request(reader: &mut impl BufRead, writer: &mut TcpStream) -> Result<Request, ReadError> {
    let mut budget = MAX_HEADERS;
    let mut line = read_line(reader, &mut budget)?;
    while line.is_empty() {
        line = read_line(reader, &mut budget)?;
    }
    let line = String::from_utf8(line).map_err(|_| ReadError::Status(400))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Status(400));
    };
    if method.is_empty() || target.is_empty() || !version.starts_with("HTTP/1.") {
        return Err(ReadError::Status(400));
    }
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, &mut budget)?;
        if line.is_empty() {
            break;
        }
        let line = String::from_utf8_lossy(&line);
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Status(400));
        };
        if name.is_empty() || name.starts_with([' ', '\t']) || name.ends_with([' ', '\t']) {
            return Err(ReadError::Status(400));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    };
    let mut req = Request {
        method: method.to_string(),
        target: target.to_string(),
        path,
        query,
        http10: version == "HTTP/1.0",
        headers,
        body: Vec::new(),
    };
    if req.header("transfer-encoding").is_some() {
        return Err(ReadError::Status(411));
    }
    let lengths: Vec<&str> = req
        .headers
        .iter()
        .filter(|(n, _)| n == "content-length")
        .map(|(_, v)| v.as_str())
        .collect();
    let length = match lengths.first() {
        None if req.method == "POST" || req.method == "PUT" => return Err(ReadError::Status(411)),
        None => 0,
        Some(first) => {
            if lengths.iter().any(|l| l != first) || !first.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ReadError::Status(400));
            }
            first.parse::<u64>().map_err(|_| ReadError::Status(400))?
        }
    };
    if length > MAX_BODY {
        return Err(ReadError::Status(413));
    }
    if length > 0 {
        if req.has_token("expect", "100-continue") {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let mut body = vec![0; length as usize];
        reader.read_exact(&mut body)?;
        req.body = body;
    }
    Ok(req)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// A complete response.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        self.headers
            .push(("Content-Type", content_type.to_string()));
        self.body = body.into();
        self
    }

    fn xml(self, body: String) -> Reply {
        self.body("text/xml; charset=utf-8", body)
    }
}

/// What to send back.
enum Action {
    Reply(Reply),
    /// Headers announce `head + payload + tail`; the payload is `raw` padded
    /// with zeros to its full length, base64-encoded when `base64` is set.
    Huge {
        reply: Reply,
        raw: Arc<Vec<u8>>,
        base64: bool,
        tail: Vec<u8>,
    },
    /// Headers announce the full body, half of it is sent, then silence.
    Stall(Reply),
    /// Headers announce 4 KiB more than the body; the body, then the connection closes.
    Short(Reply),
    /// Chunked body of `A`s forever.
    Endless(Reply),
}

fn head_bytes(
    status: u16,
    headers: &[(&'static str, String)],
    length: Option<usize>,
    close: bool,
) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", status, reason(status));
    head.push_str(&format!(
        "Date: {}\r\nServer: ews-standin\r\n",
        http_date(SystemTime::now())
    ));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match length {
        Some(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
        None => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

fn serve_connection(inner: &Inner, stream: TcpStream, id: u64) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while !inner.stopped() {
        let req = match read_request(&mut reader, &mut writer) {
            Ok(req) => req,
            Err(ReadError::Gone) => return,
            Err(ReadError::Status(status)) => {
                let _ = writer.write_all(&head_bytes(status, &[], Some(0), true));
                let _ = writer.flush();
                return;
            }
        };
        let close = req.wants_close();
        let action = inner.handle(id, req);
        if !inner.options.latency.is_zero() {
            thread::sleep(inner.options.latency);
        }
        if inner.stopped() {
            return;
        }
        match write_action(inner, &mut writer, action, close) {
            Ok(true) if !close => {}
            _ => return,
        }
    }
}

/// Writes the response; `Ok(true)` if the connection can be reused.
fn write_action(inner: &Inner, w: &mut TcpStream, action: Action, close: bool) -> io::Result<bool> {
    match action {
        Action::Reply(r) => {
            let mut out = head_bytes(r.status, &r.headers, Some(r.body.len()), close);
            out.extend_from_slice(&r.body);
            w.write_all(&out)?;
            w.flush()?;
            Ok(true)
        }
        Action::Huge {
            reply,
            raw,
            base64,
            tail,
        } => {
            let total = reply.body.len() + HUGE_LEN + tail.len();
            w.write_all(&head_bytes(
                reply.status,
                &reply.headers,
                Some(total),
                close,
            ))?;
            w.write_all(&reply.body)?;
            let raw_len = if base64 { HUGE_LEN / 4 * 3 } else { HUGE_LEN };
            let mut chunk = vec![0u8; HUGE_CHUNK];
            let mut offset = 0;
            while offset < raw_len {
                if inner.stopped() {
                    return Ok(false);
                }
                let n = HUGE_CHUNK.min(raw_len - offset);
                chunk[..n].fill(0);
                if offset < raw.len() {
                    let m = n.min(raw.len() - offset);
                    chunk[..m].copy_from_slice(&raw[offset..offset + m]);
                }
                if base64 {
                    w.write_all(B64.encode(&chunk[..n]).as_bytes())?;
                } else {
                    w.write_all(&chunk[..n])?;
                }
                offset += n;
            }
            w.write_all(&tail)?;
            w.flush()?;
            Ok(true)
        }
        Action::Stall(r) => {
            let mut out = head_bytes(r.status, &r.headers, Some(r.body.len()), close);
            out.extend_from_slice(&r.body[..r.body.len() / 2]);
            w.write_all(&out)?;
            w.flush()?;
            // Stay silent for 60 s, but give up early when the client hangs up.
            w.set_read_timeout(Some(Duration::from_millis(20)))?;
            let until = Instant::now() + Duration::from_secs(60);
            let mut scratch = [0u8; 1024];
            while Instant::now() < until && !inner.stopped() {
                match w.read(&mut scratch) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
            Ok(false)
        }
        Action::Short(r) => {
            let mut out = head_bytes(r.status, &r.headers, Some(r.body.len() + 4096), true);
            out.extend_from_slice(&r.body);
            w.write_all(&out)?;
            w.flush()?;
            Ok(false)
        }
        Action::Endless(r) => {
            w.write_all(&head_bytes(r.status, &r.headers, None, close))?;
            let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
            chunk.extend(std::iter::repeat_n(b'A', 64 * 1024));
            chunk.extend_from_slice(b"\r\n");
            while !inner.stopped() {
                w.write_all(&chunk)?;
            }
            Ok(false)
        }
    }
}

// ---------------------------------------------------------------------------
// Request handling

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
}

/// Prefixes, longest first so that `nophotoempty` wins over `nophoto`.
const PREFIXES: [(&str, Scenario); 24] = [
    ("nophotoempty", Scenario::NoPhotoEmpty),
    ("shortbody", Scenario::ShortBody),
    ("gzipbomb", Scenario::GzipBomb),
    ("doctype", Scenario::Doctype),
    ("deep", Scenario::Deep),
    ("mailboxgone", Scenario::MailboxGone),
    ("busyfault-", Scenario::BusyFault(1)),
    ("busyerror-", Scenario::BusyError(1)),
    ("truncated", Scenario::Truncated),
    ("busy503-", Scenario::Busy503(1)),
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
                other => other,
            };
        }
    }
    Scenario::Default
}

impl Inner {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn handle(&self, connection: u64, req: Request) -> Action {
        let path = req.path.to_ascii_lowercase();
        let form = if req.method == "POST" && path == EWS_PATH.to_ascii_lowercase() {
            Some(Form::Soap)
        } else if req.method == "GET" && path == REST_PATH.to_ascii_lowercase() {
            Some(Form::Rest)
        } else {
            None
        };
        let soap_text = String::from_utf8_lossy(&req.body).into_owned();
        let params = parse_query(&req.query);
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let (email, size) = match form {
            Some(Form::Soap) => (
                element_text(&soap_text, "Email"),
                element_text(&soap_text, "SizeRequested"),
            ),
            Some(Form::Rest) => (param("email"), param("size")),
            None => (None, None),
        };
        lock(&self.requests).push(Recorded {
            connection,
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            email: email.clone(),
            at: Instant::now(),
        });

        if let Some(reply) = self.check_auth(&req) {
            return Action::Reply(reply);
        }
        let Some(form) = form else {
            return Action::Reply(Reply::new(404));
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
        let email = email.unwrap_or_default();
        self.scenario(form, &req, &email, &size)
    }

    fn check_auth(&self, req: &Request) -> Option<Reply> {
        let authorization = req.header("authorization").unwrap_or("");
        let (scheme, credentials) = authorization.split_once(' ').unwrap_or((authorization, ""));
        let credentials = credentials.trim();
        match &self.options.auth {
            Auth::None => None,
            Auth::Basic { user, password } => {
                let ok = scheme.eq_ignore_ascii_case("basic")
                    && B64.decode(credentials).ok().as_deref()
                        == Some(format!("{user}:{password}").as_bytes());
                (!ok).then(|| Reply::new(401).header("WWW-Authenticate", "Basic realm=\"standin\""))
            }
            Auth::Bearer { token } => {
                let bearer = scheme.eq_ignore_ascii_case("bearer");
                if bearer && credentials == token {
                    return None;
                }
                let challenge = if bearer {
                    "Bearer realm=\"standin\", error=\"invalid_token\""
                } else {
                    "Bearer realm=\"standin\""
                };
                Some(Reply::new(401).header("WWW-Authenticate", challenge))
            }
            Auth::Challenge(list) => {
                let mut reply = Reply::new(401);
                for entry in list {
                    reply = reply.header("WWW-Authenticate", entry.clone());
                }
                Some(
                    reply
                        .header("Pragma", "no-cache")
                        .header("Cache-Control", "no-cache")
                        .body("text/html", CHALLENGE_PAGE),
                )
            }
        }
    }

    fn busy_count(&self, email: &str) -> u64 {
        let mut counts = lock(&self.busy_counts);
        let count = counts.entry(email.to_lowercase()).or_insert(0);
        *count += 1;
        *count
    }

    fn scenario(&self, form: Form, req: &Request, email: &str, size: &str) -> Action {
        let soap = form == Form::Soap;
        let backoff = self.options.backoff_ms;
        let port = self.addr.port();
        let scenario = scenario_for(email);
        let simple = |status| Action::Reply(Reply::new(status));
        match scenario {
            Scenario::NoPhoto => {
                let reply = Reply::new(404).header("Expires", expires(1));
                return Action::Reply(if soap {
                    reply.xml(soap_photo(true, None, None))
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
                return Action::Reply(Reply::new(500).xml(busy_fault(backoff)));
            }
            Scenario::BusyError(n) if self.busy_count(email) <= n => {
                if !soap {
                    return simple(503);
                }
                let body = soap_error(BUSY_TEXT, "ErrorServerBusy", Some(backoff));
                return Action::Reply(Reply::new(200).xml(body));
            }
            Scenario::Busy503(n) if self.busy_count(email) <= n => return simple(503),
            Scenario::Html => {
                return Action::Reply(Reply::new(200).body("text/html; charset=utf-8", LOGIN_PAGE));
            }
            Scenario::ShortBody => {
                let bytes = self.picture(size, 0, false);
                return Action::Short(if soap {
                    Reply::new(200).xml(soap_photo(
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
                return Action::Reply(Reply::new(200).xml(BILLION_LAUGHS.to_string()));
            }
            Scenario::Deep => return Action::Reply(Reply::new(200).xml(deep_xml(200_000))),
            Scenario::Redirect => {
                return Action::Reply(
                    Reply::new(302)
                        .header("Location", format!("http://localhost:{port}{}", req.target)),
                );
            }
            Scenario::Loop => {
                return Action::Reply(Reply::new(302).header(
                    "Location",
                    format!("http://{}{}", host_port(self.addr), req.target),
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
                return Action::Reply(Reply::new(200).xml(soap_error(text, code, None)));
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
                ok(200).xml(soap_photo(false, None, None))
            } else {
                ok(304)
            });
        }
        let (bytes, content_type): (Arc<Vec<u8>>, &str) = match scenario {
            Scenario::Small => (self.picture("HR96x96", version, false), "image/jpeg"),
            Scenario::Png => (self.picture(size, version, true), "image/jpeg"),
            Scenario::Clear => (Arc::new(CLEAR_GIF.to_vec()), "image/gif"),
            Scenario::NotImage => (Arc::new(NOT_IMAGE.to_vec()), "image/jpeg"),
            _ => (self.picture(size, version, false), "image/jpeg"),
        };
        match scenario {
            Scenario::Truncated => {
                if soap {
                    let b64 = B64.encode(bytes.as_slice());
                    let cut = (b64.len() / 2) / 4 * 4 - 7;
                    Action::Reply(ok(200).xml(soap_photo(
                        true,
                        Some(&b64[..cut]),
                        Some(content_type),
                    )))
                } else {
                    Action::Reply(ok(200).body(content_type, &bytes[..bytes.len() / 2]))
                }
            }
            Scenario::Wrapped if soap => {
                Action::Reply(ok(200).xml(soap_wrapped(&bytes, content_type)))
            }
            Scenario::Huge => {
                if soap {
                    let full = soap_photo(true, Some("\u{0}"), Some(content_type));
                    let (head, tail) = full.split_once('\u{0}').unwrap_or((&full, ""));
                    let reply = ok(200).xml(head.to_string());
                    // Pad the JPEG to a multiple of 3 so that chunked base64 concatenates.
                    let mut raw = bytes.to_vec();
                    raw.resize(raw.len().div_ceil(3) * 3, 0);
                    Action::Huge {
                        reply,
                        raw: Arc::new(raw),
                        base64: true,
                        tail: tail.as_bytes().to_vec(),
                    }
                } else {
                    Action::Huge {
                        reply: ok(200).header("Content-Type", content_type),
                        raw: bytes,
                        base64: false,
                        tail: Vec::new(),
                    }
                }
            }
            Scenario::Stall => {
                if soap {
                    let body = soap_photo(
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
                    let body = soap_photo(
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

    /// The cached JPEG (or PNG) for a size code and version.
    fn picture(&self, size: &str, version: u32, png: bool) -> Arc<Vec<u8>> {
        let size = if SIZES.contains(&size) {
            size
        } else {
            "HR96x96"
        };
        let cell = Arc::clone(
            lock(&self.photos)
                .entry((size.to_string(), version, png))
                .or_default(),
        );
        Arc::clone(cell.get_or_init(|| Arc::new(render(size, version, png))))
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

// ---------------------------------------------------------------------------
// XML helpers

/// Text of the first element with this local name (any prefix), trimmed and
/// unescaped.
fn element_text(doc: &str, local: &str) -> Option<String> {
    let mut from = 0;
    while let Some(pos) = doc[from..].find('<') {
        let start = from + pos + 1;
        from = start;
        let rest = &doc[start..];
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.starts_with(['/', '?', '!']) || name.rsplit(':').next() != Some(local) {
            continue;
        }
        let tag_end = start + rest.find('>')?;
        if doc[..tag_end].ends_with('/') {
            return Some(String::new());
        }
        let content = &doc[tag_end + 1..];
        let end = content.find("</")?;
        return Some(xml_unescape(content[..end].trim()));
    }
    None
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn server_version_header() -> String {
    format!(
        "<s:Header><h:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"2\" MajorBuildNumber=\"1544\" \
MinorBuildNumber=\"4\" Version=\"V2018_01_08\" xmlns:h=\"{TYPES_NS}\" xmlns=\"{TYPES_NS}\" \
xmlns:xsd=\"{XSD_NS}\" xmlns:xsi=\"{XSI_NS}\"/></s:Header>"
    )
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{SOAP_NS}\">{}\
<s:Body xmlns:xsi=\"{XSI_NS}\" xmlns:xsd=\"{XSD_NS}\">{body}</s:Body></s:Envelope>",
        server_version_header()
    )
}

/// A `ResponseClass="Success"` GetUserPhotoResponse like the official sample.
fn soap_photo(has_changed: bool, picture: Option<&str>, content_type: Option<&str>) -> String {
    let picture = match picture {
        Some(p) => format!("<PictureData>{p}</PictureData>"),
        None => "<PictureData/>".to_string(),
    };
    let content_type = content_type
        .filter(|_| picture != "<PictureData/>")
        .map(|c| format!("<ContentType>{c}</ContentType>"))
        .unwrap_or_default();
    envelope(&format!(
        "<GetUserPhotoResponse ResponseClass=\"Success\" xmlns=\"{MSG_NS}\"><ResponseCode>NoError</ResponseCode>\
<HasChanged>{has_changed}</HasChanged>{picture}{content_type}</GetUserPhotoResponse>"
    ))
}

/// A `ResponseClass="Error"` GetUserPhotoResponse with `m:`/`t:` prefixes.
fn soap_error(text: &str, code: &str, backoff: Option<u64>) -> String {
    let message_xml = backoff
        .map(|b| {
            format!(
                "<m:MessageXml><t:Value Name=\"BackOffMilliseconds\">{b}</t:Value></m:MessageXml>"
            )
        })
        .unwrap_or_default();
    envelope(&format!(
        "<m:GetUserPhotoResponse ResponseClass=\"Error\" xmlns:m=\"{MSG_NS}\" xmlns:t=\"{TYPES_NS}\">\
<m:MessageText>{}</m:MessageText><m:ResponseCode>{code}</m:ResponseCode>\
<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{message_xml}<m:HasChanged>false</m:HasChanged>\
</m:GetUserPhotoResponse>",
        xml_escape(text)
    ))
}

/// The ErrorServerBusy fault, shaped like exchangelib's fixture.
fn busy_fault(backoff: u64) -> String {
    format!(
        "<?xml version='1.0' encoding='utf-8'?>
<s:Envelope xmlns:s=\"{SOAP_NS}\">
  <s:Body>
    <s:Fault>
      <faultcode xmlns:a=\"{TYPES_NS}\">a:ErrorServerBusy</faultcode>
      <faultstring xml:lang=\"en-US\">{BUSY_TEXT}</faultstring>
      <detail>
        <e:ResponseCode xmlns:e=\"{ERRORS_NS}\">
          ErrorServerBusy
        </e:ResponseCode>
        <e:Message xmlns:e=\"{ERRORS_NS}\">
          {BUSY_TEXT}
        </e:Message>
        <t:MessageXml xmlns:t=\"{TYPES_NS}\">
          <t:Value Name=\"BackOffMilliseconds\">{backoff}</t:Value>
        </t:MessageXml>
      </detail>
    </s:Fault>
  </s:Body>
</s:Envelope>
"
    )
}

/// HTTP 500 with a SOAP fault `a:{code}`.
fn fault(code: &str, faultstring: &str, message: &str) -> Action {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{SOAP_NS}\"><s:Body><s:Fault>\
<faultcode xmlns:a=\"{TYPES_NS}\">a:{code}</faultcode><faultstring xml:lang=\"en-US\">{}</faultstring>\
<detail><e:ResponseCode xmlns:e=\"{ERRORS_NS}\">{code}</e:ResponseCode>\
<e:Message xmlns:e=\"{ERRORS_NS}\">{}</e:Message></detail></s:Fault></s:Body></s:Envelope>",
        xml_escape(faultstring),
        xml_escape(message)
    );
    Action::Reply(Reply::new(500).xml(body))
}

/// Success with `soap:`/`m:`/`t:` prefixes, wrapped base64 and padded text.
fn soap_wrapped(bytes: &[u8], content_type: &str) -> String {
    let b64 = B64.encode(bytes);
    let mut wrapped = String::new();
    for line in b64.as_bytes().chunks(76) {
        wrapped.push_str("\r\n        ");
        wrapped.push_str(std::str::from_utf8(line).unwrap_or_default());
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n\
<soap:Envelope xmlns:soap=\"{SOAP_NS}\" xmlns:m=\"{MSG_NS}\" xmlns:t=\"{TYPES_NS}\">\r\n  <soap:Header>\r\n    \
<t:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"2\" MajorBuildNumber=\"1544\" MinorBuildNumber=\"4\" Version=\"V2018_01_08\"/>\r\n  \
</soap:Header>\r\n  <soap:Body>\r\n    <m:GetUserPhotoResponse ResponseClass=\"Success\">\r\n      \
<m:ResponseCode>\r\n        NoError\r\n      </m:ResponseCode>\r\n      <m:HasChanged>true</m:HasChanged>\r\n      \
<m:PictureData>{wrapped}\r\n      </m:PictureData>\r\n      <m:ContentType>{content_type}</m:ContentType>\r\n    \
</m:GetUserPhotoResponse>\r\n  </soap:Body>\r\n</soap:Envelope>\r\n"
    )
}

// ---------------------------------------------------------------------------
// Misc

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decodes; a raw `+` stays `+`, invalid escapes are kept as is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 1123 date, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn dimensions(size: &str) -> (u32, u32) {
    match size {
        "HR1024xN" => (1024, 768),
        "HR1920xN" => (1920, 1440),
        _ => size
            .strip_prefix("HR")
            .and_then(|s| s.split('x').next())
            .and_then(|n| n.parse().ok())
            .map(|n| (n, n))
            .unwrap_or((96, 96)),
    }
}

/// Draws the deterministic picture: a gradient, a head-like disc and a
/// version-dependent colour band; encodes it as JPEG (quality 85) or PNG.
fn render(size: &str, version: u32, png: bool) -> Vec<u8> {
    let (w, h) = dimensions(size);
    let hash = fnv1a(&version.to_le_bytes());
    let band = [(hash >> 16) as u8, (hash >> 8) as u8, hash as u8];
    let band_top = h * (2 + version % 6) / 10;
    let band_bottom = band_top + (h / 8).max(1);
    let (cx, cy, r) = (w as i64 / 2, h as i64 * 2 / 5, (w.min(h) / 5).max(1) as i64);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as i64 - cx, y as i64 - cy);
        if y >= band_top && y < band_bottom {
            image::Rgb(band)
        } else if dx * dx + dy * dy <= r * r {
            image::Rgb([230, 190, 160])
        } else {
            image::Rgb([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x + y) * 127 / (w + h)) as u8 + 64,
            ])
        }
    });
    let mut out = Vec::new();
    let result = if png {
        img.write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
    } else {
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 85,
        ))
    };
    result.expect("encoding an in-memory image cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Response {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
    }

    struct Client {
        reader: BufReader<TcpStream>,
    }

    impl Client {
        fn connect(server: &StandIn) -> Client {
            let stream = TcpStream::connect(server.addr()).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            Client {
                reader: BufReader::new(stream),
            }
        }

        fn send(
            &mut self,
            method: &str,
            target: &str,
            headers: &[(&str, &str)],
            body: &[u8],
        ) -> Response {
            let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            for (n, v) in headers {
                req.push_str(&format!("{n}: {v}\r\n"));
            }
            if method == "POST" {
                req.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            req.push_str("\r\n");
            let mut bytes = req.into_bytes();
            bytes.extend_from_slice(body);
            self.reader.get_mut().write_all(&bytes).unwrap();

            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let status = line.split(' ').nth(1).unwrap().parse().unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (n, v) = line.split_once(':').unwrap();
                headers.push((n.to_string(), v.trim().to_string()));
            }
            let mut resp = Response {
                status,
                headers,
                body: Vec::new(),
            };
            let len: usize = resp.header("content-length").unwrap().parse().unwrap();
            let mut body = vec![0; len];
            self.reader.read_exact(&mut body).unwrap();
            resp.body = body;
            resp
        }

        fn soap(&mut self, email: &str, size: &str, headers: &[(&str, &str)]) -> Response {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_NS}\" \
xmlns:t=\"{TYPES_NS}\" xmlns:m=\"{MSG_NS}\"><soap:Header><t:RequestServerVersion Version=\"Exchange2013\"/>\
</soap:Header><soap:Body><m:GetUserPhoto><m:Email>{email}</m:Email><m:SizeRequested>{size}</m:SizeRequested>\
</m:GetUserPhoto></soap:Body></soap:Envelope>"
            );
            let mut all = vec![("Content-Type", "text/xml; charset=utf-8")];
            all.extend_from_slice(headers);
            self.send("POST", EWS_PATH, &all, body.as_bytes())
        }
    }

    fn picture_data(xml: &str) -> Vec<u8> {
        let text = element_text(xml, "PictureData").unwrap();
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        B64.decode(clean).unwrap()
    }

    #[test]
    fn soap_success_is_a_decodable_jpeg() {
        let server = StandIn::start(Options::default()).unwrap();
        let mut c = Client::connect(&server);
        let r = c.soap("alice@contoso.com", "HR240x240", &[]);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/xml; charset=utf-8"));
        assert_eq!(
            r.header("etag"),
            Some(etag_for("Alice@Contoso.com", "HR240x240", 0).as_str())
        );
        assert!(r.header("expires").unwrap().ends_with(" GMT"));
        let xml = r.text();
        assert!(xml.contains("<ResponseCode>NoError</ResponseCode>"));
        assert!(xml.contains("<ContentType>image/jpeg</ContentType>"));
        let bytes = picture_data(&xml);
        assert_eq!(bytes, server.photo_bytes("HR240x240", 0));
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (240, 240));
        assert_eq!(server.requests_for("ALICE@contoso.com"), 1);

        let r = c.send(
            "GET",
            "/EWS/Exchange.asmx/s/GetUserPhoto?email=alice%40contoso.com&size=HR1024xN",
            &[],
            b"",
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("image/jpeg"));
        let img = image::load_from_memory(&r.body).unwrap();
        assert_eq!((img.width(), img.height()), (1024, 768));
    }

    #[test]
    fn if_none_match_gives_unchanged_and_304() {
        let server = StandIn::start(Options::default()).unwrap();
        let mut c = Client::connect(&server);
        let etag = etag_for("bob@contoso.com", "HR96x96", 0);
        let r = c.soap("bob@contoso.com", "HR96x96", &[("If-None-Match", &etag)]);
        assert_eq!(r.status, 200);
        assert!(
            r.text()
                .contains("<HasChanged>false</HasChanged><PictureData/>")
        );
        assert!(!r.text().contains("ContentType"));
        assert_eq!(r.header("etag"), Some(etag.as_str()));

        let rest = "/EWS/Exchange.asmx/s/GetUserPhoto?email=bob@contoso.com&size=HR96x96";
        let bare = etag.trim_matches('"');
        let r = c.send("GET", rest, &[("If-None-Match", bare)], b"");
        assert_eq!(r.status, 304);
        assert!(r.body.is_empty());

        server.set_photo_version("BOB@contoso.com", 1);
        let r = c.send("GET", rest, &[("If-None-Match", &etag)], b"");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, server.photo_bytes("HR96x96", 1));
        assert_ne!(r.body, server.photo_bytes("HR96x96", 0));
        assert_eq!(
            r.header("etag"),
            Some(etag_for("bob@contoso.com", "HR96x96", 1).as_str())
        );
    }

    #[test]
    fn busyfault_then_success() {
        let server = StandIn::start(Options {
            backoff_ms: 25,
            ..Options::default()
        })
        .unwrap();
        let mut c = Client::connect(&server);
        let r = c.soap("busyfault-1@contoso.com", "HR48x48", &[]);
        assert_eq!(r.status, 500);
        let xml = r.text();
        assert!(xml.contains("a:ErrorServerBusy</faultcode>"));
        assert!(xml.contains("<t:Value Name=\"BackOffMilliseconds\">25</t:Value>"));
        let r = c.soap("BusyFault-1@contoso.com", "HR48x48", &[]);
        assert_eq!(r.status, 200);
        assert_eq!(picture_data(&r.text()), server.photo_bytes("HR48x48", 0));
    }

    #[test]
    fn keep_alive_reuses_one_connection() {
        let server = StandIn::start(Options::default()).unwrap();
        let mut c = Client::connect(&server);
        assert_eq!(c.soap("a@x.org", "HR64x64", &[]).status, 200);
        assert_eq!(c.soap("nophoto@x.org", "HR64x64", &[]).status, 404);
        assert_eq!(server.connections(), 1);
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert!(requests.iter().all(|r| r.connection == 1));
        assert_eq!(requests[1].email.as_deref(), Some("nophoto@x.org"));
    }

    #[test]
    fn basic_auth_401_then_200() {
        let server = StandIn::start(Options {
            auth: Auth::Basic {
                user: "u".into(),
                password: "p".into(),
            },
            ..Options::default()
        })
        .unwrap();
        let mut c = Client::connect(&server);
        let r = c.soap("a@x.org", "HR48x48", &[]);
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"standin\"")
        );
        assert!(r.body.is_empty());
        let auth = format!("Basic {}", B64.encode("u:p"));
        let r = c.soap("a@x.org", "HR48x48", &[("Authorization", &auth)]);
        assert_eq!(r.status, 200);
        assert_eq!(server.requests().len(), 2);
        assert_eq!(
            server.requests()[1].header("Authorization"),
            Some(auth.as_str())
        );
    }

    #[test]
    fn validation_and_query_decoding() {
        let server = StandIn::start(Options::default()).unwrap();
        let mut c = Client::connect(&server);
        let r = c.soap("a@x.org", "HR96X96", &[]);
        assert_eq!(r.status, 500);
        assert!(r.text().contains("a:ErrorSchemaValidation"));
        let r = c.soap("nobody", "HR96x96", &[]);
        assert!(r.text().contains("a:ErrorInvalidSmtpAddress"));
        let r = c.send(
            "GET",
            "/EWS/Exchange.asmx/s/GetUserPhoto?email=a%2Bb+c@x.org&size=HR1x1",
            &[],
            b"",
        );
        assert_eq!(r.status, 400);
        assert_eq!(server.requests()[2].email.as_deref(), Some("a+b+c@x.org"));
        assert_eq!(c.send("GET", "/nope", &[], b"").status, 404);
    }

    #[test]
    fn bearer_and_challenge_auth() {
        let server = StandIn::start(Options {
            auth: Auth::Bearer {
                token: "t0k".into(),
            },
            ..Options::default()
        })
        .unwrap();
        let mut c = Client::connect(&server);
        let r = c.soap("a@x.org", "HR48x48", &[]);
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"standin\"")
        );
        let r = c.soap("a@x.org", "HR48x48", &[("Authorization", "Bearer nope")]);
        assert!(
            r.header("www-authenticate")
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
        let r = c.soap("a@x.org", "HR48x48", &[("Authorization", "Bearer t0k")]);
        assert_eq!(r.status, 200);
        drop(server);

        let server = StandIn::start(Options {
            auth: Auth::Challenge(vec!["Negotiate".into(), "NTLM".into()]),
            ..Options::default()
        })
        .unwrap();
        let mut c = Client::connect(&server);
        let r = c.soap("a@x.org", "HR48x48", &[]);
        assert_eq!(r.status, 401);
        let challenges: Vec<_> = r
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
            .collect();
        assert_eq!(challenges.len(), 2);
        assert_eq!(r.header("content-type"), Some("text/html"));
        assert!(!r.body.is_empty());
        // The connection survives the 401.
        assert_eq!(c.soap("a@x.org", "HR48x48", &[]).status, 401);
        assert_eq!(server.connections(), 1);
    }

    #[test]
    fn drop_stops_the_server() {
        let server = StandIn::start(Options::default()).unwrap();
        let addr = server.addr();
        let mut idle = Client::connect(&server);
        assert_eq!(idle.soap("a@x.org", "HR48x48", &[]).status, 200);
        drop(server);
        let mut buf = [0u8; 1];
        assert_eq!(idle.reader.read(&mut buf).unwrap_or(0), 0);
        assert!(TcpStream::connect(addr).is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(scenario_for("NoPhotoEmpty2@x"), Scenario::NoPhotoEmpty);
        assert_eq!(scenario_for("nophoto-bob@x"), Scenario::NoPhoto);
        assert_eq!(scenario_for("busyerror-3@x"), Scenario::BusyError(3));
        assert_eq!(scenario_for("alice@x"), Scenario::Default);
        assert_eq!(
            element_text("<a:Email xmlns:a='x'> a&amp;b@c </a:Email>", "Email").as_deref(),
            Some("a&b@c")
        );
        assert!(etag_matches("W/\"abc\", \"def\"", "\"def\""));
    }
}
