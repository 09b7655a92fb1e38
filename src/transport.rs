//! HTTP over ureq 3: TLS roots, proxy, timeouts, the body cap, verbose logging
//! with secrets redacted.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ureq::tls::PemItem;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, SocksConnector};
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
    /// `--resolve`: where to connect for these hosts and ports, instead of
    /// what DNS says. Applies to every request (EWS, Autodiscover, tokens).
    pub resolve: Vec<Resolve>,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            ca_cert: None,
            insecure: false,
            proxy: None,
            timeout: Duration::from_secs(30),
            verbosity: 0,
            resolve: Vec::new(),
        }
    }
}

/// One `--resolve HOST:PORT:ADDR[,ADDR…]` entry, as curl's: connections to
/// HOST:PORT go to ADDR (the URL, the `Host` header and the TLS name stay
/// HOST). An ADDR may carry its own `:PORT` (`127.0.0.1:8443`,
/// `[::1]:8443`), which curl spells `--connect-to`: the way to reach a
/// server that cannot listen on 443.
///
/// ```
/// use ews_photo::Resolve;
/// let entry = Resolve::parse("Mail.Contoso.com:443:10.0.0.5,[2001:db8::5]").unwrap();
/// assert_eq!((entry.host.as_str(), entry.port), ("mail.contoso.com", 443));
/// assert_eq!(entry.addrs[1].to_string(), "[2001:db8::5]:443");
/// let moved = Resolve::parse("autodiscover.contoso.com:443:127.0.0.1:8443").unwrap();
/// assert_eq!(moved.addrs[0].to_string(), "127.0.0.1:8443");
/// assert!(Resolve::parse("mail.contoso.com:443").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolve {
    /// The host, lower-cased, without IPv6 brackets.
    pub host: String,
    /// The port of the URLs it applies to.
    pub port: u16,
    /// Where to connect instead, in order.
    pub addrs: Vec<SocketAddr>,
}

impl Resolve {
    /// Parses `HOST:PORT:ADDR[,ADDR…]`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Resolve, String> {
        let text = text.trim();
        let bad = |why: &str| {
            format!(
                "{why}; give HOST:PORT:ADDR, e.g. mail.contoso.com:443:10.0.0.5 (several ADDRs separated by commas, IPv6 in [brackets], ADDR:PORT to connect to another port)"
            )
        };
        let (host, rest) = match text.strip_prefix('[') {
            Some(bracketed) => bracketed
                .split_once("]:")
                .ok_or_else(|| bad("an IPv6 host without its closing ]"))?,
            None => text.split_once(':').ok_or_else(|| bad("no PORT"))?,
        };
        let (port, addrs) = rest.split_once(':').ok_or_else(|| bad("no ADDR"))?;
        let host = host.trim().to_ascii_lowercase();
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(bad("no usable HOST"));
        }
        let port: u16 = port
            .trim()
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad("PORT is not a port number"))?;
        let addrs = addrs
            .split(',')
            .map(|addr| {
                parse_addr(addr.trim(), port)
                    .ok_or_else(|| bad(&format!("'{addr}' is not an IP address")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Resolve { host, port, addrs })
    }
}

/// `10.0.0.5`, `::1`, `[::1]` (on `port`), or `10.0.0.5:8443`, `[::1]:8443`.
pub(crate) fn parse_addr(text: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
        && let Ok(ip) = inner.parse::<IpAddr>()
    {
        return Some(SocketAddr::new(ip, port));
    }
    text.parse::<SocketAddr>().ok().filter(|a| a.port() != 0)
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
        // ureq's default chain, with our TCP connector (fewer system calls a
        // request) and our TLS connector in place of its own.
        let connector =
            ().chain(SocksConnector::default())
                .chain(ConnectProxyConnector::default())
                .chain(crate::tcp::TcpConnector)
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
        let resolver = CachingResolver {
            overrides: options.resolve.clone(),
            verbose: options.verbosity > 0,
            ..CachingResolver::default()
        };
        Ok(Transport {
            agent: Agent::with_parts(config, connector, resolver),
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
        // Room for the announced length up front: read_to_vec would start
        // small and grow (a tenth of a photo's instructions).
        let announced = response
            .body()
            .content_length()
            .unwrap_or(0)
            .min(BODY_LIMIT);
        let mut body = Vec::with_capacity(announced as usize + 1);
        std::io::Read::read_to_end(
            &mut response.body_mut().with_config().limit(BODY_LIMIT).reader(),
            &mut body,
        )
        .map_err(|e| self.map_error(request, ureq::Error::from(e)))?;
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
    // The CA is added to the system's roots, not put in their place. Read
    // once per process: an export builds one transport per worker.
    static NATIVE: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    let native = NATIVE.get_or_init(|| {
        rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|der| der.as_ref().to_vec())
            .collect()
    });
    certs.extend(native.iter().cloned());
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
///
/// `--resolve` entries come first, and are never cached.
#[derive(Debug, Default)]
struct CachingResolver {
    inner: DefaultResolver,
    cache: std::sync::Mutex<Option<CachedAddrs>>,
    overrides: Vec<Resolve>,
    verbose: bool,
}

impl CachingResolver {
    /// The `--resolve` addresses for a URI's host and port, if any.
    fn overridden(
        &self,
        uri: &ureq::http::Uri,
    ) -> Option<ureq::unversioned::resolver::ResolvedSocketAddrs> {
        use ureq::unversioned::resolver::Resolver as _;
        // Called for every request, pooled connection or not: nothing to
        // work out without `--resolve`.
        if self.overrides.is_empty() {
            return None;
        }
        let authority = uri.authority()?;
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = authority
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let entry = self
            .overrides
            .iter()
            .find(|e| e.host.eq_ignore_ascii_case(host) && e.port == port)?;
        if self.verbose {
            let to: Vec<String> = entry.addrs.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                std::io::stderr(),
                "* {host}:{port} is {} (--resolve)",
                to.join(", ")
            );
        }
        let mut addrs = self.empty();
        for addr in &entry.addrs {
            // Past ureq's 16 addresses, the rest would never be tried anyway.
            if addrs.try_push(*addr).is_err() {
                break;
            }
        }
        Some(addrs)
    }
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
        if let Some(addrs) = self.overridden(uri) {
            return Ok(addrs);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries_as_curl_writes_them() {
        let entry = Resolve::parse(" Autodiscover.Contoso.com:443:10.0.0.1,10.0.0.2 ").unwrap();
        assert_eq!(entry.host, "autodiscover.contoso.com");
        let addrs: Vec<String> = entry.addrs.iter().map(ToString::to_string).collect();
        assert_eq!(addrs, ["10.0.0.1:443", "10.0.0.2:443"]);
        // IPv6 addresses bare or in brackets; an IPv6 host in brackets.
        let entry = Resolve::parse("[2001:db8::1]:80:::1,[::2]").unwrap();
        assert_eq!((entry.host.as_str(), entry.port), ("2001:db8::1", 80));
        let addrs: Vec<String> = entry.addrs.iter().map(ToString::to_string).collect();
        assert_eq!(addrs, ["[::1]:80", "[::2]:80"]);
        // Our addition: ADDR:PORT moves the port too (curl's --connect-to).
        let entry = Resolve::parse("mail.contoso.com:443:127.0.0.1:8443,[::1]:9443").unwrap();
        let addrs: Vec<String> = entry.addrs.iter().map(ToString::to_string).collect();
        assert_eq!(addrs, ["127.0.0.1:8443", "[::1]:9443"]);
        for bad in [
            "",
            "mail.contoso.com",
            "mail.contoso.com:443",
            "mail.contoso.com:443:",
            ":443:127.0.0.1",
            "mail.contoso.com:https:127.0.0.1",
            "mail.contoso.com:0:127.0.0.1",
            "mail.contoso.com:443:mail2.contoso.com",
            "mail.contoso.com:443:127.0.0.1:0",
            "[::1:443:127.0.0.1",
            "user@mail.contoso.com:443:127.0.0.1",
        ] {
            let err = Resolve::parse(bad).unwrap_err();
            assert!(err.contains("give HOST:PORT:ADDR"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn resolve_entries_come_before_dns_and_match_host_and_port() {
        let resolver = CachingResolver {
            overrides: vec![Resolve::parse("mail.contoso.com:443:127.0.0.1:8443").unwrap()],
            ..CachingResolver::default()
        };
        let uri = |text: &str| text.parse::<ureq::http::Uri>().unwrap();
        let hit = resolver
            .overridden(&uri("https://MAIL.contoso.com/EWS/Exchange.asmx"))
            .unwrap();
        assert_eq!(hit.len(), 1);
        assert_eq!(hit[0].to_string(), "127.0.0.1:8443");
        assert!(
            resolver
                .overridden(&uri("https://mail.contoso.com:8443/EWS"))
                .is_none()
        );
        assert!(
            resolver
                .overridden(&uri("http://mail.contoso.com/EWS"))
                .is_none()
        );
        assert!(
            resolver
                .overridden(&uri("https://other.contoso.com/EWS"))
                .is_none()
        );
    }
}
