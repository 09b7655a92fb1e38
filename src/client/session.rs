//! Authentication towards one server: the legs of a request, the scheme
//! chosen from the server's challenges, and redirects on the same server.

use std::sync::Arc;

use crate::auth::channel_binding::Channel;
use crate::auth::kerberos::{self, Kerberos, KerberosOptions, KerberosSettings};
use crate::auth::ntlm::{Ntlm, NtlmSettings, NtlmUser};
use crate::auth::oauth::RenewingBearer;
use crate::auth::{
    self, AuthError, AuthMethod, Authenticator, Challenge, Choice, Credentials, Step,
    parse_challenges,
};
use crate::backend::Backend;
use crate::error::{Error, ServerError};
use crate::http::{HttpReply, HttpRequest};
use crate::tls::PeerCertificateSlot;
use crate::transport::{Notes, Transport};
use crate::{HttpUrl, Secret};

use super::ClientConfig;

/// Redirects followed on the same server before giving up.
const MAX_REDIRECTS: usize = 5;

/// Authentication legs for one request before giving up. NTLM needs two
/// (negotiate, authenticate), three with a handshake redone on a lost
/// connection; Kerberos one or two; anything more is a server that keeps asking.
const MAX_AUTH_LEGS: usize = 4;

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
    pub(super) fn forbidden_hint(&self) -> Option<String> {
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

    /// This server's connection, for a connection-bound authenticator's
    /// channel binding.
    fn channel(&self) -> Channel {
        Channel {
            host: self.url.host().to_string(),
            https: self.url.is_https(),
            peer_certificate: self.peer.clone(),
        }
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
                    channel: self.channel(),
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
                    channel: self.channel(),
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
}
