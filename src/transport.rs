//! HTTP over ureq 3: TLS roots, proxy, timeouts, the body cap, verbose logging
//! with secrets redacted.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use ureq::tls::PemItem;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    ConnectProxyConnector, Connector, SocksConnector, TcpConnector,
};
use ureq::{Agent, Proxy};

use crate::Secret;
use crate::error::TransportError;
use crate::exchange::HttpReply;
use crate::tls::{self, PeerCertificate, RecordingTlsConnector, Trust};

/// The largest body accepted: a photo is a few hundred KiB at most.
pub const BODY_LIMIT: u64 = 20 * 1024 * 1024;

/// How the connection is made.
#[derive(Clone, Debug)]
pub struct TransportOptions {
    /// Extra trusted CA certificates (PEM), added to the system's.
    pub ca_cert: Option<PathBuf>,
    /// Skip certificate verification.
    pub insecure: bool,
    /// A proxy URL; `None` uses the `*_PROXY` variables.
    pub proxy: Option<String>,
    /// For a whole request, connect to last byte.
    pub timeout: Duration,
    /// Idle connections kept per host (1 for connection-bound auth).
    pub idle_connections: usize,
    /// `-v` level: 0 quiet, 1 headers, 2 bodies.
    pub verbosity: u8,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            ca_cert: None,
            insecure: false,
            proxy: None,
            timeout: Duration::from_secs(30),
            idle_connections: 1,
            verbosity: 0,
        }
    }
}

/// One HTTP request.
#[derive(Debug)]
pub struct HttpRequest<'a> {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The full URL.
    pub url: &'a str,
    /// Headers other than `Authorization`.
    pub headers: Vec<(&'static str, String)>,
    /// The `Authorization` value, kept apart so logging can redact it.
    pub authorization: Option<Secret>,
    /// The body (POST).
    pub body: Option<&'a [u8]>,
}

/// An HTTP client with the tool's settings. One per worker thread: its pool
/// keeps the worker's connection alive between requests.
///
/// TLS goes through [`RecordingTlsConnector`], so the server certificate of
/// the connection is known ([`Transport::peer_certificate`]) for NTLM's
/// channel binding.
#[derive(Clone)]
pub struct Transport {
    agent: Agent,
    verbosity: u8,
    timeout: Duration,
    peer: PeerCertificate,
}

impl Transport {
    /// Builds the client. Fails on an unreadable CA file or a bad proxy URL.
    pub fn new(options: &TransportOptions) -> Result<Transport, TransportError> {
        let trust = if options.insecure {
            Trust::Nothing
        } else {
            match &options.ca_cert {
                Some(path) => Trust::Roots(trusted_certificates(path)?),
                None => Trust::Platform,
            }
        };
        let peer = PeerCertificate::default();
        // ureq's default chain, with our TLS connector in place of its rustls one.
        let connector =
            ().chain(SocksConnector::default())
                .chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(RecordingTlsConnector::new(
                    tls::client_config(trust)?,
                    peer.clone(),
                ));
        let proxy = match &options.proxy {
            Some(url) => Some(Proxy::new(url).map_err(|e| {
                TransportError::Setup(format!(
                    "invalid --proxy '{}': {e}; use http://host:port, https://… or socks5://…",
                    redact_userinfo(url)
                ))
            })?),
            None => Proxy::try_from_env(),
        };
        let config = Agent::config_builder()
            .proxy(proxy)
            .timeout_global(Some(options.timeout))
            .timeout_connect(Some(options.timeout.min(Duration::from_secs(15))))
            .http_status_as_error(false)
            // Redirects are followed by the client, which decides about credentials.
            .max_redirects(0)
            .user_agent(concat!("ews-photo/", env!("CARGO_PKG_VERSION")))
            .accept_encoding("identity")
            .max_idle_connections(options.idle_connections.max(1))
            .max_idle_connections_per_host(options.idle_connections.max(1))
            // IIS keeps an idle connection 120 s; an NTLM-authenticated one is
            // worth keeping longer than ureq's default 15 s.
            .max_idle_age(Duration::from_secs(90))
            .build();
        Ok(Transport {
            agent: Agent::with_parts(config, connector, CachingResolver::default()),
            verbosity: options.verbosity,
            timeout: options.timeout,
            peer,
        })
    }

    /// The server certificate of the latest TLS connection, shared: it changes
    /// when the transport opens a new connection.
    pub fn peer_certificate(&self) -> PeerCertificate {
        self.peer.clone()
    }

    /// Sends a request and reads the whole answer (up to [`BODY_LIMIT`]).
    pub fn send(&self, request: &HttpRequest) -> Result<HttpReply, TransportError> {
        if self.verbosity > 0 {
            log_request(request, self.verbosity);
        }
        let result = match request.method {
            "POST" => {
                let mut builder = self.agent.post(request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                if let Some(auth) = &request.authorization {
                    builder = builder.header("Authorization", auth.expose());
                }
                builder.send(request.body.unwrap_or_default())
            }
            _ => {
                let mut builder = self.agent.get(request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                if let Some(auth) = &request.authorization {
                    builder = builder.header("Authorization", auth.expose());
                }
                builder.call()
            }
        };
        let mut response = result.map_err(|e| self.map_error(request.url, e))?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        // Read every body to the end, 401s included, so the connection goes back
        // to the pool (a connection-bound handshake needs it).
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(|e| self.map_error(request.url, e))?;
        let reply = HttpReply {
            status,
            headers,
            body,
        };
        if self.verbosity > 0 {
            log_reply(&reply, self.verbosity);
        }
        Ok(reply)
    }

    fn map_error(&self, url: &str, error: ureq::Error) -> TransportError {
        let url = strip_query(url);
        let reason = match error {
            ureq::Error::BodyExceedsLimit(limit) => return TransportError::TooLarge { limit },
            ureq::Error::BadUri(uri) => {
                return TransportError::Setup(format!(
                    "invalid URL '{uri}': give the EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx"
                ));
            }
            ureq::Error::InvalidProxyUrl => {
                return TransportError::Setup("invalid proxy URL in the *_PROXY variables".into());
            }
            ureq::Error::HostNotFound => "host not found (DNS); check the host name".to_string(),
            ureq::Error::Timeout(what) => format!(
                "timed out after {} ({what}); the server is slow or unreachable: raise --timeout or check the network",
                crate::client::human_duration(self.timeout)
            ),
            ureq::Error::Io(e) => match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused; check the host and port, and that the server is up".into()
                }
                std::io::ErrorKind::UnexpectedEof => {
                    "the connection closed before the whole answer arrived".into()
                }
                std::io::ErrorKind::TimedOut => format!(
                    "timed out after {}; raise --timeout or check the network",
                    crate::client::human_duration(self.timeout)
                ),
                // rustls reports certificate problems through io::Error.
                _ if e
                    .get_ref()
                    .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
                {
                    format!(
                        "TLS failed: {e}; for a private CA pass --ca-cert FILE (PEM), or --insecure to skip verification (unsafe)"
                    )
                }
                _ => format!("{e}"),
            },
            ureq::Error::Tls(what) => format!("TLS failed: {what}"),
            ureq::Error::Rustls(e) => format!(
                "TLS failed: {e}; for a private CA pass --ca-cert FILE (PEM), or --insecure to skip verification (unsafe)"
            ),
            ureq::Error::Pem(e) => format!("TLS failed: {e}"),
            ureq::Error::ConnectProxyFailed(what) => {
                format!("the proxy refused the connection: {what}")
            }
            ureq::Error::RequireHttpsOnly(what) => what,
            ureq::Error::LargeResponseHeader(got, max) => {
                format!("the server sent {got} bytes of headers (more than {max})")
            }
            ureq::Error::Protocol(e) => format!("the server broke HTTP ({e})"),
            other => other.to_string(),
        };
        let reason = if reason.contains("certificate") && !reason.contains("--ca-cert") {
            format!(
                "{reason}; for a private CA pass --ca-cert FILE (PEM), or --insecure to skip verification (unsafe)"
            )
        } else {
            reason
        };
        TransportError::Unreachable { url, reason }
    }
}

fn trusted_certificates(path: &PathBuf) -> Result<Vec<Vec<u8>>, TransportError> {
    let pem = std::fs::read(path).map_err(|source| TransportError::ReadFile {
        path: path.clone(),
        source,
    })?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert.der().to_vec()),
            Ok(_) => {}
            Err(e) => {
                return Err(TransportError::Setup(format!(
                    "--ca-cert {}: not a PEM certificate file ({e})",
                    path.display()
                )));
            }
        }
    }
    if certs.is_empty() {
        return Err(TransportError::Setup(format!(
            "--ca-cert {}: no certificate found; give a PEM file (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    // The CA is added to the system's roots, not put in their place.
    let native = rustls_native_certs::load_native_certs();
    certs.extend(native.certs.iter().map(|der| der.as_ref().to_vec()));
    Ok(certs)
}

/// How long a resolved address is reused.
const RESOLVE_TTL: Duration = Duration::from_secs(60);

/// ureq resolves the host before every request, even when a kept-alive
/// connection is waiting in the pool, and with a timeout set it does so on a
/// new thread each time: a thread spawn per photo. One host per agent, so one
/// cached answer, reused for [`RESOLVE_TTL`].
#[derive(Debug, Default)]
struct CachingResolver {
    inner: DefaultResolver,
    cache: std::sync::Mutex<Option<CachedAddrs>>,
}

#[derive(Debug)]
struct CachedAddrs {
    key: String,
    at: std::time::Instant,
    addrs: ureq::unversioned::resolver::ResolvedSocketAddrs,
}

impl ureq::unversioned::resolver::Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let key = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or(""),
            uri.authority().map_or("", |a| a.as_str())
        );
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cache.as_ref()
            && hit.key == key
            && hit.at.elapsed() < RESOLVE_TTL
        {
            return Ok(hit.addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        *cache = Some(CachedAddrs {
            key,
            at: std::time::Instant::now(),
            addrs: addrs.clone(),
        });
        Ok(addrs)
    }
}

/// The URL without query and fragment, for messages.
pub fn strip_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// `http://user:pw@host` → `http://<redacted>@host`.
pub fn redact_userinfo(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{}<redacted>@{}", &url[..scheme_end + 3], &rest[at + 1..]);
        }
    }
    url.to_string()
}

fn log_request(request: &HttpRequest, verbosity: u8) {
    let mut out = String::new();
    out.push_str(&format!(
        "> {} {}\n",
        request.method,
        redact_userinfo(request.url)
    ));
    for (name, value) in &request.headers {
        out.push_str(&format!("> {name}: {value}\n"));
    }
    if let Some(auth) = &request.authorization {
        let scheme = auth.expose().split(' ').next().unwrap_or_default();
        out.push_str(&format!("> Authorization: {scheme} <redacted>\n"));
    }
    if verbosity > 1
        && let Some(body) = request.body
    {
        out.push_str(&format!(">\n{}\n", String::from_utf8_lossy(body)));
    }
    let _ = std::io::stderr().write_all(out.as_bytes());
}

fn log_reply(reply: &HttpReply, verbosity: u8) {
    let mut out = format!("< HTTP {}\n", reply.status);
    for (name, value) in &reply.headers {
        let value = if name == "set-cookie" {
            "<redacted>"
        } else {
            value
        };
        out.push_str(&format!("< {name}: {value}\n"));
    }
    if verbosity > 1 && !reply.body.is_empty() {
        out.push_str(&format!("<\n{}\n", shorten_body(reply)));
    }
    let _ = std::io::stderr().write_all(out.as_bytes());
}

/// The body for `-vv`: text with long `PictureData` shortened; binary as a size.
fn shorten_body(reply: &HttpReply) -> String {
    let text = match std::str::from_utf8(&reply.body) {
        Ok(text) if !text.contains('\0') => text,
        _ => {
            return format!(
                "[{} bytes of {}]",
                reply.body.len(),
                reply.media_type().unwrap_or_else(|| "binary data".into())
            );
        }
    };
    let mut out = String::with_capacity(text.len().min(4096));
    let mut rest = text;
    while let Some(start) = rest.find("PictureData>") {
        let open_end = start + "PictureData>".len();
        out.push_str(&rest[..open_end]);
        rest = &rest[open_end..];
        let end = rest.find('<').unwrap_or(rest.len());
        let data = &rest[..end];
        if data.len() > 64 {
            out.push_str(&data[..32]);
            out.push_str(&format!("…[{} characters of base64]", data.len()));
        } else {
            out.push_str(data);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    if out.len() > 64 * 1024 {
        let mut cut = 64 * 1024;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("…[cut]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted() {
        assert_eq!(
            redact_userinfo("http://u:pw@proxy:8080/x@y"),
            "http://<redacted>@proxy:8080/x@y"
        );
        assert_eq!(redact_userinfo("https://host/EWS"), "https://host/EWS");
    }

    #[test]
    fn picture_data_is_shortened_in_logs() {
        let data = "A".repeat(1000);
        let reply = HttpReply {
            status: 200,
            headers: vec![],
            body: format!("<m:PictureData>{data}</m:PictureData><x/>").into_bytes(),
        };
        let shown = shorten_body(&reply);
        assert!(
            shown.contains("…[1000 characters of base64]</m:PictureData><x/>"),
            "{shown}"
        );
        assert!(shown.len() < 200);
        let binary = HttpReply {
            status: 200,
            headers: vec![("content-type".into(), "image/jpeg".into())],
            body: vec![0xff, 0xd8, 0, 0],
        };
        assert_eq!(shorten_body(&binary), "[4 bytes of image/jpeg]");
    }
}
