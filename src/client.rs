//! One photo end to end over a back end: the request, the authentication legs,
//! redirects on the same server, and retries while the server is busy; or
//! several photos at once, in batches, where the back end can batch.

use std::sync::Arc;
use std::time::Instant;

use crate::auth::ntlm::{Ntlm, NtlmSettings, NtlmUser};
use crate::auth::{
    self, AuthError, AuthMethod, Authenticator, Challenge, Choice, Credentials, Step,
    parse_challenges,
};
use crate::backend::ews::{Ews, Protocol};
use crate::backend::graph::Graph;
use crate::backend::{Backend, Exchange, Next, Outcome, PhotoRequest};
use crate::error::{Error, ServerError, TransportError};
use crate::http::{HttpReply, HttpRequest};
use crate::retry::{BusyWait, Gate, RetryPolicy};
use crate::transport::{Transport, TransportOptions};
use crate::{HttpUrl, Secret};

/// Which service holds the photos, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Service {
    /// Exchange Web Services.
    Ews {
        /// The EWS URL, e.g. `https://mail.contoso.com/EWS/Exchange.asmx`.
        url: HttpUrl,
        /// SOAP or REST.
        protocol: Protocol,
        /// `RequestServerVersion` for SOAP.
        server_version: String,
    },
    /// Microsoft Graph.
    Graph {
        /// The service's root, e.g. `https://graph.microsoft.com` (or a
        /// national cloud's: `https://graph.microsoft.us`,
        /// `https://dod-graph.microsoft.us`, `https://microsoftgraph.chinacloudapi.cn`).
        url: HttpUrl,
    },
}

impl Service {
    /// EWS over SOAP at `url`, with the default `RequestServerVersion`.
    pub fn ews(url: HttpUrl) -> Service {
        Service::Ews {
            url,
            protocol: Protocol::Soap,
            server_version: crate::backend::ews::soap::DEFAULT_SERVER_VERSION.into(),
        }
    }

    /// Microsoft Graph at its global address, `https://graph.microsoft.com`.
    pub fn graph() -> Service {
        Service::Graph {
            url: HttpUrl::parse(crate::backend::graph::GLOBAL).expect("a valid URL"),
        }
    }

    /// The URL requests go to (credentials are checked against its scheme).
    pub fn url(&self) -> &HttpUrl {
        match self {
            Service::Ews { url, .. } | Service::Graph { url } => url,
        }
    }

    /// The back end's name, as `--backend` spells it and manifests record it:
    /// `ews` or `graph`.
    ///
    /// ```
    /// assert_eq!(ews_photo::Service::graph().name(), "graph");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Service::Ews { .. } => "ews",
            Service::Graph { .. } => "graph",
        }
    }

    fn backend(&self) -> Result<Box<dyn Backend>, Error> {
        match self {
            Service::Ews {
                url,
                protocol,
                server_version,
            } => Ok(Box::new(
                Ews::new(url.clone(), *protocol, server_version).map_err(Error::Usage)?,
            )),
            Service::Graph { url } => Ok(Box::new(Graph::new(url))),
        }
    }
}

/// Everything a client needs to talk to one server.
///
/// ```
/// use ews_photo::{ClientConfig, HttpUrl, Service};
/// let url = HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap();
/// let config = ClientConfig::new(Service::ews(url));
/// assert_eq!(config.retry.retries, 3);
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The back end and its URL.
    pub service: Service,
    /// `--auth`.
    pub auth: AuthMethod,
    /// User, password, token.
    pub credentials: Credentials,
    /// Allow credentials over plain `http://`, where anyone on the path can
    /// read them (Basic, Bearer) or capture them to crack or relay (NTLM).
    pub allow_insecure_auth: bool,
    /// Retries when the server is busy.
    pub retry: RetryPolicy,
    /// TLS, proxy, timeout, verbosity.
    pub transport: TransportOptions,
}

impl ClientConfig {
    /// Defaults for everything but the service: `--auth auto`, no
    /// credentials, 3 retries.
    pub fn new(service: Service) -> ClientConfig {
        ClientConfig {
            service,
            auth: AuthMethod::Auto,
            credentials: Credentials::default(),
            allow_insecure_auth: false,
            retry: RetryPolicy::default(),
            transport: TransportOptions::default(),
        }
    }
}

type WaitObserver = Arc<dyn Fn(&BusyWait) + Send + Sync>;

/// Fetches photos from one server over one connection, which stays open (and,
/// with NTLM, authenticated) between photos. A client is used by one thread at
/// a time; a bulk run gives each worker its own client and shares a [`Gate`].
///
/// ```no_run
/// use ews_photo::{Client, ClientConfig, HttpUrl, Outcome, PhotoRequest, PhotoSize, Service};
/// let url = HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx")?;
/// let mut client = Client::new(ClientConfig::new(Service::ews(url)))?;
/// let request = PhotoRequest { email: "alice@contoso.com".into(), size: PhotoSize::Hr240, if_none_match: None };
/// if let Outcome::Photo(photo) = client.fetch(&request)? {
///     std::fs::write("alice.jpg", photo.bytes)?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Client {
    config: ClientConfig,
    backend: Box<dyn Backend>,
    transport: Transport,
    authenticator: Option<Box<dyn Authenticator>>,
    gate: Arc<Gate>,
    on_wait: Option<WaitObserver>,
}

/// Redirects followed on the same server before giving up.
const MAX_REDIRECTS: usize = 5;

/// Authentication legs for one request before giving up. NTLM needs two
/// (negotiate, authenticate), three with a handshake redone on a lost
/// connection; anything more is a server that keeps asking.
const MAX_AUTH_LEGS: usize = 4;

impl Client {
    /// Builds a client; checks the settings that need no network.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        let backend = config.service.backend()?;
        let transport = Transport::new(&config.transport, backend.body_log())?;
        let mut client = Client {
            config,
            backend,
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

    /// Fetches one photo, retrying while the server is busy.
    pub fn fetch(&mut self, photo: &PhotoRequest) -> Result<Outcome, Error> {
        self.fetch_many(std::slice::from_ref(photo))
            .pop()
            .expect("one result per photo")
    }

    /// How many photos [`Client::fetch_many`] sends in one request: the back
    /// end's batch limit (20 for Graph's `$batch`), or 1 (EWS: one request
    /// per photo).
    pub fn batch_limit(&self) -> usize {
        self.backend.batching().map_or(1, |b| b.limit().max(1))
    }

    /// Fetches several photos, one result per photo in the same order. Where
    /// the back end can batch, their requests go together, up to
    /// [`Client::batch_limit`] at a time; a photo whose conversation needs
    /// another request (a look-up, a smaller size) goes in the next round.
    /// Busy answers, to one photo or to the batch, are retried as
    /// [`Client::fetch`] retries them (only what was busy is sent again),
    /// after the shared gate opens.
    pub fn fetch_many(&mut self, photos: &[PhotoRequest]) -> Vec<Result<Outcome, Error>> {
        let mut items: Vec<Item> = photos
            .iter()
            .map(|photo| Item {
                exchange: self.backend.begin(photo),
                retries: 0,
                alone: false,
                result: None,
            })
            .collect();
        let limit = self.batch_limit();
        let mut batch_retries = 0;
        loop {
            let alone = items.iter().position(|i| i.result.is_none() && i.alone);
            let pending: Vec<usize> = match alone {
                Some(one) => vec![one],
                None => (0..items.len())
                    .filter(|&n| items[n].result.is_none())
                    .take(limit)
                    .collect(),
            };
            if pending.is_empty() {
                break;
            }
            self.gate.wait_open();
            if let [one] = pending[..] {
                let request = items[one].exchange.request().clone();
                match self.send(request) {
                    Ok(reply) => self.answer(&mut items[one], &photos[one], &reply),
                    Err(err) => items[one].result = Some(Err(err)),
                }
                continue;
            }
            match self.send_batch(&items, &pending) {
                Ok(parts) => {
                    batch_retries = 0;
                    for (n, part) in pending.into_iter().zip(parts) {
                        match part {
                            Ok(reply) => self.answer(&mut items[n], &photos[n], &reply),
                            Err(err) => self.fail(&mut items[n], &photos[n], err),
                        }
                    }
                }
                // A batch too large to read: its photos go one by one.
                Err(Error::Transport(TransportError::TooLarge { .. })) => {
                    for n in pending {
                        items[n].alone = true;
                    }
                }
                Err(Error::Server(ServerError::Busy {
                    code,
                    message,
                    back_off,
                })) if batch_retries < self.config.retry.retries => {
                    batch_retries += 1;
                    self.pause(code, message, back_off, batch_retries);
                }
                Err(err) => {
                    for n in pending {
                        items[n].result = Some(Err(duplicate(&err)));
                    }
                }
            }
        }
        items
            .into_iter()
            .map(|item| item.result.expect("every photo has a result"))
            .collect()
    }

    /// Sends the current requests of `pending` as one batch; the answer to
    /// each, in the order of `pending`.
    fn send_batch(
        &mut self,
        items: &[Item],
        pending: &[usize],
    ) -> Result<Vec<Result<HttpReply, ServerError>>, Error> {
        let batching = self.backend.batching().expect("only a batching back end");
        let parts: Vec<(String, &HttpRequest)> = pending
            .iter()
            .map(|&n| ((n + 1).to_string(), items[n].exchange.request()))
            .collect();
        let request = batching.wrap(&parts);
        let reply = self.send(request)?;
        let mut answers = self
            .backend
            .batching()
            .expect("only a batching back end")
            .unwrap(&reply)?;
        // Parts come back in any order; ids are matched without case (notes §B.6).
        Ok(pending
            .iter()
            .map(|&n| {
                let id = (n + 1).to_string();
                match answers
                    .iter()
                    .position(|(got, _)| got.eq_ignore_ascii_case(&id))
                {
                    Some(at) => answers.swap_remove(at).1,
                    None => Err(ServerError::Malformed(format!(
                        "the $batch answer has no response for part {id}"
                    ))),
                }
            })
            .collect())
    }

    /// Hands an answer to a photo's exchange: done, another request, or busy
    /// (then the photo starts again after the wait, alone of its batch).
    fn answer(&mut self, item: &mut Item, photo: &PhotoRequest, reply: &HttpReply) {
        match item.exchange.answer(reply) {
            Next::Again => {}
            Next::Done(Ok(outcome)) => item.result = Some(Ok(outcome)),
            Next::Done(Err(err)) => self.fail(item, photo, err),
        }
    }

    fn fail(&mut self, item: &mut Item, photo: &PhotoRequest, err: ServerError) {
        match err {
            ServerError::Busy {
                code,
                message,
                back_off,
            } if item.retries < self.config.retry.retries => {
                item.retries += 1;
                self.pause(code, message, back_off, item.retries);
                item.exchange = self.backend.begin(photo);
            }
            err => item.result = Some(Err(err.into())),
        }
    }

    /// Closes the shared gate for the wait the server asked for (or the
    /// back-off), and says so.
    fn pause(
        &self,
        code: String,
        message: Option<String>,
        back_off: Option<std::time::Duration>,
        retry: u32,
    ) {
        let policy = self.config.retry;
        let wait = policy.wait(retry, back_off);
        if let Some(observer) = &self.on_wait {
            observer(&BusyWait {
                reason: message.map(|m| format!("{code}: {m}")).unwrap_or(code),
                wait,
                retry,
                retries: policy.retries,
                hinted: back_off.is_some(),
            });
        }
        self.gate.close_until(Instant::now() + wait);
    }

    /// Sends a request with authentication, answering 401 challenges and
    /// following redirects on the same server, and returns the final answer.
    fn send(&mut self, mut request: HttpRequest) -> Result<HttpReply, Error> {
        // The challenge for the scheme in use, from the 401 that answered the last leg.
        let mut challenge: Option<Challenge> = None;
        let mut offered: Vec<Challenge> = Vec::new();
        let mut redirects = 0;
        let mut legs = 0;
        // What the back end reads in the last 401, beyond its challenge.
        let mut rejection: Option<String> = None;
        loop {
            request.authorization = match self.authenticator.as_mut() {
                Some(auth) => match auth.authorization(challenge.as_ref()) {
                    Ok(Step::Header(value)) => Some(value),
                    Ok(Step::NoHeader) => None,
                    Ok(Step::Failed) => {
                        let scheme = auth.scheme();
                        return Err(self.rejected(scheme, offered, &challenge, rejection));
                    }
                    Err(error) => return Err(self.auth_error(error, offered)),
                },
                None => None,
            };
            let reply = self.transport.send(&request)?;
            match reply.status {
                401 => {
                    legs += 1;
                    offered = parse_challenges(reply.headers_all("www-authenticate"));
                    rejection = self.backend.rejection_hint(&reply);
                    if legs > MAX_AUTH_LEGS {
                        return Err(ServerError::Unauthorized {
                            status: 401,
                            offered,
                            tried: self.authenticator.as_ref().map(|a| a.scheme().to_string()),
                            hint: format!(
                                "the server asked for credentials {legs} times for one request; check --auth and the account"
                            ),
                        }
                        .into());
                    }
                    match self.authenticator.as_ref().map(|a| a.scheme()) {
                        None => {
                            self.authenticator = Some(self.choose_authenticator(&offered)?);
                            challenge = None;
                        }
                        Some(scheme) => {
                            challenge = Some(scheme_challenge(&offered, scheme));
                        }
                    }
                }
                301 | 302 | 303 | 307 | 308 => {
                    redirects += 1;
                    request.url = same_origin_redirect(&request.url, &reply, redirects)?;
                }
                _ => {
                    if let Some(auth) = self.authenticator.as_mut() {
                        let offered = parse_challenges(reply.headers_all("www-authenticate"));
                        let last = offered.into_iter().find(|c| c.is(auth.scheme()));
                        if let Err(error) = auth.finish(last.as_ref()) {
                            return Err(self.auth_error(error, Vec::new()));
                        }
                    }
                    return Ok(reply);
                }
            }
        }
    }

    fn auth_error(&self, error: AuthError, offered: Vec<Challenge>) -> Error {
        match error {
            AuthError::Usage(message) => Error::Usage(message),
            AuthError::Protocol(hint) => ServerError::Unauthorized {
                status: 401,
                offered,
                tried: self.authenticator.as_ref().map(|a| a.scheme().to_string()),
                hint,
            }
            .into(),
        }
    }

    /// The 401 after our credentials: say which scheme failed and what to
    /// check (the back end's reading of the answer, when it has one).
    fn rejected(
        &self,
        scheme: &str,
        offered: Vec<Challenge>,
        challenge: &Option<Challenge>,
        rejection: Option<String>,
    ) -> Error {
        let hint = if !offered.iter().any(|c| c.is(scheme)) {
            format!(
                "the server does not accept {scheme}; {}",
                auth::suggestion(&offered, false, false)
            )
        } else if let Some(hint) = rejection {
            hint
        } else {
            self.authenticator
                .as_ref()
                .map(|a| a.rejection_hint(challenge.as_ref()))
                .unwrap_or_default()
        };
        ServerError::Unauthorized {
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
        if let (Service::Graph { .. }, AuthMethod::Basic | AuthMethod::Ntlm) =
            (&self.config.service, self.config.auth)
        {
            return Err(Error::Usage(
                "Microsoft Graph takes OAuth 2 tokens only, not passwords: use --auth bearer with a token issued for Graph (EWS_TOKEN or --token-file)".into(),
            ));
        }
        match self.config.auth {
            AuthMethod::Auto => Ok(None),
            AuthMethod::Ntlm => {
                self.refuse_plain_http("NTLM")?;
                self.ntlm_user()?;
                Ok(None)
            }
            AuthMethod::Basic => self.make(Choice::Basic).map(Some),
            AuthMethod::Bearer => self.make(Choice::Bearer).map(Some),
        }
    }

    /// `--auth auto` (or `ntlm`, whose scheme the challenge decides): picks
    /// from the server's challenge.
    fn choose_authenticator(
        &mut self,
        offered: &[Challenge],
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
                self.config.service.url().is_https(),
            )
        }
        .map_err(|hint| ServerError::Unauthorized {
            status: 401,
            offered: offered.to_vec(),
            tried: None,
            hint,
        })?;
        self.make(choice)
    }

    /// Credentials go over plain http only with `--allow-insecure-auth`.
    fn refuse_plain_http(&self, scheme: &str) -> Result<(), Error> {
        if self.config.service.url().is_https() || self.config.allow_insecure_auth {
            return Ok(());
        }
        let why = if scheme == "NTLM" {
            "a captured NTLM exchange can be cracked offline or relayed to another server, and over http it carries no channel binding"
        } else {
            "anyone on the path could read them"
        };
        Err(Error::Usage(format!(
            "refusing to send {scheme} credentials over plain http:// ({why}); use an https:// URL, or --allow-insecure-auth if you accept the risk"
        )))
    }

    /// The NTLM user from `--user`/`--domain` and the password.
    fn ntlm_user(&self) -> Result<NtlmUser, Error> {
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
        let url = self.config.service.url();
        match choice {
            Choice::Ntlm(scheme) => {
                self.refuse_plain_http("NTLM")?;
                let settings = NtlmSettings {
                    scheme,
                    host: url.host().to_string(),
                    https: url.is_https(),
                    peer_certificate: self.transport.peer_certificate(),
                };
                Ok(Box::new(Ntlm::new(self.ntlm_user()?, settings)))
            }
            Choice::Basic => {
                self.refuse_plain_http("Basic")?;
                let user = self.config.credentials.user.clone().ok_or_else(|| {
                    Error::Usage(
                        "Basic authentication needs a user: pass --user or set EWS_USER".into(),
                    )
                })?;
                let password = self.config.credentials.password().map_err(Error::Usage)?;
                Ok(auth::basic(&user, &password))
            }
            Choice::Bearer => {
                self.refuse_plain_http("Bearer")?;
                let token: Secret = self.config.credentials.token.clone().ok_or_else(|| {
                    Error::Usage("Bearer authentication needs a token: set EWS_TOKEN or pass --token-file FILE".into())
                })?;
                Ok(auth::bearer(&token))
            }
        }
    }
}

/// One photo of [`Client::fetch_many`].
struct Item {
    exchange: Box<dyn Exchange>,
    /// Busy retries so far.
    retries: u32,
    /// Sent on its own: its batch's answer was too large to read.
    alone: bool,
    result: Option<Result<Outcome, Error>>,
}

/// The same failure again, for every photo of a batch that it ended. Only
/// the kinds that sending a request can give are copied exactly.
fn duplicate(err: &Error) -> Error {
    match err {
        Error::Server(e) => Error::Server(e.clone()),
        Error::Transport(e) => Error::Transport(e.clone()),
        Error::Usage(message) => Error::Usage(message.clone()),
        other => Error::local("fetch the photos of a batch", other),
    }
}

/// The challenge for `scheme` from a 401, or a bare one when the server no
/// longer offers it (the authenticator then gives up).
fn scheme_challenge(offered: &[Challenge], scheme: &str) -> Challenge {
    offered
        .iter()
        .find(|c| c.is(scheme))
        .cloned()
        .unwrap_or_else(|| Challenge {
            scheme: scheme.to_string(),
            token: None,
            params: Vec::new(),
        })
}

/// Follows a redirect only on the same scheme, host and port, so credentials
/// never travel to another server; otherwise says where the server points.
fn same_origin_redirect(from: &HttpUrl, reply: &HttpReply, hops: usize) -> Result<HttpUrl, Error> {
    let location = reply.header("location").unwrap_or_default().trim();
    if location.is_empty() {
        return Err(ServerError::Redirect(format!(
            "the server answered HTTP {} without a Location; check --url",
            reply.status
        ))
        .into());
    }
    let target = from.join(location).map_err(|e| {
        ServerError::Redirect(format!(
            "the server redirected to something that is not an http(s) URL ({e}); check --url"
        ))
    })?;
    if hops > MAX_REDIRECTS {
        return Err(ServerError::Redirect(format!(
            "the server redirected more than {MAX_REDIRECTS} times (a redirect loop?); last to {target}; check --url"
        ))
        .into());
    }
    if target.origin() != from.origin() {
        return Err(ServerError::Redirect(format!(
            "the server redirected to another host, {target}; credentials are not sent there: if that is the right server, pass its EWS URL with --url"
        ))
        .into());
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(location: &str) -> HttpReply {
        HttpReply {
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: vec![],
        }
    }

    #[test]
    fn redirects_stay_on_the_same_server() {
        let from = HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap();
        assert_eq!(
            same_origin_redirect(&from, &redirect("/ews/exchange.asmx"), 1)
                .unwrap()
                .as_str(),
            "https://mail.contoso.com/ews/exchange.asmx"
        );
        assert_eq!(
            same_origin_redirect(&from, &redirect("HTTPS://MAIL.contoso.com:443/x"), 1)
                .unwrap()
                .as_str(),
            "https://mail.contoso.com/x"
        );
        for elsewhere in [
            "https://evil.example/EWS",
            "http://mail.contoso.com/EWS",
            "https://mail.contoso.com:8443/EWS",
            "",
        ] {
            assert!(same_origin_redirect(&from, &redirect(elsewhere), 1).is_err());
        }
        assert!(same_origin_redirect(&from, &redirect("/x"), MAX_REDIRECTS + 1).is_err());
    }

    #[test]
    fn plain_http_needs_permission_for_every_credential_kind() {
        for spelling in ["http", "HTTP", "Http", "hTtP"] {
            let url =
                HttpUrl::parse(&format!("{spelling}://127.0.0.1:9/EWS/Exchange.asmx")).unwrap();
            let mut config = ClientConfig::new(Service::ews(url));
            config.credentials = Credentials {
                user: Some("CONTOSO\\jdoe".into()),
                password: auth::PasswordSource::Given(Secret::new("pw")),
                token: Some(Secret::new("tok")),
                domain: None,
            };
            for method in [AuthMethod::Basic, AuthMethod::Bearer, AuthMethod::Ntlm] {
                config.auth = method;
                let err = Client::new(config.clone()).err().expect("refused");
                assert!(
                    err.to_string().contains("over plain http://"),
                    "{spelling} {method:?}: {err}"
                );
                let mut allowed = config.clone();
                allowed.allow_insecure_auth = true;
                assert!(Client::new(allowed).is_ok(), "{spelling} {method:?}");
            }
        }
    }
}
