//! One photo end to end over a back end: the request, the authentication legs,
//! redirects on the same server, and retries while the server is busy; or
//! several photos at once, in batches, where the back end can batch.

use std::sync::Arc;
use std::time::Instant;

use crate::auth::kerberos::{self, Kerberos, KerberosOptions, KerberosSettings};
use crate::auth::ntlm::{Ntlm, NtlmSettings, NtlmUser};
use crate::auth::oauth::{RenewingBearer, TokenKind, scope};
use crate::auth::{
    self, AuthError, AuthMethod, Authenticator, Challenge, Choice, Credentials, Step,
    parse_challenges,
};
use crate::backend::ews::{Ews, Protocol};
use crate::backend::graph::Graph;
use crate::backend::{Backend, Exchange, Next, Outcome, PhotoRequest};
use crate::error::{Error, FORBIDDEN_ADVICE, ServerError, TransportError};
use crate::http::{HttpReply, HttpRequest};
use crate::retry::{BusyWait, Gate, RetryPolicy};
use crate::tls::PeerCertificateSlot;
use crate::transport::{Notes, Transport, TransportOptions};
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
        /// The mailbox every request acts as (`ExchangeImpersonation` and
        /// `X-AnchorMailbox`): what an app's own token needs.
        impersonate: Option<String>,
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
            impersonate: None,
        }
    }

    /// The OAuth scope to ask for when none is given: the service's resource
    /// with `/.default` for an app's own token, or the delegated permission
    /// (and `offline_access`) for a user's.
    ///
    /// EWS: Exchange Online's resource `https://outlook.office365.com` for its
    /// hosts (`outlook.office365.com`, `outlook.office.com`), else the EWS
    /// URL's `https://host`, which Hybrid Modern Auth registers for
    /// on-premises Exchange (and which is the resource of national clouds'
    /// hosts too, e.g. `https://outlook.office365.us`).
    ///
    /// Graph: the service's root (its cloud's), with `/.default`, or with
    /// `ProfilePhoto.Read.All`, the least permission that reads other users'
    /// photos. Finding a user by an address that is not a UPN needs
    /// `User.Read.All` too, which is not asked for by default: the look-up's
    /// refusal says so.
    ///
    /// ```
    /// use ews_photo::{HttpUrl, Service};
    /// use ews_photo::auth::oauth::TokenKind;
    /// let online = Service::ews(HttpUrl::parse("https://outlook.office365.com/EWS/Exchange.asmx").unwrap());
    /// assert_eq!(online.default_scope(TokenKind::AppOnly), "https://outlook.office365.com/.default");
    /// assert_eq!(online.default_scope(TokenKind::Delegated), "https://outlook.office365.com/EWS.AccessAsUser.All offline_access");
    /// let hma = Service::ews(HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap());
    /// assert_eq!(hma.default_scope(TokenKind::AppOnly), "https://mail.contoso.com/.default");
    /// let us = Service::Graph { url: HttpUrl::parse("https://graph.microsoft.us").unwrap() };
    /// assert_eq!(us.default_scope(TokenKind::AppOnly), "https://graph.microsoft.us/.default");
    /// assert_eq!(us.default_scope(TokenKind::Delegated), "https://graph.microsoft.us/ProfilePhoto.Read.All offline_access");
    /// ```
    pub fn default_scope(&self, kind: TokenKind) -> String {
        match self {
            Service::Ews { url, .. } => {
                let resource = scope::resource_of_ews_url(url.as_str());
                match kind {
                    TokenKind::AppOnly => scope::app_only(&resource),
                    TokenKind::Delegated => scope::delegated(&resource),
                }
            }
            Service::Graph { url } => {
                let graph = Graph::new(url);
                match kind {
                    TokenKind::AppOnly => scope::app_only(graph.audience()),
                    TokenKind::Delegated => format!(
                        "{}/{} offline_access",
                        graph.audience(),
                        crate::backend::graph::DELEGATED_PERMISSION
                    ),
                }
            }
        }
    }

    /// Refuses, before any request, a sign-in this service cannot use.
    ///
    /// EWS: an app's own token acts only as a mailbox, through the
    /// `ExchangeImpersonation` SOAP header, which the REST form cannot carry:
    /// it needs `impersonate` and the SOAP form. Graph takes both kinds of
    /// token as they are.
    pub fn check_sign_in(&self, kind: TokenKind) -> Result<(), Error> {
        match self {
            Service::Ews {
                protocol,
                impersonate,
                ..
            } => {
                if kind != TokenKind::AppOnly {
                    return Ok(());
                }
                if impersonate.is_none() {
                    return Err(Error::Usage(
                        "an app signing in by itself (client secret or certificate) can use EWS only acting as a mailbox: add --impersonate SMTP (or EWS_IMPERSONATE), e.g. a service mailbox the app may act as; or sign in as a user with --device-code".into(),
                    ));
                }
                if *protocol == Protocol::Rest {
                    return Err(Error::Usage(
                        "an app's own token needs the ExchangeImpersonation SOAP header, which the REST form cannot carry: use --protocol soap (the default) with --auth oauth and a client secret or certificate".into(),
                    ));
                }
                Ok(())
            }
            Service::Graph { .. } => Ok(()),
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

    /// The same service at another URL.
    pub fn with_url(&self, url: HttpUrl) -> Service {
        match self {
            Service::Ews {
                protocol,
                server_version,
                impersonate,
                ..
            } => Service::Ews {
                url,
                protocol: *protocol,
                server_version: server_version.clone(),
                impersonate: impersonate.clone(),
            },
            Service::Graph { .. } => Service::Graph { url },
        }
    }

    fn backend(&self) -> Result<Arc<dyn Backend>, Error> {
        match self {
            Service::Ews {
                url,
                protocol,
                server_version,
                impersonate,
            } => Ok(Arc::new(
                Ews::new(url.clone(), *protocol, server_version)
                    .map_err(Error::Usage)?
                    .impersonating(impersonate.clone()),
            )),
            Service::Graph { url } => Ok(Arc::new(Graph::new(url))),
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
    /// The service principal and the GSS-API library, for Kerberos.
    pub kerberos: KerberosOptions,
    /// Allow credentials over plain `http://`, where anyone on the path can
    /// read them (Basic, Bearer), capture them to crack or relay (NTLM), or
    /// take over the authenticated connection (NTLM, Kerberos).
    pub allow_insecure_auth: bool,
    /// Retries when the server is busy.
    pub retry: RetryPolicy,
    /// TLS, proxy, timeout, verbosity, `--resolve`.
    pub transport: TransportOptions,
    /// Where to find the URL again when it stops answering: set when it came
    /// from a cache (Autodiscover's), which may be out of date.
    pub relocate: Option<Relocate>,
}

/// Finds the service URL again after the one in use stopped answering (no
/// connection, or an HTTP 404 web page instead of an answer): called with
/// that URL and why, it returns the URL to use instead. Each client asks at
/// most once; clones share the function, so it can make sure that a run
/// looks the URL up only once, whatever the number of workers.
#[derive(Clone)]
pub struct Relocate(Arc<RelocateFn>);

type RelocateFn = dyn Fn(&HttpUrl, &str) -> Option<HttpUrl> + Send + Sync;

impl Relocate {
    /// Wraps the function that finds the URL again.
    pub fn new(find: impl Fn(&HttpUrl, &str) -> Option<HttpUrl> + Send + Sync + 'static) -> Self {
        Relocate(Arc::new(find))
    }

    fn find(&self, stale: &HttpUrl, why: &str) -> Option<HttpUrl> {
        (self.0)(stale, why)
    }
}

impl std::fmt::Debug for Relocate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Relocate")
    }
}

impl ClientConfig {
    /// Defaults for everything but the service: `--auth auto`, no
    /// credentials, 3 retries.
    pub fn new(service: Service) -> ClientConfig {
        ClientConfig {
            service,
            auth: AuthMethod::Auto,
            credentials: Credentials::default(),
            kerberos: KerberosOptions::default(),
            allow_insecure_auth: false,
            retry: RetryPolicy::default(),
            transport: TransportOptions::default(),
            relocate: None,
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
    /// Shared with the session, which asks it what a refusal means.
    backend: Arc<dyn Backend>,
    transport: Transport,
    session: Session,
    /// The URL was looked up again once already.
    relocated: bool,
    gate: Arc<Gate>,
    on_wait: Option<WaitObserver>,
}

/// Redirects followed on the same server before giving up.
const MAX_REDIRECTS: usize = 5;

/// Authentication legs for one request before giving up. NTLM needs two
/// (negotiate, authenticate), three with a handshake redone on a lost
/// connection; Kerberos one or two; anything more is a server that keeps asking.
const MAX_AUTH_LEGS: usize = 4;

impl Client {
    /// Builds a client; checks the settings that need no network.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        if let (
            Service::Graph { .. },
            AuthMethod::Basic | AuthMethod::Ntlm | AuthMethod::Kerberos,
        ) = (&config.service, config.auth)
        {
            return Err(Error::Usage(
                "Microsoft Graph takes OAuth 2 tokens only, not passwords or Kerberos tickets: use --auth oauth (the tool signs in: --tenant, --client-id and a client secret, a certificate or --device-code), or --auth bearer with a token issued for Graph (EWS_TOKEN or --token-file)".into(),
            ));
        }
        let backend = config.service.backend()?;
        if let (AuthMethod::OAuth, Some(source)) = (config.auth, &config.credentials.oauth) {
            config.service.check_sign_in(source.kind())?;
        }
        let transport = Transport::new(&config.transport, backend.body_log())?;
        let session = Session::new(
            AuthSettings::of(&config),
            config.service.url().clone(),
            &transport,
            false,
        )?
        .serving(backend.clone());
        Ok(Client {
            config,
            backend,
            transport,
            session,
            relocated: false,
            gate: Arc::new(Gate::default()),
            on_wait: None,
        })
    }

    /// The URL requests go to now (another one after a relocation).
    pub fn url(&self) -> &HttpUrl {
        self.config.service.url()
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
    /// after the shared gate opens. When the URL stops answering and
    /// [`ClientConfig::relocate`] finds another, every unfinished photo
    /// starts again there.
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
        let mut batch_retries = 0;
        loop {
            let alone = items.iter().position(|i| i.result.is_none() && i.alone);
            let pending: Vec<usize> = match alone {
                Some(one) => vec![one],
                None => (0..items.len())
                    .filter(|&n| items[n].result.is_none())
                    .take(self.batch_limit())
                    .collect(),
            };
            if pending.is_empty() {
                break;
            }
            self.gate.wait_open();
            if let [one] = pending[..] {
                let request = items[one].exchange.request().clone();
                match self.send(request) {
                    Ok(Sent::Reply(reply)) => self.answer(&mut items[one], &photos[one], &reply),
                    Ok(Sent::Relocated) => self.start_again(&mut items, photos),
                    Err(err) => items[one].result = Some(Err(err)),
                }
                continue;
            }
            match self.send_batch(&items, &pending) {
                Ok(Some(parts)) => {
                    batch_retries = 0;
                    for (n, part) in pending.into_iter().zip(parts) {
                        match part {
                            Ok(reply) => self.answer(&mut items[n], &photos[n], &reply),
                            Err(err) => self.fail(&mut items[n], &photos[n], err),
                        }
                    }
                }
                Ok(None) => self.start_again(&mut items, photos),
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
    /// each, in the order of `pending` (`None`: the URL was found again,
    /// nothing was answered).
    fn send_batch(
        &mut self,
        items: &[Item],
        pending: &[usize],
    ) -> Result<Option<Vec<Result<HttpReply, ServerError>>>, Error> {
        let batching = self.backend.batching().expect("only a batching back end");
        let parts: Vec<(String, &HttpRequest)> = pending
            .iter()
            .map(|&n| ((n + 1).to_string(), items[n].exchange.request()))
            .collect();
        let request = batching.wrap(&parts);
        let reply = match self.send(request)? {
            Sent::Reply(reply) => reply,
            Sent::Relocated => return Ok(None),
        };
        let mut answers = self
            .backend
            .batching()
            .expect("only a batching back end")
            .unwrap(&reply)?;
        // Parts come back in any order; ids are matched without case (notes §B.6).
        Ok(Some(
            pending
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
                .collect(),
        ))
    }

    /// Sends one request (a photo's, or a batch) through the session. When
    /// the URL stopped answering (no connection, or a 404 web page) and
    /// another was found, nothing was answered: the caller starts again.
    fn send(&mut self, request: HttpRequest) -> Result<Sent, Error> {
        let reply = match self
            .session
            .send(&self.transport, request, Redirects::SameOrigin)
        {
            Err(Error::Transport(TransportError::Unreachable { url, reason })) => {
                if self.relocate(&reason)? {
                    return Ok(Sent::Relocated);
                }
                return Err(TransportError::Unreachable { url, reason }.into());
            }
            other => other?,
        };
        // An EWS server says "no photo" with a 404 too, but never with a
        // web page: a page means the URL no longer leads to EWS.
        if reply.status == 404
            && reply.looks_like_html()
            && self.relocate("it answered HTTP 404 with a web page, not as EWS")?
        {
            return Ok(Sent::Relocated);
        }
        Ok(Sent::Reply(reply))
    }

    /// After a relocation: every photo not yet done starts its conversation
    /// again with the new URL's back end.
    fn start_again(&self, items: &mut [Item], photos: &[PhotoRequest]) {
        for (item, photo) in items.iter_mut().zip(photos) {
            if item.result.is_none() {
                item.exchange = self.backend.begin(photo);
            }
        }
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
            // The back end's usual guess gives way to what the credentials
            // know (an app's token without roles); a reason the server gave,
            // or Graph's own advice, stays.
            ServerError::Forbidden { detail, advice } if advice == FORBIDDEN_ADVICE => {
                item.result = Some(Err(match self.session.forbidden_hint() {
                    Some(hint) => ServerError::AppForbidden { detail, hint },
                    None => ServerError::Forbidden { detail, advice },
                }
                .into()));
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
        // Closed before anyone hears of it, so that whoever reacts to the
        // message already sees every worker held.
        self.gate.close_until(Instant::now() + wait);
        if let Some(observer) = &self.on_wait {
            observer(&BusyWait {
                reason: message.map(|m| format!("{code}: {m}")).unwrap_or(code),
                wait,
                retry,
                retries: policy.retries,
                hinted: back_off.is_some(),
            });
        }
    }

    /// Moves to the URL [`ClientConfig::relocate`] finds, once: true when
    /// there is a new URL to try. The new server gets a new session, so
    /// nothing of the old one's authentication goes there.
    fn relocate(&mut self, why: &str) -> Result<bool, Error> {
        if self.relocated {
            return Ok(false);
        }
        let Some(relocate) = self.config.relocate.clone() else {
            return Ok(false);
        };
        self.relocated = true;
        let Some(url) = relocate.find(self.config.service.url(), why) else {
            return Ok(false);
        };
        if &url == self.config.service.url() {
            return Ok(false);
        }
        self.config.service = self.config.service.with_url(url);
        self.backend = self.config.service.backend()?;
        self.session = Session::new(
            AuthSettings::of(&self.config),
            self.config.service.url().clone(),
            &self.transport,
            false,
        )?
        .serving(self.backend.clone());
        Ok(true)
    }
}

/// What to do with a redirect answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Redirects {
    /// Follow it when it stays on the same scheme, host and port; refuse it otherwise.
    SameOrigin,
    /// Return it as the answer: the caller decides (Autodiscover's rules).
    Return,
}

/// The authentication settings of a run: scheme, credentials, Kerberos's
/// options, and whether plain http may carry them.
#[derive(Clone, Debug)]
pub(crate) struct AuthSettings {
    pub(crate) auth: AuthMethod,
    pub(crate) credentials: Credentials,
    pub(crate) kerberos: KerberosOptions,
    pub(crate) allow_insecure_auth: bool,
}

impl AuthSettings {
    pub(crate) fn of(config: &ClientConfig) -> AuthSettings {
        AuthSettings {
            auth: config.auth,
            credentials: config.credentials.clone(),
            kerberos: config.kerberos.clone(),
            allow_insecure_auth: config.allow_insecure_auth,
        }
    }
}

/// Authentication towards one server: the scheme picked from its challenges
/// (or from `--auth`) with the run's credentials, for that server alone. A
/// client keeps one for its EWS URL; Autodiscover opens a new one for every
/// endpoint, so an authenticator is never carried from one server to the next.
pub(crate) struct Session {
    settings: AuthSettings,
    /// The server (scheme and host decide where credentials may go).
    url: HttpUrl,
    peer: PeerCertificateSlot,
    notes: Notes,
    authenticator: Option<Box<dyn Authenticator>>,
    /// The loaded GSS-API library and the user's principal, once checked.
    kerberos: Option<kerberos::Ready>,
    /// Send credentials only after a 401, even with `--auth basic|bearer`.
    on_challenge_only: bool,
    /// The back end whose server this is: it may read more in a refusal
    /// than the authentication scheme can (Graph's error code and IDs), and
    /// says whether `X-AnchorMailbox` means anything to it.
    backend: Option<Arc<dyn Backend>>,
}

impl Session {
    /// A session for the server of `url`, over `transport`. With
    /// `on_challenge_only`, nothing is sent before the server asks;
    /// otherwise `--auth basic|bearer` sends its header with the first
    /// request. Settings that need no network are checked now.
    pub(crate) fn new(
        settings: AuthSettings,
        url: HttpUrl,
        transport: &Transport,
        on_challenge_only: bool,
    ) -> Result<Session, Error> {
        let mut session = Session {
            settings,
            url,
            peer: transport.peer_certificate(),
            notes: transport.notes(),
            authenticator: None,
            kerberos: None,
            on_challenge_only,
            backend: None,
        };
        session.authenticator = session.configured_authenticator()?;
        Ok(session)
    }

    /// The session of `backend`'s server: the back end explains a final 401
    /// ([`Backend::rejection_hint`]) and decides on `X-AnchorMailbox`
    /// ([`Backend::routes_by_anchor_mailbox`]).
    pub(crate) fn serving(mut self, backend: Arc<dyn Backend>) -> Session {
        self.backend = Some(backend);
        self
    }

    /// True once credentials went with a request.
    pub(crate) fn sent_credentials(&self) -> bool {
        self.authenticator.is_some()
    }

    /// What the credentials in use can say about a 403.
    fn forbidden_hint(&self) -> Option<String> {
        self.authenticator.as_ref().and_then(|a| a.forbidden_hint())
    }

    /// Sends a request with authentication, answering 401 challenges (and,
    /// with [`Redirects::SameOrigin`], following redirects on the same
    /// server), and returns the final answer.
    pub(crate) fn send(
        &mut self,
        transport: &Transport,
        mut request: HttpRequest,
        redirects_policy: Redirects,
    ) -> Result<HttpReply, Error> {
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
            if let Some(anchor) = self.authenticator.as_ref().and_then(|a| a.anchor_mailbox())
                && self
                    .backend
                    .as_ref()
                    .is_none_or(|b| b.routes_by_anchor_mailbox())
                && !request
                    .headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case("X-AnchorMailbox"))
            {
                request.headers.push(("X-AnchorMailbox", anchor));
            }
            let reply = transport.send(&request)?;
            match reply.status {
                401 => {
                    legs += 1;
                    offered = parse_challenges(reply.headers_all("www-authenticate"));
                    rejection = self
                        .backend
                        .as_ref()
                        .and_then(|backend| backend.rejection_hint(&reply));
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
                status => {
                    // The last leg was answered (a redirect too may carry
                    // Negotiate's final token): the authenticator checks it.
                    if let Some(auth) = self.authenticator.as_mut() {
                        let offered = parse_challenges(reply.headers_all("www-authenticate"));
                        let last = offered.into_iter().find(|c| c.is(auth.scheme()));
                        if let Err(error) = auth.finish(last.as_ref()) {
                            return Err(self.auth_error(error, Vec::new()));
                        }
                    }
                    challenge = None;
                    if !matches!(status, 301 | 302 | 303 | 307 | 308)
                        || redirects_policy == Redirects::Return
                    {
                        return Ok(reply);
                    }
                    redirects += 1;
                    request.url = same_origin_redirect(&request.url, &reply, redirects)?;
                }
            }
        }
    }

    fn auth_error(&self, error: AuthError, offered: Vec<Challenge>) -> Error {
        match error {
            AuthError::Usage(message) => Error::Usage(message),
            AuthError::Local(message) => Error::Authentication(message),
            AuthError::SignIn(error) => Error::SignIn(error),
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
    /// `NTLM` or `Negotiate`, and Kerberos for the TLS connection its channel
    /// binding is computed from; their settings are checked now, though
    /// (Kerberos: the library and the credentials, so that a missing ticket
    /// fails before any request).
    fn configured_authenticator(&mut self) -> Result<Option<Box<dyn Authenticator>>, Error> {
        // A malformed --spn is a usage error whatever --auth says.
        self.kerberos_target()?;
        match self.settings.auth {
            AuthMethod::Auto => Ok(None),
            _ if self.on_challenge_only => Ok(None),
            AuthMethod::Ntlm => {
                self.refuse_plain_http("NTLM")?;
                self.ntlm_user()?;
                Ok(None)
            }
            AuthMethod::Kerberos => {
                self.refuse_plain_http("Kerberos")?;
                let ready = kerberos::probe(&self.settings.kerberos)
                    .map_err(|why| Error::Authentication(why.message()))?;
                let notes = self.notes;
                notes.note(&format!(
                    "auth: Kerberos (--auth kerberos) as {}, using the library {}",
                    ready.principal,
                    ready.gss.library()
                ));
                if self.settings.credentials.user.is_some() {
                    notes.note(&format!(
                        "--user is not used by Kerberos: the ticket's principal, {}, is",
                        ready.principal
                    ));
                }
                self.kerberos = Some(ready);
                Ok(None)
            }
            AuthMethod::Basic => self.make(Choice::Basic, &[]).map(Some),
            AuthMethod::Bearer => self.make(Choice::Bearer, &[]).map(Some),
            AuthMethod::OAuth => self.oauth().map(Some),
        }
    }

    /// `--auth oauth`: the shared token source's renewing Bearer.
    fn oauth(&self) -> Result<Box<dyn Authenticator>, Error> {
        self.refuse_plain_http("Bearer")?;
        let source = self.settings.credentials.oauth.clone().ok_or_else(|| {
            Error::Usage(
                "--auth oauth needs a sign-in: --tenant, --client-id and a credential (--client-secret-file, --certificate or --device-code)".into(),
            )
        })?;
        Ok(Box::new(RenewingBearer::new(source)))
    }

    /// `--spn`, or `HTTP@{host of the URL}`.
    fn kerberos_target(&self) -> Result<ews_gss::Target, Error> {
        kerberos::target(self.settings.kerberos.spn.as_deref(), self.url.host())
            .map_err(Error::Usage)
    }

    /// `--auth auto` on a server that offers Negotiate: Kerberos when the
    /// library loads and the user has credentials (a token for an offered
    /// Bearer wins). Says at `-v` which and why; `Err` is why not, for the
    /// advice when nothing else fits either.
    fn auto_kerberos(&mut self, offered: &[Challenge]) -> Result<(), String> {
        let offers = |scheme: &str| offered.iter().any(|c| c.is(scheme));
        if !offers("Negotiate") {
            return Err(String::new());
        }
        let notes = self.notes;
        if self.settings.credentials.token.is_some() && offers("Bearer") {
            notes.note("auth: not Kerberos: a token is given and the server offers Bearer");
            return Err(String::new());
        }
        match kerberos::probe(&self.settings.kerberos) {
            Ok(ready) => {
                notes.note(&format!(
                    "auth: Kerberos, as {}: the server offers Negotiate and Kerberos credentials are there (library {})",
                    ready.principal,
                    ready.gss.library()
                ));
                self.kerberos = Some(ready);
                Ok(())
            }
            Err(why) => {
                notes.note(&format!(
                    "auth: not Kerberos, although the server offers Negotiate: {}",
                    why.short()
                ));
                Err(why.message())
            }
        }
    }

    /// `--auth auto` (or `ntlm`, whose scheme the challenge decides): picks
    /// from the server's challenge.
    fn choose_authenticator(
        &mut self,
        offered: &[Challenge],
    ) -> Result<Box<dyn Authenticator>, Error> {
        let has_user = self.settings.credentials.user.is_some();
        let has_token = self.settings.credentials.token.is_some();
        let choice = match self.settings.auth {
            AuthMethod::Ntlm => auth::ntlm_scheme(offered).map(Choice::Ntlm).ok_or_else(|| {
                format!(
                    "--auth ntlm was asked for, but the server offers neither NTLM nor Negotiate; {}",
                    auth::suggestion(offered, has_user, has_token)
                )
            }),
            AuthMethod::Kerberos => {
                if offered.iter().any(|c| c.is("Negotiate")) {
                    Ok(Choice::Kerberos)
                } else {
                    Err(format!(
                        "--auth kerberos was asked for, but the server does not offer Negotiate; {}",
                        auth::suggestion(offered, has_user, has_token)
                    ))
                }
            }
            // Only a session that waits for the challenge gets here with these.
            AuthMethod::Basic => Ok(Choice::Basic),
            AuthMethod::Bearer => Ok(Choice::Bearer),
            AuthMethod::OAuth => return self.oauth(),
            AuthMethod::Auto => match self.auto_kerberos(offered) {
                Ok(()) => Ok(Choice::Kerberos),
                Err(why_not) => auth::choose(
                    offered,
                    has_user,
                    has_token,
                    self.url.is_https(),
                )
                .inspect(|choice| {
                    if let Choice::Ntlm(scheme) = choice {
                        self.notes
                            .note(&format!("auth: NTLM in {scheme} (a user is given)"));
                    }
                })
                .map_err(|hint| {
                    if why_not.is_empty() {
                        hint
                    } else {
                        auth::suggestion_with(offered, has_user, has_token, Some(&why_not))
                    }
                }),
            },
        }
        .map_err(|hint| ServerError::Unauthorized {
            status: 401,
            offered: offered.to_vec(),
            tried: None,
            hint,
        })?;
        self.make(choice, offered)
    }

    /// Credentials go over plain http only with `--allow-insecure-auth`.
    fn refuse_plain_http(&self, scheme: &str) -> Result<(), Error> {
        if self.url.is_https() || self.settings.allow_insecure_auth {
            return Ok(());
        }
        let why = match scheme {
            "NTLM" => {
                "a captured NTLM exchange can be cracked offline or relayed to another server, and over http it carries no channel binding"
            }
            "Kerberos" => {
                "over http neither the ticket nor the authenticated connection is bound to a channel: anyone on the path can take over the connection or race the ticket to the server"
            }
            _ => "anyone on the path could read them",
        };
        Err(Error::Usage(format!(
            "refusing to send {scheme} credentials over plain http:// ({why}); use an https:// URL, or --allow-insecure-auth if you accept the risk"
        )))
    }

    /// The NTLM user from `--user`/`--domain` and the password.
    fn ntlm_user(&self) -> Result<NtlmUser, Error> {
        let user = self.settings.credentials.user.clone().ok_or_else(|| {
            Error::Usage(
                "NTLM needs a user: pass --user (or set EWS_USER) as DOMAIN\\user, user@domain, or user with --domain".into(),
            )
        })?;
        let password = self.settings.credentials.password().map_err(Error::Usage)?;
        let user = NtlmUser::new(&user, self.settings.credentials.domain.as_deref(), password);
        if user.user.is_empty() {
            return Err(Error::Usage(
                "the user name is empty after the domain; give --user as DOMAIN\\user or user@domain".into(),
            ));
        }
        Ok(user)
    }

    /// The authenticator for `choice`; `offered` is the server's challenge
    /// (Kerberos at `--auth auto` falls back to NTLM when it fails before
    /// anything is sent and NTLM is offered and possible).
    fn make(
        &mut self,
        choice: Choice,
        offered: &[Challenge],
    ) -> Result<Box<dyn Authenticator>, Error> {
        let url = &self.url;
        match choice {
            Choice::Kerberos => {
                self.refuse_plain_http("Kerberos")?;
                let ready = match self.kerberos.clone() {
                    Some(ready) => ready,
                    None => kerberos::probe(&self.settings.kerberos)
                        .map_err(|why| Error::Authentication(why.message()))?,
                };
                let target = self.kerberos_target()?;
                let notes = self.notes;
                notes.note(&format!(
                    "auth: Kerberos service {target}{}",
                    if self.settings.kerberos.spn.is_some() {
                        " (--spn)"
                    } else {
                        " (the library maps it to a principal as krb5.conf says; --spn names one)"
                    }
                ));
                let settings = KerberosSettings {
                    target,
                    host: url.host().to_string(),
                    https: url.is_https(),
                    peer_certificate: self.peer.clone(),
                    strict: self.settings.auth == AuthMethod::Kerberos,
                    notes,
                };
                match Kerberos::new(ready.gss, settings) {
                    Ok(kerberos) => Ok(Box::new(kerberos)),
                    Err(advice) => {
                        let fallback = auth::ntlm_scheme(offered).filter(|_| {
                            self.settings.auth == AuthMethod::Auto
                                && self.settings.credentials.user.is_some()
                        });
                        match fallback {
                            Some(scheme) => {
                                notes.note(&format!(
                                    "auth: NTLM instead: Kerberos failed before anything was sent: {advice}"
                                ));
                                self.make(Choice::Ntlm(scheme), offered)
                            }
                            None => Err(Error::Authentication(advice)),
                        }
                    }
                }
            }
            Choice::Ntlm(scheme) => {
                self.refuse_plain_http("NTLM")?;
                let settings = NtlmSettings {
                    scheme,
                    host: url.host().to_string(),
                    https: url.is_https(),
                    peer_certificate: self.peer.clone(),
                };
                Ok(Box::new(Ntlm::new(self.ntlm_user()?, settings)))
            }
            Choice::Basic => {
                self.refuse_plain_http("Basic")?;
                let user = self.settings.credentials.user.clone().ok_or_else(|| {
                    Error::Usage(
                        "Basic authentication needs a user: pass --user or set EWS_USER".into(),
                    )
                })?;
                let password = self.settings.credentials.password().map_err(Error::Usage)?;
                Ok(auth::basic(&user, &password))
            }
            Choice::Bearer => {
                self.refuse_plain_http("Bearer")?;
                let token: Secret = self.settings.credentials.token.clone().ok_or_else(|| {
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

/// What became of a request [`Client::send`] sent.
enum Sent {
    /// The server's answer.
    Reply(HttpReply),
    /// The URL stopped answering and another was found: start again there.
    Relocated,
}

/// The same failure again, for every photo of a batch that it ended. Only
/// the kinds that sending a request can give are copied exactly.
fn duplicate(err: &Error) -> Error {
    match err {
        Error::Server(e) => Error::Server(e.clone()),
        Error::Transport(e) => Error::Transport(e.clone()),
        Error::Usage(message) => Error::Usage(message.clone()),
        Error::Authentication(message) => Error::Authentication(message.clone()),
        // A failed sign-in stops an export: each photo must say so again.
        Error::SignIn(e) => Error::SignIn(e.clone()),
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

    /// Whoever hears of a pause must already find the gate closed (the
    /// export engine tells every worker from that message): on each path that
    /// pauses, a photo's own busy answer, a busy part of a batch, and a busy
    /// batch. The observer looks at the gate it is told about; no timing.
    #[test]
    fn the_gate_is_closed_before_a_pause_is_announced() {
        fn watched(config: ClientConfig) -> (Client, Arc<std::sync::Mutex<Vec<bool>>>) {
            let gate = Arc::new(Gate::default());
            let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
            let (watch, record) = (gate.clone(), seen.clone());
            let client = Client::new(config)
                .unwrap()
                .with_gate(gate)
                .on_wait(move |_| record.lock().unwrap().push(watch.closed_until().is_some()));
            (client, seen)
        }
        let photo = |email: &str| PhotoRequest {
            email: email.into(),
            size: crate::PhotoSize::Hr96,
            if_none_match: None,
        };

        let ews = ews_standin::StandIn::start(ews_standin::Options {
            backoff_ms: 1,
            ..ews_standin::Options::default()
        })
        .unwrap();
        let url = HttpUrl::parse(&ews.url()).unwrap();
        let (mut client, seen) = watched(ClientConfig::new(Service::ews(url)));
        assert!(client.fetch(&photo("busyfault-1@contoso.com")).is_ok());
        assert_eq!(*seen.lock().unwrap(), [true]);

        let graph = ews_standin::GraphStandIn::start(ews_standin::GraphOptions {
            retry_after_secs: 0,
            ..ews_standin::GraphOptions::default()
        })
        .unwrap();
        let url = HttpUrl::parse(&graph.url()).unwrap();
        let (mut client, seen) = watched(ClientConfig::new(Service::Graph { url }));
        assert_eq!(client.batch_limit(), 20);
        graph.throttle_batches(1);
        let results =
            client.fetch_many(&[photo("throttle-1@contoso.com"), photo("bob@contoso.com")]);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        // The whole batch, then its throttled part.
        assert_eq!(*seen.lock().unwrap(), [true, true]);
    }

    #[test]
    fn an_apps_token_needs_impersonation_and_soap() {
        let url = HttpUrl::parse("https://outlook.office365.com/EWS/Exchange.asmx").unwrap();
        let service = Service::ews(url.clone());
        let err = service.check_sign_in(TokenKind::AppOnly).unwrap_err();
        assert!(err.to_string().contains("--impersonate"), "{err}");
        assert!(service.check_sign_in(TokenKind::Delegated).is_ok());
        let acting = |protocol| Service::Ews {
            url: url.clone(),
            protocol,
            server_version: "Exchange2013".into(),
            impersonate: Some("svc@contoso.com".into()),
        };
        assert!(
            acting(Protocol::Soap)
                .check_sign_in(TokenKind::AppOnly)
                .is_ok()
        );
        let err = acting(Protocol::Rest)
            .check_sign_in(TokenKind::AppOnly)
            .unwrap_err();
        assert!(err.to_string().contains("--protocol soap"), "{err}");
    }

    /// Every failure that sending a batch can end in fails each of its photos
    /// with the same kind, so the same exit code and the same verdict on the
    /// run (a refused or failed sign-in stops an export).
    #[test]
    fn a_failed_batch_fails_each_photo_with_the_same_kind() {
        use crate::auth::oauth::OAuthError;
        let failures = [
            Error::Usage("--auth".into()),
            Error::Authentication("no ticket".into()),
            Error::SignIn(OAuthError::DeviceFlowEnded("declined".into())),
            Error::SignIn(OAuthError::Unreachable("login".into())),
            Error::Server(ServerError::Redirect("elsewhere".into())),
            Error::Transport(TransportError::Unreachable {
                url: "http://127.0.0.1:1".into(),
                reason: "refused".into(),
            }),
        ];
        for failure in failures {
            let copy = duplicate(&failure);
            assert_eq!(
                std::mem::discriminant(&copy),
                std::mem::discriminant(&failure),
                "{failure}"
            );
            assert_eq!(copy.exit(), failure.exit(), "{failure}");
            assert_eq!(copy.to_string(), failure.to_string());
        }
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
                oauth: None,
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
