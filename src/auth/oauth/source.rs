//! The token source: gets, caches and renews the tokens of one sign-in, for
//! every client of a run.
//!
//! One [`TokenSource`] is shared (in an `Arc`) by all the clients of a run, so
//! the workers of an `export` sign in once and renew once: a token is renewed
//! by the first worker that finds it due, while the others go on sending it
//! (it still has its [`margin`](super::cache::margin) left); only a token that
//! can no longer be used makes them wait for the renewal. A token the server
//! refused is renewed once for all the workers that saw it refused
//! ([`TokenSource::reject`]).
//!
//! The requests go through the tool's own [`Transport`], so `--ca-cert`,
//! `--proxy`, `--timeout` and the redacted `-v` logs apply to the sign-in
//! server too; bodies are logged by [`log_body`], which shows no secret.
//! Nothing is printed: what the user must see (the device code) and what went
//! wrong on the side (a cache file not used) arrive as [`SignInEvent`]s.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use super::cache::{CacheEntry, CacheKey, CacheWarning, TokenCache};
use super::device::{Polling, Step};
use super::form::{self, ClientAuth, TokenForm};
use super::response::{
    DEFAULT_RETRY_AFTER, DeviceAuthorization, parse_device_authorization, parse_token_response,
};
use super::{
    AssertionAlg, Authority, ClientCertificate, OAuthError, TokenKind, TokenResponse,
    client_assertion, jti_from_random, scope,
};
use crate::error::Error;
use crate::http::{HttpReply, HttpRequest};
use crate::retry::{BusyWait, RetryPolicy};
use crate::transport::{Transport, TransportOptions};
use crate::{HttpUrl, Secret};

/// How the app proves who it is, or that a user signs in.
#[derive(Clone)]
pub enum ClientCredential {
    /// The client secret's value: app-only.
    Secret(Secret),
    /// A certificate registered with the app: app-only, with a signed
    /// assertion (PS256, `x5t#S256`) for every token request.
    Certificate(Arc<ClientCertificate>),
    /// A user signs in with the device-code flow (RFC 8628): delegated.
    DeviceCode,
}

impl ClientCredential {
    /// Whom the tokens speak for.
    pub fn kind(&self) -> TokenKind {
        match self {
            ClientCredential::Secret(_) | ClientCredential::Certificate(_) => TokenKind::AppOnly,
            ClientCredential::DeviceCode => TokenKind::Delegated,
        }
    }
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredential::Secret(_) => f.write_str("Secret(<redacted>)"),
            ClientCredential::Certificate(c) => {
                write!(f, "Certificate(thumbprint {})", c.thumbprint_sha1_hex())
            }
            ClientCredential::DeviceCode => f.write_str("DeviceCode"),
        }
    }
}

/// What a sign-in needs. `Debug` shows no secret.
#[derive(Clone, Debug)]
pub struct SignIn {
    /// The sign-in server and tenant.
    pub authority: Authority,
    /// The app registration's Application (client) ID.
    pub client_id: String,
    /// A secret, a certificate, or a user's sign-in.
    pub credential: ClientCredential,
    /// The scopes asked for, space-separated (app-only: exactly one,
    /// `{resource}/.default`).
    pub scope: String,
    /// Where tokens are kept between runs; `None` keeps them in memory only.
    pub cache: Option<TokenCache>,
    /// Allow a plain `http://` authority (the secret would travel readable).
    pub allow_insecure_auth: bool,
    /// How often a busy sign-in server (429, 5xx) is asked again, and the
    /// longest wait.
    pub retry: RetryPolicy,
}

/// What the source tells its user, who decides what to show.
#[derive(Debug)]
pub enum SignInEvent<'a> {
    /// The device-code flow started: show [`DeviceAuthorization::instructions`]
    /// to the user now (the command line prints it on stderr).
    DeviceCode(&'a DeviceAuthorization),
    /// A cache file was not used (or not written), and why.
    Cache(&'a CacheWarning),
    /// The sign-in server asked to wait (429 or 5xx with `Retry-After`).
    Waiting(&'a BusyWait),
    /// A renewal failed while the current token still works: it is used on,
    /// and the renewal tried again a minute later.
    RenewalFailed(&'a OAuthError),
    /// The saved sign-in (refresh token) was refused: signing in again.
    SignInAgain(&'a OAuthError),
}

type Observer = dyn Fn(&SignInEvent<'_>) + Send + Sync;
type Poster = dyn Fn(&HttpRequest) -> Result<HttpReply, Error> + Send + Sync;
type Clock = dyn Fn() -> SystemTime + Send + Sync;
type Sleep = dyn Fn(Duration) + Send + Sync;

/// A token to send, and which renewal it belongs to.
#[derive(Clone, Debug)]
pub struct Token {
    /// The access token.
    pub value: Secret,
    /// Which renewal gave it: hand it back to [`TokenSource::reject`].
    pub generation: u64,
    /// The signed-in user's address, for `X-AnchorMailbox` (delegated only).
    pub account: Option<String>,
}

#[derive(Default)]
struct State {
    loaded: bool,
    entry: Option<CacheEntry>,
    generation: u64,
    rejected: bool,
    renewing: bool,
    retry_renewal_after: Option<SystemTime>,
    failure: Option<OAuthError>,
}

/// How long an early renewal that failed waits before it is tried again.
const RENEWAL_RETRY: Duration = Duration::from_secs(60);

/// Gets and renews the tokens of one sign-in; shared by every client of a run.
///
/// A sign-in that failed stays failed for this source (every later call gets
/// the same error): a run stops at it instead of asking the sign-in server
/// again for every photo.
///
/// ```no_run
/// use std::sync::Arc;
/// use ews_photo::auth::oauth::{Authority, ClientCredential, SignIn, SignInEvent, TokenSource, scope};
/// use ews_photo::{RetryPolicy, Secret, TransportOptions};
///
/// let sign_in = SignIn {
///     authority: Authority::new("https://login.microsoftonline.com", "contoso.onmicrosoft.com")?,
///     client_id: "11111111-2222-3333-4444-555555555555".into(),
///     credential: ClientCredential::Secret(Secret::new(std::fs::read_to_string("secret.txt")?.trim())),
///     scope: scope::app_only(scope::EXCHANGE_ONLINE),
///     cache: None,
///     allow_insecure_auth: false,
///     retry: RetryPolicy::default(),
/// };
/// let source = Arc::new(TokenSource::new(sign_in, &TransportOptions::default())?
///     .on_event(|event| eprintln!("{event:?}")));
/// let token = source.token()?;
/// assert!(!token.value.expose().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TokenSource {
    sign_in: SignIn,
    key: CacheKey,
    request_scope: String,
    post: Box<Poster>,
    clock: Box<Clock>,
    sleep: Box<Sleep>,
    events: Option<Arc<Observer>>,
    state: Mutex<State>,
    changed: Condvar,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("sign_in", &self.sign_in)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A source whose requests go through a [`Transport`] made from
    /// `transport` (with [`log_body`] for `-vv`). Checks the settings: an
    /// https authority (or `allow_insecure_auth`), a client ID and a scope, and
    /// for an app its own tenant and a `/.default` scope.
    pub fn new(sign_in: SignIn, transport: &TransportOptions) -> Result<TokenSource, Error> {
        let transport = Transport::new(transport, log_body)?;
        Ok(TokenSource::with_poster(sign_in, move |request| {
            transport.send(request)
        })?)
    }

    /// A source that sends its requests with `post` (tests and simulations;
    /// [`TokenSource::new`] sends them with the tool's transport).
    pub fn with_poster(
        sign_in: SignIn,
        post: impl Fn(&HttpRequest) -> Result<HttpReply, Error> + Send + Sync + 'static,
    ) -> Result<TokenSource, OAuthError> {
        if !sign_in.authority.is_https() && !sign_in.allow_insecure_auth {
            return Err(OAuthError::Usage(format!(
                "refusing to sign in at the plain http:// authority {} (anyone on the path could read the client's secret and the tokens); use https://, or --allow-insecure-auth if you accept the risk",
                sign_in.authority.base()
            )));
        }
        if sign_in.client_id.trim().is_empty() {
            return Err(OAuthError::Usage(
                "--client-id is empty: give the Application (client) ID from the app registration's Overview page".into(),
            ));
        }
        if sign_in.scope.trim().is_empty() {
            return Err(OAuthError::Usage(
                "--scope is empty: leave it out for the default".into(),
            ));
        }
        let request_scope = match sign_in.credential.kind() {
            TokenKind::AppOnly => {
                sign_in.authority.check_app_only()?;
                scope::check_app_only(&sign_in.scope)?;
                sign_in.scope.trim().to_string()
            }
            TokenKind::Delegated => scope::with_sign_in_scopes(&sign_in.scope),
        };
        Ok(TokenSource {
            key: CacheKey::new(&sign_in.authority, &sign_in.client_id, &sign_in.scope),
            request_scope,
            sign_in,
            post: Box::new(post),
            clock: Box::new(SystemTime::now),
            sleep: Box::new(std::thread::sleep),
            events: None,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        })
    }

    /// Calls `observer` with every [`SignInEvent`]; without one, the
    /// device-code flow cannot show its code and refuses to start.
    pub fn on_event(mut self, observer: impl Fn(&SignInEvent<'_>) + Send + Sync + 'static) -> Self {
        self.events = Some(Arc::new(observer));
        self
    }

    /// Replaces the clock and the sleep (tests and simulations).
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> SystemTime + Send + Sync + 'static,
        sleep: impl Fn(Duration) + Send + Sync + 'static,
    ) -> Self {
        self.clock = Box::new(clock);
        self.sleep = Box::new(sleep);
        self
    }

    /// Whom the tokens speak for.
    pub fn kind(&self) -> TokenKind {
        self.sign_in.credential.kind()
    }

    /// The settings.
    pub fn sign_in(&self) -> &SignIn {
        &self.sign_in
    }

    /// A token to send: the current one while it is usable, else a renewed
    /// one (from the cache on the first call, then with the refresh token, the
    /// app's credential, or a new device-code sign-in).
    pub fn token(&self) -> Result<Token, OAuthError> {
        let mut state = self.lock();
        if !state.loaded {
            state.loaded = true;
            state.entry = self.load_cached();
        }
        loop {
            if let Some(failure) = &state.failure {
                return Err(failure.clone());
            }
            let now = (self.clock)();
            let usable = state
                .entry
                .as_ref()
                .filter(|_| !state.rejected)
                .filter(|entry| entry.access_token(now).is_some());
            if let Some(entry) = usable {
                let due = entry.should_renew(now)
                    && state.retry_renewal_after.is_none_or(|after| now >= after);
                if !due || state.renewing {
                    return Ok(token_of(entry, state.generation));
                }
            } else if state.renewing {
                state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let still_usable = usable.is_some();
            state.renewing = true;
            let previous = state.entry.clone();
            drop(state);
            let result = self.acquire(previous.as_ref());
            state = self.lock();
            state.renewing = false;
            self.changed.notify_all();
            match result {
                Ok(entry) => {
                    self.store(&entry);
                    state.generation += 1;
                    state.rejected = false;
                    state.retry_renewal_after = None;
                    let token = token_of(&entry, state.generation);
                    state.entry = Some(entry);
                    return Ok(token);
                }
                Err(error) if still_usable && !state.rejected => {
                    self.emit(&SignInEvent::RenewalFailed(&error));
                    state.retry_renewal_after = Some(now + RENEWAL_RETRY);
                }
                Err(error) => {
                    state.failure = Some(error.clone());
                    return Err(error);
                }
            }
        }
    }

    /// The server refused `token` (401 `invalid_token`): the next
    /// [`TokenSource::token`] renews it, once for every client that saw it
    /// refused.
    pub fn reject(&self, token: &Token) {
        let mut state = self.lock();
        if state.generation == token.generation {
            state.rejected = true;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, event: &SignInEvent<'_>) {
        if let Some(observer) = &self.events {
            observer(event);
        }
    }

    fn load_cached(&self) -> Option<CacheEntry> {
        let cache = self.sign_in.cache.as_ref()?;
        match cache.load(&self.key) {
            Ok(entry) => entry,
            Err(warning) => {
                self.emit(&SignInEvent::Cache(&warning));
                None
            }
        }
    }

    fn store(&self, entry: &CacheEntry) {
        if let Some(cache) = &self.sign_in.cache
            && let Err(warning) = cache.store(entry)
        {
            self.emit(&SignInEvent::Cache(&warning));
        }
    }

    /// A new entry: with the refresh token when there is one, else a new
    /// sign-in.
    fn acquire(&self, previous: Option<&CacheEntry>) -> Result<CacheEntry, OAuthError> {
        let response = match previous.and_then(CacheEntry::refresh_token) {
            Some(refresh) => {
                let token_url = self.sign_in.authority.token_url();
                let redeemed = self.request_token(&token_url, || {
                    Ok(form::refresh(
                        &self.sign_in.client_id,
                        refresh,
                        &self.request_scope,
                    ))
                });
                match redeemed {
                    Err(OAuthError::Endpoint(e)) if e.error == "invalid_grant" => {
                        self.emit(&SignInEvent::SignInAgain(&OAuthError::Endpoint(e)));
                        if let Some(cache) = &self.sign_in.cache
                            && let Err(warning) = cache.remove(&self.key)
                        {
                            self.emit(&SignInEvent::Cache(&warning));
                        }
                        self.sign_in_anew()
                    }
                    other => other,
                }
            }
            None => self.sign_in_anew(),
        }?;
        Ok(CacheEntry::new(
            self.key.clone(),
            &response,
            previous,
            (self.clock)(),
        ))
    }

    fn sign_in_anew(&self) -> Result<TokenResponse, OAuthError> {
        let token_url = self.sign_in.authority.token_url();
        let client_id = &self.sign_in.client_id;
        match &self.sign_in.credential {
            ClientCredential::Secret(secret) => self.request_token(&token_url, || {
                Ok(form::client_credentials(
                    client_id,
                    ClientAuth::Secret(secret),
                    &self.request_scope,
                ))
            }),
            // A new assertion for every request: its jti may be used once.
            ClientCredential::Certificate(certificate) => self.request_token(&token_url, || {
                let assertion = client_assertion(
                    certificate,
                    AssertionAlg::Ps256,
                    client_id,
                    &token_url,
                    (self.clock)(),
                    &fresh_jti()?,
                )?;
                Ok(form::client_credentials(
                    client_id,
                    ClientAuth::Assertion(&assertion),
                    &self.request_scope,
                ))
            }),
            ClientCredential::DeviceCode => self.device_flow(),
        }
    }

    /// Sends a token request; a busy server (429, 5xx) is asked again after
    /// its `Retry-After`, up to the retry policy's count and longest wait.
    fn request_token(
        &self,
        url: &str,
        make: impl Fn() -> Result<TokenForm, OAuthError>,
    ) -> Result<TokenResponse, OAuthError> {
        let policy = self.sign_in.retry;
        let mut retry = 0;
        loop {
            let form = make()?;
            let reply = self.post(url, &form)?;
            let answer = parse_token_response(
                reply.status,
                &reply.body,
                &form,
                reply.header("retry-after"),
            );
            match answer {
                Err(OAuthError::Endpoint(e)) if e.is_transient() && retry < policy.retries => {
                    retry += 1;
                    let hint = e.retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                    let wait = BusyWait {
                        reason: format!("sign-in server: HTTP {} {}", e.status, e.error),
                        wait: policy.wait(retry, Some(hint)),
                        retry,
                        retries: policy.retries,
                        hinted: e.retry_after.is_some(),
                    };
                    self.emit(&SignInEvent::Waiting(&wait));
                    (self.sleep)(wait.wait);
                }
                other => return other,
            }
        }
    }

    /// RFC 8628: the codes, the instructions for the user, then polling as
    /// the server says until a token or a clear end.
    fn device_flow(&self) -> Result<TokenResponse, OAuthError> {
        if self.events.is_none() {
            return Err(OAuthError::Usage(
                "the device-code sign-in needs somewhere to show its code (TokenSource::on_event)"
                    .into(),
            ));
        }
        let client_id = &self.sign_in.client_id;
        let request = form::device_code(client_id, &self.request_scope);
        let reply = self.post(&self.sign_in.authority.device_code_url(), &request)?;
        let device = parse_device_authorization(reply.status, &reply.body, &request)?;
        self.emit(&SignInEvent::DeviceCode(&device));
        let mut polling = Polling::new(device.interval, device.expires_in, (self.clock)());
        let poll = form::device_code_poll(client_id, &device.device_code);
        let token_url = self.sign_in.authority.token_url();
        let mut wait = polling.interval();
        loop {
            (self.sleep)(wait);
            let reply = self.post(&token_url, &poll)?;
            let answer = parse_token_response(
                reply.status,
                &reply.body,
                &poll,
                reply.header("retry-after"),
            );
            match polling.after(answer, (self.clock)()) {
                Step::Wait(next) => wait = next,
                Step::Done(token) => return Ok(token),
                Step::Failed(error) => return Err(error),
            }
        }
    }

    fn post(&self, url: &str, form: &TokenForm) -> Result<HttpReply, OAuthError> {
        let url =
            HttpUrl::parse(url).map_err(|e| OAuthError::Usage(format!("--authority: {e}")))?;
        let mut request = HttpRequest::post(url, form.encode().expose().as_bytes().to_vec());
        for (name, value) in form::HEADERS {
            request = request.header(name, value);
        }
        (self.post)(&request).map_err(|error| match error {
            Error::Transport(crate::error::TransportError::Unreachable { .. }) => {
                OAuthError::Unreachable(format!("{error}; check --authority and the network"))
            }
            Error::Usage(message) => OAuthError::Usage(message),
            other => OAuthError::Malformed(format!("the sign-in server's answer: {other}")),
        })
    }
}

fn token_of(entry: &CacheEntry, generation: u64) -> Token {
    Token {
        value: entry.current_token().clone(),
        generation,
        account: entry.account().map(str::to_string),
    }
}

fn fresh_jti() -> Result<String, OAuthError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| OAuthError::Signing(format!("no randomness for the assertion's jti: {e}")))?;
    Ok(jti_from_random(bytes))
}

/// Form fields and JSON members whose values are secrets.
const SECRET_NAMES: [&str; 9] = [
    "client_secret",
    "client_assertion",
    "code",
    "device_code",
    "refresh_token",
    "access_token",
    "id_token",
    "assertion",
    "password",
];

/// A token request or answer for `-vv` logs, every secret replaced by
/// `<redacted>`: form fields by name, JSON members by name (at any depth);
/// anything else only by its size, since it could echo a secret.
///
/// ```
/// use ews_photo::auth::oauth::log_body;
/// let form = b"client_id=app&client_secret=s3cret&scope=x";
/// assert_eq!(log_body(form, Some("application/x-www-form-urlencoded")), "client_id=app&client_secret=<redacted>&scope=x");
/// let json = br#"{"token_type":"Bearer","access_token":"eyJ0","expires_in":3599}"#;
/// assert_eq!(log_body(json, Some("application/json")), r#"{"access_token":"<redacted>","expires_in":3599,"token_type":"Bearer"}"#);
/// assert_eq!(log_body(b"<html>x</html>", Some("text/html")), "[14 bytes of text/html]");
/// ```
pub fn log_body(body: &[u8], media_type: Option<&str>) -> String {
    if media_type.is_some_and(|m| m.starts_with("application/x-www-form-urlencoded")) {
        let text = String::from_utf8_lossy(body);
        return text
            .split('&')
            .map(|field| match field.split_once('=') {
                Some((name, _)) if SECRET_NAMES.contains(&name) => format!("{name}=<redacted>"),
                _ => field.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&");
    }
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) {
        redact_json(&mut value);
        return value.to_string();
    }
    format!(
        "[{} bytes of {}]",
        body.len(),
        media_type.unwrap_or("unknown data")
    )
}

fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                if SECRET_NAMES.contains(&name.as_str()) {
                    *member = serde_json::Value::String("<redacted>".into());
                } else {
                    redact_json(member);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc;
    use std::time::UNIX_EPOCH;

    use super::*;

    const START: u64 = 1_800_000_000;

    /// A fake sign-in server and clock: `answer` sees the request's path and
    /// form fields, and the clock moves only when a test says so.
    struct Fake {
        now: Arc<AtomicU64>,
        requests: Arc<AtomicU64>,
        slept: Arc<Mutex<Vec<Duration>>>,
        events: Arc<Mutex<Vec<String>>>,
    }

    fn fields(request: &HttpRequest) -> Vec<(String, String)> {
        let body = String::from_utf8(request.body.clone().unwrap_or_default()).unwrap();
        body.split('&')
            .filter_map(|f| f.split_once('='))
            .map(|(n, v)| (n.to_string(), v.replace("%2F", "/").replace('+', " ")))
            .collect()
    }

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn reply(status: u16, json: &str) -> HttpReply {
        HttpReply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: json.as_bytes().to_vec(),
        }
    }

    fn token_json(access: &str, expires_in: u64, refresh: Option<&str>) -> String {
        let refresh = refresh
            .map(|r| format!(r#","refresh_token":"{r}""#))
            .unwrap_or_default();
        format!(
            r#"{{"token_type":"Bearer","expires_in":{expires_in},"access_token":"{access}"{refresh}}}"#
        )
    }

    fn sign_in(credential: ClientCredential, cache: Option<TokenCache>) -> SignIn {
        let scope = match credential.kind() {
            TokenKind::AppOnly => scope::app_only(scope::EXCHANGE_ONLINE),
            TokenKind::Delegated => scope::delegated(scope::EXCHANGE_ONLINE),
        };
        SignIn {
            authority: Authority::new("https://login.example", "contoso.onmicrosoft.com").unwrap(),
            client_id: "app".into(),
            credential,
            scope,
            cache,
            allow_insecure_auth: false,
            retry: RetryPolicy::default(),
        }
    }

    fn secret() -> ClientCredential {
        ClientCredential::Secret(Secret::new("s3cret"))
    }

    fn source(
        sign_in: SignIn,
        answer: impl Fn(&str, &[(String, String)], u64) -> HttpReply + Send + Sync + 'static,
    ) -> (TokenSource, Fake) {
        let fake = Fake {
            now: Arc::new(AtomicU64::new(START)),
            requests: Arc::new(AtomicU64::new(0)),
            slept: Arc::new(Mutex::new(Vec::new())),
            events: Arc::new(Mutex::new(Vec::new())),
        };
        let requests = Arc::clone(&fake.requests);
        let (now, clock_now) = (Arc::clone(&fake.now), Arc::clone(&fake.now));
        let slept = Arc::clone(&fake.slept);
        let events = Arc::clone(&fake.events);
        let source = TokenSource::with_poster(sign_in, move |request| {
            let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(answer(request.url.path(), &fields(request), n))
        })
        .unwrap()
        .with_clock(
            move || UNIX_EPOCH + Duration::from_secs(clock_now.load(Ordering::SeqCst)),
            move |d| {
                slept.lock().unwrap().push(d);
                now.fetch_add(d.as_secs(), Ordering::SeqCst);
            },
        )
        .on_event(move |event| events.lock().unwrap().push(format!("{event:?}")));
        (source, fake)
    }

    #[test]
    fn a_due_token_is_renewed_once_while_the_others_go_on_with_it() {
        let (release, gate) = mpsc::channel::<()>();
        let gate = Mutex::new(gate);
        let (source, fake) = source(sign_in(secret(), None), move |_, _, n| {
            if n == 2 {
                // The renewal waits until the test has seen the others go on.
                gate.lock().unwrap().recv().unwrap();
            }
            reply(200, &token_json(&format!("at-{n}"), 3600, None))
        });
        let source = Arc::new(source);
        assert_eq!(source.token().unwrap().value.expose(), "at-1");
        // Due for renewal (less than 5 minutes left), still usable.
        fake.now.store(START + 3600 - 200, Ordering::SeqCst);
        let renewing = {
            let source = Arc::clone(&source);
            std::thread::spawn(move || source.token().unwrap())
        };
        while !source.lock().renewing {
            std::thread::yield_now();
        }
        let (done, finished) = mpsc::channel();
        let others = Arc::clone(&source);
        std::thread::spawn(move || {
            let tokens: Vec<String> = (0..3)
                .map(|_| others.token().unwrap().value.expose().to_string())
                .collect();
            done.send(tokens).unwrap();
        });
        // A deadlock detector, not a speed test: the others must not wait.
        let tokens = finished
            .recv_timeout(Duration::from_secs(30))
            .expect("the other workers go on with the current token");
        assert_eq!(tokens, ["at-1", "at-1", "at-1"]);
        release.send(()).unwrap();
        assert_eq!(renewing.join().unwrap().value.expose(), "at-2");
        assert_eq!(source.token().unwrap().value.expose(), "at-2");
        assert_eq!(fake.requests.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn an_expired_token_is_renewed_once_for_all_who_wait() {
        let (source, fake) = source(sign_in(secret(), None), |_, _, n| {
            reply(200, &token_json(&format!("at-{n}"), 3600, None))
        });
        let source = Arc::new(source);
        source.token().unwrap();
        fake.now.store(START + 4000, Ordering::SeqCst);
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let source = Arc::clone(&source);
                std::thread::spawn(move || source.token().unwrap().value.expose().to_string())
            })
            .collect();
        for worker in workers {
            assert_eq!(worker.join().unwrap(), "at-2");
        }
        assert_eq!(fake.requests.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_refused_token_is_renewed_once_for_every_client_that_saw_it() {
        let (source, fake) = source(sign_in(secret(), None), |_, _, n| {
            reply(200, &token_json(&format!("at-{n}"), 3600, None))
        });
        let first = source.token().unwrap();
        // Four workers saw the same token refused.
        for _ in 0..4 {
            source.reject(&first);
            assert_eq!(source.token().unwrap().value.expose(), "at-2");
        }
        assert_eq!(fake.requests.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_busy_sign_in_server_is_waited_for_as_it_asks() {
        let (source, fake) = source(sign_in(secret(), None), |_, _, n| {
            if n == 1 {
                let mut busy = reply(429, r#"{"error":"temporarily_unavailable"}"#);
                busy.headers.push(("retry-after".into(), "7".into()));
                busy
            } else {
                reply(200, &token_json("at", 3600, None))
            }
        });
        assert_eq!(source.token().unwrap().value.expose(), "at");
        assert_eq!(*fake.slept.lock().unwrap(), [Duration::from_secs(7)]);
        let events = fake.events.lock().unwrap();
        assert!(events.iter().any(|e| e.contains("Waiting")), "{events:?}");
    }

    #[test]
    fn a_failed_sign_in_stays_failed() {
        let (source, fake) = source(sign_in(secret(), None), |_, _, _| {
            reply(401, r#"{"error":"invalid_client","error_codes":[7000215]}"#)
        });
        for _ in 0..3 {
            let error = source.token().unwrap_err();
            assert!(error.to_string().contains("Secret ID"), "{error}");
        }
        assert_eq!(fake.requests.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_cache_gives_the_token_then_the_refresh_token_renews_it() {
        let home = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(home.path().join("ews-photo"));
        let first = sign_in(ClientCredential::DeviceCode, Some(cache.clone()));
        let key = CacheKey::new(&first.authority, &first.client_id, &first.scope);
        let (renewing, fake) = source(first.clone(), |_, fields, _| {
            assert_eq!(field(fields, "grant_type"), Some("refresh_token"));
            assert_eq!(field(fields, "refresh_token"), Some("rt-1"));
            assert!(field(fields, "scope").unwrap().contains("openid"));
            reply(200, &token_json("at-2", 3600, Some("rt-2")))
        });
        // A cached token, expired an hour ago.
        let old = TokenResponse {
            access_token: Secret::new("at-1"),
            expires_in: 3600,
            refresh_in: None,
            refresh_token: Some(Secret::new("rt-1")),
            scope: None,
            account: Some("alice@contoso.com".into()),
        };
        let then = UNIX_EPOCH + Duration::from_secs(START - 7200);
        cache
            .store(&CacheEntry::new(key.clone(), &old, None, then))
            .unwrap();
        let token = renewing.token().unwrap();
        assert_eq!(token.value.expose(), "at-2");
        assert_eq!(token.account.as_deref(), Some("alice@contoso.com"));
        assert_eq!(fake.requests.load(Ordering::SeqCst), 1);
        let stored = cache.load(&key).unwrap().unwrap();
        assert_eq!(stored.refresh_token().unwrap().expose(), "rt-2");

        // A second run: the token from the cache, no request.
        let (again, fake) = source(first, |_, _, _| panic!("no request expected"));
        assert_eq!(again.token().unwrap().value.expose(), "at-2");
        assert_eq!(fake.requests.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn device_flow_polls_as_the_server_says() {
        // {"preferred_username":"alice@contoso.com"}
        let id_token = "e30.eyJwcmVmZXJyZWRfdXNlcm5hbWUiOiJhbGljZUBjb250b3NvLmNvbSJ9.";
        let (source, fake) = source(
            sign_in(ClientCredential::DeviceCode, None),
            move |path, fields, n| {
                if path.ends_with("/devicecode") {
                    assert_eq!(field(fields, "client_id"), Some("app"));
                    return reply(
                        200,
                        r#"{"device_code":"DC-1","user_code":"ABCD","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":2,"message":"Open https://microsoft.com/devicelogin and enter ABCD"}"#,
                    );
                }
                assert_eq!(field(fields, "device_code"), Some("DC-1"));
                match n {
                    2 => reply(
                        400,
                        r#"{"error":"authorization_pending","error_codes":[70016]}"#,
                    ),
                    3 => reply(400, r#"{"error":"slow_down"}"#),
                    _ => reply(
                        200,
                        &format!(
                            r#"{{"token_type":"Bearer","expires_in":3600,"access_token":"at","refresh_token":"rt","id_token":"{id_token}"}}"#
                        ),
                    ),
                }
            },
        );
        let token = source.token().unwrap();
        assert_eq!(token.account.as_deref(), Some("alice@contoso.com"));
        let waits: Vec<u64> = fake
            .slept
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(
            waits,
            [2, 2, 7],
            "interval, interval, interval + 5 after slow_down"
        );
        let events = fake.events.lock().unwrap();
        assert_eq!(
            events.iter().filter(|e| e.contains("DeviceCode")).count(),
            1
        );
        assert!(!events.iter().any(|e| e.contains("DC-1")), "{events:?}");
    }

    #[test]
    fn plain_http_authorities_need_permission() {
        let mut settings = sign_in(secret(), None);
        settings.authority = Authority::new("http://127.0.0.1:9", "contoso").unwrap();
        let error = TokenSource::with_poster(settings.clone(), |_| unreachable!()).unwrap_err();
        assert!(
            error.to_string().contains("--allow-insecure-auth"),
            "{error}"
        );
        settings.allow_insecure_auth = true;
        assert!(TokenSource::with_poster(settings, |_| unreachable!()).is_ok());
        let mut multi = sign_in(secret(), None);
        multi.authority = Authority::new("https://login.example", "organizations").unwrap();
        assert!(TokenSource::with_poster(multi, |_| unreachable!()).is_err());
    }

    #[test]
    fn logged_bodies_show_no_secret() {
        let form = form::client_credentials("app", ClientAuth::Secret(&Secret::new("s3cret")), "x");
        let shown = log_body(
            form.encode().expose().as_bytes(),
            Some("application/x-www-form-urlencoded"),
        );
        assert!(
            !shown.contains("s3cret") && shown.contains("client_secret=<redacted>"),
            "{shown}"
        );
        let answer = br#"{"access_token":"at-x","refresh_token":"rt-x","id_token":"id-x","nested":[{"device_code":"dc-x"}]}"#;
        let shown = log_body(answer, Some("application/json"));
        for secret in ["at-x", "rt-x", "id-x", "dc-x"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(
            log_body(b"not json at-x", None),
            "[13 bytes of unknown data]"
        );
    }
}
