//! One GetUserPhoto exchange end to end: request, authentication, redirects,
//! interpretation, and retries when the server is busy.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::auth::ntlm::{Ntlm, NtlmSettings, NtlmUser};
use crate::auth::{
    self, AuthError, AuthMethod, Authenticator, Choice, Credentials, Step, parse_challenges,
};
use crate::error::{Error, ExchangeError};
use crate::exchange::{self, HttpReply, Outcome, Protocol, quote_etag};
use crate::transport::{HttpRequest, Transport, TransportOptions};
use crate::{PhotoSize, Secret, rest, soap};

/// Everything a client needs to talk to one server.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The EWS URL, e.g. `https://mail.contoso.com/EWS/Exchange.asmx`.
    pub url: String,
    /// SOAP or REST.
    pub protocol: Protocol,
    /// `RequestServerVersion` for SOAP.
    pub server_version: String,
    /// `--auth`.
    pub auth: AuthMethod,
    /// User, password, token.
    pub credentials: Credentials,
    /// Allow Basic or Bearer over plain `http://`.
    pub allow_insecure_auth: bool,
    /// Retries when the server is busy.
    pub retries: u32,
    /// The longest wait between retries, whatever the server asks.
    pub max_backoff: Duration,
    /// The first wait when the server gives no hint (doubled each retry).
    pub base_backoff: Duration,
    /// TLS, proxy, timeout, verbosity.
    pub transport: TransportOptions,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            url: String::new(),
            protocol: Protocol::Soap,
            server_version: soap::DEFAULT_SERVER_VERSION.into(),
            auth: AuthMethod::Auto,
            credentials: Credentials::default(),
            allow_insecure_auth: false,
            retries: 3,
            max_backoff: Duration::from_secs(300),
            base_backoff: Duration::from_secs(1),
            transport: TransportOptions::default(),
        }
    }
}

/// One photo to fetch.
#[derive(Clone, Debug)]
pub struct PhotoRequest {
    /// The SMTP address.
    pub email: String,
    /// The size code.
    pub size: PhotoSize,
    /// An ETag from an earlier fetch: unchanged photos are not sent again.
    pub if_none_match: Option<String>,
}

/// A wait the client is about to do, for progress messages.
#[derive(Clone, Debug)]
pub struct BusyWait {
    /// Why: `ErrorServerBusy`, `HTTP 503`…
    pub reason: String,
    /// How long.
    pub wait: Duration,
    /// Which retry this will be (1-based).
    pub retry: u32,
    /// Out of how many.
    pub retries: u32,
    /// True when the server gave the duration.
    pub hinted: bool,
}

/// Shared by every worker of a run: when one learns the server is busy, all
/// pause until the hinted time.
#[derive(Default)]
pub struct Gate {
    closed_until: Mutex<Option<Instant>>,
    changed: Condvar,
}

impl Gate {
    /// Closes the gate until `until` (never shortens an existing closure).
    pub fn close_until(&self, until: Instant) {
        let mut closed = self.closed_until.lock().unwrap_or_else(|e| e.into_inner());
        if closed.is_none_or(|current| current < until) {
            *closed = Some(until);
        }
        self.changed.notify_all();
    }

    /// Blocks while the gate is closed.
    pub fn wait_open(&self) {
        let mut closed = self.closed_until.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(until) = *closed {
            let now = Instant::now();
            if now >= until {
                *closed = None;
                break;
            }
            closed = self
                .changed
                .wait_timeout(closed, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

type WaitObserver = Arc<dyn Fn(&BusyWait) + Send + Sync>;

/// Fetches photos from one server. Keep one per thread: it holds that
/// thread's connection and authentication state.
///
/// ```no_run
/// use ews_photo::{Client, ClientConfig, PhotoRequest, PhotoSize, Outcome};
/// let config = ClientConfig { url: "https://mail.contoso.com/EWS/Exchange.asmx".into(), ..Default::default() };
/// let mut client = Client::new(config).unwrap();
/// let request = PhotoRequest { email: "alice@contoso.com".into(), size: PhotoSize::Hr240, if_none_match: None };
/// if let Outcome::Photo(photo) = client.fetch(&request).unwrap() {
///     std::fs::write("alice.jpg", photo.bytes).unwrap();
/// }
/// ```
pub struct Client {
    config: ClientConfig,
    transport: Transport,
    authenticator: Option<Box<dyn Authenticator>>,
    gate: Arc<Gate>,
    on_wait: Option<WaitObserver>,
}

/// Redirects followed on the same server before giving up.
const MAX_REDIRECTS: usize = 5;

impl Client {
    /// Builds a client; checks the URL and the settings that need no network.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        check_url(&config.url)?;
        soap::check_server_version(&config.server_version).map_err(Error::Usage)?;
        let transport = Transport::new(&config.transport)?;
        let mut client = Client {
            config,
            transport,
            authenticator: None,
            gate: Arc::new(Gate::default()),
            on_wait: None,
        };
        client.authenticator = client.configured_authenticator()?;
        Ok(client)
    }

    /// Shares a busy gate with other clients of the same run.
    pub fn with_gate(mut self, gate: Arc<Gate>) -> Client {
        self.gate = gate;
        self
    }

    /// Calls `observer` before every busy wait (for messages).
    pub fn on_wait(mut self, observer: impl Fn(&BusyWait) + Send + Sync + 'static) -> Client {
        self.on_wait = Some(Arc::new(observer));
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Fetches one photo, retrying while the server is busy.
    pub fn fetch(&mut self, request: &PhotoRequest) -> Result<Outcome, Error> {
        let mut retry = 0;
        loop {
            self.gate.wait_open();
            match self.exchange(request) {
                Err(Error::Exchange(ExchangeError::Busy {
                    code,
                    message,
                    back_off,
                })) if retry < self.config.retries => {
                    retry += 1;
                    let wait = back_off
                        .unwrap_or_else(|| exponential(self.config.base_backoff, retry))
                        .min(self.config.max_backoff);
                    if let Some(observer) = &self.on_wait {
                        observer(&BusyWait {
                            reason: message.map(|m| format!("{code}: {m}")).unwrap_or(code),
                            wait,
                            retry,
                            retries: self.config.retries,
                            hinted: back_off.is_some(),
                        });
                    }
                    self.gate.close_until(Instant::now() + wait);
                }
                other => return other,
            }
        }
    }

    /// One exchange: authentication legs and redirects, no retries.
    fn exchange(&mut self, request: &PhotoRequest) -> Result<Outcome, Error> {
        let (mut url, body, mut headers) = match self.config.protocol {
            Protocol::Soap => (
                self.config.url.clone(),
                Some(soap::request(
                    &request.email,
                    request.size,
                    &self.config.server_version,
                )),
                vec![
                    ("Content-Type", "text/xml; charset=utf-8".to_string()),
                    ("SOAPAction", soap::SOAP_ACTION.to_string()),
                ],
            ),
            Protocol::Rest => (
                rest::url(&self.config.url, &request.email, request.size),
                None,
                vec![],
            ),
        };
        if let Some(etag) = &request.if_none_match {
            headers.push(("If-None-Match", quote_etag(etag)));
        }
        let method = if body.is_some() { "POST" } else { "GET" };
        // The challenge for the scheme in use, from the 401 that answered the last leg.
        let mut challenge: Option<auth::Challenge> = None;
        let mut offered: Vec<auth::Challenge> = Vec::new();
        let mut redirects = 0;
        loop {
            let authorization = match self.authenticator.as_mut() {
                Some(auth) => match auth.authorization(challenge.as_ref()) {
                    Ok(Step::Header(value)) => Some(value),
                    Ok(Step::NoHeader) => None,
                    Ok(Step::Failed) => {
                        let scheme = auth.scheme();
                        return Err(self.rejected(scheme, offered, &challenge));
                    }
                    Err(AuthError::Usage(message)) => return Err(Error::Usage(message)),
                    Err(AuthError::Protocol(hint)) => {
                        return Err(ExchangeError::Unauthorized {
                            status: 401,
                            offered,
                            tried: Some(auth.scheme().to_string()),
                            hint,
                        }
                        .into());
                    }
                },
                None => None,
            };
            let reply = self.transport.send(&HttpRequest {
                method,
                url: &url,
                headers: headers.clone(),
                authorization,
                body: body.as_deref().map(str::as_bytes),
            })?;
            match reply.status {
                401 => {
                    offered = parse_challenges(reply.headers_all("www-authenticate"));
                    match self.authenticator.as_ref().map(|a| a.scheme()) {
                        None => {
                            self.authenticator = Some(self.choose_authenticator(&offered)?);
                            challenge = None;
                        }
                        Some(scheme) => {
                            challenge = Some(
                                offered
                                    .iter()
                                    .find(|c| c.is(scheme))
                                    .cloned()
                                    .unwrap_or_else(|| auth::Challenge {
                                        scheme: scheme.to_string(),
                                        token: None,
                                        params: Vec::new(),
                                    }),
                            );
                        }
                    }
                    continue;
                }
                301 | 302 | 303 | 307 | 308 => {
                    redirects += 1;
                    url = same_origin_redirect(&url, &reply, redirects)?;
                    continue;
                }
                _ => {}
            }
            return exchange::interpret(self.config.protocol, &reply).map_err(|e| match e {
                ExchangeError::InvalidAddress { code, .. } => ExchangeError::InvalidAddress {
                    email: request.email.clone(),
                    code,
                }
                .into(),
                other => other.into(),
            });
        }
    }

    /// The 401 after our credentials: say which scheme failed and what to check.
    fn rejected(
        &self,
        scheme: &str,
        offered: Vec<auth::Challenge>,
        challenge: &Option<auth::Challenge>,
    ) -> Error {
        let hint = if !offered.iter().any(|c| c.is(scheme)) {
            format!(
                "the server does not accept {scheme}; {}",
                auth::suggestion(&offered, false, false)
            )
        } else {
            self.authenticator
                .as_ref()
                .map(|a| a.rejection_hint(challenge.as_ref()))
                .unwrap_or_default()
        };
        ExchangeError::Unauthorized {
            status: 401,
            offered,
            tried: Some(scheme.to_string()),
            hint,
        }
        .into()
    }

    /// The authenticator `--auth basic|bearer` asks for, before any request.
    /// NTLM waits for the first 401, which says whether its tokens travel as
    /// `NTLM` or `Negotiate`; its settings are checked now, though.
    fn configured_authenticator(&mut self) -> Result<Option<Box<dyn Authenticator>>, Error> {
        match self.config.auth {
            AuthMethod::Auto => Ok(None),
            AuthMethod::Ntlm => {
                self.ntlm_user()?;
                Ok(None)
            }
            AuthMethod::Basic => self.make(Choice::Basic).map(Some),
            AuthMethod::Bearer => self.make(Choice::Bearer).map(Some),
        }
    }

    fn https(&self) -> bool {
        self.config.url.to_ascii_lowercase().starts_with("https://")
    }

    /// `--auth auto`: picks from the server's challenge.
    fn choose_authenticator(
        &mut self,
        offered: &[auth::Challenge],
    ) -> Result<Box<dyn Authenticator>, Error> {
        let credentials = &self.config.credentials;
        let choice = if self.config.auth == AuthMethod::Ntlm {
            auth::ntlm_scheme(offered).map(Choice::Ntlm).ok_or_else(|| {
                format!(
                    "--auth ntlm was asked for, but the server offers neither NTLM nor Negotiate; {}",
                    auth::suggestion(offered, credentials.user.is_some(), credentials.token.is_some())
                )
            })
        } else {
            auth::choose(
                offered,
                credentials.user.is_some(),
                credentials.token.is_some(),
                self.https(),
            )
        }
        .map_err(|hint| ExchangeError::Unauthorized {
            status: 401,
            offered: offered.to_vec(),
            tried: None,
            hint,
        })?;
        self.make(choice)
    }

    /// The NTLM user from `--user`/`--domain` and the password.
    fn ntlm_user(&mut self) -> Result<NtlmUser, Error> {
        let user = self.config.credentials.user.clone().ok_or_else(|| {
            Error::Usage(
                "NTLM needs a user: pass --user (or set EWS_USER) as DOMAIN\\user, user@domain, or user with --domain".into(),
            )
        })?;
        let password = self.config.credentials.password().map_err(Error::Usage)?;
        let user = NtlmUser::new(&user, self.config.credentials.domain.as_deref(), password);
        if user.user.is_empty() {
            return Err(Error::Usage(
                "the user name is empty after the domain; give --user as DOMAIN\\user or user@domain".into(),
            ));
        }
        Ok(user)
    }

    fn make(&mut self, choice: Choice) -> Result<Box<dyn Authenticator>, Error> {
        let scheme = match choice {
            Choice::Basic => "Basic",
            Choice::Bearer => "Bearer",
            // NTLM sends no password, so plain http:// is allowed: the
            // exchange proves knowledge of it, bound to this server's challenge.
            Choice::Ntlm(scheme) => {
                let user = self.ntlm_user()?;
                let settings = NtlmSettings {
                    scheme,
                    host: host_of(&self.config.url),
                    https: self.https(),
                    peer_certificate: self.transport.peer_certificate(),
                };
                return Ok(Box::new(Ntlm::new(user, settings)));
            }
        };
        if self.config.url.starts_with("http://") && !self.config.allow_insecure_auth {
            return Err(Error::Usage(format!(
                "refusing to send {scheme} credentials over plain http:// (anyone on the path could read them); use an https:// URL, or --allow-insecure-auth if you accept the risk"
            )));
        }
        match choice {
            Choice::Basic => {
                let user = self.config.credentials.user.clone().ok_or_else(|| {
                    Error::Usage(
                        "Basic authentication needs a user: pass --user or set EWS_USER".into(),
                    )
                })?;
                let password = self.config.credentials.password().map_err(Error::Usage)?;
                Ok(auth::basic(&user, &password))
            }
            Choice::Ntlm(_) => unreachable!("handled above"),
            Choice::Bearer => {
                let token: Secret = self.config.credentials.token.clone().ok_or_else(|| {
                    Error::Usage("Bearer authentication needs a token: set EWS_TOKEN or pass --token-file FILE".into())
                })?;
                Ok(auth::bearer(&token))
            }
        }
    }
}

fn check_url(url: &str) -> Result<(), Error> {
    if url.is_empty() {
        return Err(Error::Usage(
            "no EWS URL: pass --url or set EWS_URL (e.g. https://mail.contoso.com/EWS/Exchange.asmx)".into(),
        ));
    }
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(Error::Usage(format!(
            "invalid URL '{url}': it must start with https:// (e.g. https://mail.contoso.com/EWS/Exchange.asmx)"
        )));
    }
    Ok(())
}

/// The host of a URL, lower-cased, without port or IPv6 brackets.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.to_ascii_lowercase()
}

/// `scheme://host:port` of a URL, lower-cased, with the default port filled in.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?.to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    let with_port = if host_port.ends_with(']') || !host_port.contains(':') {
        format!("{host_port}:{default_port}")
    } else {
        host_port
    };
    Some(format!("{scheme}://{with_port}"))
}

/// Follows a redirect only on the same scheme, host and port, so credentials
/// never travel to another server; otherwise says where the server points.
fn same_origin_redirect(from: &str, reply: &HttpReply, hops: usize) -> Result<String, Error> {
    let location = reply.header("location").unwrap_or_default().trim();
    if location.is_empty() {
        return Err(ExchangeError::Redirect(format!(
            "the server answered HTTP {} without a Location; check --url",
            reply.status
        ))
        .into());
    }
    let target = if location.starts_with('/') {
        let (scheme, rest) = from.split_once("://").unwrap_or(("http", from));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        format!("{scheme}://{authority}{location}")
    } else {
        location.to_string()
    };
    if hops > MAX_REDIRECTS {
        return Err(ExchangeError::Redirect(format!(
            "the server redirected more than {MAX_REDIRECTS} times (a redirect loop?); last to {}; check --url",
            crate::transport::strip_query(&target)
        ))
        .into());
    }
    if origin(&target) != origin(from) || origin(&target).is_none() {
        return Err(ExchangeError::Redirect(format!(
            "the server redirected to another host, {}; credentials are not sent there: if that is the right server, pass its EWS URL with --url",
            crate::transport::strip_query(&target)
        ))
        .into());
    }
    Ok(target)
}

/// `base × 2^(retry-1)`, ±25 % jitter, so workers do not retry in step.
fn exponential(base: Duration, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(16));
    let nominal = base.saturating_mul(factor);
    let jitter = 0.75 + fastrand::f64() * 0.5;
    nominal.mul_f64(jitter)
}

/// `1.5s`, `4m57s`, `250ms`.
pub fn human_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis < 60_000 {
        let tenths = (millis + 50) / 100;
        if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        }
    } else {
        let secs = duration.as_secs();
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(2)), "2s");
        assert_eq!(human_duration(Duration::from_millis(297_749)), "4m57s");
    }

    #[test]
    fn backoff_grows_with_jitter() {
        for retry in 1..=4 {
            let d = exponential(Duration::from_secs(1), retry);
            let nominal = 2f64.powi(retry as i32 - 1);
            assert!(d.as_secs_f64() >= nominal * 0.75 && d.as_secs_f64() <= nominal * 1.25);
        }
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://Mail.contoso.com/EWS"),
            Some("https://mail.contoso.com:443".into())
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/x?y"),
            Some("http://127.0.0.1:8080".into())
        );
        assert_eq!(origin("http://u:p@h/x"), Some("http://h:80".into()));
    }

    fn redirect(location: &str) -> HttpReply {
        HttpReply {
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: vec![],
        }
    }

    #[test]
    fn hosts_for_the_ntlm_target_name() {
        assert_eq!(
            host_of("https://Mail.Contoso.com/EWS/Exchange.asmx"),
            "mail.contoso.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8080/EWS"), "127.0.0.1");
        assert_eq!(host_of("https://[::1]:8443/EWS"), "::1");
        assert_eq!(host_of("https://u:p@host:1/x"), "host");
    }

    #[test]
    fn redirects_stay_on_the_same_server() {
        let from = "https://mail.contoso.com/EWS/Exchange.asmx";
        assert_eq!(
            same_origin_redirect(from, &redirect("/ews/exchange.asmx"), 1).unwrap(),
            "https://mail.contoso.com/ews/exchange.asmx"
        );
        assert!(same_origin_redirect(from, &redirect("https://evil.example/EWS"), 1).is_err());
        assert!(same_origin_redirect(from, &redirect("http://mail.contoso.com/EWS"), 1).is_err());
        assert!(same_origin_redirect(from, &redirect(from), MAX_REDIRECTS + 1).is_err());
    }

    #[test]
    fn gate_blocks_until_the_hint() {
        let gate = Gate::default();
        gate.close_until(Instant::now() + Duration::from_millis(30));
        // A shorter closure never shortens a longer one.
        gate.close_until(Instant::now());
        let start = Instant::now();
        gate.wait_open();
        assert!(start.elapsed() >= Duration::from_millis(25));
    }
}
