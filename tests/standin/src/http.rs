//! The HTTP/1.1 machinery every stand-in shares: the accept loop, one thread per
//! connection, request parsing, keep-alive, the record of every request, the
//! configured latency, and the writing of each answer (including the broken
//! ones: stalled, cut short, endless).
//!
//! A stand-in is a [`Handler`]: it looks at one parsed [`Request`] and says what
//! to send back as an [`Action`]. [`Server::start`] serves one handler on its
//! own port; a stand-in for another service (Graph, Autodiscover, an OAuth token
//! endpoint) is another handler on another [`Server`], and
//! [`crate::tls::TlsFront`] puts TLS in front of any of them.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ews_standin::http::{Action, Reply, Request, Server};
//!
//! let hello = |request: &Request| {
//!     Action::Reply(Reply::new(200).body("text/plain", format!("hello {}", request.path)))
//! };
//! let server = Server::start("127.0.0.1:0".parse().unwrap(), Duration::ZERO, Arc::new(hello))?;
//! let mut stream = std::net::TcpStream::connect(server.addr())?;
//! stream.write_all(b"GET /there HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut answer = String::new();
//! stream.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with("hello /there"));
//! assert_eq!(server.requests()[0].path, "/there");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::lock;

/// Limits that keep a broken or hostile client from making the server hold
/// unbounded memory.
const MAX_HEADERS: u64 = 64 * 1024;
const MAX_BODY: u64 = 1024 * 1024;
/// [`Action::Huge`] payloads are made and written in pieces of this size. A
/// multiple of 3, so that base64 of each piece concatenates into valid base64.
const HUGE_CHUNK: usize = 48 * 1024;

/// What a stand-in does with each request. The server calls [`Handler::email`]
/// to record the request, then [`Handler::handle`] for the answer, on the
/// connection's own thread (so a handler must be `Sync`; state that changes
/// goes behind a `Mutex`).
///
/// Any `Fn(&Request) -> Action` closure is a handler that records no address.
pub trait Handler: Send + Sync + 'static {
    /// The mailbox address this request is about, kept in [`Recorded::email`]
    /// so that tests can count requests per user. Called for every request,
    /// before [`Handler::handle`].
    fn email(&self, _request: &Request) -> Option<String> {
        None
    }

    /// The answer to one request.
    fn handle(&self, request: &Request) -> Action;
}

impl<F> Handler for F
where
    F: Fn(&Request) -> Action + Send + Sync + 'static,
{
    fn handle(&self, request: &Request) -> Action {
        self(request)
    }
}

/// One parsed request, as a [`Handler`] sees it.
#[derive(Clone, Debug)]
pub struct Request {
    /// Id of the TCP connection it arrived on (1 for the first connection).
    pub connection: u64,
    /// The address the server listens on, for answers that name the server
    /// itself (a redirect to the same host).
    pub server: SocketAddr,
    /// HTTP method.
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    /// Path part of the request target (before `?`).
    pub path: String,
    /// Raw query string (after `?`, not decoded; empty if none).
    pub query: String,
    /// Headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
    http10: bool,
}

impl Request {
    /// The first header with this name (give it lower-case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a comma-separated header (lower-case name) lists this token,
    /// case-insensitively (`Connection: keep-alive`, `Expect: 100-continue`).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The first query parameter with this name (case-insensitive),
    /// percent-decoded (a raw `+` stays `+`).
    pub fn query_param(&self, name: &str) -> Option<String> {
        parse_query(&self.query)
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn wants_close(&self) -> bool {
        if self.http10 {
            !self.has_token("connection", "keep-alive")
        } else {
            self.has_token("connection", "close")
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
    /// The target address, as the handler read it ([`Handler::email`]): for
    /// EWS, the SOAP `Email` element or the REST `email` query parameter.
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

/// A complete response. `Date`, `Server`, `Content-Length` (or
/// `Transfer-Encoding`) and `Connection: close` are added when it is written.
#[derive(Clone, Debug)]
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    /// A reply with this status, no headers and an empty body.
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (several with one name are sent in order).
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body and its `Content-Type`.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        self.headers
            .push(("Content-Type", content_type.to_string()));
        self.body = body.into();
        self
    }

    /// Sets an XML body (`text/xml; charset=utf-8`, as Exchange labels SOAP).
    pub fn xml(self, body: String) -> Reply {
        self.body("text/xml; charset=utf-8", body)
    }
}

/// What to send back, including the ways a real server goes wrong.
#[derive(Clone, Debug)]
pub enum Action {
    /// The reply as it is; the connection stays open unless the client asked
    /// to close it.
    Reply(Reply),
    /// A body too large to hold: the reply's body, then `payload_len` bytes of
    /// `raw` padded with zeros (or, with `base64`, `payload_len` characters of
    /// base64 of it; then `payload_len` must be a multiple of 4), then `tail`.
    /// The headers announce the whole length.
    Huge {
        /// Status, headers and the text before the payload.
        reply: Reply,
        /// The start of the payload; the rest is zeros.
        raw: Arc<Vec<u8>>,
        /// Send the payload base64-encoded.
        base64: bool,
        /// Length of the payload on the wire.
        payload_len: usize,
        /// The text after the payload.
        tail: Vec<u8>,
    },
    /// Headers announce the full body, half of it is sent, then silence for
    /// 60 s (or until the client hangs up or the server stops).
    Stall(Reply),
    /// Headers announce 4 KiB more than the body; the body, then the
    /// connection closes.
    Short(Reply),
    /// Chunked body of `A`s until the client hangs up or the server stops.
    Endless(Reply),
}

/// A running server for one [`Handler`]. Dropping it stops the server and
/// closes every connection.
pub struct Server {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    addr: SocketAddr,
    latency: Duration,
    handler: Arc<dyn Handler>,
    stop: AtomicBool,
    connections: AtomicU64,
    requests: Mutex<Vec<Recorded>>,
    streams: Mutex<HashMap<u64, TcpStream>>,
}

impl Server {
    /// Binds `bind` (port 0 picks a free port) and serves `handler` in
    /// background threads, waiting `latency` before every answer.
    pub fn start(
        bind: SocketAddr,
        latency: Duration,
        handler: Arc<dyn Handler>,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(bind)?;
        let shared = Arc::new(Shared {
            addr: listener.local_addr()?,
            latency,
            handler,
            stop: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            streams: Mutex::new(HashMap::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("standin-accept".into())
            .spawn(move || accept_loop(accept_shared, listener))?;
        Ok(Server {
            shared,
            accept: Some(accept),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://HOST:PORT` followed by `path` (an unspecified bind address is
    /// given as the loopback address).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", host_port(self.shared.addr))
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// How many recorded requests were about this address (case-insensitive).
    pub fn requests_for(&self, email: &str) -> usize {
        lock(&self.shared.requests)
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
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // The accept loop only notices the flag when a connection arrives.
        let woke =
            TcpStream::connect_timeout(&connect_addr(self.shared.addr), Duration::from_secs(2));
        if let Some(handle) = self.accept.take()
            && woke.is_ok()
        {
            let _ = handle.join();
        }
        for stream in lock(&self.shared.streams).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn record(&self, request: &Request, email: Option<String>) {
        lock(&self.requests).push(Recorded {
            connection: request.connection,
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            email,
            at: Instant::now(),
        });
    }
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

/// `HOST:PORT` a client can connect to (loopback for an unspecified address).
pub(crate) fn host_port(addr: SocketAddr) -> String {
    connect_addr(addr).to_string()
}

fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.stopped() {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(_) => {
                thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        let id = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.streams).insert(id, clone);
        }
        let conn_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("standin-conn-{id}"))
            .spawn(move || {
                serve_connection(&conn_shared, stream, id);
                lock(&conn_shared.streams).remove(&id);
            });
        if spawned.is_err() {
            lock(&shared.streams).remove(&id);
        }
    }
}

fn serve_connection(shared: &Shared, stream: TcpStream, id: u64) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while !shared.stopped() {
        let request = match read_request(&mut reader, &mut writer, id, shared.addr) {
            Ok(request) => request,
            Err(ReadError::Gone) => return,
            Err(ReadError::Status(status)) => {
                let _ = writer.write_all(&head_bytes(status, &[], Some(0), true));
                let _ = writer.flush();
                return;
            }
        };
        let close = request.wants_close();
        shared.record(&request, shared.handler.email(&request));
        let action = shared.handler.handle(&request);
        if !shared.latency.is_zero() {
            thread::sleep(shared.latency);
        }
        if shared.stopped() {
            return;
        }
        match write_action(shared, &mut writer, action, close) {
            Ok(true) if !close => {}
            _ => return,
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

fn read_request(
    reader: &mut impl BufRead,
    writer: &mut TcpStream,
    connection: u64,
    server: SocketAddr,
) -> Result<Request, ReadError> {
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
        connection,
        server,
        method: method.to_string(),
        target: target.to_string(),
        path,
        query,
        headers,
        body: Vec::new(),
        http10: version == "HTTP/1.0",
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

/// The fields of an `application/x-www-form-urlencoded` body (`+` is a space).
pub(crate) fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    parse_query(&String::from_utf8_lossy(body).replace('+', " "))
}

/// Percent-decodes; a raw `+` stays `+`, invalid escapes are kept as is.
pub(crate) fn percent_decode(s: &str) -> String {
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
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
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

/// Writes the response; `Ok(true)` if the connection can be reused.
fn write_action(
    shared: &Shared,
    w: &mut TcpStream,
    action: Action,
    close: bool,
) -> io::Result<bool> {
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
            payload_len,
            tail,
        } => {
            let total = reply.body.len() + payload_len + tail.len();
            w.write_all(&head_bytes(
                reply.status,
                &reply.headers,
                Some(total),
                close,
            ))?;
            w.write_all(&reply.body)?;
            let raw_len = if base64 {
                payload_len / 4 * 3
            } else {
                payload_len
            };
            let mut chunk = vec![0u8; HUGE_CHUNK];
            let mut offset = 0;
            while offset < raw_len {
                if shared.stopped() {
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
            while Instant::now() < until && !shared.stopped() {
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
            while !shared.stopped() {
                w.write_all(&chunk)?;
            }
            Ok(false)
        }
    }
}

/// RFC 1123 date, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(t: SystemTime) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }

    #[test]
    fn query_parameters_are_decoded_and_found_case_insensitively() {
        assert_eq!(
            parse_query("email=a%2Bb+c@x.org&&size=HR1x1&bad=%zz"),
            [
                ("email".to_string(), "a+b+c@x.org".to_string()),
                ("size".to_string(), "HR1x1".to_string()),
                ("bad".to_string(), "%zz".to_string()),
            ]
        );
    }
}
