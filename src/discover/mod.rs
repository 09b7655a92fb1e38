//! Autodiscover over the network: runs the pure [`Discovery`] state machine
//! with the tool's [`Transport`] (so `--resolve`, `--ca-cert`, the proxy and
//! the timeout apply), looks up the SRV record, authenticates where the
//! machine allows it, and keeps results in a [`Cache`].
//!
//! Credentials only ever answer a 401, from an https endpoint whose
//! certificate was verified, that the machine allows
//! ([`CredentialPolicy::OnChallenge`]). Each such request gets a new
//! authentication session, so nothing of one server's authentication is
//! carried to the next.

mod cache;
mod dns;
mod report;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use cache::{Cache, Cached, TTL};
pub use report::Report;

use crate::HttpUrl;
use crate::auth::kerberos::KerberosOptions;
use crate::auth::{AuthMethod, Credentials};
use crate::autodiscover::srv::Reply;
use crate::autodiscover::{
    self, Attempt, CredentialPolicy, Discovery, Found, HttpAnswer, Options, Request, Source,
    SrvAnswer, Step,
};
use crate::client::{AuthSettings, Redirects, Relocate, Session};
use crate::error::{Error, ServerError, TransportError};
use crate::transport::{Transport, TransportOptions};

/// How to run Autodiscover.
///
/// ```no_run
/// use ews_photo::discover::{Cache, Settings};
/// let settings = Settings {
///     cache: Cache::platform(),
///     ..Settings::default()
/// };
/// let lookup = settings.lookup("jdoe@contoso.com", &mut |attempt| eprintln!("{attempt}"))?;
/// match &lookup.outcome {
///     Ok(found) => println!("{}", found.ews_url.as_str()),
///     Err(why) => eprintln!("{why}"),
/// }
/// # Ok::<(), ews_photo::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `--auth`, for POX endpoints that ask for credentials.
    pub auth: AuthMethod,
    /// User, password, token.
    pub credentials: Credentials,
    /// The GSS-API library, for Kerberos (`--spn` names the EWS service, so
    /// Autodiscover hosts get their default `HTTP@host`).
    pub kerberos: KerberosOptions,
    /// TLS, proxy, timeout, verbosity, `--resolve`: as for EWS.
    pub transport: TransportOptions,
    /// `--dns-servers` for the SRV lookup; `None`: the system's.
    pub dns_servers: Option<Vec<SocketAddr>>,
    /// Where results are kept; `None`: nowhere.
    pub cache: Option<Cache>,
    /// `--no-cache`: discover even when the cache has a result (and store the new one).
    pub refresh: bool,
}

/// What a lookup gave.
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The address asked for.
    pub email: String,
    /// The EWS URL found, or why none was.
    pub outcome: Result<Found, autodiscover::Error>,
    /// Every request and lookup made, in order (none when the result was cached).
    pub attempts: Vec<Attempt>,
    /// When the result came from the cache: how old it is.
    pub cached: Option<Duration>,
    /// The result could not be stored in the cache: why.
    pub cache_warning: Option<String>,
}

impl Lookup {
    /// The EWS URL to use, or the error to stop with. A URL found only
    /// through an unauthenticated referral outside the address's domain is
    /// refused when there are credentials to send (`with_credentials`):
    /// Autodiscover would not send them there, and neither does EWS.
    pub fn ews_url(&self, with_credentials: bool) -> Result<HttpUrl, Error> {
        let found = self.outcome.clone()?;
        if !found.trusted && with_credentials {
            let via = match found.method {
                Source::Srv => "a DNS SRV record",
                _ => "the plain-http redirect",
            };
            return Err(autodiscover::Error::UnconfirmedUrl {
                address: self.email.clone(),
                domain: autodiscover::domain_of(&self.email)?,
                ews_url: found.ews_url.as_str().to_string(),
                via: via.into(),
            }
            .into());
        }
        Ok(found.ews_url)
    }
}

/// Parses `--dns-servers ADDR[:PORT],…`.
///
/// ```
/// let servers = ews_photo::discover::parse_dns_servers("127.0.0.1:5353,[::1]").unwrap();
/// assert_eq!(servers[1].to_string(), "[::1]:53");
/// assert_eq!(ews_photo::discover::parse_dns_servers("dns.google").unwrap_err().exit().code(), 2);
/// ```
pub fn parse_dns_servers(text: &str) -> Result<Vec<SocketAddr>, Error> {
    dns::parse_servers(text).map_err(|e| Error::Usage(format!("--dns-servers: {e}")))
}

impl Settings {
    /// The EWS URL for an address: from the cache when it has one (unless
    /// [`Settings::refresh`]), else by Autodiscover, whose result is then
    /// stored. `on_attempt` hears of each request and lookup as it ends.
    /// Fails only when Autodiscover cannot start (a malformed address, an
    /// unusable `--ca-cert`); its verdict is in [`Lookup::outcome`].
    pub fn lookup(
        &self,
        email: &str,
        on_attempt: &mut dyn FnMut(&Attempt),
    ) -> Result<Lookup, Error> {
        let email = email.trim();
        let domain = autodiscover::domain_of(email)?;
        if !self.refresh
            && let Some(hit) = self.cache.as_ref().and_then(|c| c.get(&domain))
        {
            return Ok(Lookup {
                email: email.to_string(),
                outcome: Ok(hit.found),
                attempts: Vec::new(),
                cached: Some(hit.age),
                cache_warning: None,
            });
        }
        let mut lookup = self.discover(email, on_attempt)?;
        if let (Ok(found), Some(cache)) = (&lookup.outcome, &self.cache) {
            lookup.cache_warning = cache
                .put(&domain, found)
                .err()
                .map(|why| format!("cannot save the Autodiscover result in the cache ({why})"));
        }
        Ok(lookup)
    }

    /// Runs Autodiscover for an address, without the cache.
    pub fn discover(
        &self,
        email: &str,
        on_attempt: &mut dyn FnMut(&Attempt),
    ) -> Result<Lookup, Error> {
        let options = Options {
            srv_seed: fastrand::u64(..),
            trust_unauthenticated_referrals: false,
            unverified_tls: self.transport.insecure,
        };
        let mut discovery = Discovery::new(email, options)?;
        let transport = Transport::new(&self.transport, crate::http::abbreviate_body)?;
        let mut told = 0;
        loop {
            let step = discovery.step();
            for attempt in &discovery.attempts()[told..] {
                on_attempt(attempt);
            }
            told = discovery.attempts().len();
            match step {
                Step::Http(request) => {
                    let answer = self.send(&transport, request);
                    discovery.http_answer(answer);
                }
                Step::LookUpSrv { name } => {
                    let answer = self.look_up_srv(&name);
                    discovery.srv_answer(answer);
                }
                Step::Done(outcome) => {
                    return Ok(Lookup {
                        email: email.trim().to_string(),
                        outcome,
                        attempts: discovery.attempts().to_vec(),
                        cached: None,
                        cache_warning: None,
                    });
                }
            }
        }
    }

    /// One Autodiscover request, with authentication legs when its policy
    /// allows them, on a session of its own.
    fn send(&self, transport: &Transport, request: Request) -> HttpAnswer {
        let unreachable = |err: Error| match err {
            Error::Transport(TransportError::Unreachable { reason, .. }) => {
                HttpAnswer::Failed(reason)
            }
            other => HttpAnswer::Failed(other.to_string()),
        };
        if request.credentials != CredentialPolicy::OnChallenge {
            return match transport.send(&request.http) {
                Ok(reply) => HttpAnswer::Reply {
                    reply,
                    credentials_sent: false,
                },
                Err(err) => unreachable(err),
            };
        }
        let settings = AuthSettings {
            auth: self.auth,
            credentials: self.credentials.clone(),
            kerberos: KerberosOptions {
                spn: None,
                ..self.kerberos.clone()
            },
            // Autodiscover never sends credentials over http, whatever
            // --allow-insecure-auth says: the machine only allows https.
            allow_insecure_auth: false,
        };
        let session = Session::new(settings, request.http.url.clone(), transport, true);
        let mut session = match session {
            Ok(session) => session,
            Err(err) => {
                return HttpAnswer::Unauthorized {
                    credentials_sent: false,
                    detail: err.to_string(),
                };
            }
        };
        match session.send(transport, request.http, Redirects::Return) {
            Ok(reply) => HttpAnswer::Reply {
                reply,
                credentials_sent: session.sent_credentials(),
            },
            Err(Error::Server(err @ ServerError::Unauthorized { .. })) => {
                HttpAnswer::Unauthorized {
                    credentials_sent: session.sent_credentials(),
                    // The attempt says "HTTP 401" already.
                    detail: err.unauthorized_detail().unwrap_or_else(|| err.to_string()),
                }
            }
            // Missing settings for the scheme the server wants (no password,
            // no user, no Kerberos ticket), or a handshake this side could
            // not finish: that endpoint is out of reach.
            Err(Error::Usage(why) | Error::Authentication(why)) => HttpAnswer::Unauthorized {
                credentials_sent: session.sent_credentials(),
                detail: why,
            },
            Err(err) => unreachable(err),
        }
    }

    fn look_up_srv(&self, name: &str) -> SrvAnswer {
        let servers = match &self.dns_servers {
            Some(servers) => servers.clone(),
            None => match dns::system_servers() {
                Ok(servers) => servers,
                Err(e) => return SrvAnswer::Failed(e.to_string()),
            },
        };
        let timeout = self.transport.timeout.min(dns::DEFAULT_TIMEOUT);
        match dns::lookup_srv(name, &servers, timeout) {
            Ok(reply) => match reply {
                Reply::Records(records) => SrvAnswer::Records(records),
                Reply::NoSuchName => SrvAnswer::NoSuchName,
                Reply::Truncated => SrvAnswer::Failed("a truncated answer".into()),
            },
            Err(e) => SrvAnswer::Failed(e.to_string()),
        }
    }

    /// A [`Relocate`] for clients whose EWS URL came from the cache: the
    /// first time a client finds it stale, Autodiscover runs again (whatever
    /// the cache says, and the cache gets the new result); every client, in
    /// whatever thread, gets that one answer. `tell` hears what happened, in
    /// words for people.
    pub fn relocator(
        &self,
        email: &str,
        with_credentials: bool,
        tell: impl Fn(&str) + Send + Sync + 'static,
    ) -> Relocate {
        let settings = Settings {
            refresh: true,
            ..self.clone()
        };
        let email = email.to_string();
        let answer: Mutex<Option<Option<HttpUrl>>> = Mutex::new(None);
        let answer = Arc::new(answer);
        Relocate::new(move |stale, why| {
            let mut answer = answer.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(known) = answer.as_ref() {
                return known.clone();
            }
            tell(&format!(
                "the cached EWS URL {stale} stopped answering ({why}); running Autodiscover again for {email}"
            ));
            let found = match settings.lookup(&email, &mut |_| {}) {
                Ok(lookup) => {
                    if let Some(warning) = &lookup.cache_warning {
                        tell(warning);
                    }
                    match lookup.ews_url(with_credentials) {
                        Ok(url) if &url == stale => {
                            tell(&format!("Autodiscover found the same URL, {url}"));
                            None
                        }
                        Ok(url) => {
                            tell(&format!("Autodiscover found {url}"));
                            Some(url)
                        }
                        Err(err) => {
                            tell(&err.to_string());
                            None
                        }
                    }
                }
                Err(err) => {
                    tell(&err.to_string());
                    None
                }
            };
            *answer = Some(found.clone());
            found
        })
    }
}
