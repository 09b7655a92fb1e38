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
//! use ews_photo::autodiscover::{Discovery, HttpAnswer, Options, Step};
//! use ews_photo::HttpReply;
//!
//! let mut discovery = Discovery::new("jdoe@contoso.com", Options::default()).unwrap();
//! let outcome = loop {
//!     match discovery.step() {
//!         Step::Http(request) => {
//!             // A real caller sends `request.http` through its transport.
//!             assert!(request.http.url.as_str().starts_with("https://autodiscover.contoso.com/autodiscover/autodiscover.json"));
//!             discovery.http_answer(HttpAnswer::Reply {
//!                 reply: HttpReply {
//!                     status: 200,
//!                     headers: vec![],
//!                     body: br#"{"Protocol":"EWS","Url":"https://mail.contoso.com/EWS/Exchange.asmx"}"#.to_vec(),
//!                 },
//!                 credentials_sent: false,
//!             });
//!         }
//!         Step::LookUpSrv { .. } => unreachable!("v2 answered"),
//!         Step::Done(outcome) => break outcome,
//!     }
//! };
//! assert_eq!(outcome.unwrap().ews_url.as_str(), "https://mail.contoso.com/EWS/Exchange.asmx");
//! ```

use std::collections::VecDeque;
use std::fmt;

use serde::Serialize;

use super::candidates::{self, Candidate, Source};
use super::redirect::{self, Endpoint, MAX_HOPS};
use super::srv::{self, SrvRecord};
use super::{Error, pox, v2};
use crate::HttpUrl;
use crate::http::{HttpReply, HttpRequest};

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
    /// Certificates are not verified (`--insecure`): then no endpoint gets
    /// credentials, since none can be told from an impostor.
    pub unverified_tls: bool,
}

/// Whether the caller may answer a 401 to this request with credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialPolicy {
    /// Never: Autodiscover v2 and the plain-http probe need none.
    Never,
    /// Yes, once the server asks (a 401), over the verified TLS connection.
    OnChallenge,
    /// No, although the endpoint may ask: why not.
    Withheld(String),
}

/// An HTTP request to make. Redirects are not followed by the caller: the
/// redirect status comes back as the answer.
#[derive(Clone, Debug)]
pub struct Request {
    /// The candidate this request belongs to.
    pub source: Source,
    /// The request, without `Authorization`.
    pub http: HttpRequest,
    /// Whether a 401 may be answered with credentials.
    pub credentials: CredentialPolicy,
}

/// What to do next.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
pub enum HttpAnswer {
    /// The server answered (after the caller's authentication legs, if any).
    Reply {
        /// The final answer.
        reply: HttpReply,
        /// True when the request it answers carried credentials.
        credentials_sent: bool,
    },
    /// The server kept answering 401: the credentials were refused, or
    /// there were none it takes.
    Unauthorized {
        /// True when credentials went with a request.
        credentials_sent: bool,
        /// What the authentication said, and what to check (no secret).
        detail: String,
    },
    /// No answer: DNS, connection, TLS (an untrusted certificate too) or
    /// timeout, in the transport's words (which hold no secret).
    Failed(String),
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The EWS URL.
    pub ews_url: HttpUrl,
    /// The candidate whose chain gave it (the `method` of `discover --json`).
    pub method: Source,
    /// The Autodiscover URL that answered with it.
    pub autodiscover_url: HttpUrl,
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

/// What a job asks: an Autodiscover URL, or the SRV record of a name.
#[derive(Clone, Debug)]
enum Target {
    Url(HttpUrl),
    Srv(String),
}

impl Target {
    /// The URL with its query, or the name: for messages.
    fn text(&self) -> &str {
        match self {
            Target::Url(url) => url.as_str(),
            Target::Srv(name) => name,
        }
    }
}

#[derive(Clone, Debug)]
struct Job {
    source: Source,
    kind: Kind,
    target: Target,
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
    random: fastrand::Rng,
    trust_referrals: bool,
    unverified_tls: bool,
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
            random: fastrand::Rng::with_seed(options.srv_seed),
            trust_referrals: options.trust_unauthenticated_referrals,
            unverified_tls: options.unverified_tls,
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
            let key = loop_key(job.target.text());
            if self.asked_urls.contains(&key) {
                let reason = "already asked above".to_string();
                self.record(&job, AttemptResult::PassedOver, Class::Lookup, reason, None);
                continue;
            }
            self.asked_urls.push(key);
            self.pending = Some(job);
        }
        let job = self.pending.as_ref().expect("a pending job was just set");
        let url = match &job.target {
            Target::Srv(name) => return Step::LookUpSrv { name: name.clone() },
            Target::Url(url) => url.clone(),
        };
        let (http, credentials) = match job.kind {
            Kind::V2 => (
                HttpRequest::get(url).header("Accept", "application/json"),
                CredentialPolicy::Never,
            ),
            Kind::Probe => (HttpRequest::get(url), CredentialPolicy::Never),
            Kind::Pox | Kind::Srv => (
                HttpRequest::post(url, pox::request(&self.address).into_bytes())
                    .header("Content-Type", pox::CONTENT_TYPE)
                    .header("Accept", "text/xml"),
                self.credentials_for(job),
            ),
        };
        Step::Http(Request {
            source: job.source,
            http,
            credentials,
        })
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
        let (reply, credentials_sent) = match answer {
            HttpAnswer::Failed(reason) => {
                self.record(
                    &job,
                    AttemptResult::PassedOver,
                    Class::Unreachable,
                    reason,
                    None,
                );
                return;
            }
            HttpAnswer::Unauthorized { detail, .. } => {
                let reason = format!("HTTP 401: {detail}");
                self.record(
                    &job,
                    AttemptResult::PassedOver,
                    Class::Authentication,
                    reason,
                    Some(401),
                );
                return;
            }
            HttpAnswer::Reply {
                reply,
                credentials_sent,
            } => (reply, credentials_sent),
        };
        let Target::Url(from) = job.target.clone() else {
            return;
        };
        match job.kind {
            Kind::V2 => self.on_v2(job, &from, reply),
            Kind::Pox => self.on_pox(job, &from, reply, credentials_sent),
            Kind::Probe => self.on_probe(job, &from, reply),
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
        let (targets, unused) = srv::usable_targets(records, &mut |bound| random.u32(0..=bound));
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
            // usable_targets lets only host names through, so this parses.
            let Ok(url) = HttpUrl::parse(&candidates::pox_url(&target)) else {
                continue;
            };
            let key = loop_key(url.as_str());
            self.queue.push_front(Job {
                source: Source::Srv,
                kind: Kind::Pox,
                target: Target::Url(url),
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

    fn credentials_for(&self, job: &Job) -> CredentialPolicy {
        let host = match &job.target {
            Target::Url(url) => url.host(),
            Target::Srv(_) => return CredentialPolicy::Never,
        };
        if self.unverified_tls {
            return CredentialPolicy::Withheld(
                "--insecure: certificates are not verified, so no server can be told from an impostor"
                    .into(),
            );
        }
        if job.trusted || self.trust_referrals || self.in_home_domain(host) {
            CredentialPolicy::OnChallenge
        } else {
            // Exchange Online with a custom domain is typically found this way
            // (autodiscover.{domain} is a CNAME to Microsoft, whose certificate
            // does not name it): its EWS URL is well known.
            let online = [".outlook.com", ".office365.com"]
                .iter()
                .any(|suffix| host.ends_with(suffix));
            CredentialPolicy::Withheld(format!(
                "{host} was named only by an unauthenticated {} and is outside {}{}",
                match job.source {
                    Source::Srv => "DNS SRV record",
                    _ => "plain-http redirect",
                },
                self.home_domain,
                if online {
                    "; for Exchange Online, pass --url https://outlook.office365.com/EWS/Exchange.asmx"
                } else {
                    ""
                }
            ))
        }
    }

    fn in_home_domain(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        host == self.home_domain || host.ends_with(&format!(".{}", self.home_domain))
    }

    fn on_v2(&mut self, job: Job, from: &HttpUrl, reply: HttpReply) {
        let status = Some(reply.status);
        if redirect::is_redirect_status(reply.status) {
            return self.follow_http_redirect(job, from, &reply, Endpoint::V2, Kind::V2);
        }
        let parsed = v2::parse(&reply.body);
        let (class, reason) = match (reply.status, parsed) {
            (200, Ok(v2::Answer::Url { url, .. })) => {
                return self.found(job, from, &url, reply.status);
            }
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

    fn on_pox(&mut self, job: Job, from: &HttpUrl, reply: HttpReply, credentials_sent: bool) {
        let status = Some(reply.status);
        if redirect::is_redirect_status(reply.status) {
            return self.follow_http_redirect(job, from, &reply, Endpoint::Pox, Kind::Pox);
        }
        if matches!(reply.status, 401 | 403) {
            let why = if credentials_sent {
                match reply.status {
                    401 => "the credentials were rejected".to_string(),
                    _ => "the credentials were accepted, but access is denied".to_string(),
                }
            } else {
                match self.credentials_for(&job) {
                    CredentialPolicy::Withheld(why) => {
                        format!("asks for credentials, not sent: {why}")
                    }
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
                Some(ews) => return self.found(job, from, &ews.url, reply.status),
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
                        let reason = format!("redirectUrl to {}", target.as_str());
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

    fn on_probe(&mut self, job: Job, from: &HttpUrl, reply: HttpReply) {
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
        match redirect::follow(from, reply.header("location"), Endpoint::Pox) {
            Ok(target) => {
                let reason = format!("HTTP {} to {}", reply.status, target.as_str());
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
        from: &HttpUrl,
        reply: &HttpReply,
        endpoint: Endpoint,
        kind: Kind,
    ) {
        let status = Some(reply.status);
        match redirect::follow(from, reply.header("location"), endpoint) {
            Ok(target) => {
                let reason = format!("HTTP {} to {}", reply.status, target.as_str());
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
    fn hop(&mut self, job: Job, target: HttpUrl, kind: Kind, reason: String, status: Option<u16>) {
        if !self.count_hop(&job, target.as_str(), status) {
            return;
        }
        let key = loop_key(target.as_str());
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
            target: Target::Url(target),
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
            .chain([job.target.text().to_string(), target.to_string()])
            .collect();
        self.done = Some(Err(Error::TooManyRedirects {
            address: self.asked.clone(),
            limit: MAX_HOPS,
            chain: chain.join(" → "),
        }));
        false
    }

    fn found(&mut self, job: Job, from: &HttpUrl, url: &str, status: u16) {
        let status = Some(status);
        let parsed = match HttpUrl::parse(url) {
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
        let trusted = job.trusted || self.in_home_domain(parsed.host());
        self.record(
            &job,
            AttemptResult::Found,
            Class::Progress,
            format!("EWS URL {}", parsed.as_str()),
            status,
        );
        self.done = Some(Ok(Found {
            ews_url: parsed,
            method: job.source,
            autodiscover_url: from.clone(),
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
            url: job.target.text().to_string(),
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
    candidates::candidates(address)?
        .into_iter()
        .map(|candidate| match candidate {
            Candidate::Http {
                source,
                method: _,
                url,
            } => {
                let url = HttpUrl::parse(&url).map_err(|e| Error::BadAddress {
                    address: address.to_string(),
                    reason: format!("its Autodiscover URL is not usable ({e})"),
                })?;
                Ok(Job {
                    source,
                    kind: match source {
                        Source::V2 => Kind::V2,
                        Source::HttpRedirect => Kind::Probe,
                        _ => Kind::Pox,
                    },
                    visited: vec![loop_key(url.as_str())],
                    target: Target::Url(url),
                    trusted,
                })
            }
            Candidate::Srv { name } => Ok(Job {
                source: Source::Srv,
                kind: Kind::Srv,
                visited: Vec::new(),
                target: Target::Srv(name),
                trusted,
            }),
        })
        .collect()
}

/// URLs as compared for loop detection: IIS paths are case-insensitive, so
/// `/Autodiscover/Autodiscover.xml` and `/autodiscover/autodiscover.xml` are
/// one endpoint.
fn loop_key(url: &str) -> String {
    url.to_ascii_lowercase()
}

#[cfg(test)]
mod tests;
