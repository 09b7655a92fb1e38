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

use crate::backend::BodyLog;
use crate::error::{Error, TransportError};
use crate::http::{HttpReply, HttpRequest, Method};
use crate::human::HumanDuration;
use crate::tls::{self, PeerCertificateSlot, RecordingTlsConnector, Trust};
use crate::url::redact_userinfo;

/// The largest body accepted: a photo is a few hundred KiB at most.
const BODY_LIMIT: u64 = 20 * 1024 * 1024;

/// The longest a connection attempt may take, whatever `--timeout` says: an
/// address that does not answer in 15 s will not answer, and a run over many
/// photos should learn that early.
const CONNECT_TIMEOUT_CAP: Duration = Duration::from_secs(15);

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
            verbosity: 0,
        }
    }
}

/// An HTTP client with the tool's settings, holding one connection: one per
/// [`Client`](crate::Client), which one thread uses at a time. One idle
/// connection is all a sequential user can reuse, and it is what a
/// connection-bound handshake (NTLM) needs: with two, ureq's FIFO pool could
/// send the second leg on the other connection.
///
/// TLS goes through the tool's own rustls connector, so the server certificate of
/// the connection is known ([`Transport::peer_certificate`]) for NTLM's
/// channel binding.
#[derive(Clone)]
pub struct Transport {
    agent: Agent,
    verbosity: u8,
    timeout: Duration,
    peer: PeerCertificateSlot,
    body_log: BodyLog,
}

impl Transport {
    /// Builds the client; `body_log` shows bodies in `-vv` logs. Fails on an
    /// unreadable CA file or a bad proxy URL.
    pub fn new(options: &TransportOptions, body_log: BodyLog) -> Result<Transport, Error> {
        let trust = if options.insecure {
            Trust::AnyCertificate
        } else {
            match &options.ca_cert {
                Some(path) => Trust::Roots(trusted_certificates(path)?),
                None => Trust::Platform,
            }
        };
        let peer = PeerCertificateSlot::default();
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
                Error::Usage(format!(
                    "invalid --proxy '{}': {e}; use http://host:port, https://… or socks5://…",
                    redact_userinfo(url)
                ))
            })?),
            None => Proxy::try_from_env(),
        };
        let config = Agent::config_builder()
            .proxy(proxy)
            .timeout_global(Some(options.timeout))
            .timeout_connect(Some(options.timeout.min(CONNECT_TIMEOUT_CAP)))
            .http_status_as_error(false)
            // Redirects are followed by the client, which decides about credentials.
            .max_redirects(0)
            .user_agent(concat!("ews-photo/", env!("CARGO_PKG_VERSION")))
            .accept_encoding("identity")
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            // IIS keeps an idle connection 120 s; an NTLM-authenticated one is
            // worth keeping longer than ureq's default 15 s.
            .max_idle_age(Duration::from_secs(90))
            .build();
        Ok(Transport {
            agent: Agent::with_parts(config, connector, CachingResolver::default()),
            verbosity: options.verbosity,
            timeout: options.timeout,
            peer,
            body_log,
        })
    }

    /// Where `-v` notes about decisions go (the same stream as the request log).
    pub fn notes(&self) -> Notes {
        Notes {
            verbose: self.verbosity > 0,
        }
    }

    /// The server certificate of the latest TLS connection, shared: it changes
    /// when the transport opens a new connection.
    pub fn peer_certificate(&self) -> PeerCertificateSlot {
        self.peer.clone()
    }

    /// Sends a request and reads the whole answer (up to 20 MiB: a photo is
    /// never that large, and a server that sends more is refused).
    pub fn send(&self, request: &HttpRequest) -> Result<HttpReply, Error> {
        if self.verbosity > 0 {
            self.log_request(request);
        }
        let url = request.url.as_str();
        let result = match request.method {
            Method::Get => with_headers(self.agent.get(url), request).call(),
            Method::Post => with_headers(self.agent.post(url), request)
                .send(request.body.as_deref().unwrap_or_default()),
        };
        let mut response = result.map_err(|e| self.map_error(request, e))?;
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
            .map_err(|e| self.map_error(request, e))?;
        let reply = HttpReply {
            status,
            headers,
            body,
        };
        if self.verbosity > 0 {
            self.log_reply(&reply);
        }
        Ok(reply)
    }

    fn map_error(&self, request: &HttpRequest, error: ureq::Error) -> Error {
        const CA_HINT: &str = "for a private CA pass --ca-cert FILE (PEM), or --insecure to skip verification (unsafe)";
        let timeout = HumanDuration(self.timeout);
        let reason = match error {
            ureq::Error::BodyExceedsLimit(limit) => {
                return TransportError::TooLarge { limit }.into();
            }
            ureq::Error::InvalidProxyUrl => {
                return Error::Usage(
                    "invalid proxy URL in the *_PROXY variables; use http://host:port, https://… or socks5://…"
                        .into(),
                );
            }
            ureq::Error::HostNotFound => "host not found (DNS); check the host name".to_string(),
            ureq::Error::Timeout(what) => format!(
                "timed out after {timeout} ({what}); the server is slow or unreachable: raise --timeout or check the network"
            ),
            ureq::Error::Io(e) => match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused; check the host and port, and that the server is up".into()
                }
                std::io::ErrorKind::UnexpectedEof => {
                    "the connection closed before the whole answer arrived".into()
                }
                std::io::ErrorKind::TimedOut => {
                    format!("timed out after {timeout}; raise --timeout or check the network")
                }
                // rustls reports certificate problems through io::Error.
                _ => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(tls) => tls_reason(tls, CA_HINT),
                    None => format!("{e}"),
                },
            },
            ureq::Error::Rustls(e) => tls_reason(&e, CA_HINT),
            ureq::Error::Tls(what) => format!("TLS failed: {what}"),
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
        TransportError::Unreachable {
            url: request.url.to_string(),
            reason,
        }
        .into()
    }
}

/// Headers other than the body's, `Authorization` last.
fn with_headers<B>(
    mut builder: ureq::RequestBuilder<B>,
    request: &HttpRequest,
) -> ureq::RequestBuilder<B> {
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    if let Some(auth) = &request.authorization {
        builder = builder.header("Authorization", auth.expose());
    }
    builder
}

/// A TLS failure, with the `--ca-cert` advice when the certificate was the problem.
fn tls_reason(error: &rustls::Error, ca_hint: &str) -> String {
    match error {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
            format!("TLS failed: {error}; {ca_hint}")
        }
        _ => format!("TLS failed: {error}"),
    }
}

fn trusted_certificates(path: &PathBuf) -> Result<Vec<Vec<u8>>, Error> {
    let pem = std::fs::read(path).map_err(|source| Error::input(path, source))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert.der().to_vec()),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::Usage(format!(
                    "--ca-cert {}: not a PEM certificate file ({e})",
                    path.display()
                )));
            }
        }
    }
    if certs.is_empty() {
        return Err(Error::Usage(format!(
            "--ca-cert {}: no certificate found; give a PEM file (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    // The CA is added to the system's roots, not put in their place.
    let native = rustls_native_certs::load_native_certs();
    certs.extend(native.certs.iter().map(|der| der.as_ref().to_vec()));
    Ok(certs)
}

/// Notes at `-v` about what the tool decided and why (which authentication
/// scheme, a check it could not make), printed among the request log as
/// `* …` lines, as curl does. Never given a secret.
#[derive(Clone, Copy, Debug, Default)]
pub struct Notes {
    verbose: bool,
}

impl Notes {
    /// Prints `text` at `-v`.
    pub fn note(&self, text: &str) {
        if self.verbose {
            let _ = writeln!(std::io::stderr(), "* {text}");
        }
    }
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

impl Transport {
    fn log_request(&self, request: &HttpRequest) {
        let mut out = format!("> {} {}\n", request.method.as_str(), request.url.as_str());
        for (name, value) in &request.headers {
            out.push_str(&format!("> {name}: {value}\n"));
        }
        if let Some(auth) = &request.authorization {
            let scheme = auth.expose().split(' ').next().unwrap_or_default();
            out.push_str(&format!("> Authorization: {scheme} <redacted>\n"));
        }
        if self.verbosity > 1
            && let Some(body) = &request.body
        {
            let media = request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.as_str());
            out.push_str(&format!(">\n{}\n", (self.body_log)(body, media)));
        }
        let _ = std::io::stderr().write_all(out.as_bytes());
    }

    fn log_reply(&self, reply: &HttpReply) {
        let mut out = format!("< HTTP {}\n", reply.status);
        for (name, value) in &reply.headers {
            let value = if name == "set-cookie" {
                "<redacted>"
            } else {
                value
            };
            out.push_str(&format!("< {name}: {value}\n"));
        }
        if self.verbosity > 1 && !reply.body.is_empty() {
            let media = reply.media_type();
            out.push_str(&format!(
                "<\n{}\n",
                (self.body_log)(&reply.body, media.as_deref())
            ));
        }
        let _ = std::io::stderr().write_all(out.as_bytes());
    }
}
