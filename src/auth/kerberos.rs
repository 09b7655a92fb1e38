//! Kerberos inside HTTP `Negotiate` (RFC 4559, SPNEGO), client side.
//!
//! The tokens come from the system's GSS-API, loaded at run time by the
//! `ews-gss` crate (which holds all the FFI, so this crate stays free of
//! `unsafe`), with the credentials the user already has: the ticket cache
//! (`kinit`, `KRB5CCNAME`), a client keytab (`KRB5_CLIENT_KTNAME`) and
//! `krb5.conf` (`KRB5_CONFIG`), exactly as curl and Python's gssapi use them.
//! There is no password handling of our own.
//!
//! Connection-bound like NTLM: one handshake per connection, then no
//! `Authorization` at all; the server's final token (on the 200) is verified,
//! so the server proves it holds the service key (mutual authentication); over
//! https the `tls-server-end-point` channel binding goes with the token, as
//! Extended Protection requires. [`advice`] turns the library's status into
//! what to do next: none of MIT's texts says "run kinit".

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use ews_gss::{ChannelBindings, ErrorKind, Gss, GssError, Initiator, LoadError, Target};

use super::{AuthError, Authenticator, Challenge, Step};
use crate::Secret;
use crate::auth::channel_binding::{self, Channel};
use crate::transport::Notes;

/// Kerberos settings of a client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KerberosOptions {
    /// The service principal (`--spn`, `EWS_SPN`): `HTTP/host`, `HTTP/host@REALM`,
    /// or a host-based `HTTP@host`. `None`: `HTTP@{host of the URL}`, which
    /// the library turns into a principal as krb5.conf says (`[domain_realm]`,
    /// `dns_canonicalize_hostname`, `rdns`, `qualify_shortname`), as curl and
    /// browsers do.
    pub spn: Option<String>,
    /// The GSS-API library to load (`EWS_GSS_LIBRARY`), a file name or path;
    /// `None`: MIT's `libgssapi_krb5.so.2`, then Heimdal's `libgssapi.so.3`
    /// (Linux and other Unix), `GSS.framework` (macOS).
    pub library: Option<String>,
}

/// The service to ask tickets for, from `--spn` or the URL's host.
///
/// ```
/// use ews_photo::auth::kerberos::target;
/// assert_eq!(target(None, "mail.contoso.com").unwrap().to_string(), "HTTP@mail.contoso.com");
/// assert_eq!(target(Some("HTTP/ews.contoso.com"), "x").unwrap().to_string(), "HTTP/ews.contoso.com");
/// assert_eq!(target(Some("HTTP@ews.contoso.com"), "x").unwrap().to_string(), "HTTP@ews.contoso.com");
/// assert!(target(Some("mail.contoso.com"), "x").is_err());
/// ```
pub fn target(spn: Option<&str>, host: &str) -> Result<Target, String> {
    let Some(spn) = spn.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Target::host_based("HTTP", host));
    };
    let malformed = || {
        format!(
            "--spn '{}' is not a service principal: give HTTP/host (e.g. HTTP/mail.contoso.com), optionally with @REALM",
            spn.escape_debug()
        )
    };
    if spn.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(malformed());
    }
    if let Some((service, host)) = spn.split_once('/') {
        if service.is_empty() || host.is_empty() || host.starts_with('@') {
            return Err(malformed());
        }
        return Ok(Target::principal(spn));
    }
    match spn.split_once('@') {
        Some((service, host)) if !service.is_empty() && !host.is_empty() => {
            Ok(Target::host_based(service, host))
        }
        _ => Err(malformed()),
    }
}

/// Kerberos is ready: the library loaded and the user has credentials.
#[derive(Clone, Debug)]
pub struct Ready {
    /// The loaded library.
    pub gss: Gss,
    /// Whose credentials, e.g. `jdoe@CONTOSO.COM`.
    pub principal: String,
}

/// Why Kerberos cannot be used on this machine now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// No GSS-API library could be loaded.
    NoLibrary(LoadError),
    /// The library has no usable credentials (no ticket, an expired one, no keytab).
    NoCredentials(GssError),
}

impl Unavailable {
    /// What is missing and what to do.
    pub fn message(&self) -> String {
        match self {
            Unavailable::NoLibrary(LoadError::Unsupported) => "Kerberos: not supported on this platform (on Windows ews-photo does not use SSPI yet); use --auth ntlm".into(),
            Unavailable::NoLibrary(error) => {
                let tried = match error {
                    LoadError::NotFound { tried } => tried
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                format!(
                    "Kerberos needs the system's GSS-API library, and none could be loaded: install MIT Kerberos' (Debian, Ubuntu: libgssapi-krb5-2; Fedora, RHEL, SUSE, Alpine: krb5-libs), or name the library with EWS_GSS_LIBRARY (tried {tried})"
                )
            }
            Unavailable::NoCredentials(error) => advice(error, None),
        }
    }

    /// A few words, for the `-v` note of `--auth auto`.
    pub fn short(&self) -> &'static str {
        match self {
            Unavailable::NoLibrary(_) => "no GSS-API library",
            Unavailable::NoCredentials(error) => match error.kind() {
                ErrorKind::CredentialsExpired => "the Kerberos ticket has expired",
                ErrorKind::NoCredentials => "no Kerberos ticket or client keytab",
                _ => "no usable Kerberos credentials",
            },
        }
    }
}

/// Loads the library and checks that credentials exist, without contacting
/// any server: what `--auth kerberos` needs before the first request, and
/// what `--auth auto` asks before it chooses Kerberos. With only a client
/// keytab, MIT gets a ticket from the KDC here and caches it.
pub fn probe(options: &KerberosOptions) -> Result<Ready, Unavailable> {
    let gss = library(options.library.as_deref()).map_err(Unavailable::NoLibrary)?;
    let credentials = gss.credentials().map_err(Unavailable::NoCredentials)?;
    Ok(Ready {
        gss,
        principal: credentials.principal,
    })
}

/// The GSS-API library (`EWS_GSS_LIBRARY`, else the system's), loaded once
/// per process: every export worker, relocation and Autodiscover endpoint
/// opens a session, and a loaded library is never unloaded. A failure is not
/// kept, so its message is the library's own each time.
fn library(name: Option<&str>) -> Result<Gss, LoadError> {
    static LOADED: std::sync::Mutex<Vec<(Option<String>, Gss)>> = std::sync::Mutex::new(Vec::new());
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, gss)) = loaded.iter().find(|(n, _)| n.as_deref() == name) {
        return Ok(gss.clone());
    }
    let gss = match name {
        Some(library) => Gss::load_from(&[library]),
        None => Gss::load(),
    }?;
    loaded.push((name.map(str::to_string), gss.clone()));
    Ok(gss)
}

/// What the library said, most specific first.
fn library_said(error: &GssError) -> String {
    let minor = error.minor_text.trim_end_matches(['.', ' ']);
    let major = error.major_text.trim_end_matches(['.', ' ']);
    if !minor.is_empty() {
        minor.to_string()
    } else if !major.is_empty() {
        major.to_string()
    } else {
        error.to_string()
    }
}

/// What a GSS-API failure means, and what to do: the advice first, then what
/// the library said (the minor status, which names the principal or cache).
/// `target` is the service asked for, when there was one.
pub fn advice(error: &GssError, target: Option<&str>) -> String {
    format!("Kerberos: {}", explanation(error, target))
}

/// [`advice`] without its `Kerberos: ` prefix.
fn explanation(error: &GssError, target: Option<&str>) -> String {
    let service = target.map_or_else(String::new, |t| format!(" {t}"));
    let what = match error.kind() {
        ErrorKind::NoCredentials => "no ticket, and no client keytab: run kinit (e.g. kinit jdoe@CONTOSO.COM) and try again; for a cron job or service, set KRB5_CLIENT_KTNAME to a client keytab (the guide says how to make one)".to_string(),
        ErrorKind::CredentialsExpired => "the ticket has expired: run kinit again (kinit -R renews a renewable one); with a client keytab in KRB5_CLIENT_KTNAME a new ticket is fetched by itself".to_string(),
        ErrorKind::UnknownServer => format!(
            "the KDC does not know the service principal{service}: use the host name the SPN was registered for in --url, or give the registered SPN with --spn (or EWS_SPN), e.g. --spn HTTP/mail.contoso.com; on a domain controller, setspn -Q HTTP/<host> shows which account holds it (behind a load balancer, Exchange needs an alternate service account with the SPN)"
        ),
        ErrorKind::WrongRealm => "the server's host maps to a Kerberos realm your KDC has no trust with: map its DNS domain to the right realm in krb5.conf [domain_realm] (e.g. .contoso.com = CONTOSO.COM), or name the realm with --spn HTTP/host@REALM".to_string(),
        ErrorKind::ClockSkew => "this machine's clock and the KDC's or the server's differ by more than Kerberos allows (5 minutes by default): synchronise the clock (NTP: timedatectl, chrony)".to_string(),
        ErrorKind::RealmUnreachable => "no KDC of the realm could be reached: check the realm's kdc = lines in krb5.conf (KRB5_CONFIG), the DNS SRV records _kerberos._tcp.<REALM>, and that port 88 is open".to_string(),
        ErrorKind::BadBindings => "the channel binding did not match: a TLS-inspecting proxy or load balancer between ews-photo and Exchange presents another certificate than the server's; connect to Exchange directly".to_string(),
        ErrorKind::BadToken => format!(
            "the server's Negotiate token failed its check: the server did not prove it holds the key of{service} (mutual authentication failed), so it may not be the server you meant; the answer was not used"
        ),
        ErrorKind::Replay => "a Kerberos token was seen twice (a replay): try again, and check the clocks if it persists".to_string(),
        ErrorKind::Other => "Kerberos failed".to_string(),
    };
    format!("{what} (the GSS-API library said: {})", library_said(error))
}

/// Settings of one Kerberos authenticator.
#[derive(Clone, Debug)]
pub struct KerberosSettings {
    /// The service to authenticate to.
    pub target: Target,
    /// The server and the connection's certificate: over https the channel
    /// binding goes with every token.
    pub channel: Channel,
    /// `--auth kerberos`: an answer without the server's final token is an
    /// error. At `--auth auto` it is a `-v` warning, as browsers and curl
    /// accept it.
    pub strict: bool,
    /// Where `-v` notes go.
    pub notes: Notes,
}

enum State {
    /// No handshake on this connection; the first token may be ready.
    Fresh(Option<(Initiator, Vec<u8>)>),
    /// A token was sent; waiting for the answer.
    Negotiating(Initiator),
    /// The server accepted, and proved itself: requests go without a header.
    Authenticated,
    /// The server refused the ticket: it is not sent again.
    Rejected,
}

/// The connection-bound Kerberos authenticator (HTTP scheme `Negotiate`).
pub struct Kerberos {
    gss: Gss,
    settings: KerberosSettings,
    state: State,
    /// A second handshake after a success is allowed once per request (the
    /// connection was lost or expired).
    restarted: bool,
}

impl Kerberos {
    /// An authenticator whose first token is made now, so that a failure on
    /// this side (no ticket for the service, clock skew, no KDC) is known
    /// before anything is sent: `--auth auto` can then go on with NTLM. The
    /// error is [`advice`].
    pub fn new(gss: Gss, settings: KerberosSettings) -> Result<Kerberos, String> {
        let mut kerberos = Kerberos {
            gss,
            settings,
            state: State::Rejected,
            restarted: false,
        };
        let first = kerberos.first_token()?;
        kerberos.state = State::Fresh(Some(first));
        Ok(kerberos)
    }

    /// The target as given to the library (`HTTP@host` or the principal).
    pub fn target(&self) -> String {
        self.settings.target.to_string()
    }

    fn header(token: &[u8]) -> Secret {
        Secret::new(format!("Negotiate {}", BASE64_STANDARD.encode(token)))
    }

    fn bindings(&self) -> Result<Option<ChannelBindings>, String> {
        let certificate = self
            .settings
            .channel
            .certificate()
            .map_err(|why| format!("Kerberos: {why}"))?;
        Ok(certificate.map(|certificate| {
            ChannelBindings::tls_server_end_point(&channel_binding::certificate_hash(&certificate))
        }))
    }

    /// A new context and its first token.
    fn first_token(&self) -> Result<(Initiator, Vec<u8>), String> {
        let target = self.target();
        let mut initiator = self
            .gss
            .initiator(&self.settings.target, self.bindings()?)
            .map_err(|e| advice(&e, Some(&target)))?;
        match initiator.step(None) {
            Ok(step) => Ok((initiator, step.token)),
            Err(ews_gss::Error::Gss(error)) if error.kind() == ErrorKind::Other => {
                Err(advice(&self.diagnosis().unwrap_or(error), Some(&target)))
            }
            Err(error) => Err(step_advice(error, &target)),
        }
    }

    /// Heimdal's SPNEGO (macOS's too) reports every Kerberos failure as "An
    /// unsupported mechanism was requested": the Kerberos mechanism itself
    /// says what went wrong. Its token, if it makes one, is not sent.
    fn diagnosis(&self) -> Option<GssError> {
        let mut kerberos = self
            .gss
            .kerberos_initiator(&self.settings.target, None)
            .ok()?;
        match kerberos.step(None) {
            Err(ews_gss::Error::Gss(error)) if error.kind() != ErrorKind::Other => Some(error),
            _ => None,
        }
    }

    fn start(&mut self) -> Result<Step, AuthError> {
        let prepared = match std::mem::replace(&mut self.state, State::Rejected) {
            State::Fresh(Some(prepared)) => prepared,
            _ => self.first_token().map_err(AuthError::Local)?,
        };
        let (initiator, token) = prepared;
        self.state = State::Negotiating(initiator);
        Ok(Step::Header(Kerberos::header(&token)))
    }

    /// The server answered a token with a 401 that carries one: another leg,
    /// or (from Windows) a Kerberos error the library can explain.
    fn continue_with(&mut self, initiator: Initiator, token: &str) -> Result<Step, AuthError> {
        let mut initiator = initiator;
        let target = self.target();
        let bytes = BASE64_STANDARD.decode(token.trim()).map_err(|_| {
            AuthError::Protocol("the server's Negotiate challenge is not base64".into())
        })?;
        match initiator.step(Some(&bytes)) {
            Ok(step) if !step.token.is_empty() => {
                self.state = State::Negotiating(initiator);
                Ok(Step::Header(Kerberos::header(&step.token)))
            }
            // Complete with nothing to send, yet the server said 401: refused.
            Ok(_) => {
                self.state = State::Rejected;
                Ok(Step::Failed)
            }
            Err(error) => {
                self.state = State::Rejected;
                Err(AuthError::Local(format!(
                    "Kerberos: the server refused the ticket with an error: {}",
                    step_explanation(error, &target)
                )))
            }
        }
    }
}

/// [`advice`] for an error of a context step.
fn step_advice(error: ews_gss::Error, target: &str) -> String {
    format!("Kerberos: {}", step_explanation(error, target))
}

fn step_explanation(error: ews_gss::Error, target: &str) -> String {
    match error {
        ews_gss::Error::Gss(error) => explanation(&error, Some(target)),
        finished => finished.to_string(),
    }
}

impl Authenticator for Kerberos {
    fn scheme(&self) -> &'static str {
        "Negotiate"
    }

    fn authorization(&mut self, challenge: Option<&Challenge>) -> Result<Step, AuthError> {
        match (std::mem::replace(&mut self.state, State::Rejected), challenge) {
            (State::Fresh(prepared), _) => {
                self.state = State::Fresh(prepared);
                self.restarted = false;
                self.start()
            }
            (State::Negotiating(initiator), Some(challenge)) => match challenge.token.as_deref() {
                Some(token) => self.continue_with(initiator, token),
                // A bare Negotiate after our token: the server refused it.
                None => Ok(Step::Failed),
            },
            // A new request while a handshake was pending: start over.
            (State::Negotiating(_), None) => self.start(),
            (State::Authenticated, None) => {
                self.state = State::Authenticated;
                self.restarted = false;
                Ok(Step::NoHeader)
            }
            // The authenticated connection was lost or expired: once more.
            (State::Authenticated, Some(_)) if !self.restarted => {
                self.restarted = true;
                self.start()
            }
            (State::Authenticated, Some(_)) => Ok(Step::Failed),
            (State::Rejected, _) => Err(AuthError::Local(
                "Kerberos: the server already refused this ticket; ews-photo does not send it again".into(),
            )),
        }
    }

    fn finish(&mut self, challenge: Option<&Challenge>) -> Result<(), AuthError> {
        let initiator = match std::mem::replace(&mut self.state, State::Rejected) {
            State::Negotiating(initiator) => initiator,
            other => {
                self.state = other;
                return Ok(());
            }
        };
        let mut initiator = initiator;
        let target = self.target();
        match challenge.and_then(|c| c.token.as_deref()) {
            Some(token) if !initiator.is_complete() => {
                let bytes = BASE64_STANDARD.decode(token.trim()).map_err(|_| {
                    AuthError::Local(format!(
                        "Kerberos: the server's final Negotiate token is not base64, so the server did not prove it holds the key of {target} (mutual authentication failed); the answer was not used"
                    ))
                })?;
                initiator
                    .step(Some(&bytes))
                    .map_err(|e| AuthError::Local(step_advice(e, &target)))?;
                if !initiator.mutual_authenticated() {
                    return Err(AuthError::Local(format!(
                        "Kerberos: the server's final Negotiate token did not complete mutual authentication for {target}, so the server is not verified; the answer was not used"
                    )));
                }
            }
            Some(_) => {}
            None if self.settings.strict => {
                return Err(AuthError::Local(format!(
                    "Kerberos: the server accepted the ticket but sent no final Negotiate token, so it did not prove it holds the key of {target} (mutual authentication): the answer was not used; a proxy that drops WWW-Authenticate from answers, or a server that is not what it claims, does this (--auth auto accepts such answers with a warning at -v)"
                )));
            }
            None => self.settings.notes.note(&format!(
                "warning: the server sent no final Negotiate token, so mutual authentication of {target} was not checked (--auth kerberos refuses such answers)"
            )),
        }
        self.state = State::Authenticated;
        Ok(())
    }

    fn rejection_hint(&self, _challenge: Option<&Challenge>) -> String {
        let target = self.target();
        let binding = if self.settings.channel.https {
            ", or Extended Protection refused the channel binding (a TLS-inspecting proxy or load balancer between ews-photo and Exchange changes the certificate it is computed from)"
        } else {
            ""
        };
        format!(
            "the server refused the Kerberos ticket for {target}: its key for that principal may differ from the KDC's (the service account's password or keytab changed), the SPN may belong to another account than the one running EWS (setspn -Q on a domain controller; --spn names another){binding}; --auth ntlm tries NTLM instead"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ews_gss::{Operation, routine};

    fn error(major: u32, minor: i32, minor_text: &str) -> GssError {
        GssError {
            operation: Operation::InitSecContext,
            major,
            minor: minor as u32,
            major_text: "Unspecified GSS failure.  Minor code may provide more information".into(),
            minor_text: minor_text.into(),
        }
    }

    #[test]
    fn spn_forms() {
        assert_eq!(
            target(Some(" HTTP/mail.contoso.com@CONTOSO.COM "), "x").unwrap(),
            Target::principal("HTTP/mail.contoso.com@CONTOSO.COM")
        );
        assert_eq!(
            target(Some(""), "mail.contoso.com").unwrap(),
            Target::host_based("HTTP", "mail.contoso.com")
        );
        for bad in [
            "/host",
            "HTTP/",
            "HTTP/@REALM",
            "HTTP@",
            "@host",
            "HTTP/a b",
            "plain",
        ] {
            let err = target(Some(bad), "x").unwrap_err();
            assert!(err.contains("HTTP/host"), "{bad}: {err}");
        }
    }

    #[test]
    fn advice_says_what_to_do_for_each_failure() {
        let cases = [
            (
                error(
                    routine::NO_CRED,
                    -1765328243,
                    "No Kerberos credentials available (default cache: FILE:/tmp/krb5cc_1000)",
                ),
                ["run kinit", "KRB5_CLIENT_KTNAME", "FILE:/tmp/krb5cc_1000"],
            ),
            (
                error(routine::FAILURE, -1765328352, "Ticket expired"),
                ["expired", "kinit again", "Ticket expired"],
            ),
            (
                error(
                    routine::FAILURE,
                    -1765328377,
                    "Server HTTP/mail.nowhere.test@EWS.TEST not found in Kerberos database",
                ),
                [
                    "--spn",
                    "setspn",
                    "HTTP/mail.nowhere.test@EWS.TEST not found",
                ],
            ),
            (
                error(
                    routine::FAILURE,
                    100005,
                    "Server krbtgt/NOWHERE.TEST@EWS.TEST not found in Kerberos database",
                ),
                ["[domain_realm]", "@REALM", "krbtgt/NOWHERE.TEST"],
            ),
            (
                error(routine::FAILURE, -1765328347, "Clock skew too great"),
                ["clock", "NTP", "Clock skew too great"],
            ),
            (
                error(
                    routine::FAILURE,
                    -1765328228,
                    "Cannot contact any KDC for realm 'EWS.TEST'",
                ),
                ["no KDC", "krb5.conf", "port 88"],
            ),
            (
                error(
                    routine::FAILURE,
                    -1765328353,
                    "Decrypt integrity check failed",
                ),
                ["mutual authentication failed", "not used", "integrity"],
            ),
        ];
        for (error, needles) in cases {
            let text = advice(&error, Some("HTTP@mail.contoso.com"));
            assert!(text.starts_with("Kerberos: "), "{text}");
            for needle in needles {
                assert!(text.contains(needle), "{needle} missing: {text}");
            }
        }
        // Neither text: the codes.
        let bare = GssError {
            major_text: String::new(),
            minor_text: String::new(),
            ..error(routine::FAILURE, 7, "")
        };
        assert!(advice(&bare, None).contains("minor status 7"));
    }

    #[test]
    fn unavailable_messages() {
        let missing = Unavailable::NoLibrary(LoadError::NotFound {
            tried: vec![LoadError::Open {
                library: "libgssapi_krb5.so.2".into(),
                reason: "cannot open shared object file".into(),
            }],
        });
        let text = missing.message();
        assert!(text.contains("libgssapi-krb5-2") && text.contains("EWS_GSS_LIBRARY"));
        assert!(text.contains("cannot open shared object file"), "{text}");
        assert_eq!(missing.short(), "no GSS-API library");
        assert!(
            Unavailable::NoLibrary(LoadError::Unsupported)
                .message()
                .contains("--auth ntlm")
        );
    }
}
