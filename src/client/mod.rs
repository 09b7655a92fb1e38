//! One photo end to end over a back end: the request, the authentication legs,
//! redirects on the same server, and retries while the server is busy; or
//! several photos at once, in batches, where the back end can batch.

mod service;
mod session;

pub use service::{ClientConfig, Relocate, Service};
pub(crate) use session::{AuthSettings, Redirects, Session};

use std::sync::Arc;
use std::time::Instant;

use crate::HttpUrl;
use crate::auth::AuthMethod;
use crate::backend::{Backend, Exchange, Next, Outcome, PhotoRequest};
use crate::error::{Error, ServerError, TransportError};
use crate::http::{HttpReply, HttpRequest};
use crate::retry::{BusyWait, Gate};
use crate::transport::Transport;

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
        let session = ews_session(&config, &transport, &backend)?;
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
            ServerError::Forbidden {
                detail,
                advice: None,
            } => {
                item.result = Some(Err(match self.session.forbidden_hint() {
                    Some(hint) => ServerError::AppForbidden { detail, hint },
                    None => ServerError::Forbidden {
                        detail,
                        advice: None,
                    },
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
        self.session = ews_session(&self.config, &self.transport, &self.backend)?;
        Ok(true)
    }
}

/// The session for the photos' server: credentials sent as `--auth` says,
/// refusals read by its back end.
fn ews_session(
    config: &ClientConfig,
    transport: &Transport,
    backend: &Arc<dyn Backend>,
) -> Result<Session, Error> {
    Ok(Session::new(
        AuthSettings::of(config),
        config.service.url().clone(),
        transport,
        false,
    )?
    .serving(backend.clone()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;
    use crate::auth::oauth::TokenKind;
    use crate::auth::{self, Credentials};
    use crate::backend::ews::Protocol;

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
