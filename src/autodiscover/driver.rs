//! Discovery as a state machine, without I/O ("sans-IO").
//!
//! [`Discovery::step`] says what to do next: send an HTTP request, look up an
//! SRV record, or stop with the result. The caller does it and feeds the
//! answer back with [`Discovery::http_answer`] or [`Discovery::srv_answer`].
//! Every decision — the order of the candidates, which redirects to follow,
//! when to count a hop, where credentials may go, what each answer means —
//! is made here, so all of it is tested without a network.
//!
//! ```
//! use ews_photo::autodiscover::{Discovery, HttpAnswer, HttpReply, Options, Step};
//!
//! let mut discovery = Discovery::new("jdoe@contoso.com", Options::default()).unwrap();
//! let outcome = loop {
//!     match discovery.step() {
//!         Step::Http(request) => {
//!             // A real caller sends `request` through its transport.
//!             assert!(request.url.starts_with("https://autodiscover.contoso.com/autodiscover/autodiscover.json"));
//!             discovery.http_answer(HttpAnswer::Reply(HttpReply {
//!                 status: 200,
//!                 location: None,
//!                 body: br#"{"Protocol":"EWS","Url":"https://mail.contoso.com/EWS/Exchange.asmx"}"#.to_vec(),
//!                 credentials_sent: false,
//!             }));
//!         }
//!         Step::LookUpSrv { .. } => unreachable!("v2 answered"),
//!         Step::Done(outcome) => break outcome,
//!     }
//! };
//! assert_eq!(outcome.unwrap().ews_url, "https://mail.contoso.com/EWS/Exchange.asmx");
//! ```

use std::collections::VecDeque;
use std::fmt;

use serde::Serialize;

use super::candidates::{self, Candidate, Method, Source};
use super::redirect::{self, Endpoint, MAX_HOPS};
use super::srv::{self, SplitMix, SrvRecord};
use super::url::Url;
use super::{Error, pox, v2};

/// Settings of one discovery.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Seeds the weighted random order of SRV targets of equal priority
    /// (RFC 2782). Pass a random number; tests pass a fixed one.
    pub srv_seed: u64,
    /// Also answer a 401 with credentials at hosts outside the address's
    /// domain that were found only through the plain-http redirect or the SRV
    /// record. Both come over unauthenticated channels, so by default such a
    /// host gets no credentials (the EWS Managed API refuses these URLs unless
    /// the application's callback allows them; Outlook asks the user).
    pub trust_unauthenticated_referrals: bool,
}

/// Whether the caller may answer a 401 to this request with credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// Never: Autodiscover v2 and the plain-http probe need none.
    Never,
    /// Yes, once the server asks (a 401), over the verified TLS connection.
    OnChallenge,
    /// No, although the endpoint may ask: why not.
    Withheld(String),
}

/// An HTTP request to make. Redirects are not followed by the caller: the
/// redirect status comes back as the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The candidate this request belongs to.
    pub source: Source,
    /// GET or POST.
    pub method: Method,
    /// The full URL.
    pub url: String,
    /// Headers to send (besides the transport's own).
    pub headers: Vec<(&'static str, String)>,
    /// The body; empty for GET.
    pub body: Vec<u8>,
    /// Whether a 401 may be answered with credentials.
    pub credentials: Credentials,
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this request, then call [`Discovery::http_answer`].
    Http(Request),
    /// Look up the SRV records of this name, then call [`Discovery::srv_answer`].
    LookUpSrv {
        /// `_autodiscover._tcp.{domain}`.
        name: String,
    },
    /// Finished.
    Done(Result<Found, Error>),
}

/// The answer to a [`Step::Http`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpAnswer {
    /// The server answered (after the caller's authentication legs, if any).
    Reply(HttpReply),
    /// No answer: DNS, connection, TLS (an untrusted certificate too) or timeout.
    Failed(Unreachable),
}

/// An HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// True when this answer came to a request that carried credentials.
    pub credentials_sent: bool,
}

/// Why a request got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreachable {
    /// What failed.
    pub kind: UnreachableKind,
    /// The transport's words, without secrets.
    pub detail: String,
}

/// What kind of failure left a request without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnreachableKind {
    /// The host name does not resolve.
    Dns,
    /// The connection was refused or reset.
    Connect,
    /// The TLS handshake failed; an untrusted or mismatched certificate too.
    Tls,
    /// No answer in time.
    Timeout,
    /// Anything else.
    Other,
}

impl UnreachableKind {
    fn describe(self) -> &'static str {
        match self {
            UnreachableKind::Dns => "the host name does not resolve",
            UnreachableKind::Connect => "the connection failed",
            UnreachableKind::Tls => "TLS failed",
            UnreachableKind::Timeout => "no answer in time",
            UnreachableKind::Other => "no answer",
        }
    }
}

/// The answer to a [`Step::LookUpSrv`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SrvAnswer {
    /// The records (possibly none).
    Records(Vec<SrvRecord>),
    /// NXDOMAIN.
    NoSuchName,
    /// The lookup failed (every DNS server silent, refusing…): why.
    Failed(String),
}

/// The EWS URL found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The EWS URL.
    pub ews_url: String,
    /// The candidate whose chain gave it (the `method` of `discover --json`).
    pub method: Source,
    /// The Autodiscover URL that answered with it.
    pub autodiscover_url: String,
    /// The address it was found for: the one asked, or the last `redirectAddr`.
    pub address: String,
    /// False when the URL was found only through the plain-http redirect or an
    /// SRV record (unauthenticated channels) and its host is outside the
    /// address's domain: confirm it before sending credentials there.
    pub trusted: bool,
}

/// What came of one request or lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptResult {
    /// It gave the EWS URL.
    Found,
    /// It pointed elsewhere, which is tried next.
    Redirected,
    /// It gave nothing usable; the next candidate is tried.
    PassedOver,
}

/// One request or lookup and what came of it: a line of `discover -v`, an
/// entry of `candidates` in `discover --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The candidate it belongs to.
    pub source: Source,
    /// `GET`, `POST` or `SRV`.
    pub method: &'static str,
    /// The URL, or the SRV name.
    pub url: String,
    /// The address being discovered (changes after a `redirectAddr`).
    pub address: String,
    /// What came of it.
    pub result: AttemptResult,
    /// Why, in words.
    pub reason: String,
    /// The HTTP status, when there was an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip)]
    class: Class,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let result = match self.result {
            AttemptResult::Found => "found",
            AttemptResult::Redirected => "redirected",
            AttemptResult::PassedOver => "passed over",
        };
        write!(
            f,
            "{} {} ({}): {result}: {}",
            self.method,
            self.url,
            self.source.describe(),
            self.reason
        )
    }
}

/// How an attempt counts towards the final verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Class {
    /// No answer at all.
    #[default]
    Unreachable,
    /// A DNS step: says nothing about the servers.
    Lookup,
    /// An answer that is not an Autodiscover verdict (404, an HTML page…).
    Answered,
    /// An Autodiscover verdict without an EWS URL (an error, settings without one).
    Definite,
    /// A 401 or 403 from a POX endpoint.
    Authentication,
    /// A redirect back to a URL of the same chain.
    Loop,
    /// A redirect followed, or the URL found.
    Progress,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    V2,
    Pox,
    Probe,
    Srv,
}

#[derive(Clone, Debug)]
struct Job {
    source: Source,
    kind: Kind,
    /// The URL, or the SRV name.
    url: String,
    /// May credentials go here whatever its host? (Reached from the address
    /// over verified TLS only.)
    trusted: bool,
    /// The loop keys of this chain's URLs so far, this one included.
    visited: Vec<String>,
}

/// One discovery for one address. See the [module](self) documentation.
#[derive(Debug)]
pub struct Discovery {
    home_domain: String,
    asked: String,
    address: String,
    addresses: Vec<String>,
    queue: VecDeque<Job>,
    pending: Option<Job>,
    /// The loop keys of the URLs asked for the current address.
    asked_urls: Vec<String>,
    hops: usize,
    attempts: Vec<Attempt>,
    random: SplitMix,
    trust_referrals: bool,
    done: Option<Result<Found, Error>>,
}

impl Discovery {
    /// Starts a discovery; fails only for an address without a usable domain.
    pub fn new(address: &str, options: Options) -> Result<Discovery, Error> {
        let address = address.trim().to_string();
        let home_domain = candidates::domain_of(&address)?;
        let mut discovery = Discovery {
            home_domain,
            asked: address.clone(),
            address: address.clone(),
            addresses: vec![address.to_ascii_lowercase()],
            queue: VecDeque::new(),
            pending: None,
            asked_urls: Vec::new(),
            hops: 0,
            attempts: Vec::new(),
            random: SplitMix::new(options.srv_seed),
            trust_referrals: options.trust_unauthenticated_referrals,
            done: None,
        };
        discovery.queue = jobs_for(&address, true)?;
        Ok(discovery)
    }

    /// What to do next. Calling it again before answering returns the same step.
    pub fn step(&mut self) -> Step {
        if let Some(done) = &self.done {
            return Step::Done(done.clone());
        }
        while self.pending.is_none() {
            let Some(job) = self.queue.pop_front() else {
                let verdict = Err(self.verdict());
                self.done = Some(verdict.clone());
                return Step::Done(verdict);
            };
            if job.kind == Kind::Srv {
                self.pending = Some(job);
                break;
            }
            // A redirect may have led to a later candidate already: asking
            // again would only repeat its answer.
            let key = loop_key(&job.url);
            if self.asked_urls.contains(&key) {
                let reason = "already asked above".to_string();
                self.record(&job, AttemptResult::PassedOver, Class::Lookup, reason, None);
                continue;
            }
            self.asked_urls.push(key);
            self.pending = Some(job);
        }
        let job = self.pending.as_ref().expect("a pending job was just set");
        match job.kind {
            Kind::Srv => Step::LookUpSrv {
                name: job.url.clone(),
            },
            Kind::V2 => Step::Http(Request {
                source: job.source,
                method: Method::Get,
                url: job.url.clone(),
                headers: vec![("Accept", "application/json".into())],
                body: Vec::new(),
                credentials: Credentials::Never,
            }),
            Kind::Probe => Step::Http(Request {
                source: job.source,
                method: Method::Get,
                url: job.url.clone(),
                headers: Vec::new(),
                body: Vec::new(),
                credentials: Credentials::Never,
            }),
            Kind::Pox => Step::Http(Request {
                source: job.source,
                method: Method::Post,
                url: job.url.clone(),
                headers: vec![
                    ("Content-Type", pox::CONTENT_TYPE.into()),
                    ("Accept", "text/xml".into()),
                ],
                body: pox::request(&self.address).into_bytes(),
                credentials: self.credentials_for(job),
            }),
        }
    }

    /// Every request and lookup so far, with what came of it.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// Feeds the answer to the pending [`Step::Http`]. An answer when no HTTP
    /// request is pending is ignored.
    pub fn http_answer(&mut self, answer: HttpAnswer) {
        let Some(job) = self.take_pending(|k| k != Kind::Srv) else {
            return;
        };
        let reply = match answer {
            HttpAnswer::Failed(failure) => {
                let reason = if failure.detail.is_empty() {
                    failure.kind.describe().to_string()
                } else {
                    format!("{}: {}", failure.kind.describe(), failure.detail)
                };
                self.record(
                    &job,
                    AttemptResult::PassedOver,
                    Class::Unreachable,
                    reason,
                    None,
                );
                return;
            }
            HttpAnswer::Reply(reply) => reply,
        };
        match job.kind {
            Kind::V2 => self.on_v2(job, reply),
            Kind::Pox => self.on_pox(job, reply),
            Kind::Probe => self.on_probe(job, reply),
            Kind::Srv => unreachable!("take_pending refused an SRV job"),
        }
    }

    /// Feeds the answer to the pending [`Step::LookUpSrv`]. An answer when no
    /// lookup is pending is ignored.
    pub fn srv_answer(&mut self, answer: SrvAnswer) {
        let Some(job) = self.take_pending(|k| k == Kind::Srv) else {
            return;
        };
        let records = match answer {
            SrvAnswer::Failed(why) => {
                let reason = format!("DNS lookup failed: {why}");
                self.record(&job, AttemptResult::PassedOver, Class::Lookup, reason, None);
                return;
            }
            SrvAnswer::NoSuchName => {
                let reason = "no such name in DNS".to_string();
                self.record(&job, AttemptResult::PassedOver, Class::Lookup, reason, None);
                return;
            }
            SrvAnswer::Records(records) => records,
        };
        let count = records.len();
        let random = &mut self.random;
        let (targets, unused) = srv::usable_targets(records, &mut |bound| random.up_to(bound));
        let unused_text: Vec<String> = unused
            .iter()
            .map(|u| format!("{}:{} ({})", u.record.target, u.record.port, u.reason))
            .collect();
        if targets.is_empty() {
            let reason = match count {
                0 => "no SRV record".to_string(),
                _ => format!("no usable SRV record: {}", unused_text.join(", ")),
            };
            self.record(&job, AttemptResult::PassedOver, Class::Lookup, reason, None);
            return;
        }
        let mut reason = format!("try {}", targets.join(", then "));
        if !unused_text.is_empty() {
            reason.push_str(&format!("; not used: {}", unused_text.join(", ")));
        }
        self.record(&job, AttemptResult::Redirected, Class::Lookup, reason, None);
        for target in targets.into_iter().rev() {
            let url = candidates::pox_url(&target);
            let key = loop_key(&url);
            self.queue.push_front(Job {
                source: Source::Srv,
                kind: Kind::Pox,
                url,
                trusted: false,
                visited: vec![key],
            });
        }
    }

    fn take_pending(&mut self, fits: impl Fn(Kind) -> bool) -> Option<Job> {
        match &self.pending {
            Some(job) if fits(job.kind) && self.done.is_none() => self.pending.take(),
            _ => None,
        }
    }

    fn credentials_for(&self, job: &Job) -> Credentials {
        let host = Url::parse(&job.url)
            .map(|u| u.host().to_string())
            .unwrap_or_default();
        if job.trusted || self.trust_referrals || self.in_home_domain(&host) {
            Credentials::OnChallenge
        } else {
            Credentials::Withheld(format!(
                "{host} was named only by an unauthenticated {} and is outside {}",
                match job.source {
                    Source::Srv => "DNS SRV record",
                    _ => "plain-http redirect",
                },
                self.home_domain
            ))
        }
    }

    fn in_home_domain(&self, host: &str) -> bool {
        host == self.home_domain || host.ends_with(&format!(".{}", self.home_domain))
    }

    fn on_v2(&mut self, job: Job, reply: HttpReply) {
        let status = Some(reply.status);
        if redirect::is_redirect_status(reply.status) {
            return self.follow_http_redirect(job, &reply, Endpoint::V2, Kind::V2);
        }
        let parsed = v2::parse(&reply.body);
        let (class, reason) = match (reply.status, parsed) {
            (200, Ok(v2::Answer::Url { url, .. })) => return self.found(job, &url, reply.status),
            (_, Ok(v2::Answer::Error { code, message })) => (
                Class::Answered,
                format!(
                    "HTTP {}: {}",
                    reply.status,
                    v2::describe_error(code.as_deref(), message.as_deref())
                ),
            ),
            (200, Err(e)) => (Class::Answered, format!("HTTP 200, but {e}")),
            (401, _) => (
                Class::Answered,
                "HTTP 401: asks for credentials, which Autodiscover v2 never needs".into(),
            ),
            (404, _) => (Class::Answered, "HTTP 404: no Autodiscover v2 here".into()),
            (status, _) => (Class::Answered, format!("HTTP {status}")),
        };
        self.record(&job, AttemptResult::PassedOver, class, reason, status);
    }

    fn on_pox(&mut self, job: Job, reply: HttpReply) {
        let status = Some(reply.status);
        if redirect::is_redirect_status(reply.status) {
            return self.follow_http_redirect(job, &reply, Endpoint::Pox, Kind::Pox);
        }
        if matches!(reply.status, 401 | 403) {
            let why = if reply.credentials_sent {
                match reply.status {
                    401 => "the credentials were rejected".to_string(),
                    _ => "the credentials were accepted, but access is denied".to_string(),
                }
            } else {
                match self.credentials_for(&job) {
                    Credentials::Withheld(why) => format!("asks for credentials, not sent: {why}"),
                    _ => "asks for credentials, and none were given".to_string(),
                }
            };
            let reason = format!("HTTP {}: {why}", reply.status);
            self.record(
                &job,
                AttemptResult::PassedOver,
                Class::Authentication,
                reason,
                status,
            );
            return;
        }
        let parsed = pox::parse(&reply.body);
        let (class, reason) = match (reply.status, parsed) {
            (200, Ok(pox::Answer::Settings(settings))) => match settings.ews {
                Some(ews) => return self.found(job, &ews.url, reply.status),
                None => (
                    Class::Definite,
                    format!(
                        "settings without an EWS URL: no EXPR or EXCH protocol has EwsUrl or ASUrl (protocols: {})",
                        if settings.protocols.is_empty() {
                            "none".to_string()
                        } else {
                            settings.protocols.join(", ")
                        }
                    ),
                ),
            },
            (200, Ok(pox::Answer::RedirectAddr(address))) => {
                return self.follow_address(job, address, reply.status);
            }
            (200, Ok(pox::Answer::RedirectUrl(target))) => {
                match redirect::check_target(&target, Endpoint::Pox) {
                    Ok(target) => {
                        let reason = format!("redirectUrl to {target}");
                        return self.hop(job, target, Kind::Pox, reason, status);
                    }
                    Err(refused) => (Class::Answered, format!("redirectUrl refused: {refused}")),
                }
            }
            (_, Ok(pox::Answer::Error(error))) => (
                Class::Definite,
                format!("HTTP {}: {}", reply.status, error.describe()),
            ),
            (200, Err(e)) => (Class::Answered, format!("HTTP 200, but {e}")),
            (404, _) => (Class::Answered, "HTTP 404: no Autodiscover here".into()),
            (status, _) => (Class::Answered, format!("HTTP {status}")),
        };
        self.record(&job, AttemptResult::PassedOver, class, reason, status);
    }

    fn on_probe(&mut self, job: Job, reply: HttpReply) {
        let status = Some(reply.status);
        if !redirect::is_redirect_status(reply.status) {
            let reason = format!("HTTP {} without a redirect to https", reply.status);
            self.record(
                &job,
                AttemptResult::PassedOver,
                Class::Answered,
                reason,
                status,
            );
            return;
        }
        match redirect::follow(&job.url, reply.location.as_deref(), Endpoint::Pox) {
            Ok(target) => {
                let reason = format!("HTTP {} to {target}", reply.status);
                let next = Job {
                    trusted: false,
                    ..job.clone()
                };
                self.hop(next, target, Kind::Pox, reason, status);
            }
            Err(refused) => {
                let reason = format!("HTTP {}: {refused}", reply.status);
                self.record(
                    &job,
                    AttemptResult::PassedOver,
                    Class::Answered,
                    reason,
                    status,
                );
            }
        }
    }

    fn follow_http_redirect(
        &mut self,
        job: Job,
        reply: &HttpReply,
        endpoint: Endpoint,
        kind: Kind,
    ) {
        let status = Some(reply.status);
        match redirect::follow(&job.url, reply.location.as_deref(), endpoint) {
            Ok(target) => {
                let reason = format!("HTTP {} to {target}", reply.status);
                self.hop(job, target, kind, reason, status);
            }
            Err(refused) => {
                let reason = format!("HTTP {}: {refused}", reply.status);
                self.record(
                    &job,
                    AttemptResult::PassedOver,
                    Class::Answered,
                    reason,
                    status,
                );
            }
        }
    }

    /// One URL redirect: counted, checked for a loop, queued first.
    fn hop(&mut self, job: Job, target: String, kind: Kind, reason: String, status: Option<u16>) {
        if !self.count_hop(&job, &target, status) {
            return;
        }
        let key = loop_key(&target);
        if job.visited.contains(&key) {
            let mut chain: Vec<&str> = job.visited.iter().map(String::as_str).collect();
            chain.push(&key);
            let reason = format!("{reason}: a redirect loop ({})", chain.join(" → "));
            self.record(&job, AttemptResult::PassedOver, Class::Loop, reason, status);
            return;
        }
        self.record(
            &job,
            AttemptResult::Redirected,
            Class::Progress,
            reason,
            status,
        );
        let mut visited = job.visited.clone();
        visited.push(key);
        self.queue.push_front(Job {
            source: job.source,
            kind,
            url: target,
            trusted: job.trusted,
            visited,
        });
    }

    /// One `redirectAddr`: counted, checked for a loop, then every candidate
    /// again for the new address.
    fn follow_address(&mut self, job: Job, address: String, status: u16) {
        let status = Some(status);
        if let Err(e) = candidates::domain_of(&address) {
            let reason = format!("redirectAddr to an unusable address: {e}");
            self.record(
                &job,
                AttemptResult::PassedOver,
                Class::Answered,
                reason,
                status,
            );
            return;
        }
        if !self.count_hop(&job, &address, status) {
            return;
        }
        let lower = address.to_ascii_lowercase();
        if self.addresses.contains(&lower) {
            let mut chain = self.addresses.clone();
            chain.push(lower);
            let reason = format!("redirectAddr to {address}, an address already tried");
            self.record(
                &job,
                AttemptResult::PassedOver,
                Class::Answered,
                reason,
                status,
            );
            self.done = Some(Err(Error::AddressLoop {
                address: self.asked.clone(),
                chain: chain.join(" → "),
            }));
            return;
        }
        let reason = format!("redirectAddr to {address}");
        self.record(
            &job,
            AttemptResult::Redirected,
            Class::Progress,
            reason,
            status,
        );
        match jobs_for(&address, job.trusted) {
            Ok(jobs) => {
                self.queue = jobs;
                self.asked_urls.clear();
                self.addresses.push(lower);
                self.address = address;
            }
            Err(e) => self.done = Some(Err(e)),
        }
    }

    /// Counts a redirect; false (and done) past [`MAX_HOPS`].
    fn count_hop(&mut self, job: &Job, target: &str, status: Option<u16>) -> bool {
        self.hops += 1;
        if self.hops <= MAX_HOPS {
            return true;
        }
        let reason = format!("one redirect too many (to {target})");
        self.record(
            job,
            AttemptResult::PassedOver,
            Class::Answered,
            reason,
            status,
        );
        let chain: Vec<String> = self
            .attempts
            .iter()
            .filter(|a| a.result == AttemptResult::Redirected && a.method != "SRV")
            .map(|a| a.url.clone())
            .chain([job.url.clone(), target.to_string()])
            .collect();
        self.done = Some(Err(Error::TooManyRedirects {
            address: self.asked.clone(),
            limit: MAX_HOPS,
            chain: chain.join(" → "),
        }));
        false
    }

    fn found(&mut self, job: Job, url: &str, status: u16) {
        let status = Some(status);
        let parsed = match Url::parse(url) {
            Ok(parsed) if parsed.is_https() => parsed,
            Ok(_) => {
                let reason = format!(
                    "an EWS URL that is not https ({url}): refused, since credentials would go there in the clear"
                );
                self.record(
                    &job,
                    AttemptResult::PassedOver,
                    Class::Definite,
                    reason,
                    status,
                );
                return;
            }
            Err(e) => {
                let reason = format!("an EWS URL that is not a URL: {e}");
                self.record(
                    &job,
                    AttemptResult::PassedOver,
                    Class::Definite,
                    reason,
                    status,
                );
                return;
            }
        };
        let ews_url = parsed.to_string();
        let trusted = job.trusted || self.in_home_domain(parsed.host());
        self.record(
            &job,
            AttemptResult::Found,
            Class::Progress,
            format!("EWS URL {ews_url}"),
            status,
        );
        self.done = Some(Ok(Found {
            ews_url,
            method: job.source,
            autodiscover_url: job.url,
            address: self.address.clone(),
            trusted,
        }));
    }

    fn record(
        &mut self,
        job: &Job,
        result: AttemptResult,
        class: Class,
        reason: String,
        status: Option<u16>,
    ) {
        let method = match job.kind {
            Kind::Srv => "SRV",
            Kind::Pox => "POST",
            Kind::V2 | Kind::Probe => "GET",
        };
        self.attempts.push(Attempt {
            source: job.source,
            method,
            url: job.url.clone(),
            address: self.address.clone(),
            result,
            reason,
            status,
            class,
        });
    }

    /// Why nothing was found, once every candidate is spent.
    fn verdict(&self) -> Error {
        let of = |class: Class| -> Vec<&Attempt> {
            self.attempts.iter().filter(|a| a.class == class).collect()
        };
        let address = self.asked.clone();
        let (auth, definite, loops, answered) = (
            of(Class::Authentication),
            of(Class::Definite),
            of(Class::Loop),
            of(Class::Answered),
        );
        if !auth.is_empty() && definite.is_empty() {
            return Error::Authentication {
                address,
                details: summary(&auth),
            };
        }
        if !definite.is_empty() {
            let mut telling = definite;
            telling.extend(auth);
            return Error::NoEwsUrl {
                address,
                details: summary(&telling),
            };
        }
        if !loops.is_empty() {
            return Error::RedirectLoop {
                address,
                details: summary(&loops),
            };
        }
        if !answered.is_empty() {
            return Error::NoEwsUrl {
                address,
                details: summary(&answered),
            };
        }
        let tried: Vec<&Attempt> = self.attempts.iter().collect();
        Error::NothingReachable {
            address,
            details: summary(&tried),
        }
    }
}

/// "url: reason; url: reason" for the three most telling attempts.
fn summary(attempts: &[&Attempt]) -> String {
    const SHOWN: usize = 3;
    let mut text: Vec<String> = attempts
        .iter()
        .take(SHOWN)
        .map(|a| format!("{} {}: {}", a.method, a.url, a.reason))
        .collect();
    if attempts.len() > SHOWN {
        text.push(format!("and {} more", attempts.len() - SHOWN));
    }
    text.join("; ")
}

fn jobs_for(address: &str, trusted: bool) -> Result<VecDeque<Job>, Error> {
    Ok(candidates::candidates(address)?
        .into_iter()
        .map(|candidate| match candidate {
            Candidate::Http {
                source,
                method: _,
                url,
            } => Job {
                source,
                kind: match source {
                    Source::V2 => Kind::V2,
                    Source::HttpRedirect => Kind::Probe,
                    _ => Kind::Pox,
                },
                visited: vec![loop_key(&url)],
                url,
                trusted,
            },
            Candidate::Srv { name } => Job {
                source: Source::Srv,
                kind: Kind::Srv,
                visited: Vec::new(),
                url: name,
                trusted,
            },
        })
        .collect())
}

fn loop_key(url: &str) -> String {
    Url::parse(url)
        .map(|u| u.loop_key())
        .unwrap_or_else(|_| url.to_ascii_lowercase())
}

#[cfg(test)]
mod tests;
